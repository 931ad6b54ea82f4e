//! [`SerialReader`]: the reader protocol over a serial line.
//!
//! Opening probes the line speed: the configured rate first, then the
//! others of [`AUTO_BAUD_RATES`], each with a `SAM status` request. One poll
//! is find card, select card, read text and photo (`30 01`, or `30 10` with
//! the fingerprint when configured) and, unless turned off, read the
//! appended address (`30 03`). Each reply is
//! read as its 7-byte header and then exactly LEN more bytes, against a
//! deadline per reply. After a bad frame or a timeout the input is drained
//! and flushed and the decoder reset, so the next poll starts clean.

use std::io::{ErrorKind, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use idcard_proto::{
    decode_appended_address, decode_text, decode_text_extras, encode_command, split_read_reply,
    Command, Decoder, ReplyFrame, Status,
};
use log::{debug, warn};
use serialport::{ClearBuffer, SerialPort};

use crate::{CardPoll, IdCardReader, Identity, ReaderError};

/// How long the line must stay quiet before a flush after an error.
const QUIET: Duration = Duration::from_millis(15);
/// Upper bound on draining a babbling line after an error.
const MAX_DRAIN: Duration = Duration::from_millis(200);
/// Upper bound on the wait for the reply to a line speed probe.
const PROBE_TIMEOUT: Duration = Duration::from_millis(300);

/// The line speeds tried on open, after the configured one: readers ship
/// at 115200 and some are left at 9600.
pub const AUTO_BAUD_RATES: [u32; 2] = [115_200, 9_600];

/// What a [`SerialReader`] reads and how it opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SerialOptions {
    /// Line speeds to try on open, in order.
    pub baud_rates: Vec<u32>,
    /// Bound on the wait for each reply.
    pub timeout: Duration,
    /// Read the appended address (`30 03`) after the text.
    pub read_appended_address: bool,
    /// Read the fingerprint too (`30 10` instead of `30 01`).
    pub read_fingerprint: bool,
}

impl SerialOptions {
    /// `baud` first, then the other [`AUTO_BAUD_RATES`]; appended address
    /// on, fingerprint off.
    pub fn new(baud: u32, timeout: Duration) -> SerialOptions {
        let mut baud_rates = vec![baud];
        baud_rates.extend(AUTO_BAUD_RATES.iter().filter(|&&b| b != baud));
        SerialOptions {
            baud_rates,
            timeout,
            read_appended_address: true,
            read_fingerprint: false,
        }
    }
}

/// A SAM reader on a serial port.
pub struct SerialReader {
    port: Box<dyn SerialPort>,
    decoder: Decoder,
    timeout: Duration,
    read_appended_address: bool,
    read_fingerprint: bool,
    tx: Vec<u8>,
    rx: Vec<u8>,
}

impl std::fmt::Debug for SerialReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerialReader")
            .field("port", &self.port.name())
            .field("timeout", &self.timeout)
            .field("read_appended_address", &self.read_appended_address)
            .field("read_fingerprint", &self.read_fingerprint)
            .finish_non_exhaustive()
    }
}

impl SerialReader {
    /// Opens the reader at `path` (8N1, no flow control), probing the line
    /// speed: `baud` first, then the other [`AUTO_BAUD_RATES`]. `timeout`
    /// bounds the wait for each reply; a full text and photo reply takes
    /// about 115 ms on the wire at 115200 baud, plus the card's own time.
    pub fn open(path: &Path, baud: u32, timeout: Duration) -> Result<Self, ReaderError> {
        Self::open_with(path, &SerialOptions::new(baud, timeout))
    }

    /// Opens the reader at `path` with `options`, probing each line speed
    /// of `options.baud_rates` with a `SAM status` request until one gets a
    /// well-formed reply.
    pub fn open_with(path: &Path, options: &SerialOptions) -> Result<Self, ReaderError> {
        let first = options
            .baud_rates
            .first()
            .copied()
            .unwrap_or(AUTO_BAUD_RATES[0]);
        let port = serialport::new(path.to_string_lossy(), first)
            .data_bits(serialport::DataBits::Eight)
            .parity(serialport::Parity::None)
            .stop_bits(serialport::StopBits::One)
            .flow_control(serialport::FlowControl::None)
            .timeout(options.timeout)
            .open()
            .map_err(ReaderError::Open)?;
        let mut reader = Self::from_port(port, options.timeout)?;
        reader.read_appended_address = options.read_appended_address;
        reader.read_fingerprint = options.read_fingerprint;
        reader.detect_baud(&options.baud_rates)?;
        Ok(reader)
    }

