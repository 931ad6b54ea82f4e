//! The queue's file system is below the disk-space floor (injected through the
//! configured floor): a new visit is refused at once with a clear message,
//! nothing is stored, and what was queued before is still sent. (The check at
//! sealing itself, for a disk that fills during a visit, is tested in
//! `kiosk-queue`.)

use std::time::{Duration, Instant};

use intake::{Event, Screen};
use kiosk_e2e::{Harness, Options, RegistryReader};
use kiosk_idcard::sim::SimCard;

#[test]
fn below_the_floor_intake_is_refused_clearly_and_the_queue_stays_intact() -> anyhow::Result<()> {
    // A normal visit, queued while the registry is down.
    let mut h = Harness::start(Options {
        registry_up: false,
        ..Options::default()
    })?;
    let first = h.visit(SimCard::specimen(), "land", 1)?;
    h.finish()?;

    // The terminal restarts and its disk is now "full" (a floor no disk meets):
    // a new visit is refused at once, with a message saying why.
    h.restart_controller(|cfg| cfg.queue.min_free_mb = u64::MAX / (1024 * 1024))?;
    let long = Duration::from_secs(60);
    h.wait_for("welcome", long, |v| v.screen == Some(Screen::Welcome))?;
    h.reader.control.insert(SimCard::specimen());
    h.press(Event::Start);
    let v = h.wait_for("refusal", long, |v| v.screen == Some(Screen::Fault))?;
    assert!(v.message.contains("存储空间不足"), "{}", v.message);
    assert!(
        v.person_name.is_empty(),
        "no personal data is shown after the refusal"
    );

    let q = kiosk_queue::Queue::open(&h.cfg.queue.path)?;
    let c = q.counts()?;
    assert_eq!(
        c.pending + c.uploading,
        1,
        "only the first registration is queued: {c:?}"
    );
    // The registry comes back: the earlier registration is still delivered, once.
    h.start_registry()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while q.counts()?.acknowledged < 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let r = q.receipt(&first.receipt.local_ref)?;
    assert!(
        r.and_then(|r| r.case_number).is_some(),
        "the queued registration was not delivered"
    );
    assert_eq!(
        RegistryReader::new(h.registry_addr)?.registration_count()?,
        1
    );
    h.press(Event::Done);
    Ok(())
}
