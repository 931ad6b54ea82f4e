//! One visit never sees another's data: results that come back late, after
//! the visit that asked for them ended, are dropped (fake clock).
//!
//! Visitor A has pages still being recognised, a history answer and a
//! repeat check on the way when a clerk cancels; visitor B starts at once.
//! Whatever of A's arrives then must not touch B's screen or registration.

use idcard_proto::{CardText, DocType, Sex};
use intake::{
    Effect, Event, History, Intake, Millis, Ocr, PastRegistration, Screen, Thumb, Timeouts,
};
use kiosk_privacy::{Address, IdNumber, PersonName, PersonalText};

const A_ID: &str = "11010519491231002X";
const B_ID: &str = "110105198001010016";

fn card(id: &str, name: &str) -> Box<CardText> {
    Box::new(CardText {
        doc_type: DocType::Resident,
        name: PersonName::new(name),
        sex: Sex::Male,
        ethnicity: Some("汉"),
        nationality: None,
        birth: None,
        address: Address::new("北京市东城区样本路1号"),
        id_number: IdNumber::new(id),
        authority: "样本公安局".into(),
        valid_from: None,
        valid_to: None,
    })
}

fn thumb() -> Thumb {
    Thumb {
        width: 2,
        height: 2,
        rgba: vec![0; 16],
    }
}

fn case(n: &str, status: &str) -> PastRegistration {
    PastRegistration {
        case_number: n.into(),
        registered_at: "2026-11-01T09:00:00+08:00".into(),
        category: "labour".into(),
        status: status.parse().unwrap(),
        rating: None,
        notices: Vec::new(),
    }
}

/// What an effect asked for: the visit it belongs to, as the results must quote it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ask {
    visit: intake::VisitId,
    page_id: u32,
}

struct Script {
    m: Intake,
    now: u64,
}

impl Script {
    fn new() -> Self {
        Script {
            m: Intake::new(Timeouts::default()),
            now: 1_000,
        }
    }
    fn send(&mut self, e: Event) -> Vec<Effect> {
        self.now += 100;
        self.m.handle(e, Millis(self.now))
    }
    /// Card read → identity; returns the history request's visit.
    fn read_card(&mut self, id: &str, name: &str) -> intake::VisitId {
        self.send(Event::Start);
        let fx = self.send(Event::CardRead(card(id, name)));
        fx.iter()
            .find_map(|e| match e {
                Effect::FetchHistory { visit, .. } => Some(*visit),
                _ => None,
            })
            .expect("the history is asked for")
    }
    /// "拍照": returns what the capture asked for.
    fn capture(&mut self) -> Ask {
        let fx = self.send(Event::CaptureRequested);
        fx.iter()
            .find_map(|e| match e {
                Effect::CapturePage { visit, page_id } => Some(Ask {
                    visit: *visit,
                    page_id: *page_id,
                }),
                _ => None,
            })
            .expect("a capture is asked for")
    }
    fn captured(&mut self, ask: Ask) {
        self.send(Event::PageCaptured {
            visit: ask.visit,
            page_id: ask.page_id,
            jpeg: vec![1, 2, 3],
            thumb: thumb(),
        });
    }
    fn ocr(&mut self, ask: Ask, text: &str) -> Vec<Effect> {
        self.send(Event::OcrFinished {
            visit: ask.visit,
            page_id: ask.page_id,
            result: Some((PersonalText::new(text), 0.9)),
            doubtful: vec![],
        })
    }
}

/// A: card, category, three pages waiting for recognition, then cancel.
/// Returns the history visit and the three page requests.
fn visitor_a_cancels(s: &mut Script) -> (intake::VisitId, Vec<Ask>) {
    let visit = s.read_card(A_ID, "甲某");
    s.send(Event::ConfirmIdentity);
    s.send(Event::ChooseCategory("labour".into()));
    let mut asks = Vec::new();
    for _ in 0..3 {
        let ask = s.capture();
        s.captured(ask);
        asks.push(ask);
    }
    assert_eq!(s.m.session().unwrap().pages.len(), 3);
    s.send(Event::Cancel);
    assert!(s.m.session().is_none());
    (visit, asks)
}

/// B: card, history answered (no cases), category, on the capture screen.
fn visitor_b_on_capture(s: &mut Script) -> intake::VisitId {
    let visit = s.read_card(B_ID, "乙某");
    s.send(Event::HistoryLoaded {
        visit,
        rows: vec![],
    });
    s.send(Event::ConfirmIdentity);
    s.send(Event::ChooseCategory("land".into()));
    assert_eq!(s.m.screen(), Screen::Capture);
    visit
}

