//! OCR evaluation: raw Tesseract on the photo versus the kiosk pipeline (and
//! any further [`Method`]).
//!
//! The corpus (`corpus/`, made by `make_corpus.py`) holds synthetic camera
//! photos of petition pages, each with its printed text (`.txt`) and its
//! fields (`.fields`); `corpus/index.tsv` gives each page's tier (easy,
//! typical, hard) and conditions (`1080p`, `rot90`, `glare`, …). For every
//! photo and method this crate measures
//! - the character error rate: Levenshtein distance over characters, with all
//!   whitespace removed, divided by the length of the truth (the grey
//!   "样本 SPECIMEN" mark is not part of the truth and is removed from the
//!   output first);
//! - field recall: the share of the truth's fields (kind, ID number, phone,
//!   date, amount, name) that `kiosk_fields::extract` finds exactly;
//! - seconds per page, processing included;
//!
//! and [`report`] sums them per tier, per condition and overall, side by
//! side for each method, against the targets of issue #16.
//!
//! Only figures are printed, never recognised text.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Instant;

use kiosk_camera::{process_page_with, raw_gray, Frame, PageOptions};
use kiosk_ocr::{Layout, OcrEngine};

/// Failure to read the corpus or to process a photo.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read corpus file {}", .0.display())]
    Read(PathBuf),
    #[error("corpus folder {} holds no photos", .0.display())]
    Empty(PathBuf),
    #[error("corpus index line {line}: {reason}")]
    Index { line: usize, reason: String },
    #[error("photo {0} is not in the corpus index")]
    NotIndexed(String),
    #[error("the corpus index names {0}, which has no photo")]
    MissingPhoto(String),
    #[error(transparent)]
    Camera(#[from] kiosk_camera::CameraError),
    #[error(transparent)]
    Page(#[from] kiosk_camera::PageError),
    #[error(transparent)]
    Ocr(#[from] kiosk_ocr::OcrError),
}

/// How hard a page is, as the generator made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    Easy,
    Typical,
    Hard,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Easy, Tier::Typical, Tier::Hard];

    pub fn as_str(&self) -> &'static str {
        match self {
            Tier::Easy => "easy",
            Tier::Typical => "typical",
            Tier::Hard => "hard",
        }
    }

    pub fn parse(s: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// The conditions of the hall that the hard tier must hold, each on at least two pages.
pub const HARD_CONDITIONS: [&str; 15] = [
    "rot90",
    "rot180",
    "rot270",
    "1080p",
    "720p",
    "keystone",
    "glare",
    "shadow",
    "fold",
    "photocopy",
    "handwriting",
    "small-print",
    "seal-over-text",
    "motion-blur",
    "cn-date",
];

/// Printed forms of fields the corpus must hold, each on at least two pages (any tier).
pub const FIELD_FORMS: [&str; 3] = ["id-spaced", "id-split", "phone-sep"];

/// The index of the corpus folder: page stem, tier, conditions.
pub const INDEX_FILE: &str = "index.tsv";

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
    pub tier: Tier,
    /// From the index: `1080p`, `rot90`, `glare`, `cn-date`, …
    pub conditions: Vec<String>,
}

/// Reads `index.tsv`: a header line, then `stem<TAB>tier<TAB>condition,condition`.
pub fn load_index(dir: &Path) -> Result<Vec<(String, Tier, Vec<String>)>, EvalError> {
    let path = dir.join(INDEX_FILE);
    let text = std::fs::read_to_string(&path).map_err(|_| EvalError::Read(path))?;
    let mut out: Vec<(String, Tier, Vec<String>)> = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let bad = |reason: String| EvalError::Index {
            line: i + 1,
            reason,
        };
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let [stem, tier, conditions] = cols[..] else {
            return Err(bad(format!("{} columns, expected 3", cols.len())));
        };
        let tier = Tier::parse(tier).ok_or_else(|| bad(format!("unknown tier {tier:?}")))?;
        if out.iter().any(|(s, _, _)| s == stem) {
            return Err(bad(format!("{stem} listed twice")));
        }
        let conditions = conditions
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect();
        out.push((stem.to_owned(), tier, conditions));
    }
    Ok(out)
}

