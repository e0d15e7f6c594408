//! Golden test: the real ITCH 5.0 sample replayed into the L3 books agrees with an
//! independent model (a map of orders, levels recomputed from scratch) after every message,
//! for every stock.
#![allow(clippy::unwrap_used, reason = "test: a panic is the failure report")]

use std::{
    collections::{BTreeMap, HashMap},
    io::Read as _,
};

use tickwire_dataplane::book::{
    Side,
    l3::{L3Books, L3Config, L3Error},
};
use tickwire_protocol::itch::{self, BinaryFileReader, Message};

fn sample() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/itch/ex20101224.TEST_ITCH_50.gz"
    );
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut bytes)
        .unwrap();
    bytes
}

/// The obvious implementation: orders in a map, levels recomputed on demand.
#[derive(Default)]
struct Model {
    orders: HashMap<u64, (u16, Side, u32, u32)>,
    orphans: u64,
}

impl Model {
    fn apply(&mut self, message: &Message) {
        let side = |indicator: u8| {
            if indicator == b'B' {
                Side::Bid
            } else {
                Side::Ask
            }
        };
        match message {
            Message::AddOrder(add) => {
                let order = (
                    add.stock_locate,
                    side(add.buy_sell_indicator),
                    add.price,
                    add.shares,
                );
                self.orders.insert(add.order_reference_number, order);
            }
            Message::AddOrderMpid(add) => {
                let order = (
                    add.stock_locate,
                    side(add.buy_sell_indicator),
                    add.price,
                    add.shares,
                );
                self.orders.insert(add.order_reference_number, order);
            }
            Message::OrderExecuted(executed) => {
                self.reduce(
                    executed.order_reference_number,
                    Some(executed.executed_shares),
                );
            }
            Message::OrderExecutedWithPrice(executed) => {
                self.reduce(
                    executed.order_reference_number,
                    Some(executed.executed_shares),
                );
            }
            Message::OrderCancel(cancel) => {
                self.reduce(cancel.order_reference_number, Some(cancel.canceled_shares));
            }
            Message::OrderDelete(delete) => self.reduce(delete.order_reference_number, None),
            Message::OrderReplace(replace) => {
                match self.orders.remove(&replace.original_order_reference_number) {
                    Some((locate, side, _, _)) => {
                        let order = (locate, side, replace.price, replace.shares);
                        self.orders
                            .insert(replace.new_order_reference_number, order);
                    }
                    None => self.orphans += 1,
                }
            }
            _ => {}
        }
    }

    fn reduce(&mut self, reference: u64, shares: Option<u32>) {
        let Some(order) = self.orders.get_mut(&reference) else {
            self.orphans += 1;
            return;
        };
        let taken = shares.unwrap_or(order.3);
        order.3 -= taken;
        if order.3 == 0 {
            self.orders.remove(&reference);
        }
    }

    fn levels(&self, locate: u16, side: Side) -> Vec<(u32, u64)> {
        let mut levels: BTreeMap<u32, u64> = BTreeMap::new();
        for &(order_locate, order_side, price, shares) in self.orders.values() {
            if order_locate == locate && order_side == side {
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
fn sample_replay_matches_an_independent_model_after_every_message() {
    let bytes = sample();
    let mut books = L3Books::new(L3Config {
        max_orders: 1 << 16,
        max_books: 8,
        levels: 1 << 14,
        overflow_levels: 256,
        strict_references: false,
    });
    for stock in ["ALC", "BOB", "CHAR"] {
        let mut symbol = [b' '; 8];
        symbol[..stock.len()].copy_from_slice(stock.as_bytes());
        books.subscribe(symbol).unwrap();
    }
    let mut model = Model::default();
    let (mut messages, mut orphan_errors, mut changes) = (0u64, 0u64, 0u64);
    let mut depth = vec![(0u32, 0u64); 4096];
    for frame in BinaryFileReader::new(&bytes) {
        let (_, raw) = frame.unwrap();
        let message = itch::decode(raw).unwrap();
        messages += 1;
        model.apply(&message);
        match books.apply_itch(&message) {
            Ok(Some(_)) => changes += 1,
            Ok(None) => {}
            Err(L3Error::UnknownOrder(_)) => orphan_errors += 1,
            Err(other) => panic!("message {messages}: {other}"),
        }
        let locate = message.stock_locate();
        let Some(book) = books.book_of(locate) else {
            continue;
        };
        for side in [Side::Bid, Side::Ask] {
            let expected = model.levels(locate, side);
            assert_eq!(
                books.best_raw(book, side),
                expected.first().copied(),
                "best {side:?} of locate {locate} after message {messages}"
            );
            let written = books.depth(book, side, &mut depth);
            assert_eq!(
                &depth[..written],
                &expected[..],
                "depth after message {messages}"
            );
        }
    }
    assert_eq!(messages, 12_012);
    assert_eq!(
        orphan_errors, model.orphans,
        "the same orphan references, counted twice"
    );
    assert!(
        changes > 6_000,
        "adds, executions, cancels, deletes and replaces applied"
    );
    assert_eq!(books.order_count(), model.orders.len());
    for book in 0..3 {
        assert_eq!(
            books.staleness(book, 0, 0),
            None,
            "lenient replay stays tradable"
        );
    }
}
