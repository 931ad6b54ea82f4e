//! `POST /v1/ratings` (a petitioner's satisfaction with a closed case) and
//! `POST /v1/staff/registrations/{case}/status` (the staff API: staff tooling, the demo and tests).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use registry_api::{RatingUpload, StatusUpdate, IDEMPOTENCY_HEADER, RATING_REASONS};

use super::{blocking, ApiJson, AppState, Failure, Staff, Terminal};
use crate::store::{RateOutcome, StatusOutcome};

/// Checks a rating's fields; the message names the field, never its value.
fn check(headers: &HeaderMap, r: &RatingUpload) -> Result<String, Failure> {
    let key = headers
        .get(IDEMPOTENCY_HEADER)
        .ok_or_else(|| Failure::bad_request("missing Idempotency-Key header"))?
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 128 && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            Failure::bad_request("Idempotency-Key must be 1 to 128 printable characters")
        })?
        .to_owned();
    if !(1..=5).contains(&r.score) {
        return Err(Failure::bad_request("score must be 1 to 5"));
    }
    if let Some(i) = r
        .reasons
        .iter()
        .position(|code| !RATING_REASONS.contains(&code.as_str()))
    {
        return Err(Failure::bad_request(format!(
            "reasons[{i}] is not a known reason (known: {})",
            RATING_REASONS.join(", ")
        )));
    }
    let mut seen = r.reasons.clone();
    seen.sort();
    seen.dedup();
    if seen.len() != r.reasons.len() {
        return Err(Failure::bad_request("reasons must not repeat"));
    }
    if r.rater.is_empty() || r.rater.len() > registry_api::MAX_RATER_BYTES * 4 / 3 + 4 {
        return Err(Failure::bad_request(format!(
            "rater must be 1 to {} bytes of base64",
            registry_api::MAX_RATER_BYTES * 4 / 3 + 4
        )));
    }
    if r.case_number.trim().is_empty() || r.case_number.len() > 64 {
        return Err(Failure::bad_request(
            "case_number must be 1 to 64 characters",
        ));
    }
    if r.terminal_id.trim().is_empty() || r.terminal_id.len() > 128 || r.rated_at.len() > 64 {
        return Err(Failure::bad_request(
            "terminal_id must be 1 to 128 characters, rated_at at most 64",
        ));
    }
    Ok(key)
}

/// Opens the sealed rater and answers the keyed hash of its ID number, for
/// the store to compare with the case's petitioner. A box that does not open
/// with this registry's key, or was sealed for another case, is refused; the
/// number itself goes no further than this function.
fn rater_lookup(state: &AppState, rating: &RatingUpload) -> Result<String, Failure> {
    use base64::Engine as _;
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(rating.rater.trim())
        .map_err(|_| Failure::bad_request("rater is not valid base64"))?;
    let proof = registry_api::open_rater(state.seal_key.as_ref(), &sealed).map_err(|_| {
        Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_rater",
            "rater does not open with this registry's key",
        )
    })?;
    if proof.case_number != rating.case_number {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_rater",
            "rater was sealed for another case",
        ));
    }
    if !registry_api::id_number_shape_ok(&proof.id_number) {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_rater",
            "rater holds no usable ID number",
        ));
    }
    Ok(state.store.id_lookup_key(&proof.id_number))
}

pub(super) async fn rate(
    State(state): State<AppState>,
    terminal: Terminal,
    headers: HeaderMap,
    ApiJson(mut rating): ApiJson<RatingUpload>,
) -> Result<Response, Failure> {
    rating.terminal_id = terminal.id_or(std::mem::take(&mut rating.terminal_id));
    let key = check(&headers, &rating)?;
    let id_lookup = rater_lookup(&state, &rating)?;
    let outcome = blocking(move || {
        let body = serde_json::to_vec(&rating)
            .map_err(|err| Failure::internal("cannot hash the rating", &err))?;
        let hash = registry_api::sha256_hex(&body);
        state
            .store
            .rate(&key, &rating, &id_lookup, &hash, chrono::Utc::now())
            .map_err(|err| Failure::internal("cannot store the rating", &err))
    })
    .await?;
    match outcome {
        RateOutcome::Created(ack) => {
            log::info!("rating stored for case {}", ack.case_number);
            Ok((StatusCode::CREATED, Json(ack)).into_response())
        }
        RateOutcome::Replayed(ack) => Ok((StatusCode::CREATED, Json(ack)).into_response()),
        RateOutcome::Conflict => Err(Failure::new(
            StatusCode::CONFLICT,
            "conflict",
            "this Idempotency-Key was already used for a different rating",
        )),
        RateOutcome::UnknownCase => Err(Failure::new(
            StatusCode::NOT_FOUND,
            "unknown_case",
            "no registration with this case number",
        )),
        RateOutcome::WrongPetitioner => Err(Failure::new(
            StatusCode::FORBIDDEN,
            "wrong_petitioner",
            "the case was registered by another petitioner",
        )),
        RateOutcome::NotClosed => Err(Failure::new(
            StatusCode::CONFLICT,
            "not_closed",
            "only a closed case can be rated",
        )),
        RateOutcome::AlreadyRated => Err(Failure::new(
            StatusCode::CONFLICT,
            "already_rated",
            "the case has been rated already",
        )),
    }
}

pub(super) async fn set_status(
    State(state): State<AppState>,
    Staff(who): Staff,
    Path(case_number): Path<String>,
    ApiJson(update): ApiJson<StatusUpdate>,
) -> Result<Response, Failure> {
    if registry_api::valid_case_number(&case_number) {
        let target = format!("{case_number} {}", update.status);
        super::audited(&state, who, "set_status", target).await?;
    }
    let outcome = blocking(move || {
        state
            .store
            .set_status(&case_number, &update.status)
            .map_err(|err| Failure::internal("cannot set the status", &err))
    })
    .await?;
    match outcome {
        StatusOutcome::Set => Ok(StatusCode::NO_CONTENT.into_response()),
        StatusOutcome::UnknownCase => Err(Failure::new(
            StatusCode::NOT_FOUND,
            "unknown_case",
            "no registration with this case number",
        )),
        StatusOutcome::UnknownStatus => Err(Failure::bad_request(format!(
            "status must be one of {}",
            registry_api::STATUSES.join(", ")
        ))),
    }
}
