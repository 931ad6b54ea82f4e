//! The uplink's second outbox: queued satisfaction ratings, sent oldest
//! first when no registration is due, with the same backoff.

use std::time::{Duration, Instant};

use chrono::Utc;

use super::{after, backoff, serve, Command, Worker};
use crate::UplinkError;

/// What the loop does after looking at the ratings.
pub(super) enum RatingStep {
    /// One was sent (or refused for good): look at the queue again at once.
    Next,
    /// None is due: sleep as when idle.
    Idle,
    /// The registry seems out of reach: wait this long.
    Pause(Duration),
    /// The handle is gone.
    Stop,
}

impl Worker {
    /// Claims the oldest due rating and sends it.
    pub(super) async fn send_rating(&mut self) -> RatingStep {
        let claimed = match self.queue.claim_rating(Utc::now()) {
            Ok(Some(c)) => c,
            Ok(None) => return RatingStep::Idle,
            Err(e) => {
                log::error!(
                    "uplink: cannot claim a rating: {}",
                    UplinkError::from(e).reason()
                );
                return RatingStep::Idle;
            }
        };
        let (id, attempts, case) = (
            claimed.id,
            claimed.attempts,
            claimed.rating.case_number.clone(),
        );
        let started = Instant::now();
        let res = {
            let fut = self.client.rate(&claimed.rating, &self.cfg.terminal_id);
            tokio::pin!(fut);
            loop {
                tokio::select! {
                    res = &mut fut => break Some(res),
                    cmd = self.commands.recv() => match cmd {
                        Some(Command::Wake) => {}
                        Some(cmd @ (Command::History { .. } | Command::Ping)) => serve(&self.client, cmd),
                        None => break None,
                    },
                }
            }
        };
        let ms = started.elapsed().as_millis();
        let outcome = match res {
            None => {
                let _ = self
                    .queue
                    .rating_retry(id, "interrupted by shutdown", Utc::now());
                return RatingStep::Stop;
            }
            Some(Ok(ack)) => {
                if std::mem::take(&mut self.unreachable) {
                    let _ = self.queue.reset_backoff();
                    let _ = self.queue.reset_rating_backoff();
                }
                log::info!(
                    "uplink: rating of {case} attempt {attempts} acknowledged (replayed: {}) in {ms} ms",
                    ack.replayed
                );
                self.queue
                    .rating_acknowledged(id)
                    .map(|()| RatingStep::Next)
            }
            Some(Err(e)) if e.is_retryable() => {
                self.unreachable = true;
                let delay = backoff(&self.cfg, attempts, &e);
                let reason = e.reason();
                log::warn!("uplink: rating of {case} attempt {attempts} failed in {ms} ms: {reason}; retry in {delay:?}");
                self.queue
                    .rating_retry(id, &reason, after(delay))
                    .map(|()| RatingStep::Pause(delay))
            }
            Some(Err(e)) => {
                let reason = e.reason();
                log::error!("uplink: rating of {case} rejected in {ms} ms: {reason}");
                self.queue
                    .rating_failed(id, &reason)
                    .map(|()| RatingStep::Next)
            }
        };
        outcome.unwrap_or_else(|e| {
            log::error!(
                "uplink: cannot record the rating of {case}: {}",
                UplinkError::from(e).reason()
            );
            RatingStep::Pause(super::QUEUE_ERROR_PAUSE)
        })
    }
}
