//! The outbox of satisfaction ratings, beside the registrations.
//!
//! A rating proves who rated by a sealed box (`registry_api::seal_rater`):
//! the petitioner's ID number and the case number, sealed to the registry's
//! key when the rating is queued, so the terminal holds no lookup key and
//! cannot read the number back; the registry opens the box, hashes the
//! number and compares it with the case's petitioner. The rest of the row (a
//! case number, a score and reason codes) is nothing personal and stays in
//! the clear, for `kiosk queue` to show. It moves like a registration row,
//! `pending → uploading → failed`, oldest first, with the caller's
//! idempotency key so the registry stores it once however often it is sent;
//! once the registry has it, the row is deleted at once (`secure_delete`
//! zeroes its page): the terminal keeps no record of who rated what.

use chrono::{DateTime, Utc};
use kiosk_privacy::IdNumber;
use rusqlite::{params, OptionalExtension};

use crate::{clean_reason, horizon, now_text, Queue, QueueError};

/// A rating to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRating {
    /// Client-generated, sent as the `Idempotency-Key` header.
    pub idempotency_key: String,
    pub case_number: String,
    /// The petitioner's ID number: sealed with the case number to the
    /// registry's key by [`Queue::queue_rating`], never stored as it is.
    pub id_number: IdNumber,
    /// 1 to 5.
    pub score: u8,
    /// Reason codes.
    pub reasons: Vec<String>,
    /// RFC 3339.
    pub rated_at: String,
}

/// A queued rating as it is sent: the rater sealed, the rest in the clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedRating {
    pub idempotency_key: String,
    pub case_number: String,
    /// `registry_api::seal_rater` of the case number and the ID number.
    pub rater_sealed: Vec<u8>,
    pub score: u8,
    pub reasons: Vec<String>,
    pub rated_at: String,
}

/// A rating claimed for upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedRating {
    pub id: i64,
    pub rating: QueuedRating,
    /// Attempts so far, this one included.
    pub attempts: u32,
}

/// A queued rating as the queue reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingRow {
    pub case_number: String,
    pub score: u8,
    /// `pending`, `uploading`, `acknowledged` or `failed`.
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
}

