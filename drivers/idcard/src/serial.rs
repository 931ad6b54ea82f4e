//! [`SerialReader`]: the reader protocol over a serial line.
//!
//! One poll is find card, select card, read text and photo (`30 01`) and,
//! unless turned off, read the appended address (`30 03`). Each reply is
//! read as its 7-byte header and then exactly LEN more bytes, against a
//! deadline per reply. After a bad frame or a timeout the input is drained
//! and flushed and the decoder reset, so the next poll starts clean.

use std::io::{ErrorKind, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use idcard_proto::{
    decode_appended_address, decode_text, encode_command, split_read_reply, Command, Decoder,
    ReplyFrame, Status,
};
use log::{debug, warn};
use serialport::{ClearBuffer, SerialPort};

use crate::{CardPoll, IdCardReader, Identity, ReaderError};

/// How long the line must stay quiet before a flush after an error.
const QUIET: Duration = Duration::from_millis(15);
/// Upper bound on draining a babbling line after an error.
const MAX_DRAIN: Duration = Duration::from_millis(200);

/// A SAM reader on a serial port.
pub struct SerialReader {
    port: Box<dyn SerialPort>,
    decoder: Decoder,
    timeout: Duration,
    read_appended_address: bool,
    tx: Vec<u8>,
    rx: Vec<u8>,
}

impl std::fmt::Debug for SerialReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerialReader")
            .field("port", &self.port.name())
            .field("timeout", &self.timeout)
            .field("read_appended_address", &self.read_appended_address)
            .finish_non_exhaustive()
    }
}

impl SerialReader {
    /// Opens the reader at `path` (8N1, no flow control). `timeout` bounds
    /// the wait for each reply; a full text and photo reply takes about
    /// 115 ms on the wire at 115200 baud, plus the card's own time.
    pub fn open(path: &Path, baud: u32, timeout: Duration) -> Result<Self, ReaderError> {
        let port = serialport::new(path.to_string_lossy(), baud)
            .data_bits(serialport::DataBits::Eight)
            .parity(serialport::Parity::None)
            .stop_bits(serialport::StopBits::One)
            .flow_control(serialport::FlowControl::None)
            .timeout(timeout)
            .open()
            .map_err(ReaderError::Open)?;
        Self::from_port(port, timeout)
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
            tx: Vec::with_capacity(16),
            rx: vec![0; 4096],
        })
    }

    /// Whether a poll also reads the appended address (`30 03`). On by
    /// default.
    pub fn set_read_appended_address(&mut self, on: bool) {
        self.read_appended_address = on;
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
                return res.map_err(ReaderError::BadFrame);
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
                Ok(0) => return Err(ReaderError::Io(ErrorKind::UnexpectedEof.into())),
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
        let frame = self.transact(Command::ReadTextPhoto)?;
        if frame.status != Status::Ok {
            return Err(ReaderError::Status(frame.status));
        }
        let parts = split_read_reply(&frame.data, false).map_err(ReaderError::Decode)?;
        let text = decode_text(&parts.text).map_err(ReaderError::Decode)?;
        let appended_address = if self.read_appended_address {
            self.read_appended()?
        } else {
            None
        };
        Ok(CardPoll::Card(Identity {
            text,
            photo_wlt: parts.photo,
            appended_address,
        }))
    }
}

impl IdCardReader for SerialReader {
    fn poll(&mut self) -> Result<CardPoll, ReaderError> {
        let started = Instant::now();
        // Anything already waiting is stale: a late reply to an earlier poll.
        self.decoder.reset();
        if let Err(e) = self.port.clear(ClearBuffer::Input) {
            warn!("cannot flush the reader input: {e}");
        }
        let res = self.poll_once();
        match &res {
            Ok(CardPoll::NoCard) => debug!("poll: no card in {:?}", started.elapsed()),
            Ok(CardPoll::Card(_)) => debug!("poll: card read in {:?}", started.elapsed()),
            Err(e) => debug!("poll: {e} after {:?}", started.elapsed()),
        }
        res
    }
}
