//! Tests of the queue against real SQLite files in temporary directories.

use super::*;
use crate::test_utils::{
    specimen_options, specimen_registry_key, specimen_upload, specimen_upload_with_voice,
    specimen_voice_note,
};

fn fresh() -> (tempfile::TempDir, std::path::PathBuf, Queue) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.sqlite");
    let q = Queue::open_with(&path, specimen_options()).unwrap();
    (dir, path, q)
}

/// What the registry reads from a claimed row: the metadata box with each
/// page's JPEG put back from its own box.
fn opened(c: &Claimed) -> RegistrationUpload {
    use base64::Engine as _;
    let key = specimen_registry_key();
    let mut up = key.open(&c.sealed).unwrap();
    assert_eq!(up.pages.len(), c.pages.len());
    for (page, sealed) in up.pages.iter_mut().zip(&c.pages) {
        assert_eq!(page.index, sealed.index);
        assert!(page.jpeg_base64.is_empty(), "page bytes in the metadata box");
        let jpeg = key.open_bytes(&sealed.sealed).unwrap();
        page.jpeg_base64 = base64::engine::general_purpose::STANDARD.encode(jpeg);
    }
    assert_eq!(up.voice_note.is_some(), c.voice_note.is_some());
    if let (Some(note), Some(sealed)) = (&mut up.voice_note, &c.voice_note) {
        assert_eq!(sealed.index, VOICE_NOTE_PART);
        assert!(note.ogg_opus_base64.is_empty(), "voice note bytes in the metadata box");
        let ogg = key.open_bytes(&sealed.sealed).unwrap();
        note.ogg_opus_base64 = base64::engine::general_purpose::STANDARD.encode(ogg);
    }
    up
}

/// Every file of the queue's directory (the database, its WAL and shared
/// memory), concatenated.
fn all_files(dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    bytes
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn ack(case: &str) -> RegistrationAck {
    RegistrationAck {
        case_number: case.into(),
        received_at: "2026-03-01T10:00:00+08:00".into(),
        replayed: false,
        likely_duplicate: false,
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
    assert_eq!(opened(&c), up);
    assert_eq!(c.local_ref, up.local_ref);
    assert_eq!(c.idempotency_key, up.idempotency_key);
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
fn acknowledgement_keeps_the_case_number_and_the_purge_deletes_the_payload() {
    let (_d, p, q) = fresh();
    q.seal(&specimen_upload(1)).unwrap();
    let c = q.claim_next(Utc::now()).unwrap().unwrap();
    assert!(matches!(
        q.mark_acknowledged(c.id, &ack("  ")),
        Err(QueueError::EmptyCaseNumber)
    ));
    q.mark_acknowledged(c.id, &ack("XF-2026-000001")).unwrap();
    let payload = || -> Option<Vec<u8>> {
        raw(&p)
            .query_row(
                "SELECT payload FROM registrations WHERE id = ?1",
                [c.id],
                |r| r.get(0),
            )
            .unwrap()
    };
    // Acknowledged, not yet purged: the sealed box waits for the purge.
    assert!(payload().is_some());
    assert_eq!(q.purge_acknowledged(10).unwrap(), 1);
    assert!(payload().is_none());
    assert_eq!(q.purge_acknowledged(10).unwrap(), 0);
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
    assert_eq!(c.local_ref, "L-SPECIMEN-0001");
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

    let q = Queue::open_with(&p, specimen_options()).unwrap();
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
    assert_eq!(opened(&c), specimen_upload(2));
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
    db.execute(
        "UPDATE registrations SET payload = NULL WHERE local_ref = 'L-SPECIMEN-0002'",
        [],
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
            source: PayloadError::Missing,
            ..
        }
    ));
    let c = q.claim_next(Utc::now()).unwrap().unwrap();
    assert_eq!(opened(&c), specimen_upload(3));
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

#[test]
fn the_terminal_cannot_read_back_what_it_sealed_and_the_file_holds_nothing_personal() {
    let (dir, p, q) = fresh();
    let up = specimen_upload(7);
    q.seal(&up).unwrap();
    let c = q.claim_next(Utc::now()).unwrap().unwrap();
    // Only the registry's secret key opens the row; any other key fails.
    let other = registry_api::envelope::SealSecretKey::generate();
    assert!(other.open(&c.sealed).is_err());
    assert_eq!(opened(&c), up);
    q.mark_retry(c.id, "offline", Utc::now()).unwrap();
    drop(q);
    // Grep the raw bytes of every file of the database for the specimen's data.
    let needles: Vec<Vec<u8>> = vec![
        b"11010519491231002X".to_vec(),
        "样本人".as_bytes().to_vec(),
        "样本路".as_bytes().to_vec(),
        b"13800000000".to_vec(),
        b"SPECIMEN page one".to_vec(),
        "拖欠工资".as_bytes().to_vec(),
    ];
    let mut checked = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        checked += bytes.len();
        for n in &needles {
            assert!(!bytes.windows(n.len()).any(|w| w == n.as_slice()), "personal data in the queue file");
        }
    }
    assert!(checked > 4096, "the database files were read");
    // The readable summary is still there.
    let r = Queue::open(&p).unwrap().receipt("L-SPECIMEN-0007").unwrap().unwrap();
    assert_eq!((r.category.as_str(), r.page_count), ("labour", 2));
    assert!(!r.masked_id.is_empty() && !r.masked_id.contains("110105"), "{}", r.masked_id);
}

#[test]
fn without_a_key_nothing_is_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let q = Queue::open(&dir.path().join("q.db")).unwrap();
    assert!(matches!(q.seal(&specimen_upload(1)), Err(QueueError::NoSealKey)));
    assert_eq!(q.counts().unwrap(), QueueCounts::default());
}

