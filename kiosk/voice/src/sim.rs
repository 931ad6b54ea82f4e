//! A microphone without hardware, for the tests and the demo (feature
//! `sim`; never in the shipped binary): speech synthesised by espeak-ng,
//! brought to 16 kHz mono, and an ALSA configuration whose capture device
//! reads it through ALSA's `file` plugin over a `null` slave, so the
//! recorder opens, configures and reads a real ALSA PCM through libasound.
//!
//! libasound reads its configuration once per process: the caller points
//! `ALSA_CONFIG_PATH` at [`FileMicrophone::config`] before anything in the
//! process opens an ALSA device (child processes such as `aplay` inherit it).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{wav, SAMPLE_RATE};

/// A file-backed capture device.
#[derive(Debug, Clone)]
pub struct FileMicrophone {
    /// The ALSA configuration to point `ALSA_CONFIG_PATH` at: the system's
    /// `/usr/share/alsa/alsa.conf`, then the device.
    pub config: PathBuf,
    /// The capture device's name (`voice.capture_device`).
    pub device: String,
    /// The samples it delivers, before the silence that follows them.
    pub samples: usize,
}

/// `text` spoken by espeak-ng's Mandarin voice (the prompts' voice) at 16 kHz,
/// peaks near -6 dBFS; `None` when espeak-ng is missing or fails.
pub fn spoken(text: &str) -> Option<Vec<i16>> {
    let dir = tempfile_dir()?;
    let path = dir.join("speech.wav");
    let ok = Command::new("espeak-ng")
        .args(["-v", "cmn-latn-pinyin", "-s", "150", "-w"])
        .arg(&path)
        .arg(text)
        .status()
        .ok()?
        .success();
    let bytes = ok.then(|| std::fs::read(&path).ok()).flatten();
    let _ = std::fs::remove_dir_all(&dir);
    let (rate, pcm) = wav::read_mono16(&bytes?).ok()?;
    let pcm = wav::resample(&pcm, rate, SAMPLE_RATE);
    Some(
        pcm.iter()
            .map(|&s| (f64::from(s) * 0.5).round() as i16)
            .collect(),
    )
}

fn tempfile_dir() -> Option<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "kiosk-voice-sim-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}

/// Writes `lead` seconds of silence, `samples`, then `trail` seconds of
/// silence as the input of a capture device named `name`, and its ALSA
/// configuration, into `dir`.
pub fn file_microphone(
    dir: &Path,
    name: &str,
    samples: &[i16],
    lead: f32,
    trail: f32,
) -> std::io::Result<FileMicrophone> {
    let silence = |secs: f32| vec![0i16; (secs.max(0.0) * SAMPLE_RATE as f32) as usize];
    let mut all = silence(lead);
    all.extend_from_slice(samples);
    all.extend(silence(trail));
    let raw: Vec<u8> = all.iter().flat_map(|s| s.to_le_bytes()).collect();
    let input = dir.join(format!("{name}.raw"));
    std::fs::write(&input, raw)?;
    let config = dir.join(format!("{name}.asoundrc"));
    std::fs::write(
        &config,
        format!(
            "</usr/share/alsa/alsa.conf>\n\
             pcm.{name} {{\n    type file\n    slave.pcm {{ type null }}\n    \
             file \"/dev/null\"\n    infile \"{}\"\n    format \"raw\"\n}}\n",
            input.display()
        ),
    )?;
    Ok(FileMicrophone {
        config,
        device: name.to_string(),
        samples: all.len(),
    })
}
