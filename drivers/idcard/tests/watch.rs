//! The reader loop ([`kiosk_idcard::watch`]) over the simulator: one read
//! per placement, removal, a failure reported once and then recovered, and
//! unplug/replug reported and survived.

#![cfg(unix)]

use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use kiosk_idcard::sim::{self, SimCard, SimFault};
use kiosk_idcard::watch::{watch, Opener, ReaderEvent, WatchConfig};
use kiosk_idcard::{IdCardReader, SerialReader};

fn opener(path: PathBuf) -> Opener {
    Box::new(move || {
        let r = SerialReader::open(&path, 115_200, Duration::from_millis(400))?;
        Ok(Box::new(r) as Box<dyn IdCardReader>)
    })
}

fn cfg() -> WatchConfig {
    WatchConfig {
        poll_interval: Duration::from_millis(20),
        removal_debounce: 2,
        backoff_initial: Duration::from_millis(50),
        backoff_max: Duration::from_millis(400),
    }
}

/// The next event that is not `CardPresent`, within `within`.
fn next(rx: &Receiver<ReaderEvent>, within: Duration) -> ReaderEvent {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(ReaderEvent::CardPresent) => continue,
            Ok(ev) => return ev,
            Err(e) => panic!("no event within {within:?}: {e}"),
        }
    }
}

fn quiet(rx: &Receiver<ReaderEvent>, for_: Duration) {
    if let Ok(ev) = rx.recv_timeout(for_) {
        panic!("unexpected event {ev:?}");
    }
}

#[test]
fn one_read_per_placement_then_removed() {
    let (_sim, control, path) = sim::spawn().unwrap();
    control.set_baud(None);
    let (tx, rx) = channel();
    let _w = watch(opener(path), cfg(), tx).unwrap();
    assert!(matches!(
        next(&rx, Duration::from_secs(2)),
        ReaderEvent::Connected
    ));
    control.insert(SimCard::specimen());
    match next(&rx, Duration::from_secs(2)) {
        ReaderEvent::IdentityRead(id) => assert_eq!(id.text.name.expose(), "测试样例"),
        other => panic!("{other:?}"),
    }
    // The card stays: many polls, no second read.
    quiet(&rx, Duration::from_millis(400));
    assert_eq!(control.reads_served(), 1);
    control.remove();
    assert!(matches!(
        next(&rx, Duration::from_secs(1)),
        ReaderEvent::CardRemoved
    ));
    control.insert(SimCard::hmt_permit());
    assert!(matches!(
        next(&rx, Duration::from_secs(2)),
        ReaderEvent::IdentityRead(_)
    ));
    assert_eq!(control.reads_served(), 2);
}

#[test]
fn a_failed_read_is_reported_once_and_the_next_read_works() {
    let (_sim, control, path) = sim::spawn().unwrap();
    control.set_baud(None);
    let (tx, rx) = channel();
    let w = watch(opener(path), cfg(), tx).unwrap();
    assert!(matches!(
        next(&rx, Duration::from_secs(2)),
        ReaderEvent::Connected
    ));
    w.set_active(false);
    control.insert(SimCard::specimen());
    control.inject_fault_after(2, SimFault::BadChecksum);
    w.set_active(true);
    assert!(matches!(
        next(&rx, Duration::from_secs(2)),
        ReaderEvent::ReadFailed(_)
    ));
    match next(&rx, Duration::from_secs(2)) {
        ReaderEvent::IdentityRead(id) => assert_eq!(id.text.name.expose(), "测试样例"),
        other => panic!("{other:?}"),
    }
    // Rearmed: the same card is read again for a new session.
    w.rearm();
    assert!(matches!(
        next(&rx, Duration::from_secs(2)),
        ReaderEvent::IdentityRead(_)
    ));
}

#[test]
fn unplug_is_reported_within_two_seconds_and_replug_recovers() {
    let (_sim, control, path) = sim::spawn().unwrap();
    control.set_baud(None);
    let (tx, rx) = channel();
    let _w = watch(opener(path), cfg(), tx).unwrap();
    assert!(matches!(
        next(&rx, Duration::from_secs(2)),
        ReaderEvent::Connected
    ));
    control.insert(SimCard::specimen());
    assert!(matches!(
        next(&rx, Duration::from_secs(2)),
        ReaderEvent::IdentityRead(_)
    ));

    let unplugged = Instant::now();
    control.unplug();
    match next(&rx, Duration::from_secs(2)) {
        ReaderEvent::Disconnected(e) => assert_eq!(e.to_string(), "reader disconnected"),
        other => panic!("{other:?}"),
    }
    assert!(unplugged.elapsed() < Duration::from_secs(2));
    // Reopen attempts keep failing quietly (reported once).
    quiet(&rx, Duration::from_millis(600));

    control.replug();
    assert!(matches!(
        next(&rx, Duration::from_secs(2)),
        ReaderEvent::Connected
    ));
    // The card still lies there: it is read again after the reconnect.
    match next(&rx, Duration::from_secs(2)) {
        ReaderEvent::IdentityRead(id) => assert_eq!(id.text.name.expose(), "测试样例"),
        other => panic!("{other:?}"),
    }
}
