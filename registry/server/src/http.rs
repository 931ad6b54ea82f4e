//! The HTTP face of the registry: routes, bearer authentication, JSON bodies,
//! error answers and the access log.
//!
//! Every error answer is an [`ApiError`] JSON body whose message names what is
//! wrong without quoting the request, so nothing personal leaks into answers or
//! logs. Database work and the decoding of page images run on the blocking pool.
//!
//! Registrations come in sealed only ([`SEALED_REGISTRATIONS_PATH`]): there is
//! no plain-JSON upload route, for terminals or anyone else holding a token
//! (`POST /v1/registrations` is answered 404 and stores nothing).

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use registry_api::envelope::SealKeyRing;
use registry_api::{
    ApiError, Heartbeat, HistoryQuery, HEALTH_PATH, HEARTBEAT_PATH, HISTORY_PATH, MAX_BODY_BYTES,
    REGISTRATIONS_PATH, SEALED_REGISTRATIONS_PATH,
};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::store::Store;

mod ratings;
mod terminals;
mod updates;
mod uploads;

/// The `Retry-After` of a staging quota refusal: room comes back as the
/// terminal completes what it staged, or at the hourly sweep.
const STAGING_RETRY_AFTER_S: u64 = 600;

/// Path of the totals endpoint (`GET`, staff).
pub const STATS_PATH: &str = registry_api::STAFF_STATS_PATH;

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct AppState {
    pub store: Arc<Store>,
    /// The accepted terminal tokens and the terminal ids they are bound to.
    pub terminals: Arc<crate::terminals::Terminals>,
    /// SHA-256 digests of the staff tokens (the staff API's credentials).
    pub staff_digests: Arc<Vec<[u8; 32]>>,
    /// History lookups allowed per terminal credential.
    pub history_limit: crate::HistoryLimit,
    /// Each terminal credential's bucket: lookups left and when it was filled.
    pub history_buckets: Arc<std::sync::Mutex<std::collections::HashMap<String, (f64, Instant)>>>,
    /// Opens the registrations terminals sealed to this registry (its
    /// current key and the old ones it keeps).
    pub seal_key: Arc<SealKeyRing>,
    /// Served over TLS: the terminal API then takes enrolled keys only, and
    /// bearer tokens no longer make a terminal.
    pub tls: bool,
    /// What staged uploads may hold, per upload and per terminal credential.
    pub staging: crate::StagingLimits,
    /// The staff console's sessions, lockout and fleet thresholds.
    pub console: crate::ConsoleConfig,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("tokens", &self.terminals.len())
            .field("staff_tokens", &self.staff_digests.len())
            .finish_non_exhaustive()
    }
}

/// Builds the router with all endpoints, the body limit and the access log.
///
/// Two APIs with their own credentials: the **terminal API** (sealed uploads
/// and their pages, heartbeats, history lookups, ratings) takes terminal
/// tokens; the **staff API** under [`registry_api::STAFF_PREFIX`] (stored
/// records and their voice notes, their status, the fleet's heartbeats, totals, the audit log)
/// takes staff tokens and writes an audit entry for every call. Each answers
/// the other's credentials with 403.
pub(crate) fn router(state: AppState) -> Router {
    let record_path = format!("{REGISTRATIONS_PATH}/{{case_number}}");
    let voice_path = registry_api::voice_note_path("{case_number}");
    let page_path = format!("{SEALED_REGISTRATIONS_PATH}/{{key}}/pages/{{index}}");
    Router::new()
        .route(HEALTH_PATH, get(health))
        .route(SEALED_REGISTRATIONS_PATH, post(uploads::register_sealed))
        .route(&page_path, put(uploads::sealed_page))
        .route(HEARTBEAT_PATH, post(heartbeat))
        .route(&registry_api::update_bundle_path("{sha256}"), get(updates::bundle))
        .route(HISTORY_PATH, post(history))
        .route(registry_api::RATINGS_PATH, post(ratings::rate))
        .route(&record_path, get(record))
        .route(&voice_path, get(voice_note))
        .route(&registry_api::status_path("{case_number}"), post(ratings::set_status))
        .route(registry_api::STAFF_HEARTBEATS_PATH, get(heartbeats))
        .route(STATS_PATH, get(stats))
        .route(registry_api::STAFF_AUDIT_PATH, get(audit_log))
        .route(
            registry_api::STAFF_TERMINALS_PATH,
            get(terminals::list).post(terminals::issue),
        )
        .route(&registry_api::revoke_path("{terminal_id}"), post(terminals::revoke))
        .route(registry_api::ENROLL_PATH, post(terminals::enroll))
        .merge(crate::console::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// An error answer: a status and an [`ApiError`] body.
#[derive(Debug)]
pub(crate) struct Failure {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Seconds for a `Retry-After` header.
    retry_after: Option<u64>,
}

impl Failure {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    fn retry_after(mut self, seconds: u64) -> Failure {
        self.retry_after = Some(seconds);
        self
    }

    fn bad_request(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    fn unauthorized() -> Failure {
        Failure::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or unknown bearer token",
        )
    }

    /// Logs `err` with its causes and answers 500 without the details.
    fn internal(context: &str, err: &dyn std::error::Error) -> Failure {
        let mut chain = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            chain.push_str(": ");
            chain.push_str(&cause.to_string());
            source = cause.source();
        }
        log::error!("{context}: {chain}");
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error, try again later",
        )
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let body = ApiError {
            code: self.code.to_owned(),
            message: self.message,
        };
        let mut res = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        res
    }
}

