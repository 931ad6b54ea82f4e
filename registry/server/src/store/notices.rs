//! Case work in the registry database: status changes along the documented
//! states with who and when, the written notices issued with them, and the
//! queries of the staff console (the filtered case list, one petitioner's
//! other cases, a page image).
//!
//! A status change and its notice are one transaction: the change is
//! refused unless the case still has the status the clerk saw and the move
//! is allowed ([`allowed`]), and acceptance, non-acceptance and the answer
//! each carry their notice.

use chrono::{DateTime, SecondsFormat, Utc};
use registry_api::{HistoryEntry, Notice};
use super::db::{params, Durability, OptionalExtension, Sql, Value};

use super::{china_time, Store, StoreError};

/// The notice a move needs: acceptance and non-acceptance their 告知书, the
/// answer its 答复意见书; other moves none.
pub fn notice_needed(to: &str) -> Option<&'static str> {
    match to {
        "accepted" => Some("acceptance"),
        "not_accepted" => Some("non_acceptance"),
        "answered" => Some("answer"),
        _ => None,
    }
}

/// Whether a case may move from `from` to `to`: registered → accepted or
/// not_accepted; accepted → in_progress or answered; in_progress →
/// answered; answered and not_accepted → closed.
pub fn allowed(from: &str, to: &str) -> bool {
    matches!(
        (from, to),
        ("registered", "accepted" | "not_accepted")
            | ("accepted", "in_progress" | "answered")
            | ("in_progress", "answered")
            | ("answered" | "not_accepted", "closed")
    )
}

/// The title of a notice of `kind`.
pub fn notice_title(kind: &str) -> &'static str {
    match kind {
        "acceptance" => "受理告知书",
        "non_acceptance" => "不予受理告知书",
        "answer" => "答复意见书",
        _ => "告知书",
    }
}

/// A notice as stored, with who issued it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredNotice {
    pub notice: Notice,
    pub issued_by: String,
}

/// One status change of a case.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatusChange {
    pub from: String,
    pub to: String,
    pub who: String,
    /// RFC 3339, Beijing time.
    pub at: String,
}

/// The outcome of [`Store::change_status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeOutcome {
    Changed,
    UnknownCase,
    /// The case's status is no longer the one the clerk saw (someone else
    /// changed it), or the move is not allowed from it.
    NotAllowed { current: String },
    /// The move needs a notice and none (or an empty one) was given.
    NoticeRequired,
}

/// The case list's filters; `None` or empty means any.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub status: Option<String>,
    pub category: Option<String>,
    /// The hall's name (enrolled terminals) or a terminal id.
    pub hall: Option<String>,
    /// `YYYY-MM-DD`, Beijing time, inclusive.
    pub from: Option<String>,
    pub to: Option<String>,
    pub likely_duplicate: bool,
    /// Only cases whose petitioner has another case.
    pub repeat_petitioner: bool,
}

/// One row of the case list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CaseRow {
    pub case_number: String,
    pub registered_at: String,
    pub terminal_id: String,
    pub hall: Option<String>,
    pub category: String,
    pub status: String,
    /// The petitioner's name (the console masks it in the list).
    pub name: String,
    pub likely_duplicate: bool,
    /// How many other cases the same petitioner has.
    pub other_cases: u32,
    pub page_count: u32,
    /// When the case was last accepted (RFC 3339), if it was.
    pub accepted_at: Option<String>,
}

/// The console's extras of one case, beside its [`registry_api::RegistrationRecord`].
#[derive(Debug, Clone, Default)]
pub struct CaseWork {
    pub status: String,
    pub phone: Option<String>,
    pub likely_duplicate: bool,
    pub hall: Option<String>,
    pub changes: Vec<StatusChange>,
    pub notices: Vec<StoredNotice>,
    /// The same petitioner's other cases (same lookup hash), newest first.
    pub others: Vec<HistoryEntry>,
    /// The petitioner's satisfaction rating, once given at a terminal.
    pub rating: Option<CaseRating>,
}

/// A petitioner's rating of a closed case, as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRating {
    /// 1 to 5.
    pub score: i64,
    /// Reason codes (`registry_api::RATING_REASONS`).
    pub reasons: Vec<String>,
    /// When the petitioner rated it (RFC 3339, as the terminal said).
    pub rated_at: String,
}