    /// Tries each rate until the reader answers `SAM status` with a
    /// well-formed frame; leaves the port at that rate.
    fn detect_baud(&mut self, rates: &[u32]) -> Result<u32, ReaderError> {
        let timeout = self.timeout;
        self.timeout = timeout.min(PROBE_TIMEOUT);
        let mut found = None;
        for &rate in rates {
            if let Err(e) = self.port.set_baud_rate(rate) {
                self.timeout = timeout;
                return Err(ReaderError::Io(e.into()));
            }
            self.decoder.reset();
            let _ = self.port.clear(ClearBuffer::All);
            match self.transact(Command::SamStatus) {
                Ok(_) | Err(ReaderError::Status(_)) => {
                    found = Some(rate);
                    break;
                }
                Err(e) if e.is_disconnect() => {
                    self.timeout = timeout;
                    return Err(e);
                }
                Err(e) => debug!("no answer at {rate} baud: {e}"),
            }
        }
        self.timeout = timeout;
        match found {
            Some(rate) => {
                debug!("reader answers at {rate} baud");
                Ok(rate)
            }
            None => Err(ReaderError::NoBaudRate {
                tried: rates.to_vec(),
            }),
        }
    }

    /// The line speed the port is set to.
    pub fn baud_rate(&self) -> Option<u32> {
        self.port.baud_rate().ok()
    }

    /// Wraps an already open port.
    pub fn from_port(port: Box<dyn SerialPort>, timeout: Duration) -> Result<Self, ReaderError> {
        port.clear(ClearBuffer::All)
            .map_err(|e| ReaderError::Io(e.into()))?;
        Ok(SerialReader {
            port,
            decoder: Decoder::new(),
            timeout,
            read_appended_address: true,
            read_fingerprint: false,
            tx: Vec::with_capacity(16),
            rx: vec![0; 4096],
        })
    }

    /// Whether a poll also reads the appended address (`30 03`). On by
    /// default.
    pub fn set_read_appended_address(&mut self, on: bool) {
        self.read_appended_address = on;
    }

    /// Whether a poll reads the fingerprint too (`30 10`). Off by default.
    pub fn set_read_fingerprint(&mut self, on: bool) {
        self.read_fingerprint = on;
    }

    /// Sends `command` and returns its reply, whatever its status.
    pub fn transact(&mut self, command: Command) -> Result<ReplyFrame, ReaderError> {
        let started = Instant::now();
        let res = self.exchange(command, started + self.timeout);
        match &res {
            Ok(frame) => debug!("{command}: {} in {:?}", frame.status, started.elapsed()),
            Err(e) => {
                debug!("{command}: {e} after {:?}", started.elapsed());
                if !matches!(e, ReaderError::Status(_)) {
                    self.recover();
                }
            }
        }
        res
    }

