//! Rolling windows and the small fixed-point helpers the built-in strategies share.
//!
//! - [`RollingSum`]: the sum of the last `k` samples for any `k` up to its capacity, in
//!   O(1), from a ring of prefix sums (so a window-length change needs no recomputation).
//! - [`RollingExtrema`]: the maximum and minimum of the last `len` samples, amortised O(1)
//!   per sample (monotonic queues), rebuilt from its own history in O(`len`) when `len`
//!   changes.
//! - Tick rounding ([`floor_to_tick`], [`ceil_to_tick`]), the usable-book check
//!   ([`UsableBook::from_market`]), position room ([`room`]), signal entries
//!   ([`entry_intent`]), [`Cooldown`] and whole-array parameter validation
//!   ([`check_params`]).
//!
//! Contract: memory is allocated in the constructors only; every other method is O(1),
//! or bounded by the window capacity where stated. Arithmetic is on raw `i64` fixed-point
//! values with `i128` intermediates; no `f64`. Nothing here panics on market data.
//!
//! Capacities are at most [`MAX_WINDOW_CAPACITY`] (2^16), so that a window sum of raw
//! `i64` samples (< 2^79) times another window length (≤ 2^16) stays far inside `i128`:
//! the strategies compare means exactly by cross-multiplying instead of dividing.

use tickwire_common::{Price, Qty};

use super::{
    Intent, MarketView, OrderState, OrderView, ParamError, ParamSpec, StrategyContext, SymbolId,
    TimeInForce, check_param,
};
use crate::book::Side;

/// Largest window capacity (samples) a strategy may be constructed with.
pub const MAX_WINDOW_CAPACITY: usize = 1 << 16;
/// Upper bound of quantity parameters: 10^9 whole units (raw 10^17).
pub const MAX_QTY_RAW: i64 = 100_000_000_000_000_000;
/// Upper bound of tick-count parameters.
pub const MAX_TICKS: i64 = 1_000_000;
/// Upper bound of cooldown parameters: one day in nanoseconds.
pub const MAX_COOLDOWN_NS: i64 = 86_400_000_000_000;

/// The error a strategy constructor returns for a `max_window` outside
/// `1..=`[`MAX_WINDOW_CAPACITY`].
pub const MAX_WINDOW_ERROR: ParamError = ParamError::OutOfRange {
    name: "max_window",
    min: 1,
    max: MAX_WINDOW_CAPACITY as i64,
};

/// Sums of the last `k` samples, for any `k` up to the capacity, in O(1).
///
/// Keeps `capacity + 1` prefix sums in a ring. Prefix sums use wrapping `i128` arithmetic:
/// the difference of two prefix sums is exact modulo 2^128 and the true sum of at most
/// 2^16 `i64` samples fits, so [`sum_last`](Self::sum_last) is exact however many samples
/// were pushed.
#[derive(Debug)]
pub struct RollingSum {
    prefix: Box<[i128]>,
    /// Index of the prefix sum of every sample pushed so far.
    head: usize,
    /// Samples held (saturates at the capacity).
    held: usize,
}

impl RollingSum {
    /// A window of `capacity` samples.
    ///
    /// # Panics
    /// If `capacity` is 0 or above [`MAX_WINDOW_CAPACITY`] (a configuration error, checked
    /// by the strategy constructors before they get here).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        assert!(
            (1..=MAX_WINDOW_CAPACITY).contains(&capacity),
            "window capacity out of range"
        );
        Self {
            prefix: vec![0; capacity + 1].into_boxed_slice(),
            head: 0,
            held: 0,
        }
    }

    /// Most samples the window can hold.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.prefix.len() - 1
    }

    /// Samples held (at most the capacity).
    #[must_use]
    pub fn held(&self) -> usize {
        self.held
    }

    /// Adds a sample, forgetting the oldest one once the window is full.
    #[inline]
    pub fn push(&mut self, sample: i64) {
        let total = self.prefix[self.head].wrapping_add(i128::from(sample));
        self.head = if self.head + 1 == self.prefix.len() {
            0
        } else {
            self.head + 1
        };
        self.prefix[self.head] = total;
        if self.held < self.capacity() {
            self.held += 1;
        }
    }

    /// Sum of the last `k` samples; `None` when `k` is 0 or more than are held.
    #[inline]
    #[must_use]
    pub fn sum_last(&self, k: usize) -> Option<i128> {
        if k == 0 || k > self.held {
            return None;
        }
        // k ≤ held ≤ capacity < prefix.len(), so the index stays in range.
        let back = (self.head + self.prefix.len() - k) % self.prefix.len();
        Some(self.prefix[self.head].wrapping_sub(self.prefix[back]))
    }

    /// Forgets every sample.
    pub fn clear(&mut self) {
        self.prefix[0] = 0;
        self.head = 0;
        self.held = 0;
    }
}

