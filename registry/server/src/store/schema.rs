//! The registry's schema: one SQL migration per version, written for
//! SQLite and translated for PostgreSQL by `db.rs`. Never edit a shipped
//! migration; append a new one (`tests/schema.rs` compares both databases'
//! catalogues after migrating).

/// The schema, one entry per version; `PRAGMA user_version` counts how many ran.
pub(super) const MIGRATIONS: &[&str] = &[
    // Version 1: registrations and their pages.
    "CREATE TABLE registrations (
        id              INTEGER PRIMARY KEY,
        case_number     TEXT    NOT NULL UNIQUE,
        case_year       INTEGER NOT NULL,
        case_seq        INTEGER NOT NULL,
        idempotency_key TEXT    NOT NULL UNIQUE,
        body_sha256     TEXT    NOT NULL,
        received_at     TEXT    NOT NULL,
        terminal_id     TEXT    NOT NULL,
        local_ref       TEXT    NOT NULL,
        sealed_at       TEXT    NOT NULL,
        doc_type        TEXT    NOT NULL,
        id_number       TEXT    NOT NULL,
        id_lookup       TEXT    NOT NULL,
        name            TEXT    NOT NULL,
        sex             INTEGER NOT NULL,
        birth           TEXT,
        address         TEXT    NOT NULL,
        category        TEXT    NOT NULL,
        description     TEXT    NOT NULL,
        phone           TEXT,
        status          TEXT    NOT NULL DEFAULT 'registered',
        UNIQUE (case_year, case_seq)
    );
    CREATE INDEX registrations_by_id_lookup ON registrations (id_lookup, id);
    CREATE TABLE pages (
        registration_id INTEGER NOT NULL REFERENCES registrations (id) ON DELETE CASCADE,
        page_index      INTEGER NOT NULL,
        jpeg            BLOB    NOT NULL,
        sha256          TEXT    NOT NULL,
        size_bytes      INTEGER NOT NULL,
        ocr_text        TEXT    NOT NULL,
        ocr_confidence  REAL    NOT NULL,
        PRIMARY KEY (registration_id, page_index)
    );",
    // Version 2: `id_lookup` becomes a keyed hash (HMAC-SHA256 under the
    // lookup key; recomputed in Rust after this step), the likely-duplicate
    // flag of each registration, and the terminals' latest heartbeats.
    "ALTER TABLE registrations ADD COLUMN likely_duplicate INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE heartbeats (
        terminal_id         TEXT    PRIMARY KEY,
        received_at         TEXT    NOT NULL,
        queue_depth         INTEGER NOT NULL,
        failed              INTEGER NOT NULL,
        oldest_unsent_age_s INTEGER,
        version             TEXT    NOT NULL
    );",
    // Version 3: the petitioner's answer to the terminal's repeat question.
    "ALTER TABLE registrations ADD COLUMN repeat_of TEXT;
    ALTER TABLE registrations ADD COLUMN repeat_same INTEGER;",
    // Version 4: the fields the terminal extracted, as JSON.
    "ALTER TABLE registrations ADD COLUMN fields TEXT;",
    // Version 5: staged uploads. The metadata (the upload's JSON with empty
    // page images) waits here for its pages; the transaction that registers
    // the completed upload deletes both.
    "CREATE TABLE staged_uploads (
        idempotency_key TEXT    PRIMARY KEY,
        metadata        BLOB    NOT NULL,
        metadata_sha256 TEXT    NOT NULL,
        page_count      INTEGER NOT NULL,
        received_at     TEXT    NOT NULL
    );
    CREATE TABLE staged_pages (
        idempotency_key TEXT    NOT NULL
            REFERENCES staged_uploads (idempotency_key) ON DELETE CASCADE,
        page_index      INTEGER NOT NULL,
        jpeg            BLOB    NOT NULL,
        PRIMARY KEY (idempotency_key, page_index)
    );",
    // Version 6: satisfaction ratings, at most one per registration (see `store/ratings.rs`).
    "CREATE TABLE ratings (
        id              INTEGER PRIMARY KEY,
        idempotency_key TEXT    NOT NULL UNIQUE,
        body_sha256     TEXT    NOT NULL,
        registration_id INTEGER NOT NULL UNIQUE REFERENCES registrations (id),
        score           INTEGER NOT NULL,
        reasons         TEXT    NOT NULL,
        terminal_id     TEXT    NOT NULL,
        rated_at        TEXT    NOT NULL,
        received_at     TEXT    NOT NULL
    );",
    // Version 7: registered by a clerk on the petitioner's behalf (代办), and
    // an identity the clerk typed instead of reading a card.
    "ALTER TABLE registrations ADD COLUMN assisted INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE registrations ADD COLUMN identity_typed INTEGER NOT NULL DEFAULT 0;",
    // Version 8: the audit log: who (a staff or terminal credential's name)
    // did what to which target, and when. Every staff call and every history
    // lookup writes one row.
    "CREATE TABLE audit_log (
        id     INTEGER PRIMARY KEY,
        at     TEXT    NOT NULL,
        who    TEXT    NOT NULL,
        action TEXT    NOT NULL,
        target TEXT    NOT NULL
    );",
    // Version 9: who staged an upload (the terminal credential's name), for
    // the per-terminal staging quotas. Uploads staged before have '' and are
    // claimed by the first credential that continues them.
    "ALTER TABLE staged_uploads ADD COLUMN owner TEXT NOT NULL DEFAULT '';
    CREATE INDEX staged_uploads_by_owner ON staged_uploads (owner);",
    // Version 10: terminal records (`store/terminals.rs`): enrolled keys,
    // outstanding enrollment codes (their SHA-256 only), revocation.
    "CREATE TABLE terminals (
        terminal_id   TEXT    PRIMARY KEY,
        hall          TEXT    NOT NULL,
        status        TEXT    NOT NULL CHECK (status IN ('pending', 'active', 'revoked')),
        key_sha256    TEXT    UNIQUE,
        created_at    TEXT    NOT NULL,
        enrolled_at   TEXT,
        revoked_at    TEXT,
        code_sha256   BLOB,
        code_expires  TEXT,
        code_attempts INTEGER NOT NULL DEFAULT 0
    );",
    // Version 11: what a heartbeat says of the printer and the disk (`store/fleet.rs`).
    "ALTER TABLE heartbeats ADD COLUMN printer TEXT;
    ALTER TABLE heartbeats ADD COLUMN free_disk_mb INTEGER;",
    // Version 12: staff accounts of the console and their sessions
    // (`store/staff.rs`): an Argon2id hash per account, wrong passwords
    // counted, a session kept as the SHA-256 of its cookie's token.
    "CREATE TABLE staff_accounts (
        name            TEXT    PRIMARY KEY,
        role            TEXT    NOT NULL CHECK (role IN ('clerk', 'supervisor', 'technician')),
        password_hash   TEXT    NOT NULL,
        created_at      TEXT    NOT NULL,
        failed_attempts INTEGER NOT NULL DEFAULT 0,
        locked_until    TEXT
    );
    CREATE TABLE staff_sessions (
        token_sha256 TEXT PRIMARY KEY,
        account      TEXT NOT NULL REFERENCES staff_accounts (name) ON DELETE CASCADE,
        csrf         TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        last_seen    TEXT NOT NULL
    );",
    // Version 13: case work (`store/notices.rs`): every status change with
    // who and when, and the notices issued with them.
    "CREATE TABLE status_changes (
        id              INTEGER PRIMARY KEY,
        registration_id INTEGER NOT NULL REFERENCES registrations (id),
        from_status     TEXT    NOT NULL,
        to_status       TEXT    NOT NULL,
        who             TEXT    NOT NULL,
        at              TEXT    NOT NULL
    );
    CREATE INDEX status_changes_by_registration ON status_changes (registration_id, id);
    CREATE TABLE notices (
        id              INTEGER PRIMARY KEY,
        registration_id INTEGER NOT NULL REFERENCES registrations (id),
        kind            TEXT    NOT NULL CHECK (kind IN ('acceptance', 'non_acceptance', 'answer')),
        title           TEXT    NOT NULL,
        text            TEXT    NOT NULL,
        issued_by       TEXT    NOT NULL,
        issued_at       TEXT    NOT NULL
    );
    CREATE INDEX notices_by_registration ON notices (registration_id, id);",
    // Version 14: software updates (`store/updates.rs`): signed bundles in
    // 1 MiB chunks under their SHA-256, the staged roll-out, and what each
    // terminal's heartbeat says about its update.
    "CREATE TABLE update_bundles (
        sha256      TEXT    PRIMARY KEY,
        version     TEXT    NOT NULL UNIQUE,
        size_bytes  INTEGER NOT NULL,
        added_at    TEXT    NOT NULL
    );
    CREATE TABLE update_chunks (
        sha256  TEXT    NOT NULL REFERENCES update_bundles (sha256),
        idx     INTEGER NOT NULL,
        data    BLOB    NOT NULL,
        PRIMARY KEY (sha256, idx)
    );
    CREATE TABLE update_rollouts (
        id          INTEGER PRIMARY KEY,
        version     TEXT    NOT NULL REFERENCES update_bundles (version),
        terminal_id TEXT,
        percent     INTEGER CHECK (percent BETWEEN 0 AND 100),
        created_at  TEXT    NOT NULL,
        CHECK ((terminal_id IS NULL) <> (percent IS NULL))
    );
    ALTER TABLE heartbeats ADD COLUMN update_target TEXT;
    ALTER TABLE heartbeats ADD COLUMN update_state TEXT;",
    // Version 15: a petitioner's voice note (Ogg Opus, at most 2 MiB) with
    // its registration, in the transaction that issues the case number, like
    // the pages; staff read it, terminals never. A staged upload waiting for
    // its note says so (`voice_note`); the note's bytes wait in
    // `staged_pages` under the part index `registry_api::VOICE_NOTE_PART`,
    // so the staging quotas and the sweep count them with the pages.
    "CREATE TABLE voice_notes (
        registration_id INTEGER NOT NULL REFERENCES registrations (id) ON DELETE CASCADE,
        ogg_opus        BLOB    NOT NULL,
        sha256          TEXT    NOT NULL,
        size_bytes      INTEGER NOT NULL,
        duration_ms     INTEGER NOT NULL,
        PRIMARY KEY (registration_id)
    );
    ALTER TABLE staged_uploads ADD COLUMN voice_note INTEGER NOT NULL DEFAULT 0;",
];
