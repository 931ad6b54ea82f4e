//! Voice notes as files: speech from espeak-ng encodes and decodes back to
//! its length and its sound, plays through `aplay`, and every kind of bad
//! Ogg input (truncated, random, huge, absurd headers, damaged pages) is an
//! error, never a panic. A note's `Debug` shows no bytes.

mod support;

use std::borrow::Cow;

use kiosk_voice::{
    contains_ogg_page, decode_ogg_opus, wav, PlayerConfig, Playing, VoiceError, VoiceNote,
    MAX_NOTE_BYTES, SAMPLE_RATE,
};
use ogg::{PacketWriteEndInfo, PacketWriter};
use support::{frame_levels, noise, raw_le, speech};
use zeroize::Zeroizing;

const RATE: usize = SAMPLE_RATE as usize;

fn sentence() -> Vec<i16> {
    speech("我想反映一下小区的供暖问题。", 0.5)
}

#[test]
fn speech_survives_encoding_with_its_length_and_its_energy() {
    let input = sentence();
    let note = VoiceNote::encode(&input).unwrap();
    let decoded = note.decode().unwrap();
    assert_eq!(decoded.len(), input.len());
    // Frame by frame, the loud frames stay loud and the levels agree.
    let (a, b) = (frame_levels(&input), frame_levels(&decoded));
    let mut compared = 0;
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        if *x > -35.0 {
            compared += 1;
            assert!((x - y).abs() < 6.0, "frame {i}: {x:.1} vs {y:.1} dBFS");
        }
    }
    assert!(compared > 50, "{compared}");
    // 20 kbit/s: about 2.5 kB a second.
    let per_second = note.len() as f64 / (input.len() as f64 / RATE as f64);
    assert!((1_500.0..3_500.0).contains(&per_second), "{per_second} B/s");
}

#[test]
fn a_note_plays_as_a_wav_through_aplay() {
    let note = VoiceNote::encode(&sentence()).unwrap();
    let wav_bytes = note.to_wav(100).unwrap();
    let info = wav::parse(&wav_bytes).unwrap();
    assert_eq!(
        (info.channels, info.sample_rate, info.bits_per_sample),
        (1, 16_000, 16)
    );
    assert_eq!(info.duration().as_millis(), u128::from(note.duration_ms));
    let half = note.to_wav(50).unwrap();
    assert_eq!(half.len(), wav_bytes.len());
    let cfg = PlayerConfig {
        device: "null".into(),
        ..PlayerConfig::default()
    };
    Playing::start_note(&cfg, &note)
        .expect("aplay starts (alsa-utils installed)")
        .wait()
        .expect("aplay plays the note to the null device");
}

#[test]
fn notes_are_ogg_pages_and_raw_audio_is_not() {
    let input = sentence();
    let note = VoiceNote::encode(&input).unwrap();
    assert!(contains_ogg_page(&note.ogg_opus));
    assert!(!contains_ogg_page(&raw_le(&input)));
    let mut wrapped = b"header".to_vec();
    wrapped.extend_from_slice(&note.ogg_opus);
    assert!(contains_ogg_page(&wrapped));
    // A note read back from storage is checked and keeps its length.
    let again = VoiceNote::from_ogg_opus(note.ogg_opus.clone()).unwrap();
    assert_eq!(again.duration_ms, note.duration_ms);
    assert!(VoiceNote::from_ogg_opus(Zeroizing::new(b"OggS".to_vec())).is_err());
}

#[test]
fn debug_of_a_note_shows_its_size_and_length_only() {
    let note = VoiceNote::encode(&sentence()).unwrap();
    let debug = format!("{note:?}");
    assert_eq!(
        debug,
        format!(
            "VoiceNote {{ bytes: {}, duration_ms: {} }}",
            note.len(),
            note.duration_ms
        )
    );
    assert!(!debug.contains('['), "{debug}");
    let pcm = note.decode().unwrap();
    assert!(!format!("{pcm:?}").contains('['));
}

fn is_bad_note(res: Result<kiosk_voice::Pcm, VoiceError>) -> bool {
    matches!(res, Err(VoiceError::BadNote(_)))
}

