//! Software updates from a USB stick, confirmed on the technician screen:
//! the way to update a terminal that cannot reach its registry, or that a
//! technician updates by hand.
//!
//! **Staging** (root, `kiosk update stage`, started by
//! `udev/72-kiosk-update.rules` for a stick labelled [`STICK_LABEL`]): the
//! one `*.raucb` on the stick is copied (a plain file, at most
//! [`MAX_BUNDLE_BYTES`], only when the data partition keeps room for the
//! queue) into the pending directory, which only root writes, and checked
//! with `rauc info` against the terminal's keyring: a bundle signed under
//! another key, made for another system or carrying the version that runs
//! is refused there and then, and nothing is staged. What is staged is
//! described in [`StagedUpdate`] ([`SUMMARY_FILE`], readable by group kiosk;
//! no secret in it).
//!
//! **Confirming** (the kiosk): the technician screen shows the version, the
//! signer and the size; "确认安装更新" writes the SHA-256 it showed into the
//! kiosk's confirmation file, as provisioning does.
//!
//! **Installing** (root, `kiosk update apply`, started by
//! `kiosk-update-apply.path`): only the staged bundle whose SHA-256 the
//! confirmation names, hashed again; the install is recorded for the next
//! start exactly as a registry update is (so a version that never reaches
//! READY is reported as fallen back, see `kiosk_uplink`), `rauc install`
//! checks the signature once more and writes the other slot, and the
//! terminal reboots. A refused install is written into the summary, for the
//! screen.

use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::provisioning::read_plain_file;
use crate::software_update::UpdateConfig;

/// The file system label of an update stick (FAT labels hold 11 characters).
pub const STICK_LABEL: &str = "KIOSK-UPD";
pub use crate::software_update::{DEFAULT_CONFIRM_FILE, DEFAULT_PENDING_DIR};
/// RAUC's configuration on the terminal: slots and keyring.
pub const DEFAULT_RAUC_CONF: &str = "/etc/rauc/system.conf";
/// The staged bundle in the pending directory.
pub const BUNDLE_FILE: &str = "bundle.raucb";
/// What the staged bundle is, for the screen.
pub const SUMMARY_FILE: &str = "summary.toml";
/// The version of the software in this root (written by `image-build/build.sh`).
pub const VERSION_FILE: &str = "/usr/lib/kiosk/version";
/// The largest bundle taken from a stick (the same as from the registry).
pub const MAX_BUNDLE_BYTES: u64 = kiosk_uplink::MAX_BUNDLE_BYTES;
/// Free space the data partition keeps beside a staged bundle (the queue's room).
const KEEP_FREE_BYTES: u64 = 512 << 20;
/// The longest `rauc info` may take on a bundle.
const INFO_TIMEOUT: Duration = Duration::from_secs(300);

/// The software version this root runs: [`VERSION_FILE`] when the image
/// has one (the bundle's version), else the kiosk package's.
pub fn software_version() -> String {
    version_from(Path::new(VERSION_FILE)).unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned())
}

fn version_from(path: &Path) -> Option<String> {
    let bytes = read_plain_file(path, 256).ok()?;
    let v = String::from_utf8(bytes).ok()?.trim().to_owned();
    registry_api::valid_version(&v).then_some(v)
}

