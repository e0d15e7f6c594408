//! Trading core (issue 5): tick to order in process, the risk gate alone, OUCH encode alone.
//!
//! - `tick_to_order/engine`: the data plane's engine over the in-memory backend (frames
//!   built exactly as on AF_XDP, only the kernel is missing), the market maker quoting BOB
//!   three ticks wide. Each tick is a MoldUDP64 packet (ITCH Order Delete of a large order
//!   and Add Order of it on the other side) that moves the microprice across a tick, as the
//!   venue's `--flow ticks` does. **Timed** (criterion `iter_custom`): copying the packet
//!   into the backend's receive slot + one `Engine::iteration`: Ethernet/IP/UDP parse,
//!   MoldUDP64 sequencing, ITCH decode, L3 book, market maker, risk gate, audit records
//!   written to the ring, order manager, two OUCH Replace Orders encoded into UFO packets in
//!   transmit frames (headers and checksums included). **Not timed**: the scripted venue
//!   acknowledging the replaces (and the engine iteration that takes the acks), draining the
//!   audit ring, building the next tick packet. Every timed iteration is checked (outside
//!   the timing) to have sent exactly two Replace Orders. A separate run of 200,000 ticks
//!   records each one in an HDR histogram and prints p50/p99/p99.9 (`trading tick_to_order`).
//! - `risk_gate/pass`: `RiskGate::check` of a passing new order (all eleven checks) against
//!   an empty order book. Goal: median ≤ 5 ns.
//! - `ouch_encode/replace_ufo`: a Replace Order encoded into a UFO Client Data packet
//!   (writer set-up, OUCH encode, finish), as the engine does per order.
#![allow(clippy::unwrap_used, reason = "benchmark set-up")]
#![allow(clippy::missing_panics_doc, reason = "benchmark set-up")]

use std::{
    hint::black_box,
    net::SocketAddrV4,
    time::{Duration, Instant},
};

use criterion::{Criterion, Throughput};
use tickwire_benches::itch_messages;
use tickwire_common::{Price, Qty};
use tickwire_dataplane::{
    book::Side,
    config::DataPlaneConfig,
    engine::{Engine, EngineHandles},
    io::memory::MemoryIo,
    orders::{OrderConfig, OrderManager},
    risk::{CheckKind, MarketRisk, RiskCheck, RiskGate},
    session::ufo::SessionState,
    sim::Counterpart,
};
use tickwire_link::abi::{
    GlobalLimits, LimitsSnapshot, MAX_STRATEGIES, MAX_SYMBOLS, RiskReason, SymbolLimits,
};
use tickwire_protocol::{
    itch::{self, Message},
    moldudp64::{PacketBuilder, Session as MoldSession},
    ouch::{Display, InboundMessage, IntermarketSweep, Price4, ReplaceOrder, TimeInForce, Token},
    ufo,
};

const CONFIG: &str = include_str!("../../dataplane/config/itch-ufo.toml");
const MS: u64 = 1_000_000;
const BASE_SHARES: u32 = 100;
const BIG_SHARES: u32 = 900_000;
/// $99.99 and $100.00, `Price(4)` raw.
const BID: u32 = 999_900;
const ASK: u32 = 1_000_000;

fn addr(text: &str) -> SocketAddrV4 {
    text.parse().unwrap()
}

/// The example configuration, edited for the bench: no control-plane link, no pinning, the
/// market maker three ticks wide without skew, limits that never throttle.
fn config() -> DataPlaneConfig {
    let text = CONFIG
        .replace("core = 0 ", "# core = 0 ")
        .replace("lock_memory = true", "lock_memory = false")
        .replace("min_spread_ticks = 2", "min_spread_ticks = 3")
        .replace("skew_ticks_per_lot = 1", "skew_ticks_per_lot = 0")
        .replace("orders_per_second = 1000", "orders_per_second = 1000000000")
        .replace("order_burst = 100", "order_burst = 1000000000")
        .replace("[link]\nenabled = true", "[link]\nenabled = false");
    DataPlaneConfig::parse(&text).unwrap()
}

/// The engine, logged in, with BOB's one-tick book and the market maker's first quotes
/// acknowledged.
struct Bench {
    engine: Engine<MemoryIo>,
    handles: EngineHandles,
    venue: Counterpart,
    now: u64,
    session: MoldSession,
    next_seq: u64,
    next_ref: u64,
    big: Option<(u64, bool)>,
    locate: u16,
    packet: Vec<u8>,
}

