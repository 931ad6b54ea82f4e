//! End-to-end tests of the uplink against a small in-process registry stand-in.
//!
//! The stand-in is a few axum handlers on 127.0.0.1 that mimic the registry
//! protocol and can be switched, mid-test, into the ways a real network fails:
//! 503, a captive portal's 200 HTML page, a bare 200 carrying an ack body, a
//! slow reply, a refused token, a 400. It opens the sealed uploads with the
//! specimen registry key, as the real registry does with its own (of a
//! bundle, the metadata box).
//! The real registry is exercised by the workspace's end-to-end tests.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kiosk_privacy::IdNumber;
use kiosk_queue::test_utils::{specimen_options, specimen_registry_key, specimen_upload};
use kiosk_queue::{Queue, Status};
use kiosk_uplink::{
    Outgoing, RegistryClient, Uplink, UplinkConfig, UplinkError, UplinkEvent,
};
use registry_api::{
    ApiError, HistoryEntry, HistoryQuery, HistoryReply, MissingPages, RegistrationAck, HEALTH_PATH,
    HISTORY_PATH, IDEMPOTENCY_HEADER, SEALED_REGISTRATIONS_PATH,
};

const TOKEN: &str = "SPECIMEN-TOKEN";
const WAIT: Duration = Duration::from_secs(10);

/// How the stand-in answers uploads.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Ack,
    Unavailable,
    Portal,
    Slow,
    BadRequest,
    /// A 201 whose case number is this text (empty, or not the registry's format).
    Case(&'static str),
    /// A valid ack body, but with a bare 200.
    Bare200,
}

#[derive(Default)]
struct Registry {
    mode: Option<Mode>,
    /// The Idempotency-Key header of every upload request, in order.
    keys_seen: Vec<String>,
    /// Case numbers issued, by idempotency key.
    cases: HashMap<String, String>,
    /// The ID numbers asked about in history queries, and whether typed.
    history_asked: Vec<(String, bool)>,
    /// The registration whose page 1 this registry keeps asking for, however often it is sent.
    keeps_asking_for: Option<String>,
    /// Page uploads received.
    pages_seen: usize,
}

type Shared = Arc<Mutex<Registry>>;

fn authorised(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"))
}

fn api_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(ApiError {
            code: code.into(),
            message: message.into(),
        }),
    )
        .into_response()
}

async fn upload(State(reg): State<Shared>, headers: HeaderMap, sealed: Bytes) -> Response {
    if !authorised(&headers) {
        return api_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or unknown bearer token",
        );
    }
    let key = headers
        .get(IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let (mode, keeps_asking) = {
        let mut r = reg.lock().unwrap();
        r.keys_seen.push(key.clone());
        (r.mode.unwrap_or(Mode::Ack), r.keeps_asking_for.as_deref() == Some(key.as_str()))
    };
    if keeps_asking {
        return (StatusCode::ACCEPTED, Json(MissingPages { missing_pages: vec![1] })).into_response();
    }
    // The first attempt carries a bundle of the metadata and the page boxes.
    let metadata: &[u8] = match registry_api::bundle::decode(&sealed) {
        Ok(bundle) => bundle.metadata,
        Err(_) => &sealed,
    };
    let Ok(body) = specimen_registry_key().open(metadata) else {
        return api_error(StatusCode::BAD_REQUEST, "bad_envelope", "does not open");
    };
    if key != body.idempotency_key {
        return api_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "idempotency key mismatch",
        );
    }
    match mode {
        Mode::Unavailable => api_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "internal",
            "try again later",
        ),
        Mode::Portal => (
            StatusCode::OK,
            [("content-type", "text/html; charset=utf-8")],
            "<html><body>Welcome to FreeWiFi, please log in</body></html>",
        )
            .into_response(),
        Mode::Slow => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            api_error(StatusCode::SERVICE_UNAVAILABLE, "internal", "too slow")
        }
        Mode::BadRequest => api_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "page 1 does not match its sha256",
        ),
        Mode::Case(case) => (
            StatusCode::CREATED,
            Json(RegistrationAck {
                case_number: case.into(),
                received_at: "2026-03-01T10:00:00Z".into(),
                replayed: false,
                likely_duplicate: false,
            }),
        )
            .into_response(),
        Mode::Bare200 => (
            StatusCode::OK,
            Json(RegistrationAck {
                case_number: "XF-2026-999999".into(),
                received_at: "2026-03-01T10:00:00Z".into(),
                replayed: false,
                likely_duplicate: false,
            }),
        )
            .into_response(),
        Mode::Ack => {
            let mut r = reg.lock().unwrap();
            let n = r.cases.len() + 1;
            let (case, replayed) = match r.cases.get(&key) {
                Some(c) => (c.clone(), true),
                None => {
                    let c = format!("XF-2026-{n:06}");
                    r.cases.insert(key, c.clone());
                    (c, false)
                }
            };
            let ack = RegistrationAck {
                case_number: case,
                received_at: "2026-03-01T10:00:00Z".into(),
                replayed,
                likely_duplicate: false,
            };
            (StatusCode::CREATED, Json(ack)).into_response()
        }
    }
}

