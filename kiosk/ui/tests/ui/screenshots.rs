//! Renders every screen with SPECIMEN data in portrait and landscape, checks
//! that every touch target is large and on screen, and compares each picture
//! with its committed reference in `kiosk/ui/screenshots/`, so that a change
//! nobody meant is seen.
//!
//! Rendering is deterministic (mock time, the software renderer, the system's
//! Noto Sans CJK); the comparison still tolerates anti-aliasing: a pixel
//! differs when a channel moves by more than [`PIXEL_TOLERANCE`], and a picture
//! differs when more than [`AREA_TOLERANCE`] of its pixels do. On a difference
//! the new picture is written next to the build (the failure names the path).
//! `make screenshots` (`UPDATE_SCREENSHOTS=1`) rewrites the references after a
//! deliberate change: look at each changed PNG before committing it.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Duration;

use i_slint_backend_testing::ElementHandle;
use kiosk_ui::{AppWindow, HistoryRow, Intake, Screen};
use slint::{ComponentHandle, ModelRc, PhysicalSize, Rgba8Pixel, SharedPixelBuffer, VecModel};

use crate::support::{all_buttons, find_one, new_window, LANDSCAPE, PORTRAIT};

/// A channel may move this much before a pixel counts as changed.
const PIXEL_TOLERANCE: u8 = 48;
/// The share of changed pixels a picture may have and still match.
const AREA_TOLERANCE: f64 = 0.002;

/// The smallest height of a touch target for petitioners, in pixels.
const MIN_TARGET: f32 = 120.0;
/// The smallest height of a key of the on-screen keyboards (15 mm).
const MIN_KEY: f32 = 90.0;

/// Keys of the keyboards and candidates are labelled "键 …", "数字 …", "候选 …".
fn is_key(label: &str) -> bool {
    ["键 ", "数字 ", "候选 "]
        .iter()
        .any(|p| label.starts_with(p))
}

fn candidates(words: &[&str]) -> ModelRc<slint::SharedString> {
    let v: Vec<slint::SharedString> = words.iter().map(|w| (*w).into()).collect();
    ModelRc::new(VecModel::from(v))
}

/// The description screen while "zhengdi" is being typed after "拖欠工资，".
fn typing(i: &Intake) {
    i.set_description("拖欠工资，".into());
    i.set_ime_preedit("zheng di".into());
    i.set_ime_candidates(candidates(&["征地", "整地", "政敌", "正", "争", "整"]));
    i.set_ime_has_next(true);
}

/// One picture: a file name, the screen, and extra settings on top of the SPECIMEN data.
struct Shot {
    name: &'static str,
    screen: Screen,
    tweak: fn(&Intake),
}

fn nothing(_: &Intake) {}

/// The description screen of a terminal with a microphone.
fn voice_idle(i: &Intake) {
    i.set_voice_available(true);
    i.set_voice_limit("3:00".into());
}

/// Recording: the meter at 60 %, twelve seconds in.
fn voice_recording(i: &Intake) {
    voice_idle(i);
    i.set_voice_state(1);
    i.set_voice_level(0.6);
    i.set_voice_time("0:12".into());
}

/// A note of 42 seconds recorded.
fn voice_recorded(i: &Intake) {
    voice_idle(i);
    i.set_voice_state(2);
    i.set_voice_time("0:42".into());
}

/// A note of silence refused.
fn voice_refused(i: &Intake) {
    voice_idle(i);
    i.set_message("没有听到声音，请靠近话筒再说一次".into());
    i.set_message_is_error(true);
}

/// A clerk typed the identity: the whole number, and the history held until "本人在场".
fn typed_identity(i: &Intake) {
    i.set_history(Default::default());
    i.set_history_held(true);
    i.set_assisted(true);
    i.set_staff_mode(1);
    i.set_id_masked("11010519491231002X".into());
}

