//! Background order flow: replay of an ITCH 5.0 file, or a synthetic random walk.
//!
//! [`Flow::step`] produces the actions of one flow message; the engine applies them to the
//! books (through the same matching as participant orders) and publishes the results.
//!
//! Replay: the file's order messages (`A`, `F`, `E`, `C`, `X`, `D`, `U`) for the venue's
//! symbols become background orders under fresh venue reference numbers (a map from the
//! file's references to the venue's). Adds go through matching like any order, so a file
//! whose book is crossed, or a participant quote in the way, produces executions instead of
//! a crossed book. Messages that reference an order the venue does not have (the file
//! executes and deletes orders it never added; participants may have taken the order) are
//! skipped and counted. Replaces re-enter the order at its new price and size under a new
//! reference. At the end of the file the orders still resting from that pass are deleted
//! and the file starts over with an empty map (fresh references). Other message types are
//! not order book changes and are skipped.
//!
//! Synthetic: per symbol a mid that moves by one tick a quarter of the time; each step picks
//! a symbol and one of: a passive add 1-5 ticks from the mid (never crossing), a cancel of a
//! random resting background order, or an aggressive immediate-or-cancel order 2 ticks
//! through the opposite best, which fills resting orders of anyone, participants included.
//! The same seed and the same inputs give the same messages.
//!
//! Ticks (benchmarks): a deterministic tick generator in which every step is one book change
//! that moves a market maker's quotes (see [`Ticks`]). The engine sends each tick in a
//! packet of its own, paced to the rate rather than in 1 ms bursts.
//!
//! Rate control ([`Pacer`]): steps are owed at `rate` per second since the rate was set;
//! each timer tick performs what is owed, at most [`MAX_STEPS_PER_TICK`]; when more than one
//! second behind, the backlog is forgotten (counted) rather than burst out.

use std::{collections::HashMap, io::Read as _, path::Path};

use tickwire_protocol::itch::{self, BinaryFileReader};

use crate::{
    book::{Exchange, NewOrder, OrderRef, Owner, Side},
    rng::Rng,
};

/// Most flow steps per timer tick.
pub const MAX_STEPS_PER_TICK: u64 = 10_000;

/// Most consecutive skipped replay messages per step.
const MAX_SKIPS_PER_STEP: usize = 64;

/// Background orders per symbol above which the synthetic flow only cancels.
const SYNTHETIC_MAX_RESTING: usize = 400;

/// One change the engine applies to the books.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowAction {
    /// Enter a background order under this reference.
    Enter(OrderRef, NewOrder),
    /// Reduce an order to this many open shares (0 deletes it).
    Cancel(OrderRef, u32),
    /// Execute shares of an order against nobody (a replayed execution).
    Execute(OrderRef, u32),
    /// Replace an order (old reference, new reference, new order).
    Replace(OrderRef, OrderRef, NewOrder),
}

/// Paces steps at a rate.
#[derive(Debug, Clone)]
pub struct Pacer {
    rate: u64,
    since_ns: u64,
    done: u64,
    /// Steps forgotten because the venue fell more than a second behind.
    pub skipped: u64,
}

impl Pacer {
    /// Steps at `rate` per second from `now_ns`.
    #[must_use]
    pub const fn new(rate: u64, now_ns: u64) -> Self {
        Self {
            rate,
            since_ns: now_ns,
            done: 0,
            skipped: 0,
        }
    }

    /// Changes the rate from now on.
    pub const fn set_rate(&mut self, rate: u64, now_ns: u64) {
        self.rate = rate;
        self.since_ns = now_ns;
        self.done = 0;
    }

    /// The rate.
    #[must_use]
    pub const fn rate(&self) -> u64 {
        self.rate
    }

    /// When the next step falls due (monotonic ns); `u64::MAX` while paused.
    #[must_use]
    pub fn next_due_ns(&self) -> u64 {
        if self.rate == 0 {
            return u64::MAX;
        }
        let offset = u128::from(self.done + 1) * 1_000_000_000 / u128::from(self.rate);
        self.since_ns
            .saturating_add(u64::try_from(offset).unwrap_or(u64::MAX))
    }

