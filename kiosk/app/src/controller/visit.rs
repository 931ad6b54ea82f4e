//! What the controller keeps for the one visit in front of the terminal: a
//! value made when the machine starts a visit and dropped when it ends
//! (`Shell::follow_visit`), so nothing of one visitor can be left over for
//! the next by a forgotten reset.

use std::hash::{Hash, Hasher};
use std::time::Instant;

use intake::{Event, History, Session, VisitId};
use kiosk_printer::Receipt;

use crate::registration::recognised_texts;
use crate::typing::Typing;

pub(super) struct Visit {
    pub id: VisitId,
    /// When the visitor's card was read (for the card-to-case-number timing).
    pub card_at: Option<Instant>,
    /// The routing suggestion and a digest of the content it was computed
    /// from (tile, every page's text, the description).
    suggestion: Option<(u64, Option<kiosk_classify::Suggestion>)>,
    /// The repeat check ran for this visit.
    repeat_checked: bool,
    /// The sealed registration's receipt, waiting for its case number.
    pub to_print: Option<(Receipt, Instant)>,
    /// The description keyboard's composition.
    pub typing: Typing,
    /// The print job of the notice this visitor asked for, while it prints
    /// (its report is shown to this visit only).
    pub notice_tag: Option<u64>,
    /// The microphone, while this visitor records a voice note (dropping it
    /// stops the capture and wipes what it heard).
    pub recording: Option<kiosk_voice::Recording>,
    /// This visitor's note playing on the speaker.
    pub playing: Option<kiosk_voice::Playing>,
}

impl Drop for Visit {
    /// A note still playing stops with its visit.
    fn drop(&mut self) {
        if let Some(p) = self.playing.take() {
            p.stop();
        }
    }
}

impl Visit {
    pub fn new(id: VisitId) -> Visit {
        Visit {
            id,
            card_at: None,
            suggestion: None,
            repeat_checked: false,
            to_print: None,
            typing: Typing::new(),
            notice_tag: None,
            recording: None,
            playing: None,
        }
    }

    /// The routing suggestion for the session, computed again whenever its
    /// inputs change (their content, not their length).
    pub fn suggestion(
        &mut self,
        classifier: &kiosk_classify::Classifier,
        s: &Session,
    ) -> Option<&kiosk_classify::Suggestion> {
        let texts = recognised_texts(s);
        let tile = s.category.map(|c| c.code);
        let mut digest = std::collections::hash_map::DefaultHasher::new();
        (tile, &texts, s.description.expose()).hash(&mut digest);
        let key = digest.finish();
        if self.suggestion.as_ref().is_none_or(|(k, _)| *k != key) {
            let id = s.identity.id_number.expose();
            let top = classifier
                .classify(&kiosk_classify::ClassifyInput {
                    texts: &texts,
                    description: s.description.expose(),
                    tile,
                    id_region: id.get(..6),
                    address: Some(s.identity.address.expose()),
                    override_category: None,
                    override_unit: None,
                })
                .into_iter()
                .next();
            self.suggestion = Some((key, top));
        }
        self.suggestion.as_ref().and_then(|(_, top)| top.as_ref())
    }

