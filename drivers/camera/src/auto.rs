//! Auto-capture: decide from the preview frames when to take the still.
//!
//! `AutoCapture::feed` looks at each preview frame and answers with one
//! `Advice`: the page is missing or cut off, the picture moves, is too dark,
//! has glare or is out of focus, or it is `Ready` (the page has been in view,
//! steady and sharp for `steady_for`). `Ready` is reported once per
//! placement; until the picture changes again (the next page) the answer is
//! `Captured`. Time is an input, so the logic is tested on image sequences
//! with a fake clock.
//!
//! Measures, all on a small grey copy of the frame:
//! - steadiness: mean absolute difference to the previous frame;
//! - focus: variance of the Laplacian inside the page outline;
//! - exposure: mean grey level of the page; glare: share of saturated pixels on it.

use std::time::{Duration, Instant};

use opencv::core::{self, Mat, Point, Point2f, Scalar, Size, Vector};
use opencv::imgproc;
use opencv::prelude::*;

use crate::outline::{find_page, MIN_AREA_FRACTION, WORK_WIDTH};
use crate::{Frame, PageError};

/// What the petitioner should do, or that the still can be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Advice {
    /// No page under the camera.
    NoPage,
    /// A page is there but runs off the edge of the picture.
    NotFullyInView,
    /// The picture is moving.
    HoldStill,
    /// The page is too dark to read.
    TooDark,
    /// Light reflects off the page.
    Glare,
    /// The page is blurred (out of focus).
    OutOfFocus,
    /// Take the still now (reported once per placement of a page).
    Ready,
    /// The still of this placement was taken; waiting for the next page.
    Captured,
}

impl Advice {
    /// Every advice, for UIs that list their prompts.
    pub const ALL: [Advice; 8] = [
        Advice::NoPage,
        Advice::NotFullyInView,
        Advice::HoldStill,
        Advice::TooDark,
        Advice::Glare,
        Advice::OutOfFocus,
        Advice::Ready,
        Advice::Captured,
    ];

    /// A short prompt for the petitioner, in Chinese.
    pub fn prompt_zh(&self) -> &'static str {
        match self {
            Advice::NoPage => "请将材料平放在拍摄区域内",
            Advice::NotFullyInView => "材料未完整显示，请移到拍摄区域中间",
            Advice::HoldStill => "请保持材料不动",
            Advice::TooDark => "光线太暗，请打开照明",
            Advice::Glare => "材料反光，请调整角度或关闭强光",
            Advice::OutOfFocus => "画面模糊，请稍候对焦",
            Advice::Ready => "正在拍照，请勿移动",
            Advice::Captured => "已拍摄，请放下一页",
        }
    }
}

/// Thresholds of `AutoCapture`; `Default` holds values tuned on the SPECIMEN photos.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoCaptureConfig {
    /// How long the picture must stay steady before `Ready`.
    pub steady_for: Duration,
    /// Largest mean absolute grey difference between frames that counts as steady.
    pub max_motion: f64,
    /// Smallest variance of the Laplacian on the page that counts as sharp
    /// (SPECIMEN pages: 2500-6000 sharp, 150-360 at a blur of sigma 2.5 px).
    /// A page without content (grey level spread below `BLANK_SPREAD`) skips this check.
    pub min_focus: f64,
    /// Smallest mean grey level of the page.
    pub min_brightness: f64,
    /// Largest share of saturated pixels on the page.
    pub max_glare: f64,
    /// A corner closer than this share of the frame size to the edge is cut off.
    pub edge_margin: f64,
    /// Mean grey difference to the captured picture that means a new page came.
    pub change_to_rearm: f64,
}

impl Default for AutoCaptureConfig {
    fn default() -> Self {
        AutoCaptureConfig {
            steady_for: Duration::from_millis(600),
            max_motion: 3.0,
            min_focus: 200.0,
            min_brightness: 90.0,
            max_glare: 0.02,
            edge_margin: 0.005,
            change_to_rearm: 8.0,
        }
    }
}