/// Who a bearer token belongs to, named by a digest prefix (never the token);
/// a terminal's with the id its token is bound to, if it is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Credential {
    Terminal(String, Option<String>),
    Staff(String),
}

/// True when `digest` is one of `known`; every entry is compared in full, so
/// the time does not depend on where a guessed token first differs.
fn known_digest(known: &[[u8; 32]], digest: &[u8; 32]) -> bool {
    let mut accepted = false;
    for k in known {
        accepted |= crate::terminals::same_bytes(k, digest);
    }
    accepted
}

async fn credential(parts: &Parts, state: &AppState) -> Result<Credential, Failure> {
    // Over TLS, a terminal is the key it enrolled; its certificate was
    // checked in the handshake (serve.rs) and its record is read now, so a
    // revocation holds from the next request.
    if let Some(key) = parts.extensions.get::<crate::serve::PeerKey>() {
        let (store, key) = (state.store.clone(), key.to_hex());
        let found = blocking(move || {
            store
                .terminal_by_key(&key)
                .map_err(|err| Failure::internal("cannot read terminals", &err))
        })
        .await?;
        match found {
            Some((id, crate::store::TerminalStatus::Active)) => {
                return Ok(Credential::Terminal(format!("terminal:{id}"), Some(id)));
            }
            Some((_, _)) => {
                return Err(Failure::new(
                    StatusCode::UNAUTHORIZED,
                    "revoked",
                    "this terminal's enrollment was revoked",
                ));
            }
            // Not a terminal's key: staff may still present one; go on to
            // the bearer token.
            None => {}
        }
    }
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(Failure::unauthorized)?;
    let value = value.to_str().map_err(|_| Failure::unauthorized())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(Failure::unauthorized)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Failure::unauthorized());
    }
    let digest: [u8; 32] = Sha256::digest(token.trim().as_bytes()).into();
    let name = |role: &str| format!("{role}-{}", hex::encode(&digest[..4]));
    // Over TLS a bearer token alone never makes a terminal: it must enrol.
    let terminal = if state.tls {
        None
    } else {
        state.terminals.find(&digest)
    };
    let staff = known_digest(&state.staff_digests, &digest);
    match (terminal, staff) {
        (Some(t), _) => Ok(Credential::Terminal(name("terminal"), t.terminal_id)),
        (None, true) => Ok(Credential::Staff(name("staff"))),
        (None, false) => Err(Failure::unauthorized()),
    }
}

/// Proof that the request carried an accepted terminal token: its name for
/// the audit, and the terminal id it is bound to (which overrides any id a
/// body names).
#[derive(Debug)]
pub(crate) struct Terminal {
    pub who: String,
    pub id: Option<String>,
}

impl Terminal {
    /// The terminal id to record: the bound one, else the body's.
    pub fn id_or(&self, claimed: String) -> String {
        self.id.clone().unwrap_or(claimed)
    }
}

impl FromRequestParts<AppState> for Terminal {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Failure> {
        match credential(parts, state).await? {
            Credential::Terminal(who, id) => Ok(Terminal { who, id }),
            Credential::Staff(_) => Err(Failure::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "staff credentials cannot use the terminal API",
            )),
        }
    }
}

/// Proof that the request carried a staff token; its name for the audit.
#[derive(Debug)]
pub(crate) struct Staff(pub String);

impl FromRequestParts<AppState> for Staff {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Failure> {
        match credential(parts, state).await? {
            Credential::Staff(name) => Ok(Staff(name)),
            Credential::Terminal(..) => Err(Failure::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "terminal credentials cannot use the staff API",
            )),
        }
    }
}

