//! Moving-average crossover: buy when the fast mean of the mid crosses above the slow one,
//! sell on the reverse cross.
//!
//! # Samples
//! One sample per book update on a usable book (tradable, two-sided, best bid > 0, not
//! crossed or locked, tick > 0): the mid, stored doubled (`bid + ask`) so it is exact. Both
//! means are read from one ring of `max_window` samples in O(1); they are compared by
//! cross-multiplying in `i128`, never divided out.
//!
//! # Signal
//! After each sample, once `slow_window` samples are held, with `d = fast − slow` (the
//! simple means over the last `fast_window` and `slow_window` samples, this one included)
//! and `edge = min_edge_ticks × tick`:
//!
//! - the regime becomes *above* when `d > 0` and `d ≥ edge`, *below* when `d < 0` and
//!   `−d ≥ edge`, and is otherwise unchanged (a hysteresis band of `±edge`);
//! - a change from *below* to *above* is the cross up: buy, a limit at the best ask
//!   (rounded down to the tick); from *above* to *below*, the cross down: sell, a limit at
//!   the best bid (rounded up to the tick).
//!
//! So a signal fires exactly at the first sample where the means have crossed by at least
//! `edge` since the last opposite confirmed cross; the first regime after start-up or a
//! window change is not a cross. Time in force comes from `tif`; the quantity is
//! `order_qty` trimmed so that the position plus the open quantity of this strategy's
//! same-side orders cannot pass `max_position`. After a signal is sent none fires for
//! `cooldown_ns`; a cross blocked by the cooldown or the position limit is dropped (the
//! regime still changes).
//!
//! # Parameters
//! | index | name | unit | range | meaning |
//! |---|---|---|---|---|
//! | 0 | `fast_window` | count | 1 ..= `slow_window − 1` | samples in the fast mean |
//! | 1 | `slow_window` | count | 2 ..= `max_window` (≤ 65536) | samples in the slow mean |
//! | 2 | `min_edge_ticks` | ticks | 0 ..= 10^6 | smallest `fast − slow` that confirms a cross |
//! | 3 | `tif` | count | 0 ..= 1 | 0: immediate or cancel, 1: day |
//! | 4 | `order_qty` | Qty (raw) | 1 ..= 10^17 | quantity per signal |
//! | 5 | `max_position` | Qty (raw) | 0 ..= 10^17 | largest absolute position an order may lead to |
//! | 6 | `cooldown_ns` | ns | 0 ..= 8.64 × 10^13 | minimum time between two signals |
//!
//! `fast_window < slow_window` always holds: to move both past each other, set them in
//! the order that keeps it (a refused change leaves everything as it was). Changing either
//! window keeps the samples and forgets the regime.
//!
//! Contract: allocates only in [`MaCrossover::new`]; each call is O(live orders on the
//! symbol); no `f64`; at most one intent per call.

use super::window::{
    Cooldown, MAX_COOLDOWN_NS, MAX_QTY_RAW, MAX_TICKS, MAX_WINDOW_CAPACITY, MAX_WINDOW_ERROR,
    RollingSum, UsableBook, check_params, check_window, entry_intent, tif_from_param,
};
use super::{
    IntentBuffer, MarketView, ParamError, ParamSpec, ParamUnit, Strategy, StrategyContext,
    SymbolId, check_param,
};
use crate::book::Side;

/// Number of parameters.
pub const PARAM_COUNT: usize = 7;
/// Index of `fast_window`.
pub const FAST_WINDOW: usize = 0;
/// Index of `slow_window`.
pub const SLOW_WINDOW: usize = 1;
/// Index of `min_edge_ticks`.
pub const MIN_EDGE_TICKS: usize = 2;
/// Index of `tif`.
pub const TIF: usize = 3;
/// Index of `order_qty`.
pub const ORDER_QTY: usize = 4;
/// Index of `max_position`.
pub const MAX_POSITION: usize = 5;
/// Index of `cooldown_ns`.
pub const COOLDOWN_NS: usize = 6;

