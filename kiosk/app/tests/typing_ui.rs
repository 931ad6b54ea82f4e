//! The description keyboard and the phone pad driven headless through the
//! real Slint adapter, input method, intake machine and view model (as the
//! controller wires them, without the devices): keys found by their
//! accessible labels type "gongzi", pick 工资, and the text appears on the
//! screen and in the session; then a phone number reaches the review masked.

use std::sync::mpsc::{self, Receiver};

use i_slint_backend_testing::{ElementHandle, TestingBackend, TestingBackendOptions};
use idcard_proto::{CardText, DocType, Sex};
use intake::{Event, Intake, Millis, Screen, Thumb, Timeouts};
use kiosk::typing::Typing;
use kiosk_privacy::{Address, IdNumber, PersonName};
use kiosk_ui::AppWindow;
use slint::{ComponentHandle, PhysicalSize};

struct Rig {
    app: AppWindow,
    events: Receiver<Event>,
    machine: Intake,
    typing: Typing,
    now: u64,
}

impl Rig {
    fn new() -> Rig {
        let _ = slint::platform::set_platform(Box::new(TestingBackend::new(
            TestingBackendOptions {
                mock_time: true,
                threading: false,
                ..Default::default()
            },
        )));
        let app = AppWindow::new().expect("the window is created");
        app.window().set_size(PhysicalSize::new(1080, 1920));
        app.show().expect("the window is shown");
        let (tx, events) = mpsc::channel();
        kiosk::ui::attach(&app, "测试镇便民服务中心", tx, None);
        let mut rig = Rig {
            app,
            events,
            machine: Intake::new(Timeouts::default()),
            typing: Typing::new(),
            now: 0,
        };
        for e in [
            Event::Start,
            Event::CardRead(Box::new(CardText {
                doc_type: DocType::Resident,
                name: PersonName::new("测试样例"),
                sex: Sex::Male,
                ethnicity: None,
                nationality: None,
                birth: None,
                address: Address::new("样本县1号"),
                id_number: IdNumber::new("11010519491231002X"),
                authority: "样本公安局".into(),
                valid_from: None,
                valid_to: None,
            })),
            Event::ConfirmIdentity,
            Event::ChooseCategory("labour".into()),
            Event::CaptureRequested,
        ] {
            rig.feed(e);
        }
        let visit = rig.machine.visit();
        rig.feed(Event::PageCaptured {
            visit,
            page_id: 1,
            jpeg: vec![1],
            thumb: Thumb {
                width: 1,
                height: 1,
                rgba: vec![0; 4],
            },
        });
        rig.feed(Event::FinishCapture);
        rig.render();
        assert_eq!(rig.machine.screen(), Screen::Describe);
        rig
    }

    /// What the controller does with one event.
    fn feed(&mut self, event: Event) {
        self.now += 100;
        if let Some(text) = self.typing.before(&event, &self.machine) {
            self.machine
                .handle(Event::DescriptionEdited(text), Millis(self.now));
        }
        self.machine.handle(event, Millis(self.now));
    }

    fn render(&mut self) {
        let mut v = kiosk::view::build(&self.machine, Millis(self.now));
        self.typing.show(&self.machine, &mut v);
        kiosk::ui::apply(&self.app, &v);
    }

    /// Presses the one button with this label and lets the app handle what it sent.
    fn press(&mut self, label: &str) {
        let found: Vec<ElementHandle> =
            ElementHandle::find_by_accessible_label(&self.app, label).collect();
        assert_eq!(found.len(), 1, "one element labelled {label:?}");
        found[0].invoke_accessible_default_action();
        while let Ok(e) = self.events.try_recv() {
            self.feed(e);
        }
        self.render();
    }

    fn text(&self, label: &str) -> String {
        let found: Vec<ElementHandle> =
            ElementHandle::find_by_accessible_label(&self.app, label).collect();
        assert_eq!(found.len(), 1, "one element labelled {label:?}");
        found[0]
            .accessible_value()
            .map(|s| s.to_string())
            .unwrap_or_default()
    }

    fn description(&self) -> String {
        self.machine
            .session()
            .map(|s| s.description.expose().to_string())
            .unwrap_or_default()
    }
}

#[test]
fn typing_gongzi_and_picking_wages_writes_the_description() {
    let mut rig = Rig::new();
    assert_eq!(rig.text("description"), "");
    for letter in "gongzi".chars() {
        rig.press(&format!("键 {letter}"));
    }
    assert_eq!(rig.text("ime-preedit"), "gong zi");
    rig.press("候选 工资");
    assert_eq!(rig.text("description"), "工资");
    assert_eq!(rig.description(), "工资");
    assert_eq!(rig.text("ime-preedit"), "", "the composition is over");

    // 拖欠 with the space key (first candidate), then a digit and a full stop.
    for letter in "tuoqian".chars() {
        rig.press(&format!("键 {letter}"));
    }
    rig.press("键 空格");
    rig.press("键 123");
    rig.press("键 3");
    rig.press("键 拼音");
    rig.press("键 。");
    assert_eq!(rig.description(), "工资拖欠3。");
    rig.press("键 退格");
    assert_eq!(rig.text("description"), "工资拖欠3");

    rig.press("键 完成");
    assert_eq!(rig.machine.screen(), Screen::Phone);
    for d in "1381234567".chars() {
        rig.press(&format!("数字 {d}"));
    }
    rig.press("下一步");
    assert_eq!(rig.machine.screen(), Screen::Phone, "ten digits are refused");
    assert_eq!(rig.text("message"), "手机号码是11位数字，请核对");
    rig.press("数字 8");
    assert_eq!(rig.text("phone"), "138 1234 5678");
    rig.press("下一步");
    assert_eq!(rig.machine.screen(), Screen::Review);
    assert_eq!(rig.text("phone-masked"), "138****5678");
    assert_eq!(rig.text("description"), "工资拖欠3");

    rig.press("取消");
    assert!(rig.machine.session().is_none());
    assert_eq!(rig.machine.screen(), Screen::Welcome);
}
