//! OUCH 4.2 field types: text newtypes, [`Price4`], [`TimeInForce`] and the one-byte code
//! types.
//!
//! The one-byte codes (side, display, reasons, ...) are `#[repr(transparent)]` newtypes over
//! the wire byte with an associated constant per code the spec lists (`Side::BUY`), usable in
//! `match` patterns. Any byte is representable, so decoding never fails on a code Nasdaq added
//! after this was written, encoding is a plain store (no branch, no jump table on the hot
//! path), and `decode(encode(x)) == x` holds for every value.

use core::fmt;

use tickwire_common::{Price, Qty};

use super::OuchError;

/// A fixed-width wire field of `N` bytes. Implemented by every type an OUCH message holds;
/// the message macro checks each field's declared spec size against its implementation.
pub(crate) trait Field<const N: usize>: Sized {
    /// The value of `N` wire bytes (infallible: every byte pattern is representable).
    fn from_wire(bytes: [u8; N]) -> Self;
    /// The `N` wire bytes.
    fn to_wire(self) -> [u8; N];
}

impl Field<4> for u32 {
    #[inline(always)]
    fn from_wire(bytes: [u8; 4]) -> Self {
        Self::from_be_bytes(bytes)
    }
    #[inline(always)]
    fn to_wire(self) -> [u8; 4] {
        self.to_be_bytes()
    }
}

impl Field<8> for u64 {
    #[inline(always)]
    fn from_wire(bytes: [u8; 8]) -> Self {
        Self::from_be_bytes(bytes)
    }
    #[inline(always)]
    fn to_wire(self) -> [u8; 8] {
        self.to_be_bytes()
    }
}

/// Which text field a constructor rejected (for [`OuchError`] messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextField {
    /// [`Token`] text.
    Token,
    /// [`TokenPrefix`] text.
    TokenPrefix,
    /// [`Stock`] symbol.
    Stock,
    /// [`Firm`] identifier.
    Firm,
}

impl fmt::Display for TextField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Token => "order token",
            Self::TokenPrefix => "order token prefix",
            Self::Stock => "stock symbol",
            Self::Firm => "firm",
        })
    }
}

/// Copies `text` left-justified into `N` space-padded bytes, checking length and bytes.
fn pad_right<const N: usize>(
    text: &[u8],
    field: TextField,
    min_len: usize,
    allowed: fn(u8) -> bool,
) -> Result<[u8; N], OuchError> {
    if text.len() > N || text.len() < min_len {
        return Err(OuchError::TextLength {
            field,
            len: text.len(),
            min: min_len,
            max: N,
        });
    }
    let mut bytes = [b' '; N];
    for (offset, (slot, &byte)) in bytes.iter_mut().zip(text).enumerate() {
        if !allowed(byte) {
            return Err(OuchError::InvalidText {
                field,
                offset,
                byte,
            });
        }
        *slot = byte;
    }
    Ok(bytes)
}

/// `bytes` without trailing spaces.
fn trim_trailing_spaces(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|&byte| byte != b' ')
        .map_or(0, |last| last + 1);
    bytes.get(..end).unwrap_or(bytes)
}

macro_rules! text_newtype {
    ($(#[$meta:meta])* $name:ident, $len:literal) => {
        $(#[$meta])*
        #[repr(transparent)]
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name([u8; $len]);

        impl $name {
            /// Wire width in bytes.
            pub const LEN: usize = $len;

            /// Wraps raw wire bytes unchecked (decoders do this: OUCH echoes them as sent).
            #[inline]
            #[must_use]
            pub const fn from_bytes(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }

            /// The raw wire bytes, padding included.
            #[inline]
            #[must_use]
            pub const fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// The text without its trailing space padding.
            #[inline]
            #[must_use]
            pub fn text(&self) -> &[u8] {
                trim_trailing_spaces(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "(\"{}\")"), self.0.escape_ascii())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.text().escape_ascii())
            }
        }

        impl Field<$len> for $name {
            #[inline(always)]
            fn from_wire(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }
            #[inline(always)]
            fn to_wire(self) -> [u8; $len] {
                self.0
            }
        }
    };
}

