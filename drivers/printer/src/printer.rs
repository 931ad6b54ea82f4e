//! [`EscPosPrinter`]: ESC/POS over a serial line or the USB printer class
//! device (`/dev/usb/lp*`), with DLE EOT status queries before and after
//! every job.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use log::{debug, info, warn};
use serialport::{ClearBuffer, SerialPort};

use crate::escpos::{self, QrMode, StatusKind};
use crate::{PrintJob, PrintOutcome, PrinterError, PrinterStatus, ReceiptPrinter};

/// The udev symlink of the receipt printer.
pub const DEFAULT_DEVICE: &str = "/dev/kiosk/printer";

/// How to reach the printer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrinterConfig {
    /// The device: a serial port, or a USB printer class device
    /// (`/dev/usb/lp*`, also through a symlink).
    pub path: PathBuf,
    /// Serial speed (ignored for USB).
    pub baud: u32,
    /// How QR codes are printed.
    pub qr: QrMode,
    /// How long to wait for each status reply.
    pub reply_timeout: Duration,
}

impl Default for PrinterConfig {
    fn default() -> Self {
        PrinterConfig {
            path: PathBuf::from(DEFAULT_DEVICE),
            baud: 115_200,
            qr: QrMode::Native,
            reply_timeout: Duration::from_millis(500),
        }
    }
}

enum Port {
    Serial(Box<dyn SerialPort>),
    /// Opened non-blocking, so reads and writes poll against a deadline.
    Lp(File),
}

/// An ESC/POS printer.
pub struct EscPosPrinter {
    port: Port,
    cfg: PrinterConfig,
    tx: Vec<u8>,
}

impl std::fmt::Debug for EscPosPrinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EscPosPrinter")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

/// How long `n` bytes take on the wire at `baud` (8N1: 10 bits a byte).
pub fn wire_time(n_bytes: usize, baud: u32) -> Duration {
    Duration::from_micros(n_bytes as u64 * 10 * 1_000_000 / u64::from(baud.max(1)))
}

fn is_usb_lp(path: &Path) -> bool {
    let real = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    real.to_string_lossy().starts_with("/dev/usb/lp")
}

