//! Helpers for checking the appliance files without hardware.
//!
//! `udev`: builds a fake sysfs tree from recorded device properties
//! (`udev/tests/devices.toml`) and runs the real `udevadm test` on it inside a
//! private mount namespace (`unshare -m`), where the fake tree, a tmpfs `/dev`,
//! `/run` and the rules directories hide the host's. Nothing on the host
//! changes. `SYSTEMD_DEVICE_VERIFY_SYSFS=0` is systemd's own switch for test
//! trees that are not a real sysfs (its udev test suite uses it the same way).
//!
//! `units`: runs `systemd-analyze verify` on the checked-in units.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

/// What can go wrong while checking.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("io error at {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("bad device file: {0}")]
    Fixture(#[from] toml::de::Error),
    #[error("device {0} has no nodes")]
    EmptyDevice(String),
    #[error("cannot run {tool}: {source}")]
    Spawn { tool: &'static str, source: std::io::Error },
    #[error("udevadm test failed for {device}: {output}")]
    Udevadm { device: String, output: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CheckError + '_ {
    move |source| CheckError::Io { path: path.to_path_buf(), source }
}

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One sysfs directory of a recorded device.
#[derive(Debug, Clone, Deserialize)]
pub struct SysNode {
    /// Path below `/sys`, e.g. `devices/pci0000:00/…/ttyUSB0/tty/ttyUSB0`.
    pub path: String,
    /// The subsystem (`usb`, `tty`, `video4linux`, …).
    pub subsystem: String,
    /// Lines of the node's `uevent` file (`MAJOR=188`, `DEVTYPE=usb_device`, …).
    #[serde(default)]
    pub uevent: Vec<String>,
    /// Attribute files (`idVendor`, `bInterfaceClass`, …).
    #[serde(default)]
    pub attrs: BTreeMap<String, String>,
}

/// A recorded device: its chain of sysfs nodes, the device node last.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordedDevice {
    pub name: String,
    /// The `/dev` link the rules must create (`kiosk/idcard`), or empty for none.
    pub link: String,
    pub nodes: Vec<SysNode>,
}

#[derive(Debug, Deserialize)]
struct DeviceFile {
    device: Vec<RecordedDevice>,
}

/// Loads the recorded devices.
pub fn load_devices(path: &Path) -> Result<Vec<RecordedDevice>, CheckError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    Ok(toml::from_str::<DeviceFile>(&text)?.device)
}

/// Writes a device's nodes into a fake sysfs rooted at `sys`.
pub fn write_fake_sysfs(sys: &Path, dev: &RecordedDevice) -> Result<(), CheckError> {
    for node in &dev.nodes {
        let dir = sys.join(&node.path);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let uevent = dir.join("uevent");
        let mut text = node.uevent.join("\n");
        text.push('\n');
        std::fs::write(&uevent, text).map_err(io(&uevent))?;
        for (k, v) in &node.attrs {
            let f = dir.join(k);
            std::fs::write(&f, format!("{v}\n")).map_err(io(&f))?;
        }
        let link = dir.join("subsystem");
        if !link.exists() {
            let class = if node.subsystem == "usb" || node.subsystem == "usb-serial" { "bus" } else { "class" };
            std::os::unix::fs::symlink(format!("/sys/{class}/{}", node.subsystem), &link).map_err(io(&link))?;
        }
    }
    Ok(())
}

/// What `udevadm test` decided for one device.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UdevOutcome {
    /// The final properties (`DEVLINKS`, `KIOSK_DEVICE`, …).
    pub properties: BTreeMap<String, String>,
    /// The `GROUP` the rules assigned (numeric, as udevadm resolves it), if any.
    pub group: Option<String>,
    /// The `MODE` the rules assigned, if any.
    pub mode: Option<String>,
}

impl UdevOutcome {
    /// The links under `/dev`, without the `/dev/` prefix.
    pub fn links(&self) -> Vec<String> {
        self.properties
            .get("DEVLINKS")
            .map(|l| l.split_whitespace().map(|s| s.trim_start_matches("/dev/").to_string()).collect())
            .unwrap_or_default()
    }
}

/// Parses `udevadm test` output (stderr log lines and stdout properties).
pub fn parse_udevadm(stdout: &str, stderr: &str) -> UdevOutcome {
    let mut out = UdevOutcome::default();
    for line in stdout.lines() {
        if let Some((k, v)) = line.split_once('=') {
            if !k.is_empty() && k.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') {
                out.properties.insert(k.to_string(), v.to_string());
            }
        }
    }
    for line in stderr.lines() {
        // e.g. "ttyUSB0: /usr/lib/udev/rules.d/70-kiosk.rules:15 GROUP 990"
        let mut words = line.split_whitespace().rev();
        let (Some(value), Some(key)) = (words.next(), words.next()) else { continue };
        if !line.contains(".rules:") {
            continue;
        }
        match key {
            "GROUP" => out.group = Some(value.to_string()),
            "MODE" => out.mode = Some(value.to_string()),
            _ => {}
        }
    }
    out
}

/// The gid the test's private `/etc/group` gives the `kiosk` group.
pub const TEST_KIOSK_GID: u32 = 4242;

