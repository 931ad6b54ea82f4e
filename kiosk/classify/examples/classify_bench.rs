//! Benchmark: classification of a 3-page registration, and the repeat check
//! against 10,000 earlier registrations. Prints medians.
//!
//! `cargo run --release -p kiosk-classify --example classify-bench`
#![allow(clippy::print_stdout)] // A benchmark: its output is the figures.

use std::time::{Duration, Instant};

use kiosk_classify::eval::EvalSet;
use kiosk_classify::repeat::{check, Probe};
use kiosk_classify::{
    Classifier, ClassifyInput, PetitionerKey, RecentRegistrations, RepeatPolicy,
    StoredRegistration, TerminalSecret, TextFingerprint,
};
use kiosk_privacy::IdNumber;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let t = Instant::now();
    let clf = Classifier::builtin();
    println!(
        "classifier built (dictionary + rules) in {:.0} ms",
        ms(t.elapsed())
    );

    // Three pages of about 800 characters each, made of evaluation texts (SPECIMEN).
    let set = EvalSet::builtin()?;
    let mut pages = [String::new(), String::new(), String::new()];
    let mut i = 0;
    for p in pages.iter_mut() {
        while p.chars().count() < 800 {
            p.push_str(&set.cases[i % set.cases.len()].text);
            p.push('\n');
            i += 7;
        }
    }
    let texts: Vec<&str> = pages.iter().map(String::as_str).collect();
    let chars: usize = pages.iter().map(|p| p.chars().count()).sum();
    let input = ClassifyInput {
        texts: &texts,
        description: "要求解决问题",
        tile: Some("unsure"),
        id_region: Some("130406"),
        address: Some("河北省邯郸市峰峰矿区临水镇示例村"),
        ..Default::default()
    };
    let runs = 30;
    let mut classify = Vec::new();
    let mut fingerprint = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let s = clf.classify(&input);
        classify.push(t.elapsed());
        std::hint::black_box(s);
        let t = Instant::now();
        std::hint::black_box(TextFingerprint::of(&texts));
        fingerprint.push(t.elapsed());
    }
    println!(
        "classify 3 pages ({chars} characters): median {:.2} ms over {runs} runs (budget 50 ms)",
        ms(median(classify))
    );
    println!(
        "fingerprint 3 pages: median {:.2} ms",
        ms(median(fingerprint))
    );

    // 10,000 earlier registrations from 2,000 petitioners.
    let secret = TerminalSecret::new(b"bench-secret".to_vec());
    let keys: Vec<PetitionerKey> = (0..2000)
        .map(|n| PetitionerKey::derive(&secret, &IdNumber::new(format!("SPECIMEN{n:010}"))))
        .collect();
    let fps: Vec<TextFingerprint> = set
        .cases
        .iter()
        .map(|c| TextFingerprint::of(&[&c.text]))
        .collect();
    let make = |same_person: bool| {
        let mut store = RecentRegistrations::with_capacity(10_000);
        for n in 0..10_000 {
            store.push(StoredRegistration {
                reference: format!("T-{n:05}"),
                registered_at: "2026-01-01T00:00:00Z".into(),
                state: "sent".into(),
                petitioner: if same_person {
                    keys[0]
                } else {
                    keys[n % keys.len()]
                },
                category: set.cases[n % set.cases.len()].category.clone(),
                text: fps[n % fps.len()].clone(),
            });
        }
        store
    };
    let probe_text = TextFingerprint::of(&texts);
    let policy = RepeatPolicy::default();
    for (label, same_person) in [
        ("2,000 petitioners", false),
        ("all one petitioner (worst case)", true),
    ] {
        let store = make(same_person);
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let m = check(
                &policy,
                &Probe {
                    petitioner: &keys[0],
                    category: "land",
                    text: &probe_text,
                },
                &[],
                &store,
            );
            times.push(t.elapsed());
            found = m.len();
        }
        println!(
            "repeat check against 10,000 registrations, {label}: median {:.3} ms, {found} matches (budget 100 ms)",
            ms(median(times))
        );
        if same_person {
            let t = Instant::now();
            let json = serde_json::to_vec(&store)?;
            let back: RecentRegistrations = serde_json::from_slice(&json)?;
            println!(
                "store of 10,000 as JSON: {} KB, serialised and read back in {:.0} ms",
                json.len() / 1024,
                ms(t.elapsed())
            );
            std::hint::black_box(back);
        }
    }
    Ok(())
}