/// A fixed-capacity ring of `(sequence, value)` used as a monotonic double-ended queue.
#[derive(Debug)]
struct MonotonicQueue {
    entries: Box<[(u64, i64)]>,
    front: usize,
    size: usize,
}

impl MonotonicQueue {
    fn new(capacity: usize) -> Self {
        Self {
            entries: vec![(0, 0); capacity].into_boxed_slice(),
            front: 0,
            size: 0,
        }
    }

    fn slot(&self, offset: usize) -> usize {
        (self.front + offset) % self.entries.len()
    }

    fn front(&self) -> Option<(u64, i64)> {
        (self.size > 0).then(|| self.entries[self.front])
    }

    fn back(&self) -> Option<(u64, i64)> {
        (self.size > 0).then(|| self.entries[self.slot(self.size - 1)])
    }

    fn pop_front(&mut self) {
        if self.size > 0 {
            self.front = self.slot(1);
            self.size -= 1;
        }
    }

    fn pop_back(&mut self) {
        self.size = self.size.saturating_sub(1);
    }

    fn push_back(&mut self, entry: (u64, i64)) {
        debug_assert!(self.size < self.entries.len(), "monotonic queue overflow");
        let slot = self.slot(self.size);
        self.entries[slot] = entry;
        self.size += 1;
    }

    fn clear(&mut self) {
        self.front = 0;
        self.size = 0;
    }

    /// Adds `(seq, value)` to a window of `len` sequences ending at `seq`, keeping the
    /// queue monotonic: `keeps(back, value)` says whether an older entry survives the new
    /// one. At most `len` entries remain, each pushed and popped once (amortised O(1)).
    fn push(&mut self, seq: u64, value: i64, len: usize, keeps: fn(i64, i64) -> bool) {
        let len = len as u64;
        while let Some((front_seq, _)) = self.front() {
            if front_seq + len > seq {
                break;
            }
            self.pop_front();
        }
        while let Some((_, back_value)) = self.back() {
            if keeps(back_value, value) {
                break;
            }
            self.pop_back();
        }
        self.push_back((seq, value));
    }
}

/// Maximum and minimum of the last `len` samples (`len` ≤ capacity, changeable).
#[derive(Debug)]
pub struct RollingExtrema {
    /// The last `capacity` samples, by sequence number modulo the capacity.
    history: Box<[i64]>,
    /// Samples pushed so far (the next sample's sequence number).
    next: u64,
    len: usize,
    highs: MonotonicQueue,
    lows: MonotonicQueue,
}

fn keeps_high(older: i64, newer: i64) -> bool {
    older > newer
}

fn keeps_low(older: i64, newer: i64) -> bool {
    older < newer
}

impl RollingExtrema {
    /// A window of `len` samples with room to grow `len` to `capacity`.
    ///
    /// # Panics
    /// If `capacity` is 0 or above [`MAX_WINDOW_CAPACITY`], or `len` is 0 or above
    /// `capacity` (configuration errors, checked by the strategy constructors).
    #[must_use]
    pub fn new(capacity: usize, len: usize) -> Self {
        assert!(
            (1..=MAX_WINDOW_CAPACITY).contains(&capacity),
            "window capacity out of range"
        );
        assert!((1..=capacity).contains(&len), "window length out of range");
        Self {
            history: vec![0; capacity].into_boxed_slice(),
            next: 0,
            len,
            highs: MonotonicQueue::new(capacity),
            lows: MonotonicQueue::new(capacity),
        }
    }

