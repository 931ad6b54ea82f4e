//! The durable local queue of sealed registrations, in SQLite.
//!
//! A registration is *sealed* here, in one fsynced transaction, before the
//! petitioner is told "registered": its JSON is encrypted to the registry's
//! public key (a sealed box, see `registry_api::envelope`), so the row holds
//! only the ciphertext and a readable receipt summary (local reference,
//! category, page count, time, masked ID). Each page's JPEG and the voice
//! note's Ogg Opus bytes are sealed in boxes of their own (`sealed_pages`;
//! the note under the part index `registry_api::VOICE_NOTE_PART`). The
//! terminal cannot read back what it sealed. Size limits and the disk-space
//! floor are checked at sealing.
//! The uplink then claims rows one at a time, uploads the sealed bytes and
//! records the outcome. Each row moves through
//!
//! ```text
//!   seal ──► pending ──claim──► uploading ──ack──► acknowledged (payload purged)
//!               ▲                   │
//!               └──retry / restart──┤
//!               └──resend (clerk)───┼──reject──► failed (reason kept, payload kept)
//! ```
//!
//! Every thread opens its own [`Queue`] on the same file; SQLite's WAL mode and
//! `BEGIN IMMEDIATE` transactions keep them from stepping on each other.
//!
//! **Invariant:** a row is never deleted, and its personal payload is removed
//! only in the transaction that records the registry's case number.
//! **Invariant:** no error or log line of this crate holds personal data; the
//! free-text reasons callers pass in go through [`kiosk_privacy::redact`].

mod payload;
mod ratings;
mod schema;
#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;

use std::fmt;
use std::path::Path;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use registry_api::envelope::{EnvelopeError, SealPublicKey};
use registry_api::{RegistrationAck, RegistrationUpload, VoiceNoteError, VOICE_NOTE_PART};
use rusqlite::{params, Connection, OptionalExtension};

pub use payload::PayloadError;
pub use ratings::{ClaimedRating, NewRating, QueuedRating, RatingRow};

/// The longest delay [`Queue::mark_retry`] stores. A row scheduled further
/// ahead than this is treated as due, so a clock that jumps backwards (a
/// terminal booting without a valid clock, then syncing) cannot park it.
pub const MAX_RETRY_DELAY: TimeDelta = TimeDelta::days(1);

/// The default disk-space floor: below this much free space new registrations are refused.
pub const DEFAULT_MIN_FREE_BYTES: u64 = 200 * 1024 * 1024;
/// The default largest sealed registration, in bytes (below the registry's body limit).
pub const DEFAULT_MAX_SEALED_BYTES: usize = 24 * 1024 * 1024;
/// The default most pages in one registration (the registry's limit).
pub const DEFAULT_MAX_PAGES: usize = registry_api::MAX_PAGES;

/// The longest reason text kept on a row, in characters.
const MAX_REASON_CHARS: usize = 200;

