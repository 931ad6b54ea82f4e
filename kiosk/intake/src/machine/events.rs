//! The machine's inputs and outputs: every [`Event`] it takes (touches,
//! device results, worker results that name their visit, time) and every
//! [`Effect`] it asks of the shell.

use idcard_proto::CardText;
use kiosk_privacy::{IdNumber, PersonName, PersonalText, StaffPin};

use super::{
    CaseNotice, Message, MessageKind, PastRegistration, SealRequest, Thumb, VisitId, VoiceNote,
};
use crate::rating::RatingRequest;
use crate::staff::{QueueRow, StaffRole};

/// Inputs of the machine: touches, device results, worker results, time.
#[derive(Debug)]
pub enum Event {
    Start,
    CardRead(Box<CardText>),
    /// The reader answered with an error; the text is safe to show (no personal data).
    CardFailed(String),
    /// The card reader is connected (again): an earlier reader error no longer holds.
    CardReaderBack,
    HistoryLoaded {
        visit: VisitId,
        rows: Vec<PastRegistration>,
    },
    HistoryUnavailable {
        visit: VisitId,
    },
    /// The registry refused the history lookup (too many from this terminal).
    HistoryLimited {
        visit: VisitId,
    },
    ConfirmIdentity,
    /// Identity screen of a typed identity: "本人在场，查看以前的登记" — the
    /// clerk confirms the person is present, and only then is the history
    /// asked for (marked as typed, for the registry's audit).
    ConfirmPresence,
    /// On the identity screen: these papers supplement this earlier, still
    /// open case of the petitioner's (its category is taken over).
    SupplementCase(String),
    ChooseCategory(String),
    CaptureRequested,
    /// The camera saw a page lying still and sharp: capture it as if "拍照" were pressed.
    AutoCaptureReady,
    /// What the camera advises the petitioner ("请保持材料不动"); shown unless an error is.
    CaptureAdvice(Message),
    PageCaptured {
        visit: VisitId,
        page_id: u32,
        jpeg: Vec<u8>,
        thumb: Thumb,
    },
    /// No page was found in the photo, or the camera failed; the text is shown.
    PageRejected {
        visit: VisitId,
        page_id: u32,
        kind: MessageKind,
        reason: String,
    },
    /// Recognition found the page lying turned (sideways or upside down):
    /// here is its upright JPEG and thumbnail, replacing the captured ones.
    PageTurned {
        visit: VisitId,
        page_id: u32,
        jpeg: Vec<u8>,
        thumb: Thumb,
    },
    OcrFinished {
        visit: VisitId,
        page_id: u32,
        result: Option<(PersonalText, f32)>,
        /// Words recognised with low confidence.
        doubtful: Vec<PersonalText>,
    },
    DeletePage(u32),
    /// "说出您的诉求": turn the microphone on (a recorded note is replaced).
    VoiceRecord,
    /// "停止": turn it off; the note comes back as `VoiceRecorded`.
    VoiceStop,
    /// Play the recorded note (the description and review screens).
    VoicePlay,
    /// Delete the recorded note.
    VoiceDelete,
    /// The recording, trimmed and encoded (it also stops by itself at the
    /// length limit).
    VoiceRecorded { visit: VisitId, note: VoiceNote },
    /// The recording was refused: no speech in it (`no_speech`), or the
    /// microphone failed.
    VoiceRefused { visit: VisitId, no_speech: bool },
    /// The shell found an earlier case this may repeat; asked once per visit.
    RepeatSuspected {
        visit: VisitId,
        earlier_case: String,
        question: String,
    },
    /// The petitioner's answer: true for "the same matter".
    RepeatAnswered(bool),
    FinishCapture,
    /// A key of the description keyboard. The app shell's input method turns
    /// keys into text and sends `DescriptionEdited`; here it only counts as a touch.
    Keyboard(KeyboardKey),
    /// The whole description after an edit.
    DescriptionEdited(PersonalText),
    /// "跳过": no description; it is cleared.
    SkipDescription,
    /// "下一步" on the description screen.
    FinishDescription,
    /// A digit key of the number pad ('0'–'9').
    PhoneDigit(char),
    PhoneBackspace,
    PhoneClear,
    /// "下一步" on the phone screen: accepted when the number is valid.
    ConfirmPhone,
    /// "不留电话": asks for confirmation first.
    NoPhone,
    /// The answer to "确定不留电话吗？": true leaves no phone.
    NoPhoneConfirmed(bool),
    /// "修改" next to the description or the phone on the review screen.
    EditDescription,
    EditPhone,
    Submit,
    Sealed {
        visit: VisitId,
        local_ref: String,
    },
    SealFailed {
        visit: VisitId,
        reason: String,
    },
    Acknowledged {
        local_ref: String,
        case_number: String,
    },
    /// The hall's counter queue gave this registration a ticket number ("A023").
    TicketIssued {
        local_ref: String,
        number: String,
    },
    /// The receipt printer finished (or could not print); the message is shown on the receipt screen.
    ReceiptPrinted {
        local_ref: String,
        message: Message,
    },
    Back,
    Cancel,
    Done,
    /// A device the flow needs is unusable.
    DeviceFault(String),
    /// "工作人员": open the staff PIN pad.
    StaffEntry,
    /// A PIN typed on the staff PIN pad.
    StaffPin(StaffPin),
    /// The shell's verdict on the PIN: the role it belongs to, or none.
    PinChecked {
        visit: VisitId,
        role: Option<StaffRole>,
    },
    /// Clerk menu: register on someone's behalf with their card.
    ClerkRegister,
    /// Clerk menu: type the identity of someone without a card.
    ClerkManualEntry,
    /// The identity the clerk typed.
    ManualIdentity {
        id_number: IdNumber,
        name: PersonName,
    },
    /// Clerk menu: the local queue.
    ClerkQueue,
    QueueLoaded {
        visit: VisitId,
        rows: Vec<QueueRow>,
    },
    /// Clerk: put a failed registration back in line.
    Resend(String),
    /// Clerk: print a registration's receipt again.
    Reprint(String),
    /// The clerk corrected a page's recognised text.
    EditPageText {
        page_id: u32,
        text: PersonalText,
    },
    /// Staff log out; back to the welcome screen.
    LeaveStaff,
    /// "我还在": the answer to the "still there?" prompt (any other touch does as well).
    StillHere,
    /// Time passed; checks the timers.
    Tick,
    /// A technician is let in without the PIN (`kiosk run --technician`): from
    /// welcome or a fault screen. The PIN login goes through `PinChecked`.
    TechnicianEnter,
    /// The technician screen's "导出诊断包".
    ExportDiagnostics,
    /// The technician screen's "测试打印".
    TestPrint,
    /// Welcome's "查询进度 / 评价": the card screen in query mode.
    QueryStart,
    /// Progress screen: rate this closed case.
    RateCase(String),
    /// Progress screen: print this case's latest notice ("打印告知书").
    PrintNotice(String),
    /// The printer finished the notice (or could not print it); the message
    /// is shown on the progress screen.
    NoticePrinted {
        visit: VisitId,
        message: Message,
    },
    /// Rating screen: a score 1–5.
    RatingScore(u8),
    /// Rating screen: toggle the reason with this code.
    RatingReason(String),
    /// Rating screen: "提交评价".
    SubmitRating,
    /// The rating is durably queued.
    RatingSealed {
        visit: VisitId,
        case_number: String,
    },
    /// The rating could not be queued; the text is shown.
    RatingSealFailed {
        visit: VisitId,
        reason: String,
    },
}

