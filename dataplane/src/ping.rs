//! UDP ping-pong client for round-trip measurements against the reflector.
//!
//! Uses a kernel socket with non-blocking, busy-polled receives (the same client for every
//! responder, so ratios compare responders). Every probe carries a sequence number; echoes
//! of earlier probes that arrive late are discarded, never counted as a later probe's reply.

use std::{
    net::{SocketAddrV4, UdpSocket},
    time::{Duration, Instant},
};

use crate::{runtime, stats::LatencySummary};

/// Ping parameters.
#[derive(Debug, Clone)]
pub struct PingOptions {
    /// Reflector address.
    pub target: SocketAddrV4,
    /// Measured probes.
    pub count: u64,
    /// Unmeasured probes first.
    pub warmup: u64,
    /// Payload bytes (at least 8).
    pub payload: usize,
    /// Core to pin to.
    pub core: Option<usize>,
    /// Give a probe up after this long.
    pub timeout: Duration,
}

/// Result of a ping run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PingReport {
    /// Round-trip percentiles of answered probes.
    pub rtt: LatencySummary,
    /// Probes without an answer within the timeout.
    pub lost: u64,
    /// Answers whose payload differed from the probe.
    pub corrupted: u64,
}

/// Runs the ping-pong.
///
/// # Errors
/// If the socket cannot be set up or pinning fails.
pub fn run(options: &PingOptions) -> std::io::Result<PingReport> {
    if let Some(core) = options.core {
        runtime::pin_to_core(core).map_err(std::io::Error::other)?;
    }
    let socket = UdpSocket::bind("0.0.0.0:0")?;
    socket.connect(options.target)?;
    socket.set_nonblocking(true)?;
    let payload_len = options.payload.max(8);
    let mut probe = vec![0u8; payload_len];
    for (index, byte) in probe.iter_mut().enumerate().skip(8) {
        // A recognisable pattern so corruption shows.
        *byte = (index % 251) as u8;
    }
    let mut answer = vec![0u8; payload_len + 64];
    let total = options.warmup + options.count;
    let capacity = usize::try_from(options.count).unwrap_or(usize::MAX);
    let mut samples = Vec::with_capacity(capacity);
    let (mut lost, mut corrupted) = (0u64, 0u64);
    for sequence in 0..total {
        probe[..8].copy_from_slice(&sequence.to_be_bytes());
        let sent_at = Instant::now();
        socket.send(&probe)?;
        let deadline = sent_at + options.timeout;
        let rtt = loop {
            match socket.recv(&mut answer) {
                Ok(len) => {
                    if len < 8 || answer[..8] != probe[..8] {
                        continue; // a late echo of an earlier probe
                    }
                    let elapsed = sent_at.elapsed();
                    if answer[..len] != probe[..] {
                        corrupted += 1;
                    }
                    break Some(elapsed);
                }
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() > deadline {
                        break None;
                    }
                    std::hint::spin_loop();
                }
                // ICMP port unreachable from a previous probe: keep waiting for this one.
                Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => {}
                Err(error) => return Err(error),
            }
        };
        match rtt {
            Some(rtt) if sequence >= options.warmup => {
                samples.push(u64::try_from(rtt.as_nanos()).unwrap_or(u64::MAX));
            }
            Some(_) => {}
            None => lost += 1,
        }
    }
    Ok(PingReport {
        rtt: LatencySummary::from_samples(&mut samples),
        lost,
        corrupted,
    })
}