/// Takes one history lookup from `who`'s bucket; `Err(seconds)` until the
/// next one is allowed.
fn take_lookup(state: &AppState, who: &str) -> Result<(), u64> {
    let limit = state.history_limit;
    let burst = f64::from(limit.burst.max(1));
    let per_sec = f64::from(limit.per_minute) / 60.0;
    let now = Instant::now();
    let Ok(mut buckets) = state.history_buckets.lock() else {
        return Err(60);
    };
    // Credentials are few (one per terminal); the map never grows past them.
    let (left, filled) = buckets.entry(who.to_owned()).or_insert((burst, now));
    *left = (*left + now.duration_since(*filled).as_secs_f64() * per_sec).min(burst);
    *filled = now;
    if *left >= 1.0 {
        *left -= 1.0;
        Ok(())
    } else if per_sec > 0.0 {
        Err(((1.0 - *left) / per_sec).ceil().max(1.0) as u64)
    } else {
        Err(3600)
    }
}

/// Writes an audit entry before the call it records answers.
async fn audited(state: &AppState, who: String, action: &'static str, target: String) -> Result<(), Failure> {
    let store = state.store.clone();
    blocking(move || {
        store
            .audit(&who, action, &target)
            .map_err(|err| Failure::internal("cannot write the audit log", &err))
    })
    .await
}

/// A JSON body whose rejections are [`ApiError`] answers that never quote the body.
#[derive(Debug)]
pub(crate) struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Failure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Failure> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(Failure::bad_request(
                "content type must be application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Failure::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("request body is larger than {MAX_BODY_BYTES} bytes"),
                )
            } else {
                Failure::bad_request("cannot read the request body")
            }
        })?;
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|err| Failure::bad_request(describe_json_error(&err)))
    }
}

/// A message for a JSON error that keeps serde's position but never a value
/// from the body (serde quotes offending values in its messages).
fn describe_json_error(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("line {} column {}", err.line(), err.column());
    match err.classify() {
        Category::Syntax => format!("request body is not valid JSON ({at})"),
        Category::Eof => "request body is truncated JSON".to_owned(),
        Category::Io => "cannot read the request body".to_owned(),
        Category::Data => {
            // "missing field `x`" and "duplicate field `x`" only name a field.
            let text = err.to_string();
            let names_a_field =
                text.starts_with("missing field `") || text.starts_with("duplicate field `");
            match text.split(" at line ").next() {
                Some(head) if names_a_field => {
                    format!("request body does not match the schema: {head}")
                }
                _ => format!("request body does not match the schema ({at})"),
            }
        }
    }
}

/// Runs blocking work on the blocking pool; a panic there becomes a 500.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    match tokio::task::spawn_blocking(work).await {
        Ok(res) => res,
        Err(err) => Err(Failure::internal("blocking task failed", &err)),
    }
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// `POST /v1/history/query`: the terminal sends the ID number and the
/// registry computes the keyed hash (terminals hold no lookup key). The
/// number is never logged nor echoed; the audit entry names the keyed hash,
/// and a typed identity's lookup is recorded as `history_lookup_typed`.
async fn history(
    State(state): State<AppState>,
    Terminal { who, .. }: Terminal,
    ApiJson(query): ApiJson<HistoryQuery>,
) -> Result<Response, Failure> {
    if !registry_api::id_number_shape_ok(&query.id_number) {
        return Err(Failure::bad_request(format!(
            "id_number must be 1 to {} letters or digits",
            registry_api::MAX_ID_NUMBER_CHARS
        )));
    }
    let key = state.store.id_lookup_key(&query.id_number);
    drop(query.id_number);
    if let Err(wait) = take_lookup(&state, &who) {
        audited(&state, who, "history_refused", key).await?;
        let mut res = Failure::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many history lookups from this terminal; try again in {wait} s"),
        )
        .into_response();
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return Ok(res);
    }
    let action = if query.identity_typed {
        "history_lookup_typed"
    } else {
        "history_lookup"
    };
    audited(&state, who, action, key.clone()).await?;
    let reply = blocking(move || {
        state
            .store
            .history(&key)
            .map_err(|err| Failure::internal("cannot read the history", &err))
    })
    .await?;
    Ok(Json(reply).into_response())
}

async fn record(
    State(state): State<AppState>,
    Staff(who): Staff,
    Path(case_number): Path<String>,
) -> Result<Response, Failure> {
    let target = if registry_api::valid_case_number(&case_number) {
        case_number.clone()
    } else {
        format!("<{} bytes>", case_number.len())
    };
    audited(&state, who, "read_registration", target).await?;
    let found = blocking(move || {
        state
            .store
            .record(&case_number)
            .map_err(|err| Failure::internal("cannot read the registration", &err))
    })
    .await?;
    match found {
        Some(record) => Ok(Json(record).into_response()),
        None => Err(Failure::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no registration with this case number",
        )),
    }
}

