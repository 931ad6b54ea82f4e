//! The evaluation on a small subset of the corpus: our pipeline must at least halve raw Tesseract's CER.
//!
//! The full corpus runs as a benchmark: `cargo run --release -p ocr-eval`.

use std::cell::RefCell;
use std::process::Command;
use std::rc::Rc;

use kiosk_camera::Frame;
use kiosk_ocr::{Layout, OcrConfig, OcrEngine};
use ocr_eval::{corpus_dir, load_corpus, our_pipeline, raw_tesseract, score, Summary};

/// A form with table lines, a judgment with a red seal, a notice on a light desk with a seal.
const SUBSET: [&str; 3] = ["002-form", "003-judgment", "010-notice"];

/// Runs the test again in a child process with `OMP_THREAD_LIMIT=1` (libgomp
/// reads it only at load time); returns true when the child passed.
fn rerun_with_omp_limit(name: &str) -> bool {
    if std::env::var_os("OMP_THREAD_LIMIT").is_some() {
        return false;
    }
    let exe = std::env::current_exe().expect("test executable path");
    let status = Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("OMP_THREAD_LIMIT", "1")
        .status()
        .expect("rerun test");
    assert!(status.success(), "{name} failed with OMP_THREAD_LIMIT=1");
    true
}

#[test]
// Figures only (no text) go to stderr for `--nocapture`.
#[allow(clippy::print_stderr)]
fn pipeline_halves_raw_cer_on_subset() {
    if rerun_with_omp_limit("pipeline_halves_raw_cer_on_subset") {
        return;
    }
    let corpus = load_corpus(&corpus_dir()).unwrap();
    let samples: Vec<_> = corpus
        .iter()
        .filter(|s| SUBSET.contains(&s.stem.as_str()))
        .collect();
    assert_eq!(samples.len(), SUBSET.len());
    let engine = Rc::new(RefCell::new(OcrEngine::new(&OcrConfig::default()).unwrap()));
    let mut raw_method = raw_tesseract(engine.clone(), Layout::SingleBlock);
    let mut our_method = our_pipeline(engine, Layout::SingleBlock);
    let mut raw = Vec::new();
    let mut ours = Vec::new();
    for s in &samples {
        let frame = Frame::from_file(&s.image).unwrap();
        raw.push(score(&mut raw_method, s, &frame).unwrap());
        ours.push(score(&mut our_method, s, &frame).unwrap());
    }
    let raw = Summary::of(&raw.iter().collect::<Vec<_>>());
    let ours = Summary::of(&ours.iter().collect::<Vec<_>>());
    eprintln!(
        "subset: raw CER {:.3}, recall {:.2}; pipeline CER {:.3}, recall {:.2}",
        raw.mean_cer,
        raw.field_recall(),
        ours.mean_cer,
        ours.field_recall()
    );
    assert!(
        raw.mean_cer > 0.1,
        "raw CER {:.3}: the subset is too easy to prove anything",
        raw.mean_cer
    );
    assert!(
        ours.mean_cer <= 0.5 * raw.mean_cer,
        "pipeline CER {:.3} is not at most half of raw {:.3}",
        ours.mean_cer,
        raw.mean_cer
    );
    assert!(ours.field_recall() >= raw.field_recall());
}
