//! The engine: one pinned, busy-polling loop from a received feed packet to an order frame.
//!
//! Per iteration:
//! 1. **Receive** a batch ([`PacketIo::poll`]): feed packets go through MoldUDP64
//!    sequencing into the L3 books, or (Binance feeds) through relay reassembly and the
//!    Binance decoder into the L2 books; venue datagrams through the UFO session into the order
//!    manager. Strategies see book changes (once per packet per symbol, on the final state)
//!    and order events, and push intents.
//! 2. **Decide and send** every intent: pre-trade risk gate against one limits snapshot →
//!    **audit record written before the frame leaves** (a full audit ring refuses the
//!    order and trips the kill switch) → order manager → OUCH encoded into a UFO packet
//!    straight into a transmit frame.
//! 3. **Housekeeping**: control messages from the link thread (limits snapshots, kill,
//!    strategy commands), gap-recovery and session timers, kill-switch cancels,
//!    staleness, statistics. Then one flush (one AF_XDP kick) for the whole iteration.
//!
//! The loop allocates nothing after [`Engine::new`]: every buffer is sized from the
//! configuration. It makes no system calls besides the I/O backend's batched ones.

mod control;

use std::sync::atomic::{AtomicBool, Ordering};

pub use control::{ControlMessage, EngineHandles};
use tickwire_common::{Price, Qty};
use tickwire_link::abi::{
    AuditKind, AuditRecord, Command, CommandKind, KillReason, LATENCY_BUCKETS, LimitsSnapshot,
    MAX_SYMBOLS, PositionRecord, RiskReason, STAT_COUNTERS, StatCounter, Stats, TopRecord,
    latency_bucket,
};
use tickwire_protocol::{
    itch::{self, Message},
    moldudp64::Request,
    ouch::{
        self, Capacity, CrossType, CustomerType, Display, Firm, IntermarketSweep, OutboundMessage,
        Price4, Stock, TimeInForce as OuchTimeInForce, Token,
    },
    soupbintcp::{Password, Session, Username},
};

use crate::{
    audit::{AuditWriter, audit_ring},
    book::{
        Side, Staleness, TopOfBook,
        l3::{L3Books, L3Config},
    },
    clock::{WallClock, monotonic_ns},
    config::{DataPlaneConfig, FeedKind, symbol_bytes},
    feed::{
        binance::{BinanceFeed, BinanceFeedConfig, FeedEvent},
        mold::{MoldConfig, MoldRecovery},
    },
    io::{DestId, IoConfig, IoCounters, IoError, Listen, PacketIo, RxAction, RxDatagram},
    orders::{Applied, OrderConfig, OrderManager},
    risk::{CheckKind, MarketRisk, RiskCheck, RiskGate},
    session::ufo::{SessionState, UfoClient, UfoConfig},
    strategy::{
        Intent, IntentBuffer, MarketView, OrderId, OrderState, OrderView, Strategy,
        StrategyContext, SymbolId, TimeInForce, build,
    },
};

const NANOS_PER_MS: u64 = 1_000_000;
/// Pending intents per iteration (beyond it they are dropped and counted).
const MAX_PENDING_INTENTS: usize = 1024;
/// Venue messages decoded per datagram.
const MAX_VENUE_MESSAGES: usize = 256;
/// Control packets (login, heartbeat, resends, gap requests) per iteration.
const MAX_CONTROL_PACKETS: usize = 4;
/// While the kill switch is on, live orders are (re)canceled this often.
const KILL_CANCEL_INTERVAL_NS: u64 = 100 * NANOS_PER_MS;
/// Books are checked for quietness this often.
const STALE_CHECK_INTERVAL_NS: u64 = 10 * NANOS_PER_MS;
/// Largest order quantity in shares the venue accepts in one message.
const AUDIT_ACTOR_ENGINE: [u8; 24] = *b"engine\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

/// Errors building or running the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The configuration cannot be turned into an engine.
    #[error("{0}")]
    Config(String),
    /// Packet I/O failed.
    #[error(transparent)]
    Io(#[from] IoError),
}

/// The I/O configuration an engine for `config` needs: the feeds' addresses, their
/// retransmission reply ports and the venue session's local port.
#[must_use]
pub fn io_config(config: &DataPlaneConfig) -> IoConfig {
    let mut listen = Vec::new();
    for feed in &config.feeds {
        listen.push(Listen {
            addr: *feed.listen.ip(),
            port: feed.listen.port(),
        });
        if let Some(port) = feed.request_port {
            listen.push(Listen {
                addr: std::net::Ipv4Addr::UNSPECIFIED,
                port,
            });
        }
    }
    listen.push(Listen {
        addr: std::net::Ipv4Addr::UNSPECIFIED,
        port: config.venue.local_port,
    });
    let io = &config.io;
    IoConfig {
        iface: io.iface.clone(),
        backend: io.backend,
        xdp_mode: io.xdp_mode,
        queue: io.queue,
        frame_count: io.frame_count,
        frame_size: io.frame_size,
        ring_size: io.ring_size,
        batch: io.batch,
        busy_poll_us: io.busy_poll_us,
        listen,
    }
}

/// A traded symbol.
#[derive(Debug)]
struct Symbol {
    name: [u8; 8],
    venue_stock: Stock,
    tick: Price,
    /// Index in `Core::feeds` (ITCH symbols; `usize::MAX` for a Binance symbol).
    feed: usize,
    book: u16,
    /// Binance symbols: (index in `Core::binance`, book in that feed).
    l2: Option<(usize, usize)>,
    last_trade: Price,
    /// Local (monotonic) time of the last book change.
    last_update_ns: u64,
    strategies: Vec<u8>,
    dirty: bool,
    trigger_seq: u64,
    tradable: bool,
}

/// An ITCH-over-MoldUDP64 feed with its books.
#[derive(Debug)]
struct ItchFeed {
    ports: [u16; 2],
    retransmit: Option<DestId>,
    recovery: MoldRecovery,
    books: L3Books,
    /// Book index → symbol.
    book_symbol: Vec<SymbolId>,
    pending_requests: Vec<Request>,
    gap: bool,
}

/// A Binance feed: its port and its L2 books.
#[derive(Debug)]
struct BinanceSlot {
    name: String,
    port: u16,
    feed: BinanceFeed,
    /// Book index → symbol.
    book_symbol: Vec<SymbolId>,
}

struct StrategySlot {
    strategy: Box<dyn Strategy>,
    enabled: bool,
}

impl std::fmt::Debug for StrategySlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StrategySlot")
            .field("strategy", &self.strategy.name())
            .field("enabled", &self.enabled)
            .finish()
    }
}

/// An intent waiting for the decide-and-send phase.
#[derive(Debug, Clone, Copy)]
struct Pending {
    strategy: u8,
    intent: Intent,
    trigger_seq: u64,
    rx_ns: u64,
}

/// Position and PnL of one symbol at the end of a run (raw 10^-8 units).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct PositionReport {
    /// Symbol.
    pub symbol: [u8; 8],
    /// Signed position.
    pub qty: i64,
    /// Realized PnL (average cost).
    pub realized: i64,
    /// Unrealized PnL at `mark`.
    pub unrealized: i64,
    /// Mark price (mid or last fill; `i64::MIN` if none).
    pub mark: i64,
}

/// What an engine run did.
#[derive(Debug, Clone, Copy)]
pub struct EngineReport {
    /// Loop iterations.
    pub iterations: u64,
    /// Counters indexed by [`StatCounter`].
    pub counters: [u64; STAT_COUNTERS],
    /// I/O backend counters.
    pub io: IoCounters,
    /// Highest audit sequence written.
    pub audit_seq: u64,
    /// Orders still live at exit (0 after a clean shutdown).
    pub live_orders: usize,
}

