//! The inactivity wipe, seen from the screen: a visit is driven through the
//! real intake machine, view model and Slint adapter (headless testing
//! backend) up to the review screen; nobody touches the screen; after the
//! "still there?" prompt has run out, no element of the window and no
//! property of the `Intake` global holds anything personal any more.

use std::time::Duration;

use i_slint_backend_testing::{ElementHandle, ElementRoot, TestingBackend, TestingBackendOptions};
use idcard_proto::{CardText, Date, DocType, Sex, Validity};
use intake::{CaseStatus, Event, Intake, Millis, PastRegistration, Screen, Thumb, Timeouts};
use kiosk::{ui, view};
use kiosk_privacy::{Address, IdNumber, PersonName, PersonalText};
use kiosk_ui::{AppWindow, Intake as IntakeGlobal};
use slint::{ComponentHandle, Model, PhysicalSize};

const NAME: &str = "欧阳测试";
const ID: &str = "11010519491231002X";
const ADDRESS: &str = "北京市东城区样本路1号";
const OCR_TEXT: &str = "申请人反映被拖欠工资十八万元";
const CASE: &str = "XF-2025-000042";
const DESCRIPTION: &str = "村里拖欠我的征地补偿款";
const PHONE: &str = "13912345678";

fn card() -> Box<CardText> {
    Box::new(CardText {
        doc_type: DocType::Resident,
        name: PersonName::new(NAME),
        sex: Sex::Male,
        ethnicity: Some("汉"),
        nationality: None,
        birth: Some(Date {
            year: 1949,
            month: 12,
            day: 31,
        }),
        address: Address::new(ADDRESS),
        id_number: IdNumber::new(ID),
        authority: "样本公安局".into(),
        valid_from: Some(Date {
            year: 2020,
            month: 1,
            day: 1,
        }),
        valid_to: Some(Validity::LongTerm),
    })
}

/// Every text an element of the window exposes: labels, values, descriptions.
fn exposed_texts(app: &AppWindow) -> Vec<String> {
    let elements: Vec<ElementHandle> = app.root_element().query_descendants().find_all();
    let mut out = Vec::new();
    for e in elements {
        for text in [
            e.accessible_label(),
            e.accessible_value(),
            e.accessible_description(),
            e.accessible_placeholder_text(),
        ]
        .into_iter()
        .flatten()
        {
            if !text.is_empty() {
                out.push(text.to_string());
            }
        }
    }
    out
}

/// Every property of the `Intake` global, as text: generated from
/// `ui/intake.slint` (kiosk-ui's `inspect`), so none is left out.
fn global_texts(app: &AppWindow) -> Vec<String> {
    let all = kiosk_ui::inspect::intake_properties(app);
    let read: std::collections::BTreeSet<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    for p in kiosk_ui::inspect::INTAKE_PROPERTIES {
        assert!(read.contains(p), "property {p} is read");
    }
    all.into_iter().map(|(name, text)| format!("{name}={text}")).collect()
}

/// No picture is left: the camera's, the receipt's, the pages'.
fn assert_empty_images(app: &AppWindow) {
    for (name, text) in kiosk_ui::inspect::intake_properties(app) {
        if text.starts_with("image ") {
            assert_eq!(text, "image 0x0", "{name} still holds a picture");
        }
    }
}

fn leaks<'a>(texts: &'a [String], secrets: &[&str]) -> Vec<&'a String> {
    texts
        .iter()
        .filter(|t| secrets.iter().any(|s| t.contains(s)))
        .collect()
}

