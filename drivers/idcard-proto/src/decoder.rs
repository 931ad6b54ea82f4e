//! Incremental frame decoder: bytes in, frames or typed errors out.
//!
//! The decoder copes with any fragmentation, with garbage before a preamble
//! and with several frames in one push. It checks LEN against sane bounds
//! and verifies the checksum; after a bad frame it drops only the preamble
//! and searches again, so a frame that follows a corrupt one still decodes.
//! It never assumes a fixed reply size and never panics.

use std::fmt;

use crate::command::Command;
use crate::status::Status;
use crate::wire::{
    self, HEADER_LEN, LEN_OFFSET, MAX_LEN, MIN_REPLY_LEN, MIN_REQUEST_LEN, PREAMBLE,
};

/// Why a frame was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// LEN is below the protocol minimum or above [`wire::MAX_LEN`].
    #[error("frame length {len} out of range")]
    BadLength {
        /// The LEN field as received.
        len: u16,
    },
    /// The checksum byte does not match the XOR of the frame.
    #[error("bad checksum: expected {expected:02x}, got {actual:02x}")]
    BadChecksum {
        /// The checksum computed over the received bytes.
        expected: u8,
        /// The checksum byte received.
        actual: u8,
    },
    /// A reply whose SW1 or SW2 is not `00`.
    #[error("unexpected sw1 sw2 {sw1:02x} {sw2:02x}")]
    BadHeader {
        /// SW1 as received.
        sw1: u8,
        /// SW2 as received.
        sw2: u8,
    },
}

/// A decoded reply.
#[derive(Clone, PartialEq, Eq)]
pub struct ReplyFrame {
    /// SW3.
    pub status: Status,
    /// The bytes after SW3, before the checksum.
    pub data: Vec<u8>,
}

impl fmt::Debug for ReplyFrame {
    // The data may hold personal data (the text block), so only its length
    // is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplyFrame")
            .field("status", &self.status)
            .field("data_len", &self.data.len())
            .finish()
    }
}

/// A decoded request, as a reader (or a simulator) sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestFrame {
    /// CMD.
    pub cmd: u8,
    /// PARA.
    pub para: u8,
    /// Any bytes after PARA, before the checksum.
    pub data: Vec<u8>,
}

impl RequestFrame {
    /// The known command this request carries, if any.
    pub fn command(&self) -> Option<Command> {
        Command::from_bytes(self.cmd, self.para)
    }
}

/// Incremental decoder of frames in either direction.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    n_discarded: u64,
}

impl Decoder {
    /// An empty decoder.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Drops everything buffered.
    pub fn reset(&mut self) {
        self.buf.clear();
    }

    /// Bytes buffered but not yet returned as a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Bytes thrown away so far while resynchronising (a metric).
    pub fn discarded(&self) -> u64 {
        self.n_discarded
    }

    /// How many more bytes the frame being assembled needs at least: the
    /// rest of the header when LEN is not in yet, else the rest of the
    /// body. Always at least 1. Lets a transport read the header and then
    /// exactly LEN bytes. Meaningful after `next_frame` returned `None`.
    pub fn bytes_needed(&self) -> usize {
        if self.buf.len() < HEADER_LEN || !self.buf.starts_with(&PREAMBLE) {
            return HEADER_LEN.saturating_sub(self.buf.len()).max(1);
        }
        let len = usize::from(read_len(&self.buf));
        (HEADER_LEN + len).saturating_sub(self.buf.len()).max(1)
    }