    /// Steps owed now (at most [`MAX_STEPS_PER_TICK`]); the caller performs them all.
    pub fn owed(&mut self, now_ns: u64) -> u64 {
        let elapsed = u128::from(now_ns.saturating_sub(self.since_ns));
        let due =
            u64::try_from(elapsed * u128::from(self.rate) / 1_000_000_000).unwrap_or(u64::MAX);
        let mut owed = due.saturating_sub(self.done);
        if owed > self.rate.max(1) {
            self.skipped += owed - 1;
            self.done = due - 1;
            owed = 1;
        }
        let owed = owed.min(MAX_STEPS_PER_TICK);
        self.done += owed;
        owed
    }
}

/// A replayable order message from the file, with the symbol resolved.
#[derive(Debug, Clone, Copy)]
enum ReplayMessage {
    Add {
        reference: u64,
        symbol: u16,
        side: Side,
        shares: u32,
        price: u32,
    },
    Execute {
        reference: u64,
        shares: u32,
    },
    Cancel {
        reference: u64,
        shares: u32,
    },
    Delete {
        reference: u64,
    },
    Replace {
        old: u64,
        new: u64,
        shares: u32,
        price: u32,
    },
}

/// Replay state.
#[derive(Debug)]
pub struct Replay {
    messages: Vec<ReplayMessage>,
    next: usize,
    map: HashMap<u64, OrderRef>,
    /// Passes completed.
    pub passes: u64,
    /// Messages skipped because the order was not there.
    pub skipped: u64,
    /// Messages applied.
    pub applied: u64,
}

/// Why a replay file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// Reading the file.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not a BinaryFILE of ITCH 5.0 messages.
    #[error("{path}: {source}")]
    Format {
        /// The file.
        path: String,
        /// The error.
        source: itch::BinaryFileError,
    },
    /// No order message of the venue's symbols.
    #[error("{path} has no order messages for the symbols {symbols:?}")]
    Empty {
        /// The file.
        path: String,
        /// The symbols.
        symbols: Vec<String>,
    },
}