const PORTRAIT_SHOTS: &[Shot] = &[
    Shot {
        name: "card-query",
        screen: Screen::Card,
        tweak: |i| i.set_query_mode(true),
    },
    Shot {
        name: "progress",
        screen: Screen::Progress,
        tweak: |i| {
            i.set_message("感谢您的评价！".into());
        },
    },
    Shot {
        name: "progress-empty",
        screen: Screen::Progress,
        tweak: |i| {
            i.set_progress(ModelRc::new(VecModel::from(Vec::<kiosk_ui::ProgressRow>::new())));
            i.set_history_note("您还没有登记记录".into());
        },
    },
    Shot {
        name: "rating",
        screen: Screen::Rating,
        tweak: |i| {
            i.set_rating_score(4);
            let chips = i.get_rating_reasons();
            let mut first = slint::Model::row_data(&chips, 0).unwrap();
            first.on = true;
            slint::Model::set_row_data(&chips, 0, first);
        },
    },
    Shot {
        name: "welcome",
        screen: Screen::Welcome,
        tweak: nothing,
    },
    Shot {
        name: "card",
        screen: Screen::Card,
        tweak: nothing,
    },
    Shot {
        name: "card-error",
        screen: Screen::Card,
        tweak: |i| {
            i.set_message("未能读取证件，请重新放置".into());
            i.set_message_is_error(true);
            i.set_demo(true);
        },
    },
    Shot {
        // Two seconds into the loop the card rests on the reader. Mock time
        // only moves forward, so later shots see the same advanced clock on
        // every run.
        name: "card-placed",
        screen: Screen::Card,
        tweak: |_| i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(2000)),
    },
    Shot {
        name: "identity",
        screen: Screen::Identity,
        tweak: nothing,
    },
    Shot {
        name: "identity-first-visit",
        screen: Screen::Identity,
        tweak: |i| {
            i.set_history(Default::default());
            i.set_history_note("首次登记".into());
            i.set_id_warning("证件号码校验未通过，请工作人员核对".into());
        },
    },
    Shot {
        name: "identity-repeat-visit",
        screen: Screen::Identity,
        tweak: |i| {
            let rows: Vec<HistoryRow> = (1..=6)
                .map(|n| HistoryRow {
                    case_number: format!("XF-2025-00{n:04}").into(),
                    date: format!("2025-0{n}-1{n}").into(),
                    category: if n % 2 == 0 {
                        "拖欠工资"
                    } else {
                        "土地征收"
                    }
                    .into(),
                    status: if n < 3 { "已办结" } else { "办理中" }.into(),
                })
                .collect();
            i.set_history(ModelRc::new(VecModel::from(rows)));
            i.set_message("您以前来过，工作人员会一并查看".into());
            i.set_open_case("XF-2025-000003".into());
        },
    },
    Shot {
        name: "identity-loading",
        screen: Screen::Identity,
        tweak: |i| i.set_history_loading(true),
    },
    Shot {
        // A clerk typed the identity: the history waits for "本人在场".
        name: "identity-typed",
        screen: Screen::Identity,
        tweak: typed_identity,
    },
    Shot {
        name: "category",
        screen: Screen::Category,
        tweak: nothing,
    },
    Shot {
        name: "capture",
        screen: Screen::Capture,
        tweak: nothing,
    },
    Shot {
        name: "capture-busy",
        screen: Screen::Capture,
        tweak: |i| {
            i.set_capture_busy(true);
            i.set_message("正在拍照并处理这一页，请不要移动材料".into());
        },
    },
    Shot {
        name: "review",
        screen: Screen::Review,
        tweak: nothing,
    },
    Shot {
        name: "review-suggestion",
        screen: Screen::Review,
        tweak: |i| {
            i.set_suggestion(
                "建议转办：示范镇 区人力资源和社会保障局（依据：“拖欠工资”、“工资”×2）\n识别到：金额 180000.00 元；日期 2023-12-31\n请核对识别不确定的字词：劳务、钢筋"
                    .into(),
            )
        },
    },
    Shot {
        name: "submitting",
        screen: Screen::Submitting,
        tweak: |i| i.set_message("正在识别材料上的文字，还有1页".into()),
    },
    Shot {
        name: "receipt",
        screen: Screen::Receipt,
        tweak: |i| i.set_seconds_left(30),
    },
    Shot {
        name: "review-repeat",
        screen: Screen::Review,
        tweak: |i| {
            i.set_suggestion("建议转办：示范镇 区人力资源和社会保障局（依据：“拖欠工资”）".into());
            i.set_repeat_question("与2026-11-02登记的XF-2026-000001（已登记）是同一件事吗？".into());
            i.set_repeat_answer(1);
        },
    },
    Shot {
        name: "receipt-unprinted",
        screen: Screen::Receipt,
        tweak: |i| {
            i.set_seconds_left(30);
            i.set_message("打印机缺纸，请拍下屏幕上的回执".into());
            i.set_message_is_error(true);
            i.set_receipt_picture(receipt_picture());
        },
    },
    Shot {
        name: "receipt-offline",
        screen: Screen::Receipt,
        tweak: |i| {
            i.set_case_number("".into());
            i.set_queued_offline(true);
            i.set_seconds_left(30);
        },
    },
    Shot {
        name: "fault",
        screen: Screen::Fault,
        tweak: |i| i.set_message("读卡器没有响应（设备代码 E-READER-TIMEOUT）".into()),
    },
    Shot {
        name: "receipt-ticket",
        screen: Screen::Receipt,
        tweak: |i| {
            i.set_ticket("A023".into());
            i.set_seconds_left(30);
        },
    },
    Shot {
        name: "staff-login",
        screen: Screen::StaffLogin,
        tweak: |i| {
            i.set_message("密码不正确，还可以再试 4 次".into());
            i.set_message_is_error(true);
        },
    },
    Shot {
        name: "describe",
        screen: Screen::Describe,
        tweak: nothing,
    },
    Shot {
        name: "describe-typing",
        screen: Screen::Describe,
        tweak: typing,
    },
    Shot {
        name: "describe-long",
        screen: Screen::Describe,
        tweak: |i| {
            i.set_description("我家的承包地在二〇二三年被征用，".repeat(8).into());
            i.set_message("说明最多300字".into());
            i.set_message_is_error(true);
            i.set_seconds_left(15);
        },
    },
    Shot {
        name: "describe-voice",
        screen: Screen::Describe,
        tweak: voice_idle,
    },
    Shot {
        name: "describe-voice-recording",
        screen: Screen::Describe,
        tweak: voice_recording,
    },
    Shot {
        name: "describe-voice-recorded",
        screen: Screen::Describe,
        tweak: voice_recorded,
    },
    Shot {
        name: "describe-voice-refused",
        screen: Screen::Describe,
        tweak: voice_refused,
    },
    Shot {
        name: "review-voice",
        screen: Screen::Review,
        tweak: |i| {
            voice_recorded(i);
            i.set_voice_playing(true);
        },
    },
    Shot {
        name: "phone",
        screen: Screen::Phone,
        tweak: nothing,
    },
    Shot {
        name: "phone-found",
        screen: Screen::Phone,
        tweak: |i| {
            i.set_found_phone("13912345678".into());
            i.set_found_phone_masked("139****5678".into());
        },
    },
    Shot {
        name: "phone-valid",
        screen: Screen::Phone,
        tweak: |i| {
            i.set_phone("138 1234 5678".into());
            i.set_phone_valid(true);
        },
    },
    Shot {
        name: "phone-invalid",
        screen: Screen::Phone,
        tweak: |i| {
            i.set_phone("138 1234 567".into());
            i.set_message("手机号码是11位数字，请核对".into());
            i.set_message_is_error(true);
        },
    },
    Shot {
        name: "phone-no-phone",
        screen: Screen::Phone,
        tweak: |i| i.set_confirm_no_phone(true),
    },
    Shot {
        name: "review-described",
        screen: Screen::Review,
        tweak: |i| {
            i.set_description("拖欠工资三个月，请求帮助解决。".into());
            i.set_phone_masked("138****5678".into());
        },
    },
    Shot {
        name: "clerk-menu",
        screen: Screen::ClerkMenu,
        tweak: |i| i.set_staff_mode(1),
    },
    Shot {
        name: "manual-id",
        screen: Screen::ManualId,
        tweak: |i| i.set_staff_mode(1),
    },
    Shot {
        name: "queue-view",
        screen: Screen::QueueView,
        tweak: |i| i.set_staff_mode(1),
    },
    Shot {
        name: "review-clerk",
        screen: Screen::Review,
        tweak: |i| {
            i.set_staff_mode(1);
            i.set_assisted(true);
            i.set_id_masked("11010519491231002X".into());
        },
    },
    Shot {
        name: "category-still-there",
        screen: Screen::Category,
        tweak: |i| {
            i.set_seconds_left(20);
            i.set_still_there(true);
        },
    },
    Shot {
        name: "technician",
        screen: Screen::Technician,
        tweak: nothing,
    },
    Shot {
        name: "technician-no-stick",
        screen: Screen::Technician,
        tweak: |i| {
            let mut t = crate::support::specimen_technician();
            t.notice = "未找到U盘：请插入U盘，稍等几秒再按“导出诊断包”".into();
            t.notice_is_error = true;
            i.set_technician(t);
        },
    },
    Shot {
        name: "technician-provision",
        screen: Screen::Technician,
        tweak: |i| i.set_technician(crate::support::specimen_technician_provision()),
    },    Shot {
        name: "technician-update",
        screen: Screen::Technician,
        tweak: |i| i.set_technician(crate::support::specimen_technician_update()),
    },
];

