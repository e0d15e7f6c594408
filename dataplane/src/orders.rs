//! Order manager: order slots, tokens, the order state machine, positions and PnL.
//!
//! - Orders live in a slab of [`OrderConfig::max_orders`] slots; an [`OrderId`] is
//!   `counter << 16 | slot`, so ids are unique for the session and map to their slot in
//!   O(1); events for a recycled slot are recognised as stale.
//! - Every new order and every replace gets a fresh token number (see [`tickwire_common::token`]),
//!   mapped to its slot by an open-addressing table; venue events find orders by token.
//! - State machine: `PendingNew → Accepted → PartiallyFilled → Filled`, with
//!   `PendingReplace`/`PendingCancel` on the way and `Rejected`/`Canceled` as ends.
//! - Positions per symbol keep an exact cost basis (`Σ signed qty × price`, `i128`) instead
//!   of an average price, so unrealized PnL (`position × mark − cost`) is exact, and
//!   realized PnL uses average cost (one division per closing fill). Per-symbol PnL and
//!   gross exposure are cached so totals are read without a loop or a division.
//!
//! Everything is allocated in [`OrderManager::new`].

use tickwire_common::{
    FIXED_SCALE, Price, Qty,
    token::{self, TokenBytes},
};

use crate::{
    book::Side,
    strategy::{OrderEvent, OrderEventKind, OrderId, OrderState, OrderView, SymbolId},
};

const SLOT_BITS: u32 = 16;
const SLOT_MASK: u64 = (1 << SLOT_BITS) - 1;
const NO_SLOT: u32 = u32::MAX;
const EMPTY_TOKEN: u64 = u64::MAX;

/// Sizes, fixed at start-up.
#[derive(Debug, Clone, Copy)]
pub struct OrderConfig {
    /// Live orders at once (at most 65536).
    pub max_orders: usize,
    /// Live orders per symbol.
    pub max_orders_per_symbol: usize,
    /// Symbols.
    pub symbols: usize,
}

impl Default for OrderConfig {
    fn default() -> Self {
        Self {
            max_orders: 4096,
            max_orders_per_symbol: 256,
            symbols: 32,
        }
    }
}

/// Why the order manager refused something. Small and `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// No free order slot (or the symbol's list is full).
    #[error("no free order slot")]
    Full,
    /// The order is unknown or no longer live.
    #[error("unknown or finished order")]
    UnknownOrder,
    /// The order cannot be replaced or canceled in its current state.
    #[error("order busy (a replace or cancel is pending)")]
    Busy,
    /// A venue event names a token we did not issue.
    #[error("unknown token")]
    UnknownToken,
    /// Symbol index out of range.
    #[error("unknown symbol")]
    UnknownSymbol,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    id: OrderId,
    strategy: u8,
    symbol: SymbolId,
    side: Side,
    state: OrderState,
    price: Price,
    leaves: Qty,
    filled: Qty,
    token_number: u64,
    pending_token: u64,
    pending_price: Price,
    pending_qty: Qty,
    trigger_seq: u64,
    venue_ref: u64,
}

const FREE_SLOT: Slot = Slot {
    id: 0,
    strategy: 0,
    symbol: 0,
    side: Side::Bid,
    state: OrderState::Canceled,
    price: Price::ZERO,
    leaves: Qty::ZERO,
    filled: Qty::ZERO,
    token_number: EMPTY_TOKEN,
    pending_token: EMPTY_TOKEN,
    pending_price: Price::ZERO,
    pending_qty: Qty::ZERO,
    trigger_seq: 0,
    venue_ref: 0,
};

/// Token number → slot, open addressing with backward-shift deletion.
#[derive(Debug)]
struct TokenTable {
    keys: Box<[u64]>,
    slots: Box<[u32]>,
    mask: usize,
    shift: u32,
}

impl TokenTable {
    fn new(entries: usize) -> Self {
        let capacity = (entries.max(8) * 2).next_power_of_two();
        Self {
            keys: vec![EMPTY_TOKEN; capacity].into_boxed_slice(),
            slots: vec![NO_SLOT; capacity].into_boxed_slice(),
            mask: capacity - 1,
            shift: 64 - capacity.trailing_zeros(),
        }
    }

