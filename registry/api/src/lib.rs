//! Wire types of the kiosk-to-registry protocol.
//!
//! The protocol is described for people in `registry/openapi.yaml`; this crate
//! is its Rust form, shared by the kiosk's uplink and the reference registry so
//! the two ends cannot drift apart. Personal fields use the masked newtypes of
//! `kiosk-privacy`, so a `Debug` print of any request is safe to log.
//!
//! Every request carries `Authorization: Bearer <terminal token>`. Uploads also
//! carry the client-generated [`IDEMPOTENCY_HEADER`]; the registry answers a
//! repeated key with the case number it issued the first time.
//!
//! Terminals upload *sealed* registrations ([`SEALED_REGISTRATIONS_PATH`]): the
//! JSON of a [`RegistrationUpload`] in a sealed box to the registry's public
//! key ([`envelope`]). They send the metadata first (pages without their
//! images); the registry answers 202 with [`MissingPages`], and each missing
//! page follows in its own sealed box ([`sealed_page_path`]) until a 201
//! carries the [`RegistrationAck`]. The common case is one request: a
//! [`bundle`] ([`SEALED_BUNDLE_CONTENT_TYPE`]) carries the metadata box and
//! every page box, and the registry answers 201 at once; the page-by-page way
//! remains for resuming. A petitioner's voice note ([`VoiceNoteUpload`],
//! checked by [`voice`]) travels like a page: its bytes in a box of their
//! own, the part [`VOICE_NOTE_PART`]. History queries carry the ID number itself, over the
//! mutually authenticated channel, and the registry computes the keyed hash
//! ([`envelope::id_lookup_key`]) with a key no terminal holds; a rating proves
//! its rater with a box sealed to the registry ([`seal_rater`]).

pub mod bundle;
pub mod envelope;
pub mod voice;

pub use bundle::VOICE_NOTE_PART;
pub use voice::{VoiceNoteError, MAX_VOICE_NOTE_BYTES, MAX_VOICE_NOTE_MS};

