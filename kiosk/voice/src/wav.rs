//! Just enough of the RIFF/WAVE format to check a prompt file and to scale
//! its volume: the `fmt ` chunk and where the `data` chunk lies.

use std::time::Duration;

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

#[cfg(test)]
mod tests {
    use super::*;

    /// A mono 16-bit PCM WAV with these samples.
    pub(crate) fn wav(rate: u32, samples: &[i16]) -> Vec<u8> {
        let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let mut b = Vec::new();
        b.extend(b"RIFF");
        b.extend((36 + data.len() as u32).to_le_bytes());
        b.extend(b"WAVEfmt ");
        b.extend(16u32.to_le_bytes());
        b.extend(1u16.to_le_bytes());
        b.extend(1u16.to_le_bytes());
        b.extend(rate.to_le_bytes());
        b.extend((rate * 2).to_le_bytes());
        b.extend(2u16.to_le_bytes());
        b.extend(16u16.to_le_bytes());
        b.extend(b"data");
        b.extend((data.len() as u32).to_le_bytes());
        b.extend(data);
        b
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
}
