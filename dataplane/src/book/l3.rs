//! Order-by-order (L3) books for ITCH feeds.
//!
//! [`L3Books`] keeps one order table shared by every subscribed stock and, per stock
//! locate, aggregated price levels. Everything is allocated in [`L3Books::new`]:
//!
//! - **Orders**: an open-addressing hash table (linear probing, backward-shift deletion, so
//!   no tombstones) keyed by order reference number, sized from [`L3Config::max_orders`] at
//!   a load factor of at most one half. A full table rejects the add and marks the book
//!   inconsistent.
//! - **Levels**: per book and side a window of [`L3Config::levels`] price ticks (one tick =
//!   one ITCH price unit, 1/10000) centred on that side's first order price, with
//!   share totals, order counts and a bitmap of non-empty levels for finding the next best
//!   level with a few word scans.
//! - **Far-away prices** (outside the window) go to a per-side sorted overflow list of
//!   [`L3Config::overflow_levels`] entries; when that is full too, the add is rejected and
//!   the book is marked inconsistent — a defined, counted path, never an allocation.
//!
//! Messages for stocks that are not subscribed are ignored cheaply (one array lookup).
//! Nothing here allocates after construction, locks or panics on feed input.

use tickwire_common::{Price, Qty};
use tickwire_protocol::itch::Message;

use super::{Side, Staleness, TopOfBook};

/// Decimal places of ITCH prices.
const ITCH_PRICE_DECIMALS: u8 = 4;
/// Marks a free order slot (a reference number no feed uses: ITCH assigns them from 1 up).
const EMPTY_REFERENCE: u64 = u64::MAX;
/// `locate_to_book` value for locates nobody subscribed.
const NOT_SUBSCRIBED: u16 = u16::MAX;
/// Number of possible stock locates.
const LOCATES: usize = 1 << 16;
const NO_LEVEL: usize = usize::MAX;

/// Sizes of the preallocated structures.
#[derive(Debug, Clone, Copy)]
pub struct L3Config {
    /// Live orders across all subscribed stocks.
    pub max_orders: usize,
    /// Books (subscribed stocks).
    pub max_books: usize,
    /// Price levels in each book's window (rounded up to a power of two).
    pub levels: usize,
    /// Per side, levels outside the window that can be tracked.
    pub overflow_levels: usize,
    /// Whether an execute/cancel/delete/replace of an order the book never saw marks the
    /// book inconsistent. On a live feed recovered from the start of the session it means
    /// an add was missed, so the default is `true`. Files that start mid-day (or simulated
    /// samples that reference orders they never add) replay with `false`: such messages
    /// cannot touch the levels the book holds; they are still reported as errors.
    pub strict_references: bool,
}

impl Default for L3Config {
    fn default() -> Self {
        Self {
            max_orders: 1 << 20,
            max_books: 64,
            levels: 1 << 16,
            overflow_levels: 1024,
            strict_references: true,
        }
    }
}

/// Why a book operation was refused. Small and `Copy`: counted in the hot path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum L3Error {
    /// An execute/cancel/delete/replace for an order the book does not know.
    #[error("unknown order reference {0}")]
    UnknownOrder(u64),
    /// An add for a reference already live.
    #[error("duplicate order reference {0}")]
    DuplicateOrder(u64),
    /// The order table is full.
    #[error("order table full")]
    OrderTableFull,
    /// A far-away price and the overflow list is full.
    #[error("price level overflow list full")]
    OverflowFull,
    /// More books subscribed than configured.
    #[error("too many books")]
    TooManyBooks,
    /// Executed or canceled more shares than the order has, or a zero-share add.
    #[error("bad share count for order {0}")]
    BadShares(u64),
    /// A buy/sell indicator other than `B` or `S`.
    #[error("bad buy/sell indicator {0:#04x}")]
    BadSide(u8),
}

/// What an applied message did to a subscribed book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookChange {
    /// The book (index from [`L3Books::subscribe`]).
    pub book: u16,
    /// Whether the best bid or ask (price or quantity) may have changed.
    pub top_changed: bool,
}

#[derive(Debug, Clone, Copy)]
struct Order {
    reference: u64,
    price: u32,
    shares: u32,
    book: u16,
    side: Side,
}

const FREE_ORDER: Order = Order {
    reference: EMPTY_REFERENCE,
    price: 0,
    shares: 0,
    book: 0,
    side: Side::Bid,
};

/// Open-addressing order table (linear probing, backward-shift deletion).
#[derive(Debug)]
struct OrderTable {
    slots: Box<[Order]>,
    mask: usize,
    len: usize,
    limit: usize,
}

impl OrderTable {
    fn new(max_orders: usize) -> Self {
        let capacity = (max_orders.max(8) * 2).next_power_of_two();
        Self {
            slots: vec![FREE_ORDER; capacity].into_boxed_slice(),
            mask: capacity - 1,
            len: 0,
            limit: max_orders.max(8),
        }
    }

