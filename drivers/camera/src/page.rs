//! Page processing: find the sheet in a camera frame, straighten it and encode it.
//!
//! The sheet's corners come from the outline search in `outline`; they are
//! used at full resolution for the perspective warp.
//!
//! The page is warped to its true aspect ratio, recovered from the
//! perspective of its corners (`outline::rectified_aspect`: right at 25
//! degrees of camera tilt, where the mean of opposite edges squashed the page
//! by a tenth), with its long side at `PageOptions::long_side_px`. The orientation is kept as seen: a
//! sheet lying sideways comes out landscape.

use opencv::core::{self, Mat, Point, Point2f, Scalar, Size, Vector};
use opencv::prelude::*;
use opencv::{imgcodecs, imgproc};

use crate::frame::{packed_bytes, rgba_preview};
use crate::outline::{find_page, output_size, warp, PAPER_ASPECT};
use crate::{Frame, PageError};

/// A straightened page, ready for upload and OCR.
#[derive(Debug, Clone)]
pub struct ProcessedPage {
    /// Colour JPEG of the straightened page, for upload.
    pub jpeg: Vec<u8>,
    /// 8-bit grey pixels (row-major, `width * height` bytes) for OCR.
    pub gray: Vec<u8>,
    /// Width of `gray` (and of the JPEG) in pixels.
    pub width: u32,
    /// Height of `gray` (and of the JPEG) in pixels.
    pub height: u32,
    /// Small RGBA8 preview: width, height, bytes.
    pub thumb_rgba: (u32, u32, Vec<u8>),
    /// Page corners in frame pixels: top-left, top-right, bottom-right, bottom-left.
    /// With `fallback` they are the frame's own corners.
    pub corners: [(f32, f32); 4],
    /// The page outline was not trustworthy (an edge shadow or a finger cut
    /// the page, giving a shape no paper has), so the whole frame was used.
    pub fallback: bool,
    /// Residual rotation in degrees that deskewing removed.
    pub deskew_degrees: f32,
    /// Share of ink pixels on the cleaned page (0 to 1).
    pub ink_ratio: f32,
    /// The page carries no text or drawing (`ink_ratio` below `BLANK_INK_RATIO`).
    pub blank: bool,
    /// A small signature of the page's content, to spot the same page photographed twice.
    pub fingerprint: PageFingerprint,
}

/// Why a straightened page should not be kept as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageProblem {
    /// The page carries no text: the back of a sheet, or an empty sheet.
    Blank,
    /// The same page was already captured, as page `index` (0-based) of `earlier`.
    Duplicate { index: usize },
}

impl PageProblem {
    /// What to tell the petitioner, in Chinese.
    pub fn prompt_zh(&self) -> &'static str {
        match self {
            PageProblem::Blank => "这一页是空白页，请翻到有字的一面",
            PageProblem::Duplicate { .. } => "这一页已经拍过了，请放下一页",
        }
    }
}

/// Checks a new page against the blank test and the pages captured before it.
pub fn check_page(page: &ProcessedPage, earlier: &[PageFingerprint]) -> Option<PageProblem> {
    if page.blank {
        return Some(PageProblem::Blank);
    }
    earlier
        .iter()
        .position(|f| f.same_page(&page.fingerprint))
        .map(|index| PageProblem::Duplicate { index })
}

/// Below this share of ink pixels a page counts as blank.
pub const BLANK_INK_RATIO: f32 = 0.002;

/// A coarse image of a cleaned page's ink density, for duplicate detection.
///
/// Two photos of the same sheet give nearly the same signature even when the
/// sheet moved, turned a little or the light changed; different pages differ
/// in where their lines and paragraphs fall.
#[derive(Debug, Clone, PartialEq)]
pub struct PageFingerprint(Vec<f32>);

/// Size of the fingerprint grid (columns, rows).
const FINGERPRINT_GRID: (i32, i32) = (24, 34);
/// Correlation above which two fingerprints are the same page.
const SAME_PAGE_CORRELATION: f32 = 0.90;

impl PageFingerprint {
    /// Correlation of the two signatures, -1 to 1 (0 when either is flat or they differ in size).
    pub fn similarity(&self, other: &PageFingerprint) -> f32 {
        let (a, b) = (&self.0, &other.0);
        if a.len() != b.len() || a.is_empty() {
            return 0.0;
        }
        let n = a.len() as f32;
        let (ma, mb) = (a.iter().sum::<f32>() / n, b.iter().sum::<f32>() / n);
        let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
        for (x, y) in a.iter().zip(b) {
            cov += (x - ma) * (y - mb);
            va += (x - ma) * (x - ma);
            vb += (y - mb) * (y - mb);
        }
        if va <= f32::EPSILON || vb <= f32::EPSILON {
            return 0.0;
        }
        cov / (va.sqrt() * vb.sqrt())
    }

    /// True when the two signatures are the same page photographed twice.
    pub fn same_page(&self, other: &PageFingerprint) -> bool {
        self.similarity(other) >= SAME_PAGE_CORRELATION
    }
}

/// Tunables of `process_page_with`; `Default` holds the values used by `process_page`.
#[derive(Debug, Clone, PartialEq)]
pub struct PageOptions {
    /// Long side of the straightened page in pixels (2200 is A4 at 188 dpi).
    ///
    /// Chosen with `kiosk/ocr/examples/resolution_sweep.rs` on the SPECIMEN photos
    /// (about 85 dpi on the sensor): 1754 to 2800 gave the same character accuracy
    /// (0.97-0.98); larger sizes only cost time and JPEG bytes. Re-measure for a
    /// camera with more pixels.
    pub long_side_px: u32,
    /// Upper bound of the upload JPEG; the quality is lowered until it fits.
    pub max_jpeg_bytes: usize,
    /// Width of the thumbnail in pixels.
    pub thumb_width: u32,
    /// Give OCR the cleaned page (divided by its estimated background to
    /// even out lighting, whitened, table rules erased), as Tesseract needs;
    /// off, OCR gets the page as straightened (red channel, deskewed), which
    /// PP-OCR reads better. The blank and duplicate checks use the cleaned
    /// page either way.
    pub flatten_illumination: bool,
    /// Build the OCR image from the red channel, which makes red seals and
    /// red print nearly white while black and blue ink stay dark.
    pub suppress_red: bool,
    /// Measure and remove a residual rotation of the text lines.
    pub deskew: bool,
    /// Bring text washed out by glare or a pale copy back to the page's
    /// contrast (`restore_contrast`); off only to measure what it gives.
    pub restore_contrast: bool,
    /// When no page outline is found, scale a low-resolution frame's grey
    /// copy up to the straightened page's size; off only to measure.
    pub upscale_whole_frame: bool,
}