/// Width of the grey copy used for motion.
const MOTION_WIDTH: i32 = 160;
/// Grey level counted as saturated.
const SATURATED: f64 = 250.0;

/// The auto-capture state: previous frame, start of the steady period, latch after `Ready`.
#[derive(Debug)]
pub struct AutoCapture {
    cfg: AutoCaptureConfig,
    previous: Option<Mat>,
    steady_since: Option<Instant>,
    /// The small grey picture at the moment `Ready` was reported.
    captured: Option<Mat>,
    /// The focus measure of the page in the last frame fed, when a page was seen.
    last_focus: Option<f64>,
}

impl AutoCapture {
    pub fn new(cfg: AutoCaptureConfig) -> Self {
        AutoCapture {
            cfg,
            previous: None,
            steady_since: None,
            captured: None,
            last_focus: None,
        }
    }

    /// The focus measure (variance of the Laplacian inside the page outline)
    /// of the last page measured, or `None` when the last frame showed no
    /// page. While the picture moves, or stays as it was captured, the page
    /// is not measured again and the last value stands. Sharp
    /// when at least [`AutoCaptureConfig::min_focus`]; the technician screen shows it.
    pub fn last_focus(&self) -> Option<f64> {
        self.last_focus
    }

    /// The thresholds in use.
    pub fn config(&self) -> &AutoCaptureConfig {
        &self.cfg
    }

    /// Forgets the last capture, so a steady page is reported `Ready` again (manual retake).
    pub fn rearm(&mut self) {
        self.captured = None;
        self.steady_since = None;
    }

    /// Looks at one preview frame taken at `now`.
    ///
    /// A frame that cannot be analysed counts as `NoPage`.
    pub fn feed(&mut self, frame: &Frame, now: Instant) -> Advice {
        self.assess(frame, now).unwrap_or_else(|err| {
            log::debug!("auto-capture could not analyse a frame: {err}");
            self.steady_since = None;
            self.last_focus = None;
            Advice::NoPage
        })
    }

    fn assess(&mut self, frame: &Frame, now: Instant) -> Result<Advice, PageError> {
        // Everything below runs on one copy at the outline search's scale:
        // one resize of a large frame instead of several.
        let reduced = reduce(frame.mat())?;
        let src = &reduced;
        let small = motion_image(src)?;
        let motion = match &self.previous {
            Some(prev) if prev.size()? == small.size()? => mean_abs_diff(prev, &small)?,
            _ => f64::INFINITY,
        };
        self.previous = Some(small.try_clone()?);
        if let Some(captured) = &self.captured {
            if captured.size()? == small.size()?
                && mean_abs_diff(captured, &small)? < self.cfg.change_to_rearm
            {
                return Ok(Advice::Captured);
            }
            // The picture changed: the next page (or none) is coming.
            self.captured = None;
        }
        if motion > self.cfg.max_motion {
            self.steady_since = None;
            // Still classify presence first, so an empty desk says so.
        }
        let Some(corners) = find_page(src)? else {
            self.steady_since = None;
            self.last_focus = None;
            return Ok(if too_dark_to_see(src)? {
                Advice::TooDark
            } else if page_cut_off(src)? {
                Advice::NotFullyInView
            } else {
                Advice::NoPage
            });
        };
        let (w, h) = (src.cols() as f32, src.rows() as f32);
        let margin = (self.cfg.edge_margin as f32) * w.max(h);
        if corners
            .iter()
            .any(|p| p.x < margin || p.y < margin || p.x > w - margin || p.y > h - margin)
        {
            self.steady_since = None;
            return Ok(Advice::NotFullyInView);
        }
        if motion > self.cfg.max_motion {
            return Ok(Advice::HoldStill);
        }
        let stats = page_stats(src, &corners)?;
        self.last_focus = Some(stats.focus);
        if stats.brightness < self.cfg.min_brightness {
            self.steady_since = None;
            return Ok(Advice::TooDark);
        }
        if stats.glare > self.cfg.max_glare {
            self.steady_since = None;
            return Ok(Advice::Glare);
        }
        if stats.spread >= BLANK_SPREAD && stats.focus < self.cfg.min_focus {
            self.steady_since = None;
            return Ok(Advice::OutOfFocus);
        }
        let since = *self.steady_since.get_or_insert(now);
        if now.saturating_duration_since(since) < self.cfg.steady_for {
            return Ok(Advice::HoldStill);
        }
        self.captured = Some(small);
        self.steady_since = None;
        Ok(Advice::Ready)
    }
}

