//! The uplink against the real registry behind a fault-injecting proxy: 500s,
//! bytes that are not HTTP, a body that is not JSON, a captive portal's page,
//! connections closed halfway through the answer (after the registry stored
//! the upload), answers slower than the client's timeout, refused connections
//! and the registry stopped for a while; a slow, lossy link; and a connection
//! cut after a page, from which the upload resumes without resending what the
//! registry has. Nothing is lost, nothing is doubled, and the queue drains.
//! The common case is one request per registration; a registration whose
//! pages the queue cannot supply fails with its reason and blocks nobody.

use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context as _;
use kiosk_e2e::fault_proxy::{Fault, FaultProxy};
use kiosk_e2e::netns::{ShapedLink, Shaping};
use kiosk_e2e::rig::Rig;
use kiosk_privacy::PersonalText;
use kiosk_queue::test_utils::specimen_upload;
use kiosk_uplink::{Uplink, UplinkEvent};
use registry_api::PageUpload;

const N: u32 = 40;

#[test]
fn every_fault_ends_with_each_registration_stored_exactly_once() -> anyhow::Result<()> {
    let mut rig = Rig::start()?;
    let proxy = FaultProxy::start(rig.registry_addr)?;
    let queue = rig.queue()?;
    let (tx, rx) = mpsc::channel();
    let uplink = Uplink::spawn(rig.queue_path.clone(), rig.uplink_config(&proxy.url())?, tx)?;

    let faults = [
        Fault::Status500,
        Fault::Garbage,
        Fault::GarbageBody,
        Fault::Portal,
        Fault::Refuse,
        Fault::CloseMidBody,
        // The answer to the last page, which completed the registration, is lost.
        Fault::CloseMidBodyOn("/pages/2 "),
        Fault::Slow(Duration::from_millis(2500)),
    ];
    let per_fault = N / (faults.len() as u32 + 1);
    let mut n = 0;
    for fault in faults {
        proxy.set(fault);
        // Seal a few while the fault holds, so each one meets it.
        for _ in 0..per_fault {
            n += 1;
            queue.seal(&specimen_upload(n))?;
            uplink.wake();
        }
        std::thread::sleep(Duration::from_millis(700));
        assert!(proxy.served(fault) > 0, "{fault:?} was never exercised");
        let c = queue.counts()?;
        assert_eq!(
            c.failed, 0,
            "a transient fault failed a registration: {c:?}"
        );
    }
    // The registry itself goes away for a while.
    proxy.set(Fault::Pass);
    rig.stop_registry();
    while n < N {
        n += 1;
        queue.seal(&specimen_upload(n))?;
        uplink.wake();
    }
    std::thread::sleep(Duration::from_millis(800));
    rig.start_registry()?;
    uplink.wake();

    rig.wait_drained(u64::from(N), Duration::from_secs(60))?;
    drop(uplink);
    rig.assert_exactly_once(N)?;

    // Answers lost after the registry stored them came back as replays, not new cases.
    let events: Vec<UplinkEvent> = rx.try_iter().collect();
    let replays = events
        .iter()
        .filter(|e| matches!(e, UplinkEvent::Acknowledged { replayed: true, .. }))
        .count();
    assert!(
        replays > 0,
        "no replayed acknowledgement after answers were cut"
    );
    assert!(!events
        .iter()
        .any(|e| matches!(e, UplinkEvent::Failed { .. })));
    // Heartbeats reached the registry.
    let hb = registry_heartbeats(&rig)?;
    assert!(hb.contains("rig-01"), "{hb}");
    Ok(())
}

fn registry_heartbeats(rig: &Rig) -> anyhow::Result<String> {
    let db = rusqlite::Connection::open(rig.dir.path().join("registry.db"))?;
    let ids: Vec<String> = db
        .prepare("SELECT terminal_id FROM heartbeats")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(ids.join(","))
}