impl Default for PageOptions {
    fn default() -> Self {
        PageOptions {
            long_side_px: 2200,
            max_jpeg_bytes: 400 * 1024,
            thumb_width: 240,
            flatten_illumination: true,
            suppress_red: true,
            deskew: true,
            restore_contrast: true,
            upscale_whole_frame: true,
        }
    }
}

/// Smallest frame side that can hold a page worth processing.
const MIN_FRAME_SIDE: i32 = 64;
/// JPEG qualities tried in order until the page fits `max_jpeg_bytes`.
const JPEG_QUALITIES: [i32; 6] = [85, 75, 65, 55, 45, 35];

/// Finds, straightens and encodes the page in `frame` with default options.
pub fn process_page(frame: &Frame) -> Result<ProcessedPage, PageError> {
    process_page_with(frame, &PageOptions::default())
}

/// Finds, straightens and encodes the page in `frame`.
pub fn process_page_with(frame: &Frame, opts: &PageOptions) -> Result<ProcessedPage, PageError> {
    let src = frame.mat();
    if src.cols() < MIN_FRAME_SIDE || src.rows() < MIN_FRAME_SIDE {
        return Err(PageError::EmptyFrame);
    }
    let long_side = opts.long_side_px.clamp(64, 10_000) as f32;
    let corners = find_page(src)?.ok_or(PageError::NoDocument)?;
    let centre = (src.cols() as f32 / 2.0, src.rows() as f32 / 2.0);
    let (out_w, out_h) = output_size(&corners, long_side, centre);
    let aspect = out_w.max(out_h) as f32 / out_w.min(out_h).max(1) as f32;
    let fallback = !(PAPER_ASPECT.0..=PAPER_ASPECT.1).contains(&aspect);
    if fallback {
        // No paper has this shape: the outline was cut by a shadow or a hand.
        // The photo as it is reads better than a wrongly cropped page.
        log::debug!("page outline aspect {aspect:.2} is implausible; using the whole frame");
        return whole_frame(src, opts);
    }
    let warped = warp(src, &corners, out_w, out_h)?;
    let mut gray = ocr_gray(&warped, opts.suppress_red)?;
    let mut deskew_degrees = 0.0;
    let warped = if opts.deskew {
        deskew_degrees = skew_angle(&gray)?;
        if deskew_degrees.abs() >= MIN_DESKEW_DEGREES {
            gray = rotate(&gray, deskew_degrees)?;
            rotate(&warped, deskew_degrees)?
        } else {
            warped
        }
    } else {
        warped
    };
    // The cleaned page: flattened, whitened, rules erased. The blank and
    // duplicate checks always measure it; OCR gets it when
    // `flatten_illumination` (Tesseract), else the page as straightened.
    let red = if opts.suppress_red && opts.restore_contrast {
        Some(red_ink(&warped)?)
    } else {
        None
    };
    let (flat, paper) = flatten(&sharpen(&gray)?)?;
    let cleaned = if opts.restore_contrast {
        whiten(&restore_contrast(&flat, &paper, red.as_ref())?)?
    } else {
        whiten(&flat)?
    };
    let cleaned = remove_rules(&cleaned)?;
    let ink_ratio = ink_ratio(&cleaned)?;
    let fingerprint = fingerprint(&cleaned)?;
    if opts.flatten_illumination {
        gray = cleaned;
    }
    let jpeg = encode_jpeg(&warped, opts.max_jpeg_bytes)?;
    let thumb_rgba = rgba_preview(&warped, opts.thumb_width)?;
    Ok(ProcessedPage {
        jpeg,
        gray: packed_bytes(&gray)?,
        width: gray.cols() as u32,
        height: gray.rows() as u32,
        thumb_rgba,
        corners: corners.map(|p| (p.x, p.y)),
        fallback: false,
        deskew_degrees,
        ink_ratio,
        blank: ink_ratio < BLANK_INK_RATIO,
        fingerprint,
    })
}

/// The fallback page: the whole frame, unprocessed apart from conversion to grey.
fn whole_frame(src: &Mat, opts: &PageOptions) -> Result<ProcessedPage, PageError> {
    let mut gray = Mat::default();
    imgproc::cvt_color(src, &mut gray, imgproc::COLOR_BGR2GRAY, 0)?;
    // A low-resolution frame (720p, 1080p) is brought up so that its short
    // side matches the long side of a straightened page: the page fills
    // about the frame's height, and its text then has the height OCR reads best.
    let short = gray.cols().min(gray.rows()).max(1);
    let target = opts.long_side_px.clamp(64, 10_000) as i32;
    if opts.upscale_whole_frame && short < target {
        let scale = f64::from(target) / f64::from(short);
        let mut big = Mat::default();
        imgproc::resize(&gray, &mut big, Size::new(0, 0), scale, scale, imgproc::INTER_CUBIC)?;
        gray = big;
    }
    let ink_ratio = ink_ratio(&gray)?;
    let (w, h) = (src.cols() as f32, src.rows() as f32);
    Ok(ProcessedPage {
        jpeg: encode_jpeg(src, opts.max_jpeg_bytes)?,
        gray: packed_bytes(&gray)?,
        width: gray.cols() as u32,
        height: gray.rows() as u32,
        thumb_rgba: rgba_preview(src, opts.thumb_width)?,
        corners: [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)],
        fallback: true,
        deskew_degrees: 0.0,
        ink_ratio,
        blank: false,
        fingerprint: fingerprint(&gray)?,
    })
}

/// Unsharp mask: restores some edge contrast lost to lens blur and upscaling.
fn sharpen(gray: &Mat) -> Result<Mat, PageError> {
    let mut blurred = Mat::default();
    imgproc::gaussian_blur(
        gray,
        &mut blurred,
        Size::new(0, 0),
        SHARPEN_SIGMA,
        0.0,
        core::BORDER_REPLICATE,
    )?;
    let mut out = Mat::default();
    core::add_weighted(
        gray,
        1.0 + SHARPEN_AMOUNT,
        &blurred,
        -SHARPEN_AMOUNT,
        0.0,
        &mut out,
        -1,
    )?;
    Ok(out)
}

/// Radius (Gaussian sigma, pixels of the straightened page) and strength of `sharpen`.
const SHARPEN_SIGMA: f64 = 2.0;

const SHARPEN_AMOUNT: f64 = 0.6;

/// Grey level mapped to white after flattening: paper texture, faint seal
/// remains (after red suppression) and JPEG noise above it disappear.
const WHITE_POINT: f64 = 215.0;
/// Grey level mapped to black: thin, blurred strokes of small print gain contrast.
const BLACK_POINT: f64 = 60.0;

/// Stretches grey levels so that `BLACK_POINT` and below become black and `WHITE_POINT` and above white.
fn whiten(gray: &Mat) -> Result<Mat, PageError> {
    let mut out = Mat::default();
    let gain = 255.0 / (WHITE_POINT - BLACK_POINT);
    gray.convert_to(&mut out, -1, gain, -BLACK_POINT * gain)?;
    Ok(out)
}

