//! systemd service notifications for `kiosk run` (unit: `systemd/kiosk.service`).
//!
//! `READY=1` is sent from the UI event loop once it runs (the window is up;
//! the controller opened the queue before), and `WATCHDOG=1` from a repeating
//! Slint timer on the same loop, so a hung UI stops petting the watchdog and
//! systemd restarts the service. Everything is a no-op when `NOTIFY_SOCKET`
//! is unset (a technician's shell, tests). The messages go through the
//! `sd-notify` crate.
//!
//! Under `cage` the kiosk is not the service's main process, so systemd's
//! `WATCHDOG_PID` names cage, our parent; the unit sets `NotifyAccess=all`
//! and we accept the watchdog interval in that case too.

use std::time::Duration;

/// The watchdog interval systemd expects from this process, if any: from
/// `WATCHDOG_USEC` when `WATCHDOG_PID` is unset, ours, or our parent's.
pub fn watchdog_interval() -> Option<Duration> {
    if let Some(d) = sd_notify::watchdog_enabled() {
        return Some(d);
    }
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    let pid: u32 = std::env::var("WATCHDOG_PID").ok()?.parse().ok()?;
    (pid == std::os::unix::process::parent_id() && usec > 0).then(|| Duration::from_micros(usec))
}

/// How often to pet a watchdog of `interval`: half of it, as systemd advises,
/// but never more often than every 100 ms.
pub fn pet_period(interval: Duration) -> Duration {
    (interval / 2).max(Duration::from_millis(100))
}

fn send(state: &[sd_notify::NotifyState]) {
    if let Err(e) = sd_notify::notify(state) {
        log::warn!("cannot notify systemd: {e}");
    }
}

/// Tells systemd the terminal is ready (call from the UI event loop).
pub fn ready(terminal: &str) {
    let status = format!("serving as terminal {terminal}");
    send(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status(&status),
    ]);
}

/// Tells systemd the terminal is stopping.
pub fn stopping() {
    send(&[sd_notify::NotifyState::Stopping]);
}

/// Arms the notifications on the current Slint event loop: `READY=1` as soon
/// as the loop runs, then `WATCHDOG=1` every half watchdog interval. Keep the
/// returned timers alive for as long as the loop runs.
pub fn arm(terminal: &str) -> Vec<slint::Timer> {
    let mut timers = Vec::new();
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return timers;
    }
    let ready_timer = slint::Timer::default();
    let terminal = terminal.to_string();
    ready_timer.start(slint::TimerMode::SingleShot, Duration::ZERO, move || {
        ready(&terminal);
        log::info!("told systemd: ready");
    });
    timers.push(ready_timer);
    if let Some(interval) = watchdog_interval() {
        let pet = slint::Timer::default();
        pet.start(slint::TimerMode::Repeated, pet_period(interval), || {
            send(&[sd_notify::NotifyState::Watchdog]);
        });
        log::info!(
            "systemd watchdog every {} ms",
            pet_period(interval).as_millis()
        );
        timers.push(pet);
    }
    timers
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;

    #[test]
    fn pet_period_is_half_the_interval_with_a_floor() {
        assert_eq!(pet_period(Duration::from_secs(30)), Duration::from_secs(15));
        assert_eq!(
            pet_period(Duration::from_millis(50)),
            Duration::from_millis(100)
        );
    }

    // One test touches the process environment, so the cases run in sequence.
    #[test]
    fn notifications_reach_the_socket_and_watchdog_follows_the_pid_rules() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sock_path = dir.path().join("notify");
        let sock = UnixDatagram::bind(&sock_path).expect("bind");
        sock.set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        // SAFETY: only this test changes these variables.
        unsafe {
            std::env::set_var("NOTIFY_SOCKET", &sock_path);
        }
        ready("hall-07");
        let mut buf = [0u8; 256];
        let n = sock.recv(&mut buf).expect("a READY datagram");
        let msg = String::from_utf8_lossy(&buf[..n]).to_string();
        assert!(msg.lines().any(|l| l == "READY=1"), "{msg}");
        assert!(msg.contains("STATUS=serving as terminal hall-07"), "{msg}");

        unsafe {
            std::env::set_var("WATCHDOG_USEC", "30000000");
            std::env::set_var("WATCHDOG_PID", std::process::id().to_string());
        }
        assert_eq!(watchdog_interval(), Some(Duration::from_secs(30)));
        unsafe {
            std::env::set_var(
                "WATCHDOG_PID",
                std::os::unix::process::parent_id().to_string(),
            )
        };
        assert_eq!(
            watchdog_interval(),
            Some(Duration::from_secs(30)),
            "cage (the parent) is the main PID"
        );
        unsafe { std::env::set_var("WATCHDOG_PID", "1") };
        if std::os::unix::process::parent_id() != 1 {
            assert_eq!(watchdog_interval(), None, "someone else's watchdog");
        }
        unsafe {
            std::env::remove_var("WATCHDOG_USEC");
            std::env::remove_var("WATCHDOG_PID");
            std::env::remove_var("NOTIFY_SOCKET");
        }
        // Without NOTIFY_SOCKET nothing is sent and nothing fails.
        ready("hall-07");
        sock.set_nonblocking(true).expect("nonblocking");
        let err = sock
            .recv(&mut buf)
            .expect_err("no datagram without NOTIFY_SOCKET");
        assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    }
}