impl<I: PacketIo> Engine<I> {
    /// Position and PnL of every symbol.
    #[must_use]
    pub fn positions(&self) -> Vec<PositionReport> {
        self.core
            .symbols
            .iter()
            .enumerate()
            .filter_map(|(index, symbol)| {
                // `index` < MAX_SYMBOLS.
                let position = self.core.orders.position(index as SymbolId)?;
                Some(PositionReport {
                    symbol: symbol.name,
                    qty: position.qty.raw(),
                    realized: position.realized_pnl(),
                    unrealized: position.unrealized_pnl(),
                    mark: position.mark.raw(),
                })
            })
            .collect()
    }
}

/// Everything but the I/O backend.
#[derive(Debug)]
struct Core {
    wall: WallClock,
    symbols: Vec<Symbol>,
    feeds: Vec<ItchFeed>,
    binance: Vec<BinanceSlot>,
    venue: UfoClient,
    venue_dest: DestId,
    venue_port: u16,
    venue_server: std::net::SocketAddrV4,
    firm: Firm,
    orders: OrderManager,
    risk: RiskGate,
    strategies: Vec<StrategySlot>,
    intents: IntentBuffer,
    pending: Vec<Pending>,
    scratch_orders: Vec<OrderView>,
    scratch_ids: Vec<OrderId>,
    /// The venue's messages of one datagram, with their server sequence numbers.
    venue_messages: Vec<(u64, OutboundMessage)>,
    audit: AuditWriter,
    control: rtrb::Consumer<ControlMessage>,
    stats: rtrb::Producer<Stats>,
    counters: [u64; STAT_COUNTERS],
    latency: [u64; LATENCY_BUCKETS],
    cancel_all_due: bool,
    next_kill_cancel_ns: u64,
    next_stale_check_ns: u64,
    next_stats_ns: u64,
    stats_interval_ns: u64,
    max_quiet_ns: u64,
}

/// The engine of one pipeline.
#[derive(Debug)]
pub struct Engine<I: PacketIo> {
    io: I,
    core: Core,
}

fn side_byte(side: Side) -> u8 {
    match side {
        Side::Bid => b'B',
        Side::Ask => b'S',
    }
}

fn ouch_side(side: Side) -> ouch::Side {
    match side {
        Side::Bid => ouch::Side::BUY,
        Side::Ask => ouch::Side::SELL,
    }
}

fn itch_price(raw: u32) -> Price {
    Price::from_scaled(i64::from(raw), 4).unwrap_or(Price::NONE)
}

impl<I: PacketIo> Engine<I> {
    /// Builds the engine on an opened backend: symbols, books, feeds, the venue session,
    /// strategies, order manager and risk gate, all sized from `config`. Returns the ends
    /// of the rings the link thread uses.
    ///
    /// # Errors
    /// [`EngineError`] if a destination cannot be resolved or the configuration is
    /// inconsistent.
    pub fn new(config: &DataPlaneConfig, io: I) -> Result<(Self, EngineHandles), EngineError> {
        Self::resume(config, io, 0)
    }

