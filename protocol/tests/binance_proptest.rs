//! Property tests: random mutations of real Binance lines never panic, and the fast path
//! always returns exactly what the simd-json tape path returns.

mod support;

use std::sync::OnceLock;

use proptest::prelude::*;
use tickwire_protocol::binance::{BinanceDecoder, BinanceError, Message};

/// A few hundred real messages of every kind (the snapshot included), JSON part only.
fn corpus() -> &'static [Vec<u8>] {
    static CORPUS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let bytes = support::read_sample("binance/btcusdt_20240808.gz");
        bytes
            .split(|&byte| byte == b'\n')
            .filter(|line| !line.is_empty())
            .take(400)
            .map(|line| {
                let space = line
                    .iter()
                    .position(|&byte| byte == b' ')
                    .expect("separator");
                line[space + 1..].to_vec()
            })
            .collect()
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    /// Overwrite the byte at the position.
    Replace(prop::sample::Index, u8),
    /// Insert a byte before the position.
    Insert(prop::sample::Index, u8),
    /// Remove up to 8 bytes at the position.
    Delete(prop::sample::Index, usize),
    /// Cut the message at the position.
    Truncate(prop::sample::Index),
    /// Copy up to 32 bytes from one position to another.
    Splice(prop::sample::Index, prop::sample::Index, usize),
}

/// Bytes that change JSON structure or number/decimal meaning, plus anything at all.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => prop::sample::select(b"{}[]\":,\\-.0123456789eE+ \t\ntfnu\x00\x7f".to_vec()),
        1 => any::<u8>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<prop::sample::Index>(), interesting_byte())
            .prop_map(|(at, byte)| Mutation::Replace(at, byte)),
        3 => (any::<prop::sample::Index>(), interesting_byte())
            .prop_map(|(at, byte)| Mutation::Insert(at, byte)),
        2 => (any::<prop::sample::Index>(), 1usize..8)
            .prop_map(|(at, len)| Mutation::Delete(at, len)),
        1 => any::<prop::sample::Index>().prop_map(Mutation::Truncate),
        1 => (any::<prop::sample::Index>(), any::<prop::sample::Index>(), 1usize..32)
            .prop_map(|(from, to, len)| Mutation::Splice(from, to, len)),
    ]
}

fn apply(json: &mut Vec<u8>, mutation: &Mutation) {
    if json.is_empty() {
        return;
    }
    match *mutation {
        Mutation::Replace(ref at, byte) => {
            let at = at.index(json.len());
            json[at] = byte;
        }
        Mutation::Insert(ref at, byte) => {
            let at = at.index(json.len() + 1);
            json.insert(at, byte);
        }
        Mutation::Delete(ref at, len) => {
            let at = at.index(json.len());
            let end = (at + len).min(json.len());
            json.drain(at..end);
        }
        Mutation::Truncate(ref at) => {
            let at = at.index(json.len());
            json.truncate(at);
        }
        Mutation::Splice(ref from, ref to, len) => {
            let from = from.index(json.len());
            let end = (from + len).min(json.len());
            let piece = json[from..end].to_vec();
            let to = to.index(json.len() + 1);
            json.splice(to..to, piece);
        }
    }
}

/// Decodes `json` with both paths (each on its own copy and decoder) and checks they agree.
fn both_paths(
    fast: &mut BinanceDecoder,
    reference: &mut BinanceDecoder,
    json: &[u8],
) -> Result<String, BinanceError> {
    let mut fast_bytes = json.to_vec();
    let fast_result: Result<Message<'_>, BinanceError> = fast.decode_message(&mut fast_bytes);
    let mut reference_bytes = json.to_vec();
    let reference_result = reference.decode_with_tape(&mut reference_bytes);
    assert_eq!(
        fast_result,
        reference_result,
        "paths differ on {:?}",
        String::from_utf8_lossy(json)
    );
    fast_result.map(|message| format!("{message:?}"))
}

/// Inserts JSON whitespace around every structural character outside strings (the sample
/// has no escapes, so quotes toggle string state).
fn spread_out(json: &[u8], whitespace: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len() * 3);
    let mut in_string = false;
    for (index, &byte) in json.iter().enumerate() {
        let structural = !in_string && b"{}[]:,".contains(&byte);
        let space = whitespace[index % whitespace.len()];
        if structural {
            out.push(space);
        }
        out.push(byte);
        if structural {
            out.push(space);
        }
        if byte == b'"' {
            in_string = !in_string;
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn mutated_real_lines_never_panic_and_both_paths_agree(
        line in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let corpus = corpus();
        let mut json = corpus[line.index(corpus.len())].clone();
        for mutation in &mutations {
            apply(&mut json, mutation);
        }
        let mut fast = BinanceDecoder::new(1000);
        let mut reference = BinanceDecoder::new(1000);
        let _ = both_paths(&mut fast, &mut reference, &json);
    }

    #[test]
    fn whitespace_between_tokens_changes_nothing(
        line in any::<prop::sample::Index>(),
        whitespace in prop::collection::vec(prop::sample::select(b" \t\r\n".to_vec()), 1..4),
    ) {
        let corpus = corpus();
        let json = &corpus[line.index(corpus.len())];
        let mut fast = BinanceDecoder::new(1000);
        let mut reference = BinanceDecoder::new(1000);
        let compact = both_paths(&mut fast, &mut reference, json);
        prop_assert!(compact.is_ok());
        let spread = spread_out(json, &whitespace);
        prop_assert_eq!(both_paths(&mut fast, &mut reference, &spread), compact);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(interesting_byte(), 0..200)) {
        let mut fast = BinanceDecoder::new(8);
        let mut reference = BinanceDecoder::new(8);
        let _ = both_paths(&mut fast, &mut reference, &bytes);
    }
}
