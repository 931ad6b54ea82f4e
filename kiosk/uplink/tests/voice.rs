//! A voice note from the terminal's queue to the registry's staff: a real
//! queue seals a registration with its note, the real uplink sends it to the
//! real registry on loopback (in one bundle, or resumed part by part), and
//! the staff API serves back the very bytes that were recorded. The note is
//! SPECIMEN Ogg Opus silence.

use std::path::Path;
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use kiosk_queue::test_utils::{specimen_upload, specimen_upload_with_voice, SPECIMEN_VOICE_MS};
use kiosk_queue::{Queue, QueueOptions, Status};
use kiosk_uplink::{Uplink, UplinkConfig, UplinkEvent};
use registry::{RegistryConfig, RunningRegistry, SealSecretKey};
use registry_api::{RegistrationRecord, VOICE_NOTE_PART};

const TOKEN: &str = "SPECIMEN-TERMINAL-01 specimen-voice-token";
const STAFF: &str = "specimen-voice-staff-token";

fn registry_config(dir: &Path, key: &SealSecretKey) -> RegistryConfig {
    RegistryConfig {
        database: dir.join("registry.db").into(),
        tokens: vec![TOKEN.into()],
        token_file: None,
        staff_tokens: vec![STAFF.into()],
        history_limit: registry::HistoryLimit::default(),
        seal_key: key.clone(),
        old_seal_keys: Vec::new(),
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

fn queue_options(key: &SealSecretKey) -> QueueOptions {
    QueueOptions {
        seal_key: Some(key.public_key()),
        min_free_bytes: 0,
        ..QueueOptions::default()
    }
}

/// The real registry on loopback and the uplink of `dir/queue.sqlite`, woken.
fn start(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    key: &SealSecretKey,
) -> (RunningRegistry, Uplink, Receiver<UplinkEvent>) {
    let reg = rt
        .block_on(registry::start(
            registry_config(dir, key),
            "127.0.0.1:0".parse().unwrap(),
        ))
        .unwrap();
    let (tx, rx) = channel();
    let uplink =
        Uplink::spawn(dir.join("queue.sqlite"), uplink_config(reg.base_url()), tx).unwrap();
    uplink.wake();
    (reg, uplink, rx)
}

/// The next `n` acknowledgements, as (local reference, case number), sorted.
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

/// What the staff API says of `case` and the voice note bytes it serves.
fn staff_view(
    rt: &tokio::runtime::Runtime,
    reg: &RunningRegistry,
    case: &str,
) -> (RegistrationRecord, Option<Vec<u8>>) {
    rt.block_on(async {
        let http = reqwest::Client::new();
        let url = |path: String| format!("{}{path}", reg.base_url());
        let record: RegistrationRecord = http
            .get(url(format!("{}/{case}", registry_api::REGISTRATIONS_PATH)))
            .bearer_auth(STAFF)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let res = http
            .get(url(registry_api::voice_note_path(case)))
            .bearer_auth(STAFF)
            .send()
            .await
            .unwrap();
        let bytes = match res.status().as_u16() {
            200 => Some(res.bytes().await.unwrap().to_vec()),
            404 => None,
            other => panic!("the staff API answered {other}"),
        };
        (record, bytes)
    })
}

#[test]
fn a_registration_sealed_with_a_voice_note_reaches_the_registry_whole() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = SealSecretKey::generate();
    let queue = Queue::open_with(&dir.path().join("queue.sqlite"), queue_options(&key)).unwrap();
    let with_voice = specimen_upload_with_voice(1);
    let note = with_voice.voice_note.clone().unwrap();
    queue.seal(&with_voice).unwrap();
    queue.seal(&specimen_upload(2)).unwrap();

    let (reg, uplink, rx) = start(&rt, dir.path(), &key);
    let acked = acks(&rx, 2);
    // The first attempt goes as one bundle with the note as its own part.
    let (record, served) = staff_view(&rt, &reg, &acked[0].1);
    assert_eq!(record.local_ref, "L-SPECIMEN-0001");
    let stored = record.voice_note.expect("the registry stored the note");
    assert_eq!(
        (
            stored.sha256.as_str(),
            stored.size_bytes,
            stored.duration_ms
        ),
        (note.sha256.as_str(), note.size_bytes, SPECIMEN_VOICE_MS)
    );
    let served = served.expect("the staff API serves the note");
    assert_eq!(
        registry_api::sha256_hex(&served),
        note.sha256,
        "other bytes came back"
    );
    assert_eq!(served, note.ogg_opus().unwrap());
    // The registration without a note has none.
    let (record, served) = staff_view(&rt, &reg, &acked[1].1);
    assert!(record.voice_note.is_none() && served.is_none());
    // Acknowledged, then purged with the rest once the uplink is idle.
    for (local_ref, case) in &acked {
        let receipt = queue.receipt(local_ref).unwrap().unwrap();
        assert_eq!(
            (receipt.status, receipt.case_number.as_ref()),
            (Status::Acknowledged, Some(case))
        );
    }
    let db = rusqlite::Connection::open(dir.path().join("queue.sqlite")).unwrap();
    let boxes_left = || -> i64 {
        db.query_row("SELECT COUNT(*) FROM sealed_pages", [], |r| r.get(0))
            .unwrap()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while boxes_left() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        boxes_left(),
        0,
        "the voice note's box outlived the acknowledgement"
    );
    uplink.shutdown();
    rt.block_on(reg.shutdown());
}

#[test]
fn a_resumed_upload_sends_the_voice_note_as_the_part_the_registry_misses() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = SealSecretKey::generate();
    let queue = Queue::open_with(&dir.path().join("queue.sqlite"), queue_options(&key)).unwrap();
    let with_voice = specimen_upload_with_voice(7);
    let note = with_voice.voice_note.clone().unwrap();
    queue.seal(&with_voice).unwrap();
    // An attempt that never reached the registry (a cut connection): the
    // next one is a retry, which goes metadata first, then each part the
    // registry answers it misses, the note's (`VOICE_NOTE_PART`) last.
    let claimed = queue.claim_next(chrono::Utc::now()).unwrap().unwrap();
    assert_eq!(
        claimed.voice_note.as_ref().map(|v| v.index),
        Some(VOICE_NOTE_PART)
    );
    queue
        .mark_retry(claimed.id, "connection cut", chrono::Utc::now())
        .unwrap();

    let (reg, uplink, rx) = start(&rt, dir.path(), &key);
    let acked = acks(&rx, 1);
    let (record, served) = staff_view(&rt, &reg, &acked[0].1);
    assert_eq!(
        record.voice_note.map(|v| v.sha256),
        Some(note.sha256.clone())
    );
    assert_eq!(registry_api::sha256_hex(&served.unwrap()), note.sha256);
    assert_eq!(
        queue.receipt("L-SPECIMEN-0007").unwrap().unwrap().attempts,
        2
    );
    uplink.shutdown();
    rt.block_on(reg.shutdown());
}