    /// [`Engine::new`] for a restarted data plane: audit sequence numbers continue after
    /// `last_audit_seq` (the control plane keeps only the first record of each number).
    ///
    /// # Errors
    /// As [`Engine::new`].
    pub fn resume(
        config: &DataPlaneConfig,
        mut io: I,
        last_audit_seq: u64,
    ) -> Result<(Self, EngineHandles), EngineError> {
        let invalid = |message: String| EngineError::Config(message);
        let mut symbols = Vec::with_capacity(config.symbols.len());
        let mut feeds = Vec::with_capacity(config.feeds.len());
        let mut binance = Vec::with_capacity(config.feeds.len());
        // Configuration feed index → (Binance?, index in `feeds` or `binance`).
        let mut feed_slots = Vec::with_capacity(config.feeds.len());
        for feed in &config.feeds {
            if feed.kind == FeedKind::Binance {
                feed_slots.push((true, binance.len()));
                binance.push(BinanceSlot {
                    name: feed.name.clone(),
                    port: feed.listen.port(),
                    feed: BinanceFeed::new(BinanceFeedConfig::default()),
                    book_symbol: Vec::with_capacity(config.symbols.len()),
                });
                continue;
            }
            feed_slots.push((false, feeds.len()));
            let retransmit = match (feed.retransmit, feed.request_port) {
                (Some(server), Some(port)) => Some(io.add_destination(port, server)?),
                (Some(server), None) => Some(io.add_destination(feed.listen.port(), server)?),
                _ => None,
            };
            feeds.push(ItchFeed {
                ports: [
                    feed.listen.port(),
                    feed.request_port.unwrap_or(feed.listen.port()),
                ],
                retransmit,
                recovery: MoldRecovery::new(MoldConfig {
                    start_sequence: feed.start_sequence,
                    max_buffered_packets: feed.max_buffered_packets,
                    max_packet_len: config.io.frame_size as usize,
                    request_timeout_ns: feed.gap_request_timeout_ms * NANOS_PER_MS,
                    max_requests: feed.gap_max_requests,
                    give_up_ns: feed.gap_give_up_ms * NANOS_PER_MS,
                    max_request_count: u16::MAX - 1,
                }),
                books: L3Books::new(L3Config {
                    max_books: config.symbols.len(),
                    strict_references: feed.strict_references,
                    ..L3Config::default()
                }),
                book_symbol: Vec::with_capacity(config.symbols.len()),
                pending_requests: Vec::with_capacity(16),
                gap: false,
            });
        }
        for (index, symbol) in config.symbols.iter().enumerate() {
            let name = symbol_bytes(&symbol.name).map_err(invalid)?;
            let feed = config
                .feeds
                .iter()
                .position(|feed| feed.name == symbol.feed)
                .ok_or_else(|| invalid(format!("symbol {}: unknown feed", symbol.name)))?;
            let id = SymbolId::try_from(index).map_err(|_| invalid("too many symbols".into()))?;
            let (feed, book, l2) = match feed_slots[feed] {
                (true, slot) => {
                    let book = binance[slot]
                        .feed
                        .subscribe(&symbol.name)
                        .map_err(|error| invalid(format!("symbol {}: {error}", symbol.name)))?;
                    binance[slot].book_symbol.push(id);
                    (usize::MAX, 0, Some((slot, book)))
                }
                (false, feed) => {
                    let book = feeds[feed]
                        .books
                        .subscribe(name)
                        .map_err(|error| invalid(error.to_string()))?;
                    feeds[feed].book_symbol.push(id);
                    (feed, book, None)
                }
            };
            let venue_name = symbol.venue_symbol.as_deref().unwrap_or(&symbol.name);
            symbols.push(Symbol {
                name,
                venue_stock: Stock::from_symbol(venue_name.as_bytes())
                    .map_err(|error| invalid(format!("symbol {venue_name}: {error}")))?,
                tick: Price::from_decimal(symbol.tick.as_bytes())
                    .map_err(|error| invalid(format!("symbol {} tick: {error}", symbol.name)))?,
                feed,
                book,
                l2,
                last_trade: Price::NONE,
                last_update_ns: 0,
                strategies: Vec::with_capacity(config.strategies.len()),
                dirty: false,
                trigger_seq: 0,
                tradable: false,
            });
        }
        let mut strategies = Vec::with_capacity(config.strategies.len());
        for (index, strategy) in config.strategies.iter().enumerate() {
            let ids: Vec<SymbolId> = strategy
                .symbols
                .iter()
                .filter_map(|name| {
                    config
                        .symbols
                        .iter()
                        .position(|symbol| &symbol.name == name)
                })
                .filter_map(|position| SymbolId::try_from(position).ok())
                .collect();
            let built = build::build(&strategy.kind, &ids, &strategy.params)
                .map_err(|error| invalid(format!("strategies[{index}]: {error}")))?;
            let slot = u8::try_from(index).map_err(|_| invalid("too many strategies".into()))?;
            for &id in &ids {
                symbols[usize::from(id)].strategies.push(slot);
            }
            strategies.push(StrategySlot {
                strategy: built,
                enabled: strategy.enabled,
            });
        }
        let venue = &config.venue;
        let text_error = |field: &'static str| {
            move |error: tickwire_protocol::soupbintcp::SoupBinTcpError| {
                EngineError::Config(format!("venue.{field}: {error}"))
            }
        };
        let venue_dest = io.add_destination(venue.local_port, venue.server)?;
        let client = UfoClient::new(UfoConfig {
            session: Session::from_text(venue.session.as_bytes()).map_err(text_error("session"))?,
            username: Username::from_text(venue.username.as_bytes())
                .map_err(text_error("username"))?,
            password: Password::from_text(venue.password.expose().as_bytes())
                .map_err(text_error("password"))?,
            heartbeat_interval_ns: venue.heartbeat_interval_ms * NANOS_PER_MS,
            heartbeat_timeout_ns: venue.heartbeat_timeout_ms * NANOS_PER_MS,
            retransmit_timeout_ns: venue.retransmit_timeout_ms * NANOS_PER_MS,
            max_unacked: config.engine.max_orders * 2,
        });
        let snapshot = config
            .limits_snapshot()
            .map_err(|error| invalid(error.to_string()))?;
        let names: Vec<[u8; 8]> = symbols.iter().map(|symbol| symbol.name).collect();
        let (audit, audit_reader) = audit_ring(config.engine.audit_ring, last_audit_seq);
        let (control_tx, control_rx) = rtrb::RingBuffer::new(64);
        let (stats_tx, stats_rx) = rtrb::RingBuffer::new(4);
        let max_intents = config.engine.max_intents_per_event;
        let core = Core {
            wall: WallClock::new(),
            feeds,
            binance,
            venue: client,
            venue_dest,
            venue_port: venue.local_port,
            venue_server: venue.server,
            firm: Firm::from_text(venue.firm.as_bytes())
                .map_err(|error| invalid(format!("venue.firm: {error}")))?,
            orders: OrderManager::new(OrderConfig {
                max_orders: config.engine.max_orders,
                max_orders_per_symbol: config.engine.max_orders_per_symbol,
                symbols: symbols.len(),
            }),
            risk: RiskGate::new(&names, &snapshot),
            intents: IntentBuffer::with_capacity(max_intents),
            pending: Vec::with_capacity(MAX_PENDING_INTENTS),
            scratch_orders: vec![
                OrderView {
                    id: 0,
                    symbol: 0,
                    side: Side::Bid,
                    price: Price::ZERO,
                    leaves: Qty::ZERO,
                    state: OrderState::Canceled,
                };
                config.engine.max_orders_per_symbol
            ],
            scratch_ids: vec![0; config.engine.max_orders],
            venue_messages: Vec::with_capacity(MAX_VENUE_MESSAGES),
            audit,
            control: control_rx,
            stats: stats_tx,
            counters: [0; STAT_COUNTERS],
            latency: [0; LATENCY_BUCKETS],
            cancel_all_due: false,
            next_kill_cancel_ns: 0,
            next_stale_check_ns: 0,
            next_stats_ns: 0,
            stats_interval_ns: config.engine.stats_interval_ms * NANOS_PER_MS,
            max_quiet_ns: config.engine.max_quiet_ms * NANOS_PER_MS,
            symbols,
            strategies,
        };
        Ok((
            Self { io, core },
            EngineHandles {
                audit: audit_reader,
                stats: stats_rx,
                control: control_tx,
            },
        ))
    }

    /// The I/O backend.
    pub fn io(&self) -> &I {
        &self.io
    }

    /// Numbers order tokens from `first` on (see [`session_token_base`]); before `run`.
    pub fn start_tokens_at(&mut self, first: u64) {
        self.core.orders.start_tokens_at(first);
    }

    /// Logs in to the venue asking for its messages from `next_sequence` on (the previous
    /// run's last logged venue sequence + 1, see `daemon::resume_audit_log`); before `run`.
    pub fn resume_venue_from(&mut self, next_sequence: u64) {
        self.core.venue.resume_from(next_sequence);
    }

    /// The I/O backend, mutably (tests inject datagrams through an in-memory backend).
    pub fn io_mut(&mut self) -> &mut I {
        &mut self.io
    }

    /// Runs until `stop` is set, then shuts down cleanly: trips the kill switch, cancels
    /// every working order and waits (bounded by `shutdown_timeout_ms`) for the venue to
    /// confirm, logs out and publishes a last statistics record.
    ///
    /// # Errors
    /// [`EngineError::Io`] if the backend fails.
    pub fn run(
        &mut self,
        stop: &AtomicBool,
        shutdown_timeout_ms: u64,
    ) -> Result<EngineReport, EngineError> {
        let mut shutdown_deadline = None;
        loop {
            let now = monotonic_ns();
            self.iteration(now)?;
            match shutdown_deadline {
                None if stop.load(Ordering::Relaxed) => {
                    self.core
                        .trip_kill(KillReason::Shutdown, AUDIT_ACTOR_ENGINE, now);
                    shutdown_deadline = Some(now + shutdown_timeout_ms * NANOS_PER_MS);
                }
                Some(deadline) if self.core.orders.live_count() == 0 || now >= deadline => break,
                _ => {}
            }
        }
        self.core.venue.request_logout();
        let now = monotonic_ns();
        self.core.send_control(&mut self.io, now)?;
        self.io.flush()?;
        self.core.publish_stats(now, self.io.counters());
        Ok(self.report())
    }

    /// One loop iteration at time `now` (exposed for tests and benchmarks).
    ///
    /// # Errors
    /// [`EngineError::Io`] if the backend fails.
    #[inline]
    pub fn iteration(&mut self, now: u64) -> Result<(), EngineError> {
        let core = &mut self.core;
        core.counters[StatCounter::LoopIterations as usize] += 1;
        self.io.poll(|datagram| {
            core.on_datagram(datagram, now);
            RxAction::Consume
        })?;
        core.after_poll(&mut self.io, now)?;
        self.io.flush()?;
        Ok(())
    }

    /// Counters and state at this point.
    #[must_use]
    pub fn report(&self) -> EngineReport {
        let mut counters = self.core.counters;
        let feeds = || self.core.feeds.iter().map(|feed| feed.recovery.counters());
        counters[StatCounter::FeedGaps as usize] = feeds().map(|c| c.gaps).sum();
        counters[StatCounter::FeedGapsRecovered as usize] = feeds().map(|c| c.gaps_recovered).sum();
        counters[StatCounter::FeedGapsAbandoned as usize] = feeds().map(|c| c.gaps_abandoned).sum();
        counters[StatCounter::FeedMalformed as usize] += feeds().map(|c| c.malformed).sum::<u64>();
        EngineReport {
            iterations: self.core.counters[StatCounter::LoopIterations as usize],
            counters,
            io: self.io.counters(),
            audit_seq: self.core.audit.last_seq(),
            live_orders: self.core.orders.live_count(),
        }
    }

    /// The venue session's state.
    #[must_use]
    pub fn venue_state(&self) -> SessionState {
        self.core.venue.state()
    }

    /// Every symbol's book as JSON: `{"BOB":{"bids":[[price,shares],...],"asks":[...]},...}`,
    /// best first, prices in ITCH `Price(4)` units (start-up and shutdown tooling only:
    /// allocates). A Binance symbol's book is
    /// `{"feed":name,"state":"synced","last_update_id":u,"counters":{…},"bids":[["61837.63000000","3.78826000"],...],"asks":[...]}`
    /// (decimals with 8 places, as Binance and `tickwire-dataplane book --format binance`
    /// print them), and the key `"binance_feeds"` (longer than any symbol) maps each Binance
    /// feed's name to its counters.
    #[must_use]
    pub fn books_json(&self) -> String {
        let mut out = String::from("{");
        let mut levels = vec![(0u32, 0u64); 1 << 16];
        for (index, symbol) in self.core.symbols.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            if let Some((slot, book)) = symbol.l2 {
                let feed = &self.core.binance[slot];
                out.push_str(&crate::feed::binance::book_json(
                    tickwire_link::abi::text_of(&symbol.name),
                    &feed.name,
                    feed.feed.book(book),
                ));
                continue;
            }
            let books = &self.core.feeds[symbol.feed].books;
            out.push('"');
            out.push_str(tickwire_link::abi::text_of(&symbol.name));
            out.push_str("\":{");
            for (position, (name, side)) in [("bids", Side::Bid), ("asks", Side::Ask)]
                .into_iter()
                .enumerate()
            {
                if position > 0 {
                    out.push(',');
                }
                let count = books.depth(symbol.book, side, &mut levels);
                out.push('"');
                out.push_str(name);
                out.push_str("\":[");
                for (level, (price, shares)) in levels[..count].iter().enumerate() {
                    if level > 0 {
                        out.push(',');
                    }
                    out.push_str(&format!("[{price},{shares}]"));
                }
                out.push(']');
            }
            out.push('}');
        }
        if !self.core.binance.is_empty() {
            out.push_str(",\"binance_feeds\":{");
            for (index, slot) in self.core.binance.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&crate::feed::binance::counters_json(&slot.name, &slot.feed));
            }
            out.push('}');
        }
        out.push('}');
        out
    }
}