/// What went wrong in the queue.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// SQLite failed (disk, lock, schema).
    #[error("queue database error")]
    Db(#[from] rusqlite::Error),
    /// A claimed row's payload is damaged; the row has been marked failed.
    #[error("stored registration {local_ref} is unreadable")]
    CorruptPayload {
        id: i64,
        local_ref: String,
        #[source]
        source: PayloadError,
    },
    /// The idempotency key was sealed before with different content.
    #[error("idempotency key reused for a different registration")]
    KeyConflict { local_ref: String },
    /// Another registration already has this local reference.
    #[error("local reference {0} already used")]
    LocalRefConflict(String),
    /// No row has this id.
    #[error("no queued registration with id {0}")]
    NotFound(i64),
    /// The row is in a status the requested change cannot start from.
    #[error("registration {id} is {status}")]
    WrongStatus { id: i64, status: Status },
    /// An acknowledgement without a case number.
    #[error("acknowledgement has an empty case number")]
    EmptyCaseNumber,
    /// No sealing key was given to [`Queue::open_with`], so nothing can be sealed.
    #[error("no registry sealing key configured")]
    NoSealKey,
    /// Sealing to the registry key failed.
    #[error("cannot seal the registration")]
    Seal(#[source] EnvelopeError),
    /// Free space on the queue's file system is below the floor: new intake is refused.
    #[error("disk space low: {available_mb} MB free, floor {floor_mb} MB")]
    LowDiskSpace { available_mb: u64, floor_mb: u64 },
    /// The free space could not be measured.
    #[error("cannot measure free disk space")]
    DiskSpace(#[source] std::io::Error),
    /// The sealed registration is larger than the configured limit.
    #[error("registration too large: {bytes} bytes sealed, limit {limit}")]
    TooLarge { bytes: usize, limit: usize },
    /// The registration has more pages than allowed.
    #[error("too many pages: {pages}, limit {limit}")]
    TooManyPages { pages: usize, limit: usize },
    /// The voice note is larger than a note may be
    /// ([`registry_api::MAX_VOICE_NOTE_BYTES`]); nothing was stored.
    #[error("voice note too large: {bytes} bytes, limit {limit}")]
    VoiceNoteTooLarge { bytes: u64, limit: usize },
    /// The voice note cannot be sent as it is (not valid base64, not
    /// matching its sha256 or size, not Ogg Opus): the registry would refuse
    /// the whole registration, so nothing was stored.
    #[error("voice note refused: {0}")]
    BadVoiceNote(VoiceNoteError),
    /// The database was written by a newer program.
    #[error("queue schema version {0} is newer than this program")]
    NewerSchema(i64),
    /// A status column holds a value this program does not know.
    #[error("unknown status in queue database")]
    UnknownStatus,
    /// A satisfaction rating that cannot be queued.
    #[error("bad rating: {0}")]
    BadRating(&'static str),
}

/// Where a registration is in its journey to the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Sealed and waiting for (another) upload attempt.
    Pending,
    /// Claimed by an uplink; an attempt is under way.
    Uploading,
    /// The registry issued a case number; the personal payload is gone.
    Acknowledged,
    /// The registry refused it for good; a clerk must look at it.
    Failed,
}

impl Status {
    /// The value stored in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Uploading => "uploading",
            Status::Acknowledged => "acknowledged",
            Status::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Status, QueueError> {
        Ok(match s {
            "pending" => Status::Pending,
            "uploading" => Status::Uploading,
            "acknowledged" => Status::Acknowledged,
            "failed" => Status::Failed,
            _ => return Err(QueueError::UnknownStatus),
        })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A row handed to the uplink by [`Queue::claim_next`]: the sealed bytes
/// only, which the uplink sends as they are and cannot read.
#[derive(Clone, PartialEq)]
pub struct Claimed {
    pub id: i64,
    pub idempotency_key: String,
    pub local_ref: String,
    /// The registration in a sealed box to the registry's key: the metadata
    /// (pages without their JPEG bytes, the voice note without its Ogg Opus
    /// bytes) when `pages` or `voice_note` is not empty, else the whole
    /// registration (rows sealed before schema version 4).
    pub sealed: Vec<u8>,
    /// Each page's JPEG in its own sealed box, in index order.
    pub pages: Vec<ClaimedPage>,
    /// The voice note's Ogg Opus bytes in a sealed box, its index
    /// [`VOICE_NOTE_PART`].
    pub voice_note: Option<ClaimedPage>,
    /// Attempts so far, including this one.
    pub attempts: u32,
}

impl Claimed {
    /// Every sealed part besides the metadata, as a bundle carries them:
    /// the pages in index order, then the voice note.
    pub fn parts(&self) -> impl Iterator<Item = &ClaimedPage> {
        self.pages.iter().chain(self.voice_note.as_ref())
    }
}

/// One page's JPEG (or the voice note's Ogg Opus bytes), sealed to the registry's key.
#[derive(Clone, PartialEq)]
pub struct ClaimedPage {
    /// 1-based page index, as in the metadata; [`VOICE_NOTE_PART`] for the voice note.
    pub index: u32,
    pub sealed: Vec<u8>,
}

impl fmt::Debug for ClaimedPage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClaimedPage")
            .field("index", &self.index)
            .field("sealed_bytes", &self.sealed.len())
            .finish()
    }
}

impl fmt::Debug for Claimed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Claimed")
            .field("id", &self.id)
            .field("local_ref", &self.local_ref)
            .field("sealed_bytes", &self.sealed.len())
            .field("pages", &self.pages.len())
            .field("voice_note", &self.voice_note.is_some())
            .field("attempts", &self.attempts)
            .finish()
    }
}

