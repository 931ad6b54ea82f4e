//! Software updates in the registry database: signed RAUC bundles, kept in
//! 1 MiB chunks under their SHA-256 (so a terminal's ranged fetches read only
//! what they ask for, on SQLite and PostgreSQL alike, and the bundles are
//! backed up with the rest), and the staged roll-out that says which
//! terminal should run which version.
//!
//! A roll-out step names a version for one terminal, or for a percentage of
//! the fleet. A terminal's share is a fixed number 0–99 from the SHA-256 of
//! its id, the same for every version: the terminals in a 10 % step are
//! among those of a later 50 % step, so a roll-out widens without swapping
//! who is in it. The newest step that covers a terminal wins; rolling an
//! older version out again is how a bad release is taken back.

use std::io::{Read, Seek, SeekFrom};

use chrono::{DateTime, SecondsFormat, Utc};
use registry_api::{UpdateOffer, UpdateState};
use sha2::{Digest, Sha256};

use super::db::{params, Durability, OptionalExtension, Sql};
use super::{china_time, Store, StoreError};

/// Bytes in one stored chunk of a bundle.
pub const CHUNK_BYTES: usize = 1 << 20;

/// A terminal's fixed share, 0–99, of percentage roll-outs.
pub fn share_of(terminal_id: &str) -> u8 {
    let d = Sha256::digest(terminal_id.as_bytes());
    (u16::from_be_bytes([d[0], d[1]]) % 100) as u8
}

/// One roll-out step, as `registry update list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutStep {
    pub version: String,
    /// One terminal, or `None` for a percentage step.
    pub terminal_id: Option<String>,
    pub percent: Option<u8>,
    pub created_at: String,
}

/// A stored bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleRecord {
    pub version: String,
    pub sha256: String,
    pub size_bytes: u64,
    pub added_at: String,
}

impl Store {
    /// Stores the bundle read from `reader` as `version`; returns its
    /// record. A version already stored with other bytes is refused; the
    /// same bytes again change nothing. The bundle is read twice (hashed,
    /// then stored a chunk at a time), never held whole in memory.
    pub fn add_update_bundle(
        &self,
        version: &str,
        mut reader: impl Read + Seek,
        now: DateTime<Utc>,
    ) -> Result<BundleRecord, StoreError> {
        let mut hasher = Sha256::new();
        let size = std::io::copy(&mut reader, &mut hasher).map_err(StoreError::Io)?;
        let sha256 = hex::encode(hasher.finalize());
        let added_at = china_time(now).to_rfc3339_opts(SecondsFormat::Secs, false);
        let mut db = self.db()?;
        let mut tx = db.begin(Durability::Full)?;
        let earlier: Option<(String, String)> = tx
            .query_row(
                "SELECT sha256, added_at FROM update_bundles WHERE version = ?1",
                params![version],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((earlier_sha, earlier_at)) = earlier {
            if earlier_sha != sha256 {
                return Err(StoreError::Conflict(format!(
                    "version {version} is already stored with other contents"
                )));
            }
            return Ok(BundleRecord {
                version: version.to_owned(),
                sha256,
                size_bytes: size,
                added_at: earlier_at,
            });
        }
        tx.execute(
            "INSERT INTO update_bundles (sha256, version, size_bytes, added_at) VALUES (?1, ?2, ?3, ?4)",
            params![sha256, version, i64::try_from(size).unwrap_or(i64::MAX), added_at],
        )?;
        reader.seek(SeekFrom::Start(0)).map_err(StoreError::Io)?;
        for idx in 0i64.. {
            let mut chunk = Vec::with_capacity(CHUNK_BYTES);
            let n = reader
                .by_ref()
                .take(CHUNK_BYTES as u64)
                .read_to_end(&mut chunk)
                .map_err(StoreError::Io)?;
            if n == 0 {
                break;
            }
            tx.execute(
                "INSERT INTO update_chunks (sha256, idx, data) VALUES (?1, ?2, ?3)",
                params![sha256, idx, chunk],
            )?;
        }
        tx.commit()?;
        Ok(BundleRecord {
            version: version.to_owned(),
            sha256,
            size_bytes: size,
            added_at,
        })
    }

    /// Adds a roll-out step: `version` for `terminal_id`, or for `percent`
    /// of the fleet.
    pub fn add_rollout(
        &self,
        version: &str,
        terminal_id: Option<&str>,
        percent: Option<u8>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if terminal_id.is_some() == percent.is_some() || percent.is_some_and(|p| p > 100) {
            return Err(StoreError::Conflict(
                "name one terminal or a percentage from 0 to 100".into(),
            ));
        }
        let mut db = self.db()?;
        let known: bool = db.query_row(
            "SELECT EXISTS (SELECT 1 FROM update_bundles WHERE version = ?1)",
            params![version],
            |r| r.get(0),
        )?;
        if !known {
            return Err(StoreError::Conflict(format!(
                "no bundle of version {version} is stored"
            )));
        }
        db.execute(
            "INSERT INTO update_rollouts (version, terminal_id, percent, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                version,
                terminal_id,
                percent,
                china_time(now).to_rfc3339_opts(SecondsFormat::Secs, false)
            ],
        )?;
        Ok(())
    }