#[test]
fn truncated_input_is_an_error_or_a_shorter_note() {
    let note = VoiceNote::encode(&sentence()).unwrap();
    let full = decode_ogg_opus(&note.ogg_opus).unwrap().len();
    for cut in (0..note.len()).step_by(7) {
        match decode_ogg_opus(&note.ogg_opus[..cut]) {
            Ok(pcm) => assert!(pcm.len() < full, "cut at {cut}"),
            Err(e) => assert!(matches!(e, VoiceError::BadNote(_)), "{e:?}"),
        }
    }
    assert!(is_bad_note(decode_ogg_opus(
        &note.ogg_opus[..note.len() - 1]
    )));
    assert!(is_bad_note(decode_ogg_opus(&[])));
}

#[test]
fn random_and_huge_input_is_refused() {
    let mut x = 0x1234_5678_9abc_def1u64;
    for len in [1usize, 27, 100, 4096, 100_000] {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        assert!(is_bad_note(decode_ogg_opus(&bytes)), "{len} random bytes");
        // Random bytes behind a capture pattern too.
        let mut b = b"OggS\0\x02".to_vec();
        b.extend_from_slice(&bytes);
        assert!(is_bad_note(decode_ogg_opus(&b)));
    }
    // Over the size limit: refused before anything is read.
    let note = VoiceNote::encode(&sentence()).unwrap();
    let mut huge = note.ogg_opus.to_vec();
    huge.resize(MAX_NOTE_BYTES + 1, 0);
    let err = decode_ogg_opus(&huge).unwrap_err();
    assert!(err.to_string().contains("2 MiB"), "{err}");
}

/// An Ogg stream of these packets, each page's granule position as given.
fn ogg_stream(packets: &[(Vec<u8>, u64)], serials: &[u32]) -> Vec<u8> {
    let mut w = PacketWriter::new(Vec::new());
    for (i, (p, granule)) in packets.iter().enumerate() {
        let end = if i + 1 == packets.len() {
            PacketWriteEndInfo::EndStream
        } else if i < 2 {
            PacketWriteEndInfo::EndPage
        } else {
            PacketWriteEndInfo::NormalPacket
        };
        let serial = serials[i % serials.len()];
        w.write_packet(Cow::Owned(p.clone()), serial, end, *granule)
            .unwrap();
    }
    w.into_inner()
}

fn head(version: u8, channels: u8, pre_skip: u16, mapping: u8) -> Vec<u8> {
    let mut h = b"OpusHead".to_vec();
    h.extend_from_slice(&[version, channels]);
    h.extend_from_slice(&pre_skip.to_le_bytes());
    h.extend_from_slice(&16_000u32.to_le_bytes());
    h.extend_from_slice(&[0, 0, mapping]);
    h
}

fn tags() -> Vec<u8> {
    let mut t = b"OpusTags".to_vec();
    t.extend_from_slice(&4u32.to_le_bytes());
    t.extend_from_slice(b"test");
    t.extend_from_slice(&0u32.to_le_bytes());
    t
}

/// A 20 ms SILK wideband frame of no bytes (the TOC alone): valid, decodes
/// to 20 ms of silence.
const EMPTY_FRAME: u8 = 0x48;

fn stream_with(head: Vec<u8>, audio: usize, last_granule: u64) -> Vec<u8> {
    let mut packets = vec![(head, 0), (tags(), 0)];
    for i in 0..audio {
        let granule = if i + 1 == audio {
            last_granule
        } else {
            (i as u64 + 1) * 960
        };
        packets.push((vec![EMPTY_FRAME], granule));
    }
    ogg_stream(&packets, &[7])
}