/// Paints ruled lines (table borders, underlines) white so OCR reads the cells as text rows.
///
/// Ink runs much longer than any character (1/35 of the page's long side,
/// either way) are found with a
/// morphological opening and erased, slightly widened.
fn remove_rules(gray: &Mat) -> Result<Mat, PageError> {
    let mut ink = Mat::default();
    imgproc::threshold(gray, &mut ink, 150.0, 255.0, imgproc::THRESH_BINARY_INV)?;
    let border = imgproc::morphology_default_border_value()?;
    let open = |k: Size| -> Result<Mat, PageError> {
        let kernel = imgproc::get_structuring_element(imgproc::MORPH_RECT, k, Point::new(-1, -1))?;
        let mut out = Mat::default();
        imgproc::morphology_ex(
            &ink,
            &mut out,
            imgproc::MORPH_OPEN,
            &kernel,
            Point::new(-1, -1),
            1,
            core::BORDER_CONSTANT,
            border,
        )?;
        Ok(out)
    };
    // The same length both ways, from the long side: a page lying sideways
    // (text running down) must lose its rules and keep its strokes as an
    // upright one does.
    let rule = (gray.cols().max(gray.rows()) / 35).max(10);
    let horizontal = open(Size::new(rule, 1))?;
    let vertical = open(Size::new(1, rule))?;
    let mut rules = Mat::default();
    core::bitwise_or(&horizontal, &vertical, &mut rules, &core::no_array())?;
    if core::count_non_zero(&rules)? == 0 {
        return Ok(gray.try_clone()?);
    }
    let grown = dilate_square(&rules, 5)?;
    let mut out = gray.try_clone()?;
    out.set_to(&Scalar::all(255.0), &grown)?;
    Ok(out)
}

/// The unprocessed photo as 8-bit grey pixels (width, height), as plain OCR would see it.
pub fn raw_gray(frame: &Frame) -> Result<(Vec<u8>, u32, u32), PageError> {
    let mut gray = Mat::default();
    imgproc::cvt_color(frame.mat(), &mut gray, imgproc::COLOR_BGR2GRAY, 0)?;
    Ok((packed_bytes(&gray)?, gray.cols() as u32, gray.rows() as u32))
}

/// Smaller residual rotations are left alone.
const MIN_DESKEW_DEGREES: f32 = 0.3;
/// Largest residual rotation deskewing looks for.
const MAX_DESKEW_DEGREES: f32 = 5.0;

/// The grey image OCR reads: the red channel (seal suppression) or luminance.
fn ocr_gray(bgr: &Mat, suppress_red: bool) -> Result<Mat, PageError> {
    let mut gray = Mat::default();
    if suppress_red {
        core::extract_channel(bgr, &mut gray, 2)?;
    } else {
        imgproc::cvt_color(bgr, &mut gray, imgproc::COLOR_BGR2GRAY, 0)?;
    }
    Ok(gray)
}

/// Residual text rotation in degrees (positive: counter-clockwise), by the projection profile.
///
/// The page is binarised at a small scale and, for each trial angle, the
/// variance of the row sums of ink is measured: it peaks when the text lines
/// run exactly horizontal.
fn skew_angle(gray: &Mat) -> Result<f32, PageError> {
    let width = 600;
    let scale = width as f64 / gray.cols().max(1) as f64;
    let mut small = Mat::default();
    imgproc::resize(
        gray,
        &mut small,
        Size::new(
            width,
            ((gray.rows() as f64) * scale).round().max(1.0) as i32,
        ),
        0.0,
        0.0,
        imgproc::INTER_AREA,
    )?;
    let mut bin = Mat::default();
    imgproc::adaptive_threshold(
        &small,
        &mut bin,
        255.0,
        imgproc::ADAPTIVE_THRESH_MEAN_C,
        imgproc::THRESH_BINARY_INV,
        31,
        15.0,
    )?;
    if core::count_non_zero(&bin)? < 200 {
        return Ok(0.0);
    }
    let profile_score = |deg: f32| -> Result<f64, PageError> {
        let rotated = rotate(&bin, deg)?;
        let mut rows = Mat::default();
        core::reduce(&rotated, &mut rows, 1, core::REDUCE_SUM, core::CV_64F)?;
        let mut mean = Mat::default();
        let mut std = Mat::default();
        core::mean_std_dev(&rows, &mut mean, &mut std, &core::no_array())?;
        let sd = *std.at::<f64>(0)?;
        Ok(sd * sd)
    };
    // Coarse search, then a finer one around the best coarse angle.
    let mut best = (profile_score(0.0)?, 0.0f32);
    let mut deg = -MAX_DESKEW_DEGREES;
    while deg <= MAX_DESKEW_DEGREES + 1e-3 {
        let s = profile_score(deg)?;
        if s > best.0 * 1.0001 {
            best = (s, deg);
        }
        deg += 0.5;
    }
    let centre = best.1;
    for k in -4..=4 {
        let d = centre + k as f32 * 0.125;
        let s = profile_score(d)?;
        if s > best.0 * 1.0001 {
            best = (s, d);
        }
    }
    Ok(best.1)
}

/// Rotates an image about its centre by `deg` degrees, keeping its size, edges replicated.
fn rotate(img: &Mat, deg: f32) -> Result<Mat, PageError> {
    let centre = Point2f::new(img.cols() as f32 / 2.0, img.rows() as f32 / 2.0);
    let m = imgproc::get_rotation_matrix_2d(centre, deg as f64, 1.0)?;
    let mut out = Mat::default();
    imgproc::warp_affine(
        img,
        &mut out,
        &m,
        img.size()?,
        imgproc::INTER_LINEAR,
        core::BORDER_REPLICATE,
        Scalar::default(),
    )?;
    Ok(out)
}

/// Share of clearly dark pixels on a flattened page, ignoring a 3 % margin (edge residue).
fn ink_ratio(gray: &Mat) -> Result<f32, PageError> {
    let (mx, my) = (gray.cols() * 3 / 100, gray.rows() * 3 / 100);
    let inner = Mat::roi(
        gray,
        core::Rect::new(
            mx,
            my,
            (gray.cols() - 2 * mx).max(1),
            (gray.rows() - 2 * my).max(1),
        ),
    )?;
    let mut dark = Mat::default();
    imgproc::threshold(&inner, &mut dark, 140.0, 255.0, imgproc::THRESH_BINARY_INV)?;
    let total = (inner.rows() * inner.cols()).max(1) as f32;
    Ok(core::count_non_zero(&dark)? as f32 / total)
}