    #[inline]
    fn home(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    #[inline]
    fn get(&self, key: u64) -> Option<u32> {
        let mut index = self.home(key);
        loop {
            if self.keys[index] == key {
                return Some(self.slots[index]);
            }
            if self.keys[index] == EMPTY_TOKEN {
                return None;
            }
            index = (index + 1) & self.mask;
        }
    }

    /// Inserts; the caller guarantees at most half the capacity is used (two tokens per
    /// order slot at most, and the table holds four per slot).
    #[inline]
    fn insert(&mut self, key: u64, slot: u32) {
        let mut index = self.home(key);
        while self.keys[index] != EMPTY_TOKEN && self.keys[index] != key {
            index = (index + 1) & self.mask;
        }
        self.keys[index] = key;
        self.slots[index] = slot;
    }

    #[inline]
    fn remove(&mut self, key: u64) {
        let mut index = self.home(key);
        loop {
            if self.keys[index] == EMPTY_TOKEN {
                return;
            }
            if self.keys[index] == key {
                break;
            }
            index = (index + 1) & self.mask;
        }
        let mut next = (index + 1) & self.mask;
        while self.keys[next] != EMPTY_TOKEN {
            let home = self.home(self.keys[next]);
            if (next.wrapping_sub(home) & self.mask) >= (next.wrapping_sub(index) & self.mask) {
                self.keys[index] = self.keys[next];
                self.slots[index] = self.slots[next];
                index = next;
            }
            next = (next + 1) & self.mask;
        }
        self.keys[index] = EMPTY_TOKEN;
        self.slots[index] = NO_SLOT;
    }
}

/// Position and PnL of one symbol. Amounts in "scaled" units are `price_raw × qty_raw`
/// (10^-16 currency units), kept in `i128` so nothing rounds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Position {
    /// Signed position (long positive).
    pub qty: Qty,
    /// Σ signed qty × price of the open position (scaled).
    cost_scaled: i128,
    /// Realized PnL (scaled).
    realized_scaled: i128,
    /// Last mark price (mid or last trade); [`Price::NONE`] until known.
    pub mark: Price,
    /// Quantity of live buy orders.
    pub open_buy: Qty,
    /// Quantity of live sell orders.
    pub open_sell: Qty,
    /// Live orders.
    pub open_orders: u32,
    /// Σ price × leaves of live orders (scaled).
    open_notional_scaled: i128,
    /// Cached `realized + qty × mark − cost` (scaled).
    pnl_scaled: i128,
    /// Cached `|qty| × mark` (scaled).
    gross_scaled: i128,
}

fn scaled(price: Price, qty: Qty) -> i128 {
    i128::from(price.raw()) * i128::from(qty.raw())
}

/// Scaled (10^-16) to raw (10^-8) currency, truncating toward zero, saturating.
#[must_use]
pub fn scaled_to_raw(value: i128) -> i64 {
    let raw = value / i128::from(FIXED_SCALE);
    i64::try_from(raw).unwrap_or(if raw < 0 { i64::MIN + 1 } else { i64::MAX })
}

impl Position {
    fn mark_or(&self, fallback: Price) -> Price {
        if self.mark.is_some() {
            self.mark
        } else {
            fallback
        }
    }

    fn refresh(&mut self) {
        let mark = self.mark;
        if mark.is_some() {
            self.pnl_scaled = self.realized_scaled + scaled(mark, self.qty) - self.cost_scaled;
            self.gross_scaled = scaled(mark, self.qty).abs();
        } else {
            self.pnl_scaled = self.realized_scaled;
            self.gross_scaled = self.cost_scaled.abs();
        }
    }

    /// Applies a fill of `qty` at `price` on `side`.
    fn fill(&mut self, side: Side, qty: Qty, price: Price) {
        let signed = match side {
            Side::Bid => qty.raw(),
            Side::Ask => -qty.raw(),
        };
        let position = self.qty.raw();
        if position == 0 || (position > 0) == (signed > 0) {
            // Opening or adding.
            self.cost_scaled += i128::from(signed) * i128::from(price.raw());
        } else {
            // Closing (and possibly flipping): average cost of the closed part.
            let closed = signed.abs().min(position.abs());
            let removed_cost = self.cost_scaled * i128::from(closed) / i128::from(position.abs());
            let closed_signed = if position > 0 { closed } else { -closed };
            self.realized_scaled +=
                i128::from(closed_signed) * i128::from(price.raw()) - removed_cost;
            self.cost_scaled -= removed_cost;
            let opened = signed.abs() - closed;
            if opened > 0 {
                let opened_signed = if signed > 0 { opened } else { -opened };
                self.cost_scaled += i128::from(opened_signed) * i128::from(price.raw());
            }
        }
        self.qty = Qty::from_raw(position + signed);
        if self.qty.raw() == 0 {
            self.cost_scaled = 0;
        }
        self.mark = self.mark_or(price);
        self.refresh();
    }

