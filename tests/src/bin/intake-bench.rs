//! `intake-bench [RUNS] [PAGES]`: runs the scripted visitor RUNS times (default
//! 5) with PAGES pages (default 2) through the real kiosk, simulators and
//! registry, and prints the median, minimum and maximum of every stage.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kiosk_e2e::{Harness, Options};
use kiosk_idcard::sim::SimCard;

#[allow(clippy::print_stdout)]
fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(5);
    let pages: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(2);
    let h = Harness::start(Options::default())?;
    let mut stages: BTreeMap<&'static str, Vec<Duration>> = BTreeMap::new();
    let mut visits = Vec::new();
    for run in 0..runs {
        let started = Instant::now();
        h.visit(SimCard::specimen(), "labour", pages)?;
        h.wait_case_number(Duration::from_secs(60))?;
        visits.push(started.elapsed());
        h.finish()?;
        // Give the last timings a moment to arrive.
        std::thread::sleep(Duration::from_millis(50));
        while let Ok((stage, d)) = h.timings.try_recv() {
            stages.entry(stage.name()).or_default().push(d);
        }
        println!(
            "run {}/{runs}: scripted visit {:.2} s",
            run + 1,
            visits[run].as_secs_f64()
        );
    }
    stages.insert("scripted_visit_wall", visits);
    println!();
    println!(
        "{:<22} {:>6} {:>10} {:>10} {:>10}",
        "stage", "n", "median_ms", "min_ms", "max_ms"
    );
    for (name, mut v) in stages {
        v.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{:<22} {:>6} {:>10.1} {:>10.1} {:>10.1}",
            name,
            v.len(),
            ms(v[v.len() / 2]),
            ms(v[0]),
            ms(v[v.len() - 1])
        );
    }
    Ok(())
}