    /// Most samples the window can hold.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.history.len()
    }

    /// Current window length.
    #[must_use]
    pub fn window_len(&self) -> usize {
        self.len
    }

    /// True when fewer than `len` samples were pushed (no full window yet).
    #[must_use]
    pub fn is_warming_up(&self) -> bool {
        self.next < self.len as u64
    }

    fn history_slot(&self, seq: u64) -> usize {
        // The remainder is below the capacity, a usize.
        (seq % self.history.len() as u64) as usize
    }

    /// Adds a sample; amortised O(1), at most `len` queue pops.
    #[inline]
    pub fn push(&mut self, sample: i64) {
        let seq = self.next;
        let slot = self.history_slot(seq);
        self.history[slot] = sample;
        self.highs.push(seq, sample, self.len, keeps_high);
        self.lows.push(seq, sample, self.len, keeps_low);
        self.next += 1;
    }

    /// Highest of the last `len` samples (`None` before the first sample).
    #[must_use]
    pub fn high(&self) -> Option<i64> {
        self.highs.front().map(|(_, value)| value)
    }

    /// Lowest of the last `len` samples (`None` before the first sample).
    #[must_use]
    pub fn low(&self) -> Option<i64> {
        self.lows.front().map(|(_, value)| value)
    }

    /// Changes the window length, rebuilding the queues from the retained history:
    /// O(`len`), no allocation.
    ///
    /// # Panics
    /// In debug builds, if `len` is 0 or above the capacity; callers validate it first.
    pub fn set_len(&mut self, len: usize) {
        debug_assert!(
            (1..=self.capacity()).contains(&len),
            "window length out of range"
        );
        self.len = len.clamp(1, self.capacity());
        self.highs.clear();
        self.lows.clear();
        let start = self.next.saturating_sub(self.len as u64);
        for seq in start..self.next {
            let sample = self.history[self.history_slot(seq)];
            self.highs.push(seq, sample, self.len, keeps_high);
            self.lows.push(seq, sample, self.len, keeps_low);
        }
    }

    /// Forgets every sample (keeps the length).
    pub fn clear(&mut self) {
        self.next = 0;
        self.highs.clear();
        self.lows.clear();
    }
}

/// The largest multiple of `tick` not above `raw`. `tick` must be positive.
#[inline]
#[must_use]
pub fn floor_to_tick(raw: i128, tick: i128) -> i128 {
    debug_assert!(tick > 0, "tick must be positive");
    raw.div_euclid(tick) * tick
}

/// The smallest multiple of `tick` not below `raw`. `tick` must be positive.
#[inline]
#[must_use]
pub fn ceil_to_tick(raw: i128, tick: i128) -> i128 {
    debug_assert!(tick > 0, "tick must be positive");
    -((-raw).div_euclid(tick) * tick)
}

/// `raw` as a [`Price`] if it is strictly positive and fits.
#[inline]
#[must_use]
pub fn positive_price(raw: i128) -> Option<Price> {
    i64::try_from(raw)
        .ok()
        .filter(|&raw| raw > 0)
        .map(Price::from_raw)
}

/// A book the strategies may act on: tradable, two-sided, positive and not crossed or
/// locked, with a positive tick. Prices are raw values widened to `i128`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsableBook {
    /// Best bid (raw, > 0).
    pub bid: i128,
    /// Best ask (raw, > `bid`).
    pub ask: i128,
    /// Quantity at the best bid (raw, as published).
    pub bid_qty: i128,
    /// Quantity at the best ask (raw, as published).
    pub ask_qty: i128,
    /// Tick (raw, > 0).
    pub tick: i128,
}

