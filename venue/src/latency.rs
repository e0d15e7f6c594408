//! Wire-to-wire latency capture.
//!
//! The feed publisher records, for every message sequence number it sends, the monotonic
//! time just before the packet's `send` ([`Latency::record_send`]; a ring of the last
//! [`RING_LEN`] sequences). When an Enter Order or Replace Order arrives, the first half of
//! its token carries the sequence number (modulo 36^7) of the feed message that triggered
//! it (`tickwire_common::token`); the arrival time minus that message's send time goes into
//! an HDR histogram, in nanoseconds.
//!
//! Matching modulo 36^7: the candidate is the most recent sent sequence `s` with
//! `s % 36^7 == trigger`. The ring holds far fewer than 36^7 sequences, so there is at most
//! one candidate; it counts only if the ring still holds `s`. A trigger of 0 means "none".
//!
//! Contract: recording a send and an arrival allocate nothing; the ring is allocated once.

use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tickwire_common::token::{self, HALF_RANGE};

/// Sequences whose send time is kept (a power of two).
pub const RING_LEN: usize = 1 << 20;

/// Largest latency recorded (60 s); larger values are clamped.
const MAX_TRACKED_NS: u64 = 60_000_000_000;

/// Send-time ring, histogram and counters.
#[derive(Debug)]
pub struct Latency {
    /// `(sequence, send time)`, indexed by `sequence % RING_LEN`.
    ring: Vec<(u64, u64)>,
    /// Highest sequence recorded.
    last_sequence: u64,
    histogram: Histogram<u64>,
    /// Enter and Replace orders seen.
    pub orders_received: u64,
    /// Orders whose token carried a trigger that matched a recent feed message.
    pub matched: u64,
    /// Orders whose token carried a trigger the ring did not hold (or no trigger).
    pub unmatched: u64,
    /// Feed packets that came back (`--feed-echo`, the reflector floor).
    pub echoes: u64,
}

/// Percentiles of the recorded latencies, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Values recorded.
    pub samples: u64,
    /// Median.
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
    /// Largest.
    pub max_ns: u64,
    /// Smallest.
    pub min_ns: u64,
    /// Mean, rounded down.
    pub mean_ns: u64,
}

impl Summary {
    /// The summary as the report's JSON fields.
    #[must_use]
    pub fn to_json(&self) -> Value {
        json!({
            "samples": self.samples,
            "p50_ns": self.p50_ns,
            "p90_ns": self.p90_ns,
            "p99_ns": self.p99_ns,
            "p999_ns": self.p999_ns,
            "max_ns": self.max_ns,
            "min_ns": self.min_ns,
            "mean_ns": self.mean_ns,
        })
    }

