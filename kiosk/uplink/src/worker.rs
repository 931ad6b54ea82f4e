//! The background uplink: one thread, one tokio runtime, one queue connection.
//!
//! The loop claims the oldest due row, uploads it and records the outcome:
//! acknowledged (payload purged), retry with capped exponential backoff and
//! jitter, or failed. With nothing due it sleeps until the earliest retry, a
//! [`Uplink::wake`], or a slow poll (another process may seal rows too).
//! History queries and heartbeats run as separate tasks on the same runtime,
//! so they are answered even while an upload is waiting on a slow network.

use std::hash::{BuildHasher, Hasher};
use std::path::PathBuf;
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use kiosk_privacy::IdNumber;
use kiosk_queue::{Claimed, Queue, QueueError};
use registry_api::{HistoryReply, RegistrationAck};
use tokio::sync::mpsc;

use crate::{RegistryClient, UplinkConfig, UplinkError, UplinkEvent};

mod ratings;

/// How often the idle loop looks at the queue without being woken.
const IDLE_POLL: Duration = Duration::from_secs(15);
/// After this many attempts that ended with the registry still missing pages
/// it was sent, the registration goes to failed for a clerk to look at.
const MAX_STILL_MISSING_ATTEMPTS: u32 = 5;
/// How long to wait after the queue itself failed (disk, lock) before trying again.
const QUEUE_ERROR_PAUSE: Duration = Duration::from_secs(2);

enum Command {
    Wake,
    History {
        id: IdNumber,
        timeout: Duration,
        reply: std_mpsc::SyncSender<Result<HistoryReply, UplinkError>>,
    },
    /// Asks the registry's health endpoint, to refresh the contact record.
    Ping,
}

/// Handle of the running uplink; dropping it stops the uplink.
#[derive(Debug)]
pub struct Uplink {
    commands: Option<mpsc::UnboundedSender<Command>>,
    thread: Option<JoinHandle<()>>,
    contact: crate::ContactLog,
}

impl Uplink {
    /// Starts the uplink on its own thread. Rows left uploading by an earlier
    /// run are put back to pending first.
    pub fn spawn(
        queue_path: PathBuf,
        cfg: UplinkConfig,
        events: std_mpsc::Sender<UplinkEvent>,
    ) -> Result<Uplink, UplinkError> {
        let client = RegistryClient::new(
            &cfg.base_url,
            &cfg.token,
            cfg.lookup_key.clone(),
            cfg.tls.as_ref(),
            cfg.request_timeout,
        )?;
        if cfg.min_backoff.is_zero() || cfg.max_backoff < cfg.min_backoff {
            return Err(UplinkError::Config(
                "backoff must be positive with max at least min",
            ));
        }
        let contact = client.contact().clone();
        let queue = Queue::open(&queue_path)?;
        queue.requeue_interrupted()?;
        queue.requeue_interrupted_ratings()?;
        let recorder = Queue::open(&queue_path)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("uplink-rt")
            .enable_all()
            .build()
            .map_err(UplinkError::Start)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let worker = Worker {
            queue,
            client,
            cfg,
            events,
            commands: rx,
            next_heartbeat: Instant::now(),
            unreachable: false,
            recorder: Some(recorder),
            pending_ack: None,
        };
        let thread = std::thread::Builder::new()
            .name("uplink".into())
            .spawn(move || {
                runtime.block_on(worker.run());
                // Do not wait for history tasks stuck on the network.
                runtime.shutdown_background();
            })
            .map_err(UplinkError::Start)?;
        Ok(Uplink {
            commands: Some(tx),
            thread: Some(thread),
            contact,
        })
    }

    /// What the registry last answered (times, error kind, clock offset).
    pub fn contact(&self) -> crate::Contact {
        self.contact.snapshot()
    }

    /// Asks the registry's health endpoint in the background, so that
    /// [`Uplink::contact`] is fresh (the technician screen calls it).
    pub fn ping(&self) {
        if let Some(tx) = &self.commands {
            let _ = tx.send(Command::Ping);
        }
    }

