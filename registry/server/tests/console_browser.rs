//! The staff console in a real browser: Debian's `chromium`, headless,
//! driven over WebDriver (`chromium-driver`'s `chromedriver`, through
//! `fantoccini`). The registry runs in-process with sealed SPECIMEN
//! registrations uploaded as terminals do; a clerk signs in, filters the
//! list, opens a case, accepts it with a notice, answers and closes it and
//! signs out; a supervisor checks the audit page and the fleet. Screenshots
//! of the case list, a case page and the fleet page at 1366×768 are written
//! to the target directory, and over the committed references in
//! `tests/screenshots/` when `UPDATE_SCREENSHOTS=1`.
//!
//! Not skipped without a browser: it fails and says what to install
//! (`scripts/install-deps.sh` installs both packages).

mod console_util;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use console_util::*;
use fantoccini::{Client, ClientBuilder, Locator};
use registry::ConsoleConfig;
use registry_api::{Heartbeat, PrinterReport, HEARTBEAT_PATH};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// `chromedriver` on a free loopback port, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    /// Ends chromedriver and the browsers it started (its process group),
    /// also when the test failed before closing its session.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver() -> Driver {
    for (path, package) in [(CHROMEDRIVER, "chromium-driver"), (CHROMIUM, "chromium")] {
        assert!(
            Path::new(path).exists(),
            "{path} is missing: this test needs Debian's {package} (run scripts/install-deps.sh, \
             or apt-get install chromium chromium-driver)"
        );
    }
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        // Its own process group, with the browsers it starts: see `Drop`.
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot start chromedriver");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not listen within 20 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new",
                // The test runs as root in CI, where Chromium's sandbox cannot start.
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--window-size=1366,768",
                "--hide-scrollbars",
                "--lang=zh-CN",
                "--force-device-scale-factor=1",
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("cannot open a chromium session through chromedriver")
}

/// The size of a PNG, from its header.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[1..4], b"PNG");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    (width, height)
}

/// Sizes the window so that the page itself (what a screenshot shows) is
/// 1366×768: headless Chromium keeps room for its window frame.
async fn fit_viewport(c: &Client) {
    c.goto("about:blank").await.unwrap();
    for _ in 0..3 {
        let (w, h) = png_size(&c.screenshot().await.unwrap());
        if (w, h) == (1366, 768) {
            return;
        }
        let (ww, wh) = c.get_window_size().await.unwrap();
        c.set_window_size(
            (ww as i64 + 1366 - i64::from(w)) as u32,
            (wh as i64 + 768 - i64::from(h)) as u32,
        )
        .await
        .unwrap();
    }
}

/// Saves a screenshot (and checks it is 1366×768).
async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert_eq!(png_size(&png), (1366, 768), "{name}: the viewport is not 1366×768");
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join(name), &png).unwrap();
    if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        let refs = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/screenshots");
        std::fs::create_dir_all(&refs).unwrap();
        std::fs::write(refs.join(name), &png).unwrap();
    }
}

async fn source(c: &Client) -> String {
    c.source().await.unwrap()
}