/// The corpus folder shipped with this crate.
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// Loads every `*.jpg` of `dir` with its `.txt`, `.fields` and index entry, sorted by name.
///
/// Every photo must be in the index and every page of the index must have a photo.
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
    let index = load_index(dir)?;
    let stem_of = |p: &Path| {
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    if let Some((stem, _, _)) = index
        .iter()
        .find(|(stem, _, _)| !images.iter().any(|p| stem_of(p) == *stem))
    {
        return Err(EvalError::MissingPhoto(stem.clone()));
    }
    images
        .into_iter()
        .map(|image| {
            let stem = stem_of(&image);
            let (_, tier, conditions) = index
                .iter()
                .find(|(s, _, _)| *s == stem)
                .ok_or_else(|| EvalError::NotIndexed(stem.clone()))?;
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
                tier: *tier,
                conditions: conditions.clone(),
                stem,
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

/// Removes the specimen mark, which the truth does not contain: "样本
/// SPECIMEN", also when the faint grey 样本 is misread (`#本 SPECIMEN`: up
/// to two characters before SPECIMEN on its line).
pub fn strip_specimen_mark(text: &str) -> String {
    let text = text.replace("样本", "");
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match line.find("SPECIMEN") {
            Some(at) => {
                let before = line[..at].trim_end();
                // Byte offset of the second-to-last character: what precedes it stays.
                let keep = before.char_indices().rev().nth(1).map_or(0, |(i, _)| i);
                out.push_str(&before[..keep]);
                out.push_str(&line[at + "SPECIMEN".len()..]);
            }
            None => out.push_str(line),
        }
    }
    out
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

/// What a method made of one photo.
#[derive(Debug, Clone)]
pub struct Recognised {
    pub text: String,
    /// Processing (decoding excluded) plus recognition.
    pub seconds: f64,
    /// The method fell back to the whole frame (no trustworthy page outline).
    pub fallback: bool,
}

/// The closure of a [`Method`]: a decoded photo in, its text out.
pub type RecogniseFn = Box<dyn FnMut(&Frame) -> anyhow::Result<Recognised>>;

/// One way of turning a photo into text: a column of the report.
///
/// A further method (a new engine, a new pipeline) is one more
/// `Method::new("name", move |frame| …)` in the list `main` builds.
pub struct Method {
    pub name: String,
    recognise: RecogniseFn,
}

impl std::fmt::Debug for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Method")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Method {
    pub fn new(
        name: impl Into<String>,
        recognise: impl FnMut(&Frame) -> anyhow::Result<Recognised> + 'static,
    ) -> Method {
        Method {
            name: name.into(),
            recognise: Box::new(recognise),
        }
    }

    pub fn recognise(&mut self, frame: &Frame) -> anyhow::Result<Recognised> {
        (self.recognise)(frame)
    }
}

/// One Tesseract engine shared by several methods (it is large and slow to load).
pub type SharedEngine = Rc<RefCell<OcrEngine>>;

/// Times `prepare` (the grey page, its size, whether it fell back), then
/// recognises the page with `layout`, first turning it upright if `orient`.
fn tesseract_after(
    engine: &SharedEngine,
    layout: Layout,
    orient: bool,
    prepare: impl FnOnce() -> anyhow::Result<(Vec<u8>, u32, u32, bool)>,
) -> anyhow::Result<Recognised> {
    let started = Instant::now();
    let (gray, w, h, fallback) = prepare()?;
    let processing = started.elapsed();
    let mut engine = engine.borrow_mut();
    engine.set_layout(layout);
    let text = if orient {
        engine.recognize_page(&gray, w, h)?
    } else {
        engine.recognize_gray(&gray, w, h)?
    };
    Ok(Recognised {
        text: text.text,
        seconds: (processing + text.duration).as_secs_f64(),
        fallback,
    })
}

/// Plain Tesseract on the grey photo, unprocessed.
pub fn raw_tesseract(engine: SharedEngine, layout: Layout) -> Method {
    Method::new("raw tesseract", move |frame| {
        tesseract_after(&engine, layout, false, || {
            let (gray, w, h) = raw_gray(frame)?;
            Ok((gray, w, h, false))
        })
    })
}

/// What the terminal runs: `process_page_with` the options for its engine,
/// then its OCR pool (PP-OCR, with Tesseract as fallback;
/// `OcrConfig::default()`), one worker.
pub fn terminal_pipeline() -> anyhow::Result<Method> {
    let pool = kiosk_ocr::OcrPool::new(&kiosk_ocr::OcrConfig::default())?;
    // As the terminal does (kiosk::config::page_options): PP-OCR reads the
    // straightened page without flattening.
    let opts = PageOptions {
        flatten_illumination: pool.engine() == kiosk_ocr::EngineKind::Tesseract,
        ..PageOptions::default()
    };
    let mut job = 0u64;
    Ok(Method::new("pp-ocr pipeline", move |frame| {
        let started = Instant::now();
        let (gray, w, h, fallback) = match process_page_with(frame, &opts) {
            Ok(page) => (page.gray, page.width, page.height, page.fallback),
            Err(_) => {
                let (gray, w, h) = raw_gray(frame)?;
                (gray, w, h, true)
            }
        };
        job += 1;
        pool.submit(job, gray, w, h);
        let (_, result) = pool
            .recv_timeout(std::time::Duration::from_secs(300))
            .ok_or_else(|| anyhow::anyhow!("no answer from the OCR pool"))?;
        Ok(Recognised {
            text: result?.text,
            seconds: started.elapsed().as_secs_f64(),
            fallback,
        })
    }))
}

/// Page detection, correction and clean-up (`kiosk_camera::process_page`),
/// then Tesseract with the page turned upright (`OcrEngine::recognize_page`),
/// as the terminal's fallback engine runs it.
pub fn our_pipeline(engine: SharedEngine, layout: Layout) -> Method {
    tesseract_pipeline("tesseract pipeline", engine, layout, PageOptions::default(), true)
}

/// The pipeline as it was before issue #16: no contrast restoration, no
/// whole-frame upscaling, no orientation.
pub fn previous_pipeline(engine: SharedEngine, layout: Layout) -> Method {
    let opts = PageOptions {
        restore_contrast: false,
        upscale_whole_frame: false,
        ..PageOptions::default()
    };
    tesseract_pipeline("previous pipeline", engine, layout, opts, false)
}

fn tesseract_pipeline(
    name: &str,
    engine: SharedEngine,
    layout: Layout,
    opts: PageOptions,
    orient: bool,
) -> Method {
    Method::new(name, move |frame| {
        tesseract_after(&engine, layout, orient, || match process_page_with(frame, &opts) {
            Ok(page) => Ok((page.gray, page.width, page.height, page.fallback)),
            // No page outline: nothing better than the photo itself.
            Err(_) => {
                let (gray, w, h) = raw_gray(frame)?;
                Ok((gray, w, h, true))
            }
        })
    })
}

/// Figures of one photo under one method.
#[derive(Debug, Clone)]
pub struct PageScore {
    pub stem: String,
    pub cer: f64,
    pub fields_found: usize,
    pub fields_total: usize,
    /// Processing (decoding excluded) plus recognition.
    pub seconds: f64,
    /// The method fell back to the whole frame.
    pub fallback: bool,
}

/// Scores one sample (already decoded as `frame`) under one method.
pub fn score(method: &mut Method, sample: &Sample, frame: &Frame) -> anyhow::Result<PageScore> {
    let got = method.recognise(frame)?;
    let cleaned = strip_specimen_mark(&got.text);
    Ok(PageScore {
        stem: sample.stem.clone(),
        cer: cer(&sample.truth, &cleaned),
        fields_found: field_hits(&sample.fields, &cleaned),
        fields_total: sample.fields.len(),
        seconds: got.seconds,
        fallback: got.fallback,
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
    pub median_seconds: f64,
    /// 90th percentile (nearest rank) of the seconds per page.
    pub p90_seconds: f64,
}

impl Summary {
    pub fn of(scores: &[&PageScore]) -> Summary {
        let n = scores.len().max(1) as f64;
        let mut secs: Vec<f64> = scores.iter().map(|s| s.seconds).collect();
        secs.sort_by(f64::total_cmp);
        Summary {
            pages: scores.len(),
            mean_cer: scores.iter().map(|s| s.cer).sum::<f64>() / n,
            fields_found: scores.iter().map(|s| s.fields_found).sum(),
            fields_total: scores.iter().map(|s| s.fields_total).sum(),
            mean_seconds: secs.iter().sum::<f64>() / n,
            median_seconds: median(&secs),
            p90_seconds: nearest_rank(&secs, 0.9),
        }
    }

    /// Share of fields found, 0 to 1.
    pub fn field_recall(&self) -> f64 {
        self.fields_found as f64 / self.fields_total.max(1) as f64
    }
}

/// Median of sorted values (0 when empty).
fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The nearest-rank percentile `q` (0 to 1) of sorted values (0 when empty).
fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// The targets of issue #16.
pub const TARGET_CER: f64 = 0.06;
pub const TARGET_CER_HARD: f64 = 0.20;
pub const TARGET_RECALL: f64 = 0.92;
pub const TARGET_MEDIAN_SECONDS: f64 = 2.5;

/// The groups of the report: all pages, each tier, each condition (sorted), with the samples' positions.
pub fn groups(samples: &[Sample]) -> Vec<(String, Vec<usize>)> {
    let mut out = vec![("all".to_owned(), (0..samples.len()).collect::<Vec<_>>())];
    for tier in Tier::ALL {
        let idx: Vec<usize> = (0..samples.len())
            .filter(|&i| samples[i].tier == tier)
            .collect();
        if !idx.is_empty() {
            out.push((format!("tier {}", tier.as_str()), idx));
        }
    }
    let mut conditions: Vec<&str> = samples
        .iter()
        .flat_map(|s| s.conditions.iter().map(String::as_str))
        .collect();
    conditions.sort_unstable();
    conditions.dedup();
    for c in conditions {
        let idx = (0..samples.len())
            .filter(|&i| samples[i].conditions.iter().any(|x| x == c))
            .collect();
        out.push((c.to_owned(), idx));
    }
    out
}

/// The summary table: CER and field recall per group, seconds per page and
/// the targets, one column per method. `scores[m][i]` is method `m` on `samples[i]`.
pub fn report(samples: &[Sample], methods: &[&str], scores: &[Vec<PageScore>]) -> String {
    let mut out = String::new();
    let summary = |m: usize, idx: &[usize]| {
        Summary::of(
            &idx.iter()
                .filter_map(|&i| scores[m].get(i))
                .collect::<Vec<_>>(),
        )
    };
    let _ = write!(out, "{:<16} {:>5}", "CER / recall", "pages");
    for name in methods {
        let _ = write!(out, " | {name:>19}");
    }
    out.push('\n');
    let groups = groups(samples);
    for (name, idx) in &groups {
        let _ = write!(out, "{name:<16} {:>5}", idx.len());
        for m in 0..methods.len() {
            let s = summary(m, idx);
            let _ = write!(
                out,
                " | {:>9.3}  {:>4.2} {:>3}",
                s.mean_cer,
                s.field_recall(),
                ""
            );
        }
        out.push('\n');
    }
    let all: Vec<usize> = (0..samples.len()).collect();
    for (label, pick) in [
        (
            "s/page median",
            (|s: &Summary| s.median_seconds) as fn(&Summary) -> f64,
        ),
        ("s/page p90", |s: &Summary| s.p90_seconds),
    ] {
        let _ = write!(out, "{label:<16} {:>5}", all.len());
        for m in 0..methods.len() {
            let _ = write!(out, " | {:>19.2}", pick(&summary(m, &all)));
        }
        out.push('\n');
    }
    out.push('\n');
    let hard: Vec<usize> = (0..samples.len())
        .filter(|&i| samples[i].tier == Tier::Hard)
        .collect();
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    // Each target: its label, and from the summaries of all pages and of the
    // hard tier, the figure and whether it is met.
    type Check = fn(&Summary, &Summary) -> (f64, bool);
    let targets: [(&str, Check); 4] = [
        ("CER all <= 0.06", |a, _| {
            (a.mean_cer, a.mean_cer <= TARGET_CER)
        }),
        ("CER hard <= 0.20", |_, h| {
            (h.mean_cer, h.pages > 0 && h.mean_cer <= TARGET_CER_HARD)
        }),
        ("field recall >= 0.92", |a, _| {
            (a.field_recall(), a.field_recall() >= TARGET_RECALL)
        }),
        ("median s <= 2.5", |a, _| {
            (a.median_seconds, a.median_seconds <= TARGET_MEDIAN_SECONDS)
        }),
    ];
    let _ = write!(out, "{:<22}", "targets (issue #16)");
    for name in methods {
        let _ = write!(out, " | {name:>19}");
    }
    out.push('\n');
    for (label, check) in targets {
        let _ = write!(out, "{label:<22}");
        for m in 0..methods.len() {
            let (value, ok) = check(&summary(m, &all), &summary(m, &hard));
            let _ = write!(out, " | {value:>10.3} {:>8}", verdict(ok));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_specimen_mark_is_stripped_also_when_misread() {
        use super::strip_specimen_mark as strip;
        assert_eq!(strip("样本 SPECIMEN\n第一行"), "\n第一行");
        assert_eq!(strip("#本 SPECIMEN\n第一行"), "\n第一行");
        assert_eq!(strip("反映人：胡红强 #本SPECIMEN 完"), "反映人：胡红强  完");
        assert_eq!(strip("本 SPECIMEN"), "");
        assert_eq!(strip("没有标记"), "没有标记");
    }

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
        assert!(corpus.len() >= 42, "{} pages", corpus.len());
        for s in &corpus {
            assert!(!s.truth.trim().is_empty(), "{}", s.stem);
            assert!(s.fields.iter().any(|(k, _)| k == "kind"), "{}", s.stem);
            // The generator's own text yields every field it declares.
            for field in &s.fields {
                let found = field_hits(std::slice::from_ref(field), &s.truth) == 1;
                assert!(
                    found,
                    "{}: {} not in the truth",
                    s.stem,
                    field.0
                );
            }
        }
        let bytes: u64 = std::fs::read_dir(corpus_dir())
            .unwrap()
            .filter_map(|e| e.ok()?.metadata().ok())
            .map(|m| m.len())
            .sum();
        assert!(bytes < 15 * 1024 * 1024, "corpus is {bytes} bytes");
    }

    #[test]
    fn index_covers_every_page_and_hard_condition() {
        // load_corpus refuses a photo without an index line and a line without a photo.
        let corpus = load_corpus(&corpus_dir()).unwrap();
        let pages = |tier: Option<Tier>, condition: &str| {
            corpus
                .iter()
                .filter(|s| tier.is_none_or(|t| s.tier == t))
                .filter(|s| s.conditions.iter().any(|c| c == condition))
                .count()
        };
        for tier in Tier::ALL {
            assert!(
                corpus.iter().filter(|s| s.tier == tier).count() >= 5,
                "{tier:?}"
            );
        }
        for c in HARD_CONDITIONS {
            assert!(
                pages(Some(Tier::Hard), c) >= 2,
                "hard tier: {c} on fewer than 2 pages"
            );
        }
        for c in FIELD_FORMS {
            assert!(pages(None, c) >= 2, "{c} on fewer than 2 pages");
        }
        // The same page as an 8 MP and as a 720p frame, for comparing their CER.
        let pair: Vec<&Sample> = corpus
            .iter()
            .filter(|s| s.stem.contains("-pair-"))
            .collect();
        assert_eq!(pair.len(), 2);
        assert_eq!(pair[0].truth, pair[1].truth);
        assert_eq!(pair[0].fields, pair[1].fields);
        let sizes: Vec<(u32, u32)> = pair
            .iter()
            .map(|s| Frame::from_file(&s.image).unwrap().size())
            .collect();
        assert!(
            sizes.contains(&(3264, 2448)) && sizes.contains(&(1280, 720)),
            "{sizes:?}"
        );
    }

    fn corpus_copy(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ocr-eval-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for ext in ["jpg", "txt", "fields"] {
            let from = corpus_dir().join(format!("001-letter.{ext}"));
            std::fs::copy(from, dir.join(format!("001-letter.{ext}"))).unwrap();
        }
        dir
    }

    #[test]
    fn index_errors_are_clear() {
        let dir = corpus_copy("index");
        assert!(matches!(load_corpus(&dir), Err(EvalError::Read(p)) if p.ends_with(INDEX_FILE)));
        let write = |text: &str| std::fs::write(dir.join(INDEX_FILE), text).unwrap();
        write("stem\ttier\tconditions\n");
        assert!(matches!(load_corpus(&dir), Err(EvalError::NotIndexed(s)) if s == "001-letter"));
        write("stem\ttier\tconditions\n001-letter\ttypical\t1080p\n002-form\teasy\t5mp\n");
        assert!(matches!(load_corpus(&dir), Err(EvalError::MissingPhoto(s)) if s == "002-form"));
        write("stem\ttier\tconditions\n001-letter\tmedium\t1080p\n");
        let err = load_corpus(&dir).unwrap_err();
        assert_eq!(
            err.to_string(),
            "corpus index line 2: unknown tier \"medium\""
        );
        write("stem\ttier\tconditions\n001-letter\ttypical\n");
        assert!(matches!(
            load_corpus(&dir),
            Err(EvalError::Index { line: 2, .. })
        ));
        write("stem\ttier\tconditions\n001-letter\thard\t1080p, rot90\n");
        let corpus = load_corpus(&dir).unwrap();
        assert_eq!(corpus[0].tier, Tier::Hard);
        assert_eq!(corpus[0].conditions, ["1080p", "rot90"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn page(stem: &str, tier: Tier, conditions: &[&str]) -> Sample {
        Sample {
            stem: stem.to_owned(),
            image: PathBuf::new(),
            truth: String::new(),
            fields: Vec::new(),
            tier,
            conditions: conditions.iter().map(|c| (*c).to_owned()).collect(),
        }
    }

    fn scored(stem: &str, cer: f64, found: usize, seconds: f64) -> PageScore {
        PageScore {
            stem: stem.to_owned(),
            cer,
            fields_found: found,
            fields_total: 4,
            seconds,
            fallback: false,
        }
    }

    #[test]
    fn report_sums_per_tier_and_condition_against_the_targets() {
        let samples = [
            page("a", Tier::Easy, &["8mp"]),
            page("b", Tier::Typical, &["1080p"]),
            page("c", Tier::Hard, &["1080p", "rot90"]),
        ];
        let good = vec![
            scored("a", 0.0, 4, 1.0),
            scored("b", 0.03, 4, 2.0),
            scored("c", 0.09, 4, 9.0),
        ];
        let bad = vec![
            scored("a", 0.1, 4, 3.0),
            scored("b", 0.2, 2, 4.0),
            scored("c", 0.9, 0, 5.0),
        ];
        let text = report(&samples, &["good", "bad"], &[good, bad]);
        let row = |name: &str| -> Vec<String> {
            let line = text
                .lines()
                .find(|l| {
                    l.split(" | ")
                        .next()
                        .unwrap()
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                        == name
                        || l.starts_with(&format!("{name} "))
                })
                .unwrap_or_else(|| panic!("no row {name} in\n{text}"));
            line.split(" | ")
                .skip(1)
                .map(|c| c.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect()
        };
        assert_eq!(row("all"), ["0.040 1.00", "0.400 0.50"]);
        assert_eq!(row("tier hard"), ["0.090 1.00", "0.900 0.00"]);
        assert_eq!(row("1080p"), ["0.060 1.00", "0.550 0.25"]);
        assert_eq!(row("rot90"), ["0.090 1.00", "0.900 0.00"]);
        assert_eq!(row("8mp"), ["0.000 1.00", "0.100 1.00"]);
        assert_eq!(row("s/page median"), ["2.00", "4.00"]);
        assert_eq!(row("s/page p90"), ["9.00", "5.00"]);
        assert_eq!(row("CER all <= 0.06"), ["0.040 met", "0.400 NOT met"]);
        assert_eq!(row("CER hard <= 0.20"), ["0.090 met", "0.900 NOT met"]);
        assert_eq!(row("field recall >= 0.92"), ["1.000 met", "0.500 NOT met"]);
        assert_eq!(row("median s <= 2.5"), ["2.000 met", "4.000 NOT met"]);
    }

    #[test]
    fn percentiles() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[1.0, 2.0, 10.0]), 2.0);
        assert_eq!(median(&[1.0, 2.0, 3.0, 10.0]), 2.5);
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(nearest_rank(&ten, 0.9), 9.0);
        assert_eq!(nearest_rank(&[4.0], 0.9), 4.0);
    }

    #[test]
    fn missing_corpus_is_an_error() {
        assert!(matches!(
            load_corpus(Path::new("/nonexistent/corpus")),
            Err(EvalError::Read(_))
        ));
    }
}
