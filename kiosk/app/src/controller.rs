//! The app shell around the intake machine: it carries out the machine's
//! effects on the devices, the OCR pool, the queue and the uplink, and feeds
//! the results back as events.
//!
//! The controller thread's state is split along its seams (`shell.rs`):
//! [`Terminal`](terminal::Terminal) holds what outlives visits (queue,
//! uplink, reader, camera link, printer, tickets, staff hashes, keys),
//! [`Visit`](visit::Visit) what belongs to the visit in front of the terminal
//! (routing suggestion and what it came from, repeat check, timings, the
//! receipt waiting for its case number, the input method's composition): a
//! value made when the machine starts a visit and dropped when it ends, so
//! no field can be forgotten in a reset. Every event, from the screen, a
//! worker thread or the controller's own work, reaches the machine through
//! one inbox (the channel [`Controller::sender`] feeds).
//!
//! Threads: the controller thread owns the machine and the queue connection;
//! a card thread polls the reader; a camera thread grabs previews, takes and
//! processes pages and runs the OCR pool; the uplink runs its own thread and
//! runtime; history look-ups run on short-lived threads. Only events cross
//! between them, so a stalled device or network never freezes the screen.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use intake::{Event, Intake, Timeouts, VisitId};
use kiosk_camera::DocumentCamera;
use kiosk_idcard::watch::{ReaderEvent, WatchConfig};
use kiosk_ocr::OcrPool;
use kiosk_printer::{EscPosPrinter, PrintReport, PrintWorker};
use kiosk_queue::Queue;
use kiosk_uplink::{Uplink, UplinkConfig, UplinkEvent};

use crate::config::Config;
use crate::update::{Sink, Timings};

mod printing;
mod shell;
mod terminal;
mod visit;
mod workers;

use shell::Shell;
use terminal::Terminal;

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

/// What the controller asks of the camera thread.
pub(crate) enum CamCmd {
    /// Take, check and recognise a page for this visit.
    Capture { visit: VisitId, page_id: u32 },
    Preview(bool),
    /// The visit ended: its recognitions not yet started are dropped and the
    /// duplicate-page memory forgets its pages.
    EndVisit(VisitId),
}


/// The running shell.
pub struct Controller {
    events: Sender<Event>,
    quit: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// Joined last: it ends when the uplink is gone.
    uplink_events: Option<JoinHandle<()>>,
    uplink: Option<Arc<Uplink>>,
    technician: crate::technician::TechnicianLink,
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
        let ocr = OcrPool::new(&cfg.ocr.pool_config())
            .context("cannot start text recognition")?;
        let (events_tx, events_rx) = mpsc::channel::<Event>();
        let (uplink_tx, uplink_rx) = mpsc::channel::<UplinkEvent>();
        // The devices' live state for the technician screen, written by the
        // worker threads; the printer's part also goes out with the heartbeat.
        let health = crate::health::Health::default();
        let installer = crate::software_update::Installer::new(
            &cfg.update,
            &cfg.queue.path.with_file_name("update"),
            &crate::update_stick::software_version(),
        )?;
        let uplink = Arc::new(
            Uplink::spawn(
                cfg.queue.path.clone(),
                UplinkConfig {
                    base_url: cfg.registry.url.clone(),
                    token,
                    terminal_id: cfg.terminal.id.clone(),
                    heartbeat_interval: Duration::from_secs(cfg.registry.heartbeat_s),
                    tls: cfg.client_tls()?,
                    request_timeout: Duration::from_secs(cfg.registry.request_timeout_s),
                    min_backoff: Duration::from_secs(cfg.registry.min_backoff_s),
                    max_backoff: Duration::from_secs(cfg.registry.max_backoff_s),
                    printer: health.printer_slot(),
                    updates: installer.slot.clone(),
                },
                uplink_tx,
            )
            .context("cannot start the uplink")?,
        );
        let quit = Arc::new(AtomicBool::new(false));
        let (cam_tx, cam_rx) = mpsc::channel::<CamCmd>();
        let mut threads = Vec::new();

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
        let mut machine = Intake::new(Timeouts {
            inactivity: cfg.inactivity(),
            still_there: Duration::from_secs(cfg.ui.still_there_s),
            receipt: Duration::from_secs(cfg.ui.receipt_timeout_s),
        });
        // Wrong staff PINs before a restart still count.
        let lockout_path = crate::lockout::path_beside(&cfg.queue.path);
        let saved_lockout =
            crate::lockout::load(&lockout_path, intake::Millis(0), std::time::SystemTime::now());
        machine.restore_lockout(saved_lockout.clone());
        let first_visit = machine.visit();
        let mut tech = crate::technician::TechShell::new(cfg, health, events_tx.clone());
        tech.updates = installer.slot.clone();
        let technician = tech.link();
        let terminal = Terminal {
            queue,
            uplink: uplink.clone(),
            watcher,
            cam: cam_tx,
            timings,
            terminal_id: cfg.terminal.id.clone(),
            capture: cfg.voice.capture(),
            note_player: crate::voice::player_config(&cfg.voice),
            history_timeout: Duration::from_secs(cfg.registry.history_timeout_s),
            polling_since: None,
            sealed: HashMap::new(),
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
            printing: HashMap::new(),
            next_print_tag: 1,
            classifier: kiosk_classify::Classifier::builtin(),
            // Keys the petitioner hashes of the repeat check; lives only in memory.
            terminal_secret: kiosk_classify::TerminalSecret::new(
                uuid::Uuid::new_v4().as_bytes().to_vec(),
            ),
            tech,
            lockout_path,
            saved_lockout,
            installer,
        };
        let shell = Shell {
            machine,
            terminal,
            visit: visit::Visit::new(first_visit),
            inbox: events_tx.clone(),
            sink,
            epoch: Instant::now(),
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
            technician,
        })
    }

    /// Where the technician screen sends its provisioning confirmation
    /// ([`crate::technician::attach`]).
    pub fn technician(&self) -> crate::technician::TechnicianLink {
        self.technician.clone()
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