    /// Realized PnL (raw currency, 10^-8).
    #[must_use]
    pub fn realized_pnl(&self) -> i64 {
        scaled_to_raw(self.realized_scaled)
    }

    /// Unrealized PnL at the mark (raw currency).
    #[must_use]
    pub fn unrealized_pnl(&self) -> i64 {
        scaled_to_raw(self.pnl_scaled - self.realized_scaled)
    }

    /// Average entry price of the open position ([`Price::ZERO`] when flat).
    #[must_use]
    pub fn average_price(&self) -> Price {
        if self.qty.raw() == 0 {
            return Price::ZERO;
        }
        Price::from_raw(
            i64::try_from(self.cost_scaled / i128::from(self.qty.raw())).unwrap_or(i64::MAX),
        )
    }

    /// Notional of live orders (scaled).
    #[must_use]
    pub fn open_notional_scaled(&self) -> i128 {
        self.open_notional_scaled
    }
}

/// What a venue event did, for the engine to audit and forward to the owning strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// The strategy that owns the order.
    pub strategy: u8,
    /// The event as the strategy sees it.
    pub event: OrderEvent,
    /// The slot was freed (the order ended).
    pub finished: bool,
}

/// The order manager of one engine.
#[derive(Debug)]
pub struct OrderManager {
    slots: Box<[Slot]>,
    free: Vec<u32>,
    tokens: TokenTable,
    per_symbol: Vec<Vec<u32>>,
    positions: Vec<Position>,
    next_counter: u64,
    next_token: u64,
    total_pnl_scaled: i128,
    total_gross_scaled: i128,
    live: usize,
}

impl OrderManager {
    /// Numbers this session's tokens from `first` on (a restarted data plane must not reuse
    /// the token numbers of its previous run: venues reject duplicate tokens for the day).
    /// Only before the first order; later calls are ignored.
    pub fn start_tokens_at(&mut self, first: u64) {
        if self.next_token == 1 && self.live == 0 {
            self.next_token = first.clamp(1, token::HALF_RANGE - 1);
        }
    }

    /// Allocates slots, tables and positions.
    ///
    /// # Panics
    /// If `max_orders` exceeds 65536 (a configuration error caught by validation).
    #[must_use]
    pub fn new(config: OrderConfig) -> Self {
        assert!(
            config.max_orders <= 1 << SLOT_BITS,
            "max_orders above 65536"
        );
        let max_orders = config.max_orders.max(1);
        Self {
            slots: vec![FREE_SLOT; max_orders].into_boxed_slice(),
            // Highest index last, so slot 0 is used first.
            free: (0..u32::try_from(max_orders).unwrap_or(u32::MAX))
                .rev()
                .collect(),
            tokens: TokenTable::new(max_orders * 2),
            per_symbol: (0..config.symbols)
                .map(|_| Vec::with_capacity(config.max_orders_per_symbol))
                .collect(),
            positions: vec![
                Position {
                    mark: Price::NONE,
                    ..Position::default()
                };
                config.symbols
            ],
            next_counter: 1,
            next_token: 1,
            total_pnl_scaled: 0,
            total_gross_scaled: 0,
            live: 0,
        }
    }

    fn slot_of(&self, id: OrderId) -> Option<usize> {
        let index = (id & SLOT_MASK) as usize;
        (self.slots.get(index)?.id == id && id != 0).then_some(index)
    }

    fn view(slot: &Slot) -> OrderView {
        OrderView {
            id: slot.id,
            symbol: slot.symbol,
            side: slot.side,
            price: slot.price,
            leaves: slot.leaves,
            state: slot.state,
        }
    }

    /// Live orders.
    #[must_use]
    pub fn live_count(&self) -> usize {
        self.live
    }

    /// The position of `symbol`.
    #[must_use]
    pub fn position(&self, symbol: SymbolId) -> Option<&Position> {
        self.positions.get(usize::from(symbol))
    }

