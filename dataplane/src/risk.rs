//! The pre-trade risk gate, run in the engine loop on every intent before anything is sent.
//!
//! Checks, in order (cheap first; each has its own counter and [`RiskReason`]):
//! 1. cancels always pass;
//! 2. global kill switch, then the strategy's kill switch — while killed only
//!    **risk-reducing** orders pass (they shrink |position| and, with the open orders on
//!    that side, cannot flip it);
//! 3. stale data: the book is stale or older than `max_data_age_ns`;
//! 4. sanity (positive price and quantity), maximum order quantity, maximum order notional;
//! 5. price collar around the reference price (mid or last trade), in basis points;
//! 6. maximum long/short position counting open orders on the same side;
//! 7. maximum gross notional across symbols: the current exposure plus the growth of
//!    |position| this order could cause, at its price;
//! 8. maximum open orders and open notional on the symbol;
//! 9. duplicate (same strategy, side, price and quantity as a live order) and self-trade
//!    prevention (never cross one of our own resting orders), in one scan of the symbol's
//!    live orders;
//! 10. daily loss limit on realized + unrealized PnL — reaching it trips the kill switch;
//! 11. order-rate throttle (token bucket), last, so refused orders do not use tokens.
//!
//! Limits arrive as a whole [`LimitsSnapshot`]; [`RiskGate::apply`] resolves it once into
//! pre-scaled thresholds per engine symbol, so the checks compare products of raw values in
//! `i128` and never divide. The gate always checks against one consistent snapshot, whose
//! version the engine records in every audit record.

use tickwire_common::{FIXED_SCALE, Price, Qty};
use tickwire_link::abi::{
    KillReason, LimitsSnapshot, MAX_STRATEGIES, RISK_REASONS, RiskReason, SymbolLimits,
};

use crate::{book::Side, orders::OrderManager, strategy::SymbolId};

const NANOS_PER_SECOND: u64 = 1_000_000_000;
const BASIS_POINTS: i128 = 10_000;

/// What is being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    /// A new order.
    New,
    /// A replace of a live order with `leaves` open at `price`.
    Replace {
        /// The order being replaced (excluded from duplicate/self-trade scans).
        order: u64,
        /// Its open quantity.
        leaves: Qty,
    },
    /// A cancel.
    Cancel,
}

/// An intent as the risk gate sees it.
#[derive(Debug, Clone, Copy)]
pub struct RiskCheck {
    /// Owning strategy.
    pub strategy: u8,
    /// Symbol.
    pub symbol: SymbolId,
    /// Side.
    pub side: Side,
    /// Limit price.
    pub price: Price,
    /// Quantity (for a replace: the new total).
    pub qty: Qty,
    /// New, replace or cancel.
    pub kind: CheckKind,
}

/// Market facts the gate needs about the symbol.
#[derive(Debug, Clone, Copy)]
pub struct MarketRisk {
    /// Reference for the collar: mid, else last trade ([`Price::NONE`] if neither).
    pub reference: Price,
    /// The book says it is stale (gap, inconsistent, unsynced).
    pub stale: bool,
    /// Monotonic time of the book's last update.
    pub last_update_ns: u64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Resolved {
    max_order_qty: i64,
    max_order_notional: i128,
    max_long: i64,
    max_short: i64,
    max_open_orders: u32,
    max_open_notional: i128,
    collar_bps: i128,
}

#[derive(Debug, Clone, Copy)]
struct TokenBucket {
    /// Tokens × 10^9 (one order costs 10^9).
    nano_tokens: u64,
    capacity: u64,
    per_second: u64,
    last_ns: u64,
}

impl TokenBucket {
    fn new(per_second: u32, burst: u32) -> Self {
        let capacity = u64::from(burst.max(1)) * NANOS_PER_SECOND;
        Self {
            nano_tokens: capacity,
            capacity,
            per_second: u64::from(per_second),
            last_ns: 0,
        }
    }

