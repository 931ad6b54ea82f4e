//! Every labelled button fires its `Intake` callback, disabled buttons fire
//! nothing, and the key texts show the values the app sets.

use kiosk_ui::{Intake, Screen};
use slint::ComponentHandle;

use crate::support::{
    button, find, find_one, new_window, press, record_callbacks, CASE_NUMBER, LOCAL_REF, PAGE_IDS,
    PORTRAIT,
};

#[test]
fn welcome_start_button_starts() {
    let ui = new_window(PORTRAIT);
    let log = record_callbacks(&ui);
    ui.global::<Intake>().set_screen(Screen::Welcome);
    assert_eq!(press(&ui, &log, "开始登记"), ["start"]);
    assert!(
        find(&ui, "取消").is_empty(),
        "the welcome screen has nothing to cancel"
    );
}

#[test]
fn card_screen_can_be_cancelled() {
    let ui = new_window(PORTRAIT);
    let log = record_callbacks(&ui);
    ui.global::<Intake>().set_screen(Screen::Card);
    assert_eq!(press(&ui, &log, "取消"), ["cancel"]);
}

#[test]
fn identity_screen_confirms_and_cancels() {
    let ui = new_window(PORTRAIT);
    let log = record_callbacks(&ui);
    ui.global::<Intake>().set_screen(Screen::Identity);
    assert_eq!(press(&ui, &log, "确认身份"), ["confirm-identity"]);
    assert_eq!(press(&ui, &log, "取消"), ["cancel"]);
    assert_eq!(
        find_one(&ui, "person-name").accessible_value().as_deref(),
        Some("测试样例")
    );
    assert_eq!(
        find_one(&ui, "id-masked").accessible_value().as_deref(),
        Some("1101**********002X")
    );
    assert_eq!(
        find_one(&ui, "history-heading")
            .accessible_value()
            .as_deref(),
        Some("您以前的登记")
    );
    // Both SPECIMEN rows are listed.
    assert_eq!(find(&ui, "登记编号 XF-2025-000417").len(), 1);
    assert_eq!(find(&ui, "登记编号 XF-2024-001208").len(), 1);
}

#[test]
fn identity_screen_shows_loading_note_and_warning() {
    let ui = new_window(PORTRAIT);
    let intake = ui.global::<Intake>();
    intake.set_screen(Screen::Identity);
    intake.set_history_loading(true);
    assert_eq!(find(&ui, "正在查询…").len(), 1);
    assert!(
        find(&ui, "登记编号 XF-2025-000417").is_empty(),
        "rows are hidden while loading"
    );

    intake.set_history_loading(false);
    intake.set_history(Default::default());
    intake.set_history_note("首次登记".into());
    intake.set_id_warning("证件号码校验未通过，请工作人员核对".into());
    assert_eq!(
        find_one(&ui, "history-note").accessible_value().as_deref(),
        Some("首次登记")
    );
    assert_eq!(
        find_one(&ui, "id-warning").accessible_value().as_deref(),
        Some("证件号码校验未通过，请工作人员核对")
    );
}

#[test]
fn category_tiles_choose_their_code() {
    let ui = new_window(PORTRAIT);
    let log = record_callbacks(&ui);
    ui.global::<Intake>().set_screen(Screen::Category);
    assert_eq!(press(&ui, &log, "土地征收"), ["choose-category(land)"]);
    assert_eq!(press(&ui, &log, "不确定"), ["choose-category(unsure)"]);
    assert_eq!(press(&ui, &log, "返回"), ["back"]);
    assert_eq!(press(&ui, &log, "取消"), ["cancel"]);
}

#[test]
fn capture_screen_buttons() {
    let ui = new_window(PORTRAIT);
    let log = record_callbacks(&ui);
    let intake = ui.global::<Intake>();
    intake.set_screen(Screen::Capture);
    assert_eq!(press(&ui, &log, "拍照"), ["capture"]);
    assert_eq!(
        press(&ui, &log, "删除第1页"),
        [format!("delete-page({})", PAGE_IDS[0])]
    );
    assert_eq!(
        press(&ui, &log, "删除第3页"),
        [format!("delete-page({})", PAGE_IDS[2])]
    );
    assert_eq!(press(&ui, &log, "拍完了"), ["finish-capture"]);
    assert_eq!(press(&ui, &log, "返回"), ["back"]);
    assert_eq!(press(&ui, &log, "取消"), ["cancel"]);
    assert_eq!(
        find_one(&ui, "page-count").accessible_value().as_deref(),
        Some("3")
    );
}

