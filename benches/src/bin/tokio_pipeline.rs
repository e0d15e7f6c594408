//! `tokio-pipeline`: the reference pipeline tickwire is measured against in
//! `cargo xtask bench wire` (configuration `tokio`), built the way common open-source Rust
//! trading bots are built: a tokio UDP socket for the feed, one task per stage joined by
//! bounded tokio `mpsc` channels, `HashMap` + `BTreeMap` books, and the same wire codecs as
//! tickwire (`tickwire-protocol`: MoldUDP64, ITCH 5.0, OUCH 4.2 over UFO).
//!
//! ```text
//! feed socket ─▶ decode task ──TopOfBook──▶ strategy task ──Intent──▶ risk task ──Intent──▶ encode task ─▶ UFO socket
//!  (MoldUDP64 + ITCH decode, L3 book)        (market maker,          (limits,            (OUCH + UFO framing,
//!                                             order states)  ◀──┐     token bucket)        send, heartbeats,
//!                                                               └── venue task ◀── UFO socket   resends)
//! ```
//!
//! Honest, not a strawman: per packet (not per message) the touched books' tops go to the
//! strategy, as tickwire does; the market maker is tickwire's (microprice, minimum spread,
//! requote threshold, replace only an acknowledged order, never cross the book it sees);
//! buffers are reused where a typical bot would; the build is the workspace's release
//! profile (fat LTO). What it does not do, being a typical bot: kernel bypass, busy polling,
//! an audit log before send, per-core pinning of each stage.
//!
//! Runtime: `current_thread` by default. The harness gives every configuration the same
//! one core for its hot path (the other core runs the venue), and on one core a
//! multi-thread runtime only adds cross-thread wake-ups between the stages; current_thread
//! hands a message to the next task with a local wake. `--worker-threads N` runs the
//! multi-thread runtime instead.
//!
//! Prints `tokio-pipeline: ready` after the UFO login, and on SIGINT/SIGTERM one line
//! `tokio-pipeline: {json counters}`.
#![allow(
    clippy::unwrap_used,
    reason = "benchmark tool: a panic is the error report"
)]

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::{Context as _, bail};
use clap::Parser;
use tickwire_common::token;
use tickwire_protocol::{
    itch::{self, Message},
    moldudp64,
    ouch::{
        Capacity, CrossType, CustomerType, Display, EnterOrder, Firm, IntermarketSweep,
        OutboundMessage, Price4, ReplaceOrder, Side, Stock, TimeInForce, Token,
    },
    ufo,
};
use tokio::{net::UdpSocket, sync::mpsc};

/// Channel capacity between stages (bounded, as a careful bot would have it).
const CHANNEL: usize = 4096;
/// Client messages kept for retransmission.
const RESEND_KEEP: usize = 65_536;

#[derive(Debug, Parser)]
#[command(name = "tokio-pipeline")]
struct Args {
    /// Feed address to bind (unicast address or 0.0.0.0, and port).
    #[arg(long)]
    feed: SocketAddr,
    /// Venue UFO server.
    #[arg(long)]
    venue: SocketAddr,
    /// Local UFO address.
    #[arg(long, default_value = "0.0.0.0:27001")]
    local: SocketAddr,
    #[arg(long, default_value = "TW0001")]
    user: String,
    #[arg(long, default_value = "demo-pass")]
    password: String,
    /// Symbols to quote.
    #[arg(long, value_delimiter = ',', default_value = "ALC,BOB,CHAR")]
    symbols: Vec<String>,
    /// Tick, `Price(4)` raw (100 = $0.01).
    #[arg(long, default_value_t = 100)]
    tick: u32,
    /// Quote size (shares).
    #[arg(long, default_value_t = 100)]
    quote_qty: u32,
    /// Smallest distance between our bid and ask (ticks).
    #[arg(long, default_value_t = 3)]
    min_spread_ticks: u32,
    /// Smallest move that replaces a live quote (ticks).
    #[arg(long, default_value_t = 1)]
    requote_ticks: u32,
    /// 0: current_thread runtime; N: multi-thread runtime with N workers.
    #[arg(long, default_value_t = 0)]
    worker_threads: usize,
}

