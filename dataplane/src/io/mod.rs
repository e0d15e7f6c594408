//! The data plane's packet I/O: one interface, two backends.
//!
//! - [`afxdp::AfXdpIo`]: the XDP steering program redirects the configured destinations into
//!   an AF_XDP socket; frames are received and transmitted through UMEM rings, headers are
//!   built in place from per-destination templates, checksums in software.
//! - [`socket::SocketIo`]: non-blocking kernel UDP sockets with `recvmmsg`/`sendmmsg` and
//!   optional `SO_BUSY_POLL`: the fallback where XDP is unavailable and the baseline.
//!
//! Both allocate everything in `open` and [`PacketIo::add_destination`]; `poll`, `send` and
//! `flush` never allocate, lock or log, and make at most one system call per batch (the
//! AF_XDP kick, or `recvmmsg`/`sendmmsg`). The engine loop is generic over [`PacketIo`], so
//! each backend gets its own monomorphised loop.

pub mod afxdp;
pub mod iface;
pub mod memory;
pub mod socket;

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::xdp::AttachMode;

/// Which backend to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// AF_XDP when it can be set up, otherwise kernel sockets (the log line says why).
    #[default]
    Auto,
    /// AF_XDP or fail.
    Afxdp,
    /// Kernel sockets.
    Socket,
}

/// The backend in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// AF_XDP.
    AfXdp,
    /// Kernel sockets.
    Socket,
}

impl BackendKind {
    /// Short name (`afxdp` / `socket`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::AfXdp => "afxdp",
            Self::Socket => "socket",
        }
    }
}

/// An address to receive on: a local unicast address (`0.0.0.0` for any) or a multicast
/// group, and a UDP port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen {
    /// Local address, `0.0.0.0`, or a multicast group (joined with IGMP).
    pub addr: Ipv4Addr,
    /// UDP port.
    pub port: u16,
}

/// I/O configuration; every buffer is sized from it once, at `open`.
#[derive(Debug, Clone)]
pub struct IoConfig {
    /// Interface name.
    pub iface: String,
    /// Backend selection.
    pub backend: BackendChoice,
    /// XDP attach mode (AF_XDP backend).
    pub xdp_mode: AttachMode,
    /// NIC rx queue the AF_XDP socket binds to (the feed must be steered to it).
    pub queue: u32,
    /// UMEM frames (half receive, half transmit).
    pub frame_count: u32,
    /// UMEM frame size in bytes (2048 or 4096).
    pub frame_size: u32,
    /// Size of each AF_XDP ring (fill, completion, rx, tx): a power of two.
    pub ring_size: u32,
    /// Datagrams per receive batch and per transmit flush.
    pub batch: usize,
    /// `SO_BUSY_POLL` microseconds for the socket backend (`None`: off).
    pub busy_poll_us: Option<u32>,
    /// What to receive.
    pub listen: Vec<Listen>,
}

impl IoConfig {
    /// Defaults for `iface` receiving `listen`.
    #[must_use]
    pub fn new(iface: &str, listen: Vec<Listen>) -> Self {
        Self {
            iface: iface.to_owned(),
            backend: BackendChoice::Auto,
            xdp_mode: AttachMode::Auto,
            queue: 0,
            frame_count: 4096,
            frame_size: 2048,
            ring_size: 2048,
            batch: 64,
            busy_poll_us: None,
            listen,
        }
    }
}

/// Errors setting up or running I/O.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// The configuration cannot work.
    #[error("invalid I/O configuration: {0}")]
    Config(String),
    /// The interface is missing or has no IPv4 address.
    #[error("interface {iface}: {reason}")]
    Interface {
        /// Interface name.
        iface: String,
        /// What is wrong.
        reason: String,
    },
    /// The XDP program could not be loaded or attached.
    #[error(transparent)]
    Xdp(#[from] crate::xdp::XdpError),
    /// AF_XDP UMEM or socket set-up failed.
    #[error("AF_XDP {what}: {reason}")]
    AfXdp {
        /// What was being set up.
        what: &'static str,
        /// The error text.
        reason: String,
    },
    /// A system call failed.
    #[error("{call}: {source}")]
    Os {
        /// The call.
        call: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The next hop's MAC address could not be resolved.
    #[error("no neighbour entry for {0} (ARP did not resolve)")]
    Unresolved(Ipv4Addr),
}

impl IoError {
    pub(crate) fn os(call: &'static str) -> Self {
        Self::Os {
            call,
            source: std::io::Error::last_os_error(),
        }
    }
}

/// A destination registered with [`PacketIo::add_destination`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DestId(pub(crate) u16);

/// A received datagram, borrowed from the backend for the duration of the callback.
#[derive(Debug, Clone, Copy)]
pub struct RxDatagram<'a> {
    /// Sender.
    pub src: SocketAddrV4,
    /// Destination (the local address or multicast group and port).
    pub dst: SocketAddrV4,
    /// UDP payload.
    pub payload: &'a [u8],
}