use base64::Engine as _;
use kiosk_privacy::{Address, IdNumber, PersonName, PersonalText, PhoneNumber};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The most pages one registration may have (the terminal's queue and the
/// registry both refuse more).
pub const MAX_PAGES: usize = 50;

/// True for a case number as the registry issues them: `XF-`, a four-digit
/// year, `-`, and six to nine digits (`XF-2026-000123`). The terminal checks
/// every case number it receives before it stores, prints or shows it.
pub fn valid_case_number(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("XF-") else {
        return false;
    };
    let Some((year, seq)) = rest.split_once('-') else {
        return false;
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    year.len() == 4 && digits(year) && (6..=9).contains(&seq.len()) && digits(seq)
}

/// The staff API's prefix. Its own credentials (staff tokens, never a
/// terminal's), every call audited: the stored records, their status, the
/// fleet's heartbeats, the totals and the audit log. A terminal credential
/// is answered 403 here, and a staff credential 403 on the terminal API.
pub const STAFF_PREFIX: &str = "/v1/staff";
/// Path prefix of the stored registrations in the staff API:
/// `GET {REGISTRATIONS_PATH}/{case_number}` and [`status_path`]. Uploads are
/// sealed, on the terminal API ([`SEALED_REGISTRATIONS_PATH`]).
pub const REGISTRATIONS_PATH: &str = "/v1/staff/registrations";
/// Staff: the terminals' last heartbeats (`GET`).
pub const STAFF_HEARTBEATS_PATH: &str = "/v1/staff/heartbeats";
/// Staff: the registry's totals (`GET`).
pub const STAFF_STATS_PATH: &str = "/v1/staff/stats";
/// Staff: the newest audit entries (`GET`).
pub const STAFF_AUDIT_PATH: &str = "/v1/staff/audit";
/// Staff: the terminal records (`GET` lists, `POST` body [`NewTerminal`]
/// issues an enrollment code) and [`revoke_path`].
pub const STAFF_TERMINALS_PATH: &str = "/v1/staff/terminals";
/// Staff: revokes a terminal (`POST`, no body); refused from its next request.
pub fn revoke_path(terminal_id: &str) -> String {
    format!("{STAFF_TERMINALS_PATH}/{terminal_id}/revoke")
}
/// Terminal enrollment (`POST`, body [`EnrollRequest`], over TLS with the
/// terminal's own certificate, no bearer token).
pub const ENROLL_PATH: &str = "/v1/enroll";
/// Path of the sealed upload endpoint (`POST`, body [`SEALED_CONTENT_TYPE`]).
pub const SEALED_REGISTRATIONS_PATH: &str = "/v1/sealed-registrations";
/// Content type of a sealed registration: a sealed box holding the upload's JSON.
pub const SEALED_CONTENT_TYPE: &str = "application/vnd.kiosk.sealed-registration";
/// Content type of a sealed bundle: the metadata box and page boxes in one body (see [`bundle`]).
pub const SEALED_BUNDLE_CONTENT_TYPE: &str = "application/vnd.kiosk.sealed-bundle";
/// Content type of a sealed page: a sealed box holding one page's JPEG bytes.
pub const SEALED_PAGE_CONTENT_TYPE: &str = "application/vnd.kiosk.sealed-page";
/// Path of one page of a staged sealed registration (`PUT`, body [`SEALED_PAGE_CONTENT_TYPE`]).
pub fn sealed_page_path(idempotency_key: &str, index: u32) -> String {
    format!("{SEALED_REGISTRATIONS_PATH}/{idempotency_key}/pages/{index}")
}
/// Path of the terminal heartbeat (`POST`).
pub const HEARTBEAT_PATH: &str = "/v1/heartbeats";
/// Prefix of a software update bundle's path (`GET`, with a `Range`):
/// [`update_bundle_path`].
pub const UPDATES_PATH: &str = "/v1/updates";
/// The most bytes one request for a part of an update bundle may ask for:
/// a terminal fetches a bundle in pieces, and registrations go first
/// between them.
pub const MAX_UPDATE_RANGE_BYTES: u64 = 8 << 20;
/// Path of the history query (`POST`, so the ID number never sits in a URL or an access log).
pub const HISTORY_PATH: &str = "/v1/history/query";
/// Path of the health check (`GET`).
pub const HEALTH_PATH: &str = "/v1/health";
/// Path of the satisfaction ratings (`POST`, body [`RatingUpload`], header [`IDEMPOTENCY_HEADER`]).
pub const RATINGS_PATH: &str = "/v1/ratings";
/// Terminal: a part of the update bundle with this SHA-256 (`GET` with `Range`).
pub fn update_bundle_path(sha256: &str) -> String {
    format!("{UPDATES_PATH}/{sha256}")
}
/// True for a software version as bundles, roll-outs and update reports
/// name it: 1 to 64 of `A-Z a-z 0-9 . _ + - ~` (safe in a log line and a
/// file name).
pub fn valid_version(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"._+-~".contains(&b))
}
/// True for 64 lower-case hex digits (a bundle's SHA-256, as its name).
pub fn valid_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
/// Staff: sets a registration's status (`POST`, body [`StatusUpdate`]).
pub fn status_path(case_number: &str) -> String {
    format!("{REGISTRATIONS_PATH}/{case_number}/status")
}
/// Staff: the voice note of a registration (`GET`, `audio/ogg`; 404 when it
/// has none). Staff credentials only, audited; terminals never fetch it.
pub fn voice_note_path(case_number: &str) -> String {
    format!("{REGISTRATIONS_PATH}/{case_number}/voice-note")
}
/// The statuses of a registration, in the order a case goes through them.
/// `not_accepted` (不予受理) branches off `registered` and goes only to `closed`.
pub const STATUSES: &[&str] = &[
    "registered",
    "accepted",
    "not_accepted",
    "in_progress",
    "answered",
    "closed",
];
/// The status a registration must have to be rated.
pub const STATUS_CLOSED: &str = "closed";
/// The reason codes a rating may carry (the kiosk shows them as chips).
pub const RATING_REASONS: &[&str] = &[
    "timely",
    "courteous",
    "resolved",
    "slow",
    "unresolved",
    "discourteous",
];
/// Header carrying the client-generated idempotency key of an upload.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// The largest request body the registry accepts, in bytes.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Who the petitioner is, as read from their card.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Petitioner {
    /// `resident`, `hmt_permit`, `foreign_2017` or `foreign_2023`.
    pub doc_type: String,
    pub id_number: IdNumber,
    pub name: PersonName,
    /// GB/T 2261.1 code: 0, 1, 2 or 9.
    pub sex: u8,
    /// `YYYY-MM-DD` when the card gives it.
    pub birth: Option<String>,
    pub address: Address,
}

