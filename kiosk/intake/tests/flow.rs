//! Scripted visits through the intake state machine on a fake clock.

use std::time::Duration;

use idcard_proto::{CardText, Date, DocType, Sex, Validity};
use intake::{
    Effect, Event, History, Intake, Message, MessageKind, Millis, Ocr, QueueRow, QueueStatus,
    Screen, StaffRole, Thumb, Timeouts,
};
use kiosk_privacy::{Address, IdNumber, PersonName, PersonalText, StaffPin};

mod common;
use common::{addressed, CURRENT};

fn specimen(id: &str) -> Box<CardText> {
    Box::new(CardText {
        doc_type: DocType::Resident,
        name: PersonName::new("测试样例"),
        sex: Sex::Male,
        ethnicity: Some("汉"),
        nationality: None,
        birth: Some(Date {
            year: 1949,
            month: 12,
            day: 31,
        }),
        address: Address::new("北京市东城区样本路1号"),
        id_number: IdNumber::new(id),
        authority: "样本公安局".into(),
        valid_from: Some(Date {
            year: 2020,
            month: 1,
            day: 1,
        }),
        valid_to: Some(Validity::LongTerm),
    })
}

fn thumb() -> Thumb {
    Thumb {
        width: 2,
        height: 2,
        rgba: vec![0; 16],
    }
}

/// Drives a machine and records every effect.
struct Script {
    m: Intake,
    now: u64,
    effects: Vec<Effect>,
}

impl Script {
    fn new() -> Self {
        Script {
            m: Intake::new(Timeouts::default()),
            now: 1_000,
            effects: Vec::new(),
        }
    }
    fn send(&mut self, e: Event) -> &mut Self {
        self.now += 100;
        let e = addressed(e, self.m.visit());
        let fx = self.m.handle(e, Millis(self.now));
        self.effects.extend(fx);
        self
    }
    fn wait(&mut self, d: Duration) -> &mut Self {
        self.now += d.as_millis() as u64;
        let fx = self.m.handle(Event::Tick, Millis(self.now));
        self.effects.extend(fx);
        self
    }
    fn take(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }
}

fn to_review(s: &mut Script) {
    s.send(Event::Start)
        .send(Event::CardRead(specimen("11010519491231002X")));
    s.send(Event::HistoryLoaded { visit: CURRENT, rows: vec![] })
        .send(Event::ConfirmIdentity);
    s.send(Event::ChooseCategory("labour".into()))
        .send(Event::CaptureRequested);
    s.send(Event::PageCaptured {
        visit: CURRENT,
        page_id: 1,
        jpeg: vec![1, 2, 3],
        thumb: thumb(),
    });
    s.send(Event::FinishCapture);
    assert_eq!(s.m.screen(), Screen::Describe);
    s.send(Event::SkipDescription)
        .send(Event::NoPhone)
        .send(Event::NoPhoneConfirmed(true));
    assert_eq!(s.m.screen(), Screen::Review);
}

