//! A reader simulator speaking the real protocol over a pseudo-terminal.
//!
//! [`spawn`] creates a pty pair with `serialport::TTYPort::pair()`. A thread
//! owns the master side and answers requests like a SAM reader; the kiosk
//! opens the slave path with [`crate::SerialReader::open`], exactly as it
//! would open `/dev/kiosk/idcard`.
//!
//! The slave end returned by `pair()` is kept open inside [`ReaderSim`] for
//! its whole life. Without it the path would vanish (a pty slave exists only
//! while the master is open) and, between the reader's opens, the master
//! would read `EIO`. Opening the slave path a second time works: `pair()`
//! does not set `TIOCEXCL` on its own slave fd, so the reader's open (which
//! sets it, plus an exclusive `flock` on its own fd) succeeds, and it is
//! lifted again when the reader closes. The kept fd never reads, so it does
//! not steal the simulator's replies.
//!
//! [`SimControl`] scripts the simulator from the test: insert or remove a
//! card, inject a fault into the next reply, and count what was served.

use std::io::{self, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use idcard_proto::{
    birth_date_of, check_id_number, encode_appended_address, encode_read_reply, encode_reply,
    encode_text, wire, Address, CardText, Command, Date, Decoder, DocType, FrameError, IdNumber,
    PersonName, RequestFrame, Sex, Status, Validity,
};
use log::debug;
use serialport::{SerialPort, TTYPort};

/// The SPECIMEN ID number of [`SimCard::specimen`] (check character computed).
pub const SPECIMEN_ID_NUMBER: &str = "11010519491231002X";
/// The SPECIMEN name of [`SimCard::specimen`].
pub const SPECIMEN_NAME: &str = "测试样例";

/// How long the simulator thread waits for input before checking for stop.
const TICK: Duration = Duration::from_millis(10);

/// A card the simulator can hold.
#[derive(Clone, PartialEq, Eq)]
pub struct SimCard {
    /// The text block contents.
    pub text: CardText,
    /// The photo blob returned by `30 01`.
    pub photo_wlt: Vec<u8>,
}

impl std::fmt::Debug for SimCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimCard")
            .field("text", &self.text)
            .field("photo_wlt_len", &self.photo_wlt.len())
            .finish()
    }
}

impl SimCard {
    /// A resident card with SPECIMEN data: 测试样例, female, 汉, born
    /// 1949-12-31, ID 11010519491231002X, valid 2015-03-01 to 长期.
    pub fn specimen() -> SimCard {
        SimCard::specimen_with(SPECIMEN_NAME, SPECIMEN_ID_NUMBER)
    }

    /// The specimen card with another name and ID number. When the number
    /// is a valid GB 11643 number, the birth date and sex follow from it.
    pub fn specimen_with(name: &str, id_number: &str) -> SimCard {
        let mut birth = Date::new(1949, 12, 31);
        let mut sex = Sex::Female;
        if check_id_number(id_number).is_ok() {
            birth = birth_date_of(id_number).or(birth);
            let seq_last = id_number.as_bytes().get(16).copied().unwrap_or(b'0');
            sex = if (seq_last - b'0') % 2 == 1 {
                Sex::Male
            } else {
                Sex::Female
            };
        }
        let text = CardText {
            doc_type: DocType::Resident,
            name: PersonName::new(name),
            sex,
            ethnicity: Some("汉"),
            nationality: None,
            birth,
            address: Address::new("北京市西城区样例路1号样例小区2号楼3单元401室"),
            id_number: IdNumber::new(id_number),
            authority: "北京市公安局西城分局".to_string(),
            valid_from: Date::new(2015, 3, 1),
            valid_to: Some(Validity::LongTerm),
        };
        SimCard {
            text,
            photo_wlt: specimen_photo(),
        }
    }
}

/// 1024 synthetic bytes standing in for a WLT photo, marked SPECIMEN.
fn specimen_photo() -> Vec<u8> {
    let mut photo = b"SPECIMEN-WLT".to_vec();
    photo.extend((0..wire::PHOTO_LEN - photo.len()).map(|i| (i * 7 % 251) as u8));
    photo
}

