//! NASDAQ TotalView-ITCH 5.0: every message type, and the BinaryFILE framing.
//!
//! Contract:
//! - [`decode`] takes exactly one message (type byte first) and returns a [`Message`] of
//!   `Copy` structs read straight from the slice: no allocation, no intermediate buffer, one
//!   `match` on the type byte, one length check, big-endian loads at constant offsets.
//! - Nothing here panics on wire bytes: every failure is an [`ItchError`] (or a
//!   [`BinaryFileError`] carrying the byte offset) naming the message type.
//! - [`Message::encode`] writes exactly the spec's bytes, so `encode(decode(m)) == m` for every
//!   well-formed message; it allocates nothing either. Only [`Message::write_json`] allocates
//!   (it grows the caller's `String`); it is meant for tools, not the hot path.
//!
//! # Messages
//! Every message starts with the same 11-byte header: type (1), Stock Locate (2), Tracking
//! Number (2), Timestamp (6, nanoseconds since midnight). Lengths include the type byte and
//! are fixed per type (checked at compile time against the field offsets):
//!
//! | type | struct | length |
//! |---|---|---|
//! | `S` | [`SystemEvent`] | 12 |
//! | `R` | [`StockDirectory`] | 39 |
//! | `H` | [`StockTradingAction`] | 25 |
//! | `Y` | [`RegShoRestriction`] | 20 |
//! | `L` | [`MarketParticipantPosition`] | 26 |
//! | `V` | [`MwcbDeclineLevel`] | 35 |
//! | `W` | [`MwcbStatus`] | 12 |
//! | `K` | [`IpoQuotingPeriodUpdate`] | 28 |
//! | `J` | [`LuldAuctionCollar`] | 35 |
//! | `h` | [`OperationalHalt`] | 21 |
//! | `A` | [`AddOrder`] | 36 |
//! | `F` | [`AddOrderMpid`] | 40 |
//! | `E` | [`OrderExecuted`] | 31 |
//! | `C` | [`OrderExecutedWithPrice`] | 36 |
//! | `X` | [`OrderCancel`] | 23 |
//! | `D` | [`OrderDelete`] | 19 |
//! | `U` | [`OrderReplace`] | 35 |
//! | `P` | [`Trade`] | 44 |
//! | `Q` | [`CrossTrade`] | 40 |
//! | `B` | [`BrokenTrade`] | 19 |
//! | `I` | [`Noii`] | 50 |
//! | `N` | [`RetailPriceImprovement`] | 20 |
//! | `O` | [`DirectListingCapitalRaise`] | 48 |
//!
//! Field types: `Integer` fields are unsigned big-endian (`u16`/`u32`/`u64`), the timestamp a
//! `u64` below 2^48 ([`MAX_TIMESTAMP`]); `Price(4)` fields are the raw `u32` in 1/10000
//! units, with a same-named method returning an exact [`Price`]; `Price(8)` fields (MWCB
//! levels) are the raw `u64` in 10^-8 units. One-byte `Alpha` fields are `u8`; longer ones
//! are [`Alpha<N>`] ([`Stock`] = `Alpha<8>`, [`Mpid`] = `Alpha<4>`), kept byte for byte.
//!
//! # JSON ([`Message::write_json`])
//! One object, no whitespace, no trailing newline, keys in wire order. This is the output of
//! `tickwire-dataplane decode --format itch50`, which external checks compare byte for
//! byte. Keys are the spec's field names in snake_case; numbers are JSON integers (prices in
//! their raw units: 1/10000 for `Price(4)`, 10^-8 for `Price(8)`); alpha fields are JSON
//! strings with trailing spaces trimmed (a one-byte field holding a space becomes `""`).
//! Bytes outside printable ASCII, `"` and `\` are escaped; bytes 0x80..=0xFF are written as
//! `\u0080`..`\u00ff` (read as Latin-1), so any wire bytes give valid JSON.
//!
//! Every object starts `"type"` (the one-letter code as a string), `"stock_locate"`,
//! `"tracking_number"`, `"timestamp"`, followed by:
//!
//! | type | further keys |
//! |---|---|
//! | `S` | `event_code` |
//! | `R` | `stock`, `market_category`, `financial_status_indicator`, `round_lot_size`, `round_lots_only`, `issue_classification`, `issue_sub_type`, `authenticity`, `short_sale_threshold_indicator`, `ipo_flag`, `luld_reference_price_tier`, `etp_flag`, `etp_leverage_factor`, `inverse_indicator` |
//! | `H` | `stock`, `trading_state`, `reserved`, `reason` |
//! | `Y` | `stock`, `reg_sho_action` |
//! | `L` | `mpid`, `stock`, `primary_market_maker`, `market_maker_mode`, `market_participant_state` |
//! | `V` | `level_1`, `level_2`, `level_3` |
//! | `W` | `breached_level` |
//! | `K` | `stock`, `ipo_quotation_release_time`, `ipo_quotation_release_qualifier`, `ipo_price` |
//! | `J` | `stock`, `auction_collar_reference_price`, `upper_auction_collar_price`, `lower_auction_collar_price`, `auction_collar_extension` |
//! | `h` | `stock`, `market_code`, `operational_halt_action` |
//! | `A` | `order_reference_number`, `buy_sell_indicator`, `shares`, `stock`, `price` |
//! | `F` | `order_reference_number`, `buy_sell_indicator`, `shares`, `stock`, `price`, `attribution` |
//! | `E` | `order_reference_number`, `executed_shares`, `match_number` |
//! | `C` | `order_reference_number`, `executed_shares`, `match_number`, `printable`, `execution_price` |
//! | `X` | `order_reference_number`, `canceled_shares` |
//! | `D` | `order_reference_number` |
//! | `U` | `original_order_reference_number`, `new_order_reference_number`, `shares`, `price` |
//! | `P` | `order_reference_number`, `buy_sell_indicator`, `shares`, `stock`, `price`, `match_number` |
//! | `Q` | `shares`, `stock`, `cross_price`, `match_number`, `cross_type` |
//! | `B` | `match_number` |
//! | `I` | `paired_shares`, `imbalance_shares`, `imbalance_direction`, `stock`, `far_price`, `near_price`, `current_reference_price`, `cross_type`, `price_variation_indicator` |
//! | `N` | `stock`, `interest_flag` |
//! | `O` | `stock`, `open_eligibility_status`, `minimum_allowable_price`, `maximum_allowable_price`, `near_execution_price`, `near_execution_time`, `lower_price_range_collar`, `upper_price_range_collar` |
//!
//! Example (an `A` message): `{"type":"A","stock_locate":2,"tracking_number":0,
//! "timestamp":31139052372053,"order_reference_number":0,"buy_sell_indicator":"B",
//! "shares":1000,"stock":"BOB","price":53167}` (on one line).
//!
//! Spec choices: the `Y` message's first field is called "Locate Code" in the spec; it sits
//! where every other message has Stock Locate and is named `stock_locate` here. The spec
//! spells `X`'s field both "Canceled" and "Cancelled" across revisions; the key is
//! `canceled_shares`. The `O` message (Direct Listing with Capital Raise, 2023 revision) is
//! included.
//!
//! # Framing
//! [`BinaryFileReader`] splits a BinaryFILE (2-byte big-endian length before each message),
//! including files whose length fields are all zero; see [`binary_file`].

