//! Connection set-up and schema migrations, tracked by `PRAGMA user_version`.
//!
//! Each entry of [`MIGRATIONS`] moves the schema one version forward and runs
//! in its own transaction together with the version bump, so a power cut
//! during an upgrade leaves either the old or the new schema. Never edit a
//! shipped migration; append a new one.
//!
//! A terminal that falls back from a new release to the one before (A/B
//! updates, `image-build/README.md`) opens a queue the new one migrated. So
//! the queue records, in `queue_meta`, the oldest schema version whose
//! program can still use it (`readable_from`), and a program opens a newer
//! schema as it is when its own version is at least that. A migration that
//! only adds tables or columns with defaults keeps `readable_from`; one
//! that changes what existing rows mean is listed in [`BREAKING`] and
//! raises it to its own version.

use rusqlite::Connection;

use crate::QueueError;

/// How long a connection waits for another connection's write lock.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The migrations, in order; entry `n` takes `user_version` from `n` to `n + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // Version 1: the outbox of sealed registrations.
    "CREATE TABLE registrations (
        id                 INTEGER PRIMARY KEY AUTOINCREMENT,
        idempotency_key    TEXT    NOT NULL UNIQUE,
        local_ref          TEXT    NOT NULL UNIQUE,
        category           TEXT    NOT NULL,
        page_count         INTEGER NOT NULL,
        sealed_at          TEXT    NOT NULL,
        masked_id          TEXT    NOT NULL,
        payload            BLOB,
        payload_sha256     TEXT    NOT NULL,
        status             TEXT    NOT NULL
            CHECK (status IN ('pending', 'uploading', 'acknowledged', 'failed')),
        attempts           INTEGER NOT NULL DEFAULT 0,
        next_attempt_at_ms INTEGER NOT NULL DEFAULT 0,
        last_status_change TEXT    NOT NULL,
        last_error         TEXT,
        case_number        TEXT,
        acknowledged_at    TEXT
    );
    CREATE INDEX registrations_due ON registrations (status, next_attempt_at_ms, id);",
    // Version 2: payloads sealed to the registry's key. `payload_sha256` keeps
    // the digest of the plain JSON; `sealed_sha256` is the digest of the stored
    // box. Rows of version 1 stay `json` until a queue opened with the sealing
    // key seals them (`Queue::open_with`).
    "ALTER TABLE registrations ADD COLUMN payload_format TEXT NOT NULL DEFAULT 'json'
        CHECK (payload_format IN ('json', 'sealed'));
    ALTER TABLE registrations ADD COLUMN sealed_sha256 TEXT;",
    // Version 3: a covering index for the claim, so finding the oldest due
    // row never reads a payload (the columns of version 2 sit after the
    // payload BLOB, behind its overflow pages): claim time stays flat however
    // long the queue is.
    "CREATE INDEX registrations_claim ON registrations (status, payload_format, id, next_attempt_at_ms);",
    // Version 4: staged uploads. `payload` of a new row holds the metadata box
    // (pages without their JPEG bytes); each page's JPEG is its own sealed box
    // here, sent only when the registry says it still misses it. Rows sealed
    // before keep one whole box and no page rows.
    "CREATE TABLE sealed_pages (
        registration_id INTEGER NOT NULL REFERENCES registrations (id),
        page_index      INTEGER NOT NULL,
        sealed          BLOB    NOT NULL,
        sealed_sha256   TEXT    NOT NULL,
        PRIMARY KEY (registration_id, page_index)
    );",
    // Version 5: satisfaction ratings (see `ratings.rs`): no personal data
    // beyond the keyed hash of the ID number, so stored unsealed.
    "CREATE TABLE ratings (
        id                 INTEGER PRIMARY KEY AUTOINCREMENT,
        idempotency_key    TEXT    NOT NULL UNIQUE,
        case_number        TEXT    NOT NULL,
        id_key             TEXT    NOT NULL,
        score              INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
        reasons            TEXT    NOT NULL,
        rated_at           TEXT    NOT NULL,
        status             TEXT    NOT NULL
            CHECK (status IN ('pending', 'uploading', 'acknowledged', 'failed')),
        attempts           INTEGER NOT NULL DEFAULT 0,
        next_attempt_at_ms INTEGER NOT NULL DEFAULT 0,
        last_status_change TEXT    NOT NULL,
        last_error         TEXT
    );",
    // Version 6: an acknowledged row keeps its sealed boxes until the uplink,
    // with nothing to send, purges them (`Queue::purge_acknowledged`); this
    // partial index lists the rows still to purge.
    "CREATE INDEX registrations_unpurged ON registrations (id)
        WHERE status = 'acknowledged' AND payload IS NOT NULL;",
    // Version 7: a rating's rater is sealed to the registry (the ID number
    // and the case, `registry_api::seal_rater`) instead of the keyed hash the
    // terminal computed with a lookup key it no longer holds. Ratings queued
    // before cannot be sent any more: they fail with the reason, and their
    // hashes are dropped with the column.
    "UPDATE ratings SET status = 'failed',
         last_error = 'queued before ratings were sealed; the registry no longer takes it'
         WHERE status IN ('pending', 'uploading');
     ALTER TABLE ratings DROP COLUMN id_key;
     ALTER TABLE ratings ADD COLUMN rater_sealed BLOB;",
    // Version 8: what a program needs to be to use this queue
    // (`readable_from`, see the module's documentation).
    "CREATE TABLE queue_meta (
        key   TEXT    PRIMARY KEY,
        value INTEGER NOT NULL
    );",
];