text_newtype!(
    /// Order Token: 14 bytes, alphanumeric, left-justified and space padded, day-unique per
    /// OUCH account. Build one with [`Token::from_counter`] on the hot path (no allocation,
    /// no formatting machinery) or [`Token::from_text`].
    Token,
    14
);

text_newtype!(
    /// Stock symbol: 8 bytes, left-justified and space padded.
    Stock,
    8
);

text_newtype!(
    /// Firm identifier: 4 bytes, capitals; all spaces selects the account's default firm.
    Firm,
    4
);

impl Token {
    /// All spaces (never a valid order token; a placeholder).
    pub const BLANK: Self = Self([b' '; 14]);

    /// A token from 1 to 14 ASCII letters or digits, space padded on the right.
    ///
    /// # Errors
    /// [`OuchError::TextLength`] for an empty or too long text, [`OuchError::InvalidText`]
    /// for a byte that is not an ASCII letter or digit.
    pub fn from_text(text: &[u8]) -> Result<Self, OuchError> {
        pad_right::<14>(text, TextField::Token, 1, |byte| {
            byte.is_ascii_alphanumeric()
        })
        .map(Self)
    }

    /// The token `prefix` followed by `counter` in fixed-width upper-case base 36
    /// (`0-9A-Z`), zero filled: prefix `"TW"` and counter 35 give `"TW00000000000Z"`.
    /// No allocation, no formatting machinery: one division by a constant per non-zero digit.
    ///
    /// # Errors
    /// [`OuchError::TokenCounterOverflow`] if `counter` exceeds
    /// [`TokenPrefix::max_counter`].
    #[inline]
    pub fn from_counter(prefix: &TokenPrefix, counter: u64) -> Result<Self, OuchError> {
        if counter > prefix.max_counter {
            return Err(OuchError::TokenCounterOverflow {
                counter,
                max: prefix.max_counter,
            });
        }
        let mut bytes = prefix.template;
        let mut rest = counter;
        // `counter <= max_counter` guarantees `rest` reaches 0 within the digit positions,
        // so the prefix bytes are never overwritten; at most 13 iterations.
        for slot in bytes.iter_mut().rev() {
            if rest == 0 {
                break;
            }
            let digit = (rest % 36) as u8;
            *slot = if digit < 10 {
                b'0' + digit
            } else {
                b'A' - 10 + digit
            };
            rest /= 36;
        }
        Ok(Self(bytes))
    }

    /// The counter [`Token::from_counter`] encoded, if this token starts with `prefix` and
    /// the rest is base-36 digits (`0-9A-Z`) of a value that fits `u64`.
    #[must_use]
    pub fn counter(&self, prefix: &TokenPrefix) -> Option<u64> {
        let (head, digits) = self.0.split_at_checked(usize::from(prefix.len))?;
        if head != prefix.as_bytes() {
            return None;
        }
        digits.iter().try_fold(0u64, |value, &byte| {
            let digit = match byte {
                b'0'..=b'9' => byte - b'0',
                b'A'..=b'Z' => byte - b'A' + 10,
                _ => return None,
            };
            value.checked_mul(36)?.checked_add(u64::from(digit))
        })
    }
}

/// A caller-chosen prefix for [`Token::from_counter`] (0 to 13 ASCII letters or digits), with
/// the digit capacity that remains, computed once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenPrefix {
    /// The prefix followed by `'0'` in every digit position.
    template: [u8; 14],
    len: u8,
    max_counter: u64,
}

impl TokenPrefix {
    /// No prefix: 14 base-36 digits, every `u64` counter fits.
    pub const EMPTY: Self = Self {
        template: [b'0'; 14],
        len: 0,
        max_counter: u64::MAX,
    };

