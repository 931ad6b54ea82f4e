//! A first-time petitioner registers three pages, walked through the real
//! window (Slint's testing backend, headless) on the real controller, the
//! simulators and the reference registry, counting every tap: from the card
//! to the receipt with its case number it takes at most [`TAP_BUDGET`] taps
//! when recognition is right. Each tap presses a button found by its
//! accessible label, as a finger would.

use std::cell::Cell;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use i_slint_backend_testing::{AccessibleRole, ElementHandle, TestingBackend, TestingBackendOptions};
use kiosk::{ui, Controller, Update};
use kiosk_e2e::{Harness, Options};
use kiosk_idcard::sim::SimCard;
use kiosk_ui::{AppWindow, Intake, Screen};
use slint::{ComponentHandle, Model};

/// The limit for a first-time petitioner with three pages.
const TAP_BUDGET: u32 = 12;

struct Walk {
    app: AppWindow,
    updates: Receiver<Update>,
    taps: Cell<u32>,
    log: std::cell::RefCell<Vec<String>>,
}

impl Walk {
    fn pump(&self) {
        while let Ok(u) = self.updates.try_recv() {
            match u {
                Update::View(v) => ui::apply(&self.app, &v),
                Update::Technician(t) => kiosk::technician::apply(&self.app, &t),
                Update::Preview { .. } | Update::ReceiptPicture { .. } => {}
            }
        }
    }

    fn wait(&self, what: &str, pred: impl Fn(&AppWindow) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            self.pump();
            if pred(&self.app) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn screen(&self) -> Screen {
        self.app.global::<Intake>().get_screen()
    }

    /// One finger tap on the one enabled button with this label.
    fn tap(&self, label: &str) {
        self.pump();
        let buttons: Vec<ElementHandle> = ElementHandle::find_by_accessible_label(&self.app, label)
            .filter(|e| e.accessible_role() == Some(AccessibleRole::Button))
            .collect();
        assert_eq!(buttons.len(), 1, "one button {label:?} on {:?}", self.screen());
        assert_ne!(buttons[0].accessible_enabled(), Some(false), "{label:?} is enabled");
        buttons[0].invoke_accessible_default_action();
        self.taps.set(self.taps.get() + 1);
        self.log.borrow_mut().push(label.to_string());
    }
}

#[test]
fn a_first_time_petitioner_with_three_pages_needs_at_most_twelve_taps() -> anyhow::Result<()> {
    let _ = slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: true,
        threading: false,
        renderer_name: Some("software".into()),
    })));
    let mut h = Harness::start(Options::default())?;
    // The harness's own controller makes way for one that drives the window.
    if let Some(c) = h.controller.take() {
        c.shutdown();
    }
    let app = AppWindow::new()?;
    app.window().set_size(slint::PhysicalSize::new(1080, 1920));
    app.show()?;
    let (tx, updates) = mpsc::channel::<Update>();
    let tx = Mutex::new(tx);
    let sink: kiosk::Sink = Arc::new(move |u| {
        if let Ok(tx) = tx.lock() {
            let _ = tx.send(u);
        }
    });
    let controller = Controller::spawn(
        &h.cfg,
        h.cfg.read_token()?,
        kiosk::devices::from_config(&h.cfg),
        sink,
        None,
    )?;
    ui::attach(&app, &h.cfg.terminal.hall_name, controller.sender(), None);
    let w = Walk {
        app,
        updates,
        taps: Cell::new(0),
        log: Default::default(),
    };

    w.wait("welcome", |a| a.global::<Intake>().get_screen() == Screen::Welcome);
    h.reader.control.insert(SimCard::specimen());
    w.tap("开始登记");
    w.wait("identity with history", |a| {
        let g = a.global::<Intake>();
        g.get_screen() == Screen::Identity && !g.get_history_loading()
    });
    assert_eq!(w.app.global::<Intake>().get_history_note(), "首次登记");
    w.tap("确认身份");
    w.wait("category", |a| a.global::<Intake>().get_screen() == Screen::Category);
    w.tap("劳动工资");
    w.wait("capture", |a| a.global::<Intake>().get_screen() == Screen::Capture);
    for n in 1..=3 {
        w.wait("the camera ready", |a| {
            let g = a.global::<Intake>();
            !g.get_capture_busy() && g.get_pages().row_count() == n - 1
        });
        w.tap("拍照");
        w.wait("the page", |a| {
            let g = a.global::<Intake>();
            !g.get_capture_busy() && g.get_pages().row_count() == n
        });
    }
    w.tap("拍完了");
    // The description is optional; the phone may be left out (with a confirmation).
    w.wait("description", |a| a.global::<Intake>().get_screen() == Screen::Describe);
    w.tap("跳过");
    w.wait("phone", |a| a.global::<Intake>().get_screen() == Screen::Phone);
    w.tap("不留电话");
    w.wait("the no-phone question", |a| a.global::<Intake>().get_confirm_no_phone());
    w.tap("确定不留");
    w.wait("review", |a| a.global::<Intake>().get_screen() == Screen::Review);
    w.tap("提交登记");
    w.wait("the receipt with its case number", |a| {
        let g = a.global::<Intake>();
        g.get_screen() == Screen::Receipt && !g.get_case_number().is_empty()
    });
    let taps = w.taps.get();
    println!("walk-through: {taps} taps from card to receipt: {:?}", w.log.borrow());
    assert!(
        taps <= TAP_BUDGET,
        "{taps} taps (budget {TAP_BUDGET}): {:?}",
        w.log.borrow()
    );
    controller.shutdown();
    drop(h);
    Ok(())
}
