//! The device threads of the controller: the card reader's event stream and
//! the camera thread (preview, auto-capture, page capture and checks, OCR).
//! They talk to the controller only through intake events and screen updates.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use intake::{Event, Message, MessageKind, Thumb, VisitId};
use kiosk_camera::{
    check_page, Advice, AutoCapture, AutoCaptureConfig, DocumentCamera, PageError, PageFingerprint,
    PageProblem,
};
use kiosk_idcard::watch::ReaderEvent;
use kiosk_ocr::OcrPool;

use super::{CamCmd, CameraOpener};
use crate::health::Health;
use crate::update::{record, Sink, Stage, Timings, Update};

/// Turns the reader's event stream into intake events.
pub(crate) fn card_events(rx: Receiver<ReaderEvent>, tx: Sender<Event>, health: Health) {
    for ev in rx {
        health.reader(&ev);
        let event = match ev {
            ReaderEvent::CardPresent => continue,
            ReaderEvent::IdentityRead(identity) => {
                let identity = identity.without_fingerprint();
                let mut text = identity.text.clone();
                // The appended block holds the newer address (追加住址).
                text.address = identity.current_address().clone();
                Event::CardRead(Box::new(text))
            }
            ReaderEvent::ReadFailed(e) => {
                log::warn!("card read failed: {e}");
                Event::CardFailed("未能读取证件，请把证件放平，稍等片刻".into())
            }
            ReaderEvent::Disconnected(e) => {
                log::warn!("card reader disconnected: {e}");
                Event::CardFailed("读卡器未连接，请联系工作人员".into())
            }
            ReaderEvent::CardUid(_) => {
                Event::CardFailed("这台读卡器只能识别卡号，请工作人员协助登记".into())
            }
            ReaderEvent::Connected => Event::CardReaderBack,
            ReaderEvent::CardRemoved => continue,
        };
        if tx.send(event).is_err() {
            break;
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn camera_loop(
    mut open: CameraOpener,
    ocr: OcrPool,
    interval: Duration,
    cmds: Receiver<CamCmd>,
    quit: Arc<AtomicBool>,
    tx: Sender<Event>,
    sink: Sink,
    timings: Option<Timings>,
    health: Health,
) {
    let mut camera: Option<Box<dyn DocumentCamera>> = None;
    // Each page is prepared the way the pool's engine reads best.
    let page_opts = crate::config::page_options(ocr.engine());
    let mut preview = false;
    let mut last_preview = Instant::now()
        .checked_sub(interval)
        .unwrap_or_else(Instant::now);
    // The frame the petitioner is looking at: a capture takes it, so the page
    // registered is the page shown, not whatever the camera sees a moment later.
    let mut shown: Option<(kiosk_camera::Frame, Instant)> = None;
    let fresh_for = (interval * 2).max(Duration::from_millis(250));
    // Auto-capture watches the preview; the page checks compare with this visit's pages.
    let mut auto = AutoCapture::new(AutoCaptureConfig::default());
    let mut last_advice: Option<Advice> = None;
    // The visit whose pages `fingerprints` remembers, and the visit of every
    // page still being recognised.
    let mut fingerprints: Vec<PageFingerprint> = Vec::new();
    let mut fingerprints_of: Option<VisitId> = None;
    // The visit of every page still being recognised, with its JPEG in case
    // recognition finds the page lying turned.
    let mut recognising: HashMap<u32, (VisitId, Vec<u8>)> = HashMap::new();
    while !quit.load(Ordering::SeqCst) {
        while let Some((job, result)) = ocr.try_recv() {
            let page_id = job as u32;
            let Some((visit, jpeg)) = recognising.remove(&page_id) else {
                // Its visit ended while it ran: nobody is waiting for it.
                log::debug!("recognition of page {page_id} finished after its visit");
                continue;
            };
            let mut doubtful = Vec::new();
            let result = match result {
                Ok(text) => {
                    record(&timings, Stage::Ocr, text.duration);
                    if text.rotation_degrees != 0 {
                        turn_upright(&tx, visit, page_id, &jpeg, text.rotation_degrees);
                    }
                    doubtful = text
                        .words
                        .iter()
                        .filter(|w| {
                            w.is_doubtful()
                                && w.text.chars().filter(|c| c.is_alphanumeric()).count() > 1
                        })
                        .map(|w| {
                            let word: String =
                                w.text.chars().filter(|c| c.is_alphanumeric()).collect();
                            kiosk_privacy::PersonalText::new(word)
                        })
                        .collect();
                    Some((
                        kiosk_privacy::PersonalText::new(text.text),
                        text.mean_confidence,
                    ))
                }
                Err(e) => {
                    log::warn!("recognition of page {page_id} failed: {e}");
                    None
                }
            };
            let _ = tx.send(Event::OcrFinished {
                visit,
                page_id,
                result,
                doubtful,
            });
        }
        let wait = if preview && !interval.is_zero() {
            interval
                .saturating_sub(last_preview.elapsed())
                .min(Duration::from_millis(100))
        } else {
            Duration::from_millis(100)
        };
        match cmds.recv_timeout(wait) {
            Ok(CamCmd::Preview(on)) => {
                preview = on;
                shown = None;
                last_advice = None;
            }
            Ok(CamCmd::EndVisit(visit)) => {
                let dropped = ocr.discard(visit.0);
                recognising.retain(|_, (v, _)| *v != visit);
                if fingerprints_of == Some(visit) {
                    fingerprints.clear();
                    fingerprints_of = None;
                }
                if dropped > 0 {
                    log::info!("{dropped} recognitions of an ended visit dropped before they ran");
                }
            }
            Ok(CamCmd::Capture { visit, page_id }) => {
                let started = Instant::now();
                if fingerprints_of != Some(visit) {
                    // The duplicate check compares with this visit's pages only.
                    fingerprints.clear();
                    fingerprints_of = Some(visit);
                }
                let rejected = |kind: MessageKind, reason: &str| Event::PageRejected {
                    visit,
                    page_id,
                    kind,
                    reason: reason.into(),
                };
                let frame = match shown.take() {
                    Some((frame, at)) if preview && at.elapsed() < fresh_for => Ok(frame),
                    _ => grab(&mut open, &mut camera, &health),
                };
                let event = match frame {
                    Err(reason) => rejected(MessageKind::PageRetry, &reason),
                    Ok(frame) => match kiosk_camera::process_page_with(&frame, &page_opts) {
                        Ok(page) => match check_page(&page, &fingerprints) {
                            Some(problem) => rejected(
                                match problem {
                                    PageProblem::Blank => MessageKind::PageBlank,
                                    PageProblem::Duplicate { .. } => MessageKind::PageDuplicate,
                                },
                                problem.prompt_zh(),
                            ),
                            None => {
                                fingerprints.push(page.fingerprint.clone());
                                record(&timings, Stage::Capture, started.elapsed());
                                let (tw, th, rgba) = page.thumb_rgba;
                                recognising.insert(page_id, (visit, page.jpeg.clone()));
                                ocr.submit_in(
                                    visit.0,
                                    u64::from(page_id),
                                    page.gray,
                                    page.width,
                                    page.height,
                                );
                                Event::PageCaptured {
                                    visit,
                                    page_id,
                                    jpeg: page.jpeg,
                                    thumb: Thumb {
                                        width: tw,
                                        height: th,
                                        rgba,
                                    },
                                }
                            }
                        },
                        Err(PageError::NoDocument) => rejected(
                            MessageKind::PlacePage,
                            "没有找到材料，请把材料平放在拍摄区内再拍",
                        ),
                        Err(e) => {
                            log::warn!("page processing failed: {e}");
                            rejected(MessageKind::PageRetry, "这张没拍好，请再拍一次")
                        }
                    },
                };
                let _ = tx.send(event);
                // Show the next page at once.
                last_preview = Instant::now()
                    .checked_sub(interval)
                    .unwrap_or_else(Instant::now);
            }
            Err(RecvTimeoutError::Timeout) => {
                if preview && !interval.is_zero() && last_preview.elapsed() >= interval {
                    last_preview = Instant::now();
                    if let Ok(frame) = grab(&mut open, &mut camera, &health) {
                        let (width, height, rgba) = frame.preview_rgba(960);
                        sink(Update::Preview {
                            width,
                            height,
                            rgba,
                        });
                        let advice = auto.feed(&frame, Instant::now());
                        health.camera_frame(auto.last_focus());
                        if last_advice != Some(advice) {
                            last_advice = Some(advice);
                            let kind = match advice {
                                Advice::HoldStill => MessageKind::HoldStill,
                                Advice::NoPage => MessageKind::PlacePage,
                                _ => MessageKind::Advice,
                            };
                            let advice_text = advice.prompt_zh();
                            let _ = tx.send(Event::CaptureAdvice(Message::new(
                                kind,
                                advice_text,
                                false,
                            )));
                            if advice == Advice::Ready {
                                let _ = tx.send(Event::AutoCaptureReady);
                            }
                        }
                        shown = Some((frame, Instant::now()));
                    }
                }
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
}

/// Sends the upright JPEG and thumbnail of a page recognition found lying
/// turned, so the screen and the upload show it the right way up.
fn turn_upright(tx: &Sender<Event>, visit: VisitId, page_id: u32, jpeg: &[u8], degrees: u16) {
    match kiosk_camera::turn_page(jpeg, degrees, &kiosk_camera::PageOptions::default()) {
        Ok(turned) => {
            let (width, height, rgba) = turned.thumb_rgba;
            let _ = tx.send(Event::PageTurned {
                visit,
                page_id,
                jpeg: turned.jpeg,
                thumb: Thumb {
                    width,
                    height,
                    rgba,
                },
            });
        }
        // The page stays as photographed; its text is upright all the same.
        Err(e) => log::warn!("page {page_id} could not be turned upright: {e}"),
    }
}

/// Grabs one frame, (re)opening the camera when needed; the error is for the screen.
fn grab(
    open: &mut CameraOpener,
    camera: &mut Option<Box<dyn DocumentCamera>>,
    health: &Health,
) -> Result<kiosk_camera::Frame, String> {
    if camera.is_none() {
        match open() {
            Ok(c) => *camera = Some(c),
            Err(e) => {
                log::warn!("camera unavailable: {e:#}");
                health.camera_failed(&format!("{e:#}"));
                return Err("摄像头暂时不可用，请联系工作人员".into());
            }
        }
    }
    let Some(cam) = camera.as_mut() else {
        return Err("摄像头暂时不可用".into());
    };
    match cam.grab() {
        Ok(frame) => Ok(frame),
        Err(e) => {
            log::warn!("camera grab failed: {e}");
            health.camera_failed(&e.to_string());
            *camera = None;
            Err("摄像头暂时不可用，请稍后再拍".to_string())
        }
    }
}
