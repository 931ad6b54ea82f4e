//! The registry's database: schema migrations, case numbering and queries,
//! on SQLite or PostgreSQL (`db`: one SQL interface over both).
//!
//! On SQLite one [`Store`] owns one connection behind a mutex, so every
//! database call in this process is serialised; on PostgreSQL it holds a
//! pool. Uploads run in a write transaction ([`db::Db::begin`]: SQLite's
//! `BEGIN IMMEDIATE`, or PostgreSQL's transaction with the registry's
//! advisory lock), taken before the next case number is read; two processes
//! on the same database therefore cannot issue the same number either. The
//! case number is written in the same transaction as the registration and
//! its pages, so a failed upload leaves no gap.
//!
//! All calls block; the HTTP layer runs them on `spawn_blocking`.

use chrono::{DateTime, Datelike, FixedOffset, SecondsFormat, Utc};
use kiosk_privacy::{Address, IdNumber, PersonName, PersonalText};
use registry_api::envelope::LookupKey;
use registry_api::{
    Heartbeat, HistoryEntry, HistoryReply, Petitioner, RegistrationAck, RegistrationRecord,
    RegistrationUpload, RepeatAnswer, StoredPage, StoredVoiceNote, VOICE_NOTE_PART,
};
use serde::{Deserialize, Serialize};

use crate::StagingLimits;

mod db;
mod fleet;
mod notices;
mod ratings;
mod schema;
mod staff;
mod terminals;
mod updates;

use schema::MIGRATIONS;
pub use fleet::FleetRecord;
pub use notices::{allowed, notice_needed, notice_title, CaseFilter, ChangeOutcome};
pub use db::Database;
use db::{params, Backend, Db, Durability, OptionalExtension, Sql};
pub use ratings::{RateOutcome, StatusOutcome};
pub use staff::{valid_account_name, Role};
pub use terminals::{EnrollOutcome, TerminalRecord, TerminalStatus};
pub use updates::{share_of, BundleRecord, RolloutStep};

/// Status of a registration that nobody has acted on yet.
pub const STATUS_REGISTERED: &str = "registered";

/// Prefix of every case number.
const CASE_PREFIX: &str = "XF";

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    /// RFC 3339, UTC.
    pub at: String,
    /// The credential's name: `staff-…` or `terminal-…` (a digest prefix, never the token).
    pub who: String,
    /// `read_registration`, `set_status`, `list_heartbeats`, `read_stats`,
    /// `read_audit`, `history_lookup`.
    pub action: String,
    /// The case number, the new status, or the lookup's keyed hash; "" when none.
    pub target: String,
}

/// How far back a registration of the same petitioner counts for the likely-duplicate flag.
const DUPLICATE_WINDOW_DAYS: i64 = 30;

/// What went wrong in the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database")]
    Open(#[source] rusqlite::Error),
    #[error("cannot connect to the database")]
    OpenPostgres(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the database schema is version {found}, newer than this registry knows ({known})")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("database query failed")]
    Sql(#[from] rusqlite::Error),
    #[error("database query failed")]
    Postgres(#[from] postgres::Error),
    #[error("no database connection free")]
    Pool(#[source] r2d2_postgres::r2d2::Error),
    #[error("tls to the database: {0}")]
    Tls(String),
    #[error("unexpected value in column {0}")]
    Column(usize),
    #[error("no row found")]
    NoRow,
    #[error("the database is closed")]
    Closed,
    #[error("staged page {0} is missing at completion")]
    StagedPageMissing(u32),
    #[error("the voice note the metadata names is missing at completion")]
    VoiceNoteMissing,
    /// A request the stored data does not allow (the text says why; it
    /// never holds personal data).
    #[error("{0}")]
    Conflict(String),
    #[error("cannot read the input")]
    Io(#[source] std::io::Error),
}

/// A verified page, ready to be stored.
#[derive(Debug, Clone)]
pub struct PageRow {
    pub index: u32,
    pub jpeg: Vec<u8>,
    pub sha256: String,
    pub ocr_text: PersonalText,
    pub ocr_confidence: f32,
}

/// A verified voice note (Ogg Opus, checked against its metadata), ready to be stored.
#[derive(Clone)]
pub struct VoiceRow {
    pub ogg_opus: Vec<u8>,
    pub sha256: String,
    pub duration_ms: u32,
}

impl std::fmt::Debug for VoiceRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceRow")
            .field("size_bytes", &self.ogg_opus.len())
            .field("duration_ms", &self.duration_ms)
            .finish_non_exhaustive()
    }
}

/// The outcome of [`Store::register`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterOutcome {
    /// Stored now under a new case number.
    Created(RegistrationAck),
    /// The key was stored before with the same body; the earlier answer.
    Replayed(RegistrationAck),
    /// The key was stored before with a different body.
    Conflict,
}

/// Where a staged upload stands, after [`Store::stage`] or [`Store::stage_page`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageState {
    /// The key is registered already: the earlier answer, as a replay.
    Registered(RegistrationAck),
    /// The metadata is stored; these parts are still missing, pages and
    /// [`VOICE_NOTE_PART`] (none: complete it).
    Missing(Vec<u32>),
    /// The key was staged before with different metadata.
    Conflict,
    /// No metadata was staged under this key.
    Unknown,
    /// Refused: the terminal credential's staging quota is full; nothing of
    /// the request was stored.
    OverQuota,
    /// Refused: the staged upload would hold more than its byte limit; it
    /// can never complete and was dropped.
    TooLarge,
}

/// Where the pages (and the voice note) of a registration being stored come from.
#[derive(Debug, Clone, Copy)]
pub enum PageSource<'a> {
    /// Opened and checked in this request: the pages, and the voice note
    /// when the upload has one.
    Rows(&'a [PageRow], Option<&'a VoiceRow>),
    /// Staged under the upload's key (each checked against the metadata's
    /// sha256 when it came): copied inside the database, never loaded here.
    Staged,
}

