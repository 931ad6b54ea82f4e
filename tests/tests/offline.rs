//! The registry is down: the registration is sealed, the screen says it will
//! be sent, and it is sent exactly once when the registry comes back. A photo
//! with no page on it is reported, and the next good photo is taken.

use std::time::Duration;

use intake::{Event, Screen};
use kiosk_e2e::{CapturedLog, Harness, Options, RegistryReader};
use kiosk_idcard::sim::SimCard;

#[test]
fn registry_down_queues_then_sends_exactly_once() -> anyhow::Result<()> {
    let log = CapturedLog::install();
    let mut h = Harness::start(Options {
        registry_up: false,
        ..Options::default()
    })?;
    let card = SimCard::specimen();
    let id_number = card.text.id_number.expose().to_string();

    let visit = h.visit(card, "land", 1)?;
    assert!(visit.identity.history.is_empty());
    assert!(
        visit.identity.history_note.contains("无法连接"),
        "{:?}",
        visit.identity.history_note
    );
    assert!(visit.receipt.queued_offline);
    assert!(visit.receipt.case_number.is_empty());
    let local_ref = visit.receipt.local_ref.clone();
    assert!(!local_ref.is_empty());

    // Let a few uploads fail, then bring the registry up.
    std::thread::sleep(Duration::from_secs(2));
    let queue = kiosk_queue::Queue::open(&h.cfg.queue.path)?;
    assert_eq!(queue.counts()?.acknowledged, 0);
    h.start_registry()?;
    let receipt = h.wait_case_number(Duration::from_secs(30))?;
    assert_eq!(receipt.local_ref, local_ref);

    let reg = RegistryReader::new(h.registry_addr)?;
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(reg.registration_count()?, 1, "uploaded exactly once");
    let stored = queue.receipt(&local_ref)?.expect("receipt kept");
    assert_eq!(
        stored.case_number.as_deref(),
        Some(receipt.case_number.as_str())
    );
    h.finish()?;
    assert!(
        !log.text().contains(&id_number),
        "a log line holds the ID number"
    );
    Ok(())
}

#[test]
fn a_photo_without_a_page_is_reported_and_the_visit_goes_on() -> anyhow::Result<()> {
    let samples =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../drivers/camera/samples");
    let dir = tempfile::tempdir()?;
    std::fs::copy(
        samples.join("empty-desk.jpg"),
        dir.path().join("frame-001.jpg"),
    )?;
    std::fs::copy(
        samples.join("pages/page-001.jpg"),
        dir.path().join("frame-002.jpg"),
    )?;
    let h = Harness::start(Options {
        camera_sequence: Some(format!("{}/frame-%03d.jpg", dir.path().display())),
        ..Options::default()
    })?;
    let long = Duration::from_secs(60);
    h.reader.control.insert(SimCard::specimen());
    h.press(Event::Start);
    h.wait_for("identity", long, |v| v.screen == Some(Screen::Identity))?;
    h.press(Event::ConfirmIdentity);
    h.press(Event::ChooseCategory("unsure".into()));
    h.wait_for("capture", long, |v| v.screen == Some(Screen::Capture))?;
    h.press(Event::CaptureRequested);
    let v = h.wait_for("rejection", long, |v| v.message_is_error && !v.capture_busy)?;
    assert!(v.message.contains("没有找到材料"), "{}", v.message);
    assert!(v.pages.is_empty());
    h.press(Event::CaptureRequested);
    let v = h.wait_for("page", long, |v| v.pages.len() == 1 && !v.capture_busy)?;
    assert!(!v.message_is_error);
    h.press(Event::Cancel);
    let v = h.wait_for("welcome", long, |v| v.screen == Some(Screen::Welcome))?;
    assert!(
        v.person_name.is_empty() && v.pages.is_empty(),
        "cancel wipes the screen"
    );
    Ok(())
}

#[test]
fn printer_out_of_paper_shows_the_receipt_on_screen() -> anyhow::Result<()> {
    let h = Harness::start(Options::default())?;
    h.printer.control.set_status(kiosk_printer::PrinterStatus {
        paper_out: true,
        offline: true,
        ..kiosk_printer::PrinterStatus::READY
    });
    let visit = h.visit(SimCard::specimen(), "housing", 1)?;
    assert!(!visit.receipt.local_ref.is_empty());
    let v = h.wait_for("printer message", Duration::from_secs(15), |v| {
        !v.message.is_empty()
    })?;
    assert!(v.message.contains("缺纸"), "{}", v.message);
    assert!(v.message_is_error);
    assert!(h
        .receipt_picture_shown
        .load(std::sync::atomic::Ordering::SeqCst));
    assert!(
        !v.case_number.is_empty(),
        "the registration went through anyway"
    );
    h.finish()?;
    Ok(())
}

#[test]
fn reader_unplugged_is_reported_and_a_bad_frame_never_wedges_the_flow() -> anyhow::Result<()> {
    use kiosk_idcard::sim::SimFault;
    let h = Harness::start(Options::default())?;
    let long = Duration::from_secs(20);
    h.reader.control.unplug();
    h.press(Event::Start);
    let v = h.wait_for("reader disconnected", long, |v| {
        v.message.contains("读卡器未连接")
    })?;
    assert!(v.message_is_error);
    assert_eq!(v.screen, Some(Screen::Card));

    h.reader.control.replug();
    h.wait_for("message cleared", long, |v| v.message.is_empty())?;
    h.reader.control.inject_fault(SimFault::BadChecksum);
    h.reader.control.insert(SimCard::specimen());
    let v = h.wait_for("identity", long, |v| v.screen == Some(Screen::Identity))?;
    assert_eq!(v.person_name, SimCard::specimen().text.name.expose());
    h.press(Event::Cancel);
    h.wait_for("welcome", long, |v| v.screen == Some(Screen::Welcome))?;
    Ok(())
}
