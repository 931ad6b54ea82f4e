//! Bench bring-up of a real printer: status, then optionally a SPECIMEN
//! receipt. `cargo run -p kiosk-printer --example printer_check -- /dev/kiosk/printer [print]`
//! (the `kiosk printer status|test` subcommands do the same on a terminal).
#![allow(clippy::print_stdout)] // A bring-up tool: its output is for the technician.

use std::path::PathBuf;

use kiosk_printer::{EscPosPrinter, PrinterConfig, ReceiptPrinter};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(
        args.next()
            .unwrap_or_else(|| kiosk_printer::DEFAULT_DEVICE.to_string()),
    );
    let print = args.next().as_deref() == Some("print");
    let mut printer = EscPosPrinter::open(PrinterConfig {
        path,
        ..PrinterConfig::default()
    })?;
    let status = printer.status()?;
    println!("status: {status} — {}", status.message_zh());
    if print {
        let outcome = printer.print(&kiosk_printer::specimen_receipt(None).to_job()?)?;
        println!("receipt: {outcome} — {}", outcome.message_zh());
    }
    Ok(())
}
