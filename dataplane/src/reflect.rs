//! The UDP reflector: echoes every datagram for one port back to its sender. It is the
//! latency floor of this machine for everything built on top of the I/O layer.
//!
//! On AF_XDP the receive frame itself is turned around in UMEM ([`crate::net::reply_in_place`])
//! and queued for transmission, so nothing is copied; on kernel sockets the payload is
//! copied into the `sendmmsg` batch.

use std::{
    net::Ipv4Addr,
    sync::atomic::{AtomicBool, Ordering},
};

use crate::{
    io::{BackendChoice, Io, IoConfig, IoCounters, IoError, Listen, PacketIo, RxAction},
    runtime,
    xdp::{AttachMode, XdpCounters},
};

/// What to reflect and how.
#[derive(Debug, Clone)]
pub struct ReflectOptions {
    /// Interface.
    pub iface: String,
    /// UDP port to reflect.
    pub port: u16,
    /// Backend (`Auto` is allowed but the CLI asks for an explicit one).
    pub backend: BackendChoice,
    /// XDP attach mode.
    pub mode: AttachMode,
    /// Core to pin the polling thread to.
    pub core: Option<usize>,
    /// Socket busy-poll microseconds (socket backend).
    pub busy_poll_us: Option<u32>,
    /// Stop after this many datagrams.
    pub limit: Option<u64>,
}

/// What a reflector run did.
#[derive(Debug, Clone)]
pub struct ReflectReport {
    /// Backend used.
    pub backend: &'static str,
    /// Datagrams echoed.
    pub echoed: u64,
    /// I/O counters.
    pub io: IoCounters,
    /// XDP program counters (AF_XDP only).
    pub xdp: Option<XdpCounters>,
}

/// Opens the backend, pins the thread, and reflects until `stop` is set or `limit` is hit.
/// Prints `reflect: ready` once it is receiving, for scripts and tests to wait on.
///
/// # Errors
/// [`IoError`] if the backend cannot be opened or fails while running.
pub fn run(options: &ReflectOptions, stop: &AtomicBool) -> Result<ReflectReport, IoError> {
    let mut config = IoConfig::new(
        &options.iface,
        vec![Listen {
            addr: Ipv4Addr::UNSPECIFIED,
            port: options.port,
        }],
    );
    config.backend = options.backend;
    config.xdp_mode = options.mode;
    config.busy_poll_us = options.busy_poll_us;
    if let Some(core) = options.core {
        runtime::pin_to_core(core).map_err(IoError::Config)?;
    }
    let io = Io::open(&config)?;
    let limit = options.limit.unwrap_or(u64::MAX);
    match io {
        Io::AfXdp(mut io) => {
            let echoed = reflect_loop(io.as_mut(), options.port, limit, stop)?;
            let accounting = io.frame_accounting();
            debug_assert!(accounting.balanced(), "{accounting:?}");
            Ok(ReflectReport {
                backend: "afxdp",
                echoed,
                io: io.counters(),
                xdp: io.program().counters().ok(),
            })
        }
        Io::Socket(mut io) => {
            let echoed = reflect_loop(io.as_mut(), options.port, limit, stop)?;
            Ok(ReflectReport {
                backend: "socket",
                echoed,
                io: io.counters(),
                xdp: None,
            })
        }
    }
}

fn reflect_loop<I: PacketIo>(
    io: &mut I,
    port: u16,
    limit: u64,
    stop: &AtomicBool,
) -> Result<u64, IoError> {
    println!("reflect: ready");
    let mut echoed = 0u64;
    while echoed < limit && !stop.load(Ordering::Relaxed) {
        let mut batch = 0u64;
        io.poll(|datagram| {
            if datagram.dst.port() == port {
                batch += 1;
                RxAction::Echo
            } else {
                RxAction::Consume
            }
        })?;
        if batch > 0 {
            io.flush()?;
            echoed += batch;
        }
    }
    // Push out anything still queued.
    io.flush()?;
    Ok(echoed)
}
