//! Capture faults on the image-sequence camera: unplugged camera, blank page, photo without a page.
//!
//! Each must give the petitioner a clear message and lose none of the pages
//! already captured. The sequence lives in a temporary folder whose files
//! are removed ("unplugged") and put back ("plugged in again").

use std::path::{Path, PathBuf};

use kiosk_camera::{
    check_page, process_page, test_utils, CameraSource, DocumentCamera, OpenCvCamera,
    PageFingerprint, ProcessedPage,
};
use opencv::core::{Point, Scalar, Vector};
use opencv::prelude::*;
use opencv::{imgcodecs, imgproc};

/// A capture session as the controller runs it: keep good pages, tell the petitioner about the rest.
#[derive(Default)]
struct Session {
    pages: Vec<ProcessedPage>,
}

impl Session {
    /// Takes one picture; `Err` carries the message for the petitioner.
    fn capture(&mut self, cam: &mut dyn DocumentCamera) -> Result<(), &'static str> {
        let frame = cam.grab().map_err(|e| e.prompt_zh())?;
        let page = process_page(&frame).map_err(|e| e.prompt_zh())?;
        let earlier: Vec<PageFingerprint> =
            self.pages.iter().map(|p| p.fingerprint.clone()).collect();
        if let Some(problem) = check_page(&page, &earlier) {
            return Err(problem.prompt_zh());
        }
        self.pages.push(page);
        Ok(())
    }
}

struct Folder(PathBuf);

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn folder(name: &str) -> Folder {
    let dir = std::env::temp_dir().join(format!("kiosk-camera-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Folder(dir)
}

fn put(dir: &Path, n: usize, from: &Path) {
    std::fs::copy(from, dir.join(format!("f-{n:03}.jpg"))).unwrap();
}

fn camera(dir: &Path) -> OpenCvCamera {
    let pattern = dir.join("f-%03d.jpg").to_string_lossy().into_owned();
    OpenCvCamera::open(&CameraSource::ImageSequence(pattern)).unwrap()
}

/// A photo of an empty white sheet on the desk.
fn blank_sheet(dir: &Path) -> PathBuf {
    let mut img = imgcodecs::imread(
        test_utils::empty_desk().to_str().unwrap(),
        imgcodecs::IMREAD_COLOR,
    )
    .unwrap();
    let quad = Vector::<Point>::from_slice(&[
        Point::new(640, 60),
        Point::new(1330, 80),
        Point::new(1310, 1040),
        Point::new(620, 1020),
    ]);
    imgproc::fill_convex_poly(&mut img, &quad, Scalar::all(235.0), imgproc::LINE_8, 0).unwrap();
    let path = dir.join("blank.png");
    assert!(imgcodecs::imwrite(path.to_str().unwrap(), &img, &Vector::new()).unwrap());
    assert!(!img.empty());
    path
}

#[test]
fn unplugged_camera_is_a_message_and_keeps_pages() {
    let dir = folder("unplug");
    put(&dir.0, 1, &test_utils::sample_page(1));
    let mut cam = camera(&dir.0);
    let mut session = Session::default();
    session.capture(&mut cam).unwrap();
    // Unplugged mid-session.
    std::fs::remove_file(dir.0.join("f-001.jpg")).unwrap();
    let msg = session.capture(&mut cam).unwrap_err();
    assert!(
        msg.contains("连接中断") && msg.contains("不会丢失"),
        "{msg}"
    );
    let msg = session.capture(&mut cam).unwrap_err();
    assert!(msg.contains("连接中断"), "{msg}");
    assert_eq!(session.pages.len(), 1);
    // Plugged in again, with the next page under it.
    put(&dir.0, 1, &test_utils::sample_page(2));
    session.capture(&mut cam).unwrap();
    assert_eq!(session.pages.len(), 2);
}

#[test]
fn blank_page_and_no_page_are_messages_and_keep_pages() {
    let dir = folder("blank");
    let blank = blank_sheet(&dir.0);
    put(&dir.0, 1, &test_utils::sample_page(1));
    put(&dir.0, 2, &blank);
    put(&dir.0, 3, &test_utils::empty_desk());
    put(&dir.0, 4, &test_utils::sample_page(1));
    put(&dir.0, 5, &test_utils::sample_page(3));
    let mut cam = camera(&dir.0);
    let mut session = Session::default();
    session.capture(&mut cam).unwrap();
    assert_eq!(
        session.capture(&mut cam).unwrap_err(),
        "这一页是空白页，请翻到有字的一面"
    );
    let msg = session.capture(&mut cam).unwrap_err();
    assert!(msg.contains("没有找到材料"), "{msg}");
    assert_eq!(
        session.capture(&mut cam).unwrap_err(),
        "这一页已经拍过了，请放下一页"
    );
    session.capture(&mut cam).unwrap();
    assert_eq!(session.pages.len(), 2);
}
