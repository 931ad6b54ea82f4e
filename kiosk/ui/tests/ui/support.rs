//! Shared set-up for the UI tests: the headless platform, SPECIMEN data, a
//! callback recorder and element look-ups by accessible label.

use std::cell::RefCell;
use std::rc::Rc;

use i_slint_backend_testing::{
    AccessibleRole, ElementHandle, ElementRoot, TestingBackend, TestingBackendOptions,
};
use kiosk_ui::{
    AppWindow, CategoryTile, HistoryRow, Intake, PageText, PageThumb, QueueRowView, Screen,
    ProvisionRow, StatusRow, TechnicianView,
};
use slint::{
    ComponentHandle, Image, ModelRc, PhysicalSize, Rgba8Pixel, SharedPixelBuffer, VecModel,
};

pub const PORTRAIT: PhysicalSize = PhysicalSize {
    width: 1080,
    height: 1920,
};
pub const LANDSCAPE: PhysicalSize = PhysicalSize {
    width: 1920,
    height: 1080,
};

/// The ids of the SPECIMEN pages, in order.
pub const PAGE_IDS: [i32; 3] = [11, 12, 13];
pub const CASE_NUMBER: &str = "XF-2026-000001";
pub const LOCAL_REF: &str = "KD-0317-0042";

/// Installs the testing platform on this test's thread and creates the window.
///
/// Every test runs on its own thread with its own platform; without an event
/// loop the tests drive the UI by calling into it directly. The software
/// renderer makes `take_snapshot` work headless.
pub fn new_window(size: PhysicalSize) -> AppWindow {
    // A second call on the same thread (with `--test-threads=1`) finds the
    // platform already installed, which is fine.
    let _ = slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: true,
        threading: false,
        renderer_name: Some("software".into()),
    })));
    let ui = AppWindow::new().expect("the window is created");
    ui.window().set_size(size);
    ui.show().expect("the window is shown");
    fill_specimen(&ui);
    ui
}

/// A solid-colour image.
pub fn solid(width: u32, height: u32, rgb: [u8; 3]) -> Image {
    let mut buf = SharedPixelBuffer::<Rgba8Pixel>::new(width, height);
    for px in buf.make_mut_slice() {
        *px = Rgba8Pixel {
            r: rgb[0],
            g: rgb[1],
            b: rgb[2],
            a: 255,
        };
    }
    Image::from_rgba8(buf)
}

/// A stand-in for the document camera's picture: a sheet with lines of text on a desk.
fn preview_image() -> Image {
    let (w, h) = (640u32, 360u32);
    let mut buf = SharedPixelBuffer::<Rgba8Pixel>::new(w, h);
    let desk = Rgba8Pixel {
        r: 92,
        g: 84,
        b: 74,
        a: 255,
    };
    let paper = Rgba8Pixel {
        r: 246,
        g: 244,
        b: 238,
        a: 255,
    };
    let ink = Rgba8Pixel {
        r: 70,
        g: 74,
        b: 84,
        a: 255,
    };
    let pixels = buf.make_mut_slice();
    for y in 0..h {
        for x in 0..w {
            let on_paper = (200..440).contains(&x) && (30..330).contains(&y);
            let line = (60..300).contains(&y) && (y - 60) % 26 < 7 && (230..410).contains(&x);
            pixels[(y * w + x) as usize] = if on_paper && line {
                ink
            } else if on_paper {
                paper
            } else {
                desk
            };
        }
    }
    Image::from_rgba8(buf)
}

fn history_row(case_number: &str, date: &str, category: &str, status: &str) -> HistoryRow {
    HistoryRow {
        case_number: case_number.into(),
        date: date.into(),
        category: category.into(),
        status: status.into(),
    }
}

fn queue_row(local_ref: &str, status: &str, case: &str, reason: &str, failed: bool) -> QueueRowView {
    QueueRowView {
        local_ref: local_ref.into(),
        when: "2026-03-17 09:42".into(),
        category: "拖欠工资".into(),
        masked_id: "****************2X".into(),
        status: status.into(),
        case_number: case.into(),
        reason: reason.into(),
        failed,
    }
}

fn tile(code: &str, label: &str, glyph: &str) -> CategoryTile {
    CategoryTile {
        code: code.into(),
        label: label.into(),
        glyph: glyph.into(),
    }
}