impl Queue {
    /// Stores a pending rating (fsynced on a sealing connection), its rater
    /// (ID number and case number) sealed to the registry's key. Queuing a key
    /// that is already queued with the same content changes nothing.
    pub fn queue_rating(&self, r: &NewRating) -> Result<(), QueueError> {
        if !(1..=5).contains(&r.score) {
            return Err(QueueError::BadRating("score must be 1 to 5"));
        }
        if r.case_number.trim().is_empty() || r.id_number.expose().trim().is_empty() {
            return Err(QueueError::BadRating("case number and ID number are required"));
        }
        let key = self.opts.seal_key.as_ref().ok_or(QueueError::NoSealKey)?;
        let rater_sealed = registry_api::seal_rater(key, &r.case_number, &r.id_number)
            .map_err(QueueError::Seal)?;
        self.immediate(|conn| {
            let earlier: Option<(String, i64)> = conn
                .query_row(
                    "SELECT case_number, score FROM ratings WHERE idempotency_key = ?1",
                    [&r.idempotency_key],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            match earlier {
                Some((case, score)) if case == r.case_number && score == i64::from(r.score) => {
                    Ok(())
                }
                Some(_) => Err(QueueError::BadRating(
                    "idempotency key reused for another rating",
                )),
                None => {
                    conn.execute(
                        "INSERT INTO ratings (idempotency_key, case_number, rater_sealed, score,
                                              reasons, rated_at, status, last_status_change)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7)",
                        params![
                            r.idempotency_key,
                            r.case_number,
                            rater_sealed,
                            r.score,
                            r.reasons.join(","),
                            r.rated_at,
                            now_text()
                        ],
                    )?;
                    Ok(())
                }
            }
        })
    }

    /// Claims the oldest pending rating due at `now`: marks it uploading and counts the attempt.
    pub fn claim_rating(&self, now: DateTime<Utc>) -> Result<Option<ClaimedRating>, QueueError> {
        let now_ms = now.timestamp_millis();
        let horizon_ms = horizon(now).timestamp_millis();
        self.immediate(|conn| {
            let row = conn
                .query_row(
                    "SELECT id, idempotency_key, case_number, rater_sealed, score, reasons, rated_at,
                            attempts
                     FROM ratings
                     WHERE status = 'pending' AND rater_sealed IS NOT NULL
                       AND (next_attempt_at_ms <= ?1 OR next_attempt_at_ms > ?2)
                     ORDER BY id LIMIT 1",
                    params![now_ms, horizon_ms],
                    |row| {
                        let reasons: String = row.get(5)?;
                        Ok(ClaimedRating {
                            id: row.get(0)?,
                            rating: QueuedRating {
                                idempotency_key: row.get(1)?,
                                case_number: row.get(2)?,
                                rater_sealed: row.get(3)?,
                                score: row.get(4)?,
                                reasons: reasons
                                    .split(',')
                                    .filter(|c| !c.is_empty())
                                    .map(str::to_owned)
                                    .collect(),
                                rated_at: row.get(6)?,
                            },
                            attempts: u32::try_from(row.get::<_, i64>(7)? + 1).unwrap_or(u32::MAX),
                        })
                    },
                )
                .optional()?;
            if let Some(c) = &row {
                conn.execute(
                    "UPDATE ratings SET status = 'uploading', attempts = attempts + 1,
                         last_status_change = ?2 WHERE id = ?1",
                    params![c.id, now_text()],
                )?;
            }
            Ok(row)
        })
    }

    /// The registry stored the rating (or had stored it under this key): the
    /// row is deleted. A crash before this commit sends it again, and the
    /// registry answers the replay with the same acknowledgement.
    pub fn rating_acknowledged(&self, id: i64) -> Result<(), QueueError> {
        let n = self.conn.execute("DELETE FROM ratings WHERE id = ?1", [id])?;
        if n == 0 {
            return Err(QueueError::NotFound(id));
        }
        Ok(())
    }

    /// Puts a claimed rating back to pending, due again at `next_attempt_at`.
    pub fn rating_retry(
        &self,
        id: i64,
        reason: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), QueueError> {
        let due_ms = next_attempt_at.min(horizon(Utc::now())).timestamp_millis();
        self.rating_transition(id, "pending", Some(reason), due_ms)
    }

    /// The registry refused the rating for good; the reason is kept.
    pub fn rating_failed(&self, id: i64, reason: &str) -> Result<(), QueueError> {
        self.rating_transition(id, "failed", Some(reason), 0)
    }

    /// Puts ratings left uploading (crash, power cut) back to pending; call at start-up.
    pub fn requeue_interrupted_ratings(&self) -> Result<usize, QueueError> {
        Ok(self.conn.execute(
            "UPDATE ratings SET status = 'pending', next_attempt_at_ms = 0,
                 last_status_change = ?1 WHERE status = 'uploading'",
            [now_text()],
        )?)
    }

    /// Makes every pending rating due now (connectivity came back).
    pub fn reset_rating_backoff(&self) -> Result<usize, QueueError> {
        Ok(self.conn.execute(
            "UPDATE ratings SET next_attempt_at_ms = 0
             WHERE status = 'pending' AND next_attempt_at_ms != 0",
            [],
        )?)
    }

    /// When the earliest pending rating falls due, if any is pending.
    pub fn rating_next_due(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, QueueError> {
        let earliest: Option<i64> = self.conn.query_row(
            "SELECT MIN(next_attempt_at_ms) FROM ratings WHERE status = 'pending'",
            [],
            |r| r.get(0),
        )?;
        Ok(
            earliest.map(|ms| match DateTime::from_timestamp_millis(ms) {
                Some(t) if t <= horizon(now) => t,
                _ => now,
            }),
        )
    }

    /// Every queued rating, oldest first.
    pub fn ratings(&self) -> Result<Vec<RatingRow>, QueueError> {
        let mut stmt = self.conn.prepare(
            "SELECT case_number, score, status, attempts, last_error FROM ratings ORDER BY id",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(RatingRow {
                case_number: row.get(0)?,
                score: row.get(1)?,
                status: row.get(2)?,
                attempts: u32::try_from(row.get::<_, i64>(3)?).unwrap_or(0),
                last_error: row.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn rating_transition(
        &self,
        id: i64,
        status: &str,
        reason: Option<&str>,
        due_ms: i64,
    ) -> Result<(), QueueError> {
        let n = self.conn.execute(
            "UPDATE ratings SET status = ?2, last_error = ?3, next_attempt_at_ms = ?4,
                 last_status_change = ?5 WHERE id = ?1 AND status != 'acknowledged'",
            params![id, status, reason.map(clean_reason), due_ms, now_text()],
        )?;
        if n == 0 {
            let exists: bool = self.conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM ratings WHERE id = ?1)",
                [id],
                |r| r.get(0),
            )?;
            if !exists {
                return Err(QueueError::NotFound(id));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::{specimen_options, specimen_registry_key};

    const ID: &str = "11010519491231002X";

    fn rating(n: u32, score: u8) -> NewRating {
        NewRating {
            idempotency_key: format!("rating-{n}"),
            case_number: format!("XF-2026-{n:06}"),
            id_number: IdNumber::new(ID),
            score,
            reasons: vec!["timely".into(), "resolved".into()],
            rated_at: "2026-11-28T10:00:00+08:00".into(),
        }
    }

    #[test]
    fn an_acknowledged_rating_leaves_no_trace_in_the_queue_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        let q = Queue::open_with(&path, specimen_options()).unwrap();
        let r = rating(7, 5);
        q.queue_rating(&r).unwrap();
        let c = q.claim_rating(Utc::now()).unwrap().unwrap();
        let sealed = c.rating.rater_sealed.clone();
        q.rating_acknowledged(c.id).unwrap();
        assert!(q.ratings().unwrap().is_empty());
        q.checkpoint();
        drop(q);
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(ID), "the ID number reached the disk");
            assert!(!text.contains("XF-2026-000007"), "the case is still on disk");
            assert!(!bytes.windows(sealed.len()).any(|w| w == sealed), "the sealed rater is still on disk");
        }
    }

    #[test]
    fn ratings_survive_reopen_and_are_claimed_oldest_first_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("queue.sqlite");
        {
            let q = Queue::open_with(&path, specimen_options()).unwrap();
            q.queue_rating(&rating(1, 4)).unwrap();
            q.queue_rating(&rating(2, 2)).unwrap();
            q.queue_rating(&rating(1, 4)).unwrap();
            assert!(matches!(
                q.queue_rating(&rating(1, 3)),
                Err(QueueError::BadRating(_))
            ));
            assert!(matches!(
                q.queue_rating(&rating(3, 6)),
                Err(QueueError::BadRating(_))
            ));
            // Claimed, then the process dies mid-upload.
            let c = q.claim_rating(Utc::now()).unwrap().unwrap();
            assert_eq!((c.rating.case_number.as_str(), c.rating.score), ("XF-2026-000001", 4));
            assert_eq!(c.rating.idempotency_key, "rating-1");
            assert_eq!(c.attempts, 1);
        }
        let q = Queue::open(&path).unwrap();
        assert_eq!(q.ratings().unwrap().len(), 2, "queued once per key");
        assert_eq!(q.requeue_interrupted_ratings().unwrap(), 1);
        let now = Utc::now();
        let c = q.claim_rating(now).unwrap().unwrap();
        assert_eq!(c.rating.case_number, "XF-2026-000001", "oldest first");
        assert_eq!(c.attempts, 2);
        q.rating_retry(
            c.id,
            "registry unavailable (503)",
            now + chrono::TimeDelta::seconds(60),
        )
        .unwrap();
        let second = q.claim_rating(now).unwrap().unwrap();
        assert_eq!(second.rating.case_number, "XF-2026-000002");
        q.rating_failed(
            second.id,
            "registry rejected the request (404): unknown_case",
        )
        .unwrap();
        assert!(
            q.claim_rating(now).unwrap().is_none(),
            "the first one waits"
        );
        assert!(q.rating_next_due(now).unwrap().unwrap() > now);
        assert_eq!(q.reset_rating_backoff().unwrap(), 1);
        let c = q.claim_rating(now).unwrap().unwrap();
        assert_eq!(c.attempts, 3);
        q.rating_acknowledged(c.id).unwrap();
        assert!(
            matches!(q.rating_retry(c.id, "late", now), Err(QueueError::NotFound(_))),
            "an acknowledged rating is gone"
        );
        assert!(q.claim_rating(now).unwrap().is_none());
        assert_eq!(q.rating_next_due(now).unwrap(), None);
        let rows = q.ratings().unwrap();
        assert_eq!(rows.len(), 1, "only the failed one is kept, for the clerk");
        assert_eq!(rows[0].status, "failed");
        assert_eq!(
            rows[0].last_error.as_deref(),
            Some("registry rejected the request (404): unknown_case")
        );
        assert!(matches!(
            q.rating_acknowledged(99),
            Err(QueueError::NotFound(99))
        ));
    }

    /// The rater travels sealed: the registry's secret key opens it to the
    /// case and the ID number; the queue's files never hold the number.
    #[test]
    fn a_rating_holds_its_rater_sealed_to_the_registry_and_the_number_never_reaches_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        let q = Queue::open_with(&path, specimen_options()).unwrap();
        q.queue_rating(&rating(3, 2)).unwrap();
        let c = q.claim_rating(Utc::now()).unwrap().unwrap();
        let proof = registry_api::open_rater(specimen_registry_key(), &c.rating.rater_sealed)
            .expect("the registry opens the rater");
        assert_eq!(proof.case_number, "XF-2026-000003");
        assert_eq!(proof.id_number.expose(), ID);
        let other = registry_api::envelope::SealSecretKey::generate();
        assert!(registry_api::open_rater(&other, &c.rating.rater_sealed).is_err());
        q.checkpoint();
        drop(q);
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            assert!(!bytes.windows(ID.len()).any(|w| w == ID.as_bytes()));
        }
        // Without the registry's public key there is nothing to seal to.
        let bare = Queue::open(&dir.path().join("bare.db")).unwrap();
        assert!(matches!(bare.queue_rating(&rating(4, 5)), Err(QueueError::NoSealKey)));
    }
}
