//! Price-level (L2) book for one Binance symbol, kept in sync with Binance's documented
//! snapshot + diff procedure.
//!
//! # Contract
//! - **Allocation.** [`L2Book::new`] allocates everything: per side an array of
//!   [`L2Config::levels_per_side`] levels, and the pre-snapshot buffer
//!   ([`L2Config::buffered_updates`] updates sharing a pool of
//!   [`L2Config::buffered_levels`] levels). Nothing allocates afterwards. A book or buffer that
//!   would need more room is a counted, defined outcome ([`UpdateOutcome::BookFull`],
//!   [`UpdateOutcome::BufferOverflow`]), never growth.
//! - **Layout.** Each side is an array sorted from the worst price to the best, so the best
//!   level is the last element and a change near the top moves few entries. A quantity of
//!   zero removes a level. [`L2Book::top`] is two array reads.
//! - **Synchronisation** (Binance spot "How to manage a local order book correctly"),
//!   applied exactly:
//!   1. Until a snapshot is applied, depth updates are buffered ([`SyncState::AwaitingSnapshot`]).
//!   2. [`L2Book::apply_snapshot`] loads the snapshot, drops buffered updates with
//!      `u <= lastUpdateId` and replays the rest.
//!   3. The first update applied after a snapshot must straddle it:
//!      `U <= lastUpdateId + 1 <= u` (until it arrives the book is
//!      [`SyncState::AwaitingFirstUpdate`]; later updates with `u <= lastUpdateId` are dropped).
//!   4. After that every update must continue the previous one: `U == previous u + 1`.
//!
//!   Anything else is a **gap**: counted, the book is emptied and goes back to
//!   [`SyncState::AwaitingSnapshot`] (a **resync**), keeping the update that revealed the gap
//!   as the first buffered one. It is never papered over: the caller sees
//!   [`UpdateOutcome::Gap`], [`L2Book::needs_snapshot`] turns true and
//!   [`L2Book::staleness`] reports [`Staleness::Unsynced`] until a new snapshot joins the
//!   stream. A duplicate or out-of-order update after sync is a gap too: Binance's stream runs
//!   over one TCP connection, so it means the stream is not what this book assumes.
//! - **Bounded work.** Every loop runs over at most the levels of one message, one side's
//!   array, or the buffer. No panics on any input; `debug_assert!`s check the sort invariant.

use tickwire_common::{Price, Qty};
use tickwire_protocol::binance::{DepthSnapshot, DepthUpdate, Level};

use super::{Side, Staleness, TopOfBook};

/// Sizes of the preallocated arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L2Config {
    /// Levels each side can hold. Binance snapshots carry up to 5000 levels a side and diffs
    /// add levels beyond the snapshot's depth (the btcusdt sample grows a 1000-level snapshot
    /// to about 2400 asks), so leave room above the snapshot depth you request.
    pub levels_per_side: usize,
    /// Depth updates held while waiting for a snapshot.
    pub buffered_updates: usize,
    /// Levels (both sides of all buffered updates together) the buffer holds.
    pub buffered_levels: usize,
}

impl Default for L2Config {
    /// Room for a full 5000-level snapshot plus growth, and about a minute and a half of
    /// `@depth@100ms` updates (at 36 levels each on average) before the snapshot arrives:
    /// 256 KiB of levels and 1 MiB of buffer.
    fn default() -> Self {
        Self {
            levels_per_side: 8192,
            buffered_updates: 1024,
            buffered_levels: 65_536,
        }
    }
}

/// Where the book is in Binance's synchronisation procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncState {
    /// No snapshot applied (at start, or after a resync): updates are buffered and the
    /// caller must fetch a snapshot. The book's levels are empty.
    AwaitingSnapshot,
    /// A snapshot is loaded; the update straddling `lastUpdateId + 1` has not arrived yet.
    /// Not tradeable: the snapshot is not yet known to join the stream.
    AwaitingFirstUpdate,
    /// In sync: the book is the venue's book as of [`L2Book::last_update_id`].
    Synced,
}

/// What [`L2Book::apply_update`] did with a depth update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// Applied to the synced book.
    Applied {
        /// Whether the best bid or ask (price or quantity) changed.
        top_changed: bool,
    },
    /// Held until a snapshot arrives.
    Buffered,
    /// Already contained in the applied snapshot (`u <= lastUpdateId`): dropped.
    Dropped,
    /// The update does not continue the book: the book was emptied and is resyncing (the
    /// update is buffered as the first of the new attempt). Fetch a new snapshot.
    Gap {
        /// The `U` the book needed (`lastUpdateId + 1` or the previous `u + 1`).
        expected: u64,
        /// The update's `U`.
        got: u64,
    },
    /// A side would exceed [`L2Config::levels_per_side`]: the book was emptied and is
    /// resyncing (the update is buffered). Fetch a new snapshot; if it recurs, the capacity
    /// is too small for the symbol.
    BookFull,
    /// The pre-snapshot buffer was full: it was emptied and restarted with this update (or
    /// left empty if this update alone does not fit). Updates are lost, so a snapshot
    /// requested before now will probably not join the buffer: fetch a new one.
    BufferOverflow,
}

/// What [`L2Book::apply_snapshot`] did with a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotOutcome {
    /// Loaded, and a buffered update straddled it: the book is [`SyncState::Synced`].
    Synced {
        /// Buffered updates applied after the snapshot.
        replayed: usize,
        /// Buffered updates dropped because the snapshot already contains them.
        dropped: usize,
    },
    /// Loaded; no buffered update reaches past `lastUpdateId` yet, so the book is
    /// [`SyncState::AwaitingFirstUpdate`].
    AwaitingFirstUpdate {
        /// Buffered updates dropped because the snapshot already contains them.
        dropped: usize,
    },
    /// The buffered updates do not join the snapshot (it is older than the first buffered
    /// update, or the buffer itself has a hole): counted as a gap; the book is back to
    /// [`SyncState::AwaitingSnapshot`], keeping the buffered updates from the one that did not
    /// fit on. Fetch a newer snapshot.
    Gap {
        /// The `U` the book needed.
        expected: u64,
        /// The `U` of the buffered update that did not join.
        got: u64,
    },
    /// The snapshot, or a replayed update, has more levels than a side holds: the book is back
    /// to [`SyncState::AwaitingSnapshot`] (buffered updates kept).
    BookFull,
    /// The book is already synced; the snapshot was not used (counted).
    Ignored,
}

/// An update applied during [`L2Book::apply_snapshot_with`]'s replay of the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayedUpdate {
    /// `U` of the update.
    pub first_update_id: u64,
    /// `u` of the update: the book is now as of this id.
    pub final_update_id: u64,
    /// Whether the best bid or ask changed.
    pub top_changed: bool,
}