/// Fills every `Intake` property with SPECIMEN data (no real person).
pub fn fill_specimen(ui: &AppWindow) {
    let intake = ui.global::<Intake>();
    intake.set_hall_name("示范镇便民服务中心".into());
    intake.set_person_name("测试样例".into());
    intake.set_id_masked("1101**********002X".into());
    intake.set_id_warning("".into());
    intake.set_document_label("居民身份证".into());
    intake.set_history_loading(false);
    intake.set_history_held(false);
    intake.set_history_note("".into());
    intake.set_history(ModelRc::new(VecModel::from(vec![
        history_row("XF-2025-000417", "2025-11-03", "土地征收", "办理中"),
        history_row("XF-2024-001208", "2024-06-18", "拖欠工资", "已办结"),
    ])));
    intake.set_categories(ModelRc::new(VecModel::from(vec![
        tile("land", "土地征收", "地"),
        tile("housing", "房屋拆迁", "房"),
        tile("wages", "拖欠工资", "薪"),
        tile("social", "社保医保", "保"),
        tile("legal", "涉法涉诉", "法"),
        tile("neighbour", "邻里纠纷", "邻"),
        tile("conduct", "干部作风", "干"),
        tile("environment", "环境污染", "环"),
        tile("unsure", "不确定", "？"),
    ])));
    intake.set_category_label("土地征收".into());
    intake.set_preview(preview_image());
    let colours = [[236, 232, 220], [222, 232, 242], [238, 226, 232]];
    let statuses = ["已识别", "已识别", "识别中…"];
    intake.set_pages(ModelRc::new(VecModel::from(
        PAGE_IDS
            .iter()
            .zip(colours)
            .zip(statuses)
            .map(|((&id, rgb), status)| PageThumb {
                id,
                thumb: solid(120, 160, rgb),
                status: status.into(),
            })
            .collect::<Vec<_>>(),
    )));
    intake.set_capture_busy(false);
    intake.set_case_number(CASE_NUMBER.into());
    intake.set_local_ref(LOCAL_REF.into());
    intake.set_queued_offline(false);
    intake.set_seconds_left(0);
    intake.set_still_there(false);
    intake.set_staff_mode(0);
    intake.set_ticket("".into());
    intake.set_assisted(false);
    intake.set_queue_rows(ModelRc::new(VecModel::from(vec![
        queue_row("KD-0317-0044", "等待发送", "", "", false),
        queue_row("KD-0317-0043", "发送失败", "", "登记系统拒收：材料超过大小限制", true),
        queue_row("KD-0317-0042", "已送达", CASE_NUMBER, "", false),
    ])));
    intake.set_page_texts(ModelRc::new(VecModel::from(vec![PageText {
        id: PAGE_IDS[0],
        number: 1,
        text: "本人在示范镇工地务工，被拖欠工资十八万元，多次讨要未果。".into(),
        doubtful: ModelRc::new(VecModel::from(vec!["十八".into(), "讨要".into()])),
    }])));
    intake.set_message("".into());
    intake.set_message_is_error(false);
    intake.set_demo(false);
    intake.set_technician(specimen_technician());
    intake.set_description("".into());
    intake.set_voice_available(false);
    intake.set_voice_state(0);
    intake.set_voice_level(0.0);
    intake.set_voice_time("".into());
    intake.set_voice_limit("".into());
    intake.set_voice_playing(false);
    intake.set_ime_preedit("".into());
    intake.set_ime_candidates(Default::default());
    intake.set_ime_has_prev(false);
    intake.set_ime_has_next(false);
    intake.set_phone("".into());
    intake.set_phone_masked("".into());
    intake.set_phone_valid(false);
    intake.set_confirm_no_phone(false);
    intake.set_found_phone("".into());
    intake.set_open_case("".into());
    intake.set_found_phone_masked("".into());
    // Set by some shots; the next shot starts without them.
    intake.set_suggestion("".into());
    intake.set_repeat_question("".into());
    intake.set_repeat_answer(0);
    fill_progress(&intake);
    intake.set_screen(Screen::Welcome);
}

