//! Error type of the OCR engine and pool.

/// Failure to set up Tesseract or to recognise a page.
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
    /// The pool has no running workers.
    #[error("ocr pool is shut down")]
    PoolClosed,
    /// A worker panicked while recognising this job.
    #[error("ocr worker panicked")]
    WorkerPanicked,
}