#[test]
fn capture_button_is_disabled_while_busy() {
    let ui = new_window(PORTRAIT);
    let log = record_callbacks(&ui);
    let intake = ui.global::<Intake>();
    intake.set_screen(Screen::Capture);
    intake.set_capture_busy(true);
    let capture = button(&ui, "拍照");
    assert_eq!(capture.accessible_enabled(), Some(false));
    assert_eq!(press(&ui, &log, "拍照"), Vec::<String>::new());
    assert_eq!(
        find(&ui, "处理中…").len(),
        0,
        "the busy caption is not a second label"
    );

    intake.set_capture_busy(false);
    assert_eq!(button(&ui, "拍照").accessible_enabled(), Some(true));
}

#[test]
fn finish_needs_at_least_one_page() {
    let ui = new_window(PORTRAIT);
    let log = record_callbacks(&ui);
    let intake = ui.global::<Intake>();
    intake.set_screen(Screen::Capture);
    intake.set_pages(Default::default());
    assert_eq!(button(&ui, "拍完了").accessible_enabled(), Some(false));
    assert_eq!(press(&ui, &log, "拍完了"), Vec::<String>::new());
    assert!(find(&ui, "删除第1页").is_empty());
}

#[test]
fn review_screen_submits() {
    let ui = new_window(PORTRAIT);
    let log = record_callbacks(&ui);
    ui.global::<Intake>().set_screen(Screen::Review);
    assert_eq!(
        find_one(&ui, "person-name").accessible_value().as_deref(),
        Some("测试样例")
    );
    assert_eq!(
        find_one(&ui, "category-label")
            .accessible_value()
            .as_deref(),
        Some("土地征收")
    );
    assert_eq!(
        find_one(&ui, "page-count").accessible_value().as_deref(),
        Some("共 3 页")
    );
    assert!(
        find(&ui, "删除第1页").is_empty(),
        "pages are not deleted on the review screen"
    );
    assert_eq!(press(&ui, &log, "提交登记"), ["submit"]);
    assert_eq!(press(&ui, &log, "返回"), ["back"]);
    assert_eq!(press(&ui, &log, "取消"), ["cancel"]);
}

#[test]
fn receipt_shows_the_case_number() {
    let ui = new_window(PORTRAIT);
    let log = record_callbacks(&ui);
    let intake = ui.global::<Intake>();
    intake.set_screen(Screen::Receipt);
    intake.set_seconds_left(30);
    assert_eq!(
        find_one(&ui, "case-number").accessible_value().as_deref(),
        Some(CASE_NUMBER)
    );
    assert_eq!(
        find_one(&ui, "screen-title").accessible_value().as_deref(),
        Some("登记成功")
    );
    assert_eq!(
        find_one(&ui, "seconds-left").accessible_value().as_deref(),
        Some("30")
    );
    assert_eq!(press(&ui, &log, "完成"), ["done"]);

    intake.set_case_number("XF-2026-123456".into());
    assert_eq!(
        find_one(&ui, "case-number").accessible_value().as_deref(),
        Some("XF-2026-123456")
    );
}

#[test]
fn offline_receipt_shows_the_local_reference() {
    let ui = new_window(PORTRAIT);
    let intake = ui.global::<Intake>();
    intake.set_screen(Screen::Receipt);
    intake.set_case_number("".into());
    intake.set_queued_offline(true);
    assert!(find(&ui, "case-number").is_empty());
    assert_eq!(
        find_one(&ui, "local-ref").accessible_value().as_deref(),
        Some(LOCAL_REF)
    );
    assert_eq!(
        find_one(&ui, "screen-title").accessible_value().as_deref(),
        Some("已保存，联网后自动提交")
    );
}

#[test]
fn message_is_shown_on_the_current_screen() {
    let ui = new_window(PORTRAIT);
    let intake = ui.global::<Intake>();
    for screen in [
        Screen::Welcome,
        Screen::Card,
        Screen::Identity,
        Screen::Capture,
        Screen::Fault,
    ] {
        intake.set_screen(screen);
        intake.set_message("".into());
        assert!(
            find(&ui, "message").is_empty(),
            "{screen:?}: no message element when empty"
        );
        intake.set_message("未能读取证件，请重新放置".into());
        intake.set_message_is_error(true);
        assert_eq!(
            find_one(&ui, "message").accessible_value().as_deref(),
            Some("未能读取证件，请重新放置"),
            "{screen:?}"
        );
    }
}

#[test]
fn every_screen_has_one_title() {
    let ui = new_window(PORTRAIT);
    let intake = ui.global::<Intake>();
    let expected = [
        (Screen::Welcome, "在这里登记您反映的问题"),
        (Screen::Card, "请将身份证放在读卡区"),
        (Screen::Identity, "请核对您的身份"),
        (Screen::Category, "您反映的是哪方面的问题？"),
        (Screen::Capture, "请把材料平放在拍摄区"),
        (Screen::Review, "请确认以下信息"),
        (Screen::Submitting, "正在提交…"),
        (Screen::Receipt, "登记成功"),
        (Screen::Fault, "设备故障，请联系工作人员"),
    ];
    for (screen, title) in expected {
        intake.set_screen(screen);
        assert_eq!(
            find_one(&ui, "screen-title").accessible_value().as_deref(),
            Some(title),
            "{screen:?}"
        );
    }
}

