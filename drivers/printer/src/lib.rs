//! Receipt printer: the ReceiptPrinter trait, ESC/POS over serial or USB, receipt and ticket templates, and a printer simulator on a pseudo-terminal.
//!
//! The flow is: a [`Receipt`], [`QueueTicket`] or [`NoticeSlip`] is filled into a
//! [`Template`] (TOML files under `templates/`, layouts as data) and becomes
//! a [`PrintJob`], a list of [`Block`]s. [`EscPosPrinter`] encodes the job
//! with [`escpos`] (GB18030 text, native QR or a raster fallback, a cut),
//! and asks the printer for its status (DLE EOT) before and after sending
//! it. [`PaperRenderer`] draws the paper a job prints to, for the screen when
//! the printer cannot print. `sim` (feature `sim`, off by default and never
//! in the shipped kiosk) is a printer on a pseudo-terminal that parses what
//! we send, answers status queries from a script and saves the paper as PNG.
//!
//! Nothing here logs receipt text: logs carry byte counts and statuses.

use std::fmt;

mod error;
pub mod escpos;
mod printer;
mod render;
#[cfg(all(unix, feature = "sim"))]
pub mod sim;
mod template;
mod worker;

pub use error::{PrinterError, TemplateError};
pub use printer::{wire_time, EscPosPrinter, PrinterConfig, DEFAULT_DEVICE};
pub use render::{PaperRenderer, FONT_PATH, PAPER_WIDTH_DOTS};
pub use template::{
    specimen_notice, specimen_receipt, specimen_ticket, NoticeSlip, QueueTicket, Receipt,
    Template, MAX_NOTICE_PRINT_CHARS, NEXT_STEP, QUEUED_NOTE, SPECIMEN_QUERY_CODE,
};
pub use worker::{Opener, PrintReport, PrintWorker};

/// What the printer reported through DLE EOT 1, 2 and 4.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PrinterStatus {
    /// The printer is offline (cover open, paper out, or an error).
    pub offline: bool,
    /// The cover is open.
    pub cover_open: bool,
    /// The roll is empty.
    pub paper_out: bool,
    /// The roll is nearly empty; printing still works.
    pub paper_near_end: bool,
    /// A cutter or other error stopped the printer.
    pub error: bool,
}

impl PrinterStatus {
    /// A printer with paper, cover shut, online.
    pub const READY: PrinterStatus = PrinterStatus {
        offline: false,
        cover_open: false,
        paper_out: false,
        paper_near_end: false,
        error: false,
    };

    /// True when a job can be printed now (paper near end still prints).
    pub fn can_print(&self) -> bool {
        !(self.offline || self.cover_open || self.paper_out || self.error)
    }

    /// A short message for the petitioner's screen and the technician
    /// screen, the most pressing condition first.
    pub fn message_zh(&self) -> &'static str {
        if self.paper_out {
            "打印机缺纸，请拍下屏幕上的回执"
        } else if self.cover_open {
            "打印机盖未关好，请拍下屏幕上的回执"
        } else if self.error || self.offline {
            "打印机故障，请拍下屏幕上的回执"
        } else if self.paper_near_end {
            "回执已打印，打印纸即将用完"
        } else {
            "回执已打印，请取走"
        }
    }

    /// True when staff should look at the printer soon.
    pub fn needs_attention(&self) -> bool {
        !self.can_print() || self.paper_near_end
    }
}

impl fmt::Display for PrinterStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.offline {
            parts.push("offline");
        }
        if self.cover_open {
            parts.push("cover open");
        }
        if self.paper_out {
            parts.push("paper out");
        }
        if self.paper_near_end {
            parts.push("paper near end");
        }
        if self.error {
            parts.push("error");
        }
        if parts.is_empty() {
            f.write_str("ready")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// A short message for the screen when a print did not happen or failed.
pub fn error_message_zh(err: &PrinterError) -> &'static str {
    match err {
        PrinterError::NotReady(status) => status.message_zh(),
        PrinterError::Absent { .. } | PrinterError::Open(_) | PrinterError::NoReply => {
            "打印机未连接，请拍下屏幕上的回执"
        }
        PrinterError::Io(_) => "打印机故障，请拍下屏幕上的回执",
    }
}

/// Horizontal alignment of a block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Align {
    /// Flush left (the default).
    #[default]
    Left,
    /// Centred.
    Center,
    /// Flush right.
    Right,
}