    /// Once per visit, when the history suggests it: the question whether
    /// this is the same matter as an earlier case of the petitioner's, as the
    /// event the machine takes.
    pub fn check_repeat(
        &mut self,
        secret: &kiosk_classify::TerminalSecret,
        s: &Session,
        suggested_category: Option<String>,
    ) -> Option<Event> {
        if self.repeat_checked {
            return None;
        }
        let History::Loaded(rows) = &s.history else {
            return None;
        };
        self.repeat_checked = true;
        if s.repeat.is_some() || rows.is_empty() {
            return None;
        }
        let texts = recognised_texts(s);
        let fingerprint = kiosk_classify::TextFingerprint::of(&texts);
        let petitioner = kiosk_classify::PetitionerKey::derive(secret, &s.identity.id_number);
        let history: Vec<kiosk_classify::EarlierCase> = rows
            .iter()
            .map(|r| kiosk_classify::EarlierCase {
                reference: r.case_number.clone(),
                registered_at: r.registered_at.clone(),
                state: r.status.as_str().to_string(),
                category: r.category.clone(),
                text: None,
            })
            .collect();
        let tile = s.category.map(|c| c.code).filter(|c| *c != intake::UNSURE);
        let category = tile.map(str::to_string).or(suggested_category)?;
        let matches = kiosk_classify::check_repeats(
            &kiosk_classify::RepeatPolicy::default(),
            &kiosk_classify::Probe {
                petitioner: &petitioner,
                category: &category,
                text: &fingerprint,
            },
            &history,
            &kiosk_classify::RecentRegistrations::default(),
        );
        matches.first().map(|first| Event::RepeatSuspected {
            visit: self.id,
            earlier_case: first.reference.clone(),
            question: first.question(),
        })
    }
}

#[cfg(test)]
mod tests {
    use idcard_proto::{CardText, DocType, Sex};
    use intake::{Event, Intake, Millis, Timeouts};
    use kiosk_privacy::{Address, IdNumber, PersonName, PersonalText};

    use super::*;

    /// A machine on the description screen, the tile "not sure", one page
    /// recognised with a text that names no matter.
    fn on_describe() -> Intake {
        let mut m = Intake::new(Timeouts::default());
        let mut t = 0;
        let mut send = |m: &mut Intake, e: Event| {
            t += 100;
            m.handle(e, Millis(t))
        };
        send(&mut m, Event::Start);
        send(
            &mut m,
            Event::CardRead(Box::new(CardText {
                doc_type: DocType::Resident,
                name: PersonName::new("测试样例"),
                sex: Sex::Male,
                ethnicity: None,
                nationality: None,
                birth: None,
                address: Address::default(),
                id_number: IdNumber::new("11010519491231002X"),
                authority: String::new(),
                valid_from: None,
                valid_to: None,
            })),
        );
        send(&mut m, Event::ConfirmIdentity);
        send(&mut m, Event::ChooseCategory(intake::UNSURE.into()));
        let fx = send(&mut m, Event::CaptureRequested);
        let Some(intake::Effect::CapturePage { visit, page_id }) = fx.into_iter().next() else {
            panic!("a capture is asked for")
        };
        send(
            &mut m,
            Event::PageCaptured {
                visit,
                page_id,
                jpeg: vec![1],
                thumb: intake::Thumb {
                    width: 1,
                    height: 1,
                    rgba: vec![0; 4],
                },
            },
        );
        send(
            &mut m,
            Event::OcrFinished {
                visit,
                page_id,
                result: Some((PersonalText::new("情况说明"), 0.9)),
                doubtful: vec![],
            },
        );
        send(&mut m, Event::FinishCapture);
        m
    }

    #[test]
    fn a_correction_of_the_same_length_computes_the_suggestion_again() {
        let classifier = kiosk_classify::Classifier::builtin();
        let mut m = on_describe();
        let mut visit = Visit::new(m.visit());
        m.handle(
            Event::DescriptionEdited(PersonalText::new("公司拖欠工资")),
            Millis(10_000),
        );
        let wages = visit
            .suggestion(&classifier, m.session().unwrap())
            .map(|s| s.category.clone());
        // The same number of characters and bytes, another matter.
        m.handle(
            Event::DescriptionEdited(PersonalText::new("村里征地补偿")),
            Millis(10_100),
        );
        let land = visit
            .suggestion(&classifier, m.session().unwrap())
            .map(|s| s.category.clone());
        assert_eq!(wages.as_deref(), Some("labour"));
        assert_eq!(
            land.as_deref(),
            Some("land"),
            "not the stale wage suggestion"
        );
    }
}
