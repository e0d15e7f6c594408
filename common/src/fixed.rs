//! Fixed-point values: [`Price`], [`Qty`] and [`Notional`].
//!
//! Each wraps an `i64` raw value counting units of 10^-8 ([`FIXED_SCALE`]), which holds every
//! price and quantity the supported venues publish without rounding: ITCH `Price(4)` and
//! OUCH prices scale up by 10^4, ITCH `Price(8)` and Binance decimals (8 places) map 1:1.
//! Conversions from wire formats are exact or fail; nothing goes through `f64`.
//!
//! Contract: no allocation, no panics except in the documented panicking constructors.

use core::fmt;

/// Decimal places of every fixed-point value.
pub const FIXED_DECIMALS: u8 = 8;
/// Raw units per whole unit (10^[`FIXED_DECIMALS`]).
pub const FIXED_SCALE: i64 = 100_000_000;
/// Longest text [`Price::write_decimal`] produces: sign, 11 integer digits, point, 8 decimals.
pub const DECIMAL_TEXT_MAX: usize = 21;

const POW10: [i64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// Why a value could not be converted into a fixed-point type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixedError {
    /// The text had no digits.
    Empty,
    /// A byte that is not a digit, a leading `-` or a single `.` at this position.
    InvalidByte {
        /// Zero-based byte offset in the input.
        position: usize,
    },
    /// More than [`FIXED_DECIMALS`] significant decimal places: the value is not representable
    /// without rounding.
    TooPrecise,
    /// The value does not fit the raw `i64`.
    Overflow,
}

impl fmt::Display for FixedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty decimal"),
            Self::InvalidByte { position } => write!(f, "invalid byte at offset {position}"),
            Self::TooPrecise => write!(f, "more than {FIXED_DECIMALS} decimal places"),
            Self::Overflow => f.write_str("value out of range"),
        }
    }
}

impl core::error::Error for FixedError {}

/// Parses an ASCII decimal (`-?digits[.digits]`) into a raw value scaled by 10^8.
///
/// Extra decimal places are accepted only when they are zeros ("1.000000000" is exact).
fn parse_decimal_raw(text: &[u8]) -> Result<i64, FixedError> {
    let (negative, digits, offset) = match text.split_first() {
        Some((b'-', rest)) => (true, rest, 1),
        Some(_) => (false, text, 0),
        None => return Err(FixedError::Empty),
    };
    let mut magnitude: u64 = 0;
    let mut decimals: usize = 0;
    let mut seen_point = false;
    let mut seen_digit = false;
    for (index, &byte) in digits.iter().enumerate() {
        match byte {
            b'0'..=b'9' => {
                seen_digit = true;
                if seen_point {
                    if decimals == usize::from(FIXED_DECIMALS) {
                        if byte != b'0' {
                            return Err(FixedError::TooPrecise);
                        }
                        continue;
                    }
                    decimals += 1;
                }
                magnitude = magnitude
                    .checked_mul(10)
                    .and_then(|m| m.checked_add(u64::from(byte - b'0')))
                    .ok_or(FixedError::Overflow)?;
            }
            b'.' if !seen_point => seen_point = true,
            _ => {
                return Err(FixedError::InvalidByte {
                    position: offset + index,
                });
            }
        }
    }
    if !seen_digit {
        return Err(FixedError::Empty);
    }
    // `decimals` is at most FIXED_DECIMALS, so the index is in range.
    let scale = POW10[usize::from(FIXED_DECIMALS) - decimals].cast_unsigned();
    let magnitude = magnitude.checked_mul(scale).ok_or(FixedError::Overflow)?;
    if negative {
        if magnitude > i64::MIN.unsigned_abs() {
            return Err(FixedError::Overflow);
        }
        Ok(0i64.wrapping_sub_unsigned(magnitude))
    } else {
        i64::try_from(magnitude).map_err(|_| FixedError::Overflow)
    }
}

