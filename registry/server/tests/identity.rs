//! Terminal identity end to end, over real TLS on loopback: staff issue an
//! enrollment code, a terminal enrols the key of its own self-made
//! certificate, and from then on it is that key, not what it says, that names
//! it; a revoked terminal is refused at its next request; the connection
//! limit and the header deadline cut slow and idle clients (measured on the
//! real `registry` binary). All data here is SPECIMEN.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use registry::{LookupKey, RegistryConfig, SealSecretKey};
use registry_api::{
    EnrollReply, EnrollmentCode, Heartbeat, ENROLL_PATH, HEARTBEAT_PATH, STAFF_AUDIT_PATH,
    STAFF_HEARTBEATS_PATH, STAFF_STATS_PATH, STAFF_TERMINALS_PATH,
};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use reqwest::StatusCode;

mod support;
use support::{Backend, TestDb};

const STAFF: &str = "specimen-staff-token";
const LEGACY_TOKEN: &str = "hall-01 specimen-legacy-token";

struct Pki {
    ca_pem: String,
    server_cert: PathBuf,
    server_key: PathBuf,
}

fn pki(dir: &Path) -> Pki {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "SPECIMEN registry CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let server_cert = dir.join("server.pem");
    let server_key = dir.join("server.key");
    std::fs::write(&server_cert, leaf.pem()).unwrap();
    std::fs::write(&server_key, key.serialize_pem()).unwrap();
    Pki {
        ca_pem: ca.pem(),
        server_cert,
        server_key,
    }
}

