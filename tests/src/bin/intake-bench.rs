//! `intake-bench [RUNS] [PAGES]`: runs the scripted visitor 2×RUNS times
//! (default 5) with PAGES pages (default 2) through the real kiosk,
//! simulators and registry, alternately without and with a voice note
//! recorded on the description screen (a real ALSA capture device through
//! the file plugin, while the pages are still being recognised), and prints
//! the median, minimum and maximum of every stage for both side by side:
//! recording must not slow down the recognition of the pages before it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kiosk_e2e::{Harness, Options, Supplement};
use kiosk_idcard::sim::SimCard;

type Stages = BTreeMap<&'static str, Vec<Duration>>;

#[allow(clippy::print_stdout)]
fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(5);
    let pages: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(2);
    let h = Harness::start(Options {
        microphone: Some((kiosk::devices::DEMO_SPEECH, 30)),
        ..Options::default()
    })?;
    let mut plain = Stages::new();
    let mut voiced = Stages::new();
    for run in 0..2 * runs {
        let voice = run % 2 == 1;
        let started = Instant::now();
        let extra = Supplement {
            voice,
            ..Supplement::default()
        };
        h.visit_full(SimCard::specimen(), "labour", pages, &extra, |_, _| Ok(()))?;
        h.wait_case_number(Duration::from_secs(60))?;
        let wall = started.elapsed();
        h.finish()?;
        // Give the last timings a moment to arrive.
        std::thread::sleep(Duration::from_millis(50));
        let stages = if voice { &mut voiced } else { &mut plain };
        while let Ok((stage, d)) = h.timings.try_recv() {
            stages.entry(stage.name()).or_default().push(d);
        }
        stages.entry("scripted_visit_wall").or_default().push(wall);
        println!(
            "run {}/{}: scripted visit {:.2} s{}",
            run + 1,
            2 * runs,
            wall.as_secs_f64(),
            if voice { " (with a voice note)" } else { "" }
        );
    }
    println!();
    println!(
        "{:<22} {:>4} {:>10} {:>10} {:>10} | {:>4} {:>10} {:>10} {:>10}",
        "stage", "n", "median_ms", "min_ms", "max_ms", "n", "voice_med", "voice_min", "voice_max"
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let summary = |v: Option<&Vec<Duration>>| {
        let mut v = v.cloned().unwrap_or_default();
        v.sort();
        if v.is_empty() {
            return (0, f64::NAN, f64::NAN, f64::NAN);
        }
        (v.len(), ms(v[v.len() / 2]), ms(v[0]), ms(v[v.len() - 1]))
    };
    let names: std::collections::BTreeSet<&str> =
        plain.keys().chain(voiced.keys()).copied().collect();
    for name in names {
        let (n, med, min, max) = summary(plain.get(name));
        let (vn, vmed, vmin, vmax) = summary(voiced.get(name));
        println!(
            "{name:<22} {n:>4} {med:>10.1} {min:>10.1} {max:>10.1} | {vn:>4} {vmed:>10.1} {vmin:>10.1} {vmax:>10.1}"
        );
    }
    Ok(())
}
