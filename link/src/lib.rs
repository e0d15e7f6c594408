//! `tickwire-link`: what the data plane and the control plane exchange, and how.
//!
//! - [`abi`]: the `#[repr(C)]`, size-asserted records (audit records, limits snapshots,
//!   commands, statistics).
//! - [`transport`] (feature `transport`, on by default): the iceoryx2 services,
//!   [`transport::DataPlaneLink`] for the data plane's link thread (never its hot loop: the
//!   engine writes into its own preallocated ring and the link thread publishes) and
//!   [`transport::ControlPlaneLink`] for the control plane, with retained-ring replay.
//! - [`fake`]: the scripted data plane used by tests and the `tickwire-link-fake` binary.
#![deny(unsafe_op_in_unsafe_fn)]

pub mod abi;
#[cfg(feature = "transport")]
pub mod fake;
#[cfg(feature = "transport")]
pub mod transport;