    /// The next complete reply, a typed error for a rejected frame, or
    /// `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Result<ReplyFrame, FrameError>> {
        let body = match self.next_body(MIN_REPLY_LEN)? {
            Ok(body) => body,
            Err(e) => return Some(Err(e)),
        };
        // The body is SW1 SW2 SW3 data; next_body guarantees three bytes.
        let (sw, data) = body.split_at(3);
        if sw[0] != 0 || sw[1] != 0 {
            return Some(Err(FrameError::BadHeader {
                sw1: sw[0],
                sw2: sw[1],
            }));
        }
        Some(Ok(ReplyFrame {
            status: Status::from_code(sw[2]),
            data: data.to_vec(),
        }))
    }

    /// The next complete request (for simulators), a typed error, or `None`.
    pub fn next_request(&mut self) -> Option<Result<RequestFrame, FrameError>> {
        let body = match self.next_body(MIN_REQUEST_LEN)? {
            Ok(body) => body,
            Err(e) => return Some(Err(e)),
        };
        Some(Ok(RequestFrame {
            cmd: body[0],
            para: body[1],
            data: body[2..].to_vec(),
        }))
    }

    /// Finds the next frame with `LEN >= min_len`, verifies it and returns
    /// its body (the bytes after LEN, checksum excluded), consuming it.
    fn next_body(&mut self, min_len: u16) -> Option<Result<Vec<u8>, FrameError>> {
        self.sync();
        if self.buf.len() < HEADER_LEN {
            return None;
        }
        let len = read_len(&self.buf);
        if len < min_len || len > MAX_LEN {
            self.skip(PREAMBLE.len());
            return Some(Err(FrameError::BadLength { len }));
        }
        let total = HEADER_LEN + usize::from(len);
        if self.buf.len() < total {
            return None;
        }
        let expected = wire::checksum(&self.buf[LEN_OFFSET..total - 1]);
        let actual = self.buf[total - 1];
        if expected != actual {
            // The LEN itself may be what was corrupted: skip only the
            // preamble so a following frame is still found.
            self.skip(PREAMBLE.len());
            return Some(Err(FrameError::BadChecksum { expected, actual }));
        }
        let body = self.buf[HEADER_LEN..total - 1].to_vec();
        self.buf.drain(..total);
        Some(Ok(body))
    }

    /// Drops bytes before the first preamble. Without a preamble, keeps only
    /// a tail that could be the start of one.
    fn sync(&mut self) {
        if let Some(pos) = self.buf.windows(PREAMBLE.len()).position(|w| w == PREAMBLE) {
            self.skip(pos);
            return;
        }
        let keep = (1..PREAMBLE.len())
            .rev()
            .find(|&n| self.buf.len() >= n && self.buf.ends_with(&PREAMBLE[..n]))
            .unwrap_or(0);
        let drop = self.buf.len() - keep;
        self.skip(drop);
    }

    fn skip(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.n_discarded += n as u64;
        self.buf.drain(..n);
    }
}

