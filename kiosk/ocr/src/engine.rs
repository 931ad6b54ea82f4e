//! One Tesseract instance, reused for many pages on one thread.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tesseract::{PageSegMode, Tesseract};

use crate::text::clean_text;
use crate::OcrError;

/// Settings shared by every engine.
///
/// Tesseract parallelises with OpenMP, which was 2.2x to 4x slower per page
/// than a single thread on the two-core terminal and sometimes stalled for tens
/// of seconds. The process must therefore start with `OMP_THREAD_LIMIT=1` in
/// its environment (systemd `Environment=`, or the binary re-executing itself):
/// libgomp reads the variable once, when it is loaded at process start, so
/// `std::env::set_var` in `main` is too late. This library never reads or
/// writes environment variables. Parallelism comes from `workers` instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcrConfig {
    /// Folder holding `<language>.traineddata`; `None` uses Tesseract's built-in path
    /// (on Debian `/usr/share/tesseract-ocr/5/tessdata`).
    pub tessdata_dir: Option<PathBuf>,
    /// Tesseract language, normally `chi_sim`.
    pub language: String,
    /// Number of worker threads in an `OcrPool`, each with its own engine.
    pub workers: usize,
    /// Find which way up each page lies and turn it before recognition
    /// (`OcrEngine::recognize_page`, what an `OcrPool` runs).
    pub orientation: bool,
    /// The engine an `OcrPool` reads pages with.
    pub engine: EngineKind,
    /// The PP-OCR models (`PpConfig::model_dir`), for `EngineKind::PpOcr`.
    pub pp_model_dir: PathBuf,
}

/// Which engine reads the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineKind {
    /// PP-OCR (`PpEngine`), the default: measured the more accurate on the
    /// corpus (`tools/ocr-eval`). Tesseract stays loaded as the fallback for
    /// a page PP-OCR fails on, and replaces it entirely when the models are
    /// missing or altered.
    #[default]
    PpOcr,
    /// Tesseract (`OcrEngine::recognize_page`) only.
    Tesseract,
}

impl Default for OcrConfig {
    fn default() -> Self {
        OcrConfig {
            tessdata_dir: None,
            language: "chi_sim".to_owned(),
            workers: 1,
            orientation: true,
            engine: EngineKind::default(),
            pp_model_dir: PathBuf::from(crate::PP_MODEL_DIR),
        }
    }
}

/// Recognised text of one page.
///
/// `text` is personal data: log its length, never its content.
#[derive(Clone, PartialEq)]
pub struct OcrText {
    /// Text with spurious spaces between CJK characters removed.
    pub text: String,
    /// Tesseract's mean word confidence, 0 to 100.
    pub mean_confidence: f32,
    /// Wall time of recognition.
    pub duration: Duration,
    /// Every recognised word (for chi_sim often one to a few characters) with
    /// its confidence and position, in reading order, so a UI can highlight
    /// doubtful words. Personal data, like `text`.
    pub words: Vec<Word>,
    /// The clockwise turn in degrees (0, 90, 180, 270) the page was given
    /// before recognition because it lay sideways or upside down; word boxes
    /// are in the turned page's pixels.
    pub rotation_degrees: u16,
}

/// One recognised word.
#[derive(Clone, PartialEq)]
pub struct Word {
    /// The word as recognised.
    pub text: String,
    /// Tesseract's confidence, 0 to 100.
    pub confidence: f32,
    /// Left, top, width, height in pixels of the recognised image.
    pub bbox: (u32, u32, u32, u32),
}

impl Word {
    /// True when the confidence is below `DOUBTFUL_BELOW`.
    pub fn is_doubtful(&self) -> bool {
        self.confidence < DOUBTFUL_BELOW
    }
}

impl std::fmt::Debug for Word {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Word")
            .field("chars", &self.text.chars().count())
            .field("confidence", &self.confidence)
            .field("bbox", &self.bbox)
            .finish()
    }
}

/// Words recognised with less confidence than this are shown as doubtful.
pub const DOUBTFUL_BELOW: f32 = 60.0;

/// Tesseract's page segmentation mode for a recognition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// One uniform block of text (psm 6), the default: it keeps table rows
    /// and short lines that psm 3 throws away.
    #[default]
    SingleBlock,
    /// Fully automatic page segmentation (psm 3).
    Auto,
}

