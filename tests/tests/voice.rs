//! A voice note end to end: the kiosk's microphone is a real ALSA capture
//! device (ALSA's file plugin, through libasound) that says a sentence
//! synthesised by espeak-ng. On the description screen "说出您的诉求"
//! records it; it stops by itself at the configured length, is trimmed and
//! encoded as Ogg Opus, travels sealed with the registration, and the
//! registry serves the same bytes (SHA-256) to staff. The note decodes to
//! audio of the spoken length (± 0.3 s) with speech energy in it; the
//! receipt says "含语音 1 段"; the queue's files never hold an Ogg page.

use std::time::Duration;

use kiosk_e2e::{Harness, Options, RegistryReader, Supplement};
use kiosk_idcard::sim::SimCard;

/// What the microphone says.
const SPOKEN: &str = "我家的承包地被征用了，补偿款一直没有发下来。";

#[test]
fn a_spoken_note_reaches_the_registry_and_staff_hear_the_same_bytes() -> anyhow::Result<()> {
    // The spoken length, measured on the synthesised samples themselves.
    let speech = kiosk_voice::sim::spoken(SPOKEN).expect("espeak-ng speaks");
    let loud = |s: &i16| s.unsigned_abs() >= 300;
    let first = speech.iter().position(loud).expect("speech");
    let last = speech.iter().rposition(loud).expect("speech");
    let spoken_s = (last + 1 - first) as f64 / f64::from(kiosk_voice::SAMPLE_RATE);

    let h = Harness::start(Options {
        microphone: Some((SPOKEN, 8)),
        ..Options::default()
    })?;
    let extra = Supplement {
        voice: true,
        ..Supplement::default()
    };
    h.visit_full(SimCard::specimen(), "land", 1, &extra, |_, review| {
        assert_eq!(review.voice_state, 2, "the review screen has the note");
        Ok(())
    })?;
    let done = h.wait_case_number(Duration::from_secs(60))?;
    let printed = h.wait_printed_text(Duration::from_secs(20))?;
    assert!(printed.contains("含语音 1 段"), "{printed}");

    // The registry holds the note with the case and serves it to staff.
    let reg = RegistryReader::new(h.registry_addr)?;
    let record = reg.registration(&done.case_number)?;
    let stored = record.voice_note.expect("the case has a voice note");
    let bytes = reg.voice_note(&done.case_number)?;
    assert_eq!(registry_api::sha256_hex(&bytes), stored.sha256);
    assert_eq!(bytes.len() as u64, stored.size_bytes);
    let pcm = kiosk_voice::decode_ogg_opus(&bytes)?;
    let decoded_s = pcm.len() as f64 / f64::from(kiosk_voice::SAMPLE_RATE);
    // Trimmed to the speech and the 0.3 s margin kept at each end (the
    // microphone's half second of silence before and its silence after go):
    // the expected length ± 0.3 s.
    let expected_s = spoken_s + 2.0 * kiosk_voice::TRIM_MARGIN.as_secs_f64();
    assert!(
        (decoded_s - expected_s).abs() <= 0.3,
        "decoded {decoded_s:.2} s, expected {expected_s:.2} s (spoken {spoken_s:.2} s)"
    );
    assert!(
        kiosk_voice::rms_dbfs(&pcm) > -40.0,
        "speech energy: {:.1} dBFS",
        kiosk_voice::rms_dbfs(&pcm)
    );
    assert!((f64::from(stored.duration_ms) / 1000.0 - decoded_s).abs() < 0.1);

    // The queue's files (the database and its journal) never hold the note
    // in the clear: no Ogg page, no Opus header.
    let db = &h.cfg.queue.path;
    let dir = db.parent().expect("the queue's directory");
    for e in std::fs::read_dir(dir)?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with(&db.file_name().unwrap().to_string_lossy().into_owned()) {
            continue;
        }
        let raw = std::fs::read(e.path())?;
        assert!(
            !kiosk_voice::contains_ogg_page(&raw),
            "{name} holds an Ogg page"
        );
        assert!(
            !raw.windows(8).any(|w| w == b"OpusHead"),
            "{name} holds an Opus header"
        );
    }
    h.finish()
}
