//! Benchmark: card placed → identity decoded, over the reader simulator on
//! a pty at 115200 baud with a simulated SAM delay. Prints, per read, the
//! wire time of every request and reply at that speed, the SAM delay, our
//! overhead (everything else: our serial transport and codec, plus the pty
//! and the simulator thread, so an upper bound) and the total; then the
//! pure codec time of one read reply.
//!
//! ```text
//! cargo run --release -p kiosk-idcard --example idcard_bench -- [reads] [sam_delay_ms]
//! ```
//!
//! The issue's budget: wire time for the 1295-byte read reply is ~113 ms;
//! our overhead on top of wire and SAM time must stay under 20 ms.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::{Duration, Instant};

use idcard_proto::{
    decode_text, encode_read_reply, encode_reply, encode_text, split_read_reply, Decoder, Status,
};
use kiosk_idcard::sim::{self, wire_time, SimCard};
use kiosk_idcard::{CardPoll, IdCardReader, SerialReader};

const BAUD: u32 = 115_200;

fn main() {
    let mut args = std::env::args().skip(1);
    let reads: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(20);
    let sam_ms: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(50);
    let sam = Duration::from_millis(sam_ms);

    let (_sim, control, path) = sim::spawn().expect("simulator");
    control.set_baud(Some(BAUD));
    control.set_sam_delay(sam);
    control.set_appended_address(None);
    let mut reader = SerialReader::open(&path, BAUD, Duration::from_millis(1500)).expect("open");

    // One poll: find, select, read (30 01), appended address (30 03) →
    // replies of 15, 19, 1295 and 11 bytes, paced by the simulator; the
    // four 10-byte requests (3.5 ms on a real line) are not simulated.
    let wire_bytes = 15 + 19 + 1295 + 11;
    let wire = wire_time(wire_bytes, BAUD);

    let mut totals = Vec::with_capacity(reads);
    for _ in 0..reads {
        control.insert(SimCard::specimen());
        let started = Instant::now();
        match reader.poll() {
            Ok(CardPoll::Card(_)) => totals.push(started.elapsed()),
            other => panic!("read failed: {other:?}"),
        }
    }
    totals.sort();
    let median = totals[totals.len() / 2];
    let worst = totals[totals.len() - 1];
    let overhead = |t: Duration| t.saturating_sub(wire + sam);
    println!("card read over a pty at {BAUD} baud, {reads} reads, SAM delay {sam_ms} ms");
    println!(
        "  wire time   {:>7.1} ms  ({wire_bytes} reply bytes; the read reply alone {:.1} ms)",
        ms(wire),
        ms(wire_time(1295, BAUD))
    );
    println!("  SAM delay   {:>7.1} ms", ms(sam));
    println!(
        "  overhead    {:>7.1} ms median, {:.1} ms worst  (budget 20 ms)",
        ms(overhead(median)),
        ms(overhead(worst))
    );
    println!(
        "  total       {:>7.1} ms median, {:.1} ms worst",
        ms(median),
        ms(worst)
    );

    // The codec alone: decode a 1295-byte reply fed in 64-byte pieces.
    let mut frame = Vec::new();
    let card = SimCard::specimen();
    encode_reply(
        Status::Ok,
        &encode_read_reply(&encode_text(&card.text), &card.photo_wlt, None),
        &mut frame,
    );
    let n = 10_000;
    let started = Instant::now();
    for _ in 0..n {
        let mut d = Decoder::new();
        for piece in frame.chunks(64) {
            d.push(piece);
        }
        let f = d.next_frame().and_then(Result::ok).expect("frame");
        let parts = split_read_reply(&f.data, false).expect("split");
        std::hint::black_box(decode_text(&parts.text).expect("text"));
    }
    println!(
        "  codec       {:>7.1} µs per read reply (decode, split, text)",
        started.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