    /// Asks the uplink to look at the queue now (call it right after a seal).
    pub fn wake(&self) {
        if let Some(tx) = &self.commands {
            let _ = tx.send(Command::Wake);
        }
    }

    /// Asks the registry for the history of `id`, waiting at most `timeout`.
    /// Call it from a plain thread, not from inside an async runtime.
    pub fn history_blocking(
        &self,
        id: &IdNumber,
        timeout: Duration,
    ) -> Result<HistoryReply, UplinkError> {
        let (reply, answer) = std_mpsc::sync_channel(1);
        let tx = self.commands.as_ref().ok_or(UplinkError::Stopped)?;
        tx.send(Command::History {
            id: id.clone(),
            timeout,
            reply,
        })
        .map_err(|_| UplinkError::Stopped)?;
        match answer.recv_timeout(timeout.saturating_add(Duration::from_millis(100))) {
            Ok(res) => res,
            Err(std_mpsc::RecvTimeoutError::Timeout) => Err(UplinkError::Timeout),
            Err(std_mpsc::RecvTimeoutError::Disconnected) => Err(UplinkError::Stopped),
        }
    }

    /// Stops the uplink and waits for its thread. An upload in flight is
    /// abandoned and its row put back to pending.
    pub fn shutdown(self) {}
}

impl Drop for Uplink {
    fn drop(&mut self) {
        drop(self.commands.take());
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                log::error!("uplink: thread panicked");
            }
        }
    }
}

struct Worker {
    queue: Queue,
    client: RegistryClient,
    cfg: UplinkConfig,
    events: std_mpsc::Sender<UplinkEvent>,
    commands: mpsc::UnboundedReceiver<Command>,
    next_heartbeat: Instant,
    /// The last attempt failed in a way that suggests no connectivity.
    unreachable: bool,
    /// A second connection to the queue, which records an acknowledgement
    /// while the next upload is under way; `None` while it is doing so.
    recorder: Option<Queue>,
    /// The last acknowledgement, received but not yet recorded.
    pending_ack: Option<PendingAck>,
}

/// An acknowledgement the registry gave, still to be recorded in the queue.
struct PendingAck {
    id: i64,
    local_ref: String,
    ack: RegistrationAck,
}

/// Recording an acknowledgement on the blocking pool; the connection comes back.
type Recording = tokio::task::JoinHandle<Queue>;

/// Records the case number of `p` in the queue (purging the payload) and
/// tells the application; when that fails, the row is retried at `retry_at`.
fn record(
    queue: &Queue,
    events: &std_mpsc::Sender<UplinkEvent>,
    p: PendingAck,
    retry_at: DateTime<Utc>,
) {
    let PendingAck { id, local_ref, ack } = p;
    match queue.mark_acknowledged(id, &ack) {
        // The application may have stopped listening; the queue holds the truth anyway.
        Ok(()) => {
            let _ = events.send(UplinkEvent::Acknowledged {
                local_ref,
                case_number: ack.case_number,
                replayed: ack.replayed,
                likely_duplicate: ack.likely_duplicate,
            });
        }
        Err(e) => {
            // The next attempt is answered from the registry's idempotency record.
            log::error!(
                "uplink: cannot record the ack of {local_ref}: {}",
                UplinkError::from(e).reason()
            );
            let _ = queue.mark_retry(id, "ack not recorded", retry_at);
        }
    }
}

