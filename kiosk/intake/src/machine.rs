//! The intake state machine: one visitor's registration from welcome to receipt.
//!
//! Every input is an [`Event`] fed to [`Intake::handle`] with the current
//! monotonic time; the machine answers with [`Effect`]s for the app shell to
//! carry out (poll the card reader, fetch history, photograph a page, seal the
//! registration) and never performs IO itself. The shell feeds the outcomes
//! back as events. See ARCHITECTURE.md for the diagram.
//!
//! Personal data lives in the [`Session`] only; leaving a session for any
//! reason (cancel, inactivity, a fault, a completed registration) drops it,
//! and the masked newtypes zero their buffers on drop.
//!
//! **Visits.** Every session, progress query and staff sub-flow runs under a
//! [`VisitId`] that is never used again in this process. Every effect that
//! leads to an asynchronous result names its visit, the result quotes it
//! back, and **a result from another visit is dropped** (logged at debug
//! level, without its content). Leaving a visit emits [`Effect::EndVisit`] so
//! the shell can cancel what is still queued for it. Page ids are unique
//! across visits too.

use std::time::Duration;

use idcard_proto::CardText;
use kiosk_privacy::{PersonalText, PhoneNumber};

use crate::category::{self, Category};
use crate::phone;
use crate::rating::QuerySession;
use crate::staff::{Lockout, QueueRow, StaffRole};

mod events;
mod query;
mod staff;

pub use events::{Effect, Event, KeyboardKey};
use events::is_touch;

/// One visit: a registration session, a progress query or a staff sub-flow
/// (PIN check, queue view). Fresh at every start and every end of one, never
/// reused within a process run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct VisitId(pub u64);

impl std::fmt::Display for VisitId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "visit {}", self.0)
    }
}

/// Milliseconds on a monotonic clock chosen by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Millis(pub u64);

impl Millis {
    fn since(self, earlier: Millis) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

/// Timers of the flow.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// No touch for this long in the middle of a registration: ask "您还在吗？".
    pub inactivity: Duration,
    /// The "still there?" prompt waits this long for a touch, then everything
    /// personal is wiped and the flow returns to welcome.
    pub still_there: Duration,
    /// How long the receipt stays on screen.
    pub receipt: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            inactivity: Duration::from_secs(90),
            still_there: Duration::from_secs(30),
            receipt: Duration::from_secs(30),
        }
    }
}

/// Which screen the UI shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Welcome,
    Card,
    Identity,
    Category,
    Capture,
    /// The optional description, typed on the pinyin keyboard.
    Describe,
    /// The contact phone on the number pad.
    Phone,
    Review,
    Submitting,
    Receipt,
    Fault,
    /// The staff PIN pad.
    StaffLogin,
    /// The clerk's menu: register for someone, type an ID in, the queue, log out.
    ClerkMenu,
    /// The clerk types the ID number and name of someone without a card.
    ManualId,
    /// The clerk's view of the local queue: sent, waiting, failed with the reason.
    QueueView,
    /// Staff only: device status, diagnostics export, test print.
    Technician,
    /// The progress query: the petitioner's registrations and their state.
    Progress,
    /// Rating a closed registration (1–5 and reasons).
    Rating,
}

/// The longest description taken, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 300;

/// An earlier registration of the same petitioner, as the registry reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastRegistration {
    pub case_number: String,
    pub registered_at: String,
    pub category: String,
    pub status: CaseStatus,
    /// The petitioner's satisfaction rating (1–5), when the registry has one.
    pub rating: Option<u8>,
    /// The written notices the office issued for it, oldest first.
    pub notices: Vec<CaseNotice>,
}

/// A written notice of the petition office (受理告知书, 不予受理告知书,
/// 答复意见书) for the petitioner; shown on the progress screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseNotice {
    pub title: String,
    /// RFC 3339.
    pub issued_at: String,
    pub text: String,
}

impl PastRegistration {
    /// Still being handled: papers can be added to it (not closed, not refused).
    pub fn is_open(&self) -> bool {
        !matches!(self.status, CaseStatus::Closed | CaseStatus::NotAccepted)
    }
}

/// Where a case stands at the registry (the wire's status words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseStatus {
    Registered,
    Accepted,
    /// The office declined it (不予受理), with its notice.
    NotAccepted,
    InProgress,
    Answered,
    Closed,
}

impl CaseStatus {
    pub const ALL: [CaseStatus; 6] = [
        CaseStatus::Registered,
        CaseStatus::Accepted,
        CaseStatus::NotAccepted,
        CaseStatus::InProgress,
        CaseStatus::Answered,
        CaseStatus::Closed,
    ];

    /// The word on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Registered => "registered",
            CaseStatus::Accepted => "accepted",
            CaseStatus::NotAccepted => "not_accepted",
            CaseStatus::InProgress => "in_progress",
            CaseStatus::Answered => "answered",
            CaseStatus::Closed => "closed",
        }
    }
}

