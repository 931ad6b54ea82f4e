//! The app side of the staff screens: checking PINs against the provisioned
//! Argon2 hashes, the clerk's queue rows, and receipts rebuilt from the queue
//! for a reprint.
//!
//! PINs are stored only as Argon2id PHC strings in the configuration
//! (`[staff]`, made by `kiosk staff hash-pin`); a PIN never reaches a log.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use intake::{QueueRow, QueueStatus, StaffRole};
use kiosk_privacy::StaffPin;
use kiosk_queue::{Queue, QueueError};

use serde::Deserialize;

/// Staff logins on the terminal's own screen.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct StaffConfig {
    /// Argon2id PHC string of the clerk PIN (`kiosk staff hash-pin`); "" = no clerk login.
    pub clerk_pin_hash: String,
    /// Argon2id PHC string of the technician PIN; "" = no technician login.
    pub technician_pin_hash: String,
}

/// How many registrations the clerk's queue view lists, newest first.
pub const QUEUE_VIEW_ROWS: usize = 50;

/// Errors of making a PIN hash.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error("a staff PIN must be 6 to 12 digits")]
    Weak,
    #[error("cannot hash the PIN: {0}")]
    Hash(String),
}

/// An Argon2id PHC string for a PIN of 6 to 12 digits.
pub fn hash_pin(pin: &StaffPin) -> Result<String, PinError> {
    let p = pin.expose();
    if !(6..=12).contains(&p.len()) || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PinError::Weak);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(p.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PinError::Hash(e.to_string()))
}

/// The role whose hash the PIN matches, if any. A malformed hash in the
/// configuration matches nothing (and is reported by `check-config`).
pub fn check_pin(cfg: &StaffConfig, pin: &StaffPin) -> Option<StaffRole> {
    let matches = |hash: &str| {
        !hash.is_empty()
            && PasswordHash::new(hash).is_ok_and(|h| {
                Argon2::default()
                    .verify_password(pin.expose().as_bytes(), &h)
                    .is_ok()
            })
    };
    if matches(&cfg.clerk_pin_hash) {
        Some(StaffRole::Clerk)
    } else if matches(&cfg.technician_pin_hash) {
        Some(StaffRole::Technician)
    } else {
        None
    }
}

/// Checks that every configured hash parses.
pub fn validate(cfg: &StaffConfig) -> anyhow::Result<()> {
    for (key, hash) in [
        ("staff.clerk_pin_hash", &cfg.clerk_pin_hash),
        ("staff.technician_pin_hash", &cfg.technician_pin_hash),
    ] {
        if !hash.is_empty() && PasswordHash::new(hash).is_err() {
            anyhow::bail!("{key} is not a PHC hash string (make one with `kiosk staff hash-pin`)");
        }
    }
    Ok(())
}

/// The newest registrations of the queue, for the clerk's queue view.
pub fn queue_rows(queue: &Queue) -> Result<Vec<QueueRow>, QueueError> {
    Ok(queue
        .recent_receipts(QUEUE_VIEW_ROWS)?
        .into_iter()
        .map(|r| QueueRow {
            local_ref: r.local_ref,
            sealed_at: r.sealed_at,
            category: r.category,
            masked_id: r.masked_id,
            status: match r.status {
                kiosk_queue::Status::Pending => QueueStatus::Pending,
                kiosk_queue::Status::Uploading => QueueStatus::Uploading,
                kiosk_queue::Status::Acknowledged => QueueStatus::Acknowledged,
                kiosk_queue::Status::Failed => QueueStatus::Failed,
            },
            case_number: r.case_number,
            reason: r.last_error,
        })
        .collect())
}

/// The printed receipt of a registration, rebuilt from the queue's readable summary.
pub fn receipt_for(
    r: &kiosk_queue::Receipt,
    terminal_id: &str,
    hall_name: &str,
) -> kiosk_printer::Receipt {
    let registered_at = chrono::DateTime::parse_from_rfc3339(&r.sealed_at)
        .map(|t| t.with_timezone(&chrono::Local).naive_local())
        .unwrap_or_else(|_| chrono::Local::now().naive_local());
    kiosk_printer::Receipt {
        terminal_id: terminal_id.to_string(),
        hall_name: hall_name.to_string(),
        registered_at,
        case_number: r.case_number.clone(),
        local_reference: r.local_ref.clone(),
        category: crate::view::category_label(&r.category),
        page_count: r.page_count,
        voice_notes: 0,
        id_number_masked: r.masked_id.clone(),
        query_code: r.local_ref.clone(),
        next_step: kiosk_printer::NEXT_STEP.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_match_their_role_only_and_weak_pins_are_refused() {
        let cfg = StaffConfig {
            clerk_pin_hash: hash_pin(&StaffPin::new("246810")).unwrap(),
            technician_pin_hash: hash_pin(&StaffPin::new("135790")).unwrap(),
        };
        validate(&cfg).unwrap();
        assert!(!cfg.clerk_pin_hash.contains("246810"));
        assert_eq!(check_pin(&cfg, &StaffPin::new("246810")), Some(StaffRole::Clerk));
        assert_eq!(check_pin(&cfg, &StaffPin::new("135790")), Some(StaffRole::Technician));
        assert_eq!(check_pin(&cfg, &StaffPin::new("246811")), None);
        assert_eq!(check_pin(&StaffConfig::default(), &StaffPin::new("")), None);
        assert!(matches!(hash_pin(&StaffPin::new("1234")), Err(PinError::Weak)));
        assert!(matches!(hash_pin(&StaffPin::new("12345a")), Err(PinError::Weak)));
        let broken = StaffConfig {
            clerk_pin_hash: "246810".into(),
            ..StaffConfig::default()
        };
        assert!(validate(&broken).is_err());
        assert_eq!(check_pin(&broken, &StaffPin::new("246810")), None);
    }
}
