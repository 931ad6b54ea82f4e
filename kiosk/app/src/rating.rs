//! Queuing a petitioner's satisfaction rating: the ID number becomes its
//! keyed hash here and goes no further; the uplink sends the row later.

use intake::{History, Intake, RatingRequest, Screen};
use kiosk_queue::{NewRating, Queue, QueueError};
use registry_api::envelope::{id_lookup_key, LookupKey};

use crate::view::{category_label, ProgressRow, ViewModel};

/// Fills the progress and rating screens' part of the view.
pub fn fill_view(m: &Intake, v: &mut ViewModel) {
    v.query_mode = m.query_mode();
    let Some(q) = m.query() else { return };
    match &q.history {
        History::Loading => v.history_loading = true,
        History::Unavailable => {
            v.history_note = "登记系统暂时无法连接，请稍后再查询或咨询工作人员".into()
        }
        History::Loaded(rows) if rows.is_empty() => v.history_note = "您还没有登记记录".into(),
        History::Loaded(rows) => {
            v.progress = rows
                .iter()
                .map(|r| ProgressRow {
                    case_number: r.case_number.clone(),
                    date: r.registered_at.chars().take(10).collect(),
                    category: category_label(&r.category),
                    status: intake::rating::status_words(&r.status).into(),
                    can_rate: q.can_rate(&r.case_number),
                    rated: q.is_rated(&r.case_number),
                })
                .collect()
        }
    }
    if let (Screen::Rating, Some(d)) = (m.screen(), &q.draft) {
        v.rating_case = d.case_number.clone();
        v.rating_score = d.score.map_or(0, i32::from);
        v.rating_reasons = intake::REASONS
            .iter()
            .map(|r| d.reasons.contains(&r.code))
            .collect();
        v.rating_sending = d.sending;
    }
}

/// Stores the rating as a pending queue row under a fresh idempotency key.
pub fn queue_rating(queue: &Queue, key: &LookupKey, req: &RatingRequest) -> Result<(), QueueError> {
    queue.queue_rating(&NewRating {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        case_number: req.case_number.clone(),
        id_key: id_lookup_key(key, &req.id_number),
        score: req.score,
        reasons: req.reasons.clone(),
        rated_at: chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_privacy::IdNumber;
    use kiosk_queue::test_utils::specimen_options;

    #[test]
    fn the_kiosk_chips_are_exactly_the_registry_reasons() {
        let kiosk: Vec<&str> = intake::REASONS.iter().map(|r| r.code).collect();
        assert_eq!(kiosk, registry_api::RATING_REASONS);
    }

    #[test]
    fn a_rating_is_queued_with_the_keyed_hash_never_the_id_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        let q = Queue::open_with(&path, specimen_options()).unwrap();
        let key = LookupKey::generate();
        let id = IdNumber::new("11010519491231002X");
        let req = RatingRequest {
            id_number: id.clone(),
            case_number: "XF-2026-000001".into(),
            score: 4,
            reasons: vec!["timely".into()],
        };
        queue_rating(&q, &key, &req).unwrap();
        let c = q.claim_rating(chrono::Utc::now()).unwrap().unwrap();
        assert_eq!(c.rating.id_key, id_lookup_key(&key, &id));
        assert_eq!(c.rating.score, 4);
        drop(q);
        let bytes = std::fs::read(&path).unwrap();
        let wal = std::fs::read(path.with_extension("db-wal")).unwrap_or_default();
        for b in [bytes, wal] {
            assert!(!b.windows(18).any(|w| w == b"11010519491231002X"));
        }
    }
}