    /// Total PnL (realized + unrealized at the marks) over all symbols, scaled.
    #[must_use]
    pub fn total_pnl_scaled(&self) -> i128 {
        self.total_pnl_scaled
    }

    /// Σ |position| × mark over all symbols, scaled.
    #[must_use]
    pub fn gross_exposure_scaled(&self) -> i128 {
        self.total_gross_scaled
    }

    fn update_position(&mut self, symbol: usize, change: impl FnOnce(&mut Position)) {
        let position = &mut self.positions[symbol];
        let (pnl, gross) = (position.pnl_scaled, position.gross_scaled);
        change(position);
        self.total_pnl_scaled += position.pnl_scaled - pnl;
        self.total_gross_scaled += position.gross_scaled - gross;
    }

    /// Sets the mark of `symbol` (mid or last trade), updating PnL and exposure.
    #[inline]
    pub fn mark(&mut self, symbol: SymbolId, price: Price) {
        let index = usize::from(symbol);
        if index >= self.positions.len() || !price.is_some() {
            return;
        }
        self.update_position(index, |position| {
            position.mark = price;
            position.refresh();
        });
    }

    /// Calls `visit` with each live order of `symbol`.
    pub fn for_each_live(&self, symbol: SymbolId, mut visit: impl FnMut(&OrderView, u8)) {
        if let Some(list) = self.per_symbol.get(usize::from(symbol)) {
            for &index in list {
                let slot = &self.slots[index as usize];
                visit(&Self::view(slot), slot.strategy);
            }
        }
    }

    /// Copies the live orders of `strategy` on `symbol` into `out`; returns the count.
    pub fn orders_of(&self, strategy: u8, symbol: SymbolId, out: &mut [OrderView]) -> usize {
        let mut written = 0;
        self.for_each_live(symbol, |order, owner| {
            if owner == strategy && written < out.len() {
                out[written] = *order;
                written += 1;
            }
        });
        written
    }

    /// The order, if live.
    #[must_use]
    pub fn order(&self, id: OrderId) -> Option<(OrderView, u8)> {
        let slot = &self.slots[self.slot_of(id)?];
        Some((Self::view(slot), slot.strategy))
    }

    /// The token an order currently trades under (the pending one during a replace is
    /// [`pending_token`](Self::pending_token)).
    #[must_use]
    pub fn token(&self, id: OrderId) -> Option<TokenBytes> {
        let slot = &self.slots[self.slot_of(id)?];
        Some(token::encode(slot.trigger_seq, slot.token_number))
    }

    /// The replacement token of a pending replace.
    #[must_use]
    pub fn pending_token(&self, id: OrderId) -> Option<TokenBytes> {
        let slot = &self.slots[self.slot_of(id)?];
        (slot.pending_token != EMPTY_TOKEN)
            .then(|| token::encode(slot.trigger_seq, slot.pending_token))
    }

    /// Records a new order about to be sent; returns its id and token.
    ///
    /// # Errors
    /// [`OrderError::Full`] without a free slot; [`OrderError::UnknownSymbol`].
    #[inline]
    pub fn new_order(
        &mut self,
        strategy: u8,
        symbol: SymbolId,
        side: Side,
        price: Price,
        qty: Qty,
        trigger_seq: u64,
    ) -> Result<(OrderId, TokenBytes), OrderError> {
        let symbol_index = usize::from(symbol);
        let list = self
            .per_symbol
            .get(symbol_index)
            .ok_or(OrderError::UnknownSymbol)?;
        if list.len() == list.capacity() {
            return Err(OrderError::Full);
        }
        let index = self.free.pop().ok_or(OrderError::Full)?;
        let id = (self.next_counter << SLOT_BITS) | u64::from(index);
        self.next_counter += 1;
        let token_number = self.next_token;
        self.next_token += 1;
        self.slots[index as usize] = Slot {
            id,
            strategy,
            symbol,
            side,
            state: OrderState::PendingNew,
            price,
            leaves: qty,
            filled: Qty::ZERO,
            token_number,
            pending_token: EMPTY_TOKEN,
            pending_price: Price::ZERO,
            pending_qty: Qty::ZERO,
            trigger_seq,
            venue_ref: 0,
        };
        self.tokens.insert(token_number, index);
        self.per_symbol[symbol_index].push(index);
        self.live += 1;
        self.update_position(symbol_index, |position| {
            match side {
                Side::Bid => position.open_buy = position.open_buy.saturating_add(qty),
                Side::Ask => position.open_sell = position.open_sell.saturating_add(qty),
            }
            position.open_orders += 1;
            position.open_notional_scaled += scaled(price, qty);
        });
        Ok((id, token::encode(trigger_seq, token_number)))
    }