/// One photographed page.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PageUpload {
    /// 1-based position in the registration.
    pub index: u32,
    /// The corrected colour page, JPEG, base64 (standard alphabet).
    pub jpeg_base64: String,
    /// Lower-case hex SHA-256 of the JPEG bytes.
    pub sha256: String,
    /// What OCR recognised on the page.
    pub ocr_text: PersonalText,
    /// Mean word confidence of the OCR, 0–100.
    pub ocr_confidence: f32,
}

/// Why a page in a request is unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageDecodeError {
    /// The base64 text does not decode.
    Base64,
    /// The bytes do not hash to the declared SHA-256.
    HashMismatch,
}

impl std::fmt::Display for PageDecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PageDecodeError::Base64 => "page image is not valid base64",
            PageDecodeError::HashMismatch => "page image does not match its sha256",
        })
    }
}

impl std::error::Error for PageDecodeError {}

impl PageUpload {
    /// Builds a page from its JPEG bytes, computing the hash.
    pub fn new(index: u32, jpeg: &[u8], ocr_text: PersonalText, ocr_confidence: f32) -> Self {
        PageUpload {
            index,
            jpeg_base64: base64::engine::general_purpose::STANDARD.encode(jpeg),
            sha256: sha256_hex(jpeg),
            ocr_text,
            ocr_confidence,
        }
    }

    /// The JPEG bytes, checked against the declared hash.
    pub fn jpeg(&self) -> Result<Vec<u8>, PageDecodeError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.jpeg_base64)
            .map_err(|_| PageDecodeError::Base64)?;
        if sha256_hex(&bytes) != self.sha256 {
            return Err(PageDecodeError::HashMismatch);
        }
        Ok(bytes)
    }
}

/// A sealed registration as uploaded (`POST /v1/registrations`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RegistrationUpload {
    /// Client-generated UUID; the same value as the `Idempotency-Key` header.
    pub idempotency_key: String,
    /// The terminal's configured identifier.
    pub terminal_id: String,
    /// The reference the terminal showed the petitioner while offline.
    pub local_ref: String,
    /// When the registration was sealed on the terminal, RFC 3339.
    pub sealed_at: String,
    pub petitioner: Petitioner,
    /// Category code (see the intake crate's taxonomy), `unsure` allowed.
    pub category: String,
    /// The petitioner's own words, possibly empty.
    pub description: PersonalText,
    pub phone: Option<PhoneNumber>,
    pub pages: Vec<PageUpload>,
    /// The petitioner's answer to "same matter as your earlier case …?", when it was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<RepeatAnswer>,
    /// Fields the terminal extracted from the recognised text, for the clerk to check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<ExtractedField>,
    /// Registered by a clerk on the petitioner's behalf (代办).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub assisted: bool,
    /// The identity was typed by the clerk (no card was read); the ID number passed GB 11643.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub identity_typed: bool,
    /// What the petitioner said into the terminal's microphone, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_note: Option<VoiceNoteUpload>,
}

/// A voice note recorded at the terminal: Ogg Opus, 16 kHz mono (see
/// [`voice`] for the limits and the check of its bytes).
///
/// Sealed, it travels like a page: the metadata box keeps this with an
/// empty `ogg_opus_base64` (sha256, size and duration stay), and the bytes
/// go in a sealed box of their own, the bundle's part [`VOICE_NOTE_PART`].
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VoiceNoteUpload {
    /// The Ogg Opus bytes, base64 (standard alphabet). Empty in a sealed
    /// registration's metadata box: the note travels in a box of its own.
    pub ogg_opus_base64: String,
    /// Lower-case hex SHA-256 of the Ogg Opus bytes.
    pub sha256: String,
    pub size_bytes: u64,
    /// The note's length after trimming, in milliseconds.
    pub duration_ms: u32,
}