/// How a queue that seals registrations is set up (the terminal's provisioning).
#[derive(Debug, Clone)]
pub struct QueueOptions {
    /// The registry's public sealing key; without it [`Queue::seal`] refuses.
    pub seal_key: Option<SealPublicKey>,
    /// New registrations are refused while less than this is free on the queue's file system.
    pub min_free_bytes: u64,
    /// The largest sealed registration accepted.
    pub max_sealed_bytes: usize,
    /// The most pages one registration may have.
    pub max_pages: usize,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            seal_key: None,
            min_free_bytes: DEFAULT_MIN_FREE_BYTES,
            max_sealed_bytes: DEFAULT_MAX_SEALED_BYTES,
            max_pages: DEFAULT_MAX_PAGES,
        }
    }
}

/// What a technician needs to know about the queue at a glance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSummary {
    pub counts: QueueCounts,
    /// Age of the oldest registration not yet acknowledged (pending, uploading or failed).
    pub oldest_unsent_age: Option<std::time::Duration>,
}

/// The readable summary of a registration, free of personal data except the masked ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub local_ref: String,
    pub category: String,
    pub page_count: u32,
    /// As sealed, RFC 3339.
    pub sealed_at: String,
    /// `id_number.masked()`.
    pub masked_id: String,
    pub status: Status,
    pub case_number: Option<String>,
    pub attempts: u32,
    /// The last (redacted) reason an attempt did not succeed.
    pub last_error: Option<String>,
}

/// How many rows are in each status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueCounts {
    pub pending: u64,
    pub uploading: u64,
    pub acknowledged: u64,
    pub failed: u64,
}

/// One connection to the queue database.
#[derive(Debug)]
pub struct Queue {
    conn: Connection,
    opts: QueueOptions,
    /// The directory whose file system the disk-space floor is measured on.
    dir: std::path::PathBuf,
}

const RECEIPT_COLUMNS: &str =
    "local_ref, category, page_count, sealed_at, masked_id, status, case_number, attempts, last_error";

impl Queue {
    /// Opens (creating if needed) the queue at `path` and brings its schema up
    /// to date, without a sealing key: for the uplink and the technician view.
    /// Such a connection commits with `synchronous=NORMAL` (see `schema::configure`);
    /// a sealing connection commits with `FULL`.
    pub fn open(path: &Path) -> Result<Queue, QueueError> {
        Queue::open_with(path, QueueOptions::default())
    }

    /// Opens the queue with the terminal's sealing settings. With a sealing
    /// key, rows left unsealed by an older version are sealed now.
    pub fn open_with(path: &Path, opts: QueueOptions) -> Result<Queue, QueueError> {
        let conn = Connection::open(path)?;
        schema::configure(&conn, opts.seal_key.is_some())?;
        schema::migrate(&conn)?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let q = Queue { conn, opts, dir };
        if let Some(key) = q.opts.seal_key.clone() {
            q.seal_legacy_rows(&key)?;
        }
        Ok(q)
    }

    /// Free bytes on the queue's file system, as an unprivileged process sees them.
    pub fn free_bytes(&self) -> Result<u64, QueueError> {
        let st = nix::sys::statvfs::statvfs(&self.dir)
            .map_err(|e| QueueError::DiskSpace(std::io::Error::from(e)))?;
        // The field types differ between targets (u32 on some 32-bit ones).
        #[allow(clippy::useless_conversion)]
        let free = u64::from(st.blocks_available()).saturating_mul(u64::from(st.fragment_size()));
        Ok(free)
    }

    /// Refuses with [`QueueError::LowDiskSpace`] when free space is below the
    /// floor. The controller may call it before a session starts; [`Queue::seal`]
    /// always does.
    pub fn check_space(&self) -> Result<(), QueueError> {
        let free = self.free_bytes()?;
        if free < self.opts.min_free_bytes {
            return Err(QueueError::LowDiskSpace {
                available_mb: free / (1024 * 1024),
                floor_mb: self.opts.min_free_bytes / (1024 * 1024),
            });
        }
        Ok(())
    }