#[test]
fn a_whole_visit_seals_once_and_wipes_the_session() {
    let mut s = Script::new();
    s.send(Event::Start);
    assert_eq!(s.m.screen(), Screen::Card);
    assert!(matches!(s.take().as_slice(), [Effect::PollCard(true)]));

    s.send(Event::CardRead(specimen("11010519491231002X")));
    assert_eq!(s.m.screen(), Screen::Identity);
    let fx = s.take();
    assert!(
        matches!(fx.as_slice(), [Effect::FetchHistory { id_number: id, .. }, Effect::PollCard(false)] if id.expose() == "11010519491231002X")
    );
    assert!(s.m.session().unwrap().id_number_ok);
    assert_eq!(s.m.session().unwrap().history, History::Loading);

    s.send(Event::HistoryLoaded { visit: CURRENT, rows: vec![] });
    s.send(Event::ConfirmIdentity)
        .send(Event::ChooseCategory("labour".into()));
    assert_eq!(s.m.screen(), Screen::Capture);
    s.take();

    s.send(Event::CaptureRequested)
        .send(Event::CaptureRequested);
    let fx = s.take();
    assert_eq!(fx.len(), 1, "a double tap captures once: {fx:?}");
    assert!(matches!(fx[0], Effect::CapturePage { page_id: 1, .. }));
    s.send(Event::PageCaptured {
        visit: CURRENT,
        page_id: 1,
        jpeg: vec![1, 2, 3],
        thumb: thumb(),
    });
    s.send(Event::CaptureRequested);
    s.send(Event::PageCaptured {
        visit: CURRENT,
        page_id: 2,
        jpeg: vec![4],
        thumb: thumb(),
    });
    s.send(Event::DeletePage(2));
    s.send(Event::FinishCapture)
        .send(Event::SkipDescription)
        .send(Event::NoPhone)
        .send(Event::NoPhoneConfirmed(true))
        .send(Event::Submit);
    assert_eq!(s.m.screen(), Screen::Submitting);
    assert!(
        !s.take().iter().any(|e| matches!(e, Effect::Seal { .. })),
        "waits for OCR"
    );

    s.send(Event::OcrFinished {
        visit: CURRENT,
        page_id: 1,
        result: Some((PersonalText::new("拖欠工资"), 90.0)),
        doubtful: vec![],
    });
    let seals: Vec<_> = s
        .take()
        .into_iter()
        .filter(|e| matches!(e, Effect::Seal { .. }))
        .collect();
    assert_eq!(seals.len(), 1);
    let Effect::Seal { request: req, .. } = &seals[0] else {
        unreachable!()
    };
    assert_eq!(req.pages.len(), 1);
    assert_eq!(req.category.code, "labour");
    assert!(matches!(&req.pages[0].ocr, Ocr::Done { text, .. } if text.expose() == "拖欠工资"));

    s.send(Event::OcrFinished {
        visit: CURRENT,
        page_id: 1,
        result: None,
        doubtful: vec![],
    });
    assert!(s.take().is_empty(), "a late result never seals twice");

    s.send(Event::Sealed {
        visit: CURRENT,
        local_ref: "L-1".into(),
    });
    assert_eq!(s.m.screen(), Screen::Receipt);
    assert!(s.m.session().is_none(), "personal data dropped once sealed");
    assert_eq!(s.m.receipt(), Some(("L-1", None)));
    s.send(Event::Acknowledged {
        local_ref: "other".into(),
        case_number: "XF-1".into(),
    });
    assert_eq!(s.m.receipt(), Some(("L-1", None)));
    s.send(Event::Acknowledged {
        local_ref: "L-1".into(),
        case_number: "XF-2".into(),
    });
    assert_eq!(s.m.receipt(), Some(("L-1", Some("XF-2"))));

    s.send(Event::ReceiptPrinted {
        local_ref: "other".into(),
        message: Message::new(MessageKind::ReceiptPrinted, "x", false),
    });
    assert!(
        s.m.message().is_none(),
        "another registration's printout is not shown"
    );
    s.send(Event::ReceiptPrinted {
        local_ref: "L-1".into(),
        message: Message::new(MessageKind::ReceiptOnScreen, "打印机缺纸", true),
    });
    assert!(s.m.message().unwrap().is_error);

    s.wait(Duration::from_secs(31));
    assert_eq!(s.m.screen(), Screen::Welcome);
    assert!(s.m.message().is_none());
}

#[test]
fn inactivity_asks_still_there_then_wipes_and_returns_to_welcome() {
    let mut s = Script::new();
    s.send(Event::Start)
        .send(Event::CardRead(specimen("11010519491231002X")));
    s.wait(Duration::from_secs(89));
    assert!(!s.m.asking_still_there(Millis(s.now)));
    assert_eq!(s.m.seconds_left(Millis(s.now)), None);
    s.wait(Duration::from_secs(1));
    assert!(s.m.asking_still_there(Millis(s.now)));
    assert_eq!(s.m.seconds_left(Millis(s.now)), Some(30));
    assert!(s.m.session().is_some());
    s.wait(Duration::from_secs(30));
    assert_eq!(s.m.screen(), Screen::Welcome);
    assert!(s.m.session().is_none());
    assert!(!s.m.asking_still_there(Millis(s.now)));
}

