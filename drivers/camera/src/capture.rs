//! Frame capture through OpenCV `VideoCapture`: a V4L2 device or a looping image sequence.

use std::path::PathBuf;

use opencv::core::Mat;
use opencv::prelude::*;
use opencv::videoio::{self, VideoCapture};

use crate::{CameraError, Frame};

/// Where frames come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CameraSource {
    /// A V4L2 device node, normally the udev symlink `/dev/kiosk/camera`.
    Device(PathBuf),
    /// A printf-style file pattern such as `.../page-%03d.jpg`, played in a loop.
    ImageSequence(String),
}

impl std::fmt::Display for CameraSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CameraSource::Device(path) => write!(f, "device {}", path.display()),
            CameraSource::ImageSequence(pattern) => write!(f, "sequence {pattern}"),
        }
    }
}

/// A document camera (高拍仪) that delivers colour frames on demand.
pub trait DocumentCamera: Send {
    /// Returns the next frame.
    ///
    /// After a `CameraError::NoFrame` the next call tries to reopen the source.
    fn grab(&mut self) -> Result<Frame, CameraError>;
}

/// A `DocumentCamera` backed by OpenCV's `VideoCapture`.
///
/// Devices are opened through V4L2 with MJPEG at the largest resolution the
/// driver accepts. Image sequences use the same read path and start over when
/// they run out, so a demo keeps running.
#[derive(Debug)]
pub struct OpenCvCamera {
    source: CameraSource,
    cap: Option<VideoCapture>,
    /// Frames read since the capture was last opened.
    n_frames: u64,
}

/// Resolution requested from a device; V4L2 drivers clamp it to their largest size.
const REQUEST_WIDTH: f64 = 10_000.0;
const REQUEST_HEIGHT: f64 = 10_000.0;

impl OpenCvCamera {
    /// Opens `src` and checks that it is usable.
    pub fn open(src: &CameraSource) -> Result<Self, CameraError> {
        let cap = open_capture(src)?;
        Ok(OpenCvCamera {
            source: src.clone(),
            cap: Some(cap),
            n_frames: 0,
        })
    }

    /// The source this camera reads from.
    pub fn source(&self) -> &CameraSource {
        &self.source
    }

    fn read_one(&mut self) -> Result<Option<Frame>, CameraError> {
        let cap = match self.cap.as_mut() {
            Some(cap) => cap,
            None => {
                let cap = open_capture(&self.source)?;
                self.n_frames = 0;
                self.cap.insert(cap)
            }
        };
        let mut mat = Mat::default();
        // A failed read and an OpenCV error are treated alike: the source is gone.
        let ok = cap.read(&mut mat).unwrap_or(false);
        if !ok || mat.empty() {
            self.cap = None;
            return Ok(None);
        }
        self.n_frames += 1;
        Ok(Some(Frame::from_mat(mat)?))
    }
}

impl DocumentCamera for OpenCvCamera {
    fn grab(&mut self) -> Result<Frame, CameraError> {
        let had_frames = self.cap.is_some() && self.n_frames > 0;
        if let Some(frame) = self.read_one()? {
            return Ok(frame);
        }
        // The end of an image sequence is not a fault: play it again.
        if had_frames && matches!(self.source, CameraSource::ImageSequence(_)) {
            log::debug!(
                "image sequence ended after {} frames, looping",
                self.n_frames
            );
            // If the files are gone the reopen fails; report that as a missing frame.
            if let Ok(Some(frame)) = self.read_one() {
                return Ok(frame);
            }
        }
        log::warn!("camera {} delivered no frame", self.source);
        Err(CameraError::NoFrame)
    }
}