#[test]
fn late_recognition_of_a_cancelled_visit_never_lands_in_the_next() {
    let mut s = Script::new();
    let (_, a_pages) = visitor_a_cancels(&mut s);
    visitor_b_on_capture(&mut s);
    let b_page = s.capture();
    s.captured(b_page);
    assert!(
        a_pages.iter().all(|a| a.visit != b_page.visit),
        "B's capture is of another visit than A's"
    );
    assert!(
        a_pages.iter().all(|a| a.page_id != b_page.page_id),
        "page ids are not reused: {a_pages:?} {b_page:?}"
    );

    // A's three results arrive now.
    for a in &a_pages {
        s.ocr(*a, "甲某反映村委会拖欠征地补偿款");
        // Also with B's page number, as the old page numbering would have it.
        s.ocr(
            Ask {
                visit: a.visit,
                page_id: b_page.page_id,
            },
            "甲某反映村委会拖欠征地补偿款",
        );
    }
    let session = s.m.session().unwrap();
    assert_eq!(session.identity.id_number.expose(), B_ID);
    assert_eq!(session.pages.len(), 1, "A's pages never join B's");
    assert_eq!(
        session.pages[0].ocr,
        Ocr::Pending,
        "B's page waits for its own text"
    );

    // B finishes: the sealed registration holds B's text only.
    s.ocr(b_page, "乙某反映工资被拖欠");
    s.send(Event::FinishCapture);
    s.send(Event::SkipDescription);
    s.send(Event::NoPhone);
    s.send(Event::NoPhoneConfirmed(true));
    assert_eq!(s.m.screen(), Screen::Review);
    let fx = s.send(Event::Submit);
    let seal = fx
        .into_iter()
        .find_map(|e| match e {
            Effect::Seal { request, .. } => Some(request),
            _ => None,
        })
        .expect("B's registration is sealed");
    assert_eq!(seal.identity.id_number.expose(), B_ID);
    assert_eq!(seal.pages.len(), 1);
    let Ocr::Done { text, .. } = &seal.pages[0].ocr else {
        panic!("B's page is recognised")
    };
    assert_eq!(text.expose(), "乙某反映工资被拖欠");
}

#[test]
fn a_late_page_or_refusal_of_a_cancelled_visit_is_dropped() {
    let mut s = Script::new();
    s.read_card(A_ID, "甲某");
    s.send(Event::ConfirmIdentity);
    s.send(Event::ChooseCategory("labour".into()));
    let a_first = s.capture();
    s.send(Event::Cancel);
    visitor_b_on_capture(&mut s);
    let b_page = s.capture();
    assert!(s.m.session().unwrap().capture_busy);

    // A's page, photographed as A left, comes back while B's is being taken.
    s.captured(a_first);
    s.send(Event::PageRejected {
        visit: a_first.visit,
        page_id: a_first.page_id,
        kind: intake::MessageKind::PageBlank,
        reason: "这一页是空白的".into(),
    });
    let session = s.m.session().unwrap();
    assert!(session.pages.is_empty(), "A's page is not B's");
    assert!(session.capture_busy, "B's capture is still on its way");
    assert!(s.m.message().is_none(), "A's refusal is not shown to B");

    s.captured(b_page);
    let session = s.m.session().unwrap();
    assert_eq!(session.pages.len(), 1);
    assert!(!session.capture_busy);
}

#[test]
fn a_late_history_never_shows_the_previous_visitors_cases() {
    let mut s = Script::new();
    let a_visit = s.read_card(A_ID, "甲某");
    s.send(Event::Cancel);
    let b_visit = s.read_card(B_ID, "乙某");
    assert_ne!(a_visit, b_visit);
    // A's history answer is late (the registry was slow).
    s.send(Event::HistoryLoaded {
        visit: a_visit,
        rows: vec![case("XF-2026-000007", "in_progress")],
    });
    assert_eq!(
        s.m.session().unwrap().history,
        History::Loading,
        "B's screen never shows A's cases"
    );
    // A's open case cannot be offered to B for a supplement.
    s.send(Event::SupplementCase("XF-2026-000007".into()));
    assert_eq!(s.m.screen(), Screen::Identity);
    assert!(s.m.session().unwrap().repeat.is_none());
    s.send(Event::HistoryUnavailable { visit: a_visit });
    assert_eq!(s.m.session().unwrap().history, History::Loading);

    s.send(Event::HistoryLoaded {
        visit: b_visit,
        rows: vec![],
    });
    assert_eq!(s.m.session().unwrap().history, History::Loaded(vec![]));
}

#[test]
fn a_late_repeat_question_of_another_visit_is_not_asked() {
    let mut s = Script::new();
    let a_visit = s.read_card(A_ID, "甲某");
    s.send(Event::Cancel);
    let b_visit = visitor_b_on_capture(&mut s);
    s.send(Event::RepeatSuspected {
        visit: a_visit,
        earlier_case: "XF-2026-000007".into(),
        question: "与2026-11-01登记的XF-2026-000007（办理中）是同一件事吗？".into(),
    });
    assert!(
        s.m.session().unwrap().repeat.is_none(),
        "A's question is not B's"
    );
    s.send(Event::RepeatSuspected {
        visit: b_visit,
        earlier_case: "XF-2026-000009".into(),
        question: "与2026-10-01登记的XF-2026-000009（办理中）是同一件事吗？".into(),
    });
    assert_eq!(
        s.m.session().unwrap().repeat.as_ref().unwrap().earlier_case,
        "XF-2026-000009"
    );
}