/// SPECIMEN progress rows (one closed to rate, one rated, one open) and an empty rating.
pub fn fill_progress(intake: &Intake) {
    let row = |case: &str, date: &str, category: &str, status: &str, can_rate, rated| {
        kiosk_ui::ProgressRow {
            case_number: case.into(),
            date: date.into(),
            category: category.into(),
            status: status.into(),
            can_rate,
            rated,
            notice_title: "".into(),
            notice_text: "".into(),
        }
    };
    let answered = kiosk_ui::ProgressRow {
        notice_title: "答复意见书".into(),
        notice_text: "样本：您于2026-09-14提出的信访事项（编号 XF-2026-000311），经人力资源和社会保障局调查核实，现答复如下：已督促用人单位支付拖欠工资。".into(),
        ..row("XF-2026-000311", "2026-09-14", "拖欠工资", "已办结", true, false)
    };
    intake.set_progress(ModelRc::new(VecModel::from(vec![
        answered,
        row("XF-2025-000417", "2025-11-03", "土地征收", "已办结", false, true),
        row("XF-2026-000502", "2026-11-20", "邻里纠纷", "办理中", false, false),
    ])));
    intake.set_query_mode(false);
    intake.set_rating_case("XF-2026-000311".into());
    intake.set_rating_score(0);
    intake.set_rating_sending(false);
    let chips = [
        ("timely", "办理及时"),
        ("courteous", "态度好"),
        ("resolved", "问题已解决"),
        ("slow", "办理太慢"),
        ("unresolved", "问题没解决"),
        ("discourteous", "态度不好"),
    ];
    intake.set_rating_reasons(ModelRc::new(VecModel::from(
        chips
            .iter()
            .map(|(code, label)| kiosk_ui::ReasonChip {
                code: (*code).into(),
                label: (*label).into(),
                on: false,
            })
            .collect::<Vec<_>>(),
    )));
}

/// The technician screen of a terminal whose printer is out of paper.
pub fn specimen_technician() -> TechnicianView {
    let rows = [
        (0, "读卡器：已连接（串口 /dev/ttyUSB0）"),
        (0, "摄像头：正常，清晰度 3214（合格线 200）"),
        (2, "打印机：缺纸"),
        (0, "登记系统：已连接（12 秒前），时钟一致"),
        (1, "待发队列：3 条待发送，最早一条等了 12 分钟；1 条失败待处理（kiosk queue）"),
        (0, "存储空间：剩余 12034 MB（下限 200 MB）"),
        (0, "软件：版本 0.1.0；终端 demo-01（示范镇便民服务中心）"),
    ];
    TechnicianView {
        rows: ModelRc::new(VecModel::from(
            rows.iter()
                .map(|(mark, text)| StatusRow {
                    mark: *mark,
                    text: (*text).into(),
                })
                .collect::<Vec<_>>(),
        )),
        focus: "清晰度 3214（合格线 200）".into(),
        notice: "".into(),
        notice_is_error: false,
        exporting: false,
        ..TechnicianView::default()
    }
}

/// The technician screen with a provisioning file staged from a stick.
pub fn specimen_technician_provision() -> TechnicianView {
    let rows = [
        ("终端编号", "demo-01", "demo-01"),
        ("服务大厅", "示范镇便民服务中心", "西坡乡便民服务中心"),
        ("登记系统地址", "https://registry.example.gov.cn:8443", "https://registry.example.gov.cn:8443"),
        ("登记系统证书", "5e0b 71c2 9a4d 0f13", "5e0b 71c2 9a4d 0f13"),
        ("封存公钥", "c3a1 88f0 2d6e 4b97", "7d20 e5aa 13c8 90f1"),
        ("本机证书", "a9f4 0c3e 6b12 d857", "a9f4 0c3e 6b12 d857"),
    ];
    TechnicianView {
        provision_pending: true,
        provision_sha256: "0".repeat(64).into(),
        provision_about: "编号 1767225600（现为 1764547200），签名密钥 3f2a 9c1d 77b0 e412".into(),
        provision_rows: ModelRc::new(VecModel::from(
            rows.iter()
                .map(|(label, old, new)| ProvisionRow {
                    label: (*label).into(),
                    old: (*old).into(),
                    new: (*new).into(),
                    changed: old != new,
                })
                .collect::<Vec<_>>(),
        )),
        ..specimen_technician()
    }
}

/// The technician screen with a software update staged from a stick.
pub fn specimen_technician_update() -> TechnicianView {
    TechnicianView {
        update_pending: true,
        update_sha256: "0".repeat(64).into(),
        update_about: "版本 1.2.0（现为 1.1.0），412 MB，签名：O = 示范县, CN = 示范县 kiosk update signing".into(),
        ..specimen_technician()
    }
}

