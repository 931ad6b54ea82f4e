//! `kiosk diagnostics`: the technician's view of the terminal's health from a
//! shell, and the diagnostics bundle written to a directory.
//!
//! `kiosk diagnostics status` prints the technician screen's rows;
//! `kiosk diagnostics export --to DIR` writes the bundle (see
//! [`crate::diagnostics`]), and without `--to` to the first USB stick. Run
//! from a shell, this process sees the queue, the disk and the configuration;
//! the devices and the registry link are watched by the running kiosk, so
//! their rows say "unknown" here (the screen's button includes them).
#![allow(clippy::print_stdout)] // A command-line tool: its output is for the technician.

use std::path::PathBuf;

use crate::diagnostics::{self, BundleInputs, LogSource};
use crate::health::{self, Health, Mark, Sources};
use crate::Config;

/// The `kiosk diagnostics` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum DiagnosticsCmd {
    /// Print the status rows of the technician screen.
    Status,
    /// Write the diagnostics bundle (.tar.gz, personal data redacted).
    Export {
        /// The directory to write to; without it, the first USB stick.
        #[arg(long, value_name = "DIR")]
        to: Option<PathBuf>,
    },
}

/// Runs one `kiosk diagnostics` subcommand.
pub fn run(cfg: &Config, cmd: &DiagnosticsCmd) -> anyhow::Result<()> {
    // Opening creates a database: only an existing queue is read.
    let queue = cfg
        .queue
        .path
        .exists()
        .then(|| kiosk_queue::Queue::open(&cfg.queue.path).ok())
        .flatten();
    let snapshot = Health::default().snapshot(&Sources {
        cfg,
        queue: queue.as_ref(),
        contact: None,
    });
    match cmd {
        DiagnosticsCmd::Status => {
            for r in health::rows(&snapshot) {
                let mark = match r.mark {
                    Mark::Ok => "ok  ",
                    Mark::Warn => "WARN",
                    Mark::Bad => "BAD ",
                };
                println!("{mark} {}", r.text);
            }
        }
        DiagnosticsCmd::Export { to } => {
            let dir = match to {
                Some(dir) => dir.clone(),
                None => diagnostics::usb_target(cfg)?,
            };
            let path = diagnostics::write_bundle(
                &dir,
                &BundleInputs {
                    snapshot: &snapshot,
                    cfg,
                    config_path: cfg.source.as_deref(),
                    queue: queue.as_ref(),
                    logs: LogSource::from_config(cfg),
                },
            )?;
            println!("diagnostics bundle written to {}", path.display());
        }
    }
    Ok(())
}
