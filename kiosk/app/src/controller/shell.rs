//! The controller thread: the one inbox, the machine, and the effects
//! carried out on the terminal's parts.
//!
//! Every event reaches the machine through [`Shell::handle`], and every
//! event comes out of the one inbox: the screen's touches, the worker
//! threads' results and the controller's own (a seal's outcome, a printed
//! receipt, a suspected repeat) all go through the same channel.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use intake::{CaseStatus, Effect, Event, Intake, Millis, PastRegistration, Screen};
use kiosk_printer::{Receipt, NEXT_STEP};

use super::terminal::Terminal;
use super::visit::Visit;
use super::{spawn_named, CamCmd};
use crate::registration::{build_upload, found_phone};
use crate::update::{record, Sink, Stage, Update};
use crate::view::{self, ViewModel};

/// The controller thread's state.
pub(super) struct Shell {
    pub machine: Intake,
    /// Everything of the terminal that outlives visits.
    pub terminal: Terminal,
    /// What belongs to the machine's current visit; replaced when it changes.
    pub visit: Visit,
    /// The sending side of the one inbox, for results of work done here and
    /// on short-lived threads.
    pub inbox: Sender<Event>,
    pub sink: Sink,
    pub epoch: Instant,
    pub last_view: Option<ViewModel>,
}