impl std::fmt::Debug for VoiceNoteUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceNoteUpload")
            .field("size_bytes", &self.size_bytes)
            .field("duration_ms", &self.duration_ms)
            .finish_non_exhaustive()
    }
}

impl VoiceNoteUpload {
    /// A note of the Ogg Opus bytes `ogg_opus` lasting `duration_ms`, with
    /// their hash and size.
    pub fn new(ogg_opus: &[u8], duration_ms: u32) -> Self {
        VoiceNoteUpload {
            ogg_opus_base64: base64::engine::general_purpose::STANDARD.encode(ogg_opus),
            sha256: sha256_hex(ogg_opus),
            size_bytes: ogg_opus.len() as u64,
            duration_ms,
        }
    }

    /// Checks what the metadata says of the note: a well-formed sha256, a
    /// size of 1 to [`MAX_VOICE_NOTE_BYTES`] and a duration of at most
    /// [`MAX_VOICE_NOTE_MS`]. Needs no bytes (a sealed metadata box has none).
    pub fn check_metadata(&self) -> Result<(), VoiceNoteError> {
        if self.size_bytes > MAX_VOICE_NOTE_BYTES as u64 {
            return Err(VoiceNoteError::TooLarge);
        }
        if !valid_sha256_hex(&self.sha256)
            || self.size_bytes == 0
            || self.duration_ms > MAX_VOICE_NOTE_MS
        {
            return Err(VoiceNoteError::BadMetadata);
        }
        Ok(())
    }

    /// Checks `bytes` (the note as it came, in its own box or decoded from
    /// `ogg_opus_base64`) against the metadata: at most
    /// [`MAX_VOICE_NOTE_BYTES`], `size_bytes` long, hashing to `sha256`, and
    /// Ogg Opus ([`voice::check_ogg_opus`]).
    pub fn check_bytes(&self, bytes: &[u8]) -> Result<(), VoiceNoteError> {
        self.check_metadata()?;
        if bytes.len() > MAX_VOICE_NOTE_BYTES {
            return Err(VoiceNoteError::TooLarge);
        }
        if bytes.len() as u64 != self.size_bytes {
            return Err(VoiceNoteError::SizeMismatch);
        }
        if sha256_hex(bytes) != self.sha256 {
            return Err(VoiceNoteError::HashMismatch);
        }
        voice::check_ogg_opus(bytes)
    }

    /// The Ogg Opus bytes of a note that carries them, checked
    /// ([`VoiceNoteUpload::check_bytes`]). A text too long to hold at most
    /// [`MAX_VOICE_NOTE_BYTES`] is refused before it is decoded.
    pub fn ogg_opus(&self) -> Result<Vec<u8>, VoiceNoteError> {
        if self.ogg_opus_base64.len() > MAX_VOICE_NOTE_BYTES.div_ceil(3) * 4 {
            return Err(VoiceNoteError::TooLarge);
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.ogg_opus_base64)
            .map_err(|_| VoiceNoteError::Base64)?;
        self.check_bytes(&bytes)?;
        Ok(bytes)
    }
}

/// One field extracted from a page's recognised text.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExtractedField {
    /// 1-based page the field was found on.
    pub page: u32,
    pub kind: FieldKind,
    pub value: PersonalText,
    /// True when the value failed its check (an ID number with a bad check digit).
    pub doubtful: bool,
}

/// What an extracted field is.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// The kind of the document (letter, form, judgment, …), as `kiosk-fields` names it.
    DocumentKind,
    Title,
    IdNumber,
    Phone,
    Date,
    /// Yuan with two decimals.
    Amount,
    Name,
    Address,
}

impl FieldKind {
    /// The word on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::DocumentKind => "document_kind",
            FieldKind::Title => "title",
            FieldKind::IdNumber => "id_number",
            FieldKind::Phone => "phone",
            FieldKind::Date => "date",
            FieldKind::Amount => "amount",
            FieldKind::Name => "name",
            FieldKind::Address => "address",
        }
    }
}

