//! The progress and rating screens: the welcome screen's query button, a
//! "评价" button only on a closed, unrated case, scores and reason chips by
//! their accessible labels, submit and back.

use kiosk_ui::{Intake, Screen};
use slint::ComponentHandle;

use crate::support::{button, find, find_one, new_window, press, record_callbacks, PORTRAIT};

#[test]
fn welcome_has_the_secondary_query_button() {
    let ui = new_window(PORTRAIT);
    let log = record_callbacks(&ui);
    ui.global::<Intake>().set_screen(Screen::Welcome);
    assert_eq!(press(&ui, &log, "查询进度 / 评价"), ["query-start"]);
    let start = button(&ui, "开始登记").size();
    let query = button(&ui, "查询进度 / 评价").size();
    assert!(
        query.height < start.height,
        "the query button stays secondary"
    );
}

#[test]
fn only_the_closed_unrated_case_can_be_rated() {
    let ui = new_window(PORTRAIT);
    let log = record_callbacks(&ui);
    crate::support::fill_specimen(&ui);
    ui.global::<Intake>().set_screen(Screen::Progress);
    assert_eq!(
        press(&ui, &log, "评价 XF-2026-000311"),
        ["rate-case(XF-2026-000311)"]
    );
    assert!(find(&ui, "评价 XF-2025-000417").is_empty(), "rated already");
    assert!(find(&ui, "评价 XF-2026-000502").is_empty(), "not closed");
    find_one(&ui, "已评价 XF-2025-000417");
    assert_eq!(
        find_one(&ui, "状态 XF-2026-000502")
            .accessible_value()
            .as_deref(),
        Some("办理中")
    );
    assert_eq!(press(&ui, &log, "完成"), ["done"]);
}

#[test]
fn the_empty_and_offline_notes_are_shown() {
    let ui = new_window(PORTRAIT);
    crate::support::fill_specimen(&ui);
    let intake = ui.global::<Intake>();
    intake.set_progress(slint::ModelRc::new(slint::VecModel::from(Vec::<
        kiosk_ui::ProgressRow,
    >::new())));
    intake.set_history_note("您还没有登记记录".into());
    intake.set_screen(Screen::Progress);
    assert_eq!(
        find_one(&ui, "progress-note").accessible_value().as_deref(),
        Some("您还没有登记记录")
    );
}

#[test]
fn a_score_and_a_reason_are_chosen_by_label_then_submitted() {
    let ui = new_window(PORTRAIT);
    let log = record_callbacks(&ui);
    crate::support::fill_specimen(&ui);
    ui.global::<Intake>().set_screen(Screen::Rating);
    for n in 1..=5 {
        button(&ui, &format!("评分 {n}"));
    }
    assert_eq!(press(&ui, &log, "评分 4"), ["choose-score(4)"]);
    assert_eq!(press(&ui, &log, "问题已解决"), ["toggle-reason(resolved)"]);
    assert_eq!(press(&ui, &log, "提交评价"), ["submit-rating"]);
    assert_eq!(press(&ui, &log, "返回"), ["back"]);
    ui.global::<Intake>().set_rating_sending(true);
    assert!(
        press(&ui, &log, "提交评价").is_empty(),
        "no second submit while saving"
    );
}

#[test]
fn a_notice_has_its_print_button_and_a_case_without_one_has_none() {
    let ui = new_window(PORTRAIT);
    let log = record_callbacks(&ui);
    crate::support::fill_specimen(&ui);
    ui.global::<Intake>().set_screen(Screen::Progress);
    assert_eq!(
        press(&ui, &log, "打印告知书 XF-2026-000311"),
        ["print-notice(XF-2026-000311)"]
    );
    assert!(
        find(&ui, "打印告知书 XF-2026-000502").is_empty(),
        "no notice, nothing to print"
    );
}