/// Totals for `GET /v1/stats`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Stats {
    pub registrations: u64,
    pub pages: u64,
    /// Satisfaction ratings stored.
    #[serde(default)]
    pub ratings: u64,
}

/// The registry database.
#[derive(Debug)]
pub struct Store {
    backend: Backend,
    lookup_key: LookupKey,
}

/// A terminal's latest heartbeat, as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct HeartbeatRecord {
    pub received_at: String,
    #[serde(flatten)]
    pub heartbeat: Heartbeat,
}

/// The registry's clock zone: case years and timestamps follow Beijing time.
fn china_time(now: DateTime<Utc>) -> DateTime<FixedOffset> {
    let offset = FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset");
    now.with_timezone(&offset)
}

/// Formats a case number: `XF-2026-000001`.
pub fn format_case_number(year: i32, seq: i64) -> String {
    format!("{CASE_PREFIX}-{year:04}-{seq:06}")
}

impl Store {
    /// Opens (creating the SQLite file if needed) the database and migrates it.
    pub fn open(database: &Database, lookup_key: LookupKey) -> Result<Store, StoreError> {
        let (backend, found) = Backend::open(database)?;
        Store::init(backend, found, lookup_key)
    }

    /// An in-memory database, for unit tests.
    #[cfg(test)]
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let conn = rusqlite::Connection::open_in_memory().map_err(StoreError::Open)?;
        let backend = Backend::sqlite(conn)?;
        let found = backend.migrate()?;
        Store::init(backend, found, test_lookup_key())
    }

    /// The history key of `id_number` under this registry's lookup key.
    pub fn id_lookup_key(&self, id_number: &IdNumber) -> String {
        registry_api::envelope::id_lookup_key(&self.lookup_key, id_number)
    }

    fn init(backend: Backend, found: i64, lookup_key: LookupKey) -> Result<Store, StoreError> {
        if found < 2 {
            rehash_lookups(&mut backend.db()?, &lookup_key)?;
        }
        Ok(Store {
            backend,
            lookup_key,
        })
    }

    /// A connection for one call.
    fn db(&self) -> Result<Db<'_>, StoreError> {
        self.backend.db()
    }

    /// Stores a registration, issuing the next case number, or answers a repeated key.
    ///
    /// `body_sha256` is the content hash of `upload` (`validate::content_hash`);
    /// `pages` are its already verified pages, with their images (`upload`
    /// itself may be the metadata only, its page images empty). An upload
    /// with a voice note goes through [`Store::register_from`] with the note;
    /// the HTTP layer always does, so this is the tests' shorthand.
    #[cfg(test)]
    pub fn register(
        &self,
        upload: &RegistrationUpload,
        body_sha256: &str,
        pages: &[PageRow],
        now: DateTime<Utc>,
    ) -> Result<RegisterOutcome, StoreError> {
        self.register_from(upload, body_sha256, PageSource::Rows(pages, None), now)
    }

    /// Like [`Store::register`], with the pages and voice note of `source`:
    /// a completed staged upload's parts are copied from `staged_pages` by
    /// the database, one at a time, without passing through this process
    /// (nor through base64). A voice note the metadata names but `source`
    /// lacks is [`StoreError::VoiceNoteMissing`], and nothing is stored.
    pub fn register_from(
        &self,
        upload: &RegistrationUpload,
        body_sha256: &str,
        source: PageSource<'_>,
        now: DateTime<Utc>,
    ) -> Result<RegisterOutcome, StoreError> {
        let mut db = self.db()?;
        let mut tx = db.begin(Durability::Full)?;

        let earlier: Option<(String, String, String, bool)> = tx
            .query_row(
                "SELECT case_number, received_at, body_sha256, likely_duplicate FROM registrations
                 WHERE idempotency_key = ?1",
                params![upload.idempotency_key],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )
            .optional()?;
        if let Some((case_number, received_at, earlier_hash, likely_duplicate)) = earlier {
            // Only a hash from before content hash v2 needs the page images.
            let staged_rows;
            let pages = match source {
                PageSource::Rows(rows, _) => rows,
                PageSource::Staged if crate::validate::is_content_hash_v2(&earlier_hash) => &[],
                PageSource::Staged => {
                    staged_rows = staged_page_rows(&mut tx, upload)?;
                    &staged_rows[..]
                }
            };
            // A hash that cannot be computed cannot prove the same content.
            let same = crate::validate::same_content(&earlier_hash, body_sha256, upload, pages)
                .unwrap_or(false);
            if !same {
                return Ok(RegisterOutcome::Conflict);
            }
            return Ok(RegisterOutcome::Replayed(RegistrationAck {
                case_number,
                received_at,
                replayed: true,
                likely_duplicate,
            }));
        }
        let id_lookup = self.id_lookup_key(&upload.petitioner.id_number);
        let likely_duplicate = is_likely_duplicate(&mut tx, &id_lookup, upload, now)?;

        let local = china_time(now);
        let year = local.year();
        let received_at = local.to_rfc3339_opts(SecondsFormat::Millis, false);
        let seq: i64 = tx.query_row(
            "SELECT COALESCE(MAX(case_seq), 0) + 1 FROM registrations WHERE case_year = ?1",
            params![year],
            |row| row.get(0),
        )?;
        let case_number = format_case_number(year, seq);
        let p = &upload.petitioner;
        let registration_id: i64 = tx.query_row(
            "INSERT INTO registrations (
                case_number, case_year, case_seq, idempotency_key, body_sha256, received_at,
                terminal_id, local_ref, sealed_at, doc_type, id_number, id_lookup, name, sex,
                birth, address, category, description, phone, status, likely_duplicate,
                repeat_of, repeat_same, fields, assisted, identity_typed)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                     ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)
             RETURNING id",
            params![
                case_number,
                year,
                seq,
                upload.idempotency_key,
                body_sha256,
                received_at,
                upload.terminal_id,
                upload.local_ref,
                upload.sealed_at,
                p.doc_type,
                p.id_number.expose(),
                id_lookup,
                p.name.expose(),
                p.sex,
                p.birth,
                p.address.expose(),
                upload.category,
                upload.description.expose(),
                upload.phone.as_ref().map(|phone| phone.expose()),
                STATUS_REGISTERED,
                likely_duplicate,
                upload.repeat.as_ref().map(|r| r.earlier_case.as_str()),
                upload.repeat.as_ref().map(|r| r.same_matter),
                serde_json::to_string(&upload.fields).ok(),
                upload.assisted,
                upload.identity_typed,
            ],
            |row| row.get(0),
        )?;
        if let PageSource::Rows(pages, _) = source {
            for page in pages {
                tx.execute(
                "INSERT INTO pages (registration_id, page_index, jpeg, sha256, size_bytes,
                                    ocr_text, ocr_confidence)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", params![
                    registration_id,
                    page.index,
                    page.jpeg,
                    page.sha256,
                    page.jpeg.len() as i64,
                    page.ocr_text.expose(),
                    f64::from(page.ocr_confidence),
                ])?;
            }
        } else {
            for page in &upload.pages {
                let copied = tx.execute(
                "INSERT INTO pages (registration_id, page_index, jpeg, sha256, size_bytes,
                                    ocr_text, ocr_confidence)
                 SELECT CAST(?1 AS BIGINT), page_index, jpeg, CAST(?3 AS TEXT), length(jpeg),
                        CAST(?4 AS TEXT), CAST(?5 AS DOUBLE PRECISION)
                 FROM staged_pages
                 WHERE idempotency_key = ?6 AND page_index = ?2", params![
                    registration_id,
                    page.index,
                    page.sha256,
                    page.ocr_text.expose(),
                    f64::from(page.ocr_confidence),
                    upload.idempotency_key,
                ])?;
                if copied != 1 {
                    // Dropping the transaction rolls the registration back.
                    return Err(StoreError::StagedPageMissing(page.index));
                }
            }
        }
        if let Some(note) = &upload.voice_note {
            let stored = match source {
                PageSource::Rows(_, Some(row)) => tx.execute(
                    "INSERT INTO voice_notes (registration_id, ogg_opus, sha256, size_bytes, duration_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        registration_id,
                        row.ogg_opus,
                        row.sha256,
                        row.ogg_opus.len() as i64,
                        row.duration_ms,
                    ],
                )?,
                PageSource::Rows(_, None) => 0,
                PageSource::Staged => tx.execute(
                    "INSERT INTO voice_notes (registration_id, ogg_opus, sha256, size_bytes, duration_ms)
                     SELECT CAST(?1 AS BIGINT), jpeg, CAST(?2 AS TEXT), length(jpeg), CAST(?3 AS BIGINT)
                     FROM staged_pages
                     WHERE idempotency_key = ?4 AND page_index = ?5",
                    params![
                        registration_id,
                        note.sha256,
                        note.duration_ms,
                        upload.idempotency_key,
                        VOICE_NOTE_PART,
                    ],
                )?,
            };
            if stored != 1 {
                // Dropping the transaction rolls the registration back.
                return Err(StoreError::VoiceNoteMissing);
            }
        }
        tx.execute(
            "DELETE FROM staged_uploads WHERE idempotency_key = ?1",
            params![upload.idempotency_key],
        )?;
        tx.commit()?;
        Ok(RegisterOutcome::Created(RegistrationAck {
            case_number,
            received_at,
            replayed: false,
            likely_duplicate,
        }))
    }

    /// Stores the metadata of a staged upload (the upload's JSON without page
    /// images and voice note bytes, already validated) unless it is there
    /// already, with `pages` (opened and checked; the voice note as part
    /// [`VOICE_NOTE_PART`]) that came along in a bundle, and says which of
    /// its `page_count` pages, and its voice note when `voice_note`, are
    /// still missing.
    ///
    /// A new upload counts against `owner`'s quota ([`StagingLimits`]); over
    /// it, or over the upload's own byte limit, the answer is
    /// [`StageState::OverQuota`] or [`StageState::TooLarge`], and nothing of
    /// this call is stored (a staged upload that became too large is dropped).
    #[allow(clippy::too_many_arguments)]
    pub fn stage(
        &self,
        key: &str,
        owner: &str,
        metadata: &[u8],
        metadata_sha256: &str,
        page_count: u32,
        voice_note: bool,
        pages: &[(u32, Vec<u8>)],
        limits: &StagingLimits,
        now: DateTime<Utc>,
    ) -> Result<StageState, StoreError> {
        let mut db = self.db()?;
        let mut tx = db.begin(Durability::Staging)?;
        if let Some(ack) = registered_ack(&mut tx, key)? {
            return Ok(StageState::Registered(ack));
        }
        let earlier: Option<String> = tx
            .query_row(
                "SELECT metadata_sha256 FROM staged_uploads WHERE idempotency_key = ?1",
                params![key],
                |row| row.get(0),
            )
            .optional()?;
        match earlier {
            Some(hash) if hash != metadata_sha256 => return Ok(StageState::Conflict),
            Some(_) => {}
            None => {
                let (open, held) = owner_usage(&mut tx, owner)?;
                let size = metadata.len() as u64;
                if size > limits.upload_bytes {
                    return Ok(StageState::TooLarge);
                }
                if open >= u64::from(limits.terminal_uploads)
                    || held.saturating_add(size) > limits.terminal_bytes
                {
                    return Ok(StageState::OverQuota);
                }
                tx.execute(
                    "INSERT INTO staged_uploads
                         (idempotency_key, metadata, metadata_sha256, page_count, received_at, owner,
                          voice_note)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        key,
                        metadata,
                        metadata_sha256,
                        page_count,
                        now.to_rfc3339_opts(SecondsFormat::Millis, true),
                        owner,
                        voice_note
                    ],
                )?;
            }
        }
        for (index, jpeg) in pages {
            if let Some(refused) = put_staged_page(&mut tx, key, owner, *index, jpeg, limits)? {
                return refuse(tx, key, refused);
            }
        }
        let missing = missing_pages(&mut tx, key)?;
        tx.commit()?;
        Ok(missing)
    }

    /// The answer stored for `key`, as a replay, when it is registered.
    pub fn registered(&self, key: &str) -> Result<Option<RegistrationAck>, StoreError> {
        registered_ack(&mut self.db()?, key)
    }

    /// The staged metadata of `key`, if any.
    pub fn staged_metadata(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.db()?
            .query_row(
                "SELECT metadata FROM staged_uploads WHERE idempotency_key = ?1",
                params![key],
                |row| row.get(0),
            )
            .optional()
    }

    /// Stores one page of a staged upload (or its voice note, `index`
    /// [`VOICE_NOTE_PART`]; already checked against the metadata) and says
    /// which parts are still missing; over a quota (see [`Store::stage`])
    /// the part is refused and not stored.
    pub fn stage_page(
        &self,
        key: &str,
        owner: &str,
        index: u32,
        jpeg: &[u8],
        limits: &StagingLimits,
    ) -> Result<StageState, StoreError> {
        let mut db = self.db()?;
        let mut tx = db.begin(Durability::Staging)?;
        if let Some(ack) = registered_ack(&mut tx, key)? {
            return Ok(StageState::Registered(ack));
        }
        let staged: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM staged_uploads WHERE idempotency_key = ?1)",
            params![key],
            |row| row.get(0),
        )?;
        if !staged {
            return Ok(StageState::Unknown);
        }
        if let Some(refused) = put_staged_page(&mut tx, key, owner, index, jpeg, limits)? {
            return refuse(tx, key, refused);
        }
        let missing = missing_pages(&mut tx, key)?;
        tx.commit()?;
        Ok(missing)
    }

    /// The staged pages of `key`, in index order.
    #[cfg(test)]
    pub fn staged_pages(&self, key: &str) -> Result<Vec<(u32, Vec<u8>)>, StoreError> {
        self.db()?.query_map(
            "SELECT page_index, jpeg FROM staged_pages WHERE idempotency_key = ?1
             ORDER BY page_index",
            params![key],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
    }

    /// Deletes staged uploads (metadata and pages) received before `before`:
    /// uploads a terminal began and never completed. Returns how many went.
    pub fn sweep_staged(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut db = self.db()?;
        db.durability(Durability::Full)?;
        // `received_at` is stored as RFC 3339 UTC with milliseconds, so text order is time order.
        let n = db.execute(
            "DELETE FROM staged_uploads WHERE received_at < ?1",
            params![before.to_rfc3339_opts(SecondsFormat::Millis, true)],
        )?;
        Ok(n)
    }

    /// How many uploads are staged (begun, not complete).
    #[cfg(test)]
    pub fn staged_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .db()?
            .query_row("SELECT COUNT(*) FROM staged_uploads", params![], |row| row.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// Writes one audit entry (committed before the call it records answers).
    pub fn audit(&self, who: &str, action: &str, target: &str) -> Result<(), StoreError> {
        self.db()?.execute(
            "INSERT INTO audit_log (at, who, action, target) VALUES (?1, ?2, ?3, ?4)",
            params![
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                who,
                action,
                target
            ],
        )?;
        Ok(())
    }

    /// The newest `limit` audit entries, newest first.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.db()?.query_map(
            "SELECT at, who, action, target FROM audit_log ORDER BY id DESC LIMIT ?1",
            params![i64::try_from(limit).unwrap_or(i64::MAX)],
            |row| {
            Ok(AuditEntry {
                at: row.get(0)?,
                who: row.get(1)?,
                action: row.get(2)?,
                target: row.get(3)?,
            })
        })
    }

    /// The registrations filed under a history key (see [`Store::id_lookup_key`]), newest first.
    pub fn history(&self, id_key: &str) -> Result<HistoryReply, StoreError> {
        let mut db = self.db()?;
        let mut registrations = db.query_map(
            "SELECT r.case_number, r.received_at, r.category, r.status,
                    (SELECT COUNT(*) FROM pages p WHERE p.registration_id = r.id),
                    (SELECT t.score FROM ratings t WHERE t.registration_id = r.id)
             FROM registrations r
             WHERE r.id_lookup = ?1
             ORDER BY r.id DESC",
            params![id_key],
            |row| {
            Ok(HistoryEntry {
                case_number: row.get(0)?,
                registered_at: row.get(1)?,
                category: row.get(2)?,
                status: row.get(3)?,
                page_count: row.get(4)?,
                rating: row.get(5)?,
                notices: Vec::new(),
            })
        })?;
        notices::attach_notices(&mut db, &mut registrations)?;
        Ok(HistoryReply { registrations })
    }

    /// One registration by case number, without the page images.
    pub fn record(&self, case_number: &str) -> Result<Option<RegistrationRecord>, StoreError> {
        let mut db = self.db()?;
        let head = db
            .query_row(
                "SELECT id, case_number, received_at, terminal_id, local_ref, doc_type, id_number,
                        name, sex, birth, address, category, description, repeat_of, repeat_same,
                        fields, assisted, identity_typed
                 FROM registrations WHERE case_number = ?1",
                params![case_number],
                |row| {
                    let id: i64 = row.get(0)?;
                    let record = RegistrationRecord {
                        case_number: row.get(1)?,
                        registered_at: row.get(2)?,
                        terminal_id: row.get(3)?,
                        local_ref: row.get(4)?,
                        petitioner: Petitioner {
                            doc_type: row.get(5)?,
                            id_number: IdNumber::new(row.get::<_, String>(6)?),
                            name: PersonName::new(row.get::<_, String>(7)?),
                            sex: row.get(8)?,
                            birth: row.get(9)?,
                            address: Address::new(row.get::<_, String>(10)?),
                        },
                        category: row.get(11)?,
                        description: PersonalText::new(row.get::<_, String>(12)?),
                        pages: Vec::new(),
                        repeat: match (
                            row.get::<_, Option<String>>(13)?,
                            row.get::<_, Option<bool>>(14)?,
                        ) {
                            (Some(earlier_case), Some(same_matter)) => Some(RepeatAnswer {
                                earlier_case,
                                same_matter,
                            }),
                            _ => None,
                        },
                        fields: row
                            .get::<_, Option<String>>(15)?
                            .and_then(|json| serde_json::from_str(&json).ok())
                            .unwrap_or_default(),
                        assisted: row.get(16)?,
                        identity_typed: row.get(17)?,
                        voice_note: None,
                    };
                    Ok((id, record))
                },
            )
            .optional()?;
        let Some((id, mut record)) = head else {
            return Ok(None);
        };
        record.pages = db.query_map(
            "SELECT page_index, sha256, size_bytes, ocr_text FROM pages
             WHERE registration_id = ?1 ORDER BY page_index",
            params![id],
            |row| {
            Ok(StoredPage {
                index: row.get(0)?,
                sha256: row.get(1)?,
                size_bytes: row.get::<_, i64>(2)?.max(0) as u64,
                ocr_text: PersonalText::new(row.get::<_, String>(3)?),
            })
        })?;
        record.voice_note = db
            .query_row(
                "SELECT sha256, size_bytes, duration_ms FROM voice_notes WHERE registration_id = ?1",
                params![id],
                |row| {
                    Ok(StoredVoiceNote {
                        sha256: row.get(0)?,
                        size_bytes: row.get::<_, i64>(1)?.max(0) as u64,
                        duration_ms: row.get(2)?,
                    })
                },
            )
            .optional()?;
        Ok(Some(record))
    }

    /// The Ogg Opus bytes of the voice note of case `case_number`, if it has one.
    pub fn voice_note(&self, case_number: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.db()?
            .query_row(
                "SELECT v.ogg_opus FROM voice_notes v JOIN registrations r ON r.id = v.registration_id
                 WHERE r.case_number = ?1",
                params![case_number],
                |row| row.get(0),
            )
            .optional()
    }

    /// How many registrations and pages are stored.
    pub fn stats(&self) -> Result<Stats, StoreError> {
        let (registrations, pages, ratings) = self.db()?.query_row(
            "SELECT (SELECT COUNT(*) FROM registrations), (SELECT COUNT(*) FROM pages),
                    (SELECT COUNT(*) FROM ratings)",
            params![],
            |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, i64>(2)?,
                ))
            },
        )?;
        Ok(Stats {
            registrations: registrations.max(0) as u64,
            pages: pages.max(0) as u64,
            ratings: ratings.max(0) as u64,
        })
    }
}

