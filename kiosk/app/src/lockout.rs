//! The staff PIN lockout across restarts: the machine counts wrong PINs on
//! its monotonic clock, which starts again with the process, so the count
//! and the end of the lock are kept in a small file beside the queue (wall
//! clock, written whole to a temporary file, synced and renamed). Without it,
//! pulling the plug would give whoever guesses PINs five new tries.
//!
//! A file that cannot be read as written counts as a locked login (five
//! failures, the first lock): failing closed costs a technician five
//! minutes, failing open would cost the lock.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use intake::{Lockout, Millis};

/// Where the lockout of the queue at `queue_path` is kept.
pub fn path_beside(queue_path: &Path) -> PathBuf {
    queue_path.with_file_name("staff-lockout")
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The lockout saved at `path`, as of `now` on the machine's clock and
/// `wall` on the wall clock. No file: no failures.
pub fn load(path: &Path, now: Millis, wall: SystemTime) -> Lockout {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Lockout::default(),
        Err(e) => {
            log::error!("staff lockout unreadable ({e}); the login stays locked");
            return locked(now);
        }
    };
    let mut parts = text.split_whitespace().map(str::parse::<u64>);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(Ok(failures)), Some(Ok(until)), None) => {
            let left = Duration::from_millis(until.saturating_sub(unix_ms(wall)));
            Lockout::restored(u32::try_from(failures).unwrap_or(u32::MAX), left, now)
        }
        _ => {
            log::error!("staff lockout file is damaged; the login stays locked");
            locked(now)
        }
    }
}

fn locked(now: Millis) -> Lockout {
    let mut l = Lockout::default();
    for _ in 0..intake::staff::FREE_ATTEMPTS {
        l.failed(now);
    }
    l
}

/// Writes `lockout` (as of `now` and `wall`) to `path`, replacing it whole.
pub fn save(path: &Path, lockout: &Lockout, now: Millis, wall: SystemTime) -> std::io::Result<()> {
    let until = unix_ms(wall) + lockout.locked_for(now).as_millis() as u64;
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        writeln!(f, "{} {until}", lockout.failures())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_survives_a_restart_and_ends_on_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_beside(&dir.path().join("queue.db"));
        let wall = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        // Five wrong PINs at 10 s into the old process: locked for 5 minutes.
        let mut before = Lockout::default();
        for _ in 0..5 {
            before.failed(Millis(10_000));
        }
        assert_eq!(before.check(Millis(10_000)), Err(300));
        save(&path, &before, Millis(10_000), wall).unwrap();
        // The new process's clock starts at 0; a minute has passed on the wall.
        let after = load(&path, Millis(0), wall + Duration::from_secs(60));
        assert_eq!(after.check(Millis(0)), Err(240));
        assert_eq!(after.failures(), 5);
        assert!(after.check(Millis(240_000)).is_ok());
        // A sixth wrong PIN after the restart doubles the lock, as without one.
        let mut after = after;
        assert_eq!(after.failed(Millis(240_000)), Some(Duration::from_secs(600)));
    }

    #[test]
    fn no_file_is_no_failure_and_a_damaged_file_keeps_the_login_locked() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_beside(&dir.path().join("queue.db"));
        let wall = SystemTime::now();
        assert_eq!(load(&path, Millis(5), wall), Lockout::default());
        std::fs::write(&path, "five 123\n").unwrap();
        let l = load(&path, Millis(5), wall);
        assert_eq!(l.check(Millis(5)), Err(300));
        // A clock set back cannot make the lock longer than the longest.
        save(&path, &l, Millis(5), wall + Duration::from_secs(86_400)).unwrap();
        let l = load(&path, Millis(0), wall);
        assert!(l.locked_for(Millis(0)) <= intake::staff::MAX_LOCK);
    }
}
