//! Staff accounts and console sessions in the registry database.
//!
//! An account is a name, a role and an Argon2id hash of its password (PHC
//! string; the hashing itself is done by `console::auth`, never here).
//! Wrong passwords are counted per account; at the limit the account is
//! locked until a time, and the count starts again after it. A session is
//! the SHA-256 of a random token (the cookie holds the token, the database
//! only its hash), its CSRF token, its start and its last use.

use chrono::{DateTime, SecondsFormat, Utc};
use super::db::{params, Durability, OptionalExtension, Sql};

use super::{Store, StoreError};

/// What a staff account may do in the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Works cases: the list, the case page, status changes and notices.
    Clerk,
    /// A clerk who also sees the audit log and the fleet.
    Supervisor,
    /// The fleet only.
    Technician,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Supervisor => "supervisor",
            Role::Technician => "technician",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "clerk" => Some(Role::Clerk),
            "supervisor" => Some(Role::Supervisor),
            "technician" => Some(Role::Technician),
            _ => None,
        }
    }

    /// May work cases (list, read, change).
    pub fn works_cases(self) -> bool {
        matches!(self, Role::Clerk | Role::Supervisor)
    }

    /// May see the fleet page and its JSON.
    pub fn sees_fleet(self) -> bool {
        matches!(self, Role::Supervisor | Role::Technician)
    }

    /// May read the audit log.
    pub fn reads_audit(self) -> bool {
        matches!(self, Role::Supervisor)
    }

    /// The role in Chinese, for the console.
    pub fn label(self) -> &'static str {
        match self {
            Role::Clerk => "登记员",
            Role::Supervisor => "主管",
            Role::Technician => "技术员",
        }
    }
}

/// True for an account name: 1 to 32 of `A-Z a-z 0-9 _ .` (no `-`, so a
/// name never looks like a token's `staff-1a2b3c4d` in the audit log).
pub fn valid_account_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.'))
}

/// A stored account, as the sign-in needs it.
#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    pub role: Role,
    /// The PHC string of the Argon2id hash.
    pub password_hash: String,
    /// Wrong passwords in a row since the last sign-in or lock.
    #[cfg_attr(not(test), allow(dead_code))]
    pub failed_attempts: u32,
    /// Locked until then (RFC 3339, UTC), if locked.
    pub locked_until: Option<DateTime<Utc>>,
}

/// A live session, as a request sees it.
#[derive(Debug, Clone)]
pub struct Session {
    pub account: String,
    pub role: Role,
    pub csrf: String,
}