/// The ink density on a coarse grid of the page.
fn fingerprint(gray: &Mat) -> Result<PageFingerprint, PageError> {
    let mut ink = Mat::default();
    imgproc::threshold(gray, &mut ink, 140.0, 255.0, imgproc::THRESH_BINARY_INV)?;
    let (gw, gh) = if gray.cols() > gray.rows() {
        (FINGERPRINT_GRID.1, FINGERPRINT_GRID.0)
    } else {
        FINGERPRINT_GRID
    };
    let mut small = Mat::default();
    imgproc::resize(
        &ink,
        &mut small,
        Size::new(gw, gh),
        0.0,
        0.0,
        imgproc::INTER_AREA,
    )?;
    let bytes = packed_bytes(&small)?;
    Ok(PageFingerprint(bytes.into_iter().map(f32::from).collect()))
}

/// Divides the grey page by a smooth estimate of its paper brightness.
///
/// The estimate is a dilation (which removes the dark text) of a 1/8 scale copy,
/// blurred and scaled back up, so uneven light becomes an even white background.
/// Returns the flattened page and the estimate at 1/8 scale.
fn flatten(gray: &Mat) -> Result<(Mat, Mat), PageError> {
    let small_size = Size::new((gray.cols() / 8).max(1), (gray.rows() / 8).max(1));
    let mut small = Mat::default();
    imgproc::resize(gray, &mut small, small_size, 0.0, 0.0, imgproc::INTER_AREA)?;
    let kernel =
        imgproc::get_structuring_element(imgproc::MORPH_RECT, Size::new(9, 9), Point::new(-1, -1))?;
    let mut bright = Mat::default();
    imgproc::dilate(
        &small,
        &mut bright,
        &kernel,
        Point::new(-1, -1),
        1,
        core::BORDER_REPLICATE,
        Scalar::default(),
    )?;
    let mut smooth = Mat::default();
    imgproc::gaussian_blur(
        &bright,
        &mut smooth,
        Size::new(9, 9),
        0.0,
        0.0,
        core::BORDER_REPLICATE,
    )?;
    let mut background = Mat::default();
    imgproc::resize(
        &smooth,
        &mut background,
        gray.size()?,
        0.0,
        0.0,
        imgproc::INTER_LINEAR,
    )?;
    let mut out = Mat::default();
    core::divide2(gray, &background, &mut out, 255.0, -1)?;
    Ok((out, smooth))
}

/// Brings faint text back to the contrast of the rest of the page.
///
/// Glare (a lamp reflected by glossy paper) and washed-out photocopies leave
/// text only a few grey levels darker than the paper around it; `whiten`
/// would paint it white. On the flattened page (paper near 255) the local
/// ink depth (255 minus grey, the strongest around each spot) is measured on
/// a coarse grid, and where it is clearly above paper noise but below
/// `INK_DEPTH` the ink is deepened by up to `MAX_CONTRAST_GAIN`. Paper noise
/// (local depth below `NOISE_DEPTH`) and text of normal contrast are left
/// as they are, and so is red ink (`red`, a mask): a seal the red channel
/// has faded must stay faded.
fn restore_contrast(flat: &Mat, paper: &Mat, red: Option<&Mat>) -> Result<Mat, PageError> {
    let mut depth = Mat::default();
    core::bitwise_not(flat, &mut depth, &core::no_array())?;
    // A light blur first, so that single noisy pixels do not count as ink;
    // strokes are then widened before the 1/8 reduction so that averaging
    // keeps their depth.
    let mut soft = Mat::default();
    imgproc::gaussian_blur(&depth, &mut soft, Size::new(5, 5), 0.0, 0.0, core::BORDER_REPLICATE)?;
    let wide = dilate_square(&soft, 7)?;
    let small_size = Size::new((flat.cols() / 8).max(1), (flat.rows() / 8).max(1));
    let mut small = Mat::default();
    imgproc::resize(&wide, &mut small, small_size, 0.0, 0.0, imgproc::INTER_AREA)?;
    let local = dilate_square(&small, 9)?;
    let mut smooth = Mat::default();
    imgproc::gaussian_blur(&local, &mut smooth, Size::new(9, 9), 0.0, 0.0, core::BORDER_REPLICATE)?;
    let mut gain_small =
        Mat::new_rows_cols_with_default(smooth.rows(), smooth.cols(), core::CV_32FC1, Scalar::all(1.0))?;
    // The paper's own noise: most of a page is bare paper, so the median
    // local depth tells how rough this paper (or this photo) is.
    let levels: Vec<u8> = packed_bytes(&smooth)?;
    let mut sorted = levels.clone();
    sorted.sort_unstable();
    let median = f32::from(sorted.get(sorted.len() / 2).copied().unwrap_or(0));
    let noise = NOISE_DEPTH.max(1.5 * median);
    // Glare adds light: where it washes text out, the paper is brighter than
    // the rest of the page (or saturated). A shadow only scales the light,
    // which flattening already undid; deepening there would only raise noise.
    let paper_levels: Vec<u8> = packed_bytes(paper)?;
    let mut sorted_paper = paper_levels.clone();
    sorted_paper.sort_unstable();
    let usual = f32::from(sorted_paper.get(sorted_paper.len() / 2).copied().unwrap_or(0));
    let same_grid = paper_levels.len() == levels.len();
    let mut boosted = false;
    for row in 0..smooth.rows() {
        for col in 0..smooth.cols() {
            let at = (row * smooth.cols() + col) as usize;
            let c = f32::from(levels[at]);
            let lit = if same_grid {
                glare_weight(f32::from(paper_levels[at]), usual)
            } else {
                1.0
            };
            let g = 1.0 + (contrast_gain(c, noise) - 1.0) * lit;
            boosted |= g > 1.05;
            *gain_small.at_2d_mut::<f32>(row, col)? = g;
        }
    }
    if !boosted {
        return Ok(flat.try_clone()?);
    }
    let mut gain = Mat::default();
    imgproc::resize(&gain_small, &mut gain, flat.size()?, 0.0, 0.0, imgproc::INTER_LINEAR)?;
    if let Some(red) = red {
        gain.set_to(&Scalar::all(1.0), red)?;
    }
    let mut depth_f = Mat::default();
    depth.convert_to(&mut depth_f, core::CV_32F, 1.0, 0.0)?;
    let mut deeper = Mat::default();
    core::multiply(&depth_f, &gain, &mut deeper, 1.0, -1)?;
    // Back to grey: 255 - depth, saturated to 0..255.
    let mut out = Mat::default();
    deeper.convert_to(&mut out, core::CV_8U, -1.0, 255.0)?;
    Ok(out)
}

