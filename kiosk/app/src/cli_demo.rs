//! `kiosk demo` (feature `demo`, never in the shipped kiosk): the whole
//! terminal on simulated devices (card reader and printer simulators on
//! pseudo-terminals, the camera playing the SPECIMEN page photos) with a
//! local reference registry as a child process, and the demo's staff PINs.
//! What the simulated printer prints is saved as PNG in the state directory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use kiosk::{devices, ui, Config};

use crate::{has_display, no_display, run_ui};

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
        .arg("--staff-token-file")
        .arg(state_dir.join("staff-token"))
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

/// `kiosk demo`: the whole terminal on simulated devices with a local reference registry.
pub(crate) fn run(state_dir: &Path, registry_listen: &str, technician: bool) -> anyhow::Result<()> {
    if !has_display() {
        return Err(no_display());
    }
    std::fs::create_dir_all(state_dir)
        .with_context(|| format!("cannot create {}", state_dir.display()))?;
    let token_file = state_dir.join("registry-token");
    std::fs::write(&token_file, "demo-terminal-token\n")?;
    // The registry's side: the token bound to the demo terminal's id.
    let registry_tokens = state_dir.join("registry-tokens");
    std::fs::write(&registry_tokens, "demo-01 demo-terminal-token\n")?;
    // The demo registry's staff API (to close a case by hand): its own token.
    std::fs::write(state_dir.join("staff-token"), "demo-staff-token\n")?;
    let mut cfg = Config::default();
    // The demo registry gets a fresh key set each run; its public half goes to the kiosk.
    let keys = cfg.provision_local_keys(state_dir)?;
    let _registry = start_registry(state_dir, registry_listen, &registry_tokens, &keys)?;

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
    // A microphone that says one sentence when "说出您的诉求" is pressed; the
    // note stops by itself after 10 s (the file is read faster than it plays).
    match devices::simulate_microphone(&mut cfg, &state_dir.join("microphone"), devices::DEMO_SPEECH) {
        Ok(_) => cfg.voice.note_max_s = 10,
        Err(e) => {
            log::warn!("demo: no microphone: {e:#}");
            cfg.voice.capture_device.clear();
        }
    }
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
