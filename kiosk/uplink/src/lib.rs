//! Uploads sealed registrations to the central registry and asks it for a petitioner's history.
//!
//! [`RegistryClient`] speaks the HTTP protocol of `registry-api` and turns
//! every answer into either a checked reply or an [`UplinkError`] that says
//! whether trying again can help. [`Uplink`] is the background worker: its own
//! thread, its own tokio runtime and its own [`kiosk_queue::Queue`]
//! connection, so a network stall never freezes the UI. It claims sealed rows
//! one at a time, uploads them, and records the outcome in the queue, telling
//! the application what happened through [`UplinkEvent`]s.
//!
//! **Invariant:** a row is marked acknowledged only after a 201/202 reply that
//! is a valid `RegistrationAck` with a non-empty case number; anything else (a
//! captive portal's 200 page included) leaves it queued.
//! **Invariant:** the uplink sends registrations exactly as sealed in the
//! queue; it holds no key that opens them.
//! **Invariant:** errors, events and log lines hold no personal data.

mod client;
mod contact;
mod enroll;
mod update;
mod worker;

use std::time::Duration;

pub use client::{Outgoing, RegistryClient, BUNDLE_MAX_BYTES};
pub use contact::{clock_offset_ms, Contact, ContactLog};
pub use enroll::{enroll, make_identity};
pub use update::{forget_install, record_install, UpdateSlot, MAX_BUNDLE_BYTES};
pub use worker::Uplink;

/// What went wrong talking to the registry (or running the uplink).
#[derive(Debug, thiserror::Error)]
pub enum UplinkError {
    /// The request did not get an HTTP answer (no route, refused, reset, TLS).
    #[error("network error")]
    Network(#[source] reqwest::Error),
    /// No complete answer within the request timeout.
    #[error("registry did not answer in time")]
    Timeout,
    /// The registry does not accept this terminal's token.
    #[error("registry refused the terminal token")]
    Unauthorized,
    /// The registry refused the request for good (a 4xx other than 401, 403, 408 and 429).
    #[error("registry rejected the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    /// The registry, or something in front of it, cannot answer now (5xx, 408, 429).
    #[error("registry unavailable ({status})")]
    Server { status: u16 },
    /// A reply that is not what the protocol promises, such as a captive portal's page.
    #[error("unexpected reply: {0}")]
    BadReply(String),
    /// The registry asks for a page (or the voice note, part
    /// [`registry_api::VOICE_NOTE_PART`]) the queue does not hold (lost or
    /// never sealed): no retry can supply it.
    #[error("registry asks for {}, which the queue does not hold", part_name(*.0))]
    PageUnavailable(u32),
    /// The registry still misses these pages although they were just sent.
    #[error("registry still misses pages {0:?} after they were sent")]
    StillMissing(Vec<u32>),
    /// The base URL or token cannot be used.
    #[error("invalid uplink configuration: {0}")]
    Config(&'static str),
    /// The local queue failed.
    #[error("queue error")]
    Queue(#[from] kiosk_queue::QueueError),
    /// The uplink's thread or runtime could not start.
    #[error("cannot start the uplink")]
    Start(#[source] std::io::Error),
    /// The uplink has stopped, so it cannot run the request.
    #[error("uplink is not running")]
    Stopped,
}

/// A part of a registration in words: "page 3", or "the voice note".
fn part_name(index: u32) -> String {
    if index == registry_api::VOICE_NOTE_PART {
        "the voice note".to_owned()
    } else {
        format!("page {index}")
    }
}

impl UplinkError {
    /// Whether the same request may succeed later. A refused token is
    /// retryable (slowly), because the configuration may be fixed meanwhile.
    pub fn is_retryable(&self) -> bool {
        match self {
            UplinkError::Network(_)
            | UplinkError::Timeout
            | UplinkError::Unauthorized
            | UplinkError::Server { .. }
            | UplinkError::BadReply(_)
            | UplinkError::StillMissing(_)
            | UplinkError::Queue(_)
            | UplinkError::Stopped => true,
            UplinkError::Rejected { .. }
            | UplinkError::PageUnavailable(_)
            | UplinkError::Config(_)
            | UplinkError::Start(_) => false,
        }
    }

    /// Whether the error concerns this registration only, not the link to
    /// the registry: the others need not wait for it.
    pub fn is_row_specific(&self) -> bool {
        matches!(
            self,
            UplinkError::Rejected { .. }
                | UplinkError::PageUnavailable(_)
                | UplinkError::StillMissing(_)
        )
    }

    /// A short name of the kind of error, for the technician screen.
    pub fn kind(&self) -> &'static str {
        match self {
            UplinkError::Network(_) => "network",
            UplinkError::Timeout => "timeout",
            UplinkError::Unauthorized => "unauthorized",
            UplinkError::Rejected { .. } => "rejected",
            UplinkError::Server { .. } => "server",
            UplinkError::BadReply(_) => "bad_reply",
            UplinkError::Config(_) => "config",
            UplinkError::Queue(_) => "queue",
            UplinkError::Start(_) => "start",
            UplinkError::Stopped => "stopped",
            UplinkError::PageUnavailable(_) => "page_unavailable",
            UplinkError::StillMissing(_) => "still_missing",
        }
    }

    /// The error and its causes on one line, redacted: fit for a log, an event or the queue.
    pub fn reason(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        kiosk_privacy::redact(&text)
    }
}

/// What the uplink did with a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UplinkEvent {
    /// The registry issued (or repeated, when `replayed`) a case number.
    Acknowledged {
        local_ref: String,
        case_number: String,
        replayed: bool,
        /// The registry thinks this petition repeats a recent one of the same petitioner.
        likely_duplicate: bool,
    },
    /// The attempt failed in a way worth retrying; the row is pending again.
    RetryScheduled {
        local_ref: String,
        attempts: u32,
        reason: String,
        next_attempt_in: Duration,
    },
    /// The registration cannot be uploaded as it is; a clerk must look at it.
    Failed { local_ref: String, reason: String },
}

/// The terminal's side of mutual TLS: the registry CA it pins and its own
/// client certificate, all PEM.
#[derive(Clone)]
pub struct ClientTls {
    /// The CA that signed the registry's certificate; the only one trusted.
    pub registry_ca_pem: Vec<u8>,
    /// This terminal's client certificate chain and private key, concatenated.
    pub identity_pem: Vec<u8>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientTls(<pinned CA, client certificate>)")
    }
}

/// The receipt printer's last known state, written by whoever asks the
/// printer (the terminal's health record) and sent with each heartbeat for
/// the registry's fleet page. Empty: no printer, or not asked yet.
#[derive(Debug, Clone, Default)]
pub struct PrinterSlot(std::sync::Arc<std::sync::Mutex<Option<registry_api::PrinterReport>>>);

impl PrinterSlot {
    pub fn set(&self, report: Option<registry_api::PrinterReport>) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = report;
        }
    }

    pub fn get(&self) -> Option<registry_api::PrinterReport> {
        self.0.lock().ok().and_then(|s| *s)
    }
}

