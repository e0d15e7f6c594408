//! The ITCH 5.0 message table and the code generated from it.
//!
//! Each message is declared once, as the spec's table: field name, kind and offset. From that
//! one declaration the macro below generates the struct, its decoder (loads at constant
//! offsets from a `&[u8; LEN]`), its encoder, its JSON writer, and its arm in [`decode`],
//! [`message_len`] and [`Message`]. A compile-time check asserts that the offsets are
//! contiguous and end exactly at the declared length, so a typo in the table does not build.
//!
//! Each entry is `hot` (decoded inline in [`decode`]: the order-book messages) or `cold`
//! (decoded out of line: directory, status and auction messages).
//!
//! Field kinds: `U16`, `U32`, `U64` (integers), `Price4` (`u32`), `Price8` (`u64`), `Char`
//! (one alpha byte, `u8`), `Alpha2`/`Alpha4`/`Mpid`/`Stock` ([`Alpha`] of 2/4/4/8 bytes).

use tickwire_common::Price;

use super::{
    Alpha, HEADER_LEN, ItchError, MAX_MESSAGE_LEN, MAX_TIMESTAMP, MIN_MESSAGE_LEN, Mpid, Stock,
    json, price4, price8,
};

/// `N` bytes at constant offset `$at` of the array `$wire`, as an array (or a byte for 1).
macro_rules! get {
    ($wire:ident, $at:literal, 1) => {
        $wire[$at]
    };
    ($wire:ident, $at:literal, 2) => {
        [$wire[$at], $wire[$at + 1]]
    };
    ($wire:ident, $at:literal, 4) => {
        [$wire[$at], $wire[$at + 1], $wire[$at + 2], $wire[$at + 3]]
    };
    ($wire:ident, $at:literal, 6) => {
        [
            $wire[$at],
            $wire[$at + 1],
            $wire[$at + 2],
            $wire[$at + 3],
            $wire[$at + 4],
            $wire[$at + 5],
        ]
    };
    ($wire:ident, $at:literal, 8) => {
        [
            $wire[$at],
            $wire[$at + 1],
            $wire[$at + 2],
            $wire[$at + 3],
            $wire[$at + 4],
            $wire[$at + 5],
            $wire[$at + 6],
            $wire[$at + 7],
        ]
    };
}

/// Stores the `N`-byte array `$bytes` at constant offset `$at` of the array `$wire`.
macro_rules! put {
    ($wire:ident, $at:literal, $bytes:expr, 2) => {{
        let bytes: [u8; 2] = $bytes;
        $wire[$at] = bytes[0];
        $wire[$at + 1] = bytes[1];
    }};
    ($wire:ident, $at:literal, $bytes:expr, 4) => {{
        let bytes: [u8; 4] = $bytes;
        $wire[$at] = bytes[0];
        $wire[$at + 1] = bytes[1];
        $wire[$at + 2] = bytes[2];
        $wire[$at + 3] = bytes[3];
    }};
    ($wire:ident, $at:literal, $bytes:expr, 6) => {{
        let bytes: [u8; 6] = $bytes;
        $wire[$at] = bytes[0];
        $wire[$at + 1] = bytes[1];
        $wire[$at + 2] = bytes[2];
        $wire[$at + 3] = bytes[3];
        $wire[$at + 4] = bytes[4];
        $wire[$at + 5] = bytes[5];
    }};
    ($wire:ident, $at:literal, $bytes:expr, 8) => {{
        let bytes: [u8; 8] = $bytes;
        $wire[$at] = bytes[0];
        $wire[$at + 1] = bytes[1];
        $wire[$at + 2] = bytes[2];
        $wire[$at + 3] = bytes[3];
        $wire[$at + 4] = bytes[4];
        $wire[$at + 5] = bytes[5];
        $wire[$at + 6] = bytes[6];
        $wire[$at + 7] = bytes[7];
    }};
}

