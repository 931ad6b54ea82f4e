//! `kiosk queue`: the technician's view of the local queue, and the texts the
//! screen shows when the queue refuses a registration.
//!
//! `kiosk queue` prints the queue depth, the age of the oldest registration not
//! yet sent, the failed registrations with their reasons and the latest
//! receipts (all masked); `kiosk queue resend <local-ref>` (or `--all-failed`)
//! puts failed registrations back in line after the cause has been fixed.
//! The queue holds no readable personal data, so nothing here can print any.
#![allow(clippy::print_stdout)] // A command-line tool: its output is for the technician.

use std::time::Duration;

use anyhow::bail;
use kiosk_queue::Queue;

use crate::Config;

/// What `kiosk queue` does.
#[derive(Debug, Clone, clap::Args)]
pub struct QueueArgs {
    #[command(subcommand)]
    pub cmd: Option<QueueCmd>,
    /// How many recent receipts to list.
    #[arg(long, default_value_t = 20)]
    pub recent: usize,
}

/// The `kiosk queue` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum QueueCmd {
    /// Put failed registrations back to pending, to be uploaded again.
    Resend {
        /// Local references of the failed registrations (as `kiosk queue` lists them).
        local_refs: Vec<String>,
        /// Resend every failed registration.
        #[arg(long)]
        all_failed: bool,
    },
    /// Seal one SPECIMEN registration (no real person's data) into the queue,
    /// as a visit would: for the image boot test, which checks that a queued
    /// registration survives a power cut. Hidden: a terminal in service has no
    /// use for it (the registry would register it like any other).
    #[command(hide = true)]
    SealSpecimen,
}

/// Runs `kiosk queue` against the queue of `cfg`.
pub fn run(cfg: &Config, args: &QueueArgs) -> anyhow::Result<()> {
    let q = Queue::open(&cfg.queue.path)?;
    match &args.cmd {
        None => print!("{}", report(&q, args.recent)?),
        Some(QueueCmd::Resend {
            local_refs,
            all_failed,
        }) => {
            let mut refs = local_refs.clone();
            if *all_failed {
                refs.extend(q.failed_receipts()?.into_iter().map(|r| r.local_ref));
            }
            if refs.is_empty() {
                bail!("name the registrations to resend, or pass --all-failed");
            }
            for r in refs {
                if q.resend(&r)? {
                    println!("{r}: back in the queue");
                } else {
                    println!("{r}: not a failed registration; unchanged");
                }
            }
            println!("the running kiosk picks them up within its next poll");
        }
        Some(QueueCmd::SealSpecimen) => {
            let q = Queue::open_with(&cfg.queue.path, cfg.queue_options()?)?;
            let receipt = q.seal(&specimen(&cfg.terminal.id))?;
            println!("sealed SPECIMEN registration {}", receipt.local_ref);
        }
    }
    Ok(())
}

/// A SPECIMEN registration of this terminal: made-up identity, one tiny page.
fn specimen(terminal_id: &str) -> registry_api::RegistrationUpload {
    use kiosk_privacy::{Address, IdNumber, PersonName, PersonalText};
    let now = chrono::Local::now();
    let key = uuid::Uuid::new_v4();
    registry_api::RegistrationUpload {
        voice_note: None,
        repeat: None,
        assisted: false,
        identity_typed: false,
        fields: vec![],
        idempotency_key: key.to_string(),
        terminal_id: terminal_id.to_string(),
        local_ref: format!(
            "{terminal_id}-SPECIMEN-{}",
            &key.simple().to_string()[..4].to_uppercase()
        ),
        sealed_at: now.to_rfc3339(),
        petitioner: registry_api::Petitioner {
            doc_type: "resident".into(),
            id_number: IdNumber::new("11010519491231002X"),
            name: PersonName::new("样本人"),
            sex: 1,
            birth: Some("1949-12-31".into()),
            address: Address::new("SPECIMEN 样本路1号"),
        },
        category: "other".into(),
        description: PersonalText::new("SPECIMEN 开机测试"),
        phone: None,
        pages: vec![registry_api::PageUpload::new(
            1,
            b"\xff\xd8SPECIMEN",
            PersonalText::new("SPECIMEN"),
            0.0,
        )],
    }
}

