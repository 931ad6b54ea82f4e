//! The progress and rating screens' part of the view model.

use intake::{History, Intake, Screen};

use super::{category_label, ProgressRow, ViewModel};

/// Fills the progress and rating screens' part of the view.
pub(super) fn fill_view(m: &Intake, v: &mut ViewModel) {
    v.query_mode = m.query_mode();
    let Some(q) = m.query() else { return };
    match &q.history {
        History::Loading => v.history_loading = true,
        // A progress query starts from a card read: never held.
        History::AwaitingPresence => {}
        History::Unavailable => {
            v.history_note = "登记系统暂时无法连接，请稍后再查询或咨询工作人员".into()
        }
        History::Limited => v.history_note = "暂时无法查询以前的登记，请稍后再试或咨询工作人员".into(),
        History::Loaded(rows) if rows.is_empty() => v.history_note = "您还没有登记记录".into(),
        History::Loaded(rows) => {
            v.progress = rows
                .iter()
                .map(|r| ProgressRow {
                    case_number: r.case_number.clone(),
                    date: r.registered_at.chars().take(10).collect(),
                    category: category_label(&r.category),
                    status: super::status_words(r.status).into(),
                    can_rate: q.can_rate(&r.case_number),
                    rated: q.is_rated(&r.case_number),
                    notice_title: r.notices.last().map(|n| n.title.clone()).unwrap_or_default(),
                    notice_text: r.notices.last().map(|n| n.text.clone()).unwrap_or_default(),
                })
                .collect()
        }
    }
    if let (Screen::Rating, Some(d)) = (m.screen(), &q.draft) {
        v.rating_case = d.case_number.clone();
        v.rating_score = d.score.map_or(0, i32::from);
        v.rating_reasons = intake::REASONS
            .iter()
            .map(|r| d.reasons.contains(&r.code))
            .collect();
        v.rating_sending = d.sending;
    }
}