const LANDSCAPE_SHOTS: &[Shot] = &[
    Shot {
        name: "submitting-landscape",
        screen: Screen::Submitting,
        tweak: |i| i.set_message("正在识别材料上的文字，还有2页".into()),
    },
    Shot {
        name: "fault-landscape",
        screen: Screen::Fault,
        tweak: |i| i.set_message("读卡器没有响应（设备代码 E-READER-TIMEOUT）".into()),
    },
    Shot {
        name: "category-still-there-landscape",
        screen: Screen::Category,
        tweak: |i| {
            i.set_seconds_left(20);
            i.set_still_there(true);
        },
    },
    Shot {
        name: "progress-landscape",
        screen: Screen::Progress,
        tweak: |i| {
            i.set_message("感谢您的评价！".into());
        },
    },
    Shot {
        name: "progress-empty-landscape",
        screen: Screen::Progress,
        tweak: |i| {
            i.set_progress(ModelRc::new(VecModel::from(Vec::<kiosk_ui::ProgressRow>::new())));
            i.set_history_note("您还没有登记记录".into());
        },
    },
    Shot {
        name: "rating-landscape",
        screen: Screen::Rating,
        tweak: |i| {
            i.set_rating_score(4);
            let chips = i.get_rating_reasons();
            let mut first = slint::Model::row_data(&chips, 0).unwrap();
            first.on = true;
            slint::Model::set_row_data(&chips, 0, first);
        },
    },
    Shot {
        name: "staff-login-landscape",
        screen: Screen::StaffLogin,
        tweak: nothing,
    },
    Shot {
        name: "clerk-menu-landscape",
        screen: Screen::ClerkMenu,
        tweak: |i| i.set_staff_mode(1),
    },
    Shot {
        name: "manual-id-landscape",
        screen: Screen::ManualId,
        tweak: |i| i.set_staff_mode(1),
    },
    Shot {
        name: "queue-view-landscape",
        screen: Screen::QueueView,
        tweak: |i| i.set_staff_mode(1),
    },
    Shot {
        name: "review-clerk-landscape",
        screen: Screen::Review,
        tweak: |i| {
            i.set_staff_mode(1);
            i.set_assisted(true);
            i.set_id_masked("11010519491231002X".into());
        },
    },
    Shot {
        name: "welcome-landscape",
        screen: Screen::Welcome,
        tweak: nothing,
    },
    Shot {
        name: "card-landscape",
        screen: Screen::Card,
        tweak: nothing,
    },
    Shot {
        name: "identity-landscape",
        screen: Screen::Identity,
        tweak: nothing,
    },
    Shot {
        name: "identity-typed-landscape",
        screen: Screen::Identity,
        tweak: typed_identity,
    },
    Shot {
        name: "identity-warning-landscape",
        screen: Screen::Identity,
        tweak: |i| {
            i.set_id_warning("证件号码校验未通过，请工作人员核对".into());
            i.set_message("请核对姓名和证件号码".into());
        },
    },
    Shot {
        name: "category-landscape",
        screen: Screen::Category,
        tweak: nothing,
    },
    Shot {
        name: "capture-landscape",
        screen: Screen::Capture,
        tweak: nothing,
    },
    Shot {
        name: "capture-busy-landscape",
        screen: Screen::Capture,
        tweak: |i| {
            i.set_capture_busy(true);
            i.set_message("正在拍照并处理这一页，请不要移动材料".into());
        },
    },
    Shot {
        name: "review-landscape",
        screen: Screen::Review,
        tweak: nothing,
    },
    Shot {
        name: "review-repeat-landscape",
        screen: Screen::Review,
        tweak: |i| {
            i.set_suggestion("建议转办：示范镇 区人力资源和社会保障局（依据：“拖欠工资”）".into());
            i.set_repeat_question("与2026-11-02登记的XF-2026-000001（已登记）是同一件事吗？".into());
        },
    },
    Shot {
        name: "describe-landscape",
        screen: Screen::Describe,
        tweak: typing,
    },
    Shot {
        name: "describe-voice-landscape",
        screen: Screen::Describe,
        tweak: voice_idle,
    },
    Shot {
        name: "describe-voice-recording-landscape",
        screen: Screen::Describe,
        tweak: voice_recording,
    },
    Shot {
        name: "describe-voice-recorded-landscape",
        screen: Screen::Describe,
        tweak: voice_recorded,
    },
    Shot {
        name: "describe-voice-refused-landscape",
        screen: Screen::Describe,
        tweak: voice_refused,
    },
    Shot {
        name: "describe-timeout-landscape",
        screen: Screen::Describe,
        tweak: |i| {
            typing(i);
            i.set_seconds_left(15);
        },
    },
    Shot {
        name: "phone-landscape",
        screen: Screen::Phone,
        tweak: |i| {
            i.set_phone("010-62345678".into());
            i.set_phone_valid(true);
        },
    },
    Shot {
        name: "phone-no-phone-landscape",
        screen: Screen::Phone,
        tweak: |i| i.set_confirm_no_phone(true),
    },
    Shot {
        name: "review-described-landscape",
        screen: Screen::Review,
        tweak: |i| {
            i.set_description("拖欠工资三个月，请求帮助解决。".into());
            i.set_phone_masked("138****5678".into());
        },
    },
    Shot {
        name: "review-suggestion-landscape",
        screen: Screen::Review,
        tweak: |i| {
            i.set_description("拖欠工资三个月，请求帮助解决。".into());
            i.set_phone_masked("138****5678".into());
            i.set_suggestion(
                "可能由区人力资源和社会保障局办理，工作人员会再确认\n识别到：金额 180000.00 元；日期 2024-05-06\n请核对识别不确定的字词：尊敬、耕地"
                    .into(),
            );
            i.set_repeat_question("与2026-11-02登记的XF-2026-000001（已登记）是同一件事吗？".into());
        },
    },
    Shot {
        name: "receipt-landscape",
        screen: Screen::Receipt,
        tweak: |i| i.set_seconds_left(30),
    },
    Shot {
        name: "technician-landscape",
        screen: Screen::Technician,
        tweak: |i| {
            let mut t = crate::support::specimen_technician();
            t.notice = "诊断包已写入 /media/kiosk/STICK/kiosk-diagnostics-demo-01-20261128-170203.tar.gz".into();
            t.exporting = false;
            i.set_technician(t);
        },
    },
    Shot {
        name: "technician-provision-landscape",
        screen: Screen::Technician,
        tweak: |i| i.set_technician(crate::support::specimen_technician_provision()),
    },    Shot {
        name: "technician-update-landscape",
        screen: Screen::Technician,
        tweak: |i| i.set_technician(crate::support::specimen_technician_update()),
    },
];

fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("screenshots");
    std::fs::create_dir_all(&dir).expect("the screenshot directory can be created");
    dir
}

/// Writes the snapshot as an 8-bit RGB PNG (the window is opaque).
fn save_png(path: &Path, snapshot: &SharedPixelBuffer<Rgba8Pixel>) {
    let rgb: Vec<u8> = snapshot
        .as_slice()
        .iter()
        .flat_map(|p| [p.r, p.g, p.b])
        .collect();
    let file = File::create(path).expect("the screenshot file can be created");
    let mut encoder = png::Encoder::new(BufWriter::new(file), snapshot.width(), snapshot.height());
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header().expect("the PNG header is written");
    writer
        .write_image_data(&rgb)
        .expect("the PNG data is written");
}

/// Reads a committed reference as RGB pixels.
fn load_rgb(path: &Path) -> Option<(u32, u32, Vec<u8>)> {
    let decoder = png::Decoder::new(std::io::BufReader::new(File::open(path).ok()?));
    let mut reader = decoder.read_info().ok()?;
    let mut buf = vec![0; reader.output_buffer_size()?];
    let info = reader.next_frame(&mut buf).ok()?;
    if info.color_type != png::ColorType::Rgb || info.bit_depth != png::BitDepth::Eight {
        return None;
    }
    buf.truncate(info.buffer_size());
    Some((info.width, info.height, buf))
}

