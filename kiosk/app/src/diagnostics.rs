//! The diagnostics bundle: one `.tar.gz` a technician takes away on a USB
//! stick (`kiosk diagnostics export`, or "导出诊断包" on the technician screen).
//!
//! Inside `kiosk-diagnostics-<terminal>-<time>/`:
//! - `health.json`: the [`HealthSnapshot`];
//! - `config.toml`: the configuration file with every secret removed (keys,
//!   tokens, PINs, passwords, PEM text; paths of key files stay);
//! - `queue.txt`: counts, oldest unsent age, failed registrations with their
//!   (redacted) reasons; no receipts, no masked IDs;
//! - `logs.txt`: the latest log lines (the journal of the kiosk unit, or the
//!   configured log file);
//! - `versions.txt`: the kiosk, OpenCV, Tesseract and Slint versions, the OS.
//!
//! **Invariant:** every text that could hold something a person typed, said
//! or carried (log lines, error strings, configuration values) passes through
//! `kiosk_privacy::redact_for_export` or `redact` before it is packed: no ID
//! number, phone number, or Chinese text (names, addresses, petitions) leaves
//! in the logs. The test plants them in a log and scans every file of the archive.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use flate2::write::GzEncoder;
use kiosk_privacy::{redact, redact_for_export};

use crate::config::Config;
use crate::health::HealthSnapshot;

/// The Slint version the UI is built with (pinned exactly in the root Cargo.toml).
pub const SLINT_VERSION: &str = "1.18.1";

/// What the value of a removed secret becomes.
const REMOVED: &str = "[removed]";

/// Why no bundle was written.
#[derive(Debug, thiserror::Error)]
pub enum DiagnosticsError {
    /// No USB stick is mounted and none is configured.
    #[error("no usb stick found under /media or /run/media")]
    NoStick,
    /// The target is not an existing directory.
    #[error("{0} is not a directory")]
    NotADirectory(PathBuf),
    /// Writing the bundle failed (read-only, full, removed).
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl DiagnosticsError {
    /// What the technician screen says.
    pub fn message_zh(&self) -> String {
        match self {
            DiagnosticsError::NoStick => "未找到U盘：请插入U盘，稍等几秒再按“导出诊断包”".into(),
            DiagnosticsError::NotADirectory(p) => {
                format!(
                    "导出位置 {} 不存在，请检查U盘或配置 [technician] usb_mount",
                    p.display()
                )
            }
            DiagnosticsError::Write { .. } => {
                "无法写入U盘（只读、已满或已拔出），请换一个U盘再试".into()
            }
        }
    }
}

/// Where the log lines come from.
#[derive(Debug, Clone)]
pub enum LogSource {
    /// The last lines of a file.
    File(PathBuf),
    /// `journalctl -u UNIT`.
    Journal(String),
}

impl LogSource {
    /// The configured source: the log file when set, else the unit's journal.
    pub fn from_config(cfg: &Config) -> LogSource {
        if cfg.technician.log_file.as_os_str().is_empty() {
            LogSource::Journal(cfg.technician.journal_unit.clone())
        } else {
            LogSource::File(cfg.technician.log_file.clone())
        }
    }

