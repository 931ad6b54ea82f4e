//! `kiosk ocr --out DIR [--raw] IMAGE...`: recognise photo files as the terminal would.
//!
//! For each photo it runs the whole pipeline the terminal runs (page
//! detection, correction, clean-up, then the configured engine through the
//! same `OcrPool`: PP-OCR with Tesseract as fallback, the page turned
//! upright) or, with `--raw`, plain Tesseract on the unprocessed photo, and
//! writes the text to `DIR/<image stem>.txt`. The terminal shows
//! figures only (size, seconds, confidence, doubtful words, fields found by
//! kind): the text is personal data and goes to the files, not the screen.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use kiosk::Config;
use kiosk_camera::{process_page_with, raw_gray, Frame};
use kiosk_ocr::{OcrConfig, OcrEngine, OcrPool};

/// Arguments of `kiosk ocr`.
#[derive(Args, Debug)]
pub struct OcrArgs {
    /// Folder for the `<image stem>.txt` files (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Plain Tesseract on the unprocessed photo, for comparison.
    #[arg(long)]
    raw: bool,
    /// Photos as the document camera takes them.
    #[arg(required = true)]
    images: Vec<PathBuf>,
}

/// Runs `kiosk ocr`.
pub fn run(config: &Path, args: &OcrArgs) -> anyhow::Result<()> {
    let cfg = if config.exists() {
        Config::load(config)?
    } else {
        Config::default()
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let pool_cfg = OcrConfig {
        workers: 1,
        ..cfg.ocr.pool_config()
    };
    let mut reader = if args.raw {
        Reader::Raw(OcrEngine::new(&pool_cfg)?)
    } else {
        Reader::Pipeline(OcrPool::new(&pool_cfg)?)
    };
    let mut total = 0.0;
    let mut failed = 0;
    for image in &args.images {
        match one(&mut reader, image, &args.out) {
            Ok(seconds) => total += seconds,
            Err(e) => {
                failed += 1;
                eprintln!(
                    "{}: {}",
                    image.display(),
                    kiosk_privacy::redact(&format!("{e:#}"))
                );
            }
        }
    }
    let done = args.images.len() - failed;
    if done > 0 {
        println!(
            "{done} pages, {:.2} s per page ({})",
            total / done as f64,
            if args.raw { "raw" } else { "pipeline" }
        );
    }
    anyhow::ensure!(
        failed == 0,
        "{failed} of {} images failed",
        args.images.len()
    );
    Ok(())
}

/// Plain Tesseract for `--raw`, else the terminal's pool.
enum Reader {
    Raw(OcrEngine),
    Pipeline(OcrPool),
}

/// The longest a page may take (the pool's engines have their own limits).
const PAGE_LIMIT: Duration = Duration::from_secs(120);

/// Recognises one photo and writes its text; returns the seconds it took.
fn one(reader: &mut Reader, image: &Path, out: &Path) -> anyhow::Result<f64> {
    let raw = matches!(reader, Reader::Raw(_));
    let frame = Frame::from_file(image)?;
    let started = Instant::now();
    let (gray, width, height, note) = if raw {
        let (gray, w, h) = raw_gray(&frame)?;
        (gray, w, h, String::from("raw photo"))
    } else {
        let engine = match reader {
            Reader::Pipeline(pool) => pool.engine(),
            Reader::Raw(_) => kiosk_ocr::EngineKind::Tesseract,
        };
        let page = process_page_with(&frame, &kiosk::config::page_options(engine))
            .map_err(|e| anyhow::anyhow!("{e} ({})", e.prompt_zh()))?;
        let mut note = format!(
            "jpeg {} KB, deskew {:.1}°",
            page.jpeg.len() / 1024,
            page.deskew_degrees
        );
        if page.fallback {
            note.push_str(", no trustworthy outline: whole frame");
        }
        if page.blank {
            note.push_str(", blank page");
        }
        (page.gray, page.width, page.height, note)
    };
    let prepared = started.elapsed();
    let text = match reader {
        Reader::Raw(engine) => engine.recognize_gray(&gray, width, height)?,
        Reader::Pipeline(pool) => {
            pool.submit(1, gray, width, height);
            match pool.recv_timeout(PAGE_LIMIT) {
                Some((_, result)) => result?,
                None => anyhow::bail!("recognition took longer than {PAGE_LIMIT:?}"),
            }
        }
    };
    let note = if text.rotation_degrees == 0 {
        note
    } else {
        format!("{note}, turned {}°", text.rotation_degrees)
    };
    let seconds = started.elapsed().as_secs_f64();
    let stem = image
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "page".into());
    let path = out.join(format!("{stem}.txt"));
    let mut body = text.text.clone();
    body.push('\n');
    std::fs::write(&path, body).with_context(|| format!("cannot write {}", path.display()))?;
    let fields = kiosk_fields::extract(&text.text);
    println!(
        "{}: {width}x{height}, {note}; prepared {} ms, recognised {} ms, {seconds:.2} s; confidence {:.0}, {} words ({} doubtful); \
         kind {}, {} id numbers ({} valid), {} phones, {} dates, {} amounts, {} names -> {}",
        image.display(),
        prepared.as_millis(),
        text.duration.as_millis(),
        text.mean_confidence,
        text.words.len(),
        text.words.iter().filter(|w| w.is_doubtful()).count(),
        fields.kind.as_str(),
        fields.id_numbers.len(),
        fields.id_numbers.iter().filter(|c| c.valid).count(),
        fields.phones.len(),
        fields.dates.len(),
        fields.amounts.len(),
        fields.names.len(),
        path.display()
    );
    Ok(seconds)
}
