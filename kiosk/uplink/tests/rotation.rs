//! Rotating the registry's sealing key while rows are still queued on a
//! terminal: the real registry on loopback, a real queue and the real uplink.
//!
//! Each sealed box names the key it was sealed to; the registry keeps its old
//! secret key for opening (`old_seal_keys`, `--old-seal-key-file`), so rows
//! sealed before the rotation upload and get case numbers, while the
//! terminal, once given the new public key, seals new rows to the new key.

use std::path::Path;
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use kiosk_queue::test_utils::specimen_upload;
use kiosk_queue::{Queue, QueueOptions, Status};
use kiosk_uplink::{Uplink, UplinkConfig, UplinkEvent};
use registry::{RegistryConfig, RunningRegistry, SealSecretKey};
use registry_api::envelope::{box_key_id, SealKeyId};

const TOKEN: &str = "SPECIMEN-TERMINAL-01 specimen-rotation-token";

/// A fresh directory and the path of the terminal's queue file in it.
fn queue_file() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.sqlite");
    (dir, path)
}

fn queue_options(key: &SealSecretKey) -> QueueOptions {
    QueueOptions {
        seal_key: Some(key.public_key()),
        min_free_bytes: 0,
        ..QueueOptions::default()
    }
}

/// The key ids named by the boxes of `local_ref` in the queue file: its
/// metadata box, then its page boxes.
fn key_ids_of(path: &Path, local_ref: &str) -> Vec<Option<SealKeyId>> {
    let db = rusqlite::Connection::open(path).unwrap();
    let (id, payload): (i64, Vec<u8>) = db
        .query_row(
            "SELECT id, payload FROM registrations WHERE local_ref = ?1",
            [local_ref],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let mut stmt = db
        .prepare("SELECT sealed FROM sealed_pages WHERE registration_id = ?1 ORDER BY page_index")
        .unwrap();
    let pages: Vec<Vec<u8>> = stmt
        .query_map([id], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    std::iter::once(payload)
        .chain(pages)
        .map(|b| box_key_id(&b).map(|(id, _)| id))
        .collect()
}

fn registry_config(dir: &Path, current: &SealSecretKey, old: Vec<SealSecretKey>) -> RegistryConfig {
    RegistryConfig {
        database: dir.join("registry.db").into(),
        tokens: vec![TOKEN.into()],
        token_file: None,
        staff_tokens: Vec::new(),
        history_limit: registry::HistoryLimit::default(),
        seal_key: current.clone(),
        old_seal_keys: old,
        lookup_key: registry::LookupKey::generate(),
        tls: None,
        staged_max_age: registry::DEFAULT_STAGED_MAX_AGE,
        limits: Default::default(),
        staging: Default::default(),
        console: Default::default(),
    }
}

fn uplink_config(url: String) -> UplinkConfig {
    UplinkConfig {
        base_url: url,
        token: TOKEN.split_once(' ').unwrap().1.into(),
        terminal_id: "SPECIMEN-TERMINAL-01".into(),
        heartbeat_interval: Duration::ZERO,
        tls: None,
        request_timeout: Duration::from_secs(5),
        min_backoff: Duration::from_millis(40),
        max_backoff: Duration::from_millis(200),
        printer: kiosk_uplink::PrinterSlot::default(),
        updates: Default::default(),
    }
}

/// Starts the real registry on loopback with `current` and `old` sealing
/// keys, and the uplink of the queue `dir/queue.sqlite`, woken.
fn start(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    current: &SealSecretKey,
    old: Vec<SealSecretKey>,
) -> (RunningRegistry, Uplink, Receiver<UplinkEvent>) {
    let reg = rt
        .block_on(registry::start(
            registry_config(dir, current, old),
            "127.0.0.1:0".parse().unwrap(),
        ))
        .unwrap();
    let (tx, rx) = channel();
    let uplink =
        Uplink::spawn(dir.join("queue.sqlite"), uplink_config(reg.base_url()), tx).unwrap();
    uplink.wake();
    (reg, uplink, rx)
}

/// Acknowledgements until `n` rows are acknowledged (failures and retries
/// are reported and fail the test).
fn acks(rx: &Receiver<UplinkEvent>, n: usize) -> Vec<(String, String)> {
    let mut acked = Vec::new();
    while acked.len() < n {
        match rx
            .recv_timeout(Duration::from_secs(20))
            .expect("no uplink event in time")
        {
            UplinkEvent::Acknowledged {
                local_ref,
                case_number,
                ..
            } => acked.push((local_ref, case_number)),
            other => panic!("expected an acknowledgement, got {other:?}"),
        }
    }
    acked.sort();
    acked
}

#[test]
fn rows_queued_before_a_key_rotation_upload_and_new_rows_are_sealed_to_the_new_key() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (dir, path) = queue_file();
    let (key1, key2) = (SealSecretKey::generate(), SealSecretKey::generate());

    // The terminal seals two registrations to key 1; the registry is away.
    let queue = Queue::open_with(&path, queue_options(&key1)).unwrap();
    for n in [1, 2] {
        queue.seal(&specimen_upload(n)).unwrap();
    }
    drop(queue);
    // Meanwhile the registry rotates to key 2 and keeps key 1 for opening;
    // the terminal is given the new public key (and restarts).
    let queue = Queue::open_with(&path, queue_options(&key2)).unwrap();
    queue.seal(&specimen_upload(3)).unwrap();
    let one = Some(key1.key_id());
    let two = Some(key2.key_id());
    assert_eq!(key_ids_of(&path, "L-SPECIMEN-0001"), [one, one, one]);
    assert_eq!(key_ids_of(&path, "L-SPECIMEN-0002"), [one, one, one]);
    assert_eq!(key_ids_of(&path, "L-SPECIMEN-0003"), [two, two, two]);

    let (reg, uplink, rx) = start(&rt, dir.path(), &key2, vec![key1.clone()]);
    let acked = acks(&rx, 3);
    let refs: Vec<&str> = acked.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        refs,
        ["L-SPECIMEN-0001", "L-SPECIMEN-0002", "L-SPECIMEN-0003"]
    );
    for (local_ref, case) in &acked {
        assert!(registry_api::valid_case_number(case), "{case}");
        let receipt = queue.receipt(local_ref).unwrap().unwrap();
        assert_eq!(receipt.status, Status::Acknowledged);
        assert_eq!(receipt.case_number.as_ref(), Some(case));
    }
    uplink.shutdown();
    rt.block_on(reg.shutdown());
}

