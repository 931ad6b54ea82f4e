//! Every card of the simulator's library, every fault of its fault library
//! and the line speed detection, through SerialReader over a pty.

#![cfg(unix)]

mod common;

use std::time::{Duration, Instant};

use kiosk_idcard::sim::{self, wire_time, ReaderSim, SimCard, SimControl, SimFault};
use kiosk_idcard::{
    CardPoll, Date, DocType, IdCardReader, ReaderError, SerialOptions, SerialReader, Sex, Status,
    Validity,
};

use common::card;

const TIMEOUT: Duration = Duration::from_millis(400);

fn setup() -> (ReaderSim, SimControl, SerialReader) {
    common::setup(TIMEOUT)
}

#[test]
fn every_card_type_of_the_library_reads_back_exactly() {
    let (_sim, control, mut reader) = setup();
    control.set_baud(None);
    reader.set_read_fingerprint(true);
    let today = Date::new(2026, 11, 28).unwrap();
    for (name, sim_card) in SimCard::library() {
        control.insert(sim_card.clone());
        let id = card(reader.poll());
        assert_eq!(id.text, sim_card.text, "{name}");
        assert_eq!(id.extras, sim_card.extras, "{name}");
        assert_eq!(id.photo_wlt, sim_card.photo_wlt, "{name}");
        assert!(id.text.id_number_ok(), "{name}");
        // Asked for, the fingerprint block is there, empty when the card has none.
        assert_eq!(
            id.fingerprint.as_deref(),
            Some(sim_card.fingerprint.as_deref().unwrap_or(&[])),
            "{name}"
        );
        let expired = id.is_expired(today);
        assert_eq!(
            expired,
            name == "resident-expired" || name == "hmt-permit",
            "{name}"
        );
    }
}

#[test]
fn card_types_in_detail() {
    let (_sim, control, mut reader) = setup();
    control.set_baud(None);

    control.insert(SimCard::hmt_permit());
    let id = card(reader.poll());
    assert_eq!(id.text.doc_type, DocType::HmtPermit);
    assert!(id.text.id_number.expose().starts_with("810000"));
    assert_eq!(
        id.extras.pass_number.as_ref().map(|p| p.expose()),
        Some("H00000001")
    );
    assert_eq!(id.extras.issue_count, Some(1));
    assert_eq!(id.text.ethnicity, None);

    control.insert(SimCard::foreign_2017());
    let id = card(reader.poll());
    assert_eq!(id.text.doc_type, DocType::ForeignPermanent2017);
    assert_eq!(id.text.nationality.as_deref(), Some("CAN"));
    assert_eq!(id.text.name.expose(), "SPECIMEN, SAMPLE / 样例外");
    assert!(id.text.address.is_empty());

    control.insert(SimCard::foreign_2023());
    let id = card(reader.poll());
    assert_eq!(id.text.doc_type, DocType::ForeignPermanent2023);
    assert_eq!(id.text.sex, Sex::Female);
    assert_eq!(id.extras.renewal_count, Some(0));
    assert!(id
        .text
        .name
        .expose()
        .starts_with("SPECIMENSPECIMEN, SAMPLE SAMPLE SAMPLE TEST"));

    control.insert(SimCard::expired());
    let id = card(reader.poll());
    assert_eq!(id.text.valid_to, Date::new(2015, 3, 1).map(Validity::Until));
    assert!(id.is_expired(Date::new(2015, 3, 2).unwrap()));

    control.insert(SimCard::specimen());
    let id = card(reader.poll());
    assert_eq!(id.text.valid_to, Some(Validity::LongTerm));
    assert!(!id.is_expired(Date::new(2999, 1, 1).unwrap()));
}

#[test]
fn fingerprint_is_read_only_when_configured() {
    let (_sim, control, mut reader) = setup();
    control.set_baud(None);
    control.insert(SimCard::specimen().with_fingerprint(1024));
    let id = card(reader.poll());
    assert_eq!(
        id.fingerprint, None,
        "not configured: 30 01, no fingerprint"
    );
    reader.set_read_fingerprint(true);
    let id = card(reader.poll());
    assert_eq!(id.fingerprint.as_ref().map(Vec::len), Some(1024));
    assert_eq!(id.without_fingerprint().fingerprint, None);
    control.insert(SimCard::specimen().with_fingerprint(512));
    assert_eq!(card(reader.poll()).fingerprint.map(|f| f.len()), Some(512));
}

#[test]
fn appended_address_is_the_current_address() {
    let (_sim, control, mut reader) = setup();
    control.set_baud(None);
    control.insert(SimCard::specimen());
    let id = card(reader.poll());
    assert_eq!(id.current_address(), &id.text.address);
    control.set_appended_address(Some("北京市海淀区样例路9号"));
    let id = card(reader.poll());
    assert_eq!(id.current_address().expose(), "北京市海淀区样例路9号");
    assert_ne!(id.text.address.expose(), "北京市海淀区样例路9号");
}