/// Why a stick's bundle was not staged or not installed.
#[derive(Debug, thiserror::Error)]
pub enum StickError {
    #[error("the stick holds no update bundle (*.raucb) at its top level")]
    NoBundle,
    #[error("the stick holds {0} update bundles: leave exactly one on it")]
    SeveralBundles(usize),
    #[error("{0} is not a plain file (a link or a device is never read)")]
    NotPlainFile(PathBuf),
    #[error("the bundle is larger than a bundle can be ({0} bytes)")]
    TooLarge(u64),
    #[error("the data partition lacks room for the bundle and the queue ({need} bytes needed, {free} free)")]
    NoRoom { need: u64, free: u64 },
    #[error("RAUC refused the bundle: {0}")]
    Refused(String),
    #[error("the bundle is version {0}, which runs already")]
    SameVersion(String),
    #[error("no update is staged")]
    NotStaged,
    #[error("the confirmation does not name the staged bundle: nothing installed")]
    NotConfirmed,
    #[error("the staged bundle changed since it was staged: nothing installed")]
    Changed,
    #[error("installing failed: {0}")]
    Install(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl StickError {
    fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> StickError {
        let what = what.into();
        move |source| StickError::Io { what, source }
    }
}

/// The staged bundle, for the technician screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StagedUpdate {
    /// SHA-256 of the staged bundle: what the confirmation must name.
    pub sha256: String,
    pub version: String,
    /// The version that ran when it was staged.
    pub running: String,
    pub size_bytes: u64,
    /// Whom RAUC found the signature made by ("O = …, CN = …").
    pub signer: String,
    /// Set by `kiosk update apply` when the install was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

impl StagedUpdate {
    /// The summary staged in `pending_dir`, if any. A malformed one is an error.
    pub fn read(pending_dir: &Path) -> Result<Option<StagedUpdate>, StickError> {
        let path = pending_dir.join(SUMMARY_FILE);
        if std::fs::symlink_metadata(&path).is_err() {
            return Ok(None);
        }
        let bytes = read_plain_file(&path, crate::provisioning::MAX_SMALL_FILE).map_err(|e| {
            StickError::Io {
                what: format!("cannot read {}", path.display()),
                source: std::io::Error::other(e.to_string()),
            }
        })?;
        let bad = |reason: String| StickError::Io {
            what: format!("{} is malformed", path.display()),
            source: std::io::Error::other(reason),
        };
        let text = String::from_utf8(bytes).map_err(|e| bad(e.to_string()))?;
        let s: StagedUpdate = toml::from_str(&text).map_err(|e| bad(e.message().to_string()))?;
        if !registry_api::valid_sha256_hex(&s.sha256)
            || !registry_api::valid_version(&s.version)
            || s.signer.len() > 512
            || s.failed.as_ref().is_some_and(|f| f.len() > 2048)
        {
            return Err(bad("bad sha256, version or signer".into()));
        }
        Ok(Some(s))
    }

    fn write(&self, pending_dir: &Path, gid: Option<u32>) -> Result<(), StickError> {
        let text = toml::to_string(self).map_err(|e| StickError::Io {
            what: "cannot write the summary".into(),
            source: std::io::Error::other(e.to_string()),
        })?;
        write_file(&pending_dir.join(SUMMARY_FILE), text.as_bytes(), 0o640, gid)
    }
}

/// How bundles are checked: `rauc` with the terminal's configuration.
#[derive(Debug, Clone)]
pub struct RaucCheck {
    pub program: PathBuf,
    pub conf: PathBuf,
}

impl Default for RaucCheck {
    fn default() -> Self {
        RaucCheck {
            program: "rauc".into(),
            conf: DEFAULT_RAUC_CONF.into(),
        }
    }
}

/// What `rauc info` told of a bundle whose signature it verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleInfo {
    pub version: String,
    pub compatible: String,
    pub signer: String,
}

impl RaucCheck {
    /// `rauc info`: verifies the signature against the configured keyring
    /// and reads the manifest. Killed after [`INFO_TIMEOUT`].
    pub fn info(&self, bundle: &Path) -> Result<BundleInfo, StickError> {
        let mut child = Command::new(&self.program)
            .arg("--conf")
            .arg(&self.conf)
            .args(["info", "--output-format=json"])
            .arg(bundle)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| StickError::Refused(format!("rauc did not start: {e}")))?;
        let (mut out, mut err) = (child.stdout.take(), child.stderr.take());
        let readers = std::thread::spawn(move || {
            let (mut o, mut e) = (Vec::new(), Vec::new());
            if let Some(s) = out.as_mut() {
                let _ = s.take(1 << 20).read_to_end(&mut o);
            }
            if let Some(s) = err.as_mut() {
                let _ = s.take(1 << 20).read_to_end(&mut e);
            }
            (o, e)
        });
        let deadline = Instant::now() + INFO_TIMEOUT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) if Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(StickError::Refused("rauc info took too long".into()));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                Err(e) => return Err(StickError::Refused(format!("rauc: {e}"))),
            }
        };
        let (out, err) = readers.join().unwrap_or_default();
        let err = String::from_utf8_lossy(&err);
        if !status.success() {
            // RAUC's last line names the reason ("signature verification failed: …").
            let reason = err
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no reason given")
                .trim();
            return Err(StickError::Refused(reason.chars().take(400).collect()));
        }
        #[derive(Deserialize)]
        struct Info {
            compatible: String,
            version: String,
        }
        let info: Info = serde_json::from_slice(&out)
            .map_err(|e| StickError::Refused(format!("rauc info is unreadable: {e}")))?;
        let signer = err
            .lines()
            .find_map(|l| l.split_once("Verified inline signature by '"))
            .and_then(|(_, rest)| rest.split_once('\''))
            .map(|(who, _)| who.chars().take(200).collect::<String>())
            .ok_or_else(|| StickError::Refused("rauc did not verify a signature".into()))?;
        if !registry_api::valid_version(&info.version) {
            return Err(StickError::Refused(
                "the bundle's version is malformed".into(),
            ));
        }
        Ok(BundleInfo {
            version: info.version,
            compatible: info.compatible,
            signer,
        })
    }
}

