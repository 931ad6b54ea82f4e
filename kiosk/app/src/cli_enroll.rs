//! `kiosk enroll --code CODE`: the terminal makes its own key pair (once; the
//! private key never leaves it) and enrols it at the registry with the
//! one-time code staff issued for this terminal's id
//! (`POST /v1/staff/terminals`). Run as root on the terminal, after
//! provisioning has set the registry's URL and CA and the terminal's id.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use kiosk::Config;

/// `kiosk enroll …`
#[derive(Debug, clap::Args)]
pub struct EnrollArgs {
    /// The one-time code (e.g. `K7QX-M2PD-9RTA-WC4E`; case and dashes do not matter).
    #[arg(long)]
    code: String,
    /// Make a new key pair even if one exists (a terminal whose key may have
    /// leaked: staff revoke the old one and issue a new code).
    #[arg(long)]
    new_key: bool,
}

/// Writes `text` as `path` (atomically, through a new temporary file) with
/// `mode`, owned by whoever runs it (root on a terminal) and `group`.
fn write_file(path: &Path, text: &str, mode: u32, group: Option<u32>) -> anyhow::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .context("a key file path names a file")?
        .to_string_lossy();
    let uid = crate::cli_provision::current_uid();
    crate::cli_provision::write_atomic(dir, &name, text.as_bytes(), mode, uid, group)?;
    Ok(())
}

/// Runs `kiosk enroll`.
pub fn run(cfg: &Config, args: &EnrollArgs) -> anyhow::Result<()> {
    let r = &cfg.registry;
    anyhow::ensure!(
        r.url.starts_with("https://"),
        "enrollment needs an https:// registry (registry.url is {})",
        r.url
    );
    let id = &cfg.terminal.id;
    if args.new_key || !r.client_key_file.exists() {
        let (cert, key) = kiosk_uplink::make_identity(id)?;
        let group = crate::cli_provision::group_id(Path::new("/etc/group"), "kiosk");
        // The kiosk process presents the key; nobody else may read it.
        write_file(&r.client_key_file, &key, if group.is_some() { 0o640 } else { 0o600 }, group)?;
        write_file(&r.client_cert_file, &cert, 0o644, None)?;
        println!("made a new key for terminal {id}");
    }
    let tls = cfg
        .client_tls()?
        .context("https registry without TLS material")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let reply = runtime
        .block_on(kiosk_uplink::enroll(
            &r.url,
            &tls,
            id,
            &args.code,
            Duration::from_secs(r.request_timeout_s.max(5)),
        ))
        .map_err(|e| anyhow::anyhow!("enrollment failed: {e}"))?;
    println!(
        "terminal {} enrolled for {} (key sha256 {}…)",
        reply.terminal_id,
        reply.hall,
        &reply.key_sha256[..16.min(reply.key_sha256.len())]
    );
    println!("restart the kiosk to send what is queued: systemctl restart kiosk");
    log::info!("terminal {} enrolled", reply.terminal_id);
    Ok(())
}
