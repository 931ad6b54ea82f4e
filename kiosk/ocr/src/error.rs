//! Error type of the OCR engine and pool.

/// Failure to set up an OCR engine (Tesseract or PP-OCR) or to recognise a page.
#[derive(Debug, thiserror::Error)]
pub enum OcrError {
    /// Tesseract could not load the language model.
    #[error("cannot initialise tesseract for language {language}")]
    Init {
        language: String,
        #[source]
        source: tesseract::InitializeError,
    },
    /// The tessdata path is not valid UTF-8.
    #[error("tessdata path is not valid utf-8")]
    TessdataPath,
    /// The image has a zero or oversized dimension.
    #[error("bad image dimensions {width}x{height}")]
    BadDimensions { width: u32, height: u32 },
    /// The buffer length does not match width times height.
    #[error("grey buffer has {actual} bytes, expected {expected}")]
    BufferSize { expected: usize, actual: usize },
    /// Tesseract refused the image.
    #[error("tesseract rejected the image")]
    SetImage(#[source] tesseract::plumbing::TessBaseApiSetImageSafetyError),
    /// Recognition failed.
    #[error("recognition failed")]
    Recognize(#[source] tesseract::plumbing::TessBaseApiRecogniseError),
    /// Tesseract returned no text object.
    #[error("cannot read recognised text")]
    Text(#[source] tesseract::plumbing::TessBaseApiGetUtf8TextError),
    /// A PP-OCR model file is missing or unreadable (run scripts/install-deps.sh).
    #[error("cannot read PP-OCR model {file} (install it with scripts/install-deps.sh)")]
    ModelFile {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// A PP-OCR model file differs from the one pinned in ocr-models/manifest.toml.
    #[error("PP-OCR model {file} does not match its pinned {what}")]
    ModelMismatch { file: String, what: &'static str },
    /// The built-in model manifest lacks an entry or a field.
    #[error("ocr-models/manifest.toml: bad or missing entry ({0})")]
    ModelManifest(String),
    /// tract could not load or optimise a model.
    #[error("cannot load PP-OCR model {file}: {reason}")]
    ModelLoad { file: String, reason: String },
    /// tract failed while running a model.
    #[error("PP-OCR inference failed in {stage}: {reason}")]
    Inference { stage: String, reason: String },
    /// The page took longer than the engine's time limit.
    #[error("recognition stopped after the time limit of {limit_ms} ms")]
    TimeLimit { limit_ms: u64 },
    /// The pool has no running workers.
    #[error("ocr pool is shut down")]
    PoolClosed,
    /// A worker panicked while recognising this job.
    #[error("ocr worker panicked")]
    WorkerPanicked,
}
