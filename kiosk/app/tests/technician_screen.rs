//! The technician screen end to end, headless: the real controller on the
//! simulators (card reader and printer on pseudo-terminals, the camera on the
//! specimen photos), the real Slint window on the testing backend. The test
//! presses "导出诊断包" and "测试打印" by their accessible labels and finds
//! the bundle in a temporary directory configured as the USB stick, and the
//! test page on the printer simulator.

use std::io::Read;

use intake::Event;
use kiosk::{devices, Config};
use kiosk_ui::{AppWindow, Intake, Screen};
use slint::{ComponentHandle, Model};

mod common;
use common::{press, wait};

const PLANTED_ID: &str = "11010519491231002X";

fn notice(app: &AppWindow) -> String {
    app.global::<Intake>().get_technician().notice.to_string()
}

#[test]
fn the_technician_exports_a_bundle_to_the_stick_and_prints_a_test_page() {
    let dir = tempfile::tempdir().unwrap();
    let stick = dir.path().join("stick");
    std::fs::create_dir(&stick).unwrap();
    let log = dir.path().join("kiosk.log");
    std::fs::write(
        &log,
        format!("WARN a leaked {PLANTED_ID} 张三丰\nINFO kiosk ready\n"),
    )
    .unwrap();

    let mut cfg = Config::default();
    cfg.terminal.id = "tech-01".into();
    cfg.queue.path = dir.path().join("queue.db");
    cfg.queue.min_free_mb = 1;
    // Nothing listens there: the registry row must say so.
    cfg.registry.url = "http://127.0.0.1:9".into();
    cfg.registry.token_file = dir.path().join("token");
    std::fs::write(&cfg.registry.token_file, "tech-test-token\n").unwrap();
    cfg.camera.image_sequence = Some(devices::sample_pages());
    cfg.camera.preview_interval_ms = 200;
    cfg.technician.usb_mount = stick.clone();
    cfg.technician.log_file = log;
    cfg.provision_local_keys(dir.path()).unwrap();
    let _reader = devices::simulate_reader(&mut cfg).unwrap();
    let printer = devices::simulate_printer(&mut cfg).unwrap();

    let app = common::window();
    let (sink, updates) = common::sink();
    let controller = common::start(&app, &cfg, sink);

    // The staff PIN login will emit this; until then the command line does.
    controller.sender().send(Event::TechnicianEnter).unwrap();
    wait(&app, &updates, "the technician screen with its rows", |a| {
        let g = a.global::<Intake>();
        g.get_screen() == Screen::Technician && g.get_technician().rows.iter().count() == 7
    });
    wait(&app, &updates, "the reader and camera rows", |a| {
        let rows: Vec<String> = a
            .global::<Intake>()
            .get_technician()
            .rows
            .iter()
            .map(|r| r.text.to_string())
            .collect();
        rows[0].starts_with("读卡器：已连接（串口 /dev/pts/")
            && rows[1].starts_with("摄像头：正常")
            && rows[3].starts_with("登记系统：无法连接")
    });

    press(&app, "导出诊断包");
    wait(&app, &updates, "the export's notice", |a| {
        notice(a).starts_with("诊断包已写入")
    });
    let bundles: Vec<_> = std::fs::read_dir(&stick)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(bundles.len(), 1, "{bundles:?}");
    assert!(notice(&app).contains(&bundles[0].display().to_string()));
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(&bundles[0]).unwrap(),
    ));
    let mut names = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        let name = entry.path().unwrap().display().to_string();
        assert!(
            !text.contains(PLANTED_ID) && !text.contains("张三丰"),
            "{name}: {text}"
        );
        if name.ends_with("health.json") {
            assert!(text.contains("\"connected\": true"), "{text}");
        }
        names.push(name);
    }
    assert_eq!(names.len(), 5, "{names:?}");

    press(&app, "测试打印");
    wait(&app, &updates, "the test print's notice", |a| {
        notice(a).starts_with("测试页已打印")
    });
    assert_eq!(
        printer.control.take_pages().len(),
        1,
        "one test page was cut"
    );
    wait(&app, &updates, "the printer row", |a| {
        a.global::<Intake>()
            .get_technician()
            .rows
            .iter()
            .any(|r| r.text == "打印机：正常，有纸" && r.mark == 0)
    });

    // Without a stick the screen says so.
    std::fs::remove_dir_all(&stick).unwrap();
    press(&app, "导出诊断包");
    wait(&app, &updates, "the no-stick notice", |a| {
        notice(a).contains("不存在")
    });
    assert!(app.global::<Intake>().get_technician().notice_is_error);

    press(&app, "返回");
    wait(&app, &updates, "the welcome screen", |a| {
        a.global::<Intake>().get_screen() == Screen::Welcome
    });
    controller.shutdown();
}
