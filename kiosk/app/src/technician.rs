//! The technician screen's part of the controller: its view (status rows
//! from [`crate::health`], the focus line, the last notice), the diagnostics
//! export on a short-lived thread, the test print, and printer status
//! queries so the paper state stays known.
//!
//! It also shows a provisioning file staged from a stick (what it would
//! change) and writes the technician's confirmation ("确认更新配置") for the
//! root side (`kiosk provision apply`, see [`crate::provisioning`]).
//!
//! The controller thread owns one [`TechShell`]; nothing here blocks it:
//! the bundle is written on its own thread and reports back through a
//! channel, printing and status queries go to the printer thread.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use intake::Event;
use kiosk_printer::{PrintOutcome, PrintReport, PrintWorker};
use kiosk_queue::Queue;

use crate::config::Config;
use crate::diagnostics::{self, BundleInputs, DiagnosticsError, LogSource};
use crate::health::{self, Health, HealthSnapshot, Sources, StatusRow};

/// How often the technician view is recomputed while it shows.
const VIEW_EVERY: Duration = Duration::from_secs(1);
/// How often the printer is asked for its status while the technician screen shows.
const STATUS_ON_SCREEN: Duration = Duration::from_secs(5);
/// How often on the welcome screen (paper state for the next visit's receipt).
const STATUS_IDLE: Duration = Duration::from_secs(60);
/// How often the registry is asked while the technician screen shows.
const PING_EVERY: Duration = Duration::from_secs(15);

/// What the technician screen shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TechnicianView {
    pub rows: Vec<StatusRow>,
    /// "清晰度 3200（合格线 200）" under the camera picture.
    pub focus: String,
    /// The result of the last button ("诊断包已写入 …"); "" for none.
    pub notice: String,
    pub notice_is_error: bool,
    /// A bundle is being written: the button waits.
    pub exporting: bool,
    /// A provisioning file staged from a stick, waiting for confirmation.
    pub provision: Option<ProvisionView>,
    /// A software update staged from a stick, waiting for confirmation.
    pub stick_update: Option<StickUpdateView>,
}

/// The staged software update on the technician screen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StickUpdateView {
    /// What the confirmation names (the staged bundle's SHA-256).
    pub sha256: String,
    /// "版本 1.2.0（现为 1.1.0），412 MB，签名：O = 某县, CN = …"
    pub about: String,
    /// The install was refused: why ("" while it was not).
    pub failed: String,
    /// Confirmed here: waiting for the root side to install it.
    pub confirmed: bool,
}

impl StickUpdateView {
    fn from_staged(s: &crate::update_stick::StagedUpdate, confirmed: bool) -> Self {
        let mb = s.size_bytes.div_ceil(1_000_000);
        StickUpdateView {
            sha256: s.sha256.clone(),
            about: format!(
                "版本 {}（现为 {}），{mb} MB，签名：{}",
                s.version, s.running, s.signer
            ),
            failed: s.failed.clone().unwrap_or_default(),
            confirmed: confirmed && s.failed.is_none(),
        }
    }
}

/// The staged provisioning file on the technician screen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProvisionView {
    /// What the confirmation names (the staged file's SHA-256).
    pub sha256: String,
    /// "编号 1767225600（现为 1767000000），签名密钥 3f2a 9c1d 77b0 e412"
    pub about: String,
    pub rows: Vec<crate::provisioning::ChangeRow>,
    /// Confirmed here: waiting for the root side to install it.
    pub confirmed: bool,
}

impl ProvisionView {
    fn from_summary(s: &crate::provisioning::PendingSummary, confirmed: bool) -> Self {
        let installed = s
            .installed_serial
            .map(|n| format!("（现为 {n}）"))
            .unwrap_or_default();
        ProvisionView {
            sha256: s.sha256.clone(),
            about: format!("编号 {}{installed}，签名密钥 {}", s.serial, s.signer),
            rows: s.rows.clone(),
            confirmed,
        }
    }
}

/// The screen's way to the controller for "确认更新配置": the SHA-256 the
/// screen showed, and a wake-up for the controller loop.
#[derive(Debug, Clone)]
pub struct TechnicianLink {
    confirm: Sender<String>,
    confirm_update: Sender<String>,
    wake: Sender<Event>,
}