/// Parameter descriptions, in index order.
pub static PARAM_SPECS: [ParamSpec; PARAM_COUNT] = [
    ParamSpec {
        name: "fast_window",
        unit: ParamUnit::Count,
        min: 1,
        max: MAX_WINDOW_CAPACITY as i64 - 1,
    },
    ParamSpec {
        name: "slow_window",
        unit: ParamUnit::Count,
        min: 2,
        max: MAX_WINDOW_CAPACITY as i64,
    },
    ParamSpec {
        name: "min_edge_ticks",
        unit: ParamUnit::Ticks,
        min: 0,
        max: MAX_TICKS,
    },
    ParamSpec {
        name: "tif",
        unit: ParamUnit::Count,
        min: 0,
        max: 1,
    },
    ParamSpec {
        name: "order_qty",
        unit: ParamUnit::Qty,
        min: 1,
        max: MAX_QTY_RAW,
    },
    ParamSpec {
        name: "max_position",
        unit: ParamUnit::Qty,
        min: 0,
        max: MAX_QTY_RAW,
    },
    ParamSpec {
        name: "cooldown_ns",
        unit: ParamUnit::Nanos,
        min: 0,
        max: MAX_COOLDOWN_NS,
    },
];

/// A starting point: 20 over 100 mids, 1 tick, IOC, one unit, at most ten units, 1 ms.
pub const DEFAULT_PARAMS: [i64; PARAM_COUNT] =
    [20, 100, 1, 0, 100_000_000, 1_000_000_000, 1_000_000];

/// Which side of the slow mean the fast one was last confirmed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Regime {
    /// No confirmed side yet.
    Unknown,
    /// Fast above slow by at least the edge.
    Above,
    /// Fast below slow by at least the edge.
    Below,
}

/// The moving-average crossover strategy (see the module documentation).
#[derive(Debug)]
pub struct MaCrossover {
    symbols: [SymbolId; 1],
    params: [i64; PARAM_COUNT],
    /// Doubled mids.
    samples: RollingSum,
    regime: Regime,
    cooldown: Cooldown,
}

impl MaCrossover {
    /// A crossover strategy on `symbol` whose slow window may grow to `max_window`
    /// samples, with `params` (indexed as [`PARAM_SPECS`]).
    ///
    /// # Errors
    /// [`ParamError::OutOfRange`] for `max_window` outside `1..=65536` (named
    /// `max_window`), or for the first parameter outside its range (a window above
    /// `max_window` or `fast_window ≥ slow_window` included).
    pub fn new(
        symbol: SymbolId,
        max_window: usize,
        params: [i64; PARAM_COUNT],
    ) -> Result<Self, ParamError> {
        if !(1..=MAX_WINDOW_CAPACITY).contains(&max_window) {
            return Err(MAX_WINDOW_ERROR);
        }
        validate(&params, max_window, FAST_WINDOW)?;
        Ok(Self {
            symbols: [symbol],
            params,
            samples: RollingSum::new(max_window),
            regime: Regime::Unknown,
            cooldown: Cooldown::default(),
        })
    }

    /// The regime after the current sample; `None` while warming up.
    fn regime_now(&self, tick: i128) -> Option<Regime> {
        let fast = self.params[FAST_WINDOW];
        let slow = self.params[SLOW_WINDOW];
        let fast_sum = self.samples.sum_last(usize::try_from(fast).ok()?)?;
        let slow_sum = self.samples.sum_last(usize::try_from(slow).ok()?)?;
        let (fast, slow) = (i128::from(fast), i128::from(slow));
        // 2 × fast × slow × (fast mean − slow mean), exact. Window sums of i64 samples are
        // below 2^79 and windows at most 2^16, so no product here nears i128::MAX.
        let difference = fast_sum * slow - slow_sum * fast;
        let edge = 2 * i128::from(self.params[MIN_EDGE_TICKS]) * tick * fast * slow;
        Some(if difference > 0 && difference >= edge {
            Regime::Above
        } else if difference < 0 && -difference >= edge {
            Regime::Below
        } else {
            self.regime
        })
    }
}

/// Checks a whole parameter array: ranges, windows within `capacity`, fast < slow (the
/// error names the parameter at `changed` when it is one of the two windows).
fn validate(
    params: &[i64; PARAM_COUNT],
    capacity: usize,
    changed: usize,
) -> Result<(), ParamError> {
    check_params(&PARAM_SPECS, params)?;
    check_window(&PARAM_SPECS[FAST_WINDOW], params[FAST_WINDOW], capacity)?;
    check_window(&PARAM_SPECS[SLOW_WINDOW], params[SLOW_WINDOW], capacity)?;
    let (fast, slow) = (params[FAST_WINDOW], params[SLOW_WINDOW]);
    if fast < slow {
        return Ok(());
    }
    Err(if changed == SLOW_WINDOW {
        ParamError::OutOfRange {
            name: PARAM_SPECS[SLOW_WINDOW].name,
            min: fast + 1,
            max: i64::try_from(capacity).unwrap_or(i64::MAX),
        }
    } else {
        ParamError::OutOfRange {
            name: PARAM_SPECS[FAST_WINDOW].name,
            min: PARAM_SPECS[FAST_WINDOW].min,
            max: slow - 1,
        }
    })
}