/// The Rust type of a field kind.
macro_rules! field_type {
    (U16) => { u16 };
    (U32) => { u32 };
    (U64) => { u64 };
    (Price4) => { u32 };
    (Price8) => { u64 };
    (Char) => { u8 };
    (Alpha2) => { Alpha<2> };
    (Alpha4) => { Alpha<4> };
    (Mpid) => { Mpid };
    (Stock) => { Stock };
}

/// The wire width of a field kind.
macro_rules! field_width {
    (U16) => {
        2
    };
    (U32) => {
        4
    };
    (U64) => {
        8
    };
    (Price4) => {
        4
    };
    (Price8) => {
        8
    };
    (Char) => {
        1
    };
    (Alpha2) => {
        2
    };
    (Alpha4) => {
        4
    };
    (Mpid) => {
        4
    };
    (Stock) => {
        8
    };
}

/// Reads a field of the given kind at a constant offset.
macro_rules! read_field {
    (U16, $wire:ident, $at:literal) => {
        u16::from_be_bytes(get!($wire, $at, 2))
    };
    (U32, $wire:ident, $at:literal) => {
        u32::from_be_bytes(get!($wire, $at, 4))
    };
    (U64, $wire:ident, $at:literal) => {
        u64::from_be_bytes(get!($wire, $at, 8))
    };
    (Price4, $wire:ident, $at:literal) => {
        u32::from_be_bytes(get!($wire, $at, 4))
    };
    (Price8, $wire:ident, $at:literal) => {
        u64::from_be_bytes(get!($wire, $at, 8))
    };
    (Char, $wire:ident, $at:literal) => {
        get!($wire, $at, 1)
    };
    (Alpha2, $wire:ident, $at:literal) => {
        Alpha(get!($wire, $at, 2))
    };
    (Alpha4, $wire:ident, $at:literal) => {
        Alpha(get!($wire, $at, 4))
    };
    (Mpid, $wire:ident, $at:literal) => {
        Alpha(get!($wire, $at, 4))
    };
    (Stock, $wire:ident, $at:literal) => {
        Alpha(get!($wire, $at, 8))
    };
}

/// Writes a field of the given kind at a constant offset.
macro_rules! write_field {
    (U16, $wire:ident, $at:literal, $value:expr) => {
        put!($wire, $at, $value.to_be_bytes(), 2)
    };
    (U32, $wire:ident, $at:literal, $value:expr) => {
        put!($wire, $at, $value.to_be_bytes(), 4)
    };
    (U64, $wire:ident, $at:literal, $value:expr) => {
        put!($wire, $at, $value.to_be_bytes(), 8)
    };
    (Price4, $wire:ident, $at:literal, $value:expr) => {
        put!($wire, $at, $value.to_be_bytes(), 4)
    };
    (Price8, $wire:ident, $at:literal, $value:expr) => {
        put!($wire, $at, $value.to_be_bytes(), 8)
    };
    (Char, $wire:ident, $at:literal, $value:expr) => {
        $wire[$at] = $value
    };
    (Alpha2, $wire:ident, $at:literal, $value:expr) => {
        put!($wire, $at, $value.0, 2)
    };
    (Alpha4, $wire:ident, $at:literal, $value:expr) => {
        put!($wire, $at, $value.0, 4)
    };
    (Mpid, $wire:ident, $at:literal, $value:expr) => {
        put!($wire, $at, $value.0, 4)
    };
    (Stock, $wire:ident, $at:literal, $value:expr) => {
        put!($wire, $at, $value.0, 8)
    };
}

/// Writes a field's JSON value: integers as numbers, alpha as trimmed, escaped strings.
macro_rules! json_value {
    (Char, $out:ident, $value:expr) => {
        json::push_alpha($out, &[$value])
    };
    (Alpha2, $out:ident, $value:expr) => {
        json::push_alpha($out, $value.as_bytes())
    };
    (Alpha4, $out:ident, $value:expr) => {
        json::push_alpha($out, $value.as_bytes())
    };
    (Mpid, $out:ident, $value:expr) => {
        json::push_alpha($out, $value.as_bytes())
    };
    (Stock, $out:ident, $value:expr) => {
        json::push_alpha($out, $value.as_bytes())
    };
    ($integer:ident, $out:ident, $value:expr) => {
        json::push_u64($out, u64::from($value))
    };
}

