//! The terminal's health: what the technician screen shows and the
//! diagnostics bundle records.
//!
//! [`Health`] is the live record the worker threads write as things happen
//! (the card reader's events, each preview frame with its focus measure, every
//! printer answer); each write is one short lock, so the petitioner's flow
//! never waits on it. [`Health::snapshot`] adds what is read on demand (queue
//! counts, free disk space, the registry contact record of the uplink, the
//! configuration) and gives a [`HealthSnapshot`]: plain data, serialised to
//! JSON for the bundle, and turned into the screen's rows by [`rows`].
//!
//! Nothing personal is recorded: states, times, counts and error texts that
//! went through `kiosk_privacy::redact`.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kiosk_idcard::watch::ReaderEvent;
use kiosk_printer::{PrintOutcome, PrintReport, PrinterError, PrinterStatus};
use serde::Serialize;

use crate::config::{CardTransport, Config};

/// A frame older than this while the preview runs means the camera stalled.
const STALE_FRAME: Duration = Duration::from_secs(5);
/// A clock further off than this from the registry's is flagged.
const CLOCK_TOLERANCE_S: f64 = 60.0;
/// An unsent registration older than this is flagged.
const OLD_UNSENT: Duration = Duration::from_secs(3600);

/// The printer's state in the heartbeat's words: what stops printing first.
fn printer_report(s: &PrinterStatus) -> registry_api::PrinterReport {
    use registry_api::PrinterReport as R;
    if s.paper_out {
        R::PaperOut
    } else if s.error {
        R::Error
    } else if s.offline || s.cover_open {
        R::Offline
    } else if s.paper_near_end {
        R::PaperLow
    } else {
        R::Ok
    }
}

/// The live record, shared by the worker threads.
#[derive(Debug, Clone, Default)]
pub struct Health(Arc<Mutex<Live>>, kiosk_uplink::PrinterSlot);

#[derive(Debug, Default)]
struct Live {
    reader_connected: Option<bool>,
    reader_error: Option<String>,
    camera_open: Option<bool>,
    camera_frame_at: Option<Instant>,
    camera_focus: Option<f64>,
    camera_error: Option<String>,
    printer: Option<Result<PrinterStatus, String>>,
    printer_at: Option<Instant>,
}

