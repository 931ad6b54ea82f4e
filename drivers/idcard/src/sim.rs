//! A reader simulator speaking the real protocol over a pseudo-terminal.
//!
//! [`spawn`] creates a pty pair with `serialport::TTYPort::pair()`. A thread
//! owns the master side and answers requests like a SAM reader; the kiosk
//! opens the slave path with [`crate::SerialReader::open`], exactly as it
//! would open `/dev/kiosk/idcard`.
//!
//! The slave end returned by `pair()` is kept open by the simulator thread
//! for as long as the pair is plugged in. Without it the path would vanish (a pty slave exists only
//! while the master is open) and, between the reader's opens, the master
//! would read `EIO`. Opening the slave path a second time works: `pair()`
//! does not set `TIOCEXCL` on its own slave fd, so the reader's open (which
//! sets it, plus an exclusive `flock` on its own fd) succeeds, and it is
//! lifted again when the reader closes. The kept fd never reads, so it does
//! not steal the simulator's replies.
//!
//! The slave is reached through a stable symbolic link (like the udev link
//! `/dev/kiosk/idcard`) in a private temporary directory: [`spawn`] returns
//! that path. [`SimControl::unplug`] closes the pty pair, as pulling the USB
//! cable does, and removes the link; [`SimControl::replug`] opens a new pair
//! and points the link at it, so a reader that reopens the same path finds
//! the device again.
//!
//! [`SimControl`] scripts the simulator from the test: insert or remove a
//! card, inject a fault into the next reply ([`SimFault`]: garbage,
//! truncated frame, wrong checksum, a failure status such as 41/80/81, card
//! removed mid-read, silence, unplug, slow SAM), set the SAM's processing
//! time and the line speed, and count what was served. Replies are paced at
//! the simulated line speed (10 bits a byte), so a `30 01` reply takes its
//! real 113 ms at 115200 baud. A request arriving while the pty is set to
//! another speed than the simulated reader's is answered with line noise,
//! as a real line at the wrong speed would be.

