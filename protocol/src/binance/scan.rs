//! The fast path: one pass over the bytes, parsing levels straight into the decoder's arrays.
//!
//! It accepts a strict subset of JSON and returns `None` ("not mine, ask the tape path")
//! for anything else and for every error, so it never has to explain a failure:
//! - strings without escapes whose bytes are printable ASCII (`0x20..=0x7f`, no `\`);
//! - numbers that are unsigned integers without leading zeros that fit `u64` (no sign,
//!   fraction or exponent); `true`, `false`, `null`;
//! - containers nested at most [`MAX_SKIP_DEPTH`] deep inside an event object;
//! - each key this module reads at most once per object, and each level side filled by
//!   at most one array in the whole message;
//! - levels exactly `["<decimal>","<decimal>"]` with valid non-negative decimals, no more
//!   than the arrays hold.
//!
//! Every input it accepts is therefore valid JSON that simd-json reads to the same values,
//! so the shared builder ([`super::build`]) sees the same fields either way.

use tickwire_common::{Price, Qty};

use super::{
    Decoded, FieldSource, FieldValue, KEY_COUNT, Key, Level, MessageKind, Side, build,
    canonical_decimal, parse_level,
};
use crate::binance::BinanceError;

/// Nesting allowed inside a skipped value.
const MAX_SKIP_DEPTH: u32 = 16;

/// Decodes `json` if it is in the accepted subset and valid; `None` otherwise.
#[inline]
pub(super) fn decode(json: &[u8], bids: &mut [Level], asks: &mut [Level]) -> Option<Decoded> {
    let mut scanner = Scanner {
        bytes: json,
        at: 0,
        bids,
        asks,
        bids_from: None,
        asks_from: None,
    };
    let mut root = ScanFields::new();
    let mut data = ScanFields::new();
    scanner.skip_whitespace();
    scanner.object(&mut root, Some(&mut data))?;
    scanner.skip_whitespace();
    if scanner.at != json.len() {
        return None;
    }
    let Scanner {
        bids,
        asks,
        bids_from,
        asks_from,
        ..
    } = scanner;
    for fields in [&mut root, &mut data] {
        fields.bids_from = bids_from;
        fields.asks_from = asks_from;
    }
    let has_data = root.get(Key::Data) == FieldValue::Object;
    build(&root, has_data.then_some(&data), bids, asks).ok()
}

/// The keys of one object as scanned. Levels are already in the arrays; `*_from` says which
/// key (and how many levels) filled each side, for the whole message.
struct ScanFields<'j> {
    values: [FieldValue<'j>; KEY_COUNT],
    bids_from: Option<(Key, usize)>,
    asks_from: Option<(Key, usize)>,
}

impl<'j> ScanFields<'j> {
    fn new() -> Self {
        Self {
            values: [FieldValue::Absent; KEY_COUNT],
            bids_from: None,
            asks_from: None,
        }
    }
}

impl<'j> FieldSource<'j> for ScanFields<'j> {
    #[inline]
    fn get(&self, key: Key) -> FieldValue<'j> {
        self.values
            .get(key.index())
            .copied()
            .unwrap_or(FieldValue::Absent)
    }

    fn duplicate(&self) -> Option<Key> {
        // The scanner gives up on duplicates.
        None
    }

    /// The levels were parsed into the same array the builder passes (both follow
    /// [`Key::side`]); this only reports how many, if `key` is what filled that side.
    fn levels(
        &self,
        message: MessageKind,
        key: Key,
        _out: &mut [Level],
    ) -> Result<usize, BinanceError> {
        let filled = match key.side() {
            Some(Side::Bid) => self.bids_from,
            Some(Side::Ask) => self.asks_from,
            None => None,
        };
        match filled {
            Some((from, len)) if from == key => Ok(len),
            // Any error makes the caller fall back to the tape path, which reports the real
            // one; this value is never seen.
            _ => Err(BinanceError::MissingField {
                message,
                field: key.name(),
            }),
        }
    }
}

struct Scanner<'j, 'l> {
    bytes: &'j [u8],
    at: usize,
    bids: &'l mut [Level],
    asks: &'l mut [Level],
    bids_from: Option<(Key, usize)>,
    asks_from: Option<(Key, usize)>,
}

