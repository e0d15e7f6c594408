//! Volatility breakout: buy when the ask breaks above the recent high of the mid, sell
//! when the bid breaks below the recent low.
//!
//! # Samples
//! One sample per book update on a usable book (tradable, two-sided, best bid > 0, not
//! crossed or locked, tick > 0): the mid, stored doubled (`bid + ask`) so it is exact. The
//! channel is the highest and lowest of the `window` samples *before* the current update
//! (amortised O(1) monotonic queues); no signal until `window` samples are held.
//!
//! # Signal
//! With `edge = edge_ticks × tick`:
//!
//! - buy when `best ask > high + edge`, a limit at the best ask (rounded down to the tick);
//! - sell when `best bid < low − edge`, a limit at the best bid (rounded up to the tick);
//! - neither when both hold at once (a spread blown out on both sides is not a breakout).
//!
//! The channel is of mids while the trigger compares the ask (bid), so a steady book
//! already has `ask − high = spread / 2`: `edge_ticks` should be at least half the usual
//! spread, or a quiet market counts as breaking out. Time in force comes from `tif`; the
//! quantity is `order_qty` trimmed so that the position plus the open quantity of this
//! strategy's same-side orders cannot pass `max_position`. After a signal is sent none
//! fires for `cooldown_ns`; a breakout blocked by the cooldown or the position limit is
//! dropped, not deferred.
//!
//! # Parameters
//! | index | name | unit | range | meaning |
//! |---|---|---|---|---|
//! | 0 | `window` | count | 1 ..= `max_window` (≤ 65536) | samples in the high/low channel |
//! | 1 | `edge_ticks` | ticks | 0 ..= 10^6 | distance beyond the channel that triggers |
//! | 2 | `tif` | count | 0 ..= 1 | 0: immediate or cancel, 1: day |
//! | 3 | `order_qty` | Qty (raw) | 1 ..= 10^17 | quantity per signal |
//! | 4 | `max_position` | Qty (raw) | 0 ..= 10^17 | largest absolute position an order may lead to |
//! | 5 | `cooldown_ns` | ns | 0 ..= 8.64 × 10^13 | minimum time between two signals |
//!
//! Changing `window` rebuilds the channel from the retained samples (O(`window`), no
//! allocation).
//!
//! Contract: allocates only in [`Breakout::new`]; each call is O(live orders on the
//! symbol) plus amortised O(1) for the channel; no `f64`; at most one intent per call.

use super::window::{
    Cooldown, MAX_COOLDOWN_NS, MAX_QTY_RAW, MAX_TICKS, MAX_WINDOW_CAPACITY, MAX_WINDOW_ERROR,
    RollingExtrema, UsableBook, check_params, check_window, entry_intent, tif_from_param,
};
use super::{
    IntentBuffer, MarketView, ParamError, ParamSpec, ParamUnit, Strategy, StrategyContext,
    SymbolId, check_param,
};
use crate::book::Side;

/// Number of parameters.
pub const PARAM_COUNT: usize = 6;
/// Index of `window`.
pub const WINDOW: usize = 0;
/// Index of `edge_ticks`.
pub const EDGE_TICKS: usize = 1;
/// Index of `tif`.
pub const TIF: usize = 2;
/// Index of `order_qty`.
pub const ORDER_QTY: usize = 3;
/// Index of `max_position`.
pub const MAX_POSITION: usize = 4;
/// Index of `cooldown_ns`.
pub const COOLDOWN_NS: usize = 5;