#[test]
fn answering_still_there_keeps_the_session_for_another_full_stretch() {
    let mut s = Script::new();
    s.send(Event::Start)
        .send(Event::CardRead(specimen("11010519491231002X")));
    s.wait(Duration::from_secs(100));
    assert!(s.m.asking_still_there(Millis(s.now)));
    s.send(Event::StillHere);
    assert!(!s.m.asking_still_there(Millis(s.now)));
    s.wait(Duration::from_secs(89));
    assert_eq!(s.m.screen(), Screen::Identity);
    assert!(s.m.session().is_some());
    assert!(!s.m.asking_still_there(Millis(s.now)));
}

#[test]
fn invalid_id_number_is_flagged_not_rejected() {
    let mut s = Script::new();
    s.send(Event::Start)
        .send(Event::CardRead(specimen("110105194912310021")));
    assert_eq!(s.m.screen(), Screen::Identity);
    assert!(!s.m.session().unwrap().id_number_ok);
}

#[test]
fn card_errors_and_rejected_pages_are_shown_and_the_next_try_works() {
    let mut s = Script::new();
    s.send(Event::Start)
        .send(Event::CardFailed("未能读取证件，请重新放置".into()));
    assert_eq!(s.m.screen(), Screen::Card);
    assert!(s.m.message().unwrap().is_error);
    s.send(Event::CardRead(specimen("11010519491231002X")));
    assert_eq!(s.m.screen(), Screen::Identity);
    assert!(s.m.message().is_none());

    s.send(Event::ConfirmIdentity)
        .send(Event::ChooseCategory("unsure".into()));
    s.send(Event::FinishCapture);
    assert_eq!(s.m.screen(), Screen::Capture, "no pages yet");
    s.send(Event::CaptureRequested);
    s.send(Event::PageRejected {
        visit: CURRENT,
        page_id: 1,
        kind: MessageKind::PlacePage,
        reason: "没有找到材料".into(),
    });
    assert_eq!(s.m.message().unwrap().text, "没有找到材料");
    assert!(!s.m.session().unwrap().capture_busy);
    s.take();
    s.send(Event::CaptureAdvice(Message::new(MessageKind::HoldStill, "请保持材料不动", false)));
    assert!(
        s.m.message().unwrap().is_error,
        "advice does not hide an error"
    );
    s.send(Event::AutoCaptureReady);
    assert!(matches!(
        s.take().as_slice(),
        [Effect::CapturePage { page_id: 2, .. }]
    ));
    assert!(
        s.m.message().is_none(),
        "a new capture clears the last error"
    );
    s.send(Event::CaptureAdvice(Message::new(MessageKind::HoldStill, "请保持材料不动", false)));
    assert!(
        s.m.message().is_none(),
        "no advice while a capture is under way"
    );
    s.send(Event::PageCaptured {
        visit: CURRENT,
        page_id: 2,
        jpeg: vec![9],
        thumb: thumb(),
    });
    s.send(Event::CaptureAdvice(Message::new(MessageKind::Advice, "已拍摄，请放下一页", false)));
    assert_eq!(s.m.message().unwrap().text, "已拍摄，请放下一页");
}

#[test]
fn seal_failure_keeps_the_registration_for_another_try() {
    let mut s = Script::new();
    to_review(&mut s);
    s.send(Event::OcrFinished {
        visit: CURRENT,
        page_id: 1,
        result: None,
        doubtful: vec![],
    });
    s.send(Event::Submit);
    assert!(s.take().iter().any(|e| matches!(e, Effect::Seal { .. })));
    s.send(Event::SealFailed { visit: CURRENT, reason: "存储空间不足，请联系工作人员".into() });
    assert_eq!(s.m.screen(), Screen::Review);
    assert!(s.m.session().is_some());
    s.send(Event::Submit);
    assert!(s.take().iter().any(|e| matches!(e, Effect::Seal { .. })));
}

