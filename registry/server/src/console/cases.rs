//! The case list, the case page, page images, the voice note and status
//! changes with their notices. Every read of a case (its page, an image or
//! the voice note) and every change is audited in the signed-in account's
//! name before it is answered.
//!
//! The notice templates follow the documents of the 吉林 system (受理告知书,
//! 不予受理告知书, 答复意见书) and the 信访工作条例's deadlines: filled with
//! the case number, the petitioner's name, the registration date and the
//! unit, then edited by the clerk; what is stored is the text as issued.

use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::{
    audit, blocking, capped, category_label, message, render, require, short_time, status_label,
    ConsoleUser, Refusal,
};
use crate::http::AppState;
use crate::store::{notice_needed, notice_title, CaseFilter, ChangeOutcome};

/// Cases on one page of the list.
const PAGE_SIZE: u32 = 30;
/// The longest notice text (characters).
pub(super) const MAX_NOTICE_CHARS: usize = 4000;

/// The unit a category is usually handled by (事权单位), as a suggestion.
fn suggested_unit(category: &str) -> &'static str {
    match category {
        "land" => "自然资源局",
        "labour" => "人力资源和社会保障局",
        "social_security" => "医疗保障局、社会保险事业中心",
        "housing" => "住房和城乡建设局",
        "rural" => "农业农村局",
        "law" => "政法委（涉法涉诉信访）",
        "conduct" => "纪委监委",
        _ => "信访局（待分办）",
    }
}

/// Days to decide on acceptance after registration (信访工作条例: 15 days).
const ACCEPT_DAYS: i64 = 15;
/// Days to answer after acceptance (60 days; extensions are not recorded here).
const ANSWER_DAYS: i64 = 60;

/// The deadline a case is running against at `now`: what is due and the
/// whole days left (negative once overdue); none once it is answered,
/// not accepted or closed.
fn deadline(
    status: &str,
    registered_at: &str,
    accepted_at: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<(&'static str, i64)> {
    let (what, from, days) = match status {
        "registered" => ("受理", registered_at, ACCEPT_DAYS),
        "accepted" | "in_progress" => ("答复", accepted_at?, ANSWER_DAYS),
        _ => return None,
    };
    // Calendar days in Beijing time: due on the date `days` after the start.
    let from = chrono::DateTime::parse_from_rfc3339(from).ok()?.to_utc();
    let due = super::beijing(from + chrono::TimeDelta::days(days)).date_naive();
    Some((what, (due - super::beijing(now).date_naive()).num_days()))
}

/// The filters as the list's form sends them.
#[derive(Debug, Default, Deserialize, Serialize)]
pub(super) struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    hall: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    dup: String,
    #[serde(default)]
    repeat: String,
    #[serde(default)]
    page: Option<u32>,
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

impl ListQuery {
    /// The filter, or why the query is refused.
    fn filter(&self) -> Result<CaseFilter, &'static str> {
        let opt = |s: &str, max: usize| -> Result<Option<String>, &'static str> {
            let s = capped(s.trim(), max).ok_or("筛选条件过长。")?;
            Ok((!s.is_empty()).then(|| s.to_owned()))
        };
        let date = |s: &str| -> Result<Option<String>, &'static str> {
            match opt(s, 10)? {
                Some(d) if !is_date(&d) => Err("日期格式应为 年-月-日。"),
                other => Ok(other),
            }
        };
        Ok(CaseFilter {
            status: opt(&self.status, 32)?,
            category: opt(&self.category, 32)?,
            hall: opt(&self.hall, 100)?,
            from: date(&self.from)?,
            to: date(&self.to)?,
            likely_duplicate: !self.dup.is_empty(),
            repeat_petitioner: !self.repeat.is_empty(),
        })
    }

    /// The query string of these filters on page `page`.
    fn link(&self, page: u32) -> String {
        let mut q = vec![];
        for (k, v) in [
            ("status", &self.status),
            ("category", &self.category),
            ("hall", &self.hall),
            ("from", &self.from),
            ("to", &self.to),
            ("dup", &self.dup),
            ("repeat", &self.repeat),
        ] {
            if !v.is_empty() {
                q.push(format!("{k}={}", form_encode(v)));
            }
        }
        q.push(format!("page={page}"));
        format!("/console/cases?{}", q.join("&"))
    }
}

