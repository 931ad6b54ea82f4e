//! [`Contact`]: what the terminal last heard from the registry, for the
//! technician screen and the diagnostics bundle: when an answer last came
//! back, the kind of the last error, and how far the terminal's clock is from
//! the registry's (from the HTTP `Date` header of its answers).
//!
//! Every request of the [`crate::RegistryClient`] records here; the record is
//! one small lock, so the upload path does not wait on it. Nothing personal
//! is kept: times, a status code and an error kind.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::UplinkError;

/// What the terminal last heard from the registry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    /// The last time the registry answered a request with 2xx.
    pub last_ok: Option<DateTime<Utc>>,
    /// The last failed request: when, and its kind (see [`UplinkError::kind`]).
    pub last_error: Option<(DateTime<Utc>, &'static str)>,
    /// The registry's clock minus the terminal's, in milliseconds, from the
    /// `Date` header of the last answer that had one (resolution one second).
    pub clock_offset_ms: Option<i64>,
}

impl Contact {
    /// True when the last request was answered (no error since the last success).
    pub fn reachable(&self) -> bool {
        match (&self.last_ok, &self.last_error) {
            (Some(ok), Some((err, _))) => ok >= err,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

/// The shared record the client writes and the application reads.
#[derive(Debug, Clone, Default)]
pub struct ContactLog(Arc<Mutex<Contact>>);

impl ContactLog {
    /// A copy of the record.
    pub fn snapshot(&self) -> Contact {
        self.0.lock().map(|c| c.clone()).unwrap_or_default()
    }

    fn update(&self, f: impl FnOnce(&mut Contact)) {
        if let Ok(mut c) = self.0.lock() {
            f(&mut c);
        }
    }

    /// An HTTP answer arrived: `sent` and `received` bracket the request on
    /// the terminal's clock, `date` is the answer's `Date` header.
    pub(crate) fn answered(
        &self,
        status: u16,
        date: Option<&str>,
        sent: DateTime<Utc>,
        received: DateTime<Utc>,
    ) {
        let offset = date.and_then(|d| clock_offset_ms(d, sent, received));
        self.update(|c| {
            if offset.is_some() {
                c.clock_offset_ms = offset;
            }
            if (200..300).contains(&status) {
                c.last_ok = Some(received);
            }
        });
    }

    /// A request failed (no answer, or an answer that is an error).
    pub(crate) fn failed(&self, e: &UplinkError) {
        let kind = e.kind();
        self.update(|c| c.last_error = Some((Utc::now(), kind)));
    }
}

/// The registry's clock minus ours, from an HTTP date (RFC 7231, one-second
/// resolution): compared with the middle of the request, plus half a second
/// for the truncated fraction.
pub fn clock_offset_ms(date: &str, sent: DateTime<Utc>, received: DateTime<Utc>) -> Option<i64> {
    let theirs = DateTime::parse_from_rfc2822(date.trim())
        .ok()?
        .with_timezone(&Utc);
    let ours = sent + (received - sent) / 2;
    Some((theirs - ours).num_milliseconds() + 500)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_comes_from_the_date_header() {
        let sent = DateTime::parse_from_rfc3339("2026-11-28T10:00:00.000Z")
            .unwrap()
            .with_timezone(&Utc);
        let received = sent + chrono::TimeDelta::milliseconds(200);
        // The registry is 90 s ahead.
        let off = clock_offset_ms("Sat, 28 Nov 2026 10:01:30 GMT", sent, received).unwrap();
        assert!((89_000..=91_000).contains(&off), "{off}");
        assert_eq!(clock_offset_ms("not a date", sent, received), None);
    }

    #[test]
    fn answers_and_errors_are_recorded() {
        let log = ContactLog::default();
        assert!(!log.snapshot().reachable());
        let now = Utc::now();
        log.answered(204, Some(&now.to_rfc2822()), now, now);
        let c = log.snapshot();
        assert!(c.reachable());
        assert!(c.clock_offset_ms.unwrap().abs() < 2_000);
        log.failed(&UplinkError::Timeout);
        let c = log.snapshot();
        assert!(!c.reachable());
        assert_eq!(c.last_error.map(|(_, k)| k), Some("timeout"));
        log.answered(503, None, now, now);
        assert!(!log.snapshot().reachable(), "a 503 is no success");
    }
}
