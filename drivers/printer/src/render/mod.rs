//! The paper a job prints to, drawn in-process: an ESC/POS interpreter
//! (`parse`, `Engine`) that puts text lines, QR codes and raster images
//! on a strip of 80 mm paper ([`paper`]) with the Noto CJK font, the way the
//! printer's built-in 24-dot font would place them.
//!
//! [`PaperRenderer`] is what the kiosk shows on screen (the receipt with its
//! QR code) when the printer cannot print. The printer simulator (`sim`,
//! feature `sim`) runs the same engine on a pseudo-terminal.

pub(crate) mod paper;
pub(crate) mod parse;

use std::io;
use std::path::Path;

use ab_glyph::FontVec;
use image::GrayImage;

use paper::{Glyph, Paper, LINE_DOTS};
pub use paper::{FONT_PATH, PAPER_WIDTH_DOTS};
use parse::{Op, Parser};

use crate::escpos::{self, StatusKind};
use crate::{Align, PrinterStatus};

/// What the printer reports and what came out of it so far.
#[derive(Debug, Default)]
pub(crate) struct PrinterState {
    /// What status queries report (and whether it prints).
    pub status: PrinterStatus,
    /// No replies at all.
    pub silent: bool,
    /// Lines left before the status changes to the given one.
    pub change_after: Option<(u32, PrinterStatus)>,
    /// The strips cut so far.
    pub pages: Vec<Strip>,
    /// Bytes that came over the line (the simulator's count).
    #[cfg(feature = "sim")]
    pub bytes_received: u64,
    pub status_queries: u64,
    pub lines_printed: u64,
    /// The text of the printed lines, decoded.
    pub text_lines: Vec<String>,
}

/// One cut strip of paper.
#[derive(Debug)]
pub(crate) struct Strip {
    /// The printed dots on the whole paper width, black on white.
    pub image: GrayImage,
    /// False when the printer stopped before the cut (the simulator reports it).
    #[cfg_attr(not(feature = "sim"), allow(dead_code))]
    pub complete: bool,
}

/// Renders jobs to paper images in-process, through the same encoder,
/// parser and paper as the printer simulator (feature `sim`): the picture
/// of the receipt the screen shows (QR included) when the printer cannot
/// print.
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
        Ok(PaperRenderer {
            engine: Engine::new(paper::load_font(font_path)?, true),
        })
    }

    /// The paper `job` prints to (576 printable dots on 640-dot paper).
    pub fn render(&mut self, job: &crate::PrintJob) -> GrayImage {
        let mut bytes = Vec::new();
        escpos::encode_job(job, escpos::QrMode::Native, &mut bytes);
        let mut parser = Parser::default();
        parser.push(&bytes);
        let mut state = PrinterState::default();
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

/// The printer's state machine: modes, line buffer, paper.
pub(crate) struct Engine {
    font: FontVec,
    /// Whether the printer has the native QR commands (GS ( k).
    native_qr: bool,
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
    pub(crate) fn new(font: FontVec, native_qr: bool) -> Self {
        Engine {
            font,
            native_qr,
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
    fn can_print(&mut self, s: &mut PrinterState) -> bool {
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

    fn flush_line(&mut self, s: &mut PrinterState) {
        let glyphs = std::mem::take(&mut self.line);
        if self.can_print(s) {
            s.text_lines.push(glyphs.iter().map(|g| g.ch).collect());
            self.paper.print_line(&self.font, &glyphs, self.align);
        }
    }

    /// Carries out one command; returns the status byte to answer, if any.
    pub(crate) fn apply(&mut self, op: Op, s: &mut PrinterState) -> Option<u8> {
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
                    s.pages.push(Strip {
                        image: strip.finish(),
                        complete: !interrupted,
                    });
                }
            }
            Op::QrModule(n) => self.qr_module = n.clamp(1, 16),
            Op::QrStore(data) => self.qr_data = data,
            Op::QrPrint => {
                if !self.native_qr {
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
