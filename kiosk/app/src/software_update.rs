//! Installing the software update the uplink fetched ([`kiosk_uplink::UpdateSlot`]):
//! only inside the hall's install window (`[update] window`, by default at
//! night when the hall is closed) and only on the welcome screen, never
//! during a visit. The terminal shows that it is updating (the fault screen,
//! so no visit can start), records what it installs, runs `rauc install`
//! (RAUC checks the bundle's signature against the keyring in the
//! read-only root, writes the other slot and boots it once) and reboots.
//! If the new version never reaches READY, the boot counter brings the old
//! slot back and the uplink reports the fall-back (see `kiosk_uplink`'s
//! update module); a refused install is reported as failed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use anyhow::{bail, Context};
use chrono::NaiveTime;
use kiosk_uplink::UpdateSlot;
use serde::Deserialize;


/// Where a USB stick's bundle waits for the technician (root writes, group
/// kiosk reads; see [`crate::update_stick`]).
pub const DEFAULT_PENDING_DIR: &str = "/var/lib/kiosk-update/pending";
/// Where the kiosk writes the technician's confirmation (its state directory).
pub const DEFAULT_CONFIRM_FILE: &str = "/var/lib/kiosk/update-confirm";

/// `[update]`: where bundles go, when they are installed, and how.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpdateConfig {
    /// Fetch and install what the registry's roll-out names.
    pub enabled: bool,
    /// Where bundles are kept while they come and wait; empty: `update/`
    /// beside the queue (on the data partition).
    pub dir: PathBuf,
    /// When installing is allowed, local time, `HH:MM-HH:MM` (may pass midnight).
    pub window: String,
    /// The install command; the bundle's path is added as its last argument.
    pub install_command: Vec<String>,
    /// Run after a successful install: on the terminal it asks
    /// `kiosk-reboot.path` (root) to reboot.
    pub reboot_command: Vec<String>,
    /// The longest an install may take before it counts as failed.
    pub install_timeout_s: u64,
    /// Where a USB stick's bundle waits for the technician's confirmation
    /// (root stages it: `kiosk update stage`).
    pub stick_pending_dir: PathBuf,
    /// Where "确认安装更新" writes its confirmation for `kiosk update apply`.
    pub stick_confirm_file: PathBuf,
}

impl Default for UpdateConfig {
    fn default() -> Self {
        UpdateConfig {
            enabled: true,
            dir: PathBuf::new(),
            window: "22:00-06:00".into(),
            install_command: vec!["rauc".into(), "install".into()],
            // The kiosk is no root: it asks, and kiosk-reboot.path (root) reboots.
            reboot_command: vec!["touch".into(), "/var/lib/kiosk/reboot-requested".into()],
            install_timeout_s: 1200,
            stick_pending_dir: DEFAULT_PENDING_DIR.into(),
            stick_confirm_file: DEFAULT_CONFIRM_FILE.into(),
        }
    }
}

impl UpdateConfig {
    pub fn validate(&self) -> anyhow::Result<()> {
        InstallWindow::parse(&self.window).context("update.window")?;
        if self.install_command.is_empty() || self.reboot_command.is_empty() {
            bail!("update.install_command and update.reboot_command must name a program");
        }
        Ok(())
    }
}

/// A daily span of local time; the end may be on the next day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstallWindow {
    start: NaiveTime,
    end: NaiveTime,
}

impl InstallWindow {
    /// `HH:MM-HH:MM`; equal ends are refused (say `00:00-23:59` for always).
    pub fn parse(text: &str) -> anyhow::Result<InstallWindow> {
        let (a, b) = text
            .split_once('-')
            .context("write the window as HH:MM-HH:MM, e.g. 22:00-06:00")?;
        let t = |s: &str| {
            NaiveTime::parse_from_str(s.trim(), "%H:%M")
                .with_context(|| format!("{s:?} is not a time of day HH:MM"))
        };
        let (start, end) = (t(a)?, t(b)?);
        if start == end {
            bail!("the window is empty: its start and end are the same");
        }
        Ok(InstallWindow { start, end })
    }

    /// True when `now` is in the window (start included, end not).
    pub fn contains(&self, now: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= now && now < self.end
        } else {
            now >= self.start || now < self.end
        }
    }
}