#[test]
fn cancel_and_faults_wipe_everything() {
    let mut s = Script::new();
    to_review(&mut s);
    s.send(Event::Cancel);
    assert_eq!(s.m.screen(), Screen::Welcome);
    assert!(s.m.session().is_none());

    to_review(&mut s);
    s.send(Event::DeviceFault("摄像头不可用".into()));
    assert_eq!(s.m.screen(), Screen::Fault);
    assert!(s.m.session().is_none());
    s.send(Event::Done);
    assert_eq!(s.m.screen(), Screen::Welcome);
}

#[test]
fn the_repeat_answer_travels_with_the_registration() {
    let mut s = Script::new();
    to_review(&mut s);
    s.send(Event::RepeatSuspected {
        visit: CURRENT,
        earlier_case: "XF-1".into(),
        question: "同一件事吗？".into(),
    });
    s.send(Event::RepeatSuspected {
        visit: CURRENT,
        earlier_case: "XF-2".into(),
        question: "另一件？".into(),
    });
    let q = s.m.session().unwrap().repeat.clone().unwrap();
    assert_eq!(q.earlier_case, "XF-1", "asked once per visit");
    assert_eq!(q.answer, None);
    s.send(Event::RepeatAnswered(true));
    s.send(Event::OcrFinished {
        visit: CURRENT,
        page_id: 1,
        result: None,
        doubtful: vec![],
    });
    s.send(Event::Submit);
    let seal = s.take().into_iter().find_map(|e| match e {
        Effect::Seal { request: req, .. } => Some(req),
        _ => None,
    });
    assert_eq!(seal.unwrap().repeat, Some(("XF-1".to_string(), true)));
}

fn clerk_login(s: &mut Script) {
    s.send(Event::StaffEntry);
    assert_eq!(s.m.screen(), Screen::StaffLogin);
    s.send(Event::StaffPin(StaffPin::new("246810")));
    assert!(matches!(s.take().as_slice(), [Effect::CheckPin { pin, .. }] if pin.expose() == "246810"));
    s.send(Event::PinChecked { visit: CURRENT, role: Some(StaffRole::Clerk) });
    assert_eq!(s.m.screen(), Screen::ClerkMenu);
    assert_eq!(s.m.staff(), Some(StaffRole::Clerk));
}

#[test]
fn wrong_pins_lock_the_login_and_the_pin_never_shows() {
    let mut s = Script::new();
    s.send(Event::StaffEntry);
    for left in (1..=4).rev() {
        s.send(Event::StaffPin(StaffPin::new("0000")));
        s.send(Event::PinChecked { visit: CURRENT, role: None });
        assert_eq!(s.m.screen(), Screen::StaffLogin);
        let msg = s.m.message().unwrap();
        assert!(msg.is_error && msg.text.contains(&left.to_string()), "{}", msg.text);
    }
    s.send(Event::StaffPin(StaffPin::new("0000")));
    s.send(Event::PinChecked { visit: CURRENT, role: None });
    assert!(s.m.message().unwrap().text.contains("5 分钟后再试"));
    s.take();
    // Locked: even the right PIN is not checked.
    s.send(Event::StaffPin(StaffPin::new("246810")));
    assert!(s.take().is_empty());
    assert!(s.m.message().unwrap().is_error);
    assert!(!format!("{:?}", Event::StaffPin(StaffPin::new("246810"))).contains("246810"));
}

