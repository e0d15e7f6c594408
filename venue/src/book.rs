//! The matching engine: one price-time priority limit order book per symbol.
//!
//! Contract:
//! - Prices are ITCH/OUCH `Price(4)` raw values (`u32`, 1/10,000 dollars), sizes whole
//!   shares (`u32`). Callers validate orders (symbol, tick, size) before they get here.
//! - An incoming order that crosses the book executes against the resting orders, best price
//!   first and oldest first within a price, at the resting order's price, whoever owns them
//!   (background flow or participants; no self-match prevention). A remainder rests, or is
//!   canceled if the order is immediate-or-cancel.
//! - Every change is reported as an [`Effect`] appended to the caller's buffer, in the order
//!   it happened; the caller turns effects into ITCH messages and OUCH reports. Nothing is
//!   published from here.
//! - Order reference numbers are never reused, so a level's queue may hold references of
//!   orders that are gone: they are skipped lazily and compacted when they dominate a queue.
//! - Every loop is bounded by the number of orders resting on the book.

use std::collections::{BTreeMap, HashMap, VecDeque};

/// A venue order reference number (ITCH Order Reference Number, OUCH Order Reference).
pub type OrderRef = u64;

/// Which side an order is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Bid.
    Buy,
    /// Offer (OUCH sell, sell short and sell short exempt).
    Sell,
}

impl Side {
    /// The ITCH Buy/Sell Indicator.
    #[must_use]
    pub const fn itch_byte(self) -> u8 {
        match self {
            Self::Buy => b'B',
            Self::Sell => b'S',
        }
    }
}

/// Who owns an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    /// The background flow (replay or synthetic).
    Background,
    /// A participant: index into the venue's user list, and the order's current OUCH token.
    Participant {
        /// User index.
        user: u16,
        /// Current order token.
        token: [u8; 14],
    },
}

/// A resting order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    /// Owner.
    pub owner: Owner,
    /// Symbol index.
    pub symbol: u16,
    /// Side.
    pub side: Side,
    /// Limit price, `Price(4)` raw.
    pub price: u32,
    /// Open shares.
    pub remaining: u32,
    /// Shown on the feed (ITCH `A`/`E`/`X`/`D`/`U`) or hidden (executions print as `P`).
    pub displayed: bool,
}

/// An order to enter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewOrder {
    /// Owner.
    pub owner: Owner,
    /// Symbol index.
    pub symbol: u16,
    /// Side.
    pub side: Side,
    /// Limit price, `Price(4)` raw, > 0.
    pub price: u32,
    /// Shares, > 0.
    pub shares: u32,
    /// Immediate or cancel: never rests.
    pub ioc: bool,
    /// Displayed on the feed.
    pub displayed: bool,
}

/// One change to the books, in the order it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// An order now rests on the book.
    Added {
        /// Its reference.
        order_ref: OrderRef,
        /// The order.
        order: Order,
    },
    /// A resting order executed against an incoming order (or a replayed execution).
    Executed {
        /// Symbol index.
        symbol: u16,
        /// The resting order.
        resting_ref: OrderRef,
        /// The resting order's state after the execution (`remaining` 0: gone).
        resting: Order,
        /// The incoming order's reference and owner, its open shares after this fill; `None`
        /// for a replayed execution of a background order.
        aggressor: Option<(OrderRef, Owner, u32)>,
        /// Shares executed.
        shares: u32,
        /// Execution price (the resting order's).
        price: u32,
        /// Match number, shared by both sides.
        match_number: u64,
    },
    /// A resting order was reduced (`remaining` > 0) or removed (`remaining` 0) by a cancel.
    Reduced {
        /// Its reference.
        order_ref: OrderRef,
        /// The order after the change.
        order: Order,
        /// Shares removed.
        canceled: u32,
        /// OUCH cancel reason to report to its owner; `None`: not reported as a cancel
        /// (part of a replace, which is reported as Replaced).
        reason: Option<u8>,
    },
    /// A resting order was replaced by one at another price or size, without crossing.
    Replaced {
        /// The old reference.
        old_ref: OrderRef,
        /// The old order, as it was.
        old: Order,
        /// The new reference.
        new_ref: OrderRef,
        /// The new order.
        order: Order,
    },
    /// The open remainder of an immediate-or-cancel order was canceled.
    IocCanceled {
        /// The order's reference.
        order_ref: OrderRef,
        /// Owner.
        owner: Owner,
        /// Shares canceled.
        shares: u32,
    },
}