    #[inline]
    fn take(&mut self, now_ns: u64) -> bool {
        let elapsed = now_ns.saturating_sub(self.last_ns);
        self.last_ns = now_ns;
        self.nano_tokens = self
            .nano_tokens
            .saturating_add(elapsed.saturating_mul(self.per_second))
            .min(self.capacity);
        if self.nano_tokens >= NANOS_PER_SECOND {
            self.nano_tokens -= NANOS_PER_SECOND;
            true
        } else {
            false
        }
    }
}

/// The risk gate of one engine.
#[derive(Debug)]
pub struct RiskGate {
    snapshot: LimitsSnapshot,
    symbols: Vec<[u8; 8]>,
    resolved: Vec<Resolved>,
    max_gross: i128,
    daily_loss: i128,
    max_data_age_ns: u64,
    throttle: TokenBucket,
    killed: Option<KillReason>,
    strategy_killed: [bool; MAX_STRATEGIES],
    counters: [u64; RISK_REASONS],
}

fn scale(raw: i64) -> i128 {
    i128::from(raw) * i128::from(FIXED_SCALE)
}

impl RiskGate {
    /// A gate for the engine's `symbols` (space-padded), starting with `snapshot`.
    #[must_use]
    pub fn new(symbols: &[[u8; 8]], snapshot: &LimitsSnapshot) -> Self {
        let mut gate = Self {
            snapshot: *snapshot,
            symbols: symbols.to_vec(),
            resolved: vec![Resolved::default(); symbols.len()],
            max_gross: 0,
            daily_loss: 0,
            max_data_age_ns: 0,
            throttle: TokenBucket::new(0, 1),
            killed: None,
            strategy_killed: [false; MAX_STRATEGIES],
            counters: [0; RISK_REASONS],
        };
        gate.apply(snapshot);
        gate
    }

    /// Swaps in a new snapshot (start-up or from the control plane). A snapshot with the
    /// kill flag set trips the kill switch; resetting it takes an explicit
    /// [`reset_kill`](Self::reset_kill).
    pub fn apply(&mut self, snapshot: &LimitsSnapshot) {
        self.snapshot = *snapshot;
        let global = snapshot.global;
        for (symbol, resolved) in self.symbols.iter().zip(&mut self.resolved) {
            let own = snapshot
                .symbol(symbol)
                .copied()
                .unwrap_or(SymbolLimits::UNUSED);
            let pick = |symbol_limit: i64, global_limit: i64| {
                if symbol_limit > 0 && (global_limit <= 0 || symbol_limit < global_limit) {
                    symbol_limit
                } else {
                    global_limit
                }
            };
            *resolved = Resolved {
                max_order_qty: pick(own.max_order_qty, global.max_order_qty),
                max_order_notional: scale(pick(own.max_order_notional, global.max_order_notional)),
                max_long: own.max_long,
                max_short: own.max_short,
                max_open_orders: own.max_open_orders,
                max_open_notional: scale(own.max_open_notional),
                collar_bps: i128::from(if own.collar_bps > 0 {
                    own.collar_bps
                } else {
                    global.collar_bps
                }),
            };
        }
        self.max_gross = scale(global.max_gross_notional);
        self.daily_loss = scale(global.daily_loss_limit);
        self.max_data_age_ns = global.max_data_age_ns;
        self.throttle = TokenBucket {
            last_ns: self.throttle.last_ns,
            ..TokenBucket::new(global.orders_per_second, global.order_burst)
        };
        for (killed, flag) in self.strategy_killed.iter_mut().zip(snapshot.strategy_kill) {
            *killed = flag != 0;
        }
        if global.kill != 0 && self.killed.is_none() {
            self.killed = Some(KillReason::Operator);
        }
    }

    /// Version of the snapshot in force.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.snapshot.version
    }

    /// The snapshot in force.
    #[must_use]
    pub fn snapshot(&self) -> &LimitsSnapshot {
        &self.snapshot
    }

    /// Trips the global kill switch; returns `true` if it was off.
    pub fn trip(&mut self, reason: KillReason) -> bool {
        let was_off = self.killed.is_none();
        if was_off {
            self.killed = Some(reason);
        }
        was_off
    }

    /// Resets the global kill switch; returns `true` if it was on.
    pub fn reset_kill(&mut self) -> bool {
        self.killed.take().is_some()
    }

    /// Why the kill switch is on, if it is.
    #[must_use]
    pub fn killed(&self) -> Option<KillReason> {
        self.killed
    }

    /// Sets a strategy's kill switch.
    pub fn set_strategy_killed(&mut self, strategy: u8, killed: bool) {
        if let Some(flag) = self.strategy_killed.get_mut(usize::from(strategy)) {
            *flag = killed;
        }
    }