impl Bench {
    fn new() -> Self {
        let io = MemoryIo::new("10.77.0.1".parse().unwrap(), 4096, 2048);
        let (engine, handles) = Engine::new(&config(), io).unwrap();
        let mut bench = Self {
            engine,
            handles,
            venue: Counterpart::new(addr("10.77.0.2:27000")),
            now: 0,
            session: MoldSession::new("TICKWIRE01").unwrap(),
            next_seq: 1,
            next_ref: 1,
            big: None,
            locate: 0,
            packet: vec![0; 1400],
        };
        bench.settle();
        assert_eq!(bench.engine.venue_state(), SessionState::Active);
        // The sample's reference data (system events, directory, trading actions); no orders.
        let reference: Vec<Vec<u8>> = itch_messages()
            .into_iter()
            .filter(|bytes| matches!(bytes.first(), Some(b'S' | b'R' | b'H' | b'Y' | b'L')))
            .collect();
        for bytes in &reference {
            if let Ok(Message::StockDirectory(directory)) = itch::decode(bytes)
                && directory.stock.as_bytes() == b"BOB"
            {
                bench.locate = directory.stock_locate;
            }
        }
        assert_ne!(bench.locate, 0, "BOB in the sample's directory");
        for chunk in reference.chunks(8) {
            bench.send_packet(chunk);
            bench.settle();
        }
        let bid = bench.add(true, BID, BASE_SHARES);
        let ask = bench.add(false, ASK, BASE_SHARES);
        bench.send_packet(&[bid, ask]);
        bench.settle();
        assert_eq!(bench.venue.orders.len(), 2, "two quotes working");
        // The first tick moves only the ask (the balanced book quotes on a tick boundary);
        // from the second on, each swing moves both quotes.
        let len = bench.next_tick();
        let packet = bench.packet[..len].to_vec();
        bench.inject_feed(&packet);
        bench.settle();
        bench
    }

    fn add(&mut self, buy: bool, price: u32, shares: u32) -> Vec<u8> {
        let reference = self.next_ref;
        self.next_ref += 1;
        let mut out = vec![0; 64];
        let len = Message::AddOrder(itch::AddOrder {
            stock_locate: self.locate,
            tracking_number: 0,
            timestamp: 1_000,
            order_reference_number: reference,
            buy_sell_indicator: if buy { b'B' } else { b'S' },
            shares,
            stock: itch::Stock::new("BOB").unwrap(),
            price,
        })
        .encode(&mut out)
        .unwrap();
        out.truncate(len);
        out
    }

    fn delete(&self, reference: u64) -> Vec<u8> {
        let mut out = vec![0; 64];
        let len = Message::OrderDelete(itch::OrderDelete {
            stock_locate: self.locate,
            tracking_number: 0,
            timestamp: 1_000,
            order_reference_number: reference,
        })
        .encode(&mut out)
        .unwrap();
        out.truncate(len);
        out
    }

    /// Builds the next tick into `self.packet`; returns its length.
    fn next_tick(&mut self) -> usize {
        let mut messages = Vec::with_capacity(2);
        let on_bid = match self.big {
            Some((reference, was_bid)) => {
                messages.push(self.delete(reference));
                !was_bid
            }
            None => true,
        };
        let reference = self.next_ref;
        messages.push(if on_bid {
            self.add(true, BID, BIG_SHARES)
        } else {
            self.add(false, ASK, BIG_SHARES)
        });
        self.big = Some((reference, on_bid));
        self.build(&messages)
    }

    fn build(&mut self, messages: &[Vec<u8>]) -> usize {
        let mut builder =
            PacketBuilder::new(&mut self.packet, self.session, self.next_seq).unwrap();
        for message in messages {
            builder.push(message).unwrap();
        }
        self.next_seq += messages.len() as u64;
        builder.finish()
    }

    fn send_packet(&mut self, messages: &[Vec<u8>]) {
        let len = self.build(messages);
        let packet = self.packet[..len].to_vec();
        self.inject_feed(&packet);
    }

    fn inject_feed(&mut self, packet: &[u8]) {
        assert!(self.engine.io_mut().inject(
            addr("10.77.0.2:40000"),
            addr("239.77.0.1:26400"),
            packet
        ));
    }

    /// Untimed: the venue answers, the engine takes the answers, the audit ring is drained.
    fn settle(&mut self) {
        for _ in 0..50 {
            self.now += MS;
            self.engine.iteration(self.now).unwrap();
            while self.handles.audit.pop().is_ok() {}
            let replies = self.venue.answer(&mut self.engine);
            if replies.is_empty() {
                return;
            }
            for reply in replies {
                assert!(self.engine.io_mut().inject(
                    addr("10.77.0.2:27000"),
                    addr("10.77.0.1:27001"),
                    &reply
                ));
            }
        }
    }

    /// One tick: untimed preparation, the timed receive-to-transmit, an untimed check.
    fn tick(&mut self) -> Duration {
        let len = self.next_tick();
        let received = self.venue.received.len();
        self.now += 10_000;
        let start = Instant::now();
        let inbox_ok = self.engine.io_mut().inject(
            addr("10.77.0.2:40000"),
            addr("239.77.0.1:26400"),
            black_box(&self.packet[..len]),
        );
        self.engine.iteration(self.now).unwrap();
        let elapsed = start.elapsed();
        assert!(inbox_ok);
        self.settle();
        let replaces = self.venue.received[received..]
            .iter()
            .filter(|message| matches!(message, InboundMessage::ReplaceOrder(_)))
            .count();
        assert_eq!(replaces, 2, "each tick requotes both sides");
        elapsed
    }
}

