//! SerialReader against the reader simulator over a pseudo-terminal.
//!
//! Every test runs its own simulator, so they can run in parallel.

#![cfg(unix)]

mod common;

use std::time::{Duration, Instant};

use kiosk_idcard::sim::{ReaderSim, SimCard, SimControl, SimFault};
use kiosk_idcard::{
    CardPoll, Date, DocType, FrameError, IdCardReader, ReaderError, SerialReader, Sex, Status,
    Validity,
};

use common::card;

const TIMEOUT: Duration = Duration::from_millis(250);

fn setup() -> (ReaderSim, SimControl, SerialReader) {
    common::setup(TIMEOUT)
}

#[test]
fn no_card_then_card_then_removed() {
    let (_sim, control, mut reader) = setup();
    assert_eq!(reader.poll().unwrap(), CardPoll::NoCard);

    control.insert(SimCard::specimen());
    let id = card(reader.poll());
    let text = &id.text;
    assert_eq!(text.doc_type, DocType::Resident);
    assert_eq!(text.name.expose(), "测试样例");
    assert_eq!(text.id_number.expose(), "11010519491231002X");
    assert_eq!(text.sex, Sex::Female);
    assert_eq!(text.ethnicity, Some("汉"));
    assert_eq!(text.birth, Date::new(1949, 12, 31));
    assert_eq!(
        text.address.expose(),
        "北京市西城区样例路1号样例小区2号楼3单元401室"
    );
    assert_eq!(text.authority, "北京市公安局西城分局");
    assert_eq!(text.valid_from, Date::new(2015, 3, 1));
    assert_eq!(text.valid_to, Some(Validity::LongTerm));
    assert!(text.id_number_ok());
    assert_eq!(id.photo_wlt, SimCard::specimen().photo_wlt);
    assert_eq!(id.appended_address, None);
    assert_eq!(control.reads_served(), 1);

    control.remove();
    assert_eq!(reader.poll().unwrap(), CardPoll::NoCard);
}

#[test]
fn specimen_with_other_data_and_appended_address() {
    let (_sim, control, mut reader) = setup();
    // SPECIMEN number with a digit check character; sequence 001 is odd, so male.
    control.insert(SimCard::specimen_with("样例二", "110101200001010010"));
    control.set_appended_address(Some("北京市海淀区样例路9号"));
    let id = card(reader.poll());
    assert_eq!(id.text.name.expose(), "样例二");
    assert_eq!(id.text.sex, Sex::Male);
    assert_eq!(id.text.birth, Date::new(2000, 1, 1));
    assert_eq!(
        id.appended_address.as_ref().map(|a| a.expose()),
        Some("北京市海淀区样例路9号")
    );

    reader.set_read_appended_address(false);
    assert_eq!(card(reader.poll()).appended_address, None);
}

#[test]
fn every_fault_is_typed_and_the_next_poll_works() {
    let (_sim, control, mut reader) = setup();
    control.insert(SimCard::specimen());
    let faults = [
        SimFault::BadChecksum,
        SimFault::Truncated,
        SimFault::Garbage,
        SimFault::Silence,
    ];
    for fault in faults {
        control.inject_fault(fault);
        let err = reader.poll().unwrap_err();
        let ok = match fault {
            SimFault::BadChecksum => {
                matches!(err, ReaderError::BadFrame(FrameError::BadChecksum { .. }))
            }
            SimFault::Garbage => matches!(err, ReaderError::BadFrame(FrameError::BadLength { .. })),
            SimFault::Truncated | SimFault::Silence => matches!(err, ReaderError::Timeout),
            _ => false,
        };
        assert!(ok, "{fault:?} gave {err:?}");
        let id = card(reader.poll());
        assert_eq!(id.text.name.expose(), "测试样例", "after {fault:?}");
    }
    // Faults on a no-card reply too.
    control.remove();
    control.inject_fault(SimFault::BadChecksum);
    assert!(matches!(reader.poll(), Err(ReaderError::BadFrame(_))));
    assert_eq!(reader.poll().unwrap(), CardPoll::NoCard);
}

#[test]
fn fault_on_the_read_reply_itself() {
    let (_sim, control, mut reader) = setup();
    control.insert(SimCard::specimen());
    control.set_appended_address(Some("北京市海淀区样例路9号"));
    let served = control.replies_served();
    card(reader.poll());
    // Find, select, read, appended address.
    assert_eq!(control.replies_served() - served, 4);
    let cases = [
        (2, SimFault::BadChecksum),
        (2, SimFault::Truncated),
        (2, SimFault::Garbage),
        (3, SimFault::Silence),
        (3, SimFault::BadChecksum),
    ];
    for (skip, fault) in cases {
        control.inject_fault_after(skip, fault);
        let res = reader.poll();
        assert!(
            matches!(res, Err(ReaderError::BadFrame(_) | ReaderError::Timeout)),
            "{fault:?} after {skip}: {res:?}"
        );
        let id = card(reader.poll());
        assert_eq!(id.text.name.expose(), "测试样例");
        assert!(id.appended_address.is_some());
    }
}

#[test]
fn card_pulled_between_steps() {
    let (_sim, control, mut reader) = setup();
    // Gone right after find card: select fails, which is no card.
    control.insert(SimCard::specimen());
    control.remove_after_replies(1);
    assert_eq!(reader.poll().unwrap(), CardPoll::NoCard);

    // Gone after select: the read fails with a typed status.
    control.insert(SimCard::specimen());
    control.remove_after_replies(2);
    assert!(matches!(
        reader.poll(),
        Err(ReaderError::Status(Status::ReadFailed))
    ));
    assert_eq!(reader.poll().unwrap(), CardPoll::NoCard);
}

#[test]
fn works_as_a_trait_object_and_is_fast() {
    let (_sim, control, reader) = setup();
    control.insert(SimCard::specimen());
    let mut reader: Box<dyn IdCardReader> = Box::new(reader);
    let started = Instant::now();
    for _ in 0..10 {
        card(reader.poll());
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(control.reads_served(), 10);
}

#[test]
fn nothing_personal_in_debug_or_errors() {
    let (_sim, control, mut reader) = setup();
    control.insert(SimCard::specimen());
    control.set_appended_address(Some("北京市海淀区样例路9号"));
    let id = card(reader.poll());
    let shown = format!("{id:?} {:?} {reader:?}", SimCard::specimen());
    for secret in ["测试", "样例", "1101051949", "北京市", "1949", "汉"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    let errors = [
        ReaderError::Timeout,
        ReaderError::Status(Status::ReadFailed),
        ReaderError::BadFrame(FrameError::BadLength { len: 9999 }),
        ReaderError::Decode(kiosk_idcard::TextError::BadDate { field: "birth" }),
    ];
    for e in errors {
        let msg = e.to_string();
        assert!(msg.is_ascii() && !msg.ends_with('.'), "{msg}");
    }
}

#[test]
fn opening_a_missing_port_is_a_typed_error() {
    let res = SerialReader::open(
        std::path::Path::new("/dev/kiosk-no-such-port"),
        115_200,
        TIMEOUT,
    );
    assert!(matches!(res, Err(ReaderError::Open(_))));
}