/// The petitioner's answer to the repeat question the terminal asked.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RepeatAnswer {
    /// The earlier case the terminal thought this might repeat.
    pub earlier_case: String,
    /// True when the petitioner said it is the same matter.
    pub same_matter: bool,
}

/// The registry's answer to an upload.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RegistrationAck {
    /// The case number the registry issued, e.g. `XF-2026-000123`.
    pub case_number: String,
    /// When the registry first stored it, RFC 3339.
    pub received_at: String,
    /// True when this key had been stored before and the earlier answer is repeated.
    pub replayed: bool,
    /// True when the same petitioner registered a similar petition (same
    /// category, same or empty description) in the last 30 days.
    #[serde(default)]
    pub likely_duplicate: bool,
}

/// The registry's answer (202) to a staged upload that still lacks parts:
/// the metadata is stored, and these parts must follow, each as its own
/// sealed box ([`sealed_page_path`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MissingPages {
    /// The parts the registry does not have yet, ascending: the 1-based
    /// indexes of pages, and [`VOICE_NOTE_PART`] (last) for the voice note.
    pub missing_pages: Vec<u32>,
}

/// The longest ID number the registry takes in a history query or a rater
/// (resident ID numbers have 18 characters, permits fewer).
pub const MAX_ID_NUMBER_CHARS: usize = 32;

/// `POST /v1/history/query`: the petitioner's ID number, which the registry
/// hashes under its lookup key (the terminal holds none). It travels only
/// over the authenticated channel (mutual TLS; plain HTTP on loopback), is
/// never logged nor echoed in an error, and is zeroed when dropped.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// As read from the card or typed: 1 to [`MAX_ID_NUMBER_CHARS`] ASCII
    /// letters and digits (surrounding blanks ignored, the check letter in either case).
    pub id_number: IdNumber,
    /// A clerk typed the number (no card was read) and confirmed on the
    /// screen that the person is present; the audit log records the lookup
    /// as `history_lookup_typed`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub identity_typed: bool,
}

/// True for an ID number the registry looks up: 1 to
/// [`MAX_ID_NUMBER_CHARS`] ASCII letters and digits once trimmed.
pub fn id_number_shape_ok(id: &IdNumber) -> bool {
    let id = id.expose().trim();
    !id.is_empty() && id.len() <= MAX_ID_NUMBER_CHARS && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `POST /v1/staff/terminals`: a terminal to create (or re-enrol) and the
/// hall it serves; answered with an [`EnrollmentCode`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NewTerminal {
    /// 1 to 64 of `A-Z a-z 0-9 - _ .`.
    pub terminal_id: String,
    /// The hall's name, 1 to 100 characters.
    pub hall: String,
}

/// A one-time enrollment code for one terminal: the technician types it on
/// the terminal (`kiosk enroll --code`). Shown once; only its hash is kept.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EnrollmentCode {
    pub terminal_id: String,
    pub hall: String,
    /// Groups of four of `A-Z 2-9` (no 0, 1, I, O), e.g. `K7QX-M2PD-9RTA-WC4E`.
    pub code: String,
    /// RFC 3339: the code is refused after this.
    pub expires_at: String,
}

/// `POST /v1/enroll`: a terminal's claim to an id, with the code staff issued.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    pub terminal_id: String,
    pub code: String,
}

impl std::fmt::Debug for EnrollRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrollRequest")
            .field("terminal_id", &self.terminal_id)
            .field("code", &"***")
            .finish()
    }
}

/// The answer to an enrollment: the key of the certificate presented is now
/// this terminal's.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EnrollReply {
    pub terminal_id: String,
    pub hall: String,
    /// Hex SHA-256 of the enrolled public key (SubjectPublicKeyInfo).
    pub key_sha256: String,
}

/// `POST /v1/heartbeats`: a terminal's periodic report of its queue.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Heartbeat {
    pub terminal_id: String,
    /// Registrations sealed but not yet acknowledged (pending or uploading).
    pub queue_depth: u64,
    /// Registrations the registry refused for good, waiting for a clerk.
    pub failed: u64,
    /// Age in seconds of the oldest unacknowledged registration, if any.
    pub oldest_unsent_age_s: Option<u64>,
    /// The terminal software version.
    pub version: String,
    /// The receipt printer's state at the report, when the terminal knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printer: Option<PrinterReport>,
    /// Free space of the terminal's data partition, in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_disk_mb: Option<u64>,
    /// Where the terminal's latest software update stands, if one was offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<UpdateReport>,
}