/// A fault applied to the next reply only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SimFault {
    /// The reply's checksum byte is inverted.
    BadChecksum,
    /// Only the first half of the reply is sent.
    Truncated,
    /// Line noise with a false preamble and an absurd LEN replaces the reply.
    Garbage,
    /// No reply at all.
    Silence,
}

#[derive(Debug, Default)]
struct SimState {
    card: Option<SimCard>,
    selected: bool,
    appended_address: Option<String>,
    /// The fault and how many replies to let through before it.
    fault: Option<(SimFault, u64)>,
    remove_after: Option<u64>,
    reads_served: u64,
    replies_served: u64,
}

/// Scripts a running simulator. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SimControl {
    state: Arc<Mutex<SimState>>,
}

impl SimControl {
    fn lock(&self) -> MutexGuard<'_, SimState> {
        lock(&self.state)
    }

    /// Puts `card` on the reader (replacing any card).
    pub fn insert(&self, card: SimCard) {
        let mut s = self.lock();
        s.card = Some(card);
        s.selected = false;
        s.appended_address = None;
    }

    /// Takes the card away.
    pub fn remove(&self) {
        let mut s = self.lock();
        s.card = None;
        s.selected = false;
        s.remove_after = None;
    }

    /// Removes the card after `n_replies` more replies, to model a card
    /// pulled away in the middle of a poll.
    pub fn remove_after_replies(&self, n_replies: u64) {
        self.lock().remove_after = Some(n_replies);
    }

    /// Sets the appended address (`30 03`) of the current card.
    pub fn set_appended_address(&self, address: Option<&str>) {
        self.lock().appended_address = address.map(str::to_string);
    }

    /// Applies `fault` to the next reply.
    pub fn inject_fault(&self, fault: SimFault) {
        self.inject_fault_after(0, fault);
    }

    /// Applies `fault` to one reply, after `n_replies` good ones: with 2,
    /// a poll's find and select go through and its read reply is hit.
    pub fn inject_fault_after(&self, n_replies: u64, fault: SimFault) {
        self.lock().fault = Some((fault, n_replies));
    }

    /// Card reads (`30 01`, `30 10`) answered with data so far.
    pub fn reads_served(&self) -> u64 {
        self.lock().reads_served
    }

    /// Replies of any kind sent (or withheld by a fault) so far.
    pub fn replies_served(&self) -> u64 {
        self.lock().replies_served
    }
}

fn lock(state: &Mutex<SimState>) -> MutexGuard<'_, SimState> {
    // A panic elsewhere must not take the simulator down with it.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// The running simulator. Dropping it stops the thread and closes the pty.
#[derive(Debug)]
pub struct ReaderSim {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    path: PathBuf,
    // Keeps the slave side, and so its path, alive (see the module docs).
    _slave: TTYPort,
}

