//! Opening the devices: the real ones from the configuration, or the
//! simulators. The simulators speak the real protocols over the real OS
//! interfaces (a pseudo-terminal for the card reader, OpenCV's image-sequence
//! capture for the camera), so the kiosk code after "open" is the same.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use kiosk_camera::{CameraSource, OpenCvCamera};
use kiosk_idcard::sim::{self, ReaderSim, SimControl};
use kiosk_idcard::{IdCardReader, ReaderError, SerialOptions, SerialReader};

use crate::config::{CardTransport, Config, PcscDialect};
use crate::controller::Devices;

/// Openers for the devices named in the configuration.
pub fn from_config(cfg: &Config) -> Devices {
    let idcard = cfg.idcard.clone();
    let camera_source = match &cfg.camera.image_sequence {
        Some(pattern) => CameraSource::ImageSequence(pattern.clone()),
        None => CameraSource::Device(cfg.camera.device.clone()),
    };
    Devices {
        reader: Box::new(move || -> Result<Box<dyn IdCardReader>, ReaderError> {
            match idcard.transport {
                CardTransport::Serial => {
                    let mut options = SerialOptions::new(
                        idcard.baud,
                        Duration::from_millis(idcard.reply_timeout_ms),
                    );
                    options.read_fingerprint = idcard.read_fingerprint;
                    Ok(Box::new(SerialReader::open_with(&idcard.device, &options)?))
                }
                CardTransport::Pcsc => {
                    let opts = kiosk_idcard_pcsc::PcscOptions {
                        reader_name: (!idcard.pcsc_reader.is_empty())
                            .then(|| idcard.pcsc_reader.clone()),
                        dialect: match idcard.pcsc_dialect {
                            PcscDialect::VendorSam => kiosk_idcard_pcsc::Dialect::VendorSam,
                            PcscDialect::UidOnly => kiosk_idcard_pcsc::Dialect::UidOnly,
                        },
                        ..kiosk_idcard_pcsc::PcscOptions::default()
                    };
                    Ok(Box::new(kiosk_idcard_pcsc::PcscReader::open_waiting(
                        opts,
                        Duration::from_secs(1),
                    )?))
                }
            }
        }),
        camera: Box::new(move || {
            let c =
                OpenCvCamera::open(&camera_source).context("cannot open the document camera")?;
            Ok(Box::new(c) as Box<dyn kiosk_camera::DocumentCamera>)
        }),
    }
}

/// The specimen page photos shipped in the repository, as an image-sequence pattern.
pub fn sample_pages() -> String {
    let installed = "/usr/share/kiosk/samples/pages";
    let source = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../drivers/camera/samples/pages"
    );
    let dir = if std::path::Path::new(source).is_dir() {
        source
    } else {
        installed
    };
    format!("{dir}/page-%03d.jpg")
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