impl UsableBook {
    /// The book of `market`, or `None` when no strategy should act on it.
    #[inline]
    #[must_use]
    pub fn from_market(market: &MarketView) -> Option<Self> {
        let top = &market.top;
        if !market.tradable || !top.is_two_sided() || !market.tick.is_positive() {
            return None;
        }
        let book = Self {
            bid: i128::from(top.bid_price.raw()),
            ask: i128::from(top.ask_price.raw()),
            bid_qty: i128::from(top.bid_qty.raw()),
            ask_qty: i128::from(top.ask_qty.raw()),
            tick: i128::from(market.tick.raw()),
        };
        (book.bid > 0 && book.ask > book.bid).then_some(book)
    }

    /// Twice the mid (`bid + ask`), exact, as a window sample; `None` if it does not fit
    /// an `i64`.
    #[inline]
    #[must_use]
    pub fn mid_doubled(&self) -> Option<i64> {
        i64::try_from(self.bid + self.ask).ok()
    }
}

/// Open quantity (raw) of the live orders on `symbol` and `side` in `orders`.
#[inline]
#[must_use]
pub fn open_qty(orders: &[OrderView], symbol: SymbolId, side: Side) -> i128 {
    orders
        .iter()
        .filter(|order| order.symbol == symbol && order.side == side && order.state.is_live())
        .map(|order| i128::from(order.leaves.raw().max(0)))
        .sum()
}

/// How much more may be bought (`Bid`) or sold (`Ask`) before the position could pass
/// `max_position` in that direction, given `open` quantity already working on that side
/// (raw, may be negative when already past the limit).
#[inline]
#[must_use]
pub fn room(side: Side, position: Qty, open: i128, max_position: i64) -> i128 {
    let position = i128::from(position.raw());
    let toward = match side {
        Side::Bid => position,
        Side::Ask => -position,
    };
    i128::from(max_position) - toward - open
}

/// The order a signal strategy sends when it fires on `side`: a limit at the opposite best
/// price (a buy at the ask rounded down to the tick, a sell at the bid rounded up), for
/// `order_qty` trimmed to what `max_position` leaves given `ctx.position` and the live
/// same-side orders. `None` when nothing may be sent.
#[must_use]
pub fn entry_intent(
    symbol: SymbolId,
    side: Side,
    book: &UsableBook,
    ctx: &StrategyContext<'_>,
    order_qty: i64,
    max_position: i64,
    tif: TimeInForce,
) -> Option<Intent> {
    debug_assert!(order_qty > 0, "order quantity must be positive");
    let open = open_qty(ctx.orders, symbol, side);
    let allowed = room(side, ctx.position, open, max_position).min(i128::from(order_qty));
    let qty = i64::try_from(allowed).ok().filter(|&qty| qty > 0)?;
    let price = match side {
        Side::Bid => floor_to_tick(book.ask, book.tick),
        Side::Ask => ceil_to_tick(book.bid, book.tick),
    };
    Some(Intent::New {
        symbol,
        side,
        price: positive_price(price)?,
        qty: Qty::from_raw(qty),
        tif,
    })
}

/// Time in force parameter values: 0 is IOC, 1 is day.
#[inline]
#[must_use]
pub fn tif_from_param(value: i64) -> TimeInForce {
    if value == 1 {
        TimeInForce::Day
    } else {
        TimeInForce::Ioc
    }
}

/// Minimum time between two signals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cooldown {
    last_ns: Option<u64>,
}

impl Cooldown {
    /// True when no signal fired yet or at least `cooldown_ns` passed since the last one.
    #[inline]
    #[must_use]
    pub fn ready(&self, now_ns: u64, cooldown_ns: i64) -> bool {
        let cooldown_ns = u64::try_from(cooldown_ns).unwrap_or(0);
        self.last_ns
            .is_none_or(|last| now_ns >= last.saturating_add(cooldown_ns))
    }

    /// Records a signal at `now_ns`.
    #[inline]
    pub fn start(&mut self, now_ns: u64) {
        self.last_ns = Some(now_ns);
    }
}