/// Runs `argv` plus `extra`, killed after `timeout`; the error says why.
pub(crate) fn run(argv: &[String], extra: Option<&Path>, timeout: Duration) -> Result<(), String> {
    let (program, args) = argv.split_first().ok_or("no command")?;
    let mut cmd = Command::new(program);
    cmd.args(args);
    if let Some(p) = extra {
        cmd.arg(p);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("{program} did not start: {e}"))?;
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("{program} failed ({status})")),
            Ok(None) if std::time::Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{program} took longer than {timeout:?}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(200)),
            Err(e) => return Err(format!("{program}: {e}")),
        }
    }
}

/// The controller's part: decides when to install and runs it on a thread.
#[derive(Debug)]
pub struct Installer {
    pub slot: UpdateSlot,
    cfg: UpdateConfig,
    window: InstallWindow,
    /// The install under way: its version and the answer to come.
    running: Option<(String, Receiver<Result<(), String>>)>,
}

/// What the controller does after [`Installer::poll`].
#[derive(Debug, PartialEq, Eq)]
pub enum InstallStep {
    Nothing,
    /// An install started: show that the terminal is updating.
    Started(String),
    /// It failed: back to service.
    Failed(String),
}

impl Installer {
    /// Off (and the uplink fetches nothing) unless `cfg.enabled`; bundles
    /// in `cfg.dir`, or in `default_dir` when that is empty.
    pub fn new(
        cfg: &UpdateConfig,
        default_dir: &Path,
        running_version: &str,
    ) -> anyhow::Result<Installer> {
        let window = InstallWindow::parse(&cfg.window)?;
        let dir = if cfg.dir.as_os_str().is_empty() {
            default_dir
        } else {
            &cfg.dir
        };
        let slot = if cfg.enabled {
            UpdateSlot::new(dir, running_version)
                .with_context(|| format!("cannot use {} for updates", dir.display()))?
        } else {
            UpdateSlot::off(running_version)
        };
        Ok(Installer {
            slot,
            cfg: cfg.clone(),
            window,
            running: None,
        })
    }