impl Strategy for MaCrossover {
    fn name(&self) -> &'static str {
        "ma_crossover"
    }

    fn symbols(&self) -> &[SymbolId] {
        &self.symbols
    }

    fn on_book(&mut self, ctx: &StrategyContext<'_>, market: &MarketView, out: &mut IntentBuffer) {
        if market.symbol != self.symbols[0] {
            return;
        }
        let Some(book) = UsableBook::from_market(market) else {
            return;
        };
        let Some(sample) = book.mid_doubled() else {
            return;
        };
        self.samples.push(sample);
        let Some(regime) = self.regime_now(book.tick) else {
            return;
        };
        let side = match (self.regime, regime) {
            (Regime::Below, Regime::Above) => Side::Bid,
            (Regime::Above, Regime::Below) => Side::Ask,
            _ => {
                self.regime = regime;
                return;
            }
        };
        self.regime = regime;
        if !self.cooldown.ready(ctx.now_ns, self.params[COOLDOWN_NS]) {
            return;
        }
        let intent = entry_intent(
            self.symbols[0],
            side,
            &book,
            ctx,
            self.params[ORDER_QTY],
            self.params[MAX_POSITION],
            tif_from_param(self.params[TIF]),
        );
        if let Some(intent) = intent
            && out.push(intent)
        {
            self.cooldown.start(ctx.now_ns);
        }
    }

    fn param_specs(&self) -> &'static [ParamSpec] {
        &PARAM_SPECS
    }

    fn param(&self, index: usize) -> i64 {
        self.params.get(index).copied().unwrap_or(0)
    }

    fn set_param(&mut self, index: usize, value: i64) -> Result<(), ParamError> {
        check_param(&PARAM_SPECS, index, value)?;
        let mut candidate = self.params;
        candidate[index] = value;
        validate(&candidate, self.samples.capacity(), index)?;
        if matches!(index, FAST_WINDOW | SLOW_WINDOW) && value != self.params[index] {
            self.regime = Regime::Unknown;
        }
        self.params = candidate;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use tickwire_common::Qty;

    use super::super::window::testing::{
        UNIT, any_step, cents, check_signal_invariants, market, units,
    };
    use super::super::{Intent, Strategy, TimeInForce, param_index};
    use super::*;

    const SYMBOL: SymbolId = 2;

    /// Fast 2, slow 4, edge 1 tick, IOC, one unit, at most three units, no cooldown.
    fn params() -> [i64; PARAM_COUNT] {
        [2, 4, 1, 0, UNIT, 3 * UNIT, 0]
    }

    fn strategy() -> MaCrossover {
        MaCrossover::new(SYMBOL, 8, params()).unwrap()
    }

    /// Mids (cents) of the scenario below; books are `mid ∓ 1 cent`.
    ///
    /// | step | mid | fast | slow | fast − slow (ticks) | regime |
    /// |---|---|---|---|---|---|
    /// | 0–2 | 100.00 | | | warming up | unknown |
    /// | 3 | 100.00 | 100.00 | 100.00 | 0 | unknown |
    /// | 4 | 99.98 | 99.99 | 99.995 | −0.5 | unknown |
    /// | 5 | 99.98 | 99.98 | 99.99 | −1 | below (first regime: no signal) |
    /// | 6 | 99.99 | 99.985 | 99.9875 | −0.25 | below |
    /// | 7 | 100.00 | 99.995 | 99.9875 | +0.75 (< edge) | below |
    /// | 8 | 100.01 | 100.005 | 99.995 | +1 | above: **buy** at 100.02 |
    /// | 9 | 100.03 | 100.02 | 100.0075 | +1.25 | above |
    /// | 10 | 100.02 | 100.025 | 100.015 | +1 | above |
    /// | 11 | 100.00 | 100.01 | 100.015 | −0.5 | above |
    /// | 12 | 99.98 | 99.99 | 100.0075 | −1.75 | below: **sell** at 99.97 |
    /// | 13 | 99.98 | 99.98 | 99.995 | −1.5 | below |
    /// | 14 | 100.00 | 99.99 | 99.99 | 0 | below |
    /// | 15 | 100.02 | 100.01 | 99.995 | +1.5 | above: **buy** at 100.03 |
    const MIDS: [i64; 16] = [
        10_000, 10_000, 10_000, 10_000, 9_998, 9_998, 9_999, 10_000, 10_001, 10_003, 10_002,
        10_000, 9_998, 9_998, 10_000, 10_002,
    ];

    /// Feeds `MIDS` 100 ns apart at `position`; returns (step, intent) for each signal.
    fn scenario(strategy: &mut MaCrossover, position: Qty) -> Vec<(usize, Intent)> {
        let mut fired = Vec::new();
        let mut out = IntentBuffer::with_capacity(4);
        for (step, mid) in MIDS.into_iter().enumerate() {
            out.clear();
            let ctx = StrategyContext {
                now_ns: 100 * step as u64,
                position,
                orders: &[],
            };
            strategy.on_book(&ctx, &market(SYMBOL, mid - 1, 1, mid + 1, 1), &mut out);
            assert!(out.len() <= 1);
            fired.extend(out.as_slice().iter().map(|&intent| (step, intent)));
        }
        fired
    }

    fn signal(side: Side, price_cents: i64) -> Intent {
        Intent::New {
            symbol: SYMBOL,
            side,
            price: cents(price_cents),
            qty: units(1),
            tif: TimeInForce::Ioc,
        }
    }

    #[test]
    fn fires_exactly_at_the_confirmed_crosses() {
        assert_eq!(
            scenario(&mut strategy(), Qty::ZERO),
            [
                (8, signal(Side::Bid, 10_002)),
                (12, signal(Side::Ask, 9_997)),
                (15, signal(Side::Bid, 10_003)),
            ]
        );
    }

    #[test]
    fn the_first_regime_is_not_a_cross() {
        let mut strategy = strategy();
        let mut out = IntentBuffer::with_capacity(4);
        let ctx = StrategyContext {
            now_ns: 0,
            position: Qty::ZERO,
            orders: &[],
        };
        // Mids 100.00 × 3, 100.02 (+0.5 tick: unknown), 100.04 (fast 100.03, slow
        // 100.015: +1.5 ticks, above) — a rising start, not a cross up.
        for mid in [10_000, 10_000, 10_000, 10_002, 10_004] {
            strategy.on_book(&ctx, &market(SYMBOL, mid - 1, 1, mid + 1, 1), &mut out);
        }
        assert!(out.is_empty());
        assert_eq!(strategy.regime, Regime::Above);
    }

    #[test]
    fn without_an_edge_any_strict_cross_fires() {
        let mut strategy = strategy();
        strategy.set_param(MIN_EDGE_TICKS, 0).unwrap();
        // Below from step 4 (−0.5), above at step 7 (+0.75), below at step 11 (−0.5),
        // above at step 15; step 14 (equal means) keeps the regime.
        let steps: Vec<usize> = scenario(&mut strategy, Qty::ZERO)
            .into_iter()
            .map(|(step, _)| step)
            .collect();
        assert_eq!(steps, [7, 11, 15]);
    }

    #[test]
    fn cooldown_drops_a_cross_inside_it() {
        let mut strategy = strategy();
        strategy.set_param(COOLDOWN_NS, 500).unwrap();
        // Buy at 800 ns; the sell cross at 1200 ns is inside the cooldown and dropped; the
        // buy cross at 1500 ns is past it.
        let steps: Vec<usize> = scenario(&mut strategy, Qty::ZERO)
            .into_iter()
            .map(|(step, _)| step)
            .collect();
        assert_eq!(steps, [8, 15]);
    }

    #[test]
    fn max_position_blocks_the_increasing_side_only() {
        // Long three: the buys are dropped (no cooldown started), the sell goes.
        assert_eq!(
            scenario(&mut strategy(), units(3)),
            [(12, signal(Side::Ask, 9_997))]
        );
        // 2.5 long: buys are trimmed to half a unit.
        let fired = scenario(&mut strategy(), Qty::from_raw(5 * UNIT / 2));
        let Intent::New { qty, .. } = fired[0].1 else {
            panic!("not a new order");
        };
        assert_eq!((fired[0].0, qty), (8, Qty::from_raw(UNIT / 2)));
    }

    #[test]
    fn unusable_books_add_no_samples() {
        let mut strategy = strategy();
        let ctx = StrategyContext {
            now_ns: 0,
            position: Qty::ZERO,
            orders: &[],
        };
        let mut out = IntentBuffer::with_capacity(4);
        let mut stale = market(SYMBOL, 5_000, 1, 5_002, 1);
        stale.tradable = false;
        let mut one_sided = market(SYMBOL, 5_000, 1, 5_002, 1);
        one_sided.top.ask_price = tickwire_common::Price::NONE;
        for view in [stale, one_sided, market(SYMBOL, 5_002, 1, 5_002, 1)] {
            strategy.on_book(&ctx, &view, &mut out);
        }
        assert!(out.is_empty());
        // The scenario is unchanged: none of those books became a sample.
        assert_eq!(scenario(&mut strategy, Qty::ZERO).len(), 3);
    }

    #[test]
    fn window_changes_forget_the_regime_and_bad_pairs_are_refused() {
        let mut strategy = strategy();
        let fired = scenario(&mut strategy, Qty::ZERO);
        assert_eq!(fired.len(), 3);
        // Regime is above; after a window change the next confirmed regime is not a cross.
        strategy.set_param(SLOW_WINDOW, 5).unwrap();
        let mut out = IntentBuffer::with_capacity(4);
        let ctx = StrategyContext {
            now_ns: 10_000,
            position: Qty::ZERO,
            orders: &[],
        };
        // A sharp drop: fast below slow by far more than the edge, yet no sell.
        strategy.on_book(&ctx, &market(SYMBOL, 9_899, 1, 9_901, 1), &mut out);
        assert!(out.is_empty());

        assert_eq!(
            strategy.set_param(FAST_WINDOW, 5),
            Err(ParamError::OutOfRange {
                name: "fast_window",
                min: 1,
                max: 4
            })
        );
        assert_eq!(
            strategy.set_param(SLOW_WINDOW, 2),
            Err(ParamError::OutOfRange {
                name: "slow_window",
                min: 3,
                max: 8
            })
        );
        assert_eq!(
            strategy.set_param(SLOW_WINDOW, 9),
            Err(ParamError::OutOfRange {
                name: "slow_window",
                min: 2,
                max: 8
            })
        );
        assert_eq!(strategy.param(FAST_WINDOW), 2);
        assert_eq!(strategy.param(SLOW_WINDOW), 5);
    }

    #[test]
    fn parameters_are_validated_and_errors_change_nothing() {
        let mut strategy = strategy();
        assert_eq!(strategy.name(), "ma_crossover");
        assert_eq!(strategy.symbols(), [SYMBOL]);
        assert_eq!(
            param_index(strategy.param_specs(), "min_edge_ticks"),
            Some(MIN_EDGE_TICKS)
        );
        assert_eq!(strategy.set_param(PARAM_COUNT, 1), Err(ParamError::Unknown));
        for (index, bad) in [
            (FAST_WINDOW, 0),
            (SLOW_WINDOW, 1),
            (MIN_EDGE_TICKS, -1),
            (TIF, 2),
            (ORDER_QTY, 0),
            (MAX_POSITION, MAX_QTY_RAW + 1),
            (COOLDOWN_NS, -1),
        ] {
            assert!(strategy.set_param(index, bad).is_err(), "{index} = {bad}");
        }
        assert_eq!(strategy.params, params());
        assert_eq!(strategy.param(PARAM_COUNT), 0);
        // Nothing changed: the scenario still fires at the same steps.
        assert_eq!(scenario(&mut strategy, Qty::ZERO).len(), 3);

        let mut equal = params();
        equal[FAST_WINDOW] = 4;
        assert!(MaCrossover::new(SYMBOL, 8, equal).is_err());
        assert!(MaCrossover::new(SYMBOL, 3, params()).is_err());
        assert_eq!(
            MaCrossover::new(SYMBOL, 0, params()).err(),
            Some(MAX_WINDOW_ERROR)
        );
        assert!(MaCrossover::new(SYMBOL, 100, DEFAULT_PARAMS).is_ok());
    }

    proptest! {
        #[test]
        fn signals_are_well_formed_limited_and_allocation_free(
            steps in proptest::collection::vec(any_step(), 1..200),
            fast in 1_i64..8,
            extra in 1_i64..8,
            edge in 0_i64..3,
            tif in 0_i64..=1,
            order_qty in 1_i64..3 * UNIT,
            max_position in 0_i64..6 * UNIT,
            cooldown in prop_oneof![Just(0_i64), 0_i64..3_000],
        ) {
            let mut strategy = MaCrossover::new(
                SYMBOL,
                16,
                [fast, fast + extra, edge, tif, order_qty, max_position, cooldown],
            )
            .unwrap();
            check_signal_invariants(
                &mut strategy,
                SYMBOL,
                &steps,
                order_qty,
                max_position,
                cooldown.cast_unsigned(),
            )?;
        }
    }
}
