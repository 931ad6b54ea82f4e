//! Tests of the queue against real SQLite files in temporary directories.

use super::*;
use crate::test_utils::specimen_upload;

fn fresh() -> (tempfile::TempDir, std::path::PathBuf, Queue) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.sqlite");
    let q = Queue::open(&path).unwrap();
    (dir, path, q)
}

fn ack(case: &str) -> RegistrationAck {
    RegistrationAck {
        case_number: case.into(),
        received_at: "2026-03-01T10:00:00+08:00".into(),
        replayed: false,
    }
}

fn raw(path: &Path) -> Connection {
    Connection::open(path).unwrap()
}

#[test]
fn seal_then_claim_returns_the_same_upload() {
    let (_d, _p, q) = fresh();
    let up = specimen_upload(1);
    let r = q.seal(&up).unwrap();
    assert_eq!(r.local_ref, "L-SPECIMEN-0001");
    assert_eq!(r.status, Status::Pending);
    assert_eq!(r.page_count, 2);
    assert_eq!(r.masked_id, up.petitioner.id_number.masked());
    assert!(!r.masked_id.contains("110105"));
    let c = q.claim_next(Utc::now()).unwrap().unwrap();
    assert_eq!(c.upload, up);
    assert_eq!(c.attempts, 1);
    assert_eq!(
        q.receipt("L-SPECIMEN-0001").unwrap().unwrap().status,
        Status::Uploading
    );
    assert!(q.claim_next(Utc::now()).unwrap().is_none());
}