/// The answer to a heartbeat: the software the registry wants this
/// terminal to run, when it is not the one the terminal reported.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct HeartbeatReply {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<UpdateOffer>,
}

/// A signed update bundle (RAUC) the terminal should install: fetched in
/// ranges from [`update_bundle_path`]`(sha256)`, checked against `sha256`
/// and, by RAUC at install, against the update keyring in the terminal's
/// read-only root.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UpdateOffer {
    pub version: String,
    /// Lower-case hex SHA-256 of the whole bundle.
    pub sha256: String,
    pub size_bytes: u64,
}

/// A terminal's report on the update it was offered.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UpdateReport {
    /// The version it was asked to run.
    pub target_version: String,
    pub state: UpdateState,
}

/// Where an update stands on a terminal.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum UpdateState {
    /// Fetching the bundle (between registrations).
    Downloading,
    /// Fetched and checked; waiting for the install window.
    Ready,
    /// The bundle was installed and the terminal rebooted into it, which
    /// never reached READY: it is back on the version it reports.
    FellBack,
    /// The bundle was refused (checksum, signature) or could not be installed.
    Failed,
}

impl UpdateState {
    /// The word on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateState::Downloading => "downloading",
            UpdateState::Ready => "ready",
            UpdateState::FellBack => "fell_back",
            UpdateState::Failed => "failed",
        }
    }

    /// The word on the wire back to the state.
    pub fn parse(s: &str) -> Option<UpdateState> {
        [
            UpdateState::Downloading,
            UpdateState::Ready,
            UpdateState::FellBack,
            UpdateState::Failed,
        ]
        .into_iter()
        .find(|u| u.as_str() == s)
    }
}

/// The receipt printer's state as a heartbeat reports it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PrinterReport {
    Ok,
    PaperLow,
    PaperOut,
    Offline,
    Error,
}

impl PrinterReport {
    /// The word on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            PrinterReport::Ok => "ok",
            PrinterReport::PaperLow => "paper_low",
            PrinterReport::PaperOut => "paper_out",
            PrinterReport::Offline => "offline",
            PrinterReport::Error => "error",
        }
    }

    /// The word on the wire back to the state; `None` for anything else.
    pub fn parse(s: &str) -> Option<PrinterReport> {
        [
            PrinterReport::Ok,
            PrinterReport::PaperLow,
            PrinterReport::PaperOut,
            PrinterReport::Offline,
            PrinterReport::Error,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

/// One earlier registration of a petitioner.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct HistoryEntry {
    pub case_number: String,
    /// RFC 3339.
    pub registered_at: String,
    pub category: String,
    /// One of [`STATUSES`]: `registered`, `accepted`, `not_accepted`,
    /// `in_progress`, `answered` or `closed`.
    pub status: String,
    pub page_count: u32,
    /// The petitioner's satisfaction rating (1–5), once given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    /// The written notices issued for this case (受理告知书, 不予受理告知书,
    /// 答复意见书), oldest first, for the terminal to show and print.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<Notice>,
}

/// The kinds of [`Notice`], as on the wire.
pub const NOTICE_KINDS: &[&str] = &["acceptance", "non_acceptance", "answer"];

/// A written notice to the petitioner, issued by staff at the registry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Notice {
    /// `acceptance` (受理告知书), `non_acceptance` (不予受理告知书) or `answer` (答复意见书).
    pub kind: String,
    /// When staff issued it, RFC 3339.
    pub issued_at: String,
    /// The notice's title, e.g. 受理告知书.
    pub title: String,
    /// The full text as issued (plain text, line breaks kept).
    pub text: String,
}

