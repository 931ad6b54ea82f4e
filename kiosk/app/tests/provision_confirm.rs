//! Signed provisioning on a provisioned terminal, end to end: the real
//! `kiosk` binary (as the root units run it) installs a first signed file,
//! only stages the second one from a "stick", the real controller and Slint
//! window (testing backend, simulators) show what it would change on the
//! technician screen after the technician PIN, the press on "确认更新配置"
//! writes the confirmation, and `kiosk provision apply` installs it.
//! Nothing changes before that press.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use kiosk::{devices, Config};
use kiosk_privacy::StaffPin;
use kiosk_ui::{AppWindow, Intake, Screen};
use slint::{ComponentHandle, Model};

mod common;
use common::{press, pump, wait};

const TECHNICIAN_PIN: &str = "135790";

/// Runs the real binary; returns (success, stdout + stderr).
fn kiosk(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run kiosk");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("ls")
        .flatten()
        .map(|e| (e.path(), std::fs::read(e.path()).expect("read")))
        .collect()
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    format!("-----BEGIN {label}-----\n{b64}\n-----END {label}-----\n")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn a_stick_on_a_provisioned_terminal_waits_for_the_technicians_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (keys, target, pending) = (d.join("keys"), d.join("etc-kiosk"), d.join("pending"));
    let confirm = d.join("provision-confirm");
    std::fs::create_dir(&keys).unwrap();

    // The deployment's key pair, and what a provisioning file is made of.
    let (ok, out) = kiosk(&["provision", "keygen", "--out", s(&keys)]);
    assert!(ok, "{out}");
    let public = keys.join("provisioning.pub");
    std::fs::write(d.join("token"), "tok-0123456789abcdef\n").unwrap();
    std::fs::write(
        d.join("ca.pem"),
        pem("CERTIFICATE", &[0x30, 0x03, 0x02, 0x01, 0x01]),
    )
    .unwrap();
    std::fs::write(
        d.join("client.pem"),
        pem("CERTIFICATE", &[0x30, 0x03, 0x02, 0x01, 0x03]),
    )
    .unwrap();
    std::fs::write(
        d.join("client.key"),
        pem("PRIVATE KEY", &[0x30, 0x03, 0x02, 0x01, 0x04]),
    )
    .unwrap();
    let seal_files = Config::default()
        .provision_local_keys(&d.join("registry"))
        .unwrap();
    let make = |hall: &str, serial: &str, out: &Path| {
        let (ok, text) = kiosk(&[
            "provision",
            "make",
            "--terminal-id",
            "hall-0815",
            "--hall-name",
            hall,
            "--registry-url",
            "http://127.0.0.1:9",
            "--token-file",
            s(&d.join("token")),
            "--registry-ca",
            s(&d.join("ca.pem")),
            "--registry-public-key",
            s(&seal_files.seal_public),
            "--client-cert",
            s(&d.join("client.pem")),
            "--client-key",
            s(&d.join("client.key")),
            "--signing-key",
            s(&keys.join("provisioning.key")),
            "--serial",
            serial,
            "--out",
            s(out),
        ]);
        assert!(ok, "{text}");
    };
    let (first, second) = (d.join("first.toml"), d.join("second.toml"));
    make("东岭镇便民服务中心", "100", &first);
    make("西坡乡便民服务中心", "200", &second);
    let places = [
        "--target",
        s(&target),
        "--public-key",
        s(&public),
        "--pending-dir",
        s(&pending),
    ];
    let install = |file: &Path| {
        kiosk(
            &[
                &["provision", "install", s(file), "--confirm-on-screen"],
                &places[..],
            ]
            .concat(),
        )
    };

    // An unprovisioned terminal installs the first stick directly.
    let (ok, out) = install(&first);
    assert!(ok && out.contains("now serves 东岭镇便民服务中心"), "{out}");
    let installed = snapshot(&target);
    // On a provisioned one the second is only staged.
    let (ok, out) = install(&second);
    assert!(ok && out.contains("staged for confirmation"), "{out}");
    assert_eq!(
        snapshot(&target),
        installed,
        "staging changed the configuration"
    );
    // Nothing confirmed yet: apply refuses and changes nothing.
    let apply = || {
        kiosk(
            &[
                &["provision", "apply", "--confirm-file", s(&confirm)],
                &places[..],
            ]
            .concat(),
        )
    };
    let (ok, out) = apply();
    assert!(!ok, "{out}");
    assert_eq!(snapshot(&target), installed);

    // The terminal, with its technician PIN, on the provisioned configuration.
    let mut cfg = Config::load(&target.join("kiosk.toml")).unwrap();
    cfg.registry.token_file = d.join("token");
    cfg.queue.path = d.join("queue.db");
    cfg.queue.min_free_mb = 1;
    cfg.camera.image_sequence = Some(devices::sample_pages());
    cfg.staff.technician_pin_hash = kiosk::staff::hash_pin(&StaffPin::new(TECHNICIAN_PIN)).unwrap();
    cfg.technician.provision_pending_dir = pending.clone();
    cfg.technician.provision_confirm_file = confirm.clone();
    let _reader = devices::simulate_reader(&mut cfg).unwrap();
    let _printer = devices::simulate_printer(&mut cfg).unwrap();

    let app = common::window();
    let (sink, updates) = common::sink();
    let controller = common::start(&app, &cfg, sink);
    let g = app.global::<Intake>();
    wait(&app, &updates, "the welcome screen", |a| {
        a.global::<Intake>().get_screen() == Screen::Welcome
    });

    // A confirmation from anywhere but the technician screen is ignored,
    // even naming the right file.
    let summary = kiosk::provisioning::PendingSummary::read(&pending)
        .unwrap()
        .unwrap();
    let confirm_from_elsewhere = |when: &str| {
        g.invoke_confirm_provisioning(summary.sha256.as_str().into());
        std::thread::sleep(Duration::from_millis(600));
        pump(&app, &updates);
        assert!(!confirm.exists(), "confirmed {when}");
    };
    confirm_from_elsewhere("before the technician PIN");
    let log_in = || {
        g.invoke_staff_entry();
        wait(&app, &updates, "the PIN screen", |a| {
            a.global::<Intake>().get_screen() == Screen::StaffLogin
        });
        g.invoke_staff_pin(TECHNICIAN_PIN.into());
        wait(
            &app,
            &updates,
            "the staged file on the technician screen",
            |a| {
                let g = a.global::<Intake>();
                g.get_screen() == Screen::Technician && g.get_technician().provision_pending
            },
        );
    };
    // Seen on the technician screen, then left: a confirmation now is ignored too.
    log_in();
    press(&app, "返回");
    wait(&app, &updates, "the welcome screen again", |a| {
        a.global::<Intake>().get_screen() == Screen::Welcome
    });
    confirm_from_elsewhere("after the technician left the screen");

    // The technician logs in with the PIN and sees what would change.
    log_in();
    let t = g.get_technician();
    assert_eq!(t.provision_sha256.as_str(), summary.sha256);
    assert!(
        t.provision_about.contains("编号 200（现为 100）"),
        "{}",
        t.provision_about
    );
    let rows: Vec<_> = t.provision_rows.iter().collect();
    let hall = rows
        .iter()
        .find(|r| r.label == "服务大厅")
        .expect("hall row");
    assert!(hall.changed && hall.old == "东岭镇便民服务中心" && hall.new == "西坡乡便民服务中心");
    let id = rows.iter().find(|r| r.label == "终端编号").expect("id row");
    assert!(!id.changed);
    assert!(rows
        .iter()
        .any(|r| r.label == "封存公钥" && !r.changed && r.new.len() == 19));
    assert_eq!(snapshot(&target), installed, "shown, not installed");
    if let Ok(out) = std::env::var("KIOSK_SCREEN_PNG") {
        save_png(&app, Path::new(&out));
    }

    // "确认更新配置" writes the confirmation; still nothing installed.
    press(&app, "确认更新配置");
    wait(&app, &updates, "the confirmation", |a| {
        a.global::<Intake>().get_technician().provision_confirmed
    });
    let written = std::fs::read_to_string(&confirm).expect("the confirmation file");
    assert_eq!(written.trim(), summary.sha256);
    assert!(g.get_technician().notice.contains("已确认"));
    assert_eq!(snapshot(&target), installed);

    // The root side installs it (as kiosk-provision-apply.service does).
    let (ok, out) = apply();
    assert!(ok && out.contains("now serves 西坡乡便民服务中心"), "{out}");
    let cfg = Config::load(&target.join("kiosk.toml")).unwrap();
    assert_eq!(cfg.terminal.hall_name, "西坡乡便民服务中心");
    assert!(!confirm.exists() && !pending.join("provision.toml").exists());
    wait(&app, &updates, "the panel gone once installed", |a| {
        !a.global::<Intake>().get_technician().provision_pending
    });
    // The first file is now a replay: refused, and nothing is staged.
    let now = snapshot(&target);
    let (ok, out) = install(&first);
    assert!(!ok && out.contains("older than the installed one"), "{out}");
    assert_eq!(snapshot(&target), now);
    assert!(kiosk::provisioning::PendingSummary::read(&pending)
        .unwrap()
        .is_none());
    controller.shutdown();
}

/// The window as a PNG, to look at the screen (`KIOSK_SCREEN_PNG=/tmp/x.png`).
fn save_png(app: &AppWindow, path: &Path) {
    let shot = app.window().take_snapshot().expect("snapshot");
    let file = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut encoder = png::Encoder::new(file, shot.width(), shot.height());
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("png header");
    writer.write_image_data(shot.as_bytes()).expect("png data");
}