impl Worker {
    async fn run(mut self) {
        log::info!("uplink: started");
        loop {
            self.maybe_heartbeat();
            let claim = self.queue.claim_next(Utc::now());
            // The previous acknowledgement is recorded on the second
            // connection while this upload is under way (claiming first, so
            // the two never wait on each other's lock), or now when nothing
            // is being uploaded.
            let recording = match (&claim, self.pending_ack.take()) {
                (Ok(Some(_)), Some(p)) => self.record_in_background(p),
                (_, Some(p)) => {
                    self.record_now(p);
                    None
                }
                (_, None) => None,
            };
            let pause = match claim {
                Ok(Some(claimed)) => match self.attempt(claimed, recording).await {
                    After::Next => continue,
                    // The registry is probably out of reach for every row, so
                    // hold back the others too (a wake still goes at once).
                    After::Pause(pause) => pause,
                    After::Stop => break,
                },
                // No registration is due: a queued rating, if any.
                Ok(None) => match self.send_rating().await {
                    ratings::RatingStep::Next => continue,
                    ratings::RatingStep::Pause(pause) => pause,
                    ratings::RatingStep::Stop => break,
                    ratings::RatingStep::Idle => {
                        self.queue.checkpoint();
                        self.idle_pause()
                    }
                },
                Err(QueueError::CorruptPayload { local_ref, .. }) => {
                    self.emit(UplinkEvent::Failed {
                        local_ref,
                        reason: "stored registration is unreadable".into(),
                    });
                    continue;
                }
                Err(e) => {
                    log::error!(
                        "uplink: cannot claim from the queue: {}",
                        UplinkError::from(e).reason()
                    );
                    QUEUE_ERROR_PAUSE
                }
            };
            let pause = if self.cfg.heartbeat_interval.is_zero() {
                pause
            } else {
                pause.min(
                    self.next_heartbeat
                        .saturating_duration_since(Instant::now()),
                )
            };
            if !self.wait(pause).await {
                break;
            }
        }
        if let Some(p) = self.pending_ack.take() {
            self.record_now(p);
        }
        log::info!("uplink: stopped");
    }

    /// Starts recording `p` on the second connection; records it at once when that is busy.
    fn record_in_background(&mut self, p: PendingAck) -> Option<Recording> {
        let Some(recorder) = self.recorder.take() else {
            self.record_now(p);
            return None;
        };
        let events = self.events.clone();
        let retry_at = after(self.cfg.min_backoff);
        Some(tokio::task::spawn_blocking(move || {
            record(&recorder, &events, p, retry_at);
            recorder
        }))
    }

    /// Waits for a recording started by [`Worker::record_in_background`].
    async fn finish_recording(&mut self, recording: Recording) {
        match recording.await {
            Ok(recorder) => self.recorder = Some(recorder),
            // Not recorded: the row stays uploading and goes back to pending
            // at the next start, when the registry replays its case number.
            Err(e) => log::error!("uplink: recording an acknowledgement failed: {e}"),
        }
    }

    fn record_now(&mut self, p: PendingAck) {
        record(&self.queue, &self.events, p, after(self.cfg.min_backoff));
    }

    /// Sends a heartbeat as its own task when one is due.
    fn maybe_heartbeat(&mut self) {
        let interval = self.cfg.heartbeat_interval;
        if interval.is_zero() || Instant::now() < self.next_heartbeat {
            return;
        }
        self.next_heartbeat = Instant::now() + interval;
        let summary = match self.queue.summary(Utc::now()) {
            Ok(s) => s,
            Err(e) => {
                log::warn!(
                    "uplink: no heartbeat, queue unreadable: {}",
                    UplinkError::from(e).reason()
                );
                return;
            }
        };
        let hb = registry_api::Heartbeat {
            terminal_id: self.cfg.terminal_id.clone(),
            queue_depth: summary.counts.pending + summary.counts.uploading,
            failed: summary.counts.failed,
            oldest_unsent_age_s: summary.oldest_unsent_age.map(|d| d.as_secs()),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        };
        let client = self.client.clone();
        tokio::spawn(async move {
            match client.heartbeat(&hb).await {
                Ok(()) => log::debug!("uplink: heartbeat sent (queue depth {})", hb.queue_depth),
                Err(e) => log::debug!("uplink: heartbeat failed: {}", e.reason()),
            }
        });
    }

    /// How long to sleep when nothing is due.
    fn idle_pause(&self) -> Duration {
        let now = Utc::now();
        let rating_due = self.queue.rating_next_due(now).ok().flatten();
        match self.queue.next_due(now).map(|due| due.into_iter().chain(rating_due).min()) {
            Ok(Some(due)) => (due - now)
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(IDLE_POLL),
            Ok(None) => IDLE_POLL,
            Err(e) => {
                log::error!(
                    "uplink: cannot read the queue: {}",
                    UplinkError::from(e).reason()
                );
                QUEUE_ERROR_PAUSE
            }
        }
    }

