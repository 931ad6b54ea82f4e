//! The `registry` binary: runs the reference central registry as a service.
//!
//! `registry --listen 127.0.0.1:8700 --db /var/lib/registry/registry.db --token-file /etc/registry/tokens
//!  --seal-key-file /etc/registry/seal.secret --lookup-key-file /etc/registry/lookup.key`
//! (or `--database postgres://registry@/registry?host=/run/postgresql` for PostgreSQL).
//! Tokens come from `--token-file` (one per line, `#` comments and blank lines
//! ignored) and/or repeated `--token`. Logs go to stderr (`RUST_LOG` filters);
//! Ctrl-C or SIGTERM stops the server gracefully.
//!
//! `registry --init-keys DIR` provisions a new registry: it writes
//! `seal.secret` (stays on the registry), `seal.public` (also as
//! `seal.public.pem`, X25519 SubjectPublicKeyInfo; copied to every terminal)
//! and `lookup.key` (stays on the registry: terminals send ID numbers and the
//! registry hashes them) into DIR, refusing to overwrite, and exits.
//! `registry --new-seal-key DIR` writes only a new sealing key pair (the
//! rotation of registry/README.md): run with it as `--seal-key-file` and the
//! previous one as `--old-seal-key-file` until every terminal has drained.
//!
//! `registry staff add --db FILE --user NAME --role clerk|supervisor|technician`
//! (or `--database URL`, as the registry's) creates a staff account of the console (or gives an existing one a new
//! password and role); the password is read from standard input (prompted
//! without echo on a terminal), never from the command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;

/// Reference central registry for the petition-intake kiosks.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8700")]
    listen: SocketAddr,
    /// SQLite database file (created if missing): the same as `--database sqlite:PATH`.
    #[arg(long, conflicts_with = "database")]
    db: Option<PathBuf>,
    /// The database: `postgres://USER@HOST/DB` (or libpq's `host=… dbname=…`;
    /// `sslmode=require` for TLS) or `sqlite:PATH`. The PostgreSQL database
    /// must exist; the registry creates its tables.
    #[arg(long, value_name = "URL", conflicts_with = "database_file")]
    database: Option<String>,
    /// Read `--database` from this file (its first line): keeps a password
    /// out of the process list.
    #[arg(long, value_name = "FILE", conflicts_with = "db")]
    database_file: Option<PathBuf>,
    /// PEM certificates that sign the PostgreSQL server's certificate
    /// (`sslmode=require`); without it, the system's roots.
    #[arg(long, value_name = "FILE")]
    database_ca: Option<PathBuf>,
    /// The registry's current secret sealing key (`kiosk-seal-secret-v1:...`),
    /// whose public half the terminals hold.
    #[arg(long, required_unless_present_any = ["init_keys", "new_seal_key"])]
    seal_key_file: Option<PathBuf>,
    /// An earlier secret sealing key, kept to open what terminals sealed to it
    /// before a rotation (repeatable).
    #[arg(long = "old-seal-key-file", value_name = "FILE")]
    old_seal_key_files: Vec<PathBuf>,
    /// The history lookup key (`kiosk-lookup-key-v1:...`); it stays on the registry.
    #[arg(long, required_unless_present_any = ["init_keys", "new_seal_key"])]
    lookup_key_file: Option<PathBuf>,
    /// Serve HTTPS with this certificate chain (PEM, leaf first); needs
    /// --tls-key. Terminals then authenticate with the key they enrolled
    /// (`POST /v1/staff/terminals` issues an enrollment code). Without it the
    /// registry speaks plain HTTP, knows terminals by bearer token only, and
    /// refuses to listen anywhere but loopback.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Connections served at once; more are closed at once.
    #[arg(long, default_value_t = registry::Limits::default().max_connections)]
    max_connections: usize,
    /// Seconds a client has to send a request's head (and the longest a
    /// connection may sit idle).
    #[arg(long, default_value_t = registry::Limits::default().header_timeout.as_secs())]
    header_timeout_secs: u64,
    /// Seconds a client has to send a whole request and get its answer.
    #[arg(long, default_value_t = registry::Limits::default().request_timeout.as_secs())]
    request_timeout_secs: u64,
    /// Write a new key set into this directory and exit.
    #[arg(long, value_name = "DIR", conflicts_with = "new_seal_key")]
    init_keys: Option<PathBuf>,
    /// Write a new sealing key pair alone (seal.secret, seal.public,
    /// seal.public.pem) into this directory and exit: the key rotation.
    #[arg(long, value_name = "DIR")]
    new_seal_key: Option<PathBuf>,
    /// File with accepted terminal bearer tokens, one per line.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// An accepted terminal bearer token (repeatable).
    #[arg(long = "token", value_name = "TOKEN")]
    tokens: Vec<String>,
    /// File with the staff API's bearer tokens, one per line (never a terminal's).
    #[arg(long)]
    staff_token_file: Option<PathBuf>,
    /// History lookups one terminal may make at once ...
    #[arg(long, default_value_t = 5)]
    history_burst: u32,
    /// ... and then per minute.
    #[arg(long, default_value_t = 3)]
    history_per_minute: u32,
    /// Delete staged uploads never completed after this many days (checked
    /// at start and hourly).
    #[arg(long, default_value_t = 14.0, value_name = "DAYS")]
    staged_max_age_days: f64,
    /// Bytes one staged upload may hold, metadata and pages [default: 32 MiB].
    #[arg(long, value_name = "MIB")]
    staged_mib_per_upload: Option<u64>,
    /// Open staged uploads one terminal credential may have [default: 16].
    #[arg(long, value_name = "N")]
    staged_uploads_per_terminal: Option<u32>,
    /// Bytes all the staged uploads of one terminal credential may hold [default: 128 MiB].
    #[arg(long, value_name = "MIB")]
    staged_mib_per_terminal: Option<u64>,
    /// The console's fleet view marks a terminal offline (needing a
    /// technician) after this many seconds without a heartbeat.
    #[arg(long, default_value_t = registry::ConsoleConfig::default().offline_after.as_secs())]
    offline_after_secs: u64,
    /// The console's fleet view flags free disk below this many MiB.
    #[arg(long, default_value_t = registry::ConsoleConfig::default().low_disk_mb)]
    low_disk_mb: u64,
    /// A console session unused this many minutes is over.
    #[arg(long, default_value_t = registry::ConsoleConfig::default().session_idle.as_secs() / 60)]
    session_idle_mins: u64,
}

