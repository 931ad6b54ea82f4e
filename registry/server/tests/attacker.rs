//! An attacker terminal against the real `registry` binary: a child process
//! on loopback with its own database and keys, driven over HTTP with valid
//! terminal credentials, its peak memory read from `/proc/PID/status`
//! (`VmHWM`, reset between phases through `/proc/PID/clear_refs`).
//!
//! Each test states its memory bound and prints the figure it measured.
//! All personal data here is SPECIMEN.
#![allow(clippy::print_stdout)] // Each test prints the memory figure it measured.

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kiosk_privacy::{Address, IdNumber, PersonName, PersonalText};
use registry::SealPublicKey;
use registry_api::{
    ApiError, MissingPages, PageUpload, Petitioner, RegistrationAck, RegistrationRecord,
    RegistrationUpload, IDEMPOTENCY_HEADER, REGISTRATIONS_PATH, SEALED_BUNDLE_CONTENT_TYPE,
    SEALED_CONTENT_TYPE, SEALED_PAGE_CONTENT_TYPE, SEALED_REGISTRATIONS_PATH,
};
use reqwest::StatusCode;

const TOKEN_A: &str = "attacker-terminal-token-a";
const TOKEN_B: &str = "honest-terminal-token-b";
const STAFF: &str = "specimen-staff-token";
const MIB: u64 = 1024 * 1024;

/// The `registry` binary running as a child process.
struct Registry {
    child: Child,
    base: String,
    dir: tempfile::TempDir,
    public: SealPublicKey,
    log: Arc<Mutex<Vec<String>>>,
    http: reqwest::Client,
}

impl Registry {
    /// Makes keys and token files, starts `registry` on 127.0.0.1:0 and
    /// waits until it says where it listens.
    fn start() -> Registry {
        let exe = env!("CARGO_BIN_EXE_registry");
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        let made = Command::new(exe)
            .arg("--init-keys")
            .arg(&keys)
            .output()
            .unwrap();
        assert!(made.status.success(), "{made:?}");
        std::fs::write(
            dir.path().join("tokens"),
            format!("T-A {TOKEN_A}\nT-B {TOKEN_B}\n"),
        )
        .unwrap();
        std::fs::write(dir.path().join("staff"), format!("{STAFF}\n")).unwrap();
        let mut child = Command::new(exe)
            .args(["--listen", "127.0.0.1:0", "--db"])
            .arg(dir.path().join("r.db"))
            .arg("--token-file")
            .arg(dir.path().join("tokens"))
            .arg("--staff-token-file")
            .arg(dir.path().join("staff"))
            .arg("--seal-key-file")
            .arg(keys.join("seal.secret"))
            .arg("--lookup-key-file")
            .arg(keys.join("lookup.key"))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some((_, url)) = line.split_once("registry listening on ") {
                    let _ = addr_tx.send(url.trim().to_owned());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let base = addr_rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("registry did not start: {:?}", log.lock().unwrap()));
        let public =
            SealPublicKey::from_text(&std::fs::read_to_string(keys.join("seal.public")).unwrap())
                .unwrap();
        Registry {
            child,
            base,
            dir,
            public,
            log,
            http: reqwest::Client::new(),
        }
    }

