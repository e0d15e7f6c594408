//! The engine thread: owns the books, the feed, the participant sessions, the flow and the
//! latency capture, and handles every [`Event`] from the socket threads in arrival order.
//!
//! Contract:
//! - Single-threaded: one event at a time, so every state change is ordered and the feed
//!   publishes book changes in exactly the order they happened.
//! - After each batch of events and each timer tick the feed is flushed (one or more
//!   MoldUDP64 packets of whatever became ready) and pending OUCH messages are sent.
//! - An inbound OUCH message gets its response (Accepted, Replaced, Rejected, ...) before
//!   any execution it causes, in the user's sequenced stream.
//! - The loop waits on the event channel at most until the next timer deadline (heartbeats,
//!   timeouts, delayed packets, flow steps every millisecond while a flow runs), at most
//!   100 ms, so a stop is seen within 100 ms.

use std::{
    collections::VecDeque,
    net::{SocketAddr, UdpSocket},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
        mpsc::{Receiver, RecvTimeoutError},
    },
    time::Duration,
};

use serde_json::{Value, json};
use tickwire_protocol::{
    itch, moldudp64,
    ouch::{
        self, Accepted, BboWeight, CancelReason, Canceled, EnterOrder, Executed, InboundMessage,
        LiquidityFlag, Modified, OrderState, OutboundMessage, Price4, RejectReason, Rejected,
        ReplaceOrder, Replaced, TimeInForce, Token,
    },
};

use crate::{
    book::{Effect, Exchange, NewOrder, Order, OrderRef, Owner, Side},
    clock::{mono_ns, since_midnight_ns},
    feed::{FaultConfig, Feed},
    flow::{Flow, FlowAction, Pacer},
    latency::{Latency, Summary},
    net::Event,
    rng::{Rng, fraction_to_ppb},
    session::{AuditRecord, Fill, LiveOrder, Participants, Protocol, SessionEvent},
};

/// Longest wait for an event.
const MAX_WAIT_NS: u64 = 100_000_000;

/// Flow timer period while a flow runs.
const FLOW_TICK_NS: u64 = 1_000_000;

/// Events handled before the feed is flushed, at most.
const MAX_EVENTS_PER_BATCH: usize = 256;

/// Most malformed datagrams per admin command.
const MAX_MALFORMED: u64 = 100_000;

/// Shares must be below this (OUCH 4.2).
const MAX_SHARES: u32 = 1_000_000;

/// Cancel reason for cancel-on-disconnect.
const LOST_SESSION_REASON: u8 = b'Z';

/// A traded symbol.
#[derive(Debug, Clone)]
pub struct Symbol {
    /// Name.
    pub name: String,
    /// Tick, `Price(4)` raw.
    pub tick: u32,
    /// ITCH stock field.
    pub itch_stock: itch::Stock,
    /// OUCH stock field.
    pub ouch_stock: ouch::Stock,
}

/// Engine counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct EngineCounters {
    /// Orders accepted.
    pub accepted: u64,
    /// Orders rejected.
    pub rejected: u64,
    /// Executions (each match once).
    pub executions: u64,
    /// Shares executed.
    pub executed_shares: u64,
    /// Flow actions applied.
    pub flow_actions: u64,
    /// Events handled.
    pub events: u64,
    /// Orders canceled by cancel-on-disconnect.
    pub disconnect_cancels: u64,
}

/// What a run reports at the end.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Latency percentiles.
    pub summary: Summary,
    /// Enter and Replace orders received.
    pub orders_received: u64,
    /// Orders whose trigger matched.
    pub matched: u64,
    /// Orders whose trigger did not match.
    pub unmatched: u64,
    /// Feed datagrams sent.
    pub feed_packets: u64,
    /// Feed messages published.
    pub feed_messages: u64,
    /// Retransmission requests answered.
    pub retransmit_requests: u64,
    /// Ticks sent by the tick generator (`--flow ticks`; 0 otherwise).
    pub ticks_sent: u64,
    /// Flow steps forgotten because the venue fell more than a second behind.
    pub flow_behind_skipped: u64,
    /// Feed packets that came back (`--feed-echo`).
    pub echoes: u64,
    /// The histogram as `(value_ns, count)` pairs, for merging runs.
    pub histogram: Vec<(u64, u64)>,
}

impl RunReport {
    /// The `--report` JSON.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut value = self.summary.to_json();
        if let Some(object) = value.as_object_mut() {
            object.insert("orders_received".into(), json!(self.orders_received));
            object.insert("feed_packets".into(), json!(self.feed_packets));
            object.insert(
                "retransmit_requests".into(),
                json!(self.retransmit_requests),
            );
            object.insert("matched_orders".into(), json!(self.matched));
            object.insert("unmatched_orders".into(), json!(self.unmatched));
            object.insert("feed_messages".into(), json!(self.feed_messages));
            object.insert("ticks_sent".into(), json!(self.ticks_sent));
            object.insert(
                "flow_behind_skipped".into(),
                json!(self.flow_behind_skipped),
            );
            object.insert("echoes".into(), json!(self.echoes));
            object.insert("histogram".into(), json!(self.histogram));
        }
        value
    }
}

/// The engine; see the module docs.
#[derive(Debug)]
pub struct Engine {
    symbols: Vec<Symbol>,
    exchange: Exchange,
    feed: Feed,
    retransmit: Option<UdpSocket>,
    participants: Participants,
    latency: Latency,
    flow: Flow,
    pacer: Pacer,
    effects: Vec<Effect>,
    actions: Vec<FlowAction>,
    session_events: Vec<SessionEvent>,
    malformed_rng: Rng,
    counters: EngineCounters,
    stop: Arc<AtomicBool>,
    end_at_ns: Option<u64>,
    session_ended: bool,
    /// ITCH timestamp for the event being handled.
    now_itch_ns: u64,
}

/// Parts the engine is built from.
#[derive(Debug)]
pub struct EngineParts {
    /// Symbols.
    pub symbols: Vec<Symbol>,
    /// Feed.
    pub feed: Feed,
    /// Socket retransmission answers leave from.
    pub retransmit: Option<UdpSocket>,
    /// Sessions.
    pub participants: Participants,
    /// Flow.
    pub flow: Flow,
    /// Flow rate (steps per second).
    pub flow_rate: u64,
    /// Stop flag (signals, admin `shutdown`).
    pub stop: Arc<AtomicBool>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Seed for malformed datagrams.
    pub seed: u64,
}

