//! kill -9 of the kiosk process at random points while 200 registrations are
//! sealed and uploaded: after the restarts the registry holds exactly the
//! sealed registrations, each once, under the case numbers the queue recorded.

use std::hash::{BuildHasher, Hasher};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kiosk_e2e::rig::Rig;

const N: u32 = 200;
const KILLS: usize = 5;

fn random_ms(lo: u64, hi: u64) -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    lo + h.finish() % (hi - lo)
}

#[test]
fn sigkill_at_random_points_loses_nothing_and_doubles_nothing() -> anyhow::Result<()> {
    let rig = Rig::start()?;
    let url = rig
        .registry
        .as_ref()
        .map(|r| r.base_url())
        .unwrap_or_default();
    let child = || {
        Command::new(env!("CARGO_BIN_EXE_crash-kiosk"))
            .arg(&rig.queue_path)
            .arg(&rig.keys.seal_public)
            .arg(&url)
            .arg(kiosk_e2e::TOKEN)
            .arg(N.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
    };
    let started = Instant::now();
    let mut killed_mid_run = 0;
    let q = kiosk_queue::Queue::open(&rig.queue_path)?;
    let sealed = || -> anyhow::Result<u64> {
        let c = q.counts()?;
        Ok(c.pending + c.uploading + c.acknowledged + c.failed)
    };
    for _ in 0..KILLS {
        // Kill after a random number of further seals, plus a random sub-step delay,
        // so kills land inside sealing, uploading and acknowledging alike.
        let target = sealed()? + random_ms(5, 40);
        let mut c = child()?;
        let give_up = Instant::now() + Duration::from_secs(20);
        while sealed()? < target && c.try_wait()?.is_none() && Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_micros(random_ms(0, 3000)));
        // `Child::kill` is SIGKILL on Unix: no destructor, no flush, no goodbye.
        if c.try_wait()?.is_none() {
            c.kill()?;
            killed_mid_run += 1;
        }
        c.wait()?;
    }
    let mut last = child()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = last.try_wait()? {
            break s;
        }
        if Instant::now() > deadline {
            last.kill()?;
            anyhow::bail!("the last run did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "last run: {status}");
    assert!(
        killed_mid_run >= 3,
        "only {killed_mid_run} kills landed mid-run"
    );
    rig.wait_drained(u64::from(N), Duration::from_secs(5))?;
    rig.assert_exactly_once(N)?;
    assert!(
        started.elapsed() < Duration::from_secs(90),
        "{:?}",
        started.elapsed()
    );
    Ok(())
}