impl<'j> Scanner<'j, '_> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    #[inline]
    fn bump(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    #[inline]
    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.bump()? == byte).then_some(())
    }

    #[inline]
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.at += 1;
        }
    }

    /// A string's contents, after its opening quote; consumes the closing quote.
    #[inline]
    fn string_body(&mut self) -> Option<&'j [u8]> {
        let rest = self.bytes.get(self.at..)?;
        let end = plain_string_len(rest)?;
        self.at += end + 1;
        rest.get(..end)
    }

    /// A whole string value.
    #[inline]
    fn string(&mut self) -> Option<&'j [u8]> {
        self.expect(b'"')?;
        self.string_body()
    }

    /// An unsigned integer: `0` or a non-zero digit then digits, fitting `u64`.
    #[inline]
    fn unsigned(&mut self) -> Option<u64> {
        let first = self.bump()?;
        let mut value = u64::from(first.checked_sub(b'0').filter(|digit| *digit <= 9)?);
        if value == 0 {
            // A leading zero ends the number; a digit after it fails in the caller.
            return Some(0);
        }
        while let Some(digit @ b'0'..=b'9') = self.peek() {
            value = value
                .checked_mul(10)?
                .checked_add(u64::from(digit - b'0'))?;
            self.at += 1;
        }
        Some(value)
    }

    #[inline]
    fn literal(&mut self, text: &[u8]) -> Option<()> {
        let end = self.at.checked_add(text.len())?;
        (self.bytes.get(self.at..end)? == text).then_some(())?;
        self.at = end;
        Some(())
    }

    /// Reads a scalar, or skips a container, and returns what the builder needs of it.
    fn value(&mut self) -> Option<FieldValue<'j>> {
        Some(match self.peek()? {
            b'"' => FieldValue::String(self.string()?),
            b'0'..=b'9' => FieldValue::Unsigned(self.unsigned()?),
            b't' => {
                self.literal(b"true")?;
                FieldValue::Bool(true)
            }
            b'f' => {
                self.literal(b"false")?;
                FieldValue::Bool(false)
            }
            b'n' => {
                self.literal(b"null")?;
                FieldValue::Null
            }
            b'[' => {
                self.skip(0)?;
                FieldValue::Array
            }
            b'{' => {
                self.skip(0)?;
                FieldValue::Object
            }
            _ => return None,
        })
    }

    /// Skips any value in the subset, `depth` containers deep.
    fn skip(&mut self, depth: u32) -> Option<()> {
        let close = match self.peek()? {
            b'[' => b']',
            b'{' => b'}',
            _ => return self.value().map(|_| ()),
        };
        if depth >= MAX_SKIP_DEPTH {
            return None;
        }
        self.at += 1;
        self.skip_whitespace();
        if self.peek()? == close {
            self.at += 1;
            return Some(());
        }
        // Bounded by the input length: every iteration consumes at least one byte.
        loop {
            if close == b'}' {
                self.string()?;
                self.skip_whitespace();
                self.expect(b':')?;
                self.skip_whitespace();
            }
            self.skip(depth + 1)?;
            self.skip_whitespace();
            match self.bump()? {
                b',' => self.skip_whitespace(),
                byte if byte == close => return Some(()),
                _ => return None,
            }
        }
    }

    /// An object at the cursor. At the top level `data` receives the fields of a `data`
    /// object value (the combined-stream wrapper's event).
    fn object(
        &mut self,
        fields: &mut ScanFields<'j>,
        mut data: Option<&mut ScanFields<'j>>,
    ) -> Option<()> {
        self.expect(b'{')?;
        self.skip_whitespace();
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(());
        }
        // Bounded by the input length: every iteration consumes at least one byte.
        loop {
            let name = self.string()?;
            self.skip_whitespace();
            self.expect(b':')?;
            self.skip_whitespace();
            if let Some(key) = Key::from_bytes(name) {
                let slot = fields.values.get_mut(key.index())?;
                if *slot != FieldValue::Absent {
                    return None;
                }
                *slot = match (key, self.peek()?) {
                    (Key::Data, b'{') if data.is_some() => {
                        self.object(data.take()?, None)?;
                        FieldValue::Object
                    }
                    (Key::Bid | Key::SnapshotBids, b'[') if self.bids_from.is_none() => {
                        let len = levels(self, Side::Bid)?;
                        self.bids_from = Some((key, len));
                        FieldValue::Array
                    }
                    (Key::Ask | Key::SnapshotAsks, b'[') if self.asks_from.is_none() => {
                        let len = levels(self, Side::Ask)?;
                        self.asks_from = Some((key, len));
                        FieldValue::Array
                    }
                    (Key::Bid | Key::SnapshotBids | Key::Ask | Key::SnapshotAsks, b'[') => {
                        return None;
                    }
                    _ => self.value()?,
                };
            } else {
                self.skip(0)?;
            }
            self.skip_whitespace();
            match self.bump()? {
                b',' => self.skip_whitespace(),
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }
}

