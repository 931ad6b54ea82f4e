//! The simulated devices of the demo and the tests (feature `demo`): a card
//! reader and a receipt printer simulator on pseudo-terminals, and a camera
//! that plays the SPECIMEN page photos of `drivers/camera/samples/`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use kiosk_idcard::sim::{self, ReaderSim, SimControl};

use crate::config::Config;

/// The specimen page photos shipped in the repository, as an image-sequence pattern.
pub fn sample_pages() -> String {
    kiosk_camera::test_utils::page_sequence_pattern()
}

/// Builds, in `dir`, a camera sequence that plays like a person at the desk:
/// each specimen page lies still for `hold` frames, with the empty desk for
/// a few frames in between while the page is swapped. Returns its pattern.
pub fn demo_sequence(dir: &Path, hold: usize) -> anyhow::Result<String> {
    let pages_pattern = sample_pages();
    let pages_dir = Path::new(&pages_pattern)
        .parent()
        .context("sample pages have no directory")?;
    let empty = pages_dir.parent().map(|d| d.join("empty-desk.jpg"));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for old in std::fs::read_dir(dir)?.flatten() {
        if old.file_name().to_string_lossy().starts_with("frame-") {
            std::fs::remove_file(old.path())?;
        }
    }
    let mut pages: Vec<PathBuf> = std::fs::read_dir(pages_dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    pages.sort();
    let mut n = 0;
    for page in &pages {
        let frames = std::iter::repeat_n(page, hold)
            .chain(empty.iter().flat_map(|e| std::iter::repeat_n(e, 3)));
        for src in frames {
            n += 1;
            std::os::unix::fs::symlink(src, dir.join(format!("frame-{n:03}.jpg")))?;
        }
    }
    Ok(format!("{}/frame-%03d.jpg", dir.display()))
}

/// A simulated card reader on a pseudo-terminal.
pub struct SimulatedReader {
    /// Keeps the simulator thread and the pseudo-terminal alive.
    pub sim: ReaderSim,
    pub control: SimControl,
    /// The device path the kiosk opens, as it would open `/dev/kiosk/idcard`.
    pub device: PathBuf,
}

impl std::fmt::Debug for SimulatedReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SimulatedReader({})", self.device.display())
    }
}

/// Starts a card reader simulator and points the configuration at it.
pub fn simulate_reader(cfg: &mut Config) -> anyhow::Result<SimulatedReader> {
    let (sim, control, device) = sim::spawn().context("cannot start the card reader simulator")?;
    cfg.idcard.device = device.clone();
    Ok(SimulatedReader {
        sim,
        control,
        device,
    })
}

/// A simulated receipt printer on a pseudo-terminal.
pub struct SimulatedPrinter {
    /// Keeps the simulator thread and the pseudo-terminal alive.
    pub sim: kiosk_printer::sim::PrinterSim,
    pub control: kiosk_printer::sim::SimControl,
}

impl std::fmt::Debug for SimulatedPrinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SimulatedPrinter")
    }
}

/// Starts a receipt printer simulator and points the configuration at it.
pub fn simulate_printer(cfg: &mut Config) -> anyhow::Result<SimulatedPrinter> {
    let (sim, control) =
        kiosk_printer::sim::spawn().context("cannot start the printer simulator")?;
    cfg.printer.device = sim.path().to_path_buf();
    cfg.printer.enabled = true;
    Ok(SimulatedPrinter { sim, control })
}

/// What the demo microphone says.
pub const DEMO_SPEECH: &str = "我家的承包地被征用了，补偿款一直没有发下来，请帮助解决。";

/// A microphone for the demo and the tests: `text` spoken by espeak-ng,
/// after half a second of silence and followed by silence, read through
/// ALSA's file plugin (a real ALSA capture device, see `kiosk_voice::sim`).
/// Points `ALSA_CONFIG_PATH` at its configuration: call it before anything
/// in the process opens an ALSA device. Returns the samples of speech.
pub fn simulate_microphone(cfg: &mut Config, dir: &Path, text: &str) -> anyhow::Result<usize> {
    let speech = kiosk_voice::sim::spoken(text)
        .context("cannot synthesise the demo microphone's speech (install espeak-ng)")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mic = kiosk_voice::sim::file_microphone(dir, "kiosk-sim-mic", &speech, 0.5, 1.0)
        .context("cannot write the demo microphone")?;
    // Set before the controller (and its threads) start.
    std::env::set_var("ALSA_CONFIG_PATH", &mic.config);
    cfg.voice.capture_device = mic.device;
    Ok(speech.len())
}
