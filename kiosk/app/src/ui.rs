//! The Slint adapter: renders view models into the `Intake` global and turns
//! the global's callbacks into intake events. No logic lives here.

use std::sync::mpsc::Sender;
use std::sync::Arc;

use intake::{Event, KeyboardKey, Screen, StaffRole};
use kiosk_privacy::{IdNumber, PersonName, PersonalText, StaffPin};
use kiosk_ui::{
    AppWindow, CategoryTile, HistoryRow, Intake as IntakeGlobal, PageText, PageThumb, QueueRowView,
};
use slint::{ComponentHandle, Image, Model, ModelRc, Rgba8Pixel, SharedPixelBuffer, VecModel};

use crate::update::{Sink, Update};

mod rating;
use crate::view::ViewModel;

/// Demo-only hooks behind the small demo panel.
pub struct DemoHooks {
    pub insert_card: Box<dyn Fn()>,
    pub remove_card: Box<dyn Fn()>,
}

impl std::fmt::Debug for DemoHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DemoHooks")
    }
}

fn image(width: u32, height: u32, rgba: &[u8]) -> Image {
    if rgba.len() != (width as usize) * (height as usize) * 4 {
        return Image::default();
    }
    Image::from_rgba8(SharedPixelBuffer::<Rgba8Pixel>::clone_from_slice(
        rgba, width, height,
    ))
}

fn screen(s: Option<Screen>) -> kiosk_ui::Screen {
    use kiosk_ui::Screen as S;
    match s {
        None | Some(Screen::Welcome) => S::Welcome,
        Some(Screen::Card) => S::Card,
        Some(Screen::Identity) => S::Identity,
        Some(Screen::Category) => S::Category,
        Some(Screen::Capture) => S::Capture,
        Some(Screen::Describe) => S::Describe,
        Some(Screen::Phone) => S::Phone,
        Some(Screen::Review) => S::Review,
        Some(Screen::Submitting) => S::Submitting,
        Some(Screen::Receipt) => S::Receipt,
        Some(Screen::Fault) => S::Fault,
        Some(Screen::StaffLogin) => S::StaffLogin,
        Some(Screen::ClerkMenu) => S::ClerkMenu,
        Some(Screen::ManualId) => S::ManualId,
        Some(Screen::QueueView) => S::QueueView,
        Some(Screen::Technician) => S::Technician,
        Some(Screen::Progress) => S::Progress,
        Some(Screen::Rating) => S::Rating,
    }
}