impl std::str::FromStr for CaseStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CaseStatus::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or(UnknownStatus)
    }
}

/// A status word the terminal does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown case status")]
pub struct UnknownStatus;

/// What is known of the petitioner's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum History {
    /// A clerk typed the identity (no card was read): nothing is asked until
    /// the clerk confirms on the screen that the person is present
    /// ([`Event::ConfirmPresence`]), so a typed number shows no one's history at once.
    AwaitingPresence,
    Loading,
    Loaded(Vec<PastRegistration>),
    /// The registry could not be asked (offline); registration goes on.
    Unavailable,
    /// The registry refused the lookup: this terminal asked too often.
    Limited,
}

/// A small RGBA picture of a page for the screen.
#[derive(Clone, PartialEq, Eq)]
pub struct Thumb {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

impl std::fmt::Debug for Thumb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Thumb({}x{})", self.width, self.height)
    }
}

/// Recognition state of one page.
#[derive(Debug, Clone, PartialEq)]
pub enum Ocr {
    Pending,
    Done {
        text: PersonalText,
        confidence: f32,
        /// Words recognised with low confidence, for someone to check.
        doubtful: Vec<PersonalText>,
    },
    /// Recognition failed; the page image is still registered.
    Failed,
}

/// One photographed page.
#[derive(Clone)]
pub struct Page {
    pub id: u32,
    pub jpeg: Vec<u8>,
    pub thumb: Thumb,
    pub ocr: Ocr,
}

impl std::fmt::Debug for Page {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Page")
            .field("id", &self.id)
            .field("jpeg_bytes", &self.jpeg.len())
            .field("ocr", &self.ocr)
            .finish()
    }
}

/// A note the petitioner spoke at the terminal: Ogg Opus bytes, wiped
/// when dropped. `Debug` shows its size and length only.
#[derive(Clone, PartialEq, Eq)]
pub struct VoiceNote {
    pub ogg_opus: zeroize::Zeroizing<Vec<u8>>,
    pub duration_ms: u32,
}

impl std::fmt::Debug for VoiceNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceNote")
            .field("bytes", &self.ogg_opus.len())
            .field("duration_ms", &self.duration_ms)
            .finish()
    }
}

/// The description screen's voice note.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Voice {
    /// None recorded.
    #[default]
    Empty,
    /// The microphone is on (or the recording is being finished).
    Recording,
    Recorded(VoiceNote),
}

/// The personal data of the visitor in front of the terminal.
#[derive(Debug)]
pub struct Session {
    pub identity: CardText,
    /// False when the ID number fails the GB 11643 check: shown, not hidden.
    pub id_number_ok: bool,
    pub history: History,
    pub category: Option<&'static Category>,
    pub pages: Vec<Page>,
    /// A capture was requested and its page has not come back yet.
    pub capture_busy: bool,
    /// "Same matter as your earlier case …?", when the terminal suspects a repeat.
    pub repeat: Option<RepeatQuestion>,
    /// A clerk registers on the person's behalf (代办).
    pub assisted: bool,
    /// The identity was typed by the clerk, not read from a card.
    pub identity_typed: bool,
    /// The petitioner's own words (optional; empty when skipped).
    pub description: PersonalText,
    /// The digits typed on the number pad so far.
    pub phone: PhoneNumber,
    /// The petitioner confirmed that they leave no phone number.
    pub no_phone: bool,
    /// What the petitioner said into the microphone (the description screen).
    pub voice: Voice,
    /// The description or phone screen was opened from the review screen:
    /// finishing it returns there.
    editing_from_review: bool,
}

impl Session {
    /// The phone number to register: the typed digits once they are valid.
    pub fn valid_phone(&self) -> Option<&PhoneNumber> {
        (!self.no_phone && phone::check(self.phone.expose()).is_ok()).then_some(&self.phone)
    }
}

/// The repeat question asked on the review screen and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepeatQuestion {
    pub earlier_case: String,
    /// The question as shown, e.g. "与2026-11-01登记的XF-2026-000001（已登记）是同一件事吗？".
    pub question: String,
    /// `None` until the petitioner answers.
    pub answer: Option<bool>,
}

/// Everything the shell must seal and upload.
#[derive(Debug)]
pub struct SealRequest {
    pub identity: CardText,
    pub category: &'static Category,
    pub pages: Vec<Page>,
    /// The earlier case asked about and the answer, when the petitioner answered.
    pub repeat: Option<(String, bool)>,
    /// Registered by a clerk on the person's behalf (代办).
    pub assisted: bool,
    /// The identity was typed by the clerk, not read from a card.
    pub identity_typed: bool,
    /// The petitioner's own words, possibly empty.
    pub description: PersonalText,
    /// The contact phone, when one was given.
    pub phone: Option<PhoneNumber>,
    /// The voice note, when one was recorded.
    pub voice_note: Option<VoiceNote>,
}