/// For price fields, a method of the field's name returning a [`Price`]; nothing otherwise.
macro_rules! price_accessor {
    (Price4, $field:ident) => {
        #[doc = concat!("`", stringify!($field), "` as an exact [`Price`] (`Price(4)` scaled to 10^-8).")]
        #[inline]
        #[must_use]
        pub fn $field(&self) -> Price {
            price4(self.$field)
        }
    };
    (Price8, $field:ident) => {
        #[doc = concat!("`", stringify!($field), "` as a [`Price`] (`Price(8)` maps 1:1); `None` if it exceeds `i64::MAX`.")]
        #[inline]
        #[must_use]
        pub fn $field(&self) -> Option<Price> {
            price8(self.$field)
        }
    };
    ($other:ident, $field:ident) => {};
}

/// For `cold` message types, an out-of-line decoder: keeping the big, rare types out of
/// [`decode`] leaves the hot order-book arms few registers to save and restore.
macro_rules! outlined_decoder {
    (hot, $len:literal) => {};
    (cold, $len:literal) => {
        /// [`Self::from_wire`] wrapped in a [`Message`], out of line.
        #[cold]
        #[inline(never)]
        fn message_from_wire(wire: &[u8; $len]) -> Message {
            Message::from(Self::from_wire(wire))
        }
    };
}

/// The [`decode`] arm of a message type: inline for `hot` types, a call for `cold` ones.
macro_rules! decode_arm {
    (hot, $name:ident, $wire:ident) => {
        Message::$name($name::from_wire($wire))
    };
    (cold, $name:ident, $wire:ident) => {
        $name::message_from_wire($wire)
    };
}