/// `application/x-www-form-urlencoded` of one value.
fn form_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The name as the list shows it: the first character and stars.
fn masked_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

/// `GET /console/cases`: the filtered, paged list.
pub(super) async fn list(
    State(state): State<AppState>,
    user: ConsoleUser,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Refusal> {
    require(&user, user.role.works_cases())?;
    let Ok(Query(query)) = query else {
        return Ok(message(StatusCode::BAD_REQUEST, Some(&user), "筛选无效", "筛选条件无效。"));
    };
    let filter = match query.filter() {
        Ok(f) => f,
        Err(why) => return Ok(message(StatusCode::BAD_REQUEST, Some(&user), "筛选无效", why)),
    };
    audit(&state, &user.name, "console_list_cases", String::new()).await?;
    let page = query.page.unwrap_or(1).clamp(1, 100_000);
    let store = state.store.clone();
    let ((rows, total), halls) = blocking(move || {
        Ok((
            store.cases(&filter, PAGE_SIZE, (page - 1) * PAGE_SIZE)?,
            store.halls()?,
        ))
    })
    .await?;
    let pages = total.div_ceil(u64::from(PAGE_SIZE)).max(1);
    let now = chrono::Utc::now();
    let rows: Vec<_> = rows
        .into_iter()
        .map(|r| {
            let due = deadline(&r.status, &r.registered_at, r.accepted_at.as_deref(), now);
            minijinja::context! {
                due => due.map(|(what, left)| if left < 0 {
                    format!("{what}已超期 {} 天", -left)
                } else {
                    format!("{what}期限剩 {left} 天")
                }),
                due_warn => due.is_some_and(|(_, left)| left <= 3),
                case_number => r.case_number,
                registered_at => short_time(&r.registered_at),
                hall => r.hall.unwrap_or_else(|| r.terminal_id.clone()),
                category => category_label(&r.category),
                status => status_label(&r.status),
                status_code => r.status,
                name => masked_name(&r.name),
                likely_duplicate => r.likely_duplicate,
                other_cases => r.other_cases,
                page_count => r.page_count,
            }
        })
        .collect();
    let statuses: Vec<_> = registry_api::STATUSES
        .iter()
        .map(|s| minijinja::context! { code => s, label => status_label(s) })
        .collect();
    let categories: Vec<_> = intake::CATEGORIES
        .iter()
        .map(|c| minijinja::context! { code => c.code, label => c.label })
        .collect();
    let prev = (page > 1).then(|| query.link(page - 1));
    let next = (u64::from(page) < pages).then(|| query.link(page + 1));
    Ok(render(
        StatusCode::OK,
        "cases.html",
        minijinja::context! {
            title => "案件列表",
            user => user.view(),
            rows => rows,
            total => total,
            page => page,
            pages => pages,
            prev => prev,
            next => next,
            q => query,
            statuses => statuses,
            categories => categories,
            halls => halls,
        },
    ))
}

/// The notice templates of one case, filled in.
fn notice_drafts(case: &str, name: &str, date: &str, unit: &str, today: &str) -> [(String, String); 3] {
    [
        (
            "acceptance".into(),
            format!(
                "{name}：\n您于{date}提出的信访事项（编号 {case}）已收悉。经审查，根据《信访工作条例》的规定，\
                 本机关决定予以受理，并交由{unit}办理。{unit}将自受理之日起六十日内向您作出书面答复意见。\n\
                 特此告知。\n\n信访工作机构\n{today}"
            ),
        ),
        (
            "non_acceptance".into(),
            format!(
                "{name}：\n您于{date}提出的信访事项（编号 {case}）已收悉。经审查，该事项（请写明理由），\
                 根据《信访工作条例》的规定，本机关不予受理。请您依法向（请写明有权处理的机关或途径，如人民法院）提出。\n\
                 特此告知。\n\n信访工作机构\n{today}"
            ),
        ),
        (
            "answer".into(),
            format!(
                "{name}：\n您于{date}提出的信访事项（编号 {case}），经{unit}调查核实，现答复如下：\n\
                 （请写明调查核实的情况、处理意见及依据）\n\
                 如对本答复意见不服，可以自收到本意见书之日起三十日内请求原办理机关的上一级机关复查。\n\n\
                 {unit}\n{today}"
            ),
        ),
    ]
}

/// What a case page may offer from `status`: (target, button, notice kind).
fn actions(status: &str) -> Vec<(&'static str, &'static str, Option<&'static str>)> {
    ["accepted", "not_accepted", "in_progress", "answered", "closed"]
        .into_iter()
        .filter(|to| crate::store::allowed(status, to))
        .map(|to| {
            let label = match to {
                "accepted" => "受理",
                "not_accepted" => "不予受理",
                "in_progress" => "开始办理",
                "answered" => "答复",
                _ => "办结",
            };
            (to, label, notice_needed(to))
        })
        .collect()
}

/// `GET /console/cases/{case_number}`: the whole case.
pub(super) async fn page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(case_number): Path<String>,
) -> Result<Response, Refusal> {
    show(&state, &user, &case_number, StatusCode::OK, None, None).await
}