    fn exchange(&mut self, command: Command, deadline: Instant) -> Result<ReplyFrame, ReaderError> {
        self.tx.clear();
        encode_command(command, &mut self.tx);
        self.port
            .set_timeout(self.timeout)
            .map_err(|e| ReaderError::Io(e.into()))?;
        self.port.write_all(&self.tx)?;
        loop {
            if let Some(res) = self.decoder.next_frame() {
                match res {
                    Ok(frame) if is_stale(command, &frame) => {
                        debug!("{command}: dropped a late reply to an earlier request");
                        continue;
                    }
                    res => return res.map_err(ReaderError::BadFrame),
                }
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(ReaderError::Timeout);
            }
            self.port
                .set_timeout(remaining)
                .map_err(|e| ReaderError::Io(e.into()))?;
            // Header first, then exactly the rest of the frame.
            let want = self.decoder.bytes_needed().min(self.rx.len());
            match self.port.read(&mut self.rx[..want]) {
                Ok(0) => return Err(ReaderError::Disconnected),
                Ok(n) => self.decoder.push(&self.rx[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Drains the line until it is quiet (bounded), flushes the input and
    /// resets the decoder.
    fn recover(&mut self) {
        let pending = self.decoder.buffered();
        self.decoder.reset();
        let started = Instant::now();
        let mut drained = 0usize;
        if self.port.set_timeout(QUIET).is_ok() {
            while started.elapsed() < MAX_DRAIN {
                match self.port.read(&mut self.rx) {
                    Ok(n) if n > 0 => drained += n,
                    _ => break,
                }
            }
        }
        if let Err(e) = self.port.clear(ClearBuffer::Input) {
            warn!("cannot flush the reader input: {e}");
        }
        debug!("recovered: dropped {pending} pending and {drained} late bytes");
    }

    fn read_appended(&mut self) -> Result<Option<idcard_proto::Address>, ReaderError> {
        let frame = self.transact(Command::ReadAppendedAddress)?;
        match frame.status {
            Status::Ok => decode_appended_address(&frame.data).map_err(ReaderError::Decode),
            // No appended address, or a reader that does not know `30 03`.
            Status::NoContent | Status::CommandError => Ok(None),
            other => Err(ReaderError::Status(other)),
        }
    }

    fn poll_once(&mut self) -> Result<CardPoll, ReaderError> {
        match self.transact(Command::FindCard)?.status {
            Status::CardFound => {}
            Status::FindCardFailed => return Ok(CardPoll::NoCard),
            other => return Err(ReaderError::Status(other)),
        }
        match self.transact(Command::SelectCard)?.status {
            Status::Ok => {}
            Status::FindCardFailed | Status::SelectCardFailed => {
                debug!("card left before select");
                return Ok(CardPoll::NoCard);
            }
            other => return Err(ReaderError::Status(other)),
        }
        let command = if self.read_fingerprint {
            Command::ReadTextPhotoFingerprint
        } else {
            Command::ReadTextPhoto
        };
        let frame = self.transact(command)?;
        if frame.status != Status::Ok {
            return Err(ReaderError::Status(frame.status));
        }
        let parts =
            split_read_reply(&frame.data, self.read_fingerprint).map_err(ReaderError::Decode)?;
        let text = decode_text(&parts.text).map_err(ReaderError::Decode)?;
        let extras = decode_text_extras(&parts.text).map_err(ReaderError::Decode)?;
        let appended_address = if self.read_appended_address {
            self.read_appended()?
        } else {
            None
        };
        Ok(CardPoll::Card(Identity {
            text,
            photo_wlt: parts.photo,
            appended_address,
            extras,
            fingerprint: self.read_fingerprint.then_some(parts.fingerprint),
        }))
    }

    fn start_poll(&mut self) {
        // Anything already waiting is stale: a late reply to an earlier poll.
        self.decoder.reset();
        if let Err(e) = self.port.clear(ClearBuffer::Input) {
            warn!("cannot flush the reader input: {e}");
        }
    }
}

/// Whether `frame` cannot be the reply to `command`: a card read reply
/// (long data) to a short command, or a find-card reply to a read. Such a
/// frame is the late reply to an earlier request that timed out (a slow
/// SAM), and is skipped.
fn is_stale(command: Command, frame: &ReplyFrame) -> bool {
    /// More than any reply but a card read carries.
    const SHORT_REPLY_MAX: usize = 160;
    match command {
        Command::ReadTextPhoto | Command::ReadTextPhotoFingerprint => {
            frame.status == Status::CardFound
        }
        _ => frame.data.len() > SHORT_REPLY_MAX,
    }
}

impl IdCardReader for SerialReader {
    fn poll(&mut self) -> Result<CardPoll, ReaderError> {
        let started = Instant::now();
        self.start_poll();
        let res = self.poll_once();
        match &res {
            Ok(CardPoll::NoCard) => debug!("poll: no card in {:?}", started.elapsed()),
            Ok(CardPoll::Card(_)) => debug!("poll: card read in {:?}", started.elapsed()),
            Err(e) => debug!("poll: {e} after {:?}", started.elapsed()),
        }
        res
    }

    fn card_present(&mut self) -> Result<bool, ReaderError> {
        self.start_poll();
        match self.transact(Command::FindCard)?.status {
            Status::CardFound => Ok(true),
            Status::FindCardFailed => Ok(false),
            other => Err(ReaderError::Status(other)),
        }
    }
}
