//! ID card reader: the IdCardReader trait, the serial transport, the reader loop and a reader simulator on a pseudo-terminal.
//!
//! [`SerialReader`] drives a SAM reader over a serial line with the codec of
//! `idcard-proto`; `sim` (feature `sim`, off by default and never in the
//! shipped kiosk) runs a reader simulator on the master side of a
//! pseudo-terminal so that the real transport can be tested without a
//! device. Both sides speak the same frames.
//!
//! Around any [`IdCardReader`], [`watch`] runs the reader loop the kiosk
//! needs: one read per card placement (debounced), "card removed", typed
//! reader errors, and reopening with backoff after an unplug, as a stream of
//! [`watch::ReaderEvent`]s. [`photo`] decodes the WLT photo through a vendor
//! library loaded at run time, when one is installed. [`dump`] decodes a
//! captured byte stream for technicians (`kiosk idcard decode`). The PC/SC
//! transport lives in the crate `kiosk-idcard-pcsc`, which implements the
//! same trait.
//!
//! Nothing in this crate logs or formats personal data: the card fields are
//! masked newtypes, [`Identity`] shows only sizes for the photo, and
//! [`ReaderError`] carries statuses and codec errors, never field values.

use std::fmt;

pub use idcard_proto::{
    Address, CardText, Date, DocType, FrameError, IdNumber, PersonName, Sex, Status, TextError,
    TextExtras, Validity,
};

pub mod dump;
mod error;
pub mod photo;
mod serial;
#[cfg(all(unix, feature = "sim"))]
pub mod sim;
pub mod watch;

pub use error::ReaderError;
pub use serial::{SerialOptions, SerialReader, AUTO_BAUD_RATES};

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
    /// The fields [`CardText`] does not carry (pass number, issue or
    /// renewal count).
    pub extras: TextExtras,
    /// The fingerprint block, read only when the reader is configured to
    /// (`30 10`); `Some(empty)` when asked for but the card has none.
    /// Biometric data: never store or upload it unless configured to.
    pub fingerprint: Option<Vec<u8>>,
}

impl Identity {
    /// The address to show and register: the appended address (the newer
    /// one, 追加住址) when the card has one, else the printed address.
    pub fn current_address(&self) -> &Address {
        self.appended_address.as_ref().unwrap_or(&self.text.address)
    }

    /// True when the card's validity ended before `today`. An expired card
    /// is still read and returned; the caller decides what to do with it.
    pub fn is_expired(&self, today: Date) -> bool {
        self.text.is_expired(today)
    }

    /// The same identity without the fingerprint block: what may be kept
    /// when storing fingerprints is not configured.
    pub fn without_fingerprint(mut self) -> Identity {
        self.fingerprint = None;
        self
    }
}

impl fmt::Debug for Identity {
    // The photo is biometric data: show its size only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("text", &self.text)
            .field("photo_wlt_len", &self.photo_wlt.len())
            .field("appended_address", &self.appended_address)
            .field("extras", &self.extras)
            .field("fingerprint_len", &self.fingerprint.as_ref().map(Vec::len))
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

/// What a reader can read from a card.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReaderKind {
    /// A reader with a security module (SAM): it reads the identity.
    Identity,
    /// A reader without a SAM: it reads only the card's physical identifier
    /// ([`IdCardReader::read_uid`]); [`IdCardReader::poll`] never returns a
    /// card.
    UidOnly,
}

/// The physical identifier of a card (ISO 14443-B PUPI or similar), read by
/// readers without a SAM. `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CardUid(pub Vec<u8>);

impl CardUid {
    /// The identifier as upper-case hex.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02X}")).collect()
    }
}

impl fmt::Debug for CardUid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardUid(<{} bytes>)", self.0.len())
    }
}

/// A device that reads identity cards.
///
/// Only [`poll`](IdCardReader::poll) is required; the other methods have
/// defaults that fit a SAM reader, so existing implementations keep
/// compiling. [`watch::watch`] drives any reader through this trait.
pub trait IdCardReader: Send {
    /// Looks for a card and reads it if present. After an error the next
    /// call starts afresh.
    fn poll(&mut self) -> Result<CardPoll, ReaderError>;

    /// What this reader can read. Default: the identity.
    fn kind(&self) -> ReaderKind {
        ReaderKind::Identity
    }

    /// Whether a card is in the field now, without reading it: used after a
    /// read to see the card leave. Default: a full poll.
    fn card_present(&mut self) -> Result<bool, ReaderError> {
        Ok(matches!(self.poll()?, CardPoll::Card(_)))
    }

    /// The physical identifier of the card in the field, `None` without a
    /// card. Default: not supported (`None`).
    fn read_uid(&mut self) -> Result<Option<CardUid>, ReaderError> {
        Ok(None)
    }
}

impl<R: IdCardReader + ?Sized> IdCardReader for Box<R> {
    fn poll(&mut self) -> Result<CardPoll, ReaderError> {
        (**self).poll()
    }
    fn kind(&self) -> ReaderKind {
        (**self).kind()
    }
    fn card_present(&mut self) -> Result<bool, ReaderError> {
        (**self).card_present()
    }
    fn read_uid(&mut self) -> Result<Option<CardUid>, ReaderError> {
        (**self).read_uid()
    }
}
