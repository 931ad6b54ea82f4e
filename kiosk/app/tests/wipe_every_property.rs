//! After every way a visit ends, **every** property of the `Intake` global
//! (read by kiosk-ui's generated `inspect`, not a hand-picked list) is free
//! of the visitor's data: a clerk's visit with the queue view, an earlier
//! open case, typed pinyin with candidates on screen and the recognised text
//! in the clerk's editor, ended by the inactivity timer; and a progress query
//! with its rows and a rating under way, ended by "取消".
//!
//! The machine, the input method, the view model and the Slint adapter are
//! wired as the controller wires them, on a fake clock, without devices.

use std::sync::mpsc;

use i_slint_backend_testing::{TestingBackend, TestingBackendOptions};
use idcard_proto::{CardText, DocType, Sex};
use intake::{
    Effect, Event, Intake, KeyboardKey, Millis, PastRegistration, QueueRow, Screen, StaffRole,
    Thumb, Timeouts,
};
use kiosk::typing::Typing;
use kiosk::{ui, view};
use kiosk_privacy::{Address, IdNumber, PersonName, PersonalText, StaffPin};
use kiosk_ui::AppWindow;
use slint::{ComponentHandle, PhysicalSize};

const NAME: &str = "欧阳测试";
const ID: &str = "11010519491231002X";
const ADDRESS: &str = "北京市东城区样本路1号";
const OCR_TEXT: &str = "申请人反映村委会未付征地补偿款十八万元";
const DOUBTFUL: &str = "十八万";
const OPEN_CASE: &str = "XF-2025-000042";
const CLOSED_CASE: &str = "XF-2024-000777";
const QUEUED_MASKED_ID: &str = "3201**********1231";
const QUEUED_REF: &str = "K-20261202-ABCD";
const PHONE: &str = "13912345678";

fn card() -> Box<CardText> {
    Box::new(CardText {
        doc_type: DocType::Resident,
        name: PersonName::new(NAME),
        sex: Sex::Male,
        ethnicity: Some("汉"),
        nationality: None,
        birth: None,
        address: Address::new(ADDRESS),
        id_number: IdNumber::new(ID),
        authority: "样本公安局".into(),
        valid_from: None,
        valid_to: None,
    })
}

fn past(case: &str, status: &str) -> PastRegistration {
    PastRegistration {
        case_number: case.into(),
        registered_at: "2025-06-01T09:00:00+08:00".into(),
        category: "land".into(),
        status: status.parse().expect("a known status"),
        rating: None,
        // The office's notice names the petitioner: shown on the progress screen, wiped after.
        notices: vec![intake::CaseNotice {
            title: "受理告知书".into(),
            issued_at: "2025-06-03T09:00:00+08:00".into(),
            text: format!("{NAME}：{NOTICE_TEXT}"),
        }],
    }
}

/// The body of the notice on every past registration.
const NOTICE_TEXT: &str = "您的信访事项已予受理";

struct Rig {
    app: AppWindow,
    m: Intake,
    typing: Typing,
    now: u64,
    effects: Vec<Effect>,
}

