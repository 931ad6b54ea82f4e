//! What the controller thread keeps for the terminal's whole run, whoever is
//! in front of it: the queue, the uplink, the card reader's watcher, the
//! camera thread's link, the printer and its jobs, the counter tickets, the
//! staff PIN hashes, the technician screen's part, the keys, the
//! classifier and the software update's installer. Nothing of a visitor lives here (see `visit.rs`).

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kiosk_idcard::watch::Watcher;
use kiosk_printer::{PrintJob, PrintReport, PrintWorker};
use kiosk_queue::Queue;
use kiosk_uplink::Uplink;

use super::CamCmd;
use crate::update::Timings;

pub(super) struct Terminal {
    pub queue: Queue,
    pub uplink: Arc<Uplink>,
    pub watcher: Watcher,
    pub cam: Sender<CamCmd>,
    pub timings: Option<Timings>,
    pub terminal_id: String,
    pub hall_name: String,
    pub history_timeout: Duration,
    /// When the reader was asked to look for a card.
    pub polling_since: Option<Instant>,
    /// Sealed registrations waiting for their case number: card-read and
    /// seal instants (only for the stage timings; they outlive the visit).
    pub sealed: HashMap<String, (Option<Instant>, Instant)>,
    pub printer: Option<PrintWorker>,
    pub print_rx: Receiver<PrintReport>,
    /// How long a receipt waits for its case number before it is printed anyway.
    pub print_wait: Duration,
    /// Jobs sent to the printer, by tag: the local reference and the job.
    pub printing: HashMap<u64, (String, PrintJob)>,
    pub next_print_tag: u64,
    /// The counter queue's ticket numbers and window, when the hall runs one.
    pub tickets: Option<(crate::ticket::TicketCounter, String)>,
    /// The provisioned staff PIN hashes.
    pub staff: Arc<crate::staff::StaffConfig>,
    pub tech: crate::technician::TechShell,
    pub classifier: kiosk_classify::Classifier,
    /// Keys the petitioner hashes of the repeat check; lives only in memory.
    pub terminal_secret: kiosk_classify::TerminalSecret,
    /// Where the staff PIN lockout is kept across restarts, and what it holds.
    pub lockout_path: std::path::PathBuf,
    pub saved_lockout: intake::Lockout,
    /// Installs the fetched software update in the install window, between visits.
    pub installer: crate::software_update::Installer,
    /// How voice notes are recorded; `None`: no microphone configured.
    pub capture: Option<kiosk_voice::CaptureConfig>,
    /// Where a voice note is played (the prompts' device and volume).
    pub note_player: kiosk_voice::PlayerConfig,
}

impl Terminal {
    /// A fresh tag for a print job.
    pub fn print_tag(&mut self) -> u64 {
        let tag = self.next_print_tag;
        self.next_print_tag += 1;
        tag
    }
}
