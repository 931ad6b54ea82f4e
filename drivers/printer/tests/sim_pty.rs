//! The ESC/POS driver against the printer simulator on a pseudo-terminal:
//! receipts, tickets, QR content, GB18030 text, paper and cover faults, an
//! absent printer, and the rendered paper against the committed reference
//! PNGs (`UPDATE_REFERENCE=1` rewrites them; look at them after).

use std::path::{Path, PathBuf};
use std::time::Duration;

use image::GrayImage;
use kiosk_printer::escpos::QrMode;
use kiosk_printer::sim::{self, PrinterSim, SimConfig, SimControl, SimPage};
use kiosk_printer::SPECIMEN_QUERY_CODE;
use kiosk_printer::{
    error_message_zh, EscPosPrinter, PrintOutcome, PrinterConfig, PrinterError, PrinterStatus,
    ReceiptPrinter, QUEUED_NOTE,
};

fn start(native_qr: bool) -> (PrinterSim, SimControl, EscPosPrinter) {
    let (sim, ctl) = sim::spawn_with(SimConfig {
        native_qr,
        ..SimConfig::default()
    })
    .expect("simulator starts");
    let qr = if native_qr {
        QrMode::Native
    } else {
        QrMode::Raster
    };
    let cfg = PrinterConfig {
        path: sim.path().to_path_buf(),
        qr,
        ..PrinterConfig::default()
    };
    let printer = EscPosPrinter::open(cfg).expect("printer opens");
    (sim, ctl, printer)
}

fn one_page(ctl: &SimControl) -> SimPage {
    let mut pages = ctl.take_pages();
    assert_eq!(pages.len(), 1, "one strip cut");
    pages.remove(0)
}

/// Compares `page` with the reference, tolerating small rendering
/// differences (another FreeType-free rasteriser build, font point release).
fn check_reference(page: &GrayImage, name: &str) {
    let reference = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("reference")
        .join(name);
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    page.save(out_dir.join(name)).expect("actual PNG written");
    if std::env::var_os("UPDATE_REFERENCE").is_some() {
        page.save(&reference).expect("reference written");
        return;
    }
    let want = image::open(&reference)
        .expect("reference PNG present")
        .to_luma8();
    assert_eq!(page.width(), 640, "80 mm paper");
    assert_eq!(want.width(), page.width(), "paper width");
    let (h_want, h_got) = (want.height(), page.height());
    assert!(
        h_want.abs_diff(h_got) * 50 <= h_want,
        "height {h_got} vs reference {h_want}"
    );
    let h = h_want.min(h_got);
    let differing = (0..h)
        .flat_map(|y| (0..want.width()).map(move |x| (x, y)))
        .filter(|&(x, y)| (want.get_pixel(x, y).0[0] < 128) != (page.get_pixel(x, y).0[0] < 128))
        .count();
    let share = differing as f64 / f64::from(want.width() * h);
    assert!(
        share < 0.01,
        "{:.2}% of dots differ from {name}; actual in {}",
        share * 100.0,
        out_dir.display()
    );
}

#[test]
fn receipt_prints_and_matches_the_reference() {
    let (_sim, ctl, mut printer) = start(true);
    let job = kiosk_printer::specimen_receipt(None)
        .to_job()
        .expect("template fills");
    let outcome = printer.print(&job).expect("prints");
    assert_eq!(
        outcome,
        PrintOutcome::Printed {
            status: PrinterStatus::READY
        }
    );
    let lines = ctl.take_text_lines();
    assert!(lines.iter().any(|l| l.contains("信访登记回执")));
    assert!(lines.iter().any(|l| l.contains("L20261128-0007")));
    assert!(lines.iter().any(|l| l.contains(QUEUED_NOTE)));
    assert!(lines.iter().any(|l| l == "身份证号：****************2X"));
    let page = one_page(&ctl);
    assert!(page.complete);
    check_reference(&page.image, "receipt.png");
}

#[test]
fn notice_prints_in_gb18030_with_its_qr_and_matches_the_reference() {
    let (_sim, ctl, mut printer) = start(false);
    let job = kiosk_printer::specimen_notice()
        .to_job()
        .expect("template fills");
    let outcome = printer.print(&job).expect("prints");
    assert!(matches!(outcome, PrintOutcome::Printed { .. }));
    let lines = ctl.take_text_lines();
    assert!(lines.iter().any(|l| l == "受理告知书"), "{lines:?}");
    assert!(lines.iter().any(|l| l == "登记编号：XF20261128-000123"));
    assert!(lines.iter().any(|l| l.contains("符合受理条件")));
    let page = one_page(&ctl);
    assert!(page.complete);
    assert_eq!(sim::qr_codes(&page.image), ["XF20261128-000123"]);
    check_reference(&page.image, "notice.png");
}