/// The one `*.raucb` at the top of a mounted stick.
pub fn find_bundle(stick: &Path) -> Result<PathBuf, StickError> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(stick)
        .map_err(StickError::io(format!("cannot list {}", stick.display())))?
        .flatten()
    {
        let name = e.file_name();
        if name
            .to_string_lossy()
            .to_ascii_lowercase()
            .ends_with(".raucb")
        {
            found.push(e.path());
        }
    }
    match found.len() {
        0 => Err(StickError::NoBundle),
        1 => Ok(found.remove(0)),
        n => Err(StickError::SeveralBundles(n)),
    }
}

/// Copies `bundle` into `pending_dir`, checks it with RAUC and describes it
/// in the summary. Anything refused leaves nothing staged (and removes
/// what was staged before: the newest stick is the one that counts).
pub fn stage(
    bundle: &Path,
    pending_dir: &Path,
    rauc: &RaucCheck,
    running: &str,
    gid: Option<u32>,
) -> Result<StagedUpdate, StickError> {
    clear(pending_dir);
    let res = stage_inner(bundle, pending_dir, rauc, running, gid);
    if res.is_err() {
        clear(pending_dir);
    }
    res
}

fn stage_inner(
    bundle: &Path,
    pending_dir: &Path,
    rauc: &RaucCheck,
    running: &str,
    gid: Option<u32>,
) -> Result<StagedUpdate, StickError> {
    let meta = std::fs::symlink_metadata(bundle)
        .map_err(StickError::io(format!("cannot read {}", bundle.display())))?;
    if !meta.file_type().is_file() {
        return Err(StickError::NotPlainFile(bundle.into()));
    }
    if meta.len() > MAX_BUNDLE_BYTES {
        return Err(StickError::TooLarge(MAX_BUNDLE_BYTES));
    }
    std::fs::create_dir_all(pending_dir).map_err(StickError::io(format!(
        "cannot make {}",
        pending_dir.display()
    )))?;
    set_owner(pending_dir, 0o750, gid)?;
    let free = free_bytes(pending_dir).unwrap_or(u64::MAX);
    let need = meta.len().saturating_add(KEEP_FREE_BYTES);
    if free < need {
        return Err(StickError::NoRoom { need, free });
    }
    // Copied first, then checked: what RAUC checks is what stays, whatever
    // the stick does meanwhile. The name ends in .raucb for RAUC.
    let incoming = pending_dir.join(".incoming.raucb");
    let sha256 = copy_hashed(bundle, &incoming)?;
    let info = rauc.info(&incoming)?;
    if info.version == running {
        return Err(StickError::SameVersion(info.version));
    }
    set_owner(&incoming, 0o640, gid)?;
    std::fs::rename(&incoming, pending_dir.join(BUNDLE_FILE))
        .map_err(StickError::io("cannot keep the bundle"))?;
    let staged = StagedUpdate {
        sha256,
        version: info.version,
        running: running.to_owned(),
        size_bytes: meta.len(),
        signer: info.signer,
        failed: None,
    };
    staged.write(pending_dir, gid)?;
    Ok(staged)
}

/// Opens a plain file without following a link, at most [`MAX_BUNDLE_BYTES`].
fn open_plain(path: &Path) -> Result<std::fs::File, StickError> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits() | nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(code) if code == nix::libc::ELOOP => StickError::NotPlainFile(path.into()),
            _ => StickError::Io {
                what: format!("cannot read {}", path.display()),
                source: e,
            },
        })?;
    let meta = f
        .metadata()
        .map_err(StickError::io(format!("cannot read {}", path.display())))?;
    if !meta.file_type().is_file() {
        return Err(StickError::NotPlainFile(path.into()));
    }
    Ok(f)
}

fn copy_hashed(from: &Path, to: &Path) -> Result<String, StickError> {
    let mut src = open_plain(from)?.take(MAX_BUNDLE_BYTES + 1);
    let _ = std::fs::remove_file(to);
    let mut dst = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(to)
        .map_err(StickError::io(format!("cannot write {}", to.display())))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = src
            .read(&mut buf)
            .map_err(StickError::io(format!("cannot read {}", from.display())))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > MAX_BUNDLE_BYTES {
            return Err(StickError::TooLarge(MAX_BUNDLE_BYTES));
        }
        h.update(&buf[..n]);
        dst.write_all(&buf[..n])
            .map_err(StickError::io(format!("cannot write {}", to.display())))?;
    }
    dst.sync_all()
        .map_err(StickError::io(format!("cannot write {}", to.display())))?;
    Ok(hex::encode(h.finalize()))
}

fn sha256_of(path: &Path) -> Result<String, StickError> {
    let mut f = open_plain(path)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h)
        .map_err(StickError::io(format!("cannot read {}", path.display())))?;
    Ok(hex::encode(h.finalize()))
}

/// Removes what is staged (the bundle, its summary, a half copy).
pub fn clear(pending_dir: &Path) {
    for name in [
        BUNDLE_FILE,
        SUMMARY_FILE,
        ".incoming.raucb",
        ".summary.toml.new",
    ] {
        let _ = std::fs::remove_file(pending_dir.join(name));
    }
}