/// Whether an earlier registration of the same petitioner (same history key)
/// in the same category, received in the last [`DUPLICATE_WINDOW_DAYS`] days,
/// has the same description, or either description is empty.
/// The answer stored for `key`, as a replay, when it is registered.
fn registered_ack(conn: &mut impl Sql, key: &str) -> Result<Option<RegistrationAck>, StoreError> {
    conn
        .query_row(
            "SELECT case_number, received_at, likely_duplicate FROM registrations
             WHERE idempotency_key = ?1",
            params![key],
            |row| {
                Ok(RegistrationAck {
                    case_number: row.get(0)?,
                    received_at: row.get(1)?,
                    replayed: true,
                    likely_duplicate: row.get(2)?,
                })
            },
        )
        .optional()
}

/// How many staged uploads `owner` has open and how many bytes they hold
/// (metadata and pages). `length()` of a blob reads no blob content.
fn owner_usage(conn: &mut impl Sql, owner: &str) -> Result<(u64, u64), StoreError> {
    // The casts keep PostgreSQL's sum of sums a BIGINT (it would be NUMERIC).
    let (open, held): (i64, i64) = conn.query_row(
        "SELECT COUNT(*), CAST(COALESCE(SUM(length(u.metadata) + COALESCE(
                (SELECT SUM(length(p.jpeg)) FROM staged_pages p
                 WHERE p.idempotency_key = u.idempotency_key), 0)), 0) AS BIGINT)
         FROM staged_uploads u WHERE u.owner = ?1",
        params![owner],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    Ok((open.max(0) as u64, held.max(0) as u64))
}