    /// A prefix of at most 13 ASCII letters or digits (at least one digit must remain).
    ///
    /// # Errors
    /// [`OuchError::TextLength`] if longer than 13 bytes, [`OuchError::InvalidText`] for a
    /// byte that is not an ASCII letter or digit.
    pub fn new(prefix: &[u8]) -> Result<Self, OuchError> {
        const MAX_LEN: usize = Token::LEN - 1;
        if prefix.len() > MAX_LEN {
            return Err(OuchError::TextLength {
                field: TextField::TokenPrefix,
                len: prefix.len(),
                min: 0,
                max: MAX_LEN,
            });
        }
        let mut template = [b'0'; 14];
        for (offset, (slot, &byte)) in template.iter_mut().zip(prefix).enumerate() {
            if !byte.is_ascii_alphanumeric() {
                return Err(OuchError::InvalidText {
                    field: TextField::TokenPrefix,
                    offset,
                    byte,
                });
            }
            *slot = byte;
        }
        // At most 13 bytes, so the narrowing is exact.
        let len = prefix.len() as u8;
        let digits = u32::from(14 - len);
        let max_counter = 36u64
            .checked_pow(digits)
            .map_or(u64::MAX, |power| power - 1);
        Ok(Self {
            template,
            len,
            max_counter,
        })
    }

    /// The prefix bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.template
            .get(..usize::from(self.len))
            .unwrap_or_default()
    }

    /// Base-36 digit positions left after the prefix.
    #[must_use]
    pub const fn digits(&self) -> usize {
        Token::LEN - self.len as usize
    }

    /// The largest counter [`Token::from_counter`] accepts with this prefix
    /// (`36^digits - 1`, or `u64::MAX` when 13 or more digits remain).
    #[must_use]
    pub const fn max_counter(&self) -> u64 {
        self.max_counter
    }
}

impl Stock {
    /// A symbol of 1 to 8 printable ASCII bytes other than space, space padded on the right.
    ///
    /// # Errors
    /// [`OuchError::TextLength`] for an empty or too long symbol, [`OuchError::InvalidText`]
    /// for a space, control or non-ASCII byte.
    pub fn from_symbol(symbol: &[u8]) -> Result<Self, OuchError> {
        pad_right::<8>(symbol, TextField::Stock, 1, |byte| byte.is_ascii_graphic()).map(Self)
    }
}

impl Firm {
    /// All spaces: the OUCH account's default firm.
    pub const DEFAULT: Self = Self([b' '; 4]);

    /// A firm of 0 to 4 upper-case ASCII letters or digits, space padded on the right
    /// (empty is [`Firm::DEFAULT`]).
    ///
    /// # Errors
    /// [`OuchError::TextLength`] if longer than 4 bytes, [`OuchError::InvalidText`] for a byte
    /// that is not an upper-case letter or digit.
    pub fn from_text(text: &[u8]) -> Result<Self, OuchError> {
        pad_right::<4>(text, TextField::Firm, 0, |byte| {
            byte.is_ascii_uppercase() || byte.is_ascii_digit()
        })
        .map(Self)
    }
}

/// An OUCH `Price(4)`: an unsigned 32-bit count of 1/10,000 of a dollar, as on the wire.
///
/// Messages hold prices in wire form so that encoding is infallible and branch-free; convert
/// once, where the order is built, with [`Price4::from_price`] and back with
/// [`Price4::to_price`] (always exact).
#[repr(transparent)]
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price4(u32);

/// Raw 10^-8 units per 10^-4 price unit.
const PRICE4_RAW_SCALE: i64 = 10_000;

impl Price4 {
    /// `$214,748.3647` (`0x7FFF_FFFF`): the price OUCH uses for market orders in a cross.
    pub const MARKET: Self = Self(0x7FFF_FFFF);

    /// Wraps a raw wire value (1/10,000 dollar units).
    #[inline]
    #[must_use]
    pub const fn from_raw(raw: u32) -> Self {
        Self(raw)
    }

    /// The raw wire value (1/10,000 dollar units).
    #[inline]
    #[must_use]
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// The price as a [`Price`] (exact: every `u32` fits).
    #[inline]
    #[must_use]
    pub fn to_price(self) -> Price {
        Price::from_raw(i64::from(self.0) * PRICE4_RAW_SCALE)
    }

    /// The wire price for `price`, if it is a whole number of 1/10,000 dollars within
    /// `0..=u32::MAX` of them (`Price::to_scaled(4)`).
    ///
    /// # Errors
    /// [`OuchError::PriceNotRepresentable`] otherwise (sub-tick digits, negative, too large,
    /// or [`Price::NONE`]).
    #[inline]
    pub fn from_price(price: Price) -> Result<Self, OuchError> {
        price
            .to_scaled(4)
            .and_then(|scaled| u32::try_from(scaled).ok())
            .map(Self)
            .ok_or(OuchError::PriceNotRepresentable { raw: price.raw() })
    }
}

