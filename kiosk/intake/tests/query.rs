//! The progress query and rating screens of the machine: card in query mode,
//! the list of registrations, rating a closed one, and the wipe on every exit.

use std::time::Duration;

use idcard_proto::{CardText, DocType, Sex};
use intake::{Effect, Event, History, Intake, Millis, PastRegistration, Screen, Timeouts};
use kiosk_privacy::{Address, IdNumber, PersonName};

fn card() -> Box<CardText> {
    Box::new(CardText {
        doc_type: DocType::Resident,
        name: PersonName::new("测试样例"),
        sex: Sex::Male,
        ethnicity: Some("汉"),
        nationality: None,
        birth: None,
        address: Address::new("北京市东城区样本路1号"),
        id_number: IdNumber::new("11010519491231002X"),
        authority: "样本公安局".into(),
        valid_from: None,
        valid_to: None,
    })
}

fn row(case: &str, status: &str, rating: Option<u8>) -> PastRegistration {
    PastRegistration {
        case_number: case.into(),
        registered_at: "2026-11-01".into(),
        category: "劳动保障".into(),
        status: status.parse().unwrap(),
        rating,
        notices: Vec::new(),
    }
}

/// A machine on the progress screen with a closed, an open and an already rated case.
fn on_progress() -> (Intake, u64) {
    let mut m = Intake::new(Timeouts::default());
    let fx = m.handle(Event::QueryStart, Millis(1_000));
    assert_eq!(m.screen(), Screen::Card);
    assert!(m.query_mode(), "the card screen reads for a query");
    assert!(matches!(fx[..], [Effect::PollCard(true)]), "{fx:?}");
    let fx = m.handle(Event::CardRead(card()), Millis(1_100));
    assert_eq!(m.screen(), Screen::Progress);
    assert!(fx.iter().any(|e| matches!(e, Effect::FetchHistory { .. })));
    assert!(fx.iter().any(|e| matches!(e, Effect::PollCard(false))));
    assert!(m.session().is_none(), "a query opens no registration");
    assert_eq!(m.query().unwrap().history, History::Loading);
    m.handle(
        Event::HistoryLoaded { visit: m.visit(), rows: vec![
            row("XF-2026-000001", "closed", None),
            row("XF-2026-000002", "in_progress", None),
            row("XF-2026-000003", "closed", Some(5)),
        ] },
        Millis(1_200),
    );
    (m, 1_300)
}

#[test]
fn a_closed_case_is_rated_with_a_score_and_reasons_and_shows_as_rated() {
    let (mut m, t) = on_progress();
    let q = m.query().unwrap();
    assert!(q.can_rate("XF-2026-000001"));
    assert!(!q.can_rate("XF-2026-000002"), "not closed");
    assert!(!q.can_rate("XF-2026-000003"), "rated before");
    assert!(q.is_rated("XF-2026-000003"));

    m.handle(Event::RateCase("XF-2026-000001".into()), Millis(t));
    assert_eq!(m.screen(), Screen::Rating);
    assert!(m.handle(Event::SubmitRating, Millis(t + 10)).is_empty());
    assert_eq!(m.message().unwrap().text, "请先选择评分");
    m.handle(Event::RatingScore(9), Millis(t + 20));
    assert_eq!(m.query().unwrap().draft.as_ref().unwrap().score, None);
    m.handle(Event::RatingScore(4), Millis(t + 30));
    m.handle(Event::RatingReason("resolved".into()), Millis(t + 40));
    m.handle(Event::RatingReason("timely".into()), Millis(t + 50));
    m.handle(Event::RatingReason("slow".into()), Millis(t + 60));
    m.handle(Event::RatingReason("slow".into()), Millis(t + 70));
    m.handle(Event::RatingReason("bogus".into()), Millis(t + 80));
    let d = m.query().unwrap().draft.clone().unwrap();
    assert_eq!(d.score, Some(4));
    assert_eq!(d.reasons, ["timely", "resolved"], "toggled, in chip order");

    let fx = m.handle(Event::SubmitRating, Millis(t + 90));
    let [Effect::SealRating { request: req, .. }] = &fx[..] else {
        panic!("expected one seal, got {fx:?}")
    };
    assert_eq!(req.case_number, "XF-2026-000001");
    assert_eq!(req.score, 4);
    assert_eq!(req.reasons, ["timely", "resolved"]);
    assert_eq!(req.id_number.expose(), "11010519491231002X");
    assert!(
        m.handle(Event::SubmitRating, Millis(t + 95)).is_empty(),
        "a double tap seals once"
    );

    m.handle(
        Event::RatingSealed {
            visit: m.visit(),
            case_number: "XF-2026-000001".into(),
        },
        Millis(t + 100),
    );
    assert_eq!(m.screen(), Screen::Progress);
    assert_eq!(m.message().unwrap().text, "感谢您的评价！");
    let q = m.query().unwrap();
    assert!(q.is_rated("XF-2026-000001"));
    m.handle(Event::RateCase("XF-2026-000001".into()), Millis(t + 110));
    assert_eq!(m.screen(), Screen::Progress, "rated once per visit");
}