#[test]
fn demo_panel_only_in_demo_mode() {
    let ui = new_window(PORTRAIT);
    let log = record_callbacks(&ui);
    let intake = ui.global::<Intake>();
    intake.set_screen(Screen::Card);
    assert!(find(&ui, "演示：放置身份证").is_empty());
    intake.set_demo(true);
    assert_eq!(press(&ui, &log, "演示：放置身份证"), ["demo-insert-card"]);
    assert_eq!(press(&ui, &log, "演示：取走身份证"), ["demo-remove-card"]);
}

#[test]
fn still_there_prompt_counts_down_and_answers() {
    let ui = new_window(PORTRAIT);
    let log = record_callbacks(&ui);
    let intake = ui.global::<Intake>();
    intake.set_screen(Screen::Category);
    intake.set_seconds_left(15);
    assert!(find(&ui, "still-there").is_empty());
    assert!(find(&ui, "seconds-left").is_empty());
    intake.set_still_there(true);
    find_one(&ui, "still-there");
    assert_eq!(
        find_one(&ui, "seconds-left").accessible_value().as_deref(),
        Some("15")
    );
    assert_eq!(press(&ui, &log, "我还在，继续"), ["still-here"]);
    assert_eq!(press(&ui, &log, "结束，清除我的信息"), ["cancel"]);
    intake.set_still_there(false);
    assert!(find(&ui, "still-there").is_empty());
}

#[test]
fn staff_pin_pad_sends_the_typed_pin_and_forgets_it() {
    let ui = new_window(PORTRAIT);
    let log = record_callbacks(&ui);
    let intake = ui.global::<Intake>();
    intake.set_screen(Screen::Welcome);
    assert_eq!(press(&ui, &log, "工作人员"), ["staff-entry"]);
    intake.set_screen(Screen::StaffLogin);
    for d in ["2", "4", "6", "8", "1", "0"] {
        press(&ui, &log, &format!("键 {d}"));
    }
    assert_eq!(
        find_one(&ui, "pin-length").accessible_value().as_deref(),
        Some("已输入 6 位")
    );
    assert_eq!(press(&ui, &log, "登录"), ["staff-pin(246810)"]);
    // The pad is empty again: a second press sends nothing.
    assert_eq!(
        find_one(&ui, "pin-length").accessible_value().as_deref(),
        Some("")
    );
    assert_eq!(press(&ui, &log, "登录"), Vec::<String>::new());
}

#[test]
fn clerk_menu_and_queue_view_buttons() {
    let ui = new_window(PORTRAIT);
    let log = record_callbacks(&ui);
    let intake = ui.global::<Intake>();
    intake.set_staff_mode(1);
    intake.set_screen(Screen::ClerkMenu);
    assert_eq!(press(&ui, &log, "代为登记（读身份证）"), ["clerk-register"]);
    assert_eq!(press(&ui, &log, "没有证件：手工录入"), ["clerk-manual"]);
    assert_eq!(press(&ui, &log, "本机登记队列"), ["clerk-queue"]);
    assert_eq!(press(&ui, &log, "退出工作人员模式"), ["leave-staff"]);

    intake.set_screen(Screen::QueueView);
    assert_eq!(
        find_one(&ui, "status KD-0317-0043").accessible_value().as_deref(),
        Some("发送失败")
    );
    assert!(find_one(&ui, "reason KD-0317-0043")
        .accessible_value()
        .is_some_and(|r| r.contains("大小限制")));
    assert_eq!(press(&ui, &log, "重新发送 KD-0317-0043"), ["resend(KD-0317-0043)"]);
    // Only failed registrations can be resent; any can be reprinted.
    assert!(find(&ui, "重新发送 KD-0317-0042").is_empty());
    assert_eq!(press(&ui, &log, "补打回执 KD-0317-0042"), ["reprint(KD-0317-0042)"]);
}

#[test]
fn manual_entry_needs_eighteen_characters_and_a_name() {
    let ui = new_window(PORTRAIT);
    let log = record_callbacks(&ui);
    let intake = ui.global::<Intake>();
    intake.set_staff_mode(1);
    intake.set_screen(Screen::ManualId);
    for c in "11010519491231002X".chars() {
        press(&ui, &log, &format!("键 {c}"));
    }
    assert_eq!(
        find_one(&ui, "typed-id").accessible_value().as_deref(),
        Some("11010519491231002X")
    );
    // No name yet: "下一步" is disabled.
    assert_eq!(press(&ui, &log, "下一步"), Vec::<String>::new());
    find_one(&ui, "typed-name").set_accessible_value("张三");
    assert_eq!(
        press(&ui, &log, "下一步"),
        ["manual-identity(11010519491231002X,张三)"]
    );
}