/// Stores page `index` of the staged upload `key` within the quotas, or
/// says which one it would break (and stores nothing). The quota charged is
/// the owner's who staged the upload; an upload staged before owners were
/// recorded is claimed by `owner`.
fn put_staged_page(
    conn: &mut impl Sql,
    key: &str,
    owner: &str,
    index: u32,
    jpeg: &[u8],
    limits: &StagingLimits,
) -> Result<Option<StageState>, StoreError> {
    let (stored_owner, upload_bytes, replaced): (String, i64, i64) = conn.query_row(
        "SELECT owner,
                length(metadata) + COALESCE((SELECT SUM(length(jpeg)) FROM staged_pages
                                             WHERE idempotency_key = ?1), 0),
                COALESCE((SELECT length(jpeg) FROM staged_pages
                          WHERE idempotency_key = ?1 AND page_index = ?2), 0)
         FROM staged_uploads WHERE idempotency_key = ?1",
        params![key, index],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
    )?;
    let charged = if stored_owner.is_empty() {
        conn.execute(
            "UPDATE staged_uploads SET owner = ?2 WHERE idempotency_key = ?1",
            params![key, owner],
        )?;
        owner.to_owned()
    } else {
        stored_owner
    };
    let size = jpeg.len() as u64;
    let replaced = replaced.max(0) as u64;
    let after = (upload_bytes.max(0) as u64).saturating_sub(replaced).saturating_add(size);
    if after > limits.upload_bytes {
        return Ok(Some(StageState::TooLarge));
    }
    let (_, held) = owner_usage(conn, &charged)?;
    if held.saturating_sub(replaced).saturating_add(size) > limits.terminal_bytes {
        return Ok(Some(StageState::OverQuota));
    }
    conn.execute(
        "INSERT INTO staged_pages (idempotency_key, page_index, jpeg) VALUES (?1, ?2, ?3)
         ON CONFLICT (idempotency_key, page_index) DO UPDATE SET jpeg = excluded.jpeg",
        params![key, index, jpeg],
    )?;
    Ok(None)
}

