//! OCR evaluation: raw Tesseract on the photo versus the kiosk pipeline.
//!
//! The corpus (`corpus/`, made by `make_corpus.py`) holds synthetic camera
//! photos of petition pages, each with its printed text (`.txt`) and its
//! fields (`.fields`). For every photo and method this crate measures
//! - the character error rate: Levenshtein distance over characters, with all
//!   whitespace removed, divided by the length of the truth (the grey
//!   "样本 SPECIMEN" mark is not part of the truth and is removed from the
//!   output first);
//! - field recall: the share of the truth's fields (kind, ID number, phone,
//!   date, amount, name) that `kiosk_fields::extract` finds exactly;
//! - seconds per page, processing included.
//!
//! Only figures are printed, never recognised text.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kiosk_camera::{process_page, raw_gray, Frame};
use kiosk_ocr::{OcrEngine, OcrText};

/// Failure to read the corpus or to process a photo.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read corpus file {}", .0.display())]
    Read(PathBuf),
    #[error("corpus folder {} holds no photos", .0.display())]
    Empty(PathBuf),
    #[error(transparent)]
    Camera(#[from] kiosk_camera::CameraError),
    #[error(transparent)]
    Page(#[from] kiosk_camera::PageError),
    #[error(transparent)]
    Ocr(#[from] kiosk_ocr::OcrError),
}

/// One photo of the corpus with its ground truth.
#[derive(Debug, Clone)]
pub struct Sample {
    /// File stem, e.g. `003-judgment`.
    pub stem: String,
    pub image: PathBuf,
    /// The printed text, one printed line a line.
    pub truth: String,
    /// `(name, value)`: kind, id, phone, date (YYYY-MM-DD), amount (yuan), name.
    pub fields: Vec<(String, String)>,
}

/// The corpus folder shipped with this crate.
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// Loads every `*.jpg` of `dir` with its `.txt` and `.fields`, sorted by name.
pub fn load_corpus(dir: &Path) -> Result<Vec<Sample>, EvalError> {
    let entries = std::fs::read_dir(dir).map_err(|_| EvalError::Read(dir.to_path_buf()))?;
    let mut images: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jpg"))
        .collect();
    images.sort();
    if images.is_empty() {
        return Err(EvalError::Empty(dir.to_path_buf()));
    }
    images
        .into_iter()
        .map(|image| {
            let read = |ext: &str| {
                let p = image.with_extension(ext);
                std::fs::read_to_string(&p).map_err(|_| EvalError::Read(p))
            };
            let fields = read("fields")?
                .lines()
                .filter_map(|l| l.split_once('\t'))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            Ok(Sample {
                stem: image
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                truth: read("txt")?,
                fields,
                image,
            })
        })
        .collect()
}

/// Character error rate: edit distance over characters without whitespace, over the truth's length.
pub fn cer(truth: &str, got: &str) -> f64 {
    let t: Vec<char> = truth.chars().filter(|c| !c.is_whitespace()).collect();
    let g: Vec<char> = got.chars().filter(|c| !c.is_whitespace()).collect();
    if t.is_empty() {
        return if g.is_empty() { 0.0 } else { 1.0 };
    }
    strsim::generic_levenshtein(&t, &g) as f64 / t.len() as f64
}

/// Removes the specimen mark, which the truth does not contain.
pub fn strip_specimen_mark(text: &str) -> String {
    text.replace("样本", "").replace("SPECIMEN", "")
}

/// How many of `truth` fields `kiosk_fields::extract` finds in `text` exactly.
pub fn field_hits(truth: &[(String, String)], text: &str) -> usize {
    let f = kiosk_fields::extract(text);
    truth
        .iter()
        .filter(|(k, v)| match k.as_str() {
            "kind" => f.kind.as_str() == v,
            "id" => f.id_numbers.iter().any(|c| c.number.expose() == v),
            "phone" => f.phones.iter().any(|p| p.value.expose() == v),
            "date" => f.dates.iter().any(|d| d.value.to_string() == *v),
            "amount" => f.amounts.iter().any(|a| a.value.yuan().to_string() == *v),
            "name" => f.names.iter().any(|n| n.value.expose() == v),
            _ => false,
        })
        .count()
}

/// How a photo is turned into text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Plain Tesseract on the grey photo, unprocessed.
    Raw,
    /// Page detection, correction and clean-up (`kiosk_camera::process_page`), then Tesseract.
    Pipeline,
}

impl Method {
    pub fn name(&self) -> &'static str {
        match self {
            Method::Raw => "raw",
            Method::Pipeline => "pipeline",
        }
    }
}