/// A page of a staged upload: this stand-in always still misses page 1.
async fn page(State(reg): State<Shared>, headers: HeaderMap) -> Response {
    if !authorised(&headers) {
        return api_error(StatusCode::UNAUTHORIZED, "unauthorized", "no token");
    }
    reg.lock().unwrap().pages_seen += 1;
    (StatusCode::ACCEPTED, Json(MissingPages { missing_pages: vec![1] })).into_response()
}

async fn history(
    State(reg): State<Shared>,
    headers: HeaderMap,
    Json(q): Json<HistoryQuery>,
) -> Response {
    if !authorised(&headers) {
        return api_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or unknown bearer token",
        );
    }
    reg.lock()
        .unwrap()
        .history_asked
        .push((q.id_number.expose().to_owned(), q.identity_typed));
    Json(sample_history()).into_response()
}

fn sample_history() -> HistoryReply {
    HistoryReply {
        registrations: vec![HistoryEntry {
            case_number: "XF-2025-000042".into(),
            registered_at: "2025-11-02T09:00:00Z".into(),
            category: "housing".into(),
            status: "in_progress".into(),
            page_count: 3,
            rating: None,
            notices: Vec::new(),
        }],
    }
}

/// A running stand-in registry with its own runtime.
struct TestServer {
    addr: SocketAddr,
    reg: Shared,
    _rt: tokio::runtime::Runtime,
}

impl TestServer {
    fn start() -> TestServer {
        Self::start_at("127.0.0.1:0".parse().unwrap())
    }

