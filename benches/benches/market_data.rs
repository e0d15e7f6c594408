//! Market data: ITCH 5.0 decoding and the L3 book, each against its peers in the same run.
//!
//! - `itch_decode`: every message of the real sample, framed and decoded. tickwire decodes
//!   in place from the file's bytes; itchy (0.3.4) parses from an in-memory reader of the
//!   same bytes, its documented API. Timed: framing + decoding into a message value.
//! - `l3_book`: the sample's add/execute/cancel/delete/replace stream (asks shifted +$100 so
//!   matching engines do not match, see `tickwire_benches::book_ops`) replayed into a fresh
//!   book: tickwire's preallocated L3 book, orderbook-rs (0.15) and a `BTreeMap` + `HashMap`
//!   book. Timed: the replay only (books are built outside the timed region).
//! - `binance`: every depthUpdate of the btcusdt sample that applies after its snapshot
//!   (3,449 messages, 1.3 KB and 36 levels on average), decoded and applied to an L2 book
//!   that starts each replay from the snapshot (loaded outside the timed region).
//!   `tickwire`: `BinanceDecoder` + `L2Book`. `serde_json`: deserialized with serde_json into
//!   owned structs (decimals as `String`s), parsed with `Price::from_decimal`, applied to a
//!   `BTreeMap` book with the same sequence check. Timed for both: copying the message into
//!   a reusable buffer (simd-json parses in place, so the engine copies each message out of
//!   the receive ring; serde_json copies too so that both do the same), parsing, the
//!   sequence check and the book update. `tickwire_decode` and `tickwire_apply` split
//!   tickwire's time into its two halves.
#![allow(clippy::unwrap_used, reason = "benchmark set-up")]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput};
use orderbook_rs::OrderBook;
use pricelevel::{Id, OrderUpdate, Quantity, Side as PeerSide, TimeInForce};
use tickwire_benches::{
    BTreeBook, BinanceDepthStream, BookOp, SerdeL2Book, binance_depth_stream, book_ops, itch_file,
    print_ratio,
};
use tickwire_dataplane::book::{
    Side,
    l2::{L2Book, L2Config, SnapshotOutcome, UpdateOutcome},
    l3::{L3Books, L3Config},
};
use tickwire_protocol::{
    binance::{BinanceDecoder, DepthUpdate, Event, Level},
    itch::{self, BinaryFileReader},
};

fn itch_decode(c: &mut Criterion) {
    let file = itch_file();
    let count = BinaryFileReader::new(&file).count() as u64;
    let mut group = c.benchmark_group("itch_decode");
    group.throughput(Throughput::Elements(count));
    group.bench_function("tickwire", |b| {
        b.iter(|| {
            for (_, bytes) in BinaryFileReader::new(black_box(&file)).flatten() {
                let _ = black_box(itch::decode(bytes));
            }
        });
    });
    group.bench_function("itchy", |b| {
        b.iter(|| {
            for message in itchy::MessageStream::from_reader(black_box(&file[..])) {
                let _ = black_box(message);
            }
        });
    });
    group.finish();
    print_ratio("itch_decode", "tickwire", "itchy", count, "goal >= 5x");
}

/// Sized for the workload, as a deployment sizes it for its symbols: the sample has at most
/// 3,352 live orders (table of 8,192 slots, 196 KB).
fn tickwire_books() -> L3Books {
    let mut books = L3Books::new(L3Config {
        max_orders: 4096,
        max_books: 4,
        levels: 1 << 16,
        overflow_levels: 1024,
        strict_references: false,
    });
    for (locate, stock) in [(1, b"ALC     "), (2, b"BOB     "), (3, b"CHAR    ")] {
        books.subscribe_locate(*stock, locate).unwrap();
    }
    books
}