/// Everything the technician sees, as data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthSnapshot {
    /// When the snapshot was taken (RFC 3339, terminal clock).
    pub taken_at: String,
    pub software: SoftwareHealth,
    pub reader: ReaderHealth,
    pub camera: CameraHealth,
    pub printer: PrinterHealth,
    pub registry: RegistryHealth,
    pub queue: QueueHealth,
    pub disk: DiskHealth,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SoftwareHealth {
    pub version: String,
    pub terminal_id: String,
    pub hall_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReaderHealth {
    /// `None` until the reader thread has reported.
    pub connected: Option<bool>,
    /// `serial` or `pcsc`.
    pub transport: String,
    /// The device (udev link resolved) or the PC/SC reader name.
    pub device: String,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CameraHealth {
    /// `None` until the camera thread has tried to open it.
    pub open: Option<bool>,
    pub last_frame_age_ms: Option<u64>,
    /// Variance of the Laplacian on the page of the last preview frame (no page: `None`).
    pub focus: Option<f64>,
    /// The auto-capture's threshold of a sharp page.
    pub min_focus: f64,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrinterHealth {
    pub enabled: bool,
    /// `None` until the printer was asked.
    pub present: Option<bool>,
    /// `ok`, `near_end`, `out` or `unknown`.
    pub paper: String,
    pub cover_open: bool,
    pub offline_or_error: bool,
    pub last_error: Option<String>,
    pub checked_age_s: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegistryHealth {
    pub url: String,
    /// `None` when this process has no uplink (the command line).
    pub reachable: Option<bool>,
    pub last_ok_age_s: Option<u64>,
    pub last_error_kind: Option<String>,
    pub last_error_age_s: Option<u64>,
    /// Registry clock minus terminal clock, seconds.
    pub clock_offset_s: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueHealth {
    /// `None` when the queue could not be read.
    pub pending: Option<u64>,
    pub uploading: Option<u64>,
    pub acknowledged: Option<u64>,
    pub failed: Option<u64>,
    pub oldest_unsent_age_s: Option<u64>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiskHealth {
    pub free_mb: Option<u64>,
    pub floor_mb: u64,
}

/// What [`Health::snapshot`] reads besides the live record.
#[derive(Debug)]
pub struct Sources<'a> {
    pub cfg: &'a Config,
    /// The queue, when it can be opened.
    pub queue: Option<&'a kiosk_queue::Queue>,
    /// The uplink's record of the registry, when this process runs one.
    pub contact: Option<kiosk_uplink::Contact>,
}

impl Health {
    fn update(&self, f: impl FnOnce(&mut Live)) {
        if let Ok(mut live) = self.0.lock() {
            f(&mut live);
        }
    }

    /// Records an event of the card reader's watcher.
    pub fn reader(&self, ev: &ReaderEvent) {
        let (connected, error) = match ev {
            ReaderEvent::Connected => (true, None),
            ReaderEvent::Disconnected(e) => (false, Some(kiosk_privacy::redact(&e.to_string()))),
            ReaderEvent::ReadFailed(e) => (
                true,
                Some(format!(
                    "read failed: {}",
                    kiosk_privacy::redact(&e.to_string())
                )),
            ),
            // A card read is proof the reader works; an earlier error no longer holds.
            _ => (true, None),
        };
        self.update(|l| {
            l.reader_connected = Some(connected);
            l.reader_error = error;
        });
    }

    /// Records a preview frame and the focus measure of the page on it.
    pub fn camera_frame(&self, focus: Option<f64>) {
        self.update(|l| {
            l.camera_open = Some(true);
            l.camera_frame_at = Some(Instant::now());
            l.camera_focus = focus;
            l.camera_error = None;
        });
    }

    /// Records that the camera could not be opened or read.
    pub fn camera_failed(&self, error: &str) {
        let error = kiosk_privacy::redact(error);
        self.update(|l| {
            l.camera_open = Some(false);
            l.camera_error = Some(error);
        });
    }

    /// Records what a printer report says about the printer.
    pub fn printer(&self, report: &PrintReport) {
        let state = match report {
            PrintReport::Status(Ok(s)) => Ok(*s),
            PrintReport::Printed {
                result: Ok(PrintOutcome::Printed { status } | PrintOutcome::Interrupted { status }),
                ..
            } => Ok(*status),
            PrintReport::Status(Err(e)) | PrintReport::Printed { result: Err(e), .. } => match e {
                PrinterError::NotReady(s) => Ok(*s),
                e => Err(kiosk_privacy::redact(&e.to_string())),
            },
        };
        self.1.set(Some(match &state {
            Ok(s) => printer_report(s),
            // No answer (unplugged, wrong port): the fleet page says offline.
            Err(_) => registry_api::PrinterReport::Offline,
        }));
        self.update(|l| {
            l.printer = Some(state);
            l.printer_at = Some(Instant::now());
        });
    }

    /// The printer's state as the heartbeat carries it, kept up to date by [`Health::printer`].
    pub fn printer_slot(&self) -> kiosk_uplink::PrinterSlot {
        self.1.clone()
    }

    /// The live record plus what `src` reads now.
    pub fn snapshot(&self, src: &Sources<'_>) -> HealthSnapshot {
        let cfg = src.cfg;
        let live = match self.0.lock() {
            Ok(l) => Live {
                reader_connected: l.reader_connected,
                reader_error: l.reader_error.clone(),
                camera_open: l.camera_open,
                camera_frame_at: l.camera_frame_at,
                camera_focus: l.camera_focus,
                camera_error: l.camera_error.clone(),
                printer: l.printer.clone(),
                printer_at: l.printer_at,
            },
            Err(_) => Live::default(),
        };
        let (transport, device) = match cfg.idcard.transport {
            CardTransport::Serial => ("serial", resolved(&cfg.idcard.device)),
            CardTransport::Pcsc => ("pcsc", cfg.idcard.pcsc_reader.clone()),
        };
        let printer = match &live.printer {
            None => PrinterHealth {
                enabled: cfg.printer.enabled,
                present: None,
                paper: "unknown".into(),
                cover_open: false,
                offline_or_error: false,
                last_error: None,
                checked_age_s: None,
            },
            Some(state) => {
                let (present, status, error) = match state {
                    Ok(s) => (true, Some(*s), None),
                    Err(e) => (false, None, Some(e.clone())),
                };
                PrinterHealth {
                    enabled: cfg.printer.enabled,
                    present: Some(present),
                    paper: match status {
                        Some(s) if s.paper_out => "out",
                        Some(s) if s.paper_near_end => "near_end",
                        Some(_) => "ok",
                        None => "unknown",
                    }
                    .into(),
                    cover_open: status.is_some_and(|s| s.cover_open),
                    offline_or_error: status.is_some_and(|s| s.offline || s.error),
                    last_error: error,
                    checked_age_s: live.printer_at.map(|t| t.elapsed().as_secs()),
                }
            }
        };
        let now = chrono::Utc::now();
        let age = |t: chrono::DateTime<chrono::Utc>| (now - t).num_seconds().max(0) as u64;
        let registry = RegistryHealth {
            url: cfg.registry.url.clone(),
            reachable: src.contact.as_ref().map(|c| c.reachable()),
            last_ok_age_s: src.contact.as_ref().and_then(|c| c.last_ok).map(age),
            last_error_kind: src
                .contact
                .as_ref()
                .and_then(|c| c.last_error)
                .map(|(_, k)| k.to_string()),
            last_error_age_s: src
                .contact
                .as_ref()
                .and_then(|c| c.last_error)
                .map(|(t, _)| age(t)),
            clock_offset_s: src
                .contact
                .as_ref()
                .and_then(|c| c.clock_offset_ms)
                .map(|ms| ms as f64 / 1000.0),
        };
        let mut queue = QueueHealth {
            pending: None,
            uploading: None,
            acknowledged: None,
            failed: None,
            oldest_unsent_age_s: None,
            error: None,
        };
        let mut free_mb = None;
        match src.queue {
            None => queue.error = Some("queue not open".into()),
            Some(q) => {
                match q.summary(now) {
                    Ok(s) => {
                        queue.pending = Some(s.counts.pending);
                        queue.uploading = Some(s.counts.uploading);
                        queue.acknowledged = Some(s.counts.acknowledged);
                        queue.failed = Some(s.counts.failed);
                        queue.oldest_unsent_age_s = s.oldest_unsent_age.map(|d| d.as_secs());
                    }
                    Err(e) => queue.error = Some(kiosk_privacy::redact(&e.to_string())),
                }
                free_mb = q.free_bytes().ok().map(|b| b / (1024 * 1024));
            }
        }
        HealthSnapshot {
            taken_at: chrono::Local::now().to_rfc3339(),
            software: SoftwareHealth {
                version: crate::update_stick::software_version(),
                terminal_id: cfg.terminal.id.clone(),
                hall_name: cfg.terminal.hall_name.clone(),
            },
            reader: ReaderHealth {
                connected: live.reader_connected,
                transport: transport.into(),
                device,
                last_error: live.reader_error,
            },
            camera: CameraHealth {
                open: live.camera_open,
                last_frame_age_ms: live
                    .camera_frame_at
                    .map(|t| t.elapsed().as_millis().min(u64::MAX as u128) as u64),
                focus: live.camera_focus.map(|f| f.round()),
                min_focus: kiosk_camera::AutoCaptureConfig::default().min_focus,
                last_error: live.camera_error,
            },
            printer,
            registry,
            queue,
            disk: DiskHealth {
                free_mb,
                floor_mb: cfg.queue.min_free_mb,
            },
        }
    }
}

/// The device path with its udev link resolved (`/dev/kiosk/idcard` → `/dev/ttyUSB0`).
fn resolved(path: &Path) -> String {
    match std::fs::canonicalize(path) {
        Ok(real) if real != path => real.display().to_string(),
        _ => path.display().to_string(),
    }
}

/// How a row is marked on the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mark {
    /// Green: works.
    Ok,
    /// Amber: works, but look at it soon (or not known yet).
    Warn,
    /// Red: does not work.
    Bad,
}

/// One line of the technician screen, such as "读卡器：已连接（串口 /dev/ttyUSB0）".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    pub mark: Mark,
    pub text: String,
}

fn row(mark: Mark, text: String) -> StatusRow {
    StatusRow { mark, text }
}

/// "刚刚", "12 秒前", "5 分钟前", "3 小时前", "2 天前".
pub fn ago_zh(secs: u64) -> String {
    match secs {
        0..=4 => "刚刚".into(),
        5..=119 => format!("{secs} 秒前"),
        120..=7199 => format!("{} 分钟前", secs / 60),
        7200..=172_799 => format!("{} 小时前", secs / 3600),
        _ => format!("{} 天前", secs / 86_400),
    }
}

/// A duration in plain words: "40 秒", "12 分钟", "3 小时", "2 天".
fn span_zh(secs: u64) -> String {
    match secs {
        0..=119 => format!("{secs} 秒"),
        120..=7199 => format!("{} 分钟", secs / 60),
        7200..=172_799 => format!("{} 小时", secs / 3600),
        _ => format!("{} 天", secs / 86_400),
    }
}

fn error_kind_zh(kind: &str) -> &'static str {
    match kind {
        "network" => "网络不通",
        "timeout" => "应答超时",
        "unauthorized" => "终端令牌被拒绝",
        "rejected" => "请求被拒绝",
        "server" => "登记系统故障",
        "bad_reply" => "应答异常（可能被网关拦截）",
        _ => "其他错误",
    }
}

/// The technician screen's line about updates, when there is news.
pub fn update_row(slot: &kiosk_uplink::UpdateSlot, running: &str) -> Option<StatusRow> {
    let r = slot.report()?;
    let v = &r.target_version;
    Some(match r.state {
        registry_api::UpdateState::Downloading => StatusRow {
            mark: Mark::Ok,
            text: format!("软件更新：正在下载 {v}（当前 {running}）"),
        },
        registry_api::UpdateState::Ready => StatusRow {
            mark: Mark::Ok,
            text: format!("软件更新：{v} 已下载，将在安装时段自动安装"),
        },
        registry_api::UpdateState::FellBack => StatusRow {
            mark: Mark::Bad,
            text: format!("软件更新：更新到 {v} 失败，已自动回到 {running}"),
        },
        registry_api::UpdateState::Failed => StatusRow {
            mark: Mark::Bad,
            text: format!("软件更新：{v} 被拒绝或无法安装（仍为 {running}）"),
        },
    })
}

/// The screen's rows, in the order a technician checks them.
pub fn rows(s: &HealthSnapshot) -> Vec<StatusRow> {
    let mut out = Vec::new();

    let r = &s.reader;
    let how = match r.transport.as_str() {
        "pcsc" if r.device.is_empty() => "PC/SC".to_string(),
        "pcsc" => format!("PC/SC {}", r.device),
        _ => format!("串口 {}", r.device),
    };
    out.push(match (r.connected, &r.last_error) {
        (Some(true), None) => row(Mark::Ok, format!("读卡器：已连接（{how}）")),
        (Some(true), Some(e)) => row(
            Mark::Warn,
            format!("读卡器：已连接（{how}），上次读卡失败：{e}"),
        ),
        (Some(false), e) => row(
            Mark::Bad,
            format!(
                "读卡器：未连接（{how}）{}",
                e.as_deref().map(|e| format!("：{e}")).unwrap_or_default()
            ),
        ),
        (None, _) => row(Mark::Warn, format!("读卡器：状态未知（{how}）")),
    });

    let c = &s.camera;
    out.push(match (c.open, c.last_frame_age_ms) {
        (Some(false), _) => row(
            Mark::Bad,
            format!(
                "摄像头：打不开{}",
                c.last_error
                    .as_deref()
                    .map(|e| format!("：{e}"))
                    .unwrap_or_default()
            ),
        ),
        (_, Some(ms)) if ms > STALE_FRAME.as_millis() as u64 => row(
            Mark::Warn,
            format!("摄像头：画面停止（最后一帧 {}）", ago_zh(ms / 1000)),
        ),
        (Some(true), Some(_)) => match c.focus {
            Some(f) if f >= c.min_focus => row(
                Mark::Ok,
                format!("摄像头：正常，清晰度 {f:.0}（合格线 {:.0}）", c.min_focus),
            ),
            Some(f) => row(
                Mark::Warn,
                format!(
                    "摄像头：画面模糊，清晰度 {f:.0}（合格线 {:.0}），请检查对焦",
                    c.min_focus
                ),
            ),
            None => row(Mark::Ok, "摄像头：正常（放一页材料可测清晰度）".into()),
        },
        _ => row(Mark::Warn, "摄像头：尚无画面".into()),
    });

    let p = &s.printer;
    out.push(if !p.enabled {
        row(Mark::Warn, "打印机：未启用（回执只显示在屏幕上）".into())
    } else {
        match p.present {
            None => row(Mark::Warn, "打印机：尚未检测".into()),
            Some(false) => row(
                Mark::Bad,
                format!(
                    "打印机：未连接{}",
                    p.last_error
                        .as_deref()
                        .map(|e| format!("（{e}）"))
                        .unwrap_or_default()
                ),
            ),
            Some(true) if p.paper == "out" => row(Mark::Bad, "打印机：缺纸".into()),
            Some(true) if p.cover_open => row(Mark::Bad, "打印机：纸仓盖未关好".into()),
            Some(true) if p.offline_or_error => row(Mark::Bad, "打印机：故障或脱机".into()),
            Some(true) if p.paper == "near_end" => row(Mark::Warn, "打印机：纸将用完".into()),
            Some(true) => row(Mark::Ok, "打印机：正常，有纸".into()),
        }
    });

    let g = &s.registry;
    let clock = g.clock_offset_s.map(|off| {
        let shown = if off.abs() < 1.0 {
            "时钟一致".to_string()
        } else if off > 0.0 {
            format!("本机时钟慢 {}", span_zh(off.abs().round() as u64))
        } else {
            format!("本机时钟快 {}", span_zh(off.abs().round() as u64))
        };
        (shown, off.abs() > CLOCK_TOLERANCE_S)
    });
    out.push(match g.reachable {
        None => row(Mark::Warn, "登记系统：本命令不联网检查".into()),
        Some(true) => {
            let when = g.last_ok_age_s.map(ago_zh).unwrap_or_default();
            match &clock {
                Some((c, true)) => row(
                    Mark::Warn,
                    format!("登记系统：已连接（{when}），{c}，请校时"),
                ),
                Some((c, false)) => row(Mark::Ok, format!("登记系统：已连接（{when}），{c}")),
                None => row(Mark::Ok, format!("登记系统：已连接（{when}）")),
            }
        }
        Some(false) => {
            let why = g
                .last_error_kind
                .as_deref()
                .map(error_kind_zh)
                .unwrap_or("尚未联系");
            let last = match g.last_ok_age_s {
                Some(s) => format!("，上次成功 {}", ago_zh(s)),
                None => "，从未连通".into(),
            };
            row(Mark::Bad, format!("登记系统：无法连接（{why}{last}）"))
        }
    });

    let q = &s.queue;
    out.push(match (q.pending, q.uploading, q.failed) {
        (Some(p), Some(u), Some(f)) => {
            let depth = p + u;
            let oldest = q
                .oldest_unsent_age_s
                .map(|a| format!("，最早一条等了 {}", span_zh(a)))
                .unwrap_or_default();
            let failed = if f > 0 {
                format!("；{f} 条失败待处理（kiosk queue）")
            } else {
                String::new()
            };
            let old = q
                .oldest_unsent_age_s
                .is_some_and(|a| a > OLD_UNSENT.as_secs());
            let mark = if f > 0 || old { Mark::Warn } else { Mark::Ok };
            if depth == 0 {
                row(mark, format!("待发队列：全部已发送{failed}"))
            } else {
                row(mark, format!("待发队列：{depth} 条待发送{oldest}{failed}"))
            }
        }
        _ => row(
            Mark::Bad,
            format!(
                "待发队列：无法读取（{}）",
                q.error.as_deref().unwrap_or("未知")
            ),
        ),
    });

    let d = &s.disk;
    out.push(match d.free_mb {
        Some(free) if free < d.floor_mb => row(
            Mark::Bad,
            format!(
                "存储空间：剩余 {free} MB，低于下限 {} MB，暂停登记",
                d.floor_mb
            ),
        ),
        Some(free) if free < d.floor_mb.saturating_mul(2) => row(
            Mark::Warn,
            format!("存储空间：剩余 {free} MB，接近下限 {} MB", d.floor_mb),
        ),
        Some(free) => row(
            Mark::Ok,
            format!("存储空间：剩余 {free} MB（下限 {} MB）", d.floor_mb),
        ),
        None => row(Mark::Warn, "存储空间：未知".into()),
    });

    out.push(row(
        Mark::Ok,
        format!(
            "软件：版本 {}；终端 {}（{}）",
            s.software.version, s.software.terminal_id, s.software.hall_name
        ),
    ));
    out
}

/// The focus line under the camera picture.
pub fn focus_line(s: &HealthSnapshot) -> String {
    match s.camera.focus {
        Some(f) => format!("清晰度 {f:.0}（合格线 {:.0}）", s.camera.min_focus),
        None => "清晰度：未见材料".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> HealthSnapshot {
        let cfg = Config::default();
        let mut s = Health::default().snapshot(&Sources {
            cfg: &cfg,
            queue: None,
            contact: None,
        });
        s.reader.device = "/dev/ttyUSB0".into();
        s
    }

    fn texts(s: &HealthSnapshot) -> Vec<(Mark, String)> {
        rows(s).into_iter().map(|r| (r.mark, r.text)).collect()
    }

    #[test]
    fn the_heartbeat_carries_what_stops_the_printer_first() {
        use registry_api::PrinterReport as R;
        let h = Health::default();
        let slot = h.printer_slot();
        assert_eq!(slot.get(), None, "not asked yet");
        let status = |f: fn(&mut PrinterStatus)| {
            let mut s = PrinterStatus::READY;
            f(&mut s);
            PrintReport::Status(Ok(s))
        };
        h.printer(&status(|_| {}));
        assert_eq!(slot.get(), Some(R::Ok));
        h.printer(&status(|s| s.paper_near_end = true));
        assert_eq!(slot.get(), Some(R::PaperLow));
        h.printer(&status(|s| {
            s.paper_out = true;
            s.offline = true;
        }));
        assert_eq!(slot.get(), Some(R::PaperOut));
        h.printer(&status(|s| s.cover_open = true));
        assert_eq!(slot.get(), Some(R::Offline));
        h.printer(&status(|s| s.error = true));
        assert_eq!(slot.get(), Some(R::Error));
        h.printer(&PrintReport::Status(Err(PrinterError::NoReply)));
        assert_eq!(slot.get(), Some(R::Offline), "no answer");
    }

    #[test]
    fn live_events_become_plain_rows() {
        let h = Health::default();
        let cfg = Config::default();
        let src = Sources {
            cfg: &cfg,
            queue: None,
            contact: Some(kiosk_uplink::Contact {
                last_ok: Some(chrono::Utc::now()),
                last_error: None,
                clock_offset_ms: Some(300_000),
            }),
        };
        h.reader(&ReaderEvent::Connected);
        h.camera_frame(Some(3200.4));
        h.printer(&PrintReport::Status(Ok(PrinterStatus {
            paper_out: true,
            offline: true,
            ..PrinterStatus::READY
        })));
        let mut s = h.snapshot(&src);
        s.reader.device = "/dev/ttyUSB0".into();
        let t = texts(&s);
        assert_eq!(
            t[0],
            (Mark::Ok, "读卡器：已连接（串口 /dev/ttyUSB0）".into())
        );
        assert_eq!(
            t[1],
            (Mark::Ok, "摄像头：正常，清晰度 3200（合格线 200）".into())
        );
        assert_eq!(t[2], (Mark::Bad, "打印机：缺纸".into()));
        assert_eq!(t[3].0, Mark::Warn, "{t:?}");
        assert!(t[3].1.contains("本机时钟慢 5 分钟"), "{t:?}");
        assert_eq!(t[4].0, Mark::Bad, "the queue is not open: {t:?}");
        assert!(t[6].1.contains("终端 unprovisioned"), "{t:?}");
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"paper\":\"out\""), "{json}");

        h.reader(&ReaderEvent::Disconnected(
            kiosk_idcard::ReaderError::Disconnected,
        ));
        h.camera_failed("cannot open the document camera");
        let t = texts(&h.snapshot(&src));
        assert_eq!(t[0].0, Mark::Bad);
        assert!(t[0].1.starts_with("读卡器：未连接"), "{t:?}");
        assert_eq!(t[1].0, Mark::Bad);
    }

    #[test]
    fn unknown_states_are_amber_and_the_registry_down_is_red() {
        let mut s = sample();
        let t = texts(&s);
        assert_eq!(t[0].0, Mark::Warn);
        assert_eq!(t[1], (Mark::Warn, "摄像头：尚无画面".into()));
        assert_eq!(t[2], (Mark::Warn, "打印机：尚未检测".into()));
        s.registry.reachable = Some(false);
        s.registry.last_error_kind = Some("timeout".into());
        s.registry.last_ok_age_s = Some(7200);
        assert_eq!(
            texts(&s)[3],
            (
                Mark::Bad,
                "登记系统：无法连接（应答超时，上次成功 2 小时前）".into()
            )
        );
        s.queue.pending = Some(3);
        s.queue.uploading = Some(0);
        s.queue.failed = Some(1);
        s.queue.oldest_unsent_age_s = Some(720);
        s.disk.free_mb = Some(150);
        let t = texts(&s);
        assert_eq!(
            t[4],
            (
                Mark::Warn,
                "待发队列：3 条待发送，最早一条等了 12 分钟；1 条失败待处理（kiosk queue）".into()
            )
        );
        assert_eq!(t[5].0, Mark::Bad);
    }

    #[test]
    fn a_queue_and_its_disk_are_read() {
        use kiosk_queue::test_utils::{specimen_options, specimen_upload};
        let dir = tempfile::tempdir().unwrap();
        let q =
            kiosk_queue::Queue::open_with(&dir.path().join("q.db"), specimen_options()).unwrap();
        q.seal(&specimen_upload(1)).unwrap();
        let cfg = Config::default();
        let s = Health::default().snapshot(&Sources {
            cfg: &cfg,
            queue: Some(&q),
            contact: None,
        });
        assert_eq!(s.queue.pending, Some(1));
        assert!(s.disk.free_mb.is_some());
        assert!(rows(&s)[4].text.starts_with("待发队列：1 条待发送"));
    }
}
