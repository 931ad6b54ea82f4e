//! A queue, an uplink and the real registry without the rest of the kiosk:
//! the rig of the fault, crash and drain tests and of the `queue-bench`
//! benchmark. Keys are made fresh per rig, as provisioning would.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use kiosk::config::LocalKeys;
use kiosk_queue::{Queue, QueueOptions};
use kiosk_uplink::UplinkConfig;
use registry::BlockingRegistry;

use crate::TOKEN;

/// A fresh directory with a key set, a queue file and a registry on loopback.
pub struct Rig {
    pub dir: tempfile::TempDir,
    pub keys: LocalKeys,
    pub registry_addr: SocketAddr,
    pub registry: Option<BlockingRegistry>,
    pub queue_path: PathBuf,
}

impl std::fmt::Debug for Rig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rig({})", self.registry_addr)
    }
}

impl Rig {
    /// Makes the keys and starts the registry.
    pub fn start() -> anyhow::Result<Rig> {
        let dir = tempfile::tempdir()?;
        let keys = kiosk::Config::default().provision_local_keys(dir.path())?;
        let registry_addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let mut rig = Rig {
            queue_path: dir.path().join("queue.db"),
            dir,
            keys,
            registry_addr,
            registry: None,
        };
        rig.start_registry()?;
        Ok(rig)
    }

    /// Starts (or restarts) the registry on its fixed address and database.
    pub fn start_registry(&mut self) -> anyhow::Result<()> {
        let cfg = crate::registry_config(&self.keys, self.dir.path().join("registry.db"))?;
        self.registry = Some(registry::start_blocking(cfg, self.registry_addr)?);
        Ok(())
    }

    /// Stops the registry (requests in flight finish first).
    pub fn stop_registry(&mut self) {
        self.registry = None;
    }

    /// The terminal's queue options: sealing to the registry key, no disk floor.
    pub fn queue_options(&self) -> anyhow::Result<QueueOptions> {
        let text = std::fs::read_to_string(&self.keys.seal_public)?;
        Ok(QueueOptions {
            seal_key: Some(registry_api::envelope::SealPublicKey::from_text(&text)?),
            min_free_bytes: 0,
            ..QueueOptions::default()
        })
    }

    /// A sealing connection to the rig's queue.
    pub fn queue(&self) -> anyhow::Result<Queue> {
        Ok(Queue::open_with(&self.queue_path, self.queue_options()?)?)
    }

    /// An impatient uplink configuration for the registry at `url`.
    pub fn uplink_config(&self, url: &str) -> anyhow::Result<UplinkConfig> {
        Ok(UplinkConfig {
            base_url: url.into(),
            token: TOKEN.into(),
            terminal_id: "rig-01".into(),
            heartbeat_interval: Duration::from_millis(500),
            tls: None,
            request_timeout: Duration::from_secs(2),
            min_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(300),
            printer: kiosk_uplink::PrinterSlot::default(),
            updates: Default::default(),
        })
    }

    /// `(local_ref, case_number)` of every registration the registry holds, by local reference.
    pub fn registry_rows(&self) -> anyhow::Result<Vec<(String, String)>> {
        let db = rusqlite::Connection::open(self.dir.path().join("registry.db"))?;
        let mut stmt =
            db.prepare("SELECT local_ref, case_number FROM registrations ORDER BY local_ref")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Waits until the queue holds `n` acknowledged rows and nothing else.
    pub fn wait_drained(&self, n: u64, timeout: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let q = Queue::open(&self.queue_path)?;
        loop {
            let c = q.counts()?;
            if c.acknowledged == n && c.pending == 0 && c.uploading == 0 && c.failed == 0 {
                return Ok(started.elapsed());
            }
            if started.elapsed() > timeout {
                bail!("queue not drained after {timeout:?}: {c:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Checks that the registry holds exactly the registrations `1..=n` of
    /// `specimen_upload`, each once, under the case numbers the queue recorded.
    pub fn assert_exactly_once(&self, n: u32) -> anyhow::Result<()> {
        let rows = self.registry_rows()?;
        let want: Vec<String> = (1..=n)
            .map(|i| kiosk_queue::test_utils::specimen_upload(i).local_ref)
            .collect();
        let got: Vec<&str> = rows.iter().map(|(l, _)| l.as_str()).collect();
        if got != want.iter().map(String::as_str).collect::<Vec<_>>() {
            bail!(
                "registry holds {} rows, expected each of {} once",
                rows.len(),
                n
            );
        }
        let q = Queue::open(&self.queue_path)?;
        for (local_ref, case) in &rows {
            let r = q
                .receipt(local_ref)?
                .context("registration missing from the queue")?;
            if r.case_number.as_deref() != Some(case.as_str()) {
                bail!(
                    "{local_ref}: queue has case {:?}, registry {case}",
                    r.case_number
                );
            }
        }
        Ok(())
    }
}
