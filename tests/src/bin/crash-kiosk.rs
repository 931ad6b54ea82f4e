//! A stand-in kiosk process for the crash test: seals SPECIMEN registrations
//! `1..=N` (skipping those already queued) while its uplink uploads them, then
//! waits until the queue is drained and exits 0. The test kills it with
//! SIGKILL at random moments and starts it again.
//!
//! `crash-kiosk <queue.db> <seal.public> <registry url> <token> <N>`

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use kiosk_queue::test_utils::specimen_upload;
use kiosk_queue::{Queue, QueueOptions};
use kiosk_uplink::{Uplink, UplinkConfig};
use registry_api::envelope::SealPublicKey;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [queue_path, seal, url, token, n] = args.as_slice() else {
        bail!(
            "usage: crash-kiosk <queue.db> <seal.public> <registry url> <token> <N>"
        );
    };
    let n: u32 = n.parse().context("N")?;
    let queue_path = PathBuf::from(queue_path);
    let opts = QueueOptions {
        seal_key: Some(SealPublicKey::from_text(&std::fs::read_to_string(seal)?)?),
        min_free_bytes: 0,
        ..QueueOptions::default()
    };
    let queue = Queue::open_with(&queue_path, opts)?;
    let (tx, _rx) = std::sync::mpsc::channel();
    let uplink = Uplink::spawn(
        queue_path.clone(),
        UplinkConfig {
            base_url: url.clone(),
            token: token.clone(),
            terminal_id: "crash-01".into(),
            heartbeat_interval: Duration::ZERO,
            tls: None,
            request_timeout: Duration::from_secs(5),
            min_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
            printer: kiosk_uplink::PrinterSlot::default(),
            updates: Default::default(),
        },
        tx,
    )?;
    for i in 1..=n {
        let up = specimen_upload(i);
        if queue.receipt(&up.local_ref)?.is_none() {
            queue.seal(&up)?;
            uplink.wake();
            // Pace the petitioners a little, so uploads interleave with sealing.
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let started = Instant::now();
    loop {
        let c = queue.counts()?;
        if c.pending == 0 && c.uploading == 0 {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("queue not drained: {c:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(uplink);
    Ok(())
}
