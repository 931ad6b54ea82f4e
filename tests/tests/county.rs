//! The county's side of a petition, end to end: a registration made at the
//! kiosk appears in the staff console; a clerk accepts it with a 受理告知书;
//! the petitioner's card on "查询进度 / 评价" shows the notice and the
//! terminal prints it (read back from the printer simulator's paper: the
//! text, the case number and the QR code); the clerk answers and closes the
//! case; the petitioner's rating reaches the case page. A late printer
//! report never reaches the next visitor.

use std::time::Duration;

use anyhow::{bail, Context};
use intake::{Event, Screen};
use kiosk_e2e::{progress_row, Harness, Options};
use kiosk_idcard::sim::SimCard;

const LONG: Duration = Duration::from_secs(60);

const ACCEPTANCE: &str = "测试样例：\n\n　　您反映的土地承包问题（SPECIMEN），经审查符合受理条件，本机关决定予以受理，将在60日内书面答复。";
const ANSWER: &str = "测试样例：经核实，SPECIMEN 村委会已重新丈量并登记承包地。";

#[test]
fn a_kiosk_registration_is_accepted_in_the_console_its_notice_printed_and_its_rating_reaches_the_case(
) -> anyhow::Result<()> {
    let h = Harness::start(Options::default())?;
    let clerk = h.console_clerk()?;

    // The petitioner registers at the kiosk.
    h.visit(SimCard::specimen(), "land", 1)?;
    let case = h.wait_case_number(Duration::from_secs(30))?.case_number;
    h.wait_printed_text(Duration::from_secs(20))
        .context("the receipt")?;
    h.printer.control.take_pages();
    h.finish()?;

    // It appears in the console's list, and its page shows who and what.
    let list = clerk.page("/console/cases?status=registered")?;
    assert!(
        list.contains(&case),
        "the case is not in the console's list"
    );
    let page = clerk.page(&format!("/console/cases/{case}"))?;
    let name = SimCard::specimen().text.name.expose().to_owned();
    assert!(page.contains(&name), "the case page lacks the petitioner");
    assert!(
        page.contains("/pages/1"),
        "the case page lacks the page image"
    );

    // The clerk accepts it with its notice.
    clerk.change(&case, "registered", "accepted", ACCEPTANCE)?;

    // The petitioner's card shows the notice, and the terminal prints it.
    let v = h.query_progress()?;
    let row = progress_row(&v, &case)?;
    assert_eq!(row.status, "已受理");
    assert_eq!(row.notice_title, "受理告知书");
    assert_eq!(row.notice_text, ACCEPTANCE);
    h.press(Event::PrintNotice(case.clone()));
    let printed = h.wait_printed_text(Duration::from_secs(20))?;
    assert!(printed.contains("受理告知书"), "{printed}");
    assert!(printed.contains(&format!("登记编号：{case}")), "{printed}");
    // The printer wraps the text at 24 characters a line.
    assert!(
        printed.replace('\n', "").contains("经审查符合受理条件"),
        "{printed}"
    );
    assert!(
        !printed.contains(SimCard::specimen().text.id_number.expose()),
        "the notice carries no ID number"
    );
    let pages = h.printer.control.take_pages();
    let [paper] = &pages[..] else {
        bail!("{} strips cut for one notice", pages.len());
    };
    assert!(paper.complete);
    assert_eq!(
        paper.qr_codes(),
        [case.clone()],
        "the QR carries the case number"
    );
    paper.save_png(
        &std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("county-notice.png"),
    )?;
    h.wait_for("printed", LONG, |v| v.message.contains("告知书已打印"))?;

    // The printer runs out of paper: the petitioner is told, the screen
    // keeps the notice, and nothing is lost for the next press.
    h.printer.control.set_status(kiosk_printer::PrinterStatus {
        paper_out: true,
        ..Default::default()
    });
    h.press(Event::PrintNotice(case.clone()));
    h.wait_for("paper out", LONG, |v| {
        v.message.contains("缺纸") && v.message.contains("接待窗口")
    })?;
    h.printer
        .control
        .set_status(kiosk_printer::PrinterStatus::READY);
    h.press(Event::Done);

    // The clerk answers and closes the case.
    clerk.change(&case, "accepted", "answered", ANSWER)?;
    clerk.change(&case, "answered", "closed", "")?;

    // The petitioner rates it at the kiosk; the rating reaches the case page.
    let v = h.query_progress()?;
    let row = progress_row(&v, &case)?;
    assert_eq!(row.status, "已办结");
    assert_eq!(row.notice_title, "答复意见书", "the latest notice is shown");
    assert!(row.can_rate);
    h.press(Event::RateCase(case.clone()));
    h.wait_for("rating", LONG, |v| v.screen == Some(Screen::Rating))?;
    h.press(Event::RatingScore(4));
    h.press(Event::RatingReason("resolved".into()));
    h.wait_for("score", LONG, |v| v.rating_score == 4)?;
    h.press(Event::SubmitRating);
    h.wait_for("thanks", LONG, |v| v.message.contains("感谢"))?;
    h.press(Event::Done);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let page = clerk.page(&format!("/console/cases/{case}"))?;
        if page.contains("4 分 · 满意</strong>（问题已解决）") {
            break;
        }
        if std::time::Instant::now() > deadline {
            let shown = page
                .find("信访人评价")
                .map(|at| &page[at..(at + 300).min(page.len())]);
            bail!("the rating never reached the case page: {shown:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

#[test]
fn a_notice_still_printing_when_the_visit_ends_is_never_reported_to_the_next_visitor(
) -> anyhow::Result<()> {
    let h = Harness::start(Options::default())?;
    let clerk = h.console_clerk()?;
    h.visit(SimCard::specimen(), "land", 1)?;
    let case = h.wait_case_number(Duration::from_secs(30))?.case_number;
    h.wait_printed_text(Duration::from_secs(20))?;
    h.finish()?;
    clerk.change(&case, "registered", "accepted", ACCEPTANCE)?;

    // The printer answers nothing for a while: the notice's report comes late.
    h.query_progress()?;
    h.printer.control.set_silent(true);
    h.press(Event::PrintNotice(case.clone()));
    h.wait_for("printing", LONG, |v| v.message.contains("正在打印告知书"))?;
    h.press(Event::Done);
    h.reader.control.remove();
    h.wait_for("welcome", LONG, |v| v.screen == Some(Screen::Welcome))?;
    // The next visitor starts a registration; the printer comes back.
    h.press(Event::Start);
    h.wait_for("card", LONG, |v| v.screen == Some(Screen::Card))?;
    h.printer.control.set_silent(false);
    std::thread::sleep(Duration::from_secs(4));
    let v = h.view();
    assert_eq!(v.screen, Some(Screen::Card));
    assert!(
        !v.message.contains("告知书"),
        "the last visitor's notice report reached the next: {}",
        v.message
    );
    Ok(())
}