pub mod binary_file;
mod json;
mod messages;

use core::{fmt, str::FromStr};

pub use binary_file::{BinaryFileError, BinaryFileReader};
pub use messages::*;
use tickwire_common::Price;

/// Bytes before the first type-specific field: type, Stock Locate, Tracking Number, Timestamp.
pub const HEADER_LEN: usize = 11;

/// Largest timestamp the 6-byte field holds (2^48 - 1 ns, about 78 hours).
pub const MAX_TIMESTAMP: u64 = (1 << 48) - 1;

/// Length of the longest ITCH 5.0 message ([`Noii`]).
pub const MAX_MESSAGE_LEN: usize = 50;

/// Length of the shortest ITCH 5.0 messages ([`SystemEvent`], [`MwcbStatus`]).
pub const MIN_MESSAGE_LEN: usize = 12;

/// Raw [`Price`] units (10^-8) per `Price(4)` unit (10^-4).
const PRICE4_SCALE: i64 = 10_000;

/// Why an ITCH message could not be decoded or encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ItchError {
    /// No bytes at all: not even a type byte.
    #[error("empty ITCH message: no type byte")]
    Empty,
    /// The type byte is not an ITCH 5.0 message type.
    #[error("unknown ITCH 5.0 message type {}", TypeByte(*message_type))]
    UnknownType {
        /// The type byte (offset 0).
        message_type: u8,
    },
    /// The message is not exactly its type's fixed length.
    #[error(
        "ITCH message type {} is {actual} bytes, the spec fixes {expected}",
        TypeByte(*message_type)
    )]
    Length {
        /// The type byte (offset 0).
        message_type: u8,
        /// The type's fixed length.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// A per-type decoder (e.g. [`AddOrder::decode`]) was given another type.
    #[error(
        "expected ITCH message type {}, found {}",
        TypeByte(*expected),
        TypeByte(*actual)
    )]
    UnexpectedType {
        /// The type the decoder reads.
        expected: u8,
        /// The type byte found at offset 0.
        actual: u8,
    },
    /// The output buffer is shorter than the message.
    #[error(
        "cannot encode ITCH message type {}: {needed} bytes needed, buffer has {available}",
        TypeByte(*message_type)
    )]
    BufferTooSmall {
        /// The message being encoded.
        message_type: u8,
        /// The message's length.
        needed: usize,
        /// The buffer's length.
        available: usize,
    },
    /// The timestamp does not fit the 6-byte field (it exceeds [`MAX_TIMESTAMP`]).
    #[error(
        "cannot encode ITCH message type {}: timestamp {timestamp} exceeds 2^48 - 1",
        TypeByte(*message_type)
    )]
    TimestampOutOfRange {
        /// The message being encoded.
        message_type: u8,
        /// The offending timestamp.
        timestamp: u64,
    },
    /// Text for an [`Alpha`] field is longer than the field.
    #[error("alpha text of {len} bytes does not fit a {max}-byte field")]
    AlphaTooLong {
        /// Bytes in the text.
        len: usize,
        /// The field's width.
        max: usize,
    },
    /// Text for an [`Alpha`] field has a byte outside printable ASCII.
    #[error("alpha text has a byte that is not printable ASCII at index {index}")]
    AlphaNotPrintable {
        /// Index of the first offending byte.
        index: usize,
    },
}

