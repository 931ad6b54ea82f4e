//! Staff on the terminal: the clerk who registers on someone's behalf (代办)
//! and the technician, both after a PIN; the lockout after wrong PINs; the
//! rows of the clerk's queue view.
//!
//! The PIN itself is checked by the shell against the provisioned hashes (the
//! machine never sees a hash); the machine only counts failures on its clock.

use std::time::Duration;

use crate::machine::Millis;

/// Who logged in with a PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffRole {
    Clerk,
    Technician,
}

/// Wrong PINs in a row before the login is locked.
pub const FREE_ATTEMPTS: u32 = 5;
/// The first lock; each wrong PIN after it doubles the lock, up to [`MAX_LOCK`].
pub const FIRST_LOCK: Duration = Duration::from_secs(5 * 60);
pub const MAX_LOCK: Duration = Duration::from_secs(60 * 60);

/// Counts wrong PINs and locks the login after [`FREE_ATTEMPTS`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lockout {
    failures: u32,
    locked_until: Option<Millis>,
}

impl Lockout {
    /// `Err(seconds)` while the login is locked.
    pub fn check(&self, now: Millis) -> Result<(), u64> {
        match self.locked_until {
            Some(until) if now < until => Err((until.0 - now.0).div_ceil(1000)),
            _ => Ok(()),
        }
    }

    /// Records a wrong PIN; returns the lock that now holds, if any.
    pub fn failed(&mut self, now: Millis) -> Option<Duration> {
        self.failures = self.failures.saturating_add(1);
        if self.failures < FREE_ATTEMPTS {
            return None;
        }
        let doublings = (self.failures - FREE_ATTEMPTS).min(8);
        let lock = (FIRST_LOCK * 2u32.pow(doublings)).min(MAX_LOCK);
        self.locked_until = Some(Millis(now.0 + lock.as_millis() as u64));
        Some(lock)
    }

    /// Wrong PINs in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// How long the login stays locked from `now` (zero when it is not).
    pub fn locked_for(&self, now: Millis) -> Duration {
        match self.locked_until {
            Some(until) if now < until => Duration::from_millis(until.0 - now.0),
            _ => Duration::ZERO,
        }
    }

    /// The lockout as it was saved: `failures` wrong PINs, locked for
    /// `locked_for` from `now` (at most [`MAX_LOCK`]), so a restart does not
    /// give an attacker five new tries.
    pub fn restored(failures: u32, locked_for: Duration, now: Millis) -> Lockout {
        let locked_for = locked_for.min(MAX_LOCK);
        Lockout {
            failures,
            locked_until: (!locked_for.is_zero())
                .then(|| Millis(now.0 + locked_for.as_millis() as u64)),
        }
    }

    /// Wrong PINs left before the lock.
    pub fn attempts_left(&self) -> u32 {
        FREE_ATTEMPTS.saturating_sub(self.failures)
    }

    pub fn succeeded(&mut self) {
        *self = Lockout::default();
    }
}

/// One registration in the clerk's queue view: the queue's readable summary
/// (no personal data beyond the masked ID number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRow {
    pub local_ref: String,
    pub sealed_at: String,
    pub category: String,
    pub masked_id: String,
    pub status: QueueStatus,
    pub case_number: Option<String>,
    /// Why the last attempt failed (redacted), for failed and retried rows.
    pub reason: Option<String>,
}

/// Where a registration stands in the terminal's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueStatus {
    /// Waiting for (another) upload attempt.
    Pending,
    /// An upload is under way.
    Uploading,
    /// The registry issued a case number.
    Acknowledged,
    /// The registry refused it for good; a clerk must look at it.
    Failed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_wrong_pins_lock_and_the_lock_grows_then_caps() {
        let mut l = Lockout::default();
        let t = Millis(10_000);
        for left in (1..=4).rev() {
            assert_eq!(l.failed(t), None);
            assert_eq!(l.attempts_left(), left);
            assert!(l.check(t).is_ok());
        }
        assert_eq!(l.failed(t), Some(FIRST_LOCK));
        assert_eq!(l.check(t), Err(300));
        assert_eq!(l.check(Millis(t.0 + 299_500)), Err(1));
        let after = Millis(t.0 + 300_000);
        assert!(l.check(after).is_ok());
        assert_eq!(l.failed(after), Some(FIRST_LOCK * 2));
        for _ in 0..10 {
            l.failed(after);
        }
        assert_eq!(l.check(after), Err(MAX_LOCK.as_secs()));
        l.succeeded();
        assert!(l.check(after).is_ok());
        assert_eq!(l.attempts_left(), FREE_ATTEMPTS);
    }
}
