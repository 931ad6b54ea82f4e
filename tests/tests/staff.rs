//! A clerk at the terminal: logs in with a PIN (a wrong one first), types the
//! identity of someone without a card, corrects the recognised text, submits
//! (the hall runs a counter queue, so a ticket is printed too), comes back to
//! the clerk's menu, finds the registration in the queue view and reprints
//! its receipt. The typed identity's history is looked up only once the clerk
//! confirms the person is present, and the registry audits it as typed. The
//! registry holds the typed identity and the corrected text; the log holds
//! neither the PIN nor anything personal.

use std::time::Duration;

use intake::Screen;
use kiosk_e2e::{CapturedLog, Harness, Options, RegistryReader};
use kiosk_privacy::{IdNumber, PersonName, PersonalText, StaffPin};

const PIN: &str = "246810";
const ID: &str = "11010519491231002X";
const NAME: &str = "代办样例";
const CORRECTED: &str = "申请人反映被拖欠工资十九万元，请求督促支付";

#[test]
fn a_clerk_registers_for_someone_without_a_card() -> anyhow::Result<()> {
    let log = CapturedLog::install();
    let mut h = Harness::start(Options::default())?;
    h.restart_controller(|cfg| {
        cfg.staff.clerk_pin_hash =
            kiosk::staff::hash_pin(&StaffPin::new(PIN)).expect("a six-digit PIN hashes");
        cfg.counter.enabled = true;
    })?;
    let long = Duration::from_secs(60);
    h.wait_for("welcome", long, |v| v.screen == Some(Screen::Welcome))?;
    h.press(intake::Event::StaffEntry);
    h.wait_for("PIN pad", long, |v| v.screen == Some(Screen::StaffLogin))?;
    h.press(intake::Event::StaffPin(StaffPin::new("135791")));
    h.wait_for("wrong PIN", long, |v| v.message.contains("还可以再试 4 次"))?;
    h.press(intake::Event::StaffPin(StaffPin::new(PIN)));
    h.wait_for("clerk menu", long, |v| {
        v.screen == Some(Screen::ClerkMenu) && v.staff_mode == Some(intake::StaffRole::Clerk)
    })?;

    h.press(intake::Event::ClerkManualEntry);
    h.wait_for("manual entry", long, |v| v.screen == Some(Screen::ManualId))?;
    h.press(intake::Event::ManualIdentity {
        id_number: IdNumber::new("11010519491231002"),
        name: PersonName::new(NAME),
    });
    h.wait_for("a short number refused", long, |v| v.message.contains("校验未通过"))?;
    h.press(intake::Event::ManualIdentity {
        id_number: IdNumber::new(ID),
        name: PersonName::new(NAME),
    });
    let identity = h.wait_for("identity", long, |v| {
        v.screen == Some(Screen::Identity) && !v.history_loading
    })?;
    assert_eq!(identity.id_masked, ID, "the clerk sees the whole number");
    assert!(identity.assisted);
    // A typed identity's history waits for the clerk's "本人在场": the
    // registry has not been asked.
    assert!(identity.history_held, "the screen offers 本人在场");
    let reader = RegistryReader::new(h.registry_addr)?;
    assert!(reader.history_audit()?.is_empty(), "no lookup before confirmation");
    h.press(intake::Event::ConfirmPresence);
    let looked = h.wait_for("history after 本人在场", long, |v| {
        !v.history_held && !v.history_loading && !v.history_note.is_empty()
    })?;
    assert_eq!(looked.history_note, "首次登记");
    assert_eq!(reader.history_audit()?, ["history_lookup_typed"], "audited as typed");

    h.press(intake::Event::ConfirmIdentity);
    h.wait_for("category", long, |v| v.screen == Some(Screen::Category))?;
    h.press(intake::Event::ChooseCategory("labour".into()));
    h.wait_for("capture", long, |v| v.screen == Some(Screen::Capture))?;
    h.press(intake::Event::CaptureRequested);
    h.wait_for("page", long, |v| v.pages.len() == 1 && !v.capture_busy)?;
    h.press(intake::Event::FinishCapture);
    h.wait_for("description", long, |v| v.screen == Some(Screen::Describe))?;
    h.press(intake::Event::SkipDescription);
    h.wait_for("phone", long, |v| v.screen == Some(Screen::Phone))?;
    h.press(intake::Event::NoPhone);
    h.press(intake::Event::NoPhoneConfirmed(true));
    let review = h.wait_for("review with text", long, |v| {
        v.screen == Some(Screen::Review) && v.page_texts.iter().all(|p| !p.text.is_empty())
    })?;
    assert_eq!(review.page_texts.len(), 1);
    h.press(intake::Event::EditPageText {
        page_id: review.page_texts[0].id,
        text: PersonalText::new(CORRECTED),
    });
    h.press(intake::Event::Submit);
    let receipt = h.wait_case_number(long)?.case_number;
    h.wait_for("ticket", long, |v| v.ticket == "A001")?;

    // The ticket and the receipt both come out of the printer.
    let mut printed = String::new();
    while !(printed.contains("A001") && printed.contains(&receipt)) {
        printed += &h.wait_printed_text(Duration::from_secs(20))?;
    }

    let record = reader.registration(&receipt)?;
    assert_eq!(record.petitioner.id_number.expose(), ID);
    assert_eq!(record.petitioner.name.expose(), NAME);
    assert_eq!(record.pages[0].ocr_text.expose(), CORRECTED);
    assert!(record.assisted && record.identity_typed, "the registry knows it was 代办, typed");

    // Back to the clerk's menu, not to welcome; the queue view has it.
    h.press(intake::Event::Done);
    h.wait_for("clerk menu again", long, |v| v.screen == Some(Screen::ClerkMenu))?;
    h.press(intake::Event::ClerkQueue);
    let queue = h.wait_for("queue view", long, |v| {
        v.screen == Some(Screen::QueueView)
            && v.queue_rows.iter().any(|r| r.case_number == receipt)
    })?;
    let row = queue
        .queue_rows
        .iter()
        .find(|r| r.case_number == receipt)
        .expect("the row is there");
    assert_eq!(row.status, "已送达");
    assert!(!row.masked_id.contains(&ID[4..16]));
    h.press(intake::Event::Reprint(row.local_ref.clone()));
    // The printer simulator hands out lines as they are printed.
    let mut again = String::new();
    while !again.contains(&receipt) {
        again += &h.wait_printed_text(Duration::from_secs(20))?;
    }

    h.press(intake::Event::LeaveStaff);
    h.wait_for("welcome", long, |v| v.screen == Some(Screen::Welcome) && v.staff_mode.is_none())?;

    let text = log.text();
    for secret in [PIN, ID, NAME, "十九万元"] {
        assert!(!text.contains(secret), "{secret} leaked into the log");
    }
    Ok(())
}

