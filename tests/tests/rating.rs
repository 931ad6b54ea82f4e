//! The progress query and the satisfaction rating end to end: a petitioner
//! registers, the registry closes the case, the same card on "查询进度 / 评价"
//! lists it as 已办结, a rating of 4 with a reason is queued and stored by the
//! registry exactly once, also when the registry is down while rating.

use std::time::{Duration, Instant};

use anyhow::bail;
use intake::{Event, Screen};
use kiosk::ViewModel;
use kiosk_e2e::{progress_row, CapturedLog, Harness, Options, RegistryReader};
use kiosk_idcard::sim::SimCard;

const LONG: Duration = Duration::from_secs(60);

/// Registers one case with the specimen card and returns its case number.
fn register(h: &Harness) -> anyhow::Result<String> {
    h.visit(SimCard::specimen(), "land", 1)?;
    let receipt = h.wait_case_number(Duration::from_secs(30))?;
    h.finish()?;
    Ok(receipt.case_number)
}

/// Opens the rating of `case`, chooses 4 and "问题已解决", and submits.
fn rate(h: &Harness, case: &str, before_submit: impl FnOnce()) -> anyhow::Result<ViewModel> {
    h.press(Event::RateCase(case.into()));
    h.wait_for("rating", LONG, |v| v.screen == Some(Screen::Rating))?;
    h.press(Event::RatingScore(4));
    h.press(Event::RatingReason("resolved".into()));
    h.wait_for("score and reason", LONG, |v| {
        v.rating_score == 4 && v.rating_reasons.get(2) == Some(&true)
    })?;
    before_submit();
    h.press(Event::SubmitRating);
    h.wait_for("thanks", LONG, |v| {
        v.screen == Some(Screen::Progress) && v.message.contains("感谢")
    })
}

fn wait_ratings(reg: &RegistryReader, n: u64, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if reg.rating_count().unwrap_or(0) == n {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the registry never held {n} rating(s)");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_closed_case_is_rated_once_and_shows_as_rated_on_the_next_query() -> anyhow::Result<()> {
    let log = CapturedLog::install();
    let h = Harness::start(Options::default())?;
    let reg = RegistryReader::new(h.registry_addr)?;
    let case = register(&h)?;

    // Still open: listed, but nothing to rate.
    let v = h.query_progress()?;
    let row = progress_row(&v, &case)?;
    assert_eq!(row.status, "已登记");
    assert!(!row.can_rate);
    h.press(Event::Done);

    reg.set_status(&case, "closed")?;
    let v = h.query_progress()?;
    assert!(v.person_name.is_empty(), "the query shows no identity");
    let row = progress_row(&v, &case)?;
    assert_eq!(row.status, "已办结");
    assert!(row.can_rate && !row.rated);
    let v = rate(&h, &case, || {})?;
    let row = progress_row(&v, &case)?;
    assert!(row.rated && !row.can_rate, "已评价 after the rating");
    h.press(Event::Done);
    h.wait_for("welcome", LONG, |v| {
        v.screen == Some(Screen::Welcome) && v.progress.is_empty()
    })?;

    wait_ratings(&reg, 1, Duration::from_secs(20))?;
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(reg.rating_count()?, 1, "stored exactly once");
    // Once the registry has it, the terminal keeps no row of who rated what.
    let queue = kiosk_queue::Queue::open(&h.cfg.queue.path)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !queue.ratings()?.is_empty() {
        if Instant::now() > deadline {
            bail!("the acknowledged rating was not deleted: {:?}", queue.ratings()?);
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    // The registry's history now carries the rating: rated on a later visit too.
    let v = h.query_progress()?;
    let row = progress_row(&v, &case)?;
    assert!(row.rated && !row.can_rate);
    h.press(Event::Cancel);
    let id_number = SimCard::specimen().text.id_number.expose().to_string();
    assert!(
        !log.text().contains(&id_number),
        "a log line holds the ID number"
    );
    Ok(())
}

#[test]
fn a_rating_made_while_the_registry_is_down_is_sent_once_after_recovery() -> anyhow::Result<()> {
    let mut h = Harness::start(Options::default())?;
    let reg = RegistryReader::new(h.registry_addr)?;
    let case = register(&h)?;
    reg.set_status(&case, "closed")?;
    h.query_progress()?;
    // The registry goes down between the list and the submit.
    let registry = h.registry.take();
    rate(&h, &case, move || drop(registry))?;
    h.press(Event::Done);

    let queue = kiosk_queue::Queue::open(&h.cfg.queue.path)?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while queue.ratings()?.first().is_none_or(|r| r.attempts == 0) {
        if Instant::now() > deadline {
            bail!("the rating was never tried");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let rows = queue.ratings()?;
    assert_ne!(rows[0].status, "acknowledged");
    assert_ne!(rows[0].status, "failed", "a network failure is retried");

    h.start_registry()?;
    wait_ratings(&reg, 1, Duration::from_secs(30))?;
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(reg.rating_count()?, 1, "stored exactly once");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !queue.ratings()?.is_empty() {
        if Instant::now() > deadline {
            bail!("the queue never recorded the acknowledgement");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}