    /// Passes (index 0) and rejects per [`RiskReason`].
    #[must_use]
    pub fn counters(&self) -> &[u64; RISK_REASONS] {
        &self.counters
    }

    /// Runs every check; returns [`RiskReason::None`] when the intent may be sent.
    #[inline]
    pub fn check(
        &mut self,
        intent: &RiskCheck,
        market: &MarketRisk,
        orders: &OrderManager,
        now_ns: u64,
    ) -> RiskReason {
        let reason = self.evaluate(intent, market, orders, now_ns);
        self.counters[reason as usize] += 1;
        if reason == RiskReason::DailyLoss {
            self.trip(KillReason::DailyLoss);
        }
        reason
    }

    #[inline]
    fn evaluate(
        &mut self,
        intent: &RiskCheck,
        market: &MarketRisk,
        orders: &OrderManager,
        now_ns: u64,
    ) -> RiskReason {
        if intent.kind == CheckKind::Cancel {
            return RiskReason::None;
        }
        let (Some(limits), Some(position)) = (
            self.resolved.get(usize::from(intent.symbol)),
            orders.position(intent.symbol),
        ) else {
            return RiskReason::Invalid;
        };
        let limits = *limits;
        let qty = intent.qty.raw();
        let price = intent.price.raw();
        if qty <= 0 || price <= 0 {
            return RiskReason::Invalid;
        }
        // Quantity this intent adds on its side (a replace only adds the difference).
        let added = match intent.kind {
            CheckKind::Replace { leaves, .. } => qty - leaves.raw(),
            _ => qty,
        };
        let held = position.qty.raw();
        let reducing = match intent.side {
            Side::Bid => held < 0 && position.open_buy.raw() + added <= -held,
            Side::Ask => held > 0 && position.open_sell.raw() + added <= held,
        };
        if self.killed.is_some() && !reducing {
            return RiskReason::KillSwitch;
        }
        if self
            .strategy_killed
            .get(usize::from(intent.strategy))
            .is_some_and(|killed| *killed)
            && !reducing
        {
            return RiskReason::StrategyKilled;
        }
        if market.stale
            || (self.max_data_age_ns != 0
                && now_ns.saturating_sub(market.last_update_ns) > self.max_data_age_ns)
        {
            return RiskReason::StaleData;
        }
        if qty > limits.max_order_qty {
            return RiskReason::MaxOrderQty;
        }
        let notional = i128::from(price) * i128::from(qty);
        if notional > limits.max_order_notional {
            return RiskReason::MaxOrderNotional;
        }
        let reference = market.reference.raw();
        if !market.reference.is_some() || reference <= 0 {
            return RiskReason::NoReferencePrice;
        }
        if i128::from(price - reference).abs() * BASIS_POINTS
            > limits.collar_bps * i128::from(reference)
        {
            return RiskReason::PriceCollar;
        }
        // Position if every open order on this side, and this intent, filled.
        let projected = match intent.side {
            Side::Bid => held + position.open_buy.raw() + added,
            Side::Ask => held - position.open_sell.raw() - added,
        };
        if projected > limits.max_long || -projected > limits.max_short {
            return RiskReason::MaxPosition;
        }
        // Gross exposure grows only by the growth of |position| on this symbol.
        let growth = projected.abs().saturating_sub(held.abs()).max(0);
        if orders.gross_exposure_scaled() + i128::from(price) * i128::from(growth) > self.max_gross
        {
            return RiskReason::MaxGrossNotional;
        }
        let added_notional = i128::from(price) * i128::from(added);
        if intent.kind == CheckKind::New && position.open_orders + 1 > limits.max_open_orders {
            return RiskReason::MaxOpenOrders;
        }
        if position.open_notional_scaled() + added_notional > limits.max_open_notional {
            return RiskReason::MaxOpenNotional;
        }
        let replaced = match intent.kind {
            CheckKind::Replace { order, .. } => order,
            _ => 0,
        };
        let mut conflict = RiskReason::None;
        orders.for_each_live(intent.symbol, |order, owner| {
            if order.id == replaced || conflict != RiskReason::None {
                return;
            }
            let crosses = match intent.side {
                Side::Bid => order.side == Side::Ask && order.price <= intent.price,
                Side::Ask => order.side == Side::Bid && order.price >= intent.price,
            };
            if crosses {
                conflict = RiskReason::SelfTrade;
            } else if owner == intent.strategy
                && order.side == intent.side
                && order.price == intent.price
                && order.leaves == intent.qty
            {
                conflict = RiskReason::Duplicate;
            }
        });
        if conflict != RiskReason::None {
            return conflict;
        }
        if !reducing && orders.total_pnl_scaled() <= -self.daily_loss {
            return RiskReason::DailyLoss;
        }
        if !self.throttle.take(now_ns) {
            return RiskReason::Throttle;
        }
        RiskReason::None
    }
}