/// Ends a staging transaction that broke a quota: over the terminal's
/// quota nothing of it is kept (rolled back); an upload over its own limit
/// can never complete, so it is dropped with its pages.
fn refuse(
    mut tx: db::Tx<'_>,
    key: &str,
    refused: StageState,
) -> Result<StageState, StoreError> {
    if refused == StageState::TooLarge {
        tx.execute("DELETE FROM staged_uploads WHERE idempotency_key = ?1", params![key])?;
        tx.commit()?;
    }
    Ok(refused)
}

/// The staged pages of `upload` as rows, for comparing content with a
/// registration stored before content hash v2.
fn staged_page_rows(
    conn: &mut impl Sql,
    upload: &RegistrationUpload,
) -> Result<Vec<PageRow>, StoreError> {
    let mut rows = Vec::with_capacity(upload.pages.len());
    for page in &upload.pages {
        let jpeg: Vec<u8> = conn
            .query_row(
                "SELECT jpeg FROM staged_pages WHERE idempotency_key = ?1 AND page_index = ?2",
                params![upload.idempotency_key, page.index],
                |row| row.get(0),
            )
            .optional()?
            .ok_or(StoreError::StagedPageMissing(page.index))?;
        rows.push(PageRow {
            index: page.index,
            jpeg,
            sha256: page.sha256.clone(),
            ocr_text: page.ocr_text.clone(),
            ocr_confidence: page.ocr_confidence,
        });
    }
    Ok(rows)
}