/// `registry staff …`: the console's staff accounts.
#[derive(Debug, Parser)]
#[command(name = "registry staff")]
struct StaffArgs {
    #[command(subcommand)]
    command: StaffCommand,
}

#[derive(Debug, clap::Subcommand)]
enum StaffCommand {
    /// Creates an account (or sets a new password and role); the password
    /// comes from standard input.
    Add {
        /// The registry's SQLite database file.
        #[arg(long, conflicts_with = "database", required_unless_present = "database")]
        db: Option<PathBuf>,
        /// The registry's database as a URL (`postgres://…` or `sqlite:PATH`), as `registry --database`.
        #[arg(long, value_name = "URL")]
        database: Option<String>,
        /// 1 to 32 of A-Z a-z 0-9 _ .
        #[arg(long)]
        user: String,
        /// clerk (works cases), supervisor (cases, audit, fleet) or technician (fleet).
        #[arg(long)]
        role: String,
    },
}

/// `registry update …`: software updates for the terminals.
#[derive(Debug, Parser)]
#[command(name = "registry update")]
struct UpdateArgs {
    /// The registry's database as a URL (`postgres://…` or `sqlite:PATH`), as `registry --database`.
    #[arg(long, value_name = "URL", global = true)]
    database: Option<String>,
    #[command(subcommand)]
    command: UpdateCommand,
}