/// `GET /v1/staff/registrations/{case_number}/voice-note`: the petitioner's
/// voice note as it was recorded (`audio/ogg`), for staff only; audited
/// (`read_voice_note`) before it is answered, 404 when the case has none.
async fn voice_note(
    State(state): State<AppState>,
    Staff(who): Staff,
    Path(case_number): Path<String>,
) -> Result<Response, Failure> {
    let valid = registry_api::valid_case_number(&case_number);
    let target = if valid {
        case_number.clone()
    } else {
        format!("<{} bytes>", case_number.len())
    };
    audited(&state, who, "read_voice_note", target).await?;
    let found = if valid {
        blocking(move || {
            state
                .store
                .voice_note(&case_number)
                .map_err(|err| Failure::internal("cannot read the voice note", &err))
        })
        .await?
    } else {
        None
    };
    match found {
        Some(ogg) => Ok((
            [
                (header::CONTENT_TYPE, "audio/ogg"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            ogg,
        )
            .into_response()),
        None => Err(Failure::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no voice note for this case number",
        )),
    }
}

/// `POST /v1/heartbeats`: records a terminal's queue report.
async fn heartbeat(
    State(state): State<AppState>,
    terminal: Terminal,
    ApiJson(mut hb): ApiJson<Heartbeat>,
) -> Result<Response, Failure> {
    // The body's id is checked even when a bound token replaces it: what the
    // protocol refuses is refused whoever sends it.
    let overlong = hb.terminal_id.len() > 128;
    hb.terminal_id = terminal.id_or(std::mem::take(&mut hb.terminal_id));
    if overlong || hb.terminal_id.trim().is_empty() || hb.version.len() > 64 {
        return Err(Failure::bad_request(
            "terminal_id must be 1 to 128 characters, version at most 64",
        ));
    }
    if hb.update.as_ref().is_some_and(|u| !registry_api::valid_version(&u.target_version)) {
        return Err(Failure::bad_request(
            "update.target_version must be 1 to 64 of A-Z a-z 0-9 . _ + - ~",
        ));
    }
    let reply = blocking(move || {
        state
            .store
            .heartbeat(&hb, chrono::Utc::now())
            .map_err(|err| Failure::internal("cannot store the heartbeat", &err))?;
        // The software the roll-out names for it, unless it runs that already.
        let update = state
            .store
            .update_for(&hb.terminal_id)
            .map_err(|err| Failure::internal("cannot read the roll-out", &err))?
            .filter(|offer| offer.version != hb.version);
        Ok(registry_api::HeartbeatReply { update })
    })
    .await?;
    Ok(Json(reply).into_response())
}

/// `GET /v1/staff/heartbeats`: the latest heartbeat of every terminal.
async fn heartbeats(State(state): State<AppState>, Staff(who): Staff) -> Result<Response, Failure> {
    audited(&state, who, "list_heartbeats", String::new()).await?;
    let all = blocking(move || {
        state
            .store
            .heartbeats()
            .map_err(|err| Failure::internal("cannot read heartbeats", &err))
    })
    .await?;
    Ok(Json(all).into_response())
}

async fn stats(State(state): State<AppState>, Staff(who): Staff) -> Result<Response, Failure> {
    audited(&state, who, "read_stats", String::new()).await?;
    let totals = blocking(move || {
        state
            .store
            .stats()
            .map_err(|err| Failure::internal("cannot count", &err))
    })
    .await?;
    Ok(Json(totals).into_response())
}

/// `GET /v1/staff/audit`: the newest 500 audit entries, newest first (itself audited).
async fn audit_log(State(state): State<AppState>, Staff(who): Staff) -> Result<Response, Failure> {
    audited(&state, who, "read_audit", String::new()).await?;
    let entries = blocking(move || {
        state
            .store
            .audit_log(500)
            .map_err(|err| Failure::internal("cannot read the audit log", &err))
    })
    .await?;
    Ok(Json(entries).into_response())
}

async fn not_found() -> Failure {
    Failure::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

async fn method_not_allowed() -> Failure {
    Failure::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this endpoint",
    )
}

/// Logs method, path, status and duration of every request; never bodies.
async fn log_request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = loggable_path(req.uri().path());
    let res = next.run(req).await;
    let status = res.status();
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    if status.is_server_error() {
        log::warn!("{method} {path} {} {millis:.1}ms", status.as_u16());
    } else {
        log::info!("{method} {path} {} {millis:.1}ms", status.as_u16());
    }
    res
}

