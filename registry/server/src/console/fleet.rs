//! The fleet: every known terminal with its last report, and the rows that
//! need a technician, as a console page and as JSON for monitoring.
//!
//! **The rules live in one place**, [`needs_attention`], a pure function of
//! one terminal's record, the time and the thresholds ([`FleetRules`]):
//! offline longer than `offline_after` (or enrolled and never heard from),
//! the oldest unsent registration older than `old_unsent_after`, any
//! registration failed for good, a printer out of paper, offline or in
//! error, free disk below `low_disk_mb`. A revoked terminal, or one issued
//! a code and not enrolled yet, needs nobody.

use std::time::Duration;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use registry_api::{ApiError, PrinterReport, UpdateReport, UpdateState};
use serde::Serialize;

use super::{audit, blocking, render, require, short_time, ConsoleUser, Refusal};
use crate::http::AppState;
use crate::store::FleetRecord;

/// The thresholds of [`needs_attention`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetRules {
    pub offline_after: Duration,
    pub old_unsent_after: Duration,
    pub low_disk_mb: u64,
}

impl From<&super::ConsoleConfig> for FleetRules {
    fn from(c: &super::ConsoleConfig) -> Self {
        FleetRules {
            offline_after: c.offline_after,
            old_unsent_after: c.old_unsent_after,
            low_disk_mb: c.low_disk_mb,
        }
    }
}

/// Why a terminal needs a technician.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attention {
    /// Enrolled, and no heartbeat ever came.
    NeverReported,
    /// No heartbeat for this many seconds.
    Offline { silent_s: u64 },
    /// Its oldest unsent registration is this old.
    OldUnsent { age_s: u64 },
    /// Registrations the registry refused for good, waiting on the terminal.
    Failed { n: u64 },
    /// Paper out, offline or in error.
    Printer(PrinterReport),
    /// Free disk below the threshold.
    LowDisk { mb: u64 },
    /// The update it was given never reached READY; it went back by itself.
    UpdateFellBack,
    /// The update it was given was refused (checksum, signature) or failed.
    UpdateFailed,
}

/// A span of seconds in words: 分钟, 小时, 天.
fn span(s: u64) -> String {
    match s {
        0..=119 => format!("{s} 秒"),
        120..=7199 => format!("{} 分钟", s / 60),
        7200..=172_799 => format!("{} 小时", s / 3600),
        _ => format!("{} 天", s / 86_400),
    }
}

impl Attention {
    /// A stable code for monitoring.
    pub fn code(self) -> &'static str {
        match self {
            Attention::NeverReported => "never_reported",
            Attention::Offline { .. } => "offline",
            Attention::OldUnsent { .. } => "old_unsent",
            Attention::Failed { .. } => "failed",
            Attention::Printer(_) => "printer",
            Attention::LowDisk { .. } => "low_disk",
            Attention::UpdateFellBack => "update_fell_back",
            Attention::UpdateFailed => "update_failed",
        }
    }

    /// The reason in words, for the technician.
    pub fn words(self) -> String {
        match self {
            Attention::NeverReported => "已注册，但从未收到心跳".into(),
            Attention::Offline { silent_s } => format!("离线：已有 {}没有心跳", span(silent_s)),
            Attention::OldUnsent { age_s } => format!("最早一件未上传的登记已等待 {}", span(age_s)),
            Attention::Failed { n } => format!("{n} 件登记上传失败，需在终端处理"),
            Attention::Printer(PrinterReport::PaperOut) => "打印机缺纸".into(),
            Attention::Printer(PrinterReport::Offline) => "打印机离线".into(),
            Attention::Printer(_) => "打印机故障".into(),
            Attention::LowDisk { mb } => format!("磁盘剩余空间不足：{mb} MB"),
            Attention::UpdateFellBack => "软件更新启动失败，已自动回到原版本".into(),
            Attention::UpdateFailed => "软件更新包被拒绝或无法安装".into(),
        }
    }
}