fn apply_tickwire(books: &mut L3Books, op: &BookOp) {
    let _ = match *op {
        BookOp::Add {
            locate,
            reference,
            buy,
            shares,
            price,
        } => {
            let side = if buy { Side::Bid } else { Side::Ask };
            books.add(locate, reference, side, shares, price, 0)
        }
        BookOp::Execute {
            locate,
            reference,
            shares,
        } => books.execute(locate, reference, shares, 0),
        BookOp::Cancel {
            locate,
            reference,
            shares,
        } => books.cancel(locate, reference, shares, 0),
        BookOp::Delete { locate, reference } => books.delete(locate, reference, 0),
        BookOp::Replace {
            locate,
            original,
            reference,
            shares,
            price,
        } => books.replace(locate, original, reference, shares, price, 0),
    };
}

struct PeerBooks {
    books: [OrderBook<()>; 3],
    /// reference -> (book, side, shares left), to turn executions into quantity updates.
    orders: std::collections::HashMap<u64, (usize, PeerSide, u64)>,
}

impl PeerBooks {
    fn new() -> Self {
        Self {
            books: [
                OrderBook::new("ALC"),
                OrderBook::new("BOB"),
                OrderBook::new("CHAR"),
            ],
            orders: std::collections::HashMap::with_capacity(1 << 14),
        }
    }

    fn apply(&mut self, op: &BookOp) {
        match *op {
            BookOp::Add {
                locate,
                reference,
                buy,
                shares,
                price,
            } => {
                let book = usize::from(locate - 1);
                let side = if buy { PeerSide::Buy } else { PeerSide::Sell };
                let _ = self.books[book].add_limit_order(
                    Id::from_u64(reference),
                    u128::from(price),
                    u64::from(shares),
                    side,
                    TimeInForce::Gtc,
                    None,
                );
                self.orders
                    .insert(reference, (book, side, u64::from(shares)));
            }
            BookOp::Execute {
                reference, shares, ..
            }
            | BookOp::Cancel {
                reference, shares, ..
            } => {
                if let Some((book, _, left)) = self.orders.get_mut(&reference) {
                    *left -= u64::from(shares).min(*left);
                    let (book, left) = (*book, *left);
                    if left == 0 {
                        self.orders.remove(&reference);
                        let _ = self.books[book].cancel_order(Id::from_u64(reference));
                    } else {
                        let _ = self.books[book].update_order(OrderUpdate::UpdateQuantity {
                            order_id: Id::from_u64(reference),
                            new_quantity: Quantity::new(left),
                        });
                    }
                }
            }
            BookOp::Delete { reference, .. } => {
                if let Some((book, _, _)) = self.orders.remove(&reference) {
                    let _ = self.books[book].cancel_order(Id::from_u64(reference));
                }
            }
            BookOp::Replace {
                original,
                reference,
                shares,
                price,
                ..
            } => {
                if let Some((book, side, _)) = self.orders.remove(&original) {
                    let _ = self.books[book].cancel_order(Id::from_u64(original));
                    let _ = self.books[book].add_limit_order(
                        Id::from_u64(reference),
                        u128::from(price),
                        u64::from(shares),
                        side,
                        TimeInForce::Gtc,
                        None,
                    );
                    self.orders
                        .insert(reference, (book, side, u64::from(shares)));
                }
            }
        }
    }
}

