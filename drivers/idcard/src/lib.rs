//! ID card reader: the IdCardReader trait, the serial transport and a reader simulator on a pseudo-terminal.
//!
//! [`SerialReader`] drives a SAM reader over a serial line with the codec of
//! `idcard-proto`; [`sim`] runs a reader simulator on the master side of a
//! pseudo-terminal so that the real transport can be tested without a
//! device. Both sides speak the same frames.
//!
//! Nothing in this crate logs or formats personal data: the card fields are
//! masked newtypes, [`Identity`] shows only sizes for the photo, and
//! [`ReaderError`] carries statuses and codec errors, never field values.

use std::fmt;

pub use idcard_proto::{
    Address, CardText, Date, DocType, FrameError, IdNumber, PersonName, Sex, Status, TextError,
    Validity,
};

mod error;
mod serial;
#[cfg(unix)]
pub mod sim;

pub use error::ReaderError;
pub use serial::SerialReader;

/// Everything read from a card.
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    /// The decoded text block.
    pub text: CardText,
    /// The compressed WLT photo, kept as read (decoding needs the vendor
    /// library).
    pub photo_wlt: Vec<u8>,
    /// The newer address from the appended block (追加住址), if any.
    pub appended_address: Option<Address>,
}

impl fmt::Debug for Identity {
    // The photo is biometric data: show its size only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("text", &self.text)
            .field("photo_wlt_len", &self.photo_wlt.len())
            .field("appended_address", &self.appended_address)
            .finish()
    }
}

/// The outcome of one poll.
// Polls happen a few times a second at most; boxing the card would only make
// matching on it clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CardPoll {
    /// No card on the reader (or it left before it could be read).
    NoCard,
    /// A card was read.
    Card(Identity),
}

/// A device that reads identity cards.
pub trait IdCardReader: Send {
    /// Looks for a card and reads it if present. After an error the next
    /// call starts afresh.
    fn poll(&mut self) -> Result<CardPoll, ReaderError>;
}
