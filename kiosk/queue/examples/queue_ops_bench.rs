//! The queue's own share of a drain: seal 1,000 registrations of 3 × 40 KB
//! pages, then claim and acknowledge each as the uplink does (claim on one
//! connection, acknowledge on another), then purge them as the idle uplink
//! does (eight per transaction, then a checkpoint), timing each step. Prints
//! the figures:
//! `cargo run --release -p kiosk-queue --features test-utils --example queue_ops_bench`.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use kiosk_queue::test_utils::{specimen_options, specimen_upload};
use kiosk_queue::Queue;
use registry_api::{PageUpload, RegistrationAck};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    const N: u32 = 1000;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("queue.db");
    let sealer = Queue::open_with(&path, specimen_options())?;
    for n in 1..=N {
        let mut up = specimen_upload(n);
        up.pages = (1..=3u32)
            .map(|i| {
                let jpeg: Vec<u8> = (0..40 * 1024u32)
                    .map(|b| (b.wrapping_mul(2_654_435_761).wrapping_add(n * 7 + i) >> 13) as u8)
                    .collect();
                PageUpload::new(i, &jpeg, Default::default(), 0.9)
            })
            .collect();
        sealer.seal(&up)?;
    }
    let claimer = Queue::open(&path)?;
    let recorder = Queue::open(&path)?;
    let (mut claim, mut ack) = (Duration::ZERO, Duration::ZERO);
    for n in 1..=N {
        let t = Instant::now();
        let c = claimer.claim_next(chrono::Utc::now())?.ok_or("queue ran dry")?;
        claim += t.elapsed();
        let t = Instant::now();
        recorder.mark_acknowledged(
            c.id,
            &RegistrationAck {
                case_number: format!("XF-2026-{n:06}"),
                received_at: "2026-11-28T10:00:00Z".into(),
                replayed: false,
                likely_duplicate: false,
            },
        )?;
        ack += t.elapsed();
    }
    let t = Instant::now();
    let mut purged = 0;
    loop {
        match recorder.purge_acknowledged(8)? {
            0 => break,
            n => purged += n,
        }
    }
    recorder.checkpoint();
    let purge = t.elapsed();
    assert_eq!(purged, N as usize);
    let per = |d: Duration| d.as_secs_f64() * 1000.0 / f64::from(N);
    println!(
        "per registration: claim {:.3} ms, acknowledge {:.3} ms; purge (when idle) {:.3} ms",
        per(claim),
        per(ack),
        per(purge)
    );
    Ok(())
}
