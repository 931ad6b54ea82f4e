//! The staff console: server-rendered pages in Chinese under `/console/`,
//! signed in with a staff account (not a token), for working cases, the
//! fleet and the audit log.
//!
//! Code map: this file holds the router, the session extractor
//! ([`ConsoleUser`]), the security headers, the templates and the helpers;
//! `auth` signs in and out and hashes passwords; `cases` is the case list,
//! the case page, page images, the voice note and status changes with their notices;
//! `fleet` is the fleet page, its JSON and the "needs a technician" rules;
//! `audit` is the supervisor's audit page.
//!
//! **Who gets in.** A session cookie (`console_session`: a random token,
//! HttpOnly, SameSite=Strict, Secure over TLS) made by signing in with a
//! password. A request that carries any `Authorization` header, or comes
//! over TLS with an enrolled terminal's key, is refused (403) whatever
//! cookie it has: bearer tokens never make a session, and a terminal never
//! reaches the console. Every POST carries the session's CSRF token,
//! compared in constant time. Every answer is `Cache-Control: no-store`,
//! with a strict CSP (no script at all; images and audio from the console
//! itself only) and `X-Frame-Options: DENY`.

mod audit;
mod auth;
mod cases;
mod fleet;

use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use sha2::{Digest, Sha256};

use crate::http::AppState;
use crate::store::{Role, StoreError};

pub use auth::{hash_password, MIN_PASSWORD_CHARS};
pub use fleet::{needs_attention, Attention, FleetReason, FleetRow, FleetRules};

/// The session cookie's name.
const SESSION_COOKIE: &str = "console_session";
/// The sign-in form's own CSRF cookie (before there is a session).
const LOGIN_COOKIE: &str = "console_login";
/// The largest form body the console reads.
const MAX_FORM_BYTES: usize = 64 * 1024;
/// Path of the fleet's JSON (staff bearer token or a session).
pub const FLEET_JSON_PATH: &str = "/v1/staff/fleet";

/// How the console behaves: session lifetimes, the sign-in lockout and the
/// fleet's "needs a technician" thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// A session unused this long is over (30 minutes).
    pub session_idle: Duration,
    /// A session is over this long after sign-in, however busy (12 hours).
    pub session_max: Duration,
    /// Wrong passwords in a row that lock an account (5) ...
    pub lockout_after: u32,
    /// ... for this long (15 minutes).
    pub lockout_for: Duration,
    /// A terminal silent this long is offline and needs a technician (10 minutes).
    pub offline_after: Duration,
    /// A registration unsent this long needs a technician (1 hour).
    pub old_unsent_after: Duration,
    /// Free disk below this (MiB) needs a technician (500).
    pub low_disk_mb: u64,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            session_idle: Duration::from_secs(30 * 60),
            session_max: Duration::from_secs(12 * 3600),
            lockout_after: 5,
            lockout_for: Duration::from_secs(15 * 60),
            offline_after: Duration::from_secs(10 * 60),
            old_unsent_after: Duration::from_secs(3600),
            low_disk_mb: 500,
        }
    }
}

/// The console's routes (and the fleet's JSON), to merge into the registry's router.
pub(crate) fn router() -> Router<AppState> {
    let pages = Router::new()
        .route("/console", get(home))
        .route("/console/", get(home))
        .route("/console/login", get(auth::login_page).post(auth::login))
        .route("/console/logout", post(auth::logout))
        .route("/console/cases", get(cases::list))
        .route("/console/cases/{case_number}", get(cases::page))
        .route("/console/cases/{case_number}/status", post(cases::change))
        .route("/console/cases/{case_number}/pages/{index}", get(cases::image))
        .route("/console/cases/{case_number}/voice-note", get(cases::voice_note))
        .route("/console/fleet", get(fleet::page))
        .route("/console/audit", get(audit::page))
        .route("/console/static/console.css", get(css))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(middleware::from_fn(security_headers));
    pages.route(FLEET_JSON_PATH, get(fleet::json))
}

/// The path as the access log may show it: console paths with a case
/// number or page index as they are; anything else hidden.
pub(crate) fn loggable_path(path: &str) -> Option<String> {
    const FIXED: &[&str] = &[
        "/console",
        "/console/",
        "/console/login",
        "/console/logout",
        "/console/cases",
        "/console/fleet",
        "/console/audit",
        "/console/static/console.css",
        FLEET_JSON_PATH,
    ];
    if FIXED.contains(&path) {
        return Some(path.to_owned());
    }
    let rest = path.strip_prefix("/console/cases/")?;
    let (case, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let tail_ok = tail.is_empty()
        || tail == "status"
        || tail == "voice-note"
        || tail
            .strip_prefix("pages/")
            .is_some_and(|i| (1..=3).contains(&i.len()) && i.bytes().all(|b| b.is_ascii_digit()));
    (registry_api::valid_case_number(case) && tail_ok).then(|| path.to_owned())
}

/// Sets the headers every console answer has.
async fn security_headers(req: axum::extract::Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; media-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    res
}

async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("console/console.css"),
    )
        .into_response()
}

