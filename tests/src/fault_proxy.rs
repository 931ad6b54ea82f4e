//! A fault-injecting HTTP proxy for the uplink's fault tests.
//!
//! It listens on loopback in front of the real registry and answers each
//! request (one per connection, `Connection: close`) according to the
//! current [`Fault`]: pass it through, or fail the way real networks fail —
//! a 500, bytes that are not HTTP, a captive portal's 200 page, a connection
//! closed halfway through the registry's answer (after the registry stored
//! the upload), an answer held back past the client's timeout, or a refused
//! connection. Plain threads and blocking sockets keep it obvious.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};

/// How the proxy treats the next requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Forward to the registry and return its answer.
    Pass,
    /// Answer 500 without asking the registry.
    Status500,
    /// Answer bytes that are not HTTP at all.
    Garbage,
    /// Answer 201 with a body that is not JSON.
    GarbageBody,
    /// Answer 200 with a captive portal's HTML login page.
    Portal,
    /// Forward, then close the connection halfway through the registry's answer.
    CloseMidBody,
    /// Like [`Fault::CloseMidBody`] for requests whose request line contains
    /// this text (e.g. `"/pages/2 "`); every other request passes.
    CloseMidBodyOn(&'static str),
    /// Forward, then hold the answer back for this long before sending it.
    Slow(Duration),
    /// Close every connection at once, without reading it.
    Refuse,
    /// A slow, lossy link in user space: forward at `bytes_per_s` in both
    /// directions, and cut every `cut_every`-th connection, alternately before
    /// the request reaches the registry and halfway through its answer.
    SlowLink { bytes_per_s: u32, cut_every: u32 },
}

struct Shared {
    fault: Mutex<Fault>,
    served: Mutex<HashMap<Fault, u64>>,
    /// The request line (`METHOD path HTTP/1.1`) of every request read, in order.
    requests: Mutex<Vec<String>>,
    connections: std::sync::atomic::AtomicU64,
    cuts: std::sync::atomic::AtomicU64,
    stop: AtomicBool,
    upstream: SocketAddr,
}

/// A running proxy; dropping it stops accepting connections.
pub struct FaultProxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FaultProxy({} -> {})", self.addr, self.shared.upstream)
    }
}