use std::io::{self, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use idcard_proto::{
    birth_date_of, check_id_number, encode_appended_address, encode_read_reply, encode_reply,
    encode_text, encode_text_extras, wire, Address, CardText, Command, Date, Decoder, DocType,
    FrameError, IdNumber, PersonName, RequestFrame, Sex, Status, TextExtras, Validity,
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
    /// Fields outside [`CardText`] (pass number, issue or renewal count).
    pub extras: TextExtras,
    /// The fingerprint block returned by `30 10`; `None` for a card
    /// without one (the reply then carries a zero-length block).
    pub fingerprint: Option<Vec<u8>>,
}

impl std::fmt::Debug for SimCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimCard")
            .field("text", &self.text)
            .field("photo_wlt_len", &self.photo_wlt.len())
            .field("extras", &self.extras)
            .field("fingerprint_len", &self.fingerprint.as_ref().map(Vec::len))
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
            extras: TextExtras::default(),
            fingerprint: None,
        }
    }

    /// A SPECIMEN Hong Kong/Macao/Taiwan residence permit (`J`): number
    /// 810000199003070015 (Hong Kong prefix), pass number H00000001, issue
    /// count 1, valid 2019-01-01 to 2024-01-01 (so expired today).
    pub fn hmt_permit() -> SimCard {
        let mut card = SimCard::specimen_with("样例港", "810000199003070015");
        card.text.doc_type = DocType::HmtPermit;
        card.text.ethnicity = None;
        card.text.address = Address::new("广东省深圳市福田区样例路2号");
        card.text.authority = "深圳市公安局".to_string();
        card.text.valid_from = Date::new(2019, 1, 1);
        card.text.valid_to = Date::new(2024, 1, 1).map(Validity::Until);
        card.extras.pass_number = Some(IdNumber::new("H00000001"));
        card.extras.issue_count = Some(1);
        card
    }

    /// A SPECIMEN 2017 foreign permanent resident card (`I`): SPECIMEN,
    /// SAMPLE / 样例外, CAN, number CAN110090010105, valid 2017-06-01 to
    /// 2027-06-01.
    pub fn foreign_2017() -> SimCard {
        let mut card = SimCard::specimen();
        card.text = CardText {
            doc_type: DocType::ForeignPermanent2017,
            name: PersonName::new("SPECIMEN, SAMPLE / 样例外"),
            sex: Sex::Male,
            ethnicity: None,
            nationality: Some("CAN".to_string()),
            birth: Date::new(1990, 1, 5),
            address: Address::default(),
            id_number: IdNumber::new("CAN110090010105"),
            authority: "1500".to_string(),
            valid_from: Date::new(2017, 6, 1),
            valid_to: Date::new(2027, 6, 1).map(Validity::Until),
        };
        card.extras.card_version = Some("01".to_string());
        card
    }

    /// A SPECIMEN 2023 foreign permanent resident card (`Y`) with an
    /// English name long enough to use both of its fields, renewal count 0,
    /// valid 2023-12-01 to 2033-12-01.
    pub fn foreign_2023() -> SimCard {
        let mut card = SimCard::specimen();
        card.text = CardText {
            doc_type: DocType::ForeignPermanent2023,
            name: PersonName::new("SPECIMENSPECIMEN, SAMPLE SAMPLE SAMPLE TEST / 样例新"),
            sex: Sex::Female,
            ethnicity: None,
            nationality: Some("DEU".to_string()),
            birth: Date::new(1985, 5, 20),
            address: Address::default(),
            id_number: IdNumber::new("932760198505200026"),
            authority: "国家移民管理局".to_string(),
            valid_from: Date::new(2023, 12, 1),
            valid_to: Date::new(2033, 12, 1).map(Validity::Until),
        };
        card.extras.renewal_count = Some(0);
        card
    }

    /// The specimen resident card, expired: valid 2005-03-01 to 2015-03-01.
    pub fn expired() -> SimCard {
        let mut card = SimCard::specimen();
        card.text.valid_from = Date::new(2005, 3, 1);
        card.text.valid_to = Date::new(2015, 3, 1).map(Validity::Until);
        card
    }

    /// This card with a SPECIMEN fingerprint block of `len` bytes (512 or
    /// 1024 on real cards).
    pub fn with_fingerprint(mut self, len: usize) -> SimCard {
        self.fingerprint = Some((0..len).map(|i| (i * 13 % 253) as u8).collect());
        self
    }

    /// The scripted card library: every card type, expired, 长期, with and
    /// without a fingerprint, by name.
    pub fn library() -> Vec<(&'static str, SimCard)> {
        vec![
            ("resident-long-term", SimCard::specimen()),
            ("resident-expired", SimCard::expired()),
            (
                "resident-fingerprint-1024",
                SimCard::specimen().with_fingerprint(1024),
            ),
            (
                "resident-fingerprint-512",
                SimCard::specimen().with_fingerprint(512),
            ),
            ("hmt-permit", SimCard::hmt_permit()),
            ("foreign-2017", SimCard::foreign_2017()),
            ("foreign-2023", SimCard::foreign_2023()),
        ]
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
    /// A bare reply with this status replaces the reply (41 read failed,
    /// 80 no card, 81 select failed, ...).
    Status(Status),
    /// The card leaves during the read: it is removed and the reply is a
    /// bare `41` (read failed).
    RemovedMidRead,
    /// The reply is not sent and the pty pair is closed, as when the USB
    /// cable is pulled. [`SimControl::replug`] brings the reader back.
    Unplug,
    /// The SAM takes this long before the reply starts.
    SlowSam(Duration),
    /// Pseudo-random bytes (from `seed`, up to `max_len` of them, often
    /// holding a preamble) replace the reply: fuzzing through the real
    /// transport.
    Noise {
        /// Seed of the byte generator.
        seed: u64,
        /// Most bytes sent.
        max_len: u16,
    },
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
    /// Extra time before a read reply (`30 xx`), the SAM's own work.
    sam_delay: Duration,
    /// The simulated line speed; `None` sends replies at once.
    baud: Option<u32>,
    /// A rate set by `60 xx`, taken after its reply is sent.
    pending_baud: Option<u32>,
    plugged: bool,
    unplug_requested: bool,
    replug_requested: bool,
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

    /// Sets the time the SAM takes before each read reply (`30 xx`).
    pub fn set_sam_delay(&self, delay: Duration) {
        self.lock().sam_delay = delay;
    }

    /// Sets the simulated reader's line speed (replies are paced at it, and
    /// a pty set to another speed gets noise). `None` sends replies at once.
    pub fn set_baud(&self, baud: Option<u32>) {
        self.lock().baud = baud;
    }

    /// Closes the pty pair and removes the link, as pulling the cable does.
    pub fn unplug(&self) {
        self.lock().unplug_requested = true;
    }

    /// Opens a new pty pair behind the same link path.
    pub fn replug(&self) {
        self.lock().replug_requested = true;
    }

    /// Whether the simulated reader is plugged in now.
    pub fn is_plugged(&self) -> bool {
        self.lock().plugged
    }

    /// Waits up to `timeout` for a pending unplug or replug to take effect;
    /// returns whether it did.
    pub fn wait_plugged(&self, plugged: bool, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.is_plugged() == plugged {
                return true;
            }
            thread::sleep(Duration::from_millis(5));
        }
        self.is_plugged() == plugged
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

/// The running simulator. Dropping it stops the thread, closes the pty and
/// removes the link.
#[derive(Debug)]
pub struct ReaderSim {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    path: PathBuf,
    dir: PathBuf,
}

impl ReaderSim {
    /// The stable device path the kiosk opens (a link to the pty slave).
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
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts a simulator with no card, at 115200 baud. Returns it, its control
/// and the stable path to open with [`crate::SerialReader::open`].
pub fn spawn() -> io::Result<(ReaderSim, SimControl, PathBuf)> {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "kiosk-idcard-sim-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("idcard");
    let pty = plug(&path)?;
    let state = Arc::new(Mutex::new(SimState {
        baud: Some(115_200),
        plugged: true,
        ..SimState::default()
    }));
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let state = Arc::clone(&state);
        let stop = Arc::clone(&stop);
        let path = path.clone();
        thread::Builder::new()
            .name("idcard-sim".to_string())
            .spawn(move || run(Some(pty), &path, &state, &stop))?
    };
    let sim = ReaderSim {
        stop,
        thread: Some(thread),
        path: path.clone(),
        dir,
    };
    Ok((sim, SimControl { state }, path))
}

/// The master side, and the slave side kept open so that its path lives
/// (see the module docs).
struct Pty {
    master: TTYPort,
    _slave: TTYPort,
}

/// Opens a pty pair and points the link at its slave.
fn plug(link: &Path) -> io::Result<Pty> {
    let (mut master, slave) = TTYPort::pair().map_err(io::Error::from)?;
    let target = slave
        .name()
        .map(PathBuf::from)
        .ok_or_else(|| io::Error::new(ErrorKind::NotFound, "pty slave has no path"))?;
    master.set_timeout(TICK).map_err(io::Error::from)?;
    let tmp = link.with_extension("new");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&target, &tmp)?;
    std::fs::rename(&tmp, link)?;
    Ok(Pty {
        master,
        _slave: slave,
    })
}