impl fmt::Debug for Price4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Price4({}.{:04})", self.0 / 10_000, self.0 % 10_000)
    }
}

impl Field<4> for Price4 {
    #[inline(always)]
    fn from_wire(bytes: [u8; 4]) -> Self {
        Self(u32::from_be_bytes(bytes))
    }
    #[inline(always)]
    fn to_wire(self) -> [u8; 4] {
        self.0.to_be_bytes()
    }
}

/// Whole shares for an OUCH `shares` field.
///
/// # Errors
/// [`OuchError::SharesNotRepresentable`] unless `qty` is a whole number of shares in
/// `0..=u32::MAX`.
#[inline]
pub fn shares_from_qty(qty: Qty) -> Result<u32, OuchError> {
    qty.to_shares()
        .ok_or(OuchError::SharesNotRepresentable { raw: qty.raw() })
}

/// Time in Force: a 4-byte integer, the order's lifetime in seconds, with three special
/// values ([`TimeInForce::IOC`], [`TimeInForce::MARKET_HOURS`], [`TimeInForce::SYSTEM_HOURS`]).
/// Kept as the wire value so that encoding is a plain store; [`TimeInForce::kind`] gives an
/// exhaustive view.
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeInForce(u32);

/// What a [`TimeInForce`] value means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeInForceKind {
    /// 0: immediate or cancel.
    Ioc,
    /// 99,998: lives until the end of the market hours.
    MarketHours,
    /// 99,999: lives until the end of the system hours.
    SystemHours,
    /// Any other value: lives this many seconds.
    Seconds(u32),
}

impl TimeInForce {
    /// 0: immediate or cancel.
    pub const IOC: Self = Self(0);
    /// 99,998: until the end of the market hours.
    pub const MARKET_HOURS: Self = Self(99_998);
    /// 99,999: until the end of the system hours.
    pub const SYSTEM_HOURS: Self = Self(99_999);

    /// The value as on the wire.
    #[inline]
    #[must_use]
    pub const fn from_wire(value: u32) -> Self {
        Self(value)
    }

    /// The wire value.
    #[inline]
    #[must_use]
    pub const fn to_wire(self) -> u32 {
        self.0
    }

    /// A lifetime in seconds (0, 99,998 and 99,999 carry the special meanings instead).
    #[inline]
    #[must_use]
    pub const fn seconds(seconds: u32) -> Self {
        Self(seconds)
    }

    /// What the value means.
    #[inline]
    #[must_use]
    pub const fn kind(self) -> TimeInForceKind {
        match self {
            Self::IOC => TimeInForceKind::Ioc,
            Self::MARKET_HOURS => TimeInForceKind::MarketHours,
            Self::SYSTEM_HOURS => TimeInForceKind::SystemHours,
            Self(seconds) => TimeInForceKind::Seconds(seconds),
        }
    }
}

impl fmt::Debug for TimeInForce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            TimeInForceKind::Ioc => f.write_str("TimeInForce::IOC"),
            TimeInForceKind::MarketHours => f.write_str("TimeInForce::MARKET_HOURS"),
            TimeInForceKind::SystemHours => f.write_str("TimeInForce::SYSTEM_HOURS"),
            TimeInForceKind::Seconds(seconds) => write!(f, "TimeInForce({seconds} s)"),
        }
    }
}

impl Field<4> for TimeInForce {
    #[inline(always)]
    fn from_wire(bytes: [u8; 4]) -> Self {
        Self(u32::from_be_bytes(bytes))
    }
    #[inline(always)]
    fn to_wire(self) -> [u8; 4] {
        self.0.to_be_bytes()
    }
}