#[test]
fn a_connection_cut_after_page_2_of_3_resumes_with_page_3_only() -> anyhow::Result<()> {
    let rig = Rig::start()?;
    let proxy = FaultProxy::start(rig.registry_addr)?;
    let queue = rig.queue()?;
    let mut up = specimen_upload(1);
    up.pages.push(PageUpload::new(
        3,
        b"\xff\xd8SPECIMEN page three",
        PersonalText::new("第三页"),
        75.0,
    ));
    // The first attempt, one bundle, never reaches the registry (a bundle is
    // all or nothing); every retry goes page by page and can resume.
    proxy.set(Fault::Refuse);
    queue.seal(&up)?;
    let (tx, rx) = mpsc::channel();
    let mut cfg = rig.uplink_config(&proxy.url())?;
    cfg.heartbeat_interval = Duration::ZERO;
    let uplink = Uplink::spawn(rig.queue_path.clone(), cfg, tx)?;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while proxy.served(Fault::Refuse) == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        proxy.served(Fault::Refuse) > 0,
        "the bundle was never refused"
    );
    // The registry stores page 2, then the connection drops before its answer.
    proxy.set(Fault::CloseMidBodyOn("/pages/2 "));
    rig.wait_drained(1, Duration::from_secs(30))?;
    drop(uplink);
    rig.assert_exactly_once(1)?;
    assert_eq!(
        proxy.served(Fault::CloseMidBodyOn("/pages/2 ")),
        1,
        "page 2 was never cut"
    );

    let requests = proxy.requests();
    let count = |what: &str| requests.iter().filter(|r| r.starts_with(what)).count();
    let pages = format!(
        "PUT {}/{}/pages/",
        registry_api::SEALED_REGISTRATIONS_PATH,
        up.idempotency_key
    );
    let sent: Vec<usize> = (1..=3).map(|i| count(&format!("{pages}{i} "))).collect();
    assert_eq!(sent, vec![1, 1, 1], "a page was sent again: {requests:?}");
    assert_eq!(
        count(&format!(
            "POST {} ",
            registry_api::SEALED_REGISTRATIONS_PATH
        )),
        2,
        "metadata once per attempt that reached the registry: {requests:?}"
    );
    // The case was issued once, by the upload of page 3, and is not a replay.
    let events: Vec<UplinkEvent> = rx.try_iter().collect();
    let acks: Vec<bool> = events
        .iter()
        .filter_map(|e| match e {
            UplinkEvent::Acknowledged { replayed, .. } => Some(*replayed),
            _ => None,
        })
        .collect();
    assert_eq!(acks, vec![false], "{events:?}");
    let db = rusqlite::Connection::open(rig.dir.path().join("registry.db"))?;
    let pages: i64 = db.query_row("SELECT COUNT(*) FROM pages", [], |r| r.get(0))?;
    assert_eq!(pages, 3);
    Ok(())
}

#[test]
fn a_poison_registration_fails_with_its_reason_and_does_not_block_the_others() -> anyhow::Result<()>
{
    let rig = Rig::start()?;
    let queue = rig.queue()?;
    // The registry refuses this one for good (a category it cannot accept).
    let mut poison = specimen_upload(1);
    poison.category = " ".into();
    queue.seal(&poison)?;
    for n in 2..=5 {
        queue.seal(&specimen_upload(n))?;
    }
    let (tx, _rx) = mpsc::channel();
    let url = rig
        .registry
        .as_ref()
        .map(|r| r.base_url())
        .unwrap_or_default();
    let uplink = Uplink::spawn(rig.queue_path.clone(), rig.uplink_config(&url)?, tx)?;
    let q = kiosk_queue::Queue::open(&rig.queue_path)?;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while q.counts()?.acknowledged < 4 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(uplink);
    let c = q.counts()?;
    assert_eq!((c.acknowledged, c.failed, c.pending), (4, 1, 0), "{c:?}");
    let failed = q.failed_receipts()?;
    assert_eq!(failed[0].local_ref, poison.local_ref);
    let reason = failed[0].last_error.clone().unwrap_or_default();
    assert!(
        reason.contains("400") && reason.contains("category"),
        "{reason}"
    );
    Ok(())
}

/// The slow, lossy link: rate (and, with netem, loss) shaped by the kernel in
/// a network namespace this test makes and removes, with every 3rd connection
/// cut by the proxy in front. Where the kernel cannot shape (no netns, no
/// root, neither netem nor tbf), the same proxy limits the rate in user space
/// instead. Either way the test runs and prints which variant it was.
#[test]
#[allow(clippy::print_stderr)] // It says which variant of the slow link ran.
fn a_slow_lossy_link_still_drains_the_queue_exactly_once() -> anyhow::Result<()> {
    let rig = Rig::start()?;
    // 128 kbit/s = 16 KB/s, 2 % packet loss where netem exists.
    let shaped = ShapedLink::start(rig.registry_addr, 128, 2.0);
    let (upstream, bytes_per_s, variant) = match &shaped {
        Ok(link) => (
            link.addr,
            u32::MAX,
            match link.shaping {
                Shaping::NetemRateLoss => {
                    "kernel netem rate and loss in a network namespace, cuts by the proxy"
                        .to_owned()
                }
                Shaping::TbfRate => {
                    "kernel tbf rate in a network namespace (no sch_netem), cuts by the proxy"
                        .to_owned()
                }
            },
        ),
        Err(e) => (
            rig.registry_addr,
            16 * 1024,
            format!("user-space proxy rate and cuts (no kernel shaping: {e:#})"),
        ),
    };
    eprintln!("slow link variant: {variant}");
    let proxy = FaultProxy::start(upstream)?;
    proxy.set(Fault::SlowLink {
        bytes_per_s,
        cut_every: 3,
    });
    let queue = rig.queue()?;
    const M: u32 = 12;
    for n in 1..=M {
        queue.seal(&specimen_upload(n))?;
    }
    let (tx, _rx) = mpsc::channel();
    let mut cfg = rig.uplink_config(&proxy.url())?;
    cfg.request_timeout = Duration::from_secs(5);
    let uplink = Uplink::spawn(rig.queue_path.clone(), cfg, tx)?;
    rig.wait_drained(u64::from(M), Duration::from_secs(60))
        .with_context(|| format!("slow link variant: {variant}"))?;
    drop(uplink);
    rig.assert_exactly_once(M)?;
    assert!(
        proxy.cuts() >= 3,
        "only {} connections were cut ({variant})",
        proxy.cuts()
    );
    if let Ok(link) = &shaped {
        // Every upload crossed the shaped loopback: at least the sealed bytes.
        let sent = link.shaped_bytes()?;
        assert!(
            sent > 12 * 1000,
            "the shaped link carried only {sent} bytes ({variant})"
        );
    }
    Ok(())
}