/// Renders the case page; `error` and `draft` (the text the clerk sent)
/// when a change was refused.
async fn show(
    state: &AppState,
    user: &ConsoleUser,
    case_number: &str,
    status: StatusCode,
    error: Option<&str>,
    draft: Option<(&str, &str)>,
) -> Result<Response, Refusal> {
    require(user, user.role.works_cases())?;
    if !registry_api::valid_case_number(case_number) {
        return Ok(message(StatusCode::NOT_FOUND, Some(user), "没有此案件", "案件编号无效。"));
    }
    audit(state, &user.name, "console_read_case", case_number.to_owned()).await?;
    let (store, case) = (state.store.clone(), case_number.to_owned());
    let found = blocking(move || Ok((store.record(&case)?, store.case_work(&case)?))).await?;
    let (Some(record), Some(work)) = found else {
        return Ok(message(StatusCode::NOT_FOUND, Some(user), "没有此案件", "找不到这个案件编号。"));
    };
    let name = record.petitioner.name.expose().to_owned();
    let date = short_time(&record.registered_at).get(..10).unwrap_or("").to_owned();
    let unit = suggested_unit(&record.category);
    let today = super::beijing(chrono::Utc::now()).format("%Y-%m-%d").to_string();
    let drafts = notice_drafts(case_number, &name, &date, unit, &today);
    let acts: Vec<_> = actions(&work.status)
        .into_iter()
        .map(|(to, label, kind)| {
            let text = kind.and_then(|k| {
                match draft {
                    Some((t, text)) if t == to => Some(text.to_owned()),
                    _ => drafts.iter().find(|(dk, _)| dk == k).map(|(_, d)| d.clone()),
                }
            });
            minijinja::context! {
                to => to,
                label => label,
                notice_title => kind.map(notice_title),
                text => text,
            }
        })
        .collect();
    let p = &record.petitioner;
    let sex = match p.sex {
        1 => "男",
        2 => "女",
        _ => "未说明",
    };
    let pages: Vec<_> = record
        .pages
        .iter()
        .map(|pg| minijinja::context! { index => pg.index, ocr_text => pg.ocr_text.expose(), size_kb => pg.size_bytes.div_ceil(1024) })
        .collect();
    let fields: Vec<_> = record
        .fields
        .iter()
        .map(|f| minijinja::context! { page => f.page, kind => field_label(f.kind), value => f.value.expose(), doubtful => f.doubtful })
        .collect();
    let changes: Vec<_> = work
        .changes
        .iter()
        .map(|c| minijinja::context! { from => status_label(&c.from), to => status_label(&c.to), who => c.who, at => short_time(&c.at) })
        .collect();
    let notices: Vec<_> = work
        .notices
        .iter()
        .map(|n| minijinja::context! { title => n.notice.title, text => n.notice.text, by => n.issued_by, at => short_time(&n.notice.issued_at) })
        .collect();
    let others: Vec<_> = work
        .others
        .iter()
        .map(|o| minijinja::context! { case_number => o.case_number, registered_at => short_time(&o.registered_at), category => category_label(&o.category), status => status_label(&o.status) })
        .collect();
    let voice_note = record.voice_note.as_ref().map(|v| {
        minijinja::context! {
            length => clock_length(v.duration_ms),
            size_kb => v.size_bytes.div_ceil(1024),
        }
    });
    let rating = work.rating.as_ref().map(|r| {
        let reasons: Vec<_> = r.reasons.iter().map(|c| reason_label(c)).collect();
        minijinja::context! {
            score => r.score,
            words => usize::try_from(r.score - 1).ok().and_then(|i| SCORE_WORDS.get(i)).copied().unwrap_or("—"),
            reasons => reasons.join("、"),
            at => short_time(&r.rated_at),
        }
    });
    let ctx = minijinja::context! {
        title => format!("案件 {case_number}"),
        user => user.view(),
        case_number => case_number,
        registered_at => short_time(&record.registered_at),
        hall => work.hall.clone().unwrap_or_else(|| record.terminal_id.clone()),
        terminal_id => record.terminal_id,
        status => status_label(&work.status),
        status_code => work.status,
        name => name,
        id_number => p.id_number.expose(),
        sex => sex,
        birth => p.birth,
        address => p.address.expose(),
        phone => work.phone,
        doc_type => doc_type_label(&p.doc_type),
        assisted => record.assisted,
        identity_typed => record.identity_typed,
        likely_duplicate => work.likely_duplicate,
        repeat => record.repeat.as_ref().map(|r| minijinja::context! { earlier_case => r.earlier_case, same_matter => r.same_matter }),
        category => category_label(&record.category),
        unit => unit,
        description => record.description.expose(),
        pages => pages,
        voice_note => voice_note,
        fields => fields,
        changes => changes,
        notices => notices,
        others => others,
        rating => rating,
        actions => acts,
        error => error,
        max_notice => MAX_NOTICE_CHARS,
    };
    Ok(render(status, "case.html", ctx))
}