/// Checks every value of `params` against `specs` (index by index).
///
/// # Errors
/// The first [`ParamError`].
pub fn check_params(specs: &[ParamSpec], params: &[i64]) -> Result<(), ParamError> {
    if specs.len() != params.len() {
        return Err(ParamError::Unknown);
    }
    for (index, &value) in params.iter().enumerate() {
        check_param(specs, index, value)?;
    }
    Ok(())
}

/// Checks a window-length parameter against the capacity a strategy was built with.
///
/// # Errors
/// [`ParamError::OutOfRange`] naming `spec` with the capacity as maximum.
pub fn check_window(spec: &ParamSpec, value: i64, capacity: usize) -> Result<(), ParamError> {
    let capacity = i64::try_from(capacity).unwrap_or(i64::MAX);
    if value < spec.min || value > capacity {
        return Err(ParamError::OutOfRange {
            name: spec.name,
            min: spec.min,
            max: capacity.min(spec.max),
        });
    }
    Ok(())
}

/// True for states in which an order may be replaced (no request outstanding).
#[inline]
#[must_use]
pub const fn is_replaceable(state: OrderState) -> bool {
    matches!(state, OrderState::Accepted | OrderState::PartiallyFilled)
}

/// Test fixtures shared by the strategy tests: a per-thread allocation counter, books,
/// orders and the invariants every emitted intent must satisfy.
#[cfg(test)]
pub(crate) mod testing {
    use std::{
        alloc::{GlobalAlloc, Layout, System},
        cell::Cell,
    };

    use tickwire_common::{Price, Qty};

    use super::super::{Intent, MarketView, OrderId, OrderState, OrderView, SymbolId};
    use crate::book::{Side, TopOfBook};

    thread_local! {
        static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    }

    /// Wraps the system allocator and counts `alloc`/`realloc` calls per thread, so a
    /// test counts only its own allocations while others run in parallel.
    struct CountingAllocator;

    // SAFETY: delegates every call to `System` unchanged; only a thread-local counter
    // (const-initialised, no destructor) is added.
    unsafe impl GlobalAlloc for CountingAllocator {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            ALLOCATIONS.with(|count| count.set(count.get() + 1));
            // SAFETY: same contract as the caller's.
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: same contract as the caller's.
            unsafe { System.dealloc(ptr, layout) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            ALLOCATIONS.with(|count| count.set(count.get() + 1));
            // SAFETY: same contract as the caller's.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static ALLOCATOR: CountingAllocator = CountingAllocator;

    /// Allocations made by this thread so far.
    pub(crate) fn allocations() -> u64 {
        ALLOCATIONS.with(Cell::get)
    }

    /// Raw units per cent: the tick used by most tests.
    pub(crate) const CENT: i64 = 1_000_000;
    /// Raw units per whole share.
    pub(crate) const UNIT: i64 = 100_000_000;

    /// A price of `cents` hundredths.
    pub(crate) fn cents(cents: i64) -> Price {
        Price::from_raw(cents * CENT)
    }

    /// A quantity of `units` whole shares.
    pub(crate) fn units(units: i64) -> Qty {
        Qty::from_raw(units * UNIT)
    }

    /// A tradable book with a one-cent tick.
    pub(crate) fn market(
        symbol: SymbolId,
        bid_cents: i64,
        bid_units: i64,
        ask_cents: i64,
        ask_units: i64,
    ) -> MarketView {
        MarketView {
            symbol,
            top: TopOfBook {
                bid_price: cents(bid_cents),
                bid_qty: units(bid_units),
                ask_price: cents(ask_cents),
                ask_qty: units(ask_units),
            },
            last_trade: Price::NONE,
            tradable: true,
            tick: Price::from_raw(CENT),
        }
    }

    /// A live order view.
    pub(crate) fn order(
        id: OrderId,
        symbol: SymbolId,
        side: Side,
        price: Price,
        leaves: Qty,
        state: OrderState,
    ) -> OrderView {
        OrderView {
            id,
            symbol,
            side,
            price,
            leaves,
            state,
        }
    }

    /// One step of a random walk driving a signal strategy.
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct Step {
        /// Bid move in ticks.
        pub(crate) move_ticks: i64,
        /// Spread in ticks.
        pub(crate) spread_ticks: i64,
        /// Raw offset added to both prices (off the tick grid when non-zero).
        pub(crate) off_grid: i64,
        /// Book flags.
        pub(crate) tradable: bool,
        pub(crate) one_sided: bool,
        /// A trade at the mid after the book update.
        pub(crate) trade: bool,
        /// Time since the previous step.
        pub(crate) elapsed_ns: u64,
        /// Position and open orders for this step (raw).
        pub(crate) position: i64,
        pub(crate) open_bid: i64,
        pub(crate) open_ask: i64,
    }

    /// Random steps: mostly tradable, on-grid books.
    pub(crate) fn any_step() -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        (
            (
                -3_i64..=3,
                1_i64..=4,
                prop_oneof![9 => Just(0_i64), 1 => 1_i64..CENT],
            ),
            (
                proptest::bool::weighted(0.95),
                proptest::bool::weighted(0.05),
                proptest::bool::weighted(0.3),
            ),
            0_u64..2_000,
            (
                -5 * UNIT..5 * UNIT,
                prop_oneof![Just(0_i64), 0..3 * UNIT],
                prop_oneof![Just(0_i64), 0..3 * UNIT],
            ),
        )
            .prop_map(
                |(
                    (move_ticks, spread_ticks, off_grid),
                    (tradable, one_sided, trade),
                    elapsed_ns,
                    (position, open_bid, open_ask),
                )| Step {
                    move_ticks,
                    spread_ticks,
                    off_grid,
                    tradable,
                    one_sided,
                    trade,
                    elapsed_ns,
                    position,
                    open_bid,
                    open_ask,
                },
            )
    }