/// Displays a type byte as `'A'` when printable, else as `0x01`.
#[derive(Debug, Clone, Copy)]
struct TypeByte(u8);

impl fmt::Display for TypeByte {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_ascii_graphic() {
            write!(f, "'{}'", char::from(self.0))
        } else {
            write!(f, "0x{:02x}", self.0)
        }
    }
}

/// An ITCH `Alpha` field of `N` bytes: ASCII, left-justified, padded on the right with spaces.
///
/// The wire bytes are kept unchanged (`.0`), so encoding reproduces them exactly even when a
/// feed puts something other than ASCII there; [`Alpha::as_bytes`] and [`Alpha::as_str`] give
/// the value with the padding trimmed.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Alpha<const N: usize>(pub [u8; N]);

/// A stock symbol (`Alpha(8)`), e.g. `Stock::new("AAPL")`.
pub type Stock = Alpha<8>;

/// A market participant identifier (`Alpha(4)`), e.g. `Mpid::new("NSDQ")`.
pub type Mpid = Alpha<4>;

impl<const N: usize> Alpha<N> {
    /// All spaces: the empty value.
    pub const BLANK: Self = Self([b' '; N]);

    /// Wraps the wire bytes unchanged.
    #[inline]
    #[must_use]
    pub const fn from_bytes(bytes: [u8; N]) -> Self {
        Self(bytes)
    }