/// How much of `restore_contrast`'s gain applies where the paper's
/// brightness is `level` and the page's usual paper brightness `usual`:
/// none on ordinary paper, all of it where the paper is clearly brighter
/// than usual or near saturation.
fn glare_weight(level: f32, usual: f32) -> f32 {
    let smooth = |t: f32| {
        let t = t.clamp(0.0, 1.0);
        t * t * (3.0 - 2.0 * t)
    };
    smooth((level - usual - 12.0) / 12.0).max(smooth((level - 244.0) / 8.0))
}

/// Red ink on the page (seals, red print), slightly widened: where red
/// clearly exceeds green and blue.
fn red_ink(bgr: &Mat) -> Result<Mat, PageError> {
    let mut ch = Vector::<Mat>::new();
    core::split(bgr, &mut ch)?;
    let (b, g, r) = (ch.get(0)?, ch.get(1)?, ch.get(2)?);
    let mut gb = Mat::default();
    core::max(&g, &b, &mut gb)?;
    let mut redness = Mat::default();
    core::subtract(&r, &gb, &mut redness, &core::no_array(), -1)?;
    let mut mask = Mat::default();
    imgproc::threshold(&redness, &mut mask, RED_INK, 255.0, imgproc::THRESH_BINARY)?;
    dilate_square(&mask, 9)
}

/// Grey dilation (local maximum) over a `k` by `k` square; outside the image counts as 0.
fn dilate_square(src: &Mat, k: i32) -> Result<Mat, PageError> {
    let kernel =
        imgproc::get_structuring_element(imgproc::MORPH_RECT, Size::new(k, k), Point::new(-1, -1))?;
    let mut out = Mat::default();
    imgproc::dilate(
        src,
        &mut out,
        &kernel,
        Point::new(-1, -1),
        1,
        core::BORDER_CONSTANT,
        Scalar::all(0.0),
    )?;
    Ok(out)
}

/// How much redder than green and blue a pixel of red ink is (grey levels).
const RED_INK: f64 = 25.0;

/// The gain `restore_contrast` gives ink whose local depth is `c` grey levels.
/// on paper whose noise reaches `noise` levels.
fn contrast_gain(c: f32, noise: f32) -> f32 {
    let full = (INK_DEPTH / c.max(1.0)).clamp(1.0, MAX_CONTRAST_GAIN);
    // Fade in between the paper's noise and clearly visible ink.
    let t = ((c - noise) / noise).clamp(0.0, 1.0);
    let ramp = t * t * (3.0 - 2.0 * t);
    1.0 + (full - 1.0) * ramp
}

/// Ink depth of normal print on the flattened page (paper 255, print about 60).
const INK_DEPTH: f32 = 170.0;
/// Least local depth counted as paper noise (texture, JPEG noise, faint
/// show-through); rougher pages measure their own.
const NOISE_DEPTH: f32 = 16.0;
/// Strongest deepening of faint ink.
const MAX_CONTRAST_GAIN: f32 = 5.0;

/// A page turned upright after capture: its new JPEG and thumbnail.
#[derive(Debug, Clone)]
pub struct TurnedPage {
    /// Colour JPEG of the upright page, within `PageOptions::max_jpeg_bytes`.
    pub jpeg: Vec<u8>,
    /// Small RGBA8 preview: width, height, bytes.
    pub thumb_rgba: (u32, u32, Vec<u8>),
}

/// Turns a captured page's JPEG by `clockwise_degrees` (90, 180 or 270): the
/// page was put down sideways or upside down, and the upload must show it
/// upright. Any other angle keeps the JPEG as it is. A JPEG that does not
/// decode is `EmptyFrame`.
pub fn turn_page(
    jpeg: &[u8],
    clockwise_degrees: u16,
    opts: &PageOptions,
) -> Result<TurnedPage, PageError> {
    let frame = Frame::from_encoded(jpeg).map_err(|_| PageError::EmptyFrame)?;
    let code = match clockwise_degrees % 360 {
        90 => Some(core::ROTATE_90_CLOCKWISE),
        180 => Some(core::ROTATE_180),
        270 => Some(core::ROTATE_90_COUNTERCLOCKWISE),
        _ => None,
    };
    let Some(code) = code else {
        return Ok(TurnedPage {
            jpeg: jpeg.to_vec(),
            thumb_rgba: rgba_preview(frame.mat(), opts.thumb_width)?,
        });
    };
    let mut turned = Mat::default();
    core::rotate(frame.mat(), &mut turned, code)?;
    Ok(TurnedPage {
        jpeg: encode_jpeg(&turned, opts.max_jpeg_bytes)?,
        thumb_rgba: rgba_preview(&turned, opts.thumb_width)?,
    })
}

