//! Queue tickets (叫号) for halls that run a counter queue: after a
//! registration the terminal issues the next number of the day ("A023") and
//! prints it for the clerk's window.
//!
//! The day's last number is kept in a small file beside the queue, written
//! whole to a temporary file, synced and renamed, so a power cut never hands
//! out a number twice; a new day starts again at 1.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

/// Errors of issuing a ticket number.
#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    #[error("cannot keep the ticket counter in {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Issues ticket numbers, one counter per day.
#[derive(Debug, Clone)]
pub struct TicketCounter {
    path: PathBuf,
    prefix: String,
}

impl TicketCounter {
    pub fn new(path: &Path, prefix: &str) -> Self {
        TicketCounter {
            path: path.to_path_buf(),
            prefix: prefix.to_string(),
        }
    }

    /// The next number of `day`, e.g. `A001`, `A002`, … (`A1000` past 999).
    pub fn issue(&self, day: NaiveDate) -> Result<String, TicketError> {
        let io = |source| TicketError::Io {
            path: self.path.clone(),
            source,
        };
        let today = day.format("%Y-%m-%d").to_string();
        // A missing or unreadable file starts the day afresh.
        let last = std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|s| {
                let (date, n) = s.trim().split_once(' ')?;
                (date == today).then(|| n.parse::<u32>().ok()).flatten()
            })
            .unwrap_or(0);
        let next = last + 1;
        let tmp = self.path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        writeln!(f, "{today} {next}").map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)?;
        Ok(format!("{}{next:03}", self.prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_count_up_per_day_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tickets");
        let day = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let c = TicketCounter::new(&path, "A");
        assert_eq!(c.issue(day).unwrap(), "A001");
        assert_eq!(c.issue(day).unwrap(), "A002");
        // A new counter on the same file (a restart) goes on.
        assert_eq!(TicketCounter::new(&path, "A").issue(day).unwrap(), "A003");
        assert_eq!(c.issue(day.succ_opt().unwrap()).unwrap(), "A001");
        std::fs::write(&path, "garbage").unwrap();
        assert_eq!(c.issue(day).unwrap(), "A001");
        let blocked = TicketCounter::new(&dir.path().join("no/such/dir/tickets"), "B");
        assert!(blocked.issue(day).is_err());
    }
}