/// The path as it may appear in the log: known endpoints and case numbers as
/// they are, anything else (which a client could fill with anything) hidden.
fn loggable_path(path: &str) -> String {
    const FIXED: &[&str] = &[
        HEALTH_PATH,
        REGISTRATIONS_PATH,
        SEALED_REGISTRATIONS_PATH,
        HEARTBEAT_PATH,
        HISTORY_PATH,
        STATS_PATH,
        registry_api::RATINGS_PATH,
        registry_api::STAFF_HEARTBEATS_PATH,
        registry_api::STAFF_AUDIT_PATH,
    ];
    if FIXED.contains(&path) {
        return path.to_owned();
    }
    if let Some(shown) = crate::console::loggable_path(path) {
        return shown;
    }
    if let Some(case) = path
        .strip_prefix(REGISTRATIONS_PATH)
        .and_then(|rest| rest.strip_prefix('/'))
    {
        let number = case
            .strip_suffix("/status")
            .or_else(|| case.strip_suffix("/voice-note"))
            .unwrap_or(case);
        if looks_like_case_number(number) {
            return path.to_owned();
        }
        return format!("{REGISTRATIONS_PATH}/<{} bytes>", case.len());
    }
    // A part of a staged upload: the key is the client's UUID, the index a
    // page's number or the voice note's.
    if let Some((key, index)) = path
        .strip_prefix(SEALED_REGISTRATIONS_PATH)
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|rest| rest.split_once("/pages/"))
    {
        let uuid_like = key.len() == 36 && key.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
        let index_ok = (!index.is_empty()
            && index.len() <= 3
            && index.bytes().all(|b| b.is_ascii_digit()))
            || index == registry_api::VOICE_NOTE_PART.to_string();
        if uuid_like && index_ok {
            return path.to_owned();
        }
    }
    format!("<other path, {} bytes>", path.len())
}

/// `XF-2026-000001`.
fn looks_like_case_number(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 14
        && b.starts_with(b"XF-")
        && b[3..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_paths_hide_anything_unexpected() {
        assert_eq!(loggable_path("/v1/staff/registrations"), "/v1/staff/registrations");
        assert_eq!(
            loggable_path("/v1/staff/registrations/XF-2026-000001"),
            "/v1/staff/registrations/XF-2026-000001"
        );
        assert_eq!(
            loggable_path("/v1/staff/registrations/11010519491231002X"),
            "/v1/staff/registrations/<18 bytes>"
        );
        assert_eq!(loggable_path("/v1/staff/audit"), "/v1/staff/audit");
        assert_eq!(
            loggable_path("/v1/registrations/XF-2026-000001"),
            "<other path, 32 bytes>"
        );
        assert_eq!(
            loggable_path("/v1/history/11010519491231002X"),
            "<other path, 30 bytes>"
        );
        let page = "/v1/sealed-registrations/0f8fad5b-d9cb-469f-a165-70867728950e/pages/2";
        assert_eq!(loggable_path(page), page);
        let voice = "/v1/sealed-registrations/0f8fad5b-d9cb-469f-a165-70867728950e/pages/4294967295";
        assert_eq!(loggable_path(voice), voice);
        assert_eq!(
            loggable_path("/v1/staff/registrations/XF-2026-000001/voice-note"),
            "/v1/staff/registrations/XF-2026-000001/voice-note"
        );
        assert_eq!(
            loggable_path("/v1/staff/registrations/11010519491231002X/voice-note"),
            "/v1/staff/registrations/<29 bytes>"
        );
        assert_eq!(
            loggable_path("/v1/sealed-registrations/11010519491231002X/pages/2"),
            "<other path, 51 bytes>"
        );
    }

    #[test]
    fn json_errors_do_not_quote_values() {
        let err =
            serde_json::from_str::<HistoryQuery>(r#"{"id_number": 11010519491231002}"#).unwrap_err();
        let msg = describe_json_error(&err);
        assert!(!msg.contains("110105"), "{msg}");
        assert!(msg.contains("does not match the schema"), "{msg}");
        let err = serde_json::from_str::<HistoryQuery>("{}").unwrap_err();
        assert_eq!(
            describe_json_error(&err),
            "request body does not match the schema: missing field `id_number`"
        );
        let err = serde_json::from_str::<HistoryQuery>("{nope").unwrap_err();
        assert!(describe_json_error(&err).starts_with("request body is not valid JSON (line 1"));
    }
}