    /// Records a replace about to be sent; returns (current token, replacement token).
    ///
    /// # Errors
    /// [`OrderError::UnknownOrder`] or [`OrderError::Busy`].
    pub fn replace(
        &mut self,
        id: OrderId,
        price: Price,
        qty: Qty,
        trigger_seq: u64,
    ) -> Result<(TokenBytes, TokenBytes), OrderError> {
        let index = self.slot_of(id).ok_or(OrderError::UnknownOrder)?;
        let slot = &mut self.slots[index];
        if !matches!(
            slot.state,
            OrderState::Accepted | OrderState::PartiallyFilled
        ) {
            return Err(OrderError::Busy);
        }
        let current = token::encode(slot.trigger_seq, slot.token_number);
        let token_number = self.next_token;
        self.next_token += 1;
        slot.pending_token = token_number;
        slot.pending_price = price;
        slot.pending_qty = qty;
        slot.state = OrderState::PendingReplace;
        // The replacement carries the new trigger in its token.
        slot.trigger_seq = trigger_seq;
        self.tokens.insert(token_number, index as u32);
        Ok((current, token::encode(trigger_seq, token_number)))
    }

    /// Records a cancel about to be sent; returns the token to cancel.
    ///
    /// # Errors
    /// [`OrderError::UnknownOrder`] or [`OrderError::Busy`] (cancel already pending).
    pub fn cancel(&mut self, id: OrderId) -> Result<TokenBytes, OrderError> {
        let index = self.slot_of(id).ok_or(OrderError::UnknownOrder)?;
        let slot = &mut self.slots[index];
        match slot.state {
            OrderState::PendingCancel => Err(OrderError::Busy),
            state if !state.is_live() => Err(OrderError::UnknownOrder),
            _ => {
                slot.state = OrderState::PendingCancel;
                Ok(token::encode(slot.trigger_seq, slot.token_number))
            }
        }
    }

    fn lookup(&self, token: &TokenBytes) -> Result<usize, OrderError> {
        let number = token::token_number(token).ok_or(OrderError::UnknownToken)?;
        self.tokens
            .get(number)
            .map(|slot| slot as usize)
            .ok_or(OrderError::UnknownToken)
    }

    fn finish(&mut self, index: usize) {
        let slot = self.slots[index];
        self.tokens.remove(slot.token_number);
        if slot.pending_token != EMPTY_TOKEN {
            self.tokens.remove(slot.pending_token);
        }
        if let Some(list) = self.per_symbol.get_mut(usize::from(slot.symbol))
            && let Some(position) = list.iter().position(|&entry| entry as usize == index)
        {
            list.swap_remove(position);
        }
        self.update_position(usize::from(slot.symbol), |position| {
            position.open_orders = position.open_orders.saturating_sub(1);
        });
        self.slots[index].id = 0;
        self.live -= 1;
        // `index` < max_orders ≤ 65536.
        self.free.push(index as u32);
    }

    /// Adjusts open-order totals by `delta` leaves at `price`.
    fn adjust_open(&mut self, index: usize, price: Price, delta: Qty) {
        let slot = self.slots[index];
        self.update_position(usize::from(slot.symbol), |position| {
            match slot.side {
                Side::Bid => position.open_buy = position.open_buy.saturating_add(delta),
                Side::Ask => position.open_sell = position.open_sell.saturating_add(delta),
            }
            position.open_notional_scaled += scaled(price, delta);
        });
    }

    fn applied(&self, index: usize, kind: OrderEventKind, finished: bool) -> Applied {
        let slot = &self.slots[index];
        Applied {
            strategy: slot.strategy,
            event: OrderEvent {
                order: Self::view(slot),
                kind,
            },
            finished,
        }
    }