/// Measures of the page region.
#[derive(Debug, Clone, Copy)]
struct PageStats {
    brightness: f64,
    glare: f64,
    focus: f64,
    /// Standard deviation of the grey levels: near zero on a blank sheet.
    spread: f64,
}

/// Grey level spread under which a page holds nothing to focus on.
const BLANK_SPREAD: f64 = 6.0;

/// The frame scaled down to `WORK_WIDTH` (unchanged if it is narrower).
fn reduce(src: &Mat) -> Result<Mat, PageError> {
    if src.cols() <= WORK_WIDTH {
        return Ok(src.try_clone()?);
    }
    let h = ((src.rows() as f64) * WORK_WIDTH as f64 / src.cols() as f64)
        .round()
        .max(1.0) as i32;
    let mut out = Mat::default();
    imgproc::resize(
        src,
        &mut out,
        Size::new(WORK_WIDTH, h),
        0.0,
        0.0,
        imgproc::INTER_AREA,
    )?;
    Ok(out)
}

fn motion_image(src: &Mat) -> Result<Mat, PageError> {
    let h = ((src.rows() as f64) * MOTION_WIDTH as f64 / src.cols().max(1) as f64)
        .round()
        .max(1.0) as i32;
    let mut small = Mat::default();
    imgproc::resize(
        src,
        &mut small,
        Size::new(MOTION_WIDTH, h),
        0.0,
        0.0,
        imgproc::INTER_AREA,
    )?;
    let mut gray = Mat::default();
    imgproc::cvt_color(&small, &mut gray, imgproc::COLOR_BGR2GRAY, 0)?;
    Ok(gray)
}

fn mean_abs_diff(a: &Mat, b: &Mat) -> Result<f64, PageError> {
    let mut d = Mat::default();
    core::absdiff(a, b, &mut d)?;
    Ok(core::mean(&d, &core::no_array())?[0])
}

/// The frame at the outline search's scale, grey.
fn work_gray(src: &Mat) -> Result<(Mat, f64), PageError> {
    let scale = (WORK_WIDTH as f64 / src.cols().max(1) as f64).min(1.0);
    let mut small = Mat::default();
    let size = Size::new(
        ((src.cols() as f64) * scale).round().max(1.0) as i32,
        ((src.rows() as f64) * scale).round().max(1.0) as i32,
    );
    imgproc::resize(src, &mut small, size, 0.0, 0.0, imgproc::INTER_AREA)?;
    let mut gray = Mat::default();
    imgproc::cvt_color(&small, &mut gray, imgproc::COLOR_BGR2GRAY, 0)?;
    Ok((gray, scale))
}

/// Brightest smoothed grey level below which nothing in view can be a lit sheet.
const DARK_VIEW_MAX: f64 = 75.0;

/// True when nothing in the view is bright: the light is off or the lens is covered.
fn too_dark_to_see(src: &Mat) -> Result<bool, PageError> {
    let (gray, _) = work_gray(src)?;
    let mut smooth = Mat::default();
    imgproc::blur(
        &gray,
        &mut smooth,
        Size::new(15, 15),
        Point::new(-1, -1),
        core::BORDER_DEFAULT,
    )?;
    let mut max = 0.0;
    core::min_max_loc(&smooth, None, Some(&mut max), None, None, &core::no_array())?;
    Ok(max < DARK_VIEW_MAX)
}