impl Rig {
    /// One event through the input method and the machine, then onto the screen.
    fn feed(&mut self, e: Event) {
        self.now += 200;
        let now = Millis(self.now);
        if let Some(text) = self.typing.before(&e, &self.m) {
            let fx = self.m.handle(Event::DescriptionEdited(text), now);
            self.effects.extend(fx);
        }
        let fx = self.m.handle(e, now);
        self.effects.extend(fx);
        self.show();
    }
    fn show(&mut self) {
        let mut v = view::build(&self.m, Millis(self.now));
        self.typing.show(&self.m, &mut v);
        ui::apply(&self.app, &v);
    }
    fn tick(&mut self, ms: u64) {
        self.now += ms;
        let fx = self.m.handle(Event::Tick, Millis(self.now));
        self.effects.extend(fx);
        self.show();
    }
    /// The visit the machine's last request belongs to, as its result must quote it.
    fn visit(&self) -> intake::VisitId {
        self.m.visit()
    }
    fn last_page_asked(&self) -> u32 {
        self.effects
            .iter()
            .rev()
            .find_map(|e| match e {
                Effect::CapturePage { page_id, .. } => Some(*page_id),
                _ => None,
            })
            .expect("a page was asked for")
    }
    /// Every property of the global as "name=text".
    fn properties(&self) -> Vec<String> {
        let all = kiosk_ui::inspect::intake_properties(&self.app);
        let read: std::collections::BTreeSet<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
        for p in kiosk_ui::inspect::INTAKE_PROPERTIES {
            assert!(read.contains(p), "property {p} is read");
        }
        all.into_iter().map(|(n, t)| format!("{n}={t}")).collect()
    }
    fn shows(&self, secret: &str) -> bool {
        self.properties().iter().any(|p| p.contains(secret))
    }
    /// Nothing of the visitor in any property, and no picture.
    fn assert_clean(&self, after: &str) {
        let secrets = [
            NAME,
            ID,
            &ID[..6],
            &ID[ID.len() - 6..],
            ADDRESS,
            OCR_TEXT,
            DOUBTFUL,
            "征地补偿",
            OPEN_CASE,
            CLOSED_CASE,
            QUEUED_MASKED_ID,
            QUEUED_REF,
            "拖欠",
            "tuo",
            &PHONE[7..],
            NOTICE_TEXT,
        ];
        let leaks: Vec<String> = self
            .properties()
            .into_iter()
            .filter(|p| secrets.iter().any(|s| p.contains(s)))
            .collect();
        assert!(leaks.is_empty(), "after {after}: {leaks:?}");
        for p in self.properties() {
            if p.contains("=image ") {
                assert!(p.ends_with("=image 0x0"), "after {after}: {p}");
            }
        }
    }
}

