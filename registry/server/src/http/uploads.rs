//! `POST /v1/sealed-registrations` and `PUT …/pages/{index}`: registrations
//! come in sealed to the registry's key, whole (one box, or a bundle of the
//! metadata box, every page box and the voice note's box) or staged (the
//! metadata first, then the parts the answer names), and are stored once per
//! idempotency key.
//!
//! A voice note travels like a page: its Ogg Opus bytes in a box of their
//! own, part [`VOICE_NOTE_PART`] of a bundle or `PUT …/pages/4294967295`,
//! checked against the metadata's sha256 and size and as Ogg Opus before
//! anything of it is kept (422 `bad_voice_note` otherwise: nothing stored).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use registry_api::envelope::EnvelopeError;
use registry_api::{
    MissingPages, RegistrationUpload, VoiceNoteError, IDEMPOTENCY_HEADER, MAX_BODY_BYTES,
    REGISTRATIONS_PATH, SEALED_BUNDLE_CONTENT_TYPE, SEALED_CONTENT_TYPE, SEALED_PAGE_CONTENT_TYPE,
    VOICE_NOTE_PART,
};

use super::{blocking, AppState, Failure, Terminal, STAGING_RETRY_AFTER_S};
use crate::store::{PageRow, PageSource, RegisterOutcome, StageState, VoiceRow};
use crate::validate;

/// `POST /v1/sealed-registrations`: a registration sealed to this registry's
/// key. A repeated key is answered 201 too, with `replayed: true`, so that a
/// 201 with a receipt body is the one and only acknowledgement.
///
/// The body is either one sealed box ([`SEALED_CONTENT_TYPE`]) or a bundle
/// ([`SEALED_BUNDLE_CONTENT_TYPE`]) of the metadata box, page boxes and the
/// voice note's box. A bundle with every part is checked part by part
/// against the metadata and stored in one transaction, answered 201 with the
/// case number; nothing is staged. Metadata alone (pages without their
/// images, the voice note without its bytes), or a bundle with only some
/// parts, is staged and answered 202 with the parts the registry still
/// misses; a whole registration in one box is registered at once.
pub(super) async fn register_sealed(
    State(state): State<AppState>,
    terminal: Terminal,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, Failure> {
    let (kind, body) = sealed_body(
        &headers,
        &[SEALED_CONTENT_TYPE, SEALED_BUNDLE_CONTENT_TYPE],
        body,
    )?;
    if headers.get(IDEMPOTENCY_HEADER).is_none() {
        return Err(Failure::bad_request("missing Idempotency-Key header"));
    }
    let outcome = blocking(move || {
        if kind == SEALED_BUNDLE_CONTENT_TYPE {
            return register_bundle(&state, &terminal, &headers, &body);
        }
        let upload = open_upload(&state, &terminal, &body)?;
        drop(body);
        check_key_header(&headers, &upload)?;
        if !validate::is_staged(&upload) {
            return store_upload(&state, &upload).map(Staged::Done);
        }
        let stage = stage_metadata(&state, &terminal, &upload, &[])?;
        after_stage(&state, &upload.idempotency_key, stage)
    })
    .await?;
    staged_answer(outcome)
}

/// Opens a sealed registration; a bound token's terminal id replaces the one it names.
fn open_upload(
    state: &AppState,
    terminal: &Terminal,
    sealed: &[u8],
) -> Result<RegistrationUpload, Failure> {
    let mut upload: RegistrationUpload = state
        .seal_key
        .open(sealed)
        .map_err(envelope_failure)?;
    upload.terminal_id = terminal.id_or(std::mem::take(&mut upload.terminal_id));
    Ok(upload)
}

/// A box that does not open: 422 `unknown_seal_key` when it names a key this
/// registry does not hold (the message gives the key id, nothing personal),
/// else 400 `bad_envelope`.
fn envelope_failure(err: EnvelopeError) -> Failure {
    let status = match err {
        EnvelopeError::UnknownKey(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unknown_seal_key"),
        _ => (StatusCode::BAD_REQUEST, "bad_envelope"),
    };
    Failure::new(status.0, status.1, err.to_string())
}

/// Validates and stages the metadata of a registration whose pages follow,
/// with the `pages` that came along (blocking), within the staging quotas.
fn stage_metadata(
    state: &AppState,
    terminal: &Terminal,
    upload: &RegistrationUpload,
    pages: &[(u32, Vec<u8>)],
) -> Result<StageState, Failure> {
    validate::check_metadata(upload).map_err(|err| Failure::bad_request(err.to_string()))?;
    let metadata = serde_json::to_vec(upload)
        .map_err(|err| Failure::internal("cannot encode the metadata", &err))?;
    let digest = registry_api::sha256_hex(&metadata);
    let page_count = u32::try_from(upload.pages.len()).unwrap_or(u32::MAX);
    state
        .store
        .stage(
            &upload.idempotency_key,
            &terminal.who,
            &metadata,
            &digest,
            page_count,
            upload.voice_note.is_some(),
            pages,
            &state.staging,
            chrono::Utc::now(),
        )
        .map_err(|err| Failure::internal("cannot stage the registration", &err))
}

/// Opens a page box and checks it against the metadata's sha256 (blocking).
fn open_page(
    state: &AppState,
    upload: &RegistrationUpload,
    index: u32,
    sealed: &[u8],
) -> Result<Vec<u8>, Failure> {
    let jpeg = state
        .seal_key
        .open_bytes(sealed)
        .map_err(envelope_failure)?;
    let page = upload
        .pages
        .iter()
        .find(|p| p.index == index)
        .ok_or_else(|| {
            Failure::new(
                StatusCode::NOT_FOUND,
                "no_such_page",
                format!("page {index} is not part of this registration"),
            )
        })?;
    if registry_api::sha256_hex(&jpeg) != page.sha256 {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "page_hash_mismatch",
            format!("page {index} does not match the sha256 in the metadata"),
        ));
    }
    Ok(jpeg)
}

