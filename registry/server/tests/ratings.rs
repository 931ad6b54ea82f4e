//! The ratings endpoint and the status endpoint over real HTTP: a rating is
//! stored once per key for a closed case of the same petitioner (proved by a
//! rater sealed to the registry, which hashes the ID number itself), and every
//! refusal has its own status, code and message. All personal data is SPECIMEN.

use kiosk_privacy::{Address, IdNumber, PersonName, PersonalText};
use registry::{Database, LookupKey, RegistryConfig, RunningRegistry, SealSecretKey, Stats};
use base64::Engine as _;
use registry_api::{
    ApiError, HistoryQuery, HistoryReply, Petitioner, RatingAck, RatingUpload, RegistrationAck,
    RegistrationUpload, StatusUpdate, HISTORY_PATH, IDEMPOTENCY_HEADER, RATINGS_PATH,
    SEALED_CONTENT_TYPE, SEALED_REGISTRATIONS_PATH,
};
use reqwest::StatusCode;

mod support;
use support::{Backend, TestDb};

const TOKEN: &str = "specimen-terminal-token";
const STAFF: &str = "specimen-staff-token";
const ID_A: &str = "11010519491231002X";
const ID_B: &str = "110105194912310037";

struct Rig {
    reg: RunningRegistry,
    http: reqwest::Client,
    seal: SealSecretKey,
}

impl Rig {
    async fn start(db: &Database) -> Rig {
        let lookup = LookupKey::generate();
        let seal = SealSecretKey::generate();
        let cfg = RegistryConfig {
            database: db.clone(),
            tokens: vec![TOKEN.into()],
            seal_key: seal.clone(),
            old_seal_keys: Vec::new(),
            lookup_key: lookup.clone(),
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
        };
        let reg = registry::start(cfg, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        Rig {
            reg,
            http: reqwest::Client::new(),
            seal,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.reg.base_url())
    }

    /// What a terminal sends as the rater of `case`: `id` and the case
    /// sealed to `key` (base64).
    fn rater_to(key: &registry::SealPublicKey, case: &str, id: &str) -> String {
        let sealed = registry_api::seal_rater(key, case, &IdNumber::new(id)).unwrap();
        base64::engine::general_purpose::STANDARD.encode(sealed)
    }

    /// The rater of `case` sealed to this registry, as a terminal makes it.
    fn rater(&self, case: &str, id: &str) -> String {
        Rig::rater_to(&self.seal.public_key(), case, id)
    }

    /// Registers a case as a terminal does: sealed to the registry key.
    async fn register(&self, key: &str, id: &str) -> String {
        let up = RegistrationUpload {
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
                id_number: IdNumber::new(id),
                name: PersonName::new("测试样例"),
                sex: 1,
                birth: None,
                address: Address::new("北京市东城区样本路1号"),
            },
            category: "wages".into(),
            description: PersonalText::new("拖欠工资"),
            phone: None,
            pages: vec![],
        };
        let res = self
            .http
            .post(self.url(SEALED_REGISTRATIONS_PATH))
            .bearer_auth(TOKEN)
            .header(IDEMPOTENCY_HEADER, key)
            .header("content-type", SEALED_CONTENT_TYPE)
            .body(self.seal.public_key().seal(&up).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json::<RegistrationAck>().await.unwrap().case_number
    }

    async fn set_status(&self, case: &str, status: &str) -> reqwest::Response {
        self.http
            .post(self.url(&registry_api::status_path(case)))
            .bearer_auth(STAFF)
            .json(&StatusUpdate {
                status: status.into(),
            })
            .send()
            .await
            .unwrap()
    }

    async fn rate(&self, key: &str, r: &RatingUpload) -> reqwest::Response {
        self.http
            .post(self.url(RATINGS_PATH))
            .bearer_auth(TOKEN)
            .header(IDEMPOTENCY_HEADER, key)
            .json(r)
            .send()
            .await
            .unwrap()
    }

    async fn stats(&self) -> Stats {
        let res = self
            .http
            .get(self.url("/v1/staff/stats"))
            .bearer_auth(STAFF)
            .send()
            .await
            .unwrap();
        res.json().await.unwrap()
    }

    async fn history(&self, id: &str) -> HistoryReply {
        let res = self
            .http
            .post(self.url(HISTORY_PATH))
            .bearer_auth(TOKEN)
            .json(&HistoryQuery {
                id_number: IdNumber::new(id),
                identity_typed: false,
            })
            .send()
            .await
            .unwrap();
        res.json().await.unwrap()
    }
}

fn rating(case: &str, rater: &str, score: u8, reasons: &[&str]) -> RatingUpload {
    RatingUpload {
        case_number: case.into(),
        rater: rater.into(),
        score,
        reasons: reasons.iter().map(|r| r.to_string()).collect(),
        terminal_id: "T-SPECIMEN-01".into(),
        rated_at: "2026-11-28T10:00:00+08:00".into(),
    }
}

async fn refused(res: reqwest::Response, status: StatusCode, code: &str) -> String {
    assert_eq!(res.status(), status);
    let err: ApiError = res.json().await.unwrap();
    assert_eq!(err.code, code, "{err:?}");
    assert!(!err.message.contains("110105"), "{err:?}");
    err.message
}

on_both!(async fn a_closed_case_is_rated_once_and_the_history_carries_the_score(backend: Backend) {
    let dir = TestDb::new(backend);
    let rig = Rig::start(&dir.database).await;
    let case = rig.register("reg-1", ID_A).await;
    assert_eq!(rig.history(ID_A).await.registrations[0].rating, None);
    assert_eq!(
        rig.set_status(&case, "closed").await.status(),
        StatusCode::NO_CONTENT
    );
    let r = rating(&case, &rig.rater(&case, ID_A), 4, &["timely", "resolved"]);
    let res = rig.rate("rate-1", &r).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let first: RatingAck = res.json().await.unwrap();
    assert_eq!(first.case_number, case);
    assert!(!first.replayed);
    let res = rig.rate("rate-1", &r).await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "a replay is acknowledged"
    );
    let again: RatingAck = res.json().await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.received_at, first.received_at);
    assert_eq!(rig.stats().await.ratings, 1);
    let h = rig.history(ID_A).await;
    assert_eq!(h.registrations[0].status, "closed");
    assert_eq!(h.registrations[0].rating, Some(4));

