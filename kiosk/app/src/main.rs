//! `kiosk`: the petition-intake terminal, and its technician subcommands.
#![allow(clippy::print_stdout, clippy::print_stderr)] // A command-line tool: its output is for the technician.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use kiosk::{controller::Controller, devices, logging, ui, Config};
use kiosk_ui::AppWindow;
use slint::ComponentHandle;

mod cli_classify;
#[cfg(feature = "demo")]
mod cli_demo;
mod cli_enroll;
mod cli_idcard;
mod cli_ocr;
mod cli_printer;

mod cli_provision;
mod cli_staff;
mod cli_update;
mod sd_notify;

#[derive(Parser)]
#[command(
    name = "kiosk",
    version,
    about = "Petition-intake terminal (信访登记终端)"
)]
struct Cli {
    /// The configuration file.
    #[arg(long, global = true, default_value = "/etc/kiosk/kiosk.toml")]
    config: PathBuf,
    /// `run` (and `demo` in demo builds): open the technician screen at start (until the staff PIN login lands).
    #[arg(long, global = true)]
    technician: bool,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the terminal with the configured devices (the default).
    Run,
    /// Run the whole terminal on simulated devices with a local reference registry
    /// (only in builds with the feature `demo`; never in the shipped kiosk).
    #[cfg(feature = "demo")]
    Demo {
        /// Where the demo keeps its queue and registry databases.
        #[arg(long, default_value = "/tmp/kiosk-demo")]
        state_dir: PathBuf,
        /// Address of the demo registry.
        #[arg(long, default_value = "127.0.0.1:8707")]
        registry_listen: String,
    },
    /// Load and validate the configuration file, then print a summary.
    CheckConfig,
    /// ID card reader checks for technicians.
    Idcard {
        #[command(subcommand)]
        cmd: cli_idcard::IdcardCmd,
    },
    /// Recognise photos of pages into DIR/<stem>.txt (whole pipeline, or --raw Tesseract); prints seconds per page.
    Ocr(cli_ocr::OcrArgs),
    /// Show the local queue: depth, oldest unsent age, failed registrations with
    /// reasons, the latest receipts (masked); `queue resend` puts failed ones back.
    Queue(kiosk::cli_queue::QueueArgs),
    /// Classification checks: the evaluation set, or one text.
    Classify {
        #[command(subcommand)]
        cmd: cli_classify::ClassifyCmd,
    },
    /// Receipt printer checks: status, test print (demo builds: also on the simulator).
    Printer {
        #[command(subcommand)]
        cmd: cli_printer::PrinterCmd,
    },
    /// Install a provisioning file (hall, registry, keys), or make one.
    Provision {
        #[command(subcommand)]
        cmd: cli_provision::ProvisionCmd,
    },
    /// Software updates from a USB stick: stage one (root, from the stick),
    /// install the one the technician confirmed (root).
    Update {
        #[command(subcommand)]
        cmd: cli_update::UpdateCmd,
    },
    /// Make this terminal's key (once) and enrol it at the registry with the
    /// one-time code staff issued.
    Enroll(cli_enroll::EnrollArgs),
    /// Staff PINs: make the hash for the configuration.
    Staff {
        #[command(subcommand)]
        cmd: cli_staff::StaffCmd,
    },
    /// Health rows, and the diagnostics bundle (`export --to DIR`, or the USB stick).
    Diagnostics {
        #[command(subcommand)]
        cmd: kiosk::cli_diagnostics::DiagnosticsCmd,
    },
}