/// Opens the voice note's box and checks its bytes against the metadata:
/// size, sha256 and Ogg Opus (blocking). 404 `no_such_page` when the
/// metadata names no voice note, 422 `bad_voice_note` when the bytes are
/// not the note it names.
fn open_voice_note(
    state: &AppState,
    upload: &RegistrationUpload,
    sealed: &[u8],
) -> Result<Vec<u8>, Failure> {
    let Some(note) = &upload.voice_note else {
        return Err(Failure::new(
            StatusCode::NOT_FOUND,
            "no_such_page",
            "this registration has no voice note",
        ));
    };
    let bytes = state
        .seal_key
        .open_bytes(sealed)
        .map_err(envelope_failure)?;
    note.check_bytes(&bytes).map_err(bad_voice_note)?;
    Ok(bytes)
}

/// 422 `bad_voice_note`: the note's bytes are not what the metadata says,
/// or not Ogg Opus. The message names the fault, never a byte of the note.
fn bad_voice_note(err: VoiceNoteError) -> Failure {
    Failure::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "bad_voice_note",
        format!("the registration is refused: {err}"),
    )
}

/// A bundle: the metadata, the page boxes and the voice note's box in one
/// body (blocking). Complete, it is registered in one transaction;
/// otherwise what came is staged.
fn register_bundle(
    state: &AppState,
    terminal: &Terminal,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Staged, Failure> {
    let bundle = registry_api::bundle::decode(body)
        .map_err(|err| Failure::new(StatusCode::BAD_REQUEST, "bad_bundle", err.to_string()))?;
    let upload = open_upload(state, terminal, bundle.metadata)?;
    check_key_header(headers, &upload)?;
    if !validate::is_staged(&upload) {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "bad_bundle",
            "the metadata of a bundle must list its pages without their images and its voice note \
             without its bytes",
        ));
    }
    validate::check_metadata(&upload).map_err(|err| Failure::bad_request(err.to_string()))?;
    let mut pages = Vec::with_capacity(bundle.pages.len());
    for (index, sealed) in &bundle.pages {
        pages.push((*index, open_page(state, &upload, *index, sealed)?));
    }
    let voice = match bundle.voice_note {
        Some(sealed) => Some(open_voice_note(state, &upload, sealed)?),
        None => None,
    };
    let voice_missing = upload.voice_note.is_some() && voice.is_none();
    if pages.len() < upload.pages.len() || voice_missing {
        // Only some parts: stage them with the metadata in one transaction,
        // the rest follow one by one.
        pages.extend(voice.map(|ogg| (VOICE_NOTE_PART, ogg)));
        let stage = stage_metadata(state, terminal, &upload, &pages)?;
        return after_stage(state, &upload.idempotency_key, stage);
    }
    let voice = voice.zip(upload.voice_note.as_ref()).map(|(ogg_opus, note)| VoiceRow {
        ogg_opus,
        sha256: note.sha256.clone(),
        duration_ms: note.duration_ms,
    });
    // Complete: every page is opened and matches its sha256 (`open_page`),
    // the voice note its metadata (`open_voice_note`), and the metadata
    // passed `check_metadata`, so it is stored as it is.
    let mut rows: Vec<PageRow> = pages
        .into_iter()
        .filter_map(|(index, jpeg)| {
            let meta = upload.pages.iter().find(|p| p.index == index)?;
            Some(PageRow {
                index,
                jpeg,
                sha256: meta.sha256.clone(),
                ocr_text: meta.ocr_text.clone(),
                ocr_confidence: meta.ocr_confidence,
            })
        })
        .collect();
    rows.sort_by_key(|r| r.index);
    let body_hash = validate::content_hash(&upload)
        .map_err(|err| Failure::internal("cannot hash the upload", &err))?;
    state
        .store
        .register_from(
            &upload,
            &body_hash,
            PageSource::Rows(&rows, voice.as_ref()),
            chrono::Utc::now(),
        )
        .map(Staged::Done)
        .map_err(|err| Failure::internal("cannot store the registration", &err))
}

