//! PP-OCR (PaddleOCR's PP-OCRv6 small det and rec models, and the v2.0 text
//! direction classifier) run in pure Rust with tract.
//!
//! A page goes through: detection on the page scaled to `DET_LONG_SIDE`
//! (probability map, connected components, minimum-area rectangles grown by
//! the unclip ratio), the page's orientation (most lines taller than wide:
//! turned a quarter; then the direction classifier votes upright against
//! upside down over the longest lines), rotated crops of each line at the
//! recognition model's height 48 and one of a few fixed widths, and greedy
//! CTC decoding with each character's probability and time step, which place
//! the character along its line. See `PpEngine::recognize_gray`.

mod det;
mod geom;
mod model;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tract_linalg::multithread::{multithread_tract_scope, Executor};
use tract_onnx::prelude::*;

pub use geom::rotate_gray;

use self::geom::{crop_rect, rotate_point, RotRect};
use self::model::{floats, Model, Role};
use crate::engine::{check_input, OcrText, Word};
use crate::text::clean_text;
use crate::OcrError;

/// Where `scripts/install-deps.sh` installs the models.
pub const PP_MODEL_DIR: &str = "/usr/local/share/kiosk/ocr-models/ppocr";

/// Long side of the page given to the detector by default, in pixels.
pub const DET_LONG_SIDE: u32 = 960;
/// Height of the recognition model's input.
const REC_HEIGHT: usize = 48;
/// The recognition input widths: a line is padded to the next one (or
/// squeezed into the last), so tract optimises each shape once.
const REC_WIDTHS: [usize; 4] = [320, 640, 960, 1600];
/// The direction classifier's input.
const CLS_SIZE: (usize, usize) = (192, 48);
/// Lines the classifier looks at to tell upright from upside down.
const CLS_LINES: usize = 8;
/// Lines recognised with a lower mean probability are dropped (PP-OCR's
/// `text_score`): they are mostly seals, rules and specks.
const TEXT_SCORE: f32 = 0.5;

/// Settings of a PP-OCR engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PpConfig {
    /// Folder holding the pinned model files (`PP_MODEL_DIR` when installed).
    pub model_dir: PathBuf,
    /// Threads for tract's matrix products (1: the calling thread only).
    pub threads: usize,
    /// A page taking longer is abandoned with `OcrError::TimeLimit`.
    pub time_limit: Duration,
    /// Long side of the page given to the detector (rounded to a multiple of
    /// 32, within 320..=2048); `DET_LONG_SIDE` by default.
    pub det_long_side: u32,
}

impl Default for PpConfig {
    fn default() -> Self {
        PpConfig {
            model_dir: PathBuf::from(PP_MODEL_DIR),
            threads: 1,
            time_limit: Duration::from_secs(30),
            det_long_side: DET_LONG_SIDE,
        }
    }
}

/// Times of the stages of the last page, for benchmarks and logs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PpTimings {
    pub det: Duration,
    pub cls: Duration,
    pub rec: Duration,
    pub lines: usize,
}

/// PP-OCR's three models, verified and loaded, with their optimised plans.
pub struct PpEngine {
    det: Model,
    rec: Model,
    cls: Model,
    /// The rec model's output classes: blank, the characters, space.
    charset: Vec<String>,
    executor: Executor,
    time_limit: Duration,
    det_long_side: u32,
    last: PpTimings,
}

impl std::fmt::Debug for PpEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PpEngine")
            .field("det", &self.det)
            .field("rec", &self.rec)
            .field("cls", &self.cls)
            .field("charset", &self.charset.len())
            .finish()
    }
}

/// One recognised line, in the coordinates of the upright page.
struct Line {
    text: String,
    chars: Vec<Word>,
    center: (f32, f32),
    height: f32,
}