impl Core {
    #[inline]
    fn bump(&mut self, counter: StatCounter) {
        self.counters[counter as usize] += 1;
    }

    #[inline]
    fn on_datagram(&mut self, datagram: &RxDatagram<'_>, now: u64) {
        let port = datagram.dst.port();
        if let Some(feed) = self
            .feeds
            .iter()
            .position(|feed| feed.ports.contains(&port))
        {
            self.on_feed_packet(feed, datagram.payload, now);
        } else if let Some(slot) = self.binance.iter().position(|slot| slot.port == port) {
            self.on_binance_datagram(slot, datagram.payload, now);
        } else if port == self.venue_port && datagram.src == self.venue_server {
            self.on_venue_datagram(datagram.payload, now);
        } else {
            self.bump(StatCounter::IoRxDropped);
        }
    }

    fn on_feed_packet(&mut self, feed_index: usize, payload: &[u8], now: u64) {
        self.bump(StatCounter::FeedPackets);
        let Self {
            feeds,
            symbols,
            counters,
            ..
        } = self;
        let ItchFeed {
            recovery,
            books,
            book_symbol,
            pending_requests,
            ..
        } = &mut feeds[feed_index];
        let mut apply = |sequence: u64, bytes: &[u8]| {
            apply_itch(books, book_symbol, symbols, counters, sequence, bytes, now);
        };
        let mut request = |request: Request| {
            if pending_requests.len() < pending_requests.capacity() {
                pending_requests.push(request);
            }
        };
        let Ok(progress) = recovery.on_packet(payload, now, &mut apply, &mut request) else {
            counters[StatCounter::FeedMalformed as usize] += 1;
            return;
        };
        self.on_feed_progress(feed_index, progress);
        self.dispatch_books(now);
    }

    fn on_binance_datagram(&mut self, slot: usize, payload: &[u8], now: u64) {
        self.bump(StatCounter::FeedPackets);
        let binance = &mut self.binance[slot];
        let before = binance.feed.counters();
        let event = binance.feed.on_datagram(payload, now);
        let after = binance.feed.counters();
        let (decoded, rejected) = (
            after.messages - before.messages,
            (after.decode_errors + after.framing_errors)
                - (before.decode_errors + before.framing_errors),
        );
        self.counters[StatCounter::FeedMessages as usize] += decoded;
        self.counters[StatCounter::FeedMalformed as usize] += rejected;
        if let FeedEvent::Book { book, .. } = event
            && let Some(&symbol) = self.binance[slot].book_symbol.get(book)
        {
            let state = &mut self.symbols[usize::from(symbol)];
            state.last_update_ns = now;
            state.dirty = true;
            self.dispatch_books(now);
        }
    }

    /// Top of book and staleness of a symbol's book (L3 or L2).
    fn book_state(&self, symbol: &Symbol, now: u64) -> (TopOfBook, Option<Staleness>) {
        match symbol.l2 {
            Some((slot, book)) => {
                let book = self.binance[slot].feed.book(book);
                (book.top(), book.staleness(now, 0))
            }
            None => {
                let books = &self.feeds[symbol.feed].books;
                (books.top(symbol.book), books.staleness(symbol.book, now, 0))
            }
        }
    }

    fn on_feed_progress(&mut self, feed_index: usize, progress: crate::feed::mold::Progress) {
        let feed = &mut self.feeds[feed_index];
        if progress.gap_open && !feed.gap {
            feed.gap = true;
            feed.books.set_gap(true);
        }
        if progress.abandoned {
            // Messages are lost for good: the books stay marked (stale) for the session.
            feed.gap = true;
            feed.books.set_gap(true);
        } else if feed.gap && !progress.gap_open && feed.recovery.counters().gaps_abandoned == 0 {
            feed.gap = false;
            feed.books.set_gap(false);
        }
        for symbol in &mut self.symbols {
            if symbol.feed == feed_index
                && (progress.gap_open || progress.recovered || progress.abandoned)
            {
                symbol.dirty = true;
            }
        }
    }

    fn market_view(&self, symbol: SymbolId, now: u64) -> MarketView {
        let state = &self.symbols[usize::from(symbol)];
        let (top, staleness) = self.book_state(state, now);
        let quiet =
            self.max_quiet_ns != 0 && now.saturating_sub(state.last_update_ns) > self.max_quiet_ns;
        MarketView {
            symbol,
            top,
            last_trade: state.last_trade,
            tradable: staleness.is_none() && !quiet,
            tick: state.tick,
        }
    }

    fn market_risk(&self, symbol: SymbolId, now: u64) -> MarketRisk {
        let view = self.market_view(symbol, now);
        let reference = if view.top.is_two_sided() {
            Price::from_raw((view.top.bid_price.raw() + view.top.ask_price.raw()) / 2)
        } else {
            view.last_trade
        };
        MarketRisk {
            reference,
            stale: !view.tradable,
            last_update_ns: self.symbols[usize::from(symbol)].last_update_ns,
        }
    }

    /// Runs strategies on every symbol whose book changed.
    fn dispatch_books(&mut self, now: u64) {
        for index in 0..self.symbols.len() {
            if !self.symbols[index].dirty {
                continue;
            }
            self.symbols[index].dirty = false;
            // `index` < symbols.len() ≤ MAX_SYMBOLS fits a SymbolId.
            let symbol = index as SymbolId;
            let market = self.market_view(symbol, now);
            self.symbols[index].tradable = market.tradable;
            if market.top.is_two_sided() {
                let mid = (market.top.bid_price.raw() + market.top.ask_price.raw()) / 2;
                self.orders.mark(symbol, Price::from_raw(mid));
            }
            let trigger = self.symbols[index].trigger_seq;
            for position in 0..self.symbols[index].strategies.len() {
                let strategy = self.symbols[index].strategies[position];
                if !self.strategies[usize::from(strategy)].enabled {
                    continue;
                }
                let count = self
                    .orders
                    .orders_of(strategy, symbol, &mut self.scratch_orders);
                let position_qty = self.orders.position(symbol).map_or(Qty::ZERO, |p| p.qty);
                let context = StrategyContext {
                    now_ns: now,
                    position: position_qty,
                    orders: &self.scratch_orders[..count],
                };
                self.intents.clear();
                self.strategies[usize::from(strategy)].strategy.on_book(
                    &context,
                    &market,
                    &mut self.intents,
                );
                self.queue_intents(strategy, trigger, now);
            }
        }
    }