    /// Sleeps for `pause` or until woken; returns false when the handle is gone.
    async fn wait(&mut self, pause: Duration) -> bool {
        let sleep = tokio::time::sleep(pause);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => return true,
                cmd = self.commands.recv() => match cmd {
                    Some(Command::Wake) => return true,
                    Some(cmd @ (Command::History { .. } | Command::Ping)) => serve(&self.client, cmd),
                    None => return false,
                },
            }
        }
    }

    /// Uploads one claimed row, records the outcome, and says what to do next.
    /// `recording` (the previous acknowledgement) is finished first.
    async fn attempt(&mut self, claimed: Claimed, recording: Option<Recording>) -> After {
        let id = claimed.id;
        let attempts = claimed.attempts;
        let local_ref = claimed.local_ref.clone();
        let started = Instant::now();
        let res = {
            let upload_fut = self.client.upload(&claimed);
            tokio::pin!(upload_fut);
            loop {
                tokio::select! {
                    res = &mut upload_fut => break Some(res),
                    cmd = self.commands.recv() => match cmd {
                        Some(Command::Wake) => {}
                        Some(cmd @ (Command::History { .. } | Command::Ping)) => serve(&self.client, cmd),
                        None => break None,
                    },
                }
            }
        };
        drop(claimed);
        let ms = started.elapsed().as_millis();
        if let Some(recording) = recording {
            self.finish_recording(recording).await;
        }
        let Some(res) = res else {
            log::info!(
                "uplink: {local_ref} attempt {attempts} abandoned at shutdown after {ms} ms"
            );
            if let Err(e) = self
                .queue
                .mark_retry(id, "interrupted by shutdown", Utc::now())
            {
                log::error!(
                    "uplink: cannot requeue {local_ref}: {}",
                    UplinkError::from(e).reason()
                );
            }
            return After::Stop;
        };
        match res {
            Ok(ack) => {
                if std::mem::take(&mut self.unreachable) {
                    // Connectivity is back: rows parked by backoff go at once.
                    match self.queue.reset_backoff() {
                        Ok(n) if n > 0 => log::info!(
                            "uplink: registry reachable again; {n} parked row(s) due now"
                        ),
                        Ok(_) => {}
                        Err(e) => log::warn!(
                            "uplink: cannot reset backoff: {}",
                            UplinkError::from(e).reason()
                        ),
                    }
                }
                log::info!(
                    "uplink: {local_ref} attempt {attempts} acknowledged as {} (replayed: {}) in {ms} ms",
                    ack.case_number,
                    ack.replayed
                );
                // Recorded while the next upload runs (or at once when there is none).
                self.pending_ack = Some(PendingAck { id, local_ref, ack });
            }
            Err(e)
                if e.is_retryable()
                    && !(matches!(e, UplinkError::StillMissing(_))
                        && attempts >= MAX_STILL_MISSING_ATTEMPTS) =>
            {
                // A row-specific failure says nothing about the link: the
                // others go on at once while this one waits its turn.
                let row_only = e.is_row_specific();
                self.unreachable |= !row_only;
                let reason = e.reason();
                let delay = backoff(&self.cfg, attempts, &e);
                log::warn!("uplink: {local_ref} attempt {attempts} failed in {ms} ms: {reason}; retry in {delay:?}");
                match self.queue.mark_retry(id, &reason, after(delay)) {
                    Ok(()) => self.emit(UplinkEvent::RetryScheduled {
                        local_ref,
                        attempts,
                        reason,
                        next_attempt_in: delay,
                    }),
                    Err(e) => log::error!(
                        "uplink: cannot schedule a retry of {local_ref}: {}",
                        UplinkError::from(e).reason()
                    ),
                }
                if !row_only {
                    return After::Pause(delay);
                }
            }
            Err(e) => {
                let reason = e.reason();
                log::error!("uplink: {local_ref} attempt {attempts} rejected in {ms} ms: {reason}");
                match self.queue.mark_failed(id, &reason) {
                    Ok(()) => self.emit(UplinkEvent::Failed { local_ref, reason }),
                    Err(e) => log::error!(
                        "uplink: cannot mark {local_ref} failed: {}",
                        UplinkError::from(e).reason()
                    ),
                }
            }
        }
        After::Next
    }

    fn emit(&self, event: UplinkEvent) {
        // The application may have stopped listening; the queue holds the truth anyway.
        let _ = self.events.send(event);
    }
}

