//! Shared by the machine's scripted tests: results addressed to "the visit
//! the machine is in now", filled in when the script sends them.

use intake::{Event, VisitId};

/// Stands for the machine's current visit in a scripted result; the
/// scripts replace it with [`intake::Intake::visit`] before sending.
pub const CURRENT: VisitId = VisitId(0);

/// `e` with its visit set to `visit` when it says [`CURRENT`].
pub fn addressed(e: Event, visit: VisitId) -> Event {
    if e.visit() != Some(CURRENT) {
        return e;
    }
    match e {
        Event::HistoryLoaded { rows, .. } => Event::HistoryLoaded { visit, rows },
        Event::HistoryUnavailable { .. } => Event::HistoryUnavailable { visit },
        Event::HistoryLimited { .. } => Event::HistoryLimited { visit },
        Event::PageCaptured {
            page_id,
            jpeg,
            thumb,
            ..
        } => Event::PageCaptured {
            visit,
            page_id,
            jpeg,
            thumb,
        },
        Event::PageRejected {
            page_id,
            kind,
            reason,
            ..
        } => Event::PageRejected {
            visit,
            page_id,
            kind,
            reason,
        },
        Event::OcrFinished {
            page_id,
            result,
            doubtful,
            ..
        } => Event::OcrFinished {
            visit,
            page_id,
            result,
            doubtful,
        },
        Event::RepeatSuspected {
            earlier_case,
            question,
            ..
        } => Event::RepeatSuspected {
            visit,
            earlier_case,
            question,
        },
        Event::Sealed { local_ref, .. } => Event::Sealed { visit, local_ref },
        Event::SealFailed { reason, .. } => Event::SealFailed { visit, reason },
        Event::PinChecked { role, .. } => Event::PinChecked { visit, role },
        Event::QueueLoaded { rows, .. } => Event::QueueLoaded { visit, rows },
        Event::RatingSealed { case_number, .. } => Event::RatingSealed { visit, case_number },
        Event::RatingSealFailed { reason, .. } => Event::RatingSealFailed { visit, reason },
        Event::VoiceRecorded { note, .. } => Event::VoiceRecorded { visit, note },
        Event::VoiceRefused { no_speech, .. } => Event::VoiceRefused { visit, no_speech },
        other => other,
    }
}
