//! The progress query and rating screens of the machine (query card read,
//! progress list, rating), kept apart from the registration flow.

use kiosk_privacy::IdNumber;

use super::{Effect, Event, History, Intake, Message, MessageKind, Millis, State};
use crate::rating::{self, QuerySession, RatingDraft, RatingRequest};

impl Intake {
    /// The progress query, while one is open.
    pub fn query(&self) -> Option<&QuerySession> {
        self.query.as_ref()
    }

    /// True on the card, progress and rating screens of a progress query.
    pub fn query_mode(&self) -> bool {
        matches!(
            self.state,
            State::QueryCard | State::Progress | State::Rating
        )
    }

    /// True on the screens of a progress query (and for its start button).
    pub(super) fn in_query(&self, event: &Event) -> bool {
        matches!(
            self.state,
            State::QueryCard | State::Progress | State::Rating
        ) || matches!((&self.state, event), (State::Welcome, Event::QueryStart))
    }

    /// Query card → progress → rating; every way out ends the session.
    pub(super) fn step_query(&mut self, event: Event, _now: Millis, fx: &mut Vec<Effect>) {
        match (&self.state, event) {
            (State::Welcome, Event::QueryStart) => {
                self.message = None;
                self.state = State::QueryCard;
            }
            (State::QueryCard, Event::CardRead(text)) => {
                let id_number: IdNumber = text.id_number.clone();
                self.new_visit();
                fx.push(Effect::FetchHistory {
                    visit: self.visit,
                    id_number: id_number.clone(),
                    identity_typed: false,
                });
                self.query = Some(QuerySession {
                    id_number,
                    history: History::Loading,
                    rated: Vec::new(),
                    draft: None,
                    printing_notice: false,
                });
                self.message = None;
                self.state = State::Progress;
            }
            (State::QueryCard, Event::CardFailed(reason)) => {
                self.message = Some(Message::new(MessageKind::CardUnread, reason, true))
            }
            (State::QueryCard, Event::CardReaderBack)
                if self.message.as_ref().is_some_and(|m| m.is_error) =>
            {
                self.message = None;
            }
            (State::QueryCard | State::Progress, Event::Back | Event::Done) => self.end_session(),
            (_, Event::HistoryLoaded { rows, .. }) => {
                if let Some(q) = &mut self.query {
                    q.history = History::Loaded(rows);
                }
            }
            (_, Event::HistoryUnavailable { .. }) => {
                if let Some(q) = &mut self.query {
                    q.history = History::Unavailable;
                }
            }
            (_, Event::HistoryLimited { .. }) => {
                if let Some(q) = &mut self.query {
                    q.history = History::Limited;
                }
            }
            (State::Progress, Event::RateCase(case_number)) => {
                let Some(q) = &mut self.query else { return };
                if q.can_rate(&case_number) {
                    q.draft = Some(RatingDraft {
                        case_number,
                        score: None,
                        reasons: Vec::new(),
                        sending: false,
                    });
                    self.message = None;
                    self.state = State::Rating;
                }
            }
            (State::Progress, Event::PrintNotice(case_number)) => {
                let Some(q) = &mut self.query else { return };
                let History::Loaded(rows) = &q.history else {
                    return;
                };
                let notice = rows
                    .iter()
                    .find(|r| r.case_number == case_number)
                    .and_then(|r| r.notices.last());
                let Some(notice) = notice else { return };
                if q.printing_notice {
                    return;
                }
                q.printing_notice = true;
                fx.push(Effect::PrintNotice {
                    visit: self.visit,
                    case_number,
                    notice: notice.clone(),
                });
                self.message = Some(Message::new(
                    MessageKind::NoticePrinted,
                    "正在打印告知书…",
                    false,
                ));
            }
            (_, Event::NoticePrinted { message, .. }) => {
                let Some(q) = &mut self.query else { return };
                q.printing_notice = false;
                if self.state == State::Progress {
                    self.message = Some(message);
                }
            }
            (State::Rating, Event::RatingScore(score)) => {
                if let Some(d) = self.draft_mut() {
                    if (1..=5).contains(&score) {
                        d.score = Some(score);
                    }
                }
            }
            (State::Rating, Event::RatingReason(code)) => {
                let Some(reason) = rating::reason(&code) else {
                    return;
                };
                if let Some(d) = self.draft_mut() {
                    if d.reasons.contains(&reason.code) {
                        d.reasons.retain(|c| *c != reason.code);
                    } else {
                        d.reasons.push(reason.code);
                        let order = |c: &&str| rating::REASONS.iter().position(|r| r.code == *c);
                        d.reasons.sort_by_key(order);
                    }
                }
            }
            (State::Rating, Event::SubmitRating) => {
                let Some(q) = &mut self.query else { return };
                let Some(d) = &mut q.draft else { return };
                if d.sending {
                    return;
                }
                let Some(score) = d.score else {
                    self.say_error("请先选择评分".into());
                    return;
                };
                d.sending = true;
                self.message = None;
                fx.push(Effect::SealRating {
                    visit: self.visit,
                    request: Box::new(RatingRequest {
                        id_number: q.id_number.clone(),
                        case_number: d.case_number.clone(),
                        score,
                        reasons: d.reasons.iter().map(|c| c.to_string()).collect(),
                    }),
                });
            }
            (State::Rating, Event::RatingSealed { case_number, .. }) => {
                let Some(q) = &mut self.query else { return };
                if q.draft
                    .as_ref()
                    .is_some_and(|d| d.case_number == case_number)
                {
                    q.draft = None;
                    q.rated.push(case_number);
                    self.message = Some(Message::info("感谢您的评价！"));
                    self.state = State::Progress;
                }
            }
            (State::Rating, Event::RatingSealFailed { reason, .. }) => {
                if let Some(d) = self.draft_mut() {
                    d.sending = false;
                }
                self.say_error(reason);
            }
            (State::Rating, Event::Back) => {
                if let Some(q) = &mut self.query {
                    q.draft = None;
                }
                self.message = None;
                self.state = State::Progress;
            }
            // Anything else does not apply to these screens.
            _ => {}
        }
    }

    fn draft_mut(&mut self) -> Option<&mut RatingDraft> {
        self.query.as_mut().and_then(|q| q.draft.as_mut())
    }
}