#[test]
fn sealing_the_same_key_twice_keeps_one_row() {
    let (_d, p, q) = fresh();
    let up = specimen_upload(1);
    let a = q.seal(&up).unwrap();
    let b = q.seal(&up).unwrap();
    assert_eq!(a, b);
    let n: i64 = raw(&p)
        .query_row("SELECT COUNT(*) FROM registrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    // The same key with different content is refused, not silently dropped.
    let mut other = specimen_upload(1);
    other.category = "housing".into();
    assert!(matches!(
        q.seal(&other),
        Err(QueueError::KeyConflict { .. })
    ));
    // A new key reusing a local reference is refused too.
    let mut clash = specimen_upload(2);
    clash.local_ref = up.local_ref.clone();
    assert!(matches!(
        q.seal(&clash),
        Err(QueueError::LocalRefConflict(_))
    ));
    assert_eq!(q.counts().unwrap().pending, 1);
}

#[test]
fn acknowledgement_purges_the_payload() {
    let (_d, p, q) = fresh();
    q.seal(&specimen_upload(1)).unwrap();
    let c = q.claim_next(Utc::now()).unwrap().unwrap();
    assert!(matches!(
        q.mark_acknowledged(c.id, &ack("  ")),
        Err(QueueError::EmptyCaseNumber)
    ));
    q.mark_acknowledged(c.id, &ack("XF-2026-000001")).unwrap();
    let payload: Option<Vec<u8>> = raw(&p)
        .query_row(
            "SELECT payload FROM registrations WHERE id = ?1",
            [c.id],
            |r| r.get(0),
        )
        .unwrap();
    assert!(payload.is_none());
    let r = q.receipt("L-SPECIMEN-0001").unwrap().unwrap();
    assert_eq!(r.status, Status::Acknowledged);
    assert_eq!(r.case_number.as_deref(), Some("XF-2026-000001"));
    // A second acknowledgement keeps the first case number; a late retry cannot revive it.
    q.mark_acknowledged(c.id, &ack("XF-2026-999999")).unwrap();
    assert!(matches!(
        q.mark_retry(c.id, "late", Utc::now()),
        Err(QueueError::WrongStatus {
            status: Status::Acknowledged,
            ..
        })
    ));
    let r = q.receipt("L-SPECIMEN-0001").unwrap().unwrap();
    assert_eq!(r.case_number.as_deref(), Some("XF-2026-000001"));
    // Re-sealing an acknowledged key returns its receipt and adds nothing.
    assert_eq!(
        q.seal(&specimen_upload(1)).unwrap().status,
        Status::Acknowledged
    );
    assert!(q.claim_next(Utc::now()).unwrap().is_none());
}

#[test]
fn retry_waits_until_due_and_redacts_the_reason() {
    let (_d, _p, q) = fresh();
    q.seal(&specimen_upload(1)).unwrap();
    let now = Utc::now();
    let c = q.claim_next(now).unwrap().unwrap();
    let due = now + TimeDelta::seconds(30);
    q.mark_retry(c.id, "server said 11010519491231002X is bad", due)
        .unwrap();
    let r = q.receipt("L-SPECIMEN-0001").unwrap().unwrap();
    assert_eq!(r.status, Status::Pending);
    assert_eq!(
        r.last_error.as_deref(),
        Some("server said [redacted] is bad")
    );
    assert!(q.claim_next(now).unwrap().is_none());
    assert_eq!(
        q.next_due(now).unwrap(),
        DateTime::from_timestamp_millis(due.timestamp_millis())
    );
    let c2 = q.claim_next(due).unwrap().unwrap();
    assert_eq!((c2.id, c2.attempts), (c.id, 2));
}

#[test]
fn a_row_parked_far_ahead_by_a_clock_jump_is_served() {
    let (_d, p, q) = fresh();
    q.seal(&specimen_upload(1)).unwrap();
    let far = (Utc::now() + TimeDelta::days(3650)).timestamp_millis();
    raw(&p)
        .execute("UPDATE registrations SET next_attempt_at_ms = ?1", [far])
        .unwrap();
    assert!(q.claim_next(Utc::now()).unwrap().is_some());
}

#[test]
fn failed_rows_keep_their_payload_and_are_not_claimed() {
    let (_d, p, q) = fresh();
    q.seal(&specimen_upload(1)).unwrap();
    let c = q.claim_next(Utc::now()).unwrap().unwrap();
    q.mark_failed(c.id, "rejected: 400 bad_request").unwrap();
    let has: bool = raw(&p)
        .query_row("SELECT payload IS NOT NULL FROM registrations", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(has);
    assert!(q.claim_next(Utc::now()).unwrap().is_none());
    assert_eq!(
        q.counts().unwrap(),
        QueueCounts {
            failed: 1,
            ..Default::default()
        }
    );
    assert!(matches!(
        q.mark_failed(999, "x"),
        Err(QueueError::NotFound(999))
    ));
}

#[test]
fn requeue_interrupted_puts_uploading_rows_back() {
    let (_d, _p, q) = fresh();
    q.seal(&specimen_upload(1)).unwrap();
    q.seal(&specimen_upload(2)).unwrap();
    q.claim_next(Utc::now()).unwrap().unwrap();
    assert_eq!(q.counts().unwrap().uploading, 1);
    assert_eq!(q.requeue_interrupted().unwrap(), 1);
    assert_eq!(
        q.counts().unwrap(),
        QueueCounts {
            pending: 2,
            ..Default::default()
        }
    );
    let c = q.claim_next(Utc::now()).unwrap().unwrap();
    assert_eq!(c.upload.local_ref, "L-SPECIMEN-0001");
    assert_eq!(c.attempts, 2);
}

#[test]
fn everything_survives_a_restart() {
    let (_d, p, q) = fresh();
    q.seal(&specimen_upload(1)).unwrap();
    q.seal(&specimen_upload(2)).unwrap();
    q.seal(&specimen_upload(3)).unwrap();
    let c = q.claim_next(Utc::now()).unwrap().unwrap();
    q.mark_acknowledged(c.id, &ack("XF-2026-000001")).unwrap();
    q.claim_next(Utc::now()).unwrap().unwrap(); // Left uploading by the "power cut".
    drop(q);

    let q = Queue::open(&p).unwrap();
    assert_eq!(
        q.counts().unwrap(),
        QueueCounts {
            pending: 1,
            uploading: 1,
            acknowledged: 1,
            failed: 0
        }
    );
    assert_eq!(q.requeue_interrupted().unwrap(), 1);
    let c = q.claim_next(Utc::now()).unwrap().unwrap();
    assert_eq!(c.upload, specimen_upload(2));
    let r = q.receipt("L-SPECIMEN-0001").unwrap().unwrap();
    assert_eq!(r.case_number.as_deref(), Some("XF-2026-000001"));
    let recent: Vec<_> = q
        .recent_receipts(2)
        .unwrap()
        .into_iter()
        .map(|r| r.local_ref)
        .collect();
    assert_eq!(recent, ["L-SPECIMEN-0003", "L-SPECIMEN-0002"]);
}

#[test]
fn a_corrupt_row_is_failed_and_never_wedges_the_queue() {
    let (_d, p, q) = fresh();
    q.seal(&specimen_upload(1)).unwrap();
    q.seal(&specimen_upload(2)).unwrap();
    q.seal(&specimen_upload(3)).unwrap();
    let db = raw(&p);
    db.execute(
        "UPDATE registrations SET payload = x'00ff00ff' WHERE local_ref = 'L-SPECIMEN-0001'",
        [],
    )
    .unwrap();
    // Garbage that even matches its digest must not decode either.
    let junk = b"{\"not\":\"an upload\"}";
    db.execute(
        "UPDATE registrations SET payload = ?1, payload_sha256 = ?2 WHERE local_ref = 'L-SPECIMEN-0002'",
        params![junk.to_vec(), payload::digest(junk)],
    )
    .unwrap();

    let err = q.claim_next(Utc::now()).unwrap_err();
    assert!(
        matches!(&err, QueueError::CorruptPayload { local_ref, source: PayloadError::DigestMismatch, .. } if local_ref == "L-SPECIMEN-0001"),
        "{err:?}"
    );
    let err = q.claim_next(Utc::now()).unwrap_err();
    assert!(matches!(
        err,
        QueueError::CorruptPayload {
            source: PayloadError::Undecodable,
            ..
        }
    ));
    let c = q.claim_next(Utc::now()).unwrap().unwrap();
    assert_eq!(c.upload, specimen_upload(3));
    let r = q.receipt("L-SPECIMEN-0001").unwrap().unwrap();
    assert_eq!(r.status, Status::Failed);
    assert_eq!(
        q.counts().unwrap(),
        QueueCounts {
            uploading: 1,
            failed: 2,
            ..Default::default()
        }
    );
}

#[test]
fn two_connections_never_claim_the_same_row() {
    let (_d, p, q) = fresh();
    for n in 1..=20 {
        q.seal(&specimen_upload(n)).unwrap();
    }
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let p = p.clone();
            std::thread::spawn(move || {
                let q = Queue::open(&p).unwrap();
                let mut got = Vec::new();
                while let Some(c) = q.claim_next(Utc::now()).unwrap() {
                    got.push(c.id);
                }
                got
            })
        })
        .collect();
    let mut all: Vec<i64> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(all, (1..=20).collect::<Vec<_>>());
}

