//! Helpers shared by the reader tests: a serial reader opened on a fresh
//! simulator, and unwrapping a poll that must have read a card.

use std::time::Duration;

use kiosk_idcard::sim::{self, ReaderSim, SimControl};
use kiosk_idcard::{CardPoll, Identity, ReaderError, SerialReader};

/// A simulator on a pseudo-terminal and a reader opened on it with `timeout`.
pub fn setup(timeout: Duration) -> (ReaderSim, SimControl, SerialReader) {
    let (sim, control, path) = sim::spawn().expect("pty pair");
    let reader = SerialReader::open(&path, 115_200, timeout).expect("open slave");
    (sim, control, reader)
}

/// The identity of a poll that must have read a card.
pub fn card(poll: Result<CardPoll, ReaderError>) -> Identity {
    match poll {
        Ok(CardPoll::Card(identity)) => identity,
        other => panic!("expected a card, got {other:?}"),
    }
}