impl PpEngine {
    /// Checks (size and sha256 against `ocr-models/manifest.toml`) and loads
    /// the three models. Nothing is ever downloaded.
    pub fn new(cfg: &PpConfig) -> Result<Self, OcrError> {
        let started = Instant::now();
        let det = Model::load(&cfg.model_dir, Role::Det)?;
        let rec = Model::load(&cfg.model_dir, Role::Rec)?;
        let cls = Model::load(&cfg.model_dir, Role::Cls)?;
        let keys = rec
            .metadata("character")
            .ok_or_else(|| OcrError::ModelLoad {
                file: "rec".to_owned(),
                reason: "no character list in the model's metadata".to_owned(),
            })?;
        let mut charset = vec![String::new()];
        charset.extend(keys.lines().map(str::to_owned));
        charset.push(" ".to_owned());
        let executor = if cfg.threads > 1 {
            Executor::multithread_with_name(cfg.threads.min(16), "pp-ocr")
        } else {
            Executor::SingleThread
        };
        log::debug!(
            "pp-ocr models loaded in {:?}, {} classes",
            started.elapsed(),
            charset.len()
        );
        Ok(PpEngine {
            det,
            rec,
            cls,
            charset,
            executor,
            time_limit: cfg.time_limit,
            det_long_side: (cfg.det_long_side.clamp(320, 2048) + 16) / 32 * 32,
            last: PpTimings::default(),
        })
    }

    /// Stage times of the last recognised page.
    pub fn last_timings(&self) -> PpTimings {
        self.last
    }

    /// Recognises an 8-bit grey page of `width * height` bytes, row-major,
    /// put down any way round.
    ///
    /// `OcrText::rotation_degrees` tells how far the page was turned
    /// (clockwise) to read it: `rotate_gray(data, width, height,
    /// rotation_degrees)` gives the upright page, and the words' boxes are in
    /// that upright page's coordinates. Text is one line per text line, top
    /// to bottom, left to right; confidences are the CTC probabilities x 100.
    pub fn recognize_gray(
        &mut self,
        data: &[u8],
        width: u32,
        height: u32,
    ) -> Result<OcrText, OcrError> {
        check_input(data, width, height)?;
        let started = Instant::now();
        let executor = self.executor.clone();
        let result =
            multithread_tract_scope(executor, || self.recognize(data, width, height, started));
        let duration = started.elapsed();
        let (lines, rotation) = result?;
        let mut text = String::new();
        let mut words = Vec::new();
        let mut row_end = f32::MIN;
        for line in lines {
            if !text.is_empty() {
                // Boxes side by side on one row stay on one line.
                text.push(if line.center.1 < row_end { ' ' } else { '\n' });
            }
            row_end = line.center.1 + line.height / 2.0;
            text.push_str(&line.text);
            words.extend(line.chars);
        }
        let confidences: Vec<f32> = words.iter().map(|w| w.confidence).collect();
        let mean_confidence = if confidences.is_empty() {
            0.0
        } else {
            confidences.iter().sum::<f32>() / confidences.len() as f32
        };
        let text = clean_text(&text);
        log::debug!(
            "pp-ocr {width}x{height}: {} chars, rotation {rotation}, confidence {mean_confidence:.0}, {:?} ({:?})",
            text.chars().count(),
            duration,
            self.last
        );
        Ok(OcrText {
            text,
            mean_confidence,
            duration,
            words,
            rotation_degrees: rotation,
        })
    }

