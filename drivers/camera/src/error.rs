//! Error types of the document camera: capture failures and page-processing failures.

use std::path::PathBuf;

/// Failure to open the camera, read a frame or load an image.
#[derive(Debug, thiserror::Error)]
pub enum CameraError {
    /// The device or image sequence could not be opened.
    #[error("cannot open camera source {0}")]
    Open(String),
    /// The camera stopped delivering frames (unplugged, sequence vanished).
    /// The next `grab` tries to reopen the source.
    #[error("camera delivered no frame")]
    NoFrame,
    /// An image file could not be read or decoded.
    #[error("cannot read image {}", .0.display())]
    ImageFile(PathBuf),
    /// An encoded image buffer could not be decoded.
    #[error("cannot decode image")]
    Decode,
    /// OpenCV reported an error.
    #[error("opencv call failed")]
    OpenCv(#[from] opencv::Error),
}

/// Failure to turn a camera frame into a straightened page.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// No convincing page outline was found in the frame.
    #[error("no document in frame")]
    NoDocument,
    /// The frame is empty or too small to hold a page.
    #[error("frame is empty or too small")]
    EmptyFrame,
    /// The page image could not be encoded small enough.
    #[error("jpeg encoding failed")]
    Encode,
    /// OpenCV reported an error.
    #[error("image processing failed")]
    OpenCv(#[from] opencv::Error),
}