// Voice notes need no version of their own: a note's sealed box is one more
// row of `sealed_pages` (version 4), under the part index
// `registry_api::VOICE_NOTE_PART`, which no page can have. The release
// before voice notes, opening such a queue after a fall-back, claims the box
// with the pages, sends it as the part of that index (which the registry
// takes as the voice note, in a bundle or with `PUT …/pages/{index}`), checks
// its digest and purges it with the rest: it reads the rows as they mean.

/// The schema versions that older programs cannot use (they change what
/// existing rows mean). Every version before 8 counts as breaking: the
/// programs before it refuse any newer schema anyway.
pub(crate) const BREAKING: &[i64] = &[1, 2, 3, 4, 5, 6, 7, 8];

/// The oldest schema version whose program can use a queue at `version`.
pub(crate) fn readable_from(version: i64) -> i64 {
    BREAKING.iter().copied().filter(|b| *b <= version).max().unwrap_or(version)
}

/// Applies the pragmas every connection needs.
/// `durable`: every commit is fsynced (`synchronous=FULL`), as sealing needs.
/// Otherwise (`NORMAL`, WAL) a power cut may lose the last commits, which is
/// safe for the uplink's records: a lost claim or acknowledgement only means
/// one more upload, which the registry answers from its idempotency record.
pub(crate) fn configure(conn: &Connection, durable: bool) -> Result<(), QueueError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        log::warn!("queue: journal_mode is {mode}, not wal");
    }
    // FULL: a commit is on disk before `seal` returns, so "registered" is true.
    conn.pragma_update(None, "synchronous", if durable { "FULL" } else { "NORMAL" })?;
    // Zero freed pages, so a purged payload does not linger in the file.
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// Brings the schema up to the newest version.
pub(crate) fn migrate(conn: &Connection) -> Result<(), QueueError> {
    loop {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let res = step(conn);
        match res {
            Ok(true) => conn.execute_batch("COMMIT")?,
            Ok(false) => {
                conn.execute_batch("COMMIT")?;
                return Ok(());
            }
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
    }
}

/// Applies the next migration, if any; returns whether one was applied.
fn step(conn: &Connection) -> Result<bool, QueueError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        // A newer release wrote it (this one is the fall-back): usable as
        // it is when that release said so.
        let from: Option<i64> = conn
            .query_row(
                "SELECT value FROM queue_meta WHERE key = 'readable_from'",
                [],
                |r| r.get(0),
            )
            .ok();
        return match from {
            Some(from) if from <= known => {
                log::warn!(
                    "queue: schema {version} is a newer release's; this one ({known}) can use it"
                );
                Ok(false)
            }
            _ => Err(QueueError::NewerSchema(version)),
        };
    }
    if version == known {
        return Ok(false);
    }
    let Some(sql) = usize::try_from(version)
        .ok()
        .and_then(|v| MIGRATIONS.get(v))
    else {
        return Err(QueueError::NewerSchema(version));
    };
    conn.execute_batch(sql)?;
    conn.pragma_update(None, "user_version", version + 1)?;
    if version + 1 >= 8 {
        conn.execute(
            "INSERT INTO queue_meta (key, value) VALUES ('readable_from', ?1)
             ON CONFLICT (key) DO UPDATE SET value = ?1",
            [readable_from(version + 1)],
        )?;
    }
    log::info!("queue: schema migrated to version {}", version + 1);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A queue a newer release migrated with only an added column is used
    /// by this one (the fall-back after an update); one whose newer release
    /// says it changed what rows mean is refused.
    #[test]
    fn a_newer_additive_schema_is_used_and_a_newer_breaking_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("queue.db");
        let known = MIGRATIONS.len() as i64;
        {
            let conn = Connection::open(&path).unwrap();
            migrate(&conn).unwrap();
            let from: i64 = conn
                .query_row("SELECT value FROM queue_meta WHERE key = 'readable_from'", [], |r| r.get(0))
                .unwrap();
            assert_eq!(from, known, "this release can read its own schema, no older one");
            // The next release adds a column and a table, nothing else.
            conn.execute_batch(
                "ALTER TABLE registrations ADD COLUMN voice_notes INTEGER NOT NULL DEFAULT 0;
                 CREATE TABLE voice_notes (id INTEGER PRIMARY KEY, box BLOB);",
            )
            .unwrap();
            conn.pragma_update(None, "user_version", known + 1).unwrap();
        }
        // This release opens it, seals into it and reads it back.
        let opts = crate::test_utils::specimen_options;
        let q = crate::Queue::open_with(&path, opts()).expect("the fall-back opens the newer queue");
        q.seal(&crate::test_utils::specimen_upload(1)).unwrap();
        assert_eq!(q.counts().unwrap().pending, 1);
        drop(q);
        // A newer release that changed what rows mean says so: refused.
        let conn = Connection::open(&path).unwrap();
        conn.execute("UPDATE queue_meta SET value = ?1 WHERE key = 'readable_from'", [known + 1])
            .unwrap();
        drop(conn);
        assert!(matches!(crate::Queue::open_with(&path, opts()), Err(QueueError::NewerSchema(v)) if v == known + 1));
    }

    #[test]
    fn migrates_once_and_refuses_newer_schema() {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn).unwrap();
        migrate(&conn).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
        // A newer release that changed what rows mean, or says nothing.
        conn.pragma_update(None, "user_version", 99).unwrap();
        conn.execute("UPDATE queue_meta SET value = 99", []).unwrap();
        assert!(matches!(migrate(&conn), Err(QueueError::NewerSchema(99))));
        conn.execute("DELETE FROM queue_meta", []).unwrap();
        assert!(matches!(migrate(&conn), Err(QueueError::NewerSchema(99))));
    }

    /// Ratings queued with a keyed hash (schema 6) cannot be sent any more:
    /// version 7 fails the unsent ones with the reason and drops the hashes.
    #[test]
    fn version_7_fails_unsent_hashed_ratings_and_drops_the_hashes() {
        let conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..6] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 6).unwrap();
        conn.execute(
            "INSERT INTO ratings (idempotency_key, case_number, id_key, score, reasons, rated_at,
                                  status, last_status_change)
             VALUES ('k', 'XF-2026-000001', ?1, 4, '', 'now', 'pending', 'now')",
            ["ab".repeat(32)],
        )
        .unwrap();
        migrate(&conn).unwrap();
        let (status, reason): (String, String) = conn
            .query_row("SELECT status, last_error FROM ratings", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(status, "failed");
        assert!(reason.contains("before ratings were sealed"), "{reason}");
        assert!(conn.prepare("SELECT id_key FROM ratings").is_err(), "the hash column is gone");
    }
}