/// Compares the picture with its reference, or rewrites the reference when
/// `UPDATE_SCREENSHOTS` is set.
fn compare_or_update(dir: &Path, name: &str, snapshot: &SharedPixelBuffer<Rgba8Pixel>) {
    let reference = dir.join(format!("{name}.png"));
    if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        save_png(&reference, snapshot);
        return;
    }
    let actual_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&actual_dir).expect("the directory for new pictures can be created");
    let actual = actual_dir.join(format!("{name}.png"));
    let Some((w, h, want)) = load_rgb(&reference) else {
        save_png(&actual, snapshot);
        panic!(
            "{name}: no reference picture {} (new one: {}); run `make screenshots`, look at it and commit it",
            reference.display(),
            actual.display()
        );
    };
    if (w, h) != (snapshot.width(), snapshot.height()) {
        save_png(&actual, snapshot);
        panic!("{name}: the reference is {w}x{h}, the screen {}x{}", snapshot.width(), snapshot.height());
    }
    let changed = snapshot
        .as_slice()
        .iter()
        .zip(want.chunks_exact(3))
        .filter(|(p, r)| {
            [p.r, p.g, p.b]
                .iter()
                .zip(r.iter())
                .any(|(a, b)| a.abs_diff(*b) > PIXEL_TOLERANCE)
        })
        .count();
    let share = changed as f64 / (w as f64 * h as f64);
    if share > AREA_TOLERANCE {
        save_png(&actual, snapshot);
        panic!(
            "{name}: {:.2} % of the pixels differ from {}; the new picture is {}. \
             If the change is meant, run `make screenshots` and commit the references.",
            share * 100.0,
            reference.display(),
            actual.display()
        );
    }
}