    fn start_at(addr: SocketAddr) -> TestServer {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let reg = Shared::default();
        let app = Router::new()
            .route(SEALED_REGISTRATIONS_PATH, post(upload))
            .route(
                &format!("{SEALED_REGISTRATIONS_PATH}/{{key}}/pages/{{index}}"),
                axum::routing::put(page),
            )
            .route(HISTORY_PATH, post(history))
            .route(
                HEALTH_PATH,
                get(|| async { Json(serde_json::json!({ "status": "ok" })) }),
            )
            .with_state(reg.clone());
        let listener = rt.block_on(tokio::net::TcpListener::bind(addr)).unwrap();
        let addr = listener.local_addr().unwrap();
        rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
        TestServer { addr, reg, _rt: rt }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn set_mode(&self, mode: Mode) {
        self.reg.lock().unwrap().mode = Some(mode);
    }

    fn keys_seen(&self) -> Vec<String> {
        self.reg.lock().unwrap().keys_seen.clone()
    }

    fn cases_issued(&self) -> usize {
        self.reg.lock().unwrap().cases.len()
    }
}

/// An address on which nothing listens (for now).
fn dead_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

fn config(url: &str) -> UplinkConfig {
    UplinkConfig {
        base_url: url.into(),
        token: TOKEN.into(),
        terminal_id: "T-SPECIMEN".into(),
        heartbeat_interval: Duration::ZERO,
        tls: None,
        request_timeout: Duration::from_millis(500),
        min_backoff: Duration::from_millis(40),
        max_backoff: Duration::from_millis(200),
        printer: kiosk_uplink::PrinterSlot::default(),
        updates: Default::default(),
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    queue: Queue,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.sqlite");
    let queue = Queue::open_with(&path, specimen_options()).unwrap();
    Fixture {
        _dir: dir,
        path,
        queue,
    }
}

fn start(f: &Fixture, cfg: UplinkConfig) -> (Uplink, Receiver<UplinkEvent>) {
    let (tx, rx) = channel();
    (Uplink::spawn(f.path.clone(), cfg, tx).unwrap(), rx)
}

fn payload_present(path: &Path, local_ref: &str) -> bool {
    let db = rusqlite::Connection::open(path).unwrap();
    db.query_row(
        "SELECT payload IS NOT NULL FROM registrations WHERE local_ref = ?1",
        [local_ref],
        |r| r.get(0),
    )
    .unwrap()
}

/// Whether the payload of `local_ref` is purged within [`WAIT`] (the
/// uplink purges acknowledged payloads once it has nothing to send).
fn purged_in_time(path: &Path, local_ref: &str) -> bool {
    let deadline = std::time::Instant::now() + WAIT;
    while payload_present(path, local_ref) {
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

fn next_event(rx: &Receiver<UplinkEvent>) -> UplinkEvent {
    rx.recv_timeout(WAIT).expect("no uplink event in time")
}

fn expect_retry(rx: &Receiver<UplinkEvent>) -> (u32, String) {
    match next_event(rx) {
        UplinkEvent::RetryScheduled {
            attempts, reason, ..
        } => (attempts, reason),
        other => panic!("expected a retry, got {other:?}"),
    }
}

/// Waits for the acknowledgement, skipping retries before it.
fn expect_ack(rx: &Receiver<UplinkEvent>) -> (String, String, bool) {
    loop {
        match next_event(rx) {
            UplinkEvent::Acknowledged {
                local_ref,
                case_number,
                replayed,
                ..
            } => return (local_ref, case_number, replayed),
            UplinkEvent::RetryScheduled { .. } => continue,
            other => panic!("expected an ack, got {other:?}"),
        }
    }
}

#[test]
fn happy_path_acknowledges_and_purges() {
    let server = TestServer::start();
    let f = fixture();
    let (uplink, rx) = start(&f, config(&server.url()));
    let up = specimen_upload(1);
    f.queue.seal(&up).unwrap();
    uplink.wake();
    let (local_ref, case, replayed) = expect_ack(&rx);
    assert_eq!(
        (local_ref.as_str(), case.as_str(), replayed),
        ("L-SPECIMEN-0001", "XF-2026-000001", false)
    );
    let r = f.queue.receipt("L-SPECIMEN-0001").unwrap().unwrap();
    assert_eq!(r.status, Status::Acknowledged);
    assert_eq!(r.case_number.as_deref(), Some("XF-2026-000001"));
    assert!(purged_in_time(&f.path, "L-SPECIMEN-0001"));
    assert_eq!(server.keys_seen(), [up.idempotency_key]);
    uplink.shutdown();
}

#[test]
fn server_down_then_back_is_acknowledged_exactly_once() {
    let addr = dead_addr();
    let f = fixture();
    f.queue.seal(&specimen_upload(1)).unwrap();
    let (uplink, rx) = start(&f, config(&format!("http://{addr}")));
    let (attempts, reason) = expect_retry(&rx);
    assert_eq!(attempts, 1);
    assert!(reason.starts_with("network error"), "{reason}");
    let r = f.queue.receipt("L-SPECIMEN-0001").unwrap().unwrap();
    assert!(
        matches!(r.status, Status::Pending | Status::Uploading),
        "{r:?}"
    );
    assert!(r.last_error.is_some());
    assert!(payload_present(&f.path, "L-SPECIMEN-0001"));
    expect_retry(&rx);

    let server = TestServer::start_at(addr);
    let (_, case, _) = expect_ack(&rx);
    assert_eq!(case, "XF-2026-000001");
    // Nothing more happens: no second upload, no second case.
    assert!(rx.recv_timeout(Duration::from_millis(400)).is_err());
    assert_eq!(server.keys_seen().len(), 1);
    assert_eq!(server.cases_issued(), 1);
    let counts = f.queue.counts().unwrap();
    assert_eq!(
        (counts.acknowledged, counts.pending, counts.uploading),
        (1, 0, 0)
    );
    drop(uplink);
}

#[test]
fn retries_carry_the_same_idempotency_key() {
    let server = TestServer::start();
    server.set_mode(Mode::Unavailable);
    let f = fixture();
    let up = specimen_upload(7);
    f.queue.seal(&up).unwrap();
    let (_uplink, rx) = start(&f, config(&server.url()));
    let (_, reason) = expect_retry(&rx);
    assert_eq!(reason, "registry unavailable (503)");
    let (attempts, _) = expect_retry(&rx);
    assert_eq!(attempts, 2);
    server.set_mode(Mode::Ack);
    expect_ack(&rx);
    let keys = server.keys_seen();
    assert!(keys.len() >= 3, "{keys:?}");
    assert!(keys.iter().all(|k| *k == up.idempotency_key), "{keys:?}");
    assert_eq!(
        f.queue.receipt(&up.local_ref).unwrap().unwrap().attempts as usize,
        keys.len()
    );
}

#[test]
fn rows_claimed_ahead_during_an_outage_count_only_the_attempts_sent() {
    // The uplink claims the next row while one is on the wire; when the
    // registry is down it gives that row back. Every row's attempt count must
    // still equal the uploads the registry saw of it.
    let server = TestServer::start();
    server.set_mode(Mode::Unavailable);
    let f = fixture();
    let ups: Vec<_> = (1..=3).map(specimen_upload).collect();
    for up in &ups {
        f.queue.seal(up).unwrap();
    }
    let (uplink, rx) = start(&f, config(&server.url()));
    for _ in 0..4 {
        expect_retry(&rx);
    }
    server.set_mode(Mode::Ack);
    let mut acked = Vec::new();
    while acked.len() < ups.len() {
        match next_event(&rx) {
            UplinkEvent::Acknowledged { local_ref, .. } => acked.push(local_ref),
            UplinkEvent::RetryScheduled { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    drop(uplink);
    acked.sort();
    assert_eq!(acked, ["L-SPECIMEN-0001", "L-SPECIMEN-0002", "L-SPECIMEN-0003"]);
    let keys = server.keys_seen();
    for up in &ups {
        let sent = keys.iter().filter(|k| **k == up.idempotency_key).count();
        let r = f.queue.receipt(&up.local_ref).unwrap().unwrap();
        assert_eq!(r.status, Status::Acknowledged);
        assert_eq!(r.attempts as usize, sent, "{}: {keys:?}", up.local_ref);
    }
    assert_eq!(server.cases_issued(), 3);
    assert_eq!(f.queue.counts().unwrap().uploading, 0);
}

#[test]
fn captive_portal_page_is_not_an_acknowledgement() {
    let server = TestServer::start();
    server.set_mode(Mode::Portal);
    let f = fixture();
    f.queue.seal(&specimen_upload(1)).unwrap();
    let (_uplink, rx) = start(&f, config(&server.url()));
    let (_, reason) = expect_retry(&rx);
    assert!(reason.starts_with("unexpected reply"), "{reason}");
    assert!(reason.contains("text/html"), "{reason}");
    let r = f.queue.receipt("L-SPECIMEN-0001").unwrap().unwrap();
    assert_ne!(r.status, Status::Acknowledged);
    assert!(r.case_number.is_none());
    assert!(payload_present(&f.path, "L-SPECIMEN-0001"));
    server.set_mode(Mode::Ack);
    expect_ack(&rx);
}

#[test]
fn ack_without_a_valid_case_number_is_retried() {
    // Empty, or text meant for the receipt's QR code: never acknowledged,
    // stored or printed; the registration stays queued with its payload.
    for case in ["", "XF-2026-000001\nhttps://evil.example/", "<b>XF</b>"] {
        let server = TestServer::start();
        server.set_mode(Mode::Case(case));
        let f = fixture();
        f.queue.seal(&specimen_upload(1)).unwrap();
        let (_uplink, rx) = start(&f, config(&server.url()));
        let (_, reason) = expect_retry(&rx);
        assert!(reason.contains("without a valid case number"), "{case:?}: {reason}");
        assert!(payload_present(&f.path, "L-SPECIMEN-0001"));
        assert_eq!(f.queue.counts().unwrap().acknowledged, 0, "{case:?}");
    }
}

#[test]
fn bad_request_fails_for_good_and_keeps_the_payload() {
    let server = TestServer::start();
    server.set_mode(Mode::BadRequest);
    let f = fixture();
    f.queue.seal(&specimen_upload(1)).unwrap();
    f.queue.seal(&specimen_upload(2)).unwrap();
    let (_uplink, rx) = start(&f, config(&server.url()));
    match next_event(&rx) {
        UplinkEvent::Failed { local_ref, reason } => {
            assert_eq!(local_ref, "L-SPECIMEN-0001");
            assert_eq!(reason, "registry rejected the request (400): bad_request: page 1 does not match its sha256");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(matches!(next_event(&rx), UplinkEvent::Failed { .. }));
    let r = f.queue.receipt("L-SPECIMEN-0001").unwrap().unwrap();
    assert_eq!(r.status, Status::Failed);
    assert!(payload_present(&f.path, "L-SPECIMEN-0001"));
    // A failed row is not tried again.
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
    assert_eq!(server.keys_seen().len(), 2);
}

#[test]
fn slow_reply_times_out_and_is_retried() {
    let server = TestServer::start();
    server.set_mode(Mode::Slow);
    let f = fixture();
    f.queue.seal(&specimen_upload(1)).unwrap();
    let (uplink, rx) = start(&f, config(&server.url()));
    let (_, reason) = expect_retry(&rx);
    assert_eq!(reason, "registry did not answer in time");
    // Shutting down in the middle of a slow attempt returns promptly and leaves the row pending.
    let t = std::time::Instant::now();
    uplink.shutdown();
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    let r = f.queue.receipt("L-SPECIMEN-0001").unwrap().unwrap();
    assert_eq!(r.status, Status::Pending);
}

#[test]
fn refused_token_is_retried_slowly() {
    let server = TestServer::start();
    let f = fixture();
    f.queue.seal(&specimen_upload(1)).unwrap();
    let mut cfg = config(&server.url());
    cfg.token = "WRONG-TOKEN".into();
    let (_uplink, rx) = start(&f, cfg);
    match next_event(&rx) {
        UplinkEvent::RetryScheduled {
            reason,
            next_attempt_in,
            ..
        } => {
            assert_eq!(reason, "registry refused the terminal token");
            assert!(
                next_attempt_in >= Duration::from_millis(100),
                "{next_attempt_in:?}"
            );
        }
        other => panic!("expected a retry, got {other:?}"),
    }
}

#[test]
fn an_interrupted_upload_is_resent_after_restart() {
    let server = TestServer::start();
    let f = fixture();
    f.queue.seal(&specimen_upload(1)).unwrap();
    // A previous run claimed it and lost power mid-upload.
    f.queue.claim_next(chrono::Utc::now()).unwrap().unwrap();
    let (_uplink, rx) = start(&f, config(&server.url()));
    let (local_ref, _, _) = expect_ack(&rx);
    assert_eq!(local_ref, "L-SPECIMEN-0001");
}

#[test]
fn history_blocking_returns_the_registry_answer() {
    let server = TestServer::start();
    let f = fixture();
    let (uplink, _rx) = start(&f, config(&server.url()));
    let id = IdNumber::new("11010519491231002X");
    let reply = uplink
        .history_blocking(&id, false, Duration::from_secs(5))
        .unwrap();
    assert_eq!(reply, sample_history());
    uplink
        .history_blocking(&id, true, Duration::from_secs(5))
        .unwrap();
    // The registry is asked with the number (it holds the lookup key, the
    // terminal does not), and told when a clerk typed it.
    assert_eq!(
        server.reg.lock().unwrap().history_asked,
        [(id.expose().to_owned(), false), (id.expose().to_owned(), true)]
    );

    let down = fixture();
    let (uplink, _rx) = start(&down, config(&format!("http://{}", dead_addr())));
    let err = uplink
        .history_blocking(&id, false, Duration::from_secs(5))
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert!(!err.reason().contains("11010519491231002X"));
}

#[test]
fn client_checks_health_and_configuration() {
    let server = TestServer::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = RegistryClient::build(
        &format!("{}/", server.url()),
        TOKEN,
        None,
        Duration::from_secs(2),
    )
    .unwrap();
    rt.block_on(client.health()).unwrap();
    let f = fixture();
    f.queue.seal(&specimen_upload(1)).unwrap();
    let claimed = Outgoing::new(f.queue.claim_next(chrono::Utc::now()).unwrap().unwrap());
    server.set_mode(Mode::Portal);
    let err = rt.block_on(client.upload(&claimed)).unwrap_err();
    assert!(matches!(err, UplinkError::BadReply(_)), "{err:?}");
    // A 200 is not an acknowledgement, even with a well-formed body.
    server.set_mode(Mode::Bare200);
    let err = rt.block_on(client.upload(&claimed)).unwrap_err();
    assert!(err.reason().contains("not an acknowledgement"), "{err:?}");
    server.set_mode(Mode::Ack);
    assert_eq!(
        rt.block_on(client.upload(&claimed)).unwrap().case_number,
        "XF-2026-000001"
    );
    assert!(matches!(
        RegistryClient::build("not a url", TOKEN, None, Duration::from_secs(1)),
        Err(UplinkError::Config(_))
    ));
    assert!(matches!(
        RegistryClient::build("ftp://x", TOKEN, None, Duration::from_secs(1)),
        Err(UplinkError::Config(_))
    ));
    assert!(matches!(
        RegistryClient::build(&server.url(), "", None, Duration::from_secs(1)),
        Err(UplinkError::Config(_))
    ));
}

#[test]
fn handles_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Uplink>();
    shareable::<RegistryClient>();
    fn sendable<T: Send>() {}
    sendable::<Queue>();
}

#[test]
fn a_registry_that_keeps_asking_for_a_sent_page_fails_that_row_only() {
    let server = TestServer::start();
    let f = fixture();
    let poison = specimen_upload(1);
    server.reg.lock().unwrap().keeps_asking_for = Some(poison.idempotency_key.clone());
    for n in 1..=3 {
        f.queue.seal(&specimen_upload(n)).unwrap();
    }
    let (_uplink, rx) = start(&f, config(&server.url()));
    let mut order = Vec::new();
    while order.len() < 3 {
        match next_event(&rx) {
            UplinkEvent::Acknowledged { local_ref, .. } => order.push(format!("ack {local_ref}")),
            UplinkEvent::Failed { local_ref, reason } => {
                assert_eq!(reason, "registry still misses pages [1] after they were sent");
                order.push(format!("failed {local_ref}"));
            }
            UplinkEvent::RetryScheduled { .. } => {}
        }
    }
    // The others went at once, not after the poison row's retries.
    assert_eq!(
        order,
        ["ack L-SPECIMEN-0002", "ack L-SPECIMEN-0003", "failed L-SPECIMEN-0001"]
    );
    let r = f.queue.receipt("L-SPECIMEN-0001").unwrap().unwrap();
    assert_eq!((r.status, r.attempts), (Status::Failed, 5));
    // Each attempt sent page 1 once, and no more.
    assert_eq!(server.reg.lock().unwrap().pages_seen, 5);
}

#[test]
fn the_contact_log_records_answers_errors_and_the_clock_offset() {
    let server = TestServer::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = RegistryClient::build(
        &server.url(),
        TOKEN,
        None,
        Duration::from_secs(2),
    )
    .unwrap();
    assert_eq!(client.contact().snapshot().last_ok, None);
    rt.block_on(client.health()).unwrap();
    let c = client.contact().snapshot();
    assert!(c.reachable() && c.last_ok.is_some(), "{c:?}");
    // Same machine, same clock: the offset from the Date header is within a second or so.
    let off = c.clock_offset_ms.expect("the answer carries a Date header");
    assert!(off.abs() <= 1_500, "{off}");

    let dead = RegistryClient::build(
        &format!("http://{}", dead_addr()),
        TOKEN,
        None,
        Duration::from_secs(2),
    )
    .unwrap();
    assert!(rt.block_on(dead.health()).is_err());
    let c = dead.contact().snapshot();
    assert!(!c.reachable());
    assert_eq!(c.last_error.map(|(_, kind)| kind), Some("network"));
}

#[test]
fn a_ping_refreshes_the_uplinks_contact_record() {
    let server = TestServer::start();
    let f = fixture();
    let (uplink, _rx) = start(&f, config(&server.url()));
    assert_eq!(uplink.contact().last_ok, None, "heartbeats are off");
    uplink.ping();
    let deadline = std::time::Instant::now() + WAIT;
    while uplink.contact().last_ok.is_none() {
        assert!(std::time::Instant::now() < deadline, "no contact after a ping");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(uplink.contact().reachable());
    uplink.shutdown();
}