impl Shell {
    pub fn run(mut self, rx: Receiver<Event>, quit: Arc<AtomicBool>) {
        self.publish();
        while !quit.load(Ordering::SeqCst) {
            // The level meter moves while the microphone is on.
            let wait = if self.visit.recording.is_some() { 100 } else { 250 };
            let event = match rx.recv_timeout(Duration::from_millis(wait)) {
                Ok(e) => e,
                Err(RecvTimeoutError::Timeout) => Event::Tick,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            self.handle(event);
            self.drive_voice();
            self.publish();
            self.drive_printer();
            self.drive_update();
            // The printer's state is asked on the technician screen, and
            // between visits (never during one, so a receipt never waits behind it).
            let screen = self.machine.screen();
            if matches!(screen, Screen::Technician | Screen::Welcome) {
                let technician = screen == Screen::Technician;
                let t = &mut self.terminal;
                t.tech.query_printer(t.printer.as_ref(), technician);
            }
        }
    }

    /// Installs a fetched update in the install window, on the welcome
    /// screen only; the terminal shows that it updates meanwhile, and is
    /// back in service if the install fails.
    fn drive_update(&mut self) {
        let idle = self.machine.screen() == Screen::Welcome;
        // A stick's update the technician confirmed is being installed by
        // root: once the technician leaves the screen, no visit may start.
        match self.terminal.tech.stick_update_installing() {
            Some(Ok(v)) => {
                if idle {
                    self.post(Event::DeviceFault(format!(
                        "正在更新终端软件（{v}），完成后自动重启，请稍候"
                    )));
                }
                return;
            }
            Some(Err(())) => {
                if self.machine.screen() == Screen::Fault {
                    self.post(Event::Done);
                }
                return;
            }
            None => {}
        }
        let now = chrono::Local::now().time();
        match self.terminal.installer.poll(now, idle) {
            crate::software_update::InstallStep::Nothing => {}
            crate::software_update::InstallStep::Started(v) => self.post(Event::DeviceFault(format!(
                "正在更新终端软件（{v}），完成后自动重启，请稍候"
            ))),
            crate::software_update::InstallStep::Failed(_) => self.post(Event::Done),
        }
    }

    fn now(&self) -> Millis {
        Millis(self.epoch.elapsed().as_millis() as u64)
    }

    /// Puts an event in the inbox, behind those already there.
    pub(super) fn post(&self, event: Event) {
        let _ = self.inbox.send(event);
    }

    /// One event from the inbox: the input method's part, the machine, the effects.
    fn handle(&mut self, event: Event) {
        let mut card_at = None;
        match &event {
            Event::CardRead(_) => {
                // From asking the reader for a card to the identity: the read as the
                // visitor waits for it; the total runs from the same moment.
                let since = self.terminal.polling_since.take();
                if let Some(since) = since {
                    record(&self.terminal.timings, Stage::CardRead, since.elapsed());
                }
                card_at = Some(since.unwrap_or_else(Instant::now));
            }
            Event::Acknowledged {
                local_ref,
                case_number,
            } => {
                if let Some((receipt, _)) = &mut self.visit.to_print {
                    if receipt.local_reference == *local_ref {
                        receipt.case_number = Some(case_number.clone());
                    }
                }
                if let Some((card_at, sealed_at)) = self.terminal.sealed.remove(local_ref) {
                    let timings = &self.terminal.timings;
                    record(timings, Stage::Upload, sealed_at.elapsed());
                    if let Some(card_at) = card_at {
                        record(timings, Stage::Total, card_at.elapsed());
                    }
                }
            }
            _ => {}
        }
        let now = self.now();
        let mut effects = Vec::new();
        // The keyboard's keys become the description the machine keeps.
        if let Some(text) = self.visit.typing.before(&event, &self.machine) {
            effects.extend(self.machine.handle(Event::DescriptionEdited(text), now));
        }
        effects.extend(self.machine.handle(event, now));
        self.follow_visit();
        if card_at.is_some() && self.machine.session().is_some() {
            self.visit.card_at = card_at;
        }
        for effect in effects {
            self.perform(effect);
        }
        self.keep_lockout(now);
    }

    /// Saves the staff PIN lockout whenever it changed, so a restart keeps it.
    fn keep_lockout(&mut self, now: Millis) {
        let current = self.machine.lockout();
        if *current == self.terminal.saved_lockout {
            return;
        }
        let t = &mut self.terminal;
        match crate::lockout::save(&t.lockout_path, current, now, std::time::SystemTime::now()) {
            Ok(()) => t.saved_lockout = current.clone(),
            Err(e) => log::error!("cannot save the staff lockout: {e}"),
        }
    }

    /// A new visit gets a new [`Visit`]; the old one is dropped with
    /// everything it held, but for a receipt still waiting for its case
    /// number, which is printed now.
    fn follow_visit(&mut self) {
        let id = self.machine.visit();
        if self.visit.id == id {
            return;
        }
        let mut ended = std::mem::replace(&mut self.visit, Visit::new(id));
        if let Some((receipt, _)) = ended.to_print.take() {
            self.print_receipt(receipt);
        }
    }

    fn publish(&mut self) {
        let mut v = view::build(&self.machine, self.now());
        if let (Screen::Review, Some(s)) = (self.machine.screen(), self.machine.session()) {
            let top = self.visit.suggestion(&self.terminal.classifier, s);
            v.suggestion = view::suggestion_text(top, &view::review_notes(&s.pages));
            let category = top.map(|t| t.category.clone());
            if let Some(event) =
                self.visit
                    .check_repeat(&self.terminal.terminal_secret, s, category)
            {
                self.post(event);
            }
        }
        if self.machine.screen() == Screen::Phone {
            if let Some(digits) = self.machine.session().and_then(|s| found_phone(&s.pages)) {
                v.found_phone_masked = intake::phone::masked(&digits);
                v.found_phone = digits;
            }
        }
        self.visit.typing.show(&self.machine, &mut v);
        self.show_voice(&mut v);
        if self.last_view.as_ref() != Some(&v) {
            (self.sink)(Update::View(Box::new(v.clone())));
            self.last_view = Some(v);
        }
        let t = &mut self.terminal;
        t.tech.poll();
        let technician = self.machine.screen() == Screen::Technician
            && self.machine.staff() == Some(intake::StaffRole::Technician);
        t.tech.take_confirmations(technician);
        t.tech.take_update_confirmations(technician);
        if self.machine.screen() == Screen::Technician {
            if t.tech.ping_due() {
                t.uplink.ping();
            }
            if let Some(view) = t.tech.view(&t.queue, t.uplink.contact()) {
                (self.sink)(Update::Technician(Box::new(view)));
            }
        } else {
            t.tech.reset();
        }
    }

    /// The voice note's live part of the view: whether a microphone is
    /// there, the level and time while recording, a note playing.
    fn show_voice(&self, v: &mut ViewModel) {
        let Some(capture) = &self.terminal.capture else {
            return;
        };
        v.voice_available = true;
        v.voice_limit = view::minutes_seconds(u64::from(capture.max_seconds));
        if let Some(r) = &self.visit.recording {
            v.voice_level = (r.level().clamp(0.0, 1.0) * 100.0).round() as i32;
            v.voice_time = view::minutes_seconds(r.elapsed().as_secs());
        }
        v.voice_playing = self.visit.playing.is_some();
    }

    /// Ends a recording that stopped by itself (the length limit, a failed
    /// microphone) or whose screen was left, and forgets a note that
    /// finished playing.
    fn drive_voice(&mut self) {
        let left = self.machine.screen() != Screen::Describe;
        if self
            .visit
            .recording
            .as_ref()
            .is_some_and(|r| left || r.is_finished())
        {
            self.finish_recording(self.visit.id);
        }
        if let Some(p) = &mut self.visit.playing {
            if p.poll().is_some() {
                self.visit.playing = None;
            }
        }
    }

    /// Stops the microphone and trims and encodes the note on a thread of
    /// its own; the note (or why there is none) comes back for `visit`.
    fn finish_recording(&mut self, visit: intake::VisitId) {
        if self.visit.id != visit {
            return;
        }
        let Some(recording) = self.visit.recording.take() else {
            return;
        };
        let inbox = self.inbox.clone();
        let spawned = std::thread::Builder::new()
            .name("voice-note".into())
            .spawn(move || {
                let event = match recording.stop() {
                    Ok(note) => Event::VoiceRecorded {
                        visit,
                        note: intake::VoiceNote {
                            duration_ms: note.duration_ms,
                            ogg_opus: note.ogg_opus,
                        },
                    },
                    Err(kiosk_voice::VoiceError::NoSpeech) => Event::VoiceRefused {
                        visit,
                        no_speech: true,
                    },
                    Err(e) => {
                        log::warn!("voice note not recorded: {e}");
                        Event::VoiceRefused {
                            visit,
                            no_speech: false,
                        }
                    }
                };
                let _ = inbox.send(event);
            });
        if let Err(e) = spawned {
            log::error!("cannot finish the voice note: {e}");
            self.post(Event::VoiceRefused {
                visit,
                no_speech: false,
            });
        }
    }

    fn perform(&mut self, effect: Effect) {
        match effect {
            Effect::StartRecording { visit } => {
                if let Some(p) = self.visit.playing.take() {
                    p.stop();
                }
                let started = match &self.terminal.capture {
                    Some(cfg) if self.visit.id == visit => {
                        kiosk_voice::Recorder::start(cfg).map_err(|e| e.to_string())
                    }
                    Some(_) => return,
                    None => Err("no microphone configured (voice.capture_device)".into()),
                };
                match started {
                    Ok(r) => self.visit.recording = Some(r),
                    Err(e) => {
                        log::warn!("voice note: cannot record: {e}");
                        self.post(Event::VoiceRefused {
                            visit,
                            no_speech: false,
                        });
                    }
                }
            }
            Effect::StopRecording { visit } => self.finish_recording(visit),
            Effect::PlayVoice { visit, note } => {
                if self.visit.id != visit {
                    return;
                }
                // "播放" again while it plays ("停止播放") stops it.
                if let Some(p) = self.visit.playing.take() {
                    p.stop();
                    return;
                }
                let note = kiosk_voice::VoiceNote {
                    ogg_opus: note.ogg_opus,
                    duration_ms: note.duration_ms,
                };
                match kiosk_voice::Playing::start_note(&self.terminal.note_player, &note) {
                    Ok(p) => self.visit.playing = Some(p),
                    Err(e) => log::warn!("voice note not played: {e}"),
                }
            }
            Effect::StopVoice { visit } => {
                if self.visit.id == visit {
                    if let Some(p) = self.visit.playing.take() {
                        p.stop();
                    }
                }
            }
            Effect::PollCard(on) => {
                let t = &mut self.terminal;
                t.polling_since = on.then(Instant::now);
                if on {
                    // Below the disk-space floor no new visit starts (the queue stays intact).
                    if let Err(e @ kiosk_queue::QueueError::LowDiskSpace { .. }) =
                        t.queue.check_space()
                    {
                        log::error!("intake refused: {e}");
                        self.post(Event::DeviceFault(view::seal_failure_text(&e).into()));
                    }
                    // A new visit: a card still lying on the reader is read again.
                    self.terminal.watcher.rearm();
                }
                self.terminal.watcher.set_active(on);
            }
            Effect::Preview(on) => {
                let _ = self.terminal.cam.send(CamCmd::Preview(on));
            }
            Effect::CapturePage { visit, page_id } => {
                if self
                    .terminal
                    .cam
                    .send(CamCmd::Capture { visit, page_id })
                    .is_err()
                {
                    self.post(Event::DeviceFault("摄像头不可用".into()));
                }
            }
            Effect::EndVisit(visit) => {
                let _ = self.terminal.cam.send(CamCmd::EndVisit(visit));
            }
            Effect::FetchHistory {
                visit,
                id_number,
                identity_typed,
            } => self.fetch_history(visit, id_number, identity_typed),
            Effect::ExportDiagnostics => {
                let t = &mut self.terminal;
                t.tech.export(&t.queue, t.uplink.contact());
            }
            Effect::TestPrint => {
                let tag = self.terminal.print_tag();
                let t = &mut self.terminal;
                t.tech.test_print(t.printer.as_ref(), tag);
            }
            Effect::Seal { visit, request } => self.seal(visit, *request),
            Effect::CheckPin { visit, pin } => {
                // Argon2 takes a moment: off the controller thread.
                let (staff, tx) = (self.terminal.staff.clone(), self.inbox.clone());
                let spawned = spawn_named("pin", move || {
                    let role = crate::staff::check_pin(&staff, &pin);
                    log::info!(
                        "staff login: {}",
                        if role.is_some() {
                            "accepted"
                        } else {
                            "refused"
                        }
                    );
                    let _ = tx.send(Event::PinChecked { visit, role });
                });
                if spawned.is_err() {
                    self.post(Event::PinChecked { visit, role: None });
                }
            }
            Effect::LoadQueue { visit } => match crate::staff::queue_rows(&self.terminal.queue) {
                Ok(rows) => self.post(Event::QueueLoaded { visit, rows }),
                Err(e) => log::error!("queue view: {e}"),
            },
            Effect::Resend(local_ref) => match self.terminal.queue.resend(&local_ref) {
                Ok(true) => {
                    log::info!("clerk put {local_ref} back in line");
                    self.terminal.uplink.wake();
                }
                Ok(false) => log::warn!("resend {local_ref}: not a failed registration"),
                Err(e) => log::error!("resend {local_ref}: {e}"),
            },
            Effect::SealRating { visit, request } => {
                let t = &self.terminal;
                let event = match crate::rating::queue_rating(&t.queue, &request) {
                    Ok(()) => {
                        log::info!("rating of {} queued", request.case_number);
                        t.uplink.wake();
                        Event::RatingSealed {
                            visit,
                            case_number: request.case_number.clone(),
                        }
                    }
                    Err(e) => {
                        log::error!("queuing a rating failed: {e}");
                        Event::RatingSealFailed {
                            visit,
                            reason: view::seal_failure_text(&e).into(),
                        }
                    }
                };
                self.post(event);
            }
            Effect::PrintNotice {
                visit,
                case_number,
                notice,
            } => self.print_notice(visit, case_number, notice),
            Effect::Reprint(local_ref) => match self.terminal.queue.receipt(&local_ref) {
                Ok(Some(r)) => {
                    log::info!("clerk reprints the receipt of {local_ref}");
                    let t = &self.terminal;
                    let receipt = crate::staff::receipt_for(&r, &t.terminal_id, &t.hall_name);
                    self.print_receipt(receipt);
                }
                Ok(None) => log::warn!("reprint {local_ref}: not in the queue"),
                Err(e) => log::error!("reprint {local_ref}: {e}"),
            },
        }
    }

    /// Asks the registry on a short-lived thread; the answer names the visit.
    /// `typed`: a clerk typed the identity (the registry audits it so).
    fn fetch_history(&self, visit: intake::VisitId, id: kiosk_privacy::IdNumber, typed: bool) {
        let t = &self.terminal;
        let (uplink, tx, timeout) = (t.uplink.clone(), self.inbox.clone(), t.history_timeout);
        let spawned = spawn_named("history", move || {
            let event = match uplink.history_blocking(&id, typed, timeout) {
                Ok(reply) => Event::HistoryLoaded {
                    visit,
                    rows: reply
                        .registrations
                        .into_iter()
                        .map(|r| PastRegistration {
                            status: r.status.parse().unwrap_or_else(|_| {
                                log::warn!(
                                    "unknown case status from the registry; shown as registered"
                                );
                                CaseStatus::Registered
                            }),
                            case_number: r.case_number,
                            registered_at: r.registered_at,
                            category: r.category,
                            rating: r.rating,
                            notices: r
                                .notices
                                .into_iter()
                                .map(|n| intake::CaseNotice {
                                    title: n.title,
                                    issued_at: n.issued_at,
                                    text: n.text,
                                })
                                .collect(),
                        })
                        .collect(),
                },
                Err(kiosk_uplink::UplinkError::Server { status: 429 }) => {
                    log::warn!("history lookup refused: too many from this terminal");
                    Event::HistoryLimited { visit }
                }
                Err(e) => {
                    log::warn!("history unavailable: {e}");
                    Event::HistoryUnavailable { visit }
                }
            };
            let _ = tx.send(event);
        });
        if spawned.is_err() {
            self.post(Event::HistoryUnavailable { visit });
        }
    }

    /// Commits the registration to the queue; only then is it reported sealed.
    fn seal(&mut self, visit: intake::VisitId, req: intake::SealRequest) {
        let started = Instant::now();
        let category = req.category.label.to_string();
        let page_count = req.pages.len() as u32;
        let voice_notes = u32::from(req.voice_note.is_some());
        let id_number_masked = req.identity.id_number.masked();
        let t = &mut self.terminal;
        let upload = build_upload(&t.terminal_id, req);
        match t.queue.seal(&upload) {
            Ok(receipt) => {
                record(&t.timings, Stage::Seal, started.elapsed());
                log::info!(
                    "sealed registration {} ({} pages)",
                    receipt.local_ref,
                    receipt.page_count
                );
                t.sealed.insert(
                    receipt.local_ref.clone(),
                    (self.visit.card_at.take(), Instant::now()),
                );
                t.uplink.wake();
                self.visit.to_print = Some((
                    Receipt {
                        terminal_id: t.terminal_id.clone(),
                        hall_name: t.hall_name.clone(),
                        registered_at: chrono::Local::now().naive_local(),
                        case_number: None,
                        local_reference: receipt.local_ref.clone(),
                        category,
                        page_count,
                        voice_notes,
                        id_number_masked,
                        // The local reference is what the progress query asks by: never the ID number.
                        query_code: receipt.local_ref.clone(),
                        next_step: NEXT_STEP.into(),
                    },
                    Instant::now(),
                ));
                self.post(Event::Sealed {
                    visit,
                    local_ref: receipt.local_ref.clone(),
                });
                self.issue_ticket(&receipt.local_ref);
            }
            Err(e) => {
                log::error!("sealing failed: {e}");
                self.post(Event::SealFailed {
                    visit,
                    reason: view::seal_failure_text(&e).into(),
                });
            }
        }
    }
}