#[test]
fn open_or_unknown_cases_cannot_be_rated_and_back_returns_without_sealing() {
    let (mut m, t) = on_progress();
    m.handle(Event::RateCase("XF-2026-000002".into()), Millis(t));
    assert_eq!(m.screen(), Screen::Progress);
    m.handle(Event::RateCase("XF-2099-999999".into()), Millis(t));
    assert_eq!(m.screen(), Screen::Progress);
    m.handle(Event::RateCase("XF-2026-000001".into()), Millis(t));
    m.handle(Event::RatingScore(2), Millis(t + 10));
    m.handle(Event::Back, Millis(t + 20));
    assert_eq!(m.screen(), Screen::Progress);
    assert!(m.query().unwrap().draft.is_none());
    assert!(m.query().unwrap().can_rate("XF-2026-000001"));
    m.handle(Event::Back, Millis(t + 30));
    assert_eq!(m.screen(), Screen::Welcome);
    assert!(m.query().is_none(), "leaving wipes the history");
}

#[test]
fn a_failed_seal_keeps_the_rating_screen_with_the_reason() {
    let (mut m, t) = on_progress();
    m.handle(Event::RateCase("XF-2026-000001".into()), Millis(t));
    m.handle(Event::RatingScore(1), Millis(t + 10));
    assert_eq!(m.handle(Event::SubmitRating, Millis(t + 20)).len(), 1);
    m.handle(
        Event::RatingSealFailed { visit: m.visit(), reason: "存储空间不足".into() },
        Millis(t + 30),
    );
    assert_eq!(m.screen(), Screen::Rating);
    assert!(m.message().unwrap().is_error);
    assert_eq!(
        m.handle(Event::SubmitRating, Millis(t + 40)).len(),
        1,
        "may try again"
    );
}

#[test]
fn cancel_timeout_and_faults_wipe_the_query() {
    let (mut m, t) = on_progress();
    m.handle(Event::Cancel, Millis(t));
    assert_eq!(m.screen(), Screen::Welcome);
    assert!(m.query().is_none());

    let (mut m, t) = on_progress();
    m.handle(Event::RateCase("XF-2026-000001".into()), Millis(t));
    let limit = Timeouts::default().inactivity + Timeouts::default().still_there;
    let later = t + Duration::from_secs(95).as_millis() as u64;
    m.handle(Event::Tick, Millis(later));
    assert!(m.asking_still_there(Millis(later)));
    assert_eq!(m.screen(), Screen::Rating);
    m.handle(Event::Tick, Millis(t + limit.as_millis() as u64 + 1));
    assert_eq!(m.screen(), Screen::Welcome);
    assert!(m.query().is_none());

    let (mut m, t) = on_progress();
    m.handle(Event::DeviceFault("读卡器没有响应".into()), Millis(t));
    assert_eq!(m.screen(), Screen::Fault);
    assert!(m.query().is_none());
}

