//! Market maker: one bid and one ask around the microprice, skewed against inventory.
//!
//! # Quotes
//! On a usable book (tradable, both sides present, best bid > 0, not crossed or locked,
//! tick > 0), with raw fixed-point values and `i128` intermediates:
//!
//! - microprice `m = (bid × ask_qty + ask × bid_qty) / (bid_qty + ask_qty)` (floored; the
//!   plain mid when a best quantity is not positive);
//! - inventory skew `s = position × skew_ticks_per_lot × tick / skew_lot_qty` (truncated
//!   toward zero, so long and short skew alike): centre `c = m − s`, so a long position
//!   lowers both quotes and a short one raises them;
//! - `bid = floor_tick(c − min_spread/2)`, `ask = ceil_tick(c + min_spread/2)` with
//!   `min_spread = min_spread_ticks × tick`, so `ask − bid ≥ min_spread`;
//! - never crossing the book it sees: the bid is lowered to at most the last tick below the
//!   best ask, the ask raised to at least the first tick above the best bid (these only
//!   widen the quote);
//! - a side is pulled when its price is not strictly positive or does not fit, and when a
//!   fill of `quote_qty` could take the position past `max_position` in that direction,
//!   counting the other live orders on that side: `position + quote_qty + other bids ≤
//!   max_position` for the bid, `−position + quote_qty + other asks ≤ max_position` for
//!   the ask.
//!
//! # Orders
//! At most one live bid and one live ask (day orders), read from `ctx.orders` on every call:
//!
//! - none on a side (and no cancel pending there) → `New`;
//! - one whose price is at least `requote_ticks` from the target, whose open quantity
//!   exceeds `quote_qty`, or that would now cross the book → `Replace` with the target price
//!   and `quote_qty`, only while it is `Accepted` or `PartiallyFilled` (never while
//!   `PendingNew`, `PendingReplace` or `PendingCancel`);
//! - a side that must be pulled (book unusable, one-sided, crossed, max inventory) →
//!   `Cancel` of any live order there that is not already `PendingCancel`;
//! - extra live orders on a side (more than one) → `Cancel`.
//!
//! Order events for the symbol re-run the quoting on the last book seen: fills move the
//! skew, acknowledgements and cancels free a side. Rejections (venue or risk gate) do not,
//! so a refused quote is retried on the next book update rather than in a loop.
//!
//! # Parameters
//! | index | name | unit | range | meaning |
//! |---|---|---|---|---|
//! | 0 | `quote_qty` | Qty (raw) | 1 ..= 10^17 | size of each quote |
//! | 1 | `min_spread_ticks` | ticks | 1 ..= 10^6 | smallest distance between our bid and ask |
//! | 2 | `skew_ticks_per_lot` | ticks | 0 ..= 10^6 | quote shift per `skew_lot_qty` of position |
//! | 3 | `skew_lot_qty` | Qty (raw) | 1 ..= 10^17 | position unit the skew is expressed in |
//! | 4 | `requote_ticks` | ticks | 1 ..= 10^6 | smallest price move that replaces a live quote |
//! | 5 | `max_position` | Qty (raw) | 0 ..= 10^17 | largest absolute position a quote may lead to |
//!
//! Contract: allocates nothing after [`MarketMaker::new`]; each call is O(live orders on
//! the symbol); no `f64`; emitted prices are strictly positive multiples of the tick and
//! quantities strictly positive.

use tickwire_common::{Price, Qty};

use super::window::{
    MAX_QTY_RAW, MAX_TICKS, UsableBook, ceil_to_tick, check_params, floor_to_tick, is_replaceable,
    positive_price, room,
};
use super::{
    Intent, IntentBuffer, MarketView, OrderEvent, OrderEventKind, OrderState, OrderView,
    ParamError, ParamSpec, ParamUnit, Strategy, StrategyContext, SymbolId, TimeInForce,
    check_param,
};
use crate::book::Side;

/// Number of parameters.
pub const PARAM_COUNT: usize = 6;
/// Index of `quote_qty`.
pub const QUOTE_QTY: usize = 0;
/// Index of `min_spread_ticks`.
pub const MIN_SPREAD_TICKS: usize = 1;
/// Index of `skew_ticks_per_lot`.
pub const SKEW_TICKS_PER_LOT: usize = 2;
/// Index of `skew_lot_qty`.
pub const SKEW_LOT_QTY: usize = 3;
/// Index of `requote_ticks`.
pub const REQUOTE_TICKS: usize = 4;
/// Index of `max_position`.
pub const MAX_POSITION: usize = 5;