macro_rules! code_type {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$code_meta:meta])* $code:ident = $byte:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[repr(transparent)]
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u8);

        impl $name {
            $( $(#[$code_meta])* pub const $code: Self = Self($byte); )+

            /// Every code named here, in spec order.
            pub const KNOWN: &'static [Self] = &[$( Self::$code, )+];

            /// The code for a wire byte (any byte).
            #[inline]
            #[must_use]
            pub const fn from_byte(byte: u8) -> Self {
                Self(byte)
            }

            /// The wire byte.
            #[inline]
            #[must_use]
            pub const fn to_byte(self) -> u8 {
                self.0
            }

            /// The constant's name if the code is one named here.
            #[must_use]
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $byte => Some(stringify!($code)), )+
                    _ => None,
                }
            }

            /// True if the code is one named here.
            #[inline]
            #[must_use]
            pub const fn is_known(self) -> bool {
                self.name().is_some()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(name) => write!(f, concat!(stringify!($name), "::{}"), name),
                    None => write!(f, concat!(stringify!($name), "({:?})"), char::from(self.0)),
                }
            }
        }

        impl Field<1> for $name {
            #[inline(always)]
            fn from_wire(bytes: [u8; 1]) -> Self {
                Self(bytes[0])
            }
            #[inline(always)]
            fn to_wire(self) -> [u8; 1] {
                [self.0]
            }
        }
    };
}

code_type!(
    /// Buy/Sell Indicator.
    Side {
        /// `B`: buy.
        BUY = b'B',
        /// `S`: sell.
        SELL = b'S',
        /// `T`: sell short (client affirms the ability to borrow).
        SELL_SHORT = b'T',
        /// `E`: sell short exempt.
        SELL_SHORT_EXEMPT = b'E',
    }
);

code_type!(
    /// Display.
    Display {
        /// `A`: attributable, price to display.
        ATTRIBUTABLE = b'A',
        /// `Y`: anonymous, price to comply.
        ANONYMOUS = b'Y',
        /// `N`: non-display.
        NON_DISPLAY = b'N',
        /// `P`: post-only.
        POST_ONLY = b'P',
        /// `I`: imbalance-only (opening and closing cross).
        IMBALANCE_ONLY = b'I',
        /// `M`: mid-point peg.
        MID_POINT_PEG = b'M',
        /// `W`: mid-point peg, post-only.
        MID_POINT_PEG_POST_ONLY = b'W',
        /// `L`: post-only and attributable, price to display.
        POST_ONLY_ATTRIBUTABLE = b'L',
        /// `O`: retail order type 1.
        RETAIL_ORDER_TYPE_1 = b'O',
        /// `T`: retail order type 2.
        RETAIL_ORDER_TYPE_2 = b'T',
        /// `Q`: retail price improvement order.
        RETAIL_PRICE_IMPROVEMENT = b'Q',
        /// `Z` (outbound only): entered as displayed, changed to non-displayed (priced to
        /// comply).
        CHANGED_TO_NON_DISPLAY = b'Z',
    }
);

code_type!(
    /// Capacity; the host converts values other than `A`, `P`, `R` to `O`.
    Capacity {
        /// `A`: agency.
        AGENCY = b'A',
        /// `P`: principal.
        PRINCIPAL = b'P',
        /// `R`: riskless.
        RISKLESS = b'R',
        /// `O`: other.
        OTHER = b'O',
    }
);

code_type!(
    /// Intermarket Sweep Eligibility.
    IntermarketSweep {
        /// `Y`: eligible.
        ELIGIBLE = b'Y',
        /// `N`: not eligible.
        NOT_ELIGIBLE = b'N',
        /// `y`: trade-at intermarket sweep order.
        TRADE_AT = b'y',
    }
);

code_type!(
    /// Cross Type.
    CrossType {
        /// `N`: no cross (continuous market).
        NO_CROSS = b'N',
        /// `O`: opening cross.
        OPENING = b'O',
        /// `C`: closing cross.
        CLOSING = b'C',
        /// `H`: halt/IPO cross.
        HALT_IPO = b'H',
        /// `S`: supplemental order.
        SUPPLEMENTAL = b'S',
        /// `R`: retail.
        RETAIL = b'R',
        /// `E`: extended life.
        EXTENDED_LIFE = b'E',
    }
);

code_type!(
    /// Customer Type.
    CustomerType {
        /// `R`: retail designated order.
        RETAIL = b'R',
        /// `N`: not a retail designated order.
        NOT_RETAIL = b'N',
        /// Space: the default configured for the port.
        PORT_DEFAULT = b' ',
    }
);

