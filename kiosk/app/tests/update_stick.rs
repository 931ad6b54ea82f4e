//! A software update from a USB stick, end to end without a VM: real
//! bundles (`image-build/update-key.sh`, `make-bundle.sh`, `mksquashfs`),
//! checked by the real `rauc` under the terminal's `rauc/system.conf`, staged
//! by the real `kiosk update stage` (as kiosk-update-usb@.service runs it,
//! from a file since this kernel has no vfat), shown on the real technician
//! screen (controller and Slint window, testing backend) after the
//! technician PIN, confirmed there, and installed by `kiosk update apply`
//! (as kiosk-update-apply.service runs it) with a recording install command.
//! Bundles signed under another key, of the running version, or behind a
//! link are refused at the stick and nothing is staged; a confirmation from
//! anywhere but the technician screen, or naming another bundle, installs
//! nothing; a refused install is shown and the terminal stays in service.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use kiosk::update_stick::StagedUpdate;
use kiosk::{devices, Config};
use kiosk_privacy::StaffPin;
use kiosk_ui::{Intake, Screen};
use slint::ComponentHandle;

mod common;
use common::{press, pump, wait};

const TECHNICIAN_PIN: &str = "135790";

fn image_build() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../image-build")
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("run");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn kiosk(config: &Path, args: &[&str]) -> (bool, String) {
    run(Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("RUST_LOG", "warn"))
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A bundle of `version` signed with the key in `keys`.
fn bundle(dir: &Path, root: &Path, version: &str, keys: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    let (ok, text) = run(Command::new(image_build().join("make-bundle.sh"))
        .arg(root)
        .arg(version)
        .arg(keys)
        .arg(&out));
    assert!(ok, "{text}");
    out
}

#[test]
fn a_stick_update_is_checked_staged_confirmed_on_the_technician_screen_and_installed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ours, theirs) = (d.join("ours"), d.join("theirs"));
    for (keys, county) in [(&ours, "Test county"), (&theirs, "Other county")] {
        let (ok, text) = run(Command::new(image_build().join("update-key.sh"))
            .arg(keys)
            .arg(county));
        assert!(ok, "{text}");
    }
    // A small root: the bundles' one image.
    let tree = d.join("tree");
    std::fs::create_dir(&tree).unwrap();
    let blob: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(tree.join("kiosk"), blob).unwrap();
    let root = d.join("root.sqfs");
    let (ok, text) = run(Command::new("mksquashfs")
        .arg(&tree)
        .arg(&root)
        .args(["-quiet", "-noappend"]));
    assert!(ok, "{text}");
    let sticks = d.join("sticks");
    std::fs::create_dir(&sticks).unwrap();
    let good = bundle(&sticks, &root, "9.9.9", &ours, "kiosk-9.9.9.raucb");
    let foreign = bundle(&sticks, &root, "9.9.9", &theirs, "foreign.raucb");
    let running = bundle(
        &sticks,
        &root,
        env!("CARGO_PKG_VERSION"),
        &ours,
        "same.raucb",
    );
    let link = sticks.join("link.raucb");
    std::os::unix::fs::symlink(&good, &link).unwrap();

    // The terminal's RAUC configuration, its keyring pointed at ours.
    let conf = std::fs::read_to_string(image_build().join("rauc/system.conf"))
        .unwrap()
        .replace(
            "path=/usr/share/kiosk/update-keyring.pem",
            &format!("path={}", ours.join("keyring.pem").display()),
        );
    let rauc_conf = d.join("system.conf");
    std::fs::write(&rauc_conf, conf).unwrap();

    // The terminal's configuration: what both root commands read.
    let (pending, confirm, update_dir) = (
        d.join("pending"),
        d.join("update-confirm"),
        d.join("update"),
    );
    let installed = d.join("installed");
    std::fs::create_dir(&update_dir).unwrap();
    let install_script = d.join("install.sh");
    std::fs::write(
        &install_script,
        format!(
            "#!/bin/sh\n[ -e {fail} ] && {{ echo 'signature verification failed' >&2; exit 1; }}\nsha256sum \"$1\" > {out}\n",
            fail = d.join("refuse").display(),
            out = installed.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &install_script,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let config = d.join("kiosk.toml");
    std::fs::write(
        &config,
        format!(
            "[queue]\npath = \"{q}\"\n[update]\ndir = \"{u}\"\nstick_pending_dir = \"{p}\"\nstick_confirm_file = \"{c}\"\n\
             install_command = [\"{i}\"]\nreboot_command = [\"touch\", \"{r}\"]\n",
            q = d.join("queue.db").display(),
            u = update_dir.display(),
            p = pending.display(),
            c = confirm.display(),
            i = install_script.display(),
            r = d.join("reboot-requested").display(),
        ),
    )
    .unwrap();
    let stage = |bundle: &Path| {
        kiosk(
            &config,
            &["update", "stage", s(bundle), "--rauc-conf", s(&rauc_conf)],
        )
    };

    // Refused at the stick, with the reason, and nothing staged.
    for (bundle, reason) in [
        (&foreign, "signature"),
        (&running, "runs already"),
        (&link, "not a plain file"),
    ] {
        let (ok, out) = stage(bundle);
        assert!(!ok && out.contains(reason), "{}: {out}", bundle.display());
        assert_eq!(StagedUpdate::read(&pending).unwrap(), None, "{out}");
    }
    // The county's bundle is staged.
    let (ok, out) = stage(&good);
    assert!(ok && out.contains("staged 9.9.9"), "{out}");
    let staged = StagedUpdate::read(&pending).unwrap().expect("a summary");
    assert_eq!(staged.version, "9.9.9");
    assert!(staged.signer.contains("Test county"), "{}", staged.signer);
    // Nothing confirmed yet: apply installs nothing.
    let (ok, out) = kiosk(&config, &["update", "apply"]);
    assert!(!ok, "{out}");
    assert!(!installed.exists());

    // The terminal, with its technician PIN.
    let mut cfg = Config::default();
    cfg.terminal.id = "upd-01".into();
    cfg.queue.path = d.join("queue.db");
    cfg.queue.min_free_mb = 1;
    cfg.registry.url = "http://127.0.0.1:9".into();
    cfg.registry.token_file = d.join("token");
    std::fs::write(&cfg.registry.token_file, "upd-test-token\n").unwrap();
    cfg.camera.image_sequence = Some(devices::sample_pages());
    cfg.staff.technician_pin_hash = kiosk::staff::hash_pin(&StaffPin::new(TECHNICIAN_PIN)).unwrap();
    cfg.update.dir = update_dir.clone();
    cfg.update.stick_pending_dir = pending.clone();
    cfg.update.stick_confirm_file = confirm.clone();
    cfg.provision_local_keys(d).unwrap();
    let _reader = devices::simulate_reader(&mut cfg).unwrap();
    let _printer = devices::simulate_printer(&mut cfg).unwrap();

    let app = common::window();
    let (sink, updates) = common::sink();
    let _controller = common::start(&app, &cfg, sink);
    let g = app.global::<Intake>();
    wait(&app, &updates, "the welcome screen", |a| {
        a.global::<Intake>().get_screen() == Screen::Welcome
    });
    let log_in = || {
        g.invoke_staff_entry();
        wait(&app, &updates, "the PIN screen", |a| {
            a.global::<Intake>().get_screen() == Screen::StaffLogin
        });
        g.invoke_staff_pin(TECHNICIAN_PIN.into());
        wait(
            &app,
            &updates,
            "the staged update on the technician screen",
            |a| {
                let g = a.global::<Intake>();
                g.get_screen() == Screen::Technician && g.get_technician().update_pending
            },
        );
    };
    // Seen on the technician screen, then left: a confirmation from the
    // welcome screen is ignored, even naming the bundle.
    log_in();
    press(&app, "返回");
    wait(&app, &updates, "the welcome screen again", |a| {
        a.global::<Intake>().get_screen() == Screen::Welcome
    });
    g.invoke_confirm_update(staged.sha256.as_str().into());
    std::thread::sleep(Duration::from_millis(600));
    pump(&app, &updates);
    assert!(!confirm.exists(), "confirmed from the welcome screen");

    log_in();
    let t = g.get_technician();
    assert_eq!(t.update_sha256.as_str(), staged.sha256);
    assert!(
        t.update_about.contains("版本 9.9.9（现为 ") && t.update_about.contains("Test county"),
        "{}",
        t.update_about
    );
    // Another bundle's hash is not what the screen showed: ignored.
    g.invoke_confirm_update("ab".repeat(32).as_str().into());
    std::thread::sleep(Duration::from_millis(600));
    pump(&app, &updates);
    assert!(!confirm.exists(), "confirmed a bundle not on the screen");

    press(&app, "确认安装更新");
    wait(&app, &updates, "the confirmation", |a| {
        a.global::<Intake>().get_technician().update_confirmed
    });
    let written = std::fs::read_to_string(&confirm).expect("the confirmation file");
    assert_eq!(written.trim(), staged.sha256);
    assert!(!installed.exists(), "confirmed, not installed by the kiosk");

    // The technician leaves: the terminal shows that it updates, no visit starts.
    press(&app, "返回");
    wait(&app, &updates, "the updating notice", |a| {
        a.global::<Intake>().get_screen() == Screen::Fault
    });

    // The root side: first a refused install (RAUC says no) is written for
    // the screen, the terminal is back in service, and nothing is recorded.
    std::fs::write(d.join("refuse"), b"").unwrap();
    let (ok, out) = kiosk(&config, &["update", "apply"]);
    assert!(
        !ok && out.contains("signature verification failed"),
        "{out}"
    );
    assert!(!confirm.exists(), "the confirmation is used up");
    let failed = StagedUpdate::read(&pending).unwrap().expect("the summary");
    assert!(failed.failed.is_some());
    assert!(!update_dir.join("installing.json").exists());
    wait(&app, &updates, "the terminal back in service", |a| {
        a.global::<Intake>().get_screen() == Screen::Welcome
    });

    // A fresh stick, confirmed, installed: the bundle the screen showed,
    // recorded for the next start, and the reboot asked for.
    std::fs::remove_file(d.join("refuse")).unwrap();
    let (ok, out) = stage(&good);
    assert!(ok, "{out}");
    kiosk::provisioning::write_confirmation(&confirm, &staged.sha256).unwrap();
    let (ok, out) = kiosk(&config, &["update", "apply"]);
    assert!(ok, "{out}");
    let record = std::fs::read_to_string(&installed).expect("installed");
    assert!(record.starts_with(&staged.sha256), "{record}");
    let marker = std::fs::read_to_string(update_dir.join("installing.json")).unwrap();
    assert!(marker.contains("\"target\":\"9.9.9\""), "{marker}");
    assert!(d.join("reboot-requested").exists());
    assert!(
        !pending.join("bundle.raucb").exists(),
        "the copy is removed once installed"
    );
    // The next start still runs the old version: it fell back, and says so.
    let slot = kiosk_uplink::UpdateSlot::new(&update_dir, env!("CARGO_PKG_VERSION")).unwrap();
    let report = slot.report().expect("a report");
    assert_eq!(report.target_version, "9.9.9");
    assert_eq!(report.state, registry_api::UpdateState::FellBack);
}
