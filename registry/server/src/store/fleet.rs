//! The fleet in the registry database: each terminal's latest heartbeat
//! (queue, printer, free disk, update state), and every known terminal
//! (enrolled, or seen through its heartbeats) with its hall and that report.

use chrono::{DateTime, SecondsFormat, Utc};
use registry_api::{Heartbeat, PrinterReport};

use super::db::{params, Durability, Sql};
use super::{china_time, HeartbeatRecord, Store, StoreError};

/// One terminal as the fleet view reads it from the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetRecord {
    pub terminal_id: String,
    /// The hall of an enrolled terminal; `None` for a terminal known by
    /// its token only.
    pub hall: Option<String>,
    /// `pending`, `active` or `revoked` for an enrolled terminal.
    pub enrollment: Option<String>,
    /// When its latest heartbeat came (RFC 3339), if one ever did.
    pub last_heartbeat_at: Option<DateTime<Utc>>,
    pub queue_depth: Option<u64>,
    pub failed: Option<u64>,
    pub oldest_unsent_age_s: Option<u64>,
    pub printer: Option<PrinterReport>,
    pub free_disk_mb: Option<u64>,
    pub version: Option<String>,
    /// What its latest heartbeat said about the update it was offered.
    pub update: Option<registry_api::UpdateReport>,
}

fn count(v: Option<i64>) -> Option<u64> {
    v.map(|n| n.max(0) as u64)
}

/// The update report a heartbeat stored, back from its two columns.
pub(super) fn update_report(target: Option<String>, state: Option<String>) -> Option<registry_api::UpdateReport> {
    Some(registry_api::UpdateReport {
        target_version: target?,
        state: super::updates::parse_state(state)?,
    })
}

impl Store {
    /// Records a terminal's heartbeat, replacing its previous one.
    pub fn heartbeat(&self, hb: &Heartbeat, now: DateTime<Utc>) -> Result<(), StoreError> {
        let received_at = china_time(now).to_rfc3339_opts(SecondsFormat::Millis, false);
        let mut db = self.db()?;
        db.durability(Durability::Staging)?;
        db.execute(
            "INSERT INTO heartbeats (terminal_id, received_at, queue_depth, failed,
                 oldest_unsent_age_s, version, printer, free_disk_mb, update_target, update_state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (terminal_id) DO UPDATE SET received_at = ?2, queue_depth = ?3,
                 failed = ?4, oldest_unsent_age_s = ?5, version = ?6, printer = ?7,
                 free_disk_mb = ?8, update_target = ?9, update_state = ?10",
            params![
                hb.terminal_id,
                received_at,
                i64::try_from(hb.queue_depth).unwrap_or(i64::MAX),
                i64::try_from(hb.failed).unwrap_or(i64::MAX),
                hb.oldest_unsent_age_s
                    .map(|a| i64::try_from(a).unwrap_or(i64::MAX)),
                hb.version,
                hb.printer.map(registry_api::PrinterReport::as_str),
                hb.free_disk_mb.map(|mb| i64::try_from(mb).unwrap_or(i64::MAX)),
                hb.update.as_ref().map(|u| u.target_version.clone()),
                hb.update.as_ref().map(|u| u.state.as_str()),
            ],
        )?;
        Ok(())
    }

    /// The latest heartbeat of every terminal, by terminal id.
    pub fn heartbeats(&self) -> Result<Vec<HeartbeatRecord>, StoreError> {
        self.db()?.query_map(
            "SELECT terminal_id, received_at, queue_depth, failed, oldest_unsent_age_s, version,
                    printer, free_disk_mb, update_target, update_state
             FROM heartbeats ORDER BY terminal_id",
            params![],
            |row| {
            Ok(HeartbeatRecord {
                received_at: row.get(1)?,
                heartbeat: Heartbeat {
                    terminal_id: row.get(0)?,
                    queue_depth: row.get::<_, i64>(2)?.max(0) as u64,
                    failed: row.get::<_, i64>(3)?.max(0) as u64,
                    oldest_unsent_age_s: row.get::<_, Option<i64>>(4)?.map(|a| a.max(0) as u64),
                    version: row.get(5)?,
                    printer: row
                        .get::<_, Option<String>>(6)?
                        .as_deref()
                        .and_then(registry_api::PrinterReport::parse),
                    free_disk_mb: row.get::<_, Option<i64>>(7)?.map(|mb| mb.max(0) as u64),
                    update: update_report(row.get(8)?, row.get(9)?),
                },
            })
        })
    }

    /// Every terminal known from the terminals table or a heartbeat, by id.
    pub fn fleet(&self) -> Result<Vec<FleetRecord>, StoreError> {
        self.db()?.query_map(
            "SELECT ids.terminal_id, t.hall, t.status, h.received_at, h.queue_depth, h.failed,
                    h.oldest_unsent_age_s, h.printer, h.free_disk_mb, h.version,
                    h.update_target, h.update_state
             FROM (SELECT terminal_id FROM terminals UNION SELECT terminal_id FROM heartbeats) ids
             LEFT JOIN terminals t ON t.terminal_id = ids.terminal_id
             LEFT JOIN heartbeats h ON h.terminal_id = ids.terminal_id
             ORDER BY ids.terminal_id",
            params![],
            |r| {
            Ok(FleetRecord {
                terminal_id: r.get(0)?,
                hall: r.get(1)?,
                enrollment: r.get(2)?,
                last_heartbeat_at: r
                    .get::<_, Option<String>>(3)?
                    .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
                    .map(|t| t.with_timezone(&Utc)),
                queue_depth: count(r.get(4)?),
                failed: count(r.get(5)?),
                oldest_unsent_age_s: count(r.get(6)?),
                printer: r.get::<_, Option<String>>(7)?.as_deref().and_then(PrinterReport::parse),
                free_disk_mb: count(r.get(8)?),
                version: r.get(9)?,
                update: update_report(r.get(10)?, r.get(11)?),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use registry_api::Heartbeat;

    #[test]
    fn the_fleet_joins_enrolled_terminals_and_heartbeats() {
        let store = Store::open_in_memory().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 5, 1, 2, 0, 0).unwrap();
        store
            .issue_enrollment("hall-01", "东岭镇便民服务中心", &[0; 32], now, now)
            .unwrap();
        let hb = Heartbeat {
            terminal_id: "tok-9".into(),
            queue_depth: 2,
            failed: 1,
            oldest_unsent_age_s: Some(30),
            version: "0.1.0".into(),
            printer: Some(PrinterReport::PaperOut),
            free_disk_mb: Some(420),
            update: None,
        };
        store.heartbeat(&hb, now).unwrap();
        let fleet = store.fleet().unwrap();
        assert_eq!(fleet.len(), 2);
        assert_eq!(fleet[0].terminal_id, "hall-01");
        assert_eq!(fleet[0].hall.as_deref(), Some("东岭镇便民服务中心"));
        assert_eq!(fleet[0].last_heartbeat_at, None);
        assert_eq!(fleet[1].printer, Some(PrinterReport::PaperOut));
        assert_eq!(fleet[1].free_disk_mb, Some(420));
        assert_eq!(fleet[1].last_heartbeat_at, Some(now));
        // A heartbeat without the new fields clears them.
        let bare = Heartbeat {
            printer: None,
            free_disk_mb: None,
            update: None,
            ..hb
        };
        store.heartbeat(&bare, now).unwrap();
        assert_eq!(store.fleet().unwrap()[1].printer, None);
    }
}