code_type!(
    /// Order State (Accepted and Replaced messages).
    OrderState {
        /// `L`: the order is live.
        LIVE = b'L',
        /// `D`: the order is dead (for example an IOC order that did not execute).
        DEAD = b'D',
    }
);

code_type!(
    /// BBO Weight Indicator (Accepted and Replaced messages).
    BboWeight {
        /// `0`: 0 to 0.2%.
        UP_TO_0_2_PERCENT = b'0',
        /// `1`: 0.2% to 1%.
        UP_TO_1_PERCENT = b'1',
        /// `2`: 1% to 2%.
        UP_TO_2_PERCENT = b'2',
        /// `3`: more than 2%.
        ABOVE_2_PERCENT = b'3',
        /// Space: unspecified.
        UNSPECIFIED = b' ',
        /// `S`: sets the QBBO while joining the NBBO.
        SETS_QBBO = b'S',
        /// `N`: improves the NBBO upon entry.
        IMPROVES_NBBO = b'N',
    }
);

code_type!(
    /// System Event code.
    EventCode {
        /// `S`: start of day, always the first message of the day.
        START_OF_DAY = b'S',
        /// `E`: end of day; no new orders or replaces are accepted.
        END_OF_DAY = b'E',
    }
);

code_type!(
    /// Liquidity Flag of an execution (the most common codes are named; the spec's list
    /// grows with pricing programs).
    LiquidityFlag {
        /// `A`: added.
        ADDED = b'A',
        /// `R`: removed.
        REMOVED = b'R',
        /// `O`: opening cross.
        OPENING_CROSS = b'O',
        /// `M`: opening cross (imbalance-only).
        OPENING_CROSS_IMBALANCE_ONLY = b'M',
        /// `C`: closing cross.
        CLOSING_CROSS = b'C',
        /// `L`: closing cross (imbalance-only).
        CLOSING_CROSS_IMBALANCE_ONLY = b'L',
        /// `H`: halt/IPO cross.
        HALT_IPO_CROSS = b'H',
        /// `K`: halt cross.
        HALT_CROSS = b'K',
        /// `J`: non-displayed, adding liquidity.
        NON_DISPLAYED_ADDED = b'J',
        /// `k`: added liquidity via a mid-point order.
        MID_POINT_ADDED = b'k',
        /// `m`: removed liquidity at a mid-point.
        MID_POINT_REMOVED = b'm',
        /// `0`: supplemental order execution.
        SUPPLEMENTAL = b'0',
        /// `7`: displayed, liquidity-adding order improves the NBBO.
        IMPROVES_NBBO = b'7',
        /// `8`: displayed, liquidity-adding order sets the QBBO while joining the NBBO.
        SETS_QBBO = b'8',
        /// `d`: retail designated execution that removed liquidity.
        RETAIL_REMOVED = b'd',
        /// `e`: retail designated execution that added displayed liquidity.
        RETAIL_ADDED_DISPLAYED = b'e',
        /// `f`: retail designated execution that added non-displayed liquidity.
        RETAIL_ADDED_NON_DISPLAYED = b'f',
        /// `j`: RPI (retail price improving) order provides liquidity.
        RETAIL_PRICE_IMPROVING_ADDED = b'j',
        /// `r`: retail order removes RPI liquidity.
        RETAIL_REMOVES_RPI = b'r',
        /// `t`: retail order removes price-improving non-displayed liquidity other than RPI.
        RETAIL_REMOVES_NON_DISPLAYED = b't',
    }
);

code_type!(
    /// Reason an order was reduced or canceled (Canceled and AIQ Canceled messages).
    CancelReason {
        /// `U`: user requested (Cancel Order or Replace Order message).
        USER_REQUESTED = b'U',
        /// `I`: immediate or cancel order, no further matches.
        IMMEDIATE_OR_CANCEL = b'I',
        /// `T`: timeout, the time in force expired.
        TIMEOUT = b'T',
        /// `S`: supervisory, canceled from a Nasdaq supervisory terminal.
        SUPERVISORY = b'S',
        /// `D`: cannot execute because of a regulatory restriction (e.g. trade through).
        REGULATORY_RESTRICTION = b'D',
        /// `Q`: self-match prevention.
        SELF_MATCH_PREVENTION = b'Q',
        /// `Z`: system cancel.
        SYSTEM_CANCEL = b'Z',
        /// `C`: cross canceled.
        CROSS_CANCELED = b'C',
        /// `K`: market collars.
        MARKET_COLLARS = b'K',
        /// `H`: halted.
        HALTED = b'H',
        /// `X`: open protection.
        OPEN_PROTECTION = b'X',
        /// `E`: closed (a day order received after the closing cross completed).
        CLOSED = b'E',
    }
);

