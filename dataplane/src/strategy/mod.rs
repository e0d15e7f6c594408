//! The strategy API and the built-in strategies.
//!
//! The engine calls a [`Strategy`] on book changes, trades, order events and timer ticks.
//! A strategy answers by pushing [`Intent`]s into an [`IntentBuffer`] allocated once by the
//! engine; it does no I/O, takes no locks and allocates nothing after construction. Every
//! intent then goes through the pre-trade risk gate before anything is sent.
//!
//! All arithmetic is on fixed-point values ([`Price`], [`Qty`]); no `f64` anywhere.
//!
//! Parameters are indexed `i64`s described by [`ParamSpec`] (name, unit, bounds), so the
//! configuration file sets them by name and the control plane sets them by index through
//! the same validation ([`Strategy::set_param`]).

use tickwire_common::{Price, Qty};

use crate::book::{Side, TopOfBook};

pub mod breakout;
pub mod build;
pub mod ma_crossover;
pub mod market_maker;
pub mod mean_reversion;
pub mod window;

/// Index of a traded symbol in the engine (0-based, < `tickwire_link::abi::MAX_SYMBOLS`).
pub type SymbolId = u16;
/// Engine-assigned order id (unique for the session; the venue token is derived from it).
pub type OrderId = u64;

/// Time in force of a new order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeInForce {
    /// Rests until canceled (day order).
    Day,
    /// Immediate or cancel.
    Ioc,
}

/// What a strategy wants done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// A new limit order.
    New {
        /// Symbol.
        symbol: SymbolId,
        /// Buy (`Bid`) or sell (`Ask`).
        side: Side,
        /// Limit price.
        price: Price,
        /// Quantity.
        qty: Qty,
        /// Time in force.
        tif: TimeInForce,
    },
    /// Replace a live order's price and quantity.
    Replace {
        /// The live order.
        order: OrderId,
        /// New limit price.
        price: Price,
        /// New total quantity.
        qty: Qty,
    },
    /// Cancel a live order.
    Cancel {
        /// The live order.
        order: OrderId,
    },
}

/// A fixed-capacity buffer of intents, allocated once by the engine and cleared per event.
#[derive(Debug)]
pub struct IntentBuffer {
    intents: Vec<Intent>,
    dropped: u64,
}

impl IntentBuffer {
    /// A buffer for at most `capacity` intents per event.
    #[must_use]
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            intents: Vec::with_capacity(capacity),
            dropped: 0,
        }
    }

    /// Adds an intent; returns `false` (and counts it) when the buffer is full.
    #[inline]
    pub fn push(&mut self, intent: Intent) -> bool {
        if self.intents.len() == self.intents.capacity() {
            self.dropped += 1;
            return false;
        }
        self.intents.push(intent);
        true
    }

    /// The intents pushed since the last [`clear`](Self::clear).
    #[must_use]
    pub fn as_slice(&self) -> &[Intent] {
        &self.intents
    }

    /// Removes all intents (keeps the allocation).
    #[inline]
    pub fn clear(&mut self) {
        self.intents.clear();
    }

    /// Intents refused because the buffer was full, since creation.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Number of pending intents.
    #[must_use]
    pub fn len(&self) -> usize {
        self.intents.len()
    }

    /// True when no intent is pending.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.intents.is_empty()
    }
}

/// Lifecycle state of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderState {
    /// Sent, not yet acknowledged.
    PendingNew,
    /// Accepted and resting.
    Accepted,
    /// Some quantity executed, the rest resting.
    PartiallyFilled,
    /// Fully executed.
    Filled,
    /// Canceled (by us, the venue, or IOC).
    Canceled,
    /// Refused by the venue.
    Rejected,
    /// A replace was sent and not yet acknowledged.
    PendingReplace,
    /// A cancel was sent and not yet acknowledged.
    PendingCancel,
}

impl OrderState {
    /// True while the order can still trade or is awaiting an answer.
    #[must_use]
    pub const fn is_live(self) -> bool {
        !matches!(self, Self::Filled | Self::Canceled | Self::Rejected)
    }
}

/// A live order as a strategy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderView {
    /// Order id.
    pub id: OrderId,
    /// Symbol.
    pub symbol: SymbolId,
    /// Side.
    pub side: Side,
    /// Limit price the order rests at (a pending replace's price shows once the venue
    /// confirms it).
    pub price: Price,
    /// Quantity still open.
    pub leaves: Qty,
    /// State.
    pub state: OrderState,
}

/// What happened to one of the strategy's orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderEventKind {
    /// The venue accepted it.
    Accepted,
    /// The venue refused it.
    Rejected,
    /// `qty` executed at `price`.
    Filled {
        /// Executed quantity.
        qty: Qty,
        /// Execution price.
        price: Price,
    },
    /// Canceled (fully).
    Canceled,
    /// The replace took effect.
    Replaced,
    /// The risk gate refused the intent (nothing was sent).
    RiskRejected,
}