#[test]
fn an_offline_registry_is_shown_and_a_late_seal_answer_after_cancel_is_ignored() {
    let mut m = Intake::new(Timeouts::default());
    m.handle(Event::QueryStart, Millis(1_000));
    m.handle(Event::CardFailed("请重新放置身份证".into()), Millis(1_050));
    assert!(m.message().unwrap().is_error);
    assert_eq!(m.screen(), Screen::Card);
    m.handle(Event::CardRead(card()), Millis(1_100));
    m.handle(Event::HistoryUnavailable { visit: m.visit() }, Millis(1_200));
    assert_eq!(m.query().unwrap().history, History::Unavailable);
    assert!(!m.query().unwrap().can_rate("XF-2026-000001"));
    m.handle(Event::Done, Millis(1_300));
    assert_eq!(m.screen(), Screen::Welcome);
    m.handle(
        Event::RatingSealed {
            visit: m.visit(),
            case_number: "XF-2026-000001".into(),
        },
        Millis(1_400),
    );
    assert_eq!(m.screen(), Screen::Welcome);
    assert!(m.message().is_none());
}

#[test]
fn the_registration_flow_is_untouched_by_the_query_events() {
    let mut m = Intake::new(Timeouts::default());
    m.handle(Event::Start, Millis(1_000));
    m.handle(Event::CardRead(card()), Millis(1_100));
    assert_eq!(m.screen(), Screen::Identity, "a normal visit");
    assert!(m.query().is_none());
    m.handle(Event::RateCase("XF-2026-000001".into()), Millis(1_200));
    m.handle(Event::QueryStart, Millis(1_300));
    assert_eq!(m.screen(), Screen::Identity);
}

#[test]
fn the_latest_notice_is_printed_once_at_a_time_and_a_late_report_stays_with_its_visit() {
    let (mut m, t) = on_progress();
    let notice = |title: &str, text: &str| intake::CaseNotice {
        title: title.into(),
        issued_at: "2026-11-20T10:00:00+08:00".into(),
        text: text.into(),
    };
    let mut with_notices = row("XF-2026-000001", "closed", None);
    with_notices.notices = vec![notice("受理告知书", "予以受理"), notice("答复意见书", "现答复如下")];
    m.handle(
        Event::HistoryLoaded {
            visit: m.visit(),
            rows: vec![with_notices, row("XF-2026-000002", "in_progress", None)],
        },
        Millis(t),
    );
    // A case without a notice, or not the petitioner's: nothing to print.
    assert!(m.handle(Event::PrintNotice("XF-2026-000002".into()), Millis(t + 10)).is_empty());
    assert!(m.handle(Event::PrintNotice("XF-2099-999999".into()), Millis(t + 20)).is_empty());
    // The latest notice of the case goes to the printer, for this visit.
    let fx = m.handle(Event::PrintNotice("XF-2026-000001".into()), Millis(t + 30));
    let visit = m.visit();
    assert!(
        matches!(&fx[..], [Effect::PrintNotice { visit: v, case_number, notice }]
            if *v == visit && case_number == "XF-2026-000001" && notice.title == "答复意见书"),
        "{fx:?}"
    );
    assert_eq!(m.message().unwrap().text, "正在打印告知书…");
    // A second press while it prints does not print it twice.
    assert!(m.handle(Event::PrintNotice("XF-2026-000001".into()), Millis(t + 40)).is_empty());
    let printed = |visit| Event::NoticePrinted {
        visit,
        message: intake::Message::new(intake::MessageKind::NoticePrinted, "告知书已打印，请取走", false),
    };
    m.handle(printed(visit), Millis(t + 50));
    assert_eq!(m.message().unwrap().text, "告知书已打印，请取走");
    // Once printed, it can be printed again.
    assert_eq!(m.handle(Event::PrintNotice("XF-2026-000001".into()), Millis(t + 60)).len(), 1);

    // The petitioner leaves; the next visit never sees the late report.
    m.handle(Event::Done, Millis(t + 70));
    m.handle(Event::QueryStart, Millis(t + 80));
    m.handle(Event::CardRead(card()), Millis(t + 90));
    assert_ne!(m.visit(), visit);
    m.handle(printed(visit), Millis(t + 100));
    assert!(m.message().is_none(), "{:?}", m.message());
}
