//! Binance market-data JSON: `depthUpdate`, `bookTicker`, `trade` and the REST depth
//! snapshot, either raw or inside the combined-stream wrapper `{"stream":"…","data":{…}}`.
//!
//! # Contract
//! - **Allocation.** [`BinanceDecoder::new`] allocates every buffer once: two level arrays of
//!   `max_levels_per_side` entries and simd-json's [`Buffers`] and tape, primed by parsing a
//!   synthetic snapshot of the maximum size. After that, decoding a message of at most
//!   [`BinanceDecoder::max_message_len`] bytes allocates nothing; longer ones are rejected
//!   unparsed. (Only a message with more JSON tokens than a full-depth snapshot, e.g. a huge
//!   array of small numbers under an unknown key, can make simd-json grow its tape and index;
//!   they keep the new size, so that is a one-off, not a per-message cost.)
//! - **Validation before return.** A message is checked completely (well-formed JSON, every
//!   required field present with the right type, every level parsed into the preallocated
//!   arrays) before [`BinanceDecoder::decode`] returns `Ok`, so a caller never applies half an
//!   update. More levels than the arrays hold is [`BinanceError::TooManyLevels`], not growth.
//! - **Exact values.** Prices and quantities go from their decimal strings straight into
//!   [`Price`]/[`Qty`], never through `f64`, and must not be negative. Binance's own form
//!   (`61837.63000000`: up to 10 integer digits, exactly 8 decimals) is converted by a SWAR
//!   routine that gives the same raw value as `from_decimal` (property-tested against it);
//!   every other form goes through `from_decimal` itself. Update ids, trade ids and times
//!   must be JSON integers in `0..=u64::MAX`.
//! - **No panics** on any input bytes; every failure is a [`BinanceError`] naming the message
//!   type and the field (a JSON path such as `b[3] price`), or for malformed JSON the byte
//!   offset and simd-json's reason. The caller counts errors.
//!
//! # Recognising a message
//! The top-level value must be an object. If it has a `data` key it is a combined-stream
//! wrapper: `data` must be an object and `stream`, if present, a string (exposed as
//! [`Message::stream`]). Inside the event object:
//! - `"e":"depthUpdate"` → [`Event::DepthUpdate`] (`pu`, sent by futures streams, is optional);
//! - `"e":"trade"` → [`Event::Trade`];
//! - `"e":"bookTicker"` (futures) or no `e` but a `u` key (spot) → [`Event::BookTicker`];
//! - no `e` but a `lastUpdateId` key → [`Event::DepthSnapshot`];
//! - any other string `e` → [`Event::Other`] carrying the event type, with nothing else
//!   checked: a subscription to a stream this decoder does not interpret is not an error;
//! - anything else → [`BinanceError::UnrecognisedMessage`].
//!
//! Keys not listed above are skipped, as Binance adds fields over time. A key this module
//! reads that appears twice in one object is [`BinanceError::DuplicateField`].
//!
//! # Two paths, one result
//! Building simd-json's tape is most of the cost of the general path (here about 1.5 µs for
//! an average depthUpdate: 1.3 KB, 36 levels), so most messages are decoded by a single-pass
//! scanner (`scan`) that accepts a strict subset of JSON (no escapes, ASCII strings,
//! unsigned integers, bounded nesting) and parses levels as it goes. Anything outside that
//! subset, and every error, falls back to the general path: simd-json builds a tape in
//! reused buffers and `tape` walks it, matching keys by bytes, without building a value
//! tree. The fallback is the reference: the fast path only ever returns what the tape path
//! would also return (checked by differential tests and the `binance` fuzz target), and
//! every error comes from the tape path.
//! [`BinanceDecoder::decode_with_tape`] runs the reference path alone.

use core::fmt;

use simd_json::{Buffers, Tape};
use tickwire_common::{FIXED_SCALE, FixedError, Price, Qty};

pub mod relay;
mod scan;
mod tape;

/// Binance's deepest REST depth snapshot (`limit=5000`): the default level capacity per side.
pub const DEFAULT_MAX_LEVELS_PER_SIDE: usize = 5000;
/// Longest symbol, stream name or event type a [`Name`] holds, in bytes.
pub const NAME_CAPACITY: usize = 31;
/// Bytes allowed per level in [`BinanceDecoder::max_message_len`]: `["<price>","<qty>"],`
/// with both decimals at their longest (21 characters each) fits with room to spare.
pub const LEVEL_TEXT_MAX: usize = 64;
/// Bytes allowed for everything but the levels in [`BinanceDecoder::max_message_len`].
pub const MESSAGE_OVERHEAD_MAX: usize = 4096;

/// A short inline string (symbol, stream name, event type): `Copy`, no heap, no lifetime.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Name {
    len: u8,
    bytes: [u8; NAME_CAPACITY],
}

const _: () = assert!(NAME_CAPACITY <= u8::MAX as usize);

impl Name {
    /// Copies `text`, or `None` if it is longer than [`NAME_CAPACITY`] bytes.
    #[must_use]
    pub fn new(text: &str) -> Option<Self> {
        Self::from_utf8_bytes(text.as_bytes())
    }

    /// Copies `bytes`, which the caller knows to be UTF-8 (a JSON string simd-json or the
    /// scanner validated), or `None` if longer than [`NAME_CAPACITY`]. Not re-validated:
    /// were it not UTF-8, [`Self::as_str`] would return `""`.
    fn from_utf8_bytes(bytes: &[u8]) -> Option<Self> {
        let mut copy = [0u8; NAME_CAPACITY];
        copy.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(Self {
            len: u8::try_from(bytes.len()).ok()?,
            bytes: copy,
        })
    }

    /// The name as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Always valid: the bytes were copied from a UTF-8 string.
        core::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// The name's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// Length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True for the empty name.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One price level of a depth update or snapshot. A quantity of zero removes the level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Level {
    /// Level price.
    pub price: Price,
    /// Total quantity at the price (absolute, not a change).
    pub qty: Qty,
}