#[test]
fn below_the_disk_floor_intake_is_refused_and_the_queue_stays_intact() {
    let (_d, p, q) = fresh();
    q.seal(&specimen_upload(1)).unwrap();
    drop(q);
    let floor = QueueOptions { min_free_bytes: u64::MAX, ..specimen_options() };
    let q = Queue::open_with(&p, floor).unwrap();
    let err = q.seal(&specimen_upload(2)).unwrap_err();
    assert!(matches!(err, QueueError::LowDiskSpace { .. }), "{err:?}");
    assert!(err.to_string().starts_with("disk space low"), "{err}");
    assert!(q.check_space().is_err());
    assert_eq!(q.counts().unwrap().pending, 1);
    // The existing registration is still uploaded as usual.
    let c = q.claim_next(Utc::now()).unwrap().unwrap();
    assert_eq!(opened(&c), specimen_upload(1));
    assert!(q.free_bytes().unwrap() > 0);
}

#[test]
fn size_limits_are_checked_at_sealing() {
    let (_d, p, q) = fresh();
    drop(q);
    let small = QueueOptions { max_sealed_bytes: 200, ..specimen_options() };
    let q = Queue::open_with(&p, small).unwrap();
    assert!(matches!(q.seal(&specimen_upload(1)), Err(QueueError::TooLarge { limit: 200, .. })));
    let few = QueueOptions { max_pages: 1, ..specimen_options() };
    let q = Queue::open_with(&p, few).unwrap();
    assert!(matches!(q.seal(&specimen_upload(1)), Err(QueueError::TooManyPages { pages: 2, limit: 1 })));
    assert_eq!(q.counts().unwrap(), QueueCounts::default());
}

#[test]
fn failed_rows_show_their_reason_and_can_be_resent() {
    let (_d, _p, q) = fresh();
    q.seal(&specimen_upload(1)).unwrap();
    q.seal(&specimen_upload(2)).unwrap();
    let c = q.claim_next(Utc::now()).unwrap().unwrap();
    q.mark_failed(c.id, "registry rejected the request (400)").unwrap();
    let failed = q.failed_receipts().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].last_error.as_deref(), Some("registry rejected the request (400)"));
    let s = q.summary(Utc::now()).unwrap();
    assert_eq!((s.counts.pending, s.counts.failed), (1, 1));
    assert!(s.oldest_unsent_age.unwrap() > std::time::Duration::from_secs(3600));
    assert!(q.resend("L-SPECIMEN-0001").unwrap());
    assert!(!q.resend("L-SPECIMEN-0001").unwrap());
    let c = q.claim_next(Utc::now()).unwrap().unwrap();
    assert_eq!((c.local_ref.as_str(), c.attempts), ("L-SPECIMEN-0001", 1));
}