/// The parts of the staged upload `key` not stored yet: its pages, then
/// its voice note ([`VOICE_NOTE_PART`]) when it has one.
fn missing_pages(conn: &mut impl Sql, key: &str) -> Result<StageState, StoreError> {
    let (page_count, voice_note): (u32, bool) = conn.query_row(
        "SELECT page_count, voice_note FROM staged_uploads WHERE idempotency_key = ?1",
        params![key],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    let have: std::collections::BTreeSet<u32> = conn
        .query_map(
            "SELECT page_index FROM staged_pages WHERE idempotency_key = ?1",
            params![key],
            |row| row.get(0),
        )?
        .into_iter()
        .collect();
    let voice_missing = voice_note && !have.contains(&VOICE_NOTE_PART);
    Ok(StageState::Missing(
        (1..=page_count)
            .filter(|i| !have.contains(i))
            .chain(voice_missing.then_some(VOICE_NOTE_PART))
            .collect(),
    ))
}

fn is_likely_duplicate(
    conn: &mut impl Sql,
    id_lookup: &str,
    upload: &RegistrationUpload,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let since = china_time(now - chrono::TimeDelta::days(DUPLICATE_WINDOW_DAYS))
        .to_rfc3339_opts(SecondsFormat::Millis, false);
    let description = upload.description.expose().trim().to_owned();
    let found: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM registrations
             WHERE id_lookup = ?1 AND category = ?2 AND received_at >= ?3
               AND (TRIM(description) = ?4 OR TRIM(description) = '' OR ?4 = ''))",
        params![id_lookup, upload.category, since, description],
        |row| row.get(0),
    )?;
    Ok(found)
}

