//! The end-to-end harness shared by the tests in `tests/tests/` and the
//! `intake-bench` benchmark.
//!
//! It runs the real kiosk controller against the real reference registry (an
//! HTTP server with SQLite on loopback), the card reader simulator on a
//! pseudo-terminal and the document camera on the specimen photo sequence:
//! nothing is mocked. A scripted visitor then presses the same buttons a
//! petitioner would, by sending the events the UI sends.

pub mod console;
pub mod fault_proxy;
pub mod netns;
pub mod rig;

use std::net::SocketAddr;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use intake::{Event, Screen};
use kiosk::devices::{self, SimulatedReader};
use kiosk::{Config, Controller, Stage, Update, ViewModel};
use kiosk_idcard::sim::SimCard;
use registry::{BlockingRegistry, RegistryConfig};

/// The token the test terminal and the test registry share.
pub const TOKEN: &str = "e2e-terminal-token";
/// A token the test registry binds to terminal `rig-01` (updates are only
/// for a terminal its credential names).
pub const RIG_TOKEN: &str = "e2e-rig-01-token";
/// The test registry's staff API token ([`RegistryReader`] uses it).
pub const STAFF_TOKEN: &str = "e2e-staff-token";
/// The password of the console's clerk `li` ([`Harness::console_clerk`]).
pub const CLERK_PASSWORD: &str = "e2e-clerk-password";

/// How the world around the kiosk starts.
#[derive(Debug, Clone)]
pub struct Options {
    /// Start the registry at once (false: it is down until [`Harness::start_registry`]).
    pub registry_up: bool,
    /// Camera image sequence; the specimen pages when `None`.
    pub camera_sequence: Option<String>,
    /// Read pages with PP-OCR, as a terminal does (slow in debug builds).
    pub ppocr: bool,
    /// The queue's disk-space floor in MB (0: none; `u64::MAX / 2^20`: always "full").
    pub min_free_mb: u64,
    /// A microphone that says this (espeak-ng through ALSA's file plugin),
    /// with voice notes of at most `note_max_s`; `None`: no microphone.
    pub microphone: Option<(&'static str, u32)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            registry_up: true,
            camera_sequence: None,
            ppocr: false,
            min_free_mb: 0,
            microphone: None,
        }
    }
}

/// A kiosk, its simulators and a registry, all running.
pub struct Harness {
    pub dir: tempfile::TempDir,
    pub cfg: Config,
    /// The registry's key set, made fresh for this harness.
    pub keys: kiosk::config::LocalKeys,
    pub registry_addr: SocketAddr,
    pub registry: Option<BlockingRegistry>,
    pub reader: SimulatedReader,
    pub printer: devices::SimulatedPrinter,
    /// Set when the screen was given a picture of the receipt (printer could not print).
    pub receipt_picture_shown: std::sync::atomic::AtomicBool,
    pub controller: Option<Controller>,
    events: Sender<Event>,
    updates: Receiver<Update>,
    pub timings: Receiver<(Stage, Duration)>,
    latest: Mutex<ViewModel>,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Harness({})", self.registry_addr)
    }
}

fn free_port() -> anyhow::Result<SocketAddr> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?)
}

impl Harness {
    /// Starts everything in a fresh temporary directory.
    pub fn start(opts: Options) -> anyhow::Result<Harness> {
        // OCR is twice as fast when the process starts with OMP_THREAD_LIMIT=1
        // (`make test` and `make bench` set it); setting it here would be too late.
        let dir = tempfile::tempdir()?;
        let registry_addr = free_port()?;
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, TOKEN)?;

        let mut cfg = Config::default();
        cfg.terminal.id = "e2e-01".into();
        cfg.terminal.hall_name = "测试镇便民服务中心".into();
        cfg.queue.path = dir.path().join("queue.db");
        cfg.registry.url = format!("http://{registry_addr}");
        cfg.registry.token_file = token_file;
        cfg.registry.min_backoff_s = 1;
        cfg.registry.max_backoff_s = 2;
        cfg.registry.history_timeout_s = 3;
        cfg.registry.request_timeout_s = 10;
        cfg.camera.image_sequence = Some(
            opts.camera_sequence
                .clone()
                .unwrap_or_else(devices::sample_pages),
        );
        cfg.camera.preview_interval_ms = 0;
        // PP-OCR takes 7 to 10 s a page in a debug build (tract unoptimised),
        // Tesseract under a second: the flow tests read with Tesseract, and
        // Options::ppocr (tests/turned.rs) and kiosk-ocr's own tests run PP-OCR.
        if !opts.ppocr {
            cfg.ocr.engine = kiosk::config::OcrEngineChoice::Tesseract;
        }
        cfg.idcard.poll_interval_ms = 50;
        // The test disk may be nearly full; the floor has its own test.
        cfg.queue.min_free_mb = opts.min_free_mb;
        let keys = cfg.provision_local_keys(dir.path())?;
        let reader = devices::simulate_reader(&mut cfg)?;
        let printer = devices::simulate_printer(&mut cfg)?;
        cfg.printer.wait_for_case_number_ms = 2_000;
        // The spoken prompts run as on a terminal, silently.
        cfg.voice.device = "null".into();
        cfg.voice.capture_device.clear();
        if let Some((text, max_s)) = opts.microphone {
            devices::simulate_microphone(&mut cfg, &dir.path().join("microphone"), text)?;
            cfg.voice.note_max_s = max_s;
        }
        cfg.validate()?;

