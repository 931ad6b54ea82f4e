//! A slow link shaped by the kernel, for the uplink's slow-link test.
//!
//! [`ShapedLink::start`] makes a network namespace of its own (`ip netns
//! add`), brings its loopback up with a 1500-byte MTU and puts a queueing
//! discipline on it: `netem rate … loss …` when the kernel has `sch_netem`,
//! else `tbf rate …` (token bucket: rate only; loss is then left to the
//! user-space proxy in front). Traffic is relayed through that loopback:
//!
//! ```text
//! client ─▶ 127.0.0.1:A (host) ─▶ [namespace lo, shaped] 127.0.0.1:B ─▶ upstream (host)
//! ```
//!
//! A socket belongs to the namespace its creating thread was in, so the relay
//! creates the namespace's sockets after `setns` into it and returns the
//! thread to the host namespace at once; everything else stays on the host.
//! Dropping the link stops the relay and deletes the namespace. Needs root
//! (CAP_SYS_ADMIN) and iproute2; [`ShapedLink::start`] says why when it cannot.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context};
use nix::sched::{setns, CloneFlags};

/// Which kernel facility shapes the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shaping {
    /// `netem`: rate and packet loss in the kernel.
    NetemRateLoss,
    /// `tbf`: rate in the kernel; no loss (the kernel lacks `sch_netem`).
    TbfRate,
}

/// A running shaped relay; dropping it removes the namespace.
pub struct ShapedLink {
    /// Where clients connect (host loopback).
    pub addr: SocketAddr,
    pub shaping: Shaping,
    name: String,
    stop: Arc<AtomicBool>,
    inner_addr: SocketAddr,
    ns: Arc<File>,
    host: Arc<File>,
}

impl std::fmt::Debug for ShapedLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ShapedLink({}, {:?})", self.name, self.shaping)
    }
}

/// Runs `f` with the calling thread in the namespace `ns`, then back in `host`.
fn in_ns<T>(ns: &File, host: &File, f: impl FnOnce() -> std::io::Result<T>) -> anyhow::Result<T> {
    setns(ns, CloneFlags::CLONE_NEWNET).context("setns into the link namespace")?;
    let res = f();
    // Failing to return would leave this thread in the wrong namespace: stop.
    setns(host, CloneFlags::CLONE_NEWNET).context("setns back to the host namespace")?;
    Ok(res?)
}

fn run(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .with_context(|| format!("cannot run {}", args[0]))?;
    if !out.status.success() {
        bail!(
            "{} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

impl ShapedLink {
    /// Starts a relay to `upstream` through a namespace whose loopback runs
    /// at `rate_kbit` and, when netem exists, loses `loss_pct` % of packets.
    pub fn start(
        upstream: SocketAddr,
        rate_kbit: u32,
        loss_pct: f32,
    ) -> anyhow::Result<ShapedLink> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "kiosk-slow-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        run(&["ip", "netns", "add", &name])?;
        let made = ShapedLink::set_up(&name, upstream, rate_kbit, loss_pct);
        if made.is_err() {
            let _ = run(&["ip", "netns", "del", &name]);
        }
        made
    }

    fn set_up(
        name: &str,
        upstream: SocketAddr,
        rate_kbit: u32,
        loss_pct: f32,
    ) -> anyhow::Result<ShapedLink> {
        run(&["ip", "-n", name, "link", "set", "lo", "mtu", "1500", "up"])?;
        let rate = format!("{rate_kbit}kbit");
        let loss = format!("{loss_pct}%");
        let netem = run(&[
            "ip", "netns", "exec", name, "tc", "qdisc", "add", "dev", "lo", "root", "netem",
            "rate", &rate, "loss", &loss,
        ]);
        let shaping = match netem {
            Ok(()) => Shaping::NetemRateLoss,
            Err(netem_err) => {
                run(&[
                    "ip", "netns", "exec", name, "tc", "qdisc", "add", "dev", "lo", "root", "tbf",
                    "rate", &rate, "burst", "16kb", "latency", "2s",
                ])
                .with_context(|| format!("no netem ({netem_err:#}) and no tbf"))?;
                Shaping::TbfRate
            }
        };
        let host = Arc::new(File::open("/proc/thread-self/ns/net").context("host namespace")?);
        let ns =
            Arc::new(File::open(format!("/run/netns/{name}")).context("link namespace handle")?);
        let inner = in_ns(&ns, &host, || TcpListener::bind("127.0.0.1:0"))?;
        let inner_addr = inner.local_addr()?;
        let outer = TcpListener::bind("127.0.0.1:0")?;
        let addr = outer.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));

        // Host side: each client connection continues into the namespace.
        let (s, n, h) = (stop.clone(), ns.clone(), host.clone());
        std::thread::Builder::new()
            .name("link-outer".into())
            .spawn(move || {
                for client in outer.incoming() {
                    if s.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    match in_ns(&n, &h, || TcpStream::connect(inner_addr)) {
                        Ok(next) => splice(client, next),
                        Err(e) => log::warn!("shaped link: cannot enter the namespace: {e:#}"),
                    }
                }
            })?;
        // Namespace side: each connection leaves for the upstream on the host.
        let s = stop.clone();
        std::thread::Builder::new()
            .name("link-inner".into())
            .spawn(move || {
                for conn in inner.incoming() {
                    if s.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    match TcpStream::connect(upstream) {
                        Ok(up) => splice(conn, up),
                        // The client sees a closed connection, as with a dead registry.
                        Err(_) => drop(conn),
                    }
                }
            })?;
        Ok(ShapedLink {
            addr,
            shaping,
            name: name.to_owned(),
            stop,
            inner_addr,
            ns,
            host,
        })
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Bytes the namespace's queueing discipline has sent (`tc -s qdisc`):
    /// proof that the traffic went through the shaped link.
    pub fn shaped_bytes(&self) -> anyhow::Result<u64> {
        let out = Command::new("ip")
            .args([
                "netns", "exec", &self.name, "tc", "-s", "qdisc", "show", "dev", "lo",
            ])
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let sent = text
            .split_whitespace()
            .skip_while(|w| *w != "Sent")
            .nth(1)
            .context("no Sent figure in tc -s output")?;
        Ok(sent.parse()?)
    }
}

impl Drop for ShapedLink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake both accept loops so they see the flag.
        let _ = TcpStream::connect(self.addr);
        let _ = in_ns(&self.ns, &self.host, || TcpStream::connect(self.inner_addr));
        if let Err(e) = run(&["ip", "netns", "del", &self.name]) {
            log::warn!("shaped link: {e:#}");
        }
    }
}

/// Copies both ways between `a` and `b` on two threads until either side closes.
fn splice(a: TcpStream, b: TcpStream) {
    let (Ok(a2), Ok(b2)) = (a.try_clone(), b.try_clone()) else {
        return;
    };
    let pump = |mut from: TcpStream, mut to: TcpStream| {
        move || {
            let mut buf = [0u8; 16 * 1024];
            loop {
                match from.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = to.shutdown(Shutdown::Write);
            let _ = from.shutdown(Shutdown::Read);
        }
    };
    let _ = std::thread::Builder::new()
        .name("link-up".into())
        .spawn(pump(a, b2));
    let _ = std::thread::Builder::new()
        .name("link-down".into())
        .spawn(pump(b, a2));
}