#[cfg(test)]
mod tests {
    use tickwire_link::abi::{GlobalLimits, MAX_SYMBOLS};

    use super::*;
    use crate::orders::OrderConfig;

    const SYMBOL: [u8; 8] = *b"AAPL    ";

    fn px(text: &str) -> Price {
        Price::from_decimal(text.as_bytes()).unwrap()
    }

    fn shares(count: u32) -> Qty {
        Qty::from_shares(count)
    }

    fn limits() -> LimitsSnapshot {
        let mut symbols = [SymbolLimits::UNUSED; MAX_SYMBOLS];
        symbols[0] = SymbolLimits {
            symbol: SYMBOL,
            max_order_qty: 0,
            max_order_notional: 0,
            max_long: shares(1_000).raw(),
            max_short: shares(1_000).raw(),
            max_open_notional: px("100000").raw(),
            max_open_orders: 10,
            collar_bps: 0,
        };
        LimitsSnapshot {
            version: 7,
            actor: [0; 16],
            global: GlobalLimits {
                max_order_qty: shares(500).raw(),
                max_order_notional: px("50000").raw(),
                max_gross_notional: px("200000").raw(),
                daily_loss_limit: px("1000").raw(),
                max_data_age_ns: 1_000_000,
                collar_bps: 100,
                orders_per_second: 1_000,
                order_burst: 100,
                kill: 0,
            },
            symbols,
            strategy_kill: [0; MAX_STRATEGIES],
        }
    }

    struct Fixture {
        gate: RiskGate,
        orders: OrderManager,
        market: MarketRisk,
    }

    fn fixture() -> Fixture {
        Fixture {
            gate: RiskGate::new(&[SYMBOL], &limits()),
            orders: OrderManager::new(OrderConfig {
                max_orders: 64,
                max_orders_per_symbol: 32,
                symbols: 1,
            }),
            market: MarketRisk {
                reference: px("100"),
                stale: false,
                last_update_ns: 1_000,
            },
        }
    }

    fn buy(price: &str, count: u32) -> RiskCheck {
        RiskCheck {
            strategy: 0,
            symbol: 0,
            side: Side::Bid,
            price: px(price),
            qty: shares(count),
            kind: CheckKind::New,
        }
    }

    fn sell(price: &str, count: u32) -> RiskCheck {
        RiskCheck {
            side: Side::Ask,
            ..buy(price, count)
        }
    }

    impl Fixture {
        fn check(&mut self, intent: &RiskCheck) -> RiskReason {
            self.gate.check(intent, &self.market, &self.orders, 2_000)
        }

        /// Opens a position through a filled order.
        fn fill(&mut self, side: Side, count: u32, price: &str) {
            let (_, token) = self
                .orders
                .new_order(9, 0, side, px(price), shares(count), 0)
                .unwrap();
            self.orders
                .on_executed(&token, shares(count), px(price))
                .unwrap();
        }

        fn rest(&mut self, strategy: u8, side: Side, price: &str, count: u32) -> u64 {
            let (id, token) = self
                .orders
                .new_order(strategy, 0, side, px(price), shares(count), 0)
                .unwrap();
            self.orders.on_accepted(&token, 1).unwrap();
            id
        }
    }

    #[test]
    fn a_plain_order_passes() {
        let mut f = fixture();
        assert_eq!(f.check(&buy("100", 10)), RiskReason::None);
        assert_eq!(f.gate.counters()[RiskReason::None as usize], 1);
    }

    #[test]
    fn cancels_always_pass() {
        let mut f = fixture();
        f.gate.trip(KillReason::Operator);
        f.market.stale = true;
        let cancel = RiskCheck {
            kind: CheckKind::Cancel,
            ..buy("1", 1)
        };
        assert_eq!(f.check(&cancel), RiskReason::None);
    }