fn json_text(bytes: &[u8]) -> String {
    let end = bytes
        .iter()
        .rposition(|&byte| byte != b' ')
        .map_or(0, |last| last + 1);
    String::from_utf8_lossy(bytes.get(..end).unwrap_or_default()).into_owned()
}

fn char_text(byte: u8) -> String {
    json_text(&[byte])
}

/// The decoded inbound message as JSON (the admin `orders` command).
#[must_use]
pub fn inbound_json(record: &AuditRecord) -> Value {
    let mut value = match InboundMessage::decode(&record.bytes) {
        Ok(InboundMessage::EnterOrder(order)) => json!({
            "type": "O",
            "token": json_text(order.token.as_bytes()),
            "side": char_text(order.side.to_byte()),
            "shares": order.shares,
            "stock": json_text(order.stock.as_bytes()),
            "price": order.price.raw(),
            "time_in_force": order.time_in_force.to_wire(),
            "firm": json_text(order.firm.as_bytes()),
            "display": char_text(order.display.to_byte()),
            "capacity": char_text(order.capacity.to_byte()),
            "intermarket_sweep": char_text(order.intermarket_sweep.to_byte()),
            "minimum_quantity": order.minimum_quantity,
            "cross_type": char_text(order.cross_type.to_byte()),
            "customer_type": char_text(order.customer_type.to_byte()),
        }),
        Ok(InboundMessage::ReplaceOrder(order)) => json!({
            "type": "U",
            "existing_token": json_text(order.existing_token.as_bytes()),
            "replacement_token": json_text(order.replacement_token.as_bytes()),
            "shares": order.shares,
            "price": order.price.raw(),
            "time_in_force": order.time_in_force.to_wire(),
            "display": char_text(order.display.to_byte()),
            "intermarket_sweep": char_text(order.intermarket_sweep.to_byte()),
            "minimum_quantity": order.minimum_quantity,
        }),
        Ok(InboundMessage::CancelOrder(order)) => json!({
            "type": "X",
            "token": json_text(order.token.as_bytes()),
            "shares": order.shares,
        }),
        Ok(InboundMessage::ModifyOrder(order)) => json!({
            "type": "M",
            "token": json_text(order.token.as_bytes()),
            "side": char_text(order.side.to_byte()),
            "shares": order.shares,
        }),
        Err(error) => json!({
            "type": "invalid",
            "error": error.to_string(),
            "bytes_hex": record.bytes.iter().map(|byte| format!("{byte:02x}")).collect::<String>(),
        }),
    };
    if let Some(object) = value.as_object_mut() {
        object.insert("protocol".into(), json!(record.protocol.name()));
        object.insert("client_sequence".into(), json!(record.client_sequence));
        object.insert("arrival_ns".into(), json!(record.arrival_ns));
    }
    value
}

/// Net position and realized PnL of fills, first in first out. PnL is in `Price(4)` raw
/// units times shares (1/10,000 dollars), exact.
fn position_of(fills: &[&Fill]) -> (i64, i128) {
    let mut lots: VecDeque<(i64, u32)> = VecDeque::new();
    let mut position: i64 = 0;
    let mut realized: i128 = 0;
    for fill in fills {
        let sign: i64 = if fill.side == b'B' { 1 } else { -1 };
        let mut quantity = i64::from(fill.shares);
        // Each iteration consumes a lot or the fill.
        while quantity > 0 {
            match lots.front_mut() {
                Some((lot_quantity, lot_price)) if lot_quantity.signum() == -sign => {
                    let closed = quantity.min(lot_quantity.abs());
                    // Closing a long (sell) gains price - lot; closing a short gains lot - price.
                    realized += i128::from(closed)
                        * (i128::from(fill.price) - i128::from(*lot_price))
                        * i128::from(-sign);
                    *lot_quantity += sign * closed;
                    quantity -= closed;
                    position += sign * closed;
                    if *lot_quantity == 0 {
                        lots.pop_front();
                    }
                }
                _ => {
                    lots.push_back((sign * quantity, fill.price));
                    position += sign * quantity;
                    quantity = 0;
                }
            }
        }
    }
    (position, realized)
}

/// `raw` 1/10,000 units as a decimal string with 4 places.
fn decimal4(raw: i128) -> String {
    let sign = if raw < 0 { "-" } else { "" };
    let magnitude = raw.unsigned_abs();
    format!("{sign}{}.{:04}", magnitude / 10_000, magnitude % 10_000)
}