/// Writes `raw / 10^8` with exactly 8 decimal places, as Binance prints decimals.
/// Returns the number of bytes written (at most [`DECIMAL_TEXT_MAX`]).
fn write_decimal_raw(raw: i64, out: &mut [u8; DECIMAL_TEXT_MAX]) -> usize {
    let mut scratch = [0u8; DECIMAL_TEXT_MAX];
    let mut magnitude = raw.unsigned_abs();
    let mut at = DECIMAL_TEXT_MAX;
    let mut written_decimals = 0;
    // Digits from the least significant end: 8 decimals, the point, then at least one digit.
    loop {
        at -= 1;
        if written_decimals == FIXED_DECIMALS {
            scratch[at] = b'.';
            written_decimals += 1;
            continue;
        }
        // `magnitude % 10` is below 10, so the narrowing is exact.
        scratch[at] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        written_decimals = written_decimals.saturating_add(1);
        if magnitude == 0 && written_decimals > FIXED_DECIMALS + 1 {
            break;
        }
    }
    if raw < 0 {
        at -= 1;
        scratch[at] = b'-';
    }
    let len = DECIMAL_TEXT_MAX - at;
    out[..len].copy_from_slice(&scratch[at..]);
    len
}

macro_rules! fixed_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[repr(transparent)]
        #[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(i64);

        impl $name {
            /// Zero.
            pub const ZERO: Self = Self(0);
            /// Largest representable value.
            pub const MAX: Self = Self(i64::MAX);
            /// Smallest representable value (one above the raw minimum, so negation is total).
            pub const MIN: Self = Self(i64::MIN + 1);

            /// Wraps a raw value counting 10^-8 units.
            #[inline]
            #[must_use]
            pub const fn from_raw(raw: i64) -> Self {
                Self(raw)
            }

            /// The raw value counting 10^-8 units.
            #[inline]
            #[must_use]
            pub const fn raw(self) -> i64 {
                self.0
            }

            /// A whole number of units.
            ///
            /// # Panics
            /// If `units * 10^8` overflows `i64`; use [`Self::new_checked`] for untrusted input.
            #[must_use]
            pub const fn new(units: i64) -> Self {
                match Self::new_checked(units) {
                    Ok(value) => value,
                    Err(_) => panic!("fixed-point value out of range"),
                }
            }

            /// A whole number of units.
            ///
            /// # Errors
            /// [`FixedError::Overflow`] if `units * 10^8` does not fit.
            pub const fn new_checked(units: i64) -> Result<Self, FixedError> {
                match units.checked_mul(FIXED_SCALE) {
                    Some(raw) => Ok(Self(raw)),
                    None => Err(FixedError::Overflow),
                }
            }

            /// An integer with `decimals` implied decimal places (ITCH `Price(4)` is
            /// `from_scaled(p, 4)`), converted exactly.
            ///
            /// # Errors
            /// [`FixedError::TooPrecise`] if `decimals` exceeds 8, [`FixedError::Overflow`] if
            /// the value does not fit.
            #[inline]
            pub const fn from_scaled(value: i64, decimals: u8) -> Result<Self, FixedError> {
                if decimals > FIXED_DECIMALS {
                    return Err(FixedError::TooPrecise);
                }
                match value.checked_mul(POW10[(FIXED_DECIMALS - decimals) as usize]) {
                    Some(raw) => Ok(Self(raw)),
                    None => Err(FixedError::Overflow),
                }
            }

            /// The value as an integer with `decimals` implied decimal places, if that is
            /// exact (no digits lost). `None` when `decimals` exceeds 8 or digits would be lost.
            #[inline]
            #[must_use]
            pub const fn to_scaled(self, decimals: u8) -> Option<i64> {
                if decimals > FIXED_DECIMALS {
                    return None;
                }
                let divisor = POW10[(FIXED_DECIMALS - decimals) as usize];
                if self.0 % divisor != 0 {
                    return None;
                }
                Some(self.0 / divisor)
            }

            /// Parses an ASCII decimal such as `"61234.56000000"` or `"-0.5"` exactly.
            ///
            /// # Errors
            /// A [`FixedError`] naming what is wrong; never panics on any input.
            #[inline]
            pub fn from_decimal(text: &[u8]) -> Result<Self, FixedError> {
                parse_decimal_raw(text).map(Self)
            }

            /// Writes the value with exactly 8 decimal places into `out` and returns the
            /// length, without allocating.
            #[inline]
            pub fn write_decimal(self, out: &mut [u8; DECIMAL_TEXT_MAX]) -> usize {
                write_decimal_raw(self.0, out)
            }

            /// `self + other`, `None` on overflow.
            #[inline]
            #[must_use]
            pub const fn checked_add(self, other: Self) -> Option<Self> {
                match self.0.checked_add(other.0) {
                    Some(raw) => Some(Self(raw)),
                    None => None,
                }
            }

            /// `self - other`, `None` on overflow.
            #[inline]
            #[must_use]
            pub const fn checked_sub(self, other: Self) -> Option<Self> {
                match self.0.checked_sub(other.0) {
                    Some(raw) => Some(Self(raw)),
                    None => None,
                }
            }

            /// `self + other`, clamped to the representable range.
            #[inline]
            #[must_use]
            pub const fn saturating_add(self, other: Self) -> Self {
                Self(self.0.saturating_add(other.0))
            }

            /// `self - other`, clamped to the representable range.
            #[inline]
            #[must_use]
            pub const fn saturating_sub(self, other: Self) -> Self {
                Self(self.0.saturating_sub(other.0))
            }

            /// Absolute value (total: `MIN` is one above the raw minimum).
            #[inline]
            #[must_use]
            pub const fn abs(self) -> Self {
                Self(self.0.saturating_abs())
            }

            /// True when the value is greater than zero.
            #[inline]
            #[must_use]
            pub const fn is_positive(self) -> bool {
                self.0 > 0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut text = [0u8; DECIMAL_TEXT_MAX];
                let len = self.write_decimal(&mut text);
                // Only ASCII digits, '-' and '.' are written.
                f.write_str(core::str::from_utf8(&text[..len]).map_err(|_| fmt::Error)?)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }
    };
}