/// What the loop does after an attempt.
enum After {
    /// Claim the next due row at once.
    Next,
    /// Wait this long (or for a wake) before claiming again.
    Pause(Duration),
    /// The handle is gone; stop.
    Stop,
}

/// The moment `delay` from now, saturating instead of overflowing.
fn after(delay: Duration) -> DateTime<Utc> {
    let now = Utc::now();
    chrono::TimeDelta::from_std(delay)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(now + kiosk_queue::MAX_RETRY_DELAY)
}

/// Runs a history query as its own task, so it never waits behind an upload.
fn serve(client: &RegistryClient, cmd: Command) {
    if let Command::Ping = cmd {
        let client = client.clone();
        tokio::spawn(async move {
            if let Err(e) = client.health().await {
                log::debug!("uplink: registry health check failed: {}", e.reason());
            }
        });
        return;
    }
    let Command::History { id, timeout, reply } = cmd else {
        return;
    };
    let client = client.clone();
    tokio::spawn(async move {
        let started = Instant::now();
        let res = match tokio::time::timeout(timeout, client.history(&id)).await {
            Ok(res) => res,
            Err(_) => Err(UplinkError::Timeout),
        };
        match &res {
            Ok(r) => log::info!(
                "uplink: history query answered with {} entries in {} ms",
                r.registrations.len(),
                started.elapsed().as_millis()
            ),
            Err(e) => log::warn!("uplink: history query failed: {}", e.reason()),
        }
        let _ = reply.try_send(res);
    });
}

/// The delay before retry after attempt number `attempts` failed with `err`:
/// `min_backoff` doubled per attempt, capped at `max_backoff`, with the upper
/// half jittered so terminals that lost the network together do not return
/// together. A refused token waits the full `max_backoff`.
fn backoff(cfg: &UplinkConfig, attempts: u32, err: &UplinkError) -> Duration {
    let cap = cfg.max_backoff;
    let base = if matches!(err, UplinkError::Unauthorized) {
        cap
    } else {
        let factor = 1u32
            .checked_shl(attempts.saturating_sub(1).min(30))
            .unwrap_or(u32::MAX);
        cfg.min_backoff.saturating_mul(factor).min(cap)
    };
    let half = base / 2;
    let jitter_ns = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    let jitter = jitter_ns
        .checked_add(1)
        .map_or(random_u64(), |m| random_u64() % m);
    half.saturating_add(Duration::from_nanos(jitter))
}

/// A random number from the standard library's per-process hash keys.
fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    h.write_u128(now.map(|d| d.as_nanos()).unwrap_or(0));
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(min_ms: u64, max_ms: u64) -> UplinkConfig {
        UplinkConfig {
            base_url: "http://127.0.0.1:9".into(),
            token: "t".into(),
            lookup_key: crate::LookupKey::generate(),
            terminal_id: "T".into(),
            heartbeat_interval: Duration::ZERO,
            tls: None,
            request_timeout: Duration::from_secs(1),
            min_backoff: Duration::from_millis(min_ms),
            max_backoff: Duration::from_millis(max_ms),
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let c = cfg(100, 1000);
        for (attempts, base) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1000),
            (60, 1000),
        ] {
            for _ in 0..50 {
                let d = backoff(&c, attempts, &UplinkError::Timeout).as_millis() as u64;
                assert!(d >= base / 2 && d <= base, "attempt {attempts}: {d} ms");
            }
        }
        let d = backoff(&c, 1, &UplinkError::Unauthorized);
        assert!(d >= Duration::from_millis(500), "{d:?}");
        // Absurd settings saturate instead of overflowing.
        let huge = UplinkConfig {
            max_backoff: Duration::MAX,
            ..cfg(u64::MAX, 1)
        };
        assert!(backoff(&huge, 64, &UplinkError::Timeout) >= Duration::from_secs(1));
        assert!(after(Duration::MAX) > Utc::now());
    }
}