/// True when a large bright region (a sheet) touches the frame's edge.
fn page_cut_off(src: &Mat) -> Result<bool, PageError> {
    let (gray, _) = work_gray(src)?;
    let mut bin = Mat::default();
    let otsu = imgproc::threshold(
        &gray,
        &mut bin,
        0.0,
        255.0,
        imgproc::THRESH_BINARY | imgproc::THRESH_OTSU,
    )?;
    // A uniform view (Otsu finds no real split) holds no sheet.
    let mut mean = Mat::default();
    let mut std = Mat::default();
    core::mean_std_dev(&gray, &mut mean, &mut std, &core::no_array())?;
    if *std.at::<f64>(0)? < 12.0 || otsu <= 0.0 {
        return Ok(false);
    }
    let mut contours = Vector::<Vector<Point>>::new();
    imgproc::find_contours(
        &bin,
        &mut contours,
        imgproc::RETR_EXTERNAL,
        imgproc::CHAIN_APPROX_SIMPLE,
        Point::new(0, 0),
    )?;
    let frame_area = (gray.cols() * gray.rows()) as f64;
    for c in contours.iter() {
        let area = imgproc::contour_area(&c, false)?;
        if area < MIN_AREA_FRACTION * frame_area || area > 0.95 * frame_area {
            continue;
        }
        let r = imgproc::bounding_rect(&c)?;
        let touches = r.x <= 1
            || r.y <= 1
            || r.x + r.width >= gray.cols() - 1
            || r.y + r.height >= gray.rows() - 1;
        if touches {
            return Ok(true);
        }
    }
    Ok(false)
}