    /// The roll-out steps, oldest first, and the stored bundles.
    pub fn rollouts(&self) -> Result<(Vec<RolloutStep>, Vec<BundleRecord>), StoreError> {
        let mut db = self.db()?;
        let steps = db.query_map(
            "SELECT version, terminal_id, percent, created_at FROM update_rollouts ORDER BY id",
            params![],
            |r| {
                Ok(RolloutStep {
                    version: r.get(0)?,
                    terminal_id: r.get(1)?,
                    percent: r.get::<_, Option<i64>>(2)?.map(|p| p.clamp(0, 100) as u8),
                    created_at: r.get(3)?,
                })
            },
        )?;
        let bundles = db.query_map(
            "SELECT version, sha256, size_bytes, added_at FROM update_bundles ORDER BY added_at",
            params![],
            |r| {
                Ok(BundleRecord {
                    version: r.get(0)?,
                    sha256: r.get(1)?,
                    size_bytes: r.get::<_, i64>(2)?.max(0) as u64,
                    added_at: r.get(3)?,
                })
            },
        )?;
        Ok((steps, bundles))
    }

    /// The bundle `terminal_id` should run: the newest step covering it.
    pub fn update_for(&self, terminal_id: &str) -> Result<Option<UpdateOffer>, StoreError> {
        let share = i64::from(share_of(terminal_id));
        self.db()?
            .query_row(
                "SELECT b.version, b.sha256, b.size_bytes
                 FROM update_rollouts o JOIN update_bundles b ON b.version = o.version
                 WHERE o.terminal_id = ?1 OR o.percent > ?2
                 ORDER BY o.id DESC LIMIT 1",
                params![terminal_id, share],
                |r| {
                    Ok(UpdateOffer {
                        version: r.get(0)?,
                        sha256: r.get(1)?,
                        size_bytes: r.get::<_, i64>(2)?.max(0) as u64,
                    })
                },
            )
            .optional()
    }

    /// Bytes `start..=end` of the bundle `sha256`, or `None` when there is
    /// no such bundle or the range lies outside it (the end is cut to the
    /// bundle's last byte).
    pub fn bundle_range(
        &self,
        sha256: &str,
        start: u64,
        end: u64,
    ) -> Result<Option<(Vec<u8>, u64)>, StoreError> {
        let mut db = self.db()?;
        let size: Option<i64> = db
            .query_row(
                "SELECT size_bytes FROM update_bundles WHERE sha256 = ?1",
                params![sha256],
                |r| r.get(0),
            )
            .optional()?;
        let Some(size) = size.map(|s| s.max(0) as u64) else {
            return Ok(None);
        };
        if start >= size || end < start {
            return Ok(None);
        }
        let end = end.min(size - 1);
        let chunk = CHUNK_BYTES as u64;
        let (first, last) = (start / chunk, end / chunk);
        let rows = db.query_map(
            "SELECT idx, data FROM update_chunks WHERE sha256 = ?1 AND idx >= ?2 AND idx <= ?3 ORDER BY idx",
            params![sha256, first as i64, last as i64],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)),
        )?;
        let mut out = Vec::with_capacity((end - start + 1) as usize);
        for (idx, data) in rows {
            let base = idx.max(0) as u64 * chunk;
            let from = start.saturating_sub(base) as usize;
            let to = ((end + 1 - base) as usize).min(data.len());
            if from < to {
                out.extend_from_slice(&data[from..to]);
            }
        }
        Ok(Some((out, size)))
    }

    /// Whether `terminal_id` may fetch the bundle `sha256`: only the one
    /// its roll-out names.
    pub fn may_fetch(&self, terminal_id: &str, sha256: &str) -> Result<bool, StoreError> {
        Ok(self
            .update_for(terminal_id)?
            .is_some_and(|o| o.sha256 == sha256))
    }
}

