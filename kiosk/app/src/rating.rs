//! Queuing a petitioner's satisfaction rating: the ID number is sealed with
//! the case number to the registry's key as the row is written (the queue
//! does it) and goes no further; the uplink sends the row later. The terminal
//! holds no lookup key: the registry hashes the number itself.

use intake::RatingRequest;
use kiosk_queue::{NewRating, Queue, QueueError};

/// Stores the rating as a pending queue row under a fresh idempotency key.
pub fn queue_rating(queue: &Queue, req: &RatingRequest) -> Result<(), QueueError> {
    queue.queue_rating(&NewRating {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        case_number: req.case_number.clone(),
        id_number: req.id_number.clone(),
        score: req.score,
        reasons: req.reasons.clone(),
        rated_at: chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_privacy::IdNumber;
    use kiosk_queue::test_utils::{specimen_options, specimen_registry_key};

    #[test]
    fn the_kiosk_chips_are_exactly_the_registry_reasons() {
        let kiosk: Vec<&str> = intake::REASONS.iter().map(|r| r.code).collect();
        assert_eq!(kiosk, registry_api::RATING_REASONS);
    }

    #[test]
    fn a_rating_is_queued_with_its_rater_sealed_never_the_id_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        let q = Queue::open_with(&path, specimen_options()).unwrap();
        let id = IdNumber::new("11010519491231002X");
        let req = RatingRequest {
            id_number: id.clone(),
            case_number: "XF-2026-000001".into(),
            score: 4,
            reasons: vec!["timely".into()],
        };
        queue_rating(&q, &req).unwrap();
        let c = q.claim_rating(chrono::Utc::now()).unwrap().unwrap();
        let proof = registry_api::open_rater(specimen_registry_key(), &c.rating.rater_sealed)
            .expect("the registry opens the rater");
        assert_eq!(proof.id_number, id);
        assert_eq!(proof.case_number, "XF-2026-000001");
        assert_eq!(c.rating.score, 4);
        drop(q);
        let bytes = std::fs::read(&path).unwrap();
        let wal = std::fs::read(path.with_extension("db-wal")).unwrap_or_default();
        for b in [bytes, wal] {
            assert!(!b.windows(18).any(|w| w == b"11010519491231002X"));
        }
    }
}
