//! The description keyboard, the phone pad and the review's "修改" buttons
//! fire their `Intake` callbacks, found by their accessible labels.

use std::cell::RefCell;
use std::rc::Rc;

use kiosk_ui::{AppWindow, Intake, Screen};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use crate::support::{button, find, find_one, new_window, press, record_callbacks, PORTRAIT};

/// `record_callbacks` plus the callbacks of the keyboards, into the same log.
fn record_typing(ui: &AppWindow) -> Rc<RefCell<Vec<String>>> {
    let log = record_callbacks(ui);
    let g = ui.global::<Intake>();
    macro_rules! plain {
        ($($on:ident => $name:literal),* $(,)?) => {$({
            let log = log.clone();
            g.$on(move || log.borrow_mut().push($name.to_string()));
        })*};
    }
    plain!(
        on_ime_backspace => "ime-backspace",
        on_ime_space => "ime-space",
        on_skip_description => "skip-description",
        on_finish_description => "finish-description",
        on_confirm_phone => "confirm-phone",
        on_no_phone => "no-phone",
        on_edit_description => "edit-description",
        on_edit_phone => "edit-phone",
    );
    let l = log.clone();
    g.on_ime_key(move |k| l.borrow_mut().push(format!("ime-key({k})")));
    let l = log.clone();
    g.on_ime_pick(move |i| l.borrow_mut().push(format!("ime-pick({i})")));
    let l = log.clone();
    g.on_ime_page(move |d| l.borrow_mut().push(format!("ime-page({d})")));
    let l = log.clone();
    g.on_phone_key(move |k| l.borrow_mut().push(format!("phone-key({k})")));
    let l = log.clone();
    g.on_no_phone_answer(move |b| l.borrow_mut().push(format!("no-phone-answer({b})")));
    log
}

#[test]
fn keyboard_keys_and_candidates_report_what_was_pressed() {
    let ui = new_window(PORTRAIT);
    let log = record_typing(&ui);
    let g = ui.global::<Intake>();
    g.set_screen(Screen::Describe);
    assert_eq!(
        find_one(&ui, "screen-title").accessible_value().as_deref(),
        Some("简要说明您的诉求（可不填）")
    );
    assert_eq!(press(&ui, &log, "键 g"), ["ime-key(g)"]);
    assert_eq!(press(&ui, &log, "键 ，"), ["ime-key(，)"]);
    assert_eq!(press(&ui, &log, "键 退格"), ["ime-backspace"]);
    assert_eq!(press(&ui, &log, "键 空格"), ["ime-space"]);
    assert_eq!(press(&ui, &log, "键 完成"), ["finish-description"]);
    assert_eq!(press(&ui, &log, "跳过"), ["skip-description"]);
    assert!(find(&ui, "下一步").is_empty(), "nothing written: skip only");
    assert_eq!(
        button(&ui, "候选 下一页").accessible_enabled(),
        Some(false),
        "no pages without pinyin"
    );

    let words: Vec<SharedString> = vec!["工资".into(), "公子".into()];
    g.set_ime_candidates(ModelRc::new(VecModel::from(words)));
    g.set_ime_preedit("gong zi".into());
    g.set_ime_has_next(true);
    assert_eq!(
        find_one(&ui, "ime-preedit").accessible_value().as_deref(),
        Some("gong zi")
    );
    assert_eq!(press(&ui, &log, "候选 公子"), ["ime-pick(1)"]);
    assert_eq!(press(&ui, &log, "候选 下一页"), ["ime-page(1)"]);
    assert_eq!(press(&ui, &log, "下一步"), ["finish-description"]);
    assert!(find(&ui, "跳过").is_empty());

    assert_eq!(press(&ui, &log, "键 123"), Vec::<String>::new());
    assert_eq!(press(&ui, &log, "键 5"), ["ime-key(5)"]);
    assert_eq!(press(&ui, &log, "键 ？"), ["ime-key(？)"]);
    assert!(find(&ui, "键 q").is_empty(), "digits replace the letters");
    press(&ui, &log, "键 拼音");
    assert_eq!(press(&ui, &log, "键 q"), ["ime-key(q)"]);
    assert_eq!(press(&ui, &log, "返回"), ["back"]);
    assert_eq!(press(&ui, &log, "取消"), ["cancel"]);
}

#[test]
fn phone_pad_and_the_no_phone_question() {
    let ui = new_window(PORTRAIT);
    let log = record_typing(&ui);
    let g = ui.global::<Intake>();
    g.set_screen(Screen::Phone);
    for d in 0..=9 {
        assert_eq!(
            press(&ui, &log, &format!("数字 {d}")),
            [format!("phone-key({d})")]
        );
    }
    assert_eq!(press(&ui, &log, "数字 退格"), ["phone-key(backspace)"]);
    assert_eq!(press(&ui, &log, "数字 清空"), ["phone-key(clear)"]);
    assert_eq!(press(&ui, &log, "下一步"), ["confirm-phone"]);
    assert_eq!(press(&ui, &log, "不留电话"), ["no-phone"]);
    g.set_phone("138 1234 5678".into());
    assert_eq!(
        find_one(&ui, "phone").accessible_value().as_deref(),
        Some("138 1234 5678")
    );

    g.set_confirm_no_phone(true);
    assert!(
        find(&ui, "数字 5").is_empty(),
        "the question replaces the pad"
    );
    assert_eq!(
        find_one(&ui, "no-phone-question")
            .accessible_value()
            .as_deref(),
        Some("确定不留电话吗？")
    );
    assert_eq!(press(&ui, &log, "确定不留"), ["no-phone-answer(true)"]);
    assert_eq!(press(&ui, &log, "返回填写"), ["no-phone-answer(false)"]);
}

#[test]
fn review_shows_description_and_masked_phone_with_edit_buttons() {
    let ui = new_window(PORTRAIT);
    let log = record_typing(&ui);
    let g = ui.global::<Intake>();
    g.set_screen(Screen::Review);
    assert_eq!(
        find_one(&ui, "description").accessible_value().as_deref(),
        Some("未填写")
    );
    assert_eq!(
        find_one(&ui, "phone-masked").accessible_value().as_deref(),
        Some("未留电话")
    );
    g.set_description("拖欠工资".into());
    g.set_phone_masked("138****5678".into());
    assert_eq!(
        find_one(&ui, "description").accessible_value().as_deref(),
        Some("拖欠工资")
    );
    assert_eq!(
        find_one(&ui, "phone-masked").accessible_value().as_deref(),
        Some("138****5678")
    );
    assert_eq!(press(&ui, &log, "修改说明"), ["edit-description"]);
    assert_eq!(press(&ui, &log, "修改电话"), ["edit-phone"]);
}