/// Parses Tesseract's TSV output into words (level 5 rows with text).
pub(crate) fn parse_tsv_words(tsv: &str) -> Vec<Word> {
    tsv.lines()
        .filter_map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() < 12 || cols[0] != "5" {
                return None;
            }
            let num = |i: usize| {
                cols[i]
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .map(|v| v.clamp(0, u32::MAX as i64) as u32)
            };
            let text = cols[11..].join("\t").trim().to_owned();
            if text.is_empty() {
                return None;
            }
            let confidence = cols[10].trim().parse::<f32>().ok()?.clamp(0.0, 100.0);
            Some(Word {
                text,
                confidence,
                bbox: (num(6)?, num(7)?, num(8)?, num(9)?),
            })
        })
        .collect()
}

impl std::fmt::Debug for OcrText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The text itself stays out of debug output so it cannot reach a log.
        f.debug_struct("OcrText")
            .field("text_chars", &self.text.chars().count())
            .field("mean_confidence", &self.mean_confidence)
            .field("duration", &self.duration)
            .field("words", &self.words.len())
            .field("rotation_degrees", &self.rotation_degrees)
            .finish()
    }
}

/// A Tesseract engine with its language model loaded.
///
/// Loading chi_sim takes a noticeable fraction of a second, so one engine is
/// kept per thread and reused. After a failed recognition the engine is
/// reloaded on the next call.
pub struct OcrEngine {
    tess: Option<Tesseract>,
    datapath: Option<String>,
    language: String,
    layout: Layout,
}

impl std::fmt::Debug for OcrEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OcrEngine")
            .field("language", &self.language)
            .field("datapath", &self.datapath)
            .field("loaded", &self.tess.is_some())
            .field("layout", &self.layout)
            .finish()
    }
}

/// Largest accepted image side; a straightened A4 page at 600 dpi is 7016 pixels.
const MAX_SIDE: u32 = 10_000;
/// Height of an A4 page in inches, used to tell Tesseract the resolution.
const A4_LONG_SIDE_INCHES: f32 = 11.69;

/// The checks every engine makes on a grey page: sides within 1..=MAX_SIDE,
/// a buffer of exactly `width * height` bytes.
pub(crate) fn check_input(data: &[u8], width: u32, height: u32) -> Result<(), OcrError> {
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(OcrError::BadDimensions { width, height });
    }
    let expected = width as usize * height as usize;
    if data.len() != expected {
        return Err(OcrError::BufferSize {
            expected,
            actual: data.len(),
        });
    }
    Ok(())
}

impl OcrEngine {
    /// Loads the language model.
    pub fn new(cfg: &OcrConfig) -> Result<Self, OcrError> {
        let datapath = match &cfg.tessdata_dir {
            Some(dir) => Some(dir.to_str().ok_or(OcrError::TessdataPath)?.to_owned()),
            None => None,
        };
        let mut engine = OcrEngine {
            tess: None,
            datapath,
            language: cfg.language.clone(),
            layout: Layout::default(),
        };
        engine.tess = Some(engine.load()?);
        Ok(engine)
    }

    /// Sets the page segmentation used from the next page on.
    pub fn set_layout(&mut self, layout: Layout) {
        self.layout = layout;
        if let Some(tess) = self.tess.as_mut() {
            tess.set_page_seg_mode(psm(layout));
        }
    }

    /// The page segmentation in use.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    fn load(&self) -> Result<Tesseract, OcrError> {
        let started = Instant::now();
        let mut tess =
            Tesseract::new(self.datapath.as_deref(), Some(&self.language)).map_err(|source| {
                OcrError::Init {
                    language: self.language.clone(),
                    source,
                }
            })?;
        tess.set_page_seg_mode(psm(self.layout));
        log::debug!(
            "tesseract {} loaded in {:?}",
            self.language,
            started.elapsed()
        );
        Ok(tess)
    }

    /// Recognises a grey page that may lie any way round: finds which way up
    /// it lies (`detect_orientation`), turns it upright and reads it. The
    /// turn is reported in `OcrText::rotation_degrees`.
    pub fn recognize_page(
        &mut self,
        data: &[u8],
        width: u32,
        height: u32,
    ) -> Result<OcrText, OcrError> {
        let started = Instant::now();
        let turn = self.detect_orientation(data, width, height)?;
        let mut text = if turn == 0 {
            self.recognize_gray(data, width, height)?
        } else {
            let (upright, w, h) = crate::rotate_gray(data, width, height, turn);
            self.recognize_gray(&upright, w, h)?
        };
        text.rotation_degrees = turn;
        text.duration = started.elapsed();
        Ok(text)
    }

    /// Recognises an 8-bit grey image of `width * height` bytes, row-major.
    ///
    /// The image is assumed to be a whole page; its resolution is given to
    /// Tesseract as if the long side were A4's.
    pub fn recognize_gray(
        &mut self,
        data: &[u8],
        width: u32,
        height: u32,
    ) -> Result<OcrText, OcrError> {
        check_input(data, width, height)?;
        let started = Instant::now();
        let tess = match self.tess.take() {
            Some(tess) => tess,
            None => self.load()?,
        };
        // The builder calls consume the engine; on error it is gone and reloaded next time.
        let dpi = (width.max(height) as f32 / A4_LONG_SIDE_INCHES)
            .round()
            .clamp(70.0, 1200.0) as i32;
        let tess = tess
            .set_frame(data, width as i32, height as i32, 1, width as i32)
            .map_err(OcrError::SetImage)?
            .set_source_resolution(dpi);
        let mut tess = tess.recognize().map_err(OcrError::Recognize)?;
        let raw = tess.get_text();
        let confidence = tess.mean_text_conf();
        // Word boxes are a by-product; a failure to read them loses only the highlighting.
        let words = tess
            .get_tsv_text(0)
            .map(|t| parse_tsv_words(&t))
            .unwrap_or_default();
        self.tess = Some(tess);
        let text = clean_text(&raw.map_err(OcrError::Text)?);
        let duration = started.elapsed();
        log::debug!(
            "ocr {}x{}: {} chars, confidence {}, {:?}",
            width,
            height,
            text.chars().count(),
            confidence,
            duration
        );
        Ok(OcrText {
            text,
            mean_confidence: confidence.clamp(0, 100) as f32,
            duration,
            words,
            rotation_degrees: 0,
        })
    }
}