/// A message shown on the current screen: what it is about (the voice and
/// the view match on this, never on the words), its text, and whether it
/// reports a problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub kind: MessageKind,
    pub text: String,
    pub is_error: bool,
}

impl Message {
    pub fn new(kind: MessageKind, text: impl Into<String>, is_error: bool) -> Message {
        Message {
            kind,
            text: text.into(),
            is_error,
        }
    }
    /// Information, nothing went wrong.
    pub fn info(text: impl Into<String>) -> Message {
        Message::new(MessageKind::Info, text, false)
    }
    /// A refusal or a failure the person must look at.
    pub fn refused(text: impl Into<String>) -> Message {
        Message::new(MessageKind::Refused, text, true)
    }
}

/// What a screen message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// Information: nothing went wrong (progress, thanks, a clerk's action done).
    Info,
    /// Something typed or chosen was refused, or an action failed; the text says why.
    Refused,
    /// The card could not be read, or the reader is not there.
    CardUnread,
    /// The camera's advice that needs no voice (too dark, glare, focus, not fully in view, ready).
    Advice,
    /// The camera's advice: hold the page still.
    HoldStill,
    /// Put the page flat in the frame (advice when none is seen, a refusal when none was found).
    PlacePage,
    /// A page was taken.
    PageTaken,
    /// The page taken is blank.
    PageBlank,
    /// The page taken was taken before in this visit.
    PageDuplicate,
    /// The page could not be taken; take it again.
    PageRetry,
    /// The receipt was printed: take it.
    ReceiptPrinted,
    /// The receipt is shown on the screen (no printer, or it could not print).
    ReceiptOnScreen,
    /// A notice is being printed, or was: take it.
    NoticePrinted,
    /// The notice could not be printed (it stays on the screen).
    NoticeNotPrinted,
    /// The voice note held no speech: say it again, closer to the microphone.
    VoiceNoSpeech,
}

/// Where the flow is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Welcome,
    Card,
    Identity,
    Category,
    Capture,
    Describe,
    Phone {
        /// "确定不留电话吗？" is on screen.
        confirm_no_phone: bool,
    },
    Review,
    /// Waiting for recognition to finish, then for the seal.
    Submitting {
        seal_sent: bool,
    },
    Receipt {
        local_ref: String,
        case_number: Option<String>,
        since: Millis,
        /// The counter queue's ticket number, when the hall runs one.
        ticket: Option<String>,
    },
    Fault,
    StaffLogin {
        /// A PIN is being checked: further PINs wait.
        checking: bool,
    },
    ClerkMenu,
    ManualId,
    QueueView,
    Technician,
    /// The card screen of a progress query.
    QueryCard,
    Progress,
    Rating,
}

/// The intake state machine.
#[derive(Debug)]
pub struct Intake {
    state: State,
    session: Option<Session>,
    message: Option<Message>,
    last_activity: Millis,
    timeouts: Timeouts,
    /// Who is logged in on this terminal; kept across registrations until
    /// logout or inactivity.
    staff: Option<StaffRole>,
    lockout: Lockout,
    queue_rows: Vec<QueueRow>,
    /// The progress query in front of the terminal (see `query.rs`).
    query: Option<QuerySession>,
    /// The current visit; results of any other are dropped.
    visit: VisitId,
    /// The next page id: unique in this process, across visits.
    next_page_id: u32,
    /// The visit the current event ended, for `handle` to report.
    ended: Option<VisitId>,
}

impl Intake {
    pub fn new(timeouts: Timeouts) -> Self {
        Intake {
            visit: VisitId(1),
            next_page_id: 1,
            ended: None,
            state: State::Welcome,
            session: None,
            message: None,
            last_activity: Millis(0),
            timeouts,
            staff: None,
            lockout: Lockout::default(),
            queue_rows: Vec::new(),
            query: None,
        }
    }

    pub fn screen(&self) -> Screen {
        match self.state {
            State::Welcome => Screen::Welcome,
            State::Card => Screen::Card,
            State::Identity => Screen::Identity,
            State::Category => Screen::Category,
            State::Capture => Screen::Capture,
            State::Describe => Screen::Describe,
            State::Phone { .. } => Screen::Phone,
            State::Review => Screen::Review,
            State::Submitting { .. } => Screen::Submitting,
            State::Receipt { .. } => Screen::Receipt,
            State::Fault => Screen::Fault,
            State::StaffLogin { .. } => Screen::StaffLogin,
            State::ClerkMenu => Screen::ClerkMenu,
            State::ManualId => Screen::ManualId,
            State::QueueView => Screen::QueueView,
            State::Technician => Screen::Technician,
            State::QueryCard => Screen::Card,
            State::Progress => Screen::Progress,
            State::Rating => Screen::Rating,
        }
    }