/// Figures of one photo under one method.
#[derive(Debug, Clone)]
pub struct PageScore {
    pub stem: String,
    pub method: Method,
    pub cer: f64,
    pub fields_found: usize,
    pub fields_total: usize,
    /// Processing (decoding excluded) plus recognition.
    pub seconds: f64,
    /// The pipeline fell back to the whole frame (no trustworthy page outline).
    pub fallback: bool,
}

/// Recognises `frame` with `method`; returns the text, the processing time and whether it fell back.
pub fn recognise(
    engine: &mut OcrEngine,
    frame: &Frame,
    method: Method,
) -> Result<(OcrText, Duration, bool), EvalError> {
    let started = Instant::now();
    let (gray, w, h, fallback) = match method {
        Method::Raw => {
            let (gray, w, h) = raw_gray(frame)?;
            (gray, w, h, false)
        }
        Method::Pipeline => match process_page(frame) {
            Ok(page) => (page.gray, page.width, page.height, page.fallback),
            // No page outline: nothing better than the photo itself.
            Err(_) => {
                let (gray, w, h) = raw_gray(frame)?;
                (gray, w, h, true)
            }
        },
    };
    let processing = started.elapsed();
    let text = engine.recognize_gray(&gray, w, h)?;
    Ok((text, processing, fallback))
}

/// Scores one sample under one method.
pub fn score(
    engine: &mut OcrEngine,
    sample: &Sample,
    method: Method,
) -> Result<PageScore, EvalError> {
    let frame = Frame::from_file(&sample.image)?;
    let (text, processing, fallback) = recognise(engine, &frame, method)?;
    let cleaned = strip_specimen_mark(&text.text);
    Ok(PageScore {
        stem: sample.stem.clone(),
        method,
        cer: cer(&sample.truth, &cleaned),
        fields_found: field_hits(&sample.fields, &cleaned),
        fields_total: sample.fields.len(),
        seconds: (processing + text.duration).as_secs_f64(),
        fallback,
    })
}

/// Totals over many pages of one method.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    pub pages: usize,
    /// Mean of the per-page character error rates.
    pub mean_cer: f64,
    pub fields_found: usize,
    pub fields_total: usize,
    pub mean_seconds: f64,
}

impl Summary {
    pub fn of(scores: &[&PageScore]) -> Summary {
        let n = scores.len().max(1) as f64;
        Summary {
            pages: scores.len(),
            mean_cer: scores.iter().map(|s| s.cer).sum::<f64>() / n,
            fields_found: scores.iter().map(|s| s.fields_found).sum(),
            fields_total: scores.iter().map(|s| s.fields_total).sum(),
            mean_seconds: scores.iter().map(|s| s.seconds).sum::<f64>() / n,
        }
    }

    /// Share of fields found, 0 to 1.
    pub fn field_recall(&self) -> f64 {
        self.fields_found as f64 / self.fields_total.max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cer_ignores_whitespace_and_counts_edits() {
        assert_eq!(cer("拖欠 工资", "拖欠工资"), 0.0);
        assert!((cer("拖欠工资", "拖工资") - 0.25).abs() < 1e-9);
        assert!((cer("拖欠工资", "拖欠工资款项") - 0.5).abs() < 1e-9);
        assert_eq!(cer("", ""), 0.0);
        assert_eq!(cer("", "x"), 1.0);
        assert_eq!(cer("ab", ""), 1.0);
    }

    #[test]
    fn corpus_is_complete() {
        let corpus = load_corpus(&corpus_dir()).unwrap();
        assert!(corpus.len() >= 10);
        for s in &corpus {
            assert!(!s.truth.trim().is_empty(), "{}", s.stem);
            assert!(s.fields.iter().any(|(k, _)| k == "kind"), "{}", s.stem);
            // The generator's own text yields every field it declares.
            assert_eq!(
                field_hits(&s.fields, &s.truth),
                s.fields.len(),
                "{}",
                s.stem
            );
        }
        let bytes: u64 = std::fs::read_dir(corpus_dir())
            .unwrap()
            .filter_map(|e| e.ok()?.metadata().ok())
            .map(|m| m.len())
            .sum();
        assert!(bytes < 8 * 1024 * 1024, "corpus is {bytes} bytes");
    }

    #[test]
    fn missing_corpus_is_an_error() {
        assert!(matches!(
            load_corpus(Path::new("/nonexistent/corpus")),
            Err(EvalError::Read(_))
        ));
    }
}
