//! Load generator for the registry: simulated terminals, each with its own
//! bearer token and HTTP connection, send heartbeats and sealed 3-page
//! registrations (a bundle, as the uplink sends them) to the `registry`
//! binary running as a child process, on SQLite and on PostgreSQL.
//!
//! A terminal sends one request at a time. Its registrations come at
//! exponentially distributed intervals around the hall's peak (one every
//! [`PEAK_INTERVAL`] per terminal) divided by the scenario's multiplier; a
//! terminal that falls behind sends the next one at once, as a terminal's
//! queue does. Heartbeats come every [`HEARTBEAT_INTERVAL`] divided by the
//! multiplier. Measured per scenario: registrations acknowledged per second,
//! p50/p99 of the acknowledgement latency, errors, the registry process's
//! CPU (from `/proc/<pid>/stat`) and peak memory (`VmHWM`), and on
//! PostgreSQL the database server's CPU.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use kiosk_privacy::{Address, IdNumber, PersonName, PersonalText};
use registry::pg_cluster::{PgCluster, PgOptions};
use registry::{Database, SealPublicKey, SealSecretKey};
use registry_api::{
    Heartbeat, PageUpload, Petitioner, RegistrationUpload, HEALTH_PATH, HEARTBEAT_PATH,
    IDEMPOTENCY_HEADER, SEALED_BUNDLE_CONTENT_TYPE, SEALED_REGISTRATIONS_PATH,
};

/// A hall terminal at its busiest: one registration every three minutes (a
/// petitioner spends several minutes at it: card, papers, review).
pub const PEAK_INTERVAL: Duration = Duration::from_secs(180);
/// The kiosk's default heartbeat (`registry.heartbeat_s`).
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(300);
/// Bytes of each of the three page images (a camera page's JPEG is 100–300 KB).
pub const PAGE_BYTES: usize = 120 * 1024;

/// Which database the registry runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `registry` binary.
    pub registry: PathBuf,
    pub backends: Vec<Backend>,
    /// Simulated terminals.
    pub terminals: usize,
    /// Rates, as multiples of the hall's peak.
    pub multipliers: Vec<f64>,
    /// How long each scenario sends.
    pub duration: Duration,
    /// After the multipliers: keep doubling the last one while p99 stays
    /// under 1 s with no errors (at most this many more steps).
    pub find_limit: usize,
}

/// The figures of one scenario.
#[derive(Debug, Clone)]
pub struct Row {
    pub backend: Backend,
    pub terminals: usize,
    pub multiplier: f64,
    /// Registrations per second the terminals meant to send.
    pub offered: f64,
    /// Registrations acknowledged (201) per second.
    pub achieved: f64,
    pub registrations: usize,
    pub heartbeats: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub errors: usize,
    pub first_error: Option<String>,
    /// The registry's CPU time over the wall time (100 % is one core).
    pub cpu_percent: f64,
    /// The PostgreSQL server's, when it runs there.
    pub db_cpu_percent: Option<f64>,
    pub vm_hwm_mib: f64,
}

impl Row {
    /// p99 under 1 s, no errors, and the terminals kept up (95 % of what they offered).
    pub fn within_target(&self) -> bool {
        self.errors == 0 && self.p99_ms < 1000.0 && self.achieved >= 0.95 * self.offered
    }
}

/// Runs every scenario on every backend; returns the rows in order.
pub fn run(opts: &Options) -> anyhow::Result<Vec<Row>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut rows = Vec::new();
    let mut cluster: Option<PgCluster> = None;
    for &backend in &opts.backends {
        let mut multipliers = opts.multipliers.clone();
        let mut extra = 0;
        let mut idx = 0;
        while idx < multipliers.len() {
            let multiplier = multipliers[idx];
            let dir = tempfile::tempdir()?;
            let database = match backend {
                Backend::Sqlite => Database::sqlite(dir.path().join("registry.db")),
                Backend::Postgres => {
                    if cluster.is_none() {
                        cluster = Some(PgCluster::start(PgOptions {
                            durable: true,
                            max_connections: 100,
                        })?);
                    }
                    cluster
                        .as_ref()
                        .map(PgCluster::database)
                        .context("no cluster")?
                }
            };
            let db_pid = match backend {
                Backend::Postgres => cluster.as_ref().and_then(PgCluster::server_pid),
                Backend::Sqlite => None,
            };
            let row = runtime.block_on(scenario(
                opts,
                backend,
                &database,
                db_pid,
                dir.path(),
                multiplier,
            ))?;
            let ok = row.within_target();
            rows.push(row);
            idx += 1;
            if idx == multipliers.len() && ok && extra < opts.find_limit {
                extra += 1;
                multipliers.push(multiplier * 2.0);
            }
        }
    }
    Ok(rows)
}

