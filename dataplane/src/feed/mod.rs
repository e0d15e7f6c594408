//! Market-data feed handling: sequencing and gap recovery per transport.
//!
//! - [`mold`]: MoldUDP64 sessions (ITCH): in-order application, bounded out-of-order
//!   buffering, retransmission requests, give-up with a stale report.
//! - [`binance`]: Binance JSON datagrams (whole, or fragmented in relay framing) into one L2
//!   book per symbol, with counted drops.

pub mod binance;
pub mod mold;
