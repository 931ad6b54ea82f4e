//! Voice notes as Ogg Opus (RFC 7845): 16 kHz mono speech encoded by
//! libopus (Debian's `libopus0`, through the `opus` crate) in 20 ms frames,
//! in Ogg pages written by the `ogg` crate; the two header packets (OpusHead
//! and OpusTags) are our own few bytes. The decoder reads such a file back to
//! 16 kHz PCM, for playback and for the tests, and refuses anything too large,
//! too long or malformed with [`VoiceError::BadNote`], never a panic.
//!
//! The bytes of a note are a petitioner's voice: they stay in `Zeroizing`
//! buffers, and nothing of them is logged. `Debug` shows the size and the
//! length only.

use std::borrow::Cow;
use std::fmt;
use std::io::{Cursor, Write};

use ogg::{OggReadError, PacketReader, PacketWriteEndInfo, PacketWriter};
use opus::{Application, Bitrate, Channels, Decoder, Encoder, Signal};
use zeroize::Zeroizing;

use crate::pcm::{extend_wiped, samples_duration, Pcm, FRAME, SAMPLE_RATE};
use crate::{wav, VoiceError};

/// The encoder's target bitrate: 20 kbit/s, VBR, libopus in its speech
/// (SILK) mode at 16 kHz, 20 ms frames, complexity 10.
///
/// Chosen by measurement (`cargo run --release -p kiosk-voice --example
/// voice-bench`, a minute of espeak-ng's Mandarin): a minute of speech takes
/// 130 kB at 20 kbit/s, so a full 3-minute note is about 390 kB, well under
/// 1 MB. Against the input, the segmental SNR of the decoded speech is 8.0 dB
/// at 12 kbit/s, 9.2 at 16, 9.8 at 20, 10.2 at 24 and 10.6 at 32: past
/// 16 kbit/s each step buys less while the size grows by a fifth. 20 kbit/s
/// sits at that knee with some headroom for what synthetic speech lacks and a
/// real microphone adds (room noise, reverberation, varied voices), which VBR
/// spends bits on. Encoding takes about 0.8 s per minute of audio here.
pub const BITRATE_BPS: u32 = 20_000;

/// The largest Ogg Opus input the decoder accepts: 2 MiB, over 4 times a
/// maximal note.
pub const MAX_NOTE_BYTES: usize = 2 * 1024 * 1024;

/// The longest note that is encoded or decoded, in seconds (10 minutes; the
/// recorder's limit, 3 minutes by default, can be raised up to this).
pub const MAX_NOTE_SECONDS: u32 = 600;

/// RFC 7845: "a packet larger than 61,298 octets" cannot be valid.
const MAX_PACKET: usize = 61_298;

/// Audio packets per Ogg page: one page a second.
const PACKETS_PER_PAGE: usize = 50;

/// Samples at 48 kHz (the unit of Ogg Opus granule positions and pre-skip)
/// per sample at 16 kHz.
const TO_48K: u64 = 3;

/// The largest pre-skip accepted, at 48 kHz: half a second (libopus needs
/// 6.5 ms; anything near the maximum of 1.4 s is a damaged header).
const MAX_PRE_SKIP: u16 = 24_000;

/// What the OpusTags header names as the encoder.
const VENDOR: &[u8] = b"kiosk-voice (libopus)";

/// A recorded voice note: Ogg Opus bytes and how long it plays. `Debug`
/// shows the size and the length, never the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct VoiceNote {
    /// The Ogg Opus file (16 kHz mono, RFC 7845).
    pub ogg_opus: Zeroizing<Vec<u8>>,
    /// How long it plays, in milliseconds.
    pub duration_ms: u32,
}

impl fmt::Debug for VoiceNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VoiceNote")
            .field("bytes", &self.ogg_opus.len())
            .field("duration_ms", &self.duration_ms)
            .finish()
    }
}

impl VoiceNote {
    /// Encodes 16 kHz mono samples at [`BITRATE_BPS`].
    pub fn encode(samples: &[i16]) -> Result<VoiceNote, VoiceError> {
        VoiceNote::encode_at(samples, BITRATE_BPS)
    }

