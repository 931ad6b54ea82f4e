//! Checks on an upload before it is stored, and the hash that identifies its content.
//!
//! Messages name the field at fault, never its value, so they can go back to the
//! terminal and into the log without carrying personal data.

use registry_api::{PageDecodeError, RegistrationUpload, VoiceNoteError};

use crate::store::{PageRow, VoiceRow};

/// The most pages one registration may carry.
pub const MAX_PAGES: usize = registry_api::MAX_PAGES;
/// The longest idempotency key, terminal id, local reference or category accepted.
const MAX_SHORT_FIELD: usize = 128;
/// The longest ID number accepted (resident numbers have 18 characters).
const MAX_ID_NUMBER: usize = 64;
/// Document types a card reader can produce.
const DOC_TYPES: &[&str] = &["resident", "hmt_permit", "foreign_2017", "foreign_2023"];
/// GB/T 2261.1 sex codes.
const SEX_CODES: &[u8] = &[0, 1, 2, 9];

/// Why an upload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("idempotency_key must be 1 to 128 printable ASCII characters")]
    BadIdempotencyKey,
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error("{0} is too long")]
    TooLong(&'static str),
    #[error("sealed_at is not an RFC 3339 timestamp")]
    BadSealedAt,
    #[error("petitioner.doc_type is not one of resident, hmt_permit, foreign_2017, foreign_2023")]
    BadDocType,
    #[error("petitioner.sex is not one of 0, 1, 2, 9")]
    BadSex,
    #[error("petitioner.birth is not a YYYY-MM-DD date")]
    BadBirth,
    #[error("too many pages ({0}, at most 50)")]
    TooManyPages(usize),
    #[error("page indexes must be 1, 2, 3, ... without gaps or repeats")]
    BadPageIndexes,
    #[error("page {index}: {cause}")]
    BadPage { index: u32, cause: PageDecodeError },
    #[error("page {0}: ocr_confidence must be between 0 and 100")]
    BadConfidence(u32),
    #[error("voice_note: {0}")]
    BadVoiceNote(VoiceNoteError),
}

/// Whether `key` can be an idempotency key (it also travels as a header value).
pub fn idempotency_key_ok(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_SHORT_FIELD && key.bytes().all(|b| b.is_ascii_graphic())
}

/// Checks `upload` and returns its decoded pages in index order.
pub fn check_upload(upload: &RegistrationUpload) -> Result<Vec<PageRow>, ValidationError> {
    if !idempotency_key_ok(&upload.idempotency_key) {
        return Err(ValidationError::BadIdempotencyKey);
    }
    short_field("terminal_id", &upload.terminal_id, true)?;
    short_field("local_ref", &upload.local_ref, false)?;
    short_field("category", &upload.category, true)?;
    if chrono::DateTime::parse_from_rfc3339(&upload.sealed_at).is_err() {
        return Err(ValidationError::BadSealedAt);
    }

    let p = &upload.petitioner;
    if !DOC_TYPES.contains(&p.doc_type.as_str()) {
        return Err(ValidationError::BadDocType);
    }
    let id = p.id_number.expose().trim();
    if id.is_empty() {
        return Err(ValidationError::Empty("petitioner.id_number"));
    }
    if id.chars().count() > MAX_ID_NUMBER {
        return Err(ValidationError::TooLong("petitioner.id_number"));
    }
    if !SEX_CODES.contains(&p.sex) {
        return Err(ValidationError::BadSex);
    }
    if let Some(birth) = &p.birth {
        if chrono::NaiveDate::parse_from_str(birth, "%Y-%m-%d").is_err() {
            return Err(ValidationError::BadBirth);
        }
    }
    if let Some(note) = &upload.voice_note {
        note.check_metadata().map_err(ValidationError::BadVoiceNote)?;
    }

    if upload.pages.len() > MAX_PAGES {
        return Err(ValidationError::TooManyPages(upload.pages.len()));
    }
    let mut pages = Vec::with_capacity(upload.pages.len());
    for page in &upload.pages {
        if !(0.0..=100.0).contains(&page.ocr_confidence) {
            return Err(ValidationError::BadConfidence(page.index));
        }
        let jpeg = page.jpeg().map_err(|cause| ValidationError::BadPage {
            index: page.index,
            cause,
        })?;
        pages.push(PageRow {
            index: page.index,
            jpeg,
            sha256: page.sha256.clone(),
            ocr_text: page.ocr_text.clone(),
            ocr_confidence: page.ocr_confidence,
        });
    }
    pages.sort_by_key(|page| page.index);
    let indexes_ok = pages
        .iter()
        .enumerate()
        .all(|(pos, page)| page.index as usize == pos + 1);
    if !indexes_ok {
        return Err(ValidationError::BadPageIndexes);
    }
    Ok(pages)
}