/// Counters printed at exit.
#[derive(Debug, Default)]
struct Counters {
    feed_packets: AtomicU64,
    feed_gaps: AtomicU64,
    feed_malformed: AtomicU64,
    intents: AtomicU64,
    risk_rejects: AtomicU64,
    orders_sent: AtomicU64,
    venue_rejects: AtomicU64,
    resends: AtomicU64,
}

/// Top of book after a feed packet.
#[derive(Debug, Clone, Copy)]
struct TopOfBook {
    locate: u16,
    /// Last feed sequence of the packet (goes into the order token).
    seq: u64,
    bid: u32,
    bid_qty: u64,
    ask: u32,
    ask_qty: u64,
}

#[derive(Debug, Clone, Copy)]
enum Intent {
    New {
        token: [u8; 14],
        locate: u16,
        buy: bool,
        price: u32,
        qty: u32,
        mid: u32,
    },
    Replace {
        existing: [u8; 14],
        token: [u8; 14],
        price: u32,
        qty: u32,
        mid: u32,
    },
}

#[derive(Debug, Clone, Copy)]
enum VenueEvent {
    Accepted([u8; 14]),
    Gone([u8; 14]),
    Executed([u8; 14]),
}

#[derive(Debug, Default)]
struct Book {
    orders: HashMap<u64, (bool, u32, u32)>,
    bids: BTreeMap<u32, u64>,
    asks: BTreeMap<u32, u64>,
}

impl Book {
    fn level(&mut self, buy: bool, price: u32, delta: i64) {
        let side = if buy { &mut self.bids } else { &mut self.asks };
        let qty = side.entry(price).or_insert(0);
        *qty = qty.saturating_add_signed(delta);
        if *qty == 0 {
            side.remove(&price);
        }
    }

    fn add(&mut self, reference: u64, buy: bool, price: u32, shares: u32) {
        self.orders.insert(reference, (buy, price, shares));
        self.level(buy, price, i64::from(shares));
    }

    fn reduce(&mut self, reference: u64, shares: u32) {
        if let Some(order) = self.orders.get_mut(&reference) {
            let taken = shares.min(order.2);
            order.2 -= taken;
            let (buy, price, left) = *order;
            if left == 0 {
                self.orders.remove(&reference);
            }
            self.level(buy, price, -i64::from(taken));
        }
    }

    fn delete(&mut self, reference: u64) -> Option<(bool, u32, u32)> {
        let order = self.orders.remove(&reference)?;
        self.level(order.0, order.1, -i64::from(order.2));
        Some(order)
    }
}