/// Parameter descriptions, in index order.
pub static PARAM_SPECS: [ParamSpec; PARAM_COUNT] = [
    ParamSpec {
        name: "quote_qty",
        unit: ParamUnit::Qty,
        min: 1,
        max: MAX_QTY_RAW,
    },
    ParamSpec {
        name: "min_spread_ticks",
        unit: ParamUnit::Ticks,
        min: 1,
        max: MAX_TICKS,
    },
    ParamSpec {
        name: "skew_ticks_per_lot",
        unit: ParamUnit::Ticks,
        min: 0,
        max: MAX_TICKS,
    },
    ParamSpec {
        name: "skew_lot_qty",
        unit: ParamUnit::Qty,
        min: 1,
        max: MAX_QTY_RAW,
    },
    ParamSpec {
        name: "requote_ticks",
        unit: ParamUnit::Ticks,
        min: 1,
        max: MAX_TICKS,
    },
    ParamSpec {
        name: "max_position",
        unit: ParamUnit::Qty,
        min: 0,
        max: MAX_QTY_RAW,
    },
];

/// A starting point: one unit quotes, two ticks wide, one tick of skew per unit held,
/// requote on a two-tick move, at most ten units either way.
pub const DEFAULT_PARAMS: [i64; PARAM_COUNT] = [100_000_000, 2, 1, 100_000_000, 2, 1_000_000_000];

/// The market maker (see the module documentation).
#[derive(Debug)]
pub struct MarketMaker {
    symbols: [SymbolId; 1],
    params: [i64; PARAM_COUNT],
    /// The last book seen, to requote on order events.
    last_market: Option<MarketView>,
}

/// What to do with one side.
#[derive(Debug, Clone, Copy)]
struct Target<'a> {
    price: Price,
    book: &'a UsableBook,
}

impl MarketMaker {
    /// A market maker on `symbol` with `params` (indexed as [`PARAM_SPECS`]).
    ///
    /// # Errors
    /// [`ParamError::OutOfRange`] for the first parameter outside its range.
    pub fn new(symbol: SymbolId, params: [i64; PARAM_COUNT]) -> Result<Self, ParamError> {
        check_params(&PARAM_SPECS, &params)?;
        Ok(Self {
            symbols: [symbol],
            params,
            last_market: None,
        })
    }

    /// The bid and ask this strategy wants on `book` at `position`, before the inventory
    /// limit; `None` for a side whose price is not positive or does not fit.
    fn targets(&self, position: Qty, book: &UsableBook) -> (Option<Price>, Option<Price>) {
        let Some(centre) = self.centre(position, book) else {
            return (None, None);
        };
        let tick = book.tick;
        let spread = i128::from(self.params[MIN_SPREAD_TICKS]) * tick;
        let (Some(lower_doubled), Some(upper_doubled), Some(tick_doubled)) = (
            centre.checked_mul(2).and_then(|c| c.checked_sub(spread)),
            centre.checked_mul(2).and_then(|c| c.checked_add(spread)),
            tick.checked_mul(2),
        ) else {
            return (None, None);
        };
        // floor((c − spread/2) / tick) and ceil((c + spread/2) / tick) without halving.
        let bid = lower_doubled.div_euclid(tick_doubled) * tick;
        let ask = -((-upper_doubled).div_euclid(tick_doubled)) * tick;
        // Stay strictly inside the opposite best price (only widens the quote).
        let bid = bid.min(floor_to_tick(book.ask - 1, tick));
        let ask = ask.max(ceil_to_tick(book.bid + 1, tick));
        debug_assert!(bid < ask, "quotes cross each other");
        (positive_price(bid), positive_price(ask))
    }