    /// A line of `/proc/PID/status` in KiB.
    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc status"))
    }

    /// The child's peak resident memory since start or the last [`Registry::reset_peak`], in MiB.
    fn peak_mib(&self) -> f64 {
        self.status_kib("VmHWM:") as f64 / 1024.0
    }

    /// Starts a new peak measurement (`VmHWM` falls back to the current RSS).
    fn reset_peak(&self) {
        std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5").unwrap();
    }

    async fn post(
        &self,
        token: &str,
        key: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}{SEALED_REGISTRATIONS_PATH}", self.base))
            .bearer_auth(token)
            .header(IDEMPOTENCY_HEADER, key)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    async fn put_page(&self, token: &str, key: &str, index: u32, jpeg: &[u8]) -> reqwest::Response {
        self.http
            .put(format!(
                "{}{}",
                self.base,
                registry_api::sealed_page_path(key, index)
            ))
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, SEALED_PAGE_CONTENT_TYPE)
            .body(self.public.seal_bytes(jpeg).unwrap())
            .send()
            .await
            .unwrap()
    }

    /// Posts the metadata of `meta` (pages without images): the staged way.
    async fn post_metadata(&self, token: &str, meta: &RegistrationUpload) -> reqwest::Response {
        let sealed = self.public.seal(meta).unwrap();
        self.post(token, &meta.idempotency_key, SEALED_CONTENT_TYPE, sealed)
            .await
    }

    /// Uploads `meta` with every page of `pages` in one bundle, as a terminal's first attempt.
    async fn post_bundle(
        &self,
        token: &str,
        meta: &RegistrationUpload,
        pages: &[Vec<u8>],
    ) -> reqwest::Response {
        let sealed_meta = self.public.seal(meta).unwrap();
        let boxes: Vec<Vec<u8>> = pages
            .iter()
            .map(|p| self.public.seal_bytes(p).unwrap())
            .collect();
        let body = registry_api::bundle::encode(
            &sealed_meta,
            boxes
                .iter()
                .enumerate()
                .map(|(i, b)| (i as u32 + 1, b.as_slice())),
        );
        self.post(
            token,
            &meta.idempotency_key,
            SEALED_BUNDLE_CONTENT_TYPE,
            body,
        )
        .await
    }

    async fn record(&self, case_number: &str) -> RegistrationRecord {
        let res = self
            .http
            .get(format!("{}{REGISTRATIONS_PATH}/{case_number}", self.base))
            .bearer_auth(STAFF)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    /// Open staged uploads and the bytes they hold (metadata and pages), from the database.
    fn staged_in_db(&self) -> (i64, i64) {
        let db = rusqlite::Connection::open(self.dir.path().join("r.db")).unwrap();
        db.query_row(
            "SELECT (SELECT COUNT(*) FROM staged_uploads),
                    (SELECT COALESCE(SUM(length(metadata)), 0) FROM staged_uploads)
                  + (SELECT COALESCE(SUM(length(jpeg)), 0) FROM staged_pages)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    }

    /// Checks that the registry is still alive and logged nothing personal.
    fn check_log(&mut self) {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "the registry died"
        );
        let log = self.log.lock().unwrap();
        assert!(!log.iter().any(|l| l.contains("panicked")), "{log:?}");
        for personal in ["110105", "样本", "SPECIMEN page"] {
            assert!(
                !log.iter().any(|l| l.contains(personal)),
                "the log holds personal data"
            );
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A page's "JPEG": `size` bytes that differ per `(upload, index)`.
fn page(upload: u32, index: u32, size: usize) -> Vec<u8> {
    let mut bytes = format!("\u{ff}SPECIMEN page {upload}-{index}|").into_bytes();
    let fill = (upload.wrapping_mul(31) ^ index) as u8;
    bytes.resize(size, fill);
    bytes
}

/// The metadata of a registration with pages of these sha256s (images empty).
fn metadata(key: &str, hashes: &[String]) -> RegistrationUpload {
    RegistrationUpload {
        voice_note: None,
        repeat: None,
        assisted: false,
        identity_typed: false,
        fields: vec![],
        idempotency_key: key.into(),
        terminal_id: "T-SPECIMEN".into(),
        local_ref: format!("L-{key}"),
        sealed_at: "2026-03-01T09:00:00+08:00".into(),
        petitioner: Petitioner {
            doc_type: "resident".into(),
            id_number: IdNumber::new("11010519491231002X"),
            name: PersonName::new("样本"),
            sex: 1,
            birth: None,
            address: Address::new("样本路1号"),
        },
        category: "wages".into(),
        description: PersonalText::new(""),
        phone: None,
        pages: hashes
            .iter()
            .enumerate()
            .map(|(i, sha256)| PageUpload {
                index: i as u32 + 1,
                jpeg_base64: String::new(),
                sha256: sha256.clone(),
                ocr_text: PersonalText::new(""),
                ocr_confidence: 50.0,
            })
            .collect(),
    }
}

/// The metadata of upload number `upload` with `count` pages of `size` bytes.
fn metadata_of(upload: u32, count: u32, size: usize) -> RegistrationUpload {
    metadata_sending(upload, count, count, size)
}

/// The metadata of upload number `upload` with `count` pages of which only
/// the first `sent` will be sent (the others' hashes are not worth computing).
fn metadata_sending(upload: u32, count: u32, sent: u32, size: usize) -> RegistrationUpload {
    let hashes: Vec<String> = (1..=count)
        .map(|i| match i <= sent {
            true => registry_api::sha256_hex(&page(upload, i, size)),
            false => registry_api::sha256_hex(format!("never sent {upload}-{i}").as_bytes()),
        })
        .collect();
    metadata(&key_of(upload), &hashes)
}

fn key_of(upload: u32) -> String {
    format!("0f8fad5b-d9cb-469f-a165-{upload:012}")
}

async fn api_error(res: reqwest::Response, status: StatusCode, code: &str) -> ApiError {
    assert_eq!(res.status(), status);
    let err: ApiError = res.json().await.unwrap();
    assert_eq!(err.code, code, "{err:?}");
    err
}

async fn missing(res: reqwest::Response) -> Vec<u32> {
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    res.json::<MissingPages>().await.unwrap().missing_pages
}

async fn created(res: reqwest::Response) -> RegistrationAck {
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

/// The registry's peak memory while it refuses bundles of a million empty
/// parts must stay under this (the body alone is 8 MB).
const MILLION_PARTS_BOUND_MIB: f64 = 48.0;

#[tokio::test]
async fn a_bundle_of_a_million_empty_parts_is_refused_within_a_memory_bound() {
    let mut reg = Registry::start();
    let idle = reg.peak_mib();
    let mut body = Vec::with_capacity(4 + 8 * 1_000_000);
    body.extend_from_slice(registry_api::bundle::BUNDLE_MAGIC);
    for index in 0..1_000_000u32 {
        body.extend_from_slice(&index.to_be_bytes());
        body.extend_from_slice(&0u32.to_be_bytes());
    }
    reg.reset_peak();
    let started = Instant::now();
    let mut answers = Vec::new();
    for attempt in 0..3 {
        let key = format!("million-{attempt}");
        answers.push(
            reg.post(TOKEN_A, &key, SEALED_BUNDLE_CONTENT_TYPE, body.clone())
                .await,
        );
    }
    let peak = reg.peak_mib();
    println!(
        "million empty parts ({} bytes) x3: refused in {:.2} s; registry peak RSS {peak:.1} MiB \
         (idle {idle:.1} MiB, bound {MILLION_PARTS_BOUND_MIB} MiB)",
        body.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(peak < MILLION_PARTS_BOUND_MIB, "peak {peak:.1} MiB");
    for res in answers {
        let err = api_error(res, StatusCode::BAD_REQUEST, "bad_bundle").await;
        assert!(err.message.contains("more than"), "{err:?}");
    }
    // Nothing was stored, and the same terminal's next good upload works.
    assert_eq!(reg.staged_in_db().0, 0);
    let pages = vec![page(1, 1, 4096)];
    let meta = metadata(&key_of(1), &[registry_api::sha256_hex(&pages[0])]);
    let ack = created(reg.post_bundle(TOKEN_A, &meta, &pages).await).await;
    assert!(registry_api::valid_case_number(&ack.case_number));
    reg.check_log();
}

/// The registry's peak memory through a staging flood (hundreds of staged
/// uploads and 1 MiB pages past every quota) must stay under this.
const FLOOD_BOUND_MIB: f64 = 48.0;

#[tokio::test]
async fn a_staging_flood_is_refused_past_the_quota_within_a_memory_bound() {
    let mut reg = Registry::start();
    let limits = registry::StagingLimits::default();
    let page_size = MIB as usize;
    reg.reset_peak();
    let started = Instant::now();

    // 1. Far more staged uploads than one terminal may have open: the quota
    //    takes exactly its number, the rest are refused with 429 and a code.
    let flood = 200u32;
    let mut taken = 0u32;
    for upload in 1..=flood {
        let sent = match upload {
            1 => 40,
            2..=6 => 30,
            _ => 0,
        };
        let meta = metadata_sending(upload, 50, sent, page_size);
        let res = reg.post_metadata(TOKEN_A, &meta).await;
        if res.status() == StatusCode::ACCEPTED {
            assert_eq!(missing(res).await.len(), 50);
            taken += 1;
        } else {
            assert!(res.headers().contains_key(reqwest::header::RETRY_AFTER));
            let err = api_error(res, StatusCode::TOO_MANY_REQUESTS, "staging_quota").await;
            assert!(err.message.contains("staged"), "{err:?}");
        }
    }
    assert_eq!(taken, limits.terminal_uploads);
    assert_eq!(reg.staged_in_db().0, i64::from(limits.terminal_uploads));

    // 2. One upload past its own byte limit: refused 413 and dropped whole.
    let mut refused_at = None;
    for index in 1..=50u32 {
        let res = reg
            .put_page(TOKEN_A, &key_of(1), index, &page(1, index, page_size))
            .await;
        if res.status() == StatusCode::ACCEPTED {
            continue;
        }
        api_error(res, StatusCode::PAYLOAD_TOO_LARGE, "staged_too_large").await;
        refused_at = Some(index);
        break;
    }
    let refused_at = refused_at.expect("a staged upload grew past its byte limit");
    assert_eq!(
        u64::from(refused_at),
        limits.upload_bytes / MIB,
        "refused at page {refused_at}"
    );
    let res = reg
        .put_page(TOKEN_A, &key_of(1), 1, &page(1, 1, page_size))
        .await;
    api_error(res, StatusCode::NOT_FOUND, "not_staged").await;

    // 3. Pages into the other open uploads until the terminal's byte quota
    //    refuses them; what is staged never passes it.
    let mut quota_hit = false;
    'fill: for upload in 2..=6 {
        for index in 1..=30u32 {
            let res = reg
                .put_page(
                    TOKEN_A,
                    &key_of(upload),
                    index,
                    &page(upload, index, page_size),
                )
                .await;
            if res.status() == StatusCode::ACCEPTED {
                continue;
            }
            api_error(res, StatusCode::TOO_MANY_REQUESTS, "staging_quota").await;
            quota_hit = true;
            break 'fill;
        }
    }
    assert!(quota_hit, "the terminal's byte quota never refused a page");
    let (open, held) = reg.staged_in_db();
    assert!(held as u64 <= limits.terminal_bytes, "{held} bytes staged");
    assert!(
        held as u64 > limits.terminal_bytes - 2 * MIB,
        "{held} bytes staged"
    );
    // The upload dropped in 2. left room for one more open upload, no more;
    // a refusal stores nothing.
    assert_eq!(open, i64::from(limits.terminal_uploads) - 1);
    missing(
        reg.post_metadata(TOKEN_A, &metadata_of(900, 2, page_size))
            .await,
    )
    .await;
    let (open, held) = reg.staged_in_db();
    let res = reg.post_metadata(TOKEN_A, &metadata_of(901, 2, 1000)).await;
    api_error(res, StatusCode::TOO_MANY_REQUESTS, "staging_quota").await;
    let res = reg
        .put_page(TOKEN_A, &key_of(900), 1, &page(900, 1, page_size))
        .await;
    api_error(res, StatusCode::TOO_MANY_REQUESTS, "staging_quota").await;
    assert_eq!(
        reg.staged_in_db(),
        (open, held),
        "a refusal stored something"
    );

    let peak = reg.peak_mib();
    println!(
        "staging flood: {flood} staged uploads ({taken} taken), {:.0} MiB staged at the quota \
         in {:.1} s; registry peak RSS {peak:.1} MiB (bound {FLOOD_BOUND_MIB} MiB)",
        held as f64 / MIB as f64,
        started.elapsed().as_secs_f64()
    );
    assert!(peak < FLOOD_BOUND_MIB, "peak {peak:.1} MiB");

    // 4. Another terminal still uploads, staged and in one bundle; and the
    //    flooding terminal's own complete bundle (which stages nothing) too.
    let meta = metadata_of(1000, 2, 4096);
    assert_eq!(
        missing(reg.post_metadata(TOKEN_B, &meta).await).await,
        vec![1, 2]
    );
    assert_eq!(
        missing(
            reg.put_page(TOKEN_B, &meta.idempotency_key, 1, &page(1000, 1, 4096))
                .await
        )
        .await,
        vec![2]
    );
    let ack = created(
        reg.put_page(TOKEN_B, &meta.idempotency_key, 2, &page(1000, 2, 4096))
            .await,
    )
    .await;
    assert!(registry_api::valid_case_number(&ack.case_number));
    let pages: Vec<Vec<u8>> = (1..=2).map(|i| page(1001, i, 4096)).collect();
    created(
        reg.post_bundle(TOKEN_B, &metadata_of(1001, 2, 4096), &pages)
            .await,
    )
    .await;
    let pages: Vec<Vec<u8>> = (1..=2).map(|i| page(1002, i, 4096)).collect();
    created(
        reg.post_bundle(TOKEN_A, &metadata_of(1002, 2, 4096), &pages)
            .await,
    )
    .await;
    reg.check_log();
}

/// Completing a staged upload of 30 pages of 1 MiB may raise the registry's
/// peak memory by at most this (the old completion, through base64 and
/// back, needed over 100 MiB for it).
const COMPLETION_GROWTH_BOUND_MIB: f64 = 16.0;

#[tokio::test]
async fn completing_a_large_staged_upload_does_not_load_its_pages() {
    let mut reg = Registry::start();
    let count = 30u32;
    let size = MIB as usize;
    let meta = metadata_of(7, count, size);
    let key = meta.idempotency_key.clone();
    assert_eq!(
        missing(reg.post_metadata(TOKEN_A, &meta).await).await.len(),
        count as usize
    );
    for index in 1..count {
        let left = missing(
            reg.put_page(TOKEN_A, &key, index, &page(7, index, size))
                .await,
        )
        .await;
        assert_eq!(left, (index + 1..=count).collect::<Vec<_>>());
    }
    let last = page(7, count, size);
    let sealed_last = reg.public.seal_bytes(&last).unwrap();
    drop(last);
    reg.reset_peak();
    let before = reg.status_kib("VmRSS:") as f64 / 1024.0;
    let res = reg
        .http
        .put(format!(
            "{}{}",
            reg.base,
            registry_api::sealed_page_path(&key, count)
        ))
        .bearer_auth(TOKEN_A)
        .header(reqwest::header::CONTENT_TYPE, SEALED_PAGE_CONTENT_TYPE)
        .body(sealed_last)
        .send()
        .await
        .unwrap();
    let ack = created(res).await;
    let peak = reg.peak_mib();
    println!(
        "completing {count} staged pages of 1 MiB: registry RSS {before:.1} MiB before, \
         peak {peak:.1} MiB (growth {:.1} MiB, bound {COMPLETION_GROWTH_BOUND_MIB} MiB)",
        peak - before
    );
    assert!(
        peak - before < COMPLETION_GROWTH_BOUND_MIB,
        "grew {:.1} MiB",
        peak - before
    );
    // Every page was stored whole, and nothing stays staged.
    let record = reg.record(&ack.case_number).await;
    assert_eq!(record.pages.len(), count as usize);
    for (stored, sent) in record.pages.iter().zip(&meta.pages) {
        assert_eq!(
            (stored.index, &stored.sha256, stored.size_bytes),
            (sent.index, &sent.sha256, MIB)
        );
    }
    assert_eq!(reg.staged_in_db(), (0, 0));
    reg.check_log();
}