fn text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl Store {
    /// Creates an account, or replaces the role and password of an existing
    /// one (and unlocks it). Returns true when it was new.
    pub fn put_staff_account(
        &self,
        name: &str,
        role: Role,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut db = self.db()?;
        let mut tx = db.begin(Durability::Full)?;
        let existed: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM staff_accounts WHERE name = ?1)",
            params![name],
            |row| row.get(0),
        )?;
        tx.execute(
            "INSERT INTO staff_accounts (name, role, password_hash, created_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (name) DO UPDATE SET role = excluded.role,
                 password_hash = excluded.password_hash, failed_attempts = 0, locked_until = NULL",
            params![name, role.as_str(), password_hash, text(now)],
        )?;
        // A new password ends the account's sessions.
        tx.execute("DELETE FROM staff_sessions WHERE account = ?1", params![name])?;
        tx.commit()?;
        Ok(!existed)
    }

    /// The account called `name`, if any.
    pub fn staff_account(&self, name: &str) -> Result<Option<Account>, StoreError> {
        let row: Option<(String, String, String, i64, Option<String>)> = self
            .db()?
            .query_row(
                "SELECT name, role, password_hash, failed_attempts, locked_until
                 FROM staff_accounts WHERE name = ?1",
                params![name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        Ok(row.and_then(|(name, role, password_hash, failed, locked)| {
            Some(Account {
                name,
                // An unknown role in the database signs nobody in.
                role: Role::parse(&role)?,
                password_hash,
                failed_attempts: failed.clamp(0, i64::from(u32::MAX)) as u32,
                locked_until: locked.as_deref().and_then(parse_time),
            })
        }))
    }

    /// Counts a wrong password for `name`; at `limit` wrong ones in a row
    /// the account is locked until `now + lock_for` and the count restarts.
    /// Returns the lock's end when this attempt locked it.
    pub fn staff_sign_in_failed(
        &self,
        name: &str,
        limit: u32,
        lock_for: chrono::TimeDelta,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut db = self.db()?;
        let mut tx = db.begin(Durability::Full)?;
        let failed: Option<i64> = tx
            .query_row(
                "UPDATE staff_accounts SET failed_attempts = failed_attempts + 1
                 WHERE name = ?1 RETURNING failed_attempts",
                params![name],
                |r| r.get(0),
            )
            .optional()?;
        let mut locked = None;
        if failed.is_some_and(|n| n >= i64::from(limit.max(1))) {
            let until = now + lock_for;
            tx.execute(
                "UPDATE staff_accounts SET failed_attempts = 0, locked_until = ?2 WHERE name = ?1",
                params![name, text(until)],
            )?;
            locked = Some(until);
        }
        tx.commit()?;
        Ok(locked)
    }

    /// Starts a session for `name` after a right password: the wrong count
    /// and any lock are cleared. `token_sha256` is the hash of the cookie's
    /// token.
    pub fn start_staff_session(
        &self,
        name: &str,
        token_sha256: &str,
        csrf: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut db = self.db()?;
        let mut tx = db.begin(Durability::Full)?;
        tx.execute(
            "UPDATE staff_accounts SET failed_attempts = 0, locked_until = NULL WHERE name = ?1",
            params![name],
        )?;
        tx.execute(
            "INSERT INTO staff_sessions (token_sha256, account, csrf, created_at, last_seen)
             VALUES (?1, ?2, ?3, ?4, ?4)",
            params![token_sha256, name, csrf, text(now)],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The session of `token_sha256` if it is alive at `now` (used at most
    /// `idle` ago, started at most `max_age` ago); a live one's last use
    /// becomes `now`, an expired one is deleted.
    pub fn touch_staff_session(
        &self,
        token_sha256: &str,
        idle: chrono::TimeDelta,
        max_age: chrono::TimeDelta,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError> {
        let mut db = self.db()?;
        let row: Option<(String, String, String, String, String)> = db
            .query_row(
                "SELECT s.account, a.role, s.csrf, s.created_at, s.last_seen
                 FROM staff_sessions s JOIN staff_accounts a ON a.name = s.account
                 WHERE s.token_sha256 = ?1",
                params![token_sha256],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        let Some((account, role, csrf, created, last)) = row else {
            return Ok(None);
        };
        let (Some(role), Some(created_at), Some(last_seen)) =
            (Role::parse(&role), parse_time(&created), parse_time(&last))
        else {
            db.execute("DELETE FROM staff_sessions WHERE token_sha256 = ?1", params![token_sha256])?;
            return Ok(None);
        };
        if now - last_seen > idle || now - created_at > max_age || now < created_at {
            db.execute("DELETE FROM staff_sessions WHERE token_sha256 = ?1", params![token_sha256])?;
            return Ok(None);
        }
        db.execute(
            "UPDATE staff_sessions SET last_seen = ?2 WHERE token_sha256 = ?1",
            params![token_sha256, text(now)],
        )?;
        Ok(Some(Session { account, role, csrf }))
    }

    /// Ends a session (sign-out).
    pub fn end_staff_session(&self, token_sha256: &str) -> Result<(), StoreError> {
        self.db()?
            .execute("DELETE FROM staff_sessions WHERE token_sha256 = ?1", params![token_sha256])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone};

    #[test]
    fn names_roles_lockout_and_session_expiry() {
        assert!(valid_account_name("wang.li_2"));
        for bad in ["", "staff-1a2b3c4d", "王", "a b", &"x".repeat(33)] {
            assert!(!valid_account_name(bad), "{bad:?}");
        }
        assert!(Role::Supervisor.reads_audit() && !Role::Clerk.reads_audit());
        assert!(Role::Technician.sees_fleet() && !Role::Technician.works_cases());

        let store = Store::open_in_memory().unwrap();
        let t0 = Utc.with_ymd_and_hms(2026, 5, 1, 2, 0, 0).unwrap();
        assert!(store.put_staff_account("li", Role::Clerk, "$argon2id$x", t0).unwrap());
        assert!(!store.put_staff_account("li", Role::Clerk, "$argon2id$y", t0).unwrap());
        let lock = TimeDelta::minutes(15);
        for _ in 0..4 {
            assert_eq!(store.staff_sign_in_failed("li", 5, lock, t0).unwrap(), None);
        }
        assert_eq!(
            store.staff_sign_in_failed("li", 5, lock, t0).unwrap(),
            Some(t0 + lock)
        );
        let acct = store.staff_account("li").unwrap().unwrap();
        assert_eq!(acct.locked_until, Some(t0 + lock));
        assert_eq!(acct.failed_attempts, 0);
        // An unknown account counts nothing and locks nothing.
        assert_eq!(store.staff_sign_in_failed("nobody", 1, lock, t0).unwrap(), None);

        store.start_staff_session("li", "h1", "csrf", t0).unwrap();
        assert!(store.staff_account("li").unwrap().unwrap().locked_until.is_none());
        let idle = TimeDelta::minutes(30);
        let max = TimeDelta::hours(12);
        let s = store
            .touch_staff_session("h1", idle, max, t0 + TimeDelta::minutes(29))
            .unwrap()
            .unwrap();
        assert_eq!((s.account.as_str(), s.role), ("li", Role::Clerk));
        // Used 29 minutes ago: alive; then 31 minutes idle: gone for good.
        assert!(store
            .touch_staff_session("h1", idle, max, t0 + TimeDelta::minutes(58))
            .unwrap()
            .is_some());
        assert!(store
            .touch_staff_session("h1", idle, max, t0 + TimeDelta::minutes(89))
            .unwrap()
            .is_none());
        assert!(store
            .touch_staff_session("h1", idle, max, t0 + TimeDelta::minutes(59))
            .unwrap()
            .is_none());
        // The absolute limit holds however busy the session is.
        store.start_staff_session("li", "h2", "csrf", t0).unwrap();
        let mut at = t0;
        for _ in 0..25 {
            at += TimeDelta::minutes(29);
        }
        let mut alive = true;
        let mut t = t0;
        while t < at {
            t += TimeDelta::minutes(29);
            alive = store.touch_staff_session("h2", idle, max, t).unwrap().is_some();
        }
        assert!(!alive, "a session outlived its absolute limit");
        // A new password ends the sessions.
        store.start_staff_session("li", "h3", "csrf", t0).unwrap();
        store.put_staff_account("li", Role::Supervisor, "$argon2id$z", t0).unwrap();
        assert!(store.touch_staff_session("h3", idle, max, t0).unwrap().is_none());
    }
}