async fn sign_in(c: &Client, base: &str, user: &str) {
    c.goto(&format!("{base}/console/login")).await.unwrap();
    c.find(Locator::Css("#user")).await.unwrap().send_keys(user).await.unwrap();
    c.find(Locator::Css("#password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
    c.find(Locator::Css("#sign-in")).await.unwrap().click().await.unwrap();
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).click().await.unwrap();
}

/// Waits (up to 10 s) until the page's source holds `needle`.
async fn wait_source(c: &Client, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !c.source().await.map(|s| s.contains(needle)).unwrap_or(false) {
        assert!(Instant::now() < deadline, "the page never showed {needle}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (up to 10 s) until the case page, reloaded after a form, says `status`.
async fn wait_status(c: &Client, status: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(el) = c.find(Locator::Css("#case-status")).await {
            if el.text().await.ok().as_deref() == Some(status) {
                return;
            }
        }
        assert!(Instant::now() < deadline, "the case never showed {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn heartbeat(rig: &Rig, token: &str, hb: Heartbeat) {
    let res = reqwest::Client::new().post(rig.url(HEARTBEAT_PATH)).bearer_auth(token).json(&hb).send().await.unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);
}

/// The letter's recognised text (SPECIMEN).
const LETTER_TEXT: &str = "申请书\n申请人：测试样例（SPECIMEN）\n本人于2025年在东岭镇某建筑工地务工，\n包工头拖欠工资共计人民币壹万贰仟元，\n多次催要未果，请求有关部门责令支付。\n此致\n东岭镇人民政府";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clerk_works_a_case_in_chromium_and_a_supervisor_checks_the_audit_and_the_fleet() {
    let driver = start_driver();
    let rig = start(ConsoleConfig::default()).await;
    // Two halls with their names, so the list and the fleet show them.
    for (id, hall) in [("hall-01", "东岭镇便民服务中心"), ("hall-02", "西岭乡便民服务中心"), ("hall-03", "区信访接待大厅")] {
        let res = reqwest::Client::new()
            .post(rig.url(registry_api::STAFF_TERMINALS_PATH))
            .bearer_auth(STAFF)
            .json(&serde_json::json!({"terminal_id": id, "hall": hall}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::CREATED);
    }
    let case = rig.upload(&specimen("b1", ID_A, "labour", LETTER_TEXT)).await.case_number;
    rig.upload(&specimen("b2", ID_A, "land", "SPECIMEN 征地补偿款未发放")).await;
    let mut third = specimen("b3", ID_B, "housing", "SPECIMEN 物业问题");
    third.terminal_id = "hall-02".into();
    let reqw = reqwest::Client::new()
        .post(rig.url(registry_api::SEALED_REGISTRATIONS_PATH))
        .bearer_auth(TOKEN_2)
        .header(registry_api::IDEMPOTENCY_HEADER, "b3")
        .header("content-type", registry_api::SEALED_CONTENT_TYPE)
        .body(rig.seal.public_key().seal(&third).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(reqw.status(), reqwest::StatusCode::CREATED);
    let base_hb = Heartbeat {
        terminal_id: String::new(),
        queue_depth: 0,
        failed: 0,
        oldest_unsent_age_s: None,
        version: "0.1.0".into(),
        printer: Some(PrinterReport::Ok),
        free_disk_mb: Some(11_200),
        update: None,
    };
    heartbeat(&rig, TOKEN, Heartbeat { queue_depth: 2, oldest_unsent_age_s: Some(95), printer: Some(PrinterReport::PaperOut), free_disk_mb: Some(320), ..base_hb.clone() }).await;
    // hall-02 is fetching an update: the fleet page says so beside its version.
    let fetching = registry_api::UpdateReport { target_version: "0.2.0".into(), state: registry_api::UpdateState::Downloading };
    heartbeat(&rig, TOKEN_2, Heartbeat { update: Some(fetching), ..base_hb.clone() }).await;

    let c = browser(&driver).await;
    fit_viewport(&c).await;
    let base = rig.base.clone();

    // The clerk signs in and lands on the list.
    sign_in(&c, &base, "li").await;
    wait_source(&c, "共 3 件").await;
    assert!(c.current_url().await.unwrap().path().ends_with("/console/cases"));
    screenshot(&c, "console-cases.png").await;
    // Filters: the labour category.
    c.find(Locator::Css("#f-category")).await.unwrap().select_by_value("labour").await.unwrap();
    click(&c, "#filter").await;
    wait_source(&c, "共 1 件").await;
    assert!(c.current_url().await.unwrap().query().unwrap_or("").contains("category=labour"));
    // Opens the case; accepts it with the filled template.
    click(&c, ".case-link").await;
    wait_source(&c, "包工头拖欠工资").await;
    assert!(c.current_url().await.unwrap().path().ends_with(&case));
    let text = c.find(Locator::Css("#text-accepted")).await.unwrap().prop("value").await.unwrap().unwrap_or_default();
    assert!(text.contains(&case) && text.contains("测试样例"), "the acceptance template is not filled");
    click(&c, "#do-accepted").await;
    wait_status(&c, "已受理").await;
    screenshot(&c, "console-case.png").await;
    // Answers (the answer's template, with a sentence of the clerk's) and closes.
    let answer = c.find(Locator::Css("#text-answered")).await.unwrap();
    answer.send_keys("经核实，SPECIMEN 工地已于本月支付全部工资。").await.unwrap();
    click(&c, "#do-answered").await;
    wait_status(&c, "已答复").await;
    click(&c, "#do-closed").await;
    wait_status(&c, "已办结").await;
    // A clerk has no audit page.
    c.goto(&format!("{base}/console/audit")).await.unwrap();
    assert!(source(&c).await.contains("无权访问"));
    c.goto(&format!("{base}/console/cases")).await.unwrap();
    click(&c, "#logout").await;
    wait_source(&c, "工作人员登录").await;
    assert!(c.current_url().await.unwrap().path().ends_with("/console/login"));

    // The supervisor: the audit page names the clerk's reads and changes.
    sign_in(&c, &base, "zhang").await;
    wait_source(&c, "zhang（主管）").await;
    c.goto(&format!("{base}/console/audit")).await.unwrap();
    let html = source(&c).await;
    for needle in ["变更状态", "查看案件", "查看材料图片", &format!("{case} accepted notice:acceptance"), &format!("{case} closed")] {
        assert!(html.contains(needle), "the audit page lacks {needle}");
    }
    c.goto(&format!("{base}/console/fleet")).await.unwrap();
    let html = source(&c).await;
    assert!(html.contains("打印机缺纸") && html.contains("磁盘剩余空间不足：320 MB"));
    assert!(html.contains("更新到 0.2.0：下载中"), "the fleet page does not show the update");
    screenshot(&c, "console-fleet.png").await;
    c.close().await.unwrap();

    // The terminal's history of the case carries both notices.
    let reply = rig.history(ID_A).await;
    let entry = reply.registrations.iter().find(|e| e.case_number == case).unwrap();
    let kinds: Vec<_> = entry.notices.iter().map(|n| n.kind.as_str()).collect();
    assert_eq!(kinds, ["acceptance", "answer"]);
    assert!(entry.notices[1].text.contains("工地已于本月支付全部工资"));
    rig.reg.shutdown().await;
}

/// The voice note's player on the case page loads the note in the browser:
/// the console's CSP lets audio come from the console (`media-src 'self'`),
/// the browser sends the session with the request, and what it gets is an
/// Ogg Opus file it reads as 0:42 long. Without the session the same address
/// plays nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clerk_plays_a_cases_voice_note_in_chromium() {
    let driver = start_driver();
    let rig = start(ConsoleConfig::default()).await;
    let mut up = specimen("vn1", ID_A, "labour", LETTER_TEXT);
    let ogg = registry_api::voice::specimen_ogg_opus(42_000);
    up.voice_note = Some(registry_api::VoiceNoteUpload::new(&ogg, 42_000));
    let case = rig.upload(&up).await.case_number;

    let c = browser(&driver).await;
    let base = rig.base.clone();
    sign_in(&c, &base, "li").await;
    wait_source(&c, "共 1 件").await;
    c.goto(&format!("{base}/console/cases/{case}")).await.unwrap();
    let line = c.find(Locator::Css("#voice-note")).await.unwrap().text().await.unwrap();
    assert!(line.starts_with("语音 1 段，0:42"), "{line}");
    // `preload="none"`: nothing is fetched until asked; ask as a press of
    // play would, and wait for the metadata (or an error).
    let probe = r#"
        const a = document.getElementById('voice-audio');
        if (arguments[0]) { a.preload = 'metadata'; a.load(); }
        return [a.readyState, a.error ? a.error.code : 0, isFinite(a.duration) ? a.duration : -1];
    "#;
    let state = |v: serde_json::Value| -> (u64, u64, f64) {
        (v[0].as_u64().unwrap(), v[1].as_u64().unwrap(), v[2].as_f64().unwrap())
    };
    let first = state(c.execute(probe, vec![serde_json::json!(false)]).await.unwrap());
    assert_eq!(first.0, 0, "preload=none fetched the note before it was asked for");
    c.execute(probe, vec![serde_json::json!(true)]).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let (ready, error, duration) = loop {
        let now = state(c.execute(probe, vec![serde_json::json!(false)]).await.unwrap());
        if now.0 >= 1 || now.1 != 0 {
            break now;
        }
        assert!(Instant::now() < deadline, "the note never loaded: {now:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(error, 0, "the browser could not load the note (CSP or session?)");
    assert!(ready >= 1 && (41.5..42.5).contains(&duration), "ready {ready}, duration {duration}");
    // Signed out, the same address gives no audio.
    click(&c, "#logout").await;
    wait_source(&c, "工作人员登录").await;
    c.goto(&format!("{base}/console/cases/{case}/voice-note")).await.unwrap();
    assert!(c.current_url().await.unwrap().path().ends_with("/console/login"));
    c.close().await.unwrap();
    let audit = rig.audit().await;
    assert!(audit.contains(&("li".into(), "console_read_voice_note".into(), case)), "{audit:?}");
    rig.reg.shutdown().await;
}