#[test]
fn every_property_is_clean_after_each_way_a_visit_ends() {
    let _ = slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: true,
        threading: false,
        renderer_name: Some("software".into()),
    })));
    let app = AppWindow::new().expect("the window is created");
    app.window().set_size(PhysicalSize::new(1080, 1920));
    app.show().expect("the window is shown");
    let (tx, _rx) = mpsc::channel();
    ui::attach(&app, "示范镇便民服务中心", tx, None);
    let timeouts = Timeouts::default();
    let mut r = Rig {
        app,
        m: Intake::new(timeouts),
        typing: Typing::new(),
        now: 1_000,
        effects: Vec::new(),
    };
    r.show();
    r.assert_clean("start-up");

    // A clerk logs in and looks at the queue: a masked ID of someone else.
    r.feed(Event::StaffEntry);
    r.feed(Event::StaffPin(StaffPin::new("246810")));
    let visit = r.visit();
    r.feed(Event::PinChecked {
        visit,
        role: Some(StaffRole::Clerk),
    });
    assert_eq!(r.m.screen(), Screen::ClerkMenu);
    r.feed(Event::ClerkQueue);
    let visit = r.visit();
    r.feed(Event::QueueLoaded {
        visit,
        rows: vec![QueueRow {
            local_ref: QUEUED_REF.into(),
            sealed_at: "2026-12-02T09:00:00+08:00".into(),
            category: "labour".into(),
            masked_id: QUEUED_MASKED_ID.into(),
            status: intake::QueueStatus::Failed,
            case_number: None,
            reason: Some("registry refused".into()),
        }],
    });
    assert!(r.shows(QUEUED_MASKED_ID), "the queue view shows the row");
    r.feed(Event::Back);
    assert_eq!(r.m.screen(), Screen::ClerkMenu);

    // The clerk registers a visitor with an open earlier case.
    r.feed(Event::ClerkRegister);
    r.feed(Event::CardRead(card()));
    let visit = r.visit();
    r.feed(Event::HistoryLoaded {
        visit,
        rows: vec![past(OPEN_CASE, "in_progress")],
    });
    assert!(r.shows(NAME));
    assert!(r.shows(OPEN_CASE), "the open case is offered");
    r.feed(Event::ConfirmIdentity);
    r.feed(Event::ChooseCategory("land".into()));
    r.feed(Event::CaptureRequested);
    let page_id = r.last_page_asked();
    let visit = r.visit();
    r.feed(Event::PageCaptured {
        visit,
        page_id,
        jpeg: vec![0xff, 0xd8, 0xff, 0xd9],
        thumb: Thumb {
            width: 2,
            height: 2,
            rgba: vec![200; 16],
        },
    });
    r.feed(Event::OcrFinished {
        visit,
        page_id,
        result: Some((PersonalText::new(OCR_TEXT), 0.7)),
        doubtful: vec![PersonalText::new(DOUBTFUL)],
    });
    r.feed(Event::FinishCapture);
    assert_eq!(r.m.screen(), Screen::Describe);
    for c in "tuoqian".chars() {
        r.feed(Event::Keyboard(KeyboardKey::Letter(c)));
    }
    assert!(r.shows("拖欠"), "the candidates are on screen");
    assert!(r.shows("tuo"), "the pinyin being composed is on screen");
    r.feed(Event::Keyboard(KeyboardKey::Pick(0)));
    r.feed(Event::FinishDescription);
    for d in PHONE.chars() {
        r.feed(Event::PhoneDigit(d));
    }
    r.feed(Event::ConfirmPhone);
    assert_eq!(r.m.screen(), Screen::Review);
    assert!(
        r.shows(OCR_TEXT),
        "the clerk's editor holds the recognised text"
    );
    assert!(r.shows(DOUBTFUL), "and the doubtful words");

    // Nobody touches the screen: the prompt, then the wipe (the clerk stays logged in).
    r.tick(timeouts.inactivity.as_millis() as u64);
    r.tick(timeouts.still_there.as_millis() as u64);
    assert_eq!(r.m.screen(), Screen::ClerkMenu);
    r.assert_clean("the inactivity wipe of a clerk's visit");

    // Typing interrupted by "取消" while candidates are showing.
    r.feed(Event::ClerkRegister);
    r.feed(Event::CardRead(card()));
    r.feed(Event::ConfirmIdentity);
    r.feed(Event::ChooseCategory("land".into()));
    r.feed(Event::CaptureRequested);
    let (page_id, visit) = (r.last_page_asked(), r.visit());
    r.feed(Event::PageCaptured {
        visit,
        page_id,
        jpeg: vec![1],
        thumb: Thumb {
            width: 1,
            height: 1,
            rgba: vec![9; 4],
        },
    });
    r.feed(Event::FinishCapture);
    for c in "tuoqian".chars() {
        r.feed(Event::Keyboard(KeyboardKey::Letter(c)));
    }
    assert!(r.shows("拖欠"));
    r.feed(Event::Cancel);
    r.assert_clean("cancel while composing");
    r.feed(Event::LeaveStaff);
    assert_eq!(r.m.screen(), Screen::Welcome);
    r.assert_clean("the clerk's logout");

    // A progress query with a rating under way, then "取消".
    r.feed(Event::QueryStart);
    r.feed(Event::CardRead(card()));
    let visit = r.visit();
    r.feed(Event::HistoryLoaded {
        visit,
        rows: vec![past(CLOSED_CASE, "closed"), past(OPEN_CASE, "in_progress")],
    });
    assert!(r.shows(CLOSED_CASE), "the progress rows are shown");
    assert!(r.shows(NOTICE_TEXT), "with the office's notice");
    r.feed(Event::RateCase(CLOSED_CASE.into()));
    r.feed(Event::RatingScore(4));
    assert_eq!(r.m.screen(), Screen::Rating);
    r.feed(Event::Cancel);
    assert_eq!(r.m.screen(), Screen::Welcome);
    r.assert_clean("a cancelled progress query");
}