    #[test]
    fn kill_switch_blocks_all_but_risk_reducing_orders() {
        let mut f = fixture();
        f.fill(Side::Bid, 100, "100");
        f.gate.trip(KillReason::Operator);
        assert_eq!(f.check(&buy("100", 10)), RiskReason::KillSwitch);
        assert_eq!(
            f.check(&sell("100", 150)),
            RiskReason::KillSwitch,
            "would flip short"
        );
        assert_eq!(
            f.check(&sell("100", 100)),
            RiskReason::None,
            "reduces to flat"
        );
        assert!(f.gate.reset_kill());
        assert_eq!(f.check(&buy("100", 10)), RiskReason::None);
    }

    #[test]
    fn strategy_kill_switch_is_per_strategy() {
        let mut f = fixture();
        f.gate.set_strategy_killed(0, true);
        assert_eq!(f.check(&buy("100", 10)), RiskReason::StrategyKilled);
        let other = RiskCheck {
            strategy: 1,
            ..buy("100", 10)
        };
        assert_eq!(f.check(&other), RiskReason::None);
    }

    #[test]
    fn stale_or_old_data_is_refused() {
        let mut f = fixture();
        f.market.stale = true;
        assert_eq!(f.check(&buy("100", 10)), RiskReason::StaleData);
        f.market.stale = false;
        f.market.last_update_ns = 0;
        let late = f
            .gate
            .check(&buy("100", 10), &f.market, &f.orders, 1_000_001);
        assert_eq!(late, RiskReason::StaleData);
        let fresh = f.gate.check(&buy("100", 10), &f.market, &f.orders, 999_999);
        assert_eq!(fresh, RiskReason::None);
    }

    #[test]
    fn order_quantity_and_notional_limits() {
        let mut f = fixture();
        assert_eq!(f.check(&buy("100", 501)), RiskReason::MaxOrderQty);
        assert_eq!(f.check(&buy("100", 500)), RiskReason::None);
        let mut snapshot = limits();
        snapshot.symbols[0].max_order_notional = px("1000").raw();
        f.gate.apply(&snapshot);
        assert_eq!(f.check(&buy("100", 11)), RiskReason::MaxOrderNotional);
        assert_eq!(f.check(&buy("100", 10)), RiskReason::None);
        assert_eq!(f.check(&buy("100", 0)), RiskReason::Invalid);
    }

    #[test]
    fn price_collar_and_missing_reference() {
        let mut f = fixture();
        assert_eq!(f.check(&buy("101.01", 1)), RiskReason::PriceCollar);
        assert_eq!(f.check(&buy("101.00", 1)), RiskReason::None);
        assert_eq!(f.check(&sell("98.99", 1)), RiskReason::PriceCollar);
        f.market.reference = Price::NONE;
        assert_eq!(f.check(&buy("100", 1)), RiskReason::NoReferencePrice);
    }

    #[test]
    fn position_limits_count_open_orders() {
        let mut f = fixture();
        f.fill(Side::Bid, 600, "100");
        f.rest(5, Side::Bid, "99", 300);
        assert_eq!(f.check(&buy("100", 101)), RiskReason::MaxPosition);
        assert_eq!(f.check(&buy("100", 100)), RiskReason::None);
        // Short side: from +600, selling 1600 reaches -1000: allowed; 1601 is not.
        assert_eq!(f.check(&sell("100", 1_601)), RiskReason::MaxOrderQty);
        let mut snapshot = limits();
        snapshot.global.max_order_qty = shares(10_000).raw();
        snapshot.global.max_order_notional = px("1000000").raw();
        snapshot.symbols[0].max_open_notional = px("1000000").raw();
        f.gate.apply(&snapshot);
        assert_eq!(f.check(&sell("100", 1_601)), RiskReason::MaxPosition);
        assert_eq!(f.check(&sell("100", 1_600)), RiskReason::None);
    }

    #[test]
    fn gross_notional_limit() {
        let mut f = fixture();
        f.fill(Side::Bid, 1_000, "100"); // gross 100k of 200k
        let mut snapshot = limits();
        snapshot.global.max_gross_notional = px("100500").raw();
        snapshot.symbols[0].max_long = shares(10_000).raw();
        f.gate.apply(&snapshot);
        assert_eq!(f.check(&buy("100", 6)), RiskReason::MaxGrossNotional);
        assert_eq!(f.check(&buy("100", 5)), RiskReason::None);
        assert_eq!(
            f.check(&sell("100", 6)),
            RiskReason::None,
            "reducing is fine"
        );
    }

