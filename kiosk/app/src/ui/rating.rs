//! The Slint side of the progress and rating screens: their part of the
//! `Intake` global and their callbacks.

use std::sync::mpsc::Sender;

use intake::Event;
use kiosk_ui::{Intake as IntakeGlobal, ProgressRow, ReasonChip};
use slint::{ModelRc, VecModel};

use crate::view::ViewModel;

pub(super) fn apply(g: &IntakeGlobal<'_>, v: &ViewModel) {
    let rows: Vec<ProgressRow> = v
        .progress
        .iter()
        .map(|r| ProgressRow {
            case_number: r.case_number.as_str().into(),
            date: r.date.as_str().into(),
            category: r.category.as_str().into(),
            status: r.status.as_str().into(),
            can_rate: r.can_rate,
            rated: r.rated,
            notice_title: r.notice_title.as_str().into(),
            notice_text: r.notice_text.as_str().into(),
        })
        .collect();
    g.set_progress(ModelRc::new(VecModel::from(rows)));
    g.set_query_mode(v.query_mode);
    g.set_rating_case(v.rating_case.as_str().into());
    g.set_rating_score(v.rating_score);
    g.set_rating_sending(v.rating_sending);
    let chips: Vec<ReasonChip> = intake::REASONS
        .iter()
        .enumerate()
        .map(|(i, r)| ReasonChip {
            code: r.code.into(),
            label: r.label.into(),
            on: v.rating_reasons.get(i).copied().unwrap_or(false),
        })
        .collect();
    g.set_rating_reasons(ModelRc::new(VecModel::from(chips)));
}

pub(super) fn attach(g: &IntakeGlobal<'_>, events: &Sender<Event>) {
    let tx = events.clone();
    g.on_query_start(move || {
        let _ = tx.send(Event::QueryStart);
    });
    let tx = events.clone();
    g.on_rate_case(move |case| {
        let _ = tx.send(Event::RateCase(case.to_string()));
    });
    let tx = events.clone();
    g.on_print_notice(move |case| {
        let _ = tx.send(Event::PrintNotice(case.to_string()));
    });
    let tx = events.clone();
    g.on_choose_score(move |score| {
        let _ = tx.send(Event::RatingScore(score.clamp(0, 255) as u8));
    });
    let tx = events.clone();
    g.on_toggle_reason(move |code| {
        let _ = tx.send(Event::RatingReason(code.to_string()));
    });
    let tx = events.clone();
    g.on_submit_rating(move || {
        let _ = tx.send(Event::SubmitRating);
    });
}
