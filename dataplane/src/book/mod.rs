//! Order books, usable from the engine loop and from tools.
//!
//! - [`l3`]: order-by-order books for ITCH feeds, one per subscribed stock locate.
//! - [`l2`]: price-level books for Binance depth streams, with the documented
//!   snapshot + diff synchronisation.
//!
//! Both allocate at construction only. A book that must not be traded on says why through
//! [`Staleness`]; strategies and the risk gate rely on it.

pub mod l2;
pub mod l3;

use tickwire_common::{Price, Qty};

/// Book side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Side {
    /// Buy orders.
    Bid = 0,
    /// Sell orders.
    Ask = 1,
}

impl Side {
    /// The other side.
    #[must_use]
    pub const fn opposite(self) -> Self {
        match self {
            Self::Bid => Self::Ask,
            Self::Ask => Self::Bid,
        }
    }
}

/// Best bid and ask. An empty side has price [`Price::NONE`] and zero quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopOfBook {
    /// Best bid price.
    pub bid_price: Price,
    /// Quantity at the best bid.
    pub bid_qty: Qty,
    /// Best ask price.
    pub ask_price: Price,
    /// Quantity at the best ask.
    pub ask_qty: Qty,
}

impl TopOfBook {
    /// Both sides empty.
    pub const EMPTY: Self = Self {
        bid_price: Price::NONE,
        bid_qty: Qty::ZERO,
        ask_price: Price::NONE,
        ask_qty: Qty::ZERO,
    };

    /// True when both sides have a price.
    #[must_use]
    pub const fn is_two_sided(&self) -> bool {
        self.bid_price.is_some() && self.ask_price.is_some()
    }
}

impl Default for TopOfBook {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// Why a book must not be traded on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staleness {
    /// Messages were lost and not (yet) recovered.
    Gap,
    /// The book missed data it cannot repair by itself (unknown order reference, full
    /// table): it is inconsistent until a reset.
    Inconsistent,
    /// No update for longer than the configured age.
    Quiet,
    /// Not yet synchronised (L2: no snapshot applied).
    Unsynced,
}
