//! Reference central registry: HTTP server with SQLite that issues case numbers.
//!
//! This is the other end of the kiosk's uplink protocol (`registry-api`,
//! described in `registry/openapi.yaml`). Terminals upload sealed registrations
//! with a bearer token and an idempotency key; the registry stores them with
//! their page images and answers with a case number such as `XF-2026-000001`,
//! issued in the same transaction, sequential per (Beijing) year.
//!
//! The demo and the end-to-end tests run it in-process with [`start`] (inside
//! a tokio runtime) or [`start_blocking`] (from synchronous code); the
//! `registry` binary runs it as a service.
//!
//! Code map: `http` holds the routes, authentication and error answers;
//! `validate` checks uploads; `store` owns the SQLite schema and queries;
//! `console` is the staff console in the browser (sessions, cases,
//! notices, fleet, audit).

mod console;
mod terminals;
mod http;
mod store;
mod serve;
mod validate;
#[cfg(feature = "test-utils")]
pub mod pg_cluster;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

pub use registry_api::envelope::{LookupKey, SealKeyRing, SealPublicKey, SealSecretKey};

pub use console::{
    hash_password, needs_attention, Attention, ConsoleConfig, FleetReason, FleetRow, FleetRules,
    FLEET_JSON_PATH, MIN_PASSWORD_CHARS,
};
pub use http::STATS_PATH;
pub use store::{valid_account_name, FleetRecord, Role as StaffRole};
pub use serve::{Limits, PeerKey};
pub use store::{AuditEntry, Database, HeartbeatRecord, Stats, TerminalRecord, TerminalStatus};
pub use store::{share_of, BundleRecord, RolloutStep};
pub use validate::MAX_PAGES;

/// The default age after which a staged upload that was never completed is deleted.
///
/// Kept at 14 days with the staging quotas in place: what abandoned uploads
/// can hold is now bounded by [`StagingLimits`] per terminal credential,
/// whatever their age, so the age is no longer the defence against a flood.
/// It only decides how long a terminal may stay away and still resume where
/// it was cut instead of sending every page again: halls close for a week
/// at the Spring Festival and National Day, and a broken terminal can wait
/// days for a technician. A swept upload costs a resend, never a registration.
pub const DEFAULT_STAGED_MAX_AGE: std::time::Duration =
    std::time::Duration::from_secs(14 * 24 * 3600);

/// How long [`RunningRegistry::shutdown`] lets requests in flight finish.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// How to run a registry.
#[derive(Clone)]
pub struct RegistryConfig {
    /// The database: a SQLite file (created as needed), or PostgreSQL
    /// ([`Database::parse`] reads `--database`); migrated as needed.
    pub database: Database,
    /// Bearer tokens of the terminals allowed to call the terminal API, as
    /// token-file lines: `TERMINAL_ID TOKEN` binds the token to a terminal
    /// (its uploads, heartbeats and ratings are recorded under that id,
    /// whatever their body says); a bare `TOKEN` is unbound (older form).
    pub tokens: Vec<String>,
    /// The file the tokens came from: read again when it changes, so a
    /// terminal whose line is removed is refused at its next request.
    pub token_file: Option<PathBuf>,
    /// Bearer tokens of the staff API (records, status, fleet, totals,
    /// audit); none of them may also be a terminal's. Empty: no staff API.
    pub staff_tokens: Vec<String>,
    /// How many history lookups one terminal may make: a burst, then a
    /// steady rate ([`HistoryLimit::default`]: 5, then 3 a minute).
    pub history_limit: HistoryLimit,
    /// The secret half of the sealing key pair; terminals hold the public half.
    pub seal_key: SealSecretKey,
    /// Earlier sealing keys, kept to open what terminals sealed before the
    /// key was rotated (a box names its key; see `registry_api::envelope`).
    pub old_seal_keys: Vec<SealSecretKey>,
    /// The key of the history lookup hash; only the registry holds it
    /// (terminals send the ID number, the registry hashes it).
    pub lookup_key: LookupKey,
    /// Serve HTTPS and require a client certificate from every terminal;
    /// `None` serves plain HTTP (for loopback: the demo and the tests).
    pub tls: Option<TlsFiles>,
    /// Staged uploads (metadata and some pages, never completed) older than
    /// this are deleted at start and then every `staged_max_age / 4` (at
    /// most hourly); [`DEFAULT_STAGED_MAX_AGE`] unless configured.
    pub staged_max_age: std::time::Duration,
    /// Connection limit and deadlines for slow clients ([`Limits::default`]).
    pub limits: Limits,
    /// How much one staged upload and one terminal credential's staged
    /// uploads may hold ([`StagingLimits::default`]).
    pub staging: StagingLimits,
    /// The staff console: session lifetimes, sign-in lockout, the fleet's
    /// thresholds ([`ConsoleConfig::default`]).
    pub console: ConsoleConfig,
}