fn read_len(buf: &[u8]) -> u16 {
    u16::from_be_bytes([buf[LEN_OFFSET], buf[LEN_OFFSET + 1]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{encode_command, encode_reply};

    const FIND_OK: [u8; 15] = [
        0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x08, 0x00, 0x00, 0x9F, 0, 0, 0, 0, 0x97,
    ];

    fn reply(status: Status, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_reply(status, data, &mut out);
        out
    }

    #[test]
    fn reference_find_card_reply_is_card_found() {
        let mut d = Decoder::new();
        d.push(&FIND_OK);
        let frame = d.next_frame().unwrap().unwrap();
        assert_eq!(frame.status, Status::CardFound);
        assert_eq!(frame.data, [0, 0, 0, 0]);
        assert!(d.next_frame().is_none());
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn byte_at_a_time() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1284).collect();
        let bytes = reply(Status::Ok, &data);
        let mut d = Decoder::new();
        for (i, b) in bytes.iter().enumerate() {
            d.push(&[*b]);
            let res = d.next_frame();
            if i + 1 < bytes.len() {
                assert!(res.is_none(), "frame early at {i}");
                assert!(d.bytes_needed() >= 1);
            } else {
                let frame = res.unwrap().unwrap();
                assert_eq!(frame.data, data);
            }
        }
    }

    #[test]
    fn bytes_needed_follows_header_then_len() {
        let bytes = reply(Status::Ok, &[1, 2, 3]);
        let mut d = Decoder::new();
        assert_eq!(d.bytes_needed(), 7);
        d.push(&bytes[..3]);
        assert!(d.next_frame().is_none());
        assert_eq!(d.bytes_needed(), 4);
        d.push(&bytes[3..7]);
        assert!(d.next_frame().is_none());
        assert_eq!(d.bytes_needed(), bytes.len() - 7);
    }

    #[test]
    fn two_frames_in_one_push() {
        let mut bytes = FIND_OK.to_vec();
        bytes.extend(reply(Status::Ok, &[9; 8]));
        let mut d = Decoder::new();
        d.push(&bytes);
        assert_eq!(d.next_frame().unwrap().unwrap().status, Status::CardFound);
        let second = d.next_frame().unwrap().unwrap();
        assert_eq!((second.status, second.data.len()), (Status::Ok, 8));
        assert!(d.next_frame().is_none());
    }

    #[test]
    fn garbage_prefix_is_skipped() {
        let mut bytes = vec![0x00, 0xAA, 0xAA, 0x13, 0xAA, 0xAA, 0xAA, 0x96, 0x00];
        bytes.extend(FIND_OK);
        let mut d = Decoder::new();
        d.push(&bytes);
        assert_eq!(d.next_frame().unwrap().unwrap().status, Status::CardFound);
        assert_eq!(d.discarded(), 9);
    }

    #[test]
    fn partial_preamble_across_pushes() {
        let mut d = Decoder::new();
        d.push(&[0x01, 0x02, 0xAA, 0xAA]);
        assert!(d.next_frame().is_none());
        assert_eq!(d.buffered(), 2);
        d.push(&FIND_OK[2..]);
        assert_eq!(d.next_frame().unwrap().unwrap().status, Status::CardFound);
    }

    #[test]
    fn corrupt_checksum_then_good_frame() {
        let mut bad = FIND_OK.to_vec();
        bad[14] ^= 0xFF;
        let mut d = Decoder::new();
        d.push(&bad);
        d.push(&reply(Status::FindCardFailed, &[]));
        assert_eq!(
            d.next_frame(),
            Some(Err(FrameError::BadChecksum {
                expected: 0x97,
                actual: 0x68
            }))
        );
        assert_eq!(
            d.next_frame().unwrap().unwrap().status,
            Status::FindCardFailed
        );
        assert!(d.next_frame().is_none());
    }

    #[test]
    fn corrupt_len_does_not_swallow_the_next_frame() {
        let mut bad = FIND_OK.to_vec();
        bad[6] = 0x09;
        let mut d = Decoder::new();
        d.push(&bad);
        d.push(&FIND_OK);
        assert!(matches!(
            d.next_frame(),
            Some(Err(FrameError::BadChecksum { .. }))
        ));
        assert_eq!(d.next_frame().unwrap().unwrap().status, Status::CardFound);
    }

    #[test]
    fn absurd_lengths_are_rejected_and_skipped() {
        let mut d = Decoder::new();
        d.push(&[0xAA, 0xAA, 0xAA, 0x96, 0x69, 0xFF, 0xFF, 0x00]);
        d.push(&[0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x02, 0x00]);
        d.push(&FIND_OK);
        assert_eq!(
            d.next_frame(),
            Some(Err(FrameError::BadLength { len: 0xFFFF }))
        );
        assert_eq!(d.next_frame(), Some(Err(FrameError::BadLength { len: 2 })));
        assert_eq!(d.next_frame().unwrap().unwrap().status, Status::CardFound);
    }

    #[test]
    fn truncated_frame_stays_pending() {
        let mut d = Decoder::new();
        d.push(&FIND_OK[..12]);
        assert!(d.next_frame().is_none());
        assert!(d.next_frame().is_none());
        assert_eq!(d.buffered(), 12);
        assert_eq!(d.bytes_needed(), 3);
        d.reset();
        assert_eq!(d.buffered(), 0);
        d.push(&FIND_OK);
        assert!(d.next_frame().unwrap().is_ok());
    }

    #[test]
    fn nonzero_sw1_is_rejected() {
        let mut d = Decoder::new();
        let mut bytes = Vec::new();
        encode_command(Command::FindCard, &mut bytes);
        // A bare request has LEN 3, below the reply minimum.
        d.push(&bytes);
        assert_eq!(d.next_frame(), Some(Err(FrameError::BadLength { len: 3 })));
        let mut odd = vec![0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x04, 0x01, 0x00, 0x90];
        odd.push(wire::checksum(&odd[5..]));
        d.push(&odd);
        assert_eq!(
            d.next_frame(),
            Some(Err(FrameError::BadHeader { sw1: 1, sw2: 0 }))
        );
    }

    #[test]
    fn requests_decode() {
        let mut bytes = Vec::new();
        encode_command(Command::ReadTextPhoto, &mut bytes);
        encode_command(Command::FindCard, &mut bytes);
        let mut d = Decoder::new();
        d.push(&bytes);
        assert_eq!(
            d.next_request().unwrap().unwrap().command(),
            Some(Command::ReadTextPhoto)
        );
        assert_eq!(
            d.next_request().unwrap().unwrap().command(),
            Some(Command::FindCard)
        );
    }

    #[test]
    fn random_input_never_panics() {
        // A small xorshift stream stands in for a fuzzer in plain `cargo test`.
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut d = Decoder::new();
        let good = reply(Status::Ok, &[1, 2, 3]);
        let mut n_good = 0;
        for round in 0..2000 {
            let n = (next() % 40) as usize;
            let mut chunk: Vec<u8> = (0..n)
                .map(|_| match next() % 4 {
                    0 => 0xAA,
                    1 => PREAMBLE[(next() % 5) as usize],
                    _ => next() as u8,
                })
                .collect();
            if round % 50 == 0 {
                chunk.extend(&good);
            }
            d.push(&chunk);
            while let Some(res) = d.next_frame() {
                if let Ok(frame) = res {
                    if frame.data == [1, 2, 3] {
                        n_good += 1;
                    }
                }
            }
            let _ = d.bytes_needed();
        }
        // Noise may hold a long pending frame over a good one; most get through.
        assert!(n_good > 0);
    }
}