/// An order event delivered to the strategy that owns the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderEvent {
    /// The order after the event.
    pub order: OrderView,
    /// What happened.
    pub kind: OrderEventKind,
}

/// Market state of one symbol as strategies see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketView {
    /// Symbol.
    pub symbol: SymbolId,
    /// Best bid and ask.
    pub top: TopOfBook,
    /// Last trade price ([`Price::NONE`] if none yet).
    pub last_trade: Price,
    /// False when the book is stale (gap, inconsistent, quiet): do not quote on it.
    pub tradable: bool,
    /// Price increment of the symbol.
    pub tick: Price,
}

/// What a strategy may read when called: the time, its position and its live orders on
/// the symbol at hand.
#[derive(Debug, Clone, Copy)]
pub struct StrategyContext<'a> {
    /// Monotonic time, ns.
    pub now_ns: u64,
    /// Position of the symbol (signed: long positive).
    pub position: Qty,
    /// This strategy's live orders on the symbol.
    pub orders: &'a [OrderView],
}

/// How a parameter is interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamUnit {
    /// A raw [`Price`] (10^-8).
    Price,
    /// A raw [`Qty`] (10^-8).
    Qty,
    /// A count of price ticks.
    Ticks,
    /// A count (samples, orders).
    Count,
    /// Basis points.
    BasisPoints,
    /// Nanoseconds.
    Nanos,
}

/// Description of one parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamSpec {
    /// Name used in the configuration file and the API.
    pub name: &'static str,
    /// Unit.
    pub unit: ParamUnit,
    /// Smallest allowed value.
    pub min: i64,
    /// Largest allowed value.
    pub max: i64,
}

/// Why a parameter was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// No parameter with that index or name.
    #[error("unknown parameter")]
    Unknown,
    /// Outside `[min, max]`.
    #[error("parameter {name} out of range [{min}, {max}]")]
    OutOfRange {
        /// Parameter name.
        name: &'static str,
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
}

/// Checks `value` against `specs[index]`.
///
/// # Errors
/// [`ParamError`] if the index is unknown or the value out of range.
pub fn check_param(specs: &[ParamSpec], index: usize, value: i64) -> Result<(), ParamError> {
    let spec = specs.get(index).ok_or(ParamError::Unknown)?;
    if value < spec.min || value > spec.max {
        return Err(ParamError::OutOfRange {
            name: spec.name,
            min: spec.min,
            max: spec.max,
        });
    }
    Ok(())
}

/// A trading strategy. Called from the engine's pinned loop: no allocation, no I/O, no
/// locks, bounded work per call.
pub trait Strategy: Send {
    /// Short name (configuration `kind`).
    fn name(&self) -> &'static str;

    /// The symbols this instance trades.
    fn symbols(&self) -> &[SymbolId];

    /// The book of one of [`symbols`](Self::symbols) changed at the top.
    fn on_book(&mut self, ctx: &StrategyContext<'_>, market: &MarketView, out: &mut IntentBuffer);

    /// A trade printed on one of the symbols (from the feed).
    fn on_trade(
        &mut self,
        ctx: &StrategyContext<'_>,
        market: &MarketView,
        price: Price,
        qty: Qty,
        out: &mut IntentBuffer,
    ) {
        let _ = (ctx, market, price, qty, out);
    }

    /// One of the strategy's orders changed.
    fn on_order_event(
        &mut self,
        ctx: &StrategyContext<'_>,
        event: &OrderEvent,
        out: &mut IntentBuffer,
    ) {
        let _ = (ctx, event, out);
    }

    /// The parameter descriptions, in index order.
    fn param_specs(&self) -> &'static [ParamSpec];

    /// Current value of parameter `index` (0 if unknown).
    fn param(&self, index: usize) -> i64;

    /// Sets parameter `index` after validation.
    ///
    /// # Errors
    /// [`ParamError`] if the index is unknown or the value out of range; nothing changes.
    fn set_param(&mut self, index: usize, value: i64) -> Result<(), ParamError>;

    /// Cancel intents for every live order (used when the strategy is disabled).
    fn cancel_all(&mut self, ctx: &StrategyContext<'_>, out: &mut IntentBuffer) {
        for order in ctx.orders {
            if order.state.is_live() && order.state != OrderState::PendingCancel {
                out.push(Intent::Cancel { order: order.id });
            }
        }
    }
}

/// Looks up a parameter index by name.
#[must_use]
pub fn param_index(specs: &[ParamSpec], name: &str) -> Option<usize> {
    specs.iter().position(|spec| spec.name == name)
}