/// Where the registry is and how patiently to retry it.
#[derive(Clone)]
pub struct UplinkConfig {
    /// For example `https://registry.example.gov.cn`.
    pub base_url: String,
    /// The terminal's bearer token.
    pub token: String,
    /// This terminal's identifier, reported in heartbeats.
    pub terminal_id: String,
    /// How often to report the queue to the registry; zero turns heartbeats off.
    pub heartbeat_interval: Duration,
    /// Mutual TLS for an `https://` registry; `None` only for `http://` on loopback.
    pub tls: Option<ClientTls>,
    /// The limit for one whole request, answer included.
    pub request_timeout: Duration,
    /// The delay before the first retry; later ones double up to `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// The printer's state for the heartbeat.
    pub printer: PrinterSlot,
    /// Software updates: the bundle the heartbeat's answer names is fetched
    /// between registrations ([`UpdateSlot::default`]: off).
    pub updates: UpdateSlot,
}

impl std::fmt::Debug for UplinkConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UplinkConfig")
            .field("base_url", &self.base_url)
            .field("token", &"<hidden>")
            .field("terminal_id", &self.terminal_id)
            .field("heartbeat_interval", &self.heartbeat_interval)
            .field("request_timeout", &self.request_timeout)
            .field("min_backoff", &self.min_backoff)
            .field("max_backoff", &self.max_backoff)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_errors_are_the_transient_ones() {
        assert!(UplinkError::Timeout.is_retryable());
        assert!(UplinkError::Unauthorized.is_retryable());
        assert!(UplinkError::Server { status: 503 }.is_retryable());
        assert!(UplinkError::BadReply("html".into()).is_retryable());
        let rejected = UplinkError::Rejected {
            status: 400,
            message: "bad_request".into(),
        };
        assert!(!rejected.is_retryable());
    }

    #[test]
    fn reasons_are_redacted_and_the_token_is_hidden() {
        let e = UplinkError::Rejected {
            status: 400,
            message: "bad id 11010519491231002X".into(),
        };
        assert_eq!(
            e.reason(),
            "registry rejected the request (400): bad id [redacted]"
        );
        let cfg = UplinkConfig {
            base_url: "http://127.0.0.1:1".into(),
            token: "SECRET-TOKEN".into(),
            terminal_id: "T".into(),
            heartbeat_interval: Duration::ZERO,
            tls: None,
            request_timeout: Duration::from_secs(1),
            min_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
            printer: PrinterSlot::default(),
            updates: Default::default(),
        };
        assert!(!format!("{cfg:?}").contains("SECRET"));
    }
}