/// The update state a heartbeat reported, back from its column.
pub fn parse_state(s: Option<String>) -> Option<UpdateState> {
    s.as_deref().and_then(UpdateState::parse)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn now() -> DateTime<Utc> {
        chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 1, 2, 0, 0).unwrap()
    }

    #[test]
    fn a_bundle_is_stored_in_chunks_and_read_back_in_any_range() {
        let store = Store::open_in_memory().unwrap();
        let bytes: Vec<u8> = (0..(CHUNK_BYTES * 2 + 1234))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let rec = store.add_update_bundle("1.1.0", Cursor::new(&bytes[..]), now()).unwrap();
        assert_eq!(rec.sha256, hex::encode(Sha256::digest(&bytes)));
        assert_eq!(rec.size_bytes, bytes.len() as u64);
        for (a, b) in [
            (0, 9),
            (CHUNK_BYTES - 3, CHUNK_BYTES + 3),
            (5, bytes.len() + 100),
        ] {
            let (got, size) = store
                .bundle_range(&rec.sha256, a as u64, b as u64)
                .unwrap()
                .unwrap();
            assert_eq!(size, bytes.len() as u64);
            assert_eq!(got, bytes[a..=b.min(bytes.len() - 1)], "{a}..={b}");
        }
        assert!(store
            .bundle_range(&rec.sha256, bytes.len() as u64, u64::MAX)
            .unwrap()
            .is_none());
        assert!(store.bundle_range(&"0".repeat(64), 0, 1).unwrap().is_none());
        // The same bytes again are fine; other bytes under the version are not.
        assert!(store.add_update_bundle("1.1.0", Cursor::new(&bytes[..]), now()).is_ok());
        assert!(matches!(
            store.add_update_bundle("1.1.0", Cursor::new(&b"other"[..]), now()),
            Err(StoreError::Conflict(_))
        ));
    }

    #[test]
    fn a_rollout_widens_from_one_terminal_to_a_share_to_all_and_the_newest_step_wins() {
        let store = Store::open_in_memory().unwrap();
        let v1 = store
            .add_update_bundle("1.1.0", Cursor::new(&b"bundle one"[..]), now())
            .unwrap();
        let v2 = store
            .add_update_bundle("1.2.0", Cursor::new(&b"bundle two"[..]), now())
            .unwrap();
        let fleet: Vec<String> = (0..200).map(|i| format!("hall-{i:03}")).collect();
        let on = |v: &str| {
            fleet
                .iter()
                .filter(|t| store.update_for(t).unwrap().is_some_and(|o| o.version == v))
                .cloned()
                .collect::<Vec<_>>()
        };
        assert!(on("1.1.0").is_empty(), "nothing rolled out yet");
        assert!(matches!(
            store.add_rollout("9.9", None, Some(10), now()),
            Err(StoreError::Conflict(_))
        ));
        assert!(store.add_rollout("1.1.0", None, None, now()).is_err());
        store.add_rollout("1.1.0", None, Some(100), now()).unwrap();
        assert_eq!(on("1.1.0").len(), 200);
        // 1.2.0: the pilot terminal, then 10 %, then 50 %.
        store
            .add_rollout("1.2.0", Some("hall-007"), None, now())
            .unwrap();
        assert_eq!(on("1.2.0"), ["hall-007"]);
        store.add_rollout("1.2.0", None, Some(10), now()).unwrap();
        let ten = on("1.2.0");
        assert!(
            (8..=40).contains(&ten.len()),
            "{} in the 10 % step",
            ten.len()
        );
        store.add_rollout("1.2.0", None, Some(50), now()).unwrap();
        let half = on("1.2.0");
        assert!(
            ten.iter().all(|t| half.contains(t)),
            "a wider step keeps the earlier terminals"
        );
        assert!(
            (70..=130).contains(&half.len()),
            "{} in the 50 % step",
            half.len()
        );
        assert!(store.may_fetch(&half[0], &v2.sha256).unwrap());
        assert!(
            !store.may_fetch(&half[0], &v1.sha256).unwrap(),
            "only the bundle it is offered"
        );
        // Taken back: 1.1.0 for everyone again.
        store.add_rollout("1.1.0", None, Some(100), now()).unwrap();
        assert!(on("1.2.0").is_empty());
        let (steps, bundles) = store.rollouts().unwrap();
        assert_eq!(steps.len(), 5);
        assert_eq!(bundles.len(), 2);
    }
}