/// Generates everything from the message table; see the module docs.
macro_rules! itch_messages {
    ($(
        $(#[$meta:meta])*
        $code:literal => $name:ident, $len:literal, $placement:ident {
            $( $(#[$field_meta:meta])* $field:ident: $kind:ident @ $at:literal, )+
        }
    )+) => {
        $(
            $(#[$meta])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
            pub struct $name {
                /// Locate code identifying the security for the day (0 for messages not
                /// tied to a stock).
                pub stock_locate: u16,
                /// Nasdaq internal tracking number.
                pub tracking_number: u16,
                /// Nanoseconds since midnight (6 bytes on the wire: at most
                /// [`MAX_TIMESTAMP`]).
                pub timestamp: u64,
                $( $(#[$field_meta])* pub $field: field_type!($kind), )+
            }

            // The table's offsets must be contiguous from the header and end at the length.
            const _: () = {
                let mut at = HEADER_LEN;
                $(
                    assert!($at == at, concat!("bad offset for ", stringify!($name), "::", stringify!($field)));
                    at += field_width!($kind);
                )+
                assert!(at == $len, concat!("fields do not add up to the length of ", stringify!($name)));
                assert!(MIN_MESSAGE_LEN <= $len && $len <= MAX_MESSAGE_LEN);
            };

            impl $name {
                /// The message type byte.
                pub const MESSAGE_TYPE: u8 = $code;
                /// The fixed length on the wire, type byte included.
                pub const LEN: usize = $len;

                /// Reads every field; the length is guaranteed by the array type.
                // `always`: ~10 loads and stores; a call frame per message would cost as much.
                #[inline(always)]
                fn from_wire(wire: &[u8; $len]) -> Self {
                    Self {
                        stock_locate: u16::from_be_bytes(get!(wire, 1, 2)),
                        tracking_number: u16::from_be_bytes(get!(wire, 3, 2)),
                        timestamp: timestamp_from(get!(wire, 5, 6)),
                        $( $field: read_field!($kind, wire, $at), )+
                    }
                }

                /// Decodes one message of this type (type byte first, exactly
                #[doc = concat!(stringify!($len), " bytes).")]
                ///
                /// # Errors
                /// [`ItchError::Empty`], [`ItchError::UnexpectedType`] if the type byte is
                /// another type's, [`ItchError::Length`] if the length is not exactly
                #[doc = concat!(stringify!($len), ".")]
                #[inline]
                pub fn decode(bytes: &[u8]) -> Result<Self, ItchError> {
                    match bytes.first() {
                        Some(&$code) => {}
                        Some(&actual) => {
                            return Err(ItchError::UnexpectedType { expected: $code, actual });
                        }
                        None => return Err(ItchError::Empty),
                    }
                    match <&[u8; $len]>::try_from(bytes) {
                        Ok(wire) => Ok(Self::from_wire(wire)),
                        Err(_) => Err(ItchError::Length {
                            message_type: $code,
                            expected: $len,
                            actual: bytes.len(),
                        }),
                    }
                }

                /// Writes the message's exact wire bytes at the start of `out`; returns the
                /// number of bytes written
                #[doc = concat!("(", stringify!($len), ").")]
                ///
                /// # Errors
                /// [`ItchError::BufferTooSmall`] if `out` is shorter than the message,
                /// [`ItchError::TimestampOutOfRange`] if the timestamp exceeds
                /// [`MAX_TIMESTAMP`]. Nothing is written on error.
                #[inline]
                pub fn encode(&self, out: &mut [u8]) -> Result<usize, ItchError> {
                    let timestamp = timestamp_to(self.timestamp, $code)?;
                    let available = out.len();
                    let Some(wire) = out.first_chunk_mut::<$len>() else {
                        return Err(ItchError::BufferTooSmall {
                            message_type: $code,
                            needed: $len,
                            available,
                        });
                    };
                    wire[0] = $code;
                    put!(wire, 1, self.stock_locate.to_be_bytes(), 2);
                    put!(wire, 3, self.tracking_number.to_be_bytes(), 2);
                    put!(wire, 5, timestamp, 6);
                    $( write_field!($kind, wire, $at, self.$field); )+
                    Ok($len)
                }

                /// Appends the message as one JSON object (format in the [module
                /// docs](super)).
                pub fn write_json(&self, out: &mut String) {
                    json::push_header(
                        out,
                        $code,
                        self.stock_locate,
                        self.tracking_number,
                        self.timestamp,
                    );
                    $(
                        out.push_str(concat!(",\"", stringify!($field), "\":"));
                        json_value!($kind, out, self.$field);
                    )+
                    out.push('}');
                }

                $( price_accessor!($kind, $field); )+

                outlined_decoder!($placement, $len);
            }

            impl From<$name> for Message {
                #[inline]
                fn from(message: $name) -> Self {
                    Self::$name(message)
                }
            }
        )+

        /// One decoded ITCH 5.0 message.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Message {
            $(
                #[doc = concat!("Type `", stringify!($code), "`: [`", stringify!($name), "`].")]
                $name($name),
            )+
        }

        impl Message {
            /// The message type byte (e.g. `b'A'`).
            #[inline]
            #[must_use]
            pub const fn message_type(&self) -> u8 {
                match self {
                    $( Self::$name(_) => $code, )+
                }
            }

            /// The message's length on the wire, type byte included.
            #[inline]
            #[must_use]
            pub const fn encoded_len(&self) -> usize {
                match self {
                    $( Self::$name(_) => $len, )+
                }
            }

            /// The Stock Locate code (same position in every message).
            #[inline]
            #[must_use]
            pub const fn stock_locate(&self) -> u16 {
                match self {
                    $( Self::$name(message) => message.stock_locate, )+
                }
            }

            /// The Nasdaq internal tracking number.
            #[inline]
            #[must_use]
            pub const fn tracking_number(&self) -> u16 {
                match self {
                    $( Self::$name(message) => message.tracking_number, )+
                }
            }

            /// Nanoseconds since midnight.
            #[inline]
            #[must_use]
            pub const fn timestamp(&self) -> u64 {
                match self {
                    $( Self::$name(message) => message.timestamp, )+
                }
            }

            /// Writes the message's exact wire bytes at the start of `out`; returns the
            /// number of bytes written ([`Message::encoded_len`]).
            ///
            /// # Errors
            /// [`ItchError::BufferTooSmall`] if `out` is shorter than the message,
            /// [`ItchError::TimestampOutOfRange`] if the timestamp exceeds [`MAX_TIMESTAMP`].
            /// Nothing is written on error.
            #[inline]
            pub fn encode(&self, out: &mut [u8]) -> Result<usize, ItchError> {
                match self {
                    $( Self::$name(message) => message.encode(out), )+
                }
            }

            /// Appends the message as one JSON object, no trailing newline (format in the
            /// [module docs](super)).
            pub fn write_json(&self, out: &mut String) {
                match self {
                    $( Self::$name(message) => message.write_json(out), )+
                }
            }

            /// Same as [`decode`].
            ///
            /// # Errors
            /// As [`decode`].
            #[inline]
            pub fn decode(bytes: &[u8]) -> Result<Self, ItchError> {
                decode(bytes)
            }
        }

        /// The fixed length of an ITCH 5.0 message type, type byte included; `None` for a
        /// byte that is not an ITCH 5.0 message type.
        #[inline]
        #[must_use]
        pub const fn message_len(message_type: u8) -> Option<usize> {
            match message_type {
                $( $code => Some($len), )+
                _ => None,
            }
        }

        /// Every ITCH 5.0 message type byte, in the spec's order.
        pub const MESSAGE_TYPES: &[u8] = &[$( $code, )+];

        /// Decodes exactly one ITCH 5.0 message: `bytes` starts with the type byte and is
        /// exactly that type's length. Reads straight from the slice; never allocates, never
        /// panics.
        ///
        /// # Errors
        /// [`ItchError::Empty`] for no bytes, [`ItchError::UnknownType`] for a type byte
        /// outside ITCH 5.0, [`ItchError::Length`] if the length is not exactly the type's.
        #[inline]
        pub fn decode(bytes: &[u8]) -> Result<Message, ItchError> {
            let Some(&message_type) = bytes.first() else {
                return Err(ItchError::Empty);
            };
            match message_type {
                $(
                    $code => match <&[u8; $len]>::try_from(bytes) {
                        Ok(wire) => Ok(decode_arm!($placement, $name, wire)),
                        Err(_) => Err(ItchError::Length {
                            message_type,
                            expected: $len,
                            actual: bytes.len(),
                        }),
                    },
                )+
                _ => Err(ItchError::UnknownType { message_type }),
            }
        }
    };
}

/// The 6-byte big-endian timestamp as nanoseconds.
#[inline]
fn timestamp_from(bytes: [u8; 6]) -> u64 {
    let [b0, b1, b2, b3, b4, b5] = bytes;
    u64::from_be_bytes([0, 0, b0, b1, b2, b3, b4, b5])
}

/// The timestamp's 6 wire bytes, or an error if it does not fit.
#[inline]
fn timestamp_to(timestamp: u64, message_type: u8) -> Result<[u8; 6], ItchError> {
    match timestamp.to_be_bytes() {
        [0, 0, b0, b1, b2, b3, b4, b5] => Ok([b0, b1, b2, b3, b4, b5]),
        _ => Err(ItchError::TimestampOutOfRange {
            message_type,
            timestamp,
        }),
    }
}

const _: () = assert!(MAX_TIMESTAMP == 0x0000_FFFF_FFFF_FFFF);

itch_messages! {
    /// System Event (`S`, spec 1.1): a market or data feed handler event.
    b'S' => SystemEvent, 12, cold {
        /// `O` start of messages, `S` start of system hours, `Q` start of market hours,
        /// `M` end of market hours, `E` end of system hours, `C` end of messages.
        event_code: Char @ 11,
    }

    /// Stock Directory (`R`, spec 1.2.1): one per active symbol at the start of the day.
    b'R' => StockDirectory, 39, cold {
        /// Security symbol.
        stock: Stock @ 11,
        /// Listing market or tier: `Q` `G` `S` (Nasdaq), `N` `A` `P` `Z` `V`, or space.
        market_category: Char @ 19,
        /// Nasdaq listing compliance: `D` `E` `Q` `S` `G` `H` `J` `K` `C` `N`, or space.
        financial_status_indicator: Char @ 20,
        /// Shares in a round lot.
        round_lot_size: U32 @ 21,
        /// `Y` only round lots accepted, `N` no restriction.
        round_lots_only: Char @ 25,
        /// Security class (spec appendix).
        issue_classification: Char @ 26,
        /// Security sub-type (spec appendix).
        issue_sub_type: Alpha2 @ 27,
        /// `P` live/production, `T` test.
        authenticity: Char @ 29,
        /// Reg SHO Rule 203(b)(3): `Y` restricted, `N` not, space not available.
        short_sale_threshold_indicator: Char @ 30,
        /// `Y` set up as a new IPO, `N` not, space not available.
        ipo_flag: Char @ 31,
        /// LULD price band tier: `1`, `2`, or space.
        luld_reference_price_tier: Char @ 32,
        /// `Y` exchange traded product, `N` not, space not available.
        etp_flag: Char @ 33,
        /// Integral relationship of the ETP to its index (1 = not leveraged).
        etp_leverage_factor: U32 @ 34,
        /// `Y` inverse ETP, `N` not.
        inverse_indicator: Char @ 38,
    }

    /// Stock Trading Action (`H`, spec 1.2.2): halts, pauses and resumptions.
    b'H' => StockTradingAction, 25, cold {
        /// Security symbol.
        stock: Stock @ 11,
        /// `H` halted, `P` paused, `Q` quotation only, `T` trading.
        trading_state: Char @ 19,
        /// Reserved.
        reserved: Char @ 20,
        /// Trading action reason code (spec appendix).
        reason: Alpha4 @ 21,
    }

    /// Reg SHO Short Sale Price Test Restricted Indicator (`Y`, spec 1.2.3).
    b'Y' => RegShoRestriction, 20, cold {
        /// Security symbol.
        stock: Stock @ 11,
        /// `0` no price test, `1` restriction in effect, `2` restriction remains in effect.
        reg_sho_action: Char @ 19,
    }

    /// Market Participant Position (`L`, spec 1.2.4).
    b'L' => MarketParticipantPosition, 26, cold {
        /// Market participant identifier.
        mpid: Mpid @ 11,
        /// Security symbol.
        stock: Stock @ 15,
        /// `Y` primary market maker, `N` not.
        primary_market_maker: Char @ 23,
        /// `N` normal, `P` passive, `S` syndicate, `R` pre-syndicate, `L` penalty.
        market_maker_mode: Char @ 24,
        /// `A` active, `E` excused, `W` withdrawn, `S` suspended, `D` deleted.
        market_participant_state: Char @ 25,
    }

    /// MWCB Decline Level (`V`, spec 1.2.5.1): the day's market-wide circuit breaker levels.
    b'V' => MwcbDeclineLevel, 35, cold {
        /// Level 1, `Price(8)` raw.
        level_1: Price8 @ 11,
        /// Level 2, `Price(8)` raw.
        level_2: Price8 @ 19,
        /// Level 3, `Price(8)` raw.
        level_3: Price8 @ 27,
    }

    /// MWCB Status (`W`, spec 1.2.5.2): a market-wide circuit breaker level was breached.
    b'W' => MwcbStatus, 12, cold {
        /// `1`, `2` or `3`.
        breached_level: Char @ 11,
    }

    /// IPO Quoting Period Update (`K`, spec 1.2.6).
    b'K' => IpoQuotingPeriodUpdate, 28, cold {
        /// Security symbol.
        stock: Stock @ 11,
        /// Release time in seconds since midnight (0 when canceled/postponed).
        ipo_quotation_release_time: U32 @ 19,
        /// `A` anticipated release time, `C` canceled/postponed.
        ipo_quotation_release_qualifier: Char @ 23,
        /// IPO price, `Price(4)` raw.
        ipo_price: Price4 @ 24,
    }

    /// LULD Auction Collar (`J`, spec 1.2.7).
    b'J' => LuldAuctionCollar, 35, cold {
        /// Security symbol.
        stock: Stock @ 11,
        /// Reference price for the collars, `Price(4)` raw.
        auction_collar_reference_price: Price4 @ 19,
        /// Upper collar threshold, `Price(4)` raw.
        upper_auction_collar_price: Price4 @ 23,
        /// Lower collar threshold, `Price(4)` raw.
        lower_auction_collar_price: Price4 @ 27,
        /// Number of extensions to the reopening auction.
        auction_collar_extension: U32 @ 31,
    }

    /// Operational Halt (`h`, spec 1.2.8): a halt on one Nasdaq market center only.
    b'h' => OperationalHalt, 21, cold {
        /// Security symbol.
        stock: Stock @ 11,
        /// `Q` Nasdaq, `B` BX, `X` PSX.
        market_code: Char @ 19,
        /// `H` operationally halted, `T` halt lifted.
        operational_halt_action: Char @ 20,
    }

    /// Add Order, no MPID attribution (`A`, spec 1.3.1).
    b'A' => AddOrder, 36, hot {
        /// Day-unique order reference number.
        order_reference_number: U64 @ 11,
        /// `B` buy, `S` sell.
        buy_sell_indicator: Char @ 19,
        /// Displayed shares.
        shares: U32 @ 20,
        /// Security symbol.
        stock: Stock @ 24,
        /// Display price, `Price(4)` raw.
        price: Price4 @ 32,
    }

    /// Add Order with MPID attribution (`F`, spec 1.3.2).
    b'F' => AddOrderMpid, 40, hot {
        /// Day-unique order reference number.
        order_reference_number: U64 @ 11,
        /// `B` buy, `S` sell.
        buy_sell_indicator: Char @ 19,
        /// Displayed shares.
        shares: U32 @ 20,
        /// Security symbol.
        stock: Stock @ 24,
        /// Display price, `Price(4)` raw.
        price: Price4 @ 32,
        /// Market participant identifier of the order.
        attribution: Mpid @ 36,
    }

    /// Order Executed (`E`, spec 1.4.1): executed at the order's display price.
    b'E' => OrderExecuted, 31, hot {
        /// The executed order.
        order_reference_number: U64 @ 11,
        /// Shares executed.
        executed_shares: U32 @ 19,
        /// Day-unique match number.
        match_number: U64 @ 23,
    }

    /// Order Executed With Price (`C`, spec 1.4.2): executed at another price.
    b'C' => OrderExecutedWithPrice, 36, hot {
        /// The executed order.
        order_reference_number: U64 @ 11,
        /// Shares executed.
        executed_shares: U32 @ 19,
        /// Day-unique match number.
        match_number: U64 @ 23,
        /// `Y` printable, `N` non-printable (part of a later bulk print).
        printable: Char @ 31,
        /// Execution price, `Price(4)` raw.
        execution_price: Price4 @ 32,
    }

    /// Order Cancel (`X`, spec 1.4.3): a partial cancellation.
    b'X' => OrderCancel, 23, hot {
        /// The reduced order.
        order_reference_number: U64 @ 11,
        /// Shares removed from the displayed size.
        canceled_shares: U32 @ 19,
    }

    /// Order Delete (`D`, spec 1.4.4).
    b'D' => OrderDelete, 19, hot {
        /// The deleted order.
        order_reference_number: U64 @ 11,
    }

    /// Order Replace (`U`, spec 1.4.5): side, stock and attribution stay the original's.
    b'U' => OrderReplace, 35, hot {
        /// The replaced order.
        original_order_reference_number: U64 @ 11,
        /// The order's reference number from now on.
        new_order_reference_number: U64 @ 19,
        /// New displayed shares.
        shares: U32 @ 27,
        /// New display price, `Price(4)` raw.
        price: Price4 @ 31,
    }

    /// Trade, non-cross (`P`, spec 1.5.1): a match against a non-displayed order.
    b'P' => Trade, 44, hot {
        /// Zero since December 2010.
        order_reference_number: U64 @ 11,
        /// Always `B` since July 2014.
        buy_sell_indicator: Char @ 19,
        /// Shares matched.
        shares: U32 @ 20,
        /// Security symbol.
        stock: Stock @ 24,
        /// Match price, `Price(4)` raw.
        price: Price4 @ 32,
        /// Day-unique match number.
        match_number: U64 @ 36,
    }

    /// Cross Trade (`Q`, spec 1.5.2): the bulk print of a Nasdaq cross.
    b'Q' => CrossTrade, 40, cold {
        /// Shares matched in the cross (8 bytes).
        shares: U64 @ 11,
        /// Security symbol.
        stock: Stock @ 19,
        /// Cross price, `Price(4)` raw.
        cross_price: Price4 @ 27,
        /// Day-unique match number.
        match_number: U64 @ 31,
        /// `O` opening, `C` closing, `H` IPO/halted, `I` intraday/post-close.
        cross_type: Char @ 39,
    }

    /// Broken Trade (`B`, spec 1.5.3).
    b'B' => BrokenTrade, 19, cold {
        /// Match number of the broken execution.
        match_number: U64 @ 11,
    }

    /// Net Order Imbalance Indicator (`I`, spec 1.6).
    b'I' => Noii, 50, cold {
        /// Shares matchable at the current reference price.
        paired_shares: U64 @ 11,
        /// Shares not paired at the current reference price.
        imbalance_shares: U64 @ 19,
        /// `B` buy, `S` sell, `N` none, `O` insufficient orders, `P` paused.
        imbalance_direction: Char @ 27,
        /// Security symbol.
        stock: Stock @ 28,
        /// Hypothetical clearing price for cross orders only, `Price(4)` raw.
        far_price: Price4 @ 36,
        /// Hypothetical clearing price for cross and continuous orders, `Price(4)` raw.
        near_price: Price4 @ 40,
        /// Price at which the NOII shares are calculated, `Price(4)` raw.
        current_reference_price: Price4 @ 44,
        /// `O` opening, `C` closing, `H` IPO/halted, `A` extended trading close.
        cross_type: Char @ 48,
        /// Deviation of the near price from the reference price: `L`, `1`-`9`, `A`-`C`, space.
        price_variation_indicator: Char @ 49,
    }

    /// Retail Price Improvement Indicator (`N`, spec 1.7).
    b'N' => RetailPriceImprovement, 20, cold {
        /// Security symbol.
        stock: Stock @ 11,
        /// `B` buy side, `S` sell side, `A` both, `N` none.
        interest_flag: Char @ 19,
    }

    /// Direct Listing with Capital Raise Price Discovery (`O`, spec 1.8).
    b'O' => DirectListingCapitalRaise, 48, cold {
        /// Security symbol.
        stock: Stock @ 11,
        /// `Y` eligible for release, `N` not.
        open_eligibility_status: Char @ 19,
        /// Minimum allowable price, `Price(4)` raw.
        minimum_allowable_price: Price4 @ 20,
        /// Maximum allowable price, `Price(4)` raw.
        maximum_allowable_price: Price4 @ 24,
        /// Reference price when the volatility test passed, `Price(4)` raw.
        near_execution_price: Price4 @ 28,
        /// When the near execution price was set.
        near_execution_time: U64 @ 32,
        /// Lower price range collar, `Price(4)` raw.
        lower_price_range_collar: Price4 @ 40,
        /// Upper price range collar, `Price(4)` raw.
        upper_price_range_collar: Price4 @ 44,
    }
}

impl AddOrder {
    /// `shares` as a [`tickwire_common::Qty`].
    #[inline]
    #[must_use]
    pub const fn qty(&self) -> tickwire_common::Qty {
        tickwire_common::Qty::from_shares(self.shares)
    }
}

impl AddOrderMpid {
    /// `shares` as a [`tickwire_common::Qty`].
    #[inline]
    #[must_use]
    pub const fn qty(&self) -> tickwire_common::Qty {
        tickwire_common::Qty::from_shares(self.shares)
    }
}