/// Writes a view model into the UI. Runs on the UI thread.
pub fn apply(app: &AppWindow, v: &ViewModel) {
    let g = app.global::<IntakeGlobal>();
    g.set_screen(screen(v.screen));
    g.set_message(v.message.as_str().into());
    g.set_message_is_error(v.message_is_error);
    g.set_person_name(v.person_name.as_str().into());
    g.set_id_masked(v.id_masked.as_str().into());
    g.set_id_warning(v.id_warning.as_str().into());
    g.set_document_label(v.document_label.as_str().into());
    g.set_history_loading(v.history_loading);
    g.set_history_held(v.history_held);
    g.set_history_note(v.history_note.as_str().into());
    let rows: Vec<HistoryRow> = v
        .history
        .iter()
        .map(|r| HistoryRow {
            case_number: r.case_number.as_str().into(),
            date: r.date.as_str().into(),
            category: r.category.as_str().into(),
            status: r.status.as_str().into(),
        })
        .collect();
    g.set_history(ModelRc::new(VecModel::from(rows)));
    g.set_category_label(v.category_label.as_str().into());
    let pages: Vec<PageThumb> = v
        .pages
        .iter()
        .map(|p| PageThumb {
            id: p.id as i32,
            thumb: image(p.thumb.width, p.thumb.height, &p.thumb.rgba),
            status: p.status.as_str().into(),
        })
        .collect();
    g.set_pages(ModelRc::new(VecModel::from(pages)));
    g.set_capture_busy(v.capture_busy);
    g.set_case_number(v.case_number.as_str().into());
    g.set_local_ref(v.local_ref.as_str().into());
    g.set_queued_offline(v.queued_offline);
    g.set_suggestion(v.suggestion.as_str().into());
    g.set_repeat_question(v.repeat_question.as_str().into());
    // The screens' codes: 0 not answered, 1 the same matter, 2 not the same.
    g.set_repeat_answer(match v.repeat_answer {
        None => 0,
        Some(true) => 1,
        Some(false) => 2,
    });
    g.set_seconds_left(v.seconds_left.min(i32::MAX as u64) as i32);
    g.set_still_there(v.still_there);
    g.set_open_case(v.open_case.as_str().into());
    // The screens' codes: 0 nobody, 1 a clerk, 2 a technician.
    g.set_staff_mode(match v.staff_mode {
        None => 0,
        Some(StaffRole::Clerk) => 1,
        Some(StaffRole::Technician) => 2,
    });
    g.set_ticket(v.ticket.as_str().into());
    g.set_assisted(v.assisted);
    let rows: Vec<QueueRowView> = v
        .queue_rows
        .iter()
        .map(|r| QueueRowView {
            local_ref: r.local_ref.as_str().into(),
            when: r.when.as_str().into(),
            category: r.category.as_str().into(),
            masked_id: r.masked_id.as_str().into(),
            status: r.status.as_str().into(),
            case_number: r.case_number.as_str().into(),
            reason: r.reason.as_str().into(),
            failed: r.failed,
        })
        .collect();
    g.set_queue_rows(ModelRc::new(VecModel::from(rows)));
    let texts: Vec<PageText> = v
        .page_texts
        .iter()
        .map(|p| PageText {
            id: p.id as i32,
            number: p.number as i32,
            text: p.text.as_str().into(),
            doubtful: ModelRc::new(VecModel::from(
                p.doubtful
                    .iter()
                    .map(|w| w.as_str().into())
                    .collect::<Vec<slint::SharedString>>(),
            )),
        })
        .collect();
    // Rewriting the texts while the clerk types would recreate the editors:
    // only when pages come or go or their recognition finishes. The clerk's
    // edits reach the machine through `edit-page-text`.
    let shape = |id: i32, text: &str| (id, text.is_empty());
    let old: Vec<_> = g
        .get_page_texts()
        .iter()
        .map(|p| shape(p.id, p.text.as_str()))
        .collect();
    let new: Vec<_> = texts.iter().map(|p| shape(p.id, p.text.as_str())).collect();
    if old != new {
        g.set_page_texts(ModelRc::new(VecModel::from(texts)));
    }
    g.set_description(v.description.as_str().into());
    g.set_voice_state(v.voice_state);
    g.set_voice_available(v.voice_available);
    g.set_voice_level(v.voice_level as f32 / 100.0);
    g.set_voice_time(v.voice_time.as_str().into());
    g.set_voice_limit(v.voice_limit.as_str().into());
    g.set_voice_playing(v.voice_playing);
    g.set_ime_preedit(v.ime_preedit.as_str().into());
    let candidates: Vec<slint::SharedString> =
        v.ime_candidates.iter().map(|c| c.as_str().into()).collect();
    g.set_ime_candidates(ModelRc::new(VecModel::from(candidates)));
    g.set_ime_has_prev(v.ime_has_prev);
    g.set_ime_has_next(v.ime_has_next);
    g.set_phone(v.phone.as_str().into());
    g.set_phone_masked(v.phone_masked.as_str().into());
    g.set_phone_valid(v.phone_valid);
    g.set_confirm_no_phone(v.confirm_no_phone);
    g.set_found_phone(v.found_phone.as_str().into());
    g.set_found_phone_masked(v.found_phone_masked.as_str().into());
    rating::apply(&g, v);
    if !matches!(v.screen, Some(Screen::Capture | Screen::Technician)) {
        g.set_preview(Image::default());
    }
    if v.screen != Some(Screen::Receipt) {
        g.set_receipt_picture(Image::default());
    }
}

/// Static content and the callbacks.
pub fn attach(app: &AppWindow, hall_name: &str, events: Sender<Event>, demo: Option<DemoHooks>) {
    let g = app.global::<IntakeGlobal>();
    g.set_hall_name(hall_name.into());
    let tiles: Vec<CategoryTile> = intake::CATEGORIES
        .iter()
        .map(|c| CategoryTile {
            code: c.code.into(),
            label: c.label.into(),
            glyph: c.glyph.into(),
        })
        .collect();
    g.set_categories(ModelRc::new(VecModel::from(tiles)));

    let send = move |tx: &Sender<Event>, e: Event| {
        let _ = tx.send(e);
    };
    macro_rules! on {
        ($setter:ident, $event:expr) => {{
            let tx = events.clone();
            g.$setter(move || send(&tx, $event));
        }};
    }
    on!(on_start, Event::Start);
    on!(on_still_here, Event::StillHere);
    on!(on_confirm_presence, Event::ConfirmPresence);
    {
        let tx = events.clone();
        g.on_supplement(move |case| send(&tx, Event::SupplementCase(case.to_string())));
    }
    {
        // The recognised number is typed for the petitioner, then confirmed.
        let tx = events.clone();
        g.on_use_found_phone(move |digits| {
            send(&tx, Event::PhoneClear);
            for d in digits.chars() {
                send(&tx, Event::PhoneDigit(d));
            }
            send(&tx, Event::ConfirmPhone);
        });
    }
    on!(on_staff_entry, Event::StaffEntry);
    on!(on_clerk_register, Event::ClerkRegister);
    on!(on_clerk_manual, Event::ClerkManualEntry);
    on!(on_clerk_queue, Event::ClerkQueue);
    on!(on_leave_staff, Event::LeaveStaff);
    {
        let tx = events.clone();
        g.on_staff_pin(move |pin| send(&tx, Event::StaffPin(StaffPin::new(pin.as_str()))));
    }
    {
        let tx = events.clone();
        g.on_manual_identity(move |id, name| {
            send(
                &tx,
                Event::ManualIdentity {
                    id_number: IdNumber::new(id.as_str()),
                    name: PersonName::new(name.as_str()),
                },
            )
        });
    }
    {
        let tx = events.clone();
        g.on_resend(move |r| send(&tx, Event::Resend(r.to_string())));
    }
    {
        let tx = events.clone();
        g.on_reprint(move |r| send(&tx, Event::Reprint(r.to_string())));
    }
    {
        let tx = events.clone();
        g.on_edit_page_text(move |id, text| {
            send(
                &tx,
                Event::EditPageText {
                    page_id: id.max(0) as u32,
                    text: PersonalText::new(text.as_str()),
                },
            )
        });
    }
    on!(on_confirm_identity, Event::ConfirmIdentity);
    on!(on_capture, Event::CaptureRequested);
    on!(on_finish_capture, Event::FinishCapture);
    on!(on_submit, Event::Submit);
    on!(on_back, Event::Back);
    on!(on_cancel, Event::Cancel);
    on!(on_done, Event::Done);
    on!(on_export_diagnostics, Event::ExportDiagnostics);
    on!(on_test_print, Event::TestPrint);
    on!(on_leave_staff, Event::LeaveStaff);
    {
        let tx = events.clone();
        g.on_choose_category(move |code| send(&tx, Event::ChooseCategory(code.to_string())));
    }
    {
        let tx = events.clone();
        g.on_answer_repeat(move |same| send(&tx, Event::RepeatAnswered(same)));
    }
    attach_typing(&g, &events);
    {
        let tx = events.clone();
        g.on_delete_page(move |id| send(&tx, Event::DeletePage(id.max(0) as u32)));
    }
    rating::attach(&g, &events);
    match demo {
        Some(hooks) => {
            g.set_demo(true);
            let DemoHooks {
                insert_card,
                remove_card,
            } = hooks;
            g.on_demo_insert_card(insert_card);
            g.on_demo_remove_card(remove_card);
        }
        None => g.set_demo(false),
    }
}

