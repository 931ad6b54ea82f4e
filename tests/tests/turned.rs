//! A page put down upside down or sideways is read upright, and the page
//! the registry receives is the upright one: the JPEG the kiosk uploaded is
//! exactly the photographed page turned the right way up. With Tesseract
//! (the fallback engine) and with PP-OCR (the terminal's engine).

use std::time::Duration;

use intake::{Event, Screen};
use kiosk_camera::{process_page, turn_page, Frame, PageOptions};
use kiosk_e2e::{Harness, Options, RegistryReader};
use kiosk_idcard::sim::SimCard;

/// A specimen photo with the page lying turned `degrees` clockwise on the
/// desk, written as the camera's frame sequence; returns the pattern and the
/// upright page JPEG the kiosk is expected to upload.
fn turned_sequence(dir: &std::path::Path, degrees: u16) -> anyhow::Result<(String, Vec<u8>)> {
    let pages = kiosk::devices::sample_pages();
    let photo = std::fs::read(pages.replace("%03d", "001"))?;
    // Turning the whole photo turns the page on the desk (a sideways page
    // gives a portrait frame; the camera does not mind).
    let big = PageOptions {
        max_jpeg_bytes: 16 << 20,
        ..PageOptions::default()
    };
    let frame_jpeg = turn_page(&photo, degrees, &big)?.jpeg;
    for i in 1..=4 {
        std::fs::write(dir.join(format!("frame-{i:03}.jpg")), &frame_jpeg)?;
    }
    let captured = process_page(&Frame::from_encoded(&frame_jpeg)?)?;
    let upright = turn_page(&captured.jpeg, (360 - degrees) % 360, &PageOptions::default())?;
    Ok((format!("{}/frame-%03d.jpg", dir.display()), upright.jpeg))
}

fn register_one_page(degrees: u16, ppocr: bool) -> anyhow::Result<()> {
    let frames = tempfile::tempdir()?;
    let (sequence, upright) = turned_sequence(frames.path(), degrees)?;
    let h = Harness::start(Options {
        camera_sequence: Some(sequence),
        ppocr,
        ..Options::default()
    })?;
    let long = Duration::from_secs(90);
    h.wait_for("welcome", long, |v| v.screen == Some(Screen::Welcome))?;
    h.press(Event::Start);
    h.reader.control.insert(SimCard::specimen());
    h.wait_for("identity", long, |v| {
        v.screen == Some(Screen::Identity) && !v.history_loading
    })?;
    h.press(Event::ConfirmIdentity);
    h.press(Event::ChooseCategory("labour".into()));
    h.wait_for("capture", long, |v| v.screen == Some(Screen::Capture))?;
    h.press(Event::CaptureRequested);
    h.wait_for("the page", long, |v| v.pages.len() == 1 && !v.capture_busy)?;
    h.press(Event::FinishCapture);
    h.press(Event::SkipDescription);
    h.wait_for("phone", long, |v| v.screen == Some(Screen::Phone))?;
    h.press(Event::NoPhone);
    h.press(Event::NoPhoneConfirmed(true));
    h.wait_for("review, page recognised", long, |v| {
        v.screen == Some(Screen::Review) && v.pages.len() == 1 && v.pages[0].status != "识别中…"
    })?;
    h.press(Event::Submit);
    let receipt = h.wait_case_number(Duration::from_secs(60))?;

    let reg = RegistryReader::new(h.registry_addr)?;
    let rec = reg.registration(&receipt.case_number)?;
    assert_eq!(rec.pages.len(), 1);
    let text = rec.pages[0].ocr_text.expose().to_string();
    for phrase in ["信访材料", "拖欠工资"] {
        assert!(
            text.contains(phrase),
            "put down at {degrees}°: the text is not read upright ({} chars)",
            text.chars().count()
        );
    }
    assert_eq!(
        rec.pages[0].sha256,
        registry_api::sha256_hex(&upright),
        "put down at {degrees}°: the uploaded page is not the upright one"
    );
    h.press(Event::Done);
    h.finish()
}

#[test]
fn a_page_upside_down_is_read_and_uploaded_upright() -> anyhow::Result<()> {
    register_one_page(180, false)
}

#[test]
fn a_page_put_down_sideways_is_read_and_uploaded_upright() -> anyhow::Result<()> {
    register_one_page(90, false)
}

#[test]
fn pp_ocr_reads_and_uploads_a_sideways_page_upright() -> anyhow::Result<()> {
    register_one_page(270, true)
}
