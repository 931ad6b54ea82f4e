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
//! `validate` checks uploads; `store` owns the SQLite schema and queries.

mod http;
mod store;
mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

pub use http::STATS_PATH;
pub use store::Stats;
pub use validate::MAX_PAGES;

/// How long [`RunningRegistry::shutdown`] lets requests in flight finish.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// How to run a registry.
#[derive(Clone)]
pub struct RegistryConfig {
    /// The SQLite database file; created and migrated as needed.
    pub db_path: PathBuf,
    /// Bearer tokens of the terminals allowed to call the registry.
    pub tokens: Vec<String>,
}

impl std::fmt::Debug for RegistryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens are secrets: only their number is shown.
        f.debug_struct("RegistryConfig")
            .field("db_path", &self.db_path)
            .field("tokens", &format_args!("<{} tokens>", self.tokens.len()))
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
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningRegistry {
    /// `http://<addr>`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, lets requests in flight finish (for at
    /// most [`SHUTDOWN_GRACE`], then drops them) and waits.
    pub async fn shutdown(mut self) {
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
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Opens the database, binds `listen` (port 0 picks a free port) and serves on
/// the current tokio runtime until shut down.
pub async fn start(cfg: RegistryConfig, listen: SocketAddr) -> anyhow::Result<RunningRegistry> {
    let token_digests: Vec<[u8; 32]> = cfg
        .tokens
        .iter()
        .map(|token| token.trim())
        .filter(|token| !token.is_empty())
        .map(|token| Sha256::digest(token.as_bytes()).into())
        .collect();
    anyhow::ensure!(!token_digests.is_empty(), "no terminal tokens configured");

    let db_path = cfg.db_path.clone();
    let store = tokio::task::spawn_blocking(move || store::Store::open(&db_path))
        .await
        .context("database task failed")?
        .with_context(|| {
            format!(
                "cannot open the registry database {}",
                cfg.db_path.display()
            )
        })?;

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener
        .local_addr()
        .context("cannot read the bound address")?;

    let state = http::AppState {
        store: Arc::new(store),
        token_digests: Arc::new(token_digests),
    };
    let app = http::router(state);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                // A dropped sender also means stop.
                let _ = stop_rx.await;
            })
            .await;
        match served {
            Ok(()) => log::info!("registry on {addr} stopped"),
            Err(err) => log::error!("registry on {addr} failed: {err}"),
        }
    });
    log::info!("registry listening on {addr}");
    Ok(RunningRegistry {
        addr,
        stop: Some(stop_tx),
        task: Some(task),
    })
}

/// A registry running on its own tokio runtime in a background thread, for
/// callers without a runtime. Dropping it stops the server and waits for it.
#[derive(Debug)]
pub struct BlockingRegistry {
    /// Where the server listens.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BlockingRegistry {
    /// `http://<addr>`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
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