fixed_type!(
    /// A price in 10^-8 currency units.
    Price
);
fixed_type!(
    /// A quantity (shares, contracts or base-asset amount) in 10^-8 units.
    Qty
);
fixed_type!(
    /// A currency amount (price × quantity, PnL) in 10^-8 units.
    Notional
);

impl Price {
    /// Sentinel for "no price": an empty book side, or a market order without a limit.
    pub const NONE: Self = Self(i64::MIN);

    /// True unless this is [`Price::NONE`].
    #[inline]
    #[must_use]
    pub const fn is_some(self) -> bool {
        self.0 != i64::MIN
    }

    /// `price × qty`, truncated toward zero to 10^-8 units.
    ///
    /// # Errors
    /// [`FixedError::Overflow`] if the product does not fit a [`Notional`].
    #[inline]
    pub const fn notional(self, qty: Qty) -> Result<Notional, FixedError> {
        let product = self.0 as i128 * qty.0 as i128 / FIXED_SCALE as i128;
        if product > i64::MAX as i128 || product <= i64::MIN as i128 {
            return Err(FixedError::Overflow);
        }
        Ok(Notional(product as i64))
    }
}

impl Qty {
    /// A whole number of shares or contracts (ITCH/OUCH `shares` fields), always exact.
    #[inline]
    #[must_use]
    pub const fn from_shares(shares: u32) -> Self {
        // u32::MAX * 10^8 < i64::MAX.
        Self(shares as i64 * FIXED_SCALE)
    }

    /// The quantity as whole shares, if it is a whole number within `u32`.
    #[inline]
    #[must_use]
    pub const fn to_shares(self) -> Option<u32> {
        if self.0 < 0 || self.0 % FIXED_SCALE != 0 {
            return None;
        }
        let shares = self.0 / FIXED_SCALE;
        if shares > u32::MAX as i64 {
            return None;
        }
        Some(shares as u32)
    }

    /// Negated quantity (a sell as a signed position change).
    #[inline]
    #[must_use]
    pub const fn neg(self) -> Self {
        Self(-self.0)
    }
}

