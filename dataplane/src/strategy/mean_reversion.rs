//! Mean reversion: buy below the rolling mean, sell above it.
//!
//! # Samples
//! One sample per call with a usable book (tradable, two-sided, best bid > 0, not crossed
//! or locked, tick > 0): with `source` 0 the mid of each book update (`on_book`), with
//! `source` 1 the price of each trade print (`on_trade`). Samples are stored doubled
//! (`bid + ask`, `2 × trade`) so the mid is exact; the mean is never divided out, comparisons
//! cross-multiply in `i128`.
//!
//! # Signal
//! On each book update (and, with the trade source, each trade), against the mean `m` of
//! the `window` samples *before* this one (no signal until `window` samples are held):
//!
//! - buy when `best ask < m − edge`, a limit at the best ask (rounded down to the tick);
//! - sell when `best bid > m + edge`, a limit at the best bid (rounded up to the tick);
//!
//! with `edge = edge_ticks × tick`, time in force from `tif`, and quantity `order_qty`
//! trimmed so that the position plus the open quantity of this strategy's same-side orders
//! cannot pass `max_position` (long for buys, short for sells); nothing is sent when no room
//! is left. After a signal is sent, none fires for `cooldown_ns`. A signal blocked by the
//! cooldown or the position limit is dropped, not deferred. The order is not managed
//! afterwards (an IOC ends by itself; a day order rests until filled or canceled).
//!
//! # Parameters
//! | index | name | unit | range | meaning |
//! |---|---|---|---|---|
//! | 0 | `window` | count | 1 ..= `max_window` (≤ 65536) | samples in the rolling mean |
//! | 1 | `edge_ticks` | ticks | 0 ..= 10^6 | distance from the mean that triggers |
//! | 2 | `source` | count | 0 ..= 1 | 0: mid of each book update, 1: each trade price |
//! | 3 | `tif` | count | 0 ..= 1 | 0: immediate or cancel, 1: day |
//! | 4 | `order_qty` | Qty (raw) | 1 ..= 10^17 | quantity per signal |
//! | 5 | `max_position` | Qty (raw) | 0 ..= 10^17 | largest absolute position an order may lead to |
//! | 6 | `cooldown_ns` | ns | 0 ..= 8.64 × 10^13 | minimum time between two signals |
//!
//! Changing `window` keeps the samples (the ring holds `max_window` of them); changing
//! `source` clears them.
//!
//! Contract: allocates only in [`MeanReversion::new`]; each call is O(live orders on the
//! symbol); no `f64`; at most one intent per call.

use tickwire_common::{Price, Qty};

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
/// Index of `window`.
pub const WINDOW: usize = 0;
/// Index of `edge_ticks`.
pub const EDGE_TICKS: usize = 1;
/// Index of `source`.
pub const SOURCE: usize = 2;
/// Index of `tif`.
pub const TIF: usize = 3;
/// Index of `order_qty`.
pub const ORDER_QTY: usize = 4;
/// Index of `max_position`.
pub const MAX_POSITION: usize = 5;
/// Index of `cooldown_ns`.
pub const COOLDOWN_NS: usize = 6;

/// `source` value: the mid of each book update.
pub const SOURCE_MID: i64 = 0;
/// `source` value: each trade price.
pub const SOURCE_LAST_TRADE: i64 = 1;

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
        name: "source",
        unit: ParamUnit::Count,
        min: SOURCE_MID,
        max: SOURCE_LAST_TRADE,
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

/// A starting point: 100 mids, 5 ticks, IOC, one unit, at most ten units, 1 ms apart.
pub const DEFAULT_PARAMS: [i64; PARAM_COUNT] =
    [100, 5, SOURCE_MID, 0, 100_000_000, 1_000_000_000, 1_000_000];

/// The mean-reversion strategy (see the module documentation).
#[derive(Debug)]
pub struct MeanReversion {
    symbols: [SymbolId; 1],
    params: [i64; PARAM_COUNT],
    /// Doubled prices (see the module documentation).
    samples: RollingSum,
    cooldown: Cooldown,
}