code_type!(
    /// Broken Trade Reason.
    BrokenTradeReason {
        /// `E`: deemed clearly erroneous.
        ERRONEOUS = b'E',
        /// `C`: both parties agreed to break the trade.
        CONSENT = b'C',
        /// `S`: broken from a Nasdaq supervisory terminal.
        SUPERVISORY = b'S',
        /// `X`: broken by an external third party.
        EXTERNAL = b'X',
    }
);

code_type!(
    /// Rejected Order Reason. The spec tells clients to expect additions to this list.
    ///
    /// The OUCH 4.2 lists we could verify have no code for an unknown or duplicate order
    /// token; a simulator that reports them uses [`RejectReason::OTHER`] (`O`).
    /// Unknown symbol is [`RejectReason::INVALID_STOCK`], bad price
    /// [`RejectReason::INVALID_PRICE`].
    RejectReason {
        /// `T`: account in test mode, non-test security.
        TEST_MODE = b'T',
        /// `H`: trading halt in this stock.
        HALTED = b'H',
        /// `Z`: shares exceed the account's configured safety threshold.
        SHARES_EXCEED_SAFETY_THRESHOLD = b'Z',
        /// `S`: invalid stock.
        INVALID_STOCK = b'S',
        /// `D`: invalid display type.
        INVALID_DISPLAY_TYPE = b'D',
        /// `C`: Nasdaq is closed.
        CLOSED = b'C',
        /// `L`: requested firm not authorized for the clearing type on this account.
        FIRM_NOT_AUTHORIZED = b'L',
        /// `M`: outside of the permitted times for the clearing type.
        OUTSIDE_PERMITTED_TIMES = b'M',
        /// `R`: order not allowed in this type of cross.
        NOT_ALLOWED_IN_CROSS = b'R',
        /// `X`: invalid price.
        INVALID_PRICE = b'X',
        /// `N`: invalid minimum quantity.
        INVALID_MINIMUM_QUANTITY = b'N',
        /// `O`: other.
        OTHER = b'O',
        /// `W`: invalid mid-point post-only price.
        INVALID_MID_POINT_POST_ONLY_PRICE = b'W',
        /// `a`: reject all enabled.
        REJECT_ALL_ENABLED = b'a',
        /// `b`: easy to borrow (ETB) reject.
        EASY_TO_BORROW = b'b',
        /// `c`: restricted symbol list reject.
        RESTRICTED_SYMBOL = b'c',
        /// `d`: ISO order restriction.
        ISO_RESTRICTION = b'd',
        /// `e`: odd lot order restriction.
        ODD_LOT_RESTRICTION = b'e',
        /// `f`: mid-point order restriction.
        MID_POINT_RESTRICTION = b'f',
        /// `g`: pre-market order restriction.
        PRE_MARKET_RESTRICTION = b'g',
        /// `h`: post-market order restriction.
        POST_MARKET_RESTRICTION = b'h',
        /// `i`: short sale order restriction.
        SHORT_SALE_RESTRICTION = b'i',
        /// `j`: on-open order restriction.
        ON_OPEN_RESTRICTION = b'j',
        /// `k`: on-close order restriction.
        ON_CLOSE_RESTRICTION = b'k',
        /// `l`: two-sided quote reject.
        TWO_SIDED_QUOTE = b'l',
        /// `m`: exceeded shares limit.
        EXCEEDED_SHARES_LIMIT = b'm',
        /// `n`: exceeded dollar value limit.
        EXCEEDED_DOLLAR_VALUE_LIMIT = b'n',
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_tokens_are_fixed_width_base36() {
        let prefix = TokenPrefix::new(b"TW").unwrap();
        assert_eq!(prefix.digits(), 12);
        let token = Token::from_counter(&prefix, 35).unwrap();
        assert_eq!(token.as_bytes(), b"TW00000000000Z");
        let token = Token::from_counter(&prefix, 36 * 36 + 1).unwrap();
        assert_eq!(token.as_bytes(), b"TW000000000101");
        let max = Token::from_counter(&TokenPrefix::EMPTY, u64::MAX).unwrap();
        assert_eq!(max.as_bytes(), b"03W5E11264SGSF");
    }

    #[test]
    fn counter_overflow_is_an_error() {
        let prefix = TokenPrefix::new(b"ABCDEFGHIJKLM").unwrap();
        assert_eq!(prefix.max_counter(), 35);
        assert!(Token::from_counter(&prefix, 35).is_ok());
        assert_eq!(
            Token::from_counter(&prefix, 36),
            Err(OuchError::TokenCounterOverflow {
                counter: 36,
                max: 35
            })
        );
    }

    #[test]
    fn counter_round_trips() {
        let prefix = TokenPrefix::new(b"Q7").unwrap();
        for counter in [0, 1, 35, 36, 1_000_000, prefix.max_counter()] {
            let token = Token::from_counter(&prefix, counter).unwrap();
            assert_eq!(token.counter(&prefix), Some(counter));
        }
        let other = TokenPrefix::new(b"Q8").unwrap();
        let token = Token::from_counter(&prefix, 5).unwrap();
        assert_eq!(token.counter(&other), None);
    }

    #[test]
    fn text_constructors_validate() {
        assert_eq!(
            Token::from_text(b"ab c"),
            Err(OuchError::InvalidText {
                field: TextField::Token,
                offset: 2,
                byte: b' '
            })
        );
        assert!(Token::from_text(b"").is_err());
        assert!(Token::from_text(b"123456789012345").is_err());
        assert_eq!(
            Stock::from_symbol(b"AAPL").map(|s| *s.as_bytes()),
            Ok(*b"AAPL    ")
        );
        assert_eq!(Stock::from_symbol(b"AAPL").map(|s| s.text().len()), Ok(4));
        assert_eq!(Firm::from_text(b""), Ok(Firm::DEFAULT));
        assert!(Firm::from_text(b"ab").is_err());
    }

    #[test]
    fn codes_are_raw_bytes_with_names() {
        assert_eq!(Side::from_byte(b'B'), Side::BUY);
        assert_eq!(Side::SELL_SHORT.to_byte(), b'T');
        assert_eq!(Side::BUY.name(), Some("BUY"));
        assert!(!Side::from_byte(b'?').is_known());
        assert_eq!(format!("{:?}", Side::BUY), "Side::BUY");
        assert_eq!(
            format!("{:?}", RejectReason::from_byte(b'?')),
            "RejectReason('?')"
        );
        assert_eq!(RejectReason::KNOWN.len(), 27);
        let described = match RejectReason::from_byte(b'S') {
            RejectReason::INVALID_STOCK => "unknown symbol",
            RejectReason::INVALID_PRICE => "bad price",
            _ => "other",
        };
        assert_eq!(described, "unknown symbol");
    }

    #[test]
    fn time_in_force_kinds() {
        assert_eq!(TimeInForce::from_wire(0).kind(), TimeInForceKind::Ioc);
        assert_eq!(TimeInForce::MARKET_HOURS.to_wire(), 99_998);
        assert_eq!(
            TimeInForce::SYSTEM_HOURS.kind(),
            TimeInForceKind::SystemHours
        );
        assert_eq!(
            TimeInForce::seconds(30).kind(),
            TimeInForceKind::Seconds(30)
        );
    }

    #[test]
    fn price4_converts_exactly() {
        let price = Price4::from_raw(1_234_500);
        assert_eq!(price.to_price(), Price::from_raw(12_345_000_000));
        assert_eq!(Price4::from_price(price.to_price()), Ok(price));
        assert!(Price4::from_price(Price::from_raw(1)).is_err());
        assert!(Price4::from_price(Price::NONE).is_err());
        assert!(Price4::from_price(Price::from_raw(-10_000)).is_err());
    }
}
