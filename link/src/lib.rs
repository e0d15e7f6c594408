//! `tickwire-link`: what the data plane and the control plane exchange, and how.
//!
//! - [`abi`]: the `#[repr(C)]`, size-asserted records (audit records, limits snapshots,
//!   commands, statistics).
//! - the iceoryx2 transport (services, retained-ring replay) is added by the control-plane
//!   work; the engine never calls it from its loop: it writes into its own preallocated ring
//!   and a link thread off the hot core publishes.
#![deny(unsafe_op_in_unsafe_fn)]

pub mod abi;