    /// Encodes 16 kHz mono samples at another bitrate (6 000 to 510 000 bit/s;
    /// the benchmark compares a few).
    pub fn encode_at(samples: &[i16], bitrate_bps: u32) -> Result<VoiceNote, VoiceError> {
        if samples.len() > MAX_NOTE_SECONDS as usize * SAMPLE_RATE as usize {
            return Err(VoiceError::Encode(format!(
                "a note is at most {MAX_NOTE_SECONDS} s long"
            )));
        }
        let bitrate = i32::try_from(bitrate_bps)
            .ok()
            .filter(|b| (6_000..=510_000).contains(b))
            .ok_or_else(|| VoiceError::Encode(format!("bitrate {bitrate_bps} out of range")))?;
        let ogg_opus = encode_ogg_opus(samples, bitrate)?;
        Ok(VoiceNote {
            ogg_opus,
            duration_ms: duration_ms(samples.len()),
        })
    }

    /// Takes Ogg Opus bytes (from the queue, say) after checking that they
    /// decode; the duration is what they decode to.
    pub fn from_ogg_opus(ogg_opus: Zeroizing<Vec<u8>>) -> Result<VoiceNote, VoiceError> {
        let pcm = decode_ogg_opus(&ogg_opus)?;
        Ok(VoiceNote {
            ogg_opus,
            duration_ms: duration_ms(pcm.len()),
        })
    }

    /// The note's samples, 16 kHz mono.
    pub fn decode(&self) -> Result<Pcm, VoiceError> {
        decode_ogg_opus(&self.ogg_opus)
    }

    /// The note as a 16 kHz mono WAV for `aplay` (the player's
    /// `Playing::start_note` plays it), scaled to `volume` percent.
    pub fn to_wav(&self, volume: u8) -> Result<Zeroizing<Vec<u8>>, VoiceError> {
        let mut pcm = self.decode()?;
        if volume < 100 {
            let factor = i32::from(volume);
            let scaled: Vec<i16> = pcm
                .iter()
                .map(|&s| (i32::from(s) * factor / 100) as i16)
                .collect();
            pcm = Pcm::from(scaled);
        }
        Ok(wav::write_mono16(SAMPLE_RATE, &pcm))
    }

    /// The size of the Ogg Opus file in bytes.
    pub fn len(&self) -> usize {
        self.ogg_opus.len()
    }

    /// True for a note without bytes (never one that was encoded or checked).
    pub fn is_empty(&self) -> bool {
        self.ogg_opus.is_empty()
    }
}

fn duration_ms(samples: usize) -> u32 {
    u32::try_from(samples_duration(samples).as_millis()).unwrap_or(u32::MAX)
}

/// An `io::Write` into a buffer that is wiped when dropped, also when it grows.
struct WipedBuf(Zeroizing<Vec<u8>>);