/// A diff-depth stream event (`<symbol>@depth` / `<symbol>@depth@100ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepthUpdate<'a> {
    /// `E`: event time, ms since the Unix epoch.
    pub event_time: u64,
    /// `s`: symbol, upper case (`BTCUSDT`).
    pub symbol: Name,
    /// `U`: first update id in the event.
    pub first_update_id: u64,
    /// `u`: final update id in the event.
    pub final_update_id: u64,
    /// `pu`: final update id of the previous event (futures streams only).
    pub prev_final_update_id: Option<u64>,
    /// `b`: bid levels in message order.
    pub bids: &'a [Level],
    /// `a`: ask levels in message order.
    pub asks: &'a [Level],
}

/// A best bid/offer event (`<symbol>@bookTicker`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookTicker {
    /// `u`: order book update id.
    pub update_id: u64,
    /// `s`: symbol.
    pub symbol: Name,
    /// `b`: best bid price.
    pub bid_price: Price,
    /// `B`: best bid quantity.
    pub bid_qty: Qty,
    /// `a`: best ask price.
    pub ask_price: Price,
    /// `A`: best ask quantity.
    pub ask_qty: Qty,
}

/// A trade event (`<symbol>@trade`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trade {
    /// `E`: event time, ms since the Unix epoch.
    pub event_time: u64,
    /// `s`: symbol.
    pub symbol: Name,
    /// `t`: trade id.
    pub trade_id: u64,
    /// `p`: price.
    pub price: Price,
    /// `q`: quantity.
    pub qty: Qty,
    /// `T`: trade time, ms since the Unix epoch.
    pub trade_time: u64,
    /// `m`: the buyer was the maker (the aggressor sold).
    pub buyer_is_maker: bool,
}

/// A REST depth snapshot (`GET /api/v3/depth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepthSnapshot<'a> {
    /// `lastUpdateId`: the book state includes every update up to this id.
    pub last_update_id: u64,
    /// `bids`: best first.
    pub bids: &'a [Level],
    /// `asks`: best first.
    pub asks: &'a [Level],
}

/// A decoded event. Level slices borrow the decoder until the next decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// `"e":"depthUpdate"`.
    DepthUpdate(DepthUpdate<'a>),
    /// Spot `bookTicker` (no `e`) or futures `"e":"bookTicker"`.
    BookTicker(BookTicker),
    /// `"e":"trade"`.
    Trade(Trade),
    /// REST depth snapshot.
    DepthSnapshot(DepthSnapshot<'a>),
    /// Well-formed JSON with an `e` this module does not interpret; nothing else was checked.
    Other {
        /// The `e` value.
        event_type: Name,
    },
}

/// An event with the combined-stream name it arrived under, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// `stream` of the `{"stream":…,"data":…}` wrapper; `None` for a raw event or snapshot.
    pub stream: Option<Name>,
    /// The event.
    pub event: Event<'a>,
}

/// Which kind of message an error was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// The combined-stream wrapper (`stream`, `data`) or the top-level value.
    Envelope,
    /// `depthUpdate`.
    DepthUpdate,
    /// `bookTicker`.
    BookTicker,
    /// `trade`.
    Trade,
    /// REST depth snapshot.
    DepthSnapshot,
    /// Not yet recognised (the error is in the fields that identify the message).
    Unknown,
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Envelope => "stream wrapper",
            Self::DepthUpdate => "depthUpdate",
            Self::BookTicker => "bookTicker",
            Self::Trade => "trade",
            Self::DepthSnapshot => "depth snapshot",
            Self::Unknown => "message",
        })
    }
}

/// JSON value types, as named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonType {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool,
    /// A number without fraction or exponent.
    Integer,
    /// A number with a fraction or exponent, or out of integer range.
    Float,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl fmt::Display for JsonType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Null => "null",
            Self::Bool => "a boolean",
            Self::Integer => "an integer",
            Self::Float => "a non-integer number",
            Self::String => "a string",
            Self::Array => "an array",
            Self::Object => "an object",
        })
    }
}

/// The two strings of a `[price, qty]` level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    /// Element 0.
    Price,
    /// Element 1.
    Qty,
}

/// Where in a message a value sits: `key`, `key[level]` or `key[level] price|qty`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldPath {
    /// The object key as on the wire (`b`, `lastUpdateId`, `data`); `(root)` for the
    /// top-level value.
    pub key: &'static str,
    /// Index into the key's level array.
    pub level: Option<usize>,
    /// Which string of the level.
    pub column: Option<Column>,
}

impl FieldPath {
    const ROOT: Self = Self::key("(root)");

    const fn key(key: &'static str) -> Self {
        Self {
            key,
            level: None,
            column: None,
        }
    }

    const fn level(key: &'static str, level: usize) -> Self {
        Self {
            key,
            level: Some(level),
            column: None,
        }
    }

    const fn column(self, column: Column) -> Self {
        Self {
            column: Some(column),
            ..self
        }
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key)?;
        if let Some(level) = self.level {
            write!(f, "[{level}]")?;
        }
        match self.column {
            Some(Column::Price) => f.write_str(" price"),
            Some(Column::Qty) => f.write_str(" qty"),
            None => Ok(()),
        }
    }
}