        let mut h = Harness {
            dir,
            registry: None,
            registry_addr,
            reader,
            printer,
            receipt_picture_shown: Default::default(),
            controller: None,
            keys,
            events: mpsc::channel().0,
            updates: mpsc::channel().1,
            timings: mpsc::channel().1,
            latest: Mutex::new(ViewModel::default()),
            cfg,
        };
        if opts.registry_up {
            h.start_registry()?;
        }
        h.spawn_controller()?;
        Ok(h)
    }

    /// Stops the kiosk controller and starts it again on the same queue, keys
    /// and simulators, with `edit` applied to its configuration (a reboot
    /// with a changed setting).
    pub fn restart_controller(&mut self, edit: impl FnOnce(&mut Config)) -> anyhow::Result<()> {
        if let Some(c) = self.controller.take() {
            c.shutdown();
        }
        edit(&mut self.cfg);
        self.spawn_controller()
    }

    fn spawn_controller(&mut self) -> anyhow::Result<()> {
        let h = self;
        let (up_tx, up_rx) = mpsc::channel::<Update>();
        let up_tx = Mutex::new(up_tx);
        let (t_tx, t_rx) = mpsc::channel();
        let sink: kiosk::Sink = Arc::new(move |u: Update| {
            if let Ok(tx) = up_tx.lock() {
                let _ = tx.send(u);
            }
        });
        let controller = Controller::spawn(
            &h.cfg,
            h.cfg.read_token()?,
            devices::from_config(&h.cfg),
            sink,
            Some(t_tx),
        )?;
        h.events = controller.sender();
        h.controller = Some(controller);
        h.updates = up_rx;
        h.timings = t_rx;
        if let Ok(mut l) = h.latest.lock() {
            *l = ViewModel::default();
        }
        Ok(())
    }

    /// Starts (or restarts) the registry on its fixed address and database.
    pub fn start_registry(&mut self) -> anyhow::Result<()> {
        let db = self.dir.path().join("registry.db");
        let reg = registry::start_blocking(registry_config(&self.keys, db)?, self.registry_addr)?;
        self.registry = Some(reg);
        Ok(())
    }

    /// Gives the registry's console a clerk, `li`, with [`CLERK_PASSWORD`],
    /// as `registry staff add` does, and signs in as it.
    pub fn console_clerk(&self) -> anyhow::Result<console::ConsoleClient> {
        let db = self.dir.path().join("registry.db");
        registry::add_staff_account(db, "li", registry::StaffRole::Clerk, CLERK_PASSWORD)?;
        console::ConsoleClient::sign_in(&format!("http://{}", self.registry_addr), "li", CLERK_PASSWORD)
    }

    /// What a button press or a touch does.
    pub fn press(&self, e: Event) {
        let _ = self.events.send(e);
    }

    /// The latest view the screen was given.
    pub fn view(&self) -> ViewModel {
        self.drain();
        self.latest.lock().map(|v| v.clone()).unwrap_or_default()
    }

    fn drain(&self) {
        while let Ok(u) = self.updates.try_recv() {
            self.take(u);
        }
    }

    fn take(&self, u: Update) {
        match u {
            Update::View(v) => {
                if let Ok(mut l) = self.latest.lock() {
                    *l = *v;
                }
            }
            Update::ReceiptPicture { .. } => self
                .receipt_picture_shown
                .store(true, std::sync::atomic::Ordering::SeqCst),
            Update::Preview { .. } | Update::Technician(_) => {}
        }
    }

    /// Waits until the screen shows what `pred` wants; fails with the last view.
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&ViewModel) -> bool,
    ) -> anyhow::Result<ViewModel> {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.view();
            if pred(&v) {
                return Ok(v);
            }
            if Instant::now() > deadline {
                bail!(
                    "timed out waiting for {what}; screen shows {v:?} message {:?}",
                    v.message
                );
            }
            if let Ok(u) = self.updates.recv_timeout(Duration::from_millis(50)) {
                self.take(u);
            }
        }
    }

    /// One scripted petitioner: card, identity (with history), category,
    /// `n_pages` pages, no description, the phone [`SPECIMEN_PHONE`], review,
    /// submit. Returns the identity screen and the receipt screen as they were shown.
    pub fn visit(&self, card: SimCard, category: &str, n_pages: usize) -> anyhow::Result<Visit> {
        self.visit_with(card, category, n_pages, |_, _| Ok(()))
    }

    /// [`Harness::visit`], with `on_review` run on the review screen before "提交登记".
    pub fn visit_with(
        &self,
        card: SimCard,
        category: &str,
        n_pages: usize,
        on_review: impl Fn(&Harness, &ViewModel) -> anyhow::Result<()>,
    ) -> anyhow::Result<Visit> {
        self.visit_full(card, category, n_pages, &Supplement::default(), on_review)
    }

    /// [`Harness::visit_with`], with the description typed and the phone given as `extra` says.
    pub fn visit_full(
        &self,
        card: SimCard,
        category: &str,
        n_pages: usize,
        extra: &Supplement,
        on_review: impl Fn(&Harness, &ViewModel) -> anyhow::Result<()>,
    ) -> anyhow::Result<Visit> {
        let long = Duration::from_secs(60);
        self.wait_for("welcome", long, |v| v.screen == Some(Screen::Welcome))?;
        self.reader.control.insert(card);
        self.press(Event::Start);
        let identity = self.wait_for("identity with history", long, |v| {
            v.screen == Some(Screen::Identity) && !v.history_loading
        })?;
        self.press(Event::ConfirmIdentity);
        self.wait_for("category", long, |v| v.screen == Some(Screen::Category))?;
        self.press(Event::ChooseCategory(category.into()));
        self.wait_for("capture", long, |v| v.screen == Some(Screen::Capture))?;
        for n in 1..=n_pages {
            self.press(Event::CaptureRequested);
            self.wait_for("page captured", long, |v| {
                v.pages.len() == n && !v.capture_busy
            })
            .with_context(|| format!("page {n}"))?;
        }
        self.press(Event::FinishCapture);
        self.wait_for("description", long, |v| v.screen == Some(Screen::Describe))?;
        self.supplement(extra)?;
        let review = self.wait_for("review", long, |v| {
            v.screen == Some(Screen::Review) && v.pages.iter().all(|p| p.status != "识别中…")
        })?;
        on_review(self, &review)?;
        self.press(Event::Submit);
        let receipt = self.wait_for("receipt", long, |v| v.screen == Some(Screen::Receipt))?;
        Ok(Visit { identity, receipt })
    }

    /// The description screen (keys typed on the pinyin keyboard, or "跳过")
    /// and the phone screen (digits on the pad, or "不留电话" confirmed).
    fn supplement(&self, extra: &Supplement) -> anyhow::Result<()> {
        let short = Duration::from_secs(10);
        if extra.voice {
            self.press(Event::VoiceRecord);
            self.wait_for("the voice note recorded", Duration::from_secs(60), |v| {
                v.voice_state == 2
            })?;
        }
        if extra.keys.is_empty() && !extra.voice {
            self.press(Event::SkipDescription);
        } else if extra.keys.is_empty() {
            self.press(Event::FinishDescription);
        } else {
            for key in &extra.keys {
                self.press(Event::Keyboard(key.clone()));
            }
            self.wait_for("description typed", short, |v| {
                v.ime_preedit.is_empty() && !v.description.is_empty()
            })?;
            self.press(Event::FinishDescription);
        }
        self.wait_for("phone", short, |v| v.screen == Some(Screen::Phone))?;
        match &extra.phone {
            Some(digits) => {
                for d in digits.chars() {
                    self.press(Event::PhoneDigit(d));
                }
                self.wait_for("phone typed", short, |v| v.phone_valid)?;
                self.press(Event::ConfirmPhone);
            }
            None => {
                self.press(Event::NoPhone);
                self.press(Event::NoPhoneConfirmed(true));
            }
        }
        Ok(())
    }

    /// Waits for the case number on the receipt screen.
    pub fn wait_case_number(&self, timeout: Duration) -> anyhow::Result<ViewModel> {
        self.wait_for("case number", timeout, |v| {
            v.screen == Some(Screen::Receipt) && !v.case_number.is_empty()
        })
    }

    /// Waits for the printer simulator to print a page and returns its text.
    pub fn wait_printed_text(&self, timeout: Duration) -> anyhow::Result<String> {
        let deadline = Instant::now() + timeout;
        // The printer prints at line speed: the job is over once no line has
        // come for half a second (taking the lines mid-job would cut it short).
        let mut lines = Vec::new();
        let mut last_line = Instant::now();
        loop {
            let new = self.printer.control.take_text_lines();
            if !new.is_empty() {
                lines.extend(new);
                last_line = Instant::now();
            } else if !lines.is_empty() && last_line.elapsed() >= Duration::from_millis(500) {
                return Ok(lines.join("\n"));
            }
            if Instant::now() > deadline {
                if !lines.is_empty() {
                    return Ok(lines.join("\n"));
                }
                bail!("nothing was printed");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The specimen card on welcome's "查询进度 / 评价": the progress
    /// screen once the history is in.
    pub fn query_progress(&self) -> anyhow::Result<ViewModel> {
        let long = Duration::from_secs(60);
        self.wait_for("welcome", long, |v| v.screen == Some(Screen::Welcome))?;
        self.reader.control.insert(SimCard::specimen());
        self.press(Event::QueryStart);
        self.wait_for("progress with history", long, |v| {
            v.screen == Some(Screen::Progress) && !v.history_loading
        })
    }

    /// The petitioner presses "done" and the terminal returns to welcome.
    pub fn finish(&self) -> anyhow::Result<()> {
        self.press(Event::Done);
        self.wait_for("welcome", Duration::from_secs(10), |v| {
            v.screen == Some(Screen::Welcome)
        })?;
        Ok(())
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(c) = self.controller.take() {
            c.shutdown();
        }
    }
}

/// The row of `case` on the progress screen `v`.
pub fn progress_row<'a>(v: &'a ViewModel, case: &str) -> anyhow::Result<&'a kiosk::view::ProgressRow> {
    v.progress
        .iter()
        .find(|r| r.case_number == case)
        .with_context(|| format!("{case} is not listed"))
}

