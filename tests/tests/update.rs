//! A software update reaches a terminal through its uplink: the registry's
//! roll-out names a bundle for `rig-01`, the heartbeat's answer offers it,
//! and the uplink fetches it in ranges between registrations, across
//! connections cut in the middle of a range (the fault proxy), keeping what
//! came; the finished bundle matches its SHA-256 and is ready to install,
//! and a registration sealed meanwhile is sent as usual.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::bail;
use kiosk_e2e::fault_proxy::{Fault, FaultProxy};
use kiosk_e2e::rig::Rig;
use kiosk_e2e::RIG_TOKEN;
use kiosk_queue::test_utils::specimen_upload;
use kiosk_uplink::{UpdateSlot, Uplink};
use registry_api::UpdateState;

fn wait(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    while !done() {
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

#[test]
fn a_bundle_is_fetched_across_cut_connections_resumed_checked_and_registrations_go_first(
) -> anyhow::Result<()> {
    let rig = Rig::start()?;
    // 12 MiB and a bit: two ranges, the first cut several times.
    let bundle: Vec<u8> = (0..(12u32 << 20) + 999)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let file = rig.dir.path().join("kiosk-9.9.9.raucb");
    std::fs::write(&file, &bundle)?;
    let db = rig.dir.path().join("registry.db");
    let rec = registry::add_update_bundle(db.clone(), "9.9.9", &file)?;
    registry::add_update_rollout(db, "9.9.9", Some("rig-01"), None)?;

    let proxy = FaultProxy::start(rig.registry_addr)?;
    proxy.set(Fault::CloseMidBodyOn("/v1/updates/"));
    let update_dir = rig.dir.path().join("update");
    let slot = UpdateSlot::new(&update_dir, env!("CARGO_PKG_VERSION"))?;
    let mut cfg = rig.uplink_config(&proxy.url())?;
    cfg.token = RIG_TOKEN.into();
    cfg.heartbeat_interval = Duration::from_millis(200);
    cfg.updates = slot.clone();
    let (tx, _rx) = mpsc::channel();
    let uplink = Uplink::spawn(rig.queue_path.clone(), cfg, tx)?;

    // Offered, and cut mid-range: what came is kept.
    let part = update_dir.join(format!("{}.part", rec.sha256));
    wait("a cut fetch", Duration::from_secs(30), || {
        proxy.served(Fault::CloseMidBodyOn("/v1/updates/")) >= 3
    })?;
    assert_eq!(
        slot.report().map(|r| r.state),
        Some(UpdateState::Downloading)
    );
    let kept = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    assert!(kept > 0, "nothing kept from the cut ranges");
    assert!(slot.ready().is_none());

    // A registration sealed now is sent while the bundle is still coming.
    let queue = rig.queue()?;
    queue.seal(&specimen_upload(1))?;
    uplink.wake();
    rig.wait_drained(1, Duration::from_secs(30))?;

    // The link heals: the fetch resumes and completes.
    proxy.set(Fault::Pass);
    wait("the bundle", Duration::from_secs(60), || {
        slot.ready().is_some()
    })?;
    let (version, ready) = slot.ready().expect("ready");
    assert_eq!(version, "9.9.9");
    assert!(std::fs::read(&ready)? == bundle, "the bundle differs");
    assert_eq!(slot.report().map(|r| r.state), Some(UpdateState::Ready));
    assert!(!part.exists());
    let ranges = proxy
        .requests()
        .iter()
        .filter(|r| r.contains("/v1/updates/"))
        .count();
    // Three or more cut ranges, each resumed from what it kept, then the rest.
    assert!(ranges >= 5, "{ranges} range requests");
    drop(uplink);
    rig.assert_exactly_once(1)?;
    Ok(())
}