impl ReaderSim {
    /// The slave device path the kiosk opens.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ReaderSim {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts a simulator with no card. Returns it, its control and the slave
/// path to open with [`crate::SerialReader::open`].
pub fn spawn() -> io::Result<(ReaderSim, SimControl, PathBuf)> {
    let (mut master, slave) = TTYPort::pair().map_err(io::Error::from)?;
    let path = slave
        .name()
        .map(PathBuf::from)
        .ok_or_else(|| io::Error::new(ErrorKind::NotFound, "pty slave has no path"))?;
    master.set_timeout(TICK).map_err(io::Error::from)?;
    let state = Arc::new(Mutex::new(SimState::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let state = Arc::clone(&state);
        let stop = Arc::clone(&stop);
        thread::Builder::new()
            .name("idcard-sim".to_string())
            .spawn(move || run(&mut master, &state, &stop))?
    };
    let sim = ReaderSim {
        stop,
        thread: Some(thread),
        path: path.clone(),
        _slave: slave,
    };
    Ok((sim, SimControl { state }, path))
}

fn run(master: &mut TTYPort, state: &Mutex<SimState>, stop: &AtomicBool) {
    let mut decoder = Decoder::new();
    let mut buf = [0u8; 512];
    let mut reply = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        match master.read(&mut buf) {
            Ok(n) if n > 0 => decoder.push(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::TimedOut => continue,
            // EOF or an error (no slave open): wait and try again.
            _ => thread::sleep(TICK),
        }
        while let Some(request) = decoder.next_request() {
            reply.clear();
            let fault = answer(&mut lock(state), request, &mut reply);
            let bytes = apply_fault(fault, &mut reply);
            if !bytes.is_empty() {
                if let Err(e) = master.write_all(&bytes) {
                    debug!("sim: reply not sent: {e}");
                }
            }
        }
    }
}

/// Builds the reply to `request` into `out` and returns the fault to apply.
fn answer(
    s: &mut SimState,
    request: Result<RequestFrame, FrameError>,
    out: &mut Vec<u8>,
) -> Option<SimFault> {
    let command = match request {
        Ok(r) => r.command(),
        Err(FrameError::BadChecksum { .. }) => {
            encode_reply(Status::ChecksumError, &[], out);
            return finish(s, None);
        }
        Err(FrameError::BadLength { .. }) => {
            encode_reply(Status::LengthError, &[], out);
            return finish(s, None);
        }
        Err(FrameError::BadHeader { .. }) => None,
    };
    let Some(command) = command else {
        encode_reply(Status::CommandError, &[], out);
        return finish(s, None);
    };
    let has_card = s.card.is_some();
    match command {
        Command::ResetSam | Command::SamStatus | Command::SetBaud(_) => {
            encode_reply(Status::Ok, &[], out)
        }
        Command::ReadSamId => encode_reply(Status::Ok, b"SPECIMEN-SAM-ID\0", out),
        Command::FindCard if has_card => {
            s.selected = false;
            encode_reply(Status::CardFound, &[0; 4], out);
        }
        Command::FindCard => encode_reply(Status::FindCardFailed, &[], out),
        Command::SelectCard if has_card => {
            s.selected = true;
            encode_reply(Status::Ok, b"SPECIMEN", out);
        }
        Command::SelectCard => encode_reply(Status::SelectCardFailed, &[], out),
        Command::ReadTextPhoto | Command::ReadTextPhotoFingerprint => match &s.card {
            Some(card) if s.selected => {
                let text = encode_text(&card.text);
                let fingerprint: Option<&[u8]> =
                    (command == Command::ReadTextPhotoFingerprint).then_some(&[]);
                let data = encode_read_reply(&text, &card.photo_wlt, fingerprint);
                encode_reply(Status::Ok, &data, out);
                s.reads_served += 1;
            }
            _ => encode_reply(Status::ReadFailed, &[], out),
        },
        Command::ReadAppendedAddress => match (&s.card, &s.appended_address) {
            (Some(_), Some(addr)) if s.selected => {
                encode_reply(Status::Ok, &encode_appended_address(addr), out)
            }
            (Some(_), None) if s.selected => encode_reply(Status::NoContent, &[], out),
            _ => encode_reply(Status::ReadFailed, &[], out),
        },
    }
    finish(s, Some(command))
}

/// Counts the reply, applies a scheduled removal and takes the fault.
fn finish(s: &mut SimState, command: Option<Command>) -> Option<SimFault> {
    s.replies_served += 1;
    if let Some(n) = s.remove_after {
        if n <= 1 {
            s.card = None;
            s.selected = false;
            s.remove_after = None;
        } else {
            s.remove_after = Some(n - 1);
        }
    }
    if let Some(command) = command {
        debug!("sim: answered {command}");
    }
    match s.fault.take() {
        Some((fault, 0)) => Some(fault),
        Some((fault, n)) => {
            s.fault = Some((fault, n - 1));
            None
        }
        None => None,
    }
}

fn apply_fault(fault: Option<SimFault>, reply: &mut Vec<u8>) -> Vec<u8> {
    match fault {
        None => std::mem::take(reply),
        Some(SimFault::BadChecksum) => {
            if let Some(last) = reply.last_mut() {
                *last ^= 0xFF;
            }
            std::mem::take(reply)
        }
        Some(SimFault::Truncated) => reply[..reply.len() / 2].to_vec(),
        Some(SimFault::Garbage) => {
            let mut noise = vec![0x13, 0x37, 0xAA];
            noise.extend_from_slice(&wire::PREAMBLE);
            noise.extend_from_slice(&[0xFF, 0xFF]);
            noise.extend((0..24u8).map(|i| i.wrapping_mul(37)));
            noise
        }
        Some(SimFault::Silence) => Vec::new(),
    }
}