    #[inline]
    fn home(&self, reference: u64) -> usize {
        // ITCH assigns references nearly sequentially: keeping their low bits keeps orders
        // added close together in neighbouring slots (and cache lines); the high half is
        // folded in so references that differ only above the mask still spread.
        ((reference ^ (reference >> 32)) as usize) & self.mask
    }

    #[inline]
    fn find(&self, reference: u64) -> Option<usize> {
        let mut index = self.home(reference);
        // Bounded: the table is at most half full, so a free slot ends every probe.
        loop {
            let slot = &self.slots[index];
            if slot.reference == reference {
                return Some(index);
            }
            if slot.reference == EMPTY_REFERENCE {
                return None;
            }
            index = (index + 1) & self.mask;
        }
    }

    #[inline]
    fn insert(&mut self, order: Order) -> Result<(), L3Error> {
        if self.len >= self.limit {
            return Err(L3Error::OrderTableFull);
        }
        let mut index = self.home(order.reference);
        loop {
            let slot = &mut self.slots[index];
            if slot.reference == EMPTY_REFERENCE {
                *slot = order;
                self.len += 1;
                return Ok(());
            }
            if slot.reference == order.reference {
                return Err(L3Error::DuplicateOrder(order.reference));
            }
            index = (index + 1) & self.mask;
        }
    }

    /// Removes the order at `index`, shifting later members of its probe run back.
    #[inline]
    fn remove_at(&mut self, mut index: usize) {
        let mut next = (index + 1) & self.mask;
        loop {
            let candidate = self.slots[next];
            if candidate.reference == EMPTY_REFERENCE {
                break;
            }
            let home = self.home(candidate.reference);
            // Move `candidate` into the hole unless its home lies cyclically in (index, next].
            let distance_to_hole = next.wrapping_sub(home) & self.mask;
            let distance_to_next = next.wrapping_sub(index) & self.mask;
            if distance_to_hole >= distance_to_next {
                self.slots[index] = candidate;
                index = next;
            }
            next = (next + 1) & self.mask;
        }
        self.slots[index] = FREE_ORDER;
        self.len -= 1;
    }
}

/// Aggregated levels of one side of one book.
#[derive(Debug)]
struct SideLevels {
    side: Side,
    /// Price (ITCH units) of window index 0; `None` until this side's first order.
    base: Option<u32>,
    /// Share total and order count per price, one 16-byte entry (one cache line access).
    levels: Box<[Level]>,
    occupied: Box<[u64]>,
    /// Window index of the best level, or `NO_LEVEL`.
    best: usize,
    /// Levels outside the window, sorted by price ascending.
    overflow: Vec<OverflowLevel>,
}

#[derive(Debug, Clone, Copy, Default)]
#[repr(C, align(16))]
struct Level {
    shares: u64,
    orders: u32,
}

#[derive(Debug, Clone, Copy)]
struct OverflowLevel {
    price: u32,
    shares: u64,
    orders: u32,
}

impl SideLevels {
    fn new(side: Side, levels: usize, overflow_levels: usize) -> Self {
        Self {
            side,
            base: None,
            levels: vec![Level::default(); levels].into_boxed_slice(),
            occupied: vec![0; levels.div_ceil(64)].into_boxed_slice(),
            best: NO_LEVEL,
            overflow: Vec::with_capacity(overflow_levels),
        }
    }

    fn clear(&mut self) {
        self.base = None;
        self.levels.fill(Level::default());
        self.occupied.fill(0);
        self.best = NO_LEVEL;
        self.overflow.clear();
    }

    #[inline]
    fn is_better(&self, index: usize, than: usize) -> bool {
        than == NO_LEVEL
            || match self.side {
                Side::Bid => index > than,
                Side::Ask => index < than,
            }
    }

    /// Next occupied level from `from` (inclusive) in the direction of worse prices.
    #[inline]
    fn scan_from(&self, from: usize) -> usize {
        let mut word = from / 64;
        let bit = from % 64;
        match self.side {
            Side::Bid => {
                // Bits at or below `bit` in the first word, then whole words downward.
                let mut bits = self.occupied[word] & (u64::MAX >> (63 - bit));
                loop {
                    if bits != 0 {
                        return word * 64 + 63 - bits.leading_zeros() as usize;
                    }
                    if word == 0 {
                        return NO_LEVEL;
                    }
                    word -= 1;
                    bits = self.occupied[word];
                }
            }
            Side::Ask => {
                let mut bits = self.occupied[word] & (u64::MAX << bit);
                loop {
                    if bits != 0 {
                        return word * 64 + bits.trailing_zeros() as usize;
                    }
                    word += 1;
                    if word == self.occupied.len() {
                        return NO_LEVEL;
                    }
                    bits = self.occupied[word];
                }
            }
        }
    }

    /// Adds an order's shares at window index `index`; returns whether the top changed.
    #[inline]
    fn add_in_window(&mut self, index: usize, shares: u32) -> bool {
        let level = &mut self.levels[index];
        level.shares += u64::from(shares);
        level.orders += 1;
        self.occupied[index / 64] |= 1 << (index % 64);
        if self.is_better(index, self.best) {
            self.best = index;
            true
        } else {
            index == self.best
        }
    }

