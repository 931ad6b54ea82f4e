//! A throwaway PostgreSQL server for tests and the load generator (feature
//! `test-utils`): Debian's `postgresql` binaries (`initdb`, `postgres`),
//! a cluster in a temporary directory, its own port on 127.0.0.1 and its
//! unix socket in that directory, trust authentication for one local user.
//!
//! `initdb` refuses to run as root, so as root (CI) the cluster runs as the
//! `postgres` user that Debian's package creates, in a directory it owns.
//! The server is started from a thread that lives as long as the cluster,
//! with the parent-death signal set (`PR_SET_PDEATHSIG`, SIGQUIT: immediate
//! shutdown): a test process that dies or exits takes it along, even the
//! [`PgCluster::shared`] one, which is never dropped. A cluster dropped in an
//! orderly way is stopped (fast shutdown) and its directory removed; the
//! directories of clusters whose process is gone are removed at the next start.

use std::os::unix::fs::MetadataExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::Database;

/// Where Debian's `postgresql` package puts its server binaries.
const PG_BIN_DIRS: &[&str] = &[
    "/usr/lib/postgresql/17/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/15/bin",
];

/// The cluster's superuser, trusted on its socket and on 127.0.0.1.
pub const TEST_USER: &str = "registry_test";

/// How to run the test server.
#[derive(Debug, Clone, Copy)]
pub struct PgOptions {
    /// `fsync` and `synchronous_commit`: off makes tests fast (nothing here
    /// must survive a power cut); on, for the load generator, measures what
    /// a real registry pays.
    pub durable: bool,
    /// `max_connections`.
    pub max_connections: u32,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            durable: false,
            max_connections: 200,
        }
    }
}

/// A running PostgreSQL cluster of its own.
#[derive(Debug)]
pub struct PgCluster {
    dir: PathBuf,
    port: u16,
    child: Mutex<Option<Child>>,
    keeper: Option<std::thread::JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    next_db: AtomicU32,
}

/// The directory holding every test cluster of this user.
fn root_dir() -> PathBuf {
    let uid = std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0);
    std::env::temp_dir().join(format!("registry-pg-test-{uid}"))
}

fn bin(name: &str) -> anyhow::Result<PathBuf> {
    PG_BIN_DIRS
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|path| path.exists())
        .with_context(|| {
            format!("no PostgreSQL `{name}` in {PG_BIN_DIRS:?}: apt-get install postgresql")
        })
}

