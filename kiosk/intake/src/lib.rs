//! The intake flow of the petition terminal, free of IO.
//!
//! [`machine`] holds the one state machine of a visit, [`category`] the tiles a
//! petitioner picks from, [`phone`] the contact number's checks. The crate never
//! touches a device, a file, a socket or
//! the clock: the app shell feeds it events with the time and carries out the
//! effects it returns, so every path can be tested on a fake clock.
//!
//! **Architecture Invariant:** this crate depends on no UI, database, network
//! or image library (checked in CI with `cargo tree`).

pub mod category;
pub mod machine;
pub mod rating;
pub mod staff;
pub mod phone;

pub use category::{Category, CATEGORIES, UNSURE};
pub use machine::{
    CaseStatus, Effect, Event, History, Intake, KeyboardKey, Message, MessageKind, Millis, Ocr,
    Page, PastRegistration, CaseNotice, RepeatQuestion, Screen, SealRequest, Session, Thumb, Timeouts,
    UnknownStatus, VisitId, Voice, VoiceNote, MAX_DESCRIPTION_CHARS,
};
pub use rating::{QuerySession, RatingDraft, RatingRequest, Reason, REASONS, SCORE_LABELS};
pub use staff::{Lockout, QueueRow, QueueStatus, StaffRole};