/// `POST /v1/ratings`: a petitioner's satisfaction with a closed case. The
/// rater is sealed to the registry ([`seal_rater`]); the score and reasons
/// are nothing personal and travel in the clear.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RatingUpload {
    pub case_number: String,
    /// Base64 (standard alphabet) of [`seal_rater`]: the petitioner's ID
    /// number and this case number, sealed to the registry's key. The registry
    /// opens it, hashes the number and compares it with the case's petitioner.
    pub rater: String,
    /// 1 (很不满意) to 5 (很满意).
    pub score: u8,
    /// Codes from [`RATING_REASONS`], possibly none.
    #[serde(default)]
    pub reasons: Vec<String>,
    pub terminal_id: String,
    /// When the petitioner rated, RFC 3339.
    pub rated_at: String,
}

/// The largest sealed rater the registry opens, in bytes (a real one is
/// about 130; base64 makes the field a third longer).
pub const MAX_RATER_BYTES: usize = 1024;

/// Who rated, as sealed in [`RatingUpload::rater`]: the ID number and the
/// case it rates, so a box cannot be replayed for another case.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RaterProof {
    pub case_number: String,
    pub id_number: IdNumber,
}

/// Seals the rater of a rating of `case_number` to the registry's public key
/// (the existing sealed box); only the registry can open it. The plain JSON
/// is zeroed once sealed.
pub fn seal_rater(
    key: &envelope::SealPublicKey,
    case_number: &str,
    id_number: &IdNumber,
) -> Result<Vec<u8>, envelope::EnvelopeError> {
    let proof = RaterProof {
        case_number: case_number.to_owned(),
        id_number: id_number.clone(),
    };
    let plain = zeroize::Zeroizing::new(
        serde_json::to_vec(&proof).map_err(|_| envelope::EnvelopeError::Seal)?,
    );
    key.seal_bytes(&plain)
}

/// Opens a sealed rater with the registry's secret key; the plain JSON is
/// zeroed once read.
pub fn open_rater<K: envelope::OpenSealed + ?Sized>(
    key: &K,
    sealed: &[u8],
) -> Result<RaterProof, envelope::EnvelopeError> {
    if sealed.len() > MAX_RATER_BYTES {
        return Err(envelope::EnvelopeError::Open);
    }
    let plain = zeroize::Zeroizing::new(key.open_sealed(sealed)?);
    serde_json::from_slice(&plain).map_err(|_| envelope::EnvelopeError::Content)
}

/// The registry's answer (201) to a rating.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RatingAck {
    pub case_number: String,
    /// When the registry first stored it, RFC 3339.
    pub received_at: String,
    /// True when this key had been stored before and the earlier answer is repeated.
    pub replayed: bool,
}

/// `POST /v1/registrations/{case}/status`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StatusUpdate {
    /// One of [`STATUSES`].
    pub status: String,
}

/// Answer to a history query, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct HistoryReply {
    pub registrations: Vec<HistoryEntry>,
}

/// A stored page as the registry reports it (`GET /v1/registrations/{case}`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredPage {
    pub index: u32,
    pub sha256: String,
    pub size_bytes: u64,
    pub ocr_text: PersonalText,
}

/// A stored voice note as the registry reports it (`GET
/// /v1/staff/registrations/{case}`); the bytes are served apart, to staff
/// only ([`voice_note_path`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredVoiceNote {
    /// Lower-case hex SHA-256 of the Ogg Opus bytes.
    pub sha256: String,
    pub size_bytes: u64,
    pub duration_ms: u32,
}

/// A stored registration as the registry reports it to authorised callers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RegistrationRecord {
    pub case_number: String,
    pub registered_at: String,
    pub terminal_id: String,
    pub local_ref: String,
    pub petitioner: Petitioner,
    pub category: String,
    pub description: PersonalText,
    pub pages: Vec<StoredPage>,
    /// The petitioner's answer to the terminal's repeat question, if asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<RepeatAnswer>,
    /// The fields the terminal extracted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<ExtractedField>,
    /// Registered by a clerk on the petitioner's behalf (代办).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub assisted: bool,
    /// The clerk typed the identity; no card was read.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub identity_typed: bool,
    /// The petitioner's voice note, if one was recorded (its bytes at
    /// [`voice_note_path`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_note: Option<StoredVoiceNote>,
}