    /// Drives `strategy` on `symbol` (one-cent tick, starting at 100.00) through `steps`
    /// and checks, for every call: no allocation, at most one intent, a well-formed `New`
    /// (buy at the ask rounded down, sell at the bid rounded up, on a usable book), a
    /// quantity within `order_qty` and the room `max_position` leaves, and at least
    /// `cooldown_ns` between two signals. Returns the number of signals.
    pub(crate) fn check_signal_invariants(
        strategy: &mut dyn super::super::Strategy,
        symbol: SymbolId,
        steps: &[Step],
        order_qty: i64,
        max_position: i64,
        cooldown_ns: u64,
    ) -> Result<usize, proptest::test_runner::TestCaseError> {
        use proptest::{prop_assert, prop_assert_eq};

        use super::super::{IntentBuffer, StrategyContext};

        let mut out = IntentBuffer::with_capacity(4);
        let mut bid_ticks: i64 = 10_000;
        let mut now_ns: u64 = 1;
        let mut last_signal_ns: Option<u64> = None;
        let mut signals = 0;
        for step in steps {
            bid_ticks = (bid_ticks + step.move_ticks).max(1);
            now_ns += step.elapsed_ns;
            let bid = bid_ticks * CENT + step.off_grid;
            let ask = bid + step.spread_ticks * CENT;
            let mut view = market(symbol, 0, 0, 0, 0);
            view.top.bid_price = Price::from_raw(bid);
            view.top.ask_price = Price::from_raw(ask);
            view.top.bid_qty = units(1);
            view.top.ask_qty = units(1);
            view.tradable = step.tradable;
            if step.one_sided {
                view.top.ask_price = Price::NONE;
                view.top.ask_qty = Qty::ZERO;
            }
            let orders = [
                order(
                    1,
                    symbol,
                    Side::Bid,
                    cents(1),
                    Qty::from_raw(step.open_bid),
                    OrderState::Accepted,
                ),
                order(
                    2,
                    symbol,
                    Side::Ask,
                    cents(1),
                    Qty::from_raw(step.open_ask),
                    OrderState::PendingNew,
                ),
            ];
            let ctx = StrategyContext {
                now_ns,
                position: Qty::from_raw(step.position),
                orders: &orders,
            };
            for call in 0..2 {
                out.clear();
                let before = allocations();
                if call == 0 {
                    strategy.on_book(&ctx, &view, &mut out);
                } else if step.trade {
                    strategy.on_trade(
                        &ctx,
                        &view,
                        Price::from_raw(bid + (ask - bid) / 2),
                        units(1),
                        &mut out,
                    );
                }
                prop_assert_eq!(allocations(), before, "a call allocated");
                prop_assert!(out.len() <= 1, "more than one intent: {:?}", out.as_slice());
                assert_well_formed(out.as_slice(), symbol, view.tick);
                let Some(&intent) = out.as_slice().first() else {
                    continue;
                };
                let Intent::New {
                    side, price, qty, ..
                } = intent
                else {
                    return Err(proptest::test_runner::TestCaseError::fail(format!(
                        "unexpected {intent:?}"
                    )));
                };
                prop_assert!(
                    step.tradable && !step.one_sided,
                    "signal on an unusable book"
                );
                prop_assert!(qty.raw() <= order_qty);
                let (expected, toward, open) = match side {
                    Side::Bid => (
                        bid - bid.rem_euclid(CENT) + (ask - bid),
                        step.position,
                        step.open_bid,
                    ),
                    Side::Ask => (
                        bid + (CENT - bid.rem_euclid(CENT)) % CENT,
                        -step.position,
                        step.open_ask,
                    ),
                };
                prop_assert_eq!(price.raw(), expected);
                prop_assert!(
                    i128::from(toward) + i128::from(open) + i128::from(qty.raw())
                        <= i128::from(max_position),
                    "position limit passed"
                );
                if let Some(last) = last_signal_ns {
                    prop_assert!(now_ns - last >= cooldown_ns, "cooldown not respected");
                }
                last_signal_ns = Some(now_ns);
                signals += 1;
            }
        }
        Ok(signals)
    }

