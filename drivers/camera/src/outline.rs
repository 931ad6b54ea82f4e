//! The page outline search: find the sheet's four corners in a camera frame
//! and warp it upright. See `page` for how the result is used.
//!
//! The search runs on a downscaled grey copy of the frame: an Otsu threshold
//! separates the bright sheet from the darker desk, and the largest region that
//! simplifies to a convex quadrilateral, fills that quadrilateral and is clearly
//! brighter than its surroundings is taken as the page. The corners are then
//! used at full resolution for the perspective warp.

use opencv::core::{self, Mat, Point, Point2f, Scalar, Size, Vector};
use opencv::imgproc;
use opencv::prelude::*;

use crate::PageError;

/// Width of the copy the outline search runs on.
pub(crate) const WORK_WIDTH: i32 = 800;
/// The page must cover at least this share of the frame.
pub(crate) const MIN_AREA_FRACTION: f64 = 0.12;
/// The region must fill at least this share of its quadrilateral.
pub(crate) const MIN_FILL: f64 = 0.90;
/// Corner angles outside this range (degrees) are not a photographed sheet.
pub(crate) const ANGLE_RANGE: (f64, f64) = (60.0, 120.0);
/// Mean grey level difference between the page and the desk around it.
pub(crate) const MIN_CONTRAST: f64 = 40.0;

/// Returns the page corners (tl, tr, br, bl) in frame pixels, or `None`.
pub(crate) fn find_page(src: &Mat) -> Result<Option<[Point2f; 4]>, PageError> {
    let scale = if src.cols() > WORK_WIDTH {
        WORK_WIDTH as f64 / src.cols() as f64
    } else {
        1.0
    };
    let mut small = Mat::default();
    if scale < 1.0 {
        let size = Size::new(
            WORK_WIDTH,
            ((src.rows() as f64) * scale).round().max(1.0) as i32,
        );
        imgproc::resize(src, &mut small, size, 0.0, 0.0, imgproc::INTER_AREA)?;
    } else {
        small = src.try_clone()?;
    }
    let mut gray = Mat::default();
    imgproc::cvt_color(&small, &mut gray, imgproc::COLOR_BGR2GRAY, 0)?;
    let mut blurred = Mat::default();
    imgproc::gaussian_blur(
        &gray,
        &mut blurred,
        Size::new(5, 5),
        0.0,
        0.0,
        core::BORDER_DEFAULT,
    )?;

    // Otsu's threshold separates an evenly lit sheet from the desk. A shadow
    // across the sheet (the camera arm, a hand) splits it there, leaving a
    // region no paper has the shape of; then lower thresholds are tried in
    // turn, and the first whose region has the shape of paper wins. When
    // none has, Otsu's region is kept (and the caller falls back).
    let mut bin = Mat::default();
    let otsu = imgproc::threshold(
        &blurred,
        &mut bin,
        0.0,
        255.0,
        imgproc::THRESH_BINARY | imgproc::THRESH_OTSU,
    )?;
    let frame_area = (gray.cols() as f64) * (gray.rows() as f64);
    let centre = (gray.cols() as f32 / 2.0, gray.rows() as f32 / 2.0);
    let mut best: Option<(f64, Vector<Point>)> = None;
    let mut best_paper: Option<(f64, Vector<Point>)> = None;
    let mut regions = 0;
    for (k, share) in THRESHOLD_SHARES.iter().enumerate() {
        if k > 0 {
            imgproc::threshold(&blurred, &mut bin, otsu * share, 255.0, imgproc::THRESH_BINARY)?;
        }
        let Some((area, quad, count)) = largest_sheet(&bin, &blurred, frame_area)? else {
            continue;
        };
        regions += count;
        let corners: Vec<Point2f> = quad.iter().map(|p| Point2f::new(p.x as f32, p.y as f32)).collect();
        let paper = paper_shaped(&order_corners(&corners), centre);
        if k == 0 {
            best = Some((area, quad.clone()));
        }
        if paper {
            best_paper = Some((area, quad));
            break;
        }
    }
    let best = best_paper.or(best);
    let Some((area, quad)) = best else {
        log::debug!("no page outline among {regions} regions");
        return Ok(None);
    };
    log::debug!("page covers {:.0}% of the frame", 100.0 * area / frame_area);
    let pts: Vec<Point2f> = quad
        .iter()
        .map(|p| {
            Point2f::new(
                ((p.x as f64 + 0.5) / scale) as f32,
                ((p.y as f64 + 0.5) / scale) as f32,
            )
        })
        .collect();
    Ok(Some(order_corners(&pts)))
}