fn beijing_now(now: DateTime<Utc>) -> String {
    china_time(now).to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The notices of the registration `id`, oldest first.
fn notices_of(db: &mut impl Sql, id: i64) -> Result<Vec<StoredNotice>, StoreError> {
    db.query_map(
        "SELECT kind, issued_at, title, text, issued_by FROM notices
         WHERE registration_id = ?1 ORDER BY id",
        params![id],
        |r| {
        Ok(StoredNotice {
            notice: Notice {
                kind: r.get(0)?,
                issued_at: r.get(1)?,
                title: r.get(2)?,
                text: r.get(3)?,
            },
            issued_by: r.get(4)?,
        })
    })
}

/// Fills the notices of each history entry (found by case number).
pub(super) fn attach_notices(
    db: &mut impl Sql,
    entries: &mut [HistoryEntry],
) -> Result<(), StoreError> {
    for entry in entries {
        let id: Option<i64> = db
            .query_row(
                "SELECT id FROM registrations WHERE case_number = ?1",
                params![&entry.case_number],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = id {
            entry.notices = notices_of(db, id)?.into_iter().map(|n| n.notice).collect();
        }
    }
    Ok(())
}

impl Store {
    /// Moves `case_number` from `seen` (the status the clerk acted on) to
    /// `to`, recording who and when, with the notice the move needs
    /// (`notice_text`, the text as issued). One transaction.
    pub fn change_status(
        &self,
        case_number: &str,
        seen: &str,
        to: &str,
        notice_text: Option<&str>,
        who: &str,
        now: DateTime<Utc>,
    ) -> Result<ChangeOutcome, StoreError> {
        let kind = notice_needed(to);
        let text = notice_text.map(str::trim).filter(|t| !t.is_empty());
        if kind.is_some() && text.is_none() {
            return Ok(ChangeOutcome::NoticeRequired);
        }
        let mut db = self.db()?;
        let mut tx = db.begin(Durability::Full)?;
        let found: Option<(i64, String)> = tx
            .query_row(
                "SELECT id, status FROM registrations WHERE case_number = ?1",
                params![case_number],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((id, current)) = found else {
            return Ok(ChangeOutcome::UnknownCase);
        };
        if current != seen || !allowed(&current, to) {
            return Ok(ChangeOutcome::NotAllowed { current });
        }
        let at = beijing_now(now);
        tx.execute(
            "UPDATE registrations SET status = ?2 WHERE id = ?1",
            params![id, to],
        )?;
        tx.execute(
            "INSERT INTO status_changes (registration_id, from_status, to_status, who, at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, current, to, who, at],
        )?;
        if let (Some(kind), Some(text)) = (kind, text) {
            tx.execute(
                "INSERT INTO notices (registration_id, kind, title, text, issued_by, issued_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, kind, notice_title(kind), text, who, at],
            )?;
        }
        tx.commit()?;
        Ok(ChangeOutcome::Changed)
    }

    /// The cases matching `filter`, newest first: `limit` rows after
    /// `offset`, and how many match in all.
    pub fn cases(
        &self,
        filter: &CaseFilter,
        limit: u32,
        offset: u32,
    ) -> Result<(Vec<CaseRow>, u64), StoreError> {
        let mut db = self.db()?;
        let mut wheres: Vec<&str> = Vec::new();
        let mut args: Vec<Value> = Vec::new();
        let mut push = |clause: &'static str, value: String| {
            wheres.push(clause);
            args.push(Value::Text(value));
        };
        let some = |v: &Option<String>| v.as_ref().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        if let Some(v) = some(&filter.status) {
            push("r.status = ?", v);
        }
        if let Some(v) = some(&filter.category) {
            push("r.category = ?", v);
        }
        if let Some(v) = some(&filter.hall) {
            push("(t.hall = ? OR r.terminal_id = ?1000)", v);
        }
        if let Some(v) = some(&filter.from) {
            push("substr(r.received_at, 1, 10) >= ?", v);
        }
        if let Some(v) = some(&filter.to) {
            push("substr(r.received_at, 1, 10) <= ?", v);
        }
        // `?1000` above stands for the hall value a second time: rewritten below.
        let mut clauses: Vec<String> = Vec::new();
        let mut n = 0;
        for clause in &wheres {
            n += 1;
            let numbered = clause.replacen('?', &format!("?{n}"), 1);
            clauses.push(numbered.replace("?1000", &format!("?{n}")));
        }
        if filter.likely_duplicate {
            clauses.push("r.likely_duplicate = 1".into());
        }
        if filter.repeat_petitioner {
            clauses.push(
                "EXISTS (SELECT 1 FROM registrations o WHERE o.id_lookup = r.id_lookup AND o.id <> r.id)"
                    .into(),
            );
        }
        let where_sql = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let from_sql = "FROM registrations r LEFT JOIN terminals t ON t.terminal_id = r.terminal_id";
        let total: i64 = db.query_row(
            &format!("SELECT COUNT(*) {from_sql} {where_sql}"),
            &args,
            |r| r.get(0),
        )?;
        let sql = format!(
            "SELECT r.case_number, r.received_at, r.terminal_id, t.hall, r.category, r.status,
                    r.name, r.likely_duplicate,
                    (SELECT COUNT(*) FROM registrations o WHERE o.id_lookup = r.id_lookup AND o.id <> r.id),
                    (SELECT COUNT(*) FROM pages p WHERE p.registration_id = r.id),
                    (SELECT s.at FROM status_changes s WHERE s.registration_id = r.id
                       AND s.to_status = 'accepted' ORDER BY s.id DESC LIMIT 1)
             {from_sql} {where_sql} ORDER BY r.id DESC LIMIT {limit} OFFSET {offset}"
        );
        let rows = db.query_map(&sql, &args, |r| {
            Ok(CaseRow {
                case_number: r.get(0)?,
                registered_at: r.get(1)?,
                terminal_id: r.get(2)?,
                hall: r.get(3)?,
                category: r.get(4)?,
                status: r.get(5)?,
                name: r.get(6)?,
                likely_duplicate: r.get(7)?,
                other_cases: r.get(8)?,
                page_count: r.get(9)?,
                accepted_at: r.get(10)?,
            })
        })?;
        Ok((rows, total.max(0) as u64))
    }

    /// The halls cases came from (for the list's filter), by name.
    pub fn halls(&self) -> Result<Vec<String>, StoreError> {
        let mut db = self.db()?;
        db.query_map(
            "SELECT DISTINCT hall FROM terminals ORDER BY hall",
            params![],
            |r| r.get(0),
        )
    }

    /// The console's extras of one case: status, changes, notices, the
    /// petitioner's other cases. `None` for an unknown case.
    pub fn case_work(&self, case_number: &str) -> Result<Option<CaseWork>, StoreError> {
        let mut db = self.db()?;
        type Head = (i64, String, String, Option<String>, bool, Option<String>);
        let head: Option<Head> = db
            .query_row(
                "SELECT r.id, r.status, r.id_lookup, r.phone, r.likely_duplicate, t.hall
                 FROM registrations r LEFT JOIN terminals t ON t.terminal_id = r.terminal_id
                 WHERE r.case_number = ?1",
                params![case_number],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
            )
            .optional()?;
        let Some((id, status, lookup, phone, likely_duplicate, hall)) = head else {
            return Ok(None);
        };
        let changes = db.query_map(
            "SELECT from_status, to_status, who, at FROM status_changes
             WHERE registration_id = ?1 ORDER BY id",
            params![id],
            |r| {
                Ok(StatusChange {
                    from: r.get(0)?,
                    to: r.get(1)?,
                    who: r.get(2)?,
                    at: r.get(3)?,
                })
            },
        )?;
        let notices = notices_of(&mut db, id)?;
        let rating = db
            .query_row(
                "SELECT score, reasons, rated_at FROM ratings WHERE registration_id = ?1",
                params![id],
                |r| {
                    let reasons: String = r.get(1)?;
                    Ok(CaseRating {
                        score: r.get(0)?,
                        reasons: reasons
                            .split(',')
                            .filter(|c| !c.is_empty())
                            .map(str::to_owned)
                            .collect(),
                        rated_at: r.get(2)?,
                    })
                },
            )
            .optional()?;
        drop(db);
        let mut others = self.history(&lookup)?.registrations;
        others.retain(|e| e.case_number != case_number);
        Ok(Some(CaseWork {
            status,
            phone,
            likely_duplicate,
            hall,
            changes,
            notices,
            others,
            rating,
        }))
    }

    /// The JPEG of page `index` of `case_number`.
    pub fn page_jpeg(&self, case_number: &str, index: u32) -> Result<Option<Vec<u8>>, StoreError> {
        self.db()?
            .query_row(
                "SELECT p.jpeg FROM pages p JOIN registrations r ON r.id = p.registration_id
                 WHERE r.case_number = ?1 AND p.page_index = ?2",
                params![case_number, index],
                |r| r.get(0),
            )
            .optional()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::upload;
    use super::super::RegisterOutcome;
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn moves_follow_the_states_and_carry_their_notices() {
        assert!(allowed("registered", "accepted") && allowed("registered", "not_accepted"));
        assert!(allowed("in_progress", "answered") && allowed("answered", "closed"));
        for (from, to) in [
            ("registered", "closed"),
            ("registered", "answered"),
            ("not_accepted", "accepted"),
            ("closed", "registered"),
            ("accepted", "accepted"),
        ] {
            assert!(!allowed(from, to), "{from} -> {to}");
        }
        let store = Store::open_in_memory().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 5, 1, 2, 0, 0).unwrap();
        let RegisterOutcome::Created(ack) =
            store.register(&upload("a", "X1"), "h", &[], now).unwrap()
        else {
            panic!("not created")
        };
        let case = ack.case_number.as_str();
        let change = |seen: &str, to: &str, text: Option<&str>| {
            store.change_status(case, seen, to, text, "li", now).unwrap()
        };
        assert_eq!(change("registered", "accepted", None), ChangeOutcome::NoticeRequired);
        assert_eq!(change("registered", "accepted", Some("  ")), ChangeOutcome::NoticeRequired);
        assert_eq!(
            change("registered", "closed", None),
            ChangeOutcome::NotAllowed {
                current: "registered".into()
            }
        );
        assert_eq!(change("registered", "accepted", Some("受理。")), ChangeOutcome::Changed);
        // A second clerk acting on the page they saw before is refused.
        assert_eq!(
            change("registered", "not_accepted", Some("不予受理。")),
            ChangeOutcome::NotAllowed {
                current: "accepted".into()
            }
        );
        assert_eq!(change("accepted", "answered", Some("答复。")), ChangeOutcome::Changed);
        assert_eq!(change("answered", "closed", None), ChangeOutcome::Changed);
        let work = store.case_work(case).unwrap().unwrap();
        assert_eq!(work.status, "closed");
        let moves: Vec<_> = work.changes.iter().map(|c| (c.from.as_str(), c.to.as_str())).collect();
        assert_eq!(
            moves,
            [("registered", "accepted"), ("accepted", "answered"), ("answered", "closed")]
        );
        let kinds: Vec<_> = work.notices.iter().map(|n| n.notice.kind.as_str()).collect();
        assert_eq!(kinds, ["acceptance", "answer"]);
        assert_eq!(work.notices[0].notice.title, "受理告知书");
        assert_eq!(work.notices[0].issued_by, "li");
        // The history the terminal gets carries them.
        let key = store.id_lookup_key(&kiosk_privacy::IdNumber::new("X1"));
        let history = store.history(&key).unwrap();
        assert_eq!(history.registrations[0].notices.len(), 2);
        assert_eq!(history.registrations[0].notices[1].text, "答复。");
    }

    #[test]
    fn the_case_list_filters_and_pages() {
        let store = Store::open_in_memory().unwrap();
        let day = |d: u32| Utc.with_ymd_and_hms(2026, 5, d, 2, 0, 0).unwrap();
        let mut keys = 0;
        let mut reg = |id: &str, category: &str, at: DateTime<Utc>| {
            keys += 1;
            let mut up = upload(&format!("k{keys}"), id);
            up.category = category.into();
            store.register(&up, "h", &[], at).unwrap();
        };
        reg("A", "labour", day(1));
        reg("B", "land", day(2));
        reg("A", "land", day(3));
        reg("C", "labour", day(4));
        let all = store.cases(&CaseFilter::default(), 50, 0).unwrap();
        assert_eq!(all.1, 4);
        assert_eq!(all.0[0].case_number, "XF-2026-000004");
        let f = CaseFilter {
            category: Some("land".into()),
            ..Default::default()
        };
        assert_eq!(store.cases(&f, 50, 0).unwrap().1, 2);
        let f = CaseFilter {
            repeat_petitioner: true,
            ..Default::default()
        };
        let (rows, n) = store.cases(&f, 50, 0).unwrap();
        assert_eq!(n, 2);
        assert!(rows.iter().all(|r| r.other_cases == 1));
        let f = CaseFilter {
            from: Some("2026-05-02".into()),
            to: Some("2026-05-03".into()),
            ..Default::default()
        };
        assert_eq!(store.cases(&f, 50, 0).unwrap().1, 2);
        let f = CaseFilter {
            hall: Some("T-SPECIMEN".into()),
            status: Some("registered".into()),
            ..Default::default()
        };
        let (page2, n) = store.cases(&f, 3, 3).unwrap();
        assert_eq!((page2.len(), n), (1, 4));
        assert_eq!(page2[0].case_number, "XF-2026-000001");
    }
}
