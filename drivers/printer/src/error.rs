//! [`PrinterError`]: why a status query or a print did not happen.

use std::path::PathBuf;

use crate::PrinterStatus;

/// What went wrong with the printer. No variant carries receipt text.
#[derive(Debug, thiserror::Error)]
pub enum PrinterError {
    /// The device path does not exist: no printer is connected.
    #[error("no printer at {path}")]
    Absent {
        /// The configured device path.
        path: PathBuf,
    },
    /// The device exists but could not be opened.
    #[error("cannot open the printer")]
    Open(#[source] serialport::Error),
    /// The printer did not answer a status query in time (off, or a
    /// different device on the line).
    #[error("printer does not answer status queries")]
    NoReply,
    /// The printer reported a state in which it cannot print; nothing was
    /// sent.
    #[error("printer not ready: {0}")]
    NotReady(PrinterStatus),
    /// Reading or writing the line failed.
    #[error("printer i/o failed")]
    Io(#[from] std::io::Error),
}

/// Why a template could not be loaded or filled.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The TOML is malformed or has unknown keys.
    #[error("bad template")]
    Parse(#[from] toml::de::Error),
    /// A `{field}` names no field of the document.
    #[error("template names unknown field {0}")]
    UnknownField(String),
    /// A field that must not carry personal data looks like an ID or phone
    /// number (the QR code's query code).
    #[error("{0} looks like an id or phone number")]
    LooksPersonal(&'static str),
    /// A `{` without its `}`.
    #[error("unclosed field in template line {0}")]
    Unclosed(usize),
}