/// Whether a terminal heard from at `last` is online at `now`.
fn online(last: Option<DateTime<Utc>>, now: DateTime<Utc>, rules: &FleetRules) -> bool {
    last.is_some_and(|t| (now - t).to_std().unwrap_or(Duration::ZERO) <= rules.offline_after)
}

/// Everything about `rec` that needs a technician at `now`, in the order
/// of [`Attention`]; empty when it is fine.
pub fn needs_attention(rec: &FleetRecord, now: DateTime<Utc>, rules: &FleetRules) -> Vec<Attention> {
    match rec.enrollment.as_deref() {
        Some("revoked") => return Vec::new(),
        Some("pending") if rec.last_heartbeat_at.is_none() => return Vec::new(),
        _ => {}
    }
    let mut out = Vec::new();
    match rec.last_heartbeat_at {
        None => {
            out.push(Attention::NeverReported);
            return out;
        }
        Some(last) if !online(Some(last), now, rules) => {
            let silent_s = (now - last).num_seconds().max(0) as u64;
            out.push(Attention::Offline { silent_s });
        }
        Some(_) => {}
    }
    if let Some(age_s) = rec.oldest_unsent_age_s {
        if age_s > rules.old_unsent_after.as_secs() {
            out.push(Attention::OldUnsent { age_s });
        }
    }
    if let Some(n) = rec.failed.filter(|n| *n > 0) {
        out.push(Attention::Failed { n });
    }
    if let Some(p @ (PrinterReport::PaperOut | PrinterReport::Offline | PrinterReport::Error)) = rec.printer {
        out.push(Attention::Printer(p));
    }
    if let Some(mb) = rec.free_disk_mb.filter(|mb| *mb < rules.low_disk_mb) {
        out.push(Attention::LowDisk { mb });
    }
    match rec.update.as_ref().map(|u| u.state) {
        Some(UpdateState::FellBack) => out.push(Attention::UpdateFellBack),
        Some(UpdateState::Failed) => out.push(Attention::UpdateFailed),
        _ => {}
    }
    out
}

/// The update in words beside the version: "更新到 1.2.0：下载中".
fn update_words(u: &UpdateReport) -> String {
    let state = match u.state {
        UpdateState::Downloading => "下载中",
        UpdateState::Ready => "已下载，等待安装时段",
        UpdateState::FellBack => "失败，已回到原版本",
        UpdateState::Failed => "失败",
    };
    format!("更新到 {}：{state}", u.target_version)
}

/// One reason on the wire.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct FleetReason {
    /// `never_reported`, `offline`, `old_unsent`, `failed`, `printer`,
    /// `low_disk`, `update_fell_back`, `update_failed`.
    pub code: String,
    /// The reason in words (Chinese).
    pub text: String,
}

/// One terminal as `GET /v1/staff/fleet` answers it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct FleetRow {
    pub terminal_id: String,
    /// The hall of an enrolled terminal.
    pub hall: Option<String>,
    /// `pending`, `active`, `revoked`, or none for a terminal known by its token.
    pub enrollment: Option<String>,
    /// RFC 3339, Beijing time.
    pub last_heartbeat_at: Option<String>,
    pub online: bool,
    pub queue_depth: Option<u64>,
    pub oldest_unsent_age_s: Option<u64>,
    pub failed: Option<u64>,
    pub printer: Option<PrinterReport>,
    pub free_disk_mb: Option<u64>,
    pub version: Option<String>,
    /// What the terminal said about the update it was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<UpdateReport>,
    pub needs_attention: bool,
    pub reasons: Vec<FleetReason>,
}