    /// The current visit: results that quote another are dropped.
    pub fn visit(&self) -> VisitId {
        self.visit
    }

    /// The count of wrong staff PINs and the lock they caused.
    pub fn lockout(&self) -> &Lockout {
        &self.lockout
    }

    /// Takes over a lockout saved before a restart.
    pub fn restore_lockout(&mut self, lockout: Lockout) {
        self.lockout = lockout;
    }

    /// Who is logged in, if anyone.
    pub fn staff(&self) -> Option<StaffRole> {
        self.staff
    }

    /// The rows of the clerk's queue view, as last loaded.
    pub fn queue_rows(&self) -> &[QueueRow] {
        &self.queue_rows
    }

    /// The visitor's data, while a session is open.
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// True while the phone screen asks "确定不留电话吗？".
    pub fn confirming_no_phone(&self) -> bool {
        matches!(
            self.state,
            State::Phone {
                confirm_no_phone: true
            }
        )
    }

    pub fn message(&self) -> Option<&Message> {
        self.message.as_ref()
    }

    /// On the receipt screen: the local reference and, once issued, the case number.
    pub fn receipt(&self) -> Option<(&str, Option<&str>)> {
        match &self.state {
            State::Receipt {
                local_ref,
                case_number,
                ..
            } => Some((local_ref.as_str(), case_number.as_deref())),
            _ => None,
        }
    }

    /// On the receipt screen: the counter queue's ticket number, once issued.
    pub fn ticket(&self) -> Option<&str> {
        match &self.state {
            State::Receipt { ticket, .. } => ticket.as_deref(),
            _ => None,
        }
    }

    /// Seconds until the screen returns to welcome by itself: on the receipt
    /// screen always, elsewhere while the "still there?" prompt is up.
    pub fn seconds_left(&self, now: Millis) -> Option<u64> {
        let (since, limit) = self.timer()?;
        let elapsed = now.since(since);
        let left = limit.saturating_sub(elapsed);
        (left <= self.timeouts.still_there || matches!(self.state, State::Receipt { .. }))
            .then(|| left.as_secs_f64().ceil() as u64)
    }

    /// True while the "您还在吗？" prompt is up: no touch for
    /// [`Timeouts::inactivity`] on a screen holding personal data. Any touch
    /// (or [`Event::StillHere`]) dismisses it.
    pub fn asking_still_there(&self, now: Millis) -> bool {
        !matches!(self.state, State::Receipt { .. })
            && self
                .timer()
                .is_some_and(|(since, _)| now.since(since) >= self.timeouts.inactivity)
    }

    fn timer(&self) -> Option<(Millis, Duration)> {
        let form = self.timeouts.inactivity + self.timeouts.still_there;
        match &self.state {
            State::Card
            | State::Identity
            | State::Category
            | State::Capture
            | State::Review
            | State::StaffLogin { .. }
            | State::ClerkMenu
            | State::ManualId
            | State::QueueView
            | State::Technician
            | State::Describe
            | State::Phone { .. }
            | State::QueryCard
            | State::Progress
            | State::Rating => Some((self.last_activity, form)),
            State::Receipt { since, .. } => Some((*since, self.timeouts.receipt)),
            State::Welcome | State::Submitting { .. } | State::Fault => None,
        }
    }

    /// Feeds one event; returns what the shell must do.
    pub fn handle(&mut self, event: Event, now: Millis) -> Vec<Effect> {
        let mut fx = Vec::new();
        if let Some(visit) = event.visit() {
            if visit != self.visit {
                log::debug!(
                    "dropped a late {} of {visit} (current: {})",
                    event.name(),
                    self.visit
                );
                return fx;
            }
        }
        let touched = is_touch(&event);
        // Someone speaking into the microphone is there, touching or not.
        let speaking = self
            .session
            .as_ref()
            .is_some_and(|s| s.voice == Voice::Recording);
        if touched || speaking {
            self.last_activity = now;
        }
        let before = self.screen();
        self.step(event, now, &mut fx);
        if let Some(ended) = self.ended.take() {
            fx.push(Effect::EndVisit(ended));
        }
        let after = self.screen();
        if before != after {
            if before == Screen::Card {
                fx.push(Effect::PollCard(false));
            }
            if after == Screen::Card {
                fx.push(Effect::PollCard(true));
            }
            // The technician screen shows the live camera picture too.
            let preview = |s: Screen| s == Screen::Capture || s == Screen::Technician;
            if preview(before) {
                fx.push(Effect::Preview(false));
            }
            if preview(after) {
                fx.push(Effect::Preview(true));
            }
            self.last_activity = now;
        }
        fx
    }