/// Aggregated levels, best first: `(price, shares)`.
pub type Levels = Vec<(u32, u64)>;

/// One price level.
#[derive(Debug, Default)]
struct Level {
    /// References in time priority; may hold references of orders that are gone.
    queue: VecDeque<OrderRef>,
    /// Orders resting at this level.
    live: u32,
    /// Their displayed shares.
    displayed_shares: u64,
}

/// One symbol's book.
#[derive(Debug, Default)]
struct Book {
    bids: BTreeMap<u32, Level>,
    asks: BTreeMap<u32, Level>,
}

impl Book {
    const fn side_mut(&mut self, side: Side) -> &mut BTreeMap<u32, Level> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// Best price on the side opposite to `side` that a `side` order at `price` crosses.
    fn crossing_price(&self, side: Side, price: u32) -> Option<u32> {
        match side {
            Side::Buy => self
                .asks
                .first_key_value()
                .map(|(&ask, _)| ask)
                .filter(|&ask| ask <= price),
            Side::Sell => self
                .bids
                .last_key_value()
                .map(|(&bid, _)| bid)
                .filter(|&bid| bid >= price),
        }
    }
}

/// What a [`Exchange::replace`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplaceOutcome {
    /// Same price, size not increased: the order kept its reference and time priority.
    KeptPriority(OrderRef),
    /// The order was re-entered under the new reference (it may have executed).
    Reentered(OrderRef),
}

impl ReplaceOutcome {
    /// The reference the order now has.
    #[must_use]
    pub const fn order_ref(self) -> OrderRef {
        match self {
            Self::KeptPriority(order_ref) | Self::Reentered(order_ref) => order_ref,
        }
    }
}

/// All books, the orders resting on them, and the reference and match number counters.
#[derive(Debug)]
pub struct Exchange {
    books: Vec<Book>,
    orders: HashMap<OrderRef, Order>,
    next_ref: OrderRef,
    next_match: u64,
}

/// Queue length above which a level drops references of orders that are gone.
const COMPACT_SLACK: usize = 32;

impl Exchange {
    /// Empty books for `symbols` symbols.
    #[must_use]
    pub fn new(symbols: usize) -> Self {
        Self {
            books: (0..symbols).map(|_| Book::default()).collect(),
            orders: HashMap::new(),
            next_ref: 1,
            next_match: 1,
        }
    }

    /// A fresh order reference number.
    pub const fn allocate_ref(&mut self) -> OrderRef {
        let order_ref = self.next_ref;
        self.next_ref += 1;
        order_ref
    }

    /// The resting order with reference `order_ref`.
    #[must_use]
    pub fn order(&self, order_ref: OrderRef) -> Option<&Order> {
        self.orders.get(&order_ref)
    }

    /// Orders resting on all books.
    #[must_use]
    pub fn resting_orders(&self) -> usize {
        self.orders.len()
    }

    /// Best bid and best ask of `symbol` (any order, displayed or not).
    #[must_use]
    pub fn best(&self, symbol: u16) -> (Option<u32>, Option<u32>) {
        self.books
            .get(usize::from(symbol))
            .map_or((None, None), |book| {
                (
                    book.bids.last_key_value().map(|(&price, _)| price),
                    book.asks.first_key_value().map(|(&price, _)| price),
                )
            })
    }

    /// Displayed shares per price level, best first: `(bids, asks)`. Levels whose orders
    /// are all hidden are left out.
    #[must_use]
    pub fn displayed_levels(&self, symbol: u16) -> (Levels, Levels) {
        let Some(book) = self.books.get(usize::from(symbol)) else {
            return (Vec::new(), Vec::new());
        };
        let shown = |(&price, level): (&u32, &Level)| {
            (level.displayed_shares > 0).then_some((price, level.displayed_shares))
        };
        (
            book.bids.iter().rev().filter_map(shown).collect(),
            book.asks.iter().filter_map(shown).collect(),
        )
    }

