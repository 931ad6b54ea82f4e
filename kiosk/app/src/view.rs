//! The view model: what the screen shows, computed from the intake machine.
//!
//! It is plain data so the controller can hand it to the Slint adapter, to a
//! test or to the benchmark alike. It holds the petitioner's name in clear
//! (the screen must show it to them); its `Debug` leaves personal data out.

mod query;

use idcard_proto::DocType;
use registry_api::FieldKind;
use intake::{
    CaseStatus, History, Intake, MessageKind, Millis, Ocr, QueueStatus, Screen, StaffRole, Thumb,
};

/// One row of the history list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub case_number: String,
    pub date: String,
    pub category: String,
    pub status: String,
}

/// One registration on the progress screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressRow {
    pub case_number: String,
    pub date: String,
    pub category: String,
    pub status: String,
    /// Closed and not rated yet: the row has a "评价" button.
    pub can_rate: bool,
    /// Rated (this visit or before): the row says "已评价".
    pub rated: bool,
    /// The latest notice's title and text (empty: none yet).
    pub notice_title: String,
    pub notice_text: String,
}

/// One page thumbnail.
#[derive(Debug, Clone, PartialEq)]
pub struct PageView {
    pub id: u32,
    pub thumb: Thumb,
    pub status: String,
}

/// One registration in the clerk's queue view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRowView {
    pub local_ref: String,
    pub when: String,
    pub category: String,
    pub masked_id: String,
    pub status: String,
    pub case_number: String,
    pub reason: String,
    pub failed: bool,
}

/// One page's recognised text for the clerk to correct.
#[derive(Clone, PartialEq, Eq)]
pub struct PageTextView {
    pub id: u32,
    pub number: u32,
    pub text: String,
    pub doubtful: Vec<String>,
}

impl std::fmt::Debug for PageTextView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageTextView")
            .field("id", &self.id)
            .field("chars", &self.text.chars().count())
            .field("doubtful", &self.doubtful.len())
            .finish()
    }
}

/// Everything a screen shows.
#[derive(Clone, PartialEq, Default)]
pub struct ViewModel {
    pub screen: Option<Screen>,
    pub message: String,
    /// What the message is about (the voice matches on it); `None` without a message.
    pub message_kind: Option<MessageKind>,
    pub message_is_error: bool,
    pub person_name: String,
    pub id_masked: String,
    pub id_warning: String,
    pub document_label: String,
    pub history_loading: bool,
    /// A typed identity whose history waits for the clerk's "本人在场".
    pub history_held: bool,
    pub history_note: String,
    pub history: Vec<HistoryRow>,
    /// The most recent case still open, which the papers may supplement ("" = none).
    pub open_case: String,
    pub category_label: String,
    pub pages: Vec<PageView>,
    pub capture_busy: bool,
    pub case_number: String,
    pub local_ref: String,
    pub queued_offline: bool,
    pub seconds_left: u64,
    /// The "您还在吗？" prompt is up.
    pub still_there: bool,
    /// Routing suggestion on the review screen (set by the controller).
    pub suggestion: String,
    /// "Same matter as …?" on the review screen; "" when not asked.
    pub repeat_question: String,
    /// The answer to the repeat question: `Some(true)` the same matter.
    pub repeat_answer: Option<bool>,
    /// Who is logged in.
    pub staff_mode: Option<StaffRole>,
    /// A clerk registers on the person's behalf (the ID number is then shown in full).
    pub assisted: bool,
    pub queue_rows: Vec<QueueRowView>,
    /// The counter queue's ticket number on the receipt screen ("" = none).
    pub ticket: String,
    /// Clerk on the review screen: each page's recognised text.
    pub page_texts: Vec<PageTextView>,
    /// The description typed so far.
    pub description: String,
    /// The voice note: 0 none, 1 recording, 2 recorded.
    pub voice_state: i32,
    /// A microphone is configured: the description screen offers a voice note.
    pub voice_available: bool,
    /// While recording: the level, 0 to 100 (set by the controller).
    pub voice_level: i32,
    /// Recording: the time so far ("0:12", set by the controller); recorded:
    /// the note's length ("0:42").
    pub voice_time: String,
    /// The longest note ("3:00").
    pub voice_limit: String,
    /// The note is playing (set by the controller).
    pub voice_playing: bool,
    /// The pinyin being composed and the candidates shown (set by the controller).
    pub ime_preedit: String,
    pub ime_candidates: Vec<String>,
    pub ime_has_prev: bool,
    pub ime_has_next: bool,
    /// The phone digits as typed, grouped ("138 1234 5678").
    pub phone: String,
    /// The phone for the review screen ("138****5678"), "" when none was left.
    pub phone_masked: String,
    pub phone_valid: bool,
    /// "确定不留电话吗？" is asked.
    pub confirm_no_phone: bool,
    /// Phone screen: a number recognised on the papers (digits, and masked), set by the controller.
    pub found_phone: String,
    pub found_phone_masked: String,
    /// The card, progress and rating screens of a progress query.
    pub query_mode: bool,
    /// Progress screen: the petitioner's registrations (see `rating.rs`).
    pub progress: Vec<ProgressRow>,
    /// Rating screen: the case, the score (0 none yet), each reason chip's state.
    pub rating_case: String,
    pub rating_score: i32,
    pub rating_reasons: Vec<bool>,
    pub rating_sending: bool,
}

