//! Market data: ITCH 5.0 decoding and the L3 book, each against its peers in the same run.
//!
//! - `itch_decode`: every message of the real sample, framed and decoded. tickwire decodes
//!   in place from the file's bytes; itchy (0.3.4) parses from an in-memory reader of the
//!   same bytes, its documented API. Timed: framing + decoding into a message value.
//! - `l3_book`: the sample's add/execute/cancel/delete/replace stream (asks shifted +$100 so
//!   matching engines do not match, see `tickwire_benches::book_ops`) replayed into a fresh
//!   book: tickwire's preallocated L3 book, orderbook-rs (0.15) and a `BTreeMap` + `HashMap`
//!   book. Timed: the replay only (books are built outside the timed region).
#![allow(clippy::unwrap_used, reason = "benchmark set-up")]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput};
use orderbook_rs::OrderBook;
use pricelevel::{Id, OrderUpdate, Quantity, Side as PeerSide, TimeInForce};
use tickwire_benches::{BTreeBook, BookOp, book_ops, itch_file, print_ratio};
use tickwire_dataplane::book::{
    Side,
    l3::{L3Books, L3Config},
};
use tickwire_protocol::itch::{self, BinaryFileReader};

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

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    itch_decode(&mut criterion);
    l3_book(&mut criterion);
    criterion.final_summary();
}