fn l3_book(c: &mut Criterion) {
    let ops = book_ops();
    // All three agree on the final best prices: the comparison is of equal work.
    let (mut ours, mut baseline, mut peer) =
        (tickwire_books(), BTreeBook::default(), PeerBooks::new());
    for op in &ops {
        apply_tickwire(&mut ours, op);
        baseline.apply(op);
        peer.apply(op);
    }
    for (book, locate) in [(0u16, 1u16), (1, 2), (2, 3)] {
        assert_eq!(
            ours.best_raw(book, Side::Bid).map(|level| level.0),
            baseline.best_bid(locate)
        );
        assert_eq!(
            ours.best_raw(book, Side::Ask).map(|level| level.0),
            baseline.best_ask(locate)
        );
        assert_eq!(
            peer.books[usize::from(book)]
                .best_bid()
                .map(|price| u32::try_from(price).unwrap()),
            baseline.best_bid(locate)
        );
    }
    let mut group = c.benchmark_group("l3_book");
    group.throughput(Throughput::Elements(ops.len() as u64));
    // The engine's books are allocated once and stay warm all session; so are these:
    // between replays (outside the timed region) the orders still live are deleted, as a
    // feed would, instead of clearing megabytes of levels and evicting every cache.
    let mut remaining = std::collections::BTreeMap::new();
    for op in &ops {
        match *op {
            BookOp::Add {
                locate, reference, ..
            } => {
                remaining.insert(reference, locate);
            }
            BookOp::Replace {
                locate,
                original,
                reference,
                ..
            } => {
                remaining.remove(&original);
                remaining.insert(reference, locate);
            }
            BookOp::Delete { reference, .. } => {
                remaining.remove(&reference);
            }
            _ => {}
        }
    }
    let survivors: Vec<(u64, u16)> = remaining.into_iter().collect();
    let mut books = tickwire_books();
    group.bench_function("tickwire", |b| {
        b.iter_custom(|iterations| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iterations {
                for &(reference, locate) in &survivors {
                    let _ = books.delete(locate, reference, 0);
                }
                let start = std::time::Instant::now();
                for op in &ops {
                    apply_tickwire(&mut books, black_box(op));
                }
                total += start.elapsed();
            }
            total
        });
    });
    group.bench_function("orderbook-rs", |b| {
        b.iter_batched_ref(
            PeerBooks::new,
            |books| {
                for op in &ops {
                    books.apply(black_box(op));
                }
            },
            BatchSize::LargeInput,
        );
    });
    group.bench_function("btreemap", |b| {
        b.iter_batched_ref(
            BTreeBook::default,
            |book| {
                for op in &ops {
                    book.apply(black_box(op));
                }
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
    let elements = ops.len() as u64;
    print_ratio(
        "l3_book",
        "tickwire",
        "orderbook-rs",
        elements,
        "goal >= 5x, median <= 15 ns/op",
    );
    print_ratio("l3_book", "tickwire", "btreemap", elements, "baseline");
}

/// Empties `book` and loads the stream's snapshot (outside the timed region).
fn load_snapshot(book: &mut L2Book, decoder: &mut BinanceDecoder, stream: &BinanceDepthStream) {
    book.reset();
    let mut json = stream.snapshot.clone();
    let Ok(Event::DepthSnapshot(snapshot)) = decoder.decode(&mut json) else {
        panic!("snapshot line does not decode");
    };
    let outcome = book.apply_snapshot(&snapshot, 0);
    assert_eq!(outcome, SnapshotOutcome::AwaitingFirstUpdate { dropped: 0 });
}

/// Copies `json` into `buffer`, decodes it and applies it: the timed step of `tickwire`.
#[inline]
fn decode_apply(
    decoder: &mut BinanceDecoder,
    book: &mut L2Book,
    buffer: &mut Vec<u8>,
    json: &[u8],
) -> Option<UpdateOutcome> {
    buffer.clear();
    buffer.extend_from_slice(json);
    match decoder.decode(buffer) {
        Ok(Event::DepthUpdate(update)) => Some(book.apply_update(&update, 0)),
        _ => None,
    }
}

/// A decoded update with owned levels, for timing the book alone.
struct OwnedUpdate {
    first_update_id: u64,
    final_update_id: u64,
    bids: Vec<Level>,
    asks: Vec<Level>,
}

fn binance(c: &mut Criterion) {
    let stream = binance_depth_stream("btcusdt_20240808.gz");
    let count = stream.updates.len() as u64;
    let mut decoder = BinanceDecoder::default();
    let mut book = L2Book::new(L2Config::default());
    let mut buffer = Vec::with_capacity(decoder.max_message_len());
    // Both books apply every update and agree on the top at the end: equal work.
    load_snapshot(&mut book, &mut decoder, &stream);
    let mut baseline = SerdeL2Book::from_snapshot(&stream.snapshot);
    let mut owned = Vec::with_capacity(stream.updates.len());
    for json in &stream.updates {
        let outcome = decode_apply(&mut decoder, &mut book, &mut buffer, json);
        assert!(
            matches!(outcome, Some(UpdateOutcome::Applied { .. })),
            "{outcome:?}"
        );
        assert!(baseline.apply_json(json));
        buffer.clear();
        buffer.extend_from_slice(json);
        if let Ok(Event::DepthUpdate(update)) = decoder.decode(&mut buffer) {
            owned.push(OwnedUpdate {
                first_update_id: update.first_update_id,
                final_update_id: update.final_update_id,
                bids: update.bids.to_vec(),
                asks: update.asks.to_vec(),
            });
        }
    }
    let top = book.top();
    assert_eq!(baseline.best_bid(), Some((top.bid_price, top.bid_qty)));
    assert_eq!(baseline.best_ask(), Some((top.ask_price, top.ask_qty)));
    assert_eq!(book.counters().gaps, 0);
    assert_eq!(baseline.gaps, 0);

    let mut group = c.benchmark_group("binance");
    group.throughput(Throughput::Elements(count));
    group.bench_function("tickwire", |b| {
        b.iter_custom(|iterations| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iterations {
                load_snapshot(&mut book, &mut decoder, &stream);
                let start = std::time::Instant::now();
                for json in &stream.updates {
                    black_box(decode_apply(
                        &mut decoder,
                        &mut book,
                        &mut buffer,
                        black_box(json),
                    ));
                }
                total += start.elapsed();
            }
            total
        });
    });
    group.bench_function("serde_json", |b| {
        let loaded = SerdeL2Book::from_snapshot(&stream.snapshot);
        b.iter_batched_ref(
            || (loaded.clone(), Vec::with_capacity(buffer.capacity())),
            |(book, buffer)| {
                for json in &stream.updates {
                    buffer.clear();
                    buffer.extend_from_slice(black_box(json));
                    black_box(book.apply_json(buffer));
                }
            },
            BatchSize::LargeInput,
        );
    });
    group.bench_function("tickwire_decode", |b| {
        b.iter(|| {
            for json in &stream.updates {
                buffer.clear();
                buffer.extend_from_slice(black_box(json));
                let _ = black_box(decoder.decode(&mut buffer));
            }
        });
    });
    group.bench_function("tickwire_apply", |b| {
        b.iter_custom(|iterations| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iterations {
                load_snapshot(&mut book, &mut decoder, &stream);
                let start = std::time::Instant::now();
                for update in &owned {
                    let update = DepthUpdate {
                        event_time: 0,
                        symbol: tickwire_protocol::binance::Name::new("BTCUSDT").unwrap(),
                        first_update_id: update.first_update_id,
                        final_update_id: update.final_update_id,
                        prev_final_update_id: None,
                        bids: &update.bids,
                        asks: &update.asks,
                    };
                    black_box(book.apply_update(black_box(&update), 0));
                }
                total += start.elapsed();
            }
            total
        });
    });
    group.finish();
    print_ratio(
        "binance",
        "tickwire",
        "serde_json",
        count,
        "goal <= 300 ns/msg and >= 2x",
    );
    for part in ["tickwire_decode", "tickwire_apply"] {
        if let Some(total) = tickwire_benches::median_ns("binance", part) {
            println!("binance {part}: {:.1} ns/msg", total / count as f64);
        }
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    itch_decode(&mut criterion);
    l3_book(&mut criterion);
    binance(&mut criterion);
    criterion.final_summary();
}
