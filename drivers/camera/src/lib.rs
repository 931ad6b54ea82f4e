//! Document camera (高拍仪): capture through OpenCV, page detection, perspective correction and encoding.
//!
//! `OpenCvCamera` implements the `DocumentCamera` trait over a V4L2 device or,
//! for the demo and the tests, over a looping image sequence (the synthetic
//! SPECIMEN photos in `samples/`, whose paths `test_utils` gives under the
//! feature `sim`, off by default and never in the shipped kiosk).
//! `process_page` turns a frame into a straightened page: a colour JPEG for
//! upload, a grey buffer for OCR and a thumbnail for the UI.

mod auto;
mod capture;
mod error;
mod frame;
mod outline;
mod page;
#[cfg(feature = "sim")]
pub mod test_utils;

pub use auto::{Advice, AutoCapture, AutoCaptureConfig};
pub use capture::{CameraSource, DocumentCamera, OpenCvCamera};
pub use error::{CameraError, PageError};
pub use frame::Frame;
pub use page::{
    check_page, process_page, process_page_with, raw_gray, turn_page, PageFingerprint, PageOptions,
    PageProblem, ProcessedPage, TurnedPage, BLANK_INK_RATIO,
};

/// The OpenCV library version this build runs on (for the diagnostics bundle).
pub fn opencv_version() -> String {
    opencv::core::get_version_string().unwrap_or_else(|_| "unknown".into())
}