/// A registry child process.
struct Registry {
    child: Child,
    base: String,
}

impl Drop for Registry {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) on our own child's pid; no memory effects.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_registry(
    exe: &Path,
    database: &Database,
    dir: &Path,
    tokens: &[(String, String)],
    seal: &SealSecretKey,
) -> anyhow::Result<Registry> {
    let seal_file = dir.join("seal.secret");
    std::fs::write(&seal_file, seal.to_text())?;
    let lookup_file = dir.join("lookup.key");
    std::fs::write(&lookup_file, registry::LookupKey::generate().to_text())?;
    let token_file = dir.join("tokens");
    let lines: Vec<String> = tokens.iter().map(|(id, t)| format!("{id} {t}")).collect();
    std::fs::write(&token_file, lines.join("\n"))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let db_arg = match database {
        Database::Sqlite(path) => format!("sqlite:{}", path.display()),
        Database::Postgres { url, .. } => url.clone(),
    };
    let child = Command::new(exe)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--database")
        .arg(db_arg)
        .arg("--token-file")
        .arg(&token_file)
        .arg("--seal-key-file")
        .arg(&seal_file)
        .arg("--lookup-key-file")
        .arg(&lookup_file)
        .args(["--max-connections", "1024"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("registry.log"))?)
        .spawn()
        .with_context(|| format!("cannot run {}", exe.display()))?;
    Ok(Registry {
        child,
        base: format!("http://127.0.0.1:{port}"),
    })
}

/// utime + stime of `pid`, in seconds.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf(3) reads a constant of the system.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1);
    Some(ticks as f64 / hz as f64)
}

/// CPU seconds of `pid` and its children (the PostgreSQL server and its backends).
fn tree_cpu_seconds(pid: u32) -> f64 {
    let mut total = cpu_seconds(pid).unwrap_or(0.0);
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(child) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let ppid = std::fs::read_to_string(format!("/proc/{child}/stat"))
                .ok()
                .and_then(|s| {
                    let rest = s[s.rfind(')')? + 1..].to_owned();
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                });
            if ppid == Some(pid) {
                total += cpu_seconds(child).unwrap_or(0.0);
            }
        }
    }
    total
}

fn vm_hwm_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A small xorshift generator: page bytes and intervals, no dependency.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in (0, 1].
    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// Exponentially distributed around `mean`.
    fn exp(&mut self, mean: Duration) -> Duration {
        mean.mul_f64(-self.unit().ln())
    }
}

/// A SPECIMEN registration with three pages, sealed as a bundle.
fn sealed_bundle(public: &SealPublicKey, key: &str, terminal: &str, rng: &mut Rng) -> Vec<u8> {
    let pages: Vec<Vec<u8>> = (0..3)
        .map(|_| {
            let mut jpeg = b"\xff\xd8\xffSPECIMEN".to_vec();
            while jpeg.len() < PAGE_BYTES {
                jpeg.extend_from_slice(&rng.next().to_le_bytes());
            }
            jpeg
        })
        .collect();
    let mut upload = RegistrationUpload {
        voice_note: None,
        repeat: None,
        assisted: false,
        identity_typed: false,
        fields: vec![],
        idempotency_key: key.into(),
        terminal_id: terminal.into(),
        local_ref: format!("L-{key}"),
        sealed_at: "2026-03-01T09:00:00+08:00".into(),
        petitioner: Petitioner {
            doc_type: "resident".into(),
            id_number: IdNumber::new("11010519491231002X"),
            name: PersonName::new("测试样例"),
            sex: 1,
            birth: Some("1949-12-31".into()),
            address: Address::new("北京市东城区样本路1号"),
        },
        category: "wages".into(),
        description: PersonalText::new(format!("SPECIMEN 负载测试 {key}")),
        phone: None,
        pages: pages
            .iter()
            .enumerate()
            .map(|(i, jpeg)| PageUpload::new(i as u32 + 1, jpeg, PersonalText::new("样本"), 90.0))
            .collect(),
    };
    for page in &mut upload.pages {
        page.jpeg_base64.clear();
    }
    let meta = public.seal(&upload).expect("sealing a registration");
    let sealed: Vec<(u32, Vec<u8>)> = pages
        .iter()
        .enumerate()
        .map(|(i, jpeg)| {
            (
                i as u32 + 1,
                public.seal_bytes(jpeg).expect("sealing a page"),
            )
        })
        .collect();
    registry_api::bundle::encode(&meta, sealed.iter().map(|(i, b)| (*i, b.as_slice())))
}

