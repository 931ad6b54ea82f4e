//! What the voice-note tests and the benchmark share: Mandarin speech
//! synthesised by espeak-ng and brought to 16 kHz by the crate's own
//! resampler, deterministic noise, and 20 ms frame levels.

#![allow(dead_code)]

use std::process::Command;

use kiosk_voice::{rms_dbfs, wav, Pcm, SAMPLE_RATE};

/// Samples per 20 ms frame at 16 kHz.
pub const FRAME: usize = 320;

/// `text` spoken by espeak-ng (the prompts' voice, `cmn-latn-pinyin`),
/// resampled to 16 kHz and scaled by `gain` (0.5: peaks near -6 dBFS,
/// a close talker on a USB microphone).
pub fn speech(text: &str, gain: f64) -> Vec<i16> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("speech.wav");
    let status = Command::new("espeak-ng")
        .args(["-v", "cmn-latn-pinyin", "-s", "150", "-w"])
        .arg(&path)
        .arg(text)
        .status()
        .expect("espeak-ng runs (Debian package espeak-ng)");
    assert!(status.success(), "espeak-ng failed");
    let bytes = std::fs::read(&path).expect("espeak-ng wrote a wav");
    let (rate, pcm) = wav::read_mono16(&bytes).expect("a 16-bit pcm wav");
    let pcm: Pcm = wav::resample(&pcm, rate, SAMPLE_RATE);
    pcm.iter()
        .map(|&s| (f64::from(s) * gain).round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

/// Deterministic white noise, uniform in ±`amplitude` (RMS 4.8 dB under
/// it: 20 gives about -69 dBFS, a quiet room on a good microphone).
pub fn noise(len: usize, amplitude: i16, seed: u64) -> Vec<i16> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let a = i64::from(amplitude);
            ((x % (2 * a as u64 + 1)) as i64 - a) as i16
        })
        .collect()
}

/// Adds `b` into `a` (saturating), from sample `at` of `a`.
pub fn mix_into(a: &mut [i16], b: &[i16], at: usize) {
    for (x, y) in a.iter_mut().skip(at).zip(b) {
        *x = x.saturating_add(*y);
    }
}

/// The RMS level of each 20 ms frame, in dBFS.
pub fn frame_levels(samples: &[i16]) -> Vec<f32> {
    samples.chunks(FRAME).map(rms_dbfs).collect()
}

/// The first and the last sample whose magnitude reaches `min`: where the
/// speech is, measured independently of the crate's frame trimming.
pub fn extent(samples: &[i16], min: i16) -> Option<(usize, usize)> {
    let first = samples
        .iter()
        .position(|s| s.unsigned_abs() >= min.unsigned_abs())?;
    let last = samples
        .iter()
        .rposition(|s| s.unsigned_abs() >= min.unsigned_abs())?;
    Some((first, last + 1))
}

/// Little-endian bytes of the samples (what ALSA's S16_LE is).
pub fn raw_le(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

/// How long `samples` samples play at 16 kHz.
pub fn samples_duration(samples: usize) -> std::time::Duration {
    std::time::Duration::from_nanos(samples as u64 * 1_000_000_000 / u64::from(SAMPLE_RATE))
}
