//! `tickwire-protocol`: pure wire codecs, no I/O.
//!
//! Decoders borrow from the input and never allocate per message (the Binance decoder reuses
//! buffers sized at construction); they never panic on wire bytes: every failure is an error
//! value naming the message type and offset, for the caller to count.
//!
//! | module | protocol |
//! |---|---|
//! | [`itch`] | NASDAQ TotalView-ITCH 5.0 messages and BinaryFILE framing |
//! | [`moldudp64`] | MoldUDP64 downstream packets and retransmission requests |
//! | [`binance`] | Binance spot JSON (depth updates, book ticker, trades, REST snapshot) |
//! | [`ouch`] | OUCH 4.2 order entry messages |
//! | [`soupbintcp`] | SoupBinTCP 3.0 session framing |
//! | [`ufo`] | UFO (UDP for Orders) session framing |
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::indexing_slicing)]

pub mod binance;
pub mod itch;
pub mod moldudp64;
pub mod ouch;
pub mod soupbintcp;
pub mod ufo;