/// `/console`: the first page the role works on.
async fn home(user: ConsoleUser) -> Redirect {
    Redirect::to(landing(user.role))
}

fn landing(role: Role) -> &'static str {
    if role.works_cases() {
        "/console/cases"
    } else {
        "/console/fleet"
    }
}

/// The templates, embedded and parsed once; `.html` templates escape
/// everything they print unless marked safe (nothing petitioner-written is).
fn templates() -> &'static minijinja::Environment<'static> {
    static ENV: OnceLock<minijinja::Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = minijinja::Environment::new();
        for (name, source) in [
            ("base.html", include_str!("console/templates/base.html")),
            ("login.html", include_str!("console/templates/login.html")),
            ("cases.html", include_str!("console/templates/cases.html")),
            ("case.html", include_str!("console/templates/case.html")),
            ("fleet.html", include_str!("console/templates/fleet.html")),
            ("audit.html", include_str!("console/templates/audit.html")),
            ("message.html", include_str!("console/templates/message.html")),
        ] {
            if let Err(err) = env.add_template(name, source) {
                // Kind and line only: an error's text may quote what it was rendering.
                log::error!(
                    "console template {name} does not parse: {:?} at line {:?}",
                    err.kind(),
                    err.line()
                );
            }
        }
        env
    })
}

/// Renders template `name` with `ctx` as an HTML answer with `status`.
fn render(status: StatusCode, name: &str, ctx: minijinja::Value) -> Response {
    let html = templates()
        .get_template(name)
        .and_then(|t| t.render(ctx));
    match html {
        Ok(html) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(err) => {
            log::error!(
                "cannot render console template {name}: {:?} at line {:?}",
                err.kind(),
                err.line()
            );
            message(StatusCode::INTERNAL_SERVER_ERROR, None, "内部错误", "页面无法显示，请稍后再试。")
        }
    }
}

/// A page with a title and one sentence (errors, refusals).
fn message(status: StatusCode, user: Option<&ConsoleUser>, title: &str, text: &str) -> Response {
    let ctx = minijinja::context! {
        user => user.map(ConsoleUser::view),
        title => title,
        text => text,
    };
    // A broken message template must not recurse into `render`'s error path.
    match templates().get_template("message.html").and_then(|t| t.render(ctx)) {
        Ok(html) => (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(_) => (status, "error").into_response(),
    }
}

/// A refusal the console shows as a page.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// Not signed in (or the session expired): to the sign-in page.
    SignIn,
    /// A credential that never reaches the console, or a role without the right.
    Forbidden(&'static str),
    Internal,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::SignIn => Redirect::to("/console/login").into_response(),
            Refusal::Forbidden(why) => message(StatusCode::FORBIDDEN, None, "无权访问", why),
            Refusal::Internal => message(
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                "内部错误",
                "请稍后再试。",
            ),
        }
    }
}

fn internal(context: &str, err: &StoreError) -> Refusal {
    log::error!("{context}: {err}");
    Refusal::Internal
}

/// Runs database work on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Refusal> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(err)) => Err(internal("console database work failed", &err)),
        Err(err) => {
            log::error!("console task failed: {err}");
            Err(Refusal::Internal)
        }
    }
}

/// Writes an audit entry in the signed-in account's name.
async fn audit(state: &AppState, who: &str, action: &'static str, target: String) -> Result<(), Refusal> {
    let store = state.store.clone();
    let who = who.to_owned();
    blocking(move || store.audit(&who, action, &target)).await
}

/// The value of cookie `name` in the request, if any.
fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// True when the request carries a credential that never reaches the
/// console: any `Authorization` header, or an enrolled terminal's TLS key.
fn carries_other_credential(parts: &Parts, state: &AppState) -> Result<bool, Refusal> {
    if parts.headers.contains_key(header::AUTHORIZATION) {
        return Ok(true);
    }
    if let Some(key) = parts.extensions.get::<crate::serve::PeerKey>() {
        let found = state
            .store
            .terminal_by_key(&key.to_hex())
            .map_err(|err| internal("cannot read terminals", &err))?;
        return Ok(found.is_some());
    }
    Ok(false)
}

/// 32 random bytes as hex.
fn random_token() -> Result<String, Refusal> {
    let mut bytes = [0u8; 32];
    rustls::crypto::aws_lc_rs::default_provider()
        .secure_random
        .fill(&mut bytes)
        .map_err(|_| Refusal::Internal)?;
    Ok(hex::encode(bytes))
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Equal strings, compared in time that does not depend on where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    crate::terminals::same_bytes(a.as_bytes(), b.as_bytes())
}