impl Write for WipedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        extend_wiped(&mut self.0, buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn opus_err(what: &str, e: opus::Error) -> VoiceError {
    VoiceError::Encode(format!("{what}: {e}"))
}

/// OpusHead (RFC 7845 section 5.1): version 1, mono, the pre-skip at 48 kHz,
/// the input rate (information only), no gain, channel mapping family 0.
fn opus_head(pre_skip: u16) -> [u8; 19] {
    let mut h = [0u8; 19];
    h[..8].copy_from_slice(b"OpusHead");
    h[8] = 1;
    h[9] = 1;
    h[10..12].copy_from_slice(&pre_skip.to_le_bytes());
    h[12..16].copy_from_slice(&SAMPLE_RATE.to_le_bytes());
    // Output gain 0 (16..18) and mapping family 0 (18) stay zero.
    h
}

/// OpusTags (RFC 7845 section 5.2): the vendor string and no comments.
fn opus_tags() -> Vec<u8> {
    let mut t = Vec::with_capacity(8 + 4 + VENDOR.len() + 4);
    t.extend_from_slice(b"OpusTags");
    t.extend_from_slice(&(VENDOR.len() as u32).to_le_bytes());
    t.extend_from_slice(VENDOR);
    t.extend_from_slice(&0u32.to_le_bytes());
    t
}

fn encode_ogg_opus(samples: &[i16], bitrate: i32) -> Result<Zeroizing<Vec<u8>>, VoiceError> {
    let mut enc = Encoder::new(SAMPLE_RATE, Channels::Mono, Application::Voip)
        .map_err(|e| opus_err("cannot create the opus encoder", e))?;
    let setup = |enc: &mut Encoder| -> Result<(), opus::Error> {
        enc.set_bitrate(Bitrate::Bits(bitrate))?;
        enc.set_vbr(true)?;
        enc.set_vbr_constraint(false)?;
        enc.set_signal(Signal::Voice)?;
        enc.set_complexity(10)
    };
    setup(&mut enc).map_err(|e| opus_err("cannot set up the opus encoder", e))?;
    let lookahead = enc
        .get_lookahead()
        .map_err(|e| opus_err("opus encoder", e))?;
    let lookahead = usize::try_from(lookahead).unwrap_or(0);
    let pre_skip = u16::try_from(lookahead as u64 * TO_48K)
        .map_err(|_| VoiceError::Encode("opus lookahead too long".into()))?;

    // Every sample must come out of the decoder after the pre-skip: encode
    // `lookahead` samples past the end, the last frame padded with silence.
    let frames = (samples.len() + lookahead).div_ceil(FRAME);
    let mut packets = Zeroizing::new(Vec::<u8>::with_capacity(
        frames * (bitrate as usize / 8 / 50 + 16),
    ));
    let mut ranges = Vec::with_capacity(frames);
    let mut frame = Zeroizing::new([0i16; FRAME]);
    let mut packet = Zeroizing::new([0u8; 1500]);
    for k in 0..frames {
        let start = (k * FRAME).min(samples.len());
        let end = ((k + 1) * FRAME).min(samples.len());
        frame.fill(0);
        frame[..end - start].copy_from_slice(&samples[start..end]);
        let n = enc
            .encode(&frame[..], &mut packet[..])
            .map_err(|e| opus_err("opus encoding failed", e))?;
        let at = packets.len();
        extend_wiped(&mut packets, &packet[..n]);
        ranges.push(at..at + n);
    }

    let head = opus_head(pre_skip);
    let tags = opus_tags();
    let serial = stream_serial();
    let final_granule = u64::from(pre_skip) + samples.len() as u64 * TO_48K;
    let out = WipedBuf(Zeroizing::new(Vec::with_capacity(
        packets.len() + frames * 2 + (frames / PACKETS_PER_PAGE + 3) * 28 + 128,
    )));
    let mut w = PacketWriter::new(out);
    let io = |e: std::io::Error| VoiceError::Encode(format!("ogg: {e}"));
    // Each header on a page of its own, granule position 0 (RFC 7845 section 3).
    w.write_packet(
        Cow::Borrowed(&head[..]),
        serial,
        PacketWriteEndInfo::EndPage,
        0,
    )
    .map_err(io)?;
    w.write_packet(
        Cow::Borrowed(&tags[..]),
        serial,
        PacketWriteEndInfo::EndPage,
        0,
    )
    .map_err(io)?;
    for (k, range) in ranges.iter().enumerate() {
        let last = k + 1 == ranges.len();
        // The granule counts 48 kHz samples decoded so far, pre-skip
        // included; the last page's ends the stream exactly after the input.
        let granule = if last {
            final_granule
        } else {
            (k as u64 + 1) * FRAME as u64 * TO_48K
        };
        let end = if last {
            PacketWriteEndInfo::EndStream
        } else if (k + 1) % PACKETS_PER_PAGE == 0 {
            PacketWriteEndInfo::EndPage
        } else {
            PacketWriteEndInfo::NormalPacket
        };
        w.write_packet(Cow::Borrowed(&packets[range.clone()]), serial, end, granule)
            .map_err(io)?;
    }
    Ok(w.into_inner().0)
}

/// A stream serial number that differs between notes (RFC 3533 wants them
/// unique per physical stream; a note holds one stream, so the clock serves).
fn stream_serial() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32).rotate_left(16))
        .unwrap_or(0x6b69_6f73)
}

fn bad(why: &'static str) -> VoiceError {
    VoiceError::BadNote(why)
}

fn ogg_err(e: OggReadError) -> VoiceError {
    match e {
        OggReadError::NoCapturePatternFound => {
            bad("not an ogg file (no page where one should start)")
        }
        OggReadError::InvalidStreamStructVer(_) => bad("unknown ogg page version"),
        OggReadError::HashMismatch(_, _) => bad("damaged ogg page (checksum mismatch)"),
        OggReadError::ReadError(_) => bad("truncated ogg page"),
        OggReadError::InvalidData => bad("malformed ogg stream"),
    }
}

/// The pre-skip and the output gain from an OpusHead packet.
fn parse_head(p: &[u8]) -> Result<(u16, i16), VoiceError> {
    if p.len() < 19 || &p[..8] != b"OpusHead" {
        return Err(bad("no OpusHead: not an ogg opus file"));
    }
    if p[8] & 0xf0 != 0 {
        return Err(bad("unsupported OpusHead version"));
    }
    if p[9] == 0 || p[9] > 2 {
        return Err(bad("bad channel count in OpusHead"));
    }
    if p[18] != 0 {
        return Err(bad("unsupported channel mapping in OpusHead"));
    }
    let pre_skip = u16::from_le_bytes([p[10], p[11]]);
    if pre_skip > MAX_PRE_SKIP {
        return Err(bad("absurd pre-skip in OpusHead"));
    }
    Ok((pre_skip, i16::from_le_bytes([p[16], p[17]])))
}

