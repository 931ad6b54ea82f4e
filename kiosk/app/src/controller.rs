//! The app shell around the intake machine: it carries out the machine's
//! effects on the devices, the OCR pool, the queue and the uplink, and feeds
//! the results back as events.
//!
//! Threads: the controller thread owns the machine and the queue connection;
//! a card thread polls the reader; a camera thread grabs previews, takes and
//! processes pages and runs the OCR pool; the uplink runs its own thread and
//! runtime; history look-ups run on short-lived threads. Only events cross
//! between them, so a stalled device or network never freezes the screen.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use intake::{Effect, Event, History, Intake, Millis, PastRegistration, Timeouts};
use kiosk_camera::DocumentCamera;
use kiosk_idcard::watch::{ReaderEvent, WatchConfig, Watcher};
use kiosk_ocr::{OcrConfig, OcrPool};
use kiosk_printer::{EscPosPrinter, PrintJob, PrintReport, PrintWorker, Receipt, NEXT_STEP};
use kiosk_queue::Queue;
use kiosk_uplink::{Uplink, UplinkConfig, UplinkEvent};

use crate::config::Config;
use crate::view::{self, ViewModel};
use crate::workers;

mod printing;
mod record;

pub use record::{build_upload, extracted_fields};
use record::{found_phone, recognised_texts, review_notes};

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
    Technician(Box<crate::technician::TechnicianView>),
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

/// Opens the card reader; called again after every disconnect.
pub type ReaderOpener = kiosk_idcard::watch::Opener;
/// Opens the camera; called again after the camera fails.
pub type CameraOpener = Box<dyn FnMut() -> anyhow::Result<Box<dyn DocumentCamera>> + Send>;

/// The devices the controller drives.
pub struct Devices {
    pub reader: ReaderOpener,
    pub camera: CameraOpener,
}

impl std::fmt::Debug for Devices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Devices")
    }
}

pub(crate) enum CamCmd {
    Capture(u32),
    Preview(bool),
}

pub(crate) fn record(timings: &Option<Timings>, stage: Stage, d: Duration) {
    log::info!("stage {} took {} ms", stage.name(), d.as_millis());
    if let Some(t) = timings {
        let _ = t.send((stage, d));
    }
}

/// The running shell.
pub struct Controller {
    events: Sender<Event>,
    quit: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// Joined last: it ends when the uplink is gone.
    uplink_events: Option<JoinHandle<()>>,
    uplink: Option<Arc<Uplink>>,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Controller")
    }
}