#[test]
fn rows_of_the_unsealed_version_1_are_sealed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let up = specimen_upload(4);
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(schema::MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        let json = serde_json::to_vec(&up).unwrap();
        conn.execute(
            "INSERT INTO registrations (idempotency_key, local_ref, category, page_count, sealed_at,
                 masked_id, payload, payload_sha256, status, last_status_change)
             VALUES (?1, ?2, 'labour', 2, ?3, 'x', ?4, ?5, 'pending', 'now')",
            params![up.idempotency_key, up.local_ref, up.sealed_at, json, payload::digest(&json)],
        )
        .unwrap();
    }
    // Without the key the old row waits; with it, it is sealed and sent.
    let q = Queue::open(&path).unwrap();
    assert!(q.claim_next(Utc::now()).unwrap().is_none());
    drop(q);
    let q = Queue::open_with(&path, specimen_options()).unwrap();
    let c = q.claim_next(Utc::now()).unwrap().unwrap();
    assert_eq!(opened(&c), up);
}

#[test]
fn reset_backoff_makes_parked_rows_due_at_once() {
    let (_d, _p, q) = fresh();
    q.seal(&specimen_upload(1)).unwrap();
    q.seal(&specimen_upload(2)).unwrap();
    let now = Utc::now();
    for _ in 0..2 {
        let c = q.claim_next(now).unwrap().unwrap();
        q.mark_retry(c.id, "offline", now + TimeDelta::hours(1)).unwrap();
    }
    assert!(q.claim_next(now).unwrap().is_none());
    assert_eq!(q.reset_backoff().unwrap(), 2);
    assert_eq!(q.claim_next(now).unwrap().unwrap().local_ref, "L-SPECIMEN-0001");
}

