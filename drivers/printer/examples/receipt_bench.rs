//! How long printing a receipt adds to the intake path: the whole
//! `ReceiptPrinter::print` call (status before, the job at 115200 baud,
//! status after) against the simulator, native QR and raster fallback.
//!
//! `cargo run --release -p kiosk-printer --example receipt_bench`
#![allow(clippy::print_stdout)] // A benchmark: its output is the figures.

use std::time::{Duration, Instant};

use kiosk_printer::escpos::QrMode;
use kiosk_printer::sim::{self, SimConfig};
use kiosk_printer::{wire_time, EscPosPrinter, PrinterConfig, ReceiptPrinter};

const RUNS: usize = 5;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let job = kiosk_printer::specimen_receipt(None).to_job()?;
    for (qr, native) in [(QrMode::Native, true), (QrMode::Raster, false)] {
        let (sim, ctl) = sim::spawn_with(SimConfig {
            native_qr: native,
            ..SimConfig::default()
        })?;
        let cfg = PrinterConfig {
            path: sim.path().to_path_buf(),
            qr,
            ..PrinterConfig::default()
        };
        let mut printer = EscPosPrinter::open(cfg)?;
        let n_bytes = printer.encode(&job).len();
        let started = Instant::now();
        printer.status()?;
        let status_time = started.elapsed();
        let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let started = Instant::now();
            printer.print(&job)?;
            times.push(started.elapsed());
        }
        times.sort();
        let pages = ctl.take_pages();
        println!(
            "receipt, {qr:?} QR: {n_bytes} bytes (wire {:.0} ms at 115200 baud); status query {:.1} ms; \
             print min {:.0} ms, median {:.0} ms, max {:.0} ms over {RUNS} runs; {} pages cut; {}",
            wire_time(n_bytes, 115_200).as_secs_f64() * 1e3,
            status_time.as_secs_f64() * 1e3,
            times[0].as_secs_f64() * 1e3,
            times[RUNS / 2].as_secs_f64() * 1e3,
            times[RUNS - 1].as_secs_f64() * 1e3,
            pages.len(),
            if times[RUNS - 1] < Duration::from_secs(1) { "under 1 s" } else { "OVER 1 s" },
        );
    }
    Ok(())
}
