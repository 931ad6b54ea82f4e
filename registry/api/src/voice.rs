//! Voice notes on the wire: the limits both ends hold a note to, and the
//! one check of its bytes that the terminal's queue (at sealing) and the
//! registry (before storing) both apply.
//!
//! A note is Ogg Opus (RFC 7845), 16 kHz mono, as `kiosk-voice` records it:
//! about 130 kB a minute, 3 minutes at most by default. What is checked here
//! is its envelope, not its audio: the size, the SHA-256 the metadata
//! declares, and that the bytes begin with an Ogg page (capture pattern,
//! version 0, beginning of stream, a correct CRC) whose first packet is an
//! Opus identification header (`OpusHead`). The audio itself is only ever
//! decoded by whoever plays it (a browser in the staff console), never by
//! the registry.
//!
//! The bytes are a petitioner's voice: nothing here logs or quotes them,
//! and every error names what is wrong without a byte of the note.

/// The largest voice note either end takes: 2 MiB (a 3-minute note is
/// about 390 kB; this leaves room for a recorder set to its 10-minute limit).
pub const MAX_VOICE_NOTE_BYTES: usize = 2 * 1024 * 1024;

/// The longest voice note, in milliseconds: 10 minutes, the recorder's
/// highest setting (`kiosk-voice`'s `MAX_NOTE_SECONDS`).
pub const MAX_VOICE_NOTE_MS: u32 = 600_000;

/// Why a voice note is unusable. The messages name the field, never a byte
/// of the note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VoiceNoteError {
    /// `ogg_opus_base64` does not decode.
    #[error("voice note is not valid base64")]
    Base64,
    /// Over [`MAX_VOICE_NOTE_BYTES`] (declared or real).
    #[error("voice note is larger than {MAX_VOICE_NOTE_BYTES} bytes")]
    TooLarge,
    /// The bytes are not as many as `size_bytes` says.
    #[error("voice note does not have the size_bytes its metadata declares")]
    SizeMismatch,
    /// The bytes do not hash to the declared `sha256`.
    #[error("voice note does not match its sha256")]
    HashMismatch,
    /// The bytes do not begin with an Ogg page holding an Opus identification header.
    #[error("voice note is not Ogg Opus (no Ogg page with OpusHead at its start)")]
    NotOggOpus,
    /// `sha256` is not 64 lower-case hex digits, or `duration_ms` is out of range.
    #[error("voice note metadata is malformed (sha256 must be 64 lower-case hex digits, duration_ms at most {MAX_VOICE_NOTE_MS})")]
    BadMetadata,
}

/// The fixed part of an Ogg page header (RFC 3533): `OggS`, version, header
/// type, granule position, serial number, sequence number, CRC, segment count.
const OGG_HEADER_LEN: usize = 27;
/// Header type flag: the page continues a packet of the page before.
const OGG_CONTINUED: u8 = 0x01;
/// Header type flag: the first page of a logical stream.
const OGG_BOS: u8 = 0x02;
/// Where the CRC sits in a page header.
const OGG_CRC_AT: usize = 22;
/// The Opus identification header (RFC 7845 §5.1) is at least this long.
const OPUS_HEAD_MIN: usize = 19;

/// Checks that `bytes` begin as an Ogg Opus stream: the first Ogg page is
/// whole, unaltered (its CRC holds), opens a stream, and its first packet,
/// complete on that page, is an Opus identification header for one or more
/// channels. The rest of the stream is not looked at.
pub fn check_ogg_opus(bytes: &[u8]) -> Result<(), VoiceNoteError> {
    let bad = VoiceNoteError::NotOggOpus;
    let head = bytes.get(..OGG_HEADER_LEN).ok_or(bad)?;
    if &head[..4] != b"OggS" || head[4] != 0 {
        return Err(bad);
    }
    let kind = head[5];
    if kind & OGG_BOS == 0 || kind & OGG_CONTINUED != 0 {
        return Err(bad);
    }
    let segments = usize::from(head[26]);
    let lacing = bytes
        .get(OGG_HEADER_LEN..OGG_HEADER_LEN + segments)
        .ok_or(bad)?;
    let body_len: usize = lacing.iter().map(|l| usize::from(*l)).sum();
    let page_len = OGG_HEADER_LEN + segments + body_len;
    let page = bytes.get(..page_len).ok_or(bad)?;
    let stored = u32::from_le_bytes([
        page[OGG_CRC_AT],
        page[OGG_CRC_AT + 1],
        page[OGG_CRC_AT + 2],
        page[OGG_CRC_AT + 3],
    ]);
    if ogg_crc(page) != stored {
        return Err(bad);
    }
    // The first packet: lacing values up to and including the first below
    // 255. A packet that runs on past the page is no identification header.
    let ends = lacing.iter().position(|l| *l < 255).ok_or(bad)?;
    let packet_len: usize = lacing[..=ends].iter().map(|l| usize::from(*l)).sum();
    let body = &page[OGG_HEADER_LEN + segments..];
    let packet = &body[..packet_len];
    let channels = packet.get(9).copied().unwrap_or(0);
    if packet_len < OPUS_HEAD_MIN || &packet[..8] != b"OpusHead" || channels == 0 {
        return Err(bad);
    }
    // RFC 7845: the major version (the high nibble) is 0 for every version
    // a decoder of this specification can read.
    if packet[8] >> 4 != 0 {
        return Err(bad);
    }
    Ok(())
}