/// Length of the string contents at the start of `rest` if it ends with `"` and holds only
/// printable ASCII without `\`; `None` otherwise (escapes, control characters, non-ASCII or
/// no closing quote are left to the tape path). Looks at 8 bytes per step.
#[inline]
fn plain_string_len(rest: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut chunks = rest.chunks_exact(8);
    let mut offset = 0;
    // Bounded by the input length.
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().ok()?);
        // High bit of a byte set where it is `"`, `\`, below 0x20 or at least 0x80. Borrows
        // can mark bytes after the first hit, never before it, so the lowest mark is exact.
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        let special = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (word.wrapping_sub(ONES * 0x20) & !word)
            | word;
        let marks = special & HIGHS;
        if marks != 0 {
            let end = offset + (marks.trailing_zeros() / 8) as usize;
            return (rest.get(end) == Some(&b'"')).then_some(end);
        }
        offset += 8;
    }
    let tail = chunks.remainder();
    let end = tail
        .iter()
        .position(|&byte| byte == b'"' || byte == b'\\' || !(0x20..0x80).contains(&byte))?;
    let end = offset + end;
    (rest.get(end) == Some(&b'"')).then_some(end)
}

/// A level array at the cursor, parsed into the `side` array; its length.
#[inline]
fn levels(scanner: &mut Scanner<'_, '_>, side: Side) -> Option<usize> {
    scanner.expect(b'[')?;
    scanner.skip_whitespace();
    if scanner.peek()? == b']' {
        scanner.at += 1;
        return Some(0);
    }
    let mut len = 0;
    // Bounded by the array's capacity: one level per iteration.
    loop {
        let level = match compact_level(scanner.bytes, scanner.at) {
            Some((level, end)) => {
                scanner.at = end;
                level
            }
            None => spaced_level(scanner)?,
        };
        let out = match side {
            Side::Bid => &mut *scanner.bids,
            Side::Ask => &mut *scanner.asks,
        };
        *out.get_mut(len)? = level;
        len += 1;
        scanner.skip_whitespace();
        match scanner.bump()? {
            b',' => scanner.skip_whitespace(),
            b']' => return Some(len),
            _ => return None,
        }
    }
}

/// The level at `at` if it is in Binance's own form, `["61837.63000000","3.78826000"]`
/// (no whitespace, canonical decimals), and the index after it. Decimals are parsed as
/// they are scanned, with no separate search for the closing quote.
#[inline]
fn compact_level(bytes: &[u8], at: usize) -> Option<(Level, usize)> {
    if bytes.get(at..at + 2)? != b"[\"" {
        return None;
    }
    let (price, end) = canonical_decimal(bytes, at + 2)?;
    if bytes.get(end..end + 3)? != b"\",\"" {
        return None;
    }
    let (qty, end) = canonical_decimal(bytes, end + 3)?;
    if bytes.get(end..end + 2)? != b"\"]" {
        return None;
    }
    let level = Level {
        price: Price::from_raw(price),
        qty: Qty::from_raw(qty),
    };
    Some((level, end + 2))
}

/// Any other level: whitespace allowed, decimals through [`parse_level`].
fn spaced_level(scanner: &mut Scanner<'_, '_>) -> Option<Level> {
    scanner.expect(b'[')?;
    scanner.skip_whitespace();
    let price = scanner.string()?;
    scanner.skip_whitespace();
    scanner.expect(b',')?;
    scanner.skip_whitespace();
    let qty = scanner.string()?;
    scanner.skip_whitespace();
    scanner.expect(b']')?;
    parse_level(price, qty).ok()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn naive_string_len(rest: &[u8]) -> Option<usize> {
        let end = rest
            .iter()
            .position(|&byte| byte == b'"' || byte == b'\\' || !(0x20..0x80).contains(&byte))?;
        (rest[end] == b'"').then_some(end)
    }

    proptest! {
        #[test]
        fn plain_string_len_matches_a_byte_loop(
            rest in proptest::collection::vec(
                prop_oneof![
                    8 => 0x20u8..0x7f,
                    1 => Just(b'"'),
                    1 => Just(b'\\'),
                    1 => any::<u8>(),
                ],
                0..40,
            )
        ) {
            prop_assert_eq!(plain_string_len(&rest), naive_string_len(&rest));
        }
    }

    #[test]
    fn plain_string_len_examples() {
        assert_eq!(plain_string_len(b"\""), Some(0));
        assert_eq!(plain_string_len(b"61837.63000000\",\"3.7"), Some(14));
        assert_eq!(plain_string_len(b"abcdefgh\""), Some(8));
        assert_eq!(plain_string_len(b"abcdefghijklmnop"), None);
        assert_eq!(plain_string_len(b"abc\\\"def\""), None);
        assert_eq!(plain_string_len(b"abcdefg\x01\""), None);
        assert_eq!(plain_string_len("caf\u{e9}\"".as_bytes()), None);
        assert_eq!(plain_string_len(b"\x7f\""), Some(1));
    }
}