/// Quotas on staged uploads (metadata posted, pages still coming), which sit
/// in the database until completed or swept. A staged upload holds at most
/// [`MAX_PAGES`] pages (its metadata says how many) and `upload_bytes` in all
/// (its metadata and its opened pages); one terminal credential holds at most
/// `terminal_uploads` open staged uploads and `terminal_bytes` in all of them.
///
/// Over `upload_bytes` the registration can never complete: the page is
/// answered 413 `staged_too_large` and the staged upload is dropped. Over a
/// terminal's quota the new upload or page is answered 429 `staging_quota`
/// and nothing of it is stored; the terminal completes or abandons what it
/// has staged first. A bundle with every page stages nothing and is never
/// counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StagingLimits {
    /// Bytes one staged upload may hold: its metadata and its pages.
    pub upload_bytes: u64,
    /// Open staged uploads per terminal credential.
    pub terminal_uploads: u32,
    /// Bytes of all the open staged uploads of one terminal credential.
    pub terminal_bytes: u64,
}

impl Default for StagingLimits {
    /// One request body's worth per upload (32 MiB: the terminal's queue
    /// refuses registrations over 24 MiB sealed), 16 open uploads and
    /// 128 MiB per terminal. A terminal sends one registration at a time,
    /// so it has one or two open at once; the rest of the room is for
    /// uploads it abandoned (a row that failed for good), until the sweep.
    fn default() -> Self {
        StagingLimits {
            upload_bytes: registry_api::MAX_BODY_BYTES as u64,
            terminal_uploads: 16,
            terminal_bytes: 128 * 1024 * 1024,
        }
    }
}

/// The history lookups one terminal credential may make: `burst` at once,
/// then `per_minute` (a token bucket). One more is answered 429
/// `rate_limited` with `Retry-After`, and audited as refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryLimit {
    pub burst: u32,
    pub per_minute: u32,
}

impl Default for HistoryLimit {
    fn default() -> Self {
        HistoryLimit {
            burst: 5,
            per_minute: 3,
        }
    }
}

/// PEM files of a registry serving HTTPS. Terminals present certificates of
/// their own keys (made at enrollment); no certificate authority signs them:
/// the registry recognises an enrolled terminal by its public key.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The registry's certificate chain (leaf first).
    pub cert_chain: PathBuf,
    /// The registry's private key.
    pub key: PathBuf,
}

/// The rustls configuration of a registry that asks for client certificates.
fn server_tls(files: &TlsFiles) -> anyhow::Result<rustls::ServerConfig> {
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert_chain)
        .and_then(|it| it.collect())
        .with_context(|| {
            format!(
                "cannot read the certificate chain {}",
                files.cert_chain.display()
            )
        })?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("cannot read the private key {}", files.key.display()))?;
    let verifier = Arc::new(serve::AnyKeyVerifier::new(provider.clone()));
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("tls protocol versions")?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .context("the certificate does not match the key")?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