/// Recomputes every `id_lookup` under the lookup key (after the upgrade from
/// the unkeyed hash of schema version 1).
fn rehash_lookups(db: &mut Db<'_>, key: &LookupKey) -> Result<(), StoreError> {
    let mut tx = db.begin(Durability::Full)?;
    let rows: Vec<(i64, String)> = tx.query_map(
        "SELECT id, id_number FROM registrations",
        params![],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    for (id, number) in rows {
        let lookup = registry_api::envelope::id_lookup_key(key, &IdNumber::new(number));
        tx.execute(
            "UPDATE registrations SET id_lookup = ?2 WHERE id = ?1",
            params![id, lookup],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// A lookup key fixed for unit tests.
#[cfg(test)]
pub(crate) fn test_lookup_key() -> LookupKey {
    LookupKey::from_text("kiosk-lookup-key-v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
        .expect("valid test key")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use kiosk_privacy::PersonalText;

    // SPECIMEN data: not a real person.
    pub(super) fn upload(key: &str, id: &str) -> RegistrationUpload {
        RegistrationUpload {
            voice_note: None,
            repeat: None,
            assisted: false,
            identity_typed: false,
            fields: vec![],
            idempotency_key: key.into(),
            terminal_id: "T-SPECIMEN".into(),
            local_ref: "L-1".into(),
            sealed_at: "2026-03-01T09:00:00+08:00".into(),
            petitioner: Petitioner {
                doc_type: "resident".into(),
                id_number: IdNumber::new(id),
                name: PersonName::new("样本"),
                sex: 1,
                birth: None,
                address: Address::new("样本路1号"),
            },
            category: "wages".into(),
            description: PersonalText::new(""),
            phone: None,
            pages: Vec::new(),
        }
    }

    const LIMITS: StagingLimits = StagingLimits {
        upload_bytes: 100,
        terminal_uploads: 2,
        terminal_bytes: 150,
    };

    #[test]
    fn staging_quotas_refuse_without_storing_and_free_room_as_uploads_go() {
        let store = Store::open_in_memory().unwrap();
        let now = at(2026, 5, 1, 0);
        let page = |n: usize| vec![0xA5; n];
        let count = |table: &str| -> i64 {
            store
                .db()
                .unwrap()
                .query_row(&format!("SELECT COUNT(*) FROM {table}"), params![], |r| r.get(0))
                .unwrap()
        };
        // Two open uploads per terminal; the third is refused, nothing stored.
        for key in ["a", "b"] {
            assert_eq!(
                store.stage(key, "t1", b"{}", "h", 3, false, &[], &LIMITS, now).unwrap(),
                StageState::Missing(vec![1, 2, 3])
            );
        }
        assert_eq!(
            store.stage("c", "t1", b"{}", "h", 3, false, &[(1, page(10))], &LIMITS, now).unwrap(),
            StageState::OverQuota
        );
        assert_eq!((count("staged_uploads"), count("staged_pages")), (2, 0));
        // Re-posting an open upload is not a new one.
        assert_eq!(
            store.stage("a", "t1", b"{}", "h", 3, false, &[], &LIMITS, now).unwrap(),
            StageState::Missing(vec![1, 2, 3])
        );
        // Another terminal has its own quota.
        assert_eq!(
            store.stage("x", "t2", b"{}", "h", 1, false, &[], &LIMITS, now).unwrap(),
            StageState::Missing(vec![1])
        );
        // Bytes per terminal: 2 + 2 of metadata, 70 + 70 fit, 10 more do not.
        let put = |key: &str, index: u32, size: usize| {
            store.stage_page(key, "t1", index, &page(size), &LIMITS).unwrap()
        };
        assert_eq!(put("a", 1, 70), StageState::Missing(vec![2, 3]));
        assert_eq!(put("b", 1, 70), StageState::Missing(vec![2, 3]));
        assert_eq!(put("b", 2, 10), StageState::OverQuota);
        assert_eq!(count("staged_pages"), 2);
        // The same page again replaces itself: no double count.
        assert_eq!(put("a", 1, 70), StageState::Missing(vec![2, 3]));
        // Bytes per upload: "a" would hold 2 + 70 + 40 > 100, so it is dropped.
        assert_eq!(put("a", 2, 40), StageState::TooLarge);
        assert!(store.staged_metadata("a").unwrap().is_none());
        assert_eq!((count("staged_uploads"), count("staged_pages")), (2, 1));
        // Its room is free again: "b" takes its page, a new upload is taken.
        assert_eq!(put("b", 2, 10), StageState::Missing(vec![3]));
        assert_eq!(
            store.stage("d", "t1", b"{}", "h", 1, false, &[], &LIMITS, now).unwrap(),
            StageState::Missing(vec![1])
        );
        // An upload staged before owners were kept is claimed by who continues it.
        store
            .db()
            .unwrap()
            .execute("UPDATE staged_uploads SET owner = '' WHERE idempotency_key = 'x'", params![])
            .unwrap();
        assert_eq!(
            store.stage_page("x", "t3", 1, &page(5), &LIMITS).unwrap(),
            StageState::Missing(vec![])
        );
        let owner: String = store
            .db()
            .unwrap()
            .query_row(
                "SELECT owner FROM staged_uploads WHERE idempotency_key = 'x'",
                params![],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(owner, "t3");
    }

    #[test]
    fn a_staged_voice_note_is_missing_until_it_comes_and_is_stored_with_the_case() {
        let store = Store::open_in_memory().unwrap();
        let now = at(2026, 5, 1, 0);
        let ogg = registry_api::voice::specimen_ogg_opus(2_000);
        let mut up = upload("v", "X1");
        up.voice_note = Some(registry_api::VoiceNoteUpload {
            ogg_opus_base64: String::new(),
            ..registry_api::VoiceNoteUpload::new(&ogg, 2_000)
        });
        let limits = StagingLimits::default();
        assert_eq!(
            store.stage("v", "t1", b"{}", "h", 0, true, &[], &limits, now).unwrap(),
            StageState::Missing(vec![VOICE_NOTE_PART])
        );
        // Its bytes count against the quotas like a page's.
        let tight = StagingLimits { upload_bytes: 100, ..limits };
        assert_eq!(
            store.stage_page("v", "t1", VOICE_NOTE_PART, &ogg, &tight).unwrap(),
            StageState::TooLarge
        );
        assert_eq!(
            store.stage("v", "t1", b"{}", "h", 0, true, &[], &limits, now).unwrap(),
            StageState::Missing(vec![VOICE_NOTE_PART])
        );
        assert_eq!(
            store.stage_page("v", "t1", VOICE_NOTE_PART, &ogg, &limits).unwrap(),
            StageState::Missing(vec![])
        );
        // Completed: copied inside the database with the case.
        let case = case_of(store.register_from(&up, "h", PageSource::Staged, now).unwrap());
        assert_eq!(store.voice_note(&case).unwrap(), Some(ogg.clone()));
        let note = store.record(&case).unwrap().unwrap().voice_note.unwrap();
        assert_eq!(
            (note.sha256.as_str(), note.size_bytes, note.duration_ms),
            (registry_api::sha256_hex(&ogg).as_str(), ogg.len() as u64, 2_000)
        );
        assert_eq!(store.staged_count().unwrap(), 0);
        // A note the metadata names but the request lacks: nothing is stored.
        let mut other = up.clone();
        other.idempotency_key = "w".into();
        assert!(matches!(
            store.register(&other, "h", &[], now),
            Err(StoreError::VoiceNoteMissing)
        ));
        assert_eq!(store.stats().unwrap().registrations, 1);
        let row = VoiceRow { ogg_opus: ogg.clone(), sha256: note.sha256.clone(), duration_ms: 2_000 };
        let second = case_of(store.register_from(&other, "h", PageSource::Rows(&[], Some(&row)), now).unwrap());
        assert_eq!(store.voice_note(&second).unwrap(), Some(ogg));
        assert!(!format!("{row:?}").contains("Ogg"), "{row:?}");
        // A case without a note has none.
        let plain = case_of(store.register(&upload("p", "X1"), "h", &[], now).unwrap());
        assert_eq!(store.voice_note(&plain).unwrap(), None);
        assert!(store.record(&plain).unwrap().unwrap().voice_note.is_none());
    }

    fn at(year: i32, month: u32, day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(year, month, day, hour, 0, 0).unwrap()
    }

    fn case_of(outcome: RegisterOutcome) -> String {
        match outcome {
            RegisterOutcome::Created(ack) => ack.case_number,
            other => panic!("expected a new case, got {other:?}"),
        }
    }

    #[test]
    fn numbers_are_sequential_and_restart_each_beijing_year() {
        let store = Store::open_in_memory().unwrap();
        let first = store
            .register(&upload("a", "X1"), "h", &[], at(2026, 5, 1, 0))
            .unwrap();
        assert_eq!(case_of(first), "XF-2026-000001");
        let second = store
            .register(&upload("b", "X1"), "h", &[], at(2026, 5, 1, 1))
            .unwrap();
        assert_eq!(case_of(second), "XF-2026-000002");
        // 16:30 UTC on 31 December is already the new year in Beijing.
        let new_year = Utc.with_ymd_and_hms(2026, 12, 31, 16, 30, 0).unwrap();
        let third = store
            .register(&upload("c", "X1"), "h", &[], new_year)
            .unwrap();
        assert_eq!(case_of(third), "XF-2027-000001");
    }

    #[test]
    fn repeated_key_replays_or_conflicts() {
        let store = Store::open_in_memory().unwrap();
        let now = at(2026, 5, 1, 0);
        let first = case_of(store.register(&upload("k", "X1"), "h1", &[], now).unwrap());
        match store.register(&upload("k", "X1"), "h1", &[], now).unwrap() {
            RegisterOutcome::Replayed(ack) => {
                assert_eq!(ack.case_number, first);
                assert!(ack.replayed);
            }
            other => panic!("expected a replay, got {other:?}"),
        }
        assert_eq!(
            store.register(&upload("k", "X1"), "h2", &[], now).unwrap(),
            RegisterOutcome::Conflict
        );
        assert_eq!(store.stats().unwrap().registrations, 1);
    }

    #[test]
    fn history_normalises_the_check_letter() {
        let store = Store::open_in_memory().unwrap();
        let now = at(2026, 5, 1, 0);
        store
            .register(&upload("a", "11010519491231002x"), "h", &[], now)
            .unwrap();
        let reply = store
            .history(&store.id_lookup_key(&IdNumber::new("11010519491231002X")))
            .unwrap();
        assert_eq!(reply.registrations.len(), 1);
        assert_eq!(reply.registrations[0].status, STATUS_REGISTERED);
    }

    #[test]
    fn sweep_deletes_only_old_staged_uploads_with_their_pages() {
        let store = Store::open_in_memory().unwrap();
        store
            .stage("old", "t", b"{}", "h", 2, false, &[], &LIMITS, at(2026, 5, 1, 0))
            .unwrap();
        store.stage_page("old", "t", 1, b"jpeg", &LIMITS).unwrap();
        store
            .stage("new", "t", b"{}", "h", 2, false, &[], &LIMITS, at(2026, 5, 20, 0))
            .unwrap();
        assert_eq!(store.staged_count().unwrap(), 2);
        assert_eq!(store.sweep_staged(at(2026, 5, 10, 0)).unwrap(), 1);
        assert_eq!(store.staged_count().unwrap(), 1);
        assert!(store.staged_metadata("old").unwrap().is_none());
        assert!(store.staged_pages("old").unwrap().is_empty());
        assert!(store.staged_metadata("new").unwrap().is_some());
        // A swept upload starts again from its metadata.
        assert_eq!(
            store.stage_page("old", "t", 2, b"jpeg", &LIMITS).unwrap(),
            StageState::Unknown
        );
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        drop(Store::open(&Database::sqlite(&path), test_lookup_key()).unwrap());
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = Store::open(&Database::sqlite(&path), test_lookup_key()).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::SchemaTooNew { found: 99, known }
                    if known == MIGRATIONS.len() as i64
            ),
            "{err}"
        );
    }

    #[test]
    fn likely_duplicates_are_flagged_and_heartbeats_kept() {
        let store = Store::open_in_memory().unwrap();
        let now = at(2026, 5, 1, 0);
        let mut first = upload("a", "X1");
        first.description = PersonalText::new("SPECIMEN 拖欠工资");
        let ack = |o: RegisterOutcome| match o {
            RegisterOutcome::Created(a) | RegisterOutcome::Replayed(a) => a,
            RegisterOutcome::Conflict => panic!("conflict"),
        };
        assert!(!ack(store.register(&first, "h", &[], now).unwrap()).likely_duplicate);
        let mut same = first.clone();
        same.idempotency_key = "b".into();
        assert!(ack(store.register(&same, "h", &[], now).unwrap()).likely_duplicate);
        // A replay repeats the flag.
        assert!(ack(store.register(&same, "h", &[], now).unwrap()).likely_duplicate);
        let mut other_text = first.clone();
        other_text.idempotency_key = "c".into();
        other_text.description = PersonalText::new("SPECIMEN 土地纠纷");
        assert!(!ack(store.register(&other_text, "h", &[], now).unwrap()).likely_duplicate);
        let mut later = first.clone();
        later.idempotency_key = "d".into();
        assert!(
            !ack(store.register(&later, "h", &[], at(2026, 7, 1, 0)).unwrap()).likely_duplicate
        );

        let hb = Heartbeat {
            terminal_id: "T-1".into(),
            queue_depth: 3,
            failed: 1,
            oldest_unsent_age_s: Some(60),
            version: "0.1.0".into(),
            printer: None,
            free_disk_mb: None,
            update: None,
        };
        store.heartbeat(&hb, now).unwrap();
        store
            .heartbeat(
                &Heartbeat {
                    queue_depth: 0,
                    ..hb.clone()
                },
                now,
            )
            .unwrap();
        let all = store.heartbeats().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].heartbeat.queue_depth, 0);
    }
}