/// A signed-in staff member, from a live session cookie.
#[derive(Debug, Clone)]
pub(crate) struct ConsoleUser {
    pub name: String,
    pub role: Role,
    csrf: String,
    token_sha256: String,
}

impl ConsoleUser {
    /// Refuses a form whose CSRF token is not this session's.
    fn check_csrf(&self, sent: &str) -> Result<(), Refusal> {
        if !sent.is_empty() && same_secret(sent, &self.csrf) {
            Ok(())
        } else {
            Err(Refusal::Forbidden("表单已失效（安全校验未通过），请返回重新操作。"))
        }
    }

    /// What the templates show of the user.
    fn view(&self) -> minijinja::Value {
        minijinja::context! {
            name => self.name,
            role => self.role.label(),
            csrf => self.csrf,
            works_cases => self.role.works_cases(),
            sees_fleet => self.role.sees_fleet(),
            reads_audit => self.role.reads_audit(),
        }
    }
}

/// The session of the request's cookie, if it is alive and nothing else is presented.
async fn session_of(parts: &Parts, state: &AppState) -> Result<Option<ConsoleUser>, Refusal> {
    let Some(token) = cookie(parts, SESSION_COOKIE) else {
        return Ok(None);
    };
    if token.len() != 64 {
        return Ok(None);
    }
    let hash = sha256_hex(token);
    let store = state.store.clone();
    let cfg = state.console;
    let key = hash.clone();
    let found = blocking(move || {
        store.touch_staff_session(
            &key,
            chrono::TimeDelta::from_std(cfg.session_idle).unwrap_or(chrono::TimeDelta::MAX),
            chrono::TimeDelta::from_std(cfg.session_max).unwrap_or(chrono::TimeDelta::MAX),
            chrono::Utc::now(),
        )
    })
    .await?;
    Ok(found.map(|s| ConsoleUser {
        name: s.account,
        role: s.role,
        csrf: s.csrf,
        token_sha256: hash,
    }))
}

impl FromRequestParts<AppState> for ConsoleUser {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refusal> {
        if carries_other_credential(parts, state)? {
            return Err(Refusal::Forbidden(
                "终端凭据和接口令牌不能进入工作台；请用工作人员账户在登录页登录。",
            ));
        }
        session_of(parts, state).await?.ok_or(Refusal::SignIn)
    }
}

/// Refuses a role without the right to a page.
fn require(user: &ConsoleUser, ok: bool) -> Result<(), Refusal> {
    if ok {
        Ok(())
    } else {
        log::info!("console: {} role refused a page", user.role.as_str());
        Err(Refusal::Forbidden("您的角色无权查看此页面。"))
    }
}

/// Cuts `s` to at most `max` characters (form fields are capped, never trusted).
fn capped(s: &str, max: usize) -> Option<&str> {
    (s.chars().count() <= max).then_some(s)
}

/// `2026-05-01T10:00:00.000+08:00` as `2026-05-01 10:00`.
fn short_time(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(d), Some(t)) => format!("{d} {t}"),
        _ => rfc3339.to_owned(),
    }
}

/// `t` in Beijing time, the registry's clock zone.
fn beijing(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::FixedOffset> {
    let offset = chrono::FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset");
    t.with_timezone(&offset)
}

/// A status in words.
fn status_label(status: &str) -> &'static str {
    match status {
        "registered" => "已登记",
        "accepted" => "已受理",
        "not_accepted" => "不予受理",
        "in_progress" => "办理中",
        "answered" => "已答复",
        "closed" => "已办结",
        _ => "未知状态",
    }
}

/// A category code in words (the terminal's tiles).
fn category_label(code: &str) -> &'static str {
    intake::category::by_code(code).map_or("未知类别", |c| c.label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_paths_keep_case_numbers_and_hide_the_rest() {
        for ok in [
            "/console/login",
            "/console/cases/XF-2026-000001",
            "/console/cases/XF-2026-000001/pages/12",
            "/console/cases/XF-2026-000001/status",
            "/console/cases/XF-2026-000001/voice-note",
            "/v1/staff/fleet",
        ] {
            assert_eq!(loggable_path(ok).as_deref(), Some(ok));
        }
        for hidden in [
            "/console/cases/11010519491231002X",
            "/console/cases/XF-2026-000001/pages/王",
            "/console/other",
            "/console/cases/XF-2026-000001/x",
        ] {
            assert_eq!(loggable_path(hidden), None, "{hidden}");
        }
    }

    #[test]
    fn templates_parse_and_escape() {
        for name in [
            "base.html",
            "login.html",
            "cases.html",
            "case.html",
            "fleet.html",
            "audit.html",
            "message.html",
        ] {
            assert!(templates().get_template(name).is_ok(), "{name}");
        }
        let html = templates()
            .get_template("message.html")
            .unwrap()
            .render(minijinja::context! { title => "t", text => "<script>alert(1)</script>" })
            .unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }
}