/// Thresholds tried after Otsu's, as shares of it (see `find_page`).
const THRESHOLD_SHARES: [f64; 4] = [1.0, 0.8, 0.65, 0.5];

/// Long-to-short side ratios of real paper (A-series 1.41, Letter 1.29,
/// receipts up to about 1.6).
pub(crate) const PAPER_ASPECT: (f32, f32) = (1.22, 1.62);

/// True when the corners (tl, tr, br, bl) are the photograph of a sheet with
/// a paper's side ratio.
pub(crate) fn paper_shaped(corners: &[Point2f; 4], centre: (f32, f32)) -> bool {
    let (w, h) = output_size(corners, 1000.0, centre);
    let aspect = w.max(h) as f32 / w.min(h).max(1) as f32;
    (PAPER_ASPECT.0..=PAPER_ASPECT.1).contains(&aspect)
}

/// The largest region of the binary image `bin` that simplifies to a convex
/// quadrilateral, fills it, has plausible corner angles and is brighter than
/// its surroundings in `gray`: its area, its corners, and how many regions
/// were looked at.
fn largest_sheet(
    bin: &Mat,
    gray: &Mat,
    frame_area: f64,
) -> Result<Option<(f64, Vector<Point>, usize)>, PageError> {
    let kernel =
        imgproc::get_structuring_element(imgproc::MORPH_RECT, Size::new(5, 5), Point::new(-1, -1))?;
    let border = imgproc::morphology_default_border_value()?;
    let mut closed = Mat::default();
    imgproc::morphology_ex(
        bin,
        &mut closed,
        imgproc::MORPH_CLOSE,
        &kernel,
        Point::new(-1, -1),
        1,
        core::BORDER_CONSTANT,
        border,
    )?;
    let mut opened = Mat::default();
    imgproc::morphology_ex(
        &closed,
        &mut opened,
        imgproc::MORPH_OPEN,
        &kernel,
        Point::new(-1, -1),
        2,
        core::BORDER_CONSTANT,
        border,
    )?;
    let mut contours = Vector::<Vector<Point>>::new();
    imgproc::find_contours(
        &opened,
        &mut contours,
        imgproc::RETR_EXTERNAL,
        imgproc::CHAIN_APPROX_SIMPLE,
        Point::new(0, 0),
    )?;
    let mut best: Option<(f64, Vector<Point>)> = None;
    for contour in contours.iter() {
        let area = imgproc::contour_area(&contour, false)?;
        if area < MIN_AREA_FRACTION * frame_area || best.as_ref().is_some_and(|(a, _)| *a >= area) {
            continue;
        }
        let Some(quad) = quadrilateral(&contour)? else {
            continue;
        };
        let quad_area = imgproc::contour_area(&quad, false)?;
        if quad_area <= 0.0 || area / quad_area < MIN_FILL || !angles_plausible(&quad) {
            continue;
        }
        if !brighter_than_surroundings(gray, &quad)? {
            continue;
        }
        best = Some((area, quad));
    }
    Ok(best.map(|(area, quad)| (area, quad, contours.len())))
}

/// Simplifies a contour to four corners, if it has that shape.
pub(crate) fn quadrilateral(contour: &Vector<Point>) -> Result<Option<Vector<Point>>, PageError> {
    let mut hull = Vector::<Point>::new();
    imgproc::convex_hull(contour, &mut hull, false, true)?;
    let perimeter = imgproc::arc_length(&hull, true)?;
    for eps in [0.01, 0.02, 0.03, 0.04, 0.05] {
        let mut approx = Vector::<Point>::new();
        imgproc::approx_poly_dp(&hull, &mut approx, eps * perimeter, true)?;
        if approx.len() == 4 && imgproc::is_contour_convex(&approx)? {
            return Ok(Some(approx));
        }
        if approx.len() < 4 {
            break;
        }
    }
    Ok(None)
}

