//! End-to-end tests of the registry over real HTTP: reqwest against `start` on
//! 127.0.0.1:0 with a fresh SQLite file. All personal data here is SPECIMEN.
//!
//! Registrations go in as the terminals send them, sealed to the registry's
//! key (`Client::post_upload`); there is no plain upload route
//! (`plain_registration_upload_is_gone`).

use std::net::SocketAddr;

use kiosk_privacy::{Address, IdNumber, PersonName, PersonalText, PhoneNumber};
use registry::{LookupKey, SealSecretKey};
use registry::{Database, RegistryConfig, RunningRegistry, Stats};
use registry_api::envelope::id_lookup_key;
use registry_api::{
    ApiError, HistoryQuery, HistoryReply, PageUpload, Petitioner, RegistrationAck,
    RegistrationRecord, RegistrationUpload, HEALTH_PATH, HISTORY_PATH, IDEMPOTENCY_HEADER,
    REGISTRATIONS_PATH,
};
use registry_api::{
    Heartbeat, HEARTBEAT_PATH, SEALED_BUNDLE_CONTENT_TYPE, SEALED_CONTENT_TYPE,
    SEALED_REGISTRATIONS_PATH,
};
use reqwest::header;
use reqwest::StatusCode;
use std::sync::OnceLock;

mod support;
use support::{Backend, TestDb};

/// The test registry's keys, made once per test process.
fn keys() -> &'static (SealSecretKey, LookupKey) {
    static KEYS: OnceLock<(SealSecretKey, LookupKey)> = OnceLock::new();
    KEYS.get_or_init(|| (SealSecretKey::generate(), LookupKey::generate()))
}

fn config(db: &Database, tokens: Vec<String>) -> RegistryConfig {
    RegistryConfig {
        database: db.clone(),
        tokens,
        seal_key: keys().0.clone(),
        old_seal_keys: Vec::new(),
        lookup_key: keys().1.clone(),
        tls: None,
        staged_max_age: registry::DEFAULT_STAGED_MAX_AGE,
        limits: Default::default(),
        staging: registry::StagingLimits::default(),
        console: Default::default(),
        token_file: None,
        staff_tokens: vec![STAFF.into()],
        history_limit: registry::HistoryLimit {
            burst: 1000,
            per_minute: 1000,
        },
    }
}

const TOKEN: &str = "specimen-terminal-token";
/// The staff API's credential.
const STAFF: &str = "specimen-staff-token";
const ID_A: &str = "11010519491231002X";
const ID_B: &str = "110105194912310037";

fn local() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn start_on(db: &Database) -> RunningRegistry {
    let cfg = config(db, vec![TOKEN.into(), "other-token".into()]);
    registry::start(cfg, local()).await.unwrap()
}

fn upload(key: &str, id_number: &str, category: &str) -> RegistrationUpload {
    RegistrationUpload {
        voice_note: None,
        repeat: None,
        assisted: false,
        identity_typed: false,
        fields: vec![],
        idempotency_key: key.into(),
        terminal_id: "T-SPECIMEN-01".into(),
        local_ref: format!("L-{key}"),
        sealed_at: "2026-03-01T09:00:00+08:00".into(),
        petitioner: Petitioner {
            doc_type: "resident".into(),
            id_number: IdNumber::new(id_number),
            name: PersonName::new("测试样例"),
            sex: 1,
            birth: Some("1949-12-31".into()),
            address: Address::new("北京市东城区样本路1号"),
        },
        category: category.into(),
        description: PersonalText::new("拖欠工资三个月"),
        phone: Some(PhoneNumber::new("13800000000")),
        pages: vec![
            PageUpload::new(
                1,
                b"\xff\xd8\xffSPECIMEN page one",
                PersonalText::new("第一页"),
                91.5,
            ),
            PageUpload::new(
                2,
                b"\xff\xd8\xffSPECIMEN page two",
                PersonalText::new("第二页"),
                88.0,
            ),
        ],
    }
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    fn new(reg: &RunningRegistry) -> Client {
        Client {
            http: reqwest::Client::new(),
            base: reg.base_url(),
        }
    }

    /// Uploads `up` as a terminal does: its JSON sealed to the registry key,
    /// in one box with the page images.
    async fn post_upload(&self, up: &RegistrationUpload) -> reqwest::Response {
        self.post_sealed(&up.idempotency_key, seal(up), SEALED_CONTENT_TYPE)
            .await
    }

    async fn upload_ok(&self, up: &RegistrationUpload) -> RegistrationAck {
        let res = self.post_upload(up).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.unwrap()
    }

    async fn history(&self, id_number: &str) -> HistoryReply {
        let res = self
            .http
            .post(format!("{}{HISTORY_PATH}", self.base))
            .bearer_auth(TOKEN)
            .json(&HistoryQuery {
                id_number: IdNumber::new(id_number),
                identity_typed: false,
            })
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    async fn stats(&self) -> Stats {
        let res = self
            .http
            .get(format!("{}/v1/staff/stats", self.base))
            .bearer_auth(STAFF)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }
}

/// Reads an error answer, checking it is an `ApiError` with `code` and no personal data.
async fn api_error(res: reqwest::Response, status: StatusCode, code: &str) -> ApiError {
    assert_eq!(res.status(), status);
    let text = res.text().await.unwrap();
    let err: ApiError =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not an ApiError ({e}): {text}"));
    assert_eq!(err.code, code, "{err:?}");
    for personal in ["110105", "测试", "样本", "13800000000", "工资"] {
        assert!(
            !text.contains(personal),
            "error body leaks personal data: {text}"
        );
    }
    err
}

/// `up` sealed to the test registry's key.
fn seal(up: &RegistrationUpload) -> Vec<u8> {
    keys().0.public_key().seal(up).unwrap()
}

fn seq_of(case_number: &str) -> u32 {
    let (prefix, seq) = case_number.rsplit_once('-').unwrap();
    assert!(prefix.starts_with("XF-20"), "{case_number}");
    assert_eq!(seq.len(), 6, "{case_number}");
    seq.parse().unwrap()
}

on_both!(async fn health_needs_no_token(backend: Backend) {
    let dir = TestDb::new(backend);
    let reg = start_on(&dir.database).await;
    let res = reqwest::get(format!("{}{HEALTH_PATH}", reg.base_url()))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "ok"}));
    reg.shutdown().await;
});

