//! 16 kHz mono 16-bit PCM, the one format of voice notes between the
//! microphone and the encoder: a buffer that wipes itself, levels in dBFS,
//! and the silence trimming (frame RMS against a threshold).
//!
//! Every buffer of a petitioner's voice lives in a [`Pcm`] (or another
//! `Zeroizing` vector) and is wiped when dropped. Growing such a buffer goes
//! through [`extend_wiped`], which wipes the old allocation itself instead of
//! leaving a copy behind in freed memory as `Vec`'s own growth would.

use std::fmt;
use std::ops::{Deref, Range};
use std::time::Duration;

use zeroize::{Zeroize, Zeroizing};

/// The sample rate of voice notes, in Hz (Opus's wideband: speech up to 8 kHz).
pub const SAMPLE_RATE: u32 = 16_000;

/// Samples in one analysis frame of the trimming (20 ms, also the Opus frame).
pub(crate) const FRAME: usize = 320;

/// The silence kept before the first and after the last frame of speech (0.3 s).
pub const TRIM_MARGIN: Duration = Duration::from_millis(300);

/// Frames (20 ms each) above the threshold that make a recording speech
/// rather than a knock or a click: 100 ms in all.
pub const MIN_SPEECH_FRAMES: usize = 5;

/// The lowest level reported: digital silence.
pub const SILENCE_DBFS: f32 = -96.0;

/// The level meter's scale: 0.0 at this level and below, 1.0 at full scale.
pub const METER_FLOOR_DBFS: f32 = -60.0;

/// Mono 16 kHz samples that are wiped when dropped. Its `Debug` shows the
/// length only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Pcm(Zeroizing<Vec<i16>>);

impl Pcm {
    /// An empty buffer with room for `samples` samples.
    pub fn with_capacity(samples: usize) -> Pcm {
        Pcm(Zeroizing::new(Vec::with_capacity(samples)))
    }

    /// A copy of these samples.
    pub fn from_samples(samples: &[i16]) -> Pcm {
        let mut pcm = Pcm::with_capacity(samples.len());
        pcm.0.extend_from_slice(samples);
        pcm
    }

    /// Appends samples; a reallocation wipes the old buffer.
    pub fn extend(&mut self, samples: &[i16]) {
        extend_wiped(&mut self.0, samples);
    }

    /// How long the samples play at 16 kHz.
    pub fn duration(&self) -> Duration {
        samples_duration(self.0.len())
    }

    /// Keeps only this range of samples (clipped to what is there), in place.
    pub(crate) fn keep(&mut self, range: Range<usize>) {
        let end = range.end.min(self.0.len());
        let start = range.start.min(end);
        self.0.truncate(end);
        self.0.drain(..start);
    }
}

impl Deref for Pcm {
    type Target = [i16];
    fn deref(&self) -> &[i16] {
        &self.0
    }
}

impl From<Vec<i16>> for Pcm {
    /// Takes the vector over: it is wiped when the `Pcm` is dropped.
    fn from(samples: Vec<i16>) -> Pcm {
        Pcm(Zeroizing::new(samples))
    }
}

impl fmt::Debug for Pcm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pcm")
            .field("samples", &self.0.len())
            .field("duration_ms", &self.duration().as_millis())
            .finish()
    }
}

/// How long `samples` samples play at 16 kHz.
pub(crate) fn samples_duration(samples: usize) -> Duration {
    // 62 500 ns per sample at 16 kHz.
    Duration::from_nanos((samples as u64).saturating_mul(1_000_000_000 / SAMPLE_RATE as u64))
}

/// Appends `more` to `v`. When the capacity does not suffice, the samples move
/// to a larger allocation and the old one is wiped (plain `Vec` growth would
/// free it with the samples still in it).
pub(crate) fn extend_wiped<T: Copy + Zeroize>(v: &mut Zeroizing<Vec<T>>, more: &[T]) {
    let needed = v.len().saturating_add(more.len());
    if needed > v.capacity() {
        let mut bigger = Zeroizing::new(Vec::with_capacity(needed.max(v.capacity() * 2)));
        bigger.extend_from_slice(v);
        std::mem::swap(v, &mut bigger);
        // `bigger` now holds the old allocation and wipes it here.
    }
    v.extend_from_slice(more);
}