/// Decodes an Ogg Opus file (one stream, mono or stereo) to 16 kHz mono
/// samples. Refuses input over [`MAX_NOTE_BYTES`], audio over
/// [`MAX_NOTE_SECONDS`], and anything malformed, with
/// [`VoiceError::BadNote`].
pub fn decode_ogg_opus(bytes: &[u8]) -> Result<Pcm, VoiceError> {
    if bytes.len() > MAX_NOTE_BYTES {
        return Err(bad("larger than 2 MiB"));
    }
    let mut reader = PacketReader::new(Cursor::new(bytes));
    let head = reader
        .read_packet()
        .map_err(ogg_err)?
        .ok_or(bad("empty: no ogg page"))?;
    if !head.first_in_stream() {
        return Err(bad("the stream does not start with its first page"));
    }
    let serial = head.stream_serial();
    let (pre_skip, gain) = parse_head(&head.data)?;
    let tags = reader
        .read_packet()
        .map_err(ogg_err)?
        .ok_or(bad("no OpusTags"))?;
    if tags.stream_serial() != serial {
        return Err(bad("more than one logical stream"));
    }
    if !tags.data.starts_with(b"OpusTags") {
        return Err(bad("no OpusTags"));
    }

    let mut dec = Decoder::new(SAMPLE_RATE, Channels::Mono)
        .map_err(|_| bad("cannot create the opus decoder"))?;
    dec.set_gain(i32::from(gain))
        .map_err(|_| bad("bad output gain in OpusHead"))?;
    let skip = (usize::from(pre_skip)).div_ceil(TO_48K as usize);
    let most = MAX_NOTE_SECONDS as usize * SAMPLE_RATE as usize + skip;
    // A fair first guess of the length; the buffer grows (wiping) if needed.
    let mut pcm = Pcm::with_capacity((bytes.len() * 8).min(most));
    // 120 ms, the longest Opus packet, at 16 kHz.
    let mut frame = Zeroizing::new([0i16; 1920]);
    let mut last_granule = None;
    while let Some(packet) = reader.read_packet().map_err(ogg_err)? {
        if packet.stream_serial() != serial {
            return Err(bad("more than one logical stream"));
        }
        if packet.data.is_empty() || packet.data.len() > MAX_PACKET {
            return Err(bad("audio packet empty or too large"));
        }
        let n = dec
            .decode(&packet.data, &mut frame[..], false)
            .map_err(|_| bad("damaged opus packet"))?;
        if pcm.len() + n > most {
            return Err(bad("longer than 10 minutes"));
        }
        pcm.extend(&frame[..n.min(frame.len())]);
        // -1: no packet ends on that page.
        if packet.absgp_page() != u64::MAX {
            last_granule = Some(packet.absgp_page());
        }
    }
    // The last granule position says where the audio ends (the rest of the
    // last frame is padding); it cannot lengthen what was decoded.
    let mut end = pcm.len();
    if let Some(granule) = last_granule {
        let played = granule
            .checked_sub(u64::from(pre_skip))
            .ok_or(bad("granule position before the pre-skip"))?;
        let played = usize::try_from(played / TO_48K).unwrap_or(usize::MAX);
        end = end.min(skip.saturating_add(played));
    }
    pcm.keep(skip..end);
    Ok(pcm)
}

/// The CRC-32 of Ogg pages: polynomial 0x04c11db7, not reflected, starting
/// from 0 (RFC 3533 section 6).
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut r = (i as u32) << 24;
        let mut bit = 0;
        while bit < 8 {
            r = if r & 0x8000_0000 != 0 {
                (r << 1) ^ 0x04c1_1db7
            } else {
                r << 1
            };
            bit += 1;
        }
        table[i] = r;
        i += 1;
    }
    table
};

fn ogg_crc(parts: &[&[u8]]) -> u32 {
    let mut crc = 0u32;
    for part in parts {
        for &b in *part {
            crc = (crc << 8) ^ CRC_TABLE[((crc >> 24) as u8 ^ b) as usize];
        }
    }
    crc
}