/// Why a Binance message was rejected. Small and `Copy`: no strings are built on failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BinanceError {
    /// Longer than [`BinanceDecoder::max_message_len`]; not parsed.
    #[error("message of {len} bytes exceeds the {max}-byte limit")]
    MessageTooLarge {
        /// Input length.
        len: usize,
        /// The decoder's limit.
        max: usize,
    },
    /// Not well-formed JSON (simd-json's diagnosis).
    #[error("malformed JSON at byte {offset}: {reason}")]
    MalformedJson {
        /// Byte offset simd-json reports (0 when it has no position, e.g. empty input).
        offset: usize,
        /// The byte at `offset`, when simd-json reports it.
        character: Option<char>,
        /// simd-json's error kind in words.
        reason: &'static str,
    },
    /// An object without `e`, `lastUpdateId` or `u`: not a message this module knows.
    #[error("unrecognised message: no `e`, `lastUpdateId` or `u` key")]
    UnrecognisedMessage,
    /// A required key is absent.
    #[error("{message}: missing field `{field}`")]
    MissingField {
        /// Message being decoded.
        message: MessageKind,
        /// The key.
        field: &'static str,
    },
    /// A key this module reads appears twice in one object.
    #[error("{message}: field `{field}` appears more than once")]
    DuplicateField {
        /// Message being decoded.
        message: MessageKind,
        /// The key.
        field: &'static str,
    },
    /// A value has the wrong JSON type.
    #[error("{message}: `{field}` is {found}, expected {expected}")]
    WrongType {
        /// Message being decoded.
        message: MessageKind,
        /// Where.
        field: FieldPath,
        /// The type this field must have.
        expected: JsonType,
        /// The type found.
        found: JsonType,
    },
    /// An id or time is a negative integer, or a price or quantity is a negative decimal.
    #[error("{message}: `{field}` is negative")]
    Negative {
        /// Message being decoded.
        message: MessageKind,
        /// Where.
        field: FieldPath,
    },
    /// An id or time is a number with a fraction or exponent, or beyond `u64::MAX`.
    #[error("{message}: `{field}` is not an integer in 0..=18446744073709551615")]
    NotAnInteger {
        /// Message being decoded.
        message: MessageKind,
        /// The key.
        field: &'static str,
    },
    /// A price or quantity string is not an exact 8-place decimal.
    #[error("{message}: `{field}` is not a valid decimal: {source}")]
    BadDecimal {
        /// Message being decoded.
        message: MessageKind,
        /// Where.
        field: FieldPath,
        /// What `from_decimal` rejected.
        source: FixedError,
    },
    /// A level array element is not a `[price, qty]` pair.
    #[error("{message}: `{field}` has {len} elements, expected 2 ([price, qty])")]
    BadLevel {
        /// Message being decoded.
        message: MessageKind,
        /// Where.
        field: FieldPath,
        /// Elements found.
        len: usize,
    },
    /// More levels on one side than the decoder's fixed capacity.
    #[error("{message}: `{field}` has {count} levels, more than the capacity of {capacity}")]
    TooManyLevels {
        /// Message being decoded.
        message: MessageKind,
        /// The key.
        field: &'static str,
        /// Levels in the message.
        count: usize,
        /// [`BinanceDecoder::max_levels_per_side`].
        capacity: usize,
    },
    /// A symbol, stream name or event type longer than [`NAME_CAPACITY`].
    #[error("{message}: `{field}` is {len} bytes, longer than {NAME_CAPACITY}")]
    NameTooLong {
        /// Message being decoded.
        message: MessageKind,
        /// The key.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
    },
}

impl BinanceError {
    fn malformed(error: &simd_json::Error) -> Self {
        Self::MalformedJson {
            offset: error.index(),
            character: error.character(),
            reason: json_error_reason(error.error()),
        }
    }
}

/// simd-json's error kind in words (its `Display` would need an allocation to keep).
fn json_error_reason(error: &simd_json::ErrorType) -> &'static str {
    use simd_json::ErrorType as E;
    match error {
        E::Eof => "unexpected end of input",
        E::Syntax => "syntax error",
        E::InvalidNumber => "invalid number",
        E::InvalidExponent => "invalid exponent",
        E::InvalidUtf8 => "invalid UTF-8",
        E::InvalidEscape => "invalid escape sequence",
        E::InvalidUnicodeEscape => "invalid \\u escape",
        E::InvalidUnicodeCodepoint => "invalid unicode code point",
        E::UnterminatedString => "unterminated string",
        // simd-json reports bytes after the top-level value as an internal error.
        E::TrailingData | E::InternalError => "unexpected data after or inside a value",
        E::DepthLimitExceeded => "nested too deeply",
        E::ExpectedObjectColon => "expected `:`",
        E::ExpectedMapComma | E::ExpectedArrayComma => "expected `,`",
        E::ExpectedObjectKey | E::KeyMustBeAString | E::BadKeyType => "expected a string key",
        E::ExpectedMapEnd => "expected `}`",
        E::ExpectedTrue | E::ExpectedFalse | E::ExpectedNull => "invalid literal",
        E::InputTooLarge => "input too large",
        E::NoStructure => "no JSON value",
        E::UnexpectedCharacter => "unexpected character",
        _ => "invalid JSON",
    }
}

/// Keys this module reads, named after their meaning; several letters mean different
/// things in different events (`b` is bid levels in a depthUpdate, the best bid price in a
/// bookTicker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    /// `e`
    EventType,
    /// `E`
    EventTime,
    /// `s`
    Symbol,
    /// `U`
    FirstUpdateId,
    /// `u`
    UpdateId,
    /// `pu`
    PrevFinalUpdateId,
    /// `b`
    Bid,
    /// `a`
    Ask,
    /// `B`
    BidQty,
    /// `A`
    AskQty,
    /// `t`
    TradeId,
    /// `p`
    Price,
    /// `q`
    Qty,
    /// `T`
    TradeTime,
    /// `m`
    BuyerIsMaker,
    /// `lastUpdateId`
    LastUpdateId,
    /// `bids`
    SnapshotBids,
    /// `asks`
    SnapshotAsks,
    /// `stream`
    Stream,
    /// `data`
    Data,
}

const KEY_COUNT: usize = 20;

impl Key {
    #[inline]
    fn from_bytes(name: &[u8]) -> Option<Self> {
        Some(match name {
            b"e" => Self::EventType,
            b"E" => Self::EventTime,
            b"s" => Self::Symbol,
            b"U" => Self::FirstUpdateId,
            b"u" => Self::UpdateId,
            b"pu" => Self::PrevFinalUpdateId,
            b"b" => Self::Bid,
            b"a" => Self::Ask,
            b"B" => Self::BidQty,
            b"A" => Self::AskQty,
            b"t" => Self::TradeId,
            b"p" => Self::Price,
            b"q" => Self::Qty,
            b"T" => Self::TradeTime,
            b"m" => Self::BuyerIsMaker,
            b"lastUpdateId" => Self::LastUpdateId,
            b"bids" => Self::SnapshotBids,
            b"asks" => Self::SnapshotAsks,
            b"stream" => Self::Stream,
            b"data" => Self::Data,
            _ => return None,
        })
    }