#[test]
fn receipt_with_case_number_has_no_queued_note() {
    let (_sim, ctl, mut printer) = start(true);
    let job = kiosk_printer::specimen_receipt(Some("XF20261128-000123"))
        .to_job()
        .expect("template fills");
    printer.print(&job).expect("prints");
    let lines = ctl.take_text_lines();
    assert!(lines.iter().any(|l| l == "登记编号：XF20261128-000123"));
    assert!(!lines.iter().any(|l| l.contains(QUEUED_NOTE)));
}

#[test]
fn ticket_prints_and_matches_the_reference() {
    let (_sim, ctl, mut printer) = start(true);
    let job = kiosk_printer::specimen_ticket()
        .to_job()
        .expect("template fills");
    assert!(matches!(
        printer.print(&job),
        Ok(PrintOutcome::Printed { .. })
    ));
    let lines = ctl.take_text_lines();
    assert!(lines.iter().any(|l| l == "A023"));
    assert!(lines.iter().any(|l| l == "请到3号窗口办理"));
    check_reference(&one_page(&ctl).image, "ticket.png");
}

#[test]
fn qr_code_carries_the_query_code_and_never_the_id_number() {
    for native in [true, false] {
        let (_sim, ctl, mut printer) = start(native);
        printer
            .print(
                &kiosk_printer::specimen_receipt(None)
                    .to_job()
                    .expect("fills"),
            )
            .expect("prints");
        let found = sim::qr_codes(&one_page(&ctl).image);
        assert_eq!(
            found,
            vec![SPECIMEN_QUERY_CODE.to_string()],
            "native QR: {native}"
        );
    }
}

#[test]
fn printer_without_native_qr_prints_nothing_for_native_commands() {
    // The reason for the raster fallback: an old printer ignores GS ( k.
    let (sim, ctl) = sim::spawn_with(SimConfig {
        native_qr: false,
        ..SimConfig::default()
    })
    .expect("starts");
    let cfg = PrinterConfig {
        path: sim.path().to_path_buf(),
        ..PrinterConfig::default()
    };
    let mut printer = EscPosPrinter::open(cfg).expect("opens");
    printer
        .print(
            &kiosk_printer::specimen_receipt(None)
                .to_job()
                .expect("fills"),
        )
        .expect("prints");
    assert!(sim::qr_codes(&one_page(&ctl).image).is_empty());
}

#[test]
fn gb18030_text_round_trips_and_unprintable_characters_are_marked() {
    let (_sim, ctl, mut printer) = start(true);
    let mut receipt = kiosk_printer::specimen_receipt(None);
    // 𠀀 (U+20000) has no two-byte code: the printer's font cannot print it.
    receipt.hall_name = "龘镇\u{20000}村·综治中心".to_string();
    receipt.category = "征地拆迁（补偿款）€".to_string();
    printer
        .print(&receipt.to_job().expect("fills"))
        .expect("prints");
    let lines = ctl.take_text_lines();
    assert_eq!(lines[0], "龘镇〓村·综治中心");
    // GBK's one-byte euro sign is not in the printer's font either.
    assert!(lines.iter().any(|l| l == "事项类别：征地拆迁（补偿款）〓"));
}

#[test]
fn paper_out_before_printing_sends_nothing() {
    let (_sim, ctl, mut printer) = start(true);
    ctl.set_status(PrinterStatus {
        paper_out: true,
        ..PrinterStatus::READY
    });
    let res = printer.print(
        &kiosk_printer::specimen_receipt(None)
            .to_job()
            .expect("fills"),
    );
    let Err(PrinterError::NotReady(status)) = res else {
        panic!("expected NotReady, got {res:?}")
    };
    assert!(status.paper_out && !status.can_print());
    assert!(status.message_zh().contains("缺纸"));
    // Only the three status queries reached the printer.
    assert_eq!(ctl.bytes_received(), 9);
    assert!(ctl.take_pages().is_empty());
}

#[test]
fn paper_running_out_during_printing_is_interrupted() {
    let (_sim, ctl, mut printer) = start(true);
    ctl.change_after_lines(
        5,
        PrinterStatus {
            paper_out: true,
            ..PrinterStatus::READY
        },
    );
    let outcome = printer
        .print(
            &kiosk_printer::specimen_receipt(None)
                .to_job()
                .expect("fills"),
        )
        .expect("sent");
    let PrintOutcome::Interrupted { status } = outcome else {
        panic!("expected Interrupted, got {outcome:?}")
    };
    assert!(status.paper_out);
    assert_eq!(ctl.lines_printed(), 5);
    let page = one_page(&ctl);
    assert!(!page.complete);
    // The next receipt is refused until paper is loaded.
    assert!(matches!(printer.status(), Ok(s) if s.paper_out));
    ctl.set_status(PrinterStatus::READY);
    assert!(matches!(
        printer.print(&kiosk_printer::specimen_ticket().to_job().expect("fills")),
        Ok(PrintOutcome::Printed { .. })
    ));
}

