//! The registry's fleet page marks a terminal whose printer ran out of paper
//! and one whose registry link is cut, within two heartbeat periods: the real
//! kiosk (heartbeats from its uplink, the printer asked over its serial line
//! by the simulator's pty) against the real registry.

use std::time::{Duration, Instant};

use kiosk_e2e::fault_proxy::{Fault, FaultProxy};
use kiosk_e2e::{Harness, Options, RegistryReader};
use kiosk_printer::PrinterStatus;

/// The heartbeat period of this test's terminal.
const PERIOD: Duration = Duration::from_secs(1);

/// Waits until the terminal's fleet row satisfies `want`; returns how long it took.
fn wait_for_row(
    reader: &RegistryReader,
    what: &str,
    limit: Duration,
    want: impl Fn(&serde_json::Value) -> bool,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    loop {
        let rows = reader.fleet()?;
        if let Some(row) = rows.iter().find(|r| r["terminal_id"] == "e2e-01") {
            if want(row) {
                return Ok(started.elapsed());
            }
        }
        if started.elapsed() > limit {
            anyhow::bail!("{what}: not within {limit:?}; the fleet says {rows:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn has_reason(row: &serde_json::Value, code: &str) -> bool {
    row["reasons"]
        .as_array()
        .is_some_and(|rs| rs.iter().any(|r| r["code"] == code))
}

#[test]
// Figures only go to stderr for `--nocapture`.
#[allow(clippy::print_stderr)]
fn paper_out_and_a_cut_link_are_marked_within_two_heartbeats() -> anyhow::Result<()> {
    let mut h = Harness::start(Options {
        registry_up: false,
        ..Options::default()
    })?;
    // The registry calls a terminal silent for two periods offline.
    let mut reg_cfg = kiosk_e2e::registry_config(&h.keys, h.dir.path().join("registry.db"))?;
    reg_cfg.console.offline_after = 2 * PERIOD;
    h.registry = Some(registry::start_blocking(reg_cfg, h.registry_addr)?);
    let proxy = FaultProxy::start(h.registry_addr)?;
    h.restart_controller(|cfg| {
        cfg.registry.heartbeat_s = PERIOD.as_secs();
        cfg.registry.url = proxy.url();
    })?;
    let reader = RegistryReader::new(h.registry_addr)?;

    let healthy = wait_for_row(&reader, "a healthy report", 10 * PERIOD, |r| {
        r["online"] == true && r["printer"] == "ok" && r["free_disk_mb"].as_u64().is_some()
    });
    healthy?;
    let row = reader.fleet()?;
    assert_eq!(row[0]["needs_attention"], false, "{row:?}");
    assert_eq!(row[0]["version"], env!("CARGO_PKG_VERSION"), "{row:?}");

    // The roll runs out between visits.
    h.printer.control.set_status(PrinterStatus {
        paper_out: true,
        offline: true,
        ..PrinterStatus::READY
    });
    let took = wait_for_row(&reader, "paper out", 10 * PERIOD, |r| {
        r["printer"] == "paper_out" && r["needs_attention"] == true && has_reason(r, "printer")
    })?;
    eprintln!("paper out marked after {:.2} s (heartbeat {PERIOD:?})", took.as_secs_f64());
    assert!(took <= 2 * PERIOD + Duration::from_millis(500), "paper out took {took:?}");

    // The paper is back; then the link to the registry is cut.
    h.printer.control.set_status(PrinterStatus::READY);
    wait_for_row(&reader, "paper back", 10 * PERIOD, |r| r["needs_attention"] == false)?;
    proxy.set(Fault::Refuse);
    let took = wait_for_row(&reader, "link cut", 10 * PERIOD, |r| {
        r["online"] == false && has_reason(r, "offline")
    })?;
    eprintln!("cut link marked offline after {:.2} s", took.as_secs_f64());
    assert!(took <= 2 * PERIOD + Duration::from_millis(500), "cut link took {took:?}");

    // Back online, the mark goes.
    proxy.set(Fault::Pass);
    wait_for_row(&reader, "link back", 10 * PERIOD, |r| r["needs_attention"] == false)?;
    Ok(())
}