    const fn name(self) -> &'static str {
        match self {
            Self::EventType => "e",
            Self::EventTime => "E",
            Self::Symbol => "s",
            Self::FirstUpdateId => "U",
            Self::UpdateId => "u",
            Self::PrevFinalUpdateId => "pu",
            Self::Bid => "b",
            Self::Ask => "a",
            Self::BidQty => "B",
            Self::AskQty => "A",
            Self::TradeId => "t",
            Self::Price => "p",
            Self::Qty => "q",
            Self::TradeTime => "T",
            Self::BuyerIsMaker => "m",
            Self::LastUpdateId => "lastUpdateId",
            Self::SnapshotBids => "bids",
            Self::SnapshotAsks => "asks",
            Self::Stream => "stream",
            Self::Data => "data",
        }
    }

    #[inline]
    const fn index(self) -> usize {
        self as usize
    }

    /// Which level array a level-list key fills.
    #[inline]
    const fn side(self) -> Option<Side> {
        match self {
            Self::Bid | Self::SnapshotBids => Some(Side::Bid),
            Self::Ask | Self::SnapshotAsks => Some(Side::Ask),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Bid,
    Ask,
}

/// A key's value as the message builder sees it, from either path.
#[derive(Debug, Clone, Copy, PartialEq)]
enum FieldValue<'j> {
    Absent,
    /// The bytes of a string value: valid UTF-8 (simd-json validates it; the scanner only
    /// accepts printable ASCII), not checked again.
    String(&'j [u8]),
    Unsigned(u64),
    /// A negative integer (simd-json also reads `-0` as one).
    Negative,
    /// A fraction, exponent or an integer beyond `u64`.
    Float,
    Bool(bool),
    Null,
    Array,
    Object,
}

impl FieldValue<'_> {
    fn json_type(self) -> Option<JsonType> {
        Some(match self {
            Self::Absent => return None,
            Self::String(_) => JsonType::String,
            Self::Unsigned(_) | Self::Negative => JsonType::Integer,
            Self::Float => JsonType::Float,
            Self::Bool(_) => JsonType::Bool,
            Self::Null => JsonType::Null,
            Self::Array => JsonType::Array,
            Self::Object => JsonType::Object,
        })
    }
}

/// The keys of one JSON object, as found by a decoding path.
trait FieldSource<'j> {
    /// The value of `key`; the first one if it is duplicated.
    fn get(&self, key: Key) -> FieldValue<'j>;
    /// A key this module reads that appeared more than once.
    fn duplicate(&self) -> Option<Key>;
    /// Fills `out` from the level array at `key` (whose value is an array) and returns the
    /// number of levels.
    fn levels(
        &self,
        message: MessageKind,
        key: Key,
        out: &mut [Level],
    ) -> Result<usize, BinanceError>;
}

/// A decoded message whose level slices are not attached yet: the levels are in the
/// decoder's arrays, `bids_len`/`asks_len` long.
#[derive(Debug, Clone, Copy)]
struct Decoded {
    stream: Option<Name>,
    event: Event<'static>,
    bids_len: usize,
    asks_len: usize,
}

impl Decoded {
    fn attach<'a>(self, bids: &'a [Level], asks: &'a [Level]) -> Message<'a> {
        let bids = bids.get(..self.bids_len).unwrap_or_default();
        let asks = asks.get(..self.asks_len).unwrap_or_default();
        let event = match self.event {
            Event::DepthUpdate(update) => Event::DepthUpdate(DepthUpdate {
                bids,
                asks,
                ..update
            }),
            Event::DepthSnapshot(snapshot) => Event::DepthSnapshot(DepthSnapshot {
                bids,
                asks,
                ..snapshot
            }),
            other => other,
        };
        Message {
            stream: self.stream,
            event,
        }
    }
}

/// Builds the message from the top-level object's fields and, for a combined-stream
/// wrapper, the `data` object's fields (which the path supplies when `data` is an object).
fn build<'j, S: FieldSource<'j>>(
    root: &S,
    data: Option<&S>,
    bids: &mut [Level],
    asks: &mut [Level],
) -> Result<Decoded, BinanceError> {
    let root_data = root.get(Key::Data);
    if root_data == FieldValue::Absent {
        return build_event(root, None, bids, asks);
    }
    let message = MessageKind::Envelope;
    if let Some(key) = root.duplicate() {
        return Err(BinanceError::DuplicateField {
            message,
            field: key.name(),
        });
    }
    let stream = match root.get(Key::Stream) {
        FieldValue::Absent => None,
        _ => Some(name(root, message, Key::Stream)?),
    };
    match data {
        Some(data) if root_data == FieldValue::Object => build_event(data, stream, bids, asks),
        _ => Err(wrong_type(
            message,
            FieldPath::key("data"),
            JsonType::Object,
            root_data,
        )),
    }
}

/// Which event an object holds.
#[derive(Debug, Clone, Copy)]
enum Kind {
    DepthUpdate,
    BookTicker,
    Trade,
    DepthSnapshot,
    Other(Name),
}

impl Kind {
    fn message(self) -> MessageKind {
        match self {
            Self::DepthUpdate => MessageKind::DepthUpdate,
            Self::BookTicker => MessageKind::BookTicker,
            Self::Trade => MessageKind::Trade,
            Self::DepthSnapshot => MessageKind::DepthSnapshot,
            Self::Other(_) => MessageKind::Unknown,
        }
    }
}

