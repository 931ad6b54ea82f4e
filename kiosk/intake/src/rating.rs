//! The progress query and the satisfaction rating: what a petitioner sees
//! after placing their card to look up earlier registrations, and the rating
//! (1–5 with short reasons) they may give a closed one.
//!
//! The reason codes travel to the registry, which accepts exactly the codes of
//! `registry_api::RATING_REASONS`; a test in the app crate keeps both lists equal.

use kiosk_privacy::IdNumber;

use crate::machine::{CaseStatus, History};

/// One reason chip: the code sent to the registry and the words shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reason {
    pub code: &'static str,
    pub label: &'static str,
}

/// The reason chips of the rating screen, in display order.
pub const REASONS: &[Reason] = &[
    Reason {
        code: "timely",
        label: "办理及时",
    },
    Reason {
        code: "courteous",
        label: "态度好",
    },
    Reason {
        code: "resolved",
        label: "问题已解决",
    },
    Reason {
        code: "slow",
        label: "办理太慢",
    },
    Reason {
        code: "unresolved",
        label: "问题没解决",
    },
    Reason {
        code: "discourteous",
        label: "态度不好",
    },
];

/// The words of scores 1 to 5.
pub const SCORE_LABELS: [&str; 5] = ["很不满意", "不满意", "一般", "满意", "很满意"];

/// The reason with this code.
pub fn reason(code: &str) -> Option<&'static Reason> {
    REASONS.iter().find(|r| r.code == code)
}

/// A progress query in front of the terminal: personal (the ID number and the
/// person's history), so it is dropped with every session end.
#[derive(Debug)]
pub struct QuerySession {
    pub id_number: IdNumber,
    pub history: History,
    /// Cases rated during this visit.
    pub rated: Vec<String>,
    /// The rating being filled in on the rating screen.
    pub draft: Option<RatingDraft>,
    /// A notice is at the printer: another press waits for it.
    pub printing_notice: bool,
}

impl QuerySession {
    /// True when this case was rated, during this visit or before (the registry's history says so).
    pub fn is_rated(&self, case_number: &str) -> bool {
        self.rated.iter().any(|c| c == case_number)
            || matches!(&self.history, History::Loaded(rows)
                if rows.iter().any(|r| r.case_number == case_number && r.rating.is_some()))
    }

    /// True when the case is in the loaded history, closed, and not rated yet.
    pub fn can_rate(&self, case_number: &str) -> bool {
        let closed = matches!(&self.history, History::Loaded(rows)
            if rows.iter().any(|r| r.case_number == case_number && r.status == CaseStatus::Closed));
        closed && !self.is_rated(case_number)
    }
}

/// The rating screen's choices so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingDraft {
    pub case_number: String,
    /// 1..=5 once chosen.
    pub score: Option<u8>,
    /// Codes of the chosen reasons, in [`REASONS`] order.
    pub reasons: Vec<&'static str>,
    /// The seal was requested and has not answered yet.
    pub sending: bool,
}

/// A rating for the shell to queue and upload.
#[derive(Debug, Clone)]
pub struct RatingRequest {
    /// For the keyed hash the registry checks against the case's petitioner;
    /// the shell never stores the number itself.
    pub id_number: IdNumber,
    pub case_number: String,
    pub score: u8,
    pub reasons: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_have_unique_codes_and_short_labels() {
        for (i, r) in REASONS.iter().enumerate() {
            assert_eq!(reason(r.code), Some(r));
            assert!(REASONS[i + 1..].iter().all(|o| o.code != r.code));
            assert!(r.label.chars().count() <= 5, "{}", r.label);
        }
        assert!((4..=6).contains(&REASONS.len()));
        assert_eq!(reason("nope"), None);
    }
}