/// Parameter descriptions, in index order.
pub static PARAM_SPECS: [ParamSpec; PARAM_COUNT] = [
    ParamSpec {
        name: "window",
        unit: ParamUnit::Count,
        min: 1,
        max: MAX_WINDOW_CAPACITY as i64,
    },
    ParamSpec {
        name: "edge_ticks",
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

/// A starting point: 200 mids, 2 ticks, IOC, one unit, at most ten units, 1 ms apart.
pub const DEFAULT_PARAMS: [i64; PARAM_COUNT] = [200, 2, 0, 100_000_000, 1_000_000_000, 1_000_000];

/// The breakout strategy (see the module documentation).
#[derive(Debug)]
pub struct Breakout {
    symbols: [SymbolId; 1],
    params: [i64; PARAM_COUNT],
    /// High and low of the doubled mids.
    channel: RollingExtrema,
    cooldown: Cooldown,
}

impl Breakout {
    /// A breakout strategy on `symbol` whose window may grow to `max_window` samples, with
    /// `params` (indexed as [`PARAM_SPECS`]).
    ///
    /// # Errors
    /// [`ParamError::OutOfRange`] for `max_window` outside `1..=65536` (named
    /// `max_window`), or for the first parameter outside its range (`window` above
    /// `max_window` included).
    pub fn new(
        symbol: SymbolId,
        max_window: usize,
        params: [i64; PARAM_COUNT],
    ) -> Result<Self, ParamError> {
        if !(1..=MAX_WINDOW_CAPACITY).contains(&max_window) {
            return Err(MAX_WINDOW_ERROR);
        }
        validate(&params, max_window)?;
        let window = usize::try_from(params[WINDOW]).map_err(|_| MAX_WINDOW_ERROR)?;
        Ok(Self {
            symbols: [symbol],
            params,
            channel: RollingExtrema::new(max_window, window),
            cooldown: Cooldown::default(),
        })
    }

    /// Checks the book against the channel and sends at most one order.
    fn evaluate(&mut self, ctx: &StrategyContext<'_>, book: &UsableBook, out: &mut IntentBuffer) {
        if self.channel.is_warming_up() {
            return;
        }
        let (Some(high), Some(low)) = (self.channel.high(), self.channel.low()) else {
            return;
        };
        // Doubled prices: 2 × ask against 2 × high + 2 × edge.
        let edge = 2 * i128::from(self.params[EDGE_TICKS]) * book.tick;
        let up = 2 * book.ask > i128::from(high) + edge;
        let down = 2 * book.bid < i128::from(low) - edge;
        let side = match (up, down) {
            (true, false) => Side::Bid,
            (false, true) => Side::Ask,
            _ => return,
        };
        if !self.cooldown.ready(ctx.now_ns, self.params[COOLDOWN_NS]) {
            return;
        }
        let intent = entry_intent(
            self.symbols[0],
            side,
            book,
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
}

/// Checks a whole parameter array, including `window ≤ capacity`.
fn validate(params: &[i64; PARAM_COUNT], capacity: usize) -> Result<(), ParamError> {
    check_params(&PARAM_SPECS, params)?;
    check_window(&PARAM_SPECS[WINDOW], params[WINDOW], capacity)
}

impl Strategy for Breakout {
    fn name(&self) -> &'static str {
        "breakout"
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
        self.evaluate(ctx, &book, out);
        self.channel.push(sample);
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
        validate(&candidate, self.channel.capacity())?;
        if index == WINDOW {
            // Validated: 1 ≤ value ≤ capacity.
            let window = usize::try_from(value).map_err(|_| ParamError::Unknown)?;
            self.channel.set_len(window);
        }
        self.params = candidate;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use tickwire_common::{Price, Qty};

    use super::super::window::testing::{
        UNIT, any_step, cents, check_signal_invariants, market, units,
    };
    use super::super::{Intent, Strategy, TimeInForce, param_index};
    use super::*;

    const SYMBOL: SymbolId = 9;

    /// Window 3, edge 1 tick, IOC, one unit, at most three units, no cooldown.
    fn params() -> [i64; PARAM_COUNT] {
        [3, 1, 0, UNIT, 3 * UNIT, 0]
    }

    fn strategy() -> Breakout {
        Breakout::new(SYMBOL, 8, params()).unwrap()
    }

    /// One book `mid ∓ 1 cent` (half spread = edge, so a flat mid does not trigger).
    fn mid(strategy: &mut Breakout, now_ns: u64, position: Qty, mid: i64) -> Option<Intent> {
        let mut out = IntentBuffer::with_capacity(4);
        let ctx = StrategyContext {
            now_ns,
            position,
            orders: &[],
        };
        strategy.on_book(&ctx, &market(SYMBOL, mid - 1, 1, mid + 1, 1), &mut out);
        assert!(out.len() <= 1);
        out.as_slice().first().copied()
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

    /// Mids 100.00, 100.02, 99.99: high 100.02, low 99.99.
    fn warmed_up() -> Breakout {
        let mut strategy = strategy();
        for (now, price) in [10_000, 10_002, 9_999].into_iter().enumerate() {
            assert_eq!(mid(&mut strategy, now as u64, Qty::ZERO, price), None);
        }
        strategy
    }

    #[test]
    fn no_signal_while_warming_up() {
        let mut strategy = strategy();
        assert_eq!(mid(&mut strategy, 0, Qty::ZERO, 10_000), None);
        assert_eq!(mid(&mut strategy, 1, Qty::ZERO, 11_000), None);
        assert_eq!(mid(&mut strategy, 2, Qty::ZERO, 12_000), None);
        // Three samples held: ask 130.01 > high 120.00 + 0.01.
        assert_eq!(
            mid(&mut strategy, 3, Qty::ZERO, 13_000),
            Some(signal(Side::Bid, 13_001))
        );
    }

    #[test]
    fn buys_exactly_when_the_ask_breaks_the_high() {
        let mut strategy = warmed_up();
        // Mid 100.02: ask 100.03 = high 100.02 + edge, not above. Window 100.02, 99.99, 100.02.
        assert_eq!(mid(&mut strategy, 10, Qty::ZERO, 10_002), None);
        // Mid 100.03: ask 100.04 > 100.03.
        assert_eq!(
            mid(&mut strategy, 11, Qty::ZERO, 10_003),
            Some(signal(Side::Bid, 10_004))
        );
    }

    #[test]
    fn sells_exactly_when_the_bid_breaks_the_low() {
        let mut strategy = warmed_up();
        // Mid 99.99: bid 99.98 = low 99.99 − edge, not below. Window 100.02, 99.99, 99.99.
        assert_eq!(mid(&mut strategy, 10, Qty::ZERO, 9_999), None);
        // Mid 99.98: bid 99.97 < 99.98.
        assert_eq!(
            mid(&mut strategy, 11, Qty::ZERO, 9_998),
            Some(signal(Side::Ask, 9_997))
        );
    }

    #[test]
    fn the_channel_forgets_samples_older_than_the_window() {
        let mut strategy = strategy();
        for (now, price) in [10_010, 10_000, 10_000].into_iter().enumerate() {
            assert_eq!(mid(&mut strategy, now as u64, Qty::ZERO, price), None);
        }
        // High 100.10: ask 100.06 is inside. Window becomes 100.00, 100.00, 100.05.
        assert_eq!(mid(&mut strategy, 3, Qty::ZERO, 10_005), None);
        // High 100.05 now (100.10 left): ask 100.07 > 100.06.
        assert_eq!(
            mid(&mut strategy, 4, Qty::ZERO, 10_006),
            Some(signal(Side::Bid, 10_007))
        );
    }

    #[test]
    fn a_spread_blown_out_on_both_sides_is_not_a_breakout() {
        let mut strategy = warmed_up();
        let ctx = StrategyContext {
            now_ns: 10,
            position: Qty::ZERO,
            orders: &[],
        };
        let mut out = IntentBuffer::with_capacity(4);
        strategy.on_book(&ctx, &market(SYMBOL, 9_900, 1, 10_100, 1), &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn cooldown_spaces_signals() {
        let mut strategy = warmed_up();
        strategy.set_param(COOLDOWN_NS, 250).unwrap();
        // A steady climb breaks out on every update; 100 ns apart, only every third fires.
        let fired: Vec<bool> = (0..7)
            .map(|step| {
                mid(
                    &mut strategy,
                    100 + 100 * step,
                    Qty::ZERO,
                    10_010 + 10 * step as i64,
                )
                .is_some()
            })
            .collect();
        assert_eq!(fired, [true, false, false, true, false, false, true]);
    }

    #[test]
    fn respects_max_position() {
        // Long three: no buy (and no cooldown started); short three: no sell.
        let mut strategy = warmed_up();
        assert_eq!(mid(&mut strategy, 10, units(3), 10_010), None);
        let mut strategy = warmed_up();
        assert_eq!(mid(&mut strategy, 10, units(-3), 9_980), None);
        // Long three may sell; 2.5 long buys half a unit.
        let mut strategy = warmed_up();
        assert_eq!(
            mid(&mut strategy, 10, units(3), 9_980),
            Some(signal(Side::Ask, 9_979))
        );
        let mut strategy = warmed_up();
        let Some(Intent::New { qty, .. }) =
            mid(&mut strategy, 10, Qty::from_raw(5 * UNIT / 2), 10_010)
        else {
            panic!("no signal");
        };
        assert_eq!(qty, Qty::from_raw(UNIT / 2));
    }

    #[test]
    fn unusable_books_neither_signal_nor_sample() {
        let mut strategy = warmed_up();
        let ctx = StrategyContext {
            now_ns: 10,
            position: Qty::ZERO,
            orders: &[],
        };
        let mut out = IntentBuffer::with_capacity(4);
        let mut stale = market(SYMBOL, 11_000, 1, 11_002, 1);
        stale.tradable = false;
        let mut one_sided = market(SYMBOL, 11_000, 1, 11_002, 1);
        one_sided.top.bid_price = Price::NONE;
        for view in [stale, one_sided, market(SYMBOL, 11_002, 1, 11_000, 1)] {
            strategy.on_book(&ctx, &view, &mut out);
        }
        assert!(out.is_empty());
        // The high is still 100.02 (110.01 would have raised it): mid 100.03 breaks out.
        assert_eq!(
            mid(&mut strategy, 11, Qty::ZERO, 10_003),
            Some(signal(Side::Bid, 10_004))
        );
    }

    #[test]
    fn window_changes_rebuild_the_channel() {
        let mut strategy = strategy();
        for (now, price) in [10_010, 10_000, 10_000, 10_000].into_iter().enumerate() {
            mid(&mut strategy, now as u64, Qty::ZERO, price);
        }
        // Window 3 holds 100.00 × 3; window 4 brings back 100.10: ask 100.06 is inside.
        strategy.set_param(WINDOW, 4).unwrap();
        assert_eq!(mid(&mut strategy, 10, Qty::ZERO, 10_005), None);
        // Window 1: only the last mid, 100.05.
        strategy.set_param(WINDOW, 1).unwrap();
        assert_eq!(
            mid(&mut strategy, 11, Qty::ZERO, 10_006),
            Some(signal(Side::Bid, 10_007))
        );
    }

    #[test]
    fn parameters_are_validated_and_errors_change_nothing() {
        let mut strategy = warmed_up();
        assert_eq!(strategy.name(), "breakout");
        assert_eq!(strategy.symbols(), [SYMBOL]);
        assert_eq!(
            param_index(strategy.param_specs(), "edge_ticks"),
            Some(EDGE_TICKS)
        );
        assert_eq!(strategy.set_param(PARAM_COUNT, 1), Err(ParamError::Unknown));
        assert_eq!(
            strategy.set_param(WINDOW, 9),
            Err(ParamError::OutOfRange {
                name: "window",
                min: 1,
                max: 8
            })
        );
        for (index, bad) in [
            (WINDOW, 0),
            (EDGE_TICKS, MAX_TICKS + 1),
            (TIF, 2),
            (ORDER_QTY, -5),
            (MAX_POSITION, -1),
            (COOLDOWN_NS, -1),
        ] {
            assert!(strategy.set_param(index, bad).is_err(), "{index} = {bad}");
        }
        assert_eq!(strategy.params, params());
        assert_eq!(strategy.channel.window_len(), 3);
        assert_eq!(strategy.param(PARAM_COUNT), 0);
        // Unchanged channel: the boundary still holds, and one tick more breaks out.
        assert_eq!(mid(&mut strategy, 10, Qty::ZERO, 10_002), None);
        assert_eq!(
            mid(&mut strategy, 11, Qty::ZERO, 10_003),
            Some(signal(Side::Bid, 10_004))
        );
        assert!(Breakout::new(SYMBOL, 2, params()).is_err());
        assert_eq!(
            Breakout::new(SYMBOL, MAX_WINDOW_CAPACITY + 1, params()).err(),
            Some(MAX_WINDOW_ERROR)
        );
        assert!(Breakout::new(SYMBOL, 256, DEFAULT_PARAMS).is_ok());
    }

    proptest! {
        #[test]
        fn signals_are_well_formed_limited_and_allocation_free(
            steps in proptest::collection::vec(any_step(), 1..200),
            window in 1_i64..=16,
            edge in 0_i64..4,
            tif in 0_i64..=1,
            order_qty in 1_i64..3 * UNIT,
            max_position in 0_i64..6 * UNIT,
            cooldown in prop_oneof![Just(0_i64), 0_i64..3_000],
            resize in proptest::option::of(1_i64..=16),
        ) {
            let mut strategy = Breakout::new(
                SYMBOL,
                16,
                [window, edge, tif, order_qty, max_position, cooldown],
            )
            .unwrap();
            // Half the walk, an optional window change, then the rest (the harness restarts
            // its clock, so the first half is not checked for cooldown spacing).
            let half = steps.len() / 2;
            check_signal_invariants(&mut strategy, SYMBOL, &steps[..half], order_qty, max_position, 0)?;
            if let Some(resize) = resize {
                strategy.set_param(WINDOW, resize).unwrap();
            }
            check_signal_invariants(
                &mut strategy,
                SYMBOL,
                &steps[half..],
                order_qty,
                max_position,
                cooldown.cast_unsigned(),
            )?;
        }
    }
}