    fn queue_intents(&mut self, strategy: u8, trigger_seq: u64, rx_ns: u64) {
        for &intent in self.intents.as_slice() {
            if self.pending.len() == self.pending.capacity() {
                self.counters[StatCounter::RiskRejects as usize] += 1;
                continue;
            }
            self.pending.push(Pending {
                strategy,
                intent,
                trigger_seq,
                rx_ns,
            });
        }
        self.intents.clear();
    }

    fn on_venue_datagram(&mut self, payload: &[u8], now: u64) {
        let Self {
            venue,
            venue_messages,
            counters,
            ..
        } = self;
        venue_messages.clear();
        let result = venue.on_datagram(payload, now, |sequence, bytes| {
            counters[StatCounter::VenueMessages as usize] += 1;
            match OutboundMessage::decode(bytes) {
                Ok(message) if venue_messages.len() < venue_messages.capacity() => {
                    venue_messages.push((sequence, message));
                }
                _ => counters[StatCounter::VenueMalformed as usize] += 1,
            }
        });
        match result {
            Err(_) => self.bump(StatCounter::VenueMalformed),
            Ok(event) => {
                if event.up || event.rejected || event.ended {
                    let mut record = AuditRecord::new(AuditKind::VenueSession);
                    record.reason = u16::from(if event.up {
                        b'U'
                    } else if event.rejected {
                        b'J'
                    } else {
                        b'Z'
                    });
                    self.audit_event(record, now);
                }
            }
        }
        for index in 0..self.venue_messages.len() {
            let (sequence, message) = self.venue_messages[index];
            self.on_venue_message(sequence, &message, now);
        }
    }

    /// One sequenced venue message; its audit record's `trigger_seq` is the venue's
    /// sequence number (a restart resumes the session after the last one logged).
    fn on_venue_message(&mut self, sequence: u64, message: &OutboundMessage, now: u64) {
        let (kind, token, result) = match message {
            OutboundMessage::Accepted(accepted) => (
                AuditKind::VenueAccepted,
                accepted.token,
                self.orders
                    .on_accepted(accepted.token.as_bytes(), accepted.order_reference_number),
            ),
            OutboundMessage::Rejected(rejected) => (
                AuditKind::VenueRejected,
                rejected.token,
                self.orders.on_rejected(rejected.token.as_bytes()),
            ),
            OutboundMessage::Executed(executed) => (
                AuditKind::VenueExecuted,
                executed.token,
                self.orders.on_executed(
                    executed.token.as_bytes(),
                    Qty::from_shares(executed.executed_shares),
                    executed.execution_price.to_price(),
                ),
            ),
            OutboundMessage::Canceled(canceled) => (
                AuditKind::VenueCanceled,
                canceled.token,
                self.orders.on_canceled(
                    canceled.token.as_bytes(),
                    Qty::from_shares(canceled.decrement_shares),
                ),
            ),
            OutboundMessage::AiqCanceled(canceled) => (
                AuditKind::VenueCanceled,
                canceled.token,
                self.orders.on_canceled(
                    canceled.token.as_bytes(),
                    Qty::from_shares(canceled.decrement_shares),
                ),
            ),
            OutboundMessage::Replaced(replaced) => (
                AuditKind::VenueReplaced,
                replaced.replacement_token,
                self.orders.on_replaced(
                    replaced.replacement_token.as_bytes(),
                    replaced.price.to_price(),
                    Qty::from_shares(replaced.shares),
                    replaced.order_reference_number,
                ),
            ),
            OutboundMessage::CancelReject(reject) => (
                AuditKind::VenueCancelRejected,
                reject.token,
                self.orders.on_cancel_rejected(reject.token.as_bytes()),
            ),
            OutboundMessage::BrokenTrade(broken) => {
                // Recorded for reconciliation; positions follow the venue's later
                // corrections, not an automatic reversal.
                let mut record = AuditRecord::new(AuditKind::VenueBrokenTrade);
                record.token = *broken.token.as_bytes();
                record.aux = i64::try_from(broken.match_number).unwrap_or(i64::MAX);
                record.trigger_seq = sequence;
                self.audit_event(record, now);
                return;
            }
            OutboundMessage::SystemEvent(event) => {
                let mut record = AuditRecord::new(AuditKind::VenueSession);
                record.reason = u16::from(event.event.to_byte());
                record.trigger_seq = sequence;
                self.audit_event(record, now);
                return;
            }
            // Cancel Pending, Order Priority Update, Modified: no state change here.
            _ => return,
        };
        let mut record = AuditRecord::new(kind);
        record.token = *token.as_bytes();
        record.trigger_seq = sequence;
        match message {
            OutboundMessage::Executed(executed) => {
                record.qty = Qty::from_shares(executed.executed_shares).raw();
                record.price = executed.execution_price.to_price().raw();
                record.aux = i64::try_from(executed.match_number).unwrap_or(i64::MAX);
                self.bump(StatCounter::Fills);
            }
            OutboundMessage::Rejected(rejected) => {
                record.reason = u16::from(rejected.reason.to_byte());
                self.bump(StatCounter::OrdersRejected);
            }
            OutboundMessage::Canceled(canceled) => {
                record.qty = Qty::from_shares(canceled.decrement_shares).raw();
                record.reason = u16::from(canceled.reason.to_byte());
            }
            OutboundMessage::AiqCanceled(canceled) => {
                record.qty = Qty::from_shares(canceled.decrement_shares).raw();
                record.reason = u16::from(canceled.reason.to_byte());
            }
            OutboundMessage::Accepted(accepted) => {
                record.order_id = accepted.order_reference_number;
                record.price = accepted.price.to_price().raw();
                record.qty = Qty::from_shares(accepted.shares).raw();
                self.bump(StatCounter::OrdersAccepted);
            }
            OutboundMessage::Replaced(replaced) => {
                record.order_id = replaced.order_reference_number;
                record.price = replaced.price.to_price().raw();
                record.qty = Qty::from_shares(replaced.shares).raw();
            }
            _ => {}
        }
        match result {
            Ok(applied) => {
                let order = applied.event.order;
                record.strategy = applied.strategy;
                record.symbol = self.symbols[usize::from(order.symbol)].name;
                record.side = side_byte(order.side);
                if record.price == 0 {
                    record.price = order.price.raw();
                }
                self.audit_event(record, now);
                self.deliver(applied, now);
            }
            Err(_) => {
                // An event for an order this session does not know: audited for the trail.
                self.audit_event(record, now);
            }
        }
    }

    /// Forwards an order event to its strategy.
    fn deliver(&mut self, applied: Applied, now: u64) {
        let strategy = applied.strategy;
        let Some(slot) = self.strategies.get(usize::from(strategy)) else {
            return;
        };
        if !slot.enabled {
            return;
        }
        let symbol = applied.event.order.symbol;
        let count = self
            .orders
            .orders_of(strategy, symbol, &mut self.scratch_orders);
        let context = StrategyContext {
            now_ns: now,
            position: self.orders.position(symbol).map_or(Qty::ZERO, |p| p.qty),
            orders: &self.scratch_orders[..count],
        };
        self.intents.clear();
        self.strategies[usize::from(strategy)]
            .strategy
            .on_order_event(&context, &applied.event, &mut self.intents);
        self.queue_intents(strategy, 0, now);
    }

    fn audit_event(&mut self, record: AuditRecord, now: u64) {
        let mut record = record;
        record.limits_version = self.risk.version();
        match self.audit.write_event(record, self.wall.wall_ns(now)) {
            Ok(_) => self.bump(StatCounter::AuditRecords),
            Err(_) => self.bump(StatCounter::AuditRingFull),
        }
    }