/// The RMS level of the samples in dBFS (0 for a full-scale square wave),
/// [`SILENCE_DBFS`] for nothing or digital silence.
pub fn rms_dbfs(samples: &[i16]) -> f32 {
    if samples.is_empty() {
        return SILENCE_DBFS;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let rms = (sum / samples.len() as f64).sqrt() / 32768.0;
    if rms <= 0.0 {
        return SILENCE_DBFS;
    }
    (20.0 * rms.log10()).max(f64::from(SILENCE_DBFS)) as f32
}

/// A level in dBFS on the meter's scale, 0.0 to 1.0 (linear in dB from
/// [`METER_FLOOR_DBFS`] to 0 dBFS).
pub(crate) fn meter(dbfs: f32) -> f32 {
    if !dbfs.is_finite() {
        return 0.0;
    }
    ((dbfs - METER_FLOOR_DBFS) / -METER_FLOOR_DBFS).clamp(0.0, 1.0)
}

/// Where the speech is: from [`TRIM_MARGIN`] before the first 20 ms frame
/// whose RMS reaches `threshold_dbfs` to [`TRIM_MARGIN`] after the last one,
/// clipped to the samples. `None` when fewer than [`MIN_SPEECH_FRAMES`] frames
/// reach it: no speech, only silence, hum or a click.
pub fn speech_span(samples: &[i16], threshold_dbfs: f32) -> Option<Range<usize>> {
    let mut first = None;
    let mut last = 0;
    let mut loud = 0;
    for (i, frame) in samples.chunks(FRAME).enumerate() {
        if rms_dbfs(frame) >= threshold_dbfs {
            loud += 1;
            first.get_or_insert(i);
            last = i;
        }
    }
    let first = first?;
    if loud < MIN_SPEECH_FRAMES {
        return None;
    }
    let margin = (TRIM_MARGIN.as_millis() as usize) * SAMPLE_RATE as usize / 1000;
    let start = (first * FRAME).saturating_sub(margin);
    let end = ((last + 1) * FRAME)
        .saturating_add(margin)
        .min(samples.len());
    Some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(len: usize, amplitude: f64) -> Vec<i16> {
        (0..len)
            .map(|i| (amplitude * (i as f64 * 0.3).sin()) as i16)
            .collect()
    }

    #[test]
    fn levels_in_dbfs() {
        assert_eq!(rms_dbfs(&[]), SILENCE_DBFS);
        assert_eq!(rms_dbfs(&[0; 100]), SILENCE_DBFS);
        let full = rms_dbfs(&[i16::MIN; 10]);
        assert!(full.abs() < 0.01, "{full}");
        // A sine's RMS is 3 dB under its peak.
        let sine = rms_dbfs(&tone(16_000, 16384.0));
        assert!((sine - (-6.02 - 3.01)).abs() < 0.1, "{sine}");
        assert_eq!(meter(0.0), 1.0);
        assert_eq!(meter(-30.0), 0.5);
        assert_eq!(meter(SILENCE_DBFS), 0.0);
        assert_eq!(meter(f32::NAN), 0.0);
    }

    #[test]
    fn the_span_keeps_a_margin_around_the_speech() {
        let mut s = vec![0i16; 16_000];
        s.extend(tone(8_000, 8000.0));
        s.extend(vec![0i16; 16_000]);
        assert_eq!(speech_span(&s, -40.0), Some(16_000 - 4_800..24_000 + 4_800));
        // At the very start and end, the margin is clipped.
        let loud = tone(3_200, 8000.0);
        assert_eq!(speech_span(&loud, -40.0), Some(0..3_200));
    }

    #[test]
    fn silence_and_clicks_are_no_speech() {
        assert_eq!(speech_span(&[], -40.0), None);
        assert_eq!(speech_span(&[0; 48_000], -40.0), None);
        // Low noise under the threshold.
        assert_eq!(speech_span(&tone(48_000, 100.0), -40.0), None);
        // A 60 ms click in silence.
        let mut s = vec![0i16; 16_000];
        s.extend(tone(960, 20000.0));
        s.extend(vec![0i16; 16_000]);
        assert_eq!(speech_span(&s, -40.0), None);
    }

    #[test]
    fn growing_keeps_the_samples() {
        let mut v = Zeroizing::new(Vec::with_capacity(2));
        for i in 0..1000i16 {
            extend_wiped(&mut v, &[i, -i]);
        }
        assert_eq!(v.len(), 2000);
        assert_eq!(&v[..4], &[0, 0, 1, -1]);
        let mut pcm = Pcm::from_samples(&[1, 2, 3, 4, 5]);
        pcm.keep(1..4);
        assert_eq!(&*pcm, &[2, 3, 4]);
        pcm.keep(2..100);
        assert_eq!(&*pcm, &[4]);
        #[allow(clippy::reversed_empty_ranges)]
        pcm.keep(5..3);
        assert!(pcm.is_empty());
        assert_eq!(format!("{pcm:?}"), "Pcm { samples: 0, duration_ms: 0 }");
    }
}