impl std::fmt::Debug for ViewModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewModel")
            .field("screen", &self.screen)
            .field("message", &kiosk_privacy::redact(&self.message))
            .field("id_masked", &self.id_masked)
            .field("history", &self.history.len())
            .field("pages", &self.pages.len())
            .field("case_number", &self.case_number)
            .field("local_ref", &self.local_ref)
            .finish_non_exhaustive()
    }
}

/// Shows the first four and last two characters of an ID number on screen.
pub fn screen_mask(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len().max(4));
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 6))
}

fn document_label(t: DocType) -> &'static str {
    match t {
        DocType::Resident => "居民身份证",
        DocType::HmtPermit => "港澳台居民居住证",
        DocType::ForeignPermanent2017 | DocType::ForeignPermanent2023 => "外国人永久居留身份证",
    }
}

/// The label of a category code, or the code itself when unknown.
pub fn category_label(code: &str) -> String {
    intake::category::by_code(code)
        .map(|c| c.label.to_string())
        .unwrap_or_else(|| code.to_string())
}

/// A case's state in words for the petitioner.
pub fn status_words(status: CaseStatus) -> &'static str {
    match status {
        CaseStatus::Registered => "已登记",
        CaseStatus::Accepted => "已受理",
        CaseStatus::NotAccepted => "不予受理",
        CaseStatus::InProgress => "办理中",
        CaseStatus::Answered => "已答复",
        CaseStatus::Closed => "已办结",
    }
}

fn queue_status_label(status: QueueStatus) -> &'static str {
    match status {
        QueueStatus::Pending => "等待发送",
        QueueStatus::Uploading => "正在发送",
        QueueStatus::Acknowledged => "已送达",
        QueueStatus::Failed => "发送失败",
    }
}

/// What the review screen says about the recognised pages: the fields found
/// (phone and ID numbers masked) and the words recognised with low confidence.
pub fn review_notes(pages: &[intake::Page]) -> String {
    let mut found = Vec::new();
    for f in crate::registration::extracted_fields(pages) {
        let value = f.value.expose();
        let shown = match f.kind {
            FieldKind::Date => format!("日期 {value}"),
            FieldKind::Amount => format!("金额 {value} 元"),
            FieldKind::Phone => format!("电话 {}", screen_mask(value)),
            FieldKind::IdNumber if f.doubtful => {
                format!("证件号 {}（待核对）", screen_mask(value))
            }
            FieldKind::IdNumber => format!("证件号 {}", screen_mask(value)),
            _ => continue,
        };
        if !found.contains(&shown) && found.len() < 4 {
            found.push(shown);
        }
    }
    let doubtful: Vec<&str> = pages
        .iter()
        .filter_map(|p| match &p.ocr {
            intake::Ocr::Done { doubtful, .. } => Some(doubtful.iter().map(|w| w.expose())),
            _ => None,
        })
        .flatten()
        .take(6)
        .collect();
    let mut lines = Vec::new();
    if !found.is_empty() {
        lines.push(format!("识别到：{}", found.join("；")));
    }
    if !doubtful.is_empty() {
        lines.push(format!("请核对识别不确定的字词：{}", doubtful.join("、")));
    }
    lines.join("\n")
}

/// The review screen's routing suggestion in words, with the notes on the
/// recognised pages below it; "" when there is nothing to say.
pub fn suggestion_text(top: Option<&kiosk_classify::Suggestion>, notes: &str) -> String {
    let line = top
        .map(|top| {
            if top.confident {
                // The three strongest reasons are enough on a screen.
                let place = top
                    .locality
                    .as_deref()
                    .map(|l| format!("{l} "))
                    .unwrap_or_default();
                let why: Vec<&str> = top.evidence.iter().take(3).map(String::as_str).collect();
                if why.is_empty() {
                    format!("建议转办：{place}{}", top.unit)
                } else {
                    format!("建议转办：{place}{}（依据：{}）", top.unit, why.join("、"))
                }
            } else {
                format!("可能由{}办理，工作人员会再确认", top.unit)
            }
        })
        .unwrap_or_default();
    match (line.is_empty(), notes.is_empty()) {
        (_, true) => line,
        (true, false) => notes.to_string(),
        (false, false) => format!("{line}\n{notes}"),
    }
}