on_both!(async fn upload_replay_conflict_and_record(backend: Backend) {
    let dir = TestDb::new(backend);
    let reg = start_on(&dir.database).await;
    let c = Client::new(&reg);

    let up = upload("key-1", ID_A, "wages");
    let ack = c.upload_ok(&up).await;
    assert!(!ack.replayed);
    assert_eq!(seq_of(&ack.case_number), 1);
    assert!(
        chrono::DateTime::parse_from_rfc3339(&ack.received_at).is_ok(),
        "{}",
        ack.received_at
    );

    // The same key and content again: the same answer, marked as a replay.
    let res = c.post_upload(&up).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let again: RegistrationAck = res.json().await.unwrap();
    assert_eq!(again.case_number, ack.case_number);
    assert_eq!(again.received_at, ack.received_at);
    assert!(again.replayed);

    // The same content with other JSON formatting is still the same content.
    let pretty = serde_json::to_string_pretty(&up).unwrap();
    let sealed = keys().0.public_key().seal_bytes(pretty.as_bytes()).unwrap();
    let res = c.post_sealed("key-1", sealed, SEALED_CONTENT_TYPE).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let pretty_ack: RegistrationAck = res.json().await.unwrap();
    assert!(pretty_ack.replayed && pretty_ack.case_number == ack.case_number);

    // The same key with different content is a conflict.
    let mut changed = up.clone();
    changed.category = "land".into();
    let err = api_error(
        c.post_upload(&changed).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert!(err.message.contains("Idempotency-Key"), "{err:?}");

    // The stored record.
    let res = c
        .http
        .get(format!(
            "{}{REGISTRATIONS_PATH}/{}",
            c.base, ack.case_number
        ))
        .bearer_auth(STAFF)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let record: RegistrationRecord = res.json().await.unwrap();
    assert_eq!(record.case_number, ack.case_number);
    assert_eq!(record.registered_at, ack.received_at);
    assert_eq!(record.petitioner, up.petitioner);
    assert_eq!(record.category, "wages");
    assert_eq!(record.description, up.description);
    assert_eq!(record.terminal_id, up.terminal_id);
    assert_eq!(record.local_ref, up.local_ref);
    assert_eq!(record.pages.len(), 2);
    assert_eq!(record.pages[0].index, 1);
    assert_eq!(record.pages[0].sha256, up.pages[0].sha256);
    assert_eq!(
        record.pages[0].size_bytes,
        b"\xff\xd8\xffSPECIMEN page one".len() as u64
    );
    assert_eq!(record.pages[1].ocr_text, up.pages[1].ocr_text);

    let res = c
        .http
        .get(format!("{}{REGISTRATIONS_PATH}/XF-1999-000001", c.base))
        .bearer_auth(STAFF)
        .send()
        .await
        .unwrap();
    api_error(res, StatusCode::NOT_FOUND, "not_found").await;

    assert_eq!(
        c.stats().await,
        Stats {
            registrations: 1,
            pages: 2,
            ratings: 0
        }
    );
    reg.shutdown().await;
});

on_both!(async fn authentication_is_required(backend: Backend) {
    let dir = TestDb::new(backend);
    let reg = start_on(&dir.database).await;
    let c = Client::new(&reg);
    let sealed = seal(&upload("key-auth", ID_A, "wages"));
    let url = format!("{}{SEALED_REGISTRATIONS_PATH}", c.base);
    let post = || {
        c.http
            .post(&url)
            .header(IDEMPOTENCY_HEADER, "key-auth")
            .header("content-type", SEALED_CONTENT_TYPE)
            .body(sealed.clone())
    };

    let no_token = post().send().await.unwrap();
    api_error(no_token, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let bad = post().bearer_auth("wrong");
    api_error(
        bad.send().await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    let basic = post().basic_auth("x", Some(TOKEN)).send().await.unwrap();
    api_error(basic, StatusCode::UNAUTHORIZED, "unauthorized").await;
    for path in [HISTORY_PATH] {
        let res = c
            .http
            .post(format!("{}{path}", c.base))
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        api_error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    for path in ["/v1/staff/stats", "/v1/staff/registrations/XF-2026-000001"] {
        let res = c
            .http
            .get(format!("{}{path}", c.base))
            .send()
            .await
            .unwrap();
        api_error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }

    // The second configured token works too.
    let ok = post().bearer_auth("other-token");
    assert_eq!(ok.send().await.unwrap().status(), StatusCode::CREATED);
    reg.shutdown().await;
});

// The plain-JSON upload that once sat at `POST /v1/registrations` is gone:
// a client holding a valid terminal token that posts a registration there in
// clear (as JSON, or sealed) gets 404 and nothing is stored, not even staged.
on_both!(async fn plain_registration_upload_is_gone(backend: Backend) {
    let dir = TestDb::new(backend);
    let reg = start_on(&dir.database).await;
    let c = Client::new(&reg);
    let up = upload("key-plain", ID_A, "wages");
    let url = format!("{}{REGISTRATIONS_PATH}", c.base);
    for (content_type, body) in [
        ("application/json", serde_json::to_vec(&up).unwrap()),
        (SEALED_CONTENT_TYPE, seal(&up)),
    ] {
        let res = c
            .http
            .post(&url)
            .bearer_auth(TOKEN)
            .header(IDEMPOTENCY_HEADER, "key-plain")
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        api_error(res, StatusCode::NOT_FOUND, "not_found").await;
    }
    // Nor any other method on the bare path.
    let res = c
        .http
        .put(&url)
        .bearer_auth(TOKEN)
        .json(&up)
        .send()
        .await
        .unwrap();
    assert!(
        [StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED].contains(&res.status()),
        "{}",
        res.status()
    );
    assert_eq!(c.stats().await, Stats::default());
    assert!(c.history(ID_A).await.registrations.is_empty());
    // The key was never seen: the sealed upload of the same registration is new.
    let ack = c.upload_ok(&up).await;
    assert!(!ack.replayed);
    assert_eq!(seq_of(&ack.case_number), 1);
    reg.shutdown().await;
});

on_both!(async fn bad_requests_get_json_errors_without_personal_data(backend: Backend) {
    let dir = TestDb::new(backend);
    let reg = start_on(&dir.database).await;
    let c = Client::new(&reg);
    // The JSON endpoints (here the heartbeat) refuse bodies without quoting them.
    let post = |body: String, content_type: &str| {
        c.http
            .post(format!("{}{HEARTBEAT_PATH}", c.base))
            .bearer_auth(TOKEN)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let heartbeat = serde_json::to_value(Heartbeat {
        terminal_id: "T-SPECIMEN-01".into(),
        queue_depth: 0,
        failed: 0,
        oldest_unsent_age_s: None,
        version: "0.1.0".into(),
        printer: None,
        free_disk_mb: None,
        update: None,
    })
    .unwrap();

    // Malformed JSON.
    let res = post(
        format!("{{\"terminal_id\": \"{ID_A}\", \"version\": \"测试样例"),
        "application/json",
    )
    .await
    .unwrap();
    api_error(res, StatusCode::BAD_REQUEST, "bad_request").await;
    let res = post("{not json".into(), "application/json").await.unwrap();
    let err = api_error(res, StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(err.message.contains("not valid JSON"), "{err:?}");

    // Well-formed JSON of the wrong shape, with personal data in the wrong place.
    let mut wrong = heartbeat.clone();
    wrong["queue_depth"] = serde_json::json!("测试样例");
    let res = post(wrong.to_string(), "application/json").await.unwrap();
    api_error(res, StatusCode::BAD_REQUEST, "bad_request").await;
    let mut wrong = heartbeat.clone();
    wrong["failed"] = serde_json::json!(ID_A);
    let res = post(wrong.to_string(), "application/json").await.unwrap();
    api_error(res, StatusCode::BAD_REQUEST, "bad_request").await;
    let mut missing = heartbeat.clone();
    missing.as_object_mut().unwrap().remove("version");
    let res = post(missing.to_string(), "application/json").await.unwrap();
    let err = api_error(res, StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(err.message.contains("missing field `version`"), "{err:?}");

    // Wrong content type.
    let res = post(heartbeat.to_string(), "text/plain").await.unwrap();
    let err = api_error(res, StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(err.message.contains("application/json"), "{err:?}");

    // A sealed upload whose JSON inside does not parse, or has the wrong shape.
    let mut wrong = serde_json::to_value(upload("key-bad", ID_A, "wages")).unwrap();
    wrong["petitioner"]["sex"] = serde_json::json!("测试样例");
    for inside in [b"{not json".to_vec(), wrong.to_string().into_bytes()] {
        let sealed = keys().0.public_key().seal_bytes(&inside).unwrap();
        let res = c.post_sealed("key-bad", sealed, SEALED_CONTENT_TYPE).await;
        api_error(res, StatusCode::BAD_REQUEST, "bad_envelope").await;
    }

    // A page whose bytes do not match its hash.
    let mut tampered = upload("key-bad", ID_A, "wages");
    tampered.pages[1].sha256 = registry_api::sha256_hex(b"something else");
    let err = api_error(
        c.post_upload(&tampered).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert_eq!(err.message, "page 2: page image does not match its sha256");

    // Missing ID number, missing category, too many pages.
    let mut no_id = upload("key-bad", "", "wages");
    no_id.petitioner.id_number = IdNumber::new("");
    let err = api_error(
        c.post_upload(&no_id).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert!(err.message.contains("id_number"), "{err:?}");
    let no_category = upload("key-bad", ID_A, " ");
    let err = api_error(
        c.post_upload(&no_category).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert!(err.message.contains("category"), "{err:?}");
    let mut many = upload("key-bad", ID_A, "wages");
    many.pages = (1..=51)
        .map(|i| PageUpload::new(i, b"\xff\xd8\xff", PersonalText::new(""), 50.0))
        .collect();
    let err = api_error(
        c.post_upload(&many).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert!(err.message.contains("too many pages"), "{err:?}");

    // Idempotency-Key header missing or different from the body.
    let sealed = seal(&upload("key-bad", ID_A, "wages"));
    let res = c
        .http
        .post(format!("{}{SEALED_REGISTRATIONS_PATH}", c.base))
        .bearer_auth(TOKEN)
        .header("content-type", SEALED_CONTENT_TYPE)
        .body(sealed.clone())
        .send()
        .await
        .unwrap();
    let err = api_error(res, StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(err.message.contains("Idempotency-Key"), "{err:?}");
    let res = c.post_sealed("other", sealed, SEALED_CONTENT_TYPE).await;
    let err = api_error(res, StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(err.message.contains("Idempotency-Key"), "{err:?}");

    // Empty history query.
    let res = c
        .http
        .post(format!("{}{HISTORY_PATH}", c.base))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"id_number": ""}))
        .send()
        .await
        .unwrap();
    api_error(res, StatusCode::BAD_REQUEST, "bad_request").await;

    // Nothing was stored.
    assert_eq!(c.stats().await, Stats::default());
    reg.shutdown().await;
});

on_both!(async fn oversized_body_is_413(backend: Backend) {
    let dir = TestDb::new(backend);
    let reg = start_on(&dir.database).await;
    let c = Client::new(&reg);
    let body = vec![b' '; registry_api::MAX_BODY_BYTES + 1];
    let res = c
        .http
        .post(format!("{}{HEARTBEAT_PATH}", c.base))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    // The server may answer before it has read the whole body and close the
    // connection; when the answer arrives it must be a JSON 413.
    if let Ok(res) = res {
        api_error(res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    }
    reg.shutdown().await;
});

on_both!(async fn history_is_newest_first_and_per_person(backend: Backend) {
    let dir = TestDb::new(backend);
    let reg = start_on(&dir.database).await;
    let c = Client::new(&reg);
    let first = c.upload_ok(&upload("h-1", ID_A, "wages")).await;
    let other = c.upload_ok(&upload("h-2", ID_B, "land")).await;
    let mut no_pages = upload("h-3", ID_A, "social_insurance");
    no_pages.pages.clear();
    let third = c.upload_ok(&no_pages).await;

    let reply = c.history(ID_A).await;
    let cases: Vec<&str> = reply
        .registrations
        .iter()
        .map(|e| e.case_number.as_str())
        .collect();
    assert_eq!(
        cases,
        [third.case_number.as_str(), first.case_number.as_str()]
    );
    assert_eq!(reply.registrations[0].category, "social_insurance");
    assert_eq!(reply.registrations[0].page_count, 0);
    assert_eq!(reply.registrations[1].page_count, 2);
    assert_eq!(reply.registrations[1].registered_at, first.received_at);
    assert!(reply.registrations.iter().all(|e| e.status == "registered"));

    // A lower-case check letter finds the same person.
    assert_eq!(c.history(&ID_A.to_lowercase()).await, reply);
    let reply_b = c.history(ID_B).await;
    assert_eq!(reply_b.registrations.len(), 1);
    assert_eq!(reply_b.registrations[0].case_number, other.case_number);
    assert!(c
        .history("110105194912310011")
        .await
        .registrations
        .is_empty());
    reg.shutdown().await;
});

on_both!(async fn restart_keeps_data_and_continues_numbering(backend: Backend) {
    let dir = TestDb::new(backend);
    let db = dir.database.clone();
    let reg = start_on(&db).await;
    let c = Client::new(&reg);
    let a = c.upload_ok(&upload("r-1", ID_A, "wages")).await;
    let b = c.upload_ok(&upload("r-2", ID_A, "wages")).await;
    reg.shutdown().await;

    let reg = start_on(&db).await;
    let c = Client::new(&reg);
    assert_eq!(
        c.stats().await,
        Stats {
            registrations: 2,
            pages: 4,
            ratings: 0
        }
    );
    // A replay after the restart still finds the first answer.
    let res = c.post_upload(&upload("r-1", ID_A, "wages")).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(
        res.json::<RegistrationAck>().await.unwrap().case_number,
        a.case_number
    );
    let next = c.upload_ok(&upload("r-3", ID_A, "wages")).await;
    assert_eq!(seq_of(&next.case_number), seq_of(&b.case_number) + 1);
    assert_eq!(c.history(ID_A).await.registrations.len(), 3);
    reg.shutdown().await;
});

on_both!([flavor = "multi_thread", worker_threads = 4] async fn concurrent_uploads_get_unique_gapless_numbers(backend: Backend) {
    let dir = TestDb::new(backend);
    let reg = start_on(&dir.database).await;
    let base = reg.base_url();
    let http = reqwest::Client::new();

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..30 {
        // Twenty distinct keys, and ten more requests all repeating one key.
        let key = if i < 20 {
            format!("c-{i}")
        } else {
            "c-shared".to_owned()
        };
        let up = upload(&key, if i % 2 == 0 { ID_A } else { ID_B }, "wages");
        let up = if i >= 20 {
            upload("c-shared", ID_A, "wages")
        } else {
            up
        };
        let http = http.clone();
        let url = format!("{base}{SEALED_REGISTRATIONS_PATH}");
        tasks.spawn(async move {
            let res = http
                .post(url)
                .bearer_auth(TOKEN)
                .header(IDEMPOTENCY_HEADER, &up.idempotency_key)
                .header("content-type", SEALED_CONTENT_TYPE)
                .body(seal(&up))
                .send()
                .await
                .unwrap();
            let status = res.status();
            let ack: RegistrationAck = res.json().await.unwrap();
            (up.idempotency_key, status, ack)
        });
    }
    let mut distinct = Vec::new();
    let mut shared = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (key, status, ack) = done.unwrap();
        if key == "c-shared" {
            shared.push((status, ack));
        } else {
            assert_eq!(status, StatusCode::CREATED);
            distinct.push(ack.case_number);
        }
    }

    // Exactly one of the shared-key requests created the case; the rest replayed it
    // (a replay is answered 201 too, marked `replayed`).
    assert!(shared.iter().all(|(s, _)| *s == StatusCode::CREATED));
    assert_eq!(shared.iter().filter(|(_, a)| !a.replayed).count(), 1);
    assert_eq!(shared.iter().filter(|(_, a)| a.replayed).count(), 9);
    let shared_case = &shared[0].1.case_number;
    assert!(shared.iter().all(|(_, a)| &a.case_number == shared_case));

    let mut all: Vec<u32> = distinct.iter().map(|c| seq_of(c)).collect();
    all.push(seq_of(shared_case));
    all.sort_unstable();
    assert_eq!(
        all,
        (1..=21).collect::<Vec<u32>>(),
        "numbers must be unique and without gaps"
    );
    assert_eq!(
        http.get(format!("{base}/v1/staff/stats"))
            .bearer_auth(STAFF)
            .send()
            .await
            .unwrap()
            .json::<Stats>()
            .await
            .unwrap()
            .registrations,
        21
    );
    reg.shutdown().await;
});

#[test]
fn blocking_registry_serves_and_stops_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&Database::sqlite(dir.path().join("r.db")), vec![TOKEN.into()]);
    let reg = registry::start_blocking(cfg, local()).unwrap();
    let url = format!("{}{HEALTH_PATH}", reg.base_url());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async { reqwest::get(&url).await.unwrap().status() });
    assert_eq!(status, StatusCode::OK);
    drop(reg);
    let after = rt.block_on(async { reqwest::get(&url).await });
    assert!(after.is_err(), "the server should be gone after drop");
}

on_both!(async fn start_refuses_an_empty_token_list(backend: Backend) {
    let dir = TestDb::new(backend);
    let cfg = config(&dir.database, vec!["  ".into()]);
    let err = registry::start(cfg, local()).await.unwrap_err();
    assert!(err.to_string().contains("no terminal tokens"), "{err}");
});

impl Client {
    async fn post_sealed(&self, key: &str, body: Vec<u8>, content_type: &str) -> reqwest::Response {
        self.http
            .post(format!("{}{SEALED_REGISTRATIONS_PATH}", self.base))
            .bearer_auth(TOKEN)
            .header(IDEMPOTENCY_HEADER, key)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }
}

on_both!(async fn sealed_uploads_are_opened_stored_once_and_acknowledged_with_201(backend: Backend) {
    let dir = TestDb::new(backend);
    let reg = start_on(&dir.database).await;
    let c = Client::new(&reg);
    let up = upload("s-1", ID_A, "wages");
    let sealed = keys().0.public_key().seal(&up).unwrap();
    let res = c
        .post_sealed("s-1", sealed.clone(), SEALED_CONTENT_TYPE)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let ack: RegistrationAck = res.json().await.unwrap();
    assert!(!ack.replayed && !ack.likely_duplicate);
    // A retry after a lost answer gets the same case number, again as a 201.
    let res = c.post_sealed("s-1", sealed, SEALED_CONTENT_TYPE).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let again: RegistrationAck = res.json().await.unwrap();
    assert_eq!(again.case_number, ack.case_number);
    assert!(again.replayed);
    // Resealing the same registration (new ephemeral key) is the same content.
    let resealed = keys().0.public_key().seal(&up).unwrap();
    let res = c.post_sealed("s-1", resealed, SEALED_CONTENT_TYPE).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    // The same petitioner, category and text again: flagged as a likely duplicate.
    let dup = keys()
        .0
        .public_key()
        .seal(&upload("s-2", ID_A, "wages"))
        .unwrap();
    let res = c.post_sealed("s-2", dup, SEALED_CONTENT_TYPE).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let ack2: RegistrationAck = res.json().await.unwrap();
    assert!(ack2.likely_duplicate && !ack2.replayed);
    assert_eq!(c.stats().await.registrations, 2);
    assert_eq!(c.history(ID_A).await.registrations.len(), 2);
    reg.shutdown().await;
});

on_both!(async fn sealed_uploads_that_do_not_open_or_match_are_refused_precisely(backend: Backend) {
    let dir = TestDb::new(backend);
    let reg = start_on(&dir.database).await;
    let c = Client::new(&reg);
    let up = upload("s-9", ID_A, "wages");
    // Sealed to another registry's key: the box names it.
    let other = SealSecretKey::generate();
    let stranger = other.public_key().seal(&up).unwrap();
    let err = api_error(
        c.post_sealed("s-9", stranger.clone(), SEALED_CONTENT_TYPE).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_seal_key",
    )
    .await;
    assert!(err.message.contains(&other.key_id().to_string()), "{err:?}");
    // The same in the first format (no key id): it does not open.
    let untagged = stranger[registry_api::envelope::BOX_HEADER_LEN..].to_vec();
    let err = api_error(
        c.post_sealed("s-9", untagged, SEALED_CONTENT_TYPE).await,
        StatusCode::BAD_REQUEST,
        "bad_envelope",
    )
    .await;
    assert!(err.message.contains("does not open"), "{err:?}");
    // Garbage, a plain JSON body, the wrong content type, a key that differs from the body's.
    let res = c
        .post_sealed("s-9", b"garbage".to_vec(), SEALED_CONTENT_TYPE)
        .await;
    api_error(res, StatusCode::BAD_REQUEST, "bad_envelope").await;
    let json = serde_json::to_vec(&up).unwrap();
    let res = c.post_sealed("s-9", json, "application/json").await;
    api_error(res, StatusCode::UNSUPPORTED_MEDIA_TYPE, "bad_request").await;
    let sealed = keys().0.public_key().seal(&up).unwrap();
    let res = c.post_sealed("other", sealed, SEALED_CONTENT_TYPE).await;
    let err = api_error(res, StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(err.message.contains("Idempotency-Key"), "{err:?}");
    // A sealed upload that fails validation names the field.
    let mut bad = upload("s-9", ID_A, " ");
    bad.category = " ".into();
    let res = c
        .post_sealed(
            "s-9",
            keys().0.public_key().seal(&bad).unwrap(),
            SEALED_CONTENT_TYPE,
        )
        .await;
    let err = api_error(res, StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(err.message.contains("category"), "{err:?}");
    // Oversized.
    let big = vec![0u8; registry_api::MAX_BODY_BYTES + 1];
    let res = c.post_sealed("s-9", big, SEALED_CONTENT_TYPE).await;
    api_error(res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert_eq!(c.stats().await.registrations, 0);
    reg.shutdown().await;
});

on_both!(async fn history_takes_the_id_number_and_heartbeats_are_recorded(backend: Backend) {
    let dir = TestDb::new(backend);
    let reg = start_on(&dir.database).await;
    let c = Client::new(&reg);
    c.upload_ok(&upload("k-1", ID_A, "wages")).await;
    // A keyed hash computed elsewhere is not a query: the registry hashes.
    let other = id_lookup_key(&LookupKey::generate(), &IdNumber::new(ID_A));
    let res = c
        .http
        .post(format!("{}{HISTORY_PATH}", c.base))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({ "id_key": other }))
        .send()
        .await
        .unwrap();
    api_error(res, StatusCode::BAD_REQUEST, "bad_request").await;
    assert_eq!(c.history(ID_A).await.registrations.len(), 1);
    assert!(c.history(ID_B).await.registrations.is_empty());

    let hb = Heartbeat {
        terminal_id: "T-SPECIMEN-01".into(),
        queue_depth: 4,
        failed: 1,
        oldest_unsent_age_s: Some(90),
        version: "0.1.0".into(),
        printer: None,
        free_disk_mb: None,
        update: None,
    };
    let res = c
        .http
        .post(format!("{}{HEARTBEAT_PATH}", c.base))
        .bearer_auth(TOKEN)
        .json(&hb)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = c
        .http
        .get(format!("{}{}", c.base, registry_api::STAFF_HEARTBEATS_PATH))
        .bearer_auth(STAFF)
        .send()
        .await
        .unwrap();
    let all: Vec<registry::HeartbeatRecord> = res.json().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].heartbeat, hb);
    reg.shutdown().await;
});

/// `upload` with a third page, and its metadata: the pages without their images.
fn staged(key: &str) -> (RegistrationUpload, RegistrationUpload) {
    let mut full = upload(key, ID_B, "land");
    full.pages.push(PageUpload::new(
        3,
        b"\xff\xd8\xffSPECIMEN page three",
        PersonalText::new("第三页"),
        70.0,
    ));
    let mut meta = full.clone();
    for p in &mut meta.pages {
        p.jpeg_base64.clear();
    }
    (full, meta)
}

impl Client {
    async fn put_page(&self, key: &str, index: u32, jpeg: &[u8]) -> reqwest::Response {
        self.http
            .put(format!(
                "{}{}",
                self.base,
                registry_api::sealed_page_path(key, index)
            ))
            .bearer_auth(TOKEN)
            .header("content-type", registry_api::SEALED_PAGE_CONTENT_TYPE)
            .body(keys().0.public_key().seal_bytes(jpeg).unwrap())
            .send()
            .await
            .unwrap()
    }
}

on_both!(async fn staged_uploads_report_missing_pages_and_issue_the_case_with_the_last(backend: Backend) {
    let dir = TestDb::new(backend);
    let reg = start_on(&dir.database).await;
    let c = Client::new(&reg);
    let (full, meta) = staged("st-1");
    let jpeg = |i: usize| full.pages[i].jpeg().unwrap();
    let sealed_meta = keys().0.public_key().seal(&meta).unwrap();
    let res = c
        .post_sealed("st-1", sealed_meta.clone(), SEALED_CONTENT_TYPE)
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let missing: registry_api::MissingPages = res.json().await.unwrap();
    assert_eq!(missing.missing_pages, vec![1, 2, 3]);
    assert_eq!(c.stats().await.registrations, 0, "no case before the pages");

    // A page whose bytes do not match the metadata's sha256: a precise 422.
    let res = c.put_page("st-1", 1, b"\xff\xd8\xffnot the page").await;
    let err = api_error(res, StatusCode::UNPROCESSABLE_ENTITY, "page_hash_mismatch").await;
    assert!(err.message.contains("page 1"), "{err:?}");
    // A page the metadata does not have, a malformed index, a key never staged.
    let res = c.put_page("st-1", 4, &jpeg(0)).await;
    api_error(res, StatusCode::NOT_FOUND, "no_such_page").await;
    let res = c.put_page("st-1", 0, &jpeg(0)).await;
    api_error(res, StatusCode::BAD_REQUEST, "bad_request").await;
    let res = c.put_page("never-staged", 1, &jpeg(0)).await;
    api_error(res, StatusCode::NOT_FOUND, "not_staged").await;

    let res = c.put_page("st-1", 2, &jpeg(1)).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let missing: registry_api::MissingPages = res.json().await.unwrap();
    assert_eq!(missing.missing_pages, vec![1, 3]);
    // Re-posting the metadata (a resumed attempt) lists only what is still missing.
    let res = c
        .post_sealed("st-1", sealed_meta.clone(), SEALED_CONTENT_TYPE)
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let missing: registry_api::MissingPages = res.json().await.unwrap();
    assert_eq!(missing.missing_pages, vec![1, 3]);
    // Different metadata under the same key is a conflict.
    let (_, mut other) = staged("st-1");
    other.category = "wages".into();
    let res = c
        .post_sealed(
            "st-1",
            keys().0.public_key().seal(&other).unwrap(),
            SEALED_CONTENT_TYPE,
        )
        .await;
    api_error(res, StatusCode::CONFLICT, "conflict").await;

    let res = c.put_page("st-1", 1, &jpeg(0)).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let res = c.put_page("st-1", 3, &jpeg(2)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let ack: RegistrationAck = res.json().await.unwrap();
    assert!(!ack.replayed);

    // Replays of a complete registration: the same case number, as a 201.
    let res = c
        .post_sealed("st-1", sealed_meta, SEALED_CONTENT_TYPE)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let again: RegistrationAck = res.json().await.unwrap();
    assert_eq!(
        (again.case_number.as_str(), again.replayed),
        (ack.case_number.as_str(), true)
    );
    let res = c.put_page("st-1", 3, &jpeg(2)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let again: RegistrationAck = res.json().await.unwrap();
    assert_eq!(again.case_number, ack.case_number);
    // The single-box upload of the same registration is the same content.
    let whole = keys().0.public_key().seal(&full).unwrap();
    let res = c.post_sealed("st-1", whole, SEALED_CONTENT_TYPE).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let again: RegistrationAck = res.json().await.unwrap();
    assert_eq!(again.case_number, ack.case_number);

    // The registry stored the whole registration once, every page intact.
    assert_eq!(
        c.stats().await,
        Stats {
            registrations: 1,
            pages: 3,
            ratings: 0
        }
    );
    let staged_left = dir.count("SELECT COUNT(*) FROM staged_uploads");
    assert_eq!(staged_left, 0, "staged rows outlived the registration");
    let stored = dir.blobs("SELECT jpeg FROM pages ORDER BY page_index");
    assert_eq!(stored, vec![jpeg(0), jpeg(1), jpeg(2)]);
    reg.shutdown().await;
});

/// A bundle of the sealed metadata and the sealed pages `indexes` of `full`.
fn bundle_of(meta: &RegistrationUpload, full: &RegistrationUpload, indexes: &[u32]) -> Vec<u8> {
    let public = keys().0.public_key();
    let sealed_meta = public.seal(meta).unwrap();
    let pages: Vec<(u32, Vec<u8>)> = indexes
        .iter()
        .map(|i| {
            let jpeg = full.pages[*i as usize - 1].jpeg().unwrap();
            (*i, public.seal_bytes(&jpeg).unwrap())
        })
        .collect();
    registry_api::bundle::encode(&sealed_meta, pages.iter().map(|(i, b)| (*i, b.as_slice())))
}

on_both!(async fn a_complete_bundle_is_registered_in_one_request(backend: Backend) {
    let dir = TestDb::new(backend);
    let reg = start_on(&dir.database).await;
    let c = Client::new(&reg);
    let (full, meta) = staged("bu-1");
    let res = c
        .post_sealed(
            "bu-1",
            bundle_of(&meta, &full, &[1, 2, 3]),
            SEALED_BUNDLE_CONTENT_TYPE,
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let ack: RegistrationAck = res.json().await.unwrap();
    assert!(!ack.replayed);
    assert_eq!(
        c.stats().await,
        Stats {
            registrations: 1,
            pages: 3,
            ratings: 0
        }
    );
    // The same registration page by page is the same content: a replay.
    let res = c
        .post_sealed(
            "bu-1",
            keys().0.public_key().seal(&meta).unwrap(),
            SEALED_CONTENT_TYPE,
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let again: RegistrationAck = res.json().await.unwrap();
    assert_eq!(
        (again.case_number, again.replayed),
        (ack.case_number.clone(), true)
    );
    let res = c
        .post_sealed(
            "bu-1",
            bundle_of(&meta, &full, &[3, 1, 2]),
            SEALED_BUNDLE_CONTENT_TYPE,
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let again: RegistrationAck = res.json().await.unwrap();
    assert_eq!((again.case_number, again.replayed), (ack.case_number, true));

    // A bundle with only some pages stages them and names the rest.
    let (full2, meta2) = staged("bu-2");
    let res = c
        .post_sealed(
            "bu-2",
            bundle_of(&meta2, &full2, &[2]),
            SEALED_BUNDLE_CONTENT_TYPE,
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let missing: registry_api::MissingPages = res.json().await.unwrap();
    assert_eq!(missing.missing_pages, vec![1, 3]);
    // A page that does not match the metadata: 422, and nothing is stored.
    let (full3, meta3) = staged("bu-3");
    let mut body = bundle_of(&meta3, &full3, &[1, 2]);
    let wrong = keys()
        .0
        .public_key()
        .seal_bytes(b"\xff\xd8not page 3")
        .unwrap();
    body.extend_from_slice(&3u32.to_be_bytes());
    body.extend_from_slice(&(wrong.len() as u32).to_be_bytes());
    body.extend_from_slice(&wrong);
    let res = c
        .post_sealed("bu-3", body, SEALED_BUNDLE_CONTENT_TYPE)
        .await;
    api_error(res, StatusCode::UNPROCESSABLE_ENTITY, "page_hash_mismatch").await;
    // Not a bundle at all, and a bundle whose metadata carries the images.
    let res = c
        .post_sealed("bu-4", b"KSB1\0\0".to_vec(), SEALED_BUNDLE_CONTENT_TYPE)
        .await;
    api_error(res, StatusCode::BAD_REQUEST, "bad_bundle").await;
    let (full5, _) = staged("bu-5");
    let res = c
        .post_sealed(
            "bu-5",
            bundle_of(&full5, &full5, &[1, 2, 3]),
            SEALED_BUNDLE_CONTENT_TYPE,
        )
        .await;
    api_error(res, StatusCode::BAD_REQUEST, "bad_bundle").await;
    assert_eq!(
        c.stats().await,
        Stats {
            registrations: 1,
            pages: 3,
            ratings: 0
        }
    );
    reg.shutdown().await;
});

on_both!(async fn a_rotated_registry_opens_boxes_of_its_old_key_and_refuses_unknown_keys_with_422(backend: Backend) {
    let dir = TestDb::new(backend);
    let old = keys().0.clone();
    let new = SealSecretKey::generate();
    let mut cfg = config(&dir.database, vec![TOKEN.into()]);
    cfg.seal_key = new.clone();
    cfg.old_seal_keys = vec![old.clone()];
    let reg = registry::start(cfg, local()).await.unwrap();
    let c = Client::new(&reg);
    let created = |res: reqwest::Response| {
        assert_eq!(res.status(), StatusCode::CREATED);
    };
    // Queued before the rotation (sealed to the old key), sealed after it,
    // and a box of the first format (no key id) sealed to the old key.
    let sealed_to = |key: &SealSecretKey, up: &RegistrationUpload| key.public_key().seal(up).unwrap();
    created(c.post_sealed("rot-1", sealed_to(&old, &upload("rot-1", ID_A, "wages")), SEALED_CONTENT_TYPE).await);
    created(c.post_sealed("rot-2", sealed_to(&new, &upload("rot-2", ID_A, "land")), SEALED_CONTENT_TYPE).await);
    let tagged = sealed_to(&old, &upload("rot-3", ID_B, "wages"));
    let untagged = tagged[registry_api::envelope::BOX_HEADER_LEN..].to_vec();
    created(c.post_sealed("rot-3", untagged, SEALED_CONTENT_TYPE).await);
    // Staged: metadata sealed to the new key, a page to the old one.
    let (full, meta) = staged("rot-4");
    let res = c.post_sealed("rot-4", sealed_to(&new, &meta), SEALED_CONTENT_TYPE).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let res = c.put_page("rot-4", 1, &full.pages[0].jpeg().unwrap()).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);

    // A key the registry does not hold: 422 naming the key, for the
    // metadata, a bundle and a page alike.
    let stranger = SealSecretKey::generate();
    let id = stranger.key_id().to_string();
    let up = upload("rot-5", ID_A, "land");
    let res = c.post_sealed("rot-5", sealed_to(&stranger, &up), SEALED_CONTENT_TYPE).await;
    let err = api_error(res, StatusCode::UNPROCESSABLE_ENTITY, "unknown_seal_key").await;
    assert!(err.message.contains(&id), "{err:?}");
    let bundle = registry_api::bundle::encode(&sealed_to(&stranger, &up), std::iter::empty());
    let res = c.post_sealed("rot-5", bundle, SEALED_BUNDLE_CONTENT_TYPE).await;
    api_error(res, StatusCode::UNPROCESSABLE_ENTITY, "unknown_seal_key").await;
    let res = c
        .http
        .put(format!("{}{}", c.base, registry_api::sealed_page_path("rot-4", 2)))
        .bearer_auth(TOKEN)
        .header("content-type", registry_api::SEALED_PAGE_CONTENT_TYPE)
        .body(stranger.public_key().seal_bytes(&full.pages[1].jpeg().unwrap()).unwrap())
        .send()
        .await
        .unwrap();
    let err = api_error(res, StatusCode::UNPROCESSABLE_ENTITY, "unknown_seal_key").await;
    assert!(err.message.contains(&id), "{err:?}");
    assert_eq!(c.stats().await.registrations, 3);
    reg.shutdown().await;
});

on_both!(async fn staged_uploads_never_completed_are_swept(backend: Backend) {
    let dir = TestDb::new(backend);
    let db = dir.database.clone();
    let mut cfg = config(&db, vec![TOKEN.into()]);
    cfg.staged_max_age = std::time::Duration::from_millis(400);
    let reg = registry::start(cfg, local()).await.unwrap();
    let c = Client::new(&reg);
    let (full, meta) = staged("sw-1");
    let res = c
        .post_sealed(
            "sw-1",
            bundle_of(&meta, &full, &[1]),
            SEALED_BUNDLE_CONTENT_TYPE,
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let count = |table: &str| -> i64 { dir.count(&format!("SELECT COUNT(*) FROM {table}")) };
    assert_eq!((count("staged_uploads"), count("staged_pages")), (1, 1));
    // Swept within the age plus one sweep period (a quarter of the age).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while count("staged_uploads") > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!((count("staged_uploads"), count("staged_pages")), (0, 0));
    // The page of a swept upload is refused; the terminal starts again.
    let res = c.put_page("sw-1", 2, &full.pages[1].jpeg().unwrap()).await;
    api_error(res, StatusCode::NOT_FOUND, "not_staged").await;
    let res = c
        .post_sealed(
            "sw-1",
            bundle_of(&meta, &full, &[1, 2, 3]),
            SEALED_BUNDLE_CONTENT_TYPE,
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    reg.shutdown().await;

    // At start: an old staged upload left in the database is swept at once.
    let mut cfg = config(&db, vec![TOKEN.into()]);
    cfg.staged_max_age = std::time::Duration::from_secs(3600);
    dir.execute(
        "INSERT INTO staged_uploads (idempotency_key, metadata, metadata_sha256, page_count, received_at) VALUES ('sw-2', '{}', 'h', 1, '2026-01-01T00:00:00.000Z')",
    );
    let reg = registry::start(cfg, local()).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while count("staged_uploads") > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(count("staged_uploads"), 0);
    reg.shutdown().await;
});

// Least privilege: a terminal's credentials get 403 on every staff
// endpoint (no record, no status change, no fleet list, no totals, no
// audit), a staff credential 403 on the terminal API; every staff call and
// every history lookup is in the audit log with the credential's name and
// never the token.
on_both!(async fn terminal_and_staff_credentials_reach_only_their_own_api_and_are_audited(backend: Backend) {
    let dir = TestDb::new(backend);
    let reg = start_on(&dir.database).await;
    let c = Client::new(&reg);
    let ack = c.upload_ok(&upload("key-priv", ID_A, "wages")).await;
    let record = format!("{}{REGISTRATIONS_PATH}/{}", c.base, ack.case_number);
    let status = format!("{}{}", c.base, registry_api::status_path(&ack.case_number));
    let gets = [
        record.clone(),
        format!("{}{}", c.base, registry_api::STAFF_HEARTBEATS_PATH),
        format!("{}{}", c.base, registry_api::STAFF_STATS_PATH),
        format!("{}{}", c.base, registry_api::STAFF_AUDIT_PATH),
    ];
    for token in [TOKEN, "other-token"] {
        for url in &gets {
            let res = c.http.get(url).bearer_auth(token).send().await.unwrap();
            api_error(res, StatusCode::FORBIDDEN, "forbidden").await;
        }
        let res = c
            .http
            .post(&status)
            .bearer_auth(token)
            .json(&serde_json::json!({"status": "closed"}))
            .send()
            .await
            .unwrap();
        api_error(res, StatusCode::FORBIDDEN, "forbidden").await;
    }
    // The status did not change.
    let res = c.http.get(&record).bearer_auth(STAFF).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(c.history(ID_A).await.registrations[0].status, "registered");

    // Staff credentials are not a terminal's.
    let res = c
        .http
        .post(format!("{}{HISTORY_PATH}", c.base))
        .bearer_auth(STAFF)
        .json(&serde_json::json!({ "id_number": ID_A }))
        .send()
        .await
        .unwrap();
    api_error(res, StatusCode::FORBIDDEN, "forbidden").await;

    // A terminal's lookup and the staff's calls are audited.
    c.history(ID_B).await;
    for url in &gets {
        let res = c.http.get(url).bearer_auth(STAFF).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{url}");
    }
    let res = c
        .http
        .post(&status)
        .bearer_auth(STAFF)
        .json(&serde_json::json!({"status": "accepted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let audit = audit_of(&c).await;
    let actions: Vec<(&str, &str)> = audit
        .iter()
        .rev()
        .map(|e| (e.who.split('-').next().unwrap_or(""), e.action.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("staff", "read_registration"),
            ("terminal", "history_lookup"),
            ("terminal", "history_lookup"),
            ("staff", "read_registration"),
            ("staff", "list_heartbeats"),
            ("staff", "read_stats"),
            ("staff", "read_audit"),
            ("staff", "set_status"),
            ("staff", "read_audit"),
        ]
    );
    assert!(audit.iter().any(|e| e.action == "set_status"
        && e.target == format!("{} accepted", ack.case_number)));
    let text = serde_json::to_string(&audit).unwrap();
    for secret in [TOKEN, STAFF, ID_A, ID_B] {
        assert!(!text.contains(secret), "the audit log holds {secret}");
    }
    reg.shutdown().await;
});

// History lookups cannot be farmed: one terminal gets its burst, then 429
// `rate_limited` with `Retry-After`, while another terminal is not held
// back; every lookup, refused ones included, is in the audit log with the
// terminal that made it.
on_both!(async fn history_lookups_are_rate_limited_per_terminal_and_audited(backend: Backend) {
    let dir = TestDb::new(backend);
    let mut cfg = config(&dir.database, vec![TOKEN.into(), "other-token".into()]);
    cfg.history_limit = registry::HistoryLimit {
        burst: 5,
        per_minute: 1,
    };
    let reg = registry::start(cfg, local()).await.unwrap();
    let c = Client::new(&reg);
    let lookup = |token: &'static str| {
        c.http
            .post(format!("{}{HISTORY_PATH}", c.base))
            .bearer_auth(token)
            .json(&HistoryQuery {
                id_number: IdNumber::new(ID_A),
                identity_typed: false,
            })
            .send()
    };
    for n in 1..=5 {
        assert_eq!(lookup(TOKEN).await.unwrap().status(), StatusCode::OK, "lookup {n}");
    }
    let sixth = lookup(TOKEN).await.unwrap();
    let wait: u64 = sixth.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    api_error(sixth, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert_eq!(lookup("other-token").await.unwrap().status(), StatusCode::OK);

    let audit = audit_of(&c).await;
    let by = |action: &str| -> Vec<&str> {
        audit
            .iter()
            .filter(|e| e.action == action)
            .map(|e| e.who.as_str())
            .collect()
    };
    let looked = by("history_lookup");
    assert_eq!(looked.len(), 6);
    let refused = by("history_refused");
    assert_eq!(refused.len(), 1);
    assert_eq!(looked.iter().filter(|w| **w == refused[0]).count(), 5, "the same terminal");
    assert!(refused[0].starts_with("terminal-"));
    reg.shutdown().await;
});

// A token bound to a terminal (`TERMINAL_ID TOKEN`) records that terminal,
// whatever the body says; removing its line from the token file refuses it
// at its next request, without a restart, while the others go on.
on_both!(async fn a_bound_token_names_its_terminal_and_a_removed_line_revokes_it(backend: Backend) {
    let dir = TestDb::new(backend);
    let file = dir.dir().join("tokens");
    let lines = "hall-01 tok-hall-01\nhall-02 tok-hall-02\n";
    std::fs::write(&file, lines).unwrap();
    let mut cfg = config(
        &dir.database,
        lines.lines().map(str::to_owned).collect(),
    );
    cfg.token_file = Some(file.clone());
    let reg = registry::start(cfg, local()).await.unwrap();
    let c = Client::new(&reg);
    // hall-01 uploads claiming to be another terminal.
    let mut up = upload("key-bound", ID_A, "wages");
    up.terminal_id = "hall-02".into();
    let res = c
        .http
        .post(format!("{}{SEALED_REGISTRATIONS_PATH}", c.base))
        .bearer_auth("tok-hall-01")
        .header(IDEMPOTENCY_HEADER, "key-bound")
        .header("content-type", SEALED_CONTENT_TYPE)
        .body(seal(&up))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let ack: RegistrationAck = res.json().await.unwrap();
    let res = c
        .http
        .get(format!("{}{REGISTRATIONS_PATH}/{}", c.base, ack.case_number))
        .bearer_auth(STAFF)
        .send()
        .await
        .unwrap();
    let record: RegistrationRecord = res.json().await.unwrap();
    assert_eq!(record.terminal_id, "hall-01", "the body's terminal_id is ignored");
    // Its heartbeat, also claiming to be hall-02, is hall-01's.
    let heartbeat = |token: &'static str| {
        c.http
            .post(format!("{}{HEARTBEAT_PATH}", c.base))
            .bearer_auth(token)
            .json(&Heartbeat {
                terminal_id: "hall-02".into(),
                queue_depth: 0,
                failed: 0,
                oldest_unsent_age_s: None,
                version: "1".into(),
                printer: None,
                free_disk_mb: None,
                update: None,
            })
            .send()
    };
    assert_eq!(heartbeat("tok-hall-01").await.unwrap().status(), StatusCode::OK);
    let res = c
        .http
        .get(format!("{}{}", c.base, registry_api::STAFF_HEARTBEATS_PATH))
        .bearer_auth(STAFF)
        .send()
        .await
        .unwrap();
    let all: Vec<registry::HeartbeatRecord> = res.json().await.unwrap();
    let ids: Vec<&str> = all.iter().map(|h| h.heartbeat.terminal_id.as_str()).collect();
    assert_eq!(ids, ["hall-01"]);
    // A body the protocol refuses (terminal_id over 128 characters) is
    // refused from a bound token too, although its id would be replaced
    // (found by scripts/fuzz-registry.sh).
    let res = c
        .http
        .post(format!("{}{HEARTBEAT_PATH}", c.base))
        .bearer_auth("tok-hall-01")
        .json(&Heartbeat {
            terminal_id: "x".repeat(129),
            queue_depth: 0,
            failed: 0,
            oldest_unsent_age_s: None,
            version: "1".into(),
            printer: None,
            free_disk_mb: None,
            update: None,
        })
        .send()
        .await
        .unwrap();
    api_error(res, StatusCode::BAD_REQUEST, "bad_request").await;

    // Revoked: its line leaves the file.
    std::fs::write(&file, "hall-02 tok-hall-02\n").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    api_error(
        heartbeat("tok-hall-01").await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    assert_eq!(heartbeat("tok-hall-02").await.unwrap().status(), StatusCode::OK);
    reg.shutdown().await;
});

/// The registry's audit log, newest first, as the staff reads it.
async fn audit_of(c: &Client) -> Vec<registry::AuditEntry> {
    let res = c
        .http
        .get(format!("{}{}", c.base, registry_api::STAFF_AUDIT_PATH))
        .bearer_auth(STAFF)
        .send()
        .await
        .unwrap();
    res.json().await.unwrap()
}

/// Posts a history query as raw JSON with `token`.
async fn raw_history(c: &Client, token: &str, body: serde_json::Value) -> reqwest::Response {
    c.http
        .post(format!("{}{HISTORY_PATH}", c.base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

// The registry computes the keyed hash: a terminal sends the ID number and
// holds no key, and any terminal finds the same history for the same number
// (the check letter in either case); a hash sent in its place, an empty or
// oversized number, are refused without quoting them; the audit log keeps
// the keyed hash, never the number.
on_both!(async fn the_registry_hashes_the_id_number_so_every_terminal_finds_the_same_history(backend: Backend) {
    let dir = TestDb::new(backend);
    let reg = start_on(&dir.database).await;
    let c = Client::new(&reg);
    let first = c.upload_ok(&upload("key-across-1", ID_A, "wages")).await;
    let second = c.upload_ok(&upload("key-across-2", ID_A, "land")).await;
    c.upload_ok(&upload("key-across-3", ID_B, "wages")).await;
    for (token, number) in [(TOKEN, ID_A), ("other-token", "11010519491231002x ")] {
        let res = raw_history(&c, token, serde_json::json!({ "id_number": number })).await;
        assert_eq!(res.status(), StatusCode::OK);
        let reply: HistoryReply = res.json().await.unwrap();
        let cases: Vec<&str> = reply.registrations.iter().map(|r| r.case_number.as_str()).collect();
        assert_eq!(cases, [second.case_number.as_str(), first.case_number.as_str()], "{token}");
    }
    let hash = id_lookup_key(&keys().1, &IdNumber::new(ID_A));
    for body in [
        serde_json::json!({ "id_key": hash }),
        serde_json::json!({ "id_number": "" }),
        serde_json::json!({ "id_number": format!("{ID_A}{}", "9".repeat(4000)) }),
        serde_json::json!({ "id_number": "110105 19491231002X" }),
    ] {
        let res = raw_history(&c, TOKEN, body).await;
        api_error(res, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    let audit = audit_of(&c).await;
    let lookups: Vec<&registry::AuditEntry> =
        audit.iter().filter(|e| e.action == "history_lookup").collect();
    assert_eq!(lookups.len(), 2);
    assert!(lookups.iter().all(|e| e.target == hash), "the keyed hash is the target");
    assert!(!serde_json::to_string(&audit).unwrap().contains("19491231"));
    reg.shutdown().await;
});

// A lookup for an identity a clerk typed (no card read) says so, and the
// audit log records it apart from card lookups.
on_both!(async fn a_typed_identitys_lookup_is_audited_as_typed(backend: Backend) {
    let dir = TestDb::new(backend);
    let reg = start_on(&dir.database).await;
    let c = Client::new(&reg);
    c.upload_ok(&upload("key-typed-1", ID_A, "wages")).await;
    let res = raw_history(&c, TOKEN, serde_json::json!({ "id_number": ID_A })).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = raw_history(
        &c,
        TOKEN,
        serde_json::json!({ "id_number": ID_A, "identity_typed": true }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let reply: HistoryReply = res.json().await.unwrap();
    assert_eq!(reply.registrations.len(), 1, "a typed identity finds the same history");
    let audit = audit_of(&c).await;
    let lookups: Vec<&registry::AuditEntry> =
        audit.iter().rev().filter(|e| e.action.starts_with("history_")).collect();
    let actions: Vec<&str> = lookups.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["history_lookup", "history_lookup_typed"]);
    assert!(lookups.iter().all(|e| e.who.starts_with("terminal-")));
    assert_eq!(lookups[0].target, lookups[1].target, "the same keyed hash");
    reg.shutdown().await;
});
