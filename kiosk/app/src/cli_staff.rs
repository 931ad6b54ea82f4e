//! `kiosk staff hash-pin`: turns a staff PIN read from standard input into
//! the Argon2id line for the `[staff]` section of the configuration.
#![allow(clippy::print_stdout)] // A command-line tool: its output is the config line.

use std::io::BufRead;

use kiosk::staff::hash_pin;
use kiosk_privacy::StaffPin;

/// The `kiosk staff` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum StaffCmd {
    /// Read a PIN (6 to 12 digits) from standard input and print its hash.
    HashPin {
        /// Which key to print: clerk or technician.
        #[arg(long, default_value = "clerk")]
        role: String,
    },
}

pub fn run(cmd: StaffCmd) -> anyhow::Result<()> {
    match cmd {
        StaffCmd::HashPin { role } => {
            let key = match role.as_str() {
                "clerk" => "clerk_pin_hash",
                "technician" => "technician_pin_hash",
                other => anyhow::bail!("unknown role {other:?}: clerk or technician"),
            };
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            let pin = StaffPin::new(line.trim());
            line.clear();
            let hash = hash_pin(&pin)?;
            println!("{key} = \"{hash}\"");
            Ok(())
        }
    }
}