fn page_stats(src: &Mat, corners: &[Point2f; 4]) -> Result<PageStats, PageError> {
    let (gray, scale) = work_gray(src)?;
    let quad: Vector<Point> = corners
        .iter()
        .map(|p| Point::new((p.x as f64 * scale) as i32, (p.y as f64 * scale) as i32))
        .collect();
    let mut mask = Mat::zeros(gray.rows(), gray.cols(), core::CV_8UC1)?.to_mat()?;
    imgproc::fill_convex_poly(&mut mask, &quad, Scalar::all(255.0), imgproc::LINE_8, 0)?;
    // Stay off the page edge, whose contrast with the desk is not focus.
    let kernel = imgproc::get_structuring_element(
        imgproc::MORPH_RECT,
        Size::new(15, 15),
        Point::new(-1, -1),
    )?;
    let mut inner = Mat::default();
    imgproc::erode(
        &mask,
        &mut inner,
        &kernel,
        Point::new(-1, -1),
        1,
        core::BORDER_CONSTANT,
        Scalar::all(0.0),
    )?;
    let pixels = core::count_non_zero(&inner)?.max(1) as f64;
    let mut mean = Mat::default();
    let mut std = Mat::default();
    core::mean_std_dev(&gray, &mut mean, &mut std, &inner)?;
    let brightness = *mean.at::<f64>(0)?;
    let spread = *std.at::<f64>(0)?;
    let mut sat = Mat::default();
    imgproc::threshold(
        &gray,
        &mut sat,
        SATURATED - 1.0,
        255.0,
        imgproc::THRESH_BINARY,
    )?;
    let mut sat_on_page = Mat::default();
    core::bitwise_and(&sat, &inner, &mut sat_on_page, &core::no_array())?;
    let glare = core::count_non_zero(&sat_on_page)? as f64 / pixels;
    let mut lap = Mat::default();
    imgproc::laplacian(
        &gray,
        &mut lap,
        core::CV_64F,
        3,
        1.0,
        0.0,
        core::BORDER_DEFAULT,
    )?;
    core::mean_std_dev(&lap, &mut mean, &mut std, &inner)?;
    let sd = *std.at::<f64>(0)?;
    Ok(PageStats {
        brightness,
        glare,
        focus: sd * sd,
        spread,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils;

    fn frame(path: std::path::PathBuf) -> Frame {
        Frame::from_file(path).unwrap()
    }

    /// Feeds `frames` 66 ms apart (15 fps) and returns the advice for each.
    fn run(ac: &mut AutoCapture, frames: &[&Frame], start: Instant) -> Vec<Advice> {
        frames
            .iter()
            .enumerate()
            .map(|(i, f)| ac.feed(f, start + Duration::from_millis(66 * i as u64)))
            .collect()
    }

    fn modified(src: &Frame, f: impl Fn(&Mat) -> Mat) -> Frame {
        Frame::from_mat(f(src.mat())).unwrap()
    }

    #[test]
    fn steady_sharp_page_becomes_ready_once() {
        let page = frame(test_utils::sample_page(1));
        let mut ac = AutoCapture::new(AutoCaptureConfig::default());
        let frames = vec![&page; 14];
        let got = run(&mut ac, &frames, Instant::now());
        // 600 ms steady at 15 fps: ten frames of "hold still", then ready, then captured.
        let ready_at = got.iter().position(|a| *a == Advice::Ready).expect("ready");
        assert!((9..=11).contains(&ready_at), "{got:?}");
        assert!(
            got[..ready_at].iter().all(|a| *a == Advice::HoldStill),
            "{got:?}"
        );
        assert!(
            got[ready_at + 1..].iter().all(|a| *a == Advice::Captured),
            "{got:?}"
        );
        // A new page re-arms the capture.
        let next = frame(test_utils::sample_page(2));
        let got = run(
            &mut ac,
            &[&next; 14],
            Instant::now() + Duration::from_secs(5),
        );
        assert_eq!(
            got.iter().filter(|a| **a == Advice::Ready).count(),
            1,
            "{got:?}"
        );
    }

    #[test]
    fn moving_page_is_hold_still() {
        let a = frame(test_utils::sample_page(1));
        let b = frame(test_utils::sample_page(3));
        let mut ac = AutoCapture::new(AutoCaptureConfig::default());
        let got = run(
            &mut ac,
            &[&a, &b, &a, &b, &a, &b, &a, &b, &a, &b, &a, &b, &a, &b],
            Instant::now(),
        );
        assert!(got.iter().all(|x| *x == Advice::HoldStill), "{got:?}");
    }

    #[test]
    fn empty_desk_and_uniform_frame_are_no_page() {
        let desk = frame(test_utils::empty_desk());
        let mut ac = AutoCapture::new(AutoCaptureConfig::default());
        assert!(run(&mut ac, &[&desk, &desk, &desk], Instant::now())
            .iter()
            .all(|a| *a == Advice::NoPage));
        let grey = Frame::from_mat(
            Mat::new_rows_cols_with_default(720, 1280, core::CV_8UC3, Scalar::all(128.0)).unwrap(),
        )
        .unwrap();
        assert_eq!(ac.feed(&grey, Instant::now()), Advice::NoPage);
    }

    #[test]
    fn page_cut_by_the_frame_edge_is_not_fully_in_view() {
        let page = frame(test_utils::sample_page(1));
        // Shift the picture 700 px left: the sheet runs off the left edge.
        let shifted = modified(&page, |m| {
            let t = Mat::from_slice_2d(&[[1.0f64, 0.0, -700.0], [0.0, 1.0, 0.0]]).unwrap();
            let mut out = Mat::default();
            imgproc::warp_affine(
                m,
                &mut out,
                &t,
                m.size().unwrap(),
                imgproc::INTER_LINEAR,
                core::BORDER_REPLICATE,
                Scalar::default(),
            )
            .unwrap();
            out
        });
        let mut ac = AutoCapture::new(AutoCaptureConfig::default());
        assert_eq!(ac.feed(&shifted, Instant::now()), Advice::NotFullyInView);
    }

    #[test]
    fn dark_glare_and_blur_are_reported() {
        let page = frame(test_utils::sample_page(2));
        let dark = modified(&page, |m| {
            let mut out = Mat::default();
            m.convert_to(&mut out, -1, 0.3, 0.0).unwrap();
            out
        });
        let glare = modified(&page, |m| {
            let mut out = m.clone();
            imgproc::ellipse(
                &mut out,
                Point::new(930, 500),
                Size::new(160, 110),
                0.0,
                0.0,
                360.0,
                Scalar::all(255.0),
                -1,
                imgproc::LINE_8,
                0,
            )
            .unwrap();
            out
        });
        let blurred = modified(&page, |m| {
            let mut out = Mat::default();
            imgproc::gaussian_blur(m, &mut out, Size::new(0, 0), 4.0, 0.0, core::BORDER_DEFAULT)
                .unwrap();
            out
        });
        for (f, want) in [
            (&dark, Advice::TooDark),
            (&glare, Advice::Glare),
            (&blurred, Advice::OutOfFocus),
        ] {
            let mut ac = AutoCapture::new(AutoCaptureConfig::default());
            let got = run(&mut ac, &[f, f, f], Instant::now());
            assert_eq!(got[2], want, "{got:?}");
        }
        // The focus measure the technician screen shows: low when blurred, high when sharp.
        let mut ac = AutoCapture::new(AutoCaptureConfig::default());
        run(&mut ac, &[&blurred, &blurred], Instant::now());
        let soft = ac.last_focus().expect("a page is seen");
        run(&mut ac, &[&page, &page], Instant::now());
        let sharp = ac.last_focus().expect("a page is seen");
        // Once captured, the same picture keeps its measure.
        let got = run(&mut ac, &[&page; 14], Instant::now());
        assert_eq!(got.last(), Some(&Advice::Captured), "{got:?}");
        assert!(ac.last_focus().is_some_and(|f| f > ac.config().min_focus));
        assert!(
            soft < ac.config().min_focus && sharp > ac.config().min_focus,
            "blurred {soft}, sharp {sharp}"
        );
        let desk = frame(test_utils::empty_desk());
        run(&mut ac, &[&desk, &desk], Instant::now());
        assert_eq!(ac.last_focus(), None, "no page, no measure");
    }

    #[test]
    fn image_sequence_camera_drives_auto_capture() {
        // desk, desk, page 1 x 12 (steady), page 2 x 12 (steady): two captures.
        let dir = std::env::temp_dir().join(format!("kiosk-camera-auto-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut files = vec![test_utils::empty_desk(); 2];
        files.extend(vec![test_utils::sample_page(1); 12]);
        files.extend(vec![test_utils::sample_page(2); 12]);
        for (i, f) in files.iter().enumerate() {
            std::fs::copy(f, dir.join(format!("f-{:03}.jpg", i + 1))).unwrap();
        }
        let pattern = dir.join("f-%03d.jpg").to_string_lossy().into_owned();
        let mut cam =
            crate::OpenCvCamera::open(&crate::CameraSource::ImageSequence(pattern)).unwrap();
        let mut ac = AutoCapture::new(AutoCaptureConfig {
            steady_for: Duration::from_millis(400),
            ..Default::default()
        });
        let start = Instant::now();
        let mut got = Vec::new();
        for i in 0..files.len() {
            let f = crate::DocumentCamera::grab(&mut cam).unwrap();
            got.push(ac.feed(&f, start + Duration::from_millis(66 * i as u64)));
        }
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(&got[..2], &[Advice::NoPage, Advice::NoPage]);
        assert_eq!(
            got.iter().filter(|a| **a == Advice::Ready).count(),
            2,
            "{got:?}"
        );
        assert!(Advice::ALL.iter().all(|a| !a.prompt_zh().is_empty()));
    }
}
