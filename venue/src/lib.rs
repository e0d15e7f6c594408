//! `tickwire-venue`: an exchange simulator for developing and testing strategies against
//! tickwire, and for its end-to-end tests, demos and wire-to-wire latency measurements.
//!
//! | module | what |
//! |---|---|
//! | [`book`] | matching engine: price-time priority books, effects |
//! | [`feed`] | ITCH 5.0 over MoldUDP64: packets, heartbeats, faults, retransmission answers |
//! | [`store`] | sequenced message store (feed retransmission, participant replay) |
//! | [`session`] | order entry sessions: UFO and SoupBinTCP server side |
//! | [`flow`] | background flow: ITCH file replay, synthetic random walk, pacing |
//! | [`latency`] | wire-to-wire latency capture (trigger sequence in the order token) |
//! | [`engine`] | the engine thread tying them together; admin commands |
//! | [`net`] | socket reader threads |
//! | [`binance`] | Binance JSON replay and REST snapshot server |
//! | [`clock`], [`rng`] | monotonic/wall clocks; deterministic random numbers |
//!
//! The binary (`src/main.rs`) parses the command line, binds the sockets, starts the
//! threads and runs the engine; `venue/README.md` documents the contracts.
#![deny(unsafe_code)]

pub mod binance;
pub mod book;
pub mod clock;
pub mod engine;
pub mod feed;
pub mod flow;
pub mod latency;
pub mod net;
pub mod rng;
pub mod session;
pub mod store;
