//! Binance JSON decoder: never panics on any bytes, and the fast scanner always agrees with
//! the simd-json tape path (result or error). The decoders live across inputs, as in
//! production, so stale state from a previous message would show up as a disagreement.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use tickwire_protocol::binance::{BinanceDecoder, Event};

/// Small enough to reach `TooManyLevels` from short inputs.
const LEVELS_PER_SIDE: usize = 64;

thread_local! {
    static DECODERS: RefCell<(BinanceDecoder, BinanceDecoder)> = RefCell::new((
        BinanceDecoder::new(LEVELS_PER_SIDE),
        BinanceDecoder::new(LEVELS_PER_SIDE),
    ));
}

fuzz_target!(|data: &[u8]| {
    DECODERS.with(|decoders| {
        let (fast, reference) = &mut *decoders.borrow_mut();
        // simd-json parses in place: each path gets its own mutable copy.
        let mut fast_bytes = data.to_vec();
        let mut reference_bytes = data.to_vec();
        let fast_result = fast.decode_message(&mut fast_bytes);
        let reference_result = reference.decode_with_tape(&mut reference_bytes);
        assert_eq!(fast_result, reference_result);
        if let Ok(message) = fast_result {
            match message.event {
                Event::DepthUpdate(update) => {
                    assert!(update.bids.len() <= LEVELS_PER_SIDE);
                    assert!(update.asks.len() <= LEVELS_PER_SIDE);
                }
                Event::DepthSnapshot(snapshot) => {
                    assert!(snapshot.bids.len() <= LEVELS_PER_SIDE);
                    assert!(snapshot.asks.len() <= LEVELS_PER_SIDE);
                }
                Event::BookTicker(_) | Event::Trade(_) | Event::Other { .. } => {}
            }
        }
    });
});
