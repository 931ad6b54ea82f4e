//! The reader loop: any [`IdCardReader`] turned into a stream of
//! [`ReaderEvent`]s, one read per card placement, and a reader that never
//! wedges.
//!
//! [`watch`] runs the loop on its own thread. It opens the reader with the
//! caller's opener, polls it while active, and:
//! - reads a card once per placement: after a read it only checks presence
//!   ([`IdCardReader::card_present`]) until the card has been absent for
//!   [`WatchConfig::removal_debounce`] checks in a row, then reports
//!   [`ReaderEvent::CardRemoved`] and reads the next card;
//! - after a failed read keeps trying the card, and reports the failure
//!   once, not on every poll;
//! - on a disconnect (unplug, `EIO`, open failure) reports
//!   [`ReaderEvent::Disconnected`] at once (well within 2 s of the unplug:
//!   bounded by the reply timeout and the poll interval) and reopens with
//!   exponential backoff up to [`WatchConfig::backoff_max`], then reports
//!   [`ReaderEvent::Connected`].
//!
//! The state machine is [`Watch`], which does one step per call and can be
//! driven directly (tests, single-threaded callers).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use log::{debug, warn};

use crate::{CardPoll, CardUid, IdCardReader, Identity, ReaderError, ReaderKind};

/// What happened at the reader.
#[derive(Debug)]
pub enum ReaderEvent {
    /// The reader was opened (first time, or again after a disconnect).
    Connected,
    /// A card is in the field and was read: `IdentityRead` or `CardUid`
    /// follows at once.
    CardPresent,
    /// The card's identity was read. Once per placement.
    IdentityRead(Box<Identity>),
    /// A reader without a SAM read the card's physical identifier.
    CardUid(CardUid),
    /// The card left the reader (debounced).
    CardRemoved,
    /// A read failed (bad frame, status, timeout); the watcher keeps trying
    /// and reports the next good read. Reported once per failure streak.
    ReadFailed(ReaderError),
    /// The reader is gone or cannot be opened; the watcher reopens it with
    /// backoff. Reported once per outage.
    Disconnected(ReaderError),
}

/// Timing of the loop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchConfig {
    /// Pause between polls.
    pub poll_interval: Duration,
    /// Absent checks in a row before a card counts as removed.
    pub removal_debounce: u32,
    /// First wait before reopening a disconnected reader.
    pub backoff_initial: Duration,
    /// Longest wait between reopen attempts.
    pub backoff_max: Duration,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            poll_interval: Duration::from_millis(300),
            removal_debounce: 2,
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(2),
        }
    }
}

/// Opens a reader; called again after every disconnect.
pub type Opener = Box<dyn FnMut() -> Result<Box<dyn IdCardReader>, ReaderError> + Send>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No card known; polling for one.
    Idle,
    /// A read failed; keep trying, reported already.
    Failing,
    /// A card was read; waiting for it to leave.
    CardOn { absent: u32 },
}

/// The reader loop as a state machine, one [`Watch::step`] at a time.
pub struct Watch {
    open: Opener,
    cfg: WatchConfig,
    reader: Option<Box<dyn IdCardReader>>,
    phase: Phase,
    disconnected_reported: bool,
    backoff: Duration,
    next_open: Instant,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("open", &self.reader.is_some())
            .field("phase", &self.phase)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

impl Watch {
    /// A watcher that opens its reader with `open` on the first step.
    pub fn new(open: Opener, cfg: WatchConfig) -> Watch {
        let backoff = cfg.backoff_initial;
        Watch {
            open,
            cfg,
            reader: None,
            phase: Phase::Idle,
            disconnected_reported: false,
            backoff,
            next_open: Instant::now(),
        }
    }

    /// Forgets the card on the reader, so that the card lying there now is
    /// read again on the next step (for a new session on the same card).
    pub fn rearm(&mut self) {
        self.phase = Phase::Idle;
    }

    /// How long the caller should wait before the next step.
    pub fn next_wait(&self) -> Duration {
        if self.reader.is_none() {
            self.next_open.saturating_duration_since(Instant::now())
        } else {
            self.cfg.poll_interval
        }
    }