/// Event counts since construction. Plain integers: read by the owner of the book.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct L2Counters {
    /// Depth updates applied to the book (live and replayed from the buffer).
    pub applied: u64,
    /// Depth updates dropped because the applied snapshot already contains them
    /// (`u <= lastUpdateId`).
    pub dropped_before_snapshot: u64,
    /// Sequence breaks: an update (live or buffered) that did not continue the book.
    pub gaps: u64,
    /// Times the book was emptied to wait for a new snapshot (gaps, full book, [`L2Book::reset`]
    /// of a loaded book).
    pub resyncs: u64,
    /// Times the pre-snapshot buffer overflowed and was restarted.
    pub buffer_overflows: u64,
    /// Snapshots or updates that needed more levels than a side holds.
    pub book_full: u64,
    /// Snapshots loaded.
    pub snapshots: u64,
    /// Snapshots ignored because the book was already synced.
    pub snapshots_ignored: u64,
}

/// The level did not fit: the side already holds its capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SideFull;

/// One side: `levels[..len]` sorted from the worst price to the best, all quantities
/// non-zero, prices distinct. `ASK` flips the order (asks: descending prices).
#[derive(Debug)]
struct SideLevels<const ASK: bool> {
    levels: Box<[Level]>,
    len: usize,
}

impl<const ASK: bool> SideLevels<ASK> {
    fn new(capacity: usize) -> Self {
        Self {
            levels: vec![Level::default(); capacity].into_boxed_slice(),
            len: 0,
        }
    }

    /// `a` is a worse price than `b` for this side.
    #[inline(always)]
    fn worse(a: Price, b: Price) -> bool {
        if ASK { a > b } else { a < b }
    }

    fn clear(&mut self) {
        self.len = 0;
    }

    #[inline]
    fn live(&self) -> &[Level] {
        // `len <= levels.len()` always holds; `get` keeps this total anyway.
        self.levels.get(..self.len).unwrap_or_default()
    }

    #[inline]
    fn best(&self) -> Option<Level> {
        self.live().last().copied()
    }

    /// Sets the quantity at `level.price` (zero removes it).
    #[inline]
    fn set(&mut self, level: Level) -> Result<(), SideFull> {
        let len = self.len;
        let live = &mut self.levels[..len];
        // First index whose price is not worse than the new one.
        let index = live.partition_point(|slot| Self::worse(slot.price, level.price));
        if let Some(slot) = live.get_mut(index)
            && slot.price == level.price
        {
            if level.qty == Qty::ZERO {
                // Remove: the better levels above move down one.
                self.levels.copy_within(index + 1..len, index);
                self.len = len - 1;
            } else {
                slot.qty = level.qty;
            }
            return Ok(());
        }
        if level.qty == Qty::ZERO {
            // Removing a level the book does not hold: Binance sends these routinely.
            return Ok(());
        }
        if len == self.levels.len() {
            return Err(SideFull);
        }
        // Insert: the better levels move up one.
        self.levels.copy_within(index..len, index + 1);
        self.levels[index] = level;
        self.len = len + 1;
        debug_assert!(self.is_sorted());
        Ok(())
    }

    /// Applies a message's levels in order.
    #[inline]
    fn apply(&mut self, levels: &[Level]) -> Result<(), SideFull> {
        for &level in levels {
            self.set(level)?;
        }
        Ok(())
    }

    /// Replaces the side with a snapshot's levels (best first, as Binance sends them).
    /// Equivalent to setting each level in message order on an empty side.
    fn load(&mut self, best_first: &[Level]) -> Result<(), SideFull> {
        self.clear();
        let well_formed = best_first
            .windows(2)
            .all(|pair| Self::worse(pair[1].price, pair[0].price))
            && best_first.iter().all(|level| level.qty != Qty::ZERO);
        if well_formed {
            // The common case: one reversed copy.
            let slots = self.levels.get_mut(..best_first.len()).ok_or(SideFull)?;
            for (slot, &level) in slots.iter_mut().rev().zip(best_first) {
                *slot = level;
            }
            self.len = best_first.len();
        } else {
            // Out of order, repeated or zero levels: the general path, one level at a time.
            for &level in best_first {
                self.set(level)?;
            }
        }
        debug_assert!(self.is_sorted());
        Ok(())
    }

    fn is_sorted(&self) -> bool {
        self.live()
            .windows(2)
            .all(|pair| Self::worse(pair[0].price, pair[1].price))
            && self.live().iter().all(|level| level.qty != Qty::ZERO)
    }
}

/// One buffered update: ids and where its levels sit in the pool.
#[derive(Debug, Clone, Copy, Default)]
struct Pending {
    first_update_id: u64,
    final_update_id: u64,
    /// Pool index of the first bid; the asks follow the bids.
    start: usize,
    bids: usize,
    asks: usize,
}

impl Pending {
    fn bids(self) -> core::ops::Range<usize> {
        self.start..self.start + self.bids
    }

    fn asks(self) -> core::ops::Range<usize> {
        self.start + self.bids..self.start + self.bids + self.asks
    }
}

/// The pre-snapshot buffer: a FIFO of updates whose levels sit back to back in one pool.
#[derive(Debug)]
struct UpdateBuffer {
    updates: Box<[Pending]>,
    len: usize,
    pool: Box<[Level]>,
    used: usize,
}

/// The buffer has no room for the update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BufferFull;

impl UpdateBuffer {
    fn new(updates: usize, levels: usize) -> Self {
        Self {
            updates: vec![Pending::default(); updates].into_boxed_slice(),
            len: 0,
            pool: vec![Level::default(); levels].into_boxed_slice(),
            used: 0,
        }
    }

    fn clear(&mut self) {
        self.len = 0;
        self.used = 0;
    }

    fn push(&mut self, update: &DepthUpdate<'_>) -> Result<(), BufferFull> {
        let levels = update.bids.len() + update.asks.len();
        if self.len == self.updates.len() || levels > self.pool.len() - self.used {
            return Err(BufferFull);
        }
        let pending = Pending {
            first_update_id: update.first_update_id,
            final_update_id: update.final_update_id,
            start: self.used,
            bids: update.bids.len(),
            asks: update.asks.len(),
        };
        self.pool[pending.bids()].copy_from_slice(update.bids);
        self.pool[pending.asks()].copy_from_slice(update.asks);
        self.updates[self.len] = pending;
        self.len += 1;
        self.used += levels;
        Ok(())
    }

    /// Keeps updates `from..` (moved to the front, with their levels).
    fn retain_from(&mut self, from: usize) {
        let Some(&first) = self.updates.get(from).filter(|_| from < self.len) else {
            self.clear();
            return;
        };
        let shift = first.start;
        self.pool.copy_within(shift..self.used, 0);
        self.used -= shift;
        self.updates.copy_within(from..self.len, 0);
        self.len -= from;
        for pending in &mut self.updates[..self.len] {
            pending.start -= shift;
        }
    }
}