/// What the screen says when a registration (or a rating) could not be sealed.
pub fn seal_failure_text(e: &kiosk_queue::QueueError) -> &'static str {
    use kiosk_queue::QueueError;
    match e {
        QueueError::LowDiskSpace { .. } => {
            "存储空间不足，本机暂停登记，已保存的登记不受影响。请联系工作人员"
        }
        QueueError::TooLarge { .. } | QueueError::TooManyPages { .. } => {
            "材料过多，无法保存。请删除部分页面后重新提交，或联系工作人员"
        }
        QueueError::VoiceNoteTooLarge { .. } | QueueError::BadVoiceNote(_) => {
            "语音无法保存。请删除语音后重新提交（可重新录一段短一些的），或联系工作人员"
        }
        _ => "保存失败，请联系工作人员",
    }
}

/// "0:42", "3:00".
pub fn minutes_seconds(secs: u64) -> String {
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// Builds the view of the machine's current state.
pub fn build(m: &Intake, now: Millis) -> ViewModel {
    let mut v = ViewModel {
        screen: Some(m.screen()),
        ..ViewModel::default()
    };
    if let Some(msg) = m.message() {
        v.message = msg.text.clone();
        v.message_kind = Some(msg.kind);
        v.message_is_error = msg.is_error;
    }
    if v.message.is_empty() {
        // A wait longer than half a second says what is happening.
        if let Some(text) = crate::progress::message(m) {
            v.message = text;
            v.message_kind = Some(MessageKind::Info);
        }
    }
    v.seconds_left = m.seconds_left(now).unwrap_or(0);
    v.still_there = m.asking_still_there(now);
    v.staff_mode = m.staff();
    let clerk = m.staff() == Some(StaffRole::Clerk);
    v.queue_rows = m
        .queue_rows()
        .iter()
        .map(|r| QueueRowView {
            local_ref: r.local_ref.clone(),
            when: r.sealed_at.chars().take(16).collect::<String>().replace('T', " "),
            category: category_label(&r.category),
            masked_id: r.masked_id.clone(),
            status: queue_status_label(r.status).into(),
            case_number: r.case_number.clone().unwrap_or_default(),
            reason: r.reason.clone().unwrap_or_default(),
            failed: r.status == QueueStatus::Failed,
        })
        .collect();
    if let Some(s) = m.session() {
        v.person_name = s.identity.name.expose().to_string();
        v.assisted = s.assisted;
        // The clerk sees the whole number to check it against the document.
        v.id_masked = if clerk {
            s.identity.id_number.expose().to_string()
        } else {
            screen_mask(s.identity.id_number.expose())
        };
        if clerk && m.screen() == Screen::Review {
            v.page_texts = s
                .pages
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let (text, doubtful) = match &p.ocr {
                        Ocr::Done { text, doubtful, .. } => (
                            text.expose().to_string(),
                            doubtful.iter().map(|w| w.expose().to_string()).collect(),
                        ),
                        _ => (String::new(), Vec::new()),
                    };
                    PageTextView {
                        id: p.id,
                        number: i as u32 + 1,
                        text,
                        doubtful,
                    }
                })
                .collect();
        }
        if !s.id_number_ok {
            v.id_warning = "证件号码校验未通过，请工作人员核对".into();
        }
        v.document_label = document_label(s.identity.doc_type).into();
        match &s.history {
            History::Loading => v.history_loading = true,
            History::AwaitingPresence => v.history_held = true,
            History::Unavailable => {
                v.history_note = "登记系统暂时无法连接，历史记录稍后由工作人员查询".into()
            }
            History::Limited => v.history_note = "暂时无法查询以前的登记".into(),
            History::Loaded(rows) if rows.is_empty() => v.history_note = "首次登记".into(),
            History::Loaded(rows) => {
                v.history = rows
                    .iter()
                    .map(|r| HistoryRow {
                        case_number: r.case_number.clone(),
                        date: r.registered_at.chars().take(10).collect(),
                        category: category_label(&r.category),
                        status: status_words(r.status).to_string(),
                    })
                    .collect();
                if m.screen() == Screen::Identity {
                    v.open_case = rows
                        .iter()
                        .find(|r| r.is_open())
                        .map(|r| r.case_number.clone())
                        .unwrap_or_default();
                }
            }
        }
        if let Some(q) = &s.repeat {
            v.repeat_question = q.question.clone();
            v.repeat_answer = q.answer;
        }
        v.description = s.description.expose().to_string();
        match &s.voice {
            intake::Voice::Empty => {}
            intake::Voice::Recording => v.voice_state = 1,
            intake::Voice::Recorded(note) => {
                v.voice_state = 2;
                v.voice_time = minutes_seconds(u64::from(note.duration_ms) / 1000);
            }
        }
        let digits = s.phone.expose();
        v.phone = intake::phone::grouped(digits);
        v.phone_valid = intake::phone::check(digits).is_ok();
        v.phone_masked = s
            .valid_phone()
            .map(|p| intake::phone::masked(p.expose()))
            .unwrap_or_default();
        v.confirm_no_phone = m.confirming_no_phone();
        v.category_label = s.category.map(|c| c.label.to_string()).unwrap_or_default();
        v.capture_busy = s.capture_busy;
        v.pages = s
            .pages
            .iter()
            .map(|p| PageView {
                id: p.id,
                thumb: p.thumb.clone(),
                status: match p.ocr {
                    Ocr::Pending => "识别中…",
                    Ocr::Done { .. } => "已识别",
                    Ocr::Failed => "未能识别",
                }
                .into(),
            })
            .collect();
    }
    if let Some((local_ref, case)) = m.receipt() {
        v.local_ref = local_ref.to_string();
        v.case_number = case.unwrap_or_default().to_string();
        v.queued_offline = case.is_none();
        v.ticket = m.ticket().unwrap_or_default().to_string();
    }
    query::fill_view(m, &mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_voice_note_that_cannot_be_kept_says_so_and_how_to_go_on() {
        let e = kiosk_queue::QueueError::VoiceNoteTooLarge {
            bytes: 3 << 20,
            limit: 2 << 20,
        };
        let text = seal_failure_text(&e);
        assert!(text.contains("语音") && text.contains("删除语音"), "{text}");
        assert_eq!(minutes_seconds(42), "0:42");
        assert_eq!(minutes_seconds(180), "3:00");
    }

    #[test]
    fn the_latest_notice_of_a_case_is_on_its_progress_row() {
        use intake::{CaseNotice, Event, Intake, PastRegistration, Timeouts};
        let mut m = Intake::new(Timeouts::default());
        m.handle(Event::QueryStart, Millis(1_000));
        let card = idcard_proto::CardText {
            doc_type: idcard_proto::DocType::Resident,
            name: kiosk_privacy::PersonName::new("测试样例"),
            sex: idcard_proto::Sex::Male,
            ethnicity: Some("汉"),
            nationality: None,
            birth: None,
            address: kiosk_privacy::Address::new("北京市东城区样本路1号"),
            id_number: kiosk_privacy::IdNumber::new("11010519491231002X"),
            authority: "样本公安局".into(),
            valid_from: None,
            valid_to: None,
        };
        m.handle(Event::CardRead(Box::new(card)), Millis(1_100));
        assert_eq!(m.screen(), intake::Screen::Progress);
        let notice = |title: &str, text: &str| CaseNotice {
            title: title.into(),
            issued_at: "2026-12-01T10:00:00+08:00".into(),
            text: text.into(),
        };
        let past = |case: &str, status: &str, notices| PastRegistration {
            case_number: case.into(),
            registered_at: "2026-11-01T09:00:00+08:00".into(),
            category: "labour".into(),
            status: status.parse().unwrap(),
            rating: None,
            notices,
        };
        m.handle(
            Event::HistoryLoaded {
                visit: m.visit(),
                rows: vec![
                    past(
                        "XF-2026-000001",
                        "answered",
                        vec![notice("受理告知书", "予以受理"), notice("答复意见书", "现答复如下")],
                    ),
                    past("XF-2026-000002", "registered", Vec::new()),
                ],
            },
            Millis(1_200),
        );
        let v = build(&m, Millis(1_300));
        assert_eq!(v.progress.len(), 2);
        assert_eq!(v.progress[0].notice_title, "答复意见书");
        assert_eq!(v.progress[0].notice_text, "现答复如下");
        assert_eq!(v.progress[0].status, "已答复");
        assert_eq!(v.progress[1].notice_text, "", "no notice yet");
    }

    #[test]
    fn every_status_the_registry_sends_has_words_for_the_petitioner() {
        for wire in registry_api::STATUSES {
            let status: CaseStatus = wire
                .parse()
                .unwrap_or_else(|_| panic!("the terminal does not know {wire}"));
            assert_eq!(status.as_str(), *wire);
            assert!(!status_words(status).is_empty());
        }
        let refused: CaseStatus = "not_accepted".parse().unwrap();
        assert_eq!(status_words(refused), "不予受理");
    }

    #[test]
    fn screen_mask_keeps_head_and_tail_only() {
        assert_eq!(screen_mask("11010519491231002X"), "1101************2X");
        assert_eq!(screen_mask("123"), "****");
    }
}