    fn step(&mut self, event: Event, now: Millis, fx: &mut Vec<Effect>) {
        match event {
            Event::Tick => self.check_timers(now),
            // Its only work, resetting the inactivity timer, is done by `handle`.
            Event::StillHere => {}
            Event::Cancel => self.end_session(),
            Event::DeviceFault(reason) => {
                self.end_session();
                self.state = State::Fault;
                self.say_error(reason);
            }
            Event::Acknowledged {
                local_ref,
                case_number,
            } => {
                if let State::Receipt {
                    local_ref: shown,
                    case_number: slot,
                    ..
                } = &mut self.state
                {
                    if *shown == local_ref {
                        *slot = Some(case_number);
                    }
                }
            }
            Event::TicketIssued { local_ref, number } => {
                if let State::Receipt {
                    local_ref: shown,
                    ticket,
                    ..
                } = &mut self.state
                {
                    if *shown == local_ref {
                        *ticket = Some(number);
                    }
                }
            }
            Event::ReceiptPrinted { local_ref, message } => {
                if matches!(&self.state, State::Receipt { local_ref: shown, .. } if *shown == local_ref)
                {
                    self.message = Some(message);
                }
            }
            event if self.in_query(&event) => self.step_query(event, now, fx),
            event => self.step_screen(event, now, fx),
        }
    }