    /// Removes `shares` (and the order, if `remove`) at window index `index`; returns
    /// whether the top changed.
    #[inline]
    fn reduce_in_window(&mut self, index: usize, shares: u32, remove: bool) -> bool {
        let level = &mut self.levels[index];
        level.shares -= u64::from(shares);
        if remove {
            level.orders -= 1;
            if level.orders == 0 {
                debug_assert_eq!(level.shares, 0);
                self.occupied[index / 64] &= !(1 << (index % 64));
                if index == self.best {
                    self.best = match self.side {
                        Side::Bid if index == 0 => NO_LEVEL,
                        Side::Bid => self.scan_from(index - 1),
                        Side::Ask if index + 1 == self.levels.len() => NO_LEVEL,
                        Side::Ask => self.scan_from(index + 1),
                    };
                    return true;
                }
                return false;
            }
        }
        index == self.best
    }

    fn add_overflow(&mut self, price: u32, shares: u32) -> Result<(), L3Error> {
        match self
            .overflow
            .binary_search_by_key(&price, |level| level.price)
        {
            Ok(position) => {
                let level = &mut self.overflow[position];
                level.shares += u64::from(shares);
                level.orders += 1;
            }
            Err(position) => {
                if self.overflow.len() == self.overflow.capacity() {
                    return Err(L3Error::OverflowFull);
                }
                self.overflow.insert(
                    position,
                    OverflowLevel {
                        price,
                        shares: u64::from(shares),
                        orders: 1,
                    },
                );
            }
        }
        Ok(())
    }

    fn reduce_overflow(&mut self, price: u32, shares: u32, remove: bool) {
        if let Ok(position) = self
            .overflow
            .binary_search_by_key(&price, |level| level.price)
        {
            let level = &mut self.overflow[position];
            level.shares -= u64::from(shares);
            if remove {
                level.orders -= 1;
                if level.orders == 0 {
                    self.overflow.remove(position);
                }
            }
        }
    }

    /// Window index of `price`, choosing this side's base on first use (centred on it).
    #[inline]
    fn window_index(&mut self, price: u32) -> Option<usize> {
        let levels = self.levels.len();
        let base = match self.base {
            Some(base) => base,
            None => {
                let half = u32::try_from(levels / 2).unwrap_or(u32::MAX);
                // Keep base + levels within u32 so prices can be rebuilt from indexes.
                let base = price
                    .saturating_sub(half)
                    .min(u32::MAX - u32::try_from(levels).unwrap_or(u32::MAX));
                self.base = Some(base);
                base
            }
        };
        let offset = price.wrapping_sub(base) as usize;
        (price >= base && offset < levels).then_some(offset)
    }

    #[inline]
    fn add(&mut self, price: u32, shares: u32) -> Result<bool, L3Error> {
        match self.window_index(price) {
            Some(index) => Ok(self.add_in_window(index, shares)),
            None => {
                self.add_overflow(price, shares)?;
                // Conservative: an overflow change may move the top.
                Ok(true)
            }
        }
    }

    #[inline]
    fn reduce(&mut self, price: u32, shares: u32, remove: bool) -> bool {
        match self.window_index(price) {
            Some(index) => self.reduce_in_window(index, shares, remove),
            None => {
                self.reduce_overflow(price, shares, remove);
                true
            }
        }
    }

    /// Best (price, shares) over the window and the overflow list.
    fn best(&self) -> Option<(u32, u64)> {
        let base = self.base?;
        let window = (self.best != NO_LEVEL).then(|| {
            // `best` < levels, and base + levels fits u32 (checked when the base was set).
            (base + self.best as u32, self.levels[self.best].shares)
        });
        let outside = match self.side {
            Side::Bid => self.overflow.last(),
            Side::Ask => self.overflow.first(),
        }
        .map(|level| (level.price, level.shares));
        match (window, outside) {
            (Some(inside), Some(far)) => Some(match self.side {
                Side::Bid if far.0 > inside.0 => far,
                Side::Ask if far.0 < inside.0 => far,
                _ => inside,
            }),
            (inside, far) => inside.or(far),
        }
    }

    /// Up to `out.len()` best levels as (price, shares), best first; returns the count.
    fn depth(&self, out: &mut [(u32, u64)]) -> usize {
        let Some(base) = self.base else {
            return 0;
        };
        // Merge window levels (via the bitmap) with overflow levels, best first.
        let mut written = 0;
        let mut window = self.best;
        let (mut far_high, mut far_low) = (self.overflow.len(), 0usize);
        while written < out.len() {
            let inside =
                (window != NO_LEVEL).then(|| (base + window as u32, self.levels[window].shares));
            let far = match self.side {
                Side::Bid => far_high.checked_sub(1).map(|index| self.overflow[index]),
                Side::Ask => self.overflow.get(far_low).copied(),
            }
            .map(|level| (level.price, level.shares));
            let take_far = match (inside, far) {
                (None, None) => break,
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (Some(inside), Some(far)) => match self.side {
                    Side::Bid => far.0 > inside.0,
                    Side::Ask => far.0 < inside.0,
                },
            };
            if take_far {
                out[written] = far.unwrap_or_default();
                match self.side {
                    Side::Bid => far_high -= 1,
                    Side::Ask => far_low += 1,
                }
            } else {
                out[written] = inside.unwrap_or_default();
                window = match self.side {
                    Side::Bid if window == 0 => NO_LEVEL,
                    Side::Bid => self.scan_from(window - 1),
                    Side::Ask if window + 1 == self.levels.len() => NO_LEVEL,
                    Side::Ask => self.scan_from(window + 1),
                };
            }
            written += 1;
        }
        written
    }
}