/// `PUT /v1/sealed-registrations/{key}/pages/{index}`: one page's JPEG in a
/// sealed box, checked against the sha256 in the staged metadata, or with
/// `index` [`VOICE_NOTE_PART`] the voice note's Ogg Opus bytes, checked
/// against the metadata's note. Answers 202 with the parts still missing,
/// or 201 with the acknowledgement once the last one is in (the case number
/// is issued then).
pub(super) async fn sealed_page(
    State(state): State<AppState>,
    terminal: Terminal,
    Path((key, index)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, Failure> {
    let (_, body) = sealed_body(&headers, &[SEALED_PAGE_CONTENT_TYPE], body)?;
    let index: u32 = index
        .parse()
        .ok()
        .filter(|i| *i >= 1)
        .ok_or_else(|| Failure::bad_request("page index must be a number from 1"))?;
    if !validate::idempotency_key_ok(&key) {
        return Err(Failure::bad_request(
            "malformed idempotency key in the path",
        ));
    }
    let outcome = blocking(move || {
        let store_err =
            |err: crate::store::StoreError| Failure::internal("cannot stage the page", &err);
        let Some(metadata) = state.store.staged_metadata(&key).map_err(store_err)? else {
            // Registered already (a retry after the last page), or never staged.
            let state_now = match state.store.registered(&key).map_err(store_err)? {
                Some(ack) => StageState::Registered(ack),
                None => StageState::Unknown,
            };
            return after_stage(&state, &key, state_now);
        };
        let upload: RegistrationUpload = serde_json::from_slice(&metadata)
            .map_err(|err| Failure::internal("staged metadata unreadable", &err))?;
        let jpeg = if index == VOICE_NOTE_PART {
            open_voice_note(&state, &upload, &body)?
        } else {
            open_page(&state, &upload, index, &body)?
        };
        drop(body);
        let state_now = state
            .store
            .stage_page(&key, &terminal.who, index, &jpeg, &state.staging)
            .map_err(store_err)?;
        after_stage(&state, &key, state_now)
    })
    .await?;
    staged_answer(outcome)
}

/// The outcome of a staged step: registered (or refused), or pages still missing.
enum Staged {
    Done(RegisterOutcome),
    Missing(Vec<u32>),
}

/// Acts on where a staged upload stands: completes it when nothing is missing (blocking).
fn after_stage(state: &AppState, key: &str, stage: StageState) -> Result<Staged, Failure> {
    match stage {
        StageState::Registered(ack) => Ok(Staged::Done(RegisterOutcome::Replayed(ack))),
        StageState::Conflict => Ok(Staged::Done(RegisterOutcome::Conflict)),
        StageState::Unknown => Err(Failure::new(
            StatusCode::NOT_FOUND,
            "not_staged",
            "no staged registration with this key; post its metadata first",
        )),
        StageState::Missing(missing) if !missing.is_empty() => Ok(Staged::Missing(missing)),
        StageState::OverQuota => Err(Failure::new(
            StatusCode::TOO_MANY_REQUESTS,
            "staging_quota",
            format!(
                "this terminal has too much staged and not completed (at most {} uploads, {} bytes); \
                 complete those first",
                state.staging.terminal_uploads, state.staging.terminal_bytes
            ),
        )
        .retry_after(STAGING_RETRY_AFTER_S)),
        StageState::TooLarge => Err(Failure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "staged_too_large",
            format!(
                "a staged registration holds at most {} bytes; it was dropped",
                state.staging.upload_bytes
            ),
        )),
        StageState::Missing(_) => {
            // Complete: the metadata was checked when staged and each page
            // against its sha256 when it came, so the pages are copied as
            // they are, inside the database (no base64, no second hashing).
            let store_err = |err: crate::store::StoreError| {
                Failure::internal("cannot read the staged pages", &err)
            };
            let Some(metadata) = state.store.staged_metadata(key).map_err(store_err)? else {
                return Err(Failure::internal(
                    "staged metadata vanished",
                    &std::fmt::Error,
                ));
            };
            let upload: RegistrationUpload = serde_json::from_slice(&metadata)
                .map_err(|err| Failure::internal("staged metadata unreadable", &err))?;
            drop(metadata);
            validate::check_metadata(&upload)
                .map_err(|err| Failure::bad_request(err.to_string()))?;
            let body_hash = validate::content_hash(&upload)
                .map_err(|err| Failure::internal("cannot hash the upload", &err))?;
            state
                .store
                .register_from(&upload, &body_hash, PageSource::Staged, chrono::Utc::now())
                .map(Staged::Done)
                .map_err(|err| Failure::internal("cannot store the registration", &err))
        }
    }
}

fn staged_answer(outcome: Staged) -> Result<Response, Failure> {
    match outcome {
        Staged::Done(outcome) => answer(outcome),
        Staged::Missing(missing_pages) => {
            Ok((StatusCode::ACCEPTED, Json(MissingPages { missing_pages })).into_response())
        }
    }
}

/// The body of a sealed request and which of `content_types` it has.
fn sealed_body(
    headers: &HeaderMap,
    content_types: &[&'static str],
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(&'static str, Bytes), Failure> {
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let Some(kind) = content_types.iter().find(|t| **t == mime) else {
        return Err(Failure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "bad_request",
            format!("content type must be {}", content_types.join(" or ")),
        ));
    };
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            Failure::bad_request("cannot read the request body")
        }
    })?;
    Ok((kind, body))
}