fn classify<'j>(fields: &impl FieldSource<'j>) -> Result<Kind, BinanceError> {
    match fields.get(Key::EventType) {
        FieldValue::String(event_type) => Ok(match event_type {
            b"depthUpdate" => Kind::DepthUpdate,
            b"trade" => Kind::Trade,
            b"bookTicker" => Kind::BookTicker,
            _ => Kind::Other(name(fields, MessageKind::Unknown, Key::EventType)?),
        }),
        FieldValue::Absent if fields.get(Key::LastUpdateId) != FieldValue::Absent => {
            Ok(Kind::DepthSnapshot)
        }
        FieldValue::Absent if fields.get(Key::UpdateId) != FieldValue::Absent => {
            Ok(Kind::BookTicker)
        }
        FieldValue::Absent => Err(BinanceError::UnrecognisedMessage),
        other => Err(wrong_type(
            MessageKind::Unknown,
            FieldPath::key("e"),
            JsonType::String,
            other,
        )),
    }
}

fn build_event<'j, S: FieldSource<'j>>(
    fields: &S,
    stream: Option<Name>,
    bids: &mut [Level],
    asks: &mut [Level],
) -> Result<Decoded, BinanceError> {
    let kind = classify(fields);
    if let Some(key) = fields.duplicate() {
        return Err(BinanceError::DuplicateField {
            message: kind.map_or(MessageKind::Unknown, Kind::message),
            field: key.name(),
        });
    }
    let kind = kind?;
    let message = kind.message();
    let mut bids_len = 0;
    let mut asks_len = 0;
    let event = match kind {
        Kind::DepthUpdate => {
            let event_time = unsigned(fields, message, Key::EventTime)?;
            let symbol = name(fields, message, Key::Symbol)?;
            let first_update_id = unsigned(fields, message, Key::FirstUpdateId)?;
            let final_update_id = unsigned(fields, message, Key::UpdateId)?;
            let prev_final_update_id = match fields.get(Key::PrevFinalUpdateId) {
                FieldValue::Absent => None,
                _ => Some(unsigned(fields, message, Key::PrevFinalUpdateId)?),
            };
            bids_len = levels(fields, message, Key::Bid, bids)?;
            asks_len = levels(fields, message, Key::Ask, asks)?;
            Event::DepthUpdate(DepthUpdate {
                event_time,
                symbol,
                first_update_id,
                final_update_id,
                prev_final_update_id,
                bids: &[],
                asks: &[],
            })
        }
        Kind::BookTicker => Event::BookTicker(BookTicker {
            update_id: unsigned(fields, message, Key::UpdateId)?,
            symbol: name(fields, message, Key::Symbol)?,
            bid_price: decimal(fields, message, Key::Bid)?,
            bid_qty: decimal(fields, message, Key::BidQty)?,
            ask_price: decimal(fields, message, Key::Ask)?,
            ask_qty: decimal(fields, message, Key::AskQty)?,
        }),
        Kind::Trade => Event::Trade(Trade {
            event_time: unsigned(fields, message, Key::EventTime)?,
            symbol: name(fields, message, Key::Symbol)?,
            trade_id: unsigned(fields, message, Key::TradeId)?,
            price: decimal(fields, message, Key::Price)?,
            qty: decimal(fields, message, Key::Qty)?,
            trade_time: unsigned(fields, message, Key::TradeTime)?,
            buyer_is_maker: boolean(fields, message, Key::BuyerIsMaker)?,
        }),
        Kind::DepthSnapshot => {
            let last_update_id = unsigned(fields, message, Key::LastUpdateId)?;
            bids_len = levels(fields, message, Key::SnapshotBids, bids)?;
            asks_len = levels(fields, message, Key::SnapshotAsks, asks)?;
            Event::DepthSnapshot(DepthSnapshot {
                last_update_id,
                bids: &[],
                asks: &[],
            })
        }
        Kind::Other(event_type) => Event::Other { event_type },
    };
    Ok(Decoded {
        stream,
        event,
        bids_len,
        asks_len,
    })
}

#[cold]
fn wrong_type(
    message: MessageKind,
    field: FieldPath,
    expected: JsonType,
    found: FieldValue<'_>,
) -> BinanceError {
    match found.json_type() {
        Some(found) => BinanceError::WrongType {
            message,
            field,
            expected,
            found,
        },
        None => BinanceError::MissingField {
            message,
            field: field.key,
        },
    }
}

fn unsigned<'j>(
    fields: &impl FieldSource<'j>,
    message: MessageKind,
    key: Key,
) -> Result<u64, BinanceError> {
    match fields.get(key) {
        FieldValue::Unsigned(value) => Ok(value),
        FieldValue::Negative => Err(BinanceError::Negative {
            message,
            field: FieldPath::key(key.name()),
        }),
        FieldValue::Float => Err(BinanceError::NotAnInteger {
            message,
            field: key.name(),
        }),
        other => Err(wrong_type(
            message,
            FieldPath::key(key.name()),
            JsonType::Integer,
            other,
        )),
    }
}

fn boolean<'j>(
    fields: &impl FieldSource<'j>,
    message: MessageKind,
    key: Key,
) -> Result<bool, BinanceError> {
    match fields.get(key) {
        FieldValue::Bool(value) => Ok(value),
        other => Err(wrong_type(
            message,
            FieldPath::key(key.name()),
            JsonType::Bool,
            other,
        )),
    }
}

fn string<'j>(
    fields: &impl FieldSource<'j>,
    message: MessageKind,
    key: Key,
) -> Result<&'j [u8], BinanceError> {
    match fields.get(key) {
        FieldValue::String(text) => Ok(text),
        other => Err(wrong_type(
            message,
            FieldPath::key(key.name()),
            JsonType::String,
            other,
        )),
    }
}

fn name<'j>(
    fields: &impl FieldSource<'j>,
    message: MessageKind,
    key: Key,
) -> Result<Name, BinanceError> {
    let text = string(fields, message, key)?;
    Name::from_utf8_bytes(text).ok_or(BinanceError::NameTooLong {
        message,
        field: key.name(),
        len: text.len(),
    })
}

