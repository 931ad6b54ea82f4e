//! ID card reader over PC/SC, on the `pcsc` crate (libpcsclite, `pcscd`).
//!
//! [`PcscReader`] implements the same [`IdCardReader`] trait as the serial
//! transport, so [`kiosk_idcard::watch`] drives it the same way and the UI
//! sees the same events. It watches its reader with `SCardGetStatusChange`
//! (card inserted or removed, reader gone) and speaks one of two
//! [`Dialect`]s:
//!
//! - [`Dialect::VendorSam`]: readers with a built-in SAM that expose the
//!   card data through the vendor pseudo-APDU `FF B0 P1 00 00` (see
//!   [`apdu`]): `P1 = 0` returns the text block, `P1 = 1..=5` the photo in
//!   chunks.
//! - [`Dialect::UidOnly`]: plain contactless readers without a SAM. They
//!   cannot read the identity; [`IdCardReader::read_uid`] returns the card's
//!   physical identifier from `FF CA 00 00 00`.
//!
//! Adding a reader dialect: add a variant to [`Dialect`], its APDUs to
//! [`apdu`], and a branch in `PcscReader::read_identity`; the rest (card
//! watching, errors, events) is shared.
//!
//! `vicc` (feature `sim`, off by default and never in the shipped kiosk) is a
//! virtual card speaking the socket protocol of vsmartcard's `vpcd` driver,
//! so tests run this transport against a real `pcscd`.

use std::ffi::CString;
use std::time::Duration;

use idcard_proto::{decode_text, decode_text_extras, wire};
use kiosk_idcard::{CardPoll, CardUid, IdCardReader, Identity, ReaderError, ReaderKind};
use log::debug;
use pcsc::{Context, Protocols, ReaderState, Scope, ShareMode, State};

pub mod apdu;
#[cfg(feature = "sim")]
pub mod vicc;

/// How the reader exposes the card.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// Built-in SAM, vendor pseudo-APDU `FF B0 P1 00 00`.
    VendorSam,
    /// No SAM: the card's physical identifier only (`FF CA 00 00 00`).
    UidOnly,
}

/// Which reader and how to talk to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PcscOptions {
    /// Use the first reader whose name contains this; `None` takes the
    /// first reader.
    pub reader_name: Option<String>,
    /// The dialect.
    pub dialect: Dialect,
    /// How long one [`IdCardReader::poll`] waits for a card to arrive
    /// (`SCardGetStatusChange` timeout).
    pub wait: Duration,
}

impl Default for PcscOptions {
    fn default() -> Self {
        PcscOptions {
            reader_name: None,
            dialect: Dialect::VendorSam,
            wait: Duration::from_millis(200),
        }
    }
}

/// Why the PC/SC transport failed; wrapped in [`ReaderError::Transport`],
/// or [`ReaderError::Disconnected`] when the reader or the service is gone.
#[derive(Debug, thiserror::Error)]
pub enum PcscError {
    /// A PC/SC call failed.
    #[error("pc/sc {0}")]
    Pcsc(#[from] pcsc::Error),
    /// The card answered an APDU with a failure status word.
    #[error("card answered {sw:04x} to {what}")]
    StatusWord {
        /// SW1 SW2.
        sw: u16,
        /// Which request.
        what: &'static str,
    },
    /// No reader matches the configured name.
    #[error("no matching pc/sc reader")]
    NoReader,
}

fn to_reader_error(e: PcscError) -> ReaderError {
    use pcsc::Error as E;
    match e {
        PcscError::NoReader
        | PcscError::Pcsc(
            E::NoService
            | E::ServiceStopped
            | E::ReaderUnavailable
            | E::UnknownReader
            | E::NoReadersAvailable
            | E::InvalidHandle
            | E::CommError,
        ) => ReaderError::Disconnected,
        e => ReaderError::Transport(Box::new(e)),
    }
}

/// The first reader whose name matches `opts`, if any.
fn find_reader(ctx: &Context, opts: &PcscOptions) -> Result<Option<CString>, PcscError> {
    let readers = match ctx.list_readers_owned() {
        Ok(r) => r,
        Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    Ok(readers.into_iter().find(|r| match &opts.reader_name {
        Some(want) => r.to_string_lossy().contains(want.as_str()),
        None => true,
    }))
}

/// A card reader behind `pcscd`.
pub struct PcscReader {
    ctx: Context,
    reader: CString,
    opts: PcscOptions,
    state: ReaderState,
    rx: Vec<u8>,
}

impl std::fmt::Debug for PcscReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcscReader")
            .field("reader", &self.reader)
            .field("dialect", &self.opts.dialect)
            .finish_non_exhaustive()
    }
}

