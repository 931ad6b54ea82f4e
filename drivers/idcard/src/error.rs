//! The error type of the card reader transport.

use idcard_proto::{FrameError, Status, TextError};

/// Why a poll failed. The `Display` text never holds personal data.
#[derive(Debug, thiserror::Error)]
pub enum ReaderError {
    /// The serial port could not be opened.
    #[error("cannot open the reader port")]
    Open(#[source] serialport::Error),
    /// Reading or writing the serial port failed.
    #[error("serial i/o failed")]
    Io(#[source] std::io::Error),
    /// The reader did not send a complete reply in time.
    #[error("no reply from the reader in time")]
    Timeout,
    /// The reply frame was rejected by the decoder.
    #[error("bad reply frame")]
    BadFrame(#[source] FrameError),
    /// The reader answered with a failure status.
    #[error("reader returned {0}")]
    Status(Status),
    /// The card data could not be decoded.
    #[error("card data unreadable")]
    Decode(#[source] TextError),
}

impl From<std::io::Error> for ReaderError {
    fn from(e: std::io::Error) -> ReaderError {
        if e.kind() == std::io::ErrorKind::TimedOut {
            ReaderError::Timeout
        } else {
            ReaderError::Io(e)
        }
    }
}