    let msg = refused(
        rig.rate("rate-2", &r).await,
        StatusCode::CONFLICT,
        "already_rated",
    )
    .await;
    assert_eq!(msg, "the case has been rated already");
    let mut other = r.clone();
    other.score = 2;
    refused(
        rig.rate("rate-1", &other).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert_eq!(rig.stats().await.ratings, 1);
    rig.reg.shutdown().await;
});

on_both!(async fn each_refusal_has_its_status_and_message(backend: Backend) {
    let dir = TestDb::new(backend);
    let rig = Rig::start(&dir.database).await;
    let case = rig.register("reg-1", ID_A).await;
    let key_a = rig.rater(&case, ID_A);

    let msg = refused(
        rig.rate("k", &rating("XF-2099-000001", &rig.rater("XF-2099-000001", ID_A), 4, &[]))
            .await,
        StatusCode::NOT_FOUND,
        "unknown_case",
    )
    .await;
    assert_eq!(msg, "no registration with this case number");
    let msg = refused(
        rig.rate("k", &rating(&case, &rig.rater(&case, ID_B), 4, &[]))
            .await,
        StatusCode::FORBIDDEN,
        "wrong_petitioner",
    )
    .await;
    assert_eq!(msg, "the case was registered by another petitioner");
    // A rater sealed for another case, or to another registry's key, does not
    // prove anything about this one.
    let other_case = rig.register("reg-2", ID_A).await;
    let msg = refused(
        rig.rate("k", &rating(&case, &rig.rater(&other_case, ID_A), 4, &[]))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "bad_rater",
    )
    .await;
    assert_eq!(msg, "rater was sealed for another case");
    let stranger = SealSecretKey::generate().public_key();
    let msg = refused(
        rig.rate("k", &rating(&case, &Rig::rater_to(&stranger, &case, ID_A), 4, &[]))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "bad_rater",
    )
    .await;
    assert_eq!(msg, "rater does not open with this registry's key");
    let msg = refused(
        rig.rate("k", &rating(&case, &key_a, 4, &[])).await,
        StatusCode::CONFLICT,
        "not_closed",
    )
    .await;
    assert_eq!(msg, "only a closed case can be rated");
    assert_eq!(
        rig.set_status(&case, "closed").await.status(),
        StatusCode::NO_CONTENT
    );
    for score in [0, 6] {
        let msg = refused(
            rig.rate("k", &rating(&case, &key_a, score, &[])).await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        )
        .await;
        assert_eq!(msg, "score must be 1 to 5");
    }
    let msg = refused(
        rig.rate("k", &rating(&case, &key_a, 3, &["timely", "rude"]))
            .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert!(msg.starts_with("reasons[1] is not a known reason"), "{msg}");
    let msg = refused(
        rig.rate("k", &rating(&case, &key_a, 3, &["slow", "slow"]))
            .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert_eq!(msg, "reasons must not repeat");
    let msg = refused(
        rig.rate("k", &rating(&case, "not base64!", 3, &[])).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert_eq!(msg, "rater is not valid base64");
    let msg = refused(
        rig.rate("k", &rating(&case, &"A".repeat(4000), 3, &[])).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert!(msg.starts_with("rater must be 1 to"), "{msg}");
    let res = rig
        .http
        .post(rig.url(RATINGS_PATH))
        .bearer_auth(TOKEN)
        .json(&rating(&case, &key_a, 3, &[]))
        .send()
        .await
        .unwrap();
    let msg = refused(res, StatusCode::BAD_REQUEST, "bad_request").await;
    assert_eq!(msg, "missing Idempotency-Key header");
    let res = rig
        .http
        .post(rig.url(RATINGS_PATH))
        .header(IDEMPOTENCY_HEADER, "k")
        .json(&rating(&case, &key_a, 3, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(rig.stats().await.ratings, 0, "nothing stored by a refusal");

    let msg = refused(
        rig.set_status(&case, "finished").await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert_eq!(
        msg,
        "status must be one of registered, accepted, not_accepted, in_progress, answered, closed"
    );
    refused(
        rig.set_status("XF-2099-000001", "closed").await,
        StatusCode::NOT_FOUND,
        "unknown_case",
    )
    .await;
    let res = rig
        .http
        .post(rig.url(&registry_api::status_path(&case)))
        .json(&StatusUpdate {
            status: "closed".into(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    rig.reg.shutdown().await;
});

// A rating whose sealed rater holds another petitioner's ID number is refused.
on_both!(async fn a_sealed_rater_who_is_not_the_petitioner_is_refused(backend: Backend) {
    use base64::Engine as _;
    let dir = TestDb::new(backend);
    let rig = Rig::start(&dir.database).await;
    let case = rig.register("reg-1", ID_A).await;
    rig.set_status(&case, "closed").await;
    let seal = |id: &str| {
        let plain = serde_json::to_vec(&serde_json::json!({"case_number": case, "id_number": id})).unwrap();
        base64::engine::general_purpose::STANDARD.encode(rig.seal.public_key().seal_bytes(&plain).unwrap())
    };
    let body = |rater: String| serde_json::json!({
        "case_number": case, "rater": rater, "score": 4, "reasons": [],
        "terminal_id": "T-SPECIMEN-01", "rated_at": "2026-11-28T10:00:00+08:00"});
    let res = rig.http.post(rig.url(RATINGS_PATH)).bearer_auth(TOKEN)
        .header(IDEMPOTENCY_HEADER, "k1").json(&body(seal(ID_B))).send().await.unwrap();
    refused(res, StatusCode::FORBIDDEN, "wrong_petitioner").await;
    let res = rig.http.post(rig.url(RATINGS_PATH)).bearer_auth(TOKEN)
        .header(IDEMPOTENCY_HEADER, "k2").json(&body(seal(ID_A))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    rig.reg.shutdown().await;
});
