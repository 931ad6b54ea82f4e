//! Signing in and out of the console, and the password hashes.
//!
//! Passwords are hashed with Argon2id (the `argon2` crate's defaults: 19 MiB,
//! two passes) into a PHC string; only the hash is stored. The sign-in form
//! carries its own CSRF token (double-submitted with the `console_login`
//! cookie, since there is no session yet). A wrong password counts against
//! the account; at [`super::ConsoleConfig::lockout_after`] in a row it is
//! locked for [`super::ConsoleConfig::lockout_for`]. An unknown name is
//! checked against a dummy hash, so the answer takes as long. Every failed
//! sign-in is audited with the name tried (or its length, when it is no
//! account name), never the password.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{Form, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{
    audit, blocking, cookie, landing, random_token, render, same_secret, session_of, sha256_hex,
    ConsoleUser, Refusal, LOGIN_COOKIE, SESSION_COOKIE,
};
use crate::http::AppState;
use crate::store::valid_account_name;

/// The shortest password `registry staff add` accepts.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// The longest password anyone may send (Argon2 takes any length; a cap keeps the work bounded).
const MAX_PASSWORD_CHARS: usize = 256;

/// The Argon2id PHC string of `password`, with a fresh salt.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    rustls::crypto::aws_lc_rs::default_provider()
        .secure_random
        .fill(&mut salt)
        .map_err(|_| anyhow::anyhow!("no random bytes for the salt"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?
        .to_string())
}

fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
        .unwrap_or(false)
}

/// A hash nobody's password matches, checked for unknown names.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("no account has this password").unwrap_or_default())
}

fn cookie_flags(state: &AppState) -> &'static str {
    if state.tls {
        "; Path=/; HttpOnly; SameSite=Strict; Secure"
    } else {
        "; Path=/; HttpOnly; SameSite=Strict"
    }
}