impl std::fmt::Debug for RegistryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens are secrets: only their number is shown.
        f.debug_struct("RegistryConfig")
            .field("database", &self.database.describe())
            .field("tokens", &format_args!("<{} tokens>", self.tokens.len()))
            .field("token_file", &self.token_file)
            .field("staff_tokens", &format_args!("<{} tokens>", self.staff_tokens.len()))
            .field("staging", &self.staging)
            .finish()
    }
}

/// A registry serving on the current tokio runtime.
///
/// Dropping it asks the server to stop without waiting; [`RunningRegistry::shutdown`]
/// also waits until it has stopped.
#[derive(Debug)]
pub struct RunningRegistry {
    /// Where the server listens (the real port when 0 was asked for).
    pub addr: SocketAddr,
    /// `https` with mutual TLS, or `http`.
    pub scheme: &'static str,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    sweeper: Option<tokio::task::JoinHandle<()>>,
}

impl RunningRegistry {
    /// `http://<addr>` or `https://<addr>`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Stops accepting connections, lets requests in flight finish (for at
    /// most [`SHUTDOWN_GRACE`], then drops them) and waits.
    pub async fn shutdown(mut self) {
        if let Some(sweeper) = self.sweeper.take() {
            sweeper.abort();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            match tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => log::error!("registry server task failed: {err}"),
                Err(_) => {
                    log::warn!("requests still open after {SHUTDOWN_GRACE:?}; dropping them");
                    task.abort();
                    let _ = task.await;
                }
            }
        }
    }
}