#[test]
fn the_common_case_is_one_request_per_registration() -> anyhow::Result<()> {
    let rig = Rig::start()?;
    let proxy = FaultProxy::start(rig.registry_addr)?;
    let queue = rig.queue()?;
    for n in 1..=3 {
        queue.seal(&specimen_upload(n))?;
    }
    let (tx, _rx) = mpsc::channel();
    let mut cfg = rig.uplink_config(&proxy.url())?;
    cfg.heartbeat_interval = Duration::ZERO;
    let uplink = Uplink::spawn(rig.queue_path.clone(), cfg, tx)?;
    rig.wait_drained(3, Duration::from_secs(20))?;
    drop(uplink);
    rig.assert_exactly_once(3)?;
    let requests = proxy.requests();
    let post = format!("POST {} ", registry_api::SEALED_REGISTRATIONS_PATH);
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert!(
        requests.iter().all(|r| r.starts_with(&post)),
        "{requests:?}"
    );
    // Stored whole, with every page, and nothing left staged.
    let db = rusqlite::Connection::open(rig.dir.path().join("registry.db"))?;
    let pages: i64 = db.query_row("SELECT COUNT(*) FROM pages", [], |r| r.get(0))?;
    let staged: i64 = db.query_row("SELECT COUNT(*) FROM staged_uploads", [], |r| r.get(0))?;
    assert_eq!((pages, staged), (6, 0));
    Ok(())
}

#[test]
fn a_registration_whose_page_the_queue_lost_fails_and_blocks_nobody() -> anyhow::Result<()> {
    let rig = Rig::start()?;
    let queue = rig.queue()?;
    for n in 1..=4 {
        queue.seal(&specimen_upload(n))?;
    }
    // Page 2 of the oldest registration is gone from the terminal's disk.
    {
        let db = rusqlite::Connection::open(&rig.queue_path)?;
        let gone = db.execute(
            "DELETE FROM sealed_pages WHERE page_index = 2 AND registration_id =
                 (SELECT id FROM registrations WHERE local_ref = 'L-SPECIMEN-0001')",
            [],
        )?;
        assert_eq!(gone, 1);
    }
    let (tx, rx) = mpsc::channel();
    let url = rig
        .registry
        .as_ref()
        .map(|r| r.base_url())
        .unwrap_or_default();
    let uplink = Uplink::spawn(rig.queue_path.clone(), rig.uplink_config(&url)?, tx)?;
    let q = kiosk_queue::Queue::open(&rig.queue_path)?;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while q.counts()?.acknowledged < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(uplink);
    let c = q.counts()?;
    assert_eq!((c.acknowledged, c.failed, c.pending), (3, 1, 0), "{c:?}");
    let failed = q.failed_receipts()?;
    assert_eq!(failed[0].local_ref, "L-SPECIMEN-0001");
    let reason = failed[0].last_error.clone().unwrap_or_default();
    assert_eq!(
        reason,
        "registry asks for page 2, which the queue does not hold"
    );
    // Tried once: no retry can bring the page back.
    assert_eq!(failed[0].attempts, 1);
    let events: Vec<UplinkEvent> = rx.try_iter().collect();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, UplinkEvent::RetryScheduled { .. })),
        "{events:?}"
    );
    // The registry holds the three others and, staged, what it got of the fourth.
    assert_eq!(rig.registry_rows()?.len(), 3);
    let db = rusqlite::Connection::open(rig.dir.path().join("registry.db"))?;
    let staged: i64 = db.query_row("SELECT COUNT(*) FROM staged_pages", [], |r| r.get(0))?;
    assert_eq!(staged, 1);
    Ok(())
}