/// Character size: the ESC/POS width and height multipliers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Size {
    /// 1×1 (12×24 dots ASCII, 24×24 dots Chinese).
    #[default]
    Normal,
    /// Double height only.
    Tall,
    /// Double width and height.
    Double,
    /// Triple width and height.
    Huge,
    /// Quadruple width and height, for queue numbers.
    Giant,
}

impl Size {
    /// (width, height) multipliers.
    pub fn factors(self) -> (u8, u8) {
        match self {
            Size::Normal => (1, 1),
            Size::Tall => (1, 2),
            Size::Double => (2, 2),
            Size::Huge => (3, 3),
            Size::Giant => (4, 4),
        }
    }
}

/// One element of a printed document.
#[derive(Clone, PartialEq, Eq)]
pub enum Block {
    /// One line of text.
    Text {
        /// The text (any Unicode; unprintable characters are substituted).
        text: String,
        /// Alignment.
        align: Align,
        /// Emphasised (bold).
        bold: bool,
        /// Character size.
        size: Size,
    },
    /// A QR code.
    Qr {
        /// The encoded content.
        data: String,
        /// Module size in dots (1–16).
        module: u8,
        /// Alignment.
        align: Align,
    },
    /// A horizontal rule across the paper.
    Rule,
    /// Blank lines.
    Feed(u8),
}

impl fmt::Debug for Block {
    // Text may be personal (masked ID, hall-specific notes): show sizes only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Block::Text {
                text,
                align,
                bold,
                size,
            } => write!(
                f,
                "Text({} chars, {align:?}, bold={bold}, {size:?})",
                text.chars().count()
            ),
            Block::Qr { data, module, .. } => {
                write!(f, "Qr({} bytes, module {module})", data.len())
            }
            Block::Rule => f.write_str("Rule"),
            Block::Feed(n) => write!(f, "Feed({n})"),
        }
    }
}

/// A document ready to print: blocks, then a cut.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrintJob {
    /// The blocks top to bottom.
    pub blocks: Vec<Block>,
}

/// How a job went when it was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrintOutcome {
    /// Printed and cut; `status` is the state after (paper may be near end).
    Printed {
        /// The status after printing.
        status: PrinterStatus,
    },
    /// The job was sent but the printer stopped during it (paper ran out,
    /// cover opened): the paper is incomplete, reprint once fixed.
    Interrupted {
        /// The status after printing.
        status: PrinterStatus,
    },
}

impl PrintOutcome {
    /// The status after the job.
    pub fn status(&self) -> PrinterStatus {
        match self {
            PrintOutcome::Printed { status } | PrintOutcome::Interrupted { status } => *status,
        }
    }

    /// The message for the screen.
    pub fn message_zh(&self) -> &'static str {
        self.status().message_zh()
    }
}

impl fmt::Display for PrintOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrintOutcome::Printed { status } => write!(f, "printed ({status})"),
            PrintOutcome::Interrupted { status } => write!(f, "interrupted ({status})"),
        }
    }
}

/// A receipt printer.
pub trait ReceiptPrinter: Send {
    /// Asks the printer for its state.
    fn status(&mut self) -> Result<PrinterStatus, PrinterError>;
    /// Checks the state, prints `job` and cuts, then checks again. Returns
    /// [`PrinterError::NotReady`] without sending anything when the printer
    /// cannot print.
    fn print(&mut self, job: &PrintJob) -> Result<PrintOutcome, PrinterError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_messages_put_the_worst_first() {
        let s = PrinterStatus {
            paper_out: true,
            cover_open: true,
            offline: true,
            ..Default::default()
        };
        assert!(s.message_zh().contains("缺纸"));
        let s = PrinterStatus {
            cover_open: true,
            offline: true,
            ..Default::default()
        };
        assert!(s.message_zh().contains("盖"));
        assert!(!s.can_print());
        let s = PrinterStatus {
            paper_near_end: true,
            ..Default::default()
        };
        assert!(s.can_print() && s.needs_attention());
        assert_eq!(PrinterStatus::READY.to_string(), "ready");
    }

    #[test]
    fn block_debug_hides_text() {
        let b = Block::Text {
            text: "身份证号 110105".into(),
            align: Align::Left,
            bold: false,
            size: Size::Normal,
        };
        assert!(!format!("{b:?}").contains("110105"));
    }
}
