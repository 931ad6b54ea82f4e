//! `queue-bench`: 1,000 queued registrations of 3 pages drain to the real
//! registry on loopback; prints the time per registration along the drain
//! (it should stay flat as the queue empties), the time the uplink then takes
//! to purge the acknowledged payloads (it does so once it has nothing to
//! send), and the drain throughput next to plain HTTP uploads of the same
//! bytes in the same run:
//!
//! - *raw*: the same sealed bodies POSTed one after another to a sink that
//!   only reads them (the transport's ceiling);
//! - *registry, same bytes*: the same kind of sealed bundles the uplink sends
//!   (sealed by a scratch queue for fresh keys, claimed beforehand), POSTed
//!   one after another by a plain loop to the registry's sealed endpoint,
//!   which opens, checks and stores them as it does the drain's: the cost of
//!   the upload itself, so that the ratio shows what the queue and the uplink
//!   add. It runs once before and once after the drain (the machine's load
//!   may change), and the drain is compared with the faster.
//!
//! (The registry has no unsealed upload, so there is no "plain JSON" figure.)
//!
//! `cargo run --release -p kiosk-e2e --bin queue-bench [N] [page KB]`
#![allow(clippy::print_stdout)] // A benchmark: its output is the figures.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use kiosk_e2e::rig::Rig;
use kiosk_privacy::PersonalText;
use kiosk_queue::test_utils::specimen_upload;
use kiosk_uplink::{Uplink, UplinkEvent};
use registry_api::{
    PageUpload, RegistrationUpload, IDEMPOTENCY_HEADER, SEALED_BUNDLE_CONTENT_TYPE,
    SEALED_REGISTRATIONS_PATH,
};

fn registration(n: u32, page_bytes: usize, tag: &str) -> RegistrationUpload {
    let mut up = specimen_upload(n);
    up.idempotency_key = format!("{tag}-{n:08}");
    up.local_ref = format!("L-{tag}-{n:05}");
    // Incompressible "JPEG" bytes, different on every page.
    let mut state = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    up.pages = (1..=3)
        .map(|i| {
            let bytes: Vec<u8> = (0..page_bytes)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            PageUpload::new(
                i,
                &bytes,
                PersonalText::new("SPECIMEN 第一页 拖欠工资"),
                90.0,
            )
        })
        .collect();
    up
}