fn decimal<'j, T: Decimal>(
    fields: &impl FieldSource<'j>,
    message: MessageKind,
    key: Key,
) -> Result<T, BinanceError> {
    let text = string(fields, message, key)?;
    T::parse(text).map_err(|fault| fault.into_error(message, FieldPath::key(key.name())))
}

fn levels<'j>(
    fields: &impl FieldSource<'j>,
    message: MessageKind,
    key: Key,
    out: &mut [Level],
) -> Result<usize, BinanceError> {
    match fields.get(key) {
        FieldValue::Array => fields.levels(message, key, out),
        other => Err(wrong_type(
            message,
            FieldPath::key(key.name()),
            JsonType::Array,
            other,
        )),
    }
}

/// What is wrong with a price or quantity string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DecimalFault {
    Fixed(FixedError),
    Negative,
}

impl DecimalFault {
    #[cold]
    fn into_error(self, message: MessageKind, field: FieldPath) -> BinanceError {
        match self {
            Self::Fixed(source) => BinanceError::BadDecimal {
                message,
                field,
                source,
            },
            Self::Negative => BinanceError::Negative { message, field },
        }
    }
}

/// [`Price`] and [`Qty`] from a Binance decimal string: exact and not negative.
trait Decimal: Sized {
    fn from_raw_value(raw: i64) -> Self;
    fn from_decimal_text(text: &[u8]) -> Result<Self, FixedError>;
    fn raw_value(&self) -> i64;

    /// Binance's canonical form through [`canonical_decimal`], anything else through
    /// `from_decimal`; both are exact and agree wherever the first applies.
    #[inline]
    fn parse(text: &[u8]) -> Result<Self, DecimalFault> {
        if let Some((raw, end)) = canonical_decimal(text, 0)
            && end == text.len()
        {
            return Ok(Self::from_raw_value(raw));
        }
        match Self::from_decimal_text(text) {
            Ok(value) if value.raw_value() < 0 => Err(DecimalFault::Negative),
            Ok(value) => Ok(value),
            Err(error) => Err(DecimalFault::Fixed(error)),
        }
    }
}

impl Decimal for Price {
    #[inline]
    fn from_raw_value(raw: i64) -> Self {
        Self::from_raw(raw)
    }

    fn from_decimal_text(text: &[u8]) -> Result<Self, FixedError> {
        Self::from_decimal(text)
    }

    #[inline]
    fn raw_value(&self) -> i64 {
        self.raw()
    }
}

impl Decimal for Qty {
    #[inline]
    fn from_raw_value(raw: i64) -> Self {
        Self::from_raw(raw)
    }

    fn from_decimal_text(text: &[u8]) -> Result<Self, FixedError> {
        Self::from_decimal(text)
    }

    #[inline]
    fn raw_value(&self) -> i64 {
        self.raw()
    }
}

/// Most integer digits [`canonical_decimal`] takes: `9_999_999_999 * 10^8` fits `i64`.
const CANONICAL_INTEGER_DIGITS_MAX: usize = 10;

/// Binance's canonical decimal at `bytes[at..]`: 1 to 10 digits, `.`, exactly 8 digits
/// (`61837.63000000`). Returns the raw 10^-8 value, the same `from_decimal` computes, and the
/// index after the last digit; `None` for any other shape (the caller then uses
/// `from_decimal`). This is the hot loop of depth decoding: the 8 decimals are converted
/// with one SWAR pass instead of a byte loop.
#[inline(always)]
fn canonical_decimal(bytes: &[u8], at: usize) -> Option<(i64, usize)> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    // Common case, up to 7 integer digits: find the point in the first 8 bytes and convert
    // the digits before it with the same SWAR step, left-padded with '0's.
    if let Some(head) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(head.try_into().ok()?);
        let points = word ^ (ONES * u64::from(b'.'));
        // High bit of each byte equal to '.': exact for the lowest one.
        let points = points.wrapping_sub(ONES) & !points & (ONES << 7);
        if points != 0 {
            let digits = (points.trailing_zeros() / 8) as usize;
            if digits == 0 {
                return None;
            }
            // Move the `digits` low bytes to the top; fill the bytes below with '0'.
            let shift = (8 - digits) * 8;
            let padded = (word << shift) | (ZERO_DIGITS >> (64 - shift));
            let integer = eight_digits(padded)?;
            return with_fraction(bytes, i64::from(integer), at + digits);
        }
    }
    let mut integer: i64 = 0;
    let mut point = at;
    // Bounded: at most CANONICAL_INTEGER_DIGITS_MAX + 1 iterations.
    loop {
        match bytes.get(point) {
            Some(&digit @ b'0'..=b'9') if point - at < CANONICAL_INTEGER_DIGITS_MAX => {
                integer = integer * 10 + i64::from(digit - b'0');
                point += 1;
            }
            Some(b'.') if point > at => break,
            _ => return None,
        }
    }
    with_fraction(bytes, integer, point)
}

/// Completes [`canonical_decimal`] given the integer part and the index of the point.
#[inline(always)]
fn with_fraction(bytes: &[u8], integer: i64, point: usize) -> Option<(i64, usize)> {
    let fraction: [u8; 8] = bytes.get(point + 1..point + 9)?.try_into().ok()?;
    let fraction = eight_digits(u64::from_le_bytes(fraction))?;
    Some((integer * FIXED_SCALE + i64::from(fraction), point + 9))
}

/// Eight ASCII '0's.
const ZERO_DIGITS: u64 = 0x3030_3030_3030_3030;

