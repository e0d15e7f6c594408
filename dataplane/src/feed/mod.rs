//! Market-data feed handling: sequencing and gap recovery per transport.
//!
//! - [`mold`]: MoldUDP64 sessions (ITCH): in-order application, bounded out-of-order
//!   buffering, retransmission requests, give-up with a stale report.

pub mod mold;
