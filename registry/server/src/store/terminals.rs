//! Terminal records: who may call the terminal API over TLS.
//!
//! A terminal is a row: its id, its hall, its status and, once enrolled, the
//! SHA-256 of its public key (the SubjectPublicKeyInfo of the certificate it
//! presents). Staff issue a one-time enrollment code for an id; the terminal
//! proves it holds its key in the TLS handshake and sends the code once; the
//! registry then records its key. Only the code's SHA-256 is stored; a code
//! expires, is used once, and dies after [`MAX_CODE_ATTEMPTS`] wrong guesses.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::db::{params, Durability, OptionalExtension, Sql};
use super::{Store, StoreError};

/// Wrong codes tried for one terminal before its code is void.
pub const MAX_CODE_ATTEMPTS: i64 = 5;

/// A terminal's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TerminalStatus {
    /// Issued a code, never enrolled.
    Pending,
    /// Enrolled: its key may call the terminal API.
    Active,
    /// Refused from its next request on.
    Revoked,
}

impl TerminalStatus {
    fn parse(s: &str) -> TerminalStatus {
        match s {
            "active" => TerminalStatus::Active,
            "pending" => TerminalStatus::Pending,
            // Anything unexpected is treated as the safest.
            _ => TerminalStatus::Revoked,
        }
    }
}

/// One terminal, as staff see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalRecord {
    pub terminal_id: String,
    pub hall: String,
    pub status: TerminalStatus,
    /// Hex SHA-256 of the enrolled public key; none before enrollment.
    pub key_sha256: Option<String>,
    pub created_at: String,
    pub enrolled_at: Option<String>,
    pub revoked_at: Option<String>,
    /// Until when the outstanding enrollment code is valid, if one is.
    pub code_expires_at: Option<String>,
}

/// The outcome of [`Store::enroll`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnrollOutcome {
    /// The key is recorded; the terminal's hall.
    Enrolled { hall: String },
    /// No such terminal, no outstanding code, a wrong, expired or spent
    /// code: one answer for all, so a guesser learns nothing.
    Refused,
    /// The key is already enrolled as another terminal.
    KeyTaken,
}

