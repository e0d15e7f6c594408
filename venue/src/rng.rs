//! A small deterministic random number generator (SplitMix64).
//!
//! The synthetic flow and the fault injector draw from it so that a run is reproducible
//! from its `--seed`; the sequence is fixed by this file, not by a crate version.

/// SplitMix64 (Steele, Lea, Flood 2014): one 64-bit state, one multiply-xorshift output.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator whose sequence is fixed by `seed`.
    #[must_use]
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub const fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..bound` (0 when `bound` is 0). Multiply-shift, bias below 2^-32.
    pub const fn below(&mut self, bound: u64) -> u64 {
        ((self.next_u64() >> 32) * bound) >> 32
    }

    /// True with probability `ppb` parts per billion.
    pub const fn chance_ppb(&mut self, ppb: u32) -> bool {
        self.below(1_000_000_000) < ppb as u64
    }
}

/// A fraction in `[0, 1]` as parts per billion (clamped; NaN is 0).
#[must_use]
pub fn fraction_to_ppb(fraction: f64) -> u32 {
    if fraction.is_nan() || fraction <= 0.0 {
        0
    } else if fraction >= 1.0 {
        1_000_000_000
    } else {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "fraction is in (0, 1), so the product is in (0, 1e9)"
        )]
        let ppb = (fraction * 1e9).round() as u32;
        ppb
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let mut c = Rng::new(8);
        let left: Vec<u64> = (0..16).map(|_| a.next_u64()).collect();
        let right: Vec<u64> = (0..16).map(|_| b.next_u64()).collect();
        let other: Vec<u64> = (0..16).map(|_| c.next_u64()).collect();
        assert_eq!(left, right);
        assert_ne!(left, other);
    }

    #[test]
    fn below_and_chance_stay_in_range() {
        let mut rng = Rng::new(1);
        assert_eq!(rng.below(0), 0);
        assert!((0..10_000).all(|_| rng.below(10) < 10));
        let hits = (0..100_000).filter(|_| rng.chance_ppb(100_000_000)).count();
        assert!((8_000..12_000).contains(&hits), "{hits}");
        assert!(!(0..1000).any(|_| rng.chance_ppb(0)));
        assert_eq!(fraction_to_ppb(0.25), 250_000_000);
        assert_eq!(fraction_to_ppb(2.0), 1_000_000_000);
        assert_eq!(fraction_to_ppb(f64::NAN), 0);
    }
}