/// One stock's levels and health.
#[derive(Debug)]
struct Book {
    bids: SideLevels,
    asks: SideLevels,
    locate: u16,
    stock: [u8; 8],
    inconsistent: bool,
    gap: bool,
    last_update_ns: u64,
}

impl Book {
    #[inline]
    fn side_mut(&mut self, side: Side) -> &mut SideLevels {
        match side {
            Side::Bid => &mut self.bids,
            Side::Ask => &mut self.asks,
        }
    }

    #[inline]
    fn add_level(&mut self, side: Side, price: u32, shares: u32) -> Result<bool, L3Error> {
        self.side_mut(side).add(price, shares)
    }

    #[inline]
    fn reduce_level(&mut self, side: Side, price: u32, shares: u32, remove: bool) -> bool {
        self.side_mut(side).reduce(price, shares, remove)
    }
}

/// The L3 books of one ITCH feed.
#[derive(Debug)]
pub struct L3Books {
    orders: OrderTable,
    books: Vec<Book>,
    locate_to_book: Box<[u16]>,
    config: L3Config,
}

impl L3Books {
    /// Allocates everything for `config`.
    #[must_use]
    pub fn new(config: L3Config) -> Self {
        let config = L3Config {
            levels: config.levels.max(64).next_power_of_two(),
            ..config
        };
        Self {
            orders: OrderTable::new(config.max_orders),
            books: Vec::with_capacity(config.max_books),
            locate_to_book: vec![NOT_SUBSCRIBED; LOCATES].into_boxed_slice(),
            config,
        }
    }

    /// Subscribes `stock` (space-padded ITCH symbol); its locate is bound when the feed's
    /// Stock Directory message arrives ([`bind_locate`](Self::bind_locate)) or directly with
    /// [`subscribe_locate`](Self::subscribe_locate). Start-up only: allocates the levels.
    ///
    /// # Errors
    /// [`L3Error::TooManyBooks`] past [`L3Config::max_books`].
    pub fn subscribe(&mut self, stock: [u8; 8]) -> Result<u16, L3Error> {
        if let Some(index) = self.books.iter().position(|book| book.stock == stock) {
            return u16::try_from(index).map_err(|_| L3Error::TooManyBooks);
        }
        if self.books.len() >= self.config.max_books {
            return Err(L3Error::TooManyBooks);
        }
        let index = u16::try_from(self.books.len()).map_err(|_| L3Error::TooManyBooks)?;
        if index == NOT_SUBSCRIBED {
            return Err(L3Error::TooManyBooks);
        }
        self.books.push(Book {
            bids: SideLevels::new(Side::Bid, self.config.levels, self.config.overflow_levels),
            asks: SideLevels::new(Side::Ask, self.config.levels, self.config.overflow_levels),
            locate: NOT_SUBSCRIBED,
            stock,
            inconsistent: false,
            gap: false,
            last_update_ns: 0,
        });
        Ok(index)
    }

    /// Subscribes `stock` under a known `locate`.
    ///
    /// # Errors
    /// [`L3Error::TooManyBooks`] past [`L3Config::max_books`].
    pub fn subscribe_locate(&mut self, stock: [u8; 8], locate: u16) -> Result<u16, L3Error> {
        let book = self.subscribe(stock)?;
        self.bind_locate(stock, locate);
        Ok(book)
    }

    /// Binds `locate` to the book subscribed for `stock`, if any (Stock Directory message).
    /// Returns the book.
    pub fn bind_locate(&mut self, stock: [u8; 8], locate: u16) -> Option<u16> {
        let index = self.books.iter().position(|book| book.stock == stock)?;
        let book = u16::try_from(index).ok()?;
        self.books[index].locate = locate;
        self.locate_to_book[usize::from(locate)] = book;
        Some(book)
    }

    /// The book for `locate`, if subscribed.
    #[inline]
    #[must_use]
    pub fn book_of(&self, locate: u16) -> Option<u16> {
        let book = self.locate_to_book[usize::from(locate)];
        (book != NOT_SUBSCRIBED).then_some(book)
    }

    /// Number of subscribed books.
    #[must_use]
    pub fn len(&self) -> usize {
        self.books.len()
    }