/// Seals `n` registrations (keys tagged `tag`) into a scratch queue, claims
/// them, and POSTs their bundles one after another to the registry's sealed
/// endpoint; returns the seconds the POSTs took.
fn plain_bundle_upload(
    rt: &tokio::runtime::Runtime,
    rig: &Rig,
    url: &str,
    n: u32,
    page_kb: usize,
    tag: &str,
) -> anyhow::Result<f64> {
    let scratch = tempfile::tempdir()?;
    let queue = kiosk_queue::Queue::open_with(
        &scratch.path().join("scratch.db"),
        rig.queue_options()?,
    )?;
    for i in 1..=n {
        queue.seal(&registration(i, page_kb * 1024, tag))?;
    }
    let mut bodies = Vec::with_capacity(n as usize);
    while let Some(c) = queue.claim_next(chrono::Utc::now())? {
        let body = registry_api::bundle::encode(
            &c.sealed,
            c.pages.iter().map(|p| (p.index, p.sealed.as_slice())),
        );
        bodies.push((c.idempotency_key, body));
    }
    anyhow::ensure!(bodies.len() == n as usize, "claimed {} of {n}", bodies.len());
    rt.block_on(async {
        let http = reqwest::Client::new();
        let t = Instant::now();
        for (key, body) in bodies {
            let res = http
                .post(format!("{url}{SEALED_REGISTRATIONS_PATH}"))
                .bearer_auth(kiosk_e2e::TOKEN)
                .header(IDEMPOTENCY_HEADER, key)
                .header(reqwest::header::CONTENT_TYPE, SEALED_BUNDLE_CONTENT_TYPE)
                .body(body)
                .send()
                .await?;
            anyhow::ensure!(
                res.status().as_u16() == 201,
                "bundle upload answered {}",
                res.status()
            );
        }
        anyhow::Ok(t.elapsed().as_secs_f64())
    })
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: u32 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1000);
    let page_kb: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(40);
    let rig = Rig::start()?;
    let queue = rig.queue()?;
    let url = rig
        .registry
        .as_ref()
        .map(|r| r.base_url())
        .context("registry")?;

    // The plain upload runs before and after the drain: the machine's load
    // may change during the run, and the drain is compared with the faster.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let bundle_before_s = plain_bundle_upload(&rt, &rig, &url, n, page_kb, "B1")?;

    let t = Instant::now();
    for i in 1..=n {
        queue.seal(&registration(i, page_kb * 1024, "Q"))?;
    }
    let seal_s = t.elapsed().as_secs_f64();
    let sealed_bytes: u64 = {
        let db = rusqlite::Connection::open(&rig.queue_path)?;
        // The metadata boxes and the page boxes: every byte the uplink sends.
        db.query_row(
            "SELECT (SELECT SUM(LENGTH(payload)) FROM registrations)
                  + (SELECT COALESCE(SUM(LENGTH(sealed)), 0) FROM sealed_pages)",
            [],
            |r| r.get::<_, i64>(0),
        )? as u64
    };
    println!("sealed {n} registrations of 3 x {page_kb} KB pages in {seal_s:.2} s ({:.1} ms each, fsync per seal)", seal_s * 1000.0 / f64::from(n));

    // Drain.
    let (tx, rx) = mpsc::channel();
    let mut cfg = rig.uplink_config(&url)?;
    cfg.heartbeat_interval = Duration::ZERO;
    cfg.request_timeout = Duration::from_secs(30);
    let t = Instant::now();
    let uplink = Uplink::spawn(rig.queue_path.clone(), cfg, tx)?;
    let mut ack_times = Vec::with_capacity(n as usize);
    while ack_times.len() < n as usize {
        match rx.recv_timeout(Duration::from_secs(60))? {
            UplinkEvent::Acknowledged { .. } => ack_times.push(t.elapsed()),
            other => anyhow::bail!("unexpected uplink event {other:?}"),
        }
    }
    let drain_s = t.elapsed().as_secs_f64();
    // With nothing left to send, the uplink purges the acknowledged payloads.
    let t = Instant::now();
    let unpurged = || -> anyhow::Result<i64> {
        let db = rusqlite::Connection::open(&rig.queue_path)?;
        Ok(db.query_row(
            "SELECT COUNT(*) FROM registrations WHERE payload IS NOT NULL",
            [],
            |r| r.get(0),
        )?)
    };
    while unpurged()? > 0 {
        anyhow::ensure!(t.elapsed() < Duration::from_secs(120), "payloads not purged");
        std::thread::sleep(Duration::from_millis(5));
    }
    let purge_s = t.elapsed().as_secs_f64();
    drop(uplink);
    let deciles = 10.min(n as usize);
    let per = ack_times.len() / deciles;
    let mut line = String::new();
    let mut prev = Duration::ZERO;
    for d in 0..deciles {
        let end = ack_times[(d + 1) * per - 1];
        line.push_str(&format!(
            " {:.1}",
            (end - prev).as_secs_f64() * 1000.0 / per as f64
        ));
        prev = end;
    }
    println!("drain: {n} registrations in {drain_s:.2} s = {:.1} ms each; ms per registration by tenth of the queue:{line}", drain_s * 1000.0 / f64::from(n));
    let drain_mbs = sealed_bytes as f64 / drain_s / 1e6;
    println!("purge, once the uplink had nothing to send: {n} payloads in {purge_s:.2} s ({:.2} ms each)", purge_s * 1000.0 / f64::from(n));

    // The same bytes, plain HTTP, same run.
    let bundle_after_s = plain_bundle_upload(&rt, &rig, &url, n, page_kb, "B2")?;
    let bundle_s = bundle_before_s.min(bundle_after_s);
    let bodies: Vec<Vec<u8>> = {
        // Payloads are purged after the ack, so seal the same registrations again for the raw run.
        let key = rig.queue_options()?.seal_key.context("key")?;
        (1..=n)
            .map(|i| key.seal(&registration(i, page_kb * 1024, "Q")))
            .collect::<Result<_, _>>()?
    };
    let raw_s = rt.block_on(async {
        let app = axum::Router::new().route(
            "/sink",
            axum::routing::post(|body: axum::body::Bytes| async move {
                (
                    axum::http::StatusCode::CREATED,
                    format!("{{\"n\":{}}}", body.len()),
                )
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        let http = reqwest::Client::new();
        let t = Instant::now();
        for b in &bodies {
            let res = http
                .post(format!("http://{addr}/sink"))
                .body(b.clone())
                .send()
                .await?;
            res.bytes().await?;
        }
        anyhow::Ok(t.elapsed().as_secs_f64())
    })?;
    let raw_mbs = sealed_bytes as f64 / raw_s / 1e6;
    println!("bytes: {:.1} MB sealed", sealed_bytes as f64 / 1e6);
    println!(
        "drain throughput        {drain_mbs:7.1} MB/s ({:.1} registrations/s)",
        f64::from(n) / drain_s
    );
    println!("plain HTTP, raw sink    {raw_mbs:7.1} MB/s ({:.1} registrations/s) -> drain is {:.0} % of it", f64::from(n) / raw_s, 100.0 * drain_mbs / raw_mbs);
    let bundle_mbs = sealed_bytes as f64 / bundle_s / 1e6;
    println!(
        "plain HTTP, registry, same bytes {bundle_mbs:7.1} MB/s ({:.1} registrations/s; {:.1} before the drain, {:.1} after) -> drain is {:.0} % of it",
        f64::from(n) / bundle_s,
        f64::from(n) / bundle_before_s,
        f64::from(n) / bundle_after_s,
        100.0 * drain_mbs / bundle_mbs
    );
    Ok(())
}