#[test]
fn after_the_inactivity_wipe_nothing_personal_is_reachable_from_the_ui() {
    let _ = slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: true,
        threading: false,
        renderer_name: Some("software".into()),
    })));
    let app = AppWindow::new().expect("the window is created");
    app.window().set_size(PhysicalSize::new(1080, 1920));
    app.show().expect("the window is shown");
    let (tx, _rx) = std::sync::mpsc::channel();
    ui::attach(&app, "示范镇便民服务中心", tx, None);

    let timeouts = Timeouts::default();
    let mut m = Intake::new(timeouts);
    let mut now = 1_000u64;
    let feed = |m: &mut Intake, e: Event, now: &mut u64| {
        *now += 500;
        m.handle(e, Millis(*now));
        ui::apply(&app, &view::build(m, Millis(*now)));
    };
    feed(&mut m, Event::Start, &mut now);
    feed(&mut m, Event::CardRead(card()), &mut now);
    let visit = m.visit();
    feed(
        &mut m,
        Event::HistoryLoaded {
            visit,
            rows: vec![PastRegistration {
                case_number: CASE.into(),
                registered_at: "2025-06-01T09:00:00+08:00".into(),
                category: "labour".into(),
                status: CaseStatus::InProgress,
                rating: None,
                notices: Vec::new(),
            }],
        },
        &mut now,
    );
    // The identity screen shows the name and the earlier case: the checks
    // below would see them if they were still there.
    let shown = [exposed_texts(&app), global_texts(&app)].concat();
    assert!(
        !leaks(&shown, &[NAME]).is_empty(),
        "the name is reachable on the identity screen"
    );
    assert!(!leaks(&shown, &[CASE]).is_empty(), "the history is shown");

    feed(&mut m, Event::ConfirmIdentity, &mut now);
    feed(&mut m, Event::ChooseCategory("labour".into()), &mut now);
    feed(&mut m, Event::CaptureRequested, &mut now);
    let visit = m.visit();
    feed(
        &mut m,
        Event::PageCaptured {
            visit,
            page_id: 1,
            jpeg: vec![0xff, 0xd8, 0xff, 0xd9],
            thumb: Thumb {
                width: 2,
                height: 2,
                rgba: vec![200; 16],
            },
        },
        &mut now,
    );
    let visit = m.visit();
    feed(
        &mut m,
        Event::OcrFinished {
            visit,
            page_id: 1,
            result: Some((PersonalText::new(OCR_TEXT), 0.9)),
            doubtful: vec![],
        },
        &mut now,
    );
    feed(&mut m, Event::FinishCapture, &mut now);
    feed(&mut m, Event::DescriptionEdited(PersonalText::new(DESCRIPTION)), &mut now);
    // A voice note, spoken and recorded (its bytes stand for the audio).
    feed(&mut m, Event::VoiceRecord, &mut now);
    let visit = m.visit();
    feed(
        &mut m,
        Event::VoiceRecorded {
            visit,
            note: intake::VoiceNote {
                ogg_opus: zeroize::Zeroizing::new(b"OggS voice note of the visitor".to_vec()),
                duration_ms: 42_000,
            },
        },
        &mut now,
    );
    assert_eq!(app.global::<IntakeGlobal>().get_voice_state(), 2);
    assert_eq!(app.global::<IntakeGlobal>().get_voice_time(), "0:42");
    feed(&mut m, Event::FinishDescription, &mut now);
    for d in PHONE.chars() {
        feed(&mut m, Event::PhoneDigit(d), &mut now);
    }
    feed(&mut m, Event::ConfirmPhone, &mut now);
    assert_eq!(m.screen(), Screen::Review);
    let g = app.global::<IntakeGlobal>();
    assert_eq!(g.get_description(), DESCRIPTION, "the description is on the review screen");
    assert!(!g.get_phone_masked().is_empty(), "the phone is on the review screen");
    assert_eq!(app.global::<IntakeGlobal>().get_pages().row_count(), 1);

    // Nobody touches the screen: first the prompt, then the wipe.
    let tick = |m: &mut Intake, after: Duration, now: &mut u64| {
        *now += after.as_millis() as u64;
        m.handle(Event::Tick, Millis(*now));
        ui::apply(&app, &view::build(m, Millis(*now)));
    };
    tick(&mut m, timeouts.inactivity, &mut now);
    assert!(app.global::<IntakeGlobal>().get_still_there());
    assert_eq!(
        ElementHandle::find_by_accessible_label(&app, "still-there").count(),
        1,
        "the prompt is on screen"
    );
    assert!(m.session().is_some(), "nothing is wiped while the prompt waits");
    tick(&mut m, timeouts.still_there, &mut now);

    assert_eq!(m.screen(), Screen::Welcome);
    assert!(m.session().is_none());
    let g = app.global::<IntakeGlobal>();
    assert_eq!(g.get_screen(), kiosk_ui::Screen::Welcome);
    assert!(!g.get_still_there());
    assert_eq!(g.get_pages().row_count(), 0);
    assert_eq!(g.get_history().row_count(), 0);
    // The voice note went with the session: nothing of it on the screen.
    assert_eq!(g.get_voice_state(), 0);
    assert_eq!(g.get_voice_time(), "");
    assert_empty_images(&app);
    let after = [exposed_texts(&app), global_texts(&app)].concat();
    let id_tail = &ID[ID.len() - 6..];
    let secrets = [
        NAME,
        ID,
        "1101",
        id_tail,
        ADDRESS,
        OCR_TEXT,
        "十八万",
        CASE,
        DESCRIPTION,
        "征地补偿",
        &PHONE[7..],
    ];
    assert_eq!(leaks(&after, &secrets), Vec::<&String>::new());
}