    /// Enters `order` under `order_ref` (from [`Exchange::allocate_ref`]): matches, then
    /// rests or cancels the remainder. Effects are appended to `out`.
    pub fn enter(&mut self, order_ref: OrderRef, order: NewOrder, out: &mut Vec<Effect>) {
        let Some(book) = self.books.get_mut(usize::from(order.symbol)) else {
            return;
        };
        let mut remaining = order.shares;
        // Each pass executes against at least one resting order or removes an empty level.
        while remaining > 0 {
            let Some(level_price) = book.crossing_price(order.side, order.price) else {
                break;
            };
            let opposite = book.side_mut(match order.side {
                Side::Buy => Side::Sell,
                Side::Sell => Side::Buy,
            });
            let Some(level) = opposite.get_mut(&level_price) else {
                break;
            };
            while remaining > 0 {
                let Some(&resting_ref) = level.queue.front() else {
                    break;
                };
                let Some(resting) = self.orders.get_mut(&resting_ref) else {
                    level.queue.pop_front();
                    continue;
                };
                let shares = remaining.min(resting.remaining);
                resting.remaining -= shares;
                remaining -= shares;
                if resting.displayed {
                    level.displayed_shares -= u64::from(shares);
                }
                let match_number = self.next_match;
                self.next_match += 1;
                out.push(Effect::Executed {
                    symbol: order.symbol,
                    resting_ref,
                    resting: *resting,
                    aggressor: Some((order_ref, order.owner, remaining)),
                    shares,
                    price: level_price,
                    match_number,
                });
                if resting.remaining == 0 {
                    level.queue.pop_front();
                    level.live -= 1;
                    self.orders.remove(&resting_ref);
                }
            }
            if level.live == 0 {
                opposite.remove(&level_price);
            }
        }
        if remaining == 0 {
            return;
        }
        if order.ioc {
            out.push(Effect::IocCanceled {
                order_ref,
                owner: order.owner,
                shares: remaining,
            });
            return;
        }
        let resting = Order {
            owner: order.owner,
            symbol: order.symbol,
            side: order.side,
            price: order.price,
            remaining,
            displayed: order.displayed,
        };
        let level = book.side_mut(order.side).entry(order.price).or_default();
        level.queue.push_back(order_ref);
        level.live += 1;
        if resting.displayed {
            level.displayed_shares += u64::from(remaining);
        }
        self.orders.insert(order_ref, resting);
        out.push(Effect::Added {
            order_ref,
            order: resting,
        });
    }

    /// Reduces resting order `order_ref` to `new_remaining` open shares (0 removes it). A
    /// size at or above the open size changes nothing. Returns false if no such order.
    pub fn cancel(
        &mut self,
        order_ref: OrderRef,
        new_remaining: u32,
        reason: Option<u8>,
        out: &mut Vec<Effect>,
    ) -> bool {
        let Some(order) = self.orders.get(&order_ref).copied() else {
            return false;
        };
        if new_remaining >= order.remaining {
            return true;
        }
        let canceled = order.remaining - new_remaining;
        self.reduce(order_ref, order, canceled);
        out.push(Effect::Reduced {
            order_ref,
            order: Order {
                remaining: new_remaining,
                ..order
            },
            canceled,
            reason,
        });
        true
    }

    /// Takes `shares` off resting order `order` (removing it at 0) and fixes its level.
    fn reduce(&mut self, order_ref: OrderRef, order: Order, shares: u32) {
        let Some(book) = self.books.get_mut(usize::from(order.symbol)) else {
            return;
        };
        let side = book.side_mut(order.side);
        let Some(level) = side.get_mut(&order.price) else {
            return;
        };
        if order.displayed {
            level.displayed_shares -= u64::from(shares);
        }
        if shares < order.remaining {
            if let Some(resting) = self.orders.get_mut(&order_ref) {
                resting.remaining -= shares;
            }
            return;
        }
        self.orders.remove(&order_ref);
        level.live -= 1;
        if level.live == 0 {
            side.remove(&order.price);
        } else if level.queue.len() > 2 * level.live as usize + COMPACT_SLACK {
            let orders = &self.orders;
            level.queue.retain(|queued| orders.contains_key(queued));
        }
    }

