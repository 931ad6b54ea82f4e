//! The uplink's bookkeeping thread: the queue's writes that need not wait
//! for the network, done while an upload is on the wire.
//!
//! It owns a second queue connection and takes one job at a time:
//! - a *step*, while an upload is on the wire: record the previous
//!   registration's acknowledgement (its case number), then claim the next due
//!   row and make it ready to send;
//! - a *purge*, when the uplink has nothing to send: delete (and zero) the
//!   sealed boxes of acknowledged registrations a few at a time, stopping as
//!   soon as a step comes in, then fold the WAL into the database file.
//!
//! It runs as a batch thread (`SCHED_BATCH`): it never preempts the touch
//! screen or the upload when it wakes, and takes its fair share otherwise;
//! its work fits in the time the upload waits for the registry.

use std::sync::mpsc::{self as std_mpsc, TryRecvError};
use std::thread::JoinHandle;

use chrono::{DateTime, Utc};
use kiosk_queue::{Queue, QueueError};
use tokio::sync::oneshot;

use super::{record, PendingAck};
use crate::{Outgoing, UplinkEvent};

/// How many acknowledged registrations one purge transaction deletes: a few
/// milliseconds, so a seal or a claim never waits long behind it.
const PURGE_CHUNK: usize = 8;

/// What one job hands back: the next row, claimed and ready, if one is due.
pub(super) type Claim = Result<Option<Outgoing>, QueueError>;

enum Job {
    /// Record `ack`, then claim the next due row.
    Step {
        ack: Option<PendingAck>,
        /// When to retry the acknowledged row if its acknowledgement cannot be recorded.
        retry_at: DateTime<Utc>,
        reply: oneshot::Sender<Claim>,
    },
    /// Purge acknowledged registrations until none is left or a step comes in.
    Purge,
}

/// The handle of the bookkeeping thread; dropping it lets the thread finish
/// its job and stop.
#[derive(Debug)]
pub(super) struct Books {
    jobs: Option<std_mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Books {
    /// Starts the thread with its own connection to the queue.
    pub(super) fn spawn(
        queue: Queue,
        events: std_mpsc::Sender<UplinkEvent>,
    ) -> std::io::Result<Books> {
        let (jobs, rx) = std_mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("uplink-books".into())
            .spawn(move || {
                run_as_batch();
                let mut held = None;
                while let Some(job) = held.take().or_else(|| rx.recv().ok()) {
                    match job {
                        Job::Step {
                            ack,
                            retry_at,
                            reply,
                        } => {
                            if let Some(p) = ack {
                                record(&queue, &events, p, retry_at);
                            }
                            let next =
                                queue.claim_next(Utc::now()).map(|c| c.map(Outgoing::new));
                            if let Err(Ok(Some(out))) = reply.send(next) {
                                // Nobody waits for it any more (the uplink is stopping).
                                let _ = queue.release(out.claimed().id);
                            }
                        }
                        Job::Purge => held = purge(&queue, &rx),
                    }
                }
            })?;
        Ok(Books {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Starts a job; `Err` gives `ack` back when the thread is gone.
    pub(super) fn start(
        &self,
        ack: Option<PendingAck>,
        retry_at: DateTime<Utc>,
    ) -> Result<oneshot::Receiver<Claim>, Option<PendingAck>> {
        let (reply, answer) = oneshot::channel();
        let Some(jobs) = &self.jobs else {
            return Err(ack);
        };
        let job = Job::Step {
            ack,
            retry_at,
            reply,
        };
        match jobs.send(job) {
            Ok(()) => Ok(answer),
            Err(std_mpsc::SendError(Job::Step { ack, .. })) => Err(ack),
            // Not sent: a step, so its acknowledgement comes back.
            Err(std_mpsc::SendError(Job::Purge)) => Err(None),
        }
    }

    /// Asks for the acknowledged registrations to be purged (the uplink has
    /// nothing to send); returns at once.
    pub(super) fn purge(&self) {
        if let Some(jobs) = &self.jobs {
            // A thread that is gone purges nothing; the next start does.
            let _ = jobs.send(Job::Purge);
        }
    }
}

impl Drop for Books {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                log::error!("uplink: bookkeeping thread panicked");
            }
        }
    }
}

/// Purges acknowledged registrations a chunk at a time until none is left,
/// then checkpoints the WAL (so no purged box lingers in old WAL frames).
/// Stops early when another job comes in, and hands it back; the rest waits
/// for the next time the uplink has nothing to send.
fn purge(queue: &Queue, rx: &std_mpsc::Receiver<Job>) -> Option<Job> {
    let mut purged = 0;
    loop {
        match queue.purge_acknowledged(PURGE_CHUNK) {
            Ok(0) => break,
            Ok(n) => purged += n,
            Err(e) => {
                log::warn!(
                    "uplink: cannot purge acknowledged registrations: {}",
                    crate::UplinkError::from(e).reason()
                );
                return None;
            }
        }
        match rx.try_recv() {
            Ok(job) => {
                log::debug!("uplink: purged {purged} acknowledged registration(s), more later");
                return Some(job);
            }
            Err(TryRecvError::Empty) => {}
            Err(TryRecvError::Disconnected) => return None,
        }
    }
    if purged > 0 {
        log::debug!("uplink: purged {purged} acknowledged registration(s)");
    }
    queue.checkpoint();
    None
}

/// Makes the calling thread a batch thread (on Linux the policy is per
/// thread): when it wakes it does not preempt the thread that woke it, which
/// is about to send a request. Best effort: as a normal thread it still works.
fn run_as_batch() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: a plain system call about the calling thread (pid 0); the
        // parameter is a valid, initialised struct that outlives the call.
        let res = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
        if res != 0 {
            log::debug!(
                "uplink: bookkeeping thread stays a normal thread: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}
