//! The background uplink: one thread with one tokio runtime, and a
//! bookkeeping thread (`books`) with the queue's second connection.
//!
//! The loop claims the oldest due row, uploads it and records the outcome:
//! acknowledged (the payload is purged later, when nothing is due), retry with
//! capped exponential backoff and jitter, or failed. The queue's bookkeeping
//! stays off the wire's path: while one registration is being uploaded, the
//! bookkeeping thread records the previous one's acknowledgement and claims
//! the next due row, so that the next upload starts the moment this one is
//! answered. A row claimed ahead but not sent (the loop pauses or stops) is
//! given back uncounted. With nothing due the loop sleeps until the earliest
//! retry, a [`Uplink::wake`], or a slow poll (another process may seal rows
//! too). History queries and heartbeats run as separate tasks on the same
//! runtime, so they are answered even while an upload is waiting on a slow
//! network.

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

use crate::{Outgoing, RegistryClient, UplinkConfig, UplinkError, UplinkEvent};

mod books;
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
        /// A clerk typed the number: the registry audits the lookup as such.
        typed: bool,
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
        mut cfg: UplinkConfig,
        events: std_mpsc::Sender<UplinkEvent>,
    ) -> Result<Uplink, UplinkError> {
        let client = RegistryClient::build(
            &cfg.base_url,
            &cfg.token,
            cfg.tls.as_ref(),
            cfg.request_timeout,
        );
        // The client keeps its own copy (zeroed when it goes); this one is not needed.
        zeroize::Zeroize::zeroize(&mut cfg.token);
        let client = client?;
        if cfg.min_backoff.is_zero() || cfg.max_backoff < cfg.min_backoff {
            return Err(UplinkError::Config(
                "backoff must be positive with max at least min",
            ));
        }
        let contact = client.contact().clone();
        let queue = Queue::open(&queue_path)?;
        queue.requeue_interrupted()?;
        queue.requeue_interrupted_ratings()?;
        let books = books::Books::spawn(Queue::open(&queue_path)?, events.clone())
            .map_err(UplinkError::Start)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
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
            books,
            pending_ack: None,
            prefetched: None,
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

    /// Asks the registry for the history of `id`, waiting at most `timeout`;
    /// `typed` when a clerk typed the number (no card was read). The number
    /// itself travels, over the authenticated channel; the registry hashes it.
    /// Call it from a plain thread, not from inside an async runtime.
    pub fn history_blocking(
        &self,
        id: &IdNumber,
        typed: bool,
        timeout: Duration,
    ) -> Result<HistoryReply, UplinkError> {
        let (reply, answer) = std_mpsc::sync_channel(1);
        let tx = self.commands.as_ref().ok_or(UplinkError::Stopped)?;
        tx.send(Command::History {
            id: id.clone(),
            typed,
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
    /// The bookkeeping thread, with the queue's second connection: it records
    /// the previous acknowledgement and claims the next row while an upload
    /// is under way.
    books: books::Books,
    /// The last acknowledgement, received but not yet recorded.
    pending_ack: Option<PendingAck>,
    /// The next due row, claimed and made ready while the previous upload was under way.
    prefetched: Option<Outgoing>,
}

/// An acknowledgement the registry gave, still to be recorded in the queue.
struct PendingAck {
    id: i64,
    local_ref: String,
    ack: RegistrationAck,
}

/// The bookkeeping of an upload under way on the bookkeeping thread: the
/// previous acknowledgement recorded, then the next row claimed.
type Bookkeeping = tokio::sync::oneshot::Receiver<books::Claim>;

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
            let claim = match self.prefetched.take() {
                Some(out) => Ok(Some(out)),
                None => self.queue.claim_next(Utc::now()).map(|c| c.map(Outgoing::new)),
            };
            // The previous acknowledgement is recorded on the second
            // connection while this upload is under way, or now when nothing
            // is being uploaded.
            let ack = self.pending_ack.take();
            let pause = match claim {
                Ok(Some(out)) => {
                    let bookkeeping = self.start_bookkeeping(ack);
                    match self.attempt(out, bookkeeping).await {
                        After::Next => continue,
                        // The registry is probably out of reach for every row, so
                        // hold back the others too (a wake still goes at once),
                        // and purge meanwhile.
                        After::Pause(pause) => {
                            self.books.purge();
                            pause
                        }
                        After::Stop => break,
                    }
                }
                // No registration is due: a queued rating, if any.
                Ok(None) => {
                    self.record_now(ack);
                    match self.send_rating().await {
                        ratings::RatingStep::Next => continue,
                        ratings::RatingStep::Pause(pause) => pause,
                        ratings::RatingStep::Stop => break,
                        ratings::RatingStep::Idle => {
                            // Nothing to send: a piece of an update, if one
                            // is being fetched (the loop then looks at the
                            // queue again before the next piece).
                            if self.fetch_update_piece().await {
                                continue;
                            }
                            // Time to purge what was acknowledged.
                            self.books.purge();
                            self.idle_pause()
                        }
                    }
                }
                Err(e) => {
                    self.record_now(ack);
                    if self.claim_failed(e) {
                        continue;
                    }
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
        let ack = self.pending_ack.take();
        self.record_now(ack);
        if let Some(out) = self.prefetched.take() {
            self.give_back(out.claimed());
        }
        log::info!("uplink: stopped");
    }

    /// A claim that failed: a damaged row (already marked failed by the
    /// queue) is reported and the loop goes on at once (true); any other
    /// error is logged and the loop pauses (false).
    fn claim_failed(&self, e: QueueError) -> bool {
        match e {
            QueueError::CorruptPayload { local_ref, .. } => {
                self.emit(UplinkEvent::Failed {
                    local_ref,
                    reason: "stored registration is unreadable".into(),
                });
                true
            }
            e => {
                log::error!(
                    "uplink: cannot claim from the queue: {}",
                    UplinkError::from(e).reason()
                );
                false
            }
        }
    }

    /// Starts the bookkeeping of an upload on the bookkeeping thread: records
    /// `ack` (the previous registration's), then claims the next due row.
    /// Should that thread be gone, `ack` is recorded at once and nothing is
    /// claimed ahead.
    fn start_bookkeeping(&mut self, ack: Option<PendingAck>) -> Option<Bookkeeping> {
        match self.books.start(ack, after(self.cfg.min_backoff)) {
            Ok(bookkeeping) => Some(bookkeeping),
            Err(ack) => {
                self.record_now(ack);
                None
            }
        }
    }

    /// Waits for the bookkeeping started by [`Worker::start_bookkeeping`] and
    /// returns the row it claimed, if any.
    async fn finish_bookkeeping(&mut self, bookkeeping: Bookkeeping) -> Option<Outgoing> {
        match bookkeeping.await {
            Ok(Ok(next)) => next,
            Ok(Err(e)) => {
                // The loop claims again on its own connection (or pauses).
                self.claim_failed(e);
                None
            }
            // The thread is gone (it panicked). An acknowledgement it did not
            // record leaves its row uploading, back to pending at the next
            // start, when the registry replays the case number.
            Err(_) => {
                log::error!("uplink: the bookkeeping thread stopped");
                None
            }
        }
    }

    /// Records `ack`, if any, on the loop's own connection.
    fn record_now(&mut self, ack: Option<PendingAck>) {
        if let Some(p) = ack {
            record(&self.queue, &self.events, p, after(self.cfg.min_backoff));
        }
    }

    /// Gives back a row claimed ahead but not sent.
    fn give_back(&self, claimed: &Claimed) {
        if let Err(e) = self.queue.release(claimed.id) {
            // It stays uploading until the next start puts it back to pending.
            log::error!(
                "uplink: cannot give back {}: {}",
                claimed.local_ref,
                UplinkError::from(e).reason()
            );
        }
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
            version: self
                .cfg
                .updates
                .running_version()
                .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned()),
            printer: self.cfg.printer.get(),
            free_disk_mb: self.queue.free_bytes().ok().map(|b| b / (1024 * 1024)),
            update: self.cfg.updates.report(),
        };
        let (client, updates) = (self.client.clone(), self.cfg.updates.clone());
        tokio::spawn(async move {
            match client.heartbeat(&hb).await {
                Ok(reply) => {
                    log::debug!("uplink: heartbeat sent (queue depth {})", hb.queue_depth);
                    updates.offer(reply.update);
                }
                Err(e) => log::debug!("uplink: heartbeat failed: {}", e.reason()),
            }
        });
    }

    /// Fetches one range of the offered update bundle; true when it went
    /// well and more may follow at once. A failure waits for the idle pause.
    async fn fetch_update_piece(&mut self) -> bool {
        let free = self.queue.free_bytes().ok();
        let Some(fetch) = self.cfg.updates.next_fetch(free) else {
            return false;
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&fetch.part);
        let mut file = match file {
            Ok(f) => f,
            Err(e) => {
                log::error!("update: cannot write {}: {e}", fetch.part.display());
                return false;
            }
        };
        let got = self
            .client
            .bundle_part(&fetch.sha256, fetch.have, fetch.size, &mut file)
            .await;
        let _ = file.sync_data();
        drop(file);
        self.cfg.updates.fetched(&fetch);
        match got {
            Ok(n) => {
                log::debug!("update: {n} bytes fetched ({} of {})", fetch.have + n, fetch.size);
                n > 0
            }
            Err(e) => {
                log::info!("update: fetch paused: {}", e.reason());
                false
            }
        }
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
    /// `bookkeeping` is finished first; the row it claimed is kept for the
    /// next attempt, or given back when the loop pauses or stops.
    async fn attempt(&mut self, out: Outgoing, bookkeeping: Option<Bookkeeping>) -> After {
        let res = self.upload(&out).await;
        drop(out);
        let next = match bookkeeping {
            Some(b) => self.finish_bookkeeping(b).await,
            None => None,
        };
        let after = self.settle(res);
        if let Some(next) = next {
            match after {
                After::Next => self.prefetched = Some(next),
                After::Pause(_) | After::Stop => self.give_back(next.claimed()),
            }
        }
        after
    }

    /// Sends `claimed` while answering history queries; `None` when the
    /// handle went away meanwhile.
    async fn upload(&mut self, out: &Outgoing) -> Upload {
        let claimed = out.claimed();
        let id = claimed.id;
        let attempts = claimed.attempts;
        let local_ref = claimed.local_ref.clone();
        let started = Instant::now();
        let res = {
            let upload_fut = self.client.upload(out);
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
        Upload { id, attempts, local_ref, ms: started.elapsed().as_millis(), res }
    }

    /// Records the outcome of an upload and says what to do next.
    fn settle(&mut self, upload: Upload) -> After {
        let Upload { id, attempts, local_ref, ms, res } = upload;
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

/// An upload's outcome, to be recorded: `res` is `None` when it was abandoned at shutdown.
struct Upload {
    id: i64,
    attempts: u32,
    local_ref: String,
    ms: u128,
    res: Option<Result<RegistrationAck, UplinkError>>,
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
    let Command::History {
        id,
        typed,
        timeout,
        reply,
    } = cmd
    else {
        return;
    };
    let client = client.clone();
    tokio::spawn(async move {
        let started = Instant::now();
        let res = match tokio::time::timeout(timeout, client.history(&id, typed)).await {
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
            terminal_id: "T".into(),
            heartbeat_interval: Duration::ZERO,
            tls: None,
            request_timeout: Duration::from_secs(1),
            min_backoff: Duration::from_millis(min_ms),
            max_backoff: Duration::from_millis(max_ms),
            printer: crate::PrinterSlot::default(),
            updates: Default::default(),
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