/// A terminal's own key and self-signed certificate, as `kiosk enroll` makes.
fn terminal_identity(name: &str) -> String {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec![name.to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    format!("{}\n{}", cert.pem(), key.serialize_pem())
}

fn client(ca_pem: &str, identity: Option<&str>) -> reqwest::Client {
    let cas = reqwest::Certificate::from_pem_bundle(ca_pem.as_bytes()).unwrap();
    let mut b = reqwest::Client::builder().tls_certs_only(cas);
    if let Some(id) = identity {
        b = b.identity(reqwest::Identity::from_pem(id.as_bytes()).unwrap());
    }
    b.build().unwrap()
}

fn heartbeat(claimed_id: &str) -> Heartbeat {
    Heartbeat {
        terminal_id: claimed_id.into(),
        queue_depth: 0,
        failed: 0,
        oldest_unsent_age_s: None,
        version: "specimen".into(),
        printer: None,
        free_disk_mb: None,
        update: None,
    }
}

async fn issue_code(staff: &reqwest::Client, base: &str, id: &str) -> EnrollmentCode {
    let res = staff
        .post(format!("{base}{STAFF_TERMINALS_PATH}"))
        .bearer_auth(STAFF)
        .json(&serde_json::json!({ "terminal_id": id, "hall": "东岭镇便民服务中心" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

async fn staff_get<T: serde::de::DeserializeOwned>(staff: &reqwest::Client, base: &str, path: &str) -> T {
    let res = staff.get(format!("{base}{path}")).bearer_auth(STAFF).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.json().await.unwrap()
}

async fn enroll(term: &reqwest::Client, base: &str, id: &str, code: &str) -> reqwest::Response {
    term.post(format!("{base}{ENROLL_PATH}"))
        .json(&serde_json::json!({ "terminal_id": id, "code": code }))
        .send()
        .await
        .unwrap()
}

on_both!(async fn an_enrolled_key_names_the_terminal_and_revocation_holds_at_the_next_request(backend: Backend) {
    let dir = TestDb::new(backend);
    let pki = pki(dir.dir());
    let cfg = RegistryConfig {
        database: dir.database.clone(),
        tokens: vec![LEGACY_TOKEN.into()],
        token_file: None,
        staff_tokens: vec![STAFF.into()],
        history_limit: Default::default(),
        seal_key: SealSecretKey::generate(),
        old_seal_keys: vec![],
        lookup_key: LookupKey::generate(),
        tls: Some(registry::TlsFiles {
            cert_chain: pki.server_cert.clone(),
            key: pki.server_key.clone(),
        }),
        staged_max_age: registry::DEFAULT_STAGED_MAX_AGE,
        limits: Default::default(),
        staging: Default::default(),
        console: Default::default(),
    };
    let reg = registry::start(cfg, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let base = reg.base_url();
    assert!(base.starts_with("https://"));
    let staff = client(&pki.ca_pem, None);
    let a = client(&pki.ca_pem, Some(&terminal_identity("hall-01")));
    let b = client(&pki.ca_pem, Some(&terminal_identity("hall-02")));
    let stranger = client(&pki.ca_pem, Some(&terminal_identity("hall-01")));

    // Before enrollment, neither a certificate nor the old bearer token makes a terminal.
    let res = a.post(format!("{base}{HEARTBEAT_PATH}")).json(&heartbeat("hall-01")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = staff
        .post(format!("{base}{HEARTBEAT_PATH}"))
        .bearer_auth("specimen-legacy-token")
        .json(&heartbeat("hall-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "a bare token over TLS is no terminal");

    // A wrong code is refused; the right one enrols A's key; it is then spent.
    let code_a = issue_code(&staff, &base, "hall-01").await;
    assert_eq!(code_a.code.len(), 19);
    let res = enroll(&a, &base, "hall-01", "AAAA-BBBB-CCCC-DDDD").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = enroll(&a, &base, "hall-01", &code_a.code.to_lowercase()).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let reply: EnrollReply = res.json().await.unwrap();
    assert_eq!(reply.terminal_id, "hall-01");
    assert_eq!(reply.key_sha256.len(), 64);
    let res = enroll(&stranger, &base, "hall-01", &code_a.code).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a spent code enrols nobody");
    // Enrolling needs a certificate: no key, no enrollment.
    let code_b = issue_code(&staff, &base, "hall-02").await;
    let res = enroll(&staff, &base, "hall-02", &code_b.code).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = enroll(&b, &base, "hall-02", &code_b.code).await;
    assert_eq!(res.status(), StatusCode::CREATED);

    // A says it is B: recorded as A.
    let res = a.post(format!("{base}{HEARTBEAT_PATH}")).json(&heartbeat("hall-02")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{:?}", res.text().await);
    let seen: Vec<serde_json::Value> = staff_get(&staff, &base, STAFF_HEARTBEATS_PATH).await;
    let ids: Vec<&str> = seen.iter().filter_map(|h| h["terminal_id"].as_str()).collect();
    assert_eq!(ids, ["hall-01"], "the body's terminal id is ignored");

    // A terminal key reaches none of the staff API.
    for path in [STAFF_HEARTBEATS_PATH, STAFF_STATS_PATH, STAFF_AUDIT_PATH, STAFF_TERMINALS_PATH] {
        let res = a.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }
    // An unenrolled key is no terminal.
    let res = stranger.post(format!("{base}{HEARTBEAT_PATH}")).json(&heartbeat("hall-01")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Revoke A: its very next request (on its open connection) is refused; B goes on.
    let res = staff
        .post(format!("{base}{}", registry_api::revoke_path("hall-01")))
        .bearer_auth(STAFF)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = a.post(format!("{base}{HEARTBEAT_PATH}")).json(&heartbeat("hall-01")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let err: serde_json::Value = res.json().await.unwrap();
    assert_eq!(err["code"], "revoked");
    let res = b.post(format!("{base}{HEARTBEAT_PATH}")).json(&heartbeat("hall-02")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // Staff see the records, and every step is in the audit log.
    let all: Vec<serde_json::Value> = staff_get(&staff, &base, STAFF_TERMINALS_PATH).await;
    let status: Vec<(&str, &str)> = all
        .iter()
        .map(|t| (t["terminal_id"].as_str().unwrap(), t["status"].as_str().unwrap()))
        .collect();
    assert_eq!(status, [("hall-01", "revoked"), ("hall-02", "active")]);
    let audit: Vec<serde_json::Value> = staff_get(&staff, &base, STAFF_AUDIT_PATH).await;
    let actions: Vec<&str> = audit.iter().filter_map(|e| e["action"].as_str()).collect();
    for wanted in ["issue_enrollment", "enroll_refused", "enrolled", "revoke_terminal"] {
        assert!(actions.contains(&wanted), "{wanted} missing from {actions:?}");
    }
    reg.shutdown().await;
});

/// VmHWM (peak resident memory) of a process, in KiB.
fn peak_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The real binary, plain HTTP on loopback, with a small connection limit
/// and a one-second header deadline.
struct Child {
    proc: std::process::Child,
    addr: String,
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.proc.kill();
        let _ = self.proc.wait();
    }
}

fn spawn_registry(dir: &Path, max_connections: usize) -> Child {
    let keys = dir.join("keys");
    let st = std::process::Command::new(env!("CARGO_BIN_EXE_registry"))
        .arg("--init-keys")
        .arg(&keys)
        .status()
        .unwrap();
    assert!(st.success());
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let proc = std::process::Command::new(env!("CARGO_BIN_EXE_registry"))
        .args(["--listen", &addr, "--token", "hall-01 specimen-token"])
        .arg("--db")
        .arg(dir.join("registry.db"))
        .arg("--seal-key-file")
        .arg(keys.join("seal.secret"))
        .arg("--lookup-key-file")
        .arg(keys.join("lookup.key"))
        .args(["--max-connections", &max_connections.to_string()])
        .args(["--header-timeout-secs", "1", "--request-timeout-secs", "2"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "registry did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Child { proc, addr }
}

/// A whole `GET /v1/health` on a new connection: true if answered 200 in time.
fn healthy(addr: &str) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else { return false };
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    if s
        .write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.starts_with("HTTP/1.1 200")
}

/// True once the server has closed `s` (a read answers end of file or an error).
fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    s.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 512];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue, // a 408 answer, then the close
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {
                return false
            }
            Err(_) => return true,
        }
    }
}

#[test]
#[allow(clippy::print_stdout)] // It prints the memory figure it measured.
fn slow_and_idle_clients_are_cut_and_the_connection_limit_holds() {
    let dir = tempfile::tempdir().unwrap();
    let limit = 32;
    let reg = spawn_registry(dir.path(), limit);
    assert!(healthy(&reg.addr));
    let before = peak_kib(reg.proc.id());

    // Slow loris: many clients each sending a request head a byte at a time,
    // and more clients than the limit that send nothing at all.
    let mut slow: Vec<TcpStream> = (0..limit)
        .map(|_| {
            let mut s = TcpStream::connect(&reg.addr).unwrap();
            s.write_all(b"POST /v1/heartbeats HTTP/1.1\r\nHost: x\r\n").unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    // Over the limit: closed at once.
    let mut extra = TcpStream::connect(&reg.addr).unwrap();
    assert!(closed_within(&mut extra, Duration::from_millis(1500)), "a connection over the limit is closed");
    // Dripping header bytes does not keep a connection: the head must be
    // whole within the header deadline (1 s).
    let started = Instant::now();
    for _ in 0..10 {
        for s in &mut slow {
            let _ = s.write_all(b"X");
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    let mut cut = 0;
    for s in &mut slow {
        if closed_within(s, Duration::from_millis(100)) {
            cut += 1;
        }
    }
    assert_eq!(cut, limit, "every slow client cut within {:?}", started.elapsed());
    assert!(healthy(&reg.addr), "the registry serves again once they are cut");

    // A body that trickles in is answered 408 and the connection closed.
    let mut s = TcpStream::connect(&reg.addr).unwrap();
    s.write_all(
        b"POST /v1/heartbeats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer specimen-token\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{",
    )
    .unwrap();
    let mut answer = String::new();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let t0 = Instant::now();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(t0.elapsed() < Duration::from_secs(4));

    // An idle keep-alive connection is also cut by the header deadline.
    let mut idle = TcpStream::connect(&reg.addr).unwrap();
    idle.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    assert!(
        closed_within(&mut idle, Duration::from_secs(4)),
        "an idle connection is closed after the header deadline"
    );

    // A flood of 2000 connections (in waves over the limit) leaves memory bounded.
    for _ in 0..20 {
        let wave: Vec<TcpStream> = (0..100)
            .filter_map(|_| TcpStream::connect(&reg.addr).ok())
            .collect();
        drop(wave);
    }
    // The closed sockets free their slots as the server reads their ends.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !healthy(&reg.addr) {
        assert!(Instant::now() < deadline, "the registry serves again after the flood");
        std::thread::sleep(Duration::from_millis(100));
    }
    let after = peak_kib(reg.proc.id());
    let bound = 64 * 1024;
    println!("registry peak memory: {before} KiB before, {after} KiB after the slow clients and the flood (bound {bound} KiB)");
    assert!(after < bound, "peak {after} KiB over {bound} KiB");
}

/// Over TLS the console's cookie is `Secure`, and an enrolled terminal's
/// key never reaches the console, not even with a staff member's session.
#[tokio::test]
async fn an_enrolled_terminals_key_never_reaches_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let db = dir.path().join("registry.db");
    registry::add_staff_account(&db, "zhang", registry::StaffRole::Supervisor, "specimen-password-1").unwrap();
    let cfg = RegistryConfig {
        database: db.into(),
        tokens: vec![],
        token_file: None,
        staff_tokens: vec![STAFF.into()],
        history_limit: Default::default(),
        seal_key: SealSecretKey::generate(),
        old_seal_keys: vec![],
        lookup_key: LookupKey::generate(),
        tls: Some(registry::TlsFiles {
            cert_chain: pki.server_cert.clone(),
            key: pki.server_key.clone(),
        }),
        staged_max_age: registry::DEFAULT_STAGED_MAX_AGE,
        limits: Default::default(),
        staging: Default::default(),
        console: Default::default(),
    };
    let reg = registry::start(cfg, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let base = reg.base_url();
    let cas = reqwest::Certificate::from_pem_bundle(pki.ca_pem.as_bytes()).unwrap();
    let browser = reqwest::Client::builder()
        .tls_certs_only(cas)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie_of = |res: &reqwest::Response, name: &str| -> String {
        res.headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|v| v.starts_with(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} cookie"))
    };
    // The staff member signs in over TLS (no client certificate).
    let res = browser.get(format!("{base}/console/login")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let login = cookie_of(&res, "console_login");
    let login = login.split(';').next().unwrap().to_owned();
    let html = res.text().await.unwrap();
    let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = html[at..].split('"').next().unwrap().to_owned();
    let res = browser
        .post(format!("{base}/console/login"))
        .header("cookie", &login)
        .form(&[("user", "zhang"), ("password", "specimen-password-1"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let session = cookie_of(&res, "console_session");
    assert!(session.contains("; Secure") && session.contains("HttpOnly"), "{session}");
    let session = session.split(';').next().unwrap().to_owned();
    let res = browser.get(format!("{base}/console/fleet")).header("cookie", &session).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // An enrolled terminal, even holding that session cookie, is refused.
    let staff = client(&pki.ca_pem, None);
    let terminal = client(&pki.ca_pem, Some(&terminal_identity("hall-01")));
    let code = issue_code(&staff, &base, "hall-01").await;
    assert_eq!(enroll(&terminal, &base, "hall-01", &code.code).await.status(), StatusCode::CREATED);
    for path in ["/console/login", "/console/fleet", "/console/cases"] {
        let res = terminal.get(format!("{base}{path}")).header("cookie", &session).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let res = terminal.get(format!("{base}{}", registry::FLEET_JSON_PATH)).header("cookie", &session).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "the fleet's JSON");
    reg.shutdown().await;
}