/// The CRC of an Ogg page: CRC-32 with polynomial 0x04C11DB7, no
/// reflection, initial value and final XOR 0, computed with the page's CRC
/// field taken as zero.
fn ogg_crc(page: &[u8]) -> u32 {
    let mut crc = 0u32;
    for (i, byte) in page.iter().enumerate() {
        let byte = if (OGG_CRC_AT..OGG_CRC_AT + 4).contains(&i) {
            0
        } else {
            *byte
        };
        crc ^= u32::from(byte) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04C1_1DB7
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// Writes one Ogg page of `packets` (each complete on this page).
#[cfg(any(test, feature = "test-utils"))]
fn ogg_page(out: &mut Vec<u8>, kind: u8, granule: u64, sequence: u32, packets: &[&[u8]]) {
    let start = out.len();
    out.extend_from_slice(b"OggS");
    out.push(0);
    out.push(kind);
    out.extend_from_slice(&granule.to_le_bytes());
    // SPECIMEN stream serial number.
    out.extend_from_slice(&0x5350_4543u32.to_le_bytes());
    out.extend_from_slice(&sequence.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    let mut lacing = Vec::new();
    for packet in packets {
        let mut left = packet.len();
        while left >= 255 {
            lacing.push(255);
            left -= 255;
        }
        lacing.push(left as u8);
    }
    out.push(lacing.len() as u8);
    out.extend_from_slice(&lacing);
    for packet in packets {
        out.extend_from_slice(packet);
    }
    let crc = ogg_crc(&out[start..]);
    out[start + OGG_CRC_AT..start + OGG_CRC_AT + 4].copy_from_slice(&crc.to_le_bytes());
}

/// A SPECIMEN voice note for tests: a valid Ogg Opus stream (16 kHz mono
/// identification header, tags naming `SPECIMEN voice note`) of
/// `duration_ms` rounded up to 20 ms frames of Opus silence, which any
/// player plays as silence. It holds no one's voice.
#[cfg(any(test, feature = "test-utils"))]
pub fn specimen_ogg_opus(duration_ms: u32) -> Vec<u8> {
    const PRE_SKIP: u16 = 312;
    let mut head = Vec::with_capacity(19);
    head.extend_from_slice(b"OpusHead");
    head.push(1); // version
    head.push(1); // one channel
    head.extend_from_slice(&PRE_SKIP.to_le_bytes());
    head.extend_from_slice(&16_000u32.to_le_bytes());
    head.extend_from_slice(&0i16.to_le_bytes()); // output gain
    head.push(0); // channel mapping family 0
    let vendor = b"SPECIMEN voice note";
    let mut tags = Vec::new();
    tags.extend_from_slice(b"OpusTags");
    tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    tags.extend_from_slice(vendor);
    tags.extend_from_slice(&0u32.to_le_bytes());
    let mut out = Vec::new();
    ogg_page(&mut out, OGG_BOS, 0, 0, &[&head]);
    ogg_page(&mut out, 0, 0, 1, &[&tags]);
    // A 20 ms CELT frame flagged silent (TOC 0xF8), a common "silence" packet.
    let silence: &[u8] = &[0xF8, 0xFF, 0xFE];
    let frames = duration_ms.div_ceil(20).max(1);
    let mut granule = 0u64;
    let mut sequence = 2u32;
    let mut left = frames;
    while left > 0 {
        let n = left.min(50);
        left -= n;
        granule += u64::from(n) * 960;
        let packets = vec![silence; n as usize];
        // The last page ends the stream; its granule counts the pre-skip.
        let (kind, at) = if left == 0 {
            (0x04, granule + u64::from(PRE_SKIP))
        } else {
            (0, granule)
        };
        ogg_page(&mut out, kind, at, sequence, &packets);
        sequence += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_specimen_note_passes_and_damage_or_other_formats_do_not() {
        let note = specimen_ogg_opus(42_000);
        assert_eq!(check_ogg_opus(&note), Ok(()));
        // 2 100 frames of 3 bytes: a few kB, like a real note of silence.
        assert!(note.len() > 6_000 && note.len() < 12_000, "{}", note.len());
        let refused = |bytes: &[u8]| check_ogg_opus(bytes) == Err(VoiceNoteError::NotOggOpus);
        assert!(refused(b""));
        assert!(refused(&note[..20]));
        assert!(refused(&note[..40]), "a first page cut short");
        assert!(refused(b"RIFF\0\0\0\0WAVEfmt "));
        // One bit changed in the identification header: the CRC fails.
        let mut flipped = note.clone();
        flipped[30] ^= 0x01;
        assert!(refused(&flipped));
        // An Ogg stream of something else (Vorbis) with a correct CRC.
        let mut vorbis = Vec::new();
        ogg_page(
            &mut vorbis,
            OGG_BOS,
            0,
            0,
            &[b"\x01vorbis\0\0\0\0\x01\x80\x3e\0\0"],
        );
        assert!(refused(&vorbis));
        // A first page that does not open the stream.
        let mut not_first = Vec::new();
        ogg_page(&mut not_first, 0, 0, 0, &[&note[28..47]]);
        assert!(refused(&not_first));
        // A header for no channel, and a future major version.
        for (at, value) in [(9, 0u8), (8, 0x10)] {
            let mut head = note[28..47].to_vec();
            head[at] = value;
            let mut bytes = Vec::new();
            ogg_page(&mut bytes, OGG_BOS, 0, 0, &[&head]);
            assert!(refused(&bytes), "byte {at} = {value}");
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        // A cheap generator: xorshift, seeded.
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for len in 0..600 {
            let mut bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            if len >= 27 {
                bytes[..4].copy_from_slice(b"OggS");
                bytes[4] = 0;
                bytes[5] = OGG_BOS;
            }
            let _ = check_ogg_opus(&bytes);
        }
    }
}