/// Runs `udevadm test --action=add` for `dev` with only `rules` loaded, in a
/// private mount namespace over a fake sysfs. Needs root (for `unshare -m`).
pub fn udevadm_test(rules: &[PathBuf], dev: &RecordedDevice) -> Result<UdevOutcome, CheckError> {
    let Some(last) = dev.nodes.last() else { return Err(CheckError::EmptyDevice(dev.name.clone())) };
    let work = tempfile::tempdir().map_err(io(Path::new("tempdir")))?;
    let w = work.path();
    let sys = w.join("sys");
    write_fake_sysfs(&sys, dev)?;
    let rules_dir = w.join("rules");
    std::fs::create_dir_all(&rules_dir).map_err(io(&rules_dir))?;
    for r in rules {
        let name = r.file_name().unwrap_or_default();
        std::fs::copy(r, rules_dir.join(name)).map_err(io(r))?;
    }
    let group = w.join("group");
    std::fs::write(&group, format!("root:x:0:\ntty:x:5:\ndialout:x:20:\nkiosk:x:{TEST_KIOSK_GID}:\n"))
        .map_err(io(&group))?;
    for d in ["dev", "run", "empty"] {
        std::fs::create_dir_all(w.join(d)).map_err(io(w))?;
    }
    // Everything udevadm reads or writes is replaced inside the namespace.
    let script = r#"set -e
W="$1"; DEVPATH="$2"
mount --bind "$W/sys" /sys
mount --bind "$W/group" /etc/group
mount --bind "$W/rules" /usr/lib/udev/rules.d
[ -d /etc/udev/rules.d ] && mount --bind "$W/empty" /etc/udev/rules.d
[ -d /lib/udev/rules.d ] && [ ! /lib -ef /usr/lib ] && mount --bind "$W/rules" /lib/udev/rules.d
mount --bind "$W/dev" /dev
mount --bind "$W/run" /run
mkdir -p /run/udev
exec udevadm test --action=add "/sys/$DEVPATH"
"#;
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", script, "sh"])
        .arg(w)
        .arg(&last.path)
        .env("SYSTEMD_DEVICE_VERIFY_SYSFS", "0")
        .output()
        .map_err(|source| CheckError::Spawn { tool: "unshare", source })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || !stdout.contains("DEVPATH=") {
        return Err(CheckError::Udevadm { device: dev.name.clone(), output: format!("{stdout}\n{stderr}") });
    }
    Ok(parse_udevadm(&stdout, &stderr))
}

/// A throw-away root for `systemd-analyze verify --root`: the host's system
/// units (for the targets and sockets ours name), stub executables for the
/// binaries the image installs, and `units` under `etc/systemd/system`.
pub fn verify_root(units: &[PathBuf], stub_binaries: &[&str]) -> Result<tempfile::TempDir, CheckError> {
    let root = tempfile::tempdir().map_err(io(Path::new("tempdir")))?;
    let r = root.path();
    let sys_units = r.join("usr/lib/systemd/system");
    std::fs::create_dir_all(&sys_units).map_err(io(&sys_units))?;
    let host = Path::new("/usr/lib/systemd/system");
    for entry in std::fs::read_dir(host).map_err(io(host))? {
        let entry = entry.map_err(io(host))?;
        let ft = entry.file_type().map_err(io(host))?;
        // Unit files and their .wants/.requires links are enough for loading.
        if ft.is_file() {
            std::fs::copy(entry.path(), sys_units.join(entry.file_name())).map_err(io(&entry.path()))?;
        } else if ft.is_symlink() {
            let target = std::fs::read_link(entry.path()).map_err(io(&entry.path()))?;
            std::os::unix::fs::symlink(target, sys_units.join(entry.file_name())).map_err(io(&sys_units))?;
        }
    }
    let bin = r.join("usr/bin");
    std::fs::create_dir_all(&bin).map_err(io(&bin))?;
    for name in stub_binaries {
        let f = bin.join(name);
        std::fs::write(&f, "#!/bin/sh\nexit 0\n").map_err(io(&f))?;
        std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o755)).map_err(io(&f))?;
    }
    let etc = r.join("etc/systemd/system");
    std::fs::create_dir_all(&etc).map_err(io(&etc))?;
    for u in units {
        let name = u.file_name().unwrap_or_default();
        std::fs::copy(u, etc.join(name)).map_err(io(u))?;
    }
    Ok(root)
}

/// Runs `systemd-analyze verify --root` on the named units of `root`.
/// Returns everything it printed: systemd reports unknown keys and bad values
/// as warnings with a zero exit code, so callers require the output to be empty.
pub fn systemd_verify(root: &Path, unit_names: &[&str]) -> Result<(bool, String), CheckError> {
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg("--man=no")
        .arg("--generators=no")
        .arg(format!("--root={}", root.display()))
        .args(unit_names)
        .output()
        .map_err(|source| CheckError::Spawn { tool: "systemd-analyze", source })?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Ok((out.status.success(), text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_udevadm_output() {
        let stderr = "ttyUSB0: /usr/lib/udev/rules.d/70-kiosk.rules:15 GROUP 990\n\
                      ttyUSB0: /usr/lib/udev/rules.d/70-kiosk.rules:15 MODE 0660\n\
                      Loading kernel module index.\n";
        let stdout = "DEVPATH=/devices/x\nDEVLINKS=/dev/kiosk/idcard /dev/serial/by-id/x\nACTION=add\n";
        let o = parse_udevadm(stdout, stderr);
        assert_eq!(o.group.as_deref(), Some("990"));
        assert_eq!(o.mode.as_deref(), Some("0660"));
        assert_eq!(o.links(), vec!["kiosk/idcard".to_string(), "serial/by-id/x".to_string()]);
    }

    #[test]
    fn recorded_devices_load() {
        let devs = load_devices(&repo_root().join("udev/tests/devices.toml")).expect("devices.toml");
        assert!(devs.len() >= 8);
        assert!(devs.iter().all(|d| !d.nodes.is_empty()));
    }
}