/// True when every interior angle of the quadrilateral is near a right angle.
pub(crate) fn angles_plausible(quad: &Vector<Point>) -> bool {
    let pts: Vec<Point> = quad.iter().collect();
    (0..4).all(|i| {
        let (prev, cur, next) = (pts[(i + 3) % 4], pts[i], pts[(i + 1) % 4]);
        let (ax, ay) = ((prev.x - cur.x) as f64, (prev.y - cur.y) as f64);
        let (bx, by) = ((next.x - cur.x) as f64, (next.y - cur.y) as f64);
        let norm = (ax.hypot(ay)) * (bx.hypot(by));
        if norm == 0.0 {
            return false;
        }
        let angle = ((ax * bx + ay * by) / norm)
            .clamp(-1.0, 1.0)
            .acos()
            .to_degrees();
        angle > ANGLE_RANGE.0 && angle < ANGLE_RANGE.1
    })
}

/// True when the quadrilateral is clearly brighter than a band around it.
pub(crate) fn brighter_than_surroundings(
    gray: &Mat,
    quad: &Vector<Point>,
) -> Result<bool, PageError> {
    let mut inside = Mat::zeros(gray.rows(), gray.cols(), core::CV_8UC1)?.to_mat()?;
    imgproc::fill_convex_poly(&mut inside, quad, Scalar::all(255.0), imgproc::LINE_8, 0)?;
    let band = (gray.cols().max(gray.rows()) / 40).max(3);
    let kernel = imgproc::get_structuring_element(
        imgproc::MORPH_RECT,
        Size::new(2 * band + 1, 2 * band + 1),
        Point::new(-1, -1),
    )?;
    let mut grown = Mat::default();
    imgproc::dilate(
        &inside,
        &mut grown,
        &kernel,
        Point::new(-1, -1),
        1,
        core::BORDER_CONSTANT,
        Scalar::all(0.0),
    )?;
    let mut ring = Mat::default();
    core::subtract(&grown, &inside, &mut ring, &core::no_array(), -1)?;
    if core::count_non_zero(&ring)? < 100 {
        // The region fills the frame: a uniform view, or a sheet too close to
        // tell apart from the desk. Neither is a page we can straighten.
        return Ok(false);
    }
    let page_mean = core::mean(gray, &inside)?[0];
    let desk_mean = core::mean(gray, &ring)?[0];
    log::trace!("page mean {page_mean:.0}, surroundings {desk_mean:.0}");
    Ok(page_mean - desk_mean >= MIN_CONTRAST)
}

/// Orders four points as top-left, top-right, bottom-right, bottom-left.
///
/// The points are sorted clockwise around their centroid and the sequence
/// starts at the point nearest the frame's top-left (smallest x + y).
pub(crate) fn order_corners(pts: &[Point2f]) -> [Point2f; 4] {
    let cx = pts.iter().map(|p| p.x).sum::<f32>() / pts.len() as f32;
    let cy = pts.iter().map(|p| p.y).sum::<f32>() / pts.len() as f32;
    let mut sorted: Vec<Point2f> = pts.to_vec();
    // With y pointing down, increasing atan2 runs clockwise on screen.
    sorted.sort_by(|a, b| {
        (a.y - cy)
            .atan2(a.x - cx)
            .total_cmp(&(b.y - cy).atan2(b.x - cx))
    });
    let start = (0..sorted.len())
        .min_by(|&i, &j| (sorted[i].x + sorted[i].y).total_cmp(&(sorted[j].x + sorted[j].y)))
        .unwrap_or(0);
    let mut out = [Point2f::default(); 4];
    for (k, slot) in out.iter_mut().enumerate() {
        *slot = sorted[(start + k) % sorted.len()];
    }
    out
}

/// Output width and height of the straightened page, its long side `long_side`.
///
/// The width-to-height ratio is recovered from the perspective of the four
/// corners (`rectified_aspect`, with the principal point at the frame's
/// centre); when the corners carry no usable perspective, from the mean
/// lengths of opposite edges, which is right for a camera square to the desk
/// and squashes the page by 10% and more at 25 degrees of tilt.
pub(crate) fn output_size(c: &[Point2f; 4], long_side: f32, centre: (f32, f32)) -> (i32, i32) {
    let d = |a: Point2f, b: Point2f| (a.x - b.x).hypot(a.y - b.y);
    let w = (d(c[0], c[1]) + d(c[3], c[2])) / 2.0;
    let h = (d(c[0], c[3]) + d(c[1], c[2])) / 2.0;
    let (w, h) = (w.max(1.0), h.max(1.0));
    let ratio = rectified_aspect(c, centre).unwrap_or(w / h);
    if ratio <= 1.0 {
        (
            (long_side * ratio).round().max(1.0) as i32,
            long_side as i32,
        )
    } else {
        (
            long_side as i32,
            (long_side / ratio).round().max(1.0) as i32,
        )
    }
}