/// Records every `Intake` callback as a line such as `choose-category(land)`.
pub fn record_callbacks(ui: &AppWindow) -> Rc<RefCell<Vec<String>>> {
    let log = Rc::new(RefCell::new(Vec::new()));
    let intake = ui.global::<Intake>();
    macro_rules! record {
        ($($on:ident => $name:literal),* $(,)?) => {$({
            let log = log.clone();
            intake.$on(move || log.borrow_mut().push($name.to_string()));
        })*};
    }
    record!(
        on_start => "start",
        on_staff_entry => "staff-entry",
        on_clerk_register => "clerk-register",
        on_clerk_manual => "clerk-manual",
        on_clerk_queue => "clerk-queue",
        on_leave_staff => "leave-staff",
        on_still_here => "still-here",
        on_confirm_identity => "confirm-identity",
        on_confirm_presence => "confirm-presence",
        on_capture => "capture",
        on_finish_capture => "finish-capture",
        on_submit => "submit",
        on_back => "back",
        on_cancel => "cancel",
        on_done => "done",
        on_demo_insert_card => "demo-insert-card",
        on_demo_remove_card => "demo-remove-card",
        on_export_diagnostics => "export-diagnostics",
        on_test_print => "test-print",
        on_leave_staff => "leave-staff",
        on_query_start => "query-start",
        on_submit_rating => "submit-rating",
    );
    {
        let log = log.clone();
        intake.on_rate_case(move |c| log.borrow_mut().push(format!("rate-case({c})")));
    }
    {
        let log = log.clone();
        intake.on_print_notice(move |c| log.borrow_mut().push(format!("print-notice({c})")));
    }
    {
        let log = log.clone();
        intake.on_choose_score(move |n| log.borrow_mut().push(format!("choose-score({n})")));
    }
    {
        let log = log.clone();
        intake.on_toggle_reason(move |c| log.borrow_mut().push(format!("toggle-reason({c})")));
    }
    {
        let log = log.clone();
        intake.on_choose_category(move |code| {
            log.borrow_mut().push(format!("choose-category({code})"))
        });
    }
    {
        let log = log.clone();
        intake.on_delete_page(move |id| log.borrow_mut().push(format!("delete-page({id})")));
    }
    {
        let log = log.clone();
        intake.on_staff_pin(move |pin| log.borrow_mut().push(format!("staff-pin({pin})")));
    }
    {
        let log = log.clone();
        intake.on_manual_identity(move |id, name| {
            log.borrow_mut().push(format!("manual-identity({id},{name})"))
        });
    }
    {
        let log = log.clone();
        intake.on_resend(move |r| log.borrow_mut().push(format!("resend({r})")));
    }
    {
        let log = log.clone();
        intake.on_reprint(move |r| log.borrow_mut().push(format!("reprint({r})")));
    }
    log
}

/// All elements with this accessible label.
pub fn find(ui: &AppWindow, label: &str) -> Vec<ElementHandle> {
    ElementHandle::find_by_accessible_label(ui, label).collect()
}

/// The one element with this accessible label; panics if there is none or more than one.
pub fn find_one(ui: &AppWindow, label: &str) -> ElementHandle {
    let mut found = find(ui, label);
    assert_eq!(
        found.len(),
        1,
        "expected exactly one element labelled {label:?}, found {}",
        found.len()
    );
    found.remove(0)
}

/// The one button with this accessible label.
pub fn button(ui: &AppWindow, label: &str) -> ElementHandle {
    let found: Vec<_> = find(ui, label)
        .into_iter()
        .filter(|e| e.accessible_role() == Some(AccessibleRole::Button))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected exactly one button labelled {label:?}, found {}",
        found.len()
    );
    found.into_iter().next().unwrap()
}

/// Presses the button with this label through its accessible default action and
/// returns the callbacks it fired.
pub fn press(ui: &AppWindow, log: &Rc<RefCell<Vec<String>>>, label: &str) -> Vec<String> {
    log.borrow_mut().clear();
    button(ui, label).invoke_accessible_default_action();
    std::mem::take(&mut *log.borrow_mut())
}

/// Every button on the current screen.
pub fn all_buttons(ui: &AppWindow) -> Vec<ElementHandle> {
    ui.root_element()
        .query_descendants()
        .match_accessible_role(AccessibleRole::Button)
        .find_all()
}
