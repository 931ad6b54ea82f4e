//! One camera frame: an owned BGR image with helpers for loading and previewing.

use std::path::Path;

use opencv::core::{Mat, Size, Vector};
use opencv::prelude::*;
use opencv::{imgcodecs, imgproc};

use crate::CameraError;

/// A colour camera frame (8-bit BGR, three channels), owned.
#[derive(Debug)]
pub struct Frame {
    mat: Mat,
}

impl Frame {
    /// Wraps a Mat from OpenCV, converting grey or BGRA input to BGR.
    ///
    /// Empty images and non-8-bit images are rejected.
    pub(crate) fn from_mat(mat: Mat) -> Result<Frame, CameraError> {
        if mat.empty() || mat.depth() != opencv::core::CV_8U {
            return Err(CameraError::Decode);
        }
        let mat = match mat.channels() {
            3 => mat,
            1 => convert(&mat, imgproc::COLOR_GRAY2BGR)?,
            4 => convert(&mat, imgproc::COLOR_BGRA2BGR)?,
            _ => return Err(CameraError::Decode),
        };
        Ok(Frame { mat })
    }

    /// Loads an image file (JPEG, PNG, ...) as a frame.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Frame, CameraError> {
        let path = path.as_ref();
        let name = path
            .to_str()
            .ok_or_else(|| CameraError::ImageFile(path.to_path_buf()))?;
        let mat = imgcodecs::imread(name, imgcodecs::IMREAD_COLOR)
            .map_err(|_| CameraError::ImageFile(path.to_path_buf()))?;
        Frame::from_mat(mat).map_err(|_| CameraError::ImageFile(path.to_path_buf()))
    }

    /// Decodes an encoded image (JPEG, PNG, ...) held in memory.
    pub fn from_encoded(bytes: &[u8]) -> Result<Frame, CameraError> {
        if bytes.is_empty() {
            return Err(CameraError::Decode);
        }
        let buf = Vector::<u8>::from_slice(bytes);
        let mat =
            imgcodecs::imdecode(&buf, imgcodecs::IMREAD_COLOR).map_err(|_| CameraError::Decode)?;
        Frame::from_mat(mat)
    }

    /// Width and height in pixels.
    pub fn size(&self) -> (u32, u32) {
        (self.mat.cols().max(0) as u32, self.mat.rows().max(0) as u32)
    }

    /// The underlying BGR image.
    pub(crate) fn mat(&self) -> &Mat {
        &self.mat
    }

    /// A downscaled RGBA8 copy for the UI, at most `max_width` pixels wide.
    ///
    /// Returns width, height and the tightly packed RGBA bytes. A frame that cannot
    /// be converted yields an empty image (0, 0, empty) rather than an error, so the
    /// preview never stops the capture loop.
    pub fn preview_rgba(&self, max_width: u32) -> (u32, u32, Vec<u8>) {
        rgba_preview(&self.mat, max_width).unwrap_or((0, 0, Vec::new()))
    }
}

/// Converts a BGR (or grey) image to a packed RGBA8 buffer no wider than `max_width`.
pub(crate) fn rgba_preview(bgr: &Mat, max_width: u32) -> opencv::Result<(u32, u32, Vec<u8>)> {
    let (w, h) = (bgr.cols(), bgr.rows());
    if w <= 0 || h <= 0 {
        return Ok((0, 0, Vec::new()));
    }
    let max_w = max_width.clamp(1, i32::MAX as u32) as i32;
    let small = if w > max_w {
        let new_h = ((h as f64) * (max_w as f64) / (w as f64)).round().max(1.0) as i32;
        let mut out = Mat::default();
        imgproc::resize(
            bgr,
            &mut out,
            Size::new(max_w, new_h),
            0.0,
            0.0,
            imgproc::INTER_AREA,
        )?;
        out
    } else {
        bgr.clone()
    };
    let code = if small.channels() == 1 {
        imgproc::COLOR_GRAY2RGBA
    } else {
        imgproc::COLOR_BGR2RGBA
    };
    let rgba = convert(&small, code)?;
    let bytes = packed_bytes(&rgba)?;
    Ok((rgba.cols() as u32, rgba.rows() as u32, bytes))
}

/// Runs one colour conversion into a new Mat.
pub(crate) fn convert(src: &Mat, code: i32) -> opencv::Result<Mat> {
    let mut out = Mat::default();
    imgproc::cvt_color(src, &mut out, code, 0)?;
    Ok(out)
}

/// Copies the pixels of a Mat into a tightly packed byte vector.
pub(crate) fn packed_bytes(mat: &Mat) -> opencv::Result<Vec<u8>> {
    if mat.is_continuous() {
        Ok(mat.data_bytes()?.to_vec())
    } else {
        Ok(mat.try_clone()?.data_bytes()?.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_bytes_are_a_decode_error() {
        assert!(matches!(
            Frame::from_encoded(b"not an image"),
            Err(CameraError::Decode)
        ));
        assert!(matches!(Frame::from_encoded(&[]), Err(CameraError::Decode)));
        // A truncated JPEG header.
        assert!(matches!(
            Frame::from_encoded(&[0xff, 0xd8, 0xff, 0xe0, 0, 16]),
            Err(CameraError::Decode)
        ));
    }

    #[test]
    fn missing_and_corrupt_files_are_errors() {
        let dir = std::env::temp_dir().join(format!("kiosk-camera-frame-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.jpg");
        std::fs::write(&empty, b"").unwrap();
        let corrupt = dir.join("corrupt.jpg");
        std::fs::write(&corrupt, b"\xff\xd8\xff\xe0garbage").unwrap();
        assert!(matches!(
            Frame::from_file(&empty),
            Err(CameraError::ImageFile(_))
        ));
        assert!(matches!(
            Frame::from_file(&corrupt),
            Err(CameraError::ImageFile(_))
        ));
        assert!(matches!(
            Frame::from_file(dir.join("missing.jpg")),
            Err(CameraError::ImageFile(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn preview_is_rgba_and_bounded() {
        let frame = Frame::from_file(crate::test_utils::sample_page(1)).unwrap();
        assert_eq!(frame.size(), (1920, 1080));
        let (w, h, px) = frame.preview_rgba(480);
        assert_eq!((w, h), (480, 270));
        assert_eq!(px.len(), 480 * 270 * 4);
        assert!(px.chunks(4).all(|p| p[3] == 255));
        let (w, h, px) = frame.preview_rgba(0);
        assert_eq!(w, 1);
        assert_eq!(px.len(), (w * h * 4) as usize);
    }
}