#[test]
fn a_clerk_registers_for_someone_and_comes_back_to_the_menu() {
    let mut s = Script::new();
    clerk_login(&mut s);
    s.send(Event::ClerkRegister);
    assert_eq!(s.m.screen(), Screen::Card);
    s.send(Event::CardRead(specimen("11010519491231002X")));
    assert!(s.m.session().unwrap().assisted);
    s.send(Event::HistoryLoaded { visit: CURRENT, rows: vec![] })
        .send(Event::ConfirmIdentity)
        .send(Event::ChooseCategory("labour".into()))
        .send(Event::CaptureRequested)
        .send(Event::PageCaptured {
            visit: CURRENT,
            page_id: 1,
            jpeg: vec![1, 2, 3],
            thumb: thumb(),
        })
        .send(Event::OcrFinished {
            visit: CURRENT,
            page_id: 1,
            result: Some((PersonalText::new("拖欠工资十八万元"), 0.5)),
            doubtful: vec![PersonalText::new("十八")],
        })
        .send(Event::FinishCapture)
        .send(Event::SkipDescription)
        .send(Event::NoPhone)
        .send(Event::NoPhoneConfirmed(true));
    assert_eq!(s.m.screen(), Screen::Review);
    // The clerk corrects the recognised text.
    s.send(Event::EditPageText {
        page_id: 1,
        text: PersonalText::new("拖欠工资十九万元"),
    });
    s.take();
    s.send(Event::Submit);
    let fx = s.take();
    let Some(Effect::Seal { request: req, .. }) = fx.first() else {
        panic!("no seal: {fx:?}")
    };
    assert!(req.assisted && !req.identity_typed);
    assert!(
        matches!(&req.pages[0].ocr, Ocr::Done { text, doubtful, .. } if text.expose() == "拖欠工资十九万元" && doubtful.is_empty())
    );
    s.send(Event::Sealed {
        visit: CURRENT,
        local_ref: "T1-1".into(),
    })
    .send(Event::Done);
    assert_eq!(s.m.screen(), Screen::ClerkMenu);
    s.send(Event::LeaveStaff);
    assert_eq!(s.m.screen(), Screen::Welcome);
    assert_eq!(s.m.staff(), None);
}

#[test]
fn a_petitioner_cannot_edit_recognised_text() {
    let mut s = Script::new();
    to_review(&mut s);
    s.send(Event::OcrFinished {
        visit: CURRENT,
        page_id: 1,
        result: Some((PersonalText::new("原文"), 0.9)),
        doubtful: vec![],
    });
    s.send(Event::EditPageText {
        page_id: 1,
        text: PersonalText::new("改过"),
    });
    let page = &s.m.session().unwrap().pages[0];
    assert!(matches!(&page.ocr, Ocr::Done { text, .. } if text.expose() == "原文"));
}

#[test]
fn a_typed_identity_is_checked_and_gives_sex_and_birth() {
    let mut s = Script::new();
    clerk_login(&mut s);
    s.send(Event::ClerkManualEntry);
    assert_eq!(s.m.screen(), Screen::ManualId);
    s.send(Event::ManualIdentity {
        id_number: IdNumber::new("110105194912310021"),
        name: PersonName::new("张三"),
    });
    assert_eq!(s.m.screen(), Screen::ManualId);
    assert!(s.m.message().unwrap().text.contains("校验未通过"));
    s.send(Event::ManualIdentity {
        id_number: IdNumber::new("11010519491231002x"),
        name: PersonName::new("  "),
    });
    assert_eq!(s.m.message().unwrap().text, "请输入姓名");
    s.take();
    s.send(Event::ManualIdentity {
        id_number: IdNumber::new("11010519491231002x"),
        name: PersonName::new("张三"),
    });
    assert_eq!(s.m.screen(), Screen::Identity);
    let session = s.m.session().unwrap();
    assert!(session.identity_typed && session.assisted);
    assert_eq!(session.identity.id_number.expose(), "11010519491231002X");
    assert_eq!(session.identity.sex, Sex::Female);
    assert_eq!(session.identity.birth.map(|d| d.year), Some(1949));
    // Typed: no lookup until the clerk confirms the person is present.
    assert!(s.take().is_empty());
    s.send(Event::Back);
    assert_eq!(s.m.screen(), Screen::ManualId);
    assert!(s.m.session().is_none());
}

