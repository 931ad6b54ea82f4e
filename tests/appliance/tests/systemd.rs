//! The systemd units with `systemd-analyze verify`, and the sysusers file
//! with `systemd-sysusers --dry-run`. Needs the `systemd` package.

use std::path::PathBuf;
use std::process::Command;

use appliance_tests::{repo_root, systemd_verify, verify_root};

/// The kiosk package's units (`systemd/`) and the image's own
/// (`image-build/mkosi/mkosi.extra/usr/lib/systemd/system/`: A/B updates).
fn unit_files() -> Vec<PathBuf> {
    let dirs = [
        repo_root().join("systemd"),
        repo_root().join("image-build/mkosi/mkosi.extra/usr/lib/systemd/system"),
    ];
    let mut units: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|dir| std::fs::read_dir(dir).expect("read a unit directory"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(p.extension().and_then(|e| e.to_str()), Some("service" | "socket" | "path" | "timer" | "mount" | "target"))
        })
        .collect();
    units.sort();
    units
}

#[test]
fn every_unit_verifies_cleanly() {
    let units = unit_files();
    assert!(units.len() >= 3, "expected the kiosk units in systemd/, found {units:?}");
    assert!(
        units.iter().any(|u| u.ends_with("kiosk-boot-ok.service")),
        "the image's units are missing: {units:?}"
    );
    let root = verify_root(&units, &["kiosk", "cage", "systemctl", "rauc", "rm"]).expect("build verify root");
    let names: Vec<String> = units
        .iter()
        .map(|u| {
            let n = u.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            // A template is verified through one instance.
            n.replacen("@.", "@sdb1.", 1)
        })
        .collect();
    for name in &names {
        let (ok, output) = systemd_verify(root.path(), &[name]).expect("run systemd-analyze");
        assert!(ok && output.trim().is_empty(), "systemd-analyze verify {name}:\n{output}");
    }
}

#[test]
fn verify_catches_a_broken_unit() {
    // The check above is only worth something if verify complains at all.
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("broken.service");
    std::fs::write(&bad, "[Service]\nType=notify\nRestart=sometimes\nExecStart=/usr/bin/kiosk run\n").expect("write");
    let root = verify_root(&[bad], &["kiosk"]).expect("root");
    let (_, output) = systemd_verify(root.path(), &["broken.service"]).expect("run");
    assert!(output.contains("sometimes"), "verify did not report the bad Restart= value: {output}");
}

#[test]
fn kiosk_service_has_the_required_policy() {
    let text = std::fs::read_to_string(repo_root().join("systemd/kiosk.service")).expect("read kiosk.service");
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    for required in [
        "Type=notify",
        "Restart=always",
        "StartLimitAction=reboot",
        "StateDirectory=kiosk",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "DevicePolicy=closed",
        "Environment=OMP_THREAD_LIMIT=1",
    ] {
        assert!(lines.contains(&required), "kiosk.service lacks {required}");
    }
    assert!(lines.iter().any(|l| l.starts_with("WatchdogSec=")), "kiosk.service lacks WatchdogSec=");
}

#[test]
fn sysusers_creates_the_kiosk_user_and_group() {
    let root = tempfile::tempdir().expect("tempdir");
    let etc = root.path().join("etc");
    std::fs::create_dir_all(&etc).expect("etc");
    std::fs::write(etc.join("passwd"), "root:x:0:0:root:/root:/bin/sh\n").expect("passwd");
    std::fs::write(etc.join("group"), "root:x:0:\n").expect("group");
    let out = Command::new("systemd-sysusers")
        .arg(format!("--root={}", root.path().display()))
        .arg(repo_root().join("systemd/sysusers.d/kiosk.conf"))
        .output()
        .expect("run systemd-sysusers");
    assert!(out.status.success(), "systemd-sysusers: {}", String::from_utf8_lossy(&out.stderr));
    let passwd = std::fs::read_to_string(etc.join("passwd")).expect("passwd");
    let group = std::fs::read_to_string(etc.join("group")).expect("group");
    assert!(passwd.lines().any(|l| l.starts_with("kiosk:")), "no kiosk user in {passwd}");
    assert!(group.lines().any(|l| l.starts_with("kiosk:")), "no kiosk group in {group}");
}