    /// The last `lines` lines, or a note saying why there are none.
    fn read(&self, lines: usize) -> String {
        match self {
            LogSource::File(path) => match std::fs::read(path) {
                Ok(bytes) => {
                    let text = String::from_utf8_lossy(&bytes);
                    let all: Vec<&str> = text.lines().collect();
                    let start = all.len().saturating_sub(lines);
                    let mut out = all[start..].join("\n");
                    out.push('\n');
                    out
                }
                Err(e) => format!("(no log: cannot read {}: {e})\n", path.display()),
            },
            LogSource::Journal(unit) => {
                let res = Command::new("journalctl")
                    .args(["--no-pager", "-o", "short-iso", "-n"])
                    .arg(lines.to_string())
                    .arg("-u")
                    .arg(unit)
                    .output();
                match res {
                    Ok(out) if out.status.success() => {
                        String::from_utf8_lossy(&out.stdout).into_owned()
                    }
                    Ok(out) => format!(
                        "(no journal of {unit}: journalctl exited with {}: {})\n",
                        out.status,
                        String::from_utf8_lossy(&out.stderr).trim()
                    ),
                    Err(e) => format!("(no journal of {unit}: cannot run journalctl: {e})\n"),
                }
            }
        }
    }
}

/// What goes into a bundle.
#[derive(Debug)]
pub struct BundleInputs<'a> {
    pub snapshot: &'a HealthSnapshot,
    pub cfg: &'a Config,
    /// The configuration file as loaded (`None`: defaults, as in the demo).
    pub config_path: Option<&'a Path>,
    pub queue: Option<&'a kiosk_queue::Queue>,
    pub logs: LogSource,
}

/// The directory a bundle goes to from the screen: the configured
/// `[technician] usb_mount`, else the first USB stick mounted under `/media`
/// or `/run/media` (as listed in `/proc/self/mounts`).
pub fn usb_target(cfg: &Config) -> Result<PathBuf, DiagnosticsError> {
    let configured = &cfg.technician.usb_mount;
    if !configured.as_os_str().is_empty() {
        return if configured.is_dir() {
            Ok(configured.clone())
        } else {
            Err(DiagnosticsError::NotADirectory(configured.clone()))
        };
    }
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    first_stick(&mounts).ok_or(DiagnosticsError::NoStick)
}

/// The first mount point under `/media/` or `/run/media/` in a mounts table.
fn first_stick(mounts: &str) -> Option<PathBuf> {
    mounts.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let device = fields.next()?;
        let point = unescape_mount(fields.next()?);
        let removable_place = point.starts_with("/media/") || point.starts_with("/run/media/");
        (device.starts_with("/dev/") && removable_place).then(|| PathBuf::from(point))
    })
}