fn psm(layout: Layout) -> PageSegMode {
    match layout {
        Layout::SingleBlock => PageSegMode::PsmSingleBlock,
        Layout::Auto => PageSegMode::PsmAuto,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::config;

    #[test]
    fn blank_page_gives_no_text() {
        let mut engine = OcrEngine::new(&config()).unwrap();
        let (w, h) = (827, 1170);
        let res = engine
            .recognize_gray(&vec![255; w * h], w as u32, h as u32)
            .unwrap();
        assert!(
            res.text.trim().chars().count() <= 2,
            "{} chars",
            res.text.chars().count()
        );
        // The engine stays usable.
        let res = engine.recognize_gray(&vec![0; 64 * 64], 64, 64).unwrap();
        assert!(res.text.chars().count() <= 4);
    }

    #[test]
    fn wrong_buffer_size_is_a_typed_error() {
        let mut engine = OcrEngine::new(&config()).unwrap();
        let res = engine.recognize_gray(&[255; 99], 10, 10);
        assert!(matches!(
            res,
            Err(OcrError::BufferSize {
                expected: 100,
                actual: 99
            })
        ));
        let res = engine.recognize_gray(&[], 0, 10);
        assert!(matches!(
            res,
            Err(OcrError::BadDimensions {
                width: 0,
                height: 10
            })
        ));
        let res = engine.recognize_gray(&[], u32::MAX, u32::MAX);
        assert!(matches!(res, Err(OcrError::BadDimensions { .. })));
        // Still works after rejected input.
        assert!(engine.recognize_gray(&[255; 100], 10, 10).is_ok());
    }

    #[test]
    fn missing_model_is_an_init_error() {
        let cfg = OcrConfig {
            tessdata_dir: Some("/nonexistent/tessdata".into()),
            ..config()
        };
        assert!(matches!(OcrEngine::new(&cfg), Err(OcrError::Init { .. })));
    }

    #[test]
    fn debug_output_hides_the_text() {
        let res = OcrText {
            text: "王某某".to_owned(),
            mean_confidence: 90.0,
            duration: Duration::from_millis(5),
            words: vec![Word {
                text: "王某某".to_owned(),
                confidence: 40.0,
                bbox: (1, 2, 3, 4),
            }],
            rotation_degrees: 0,
        };
        let shown = format!("{res:?}");
        assert!(!shown.contains("王某某"));
        assert!(shown.contains("text_chars: 3"));
        assert!(!format!("{:?}", res.words).contains("王某某"));
        assert!(res.words[0].is_doubtful());
    }

    #[test]
    fn tsv_rows_become_words() {
        let tsv = "1\t1\t0\t0\t0\t0\t0\t0\t800\t600\t-1\t\n\
                   5\t1\t1\t1\t1\t1\t10\t20\t30\t40\t91.5\t拖欠\n\
                   5\t1\t1\t1\t1\t2\t45\t20\t30\t40\t12\t工资\n\
                   5\t1\t1\t1\t1\t3\t45\t20\t30\t40\t95\t \n\
                   5\tbad\n";
        let words = parse_tsv_words(tsv);
        assert_eq!(words.len(), 2);
        assert_eq!(words[0].text, "拖欠");
        assert_eq!(words[0].bbox, (10, 20, 30, 40));
        assert!(!words[0].is_doubtful());
        assert!(words[1].is_doubtful());
    }
}