#[derive(Debug, clap::Subcommand)]
enum UpdateCommand {
    /// Stores a signed RAUC bundle (from `image-build/build.sh --update-key`)
    /// as a version terminals can be given.
    Add {
        /// The version the bundle installs (as the terminal reports it).
        #[arg(long)]
        version: String,
        /// The bundle file (`kiosk-VERSION.raucb`).
        bundle: PathBuf,
    },
    /// Gives a stored version to one terminal or to a share of the fleet;
    /// the newest step covering a terminal wins.
    Rollout {
        #[arg(long)]
        version: String,
        /// One terminal (a pilot).
        #[arg(long, conflicts_with = "percent", required_unless_present = "percent")]
        terminal: Option<String>,
        /// This percentage of the fleet (0–100), the same terminals first
        /// whatever the version: 10 then 50 then 100 widens the roll-out.
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
        percent: Option<u8>,
    },
    /// Lists the stored bundles and the roll-out steps.
    List,
}

fn update(args: UpdateArgs) -> anyhow::Result<()> {
    use std::io::Write as _;
    let db = registry::Database::parse(&args.database.context("--database is required")?);
    let mut out = std::io::stdout().lock();
    match args.command {
        UpdateCommand::Add { version, bundle } => {
            let rec = registry::add_update_bundle(db, &version, &bundle)?;
            writeln!(out, "{} stored: {} bytes, sha256 {}", rec.version, rec.size_bytes, rec.sha256)?;
        }
        UpdateCommand::Rollout { version, terminal, percent } => {
            registry::add_update_rollout(db, &version, terminal.as_deref(), percent)?;
            writeln!(out, "roll-out step added: {version}")?;
        }
        UpdateCommand::List => write!(out, "{}", registry::update_listing(db)?)?,
    }
    Ok(())
}