    /// Asserts what every intent must satisfy: new and replaced orders have a positive
    /// price on the tick and a positive quantity; a new order is for `symbol`.
    pub(crate) fn assert_well_formed(intents: &[Intent], symbol: SymbolId, tick: Price) {
        for intent in intents {
            let (price, qty) = match *intent {
                Intent::New {
                    symbol: intent_symbol,
                    price,
                    qty,
                    ..
                } => {
                    assert_eq!(intent_symbol, symbol, "{intent:?}");
                    (price, qty)
                }
                Intent::Replace { price, qty, .. } => (price, qty),
                Intent::Cancel { .. } => continue,
            };
            assert!(price.raw() > 0, "non-positive price in {intent:?}");
            assert_eq!(
                price.raw() % tick.raw(),
                0,
                "price off the tick in {intent:?}"
            );
            assert!(qty.raw() > 0, "non-positive quantity in {intent:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn rolling_sum_matches_a_naive_sum_for_every_length() {
        let mut window = RollingSum::new(5);
        let samples = [3_i64, -7, 11, 2, 40, 9, -1, 6];
        for (count, &sample) in samples.iter().enumerate() {
            window.push(sample);
            let pushed = &samples[..=count];
            for k in 0..=6 {
                let expected = (k >= 1 && k <= pushed.len().min(5)).then(|| {
                    pushed[pushed.len() - k..]
                        .iter()
                        .map(|&s| i128::from(s))
                        .sum()
                });
                assert_eq!(window.sum_last(k), expected, "k={k} after {}", count + 1);
            }
        }
        window.clear();
        assert_eq!(window.held(), 0);
        assert_eq!(window.sum_last(1), None);
        window.push(4);
        assert_eq!(window.sum_last(1), Some(4));
    }

    #[test]
    fn rolling_sum_is_exact_with_extreme_samples() {
        let mut window = RollingSum::new(3);
        for _ in 0..1000 {
            window.push(i64::MAX);
        }
        assert_eq!(window.sum_last(3), Some(3 * i128::from(i64::MAX)));
        window.push(i64::MIN);
        assert_eq!(
            window.sum_last(2),
            Some(i128::from(i64::MAX) + i128::from(i64::MIN))
        );
    }

    #[test]
    fn extrema_track_the_last_len_samples_and_survive_resizing() {
        let mut window = RollingExtrema::new(6, 3);
        assert_eq!((window.high(), window.low()), (None, None));
        assert!(window.is_warming_up());
        for sample in [5, 1, 4] {
            window.push(sample);
        }
        assert!(!window.is_warming_up());
        assert_eq!((window.high(), window.low()), (Some(5), Some(1)));
        window.push(2); // window 1, 4, 2
        assert_eq!((window.high(), window.low()), (Some(4), Some(1)));
        window.push(3); // window 4, 2, 3
        assert_eq!((window.high(), window.low()), (Some(4), Some(2)));
        window.set_len(5); // 5, 1, 4, 2, 3
        assert_eq!((window.high(), window.low()), (Some(5), Some(1)));
        window.set_len(1); // 3
        assert_eq!((window.high(), window.low()), (Some(3), Some(3)));
        window.clear();
        assert!(window.is_warming_up());
        assert_eq!(window.high(), None);
    }

    #[test]
    fn tick_rounding_goes_the_stated_way_for_any_sign() {
        assert_eq!(floor_to_tick(105, 10), 100);
        assert_eq!(ceil_to_tick(105, 10), 110);
        assert_eq!(floor_to_tick(100, 10), 100);
        assert_eq!(ceil_to_tick(100, 10), 100);
        assert_eq!(floor_to_tick(-5, 10), -10);
        assert_eq!(ceil_to_tick(-5, 10), 0);
        assert_eq!(positive_price(0), None);
        assert_eq!(positive_price(i128::from(i64::MAX) + 1), None);
        assert_eq!(positive_price(7), Some(Price::from_raw(7)));
    }

    #[test]
    fn the_allocation_counter_sees_this_threads_allocations() {
        let before = testing::allocations();
        let boxed = std::hint::black_box(Box::new(7_u64));
        assert_eq!(*boxed, 7);
        assert!(testing::allocations() > before);
    }

    #[test]
    fn cooldown_blocks_until_it_has_elapsed() {
        let mut cooldown = Cooldown::default();
        assert!(cooldown.ready(0, 100));
        cooldown.start(1_000);
        assert!(!cooldown.ready(1_099, 100));
        assert!(cooldown.ready(1_100, 100));
        assert!(cooldown.ready(1_000, 0));
    }

    proptest! {
        #[test]
        fn extrema_match_a_naive_scan(
            samples in proptest::collection::vec(any::<i64>(), 1..200),
            len in 1_usize..=16,
            resize_at in 0_usize..200,
            new_len in 1_usize..=16,
        ) {
            let mut window = RollingExtrema::new(16, len);
            let mut current = len;
            for (index, &sample) in samples.iter().enumerate() {
                if index == resize_at {
                    window.set_len(new_len);
                    current = new_len;
                }
                window.push(sample);
                let start = (index + 1).saturating_sub(current);
                let slice = &samples[start..=index];
                prop_assert_eq!(window.high(), slice.iter().copied().max());
                prop_assert_eq!(window.low(), slice.iter().copied().min());
            }
        }

        #[test]
        fn sums_match_a_naive_sum(
            samples in proptest::collection::vec(any::<i64>(), 1..200),
            k in 1_usize..=16,
        ) {
            let mut window = RollingSum::new(16);
            for (index, &sample) in samples.iter().enumerate() {
                window.push(sample);
                let expected = (k <= index + 1)
                    .then(|| samples[index + 1 - k..=index].iter().map(|&s| i128::from(s)).sum());
                prop_assert_eq!(window.sum_last(k), expected);
            }
        }
    }
}