/// A duration as a clock shows it, minutes and seconds rounded to the
/// nearest second (at least 0:01 for a note that has any length): `0:42`, `2:05`.
fn clock_length(ms: u32) -> String {
    let secs = match (u64::from(ms) + 500) / 1000 {
        0 if ms > 0 => 1,
        s => s,
    };
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// The words of satisfaction scores 1 to 5, as the terminal shows them.
const SCORE_WORDS: [&str; 5] = ["很不满意", "不满意", "一般", "满意", "很满意"];

/// A rating reason in the words the petitioner chose it by.
fn reason_label(code: &str) -> &'static str {
    match code {
        "timely" => "办理及时",
        "courteous" => "态度好",
        "resolved" => "问题已解决",
        "slow" => "办理太慢",
        "unresolved" => "问题没解决",
        "discourteous" => "态度不好",
        _ => "其他",
    }
}

fn doc_type_label(doc: &str) -> &'static str {
    match doc {
        "resident" => "居民身份证",
        "hmt_permit" => "港澳台居民居住证",
        "foreign_2017" | "foreign_2023" => "外国人永久居留身份证",
        _ => "其他证件",
    }
}

fn field_label(kind: registry_api::FieldKind) -> &'static str {
    use registry_api::FieldKind as K;
    match kind {
        K::DocumentKind => "材料类型",
        K::Title => "标题",
        K::IdNumber => "证件号码",
        K::Phone => "电话",
        K::Date => "日期",
        K::Amount => "金额",
        K::Name => "姓名",
        K::Address => "地址",
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct ChangeForm {
    #[serde(default)]
    csrf: String,
    /// The status the page showed.
    #[serde(default)]
    seen: String,
    #[serde(default)]
    to: String,
    /// The notice or answer as the clerk issues it.
    #[serde(default)]
    text: String,
}

/// `POST /console/cases/{case_number}/status`: one move, with its notice.
pub(super) async fn change(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(case_number): Path<String>,
    form: Result<Form<ChangeForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, Refusal> {
    let Ok(Form(form)) = form else {
        return Ok(message(StatusCode::BAD_REQUEST, Some(&user), "表单无效", "表单无效或过大。"));
    };
    user.check_csrf(&form.csrf)?;
    require(&user, user.role.works_cases())?;
    if !registry_api::valid_case_number(&case_number) {
        return Ok(message(StatusCode::NOT_FOUND, Some(&user), "没有此案件", "案件编号无效。"));
    }
    if capped(&form.seen, 32).is_none() || capped(&form.to, 32).is_none() {
        return Ok(message(StatusCode::BAD_REQUEST, Some(&user), "表单无效", "表单无效。"));
    }
    if capped(&form.text, MAX_NOTICE_CHARS).is_none() {
        let why = format!("文书不能超过 {MAX_NOTICE_CHARS} 字。");
        return show(&state, &user, &case_number, StatusCode::UNPROCESSABLE_ENTITY, Some(&why), None).await;
    }
    let text = form.text.replace("\r\n", "\n");
    let (store, case, seen, to, who) = (
        state.store.clone(),
        case_number.clone(),
        form.seen.clone(),
        form.to.clone(),
        user.name.clone(),
    );
    let notice = notice_needed(&form.to).map(|_| text.clone());
    let outcome = blocking(move || {
        store.change_status(&case, &seen, &to, notice.as_deref(), &who, chrono::Utc::now())
    })
    .await?;
    match outcome {
        ChangeOutcome::Changed => {
            let target = match notice_needed(&form.to) {
                Some(kind) => format!("{case_number} {} notice:{kind}", form.to),
                None => format!("{case_number} {}", form.to),
            };
            audit(&state, &user.name, "console_set_status", target).await?;
            Ok(Redirect::to(&format!("/console/cases/{case_number}")).into_response())
        }
        ChangeOutcome::UnknownCase => Ok(message(
            StatusCode::NOT_FOUND,
            Some(&user),
            "没有此案件",
            "找不到这个案件编号。",
        )),
        ChangeOutcome::NoticeRequired => {
            let why = match form.to.as_str() {
                "answered" => "答复必须填写答复意见书。",
                _ => "受理或不予受理必须出具告知书：请填写告知书内容。",
            };
            show(
                &state,
                &user,
                &case_number,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(why),
                Some((&form.to, &text)),
            )
            .await
        }
        ChangeOutcome::NotAllowed { .. } => {
            audit(&state, &user.name, "console_set_status_refused", format!("{case_number} {}", form.to)).await?;
            show(
                &state,
                &user,
                &case_number,
                StatusCode::CONFLICT,
                Some("案件状态已变化或不允许此操作，请查看当前状态后再操作。"),
                None,
            )
            .await
        }
    }
}

/// `GET /console/cases/{case_number}/pages/{index}`: one page image.
pub(super) async fn image(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((case_number, index)): Path<(String, String)>,
) -> Result<Response, Refusal> {
    require(&user, user.role.works_cases())?;
    let index: Option<u32> = index.parse().ok().filter(|i| (1..=registry_api::MAX_PAGES as u32).contains(i));
    let (Some(index), true) = (index, registry_api::valid_case_number(&case_number)) else {
        return Ok(message(StatusCode::NOT_FOUND, Some(&user), "没有此页", "没有这一页。"));
    };
    audit(&state, &user.name, "console_read_page", format!("{case_number} p{index}")).await?;
    let store = state.store.clone();
    let jpeg = blocking(move || store.page_jpeg(&case_number, index)).await?;
    match jpeg {
        Some(jpeg) => Ok(([(header::CONTENT_TYPE, "image/jpeg")], jpeg).into_response()),
        None => Ok(message(StatusCode::NOT_FOUND, Some(&user), "没有此页", "没有这一页。")),
    }
}

/// `GET /console/cases/{case_number}/voice-note`: the petitioner's voice
/// note (`audio/ogg`) for the case page's player; the same right as the
/// page images, audited (`console_read_voice_note`) before it is answered.
/// A browser's player asks for ranges (to find the length and to seek), so
/// one `Range` is answered 206 with that part; each such read is audited.
pub(super) async fn voice_note(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(case_number): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    require(&user, user.role.works_cases())?;
    if !registry_api::valid_case_number(&case_number) {
        return Ok(message(StatusCode::NOT_FOUND, Some(&user), "没有语音", "没有这段语音。"));
    }
    audit(&state, &user.name, "console_read_voice_note", case_number.clone()).await?;
    let store = state.store.clone();
    let ogg = blocking(move || store.voice_note(&case_number)).await?;
    match ogg {
        Some(ogg) => Ok(ranged_audio(&headers, ogg)),
        None => Ok(message(StatusCode::NOT_FOUND, Some(&user), "没有语音", "这个案件没有语音。")),
    }
}

/// `bytes` as `audio/ogg`: the part one `Range: bytes=…` asks for (206, or
/// 416 when it lies past the end), else the whole (200; a range this does
/// not read, such as several at once, is ignored, as HTTP allows).
fn ranged_audio(headers: &HeaderMap, bytes: Vec<u8>) -> Response {
    let len = bytes.len() as u64;
    let asked = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes="))
        .filter(|spec| !spec.contains(','))
        .and_then(|spec| spec.split_once('-'))
        .and_then(|(a, b)| -> Option<(u64, u64)> {
            let (a, b) = (a.trim(), b.trim());
            if a.is_empty() {
                // The last `b` bytes.
                let n = b.parse::<u64>().ok()?.min(len);
                Some((len - n, len.checked_sub(1)?))
            } else {
                let start = a.parse::<u64>().ok()?;
                let end = match b {
                    "" => len.saturating_sub(1),
                    b => b.parse::<u64>().ok().filter(|e| *e >= start)?.min(len.saturating_sub(1)),
                };
                Some((start, end))
            }
        });
    let audio = [(header::CONTENT_TYPE, "audio/ogg"), (header::ACCEPT_RANGES, "bytes")];
    match asked {
        None if headers.contains_key(header::RANGE) && len == 0 => {
            (StatusCode::RANGE_NOT_SATISFIABLE, audio, Vec::new()).into_response()
        }
        None => (StatusCode::OK, audio, bytes).into_response(),
        Some((start, _)) if start >= len => {
            let mut res = (StatusCode::RANGE_NOT_SATISFIABLE, audio, Vec::new()).into_response();
            if let Ok(v) = header::HeaderValue::from_str(&format!("bytes */{len}")) {
                res.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            res
        }
        Some((start, end)) => {
            // start < len and end < len, so both fit a usize index.
            let part = bytes[start as usize..=end as usize].to_vec();
            let mut res = (StatusCode::PARTIAL_CONTENT, audio, part).into_response();
            if let Ok(v) = header::HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")) {
                res.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_of_the_note_is_answered_206_and_anything_else_whole() {
        let note: Vec<u8> = (0..100u8).collect();
        let get = |range: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(r) = range {
                headers.insert(header::RANGE, r.parse().unwrap());
            }
            let res = ranged_audio(&headers, note.clone());
            let content_range = res
                .headers()
                .get(header::CONTENT_RANGE)
                .map(|v| v.to_str().unwrap().to_owned());
            (res.status().as_u16(), content_range)
        };
        assert_eq!(get(None), (200, None));
        assert_eq!(get(Some("bytes=0-")), (206, Some("bytes 0-99/100".into())));
        assert_eq!(get(Some("bytes=10-19")), (206, Some("bytes 10-19/100".into())));
        assert_eq!(get(Some("bytes=90-500")), (206, Some("bytes 90-99/100".into())));
        assert_eq!(get(Some("bytes=-5")), (206, Some("bytes 95-99/100".into())));
        assert_eq!(get(Some("bytes=-500")), (206, Some("bytes 0-99/100".into())));
        assert_eq!(get(Some("bytes=100-")), (416, Some("bytes */100".into())));
        for ignored in ["bytes=0-1,5-6", "bytes=5-1", "items=0-1", "bytes=x-", "bytes=-", "bytes=-0"] {
            let (status, _) = get(Some(ignored));
            assert!(status == 200 || status == 416, "{ignored}: {status}");
        }
        assert_eq!(get(Some("bytes=-0")).0, 416, "an empty suffix selects nothing");
        assert_eq!(get(Some("bytes=5-1")).0, 200);
    }

    #[test]
    fn note_lengths_read_like_a_clock() {
        assert_eq!(clock_length(42_000), "0:42");
        assert_eq!(clock_length(42_499), "0:42");
        assert_eq!(clock_length(42_500), "0:43");
        assert_eq!(clock_length(125_000), "2:05");
        assert_eq!(clock_length(180_000), "3:00");
        assert_eq!(clock_length(300), "0:01");
        assert_eq!(clock_length(0), "0:00");
        assert_eq!(clock_length(u32::MAX), "71582:47");
    }

    #[test]
    fn drafts_carry_the_case_and_the_list_masks_names() {
        let [acc, non, ans] = notice_drafts("XF-2026-000001", "样例", "2026-05-01", "自然资源局", "2026-05-02");
        assert_eq!(acc.0, "acceptance");
        assert!(acc.1.starts_with("样例：") && acc.1.contains("XF-2026-000001") && acc.1.contains("自然资源局"));
        assert!(non.1.contains("不予受理"));
        assert!(ans.1.contains("三十日内"));
        assert_eq!(masked_name("张三丰"), "张**");
        let to: Vec<_> = actions("registered").into_iter().map(|a| a.0).collect();
        assert_eq!(to, ["accepted", "not_accepted"]);
        assert!(actions("closed").is_empty());
        assert!(is_date("2026-05-01") && !is_date("2026-5-1"));
        let now = chrono::DateTime::parse_from_rfc3339("2026-05-20T10:00:00+08:00").unwrap().to_utc();
        let reg = "2026-05-10T09:00:00.000+08:00";
        assert_eq!(deadline("registered", reg, None, now), Some(("受理", 5)));
        assert_eq!(deadline("registered", "2026-05-01T09:00:00+08:00", None, now), Some(("受理", -4)));
        assert_eq!(deadline("in_progress", reg, Some("2026-05-19T09:00:00+08:00"), now), Some(("答复", 59)));
        assert_eq!(deadline("accepted", reg, None, now), None);
        assert_eq!(deadline("closed", reg, None, now), None);
        let q = ListQuery {
            hall: "东岭 镇".into(),
            ..Default::default()
        };
        assert_eq!(q.link(2), "/console/cases?hall=%E4%B8%9C%E5%B2%AD+%E9%95%87&page=2");
    }
}