impl PcscReader {
    /// Connects to `pcscd` and picks the reader.
    pub fn open(opts: PcscOptions) -> Result<PcscReader, ReaderError> {
        Self::open_inner(opts).map_err(to_reader_error)
    }

    /// Like [`PcscReader::open`], but when no reader matches yet, waits up
    /// to `timeout` for one to be plugged in, watching the reader list with
    /// `SCardGetStatusChange` on the PnP notification pseudo-reader.
    pub fn open_waiting(opts: PcscOptions, timeout: Duration) -> Result<PcscReader, ReaderError> {
        Self::open_waiting_inner(opts, timeout).map_err(to_reader_error)
    }

    fn open_waiting_inner(opts: PcscOptions, timeout: Duration) -> Result<PcscReader, PcscError> {
        let ctx = Context::establish(Scope::User)?;
        let deadline = std::time::Instant::now() + timeout;
        let mut pnp = [ReaderState::new(pcsc::PNP_NOTIFICATION(), State::UNAWARE)];
        loop {
            if let Some(reader) = find_reader(&ctx, &opts)? {
                return Ok(Self::with_reader(ctx, reader, opts));
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(PcscError::NoReader);
            }
            pnp[0].sync_current_state();
            match ctx.get_status_change(left, &mut pnp) {
                Ok(()) | Err(pcsc::Error::Timeout) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn open_inner(opts: PcscOptions) -> Result<PcscReader, PcscError> {
        let ctx = Context::establish(Scope::User)?;
        let reader = find_reader(&ctx, &opts)?.ok_or(PcscError::NoReader)?;
        Ok(Self::with_reader(ctx, reader, opts))
    }

    fn with_reader(ctx: Context, reader: CString, opts: PcscOptions) -> PcscReader {
        debug!("pc/sc reader {reader:?}");
        let state = ReaderState::new(reader.clone(), State::UNAWARE);
        PcscReader {
            ctx,
            reader,
            opts,
            state,
            rx: vec![0; pcsc::MAX_BUFFER_SIZE_EXTENDED],
        }
    }

    /// The reader's name.
    pub fn name(&self) -> String {
        self.reader.to_string_lossy().into_owned()
    }

    /// Waits up to `timeout` for the reader's state to change, then says
    /// whether a card is present. A reader that went away is an error.
    fn present(&mut self, timeout: Duration) -> Result<bool, PcscError> {
        self.state.sync_current_state();
        match self
            .ctx
            .get_status_change(timeout, std::slice::from_mut(&mut self.state))
        {
            Ok(()) | Err(pcsc::Error::Timeout) => {}
            Err(e) => return Err(e.into()),
        }
        let ev = self.state.event_state();
        if ev.intersects(State::UNKNOWN | State::UNAVAILABLE | State::IGNORE) {
            return Err(pcsc::Error::ReaderUnavailable.into());
        }
        Ok(ev.contains(State::PRESENT) && !ev.contains(State::MUTE))
    }

    fn connect(&self) -> Result<pcsc::Card, PcscError> {
        Ok(self
            .ctx
            .connect(&self.reader, ShareMode::Shared, Protocols::ANY)?)
    }

    /// Sends `apdu`, returns the response data without SW1 SW2, or the
    /// status word as an error.
    fn transmit(
        card: &pcsc::Card,
        rx: &mut [u8],
        apdu: &[u8],
        what: &'static str,
    ) -> Result<Vec<u8>, PcscError> {
        let resp = card.transmit(apdu, rx)?;
        let (data, sw) = apdu::split_sw(resp).ok_or(PcscError::StatusWord { sw: 0, what })?;
        if sw != apdu::SW_OK {
            return Err(PcscError::StatusWord { sw, what });
        }
        Ok(data.to_vec())
    }

    fn read_identity(&mut self) -> Result<Identity, ReaderError> {
        let card = self.connect().map_err(to_reader_error)?;
        let rx = &mut self.rx;
        let head = Self::transmit(&card, rx, &apdu::vendor_read(0), "read text")
            .map_err(to_reader_error)?;
        let block = apdu::parse_text_response(&head).map_err(ReaderError::Decode)?;
        let text = decode_text(&block.text).map_err(ReaderError::Decode)?;
        let extras = decode_text_extras(&block.text).map_err(ReaderError::Decode)?;
        let mut photo = Vec::with_capacity(block.photo_len);
        for p1 in 1..=apdu::MAX_PHOTO_CHUNKS {
            if photo.len() >= block.photo_len {
                break;
            }
            let chunk = Self::transmit(&card, rx, &apdu::vendor_read(p1), "read photo")
                .map_err(to_reader_error)?;
            if chunk.is_empty() {
                break;
            }
            photo.extend_from_slice(&chunk);
        }
        photo.truncate(block.photo_len);
        if photo.len() != block.photo_len {
            debug!("photo short: {} of {} bytes", photo.len(), block.photo_len);
        }
        let _ = card.disconnect(pcsc::Disposition::LeaveCard);
        Ok(Identity {
            text,
            photo_wlt: photo,
            appended_address: None,
            extras,
            fingerprint: None,
        })
    }
}

impl IdCardReader for PcscReader {
    fn poll(&mut self) -> Result<CardPoll, ReaderError> {
        if self.opts.dialect == Dialect::UidOnly {
            // No SAM: there is never an identity to read.
            self.present(Duration::ZERO).map_err(to_reader_error)?;
            return Ok(CardPoll::NoCard);
        }
        if !self.present(self.opts.wait).map_err(to_reader_error)? {
            return Ok(CardPoll::NoCard);
        }
        match self.read_identity() {
            Ok(id) => Ok(CardPoll::Card(id)),
            // The card left between the status change and the read.
            Err(ReaderError::Transport(e))
                if matches!(
                    e.downcast_ref::<PcscError>(),
                    Some(PcscError::Pcsc(pcsc::Error::NoSmartcard | pcsc::Error::RemovedCard))
                ) =>
            {
                Ok(CardPoll::NoCard)
            }
            Err(e) => Err(e),
        }
    }

    fn kind(&self) -> ReaderKind {
        match self.opts.dialect {
            Dialect::VendorSam => ReaderKind::Identity,
            Dialect::UidOnly => ReaderKind::UidOnly,
        }
    }

    fn card_present(&mut self) -> Result<bool, ReaderError> {
        self.present(Duration::ZERO).map_err(to_reader_error)
    }

    fn read_uid(&mut self) -> Result<Option<CardUid>, ReaderError> {
        if !self.present(self.opts.wait).map_err(to_reader_error)? {
            return Ok(None);
        }
        let card = match self.connect() {
            Ok(c) => c,
            Err(PcscError::Pcsc(pcsc::Error::NoSmartcard | pcsc::Error::RemovedCard)) => {
                return Ok(None)
            }
            Err(e) => return Err(to_reader_error(e)),
        };
        let uid = Self::transmit(&card, &mut self.rx, &apdu::GET_UID, "get uid")
            .map_err(to_reader_error)?;
        let _ = card.disconnect(pcsc::Disposition::LeaveCard);
        Ok(Some(CardUid(uid)))
    }
}

/// The text block is 256 bytes on every known card.
const _: () = assert!(wire::TEXT_BLOCK_LEN == 256);
