//! What the headless screen tests share: the window on Slint's testing
//! backend, the controller's updates applied to it as the UI thread would,
//! waiting for a state and pressing a button by its accessible label.

#![allow(dead_code)] // Each test binary uses its own part.

use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use i_slint_backend_testing::{ElementHandle, TestingBackend, TestingBackendOptions};
use kiosk::{ui, Update};
use kiosk_ui::AppWindow;
use slint::ComponentHandle;

/// A portrait window on the testing backend (software renderer, mock time).
pub fn window() -> AppWindow {
    let _ = slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: true,
        threading: false,
        renderer_name: Some("software".into()),
    })));
    let app = AppWindow::new().unwrap();
    app.window().set_size(slint::PhysicalSize::new(1080, 1920));
    app.show().unwrap();
    app
}

/// A sink for the controller, and the updates it receives.
pub fn sink() -> (kiosk::Sink, Receiver<Update>) {
    let (tx, updates) = mpsc::channel::<Update>();
    let tx = Mutex::new(tx);
    let sink: kiosk::Sink = Arc::new(move |u| {
        if let Ok(tx) = tx.lock() {
            let _ = tx.send(u);
        }
    });
    (sink, updates)
}

/// The controller on `cfg`'s devices, wired to the window's callbacks.
pub fn start(app: &AppWindow, cfg: &kiosk::Config, sink: kiosk::Sink) -> kiosk::Controller {
    let token = cfg.read_token().unwrap();
    let controller =
        kiosk::Controller::spawn(cfg, token, kiosk::devices::from_config(cfg), sink, None).unwrap();
    ui::attach(app, &cfg.terminal.hall_name, controller.sender(), None);
    kiosk::technician::attach(app, controller.technician());
    controller
}

/// Applies the controller's updates to the window, as the UI thread would.
pub fn pump(app: &AppWindow, updates: &Receiver<Update>) {
    while let Ok(u) = updates.try_recv() {
        match u {
            Update::View(v) => ui::apply(app, &v),
            Update::Technician(t) => kiosk::technician::apply(app, &t),
            Update::Preview { .. } | Update::ReceiptPicture { .. } => {}
        }
    }
}

/// Pumps updates until `pred` holds for the window; fails after 30 s.
pub fn wait(
    app: &AppWindow,
    updates: &Receiver<Update>,
    what: &str,
    pred: impl Fn(&AppWindow) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        pump(app, updates);
        if pred(app) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Presses the one button with this accessible label.
pub fn press(app: &AppWindow, label: &str) {
    let buttons: Vec<ElementHandle> = ElementHandle::find_by_accessible_label(app, label)
        .filter(|e| e.accessible_role() == Some(i_slint_backend_testing::AccessibleRole::Button))
        .collect();
    assert_eq!(buttons.len(), 1, "one button {label:?}");
    buttons[0].invoke_accessible_default_action();
}
