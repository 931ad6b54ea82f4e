//! A clerk cancels a visit while its pages are still being recognised and
//! registers the next visitor at once: the registry receives the second
//! registration with its own identity, pages and text only, and nothing of
//! the first (which is not registered at all).
//!
//! The camera shows visitor A two pages of one petition (land compensation)
//! and visitor B a page of another (unpaid wages), so the opened metadata
//! tells whose text is whose.

use std::time::Duration;

use intake::{Event, Screen};
use kiosk_e2e::{Harness, Options, RegistryReader};
use kiosk_idcard::sim::SimCard;
use kiosk_privacy::StaffPin;

const PIN: &str = "246810";
const B_NAME: &str = "乙某样例";
const B_ID: &str = "110105198001010016";

/// A's two pages, then B's page (held for a few frames in case of a retry).
fn camera_sequence(dir: &std::path::Path) -> anyhow::Result<String> {
    let pages = kiosk::devices::sample_pages();
    let page = |n: u32| pages.replace("%03d", &format!("{n:03}"));
    let order = [2, 3, 1, 1, 1, 1];
    for (i, n) in order.iter().enumerate() {
        std::os::unix::fs::symlink(page(*n), dir.join(format!("frame-{:03}.jpg", i + 1)))?;
    }
    Ok(format!("{}/frame-%03d.jpg", dir.display()))
}

#[test]
fn a_cancelled_visit_with_recognition_running_leaves_nothing_in_the_next() -> anyhow::Result<()> {
    let frames = tempfile::tempdir()?;
    let mut h = Harness::start(Options {
        camera_sequence: Some(camera_sequence(frames.path())?),
        ..Options::default()
    })?;
    h.restart_controller(|cfg| {
        cfg.staff.clerk_pin_hash =
            kiosk::staff::hash_pin(&StaffPin::new(PIN)).expect("a six-digit PIN hashes");
    })?;
    let long = Duration::from_secs(60);
    h.wait_for("welcome", long, |v| v.screen == Some(Screen::Welcome))?;
    h.press(Event::StaffEntry);
    h.wait_for("PIN pad", long, |v| v.screen == Some(Screen::StaffLogin))?;
    h.press(Event::StaffPin(StaffPin::new(PIN)));
    h.wait_for("clerk menu", long, |v| v.screen == Some(Screen::ClerkMenu))?;

    // Visitor A: two pages, cancelled the moment the second is taken, while
    // recognition of both is still under way.
    h.reader.control.insert(SimCard::specimen());
    h.press(Event::ClerkRegister);
    h.wait_for("A's identity", long, |v| {
        v.screen == Some(Screen::Identity) && !v.history_loading
    })?;
    h.press(Event::ConfirmIdentity);
    h.press(Event::ChooseCategory("land".into()));
    h.wait_for("capture", long, |v| v.screen == Some(Screen::Capture))?;
    for n in 1..=2 {
        h.press(Event::CaptureRequested);
        h.wait_for("A's page", long, |v| v.pages.len() == n && !v.capture_busy)?;
    }
    let a = h.view();
    assert!(
        a.pages.iter().any(|p| p.status == "识别中…"),
        "A's pages are still being recognised when the clerk cancels"
    );
    h.press(Event::Cancel);
    h.wait_for("clerk menu again", long, |v| {
        v.screen == Some(Screen::ClerkMenu) && v.pages.is_empty()
    })?;

    // Visitor B, at once.
    h.reader
        .control
        .insert(SimCard::specimen_with(B_NAME, B_ID));
    h.press(Event::ClerkRegister);
    let b = h.wait_for("B's identity", long, |v| {
        v.screen == Some(Screen::Identity) && !v.history_loading
    })?;
    assert_eq!(b.person_name, B_NAME);
    assert!(b.history.is_empty(), "B has no earlier case");
    h.press(Event::ConfirmIdentity);
    h.press(Event::ChooseCategory("labour".into()));
    h.wait_for("capture", long, |v| v.screen == Some(Screen::Capture))?;
    h.press(Event::CaptureRequested);
    h.wait_for("B's page", long, |v| v.pages.len() == 1 && !v.capture_busy)?;
    h.press(Event::FinishCapture);
    h.press(Event::SkipDescription);
    h.wait_for("phone", long, |v| v.screen == Some(Screen::Phone))?;
    h.press(Event::NoPhone);
    h.press(Event::NoPhoneConfirmed(true));
    h.wait_for("review, B's page recognised", long, |v| {
        v.screen == Some(Screen::Review) && v.pages.len() == 1 && v.pages[0].status != "识别中…"
    })?;
    h.press(Event::Submit);
    let receipt = h.wait_case_number(Duration::from_secs(60))?;

    // Long enough for every recognition of A's to have ended.
    std::thread::sleep(Duration::from_secs(3));
    let reg = RegistryReader::new(h.registry_addr)?;
    assert_eq!(reg.registration_count()?, 1, "A is not registered at all");
    let rec = reg.registration(&receipt.case_number)?;
    assert_eq!(rec.petitioner.id_number.expose(), B_ID);
    assert_eq!(rec.petitioner.name.expose(), B_NAME);
    assert_eq!(rec.pages.len(), 1, "only B's page");
    let text: String = rec
        .pages
        .iter()
        .map(|p| p.ocr_text.expose().to_string())
        .collect();
    assert!(
        text.contains("拖欠工资"),
        "B's page is B's wage complaint ({} chars)",
        text.chars().count()
    );
    for a_phrase in ["征地补偿", "补偿名单", "承包"] {
        assert!(
            !text.contains(a_phrase),
            "A's text ({a_phrase}) reached B's registration"
        );
    }
    let queue = kiosk_queue::Queue::open_with(&h.cfg.queue.path, h.cfg.queue_options()?)?;
    let receipts = queue.recent_receipts(10)?;
    assert_eq!(receipts.len(), 1, "the queue sealed B's registration only");
    assert_eq!(receipts[0].page_count, 1);
    h.press(Event::Done);
    h.wait_for("clerk menu", long, |v| v.screen == Some(Screen::ClerkMenu))?;
    h.press(Event::LeaveStaff);
    h.finish()
}
