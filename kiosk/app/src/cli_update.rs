//! `kiosk update`: software updates from a USB stick (see
//! [`kiosk::update_stick`]). Both subcommands run as root, started by the
//! system: `stage` by `kiosk-update-usb@.service` when a stick labelled
//! KIOSK-UPD comes in, `apply` by `kiosk-update-apply.path` when the
//! technician confirmed the staged bundle on the screen.

use std::path::PathBuf;

use anyhow::Context;
use kiosk::update_stick::{self, RaucCheck};
use kiosk::Config;

use crate::cli_provision::{group_id, Mounted};

#[derive(clap::Subcommand)]
pub enum UpdateCmd {
    /// Check a bundle (RAUC, against this terminal's keyring) and stage it
    /// for confirmation on the technician screen. Nothing is installed.
    Stage {
        /// A bundle file.
        #[arg(conflicts_with = "device", required_unless_present = "device")]
        file: Option<PathBuf>,
        /// A block device (USB stick labelled KIOSK-UPD) with one *.raucb on it,
        /// mounted read-only for the copy.
        #[arg(long)]
        device: Option<PathBuf>,
        /// RAUC's configuration (slots and keyring).
        #[arg(long, default_value = update_stick::DEFAULT_RAUC_CONF)]
        rauc_conf: PathBuf,
    },
    /// Install the staged bundle the technician confirmed (the confirmation
    /// file names its SHA-256), then reboot. The confirmation is removed
    /// whatever it holds.
    Apply,
}

/// Runs `kiosk update …` with the terminal's configuration (paths, the
/// install and reboot commands).
pub fn run(config: &std::path::Path, cmd: UpdateCmd) -> anyhow::Result<()> {
    // A terminal not yet provisioned has no configuration: the defaults.
    let cfg = if config.exists() {
        Config::load(config)?
    } else {
        Config::default()
    };
    let pending = cfg.update.stick_pending_dir.clone();
    let gid = group_id(std::path::Path::new("/etc/group"), "kiosk");
    match cmd {
        UpdateCmd::Stage {
            file,
            device,
            rauc_conf,
        } => {
            let rauc = RaucCheck {
                conf: rauc_conf,
                ..RaucCheck::default()
            };
            let running = update_stick::software_version();
            let staged = if let Some(device) = device {
                let m = Mounted::new(&device)?;
                let bundle = update_stick::find_bundle(m.dir.path());
                bundle.and_then(|b| update_stick::stage(&b, &pending, &rauc, &running, gid))
            } else {
                let file = file.context("name a bundle file or --device")?;
                update_stick::stage(&file, &pending, &rauc, &running, gid)
            };
            match staged {
                Ok(s) => {
                    log::info!(
                        "update {} staged from a stick: confirm it on the technician screen",
                        s.version
                    );
                    let mut out = std::io::stdout().lock();
                    std::io::Write::write_fmt(
                        &mut out,
                        format_args!(
                            "staged {} (sha256 {}, signed by {}): confirm it on the technician screen\n",
                            s.version, s.sha256, s.signer
                        ),
                    )?;
                    Ok(())
                }
                Err(e) => {
                    log::error!("update stick refused: {e}");
                    Err(e.into())
                }
            }
        }
        UpdateCmd::Apply => {
            let confirm = &cfg.update.stick_confirm_file;
            let confirmed = kiosk::provisioning::read_confirmation(confirm);
            let _ = std::fs::remove_file(confirm);
            let confirmed = confirmed?;
            let update_dir = if cfg.update.dir.as_os_str().is_empty() {
                cfg.queue.path.with_file_name("update")
            } else {
                cfg.update.dir.clone()
            };
            match update_stick::apply(&confirmed, &pending, &cfg.update, &update_dir, gid) {
                Ok(version) => {
                    log::info!("update {version} installed from a stick; rebooting");
                    Ok(())
                }
                Err(e) => {
                    log::error!("update from a stick not installed: {e}");
                    Err(e.into())
                }
            }
        }
    }
}