    fn trip_kill(&mut self, reason: KillReason, actor: [u8; 24], now: u64) {
        self.trip_kill_for(reason, actor, 0, now);
    }

    /// Trips the kill switch; `command` is the control plane's command id (0: none), echoed
    /// in the record's `aux`. A switch already on is left as it is (no second record).
    fn trip_kill_for(&mut self, reason: KillReason, actor: [u8; 24], command: u64, now: u64) {
        if self.risk.trip(reason) {
            let mut record = AuditRecord::new(AuditKind::KillSwitchOn);
            record.reason = reason as u16;
            record.actor = actor;
            record.aux = i64::try_from(command).unwrap_or(i64::MAX);
            self.audit_event(record, now);
        }
        self.cancel_all_due = true;
    }

    /// Queues a cancel for every live order not already being canceled.
    fn cancel_all(&mut self, strategy_filter: Option<u8>) {
        let count = self.orders.live_orders(&mut self.scratch_ids);
        for index in 0..count {
            let id = self.scratch_ids[index];
            let Some((order, owner)) = self.orders.order(id) else {
                continue;
            };
            if order.state == OrderState::PendingCancel
                || strategy_filter.is_some_and(|s| s != owner)
            {
                continue;
            }
            if self.pending.len() < self.pending.capacity() {
                self.pending.push(Pending {
                    strategy: owner,
                    intent: Intent::Cancel { order: id },
                    trigger_seq: 0,
                    rx_ns: 0,
                });
            }
        }
    }

    #[inline]
    fn after_poll<I: PacketIo>(&mut self, io: &mut I, now: u64) -> Result<(), EngineError> {
        self.send_intents(io, now)?;
        self.housekeeping(io, now)?;
        if !self.pending.is_empty() {
            // Intents from housekeeping (kill-switch cancels, stale books) leave now.
            self.send_intents(io, now)?;
        }
        Ok(())
    }

    fn housekeeping<I: PacketIo>(&mut self, io: &mut I, now: u64) -> Result<(), EngineError> {
        while let Ok(message) = self.control.pop() {
            self.on_control(message, now);
        }
        for index in 0..self.feeds.len() {
            let Self {
                feeds,
                symbols,
                counters,
                ..
            } = self;
            let ItchFeed {
                recovery,
                books,
                book_symbol,
                pending_requests,
                ..
            } = &mut feeds[index];
            let progress = recovery.on_tick(
                now,
                &mut |sequence, bytes| {
                    apply_itch(books, book_symbol, symbols, counters, sequence, bytes, now);
                },
                &mut |request| {
                    if pending_requests.len() < pending_requests.capacity() {
                        pending_requests.push(request);
                    }
                },
            );
            self.on_feed_progress(index, progress);
            let feed = &mut self.feeds[index];
            if let Some(dest) = feed.retransmit {
                for request in feed.pending_requests.drain(..) {
                    io.send(dest, |buffer| request.encode(buffer).unwrap_or(0))?;
                }
            } else {
                feed.pending_requests.clear();
            }
        }
        if self.venue.check_liveness(now) {
            let mut record = AuditRecord::new(AuditKind::VenueSession);
            record.reason = u16::from(b'L');
            self.audit_event(record, now);
            self.trip_kill(KillReason::VenueDisconnect, AUDIT_ACTOR_ENGINE, now);
        }
        if now >= self.next_stale_check_ns {
            self.next_stale_check_ns = now + STALE_CHECK_INTERVAL_NS;
            for index in 0..self.symbols.len() {
                // `index` < MAX_SYMBOLS.
                let tradable = self.market_view(index as SymbolId, now).tradable;
                if tradable != self.symbols[index].tradable {
                    self.symbols[index].dirty = true;
                }
            }
        }
        self.dispatch_books(now);
        if self.risk.killed().is_some() && (self.cancel_all_due || now >= self.next_kill_cancel_ns)
        {
            self.cancel_all_due = false;
            self.next_kill_cancel_ns = now + KILL_CANCEL_INTERVAL_NS;
            self.cancel_all(None);
        }
        self.send_control(io, now)?;
        if now >= self.next_stats_ns {
            self.next_stats_ns = now + self.stats_interval_ns;
            self.publish_stats(now, io.counters());
        }
        Ok(())
    }

    fn send_control<I: PacketIo>(&mut self, io: &mut I, now: u64) -> Result<(), EngineError> {
        for _ in 0..MAX_CONTROL_PACKETS {
            if !self.venue.wants_control(now) {
                break;
            }
            let venue = &mut self.venue;
            io.send(self.venue_dest, |buffer| {
                venue.write_control(buffer, now).unwrap_or(0)
            })?;
        }
        Ok(())
    }

    fn on_control(&mut self, message: ControlMessage, now: u64) {
        match message {
            ControlMessage::Limits(snapshot) => self.apply_limits(&snapshot, now),
            ControlMessage::Command(command) => self.on_command(&command, now),
        }
    }

    fn apply_limits(&mut self, snapshot: &LimitsSnapshot, now: u64) {
        let previous = self.risk.version();
        if snapshot.version <= previous {
            return;
        }
        let was_killed = self.risk.killed().is_some();
        self.risk.apply(snapshot);
        let mut record = AuditRecord::new(AuditKind::LimitsApplied);
        record.aux = i64::try_from(previous).unwrap_or(i64::MAX);
        record.actor[..16].copy_from_slice(&snapshot.actor);
        self.audit_event(record, now);
        if !was_killed && self.risk.killed().is_some() {
            let mut record = AuditRecord::new(AuditKind::KillSwitchOn);
            record.reason = KillReason::Operator as u16;
            record.actor[..16].copy_from_slice(&snapshot.actor);
            self.audit_event(record, now);
            self.cancel_all_due = true;
        }
    }

    fn on_command(&mut self, command: &Command, now: u64) {
        let mut actor = [0u8; 24];
        actor[..16].copy_from_slice(&command.actor);
        let strategy = u8::try_from(command.strategy)
            .ok()
            .filter(|index| usize::from(*index) < self.strategies.len());
        let record_for = |kind: AuditKind| {
            let mut record = AuditRecord::new(kind);
            record.actor = actor;
            record.aux = i64::try_from(command.id).unwrap_or(i64::MAX);
            record
        };
        match CommandKind::from_raw(command.kind) {
            Some(CommandKind::Kill) => {
                self.trip_kill_for(KillReason::Operator, actor, command.id, now);
            }
            Some(CommandKind::Unkill) => {
                if self.risk.reset_kill() {
                    self.audit_event(record_for(AuditKind::KillSwitchOff), now);
                }
            }
            Some(CommandKind::EnableStrategy) => {
                if let Some(index) = strategy {
                    self.strategies[usize::from(index)].enabled = true;
                    let mut record = record_for(AuditKind::StrategyEnabled);
                    record.strategy = index;
                    self.audit_event(record, now);
                    for symbol in &mut self.symbols {
                        symbol.dirty |= symbol.strategies.contains(&index);
                    }
                }
            }
            Some(CommandKind::DisableStrategy) => {
                if let Some(index) = strategy {
                    self.strategies[usize::from(index)].enabled = false;
                    let mut record = record_for(AuditKind::StrategyDisabled);
                    record.strategy = index;
                    self.audit_event(record, now);
                    self.cancel_all(Some(index));
                }
            }
            Some(CommandKind::SetParams) => {
                if let Some(index) = strategy {
                    let slot = &mut self.strategies[usize::from(index)].strategy;
                    let mut failed = 0u16;
                    for (param, value) in command.params.iter().enumerate() {
                        if command.param_mask & (1 << param) != 0
                            && slot.set_param(param, *value).is_err()
                        {
                            failed |= 1 << param;
                        }
                    }
                    let mut record = record_for(AuditKind::StrategyParams);
                    record.strategy = index;
                    record.reason = failed;
                    record.aux2 = i64::from(command.param_mask);
                    self.audit_event(record, now);
                }
            }
            Some(CommandKind::ReplayAudit) | None => {}
        }
    }