impl Replay {
    /// Loads an ITCH 5.0 BinaryFILE (gzip-compressed if it ends in `.gz`), keeping the order
    /// messages of `symbols` (matched through the file's Stock Directory and the stock field).
    ///
    /// # Errors
    /// [`FlowError`] if the file cannot be read or parsed, or has nothing to replay.
    pub fn load(path: &Path, symbols: &[String]) -> Result<Self, FlowError> {
        let name = path.display().to_string();
        let io = |source| FlowError::Io {
            path: name.clone(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut raw = Vec::new();
        if path.extension().is_some_and(|ext| ext == "gz") {
            flate2::read::GzDecoder::new(file)
                .read_to_end(&mut raw)
                .map_err(io)?;
        } else {
            std::io::BufReader::new(file)
                .read_to_end(&mut raw)
                .map_err(io)?;
        }
        let symbol_of = |stock: &itch::Stock| {
            symbols
                .iter()
                .position(|symbol| symbol.as_bytes() == stock.as_bytes())
                .and_then(|index| u16::try_from(index).ok())
        };
        let mut locates: HashMap<u16, u16> = HashMap::new();
        let mut messages = Vec::new();
        for frame in BinaryFileReader::new(&raw) {
            let (_, bytes) = frame.map_err(|source| FlowError::Format {
                path: name.clone(),
                source,
            })?;
            let Ok(message) = itch::decode(bytes) else {
                continue;
            };
            let side = |byte: u8| if byte == b'B' { Side::Buy } else { Side::Sell };
            let replay = match message {
                itch::Message::StockDirectory(directory) => {
                    if let Some(symbol) = symbol_of(&directory.stock) {
                        locates.insert(directory.stock_locate, symbol);
                    }
                    None
                }
                itch::Message::AddOrder(add) => symbol_of(&add.stock)
                    .or_else(|| locates.get(&add.stock_locate).copied())
                    .map(|symbol| ReplayMessage::Add {
                        reference: add.order_reference_number,
                        symbol,
                        side: side(add.buy_sell_indicator),
                        shares: add.shares,
                        price: add.price,
                    }),
                itch::Message::AddOrderMpid(add) => symbol_of(&add.stock)
                    .or_else(|| locates.get(&add.stock_locate).copied())
                    .map(|symbol| ReplayMessage::Add {
                        reference: add.order_reference_number,
                        symbol,
                        side: side(add.buy_sell_indicator),
                        shares: add.shares,
                        price: add.price,
                    }),
                itch::Message::OrderExecuted(executed) => Some(ReplayMessage::Execute {
                    reference: executed.order_reference_number,
                    shares: executed.executed_shares,
                }),
                itch::Message::OrderExecutedWithPrice(executed) => Some(ReplayMessage::Execute {
                    reference: executed.order_reference_number,
                    shares: executed.executed_shares,
                }),
                itch::Message::OrderCancel(cancel) => Some(ReplayMessage::Cancel {
                    reference: cancel.order_reference_number,
                    shares: cancel.canceled_shares,
                }),
                itch::Message::OrderDelete(delete) => Some(ReplayMessage::Delete {
                    reference: delete.order_reference_number,
                }),
                itch::Message::OrderReplace(replace) => Some(ReplayMessage::Replace {
                    old: replace.original_order_reference_number,
                    new: replace.new_order_reference_number,
                    shares: replace.shares,
                    price: replace.price,
                }),
                _ => None,
            };
            messages.extend(replay);
        }
        if !messages
            .iter()
            .any(|message| matches!(message, ReplayMessage::Add { .. }))
        {
            return Err(FlowError::Empty {
                path: name,
                symbols: symbols.to_vec(),
            });
        }
        Ok(Self {
            messages,
            next: 0,
            map: HashMap::new(),
            passes: 0,
            skipped: 0,
            applied: 0,
        })
    }

    /// Messages in one pass.
    #[must_use]
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// True if there is nothing to replay.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// One applied message (skipping at most [`MAX_SKIPS_PER_STEP`] unusable ones).
    fn step(&mut self, exchange: &mut Exchange, out: &mut Vec<FlowAction>) {
        for _ in 0..MAX_SKIPS_PER_STEP {
            let Some(&message) = self.messages.get(self.next) else {
                // End of the file: delete what this pass left, start over.
                let mut leftovers: Vec<OrderRef> = self
                    .map
                    .drain()
                    .map(|(_, order_ref)| order_ref)
                    .filter(|&order_ref| exchange.order(order_ref).is_some())
                    .collect();
                leftovers.sort_unstable();
                out.extend(
                    leftovers
                        .into_iter()
                        .map(|order_ref| FlowAction::Cancel(order_ref, 0)),
                );
                self.next = 0;
                self.passes += 1;
                return;
            };
            self.next += 1;
            let live = |map: &HashMap<u64, OrderRef>, reference: u64| {
                map.get(&reference)
                    .copied()
                    .filter(|&order_ref| exchange.order(order_ref).is_some())
            };
            let action = match message {
                ReplayMessage::Add {
                    reference,
                    symbol,
                    side,
                    shares,
                    price,
                } => {
                    if shares == 0 || price == 0 {
                        None
                    } else {
                        let order_ref = exchange.allocate_ref();
                        self.map.insert(reference, order_ref);
                        Some(FlowAction::Enter(
                            order_ref,
                            NewOrder {
                                owner: Owner::Background,
                                symbol,
                                side,
                                price,
                                shares,
                                ioc: false,
                                displayed: true,
                            },
                        ))
                    }
                }
                ReplayMessage::Execute { reference, shares } => live(&self.map, reference)
                    .map(|order_ref| FlowAction::Execute(order_ref, shares)),
                ReplayMessage::Cancel { reference, shares } => {
                    live(&self.map, reference).and_then(|order_ref| {
                        let remaining = exchange.order(order_ref)?.remaining;
                        Some(FlowAction::Cancel(
                            order_ref,
                            remaining.saturating_sub(shares),
                        ))
                    })
                }
                ReplayMessage::Delete { reference } => {
                    let found = live(&self.map, reference);
                    self.map.remove(&reference);
                    found.map(|order_ref| FlowAction::Cancel(order_ref, 0))
                }
                ReplayMessage::Replace {
                    old,
                    new,
                    shares,
                    price,
                } => {
                    let found = live(&self.map, old);
                    self.map.remove(&old);
                    found.and_then(|old_ref| {
                        let resting = *exchange.order(old_ref)?;
                        if shares == 0 || price == 0 {
                            return Some(FlowAction::Cancel(old_ref, 0));
                        }
                        let new_ref = exchange.allocate_ref();
                        self.map.insert(new, new_ref);
                        Some(FlowAction::Replace(
                            old_ref,
                            new_ref,
                            NewOrder {
                                owner: Owner::Background,
                                symbol: resting.symbol,
                                side: resting.side,
                                price,
                                shares,
                                ioc: false,
                                displayed: true,
                            },
                        ))
                    })
                }
            };
            match action {
                Some(action) => {
                    self.applied += 1;
                    out.push(action);
                    return;
                }
                None => self.skipped += 1,
            }
        }
    }
}

/// Synthetic flow settings.
#[derive(Debug, Clone)]
pub struct SyntheticConfig {
    /// Symbols (indexes into the venue's list) the flow trades.
    pub symbols: Vec<u16>,
    /// Tick per symbol index, `Price(4)` raw.
    pub ticks: Vec<u32>,
    /// Starting mid, `Price(4)` raw.
    pub start_price: u32,
    /// Seed.
    pub seed: u64,
}

/// Synthetic flow state.
#[derive(Debug)]
pub struct Synthetic {
    config: SyntheticConfig,
    rng: Rng,
    mids: Vec<u32>,
    resting: Vec<Vec<OrderRef>>,
}

impl Synthetic {
    /// A generator.
    #[must_use]
    pub fn new(config: SyntheticConfig) -> Self {
        let count = config.symbols.len();
        Self {
            rng: Rng::new(config.seed),
            mids: vec![config.start_price; count],
            resting: vec![Vec::new(); count],
            config,
        }
    }

    fn step(&mut self, exchange: &mut Exchange, out: &mut Vec<FlowAction>) {
        let count = self.config.symbols.len() as u64;
        if count == 0 {
            return;
        }
        let slot = self.rng.below(count) as usize;
        let (Some(&symbol), Some(mid)) = (self.config.symbols.get(slot), self.mids.get_mut(slot))
        else {
            return;
        };
        let tick = self
            .config
            .ticks
            .get(usize::from(symbol))
            .copied()
            .unwrap_or(100)
            .max(1);
        match self.rng.below(8) {
            0 => *mid = mid.saturating_add(tick),
            1 if *mid > 20 * tick => *mid -= tick,
            _ => {}
        }
        let mid = *mid;
        let Some(resting) = self.resting.get_mut(slot) else {
            return;
        };
        // Forget orders that are gone (filled or canceled), a bounded number per step.
        for _ in 0..4 {
            let Some(index) =
                (!resting.is_empty()).then(|| self.rng.below(resting.len() as u64) as usize)
            else {
                break;
            };
            if resting
                .get(index)
                .is_some_and(|&order_ref| exchange.order(order_ref).is_none())
            {
                resting.swap_remove(index);
            }
        }
        let (best_bid, best_ask) = exchange.best(symbol);
        let side = if self.rng.below(2) == 0 {
            Side::Buy
        } else {
            Side::Sell
        };
        let roll = self.rng.below(100);
        let too_many = resting.len() > SYNTHETIC_MAX_RESTING;
        if (55..80).contains(&roll) || too_many {
            if resting.is_empty() {
                return;
            }
            let index = self.rng.below(resting.len() as u64) as usize;
            let order_ref = resting.swap_remove(index);
            if exchange.order(order_ref).is_some() {
                out.push(FlowAction::Cancel(order_ref, 0));
            }
            return;
        }
        let shares = 100 * (1 + self.rng.below(5) as u32);
        let order_ref = exchange.allocate_ref();
        if roll >= 80 {
            // Aggressive: two ticks through the opposite best, immediate or cancel.
            let price = match side {
                Side::Buy => best_ask.map(|ask| ask.saturating_add(2 * tick)),
                Side::Sell => best_bid.and_then(|bid| bid.checked_sub(2 * tick)),
            };
            if let Some(price) = price.filter(|&price| price > 0) {
                out.push(FlowAction::Enter(
                    order_ref,
                    NewOrder {
                        owner: Owner::Background,
                        symbol,
                        side,
                        price,
                        shares,
                        ioc: true,
                        displayed: true,
                    },
                ));
                return;
            }
        }
        // Passive: 1-5 ticks from the mid, kept behind the opposite best.
        let offset = tick * (1 + self.rng.below(5) as u32);
        let price = match side {
            Side::Buy => {
                let price = mid.saturating_sub(offset);
                best_ask.map_or(price, |ask| price.min(ask.saturating_sub(tick)))
            }
            Side::Sell => {
                let price = mid.saturating_add(offset);
                best_bid.map_or(price, |bid| price.max(bid.saturating_add(tick)))
            }
        };
        if price == 0 {
            return;
        }
        resting.push(order_ref);
        out.push(FlowAction::Enter(
            order_ref,
            NewOrder {
                owner: Owner::Background,
                symbol,
                side,
                price,
                shares,
                ioc: false,
                displayed: true,
            },
        ));
    }
}

/// Shares of each of the two resting background orders a tick symbol starts with.
pub const TICKS_BASE_SHARES: u32 = 100;
/// Shares of the large order a tick moves between the bid and the ask.
pub const TICKS_BIG_SHARES: u32 = 900_000;

/// Tick generator for wire-to-wire benchmarks: every step after the set-up moves the
/// microprice of one symbol (round robin) across a tick, so a market maker requotes on
/// every tick.
///
/// Per symbol, set-up (two steps): a background bid of [`TICKS_BASE_SHARES`] at
/// `start − tick` and an ask of as many at `start` (one tick wide). Then each step of that
/// symbol deletes the large order (if any) and enters [`TICKS_BIG_SHARES`] on the other side
/// at the best price, alternating: first on the bid. The microprice swings between just
/// under the ask and just over the bid; a market maker quoting `min_spread_ticks = 3`
/// around it moves both quotes by one tick on every tick (and never joins the best prices,
/// so its own orders do not feed back into the microprice). Both actions of a step belong
/// in one feed packet, so a consumer never sees the in-between book.
#[derive(Debug)]
pub struct Ticks {
    symbols: Vec<u16>,
    ticks: Vec<u32>,
    start_price: u32,
    /// Per symbol: set-up steps done (0..=2).
    set_up: Vec<u8>,
    /// Per symbol: the large order and whether it is on the bid.
    big: Vec<Option<(OrderRef, bool)>>,
    next: usize,
    /// Steps after the set-up (ticks) performed.
    pub ticks_sent: u64,
}

impl Ticks {
    /// A generator over `symbols` (with their `ticks`, `Price(4)` raw) around `start_price`.
    #[must_use]
    pub fn new(symbols: Vec<u16>, ticks: Vec<u32>, start_price: u32) -> Self {
        let count = symbols.len();
        Self {
            symbols,
            ticks,
            start_price,
            set_up: vec![0; count],
            big: vec![None; count],
            next: 0,
            ticks_sent: 0,
        }
    }

    fn step(&mut self, exchange: &mut Exchange, out: &mut Vec<FlowAction>) {
        let count = self.symbols.len();
        if count == 0 {
            return;
        }
        let slot = self.next % count;
        self.next = self.next.wrapping_add(1);
        let symbol = self.symbols[slot];
        let tick = self
            .ticks
            .get(usize::from(symbol))
            .copied()
            .unwrap_or(100)
            .max(1);
        let ask = self.start_price.max(2 * tick);
        let bid = ask - tick;
        let order = |side, price, shares| NewOrder {
            owner: Owner::Background,
            symbol,
            side,
            price,
            shares,
            ioc: false,
            displayed: true,
        };
        let set_up = &mut self.set_up[slot];
        if *set_up < 2 {
            let (side, price) = if *set_up == 0 {
                (Side::Buy, bid)
            } else {
                (Side::Sell, ask)
            };
            *set_up += 1;
            out.push(FlowAction::Enter(
                exchange.allocate_ref(),
                order(side, price, TICKS_BASE_SHARES),
            ));
            return;
        }
        let on_bid = match self.big[slot] {
            Some((order_ref, was_bid)) => {
                if exchange.order(order_ref).is_some() {
                    out.push(FlowAction::Cancel(order_ref, 0));
                }
                !was_bid
            }
            None => true,
        };
        let order_ref = exchange.allocate_ref();
        let (side, price) = if on_bid {
            (Side::Buy, bid)
        } else {
            (Side::Sell, ask)
        };
        out.push(FlowAction::Enter(
            order_ref,
            order(side, price, TICKS_BIG_SHARES),
        ));
        self.big[slot] = Some((order_ref, on_bid));
        self.ticks_sent += 1;
    }
}

/// The configured background flow.
#[derive(Debug)]
pub enum Flow {
    /// No background flow.
    None,
    /// File replay.
    Replay(Replay),
    /// Random walk.
    Synthetic(Synthetic),
    /// Benchmark tick generator.
    Ticks(Ticks),
}

impl Flow {
    /// The actions of one step (none for [`Flow::None`]).
    pub fn step(&mut self, exchange: &mut Exchange, out: &mut Vec<FlowAction>) {
        match self {
            Self::None => {}
            Self::Replay(replay) => replay.step(exchange, out),
            Self::Synthetic(synthetic) => synthetic.step(exchange, out),
            Self::Ticks(ticks) => ticks.step(exchange, out),
        }
    }

    /// Name for status answers.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Replay(_) => "replay",
            Self::Synthetic(_) => "synthetic",
            Self::Ticks(_) => "ticks",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/data/itch/ex20101224.TEST_ITCH_50.gz")
    }

    fn symbols() -> Vec<String> {
        ["ALC", "BOB", "CHAR"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    }

    #[test]
    fn pacer_owes_steps_at_the_rate_and_forgets_a_long_backlog() {
        let mut pacer = Pacer::new(1000, 0);
        assert_eq!(pacer.owed(0), 0);
        assert_eq!(pacer.owed(1_000_000), 1);
        assert_eq!(pacer.owed(10_000_000), 9);
        assert_eq!(pacer.owed(10_500_000), 0);
        // Five seconds late: one step, the rest forgotten.
        assert_eq!(pacer.owed(5_010_000_000), 1);
        assert!(pacer.skipped > 4_000);
        pacer.set_rate(0, 6_000_000_000);
        assert_eq!(pacer.owed(7_000_000_000), 0);
    }

    #[test]
    fn pacer_next_due_follows_the_rate() {
        let mut pacer = Pacer::new(4_000, 1_000);
        assert_eq!(pacer.next_due_ns(), 1_000 + 250_000);
        assert_eq!(pacer.owed(251_000), 1);
        assert_eq!(pacer.next_due_ns(), 1_000 + 500_000);
        pacer.set_rate(0, 0);
        assert_eq!(pacer.next_due_ns(), u64::MAX);
    }

    #[test]
    fn ticks_swing_the_large_order_between_bid_and_ask() {
        // Two symbols, tick $0.01, start $100.00.
        let mut ticks = Ticks::new(vec![0, 1], vec![100, 100], 1_000_000);
        let mut exchange = Exchange::new(2);
        let mut actions = Vec::new();
        let mut effects = Vec::new();
        let mut per_step = Vec::new();
        for _ in 0..4 + 2 * 6 {
            actions.clear();
            ticks.step(&mut exchange, &mut actions);
            per_step.push(actions.clone());
            for action in &actions {
                match *action {
                    FlowAction::Enter(order_ref, order) => {
                        exchange.enter(order_ref, order, &mut effects);
                    }
                    FlowAction::Cancel(order_ref, shares) => {
                        assert!(exchange.cancel(order_ref, shares, None, &mut effects));
                    }
                    _ => unreachable!("ticks only enter and cancel"),
                }
            }
            for symbol in 0..2 {
                if let (Some(bid), Some(ask)) = exchange.best(symbol) {
                    assert_eq!(
                        (bid, ask),
                        (999_900, 1_000_000),
                        "one tick wide, never moves"
                    );
                }
            }
        }
        assert_eq!(ticks.ticks_sent, 12);
        // Set-up: one order per step; the first tick of a symbol only enters.
        assert!(per_step[..6].iter().all(|step| step.len() == 1));
        // Afterwards every tick deletes the large order and enters it on the other side.
        let mut sides = Vec::new();
        for step in &per_step[6..] {
            assert_eq!(step.len(), 2, "{step:?}");
            assert!(matches!(step[0], FlowAction::Cancel(_, 0)));
            let FlowAction::Enter(_, order) = step[1] else {
                panic!("{step:?}");
            };
            assert_eq!(order.shares, TICKS_BIG_SHARES);
            sides.push((order.symbol, order.side));
        }
        assert_eq!(
            sides[..4],
            [
                (0, Side::Sell),
                (1, Side::Sell),
                (0, Side::Buy),
                (1, Side::Buy)
            ]
        );
        assert!(
            effects
                .iter()
                .all(|effect| !matches!(effect, crate::book::Effect::Executed { .. }))
        );
    }

    #[test]
    fn replay_loads_the_sample_and_skips_orphans() {
        let mut replay = Replay::load(&sample(), &symbols()).expect("sample loads");
        assert!(replay.len() > 6_000, "{}", replay.len());
        let mut exchange = Exchange::new(3);
        let mut actions = Vec::new();
        let mut effects = Vec::new();
        let steps = replay.len() + 10;
        for _ in 0..steps {
            actions.clear();
            replay.step(&mut exchange, &mut actions);
            for action in &actions {
                match *action {
                    FlowAction::Enter(order_ref, order) => {
                        exchange.enter(order_ref, order, &mut effects);
                    }
                    FlowAction::Cancel(order_ref, shares) => {
                        assert!(exchange.cancel(order_ref, shares, None, &mut effects));
                    }
                    FlowAction::Execute(order_ref, shares) => {
                        assert!(exchange.execute(order_ref, shares, &mut effects));
                    }
                    FlowAction::Replace(old, new, order) => {
                        assert!(exchange.replace(old, new, order, &mut effects).is_some());
                    }
                }
            }
            // The venue's book is never crossed, whatever the file does.
            for symbol in 0..3 {
                if let (Some(bid), Some(ask)) = exchange.best(symbol) {
                    assert!(
                        bid < ask,
                        "crossed book for symbol {symbol}: {bid} >= {ask}"
                    );
                }
            }
        }
        assert!(replay.passes >= 1, "the file wrapped");
        assert!(
            replay.skipped > 0,
            "the sample references orders it never adds"
        );
    }

    #[test]
    fn synthetic_is_deterministic_and_crosses_the_spread() {
        let config = SyntheticConfig {
            symbols: vec![0, 1],
            ticks: vec![100, 100],
            start_price: 1_000_000,
            seed: 42,
        };
        let run = || {
            let mut synthetic = Synthetic::new(config.clone());
            let mut exchange = Exchange::new(2);
            let mut actions = Vec::new();
            let mut effects = Vec::new();
            let mut all = Vec::new();
            for _ in 0..5_000 {
                actions.clear();
                synthetic.step(&mut exchange, &mut actions);
                for action in &actions {
                    match *action {
                        FlowAction::Enter(order_ref, order) => {
                            exchange.enter(order_ref, order, &mut effects);
                        }
                        FlowAction::Cancel(order_ref, shares) => {
                            exchange.cancel(order_ref, shares, None, &mut effects);
                        }
                        _ => unreachable!("synthetic flow only enters and cancels"),
                    }
                }
                all.extend(actions.iter().copied());
            }
            (all, effects)
        };
        let (first, effects) = run();
        let (second, _) = run();
        assert_eq!(first, second);
        let executions = effects
            .iter()
            .filter(|effect| matches!(effect, crate::book::Effect::Executed { .. }))
            .count();
        assert!(executions > 100, "{executions}");
        assert!(
            first
                .iter()
                .any(|action| matches!(action, FlowAction::Enter(_, NewOrder { ioc: true, .. })))
        );
    }
}
