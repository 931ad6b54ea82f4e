//! Text recognition of page images with Tesseract on worker threads, and PP-OCR.
//!
//! `OcrEngine` wraps one Tesseract instance with a loaded language model and
//! recognises 8-bit grey pages (as produced by `kiosk_camera::process_page`).
//! `OcrPool` runs one engine per worker thread so the UI never waits on OCR.
//! Each result holds the cleaned text and every recognised word with its
//! confidence and box (`OcrText::words`), so the clerk's screen can mark
//! doubtful words (`Word::is_doubtful`). Pages are read as one block of text
//! (psm 6, `Layout::SingleBlock`): on the evaluation corpus (`tools/ocr-eval`)
//! automatic segmentation (psm 3) lost table rows and doubled the error rate.
//!
//! `PpEngine` is a second engine: PaddleOCR's PP-OCRv6 models (ONNX) run in
//! pure Rust with tract, from the files `scripts/install-deps.sh` installs in
//! `PP_MODEL_DIR`, each checked against `ocr-models/manifest.toml` (size and
//! sha256) when loaded. It reads a page put down at 0, 90, 180 or 270 degrees
//! and says in `OcrText::rotation_degrees` how far it turned it clockwise
//! (`rotate_gray` turns the page, or anything else, the same way); word boxes
//! are in the turned page's coordinates, one word per CJK character. Its
//! `PpConfig::threads` are tract's own (rayon) threads for matrix products;
//! it takes no notice of `OMP_THREAD_LIMIT`. See `src/pp/mod.rs` for the
//! steps and `examples/pp_vs_tesseract.rs` for the figures against Tesseract.
//!
//! The process must start with `OMP_THREAD_LIMIT=1` in its environment: with
//! OpenMP threads Tesseract was 2.2x to 4x slower per page on the terminal's two
//! cores and sometimes stalled. libgomp reads the variable once, when it is
//! loaded before `main` runs, so setting it with `std::env::set_var` has no
//! effect (measured); set it in the systemd unit, or let the binary re-execute
//! itself with it. This crate reads no environment variables.
//!
//! Recognised text is personal data. This crate logs only lengths,
//! confidences and durations, and `OcrText`'s `Debug` output omits the text.

mod engine;
mod error;
mod orient;
mod pool;
mod pp;
#[cfg(test)]
mod test_utils;
mod text;

pub use engine::{EngineKind, Layout, OcrConfig, OcrEngine, OcrText, Word, DOUBTFUL_BELOW};
pub use error::OcrError;
pub use pool::{OcrPool, OcrResult};
pub use pp::{rotate_gray, PpConfig, PpEngine, PpTimings, DET_LONG_SIDE, PP_MODEL_DIR};
pub use text::clean_text;

/// The Tesseract library version this build runs on (for the diagnostics bundle).
pub fn tesseract_version() -> String {
    tesseract::plumbing::version().to_string_lossy().into_owned()
}