/// The voice note of a whole upload (one that carries its bytes), checked
/// against its metadata and as Ogg Opus; `None` when it has none.
pub fn check_voice_note(upload: &RegistrationUpload) -> Result<Option<VoiceRow>, ValidationError> {
    let Some(note) = &upload.voice_note else {
        return Ok(None);
    };
    let ogg_opus = note.ogg_opus().map_err(ValidationError::BadVoiceNote)?;
    Ok(Some(VoiceRow {
        ogg_opus,
        sha256: note.sha256.clone(),
        duration_ms: note.duration_ms,
    }))
}

/// Whether `upload` is the metadata of a staged upload: it has pages or a
/// voice note, and none of them carries its bytes (each follows in its own
/// request, or its own part of a bundle).
pub fn is_staged(upload: &RegistrationUpload) -> bool {
    let has_parts = !upload.pages.is_empty() || upload.voice_note.is_some();
    has_parts
        && upload.pages.iter().all(|p| p.jpeg_base64.is_empty())
        && upload
            .voice_note
            .as_ref()
            .is_none_or(|n| n.ogg_opus_base64.is_empty())
}

/// Checks the metadata of a staged upload: every field as [`check_upload`]
/// does (the voice note's sha256, size and duration among them), page
/// indexes 1, 2, 3, ..., confidences, and a well-formed sha256 per page.
pub fn check_metadata(upload: &RegistrationUpload) -> Result<(), ValidationError> {
    let mut bare = upload.clone();
    bare.pages.clear();
    check_upload(&bare)?;
    if upload.pages.len() > MAX_PAGES {
        return Err(ValidationError::TooManyPages(upload.pages.len()));
    }
    let mut indexes = Vec::with_capacity(upload.pages.len());
    for page in &upload.pages {
        if !(0.0..=100.0).contains(&page.ocr_confidence) {
            return Err(ValidationError::BadConfidence(page.index));
        }
        let hex_ok = page.sha256.len() == 64
            && page
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex_ok {
            return Err(ValidationError::BadPage {
                index: page.index,
                cause: PageDecodeError::HashMismatch,
            });
        }
        indexes.push(page.index);
    }
    indexes.sort_unstable();
    if !indexes
        .iter()
        .enumerate()
        .all(|(pos, i)| *i as usize == pos + 1)
    {
        return Err(ValidationError::BadPageIndexes);
    }
    Ok(())
}

fn short_field(name: &'static str, value: &str, required: bool) -> Result<(), ValidationError> {
    if required && value.trim().is_empty() {
        return Err(ValidationError::Empty(name));
    }
    if value.len() > MAX_SHORT_FIELD {
        return Err(ValidationError::TooLong(name));
    }
    Ok(())
}

/// Prefix of the content hash of schema version 2 (see [`content_hash`]).
const CONTENT_HASH_V2: &str = "v2:";

/// The hash that identifies the content of `upload`, whole or metadata only:
/// `v2:` and the SHA-256 hex of its JSON serialisation (fields in declaration
/// order, so key order and whitespace in the request do not matter) with the
/// page images and the voice note's bytes left out. Each page's sha256 (and
/// the note's) stays in, checked against its bytes before anything is
/// stored, so they are covered all the same, and a registration has the
/// same hash whether it came in one box, as a bundle or part by part,
/// without hashing its images twice.
pub fn content_hash(upload: &RegistrationUpload) -> Result<String, serde_json::Error> {
    let mut bare = upload.clone();
    for page in &mut bare.pages {
        page.jpeg_base64.clear();
    }
    if let Some(note) = &mut bare.voice_note {
        note.ogg_opus_base64.clear();
    }
    Ok(format!(
        "{CONTENT_HASH_V2}{}",
        registry_api::sha256_hex(&serde_json::to_vec(&bare)?)
    ))
}