#[test]
fn rows_sealed_to_a_key_the_registry_dropped_fail_with_a_clear_reason_and_are_kept() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (dir, path) = queue_file();
    let (key1, key2) = (SealSecretKey::generate(), SealSecretKey::generate());
    // One registration sealed to key 1.
    let queue = Queue::open_with(&path, queue_options(&key1)).unwrap();
    queue.seal(&specimen_upload(1)).unwrap();
    // Rotated without keeping key 1.
    let (reg, uplink, rx) = start(&rt, dir.path(), &key2, Vec::new());
    match rx
        .recv_timeout(Duration::from_secs(20))
        .expect("no uplink event in time")
    {
        UplinkEvent::Failed {
            local_ref, reason, ..
        } => {
            assert_eq!(local_ref, "L-SPECIMEN-0001");
            assert!(reason.contains(&key1.key_id().to_string()), "{reason}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    uplink.shutdown();
    rt.block_on(reg.shutdown());
    // The row keeps its box: once the registry holds key 1 again, `resend` sends it.
    let receipt = queue.receipt("L-SPECIMEN-0001").unwrap().unwrap();
    assert_eq!(receipt.status, Status::Failed);
    assert_eq!(key_ids_of(&path, "L-SPECIMEN-0001")[0], Some(key1.key_id()));
}