/// Whether an update with ids `first..=last` continues the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sequence {
    Apply,
    Drop,
    Gap { expected: u64 },
}

/// The L2 book of one Binance symbol and its synchronisation state (see the module docs).
#[derive(Debug)]
pub struct L2Book {
    bids: SideLevels<false>,
    asks: SideLevels<true>,
    buffer: UpdateBuffer,
    state: SyncState,
    /// `lastUpdateId` of the snapshot ([`SyncState::AwaitingFirstUpdate`]) or the last applied
    /// `u` ([`SyncState::Synced`]); meaningless while awaiting a snapshot.
    last_update_id: u64,
    /// Receive time of the last applied update or snapshot.
    last_update_ns: u64,
    counters: L2Counters,
    config: L2Config,
}

impl L2Book {
    /// Allocates the book and its buffer; the book starts [`SyncState::AwaitingSnapshot`].
    #[must_use]
    pub fn new(config: L2Config) -> Self {
        Self {
            bids: SideLevels::new(config.levels_per_side),
            asks: SideLevels::new(config.levels_per_side),
            buffer: UpdateBuffer::new(config.buffered_updates, config.buffered_levels),
            state: SyncState::AwaitingSnapshot,
            last_update_id: 0,
            last_update_ns: 0,
            counters: L2Counters::default(),
            config,
        }
    }

    /// The sizes this book was built with.
    #[must_use]
    pub fn config(&self) -> L2Config {
        self.config
    }

    /// Where the book is in the synchronisation procedure.
    #[must_use]
    pub fn state(&self) -> SyncState {
        self.state
    }

    /// True while the book waits for a snapshot: the caller must fetch one (REST
    /// `GET /api/v3/depth`) and pass it to [`Self::apply_snapshot`].
    #[must_use]
    pub fn needs_snapshot(&self) -> bool {
        self.state == SyncState::AwaitingSnapshot
    }

    /// The update id the book is at: the snapshot's `lastUpdateId` until the first update
    /// applies, then the last applied `u`. `None` while awaiting a snapshot.
    #[must_use]
    pub fn last_update_id(&self) -> Option<u64> {
        (self.state != SyncState::AwaitingSnapshot).then_some(self.last_update_id)
    }

    /// Event counts.
    #[must_use]
    pub fn counters(&self) -> L2Counters {
        self.counters
    }

