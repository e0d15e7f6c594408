//! Nasdaq OUCH 4.2 order-entry messages.
//!
//! Every message has a fixed length per type: a one-byte ASCII type, then big-endian
//! integers, space-padded ASCII text and one-byte codes. Outbound messages (host to client)
//! start with an 8-byte timestamp in nanoseconds since midnight. The types `U` and `M` exist
//! in both directions with different layouts, so each direction has its own decoder:
//! [`InboundMessage`] (Enter, Replace, Cancel, Modify) and [`OutboundMessage`] (System Event,
//! Accepted, Replaced, Canceled, AIQ Canceled, Executed, Broken Trade, Rejected, Cancel
//! Pending, Cancel Reject, Order Priority Update, Modified).
//!
//! Layouts follow the OUCH 4.2 specification (Nasdaq, OUCH4.2.pdf); the field tables are in
//! `messages.rs`, where a compile-time check ties them to the spec lengths.
//!
//! Contract:
//! - Decoders take exactly one message (the framing layer, SoupBinTCP or UFO, delimits it),
//!   never allocate and never panic; a wrong type or length is an [`OuchError`]. Every field
//!   value is accepted: one-byte codes ([`Side`], [`RejectReason`], ...) are newtypes over
//!   the wire byte with a constant per listed code, and text fields keep the raw bytes sent,
//!   so `encode(decode(bytes)) == bytes` for every byte string that decodes.
//! - Encoders write straight into the caller's buffer and never allocate. Messages hold wire
//!   representations ([`Price4`], `u32` shares, [`Token`], code bytes) so that encoding is
//!   infallible apart from the buffer length; [`EnterOrder::encode_array`] compiles to
//!   straight-line stores with no checks and no branches.

mod messages;
mod types;

use core::fmt;

pub use messages::{
    Accepted, AiqCanceled, BrokenTrade, CancelOrder, CancelPending, CancelReject, Canceled,
    EnterOrder, Executed, Modified, ModifyOrder, OrderPriorityUpdate, Rejected, ReplaceOrder,
    Replaced, SystemEvent,
};
pub use types::{
    BboWeight, BrokenTradeReason, CancelReason, Capacity, CrossType, CustomerType, Display,
    EventCode, Firm, IntermarketSweep, LiquidityFlag, OrderState, Price4, RejectReason, Side,
    Stock, TextField, TimeInForce, TimeInForceKind, Token, TokenPrefix, shares_from_qty,
};

/// Which way a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client to host (orders).
    Inbound,
    /// Host to client (acknowledgements, executions).
    Outbound,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
        })
    }
}

/// Why an OUCH message could not be decoded, encoded or built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OuchError {
    /// No bytes at all: the type byte at offset 0 is missing.
    #[error("empty OUCH message: no type byte at offset 0")]
    Empty,
    /// The type byte at offset 0 names no message of this direction.
    #[error("unknown {direction} OUCH message type {:?} at offset 0", char::from(*.message_type))]
    UnknownType {
        /// Direction decoded.
        direction: Direction,
        /// The type byte.
        message_type: u8,
    },
    /// The message is not exactly the spec length for its type; the first missing or extra
    /// byte is at offset `min(actual, expected)`.
    #[error(
        "OUCH {:?} message is {actual} bytes, expected {expected} (offset {})",
        char::from(*.message_type),
        (*.actual).min(*.expected)
    )]
    WrongLength {
        /// The type byte.
        message_type: u8,
        /// Spec length.
        expected: usize,
        /// Length given.
        actual: usize,
    },
    /// A single-type decoder was given another type at offset 0.
    #[error(
        "OUCH type byte at offset 0 is {:?}, expected {:?}",
        char::from(*.actual),
        char::from(*.expected)
    )]
    WrongType {
        /// The type the decoder reads.
        expected: u8,
        /// The type byte found.
        actual: u8,
    },
    /// The output buffer cannot hold the message.
    #[error(
        "output buffer holds {available} bytes, OUCH {:?} needs {needed}",
        char::from(*.message_type)
    )]
    BufferTooSmall {
        /// The type byte.
        message_type: u8,
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// A text field's length is out of range.
    #[error("{field} is {len} bytes, expected {min} to {max}")]
    TextLength {
        /// The field.
        field: TextField,
        /// Length given.
        len: usize,
        /// Shortest allowed.
        min: usize,
        /// Longest allowed.
        max: usize,
    },
    /// A text field holds a byte it may not contain.
    #[error("{field} has invalid byte {byte:#04x} at offset {offset}")]
    InvalidText {
        /// The field.
        field: TextField,
        /// Offset of the byte in the text.
        offset: usize,
        /// The byte.
        byte: u8,
    },
    /// The counter does not fit the digits left after the token prefix.
    #[error("token counter {counter} exceeds {max}, the largest that fits after the prefix")]
    TokenCounterOverflow {
        /// Counter given.
        counter: u64,
        /// Largest counter that fits.
        max: u64,
    },
    /// The price is not a whole number of 1/10,000 dollars within `0..=u32::MAX` of them.
    #[error("price of raw value {raw} (10^-8 units) has no exact OUCH Price(4) encoding")]
    PriceNotRepresentable {
        /// Raw value of the price.
        raw: i64,
    },
    /// The quantity is not a whole number of shares within `0..=u32::MAX`.
    #[error("quantity of raw value {raw} (10^-8 units) is not a whole u32 number of shares")]
    SharesNotRepresentable {
        /// Raw value of the quantity.
        raw: i64,
    },
}

