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
use intake::{Effect, Event, Intake, Millis, PastRegistration, SealRequest, Thumb, Timeouts};
use kiosk_camera::{DocumentCamera, PageError};
use kiosk_idcard::{CardPoll, IdCardReader};
use kiosk_ocr::{OcrConfig, OcrPool};
use kiosk_queue::Queue;
use kiosk_uplink::{Uplink, UplinkConfig, UplinkEvent};
use registry_api::{PageUpload, Petitioner, RegistrationUpload};

use crate::config::Config;
use crate::view::{self, ViewModel};

/// What the controller tells the screen.
#[derive(Debug, Clone)]
pub enum Update {
    View(Box<ViewModel>),
    /// A live camera frame, RGBA8.
    Preview { width: u32, height: u32, rgba: Vec<u8> },
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

/// Opens the card reader; called again after the reader fails.
pub type ReaderOpener = Box<dyn FnMut() -> anyhow::Result<Box<dyn IdCardReader>> + Send>;
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

enum CamCmd {
    Capture(u32),
    Preview(bool),
}

fn record(timings: &Option<Timings>, stage: Stage, d: Duration) {
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
        let queue = Queue::open(&cfg.queue.path)
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
                    request_timeout: Duration::from_secs(cfg.registry.request_timeout_s),
                    min_backoff: Duration::from_secs(cfg.registry.min_backoff_s),
                    max_backoff: Duration::from_secs(cfg.registry.max_backoff_s),
                },
                uplink_tx,
            )
            .context("cannot start the uplink")?,
        );
        let quit = Arc::new(AtomicBool::new(false));
        let polling = Arc::new(AtomicBool::new(false));
        let (cam_tx, cam_rx) = mpsc::channel::<CamCmd>();
        let mut threads = Vec::new();

        threads.push(spawn_named("card", {
            let (quit, polling, tx, timings) =
                (quit.clone(), polling.clone(), events_tx.clone(), timings.clone());
            let interval = Duration::from_millis(cfg.idcard.poll_interval_ms);
            move || card_loop(devices.reader, interval, polling, quit, tx, timings)
        })?);
        threads.push(spawn_named("camera", {
            let (quit, tx, timings, sink) = (quit.clone(), events_tx.clone(), timings.clone(), sink.clone());
            let interval = Duration::from_millis(cfg.camera.preview_interval_ms);
            move || camera_loop(devices.camera, ocr, interval, cam_rx, quit, tx, sink, timings)
        })?);
        let uplink_events = spawn_named("uplink-events", {
            let tx = events_tx.clone();
            move || {
                for ev in uplink_rx {
                    if let UplinkEvent::Acknowledged { local_ref, case_number, .. } = ev {
                        let _ = tx.send(Event::Acknowledged { local_ref, case_number });
                    }
                }
            }
        })?;
        let shell = Shell {
            machine: Intake::new(Timeouts {
                inactivity: cfg.inactivity(),
                receipt: Duration::from_secs(cfg.ui.receipt_timeout_s),
                ..Timeouts::default()
            }),
            queue,
            uplink: uplink.clone(),
            polling,
            cam: cam_tx,
            events: events_tx.clone(),
            sink,
            timings,
            terminal_id: cfg.terminal.id.clone(),
            history_timeout: Duration::from_secs(cfg.registry.history_timeout_s),
            epoch: Instant::now(),
            card_at: None,
            sealed: HashMap::new(),
            last_view: None,
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
    polling: Arc<AtomicBool>,
    cam: Sender<CamCmd>,
    events: Sender<Event>,
    sink: Sink,
    timings: Option<Timings>,
    terminal_id: String,
    history_timeout: Duration,
    epoch: Instant,
    /// When the current visitor's card was read.
    card_at: Option<Instant>,
    /// Sealed registrations waiting for their case number: card-read and seal instants.
    sealed: HashMap<String, (Option<Instant>, Instant)>,
    last_view: Option<ViewModel>,
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
        }
    }

    fn now(&self) -> Millis {
        Millis(self.epoch.elapsed().as_millis() as u64)
    }

    fn handle(&mut self, event: Event) {
        match &event {
            Event::CardRead(_) => self.card_at = Some(Instant::now()),
            Event::Acknowledged { local_ref, .. } => {
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
        let effects = self.machine.handle(event, now);
        for effect in effects {
            self.perform(effect);
        }
        self.publish();
    }

    fn publish(&mut self) {
        let v = view::build(&self.machine, self.now());
        if self.last_view.as_ref() != Some(&v) {
            (self.sink)(Update::View(Box::new(v.clone())));
            self.last_view = Some(v);
        }
    }

    fn perform(&mut self, effect: Effect) {
        match effect {
            Effect::PollCard(on) => self.polling.store(on, Ordering::SeqCst),
            Effect::Preview(on) => {
                let _ = self.cam.send(CamCmd::Preview(on));
            }
            Effect::CapturePage { page_id } => {
                if self.cam.send(CamCmd::Capture(page_id)).is_err() {
                    let _ = self.events.send(Event::DeviceFault("摄像头不可用".into()));
                }
            }
            Effect::FetchHistory(id) => {
                let (uplink, tx, timeout) = (self.uplink.clone(), self.events.clone(), self.history_timeout);
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
            Effect::Seal(req) => {
                let started = Instant::now();
                let upload = build_upload(&self.terminal_id, *req);
                match self.queue.seal(&upload) {
                    Ok(receipt) => {
                        record(&self.timings, Stage::Seal, started.elapsed());
                        log::info!(
                            "sealed registration {} ({} pages)",
                            receipt.local_ref,
                            receipt.page_count
                        );
                        self.sealed.insert(receipt.local_ref.clone(), (self.card_at.take(), Instant::now()));
                        self.uplink.wake();
                        let _ = self.events.send(Event::Sealed { local_ref: receipt.local_ref });
                    }
                    Err(e) => {
                        log::error!("sealing failed: {e}");
                        let _ = self.events.send(Event::SealFailed(
                            "保存失败，请联系工作人员".into(),
                        ));
                    }
                }
            }
        }
    }
}

/// A local reference the petitioner can quote before the case number exists.
fn local_ref(terminal_id: &str, now: chrono::DateTime<chrono::Local>) -> String {
    let short = uuid::Uuid::new_v4().simple().to_string();
    format!("{}-{}-{}", terminal_id, now.format("%y%m%d%H%M"), &short[..4].to_uppercase())
}

/// Turns a finished session into the record that is sealed and uploaded.
pub fn build_upload(terminal_id: &str, req: SealRequest) -> RegistrationUpload {
    let now = chrono::Local::now();
    let t = &req.identity;
    let pages = req
        .pages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (text, conf) = match &p.ocr {
                intake::Ocr::Done { text, confidence } => (text.clone(), *confidence),
                _ => (Default::default(), 0.0),
            };
            PageUpload::new(i as u32 + 1, &p.jpeg, text, conf)
        })
        .collect();
    RegistrationUpload {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        terminal_id: terminal_id.to_string(),
        local_ref: local_ref(terminal_id, now),
        sealed_at: now.to_rfc3339(),
        petitioner: Petitioner {
            doc_type: match t.doc_type {
                idcard_proto::DocType::Resident => "resident",
                idcard_proto::DocType::HmtPermit => "hmt_permit",
                idcard_proto::DocType::ForeignPermanent2017 => "foreign_2017",
                idcard_proto::DocType::ForeignPermanent2023 => "foreign_2023",
            }
            .into(),
            id_number: t.id_number.clone(),
            name: t.name.clone(),
            sex: sex_code(t.sex),
            birth: t.birth.map(|d| d.to_string()),
            address: t.address.clone(),
        },
        category: req.category.code.to_string(),
        description: Default::default(),
        phone: None,
        pages,
    }
}