fn run(mut pty: Option<Pty>, link: &Path, state: &Mutex<SimState>, stop: &AtomicBool) {
    let mut decoder = Decoder::new();
    let mut buf = [0u8; 512];
    let mut reply = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        {
            let mut s = lock(state);
            if std::mem::take(&mut s.unplug_requested) {
                pty = None;
                let _ = std::fs::remove_file(link);
                s.plugged = false;
                debug!("sim: unplugged");
            }
            if std::mem::take(&mut s.replug_requested) && pty.is_none() {
                match plug(link) {
                    Ok(p) => {
                        pty = Some(p);
                        s.plugged = true;
                        decoder.reset();
                        debug!("sim: plugged in again");
                    }
                    Err(e) => debug!("sim: replug failed: {e}"),
                }
            }
        }
        let Some(p) = pty.as_mut() else {
            thread::sleep(TICK);
            continue;
        };
        match p.master.read(&mut buf) {
            Ok(n) if n > 0 => decoder.push(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::TimedOut => continue,
            // EOF or an error (no slave open): wait and try again.
            _ => thread::sleep(TICK),
        }
        while let Some(request) = decoder.next_request() {
            reply.clear();
            let (fault, pace) = {
                let mut s = lock(state);
                let fault = answer(&mut s, request, &mut reply);
                let line = p.master.baud_rate().ok();
                let mismatch = matches!((s.baud, line), (Some(sim), Some(line)) if sim != line);
                let delay = if is_read(&reply) {
                    s.sam_delay
                } else {
                    Duration::ZERO
                };
                (
                    if mismatch {
                        Some(SimFault::Garbage)
                    } else {
                        fault
                    },
                    (s.baud, delay),
                )
            };
            if fault == Some(SimFault::Unplug) {
                lock(state).unplug_requested = true;
                break;
            }
            let (baud, mut delay) = pace;
            if let Some(SimFault::SlowSam(d)) = fault {
                delay += d;
            }
            if !delay.is_zero() {
                thread::sleep(delay);
            }
            let bytes = apply_fault(fault, &mut reply);
            if let Err(e) = send_paced(&mut p.master, &bytes, baud) {
                debug!("sim: reply not sent: {e}");
            }
            let mut s = lock(state);
            if let Some(rate) = s.pending_baud.take() {
                s.baud = Some(rate);
            }
        }
    }
}