/// Eight ASCII digits (first digit in the lowest byte) as a number, or `None` if any byte
/// is not a digit. The classic SWAR reduction: pairs, then quads, then the octet.
#[inline(always)]
fn eight_digits(chunk: u64) -> Option<u32> {
    const ZEROS: u64 = ZERO_DIGITS;
    const HIGH_NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    // Every byte is 0x30..=0x39: high nibble 3, and adding 6 does not carry out of it.
    if chunk & HIGH_NIBBLES != ZEROS
        || chunk.wrapping_add(0x0606_0606_0606_0606) & HIGH_NIBBLES != ZEROS
    {
        return None;
    }
    let digits = chunk - ZEROS;
    // Byte i of `pairs` holds 10 * d[i] + d[i+1]; the even ones are the four pairs.
    let pairs = digits.wrapping_mul(10).wrapping_add(digits >> 8);
    const LOW_PAIRS: u64 = 0x0000_00FF_0000_00FF;
    // 100 + (1_000_000 << 32) and 1 + (10_000 << 32): weights of the four pairs.
    let value = ((pairs & LOW_PAIRS)
        .wrapping_mul(100 + (1_000_000 << 32))
        .wrapping_add(((pairs >> 16) & LOW_PAIRS).wrapping_mul(1 + (10_000 << 32))))
        >> 32;
    u32::try_from(value).ok()
}

/// Parses one `[price, qty]` level; on failure, which of the two strings was bad.
#[inline]
fn parse_level(price: &[u8], qty: &[u8]) -> Result<Level, (Column, DecimalFault)> {
    Ok(Level {
        price: Price::parse(price).map_err(|fault| (Column::Price, fault))?,
        qty: Qty::parse(qty).map_err(|fault| (Column::Qty, fault))?,
    })
}

/// Reusable Binance JSON decoder: holds simd-json's buffers and tape and the two level
/// arrays, all sized at construction (see the module contract).
pub struct BinanceDecoder {
    buffers: Buffers,
    /// Empty between calls; its allocation is reused with each input's lifetime.
    tape: Tape<'static>,
    bids: Box<[Level]>,
    asks: Box<[Level]>,
    max_message_len: usize,
}

impl fmt::Debug for BinanceDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BinanceDecoder")
            .field("max_levels_per_side", &self.bids.len())
            .field("max_message_len", &self.max_message_len)
            .finish_non_exhaustive()
    }
}

impl Default for BinanceDecoder {
    /// A decoder for snapshots up to Binance's maximum depth, [`DEFAULT_MAX_LEVELS_PER_SIDE`].
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LEVELS_PER_SIDE)
    }
}

impl BinanceDecoder {
    /// A decoder holding up to `max_levels_per_side` levels per side, accepting messages up
    /// to `MESSAGE_OVERHEAD_MAX + 2 * max_levels_per_side * LEVEL_TEXT_MAX` bytes (644,096
    /// for the default 5000). Allocates all its buffers here, about 25 bytes per byte of
    /// that limit at most, and primes them by parsing a synthetic snapshot of full depth.
    ///
    /// # Panics
    /// If the buffers cannot be allocated (an absurd `max_levels_per_side`).
    #[must_use]
    pub fn new(max_levels_per_side: usize) -> Self {
        let max_message_len = max_levels_per_side
            .saturating_mul(2 * LEVEL_TEXT_MAX)
            .saturating_add(MESSAGE_OVERHEAD_MAX);
        let mut decoder = Self {
            buffers: Buffers::new(max_message_len),
            tape: Tape(Vec::new()),
            bids: vec![Level::default(); max_levels_per_side].into_boxed_slice(),
            asks: vec![Level::default(); max_levels_per_side].into_boxed_slice(),
            max_message_len,
        };
        decoder.prime();
        decoder
    }

    /// Parses a full-depth snapshot of the densest realistic form (`["0","0"]` levels) plus
    /// some slack, padded to the size limit, so that simd-json sizes its structural index,
    /// stack and our tape for the largest message we accept.
    fn prime(&mut self) {
        const SLACK_VALUES: usize = 512;
        let mut json = Vec::with_capacity(self.max_message_len);
        json.extend_from_slice(br#"{"lastUpdateId":0,"bids":["#);
        for side in [&br#"],"asks":["#[..], &br#"],"slack":["#[..]] {
            for index in 0..self.bids.len() {
                if index > 0 {
                    json.push(b',');
                }
                json.extend_from_slice(br#"["0","0"]"#);
            }
            json.extend_from_slice(side);
        }
        for index in 0..SLACK_VALUES {
            if index > 0 {
                json.push(b',');
            }
            json.push(b'0');
        }
        json.extend_from_slice(b"]}");
        json.resize(self.max_message_len.max(json.len()), b' ');
        let mut tape = core::mem::replace(&mut self.tape, Tape(Vec::new())).reset();
        // The message is valid JSON; the outcome does not matter, only the buffer sizes.
        let _ = simd_json::fill_tape(&mut json, &mut self.buffers, &mut tape);
        self.tape = tape.reset();
    }

    /// Level capacity per side.
    #[must_use]
    pub fn max_levels_per_side(&self) -> usize {
        self.bids.len()
    }

    /// Longest message accepted, in bytes.
    #[must_use]
    pub fn max_message_len(&self) -> usize {
        self.max_message_len
    }

    /// Decodes one message and returns its event (see [`Self::decode_message`] for the
    /// stream name). The level slices borrow the decoder until the next call.
    ///
    /// `json` is the message alone (no receive timestamp, no trailing newline needed). It is
    /// mutable because simd-json unescapes strings in place: its contents are unspecified
    /// afterwards.
    ///
    /// # Errors
    /// A [`BinanceError`] if the message is too long, not well-formed JSON, not a message
    /// this module recognises, or any field it reads is missing, duplicated, of the wrong
    /// type or out of range; see the module docs.
    #[inline]
    pub fn decode<'a>(&'a mut self, json: &mut [u8]) -> Result<Event<'a>, BinanceError> {
        self.decode_message(json).map(|message| message.event)
    }

