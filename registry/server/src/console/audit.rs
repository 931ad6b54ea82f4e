//! The audit page: the newest entries of the audit log (staff accounts,
//! staff tokens, terminals), for supervisors only; reading it is audited too.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::{audit, blocking, render, require, short_time, ConsoleUser, Refusal};
use crate::http::AppState;

/// How many entries the page shows.
const SHOWN: usize = 500;

/// An action code in words.
fn action_label(action: &str) -> &'static str {
    match action {
        "sign_in" => "登录",
        "sign_out" => "退出",
        "sign_in_failed" => "登录失败",
        "sign_in_locked" => "登录被拒（账户锁定）",
        "account_locked" => "账户锁定",
        "console_list_cases" => "查看案件列表",
        "console_read_case" => "查看案件",
        "console_read_page" => "查看材料图片",
        "console_read_voice_note" => "收听语音留言",
        "console_set_status" => "变更状态",
        "console_set_status_refused" => "变更状态被拒",
        "console_fleet" | "read_fleet" | "list_heartbeats" => "查看终端状态",
        "read_audit" => "查看审计日志",
        "read_registration" => "接口读取案件",
        "read_voice_note" => "接口读取语音留言",
        "set_status" => "接口变更状态",
        "read_stats" => "接口读取统计",
        "history_lookup" => "终端查询历史",
        "history_lookup_typed" => "终端查询历史（手工输入证件）",
        "history_refused" => "终端查询历史被限流",
        "issue_enrollment" => "签发注册码",
        "list_terminals" => "查看终端列表",
        "revoke_terminal" => "吊销终端",
        _ => "其他操作",
    }
}

/// `GET /console/audit`.
pub(super) async fn page(State(state): State<AppState>, user: ConsoleUser) -> Result<Response, Refusal> {
    require(&user, user.role.reads_audit())?;
    audit(&state, &user.name, "read_audit", String::new()).await?;
    let store = state.store.clone();
    let entries = blocking(move || store.audit_log(SHOWN)).await?;
    let rows: Vec<_> = entries
        .iter()
        .map(|e| {
            let at = chrono::DateTime::parse_from_rfc3339(&e.at)
                .map(|t| super::beijing(t.with_timezone(&chrono::Utc)).to_rfc3339())
                .unwrap_or_else(|_| e.at.clone());
            minijinja::context! {
                at => short_time(&at),
                seconds => at.get(16..19).unwrap_or(""),
                who => e.who,
                action => action_label(&e.action),
                code => e.action,
                target => e.target,
            }
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        "audit.html",
        minijinja::context! { title => "审计日志", user => user.view(), rows => rows, shown => SHOWN },
    ))
}