/// True when `bytes` contain a whole, valid Ogg page anywhere: the capture
/// pattern "OggS", stream structure version 0, known header flags, the segment
/// table and the body present, and a matching CRC. For the tests that check
/// that files at rest (the queue's, say) hold no voice note in the clear.
pub fn contains_ogg_page(bytes: &[u8]) -> bool {
    let mut from = 0;
    while let Some(at) = bytes
        .get(from..)
        .and_then(|rest| rest.windows(4).position(|w| w == b"OggS"))
    {
        let start = from + at;
        if is_page_at(bytes, start) {
            return true;
        }
        from = start + 1;
    }
    false
}

fn is_page_at(bytes: &[u8], start: usize) -> bool {
    let Some(header) = bytes.get(start..start + 27) else {
        return false;
    };
    if header[4] != 0 || header[5] & !0x07 != 0 {
        return false;
    }
    let segments = usize::from(header[26]);
    let Some(table) = bytes.get(start + 27..start + 27 + segments) else {
        return false;
    };
    let body_len: usize = table.iter().map(|&s| usize::from(s)).sum();
    let body_at = start + 27 + segments;
    let Some(body) = bytes.get(body_at..body_at + body_len) else {
        return false;
    };
    let stored = u32::from_le_bytes([header[22], header[23], header[24], header[25]]);
    ogg_crc(&[&header[..22], &[0; 4], &header[26..], table, body]) == stored
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chirp(seconds: f64) -> Vec<i16> {
        let n = (seconds * f64::from(SAMPLE_RATE)) as usize;
        (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(SAMPLE_RATE);
                (8000.0 * (2.0 * std::f64::consts::PI * (200.0 + 300.0 * t) * t).sin()) as i16
            })
            .collect()
    }

    #[test]
    fn a_note_decodes_to_its_exact_length() {
        for len in [0usize, 1, 319, 320, 321, 16_000, 33_333] {
            let samples = chirp(len as f64 / 16_000.0);
            let note = VoiceNote::encode(&samples).unwrap();
            let pcm = note.decode().unwrap();
            assert_eq!(pcm.len(), len, "{len}");
            assert_eq!(note.duration_ms, duration_ms(len));
        }
    }

    #[test]
    fn the_headers_follow_rfc_7845() {
        let note = VoiceNote::encode(&chirp(1.0)).unwrap();
        let b = &note.ogg_opus;
        // First page: BOS, only OpusHead (19 bytes, one segment).
        assert_eq!(&b[..4], b"OggS");
        assert_eq!(b[5], 0x02);
        assert_eq!(u64::from_le_bytes(b[6..14].try_into().unwrap()), 0);
        assert_eq!((b[26], b[27]), (1, 19));
        assert_eq!(&b[28..36], b"OpusHead");
        assert_eq!(b[36], 1);
        assert_eq!(b[37], 1);
        assert!(contains_ogg_page(b));
        assert!(is_page_at(b, 0));
        // The last page ends the stream.
        let last = b.windows(4).rposition(|w| w == b"OggS").unwrap();
        assert_eq!(b[last + 5] & 0x04, 0x04);
    }

    #[test]
    fn the_page_finder_wants_a_whole_valid_page() {
        let note = VoiceNote::encode(&chirp(0.5)).unwrap();
        let first_page = &note.ogg_opus[..27 + 1 + 19];
        assert!(contains_ogg_page(first_page));
        let mut embedded = b"xxOggSOggS\0".to_vec();
        embedded.extend_from_slice(first_page);
        embedded.extend_from_slice(b"tail");
        assert!(contains_ogg_page(&embedded));
        assert!(!contains_ogg_page(&first_page[..first_page.len() - 1]));
        let mut damaged = first_page.to_vec();
        damaged[40] ^= 1;
        assert!(!contains_ogg_page(&damaged));
        let mut version1 = first_page.to_vec();
        version1[4] = 1;
        assert!(!contains_ogg_page(&version1));
        assert!(!contains_ogg_page(b"OggS"));
        assert!(!contains_ogg_page(b""));
    }

    #[test]
    fn debug_shows_no_bytes() {
        let note = VoiceNote {
            ogg_opus: Zeroizing::new(vec![0xAB; 5]),
            duration_ms: 7,
        };
        assert_eq!(
            format!("{note:?}"),
            "VoiceNote { bytes: 5, duration_ms: 7 }"
        );
    }

    #[test]
    fn out_of_range_input_is_refused() {
        assert!(VoiceNote::encode_at(&[0; 320], 10).is_err());
        let long = vec![0i16; MAX_NOTE_SECONDS as usize * 16_000 + 1];
        assert!(VoiceNote::encode(&long).is_err());
    }
}