#[test]
fn absurd_headers_are_refused() {
    // The well-formed stream decodes: 10 frames, less the pre-skip.
    let good = stream_with(head(1, 1, 312, 0), 10, 9600);
    assert_eq!(decode_ogg_opus(&good).unwrap().len(), (9600 - 312) / 3);
    for (why, bytes) in [
        ("pre-skip", stream_with(head(1, 1, 65_535, 0), 10, 9600)),
        ("no channels", stream_with(head(1, 0, 312, 0), 10, 9600)),
        ("9 channels", stream_with(head(1, 9, 312, 0), 10, 9600)),
        ("mapping family", stream_with(head(1, 1, 312, 1), 10, 9600)),
        ("version", stream_with(head(0x10, 1, 312, 0), 10, 9600)),
        (
            "short head",
            stream_with(b"OpusHead\x01".to_vec(), 10, 9600),
        ),
        (
            "not opus",
            stream_with(b"\x01vorbis\0\0\0\0\0\0\0\0\0\0\0\0".to_vec(), 10, 9600),
        ),
        (
            "granule before pre-skip",
            stream_with(head(1, 1, 312, 0), 10, 100),
        ),
    ] {
        assert!(is_bad_note(decode_ogg_opus(&bytes)), "{why}");
    }
    // No OpusTags; an empty packet; an oversized packet; two streams.
    let audio = vec![EMPTY_FRAME];
    let no_tags = ogg_stream(&[(head(1, 1, 312, 0), 0), (audio.clone(), 960)], &[7]);
    assert!(is_bad_note(decode_ogg_opus(&no_tags)));
    let empty = ogg_stream(
        &[(head(1, 1, 312, 0), 0), (tags(), 0), (Vec::new(), 960)],
        &[7],
    );
    assert!(is_bad_note(decode_ogg_opus(&empty)));
    let big = ogg_stream(
        &[
            (head(1, 1, 312, 0), 0),
            (tags(), 0),
            (vec![EMPTY_FRAME; 70_000], 960),
        ],
        &[7],
    );
    assert!(is_bad_note(decode_ogg_opus(&big)));
    let two = ogg_stream(
        &[
            (head(1, 1, 312, 0), 0),
            (tags(), 0),
            (audio.clone(), 960),
            (audio, 1920),
        ],
        &[7, 7, 7, 8],
    );
    assert!(is_bad_note(decode_ogg_opus(&two)));
}

#[test]
fn a_stream_over_ten_minutes_is_refused() {
    // 30 001 frames of 20 ms in 60 kB: a small file that would decode to more
    // than the longest note.
    let bytes = stream_with(head(1, 1, 312, 0), 30_001, 30_001 * 960);
    assert!(bytes.len() < 100_000);
    let err = decode_ogg_opus(&bytes).unwrap_err();
    assert!(err.to_string().contains("10 minutes"), "{err}");
}

/// The Ogg CRC (polynomial 0x04c11db7, not reflected, from 0).
fn crc(data: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// Where each page of a well-formed stream starts and ends.
fn pages(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 27 <= b.len() {
        let n = usize::from(b[at + 26]);
        let body: usize = b[at + 27..at + 27 + n]
            .iter()
            .map(|&s| usize::from(s))
            .sum();
        let end = at + 27 + n + body;
        out.push((at, end));
        at = end;
    }
    out
}

#[test]
fn damaged_pages_never_panic_the_decoder() {
    let note = VoiceNote::encode(&sentence()).unwrap();
    let original = note.ogg_opus.to_vec();
    let pages = pages(&original);
    assert!(pages.len() > 3);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..1_500 {
        let mut b = original.clone();
        // One to four bytes changed, in one page.
        let (start, end) = pages[(next() as usize) % pages.len()];
        for _ in 0..1 + next() % 4 {
            let at = start + (next() as usize) % (end - start);
            b[at] = next() as u8;
        }
        // Half the time with the page's CRC made right again, so that the
        // damage reaches the header parser and the opus decoder.
        if round % 2 == 0 {
            b[start + 22..start + 26].fill(0);
            let sum = crc(&b[start..end]);
            b[start + 22..start + 26].copy_from_slice(&sum.to_le_bytes());
        }
        if let Err(e) = decode_ogg_opus(&b) {
            assert!(matches!(e, VoiceError::BadNote(_)), "{e:?}");
        }
    }
    // Noise instead of speech encodes and decodes as well.
    let n = noise(RATE, 20_000, 9);
    assert_eq!(VoiceNote::encode(&n).unwrap().decode().unwrap().len(), RATE);
}
