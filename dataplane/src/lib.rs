//! `tickwire-dataplane`: the privileged, busy-polling half of tickwire.
//!
//! | stage | module |
//! |---|---|
//! | XDP steering program (load, attach, counters) | [`xdp`] |
//! | order books (L3 for ITCH, L2 for Binance) | [`book`] |
//! | strategy API and built-in strategies | [`strategy`] |
//! | Ethernet/IPv4/UDP parsing, header templates, checksums | [`net`] |
//! | packet I/O: AF_XDP and kernel-socket backends | [`io`] |
//! | core pinning, stop signal | [`runtime`] |
//! | systemd readiness and watchdog (`sd_notify`) | [`sdnotify`] |
//! | UDP reflector (the latency floor) and its ping client | [`reflect`], [`ping`] |
//! | test topology (network namespaces over a veth pair) | [`netns`] |
#![deny(unsafe_op_in_unsafe_fn)]

pub mod audit;
pub mod book;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod engine;
pub mod feed;
pub mod io;
pub mod net;
pub mod netns;
pub mod orders;
pub mod ping;
pub mod reflect;
pub mod risk;
pub mod runtime;
pub mod sdnotify;
pub mod session;
pub mod sim;
pub mod stats;
pub mod strategy;
pub mod tools;
pub mod xdp;