/// Every petitioner's button is at least `MIN_TARGET` tall, lies inside the
/// window above the footer, and overlaps no other button.
fn check_targets(ui: &AppWindow, size: PhysicalSize, shot: &str) {
    let footer_top = find_one(ui, "footer").absolute_position().y;
    // A dialog covering the screen: only its own buttons can be touched.
    let dialog = ElementHandle::find_by_accessible_label(ui, "still-there")
        .next()
        .map(|d| {
            let (p, s) = (d.absolute_position(), d.size());
            [p.x, p.y, p.x + s.width, p.y + s.height]
        });
    let buttons: Vec<(String, ElementHandle)> = all_buttons(ui)
        .into_iter()
        .map(|b| (b.accessible_label().unwrap_or_default().to_string(), b))
        .filter(|(label, _)| {
            dialog.is_none() || matches!(label.as_str(), "我还在，继续" | "结束，清除我的信息")
        })
        .collect();
    assert!(
        !buttons.is_empty() || shot.starts_with("submitting") || shot.starts_with("fault"),
        "{shot}: no buttons"
    );
    let rects: Vec<(String, [f32; 4])> = buttons
        .iter()
        .map(|(label, b)| {
            let pos = b.absolute_position();
            let sz = b.size();
            (
                label.clone(),
                [pos.x, pos.y, pos.x + sz.width, pos.y + sz.height],
            )
        })
        .collect();
    for (label, [x0, y0, x1, y1]) in &rects {
        if is_key(label) {
            assert!(
                y1 - y0 >= MIN_KEY && x1 - x0 >= MIN_KEY * 0.8,
                "{shot}: key {label:?} is only {}x{} px",
                x1 - x0,
                y1 - y0
            );
        } else if !label.starts_with("演示：") {
            assert!(
                y1 - y0 >= MIN_TARGET,
                "{shot}: button {label:?} is only {} px tall",
                y1 - y0
            );
            assert!(
                *y1 <= footer_top,
                "{shot}: button {label:?} runs under the footer"
            );
        }
        assert!(
            *x0 >= 0.0 && *y0 >= 0.0 && *x1 <= size.width as f32 && *y1 <= size.height as f32,
            "{shot}: button {label:?} at {:?} is outside the window",
            [x0, y0, x1, y1]
        );
    }
    for (i, (a, ra)) in rects.iter().enumerate() {
        for (b, rb) in &rects[i + 1..] {
            let overlap = ra[0] < rb[2] && rb[0] < ra[2] && ra[1] < rb[3] && rb[1] < ra[3];
            assert!(!overlap, "{shot}: buttons {a:?} and {b:?} overlap");
        }
    }
}