#[test]
fn cover_open_is_not_ready() {
    let (_sim, ctl, mut printer) = start(true);
    ctl.set_status(PrinterStatus {
        cover_open: true,
        offline: true,
        ..PrinterStatus::READY
    });
    let res = printer.print(&kiosk_printer::specimen_ticket().to_job().expect("fills"));
    let Err(err @ PrinterError::NotReady(status)) = res else {
        panic!("expected NotReady, got {res:?}")
    };
    assert!(status.cover_open && status.offline);
    assert_eq!(error_message_zh(&err), "打印机盖未关好，请拍下屏幕上的回执");
}

#[test]
fn paper_near_end_still_prints_and_says_so() {
    let (_sim, ctl, mut printer) = start(true);
    ctl.set_status(PrinterStatus {
        paper_near_end: true,
        ..PrinterStatus::READY
    });
    let outcome = printer
        .print(&kiosk_printer::specimen_ticket().to_job().expect("fills"))
        .expect("prints");
    assert!(matches!(outcome, PrintOutcome::Printed { status } if status.paper_near_end));
    assert_eq!(outcome.message_zh(), "回执已打印，打印纸即将用完");
    assert!(one_page(&ctl).complete);
}

#[test]
fn offline_and_silent_printers_are_typed() {
    let (_sim, ctl, mut printer) = start(true);
    ctl.set_status(PrinterStatus {
        offline: true,
        error: true,
        ..PrinterStatus::READY
    });
    assert!(matches!(printer.status(), Ok(s) if s.offline && s.error));
    ctl.set_silent(true);
    let res = printer.print(&kiosk_printer::specimen_ticket().to_job().expect("fills"));
    assert!(matches!(res, Err(PrinterError::NoReply)), "{res:?}");
}

#[test]
fn absent_printer_is_a_typed_error() {
    let cfg = PrinterConfig {
        path: PathBuf::from("/dev/kiosk/printer-that-is-not-there"),
        reply_timeout: Duration::from_millis(100),
        ..PrinterConfig::default()
    };
    let err = EscPosPrinter::open(cfg).expect_err("no device");
    assert!(matches!(err, PrinterError::Absent { .. }));
    assert_eq!(error_message_zh(&err), "打印机未连接，请拍下屏幕上的回执");
}

#[test]
fn worker_prints_in_the_background_and_reports() {
    let (sim, ctl) = sim::spawn().expect("simulator starts");
    let (tx, rx) = std::sync::mpsc::channel();
    let cfg = PrinterConfig {
        path: sim.path().to_path_buf(),
        ..PrinterConfig::default()
    };
    let worker = kiosk_printer::PrintWorker::spawn(EscPosPrinter::opener(cfg), move |r| {
        let _ = tx.send(r);
    })
    .expect("worker starts");
    ctl.set_status(PrinterStatus {
        paper_out: true,
        ..PrinterStatus::READY
    });
    worker.print(
        1,
        kiosk_printer::specimen_receipt(None)
            .to_job()
            .expect("fills"),
    );
    let report = rx.recv_timeout(Duration::from_secs(5)).expect("report");
    assert!(
        matches!(report, kiosk_printer::PrintReport::Printed { tag: 1, result: Err(PrinterError::NotReady(s)) } if s.paper_out)
    );
    // Reprint once paper is loaded.
    ctl.set_status(PrinterStatus::READY);
    worker.print(
        2,
        kiosk_printer::specimen_receipt(None)
            .to_job()
            .expect("fills"),
    );
    let report = rx.recv_timeout(Duration::from_secs(5)).expect("report");
    assert!(matches!(
        report,
        kiosk_printer::PrintReport::Printed {
            tag: 2,
            result: Ok(PrintOutcome::Printed { .. })
        }
    ));
    drop(worker);
    assert_eq!(ctl.take_pages().len(), 1);
}

#[test]
fn screen_rendering_is_the_printed_paper() {
    let (_sim, ctl, mut printer) = start(true);
    let job = kiosk_printer::specimen_receipt(None)
        .to_job()
        .expect("fills");
    printer.print(&job).expect("prints");
    let printed = one_page(&ctl).image;
    let mut renderer =
        kiosk_printer::PaperRenderer::new(Path::new(kiosk_printer::FONT_PATH)).expect("font loads");
    let shown = renderer.render(&job);
    assert_eq!(shown, printed);
    assert_eq!(sim::qr_codes(&shown), vec![SPECIMEN_QUERY_CODE.to_string()]);
}