    /// `text` padded on the right with spaces.
    ///
    /// # Errors
    /// [`ItchError::AlphaTooLong`] if `text` has more than `N` bytes,
    /// [`ItchError::AlphaNotPrintable`] if it has a byte outside printable ASCII (space to `~`).
    pub fn new(text: &str) -> Result<Self, ItchError> {
        if text.len() > N {
            return Err(ItchError::AlphaTooLong {
                len: text.len(),
                max: N,
            });
        }
        if let Some(index) = text.bytes().position(|byte| !matches!(byte, b' '..=b'~')) {
            return Err(ItchError::AlphaNotPrintable { index });
        }
        let mut bytes = [b' '; N];
        for (slot, byte) in bytes.iter_mut().zip(text.bytes()) {
            *slot = byte;
        }
        Ok(Self(bytes))
    }

    /// The bytes without the trailing space padding.
    #[inline]
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        let mut bytes = self.0.as_slice();
        while let [rest @ .., b' '] = bytes {
            bytes = rest;
        }
        bytes
    }

    /// The value without the trailing space padding, as text.
    ///
    /// ITCH alpha fields are ASCII; should the wire carry bytes that are not UTF-8, this
    /// returns the text before the first such byte (use [`Alpha::as_bytes`] or `.0` for the
    /// exact bytes).
    #[must_use]
    pub fn as_str(&self) -> &str {
        let bytes = self.as_bytes();
        match core::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(error) => bytes
                .get(..error.valid_up_to())
                .and_then(|valid| core::str::from_utf8(valid).ok())
                .unwrap_or_default(),
        }
    }
}

impl<const N: usize> Default for Alpha<N> {
    fn default() -> Self {
        Self::BLANK
    }
}

impl<const N: usize> FromStr for Alpha<N> {
    type Err = ItchError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::new(text)
    }
}

impl<const N: usize> fmt::Debug for Alpha<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Alpha(\"{}\")", self.0.escape_ascii())
    }
}

impl<const N: usize> fmt::Display for Alpha<N> {
    /// The trimmed value, with bytes outside printable ASCII escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_bytes().escape_ascii())
    }
}

/// A `Price(4)` raw value as an exact [`Price`].
#[inline]
fn price4(raw: u32) -> Price {
    // u32::MAX * 10^4 is far below i64::MAX, so the product is exact.
    Price::from_raw(i64::from(raw) * PRICE4_SCALE)
}

