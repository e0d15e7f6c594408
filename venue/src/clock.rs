//! Clocks.
//!
//! - [`mono_ns`]: monotonic nanoseconds since the first call in the process. Feed send times
//!   and order arrival times are both read from it, so `arrival - send` is meaningful across
//!   threads.
//! - [`since_midnight_ns`]: wall-clock nanoseconds since midnight UTC, for the ITCH and OUCH
//!   timestamp fields.
//!
//! Neither allocates nor blocks.

use std::{
    sync::OnceLock,
    time::{Instant, SystemTime, UNIX_EPOCH},
};

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds in a day.
const DAY_NS: u128 = 86_400_000_000_000;

/// Monotonic nanoseconds since the process first asked.
#[must_use]
pub fn mono_ns() -> u64 {
    let epoch = EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Wall-clock nanoseconds since midnight UTC (0 if the clock is before 1970).
#[must_use]
pub fn since_midnight_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|since| u64::try_from(since.as_nanos() % DAY_NS).ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_move_forward_and_stay_in_range() {
        let first = mono_ns();
        let second = mono_ns();
        assert!(second >= first);
        assert!(u128::from(since_midnight_ns()) < DAY_NS);
    }
}
