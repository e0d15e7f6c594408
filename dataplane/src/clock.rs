//! Clocks for the engine: monotonic time for intervals and timers, wall-clock time for audit
//! records derived from it (one offset read at start-up, so the loop reads one clock).

use std::time::{SystemTime, UNIX_EPOCH};

/// `CLOCK_MONOTONIC` in ns (vDSO, no system call).
#[inline]
#[must_use]
pub fn monotonic_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid `timespec` to write into; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut now) };
    // tv_sec and tv_nsec are non-negative for CLOCK_MONOTONIC.
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

/// Converts monotonic readings to wall-clock ns since the Unix epoch.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    offset_ns: i128,
}

impl WallClock {
    /// Measures the offset between the two clocks now.
    #[must_use]
    pub fn new() -> Self {
        let mono = monotonic_ns();
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos());
        Self {
            offset_ns: i128::try_from(wall).unwrap_or(0) - i128::from(mono),
        }
    }

    /// Wall-clock ns for a monotonic reading.
    #[inline]
    #[must_use]
    pub fn wall_ns(&self, monotonic_ns: u64) -> u64 {
        u64::try_from(i128::from(monotonic_ns) + self.offset_ns).unwrap_or(0)
    }
}

impl Default for WallClock {
    fn default() -> Self {
        Self::new()
    }
}
