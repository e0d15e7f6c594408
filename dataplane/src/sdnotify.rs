//! systemd's readiness and watchdog protocol (`sd_notify(3)`), for the data plane's
//! `Type=notify` unit with `WatchdogSec=` (`deploy/systemd/tickwire-dataplane.service`).
//!
//! The protocol is one datagram per state change, `KEY=VALUE` lines, sent to the unix
//! datagram socket named by `$NOTIFY_SOCKET` (a path, or an abstract name when it starts
//! with `@`). No libsystemd: the protocol is small and stable, and std has the socket.
//!
//! [`Watchdog`] is driven by the daemon's link thread, never by the engine's core:
//! - `READY=1` once, when the engine's first statistics snapshot arrives (the engine loop
//!   is running: I/O open, link open, core pinned);
//! - `WATCHDOG=1` every half `WATCHDOG_USEC`, but only while the engine is healthy: it
//!   publishes a statistics snapshot every `engine.stats_interval_ms`, and a snapshot newer
//!   than the grace period (three intervals, at least one second) proves its loop still
//!   turns. A stuck engine stops the pings and systemd restarts the service
//!   (`Restart=on-failure`);
//! - `STOPPING=1` when dropped (the daemon is shutting down).
//!
//! Contract: allocates only at construction and when it reports a state change; sends are
//! non-blocking and their failures are logged (once), never fatal: a daemon must not die
//! because systemd went away.

use std::{
    os::{linux::net::SocketAddrExt as _, unix::net::SocketAddr, unix::net::UnixDatagram},
    time::{Duration, Instant},
};

/// Errors of the notification socket.
#[derive(Debug, thiserror::Error)]
pub enum SdNotifyError {
    /// `NOTIFY_SOCKET` is empty or not a path / abstract name.
    #[error("NOTIFY_SOCKET {0:?} is neither an absolute path nor an abstract name (@...)")]
    InvalidSocket(String),
    /// `WATCHDOG_USEC` is not a positive integer.
    #[error("WATCHDOG_USEC {0:?} is not a positive number of microseconds")]
    InvalidWatchdogUsec(String),
    /// The socket could not be created or the datagram not sent.
    #[error("notify socket {socket}: {source}")]
    Io {
        /// `NOTIFY_SOCKET` as given.
        socket: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A connection to systemd's notification socket.
#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
    address: SocketAddr,
    name: String,
}

impl Notifier {
    /// The notifier for `$NOTIFY_SOCKET`, or `None` when the variable is unset (not started
    /// by systemd with `Type=notify`).
    ///
    /// # Errors
    /// If the variable is set but invalid, or the socket cannot be created.
    pub fn from_env() -> Result<Option<Self>, SdNotifyError> {
        match std::env::var("NOTIFY_SOCKET") {
            Ok(name) => Self::connect(&name).map(Some),
            Err(_) => Ok(None),
        }
    }

    /// A notifier for the socket `name`: an absolute path, or `@name` for the abstract
    /// namespace (systemd uses both).
    ///
    /// # Errors
    /// If `name` is neither, or the socket cannot be created.
    pub fn connect(name: &str) -> Result<Self, SdNotifyError> {
        let io_error = |source| SdNotifyError::Io {
            socket: name.to_owned(),
            source,
        };
        let address = if let Some(abstract_name) = name.strip_prefix('@') {
            SocketAddr::from_abstract_name(abstract_name.as_bytes()).map_err(io_error)?
        } else if name.starts_with('/') {
            SocketAddr::from_pathname(name).map_err(io_error)?
        } else {
            return Err(SdNotifyError::InvalidSocket(name.to_owned()));
        };
        let socket = UnixDatagram::unbound().map_err(io_error)?;
        socket.set_nonblocking(true).map_err(io_error)?;
        Ok(Self {
            socket,
            address,
            name: name.to_owned(),
        })
    }

