//! The `registry` binary: runs the reference central registry as a service.
//!
//! `registry --listen 127.0.0.1:8700 --db /var/lib/registry/registry.db --token-file /etc/registry/tokens`
//! Tokens come from `--token-file` (one per line, `#` comments and blank lines
//! ignored) and/or repeated `--token`. Logs go to stderr (`RUST_LOG` filters);
//! Ctrl-C or SIGTERM stops the server gracefully.

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
    /// SQLite database file (created if missing).
    #[arg(long)]
    db: PathBuf,
    /// File with accepted terminal bearer tokens, one per line.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// An accepted terminal bearer token (repeatable).
    #[arg(long = "token", value_name = "TOKEN")]
    tokens: Vec<String>,
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_logging();
    let args = Args::parse();
    let mut tokens = args.tokens;
    if let Some(path) = &args.token_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the token file {}", path.display()))?;
        tokens.extend(parse_tokens(&text));
    }
    anyhow::ensure!(
        !tokens.is_empty(),
        "no tokens: pass --token-file or --token"
    );
    let cfg = registry::RegistryConfig {
        db_path: args.db,
        tokens,
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
    fn token_file_skips_comments_and_blanks() {
        assert_eq!(
            parse_tokens("# terminals\n\n  tok-a  \ntok-b\n#tok-c\n"),
            vec!["tok-a", "tok-b"]
        );
    }
}