fn now_text(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Store {
    /// Creates terminal `id` (or keeps it, with its key and status) and gives
    /// it a new enrollment code, stored as `code_sha256`, valid until
    /// `expires`. A new code voids an older one.
    pub fn issue_enrollment(
        &self,
        id: &str,
        hall: &str,
        code_sha256: &[u8; 32],
        expires: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.db()?.execute(
            "INSERT INTO terminals (terminal_id, hall, status, created_at, code_sha256, code_expires, code_attempts)
             VALUES (?1, ?2, 'pending', ?3, ?4, ?5, 0)
             ON CONFLICT (terminal_id) DO UPDATE SET
                hall = excluded.hall, code_sha256 = excluded.code_sha256,
                code_expires = excluded.code_expires, code_attempts = 0",
            params![id, hall, now_text(now), code_sha256.as_slice(), now_text(expires)],
        )?;
        Ok(())
    }

    /// Spends terminal `id`'s code `code_sha256` to record `key_sha256` as
    /// its key and make it active. A wrong code counts against the code.
    pub fn enroll(
        &self,
        id: &str,
        code_sha256: &[u8; 32],
        key_sha256: &str,
        now: DateTime<Utc>,
    ) -> Result<EnrollOutcome, StoreError> {
        let mut db = self.db()?;
        let mut tx = db.begin(Durability::Full)?;
        type CodeRow = (String, Option<Vec<u8>>, Option<String>, i64);
        let row: Option<CodeRow> = tx
            .query_row(
                "SELECT hall, code_sha256, code_expires, code_attempts FROM terminals WHERE terminal_id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((hall, Some(stored), Some(expires), attempts)) = row else {
            return Ok(EnrollOutcome::Refused);
        };
        let expired = DateTime::parse_from_rfc3339(&expires)
            .map(|e| e.with_timezone(&Utc) <= now)
            .unwrap_or(true);
        let matches = crate::terminals::same_bytes(&stored, code_sha256);
        if !matches || expired || attempts >= MAX_CODE_ATTEMPTS {
            if !matches {
                // The last allowed wrong guess voids the code.
                tx.execute(
                    "UPDATE terminals SET code_attempts = code_attempts + 1,
                        code_sha256 = CASE WHEN code_attempts + 1 >= ?2 THEN NULL ELSE code_sha256 END,
                        code_expires = CASE WHEN code_attempts + 1 >= ?2 THEN NULL ELSE code_expires END
                     WHERE terminal_id = ?1",
                    params![id, MAX_CODE_ATTEMPTS],
                )?;
                tx.commit()?;
            }
            return Ok(EnrollOutcome::Refused);
        }
        let taken: Option<String> = tx
            .query_row(
                "SELECT terminal_id FROM terminals WHERE key_sha256 = ?1 AND terminal_id <> ?2",
                params![key_sha256, id],
                |r| r.get(0),
            )
            .optional()?;
        if taken.is_some() {
            return Ok(EnrollOutcome::KeyTaken);
        }
        tx.execute(
            "UPDATE terminals SET status = 'active', key_sha256 = ?2, enrolled_at = ?3,
                revoked_at = NULL, code_sha256 = NULL, code_expires = NULL, code_attempts = 0
             WHERE terminal_id = ?1",
            params![id, key_sha256, now_text(now)],
        )?;
        tx.commit()?;
        Ok(EnrollOutcome::Enrolled { hall })
    }

    /// The terminal whose enrolled key is `key_sha256`, and its status.
    pub fn terminal_by_key(
        &self,
        key_sha256: &str,
    ) -> Result<Option<(String, TerminalStatus)>, StoreError> {
        Ok(self
            .db()?
            .query_row(
                "SELECT terminal_id, status FROM terminals WHERE key_sha256 = ?1",
                params![key_sha256],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
            )
            .optional()?
            .map(|(id, status)| (id, TerminalStatus::parse(&status))))
    }

    /// Revokes terminal `id` (and voids any outstanding code); false if
    /// there is no such terminal.
    pub fn revoke_terminal(&self, id: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let n = self.db()?.execute(
            "UPDATE terminals SET status = 'revoked', revoked_at = ?2,
                code_sha256 = NULL, code_expires = NULL
             WHERE terminal_id = ?1",
            params![id, now_text(now)],
        )?;
        Ok(n > 0)
    }

    /// Every terminal, by id.
    pub fn terminals(&self) -> Result<Vec<TerminalRecord>, StoreError> {
        self.db()?.query_map(
            "SELECT terminal_id, hall, status, key_sha256, created_at, enrolled_at, revoked_at, code_expires
             FROM terminals ORDER BY terminal_id",
            params![],
            |r| {
            Ok(TerminalRecord {
                terminal_id: r.get(0)?,
                hall: r.get(1)?,
                status: TerminalStatus::parse(&r.get::<_, String>(2)?),
                key_sha256: r.get(3)?,
                created_at: r.get(4)?,
                enrolled_at: r.get(5)?,
                revoked_at: r.get(6)?,
                code_expires_at: r.get(7)?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn digest(s: &str) -> [u8; 32] {
        Sha256::digest(s.as_bytes()).into()
    }

    #[test]
    fn a_code_enrols_once_and_wrong_guesses_void_it() {
        let store = Store::open_in_memory().expect("store");
        let now = Utc::now();
        let later = now + chrono::TimeDelta::hours(1);
        store
            .issue_enrollment("hall-01", "东岭镇", &digest("CODE-1"), later, now)
            .expect("issue");
        assert_eq!(
            store.enroll("hall-01", &digest("WRONG"), "aa", now).expect("enroll"),
            EnrollOutcome::Refused
        );
        assert_eq!(
            store.enroll("hall-01", &digest("CODE-1"), "aa", now).expect("enroll"),
            EnrollOutcome::Enrolled { hall: "东岭镇".into() }
        );
        assert_eq!(
            store.terminal_by_key("aa").expect("key"),
            Some(("hall-01".into(), TerminalStatus::Active))
        );
        // Spent: the same code cannot enrol a second key.
        assert_eq!(
            store.enroll("hall-01", &digest("CODE-1"), "bb", now).expect("enroll"),
            EnrollOutcome::Refused
        );
        // A new code; five wrong guesses void it, the right one then fails too.
        store
            .issue_enrollment("hall-02", "西岭镇", &digest("CODE-2"), later, now)
            .expect("issue");
        for _ in 0..MAX_CODE_ATTEMPTS {
            assert_eq!(
                store.enroll("hall-02", &digest("GUESS"), "cc", now).expect("enroll"),
                EnrollOutcome::Refused
            );
        }
        assert_eq!(
            store.enroll("hall-02", &digest("CODE-2"), "cc", now).expect("enroll"),
            EnrollOutcome::Refused
        );
        // An expired code is refused; a key enrolled elsewhere is refused.
        store
            .issue_enrollment("hall-03", "北岭镇", &digest("CODE-3"), now, now)
            .expect("issue");
        assert_eq!(
            store.enroll("hall-03", &digest("CODE-3"), "dd", later).expect("enroll"),
            EnrollOutcome::Refused
        );
        store
            .issue_enrollment("hall-04", "南岭镇", &digest("CODE-4"), later, now)
            .expect("issue");
        assert_eq!(
            store.enroll("hall-04", &digest("CODE-4"), "aa", now).expect("enroll"),
            EnrollOutcome::KeyTaken
        );
        // Revoked: the key is still known, and says so.
        assert!(store.revoke_terminal("hall-01", now).expect("revoke"));
        assert_eq!(
            store.terminal_by_key("aa").expect("key"),
            Some(("hall-01".into(), TerminalStatus::Revoked))
        );
        assert!(!store.revoke_terminal("nobody", now).expect("revoke"));
        let all = store.terminals().expect("list");
        assert_eq!(all.len(), 4);
        assert_eq!(all[0].status, TerminalStatus::Revoked);
        assert_eq!(all[1].status, TerminalStatus::Pending);
    }
}