    /// Updates waiting in the pre-snapshot buffer.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.buffer.len
    }

    /// Why the book must not be traded on at `now_ns`, if it must not:
    /// [`Staleness::Unsynced`] unless [`SyncState::Synced`], else [`Staleness::Quiet`] when no
    /// update applied for more than `max_quiet_ns` (0 disables the quiet check).
    #[must_use]
    pub fn staleness(&self, now_ns: u64, max_quiet_ns: u64) -> Option<Staleness> {
        if self.state != SyncState::Synced {
            Some(Staleness::Unsynced)
        } else if max_quiet_ns != 0 && now_ns.saturating_sub(self.last_update_ns) > max_quiet_ns {
            Some(Staleness::Quiet)
        } else {
            None
        }
    }

    /// Best bid and ask; an empty side is [`Price::NONE`] with zero quantity (always so
    /// while awaiting a snapshot).
    #[inline]
    #[must_use]
    pub fn top(&self) -> TopOfBook {
        let (bid_price, bid_qty) = self
            .bids
            .best()
            .map_or((Price::NONE, Qty::ZERO), |level| (level.price, level.qty));
        let (ask_price, ask_qty) = self
            .asks
            .best()
            .map_or((Price::NONE, Qty::ZERO), |level| (level.price, level.qty));
        TopOfBook {
            bid_price,
            bid_qty,
            ask_price,
            ask_qty,
        }
    }

    /// Best level of one side.
    #[inline]
    #[must_use]
    pub fn best(&self, side: Side) -> Option<Level> {
        match side {
            Side::Bid => self.bids.best(),
            Side::Ask => self.asks.best(),
        }
    }

    /// Number of levels on one side.
    #[must_use]
    pub fn len(&self, side: Side) -> usize {
        match side {
            Side::Bid => self.bids.len,
            Side::Ask => self.asks.len,
        }
    }

    /// True when both sides are empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bids.len == 0 && self.asks.len == 0
    }

    /// The levels of one side, best first.
    pub fn levels(&self, side: Side) -> impl ExactSizeIterator<Item = Level> + '_ {
        let live = match side {
            Side::Bid => self.bids.live(),
            Side::Ask => self.asks.live(),
        };
        live.iter().rev().copied()
    }

    /// Copies up to `out.len()` levels of one side, best first; returns how many.
    pub fn depth(&self, side: Side, out: &mut [Level]) -> usize {
        let mut count = 0;
        for (slot, level) in out.iter_mut().zip(self.levels(side)) {
            *slot = level;
            count += 1;
        }
        count
    }

    /// Feeds one depth update (`<symbol>@depth` / `@depth@100ms`) received at `receive_ns`.
    /// Buffers it, drops it, applies it, or detects a gap, as the state requires; see the
    /// module docs. Never allocates.
    #[inline]
    pub fn apply_update(&mut self, update: &DepthUpdate<'_>, receive_ns: u64) -> UpdateOutcome {
        if self.state == SyncState::AwaitingSnapshot {
            return self.buffer_update(update);
        }
        let before = self.top();
        match self.sequence(update.first_update_id, update.final_update_id) {
            Sequence::Drop => {
                self.counters.dropped_before_snapshot += 1;
                UpdateOutcome::Dropped
            }
            Sequence::Gap { expected } => {
                self.counters.gaps += 1;
                self.resync();
                // The update is the first of the stream the next snapshot must join.
                let _ = self.buffer_update(update);
                UpdateOutcome::Gap {
                    expected,
                    got: update.first_update_id,
                }
            }
            Sequence::Apply => match self.apply_levels(update.bids, update.asks) {
                Ok(()) => {
                    self.applied(update.final_update_id, receive_ns);
                    UpdateOutcome::Applied {
                        top_changed: self.top() != before,
                    }
                }
                Err(SideFull) => {
                    self.book_full();
                    let _ = self.buffer_update(update);
                    UpdateOutcome::BookFull
                }
            },
        }
    }

    /// [`Self::apply_snapshot_with`] without watching the replayed updates.
    pub fn apply_snapshot(
        &mut self,
        snapshot: &DepthSnapshot<'_>,
        receive_ns: u64,
    ) -> SnapshotOutcome {
        self.apply_snapshot_with(snapshot, receive_ns, |_, _| {})
    }

    /// Loads a REST depth snapshot received at `receive_ns` and replays the buffered updates
    /// (dropping those it contains), calling `on_replayed(book, update)` after each one
    /// applied, with the book as of that update. Ignored when already synced. Loading copies
    /// the snapshot's levels into the preallocated arrays: no allocation.
    pub fn apply_snapshot_with(
        &mut self,
        snapshot: &DepthSnapshot<'_>,
        receive_ns: u64,
        mut on_replayed: impl FnMut(&Self, ReplayedUpdate),
    ) -> SnapshotOutcome {
        if self.state == SyncState::Synced {
            self.counters.snapshots_ignored += 1;
            return SnapshotOutcome::Ignored;
        }
        if self.bids.load(snapshot.bids).is_err() || self.asks.load(snapshot.asks).is_err() {
            self.bids.clear();
            self.asks.clear();
            self.counters.book_full += 1;
            self.state = SyncState::AwaitingSnapshot;
            return SnapshotOutcome::BookFull;
        }
        self.counters.snapshots += 1;
        self.state = SyncState::AwaitingFirstUpdate;
        self.last_update_id = snapshot.last_update_id;
        self.last_update_ns = receive_ns;
        let (mut replayed, mut dropped) = (0, 0);
        // Bounded by the buffer's capacity.
        for index in 0..self.buffer.len {
            let pending = self.buffer.updates[index];
            match self.sequence(pending.first_update_id, pending.final_update_id) {
                Sequence::Drop => {
                    dropped += 1;
                    self.counters.dropped_before_snapshot += 1;
                }
                Sequence::Gap { expected } => {
                    self.counters.gaps += 1;
                    self.resync_keeping(index);
                    return SnapshotOutcome::Gap {
                        expected,
                        got: pending.first_update_id,
                    };
                }
                Sequence::Apply => {
                    let before = self.top();
                    let applied = apply_both(
                        &mut self.bids,
                        &mut self.asks,
                        &self.buffer.pool[pending.bids()],
                        &self.buffer.pool[pending.asks()],
                    );
                    let Ok(()) = applied else {
                        self.counters.book_full += 1;
                        self.resync_keeping(index);
                        return SnapshotOutcome::BookFull;
                    };
                    self.applied(pending.final_update_id, receive_ns);
                    replayed += 1;
                    on_replayed(
                        self,
                        ReplayedUpdate {
                            first_update_id: pending.first_update_id,
                            final_update_id: pending.final_update_id,
                            top_changed: self.top() != before,
                        },
                    );
                }
            }
        }
        self.buffer.clear();
        if self.state == SyncState::Synced {
            SnapshotOutcome::Synced { replayed, dropped }
        } else {
            SnapshotOutcome::AwaitingFirstUpdate { dropped }
        }
    }

    /// Empties the book and the buffer and waits for a new snapshot, e.g. after the
    /// WebSocket reconnected (the stream's continuity is lost). Counts a resync if a
    /// snapshot was loaded.
    pub fn reset(&mut self) {
        if self.state != SyncState::AwaitingSnapshot {
            self.counters.resyncs += 1;
        }
        self.bids.clear();
        self.asks.clear();
        self.buffer.clear();
        self.state = SyncState::AwaitingSnapshot;
    }

    /// Decides whether an update with ids `first..=last` applies to a loaded book.
    #[inline]
    fn sequence(&self, first: u64, last: u64) -> Sequence {
        match self.state {
            // Not reached: callers buffer instead. A gap is the safe answer.
            SyncState::AwaitingSnapshot => Sequence::Gap { expected: 0 },
            SyncState::AwaitingFirstUpdate => {
                if last <= self.last_update_id {
                    Sequence::Drop
                } else {
                    // `last > last_update_id`, so the increment cannot overflow.
                    let expected = self.last_update_id + 1;
                    if first <= expected {
                        Sequence::Apply
                    } else {
                        Sequence::Gap { expected }
                    }
                }
            }
            SyncState::Synced => match self.last_update_id.checked_add(1) {
                Some(expected) if first == expected && last >= first => Sequence::Apply,
                Some(expected) => Sequence::Gap { expected },
                None => Sequence::Gap { expected: u64::MAX },
            },
        }
    }

    #[inline]
    fn apply_levels(&mut self, bids: &[Level], asks: &[Level]) -> Result<(), SideFull> {
        apply_both(&mut self.bids, &mut self.asks, bids, asks)
    }

    #[inline]
    fn applied(&mut self, final_update_id: u64, receive_ns: u64) {
        self.state = SyncState::Synced;
        self.last_update_id = final_update_id;
        self.last_update_ns = receive_ns;
        self.counters.applied += 1;
    }

    fn buffer_update(&mut self, update: &DepthUpdate<'_>) -> UpdateOutcome {
        if self.buffer.push(update).is_ok() {
            return UpdateOutcome::Buffered;
        }
        self.counters.buffer_overflows += 1;
        self.buffer.clear();
        // Restart the buffer with this update; one that alone exceeds the pool is lost too.
        let _ = self.buffer.push(update);
        UpdateOutcome::BufferOverflow
    }

    /// Back to waiting for a snapshot, with an empty book and buffer.
    fn resync(&mut self) {
        self.resync_keeping(usize::MAX);
    }

    /// Back to waiting for a snapshot, keeping buffered updates `from..`.
    fn resync_keeping(&mut self, from: usize) {
        self.counters.resyncs += 1;
        self.bids.clear();
        self.asks.clear();
        self.buffer.retain_from(from);
        self.state = SyncState::AwaitingSnapshot;
    }

    fn book_full(&mut self) {
        self.counters.book_full += 1;
        self.resync();
    }
}

