//! A virtual card for `pcscd` with vsmartcard's `vpcd` driver.
//!
//! `vpcd` (Debian package `vsmartcard-vpcd`) is a PC/SC reader driver that
//! listens on a TCP port; a virtual card "is inserted" by connecting to it
//! and "removed" by closing the connection. Every message either way is a
//! two-byte big-endian length and its bytes. From `vpcd`, one byte is a
//! control code (`00` power off, `01` power on, `02` reset, `04` get ATR,
//! which the card answers with its ATR); anything longer is a command APDU,
//! answered with the response APDU.
//!
//! [`VirtualCard`] answers the APDUs of this crate's dialects: the vendor
//! read `FF B0 P1 00 00` (text, then the photo in 256-byte chunks) and
//! `FF CA 00 00 00` (the card UID). It runs on its own thread; dropping it
//! removes the card. For tests and demos only: keep `vpcd` off terminals.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::apdu;

/// ATR of an ISO 14443-B card without historical bytes, as PC/SC part 3
/// readers build it: `3B 80 80 01 01`.
pub const ATR: [u8; 5] = [0x3B, 0x80, 0x80, 0x01, 0x01];

/// Bytes per photo chunk of the vendor read.
pub const PHOTO_CHUNK: usize = 256;

/// What the virtual card holds.
#[derive(Clone, PartialEq, Eq)]
pub struct CardContents {
    /// The 256-byte text block returned by `FF B0 00 00 00`.
    pub text: Vec<u8>,
    /// The photo returned in chunks by `FF B0 01..05 00 00`.
    pub photo: Vec<u8>,
    /// The identifier returned by `FF CA 00 00 00`.
    pub uid: Vec<u8>,
}

impl std::fmt::Debug for CardContents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardContents")
            .field("text_len", &self.text.len())
            .field("photo_len", &self.photo.len())
            .field("uid_len", &self.uid.len())
            .finish()
    }
}

/// A card in the `vpcd` reader. Dropping it removes the card.
#[derive(Debug)]
pub struct VirtualCard {
    stop: Arc<AtomicBool>,
    stream: TcpStream,
    thread: Option<JoinHandle<()>>,
}

impl VirtualCard {
    /// Inserts `contents` into the `vpcd` reader listening on
    /// `127.0.0.1:port`.
    pub fn insert(port: u16, contents: CardContents) -> io::Result<VirtualCard> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_millis(50)))?;
        stream.set_nodelay(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            let mut s = stream.try_clone()?;
            thread::Builder::new()
                .name("vicc".into())
                .spawn(move || serve(&mut s, &contents, &stop))?
        };
        Ok(VirtualCard {
            stop,
            stream,
            thread: Some(thread),
        })
    }

    /// Takes the card out of the reader.
    pub fn remove(self) {
        drop(self);
    }
}

impl Drop for VirtualCard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.stream.shutdown(Shutdown::Both);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(s: &mut TcpStream, card: &CardContents, stop: &AtomicBool) {
    let mut len = [0u8; 2];
    while !stop.load(Ordering::SeqCst) {
        match read_exact_or_stop(s, &mut len, stop) {
            Ok(true) => {}
            _ => return,
        }
        let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if !matches!(read_exact_or_stop(s, &mut msg, stop), Ok(true)) {
            return;
        }
        let reply = match msg.as_slice() {
            [0x04] => Some(ATR.to_vec()),
            [_] => None,
            apdu => Some(respond(card, apdu)),
        };
        if let Some(reply) = reply {
            let mut out = (reply.len() as u16).to_be_bytes().to_vec();
            out.extend_from_slice(&reply);
            if s.write_all(&out).is_err() {
                return;
            }
        }
    }
}

/// Fills `buf`, retrying on read timeouts until `stop`; false on EOF/stop.
fn read_exact_or_stop(s: &mut TcpStream, buf: &mut [u8], stop: &AtomicBool) -> io::Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        if stop.load(Ordering::SeqCst) {
            return Ok(false);
        }
        match s.read(&mut buf[got..]) {
            Ok(0) => return Ok(false),
            Ok(n) => got += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// The response APDU (data and SW1 SW2) to a command APDU.
pub fn respond(card: &CardContents, command: &[u8]) -> Vec<u8> {
    let ok = |mut data: Vec<u8>| {
        data.extend_from_slice(&apdu::SW_OK.to_be_bytes());
        data
    };
    match command {
        [0xFF, 0xCA, 0x00, 0x00, ..] => ok(card.uid.clone()),
        [0xFF, 0xB0, 0x00, 0x00, ..] => ok(apdu::encode_text_response(&card.text, card.photo.len())),
        [0xFF, 0xB0, p1 @ 1..=apdu::MAX_PHOTO_CHUNKS, 0x00, ..] => {
            let start = (usize::from(*p1) - 1) * PHOTO_CHUNK;
            let end = (start + PHOTO_CHUNK).min(card.photo.len());
            ok(card.photo.get(start..end).unwrap_or(&[]).to_vec())
        }
        [0xFF, ..] => vec![0x6A, 0x86],
        _ => vec![0x6D, 0x00],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_the_dialect_apdus() {
        let card = CardContents {
            text: vec![1; 256],
            photo: (0..1024).map(|i| i as u8).collect(),
            uid: vec![0xDE, 0xAD, 0xBE, 0xEF],
        };
        assert_eq!(respond(&card, &apdu::GET_UID), [0xDE, 0xAD, 0xBE, 0xEF, 0x90, 0x00]);
        let text = respond(&card, &apdu::vendor_read(0));
        assert_eq!(text.len(), 4 + 256 + 2);
        let mut photo = Vec::new();
        for p1 in 1..=5 {
            let r = respond(&card, &apdu::vendor_read(p1));
            photo.extend_from_slice(&r[..r.len() - 2]);
        }
        assert_eq!(photo, card.photo);
        assert_eq!(respond(&card, &[0x00, 0xA4, 0x04, 0x00]), [0x6D, 0x00]);
    }
}