    fn recognize(
        &mut self,
        data: &[u8],
        width: u32,
        height: u32,
        started: Instant,
    ) -> Result<(Vec<Line>, u16), OcrError> {
        self.last = PpTimings::default();
        let boxes = det::detect(&mut self.det, data, width, height, self.det_long_side)?;
        self.last.det = started.elapsed();
        let t_cls = Instant::now();
        let rotation = self.orientation(data, width, height, &boxes)?;
        self.last.cls = t_cls.elapsed();
        let t_rec = Instant::now();
        let dir = reading_direction(rotation);
        let (w, h) = (width as f32, height as f32);
        let mut lines = Vec::new();
        for (rect, _) in &boxes {
            if started.elapsed() > self.time_limit {
                return Err(OcrError::TimeLimit {
                    limit_ms: self.time_limit.as_millis() as u64,
                });
            }
            let rect = rect.facing(dir);
            if rect.len_v < 4.0 || rect.len_u < 4.0 {
                continue;
            }
            let Some(line) = self.read_line(data, width, height, &rect)? else {
                continue;
            };
            let upright = |p| rotate_point(p, w, h, rotation);
            let chars = line
                .1
                .into_iter()
                .map(|(text, confidence, a0, a1)| {
                    let corners = [
                        rect.point(a0, 0.0),
                        rect.point(a1, 0.0),
                        rect.point(a0, rect.len_v),
                        rect.point(a1, rect.len_v),
                    ]
                    .map(upright);
                    Word {
                        text,
                        confidence,
                        bbox: bounding_box(&corners),
                    }
                })
                .collect();
            lines.push(Line {
                text: line.0,
                chars: merge_ascii_runs(chars),
                center: upright(rect.center),
                height: rect.len_v,
            });
        }
        self.last.rec = t_rec.elapsed();
        self.last.lines = lines.len();
        Ok((reading_order(lines), rotation))
    }

    /// The clockwise turn that makes the page upright: 0, 90, 180 or 270.
    fn orientation(
        &mut self,
        data: &[u8],
        width: u32,
        height: u32,
        boxes: &[(RotRect, f32)],
    ) -> Result<u16, OcrError> {
        let mut lines: Vec<&RotRect> = boxes
            .iter()
            .map(|(r, _)| r)
            .filter(|r| r.len_u.max(r.len_v) >= 2.0 * r.len_u.min(r.len_v))
            .collect();
        if lines.is_empty() {
            return Ok(0);
        }
        let vertical = lines
            .iter()
            .filter(|r| {
                let a = r.long_axis();
                a.1.abs() > a.0.abs()
            })
            .count();
        let base = if vertical * 2 > lines.len() { 90 } else { 0 };
        lines.sort_by(|a, b| b.len_u.max(b.len_v).total_cmp(&a.len_u.max(a.len_v)));
        let mut vote = 0.0;
        for rect in lines.iter().take(CLS_LINES) {
            let rect = rect.facing(reading_direction(base));
            let (cw, ch) = CLS_SIZE;
            // As PP-OCR does: the line at height 48, squeezed into 192 if longer.
            let natural =
                ((ch as f32 * rect.len_u / rect.len_v.max(1.0)).ceil() as usize).clamp(1, cw);
            let crop = crop_rect(data, width as usize, height as usize, &rect, natural, ch);
            let out = self.cls.run(rec_tensor(&crop, natural, ch, cw)?, ch, cw)?;
            let p = floats(&out, "cls output")?;
            if p.len() >= 2 {
                vote += p[0] - p[1];
            }
        }
        Ok(if vote < 0.0 { base + 180 } else { base })
    }

