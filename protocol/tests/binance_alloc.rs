//! Proves the Binance decoder's allocation contract: after construction, decoding every
//! message of the real samples allocates nothing, on the first pass and every later one.

mod support;

use tickwire_protocol::binance::{BinanceDecoder, Event};

#[global_allocator]
static ALLOCATOR: support::CountingAllocator = support::CountingAllocator;

/// JSON part of every line, and the longest.
fn messages(relative: &str) -> (Vec<Vec<u8>>, usize) {
    let bytes = support::read_sample(relative);
    let messages: Vec<Vec<u8>> = bytes
        .split(|&byte| byte == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            let space = line
                .iter()
                .position(|&byte| byte == b' ')
                .expect("separator");
            line[space + 1..].to_vec()
        })
        .collect();
    let longest = messages.iter().map(Vec::len).max().unwrap_or(0);
    (messages, longest)
}

/// Decodes every message (copied into `scratch`), returns (events, levels) seen.
fn decode_all(
    decoder: &mut BinanceDecoder,
    messages: &[Vec<u8>],
    scratch: &mut [u8],
    reference_path: bool,
) -> (usize, usize) {
    let mut events = 0;
    let mut levels = 0;
    for message in messages {
        let buffer = &mut scratch[..message.len()];
        buffer.copy_from_slice(message);
        let decoded = if reference_path {
            decoder
                .decode_with_tape(buffer)
                .map(|message| message.event)
        } else {
            decoder.decode(buffer)
        };
        match decoded {
            Ok(Event::DepthUpdate(update)) => levels += update.bids.len() + update.asks.len(),
            Ok(Event::DepthSnapshot(snapshot)) => {
                levels += snapshot.bids.len() + snapshot.asks.len();
            }
            Ok(_) => {}
            Err(error) => panic!("{error}"),
        }
        events += 1;
    }
    (events, levels)
}

fn assert_no_allocation(relative: &str, reference_path: bool) {
    let (messages, longest) = messages(relative);
    let mut scratch = vec![0u8; longest];
    let before = support::allocations();
    let mut decoder = BinanceDecoder::default();
    assert!(
        support::allocations() > before,
        "the counter sees construction"
    );

    // Construction allocates (and primes) everything; the first pass already allocates nothing.
    for pass in 1..=2 {
        let before = support::allocations();
        let (events, levels) = decode_all(&mut decoder, &messages, &mut scratch, reference_path);
        let allocations = support::allocations() - before;
        assert_eq!(events, messages.len());
        assert!(levels > 100_000);
        assert_eq!(
            allocations, 0,
            "{relative}, pass {pass}, reference path {reference_path}: {allocations} allocations"
        );
    }
}

#[test]
fn decoding_btcusdt_allocates_nothing_after_construction() {
    assert_no_allocation("binance/btcusdt_20240808.gz", false);
}

#[test]
fn decoding_ethusdt_allocates_nothing_after_construction() {
    assert_no_allocation("binance/ethusdt_20240808.gz", false);
}

#[test]
fn tape_path_allocates_nothing_after_construction() {
    assert_no_allocation("binance/btcusdt_20240808.gz", true);
}

#[test]
fn error_paths_allocate_nothing() {
    let mut decoder = BinanceDecoder::new(4);
    let inputs: [&[u8]; 8] = [
        b"",
        b"{",
        br#"{"u":1.5}"#,
        br#"{"e":"depthUpdate","E":1,"s":"X","U":1,"b":[],"a":[]}"#,
        br#"{"lastUpdateId":1,"bids":[["1","1"],["2","2"],["3","3"],["4","4"],["5","5"]],"asks":[]}"#,
        br#"{"u":1,"s":"X","b":"abc","B":"1","a":"1","A":"1"}"#,
        br#"{"s":"\x"}"#,
        br#"[1,2,3]"#,
    ];
    let mut scratch = [0u8; 256];
    // Warm up once, then count.
    for round in 0..2 {
        let before = support::allocations();
        for input in inputs {
            let buffer = &mut scratch[..input.len()];
            buffer.copy_from_slice(input);
            assert!(decoder.decode(buffer).is_err());
        }
        if round == 1 {
            assert_eq!(support::allocations() - before, 0);
        }
    }
}
