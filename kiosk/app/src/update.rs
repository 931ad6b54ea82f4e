//! What crosses from the controller and its worker threads to the screen:
//! the [`Update`]s a [`Sink`] receives, and the measured [`Stage`]s a
//! [`Timings`] channel receives. A module of its own so that the controller,
//! its threads, the Slint adapter and the voice can all use them without
//! importing one another.

use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Duration;

use crate::technician::TechnicianView;
use crate::view::ViewModel;

/// What the controller tells the screen.
#[derive(Debug, Clone)]
pub enum Update {
    View(Box<ViewModel>),
    /// A live camera frame, RGBA8.
    Preview {
        width: u32,
        height: u32,
        rgba: Vec<u8>,
    },
    /// The receipt as it would be printed, RGBA8, for the petitioner to
    /// photograph when the printer could not print it.
    ReceiptPicture {
        width: u32,
        height: u32,
        rgba: Vec<u8>,
    },
    /// The technician screen's status rows and notice.
    Technician(Box<TechnicianView>),
}

/// A stage of the intake whose duration is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    CardRead,
    Capture,
    Ocr,
    Seal,
    Upload,
    /// From the card read to the case number on screen.
    Total,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::CardRead => "card_read",
            Stage::Capture => "page_capture",
            Stage::Ocr => "page_ocr",
            Stage::Seal => "seal",
            Stage::Upload => "upload",
            Stage::Total => "card_to_case_number",
        }
    }
}

/// Where screen updates go; called from worker threads.
pub type Sink = Arc<dyn Fn(Update) + Send + Sync>;

/// Where stage durations go besides the log (the benchmark listens here).
pub type Timings = Sender<(Stage, Duration)>;

/// Logs a stage's duration and sends it to the benchmark, if one listens.
pub fn record(timings: &Option<Timings>, stage: Stage, d: Duration) {
    log::info!("stage {} took {} ms", stage.name(), d.as_millis());
    if let Some(t) = timings {
        let _ = t.send((stage, d));
    }
}