    /// True when nothing is subscribed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.books.is_empty()
    }

    /// Live orders across all books.
    #[must_use]
    pub fn order_count(&self) -> usize {
        self.orders.len
    }

    /// Space-padded symbol of `book`.
    #[must_use]
    pub fn stock(&self, book: u16) -> [u8; 8] {
        self.books
            .get(usize::from(book))
            .map_or([b' '; 8], |book| book.stock)
    }

    /// Add Order (with or without MPID). Ignored (`Ok(None)`) for unsubscribed locates.
    ///
    /// # Errors
    /// [`L3Error`] if the order cannot be recorded; the book is then marked inconsistent.
    #[inline]
    pub fn add(
        &mut self,
        locate: u16,
        reference: u64,
        side: Side,
        shares: u32,
        price: u32,
        timestamp_ns: u64,
    ) -> Result<Option<BookChange>, L3Error> {
        let Some(book_index) = self.book_of(locate) else {
            return Ok(None);
        };
        let book = &mut self.books[usize::from(book_index)];
        book.last_update_ns = timestamp_ns;
        let result = if shares == 0 || reference == EMPTY_REFERENCE {
            Err(L3Error::BadShares(reference))
        } else {
            self.orders
                .insert(Order {
                    reference,
                    price,
                    shares,
                    book: book_index,
                    side,
                })
                .and_then(|()| {
                    book.add_level(side, price, shares).inspect_err(|_| {
                        if let Some(index) = self.orders.find(reference) {
                            self.orders.remove_at(index);
                        }
                    })
                })
        };
        match result {
            Ok(top_changed) => Ok(Some(BookChange {
                book: book_index,
                top_changed,
            })),
            Err(error) => {
                book.inconsistent = true;
                Err(error)
            }
        }
    }

    /// Shared path of execute, cancel and delete: takes `shares` off the order (all of them
    /// when `None`) and removes it when nothing is left.
    #[inline]
    fn reduce(
        &mut self,
        locate: u16,
        reference: u64,
        shares: Option<u32>,
        timestamp_ns: u64,
    ) -> Result<Option<BookChange>, L3Error> {
        let Some(book_index) = self.book_of(locate) else {
            return Ok(None);
        };
        let book = &mut self.books[usize::from(book_index)];
        book.last_update_ns = timestamp_ns;
        let Some(slot) = self.orders.find(reference) else {
            book.inconsistent |= self.config.strict_references;
            return Err(L3Error::UnknownOrder(reference));
        };
        let order = self.orders.slots[slot];
        let taken = shares.unwrap_or(order.shares);
        if taken > order.shares {
            book.inconsistent = true;
            return Err(L3Error::BadShares(reference));
        }
        let remove = taken == order.shares;
        let top_changed = book.reduce_level(order.side, order.price, taken, remove);
        if remove {
            self.orders.remove_at(slot);
        } else {
            self.orders.slots[slot].shares -= taken;
        }
        Ok(Some(BookChange {
            book: book_index,
            top_changed,
        }))
    }

    /// Order Executed / Order Executed With Price: `shares` leave the order.
    ///
    /// # Errors
    /// [`L3Error::UnknownOrder`] or [`L3Error::BadShares`]; the book is marked inconsistent.
    #[inline]
    pub fn execute(
        &mut self,
        locate: u16,
        reference: u64,
        shares: u32,
        timestamp_ns: u64,
    ) -> Result<Option<BookChange>, L3Error> {
        self.reduce(locate, reference, Some(shares), timestamp_ns)
    }

    /// Order Cancel: `shares` are canceled, the rest stays.
    ///
    /// # Errors
    /// As [`execute`](Self::execute).
    #[inline]
    pub fn cancel(
        &mut self,
        locate: u16,
        reference: u64,
        shares: u32,
        timestamp_ns: u64,
    ) -> Result<Option<BookChange>, L3Error> {
        self.reduce(locate, reference, Some(shares), timestamp_ns)
    }

    /// Order Delete.
    ///
    /// # Errors
    /// As [`execute`](Self::execute).
    #[inline]
    pub fn delete(
        &mut self,
        locate: u16,
        reference: u64,
        timestamp_ns: u64,
    ) -> Result<Option<BookChange>, L3Error> {
        self.reduce(locate, reference, None, timestamp_ns)
    }

    /// Order Replace: the original order leaves, the new one (same side) enters.
    ///
    /// # Errors
    /// As [`execute`](Self::execute) and [`add`](Self::add).
    #[inline]
    pub fn replace(
        &mut self,
        locate: u16,
        original: u64,
        new_reference: u64,
        shares: u32,
        price: u32,
        timestamp_ns: u64,
    ) -> Result<Option<BookChange>, L3Error> {
        let Some(book_index) = self.book_of(locate) else {
            return Ok(None);
        };
        let side = match self.orders.find(original) {
            Some(slot) => self.orders.slots[slot].side,
            None => {
                self.books[usize::from(book_index)].inconsistent |= self.config.strict_references;
                return Err(L3Error::UnknownOrder(original));
            }
        };
        let removed = self.reduce(locate, original, None, timestamp_ns)?;
        let added = self.add(locate, new_reference, side, shares, price, timestamp_ns)?;
        Ok(Some(BookChange {
            book: book_index,
            top_changed: removed.is_some_and(|change| change.top_changed)
                || added.is_some_and(|change| change.top_changed),
        }))
    }

    /// Applies one ITCH message: Stock Directory binds subscribed symbols to their locate;
    /// add, execute, cancel, delete and replace update books; everything else is ignored.
    ///
    /// # Errors
    /// [`L3Error`] from the operation (the book is marked inconsistent).
    #[inline]
    pub fn apply_itch(&mut self, message: &Message) -> Result<Option<BookChange>, L3Error> {
        let side = |indicator: u8| match indicator {
            b'B' => Ok(Side::Bid),
            b'S' => Ok(Side::Ask),
            other => Err(L3Error::BadSide(other)),
        };
        match message {
            Message::AddOrder(add) => self.add(
                add.stock_locate,
                add.order_reference_number,
                side(add.buy_sell_indicator)?,
                add.shares,
                add.price,
                add.timestamp,
            ),
            Message::AddOrderMpid(add) => self.add(
                add.stock_locate,
                add.order_reference_number,
                side(add.buy_sell_indicator)?,
                add.shares,
                add.price,
                add.timestamp,
            ),
            Message::OrderExecuted(executed) => self.execute(
                executed.stock_locate,
                executed.order_reference_number,
                executed.executed_shares,
                executed.timestamp,
            ),
            Message::OrderExecutedWithPrice(executed) => self.execute(
                executed.stock_locate,
                executed.order_reference_number,
                executed.executed_shares,
                executed.timestamp,
            ),
            Message::OrderCancel(cancel) => self.cancel(
                cancel.stock_locate,
                cancel.order_reference_number,
                cancel.canceled_shares,
                cancel.timestamp,
            ),
            Message::OrderDelete(delete) => self.delete(
                delete.stock_locate,
                delete.order_reference_number,
                delete.timestamp,
            ),
            Message::OrderReplace(replace) => self.replace(
                replace.stock_locate,
                replace.original_order_reference_number,
                replace.new_order_reference_number,
                replace.shares,
                replace.price,
                replace.timestamp,
            ),
            Message::StockDirectory(directory) => {
                self.bind_locate(directory.stock.0, directory.stock_locate);
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    /// The price (ITCH units) of a live order, for executions that do not carry one.
    #[inline]
    #[must_use]
    pub fn order_price(&self, reference: u64) -> Option<u32> {
        self.orders
            .find(reference)
            .map(|slot| self.orders.slots[slot].price)
    }

    /// Best bid and ask of `book`.
    #[must_use]
    pub fn top(&self, book: u16) -> TopOfBook {
        let Some(book) = self.books.get(usize::from(book)) else {
            return TopOfBook::EMPTY;
        };
        let convert = |level: Option<(u32, u64)>| match level {
            Some((price, shares)) => (
                Price::from_scaled(i64::from(price), ITCH_PRICE_DECIMALS).unwrap_or(Price::NONE),
                u32::try_from(shares).map_or(Qty::MAX, Qty::from_shares),
            ),
            None => (Price::NONE, Qty::ZERO),
        };
        let (bid_price, bid_qty) = convert(book.bids.best());
        let (ask_price, ask_qty) = convert(book.asks.best());
        TopOfBook {
            bid_price,
            bid_qty,
            ask_price,
            ask_qty,
        }
    }

    /// Best (ITCH price, shares) of one side of `book`, raw.
    #[must_use]
    pub fn best_raw(&self, book: u16, side: Side) -> Option<(u32, u64)> {
        let book = self.books.get(usize::from(book))?;
        match side {
            Side::Bid => book.bids.best(),
            Side::Ask => book.asks.best(),
        }
    }

    /// Up to `out.len()` levels (ITCH price, shares) of one side, best first.
    pub fn depth(&self, book: u16, side: Side, out: &mut [(u32, u64)]) -> usize {
        let Some(book) = self.books.get(usize::from(book)) else {
            return 0;
        };
        match side {
            Side::Bid => book.bids.depth(out),
            Side::Ask => book.asks.depth(out),
        }
    }

    /// Marks every book as missing messages (a feed gap) or recovered.
    pub fn set_gap(&mut self, gap: bool) {
        for book in &mut self.books {
            book.gap = gap;
        }
    }

    /// Why `book` must not be traded on at `now_ns`, if it must not. `max_quiet_ns` of 0
    /// disables the quiet check.
    #[must_use]
    pub fn staleness(&self, book: u16, now_ns: u64, max_quiet_ns: u64) -> Option<Staleness> {
        let book = self.books.get(usize::from(book))?;
        if book.inconsistent {
            Some(Staleness::Inconsistent)
        } else if book.gap {
            Some(Staleness::Gap)
        } else if max_quiet_ns != 0 && now_ns.saturating_sub(book.last_update_ns) > max_quiet_ns {
            Some(Staleness::Quiet)
        } else {
            None
        }
    }

    /// Empties `book` (a new session or a refresh) and clears its health flags. The orders
    /// of that book leave the shared table.
    pub fn reset(&mut self, book: u16) {
        let Some(state) = self.books.get_mut(usize::from(book)) else {
            return;
        };
        state.bids.clear();
        state.asks.clear();
        state.inconsistent = false;
        state.gap = false;
        // Bounded by the table size; start-up/refresh path only.
        let mut index = 0;
        while index < self.orders.slots.len() {
            let slot = self.orders.slots[index];
            if slot.reference != EMPTY_REFERENCE && slot.book == book {
                self.orders.remove_at(index);
                // A shifted entry may now sit at `index`: look at it again.
            } else {
                index += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use proptest::prelude::*;

    use super::*;

    const STOCK: [u8; 8] = *b"AAPL    ";

    fn books(levels: usize, overflow: usize) -> L3Books {
        let mut books = L3Books::new(L3Config {
            max_orders: 4096,
            max_books: 4,
            levels,
            overflow_levels: overflow,
            strict_references: true,
        });
        books.subscribe_locate(STOCK, 7).unwrap();
        books
    }

    /// The obvious model: a map of orders, levels recomputed from scratch.
    #[derive(Default)]
    struct Model {
        orders: HashMap<u64, (Side, u32, u32)>,
    }

    impl Model {
        fn levels(&self, side: Side) -> Vec<(u32, u64)> {
            let mut levels: BTreeMap<u32, u64> = BTreeMap::new();
            for &(order_side, price, shares) in self.orders.values() {
                if order_side == side {
                    *levels.entry(price).or_default() += u64::from(shares);
                }
            }
            let mut out: Vec<(u32, u64)> = levels.into_iter().collect();
            if side == Side::Bid {
                out.reverse();
            }
            out
        }
    }

    #[test]
    fn add_execute_cancel_delete_replace() {
        let mut books = books(256, 16);
        books.add(7, 1, Side::Bid, 100, 10_000, 1).unwrap();
        books.add(7, 2, Side::Bid, 50, 10_100, 2).unwrap();
        books.add(7, 3, Side::Ask, 70, 10_200, 3).unwrap();
        assert_eq!(books.best_raw(0, Side::Bid), Some((10_100, 50)));
        assert_eq!(books.best_raw(0, Side::Ask), Some((10_200, 70)));
        books.execute(7, 2, 20, 4).unwrap();
        assert_eq!(books.best_raw(0, Side::Bid), Some((10_100, 30)));
        books.cancel(7, 2, 30, 5).unwrap();
        assert_eq!(books.best_raw(0, Side::Bid), Some((10_000, 100)));
        books.replace(7, 3, 4, 10, 10_150, 6).unwrap();
        assert_eq!(books.best_raw(0, Side::Ask), Some((10_150, 10)));
        books.delete(7, 1, 7).unwrap();
        assert_eq!(books.best_raw(0, Side::Bid), None);
        assert_eq!(books.order_count(), 1);
        let top = books.top(0);
        assert_eq!(top.ask_price, Price::from_scaled(10_150, 4).unwrap());
        assert_eq!(top.ask_qty, Qty::from_shares(10));
        assert!(!top.is_two_sided());
    }

    #[test]
    fn unknown_orders_and_bad_shares_mark_the_book() {
        let mut books = books(256, 16);
        assert_eq!(books.staleness(0, 0, 0), None);
        assert_eq!(books.execute(7, 99, 1, 1), Err(L3Error::UnknownOrder(99)));
        assert_eq!(books.staleness(0, 0, 0), Some(Staleness::Inconsistent));
        books.reset(0);
        books.add(7, 1, Side::Ask, 10, 500, 1).unwrap();
        assert_eq!(books.cancel(7, 1, 11, 2), Err(L3Error::BadShares(1)));
        assert_eq!(
            books.add(7, 1, Side::Ask, 10, 500, 3),
            Err(L3Error::DuplicateOrder(1))
        );
        assert_eq!(
            books.add(7, 2, Side::Ask, 0, 500, 3),
            Err(L3Error::BadShares(2))
        );
        // Unsubscribed locates are ignored, not errors.
        assert_eq!(books.add(8, 5, Side::Ask, 10, 500, 3), Ok(None));
        assert_eq!(books.delete(8, 5, 3), Ok(None));
    }

    #[test]
    fn staleness_reports_gaps_and_quiet_books() {
        let mut books = books(256, 16);
        books.add(7, 1, Side::Bid, 1, 100, 1_000).unwrap();
        assert_eq!(books.staleness(0, 1_500, 1_000), None);
        assert_eq!(books.staleness(0, 2_001, 1_000), Some(Staleness::Quiet));
        books.set_gap(true);
        assert_eq!(books.staleness(0, 1_500, 1_000), Some(Staleness::Gap));
        books.set_gap(false);
        assert_eq!(books.staleness(0, 1_500, 0), None);
    }

    #[test]
    fn far_prices_use_the_overflow_list_and_then_fail_cleanly() {
        let mut books = books(64, 2);
        books.add(7, 1, Side::Bid, 10, 1_000, 1).unwrap(); // window base = 968
        books.add(7, 2, Side::Bid, 20, 5_000, 2).unwrap(); // far above
        books.add(7, 3, Side::Bid, 30, 10, 3).unwrap(); // far below
        assert_eq!(books.best_raw(0, Side::Bid), Some((5_000, 20)));
        let mut depth = [(0, 0); 4];
        assert_eq!(books.depth(0, Side::Bid, &mut depth), 3);
        assert_eq!(depth[..3], [(5_000, 20), (1_000, 10), (10, 30)]);
        assert_eq!(
            books.add(7, 4, Side::Bid, 1, 9_000, 4),
            Err(L3Error::OverflowFull)
        );
        assert_eq!(books.staleness(0, 4, 0), Some(Staleness::Inconsistent));
        assert_eq!(books.order_count(), 3, "the refused order is not kept");
        books.delete(7, 2, 5).unwrap();
        assert_eq!(books.best_raw(0, Side::Bid), Some((1_000, 10)));
    }

    #[test]
    fn order_table_survives_heavy_churn() {
        let mut table = OrderTable::new(64);
        for round in 0..50u64 {
            for reference in 0..64 {
                table
                    .insert(Order {
                        reference: round * 1000 + reference,
                        ..FREE_ORDER
                    })
                    .unwrap();
            }
            assert_eq!(
                table.insert(Order {
                    reference: 1 << 40,
                    ..FREE_ORDER
                }),
                Err(L3Error::OrderTableFull)
            );
            for reference in (0..64).rev() {
                let index = table.find(round * 1000 + reference).unwrap();
                table.remove_at(index);
            }
            assert_eq!(table.len, 0);
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add {
            side: bool,
            shares: u32,
            price: u32,
        },
        Execute {
            pick: usize,
            shares: u32,
        },
        Cancel {
            pick: usize,
            shares: u32,
        },
        Delete {
            pick: usize,
        },
        Replace {
            pick: usize,
            shares: u32,
            price: u32,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        // Prices span the 128-level window and beyond, so the overflow path is exercised.
        let price = 900u32..1_300;
        prop_oneof![
            (any::<bool>(), 1u32..500, price.clone()).prop_map(|(side, shares, price)| Op::Add {
                side,
                shares,
                price
            }),
            (any::<usize>(), 1u32..500).prop_map(|(pick, shares)| Op::Execute { pick, shares }),
            (any::<usize>(), 1u32..500).prop_map(|(pick, shares)| Op::Cancel { pick, shares }),
            any::<usize>().prop_map(|pick| Op::Delete { pick }),
            (any::<usize>(), 1u32..500, price).prop_map(|(pick, shares, price)| Op::Replace {
                pick,
                shares,
                price
            }),
        ]
    }

    proptest! {
        #[test]
        fn matches_a_recomputed_model(ops in proptest::collection::vec(op(), 1..400)) {
            let mut books = books(128, 512);
            let mut model = Model::default();
            let mut next_reference = 1u64;
            for op in ops {
                let mut live: Vec<u64> = model.orders.keys().copied().collect();
                live.sort_unstable();
                match op {
                    Op::Add { side, shares, price } => {
                        let side = if side { Side::Bid } else { Side::Ask };
                        books.add(7, next_reference, side, shares, price, 0).unwrap();
                        model.orders.insert(next_reference, (side, price, shares));
                        next_reference += 1;
                    }
                    Op::Execute { pick, shares } | Op::Cancel { pick, shares } if !live.is_empty() => {
                        let reference = live[pick % live.len()];
                        let (side, price, left) = model.orders[&reference];
                        let shares = shares.min(left);
                        books.execute(7, reference, shares, 0).unwrap();
                        if shares == left {
                            model.orders.remove(&reference);
                        } else {
                            model.orders.insert(reference, (side, price, left - shares));
                        }
                    }
                    Op::Delete { pick } if !live.is_empty() => {
                        let reference = live[pick % live.len()];
                        books.delete(7, reference, 0).unwrap();
                        model.orders.remove(&reference);
                    }
                    Op::Replace { pick, shares, price } if !live.is_empty() => {
                        let reference = live[pick % live.len()];
                        let (side, _, _) = model.orders[&reference];
                        books.replace(7, reference, next_reference, shares, price, 0).unwrap();
                        model.orders.remove(&reference);
                        model.orders.insert(next_reference, (side, price, shares));
                        next_reference += 1;
                    }
                    _ => {}
                }
                for side in [Side::Bid, Side::Ask] {
                    let expected = model.levels(side);
                    let mut depth = vec![(0u32, 0u64); expected.len() + 1];
                    let written = books.depth(0, side, &mut depth);
                    prop_assert_eq!(&depth[..written], &expected[..]);
                    prop_assert_eq!(books.best_raw(0, side), expected.first().copied());
                }
                prop_assert_eq!(books.order_count(), model.orders.len());
            }
        }
    }
}
