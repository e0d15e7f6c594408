//! Latency summaries for tools and reports (not for the hot path: sorts and allocates).

use serde::Serialize;

/// Percentiles of a set of latency samples, in nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LatencySummary {
    /// Number of samples.
    pub samples: u64,
    /// Minimum.
    pub min_ns: u64,
    /// Median.
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
    /// Maximum.
    pub max_ns: u64,
}

impl LatencySummary {
    /// Summarises `samples` (sorted in place). Nearest-rank percentiles.
    #[must_use]
    pub fn from_samples(samples: &mut [u64]) -> Self {
        samples.sort_unstable();
        let Some(&max_ns) = samples.last() else {
            return Self::default();
        };
        let rank = |quantile: f64| {
            // Nearest rank: ceil(q * n), 1-based; n is far below 2^52 so the float is exact.
            let n = samples.len() as f64;
            let index = ((quantile * n).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[index]
        };
        Self {
            samples: samples.len() as u64,
            min_ns: samples[0],
            p50_ns: rank(0.50),
            p90_ns: rank(0.90),
            p99_ns: rank(0.99),
            p999_ns: rank(0.999),
            max_ns,
        }
    }
}

impl std::fmt::Display for LatencySummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let us = |ns: u64| ns as f64 / 1000.0;
        write!(
            f,
            "n={} min={:.2}us p50={:.2}us p90={:.2}us p99={:.2}us p99.9={:.2}us max={:.2}us",
            self.samples,
            us(self.min_ns),
            us(self.p50_ns),
            us(self.p90_ns),
            us(self.p99_ns),
            us(self.p999_ns),
            us(self.max_ns)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut samples: Vec<u64> = (1..=1000).rev().collect();
        let summary = LatencySummary::from_samples(&mut samples);
        assert_eq!(summary.samples, 1000);
        assert_eq!(summary.min_ns, 1);
        assert_eq!(summary.p50_ns, 500);
        assert_eq!(summary.p90_ns, 900);
        assert_eq!(summary.p99_ns, 990);
        assert_eq!(summary.p999_ns, 999);
        assert_eq!(summary.max_ns, 1000);
    }

    #[test]
    fn empty_is_zero() {
        assert_eq!(
            LatencySummary::from_samples(&mut []),
            LatencySummary::default()
        );
    }
}
