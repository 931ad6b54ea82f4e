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

impl CameraError {
    /// What to tell the petitioner, in Chinese. Pages already taken are kept in every case.
    pub fn prompt_zh(&self) -> &'static str {
        match self {
            CameraError::Open(_) | CameraError::NoFrame => {
                "拍照设备连接中断，正在重新连接；已拍的材料不会丢失"
            }
            CameraError::ImageFile(_) | CameraError::Decode | CameraError::OpenCv(_) => {
                "拍照失败，请重新拍照"
            }
        }
    }
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

impl PageError {
    /// What to tell the petitioner, in Chinese.
    pub fn prompt_zh(&self) -> &'static str {
        match self {
            PageError::NoDocument => "没有找到材料，请将材料平放在拍摄区域内",
            PageError::EmptyFrame => "画面为空，请检查拍照设备",
            PageError::Encode | PageError::OpenCv(_) => "图片处理失败，请重新拍照",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_a_prompt_without_personal_data() {
        let errors = [
            CameraError::Open("device /dev/kiosk/camera".into()).prompt_zh(),
            CameraError::NoFrame.prompt_zh(),
            CameraError::Decode.prompt_zh(),
            PageError::NoDocument.prompt_zh(),
            PageError::EmptyFrame.prompt_zh(),
            PageError::Encode.prompt_zh(),
        ];
        assert!(errors.iter().all(|p| !p.is_empty() && !p.contains('/')));
        assert!(CameraError::NoFrame.prompt_zh().contains("不会丢失"));
    }
}