    /// Seals `upload` to the registry's key as a pending row and returns its
    /// receipt. Sealing an idempotency key that is already queued returns the
    /// existing receipt. Refuses when the disk-space floor is reached, the
    /// registration is too large (its voice note counts) or its voice note
    /// too large or unusable; the queue is left as it was.
    pub fn seal(&self, upload: &RegistrationUpload) -> Result<Receipt, QueueError> {
        let key = self.opts.seal_key.as_ref().ok_or(QueueError::NoSealKey)?;
        if upload.pages.len() > self.opts.max_pages {
            return Err(QueueError::TooManyPages { pages: upload.pages.len(), limit: self.opts.max_pages });
        }
        self.check_space()?;
        if let Some(note) = &upload.voice_note {
            // The declared size first: a note that cannot be sent is not decoded.
            if note.size_bytes > registry_api::MAX_VOICE_NOTE_BYTES as u64 {
                return Err(QueueError::VoiceNoteTooLarge {
                    bytes: note.size_bytes,
                    limit: registry_api::MAX_VOICE_NOTE_BYTES,
                });
            }
        }
        let sealed = payload::seal(upload, key).map_err(|e| match e {
            payload::SealError::Encode => QueueError::Seal(EnvelopeError::Seal),
            payload::SealError::Envelope(e) => QueueError::Seal(e),
            payload::SealError::VoiceNote(VoiceNoteError::TooLarge) => QueueError::VoiceNoteTooLarge {
                bytes: upload.voice_note.as_ref().map_or(0, |n| n.size_bytes),
                limit: registry_api::MAX_VOICE_NOTE_BYTES,
            },
            payload::SealError::VoiceNote(e) => QueueError::BadVoiceNote(e),
        })?;
        if sealed.total_len() > self.opts.max_sealed_bytes {
            return Err(QueueError::TooLarge { bytes: sealed.total_len(), limit: self.opts.max_sealed_bytes });
        }
        let digest = sealed.content_sha256.clone();
        self.immediate(|conn| {
            let existing: Option<String> = conn
                .query_row(
                    "SELECT payload_sha256 FROM registrations WHERE idempotency_key = ?1",
                    [&upload.idempotency_key],
                    |r| r.get(0),
                )
                .optional()?;
            match existing {
                Some(d) if d == digest => {
                    log::info!("queue: {} was already sealed", upload.local_ref);
                }
                Some(_) => {
                    return Err(QueueError::KeyConflict { local_ref: upload.local_ref.clone() })
                }
                None => {
                    let taken: bool = conn.query_row(
                        "SELECT EXISTS (SELECT 1 FROM registrations WHERE local_ref = ?1)",
                        [&upload.local_ref],
                        |r| r.get(0),
                    )?;
                    if taken {
                        return Err(QueueError::LocalRefConflict(upload.local_ref.clone()));
                    }
                    conn.execute(
                        "INSERT INTO registrations (idempotency_key, local_ref, category, page_count,
                             sealed_at, masked_id, payload, payload_sha256, status, attempts,
                             next_attempt_at_ms, last_status_change, payload_format, sealed_sha256)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', 0, 0, ?9, 'sealed', ?10)",
                        params![
                            upload.idempotency_key,
                            upload.local_ref,
                            upload.category,
                            upload.pages.len() as i64,
                            upload.sealed_at,
                            upload.petitioner.id_number.masked(),
                            sealed.bytes,
                            digest,
                            now_text(),
                            sealed.sealed_sha256,
                        ],
                    )?;
                    let id = conn.last_insert_rowid();
                    let mut stmt = conn.prepare(
                        "INSERT INTO sealed_pages (registration_id, page_index, sealed, sealed_sha256)
                         VALUES (?1, ?2, ?3, ?4)",
                    )?;
                    // The voice note's box waits beside the pages under its
                    // part index, so claims, damage checks and the purge
                    // treat it as one more part.
                    for page in sealed.parts() {
                        stmt.execute(params![id, page.index, page.bytes, page.sealed_sha256])?;
                    }
                    log::info!("queue: sealed {}", upload.local_ref);
                }
            }
            receipt_where(conn, "idempotency_key = ?1", &upload.idempotency_key)?
                .ok_or(QueueError::Db(rusqlite::Error::QueryReturnedNoRows))
        })
    }

    /// Claims the oldest pending row that is due at `now`: marks it uploading
    /// and counts the attempt. A row whose payload is damaged is marked failed
    /// and reported as [`QueueError::CorruptPayload`]; the next call moves on.
    pub fn claim_next(&self, now: DateTime<Utc>) -> Result<Option<Claimed>, QueueError> {
        let now_ms = now.timestamp_millis();
        let horizon_ms = horizon(now).timestamp_millis();
        self.immediate(|conn| {
            let row = conn
                .query_row(
                    "SELECT id, local_ref, payload, COALESCE(sealed_sha256, ''), attempts, idempotency_key
                     FROM registrations
                     WHERE status = 'pending' AND payload_format = 'sealed'
                       AND (next_attempt_at_ms <= ?1 OR next_attempt_at_ms > ?2)
                     ORDER BY id LIMIT 1",
                    params![now_ms, horizon_ms],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, Option<Vec<u8>>>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, i64>(4)?,
                            r.get::<_, String>(5)?,
                        ))
                    },
                )
                .optional()?;
            let Some((id, local_ref, bytes, digest, attempts, idempotency_key)) = row else {
                return Ok(Ok(None));
            };
            let pages = load_pages(conn, id)?;
            let checked = payload::check(bytes, &digest).and_then(|sealed| Ok((sealed, pages?)));
            match checked {
                Ok((sealed, (pages, voice_note))) => {
                    conn.execute(
                        "UPDATE registrations SET status = 'uploading', attempts = attempts + 1,
                             last_status_change = ?2 WHERE id = ?1",
                        params![id, now_text()],
                    )?;
                    let attempts = u32::try_from(attempts + 1).unwrap_or(u32::MAX);
                    Ok(Ok(Some(Claimed {
                        id,
                        idempotency_key,
                        local_ref,
                        sealed,
                        pages,
                        voice_note,
                        attempts,
                    })))
                }
                Err(source) => {
                    log::error!("queue: {local_ref} is unreadable ({source}); marked failed");
                    conn.execute(
                        "UPDATE registrations SET status = 'failed', last_error = ?2,
                             last_status_change = ?3 WHERE id = ?1",
                        params![id, format!("stored {source}"), now_text()],
                    )?;
                    // Commit the mark, then report the damage.
                    Ok(Err(QueueError::CorruptPayload { id, local_ref, source }))
                }
            }
        })?
    }

    /// Records the registry's case number. The sealed payload and page boxes
    /// stay until [`Queue::purge_acknowledged`] deletes them (the uplink does
    /// so whenever it has nothing to send, so that zeroing them never slows
    /// a drain). Acknowledging an already acknowledged row keeps its first
    /// case number.
    pub fn mark_acknowledged(&self, id: i64, ack: &RegistrationAck) -> Result<(), QueueError> {
        if ack.case_number.trim().is_empty() {
            return Err(QueueError::EmptyCaseNumber);
        }
        self.immediate(|conn| {
            let status = status_of(conn, id)?;
            if status == Status::Acknowledged {
                log::warn!("queue: row {id} was already acknowledged");
                return Ok(());
            }
            conn.execute(
                "UPDATE registrations SET status = 'acknowledged', case_number = ?2,
                     acknowledged_at = ?3, last_error = NULL,
                     last_status_change = ?3 WHERE id = ?1",
                params![id, ack.case_number, now_text()],
            )?;
            Ok(())
        })?;
        Ok(())
    }

    /// Purges up to `limit` acknowledged registrations, oldest first, in one
    /// transaction: their sealed payload, page boxes and voice note box are deleted, and
    /// `secure_delete` zeroes the freed pages. Returns how many were purged
    /// (0: none is left). Only the receipt summary stays.
    pub fn purge_acknowledged(&self, limit: usize) -> Result<usize, QueueError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.immediate(|conn| {
            let ids: Vec<i64> = {
                // The partial index of schema version 6 finds them without
                // reading the receipts of every earlier registration.
                let mut stmt = conn.prepare_cached(
                    "SELECT id FROM registrations INDEXED BY registrations_unpurged
                     WHERE status = 'acknowledged' AND payload IS NOT NULL
                     ORDER BY id LIMIT ?1",
                )?;
                let rows = stmt.query_map([limit], |r| r.get(0))?;
                rows.collect::<Result<_, _>>()?
            };
            for id in &ids {
                conn.execute("UPDATE registrations SET payload = NULL WHERE id = ?1", [id])?;
                conn.execute("DELETE FROM sealed_pages WHERE registration_id = ?1", [id])?;
            }
            Ok(ids.len())
        })
    }

    /// Folds the WAL into the main file and truncates it, so purged payloads
    /// do not linger in old WAL frames (`secure_delete` has zeroed their pages
    /// in the main file). Best effort; the uplink calls it whenever the queue
    /// goes idle rather than after every acknowledgement, which would cost a
    /// few fsyncs per registration while draining a long queue.
    pub fn checkpoint(&self) {
        if let Err(e) = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        {
            log::debug!("queue: checkpoint skipped: {e}");
        }
    }

    /// Puts a claimed row back to pending, due again at `next_attempt_at`
    /// (at most [`MAX_RETRY_DELAY`] ahead).
    pub fn mark_retry(
        &self,
        id: i64,
        reason: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), QueueError> {
        let latest = horizon(Utc::now());
        let due_ms = next_attempt_at.min(latest).timestamp_millis();
        self.transition(id, "pending", reason, due_ms)
    }

    /// Gives back a row claimed but never sent (the uplink claims the next row
    /// while the current one is on the wire, and gives it back when it pauses
    /// or stops instead): pending again, its attempt uncounted, due as before.
    /// A row no longer uploading is left alone. Returns whether a row moved.
    pub fn release(&self, id: i64) -> Result<bool, QueueError> {
        let n = self.conn.execute(
            "UPDATE registrations SET status = 'pending', attempts = MAX(attempts - 1, 0),
                 last_status_change = ?2 WHERE id = ?1 AND status = 'uploading'",
            params![id, now_text()],
        )?;
        Ok(n > 0)
    }

    /// Marks a row as permanently failed; it keeps its payload for the clerk.
    pub fn mark_failed(&self, id: i64, reason: &str) -> Result<(), QueueError> {
        self.transition(id, "failed", reason, 0)
    }

    /// Puts every row left uploading (by a power cut or a crash) back to pending,
    /// due at once. Call it at start-up, before any uplink runs.
    pub fn requeue_interrupted(&self) -> Result<usize, QueueError> {
        let n = self.conn.execute(
            "UPDATE registrations SET status = 'pending', next_attempt_at_ms = 0,
                 last_status_change = ?1 WHERE status = 'uploading'",
            [now_text()],
        )?;
        if n > 0 {
            log::warn!("queue: {n} interrupted upload(s) put back to pending");
        }
        Ok(n)
    }

    /// The receipt of the registration with this local reference.
    pub fn receipt(&self, local_ref: &str) -> Result<Option<Receipt>, QueueError> {
        receipt_where(&self.conn, "local_ref = ?1", local_ref)
    }

    /// How many rows are in each status.
    pub fn counts(&self) -> Result<QueueCounts, QueueError> {
        let mut stmt = self
            .conn
            .prepare("SELECT status, COUNT(*) FROM registrations GROUP BY status")?;
        let mut rows = stmt.query([])?;
        let mut counts = QueueCounts::default();
        while let Some(row) = rows.next()? {
            let n = row.get::<_, i64>(1)?.max(0) as u64;
            match Status::parse(&row.get::<_, String>(0)?)? {
                Status::Pending => counts.pending = n,
                Status::Uploading => counts.uploading = n,
                Status::Acknowledged => counts.acknowledged = n,
                Status::Failed => counts.failed = n,
            }
        }
        Ok(counts)
    }

    /// The newest `limit` receipts, newest first.
    pub fn recent_receipts(&self, limit: usize) -> Result<Vec<Receipt>, QueueError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {RECEIPT_COLUMNS} FROM registrations ORDER BY id DESC LIMIT ?1"
        ))?;
        let rows = stmt.query_map([limit], read_receipt)?;
        rows.map(|r| r?).collect()
    }

    /// When the earliest pending row falls due, if any row is pending. A row
    /// parked beyond [`MAX_RETRY_DELAY`] by a clock jump counts as due now.
    pub fn next_due(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, QueueError> {
        let earliest: Option<i64> = self.conn.query_row(
            "SELECT MIN(next_attempt_at_ms) FROM registrations WHERE status = 'pending'",
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

    /// Puts a failed registration back to pending, due at once, with its
    /// attempt count reset (the clerk's "resend"). Returns whether a row moved.
    pub fn resend(&self, local_ref: &str) -> Result<bool, QueueError> {
        let n = self.conn.execute(
            "UPDATE registrations SET status = 'pending', next_attempt_at_ms = 0, attempts = 0,
                 last_status_change = ?2 WHERE local_ref = ?1 AND status = 'failed'",
            params![local_ref, now_text()],
        )?;
        Ok(n > 0)
    }

    /// Makes every pending row due now: the registry answered again after a
    /// failure (connectivity came back), so rows parked by backoff need not
    /// wait out their delays. Returns how many rows were parked.
    pub fn reset_backoff(&self) -> Result<usize, QueueError> {
        Ok(self.conn.execute(
            "UPDATE registrations SET next_attempt_at_ms = 0
             WHERE status = 'pending' AND next_attempt_at_ms != 0",
            [],
        )?)
    }

    /// The failed registrations with their reasons, oldest first.
    pub fn failed_receipts(&self) -> Result<Vec<Receipt>, QueueError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {RECEIPT_COLUMNS} FROM registrations WHERE status = 'failed' ORDER BY id"
        ))?;
        let rows = stmt.query_map([], read_receipt)?;
        rows.map(|r| r?).collect()
    }

    /// Depth and age of what is not yet sent, for the technician view and heartbeats.
    pub fn summary(&self, now: DateTime<Utc>) -> Result<QueueSummary, QueueError> {
        let counts = self.counts()?;
        let oldest: Option<String> = self.conn.query_row(
            "SELECT sealed_at FROM registrations WHERE status IN ('pending', 'uploading', 'failed')
             ORDER BY id LIMIT 1",
            [],
            |r| r.get(0),
        ).optional()?;
        let oldest_unsent_age = oldest
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| (now - t.with_timezone(&Utc)).to_std().unwrap_or_default());
        Ok(QueueSummary { counts, oldest_unsent_age })
    }

    /// Seals rows stored in plain JSON by version 1 of the schema.
    fn seal_legacy_rows(&self, key: &SealPublicKey) -> Result<(), QueueError> {
        let ids: Vec<i64> = {
            let mut stmt = self.conn.prepare(
                "SELECT id FROM registrations WHERE payload_format = 'json' AND payload IS NOT NULL",
            )?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        for id in ids {
            self.immediate(|conn| {
                let (bytes, digest): (Vec<u8>, String) = conn.query_row(
                    "SELECT payload, payload_sha256 FROM registrations WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                let upload: Option<RegistrationUpload> = if payload::digest(&bytes) == digest {
                    serde_json::from_slice(&bytes).ok()
                } else {
                    None
                };
                match upload.map(|u| payload::seal(&u, key)) {
                    Some(Ok(sealed)) => {
                        for page in sealed.parts() {
                            conn.execute(
                                "INSERT OR REPLACE INTO sealed_pages
                                     (registration_id, page_index, sealed, sealed_sha256)
                                 VALUES (?1, ?2, ?3, ?4)",
                                params![id, page.index, page.bytes, page.sealed_sha256],
                            )?;
                        }
                        conn.execute(
                            "UPDATE registrations SET payload = ?2, sealed_sha256 = ?3,
                                 payload_format = 'sealed' WHERE id = ?1",
                            params![id, sealed.bytes, sealed.sealed_sha256],
                        )?
                    }
                    _ => conn.execute(
                        "UPDATE registrations SET status = 'failed', payload_format = 'sealed',
                             last_error = 'stored payload damaged', last_status_change = ?2
                         WHERE id = ?1 AND status != 'acknowledged'",
                        params![id, now_text()],
                    )?,
                };
                Ok(())
            })?;
            log::info!("queue: sealed legacy row {id}");
        }
        Ok(())
    }

    /// Moves a row that is not acknowledged to `status` with a redacted reason.
    fn transition(
        &self,
        id: i64,
        status: &str,
        reason: &str,
        due_ms: i64,
    ) -> Result<(), QueueError> {
        let reason = clean_reason(reason);
        self.immediate(|conn| {
            let current = status_of(conn, id)?;
            if current == Status::Acknowledged {
                return Err(QueueError::WrongStatus {
                    id,
                    status: current,
                });
            }
            conn.execute(
                "UPDATE registrations SET status = ?2, last_error = ?3, next_attempt_at_ms = ?4,
                     last_status_change = ?5 WHERE id = ?1",
                params![id, status, reason, due_ms, now_text()],
            )?;
            Ok(())
        })
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction, committing on `Ok`.
    fn immediate<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, QueueError>,
    ) -> Result<T, QueueError> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        match f(&self.conn) {
            Ok(v) => match self.conn.execute_batch("COMMIT") {
                Ok(()) => Ok(v),
                Err(e) => {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    Err(e.into())
                }
            },
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }
}