impl Controller {
    /// Opens the queue, starts the uplink and the worker threads.
    pub fn spawn(
        cfg: &Config,
        token: String,
        devices: Devices,
        sink: Sink,
        timings: Option<Timings>,
    ) -> anyhow::Result<Controller> {
        // Every view also goes past the spoken prompts (a no-op when they are off).
        let sink = crate::voice::announcing(sink, &cfg.voice);
        let queue = Queue::open_with(&cfg.queue.path, cfg.queue_options()?)
            .with_context(|| format!("cannot open queue {}", cfg.queue.path.display()))?;
        let ocr = OcrPool::new(&OcrConfig {
            tessdata_dir: Some(cfg.ocr.tessdata_dir.clone()),
            language: cfg.ocr.language.clone(),
            workers: cfg.ocr.workers,
        })
        .context("cannot start text recognition")?;
        let (events_tx, events_rx) = mpsc::channel::<Event>();
        let (uplink_tx, uplink_rx) = mpsc::channel::<UplinkEvent>();
        let uplink = Arc::new(
            Uplink::spawn(
                cfg.queue.path.clone(),
                UplinkConfig {
                    base_url: cfg.registry.url.clone(),
                    token,
                    lookup_key: cfg.read_lookup_key()?,
                    terminal_id: cfg.terminal.id.clone(),
                    heartbeat_interval: Duration::from_secs(cfg.registry.heartbeat_s),
                    tls: cfg.client_tls()?,
                    request_timeout: Duration::from_secs(cfg.registry.request_timeout_s),
                    min_backoff: Duration::from_secs(cfg.registry.min_backoff_s),
                    max_backoff: Duration::from_secs(cfg.registry.max_backoff_s),
                },
                uplink_tx,
            )
            .context("cannot start the uplink")?,
        );
        let quit = Arc::new(AtomicBool::new(false));
        let (cam_tx, cam_rx) = mpsc::channel::<CamCmd>();
        let mut threads = Vec::new();
        // The devices' live state for the technician screen, written by the worker threads.
        let health = crate::health::Health::default();

        let (card_tx, card_rx) = mpsc::channel::<ReaderEvent>();
        let watcher = kiosk_idcard::watch::watch(
            devices.reader,
            WatchConfig {
                poll_interval: Duration::from_millis(cfg.idcard.poll_interval_ms),
                ..WatchConfig::default()
            },
            card_tx,
        )
        .context("cannot start the card reader thread")?;
        threads.push(spawn_named("card-events", {
            let (tx, health) = (events_tx.clone(), health.clone());
            move || workers::card_events(card_rx, tx, health)
        })?);
        threads.push(spawn_named("camera", {
            let (quit, tx, timings, sink, health) = (
                quit.clone(),
                events_tx.clone(),
                timings.clone(),
                sink.clone(),
                health.clone(),
            );
            let interval = Duration::from_millis(cfg.camera.preview_interval_ms);
            move || {
                workers::camera_loop(
                    devices.camera,
                    ocr,
                    interval,
                    cam_rx,
                    quit,
                    tx,
                    sink,
                    timings,
                    health,
                )
            }
        })?);
        let uplink_events = spawn_named("uplink-events", {
            let tx = events_tx.clone();
            move || {
                for ev in uplink_rx {
                    if let UplinkEvent::Acknowledged {
                        local_ref,
                        case_number,
                        ..
                    } = ev
                    {
                        let _ = tx.send(Event::Acknowledged {
                            local_ref,
                            case_number,
                        });
                    }
                }
            }
        })?;
        let (print_tx, print_rx) = mpsc::channel::<PrintReport>();
        let printer = if cfg.printer.enabled {
            let wake = events_tx.clone();
            let worker = PrintWorker::spawn(
                EscPosPrinter::opener(cfg.printer.printer_config()),
                move |report| {
                    let _ = print_tx.send(report);
                    let _ = wake.send(Event::Tick);
                },
            )
            .context("cannot start the printer thread")?;
            Some(worker)
        } else {
            None
        };
        let shell = Shell {
            machine: Intake::new(Timeouts {
                inactivity: cfg.inactivity(),
                still_there: Duration::from_secs(cfg.ui.still_there_s),
                receipt: Duration::from_secs(cfg.ui.receipt_timeout_s),
            }),
            queue,
            uplink: uplink.clone(),
            watcher,
            cam: cam_tx,
            events: events_tx.clone(),
            sink,
            timings,
            terminal_id: cfg.terminal.id.clone(),
            history_timeout: Duration::from_secs(cfg.registry.history_timeout_s),
            epoch: Instant::now(),
            card_at: None,
            polling_since: None,
            sealed: HashMap::new(),
            last_view: None,
            printer,
            print_rx,
            print_wait: Duration::from_millis(cfg.printer.wait_for_case_number_ms),
            hall_name: cfg.terminal.hall_name.clone(),
            staff: Arc::new(cfg.staff.clone()),
            tickets: cfg.counter.enabled.then(|| {
                let path = cfg.queue.path.with_file_name("tickets");
                (
                    crate::ticket::TicketCounter::new(&path, &cfg.counter.prefix),
                    cfg.counter.window.clone(),
                )
            }),
            to_print: None,
            printing: HashMap::new(),
            next_print_tag: 1,
            classifier: kiosk_classify::Classifier::builtin(),
            suggestion: None,
            repeat_checked: false,
            suggestion_category: None,
            // Keys the petitioner hashes of the repeat check; lives only in memory.
            terminal_secret: kiosk_classify::TerminalSecret::new(
                uuid::Uuid::new_v4().as_bytes().to_vec(),
            ),
            tech: crate::technician::TechShell::new(cfg, health, events_tx.clone()),
            typing: crate::typing::Typing::new(),
            lookup_key: cfg.read_lookup_key()?,
        };
        threads.push(spawn_named("controller", {
            let quit = quit.clone();
            move || shell.run(events_rx, quit)
        })?);
        Ok(Controller {
            events: events_tx,
            quit,
            threads,
            uplink_events: Some(uplink_events),
            uplink: Some(uplink),
        })
    }

