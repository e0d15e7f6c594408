//! `tickwire-common`: the `#![no_std]` vocabulary every other tickwire crate shares.
//!
//! - [`fixed`]: fixed-point [`Price`], [`Qty`] and [`Notional`] (8 decimal places, `i64` raw
//!   value). Books, risk checks and encoders use these and never `f64`.
//! - [`xdp`]: the ABI between the eBPF steering program and user space (map key/value
//!   layouts, map and program names, counter indexes). Every type that crosses the
//!   kernel/user boundary is `#[repr(C)]`, `Copy`, padded explicitly and size-asserted.
//!
//! Nothing here allocates; the crate builds for `bpfel-unknown-none` as well as for the host.
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod fixed;
pub mod xdp;

pub use fixed::{FIXED_DECIMALS, FIXED_SCALE, FixedError, Notional, Price, Qty};