    /// Microprice minus inventory skew (raw), `None` on overflow.
    fn centre(&self, position: Qty, book: &UsableBook) -> Option<i128> {
        let microprice = if book.bid_qty > 0 && book.ask_qty > 0 {
            let weighted = book
                .bid
                .checked_mul(book.ask_qty)?
                .checked_add(book.ask.checked_mul(book.bid_qty)?)?;
            weighted.div_euclid(book.bid_qty.checked_add(book.ask_qty)?)
        } else {
            (book.bid + book.ask).div_euclid(2)
        };
        let skew = i128::from(position.raw())
            .checked_mul(i128::from(self.params[SKEW_TICKS_PER_LOT]))?
            .checked_mul(book.tick)?
            / i128::from(self.params[SKEW_LOT_QTY]);
        microprice.checked_sub(skew)
    }

    /// Quotes on `market` with the orders and position in `ctx`.
    fn quote(&self, ctx: &StrategyContext<'_>, market: &MarketView, out: &mut IntentBuffer) {
        match UsableBook::from_market(market) {
            Some(book) => {
                let (bid, ask) = self.targets(ctx.position, &book);
                let target =
                    |price: Option<Price>| price.map(|price| Target { price, book: &book });
                self.manage_side(Side::Bid, target(bid), ctx, out);
                self.manage_side(Side::Ask, target(ask), ctx, out);
            }
            None => {
                self.manage_side(Side::Bid, None, ctx, out);
                self.manage_side(Side::Ask, None, ctx, out);
            }
        }
    }

    /// Brings one side to `target` (`None`: pull it).
    fn manage_side(
        &self,
        side: Side,
        target: Option<Target<'_>>,
        ctx: &StrategyContext<'_>,
        out: &mut IntentBuffer,
    ) {
        let symbol = self.symbols[0];
        let quote_qty = self.params[QUOTE_QTY];
        let mut quote: Option<OrderView> = None;
        let mut other_open: i128 = 0;
        let mut cancel_pending = false;
        for order in ctx.orders {
            if order.symbol != symbol || order.side != side || !order.state.is_live() {
                continue;
            }
            if order.state == OrderState::PendingCancel {
                cancel_pending = true;
                other_open += i128::from(order.leaves.raw().max(0));
            } else if quote.is_none() {
                quote = Some(*order);
            } else {
                // More than one quote on a side: keep the first, cancel the others.
                other_open += i128::from(order.leaves.raw().max(0));
                out.push(Intent::Cancel { order: order.id });
            }
        }
        let max_position = self.params[MAX_POSITION];
        let target = target.filter(|_| {
            room(side, ctx.position, other_open, max_position) >= i128::from(quote_qty)
        });
        match (quote, target) {
            (None, Some(target)) => {
                // Wait for a pending cancel to finish: at most one quote per side.
                if !cancel_pending {
                    out.push(Intent::New {
                        symbol,
                        side,
                        price: target.price,
                        qty: Qty::from_raw(quote_qty),
                        tif: TimeInForce::Day,
                    });
                }
            }
            (Some(order), None) => {
                out.push(Intent::Cancel { order: order.id });
            }
            (Some(order), Some(target)) => {
                if is_replaceable(order.state) && self.needs_replace(&order, &target) {
                    out.push(Intent::Replace {
                        order: order.id,
                        price: target.price,
                        qty: Qty::from_raw(quote_qty),
                    });
                }
            }
            (None, None) => {}
        }
    }

    /// True when the live quote moved far enough from the target, is larger than
    /// `quote_qty`, or now crosses the book.
    fn needs_replace(&self, order: &OrderView, target: &Target<'_>) -> bool {
        let live = i128::from(order.price.raw());
        let wanted = i128::from(target.price.raw());
        let threshold = i128::from(self.params[REQUOTE_TICKS]) * target.book.tick;
        let crosses = match order.side {
            Side::Bid => live >= target.book.ask,
            Side::Ask => live <= target.book.bid,
        };
        (live - wanted).abs() >= threshold || order.leaves.raw() > self.params[QUOTE_QTY] || crosses
    }
}

