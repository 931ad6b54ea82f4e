//! Opening the devices: the real ones from the configuration, or (feature
//! `demo`, never in the shipped kiosk) the simulators. The simulators speak
//! the real protocols over the real OS interfaces (a pseudo-terminal for the
//! card reader and the printer, OpenCV's image-sequence capture for the
//! camera), so the kiosk code after "open" is the same.

use std::time::Duration;

use anyhow::Context;
use kiosk_camera::{CameraSource, OpenCvCamera};
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

#[cfg(feature = "demo")]
mod simulated;
#[cfg(feature = "demo")]
pub use simulated::{
    demo_sequence, sample_pages, simulate_printer, simulate_reader, SimulatedPrinter,
    SimulatedReader, simulate_microphone, DEMO_SPEECH};