fn open_capture(src: &CameraSource) -> Result<VideoCapture, CameraError> {
    let open_err = || CameraError::Open(src.to_string());
    let cap = match src {
        CameraSource::Device(path) => {
            let name = path.to_str().ok_or_else(open_err)?;
            let mut cap =
                VideoCapture::from_file(name, videoio::CAP_V4L2).map_err(|_| open_err())?;
            if !cap.is_opened().unwrap_or(false) {
                return Err(open_err());
            }
            configure_device(&mut cap);
            cap
        }
        CameraSource::ImageSequence(pattern) => {
            let cap =
                VideoCapture::from_file(pattern, videoio::CAP_IMAGES).map_err(|_| open_err())?;
            if !cap.is_opened().unwrap_or(false) {
                return Err(open_err());
            }
            cap
        }
    };
    log::info!("opened camera {src}");
    Ok(cap)
}

/// Asks for MJPEG at the largest resolution; every step is best effort.
fn configure_device(cap: &mut VideoCapture) {
    if let Ok(mjpg) = videoio::VideoWriter::fourcc('M', 'J', 'P', 'G') {
        if !cap
            .set(videoio::CAP_PROP_FOURCC, mjpg as f64)
            .unwrap_or(false)
        {
            log::warn!("camera refused mjpeg");
        }
    }
    // V4L2 adjusts an oversized request to the nearest (largest) supported size.
    let _ = cap.set(videoio::CAP_PROP_FRAME_WIDTH, REQUEST_WIDTH);
    let _ = cap.set(videoio::CAP_PROP_FRAME_HEIGHT, REQUEST_HEIGHT);
    let w = cap.get(videoio::CAP_PROP_FRAME_WIDTH).unwrap_or(0.0);
    let h = cap.get(videoio::CAP_PROP_FRAME_HEIGHT).unwrap_or(0.0);
    log::info!("camera resolution {w}x{h}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils;

    #[test]
    fn image_sequence_returns_frames_and_loops() {
        let n_pages = test_utils::sample_pages().len();
        assert!(n_pages >= 3);
        let mut cam = OpenCvCamera::open(&CameraSource::ImageSequence(
            test_utils::page_sequence_pattern(),
        ))
        .unwrap();
        let mut firsts = Vec::new();
        for _ in 0..(2 * n_pages + 1) {
            let frame = cam.grab().unwrap();
            assert_eq!(frame.size(), (1920, 1080));
            let (_, _, px) = frame.preview_rgba(64);
            firsts.push(px);
        }
        // The sequence repeats with period n_pages.
        assert_eq!(firsts[0], firsts[n_pages]);
        assert_eq!(firsts[1], firsts[n_pages + 1]);
        assert_ne!(firsts[0], firsts[1]);
    }

    #[test]
    fn missing_sequence_fails_to_open() {
        let pattern = test_utils::samples_dir()
            .join("nowhere/x-%03d.jpg")
            .to_string_lossy()
            .into_owned();
        let res = OpenCvCamera::open(&CameraSource::ImageSequence(pattern));
        assert!(matches!(res, Err(CameraError::Open(_))));
    }

    #[test]
    fn missing_device_fails_to_open() {
        let res = OpenCvCamera::open(&CameraSource::Device("/dev/kiosk/no-such-camera".into()));
        assert!(matches!(res, Err(CameraError::Open(_))));
    }

    #[test]
    fn vanished_sequence_is_no_frame_then_recovers() {
        let dir = std::env::temp_dir().join(format!("kiosk-camera-seq-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let frame_path = dir.join("f-001.jpg");
        std::fs::copy(test_utils::sample_page(1), &frame_path).unwrap();
        let pattern = dir.join("f-%03d.jpg").to_string_lossy().into_owned();
        let mut cam = OpenCvCamera::open(&CameraSource::ImageSequence(pattern)).unwrap();
        cam.grab().unwrap();
        std::fs::remove_file(&frame_path).unwrap();
        assert!(matches!(cam.grab(), Err(CameraError::NoFrame)));
        // Still gone: reopening fails with a typed error, not a panic.
        assert!(cam.grab().is_err());
        std::fs::copy(test_utils::sample_page(2), &frame_path).unwrap();
        assert_eq!(cam.grab().unwrap().size(), (1920, 1080));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