/// The status report `kiosk queue` prints.
pub fn report(q: &Queue, recent: usize) -> anyhow::Result<String> {
    use std::fmt::Write as _;
    let s = q.summary(chrono::Utc::now())?;
    let c = s.counts;
    let mut out = String::new();
    writeln!(
        out,
        "queue depth {} (pending {}, uploading {})",
        c.pending + c.uploading,
        c.pending,
        c.uploading
    )?;
    writeln!(out, "acknowledged {}, failed {}", c.acknowledged, c.failed)?;
    match s.oldest_unsent_age {
        Some(age) => writeln!(out, "oldest unsent {}", human(age))?,
        None => writeln!(out, "oldest unsent: none, everything is sent")?,
    }
    match q.free_bytes() {
        Ok(free) => writeln!(out, "free disk space {} MB", free / (1024 * 1024))?,
        Err(e) => writeln!(out, "free disk space unknown: {e}")?,
    }
    let failed = q.failed_receipts()?;
    if !failed.is_empty() {
        writeln!(
            out,
            "failed registrations (resend with `kiosk queue resend <ref>`):"
        )?;
        for r in failed {
            writeln!(
                out,
                "  {} sealed {} {} pages={} id={} attempts={} reason: {}",
                r.local_ref,
                r.sealed_at,
                r.category,
                r.page_count,
                r.masked_id,
                r.attempts,
                r.last_error.as_deref().unwrap_or("-")
            )?;
        }
    }
    // Ratings: not personal (a case number and a score), listed unless sent.
    let ratings = q.ratings()?;
    let unsent: Vec<_> = ratings
        .iter()
        .filter(|r| r.status != "acknowledged")
        .collect();
    writeln!(
        out,
        "ratings {} (sent {}, not yet sent {})",
        ratings.len(),
        ratings.len() - unsent.len(),
        unsent.len()
    )?;
    for r in unsent {
        writeln!(
            out,
            "  case={} score={} {} attempts={} reason: {}",
            r.case_number,
            r.score,
            r.status,
            r.attempts,
            r.last_error.as_deref().unwrap_or("-")
        )?;
    }
    writeln!(out, "latest receipts:")?;
    for r in q.recent_receipts(recent)? {
        writeln!(
            out,
            "  {} {} {} pages={} id={} {} case={}",
            r.sealed_at,
            r.local_ref,
            r.category,
            r.page_count,
            r.masked_id,
            r.status,
            r.case_number.as_deref().unwrap_or("-")
        )?;
    }
    Ok(out)
}

/// `3 d 4 h`, `5 h 2 min`, `42 s`.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        7200..=172_799 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_queue::test_utils::{specimen_options, specimen_upload};

    #[test]
    fn seal_specimen_queues_one_sealed_registration() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = Config::default();
        cfg.provision_local_keys(dir.path()).unwrap();
        cfg.queue.path = dir.path().join("q.db");
        cfg.queue.min_free_mb = 0;
        let args = QueueArgs {
            cmd: Some(QueueCmd::SealSpecimen),
            recent: 5,
        };
        run(&cfg, &args).unwrap();
        run(&cfg, &args).unwrap();
        let q = Queue::open(&cfg.queue.path).unwrap();
        assert_eq!(q.counts().unwrap().pending, 2);
        let receipts = q.recent_receipts(5).unwrap();
        assert!(receipts.iter().all(|r| r.local_ref.contains("-SPECIMEN-")));
        assert_ne!(receipts[0].local_ref, receipts[1].local_ref);
        // Sealed like any registration: the plain text is not in the file.
        let bytes = std::fs::read(&cfg.queue.path).unwrap();
        let needle = "开机测试".as_bytes();
        assert!(!bytes.windows(needle.len()).any(|w| w == needle));
    }

    #[test]
    fn the_report_shows_depth_age_and_failures_without_personal_data() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::open_with(&dir.path().join("q.db"), specimen_options()).unwrap();
        q.seal(&specimen_upload(1)).unwrap();
        q.seal(&specimen_upload(2)).unwrap();
        let c = q.claim_next(chrono::Utc::now()).unwrap().unwrap();
        q.mark_failed(
            c.id,
            "registry rejected the request (400): bad_request: category",
        )
        .unwrap();
        let text = report(&q, 5).unwrap();
        assert!(
            text.contains("queue depth 1 (pending 1, uploading 0)"),
            "{text}"
        );
        assert!(text.contains("failed 1"), "{text}");
        assert!(text.contains("oldest unsent"), "{text}");
        assert!(
            text.contains("L-SPECIMEN-0001") && text.contains("reason: registry rejected"),
            "{text}"
        );
        assert!(
            !text.contains("11010519491231002X") && !text.contains("样本人"),
            "{text}"
        );
        assert!(q.resend("L-SPECIMEN-0001").unwrap());
        assert!(report(&q, 5).unwrap().contains("queue depth 2"));

        q.queue_rating(&kiosk_queue::NewRating {
            idempotency_key: "rating-1".into(),
            case_number: "XF-2026-000007".into(),
            id_number: kiosk_privacy::IdNumber::new("11010519491231002X"),
            score: 4,
            reasons: vec!["timely".into()],
            rated_at: "2026-11-28T10:00:00+08:00".into(),
        })
        .unwrap();
        let text = report(&q, 5).unwrap();
        assert!(
            text.contains("ratings 1 (sent 0, not yet sent 1)")
                && text.contains("case=XF-2026-000007 score=4 pending"),
            "{text}"
        );
    }

    #[test]
    fn refusals_have_clear_texts() {
        let low = kiosk_queue::QueueError::LowDiskSpace {
            available_mb: 10,
            floor_mb: 200,
        };
        assert!(crate::view::seal_failure_text(&low).contains("存储空间不足"));
        assert_eq!(human(Duration::from_secs(190_000)), "2 d 4 h");
        assert_eq!(human(Duration::from_secs(42)), "42 s");
    }
}