    fn step_screen(&mut self, event: Event, now: Millis, fx: &mut Vec<Effect>) {
        match (&self.state, event) {
            (State::Welcome, Event::Start) => {
                self.message = None;
                self.state = State::Card;
            }
            (State::Card, Event::CardRead(text)) => {
                let assisted = self.staff == Some(StaffRole::Clerk);
                self.open_session(*text, assisted, false, fx);
            }
            (State::Card, Event::CardFailed(reason)) => {
                self.message = Some(Message::new(MessageKind::CardUnread, reason, true))
            }
            (State::Card, Event::CardReaderBack) => {
                if self.message.as_ref().is_some_and(|m| m.is_error) {
                    self.message = None;
                }
            }
            // A history answer counts only while one was asked for.
            (_, Event::HistoryLoaded { rows, .. }) => {
                if let Some(s) = self.session.as_mut().filter(|s| s.history == History::Loading) {
                    s.history = History::Loaded(rows);
                }
            }
            (_, Event::HistoryUnavailable { .. }) => {
                if let Some(s) = self.session.as_mut().filter(|s| s.history == History::Loading) {
                    s.history = History::Unavailable;
                }
            }
            (_, Event::HistoryLimited { .. }) => {
                if let Some(s) = self.session.as_mut().filter(|s| s.history == History::Loading) {
                    s.history = History::Limited;
                }
            }
            (State::Identity, Event::ConfirmPresence) => {
                let Some(s) = self
                    .session
                    .as_mut()
                    .filter(|s| s.identity_typed && s.history == History::AwaitingPresence)
                else {
                    return;
                };
                s.history = History::Loading;
                fx.push(Effect::FetchHistory {
                    visit: self.visit,
                    id_number: s.identity.id_number.clone(),
                    identity_typed: true,
                });
            }
            (State::Identity, Event::ConfirmIdentity) => {
                self.message = None;
                self.state = State::Category;
            }
            (State::Identity, Event::SupplementCase(case)) => {
                let Some(s) = &mut self.session else { return };
                let History::Loaded(rows) = &s.history else {
                    return;
                };
                let Some(row) = rows
                    .iter()
                    .find(|r| r.case_number == case && r.is_open())
                else {
                    return;
                };
                // The same question the review screen asks on a suspected
                // repeat, answered "the same matter" already; it can be changed there.
                s.repeat = Some(RepeatQuestion {
                    earlier_case: row.case_number.clone(),
                    question: format!(
                        "这些材料补充到{}登记的{}吗？",
                        row.registered_at.chars().take(10).collect::<String>(),
                        row.case_number
                    ),
                    answer: Some(true),
                });
                s.category = category::by_code(&row.category).or(category::by_code(category::UNSURE));
                self.message = None;
                self.state = State::Capture;
            }
            (State::Category, Event::ChooseCategory(code)) => match category::by_code(&code) {
                Some(cat) => {
                    if let Some(s) = &mut self.session {
                        s.category = Some(cat);
                    }
                    self.message = None;
                    self.state = State::Capture;
                }
                None => self.say_error("请选择一个类别".into()),
            },
            (State::Capture, Event::CaptureAdvice(advice)) => {
                let busy = self.session.as_ref().is_some_and(|s| s.capture_busy);
                if !busy && !self.message.as_ref().is_some_and(|m| m.is_error) {
                    self.message = Some(advice);
                }
            }
            (State::Capture, Event::CaptureRequested | Event::AutoCaptureReady) => {
                if let Some(s) = &mut self.session {
                    if !s.capture_busy {
                        s.capture_busy = true;
                        let page_id = self.next_page_id;
                        self.next_page_id += 1;
                        self.message = None;
                        fx.push(Effect::CapturePage {
                            visit: self.visit,
                            page_id,
                        });
                    }
                }
            }
            (
                _,
                Event::PageCaptured {
                    page_id,
                    jpeg,
                    thumb,
                    ..
                },
            ) => {
                if let Some(s) = &mut self.session {
                    s.capture_busy = false;
                    if s.pages.iter().any(|p| p.id == page_id) {
                        return;
                    }
                    s.pages.push(Page {
                        id: page_id,
                        jpeg,
                        thumb,
                        ocr: Ocr::Pending,
                    });
                    self.message = Some(Message::new(
                        MessageKind::PageTaken,
                        format!("已拍第{}页", s.pages.len()),
                        false,
                    ));
                }
            }
            (
                _,
                Event::PageTurned {
                    page_id,
                    jpeg,
                    thumb,
                    ..
                },
            ) => {
                if let Some(page) = self
                    .session
                    .as_mut()
                    .and_then(|s| s.pages.iter_mut().find(|p| p.id == page_id))
                {
                    page.jpeg = jpeg;
                    page.thumb = thumb;
                }
            }
            (_, Event::PageRejected { kind, reason, .. }) => {
                if let Some(s) = &mut self.session {
                    s.capture_busy = false;
                }
                self.message = Some(Message::new(kind, reason, true));
            }
            (
                _,
                Event::OcrFinished {
                    page_id,
                    result,
                    doubtful,
                    ..
                },
            ) => {
                if let Some(s) = &mut self.session {
                    if let Some(page) = s.pages.iter_mut().find(|p| p.id == page_id) {
                        page.ocr = match result {
                            Some((text, confidence)) => Ocr::Done {
                                text,
                                confidence,
                                doubtful,
                            },
                            None => Ocr::Failed,
                        };
                    }
                }
                self.seal_when_ready(fx);
            }
            (
                _,
                Event::RepeatSuspected {
                    earlier_case,
                    question,
                    ..
                },
            ) => {
                if let Some(s) = &mut self.session {
                    if s.repeat.is_none() {
                        s.repeat = Some(RepeatQuestion {
                            earlier_case,
                            question,
                            answer: None,
                        });
                    }
                }
            }
            (State::Review, Event::RepeatAnswered(same)) => {
                if let Some(q) = self.session.as_mut().and_then(|s| s.repeat.as_mut()) {
                    q.answer = Some(same);
                }
            }
            (State::Capture | State::Review, Event::DeletePage(page_id)) => {
                if let Some(s) = &mut self.session {
                    s.pages.retain(|p| p.id != page_id);
                }
            }
            (State::Capture, Event::FinishCapture) => {
                let has_pages = self.session.as_ref().is_some_and(|s| !s.pages.is_empty());
                if has_pages {
                    self.message = None;
                    self.state = State::Describe;
                } else {
                    self.say_error("请至少拍摄一页材料".into());
                }
            }
            (
                State::Describe,
                event @ (Event::DescriptionEdited(_)
                | Event::SkipDescription
                | Event::FinishDescription),
            ) => {
                self.stop_recording(fx);
                self.step_describe(event)
            }
            (State::Describe, Event::VoiceRecord) => {
                if let Some(s) = &mut self.session {
                    if s.voice != Voice::Recording {
                        // Recording again replaces the note (the old one is wiped).
                        s.voice = Voice::Recording;
                        self.message = None;
                        fx.push(Effect::StartRecording { visit: self.visit });
                    }
                }
            }
            (State::Describe, Event::VoiceStop) => self.stop_recording(fx),
            (State::Describe | State::Review, Event::VoicePlay) => {
                if let Some(Voice::Recorded(note)) = self.session.as_ref().map(|s| &s.voice) {
                    fx.push(Effect::PlayVoice {
                        visit: self.visit,
                        note: note.clone(),
                    });
                }
            }
            (State::Describe | State::Review, Event::VoiceDelete) => {
                if let Some(s) = &mut self.session {
                    if matches!(s.voice, Voice::Recorded(_)) {
                        s.voice = Voice::Empty;
                        fx.push(Effect::StopVoice { visit: self.visit });
                    }
                }
            }
            (_, Event::VoiceRecorded { note, .. }) => {
                if let Some(s) = &mut self.session {
                    if s.voice == Voice::Recording {
                        s.voice = Voice::Recorded(note);
                    }
                }
                self.seal_when_ready(fx);
            }
            (_, Event::VoiceRefused { no_speech, .. }) => {
                if let Some(s) = &mut self.session {
                    if s.voice == Voice::Recording {
                        s.voice = Voice::Empty;
                        if self.state == State::Describe {
                            self.message = Some(if no_speech {
                                Message::new(
                                    MessageKind::VoiceNoSpeech,
                                    "没有听到声音，请靠近话筒再说一次",
                                    true,
                                )
                            } else {
                                Message::refused("无法录音，请用键盘输入，或请工作人员帮忙")
                            });
                        }
                    }
                }
                self.seal_when_ready(fx);
            }
            (
                State::Phone { .. },
                event @ (Event::PhoneDigit(_)
                | Event::PhoneBackspace
                | Event::PhoneClear
                | Event::ConfirmPhone
                | Event::NoPhone
                | Event::NoPhoneConfirmed(_)),
            ) => self.step_phone(event),
            (State::Review, Event::EditDescription) => {
                if let Some(s) = &mut self.session {
                    s.editing_from_review = true;
                }
                self.message = None;
                self.state = State::Describe;
            }
            (State::Review, Event::EditPhone) => {
                if let Some(s) = &mut self.session {
                    s.editing_from_review = true;
                }
                self.message = None;
                self.state = State::Phone {
                    confirm_no_phone: false,
                };
            }
            (State::Review, Event::Submit) => {
                self.message = None;
                self.state = State::Submitting { seal_sent: false };
                self.seal_when_ready(fx);
            }
            (State::Submitting { .. }, Event::Sealed { local_ref, .. }) => {
                // The registration is durable: the personal data leaves memory now.
                self.session = None;
                self.message = None;
                self.state = State::Receipt {
                    local_ref,
                    case_number: None,
                    since: now,
                    ticket: None,
                };
            }
            (State::Submitting { .. }, Event::SealFailed { reason, .. }) => {
                // Nothing was stored: keep the session so the visitor can try again.
                self.state = State::Review;
                self.say_error(reason);
            }
            (State::Receipt { .. }, Event::Done) => self.end_session(),
            (State::Fault, Event::Done) => self.end_session(),
            (State::Identity, Event::Back) => {
                let typed = self.session.as_ref().is_some_and(|s| s.identity_typed);
                self.end_session_to(if typed { State::ManualId } else { State::Card });
            }
            (State::Welcome | State::Fault, Event::TechnicianEnter) => {
                self.staff = Some(StaffRole::Technician);
                self.end_session_to(State::Technician)
            }
            (State::Technician, Event::ExportDiagnostics) => fx.push(Effect::ExportDiagnostics),
            (State::Technician, Event::TestPrint) => fx.push(Effect::TestPrint),
            (State::Category, Event::Back) => self.state = State::Identity,
            (State::Capture, Event::Back) => self.state = State::Category,
            (State::Describe, Event::Back) => {
                self.message = None;
                self.state = if self.take_editing_flag() {
                    State::Review
                } else {
                    State::Capture
                };
            }
            (State::Phone { .. }, Event::Back) => {
                self.message = None;
                self.state = if self.take_editing_flag() {
                    State::Review
                } else {
                    State::Describe
                };
            }
            (State::Review, Event::Back) => {
                self.state = State::Phone {
                    confirm_no_phone: false,
                }
            }
            (state, event) => self.step_staff(state.clone(), event, now, fx),
        }
    }