#[test]
fn errors_and_debug_output_hold_no_personal_data() {
    let (_d, _p, q) = fresh();
    let up = specimen_upload(1);
    let r = q.seal(&up).unwrap();
    let c = q.claim_next(Utc::now()).unwrap().unwrap();
    let text = format!("{r:?} {c:?}");
    assert!(!text.contains("11010519491231002X"), "{text}");
    assert!(!text.contains("样本人"), "{text}");
}

#[test]
fn extreme_clock_values_do_not_panic() {
    let (_d, _p, q) = fresh();
    q.seal(&specimen_upload(1)).unwrap();
    assert!(q.next_due(DateTime::<Utc>::MAX_UTC).unwrap().is_some());
    let c = q.claim_next(DateTime::<Utc>::MAX_UTC).unwrap().unwrap();
    // A retry "at the end of time" is clamped to MAX_RETRY_DELAY from now.
    q.mark_retry(c.id, "x", DateTime::<Utc>::MAX_UTC).unwrap();
    assert!(q.claim_next(Utc::now()).unwrap().is_none());
    // Seen from a clock far in the past the row looks parked by a clock jump, so it is due.
    let c = q.claim_next(DateTime::<Utc>::MIN_UTC).unwrap().unwrap();
    q.mark_retry(c.id, "x", DateTime::<Utc>::MAX_UTC).unwrap();
    assert!(q
        .claim_next(Utc::now() + MAX_RETRY_DELAY + TimeDelta::seconds(1))
        .unwrap()
        .is_some());
}