#[test]
fn the_clerk_sees_doubtful_words_and_can_edit_the_text() {
    let ui = new_window(PORTRAIT);
    let intake = ui.global::<Intake>();
    let edits = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    {
        let edits = edits.clone();
        intake.on_edit_page_text(move |id, text| edits.borrow_mut().push((id, text.to_string())));
    }
    intake.set_screen(Screen::Review);
    assert!(find(&ui, "page-text 1").is_empty(), "petitioners see no editor");
    intake.set_staff_mode(1);
    let words: Vec<String> = find(&ui, "doubtful")
        .iter()
        .filter_map(|e| e.accessible_value().map(|v| v.to_string()))
        .collect();
    assert_eq!(words, ["十八", "讨要"]);
    let editor = find(&ui, "page-text 1");
    assert!(!editor.is_empty());
    editor[0].set_accessible_value("被拖欠工资十九万元");
    assert_eq!(
        edits.borrow().last().cloned(),
        Some((PAGE_IDS[0], "被拖欠工资十九万元".to_string()))
    );
}

#[test]
fn technician_screen_buttons_and_rows() {
    let ui = new_window(PORTRAIT);
    let log = record_callbacks(&ui);
    let intake = ui.global::<Intake>();
    intake.set_screen(Screen::Technician);
    assert_eq!(press(&ui, &log, "导出诊断包"), ["export-diagnostics"]);
    assert_eq!(press(&ui, &log, "测试打印"), ["test-print"]);
    assert_eq!(press(&ui, &log, "返回"), ["leave-staff"]);
    assert_eq!(
        find_one(&ui, "打印机：缺纸").accessible_value().as_deref(),
        Some("bad")
    );
    assert_eq!(
        find_one(&ui, "读卡器：已连接（串口 /dev/ttyUSB0）")
            .accessible_value()
            .as_deref(),
        Some("ok")
    );
    // While a bundle is written the button waits.
    let mut t = crate::support::specimen_technician();
    t.exporting = true;
    intake.set_technician(t);
    assert_eq!(press(&ui, &log, "导出诊断包"), Vec::<String>::new());
}

#[test]
fn the_fault_screen_can_start_over() {
    let ui = new_window(PORTRAIT);
    let log = record_callbacks(&ui);
    let intake = ui.global::<Intake>();
    intake.set_screen(Screen::Fault);
    assert_eq!(press(&ui, &log, "回到首页"), ["done"]);
}

#[test]
fn a_phone_found_on_the_papers_is_used_with_one_tap() {
    let ui = new_window(PORTRAIT);
    let intake = ui.global::<Intake>();
    let used = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    {
        let used = used.clone();
        intake.on_use_found_phone(move |d| used.borrow_mut().push(d.to_string()));
    }
    intake.set_screen(Screen::Phone);
    assert!(find(&ui, "使用材料上的号码").is_empty());
    intake.set_found_phone("13912345678".into());
    intake.set_found_phone_masked("139****5678".into());
    button(&ui, "使用材料上的号码").invoke_accessible_default_action();
    assert_eq!(*used.borrow(), ["13912345678"]);
}

#[test]
fn an_open_case_can_take_the_papers() {
    let ui = new_window(PORTRAIT);
    let intake = ui.global::<Intake>();
    let chosen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    {
        let chosen = chosen.clone();
        intake.on_supplement(move |c| chosen.borrow_mut().push(c.to_string()));
    }
    intake.set_screen(Screen::Identity);
    assert!(find(&ui, "补充材料").is_empty());
    intake.set_open_case("XF-2025-000003".into());
    button(&ui, "补充材料").invoke_accessible_default_action();
    assert_eq!(*chosen.borrow(), ["XF-2025-000003"]);
}

#[test]
fn a_typed_identity_shows_its_history_only_after_the_clerk_confirms_presence() {
    let ui = new_window(PORTRAIT);
    let intake = ui.global::<Intake>();
    let pressed = std::rc::Rc::new(std::cell::Cell::new(0));
    {
        let pressed = pressed.clone();
        intake.on_confirm_presence(move || pressed.set(pressed.get() + 1));
    }
    intake.set_screen(Screen::Identity);
    assert!(find(&ui, "本人在场").is_empty(), "a card read shows no such button");
    intake.set_history(Default::default());
    intake.set_history_held(true);
    assert!(!find(&ui, "history-held").is_empty(), "the screen says why");
    button(&ui, "本人在场").invoke_accessible_default_action();
    assert_eq!(pressed.get(), 1);
}