impl Drop for RunningRegistry {
    fn drop(&mut self) {
        if let Some(sweeper) = self.sweeper.take() {
            sweeper.abort();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Opens the database, binds `listen` (port 0 picks a free port) and serves on
/// the current tokio runtime until shut down.
pub async fn start(cfg: RegistryConfig, listen: SocketAddr) -> anyhow::Result<RunningRegistry> {
    let entries = terminals::parse(&cfg.tokens);
    anyhow::ensure!(
        !entries.is_empty() || cfg.tls.is_some(),
        "no terminal tokens configured (and no TLS, so no terminal can enrol)"
    );
    let unbound = entries.iter().filter(|e| e.terminal_id.is_none()).count();
    if unbound > 0 {
        log::warn!(
            "{unbound} terminal tokens are not bound to a terminal id (write `TERMINAL_ID TOKEN`): their uploads name their own terminal"
        );
    }
    let token_digests: Vec<[u8; 32]> = entries.iter().map(|e| e.digest).collect();
    let staff_digests: Vec<[u8; 32]> = cfg
        .staff_tokens
        .iter()
        .map(|token| token.trim())
        .filter(|token| !token.is_empty())
        .map(|token| Sha256::digest(token.as_bytes()).into())
        .collect();
    anyhow::ensure!(
        staff_digests.iter().all(|d| !token_digests.contains(d)),
        "a staff token is also a terminal token: give staff their own"
    );
    if staff_digests.is_empty() {
        log::warn!("no staff tokens: the staff API answers 401 to everyone");
    }

    let database = cfg.database.clone();
    let lookup_key = cfg.lookup_key.clone();
    let store = tokio::task::spawn_blocking(move || store::Store::open(&database, lookup_key))
        .await
        .context("database task failed")?
        .with_context(|| {
            format!(
                "cannot open the registry database {}",
                cfg.database.describe()
            )
        })?;

    let tls = cfg.tls.as_ref().map(server_tls).transpose()?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener
        .local_addr()
        .context("cannot read the bound address")?;

    let store = Arc::new(store);
    let sweeper = tokio::spawn(sweep_staged(store.clone(), cfg.staged_max_age));
    let state = http::AppState {
        store,
        terminals: Arc::new(terminals::Terminals::new(entries, cfg.token_file.clone())),
        staff_digests: Arc::new(staff_digests),
        history_limit: cfg.history_limit,
        history_buckets: Arc::default(),
        seal_key: Arc::new(SealKeyRing::new(
            cfg.seal_key.clone(),
            cfg.old_seal_keys.clone(),
        )),
        tls: tls.is_some(),
        staging: cfg.staging,
        console: cfg.console,
    };
    let app = http::router(state);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let limits = cfg.limits;
    let task = tokio::spawn(async move {
        serve::serve(
            listener,
            tls.map(Arc::new),
            app,
            limits,
            stop_rx,
            SHUTDOWN_GRACE,
        )
        .await;
        log::info!("registry on {scheme}://{addr} stopped");
    });
    log::info!("registry listening on {scheme}://{addr}");
    Ok(RunningRegistry {
        addr,
        scheme,
        stop: Some(stop_tx),
        task: Some(task),
        sweeper: Some(sweeper),
    })
}

/// Creates the staff account `name` with `role` and `password` in the
/// database at `db` (or gives an existing one that role and a new
/// password, ending its sessions); true when it is new. What
/// `registry staff add` runs.
pub fn add_staff_account(
    db: impl Into<Database>,
    name: &str,
    role: StaffRole,
    password: &str,
) -> anyhow::Result<bool> {
    anyhow::ensure!(
        valid_account_name(name),
        "the user name must be 1 to 32 of A-Z a-z 0-9 _ ."
    );
    anyhow::ensure!(
        password.chars().count() >= MIN_PASSWORD_CHARS && password.chars().count() <= 256,
        "the password must have {MIN_PASSWORD_CHARS} to 256 characters"
    );
    // A database still on schema version 1 needs the lookup key to be
    // upgraded: the registry does that when it starts.
    let db: Database = db.into();
    if let Database::Sqlite(path) = &db {
        if path.exists() {
            let conn = rusqlite::Connection::open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            anyhow::ensure!(
                version == 0 || version >= 2,
                "the database is on an old schema: start the registry on it once first"
            );
        }
    }
    // The lookup key is only used to upgrade schema version 1, excluded above.
    let store = store::Store::open(&db, LookupKey::generate())
        .with_context(|| format!("cannot open the registry database {}", db.describe()))?;
    let hash = hash_password(password)?;
    Ok(store.put_staff_account(name, role, &hash, chrono::Utc::now())?)
}

/// Stores the signed update bundle at `bundle` as `version` in the
/// database at `db` (what `registry update add` runs); returns its record.
/// The registry does not check the bundle's signature: each terminal's RAUC
/// does, against the keyring in its read-only root, before installing.
pub fn add_update_bundle(
    db: impl Into<Database>,
    version: &str,
    bundle: &std::path::Path,
) -> anyhow::Result<store::BundleRecord> {
    anyhow::ensure!(
        registry_api::valid_version(version),
        "the version must be 1 to 64 of A-Z a-z 0-9 . _ + - ~"
    );
    let db: Database = db.into();
    let file = std::fs::File::open(bundle)
        .with_context(|| format!("cannot open {}", bundle.display()))?;
    let store = store::Store::open(&db, LookupKey::generate())
        .with_context(|| format!("cannot open the registry database {}", db.describe()))?;
    Ok(store.add_update_bundle(version, std::io::BufReader::new(file), chrono::Utc::now())?)
}

/// Adds a roll-out step (what `registry update rollout` runs): `version`
/// for one terminal, or for `percent` of the fleet.
pub fn add_update_rollout(
    db: impl Into<Database>,
    version: &str,
    terminal_id: Option<&str>,
    percent: Option<u8>,
) -> anyhow::Result<()> {
    let db: Database = db.into();
    let store = store::Store::open(&db, LookupKey::generate())
        .with_context(|| format!("cannot open the registry database {}", db.describe()))?;
    Ok(store.add_rollout(version, terminal_id, percent, chrono::Utc::now())?)
}

/// The stored bundles and the roll-out steps, as `registry update list`
/// prints them.
pub fn update_listing(db: impl Into<Database>) -> anyhow::Result<String> {
    let db: Database = db.into();
    let store = store::Store::open(&db, LookupKey::generate())
        .with_context(|| format!("cannot open the registry database {}", db.describe()))?;
    let (steps, bundles) = store.rollouts()?;
    let mut out = String::from("bundles:\n");
    for b in &bundles {
        out.push_str(&format!(
            "  {}  {} bytes  sha256 {}  added {}\n",
            b.version, b.size_bytes, b.sha256, b.added_at
        ));
    }
    out.push_str("roll-out (the newest step covering a terminal wins):\n");
    for s in &steps {
        let whom = match (&s.terminal_id, s.percent) {
            (Some(t), _) => format!("terminal {t}"),
            (None, Some(p)) => format!("{p} % of the fleet"),
            (None, None) => "nobody".into(),
        };
        out.push_str(&format!("  {}  {} → {}\n", s.created_at, whom, s.version));
    }
    Ok(out)
}

/// Deletes staged uploads older than `max_age` now and then periodically,
/// until aborted.
async fn sweep_staged(store: Arc<store::Store>, max_age: std::time::Duration) {
    let every = (max_age / 4).clamp(
        std::time::Duration::from_millis(50),
        std::time::Duration::from_secs(3600),
    );
    let max_age = chrono::TimeDelta::from_std(max_age).unwrap_or(chrono::TimeDelta::MAX);
    loop {
        let store = store.clone();
        let swept = tokio::task::spawn_blocking(move || {
            let before = chrono::Utc::now()
                .checked_sub_signed(max_age)
                .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
            store.sweep_staged(before)
        })
        .await;
        match swept {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => log::info!("swept {n} staged upload(s) never completed"),
            Ok(Err(err)) => log::error!("cannot sweep staged uploads: {err}"),
            Err(err) => log::error!("staged upload sweep failed: {err}"),
        }
        tokio::time::sleep(every).await;
    }
}

/// A registry running on its own tokio runtime in a background thread, for
/// callers without a runtime. Dropping it stops the server and waits for it.
#[derive(Debug)]
pub struct BlockingRegistry {
    /// Where the server listens.
    pub addr: SocketAddr,
    /// `https` with mutual TLS, or `http`.
    pub scheme: &'static str,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BlockingRegistry {
    /// `http://<addr>` or `https://<addr>`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }
}

impl Drop for BlockingRegistry {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                log::error!("registry thread panicked");
            }
        }
    }
}

/// Like [`start`], but on a runtime of its own in a background thread.
/// Returns once the server is listening.
pub fn start_blocking(cfg: RegistryConfig, listen: SocketAddr) -> anyhow::Result<BlockingRegistry> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("registry")
        .enable_all()
        .build()
        .context("cannot build the registry runtime")?;
    let scheme = if cfg.tls.is_some() { "https" } else { "http" };
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<anyhow::Result<SocketAddr>>();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("registry".into())
        .spawn(move || {
            runtime.block_on(async move {
                let running = match start(cfg, listen).await {
                    Ok(running) => running,
                    Err(err) => {
                        let _ = ready_tx.send(Err(err));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(running.addr));
                let _ = stop_rx.await;
                running.shutdown().await;
            });
        })
        .context("cannot spawn the registry thread")?;
    match ready_rx.recv() {
        Ok(Ok(addr)) => Ok(BlockingRegistry {
            addr,
            scheme,
            stop: Some(stop_tx),
            thread: Some(thread),
        }),
        Ok(Err(err)) => {
            let _ = thread.join();
            Err(err)
        }
        Err(_) => {
            let _ = thread.join();
            anyhow::bail!("registry thread ended before it was ready")
        }
    }
}