/// A `Price(8)` raw value as a [`Price`]; `None` above `i64::MAX`.
#[inline]
fn price8(raw: u64) -> Option<Price> {
    i64::try_from(raw).ok().map(Price::from_raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid message of type `message_type`: the type byte, then zeros.
    fn zeroed(message_type: u8) -> Vec<u8> {
        let mut bytes = vec![0; message_len(message_type).expect("known type")];
        bytes[0] = message_type;
        bytes
    }

    #[test]
    fn message_types_are_distinct_and_have_their_lengths() {
        assert_eq!(MESSAGE_TYPES.len(), 23);
        let mut seen = [false; 256];
        for &message_type in MESSAGE_TYPES {
            assert!(!seen[usize::from(message_type)], "duplicate type");
            seen[usize::from(message_type)] = true;
        }
        for byte in 0..=u8::MAX {
            assert_eq!(message_len(byte).is_some(), seen[usize::from(byte)]);
        }
        let lengths: Vec<(u8, usize)> = [
            (b'S', 12),
            (b'R', 39),
            (b'H', 25),
            (b'Y', 20),
            (b'L', 26),
            (b'V', 35),
            (b'W', 12),
            (b'K', 28),
            (b'J', 35),
            (b'h', 21),
            (b'A', 36),
            (b'F', 40),
            (b'E', 31),
            (b'C', 36),
            (b'X', 23),
            (b'D', 19),
            (b'U', 35),
            (b'P', 44),
            (b'Q', 40),
            (b'B', 19),
            (b'I', 50),
            (b'N', 20),
            (b'O', 48),
        ]
        .to_vec();
        for (message_type, len) in lengths {
            assert_eq!(
                message_len(message_type),
                Some(len),
                "{}",
                char::from(message_type)
            );
            let message = decode(&zeroed(message_type)).expect("decodes");
            assert_eq!(message.message_type(), message_type);
            assert_eq!(message.encoded_len(), len);
        }
        assert_eq!(AddOrder::LEN, 36);
        assert_eq!(AddOrder::MESSAGE_TYPE, b'A');
    }

    #[test]
    fn empty_input_is_an_error() {
        assert_eq!(decode(&[]), Err(ItchError::Empty));
        assert_eq!(AddOrder::decode(&[]), Err(ItchError::Empty));
    }

    #[test]
    fn unknown_types_are_rejected() {
        for message_type in [0x00, b'Z', b'a', b'T', 0xff] {
            let mut bytes = [0u8; 36];
            bytes[0] = message_type;
            assert_eq!(decode(&bytes), Err(ItchError::UnknownType { message_type }));
        }
        let error = decode(b"Z").expect_err("unknown");
        assert_eq!(error.to_string(), "unknown ITCH 5.0 message type 'Z'");
        let error = decode(&[0x01]).expect_err("unknown");
        assert_eq!(error.to_string(), "unknown ITCH 5.0 message type 0x01");
    }

    #[test]
    fn every_type_rejects_any_other_length() {
        for &message_type in MESSAGE_TYPES {
            let expected = message_len(message_type).expect("known type");
            let mut long = zeroed(message_type);
            long.push(0);
            for actual in [1, expected - 1, expected + 1] {
                let bytes = long.get(..actual).expect("in range");
                assert_eq!(
                    decode(bytes),
                    Err(ItchError::Length {
                        message_type,
                        expected,
                        actual
                    })
                );
            }
        }
        let error = decode(&zeroed(b'A')[..35]).expect_err("short");
        assert_eq!(
            error.to_string(),
            "ITCH message type 'A' is 35 bytes, the spec fixes 36"
        );
    }

    #[test]
    fn per_type_decoders_check_type_and_length() {
        assert_eq!(
            AddOrder::decode(&zeroed(b'F')),
            Err(ItchError::UnexpectedType {
                expected: b'A',
                actual: b'F'
            })
        );
        assert_eq!(
            OrderDelete::decode(&zeroed(b'D')[..18]),
            Err(ItchError::Length {
                message_type: b'D',
                expected: 19,
                actual: 18
            })
        );
        let delete = OrderDelete::decode(&zeroed(b'D')).expect("decodes");
        assert_eq!(delete.order_reference_number, 0);
    }

    fn add_order() -> AddOrder {
        AddOrder {
            stock_locate: 7,
            tracking_number: 3,
            timestamp: MAX_TIMESTAMP,
            order_reference_number: 0x0102_0304_0506_0708,
            buy_sell_indicator: b'S',
            shares: 300,
            stock: Stock::new("AAPL").expect("valid"),
            price: 1_234_500,
        }
    }

    #[test]
    fn encode_writes_the_spec_layout() {
        let mut out = [0xeeu8; 40];
        assert_eq!(add_order().encode(&mut out), Ok(36));
        let expected: [u8; 36] = [
            b'A', 0, 7, 0, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8, b'S', 0,
            0, 1, 44, b'A', b'A', b'P', b'L', b' ', b' ', b' ', b' ', 0x00, 0x12, 0xd6, 0x44,
        ];
        assert_eq!(out[..36], expected);
        assert_eq!(out[36..], [0xee; 4], "nothing written past the message");
        assert_eq!(decode(&out[..36]), Ok(Message::AddOrder(add_order())));
        assert_eq!(add_order().price().to_string(), "123.45000000");
    }

    #[test]
    fn encode_rejects_a_short_buffer_without_writing() {
        let mut out = [0xeeu8; 35];
        let message = Message::from(add_order());
        assert_eq!(
            message.encode(&mut out),
            Err(ItchError::BufferTooSmall {
                message_type: b'A',
                needed: 36,
                available: 35
            })
        );
        assert_eq!(out, [0xee; 35]);
    }

    #[test]
    fn encode_rejects_a_timestamp_beyond_48_bits() {
        let mut out = [0u8; 36];
        let mut add = add_order();
        add.timestamp = MAX_TIMESTAMP + 1;
        assert_eq!(
            add.encode(&mut out),
            Err(ItchError::TimestampOutOfRange {
                message_type: b'A',
                timestamp: MAX_TIMESTAMP + 1
            })
        );
        assert_eq!(out, [0; 36]);
    }

    #[test]
    fn alpha_text() {
        assert_eq!(Stock::new("AAPL").map(|s| s.0), Ok(*b"AAPL    "));
        assert_eq!(Stock::new("").map(|s| s.0), Ok(*b"        "));
        assert_eq!(Stock::new("ABCDEFGH").map(|s| s.0), Ok(*b"ABCDEFGH"));
        assert_eq!(
            Stock::new("ABCDEFGHI"),
            Err(ItchError::AlphaTooLong { len: 9, max: 8 })
        );
        assert_eq!(
            Mpid::new("N\tQ"),
            Err(ItchError::AlphaNotPrintable { index: 1 })
        );
        assert_eq!("BRK A".parse::<Stock>().map(|s| s.0), Ok(*b"BRK A   "));
        assert_eq!(Stock::BLANK.as_str(), "");
        assert_eq!(Stock::default(), Stock::BLANK);
        assert_eq!(Stock::from_bytes(*b" A      ").as_str(), " A");
        // Bytes that are not UTF-8 are kept, and `as_str` stops before them.
        let odd = Stock::from_bytes(*b"AB\xffCD   ");
        assert_eq!(odd.as_bytes(), b"AB\xffCD");
        assert_eq!(odd.as_str(), "AB");
        assert_eq!(format!("{odd}"), "AB\\xffCD");
        assert_eq!(format!("{odd:?}"), "Alpha(\"AB\\xffCD   \")");
    }

    #[test]
    fn price_helpers_are_exact() {
        let collar = LuldAuctionCollar {
            stock_locate: 1,
            tracking_number: 0,
            timestamp: 0,
            stock: Stock::new("X").expect("valid"),
            auction_collar_reference_price: u32::MAX,
            upper_auction_collar_price: 1,
            lower_auction_collar_price: 0,
            auction_collar_extension: 2,
        };
        assert_eq!(
            collar.auction_collar_reference_price().raw(),
            i64::from(u32::MAX) * 10_000
        );
        assert_eq!(collar.upper_auction_collar_price().raw(), 10_000);
        let levels = MwcbDeclineLevel {
            stock_locate: 0,
            tracking_number: 0,
            timestamp: 0,
            level_1: 123_456_789_000,
            level_2: u64::MAX,
            level_3: 0,
        };
        assert_eq!(levels.level_1().map(Price::raw), Some(123_456_789_000));
        assert_eq!(levels.level_2(), None);
    }

    fn json(message: impl Into<Message>) -> String {
        let mut out = String::new();
        message.into().write_json(&mut out);
        out
    }

    #[test]
    fn json_of_types_absent_from_the_sample() {
        let noii = Noii {
            stock_locate: 9,
            tracking_number: 1,
            timestamp: 34_200_000_000_000,
            paired_shares: 5_000,
            imbalance_shares: 1_200,
            imbalance_direction: b'B',
            stock: Stock::new("QQQ").expect("valid"),
            far_price: 3_500_000,
            near_price: 3_499_900,
            current_reference_price: 3_500_100,
            cross_type: b'O',
            price_variation_indicator: b' ',
        };
        assert_eq!(
            json(noii),
            r#"{"type":"I","stock_locate":9,"tracking_number":1,"timestamp":34200000000000,"paired_shares":5000,"imbalance_shares":1200,"imbalance_direction":"B","stock":"QQQ","far_price":3500000,"near_price":3499900,"current_reference_price":3500100,"cross_type":"O","price_variation_indicator":""}"#
        );
        let cross = CrossTrade {
            stock_locate: 9,
            tracking_number: 0,
            timestamp: 1,
            shares: u64::MAX,
            stock: Stock::new("QQQ").expect("valid"),
            cross_price: 3_500_000,
            match_number: 77,
            cross_type: b'C',
        };
        assert_eq!(
            json(cross),
            r#"{"type":"Q","stock_locate":9,"tracking_number":0,"timestamp":1,"shares":18446744073709551615,"stock":"QQQ","cross_price":3500000,"match_number":77,"cross_type":"C"}"#
        );
        let position = MarketParticipantPosition {
            stock_locate: 4,
            tracking_number: 0,
            timestamp: 2,
            mpid: Mpid::new("GSCO").expect("valid"),
            stock: Stock::new("BOB").expect("valid"),
            primary_market_maker: b'Y',
            market_maker_mode: b'N',
            market_participant_state: b'A',
        };
        assert_eq!(
            json(position),
            r#"{"type":"L","stock_locate":4,"tracking_number":0,"timestamp":2,"mpid":"GSCO","stock":"BOB","primary_market_maker":"Y","market_maker_mode":"N","market_participant_state":"A"}"#
        );
        let levels = MwcbDeclineLevel {
            stock_locate: 0,
            tracking_number: 0,
            timestamp: 3,
            level_1: 1,
            level_2: 2,
            level_3: 3,
        };
        assert_eq!(
            json(levels),
            r#"{"type":"V","stock_locate":0,"tracking_number":0,"timestamp":3,"level_1":1,"level_2":2,"level_3":3}"#
        );
        let halt = OperationalHalt {
            stock_locate: 5,
            tracking_number: 0,
            timestamp: 4,
            stock: Stock::new("BOB").expect("valid"),
            market_code: b'Q',
            operational_halt_action: b'H',
        };
        assert_eq!(
            json(halt),
            r#"{"type":"h","stock_locate":5,"tracking_number":0,"timestamp":4,"stock":"BOB","market_code":"Q","operational_halt_action":"H"}"#
        );
    }

    #[test]
    fn json_escapes_hostile_alpha_bytes() {
        let mut bytes = zeroed(b'A');
        bytes[19] = b'"';
        bytes[24..32].copy_from_slice(b"A\\\"\n\x00\xe9  ");
        let message = decode(&bytes).expect("decodes");
        assert_eq!(
            json(message),
            r#"{"type":"A","stock_locate":0,"tracking_number":0,"timestamp":0,"order_reference_number":0,"buy_sell_indicator":"\"","shares":0,"stock":"A\\\"\u000a\u0000\u00e9","price":0}"#
        );
    }

    #[test]
    fn header_accessors() {
        let message = Message::from(add_order());
        assert_eq!(message.stock_locate(), 7);
        assert_eq!(message.tracking_number(), 3);
        assert_eq!(message.timestamp(), MAX_TIMESTAMP);
        assert_eq!(Message::decode(&zeroed(b'S')), decode(&zeroed(b'S')));
    }
}
