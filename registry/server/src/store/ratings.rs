//! Satisfaction ratings and case statuses in the registry database: one
//! rating per closed case, stored once per idempotency key.

use chrono::{DateTime, SecondsFormat, Utc};
use registry_api::{RatingAck, RatingUpload, STATUSES, STATUS_CLOSED};
use super::db::{params, Durability, OptionalExtension, Sql};
use super::{china_time, Store, StoreError};

/// The outcome of [`Store::rate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateOutcome {
    /// Stored now.
    Created(RatingAck),
    /// The key was stored before with the same body; the earlier answer.
    Replayed(RatingAck),
    /// The key was stored before with a different body.
    Conflict,
    UnknownCase,
    /// The case was registered by someone else (another ID key).
    WrongPetitioner,
    /// The case is not closed yet.
    NotClosed,
    /// The case was rated before under another key.
    AlreadyRated,
}

/// The outcome of [`Store::set_status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusOutcome {
    Set,
    UnknownCase,
    UnknownStatus,
}

impl Store {
    /// Stores a rating under `key` unless a check fails; a repeated key with
    /// the same body answers the earlier acknowledgement. `rater_lookup` is
    /// the keyed hash of the ID number the sealed rater holds.
    pub fn rate(
        &self,
        key: &str,
        rating: &RatingUpload,
        rater_lookup: &str,
        body_sha256: &str,
        now: DateTime<Utc>,
    ) -> Result<RateOutcome, StoreError> {
        let mut db = self.db()?;
        let mut tx = db.begin(Durability::Full)?;
        let earlier: Option<(String, String, String)> = tx
            .query_row(
                "SELECT r.case_number, t.received_at, t.body_sha256
                 FROM ratings t JOIN registrations r ON r.id = t.registration_id
                 WHERE t.idempotency_key = ?1",
                params![key],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()?;
        if let Some((case_number, received_at, hash)) = earlier {
            return Ok(if hash == body_sha256 {
                RateOutcome::Replayed(RatingAck {
                    case_number,
                    received_at,
                    replayed: true,
                })
            } else {
                RateOutcome::Conflict
            });
        }
        let case: Option<(i64, String, String)> = tx
            .query_row(
                "SELECT id, id_lookup, status FROM registrations WHERE case_number = ?1",
                params![rating.case_number],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()?;
        let Some((id, id_lookup, status)) = case else {
            return Ok(RateOutcome::UnknownCase);
        };
        if id_lookup != rater_lookup {
            return Ok(RateOutcome::WrongPetitioner);
        }
        if status != STATUS_CLOSED {
            return Ok(RateOutcome::NotClosed);
        }
        let rated: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM ratings WHERE registration_id = ?1)",
            params![id],
            |row| row.get(0),
        )?;
        if rated {
            return Ok(RateOutcome::AlreadyRated);
        }
        let received_at = china_time(now).to_rfc3339_opts(SecondsFormat::Secs, false);
        tx.execute(
            "INSERT INTO ratings (idempotency_key, body_sha256, registration_id, score, reasons,
                                  terminal_id, rated_at, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                key,
                body_sha256,
                id,
                rating.score,
                rating.reasons.join(","),
                rating.terminal_id,
                rating.rated_at,
                received_at
            ],
        )?;
        tx.commit()?;
        Ok(RateOutcome::Created(RatingAck {
            case_number: rating.case_number.clone(),
            received_at,
            replayed: false,
        }))
    }

    /// Sets a registration's status (one of [`STATUSES`]).
    pub fn set_status(&self, case_number: &str, status: &str) -> Result<StatusOutcome, StoreError> {
        if !STATUSES.contains(&status) {
            return Ok(StatusOutcome::UnknownStatus);
        }
        let mut db = self.db()?;
        db.durability(Durability::Full)?;
        let n = db.execute(
            "UPDATE registrations SET status = ?2 WHERE case_number = ?1",
            params![case_number, status],
        )?;
        Ok(if n == 0 {
            StatusOutcome::UnknownCase
        } else {
            StatusOutcome::Set
        })
    }

    /// The rating of a case (score and reason codes), if it has one.
    #[cfg(test)]
    pub fn rating(&self, case_number: &str) -> Result<Option<(u8, Vec<String>)>, StoreError> {
        let found: Option<(u8, String)> = self
            .db()?
            .query_row(
                "SELECT t.score, t.reasons FROM ratings t
                 JOIN registrations r ON r.id = t.registration_id WHERE r.case_number = ?1",
                params![case_number],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        Ok(found.map(|(score, reasons)| {
            let reasons = reasons
                .split(',')
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect();
            (score, reasons)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_lookup_key;
    use super::*;
    use chrono::TimeZone;

    fn rating(case: &str, score: u8) -> RatingUpload {
        RatingUpload {
            case_number: case.into(),
            rater: "c2VhbGVk".into(),
            score,
            reasons: vec!["timely".into(), "resolved".into()],
            terminal_id: "T-1".into(),
            rated_at: "2026-11-28T10:00:00+08:00".into(),
        }
    }

    #[test]
    fn ratings_need_a_closed_case_of_the_same_petitioner_and_are_stored_once() {
        let store = Store::open_in_memory().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 2, 0, 0).unwrap();
        let up = super::super::tests::upload("k1", "11010519491231002X");
        let super::super::RegisterOutcome::Created(ack) =
            store.register(&up, "h", &[], now).unwrap()
        else {
            panic!("not created")
        };
        let case = ack.case_number;
        let key = registry_api::envelope::id_lookup_key(
            &test_lookup_key(),
            &kiosk_privacy::IdNumber::new("11010519491231002X"),
        );
        assert_eq!(
            store
                .rate("r1", &rating("XF-2099-000001", 4), &key, "a", now)
                .unwrap(),
            RateOutcome::UnknownCase
        );
        assert_eq!(
            store
                .rate("r1", &rating(&case, 4), &"0".repeat(64), "a", now)
                .unwrap(),
            RateOutcome::WrongPetitioner
        );
        assert_eq!(
            store.rate("r1", &rating(&case, 4), &key, "a", now).unwrap(),
            RateOutcome::NotClosed
        );
        assert_eq!(
            store.set_status(&case, "done").unwrap(),
            StatusOutcome::UnknownStatus
        );
        assert_eq!(
            store.set_status("XF-2099-000001", "closed").unwrap(),
            StatusOutcome::UnknownCase
        );
        assert_eq!(
            store.set_status(&case, "closed").unwrap(),
            StatusOutcome::Set
        );
        let RateOutcome::Created(first) =
            store.rate("r1", &rating(&case, 4), &key, "a", now).unwrap()
        else {
            panic!("not stored")
        };
        assert!(!first.replayed);
        let RateOutcome::Replayed(again) =
            store.rate("r1", &rating(&case, 4), &key, "a", now).unwrap()
        else {
            panic!("not replayed")
        };
        assert_eq!(again.received_at, first.received_at);
        assert_eq!(
            store.rate("r1", &rating(&case, 2), &key, "b", now).unwrap(),
            RateOutcome::Conflict
        );
        assert_eq!(
            store.rate("r2", &rating(&case, 2), &key, "b", now).unwrap(),
            RateOutcome::AlreadyRated
        );
        assert_eq!(
            store.rating(&case).unwrap(),
            Some((4, vec!["timely".to_string(), "resolved".to_string()]))
        );
        let history = store.history(&key).unwrap();
        assert_eq!(history.registrations[0].rating, Some(4));
        assert_eq!(history.registrations[0].status, "closed");
        assert_eq!(store.stats().unwrap().ratings, 1);
    }
}