/// The callbacks of the description keyboard, the phone pad and the review's "修改".
fn attach_typing(g: &IntakeGlobal<'_>, events: &Sender<Event>) {
    let send = |tx: &Sender<Event>, e: Event| {
        let _ = tx.send(e);
    };
    macro_rules! on {
        ($setter:ident, $event:expr) => {{
            let tx = events.clone();
            g.$setter(move || send(&tx, $event));
        }};
    }
    on!(on_ime_backspace, Event::Keyboard(KeyboardKey::Backspace));
    on!(on_ime_space, Event::Keyboard(KeyboardKey::Space));
    on!(on_skip_description, Event::SkipDescription);
    on!(on_voice_record, Event::VoiceRecord);
    on!(on_voice_stop, Event::VoiceStop);
    on!(on_voice_play, Event::VoicePlay);
    on!(on_voice_delete, Event::VoiceDelete);
    on!(on_finish_description, Event::FinishDescription);
    on!(on_confirm_phone, Event::ConfirmPhone);
    on!(on_no_phone, Event::NoPhone);
    on!(on_edit_description, Event::EditDescription);
    on!(on_edit_phone, Event::EditPhone);
    let tx = events.clone();
    g.on_ime_key(move |k| {
        let mut chars = k.chars();
        let key = match (chars.next(), chars.next()) {
            (Some(c), None) if c.is_ascii_alphabetic() => KeyboardKey::Letter(c),
            _ => KeyboardKey::Text(k.to_string()),
        };
        send(&tx, Event::Keyboard(key));
    });
    let tx = events.clone();
    g.on_ime_pick(move |i| send(&tx, Event::Keyboard(KeyboardKey::Pick(i.max(0) as usize))));
    let tx = events.clone();
    g.on_ime_page(move |d| send(&tx, Event::Keyboard(KeyboardKey::Page(d.signum()))));
    let tx = events.clone();
    g.on_phone_key(move |k| {
        let event = match k.as_str() {
            "backspace" => Event::PhoneBackspace,
            "clear" => Event::PhoneClear,
            other => match other.chars().next() {
                Some(d) => Event::PhoneDigit(d),
                None => return,
            },
        };
        send(&tx, event);
    });
    let tx = events.clone();
    g.on_no_phone_answer(move |yes| send(&tx, Event::NoPhoneConfirmed(yes)));
}

/// A sink that posts updates into the UI's event loop from any thread.
pub fn sink(app: &AppWindow) -> Sink {
    let weak = app.as_weak();
    Arc::new(move |update: Update| {
        let _ = weak.upgrade_in_event_loop(move |app| match update {
            Update::View(v) => apply(&app, &v),
            Update::Preview {
                width,
                height,
                rgba,
            } => app
                .global::<IntakeGlobal>()
                .set_preview(image(width, height, &rgba)),
            Update::ReceiptPicture {
                width,
                height,
                rgba,
            } => app
                .global::<IntakeGlobal>()
                .set_receipt_picture(image(width, height, &rgba)),
            Update::Technician(t) => crate::technician::apply(&app, &t),
        });
    })
}