/// Wrong PINs survive a restart: five of them lock the login, and after the
/// kiosk restarts (the power cut an attacker would try) the right PIN is
/// still refused with the lock's message, not given five new tries.
#[test]
fn the_pin_lockout_survives_a_restart() -> anyhow::Result<()> {
    let mut h = Harness::start(Options::default())?;
    let with_pin = |cfg: &mut kiosk::Config| {
        cfg.staff.clerk_pin_hash =
            kiosk::staff::hash_pin(&StaffPin::new(PIN)).expect("a six-digit PIN hashes");
    };
    h.restart_controller(with_pin)?;
    let long = Duration::from_secs(60);
    h.wait_for("welcome", long, |v| v.screen == Some(Screen::Welcome))?;
    h.press(intake::Event::StaffEntry);
    h.wait_for("PIN pad", long, |v| v.screen == Some(Screen::StaffLogin))?;
    for left in (1..=4).rev() {
        h.press(intake::Event::StaffPin(StaffPin::new("999999")));
        h.wait_for("a wrong PIN", long, |v| {
            v.message.contains(&format!("还可以再试 {left} 次"))
        })?;
    }
    h.press(intake::Event::StaffPin(StaffPin::new("999999")));
    h.wait_for("locked", long, |v| v.message.contains("密码错误次数过多"))?;

    h.restart_controller(with_pin)?;
    h.wait_for("welcome", long, |v| v.screen == Some(Screen::Welcome))?;
    h.press(intake::Event::StaffEntry);
    h.wait_for("PIN pad", long, |v| v.screen == Some(Screen::StaffLogin))?;
    h.press(intake::Event::StaffPin(StaffPin::new(PIN)));
    let v = h.wait_for("still locked", long, |v| v.message.contains("密码错误次数过多"))?;
    assert_eq!(v.screen, Some(Screen::StaffLogin), "the right PIN does not open it");
    h.press(intake::Event::Back);
    h.finish()
}
