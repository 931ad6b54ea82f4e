//! The udev rules against recorded device properties, with the real `udevadm`.
//!
//! Needs root (a private mount namespace) and the `udev` package; CI has both.

use appliance_tests::{load_devices, repo_root, udevadm_test, TEST_KIOSK_GID};

#[test]
fn rules_name_every_recorded_device_as_expected() {
    let root = repo_root();
    let rules = vec![root.join("udev/70-kiosk.rules")];
    let devices = load_devices(&root.join("udev/tests/devices.toml")).expect("load devices.toml");
    let mut failures = Vec::new();
    for dev in &devices {
        let out = match udevadm_test(&rules, dev) {
            Ok(o) => o,
            Err(e) => panic!("udevadm could not test {}: {e}", dev.name),
        };
        let kiosk_links: Vec<String> = out.links().into_iter().filter(|l| l.starts_with("kiosk/")).collect();
        if dev.link.is_empty() {
            if !kiosk_links.is_empty() || out.group.is_some() || out.mode.is_some() {
                failures.push(format!("{}: expected no kiosk name, got {kiosk_links:?} {:?} {:?}", dev.name, out.group, out.mode));
            }
            continue;
        }
        if kiosk_links != vec![dev.link.clone()] {
            failures.push(format!("{}: expected /dev/{}, got {kiosk_links:?}", dev.name, dev.link));
        }
        if out.group.as_deref() != Some(TEST_KIOSK_GID.to_string().as_str()) {
            failures.push(format!("{}: group {:?}, expected kiosk ({TEST_KIOSK_GID})", dev.name, out.group));
        }
        if out.mode.as_deref() != Some("0660") {
            failures.push(format!("{}: mode {:?}, expected 0660", dev.name, out.mode));
        }
        let role = dev.link.trim_start_matches("kiosk/");
        if out.properties.get("KIOSK_DEVICE").map(String::as_str) != Some(role) {
            failures.push(format!("{}: KIOSK_DEVICE {:?}, expected {role}", dev.name, out.properties.get("KIOSK_DEVICE")));
        }
    }
    assert!(failures.is_empty(), "udev rule mismatches:\n{}", failures.join("\n"));
}

#[test]
fn no_rule_makes_a_node_world_accessible() {
    let text = std::fs::read_to_string(repo_root().join("udev/70-kiosk.rules")).expect("read rules");
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.starts_with('#') {
            continue;
        }
        if let Some(pos) = line.find("MODE=\"") {
            let mode = &line[pos + 6..pos + 10];
            let other = mode.chars().last().unwrap_or('7');
            assert_eq!(other, '0', "line {}: mode {mode} gives others access", n + 1);
        }
    }
}