impl EscPosPrinter {
    /// Opens the printer. A missing device path is [`PrinterError::Absent`].
    pub fn open(cfg: PrinterConfig) -> Result<Self, PrinterError> {
        if !cfg.path.exists() {
            return Err(PrinterError::Absent {
                path: cfg.path.clone(),
            });
        }
        let port = if is_usb_lp(&cfg.path) {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
                .open(&cfg.path)?;
            Port::Lp(file)
        } else {
            let port = serialport::new(cfg.path.to_string_lossy(), cfg.baud)
                .data_bits(serialport::DataBits::Eight)
                .parity(serialport::Parity::None)
                .stop_bits(serialport::StopBits::One)
                .flow_control(serialport::FlowControl::None)
                .timeout(cfg.reply_timeout)
                .open()
                .map_err(|e| match e.kind {
                    serialport::ErrorKind::NoDevice => PrinterError::Absent {
                        path: cfg.path.clone(),
                    },
                    _ => PrinterError::Open(e),
                })?;
            Port::Serial(port)
        };
        debug!("printer opened at {}", cfg.path.display());
        Ok(EscPosPrinter {
            port,
            cfg,
            tx: Vec::with_capacity(4096),
        })
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &PrinterConfig {
        &self.cfg
    }

    /// Encodes `job` as this printer would send it.
    pub fn encode(&self, job: &PrintJob) -> Vec<u8> {
        let mut out = Vec::new();
        escpos::encode_job(job, self.cfg.qr, &mut out);
        out
    }

    fn discard_input(&mut self) {
        match &mut self.port {
            Port::Serial(p) => {
                let _ = p.clear(ClearBuffer::Input);
            }
            Port::Lp(f) => {
                let mut junk = [0u8; 64];
                while matches!(f.read(&mut junk), Ok(n) if n > 0) {}
            }
        }
    }

    fn write_all(&mut self, bytes: &[u8], deadline: Instant) -> Result<(), PrinterError> {
        match &mut self.port {
            Port::Serial(p) => {
                let remaining = deadline.saturating_duration_since(Instant::now());
                p.set_timeout(remaining.max(Duration::from_millis(1)))
                    .map_err(|e| PrinterError::Io(e.into()))?;
                p.write_all(bytes)?;
                p.flush()?;
            }
            Port::Lp(f) => {
                let mut rest = bytes;
                while !rest.is_empty() {
                    match f.write(rest) {
                        Ok(0) => return Err(PrinterError::Io(ErrorKind::WriteZero.into())),
                        Ok(n) => rest = &rest[n..],
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            if Instant::now() >= deadline {
                                return Err(PrinterError::Io(ErrorKind::TimedOut.into()));
                            }
                            thread::sleep(Duration::from_millis(2));
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        Ok(())
    }

    /// Reads one status-shaped byte before `deadline`.
    fn read_status_byte(&mut self, deadline: Instant) -> Result<u8, PrinterError> {
        let mut byte = [0u8; 1];
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(PrinterError::NoReply);
            }
            let res = match &mut self.port {
                Port::Serial(p) => {
                    p.set_timeout(remaining)
                        .map_err(|e| PrinterError::Io(e.into()))?;
                    p.read(&mut byte)
                }
                Port::Lp(f) => match f.read(&mut byte) {
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(2));
                        continue;
                    }
                    other => other,
                },
            };
            match res {
                Ok(1) if escpos::is_status_byte(byte[0]) => return Ok(byte[0]),
                Ok(1) => debug!("printer: ignored byte {:#04x}", byte[0]),
                Ok(_) => thread::sleep(Duration::from_millis(2)),
                Err(e) if e.kind() == ErrorKind::TimedOut => return Err(PrinterError::NoReply),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Queries DLE EOT 1, 2 and 4; the first reply may wait until `first_deadline`.
    fn query(&mut self, first_deadline: Instant) -> Result<PrinterStatus, PrinterError> {
        self.discard_input();
        let mut status = PrinterStatus::default();
        let mut deadline = first_deadline;
        for kind in [
            StatusKind::Printer,
            StatusKind::OfflineCause,
            StatusKind::Paper,
        ] {
            self.write_all(&escpos::status_query(kind), deadline)?;
            let byte = self.read_status_byte(deadline)?;
            escpos::apply_status(kind, byte, &mut status);
            deadline = Instant::now() + self.cfg.reply_timeout;
        }
        Ok(status)
    }
}

impl ReceiptPrinter for EscPosPrinter {
    fn status(&mut self) -> Result<PrinterStatus, PrinterError> {
        self.query(Instant::now() + self.cfg.reply_timeout)
    }

    fn print(&mut self, job: &PrintJob) -> Result<PrintOutcome, PrinterError> {
        let started = Instant::now();
        let before = self.status()?;
        if !before.can_print() {
            info!("printer not ready: {before}");
            return Err(PrinterError::NotReady(before));
        }
        self.tx.clear();
        let n_substituted = escpos::encode_job(job, self.cfg.qr, &mut self.tx);
        if n_substituted > 0 {
            warn!("printer: {n_substituted} characters outside the printer's character set substituted");
        }
        let tx = std::mem::take(&mut self.tx);
        // The job drains at line speed before the status replies come back.
        let wire = wire_time(tx.len(), self.cfg.baud);
        let deadline = Instant::now() + wire * 2 + self.cfg.reply_timeout * 4;
        let res = self.write_all(&tx, deadline);
        self.tx = tx;
        res?;
        let after = self.query(deadline)?;
        debug!(
            "printed {} bytes in {:?}, status {after}",
            self.tx.len(),
            started.elapsed()
        );
        if after.can_print() {
            Ok(PrintOutcome::Printed { status: after })
        } else {
            warn!("printer stopped during the job: {after}");
            Ok(PrintOutcome::Interrupted { status: after })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_device_is_absent() {
        let cfg = PrinterConfig {
            path: "/dev/kiosk/no-such-printer".into(),
            ..Default::default()
        };
        assert!(matches!(
            EscPosPrinter::open(cfg),
            Err(PrinterError::Absent { .. })
        ));
    }

    #[test]
    fn wire_time_at_115200() {
        assert_eq!(wire_time(11_520, 115_200), Duration::from_secs(1));
    }
}