/// The configuration of a test registry using the key set `keys`.
pub fn registry_config(
    keys: &kiosk::config::LocalKeys,
    db_path: std::path::PathBuf,
) -> anyhow::Result<RegistryConfig> {
    let read = |p: &std::path::Path| {
        std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
    };
    Ok(RegistryConfig {
        database: db_path.into(),
        tokens: vec![TOKEN.into(), format!("rig-01 {RIG_TOKEN}")],
        token_file: None,
        staff_tokens: vec![STAFF_TOKEN.into()],
        history_limit: registry::HistoryLimit {
            burst: 1000,
            per_minute: 1000,
        },
        seal_key: registry::SealSecretKey::from_text(&read(&keys.seal_secret)?)?,
        old_seal_keys: Vec::new(),
        lookup_key: registry::LookupKey::from_text(&read(&keys.lookup)?)?,
        tls: None,
        staged_max_age: registry::DEFAULT_STAGED_MAX_AGE,
        limits: Default::default(),
        staging: registry::StagingLimits::default(),
        console: Default::default(),
    })
}

/// The SPECIMEN contact phone of the scripted visits.
pub const SPECIMEN_PHONE: &str = "13800138000";

/// What the scripted petitioner adds after the pages.
#[derive(Debug, Clone)]
pub struct Supplement {
    /// Keys typed on the description keyboard; none: "跳过".
    pub keys: Vec<intake::KeyboardKey>,
    /// Digits typed on the number pad; `None`: "不留电话".
    pub phone: Option<String>,
    /// "说出您的诉求", and the note recorded (it stops by itself).
    pub voice: bool,
}

