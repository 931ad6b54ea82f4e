//! `kiosk printer status|test`: receipt printer checks for technicians.
//!
//! `status` asks the printer (DLE EOT) and prints its state with the
//! message the screen would show. `test` prints a SPECIMEN receipt or
//! queue ticket; in builds with the feature `demo` (never the shipped
//! kiosk), `--sim PNG` prints on the printer simulator instead and writes
//! the paper to PNG, to check a layout without a printer.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand};
use kiosk_printer::escpos::QrMode;
use kiosk_printer::{
    error_message_zh, specimen_receipt, specimen_ticket, EscPosPrinter, PrinterConfig,
    PrinterError, ReceiptPrinter,
};

/// The printer subcommands.
#[derive(Debug, Subcommand)]
pub enum PrinterCmd {
    /// Ask the printer for its status (paper, cover, online).
    Status(DeviceArgs),
    /// Print a SPECIMEN receipt (or queue ticket).
    Test {
        #[command(flatten)]
        device: DeviceArgs,
        /// Print a queue ticket instead of a receipt.
        #[arg(long)]
        ticket: bool,
        /// Print the receipt with a case number (default: the offline receipt).
        #[arg(long)]
        acknowledged: bool,
        /// Print on the simulator and write the paper to this PNG.
        #[cfg(feature = "demo")]
        #[arg(long, value_name = "PNG")]
        sim: Option<PathBuf>,
    },
    /// For the clerk: list the latest receipts, or reprint one by its local reference.
    Reprint {
        /// The local reference on the receipt; without it, the latest receipts are listed.
        local_ref: Option<String>,
    },
}

/// Where the printer is.
#[derive(Debug, Args)]
pub struct DeviceArgs {
    /// Serial port or USB printer device.
    #[arg(long, default_value = kiosk_printer::DEFAULT_DEVICE)]
    device: PathBuf,
    /// Serial speed.
    #[arg(long, default_value_t = 115_200)]
    baud: u32,
    /// Print QR codes as raster images (printers without GS ( k).
    #[arg(long)]
    raster_qr: bool,
}

impl DeviceArgs {
    fn config(&self) -> PrinterConfig {
        PrinterConfig {
            path: self.device.clone(),
            baud: self.baud,
            qr: if self.raster_qr {
                QrMode::Raster
            } else {
                QrMode::Native
            },
            ..PrinterConfig::default()
        }
    }
}

/// Runs one printer subcommand.
pub fn run(cmd: PrinterCmd) -> anyhow::Result<()> {
    match cmd {
        PrinterCmd::Reprint { .. } => {
            anyhow::bail!("reprint needs the configuration: run it as `kiosk printer reprint`")
        }
        PrinterCmd::Status(device) => status(&device),
        PrinterCmd::Test {
            device,
            ticket,
            acknowledged,
            #[cfg(feature = "demo")]
            sim,
        } => {
            #[cfg(feature = "demo")]
            if let Some(png) = sim {
                return test_on_simulator(&device, ticket, acknowledged, &png);
            }
            let mut printer = open(&device)?;
            test_print(&mut printer, ticket, acknowledged)
        }
    }
}

/// `test --sim PNG`: the test print on the printer simulator, its paper written to `png`.
#[cfg(feature = "demo")]
fn test_on_simulator(
    device: &DeviceArgs,
    ticket: bool,
    acknowledged: bool,
    png: &std::path::Path,
) -> anyhow::Result<()> {
    use kiosk_printer::sim::{self, SimConfig};
    let cfg = SimConfig {
        native_qr: !device.raster_qr,
        ..SimConfig::default()
    };
    let (sim, ctl) = sim::spawn_with(cfg).context("cannot start the printer simulator")?;
    let mut printer = EscPosPrinter::open(PrinterConfig {
        path: sim.path().to_path_buf(),
        ..device.config()
    })?;
    test_print(&mut printer, ticket, acknowledged)?;
    let page = ctl
        .take_pages()
        .pop()
        .context("the simulator cut no paper")?;
    page.save_png(png)
        .with_context(|| format!("cannot write {}", png.display()))?;
    println!(
        "paper written to {} ({}×{} dots)",
        png.display(),
        page.image.width(),
        page.image.height()
    );
    Ok(())
}

fn open(device: &DeviceArgs) -> anyhow::Result<EscPosPrinter> {
    EscPosPrinter::open(device.config()).map_err(|e| report(&e))
}

fn report(e: &PrinterError) -> anyhow::Error {
    println!("screen: {}", error_message_zh(e));
    anyhow::anyhow!("printer: {e}")
}

fn status(device: &DeviceArgs) -> anyhow::Result<()> {
    let mut printer = open(device)?;
    let started = Instant::now();
    let status = printer.status().map_err(|e| report(&e))?;
    println!(
        "printer {}: {status} (answered in {:.0?})",
        device.device.display(),
        started.elapsed()
    );
    println!("screen: {}", status.message_zh());
    Ok(())
}

fn test_print(printer: &mut EscPosPrinter, ticket: bool, acknowledged: bool) -> anyhow::Result<()> {
    let job = if ticket {
        specimen_ticket().to_job()?
    } else {
        specimen_receipt(acknowledged.then_some("XF20261128-000123")).to_job()?
    };
    let started = Instant::now();
    let outcome = printer.print(&job).map_err(|e| report(&e))?;
    println!(
        "{}: {} in {:.0?} ({} bytes)",
        if ticket { "queue ticket" } else { "receipt" },
        outcome,
        started.elapsed(),
        printer.encode(&job).len()
    );
    println!("screen: {}", outcome.message_zh());
    Ok(())
}

/// Lists the receipts the queue knows (masked), or reprints one on the configured printer.
pub fn reprint(cfg: &kiosk::Config, local_ref: Option<&str>) -> anyhow::Result<()> {
    let queue = kiosk_queue::Queue::open(&cfg.queue.path)
        .with_context(|| format!("cannot open queue {}", cfg.queue.path.display()))?;
    let Some(local_ref) = local_ref else {
        for r in queue.recent_receipts(20)? {
            println!(
                "{}  {}  {}  {} pages  {}",
                r.local_ref,
                r.sealed_at,
                kiosk::view::category_label(&r.category),
                r.page_count,
                r.case_number.as_deref().unwrap_or("(number follows)")
            );
        }
        return Ok(());
    };
    let r = queue
        .receipt(local_ref)?
        .with_context(|| format!("no receipt {local_ref} in the queue"))?;
    let receipt = kiosk::staff::receipt_for(&r, &cfg.terminal.id, &cfg.terminal.hall_name);
    let job = receipt.to_job()?;
    let mut printer = EscPosPrinter::open(cfg.printer.printer_config())
        .map_err(|e| anyhow::anyhow!("{}: {e}", kiosk_printer::error_message_zh(&e)))?;
    match kiosk_printer::ReceiptPrinter::print(&mut printer, &job) {
        Ok(outcome) => println!("{outcome:?}"),
        Err(e) => anyhow::bail!("{}: {e}", kiosk_printer::error_message_zh(&e)),
    }
    Ok(())
}