/// Line noise for [`SimFault::Noise`]: random bytes, pieces of preambles
/// and of the real reply, in a length chosen by the seed.
fn noise(seed: u64, max_len: u16, reply: &[u8]) -> Vec<u8> {
    // xorshift64*: deterministic, no dependency.
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let len = (next() % (u64::from(max_len) + 1)) as usize;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        match next() % 8 {
            0 => out.extend_from_slice(&wire::PREAMBLE),
            1 => {
                // A header with a plausible LEN, and whatever follows.
                out.extend_from_slice(&wire::PREAMBLE);
                out.extend_from_slice(&((next() % 1400) as u16).to_be_bytes());
            }
            2 => {
                // A well-formed frame with a random status and data.
                let data: Vec<u8> = (0..next() % 16).map(|_| next() as u8).collect();
                encode_reply(Status::from_code(next() as u8), &data, &mut out);
            }
            3 => {
                let start = (next() as usize) % reply.len().max(1);
                let n = (next() as usize) % 32;
                out.extend(reply.iter().skip(start).take(n));
            }
            _ => out.push(next() as u8),
        }
    }
    out.truncate(len);
    out
}

/// Whether `reply` answers a card read (more than a bare status): the SAM
/// delay applies to those only.
fn is_read(reply: &[u8]) -> bool {
    reply.len() > 100
}

/// Writes `bytes` in chunks, each after the time it takes on the wire at
/// `baud` (10 bits a byte: start, 8 data, stop).
fn send_paced(master: &mut TTYPort, bytes: &[u8], baud: Option<u32>) -> io::Result<()> {
    const CHUNK: usize = 128;
    let Some(baud) = baud.filter(|&b| b > 0) else {
        return master.write_all(bytes);
    };
    let started = Instant::now();
    let mut sent = 0usize;
    for chunk in bytes.chunks(CHUNK) {
        sent += chunk.len();
        let due = wire_time(sent, baud);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            thread::sleep(wait);
        }
        master.write_all(chunk)?;
    }
    Ok(())
}

/// The time `n_bytes` take on a serial line at `baud`, 8N1.
pub fn wire_time(n_bytes: usize, baud: u32) -> Duration {
    Duration::from_micros((n_bytes as u64 * 10 * 1_000_000) / u64::from(baud.max(1)))
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
        Command::ResetSam | Command::SamStatus => encode_reply(Status::Ok, &[], out),
        Command::SetBaud(rate) => {
            // The reply goes out at the old rate; the next request must
            // come at the new one.
            encode_reply(Status::Ok, &[], out);
            s.pending_baud = Some(rate.bits_per_second());
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
                let mut text = encode_text(&card.text);
                encode_text_extras(&mut text, &card.extras);
                let fingerprint: Option<&[u8]> = (command == Command::ReadTextPhotoFingerprint)
                    .then(|| card.fingerprint.as_deref().unwrap_or(&[]));
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
        Some((SimFault::RemovedMidRead, 0)) => {
            s.card = None;
            s.selected = false;
            Some(SimFault::RemovedMidRead)
        }
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
        Some(SimFault::Silence | SimFault::Unplug) => Vec::new(),
        Some(SimFault::Status(status)) => {
            let mut out = Vec::new();
            encode_reply(status, &[], &mut out);
            out
        }
        Some(SimFault::RemovedMidRead) => {
            let mut out = Vec::new();
            encode_reply(Status::ReadFailed, &[], &mut out);
            out
        }
        Some(SimFault::SlowSam(_)) => std::mem::take(reply),
        Some(SimFault::Noise { seed, max_len }) => noise(seed, max_len, reply),
    }
}