fn too_large() -> Failure {
    Failure::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("request body is larger than {MAX_BODY_BYTES} bytes"),
    )
}

fn check_key_header(headers: &HeaderMap, upload: &RegistrationUpload) -> Result<(), Failure> {
    let header_key = headers
        .get(IDEMPOTENCY_HEADER)
        .ok_or_else(|| Failure::bad_request("missing Idempotency-Key header"))?;
    if header_key.as_bytes() != upload.idempotency_key.as_bytes() {
        return Err(Failure::bad_request(
            "Idempotency-Key header does not equal idempotency_key in the body",
        ));
    }
    Ok(())
}

/// Validates and stores an upload that carries its bytes (blocking). A
/// voice note that is not what its metadata says is 422 `bad_voice_note`,
/// as it would be in its own box.
fn store_upload(state: &AppState, upload: &RegistrationUpload) -> Result<RegisterOutcome, Failure> {
    let pages =
        validate::check_upload(upload).map_err(|err| Failure::bad_request(err.to_string()))?;
    let voice = validate::check_voice_note(upload).map_err(|err| match err {
        validate::ValidationError::BadVoiceNote(
            err @ (VoiceNoteError::HashMismatch
            | VoiceNoteError::SizeMismatch
            | VoiceNoteError::NotOggOpus),
        ) => bad_voice_note(err),
        other => Failure::bad_request(other.to_string()),
    })?;
    let body_hash = validate::content_hash(upload)
        .map_err(|err| Failure::internal("cannot hash the upload", &err))?;
    state
        .store
        .register_from(
            upload,
            &body_hash,
            PageSource::Rows(&pages, voice.as_ref()),
            chrono::Utc::now(),
        )
        .map_err(|err| Failure::internal("cannot store the registration", &err))
}

/// The answer to a complete upload: 201 for a new and a replayed key alike.
fn answer(outcome: RegisterOutcome) -> Result<Response, Failure> {
    match outcome {
        RegisterOutcome::Created(ack) => {
            log::info!("issued case {}", ack.case_number);
            let location = format!("{REGISTRATIONS_PATH}/{}", ack.case_number);
            let mut res = (StatusCode::CREATED, Json(ack)).into_response();
            if let Ok(value) = HeaderValue::from_str(&location) {
                res.headers_mut().insert(header::LOCATION, value);
            }
            Ok(res)
        }
        RegisterOutcome::Replayed(ack) => {
            log::info!("replayed case {}", ack.case_number);
            Ok((StatusCode::CREATED, Json(ack)).into_response())
        }
        RegisterOutcome::Conflict => Err(Failure::new(
            StatusCode::CONFLICT,
            "conflict",
            "this Idempotency-Key was already used for a different registration",
        )),
    }
}
