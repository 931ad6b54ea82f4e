//! A receipt printer simulator on a pseudo-terminal (feature `sim`: for the
//! demo, the tests and the benchmark; never in the shipped kiosk).
//!
//! [`spawn`] creates a pty pair with `serialport::TTYPort::pair()`; a thread
//! owns the master side and behaves like an 80 mm ESC/POS printer: it
//! parses the subset [`crate::escpos`] sends (decoding GB18030 text),
//! answers DLE EOT from a scripted [`PrinterStatus`], consumes input no
//! faster than the line speed (115200 baud by default), and draws each cut
//! strip of paper to a [`SimPage`] with the same engine as
//! [`crate::PaperRenderer`]. As in the card reader simulator,
//! the slave end is kept open for the simulator's whole life so its path
//! stays valid between the printer's opens.
//!
//! [`SimControl`] scripts it: set the status, change it after a number of
//! printed lines (paper running out mid-receipt), fall silent, and collect
//! the printed pages.

use std::io::{self, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use image::{GrayImage, ImageFormat};
use log::debug;
use serialport::{SerialPort, TTYPort};

use crate::render::parse::Parser;
use crate::render::{paper, Engine, PrinterState};
use crate::{wire_time, PrinterStatus, FONT_PATH};

/// How long the simulator thread waits for input before checking for stop.
const TICK: Duration = Duration::from_millis(10);

/// One cut strip of paper.
#[derive(Clone, Debug)]
pub struct SimPage {
    /// The printed dots, 576 wide, black on white.
    pub image: GrayImage,
    /// False when the printer stopped (paper out, cover open) before the
    /// cut: the strip is incomplete.
    pub complete: bool,
}

impl SimPage {
    /// The page as PNG bytes.
    pub fn png(&self) -> Vec<u8> {
        to_png(&self.image)
    }

    /// Writes the page as a PNG file.
    pub fn save_png(&self, path: &Path) -> io::Result<()> {
        std::fs::write(path, self.png())
    }

    /// The contents of the QR codes found on the page.
    pub fn qr_codes(&self) -> Vec<String> {
        qr_codes(&self.image)
    }
}

/// The contents of the QR codes found in `img` (paper or a receipt picture).
pub fn qr_codes(img: &GrayImage) -> Vec<String> {
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
        img.width() as usize,
        img.height() as usize,
        |x, y| img.get_pixel(x as u32, y as u32).0[0],
    );
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|g| g.decode().ok().map(|(_, content)| content))
        .collect()
}

/// Settings of a simulator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimConfig {
    /// The line speed whose wire time is simulated (0: none).
    pub baud: u32,
    /// Whether the printer has the native QR commands; without them they
    /// are ignored, as on old printers.
    pub native_qr: bool,
    /// The font the paper is rendered with.
    pub font_path: PathBuf,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            baud: 115_200,
            native_qr: true,
            font_path: PathBuf::from(FONT_PATH),
        }
    }
}

/// Scripts a running simulator. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SimControl {
    state: Arc<Mutex<PrinterState>>,
}

fn lock(state: &Mutex<PrinterState>) -> MutexGuard<'_, PrinterState> {
    // A panic elsewhere must not take the simulator down with it.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl SimControl {
    fn lock(&self) -> MutexGuard<'_, PrinterState> {
        lock(&self.state)
    }

    /// Sets what status queries report (and whether it prints).
    pub fn set_status(&self, status: PrinterStatus) {
        self.lock().status = status;
    }

    /// The current scripted status.
    pub fn status(&self) -> PrinterStatus {
        self.lock().status
    }

    /// Switches to `status` after `n_lines` more printed lines (text lines,
    /// images and QR codes count one each): paper running out or the
    /// cover opened in the middle of a job.
    pub fn change_after_lines(&self, n_lines: u32, status: PrinterStatus) {
        self.lock().change_after = Some((n_lines, status));
    }

    /// No replies at all (powered off, or another device on the line).
    pub fn set_silent(&self, silent: bool) {
        self.lock().silent = silent;
    }

    /// Takes the pages cut so far.
    pub fn take_pages(&self) -> Vec<SimPage> {
        std::mem::take(&mut self.lock().pages)
            .into_iter()
            .map(|strip| SimPage {
                image: strip.image,
                complete: strip.complete,
            })
            .collect()
    }

    /// Bytes received so far.
    pub fn bytes_received(&self) -> u64 {
        self.lock().bytes_received
    }

    /// DLE EOT queries answered (or ignored while silent) so far.
    pub fn status_queries(&self) -> u64 {
        self.lock().status_queries
    }

    /// The text of the lines printed so far, as decoded from GB18030.
    pub fn take_text_lines(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().text_lines)
    }

    /// Lines printed so far.
    pub fn lines_printed(&self) -> u64 {
        self.lock().lines_printed
    }
}