/// Reads a password from standard input: prompted twice without echo on a
/// terminal, else the first line.
fn read_password() -> anyhow::Result<String> {
    use std::io::{BufRead as _, IsTerminal as _, Write as _};
    let stdin = std::io::stdin();
    let prompt = |text: &str| -> anyhow::Result<String> {
        let mut err = std::io::stderr();
        write!(err, "{text}")?;
        err.flush()?;
        let old = nix::sys::termios::tcgetattr(&stdin).ok();
        if let Some(old) = &old {
            let mut quiet = old.clone();
            quiet.local_flags.remove(nix::sys::termios::LocalFlags::ECHO);
            nix::sys::termios::tcsetattr(&stdin, nix::sys::termios::SetArg::TCSANOW, &quiet)?;
        }
        let mut line = String::new();
        let read = stdin.lock().read_line(&mut line);
        if let Some(old) = &old {
            nix::sys::termios::tcsetattr(&stdin, nix::sys::termios::SetArg::TCSANOW, old)?;
        }
        writeln!(err)?;
        read?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    };
    if stdin.is_terminal() {
        let first = prompt("password: ")?;
        anyhow::ensure!(prompt("again: ")? == first, "the passwords differ");
        Ok(first)
    } else {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

fn staff(args: StaffArgs) -> anyhow::Result<()> {
    match args.command {
        StaffCommand::Add { db, database, user, role } => {
            let db = match (db, database) {
                (Some(path), _) => registry::Database::sqlite(path),
                (None, Some(url)) => registry::Database::parse(&url),
                (None, None) => anyhow::bail!("--db or --database is required"),
            };
            let role = registry::StaffRole::parse(&role)
                .context("--role must be clerk, supervisor or technician")?;
            let password = zeroize::Zeroizing::new(read_password()?);
            let new = registry::add_staff_account(db, &user, role, &password)?;
            log::info!(
                "staff account {user} {} as {}",
                if new { "created" } else { "updated" },
                role.as_str()
            );
            Ok(())
        }
    }
}

/// The staging quotas: the defaults, with what the flags change.
fn staging_limits(args: &Args) -> anyhow::Result<registry::StagingLimits> {
    const MIB: u64 = 1024 * 1024;
    let mut limits = registry::StagingLimits::default();
    if let Some(mib) = args.staged_mib_per_upload {
        limits.upload_bytes = mib.saturating_mul(MIB);
    }
    if let Some(n) = args.staged_uploads_per_terminal {
        limits.terminal_uploads = n;
    }
    if let Some(mib) = args.staged_mib_per_terminal {
        limits.terminal_bytes = mib.saturating_mul(MIB);
    }
    anyhow::ensure!(
        limits.upload_bytes > 0 && limits.terminal_uploads > 0 && limits.terminal_bytes > 0,
        "the staging quotas must be positive"
    );
    Ok(limits)
}

/// Reads tokens from `text`: one per line, blank lines and `#` comments skipped.
fn parse_tokens(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

fn init_logging() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        // Quieten the HTTP stack; our own access log covers requests.
        .filter_module("hyper", log::LevelFilter::Warn)
        .filter_module("h2", log::LevelFilter::Warn)
        .init();
}

async fn wait_for_stop_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            log::error!("cannot wait for Ctrl-C: {err}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                log::error!("cannot wait for SIGTERM: {err}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// Writes a fresh key set into `dir` (see the module doc), refusing to
/// overwrite; with `lookup` false, the sealing key pair alone.
fn init_keys(dir: &std::path::Path, lookup: bool) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let secret = registry::SealSecretKey::generate();
    let mut files = vec![
        ("seal.secret", secret.to_text(), 0o600),
        ("seal.public", secret.public_key().to_text(), 0o644),
        ("seal.public.pem", secret.public_key().to_pem(), 0o644),
    ];
    if lookup {
        files.push(("lookup.key", registry::LookupKey::generate().to_text(), 0o600));
    }
    for (name, text, mode) in files {
        let path = dir.join(name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&path)
            .with_context(|| format!("cannot create {} (it must not exist)", path.display()))?;
        writeln!(f, "{text}")?;
        f.sync_all()?;
    }
    log::info!(
        "keys written to {} (sealing key id {})",
        dir.display(),
        secret.key_id()
    );
    Ok(())
}

fn read_key<T>(
    path: &std::path::Path,
    parse: fn(&str) -> Result<T, registry_api::envelope::EnvelopeError>,
) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the key file {}", path.display()))?;
    parse(&text).with_context(|| format!("bad key file {}", path.display()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_logging();
    if std::env::args().nth(1).as_deref() == Some("staff") {
        let args = StaffArgs::parse_from(std::env::args().skip(1));
        // Off the runtime: the synchronous PostgreSQL client refuses to run on it.
        return tokio::task::spawn_blocking(move || staff(args)).await?;
    }
    if std::env::args().nth(1).as_deref() == Some("update") {
        let args = UpdateArgs::parse_from(std::env::args().skip(1));
        return tokio::task::spawn_blocking(move || update(args)).await?;
    }
    let args = Args::parse();
    if let Some(dir) = &args.init_keys {
        return init_keys(dir, true);
    }
    if let Some(dir) = &args.new_seal_key {
        return init_keys(dir, false);
    }
    let staging = staging_limits(&args)?;
    let database_text = match (&args.database, &args.database_file) {
        (Some(text), _) => Some(text.clone()),
        (None, Some(path)) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned(),
        ),
        (None, None) => None,
    };
    let database = match (args.db, &database_text) {
        (Some(path), _) => Some(registry::Database::sqlite(path)),
        (None, Some(text)) => Some(match registry::Database::parse(text) {
            registry::Database::Postgres { url, .. } => registry::Database::Postgres {
                url,
                tls_ca: args.database_ca.clone(),
            },
            sqlite => sqlite,
        }),
        (None, None) => None,
    };
    let (Some(database), Some(seal_path), Some(lookup_path)) =
        (database, args.seal_key_file, args.lookup_key_file)
    else {
        anyhow::bail!("--database (or --db), --seal-key-file and --lookup-key-file are required");
    };
    let mut tokens = args.tokens;
    if let Some(path) = &args.token_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the token file {}", path.display()))?;
        tokens.extend(parse_tokens(&text));
    }
    
    let staff_tokens = match &args.staff_token_file {
        Some(path) => parse_tokens(&std::fs::read_to_string(path).with_context(|| {
            format!("cannot read the staff token file {}", path.display())
        })?),
        None => Vec::new(),
    };
    let tls = match (args.tls_cert, args.tls_key) {
        (Some(cert_chain), Some(key)) => Some(registry::TlsFiles { cert_chain, key }),
        (None, None) => None,
        _ => anyhow::bail!("--tls-cert and --tls-key go together"),
    };
    anyhow::ensure!(
        tls.is_some() || args.listen.ip().is_loopback(),
        "plain HTTP is for loopback only: pass --tls-cert and --tls-key to listen on {}",
        args.listen
    );
    anyhow::ensure!(
        args.max_connections > 0 && args.header_timeout_secs > 0 && args.request_timeout_secs > 0,
        "--max-connections, --header-timeout-secs and --request-timeout-secs must be positive"
    );
    let limits = registry::Limits {
        max_connections: args.max_connections,
        header_timeout: std::time::Duration::from_secs(args.header_timeout_secs),
        request_timeout: std::time::Duration::from_secs(args.request_timeout_secs),
        ..registry::Limits::default()
    };
    anyhow::ensure!(
        !tokens.is_empty() || tls.is_some(),
        "no terminals could call: pass --token-file or --token, or serve TLS (--tls-cert) and enrol terminals"
    );
    anyhow::ensure!(
        args.staged_max_age_days.is_finite() && args.staged_max_age_days > 0.0,
        "--staged-max-age-days must be a positive number"
    );
    let seal_key = read_key(&seal_path, registry::SealSecretKey::from_text)?;
    let old_seal_keys = args
        .old_seal_key_files
        .iter()
        .map(|path| read_key(path, registry::SealSecretKey::from_text))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let ring = registry::SealKeyRing::new(seal_key.clone(), old_seal_keys.clone());
    let mut ids = ring.key_ids().into_iter().map(|id| id.to_string());
    let current = ids.next().unwrap_or_default();
    let old: Vec<String> = ids.collect();
    log::info!(
        "sealing key {current}, old keys kept for opening: {}",
        if old.is_empty() { "none".into() } else { old.join(", ") }
    );
    let cfg = registry::RegistryConfig {
        staging,
        staged_max_age: std::time::Duration::from_secs_f64(
            (args.staged_max_age_days * 86_400.0).min(1e12),
        ),
        tls,
        database,
        tokens,
        token_file: args.token_file.clone(),
        staff_tokens,
        history_limit: registry::HistoryLimit {
            burst: args.history_burst,
            per_minute: args.history_per_minute,
        },
        seal_key,
        old_seal_keys,
        lookup_key: read_key(&lookup_path, registry::LookupKey::from_text)?,
        limits,
        console: registry::ConsoleConfig {
            offline_after: std::time::Duration::from_secs(args.offline_after_secs.max(1)),
            low_disk_mb: args.low_disk_mb,
            session_idle: std::time::Duration::from_secs(args.session_idle_mins.max(1) * 60),
            ..registry::ConsoleConfig::default()
        },
    };
    let running = registry::start(cfg, args.listen).await?;
    wait_for_stop_signal().await;
    log::info!("stopping");
    running.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_keys_writes_a_matching_set_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        init_keys(dir.path(), true).unwrap();
        let text = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
        let secret = registry::SealSecretKey::from_text(&text("seal.secret")).unwrap();
        let public = registry::SealPublicKey::from_text(&text("seal.public")).unwrap();
        assert_eq!(secret.public_key(), public);
        assert_eq!(
            registry::SealPublicKey::from_text(&text("seal.public.pem")).unwrap(),
            public
        );
        registry::LookupKey::from_text(&text("lookup.key")).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("seal.secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the secret key is readable by others");
        assert!(
            init_keys(dir.path(), true).is_err(),
            "an existing key set was overwritten"
        );
        assert_eq!(
            registry::SealSecretKey::from_text(&text("seal.secret"))
                .unwrap()
                .public_key(),
            public
        );
        // A rotation's new sealing key: the pair alone, no new lookup key.
        let next = dir.path().join("next");
        init_keys(&next, false).unwrap();
        let new_secret =
            registry::SealSecretKey::from_text(&std::fs::read_to_string(next.join("seal.secret")).unwrap())
                .unwrap();
        assert_ne!(new_secret.key_id(), secret.key_id());
        assert!(next.join("seal.public.pem").exists());
        assert!(!next.join("lookup.key").exists());
    }

    #[test]
    fn token_file_skips_comments_and_blanks() {
        assert_eq!(
            parse_tokens("# terminals\n\n  tok-a  \ntok-b\n#tok-c\n"),
            vec!["tok-a", "tok-b"]
        );
    }
}