impl TechnicianLink {
    pub fn confirm_provisioning(&self, sha256: &str) {
        let _ = self.confirm.send(sha256.to_string());
        let _ = self.wake.send(Event::Tick);
    }

    pub fn confirm_update(&self, sha256: &str) {
        let _ = self.confirm_update.send(sha256.to_string());
        let _ = self.wake.send(Event::Tick);
    }
}

/// The controller's technician state.
#[derive(Debug)]
pub(crate) struct TechShell {
    health: Health,
    cfg: Config,
    notice: Option<(String, bool)>,
    exporting: bool,
    export_tx: Sender<Result<PathBuf, DiagnosticsError>>,
    export_rx: Receiver<Result<PathBuf, DiagnosticsError>>,
    /// Wakes the controller loop when the export is done.
    wake: Sender<Event>,
    test_tag: Option<u64>,
    last_status_query: Option<Instant>,
    last_view_at: Option<Instant>,
    last_view: Option<TechnicianView>,
    last_ping: Option<Instant>,
    /// The software update's state, for its line on the screen.
    pub updates: kiosk_uplink::UpdateSlot,
    confirm_tx: Sender<String>,
    confirm_rx: Receiver<String>,
    /// The staged file's summary as last read, and whether it was confirmed here.
    pending: Option<crate::provisioning::PendingSummary>,
    confirmed: Option<String>,
    update_tx: Sender<String>,
    update_rx: Receiver<String>,
    /// The stick's staged update as last read, and whether it was confirmed here.
    staged_update: Option<crate::update_stick::StagedUpdate>,
    update_confirmed: Option<String>,
    last_staged_read: Option<Instant>,
}

impl TechShell {
    pub(crate) fn new(cfg: &Config, health: Health, wake: Sender<Event>) -> TechShell {
        let (export_tx, export_rx) = mpsc::channel();
        let (confirm_tx, confirm_rx) = mpsc::channel();
        let (update_tx, update_rx) = mpsc::channel();
        TechShell {
            update_tx,
            update_rx,
            staged_update: None,
            update_confirmed: None,
            last_staged_read: None,
            confirm_tx,
            confirm_rx,
            pending: None,
            confirmed: None,
            health,
            cfg: cfg.clone(),
            notice: None,
            exporting: false,
            export_tx,
            export_rx,
            wake,
            test_tag: None,
            last_status_query: None,
            last_view_at: None,
            last_view: None,
            last_ping: None,
            updates: kiosk_uplink::UpdateSlot::default(),
        }
    }

    /// True when the registry should be asked now: on entering the screen
    /// and every [`PING_EVERY`] while it shows.
    pub(crate) fn ping_due(&mut self) -> bool {
        let due = self.last_ping.is_none_or(|t| t.elapsed() >= PING_EVERY);
        if due {
            self.last_ping = Some(Instant::now());
        }
        due
    }

    fn snapshot(&self, queue: &Queue, contact: kiosk_uplink::Contact) -> HealthSnapshot {
        self.health.snapshot(&Sources {
            cfg: &self.cfg,
            queue: Some(queue),
            contact: Some(contact),
        })
    }

    /// "导出诊断包": writes the bundle to the USB stick on its own thread.
    pub(crate) fn export(&mut self, queue: &Queue, contact: kiosk_uplink::Contact) {
        if self.exporting {
            return;
        }
        let target = match diagnostics::usb_target(&self.cfg) {
            Ok(t) => t,
            Err(e) => {
                log::warn!("diagnostics export: {e}");
                self.notice = Some((e.message_zh(), true));
                self.last_view_at = None;
                return;
            }
        };
        let snapshot = self.snapshot(queue, contact);
        let cfg = self.cfg.clone();
        let (tx, wake) = (self.export_tx.clone(), self.wake.clone());
        let spawned = std::thread::Builder::new()
            .name("diagnostics".into())
            .spawn(move || {
                // Its own connection: the controller's stays free for the flow.
                let queue = Queue::open(&cfg.queue.path).ok();
                let res = diagnostics::write_bundle(
                    &target,
                    &BundleInputs {
                        snapshot: &snapshot,
                        cfg: &cfg,
                        config_path: cfg.source.as_deref(),
                        queue: queue.as_ref(),
                        logs: LogSource::from_config(&cfg),
                    },
                );
                let _ = tx.send(res);
                let _ = wake.send(Event::Tick);
            });
        match spawned {
            Ok(_) => {
                self.exporting = true;
                self.notice = Some(("正在写入诊断包…".into(), false));
            }
            Err(e) => {
                log::error!("diagnostics export: cannot start a thread: {e}");
                self.notice = Some(("导出失败，请重试".into(), true));
            }
        }
        self.last_view_at = None;
    }