fn rows(records: Vec<FleetRecord>, now: DateTime<Utc>, rules: &FleetRules) -> Vec<FleetRow> {
    records
        .into_iter()
        .map(|rec| {
            let reasons: Vec<FleetReason> = needs_attention(&rec, now, rules)
                .into_iter()
                .map(|a| FleetReason {
                    code: a.code().into(),
                    text: a.words(),
                })
                .collect();
            FleetRow {
                online: online(rec.last_heartbeat_at, now, rules),
                last_heartbeat_at: rec
                    .last_heartbeat_at
                    .map(|t| super::beijing(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)),
                terminal_id: rec.terminal_id,
                hall: rec.hall,
                enrollment: rec.enrollment,
                queue_depth: rec.queue_depth,
                oldest_unsent_age_s: rec.oldest_unsent_age_s,
                failed: rec.failed,
                printer: rec.printer,
                free_disk_mb: rec.free_disk_mb,
                version: rec.version,
                update: rec.update,
                needs_attention: !reasons.is_empty(),
                reasons,
            }
        })
        .collect()
}

async fn fleet_rows(state: &AppState) -> Result<Vec<FleetRow>, Refusal> {
    let store = state.store.clone();
    let records = blocking(move || store.fleet()).await?;
    Ok(rows(records, Utc::now(), &FleetRules::from(&state.console)))
}

fn printer_label(p: Option<PrinterReport>) -> &'static str {
    match p {
        None => "—",
        Some(PrinterReport::Ok) => "正常",
        Some(PrinterReport::PaperLow) => "纸将用完",
        Some(PrinterReport::PaperOut) => "缺纸",
        Some(PrinterReport::Offline) => "离线",
        Some(PrinterReport::Error) => "故障",
    }
}

/// `GET /console/fleet`: the page (supervisors and technicians).
pub(super) async fn page(State(state): State<AppState>, user: ConsoleUser) -> Result<Response, Refusal> {
    require(&user, user.role.sees_fleet())?;
    audit(&state, &user.name, "console_fleet", String::new()).await?;
    let rows = fleet_rows(&state).await?;
    let attention = rows.iter().filter(|r| r.needs_attention).count();
    let view: Vec<_> = rows
        .iter()
        .map(|r| {
            minijinja::context! {
                terminal_id => r.terminal_id,
                hall => r.hall,
                last => r.last_heartbeat_at.as_deref().map(short_time),
                online => r.online,
                queue_depth => r.queue_depth,
                oldest => r.oldest_unsent_age_s.map(span),
                failed => r.failed,
                printer => printer_label(r.printer),
                free_disk_mb => r.free_disk_mb,
                version => r.version,
                update => r.update.as_ref().map(update_words),
                needs_attention => r.needs_attention,
                enrollment => match (r.enrollment.as_deref(), r.last_heartbeat_at.is_some()) {
                    (Some("revoked"), _) => Some("已吊销"),
                    (Some("pending"), false) => Some("待注册"),
                    _ => None,
                },
                reasons => r.reasons.iter().map(|x| x.text.clone()).collect::<Vec<_>>(),
            }
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        "fleet.html",
        minijinja::context! {
            title => "终端状态",
            user => user.view(),
            rows => view,
            attention => attention,
            offline_minutes => state.console.offline_after.as_secs().div_ceil(60),
        },
    ))
}

fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut res = (
        status,
        Json(ApiError {
            code: code.into(),
            message: message.into(),
        }),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            axum::http::header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer"),
        );
    }
    res
}