/// `/proc/mounts` writes spaces and tabs in paths as octal escapes (`\040`).
fn unescape_mount(field: &str) -> String {
    let mut out = String::new();
    let mut rest = field;
    while let Some(pos) = rest.find('\\') {
        out.push_str(&rest[..pos]);
        let code = rest.get(pos + 1..pos + 4);
        match code.and_then(|c| u8::from_str_radix(c, 8).ok()) {
            Some(b) => {
                out.push(b as char);
                rest = &rest[pos + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[pos + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The configuration file with its secrets removed, as TOML text.
pub fn sanitized_config(path: Option<&Path>) -> String {
    let Some(path) = path else {
        return "# no configuration file: built-in defaults (demo)\n".into();
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return format!("# cannot read {}: {e}\n", path.display()),
    };
    match text.parse::<toml::Table>() {
        Ok(mut table) => {
            scrub_table(&mut table);
            format!(
                "# {} with secrets removed\n{}",
                path.display(),
                toml::to_string(&table).unwrap_or_default()
            )
        }
        Err(_) => format!("# {} is not valid TOML; left out\n", path.display()),
    }
}

/// True for a key that names a secret rather than the path of its file.
fn secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    let names_secret = [
        "pin",
        "secret",
        "password",
        "passwd",
        "token",
        "key",
        "credential",
    ]
    .iter()
    .any(|w| k.split(['_', '-']).any(|part| part == *w) || k.contains("secret"));
    let is_path = ["_file", "_path", "_dir"].iter().any(|s| k.ends_with(s));
    names_secret && !is_path
}

fn scrub_table(table: &mut toml::Table) {
    for (key, value) in table.iter_mut() {
        if secret_key(key) {
            *value = toml::Value::String(REMOVED.into());
        } else {
            scrub_value(value);
        }
    }
}

fn scrub_value(value: &mut toml::Value) {
    match value {
        toml::Value::String(s) => {
            let lower = s.to_ascii_lowercase();
            if lower.contains("-----begin")
                || lower.contains("kiosk-seal")
                || lower.contains("kiosk-lookup")
            {
                *s = REMOVED.into();
            } else {
                *s = redact(s);
            }
        }
        toml::Value::Table(t) => scrub_table(t),
        toml::Value::Array(items) => items.iter_mut().for_each(scrub_value),
        _ => {}
    }
}

/// The queue's figures without any receipt data.
fn queue_report(queue: Option<&kiosk_queue::Queue>) -> String {
    use std::fmt::Write as _;
    let Some(q) = queue else {
        return "queue not open\n".into();
    };
    let mut out = String::new();
    match q.summary(chrono::Utc::now()) {
        Ok(s) => {
            let c = s.counts;
            let _ = writeln!(
                out,
                "pending {}\nuploading {}\nacknowledged {}\nfailed {}",
                c.pending, c.uploading, c.acknowledged, c.failed
            );
            let _ = match s.oldest_unsent_age {
                Some(age) => writeln!(out, "oldest unsent age {} s", age.as_secs()),
                None => writeln!(out, "oldest unsent age: none"),
            };
        }
        Err(e) => {
            let _ = writeln!(
                out,
                "summary unavailable: {}",
                redact_for_export(&e.to_string())
            );
        }
    }
    match q.free_bytes() {
        Ok(b) => {
            let _ = writeln!(out, "free disk {} MB", b / (1024 * 1024));
        }
        Err(e) => {
            let _ = writeln!(
                out,
                "free disk unknown: {}",
                redact_for_export(&e.to_string())
            );
        }
    }
    if let Ok(failed) = q.failed_receipts() {
        for r in failed {
            let _ = writeln!(
                out,
                "failed {} sealed {} attempts {} reason: {}",
                r.local_ref,
                r.sealed_at,
                r.attempts,
                redact_for_export(r.last_error.as_deref().unwrap_or("-"))
            );
        }
    }
    out
}

fn versions() -> String {
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("PRETTY_NAME=")
                    .map(|v| v.trim_matches('"').to_string())
            })
        })
        .unwrap_or_else(|| "unknown".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| k.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    format!(
        "kiosk {}\nopencv {}\ntesseract {}\nslint {SLINT_VERSION}\nos {os}\nkernel {kernel}\n",
        crate::update_stick::software_version(),
        kiosk_camera::opencv_version(),
        kiosk_ocr::tesseract_version(),
    )
}

/// Writes the bundle into `dir` and returns its path. The archive is written
/// under a temporary name, synced and renamed, so a pulled stick never holds
/// a half bundle under the real name.
pub fn write_bundle(dir: &Path, inputs: &BundleInputs<'_>) -> Result<PathBuf, DiagnosticsError> {
    if !dir.is_dir() {
        return Err(DiagnosticsError::NotADirectory(dir.to_path_buf()));
    }
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let terminal: String = inputs
        .cfg
        .terminal
        .id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let name = format!("kiosk-diagnostics-{terminal}-{stamp}");
    let path = dir.join(format!("{name}.tar.gz"));
    let partial = dir.join(format!(".{name}.tar.gz.partial"));
    let write_err = |source| DiagnosticsError::Write {
        path: path.clone(),
        source,
    };

    let logs: String = inputs
        .logs
        .read(inputs.cfg.technician.log_lines)
        .lines()
        .map(|l| redact_for_export(l) + "\n")
        .collect();
    let health = serde_json::to_string_pretty(inputs.snapshot).unwrap_or_default();
    let files: [(&str, String); 5] = [
        ("health.json", health + "\n"),
        ("config.toml", sanitized_config(inputs.config_path)),
        ("queue.txt", queue_report(inputs.queue)),
        ("logs.txt", logs),
        ("versions.txt", versions()),
    ];

    let result = (|| -> std::io::Result<()> {
        // A new file only, never through a link someone left on the stick.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
            .mode(0o644)
            .open(&partial)?;
        let gz = GzEncoder::new(file, flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        let mtime = chrono::Utc::now().timestamp().max(0) as u64;
        for (file_name, text) in &files {
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(mtime);
            header.set_cksum();
            tar.append_data(&mut header, format!("{name}/{file_name}"), text.as_bytes())?;
        }
        let gz = tar.into_inner()?;
        let mut file = gz.finish()?;
        file.flush()?;
        file.sync_all()?;
        std::fs::rename(&partial, &path)?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(write_err(e));
    }
    log::info!("diagnostics bundle written to {}", path.display());
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::{Health, Sources};
    use std::io::Read;

    const PLANTED_ID: &str = "11010519491231002X";
    const PLANTED_PHONE: &str = "13812345678";
    const PLANTED_NAME: &str = "张三丰";

    /// Every file of a bundle, by name.
    fn unpack(path: &Path) -> Vec<(String, String)> {
        let file = std::fs::File::open(path).unwrap();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let name = e.path().unwrap().display().to_string();
                let mut text = String::new();
                e.read_to_string(&mut text).unwrap();
                (name, text)
            })
            .collect()
    }

    #[test]
    fn a_bundle_holds_the_expected_files_and_none_of_the_planted_data() {
        use kiosk_queue::test_utils::{specimen_options, specimen_upload};
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("kiosk.log");
        std::fs::write(
            &log,
            format!(
                "2026-11-28T10:00:00Z INFO stage card_read took 840 ms\n\
                 2026-11-28T10:00:01Z WARN leaked {PLANTED_ID} {PLANTED_NAME} tel {PLANTED_PHONE}\n\
                 2026-11-28T10:00:02Z WARN spaced 138 1234 5678 住址 北京市东城区\n"
            ),
        )
        .unwrap();
        let config = dir.path().join("kiosk.toml");
        std::fs::write(
            &config,
            format!(
                "[terminal]\nid = \"T-01\"\nhall_name = \"示范镇\"\n\
                 [registry]\ntoken_file = \"/etc/kiosk/registry-token\"\ntoken = \"SECRET-TOKEN-1\"\n\
                 [staff]\nclerk_pin = \"482913\"\nnote = \"call {PLANTED_PHONE}\"\n"
            ),
        )
        .unwrap();
        let q =
            kiosk_queue::Queue::open_with(&dir.path().join("q.db"), specimen_options()).unwrap();
        q.seal(&specimen_upload(1)).unwrap();
        let c = q.claim_next(chrono::Utc::now()).unwrap().unwrap();
        q.mark_failed(c.id, &format!("rejected: bad id {PLANTED_NAME}"))
            .unwrap();
        let mut cfg = Config::default();
        cfg.terminal.id = "T-01".into();
        let snapshot = Health::default().snapshot(&Sources {
            cfg: &cfg,
            queue: Some(&q),
            contact: None,
        });
        let out = dir.path().join("stick");
        std::fs::create_dir(&out).unwrap();
        let path = write_bundle(
            &out,
            &BundleInputs {
                snapshot: &snapshot,
                cfg: &cfg,
                config_path: Some(&config),
                queue: Some(&q),
                logs: LogSource::File(log),
            },
        )
        .unwrap();
        assert!(path.starts_with(&out));
        let files = unpack(&path);
        let names: Vec<&str> = files
            .iter()
            .map(|(n, _)| n.rsplit('/').next().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "health.json",
                "config.toml",
                "queue.txt",
                "logs.txt",
                "versions.txt"
            ]
        );
        for (name, text) in &files {
            for planted in [
                PLANTED_ID,
                PLANTED_PHONE,
                PLANTED_NAME,
                "138 1234 5678",
                "北京",
                "SECRET-TOKEN-1",
                "482913",
            ] {
                assert!(!text.contains(planted), "{name} holds {planted:?}:\n{text}");
            }
        }
        let text = |n: &str| &files.iter().find(|(f, _)| f.ends_with(n)).unwrap().1;
        assert!(text("logs.txt").contains("stage card_read took 840 ms"));
        assert!(text("logs.txt").contains("leaked [redacted] [zh] tel [redacted]"));
        assert!(text("config.toml").contains("token_file = \"/etc/kiosk/registry-token\""));
        assert!(text("config.toml").contains("clerk_pin = \"[removed]\""));
        assert!(text("queue.txt").contains("failed 1"));
        assert!(text("health.json").contains("\"terminal_id\": \"T-01\""));
        let versions = text("versions.txt");
        assert!(
            versions.contains("opencv 4.")
                && versions.contains("tesseract ")
                && versions.contains("slint 1."),
            "{versions}"
        );
        // Nothing is left behind under a temporary name.
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
    }

    #[test]
    fn an_absent_or_unwritable_target_is_a_clear_error() {
        let cfg = Config::default();
        let snapshot = Health::default().snapshot(&Sources {
            cfg: &cfg,
            queue: None,
            contact: None,
        });
        let inputs = BundleInputs {
            snapshot: &snapshot,
            cfg: &cfg,
            config_path: None,
            queue: None,
            logs: LogSource::File("/nonexistent/kiosk.log".into()),
        };
        let err = write_bundle(Path::new("/nonexistent/stick"), &inputs).unwrap_err();
        assert!(matches!(err, DiagnosticsError::NotADirectory(_)), "{err}");
        assert!(err.message_zh().contains("不存在"));

        // A directory no one can create files in, root included (CI runs as root).
        let target = Path::new("/proc");
        let err = write_bundle(target, &inputs).unwrap_err();
        assert!(matches!(err, DiagnosticsError::Write { .. }), "{err}");
        assert!(err.message_zh().contains("无法写入U盘"));

        let mut cfg = Config::default();
        cfg.technician.usb_mount = "/nonexistent/usb".into();
        assert!(matches!(
            usb_target(&cfg),
            Err(DiagnosticsError::NotADirectory(_))
        ));
    }

    #[test]
    fn links_planted_on_the_stick_are_never_followed() {
        let cfg = Config::default();
        let snapshot = Health::default().snapshot(&Sources {
            cfg: &cfg,
            queue: None,
            contact: None,
        });
        let inputs = BundleInputs {
            snapshot: &snapshot,
            cfg: &cfg,
            config_path: None,
            queue: None,
            logs: LogSource::File("/nonexistent/kiosk.log".into()),
        };
        let stick = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let victim = elsewhere.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        // The names the next few seconds' bundles will use, all linked to the victim.
        let now = chrono::Local::now();
        for s in 0..5 {
            let stamp = (now + chrono::TimeDelta::seconds(s)).format("%Y%m%d-%H%M%S");
            let name = format!("kiosk-diagnostics--{stamp}.tar.gz");
            for planted in [name.clone(), format!(".{name}.partial")] {
                std::os::unix::fs::symlink(&victim, stick.path().join(planted)).unwrap();
            }
        }
        let _ = write_bundle(stick.path(), &inputs);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }

    #[test]
    fn the_first_stick_is_found_in_the_mount_table() {
        let table = "/dev/sda1 / ext4 rw 0 0\n\
                     tmpfs /run tmpfs rw 0 0\n\
                     /dev/sdb1 /media/kiosk/MY\\040STICK vfat rw 0 0\n\
                     /dev/sdc1 /run/media/tech/OTHER vfat rw 0 0\n";
        assert_eq!(
            first_stick(table),
            Some(PathBuf::from("/media/kiosk/MY STICK"))
        );
        assert_eq!(first_stick("/dev/sda1 / ext4 rw 0 0\n"), None);
    }

    #[test]
    fn the_slint_version_matches_the_pin() {
        let manifest = include_str!("../../../Cargo.toml");
        assert!(
            manifest.contains(&format!("slint = {{ version = \"={SLINT_VERSION}\"")),
            "update SLINT_VERSION with the pin in Cargo.toml"
        );
    }
}
