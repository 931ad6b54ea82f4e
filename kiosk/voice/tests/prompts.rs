//! The prompts as built and played: every prompt has a valid WAV of a
//! sensible length, spoken as Mandarin, and playback to ALSA's `null` device
//! works while a device that does not exist gives a clear error, not a panic.

use std::time::Duration;

use kiosk_voice::{load, wav, Player, PlayerConfig, Playing, Prompt, VoiceError};

#[test]
fn every_prompt_has_a_wav_between_a_fifth_of_a_second_and_eight_seconds() {
    for prompt in Prompt::ALL {
        let bytes = prompt.built_wav().unwrap_or_else(|| {
            panic!(
                "{} was not synthesised (is espeak-ng installed?)",
                prompt.id()
            )
        });
        let info = wav::parse(bytes).unwrap_or_else(|e| panic!("{}: {e}", prompt.id()));
        assert_eq!(
            (info.format, info.channels, info.bits_per_sample),
            (1, 1, 16),
            "{}: mono 16-bit PCM",
            prompt.id()
        );
        assert!(
            info.sample_rate >= 16_000,
            "{}: {} Hz",
            prompt.id(),
            info.sample_rate
        );
        let d = info.duration();
        assert!(
            d > Duration::from_millis(200) && d < Duration::from_secs(8),
            "{}: {d:?}",
            prompt.id()
        );
        // Not silence: espeak-ng wrote speech.
        let loud = bytes[info.data_offset..info.data_offset + info.data_len]
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]).unsigned_abs())
            .max()
            .unwrap_or(0);
        assert!(loud > 3000, "{}: peak {loud}", prompt.id());
    }
}

#[test]
fn every_prompt_is_read_as_mandarin() {
    for prompt in Prompt::ALL {
        let phonemes = prompt.built_phonemes().unwrap_or_default();
        assert!(!phonemes.is_empty(), "{}: no phonemes", prompt.id());
        // espeak-ng marks a switch to another language's rules as "(en)" etc.
        assert!(!phonemes.contains('('), "{}: {phonemes}", prompt.id());
        // Mandarin phonemes carry tone numbers.
        assert!(
            phonemes.chars().any(|c| c.is_ascii_digit()),
            "{}: {phonemes}",
            prompt.id()
        );
    }
}

fn null_device() -> PlayerConfig {
    PlayerConfig {
        device: "null".into(),
        ..PlayerConfig::default()
    }
}

#[test]
fn plays_to_the_null_device() {
    let cfg = null_device();
    let wav = load(&cfg, Prompt::Registered).expect("the prompt loads");
    Playing::start(&cfg, wav)
        .expect("aplay starts (alsa-utils installed)")
        .wait()
        .expect("aplay plays to the null device");
}

#[test]
fn a_missing_device_is_a_clear_error() {
    let cfg = PlayerConfig {
        device: "kiosk-no-such-device".into(),
        ..PlayerConfig::default()
    };
    let wav = load(&cfg, Prompt::Registered).expect("the prompt loads");
    let err = Playing::start(&cfg, wav).unwrap().wait().unwrap_err();
    assert!(matches!(err, VoiceError::Aplay(_)), "{err:?}");
    assert!(err.to_string().contains("audio open error"), "{err}");
}

#[test]
fn the_player_thread_survives_failures_and_stops_on_drop() {
    let player = Player::spawn(PlayerConfig {
        device: "kiosk-no-such-device".into(),
        ..PlayerConfig::default()
    })
    .expect("the voice thread starts");
    for prompt in Prompt::ALL {
        player.play(*prompt);
    }
    std::thread::sleep(Duration::from_millis(300));
    drop(player);
}

#[test]
fn a_recording_in_the_directory_replaces_the_built_in_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let builtin = Prompt::Welcome.built_wav().expect("built");
    // A recording of our own: the built-in one's first half second.
    let info = wav::parse(builtin).unwrap();
    let mut own = builtin[..info.data_offset].to_vec();
    own.extend(&builtin[info.data_offset..info.data_offset + 22_050]);
    std::fs::write(dir.path().join("welcome.wav"), &own).unwrap();
    let cfg = PlayerConfig {
        dir: Some(dir.path().to_path_buf()),
        ..null_device()
    };
    let loaded = load(&cfg, Prompt::Welcome).unwrap();
    assert_eq!(wav::parse(&loaded).unwrap().data_len, 22_050);
    // Others keep the built-in recording; a broken file is refused.
    assert_eq!(
        load(&cfg, Prompt::PlaceCard).unwrap(),
        Prompt::PlaceCard.built_wav().unwrap()
    );
    std::fs::write(dir.path().join("place-card.wav"), b"not a wav").unwrap();
    assert!(matches!(
        load(&cfg, Prompt::PlaceCard),
        Err(VoiceError::BadWav(_))
    ));
}

#[test]
fn volume_scales_the_built_in_prompt() {
    let quiet = load(
        &PlayerConfig {
            volume: 25,
            ..null_device()
        },
        Prompt::HoldStill,
    )
    .unwrap();
    let full = Prompt::HoldStill.built_wav().unwrap();
    let peak = |b: &[u8]| {
        let i = wav::parse(b).unwrap();
        b[i.data_offset..i.data_offset + i.data_len]
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]).unsigned_abs())
            .max()
            .unwrap()
    };
    let (q, f) = (peak(&quiet), peak(full));
    assert!(q <= f / 4 + 1 && q >= f / 4 - 1, "{q} vs {f}");
}
