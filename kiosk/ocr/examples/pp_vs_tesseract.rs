//! PP-OCR against the Tesseract pipeline on the evaluation corpus.
//!
//! ```text
//! OMP_THREAD_LIMIT=1 cargo run --release -p kiosk-ocr --example pp_vs_tesseract [-- --threads N --det-side PX --pp-only]
//! ```
//!
//! Each photo of `tools/ocr-eval/corpus` is straightened by
//! `kiosk_camera::process_page`, then read by Tesseract (`OcrEngine`) and by
//! PP-OCR (`PpEngine`). Printed per page: CER of each (whitespace and the
//! SPECIMEN mark removed), Tesseract's seconds, PP-OCR's det, cls and rec
//! milliseconds, its lines and the rotation it applied; then the means, and
//! the process's peak resident memory. Only figures, never text.

#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::time::Duration;

use kiosk_camera::{process_page, Frame};
use kiosk_ocr::{OcrConfig, OcrEngine, PpConfig, PpEngine};

#[path = "../tests/common/mod.rs"]
mod common;

fn cer(truth: &str, got: &str) -> f64 {
    1.0 - common::char_accuracy(truth, &got.replace("样本", "").replace("SPECIMEN", ""))
}

fn peak_rss_mb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? / 1024)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<usize>().ok())
    };
    let threads = arg("--threads").unwrap_or(1);
    let only_pp = args.iter().any(|a| a == "--pp-only");
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tools/ocr-eval/corpus");
    let mut photos: Vec<PathBuf> = std::fs::read_dir(&corpus)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    photos.sort();
    let mut tess = if only_pp {
        None
    } else {
        Some(OcrEngine::new(&OcrConfig::default())?)
    };
    let mut pp = PpEngine::new(&PpConfig {
        threads,
        det_long_side: arg("--det-side").unwrap_or(kiosk_ocr::DET_LONG_SIDE as usize) as u32,
        ..PpConfig::default()
    })?;
    println!(
        "page                 tess_cer  tess_s   pp_cer  det_ms  cls_ms  rec_ms  lines  rot  pp_s"
    );
    let (mut sum_t, mut sum_p) = (0.0, 0.0);
    let (mut time_t, mut time_p) = (Duration::ZERO, Duration::ZERO);
    for photo in &photos {
        let truth = std::fs::read_to_string(photo.with_extension("txt"))?;
        let page = process_page(&Frame::from_file(photo)?)?;
        let (t_cer, t_time) = match tess.as_mut() {
            Some(tess) => {
                let t = tess.recognize_gray(&page.gray, page.width, page.height)?;
                (cer(&truth, &t.text), t.duration)
            }
            None => (f64::NAN, Duration::ZERO),
        };
        let p = pp.recognize_gray(&page.gray, page.width, page.height)?;
        let timings = pp.last_timings();
        let p_cer = cer(&truth, &p.text);
        println!(
            "{:<20} {t_cer:>8.3} {:>7.2} {p_cer:>8.3} {:>7} {:>7} {:>7} {:>6} {:>4} {:>5.2}",
            photo.file_stem().and_then(|s| s.to_str()).unwrap_or("?"),
            t_time.as_secs_f64(),
            timings.det.as_millis(),
            timings.cls.as_millis(),
            timings.rec.as_millis(),
            timings.lines,
            p.rotation_degrees,
            p.duration.as_secs_f64()
        );
        sum_t += t_cer;
        sum_p += p_cer;
        time_t += t_time;
        time_p += p.duration;
    }
    let n = photos.len().max(1) as f64;
    println!(
        "mean ({} pages, {threads} thread(s)): tesseract CER {:.3}, {:.2} s/page; PP-OCR CER {:.3}, {:.2} s/page",
        photos.len(),
        sum_t / n,
        time_t.as_secs_f64() / n,
        sum_p / n,
        time_p.as_secs_f64() / n
    );
    println!("peak RSS (VmHWM): {} MB", peak_rss_mb().unwrap_or(0));
    Ok(())
}
