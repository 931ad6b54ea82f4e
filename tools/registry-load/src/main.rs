//! `registry-load`: runs the load scenarios against the `registry` binary on
//! SQLite and on PostgreSQL and prints the table (see README.md).
//!
//! `registry-load` runs the full set (200 terminals at 1×, 10×, 30× and 100×
//! the hall's peak, then doubling while p99 stays under 1 s, 60 s each);
//! `registry-load --quick` a short smoke run.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use registry_load::{Backend, Options};

/// Load generator for the registry.
#[derive(Debug, Parser)]
#[command(about)]
struct Args {
    /// The `registry` binary [default: next to this one].
    #[arg(long)]
    registry: Option<PathBuf>,
    /// Simulated terminals.
    #[arg(long, default_value_t = 200)]
    terminals: usize,
    /// Rates as multiples of the hall's peak (one registration per terminal every 3 minutes).
    #[arg(long, value_delimiter = ',', default_value = "1,10,30,100")]
    rates: Vec<f64>,
    /// Seconds each scenario sends.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Doubling steps after the last rate while it is within target.
    #[arg(long, default_value_t = 3)]
    find_limit: usize,
    /// Only this database (`sqlite` or `postgres`); both by default.
    #[arg(long)]
    only: Option<String>,
    /// A short run: 20 terminals at 100×, 5 s per database.
    #[arg(long)]
    quick: bool,
}

#[allow(clippy::print_stdout)]
fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let registry = match args.registry {
        Some(path) => path,
        None => registry_load::registry_next_to_me()
            .context("no `registry` next to this binary: build it (cargo build -p registry) or pass --registry")?,
    };
    let backends = match args.only.as_deref() {
        None => vec![Backend::Sqlite, Backend::Postgres],
        Some("sqlite") => vec![Backend::Sqlite],
        Some("postgres") => vec![Backend::Postgres],
        Some(other) => anyhow::bail!("--only takes sqlite or postgres, not {other}"),
    };
    let opts = if args.quick {
        Options {
            registry,
            backends,
            terminals: 20,
            multipliers: vec![100.0],
            duration: Duration::from_secs(5),
            find_limit: 0,
        }
    } else {
        Options {
            registry,
            backends,
            terminals: args.terminals,
            multipliers: args.rates,
            duration: Duration::from_secs(args.seconds),
            find_limit: args.find_limit,
        }
    };
    let rows = registry_load::run(&opts)?;
    println!("{}", registry_load::table(&rows));
    for (backend, cap) in registry_load::capacity(&rows) {
        match cap {
            Some(n) => println!(
                "{backend}: {n:.0} terminals at the hall's peak rate with p99 under 1 s (the highest rate tried within target)"
            ),
            None => println!("{backend}: no rate tried was within target"),
        }
    }
    for r in rows.iter().filter(|r| r.errors > 0) {
        println!(
            "{} {}×: {} errors, first: {}",
            r.backend,
            r.multiplier,
            r.errors,
            r.first_error.as_deref().unwrap_or("")
        );
    }
    Ok(())
}