#[test]
fn pages_are_sealed_one_box_each_and_purged_with_the_payload() {
    let (_dir, path, q) = fresh();
    q.seal(&specimen_upload(1)).unwrap();
    let c = q.claim_next(Utc::now()).unwrap().unwrap();
    assert_eq!(c.pages.iter().map(|p| p.index).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(opened(&c), specimen_upload(1));
    q.mark_acknowledged(c.id, &ack("XF-2026-000001")).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let left = || -> i64 {
        conn.query_row("SELECT COUNT(*) FROM sealed_pages", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(left(), 2, "page boxes went before the purge");
    q.purge_acknowledged(10).unwrap();
    assert_eq!(left(), 0, "page boxes survived the purge");
}

#[test]
fn purged_boxes_leave_no_bytes_in_the_files() {
    let (dir, _path, q) = fresh();
    for n in 1..=3 {
        q.seal(&specimen_upload(n)).unwrap();
    }
    let mut boxes = Vec::new();
    for _ in 1..=2 {
        let c = q.claim_next(Utc::now()).unwrap().unwrap();
        boxes.push(c.sealed.clone());
        boxes.extend(c.pages.iter().map(|p| p.sealed.clone()));
        q.mark_acknowledged(c.id, &ack(&format!("XF-{}", c.id))).unwrap();
    }
    let kept = q.claim_next(Utc::now()).unwrap().unwrap();
    assert_eq!(q.purge_acknowledged(1).unwrap(), 1);
    assert_eq!(q.purge_acknowledged(10).unwrap(), 1);
    q.checkpoint();
    // Every file of the queue (database, WAL, shared memory), byte by byte:
    // no 64-byte run of a purged box is left, while the unsent row's box is.
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        files.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let holds = |b: &[u8]| {
        b.chunks_exact(64)
            .any(|w| files.windows(64).any(|f| f == w))
    };
    assert!(holds(&kept.sealed), "the unsent box is not in the files");
    for b in &boxes {
        assert!(!holds(b), "a purged box survived in the files");
    }
}

#[test]
fn a_damaged_page_box_fails_the_row_at_claim() {
    let (_dir, path, q) = fresh();
    q.seal(&specimen_upload(1)).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE sealed_pages SET sealed = X'00' WHERE page_index = 2", [])
        .unwrap();
    assert!(matches!(
        q.claim_next(Utc::now()),
        Err(QueueError::CorruptPayload { .. })
    ));
    assert_eq!(q.counts().unwrap().failed, 1);
}

#[test]
fn a_released_claim_is_pending_again_with_its_attempt_uncounted() {
    let (_d, _p, q) = fresh();
    q.seal(&specimen_upload(1)).unwrap();
    q.seal(&specimen_upload(2)).unwrap();
    let first = q.claim_next(Utc::now()).unwrap().unwrap();
    assert_eq!(first.attempts, 1);
    assert!(q.release(first.id).unwrap());
    assert_eq!(
        q.receipt(&first.local_ref).unwrap().unwrap().status,
        Status::Pending
    );
    // Oldest first still: the released row is claimed again, as a first attempt.
    let again = q.claim_next(Utc::now()).unwrap().unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(again.attempts, 1);
    // Only an uploading row moves: an acknowledged one stays acknowledged.
    q.mark_acknowledged(again.id, &ack("C-1")).unwrap();
    assert!(!q.release(again.id).unwrap());
    assert_eq!(
        q.receipt(&again.local_ref).unwrap().unwrap().status,
        Status::Acknowledged
    );
}

#[test]
fn a_voice_note_is_sealed_in_its_own_box_and_no_file_holds_it_plain() {
    let (dir, path, q) = fresh();
    let up = specimen_upload_with_voice(1);
    let note = up.voice_note.clone().unwrap();
    let ogg = note.ogg_opus().unwrap();
    q.seal(&up).unwrap();
    // Its own box, beside the pages under the voice note's part index.
    let indexes: Vec<i64> = {
        let conn = raw(&path);
        let mut stmt = conn.prepare("SELECT page_index FROM sealed_pages ORDER BY page_index").unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.map(Result::unwrap).collect()
    };
    assert_eq!(indexes, vec![1, 2, i64::from(VOICE_NOTE_PART)]);
    // The database, its WAL and shared memory while the queue is open, and
    // the files left once it is closed: no Ogg page, no Opus header, no run
    // of the note's bytes, nothing of its base64.
    let check = |files: &[u8]| {
        assert!(files.len() > 4096, "the database files were read");
        for needle in [&b"OggS"[..], b"OpusHead", b"OpusTags", b"SPECIMEN voice note"] {
            assert!(!contains(files, needle), "{} in the queue files", String::from_utf8_lossy(needle));
        }
        for chunk in ogg.chunks_exact(32).take(8) {
            assert!(!contains(files, chunk), "plain bytes of the note in the queue files");
        }
        assert!(!contains(files, &note.ogg_opus_base64.as_bytes()[..64]), "the note's base64 in the queue files");
    };
    let wal = path.with_extension("sqlite-wal");
    assert!(wal.exists(), "the WAL is there while the queue is open");
    check(&all_files(dir.path()));
    let c = q.claim_next(Utc::now()).unwrap().unwrap();
    assert_eq!(c.pages.iter().map(|p| p.index).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(c.parts().map(|p| p.index).collect::<Vec<_>>(), vec![1, 2, VOICE_NOTE_PART]);
    assert_eq!(opened(&c), up, "the registry gets the note back whole");
    q.mark_retry(c.id, "offline", Utc::now()).unwrap();
    drop(q);
    check(&all_files(dir.path()));
    // Sealing the same registration again is the same row; without its note it is another.
    let q = Queue::open_with(&path, specimen_options()).unwrap();
    assert_eq!(q.seal(&up).unwrap().local_ref, up.local_ref);
    assert!(matches!(q.seal(&specimen_upload(1)), Err(QueueError::KeyConflict { .. })));
}

#[test]
fn a_too_large_or_unusable_voice_note_is_refused_and_nothing_is_stored() {
    let (_d, path, q) = fresh();
    let limit = registry_api::MAX_VOICE_NOTE_BYTES;
    // Over 2 MiB: refused by the declared size, and by the bytes when the size lies.
    let big = registry_api::VoiceNoteUpload::new(&vec![0x4F; limit + 1], 1_000);
    let mut up = specimen_upload(1);
    up.voice_note = Some(big.clone());
    let err = q.seal(&up).unwrap_err();
    assert!(matches!(err, QueueError::VoiceNoteTooLarge { bytes, limit: l } if bytes == limit as u64 + 1 && l == limit), "{err:?}");
    assert_eq!(err.to_string(), format!("voice note too large: {} bytes, limit {limit}", limit + 1));
    let mut lying = big;
    lying.size_bytes = 1_000;
    up.voice_note = Some(lying);
    assert!(matches!(q.seal(&up), Err(QueueError::VoiceNoteTooLarge { .. })));
    // Not matching its hash, not Ogg Opus: the registry would refuse it.
    let mut tampered = specimen_voice_note();
    tampered.sha256 = registry_api::sha256_hex(b"another note");
    up.voice_note = Some(tampered);
    let err = q.seal(&up).unwrap_err();
    assert!(matches!(err, QueueError::BadVoiceNote(registry_api::VoiceNoteError::HashMismatch)), "{err:?}");
    assert_eq!(err.to_string(), "voice note refused: voice note does not match its sha256");
    up.voice_note = Some(registry_api::VoiceNoteUpload::new(b"RIFF\0\0\0\0WAVE SPECIMEN", 1_000));
    let err = q.seal(&up).unwrap_err();
    assert!(matches!(err, QueueError::BadVoiceNote(registry_api::VoiceNoteError::NotOggOpus)), "{err:?}");
    assert!(err.to_string().contains("not Ogg Opus"), "{err}");
    // The note counts against the registration's size limit.
    drop(q);
    let without = payload::seal(&specimen_upload(1), &specimen_registry_key().public_key())
        .unwrap()
        .total_len();
    let tight = QueueOptions { max_sealed_bytes: without + 1024, ..specimen_options() };
    let q = Queue::open_with(&path, tight).unwrap();
    let err = q.seal(&specimen_upload_with_voice(1)).unwrap_err();
    assert!(matches!(err, QueueError::TooLarge { .. }), "{err:?}");
    assert_eq!(q.counts().unwrap(), QueueCounts::default());
    let boxes: i64 = raw(&path).query_row("SELECT COUNT(*) FROM sealed_pages", [], |r| r.get(0)).unwrap();
    assert_eq!(boxes, 0, "a refused registration left a box");
    // The same registration without its note fits.
    q.seal(&specimen_upload(1)).unwrap();
}

#[test]
fn the_purge_removes_the_voice_note_with_the_rest_of_the_payload() {
    let (dir, path, q) = fresh();
    q.seal(&specimen_upload_with_voice(1)).unwrap();
    q.seal(&specimen_upload_with_voice(2)).unwrap();
    let c = q.claim_next(Utc::now()).unwrap().unwrap();
    let voice_box = c.voice_note.clone().unwrap().sealed;
    q.mark_acknowledged(c.id, &ack("XF-2026-000001")).unwrap();
    let notes = || -> i64 {
        raw(&path)
            .query_row(
                "SELECT COUNT(*) FROM sealed_pages WHERE registration_id = ?1 AND page_index = ?2",
                params![c.id, VOICE_NOTE_PART],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(notes(), 1, "the note's box went before the purge");
    assert_eq!(q.purge_acknowledged(10).unwrap(), 1);
    assert_eq!(notes(), 0, "the note's box survived the purge");
    q.checkpoint();
    let files = all_files(dir.path());
    let kept = q.claim_next(Utc::now()).unwrap().unwrap();
    assert!(voice_box.chunks_exact(64).all(|w| !contains(&files, w)), "a purged voice box left bytes in the files");
    assert!(kept.voice_note.unwrap().sealed.chunks_exact(64).any(|w| contains(&files, w)), "the unsent note's box is not in the files");
}
