//! Order tokens: 14 uppercase alphanumeric characters, as OUCH requires.
//!
//! Layout (documented for venues and tools):
//!
//! | chars | content |
//! |---|---|
//! | 0..7 | the feed sequence number that triggered the order, base 36, modulo 36^7 (0 if none) |
//! | 7..14 | the token number, base 36: unique per order and per replace within a session |
//!
//! The venue simulator reads the first half to match an arriving order with the feed packet
//! that caused it (wire-to-wire latency); the engine maps the second half back to the order.
//! Encoding and decoding allocate nothing.

/// Characters per half.
const HALF: usize = 7;
/// 36^7: values per half.
pub const HALF_RANGE: u64 = 78_364_164_096;
const DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// An encoded token.
pub type TokenBytes = [u8; 14];

fn encode_half(mut value: u64, out: &mut [u8]) {
    for slot in out.iter_mut().rev() {
        // `value % 36` < 36 indexes DIGITS.
        *slot = DIGITS[(value % 36) as usize];
        value /= 36;
    }
}

fn decode_half(text: &[u8]) -> Option<u64> {
    text.iter().try_fold(0u64, |value, &byte| {
        let digit = match byte {
            b'0'..=b'9' => byte - b'0',
            b'A'..=b'Z' => byte - b'A' + 10,
            _ => return None,
        };
        Some(value * 36 + u64::from(digit))
    })
}

/// Encodes a token for `token_number` triggered by feed sequence `trigger_seq`.
#[inline]
#[must_use]
pub fn encode(trigger_seq: u64, token_number: u64) -> TokenBytes {
    let mut token = [b'0'; 14];
    encode_half(trigger_seq % HALF_RANGE, &mut token[..HALF]);
    encode_half(token_number % HALF_RANGE, &mut token[HALF..]);
    token
}

/// The token number of a token, if it is one of ours.
#[inline]
#[must_use]
pub fn token_number(token: &TokenBytes) -> Option<u64> {
    decode_half(&token[HALF..])
}

/// The triggering feed sequence (modulo 36^7) carried by a token, if it is one of ours.
#[inline]
#[must_use]
pub fn trigger_seq(token: &TokenBytes) -> Option<u64> {
    decode_half(&token[..HALF])
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn layout_is_fixed() {
        let token = encode(35, 36);
        assert_eq!(&token, b"000000Z0000010");
        assert_eq!(trigger_seq(&token), Some(35));
        assert_eq!(token_number(&token), Some(36));
        assert_eq!(token_number(b"0000000000000a"), None);
        assert_eq!(trigger_seq(b"ABC DEF0000000"), None);
    }

    proptest! {
        #[test]
        fn round_trip(seq in 0..HALF_RANGE, number in 0..HALF_RANGE) {
            let token = encode(seq, number);
            prop_assert!(token.iter().all(u8::is_ascii_alphanumeric));
            prop_assert_eq!(trigger_seq(&token), Some(seq));
            prop_assert_eq!(token_number(&token), Some(number));
        }
    }
}
