//! Shared by the console's tests: a registry with staff accounts, sealed
//! SPECIMEN registrations uploaded as a terminal does, and a cookie-keeping
//! client that signs in through the form.

#![allow(dead_code)]

#[path = "../support/mod.rs"]
pub mod support;
pub use support::{Backend, TestDb};

use kiosk_privacy::{Address, IdNumber, PersonName, PersonalText, PhoneNumber};
use registry::{ConsoleConfig, LookupKey, RegistryConfig, RunningRegistry, SealSecretKey, StaffRole};
use registry_api::{
    HistoryQuery, HistoryReply, HISTORY_PATH, PageUpload, Petitioner, RegistrationAck, RegistrationUpload, IDEMPOTENCY_HEADER,
    SEALED_CONTENT_TYPE, SEALED_REGISTRATIONS_PATH,
};
use reqwest::StatusCode;

pub const TOKEN: &str = "specimen-terminal-token";
/// A second terminal's token (`hall-02`).
pub const TOKEN_2: &str = "specimen-terminal-token-2";
pub const STAFF: &str = "specimen-staff-token";
pub const PASSWORD: &str = "specimen-password-1";
pub const ID_A: &str = "11010519491231002X";
pub const ID_B: &str = "110105194912310037";
/// A synthetic SPECIMEN letter photo from the OCR corpus (a real JPEG).
pub const LETTER_JPEG: &[u8] = include_bytes!("../../../../tools/ocr-eval/corpus/032-letter.jpg");

pub struct Rig {
    pub reg: RunningRegistry,
    pub seal: SealSecretKey,
    /// The registry's database (a SQLite file lives as long as this).
    pub db: TestDb,
    pub base: String,
}

/// A registry with the accounts `li` (clerk), `zhang` (supervisor) and `wu`
/// (technician), all with [`PASSWORD`].
pub async fn start(console: ConsoleConfig) -> Rig {
    start_on(Backend::Sqlite, console).await
}

/// [`start`] on `backend`'s database.
pub async fn start_on(backend: Backend, console: ConsoleConfig) -> Rig {
    let db = TestDb::new(backend);
    for (name, role) in [
        ("li", StaffRole::Clerk),
        ("zhang", StaffRole::Supervisor),
        ("wu", StaffRole::Technician),
    ] {
        let database = db.database.clone();
        // The synchronous PostgreSQL client cannot run on the test's runtime.
        let added = tokio::task::spawn_blocking(move || {
            registry::add_staff_account(database, name, role, PASSWORD)
        })
        .await
        .unwrap();
        assert!(added.unwrap());
    }
    let seal = SealSecretKey::generate();
    let cfg = RegistryConfig {
        database: db.database.clone(),
        tokens: vec![format!("hall-01 {TOKEN}"), format!("hall-02 {TOKEN_2}")],
        token_file: None,
        staff_tokens: vec![STAFF.into()],
        history_limit: registry::HistoryLimit {
            burst: 1000,
            per_minute: 1000,
        },
        seal_key: seal.clone(),
        old_seal_keys: Vec::new(),
        lookup_key: LookupKey::generate(),
        tls: None,
        staged_max_age: registry::DEFAULT_STAGED_MAX_AGE,
        limits: Default::default(),
        staging: Default::default(),
        console,
    };
    let reg = registry::start(cfg, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let base = reg.base_url();
    Rig { reg, seal, db, base }
}

/// A SPECIMEN registration whose first page reads `ocr_text`.
pub fn specimen(key: &str, id_number: &str, category: &str, ocr_text: &str) -> RegistrationUpload {
    RegistrationUpload {
        voice_note: None,
        idempotency_key: key.into(),
        terminal_id: "hall-01".into(),
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
        description: PersonalText::new("SPECIMEN 公司拖欠工资三个月"),
        phone: Some(PhoneNumber::new("13800000000")),
        pages: vec![PageUpload::new(1, LETTER_JPEG, PersonalText::new(ocr_text), 91.5)],
        repeat: None,
        fields: vec![],
        assisted: false,
        identity_typed: false,
    }
}

impl Rig {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Uploads `up` sealed, as a terminal does.
    pub async fn upload(&self, up: &RegistrationUpload) -> RegistrationAck {
        let res = reqwest::Client::new()
            .post(self.url(SEALED_REGISTRATIONS_PATH))
            .bearer_auth(TOKEN)
            .header(IDEMPOTENCY_HEADER, &up.idempotency_key)
            .header("content-type", SEALED_CONTENT_TYPE)
            .body(self.seal.public_key().seal(up).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.unwrap()
    }

    /// A client with a cookie jar that does not follow redirects.
    pub fn browser(&self) -> Session {
        Session {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: self.base.clone(),
        }
    }

    /// Signs `user` in; panics unless the form answers with a redirect.
    pub async fn signed_in(&self, user: &str) -> Session {
        let s = self.browser();
        let res = s.sign_in(user, PASSWORD).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{user} could not sign in");
        s
    }

    /// The history reply a terminal gets for `id`.
    pub async fn history(&self, id: &str) -> HistoryReply {
        let res = reqwest::Client::new()
            .post(self.url(HISTORY_PATH))
            .bearer_auth(TOKEN)
            .json(&HistoryQuery {
                id_number: IdNumber::new(id),
                identity_typed: false,
            })
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    /// The audit log through the staff API: (who, action, target), oldest first.
    pub async fn audit(&self) -> Vec<(String, String, String)> {
        let res = reqwest::Client::new()
            .get(self.url(registry_api::STAFF_AUDIT_PATH))
            .bearer_auth(STAFF)
            .send()
            .await
            .unwrap();
        let entries: Vec<registry::AuditEntry> = res.json().await.unwrap();
        entries.into_iter().rev().map(|e| (e.who, e.action, e.target)).collect()
    }
}

pub struct Session {
    pub http: reqwest::Client,
    pub base: String,
}

/// The value of the first `name="csrf"` field in `html`.
pub fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("no csrf field") + 19;
    html[at..].split('"').next().unwrap().to_owned()
}

impl Session {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    pub async fn text(&self, path: &str) -> (StatusCode, String) {
        let res = self.get(path).await;
        (res.status(), res.text().await.unwrap())
    }

    /// Fills in and posts the sign-in form.
    pub async fn sign_in(&self, user: &str, password: &str) -> reqwest::Response {
        let (status, html) = self.text("/console/login").await;
        assert_eq!(status, StatusCode::OK);
        let csrf = csrf_of(&html);
        self.http
            .post(self.url("/console/login"))
            .form(&[("user", user), ("password", password), ("csrf", &csrf)])
            .send()
            .await
            .unwrap()
    }

    /// This session's CSRF token, read from the page at `path`.
    pub async fn csrf(&self, path: &str) -> String {
        csrf_of(&self.text(path).await.1)
    }

    /// Posts a status change of `case` as the case page's form does.
    pub async fn change(&self, case: &str, csrf: &str, seen: &str, to: &str, text: &str) -> reqwest::Response {
        self.http
            .post(self.url(&format!("/console/cases/{case}/status")))
            .form(&[("csrf", csrf), ("seen", seen), ("to", to), ("text", text)])
            .send()
            .await
            .unwrap()
    }
}