/// Whether `stored` is a content hash of version 2 or later, which covers
/// the page images by their sha256 (comparing it needs no image).
pub fn is_content_hash_v2(stored: &str) -> bool {
    stored.starts_with(CONTENT_HASH_V2)
}

/// Whether `stored` (a registration's stored content hash) identifies the
/// same content as `upload` with `pages`: compared directly when it is a v2
/// hash, else as registries before v2 computed it (the JSON with the images).
pub fn same_content(
    stored: &str,
    v2: &str,
    upload: &RegistrationUpload,
    pages: &[PageRow],
) -> Result<bool, serde_json::Error> {
    if stored == v2 || is_content_hash_v2(stored) {
        return Ok(stored == v2);
    }
    use base64::Engine as _;
    let mut whole = upload.clone();
    for page in &mut whole.pages {
        if let Some(row) = pages.iter().find(|r| r.index == page.index) {
            page.jpeg_base64 = base64::engine::general_purpose::STANDARD.encode(&row.jpeg);
        }
    }
    Ok(stored == registry_api::sha256_hex(&serde_json::to_vec(&whole)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_privacy::{Address, IdNumber, PersonName, PersonalText};
    use registry_api::{PageUpload, Petitioner};

    // SPECIMEN data: not a real person.
    fn upload() -> RegistrationUpload {
        RegistrationUpload {
            voice_note: None,
            repeat: None,
            assisted: false,
            identity_typed: false,
            fields: vec![],
            idempotency_key: "0b7f3a2e-specimen".into(),
            terminal_id: "T-SPECIMEN".into(),
            local_ref: "L-1".into(),
            sealed_at: "2026-03-01T09:00:00+08:00".into(),
            petitioner: Petitioner {
                doc_type: "resident".into(),
                id_number: IdNumber::new("11010519491231002X"),
                name: PersonName::new("测试样例"),
                sex: 1,
                birth: Some("1949-12-31".into()),
                address: Address::new("样本路1号"),
            },
            category: "wages".into(),
            description: PersonalText::new("拖欠工资"),
            phone: None,
            pages: vec![
                PageUpload::new(2, b"\xff\xd8two", PersonalText::new("二"), 80.0),
                PageUpload::new(1, b"\xff\xd8one", PersonalText::new("一"), 90.0),
            ],
        }
    }

    #[test]
    fn content_hash_ignores_how_images_travelled_and_matches_legacy_hashes() {
        let whole = upload();
        let rows = check_upload(&whole).unwrap();
        let mut meta = whole.clone();
        for p in &mut meta.pages {
            p.jpeg_base64.clear();
        }
        let v2 = content_hash(&meta).unwrap();
        assert!(v2.starts_with("v2:"));
        assert_eq!(content_hash(&whole).unwrap(), v2);
        // A registration stored before v2 is recognised as the same content.
        let legacy = registry_api::sha256_hex(&serde_json::to_vec(&whole).unwrap());
        assert!(same_content(&legacy, &v2, &meta, &rows).unwrap());
        assert!(same_content(&v2, &v2, &meta, &rows).unwrap());
        // Different content is not, in either form.
        let mut other = meta.clone();
        other.category = "land".into();
        let other_v2 = content_hash(&other).unwrap();
        assert!(!same_content(&legacy, &other_v2, &other, &rows).unwrap());
        assert!(!same_content(&v2, &other_v2, &other, &rows).unwrap());
        let mut changed = rows.clone();
        changed[0].jpeg = b"\xff\xd8other".to_vec();
        assert!(!same_content(&legacy, &v2, &meta, &changed).unwrap());
    }

    fn check(edit: impl FnOnce(&mut RegistrationUpload)) -> Result<Vec<u32>, String> {
        let mut up = upload();
        edit(&mut up);
        check_upload(&up)
            .map(|pages| pages.iter().map(|p| p.index).collect())
            .map_err(|err| err.to_string())
    }

    #[test]
    fn accepts_a_good_upload_and_sorts_pages() {
        assert_eq!(check(|_| {}), Ok(vec![1, 2]));
    }

    #[test]
    fn refusals_name_the_field_but_not_the_value() {
        type Edit = Box<dyn FnOnce(&mut RegistrationUpload)>;
        let cases: Vec<(Edit, &str)> = vec![
            (
                Box::new(|u| u.petitioner.id_number = IdNumber::new(" ")),
                "petitioner.id_number must not be empty",
            ),
            (
                Box::new(|u| u.category = String::new()),
                "category must not be empty",
            ),
            (
                Box::new(|u| u.idempotency_key = "has space".into()),
                "idempotency_key must be",
            ),
            (Box::new(|u| u.petitioner.sex = 7), "petitioner.sex is not"),
            (
                Box::new(|u| u.petitioner.birth = Some("1949/12/31".into())),
                "petitioner.birth",
            ),
            (Box::new(|u| u.sealed_at = "yesterday".into()), "sealed_at"),
            (
                Box::new(|u| u.pages[0].sha256 = registry_api::sha256_hex(b"x")),
                "page 2: page image does not match its sha256",
            ),
            (
                Box::new(|u| u.pages[1].jpeg_base64 = "!!".into()),
                "page 1: page image is not valid base64",
            ),
            (Box::new(|u| u.pages[0].index = 1), "page indexes"),
            (
                Box::new(|u| u.pages[0].ocr_confidence = 101.0),
                "ocr_confidence",
            ),
            (
                Box::new(|u| {
                    let page = u.pages[0].clone();
                    u.pages = (1..=51)
                        .map(|i| PageUpload {
                            index: i,
                            ..page.clone()
                        })
                        .collect();
                }),
                "too many pages (51",
            ),
        ];
        for (edit, want) in cases {
            let err = check(edit).expect_err(want);
            assert!(err.contains(want), "{err:?} should contain {want:?}");
            assert!(!err.contains("110105") && !err.contains("样"), "{err}");
        }
    }

    #[test]
    fn voice_notes_are_checked_staged_and_hashed_without_their_bytes() {
        let ogg = registry_api::voice::specimen_ogg_opus(3_000);
        let mut whole = upload();
        whole.voice_note = Some(registry_api::VoiceNoteUpload::new(&ogg, 3_000));
        let row = check_voice_note(&whole).unwrap().unwrap();
        assert_eq!((row.ogg_opus.as_slice(), row.duration_ms), (ogg.as_slice(), 3_000));
        assert!(check_voice_note(&upload()).unwrap().is_none());
        assert!(!is_staged(&whole));
        // The metadata: no bytes anywhere, staged, the same content.
        let mut meta = whole.clone();
        meta.pages.iter_mut().for_each(|p| p.jpeg_base64.clear());
        meta.voice_note.as_mut().unwrap().ogg_opus_base64.clear();
        assert!(is_staged(&meta));
        assert_eq!(check_metadata(&meta), Ok(()));
        assert_eq!(content_hash(&meta).unwrap(), content_hash(&whole).unwrap());
        assert_ne!(content_hash(&meta).unwrap(), content_hash(&upload()).unwrap());
        // A note alone, without pages, is staged too; a registration with neither is whole.
        let mut voice_only = meta.clone();
        voice_only.pages.clear();
        assert!(is_staged(&voice_only));
        let mut bare = upload();
        bare.pages.clear();
        assert!(!is_staged(&bare));
        // Faults are named, never quoted.
        let mut bad = whole.clone();
        bad.voice_note.as_mut().unwrap().sha256 = registry_api::sha256_hex(b"x");
        let err = check_voice_note(&bad).unwrap_err().to_string();
        assert_eq!(err, "voice_note: voice note does not match its sha256");
        let mut long = meta.clone();
        long.voice_note.as_mut().unwrap().duration_ms = registry_api::MAX_VOICE_NOTE_MS + 1;
        assert!(matches!(check_metadata(&long), Err(ValidationError::BadVoiceNote(_))));
        let mut large = meta;
        large.voice_note.as_mut().unwrap().size_bytes = registry_api::MAX_VOICE_NOTE_BYTES as u64 + 1;
        let err = check_metadata(&large).unwrap_err().to_string();
        assert!(err.contains("larger than 2097152 bytes"), "{err}");
    }

    #[test]
    fn content_hash_ignores_formatting_but_not_content() {
        let up = upload();
        let pretty = serde_json::to_string_pretty(&up).unwrap();
        let reparsed: RegistrationUpload = serde_json::from_str(&pretty).unwrap();
        assert_eq!(content_hash(&up).unwrap(), content_hash(&reparsed).unwrap());
        let mut other = up.clone();
        other.category = "land".into();
        assert_ne!(content_hash(&up).unwrap(), content_hash(&other).unwrap());
    }
}