fn render(shots: &[Shot], size: PhysicalSize) {
    let dir = screenshot_dir();
    let ui = new_window(size);
    for shot in shots {
        crate::support::fill_specimen(&ui);
        let intake = ui.global::<Intake>();
        intake.set_screen(shot.screen);
        (shot.tweak)(&intake);

        let snapshot = ui
            .window()
            .take_snapshot()
            .expect("the window renders headless");
        assert_eq!(
            (snapshot.width(), snapshot.height()),
            (size.width, size.height),
            "{}",
            shot.name
        );
        compare_or_update(&dir, shot.name, &snapshot);
        let first = snapshot.as_slice()[0];
        assert!(
            snapshot.as_slice().iter().any(|p| *p != first),
            "{}: the snapshot is blank",
            shot.name
        );
        find_one(&ui, "screen-title");
        check_targets(&ui, size, shot.name);
    }
}

#[test]
fn portrait_screens() {
    render(PORTRAIT_SHOTS, PORTRAIT);
}

#[test]
fn landscape_screens() {
    render(LANDSCAPE_SHOTS, LANDSCAPE);
}

/// The printer crate's reference receipt, as the screen shows it when the printer cannot print.
fn receipt_picture() -> slint::Image {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../drivers/printer/reference/receipt.png");
    let decoder = png::Decoder::new(std::io::BufReader::new(File::open(&path).expect("reference receipt")));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("png size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    let channels = info.color_type.samples();
    let mut pixels = SharedPixelBuffer::<Rgba8Pixel>::new(info.width, info.height);
    for (dst, src) in pixels.make_mut_slice().iter_mut().zip(buf.chunks(channels)) {
        let (r, g, b) = if channels >= 3 { (src[0], src[1], src[2]) } else { (src[0], src[0], src[0]) };
        *dst = Rgba8Pixel { r, g, b, a: 255 };
    }
    slint::Image::from_rgba8(pixels)
}
