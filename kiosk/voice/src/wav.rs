//! Just enough of the RIFF/WAVE format to check a prompt file and to scale
//! its volume: the `fmt ` chunk and where the `data` chunk lies. For voice
//! notes also: a mono 16-bit WAV written from samples (what `aplay` plays),
//! the samples of such a file read back, and a resampler to 16 kHz.

use std::time::Duration;

use zeroize::Zeroizing;

use crate::pcm::Pcm;
use crate::VoiceError;

/// The format and the sample data's place in a WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavInfo {
    /// 1 for PCM.
    pub format: u16,
    pub channels: u16,
    pub sample_rate: u32,
    pub bits_per_sample: u16,
    /// Byte offset of the sample data.
    pub data_offset: usize,
    /// Byte length of the sample data.
    pub data_len: usize,
}

impl WavInfo {
    /// How long the sound plays.
    pub fn duration(&self) -> Duration {
        let frame = u64::from(self.channels) * u64::from(self.bits_per_sample / 8);
        if frame == 0 || self.sample_rate == 0 {
            return Duration::ZERO;
        }
        let frames = self.data_len as u64 / frame;
        Duration::from_secs_f64(frames as f64 / f64::from(self.sample_rate))
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Reads the header of a WAV file. The `data` chunk's length is clipped to
/// the bytes present (a streamed file may carry a placeholder length).
pub fn parse(bytes: &[u8]) -> Result<WavInfo, VoiceError> {
    let bad = |why: &'static str| VoiceError::BadWav(why);
    if bytes.get(0..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WAVE") {
        return Err(bad("not a riff/wave file"));
    }
    let mut at = 12;
    let mut fmt: Option<(u16, u16, u32, u16)> = None;
    while let (Some(id), Some(len)) = (bytes.get(at..at + 4), u32_at(bytes, at + 4)) {
        let body = at + 8;
        let len = len as usize;
        match id {
            b"fmt " => {
                let field = |off| u16_at(bytes, body + off).ok_or(bad("short fmt chunk"));
                let rate = u32_at(bytes, body + 4).ok_or(bad("short fmt chunk"))?;
                fmt = Some((field(0)?, field(2)?, rate, field(14)?));
            }
            b"data" => {
                let (format, channels, sample_rate, bits_per_sample) =
                    fmt.ok_or(bad("data before fmt chunk"))?;
                return Ok(WavInfo {
                    format,
                    channels,
                    sample_rate,
                    bits_per_sample,
                    data_offset: body,
                    data_len: len.min(bytes.len().saturating_sub(body)),
                });
            }
            _ => {}
        }
        // Chunks are padded to an even length.
        at = body.saturating_add(len).saturating_add(len & 1);
    }
    Err(bad("no data chunk"))
}

/// A copy of a 16-bit PCM WAV with every sample scaled to `percent` (0 to
/// 100). Other formats are returned unchanged.
pub fn scaled(bytes: &[u8], percent: u8) -> Result<Vec<u8>, VoiceError> {
    let info = parse(bytes)?;
    let mut out = bytes.to_vec();
    if percent >= 100 || info.format != 1 || info.bits_per_sample != 16 {
        return Ok(out);
    }
    let factor = i32::from(percent);
    let data = &mut out[info.data_offset..info.data_offset + info.data_len];
    for sample in data.chunks_exact_mut(2) {
        let v = i32::from(i16::from_le_bytes([sample[0], sample[1]]));
        let v = (v * factor / 100) as i16;
        sample.copy_from_slice(&v.to_le_bytes());
    }
    Ok(out)
}

/// A mono 16-bit PCM WAV of these samples, in a buffer wiped when dropped
/// (it holds a petitioner's voice when it is a note's).
pub fn write_mono16(sample_rate: u32, samples: &[i16]) -> Zeroizing<Vec<u8>> {
    // A RIFF file ends at 4 GiB: longer input is cut there (a note is far shorter).
    let data_len = (samples.len().min((u32::MAX as usize - 36) / 2) * 2) as u32;
    let mut b = Zeroizing::new(Vec::with_capacity(44 + data_len as usize));
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes()); // PCM
    b.extend_from_slice(&1u16.to_le_bytes()); // mono
    b.extend_from_slice(&sample_rate.to_le_bytes());
    b.extend_from_slice(&sample_rate.saturating_mul(2).to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes()); // bytes per frame
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    for s in &samples[..data_len as usize / 2] {
        b.extend_from_slice(&s.to_le_bytes());
    }
    b
}

/// The samples of a 16-bit PCM WAV, its channels mixed down to mono, and its
/// sample rate.
pub fn read_mono16(bytes: &[u8]) -> Result<(u32, Pcm), VoiceError> {
    let info = parse(bytes)?;
    if info.format != 1 || info.bits_per_sample != 16 {
        return Err(VoiceError::BadWav("not 16-bit pcm"));
    }
    if info.channels == 0 || info.sample_rate == 0 {
        return Err(VoiceError::BadWav("no channels or no sample rate"));
    }
    let data = &bytes[info.data_offset..info.data_offset + info.data_len];
    let channels = usize::from(info.channels);
    let mut pcm = Pcm::with_capacity(data.len() / 2 / channels);
    let mut frame = Zeroizing::new(Vec::with_capacity(channels));
    for f in data.chunks_exact(2 * channels) {
        let sum: i32 = f
            .chunks_exact(2)
            .map(|c| i32::from(i16::from_le_bytes([c[0], c[1]])))
            .sum();
        frame.clear();
        frame.push((sum / channels as i32) as i16);
        pcm.extend(&frame);
    }
    Ok((info.sample_rate, pcm))
}

/// The samples at another rate: band-limited interpolation with a
/// Blackman-windowed sinc (16 zero crossings each side, the pass band ending
/// at 95 % of the lower rate's Nyquist frequency). Slow but exact enough to
/// bring espeak-ng's 22 050 Hz or a hall's 48 kHz recording to 16 kHz.
pub fn resample(samples: &[i16], from: u32, to: u32) -> Pcm {
    if from == to || from == 0 || to == 0 || samples.is_empty() {
        return if from == to {
            Pcm::from_samples(samples)
        } else {
            Pcm::default()
        };
    }
    let ratio = f64::from(to) / f64::from(from);
    // Cut-off in cycles per input sample, and the kernel's half width in input samples.
    let cutoff = 0.5 * ratio.min(1.0) * 0.95;
    let half = (16.0 / ratio.min(1.0)).ceil();
    let len = (samples.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    let mut out = Pcm::with_capacity(len);
    for j in 0..len {
        let t = j as f64 * f64::from(from) / f64::from(to);
        let lo = (t - half).ceil().max(0.0) as usize;
        let hi = ((t + half).floor() as usize).min(samples.len() - 1);
        let (mut acc, mut norm) = (0.0f64, 0.0f64);
        for (i, &s) in samples.iter().enumerate().take(hi + 1).skip(lo) {
            let d = t - i as f64;
            let x = 2.0 * cutoff * d;
            let sinc = if x.abs() < 1e-12 {
                1.0
            } else {
                (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
            };
            let w = d / half; // -1..1
            let window = 0.42
                + 0.5 * (std::f64::consts::PI * w).cos()
                + 0.08 * (2.0 * std::f64::consts::PI * w).cos();
            let k = sinc * window;
            acc += f64::from(s) * k;
            norm += k;
        }
        let v = if norm.abs() > 1e-9 { acc / norm } else { 0.0 };
        out.extend(&[v.round().clamp(-32768.0, 32767.0) as i16]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mono 16-bit PCM WAV with these samples.
    fn wav(rate: u32, samples: &[i16]) -> Vec<u8> {
        write_mono16(rate, samples).to_vec()
    }

    #[test]
    fn parses_a_pcm_header_and_its_duration() {
        let info = parse(&wav(8000, &[0; 4000])).unwrap();
        assert_eq!((info.format, info.channels, info.sample_rate), (1, 1, 8000));
        assert_eq!((info.data_offset, info.data_len), (44, 8000));
        assert_eq!(info.duration(), Duration::from_millis(500));
    }

    #[test]
    fn refuses_what_is_not_a_wav() {
        assert!(matches!(
            parse(b"RIFF\0\0\0\0AVI "),
            Err(VoiceError::BadWav(_))
        ));
        assert!(parse(b"").is_err());
        let mut truncated = wav(8000, &[1, 2, 3]);
        truncated.truncate(30);
        assert!(parse(&truncated).is_err());
    }

    #[test]
    fn scaling_halves_the_samples_and_keeps_the_header() {
        let original = wav(8000, &[1000, -1000, 32767, -32768]);
        let half = scaled(&original, 50).unwrap();
        assert_eq!(half[..44], original[..44]);
        let samples: Vec<i16> = half[44..]
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(samples, [500, -500, 16383, -16384]);
        assert_eq!(scaled(&original, 100).unwrap(), original);
    }

    #[test]
    fn a_written_wav_reads_back() {
        let samples = [0i16, 1, -1, 32767, -32768, 1234];
        let bytes = wav(16_000, &samples);
        let (rate, pcm) = read_mono16(&bytes).unwrap();
        assert_eq!((rate, &*pcm), (16_000, &samples[..]));
        // Stereo is mixed down.
        let mut stereo = wav(8000, &[100, 300, -50, -150]);
        stereo[22] = 2;
        let (_, pcm) = read_mono16(&stereo).unwrap();
        assert_eq!(&*pcm, &[200, -100]);
        assert!(read_mono16(b"RIFF").is_err());
    }

    #[test]
    fn resampling_keeps_a_tone_and_the_length() {
        let from = 22_050;
        let tone: Vec<i16> = (0..from as usize)
            .map(|i| {
                (10_000.0 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / from as f64).sin())
                    as i16
            })
            .collect();
        let out = resample(&tone, from, 16_000);
        assert_eq!(out.len(), 16_000);
        // The same 440 Hz sine at the new rate, away from the edges.
        let worst = (200..15_800)
            .map(|i| {
                let want =
                    10_000.0 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / 16_000.0).sin();
                (f64::from(out[i]) - want).abs()
            })
            .fold(0.0, f64::max);
        assert!(worst < 60.0, "{worst}");
        assert!(resample(&[], 22_050, 16_000).is_empty());
        assert_eq!(&*resample(&[1, 2], 16_000, 16_000), &[1, 2]);
        // A tone above the new Nyquist frequency is filtered out, not folded down.
        let high: Vec<i16> = (0..from as usize)
            .map(|i| {
                (10_000.0 * (2.0 * std::f64::consts::PI * 9_500.0 * i as f64 / from as f64).sin())
                    as i16
            })
            .collect();
        let out = resample(&high, from, 16_000);
        assert!(crate::pcm::rms_dbfs(&out[200..15_800]) < -40.0);
    }
}