    /// Where the UI sends its events.
    pub fn sender(&self) -> Sender<Event> {
        self.events.clone()
    }

    /// Stops every thread and waits for them.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.quit.store(true, Ordering::SeqCst);
        let _ = self.events.send(Event::Tick);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        // The controller thread held the other reference; dropping the last
        // one stops the uplink, which ends the uplink-events thread.
        if let Some(uplink) = self.uplink.take() {
            match Arc::try_unwrap(uplink) {
                Ok(u) => u.shutdown(),
                Err(shared) => drop(shared),
            }
        }
        if let Some(t) = self.uplink_events.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.stop();
    }
}

fn spawn_named(name: &str, f: impl FnOnce() + Send + 'static) -> anyhow::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(f)
        .with_context(|| format!("cannot start the {name} thread"))
}

/// The controller thread's state.
struct Shell {
    machine: Intake,
    queue: Queue,
    uplink: Arc<Uplink>,
    watcher: Watcher,
    cam: Sender<CamCmd>,
    events: Sender<Event>,
    sink: Sink,
    timings: Option<Timings>,
    terminal_id: String,
    history_timeout: Duration,
    epoch: Instant,
    /// When the current visitor's card was read.
    card_at: Option<Instant>,
    /// When the reader was asked to look for a card.
    polling_since: Option<Instant>,
    /// Sealed registrations waiting for their case number: card-read and seal instants.
    sealed: HashMap<String, (Option<Instant>, Instant)>,
    last_view: Option<ViewModel>,
    printer: Option<PrintWorker>,
    print_rx: Receiver<PrintReport>,
    /// How long a receipt waits for its case number before it is printed anyway.
    print_wait: Duration,
    hall_name: String,
    /// The sealed registration's receipt, waiting for its case number.
    to_print: Option<(Receipt, Instant)>,
    /// Jobs sent to the printer, by tag: the local reference and the job.
    printing: HashMap<u64, (String, PrintJob)>,
    next_print_tag: u64,
    classifier: kiosk_classify::Classifier,
    /// The review screen's routing suggestion and what it was computed from.
    suggestion: Option<(String, String)>,
    /// The repeat check ran for this visit.
    repeat_checked: bool,
    /// The top suggestion's category code.
    suggestion_category: Option<String>,
    terminal_secret: kiosk_classify::TerminalSecret,
    /// The provisioned staff PIN hashes.
    staff: Arc<crate::config::StaffConfig>,
    /// The counter queue's ticket numbers and window, when the hall runs one.
    tickets: Option<(crate::ticket::TicketCounter, String)>,
    tech: crate::technician::TechShell,
    /// The description keyboard's pinyin input.
    typing: crate::typing::Typing,
    /// Keys the ID hash a rating carries (the history lookup key).
    lookup_key: registry_api::envelope::LookupKey,
}