impl MeanReversion {
    /// A mean-reversion strategy on `symbol` whose window may grow to `max_window` samples,
    /// with `params` (indexed as [`PARAM_SPECS`]).
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
        Ok(Self {
            symbols: [symbol],
            params,
            samples: RollingSum::new(max_window),
            cooldown: Cooldown::default(),
        })
    }

    /// Checks the book against the mean of the samples held and sends at most one order.
    fn evaluate(&mut self, ctx: &StrategyContext<'_>, book: &UsableBook, out: &mut IntentBuffer) {
        let window = self.params[WINDOW];
        let Some(sum) = usize::try_from(window)
            .ok()
            .and_then(|window| self.samples.sum_last(window))
        else {
            return;
        };
        if !self.cooldown.ready(ctx.now_ns, self.params[COOLDOWN_NS]) {
            return;
        }
        // All in doubled prices times the window: sum = 2 × window × mean. Bounded by the
        // parameter ranges (window ≤ 2^16, prices < 2^63, edge ≤ 2^20 ticks), far from
        // i128 overflow.
        let window = i128::from(window);
        let edge = 2 * i128::from(self.params[EDGE_TICKS]) * book.tick * window;
        let side = if 2 * book.ask * window < sum - edge {
            Side::Bid
        } else if 2 * book.bid * window > sum + edge {
            Side::Ask
        } else {
            return;
        };
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

impl Strategy for MeanReversion {
    fn name(&self) -> &'static str {
        "mean_reversion"
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
        self.evaluate(ctx, &book, out);
        if self.params[SOURCE] == SOURCE_MID
            && let Some(sample) = book.mid_doubled()
        {
            self.samples.push(sample);
        }
    }

    fn on_trade(
        &mut self,
        ctx: &StrategyContext<'_>,
        market: &MarketView,
        price: Price,
        _qty: Qty,
        out: &mut IntentBuffer,
    ) {
        if market.symbol != self.symbols[0] || self.params[SOURCE] != SOURCE_LAST_TRADE {
            return;
        }
        let Some(book) = UsableBook::from_market(market) else {
            return;
        };
        let Some(sample) = price
            .raw()
            .checked_mul(2)
            .filter(|_| price.is_some() && price.is_positive())
        else {
            return;
        };
        self.evaluate(ctx, &book, out);
        self.samples.push(sample);
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
        validate(&candidate, self.samples.capacity())?;
        if index == SOURCE && value != self.params[SOURCE] {
            self.samples.clear();
        }
        self.params = candidate;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::window::testing::{
        UNIT, any_step, cents, check_signal_invariants, market, order, units,
    };
    use super::super::{Intent, OrderState, Strategy, TimeInForce, param_index};
    use super::*;

    const SYMBOL: SymbolId = 5;

    /// Window 4, edge 2 ticks, mids, IOC, one unit, at most three units, 250 ns cooldown.
    fn params() -> [i64; PARAM_COUNT] {
        [4, 2, SOURCE_MID, 0, UNIT, 3 * UNIT, 250]
    }

    fn strategy() -> MeanReversion {
        MeanReversion::new(SYMBOL, 8, params()).unwrap()
    }

    fn book(
        strategy: &mut MeanReversion,
        now_ns: u64,
        position: Qty,
        bid: i64,
        ask: i64,
    ) -> Option<Intent> {
        let mut out = IntentBuffer::with_capacity(4);
        let ctx = StrategyContext {
            now_ns,
            position,
            orders: &[],
        };
        strategy.on_book(&ctx, &market(SYMBOL, bid, 1, ask, 1), &mut out);
        assert!(out.len() <= 1);
        out.as_slice().first().copied()
    }

    fn buy(price_cents: i64, qty: Qty) -> Intent {
        Intent::New {
            symbol: SYMBOL,
            side: Side::Bid,
            price: cents(price_cents),
            qty,
            tif: TimeInForce::Ioc,
        }
    }

    fn sell(price_cents: i64, qty: Qty) -> Intent {
        Intent::New {
            symbol: SYMBOL,
            side: Side::Ask,
            price: cents(price_cents),
            qty,
            tif: TimeInForce::Ioc,
        }
    }

    /// Four mids of 100.01 (100.00 / 100.02): mean 100.01, band 99.99 .. 100.03.
    fn warmed_up() -> MeanReversion {
        let mut strategy = strategy();
        for now in 0..4 {
            assert_eq!(book(&mut strategy, now, Qty::ZERO, 10_000, 10_002), None);
        }
        strategy
    }

    #[test]
    fn no_signal_while_warming_up() {
        let mut strategy = strategy();
        // Far below any mean, but fewer than four samples before each call.
        assert_eq!(book(&mut strategy, 0, Qty::ZERO, 10_000, 10_002), None);
        for now in 1..4 {
            assert_eq!(book(&mut strategy, now, Qty::ZERO, 9_000, 9_001), None);
        }
        // Fifth call: mean (100.01 + 3 × 90.005) / 4 = 92.50625; ask 90.01 < 92.48625.
        assert_eq!(
            book(&mut strategy, 4, Qty::ZERO, 9_000, 9_001),
            Some(buy(9_001, units(1)))
        );
    }

    #[test]
    fn buys_exactly_when_the_ask_crosses_below_the_band() {
        let mut strategy = warmed_up();
        // Ask 99.99 = mean − edge: not below. Pushes mid 99.985.
        assert_eq!(book(&mut strategy, 10, Qty::ZERO, 9_998, 9_999), None);
        // Mean (3 × 100.01 + 99.985) / 4 = 100.00375: ask 99.98 < 99.98375.
        assert_eq!(
            book(&mut strategy, 11, Qty::ZERO, 9_997, 9_998),
            Some(buy(9_998, units(1)))
        );
    }

    #[test]
    fn sells_exactly_when_the_bid_crosses_above_the_band() {
        let mut strategy = warmed_up();
        // Bid 100.03 = mean + edge: not above. Pushes mid 100.035.
        assert_eq!(book(&mut strategy, 10, Qty::ZERO, 10_003, 10_004), None);
        // Mean (3 × 100.01 + 100.035) / 4 = 100.01625: bid 100.04 > 100.03625.
        assert_eq!(
            book(&mut strategy, 11, Qty::ZERO, 10_004, 10_005),
            Some(sell(10_004, units(1)))
        );
    }

    #[test]
    fn cooldown_spaces_signals() {
        let mut strategy = warmed_up();
        // Ask 99.91 stays below mean − edge while mean > 99.93, i.e. for the first four
        // low samples (mean 100.01, 99.98375, 99.9575, 99.93125); 100 ns apart with a
        // 250 ns cooldown, only the first and the fourth fire.
        let fired: Vec<bool> = (0..5)
            .map(|step| book(&mut strategy, 100 + 100 * step, Qty::ZERO, 9_990, 9_991).is_some())
            .collect();
        assert_eq!(fired, [true, false, false, true, false]);
    }

    #[test]
    fn respects_max_position_with_open_orders() {
        let mut strategy = warmed_up();
        // Long three units already: no buy, and the cooldown does not start.
        assert_eq!(book(&mut strategy, 10, units(3), 9_990, 9_991), None);
        // 2.5 long: trimmed to half a unit.
        assert_eq!(
            book(&mut strategy, 11, Qty::from_raw(5 * UNIT / 2), 9_990, 9_991),
            Some(buy(9_991, Qty::from_raw(UNIT / 2)))
        );
        // Two long plus one unit bid open: no room.
        let mut strategy = warmed_up();
        let orders = [order(
            9,
            SYMBOL,
            Side::Bid,
            cents(9_991),
            units(1),
            OrderState::Accepted,
        )];
        let ctx = StrategyContext {
            now_ns: 10,
            position: units(2),
            orders: &orders,
        };
        let mut out = IntentBuffer::with_capacity(4);
        strategy.on_book(&ctx, &market(SYMBOL, 9_990, 1, 9_991, 1), &mut out);
        assert!(out.is_empty());
        // Selling is still allowed when long; short three blocks it.
        let mut strategy = warmed_up();
        assert_eq!(
            book(&mut strategy, 10, units(3), 10_010, 10_011),
            Some(sell(10_010, units(1)))
        );
        let mut strategy = warmed_up();
        assert_eq!(book(&mut strategy, 10, units(-3), 10_010, 10_011), None);
    }

    #[test]
    fn unusable_books_neither_signal_nor_sample() {
        let mut strategy = warmed_up();
        let mut stale = market(SYMBOL, 9_000, 1, 9_001, 1);
        stale.tradable = false;
        let mut one_sided = market(SYMBOL, 9_000, 1, 9_001, 1);
        one_sided.top.bid_price = Price::NONE;
        let crossed = market(SYMBOL, 9_002, 1, 9_001, 1);
        let ctx = StrategyContext {
            now_ns: 10,
            position: Qty::ZERO,
            orders: &[],
        };
        let mut out = IntentBuffer::with_capacity(4);
        for view in [stale, one_sided, crossed] {
            strategy.on_book(&ctx, &view, &mut out);
        }
        assert!(out.is_empty());
        // The mean is still 100.01 (a 90.005 sample would have pulled it to 97.51 and
        // made this bid a sell): bid 100.03 is on the band.
        assert_eq!(book(&mut strategy, 11, Qty::ZERO, 10_003, 10_004), None);
    }

    #[test]
    fn day_orders_when_configured() {
        let mut strategy = warmed_up();
        strategy.set_param(TIF, 1).unwrap();
        let Some(Intent::New { tif, .. }) = book(&mut strategy, 10, Qty::ZERO, 9_990, 9_991) else {
            panic!("no signal");
        };
        assert_eq!(tif, TimeInForce::Day);
    }

    #[test]
    fn trade_source_samples_trades_only() {
        let mut strategy = strategy();
        strategy.set_param(SOURCE, SOURCE_LAST_TRADE).unwrap();
        let view = market(SYMBOL, 10_000, 1, 10_002, 1);
        let ctx = StrategyContext {
            now_ns: 10,
            position: Qty::ZERO,
            orders: &[],
        };
        let mut out = IntentBuffer::with_capacity(4);
        // Book updates far away add no samples.
        for now in 0..10 {
            assert_eq!(book(&mut strategy, now, Qty::ZERO, 9_000, 9_001), None);
        }
        for _ in 0..4 {
            strategy.on_trade(&ctx, &view, cents(10_001), units(1), &mut out);
        }
        assert!(out.is_empty());
        // Mean of trades 100.01: ask 99.99 is on the band, 99.98 below it.
        assert_eq!(book(&mut strategy, 11, Qty::ZERO, 9_998, 9_999), None);
        assert_eq!(
            book(&mut strategy, 12, Qty::ZERO, 9_997, 9_998),
            Some(buy(9_998, units(1)))
        );
        // A trade fires too, against the trades before it.
        let mut strategy = MeanReversion::new(SYMBOL, 8, params()).unwrap();
        strategy.set_param(SOURCE, SOURCE_LAST_TRADE).unwrap();
        for _ in 0..4 {
            strategy.on_trade(&ctx, &view, cents(10_001), units(1), &mut out);
        }
        let low = market(SYMBOL, 9_990, 1, 9_991, 1);
        strategy.on_trade(&ctx, &low, cents(9_991), units(1), &mut out);
        assert_eq!(out.as_slice(), [buy(9_991, units(1))]);
        // Trades are ignored with the mid source.
        let mut strategy = strategy_with_mid_and_trades(&ctx);
        assert_eq!(book(&mut strategy, 11, Qty::ZERO, 9_998, 9_999), None);
    }

    /// Three mids and many far-away trades with the mid source: one sample short.
    fn strategy_with_mid_and_trades(ctx: &StrategyContext<'_>) -> MeanReversion {
        let mut strategy = strategy();
        let mut out = IntentBuffer::with_capacity(4);
        for now in 0..3 {
            assert_eq!(book(&mut strategy, now, Qty::ZERO, 10_000, 10_002), None);
        }
        for _ in 0..10 {
            strategy.on_trade(
                ctx,
                &market(SYMBOL, 10_000, 1, 10_002, 1),
                cents(1),
                units(1),
                &mut out,
            );
        }
        assert!(out.is_empty());
        strategy
    }

    #[test]
    fn window_changes_keep_history_and_source_changes_clear_it() {
        let mut strategy = warmed_up();
        // Window 2 over the same samples: still mean 100.01.
        strategy.set_param(WINDOW, 2).unwrap();
        assert_eq!(
            book(&mut strategy, 10, Qty::ZERO, 9_997, 9_998),
            Some(buy(9_998, units(1)))
        );
        // Window 8 needs eight samples: only five held.
        strategy.set_param(WINDOW, 8).unwrap();
        assert_eq!(book(&mut strategy, 1_000, Qty::ZERO, 9_000, 9_001), None);
        strategy.set_param(SOURCE, SOURCE_LAST_TRADE).unwrap();
        strategy.set_param(SOURCE, SOURCE_MID).unwrap();
        strategy.set_param(WINDOW, 1).unwrap();
        // Cleared: the first book after the change only samples (the last mid, 90.005,
        // would have made this bid a sell).
        assert_eq!(book(&mut strategy, 2_000, Qty::ZERO, 10_000, 10_001), None);
    }

    #[test]
    fn parameters_are_validated_and_errors_change_nothing() {
        let mut strategy = warmed_up();
        assert_eq!(strategy.name(), "mean_reversion");
        assert_eq!(strategy.symbols(), [SYMBOL]);
        assert_eq!(
            param_index(strategy.param_specs(), "cooldown_ns"),
            Some(COOLDOWN_NS)
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
            (EDGE_TICKS, -1),
            (SOURCE, 2),
            (TIF, -1),
            (ORDER_QTY, 0),
            (MAX_POSITION, -1),
            (COOLDOWN_NS, MAX_COOLDOWN_NS + 1),
        ] {
            assert!(strategy.set_param(index, bad).is_err(), "{index} = {bad}");
        }
        assert_eq!(strategy.params, params());
        assert_eq!(strategy.param(PARAM_COUNT), 0);
        // The samples survived the refusals: the band still fires at 99.98.
        assert_eq!(
            book(&mut strategy, 10, Qty::ZERO, 9_997, 9_998),
            Some(buy(9_998, units(1)))
        );
        assert_eq!(
            MeanReversion::new(SYMBOL, 0, params()).err(),
            Some(MAX_WINDOW_ERROR)
        );
        assert_eq!(
            MeanReversion::new(SYMBOL, MAX_WINDOW_CAPACITY + 1, params()).err(),
            Some(MAX_WINDOW_ERROR)
        );
        assert!(MeanReversion::new(SYMBOL, 3, params()).is_err());
        assert!(MeanReversion::new(SYMBOL, 128, DEFAULT_PARAMS).is_ok());
    }

    proptest! {
        #[test]
        fn signals_are_well_formed_limited_and_allocation_free(
            steps in proptest::collection::vec(any_step(), 1..200),
            window in 1_i64..=16,
            edge in 0_i64..4,
            source in 0_i64..=1,
            tif in 0_i64..=1,
            order_qty in 1_i64..3 * UNIT,
            max_position in 0_i64..6 * UNIT,
            cooldown in prop_oneof![Just(0_i64), 0_i64..3_000],
        ) {
            let mut strategy = MeanReversion::new(
                SYMBOL,
                16,
                [window, edge, source, tif, order_qty, max_position, cooldown],
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