    /// Executes `shares` (at most the open size) of resting order `order_ref` against no
    /// incoming order: a replayed execution. Returns false if no such order.
    pub fn execute(&mut self, order_ref: OrderRef, shares: u32, out: &mut Vec<Effect>) -> bool {
        let Some(order) = self.orders.get(&order_ref).copied() else {
            return false;
        };
        let shares = shares.min(order.remaining);
        if shares == 0 {
            return true;
        }
        self.reduce(order_ref, order, shares);
        let match_number = self.next_match;
        self.next_match += 1;
        out.push(Effect::Executed {
            symbol: order.symbol,
            resting_ref: order_ref,
            resting: Order {
                remaining: order.remaining - shares,
                ..order
            },
            aggressor: None,
            shares,
            price: order.price,
            match_number,
        });
        true
    }

    /// Replaces resting order `old_ref` by `order` (same symbol and side as the old one).
    ///
    /// Same price, same display and no size increase (and not IOC): the order keeps its
    /// reference and priority, takes the new owner token, and a decrease is reported as a
    /// [`Effect::Reduced`] with no reason. Otherwise the old order leaves the book and the
    /// new one is entered under `new_ref`: as [`Effect::Replaced`] if it rests without
    /// crossing, else as a removal (`Reduced`, no reason) followed by a normal entry. Returns
    /// `None` if `old_ref` is not resting.
    pub fn replace(
        &mut self,
        old_ref: OrderRef,
        new_ref: OrderRef,
        order: NewOrder,
        out: &mut Vec<Effect>,
    ) -> Option<ReplaceOutcome> {
        let old = self.orders.get(&old_ref).copied()?;
        let order = NewOrder {
            symbol: old.symbol,
            side: old.side,
            ..order
        };
        if order.price == old.price
            && order.displayed == old.displayed
            && order.shares <= old.remaining
            && !order.ioc
        {
            if let Some(resting) = self.orders.get_mut(&old_ref) {
                resting.owner = order.owner;
            }
            let canceled = old.remaining - order.shares;
            if canceled > 0 {
                self.reduce(old_ref, old, canceled);
                out.push(Effect::Reduced {
                    order_ref: old_ref,
                    order: Order {
                        remaining: order.shares,
                        owner: order.owner,
                        ..old
                    },
                    canceled,
                    reason: None,
                });
            }
            return Some(ReplaceOutcome::KeptPriority(old_ref));
        }
        self.reduce(old_ref, old, old.remaining);
        let crosses = self
            .books
            .get(usize::from(old.symbol))
            .and_then(|book| book.crossing_price(order.side, order.price))
            .is_some();
        if crosses || order.ioc {
            out.push(Effect::Reduced {
                order_ref: old_ref,
                order: Order {
                    remaining: 0,
                    ..old
                },
                canceled: old.remaining,
                reason: None,
            });
            self.enter(new_ref, order, out);
            return Some(ReplaceOutcome::Reentered(new_ref));
        }
        let mut entered = Vec::with_capacity(1);
        self.enter(new_ref, order, &mut entered);
        for effect in entered {
            match effect {
                Effect::Added {
                    order_ref,
                    order: new,
                } => out.push(Effect::Replaced {
                    old_ref,
                    old,
                    new_ref: order_ref,
                    order: new,
                }),
                other => out.push(other),
            }
        }
        Some(ReplaceOutcome::Reentered(new_ref))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn participant(user: u16, token: &str) -> Owner {
        let mut bytes = [b' '; 14];
        bytes[..token.len()].copy_from_slice(token.as_bytes());
        Owner::Participant { user, token: bytes }
    }

    fn order(owner: Owner, side: Side, price: u32, shares: u32) -> NewOrder {
        NewOrder {
            owner,
            symbol: 0,
            side,
            price,
            shares,
            ioc: false,
            displayed: true,
        }
    }

    fn enter(exchange: &mut Exchange, new: NewOrder) -> (OrderRef, Vec<Effect>) {
        let order_ref = exchange.allocate_ref();
        let mut out = Vec::new();
        exchange.enter(order_ref, new, &mut out);
        (order_ref, out)
    }

    fn executions(effects: &[Effect]) -> Vec<(OrderRef, u32, u32)> {
        effects
            .iter()
            .filter_map(|effect| match *effect {
                Effect::Executed {
                    resting_ref,
                    shares,
                    price,
                    ..
                } => Some((resting_ref, shares, price)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn price_then_time_priority_at_the_resting_price() {
        let mut exchange = Exchange::new(1);
        let (first, _) = enter(
            &mut exchange,
            order(Owner::Background, Side::Sell, 10_100, 100),
        );
        let (second, _) = enter(
            &mut exchange,
            order(Owner::Background, Side::Sell, 10_100, 100),
        );
        let (better, _) = enter(
            &mut exchange,
            order(Owner::Background, Side::Sell, 10_000, 50),
        );
        let (_, effects) = enter(
            &mut exchange,
            order(participant(0, "T1"), Side::Buy, 10_200, 180),
        );
        assert_eq!(
            executions(&effects),
            vec![
                (better, 50, 10_000),
                (first, 100, 10_100),
                (second, 30, 10_100)
            ]
        );
        assert_eq!(exchange.order(second).map(|o| o.remaining), Some(70));
        assert_eq!(exchange.order(first), None);
        assert_eq!(exchange.best(0), (None, Some(10_100)));
        // Match numbers increase by one per execution.
        let numbers: Vec<u64> = effects
            .iter()
            .filter_map(|effect| match effect {
                Effect::Executed { match_number, .. } => Some(*match_number),
                _ => None,
            })
            .collect();
        assert_eq!(numbers, vec![1, 2, 3]);
    }

    #[test]
    fn partial_fill_rests_the_remainder() {
        let mut exchange = Exchange::new(1);
        enter(
            &mut exchange,
            order(Owner::Background, Side::Buy, 9_900, 40),
        );
        let (incoming, effects) = enter(
            &mut exchange,
            order(participant(1, "S1"), Side::Sell, 9_900, 100),
        );
        assert_eq!(effects.len(), 2);
        assert!(matches!(
            effects[0],
            Effect::Executed { aggressor: Some((r, _, 60)), shares: 40, .. } if r == incoming
        ));
        assert!(matches!(
            effects[1],
            Effect::Added { order_ref, order: Order { remaining: 60, price: 9_900, side: Side::Sell, .. } }
                if order_ref == incoming
        ));
        assert_eq!(exchange.displayed_levels(0), (vec![], vec![(9_900, 60)]));
    }

    #[test]
    fn ioc_remainder_is_canceled_and_never_rests() {
        let mut exchange = Exchange::new(1);
        enter(
            &mut exchange,
            order(Owner::Background, Side::Sell, 10_000, 30),
        );
        let mut ioc = order(participant(0, "I1"), Side::Buy, 10_000, 100);
        ioc.ioc = true;
        let (incoming, effects) = enter(&mut exchange, ioc);
        assert_eq!(executions(&effects).len(), 1);
        assert!(matches!(
            effects[1],
            Effect::IocCanceled { order_ref, shares: 70, .. } if order_ref == incoming
        ));
        assert_eq!(exchange.resting_orders(), 0);
        // An IOC that does not cross at all is canceled whole.
        let mut ioc = order(participant(0, "I2"), Side::Buy, 9_000, 10);
        ioc.ioc = true;
        let (_, effects) = enter(&mut exchange, ioc);
        assert!(matches!(
            effects[..],
            [Effect::IocCanceled { shares: 10, .. }]
        ));
    }

    #[test]
    fn non_crossing_orders_rest_and_levels_aggregate() {
        let mut exchange = Exchange::new(2);
        enter(
            &mut exchange,
            order(Owner::Background, Side::Buy, 9_900, 10),
        );
        enter(
            &mut exchange,
            order(Owner::Background, Side::Buy, 9_900, 20),
        );
        enter(&mut exchange, order(Owner::Background, Side::Buy, 9_800, 5));
        let mut hidden = order(Owner::Background, Side::Buy, 9_700, 5);
        hidden.displayed = false;
        enter(&mut exchange, hidden);
        enter(
            &mut exchange,
            order(Owner::Background, Side::Sell, 10_000, 7),
        );
        assert_eq!(
            exchange.displayed_levels(0),
            (vec![(9_900, 30), (9_800, 5)], vec![(10_000, 7)])
        );
        assert_eq!(exchange.best(0), (Some(9_900), Some(10_000)));
        assert_eq!(exchange.best(1), (None, None));
    }

    #[test]
    fn hidden_orders_trade_but_are_not_shown() {
        let mut exchange = Exchange::new(1);
        let mut hidden = order(Owner::Background, Side::Sell, 10_000, 10);
        hidden.displayed = false;
        let (hidden_ref, _) = enter(&mut exchange, hidden);
        assert_eq!(exchange.displayed_levels(0), (vec![], vec![]));
        let (_, effects) = enter(
            &mut exchange,
            order(Owner::Background, Side::Buy, 10_000, 10),
        );
        assert!(matches!(
            effects[..],
            [Effect::Executed { resting_ref, resting: Order { displayed: false, remaining: 0, .. }, .. }]
                if resting_ref == hidden_ref
        ));
    }

    #[test]
    fn cancel_reduces_or_removes() {
        let mut exchange = Exchange::new(1);
        let (first, _) = enter(
            &mut exchange,
            order(Owner::Background, Side::Buy, 9_900, 100),
        );
        let (second, _) = enter(
            &mut exchange,
            order(Owner::Background, Side::Buy, 9_900, 100),
        );
        let mut out = Vec::new();
        assert!(exchange.cancel(first, 40, Some(b'U'), &mut out));
        assert!(matches!(
            out[..],
            [Effect::Reduced {
                canceled: 60,
                order: Order { remaining: 40, .. },
                reason: Some(b'U'),
                ..
            }]
        ));
        // A reduction keeps priority: the first order still trades first.
        out.clear();
        assert!(
            exchange.cancel(first, 100, None, &mut out),
            "no-op on a larger size"
        );
        assert!(out.is_empty());
        let (_, effects) = enter(
            &mut exchange,
            order(Owner::Background, Side::Sell, 9_900, 50),
        );
        assert_eq!(
            executions(&effects),
            vec![(first, 40, 9_900), (second, 10, 9_900)]
        );
        out.clear();
        assert!(exchange.cancel(second, 0, Some(b'U'), &mut out));
        assert_eq!(exchange.resting_orders(), 0);
        assert_eq!(exchange.best(0), (None, None));
        assert!(!exchange.cancel(second, 0, None, &mut out));
    }

    #[test]
    fn replace_keeps_priority_only_for_same_price_and_no_increase() {
        let mut exchange = Exchange::new(1);
        let (first, _) = enter(
            &mut exchange,
            order(participant(0, "A"), Side::Buy, 9_900, 100),
        );
        let (second, _) = enter(
            &mut exchange,
            order(Owner::Background, Side::Buy, 9_900, 100),
        );
        let mut out = Vec::new();
        // Size decrease at the same price: same reference, same place in the queue.
        let new_ref = exchange.allocate_ref();
        let outcome = exchange.replace(
            first,
            new_ref,
            order(participant(0, "B"), Side::Buy, 9_900, 60),
            &mut out,
        );
        assert_eq!(outcome, Some(ReplaceOutcome::KeptPriority(first)));
        assert!(matches!(
            out[..],
            [Effect::Reduced {
                canceled: 40,
                reason: None,
                ..
            }]
        ));
        assert_eq!(
            exchange.order(first).map(|o| o.owner),
            Some(participant(0, "B"))
        );
        let (_, effects) = enter(
            &mut exchange,
            order(Owner::Background, Side::Sell, 9_900, 10),
        );
        assert_eq!(executions(&effects), vec![(first, 10, 9_900)]);
        // Size increase: new reference, behind the other order.
        out.clear();
        let bigger = exchange.allocate_ref();
        let outcome = exchange.replace(
            first,
            bigger,
            order(participant(0, "C"), Side::Buy, 9_900, 200),
            &mut out,
        );
        assert_eq!(outcome, Some(ReplaceOutcome::Reentered(bigger)));
        assert!(matches!(
            out[..],
            [Effect::Replaced { old_ref, new_ref, order: Order { remaining: 200, .. }, .. }]
                if old_ref == first && new_ref == bigger
        ));
        let (_, effects) = enter(
            &mut exchange,
            order(Owner::Background, Side::Sell, 9_900, 110),
        );
        assert_eq!(
            executions(&effects),
            vec![(second, 100, 9_900), (bigger, 10, 9_900)]
        );
        // Price change: new reference, and the side cannot change.
        out.clear();
        let moved = exchange.allocate_ref();
        let mut new = order(participant(0, "D"), Side::Sell, 9_800, 50);
        new.symbol = 0;
        let outcome = exchange.replace(bigger, moved, new, &mut out);
        assert_eq!(outcome, Some(ReplaceOutcome::Reentered(moved)));
        assert_eq!(
            exchange
                .order(moved)
                .map(|o| (o.side, o.price, o.remaining)),
            Some((Side::Buy, 9_800, 50))
        );
        assert_eq!(exchange.order(bigger), None);
        assert_eq!(exchange.replace(bigger, 999, new, &mut out), None);
    }

    #[test]
    fn a_crossing_replace_removes_then_executes() {
        let mut exchange = Exchange::new(1);
        let (ask, _) = enter(
            &mut exchange,
            order(Owner::Background, Side::Sell, 10_000, 30),
        );
        let (bid, _) = enter(
            &mut exchange,
            order(participant(0, "A"), Side::Buy, 9_900, 50),
        );
        let mut out = Vec::new();
        let new_ref = exchange.allocate_ref();
        exchange.replace(
            bid,
            new_ref,
            order(participant(0, "B"), Side::Buy, 10_000, 50),
            &mut out,
        );
        assert!(
            matches!(out[0], Effect::Reduced { order_ref, canceled: 50, reason: None, .. } if order_ref == bid)
        );
        assert!(
            matches!(out[1], Effect::Executed { resting_ref, shares: 30, .. } if resting_ref == ask)
        );
        assert!(
            matches!(out[2], Effect::Added { order_ref, order: Order { remaining: 20, .. } } if order_ref == new_ref)
        );
    }

    #[test]
    fn replayed_execution_without_aggressor() {
        let mut exchange = Exchange::new(1);
        let (resting, _) = enter(
            &mut exchange,
            order(Owner::Background, Side::Buy, 9_900, 100),
        );
        let mut out = Vec::new();
        assert!(exchange.execute(resting, 150, &mut out));
        assert!(matches!(
            out[..],
            [Effect::Executed {
                aggressor: None,
                shares: 100,
                resting: Order { remaining: 0, .. },
                ..
            }]
        ));
        assert!(!exchange.execute(resting, 1, &mut out));
        assert_eq!(exchange.best(0), (None, None));
    }

    #[test]
    fn stale_references_are_compacted() {
        let mut exchange = Exchange::new(1);
        let (keep, _) = enter(&mut exchange, order(Owner::Background, Side::Buy, 9_900, 1));
        let mut out = Vec::new();
        for _ in 0..1000 {
            let (gone, _) = enter(&mut exchange, order(Owner::Background, Side::Buy, 9_900, 1));
            exchange.cancel(gone, 0, None, &mut out);
        }
        let level_len = exchange.books[0]
            .bids
            .get(&9_900)
            .map(|level| level.queue.len());
        assert!(
            level_len.is_some_and(|len| len <= 2 + COMPACT_SLACK + 1),
            "{level_len:?}"
        );
        let (_, effects) = enter(
            &mut exchange,
            order(Owner::Background, Side::Sell, 9_900, 1),
        );
        assert_eq!(executions(&effects), vec![(keep, 1, 9_900)]);
    }
}
