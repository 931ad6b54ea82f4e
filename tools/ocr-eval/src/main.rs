//! `ocr-eval`: prints CER, field recall and seconds per page for each method
//! (raw Tesseract, our pipeline), per tier, per condition and overall.
//!
//! ```text
//! OMP_THREAD_LIMIT=1 cargo run --release -p ocr-eval -- [--dir CORPUS] [--only STEM...] [--layout block|auto] [--raw-layout block|auto] [--lang chi_sim|chi_sim+eng] [--dump DIR]
//! ```
//!
//! Also prints the two speed figures of the capture issue: a 3264x2448
//! frame to a corrected page, and OCR of a full A4 page. Figures only: no
//! recognised text is printed.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use kiosk_camera::{process_page, AutoCapture, AutoCaptureConfig, Frame};
use kiosk_ocr::{EngineKind, Layout, OcrConfig, OcrEngine};
use ocr_eval::{load_corpus, our_pipeline, previous_pipeline, raw_tesseract, terminal_pipeline, report, score, Method, PageScore, Tier};

fn parse_layout(s: &str) -> anyhow::Result<Layout> {
    match s {
        "block" => Ok(Layout::SingleBlock),
        "auto" => Ok(Layout::Auto),
        other => anyhow::bail!("unknown layout {other} (block or auto)"),
    }
}

fn main() -> anyhow::Result<()> {
    if std::env::var_os("OMP_THREAD_LIMIT").is_none() {
        eprintln!("note: OMP_THREAD_LIMIT is not set; timings include OpenMP overhead");
    }
    let mut dir = ocr_eval::corpus_dir();
    let mut only: Vec<String> = Vec::new();
    let mut layout = Layout::SingleBlock;
    let mut raw_layout = Layout::SingleBlock;
    let mut dump: Option<PathBuf> = None;
    let mut language = OcrConfig::default().language;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dir" => dir = PathBuf::from(args.next().unwrap_or_default()),
            "--layout" => layout = parse_layout(&args.next().unwrap_or_default())?,
            "--raw-layout" => raw_layout = parse_layout(&args.next().unwrap_or_default())?,
            "--only" => only.push(args.next().unwrap_or_default()),
            "--lang" => language = args.next().unwrap_or_default(),
            "--dump" => dump = Some(PathBuf::from(args.next().unwrap_or_default())),
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let corpus: Vec<_> = load_corpus(&dir)?
        .into_iter()
        .filter(|s| only.is_empty() || only.iter().any(|o| s.stem.contains(o.as_str())))
        .collect();
    if corpus.is_empty() {
        anyhow::bail!("no page of the corpus matches --only");
    }
    let engine = Rc::new(RefCell::new(OcrEngine::new(&OcrConfig {
        language,
        engine: EngineKind::Tesseract,
        ..OcrConfig::default()
    })?));
    // The columns of the report; a new method is one more entry.
    let mut methods: Vec<Method> = vec![
        raw_tesseract(engine.clone(), raw_layout),
        previous_pipeline(engine.clone(), layout),
        our_pipeline(engine.clone(), layout),
        terminal_pipeline()?,
    ];
    let mut scores: Vec<Vec<PageScore>> = vec![Vec::new(); methods.len()];
    print!("{:<20} {:<7}", "page", "tier");
    for m in &methods {
        print!(" | {:>26}", format!("{} cer fields s", m.name));
    }
    println!("  note");
    for sample in &corpus {
        let frame = Frame::from_file(&sample.image)?;
        print!("{:<20} {:<7}", sample.stem, sample.tier.as_str());
        let mut fell_back = Vec::new();
        for (m, method) in methods.iter_mut().enumerate() {
            let s = score(method, sample, &frame)?;
            print!(
                " | {:>11.3} {:>3}/{:<2} {:>6.2}",
                s.cer, s.fields_found, s.fields_total, s.seconds
            );
            if s.fallback {
                fell_back.push(method.name.as_str());
            }
            scores[m].push(s);
        }
        if fell_back.is_empty() {
            println!();
        } else {
            println!("  whole frame: {}", fell_back.join(", "));
        }
        if let Some(dir) = &dump {
            // The cleaned page as a PGM file, to look at what OCR sees.
            if let Ok(page) = process_page(&frame) {
                let mut pgm = format!("P5\n{} {}\n255\n", page.width, page.height).into_bytes();
                pgm.extend_from_slice(&page.gray);
                std::fs::write(dir.join(format!("{}.pgm", sample.stem)), pgm)?;
            }
        }
    }
    println!();
    let names: Vec<&str> = methods.iter().map(|m| m.name.as_str()).collect();
    print!("{}", report(&corpus, &names, &scores));
    println!();
    benchmarks(&corpus, &mut engine.borrow_mut())?;
    Ok(())
}

/// Speed: the largest frame straightened, and OCR of a full page.
fn benchmarks(corpus: &[ocr_eval::Sample], engine: &mut OcrEngine) -> anyhow::Result<()> {
    // The 3264x2448 photo with the most text at body size (not the hard
    // tier's small print): a full A4 page, the same one as before the hard tier.
    let big = corpus
        .iter()
        .filter(|s| s.tier != Tier::Hard)
        .filter(|s| {
            Frame::from_file(&s.image)
                .map(|f| f.size() == (3264, 2448))
                .unwrap_or(false)
        })
        .max_by_key(|s| s.truth.chars().filter(|c| !c.is_whitespace()).count());
    let Some(big) = big else {
        println!("no 3264x2448 frame in the selection; speed figures skipped");
        return Ok(());
    };
    let frame = Frame::from_file(&big.image)?;
    let _ = process_page(&frame)?;
    let runs = 5;
    let started = Instant::now();
    let mut page = None;
    for _ in 0..runs {
        page = Some(process_page(&frame)?);
    }
    let per = started.elapsed().as_secs_f64() / runs as f64;
    println!(
        "page steady -> corrected page, 3264x2448 frame ({}): {:.0} ms (target <= 700 ms)",
        big.stem,
        per * 1000.0
    );
    // Auto-capture looks at every preview frame; at 15 fps it has 66 ms per frame.
    let mut auto = AutoCapture::new(AutoCaptureConfig::default());
    let started = Instant::now();
    let runs = 10;
    for k in 0..runs {
        let _ = auto.feed(&frame, started + Duration::from_millis(66 * k));
    }
    println!(
        "auto-capture analysis of one 3264x2448 preview frame: {:.0} ms (15 fps needs <= 66 ms)",
        started.elapsed().as_secs_f64() * 1000.0 / runs as f64
    );
    if let Some(page) = page {
        let chars = big.truth.chars().filter(|c| !c.is_whitespace()).count();
        let text = engine.recognize_gray(&page.gray, page.width, page.height)?;
        println!(
            "ocr of a full A4 page ({chars} characters) {}x{}: {:.2} s (target <= 4 s), {} words, {} doubtful",
            page.width,
            page.height,
            text.duration.as_secs_f64(),
            text.words.len(),
            text.words.iter().filter(|w| w.is_doubtful()).count()
        );
    }
    Ok(())
}