/// Installs the staged bundle the confirmation names: recorded for the next
/// start in `update_dir` (the kiosk's), installed with the configured
/// command, then the configured reboot. Returns the version installed.
pub fn apply(
    confirmed_sha256: &str,
    pending_dir: &Path,
    cfg: &UpdateConfig,
    update_dir: &Path,
    gid: Option<u32>,
) -> Result<String, StickError> {
    let staged = StagedUpdate::read(pending_dir)?.ok_or(StickError::NotStaged)?;
    if staged.sha256 != confirmed_sha256 || staged.failed.is_some() {
        return Err(StickError::NotConfirmed);
    }
    let bundle = pending_dir.join(BUNDLE_FILE);
    if sha256_of(&bundle)? != staged.sha256 {
        clear(pending_dir);
        return Err(StickError::Changed);
    }
    let running = software_version();
    kiosk_uplink::record_install(update_dir, &staged.version, &running).map_err(StickError::io(
        format!("cannot record the install in {}", update_dir.display()),
    ))?;
    let timeout = Duration::from_secs(cfg.install_timeout_s);
    if let Err(why) = crate::software_update::run(&cfg.install_command, Some(&bundle), timeout) {
        kiosk_uplink::forget_install(update_dir);
        let _ = std::fs::remove_file(&bundle);
        let failed = StagedUpdate {
            failed: Some(why.chars().take(400).collect()),
            ..staged
        };
        let _ = failed.write(pending_dir, gid);
        return Err(StickError::Install(why));
    }
    // Written to the other slot: the copy is no longer needed.
    clear(pending_dir);
    if let Err(why) =
        crate::software_update::run(&cfg.reboot_command, None, Duration::from_secs(60))
    {
        log::error!("update: installed, but the reboot was not asked: {why}");
    }
    Ok(staged.version)
}

fn free_bytes(dir: &Path) -> Option<u64> {
    let st = nix::sys::statvfs::statvfs(dir).ok()?;
    #[allow(clippy::useless_conversion)]
    Some(u64::from(st.blocks_available()).saturating_mul(u64::from(st.fragment_size())))
}

fn set_owner(path: &Path, mode: u32, gid: Option<u32>) -> Result<(), StickError> {
    if let Some(gid) = gid {
        std::os::unix::fs::chown(path, None, Some(gid)).map_err(StickError::io(format!(
            "cannot set the group of {}",
            path.display()
        )))?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(StickError::io(
        format!("cannot set the mode of {}", path.display()),
    ))
}

fn write_file(path: &Path, data: &[u8], mode: u32, gid: Option<u32>) -> Result<(), StickError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.new"));
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(&tmp)
        .map_err(StickError::io(format!("cannot write {}", path.display())))?;
    f.write_all(data)
        .and_then(|()| f.sync_all())
        .map_err(StickError::io(format!("cannot write {}", path.display())))?;
    drop(f);
    set_owner(&tmp, mode, gid)?;
    std::fs::rename(&tmp, path).map_err(StickError::io(format!("cannot write {}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_file_is_read_only_when_it_holds_a_version() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("version");
        std::fs::write(&f, "1.2.0\n").unwrap();
        assert_eq!(version_from(&f).as_deref(), Some("1.2.0"));
        std::fs::write(&f, "1.2.0; rm -rf /\n").unwrap();
        assert_eq!(version_from(&f), None);
        std::fs::write(&f, "9".repeat(300)).unwrap();
        assert_eq!(version_from(&f), None);
        assert_eq!(version_from(&dir.path().join("missing")), None);
    }

    #[test]
    fn a_stick_holds_exactly_one_bundle() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(find_bundle(dir.path()), Err(StickError::NoBundle)));
        std::fs::write(dir.path().join("kiosk-1.2.0.raucb"), b"x").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"x").unwrap();
        assert_eq!(
            find_bundle(dir.path()).unwrap(),
            dir.path().join("kiosk-1.2.0.raucb")
        );
        std::fs::write(dir.path().join("KIOSK-1.3.0.RAUCB"), b"x").unwrap();
        assert!(matches!(
            find_bundle(dir.path()),
            Err(StickError::SeveralBundles(2))
        ));
    }

    #[test]
    fn a_linked_bundle_is_never_read_and_nothing_is_staged() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.raucb");
        std::fs::write(&real, b"bundle").unwrap();
        let link = dir.path().join("link.raucb");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let pending = dir.path().join("pending");
        let err = stage(&link, &pending, &RaucCheck::default(), "1.1.0", None).unwrap_err();
        assert!(matches!(err, StickError::NotPlainFile(_)), "{err}");
        assert_eq!(StagedUpdate::read(&pending).unwrap(), None);
    }
}
