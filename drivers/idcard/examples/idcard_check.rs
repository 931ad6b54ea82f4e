//! Bench bring-up: opens the reader at the path given, polls once and prints
//! the masked result.
//!
//! ```text
//! cargo run -p kiosk-idcard --example idcard_check -- /dev/kiosk/idcard [baud]
//! ```

// A bench tool talks to the person at the bench on stdout and stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use kiosk_idcard::{CardPoll, IdCardReader, SerialReader};

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(path) = args.next().map(PathBuf::from) else {
        eprintln!("usage: idcard_check <serial path> [baud]");
        return ExitCode::from(2);
    };
    let baud = match args.next().map(|b| b.to_string_lossy().parse::<u32>()) {
        None => 115_200,
        Some(Ok(b)) => b,
        Some(Err(_)) => {
            eprintln!("baud must be a number");
            return ExitCode::from(2);
        }
    };
    let mut reader = match SerialReader::open(&path, baud, Duration::from_secs(2)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: {e}: {}", path.display(), source_chain(&e));
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let res = reader.poll();
    let elapsed = started.elapsed();
    match res {
        Ok(CardPoll::NoCard) => println!("no card ({elapsed:?})"),
        Ok(CardPoll::Card(id)) => {
            // Debug output of the card is masked; the valid flags are not personal.
            println!("card read in {elapsed:?}");
            println!("{id:#?}");
            println!("id number well-formed: {}", id.text.id_number_ok());
            println!("photo: {} bytes", id.photo_wlt.len());
        }
        Err(e) => {
            eprintln!("poll failed after {elapsed:?}: {e}: {}", source_chain(&e));
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut parts = Vec::new();
    let mut cur = e.source();
    while let Some(s) = cur {
        parts.push(s.to_string());
        cur = s.source();
    }
    if parts.is_empty() {
        "-".to_string()
    } else {
        parts.join(": ")
    }
}
