//! A receipt printer simulator on a pseudo-terminal.
//!
//! [`spawn`] creates a pty pair with `serialport::TTYPort::pair()`; a thread
//! owns the master side and behaves like an 80 mm ESC/POS printer: it
//! parses the subset [`crate::escpos`] sends (decoding GB18030 text),
//! answers DLE EOT from a scripted [`PrinterStatus`], consumes input no
//! faster than the line speed (115200 baud by default), and renders each
//! cut strip of paper to a [`SimPage`]. As in the card reader simulator,
//! the slave end is kept open for the simulator's whole life so its path
//! stays valid between the printer's opens.
//!
//! [`SimControl`] scripts it: set the status, change it after a number of
//! printed lines (paper running out mid-receipt), fall silent, and collect
//! the printed pages.

mod paper;
mod parse;

use std::io::{self, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use ab_glyph::FontVec;
use image::GrayImage;
use log::debug;
use serialport::{SerialPort, TTYPort};

pub use paper::{to_png, FONT_PATH, PAPER_WIDTH_DOTS};
use paper::{Glyph, Paper, LINE_DOTS};
use parse::{Op, Parser};

use crate::escpos::{self, StatusKind};
use crate::{wire_time, Align, PrinterStatus, QueueTicket, Receipt, NEXT_STEP};

/// The query code of [`specimen_receipt`].
pub const SPECIMEN_QUERY_CODE: &str = "XF-Q7K2-M9PD";

fn specimen_time() -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 28)
        .and_then(|d| d.and_hms_opt(15, 10, 0))
        .unwrap_or_default()
}

/// A SPECIMEN receipt for tests, the technician's test print and the
/// benchmark; with `case_number` `None` it is the offline receipt.
pub fn specimen_receipt(case_number: Option<&str>) -> Receipt {
    Receipt {
        terminal_id: "SPECIMEN-T01".to_string(),
        hall_name: "样例镇信访接待中心".to_string(),
        registered_at: specimen_time(),
        case_number: case_number.map(str::to_string),
        local_reference: "L20261128-0007".to_string(),
        category: "劳动保障（拖欠工资）".to_string(),
        page_count: 3,
        id_number_masked: "****************2X".to_string(),
        query_code: SPECIMEN_QUERY_CODE.to_string(),
        next_step: NEXT_STEP.to_string(),
    }
}

/// A SPECIMEN queue ticket.
pub fn specimen_ticket() -> QueueTicket {
    QueueTicket {
        terminal_id: "SPECIMEN-T01".to_string(),
        hall_name: "样例镇信访接待中心".to_string(),
        number: "A023".to_string(),
        window: "3号窗口".to_string(),
        ahead: Some(4),
        issued_at: specimen_time(),
    }
}

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

#[derive(Debug, Default)]
struct SimState {
    status: PrinterStatus,
    silent: bool,
    /// Lines left before `change` applies.
    change_after: Option<(u32, PrinterStatus)>,
    pages: Vec<SimPage>,
    bytes_received: u64,
    status_queries: u64,
    lines_printed: u64,
    text_lines: Vec<String>,
}

/// Scripts a running simulator. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SimControl {
    state: Arc<Mutex<SimState>>,
}

fn lock(state: &Mutex<SimState>) -> MutexGuard<'_, SimState> {
    // A panic elsewhere must not take the simulator down with it.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl SimControl {
    fn lock(&self) -> MutexGuard<'_, SimState> {
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

/// Renders jobs to paper images in-process, through the same encoder,
/// parser and paper as the simulator: the picture of the receipt the
/// screen shows (QR included) when the printer cannot print.
pub struct PaperRenderer {
    engine: Engine,
}

impl std::fmt::Debug for PaperRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaperRenderer").finish_non_exhaustive()
    }
}

impl PaperRenderer {
    /// Loads the font (see [`FONT_PATH`]).
    pub fn new(font_path: &Path) -> io::Result<Self> {
        let cfg = SimConfig {
            font_path: font_path.to_path_buf(),
            ..SimConfig::default()
        };
        Ok(PaperRenderer {
            engine: Engine::new(paper::load_font(font_path)?, cfg),
        })
    }