    /// Recognises one line: its text and each character with its confidence
    /// (0-100) and its span along the line (from, to) in page pixels.
    #[allow(clippy::type_complexity)]
    fn read_line(
        &mut self,
        data: &[u8],
        width: u32,
        height: u32,
        rect: &RotRect,
    ) -> Result<Option<(String, Vec<(String, f32, f32, f32)>)>, OcrError> {
        let natural = (REC_HEIGHT as f32 * rect.len_u / rect.len_v)
            .ceil()
            .max(1.0) as usize;
        let max_width = REC_WIDTHS[REC_WIDTHS.len() - 1];
        let input_w = REC_WIDTHS
            .iter()
            .copied()
            .find(|&w| w >= natural)
            .unwrap_or(max_width);
        let used = natural.min(input_w);
        let crop = crop_rect(
            data,
            width as usize,
            height as usize,
            rect,
            used,
            REC_HEIGHT,
        );
        let out = self.rec.run(
            rec_tensor(&crop, used, REC_HEIGHT, input_w)?,
            REC_HEIGHT,
            input_w,
        )?;
        let shape = out.shape().to_vec();
        let probs = floats(&out, "rec output")?;
        let (steps, classes) = match shape.as_slice() {
            [1, t, c] => (*t, *c),
            _ => return Err(inference("rec output", format!("shape {shape:?}"))),
        };
        let decoded = ctc_greedy(&probs, steps, classes);
        if decoded.is_empty() {
            return Ok(None);
        }
        let mean = decoded.iter().map(|d| d.1).sum::<f32>() / decoded.len() as f32;
        if mean < TEXT_SCORE {
            return Ok(None);
        }
        // Input pixels per time step, and page pixels per input pixel.
        let step_px = input_w as f32 / steps as f32;
        let along = rect.len_u / used as f32;
        let mut text = String::new();
        let mut chars = Vec::new();
        for (class, p, first, last) in decoded {
            let Some(c) = self.charset.get(class) else {
                continue;
            };
            text.push_str(c);
            if c.trim().is_empty() {
                continue;
            }
            let a0 = (first as f32 * step_px * along).min(rect.len_u);
            let a1 = ((last + 1) as f32 * step_px * along).min(rect.len_u);
            chars.push((c.clone(), p * 100.0, a0, a1.max(a0 + 1.0)));
        }
        Ok(Some((text, chars)))
    }
}

fn inference(stage: &str, e: impl std::fmt::Display) -> OcrError {
    OcrError::Inference {
        stage: stage.to_owned(),
        reason: e.to_string(),
    }
}

/// Where text runs in the page as given, for a page that needs a clockwise
/// turn of `rotation` to be upright.
fn reading_direction(rotation: u16) -> (f32, f32) {
    match rotation % 360 {
        0 => (1.0, 0.0),
        90 => (0.0, -1.0),
        180 => (-1.0, 0.0),
        _ => (0.0, 1.0),
    }
}

/// A grey crop of `used` x `h` as the models' input: three channels,
/// (v / 255 - 0.5) / 0.5, padded with zeros to `input_w` wide.
fn rec_tensor(crop: &[f32], used: usize, h: usize, input_w: usize) -> Result<Tensor, OcrError> {
    let mut plane = vec![0f32; h * input_w];
    for y in 0..h {
        for x in 0..used.min(input_w) {
            plane[y * input_w + x] = crop[y * used + x] / 127.5 - 1.0;
        }
    }
    let mut input = Vec::with_capacity(plane.len() * 3);
    for _ in 0..3 {
        input.extend_from_slice(&plane);
    }
    Tensor::from_shape(&[1, 3, h, input_w], &input).map_err(|e| inference("rec input", e))
}

/// Greedy CTC: for each emitted class, its mean probability over the time
/// steps it held and its first and last step. Class 0 is the blank.
pub(crate) fn ctc_greedy(
    probs: &[f32],
    steps: usize,
    classes: usize,
) -> Vec<(usize, f32, usize, usize)> {
    let mut out: Vec<(usize, f32, usize, usize)> = Vec::new();
    let mut prev = 0;
    let mut run = (0f32, 0usize);
    for t in 0..steps {
        let Some(row) = probs.get(t * classes..(t + 1) * classes) else {
            break;
        };
        let (best, p) =
            row.iter().enumerate().fold(
                (0, f32::MIN),
                |acc, (i, &p)| if p > acc.1 { (i, p) } else { acc },
            );
        if best != 0 && best == prev {
            if let Some(last) = out.last_mut() {
                run.0 += p;
                run.1 += 1;
                last.1 = run.0 / run.1 as f32;
                last.3 = t;
            }
        } else if best != 0 {
            out.push((best, p, t, t));
            run = (p, 1);
        }
        prev = best;
    }
    out
}