/// Decode stage: MoldUDP64 sequencing, ITCH decoding, books; one top per touched symbol
/// per packet to the strategy.
async fn decode_task(
    socket: UdpSocket,
    out: mpsc::Sender<TopOfBook>,
    counters: Arc<Counters>,
    locates: HashMap<[u8; 8], u16>,
) {
    let mut buf = vec![0u8; 65_536];
    let mut books: HashMap<u16, Book> = HashMap::new();
    // Quote the configured locates from the start (the venue numbers them by its symbol
    // list); a Stock Directory seen later confirms or corrects the mapping.
    let mut wanted: HashMap<u16, bool> = locates.values().map(|&locate| (locate, true)).collect();
    let mut next_seq = 0u64;
    let mut touched: Vec<u16> = Vec::with_capacity(16);
    loop {
        let Ok((len, _)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let Ok(packet) = moldudp64::decode(&buf[..len]) else {
            counters.feed_malformed.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        counters.feed_packets.fetch_add(1, Ordering::Relaxed);
        if packet.is_empty() {
            continue;
        }
        let first = packet.next_sequence() - packet.len() as u64;
        if next_seq != 0 && first > next_seq {
            counters.feed_gaps.fetch_add(1, Ordering::Relaxed);
        }
        if first < next_seq {
            continue; // duplicate
        }
        next_seq = packet.next_sequence();
        touched.clear();
        for bytes in packet.messages() {
            let Ok(message) = itch::decode(bytes) else {
                counters.feed_malformed.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            let locate = match message {
                Message::StockDirectory(directory) => {
                    let quoted = locates.contains_key(&directory.stock.0);
                    wanted.insert(directory.stock_locate, quoted);
                    continue;
                }
                Message::AddOrder(add) => {
                    books.entry(add.stock_locate).or_default().add(
                        add.order_reference_number,
                        add.buy_sell_indicator == b'B',
                        add.price,
                        add.shares,
                    );
                    add.stock_locate
                }
                Message::AddOrderMpid(add) => {
                    books.entry(add.stock_locate).or_default().add(
                        add.order_reference_number,
                        add.buy_sell_indicator == b'B',
                        add.price,
                        add.shares,
                    );
                    add.stock_locate
                }
                Message::OrderExecuted(m) => {
                    let locate = m.stock_locate;
                    if let Some(book) = books.get_mut(&locate) {
                        book.reduce(m.order_reference_number, m.executed_shares);
                    }
                    locate
                }
                Message::OrderExecutedWithPrice(m) => {
                    let locate = m.stock_locate;
                    if let Some(book) = books.get_mut(&locate) {
                        book.reduce(m.order_reference_number, m.executed_shares);
                    }
                    locate
                }
                Message::OrderCancel(m) => {
                    let locate = m.stock_locate;
                    if let Some(book) = books.get_mut(&locate) {
                        book.reduce(m.order_reference_number, m.canceled_shares);
                    }
                    locate
                }
                Message::OrderDelete(m) => {
                    let locate = m.stock_locate;
                    if let Some(book) = books.get_mut(&locate) {
                        book.delete(m.order_reference_number);
                    }
                    locate
                }
                Message::OrderReplace(m) => {
                    let locate = m.stock_locate;
                    if let Some(book) = books.get_mut(&locate)
                        && let Some((buy, _, _)) = book.delete(m.original_order_reference_number)
                    {
                        book.add(m.new_order_reference_number, buy, m.price, m.shares);
                    }
                    locate
                }
                _ => continue,
            };
            if wanted.get(&locate) == Some(&true) && !touched.contains(&locate) {
                touched.push(locate);
            }
        }
        for &locate in &touched {
            let Some(book) = books.get(&locate) else {
                continue;
            };
            let (Some((&bid, &bid_qty)), Some((&ask, &ask_qty))) =
                (book.bids.last_key_value(), book.asks.first_key_value())
            else {
                continue;
            };
            let top = TopOfBook {
                locate,
                seq: next_seq - 1,
                bid,
                bid_qty,
                ask,
                ask_qty,
            };
            if out.send(top).await.is_err() {
                return;
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Live {
    token: [u8; 14],
    price: u32,
    accepted: bool,
}

#[derive(Debug, Default)]
struct SymbolState {
    top: Option<TopOfBook>,
    /// `[bid, ask]`.
    live: [Option<Live>; 2],
}

struct Strategy {
    args_tick: i128,
    quote_qty: u32,
    min_spread_ticks: i128,
    requote_ticks: i128,
    symbols: HashMap<u16, SymbolState>,
    next_token: u64,
}

impl Strategy {
    /// tickwire's market-maker quote rule (no inventory skew: the benchmark never trades).
    fn targets(&self, top: &TopOfBook) -> Option<(u32, u32)> {
        // Price(4) raw to tickwire's 10^-8 fixed point, so the rounding is the same.
        const SCALE: i128 = 10_000;
        let (bid, ask) = (i128::from(top.bid) * SCALE, i128::from(top.ask) * SCALE);
        if bid <= 0 || bid >= ask {
            return None;
        }
        let (bid_qty, ask_qty) = (i128::from(top.bid_qty), i128::from(top.ask_qty));
        let micro = if bid_qty > 0 && ask_qty > 0 {
            (bid * ask_qty + ask * bid_qty).div_euclid(bid_qty + ask_qty)
        } else {
            (bid + ask).div_euclid(2)
        };
        let tick = self.args_tick * SCALE;
        let spread = self.min_spread_ticks * tick;
        let floor_tick = |value: i128| value.div_euclid(tick) * tick;
        let ceil_tick = |value: i128| -((-value).div_euclid(tick)) * tick;
        let our_bid = ((2 * micro - spread).div_euclid(2 * tick) * tick).min(floor_tick(ask - 1));
        let our_ask =
            (-((-(2 * micro + spread)).div_euclid(2 * tick)) * tick).max(ceil_tick(bid + 1));
        Some((
            u32::try_from(our_bid / SCALE).ok()?,
            u32::try_from(our_ask / SCALE).ok()?,
        ))
    }

    fn quote(&mut self, locate: u16, out: &mut Vec<Intent>) {
        let Some(state) = self.symbols.get(&locate) else {
            return;
        };
        let Some(top) = state.top else {
            return;
        };
        let Some((bid, ask)) = self.targets(&top) else {
            return;
        };
        let mid = u32::try_from((u64::from(top.bid) + u64::from(top.ask)) / 2).unwrap_or(0);
        let requote = self.requote_ticks * self.args_tick;
        let mut next_token = self.next_token;
        let state = self.symbols.get_mut(&locate).unwrap();
        for (index, price) in [(0, bid), (1, ask)] {
            if price == 0 {
                continue;
            }
            next_token += 1;
            let token = token::encode(top.seq, next_token);
            match state.live[index] {
                None => {
                    out.push(Intent::New {
                        token,
                        locate,
                        buy: index == 0,
                        price,
                        qty: self.quote_qty,
                        mid,
                    });
                    state.live[index] = Some(Live {
                        token,
                        price,
                        accepted: false,
                    });
                }
                Some(live)
                    if live.accepted
                        && (i128::from(live.price) - i128::from(price)).abs() >= requote =>
                {
                    out.push(Intent::Replace {
                        existing: live.token,
                        token,
                        price,
                        qty: self.quote_qty,
                        mid,
                    });
                    state.live[index] = Some(Live {
                        token,
                        price,
                        accepted: false,
                    });
                }
                Some(_) => next_token -= 1,
            }
        }
        self.next_token = next_token;
    }

    /// Applies a venue event; returns the symbol to requote.
    fn on_event(&mut self, event: VenueEvent) -> Option<u16> {
        let (VenueEvent::Accepted(token) | VenueEvent::Gone(token) | VenueEvent::Executed(token)) =
            event;
        for (&locate, state) in &mut self.symbols {
            for slot in &mut state.live {
                if slot.is_some_and(|live| live.token == token) {
                    match event {
                        VenueEvent::Accepted(_) => {
                            if let Some(live) = slot.as_mut() {
                                live.accepted = true;
                            }
                        }
                        VenueEvent::Gone(_) => *slot = None,
                        VenueEvent::Executed(_) => {}
                    }
                    return Some(locate);
                }
            }
        }
        None
    }
}

/// Strategy stage: market maker over tops, order states from the venue task.
async fn strategy_task(
    mut tops: mpsc::Receiver<TopOfBook>,
    mut events: mpsc::Receiver<VenueEvent>,
    out: mpsc::Sender<Intent>,
    mut strategy: Strategy,
    counters: Arc<Counters>,
) {
    let mut intents = Vec::with_capacity(8);
    loop {
        intents.clear();
        tokio::select! {
            biased;
            Some(event) = events.recv() => {
                if let Some(locate) = strategy.on_event(event) {
                    strategy.quote(locate, &mut intents);
                }
            }
            top = tops.recv() => {
                let Some(top) = top else { return };
                if let Some(state) = strategy.symbols.get_mut(&top.locate) {
                    state.top = Some(top);
                    strategy.quote(top.locate, &mut intents);
                }
            }
        }
        for &intent in &intents {
            counters.intents.fetch_add(1, Ordering::Relaxed);
            if out.send(intent).await.is_err() {
                return;
            }
        }
    }
}

/// Risk stage: quantity, notional, price collar against the mid, order-rate token bucket.
async fn risk_task(
    mut intents: mpsc::Receiver<Intent>,
    out: mpsc::Sender<Intent>,
    rejects: mpsc::Sender<VenueEvent>,
    counters: Arc<Counters>,
) {
    const MAX_QTY: u32 = 10_000;
    const MAX_NOTIONAL_RAW: u64 = 1_000_000 * 10_000;
    const COLLAR_BPS: u64 = 200;
    const ORDERS_PER_SECOND: f64 = 10_000_000.0;
    const BURST: f64 = 1_000_000.0;
    let mut tokens = BURST;
    let mut last = tokio::time::Instant::now();
    while let Some(intent) = intents.recv().await {
        let (token, price, qty, mid) = match intent {
            Intent::New {
                token,
                price,
                qty,
                mid,
                ..
            }
            | Intent::Replace {
                token,
                price,
                qty,
                mid,
                ..
            } => (token, price, qty, mid),
        };
        let now = tokio::time::Instant::now();
        tokens = (tokens + now.duration_since(last).as_secs_f64() * ORDERS_PER_SECOND).min(BURST);
        last = now;
        let collar = u64::from(mid) * COLLAR_BPS / 10_000;
        let pass = qty > 0
            && qty <= MAX_QTY
            && u64::from(price) * u64::from(qty) <= MAX_NOTIONAL_RAW
            && u64::from(price).abs_diff(u64::from(mid)) <= collar
            && tokens >= 1.0;
        if pass {
            tokens -= 1.0;
            if out.send(intent).await.is_err() {
                return;
            }
        } else {
            counters.risk_rejects.fetch_add(1, Ordering::Relaxed);
            let _ = rejects.send(VenueEvent::Gone(token)).await;
        }
    }
}

/// What the venue task tells the encode task.
#[derive(Debug, Clone, Copy)]
struct Ack {
    next_client_expected: u64,
    next_server_expected: u64,
}

/// Encode stage: OUCH into a UFO Client Data packet, send; heartbeats; resends on a
/// stalled acknowledgement.
#[allow(
    clippy::too_many_arguments,
    reason = "one task, its channels and settings"
)]
async fn encode_task(
    socket: Arc<UdpSocket>,
    venue: SocketAddr,
    mut intents: mpsc::Receiver<Intent>,
    mut acks: mpsc::Receiver<Ack>,
    mut next_client: u64,
    stocks: HashMap<u16, Stock>,
    counters: Arc<Counters>,
) {
    let mut buf = [0u8; 1500];
    let mut kept: VecDeque<(u64, Vec<u8>)> = VecDeque::with_capacity(RESEND_KEEP);
    let mut heartbeat = tokio::time::interval(Duration::from_millis(500));
    let mut next_server = 1u64;
    let mut last_ack = 0u64;
    let mut enter = EnterOrder {
        token: Token::BLANK,
        side: Side::BUY,
        shares: 0,
        stock: Stock::from_symbol(b"BOB").unwrap(),
        price: Price4::from_raw(0),
        time_in_force: TimeInForce::SYSTEM_HOURS,
        firm: Firm::DEFAULT,
        display: Display::ANONYMOUS,
        capacity: Capacity::AGENCY,
        intermarket_sweep: IntermarketSweep::NOT_ELIGIBLE,
        minimum_quantity: 0,
        cross_type: CrossType::NO_CROSS,
        customer_type: CustomerType::PORT_DEFAULT,
    };
    loop {
        tokio::select! {
            intent = intents.recv() => {
                let Some(intent) = intent else { return };
                let mut writer = ufo::DataPacketWriter::new(
                    &mut buf,
                    ufo::DataKind::Client,
                    &ufo::Session::BLANK,
                    next_client,
                )
                .unwrap();
                match intent {
                    Intent::New { token, locate, buy, price, qty, .. } => {
                        enter.token = Token::from_bytes(token);
                        enter.side = if buy { Side::BUY } else { Side::SELL };
                        enter.shares = qty;
                        enter.price = Price4::from_raw(price);
                        if let Some(stock) = stocks.get(&locate) {
                            enter.stock = *stock;
                        }
                        enter.encode_array(
                            writer.reserve(EnterOrder::LEN).unwrap().try_into().unwrap(),
                        );
                    }
                    Intent::Replace { existing, token, price, qty, .. } => {
                        let replace = ReplaceOrder {
                            existing_token: Token::from_bytes(existing),
                            replacement_token: Token::from_bytes(token),
                            shares: qty,
                            price: Price4::from_raw(price),
                            time_in_force: TimeInForce::SYSTEM_HOURS,
                            display: Display::ANONYMOUS,
                            intermarket_sweep: IntermarketSweep::NOT_ELIGIBLE,
                            minimum_quantity: 0,
                        };
                        replace.encode_array(
                            writer.reserve(ReplaceOrder::LEN).unwrap().try_into().unwrap(),
                        );
                    }
                }
                let len = writer.finish().unwrap();
                let _ = socket.send_to(&buf[..len], venue).await;
                counters.orders_sent.fetch_add(1, Ordering::Relaxed);
                if kept.len() == RESEND_KEEP {
                    kept.pop_front();
                }
                kept.push_back((next_client, buf[..len].to_vec()));
                next_client += 1;
            }
            ack = acks.recv() => {
                let Some(ack) = ack else { return };
                next_server = ack.next_server_expected;
                while kept.front().is_some_and(|(seq, _)| *seq < ack.next_client_expected) {
                    kept.pop_front();
                }
                // The venue still wants the same message as last time: resend from there.
                if ack.next_client_expected < next_client && ack.next_client_expected == last_ack {
                    for (_, packet) in kept.iter().take(1024) {
                        counters.resends.fetch_add(1, Ordering::Relaxed);
                        let _ = socket.send_to(packet, venue).await;
                    }
                }
                last_ack = ack.next_client_expected;
            }
            _ = heartbeat.tick() => {
                let packet = ufo::Packet::ClientHeartbeat(ufo::Position {
                    session: ufo::Session::BLANK,
                    next_sequence_number: next_server,
                });
                let len = packet.encode(&mut buf).unwrap();
                let _ = socket.send_to(&buf[..len], venue).await;
            }
        }
    }
}

/// Venue stage: UFO server packets into order events and acknowledgements.
async fn venue_task(
    socket: Arc<UdpSocket>,
    events: mpsc::Sender<VenueEvent>,
    acks: mpsc::Sender<Ack>,
    counters: Arc<Counters>,
) {
    let mut buf = vec![0u8; 65_536];
    let mut next_server = 1u64;
    loop {
        let Ok((len, _)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        match ufo::Packet::decode_from_server(&buf[..len]) {
            Ok(ufo::Packet::SequencedData(data)) if data.sequence_number <= next_server => {
                for (index, bytes) in data.messages().enumerate() {
                    if data.sequence_number + index as u64 != next_server {
                        continue;
                    }
                    next_server += 1;
                    let event = match OutboundMessage::decode(bytes) {
                        Ok(OutboundMessage::Accepted(m)) => {
                            VenueEvent::Accepted(*m.token.as_bytes())
                        }
                        Ok(OutboundMessage::Replaced(m)) => {
                            VenueEvent::Accepted(*m.replacement_token.as_bytes())
                        }
                        Ok(OutboundMessage::Canceled(m)) => VenueEvent::Gone(*m.token.as_bytes()),
                        Ok(OutboundMessage::Rejected(m)) => {
                            counters.venue_rejects.fetch_add(1, Ordering::Relaxed);
                            VenueEvent::Gone(*m.token.as_bytes())
                        }
                        Ok(OutboundMessage::Executed(m)) => {
                            VenueEvent::Executed(*m.token.as_bytes())
                        }
                        _ => continue,
                    };
                    if events.send(event).await.is_err() {
                        return;
                    }
                }
            }
            Ok(ufo::Packet::ServerHeartbeat(status)) => {
                let _ = acks
                    .send(Ack {
                        next_client_expected: status.next_client_sequence_number,
                        next_server_expected: next_server,
                    })
                    .await;
            }
            _ => {}
        }
    }
}

async fn login(socket: &UdpSocket, args: &Args) -> anyhow::Result<u64> {
    let login = ufo::Packet::LoginRequest(ufo::LoginRequest {
        requested_session: ufo::Session::BLANK,
        requested_sequence_number: 0,
        username: ufo::Username::from_text(args.user.as_bytes())
            .map_err(|error| anyhow::anyhow!("{error}"))?,
        password: ufo::Password::from_text(args.password.as_bytes())
            .map_err(|error| anyhow::anyhow!("{error}"))?,
    });
    let mut buf = [0u8; 2048];
    let len = login
        .encode(&mut buf)
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    let request = buf[..len].to_vec();
    for _ in 0..100 {
        socket.send_to(&request, args.venue).await?;
        if let Ok(Ok((got, _))) =
            tokio::time::timeout(Duration::from_millis(200), socket.recv_from(&mut buf)).await
        {
            match ufo::Packet::decode_from_server(&buf[..got]) {
                Ok(ufo::Packet::LoginAccepted(status)) => {
                    return Ok(status.next_client_sequence_number);
                }
                Ok(ufo::Packet::LoginRejected(rejected)) => bail!("login rejected: {rejected:?}"),
                _ => {}
            }
        }
    }
    bail!("no login answer from {}", args.venue)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let counters = Arc::new(Counters::default());
    let feed = UdpSocket::bind(args.feed)
        .await
        .with_context(|| format!("binding the feed {}", args.feed))?;
    let order_entry = Arc::new(
        UdpSocket::bind(args.local)
            .await
            .with_context(|| format!("binding {}", args.local))?,
    );
    let next_client = login(&order_entry, &args).await?;
    let mut locates = HashMap::new();
    let mut stocks = HashMap::new();
    let mut symbols = HashMap::new();
    for (index, name) in args.symbols.iter().enumerate() {
        // The venue numbers stock locates from 1 in the order of its symbol list; the
        // decode task still checks each Stock Directory before quoting.
        let locate = u16::try_from(index + 1)?;
        locates.insert(itch::Stock::new(name)?.0, locate);
        stocks.insert(
            locate,
            Stock::from_symbol(name.as_bytes()).map_err(|error| anyhow::anyhow!("{error}"))?,
        );
        symbols.insert(locate, SymbolState::default());
    }
    let strategy = Strategy {
        args_tick: i128::from(args.tick),
        quote_qty: args.quote_qty,
        min_spread_ticks: i128::from(args.min_spread_ticks),
        requote_ticks: i128::from(args.requote_ticks),
        symbols,
        next_token: 0,
    };
    let (top_tx, top_rx) = mpsc::channel(CHANNEL);
    let (intent_tx, intent_rx) = mpsc::channel(CHANNEL);
    let (checked_tx, checked_rx) = mpsc::channel(CHANNEL);
    let (event_tx, event_rx) = mpsc::channel(CHANNEL);
    let (ack_tx, ack_rx) = mpsc::channel(CHANNEL);
    let tasks = [
        tokio::spawn(decode_task(feed, top_tx, Arc::clone(&counters), locates)),
        tokio::spawn(strategy_task(
            top_rx,
            event_rx,
            intent_tx,
            strategy,
            Arc::clone(&counters),
        )),
        tokio::spawn(risk_task(
            intent_rx,
            checked_tx,
            event_tx.clone(),
            Arc::clone(&counters),
        )),
        tokio::spawn(encode_task(
            Arc::clone(&order_entry),
            args.venue,
            checked_rx,
            ack_rx,
            next_client,
            stocks,
            Arc::clone(&counters),
        )),
        tokio::spawn(venue_task(
            Arc::clone(&order_entry),
            event_tx,
            ack_tx,
            Arc::clone(&counters),
        )),
    ];
    println!("tokio-pipeline: ready");
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    for task in &tasks {
        task.abort();
    }
    let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
    println!(
        "tokio-pipeline: {}",
        serde_json::json!({
            "feed_packets": get(&counters.feed_packets),
            "feed_gaps": get(&counters.feed_gaps),
            "feed_malformed": get(&counters.feed_malformed),
            "intents": get(&counters.intents),
            "risk_rejects": get(&counters.risk_rejects),
            "orders_sent": get(&counters.orders_sent),
            "venue_rejects": get(&counters.venue_rejects),
            "resends": get(&counters.resends),
        })
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = if args.worker_threads == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.worker_threads)
            .enable_all()
            .build()?
    };
    runtime.block_on(run(args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strategy() -> Strategy {
        let mut symbols = HashMap::new();
        symbols.insert(1, SymbolState::default());
        Strategy {
            args_tick: 100,
            quote_qty: 100,
            min_spread_ticks: 3,
            requote_ticks: 1,
            symbols,
            next_token: 0,
        }
    }

    fn top(bid_qty: u64, ask_qty: u64, seq: u64) -> TopOfBook {
        TopOfBook {
            locate: 1,
            seq,
            bid: 999_900,
            bid_qty,
            ask: 1_000_000,
            ask_qty,
        }
    }

    /// The venue's tick pattern (`--flow ticks`): the quotes move by a tick on each swing,
    /// and only an acknowledged quote is replaced, as tickwire's market maker does.
    #[test]
    fn quotes_follow_the_microprice_and_replace_only_acknowledged_orders() {
        let mut strategy = strategy();
        let mut out = Vec::new();
        let big = 900_000 + 100;
        strategy.symbols.get_mut(&1).unwrap().top = Some(top(big, 100, 7));
        strategy.quote(1, &mut out);
        let prices: Vec<u32> = out
            .iter()
            .map(|intent| match intent {
                Intent::New { price, .. } => *price,
                Intent::Replace { .. } => panic!("nothing to replace yet"),
            })
            .collect();
        assert_eq!(prices, [999_800, 1_000_200]);
        let Intent::New {
            token: bid_token, ..
        } = out[0]
        else {
            panic!()
        };
        assert_eq!(token::trigger_seq(&bid_token), Some(7));
        // Not acknowledged yet: the swing does not replace.
        out.clear();
        strategy.symbols.get_mut(&1).unwrap().top = Some(top(100, big, 8));
        strategy.quote(1, &mut out);
        assert!(out.is_empty());
        // Acknowledged: requote the bid at once (with the latest trigger).
        assert_eq!(strategy.on_event(VenueEvent::Accepted(bid_token)), Some(1));
        strategy.quote(1, &mut out);
        assert_eq!(out.len(), 1);
        let Intent::Replace {
            existing,
            price,
            token,
            ..
        } = out[0]
        else {
            panic!()
        };
        assert_eq!((existing, price), (bid_token, 999_700));
        assert_eq!(token::trigger_seq(&token), Some(8));
    }
}