#[test]
fn the_queue_view_loads_resends_and_reprints() {
    let mut s = Script::new();
    clerk_login(&mut s);
    s.take();
    s.send(Event::ClerkQueue);
    assert!(matches!(s.take().as_slice(), [Effect::LoadQueue { .. }]));
    s.send(Event::QueueLoaded { visit: CURRENT, rows: vec![QueueRow {
        local_ref: "T1-2611281200-ABCD".into(),
        sealed_at: "2026-11-28T12:00:00+08:00".into(),
        category: "labour".into(),
        masked_id: "****************2X".into(),
        status: QueueStatus::Failed,
        case_number: None,
        reason: Some("registry refused: 413".into()),
    }] });
    assert_eq!(s.m.queue_rows().len(), 1);
    s.send(Event::Resend("T1-2611281200-ABCD".into()));
    assert!(matches!(s.take().as_slice(), [Effect::Resend(r), Effect::LoadQueue { .. }] if r == "T1-2611281200-ABCD"));
    s.send(Event::Reprint("T1-2611281200-ABCD".into()));
    assert!(matches!(s.take().as_slice(), [Effect::Reprint(_)]));
    s.send(Event::Back);
    assert_eq!(s.m.screen(), Screen::ClerkMenu);
}

#[test]
fn staff_are_logged_out_after_inactivity() {
    let mut s = Script::new();
    clerk_login(&mut s);
    s.wait(Duration::from_secs(121));
    assert_eq!(s.m.screen(), Screen::Welcome);
    assert_eq!(s.m.staff(), None);
}

#[test]
fn the_ticket_number_shows_on_its_own_receipt_only() {
    let mut s = Script::new();
    to_review(&mut s);
    s.send(Event::OcrFinished {
        visit: CURRENT,
        page_id: 1,
        result: None,
        doubtful: vec![],
    })
    .send(Event::Submit)
    .send(Event::Sealed {
        visit: CURRENT,
        local_ref: "T1-7".into(),
    });
    s.send(Event::TicketIssued {
        local_ref: "T1-6".into(),
        number: "A022".into(),
    });
    assert_eq!(s.m.ticket(), None);
    s.send(Event::TicketIssued {
        local_ref: "T1-7".into(),
        number: "A023".into(),
    });
    assert_eq!(s.m.ticket(), Some("A023"));
    s.send(Event::Done);
    assert_eq!(s.m.ticket(), None);
}

#[test]
fn the_technician_pin_opens_the_technician_screen() {
    let mut s = Script::new();
    s.send(Event::StaffEntry)
        .send(Event::StaffPin(StaffPin::new("135790")))
        .send(Event::PinChecked { visit: CURRENT, role: Some(StaffRole::Technician) });
    assert_eq!(s.m.screen(), Screen::Technician);
    assert_eq!(s.m.staff(), Some(StaffRole::Technician));
    s.send(Event::LeaveStaff);
    assert_eq!(s.m.screen(), Screen::Welcome);
    assert_eq!(s.m.staff(), None);
}