fn bounding_box(points: &[(f32, f32)]) -> (u32, u32, u32, u32) {
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in points {
        x0 = x0.min(p.0);
        y0 = y0.min(p.1);
        x1 = x1.max(p.0);
        y1 = y1.max(p.1);
    }
    let x0 = x0.max(0.0);
    let y0 = y0.max(0.0);
    (
        x0 as u32,
        y0 as u32,
        (x1 - x0).max(1.0) as u32,
        (y1 - y0).max(1.0) as u32,
    )
}

/// Characters become words: each CJK character alone, runs of ASCII letters
/// and digits together (with the lowest confidence of the run).
fn merge_ascii_runs(chars: Vec<Word>) -> Vec<Word> {
    let mut out: Vec<Word> = Vec::with_capacity(chars.len());
    let is_ascii_word = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric());
    for w in chars {
        if let Some(last) = out.last_mut() {
            if is_ascii_word(&last.text) && is_ascii_word(&w.text) {
                let right = (last.bbox.0 + last.bbox.2).max(w.bbox.0 + w.bbox.2);
                let bottom = (last.bbox.1 + last.bbox.3).max(w.bbox.1 + w.bbox.3);
                let left = last.bbox.0.min(w.bbox.0);
                let top = last.bbox.1.min(w.bbox.1);
                last.text.push_str(&w.text);
                last.confidence = last.confidence.min(w.confidence);
                last.bbox = (left, top, right - left, bottom - top);
                continue;
            }
        }
        out.push(w);
    }
    out
}

/// Top to bottom, left to right: lines whose centres are within half a line
/// height of a row's first line share the row.
fn reading_order(mut lines: Vec<Line>) -> Vec<Line> {
    lines.sort_by(|a, b| a.center.1.total_cmp(&b.center.1));
    let mut rows: Vec<Vec<Line>> = Vec::new();
    for line in lines {
        match rows.last_mut() {
            Some(row)
                if (line.center.1 - row[0].center.1).abs()
                    < row[0].height.min(line.height) / 2.0 =>
            {
                row.push(line)
            }
            _ => rows.push(vec![line]),
        }
    }
    let mut out = Vec::new();
    for mut row in rows {
        row.sort_by(|a, b| a.center.0.total_cmp(&b.center.0));
        out.extend(row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctc_collapses_repeats_and_blanks_and_keeps_the_steps() {
        // Classes: 0 blank, 1, 2. Steps: 1 1 0 1 2 2 0
        let steps = [1usize, 1, 0, 1, 2, 2, 0];
        let mut probs = vec![0f32; steps.len() * 3];
        for (t, &c) in steps.iter().enumerate() {
            probs[t * 3 + c] = if t == 1 { 0.6 } else { 0.9 };
        }
        let got = ctc_greedy(&probs, steps.len(), 3);
        assert_eq!(got.len(), 3);
        assert_eq!((got[0].0, got[0].2, got[0].3), (1, 0, 1));
        assert!((got[0].1 - 0.75).abs() < 1e-6);
        assert_eq!((got[1].0, got[1].2, got[1].3), (1, 3, 3));
        assert_eq!((got[2].0, got[2].2, got[2].3), (2, 4, 5));
        // A short buffer stops the decoding instead of panicking.
        assert_eq!(ctc_greedy(&probs[..4], 7, 3).len(), 1);
    }

    #[test]
    fn ascii_runs_merge_and_cjk_stays_single() {
        let w = |t: &str, c: f32, x: u32| Word {
            text: t.to_owned(),
            confidence: c,
            bbox: (x, 10, 10, 20),
        };
        let got = merge_ascii_runs(vec![
            w("1", 90.0, 0),
            w("3", 50.0, 10),
            w("号", 99.0, 20),
            w("楼", 99.0, 30),
        ]);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].text, "13");
        assert_eq!(got[0].confidence, 50.0);
        assert_eq!(got[0].bbox, (0, 10, 20, 20));
    }
}