impl Shell {
    fn run(mut self, rx: Receiver<Event>, quit: Arc<AtomicBool>) {
        self.publish();
        while !quit.load(Ordering::SeqCst) {
            let event = match rx.recv_timeout(Duration::from_millis(250)) {
                Ok(e) => e,
                Err(RecvTimeoutError::Timeout) => Event::Tick,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            self.handle(event);
            self.drive_printer();
            // The printer's state is asked on the technician screen, and
            // between visits (never during one, so a receipt never waits behind it).
            let screen = self.machine.screen();
            if matches!(screen, intake::Screen::Technician | intake::Screen::Welcome) {
                let technician = screen == intake::Screen::Technician;
                self.tech.query_printer(self.printer.as_ref(), technician);
            }
        }
    }

    fn now(&self) -> Millis {
        Millis(self.epoch.elapsed().as_millis() as u64)
    }

    fn handle(&mut self, event: Event) {
        match &event {
            Event::CardRead(_) => {
                // From asking the reader for a card to the identity: the read as the
                // visitor waits for it; the total runs from the same moment.
                let since = self.polling_since.take();
                if let Some(since) = since {
                    record(&self.timings, Stage::CardRead, since.elapsed());
                }
                self.card_at = Some(since.unwrap_or_else(Instant::now));
            }
            Event::Acknowledged {
                local_ref,
                case_number,
            } => {
                if let Some((receipt, _)) = &mut self.to_print {
                    if receipt.local_reference == *local_ref {
                        receipt.case_number = Some(case_number.clone());
                    }
                }
                if let Some((card_at, sealed_at)) = self.sealed.remove(local_ref) {
                    record(&self.timings, Stage::Upload, sealed_at.elapsed());
                    if let Some(card_at) = card_at {
                        record(&self.timings, Stage::Total, card_at.elapsed());
                    }
                }
            }
            _ => {}
        }
        let now = self.now();
        if let Some(text) = self.typing.before(&event, &self.machine) {
            for effect in self.machine.handle(Event::DescriptionEdited(text), now) {
                self.perform(effect);
            }
        }
        let effects = self.machine.handle(event, now);
        for effect in effects {
            self.perform(effect);
        }
        self.publish();
    }

    /// The routing suggestion for the session on the review screen, computed
    /// again only when its inputs (pages, recognition, tile) change.
    fn suggestion(&mut self) -> String {
        let Some(s) = self.machine.session() else {
            return String::new();
        };
        let texts = recognised_texts(s);
        let tile = s.category.map(|c| c.code);
        let key = format!(
            "{:?}|{}|{}|{}",
            tile,
            texts.len(),
            texts.iter().map(|t| t.len()).sum::<usize>(),
            s.description.expose().len()
        );
        if let Some((k, line)) = &self.suggestion {
            if *k == key {
                return line.clone();
            }
        }
        let id = s.identity.id_number.expose();
        let suggestions = self.classifier.classify(&kiosk_classify::ClassifyInput {
            texts: &texts,
            description: s.description.expose(),
            tile,
            id_region: id.get(..6),
            address: Some(s.identity.address.expose()),
            override_category: None,
            override_unit: None,
        });
        self.suggestion_category = suggestions.first().map(|top| top.category.clone());
        let line = suggestions
            .first()
            .map(|top| {
                if top.confident {
                    // The three strongest reasons are enough on a screen.
                    let place = top
                        .locality
                        .as_deref()
                        .map(|l| format!("{l} "))
                        .unwrap_or_default();
                    let why: Vec<&str> = top.evidence.iter().take(3).map(String::as_str).collect();
                    if why.is_empty() {
                        format!("建议转办：{place}{}", top.unit)
                    } else {
                        format!("建议转办：{place}{}（依据：{}）", top.unit, why.join("、"))
                    }
                } else {
                    format!("可能由{}办理，工作人员会再确认", top.unit)
                }
            })
            .unwrap_or_default();
        let notes = review_notes(&s.pages);
        let line = if notes.is_empty() {
            line
        } else {
            format!("{line}\n{notes}")
        };
        self.suggestion = Some((key, line.clone()));
        line
    }

    /// Asks the petitioner once per visit whether this is the same matter as
    /// an earlier case of theirs, when the history suggests it.
    fn check_repeat(&mut self, category: Option<String>) {
        if self.repeat_checked {
            return;
        }
        let Some(s) = self.machine.session() else {
            return;
        };
        let History::Loaded(rows) = &s.history else {
            return;
        };
        self.repeat_checked = true;
        if s.repeat.is_some() || rows.is_empty() {
            return;
        }
        let texts = recognised_texts(s);
        let fingerprint = kiosk_classify::TextFingerprint::of(&texts);
        let petitioner =
            kiosk_classify::PetitionerKey::derive(&self.terminal_secret, &s.identity.id_number);
        let history: Vec<kiosk_classify::EarlierCase> = rows
            .iter()
            .map(|r| kiosk_classify::EarlierCase {
                reference: r.case_number.clone(),
                registered_at: r.registered_at.clone(),
                state: r.status.clone(),
                category: r.category.clone(),
                text: None,
            })
            .collect();
        let tile = s.category.map(|c| c.code).filter(|c| *c != intake::UNSURE);
        let Some(category) = tile.map(str::to_string).or(category) else {
            return;
        };
        let matches = kiosk_classify::check_repeats(
            &kiosk_classify::RepeatPolicy::default(),
            &kiosk_classify::Probe {
                petitioner: &petitioner,
                category: &category,
                text: &fingerprint,
            },
            &history,
            &kiosk_classify::RecentRegistrations::default(),
        );
        if let Some(first) = matches.first() {
            let event = Event::RepeatSuspected {
                earlier_case: first.reference.clone(),
                question: first.question(),
            };
            let now = self.now();
            for effect in self.machine.handle(event, now) {
                self.perform(effect);
            }
        }
    }

    fn publish(&mut self) {
        let mut suggestion = String::new();
        if self.machine.screen() == intake::Screen::Review {
            suggestion = self.suggestion();
            let category = self.suggestion_category.clone();
            self.check_repeat(category);
        } else if self.machine.session().is_none() {
            self.suggestion = None;
            self.repeat_checked = false;
        }
        let mut v = view::build(&self.machine, self.now());
        v.suggestion = suggestion;
        if self.machine.screen() == intake::Screen::Phone {
            if let Some(digits) = self.machine.session().and_then(|s| found_phone(&s.pages)) {
                v.found_phone_masked = intake::phone::masked(&digits);
                v.found_phone = digits;
            }
        }
        self.typing.show(&self.machine, &mut v);
        if self.last_view.as_ref() != Some(&v) {
            (self.sink)(Update::View(Box::new(v.clone())));
            self.last_view = Some(v);
        }
        self.tech.poll();
        if self.machine.screen() == intake::Screen::Technician {
            if self.tech.ping_due() {
                self.uplink.ping();
            }
            if let Some(t) = self.tech.view(&self.queue, self.uplink.contact()) {
                (self.sink)(Update::Technician(Box::new(t)));
            }
        } else {
            self.tech.reset();
        }
    }

    fn perform(&mut self, effect: Effect) {
        match effect {
            Effect::PollCard(on) => {
                self.polling_since = on.then(Instant::now);
                if on {
                    // Below the disk-space floor no new visit starts (the queue stays intact).
                    if let Err(e @ kiosk_queue::QueueError::LowDiskSpace { .. }) =
                        self.queue.check_space()
                    {
                        log::error!("intake refused: {e}");
                        let _ = self.events.send(Event::DeviceFault(
                            crate::cli_queue::seal_failure_message(&e).into(),
                        ));
                    }
                    // A new visit: a card still lying on the reader is read again.
                    self.watcher.rearm();
                }
                self.watcher.set_active(on);
            }
            Effect::Preview(on) => {
                let _ = self.cam.send(CamCmd::Preview(on));
            }
            Effect::CapturePage { page_id } => {
                if self.cam.send(CamCmd::Capture(page_id)).is_err() {
                    let _ = self.events.send(Event::DeviceFault("摄像头不可用".into()));
                }
            }
            Effect::FetchHistory(id) => {
                let (uplink, tx, timeout) = (
                    self.uplink.clone(),
                    self.events.clone(),
                    self.history_timeout,
                );
                let spawned = spawn_named("history", move || {
                    let event = match uplink.history_blocking(&id, timeout) {
                        Ok(reply) => Event::HistoryLoaded(
                            reply
                                .registrations
                                .into_iter()
                                .map(|r| PastRegistration {
                                    case_number: r.case_number,
                                    registered_at: r.registered_at,
                                    category: r.category,
                                    status: r.status,
                                    rating: r.rating,
                                })
                                .collect(),
                        ),
                        Err(e) => {
                            log::warn!("history unavailable: {e}");
                            Event::HistoryUnavailable
                        }
                    };
                    let _ = tx.send(event);
                });
                if spawned.is_err() {
                    let _ = self.events.send(Event::HistoryUnavailable);
                }
            }
            Effect::ExportDiagnostics => self.tech.export(&self.queue, self.uplink.contact()),
            Effect::TestPrint => {
                let tag = self.next_print_tag;
                self.next_print_tag += 1;
                self.tech.test_print(self.printer.as_ref(), tag);
            }
            Effect::Seal(req) => {
                let started = Instant::now();
                let category = req.category.label.to_string();
                let page_count = req.pages.len() as u32;
                let id_number_masked = req.identity.id_number.masked();
                let upload = build_upload(&self.terminal_id, *req);
                match self.queue.seal(&upload) {
                    Ok(receipt) => {
                        record(&self.timings, Stage::Seal, started.elapsed());
                        log::info!(
                            "sealed registration {} ({} pages)",
                            receipt.local_ref,
                            receipt.page_count
                        );
                        self.sealed.insert(
                            receipt.local_ref.clone(),
                            (self.card_at.take(), Instant::now()),
                        );
                        self.uplink.wake();
                        self.to_print = Some((
                            Receipt {
                                terminal_id: self.terminal_id.clone(),
                                hall_name: self.hall_name.clone(),
                                registered_at: chrono::Local::now().naive_local(),
                                case_number: None,
                                local_reference: receipt.local_ref.clone(),
                                category,
                                page_count,
                                id_number_masked,
                                // The local reference is what the progress query asks by: never the ID number.
                                query_code: receipt.local_ref.clone(),
                                next_step: NEXT_STEP.into(),
                            },
                            Instant::now(),
                        ));
                        let _ = self.events.send(Event::Sealed {
                            local_ref: receipt.local_ref.clone(),
                        });
                        self.issue_ticket(&receipt.local_ref);
                    }
                    Err(e) => {
                        log::error!("sealing failed: {e}");
                        let _ = self.events.send(Event::SealFailed(
                            crate::cli_queue::seal_failure_message(&e).into(),
                        ));
                    }
                }
            }
            Effect::CheckPin(pin) => {
                // Argon2 takes a moment: off the controller thread.
                let (staff, tx) = (self.staff.clone(), self.events.clone());
                let spawned = spawn_named("pin", move || {
                    let role = crate::staff::check_pin(&staff, &pin);
                    log::info!("staff login: {}", if role.is_some() { "accepted" } else { "refused" });
                    let _ = tx.send(Event::PinChecked(role));
                });
                if spawned.is_err() {
                    let _ = self.events.send(Event::PinChecked(None));
                }
            }
            Effect::LoadQueue => match crate::staff::queue_rows(&self.queue) {
                Ok(rows) => {
                    let _ = self.events.send(Event::QueueLoaded(rows));
                }
                Err(e) => log::error!("queue view: {e}"),
            },
            Effect::Resend(local_ref) => match self.queue.resend(&local_ref) {
                Ok(true) => {
                    log::info!("clerk put {local_ref} back in line");
                    self.uplink.wake();
                }
                Ok(false) => log::warn!("resend {local_ref}: not a failed registration"),
                Err(e) => log::error!("resend {local_ref}: {e}"),
            },
            Effect::SealRating(req) => {
                let event = match crate::rating::queue_rating(&self.queue, &self.lookup_key, &req) {
                    Ok(()) => {
                        log::info!("rating of {} queued", req.case_number);
                        self.uplink.wake();
                        Event::RatingSealed {
                            case_number: req.case_number.clone(),
                        }
                    }
                    Err(e) => {
                        log::error!("queuing a rating failed: {e}");
                        Event::RatingSealFailed(crate::cli_queue::seal_failure_message(&e).into())
                    }
                };
                let _ = self.events.send(event);
            }
            Effect::Reprint(local_ref) => match self.queue.receipt(&local_ref) {
                Ok(Some(r)) => {
                    log::info!("clerk reprints the receipt of {local_ref}");
                    let receipt = crate::staff::receipt_for(&r, &self.terminal_id, &self.hall_name);
                    self.print_receipt(receipt);
                }
                Ok(None) => log::warn!("reprint {local_ref}: not in the queue"),
                Err(e) => log::error!("reprint {local_ref}: {e}"),
            },
        }
    }
}