#[inline]
fn apply_both(
    bids: &mut SideLevels<false>,
    asks: &mut SideLevels<true>,
    bid_levels: &[Level],
    ask_levels: &[Level],
) -> Result<(), SideFull> {
    bids.apply(bid_levels)?;
    asks.apply(ask_levels)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use tickwire_protocol::binance::Name;

    use super::*;

    fn level(price: i64, qty: i64) -> Level {
        Level {
            price: Price::from_raw(price),
            qty: Qty::from_raw(qty),
        }
    }

    fn levels(pairs: &[(i64, i64)]) -> Vec<Level> {
        pairs
            .iter()
            .map(|&(price, qty)| level(price, qty))
            .collect()
    }

    fn symbol() -> Name {
        Name::new("BTCUSDT").unwrap()
    }

    /// Feeds an update with ids `first..=last`.
    fn feed(
        book: &mut L2Book,
        first: u64,
        last: u64,
        bids: &[(i64, i64)],
        asks: &[(i64, i64)],
    ) -> UpdateOutcome {
        let (bids, asks) = (levels(bids), levels(asks));
        let update = DepthUpdate {
            event_time: 0,
            symbol: symbol(),
            first_update_id: first,
            final_update_id: last,
            prev_final_update_id: None,
            bids: &bids,
            asks: &asks,
        };
        book.apply_update(&update, last * 1_000)
    }

    fn snapshot(
        book: &mut L2Book,
        last_update_id: u64,
        bids: &[(i64, i64)],
        asks: &[(i64, i64)],
    ) -> SnapshotOutcome {
        let (bids, asks) = (levels(bids), levels(asks));
        book.apply_snapshot(
            &DepthSnapshot {
                last_update_id,
                bids: &bids,
                asks: &asks,
            },
            last_update_id * 1_000,
        )
    }

    fn small(levels_per_side: usize) -> L2Book {
        L2Book::new(L2Config {
            levels_per_side,
            buffered_updates: 4,
            buffered_levels: 16,
        })
    }

    fn side(book: &L2Book, side: Side) -> Vec<(i64, i64)> {
        book.levels(side)
            .map(|level| (level.price.raw(), level.qty.raw()))
            .collect()
    }

    /// A synced book: bids 1000/990/980, asks 1010/1020/1030, at update id 10.
    fn synced() -> L2Book {
        let mut book = small(8);
        assert_eq!(
            snapshot(
                &mut book,
                9,
                &[(1000, 1), (990, 2), (980, 3)],
                &[(1010, 1), (1020, 2), (1030, 3)]
            ),
            SnapshotOutcome::AwaitingFirstUpdate { dropped: 0 }
        );
        assert_eq!(book.state(), SyncState::AwaitingFirstUpdate);
        assert_eq!(
            feed(&mut book, 10, 10, &[], &[]),
            UpdateOutcome::Applied { top_changed: false }
        );
        assert_eq!(book.state(), SyncState::Synced);
        book
    }

    #[test]
    fn levels_insert_update_remove_at_the_top_and_deep() {
        let mut book = synced();
        assert_eq!(
            feed(&mut book, 11, 11, &[(1005, 0)], &[]),
            UpdateOutcome::Applied { top_changed: false },
            "removing an absent level is a no-op"
        );
        // Top: a better bid, its quantity, then its removal (the old best is back).
        assert_eq!(
            feed(&mut book, 12, 12, &[(1005, 7)], &[]),
            UpdateOutcome::Applied { top_changed: true }
        );
        assert_eq!(book.best(Side::Bid), Some(level(1005, 7)));
        assert_eq!(
            feed(&mut book, 13, 13, &[(1005, 8)], &[]),
            UpdateOutcome::Applied { top_changed: true }
        );
        assert_eq!(
            feed(&mut book, 14, 14, &[(1005, 8)], &[]),
            UpdateOutcome::Applied { top_changed: false },
            "the same quantity again changes nothing"
        );
        assert_eq!(
            feed(&mut book, 15, 15, &[(1005, 0)], &[]),
            UpdateOutcome::Applied { top_changed: true }
        );
        assert_eq!(book.best(Side::Bid), Some(level(1000, 1)));
        // Deep: a bid below the worst, asks between levels and beyond the worst.
        assert_eq!(
            feed(&mut book, 16, 17, &[(500, 5)], &[(1025, 4), (2000, 9)]),
            UpdateOutcome::Applied { top_changed: false }
        );
        assert_eq!(
            side(&book, Side::Bid),
            [(1000, 1), (990, 2), (980, 3), (500, 5)]
        );
        assert_eq!(
            side(&book, Side::Ask),
            [(1010, 1), (1020, 2), (1025, 4), (1030, 3), (2000, 9)]
        );
        // Deep updates and removals.
        assert_eq!(
            feed(
                &mut book,
                18,
                18,
                &[(990, 6), (500, 0)],
                &[(1020, 0), (2000, 1)]
            ),
            UpdateOutcome::Applied { top_changed: false }
        );
        assert_eq!(side(&book, Side::Bid), [(1000, 1), (990, 6), (980, 3)]);
        assert_eq!(
            side(&book, Side::Ask),
            [(1010, 1), (1025, 4), (1030, 3), (2000, 1)]
        );
        // Asks: a lower price is better.
        assert_eq!(
            feed(&mut book, 19, 19, &[], &[(1009, 3)]),
            UpdateOutcome::Applied { top_changed: true }
        );
        assert_eq!(
            book.top(),
            TopOfBook {
                bid_price: Price::from_raw(1000),
                bid_qty: Qty::from_raw(1),
                ask_price: Price::from_raw(1009),
                ask_qty: Qty::from_raw(3),
            }
        );
        let mut out = [Level::default(); 2];
        assert_eq!(book.depth(Side::Ask, &mut out), 2);
        assert_eq!(out, [level(1009, 3), level(1010, 1)]);
        assert_eq!(book.len(Side::Ask), 5);
        // Emptying a side.
        feed(&mut book, 20, 20, &[(1000, 0), (990, 0), (980, 0)], &[]);
        assert_eq!(book.best(Side::Bid), None);
        assert_eq!(book.top().bid_price, Price::NONE);
        assert_eq!(book.top().bid_qty, Qty::ZERO);
        assert_eq!(book.counters().applied, 10);
    }

    #[test]
    fn a_full_side_resyncs_instead_of_growing() {
        let mut book = small(4);
        snapshot(&mut book, 9, &[(100, 1), (99, 1), (98, 1)], &[(101, 1)]);
        assert_eq!(
            feed(&mut book, 10, 10, &[(97, 1)], &[]),
            UpdateOutcome::Applied { top_changed: false }
        );
        // A fifth bid does not fit, even deep; an update (removal) that keeps it at 4 does.
        assert_eq!(
            feed(&mut book, 11, 11, &[(96, 1)], &[]),
            UpdateOutcome::BookFull
        );
        assert_eq!(book.state(), SyncState::AwaitingSnapshot);
        assert!(book.needs_snapshot());
        assert!(book.is_empty());
        assert_eq!(book.staleness(11_000, 0), Some(Staleness::Unsynced));
        let counters = book.counters();
        assert_eq!((counters.book_full, counters.resyncs), (1, 1));
        assert_eq!(book.buffered(), 1, "the update waits for the next snapshot");
        // A snapshot deeper than the capacity is refused the same way, keeping the buffer.
        assert_eq!(
            snapshot(
                &mut book,
                10,
                &[(5, 1), (4, 1), (3, 1), (2, 1), (1, 1)],
                &[]
            ),
            SnapshotOutcome::BookFull
        );
        assert_eq!(book.counters().book_full, 2);
        assert_eq!(book.buffered(), 1);
        assert!(book.is_empty());
        // A snapshot that contains the buffered update drops it.
        assert_eq!(
            snapshot(&mut book, 11, &[(100, 1), (99, 1), (98, 1), (97, 1)], &[]),
            SnapshotOutcome::AwaitingFirstUpdate { dropped: 1 }
        );
        // At capacity, removing first makes room in the same update.
        assert_eq!(
            feed(&mut book, 12, 12, &[(97, 0), (96, 1), (100, 2)], &[]),
            UpdateOutcome::Applied { top_changed: true }
        );
        assert_eq!(
            side(&book, Side::Bid),
            [(100, 2), (99, 1), (98, 1), (96, 1)]
        );
    }

    #[test]
    fn the_first_update_must_straddle_the_snapshot() {
        // Too new: U = 12 leaves update 11 missing.
        let mut book = small(8);
        snapshot(&mut book, 10, &[(100, 1)], &[(101, 1)]);
        assert_eq!(
            feed(&mut book, 12, 15, &[(100, 2)], &[]),
            UpdateOutcome::Gap {
                expected: 11,
                got: 12
            }
        );
        assert_eq!(book.state(), SyncState::AwaitingSnapshot);
        assert!(book.is_empty());
        // Old: dropped; then straddling (U = 8 <= 11 <= u = 12) applies.
        let mut book = small(8);
        snapshot(&mut book, 10, &[(100, 1)], &[(101, 1)]);
        assert_eq!(
            feed(&mut book, 5, 10, &[(100, 9)], &[]),
            UpdateOutcome::Dropped
        );
        assert_eq!(book.last_update_id(), Some(10));
        assert_eq!(book.staleness(10_000, 0), Some(Staleness::Unsynced));
        assert_eq!(
            feed(&mut book, 8, 12, &[(100, 2)], &[]),
            UpdateOutcome::Applied { top_changed: true }
        );
        assert_eq!(book.last_update_id(), Some(12));
        assert_eq!(book.staleness(12_000, 0), None);
        // Exactly at the boundary: U = lastUpdateId + 1 = u.
        let mut book = small(8);
        snapshot(&mut book, 10, &[(100, 1)], &[(101, 1)]);
        assert!(matches!(
            feed(&mut book, 11, 11, &[], &[]),
            UpdateOutcome::Applied { .. }
        ));
        // After that, U must be the previous u + 1: an overlap or a hole is a gap.
        assert_eq!(
            feed(&mut book, 11, 13, &[], &[]),
            UpdateOutcome::Gap {
                expected: 12,
                got: 11
            }
        );
        let counters = book.counters();
        assert_eq!((counters.gaps, counters.resyncs), (1, 1));
    }

    #[test]
    fn buffered_updates_are_dropped_by_last_update_id_then_replayed() {
        let mut book = small(8);
        assert_eq!(book.state(), SyncState::AwaitingSnapshot);
        assert_eq!(book.last_update_id(), None);
        for (first, last, bid) in [
            (1, 4, (90, 1)),
            (5, 9, (91, 1)),
            (10, 12, (92, 1)),
            (13, 13, (93, 1)),
        ] {
            assert_eq!(
                feed(&mut book, first, last, &[bid], &[]),
                UpdateOutcome::Buffered
            );
        }
        assert!(book.is_empty(), "buffered updates do not touch the book");
        let mut seen = Vec::new();
        let (bids, asks) = (levels(&[(100, 1)]), levels(&[(101, 1)]));
        let outcome = book.apply_snapshot_with(
            &DepthSnapshot {
                last_update_id: 10,
                bids: &bids,
                asks: &asks,
            },
            0,
            |book, replayed| {
                seen.push((
                    replayed.final_update_id,
                    book.top().bid_price.raw(),
                    book.len(Side::Bid),
                ));
            },
        );
        assert_eq!(
            outcome,
            SnapshotOutcome::Synced {
                replayed: 2,
                dropped: 2
            }
        );
        // Updates 1..=9 were in the snapshot: their bids 90 and 91 never appear.
        assert_eq!(seen, [(12, 100, 2), (13, 100, 3)]);
        assert_eq!(side(&book, Side::Bid), [(100, 1), (93, 1), (92, 1)]);
        assert_eq!(book.buffered(), 0);
        let counters = book.counters();
        assert_eq!(
            (
                counters.applied,
                counters.dropped_before_snapshot,
                counters.snapshots
            ),
            (2, 2, 1)
        );
        // A second snapshot while synced is ignored.
        assert_eq!(snapshot(&mut book, 20, &[], &[]), SnapshotOutcome::Ignored);
        assert_eq!(book.counters().snapshots_ignored, 1);
        assert_eq!(book.len(Side::Bid), 3);
    }

    #[test]
    fn a_gap_resyncs_and_a_new_snapshot_recovers() {
        let mut book = synced();
        assert_eq!(
            feed(&mut book, 11, 12, &[(1000, 5)], &[]),
            UpdateOutcome::Applied { top_changed: true }
        );
        // Update 13..=14 is lost.
        assert_eq!(
            feed(&mut book, 15, 16, &[(990, 0)], &[]),
            UpdateOutcome::Gap {
                expected: 13,
                got: 15
            }
        );
        assert!(book.needs_snapshot());
        assert_eq!(book.top(), TopOfBook::EMPTY);
        assert_eq!(book.staleness(16_000, 0), Some(Staleness::Unsynced));
        assert_eq!(
            feed(&mut book, 17, 17, &[(980, 0)], &[]),
            UpdateOutcome::Buffered
        );
        assert_eq!(book.buffered(), 2, "the gap's update and the next one");
        // A snapshot older than the buffered stream (14 + 1 < 15 would be fine; 13 is not).
        assert_eq!(
            snapshot(
                &mut book,
                13,
                &[(1000, 5), (990, 2), (980, 3)],
                &[(1010, 1)]
            ),
            SnapshotOutcome::Gap {
                expected: 14,
                got: 15
            }
        );
        assert!(book.needs_snapshot());
        assert_eq!(book.buffered(), 2, "kept for the next snapshot");
        // The next one joins: 15..=16 straddles 15, then 17 follows.
        assert_eq!(
            snapshot(
                &mut book,
                14,
                &[(1000, 5), (990, 2), (980, 3)],
                &[(1010, 1)]
            ),
            SnapshotOutcome::Synced {
                replayed: 2,
                dropped: 0
            }
        );
        assert_eq!(side(&book, Side::Bid), [(1000, 5)]);
        assert_eq!(book.staleness(17_000, 0), None);
        assert_eq!(
            feed(&mut book, 18, 18, &[], &[(1010, 0)]),
            UpdateOutcome::Applied { top_changed: true }
        );
        let counters = book.counters();
        assert_eq!(
            (counters.gaps, counters.resyncs, counters.snapshots),
            (2, 2, 3)
        );
    }

    #[test]
    fn a_full_buffer_restarts() {
        let mut book = small(8);
        for id in 1..=4 {
            assert_eq!(
                feed(&mut book, id, id, &[(100, 1)], &[]),
                UpdateOutcome::Buffered
            );
        }
        assert_eq!(
            feed(&mut book, 5, 5, &[(100, 1)], &[]),
            UpdateOutcome::BufferOverflow
        );
        assert_eq!(book.buffered(), 1);
        // The level pool (16) is a bound too; an update larger than the pool is lost.
        let many: Vec<(i64, i64)> = (0..17).map(|price| (price, 1)).collect();
        assert_eq!(
            feed(&mut book, 6, 6, &many, &[]),
            UpdateOutcome::BufferOverflow
        );
        assert_eq!(book.buffered(), 0);
        assert_eq!(book.counters().buffer_overflows, 2);
        // Nothing joins a snapshot at 5 now: update 6 was lost with the buffer.
        assert_eq!(
            snapshot(&mut book, 5, &[(100, 1)], &[]),
            SnapshotOutcome::AwaitingFirstUpdate { dropped: 0 }
        );
        assert!(matches!(
            feed(&mut book, 7, 7, &[], &[]),
            UpdateOutcome::Gap {
                expected: 6,
                got: 7
            }
        ));
    }

    #[test]
    fn a_book_without_updates_goes_quiet() {
        let mut book = synced();
        // Last update applied at 10_000 ns.
        assert_eq!(book.staleness(10_500, 1_000), None);
        assert_eq!(book.staleness(11_000, 1_000), None);
        assert_eq!(book.staleness(11_001, 1_000), Some(Staleness::Quiet));
        assert_eq!(book.staleness(1_000_000, 0), None, "0 disables the check");
        feed(&mut book, 11, 11, &[], &[]);
        assert_eq!(book.staleness(11_500, 1_000), None);
        book.reset();
        assert_eq!(book.staleness(11_500, 1_000), Some(Staleness::Unsynced));
        assert_eq!(book.counters().resyncs, 1);
    }

    #[test]
    fn out_of_order_snapshot_levels_still_sort() {
        let mut book = small(8);
        snapshot(
            &mut book,
            1,
            &[(98, 1), (100, 2), (99, 0), (100, 3), (97, 4)],
            &[(103, 1), (101, 1), (102, 1)],
        );
        // As for an update, a repeated price takes its last quantity.
        assert_eq!(side(&book, Side::Bid), [(100, 3), (98, 1), (97, 4)]);
        assert_eq!(side(&book, Side::Ask), [(101, 1), (102, 1), (103, 1)]);
    }

    /// One message of the property test: ids always continue, levels are random.
    #[derive(Debug, Clone)]
    struct Message {
        bids: Vec<(i64, i64)>,
        asks: Vec<(i64, i64)>,
    }

    fn message() -> impl Strategy<Value = Message> {
        let levels = proptest::collection::vec((0i64..40, prop_oneof![Just(0i64), 1i64..5]), 0..8);
        (levels.clone(), levels).prop_map(|(bids, asks)| Message { bids, asks })
    }

    /// Applies levels to the model in order; `false` if a side ever exceeded `capacity`.
    fn model_apply(side: &mut BTreeMap<i64, i64>, levels: &[(i64, i64)], capacity: usize) -> bool {
        for &(price, qty) in levels {
            if qty == 0 {
                side.remove(&price);
            } else {
                side.insert(price, qty);
                if side.len() > capacity {
                    return false;
                }
            }
        }
        true
    }

    proptest! {
        /// The book equals a `BTreeMap` per side after every update, and overflows exactly
        /// when the model exceeds the capacity.
        #[test]
        fn matches_a_btreemap_model(
            capacity in 1usize..24,
            initial in message(),
            messages in proptest::collection::vec(message(), 1..60),
        ) {
            let mut book = small(capacity);
            let (mut bids, mut asks) = (BTreeMap::new(), BTreeMap::new());
            let fits = model_apply(&mut bids, &initial.bids, capacity)
                && model_apply(&mut asks, &initial.asks, capacity);
            let outcome = snapshot(&mut book, 0, &initial.bids, &initial.asks);
            if !fits {
                prop_assert_eq!(outcome, SnapshotOutcome::BookFull);
                return Ok(());
            }
            for (id, message) in (1u64..).zip(&messages) {
                let fits = model_apply(&mut bids, &message.bids, capacity)
                    && model_apply(&mut asks, &message.asks, capacity);
                let outcome = feed(&mut book, id, id, &message.bids, &message.asks);
                if !fits {
                    prop_assert_eq!(outcome, UpdateOutcome::BookFull);
                    prop_assert!(book.is_empty() && book.needs_snapshot());
                    return Ok(());
                }
                prop_assert!(matches!(outcome, UpdateOutcome::Applied { .. }), "{:?}", outcome);
                let expected_bids: Vec<(i64, i64)> = bids.iter().rev().map(|(&p, &q)| (p, q)).collect();
                let expected_asks: Vec<(i64, i64)> = asks.iter().map(|(&p, &q)| (p, q)).collect();
                prop_assert_eq!(side(&book, Side::Bid), expected_bids);
                prop_assert_eq!(side(&book, Side::Ask), expected_asks);
            }
        }
    }

    /// A straightforward model of the synchronisation procedure: `Vec` buffer, `BTreeMap`
    /// sides, the same bounds. The book must agree with it on every outcome, level and count.
    #[derive(Debug)]
    struct SyncModel {
        config: L2Config,
        state: SyncState,
        last: u64,
        bids: BTreeMap<i64, i64>,
        asks: BTreeMap<i64, i64>,
        buffer: Vec<(u64, u64, Message)>,
        counters: L2Counters,
    }

    impl SyncModel {
        fn new(config: L2Config) -> Self {
            Self {
                config,
                state: SyncState::AwaitingSnapshot,
                last: 0,
                bids: BTreeMap::new(),
                asks: BTreeMap::new(),
                buffer: Vec::new(),
                counters: L2Counters::default(),
            }
        }

        /// Best bid and ask as (price, qty) pairs.
        fn top(&self) -> [Option<(i64, i64)>; 2] {
            [
                self.bids.iter().next_back().map(|(&p, &q)| (p, q)),
                self.asks.iter().next().map(|(&p, &q)| (p, q)),
            ]
        }

        /// Applies levels in order; `false` (book emptied by the caller) if a side overflows.
        fn apply(&mut self, message: &Message) -> bool {
            let capacity = self.config.levels_per_side;
            model_apply(&mut self.bids, &message.bids, capacity)
                && model_apply(&mut self.asks, &message.asks, capacity)
        }

        fn push(&mut self, first: u64, last: u64, message: &Message) -> UpdateOutcome {
            let used: usize = self
                .buffer
                .iter()
                .map(|(_, _, message)| message.bids.len() + message.asks.len())
                .sum();
            let levels = message.bids.len() + message.asks.len();
            if self.buffer.len() < self.config.buffered_updates
                && used + levels <= self.config.buffered_levels
            {
                self.buffer.push((first, last, message.clone()));
                return UpdateOutcome::Buffered;
            }
            self.counters.buffer_overflows += 1;
            self.buffer.clear();
            if levels <= self.config.buffered_levels && self.config.buffered_updates > 0 {
                self.buffer.push((first, last, message.clone()));
            }
            UpdateOutcome::BufferOverflow
        }

        fn sequence(&self, first: u64, last: u64) -> Sequence {
            if self.state == SyncState::AwaitingFirstUpdate {
                if last <= self.last {
                    Sequence::Drop
                } else if first <= self.last + 1 {
                    Sequence::Apply
                } else {
                    Sequence::Gap {
                        expected: self.last + 1,
                    }
                }
            } else if first == self.last + 1 && last >= first {
                Sequence::Apply
            } else {
                Sequence::Gap {
                    expected: self.last + 1,
                }
            }
        }

        fn resync(&mut self, keep_from: usize) {
            self.counters.resyncs += 1;
            self.bids.clear();
            self.asks.clear();
            self.buffer.drain(..keep_from.min(self.buffer.len()));
            self.state = SyncState::AwaitingSnapshot;
        }

        fn update(&mut self, first: u64, last: u64, message: &Message) -> UpdateOutcome {
            if self.state == SyncState::AwaitingSnapshot {
                return self.push(first, last, message);
            }
            match self.sequence(first, last) {
                Sequence::Drop => {
                    self.counters.dropped_before_snapshot += 1;
                    UpdateOutcome::Dropped
                }
                Sequence::Gap { expected } => {
                    self.counters.gaps += 1;
                    self.resync(usize::MAX);
                    self.push(first, last, message);
                    UpdateOutcome::Gap {
                        expected,
                        got: first,
                    }
                }
                Sequence::Apply => {
                    let before = self.top();
                    if !self.apply(message) {
                        self.counters.book_full += 1;
                        self.resync(usize::MAX);
                        self.push(first, last, message);
                        return UpdateOutcome::BookFull;
                    }
                    self.state = SyncState::Synced;
                    self.last = last;
                    self.counters.applied += 1;
                    UpdateOutcome::Applied {
                        top_changed: self.top() != before,
                    }
                }
            }
        }

        fn snapshot(&mut self, last_update_id: u64, message: &Message) -> SnapshotOutcome {
            if self.state == SyncState::Synced {
                self.counters.snapshots_ignored += 1;
                return SnapshotOutcome::Ignored;
            }
            self.bids.clear();
            self.asks.clear();
            if !self.apply(message) {
                self.bids.clear();
                self.asks.clear();
                self.counters.book_full += 1;
                self.state = SyncState::AwaitingSnapshot;
                return SnapshotOutcome::BookFull;
            }
            self.counters.snapshots += 1;
            self.state = SyncState::AwaitingFirstUpdate;
            self.last = last_update_id;
            let (mut replayed, mut dropped) = (0, 0);
            for index in 0..self.buffer.len() {
                let (first, last, message) = self.buffer[index].clone();
                match self.sequence(first, last) {
                    Sequence::Drop => {
                        dropped += 1;
                        self.counters.dropped_before_snapshot += 1;
                    }
                    Sequence::Gap { expected } => {
                        self.counters.gaps += 1;
                        self.resync(index);
                        return SnapshotOutcome::Gap {
                            expected,
                            got: first,
                        };
                    }
                    Sequence::Apply => {
                        if !self.apply(&message) {
                            self.counters.book_full += 1;
                            self.resync(index);
                            return SnapshotOutcome::BookFull;
                        }
                        self.state = SyncState::Synced;
                        self.last = last;
                        self.counters.applied += 1;
                        replayed += 1;
                    }
                }
            }
            self.buffer.clear();
            if self.state == SyncState::Synced {
                SnapshotOutcome::Synced { replayed, dropped }
            } else {
                SnapshotOutcome::AwaitingFirstUpdate { dropped }
            }
        }
    }

    /// One step of a recorded stream: an update relative to the stream's next id, or a
    /// snapshot some ids behind it.
    #[derive(Debug, Clone)]
    enum Step {
        /// `U = next + skew` (0 continues, > 0 is a hole, < 0 an overlap), `u = U + span`.
        Update {
            skew: i64,
            span: u64,
            message: Message,
        },
        /// `lastUpdateId = next - 1 - behind` (`behind` may be negative: ahead).
        Snapshot { behind: i64, message: Message },
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            8 => (prop_oneof![8 => Just(0i64), 1 => -2i64..0, 1 => 1i64..3], 0u64..3, message())
                .prop_map(|(skew, span, message)| Step::Update { skew, span, message }),
            1 => (-2i64..6, message()).prop_map(|(behind, message)| Step::Snapshot { behind, message }),
        ]
    }

    proptest! {
        #[test]
        fn sync_agrees_with_a_simple_model(
            levels_per_side in 4usize..24,
            buffered_updates in 0usize..6,
            buffered_levels in 0usize..24,
            steps in proptest::collection::vec(step(), 1..80),
        ) {
            let config = L2Config { levels_per_side, buffered_updates, buffered_levels };
            let mut book = L2Book::new(config);
            let mut model = SyncModel::new(config);
            let mut next = 100u64;
            for step in &steps {
                match step {
                    Step::Update { skew, span, message } => {
                        let first = next.saturating_add_signed(*skew);
                        let last = first + span;
                        next = next.max(last + 1);
                        let ours = feed(&mut book, first, last, &message.bids, &message.asks);
                        prop_assert_eq!(ours, model.update(first, last, message), "update {}..={}", first, last);
                    }
                    Step::Snapshot { behind, message } => {
                        let last_update_id = (next - 1).saturating_add_signed(-behind);
                        let ours = snapshot(&mut book, last_update_id, &message.bids, &message.asks);
                        prop_assert_eq!(ours, model.snapshot(last_update_id, message), "snapshot {}", last_update_id);
                    }
                }
                prop_assert_eq!(book.state(), model.state);
                prop_assert_eq!(book.counters(), model.counters);
                prop_assert_eq!(book.buffered(), model.buffer.len());
                let expected_bids: Vec<(i64, i64)> = model.bids.iter().rev().map(|(&p, &q)| (p, q)).collect();
                let expected_asks: Vec<(i64, i64)> = model.asks.iter().map(|(&p, &q)| (p, q)).collect();
                prop_assert_eq!(side(&book, Side::Bid), expected_bids);
                prop_assert_eq!(side(&book, Side::Ask), expected_asks);
                if model.state != SyncState::AwaitingSnapshot {
                    prop_assert_eq!(book.last_update_id(), Some(model.last));
                }
            }
        }
    }
}
