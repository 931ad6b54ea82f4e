//! Measures OCR accuracy and time against the straightened page resolution.
//!
//! ```text
//! OMP_THREAD_LIMIT=1 cargo run -p kiosk-ocr --example resolution_sweep
//! ```
//!
//! For each long side in pixels it straightens every SPECIMEN page, recognises
//! it and prints the character accuracy against the known text and the time.
//! Only figures are printed, never recognised text.

#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use kiosk_camera::{process_page_with, test_utils, Frame, PageOptions};
use kiosk_ocr::{OcrConfig, OcrEngine};

#[path = "../tests/common/mod.rs"]
mod common;

fn main() -> anyhow::Result<()> {
    if std::env::var_os("OMP_THREAD_LIMIT").is_none() {
        println!("note: OMP_THREAD_LIMIT is not set; timings include OpenMP overhead");
    }
    let mut engine = OcrEngine::new(&OcrConfig::default())?;
    let frames: Vec<Frame> = test_utils::sample_pages()
        .iter()
        .map(Frame::from_file)
        .collect::<Result<_, _>>()?;
    let truths: Vec<String> = (1..=frames.len())
        .map(|n| std::fs::read_to_string(test_utils::sample_truth(n)))
        .collect::<Result<_, _>>()?;
    println!("long_side  dpi(A4)  flatten  accuracy  ocr_time  process_time  jpeg_kb");
    for long_side in [1400u32, 1754, 2000, 2200, 2339, 2480, 2800, 3508] {
        for flatten in [true, false] {
            if !flatten && long_side != 2339 {
                continue;
            }
            let opts = PageOptions {
                long_side_px: long_side,
                flatten_illumination: flatten,
                ..PageOptions::default()
            };
            let (mut acc, mut ocr_time, mut proc_time, mut jpeg) =
                (0.0, Duration::ZERO, Duration::ZERO, 0);
            for (frame, truth) in frames.iter().zip(&truths) {
                let started = Instant::now();
                let page = process_page_with(frame, &opts)?;
                proc_time += started.elapsed();
                let res = engine.recognize_gray(&page.gray, page.width, page.height)?;
                // The red SPECIMEN mark is not part of the known text.
                let text = res.text.replace("样本", "").replace("SPECIMEN", "");
                let page_acc = common::char_accuracy(truth, &text);
                print!("{page_acc:.3} ");
                acc += page_acc;
                ocr_time += res.duration;
                jpeg += page.jpeg.len();
            }
            let n = frames.len() as u32;
            println!(
                "{long_side:>9}  {:>7.0}  {flatten:>7}  {:>8.3}  {:>8.2?}  {:>12.2?}  {:>7}",
                long_side as f64 / 11.69,
                acc / n as f64,
                ocr_time / n,
                proc_time / n,
                jpeg / 1024 / n as usize
            );
        }
    }
    Ok(())
}