    #[test]
    fn open_orders_and_open_notional() {
        let mut f = fixture();
        for index in 0..10 {
            f.rest(1, Side::Bid, &format!("9{index}"), 1);
        }
        assert_eq!(f.check(&buy("99.5", 1)), RiskReason::MaxOpenOrders);
        let mut f = fixture();
        let mut snapshot = limits();
        snapshot.symbols[0].max_long = shares(10_000).raw();
        f.gate.apply(&snapshot);
        f.rest(1, Side::Bid, "99", 500); // 49.5k open
        f.rest(1, Side::Bid, "99.5", 500); // 99.25k open
        assert_eq!(f.check(&buy("100", 10)), RiskReason::MaxOpenNotional);
        assert_eq!(f.check(&buy("100", 7)), RiskReason::None);
    }

    #[test]
    fn duplicates_and_self_trades() {
        let mut f = fixture();
        let bid = f.rest(0, Side::Bid, "99.5", 10);
        f.rest(1, Side::Ask, "100.5", 10);
        assert_eq!(f.check(&buy("99.5", 10)), RiskReason::Duplicate);
        assert_eq!(f.check(&buy("99.5", 11)), RiskReason::None);
        let other_strategy = RiskCheck {
            strategy: 2,
            ..buy("99.5", 10)
        };
        assert_eq!(f.check(&other_strategy), RiskReason::None);
        assert_eq!(f.check(&buy("100.5", 1)), RiskReason::SelfTrade);
        assert_eq!(f.check(&sell("99.5", 1)), RiskReason::SelfTrade);
        assert_eq!(f.check(&sell("99.6", 1)), RiskReason::None);
        // A replace is not a duplicate of itself.
        let replace = RiskCheck {
            kind: CheckKind::Replace {
                order: bid,
                leaves: shares(10),
            },
            ..buy("99.5", 10)
        };
        assert_eq!(f.check(&replace), RiskReason::None);
    }

    #[test]
    fn daily_loss_trips_the_kill_switch() {
        let mut f = fixture();
        f.fill(Side::Bid, 100, "100");
        f.orders.mark(0, px("90")); // -1000
        f.market.reference = px("90");
        assert_eq!(f.check(&buy("90", 1)), RiskReason::DailyLoss);
        assert_eq!(f.gate.killed(), Some(KillReason::DailyLoss));
        assert_eq!(f.check(&buy("90", 1)), RiskReason::KillSwitch);
        assert_eq!(
            f.check(&sell("90", 100)),
            RiskReason::None,
            "flattening still allowed"
        );
    }

    #[test]
    fn throttle_refills_at_the_configured_rate() {
        let mut f = fixture();
        let mut snapshot = limits();
        snapshot.global.orders_per_second = 10;
        snapshot.global.order_burst = 2;
        snapshot.global.max_data_age_ns = 0;
        f.gate.apply(&snapshot);
        let at = |f: &mut Fixture, now: u64, price: &str| {
            f.gate.check(&buy(price, 1), &f.market, &f.orders, now)
        };
        assert_eq!(at(&mut f, 1, "100"), RiskReason::None);
        assert_eq!(at(&mut f, 2, "100.01"), RiskReason::None);
        assert_eq!(at(&mut f, 3, "100.02"), RiskReason::Throttle);
        assert_eq!(
            at(&mut f, 100_000_003, "100.03"),
            RiskReason::None,
            "one token after 100 ms"
        );
        assert_eq!(at(&mut f, 100_000_004, "100.04"), RiskReason::Throttle);
        assert_eq!(f.gate.counters()[RiskReason::Throttle as usize], 2);
    }

    #[test]
    fn snapshots_swap_whole_and_report_their_version() {
        let mut f = fixture();
        assert_eq!(f.gate.version(), 7);
        let mut snapshot = limits();
        snapshot.version = 8;
        snapshot.global.max_order_qty = shares(5).raw();
        snapshot.global.kill = 1;
        f.gate.apply(&snapshot);
        assert_eq!(f.gate.version(), 8);
        assert_eq!(f.gate.killed(), Some(KillReason::Operator));
        f.gate.reset_kill();
        assert_eq!(f.check(&buy("100", 6)), RiskReason::MaxOrderQty);
    }
}