    /// The venue accepted the order with `token`.
    ///
    /// # Errors
    /// [`OrderError::UnknownToken`].
    pub fn on_accepted(
        &mut self,
        token: &TokenBytes,
        venue_ref: u64,
    ) -> Result<Applied, OrderError> {
        let index = self.lookup(token)?;
        let slot = &mut self.slots[index];
        slot.venue_ref = venue_ref;
        if slot.state == OrderState::PendingNew {
            slot.state = OrderState::Accepted;
        }
        Ok(self.applied(index, OrderEventKind::Accepted, false))
    }

    /// The venue rejected the order with `token`.
    ///
    /// # Errors
    /// [`OrderError::UnknownToken`].
    pub fn on_rejected(&mut self, token: &TokenBytes) -> Result<Applied, OrderError> {
        let index = self.lookup(token)?;
        let slot = self.slots[index];
        if slot.pending_token != EMPTY_TOKEN
            && token::token_number(token) == Some(slot.pending_token)
        {
            // A rejected replace: the original order stays as it was.
            let slot = &mut self.slots[index];
            self.tokens.remove(slot.pending_token);
            slot.pending_token = EMPTY_TOKEN;
            slot.state = if slot.filled.is_positive() {
                OrderState::PartiallyFilled
            } else {
                OrderState::Accepted
            };
            return Ok(self.applied(index, OrderEventKind::Rejected, false));
        }
        self.adjust_open(index, slot.price, slot.leaves.neg());
        self.slots[index].state = OrderState::Rejected;
        self.slots[index].leaves = Qty::ZERO;
        let applied = self.applied(index, OrderEventKind::Rejected, true);
        self.finish(index);
        Ok(applied)
    }

    /// `qty` of the order with `token` executed at `price`.
    ///
    /// # Errors
    /// [`OrderError::UnknownToken`].
    pub fn on_executed(
        &mut self,
        token: &TokenBytes,
        qty: Qty,
        price: Price,
    ) -> Result<Applied, OrderError> {
        let index = self.lookup(token)?;
        let slot = self.slots[index];
        let qty = if qty > slot.leaves { slot.leaves } else { qty };
        self.adjust_open(index, slot.price, qty.neg());
        self.update_position(usize::from(slot.symbol), |position| {
            position.fill(slot.side, qty, price);
        });
        let slot = &mut self.slots[index];
        slot.leaves = slot.leaves.saturating_sub(qty);
        slot.filled = slot.filled.saturating_add(qty);
        let finished = slot.leaves.raw() == 0;
        slot.state = if finished {
            OrderState::Filled
        } else if matches!(
            slot.state,
            OrderState::PendingCancel | OrderState::PendingReplace
        ) {
            slot.state
        } else {
            OrderState::PartiallyFilled
        };
        let applied = self.applied(index, OrderEventKind::Filled { qty, price }, finished);
        if finished {
            self.finish(index);
        }
        Ok(applied)
    }

    /// `qty` of the order with `token` was canceled (all of it when it reaches zero).
    ///
    /// # Errors
    /// [`OrderError::UnknownToken`].
    pub fn on_canceled(&mut self, token: &TokenBytes, qty: Qty) -> Result<Applied, OrderError> {
        let index = self.lookup(token)?;
        let slot = self.slots[index];
        let qty = if qty > slot.leaves { slot.leaves } else { qty };
        self.adjust_open(index, slot.price, qty.neg());
        let slot = &mut self.slots[index];
        slot.leaves = slot.leaves.saturating_sub(qty);
        let finished = slot.leaves.raw() == 0;
        if finished {
            slot.state = OrderState::Canceled;
        } else if slot.state == OrderState::PendingCancel {
            slot.state = OrderState::PartiallyFilled;
        }
        let applied = self.applied(index, OrderEventKind::Canceled, finished);
        if finished {
            self.finish(index);
        }
        Ok(applied)
    }

    /// The venue refused a cancel: the order is live as before.
    ///
    /// # Errors
    /// [`OrderError::UnknownToken`].
    pub fn on_cancel_rejected(&mut self, token: &TokenBytes) -> Result<Applied, OrderError> {
        let index = self.lookup(token)?;
        let slot = &mut self.slots[index];
        if slot.state == OrderState::PendingCancel {
            slot.state = if slot.filled.is_positive() {
                OrderState::PartiallyFilled
            } else {
                OrderState::Accepted
            };
        }
        Ok(self.applied(index, OrderEventKind::Rejected, false))
    }

