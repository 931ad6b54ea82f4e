//! A petitioner registers twice with the same card: the first visit reaches
//! the registry with identity, pages, OCR text and category; the second shows
//! the first as history; nothing personal is logged.

use std::time::Duration;

use intake::KeyboardKey;
use kiosk_e2e::{CapturedLog, Harness, Options, RegistryReader, Supplement, SPECIMEN_PHONE};
use kiosk_idcard::sim::SimCard;

#[test]
fn first_visit_registers_and_repeat_visit_shows_history() -> anyhow::Result<()> {
    let log = CapturedLog::install();
    let h = Harness::start(Options::default())?;
    let card = SimCard::specimen();
    let id_number = card.text.id_number.expose().to_string();
    let name = card.text.name.expose().to_string();
    let address = card.text.address.expose().to_string();

    // The description is typed in pinyin: "tuoqiangongzi", space takes the
    // first candidate, then a full stop.
    let extra = Supplement {
        keys: Supplement::typed(
            "tuoqiangongzi",
            &[KeyboardKey::Space, KeyboardKey::Text("。".into())],
        ),
        phone: Some(SPECIMEN_PHONE.into()),
        voice: false,
    };
    let first = h.visit_full(card.clone(), "labour", 2, &extra, |_, review| {
        assert_eq!(review.description, "拖欠工资。");
        assert_eq!(review.phone_masked, "138****8000");
        Ok(())
    })?;
    assert_eq!(first.identity.person_name, name);
    assert!(first.identity.history.is_empty());
    assert_eq!(first.identity.history_note, "首次登记");
    assert!(
        !first.identity.id_masked.contains(&id_number[4..16]),
        "screen masks the middle of the ID"
    );
    assert!(!first.receipt.local_ref.is_empty());

    let receipt = h.wait_case_number(Duration::from_secs(30))?;
    let case = receipt.case_number.clone();
    assert!(case.starts_with("XF-"), "case number {case}");
    assert!(!receipt.queued_offline);
    assert!(
        receipt.person_name.is_empty(),
        "the receipt screen holds no personal data"
    );

    let reg = RegistryReader::new(h.registry_addr)?;
    assert_eq!(reg.registration_count()?, 1);
    let rec = reg.registration(&case)?;
    assert_eq!(rec.petitioner.id_number.expose(), id_number);
    assert_eq!(rec.petitioner.name.expose(), name);
    assert_eq!(rec.category, "labour");
    assert_eq!(rec.pages.len(), 2);
    let text: String = rec
        .pages
        .iter()
        .map(|p| p.ocr_text.expose().to_string())
        .collect();
    assert!(
        text.contains("拖欠工资"),
        "page 1 phrase missing from OCR text of {} chars",
        text.chars().count()
    );
    assert!(
        text.contains("征地补偿"),
        "page 2 phrase missing from OCR text of {} chars",
        text.chars().count()
    );
    // The extracted fields travel with the registration (at least each page's kind).
    let kinds: Vec<(u32, &str)> = rec.fields.iter().map(|f| (f.page, f.kind.as_str())).collect();
    assert!(
        kinds.contains(&(1, "document_kind")) && kinds.contains(&(2, "document_kind")),
        "{kinds:?}"
    );
    let amount = rec.fields.iter().find(|f| f.kind == registry_api::FieldKind::Amount).map(|f| f.value.expose().to_string());
    assert_eq!(amount.as_deref(), Some("180000.00"), "page 1 says 共计约十八万元");

    assert_eq!(rec.description.expose(), "拖欠工资。");
    // The registry stores the phone (its record API does not return it).
    let db = rusqlite::Connection::open(h.dir.path().join("registry.db"))?;
    let (description, phone): (String, Option<String>) = db.query_row(
        "SELECT description, phone FROM registrations WHERE case_number = ?1",
        [&case],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    assert_eq!(description, "拖欠工资。");
    assert_eq!(phone.as_deref(), Some(SPECIMEN_PHONE));

    let printed = h.wait_printed_text(Duration::from_secs(10))?;
    assert!(
        printed.contains(&case),
        "the receipt carries the case number: {printed}"
    );
    assert!(printed.contains("劳动工资"));
    assert!(
        !printed.contains(&id_number),
        "the receipt never carries the full ID number"
    );
    let shown = h.wait_for("printer message", Duration::from_secs(10), |v| {
        !v.message.is_empty()
    })?;
    assert_eq!(shown.message, "回执已打印，请取走");
    assert!(!h
        .receipt_picture_shown
        .load(std::sync::atomic::Ordering::SeqCst));

    h.finish()?;
    let second = h.visit_with(card, "labour", 1, |h, review| {
        assert!(
            !review.suggestion.is_empty(),
            "a routing suggestion is shown"
        );
        let asked = h.wait_for("repeat question", Duration::from_secs(10), |v| {
            !v.repeat_question.is_empty()
        })?;
        assert!(
            asked.repeat_question.contains(&case),
            "{}",
            asked.repeat_question
        );
        h.press(intake::Event::RepeatAnswered(true));
        h.wait_for("answer shown", Duration::from_secs(10), |v| {
            v.repeat_answer == Some(true)
        })?;
        Ok(())
    })?;
    assert_eq!(
        second.identity.history.len(),
        1,
        "the first registration comes straight up"
    );
    assert_eq!(second.identity.history[0].case_number, case);
    assert_eq!(second.identity.history[0].category, "劳动工资");
    let second_case = h.wait_case_number(Duration::from_secs(30))?.case_number;
    assert_ne!(second_case, case);
    assert_eq!(reg.registration_count()?, 2);
    let repeat = reg
        .registration(&second_case)?
        .repeat
        .expect("the repeat answer is recorded");
    assert_eq!(repeat.earlier_case, case);
    assert!(repeat.same_matter);
    assert!(
        reg.registration(&case)?.repeat.is_none(),
        "a first visit asks nothing"
    );
    h.finish()?;

    let queue = kiosk_queue::Queue::open(&h.cfg.queue.path)?;
    let counts = queue.counts()?;
    assert_eq!(counts.acknowledged, 2, "{counts:?}");
    assert_eq!(
        counts.pending + counts.uploading + counts.failed,
        0,
        "{counts:?}"
    );

    let logs = log.text();
    assert!(logs.contains("stage card_read"), "stage timings are logged");
    assert!(
        logs.contains("stage card_to_case_number"),
        "total is logged"
    );
    let phone = SPECIMEN_PHONE.to_string();
    let description = "拖欠工资。".to_string();
    for secret in [&id_number, &name, &address, &phone, &description] {
        assert!(
            !logs.contains(secret.as_str()),
            "a log line holds personal data"
        );
    }
    assert!(
        !logs.contains(&id_number[..14]),
        "a log line holds most of an ID number"
    );
    Ok(())
}

/// A registry that refuses a history lookup (this terminal asked too often)
/// leaves the visit going: the identity screen says "暂时无法查询以前的登记"
/// instead of an error, and the category screen follows.
#[test]
fn a_rate_limited_history_lookup_says_so_and_the_visit_goes_on() -> anyhow::Result<()> {
    let mut h = Harness::start(Options::default())?;
    // The same registry, allowing one lookup and no more.
    h.registry = None;
    let mut cfg = kiosk_e2e::registry_config(&h.keys, h.dir.path().join("registry.db"))?;
    cfg.history_limit = registry::HistoryLimit {
        burst: 1,
        per_minute: 0,
    };
    h.registry = Some(registry::start_blocking(cfg, h.registry_addr)?);
    let long = Duration::from_secs(60);
    for (n, note) in [(1, "首次登记"), (2, "暂时无法查询以前的登记")] {
        h.wait_for("welcome", long, |v| v.screen == Some(intake::Screen::Welcome))?;
        h.reader.control.insert(SimCard::specimen());
        h.press(intake::Event::Start);
        let v = h.wait_for("identity", long, |v| {
            v.screen == Some(intake::Screen::Identity) && !v.history_loading
        })?;
        assert_eq!(v.history_note, note, "visit {n}");
        assert!(!v.message_is_error, "visit {n}: no error on screen");
        h.press(intake::Event::ConfirmIdentity);
        h.wait_for("category", long, |v| v.screen == Some(intake::Screen::Category))?;
        h.press(intake::Event::Cancel);
        h.reader.control.remove();
    }
    h.finish()
}