impl Event {
    /// The visit a result belongs to; `None` for touches, device events and time.
    pub fn visit(&self) -> Option<VisitId> {
        match self {
            Event::HistoryLoaded { visit, .. }
            | Event::HistoryUnavailable { visit }
            | Event::HistoryLimited { visit }
            | Event::PageCaptured { visit, .. }
            | Event::PageRejected { visit, .. }
            | Event::OcrFinished { visit, .. }
            | Event::PageTurned { visit, .. }
            | Event::RepeatSuspected { visit, .. }
            | Event::Sealed { visit, .. }
            | Event::SealFailed { visit, .. }
            | Event::PinChecked { visit, .. }
            | Event::QueueLoaded { visit, .. }
            | Event::RatingSealed { visit, .. }
            | Event::RatingSealFailed { visit, .. }
            | Event::NoticePrinted { visit, .. }
            | Event::VoiceRecorded { visit, .. }
            | Event::VoiceRefused { visit, .. } => Some(*visit),
            _ => None,
        }
    }

    /// The event's name for a log line (never its content).
    pub fn name(&self) -> &'static str {
        match self {
            Event::HistoryLoaded { .. } => "HistoryLoaded",
            Event::HistoryUnavailable { .. } => "HistoryUnavailable",
            Event::HistoryLimited { .. } => "HistoryLimited",
            Event::PageCaptured { .. } => "PageCaptured",
            Event::PageRejected { .. } => "PageRejected",
            Event::OcrFinished { .. } => "OcrFinished",
            Event::PageTurned { .. } => "PageTurned",
            Event::RepeatSuspected { .. } => "RepeatSuspected",
            Event::Sealed { .. } => "Sealed",
            Event::SealFailed { .. } => "SealFailed",
            Event::PinChecked { .. } => "PinChecked",
            Event::QueueLoaded { .. } => "QueueLoaded",
            Event::RatingSealed { .. } => "RatingSealed",
            Event::RatingSealFailed { .. } => "RatingSealFailed",
            Event::NoticePrinted { .. } => "NoticePrinted",
            Event::VoiceRecorded { .. } => "VoiceRecorded",
            Event::VoiceRefused { .. } => "VoiceRefused",
            _ => "event",
        }
    }
}