/// The page boxes of row `id` in index order and its voice note's box, each
/// checked against its digest.
#[allow(clippy::type_complexity)]
fn load_pages(
    conn: &Connection,
    id: i64,
) -> Result<Result<(Vec<ClaimedPage>, Option<ClaimedPage>), PayloadError>, rusqlite::Error> {
    let mut stmt = conn.prepare(
        "SELECT page_index, sealed, sealed_sha256 FROM sealed_pages
         WHERE registration_id = ?1 ORDER BY page_index",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok((r.get::<_, u32>(0)?, r.get::<_, Option<Vec<u8>>>(1)?, r.get::<_, String>(2)?))
    })?;
    let mut pages = Vec::new();
    let mut voice_note = None;
    for row in rows {
        let (index, bytes, digest) = row?;
        match payload::check(bytes, &digest) {
            Ok(sealed) if index == VOICE_NOTE_PART => voice_note = Some(ClaimedPage { index, sealed }),
            Ok(sealed) => pages.push(ClaimedPage { index, sealed }),
            Err(e) => return Ok(Err(e)),
        }
    }
    Ok(Ok((pages, voice_note)))
}

fn status_of(conn: &Connection, id: i64) -> Result<Status, QueueError> {
    let s: Option<String> = conn
        .query_row(
            "SELECT status FROM registrations WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    Status::parse(&s.ok_or(QueueError::NotFound(id))?)
}

fn receipt_where(conn: &Connection, cond: &str, arg: &str) -> Result<Option<Receipt>, QueueError> {
    conn.query_row(
        &format!("SELECT {RECEIPT_COLUMNS} FROM registrations WHERE {cond}"),
        [arg],
        read_receipt,
    )
    .optional()?
    .transpose()
}

/// Reads a row selected with [`RECEIPT_COLUMNS`]; the inner result carries a bad status.
fn read_receipt(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Receipt, QueueError>> {
    let status: String = r.get(5)?;
    let status = match Status::parse(&status) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    Ok(Ok(Receipt {
        local_ref: r.get(0)?,
        category: r.get(1)?,
        page_count: u32::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
        sealed_at: r.get(3)?,
        masked_id: r.get(4)?,
        status,
        case_number: r.get(6)?,
        attempts: u32::try_from(r.get::<_, i64>(7)?).unwrap_or(0),
        last_error: r.get(8)?,
    }))
}

/// Redacts and shortens a caller's reason text before it is stored.
fn clean_reason(reason: &str) -> String {
    let redacted = kiosk_privacy::redact(reason);
    let mut out: String = redacted.chars().take(MAX_REASON_CHARS).collect();
    if redacted.chars().count() > MAX_REASON_CHARS {
        out.push('…');
    }
    out
}

/// The latest moment a retry may be scheduled for, seen from `now`.
fn horizon(now: DateTime<Utc>) -> DateTime<Utc> {
    now.checked_add_signed(MAX_RETRY_DELAY)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests;