macro_rules! message_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $direction:ident {
            $( $(#[$variant_meta:meta])* $variant:ident, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$variant_meta])* $variant($variant), )+
        }

        impl $name {
            /// Decodes one message of this direction; `bytes` must be exactly one message.
            ///
            /// # Errors
            /// [`OuchError::Empty`], [`OuchError::UnknownType`] or [`OuchError::WrongLength`].
            #[inline]
            pub fn decode(bytes: &[u8]) -> Result<Self, OuchError> {
                match bytes.first() {
                    None => Err(OuchError::Empty),
                    $( Some(&$variant::TYPE) => $variant::decode(bytes).map(Self::$variant), )+
                    Some(&message_type) => Err(OuchError::UnknownType {
                        direction: Direction::$direction,
                        message_type,
                    }),
                }
            }

            /// Writes the message to the start of `out` and returns its length.
            ///
            /// # Errors
            /// [`OuchError::BufferTooSmall`] if `out` cannot hold it.
            #[inline]
            pub fn encode(&self, out: &mut [u8]) -> Result<usize, OuchError> {
                match self {
                    $( Self::$variant(message) => message.encode(out), )+
                }
            }

            /// The type byte.
            #[inline]
            #[must_use]
            pub const fn message_type(&self) -> u8 {
                match self {
                    $( Self::$variant(_) => $variant::TYPE, )+
                }
            }

            /// Encoded length in bytes.
            #[inline]
            #[must_use]
            pub const fn encoded_len(&self) -> usize {
                match self {
                    $( Self::$variant(_) => $variant::LEN, )+
                }
            }

            /// The spec length of messages of type `message_type` in this direction, if the
            /// type exists (for framing layers that validate before decoding).
            #[inline]
            #[must_use]
            pub const fn len_of_type(message_type: u8) -> Option<usize> {
                match message_type {
                    $( $variant::TYPE => Some($variant::LEN), )+
                    _ => None,
                }
            }
        }

        $(
            impl From<$variant> for $name {
                #[inline]
                fn from(message: $variant) -> Self {
                    Self::$variant(message)
                }
            }
        )+
    };
}

message_enum!(
    /// A message from client to host.
    InboundMessage, Inbound {
        /// `O`.
        EnterOrder,
        /// `U`.
        ReplaceOrder,
        /// `X`.
        CancelOrder,
        /// `M`.
        ModifyOrder,
    }
);

message_enum!(
    /// A message from host to client.
    OutboundMessage, Outbound {
        /// `S`.
        SystemEvent,
        /// `A`.
        Accepted,
        /// `U`.
        Replaced,
        /// `C`.
        Canceled,
        /// `D`.
        AiqCanceled,
        /// `E`.
        Executed,
        /// `B`.
        BrokenTrade,
        /// `J`.
        Rejected,
        /// `P`.
        CancelPending,
        /// `I`.
        CancelReject,
        /// `T`.
        OrderPriorityUpdate,
        /// `M`.
        Modified,
    }
);

/// The largest OUCH 4.2 message (Replaced, 80 bytes): a buffer this long holds any message.
pub const MAX_MESSAGE_LEN: usize = Replaced::LEN;

const _: () = assert!(EnterOrder::LEN == 49 && ReplaceOrder::LEN == 47);
const _: () = assert!(CancelOrder::LEN == 19 && ModifyOrder::LEN == 20);
