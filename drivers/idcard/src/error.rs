//! The error type of the card reader transports.

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
    /// The reader went away (unplugged, or its service stopped).
    #[error("reader disconnected")]
    Disconnected,
    /// The reader answered at none of the line speeds tried.
    #[error("reader does not answer at {tried:?} baud")]
    NoBaudRate {
        /// The rates tried, in order.
        tried: Vec<u32>,
    },
    /// A transport other than serial (PC/SC) failed.
    #[error("reader transport failed")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ReaderError {
    /// True when the reader itself is gone or unusable, rather than one
    /// exchange having failed: the reader must be reopened.
    pub fn is_disconnect(&self) -> bool {
        match self {
            ReaderError::Disconnected | ReaderError::Open(_) => true,
            ReaderError::Io(e) => io_is_disconnect(e),
            _ => false,
        }
    }
}

/// `EIO`, `ENXIO`, `ENODEV`, a hang-up or end of file: what a serial
/// device (or a pty whose other side closed) gives once it is unplugged.
pub(crate) fn io_is_disconnect(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.raw_os_error(), Some(5 | 6 | 19))
        || matches!(
            e.kind(),
            BrokenPipe | UnexpectedEof | NotFound | NotConnected
        )
}

impl From<std::io::Error> for ReaderError {
    fn from(e: std::io::Error) -> ReaderError {
        if e.kind() == std::io::ErrorKind::TimedOut {
            ReaderError::Timeout
        } else if io_is_disconnect(&e) {
            ReaderError::Disconnected
        } else {
            ReaderError::Io(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unplug_errors_are_disconnects() {
        let eio = ReaderError::from(std::io::Error::from_raw_os_error(5));
        assert!(matches!(eio, ReaderError::Disconnected));
        assert!(eio.is_disconnect());
        let hup = ReaderError::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(hup.is_disconnect());
        assert!(matches!(
            ReaderError::from(std::io::Error::from(std::io::ErrorKind::TimedOut)),
            ReaderError::Timeout
        ));
        assert!(!ReaderError::Timeout.is_disconnect());
        assert!(!ReaderError::Status(Status::ReadFailed).is_disconnect());
        assert_eq!(ReaderError::Disconnected.to_string(), "reader disconnected");
    }
}