#[test]
fn a_late_history_of_a_previous_progress_query_is_dropped() {
    let mut s = Script::new();
    s.send(Event::QueryStart);
    let fx = s.send(Event::CardRead(card(A_ID, "甲某")));
    let a_visit = fx
        .iter()
        .find_map(|e| match e {
            Effect::FetchHistory { visit, .. } => Some(*visit),
            _ => None,
        })
        .unwrap();
    s.send(Event::Back);
    s.send(Event::QueryStart);
    let fx = s.send(Event::CardRead(card(B_ID, "乙某")));
    let b_visit = fx
        .iter()
        .find_map(|e| match e {
            Effect::FetchHistory { visit, .. } => Some(*visit),
            _ => None,
        })
        .unwrap();
    assert_eq!(s.m.screen(), Screen::Progress);
    s.send(Event::HistoryLoaded {
        visit: a_visit,
        rows: vec![case("XF-2026-000007", "closed")],
    });
    assert_eq!(s.m.query().unwrap().history, History::Loading);
    assert!(!s.m.query().unwrap().can_rate("XF-2026-000007"));
    s.send(Event::HistoryLoaded {
        visit: b_visit,
        rows: vec![case("XF-2026-000011", "closed")],
    });
    assert!(s.m.query().unwrap().can_rate("XF-2026-000011"));
}

#[test]
fn leaving_a_visit_says_so_for_its_work_to_be_cancelled() {
    let mut s = Script::new();
    let (a_visit, _) = visitor_a_cancels(&mut s);
    // The cancel above ended A; the effect names A's visit.
    let mut s2 = Script::new();
    let v = s2.read_card(A_ID, "甲某");
    assert_eq!(v, s2.m.visit());
    let fx = s2.send(Event::Cancel);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::EndVisit(ended) if *ended == v)),
        "{fx:?}"
    );
    assert_ne!(s2.m.visit(), v, "a new visit id after leaving");
    assert_ne!(s.m.visit(), a_visit);
}

/// A clerk types A's identity and confirms presence; before A's history
/// arrives the clerk goes back and types B's. A's late answer is dropped,
/// and B's history waits for its own confirmation.
#[test]
fn a_late_history_of_a_typed_identity_never_shows_in_the_next() {
    let mut s = Script::new();
    s.send(Event::StaffEntry);
    s.send(Event::StaffPin(kiosk_privacy::StaffPin::new("246810")));
    s.send(Event::PinChecked {
        visit: s.m.visit(),
        role: Some(intake::StaffRole::Clerk),
    });
    s.send(Event::ClerkManualEntry);
    let typed = |s: &mut Script, id: &str| {
        s.send(Event::ManualIdentity {
            id_number: IdNumber::new(id),
            name: PersonName::new("代办样例"),
        })
    };
    assert!(typed(&mut s, A_ID).is_empty(), "nothing asked before confirmation");
    let a = s
        .send(Event::ConfirmPresence)
        .iter()
        .find_map(|e| match e {
            Effect::FetchHistory { visit, .. } => Some(*visit),
            _ => None,
        })
        .expect("asked once confirmed");
    s.send(Event::Back);
    assert_eq!(s.m.screen(), Screen::ManualId);
    typed(&mut s, B_ID);
    s.send(Event::HistoryLoaded {
        visit: a,
        rows: vec![case("XF-2026-000001", "registered")],
    });
    let b = s.m.session().expect("B's session");
    assert_eq!(b.identity.id_number.expose(), B_ID);
    assert_eq!(b.history, History::AwaitingPresence, "A's cases never reach B");
}

#[test]
fn a_turned_page_replaces_its_picture_and_a_late_turn_is_dropped() {
    let mut s = Script::new();
    s.read_card(A_ID, "甲某");
    s.send(Event::ConfirmIdentity);
    s.send(Event::ChooseCategory("labour".into()));
    let a_page = s.capture();
    s.captured(a_page);
    s.send(Event::Cancel);
    visitor_b_on_capture(&mut s);
    let b_page = s.capture();
    s.captured(b_page);
    // The same page id in both visits: only the visit tells them apart.
    let turned = |ask: Ask, byte: u8| Event::PageTurned {
        visit: ask.visit,
        page_id: ask.page_id,
        jpeg: vec![byte; 4],
        thumb: thumb(),
    };
    s.send(turned(a_page, 7));
    assert_eq!(s.m.session().unwrap().pages[0].jpeg, [1, 2, 3], "A's turn is not B's page");
    s.send(turned(b_page, 9));
    assert_eq!(s.m.session().unwrap().pages[0].jpeg, [9; 4]);
    // The text that follows lands as before.
    s.ocr(b_page, "情况说明");
    assert!(matches!(
        s.m.session().unwrap().pages[0].ocr,
        intake::Ocr::Done { .. }
    ));
}