impl Engine {
    /// An engine; call [`Engine::start_session`] next.
    #[must_use]
    pub fn new(parts: EngineParts) -> Self {
        let now = mono_ns();
        Self {
            exchange: Exchange::new(parts.symbols.len()),
            symbols: parts.symbols,
            feed: parts.feed,
            retransmit: parts.retransmit,
            participants: parts.participants,
            latency: Latency::new(),
            flow: parts.flow,
            pacer: Pacer::new(parts.flow_rate, now),
            effects: Vec::with_capacity(256),
            actions: Vec::with_capacity(64),
            session_events: Vec::with_capacity(64),
            malformed_rng: Rng::new(parts.seed ^ 0x5EED_BAD0),
            counters: EngineCounters::default(),
            stop: parts.stop,
            end_at_ns: parts
                .duration
                .map(|duration| now + u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)),
            session_ended: false,
            now_itch_ns: since_midnight_ns(),
        }
    }

    /// Sets the initial faults.
    pub const fn set_faults(&mut self, faults: FaultConfig) {
        self.feed.set_faults(faults);
    }

    fn locate(symbol: u16) -> u16 {
        symbol.saturating_add(1)
    }

    fn publish(&mut self, message: itch::Message) {
        self.feed.publish(&message);
    }

    /// Publishes the start of the session: System Event `O`, a Stock Directory per symbol,
    /// System Events `S` and `Q`; then sends them.
    pub fn start_session(&mut self) {
        self.now_itch_ns = since_midnight_ns();
        let event = |event_code| {
            itch::Message::SystemEvent(itch::SystemEvent {
                stock_locate: 0,
                tracking_number: 0,
                timestamp: since_midnight_ns(),
                event_code,
            })
        };
        self.publish(event(b'O'));
        for index in 0..self.symbols.len() {
            let Some(symbol) = self.symbols.get(index) else {
                continue;
            };
            let directory = itch::StockDirectory {
                stock_locate: Self::locate(u16::try_from(index).unwrap_or(u16::MAX)),
                tracking_number: 0,
                timestamp: since_midnight_ns(),
                stock: symbol.itch_stock,
                market_category: b'Q',
                financial_status_indicator: b'N',
                round_lot_size: 100,
                round_lots_only: b'N',
                issue_classification: b'C',
                issue_sub_type: itch::Alpha::new("Z").unwrap_or_default(),
                authenticity: b'T',
                short_sale_threshold_indicator: b'N',
                ipo_flag: b'N',
                luld_reference_price_tier: b' ',
                etp_flag: b'N',
                etp_leverage_factor: 0,
                inverse_indicator: b'N',
            };
            self.publish(itch::Message::StockDirectory(directory));
        }
        self.publish(event(b'S'));
        self.publish(event(b'Q'));
        self.feed.flush(&mut self.latency);
    }

    /// Handles events until stopped; then ends the session and returns the report.
    pub fn run(&mut self, events: &Receiver<Event>) -> RunReport {
        let mut disconnected = false;
        // Ends on the stop flag, `--duration` or a closed channel (each checked every pass).
        loop {
            let now = mono_ns();
            if self.stop.load(Ordering::Relaxed)
                || self.end_at_ns.is_some_and(|end| now >= end)
                || disconnected
            {
                break;
            }
            let deadline = self.next_deadline(now);
            let wait = Duration::from_nanos(deadline.saturating_sub(now).min(MAX_WAIT_NS));
            match events.recv_timeout(wait) {
                Ok(event) => {
                    self.handle(event);
                    for _ in 1..MAX_EVENTS_PER_BATCH {
                        match events.try_recv() {
                            Ok(event) => self.handle(event),
                            Err(_) => break,
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => disconnected = true,
            }
            self.on_timer(mono_ns());
            self.flush();
        }
        self.end_session();
        self.report()
    }

    fn next_deadline(&self, now: u64) -> u64 {
        let mut deadline = self
            .feed
            .next_deadline()
            .min(self.participants.next_deadline(now));
        if matches!(self.flow, Flow::Ticks(_)) && !self.session_ended {
            // Ticks are paced one by one, not in 1 ms bursts.
            deadline = deadline.min(self.pacer.next_due_ns());
        } else if !matches!(self.flow, Flow::None) && self.pacer.rate() > 0 && !self.session_ended {
            deadline = deadline.min(now + FLOW_TICK_NS);
        }
        if let Some(end) = self.end_at_ns {
            deadline = deadline.min(end);
        }
        deadline
    }

    fn flush(&mut self) {
        self.feed.flush(&mut self.latency);
        let mut events = std::mem::take(&mut self.session_events);
        self.participants.flush(mono_ns(), &mut events);
        self.handle_session_events(&mut events, &[]);
        self.session_events = events;
    }

    fn on_timer(&mut self, now: u64) {
        self.feed.on_timer(now, &mut self.latency);
        let mut events = std::mem::take(&mut self.session_events);
        self.participants.on_timer(now, &mut events);
        self.handle_session_events(&mut events, &[]);
        self.session_events = events;
        if !self.session_ended {
            let owed = self.pacer.owed(now);
            if owed > 0 {
                self.now_itch_ns = since_midnight_ns();
            }
            for _ in 0..owed {
                self.flow_step();
            }
        }
    }

    fn flow_step(&mut self) {
        let mut actions = std::mem::take(&mut self.actions);
        actions.clear();
        self.flow.step(&mut self.exchange, &mut actions);
        for &action in &actions {
            self.counters.flow_actions += 1;
            match action {
                FlowAction::Enter(order_ref, order) => {
                    self.exchange.enter(order_ref, order, &mut self.effects);
                }
                FlowAction::Cancel(order_ref, shares) => {
                    self.exchange
                        .cancel(order_ref, shares, None, &mut self.effects);
                }
                FlowAction::Execute(order_ref, shares) => {
                    self.exchange.execute(order_ref, shares, &mut self.effects);
                }
                FlowAction::Replace(old_ref, new_ref, order) => {
                    self.exchange
                        .replace(old_ref, new_ref, order, &mut self.effects);
                }
            }
            self.apply_effects();
        }
        self.actions = actions;
        if matches!(self.flow, Flow::Ticks(_)) {
            // One tick per feed packet, sent when it is due.
            self.feed.flush(&mut self.latency);
        }
    }

    fn handle(&mut self, event: Event) {
        self.counters.events += 1;
        self.now_itch_ns = since_midnight_ns();
        let now = mono_ns();
        let mut session_events = std::mem::take(&mut self.session_events);
        session_events.clear();
        match event {
            Event::Ufo {
                from,
                bytes,
                arrival_ns,
            } => {
                self.participants
                    .ufo_datagram(from, &bytes, now, &mut session_events);
                self.handle_session_events_with(
                    &mut session_events,
                    &bytes,
                    arrival_ns,
                    Protocol::Ufo,
                );
            }
            Event::TcpConnected { conn, stream, peer } => {
                self.participants.tcp_connected(conn, stream, peer, now);
            }
            Event::TcpPacket {
                conn,
                bytes,
                arrival_ns,
            } => {
                self.participants
                    .tcp_packet(conn, &bytes, now, &mut session_events);
                self.handle_session_events_with(
                    &mut session_events,
                    &bytes,
                    arrival_ns,
                    Protocol::SoupBinTcp,
                );
            }
            Event::TcpClosed { conn } => {
                self.participants.tcp_closed(conn, &mut session_events);
                self.handle_session_events(&mut session_events, &[]);
            }
            Event::Retransmit { from, bytes } => self.answer_retransmit(from, &bytes),
            Event::FeedEcho { bytes, arrival_ns } => {
                if let Ok(packet) = moldudp64::decode(&bytes)
                    && !packet.is_empty()
                {
                    self.latency.on_echo(packet.next_sequence() - 1, arrival_ns);
                }
            }
            Event::Admin { line, reply } => {
                let response = self.admin(&line);
                let _ = reply.send(response);
            }
        }
        self.session_events = session_events;
    }

    fn answer_retransmit(&mut self, from: SocketAddr, bytes: &[u8]) {
        if let Some(socket) = &self.retransmit {
            let _ = self.feed.answer(bytes, from, socket);
        }
    }

    fn handle_session_events(&mut self, events: &mut Vec<SessionEvent>, bytes: &[u8]) {
        self.handle_session_events_with(events, bytes, mono_ns(), Protocol::Ufo);
    }

    fn handle_session_events_with(
        &mut self,
        events: &mut Vec<SessionEvent>,
        bytes: &[u8],
        arrival_ns: u64,
        protocol: Protocol,
    ) {
        // Bounded: losing a session can emit at most one more Lost per user.
        let mut index = 0;
        while index < events.len() {
            let Some(event) = events.get(index).cloned() else {
                break;
            };
            index += 1;
            match event {
                SessionEvent::Message {
                    user,
                    client_sequence,
                    range,
                } => {
                    let message = bytes.get(range).unwrap_or_default();
                    self.participants.audit(
                        user,
                        AuditRecord {
                            protocol,
                            client_sequence,
                            arrival_ns,
                            bytes: message.to_vec(),
                        },
                    );
                    self.ouch_message(user, message, arrival_ns);
                }
                SessionEvent::Lost { user, reason } => self.session_lost(user, reason),
            }
        }
        events.clear();
    }

    /// Cancel-on-disconnect.
    fn session_lost(&mut self, user: usize, reason: &str) {
        let Some(state) = self.participants.users.get(user) else {
            return;
        };
        let mut refs: Vec<OrderRef> = state.live.values().map(|order| order.order_ref).collect();
        refs.sort_unstable();
        tracing::info!(user = %state.name, reason, orders = refs.len(), "session lost: canceling its orders");
        for order_ref in refs {
            if self
                .exchange
                .cancel(order_ref, 0, Some(LOST_SESSION_REASON), &mut self.effects)
            {
                self.counters.disconnect_cancels += 1;
            }
            self.apply_effects();
        }
    }

    fn timestamp(&self) -> u64 {
        self.now_itch_ns
    }

    fn reject(&mut self, user: usize, token: Token, reason: RejectReason) {
        self.counters.rejected += 1;
        if let Some(state) = self.participants.users.get_mut(user) {
            state.counters.rejected += 1;
        }
        let rejected = Rejected {
            timestamp_ns: self.timestamp(),
            token,
            reason,
        };
        self.participants
            .queue(user, &OutboundMessage::Rejected(rejected));
    }

    fn symbol_of(&self, stock: &ouch::Stock) -> Option<u16> {
        self.symbols
            .iter()
            .position(|symbol| symbol.ouch_stock.text() == stock.text())
            .and_then(|index| u16::try_from(index).ok())
    }

    /// Price and size checks shared by Enter and Replace.
    fn check_order(&self, symbol: u16, shares: u32, price: Price4) -> Result<(), RejectReason> {
        if shares == 0 || shares >= MAX_SHARES {
            return Err(RejectReason::SHARES_EXCEED_SAFETY_THRESHOLD);
        }
        let tick = self
            .symbols
            .get(usize::from(symbol))
            .map_or(1, |symbol| symbol.tick.max(1));
        let raw = price.raw();
        if raw == 0 || raw >= Price4::MARKET.raw() || !raw.is_multiple_of(tick) {
            return Err(RejectReason::INVALID_PRICE);
        }
        Ok(())
    }

    fn ouch_message(&mut self, user: usize, bytes: &[u8], arrival_ns: u64) {
        match InboundMessage::decode(bytes) {
            Ok(InboundMessage::EnterOrder(order)) => {
                self.latency.on_order(order.token.as_bytes(), arrival_ns);
                self.enter_order(user, &order);
            }
            Ok(InboundMessage::ReplaceOrder(order)) => {
                self.latency
                    .on_order(order.replacement_token.as_bytes(), arrival_ns);
                self.replace_order(user, &order);
            }
            Ok(InboundMessage::CancelOrder(order)) => {
                self.cancel_order(user, order.token, order.shares);
            }
            Ok(InboundMessage::ModifyOrder(order)) => {
                self.modify_order(user, order.token, order.side.to_byte(), order.shares);
            }
            Err(error) => {
                if let Some(state) = self.participants.users.get_mut(user) {
                    state.counters.invalid += 1;
                    tracing::debug!(user = %state.name, "undecodable OUCH message: {error}");
                }
            }
        }
    }

    fn enter_order(&mut self, user: usize, order: &EnterOrder) {
        if self.session_ended {
            self.reject(user, order.token, RejectReason::CLOSED);
            return;
        }
        let token = *order.token.as_bytes();
        let Some(state) = self.participants.users.get_mut(user) else {
            return;
        };
        state.counters.enter += 1;
        if !state.tokens_used.insert(token) {
            state.counters.duplicate_token += 1;
            self.reject(user, order.token, RejectReason::OTHER);
            return;
        }
        let Some(symbol) = self.symbol_of(&order.stock) else {
            self.reject(user, order.token, RejectReason::INVALID_STOCK);
            return;
        };
        if let Err(reason) = self.check_order(symbol, order.shares, order.price) {
            self.reject(user, order.token, reason);
            return;
        }
        let side = match order.side.to_byte() {
            b'B' => Side::Buy,
            b'S' | b'T' | b'E' => Side::Sell,
            _ => {
                self.reject(user, order.token, RejectReason::OTHER);
                return;
            }
        };
        let ioc = order.time_in_force == TimeInForce::IOC;
        let displayed = order.display.to_byte() != b'N';
        let order_ref = self.exchange.allocate_ref();
        let live = LiveOrder {
            order_ref,
            symbol,
            side: order.side.to_byte(),
            price: order.price.raw(),
            time_in_force: order.time_in_force.to_wire(),
            firm: *order.firm.as_bytes(),
            display: order.display.to_byte(),
            capacity: order.capacity.to_byte(),
            intermarket_sweep: order.intermarket_sweep.to_byte(),
            minimum_quantity: order.minimum_quantity,
            cross_type: order.cross_type.to_byte(),
        };
        self.exchange.enter(
            order_ref,
            NewOrder {
                owner: Owner::Participant {
                    user: u16::try_from(user).unwrap_or(u16::MAX),
                    token,
                },
                symbol,
                side,
                price: order.price.raw(),
                shares: order.shares,
                ioc,
                displayed,
            },
            &mut self.effects,
        );
        let rests = self.exchange.order(order_ref).is_some();
        let traded = self
            .effects
            .iter()
            .any(|effect| matches!(effect, Effect::Executed { .. }));
        if let Some(state) = self.participants.users.get_mut(user) {
            state.live.insert(token, live);
        }
        self.counters.accepted += 1;
        let accepted = Accepted {
            timestamp_ns: self.timestamp(),
            token: order.token,
            side: order.side,
            shares: order.shares,
            stock: order.stock,
            price: order.price,
            time_in_force: order.time_in_force,
            firm: order.firm,
            display: order.display,
            order_reference_number: order_ref,
            capacity: order.capacity,
            intermarket_sweep: order.intermarket_sweep,
            minimum_quantity: order.minimum_quantity,
            cross_type: order.cross_type,
            order_state: if rests || traded {
                OrderState::LIVE
            } else {
                OrderState::DEAD
            },
            bbo_weight: BboWeight::UNSPECIFIED,
        };
        self.participants
            .queue(user, &OutboundMessage::Accepted(accepted));
        self.apply_effects();
    }

    fn replace_order(&mut self, user: usize, order: &ReplaceOrder) {
        if self.session_ended {
            self.reject(user, order.replacement_token, RejectReason::CLOSED);
            return;
        }
        let existing = *order.existing_token.as_bytes();
        let replacement = *order.replacement_token.as_bytes();
        let Some(state) = self.participants.users.get_mut(user) else {
            return;
        };
        state.counters.replace += 1;
        if !state.tokens_used.insert(replacement) {
            state.counters.duplicate_token += 1;
            self.reject(user, order.replacement_token, RejectReason::OTHER);
            return;
        }
        let Some(live) = state.live.get(&existing).copied() else {
            state.counters.unknown_token += 1;
            self.reject(user, order.replacement_token, RejectReason::OTHER);
            return;
        };
        if order.shares == 0 {
            // A replacement of no shares cancels the order.
            self.cancel_order(user, order.existing_token, 0);
            return;
        }
        if let Err(reason) = self.check_order(live.symbol, order.shares, order.price) {
            self.reject(user, order.replacement_token, reason);
            return;
        }
        let Some(resting) = self.exchange.order(live.order_ref).copied() else {
            // Filled or canceled while the replace was on its way.
            if let Some(state) = self.participants.users.get_mut(user) {
                state.live.remove(&existing);
                state.counters.unknown_token += 1;
            }
            self.reject(user, order.replacement_token, RejectReason::OTHER);
            return;
        };
        let new_ref = self.exchange.allocate_ref();
        let ioc = order.time_in_force == TimeInForce::IOC;
        let displayed = order.display.to_byte() != b'N';
        let outcome = self.exchange.replace(
            live.order_ref,
            new_ref,
            NewOrder {
                owner: Owner::Participant {
                    user: u16::try_from(user).unwrap_or(u16::MAX),
                    token: replacement,
                },
                symbol: resting.symbol,
                side: resting.side,
                price: order.price.raw(),
                shares: order.shares,
                ioc,
                displayed,
            },
            &mut self.effects,
        );
        let Some(outcome) = outcome else {
            self.reject(user, order.replacement_token, RejectReason::OTHER);
            return;
        };
        let order_ref = outcome.order_ref();
        let new_live = LiveOrder {
            order_ref,
            price: order.price.raw(),
            time_in_force: order.time_in_force.to_wire(),
            display: order.display.to_byte(),
            intermarket_sweep: order.intermarket_sweep.to_byte(),
            minimum_quantity: order.minimum_quantity,
            ..live
        };
        if let Some(state) = self.participants.users.get_mut(user) {
            state.live.remove(&existing);
            state.live.insert(replacement, new_live);
        }
        let stock = self
            .symbols
            .get(usize::from(live.symbol))
            .map_or(ouch::Stock::from_bytes([b' '; 8]), |symbol| {
                symbol.ouch_stock
            });
        let replaced = Replaced {
            timestamp_ns: self.timestamp(),
            replacement_token: order.replacement_token,
            side: ouch::Side::from_byte(live.side),
            shares: order.shares,
            stock,
            price: order.price,
            time_in_force: order.time_in_force,
            firm: ouch::Firm::from_bytes(live.firm),
            display: order.display,
            order_reference_number: order_ref,
            capacity: ouch::Capacity::from_byte(live.capacity),
            intermarket_sweep: order.intermarket_sweep,
            minimum_quantity: order.minimum_quantity,
            cross_type: ouch::CrossType::from_byte(live.cross_type),
            order_state: OrderState::LIVE,
            previous_token: order.existing_token,
            bbo_weight: BboWeight::UNSPECIFIED,
        };
        self.participants
            .queue(user, &OutboundMessage::Replaced(replaced));
        self.apply_effects();
    }

    fn cancel_order(&mut self, user: usize, token: Token, shares: u32) {
        let Some(state) = self.participants.users.get_mut(user) else {
            return;
        };
        state.counters.cancel += 1;
        let Some(live) = state.live.get(token.as_bytes()).copied() else {
            state.counters.unknown_cancel += 1;
            return;
        };
        if !self.exchange.cancel(
            live.order_ref,
            shares,
            Some(CancelReason::USER_REQUESTED.to_byte()),
            &mut self.effects,
        ) {
            if let Some(state) = self.participants.users.get_mut(user) {
                state.live.remove(token.as_bytes());
                state.counters.unknown_cancel += 1;
            }
            return;
        }
        self.apply_effects();
    }

    fn modify_order(&mut self, user: usize, token: Token, side: u8, shares: u32) {
        let Some(state) = self.participants.users.get_mut(user) else {
            return;
        };
        state.counters.modify += 1;
        let Some(live) = state.live.get(token.as_bytes()).copied() else {
            state.counters.unknown_cancel += 1;
            return;
        };
        let Some(resting) = self.exchange.order(live.order_ref).copied() else {
            state.counters.unknown_cancel += 1;
            return;
        };
        // Modify keeps priority: only a size decrease and a change among the sell kinds.
        let sell_kinds = [b'S', b'T', b'E'];
        let side_ok =
            side == live.side || (sell_kinds.contains(&side) && sell_kinds.contains(&live.side));
        if !side_ok || shares > resting.remaining {
            state.counters.unknown_cancel += 1;
            return;
        }
        if shares == 0 {
            state.live.remove(token.as_bytes());
        } else if let Some(live) = state.live.get_mut(token.as_bytes()) {
            live.side = side;
        }
        self.exchange
            .cancel(live.order_ref, shares, None, &mut self.effects);
        let modified = Modified {
            timestamp_ns: self.timestamp(),
            token,
            side: ouch::Side::from_byte(side),
            shares,
        };
        self.participants
            .queue(user, &OutboundMessage::Modified(modified));
        self.apply_effects();
    }

    fn stock(&self, symbol: u16) -> itch::Stock {
        self.symbols
            .get(usize::from(symbol))
            .map_or(itch::Stock::BLANK, |symbol| symbol.itch_stock)
    }

    /// Turns the pending effects into ITCH messages and OUCH reports.
    fn apply_effects(&mut self) {
        let mut effects = std::mem::take(&mut self.effects);
        let timestamp = self.timestamp();
        for effect in effects.drain(..) {
            match effect {
                Effect::Added { order_ref, order } => {
                    if order.displayed {
                        self.publish(itch::Message::AddOrder(itch::AddOrder {
                            stock_locate: Self::locate(order.symbol),
                            tracking_number: 0,
                            timestamp,
                            order_reference_number: order_ref,
                            buy_sell_indicator: order.side.itch_byte(),
                            shares: order.remaining,
                            stock: self.stock(order.symbol),
                            price: order.price,
                        }));
                    }
                }
                Effect::Executed {
                    symbol,
                    resting_ref,
                    resting,
                    aggressor,
                    shares,
                    price,
                    match_number,
                } => {
                    self.counters.executions += 1;
                    self.counters.executed_shares += u64::from(shares);
                    if resting.displayed {
                        self.publish(itch::Message::OrderExecuted(itch::OrderExecuted {
                            stock_locate: Self::locate(symbol),
                            tracking_number: 0,
                            timestamp,
                            order_reference_number: resting_ref,
                            executed_shares: shares,
                            match_number,
                        }));
                    } else {
                        self.publish(itch::Message::Trade(itch::Trade {
                            stock_locate: Self::locate(symbol),
                            tracking_number: 0,
                            timestamp,
                            order_reference_number: 0,
                            buy_sell_indicator: b'B',
                            shares,
                            stock: self.stock(symbol),
                            price,
                            match_number,
                        }));
                    }
                    self.report_execution(
                        resting.owner,
                        resting.remaining,
                        shares,
                        price,
                        match_number,
                        LiquidityFlag::ADDED,
                    );
                    if let Some((_, owner, remaining)) = aggressor {
                        self.report_execution(
                            owner,
                            remaining,
                            shares,
                            price,
                            match_number,
                            LiquidityFlag::REMOVED,
                        );
                    }
                }
                Effect::Reduced {
                    order_ref,
                    order,
                    canceled,
                    reason,
                } => {
                    if order.displayed {
                        let message = if order.remaining == 0 {
                            itch::Message::OrderDelete(itch::OrderDelete {
                                stock_locate: Self::locate(order.symbol),
                                tracking_number: 0,
                                timestamp,
                                order_reference_number: order_ref,
                            })
                        } else {
                            itch::Message::OrderCancel(itch::OrderCancel {
                                stock_locate: Self::locate(order.symbol),
                                tracking_number: 0,
                                timestamp,
                                order_reference_number: order_ref,
                                canceled_shares: canceled,
                            })
                        };
                        self.publish(message);
                    }
                    if let Owner::Participant { user, token } = order.owner {
                        let user = usize::from(user);
                        if let Some(reason) = reason {
                            self.queue_canceled(user, token, canceled, reason);
                        }
                        if order.remaining == 0
                            && reason.is_some()
                            && let Some(state) = self.participants.users.get_mut(user)
                        {
                            state.live.remove(&token);
                        }
                    }
                }
                Effect::Replaced {
                    old_ref,
                    old,
                    new_ref,
                    order,
                } => self.publish_replace(old_ref, &old, new_ref, &order),
                Effect::IocCanceled { owner, shares, .. } => {
                    if let Owner::Participant { user, token } = owner {
                        let user = usize::from(user);
                        self.queue_canceled(
                            user,
                            token,
                            shares,
                            CancelReason::IMMEDIATE_OR_CANCEL.to_byte(),
                        );
                        if let Some(state) = self.participants.users.get_mut(user) {
                            state.live.remove(&token);
                        }
                    }
                }
            }
        }
        self.effects = effects;
    }

    fn publish_replace(
        &mut self,
        old_ref: OrderRef,
        old: &Order,
        new_ref: OrderRef,
        order: &Order,
    ) {
        let timestamp = self.timestamp();
        let locate = Self::locate(order.symbol);
        match (old.displayed, order.displayed) {
            (true, true) => self.publish(itch::Message::OrderReplace(itch::OrderReplace {
                stock_locate: locate,
                tracking_number: 0,
                timestamp,
                original_order_reference_number: old_ref,
                new_order_reference_number: new_ref,
                shares: order.remaining,
                price: order.price,
            })),
            (true, false) => self.publish(itch::Message::OrderDelete(itch::OrderDelete {
                stock_locate: locate,
                tracking_number: 0,
                timestamp,
                order_reference_number: old_ref,
            })),
            (false, true) => self.publish(itch::Message::AddOrder(itch::AddOrder {
                stock_locate: locate,
                tracking_number: 0,
                timestamp,
                order_reference_number: new_ref,
                buy_sell_indicator: order.side.itch_byte(),
                shares: order.remaining,
                stock: self.stock(order.symbol),
                price: order.price,
            })),
            (false, false) => {}
        }
    }

    fn queue_canceled(&mut self, user: usize, token: [u8; 14], shares: u32, reason: u8) {
        let canceled = Canceled {
            timestamp_ns: self.timestamp(),
            token: Token::from_bytes(token),
            decrement_shares: shares,
            reason: CancelReason::from_byte(reason),
        };
        self.participants
            .queue(user, &OutboundMessage::Canceled(canceled));
    }

    fn report_execution(
        &mut self,
        owner: Owner,
        remaining: u32,
        shares: u32,
        price: u32,
        match_number: u64,
        liquidity: LiquidityFlag,
    ) {
        let Owner::Participant { user, token } = owner else {
            return;
        };
        let user = usize::from(user);
        let executed = Executed {
            timestamp_ns: self.timestamp(),
            token: Token::from_bytes(token),
            executed_shares: shares,
            execution_price: Price4::from_raw(price),
            liquidity_flag: liquidity,
            match_number,
        };
        self.participants
            .queue(user, &OutboundMessage::Executed(executed));
        let Some(state) = self.participants.users.get_mut(user) else {
            return;
        };
        if let Some(live) = state.live.get(&token).copied() {
            state.fills.push(Fill {
                token,
                symbol: live.symbol,
                side: live.side,
                shares,
                price,
                match_number,
                liquidity: liquidity.to_byte(),
            });
            if remaining == 0 {
                state.live.remove(&token);
            }
        }
    }

    /// Ends the feed and the participant sessions (idempotent).
    pub fn end_session(&mut self) {
        self.flush();
        self.feed.end_session(&mut self.latency);
        self.participants.end_session(mono_ns());
        if !self.session_ended {
            tracing::info!(next_sequence = self.feed.next_sequence(), "session ended");
        }
        self.session_ended = true;
    }

    /// The report so far.
    #[must_use]
    pub fn report(&self) -> RunReport {
        RunReport {
            summary: self.latency.summary(),
            orders_received: self.latency.orders_received,
            matched: self.latency.matched,
            unmatched: self.latency.unmatched,
            feed_packets: self.feed.counters().packets,
            feed_messages: self.feed.next_sequence() - 1,
            retransmit_requests: self.feed.counters().retransmit_requests,
            ticks_sent: match &self.flow {
                Flow::Ticks(ticks) => ticks.ticks_sent,
                _ => 0,
            },
            flow_behind_skipped: self.pacer.skipped,
            echoes: self.latency.echoes,
            histogram: self.latency.recorded(),
        }
    }

    /// Handles one admin request line; returns the one-line JSON answer.
    pub fn admin(&mut self, line: &str) -> String {
        let answer = match serde_json::from_str::<Value>(line) {
            Ok(request) => self.admin_request(&request),
            Err(error) => Err(format!("request is not JSON: {error}")),
        };
        match answer {
            Ok(value) => value.to_string(),
            Err(error) => json!({"ok": false, "error": error}).to_string(),
        }
    }

    fn user_arg(&self, request: &Value) -> Result<usize, String> {
        let name = request
            .get("user")
            .and_then(Value::as_str)
            .ok_or("missing \"user\"")?;
        self.participants
            .user_index(name)
            .ok_or_else(|| format!("unknown user {name:?}"))
    }

    fn admin_request(&mut self, request: &Value) -> Result<Value, String> {
        let command = request
            .get("cmd")
            .and_then(Value::as_str)
            .ok_or("missing \"cmd\"")?;
        match command {
            "status" => Ok(self.status()),
            "orders" => {
                let user = self.user_arg(request)?;
                let state = self.participants.users.get(user).ok_or("no such user")?;
                let orders: Vec<Value> = state.audit.iter().map(inbound_json).collect();
                Ok(
                    json!({"ok": true, "user": state.name, "count": orders.len(), "dropped": state.audit_dropped, "orders": orders}),
                )
            }
            "open_orders" => {
                let user = self.user_arg(request)?;
                let state = self.participants.users.get(user).ok_or("no such user")?;
                let mut open: Vec<(&[u8; 14], &LiveOrder)> = state.live.iter().collect();
                open.sort_by_key(|(_, live)| live.order_ref);
                let orders: Vec<Value> = open
                    .into_iter()
                    .filter_map(|(token, live)| {
                        let resting = self.exchange.order(live.order_ref)?;
                        Some(json!({
                            "token": json_text(token),
                            "order_reference_number": live.order_ref,
                            "stock": self.symbols.get(usize::from(live.symbol)).map(|s| s.name.clone()),
                            "side": char_text(live.side),
                            "price": resting.price,
                            "shares": resting.remaining,
                            "time_in_force": live.time_in_force,
                            "displayed": resting.displayed,
                        }))
                    })
                    .collect();
                Ok(json!({"ok": true, "user": state.name, "orders": orders}))
            }
            "fills" => {
                let user = self.user_arg(request)?;
                let state = self.participants.users.get(user).ok_or("no such user")?;
                let fills: Vec<Value> = state
                    .fills
                    .iter()
                    .map(|fill| {
                        json!({
                            "token": json_text(&fill.token),
                            "stock": self.symbols.get(usize::from(fill.symbol)).map(|s| s.name.clone()),
                            "side": char_text(fill.side),
                            "shares": fill.shares,
                            "price": fill.price,
                            "match_number": fill.match_number,
                            "liquidity": char_text(fill.liquidity),
                        })
                    })
                    .collect();
                Ok(json!({"ok": true, "user": state.name, "fills": fills}))
            }
            "position" => {
                let user = self.user_arg(request)?;
                let state = self.participants.users.get(user).ok_or("no such user")?;
                let mut positions = serde_json::Map::new();
                for (index, symbol) in self.symbols.iter().enumerate() {
                    let fills: Vec<&Fill> = state
                        .fills
                        .iter()
                        .filter(|fill| usize::from(fill.symbol) == index)
                        .collect();
                    if fills.is_empty() {
                        continue;
                    }
                    let (position, realized) = position_of(&fills);
                    let bought: u64 = fills
                        .iter()
                        .filter(|f| f.side == b'B')
                        .map(|f| u64::from(f.shares))
                        .sum();
                    let sold: u64 = fills
                        .iter()
                        .filter(|f| f.side != b'B')
                        .map(|f| u64::from(f.shares))
                        .sum();
                    positions.insert(
                        symbol.name.clone(),
                        json!({
                            "position": position,
                            "bought": bought,
                            "sold": sold,
                            "realized_pnl_raw": realized.to_string(),
                            "realized_pnl": decimal4(realized),
                        }),
                    );
                }
                Ok(
                    json!({"ok": true, "user": state.name, "price_scale": 10_000, "positions": positions}),
                )
            }
            "book" => {
                let name = request
                    .get("symbol")
                    .and_then(Value::as_str)
                    .ok_or("missing \"symbol\"")?;
                let symbol = self
                    .symbols
                    .iter()
                    .position(|symbol| symbol.name == name)
                    .and_then(|index| u16::try_from(index).ok())
                    .ok_or_else(|| format!("unknown symbol {name:?}"))?;
                let (bids, asks) = self.exchange.displayed_levels(symbol);
                Ok(json!({"ok": true, "symbol": name, "bids": bids, "asks": asks}))
            }
            "fault" => {
                let mut faults = self.feed.faults();
                let fraction = |key: &str| {
                    request
                        .get(key)
                        .and_then(Value::as_f64)
                        .map(fraction_to_ppb)
                };
                if let Some(ppb) = fraction("drop") {
                    faults.drop_ppb = ppb;
                }
                if let Some(ppb) = fraction("duplicate") {
                    faults.duplicate_ppb = ppb;
                }
                if let Some(ppb) = fraction("reorder") {
                    faults.reorder_ppb = ppb;
                }
                if let Some(delay_us) = request.get("delay_us").and_then(Value::as_u64) {
                    faults.delay_ns = delay_us.saturating_mul(1000);
                }
                self.feed.set_faults(faults);
                tracing::info!(?faults, "feed faults set");
                Ok(json!({"ok": true, "faults": faults_json(faults)}))
            }
            "malformed" => {
                let count = request
                    .get("count")
                    .and_then(Value::as_u64)
                    .ok_or("missing \"count\"")?
                    .min(MAX_MALFORMED);
                self.feed.flush(&mut self.latency);
                self.feed
                    .send_malformed(count, &mut self.malformed_rng)
                    .map_err(|error| format!("send: {error}"))?;
                Ok(json!({"ok": true, "sent": count}))
            }
            "heartbeats" => {
                let enabled = request
                    .get("enabled")
                    .and_then(Value::as_bool)
                    .ok_or("missing \"enabled\"")?;
                let mut events = Vec::new();
                self.participants
                    .set_silenced(!enabled, mono_ns(), &mut events);
                self.handle_session_events(&mut events, &[]);
                tracing::info!(enabled, "participant session traffic");
                Ok(json!({"ok": true, "enabled": enabled}))
            }
            "end_session" => {
                self.end_session();
                Ok(json!({"ok": true, "next_sequence": self.feed.next_sequence()}))
            }
            "flow" => {
                let rate = request
                    .get("rate")
                    .and_then(Value::as_u64)
                    .ok_or("missing \"rate\"")?;
                self.pacer.set_rate(rate, mono_ns());
                Ok(json!({"ok": true, "flow": self.flow.name(), "rate": rate}))
            }
            "latency" => {
                let mut value = self.report().to_json();
                if let Some(object) = value.as_object_mut() {
                    object.insert("ok".into(), json!(true));
                }
                Ok(value)
            }
            "latency_reset" => {
                self.latency.reset();
                Ok(json!({"ok": true}))
            }
            "shutdown" => {
                self.stop.store(true, Ordering::Relaxed);
                Ok(json!({"ok": true}))
            }
            other => Err(format!("unknown command {other:?}")),
        }
    }

    fn status(&self) -> Value {
        let now = mono_ns();
        let participants: Vec<Value> = self
            .participants
            .users
            .iter()
            .enumerate()
            .map(|(index, user)| {
                let c = &user.counters;
                json!({
                    "name": user.name,
                    "protocol": user.protocol.map(Protocol::name),
                    "logged_in": user.logged_in(),
                    "peer": self.participants.peer(index).map(|peer| peer.to_string()),
                    "last_heard_ms_ago": (user.last_heard_ns > 0).then(|| now.saturating_sub(user.last_heard_ns) / 1_000_000),
                    "next_outbound_sequence": user.out.next(),
                    "next_client_sequence": user.next_client_sequence,
                    "open_orders": user.live.len(),
                    "fills": user.fills.len(),
                    "counters": {
                        "enter": c.enter, "replace": c.replace, "cancel": c.cancel, "modify": c.modify,
                        "invalid": c.invalid, "rejected": c.rejected,
                        "duplicate_token": c.duplicate_token, "unknown_token": c.unknown_token,
                        "unknown_cancel": c.unknown_cancel,
                        "duplicate_client_messages": c.duplicate_client_messages,
                        "client_gaps": c.client_gaps, "lost": c.lost, "logins": c.logins,
                    },
                })
            })
            .collect();
        let feed = self.feed.counters();
        let (store_first, store_bytes, store_evicted) = self.feed.store_stats();
        let s = &self.participants.counters;
        let e = &self.counters;
        let flow = match &self.flow {
            Flow::Replay(replay) => {
                json!({"kind": "replay", "rate": self.pacer.rate(), "passes": replay.passes, "applied": replay.applied, "skipped": replay.skipped, "behind_skipped": self.pacer.skipped})
            }
            other => {
                json!({"kind": other.name(), "rate": self.pacer.rate(), "behind_skipped": self.pacer.skipped})
            }
        };
        json!({
            "ok": true,
            "session": self.feed.session().to_string(),
            "session_ended": self.session_ended,
            "next_sequence": self.feed.next_sequence(),
            "feed_packets": feed.packets,
            "retransmit_requests": feed.retransmit_requests,
            "participants": participants,
            "faults": faults_json(self.feed.faults()),
            "heartbeats_enabled": !self.participants.silenced,
            "flow": flow,
            "counters": {
                "feed": feed.to_json(),
                "store": {"first_sequence": store_first, "bytes": store_bytes, "evicted_chunks": store_evicted},
                "sessions": {
                    "ufo_invalid": s.ufo_invalid, "ufo_unknown_peer": s.ufo_unknown_peer,
                    "wrong_session": s.wrong_session, "logins_rejected": s.logins_rejected,
                    "tcp_protocol_errors": s.tcp_protocol_errors, "send_errors": s.send_errors,
                },
                "engine": {
                    "accepted": e.accepted, "rejected": e.rejected, "executions": e.executions,
                    "executed_shares": e.executed_shares, "flow_actions": e.flow_actions,
                    "events": e.events, "disconnect_cancels": e.disconnect_cancels,
                    "resting_orders": self.exchange.resting_orders(),
                },
                "latency": {
                    "orders_received": self.latency.orders_received,
                    "matched": self.latency.matched,
                    "unmatched": self.latency.unmatched,
                },
            },
        })
    }
}

fn faults_json(faults: FaultConfig) -> Value {
    let fraction = |ppb: u32| f64::from(ppb) / 1e9;
    json!({
        "drop": fraction(faults.drop_ppb),
        "duplicate": fraction(faults.duplicate_ppb),
        "reorder": fraction(faults.reorder_ppb),
        "delay_us": faults.delay_ns / 1000,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(side: u8, shares: u32, price: u32) -> Fill {
        Fill {
            token: [b'0'; 14],
            symbol: 0,
            side,
            shares,
            price,
            match_number: 0,
            liquidity: b'A',
        }
    }

    #[test]
    fn fifo_position_and_realized_pnl_are_exact() {
        let fills = [
            fill(b'B', 100, 100_000),
            fill(b'B', 100, 101_000),
            fill(b'S', 150, 102_000),
            fill(b'S', 100, 99_000),
        ];
        let refs: Vec<&Fill> = fills.iter().collect();
        let (position, realized) = position_of(&refs);
        assert_eq!(position, -50);
        // 100 x (10.20 - 10.00) + 50 x (10.20 - 10.10) + 50 x (9.90 - 10.10), in 1/10,000;
        // the last 50 sold open a short.
        assert_eq!(realized, 100 * 2_000 + 50 * 1_000 - 50 * 2_000);
        assert_eq!(decimal4(realized), "15.0000");
        assert_eq!(decimal4(-5), "-0.0005");
    }
}