    fn seal_when_ready(&mut self, fx: &mut Vec<Effect>) {
        let State::Submitting { seal_sent: false } = self.state else {
            return;
        };
        let Some(s) = &self.session else { return };
        // Recognition, and a voice note still being finished, come first.
        if s.pages.iter().any(|p| p.ocr == Ocr::Pending) || s.voice == Voice::Recording {
            return;
        }
        let Some(category) = s.category else { return };
        fx.push(Effect::Seal {
            visit: self.visit,
            request: Box::new(SealRequest {
            identity: s.identity.clone(),
            category,
            pages: s.pages.clone(),
            repeat: s
                .repeat
                .as_ref()
                .and_then(|q| q.answer.map(|a| (q.earlier_case.clone(), a))),
            assisted: s.assisted,
            identity_typed: s.identity_typed,
            description: s.description.clone(),
            phone: s.valid_phone().cloned(),
            voice_note: match &s.voice {
                Voice::Recorded(note) => Some(note.clone()),
                _ => None,
            },
            }),
        });
        self.state = State::Submitting { seal_sent: true };
    }

    /// Clears the "opened from review" mark; true when it was set.
    fn take_editing_flag(&mut self) -> bool {
        self.session
            .as_mut()
            .map(|s| std::mem::take(&mut s.editing_from_review))
            .unwrap_or(false)
    }

    /// Stops the microphone if it is on; the note comes back as
    /// `VoiceRecorded` (or `VoiceRefused`) for this visit.
    fn stop_recording(&mut self, fx: &mut Vec<Effect>) {
        if self.session.as_ref().is_some_and(|s| s.voice == Voice::Recording) {
            fx.push(Effect::StopRecording { visit: self.visit });
        }
    }

    /// After the description: the phone, or back to review when editing from there.
    fn leave_describe(&mut self) {
        self.message = None;
        self.state = if self.take_editing_flag() {
            State::Review
        } else {
            State::Phone {
                confirm_no_phone: false,
            }
        };
    }

