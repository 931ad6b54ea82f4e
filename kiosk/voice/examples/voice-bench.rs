//! The voice-note benchmark: `cargo run --release -p kiosk-voice --example
//! voice-bench`.
//!
//! On Mandarin speech from espeak-ng (about a minute, brought to 16 kHz by
//! the crate's resampler, peaks near -6 dBFS), it prints for a few bitrates
//! side by side: the encode and decode time per minute of audio, the bytes
//! per minute and for a full 3-minute note, and two crude quality proxies of
//! the decoded speech against the input (the waveform SNR, and the segmental
//! SNR: the mean of 20 ms frames' SNRs, each clipped to -10..35 dB, over the
//! frames with speech). Opus's speech mode does not keep the waveform, so
//! the SNRs are low in absolute terms; they serve to compare bitrates.
//!
//! Then the speech threshold: how much of the speech the trimming keeps, for
//! a close and a soft talker over a quiet and a noisier hall's noise floor,
//! at several thresholds, and whether the noise alone is refused as no speech.

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use kiosk_voice::{
    rms_dbfs, speech_span, VoiceNote, BITRATE_BPS, DEFAULT_SPEECH_THRESHOLD_DBFS, SAMPLE_RATE,
    TRIM_MARGIN,
};
use support::{extent, mix_into, noise, speech, FRAME};

const RATE: usize = SAMPLE_RATE as usize;

const TEXT: &[&str] = &[
    "您好，我是住在城东小区三号楼的居民。",
    "我想反映一下我们小区的供暖问题，已经两个星期没有暖气了。",
    "家里有老人和孩子，晚上非常冷，我们找过物业很多次。",
    "物业说是管道坏了，但是一直没有人来修。",
    "希望有关部门能尽快派人来看一看，帮我们解决这个问题。",
    "另外，小区门口的路灯也坏了很久，晚上出门很不安全。",
    "谢谢你们，我的电话已经填在表格上了。",
];

fn main() -> std::io::Result<()> {
    let out = std::io::stdout();
    let mut out = out.lock();

    // About a minute of speech with natural pauses between the sentences.
    let mut input = Vec::new();
    for text in TEXT.iter().cycle() {
        input.extend(speech(text, 0.5));
        input.extend(std::iter::repeat_n(0i16, RATE / 2));
        if input.len() >= 60 * RATE {
            break;
        }
    }
    let minutes = input.len() as f64 / RATE as f64 / 60.0;
    writeln!(
        out,
        "speech: espeak-ng cmn-latn-pinyin, {:.1} s at 16 kHz, RMS {:.1} dBFS\n",
        minutes * 60.0,
        rms_dbfs(&input)
    )?;

    writeln!(
        out,
        "{:>8}  {:>12}  {:>12}  {:>9}  {:>10}  {:>7}  {:>8}",
        "bitrate",
        "encode ms/min",
        "decode ms/min",
        "bytes/min",
        "3 min note",
        "SNR dB",
        "segSNR dB"
    )?;
    for bitrate in [12_000u32, 16_000, 20_000, 24_000, 32_000] {
        let mut encode = Duration::MAX;
        let mut note = None;
        for _ in 0..3 {
            let t = Instant::now();
            let n = VoiceNote::encode_at(&input, bitrate).map_err(std::io::Error::other)?;
            encode = encode.min(t.elapsed());
            note = Some(n);
        }
        let Some(note) = note else { continue };
        let t = Instant::now();
        let decoded = note.decode().map_err(std::io::Error::other)?;
        let decode = t.elapsed();
        let per_min = note.len() as f64 / minutes;
        let (snr, seg) = snr(&input, &decoded);
        writeln!(
            out,
            "{:>6}k{} {:>12.1}  {:>12.1}  {:>9.0}  {:>9.0}k  {:>7.1}  {:>8.1}",
            bitrate / 1000,
            if bitrate == BITRATE_BPS { "*" } else { " " },
            encode.as_secs_f64() * 1000.0 / minutes,
            decode.as_secs_f64() * 1000.0 / minutes,
            per_min,
            per_min * 3.0 / 1000.0,
            snr,
            seg
        )?;
    }
    writeln!(out, "(* the chosen bitrate, kiosk_voice::BITRATE_BPS)\n")?;

    thresholds(&mut out)?;
    Ok(())
}

/// The waveform SNR and the segmental SNR of `decoded` against `input`.
fn snr(input: &[i16], decoded: &[i16]) -> (f64, f64) {
    let (mut sig, mut err) = (0.0f64, 0.0f64);
    let mut segs = Vec::new();
    for (a, b) in input.chunks(FRAME).zip(decoded.chunks(FRAME)) {
        let (mut s, mut e) = (0.0f64, 0.0f64);
        for (&x, &y) in a.iter().zip(b) {
            let (x, y) = (f64::from(x), f64::from(y));
            s += x * x;
            e += (x - y) * (x - y);
        }
        sig += s;
        err += e;
        if rms_dbfs(a) > -40.0 {
            segs.push((10.0 * (s / e.max(1.0)).log10()).clamp(-10.0, 35.0));
        }
    }
    let seg = segs.iter().sum::<f64>() / segs.len().max(1) as f64;
    (10.0 * (sig / err.max(1.0)).log10(), seg)
}

/// The trimming at several thresholds, for talkers and noise floors.
fn thresholds(out: &mut impl Write) -> std::io::Result<()> {
    let sentence = speech(TEXT[1], 0.5);
    let (first, last) = extent(&sentence, 300).unwrap_or((0, sentence.len()));
    let spoken = (last - first) as f64 / RATE as f64;
    let levels = [-55.0f32, -50.0, -45.0, -40.0, -35.0, -30.0];
    writeln!(
        out,
        "speech threshold (default {DEFAULT_SPEECH_THRESHOLD_DBFS} dBFS): seconds kept of {spoken:.2} s \
         of speech (the span less the margins), or - when refused as no speech"
    )?;
    write!(out, "{:<38}", "talker, noise floor")?;
    for t in levels {
        write!(out, "{t:>8}")?;
    }
    writeln!(out)?;
    // Uniform noise of amplitude a has an RMS of a/sqrt(3).
    for (floor_name, amplitude) in [("-60 dBFS floor", 57i16), ("-50 dBFS floor", 180)] {
        for (talker, gain) in [("close talker", 1.0f64), ("soft talker (-20 dB)", 0.1)] {
            let mut input = noise(sentence.len() + 2 * RATE, amplitude, 11);
            let scaled: Vec<i16> = sentence
                .iter()
                .map(|&s| (f64::from(s) * gain) as i16)
                .collect();
            mix_into(&mut input, &scaled, RATE);
            write!(out, "{:<38}", format!("{talker}, {floor_name}"))?;
            for t in levels {
                match speech_span(&input, t) {
                    Some(span) => {
                        let kept =
                            span.len() as f64 / RATE as f64 - 2.0 * TRIM_MARGIN.as_secs_f64();
                        write!(out, "{kept:>8.2}")?;
                    }
                    None => write!(out, "{:>8}", "-")?,
                }
            }
            writeln!(out)?;
        }
        let alone = noise(3 * RATE, amplitude, 12);
        write!(out, "{:<38}", format!("noise alone, {floor_name}"))?;
        for t in levels {
            let refused = speech_span(&alone, t).is_none();
            write!(out, "{:>8}", if refused { "refused" } else { "SPEECH" })?;
        }
        writeln!(out)?;
    }
    Ok(())
}