impl Strategy for MarketMaker {
    fn name(&self) -> &'static str {
        "market_maker"
    }

    fn symbols(&self) -> &[SymbolId] {
        &self.symbols
    }

    fn on_book(&mut self, ctx: &StrategyContext<'_>, market: &MarketView, out: &mut IntentBuffer) {
        if market.symbol != self.symbols[0] {
            return;
        }
        self.last_market = Some(*market);
        self.quote(ctx, market, out);
    }

    fn on_order_event(
        &mut self,
        ctx: &StrategyContext<'_>,
        event: &OrderEvent,
        out: &mut IntentBuffer,
    ) {
        if event.order.symbol != self.symbols[0] {
            return;
        }
        match event.kind {
            OrderEventKind::Accepted
            | OrderEventKind::Filled { .. }
            | OrderEventKind::Canceled
            | OrderEventKind::Replaced => {
                if let Some(market) = self.last_market {
                    self.quote(ctx, &market, out);
                }
            }
            OrderEventKind::Rejected | OrderEventKind::RiskRejected => {}
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
        self.params[index] = value;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::window::testing::{
        CENT, UNIT, allocations, assert_well_formed, cents, market, order, units,
    };
    use super::super::{OrderId, Strategy, param_index};
    use super::*;

    const SYMBOL: SymbolId = 3;

    /// Two-unit quotes, two ticks wide, one tick of skew per unit, requote on two ticks,
    /// at most ten units.
    fn params() -> [i64; PARAM_COUNT] {
        [2 * UNIT, 2, 1, UNIT, 2, 10 * UNIT]
    }

    fn maker() -> MarketMaker {
        MarketMaker::new(SYMBOL, params()).unwrap()
    }

    fn context(position: Qty, orders: &[OrderView]) -> StrategyContext<'_> {
        StrategyContext {
            now_ns: 1,
            position,
            orders,
        }
    }

    fn run(
        maker: &mut MarketMaker,
        position: Qty,
        orders: &[OrderView],
        view: &MarketView,
    ) -> Vec<Intent> {
        let mut out = IntentBuffer::with_capacity(8);
        maker.on_book(&context(position, orders), view, &mut out);
        assert_well_formed(out.as_slice(), SYMBOL, view.tick);
        out.as_slice().to_vec()
    }

    fn new(side: Side, price_cents: i64, qty_units: i64) -> Intent {
        Intent::New {
            symbol: SYMBOL,
            side,
            price: cents(price_cents),
            qty: units(qty_units),
            tif: TimeInForce::Day,
        }
    }

    fn live(id: OrderId, side: Side, price_cents: i64, state: OrderState) -> OrderView {
        order(id, SYMBOL, side, cents(price_cents), units(2), state)
    }

    #[test]
    fn quotes_around_the_mid_of_a_balanced_book() {
        // Microprice 100.02; ±1 tick → 100.01 / 100.03.
        let view = market(SYMBOL, 10_000, 1, 10_004, 1);
        assert_eq!(
            run(&mut maker(), Qty::ZERO, &[], &view),
            [new(Side::Bid, 10_001, 2), new(Side::Ask, 10_003, 2)]
        );
    }

    #[test]
    fn microprice_leans_toward_the_thin_side() {
        // (100.00 × 1 + 100.04 × 3) / 4 = 100.03: heavy bid → price is near the ask.
        let view = market(SYMBOL, 10_000, 3, 10_004, 1);
        assert_eq!(
            run(&mut maker(), Qty::ZERO, &[], &view),
            [new(Side::Bid, 10_002, 2), new(Side::Ask, 10_004, 2)]
        );
    }

    #[test]
    fn bids_round_down_and_asks_up_to_the_tick() {
        // Microprice (100.00 × 1 + 100.03 × 1) / 2 = 100.015: 100.005 → 100.00, 100.025 → 100.03.
        let view = market(SYMBOL, 10_000, 1, 10_003, 1);
        assert_eq!(
            run(&mut maker(), Qty::ZERO, &[], &view),
            [new(Side::Bid, 10_000, 2), new(Side::Ask, 10_003, 2)]
        );
    }

    #[test]
    fn long_inventory_lowers_both_quotes_and_short_raises_them() {
        let view = market(SYMBOL, 10_000, 1, 10_004, 1);
        // +2 units × 1 tick: centre 100.00 → 99.99 / 100.01.
        assert_eq!(
            run(&mut maker(), units(2), &[], &view),
            [new(Side::Bid, 9_999, 2), new(Side::Ask, 10_001, 2)]
        );
        // −2 units: centre 100.04 → 100.03 / 100.05.
        assert_eq!(
            run(&mut maker(), units(-2), &[], &view),
            [new(Side::Bid, 10_003, 2), new(Side::Ask, 10_005, 2)]
        );
        // +1.5 units: centre 100.005 → 99.995 floors to 99.99, 100.015 ceils to 100.02.
        assert_eq!(
            run(&mut maker(), Qty::from_raw(3 * UNIT / 2), &[], &view),
            [new(Side::Bid, 9_999, 2), new(Side::Ask, 10_002, 2)]
        );
        // Skew per lot of 2 units: +2 units is 1 tick → centre 100.01 → 100.00 / 100.02.
        let mut coarse = maker();
        coarse.set_param(SKEW_LOT_QTY, 2 * UNIT).unwrap();
        assert_eq!(
            run(&mut coarse, units(2), &[], &view),
            [new(Side::Bid, 10_000, 2), new(Side::Ask, 10_002, 2)]
        );
    }

    #[test]
    fn respects_the_minimum_spread() {
        let mut wide = maker();
        wide.set_param(MIN_SPREAD_TICKS, 6).unwrap();
        let view = market(SYMBOL, 10_000, 1, 10_004, 1);
        // Centre 100.02 ± 3 ticks.
        assert_eq!(
            run(&mut wide, Qty::ZERO, &[], &view),
            [new(Side::Bid, 9_999, 2), new(Side::Ask, 10_005, 2)]
        );
        // An odd spread on a one-tick book: centre 100.005, ±1.5 ticks → 99.99 / 100.02.
        wide.set_param(MIN_SPREAD_TICKS, 3).unwrap();
        let narrow = market(SYMBOL, 10_000, 1, 10_001, 1);
        assert_eq!(
            run(&mut wide, Qty::ZERO, &[], &narrow),
            [new(Side::Bid, 9_999, 2), new(Side::Ask, 10_002, 2)]
        );
    }

    #[test]
    fn never_crosses_the_book_under_heavy_skew() {
        let mut skewed = maker();
        skewed.set_param(SKEW_TICKS_PER_LOT, 5).unwrap();
        skewed.set_param(MAX_POSITION, 100 * UNIT).unwrap();
        let view = market(SYMBOL, 10_000, 1, 10_004, 1);
        // +4 units × 5 ticks: centre 99.82 → bid 99.81, ask 99.83 raised to 100.01.
        assert_eq!(
            run(&mut skewed, units(4), &[], &view),
            [new(Side::Bid, 9_981, 2), new(Side::Ask, 10_001, 2)]
        );
        // −4 units: centre 100.22 → bid 100.21 lowered to 100.03, ask 100.23.
        assert_eq!(
            run(&mut skewed, units(-4), &[], &view),
            [new(Side::Bid, 10_003, 2), new(Side::Ask, 10_023, 2)]
        );
    }

    #[test]
    fn pulls_the_side_that_would_exceed_max_inventory() {
        let view = market(SYMBOL, 10_000, 1, 10_004, 1);
        // 8 + 2 = 10 ≤ 10: both quoted (centre 99.94 → bid 99.93, ask 99.95 → 100.01).
        assert_eq!(
            run(&mut maker(), units(8), &[], &view),
            [new(Side::Bid, 9_993, 2), new(Side::Ask, 10_001, 2)]
        );
        // 9 + 2 > 10: no bid; the live one is canceled.
        let orders = [live(7, Side::Bid, 9_992, OrderState::Accepted)];
        assert_eq!(
            run(&mut maker(), units(9), &orders, &view),
            [Intent::Cancel { order: 7 }, new(Side::Ask, 10_001, 2)]
        );
        // Short side mirrors it.
        assert_eq!(
            run(&mut maker(), units(-9), &[], &view),
            [new(Side::Bid, 10_003, 2)]
        );
        // A bid being canceled still counts toward the limit: 7 + 2 (pending) + 2 > 10.
        let orders = [live(8, Side::Bid, 9_990, OrderState::PendingCancel)];
        assert_eq!(
            run(&mut maker(), units(7), &orders, &view),
            [new(Side::Ask, 10_001, 2)]
        );
    }

    #[test]
    fn requotes_only_past_the_threshold_and_never_while_pending() {
        let orders = [
            live(1, Side::Bid, 10_001, OrderState::Accepted),
            live(2, Side::Ask, 10_003, OrderState::PartiallyFilled),
        ];
        // In place: nothing to do.
        let view = market(SYMBOL, 10_000, 1, 10_004, 1);
        assert_eq!(run(&mut maker(), Qty::ZERO, &orders, &view), []);
        // Target 100.02 / 100.04: one tick, below the two-tick threshold.
        let view = market(SYMBOL, 10_001, 1, 10_005, 1);
        assert_eq!(run(&mut maker(), Qty::ZERO, &orders, &view), []);
        // Target 100.03 / 100.05: two ticks, replace both.
        let view = market(SYMBOL, 10_002, 1, 10_006, 1);
        assert_eq!(
            run(&mut maker(), Qty::ZERO, &orders, &view),
            [
                Intent::Replace {
                    order: 1,
                    price: cents(10_003),
                    qty: units(2)
                },
                Intent::Replace {
                    order: 2,
                    price: cents(10_005),
                    qty: units(2)
                },
            ]
        );
        // Same move while the orders await an answer: nothing.
        for state in [
            OrderState::PendingNew,
            OrderState::PendingReplace,
            OrderState::PendingCancel,
        ] {
            let pending = [
                live(1, Side::Bid, 10_001, state),
                live(2, Side::Ask, 10_003, state),
            ];
            assert_eq!(
                run(&mut maker(), Qty::ZERO, &pending, &view),
                [],
                "{state:?}"
            );
        }
    }

    #[test]
    fn replaces_an_oversized_quote_and_cancels_extra_ones() {
        let view = market(SYMBOL, 10_000, 1, 10_004, 1);
        let mut big = live(1, Side::Bid, 10_001, OrderState::Accepted);
        big.leaves = units(5);
        let orders = [
            big,
            live(2, Side::Ask, 10_003, OrderState::Accepted),
            live(3, Side::Ask, 10_003, OrderState::Accepted),
        ];
        assert_eq!(
            run(&mut maker(), Qty::ZERO, &orders, &view),
            [
                Intent::Replace {
                    order: 1,
                    price: cents(10_001),
                    qty: units(2)
                },
                Intent::Cancel { order: 3 },
            ]
        );
    }

    #[test]
    fn cancels_both_sides_on_a_stale_one_sided_or_crossed_book() {
        let orders = [
            live(1, Side::Bid, 10_001, OrderState::Accepted),
            live(2, Side::Ask, 10_003, OrderState::PendingNew),
            live(3, Side::Ask, 10_004, OrderState::PendingCancel),
        ];
        let both = [Intent::Cancel { order: 1 }, Intent::Cancel { order: 2 }];
        let mut stale = market(SYMBOL, 10_000, 1, 10_004, 1);
        stale.tradable = false;
        assert_eq!(run(&mut maker(), Qty::ZERO, &orders, &stale), both);
        let mut one_sided = market(SYMBOL, 10_000, 1, 10_004, 1);
        one_sided.top.ask_price = Price::NONE;
        one_sided.top.ask_qty = Qty::ZERO;
        assert_eq!(run(&mut maker(), Qty::ZERO, &orders, &one_sided), both);
        let locked = market(SYMBOL, 10_002, 1, 10_002, 1);
        assert_eq!(run(&mut maker(), Qty::ZERO, &orders, &locked), both);
        // Nothing live: nothing to do, and no new quotes.
        assert_eq!(run(&mut maker(), Qty::ZERO, &[], &stale), []);
    }

    #[test]
    fn waits_for_a_pending_cancel_before_quoting_again() {
        let view = market(SYMBOL, 10_000, 1, 10_004, 1);
        let orders = [live(4, Side::Bid, 9_990, OrderState::PendingCancel)];
        assert_eq!(
            run(&mut maker(), Qty::ZERO, &orders, &view),
            [new(Side::Ask, 10_003, 2)]
        );
    }

    #[test]
    fn order_events_requote_on_the_last_book_but_rejections_do_not() {
        let mut maker = maker();
        let view = market(SYMBOL, 10_000, 1, 10_004, 1);
        run(&mut maker, Qty::ZERO, &[], &view);
        // The bid filled completely: long 2, only the ask is left.
        let ask = live(2, Side::Ask, 10_003, OrderState::Accepted);
        let filled = OrderEvent {
            order: order(
                1,
                SYMBOL,
                Side::Bid,
                cents(10_001),
                Qty::ZERO,
                OrderState::Filled,
            ),
            kind: OrderEventKind::Filled {
                qty: units(2),
                price: cents(10_001),
            },
        };
        let mut out = IntentBuffer::with_capacity(8);
        maker.on_order_event(&context(units(2), &[ask]), &filled, &mut out);
        // Centre 100.00: new bid 99.99, ask 100.03 → 100.01 (two ticks: replace).
        assert_eq!(
            out.as_slice(),
            [
                new(Side::Bid, 9_999, 2),
                Intent::Replace {
                    order: 2,
                    price: cents(10_001),
                    qty: units(2)
                },
            ]
        );
        for kind in [OrderEventKind::Rejected, OrderEventKind::RiskRejected] {
            out.clear();
            let event = OrderEvent {
                order: order(
                    5,
                    SYMBOL,
                    Side::Bid,
                    cents(9_999),
                    Qty::ZERO,
                    OrderState::Rejected,
                ),
                kind,
            };
            maker.on_order_event(&context(units(2), &[ask]), &event, &mut out);
            assert!(out.is_empty(), "{kind:?}");
        }
        // No book seen yet: events do nothing.
        let mut fresh = MarketMaker::new(SYMBOL, params()).unwrap();
        out.clear();
        fresh.on_order_event(&context(units(2), &[]), &filled, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn ignores_other_symbols() {
        let view = market(SYMBOL + 1, 10_000, 1, 10_004, 1);
        assert_eq!(run(&mut maker(), Qty::ZERO, &[], &view), []);
    }

    #[test]
    fn parameters_are_validated_and_errors_change_nothing() {
        let mut maker = maker();
        assert_eq!(maker.name(), "market_maker");
        assert_eq!(maker.symbols(), [SYMBOL]);
        assert_eq!(
            param_index(maker.param_specs(), "requote_ticks"),
            Some(REQUOTE_TICKS)
        );
        assert_eq!(maker.set_param(PARAM_COUNT, 1), Err(ParamError::Unknown));
        assert_eq!(
            maker.set_param(MIN_SPREAD_TICKS, 0),
            Err(ParamError::OutOfRange {
                name: "min_spread_ticks",
                min: 1,
                max: MAX_TICKS
            })
        );
        assert!(maker.set_param(QUOTE_QTY, MAX_QTY_RAW + 1).is_err());
        assert!(maker.set_param(SKEW_TICKS_PER_LOT, -1).is_err());
        assert!(maker.set_param(MAX_POSITION, -1).is_err());
        for (index, value) in params().into_iter().enumerate() {
            assert_eq!(maker.param(index), value);
        }
        assert_eq!(maker.param(PARAM_COUNT), 0);
        maker.set_param(QUOTE_QTY, UNIT).unwrap();
        assert_eq!(maker.param(QUOTE_QTY), UNIT);

        let mut bad = params();
        bad[SKEW_LOT_QTY] = 0;
        assert!(MarketMaker::new(SYMBOL, bad).is_err());
        assert!(MarketMaker::new(SYMBOL, DEFAULT_PARAMS).is_ok());
    }

    #[test]
    fn cancel_all_cancels_every_live_quote() {
        let orders = [
            live(1, Side::Bid, 10_001, OrderState::Accepted),
            live(2, Side::Ask, 10_003, OrderState::PendingCancel),
        ];
        let mut out = IntentBuffer::with_capacity(8);
        maker().cancel_all(&context(Qty::ZERO, &orders), &mut out);
        assert_eq!(out.as_slice(), [Intent::Cancel { order: 1 }]);
    }

    fn any_state() -> impl proptest::strategy::Strategy<Value = OrderState> {
        prop_oneof![
            Just(OrderState::PendingNew),
            Just(OrderState::Accepted),
            Just(OrderState::PartiallyFilled),
            Just(OrderState::PendingReplace),
            Just(OrderState::PendingCancel),
            Just(OrderState::Filled),
        ]
    }

    proptest! {
        #[test]
        fn quotes_are_well_formed_inside_limits_and_allocation_free(
            tick in prop_oneof![Just(1_i64), Just(CENT), Just(5 * CENT), Just(UNIT)],
            bid in 1_i64..2_000_000_000_000,
            spread in 1_i64..50 * CENT,
            bid_qty in 0_i64..1_000 * UNIT,
            ask_qty in 0_i64..1_000 * UNIT,
            tradable in proptest::bool::weighted(0.9),
            position in -20 * UNIT..20 * UNIT,
            quote_qty in 1_i64..5 * UNIT,
            min_spread in 1_i64..20,
            skew in 0_i64..50,
            lot in 1_i64..5 * UNIT,
            requote in 1_i64..5,
            max_position in 0_i64..20 * UNIT,
            orders in proptest::collection::vec(
                (any::<bool>(), 1_i64..2_000_000_000_000, 1_i64..5 * UNIT, any_state()),
                0..4,
            ),
        ) {
            let mut maker = MarketMaker::new(
                SYMBOL,
                [quote_qty, min_spread, skew, lot, requote, max_position],
            )
            .unwrap();
            let mut view = market(SYMBOL, 0, 0, 0, 0);
            view.top.bid_price = Price::from_raw(bid);
            view.top.ask_price = Price::from_raw(bid + spread);
            view.top.bid_qty = Qty::from_raw(bid_qty);
            view.top.ask_qty = Qty::from_raw(ask_qty);
            view.tradable = tradable;
            view.tick = Price::from_raw(tick);
            let mut live = [order(0, SYMBOL, Side::Bid, Price::ZERO, Qty::ZERO, OrderState::Filled); 4];
            for (index, &(is_bid, price, leaves, state)) in orders.iter().enumerate() {
                let side = if is_bid { Side::Bid } else { Side::Ask };
                live[index] = order(index as OrderId + 1, SYMBOL, side, Price::from_raw(price), Qty::from_raw(leaves), state);
            }
            let live = &live[..orders.len()];
            let ctx = context(Qty::from_raw(position), live);
            let event = OrderEvent { order: live.first().copied().unwrap_or(live_default()), kind: OrderEventKind::Canceled };
            let mut out = IntentBuffer::with_capacity(16);

            let before = allocations();
            maker.on_book(&ctx, &view, &mut out);
            maker.on_order_event(&ctx, &event, &mut out);
            prop_assert_eq!(allocations(), before, "a call allocated");

            let intents = out.as_slice();
            assert_well_formed(intents, SYMBOL, view.tick);
            let open_bids: i128 = live.iter().filter(|o| o.side == Side::Bid && o.state == OrderState::PendingCancel).map(|o| i128::from(o.leaves.raw())).sum();
            let open_asks: i128 = live.iter().filter(|o| o.side == Side::Ask && o.state == OrderState::PendingCancel).map(|o| i128::from(o.leaves.raw())).sum();
            let mut new_bid = None;
            let mut new_ask = None;
            for intent in intents {
                let (side, price, qty) = match *intent {
                    Intent::New { side, price, qty, tif, .. } => {
                        prop_assert_eq!(tif, TimeInForce::Day);
                        (side, price, qty)
                    }
                    Intent::Replace { order: id, price, qty } => {
                        let replaced = live.iter().find(|o| o.id == id).unwrap();
                        prop_assert!(matches!(replaced.state, OrderState::Accepted | OrderState::PartiallyFilled));
                        (replaced.side, price, qty)
                    }
                    Intent::Cancel { order: id } => {
                        let canceled = live.iter().find(|o| o.id == id).unwrap();
                        prop_assert!(canceled.state.is_live() && canceled.state != OrderState::PendingCancel);
                        continue;
                    }
                };
                prop_assert!(tradable && bid + spread > bid);
                prop_assert_eq!(qty.raw(), quote_qty);
                let position = i128::from(position);
                match side {
                    Side::Bid => {
                        prop_assert!(price.raw() < bid + spread, "bid {price:?} crosses");
                        prop_assert!(position + i128::from(quote_qty) + open_bids <= i128::from(max_position));
                        new_bid = Some(price);
                    }
                    Side::Ask => {
                        prop_assert!(price.raw() > bid, "ask {price:?} crosses");
                        prop_assert!(-position + i128::from(quote_qty) + open_asks <= i128::from(max_position));
                        new_ask = Some(price);
                    }
                }
            }
            if let (Some(new_bid), Some(new_ask)) = (new_bid, new_ask) {
                prop_assert!(new_ask.raw() - new_bid.raw() >= min_spread * tick);
            }
        }
    }

    fn live_default() -> OrderView {
        order(
            99,
            SYMBOL,
            Side::Bid,
            cents(1),
            units(1),
            OrderState::Canceled,
        )
    }
}