fn main() -> ExitCode {
    // Tesseract's OpenMP threads stall on small machines; one thread per engine
    // is 2x faster. OpenMP reads the variable when the process loads, so the
    // binary re-executes itself once with it set (the systemd unit sets it too).
    if std::env::var_os("OMP_THREAD_LIMIT").is_none() {
        use std::os::unix::process::CommandExt;
        if let Ok(exe) = std::env::current_exe() {
            let err = Command::new(exe)
                .args(std::env::args_os().skip(1))
                .env("OMP_THREAD_LIMIT", "1")
                .exec();
            eprintln!("cannot re-execute with OMP_THREAD_LIMIT=1: {err}");
        }
    }
    logging::init();
    let cli = Cli::parse();
    let technician = cli.technician;
    let res = match cli.cmd.unwrap_or(Cmd::Run) {
        Cmd::Run => run(&cli.config, technician),
        #[cfg(feature = "demo")]
        Cmd::Demo {
            state_dir,
            registry_listen,
        } => cli_demo::run(&state_dir, &registry_listen, technician),
        Cmd::CheckConfig => check_config(&cli.config),
        Cmd::Idcard { cmd } => cli_idcard::run(&cli.config, cmd),
        Cmd::Ocr(args) => cli_ocr::run(&cli.config, &args),
        Cmd::Queue(args) => load(&cli.config).and_then(|cfg| kiosk::cli_queue::run(&cfg, &args)),
        Cmd::Classify { cmd } => cli_classify::run(cmd),
        Cmd::Printer {
            cmd: cli_printer::PrinterCmd::Reprint { local_ref },
        } => load(&cli.config).and_then(|cfg| cli_printer::reprint(&cfg, local_ref.as_deref())),
        Cmd::Printer { cmd } => cli_printer::run(cmd),
        Cmd::Provision { cmd } => cli_provision::run(cmd),
        Cmd::Staff { cmd } => cli_staff::run(cmd),
        Cmd::Update { cmd } => cli_update::run(&cli.config, cmd),
        Cmd::Enroll(args) => load(&cli.config).and_then(|cfg| cli_enroll::run(&cfg, &args)),
        Cmd::Diagnostics { cmd } => {
            load(&cli.config).and_then(|cfg| kiosk::cli_diagnostics::run(&cfg, &cmd))
        }
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{}", kiosk_privacy::redact(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

fn load(path: &Path) -> anyhow::Result<Config> {
    if path.exists() {
        Config::load(path)
    } else {
        bail!(
            "no configuration at {} (see kiosk/app/kiosk.example.toml)",
            path.display()
        )
    }
}

pub(crate) fn has_display() -> bool {
    std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
}

pub(crate) fn no_display() -> anyhow::Error {
    anyhow::anyhow!(
        "no display: DISPLAY and WAYLAND_DISPLAY are unset. Run the kiosk on a machine with a \
         screen, or under a virtual display: `xvfb-run -a -s '-screen 0 1080x1920x24' kiosk …` \
         (then look at it with a VNC server or `xwd`). `make bench` runs the same visit without a screen"
    )
}

pub(crate) fn run_ui(
    cfg: &Config,
    token: String,
    devs: kiosk::Devices,
    demo: Option<ui::DemoHooks>,
    technician: bool,
) -> anyhow::Result<()> {
    if !has_display() {
        return Err(no_display());
    }
    let app = AppWindow::new().context("cannot create the window")?;
    kiosk::fonts::ensure_chinese_font();
    let controller = Controller::spawn(cfg, token, devs, ui::sink(&app), None)?;
    ui::attach(&app, &cfg.terminal.hall_name, controller.sender(), demo);
    kiosk::technician::attach(&app, controller.technician());
    if technician {
        let _ = controller.sender().send(intake::Event::TechnicianEnter);
    }
    log::info!("kiosk ready: terminal {}", cfg.terminal.id);
    let _notify = sd_notify::arm(&cfg.terminal.id);
    app.run().context("the UI event loop failed")?;
    sd_notify::stopping();
    controller.shutdown();
    Ok(())
}

fn run(config: &Path, technician: bool) -> anyhow::Result<()> {
    let cfg = load(config)?;
    let token = cfg.read_token()?;
    let devs = devices::from_config(&cfg);
    run_ui(&cfg, token, devs, None, technician)
}

fn check_config(config: &Path) -> anyhow::Result<()> {
    let cfg = load(config)?;
    println!("configuration {} is valid", config.display());
    println!("terminal {} ({})", cfg.terminal.id, cfg.terminal.hall_name);
    println!(
        "card reader {} at {} baud",
        cfg.idcard.device.display(),
        cfg.idcard.baud
    );
    println!("registry {}", cfg.registry.url);
    match cfg.read_token() {
        Ok(_) => println!("registry token present"),
        Err(e) => println!("registry token: {e:#}"),
    }
    Ok(())
}