    /// Decides and sends every pending intent, in order.
    fn send_intents<I: PacketIo>(&mut self, io: &mut I, now: u64) -> Result<(), EngineError> {
        for index in 0..self.pending.len() {
            let pending = self.pending[index];
            match pending.intent {
                Intent::New {
                    symbol,
                    side,
                    price,
                    qty,
                    tif,
                } => self.send_new(io, &pending, symbol, side, price, qty, tif, now)?,
                Intent::Replace { order, price, qty } => {
                    self.send_replace(io, &pending, order, price, qty, now)?;
                }
                Intent::Cancel { order } => self.send_cancel(io, &pending, order, now)?,
            }
        }
        self.pending.clear();
        Ok(())
    }

    fn intent_record(
        &self,
        kind: AuditKind,
        pending: &Pending,
        symbol: SymbolId,
        side: Side,
        price: Price,
        qty: Qty,
    ) -> AuditRecord {
        let mut record = AuditRecord::new(kind);
        record.strategy = pending.strategy;
        record.symbol = self
            .symbols
            .get(usize::from(symbol))
            .map_or([b' '; 8], |s| s.name);
        record.side = side_byte(side);
        record.price = price.raw();
        record.qty = qty.raw();
        record.trigger_seq = pending.trigger_seq;
        record.limits_version = self.risk.version();
        record.actor = AUDIT_ACTOR_ENGINE;
        record
    }

    /// Audits a refusal and tells the strategy. A full ring trips the kill switch.
    fn refuse(&mut self, mut record: AuditRecord, reason: RiskReason, now: u64) {
        record.kind = AuditKind::RiskReject as u16;
        record.reason = reason as u16;
        self.bump(StatCounter::RiskRejects);
        if self
            .audit
            .write_order(record, self.wall.wall_ns(now))
            .is_err()
        {
            self.bump(StatCounter::AuditRingFull);
            self.trip_kill(KillReason::AuditRingFull, AUDIT_ACTOR_ENGINE, now);
        } else {
            self.bump(StatCounter::AuditRecords);
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the fields of Intent::New, passed flat"
    )]
    fn send_new<I: PacketIo>(
        &mut self,
        io: &mut I,
        pending: &Pending,
        symbol: SymbolId,
        side: Side,
        price: Price,
        qty: Qty,
        tif: TimeInForce,
        now: u64,
    ) -> Result<(), EngineError> {
        let mut record =
            self.intent_record(AuditKind::OrderIntent, pending, symbol, side, price, qty);
        if usize::from(symbol) >= self.symbols.len() {
            self.refuse(record, RiskReason::Invalid, now);
            return Ok(());
        }
        let check = RiskCheck {
            strategy: pending.strategy,
            symbol,
            side,
            price,
            qty,
            kind: CheckKind::New,
        };
        let market = self.market_risk(symbol, now);
        let mut reason = self.risk.check(&check, &market, &self.orders, now);
        let (shares, price4) = match (ouch::shares_from_qty(qty), Price4::from_price(price)) {
            (Ok(shares), Ok(price4)) => (shares, price4),
            _ => (0, Price4::MARKET),
        };
        if reason == RiskReason::None && (shares == 0 || price4 == Price4::MARKET) {
            reason = RiskReason::Invalid;
        }
        if reason == RiskReason::None && !self.venue.can_send() {
            reason = RiskReason::VenueUnavailable;
        }
        if reason != RiskReason::None {
            self.refuse(record, reason, now);
            return Ok(());
        }
        let Ok((id, token)) = self.orders.new_order(
            pending.strategy,
            symbol,
            side,
            price,
            qty,
            pending.trigger_seq,
        ) else {
            self.refuse(record, RiskReason::VenueUnavailable, now);
            return Ok(());
        };
        record.token = token;
        record.order_id = id;
        if self
            .audit
            .write_order(record, self.wall.wall_ns(now))
            .is_err()
        {
            // Nothing unaudited leaves: the order is dropped and the engine stops trading.
            self.orders.forget(id);
            self.bump(StatCounter::AuditRingFull);
            self.bump(StatCounter::RiskRejects);
            self.trip_kill(KillReason::AuditRingFull, AUDIT_ACTOR_ENGINE, now);
            return Ok(());
        }
        self.bump(StatCounter::AuditRecords);
        let enter = ouch::EnterOrder {
            token: Token::from_bytes(token),
            side: ouch_side(side),
            shares,
            stock: self.symbols[usize::from(symbol)].venue_stock,
            price: price4,
            time_in_force: match tif {
                TimeInForce::Ioc => OuchTimeInForce::IOC,
                TimeInForce::Day => OuchTimeInForce::SYSTEM_HOURS,
            },
            firm: self.firm,
            display: Display::ANONYMOUS,
            capacity: Capacity::PRINCIPAL,
            intermarket_sweep: IntermarketSweep::NOT_ELIGIBLE,
            minimum_quantity: 0,
            cross_type: CrossType::NO_CROSS,
            customer_type: CustomerType::PORT_DEFAULT,
        };
        let mut message = [0u8; ouch::EnterOrder::LEN];
        enter.encode_array(&mut message);
        self.transmit(io, &message, now)?;
        self.bump(StatCounter::OrdersSent);
        if pending.rx_ns != 0 {
            let elapsed = monotonic_ns().saturating_sub(pending.rx_ns);
            self.latency[latency_bucket(elapsed)] += 1;
        }
        Ok(())
    }

    fn send_replace<I: PacketIo>(
        &mut self,
        io: &mut I,
        pending: &Pending,
        order: OrderId,
        price: Price,
        qty: Qty,
        now: u64,
    ) -> Result<(), EngineError> {
        let Some((view, _)) = self.orders.order(order) else {
            return Ok(());
        };
        let mut record = self.intent_record(
            AuditKind::ReplaceIntent,
            pending,
            view.symbol,
            view.side,
            price,
            qty,
        );
        record.order_id = order;
        let check = RiskCheck {
            strategy: pending.strategy,
            symbol: view.symbol,
            side: view.side,
            price,
            qty,
            kind: CheckKind::Replace {
                order,
                leaves: view.leaves,
            },
        };
        let market = self.market_risk(view.symbol, now);
        let mut reason = self.risk.check(&check, &market, &self.orders, now);
        let (shares, price4) = match (ouch::shares_from_qty(qty), Price4::from_price(price)) {
            (Ok(shares), Ok(price4)) => (shares, price4),
            _ => (0, Price4::MARKET),
        };
        if reason == RiskReason::None && (shares == 0 || price4 == Price4::MARKET) {
            reason = RiskReason::Invalid;
        }
        if reason == RiskReason::None && !self.venue.can_send() {
            reason = RiskReason::VenueUnavailable;
        }
        if reason != RiskReason::None {
            self.refuse(record, reason, now);
            return Ok(());
        }
        let Ok((existing, replacement)) =
            self.orders.replace(order, price, qty, pending.trigger_seq)
        else {
            return Ok(());
        };
        record.token = replacement;
        record.aux2 = i64::try_from(order).unwrap_or(i64::MAX);
        if self
            .audit
            .write_order(record, self.wall.wall_ns(now))
            .is_err()
        {
            self.bump(StatCounter::AuditRingFull);
            self.trip_kill(KillReason::AuditRingFull, AUDIT_ACTOR_ENGINE, now);
            // The replace was recorded in the order manager but not sent: the venue will
            // never answer it, so treat it as refused.
            let _ = self.orders.on_rejected(&replacement);
            return Ok(());
        }
        self.bump(StatCounter::AuditRecords);
        let replace = ouch::ReplaceOrder {
            existing_token: Token::from_bytes(existing),
            replacement_token: Token::from_bytes(replacement),
            shares,
            price: price4,
            time_in_force: OuchTimeInForce::SYSTEM_HOURS,
            display: Display::ANONYMOUS,
            intermarket_sweep: IntermarketSweep::NOT_ELIGIBLE,
            minimum_quantity: 0,
        };
        let mut message = [0u8; ouch::ReplaceOrder::LEN];
        replace.encode_array(&mut message);
        self.transmit(io, &message, now)?;
        self.bump(StatCounter::OrdersSent);
        if pending.rx_ns != 0 {
            let elapsed = monotonic_ns().saturating_sub(pending.rx_ns);
            self.latency[latency_bucket(elapsed)] += 1;
        }
        Ok(())
    }