/// Body of every error answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ApiError {
    /// Stable machine-readable code: `unauthorized`, `bad_request`, `conflict`, `internal`.
    pub code: String,
    /// Short human-readable message; never contains personal data.
    pub message: String,
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_registrys_case_number_format_is_valid() {
        for good in ["XF-2026-000001", "XF-2027-123456789"] {
            assert!(valid_case_number(good), "{good}");
        }
        for bad in [
            "",
            "XF-2026-00001",
            "XF-2026-0000000001",
            "XF-26-000001",
            "xf-2026-000001",
            "XF-2026-00000a",
            "XF-2026-000001 ",
            "XF-2026-000001\nhttps://evil.example/",
            "https://evil.example/?XF-2026-000001",
        ] {
            assert!(!valid_case_number(bad), "{bad:?}");
        }
    }

    #[test]
    fn page_round_trips_and_detects_tampering() {
        let page = PageUpload::new(1, b"\xff\xd8jpeg", PersonalText::new("拖欠工资"), 91.0);
        assert_eq!(page.jpeg().unwrap(), b"\xff\xd8jpeg");
        let mut bad = page.clone();
        bad.sha256 = sha256_hex(b"other");
        assert_eq!(bad.jpeg(), Err(PageDecodeError::HashMismatch));
        bad.jpeg_base64 = "!!".into();
        assert_eq!(bad.jpeg(), Err(PageDecodeError::Base64));
    }

    #[test]
    fn a_voice_note_round_trips_and_every_fault_is_named() {
        let ogg = voice::specimen_ogg_opus(42_000);
        let note = VoiceNoteUpload::new(&ogg, 42_000);
        assert_eq!(note.ogg_opus().unwrap(), ogg);
        assert_eq!(note.size_bytes, ogg.len() as u64);
        let fault = |edit: &dyn Fn(&mut VoiceNoteUpload)| {
            let mut n = note.clone();
            edit(&mut n);
            n.ogg_opus().unwrap_err()
        };
        assert_eq!(fault(&|n| n.ogg_opus_base64 = "!!".into()), VoiceNoteError::Base64);
        assert_eq!(fault(&|n| n.sha256 = sha256_hex(b"other")), VoiceNoteError::HashMismatch);
        assert_eq!(fault(&|n| n.sha256 = "AB".repeat(32)), VoiceNoteError::BadMetadata);
        assert_eq!(fault(&|n| n.size_bytes += 1), VoiceNoteError::SizeMismatch);
        assert_eq!(fault(&|n| n.duration_ms = MAX_VOICE_NOTE_MS + 1), VoiceNoteError::BadMetadata);
        assert_eq!(
            fault(&|n| n.size_bytes = MAX_VOICE_NOTE_BYTES as u64 + 1),
            VoiceNoteError::TooLarge
        );
        // Bytes that hash right but are no Ogg Opus.
        let wav = VoiceNoteUpload::new(b"RIFF\0\0\0\0WAVEfmt SPECIMEN", 1_000);
        assert_eq!(wav.ogg_opus().unwrap_err(), VoiceNoteError::NotOggOpus);
        // Too large to be a note: refused before it is decoded.
        let big = VoiceNoteUpload::new(&vec![0u8; MAX_VOICE_NOTE_BYTES + 1], 1_000);
        assert_eq!(big.ogg_opus().unwrap_err(), VoiceNoteError::TooLarge);
        let mut lying = big.clone();
        lying.size_bytes = 10;
        assert_eq!(lying.ogg_opus().unwrap_err(), VoiceNoteError::TooLarge);
        // Debug and every message hold nothing of the note.
        let dbg = format!("{note:?}");
        assert!(!dbg.contains(&note.sha256) && !dbg.contains("T2dn"), "{dbg}");
    }

    #[test]
    fn debug_of_a_request_masks_personal_data() {
        let p = Petitioner {
            doc_type: "resident".into(),
            id_number: IdNumber::new("11010519491231002X"),
            name: PersonName::new("测试样例"),
            sex: 1,
            birth: Some("1949-12-31".into()),
            address: Address::new("北京市东城区样本路1号"),
        };
        let dbg = format!("{p:?}");
        assert!(!dbg.contains("110105"), "{dbg}");
        assert!(!dbg.contains("测试"), "{dbg}");
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains("11010519491231002X"));
    }
}