    /// "测试打印": a SPECIMEN receipt on the printer thread.
    pub(crate) fn test_print(&mut self, printer: Option<&PrintWorker>, tag: u64) {
        let Some(printer) = printer else {
            self.notice = Some(("打印机未启用（配置 printer.enabled）".into(), true));
            self.last_view_at = None;
            return;
        };
        match kiosk_printer::specimen_receipt(None).to_job() {
            Ok(job) => {
                printer.print(tag, job);
                self.test_tag = Some(tag);
                self.notice = Some(("正在打印测试页…".into(), false));
            }
            Err(e) => {
                log::error!("test receipt cannot be laid out: {e}");
                self.notice = Some(("测试页排版失败".into(), true));
            }
        }
        self.last_view_at = None;
    }

    /// Records a printer report; true when it answered the test print (the
    /// controller then has nothing more to do with it).
    pub(crate) fn printer_report(&mut self, report: &PrintReport) -> bool {
        self.health.printer(report);
        self.last_view_at = None;
        let PrintReport::Printed { tag, result } = report else {
            return false;
        };
        if self.test_tag != Some(*tag) {
            return false;
        }
        self.test_tag = None;
        self.notice = Some(match result {
            Ok(PrintOutcome::Printed { status }) => (
                format!(
                    "测试页已打印（{}）",
                    if status.paper_near_end {
                        "纸将用完"
                    } else {
                        "正常"
                    }
                ),
                false,
            ),
            Ok(PrintOutcome::Interrupted { status }) => {
                (format!("测试页未打完：{}", status.message_zh()), true)
            }
            Err(e) => (
                format!("测试页未打印：{}", kiosk_printer::error_message_zh(e)),
                true,
            ),
        });
        true
    }

    /// Asks the printer for its status now and then.
    pub(crate) fn query_printer(&mut self, printer: Option<&PrintWorker>, on_screen: bool) {
        let Some(printer) = printer else { return };
        // Between visits as often as the heartbeat reports it to the fleet
        // page, at least once a minute.
        let heartbeat = Duration::from_secs(self.cfg.registry.heartbeat_s.max(1));
        let every = if on_screen {
            STATUS_ON_SCREEN
        } else {
            STATUS_IDLE.min(heartbeat)
        };
        if self.last_status_query.is_none_or(|t| t.elapsed() >= every) {
            self.last_status_query = Some(Instant::now());
            printer.query_status();
        }
    }

    /// The screen's link for the confirmation.
    pub(crate) fn link(&self) -> TechnicianLink {
        TechnicianLink {
            confirm: self.confirm_tx.clone(),
            confirm_update: self.update_tx.clone(),
            wake: self.wake.clone(),
        }
    }

    /// Takes "确认更新配置" presses. Honoured only while the technician
    /// screen shows to a technician (`allowed`) and only for the file the
    /// screen showed; the root side checks the hash and signature again.
    pub(crate) fn take_confirmations(&mut self, allowed: bool) {
        while let Ok(sha256) = self.confirm_rx.try_recv() {
            let shown = self.pending.as_ref().map(|s| s.sha256.as_str());
            if !allowed || shown != Some(sha256.as_str()) {
                log::warn!("provisioning confirmation ignored: not the file on the screen");
                continue;
            }
            let file = &self.cfg.technician.provision_confirm_file;
            match crate::provisioning::write_confirmation(file, &sha256) {
                Ok(()) => {
                    log::info!("technician confirmed the staged provisioning file");
                    self.confirmed = Some(sha256);
                    self.notice = Some(("已确认：正在安装新配置，终端随后自动重启".into(), false));
                }
                Err(e) => {
                    log::error!("cannot write the provisioning confirmation: {e}");
                    self.notice = Some(("无法确认配置更新，请重试".into(), true));
                }
            }
            self.last_view_at = None;
        }
    }