#[test]
fn papers_can_supplement_an_open_earlier_case_and_skip_the_category() {
    let mut s = Script::new();
    s.send(Event::Start)
        .send(Event::CardRead(specimen("11010519491231002X")));
    let row = |case: &str, status: &str| intake::PastRegistration {
        case_number: case.into(),
        registered_at: "2025-06-01T09:00:00+08:00".into(),
        category: "labour".into(),
        status: status.parse().unwrap(),
        rating: None,
        notices: Vec::new(),
    };
    s.send(Event::HistoryLoaded { visit: CURRENT, rows: vec![
        row("XF-2025-000009", "closed"),
        row("XF-2025-000003", "in_progress"),
    ] });
    // A closed case takes no more papers.
    s.send(Event::SupplementCase("XF-2025-000009".into()));
    assert_eq!(s.m.screen(), Screen::Identity);
    s.send(Event::SupplementCase("XF-2025-000003".into()));
    assert_eq!(s.m.screen(), Screen::Capture);
    let session = s.m.session().unwrap();
    assert_eq!(session.category.map(|c| c.code), Some("labour"));
    let q = session.repeat.as_ref().unwrap();
    assert_eq!((q.earlier_case.as_str(), q.answer), ("XF-2025-000003", Some(true)));
    s.send(Event::CaptureRequested).send(Event::PageCaptured {
        visit: CURRENT,
        page_id: 1,
        jpeg: vec![1],
        thumb: thumb(),
    });
    s.send(Event::OcrFinished {
        visit: CURRENT,
        page_id: 1,
        result: None,
        doubtful: vec![],
    })
    .send(Event::FinishCapture)
    .send(Event::SkipDescription)
    .send(Event::NoPhone)
    .send(Event::NoPhoneConfirmed(true));
    s.take();
    s.send(Event::Submit);
    let fx = s.take();
    let Some(Effect::Seal { request: req, .. }) = fx.first() else {
        panic!("no seal: {fx:?}")
    };
    assert_eq!(req.repeat, Some(("XF-2025-000003".to_string(), true)));
}

/// A typed identity (no card read) fetches no history until the clerk
/// confirms on the screen that the person is present; the lookup then says
/// it was typed. A card read asks at once, not marked.
#[test]
fn a_typed_identity_shows_history_only_after_the_clerk_confirms_presence() {
    let mut s = Script::new();
    clerk_login(&mut s);
    s.send(Event::ClerkManualEntry);
    s.take();
    s.send(Event::ManualIdentity {
        id_number: IdNumber::new("11010519491231002X"),
        name: PersonName::new("张三"),
    });
    assert_eq!(s.m.screen(), Screen::Identity);
    assert!(
        !s.take().iter().any(|e| matches!(e, Effect::FetchHistory { .. })),
        "no lookup before the clerk confirms presence"
    );
    assert_eq!(s.m.session().unwrap().history, History::AwaitingPresence);
    // An answer nobody asked for changes nothing.
    s.send(Event::HistoryLoaded { visit: CURRENT, rows: Vec::new() });
    assert_eq!(s.m.session().unwrap().history, History::AwaitingPresence);
    // "本人在场，查看以前的登记": now the lookup goes, marked as typed.
    s.send(Event::ConfirmPresence);
    let fx = s.take();
    let [Effect::FetchHistory { id_number, identity_typed, .. }] = fx.as_slice() else {
        panic!("one lookup expected: {fx:?}");
    };
    assert_eq!(id_number.expose(), "11010519491231002X");
    assert!(*identity_typed);
    assert_eq!(s.m.session().unwrap().history, History::Loading);
    s.send(Event::ConfirmPresence);
    assert!(s.take().is_empty(), "confirmed once, asked once");
    s.send(Event::HistoryLoaded { visit: CURRENT, rows: Vec::new() });
    assert_eq!(s.m.session().unwrap().history, History::Loaded(Vec::new()));
    // The clerk may also go on without looking: nothing is asked.
    s.send(Event::Back);
    s.send(Event::ManualIdentity {
        id_number: IdNumber::new("11010519491231002X"),
        name: PersonName::new("张三"),
    });
    s.send(Event::ConfirmIdentity);
    assert_eq!(s.m.screen(), Screen::Category);
    assert!(!s.take().iter().any(|e| matches!(e, Effect::FetchHistory { .. })));

    // A card read asks at once, unmarked, and has nothing to confirm.
    s.send(Event::LeaveStaff);
    s.send(Event::Start);
    s.send(Event::CardRead(specimen("11010519491231002X")));
    let fx = s.take();
    assert!(fx.iter().any(|e| matches!(e, Effect::FetchHistory { identity_typed: false, .. })), "{fx:?}");
    s.send(Event::ConfirmPresence);
    assert!(!s.take().iter().any(|e| matches!(e, Effect::FetchHistory { .. })));
}
