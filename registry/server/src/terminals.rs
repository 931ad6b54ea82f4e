//! The terminals the registry accepts: each token, by its SHA-256 digest,
//! and the terminal id it is bound to.
//!
//! A token line is `TERMINAL_ID TOKEN` (bound: the terminal's uploads,
//! heartbeats and ratings are recorded under that id, whatever their body
//! says) or a bare `TOKEN` (unbound, the older form: the body's id is taken,
//! and the registry warns at start). Served from a token file, the set is
//! read again when the file changes (checked at most once a second, on
//! requests), so removing a terminal's line revokes it at its next request
//! without a restart. A file that cannot be read keeps the set in force.

use std::path::PathBuf;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};

/// One accepted terminal token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub digest: [u8; 32],
    /// The terminal id the token is bound to, if it is.
    pub terminal_id: Option<String>,
}

/// True when `a` and `b` are equal, compared in full whatever byte first
/// differs, so the time tells a guesser nothing.
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Parses token lines (`TERMINAL_ID TOKEN` or `TOKEN`).
pub(crate) fn parse(lines: &[String]) -> Vec<Entry> {
    lines
        .iter()
        .map(|line| line.trim())
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let mut words = line.split_whitespace();
            let (id, token) = match (words.next(), words.next()) {
                (Some(id), Some(token)) => (Some(id.to_owned()), token),
                (Some(token), None) => (None, token),
                _ => (None, line),
            };
            Entry {
                digest: Sha256::digest(token.as_bytes()).into(),
                terminal_id: id,
            }
        })
        .collect()
}

/// The accepted terminal tokens, kept up to date with their file.
#[derive(Debug)]
pub(crate) struct Terminals {
    entries: RwLock<Vec<Entry>>,
    file: Option<PathBuf>,
    /// When the file was last looked at, and its modification time then.
    checked: Mutex<(Instant, Option<SystemTime>)>,
}

const RECHECK: Duration = Duration::from_secs(1);

impl Terminals {
    pub fn new(entries: Vec<Entry>, file: Option<PathBuf>) -> Terminals {
        let modified = file
            .as_ref()
            .and_then(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok());
        Terminals {
            entries: RwLock::new(entries),
            file,
            checked: Mutex::new((Instant::now(), modified)),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.read().map(|e| e.len()).unwrap_or(0)
    }

    /// The entry whose digest is `digest`; every entry is compared in full,
    /// so the time does not depend on where a guessed token first differs.
    pub fn find(&self, digest: &[u8; 32]) -> Option<Entry> {
        self.reload_if_changed();
        let entries = self.entries.read().ok()?;
        let mut found = None;
        for e in entries.iter() {
            if same_bytes(&e.digest, digest) {
                found = Some(e.clone());
            }
        }
        found
    }

    fn reload_if_changed(&self) {
        let Some(file) = &self.file else { return };
        let Ok(mut checked) = self.checked.lock() else {
            return;
        };
        if checked.0.elapsed() < RECHECK {
            return;
        }
        checked.0 = Instant::now();
        let modified = std::fs::metadata(file).and_then(|m| m.modified()).ok();
        if modified.is_none() || modified == checked.1 {
            return;
        }
        match std::fs::read_to_string(file) {
            Ok(text) => {
                let lines: Vec<String> = text.lines().map(str::to_owned).collect();
                let entries = parse(&lines);
                if let Ok(mut e) = self.entries.write() {
                    log::info!(
                        "terminal tokens reloaded: {} (were {})",
                        entries.len(),
                        e.len()
                    );
                    *e = entries;
                }
                checked.1 = modified;
            }
            Err(err) => log::error!("cannot read the terminal token file again ({err}); the tokens in force stay"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_bind_tokens_to_terminal_ids() {
        let e = parse(&[
            "hall-01 secret-one".into(),
            "# a comment".into(),
            "".into(),
            "  legacy-token  ".into(),
        ]);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].terminal_id.as_deref(), Some("hall-01"));
        assert_eq!(e[0].digest, <[u8; 32]>::from(Sha256::digest(b"secret-one")));
        assert_eq!(e[1].terminal_id, None);
        assert_eq!(e[1].digest, <[u8; 32]>::from(Sha256::digest(b"legacy-token")));
    }
}