    /// Takes "确认安装更新" presses, under the same rules as
    /// [`TechShell::take_confirmations`]: only on the technician screen and
    /// only for the bundle the screen showed; root hashes it again.
    pub(crate) fn take_update_confirmations(&mut self, allowed: bool) {
        while let Ok(sha256) = self.update_rx.try_recv() {
            let shown = self
                .staged_update
                .as_ref()
                .filter(|s| s.failed.is_none())
                .map(|s| s.sha256.as_str());
            if !allowed || shown != Some(sha256.as_str()) {
                log::warn!("update confirmation ignored: not the bundle on the screen");
                continue;
            }
            let file = &self.cfg.update.stick_confirm_file;
            match crate::provisioning::write_confirmation(file, &sha256) {
                Ok(()) => {
                    log::info!("technician confirmed the staged software update");
                    self.update_confirmed = Some(sha256);
                    self.notice = Some((
                        "已确认：正在安装更新（约需几分钟），完成后自动重启".into(),
                        false,
                    ));
                }
                Err(e) => {
                    log::error!("cannot write the update confirmation: {e}");
                    self.notice = Some(("无法确认软件更新，请重试".into(), true));
                }
            }
            self.last_view_at = None;
        }
    }

    /// A stick's update the technician confirmed: `Some(Ok(version))` while
    /// root installs it (the terminal then shows that it updates, and
    /// reboots when done), `Some(Err(()))` once, when root refused it.
    /// Re-reads the summary every few seconds while one is confirmed.
    pub(crate) fn stick_update_installing(&mut self) -> Option<Result<String, ()>> {
        self.update_confirmed.as_ref()?;
        if self
            .last_staged_read
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(5))
        {
            self.last_staged_read = Some(Instant::now());
            self.read_staged_update();
        }
        let Some(s) = self.staged_update.as_ref() else {
            // Installed and cleared by root: the reboot comes.
            return self.update_confirmed.as_ref().map(|_| Ok(String::new()));
        };
        if s.failed.is_some() {
            self.update_confirmed = None;
            return Some(Err(()));
        }
        Some(Ok(s.version.clone()))
    }

    /// Re-reads the stick's staged update (small, capped, never through a link).
    fn read_staged_update(&mut self) {
        let dir = &self.cfg.update.stick_pending_dir;
        self.staged_update = match crate::update_stick::StagedUpdate::read(dir) {
            Ok(s) => s,
            Err(e) => {
                log::warn!("staged update summary unreadable: {e}");
                None
            }
        };
        // A confirmation outlives its summary (root removes it once installed).
        if let Some(s) = &self.staged_update {
            if self.update_confirmed.as_ref() != Some(&s.sha256) {
                self.update_confirmed = None;
            }
        }
    }

    /// Re-reads the staged provisioning summary (small, capped, never through a link).
    fn read_pending(&mut self) {
        let dir = &self.cfg.technician.provision_pending_dir;
        self.pending = match crate::provisioning::PendingSummary::read(dir) {
            Ok(s) => s,
            Err(e) => {
                log::warn!("staged provisioning summary unreadable: {e}");
                None
            }
        };
        if self.pending.as_ref().map(|s| &s.sha256) != self.confirmed.as_ref() {
            self.confirmed = None;
        }
    }

    /// Takes the export's result when it is done.
    pub(crate) fn poll(&mut self) {
        while let Ok(res) = self.export_rx.try_recv() {
            self.exporting = false;
            self.last_view_at = None;
            self.notice = Some(match res {
                Ok(path) => (format!("诊断包已写入 {}", path.display()), false),
                Err(e) => {
                    log::warn!("diagnostics export failed: {e}");
                    (e.message_zh(), true)
                }
            });
        }
    }

    /// Leaving the screen forgets the last notice (the staged file's summary
    /// stays: a confirmation from another screen is refused by the check in
    /// [`TechShell::take_confirmations`], not by its absence).
    pub(crate) fn reset(&mut self) {
        self.notice = None;
        self.last_view = None;
        self.last_view_at = None;
        self.last_ping = None;
    }

    /// The view, when it is due and changed.
    pub(crate) fn view(
        &mut self,
        queue: &Queue,
        contact: kiosk_uplink::Contact,
    ) -> Option<TechnicianView> {
        if self.last_view_at.is_some_and(|t| t.elapsed() < VIEW_EVERY) {
            return None;
        }
        self.last_view_at = Some(Instant::now());
        self.read_pending();
        self.read_staged_update();
        let snapshot = self.snapshot(queue, contact);
        let (notice, notice_is_error) = self.notice.clone().unwrap_or_default();
        let mut rows = health::rows(&snapshot);
        rows.extend(health::update_row(
            &self.updates,
            &self
                .updates
                .running_version()
                .unwrap_or_else(crate::update_stick::software_version),
        ));
        let view = TechnicianView {
            rows,
            focus: health::focus_line(&snapshot),
            notice,
            notice_is_error,
            exporting: self.exporting,
            provision: self
                .pending
                .as_ref()
                .map(|s| ProvisionView::from_summary(s, self.confirmed.is_some())),
            stick_update: self
                .staged_update
                .as_ref()
                .map(|s| StickUpdateView::from_staged(s, self.update_confirmed.is_some())),
        };
        if self.last_view.as_ref() == Some(&view) {
            return None;
        }
        self.last_view = Some(view.clone());
        Some(view)
    }
}

