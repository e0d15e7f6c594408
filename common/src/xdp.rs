//! ABI between the XDP steering program (`tickwire-ebpf`) and user space.
//!
//! The program looks up `(destination IPv4 address, UDP destination port)` of every
//! option-less, unfragmented IPv4/UDP frame in [`MAP_STEER`]: first the exact address, then
//! the wildcard address `0.0.0.0` for that port. A hit is redirected to the AF_XDP socket
//! registered in [`MAP_XSKS`] at the frame's rx queue; everything else is `XDP_PASS`.
//! Per-CPU counters in [`MAP_COUNTERS`] are indexed by [`XdpCounter`].

/// Name of the XDP program in the object file.
pub const PROGRAM_NAME: &str = "tickwire_xdp";
/// Hash map [`SteerKey`] -> [`SteerValue`] written by user space.
pub const MAP_STEER: &str = "TW_STEER";
/// XSKMAP rx queue index -> AF_XDP socket.
pub const MAP_XSKS: &str = "TW_XSKS";
/// Per-CPU `u64` array indexed by [`XdpCounter`].
pub const MAP_COUNTERS: &str = "TW_COUNTERS";

/// Capacity of [`MAP_STEER`] (unicast destinations plus multicast groups).
pub const STEER_MAX_ENTRIES: u32 = 256;
/// Capacity of [`MAP_XSKS`] (rx queues).
pub const XSKS_MAX_ENTRIES: u32 = 64;

/// Key of [`MAP_STEER`]: destination address and port exactly as they appear on the wire,
/// so the program copies bytes without byte-order conversions.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SteerKey {
    /// IPv4 destination address octets; `[0; 4]` matches any destination address.
    pub addr: [u8; 4],
    /// UDP destination port, big-endian.
    pub port_be: [u8; 2],
    /// Explicit padding, always zero (hash keys compare all bytes).
    pub pad: [u8; 2],
}

impl SteerKey {
    /// Key for `addr:port`.
    #[must_use]
    pub const fn new(addr: core::net::Ipv4Addr, port: u16) -> Self {
        Self {
            addr: addr.octets(),
            port_be: port.to_be_bytes(),
            pad: [0; 2],
        }
    }

    /// Key for `port` on any destination address.
    #[must_use]
    pub const fn any_addr(port: u16) -> Self {
        Self::new(core::net::Ipv4Addr::UNSPECIFIED, port)
    }
}

/// Value of [`MAP_STEER`]: an identifier user space chose for the destination (a feed or
/// session index), kept for diagnostics; the program only tests for presence.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SteerValue {
    /// User-chosen destination identifier.
    pub id: u32,
}

const _: () = assert!(size_of::<SteerKey>() == 8);
const _: () = assert!(size_of::<SteerValue>() == 4);

/// Indexes of the per-CPU counters in [`MAP_COUNTERS`].
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XdpCounter {
    /// Every frame the program ran on.
    Seen = 0,
    /// Frames redirected to an AF_XDP socket.
    Steered = 1,
    /// Frames handed to the kernel stack (not ours, IPv4 options, fragments, non-IPv4).
    Passed = 2,
    /// Frames shorter than the headers they announce (counted and passed to the kernel).
    Malformed = 3,
    /// Steered frames with no socket at their rx queue (counted and passed to the kernel).
    RedirectFailed = 4,
}

impl XdpCounter {
    /// Number of counters (length of [`MAP_COUNTERS`]).
    pub const COUNT: u32 = 5;
    /// All counters in index order.
    pub const ALL: [Self; Self::COUNT as usize] = [
        Self::Seen,
        Self::Steered,
        Self::Passed,
        Self::Malformed,
        Self::RedirectFailed,
    ];

    /// Metric-style name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Seen => "seen",
            Self::Steered => "steered",
            Self::Passed => "passed",
            Self::Malformed => "malformed",
            Self::RedirectFailed => "redirect_failed",
        }
    }
}

// SAFETY: `#[repr(C)]`, only byte arrays, no padding bytes left implicit, every bit pattern valid.
#[cfg(feature = "user")]
unsafe impl aya::Pod for SteerKey {}
// SAFETY: `#[repr(C)]` around a single `u32`; every bit pattern valid.
#[cfg(feature = "user")]
unsafe impl aya::Pod for SteerValue {}