/// The width-to-height ratio of the rectangle whose photograph has the
/// corners `c` (tl, tr, br, bl), for a pinhole camera with square pixels and
/// its principal point at `centre`.
///
/// Zhang and He's construction ("Whiteboard scanning and image enhancement",
/// 2007): the vanishing geometry of the quadrilateral gives the focal length,
/// and with it the true ratio of the sides. `None` for a degenerate
/// quadrilateral.
/// When the corners cannot give the focal length, `TYPICAL_FOCAL` is used.
pub(crate) fn rectified_aspect(c: &[Point2f; 4], centre: (f32, f32)) -> Option<f32> {
    type V = [f64; 3];
    let m = |p: Point2f| -> V { [(p.x - centre.0) as f64, (p.y - centre.1) as f64, 1.0] };
    let cross = |a: V, b: V| -> V {
        [
            a[1] * b[2] - a[2] * b[1],
            a[2] * b[0] - a[0] * b[2],
            a[0] * b[1] - a[1] * b[0],
        ]
    };
    let dot = |a: V, b: V| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    // The rectangle's (0,0), (w,0), (0,h), (w,h).
    let (m1, m2, m3, m4) = (m(c[0]), m(c[1]), m(c[3]), m(c[2]));
    let d2 = dot(cross(m2, m4), m3);
    let d3 = dot(cross(m3, m4), m2);
    if d2.abs() < 1e-9 || d3.abs() < 1e-9 {
        return None;
    }
    let k2 = dot(cross(m1, m4), m3) / d2;
    let k3 = dot(cross(m1, m4), m2) / d3;
    let n2: V = [k2 * m2[0] - m1[0], k2 * m2[1] - m1[1], k2 - 1.0];
    let n3: V = [k3 * m3[0] - m1[0], k3 * m3[1] - m1[1], k3 - 1.0];
    // Perspective along both sides (n2z * n3z clearly non-zero) gives the
    // focal length. A camera tilted about one axis only (the usual keystone:
    // a symmetric trapezoid) does not; then the typical focal length of a
    // document camera is assumed.
    let diag = centre.0.hypot(centre.1) as f64;
    let typical = (TYPICAL_FOCAL * 2.0 * centre.0 as f64).powi(2);
    let f2 = if n2[2].abs().min(n3[2].abs()) < MIN_PERSPECTIVE {
        typical
    } else {
        let f2 = -(n2[0] * n3[0] + n2[1] * n3[1]) / (n2[2] * n3[2]);
        // A document camera's lens lies between a wide angle and a tele lens.
        if f2 > (0.3 * diag).powi(2) && f2 < (20.0 * diag).powi(2) {
            f2
        } else {
            typical
        }
    };
    let len2 = |n: V| (n[0] * n[0] + n[1] * n[1]) / f2 + n[2] * n[2];
    let ratio = (len2(n2) / len2(n3)).sqrt();
    (ratio.is_finite() && ratio > 0.0).then_some(ratio as f32)
}

/// Smallest perspective (relative change of scale across the page) along each
/// side for which `rectified_aspect` trusts the focal length the corners give:
/// below it, a pixel of corner error moves the estimate by a lot.
const MIN_PERSPECTIVE: f64 = 0.08;
/// Focal length of a typical document camera, in frame widths (a horizontal
/// field of view of about 67 degrees).
const TYPICAL_FOCAL: f64 = 0.75;

pub(crate) fn warp(src: &Mat, corners: &[Point2f; 4], w: i32, h: i32) -> Result<Mat, PageError> {
    let from = Vector::<Point2f>::from_slice(corners);
    let (wf, hf) = (w as f32, h as f32);
    let to = Vector::<Point2f>::from_slice(&[
        Point2f::new(0.0, 0.0),
        Point2f::new(wf, 0.0),
        Point2f::new(wf, hf),
        Point2f::new(0.0, hf),
    ]);
    let m = imgproc::get_perspective_transform(&from, &to, core::DECOMP_LU)?;
    let mut out = Mat::default();
    imgproc::warp_perspective(
        src,
        &mut out,
        &m,
        Size::new(w, h),
        imgproc::INTER_CUBIC,
        core::BORDER_REPLICATE,
        Scalar::default(),
    )?;
    Ok(out)
}