fn set_cookie(res: &mut Response, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The sign-in page with a fresh form token (and its cookie).
fn login_form(state: &AppState, status: StatusCode, error: Option<&str>) -> Result<Response, Refusal> {
    let token = random_token()?;
    let mut res = render(
        status,
        "login.html",
        minijinja::context! { title => "工作人员登录", login_csrf => token, error => error },
    );
    set_cookie(
        &mut res,
        format!("{LOGIN_COOKIE}={token}{}; Max-Age=900", cookie_flags(state)),
    );
    Ok(res)
}

/// `GET /console/login`.
pub(super) async fn login_page(State(state): State<AppState>, parts: Parts) -> Result<Response, Refusal> {
    if super::carries_other_credential(&parts, &state)? {
        return Err(Refusal::Forbidden("终端凭据和接口令牌不能进入工作台。"));
    }
    if let Some(user) = session_of(&parts, &state).await? {
        return Ok(Redirect::to(landing(user.role)).into_response());
    }
    login_form(&state, StatusCode::OK, None)
}

#[derive(Debug, Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// What the audit log may name of a name someone typed.
fn tried_name(user: &str) -> String {
    if valid_account_name(user) {
        user.to_owned()
    } else {
        format!("<{} chars>", user.chars().count())
    }
}

/// `POST /console/login`.
pub(super) async fn login(
    State(state): State<AppState>,
    parts: Parts,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, Refusal> {
    if super::carries_other_credential(&parts, &state)? {
        return Err(Refusal::Forbidden("终端凭据和接口令牌不能进入工作台。"));
    }
    let Ok(Form(form)) = form else {
        return login_form(&state, StatusCode::BAD_REQUEST, Some("表单无效，请重新填写。"));
    };
    let expected = cookie(&parts, LOGIN_COOKIE).unwrap_or("");
    if expected.is_empty() || !same_secret(&form.csrf, expected) {
        return login_form(&state, StatusCode::FORBIDDEN, Some("登录表单已过期，请重新输入。"));
    }
    // One answer for a wrong password, an unknown name and a locked
    // account: the sign-in page never tells which names exist.
    let cfg = state.console;
    let refused = format!(
        "用户名或密码不正确。连续输错 {} 次的账户将暂停登录 {} 分钟，请稍后再试或联系主管。",
        cfg.lockout_after,
        cfg.lockout_for.as_secs().div_ceil(60)
    );
    let user = form.user.trim().to_owned();
    if user.chars().count() > 64 || form.password.chars().count() > MAX_PASSWORD_CHARS {
        audit(&state, "console", "sign_in_failed", tried_name(&user)).await?;
        return login_form(&state, StatusCode::UNAUTHORIZED, Some(&refused));
    }
    let now = chrono::Utc::now();
    let store = state.store.clone();
    let name = user.clone();
    let account = if valid_account_name(&name) {
        blocking(move || store.staff_account(&name)).await?
    } else {
        None
    };
    if account.as_ref().and_then(|a| a.locked_until).is_some_and(|u| u > now) {
        audit(&state, "console", "sign_in_locked", tried_name(&user)).await?;
        return login_form(&state, StatusCode::UNAUTHORIZED, Some(&refused));
    }
    let phc = account
        .as_ref()
        .map_or_else(|| dummy_hash().to_owned(), |a| a.password_hash.clone());
    let password = form.password;
    let right = tokio::task::spawn_blocking(move || verify(&password, &phc))
        .await
        .unwrap_or(false);
    let Some(account) = account.filter(|_| right) else {
        audit(&state, "console", "sign_in_failed", tried_name(&user)).await?;
        if valid_account_name(&user) {
            let (store, name, cfg) = (state.store.clone(), user.clone(), state.console);
            let locked = blocking(move || {
                store.staff_sign_in_failed(
                    &name,
                    cfg.lockout_after,
                    chrono::TimeDelta::from_std(cfg.lockout_for).unwrap_or(chrono::TimeDelta::MAX),
                    now,
                )
            })
            .await?;
            if locked.is_some() {
                audit(&state, "console", "account_locked", user.clone()).await?;
                log::warn!("console: an account was locked after repeated wrong passwords");
            }
        }
        return login_form(&state, StatusCode::UNAUTHORIZED, Some(&refused));
    };
    let token = random_token()?;
    let csrf = random_token()?;
    let (store, name, hash) = (state.store.clone(), account.name.clone(), sha256_hex(&token));
    blocking(move || store.start_staff_session(&name, &hash, &csrf, now)).await?;
    audit(&state, &account.name, "sign_in", String::new()).await?;
    let mut res = Redirect::to(landing(account.role)).into_response();
    set_cookie(&mut res, format!("{SESSION_COOKIE}={token}{}", cookie_flags(&state)));
    set_cookie(&mut res, format!("{LOGIN_COOKIE}={}; Max-Age=0", cookie_flags(&state)));
    Ok(res)
}

#[derive(Debug, Deserialize)]
pub(super) struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /console/logout`: ends the session.
pub(super) async fn logout(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<LogoutForm>,
) -> Result<Response, Refusal> {
    user.check_csrf(&form.csrf)?;
    let (store, hash) = (state.store.clone(), user.token_sha256.clone());
    blocking(move || store.end_staff_session(&hash)).await?;
    audit(&state, &user.name, "sign_out", String::new()).await?;
    let mut res = Redirect::to("/console/login").into_response();
    set_cookie(&mut res, format!("{SESSION_COOKIE}={}; Max-Age=0", cookie_flags(&state)));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let phc = hash_password("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify("correct horse battery", &phc));
        assert!(!verify("correct horse batterz", &phc));
        assert!(!verify("x", "not a hash"));
        assert_ne!(phc, hash_password("correct horse battery").unwrap(), "no salt");
        assert_eq!(tried_name("li.wei"), "li.wei");
        assert_eq!(tried_name("my password 123"), "<15 chars>");
    }
}