    /// One round: open the reader if needed, then poll or check presence.
    /// Events go to `emit`.
    pub fn step(&mut self, emit: &mut dyn FnMut(ReaderEvent)) {
        if self.reader.is_none() {
            if Instant::now() < self.next_open {
                return;
            }
            match (self.open)() {
                Ok(r) => {
                    debug!("card reader open");
                    self.reader = Some(r);
                    self.backoff = self.cfg.backoff_initial;
                    self.disconnected_reported = false;
                    self.phase = Phase::Idle;
                    emit(ReaderEvent::Connected);
                }
                Err(e) => {
                    self.lost(e, emit);
                    return;
                }
            }
        }
        let Some(reader) = self.reader.as_mut() else {
            return;
        };
        let res = match self.phase {
            Phase::CardOn { absent } => match reader.card_present() {
                Ok(true) => {
                    self.phase = Phase::CardOn { absent: 0 };
                    Ok(())
                }
                Ok(false) => {
                    let absent = absent + 1;
                    if absent >= self.cfg.removal_debounce.max(1) {
                        self.phase = Phase::Idle;
                        emit(ReaderEvent::CardRemoved);
                    } else {
                        self.phase = Phase::CardOn { absent };
                    }
                    Ok(())
                }
                Err(e) => Err(e),
            },
            Phase::Idle | Phase::Failing => read(reader.as_mut()).map(|got| match got {
                Some(event) => {
                    self.phase = Phase::CardOn { absent: 0 };
                    emit(ReaderEvent::CardPresent);
                    emit(event);
                }
                None => {
                    if self.phase == Phase::Failing {
                        // The card that failed is gone.
                        emit(ReaderEvent::CardRemoved);
                    }
                    self.phase = Phase::Idle;
                }
            }),
        };
        if let Err(e) = res {
            if e.is_disconnect() {
                self.reader = None;
                self.lost(e, emit);
            } else if matches!(self.phase, Phase::CardOn { .. }) {
                // A failed presence check: the card may be on its way out.
                debug!("presence check failed: {e}");
            } else {
                if self.phase != Phase::Failing {
                    emit(ReaderEvent::ReadFailed(e));
                } else {
                    debug!("read failed again: {e}");
                }
                self.phase = Phase::Failing;
            }
        }
    }

    fn lost(&mut self, e: ReaderError, emit: &mut dyn FnMut(ReaderEvent)) {
        // Said once per outage; the retries (every `backoff_max` at most, for
        // as long as no reader is attached) would otherwise fill the journal.
        if self.disconnected_reported {
            debug!(
                "card reader still unavailable: {e}; retrying in {:?}",
                self.backoff
            );
        } else {
            warn!(
                "card reader unavailable: {e}; retrying in {:?}",
                self.backoff
            );
        }
        self.next_open = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(self.cfg.backoff_max);
        if !self.disconnected_reported {
            self.disconnected_reported = true;
            emit(ReaderEvent::Disconnected(e));
        }
    }
}

/// One read: the identity, or the UID for readers without a SAM.
fn read(reader: &mut dyn IdCardReader) -> Result<Option<ReaderEvent>, ReaderError> {
    match reader.kind() {
        ReaderKind::Identity => Ok(match reader.poll()? {
            CardPoll::NoCard => None,
            CardPoll::Card(id) => Some(ReaderEvent::IdentityRead(Box::new(id))),
        }),
        ReaderKind::UidOnly => Ok(reader.read_uid()?.map(ReaderEvent::CardUid)),
    }
}

/// The watcher thread. Dropping it stops the thread.
#[derive(Debug)]
pub struct Watcher {
    active: Arc<AtomicBool>,
    rearm: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Watcher {
    /// Starts or pauses polling. While paused the reader stays open and is
    /// not asked anything.
    pub fn set_active(&self, on: bool) {
        self.active.store(on, Ordering::SeqCst);
    }

    /// Reads the card lying on the reader again on the next poll.
    pub fn rearm(&self) {
        self.rearm.store(true, Ordering::SeqCst);
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs a [`Watch`] on its own thread, active from the start, sending its
/// events to `tx`. The thread ends when the watcher is dropped or the
/// receiver is gone.
pub fn watch(open: Opener, cfg: WatchConfig, tx: Sender<ReaderEvent>) -> std::io::Result<Watcher> {
    let active = Arc::new(AtomicBool::new(true));
    let rearm = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let (active, rearm, stop) = (active.clone(), rearm.clone(), stop.clone());
        thread::Builder::new()
            .name("idcard-watch".to_string())
            .spawn(move || {
                let mut w = Watch::new(open, cfg);
                let mut gone = false;
                while !stop.load(Ordering::SeqCst) && !gone {
                    if rearm.swap(false, Ordering::SeqCst) {
                        w.rearm();
                    }
                    if active.load(Ordering::SeqCst) {
                        w.step(&mut |ev| gone |= tx.send(ev).is_err());
                    }
                    sleep_unless(&stop, w.next_wait().max(Duration::from_millis(5)));
                }
            })?
    };
    Ok(Watcher {
        active,
        rearm,
        stop,
        thread: Some(thread),
    })
}

fn sleep_unless(stop: &AtomicBool, total: Duration) {
    let end = Instant::now() + total;
    while !stop.load(Ordering::SeqCst) {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        thread::sleep(left.min(Duration::from_millis(20)));
    }
}