/// What one terminal saw.
#[derive(Debug, Default)]
struct TerminalReport {
    latencies_ms: Vec<f64>,
    heartbeats: usize,
    errors: usize,
    first_error: Option<String>,
}

impl TerminalReport {
    fn error(&mut self, what: String) {
        self.errors += 1;
        self.first_error.get_or_insert(what);
    }
}

#[allow(clippy::too_many_arguments)]
async fn terminal(
    base: Arc<str>,
    id: String,
    token: String,
    public: SealPublicKey,
    multiplier: f64,
    start: Instant,
    deadline: Instant,
    seed: u64,
) -> TerminalReport {
    let http = reqwest::Client::new();
    let mut rng = Rng(seed | 1);
    let mut report = TerminalReport::default();
    let reg_mean = PEAK_INTERVAL.div_f64(multiplier);
    let hb_every = HEARTBEAT_INTERVAL.div_f64(multiplier);
    let mut next_reg = start + rng.exp(reg_mean);
    let mut next_hb = start + hb_every.mul_f64(rng.unit());
    let mut n = 0u32;
    loop {
        let due = next_reg.min(next_hb);
        if due >= deadline {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        if next_reg <= next_hb {
            n += 1;
            let key = format!("load-{id}-{n}");
            let body = sealed_bundle(&public, &key, &id, &mut rng);
            let sent = Instant::now();
            let res = http
                .post(format!("{base}{SEALED_REGISTRATIONS_PATH}"))
                .bearer_auth(&token)
                .header(IDEMPOTENCY_HEADER, &key)
                .header("content-type", SEALED_BUNDLE_CONTENT_TYPE)
                .body(body)
                .send()
                .await;
            match res {
                Ok(res) if res.status().as_u16() == 201 => {
                    let _ = res.bytes().await;
                    report
                        .latencies_ms
                        .push(sent.elapsed().as_secs_f64() * 1000.0);
                }
                Ok(res) => {
                    let status = res.status();
                    let text = res.text().await.unwrap_or_default();
                    report.error(format!("registration: {status} {text}"));
                }
                Err(err) => report.error(format!("registration: {err}")),
            }
            next_reg += rng.exp(reg_mean);
        } else {
            let hb = Heartbeat {
                terminal_id: id.clone(),
                queue_depth: 0,
                failed: 0,
                oldest_unsent_age_s: None,
                version: "load".into(),
                // As a terminal reports them: the heartbeat row's full width.
                printer: Some(registry_api::PrinterReport::Ok),
                free_disk_mb: Some(20_000),
                update: None,
            };
            match http
                .post(format!("{base}{HEARTBEAT_PATH}"))
                .bearer_auth(&token)
                .json(&hb)
                .send()
                .await
            {
                Ok(res) if res.status().is_success() => report.heartbeats += 1,
                Ok(res) => report.error(format!("heartbeat: {}", res.status())),
                Err(err) => report.error(format!("heartbeat: {err}")),
            }
            next_hb += hb_every;
        }
    }
    report
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

async fn scenario(
    opts: &Options,
    backend: Backend,
    database: &Database,
    db_pid: Option<u32>,
    dir: &Path,
    multiplier: f64,
) -> anyhow::Result<Row> {
    let seal = SealSecretKey::generate();
    let tokens: Vec<(String, String)> = (0..opts.terminals)
        .map(|i| (format!("T-{i:04}"), format!("load-token-{i:04}")))
        .collect();
    let mut reg = spawn_registry(&opts.registry, database, dir, &tokens, &seal)?;
    let pid = reg.child.id();
    let http = reqwest::Client::new();
    let ready_by = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = reg.child.try_wait()? {
            let log = std::fs::read_to_string(dir.join("registry.log")).unwrap_or_default();
            anyhow::bail!("the registry exited ({status}): {log}");
        }
        if let Ok(res) = http.get(format!("{}{HEALTH_PATH}", reg.base)).send().await {
            if res.status().is_success() {
                break;
            }
        }
        anyhow::ensure!(Instant::now() < ready_by, "the registry did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cpu_before = cpu_seconds(pid).unwrap_or(0.0);
    let db_before = db_pid.map(tree_cpu_seconds);
    let start = Instant::now();
    let deadline = start + opts.duration;
    let base: Arc<str> = reg.base.clone().into();
    let tasks: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(i, (id, token))| {
            tokio::spawn(terminal(
                base.clone(),
                id.clone(),
                token.clone(),
                seal.public_key(),
                multiplier,
                start,
                deadline,
                0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D),
            ))
        })
        .collect();
    let mut reports = Vec::new();
    for task in tasks {
        reports.push(task.await?);
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid).unwrap_or(0.0) - cpu_before;
    let db_cpu = db_pid.zip(db_before).map(|(p, b)| tree_cpu_seconds(p) - b);
    let hwm = vm_hwm_mib(pid);
    let mut latencies: Vec<f64> = reports
        .iter()
        .flat_map(|r| r.latencies_ms.iter().copied())
        .collect();
    latencies.sort_by(f64::total_cmp);
    let errors = reports.iter().map(|r| r.errors).sum();
    let first_error = reports.iter().find_map(|r| r.first_error.clone());
    if let Some(status) = reg.child.try_wait()? {
        anyhow::bail!("the registry died during the run ({status})");
    }
    let row = Row {
        backend,
        terminals: opts.terminals,
        multiplier,
        offered: opts.terminals as f64 * multiplier / PEAK_INTERVAL.as_secs_f64(),
        achieved: latencies.len() as f64 / wall,
        registrations: latencies.len(),
        heartbeats: reports.iter().map(|r| r.heartbeats).sum(),
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        max_ms: latencies.last().copied().unwrap_or(0.0),
        errors,
        first_error,
        cpu_percent: 100.0 * cpu / wall,
        db_cpu_percent: db_cpu.map(|c| 100.0 * c / wall),
        vm_hwm_mib: hwm,
    };
    drop(reg);
    Ok(row)
}

/// The table of `rows`, as Markdown.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| database | terminals | rate | offered reg/s | acked reg/s | registrations | heartbeats | p50 ms | p99 ms | max ms | errors | registry CPU | database CPU | registry VmHWM |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {}× | {:.1} | {:.1} | {} | {} | {:.0} | {:.0} | {:.0} | {} | {:.0} % | {} | {:.0} MiB |\n",
            r.backend,
            r.terminals,
            r.multiplier,
            r.offered,
            r.achieved,
            r.registrations,
            r.heartbeats,
            r.p50_ms,
            r.p99_ms,
            r.max_ms,
            r.errors,
            r.cpu_percent,
            r.db_cpu_percent.map_or("(in process)".to_owned(), |c| format!("{c:.0} %")),
            r.vm_hwm_mib,
        ));
    }
    out
}

/// Per backend: the most terminals at the hall's peak rate served with p99
/// under 1 s (terminals × the highest multiplier within target).
pub fn capacity(rows: &[Row]) -> Vec<(Backend, Option<f64>)> {
    let mut out: Vec<(Backend, Option<f64>)> = Vec::new();
    for r in rows {
        let best = if r.within_target() {
            Some(r.terminals as f64 * r.multiplier)
        } else {
            None
        };
        match out.iter_mut().find(|(b, _)| *b == r.backend) {
            Some((_, cap)) => {
                if best > *cap {
                    *cap = best;
                }
            }
            None => out.push((r.backend, best)),
        }
    }
    out
}

/// The `registry` binary next to the running executable (the same target
/// directory and profile), if it is there.
pub fn registry_next_to_me() -> Option<PathBuf> {
    let me = std::env::current_exe().ok()?;
    let dir = me.parent()?;
    [dir.join("registry"), dir.parent()?.join("registry")]
        .into_iter()
        .find(|p| p.exists())
}