impl FaultProxy {
    /// Starts a proxy on a free loopback port in front of `upstream`.
    pub fn start(upstream: SocketAddr) -> anyhow::Result<FaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            fault: Mutex::new(Fault::Pass),
            served: Mutex::new(HashMap::new()),
            requests: Mutex::new(Vec::new()),
            connections: std::sync::atomic::AtomicU64::new(0),
            cuts: std::sync::atomic::AtomicU64::new(0),
            stop: AtomicBool::new(false),
            upstream,
        });
        let s = shared.clone();
        std::thread::Builder::new()
            .name("fault-proxy".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if s.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let s = s.clone();
                    let _ =
                        std::thread::Builder::new()
                            .name("fault-conn".into())
                            .spawn(move || {
                                let _ = serve(&s, conn);
                            });
                }
            })?;
        Ok(FaultProxy { addr, shared })
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Switches the fault for the next requests.
    pub fn set(&self, fault: Fault) {
        if let Ok(mut f) = self.shared.fault.lock() {
            *f = fault;
        }
    }

    /// How many connections [`Fault::SlowLink`] cut.
    pub fn cuts(&self) -> u64 {
        self.shared.cuts.load(Ordering::SeqCst)
    }

    /// The request lines (`METHOD path HTTP/1.1`) of the requests read so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.shared.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// How many requests were answered under `fault`.
    pub fn served(&self, fault: Fault) -> u64 {
        self.shared
            .served
            .lock()
            .map(|m| m.get(&fault).copied().unwrap_or(0))
            .unwrap_or(0)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(s: &Shared, mut client: TcpStream) -> anyhow::Result<()> {
    let fault = s.fault.lock().map(|f| *f).unwrap_or(Fault::Pass);
    if fault == Fault::Refuse {
        count(s, fault);
        let _ = client.shutdown(Shutdown::Both);
        return Ok(());
    }
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    let request = read_message(&mut client).context("reading the request")?;
    let line = request
        .split(|b| *b == b'\r')
        .next()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .unwrap_or_default();
    // A targeted fault counts under its own name when it strikes, as Pass otherwise.
    let (fault, counted) = match fault {
        Fault::CloseMidBodyOn(pat) if !line.contains(pat) => (Fault::Pass, Fault::Pass),
        on @ Fault::CloseMidBodyOn(_) => (Fault::CloseMidBody, on),
        other => (other, other),
    };
    if let Ok(mut r) = s.requests.lock() {
        r.push(line);
    }
    count(s, counted);
    let nth = s.connections.fetch_add(1, Ordering::SeqCst) + 1;
    match fault {
        Fault::SlowLink {
            bytes_per_s,
            cut_every,
        } => {
            let cut = cut_every > 0 && nth % u64::from(cut_every) == 0;
            if cut {
                s.cuts.fetch_add(1, Ordering::SeqCst);
            }
            if cut && nth % u64::from(2 * cut_every) == 0 {
                // Lost on the way: the registry never sees it.
                let _ = client.shutdown(Shutdown::Both);
                return Ok(());
            }
            let mut up = TcpStream::connect(s.upstream)?;
            up.set_read_timeout(Some(Duration::from_secs(30)))?;
            trickle(&mut up, &request, bytes_per_s)?;
            let answer = close_after(read_message(&mut up).context("reading the answer")?);
            let end = if cut { answer.len() / 2 } else { answer.len() };
            trickle(&mut client, &answer[..end], bytes_per_s)?;
        }
        Fault::Status500 => {
            let body = br#"{"code":"internal","message":"injected"}"#;
            write_response(
                &mut client,
                "500 Internal Server Error",
                "application/json",
                body,
            )?;
        }
        Fault::Garbage => client.write_all(b"\x00\x13\x37 this is not http \xff\xfe\r\n\r\n")?,
        Fault::GarbageBody => write_response(
            &mut client,
            "201 Created",
            "application/json",
            b"{\"case_number\": tru",
        )?,
        Fault::Portal => write_response(
            &mut client,
            "200 OK",
            "text/html; charset=utf-8",
            b"<html><body>Welcome to FreeWiFi, please log in</body></html>",
        )?,
        Fault::Pass | Fault::CloseMidBody | Fault::Slow(_) => {
            let mut up = TcpStream::connect(s.upstream)?;
            up.set_read_timeout(Some(Duration::from_secs(30)))?;
            up.write_all(&request)?;
            let answer = close_after(read_message(&mut up).context("reading the answer")?);
            match fault {
                Fault::CloseMidBody => {
                    // The registry has stored it; the terminal never hears so.
                    let cut = answer.len() - (answer.len() - head_len(&answer)) / 2 - 1;
                    client.write_all(&answer[..cut])?;
                }
                Fault::Slow(delay) => {
                    std::thread::sleep(delay);
                    client.write_all(&answer)?;
                }
                _ => client.write_all(&answer)?,
            }
        }
        Fault::Refuse | Fault::CloseMidBodyOn(_) => {}
    }
    let _ = client.flush();
    let _ = client.shutdown(Shutdown::Both);
    Ok(())
}

/// Writes `data` at about `bytes_per_s`, in small pieces.
fn trickle(w: &mut TcpStream, data: &[u8], bytes_per_s: u32) -> std::io::Result<()> {
    let piece = (bytes_per_s / 50).max(1) as usize;
    for chunk in data.chunks(piece) {
        w.write_all(chunk)?;
        w.flush()?;
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

fn count(s: &Shared, fault: Fault) {
    if let Ok(mut m) = s.served.lock() {
        *m.entry(fault).or_default() += 1;
    }
}

fn write_response(
    w: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    w.write_all(head.as_bytes())?;
    w.write_all(body)
}

/// The length of the head, blank line included.
fn head_len(msg: &[u8]) -> usize {
    msg.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(msg.len(), |p| p + 4)
}

/// Adds `connection: close` to an answer's head.
fn close_after(msg: Vec<u8>) -> Vec<u8> {
    let Some(eol) = msg.windows(2).position(|w| w == b"\r\n") else {
        return msg;
    };
    let mut out = msg[..eol + 2].to_vec();
    out.extend_from_slice(b"connection: close\r\n");
    out.extend_from_slice(&msg[eol + 2..]);
    out
}

/// Reads one HTTP/1.1 message whose body length is given by `content-length` (or absent).
fn read_message(r: &mut TcpStream) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = r.read(&mut chunk)?;
        if n == 0 {
            bail!("connection closed before the head ended");
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse())
        .transpose()?
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = r.read(&mut chunk)?;
        if n == 0 {
            bail!("connection closed in the body");
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    buf.truncate(head_end + len);
    Ok(buf)
}