    fn send_cancel<I: PacketIo>(
        &mut self,
        io: &mut I,
        pending: &Pending,
        order: OrderId,
        now: u64,
    ) -> Result<(), EngineError> {
        let Some((view, _)) = self.orders.order(order) else {
            return Ok(());
        };
        if !self.venue.can_send() {
            return Ok(());
        }
        let Ok(token) = self.orders.cancel(order) else {
            return Ok(());
        };
        let mut record = self.intent_record(
            AuditKind::CancelIntent,
            pending,
            view.symbol,
            view.side,
            view.price,
            view.leaves,
        );
        record.token = token;
        record.order_id = order;
        // Cancels reduce risk: they may use the ring's reserve.
        if self
            .audit
            .write_event(record, self.wall.wall_ns(now))
            .is_err()
        {
            self.bump(StatCounter::AuditRingFull);
            // Not sent; the kill-switch sweep retries once the link drained the ring.
            let _ = self.orders.on_cancel_rejected(&token);
            return Ok(());
        }
        self.bump(StatCounter::AuditRecords);
        let cancel = ouch::CancelOrder {
            token: Token::from_bytes(token),
            shares: 0,
        };
        let mut message = [0u8; ouch::CancelOrder::LEN];
        cancel.encode_array(&mut message);
        self.transmit(io, &message, now)?;
        self.bump(StatCounter::CancelsSent);
        Ok(())
    }

    fn transmit<I: PacketIo>(
        &mut self,
        io: &mut I,
        message: &[u8],
        now: u64,
    ) -> Result<(), EngineError> {
        let venue = &mut self.venue;
        io.send(self.venue_dest, |buffer| {
            venue.write_message(buffer, message, now).unwrap_or(0)
        })?;
        Ok(())
    }

    fn publish_stats(&mut self, now: u64, io: IoCounters) {
        let mut stats = Stats {
            ts_ns: self.wall.wall_ns(now),
            audit_seq: self.audit.last_seq(),
            limits_version: self.risk.version(),
            counters: self.counters,
            risk_rejects: *self.risk.counters(),
            latency_buckets: self.latency,
            tops: [TopRecord {
                symbol: [0; 8],
                bid_price: i64::MIN,
                bid_qty: 0,
                ask_price: i64::MIN,
                ask_qty: 0,
                stale: 0,
                pad: 0,
            }; MAX_SYMBOLS],
            positions: [PositionRecord {
                symbol: [0; 8],
                qty: 0,
                avg_price: 0,
                realized_pnl: 0,
                unrealized_pnl: 0,
                open_orders: 0,
                pad: 0,
            }; MAX_SYMBOLS],
            strategy_enabled: [0; 16],
        };
        stats.counters[StatCounter::IoRxDatagrams as usize] = io.rx_datagrams;
        stats.counters[StatCounter::IoTxDatagrams as usize] = io.tx_datagrams;
        stats.counters[StatCounter::IoRxDropped as usize] += io.rx_dropped;
        stats.counters[StatCounter::KillSwitch as usize] = u64::from(self.risk.killed().is_some());
        stats.counters[StatCounter::AuditRecords as usize] = self.audit.written();
        stats.counters[StatCounter::FeedMessages as usize] = self
            .feeds
            .iter()
            .map(|feed| feed.recovery.counters().messages)
            .sum::<u64>()
            + self
                .binance
                .iter()
                .map(|slot| slot.feed.counters().messages)
                .sum::<u64>();
        for (index, symbol) in self.symbols.iter().enumerate().take(MAX_SYMBOLS) {
            let (top, staleness) = self.book_state(symbol, now);
            stats.tops[index] = TopRecord {
                symbol: symbol.name,
                bid_price: top.bid_price.raw(),
                bid_qty: top.bid_qty.raw(),
                ask_price: top.ask_price.raw(),
                ask_qty: top.ask_qty.raw(),
                stale: match staleness {
                    None => 0,
                    Some(Staleness::Gap) => 1,
                    Some(Staleness::Inconsistent) => 2,
                    Some(Staleness::Quiet) => 3,
                    Some(Staleness::Unsynced) => 4,
                },
                pad: 0,
            };
            // `index` < MAX_SYMBOLS.
            if let Some(position) = self.orders.position(index as SymbolId) {
                stats.positions[index] = PositionRecord {
                    symbol: symbol.name,
                    qty: position.qty.raw(),
                    avg_price: position.average_price().raw(),
                    realized_pnl: position.realized_pnl(),
                    unrealized_pnl: position.unrealized_pnl(),
                    open_orders: position.open_orders,
                    pad: 0,
                };
            }
        }
        for (flag, slot) in stats.strategy_enabled.iter_mut().zip(&self.strategies) {
            *flag = u8::from(slot.enabled);
        }
        if self.stats.push(stats).is_err() {
            // The link thread is behind; the next record carries cumulative values anyway.
        }
    }
}

/// Applies one ITCH message to the feed's books; marks the symbol whose top changed.
#[inline]
fn apply_itch(
    books: &mut L3Books,
    book_symbol: &[SymbolId],
    symbols: &mut [Symbol],
    counters: &mut [u64; STAT_COUNTERS],
    sequence: u64,
    bytes: &[u8],
    now: u64,
) {
    let Ok(message) = itch::decode(bytes) else {
        counters[StatCounter::FeedMalformed as usize] += 1;
        return;
    };
    counters[StatCounter::FeedMessages as usize] += 1;
    let trade = match &message {
        Message::Trade(trade) => Some((trade.stock_locate, trade.price)),
        Message::OrderExecutedWithPrice(executed) => {
            Some((executed.stock_locate, executed.execution_price))
        }
        Message::OrderExecuted(executed) => books
            .order_price(executed.order_reference_number)
            .map(|price| (executed.stock_locate, price)),
        _ => None,
    };
    if let Some((locate, price)) = trade
        && let Some(book) = books.book_of(locate)
        && let Some(&symbol) = book_symbol.get(usize::from(book))
    {
        symbols[usize::from(symbol)].last_trade = itch_price(price);
    }
    match books.apply_itch(&message) {
        Ok(Some(change)) => {
            if let Some(&symbol) = book_symbol.get(usize::from(change.book)) {
                let state = &mut symbols[usize::from(symbol)];
                state.last_update_ns = now;
                if change.top_changed {
                    state.dirty = true;
                    state.trigger_seq = sequence;
                }
            }
        }
        Ok(None) => {}
        Err(_) => counters[StatCounter::BookErrors as usize] += 1,
    }
}

/// Where a session's token numbers start: 900 per millisecond since midnight UTC.
///
/// Token numbers must not repeat within a trading day, across restarts too. A run that starts
/// `d` ms after the previous one collides only if the previous run sent 900 orders per ms of
/// `d` (900,000 orders/s sustained); 86.4M ms × 900 stays below the 36^7 numbers a token
/// half holds, leaving 600M numbers for the last run of the day.
#[must_use]
pub fn session_token_base(unix_ms: u64) -> u64 {
    const MS_PER_DAY: u64 = 86_400_000;
    (unix_ms % MS_PER_DAY) * 900 + 1
}