/// What to do with a received datagram once the callback has seen it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxAction {
    /// Done with it: the buffer is recycled.
    Consume,
    /// Send it back to its sender unchanged (addresses and ports swapped), reusing the
    /// receive buffer where the backend can.
    Echo,
}

/// Per-backend counters, owned by the polling thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IoCounters {
    /// Datagrams handed to the callback.
    pub rx_datagrams: u64,
    /// Frames or datagrams dropped as malformed or truncated.
    pub rx_dropped: u64,
    /// Datagrams queued for transmission.
    pub tx_datagrams: u64,
    /// Sends refused because no transmit buffer was free.
    pub tx_no_buffer: u64,
    /// Datagrams the kernel refused to send.
    pub tx_errors: u64,
    /// Transmit kicks (AF_XDP `sendto`, or `sendmmsg` calls).
    pub tx_kicks: u64,
    /// Fill-ring wake-ups (AF_XDP).
    pub rx_wakeups: u64,
}

/// A packet I/O backend. Used from one thread; see the module docs for the contract.
pub trait PacketIo {
    /// Which backend this is.
    fn kind(&self) -> BackendKind;

    /// The local IPv4 address of the interface.
    fn local_ip(&self) -> Ipv4Addr;

    /// Registers a destination for [`send`](Self::send): datagrams go from
    /// `local_ip():src_port` to `dst`. Start-up only: may resolve a neighbour (ARP).
    ///
    /// # Errors
    /// [`IoError`] if the next hop cannot be resolved or a socket cannot be bound.
    fn add_destination(&mut self, src_port: u16, dst: SocketAddrV4) -> Result<DestId, IoError>;

    /// Receives at most one batch without blocking and hands every datagram to `on_rx`.
    /// Returns how many were handed over.
    ///
    /// # Errors
    /// [`IoError::Os`] if a system call fails (not for an empty queue).
    fn poll<F>(&mut self, on_rx: F) -> Result<usize, IoError>
    where
        F: FnMut(&RxDatagram<'_>) -> RxAction;

    /// Builds one datagram to `dest` in place: `write` gets the payload buffer and returns
    /// the payload length — 0 abandons the datagram (nothing is sent, the buffer is
    /// recycled). Queued until [`flush`](Self::flush). Returns `false` when nothing was
    /// queued: abandoned, or (counted) no transmit buffer free.
    ///
    /// # Errors
    /// [`IoError`] if the queue is full and flushing it fails.
    fn send<F>(&mut self, dest: DestId, write: F) -> Result<bool, IoError>
    where
        F: FnOnce(&mut [u8]) -> usize;

    /// Hands queued datagrams to the kernel/NIC (one kick per batch) and reclaims buffers
    /// whose transmission completed.
    ///
    /// # Errors
    /// [`IoError::Os`] if the kick fails.
    fn flush(&mut self) -> Result<(), IoError>;

    /// Counters so far.
    fn counters(&self) -> IoCounters;
}

/// An opened backend of either kind.
#[derive(Debug)]
pub enum Io {
    /// AF_XDP.
    AfXdp(Box<afxdp::AfXdpIo>),
    /// Kernel sockets.
    Socket(Box<socket::SocketIo>),
}

impl Io {
    /// Opens the configured backend. With [`BackendChoice::Auto`], AF_XDP is tried first and
    /// the reason for falling back is logged.
    ///
    /// # Errors
    /// [`IoError`] if the chosen backend (or, for `Auto`, both) cannot be set up.
    pub fn open(config: &IoConfig) -> Result<Self, IoError> {
        let io = match config.backend {
            BackendChoice::Afxdp => Self::AfXdp(Box::new(afxdp::AfXdpIo::open(config)?)),
            BackendChoice::Socket => Self::Socket(Box::new(socket::SocketIo::open(config)?)),
            BackendChoice::Auto => match afxdp::AfXdpIo::open(config) {
                Ok(io) => Self::AfXdp(Box::new(io)),
                Err(error) => {
                    tracing::warn!(
                        iface = %config.iface, %error,
                        "AF_XDP unavailable; falling back to the kernel-socket backend"
                    );
                    Self::Socket(Box::new(socket::SocketIo::open(config)?))
                }
            },
        };
        tracing::info!(
            iface = %config.iface,
            backend = io.kind().name(),
            requested = ?config.backend,
            "packet I/O backend selected"
        );
        Ok(io)
    }

    /// Which backend this is.
    #[must_use]
    pub fn kind(&self) -> BackendKind {
        match self {
            Self::AfXdp(_) => BackendKind::AfXdp,
            Self::Socket(_) => BackendKind::Socket,
        }
    }
}