/// A key of the description keyboard, as the UI reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyboardKey {
    /// A letter a–z.
    Letter(char),
    /// A digit or punctuation mark typed as itself.
    Text(String),
    /// The candidate at this position of the shown page.
    Pick(usize),
    /// Previous (-1) or next (+1) page of candidates.
    Page(i32),
    Backspace,
    Space,
}

/// Work for the shell.
#[derive(Debug)]
pub enum Effect {
    /// Start (true) or stop (false) polling the card reader.
    PollCard(bool),
    /// Ask the registry for the petitioner's history; answer with
    /// `HistoryLoaded` or `HistoryUnavailable` for this visit.
    FetchHistory {
        visit: VisitId,
        id_number: IdNumber,
        /// A clerk typed the number and confirmed the person is present (no
        /// card was read); the registry's audit log records it as typed.
        identity_typed: bool,
    },
    /// Photograph, straighten and recognise a page under this id.
    CapturePage { visit: VisitId, page_id: u32 },
    /// Show or stop the live camera preview.
    Preview(bool),
    Seal {
        visit: VisitId,
        request: Box<SealRequest>,
    },
    /// Check a staff PIN against the provisioned hashes; answer with `PinChecked`.
    CheckPin { visit: VisitId, pin: StaffPin },
    /// Read the queue's summaries; answer with `QueueLoaded`.
    LoadQueue { visit: VisitId },
    /// Put a failed registration back in line, then `LoadQueue`.
    Resend(String),
    /// Print the receipt of a sealed registration again.
    Reprint(String),
    /// Write the diagnostics bundle to the USB stick (technician screen only).
    ExportDiagnostics,
    /// Print a test receipt (technician screen only).
    TestPrint,
    /// Queue a satisfaction rating; answer with `RatingSealed` or `RatingSealFailed`.
    SealRating {
        visit: VisitId,
        request: Box<RatingRequest>,
    },
    /// Print a case's notice for the petitioner of this visit; answer with
    /// `NoticePrinted`.
    PrintNotice {
        visit: VisitId,
        case_number: String,
        notice: CaseNotice,
    },
    /// Turn the microphone on for this visit's note; answer with
    /// `VoiceRecorded` or `VoiceRefused`. No prompt plays while it is on.
    StartRecording { visit: VisitId },
    /// Turn it off, trim and encode what it heard.
    StopRecording { visit: VisitId },
    /// Play the note on the terminal's speaker (or the clerk's headphones).
    PlayVoice { visit: VisitId, note: VoiceNote },
    /// Stop a note playing.
    StopVoice { visit: VisitId },
    /// This visit ended: what is still queued for it can be discarded, and
    /// whatever the shell keeps per visit dropped.
    EndVisit(VisitId),
}

/// True for what a person at the screen does (resets the inactivity timer).
pub(super) fn is_touch(event: &Event) -> bool {
    matches!(
        event,
        Event::Start
            | Event::StillHere
            | Event::StaffEntry
            | Event::StaffPin(_)
            | Event::ClerkRegister
            | Event::ClerkManualEntry
            | Event::ManualIdentity { .. }
            | Event::ClerkQueue
            | Event::Resend(_)
            | Event::Reprint(_)
            | Event::EditPageText { .. }
            | Event::ConfirmIdentity
            | Event::ConfirmPresence
            | Event::SupplementCase(_)
            | Event::ChooseCategory(_)
            | Event::CaptureRequested
            | Event::DeletePage(_)
            | Event::RepeatAnswered(_)
            | Event::FinishCapture
            | Event::Keyboard(_)
            | Event::DescriptionEdited(_)
            | Event::SkipDescription
            | Event::FinishDescription
            | Event::PhoneDigit(_)
            | Event::PhoneBackspace
            | Event::PhoneClear
            | Event::ConfirmPhone
            | Event::NoPhone
            | Event::NoPhoneConfirmed(_)
            | Event::EditDescription
            | Event::EditPhone
            | Event::Submit
            | Event::Back
            | Event::Done
            | Event::CardRead(_)
            | Event::PageCaptured { .. }
            | Event::TechnicianEnter
            | Event::ExportDiagnostics
            | Event::TestPrint
            | Event::QueryStart
            | Event::RateCase(_)
            | Event::PrintNotice(_)
            | Event::RatingScore(_)
            | Event::RatingReason(_)
            | Event::SubmitRating
            | Event::VoiceRecord
            | Event::VoiceStop
            | Event::VoicePlay
            | Event::VoiceDelete
    )
}
