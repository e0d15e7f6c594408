//! `tickwire-common`: the `#![no_std]` vocabulary every other tickwire crate shares.
//!
//! - [`fixed`]: fixed-point [`Price`], [`Qty`] and [`Notional`] (8 decimal places, `i64` raw
//!   value). Books, risk checks and encoders use these and never `f64`.
//! - [`token`]: tickwire's layout of the 14-character OUCH order token (the triggering feed
//!   sequence and a token number, both base 36), shared by the engine and the venue.
//! - [`xdp`]: the ABI between the eBPF steering program and user space (map key/value
//!   layouts, map and program names, counter indexes). Every type that crosses the
//!   kernel/user boundary is `#[repr(C)]`, `Copy`, padded explicitly and size-asserted.
//!
//! Nothing here allocates; the crate builds for `bpfel-unknown-none` as well as for the host.
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod fixed;
pub mod token;
pub mod xdp;

pub use fixed::{FIXED_DECIMALS, FIXED_SCALE, FixedError, Notional, Price, Qty};