    /// The paper `job` prints to (576 printable dots on 640-dot paper).
    pub fn render(&mut self, job: &crate::PrintJob) -> GrayImage {
        let mut bytes = Vec::new();
        escpos::encode_job(job, escpos::QrMode::Native, &mut bytes);
        let mut parser = Parser::default();
        parser.push(&bytes);
        let mut state = SimState::default();
        while let Some(op) = parser.next_op() {
            self.engine.apply(op, &mut state);
        }
        state
            .pages
            .pop()
            .map(|p| p.image)
            .unwrap_or_else(|| GrayImage::new(paper::PAPER_WIDTH_DOTS, 0))
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
    let state = Arc::new(Mutex::new(SimState::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let state = Arc::clone(&state);
        let stop = Arc::clone(&stop);
        thread::Builder::new()
            .name("printer-sim".to_string())
            .spawn(move || {
                let mut engine = Engine::new(font, cfg);
                run(&mut master, &mut engine, &state, &stop)
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

fn run(master: &mut TTYPort, engine: &mut Engine, state: &Mutex<SimState>, stop: &AtomicBool) {
    let mut parser = Parser::default();
    let mut buf = [0u8; 1024];
    let mut wire_clock = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        match master.read(&mut buf) {
            Ok(n) if n > 0 => {
                // The bytes could not have arrived faster than the line carries them.
                wire_clock = wire_clock.max(Instant::now()) + wire_time(n, engine.cfg.baud);
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

/// The printer's state machine: modes, line buffer, paper.
struct Engine {
    font: FontVec,
    cfg: SimConfig,
    paper: Paper,
    line: Vec<Glyph>,
    align: Align,
    bold: bool,
    size: (u8, u8),
    qr_data: Vec<u8>,
    qr_module: u8,
    /// Set when the printer stopped during the current strip.
    interrupted: bool,
}

impl Engine {
    fn new(font: FontVec, cfg: SimConfig) -> Self {
        Engine {
            font,
            cfg,
            paper: Paper::default(),
            line: Vec::new(),
            align: Align::Left,
            bold: false,
            size: (1, 1),
            qr_data: Vec::new(),
            qr_module: 3,
            interrupted: false,
        }
    }

    fn reset_modes(&mut self) {
        self.align = Align::Left;
        self.bold = false;
        self.size = (1, 1);
    }

    /// Whether the printer can put dots on paper now; counts the line.
    fn can_print(&mut self, s: &mut SimState) -> bool {
        if !s.status.can_print() {
            self.interrupted = true;
            return false;
        }
        if let Some((n, status)) = s.change_after {
            if n == 0 {
                s.status = status;
                s.change_after = None;
                return self.can_print(s);
            }
            s.change_after = Some((n - 1, status));
        }
        s.lines_printed += 1;
        true
    }

    fn flush_line(&mut self, s: &mut SimState) {
        let glyphs = std::mem::take(&mut self.line);
        if self.can_print(s) {
            s.text_lines.push(glyphs.iter().map(|g| g.ch).collect());
            self.paper.print_line(&self.font, &glyphs, self.align);
        }
    }

    fn apply(&mut self, op: Op, s: &mut SimState) -> Option<u8> {
        match op {
            Op::Status(n) => {
                s.status_queries += 1;
                if s.silent {
                    return None;
                }
                let kind = match n {
                    1 => StatusKind::Printer,
                    2 => StatusKind::OfflineCause,
                    4 => StatusKind::Paper,
                    // DLE EOT 3 (error cause): no errors beyond the status flag.
                    _ => return Some(0x12 | if s.status.error { 0x40 } else { 0 }),
                };
                return Some(escpos::status_reply(kind, &s.status));
            }
            Op::Init => {
                self.line.clear();
                self.reset_modes();
            }
            Op::Align(n) => {
                self.align = match n % 48 {
                    1 => Align::Center,
                    2 => Align::Right,
                    _ => Align::Left,
                }
            }
            Op::Bold(on) => self.bold = on,
            Op::Size(n) => self.size = ((n >> 4) + 1, (n & 0x0F) + 1),
            Op::Text(text) => {
                for ch in text.chars() {
                    let glyph = Glyph {
                        ch,
                        bold: self.bold,
                        w: self.size.0,
                        h: self.size.1,
                    };
                    let used: u32 = self.line.iter().map(|g| g.width_dots()).sum();
                    if used + glyph.width_dots() > escpos::PAPER_DOTS {
                        // The printer wraps a line that does not fit.
                        self.flush_line(s);
                    }
                    self.line.push(glyph);
                }
            }
            Op::LineFeed => self.flush_line(s),
            Op::Feed(n) => {
                if !self.line.is_empty() {
                    self.flush_line(s);
                }
                if s.status.can_print() {
                    self.paper.feed(u32::from(n) * LINE_DOTS);
                }
            }
            Op::FeedDots(n) => {
                if !self.line.is_empty() {
                    self.flush_line(s);
                }
                if s.status.can_print() {
                    self.paper.feed(u32::from(n));
                }
            }
            Op::Cut => {
                if !self.line.is_empty() {
                    self.flush_line(s);
                }
                let strip = std::mem::take(&mut self.paper);
                let interrupted = std::mem::take(&mut self.interrupted);
                if !strip.is_blank() {
                    s.pages.push(SimPage {
                        image: strip.finish(),
                        complete: !interrupted,
                    });
                }
            }
            Op::QrModule(n) => self.qr_module = n.clamp(1, 16),
            Op::QrStore(data) => self.qr_data = data,
            Op::QrPrint => {
                if !self.cfg.native_qr {
                    return None;
                }
                let text = String::from_utf8_lossy(&self.qr_data).into_owned();
                if let Some((width, dark)) = escpos::qr_modules(&text) {
                    if self.can_print(s) {
                        let m = u32::from(self.qr_module);
                        let side = width as u32 * m;
                        self.paper.print_image(side, side, self.align, |x, y| {
                            dark[(y / m) as usize * width + (x / m) as usize]
                        });
                    }
                }
            }
            Op::Raster {
                width_bytes,
                height,
                data,
            } => {
                if self.can_print(s) {
                    let width = u32::from(width_bytes) * 8;
                    let wb = usize::from(width_bytes);
                    self.paper
                        .print_image(width, u32::from(height), self.align, |x, y| {
                            let byte = data[y as usize * wb + (x / 8) as usize];
                            byte & (0x80 >> (x % 8)) != 0
                        });
                }
            }
            Op::Ignored => {}
        }
        None
    }
}
