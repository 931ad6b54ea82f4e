//! Helpers shared by this crate's unit tests.
//!
//! The unit tests recognise only blank or tiny images, which are fast with any
//! number of OpenMP threads. The page tests in `tests/` run themselves again
//! in a child process with `OMP_THREAD_LIMIT=1`, because libgomp reads the
//! variable when it is loaded and `std::env::set_var` comes too late.

use crate::OcrConfig;

/// Tesseract with Debian's chi_sim model, one worker.
pub(crate) fn config() -> OcrConfig {
    OcrConfig {
        engine: crate::EngineKind::Tesseract,
        ..OcrConfig::default()
    }
}