    /// Decodes one message and returns its event and combined-stream name.
    ///
    /// # Errors
    /// As [`Self::decode`].
    #[inline]
    pub fn decode_message<'a>(&'a mut self, json: &mut [u8]) -> Result<Message<'a>, BinanceError> {
        self.check_len(json.len())?;
        match scan::decode(json, &mut self.bids, &mut self.asks) {
            Some(decoded) => Ok(decoded.attach(&self.bids, &self.asks)),
            None => self.decode_tape_unchecked(json),
        }
    }

    /// Decodes with the reference path only (simd-json tape walk), never the fast scanner.
    /// Slower; the result is always what [`Self::decode_message`] returns. For differential
    /// tests, fuzzing and benchmarks.
    ///
    /// # Errors
    /// As [`Self::decode`].
    pub fn decode_with_tape<'a>(
        &'a mut self,
        json: &mut [u8],
    ) -> Result<Message<'a>, BinanceError> {
        self.check_len(json.len())?;
        self.decode_tape_unchecked(json)
    }

    #[inline]
    fn check_len(&self, len: usize) -> Result<(), BinanceError> {
        if len > self.max_message_len {
            return Err(BinanceError::MessageTooLarge {
                len,
                max: self.max_message_len,
            });
        }
        Ok(())
    }

    fn decode_tape_unchecked<'a>(
        &'a mut self,
        json: &mut [u8],
    ) -> Result<Message<'a>, BinanceError> {
        let mut tape = core::mem::replace(&mut self.tape, Tape(Vec::new())).reset();
        let decoded = match simd_json::fill_tape(json, &mut self.buffers, &mut tape) {
            Ok(()) => tape::decode(&tape.0, &mut self.bids, &mut self.asks),
            Err(error) => Err(BinanceError::malformed(&error)),
        };
        self.tape = tape.reset();
        decoded.map(|decoded| decoded.attach(&self.bids, &self.asks))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn canonical_decimal_is_from_decimal(integer in 0u64..10_000_000_000, fraction in 0u32..100_000_000, width in 1usize..=10) {
            let text = format!("{integer:0width$}.{fraction:08}");
            let parsed = canonical_decimal(text.as_bytes(), 0);
            if text.len() - 9 <= CANONICAL_INTEGER_DIGITS_MAX {
                prop_assert_eq!(parsed, from_decimal_raw(&text).map(|raw| (raw, text.len())));
            } else {
                prop_assert_eq!(parsed, None);
            }
        }

        #[test]
        fn decimal_parse_is_from_decimal_on_any_text(
            text in "[0-9]{1,12}\\.[0-9]{6,10}|[0-9]{0,9}[.][0-9]{8}|[-0-9.a\"]{0,24}"
        ) {
            let ours = <Price as Decimal>::parse(text.as_bytes()).map(Price::raw);
            let reference = match Price::from_decimal(text.as_bytes()) {
                Ok(value) if value.raw() < 0 => Err(DecimalFault::Negative),
                Ok(value) => Ok(value.raw()),
                Err(error) => Err(DecimalFault::Fixed(error)),
            };
            prop_assert_eq!(ours, reference);
        }
    }

    const DEPTH: &[u8] = br#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255308,"s":"BTCUSDT","U":50093239203,"u":50093239207,"b":[["55653.87000000","0.00000000"]],"a":[["61838.04000000","0.32332000"],["61844.30000000","0.40163000"]]}}"#;
    const TICKER: &[u8] = br#"{"stream":"btcusdt@bookTicker","data":{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}"#;
    const TRADE: &[u8] = br#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}"#;
    const SNAPSHOT: &[u8] =
        br#"{"lastUpdateId":50093239218,"bids":[["61837.63000000","3.78826000"]],"asks":[]}"#;

    fn from_decimal_raw(text: &str) -> Option<i64> {
        Price::from_decimal(text.as_bytes()).ok().map(Price::raw)
    }

    #[test]
    fn eight_digits_matches_a_byte_loop() {
        for text in [
            "00000000", "12345678", "99999999", "63000000", "00000001", "10000000",
        ] {
            let chunk = u64::from_le_bytes(text.as_bytes().try_into().expect("8 bytes"));
            assert_eq!(eight_digits(chunk), text.parse().ok(), "{text}");
        }
        let not_digits: [&[u8; 8]; 7] = [
            b"1234567a",
            b"/2345678",
            b":2345678",
            b"1234 678",
            b"123456.8",
            b"\xff0000000",
            b"0000000\x00",
        ];
        for bytes in not_digits {
            assert_eq!(eight_digits(u64::from_le_bytes(*bytes)), None, "{bytes:?}");
        }
    }

    #[test]
    fn canonical_decimal_agrees_with_from_decimal() {
        for text in [
            "0.00000000",
            "61837.63000000",
            "3.78826000",
            "9999999999.99999999",
            "0000000001.00000001",
            "1.00000000",
            "1234567.12345678",
            "12345678.12345678",
            "123456789.00000000",
            "0.00010000",
        ] {
            let parsed = canonical_decimal(text.as_bytes(), 0);
            assert_eq!(parsed.map(|(raw, _)| raw), from_decimal_raw(text), "{text}");
            assert_eq!(parsed.map(|(_, end)| end), Some(text.len()), "{text}");
        }
        // Other shapes are left to from_decimal.
        for text in [
            "",
            ".",
            "1",
            "1.",
            "1.0",
            "1.1234567",
            ".12345678",
            "-1.00000000",
            "12345678901.00000000",
            "1.0000000a",
            "1e3.00000000",
            " 1.00000000",
            "1.2.345678",
            "12a4.12345678",
            "1..12345678",
            "1234567.1234567",
            "1\"2.12345678",
        ] {
            let parsed = canonical_decimal(text.as_bytes(), 0);
            assert!(
                parsed.is_none_or(|(_, end)| end != text.len()),
                "{text}: {parsed:?}"
            );
        }
    }

    #[test]
    fn fast_path_takes_the_real_message_shapes() {
        let mut bids = [Level::default(); 4];
        let mut asks = [Level::default(); 4];
        for json in [DEPTH, TICKER, TRADE, SNAPSHOT] {
            assert!(
                scan::decode(json, &mut bids, &mut asks).is_some(),
                "{}",
                String::from_utf8_lossy(json)
            );
        }
    }
}