/// `GET /v1/staff/fleet`: the same rows as JSON, for a staff bearer token
/// or a signed-in supervisor or technician (a terminal: 403).
pub(super) async fn json(State(state): State<AppState>, mut parts: Parts) -> Response {
    let who = if parts.headers.contains_key(axum::http::header::AUTHORIZATION)
        || parts.extensions.get::<crate::serve::PeerKey>().is_some()
    {
        match crate::http::Staff::from_request_parts(&mut parts, &state).await {
            Ok(crate::http::Staff(who)) => who,
            Err(failure) => return failure.into_response(),
        }
    } else {
        match super::session_of(&parts, &state).await {
            Ok(Some(user)) if user.role.sees_fleet() => user.name,
            Ok(Some(_)) => return json_error(StatusCode::FORBIDDEN, "forbidden", "this role does not see the fleet"),
            Ok(None) => return json_error(StatusCode::UNAUTHORIZED, "unauthorized", "missing or unknown bearer token"),
            Err(refusal) => return refusal.into_response(),
        }
    };
    if let Err(refusal) = audit(&state, &who, "read_fleet", String::new()).await {
        return refusal.into_response();
    }
    match fleet_rows(&state).await {
        Ok(rows) => Json(rows).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn rec() -> FleetRecord {
        FleetRecord {
            terminal_id: "hall-01".into(),
            hall: Some("东岭镇".into()),
            enrollment: Some("active".into()),
            last_heartbeat_at: Some(Utc.with_ymd_and_hms(2026, 5, 1, 2, 0, 0).unwrap()),
            queue_depth: Some(0),
            failed: Some(0),
            oldest_unsent_age_s: None,
            printer: Some(PrinterReport::Ok),
            free_disk_mb: Some(8000),
            update: None,
            version: Some("0.1.0".into()),
        }
    }

    const RULES: FleetRules = FleetRules {
        offline_after: Duration::from_secs(600),
        old_unsent_after: Duration::from_secs(3600),
        low_disk_mb: 500,
    };

    fn check(r: &FleetRecord, minutes_later: i64, expect: &[Attention]) {
        let now = Utc.with_ymd_and_hms(2026, 5, 1, 2, 0, 0).unwrap() + chrono::TimeDelta::minutes(minutes_later);
        assert_eq!(needs_attention(r, now, &RULES), expect, "{r:?}");
    }

    #[test]
    fn each_rule_flags_its_case_and_a_healthy_terminal_none() {
        check(&rec(), 10, &[]);
        check(&rec(), 11, &[Attention::Offline { silent_s: 660 }]);
        check(&FleetRecord { oldest_unsent_age_s: Some(3600), ..rec() }, 0, &[]);
        check(&FleetRecord { oldest_unsent_age_s: Some(3601), ..rec() }, 0, &[Attention::OldUnsent { age_s: 3601 }]);
        check(&FleetRecord { failed: Some(2), ..rec() }, 0, &[Attention::Failed { n: 2 }]);
        check(&FleetRecord { printer: Some(PrinterReport::PaperLow), ..rec() }, 0, &[]);
        for p in [PrinterReport::PaperOut, PrinterReport::Offline, PrinterReport::Error] {
            check(&FleetRecord { printer: Some(p), ..rec() }, 0, &[Attention::Printer(p)]);
        }
        check(&FleetRecord { free_disk_mb: Some(499), ..rec() }, 0, &[Attention::LowDisk { mb: 499 }]);
        check(&FleetRecord { free_disk_mb: None, printer: None, ..rec() }, 0, &[]);
        check(&FleetRecord { last_heartbeat_at: None, ..rec() }, 0, &[Attention::NeverReported]);
        check(&FleetRecord { last_heartbeat_at: None, enrollment: Some("pending".into()), ..rec() }, 0, &[]);
        check(&FleetRecord { enrollment: Some("revoked".into()), ..rec() }, 600, &[]);
        // Several at once, in a fixed order.
        let bad = FleetRecord { failed: Some(1), free_disk_mb: Some(10), printer: Some(PrinterReport::Error), ..rec() };
        check(&bad, 120, &[
            Attention::Offline { silent_s: 7200 },
            Attention::Failed { n: 1 },
            Attention::Printer(PrinterReport::Error),
            Attention::LowDisk { mb: 10 },
        ]);
        assert_eq!(Attention::Offline { silent_s: 7200 }.words(), "离线：已有 2 小时没有心跳");
        assert_eq!(Attention::OldUnsent { age_s: 3900 }.words(), "最早一件未上传的登记已等待 65 分钟");
    }
}