const _: () = assert!(size_of::<Price>() == 8);
const _: () = assert!(size_of::<Qty>() == 8);
const _: () = assert!(size_of::<Notional>() == 8);

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::ToString;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn parses_binance_decimals_exactly() {
        assert_eq!(
            Price::from_decimal(b"61234.56000000"),
            Ok(Price::from_raw(6_123_456_000_000))
        );
        assert_eq!(Qty::from_decimal(b"0.00012000"), Ok(Qty::from_raw(12_000)));
        assert_eq!(
            Price::from_decimal(b"-0.5"),
            Ok(Price::from_raw(-50_000_000))
        );
        assert_eq!(Price::from_decimal(b"7"), Ok(Price::new(7)));
        assert_eq!(Price::from_decimal(b"7."), Ok(Price::new(7)));
        assert_eq!(Price::from_decimal(b".25"), Ok(Price::from_raw(25_000_000)));
        assert_eq!(Price::from_decimal(b"1.0000000000"), Ok(Price::new(1)));
    }

    #[test]
    fn rejects_bad_decimals_with_a_reason() {
        assert_eq!(Price::from_decimal(b""), Err(FixedError::Empty));
        assert_eq!(Price::from_decimal(b"-"), Err(FixedError::Empty));
        assert_eq!(Price::from_decimal(b"."), Err(FixedError::Empty));
        assert_eq!(
            Price::from_decimal(b"1.2.3"),
            Err(FixedError::InvalidByte { position: 3 })
        );
        assert_eq!(
            Price::from_decimal(b"-1e5"),
            Err(FixedError::InvalidByte { position: 2 })
        );
        assert_eq!(
            Price::from_decimal(b"0.000000001"),
            Err(FixedError::TooPrecise)
        );
        assert_eq!(
            Price::from_decimal(b"92233720368.54775808"),
            Err(FixedError::Overflow)
        );
        assert_eq!(
            Price::from_decimal(b"99999999999999999999999"),
            Err(FixedError::Overflow)
        );
    }

    #[test]
    fn extremes_round_trip() {
        assert_eq!(Price::from_decimal(b"92233720368.54775807"), Ok(Price::MAX));
        assert_eq!(Price::MAX.to_string(), "92233720368.54775807");
        assert_eq!(Price::MIN.to_string(), "-92233720368.54775807");
        assert_eq!(Price::ZERO.to_string(), "0.00000000");
        assert_eq!(Price::from_raw(-1).to_string(), "-0.00000001");
    }

    #[test]
    fn itch_scaling_is_exact() {
        // ITCH Price(4) 1234500 = 123.45
        let price = Price::from_scaled(1_234_500, 4).unwrap();
        assert_eq!(price.to_string(), "123.45000000");
        assert_eq!(price.to_scaled(4), Some(1_234_500));
        assert_eq!(Price::from_raw(1).to_scaled(4), None);
        assert_eq!(Price::from_scaled(1, 9), Err(FixedError::TooPrecise));
        assert_eq!(Qty::from_shares(u32::MAX).to_shares(), Some(u32::MAX));
        assert_eq!(Qty::from_raw(150_000_000).to_shares(), None);
    }

    #[test]
    fn notional_uses_wide_intermediate() {
        let price = Price::from_decimal(b"61234.56").unwrap();
        let qty = Qty::from_decimal(b"0.5").unwrap();
        assert_eq!(price.notional(qty).unwrap().to_string(), "30617.28000000");
        assert_eq!(Price::MAX.notional(Qty::new(2)), Err(FixedError::Overflow));
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(raw in (i64::MIN + 1)..=i64::MAX) {
            let text = Price::from_raw(raw).to_string();
            prop_assert_eq!(Price::from_decimal(text.as_bytes()), Ok(Price::from_raw(raw)));
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..32)) {
            let _ = Qty::from_decimal(&bytes);
        }

        #[test]
        fn scaled_round_trip(value in -90_000_000_000i64..90_000_000_000, decimals in 0u8..=8) {
            let price = Price::from_scaled(value, decimals).unwrap();
            prop_assert_eq!(price.to_scaled(decimals), Some(value));
        }
    }
}
