//! `kiosk`: the petition-intake terminal, and its technician subcommands.
#![allow(clippy::print_stdout, clippy::print_stderr)] // A command-line tool: its output is for the technician.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use kiosk::{controller::Controller, devices, logging, ui, Config};
use kiosk_ui::AppWindow;
use slint::ComponentHandle;

mod cli_classify;
mod cli_idcard;
mod cli_ocr;
mod cli_printer;

mod cli_provision;
mod cli_staff;
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
    /// `run`/`demo`: open the technician screen at start (until the staff PIN login lands).
    #[arg(long, global = true)]
    technician: bool,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the terminal with the configured devices (the default).
    Run,
    /// Run the whole terminal on simulated devices with a local reference registry.
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
    /// Receipt printer checks: status, test print (also on the simulator).
    Printer {
        #[command(subcommand)]
        cmd: cli_printer::PrinterCmd,
    },
    /// Install a provisioning file (hall, registry, keys), or make one.
    Provision {
        #[command(subcommand)]
        cmd: cli_provision::ProvisionCmd,
    },
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
        Cmd::Demo {
            state_dir,
            registry_listen,
        } => demo(&state_dir, &registry_listen, technician),
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

fn has_display() -> bool {
    std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
}

fn no_display() -> anyhow::Error {
    anyhow::anyhow!(
        "no display: DISPLAY and WAYLAND_DISPLAY are unset. Run the kiosk on a machine with a \
         screen, or under a virtual display: `xvfb-run -a -s '-screen 0 1080x1920x24' kiosk demo` \
         (then look at it with a VNC server or `xwd`). `make bench` runs the same visit without a screen"
    )
}

fn run_ui(
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

/// The reference registry as a child process, stopped on drop.
struct RegistryProcess(Child);

impl Drop for RegistryProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_registry(
    state_dir: &Path,
    listen: &str,
    token_file: &Path,
    keys: &kiosk::config::LocalKeys,
) -> anyhow::Result<RegistryProcess> {
    let exe = std::env::current_exe()?.with_file_name("registry");
    if !exe.exists() {
        bail!(
            "the registry binary is missing next to kiosk ({}); build the workspace first",
            exe.display()
        );
    }
    let addr: std::net::SocketAddr = listen.parse().context("bad --registry-listen address")?;
    // A registry left over from an earlier demo would answer in place of ours.
    if let Err(e) = std::net::TcpListener::bind(addr) {
        bail!(
            "{listen} is taken ({e}): is an earlier demo still running? Stop it, or pass --registry-listen"
        );
    }
    let mut command = Command::new(&exe);
    // SAFETY: the closure runs in the forked child before exec and only calls
    // prctl(2), which is async-signal-safe. It makes the registry end with the
    // demo, however the demo ends (a signal, a crash).
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut command, || {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM)
                .map_err(std::io::Error::from)
        });
    }
    let child = command
        .arg("--listen")
        .arg(listen)
        .arg("--db")
        .arg(state_dir.join("registry.db"))
        .arg("--token-file")
        .arg(token_file)
        .arg("--seal-key-file")
        .arg(&keys.seal_secret)
        .arg("--lookup-key-file")
        .arg(&keys.lookup)
        .spawn()
        .with_context(|| format!("cannot start {}", exe.display()))?;
    let mut proc = RegistryProcess(child);
    let started = Instant::now();
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = proc.0.try_wait() {
            bail!("the demo registry stopped at start ({status}); see its messages above");
        }
        if started.elapsed() > Duration::from_secs(10) {
            bail!("the demo registry did not come up on {listen} (is the port taken?)");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(proc)
}

/// The demo's staff PINs (a real terminal's come from its configuration).
const DEMO_CLERK_PIN: &str = "246810";
const DEMO_TECHNICIAN_PIN: &str = "135790";

fn demo(state_dir: &Path, registry_listen: &str, technician: bool) -> anyhow::Result<()> {
    if !has_display() {
        return Err(no_display());
    }
    std::fs::create_dir_all(state_dir)
        .with_context(|| format!("cannot create {}", state_dir.display()))?;
    let token_file = state_dir.join("registry-token");
    std::fs::write(&token_file, "demo-terminal-token\n")?;
    let mut cfg = Config::default();
    // The demo registry gets a fresh key set each run; its public half goes to the kiosk.
    let keys = cfg.provision_local_keys(state_dir)?;
    let _registry = start_registry(state_dir, registry_listen, &token_file, &keys)?;

    cfg.terminal.id = "demo-01".into();
    cfg.terminal.hall_name = "示范镇便民服务中心（演示）".into();
    // Demo staff PINs, printed below: the clerk and technician screens can be tried.
    cfg.staff.clerk_pin_hash = kiosk::staff::hash_pin(&DEMO_CLERK_PIN.into())?;
    cfg.staff.technician_pin_hash = kiosk::staff::hash_pin(&DEMO_TECHNICIAN_PIN.into())?;
    log::info!(
        "demo: staff PINs clerk {DEMO_CLERK_PIN}, technician {DEMO_TECHNICIAN_PIN} (\"工作人员\" on the welcome screen)"
    );
    cfg.queue.path = state_dir.join("queue.db");
    cfg.registry.url = format!("http://{registry_listen}");
    cfg.registry.token_file = token_file;
    cfg.registry.min_backoff_s = 1;
    cfg.registry.max_backoff_s = 10;
    // A camera that sees each specimen page lie still for about 4 s, then the
    // empty desk while the next page is put down: auto-capture takes each one.
    cfg.camera.image_sequence = Some(devices::demo_sequence(&state_dir.join("camera"), 10)?);
    cfg.camera.preview_interval_ms = 400;
    // The technician screen's "导出诊断包" writes here (a stand-in for the USB stick).
    cfg.technician.usb_mount = state_dir.join("usb-stick");
    std::fs::create_dir_all(&cfg.technician.usb_mount)?;
    let reader = devices::simulate_reader(&mut cfg)?;
    reader
        .control
        .insert(kiosk_idcard::sim::SimCard::specimen());
    let printer = devices::simulate_printer(&mut cfg)?;
    save_printed_paper(printer.control.clone(), state_dir.to_path_buf());
    log::info!("demo: card reader simulator on {}", reader.device.display());
    let token = cfg.read_token()?;
    let devs = devices::from_config(&cfg);
    let (c1, c2) = (reader.control.clone(), reader.control.clone());
    let hooks = ui::DemoHooks {
        insert_card: Box::new(move || c1.insert(kiosk_idcard::sim::SimCard::specimen())),
        remove_card: Box::new(move || c2.remove()),
    };
    run_ui(&cfg, token, devs, Some(hooks), technician)
}

/// Saves what the demo's simulated printer prints as PNG files in the state directory.
fn save_printed_paper(control: kiosk_printer::sim::SimControl, dir: PathBuf) {
    let spawned = std::thread::Builder::new()
        .name("demo-paper".into())
        .spawn(move || {
            let mut n = 0;
            loop {
                std::thread::sleep(Duration::from_millis(500));
                for page in control.take_pages() {
                    n += 1;
                    let path = dir.join(format!("printed-{n:03}.png"));
                    match page.save_png(&path) {
                        Ok(()) => {
                            log::info!("demo: the printer simulator printed {}", path.display())
                        }
                        Err(e) => log::warn!("demo: cannot save {}: {e}", path.display()),
                    }
                }
            }
        });
    if let Err(e) = spawned {
        log::warn!("demo: printed paper will not be saved: {e}");
    }
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