    /// One human-readable line, microseconds with three decimals.
    #[must_use]
    pub fn to_text(&self) -> String {
        let us = |ns: u64| format!("{}.{:03}", ns / 1000, ns % 1000);
        format!(
            "wire-to-wire latency: samples={} p50={}us p90={}us p99={}us p99.9={}us max={}us min={}us mean={}us",
            self.samples,
            us(self.p50_ns),
            us(self.p90_ns),
            us(self.p99_ns),
            us(self.p999_ns),
            us(self.max_ns),
            us(self.min_ns),
            us(self.mean_ns),
        )
    }
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    /// An empty ring and histogram.
    ///
    /// # Panics
    /// Never: the histogram bounds are constants that `hdrhistogram` accepts.
    #[must_use]
    pub fn new() -> Self {
        #[expect(
            clippy::expect_used,
            reason = "constant bounds (1 ns .. 60 s, 3 significant digits) are always valid"
        )]
        let histogram =
            Histogram::new_with_bounds(1, MAX_TRACKED_NS, 3).expect("valid histogram bounds");
        Self {
            ring: vec![(0, 0); RING_LEN],
            last_sequence: 0,
            histogram,
            orders_received: 0,
            matched: 0,
            unmatched: 0,
            echoes: 0,
        }
    }

    /// Records that the message with `sequence` left at `send_ns`. Only the first send of a
    /// sequence counts (duplicates and reordered copies do not move it).
    pub fn record_send(&mut self, sequence: u64, send_ns: u64) {
        let slot = &mut self.ring[(sequence as usize) & (RING_LEN - 1)];
        if slot.0 != sequence {
            *slot = (sequence, send_ns);
        }
        self.last_sequence = self.last_sequence.max(sequence);
    }

    /// The send time of the most recent sequence congruent to `trigger` modulo 36^7.
    #[must_use]
    pub fn send_time(&self, trigger: u64) -> Option<u64> {
        let trigger = trigger % HALF_RANGE;
        if trigger == 0 || self.last_sequence < trigger {
            return None;
        }
        let sequence = self.last_sequence - (self.last_sequence - trigger) % HALF_RANGE;
        let (held, send_ns) = self.ring[(sequence as usize) & (RING_LEN - 1)];
        (held == sequence).then_some(send_ns)
    }

    /// An Enter or Replace order with `token` arrived at `arrival_ns`.
    pub fn on_order(&mut self, order_token: &[u8; 14], arrival_ns: u64) {
        self.orders_received += 1;
        self.record_arrival(token::trigger_seq(order_token), arrival_ns);
    }

    /// A feed packet whose last message has `sequence` came back at `arrival_ns` (the
    /// reflector floor): recorded like an order triggered by that message, counted in
    /// `echoes` and `matched`/`unmatched` but not in `orders_received`.
    pub fn on_echo(&mut self, sequence: u64, arrival_ns: u64) {
        self.echoes += 1;
        self.record_arrival(Some(sequence), arrival_ns);
    }

    fn record_arrival(&mut self, trigger: Option<u64>, arrival_ns: u64) {
        let send_ns = trigger.and_then(|trigger| self.send_time(trigger));
        match send_ns {
            Some(send_ns) if arrival_ns >= send_ns => {
                self.matched += 1;
                self.histogram
                    .saturating_record((arrival_ns - send_ns).clamp(1, MAX_TRACKED_NS));
            }
            _ => self.unmatched += 1,
        }
    }

    /// Forgets the recorded latencies and the counters (the send-time ring stays): a
    /// benchmark's warm-up ends here.
    pub fn reset(&mut self) {
        self.histogram.reset();
        self.orders_received = 0;
        self.matched = 0;
        self.unmatched = 0;
        self.echoes = 0;
    }

    /// Every recorded value as `(value_ns, count)`, ascending (`value_ns` is the highest
    /// value equivalent to the bucket), so a reader can merge runs into its own histogram.
    #[must_use]
    pub fn recorded(&self) -> Vec<(u64, u64)> {
        self.histogram
            .iter_recorded()
            .map(|value| (value.value_iterated_to(), value.count_at_value()))
            .collect()
    }

    /// Current percentiles.
    #[must_use]
    pub fn summary(&self) -> Summary {
        let histogram = &self.histogram;
        if histogram.is_empty() {
            return Summary::default();
        }
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "the mean of values in 1..=6e10 fits u64"
        )]
        let mean_ns = histogram.mean() as u64;
        Summary {
            samples: histogram.len(),
            p50_ns: histogram.value_at_quantile(0.50),
            p90_ns: histogram.value_at_quantile(0.90),
            p99_ns: histogram.value_at_quantile(0.99),
            p999_ns: histogram.value_at_quantile(0.999),
            max_ns: histogram.max(),
            min_ns: histogram.min(),
            mean_ns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_sequence_in_the_token_finds_the_send_time() {
        let mut latency = Latency::new();
        for sequence in 1..=100 {
            latency.record_send(sequence, sequence * 1_000);
        }
        let order = token::encode(42, 7);
        latency.on_order(&order, 42_000 + 5_000);
        latency.on_order(&token::encode(0, 8), 1); // no trigger
        latency.on_order(&token::encode(500, 9), 1); // never sent
        latency.on_order(b"not-a-token!!!", 1);
        assert_eq!(latency.orders_received, 4);
        assert_eq!(latency.matched, 1);
        assert_eq!(latency.unmatched, 3);
        let summary = latency.summary();
        assert_eq!(summary.samples, 1);
        assert!((4_995..=5_005).contains(&summary.p50_ns), "{summary:?}");
        assert_eq!(summary.max_ns, summary.p50_ns);
    }

    #[test]
    fn matching_is_modulo_36_pow_7_and_limited_to_the_ring() {
        let mut latency = Latency::new();
        let high = HALF_RANGE + 5;
        latency.record_send(5, 10);
        latency.record_send(high, 20);
        // The token can only carry `high % 36^7 == 5`: the most recent one wins.
        assert_eq!(latency.send_time(5), Some(20));
        // Old sequences fall out of the ring.
        assert_eq!(latency.send_time(6), None);
        let mut latency = Latency::new();
        latency.record_send(1, 10);
        latency.record_send(1 + RING_LEN as u64, 30);
        assert_eq!(latency.send_time(1), None);
        assert_eq!(latency.send_time(1 + RING_LEN as u64), Some(30));
    }

    #[test]
    fn echoes_are_matched_by_their_last_sequence() {
        let mut latency = Latency::new();
        latency.record_send(7, 1_000);
        latency.record_send(8, 2_000);
        latency.on_echo(8, 2_500);
        latency.on_echo(9, 3_000); // never sent
        assert_eq!(
            (latency.echoes, latency.matched, latency.unmatched),
            (2, 1, 1)
        );
        assert_eq!(latency.orders_received, 0);
        let summary = latency.summary();
        assert_eq!(summary.samples, 1);
        assert!((499..=501).contains(&summary.p50_ns), "{summary:?}");
    }

    #[test]
    fn reset_forgets_samples_and_recorded_lists_every_value() {
        let mut latency = Latency::new();
        for sequence in 1..=10 {
            latency.record_send(sequence, 0);
            latency.on_echo(sequence, 1_000 * (sequence % 2 + 1));
        }
        assert_eq!(
            latency
                .recorded()
                .iter()
                .map(|(_, count)| count)
                .sum::<u64>(),
            10
        );
        assert_eq!(latency.recorded().len(), 2);
        latency.reset();
        assert_eq!((latency.matched, latency.echoes), (0, 0));
        assert!(latency.recorded().is_empty());
        assert_eq!(latency.summary().samples, 0);
        // The ring survives: a later arrival still matches.
        latency.on_echo(10, 5_000);
        assert_eq!(latency.summary().samples, 1);
    }

    #[test]
    fn duplicates_keep_the_first_send_time() {
        let mut latency = Latency::new();
        latency.record_send(3, 100);
        latency.record_send(3, 900);
        assert_eq!(latency.send_time(3), Some(100));
    }

    #[test]
    fn summary_json_has_every_field() {
        let mut latency = Latency::new();
        for sequence in 1..=1000 {
            latency.record_send(sequence, 0);
            latency.on_order(&token::encode(sequence, sequence), sequence * 10);
        }
        let summary = latency.summary();
        assert_eq!(summary.samples, 1000);
        assert!(summary.p50_ns <= summary.p90_ns && summary.p90_ns <= summary.p99_ns);
        assert!(summary.p99_ns <= summary.p999_ns && summary.p999_ns <= summary.max_ns);
        assert!((9_990..=10_010).contains(&summary.max_ns));
        let value = summary.to_json();
        for key in [
            "samples", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns", "min_ns", "mean_ns",
        ] {
            assert!(value.get(key).is_some(), "{key}");
        }
        assert!(summary.to_text().contains("p99.9="));
    }
}