/// Writes the technician view into the UI. Runs on the UI thread.
pub fn apply(app: &kiosk_ui::AppWindow, v: &TechnicianView) {
    use slint::{ComponentHandle, ModelRc, VecModel};
    let rows: Vec<kiosk_ui::StatusRow> = v
        .rows
        .iter()
        .map(|r| kiosk_ui::StatusRow {
            mark: match r.mark {
                health::Mark::Ok => 0,
                health::Mark::Warn => 1,
                health::Mark::Bad => 2,
            },
            text: r.text.as_str().into(),
        })
        .collect();
    let p = v.provision.clone().unwrap_or_default();
    let u = v.stick_update.clone().unwrap_or_default();
    let changes: Vec<kiosk_ui::ProvisionRow> = p
        .rows
        .iter()
        .map(|r| kiosk_ui::ProvisionRow {
            label: r.label.as_str().into(),
            old: r.old.as_str().into(),
            new: r.new.as_str().into(),
            changed: r.changed(),
        })
        .collect();
    app.global::<kiosk_ui::Intake>()
        .set_technician(kiosk_ui::TechnicianView {
            rows: ModelRc::new(VecModel::from(rows)),
            focus: v.focus.as_str().into(),
            notice: v.notice.as_str().into(),
            notice_is_error: v.notice_is_error,
            exporting: v.exporting,
            provision_pending: v.provision.is_some(),
            provision_sha256: p.sha256.as_str().into(),
            provision_about: p.about.as_str().into(),
            provision_rows: ModelRc::new(VecModel::from(changes)),
            provision_confirmed: p.confirmed,
            update_pending: v.stick_update.is_some(),
            update_sha256: u.sha256.as_str().into(),
            update_about: u.about.as_str().into(),
            update_failed: u.failed.as_str().into(),
            update_confirmed: u.confirmed,
        });
}

/// Wires "确认更新配置" to the controller. Runs on the UI thread.
pub fn attach(app: &kiosk_ui::AppWindow, link: TechnicianLink) {
    use slint::ComponentHandle;
    app.global::<kiosk_ui::Intake>()
        .on_confirm_provisioning({
            let link = link.clone();
            move |sha256| link.confirm_provisioning(sha256.as_str())
        });
    app.global::<kiosk_ui::Intake>()
        .on_confirm_update(move |sha256| link.confirm_update(sha256.as_str()));
}