    /// The replace to `new_token` took effect: `leaves` open at `price`.
    ///
    /// # Errors
    /// [`OrderError::UnknownToken`].
    pub fn on_replaced(
        &mut self,
        new_token: &TokenBytes,
        price: Price,
        leaves: Qty,
        venue_ref: u64,
    ) -> Result<Applied, OrderError> {
        let index = self.lookup(new_token)?;
        let slot = self.slots[index];
        self.adjust_open(index, slot.price, slot.leaves.neg());
        self.adjust_open(index, price, leaves);
        let slot = &mut self.slots[index];
        self.tokens.remove(slot.token_number);
        slot.token_number = slot.pending_token;
        slot.pending_token = EMPTY_TOKEN;
        slot.price = price;
        slot.leaves = leaves;
        slot.venue_ref = venue_ref;
        slot.state = OrderState::Accepted;
        let finished = leaves.raw() == 0;
        let applied = self.applied(index, OrderEventKind::Replaced, finished);
        if finished {
            self.finish(index);
        }
        Ok(applied)
    }

    /// Releases an order that was recorded but never sent (the audit ring refused it).
    pub fn forget(&mut self, id: OrderId) {
        if let Some(index) = self.slot_of(id) {
            let slot = self.slots[index];
            self.adjust_open(index, slot.price, slot.leaves.neg());
            self.finish(index);
        }
    }