#[test]
fn every_fault_of_the_library_is_typed_and_the_next_card_reads() {
    let (_sim, control, mut reader) = setup();
    control.set_baud(None);
    control.insert(SimCard::specimen());
    // Faults hit the read reply (after find and select).
    let faults = [
        SimFault::Garbage,
        SimFault::Truncated,
        SimFault::BadChecksum,
        SimFault::Status(Status::ReadFailed),
        SimFault::Status(Status::FindCardFailed),
        SimFault::Status(Status::SelectCardFailed),
        SimFault::RemovedMidRead,
        SimFault::Silence,
        SimFault::SlowSam(Duration::from_millis(600)),
    ];
    for fault in faults {
        control.insert(SimCard::specimen());
        control.inject_fault_after(2, fault);
        let res = reader.poll();
        let ok = match fault {
            SimFault::Garbage | SimFault::BadChecksum => {
                matches!(res, Err(ReaderError::BadFrame(_)))
            }
            SimFault::Truncated | SimFault::Silence | SimFault::SlowSam(_) => {
                matches!(res, Err(ReaderError::Timeout))
            }
            SimFault::Status(s) => matches!(res, Err(ReaderError::Status(got)) if got == s),
            SimFault::RemovedMidRead => matches!(res, Err(ReaderError::Status(Status::ReadFailed))),
            _ => false,
        };
        assert!(ok, "{fault:?} gave {res:?}");
        if fault == SimFault::RemovedMidRead {
            assert_eq!(reader.poll().unwrap(), CardPoll::NoCard);
            control.insert(SimCard::specimen());
        }
        let id = card(reader.poll());
        assert_eq!(id.text.name.expose(), "测试样例", "after {fault:?}");
    }
    // Status faults on find and select.
    control.inject_fault(SimFault::Status(Status::FindCardFailed));
    assert_eq!(reader.poll().unwrap(), CardPoll::NoCard);
    control.inject_fault_after(1, SimFault::Status(Status::SelectCardFailed));
    assert_eq!(reader.poll().unwrap(), CardPoll::NoCard);
    card(reader.poll());
}

#[test]
fn a_slow_sam_within_the_timeout_still_reads() {
    let (_sim, control, mut reader) = setup();
    control.insert(SimCard::specimen());
    control.set_sam_delay(Duration::from_millis(150));
    let started = Instant::now();
    card(reader.poll());
    // Wire time at 115200 plus the SAM's own time.
    assert!(started.elapsed() >= Duration::from_millis(150) + wire_time(1295, 115_200));
}

#[test]
fn replies_take_their_wire_time_at_the_simulated_speed() {
    assert_eq!(wire_time(1295, 115_200).as_millis(), 112);
    let (_sim, control, mut reader) = setup();
    control.insert(SimCard::specimen());
    reader.set_read_appended_address(false);
    let started = Instant::now();
    card(reader.poll());
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(112), "{took:?}");
    assert!(took < Duration::from_millis(400), "{took:?}");
}

#[test]
fn the_line_speed_is_detected_on_open() {
    let (_sim, control, path) = sim::spawn().expect("pty pair");
    control.set_baud(Some(9_600));
    // Configured 115200: the probe there gets noise, then 9600 answers.
    // A card read takes 1.35 s on the wire at 9600 baud.
    let mut reader =
        SerialReader::open(&path, 115_200, Duration::from_secs(3)).expect("open at 9600");
    assert_eq!(reader.baud_rate(), Some(9_600));
    control.insert(SimCard::specimen());
    reader.set_read_appended_address(false);
    card(reader.poll());
    drop(reader);

    // No rate that answers: a typed error naming the rates tried.
    control.set_baud(Some(57_600));
    let opts = SerialOptions::new(115_200, TIMEOUT);
    match SerialReader::open_with(&path, &opts) {
        Err(ReaderError::NoBaudRate { tried }) => assert_eq!(tried, [115_200, 9_600]),
        other => panic!("expected NoBaudRate, got {other:?}"),
    }
}

#[test]
fn unplug_gives_a_disconnect_error_and_reopening_the_same_path_works() {
    let (_sim, control, path) = sim::spawn().expect("pty pair");
    control.set_baud(None);
    let mut reader = SerialReader::open(&path, 115_200, TIMEOUT).expect("open");
    control.insert(SimCard::specimen());
    card(reader.poll());
    control.unplug();
    assert!(control.wait_plugged(false, Duration::from_secs(1)));
    let started = Instant::now();
    let err = reader.poll().unwrap_err();
    assert!(err.is_disconnect(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(SerialReader::open(&path, 115_200, TIMEOUT)
        .unwrap_err()
        .is_disconnect());
    control.replug();
    assert!(control.wait_plugged(true, Duration::from_secs(1)));
    let mut reader = SerialReader::open(&path, 115_200, TIMEOUT).expect("reopen");
    card(reader.poll());

    // Unplugged in the middle of a read.
    control.inject_fault_after(2, SimFault::Unplug);
    let err = reader.poll().unwrap_err();
    assert!(
        err.is_disconnect() || matches!(err, ReaderError::Timeout),
        "{err:?}"
    );
    assert!(reader.poll().unwrap_err().is_disconnect());
}

#[test]
fn random_line_noise_never_wedges_the_reader() {
    let (_sim, control, mut reader) = setup();
    control.set_baud(None);
    control.insert(SimCard::specimen());
    control.set_appended_address(Some("北京市海淀区样例路9号"));
    let started = Instant::now();
    for seed in 1..=40u64 {
        // Noise on find, select, read or appended address in turn.
        control.inject_fault_after(
            seed % 4,
            SimFault::Noise {
                seed,
                max_len: 1400,
            },
        );
        // Whatever the noise did, the poll ends (typed error or a card).
        let _ = reader.poll();
        let id = card(reader.poll());
        assert_eq!(id.text.name.expose(), "测试样例", "after noise {seed}");
        assert_eq!(id.current_address().expose(), "北京市海淀区样例路9号");
    }
    // Bounded: each noisy poll costs at most a reply timeout or two.
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "{:?}",
        started.elapsed()
    );
}
