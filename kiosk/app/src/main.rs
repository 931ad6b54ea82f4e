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

#[derive(Parser)]
#[command(name = "kiosk", version, about = "Petition-intake terminal (信访登记终端)")]
struct Cli {
    /// The configuration file.
    #[arg(long, global = true, default_value = "/etc/kiosk/kiosk.toml")]
    config: PathBuf,
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
        cmd: IdcardCmd,
    },
    /// Straighten and recognise one photo of a page; prints timings and the text.
    Ocr {
        /// A photo as the document camera takes it.
        image: PathBuf,
    },
    /// Show the local queue: counts and the latest receipts (masked).
    Queue,
}

#[derive(Subcommand)]
enum IdcardCmd {
    /// Ask the reader for a card once and print the masked result.
    Read {
        /// Device path; defaults to the configured one.
        #[arg(long)]
        device: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    // Tesseract's OpenMP threads stall on small machines; one thread per engine
    // is 2x faster. OpenMP reads the variable when the process loads, so the
    // binary re-executes itself once with it set (the systemd unit sets it too).
    if std::env::var_os("OMP_THREAD_LIMIT").is_none() {
        use std::os::unix::process::CommandExt;
        if let Ok(exe) = std::env::current_exe() {
            let err = Command::new(exe).args(std::env::args_os().skip(1)).env("OMP_THREAD_LIMIT", "1").exec();
            eprintln!("cannot re-execute with OMP_THREAD_LIMIT=1: {err}");
        }
    }
    logging::init();
    let cli = Cli::parse();
    let res = match cli.cmd.unwrap_or(Cmd::Run) {
        Cmd::Run => run(&cli.config),
        Cmd::Demo { state_dir, registry_listen } => demo(&state_dir, &registry_listen),
        Cmd::CheckConfig => check_config(&cli.config),
        Cmd::Idcard { cmd: IdcardCmd::Read { device } } => idcard_read(&cli.config, device),
        Cmd::Ocr { image } => ocr(&cli.config, &image),
        Cmd::Queue => queue(&cli.config),
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
        bail!("no configuration at {} (see kiosk/app/kiosk.example.toml)", path.display())
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

fn run_ui(cfg: &Config, token: String, devs: kiosk::Devices, demo: Option<ui::DemoHooks>) -> anyhow::Result<()> {
    if !has_display() {
        return Err(no_display());
    }
    let app = AppWindow::new().context("cannot create the window")?;
    let controller = Controller::spawn(cfg, token, devs, ui::sink(&app), None)?;
    ui::attach(&app, &cfg.terminal.hall_name, controller.sender(), demo);
    log::info!("kiosk ready: terminal {}", cfg.terminal.id);
    app.run().context("the UI event loop failed")?;
    controller.shutdown();
    Ok(())
}

fn run(config: &Path) -> anyhow::Result<()> {
    let cfg = load(config)?;
    let token = cfg.read_token()?;
    let devs = devices::from_config(&cfg);
    run_ui(&cfg, token, devs, None)
}

/// The reference registry as a child process, stopped on drop.
struct RegistryProcess(Child);

impl Drop for RegistryProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_registry(state_dir: &Path, listen: &str, token_file: &Path) -> anyhow::Result<RegistryProcess> {
    let exe = std::env::current_exe()?.with_file_name("registry");
    if !exe.exists() {
        bail!("the registry binary is missing next to kiosk ({}); build the workspace first", exe.display());
    }
    let child = Command::new(&exe)
        .arg("--listen")
        .arg(listen)
        .arg("--db")
        .arg(state_dir.join("registry.db"))
        .arg("--token-file")
        .arg(token_file)
        .spawn()
        .with_context(|| format!("cannot start {}", exe.display()))?;
    let proc = RegistryProcess(child);
    let addr: std::net::SocketAddr = listen.parse().context("bad --registry-listen address")?;
    let started = Instant::now();
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if started.elapsed() > Duration::from_secs(10) {
            bail!("the demo registry did not come up on {listen} (is the port taken?)");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(proc)
}

fn demo(state_dir: &Path, registry_listen: &str) -> anyhow::Result<()> {
    if !has_display() {
        return Err(no_display());
    }
    std::fs::create_dir_all(state_dir)
        .with_context(|| format!("cannot create {}", state_dir.display()))?;
    let token_file = state_dir.join("registry-token");
    std::fs::write(&token_file, "demo-terminal-token\n")?;
    let _registry = start_registry(state_dir, registry_listen, &token_file)?;

    let mut cfg = Config::default();
    cfg.terminal.id = "demo-01".into();
    cfg.terminal.hall_name = "示范镇便民服务中心（演示）".into();
    cfg.queue.path = state_dir.join("queue.db");
    cfg.registry.url = format!("http://{registry_listen}");
    cfg.registry.token_file = token_file;
    cfg.registry.min_backoff_s = 1;
    cfg.registry.max_backoff_s = 10;
    cfg.camera.image_sequence = Some(devices::sample_pages());
    // The sample sequence advances one page per grab: show each page for a while.
    cfg.camera.preview_interval_ms = 3_000;
    let reader = devices::simulate_reader(&mut cfg)?;
    reader.control.insert(kiosk_idcard::sim::SimCard::specimen());
    log::info!("demo: card reader simulator on {}", reader.device.display());
    let token = cfg.read_token()?;
    let devs = devices::from_config(&cfg);
    let (c1, c2) = (reader.control.clone(), reader.control.clone());
    let hooks = ui::DemoHooks {
        insert_card: Box::new(move || c1.insert(kiosk_idcard::sim::SimCard::specimen())),
        remove_card: Box::new(move || c2.remove()),
    };
    run_ui(&cfg, token, devs, Some(hooks))
}

fn check_config(config: &Path) -> anyhow::Result<()> {
    let cfg = load(config)?;
    println!("configuration {} is valid", config.display());
    println!("terminal {} ({})", cfg.terminal.id, cfg.terminal.hall_name);
    println!("card reader {} at {} baud", cfg.idcard.device.display(), cfg.idcard.baud);
    println!("registry {}", cfg.registry.url);
    match cfg.read_token() {
        Ok(_) => println!("registry token present"),
        Err(e) => println!("registry token: {e:#}"),
    }
    Ok(())
}

fn idcard_read(config: &Path, device: Option<PathBuf>) -> anyhow::Result<()> {
    let mut cfg = if config.exists() { Config::load(config)? } else { Config::default() };
    if let Some(d) = device {
        cfg.idcard.device = d;
    }
    let mut reader = kiosk_idcard::SerialReader::open(
        &cfg.idcard.device,
        cfg.idcard.baud,
        Duration::from_millis(cfg.idcard.reply_timeout_ms),
    )
    .with_context(|| format!("cannot open {}", cfg.idcard.device.display()))?;
    let started = Instant::now();
    match kiosk_idcard::IdCardReader::poll(&mut reader)? {
        kiosk_idcard::CardPoll::NoCard => println!("reader answers; no card on it"),
        kiosk_idcard::CardPoll::Card(id) => {
            let t = &id.text;
            println!("card read in {} ms", started.elapsed().as_millis());
            println!("document {:?}, name {}, id {}, number check {}", t.doc_type, t.name, t.id_number,
                if t.id_number_ok() { "ok" } else { "FAILED" });
            println!("photo blob {} bytes", id.photo_wlt.len());
        }
    }
    Ok(())
}

fn ocr(config: &Path, image: &Path) -> anyhow::Result<()> {
    let cfg = if config.exists() { Config::load(config)? } else { Config::default() };
    let t0 = Instant::now();
    let frame = kiosk_camera::Frame::from_file(image)?;
    let page = kiosk_camera::process_page(&frame)?;
    let t1 = Instant::now();
    let mut engine = kiosk_ocr::OcrEngine::new(&kiosk_ocr::OcrConfig {
        tessdata_dir: Some(cfg.ocr.tessdata_dir.clone()),
        language: cfg.ocr.language.clone(),
        workers: 1,
    })?;
    let text = engine.recognize_gray(&page.gray, page.width, page.height)?;
    println!(
        "page {}x{}, jpeg {} KB, straightened in {} ms, recognised in {} ms, confidence {:.0}",
        page.width,
        page.height,
        page.jpeg.len() / 1024,
        (t1 - t0).as_millis(),
        text.duration.as_millis(),
        text.mean_confidence
    );
    println!("{}", text.text);
    Ok(())
}

fn queue(config: &Path) -> anyhow::Result<()> {
    let cfg = load(config)?;
    let q = kiosk_queue::Queue::open(&cfg.queue.path)?;
    let c = q.counts()?;
    println!("{c:?}");
    for r in q.recent_receipts(20)? {
        println!(
            "{} {} {} pages={} id={} status={:?} case={}",
            r.sealed_at,
            r.local_ref,
            r.category,
            r.page_count,
            r.masked_id,
            r.status,
            r.case_number.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}