impl Default for Supplement {
    fn default() -> Self {
        Supplement {
            keys: Vec::new(),
            phone: Some(SPECIMEN_PHONE.into()),
            voice: false,
        }
    }
}

impl Supplement {
    /// Letters typed one by one, then `then` (a space, a punctuation key …).
    pub fn typed(letters: &str, then: &[intake::KeyboardKey]) -> Vec<intake::KeyboardKey> {
        letters
            .chars()
            .map(intake::KeyboardKey::Letter)
            .chain(then.iter().cloned())
            .collect()
    }
}

/// The two screens of a visit that matter.
#[derive(Debug)]
pub struct Visit {
    pub identity: ViewModel,
    pub receipt: ViewModel,
}

/// A log that keeps every line in memory, so a test can search it.
#[derive(Debug, Default)]
pub struct CapturedLog {
    lines: Mutex<Vec<String>>,
}

impl CapturedLog {
    /// Installs a capturing logger for this test process (all levels).
    pub fn install() -> &'static CapturedLog {
        let log: &'static CapturedLog = Box::leak(Box::default());
        if log::set_logger(log).is_ok() {
            log::set_max_level(log::LevelFilter::Trace);
        }
        log
    }

    /// Every captured line.
    pub fn text(&self) -> String {
        self.lines.lock().map(|l| l.join("\n")).unwrap_or_default()
    }
}