fn tick_to_order(c: &mut Criterion) {
    let mut bench = Bench::new();
    let mut group = c.benchmark_group("tick_to_order");
    group.throughput(Throughput::Elements(1));
    group.bench_function("engine", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| bench.tick()).sum());
    });
    group.finish();
    let mut histogram = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 10_000_000, 3).unwrap();
    for _ in 0..200_000 {
        let ns = u64::try_from(bench.tick().as_nanos()).unwrap_or(u64::MAX);
        histogram.saturating_record(ns.max(1));
    }
    println!(
        "trading tick_to_order (HDR, {} ticks, 2 Replace Orders each): p50 {} ns, p99 {} ns, p99.9 {} ns, max {} ns (goal p50 <= 150 ns)",
        histogram.len(),
        histogram.value_at_quantile(0.5),
        histogram.value_at_quantile(0.99),
        histogram.value_at_quantile(0.999),
        histogram.max()
    );
}

fn risk_gate(c: &mut Criterion) {
    const SYMBOL: [u8; 8] = *b"BOB     ";
    let px = |text: &str| Price::from_decimal(text.as_bytes()).unwrap();
    let mut symbols = [SymbolLimits::UNUSED; MAX_SYMBOLS];
    symbols[0] = SymbolLimits {
        symbol: SYMBOL,
        max_order_qty: 0,
        max_order_notional: 0,
        max_long: Qty::from_shares(2_000).raw(),
        max_short: Qty::from_shares(2_000).raw(),
        max_open_notional: px("200000").raw(),
        max_open_orders: 10,
        collar_bps: 0,
    };
    let snapshot = LimitsSnapshot {
        version: 1,
        actor: [0; 16],
        global: GlobalLimits {
            max_order_qty: Qty::from_shares(1_000).raw(),
            max_order_notional: px("100000").raw(),
            max_gross_notional: px("500000").raw(),
            daily_loss_limit: px("10000").raw(),
            max_data_age_ns: 1_000_000_000,
            collar_bps: 200,
            orders_per_second: u32::MAX,
            order_burst: u32::MAX,
            kill: 0,
        },
        symbols,
        strategy_kill: [0; MAX_STRATEGIES],
    };
    let mut gate = RiskGate::new(&[SYMBOL], &snapshot);
    let orders = OrderManager::new(OrderConfig {
        max_orders: 64,
        max_orders_per_symbol: 32,
        symbols: 1,
    });
    let market = MarketRisk {
        reference: px("100"),
        stale: false,
        last_update_ns: 1_000,
    };
    let intent = RiskCheck {
        strategy: 0,
        symbol: 0,
        side: Side::Bid,
        price: px("99.98"),
        qty: Qty::from_shares(100),
        kind: CheckKind::New,
    };
    let mut now = 2_000u64;
    assert_eq!(gate.check(&intent, &market, &orders, now), RiskReason::None);
    let mut group = c.benchmark_group("risk_gate");
    group.throughput(Throughput::Elements(1));
    group.bench_function("pass", |b| {
        b.iter(|| {
            now += 1;
            gate.check(black_box(&intent), black_box(&market), &orders, now)
        });
    });
    group.finish();
    assert_eq!(
        gate.check(&intent, &market, &orders, now + 1),
        RiskReason::None
    );
}

fn ouch_encode(c: &mut Criterion) {
    let replace = ReplaceOrder {
        existing_token: Token::from_bytes(*b"0000001000000A"),
        replacement_token: Token::from_bytes(*b"0000001000000B"),
        shares: 100,
        price: Price4::from_raw(999_800),
        time_in_force: TimeInForce::SYSTEM_HOURS,
        display: Display::ANONYMOUS,
        intermarket_sweep: IntermarketSweep::NOT_ELIGIBLE,
        minimum_quantity: 0,
    };
    let mut buffer = [0u8; 256];
    let mut sequence = 1u64;
    let mut group = c.benchmark_group("ouch_encode");
    group.throughput(Throughput::Elements(1));
    group.bench_function("replace_ufo", |b| {
        b.iter(|| {
            let mut writer = ufo::DataPacketWriter::new(
                &mut buffer,
                ufo::DataKind::Client,
                &ufo::Session::BLANK,
                sequence,
            )
            .unwrap();
            black_box(&replace).encode_array(
                writer
                    .reserve(ReplaceOrder::LEN)
                    .unwrap()
                    .try_into()
                    .unwrap(),
            );
            sequence += 1;
            black_box(writer.finish().unwrap())
        });
    });
    group.finish();
    let decoded = ufo::Packet::decode_from_client(&buffer[..21 + 2 + ReplaceOrder::LEN]).unwrap();
    assert!(matches!(decoded, ufo::Packet::ClientData(_)), "{decoded:?}");
}

criterion::criterion_group!(benches, tick_to_order, risk_gate, ouch_encode);
criterion::criterion_main!(benches);
