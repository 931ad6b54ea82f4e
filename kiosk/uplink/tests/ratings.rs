//! The uplink's ratings outbox against a small stand-in for `POST /v1/ratings`:
//! oldest first, the same idempotency key on every attempt, a 503 retried, a
//! 4xx failed with the registry's reason, an ack recorded once.

use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use kiosk_queue::test_utils::specimen_options;
use kiosk_queue::{NewRating, Queue};
use kiosk_privacy::IdNumber;
use kiosk_uplink::{Uplink, UplinkConfig};
use registry_api::{ApiError, RatingAck, RatingUpload, IDEMPOTENCY_HEADER, RATINGS_PATH};

/// The stand-in's scripted answers (503, 404 or 201), and what it saw.
#[derive(Default)]
struct Stand {
    script: Vec<u16>,
    seen: Vec<(String, String, u8)>,
}

type Shared = Arc<Mutex<Stand>>;

async fn rate(
    State(s): State<Shared>,
    headers: HeaderMap,
    Json(r): Json<RatingUpload>,
) -> Response {
    let key = headers
        .get(IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let mut s = s.lock().unwrap();
    s.seen.push((key, r.case_number.clone(), r.score));
    let answer = if s.script.is_empty() {
        201
    } else {
        s.script.remove(0)
    };
    match answer {
        503 => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        404 => (
            StatusCode::NOT_FOUND,
            Json(ApiError {
                code: "unknown_case".into(),
                message: "no registration with this case number".into(),
            }),
        )
            .into_response(),
        _ => (
            StatusCode::CREATED,
            Json(RatingAck {
                case_number: r.case_number,
                received_at: "2026-11-28T10:00:00+08:00".into(),
                replayed: false,
            }),
        )
            .into_response(),
    }
}

fn rating(n: u32) -> NewRating {
    NewRating {
        idempotency_key: format!("rating-key-{n}"),
        case_number: format!("XF-2026-{n:06}"),
        id_number: IdNumber::new("11010519491231002X"),
        score: 4,
        reasons: vec!["resolved".into()],
        rated_at: "2026-11-28T10:00:00+08:00".into(),
    }
}

#[test]
fn ratings_go_oldest_first_retry_a_503_and_fail_on_a_404() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let stand = Shared::default();
    stand.lock().unwrap().script = vec![503, 201, 404];
    let app = Router::new()
        .route(RATINGS_PATH, post(rate))
        .with_state(stand.clone());
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.sqlite");
    let q = Queue::open_with(&path, specimen_options()).unwrap();
    q.queue_rating(&rating(1)).unwrap();
    q.queue_rating(&rating(2)).unwrap();
    let (tx, _rx) = channel();
    let uplink = Uplink::spawn(
        path.clone(),
        UplinkConfig {
            base_url: format!("http://{addr}"),
            token: "SPECIMEN-TOKEN".into(),
            terminal_id: "T-SPECIMEN".into(),
            heartbeat_interval: Duration::ZERO,
            tls: None,
            request_timeout: Duration::from_millis(500),
            min_backoff: Duration::from_millis(40),
            max_backoff: Duration::from_millis(200),
            printer: kiosk_uplink::PrinterSlot::default(),
            updates: Default::default(),
        },
        tx,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = q.ratings().unwrap();
        // An acknowledged rating is deleted; the refused one stays, failed.
        if rows.iter().all(|r| r.status == "failed") {
            break;
        }
        assert!(Instant::now() < deadline, "not settled: {rows:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    uplink.shutdown();
    let rows = q.ratings().unwrap();
    assert_eq!(rows.len(), 1, "the acknowledged rating is gone");
    assert_eq!(rows[0].status, "failed");
    let reason = rows[0].last_error.clone().unwrap_or_default();
    assert!(
        reason.contains("404") && reason.contains("unknown_case"),
        "{reason}"
    );
    let seen = stand.lock().unwrap().seen.clone();
    let keys: Vec<&str> = seen.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(keys, ["rating-key-1", "rating-key-1", "rating-key-2"]);
    assert!(seen.iter().all(|(_, _, score)| *score == 4));
}
