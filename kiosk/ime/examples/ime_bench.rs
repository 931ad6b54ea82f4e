//! Prints what the pinyin input costs: the engine's start-up time, the size
//! of the embedded table and the memory the process gained, and the latency
//! of a candidate look-up and of a whole keystroke (every prefix of typical
//! inputs, as the petitioner types them), median and worst.
//!
//! `cargo run --release -p kiosk-ime --example ime-bench`

#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use kiosk_ime::{Composer, Engine, Key};

const INPUTS: &[&str] = &[
    "gongzi",
    "tuoqian",
    "tuoqiangongzi",
    "zhengdibuchang",
    "chaiqian",
    "cunweihui",
    "zhenzhengfu",
    "xinfang",
    "gz",
    "wojiadetudibeizhengyong",
    "shi",
    "a",
    "zhuangzhuang",
    "qqqqqqqq",
];

/// Resident memory of this process in KiB (Linux), 0 when unknown.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn summary(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let median = times[times.len() / 2];
    let worst = times[times.len() - 1];
    println!(
        "{name}: {} samples, median {:.3} ms, worst {:.3} ms",
        times.len(),
        median.as_secs_f64() * 1e3,
        worst.as_secs_f64() * 1e3
    );
}

fn main() {
    let before = rss_kib();
    let started = Instant::now();
    let engine = Engine::new();
    let startup = started.elapsed();
    // Touch the whole table once, as the first look-ups would.
    let warm = Instant::now();
    let n: usize = INPUTS.iter().map(|i| engine.candidates(i).len()).sum();
    let first_pass = warm.elapsed();
    let after = rss_kib();
    println!("engine start-up: {:.3} ms", startup.as_secs_f64() * 1e3);
    println!(
        "table: {} entries, {:.1} MiB embedded in the binary (built by build.rs at compile time)",
        engine.entries(),
        engine.table_bytes() as f64 / (1024.0 * 1024.0)
    );
    println!(
        "first pass over {} inputs ({n} candidates): {:.1} ms; resident memory +{} KiB",
        INPUTS.len(),
        first_pass.as_secs_f64() * 1e3,
        after.saturating_sub(before)
    );

    let mut lookups = Vec::new();
    let mut keystrokes = Vec::new();
    let mut slowest = (Duration::ZERO, String::new());
    for _ in 0..5 {
        for input in INPUTS {
            let t = Instant::now();
            let c = engine.candidates(input);
            lookups.push(t.elapsed());
            std::hint::black_box(c);
            let mut composer = Composer::new(16);
            for (i, l) in input.chars().enumerate() {
                let t = Instant::now();
                composer.press(&engine, Key::Letter(l));
                let d = t.elapsed();
                keystrokes.push(d);
                if d > slowest.0 {
                    slowest = (d, input.chars().take(i + 1).collect());
                }
            }
        }
    }
    summary("look-up of a whole input", lookups);
    summary("keystroke (look-up of the prefix and paging)", keystrokes);
    println!(
        "slowest keystroke: {:.3} ms, typing {:?}",
        slowest.0.as_secs_f64() * 1e3,
        slowest.1
    );
    for input in ["tuoqian", "gongzi", "gz", "zhengdibuchang"] {
        let top: Vec<String> = engine
            .candidates(input)
            .into_iter()
            .take(6)
            .map(|c| c.text)
            .collect();
        println!("{input}: {}", top.join(" "));
    }
}