    /// Ids of every live order (for cancel-all); returns the count written.
    pub fn live_orders(&self, out: &mut [OrderId]) -> usize {
        let mut written = 0;
        for slot in self.slots.iter() {
            if slot.id != 0 && written < out.len() {
                out[written] = slot.id;
                written += 1;
            }
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn px(text: &str) -> Price {
        Price::from_decimal(text.as_bytes()).unwrap()
    }

    fn qty(shares: u32) -> Qty {
        Qty::from_shares(shares)
    }

    fn manager() -> OrderManager {
        OrderManager::new(OrderConfig {
            max_orders: 8,
            max_orders_per_symbol: 4,
            symbols: 2,
        })
    }

    #[test]
    fn lifecycle_new_accept_partial_fill_replace_cancel() {
        let mut om = manager();
        let (id, token) = om
            .new_order(3, 0, Side::Bid, px("10.00"), qty(100), 42)
            .unwrap();
        assert_eq!(token::trigger_seq(&token), Some(42));
        assert_eq!(om.order(id).unwrap().0.state, OrderState::PendingNew);
        assert_eq!(om.position(0).unwrap().open_buy, qty(100));
        let accepted = om.on_accepted(&token, 777).unwrap();
        assert_eq!(accepted.strategy, 3);
        assert_eq!(accepted.event.order.state, OrderState::Accepted);
        let filled = om.on_executed(&token, qty(40), px("10.00")).unwrap();
        assert_eq!(filled.event.order.state, OrderState::PartiallyFilled);
        assert_eq!(filled.event.order.leaves, qty(60));
        assert_eq!(om.position(0).unwrap().qty, qty(40));
        assert_eq!(om.position(0).unwrap().open_buy, qty(60));

        let (old, new) = om.replace(id, px("10.05"), qty(60), 43).unwrap();
        assert_eq!(old, token);
        assert_eq!(
            om.replace(id, px("10.06"), qty(60), 44),
            Err(OrderError::Busy)
        );
        let replaced = om.on_replaced(&new, px("10.05"), qty(60), 778).unwrap();
        assert_eq!(replaced.event.order.price, px("10.05"));
        assert_eq!(replaced.event.order.state, OrderState::Accepted);
        assert_eq!(om.on_accepted(&old, 0), Err(OrderError::UnknownToken));

        let cancel_token = om.cancel(id).unwrap();
        assert_eq!(cancel_token, new);
        assert_eq!(om.cancel(id), Err(OrderError::Busy));
        let canceled = om.on_canceled(&new, qty(60)).unwrap();
        assert!(canceled.finished);
        assert_eq!(om.live_count(), 0);
        assert!(om.order(id).is_none());
        let position = om.position(0).unwrap();
        assert_eq!((position.open_buy, position.open_orders), (Qty::ZERO, 0));
        assert_eq!(position.open_notional_scaled(), 0);
    }

    #[test]
    fn a_restarted_session_numbers_tokens_after_the_previous_run() {
        let base = crate::engine::session_token_base(12 * 3_600_000);
        let mut om = manager();
        om.start_tokens_at(base);
        let (id, token) = om.new_order(0, 0, Side::Bid, px("1"), qty(1), 7).unwrap();
        assert_eq!(token::token_number(&token), Some(base));
        om.on_accepted(&token, 1).expect("our token is found again");
        om.start_tokens_at(5);
        let (_, replacement) = om.replace(id, px("2"), qty(1), 8).unwrap();
        assert_eq!(
            token::token_number(&replacement),
            Some(base + 1),
            "ignored once orders exist"
        );
        // The last start of the day still leaves room for 600M tokens in a token half.
        let last = crate::engine::session_token_base(86_400_000 - 1);
        assert!(last + 600_000_000 < token::HALF_RANGE);
        assert!(last > base);
    }

    #[test]
    fn rejected_orders_and_replaces() {
        let mut om = manager();
        let (id, token) = om.new_order(0, 1, Side::Ask, px("5"), qty(10), 0).unwrap();
        let rejected = om.on_rejected(&token).unwrap();
        assert!(rejected.finished);
        assert_eq!(rejected.event.order.state, OrderState::Rejected);
        assert!(om.order(id).is_none());
        let (id, token) = om.new_order(0, 1, Side::Ask, px("5"), qty(10), 0).unwrap();
        om.on_accepted(&token, 1).unwrap();
        let (_, replacement) = om.replace(id, px("5.5"), qty(10), 0).unwrap();
        let refused = om.on_rejected(&replacement).unwrap();
        assert!(!refused.finished);
        assert_eq!(om.order(id).unwrap().0.price, px("5"));
        assert_eq!(om.order(id).unwrap().0.state, OrderState::Accepted);
        // Stale ids of recycled slots are not confused with new orders.
        om.on_canceled(&token, qty(10)).unwrap();
        let (fresh, _) = om.new_order(0, 1, Side::Ask, px("5"), qty(1), 0).unwrap();
        assert_ne!(fresh, id);
        assert!(om.order(id).is_none());
    }

    #[test]
    fn slots_run_out_cleanly() {
        let mut om = manager();
        for _ in 0..4 {
            om.new_order(0, 0, Side::Bid, px("1"), qty(1), 0).unwrap();
        }
        assert_eq!(
            om.new_order(0, 0, Side::Bid, px("1"), qty(1), 0),
            Err(OrderError::Full),
            "per-symbol list full"
        );
        assert_eq!(
            om.new_order(0, 9, Side::Bid, px("1"), qty(1), 0),
            Err(OrderError::UnknownSymbol)
        );
    }

    #[test]
    fn pnl_with_partial_closes_and_flips() {
        let mut om = manager();
        let fill = |om: &mut OrderManager, side, shares, price: &str| {
            let (_, token) = om.new_order(0, 0, side, px(price), qty(shares), 0).unwrap();
            om.on_executed(&token, qty(shares), px(price)).unwrap();
        };
        fill(&mut om, Side::Bid, 100, "10");
        fill(&mut om, Side::Bid, 100, "12"); // long 200 @ 11
        assert_eq!(om.position(0).unwrap().average_price(), px("11"));
        fill(&mut om, Side::Ask, 50, "13"); // realize 50 * 2 = 100
        let position = *om.position(0).unwrap();
        assert_eq!(position.qty, qty(150));
        assert_eq!(position.realized_pnl(), px("100").raw());
        om.mark(0, px("10"));
        // 150 * (10 - 11) = -150 unrealized
        let position = *om.position(0).unwrap();
        assert_eq!(position.unrealized_pnl(), px("-150").raw());
        assert_eq!(scaled_to_raw(om.total_pnl_scaled()), px("-50").raw());
        assert_eq!(scaled_to_raw(om.gross_exposure_scaled()), px("1500").raw());
        fill(&mut om, Side::Ask, 250, "9"); // close 150 (-300), open short 100 @ 9
        let position = *om.position(0).unwrap();
        assert_eq!(position.qty, qty(100).neg());
        assert_eq!(position.realized_pnl(), px("-200").raw());
        assert_eq!(position.average_price(), px("9"));
        om.mark(0, px("8"));
        assert_eq!(om.position(0).unwrap().unrealized_pnl(), px("100").raw());
        assert_eq!(scaled_to_raw(om.total_pnl_scaled()), px("-100").raw());
    }
}