fn sex_code(s: idcard_proto::Sex) -> u8 {
    match s {
        idcard_proto::Sex::Unknown => 0,
        idcard_proto::Sex::Male => 1,
        idcard_proto::Sex::Female => 2,
        idcard_proto::Sex::Unspecified => 9,
    }
}

fn card_loop(
    mut open: ReaderOpener,
    interval: Duration,
    polling: Arc<AtomicBool>,
    quit: Arc<AtomicBool>,
    tx: Sender<Event>,
    timings: Option<Timings>,
) {
    let mut reader: Option<Box<dyn IdCardReader>> = None;
    let mut reported = false;
    while !quit.load(Ordering::SeqCst) {
        if !polling.load(Ordering::SeqCst) {
            reported = false;
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        if reader.is_none() {
            match open() {
                Ok(r) => reader = Some(r),
                Err(e) => {
                    log::warn!("card reader unavailable: {e:#}");
                    if !reported {
                        let _ = tx.send(Event::CardFailed("读卡器未连接，请联系工作人员".into()));
                        reported = true;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
            }
        }
        let Some(r) = reader.as_mut() else { continue };
        let started = Instant::now();
        match r.poll() {
            Ok(CardPoll::NoCard) => reported = false,
            Ok(CardPoll::Card(identity)) => {
                record(&timings, Stage::CardRead, started.elapsed());
                polling.store(false, Ordering::SeqCst);
                let _ = tx.send(Event::CardRead(Box::new(identity.text)));
            }
            Err(e) => {
                log::warn!("card read failed: {e}");
                if !reported {
                    let _ = tx.send(Event::CardFailed("未能读取证件，请把证件放平，稍等片刻".into()));
                    reported = true;
                }
            }
        }
        std::thread::sleep(interval);
    }
}

#[allow(clippy::too_many_arguments)]
fn camera_loop(
    mut open: CameraOpener,
    ocr: OcrPool,
    interval: Duration,
    cmds: Receiver<CamCmd>,
    quit: Arc<AtomicBool>,
    tx: Sender<Event>,
    sink: Sink,
    timings: Option<Timings>,
) {
    let mut camera: Option<Box<dyn DocumentCamera>> = None;
    let mut preview = false;
    let mut last_preview = Instant::now().checked_sub(interval).unwrap_or_else(Instant::now);
    // The frame the petitioner is looking at: a capture takes it, so the page
    // registered is the page shown, not whatever the camera sees a moment later.
    let mut shown: Option<(kiosk_camera::Frame, Instant)> = None;
    let fresh_for = (interval * 2).max(Duration::from_millis(250));
    while !quit.load(Ordering::SeqCst) {
        while let Some((page_id, result)) = ocr.try_recv() {
            let result = match result {
                Ok(text) => {
                    record(&timings, Stage::Ocr, text.duration);
                    Some((kiosk_privacy::PersonalText::new(text.text), text.mean_confidence))
                }
                Err(e) => {
                    log::warn!("recognition of page {page_id} failed: {e}");
                    None
                }
            };
            let _ = tx.send(Event::OcrFinished { page_id: page_id as u32, result });
        }
        let wait = if preview && !interval.is_zero() {
            interval.saturating_sub(last_preview.elapsed()).min(Duration::from_millis(100))
        } else {
            Duration::from_millis(100)
        };
        match cmds.recv_timeout(wait) {
            Ok(CamCmd::Preview(on)) => {
                preview = on;
                shown = None;
            }
            Ok(CamCmd::Capture(page_id)) => {
                let started = Instant::now();
                let frame = match shown.take() {
                    Some((frame, at)) if preview && at.elapsed() < fresh_for => Ok(frame),
                    _ => grab(&mut open, &mut camera),
                };
                let event = match frame {
                    Err(reason) => Event::PageRejected { page_id, reason },
                    Ok(frame) => match kiosk_camera::process_page(&frame) {
                        Ok(page) => {
                            record(&timings, Stage::Capture, started.elapsed());
                            let (tw, th, rgba) = page.thumb_rgba;
                            ocr.submit(page_id as u64, page.gray, page.width, page.height);
                            Event::PageCaptured {
                                page_id,
                                jpeg: page.jpeg,
                                thumb: Thumb { width: tw, height: th, rgba },
                            }
                        }
                        Err(PageError::NoDocument) => Event::PageRejected {
                            page_id,
                            reason: "没有找到材料，请把材料平放在拍摄区内再拍".into(),
                        },
                        Err(e) => {
                            log::warn!("page processing failed: {e}");
                            Event::PageRejected { page_id, reason: "这张没拍好，请再拍一次".into() }
                        }
                    },
                };
                let _ = tx.send(event);
                // Show the next page at once.
                last_preview = Instant::now().checked_sub(interval).unwrap_or_else(Instant::now);
            }
            Err(RecvTimeoutError::Timeout) => {
                if preview && !interval.is_zero() && last_preview.elapsed() >= interval {
                    last_preview = Instant::now();
                    if let Ok(frame) = grab(&mut open, &mut camera) {
                        let (width, height, rgba) = frame.preview_rgba(960);
                        sink(Update::Preview { width, height, rgba });
                        shown = Some((frame, Instant::now()));
                    }
                }
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
}

/// Grabs one frame, (re)opening the camera when needed; the error is for the screen.
fn grab(
    open: &mut CameraOpener,
    camera: &mut Option<Box<dyn DocumentCamera>>,
) -> Result<kiosk_camera::Frame, String> {
    if camera.is_none() {
        match open() {
            Ok(c) => *camera = Some(c),
            Err(e) => {
                log::warn!("camera unavailable: {e:#}");
                return Err("摄像头暂时不可用，请联系工作人员".into());
            }
        }
    }
    let Some(cam) = camera.as_mut() else { return Err("摄像头暂时不可用".into()) };
    match cam.grab() {
        Ok(frame) => Ok(frame),
        Err(e) => {
            log::warn!("camera grab failed: {e}");
            *camera = None;
            Err("摄像头暂时不可用，请稍后再拍".to_string())
        }
    }
}