impl log::Log for CapturedLog {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        if let Ok(mut l) = self.lines.lock() {
            l.push(format!(
                "{} {} {}",
                record.level(),
                record.target(),
                record.args()
            ));
        }
    }
    fn flush(&self) {}
}

/// Reads the registry over its own HTTP API, as an auditor would.
#[derive(Debug)]
pub struct RegistryReader {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    base: String,
}

impl RegistryReader {
    pub fn new(addr: SocketAddr) -> anyhow::Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(RegistryReader {
            rt,
            http: reqwest::Client::new(),
            base: format!("http://{addr}"),
        })
    }

    /// The body of a staff `GET`, refused unless it succeeded.
    fn get_bytes(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        self.rt.block_on(async {
            let r = self
                .http
                .get(format!("{}{path}", self.base))
                .bearer_auth(STAFF_TOKEN)
                .send()
                .await?;
            let status = r.status();
            if !status.is_success() {
                bail!("GET {path} answered {status}");
            }
            Ok(r.bytes().await?.to_vec())
        })
    }

    fn get(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::from_slice(&self.get_bytes(path)?)?)
    }

    /// The fleet's rows (`GET /v1/staff/fleet`): one JSON object per terminal.
    pub fn fleet(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        match self.get("/v1/staff/fleet")? {
            serde_json::Value::Array(rows) => Ok(rows),
            other => bail!("the fleet is not a list: {other}"),
        }
    }

    /// A case's voice note as the staff API serves it (`audio/ogg`).
    pub fn voice_note(&self, case_number: &str) -> anyhow::Result<Vec<u8>> {
        self.get_bytes(&format!(
            "{}/{case_number}/voice-note",
            registry_api::REGISTRATIONS_PATH
        ))
    }

    /// How many registrations the registry holds.
    pub fn registration_count(&self) -> anyhow::Result<u64> {
        self.get(registry_api::STAFF_STATS_PATH)?["registrations"]
            .as_u64()
            .context("stats without a count")
    }

    /// How many satisfaction ratings the registry holds.
    pub fn rating_count(&self) -> anyhow::Result<u64> {
        self.get(registry_api::STAFF_STATS_PATH)?["ratings"]
            .as_u64()
            .context("stats without a rating count")
    }

    /// Sets a case's status, as the registry's staff would (e.g. `closed`).
    pub fn set_status(&self, case_number: &str, status: &str) -> anyhow::Result<()> {
        self.rt.block_on(async {
            let r = self
                .http
                .post(format!("{}{}", self.base, registry_api::status_path(case_number)))
                .bearer_auth(STAFF_TOKEN)
                .json(&registry_api::StatusUpdate {
                    status: status.into(),
                })
                .send()
                .await?;
            if !r.status().is_success() {
                bail!("setting the status answered {}", r.status());
            }
            Ok(())
        })
    }

    /// The actions of the registry's audit log that concern history
    /// lookups (`history_lookup`, `history_lookup_typed`, `history_refused`),
    /// oldest first. (Reading the audit is itself audited, as `read_audit`.)
    pub fn history_audit(&self) -> anyhow::Result<Vec<String>> {
        let entries = self.get(registry_api::STAFF_AUDIT_PATH)?;
        let mut actions: Vec<String> = entries
            .as_array()
            .context("the audit log is not a list")?
            .iter()
            .filter_map(|e| e["action"].as_str())
            .filter(|a| a.starts_with("history_"))
            .map(str::to_owned)
            .collect();
        actions.reverse();
        Ok(actions)
    }

    /// One stored registration.
    pub fn registration(
        &self,
        case_number: &str,
    ) -> anyhow::Result<registry_api::RegistrationRecord> {
        Ok(serde_json::from_value(
            self.get(&format!("{}/{case_number}", registry_api::REGISTRATIONS_PATH))?,
        )?)
    }
}
