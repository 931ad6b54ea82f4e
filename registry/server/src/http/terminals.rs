//! Terminal records over HTTP: enrollment (`POST /v1/enroll`, by the
//! terminal, over TLS with its own certificate) and the staff side (`GET|POST
//! /v1/staff/terminals`, `POST /v1/staff/terminals/{id}/revoke`), each staff
//! call audited.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use registry_api::{EnrollReply, EnrollRequest, EnrollmentCode, NewTerminal};
use sha2::{Digest, Sha256};

use super::{audited, blocking, ApiJson, AppState, Failure, Staff};
use crate::serve::PeerKey;
use crate::store::EnrollOutcome;

/// How long an enrollment code is valid.
pub const CODE_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::hours(72);

/// Letters and digits that cannot be misread for one another (no 0 O 1 I).
const CODE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A terminal id: 1 to 64 of `A-Z a-z 0-9 - _ .`.
pub(crate) fn valid_terminal_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A new code: 16 characters of [`CODE_ALPHABET`] (80 bits) in groups of four.
fn new_code() -> Result<String, Failure> {
    let mut bytes = [0u8; 16];
    rustls::crypto::aws_lc_rs::default_provider()
        .secure_random
        .fill(&mut bytes)
        .map_err(|_| {
            Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error, try again later",
            )
        })?;
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| CODE_ALPHABET[usize::from(b & 31)] as char)
        .collect();
    Ok(chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-"))
}

/// The digest a code is stored and compared as: upper-cased, without the
/// dashes and spaces a person may type.
fn code_digest(code: &str) -> [u8; 32] {
    let canon: String = code
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    Sha256::digest(canon.as_bytes()).into()
}

/// `POST /v1/staff/terminals`: creates a terminal (or re-enrols one) and
/// answers its one-time code.
pub(crate) async fn issue(
    State(state): State<AppState>,
    Staff(who): Staff,
    ApiJson(body): ApiJson<NewTerminal>,
) -> Result<Response, Failure> {
    if !valid_terminal_id(&body.terminal_id) {
        return Err(Failure::bad_request(
            "terminal_id must be 1 to 64 of A-Z a-z 0-9 - _ .",
        ));
    }
    let hall = body.hall.trim().to_owned();
    if hall.is_empty() || hall.chars().count() > 100 || hall.chars().any(char::is_control) {
        return Err(Failure::bad_request("hall must be 1 to 100 printable characters"));
    }
    audited(&state, who, "issue_enrollment", body.terminal_id.clone()).await?;
    let code = new_code()?;
    let now = chrono::Utc::now();
    let expires = now + CODE_LIFETIME;
    let digest = code_digest(&code);
    let (id, hall2) = (body.terminal_id.clone(), hall.clone());
    blocking(move || {
        state
            .store
            .issue_enrollment(&id, &hall2, &digest, expires, now)
            .map_err(|err| Failure::internal("cannot store the enrollment code", &err))
    })
    .await?;
    let reply = EnrollmentCode {
        terminal_id: body.terminal_id,
        hall,
        code,
        expires_at: expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    Ok((StatusCode::CREATED, Json(reply)).into_response())
}

/// `GET /v1/staff/terminals`: every terminal record.
pub(crate) async fn list(State(state): State<AppState>, Staff(who): Staff) -> Result<Response, Failure> {
    audited(&state, who, "list_terminals", String::new()).await?;
    let all = blocking(move || {
        state
            .store
            .terminals()
            .map_err(|err| Failure::internal("cannot read terminals", &err))
    })
    .await?;
    Ok(Json(all).into_response())
}

/// `POST /v1/staff/terminals/{id}/revoke`: the terminal is refused from its
/// next request on.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    Staff(who): Staff,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    if !valid_terminal_id(&id) {
        return Err(Failure::bad_request(
            "terminal_id must be 1 to 64 of A-Z a-z 0-9 - _ .",
        ));
    }
    audited(&state, who, "revoke_terminal", id.clone()).await?;
    let found = blocking(move || {
        state
            .store
            .revoke_terminal(&id, chrono::Utc::now())
            .map_err(|err| Failure::internal("cannot revoke", &err))
    })
    .await?;
    if !found {
        return Err(Failure::new(StatusCode::NOT_FOUND, "not_found", "no such terminal"));
    }
    Ok(Json(serde_json::json!({ "status": "revoked" })).into_response())
}

/// `POST /v1/enroll`: records the key of the certificate this TLS connection
/// presented as the terminal's, if the code is right. Audited either way.
pub(crate) async fn enroll(
    State(state): State<AppState>,
    key: Option<Extension<PeerKey>>,
    ApiJson(body): ApiJson<EnrollRequest>,
) -> Result<Response, Failure> {
    let Some(Extension(key)) = key else {
        return Err(Failure::bad_request(
            "enrollment needs TLS and the terminal's own client certificate",
        ));
    };
    if !valid_terminal_id(&body.terminal_id) || body.code.len() > 64 {
        return Err(refused());
    }
    let key_hex = key.to_hex();
    let who = format!("key-{}", &key_hex[..8]);
    let digest = code_digest(&body.code);
    let id = body.terminal_id.clone();
    let store = state.store.clone();
    let key_for_store = key_hex.clone();
    let outcome = blocking(move || {
        store
            .enroll(&id, &digest, &key_for_store, chrono::Utc::now())
            .map_err(|err| Failure::internal("cannot enroll", &err))
    })
    .await?;
    let action = match outcome {
        EnrollOutcome::Enrolled { .. } => "enrolled",
        EnrollOutcome::Refused => "enroll_refused",
        EnrollOutcome::KeyTaken => "enroll_key_taken",
    };
    audited(&state, who, action, body.terminal_id.clone()).await?;
    match outcome {
        EnrollOutcome::Enrolled { hall } => {
            log::info!("terminal {} enrolled", body.terminal_id);
            Ok((
                StatusCode::CREATED,
                Json(EnrollReply {
                    terminal_id: body.terminal_id,
                    hall,
                    key_sha256: key_hex,
                }),
            )
                .into_response())
        }
        EnrollOutcome::Refused => Err(refused()),
        EnrollOutcome::KeyTaken => Err(Failure::new(
            StatusCode::CONFLICT,
            "key_taken",
            "this key is enrolled as another terminal: make a new key",
        )),
    }
}

fn refused() -> Failure {
    Failure::new(
        StatusCode::FORBIDDEN,
        "enrollment_refused",
        "unknown terminal, or a wrong, spent or expired code: ask for a new code",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_long_unambiguous_and_typed_loosely() {
        let a = new_code().expect("code");
        let b = new_code().expect("code");
        assert_ne!(a, b);
        assert_eq!(a.len(), 19, "{a}");
        assert!(a
            .chars()
            .all(|c| c == '-' || CODE_ALPHABET.contains(&(c as u8))));
        assert_eq!(
            code_digest(&a),
            code_digest(&a.to_lowercase().replace('-', " "))
        );
        assert!(valid_terminal_id("hall-01.a_b"));
        assert!(!valid_terminal_id("hall 01"));
        assert!(!valid_terminal_id(""));
        assert!(!valid_terminal_id(&"x".repeat(65)));
    }
}