    fn step_describe(&mut self, event: Event) {
        let Some(s) = &mut self.session else { return };
        match event {
            Event::DescriptionEdited(text) => {
                let chars = text.expose().chars().count();
                s.description = if chars > MAX_DESCRIPTION_CHARS {
                    self.message = Some(Message::refused(format!(
                        "说明最多{MAX_DESCRIPTION_CHARS}字"
                    )));
                    PersonalText::new(
                        text.expose()
                            .chars()
                            .take(MAX_DESCRIPTION_CHARS)
                            .collect::<String>(),
                    )
                } else {
                    if self.message.as_ref().is_some_and(|m| m.is_error) {
                        self.message = None;
                    }
                    text
                };
            }
            Event::SkipDescription => {
                s.description = PersonalText::default();
                self.leave_describe();
            }
            Event::FinishDescription => self.leave_describe(),
            _ => {}
        }
    }

    fn step_phone(&mut self, event: Event) {
        let Some(s) = &mut self.session else { return };
        let digits = s.phone.expose().to_string();
        match event {
            Event::PhoneDigit(d) if d.is_ascii_digit() => {
                if digits.len() < phone::MAX_DIGITS {
                    s.phone = PhoneNumber::new(format!("{digits}{d}"));
                    s.no_phone = false;
                }
                self.message = None;
            }
            Event::PhoneDigit(_) => {}
            Event::PhoneBackspace => {
                let mut d = digits;
                d.pop();
                s.phone = PhoneNumber::new(d);
                self.message = None;
            }
            Event::PhoneClear => {
                s.phone = PhoneNumber::default();
                self.message = None;
            }
            Event::ConfirmPhone => match phone::check(&digits) {
                Ok(_) => {
                    s.no_phone = false;
                    s.editing_from_review = false;
                    self.message = None;
                    self.state = State::Review;
                }
                Err(problem) => self.say_error(problem.message_zh().into()),
            },
            Event::NoPhone => {
                self.message = None;
                self.state = State::Phone {
                    confirm_no_phone: true,
                };
            }
            Event::NoPhoneConfirmed(true) => {
                s.phone = PhoneNumber::default();
                s.no_phone = true;
                s.editing_from_review = false;
                self.message = None;
                self.state = State::Review;
            }
            Event::NoPhoneConfirmed(false) => {
                self.state = State::Phone {
                    confirm_no_phone: false,
                };
            }
            _ => {}
        }
    }

    fn check_timers(&mut self, now: Millis) {
        if let Some((since, limit)) = self.timer() {
            if now.since(since) >= limit {
                let staff_screen = matches!(
                    self.state,
                    State::StaffLogin { .. }
                        | State::ClerkMenu
                        | State::ManualId
                        | State::QueueView
                        | State::Technician
                );
                if staff_screen {
                    self.leave_staff();
                } else {
                    self.end_session();
                }
            }
        }
    }

    fn say_error(&mut self, text: String) {
        self.message = Some(Message::refused(text));
    }

    /// Ends the visitor's session: back to the clerk's menu while a clerk is
    /// logged in, otherwise to welcome.
    fn end_session(&mut self) {
        let next = if self.staff == Some(StaffRole::Clerk) {
            State::ClerkMenu
        } else {
            State::Welcome
        };
        self.end_session_to(next);
    }

    /// A visitor's identity is known (read from the card or typed by a
    /// clerk): the session opens on the identity screen. A card's history is
    /// asked for at once; a typed identity's only after the clerk confirms
    /// the person is present ([`Event::ConfirmPresence`]).
    fn open_session(
        &mut self,
        identity: CardText,
        assisted: bool,
        identity_typed: bool,
        fx: &mut Vec<Effect>,
    ) {
        self.new_visit();
        let history = if identity_typed {
            History::AwaitingPresence
        } else {
            fx.push(Effect::FetchHistory {
                visit: self.visit,
                id_number: identity.id_number.clone(),
                identity_typed: false,
            });
            History::Loading
        };
        self.session = Some(Session {
            id_number_ok: identity.id_number_ok(),
            identity,
            history,
            category: None,
            pages: Vec::new(),
            capture_busy: false,
            repeat: None,
            assisted,
            identity_typed,
            description: PersonalText::default(),
            phone: PhoneNumber::default(),
            no_phone: false,
            voice: Voice::Empty,
            editing_from_review: false,
        });
        self.message = None;
        self.state = State::Identity;
    }

    /// Leaves whatever visit is open (session, query, staff sub-flow): its
    /// data is dropped and its late results will be.
    fn end_session_to(&mut self, state: State) {
        self.session = None;
        self.query = None;
        self.queue_rows.clear();
        self.message = None;
        self.state = state;
        self.ended.get_or_insert(self.visit);
        self.new_visit();
    }

    /// A fresh visit id (a session or a query starts, or a visit ended).
    pub(crate) fn new_visit(&mut self) {
        self.visit = VisitId(self.visit.0 + 1);
    }
}