/// The running simulator. Dropping it stops the thread and closes the pty.
#[derive(Debug)]
pub struct PrinterSim {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    path: PathBuf,
    // Keeps the slave side, and so its path, alive.
    _slave: TTYPort,
}

impl PrinterSim {
    /// The slave device path the kiosk opens.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PrinterSim {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts a ready printer simulator with the default settings.
pub fn spawn() -> io::Result<(PrinterSim, SimControl)> {
    spawn_with(SimConfig::default())
}

/// Starts a ready printer simulator. Fails when the pty or the font cannot
/// be opened.
pub fn spawn_with(cfg: SimConfig) -> io::Result<(PrinterSim, SimControl)> {
    let font = paper::load_font(&cfg.font_path)?;
    let (mut master, slave) = TTYPort::pair().map_err(io::Error::from)?;
    let path = slave
        .name()
        .map(PathBuf::from)
        .ok_or_else(|| io::Error::new(ErrorKind::NotFound, "pty slave has no path"))?;
    master.set_timeout(TICK).map_err(io::Error::from)?;
    let state = Arc::new(Mutex::new(PrinterState::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let state = Arc::clone(&state);
        let stop = Arc::clone(&stop);
        thread::Builder::new()
            .name("printer-sim".to_string())
            .spawn(move || {
                let mut engine = Engine::new(font, cfg.native_qr);
                run(&mut master, &mut engine, cfg.baud, &state, &stop)
            })?
    };
    let sim = PrinterSim {
        stop,
        thread: Some(thread),
        path,
        _slave: slave,
    };
    Ok((sim, SimControl { state }))
}

fn run(
    master: &mut TTYPort,
    engine: &mut Engine,
    baud: u32,
    state: &Mutex<PrinterState>,
    stop: &AtomicBool,
) {
    let mut parser = Parser::default();
    let mut buf = [0u8; 1024];
    let mut wire_clock = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        match master.read(&mut buf) {
            Ok(n) if n > 0 => {
                // The bytes could not have arrived faster than the line carries them.
                wire_clock = wire_clock.max(Instant::now()) + wire_time(n, baud);
                let wait = wire_clock.saturating_duration_since(Instant::now());
                if !wait.is_zero() {
                    thread::sleep(wait);
                }
                lock(state).bytes_received += n as u64;
                parser.push(&buf[..n]);
            }
            Err(e) if e.kind() == ErrorKind::TimedOut => continue,
            // EOF or an error (no slave open): wait and try again.
            _ => thread::sleep(TICK),
        }
        while let Some(op) = parser.next_op() {
            if let Some(reply) = engine.apply(op, &mut lock(state)) {
                if let Err(e) = master.write_all(&[reply]) {
                    debug!("printer sim: reply not sent: {e}");
                }
            }
        }
    }
}

/// Encodes a page as PNG.
pub fn to_png(img: &GrayImage) -> Vec<u8> {
    let mut out = io::Cursor::new(Vec::new());
    // Writing a valid in-memory grayscale image to a Vec cannot fail.
    let _ = img.write_to(&mut out, ImageFormat::Png);
    out.into_inner()
}