/// Encodes a colour image as JPEG, lowering the quality until it fits `max_bytes`.
fn encode_jpeg(img: &Mat, max_bytes: usize) -> Result<Vec<u8>, PageError> {
    for quality in JPEG_QUALITIES {
        let params = Vector::<i32>::from_slice(&[
            imgcodecs::IMWRITE_JPEG_QUALITY,
            quality,
            imgcodecs::IMWRITE_JPEG_OPTIMIZE,
            1,
        ]);
        let mut buf = Vector::<u8>::new();
        if !imgcodecs::imencode(".jpg", img, &mut buf, &params)? {
            return Err(PageError::Encode);
        }
        if buf.len() <= max_bytes {
            log::debug!("page jpeg {} bytes at quality {quality}", buf.len());
            return Ok(buf.to_vec());
        }
    }
    Err(PageError::Encode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outline::order_corners;
    use crate::test_utils;

    #[test]
    fn every_sample_page_is_found_with_a4_aspect() {
        for path in test_utils::sample_pages() {
            let frame = Frame::from_file(&path).unwrap();
            let page = process_page(&frame).unwrap();
            let aspect = page.height as f32 / page.width as f32;
            assert!(
                (aspect - 1.414).abs() < 0.04,
                "{}: aspect {aspect}",
                path.display()
            );
            assert_eq!(page.height, 2200);
            assert_eq!(page.gray.len(), (page.width * page.height) as usize);
            assert!(
                page.jpeg.len() <= 400 * 1024,
                "jpeg {} bytes",
                page.jpeg.len()
            );
            assert!(page.jpeg.starts_with(&[0xff, 0xd8]));
            let (tw, th, px) = &page.thumb_rgba;
            assert_eq!(*tw, 240);
            assert_eq!(px.len(), (tw * th * 4) as usize);
            // Corners are ordered clockwise from the top left.
            let [tl, tr, br, bl] = page.corners;
            assert!(
                tl.0 < tr.0 && bl.0 < br.0 && tl.1 < bl.1 && tr.1 < br.1,
                "{:?}",
                page.corners
            );
            // The flattened page is mostly white paper.
            let white = page.gray.iter().filter(|&&v| v > 200).count();
            assert!(white * 10 > page.gray.len() * 8);
        }
    }

    #[test]
    fn sample_corners_match_the_generator() {
        // Corners as placed by `samples/make_specimens.py` (`page_quad`).
        let truth = [
            [
                (648.7, 33.0),
                (1323.1, 68.4),
                (1295.8, 1058.3),
                (572.4, 1020.4),
            ],
            [
                (535.9, 71.3),
                (1255.0, 21.1),
                (1303.1, 1010.1),
                (625.9, 1057.5),
            ],
            [
                (686.3, 41.4),
                (1368.3, 65.2),
                (1351.2, 1055.2),
                (634.3, 1030.2),
            ],
        ];
        for (n, want) in truth.iter().enumerate() {
            let page =
                process_page(&Frame::from_file(test_utils::sample_page(n + 1)).unwrap()).unwrap();
            for (got, want) in page.corners.iter().zip(want) {
                let err = (got.0 - want.0).hypot(got.1 - want.1);
                assert!(
                    err < 6.0,
                    "page {}: corner {got:?} is {err:.1} px from {want:?}",
                    n + 1
                );
            }
        }
    }

    #[test]
    fn empty_desk_is_no_document() {
        let frame = Frame::from_file(test_utils::empty_desk()).unwrap();
        assert!(matches!(process_page(&frame), Err(PageError::NoDocument)));
    }

    #[test]
    fn uniform_and_tiny_frames_are_rejected() {
        let grey =
            Mat::new_rows_cols_with_default(720, 1280, core::CV_8UC3, Scalar::all(128.0)).unwrap();
        let frame = Frame::from_mat(grey).unwrap();
        assert!(matches!(process_page(&frame), Err(PageError::NoDocument)));
        let tiny =
            Mat::new_rows_cols_with_default(2, 2, core::CV_8UC3, Scalar::all(255.0)).unwrap();
        let frame = Frame::from_mat(tiny).unwrap();
        assert!(matches!(process_page(&frame), Err(PageError::EmptyFrame)));
    }

    #[test]
    fn white_rectangle_on_dark_desk_is_found() {
        let mut img =
            Mat::new_rows_cols_with_default(1080, 1920, core::CV_8UC3, Scalar::all(60.0)).unwrap();
        let quad = Vector::<Point>::from_slice(&[
            Point::new(700, 100),
            Point::new(1300, 120),
            Point::new(1280, 960),
            Point::new(690, 950),
        ]);
        imgproc::fill_convex_poly(&mut img, &quad, Scalar::all(235.0), imgproc::LINE_8, 0).unwrap();
        let page = process_page(&Frame::from_mat(img).unwrap()).unwrap();
        let expected = [
            (700.0, 100.0),
            (1300.0, 120.0),
            (1280.0, 960.0),
            (690.0, 950.0),
        ];
        for (got, want) in page.corners.iter().zip(expected) {
            assert!(
                (got.0 - want.0).abs() < 6.0 && (got.1 - want.1).abs() < 6.0,
                "{:?}",
                page.corners
            );
        }
    }

    /// A smooth three-channel image from four corner grey levels (tl, tr, bl, br).
    fn gradient(levels: [u8; 4]) -> Mat {
        let small = Mat::from_slice_2d(&[[levels[0], levels[1]], [levels[2], levels[3]]]).unwrap();
        let mut big = Mat::default();
        imgproc::resize(
            &small,
            &mut big,
            Size::new(1920, 1080),
            0.0,
            0.0,
            imgproc::INTER_LINEAR,
        )
        .unwrap();
        crate::frame::convert(&big, imgproc::COLOR_GRAY2BGR).unwrap()
    }

    #[test]
    fn page_is_found_under_a_strong_light_gradient() {
        // The desk brightens to the right while the light on the page falls off
        // from the top left to half strength at the bottom right.
        let mut scene = gradient([40, 110, 50, 120]);
        let quad = Vector::<Point>::from_slice(&[
            Point::new(640, 60),
            Point::new(1330, 90),
            Point::new(1300, 1040),
            Point::new(610, 1010),
        ]);
        imgproc::fill_convex_poly(&mut scene, &quad, Scalar::all(250.0), imgproc::LINE_8, 0)
            .unwrap();
        let light = gradient([255, 190, 190, 128]);
        let mut lit = Mat::default();
        core::multiply(&scene, &light, &mut lit, 1.0 / 255.0, -1).unwrap();
        let page = process_page(&Frame::from_mat(lit).unwrap()).unwrap();
        for (got, want) in page.corners.iter().zip(quad.iter()) {
            assert!(
                (got.0 - want.x as f32).abs() < 8.0 && (got.1 - want.y as f32).abs() < 8.0,
                "{:?}",
                page.corners
            );
        }
    }

    /// An A4 sheet (portrait, centred) photographed by a camera of focal
    /// length `f` pixels, `dist` metres away, tilted `tilt` degrees about the
    /// frame's horizontal axis and turned `yaw` degrees about its vertical one.
    fn tilted_a4(f: f64, dist: f64, tilt: f64, yaw: f64) -> [Point; 4] {
        let (t, y) = (tilt.to_radians(), yaw.to_radians());
        let (w, h) = (0.210 / 2.0, 0.297 / 2.0);
        [(-w, -h), (w, -h), (w, h), (-w, h)].map(|(x, yy)| {
            // Tilt about x, then yaw about y, then move the sheet in front of the camera.
            let (y1, z1) = (yy * t.cos(), yy * t.sin());
            let (x2, z2) = (x * y.cos() + z1 * y.sin(), -x * y.sin() + z1 * y.cos());
            let z = dist + z2;
            Point::new((960.0 + f * x2 / z).round() as i32, (540.0 + f * y1 / z).round() as i32)
        })
    }

    #[test]
    fn strong_keystone_keeps_the_paper_shape() {
        // 15 to 25 degrees of tilt: the near edge is much wider than the far
        // one, and the mean of opposite edges squashes the page.
        // Lenses from wide (f = 1100 px of 1920) to narrow (f = 2000 px).
        for (f, dist, tilt, yaw) in [
            (1400.0, 0.52, 25.0, 0.0),
            (1400.0, 0.52, -25.0, 0.0),
            (1100.0, 0.40, 25.0, 0.0),
            (2000.0, 0.74, 25.0, 0.0),
            (1400.0, 0.52, 20.0, 12.0),
            (1400.0, 0.52, 15.0, -15.0),
        ] {
            let quad = tilted_a4(f, dist, tilt, yaw);
            let page = process_page(&sheet(&quad, text_lines)).unwrap();
            assert!(!page.fallback, "f {f}, tilt {tilt}, yaw {yaw}: whole frame used");
            let aspect = page.height as f32 / page.width as f32;
            // The focal length is assumed when the corners cannot give it:
            // a lens far from the typical one leaves a few percent of error
            // (measuring the edges left 9 to 10% at 25 degrees).
            let tolerance = if f == 1400.0 { 0.04 } else { 0.09 };
            assert!(
                (aspect - 1.414).abs() < tolerance,
                "f {f}, tilt {tilt}, yaw {yaw}: aspect {aspect}, corners {:?}",
                page.corners
            );
        }
    }

    #[test]
    fn a_turned_page_is_turned_in_its_jpeg_and_thumbnail() {
        let page = process_page(&Frame::from_file(test_utils::sample_page(1)).unwrap()).unwrap();
        let opts = PageOptions::default();
        let upright = Frame::from_encoded(&page.jpeg).unwrap();
        let (w, h) = upright.size();
        for (deg, size) in [(90, (h, w)), (180, (w, h)), (270, (h, w)), (0, (w, h))] {
            let turned = turn_page(&page.jpeg, deg, &opts).unwrap();
            assert!(turned.jpeg.len() <= opts.max_jpeg_bytes);
            let frame = Frame::from_encoded(&turned.jpeg).unwrap();
            assert_eq!(frame.size(), size, "{deg}");
            let (tw, th, rgba) = &turned.thumb_rgba;
            assert_eq!(*tw, opts.thumb_width);
            assert_eq!(rgba.len(), (tw * th * 4) as usize);
            // Turning back gives the page again (the top-left corner region
            // of the upright page is where it was).
            let back = turn_page(&turned.jpeg, (360 - deg) % 360, &opts).unwrap();
            let again = Frame::from_encoded(&back.jpeg).unwrap();
            assert_eq!(again.size(), (w, h));
            let diff = mean_abs_diff(upright.mat(), again.mat());
            assert!(diff < 6.0, "{deg}: mean difference {diff}");
        }
        assert!(turn_page(b"not a jpeg", 90, &opts).is_err());
    }

    fn mean_abs_diff(a: &Mat, b: &Mat) -> f64 {
        let mut d = Mat::default();
        core::absdiff(a, b, &mut d).unwrap();
        let m = core::mean(&d, &core::no_array()).unwrap();
        (m[0] + m[1] + m[2]) / 3.0
    }

    #[test]
    fn a_shadow_across_the_page_does_not_cut_it() {
        // The camera arm's shadow darkens a band across desk and sheet to 45%.
        let lit = sheet(&SHEET, text_lines);
        let mut img = lit.mat().clone();
        let band = core::Rect::new(1050, 0, 500, 1080);
        let mut part = Mat::roi_mut(&mut img, band).unwrap();
        let mut dark = Mat::default();
        part.convert_to(&mut dark, -1, 0.45, 0.0).unwrap();
        dark.copy_to(&mut part).unwrap();
        let page = process_page(&Frame::from_mat(img).unwrap()).unwrap();
        assert!(!page.fallback, "the shadow cut the page: whole frame used");
        for (got, want) in page.corners.iter().zip(SHEET.iter()) {
            assert!(
                (got.0 - want.x as f32).abs() < 10.0 && (got.1 - want.y as f32).abs() < 10.0,
                "{:?}",
                page.corners
            );
        }
    }

    #[test]
    fn text_faded_by_glare_is_kept() {
        // The same text lines; on the right half a reflection adds light:
        // the paper there is white (255, against 235) and the print, at 20
        // on the left, is washed out to 190.
        let frame = sheet(&SHEET, |img| {
            imgproc::rectangle(
                img,
                core::Rect::new(975, 150, 250, 820),
                Scalar::all(255.0),
                -1,
                imgproc::LINE_8,
                0,
            )
            .unwrap();
            for k in 0..12 {
                let y = 200 + 60 * k;
                for (c, grey) in (0..10).map(|c| (c, 20.0)).chain((13..23).map(|c| (c, 190.0))) {
                    imgproc::rectangle(
                        img,
                        core::Rect::new(700 + 22 * c, y, 14, 14),
                        Scalar::all(grey),
                        -1,
                        imgproc::LINE_8,
                        0,
                    )
                    .unwrap();
                }
            }
        });
        let page = process_page(&frame).unwrap();
        let flat = Mat::from_slice(&page.gray).unwrap();
        let gray = flat.reshape(1, page.height as i32).unwrap().try_clone().unwrap();
        let dark = |x0: f32, x1: f32| {
            let (w, h) = (page.width as f32, page.height as f32);
            let roi = core::Rect::new(
                (x0 * w) as i32,
                (0.1 * h) as i32,
                ((x1 - x0) * w) as i32,
                (0.8 * h) as i32,
            );
            let part = Mat::roi(&gray, roi).unwrap().try_clone().unwrap();
            let mut ink = Mat::default();
            imgproc::threshold(&part, &mut ink, 128.0, 255.0, imgproc::THRESH_BINARY_INV).unwrap();
            core::count_non_zero(&ink).unwrap() as f32
        };
        // The washed-out blocks (right of the middle) keep most of the ink of
        // as many print-black blocks (left of the middle).
        let (faded, black) = (dark(0.49, 0.83), dark(0.07, 0.41));
        assert!(black > 0.0);
        assert!(faded > 0.5 * black, "faded {faded}, black {black}");
        // Bare paper stays bare.
        assert!(dark(0.86, 0.99) < 0.01 * black, "paper {}", dark(0.86, 0.99));
    }

    #[test]
    fn frames_and_pages_can_move_between_threads() {
        fn is_send<T: Send>() {}
        is_send::<Frame>();
        is_send::<ProcessedPage>();
        is_send::<crate::OpenCvCamera>();
    }

    /// A desk frame with a white sheet (quad) on it; `draw` adds content in frame pixels.
    fn sheet(quad: &[Point; 4], draw: impl Fn(&mut Mat)) -> Frame {
        let mut img = Frame::from_file(test_utils::empty_desk())
            .unwrap()
            .mat()
            .clone();
        let q = Vector::<Point>::from_slice(quad);
        imgproc::fill_convex_poly(&mut img, &q, Scalar::all(235.0), imgproc::LINE_8, 0).unwrap();
        draw(&mut img);
        Frame::from_mat(img).unwrap()
    }

    const SHEET: [Point; 4] = [
        Point { x: 640, y: 60 },
        Point { x: 1330, y: 80 },
        Point { x: 1310, y: 1040 },
        Point { x: 620, y: 1020 },
    ];

    /// Rows of small black blocks, like lines of characters, inside `SHEET`.
    fn text_lines(img: &mut Mat) {
        for k in 0..12 {
            let y = 200 + 60 * k;
            for c in 0..(22 - k % 3) {
                imgproc::rectangle(
                    img,
                    core::Rect::new(720 + 22 * c, y, 14, 14),
                    Scalar::all(20.0),
                    -1,
                    imgproc::LINE_8,
                    0,
                )
                .unwrap();
            }
        }
    }

    #[test]
    fn blank_sheet_is_blank_and_text_is_not() {
        let blank = process_page(&sheet(&SHEET, |_| {})).unwrap();
        assert!(blank.blank, "ink {}", blank.ink_ratio);
        assert_eq!(check_page(&blank, &[]), Some(PageProblem::Blank));
        for path in test_utils::sample_pages() {
            let page = process_page(&Frame::from_file(&path).unwrap()).unwrap();
            assert!(!page.blank, "{}: ink {}", path.display(), page.ink_ratio);
            assert_eq!(check_page(&page, &[]), None);
        }
        assert!(!PageProblem::Blank.prompt_zh().is_empty());
    }

    #[test]
    fn same_page_photographed_twice_is_a_duplicate() {
        let frames: Vec<Frame> = test_utils::sample_pages()
            .iter()
            .map(|p| Frame::from_file(p).unwrap())
            .collect();
        let pages: Vec<ProcessedPage> = frames.iter().map(|f| process_page(f).unwrap()).collect();
        // Page 1 again, moved 40 px, turned 3 degrees and a little darker.
        let again = {
            let m = frames[0].mat();
            let mut r =
                imgproc::get_rotation_matrix_2d(Point2f::new(960.0, 540.0), 3.0, 1.0).unwrap();
            *r.at_2d_mut::<f64>(0, 2).unwrap() += 40.0;
            let mut moved = Mat::default();
            imgproc::warp_affine(
                m,
                &mut moved,
                &r,
                m.size().unwrap(),
                imgproc::INTER_LINEAR,
                core::BORDER_REPLICATE,
                Scalar::default(),
            )
            .unwrap();
            let mut darker = Mat::default();
            moved.convert_to(&mut darker, -1, 0.85, 0.0).unwrap();
            process_page(&Frame::from_mat(darker).unwrap()).unwrap()
        };
        let earlier: Vec<PageFingerprint> = pages.iter().map(|p| p.fingerprint.clone()).collect();
        assert_eq!(
            check_page(&again, &earlier),
            Some(PageProblem::Duplicate { index: 0 }),
            "similarity {}",
            again.fingerprint.similarity(&earlier[0])
        );
        assert_eq!(
            check_page(&pages[1], &earlier[..1]),
            None,
            "similarity {}",
            pages[1].fingerprint.similarity(&earlier[0])
        );
        assert_eq!(check_page(&pages[2], &earlier[..2]), None);
    }

    #[test]
    fn red_seal_vanishes_from_the_ocr_image_only() {
        let frame = sheet(&SHEET, |img| {
            text_lines(img);
            imgproc::circle(
                img,
                Point::new(1000, 700),
                120,
                Scalar::new(40.0, 40.0, 205.0, 0.0),
                14,
                imgproc::LINE_8,
                0,
            )
            .unwrap();
        });
        let page = process_page(&frame).unwrap();
        // Find the seal ring in page coordinates by mapping its centre through the warp.
        let probe = |gray: &[u8], x: f32, y: f32| {
            let (px, py) = (
                (x * page.width as f32) as usize,
                (y * page.height as f32) as usize,
            );
            gray[py * page.width as usize + px]
        };
        // The ring crosses the horizontal line through its centre at 1000 +- 120 px in the frame;
        // in page fractions that is about (1000 - 120 - 630) / 690 = 0.36 across, (700 - 70) / 960 = 0.66 down.
        let ring: Vec<u8> = (0..40)
            .map(|k| probe(&page.gray, 0.33 + 0.0015 * k as f32, 0.656))
            .collect();
        assert!(ring.iter().all(|&v| v > 200), "{ring:?}");
        // Text stays dark.
        let dark = page.gray.iter().filter(|&&v| v < 100).count();
        assert!(dark > 1000);
        // The colour JPEG keeps the seal: decode it and look for strongly red pixels.
        let colour = Frame::from_encoded(&page.jpeg).unwrap();
        let mut channels = Vector::<Mat>::new();
        core::split(colour.mat(), &mut channels).unwrap();
        let (b, r) = (channels.get(0).unwrap(), channels.get(2).unwrap());
        let mut diff = Mat::default();
        core::subtract(&r, &b, &mut diff, &core::no_array(), -1).unwrap();
        let mut red = Mat::default();
        imgproc::threshold(&diff, &mut red, 100.0, 255.0, imgproc::THRESH_BINARY).unwrap();
        assert!(core::count_non_zero(&red).unwrap() > 1000);
    }

    #[test]
    fn skew_is_measured_and_removed() {
        let mut img =
            Mat::new_rows_cols_with_default(1400, 1000, core::CV_8UC1, Scalar::all(255.0)).unwrap();
        for k in 0..20 {
            imgproc::rectangle(
                &mut img,
                core::Rect::new(100, 100 + 60 * k, 800 - 30 * (k % 4), 18),
                Scalar::all(0.0),
                -1,
                imgproc::LINE_8,
                0,
            )
            .unwrap();
        }
        assert!(skew_angle(&img).unwrap().abs() < 0.2);
        // Turned 2 degrees counter-clockwise: turning back needs -2.
        let turned = rotate(&img, 2.0).unwrap();
        let got = skew_angle(&turned).unwrap();
        assert!((got + 2.0).abs() <= 0.25, "{got}");
        let blank =
            Mat::new_rows_cols_with_default(800, 600, core::CV_8UC1, Scalar::all(255.0)).unwrap();
        assert_eq!(skew_angle(&blank).unwrap(), 0.0);
    }

    #[test]
    fn outline_with_no_paper_shape_falls_back_to_the_whole_frame() {
        // A strip three times as long as wide: a shadow cut the sheet.
        let strip = [
            Point::new(500, 400),
            Point::new(1500, 400),
            Point::new(1500, 720),
            Point::new(500, 720),
        ];
        let page = process_page(&sheet(&strip, text_lines)).unwrap();
        assert!(page.fallback);
        // The 1080p frame's grey copy is brought up to a short side of 2200.
        assert_eq!((page.width, page.height), (3911, 2200));
        assert_eq!(page.gray.len(), 3911 * 2200);
        assert_eq!(Frame::from_encoded(&page.jpeg).unwrap().size(), (1920, 1080));
        let page = process_page(&sheet(&SHEET, text_lines)).unwrap();
        assert!(!page.fallback);
    }

    #[test]
    fn corners_are_ordered_from_any_input_order() {
        let p = |x, y| Point2f::new(x, y);
        let got = order_corners(&[p(10.0, 200.0), p(110.0, 5.0), p(0.0, 0.0), p(120.0, 210.0)]);
        assert_eq!(
            got,
            [p(0.0, 0.0), p(110.0, 5.0), p(120.0, 210.0), p(10.0, 200.0)]
        );
    }
}
