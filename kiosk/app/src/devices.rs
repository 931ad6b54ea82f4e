//! Opening the devices: the real ones from the configuration, or the
//! simulators. The simulators speak the real protocols over the real OS
//! interfaces (a pseudo-terminal for the card reader, OpenCV's image-sequence
//! capture for the camera), so the kiosk code after "open" is the same.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use kiosk_camera::{CameraSource, OpenCvCamera};
use kiosk_idcard::sim::{self, ReaderSim, SimControl};
use kiosk_idcard::SerialReader;

use crate::config::Config;
use crate::controller::Devices;

/// Openers for the devices named in the configuration.
pub fn from_config(cfg: &Config) -> Devices {
    let idcard = cfg.idcard.clone();
    let camera_source = match &cfg.camera.image_sequence {
        Some(pattern) => CameraSource::ImageSequence(pattern.clone()),
        None => CameraSource::Device(cfg.camera.device.clone()),
    };
    Devices {
        reader: Box::new(move || {
            let r = SerialReader::open(
                &idcard.device,
                idcard.baud,
                Duration::from_millis(idcard.reply_timeout_ms),
            )
            .with_context(|| format!("cannot open card reader {}", idcard.device.display()))?;
            Ok(Box::new(r) as Box<dyn kiosk_idcard::IdCardReader>)
        }),
        camera: Box::new(move || {
            let c = OpenCvCamera::open(&camera_source).context("cannot open the document camera")?;
            Ok(Box::new(c) as Box<dyn kiosk_camera::DocumentCamera>)
        }),
    }
}

/// The specimen page photos shipped in the repository, as an image-sequence pattern.
pub fn sample_pages() -> String {
    let installed = "/usr/share/kiosk/samples/pages";
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/../../drivers/camera/samples/pages");
    let dir = if std::path::Path::new(source).is_dir() { source } else { installed };
    format!("{dir}/page-%03d.jpg")
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
    Ok(SimulatedReader { sim, control, device })
}