/// The uid and gid the server runs as: ours, or `postgres`'s when we are root.
fn server_user() -> anyhow::Result<Option<(u32, u32)>> {
    let me = std::fs::metadata("/proc/self")?.uid();
    if me != 0 {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd")?;
    let line = passwd
        .lines()
        .find(|line| line.starts_with("postgres:"))
        .context("running as root and there is no `postgres` user to run initdb as")?;
    let fields: Vec<&str> = line.split(':').collect();
    let uid = fields
        .get(2)
        .and_then(|f| f.parse().ok())
        .context("bad passwd line")?;
    let gid = fields
        .get(3)
        .and_then(|f| f.parse().ok())
        .context("bad passwd line")?;
    Ok(Some((uid, gid)))
}

/// Removes clusters left by processes that are gone (killing their server).
fn sweep_stale(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let postmaster = entry.path().join("data/postmaster.pid");
        if let Some(server) = std::fs::read_to_string(&postmaster).ok().and_then(|text| {
            text.lines()
                .next()
                .and_then(|l| l.trim().parse::<i32>().ok())
        }) {
            // SAFETY: kill(2) with a pid read from the stale cluster's own
            // postmaster.pid; it has no memory effects on this process.
            unsafe {
                libc::kill(server, libc::SIGQUIT);
            }
        }
        let _ = std::fs::remove_dir_all(entry.path());
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

impl PgCluster {
    /// The cluster shared by the tests of one test binary, started on first
    /// use; each test takes a database of its own ([`PgCluster::database`]).
    pub fn shared() -> &'static PgCluster {
        static SHARED: OnceLock<PgCluster> = OnceLock::new();
        SHARED.get_or_init(|| {
            PgCluster::start(PgOptions::default())
                .unwrap_or_else(|err| panic!("cannot start the test PostgreSQL: {err:#}"))
        })
    }

    /// Makes and starts a new cluster.
    pub fn start(options: PgOptions) -> anyhow::Result<PgCluster> {
        let root = root_dir();
        std::fs::create_dir_all(&root)?;
        std::fs::set_permissions(&root, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
        sweep_stale(&root);
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let dir = root.join(format!("{}-{stamp}", std::process::id()));
        std::fs::create_dir(&dir)?;
        let user = server_user()?;
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))?;
        }
        let as_user = |cmd: &mut Command| {
            if let Some((uid, gid)) = user {
                cmd.uid(uid).gid(gid);
            }
        };
        let data = dir.join("data");
        let mut initdb = Command::new(bin("initdb")?);
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                TEST_USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        as_user(&mut initdb);
        let out = initdb.output().context("cannot run initdb")?;
        anyhow::ensure!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port()?;
        let switch = if options.durable { "on" } else { "off" };
        let mut postgres = Command::new(bin("postgres")?);
        postgres
            .arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(&dir)
            .arg("-p")
            .arg(port.to_string())
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", &format!("fsync={switch}")])
            .args(["-c", &format!("synchronous_commit={switch}")])
            .args(["-c", &format!("full_page_writes={switch}")])
            .args([
                "-c",
                &format!("max_connections={}", options.max_connections),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("server.log"))?);
        as_user(&mut postgres);
        // SAFETY: prctl(2) in the child between fork and exec touches no
        // memory of ours and allocates nothing. It runs after the uid change
        // (which would clear it), so the server gets SIGQUIT when the thread
        // that started it (the keeper below) ends, with the process.
        unsafe {
            postgres.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let keeper_stop = stop.clone();
        let keeper = std::thread::Builder::new()
            .name("pg-cluster".into())
            .spawn(move || {
                let _ = tx.send(postgres.spawn());
                while !keeper_stop.load(Ordering::SeqCst) {
                    std::thread::park();
                }
            })?;
        let child = rx
            .recv()
            .context("the keeper thread died")?
            .context("cannot start postgres")?;
        let cluster = PgCluster {
            dir,
            port,
            child: Mutex::new(Some(child)),
            keeper: Some(keeper),
            stop,
            next_db: AtomicU32::new(1),
        };
        cluster.wait_ready()?;
        Ok(cluster)
    }

    fn wait_ready(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(child) = self
                .child
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_mut()
            {
                if let Some(status) = child.try_wait()? {
                    anyhow::bail!("postgres exited ({status}): {}", self.log_tail());
                }
            }
            if self.admin("SELECT 1").is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                anyhow::bail!("postgres did not come up: {}", self.log_tail());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// The postmaster's process id (its backends are its children).
    pub fn server_pid(&self) -> Option<u32> {
        self.child
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(Child::id)
    }

    /// The unix socket's directory.
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection string to database `name` over the unix socket.
    pub fn url(&self, name: &str) -> String {
        format!(
            "host={} port={} user={TEST_USER} dbname={name}",
            self.dir.display(),
            self.port
        )
    }

    /// Runs statements as the superuser in database `postgres`, on a thread
    /// of its own (the synchronous client cannot run inside an async test).
    pub fn admin(&self, sql: &str) -> anyhow::Result<()> {
        let url = self.url("postgres");
        let sql = sql.to_owned();
        std::thread::spawn(move || -> anyhow::Result<()> {
            let mut client = postgres::Client::connect(&url, postgres::NoTls)?;
            client.batch_execute(&sql)?;
            Ok(())
        })
        .join()
        .map_err(|_| anyhow::anyhow!("the admin thread panicked"))?
    }

    /// Creates a fresh, empty database and returns it.
    pub fn database(&self) -> Database {
        let name = format!("t_{}", self.next_db.fetch_add(1, Ordering::SeqCst));
        self.admin(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|err| panic!("cannot create database {name}: {err:#}"));
        Database::postgres(self.url(&name))
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.lock().unwrap_or_else(|p| p.into_inner()).take() {
            // SIGINT: fast shutdown (clients disconnected, a clean stop).
            if let Ok(pid) = i32::try_from(child.id()) {
                // SAFETY: kill(2) on our own child's pid; no memory effects.
                unsafe {
                    libc::kill(pid, libc::SIGINT);
                }
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        self.stop.store(true, Ordering::SeqCst);
        if let Some(keeper) = self.keeper.take() {
            keeper.thread().unpark();
            let _ = keeper.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