    /// Sends one state datagram (`READY=1`, `WATCHDOG=1`, `STATUS=...`, newline-separated).
    ///
    /// # Errors
    /// If the datagram cannot be sent (no listener, socket buffer full).
    pub fn notify(&self, state: &str) -> Result<(), SdNotifyError> {
        self.socket
            .send_to_addr(state.as_bytes(), &self.address)
            .map(|_| ())
            .map_err(|source| SdNotifyError::Io {
                socket: self.name.clone(),
                source,
            })
    }
}

/// The watchdog interval systemd asked for: `WATCHDOG_USEC`, when `WATCHDOG_PID` is unset
/// or names this process (`sd_watchdog_enabled(3)`).
///
/// # Errors
/// If `WATCHDOG_USEC` is set but not a positive integer.
pub fn watchdog_timeout(
    watchdog_usec: Option<&str>,
    watchdog_pid: Option<&str>,
    own_pid: u32,
) -> Result<Option<Duration>, SdNotifyError> {
    let Some(usec) = watchdog_usec else {
        return Ok(None);
    };
    if let Some(pid) = watchdog_pid
        && pid.trim().parse::<u32>().ok() != Some(own_pid)
    {
        return Ok(None);
    }
    match usec.trim().parse::<u64>() {
        Ok(usec) if usec > 0 => Ok(Some(Duration::from_micros(usec))),
        _ => Err(SdNotifyError::InvalidWatchdogUsec(usec.to_owned())),
    }
}

/// Readiness and watchdog pings from the engine's health (see the module docs).
#[derive(Debug)]
pub struct Watchdog {
    notifier: Option<Notifier>,
    /// Half the watchdog timeout (`None`: no watchdog, readiness only).
    ping_interval: Option<Duration>,
    /// The engine is unhealthy when its last statistics snapshot is older than this.
    grace: Duration,
    last_progress: Option<Instant>,
    last_ping: Option<Instant>,
    ready_sent: bool,
    healthy: bool,
    send_failed: bool,
}

impl Watchdog {
    /// From the environment systemd sets (`NOTIFY_SOCKET`, `WATCHDOG_USEC`, `WATCHDOG_PID`).
    /// Outside systemd it does nothing. A malformed environment is logged and the
    /// notifications are off: the daemon itself still runs.
    /// `stats_interval_ms`: the engine's statistics interval (`engine.stats_interval_ms`).
    #[must_use]
    pub fn from_env(stats_interval_ms: u64) -> Self {
        let setup = || -> Result<(Option<Notifier>, Option<Duration>), SdNotifyError> {
            let notifier = Notifier::from_env()?;
            let timeout = watchdog_timeout(
                std::env::var("WATCHDOG_USEC").ok().as_deref(),
                std::env::var("WATCHDOG_PID").ok().as_deref(),
                std::process::id(),
            )?;
            Ok((notifier, timeout))
        };
        let (notifier, timeout) = setup().unwrap_or_else(|error| {
            tracing::warn!(%error, "systemd notifications off");
            (None, None)
        });
        if let (Some(_), Some(timeout)) = (&notifier, timeout) {
            tracing::info!(
                timeout_ms = timeout.as_millis(),
                "systemd watchdog: pinging while the engine publishes statistics"
            );
        }
        Self::new(notifier, timeout, Duration::from_millis(stats_interval_ms))
    }

    /// A watchdog on `notifier` with systemd's `watchdog_timeout`; the engine counts as
    /// healthy while a statistics snapshot arrived within three `stats_interval`s (at least
    /// one second).
    #[must_use]
    pub fn new(
        notifier: Option<Notifier>,
        watchdog_timeout: Option<Duration>,
        stats_interval: Duration,
    ) -> Self {
        Self {
            notifier,
            ping_interval: watchdog_timeout.map(|timeout| timeout / 2),
            grace: (stats_interval * 3).max(Duration::from_secs(1)),
            last_progress: None,
            last_ping: None,
            ready_sent: false,
            healthy: true,
            send_failed: false,
        }
    }

    /// One link-thread round. `engine_progress`: a statistics snapshot from the engine was
    /// waiting (the engine loop turned since the last round).
    pub fn tick(&mut self, engine_progress: bool) {
        self.tick_at(engine_progress, Instant::now());
    }

    /// [`Self::tick`] at a given time (tests).
    pub fn tick_at(&mut self, engine_progress: bool, now: Instant) {
        if self.notifier.is_none() {
            return;
        }
        if engine_progress {
            self.last_progress = Some(now);
        }
        let Some(last_progress) = self.last_progress else {
            return; // not started yet
        };
        if !self.ready_sent {
            self.ready_sent = true;
            self.last_ping = Some(now);
            self.send("READY=1\nSTATUS=engine running");
            return;
        }
        let healthy = now.saturating_duration_since(last_progress) <= self.grace;
        if healthy != self.healthy {
            self.healthy = healthy;
            if healthy {
                tracing::info!("engine statistics flowing again: watchdog pings resume");
                self.send("STATUS=engine running");
            } else {
                tracing::error!(
                    grace_ms = self.grace.as_millis(),
                    "no engine statistics within the grace period: watchdog pings stop"
                );
                self.send("STATUS=engine stalled: no statistics");
            }
        }
        let Some(interval) = self.ping_interval else {
            return;
        };
        if healthy
            && self
                .last_ping
                .is_none_or(|last| now.saturating_duration_since(last) >= interval)
        {
            self.last_ping = Some(now);
            self.send("WATCHDOG=1");
        }
    }