    /// Called between visits: starts the install of a ready bundle when
    /// `now` is in the window and `idle` (welcome screen, nobody in front),
    /// and reports the end of one under way.
    pub fn poll(&mut self, now: NaiveTime, idle: bool) -> InstallStep {
        if let Some((version, rx)) = &self.running {
            return match rx.try_recv() {
                Ok(Ok(())) | Err(mpsc::TryRecvError::Empty) => InstallStep::Nothing,
                Ok(Err(why)) => {
                    log::error!("update: installing {version} failed: {why}");
                    let v = version.clone();
                    self.slot.install_failed(&v);
                    self.running = None;
                    InstallStep::Failed(v)
                }
                Err(mpsc::TryRecvError::Disconnected) => {
                    self.slot.install_failed(version);
                    let v = version.clone();
                    self.running = None;
                    InstallStep::Failed(v)
                }
            };
        }
        if !idle || !self.window.contains(now) {
            return InstallStep::Nothing;
        }
        let Some((version, bundle)) = self.slot.ready() else {
            return InstallStep::Nothing;
        };
        if let Err(e) = self.slot.mark_installing(&version) {
            log::error!("update: cannot record the install: {e}");
            return InstallStep::Nothing;
        }
        log::info!("update: installing {version}");
        let (tx, rx) = mpsc::channel();
        let cfg = self.cfg.clone();
        let spawned = std::thread::Builder::new()
            .name("update".into())
            .spawn(move || {
                let timeout = Duration::from_secs(cfg.install_timeout_s);
                let res = run(&cfg.install_command, Some(&bundle), timeout).and_then(|()| {
                    log::info!("update: installed; rebooting");
                    run(&cfg.reboot_command, None, Duration::from_secs(60))
                });
                let _ = tx.send(res);
            });
        if spawned.is_err() {
            self.slot.install_failed(&version);
            return InstallStep::Failed(version);
        }
        self.running = Some((version.clone(), rx));
        InstallStep::Started(version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M").unwrap()
    }

    #[test]
    fn a_window_may_pass_midnight_and_bad_ones_are_refused() {
        let night = InstallWindow::parse("22:00-06:00").unwrap();
        for (time, inside) in [
            ("21:59", false),
            ("22:00", true),
            ("23:30", true),
            ("00:00", true),
            ("05:59", true),
            ("06:00", false),
            ("12:00", false),
        ] {
            assert_eq!(night.contains(t(time)), inside, "{time}");
        }
        let lunch = InstallWindow::parse("12:00-13:30").unwrap();
        assert!(
            lunch.contains(t("12:45"))
                && !lunch.contains(t("13:30"))
                && !lunch.contains(t("23:00"))
        );
        for bad in ["", "22:00", "25:00-06:00", "22:00-22:00", "late-early"] {
            assert!(InstallWindow::parse(bad).is_err(), "{bad:?}");
        }
    }

    /// A bundle made ready in `dir` the way the uplink leaves it.
    fn ready_slot(dir: &Path, cfg: &UpdateConfig) -> Installer {
        let inst = Installer::new(cfg, dir, "1.1.0").unwrap();
        let bytes = b"bundle 1.2.0";
        let sha = registry_api::sha256_hex(bytes);
        inst.slot.offer(Some(registry_api::UpdateOffer {
            version: "1.2.0".into(),
            sha256: sha.clone(),
            size_bytes: bytes.len() as u64,
        }));
        std::fs::write(dir.join(format!("{sha}.raucb")), bytes).unwrap();
        inst
    }

    #[test]
    fn a_ready_bundle_is_installed_only_in_the_window_and_between_visits_then_reboots() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("ran");
        let cfg = UpdateConfig {
            dir: dir.path().join("update"),
            install_command: vec![
                "sh".into(),
                "-c".into(),
                format!("echo install $0 >> {}", log.display()),
            ],
            reboot_command: vec![
                "sh".into(),
                "-c".into(),
                format!("echo reboot >> {}", log.display()),
            ],
            ..UpdateConfig::default()
        };
        let mut inst = ready_slot(&cfg.dir, &cfg);
        assert_eq!(
            inst.poll(t("14:00"), true),
            InstallStep::Nothing,
            "the hall is open"
        );
        assert_eq!(
            inst.poll(t("23:00"), false),
            InstallStep::Nothing,
            "a visit is under way"
        );
        assert_eq!(
            inst.poll(t("23:00"), true),
            InstallStep::Started("1.2.0".into())
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::fs::read_to_string(&log).map_or(true, |s| !s.contains("reboot")) {
            assert!(std::time::Instant::now() < deadline, "never rebooted");
            std::thread::sleep(Duration::from_millis(20));
        }
        let ran = std::fs::read_to_string(&log).unwrap();
        assert!(
            ran.starts_with("install ") && ran.contains(".raucb"),
            "{ran}"
        );
        // The next start on the new version: it took.
        let after = Installer::new(&cfg, &cfg.dir, "1.2.0").unwrap();
        assert_eq!(after.slot.report(), None);
    }

    #[test]
    fn a_refused_install_is_reported_failed_and_not_tried_again() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = UpdateConfig {
            dir: dir.path().join("update"),
            install_command: vec![
                "sh".into(),
                "-c".into(),
                "echo 'signature not verified' >&2; exit 1".into(),
            ],
            reboot_command: vec!["false".into()],
            ..UpdateConfig::default()
        };
        let mut inst = ready_slot(&cfg.dir, &cfg);
        assert_eq!(
            inst.poll(t("02:00"), true),
            InstallStep::Started("1.2.0".into())
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let step = loop {
            match inst.poll(t("02:00"), true) {
                InstallStep::Nothing => {}
                other => break other,
            }
            assert!(std::time::Instant::now() < deadline, "no answer");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(step, InstallStep::Failed("1.2.0".into()));
        assert_eq!(
            inst.slot.report().map(|r| r.state),
            Some(registry_api::UpdateState::Failed)
        );
        assert_eq!(
            inst.poll(t("02:00"), true),
            InstallStep::Nothing,
            "not again"
        );
        let row = crate::health::update_row(&inst.slot, "1.1.0").unwrap();
        assert_eq!(row.mark, crate::health::Mark::Bad);
        assert!(
            row.text.contains("1.2.0") && row.text.contains("1.1.0"),
            "{}",
            row.text
        );
    }
}