    fn send(&mut self, state: &str) {
        let Some(notifier) = &self.notifier else {
            return;
        };
        if let Err(error) = notifier.notify(state) {
            if !self.send_failed {
                tracing::warn!(%error, "systemd notification not sent");
            }
            self.send_failed = true;
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if self.ready_sent {
            self.send("STOPPING=1");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receive(socket: &UnixDatagram) -> Option<String> {
        let mut buffer = [0_u8; 256];
        match socket.recv(&mut buffer) {
            Ok(len) => Some(String::from_utf8_lossy(&buffer[..len]).into_owned()),
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => None,
            Err(error) => panic!("receiving: {error}"),
        }
    }

    fn scratch_socket(name: &str) -> (std::path::PathBuf, UnixDatagram) {
        let path = std::env::temp_dir().join(format!(
            "tickwire-sdnotify-{name}-{}.sock",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        let socket = UnixDatagram::bind(&path).expect("bind");
        socket.set_nonblocking(true).expect("nonblocking");
        (path, socket)
    }

    #[test]
    fn a_path_socket_receives_the_state() {
        let (path, listener) = scratch_socket("path");
        let notifier = Notifier::connect(path.to_str().expect("utf-8")).expect("connect");
        notifier.notify("READY=1").expect("send");
        assert_eq!(receive(&listener).as_deref(), Some("READY=1"));
        std::fs::remove_file(path).expect("cleanup");
    }

    #[test]
    fn an_abstract_socket_receives_the_state() {
        let name = format!("tickwire-sdnotify-test-{}", std::process::id());
        let address = SocketAddr::from_abstract_name(name.as_bytes()).expect("address");
        let listener = UnixDatagram::bind_addr(&address).expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let notifier = Notifier::connect(&format!("@{name}")).expect("connect");
        notifier.notify("WATCHDOG=1").expect("send");
        assert_eq!(receive(&listener).as_deref(), Some("WATCHDOG=1"));
    }

    #[test]
    fn bad_socket_names_and_timeouts_are_refused() {
        assert!(matches!(
            Notifier::connect("relative/path"),
            Err(SdNotifyError::InvalidSocket(_))
        ));
        assert!(matches!(
            Notifier::connect(""),
            Err(SdNotifyError::InvalidSocket(_))
        ));
        assert!(matches!(
            watchdog_timeout(Some("soon"), None, 1),
            Err(SdNotifyError::InvalidWatchdogUsec(_))
        ));
        assert!(matches!(
            watchdog_timeout(Some("0"), None, 1),
            Err(SdNotifyError::InvalidWatchdogUsec(_))
        ));
    }

    #[test]
    fn the_watchdog_is_ours_only_when_the_pid_matches() {
        let ten_s = Some(Duration::from_secs(10));
        assert_eq!(
            watchdog_timeout(Some("10000000"), None, 42).expect("ok"),
            ten_s
        );
        assert_eq!(
            watchdog_timeout(Some("10000000"), Some("42"), 42).expect("ok"),
            ten_s
        );
        assert_eq!(
            watchdog_timeout(Some("10000000"), Some("43"), 42).expect("ok"),
            None
        );
        assert_eq!(watchdog_timeout(None, Some("42"), 42).expect("ok"), None);
    }

    #[test]
    fn sending_to_a_missing_listener_fails_cleanly() {
        let notifier = Notifier::connect("/nonexistent/tickwire-notify.sock").expect("connect");
        assert!(matches!(
            notifier.notify("READY=1"),
            Err(SdNotifyError::Io { .. })
        ));
        // The watchdog only logs it.
        let mut watchdog = Watchdog::new(
            Some(notifier),
            Some(Duration::from_secs(1)),
            Duration::from_millis(100),
        );
        watchdog.tick(true);
        watchdog.tick(true);
    }

    #[test]
    fn pings_follow_the_engine_health() {
        let (path, listener) = scratch_socket("watchdog");
        let notifier = Notifier::connect(path.to_str().expect("utf-8")).expect("connect");
        // Watchdog timeout 2 s: pings every second; statistics every 500 ms: grace 1.5 s.
        let mut watchdog = Watchdog::new(
            Some(notifier),
            Some(Duration::from_secs(2)),
            Duration::from_millis(500),
        );
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);

        // Nothing before the engine's first snapshot.
        watchdog.tick_at(false, at(0));
        assert_eq!(receive(&listener), None);
        watchdog.tick_at(true, at(10));
        assert_eq!(
            receive(&listener).as_deref(),
            Some("READY=1\nSTATUS=engine running")
        );
        // Healthy: one ping per interval, not per round.
        watchdog.tick_at(false, at(500));
        assert_eq!(receive(&listener), None);
        watchdog.tick_at(true, at(1010));
        assert_eq!(receive(&listener).as_deref(), Some("WATCHDOG=1"));
        watchdog.tick_at(false, at(1500));
        assert_eq!(receive(&listener), None);
        // The engine stalls (last snapshot at 1010 ms, grace 1500 ms): no more pings.
        watchdog.tick_at(false, at(2600));
        assert_eq!(
            receive(&listener).as_deref(),
            Some("STATUS=engine stalled: no statistics")
        );
        assert_eq!(receive(&listener), None);
        watchdog.tick_at(false, at(4000));
        assert_eq!(receive(&listener), None);
        // It recovers: status, then a ping straight away (the last one is long past).
        watchdog.tick_at(true, at(4100));
        assert_eq!(receive(&listener).as_deref(), Some("STATUS=engine running"));
        assert_eq!(receive(&listener).as_deref(), Some("WATCHDOG=1"));
        drop(watchdog);
        assert_eq!(receive(&listener).as_deref(), Some("STOPPING=1"));
        std::fs::remove_file(path).expect("cleanup");
    }

    #[test]
    fn without_a_socket_it_does_nothing() {
        let mut watchdog = Watchdog::new(None, Some(Duration::from_secs(1)), Duration::ZERO);
        watchdog.tick(true);
        assert!(!watchdog.ready_sent);
    }
}
