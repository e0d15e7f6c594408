//! Shared pieces of tickwire's benchmarks: the real sample data, the L3 operation stream
//! every book implementation replays, a `BTreeMap` + `HashMap` baseline book, the Binance
//! depth stream with its serde_json + `BTreeMap` baseline, and the ratio report read back
//! from criterion's own estimates (peers are measured in the same run, so ratios hold on a
//! noisy, shared machine).
#![allow(
    clippy::unwrap_used,
    reason = "benchmark set-up: a panic is the failure report"
)]
#![allow(
    clippy::missing_panics_doc,
    reason = "benchmark set-up: a panic is the failure report"
)]

use std::{
    collections::{BTreeMap, HashMap},
    io::Read as _,
    path::{Path, PathBuf},
};

use serde::Deserialize;
use tickwire_common::{Price, Qty};
use tickwire_protocol::itch::{self, BinaryFileReader, Message};

/// `../shared/data/<relative>`.
#[must_use]
pub fn sample_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(relative)
}

/// The gunzipped contents of a sample file.
#[must_use]
pub fn read_sample(relative: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(sample_path(relative)).unwrap())
        .read_to_end(&mut bytes)
        .unwrap();
    bytes
}

/// The ITCH 5.0 sample, as a BinaryFILE.
#[must_use]
pub fn itch_file() -> Vec<u8> {
    read_sample("itch/ex20101224.TEST_ITCH_50.gz")
}

/// The sample's messages, one `Vec` each.
#[must_use]
pub fn itch_messages() -> Vec<Vec<u8>> {
    let file = itch_file();
    BinaryFileReader::new(&file)
        .map(|frame| frame.unwrap().1.to_vec())
        .collect()
}

/// One L3 book operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookOp {
    /// Add Order.
    Add {
        /// Stock locate.
        locate: u16,
        /// Order reference.
        reference: u64,
        /// Buy side.
        buy: bool,
        /// Shares.
        shares: u32,
        /// ITCH price.
        price: u32,
    },
    /// Order Executed (shares leave the order).
    Execute {
        /// Stock locate.
        locate: u16,
        /// Order reference.
        reference: u64,
        /// Shares.
        shares: u32,
    },
    /// Order Cancel (partial).
    Cancel {
        /// Stock locate.
        locate: u16,
        /// Order reference.
        reference: u64,
        /// Shares.
        shares: u32,
    },
    /// Order Delete.
    Delete {
        /// Stock locate.
        locate: u16,
        /// Order reference.
        reference: u64,
    },
    /// Order Replace.
    Replace {
        /// Stock locate.
        locate: u16,
        /// Old reference.
        original: u64,
        /// New reference.
        reference: u64,
        /// Shares.
        shares: u32,
        /// ITCH price.
        price: u32,
    },
}

/// Ask prices are shifted up by this much (ITCH units: $100) in [`book_ops`].
pub const ASK_SHIFT: u32 = 1_000_000;

/// The sample's add / execute / cancel / delete / replace stream, for every stock, as
/// every book implementation can replay it: operations on orders the sample never added
/// are left out, and **ask prices are shifted up by $100**. The sample's book is crossed
/// most of the time, and a matching engine (orderbook-rs) would match crossing adds
/// instead of recording them; with the shift nothing crosses, so every implementation does
/// the same work: record orders, aggregate levels, track the best prices.
#[must_use]
pub fn book_ops() -> Vec<BookOp> {
    let mut live: HashMap<u64, (bool, u32)> = HashMap::new();
    let mut ops = Vec::new();
    for bytes in itch_messages() {
        let message = itch::decode(&bytes).unwrap();
        let shifted = |buy: bool, price: u32| if buy { price } else { price + ASK_SHIFT };
        match message {
            Message::AddOrder(add) => {
                let buy = add.buy_sell_indicator == b'B';
                live.insert(add.order_reference_number, (buy, add.shares));
                ops.push(BookOp::Add {
                    locate: add.stock_locate,
                    reference: add.order_reference_number,
                    buy,
                    shares: add.shares,
                    price: shifted(buy, add.price),
                });
            }
            Message::AddOrderMpid(add) => {
                let buy = add.buy_sell_indicator == b'B';
                live.insert(add.order_reference_number, (buy, add.shares));
                ops.push(BookOp::Add {
                    locate: add.stock_locate,
                    reference: add.order_reference_number,
                    buy,
                    shares: add.shares,
                    price: shifted(buy, add.price),
                });
            }
            Message::OrderExecuted(executed) => {
                reduce(
                    &mut live,
                    &mut ops,
                    executed.stock_locate,
                    executed.order_reference_number,
                    executed.executed_shares,
                    true,
                );
            }
            Message::OrderExecutedWithPrice(executed) => {
                reduce(
                    &mut live,
                    &mut ops,
                    executed.stock_locate,
                    executed.order_reference_number,
                    executed.executed_shares,
                    true,
                );
            }
            Message::OrderCancel(cancel) => {
                reduce(
                    &mut live,
                    &mut ops,
                    cancel.stock_locate,
                    cancel.order_reference_number,
                    cancel.canceled_shares,
                    false,
                );
            }
            Message::OrderDelete(delete)
                if live.remove(&delete.order_reference_number).is_some() =>
            {
                ops.push(BookOp::Delete {
                    locate: delete.stock_locate,
                    reference: delete.order_reference_number,
                });
            }
            Message::OrderReplace(replace) => {
                if let Some((buy, _)) = live.remove(&replace.original_order_reference_number) {
                    live.insert(replace.new_order_reference_number, (buy, replace.shares));
                    ops.push(BookOp::Replace {
                        locate: replace.stock_locate,
                        original: replace.original_order_reference_number,
                        reference: replace.new_order_reference_number,
                        shares: replace.shares,
                        price: shifted(buy, replace.price),
                    });
                }
            }
            _ => {}
        }
    }
    ops
}

fn reduce(
    live: &mut HashMap<u64, (bool, u32)>,
    ops: &mut Vec<BookOp>,
    locate: u16,
    reference: u64,
    shares: u32,
    execute: bool,
) {
    let Some(order) = live.get_mut(&reference) else {
        return;
    };
    let shares = shares.min(order.1);
    order.1 -= shares;
    if order.1 == 0 {
        live.remove(&reference);
    }
    ops.push(if execute {
        BookOp::Execute {
            locate,
            reference,
            shares,
        }
    } else {
        BookOp::Cancel {
            locate,
            reference,
            shares,
        }
    });
}

/// The textbook L3 book: orders in a `HashMap`, levels in a `BTreeMap` per side and stock.
/// The baseline tickwire's preallocated book is measured against.
#[derive(Debug, Default)]
pub struct BTreeBook {
    orders: HashMap<u64, (u16, bool, u32, u32)>,
    bids: HashMap<u16, BTreeMap<u32, u64>>,
    asks: HashMap<u16, BTreeMap<u32, u64>>,
}

impl BTreeBook {
    fn levels(&mut self, locate: u16, buy: bool) -> &mut BTreeMap<u32, u64> {
        if buy {
            self.bids.entry(locate).or_default()
        } else {
            self.asks.entry(locate).or_default()
        }
    }

    fn take(&mut self, reference: u64, shares: Option<u32>) {
        let Some(order) = self.orders.get_mut(&reference) else {
            return;
        };
        let (locate, buy, price, left) = *order;
        let taken = shares.unwrap_or(left).min(left);
        order.3 -= taken;
        if order.3 == 0 {
            self.orders.remove(&reference);
        }
        let levels = self.levels(locate, buy);
        if let Some(level) = levels.get_mut(&price) {
            *level -= u64::from(taken);
            if *level == 0 {
                levels.remove(&price);
            }
        }
    }

    /// Applies one operation.
    pub fn apply(&mut self, op: &BookOp) {
        match *op {
            BookOp::Add {
                locate,
                reference,
                buy,
                shares,
                price,
            } => {
                self.orders.insert(reference, (locate, buy, price, shares));
                *self.levels(locate, buy).entry(price).or_default() += u64::from(shares);
            }
            BookOp::Execute {
                reference, shares, ..
            }
            | BookOp::Cancel {
                reference, shares, ..
            } => self.take(reference, Some(shares)),
            BookOp::Delete { reference, .. } => self.take(reference, None),
            BookOp::Replace {
                locate,
                original,
                reference,
                shares,
                price,
            } => {
                let buy = self.orders.get(&original).is_some_and(|order| order.1);
                self.take(original, None);
                self.orders.insert(reference, (locate, buy, price, shares));
                *self.levels(locate, buy).entry(price).or_default() += u64::from(shares);
            }
        }
    }

    /// Best bid price of a stock.
    #[must_use]
    pub fn best_bid(&self, locate: u16) -> Option<u32> {
        self.bids.get(&locate)?.keys().next_back().copied()
    }

    /// Best ask price of a stock.
    #[must_use]
    pub fn best_ask(&self, locate: u16) -> Option<u32> {
        self.asks.get(&locate)?.keys().next().copied()
    }
}

/// One symbol's Binance recording split for replay: the REST snapshot and the depth updates
/// that apply after it, each as the JSON received (combined-stream wrapper included).
#[derive(Debug, Clone)]
pub struct BinanceDepthStream {
    /// The `{"lastUpdateId":...}` snapshot line.
    pub snapshot: Vec<u8>,
    /// `lastUpdateId` of the snapshot.
    pub last_update_id: u64,
    /// The depth updates with `u > lastUpdateId`, in file order (the first straddles the
    /// snapshot, the others follow without gaps).
    pub updates: Vec<Vec<u8>>,
}

/// The depth stream of `binance/<file>` (one record per line: receive ns, space, JSON).
#[must_use]
pub fn binance_depth_stream(file: &str) -> BinanceDepthStream {
    let text = String::from_utf8(read_sample(&format!("binance/{file}"))).unwrap();
    let mut snapshot = None;
    let mut updates = Vec::new();
    for line in text.lines() {
        let json = line.split_once(' ').unwrap().1;
        if json.starts_with("{\"lastUpdateId\"") {
            let value: serde_json::Value = serde_json::from_str(json).unwrap();
            snapshot = Some((
                json.as_bytes().to_vec(),
                value["lastUpdateId"].as_u64().unwrap(),
            ));
        } else if json.contains("\"e\":\"depthUpdate\"") {
            let update: SerdeCombined = serde_json::from_str(json).unwrap();
            updates.push((update.data.final_update_id, json.as_bytes().to_vec()));
        }
    }
    let (snapshot, last_update_id) = snapshot.unwrap();
    BinanceDepthStream {
        snapshot,
        last_update_id,
        updates: updates
            .into_iter()
            .filter(|(final_update_id, _)| *final_update_id > last_update_id)
            .map(|(_, json)| json)
            .collect(),
    }
}

/// The combined-stream wrapper, deserialized the usual way: owned, decimals as strings.
#[derive(Debug, Deserialize)]
pub struct SerdeCombined {
    /// Stream name.
    pub stream: String,
    /// The event.
    pub data: SerdeDepthUpdate,
}

/// A `depthUpdate` event, deserialized the usual way: owned, decimals as strings.
#[derive(Debug, Deserialize)]
pub struct SerdeDepthUpdate {
    /// Event type.
    #[serde(rename = "e")]
    pub event_type: String,
    /// Event time.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Symbol.
    #[serde(rename = "s")]
    pub symbol: String,
    /// First update id.
    #[serde(rename = "U")]
    pub first_update_id: u64,
    /// Final update id.
    #[serde(rename = "u")]
    pub final_update_id: u64,
    /// Bids as `[price, qty]` strings.
    #[serde(rename = "b")]
    pub bids: Vec<(String, String)>,
    /// Asks as `[price, qty]` strings.
    #[serde(rename = "a")]
    pub asks: Vec<(String, String)>,
}

/// A REST depth snapshot, deserialized the usual way.
#[derive(Debug, Deserialize)]
pub struct SerdeDepthSnapshot {
    /// `lastUpdateId`.
    #[serde(rename = "lastUpdateId")]
    pub last_update_id: u64,
    /// Bids as `[price, qty]` strings.
    pub bids: Vec<(String, String)>,
    /// Asks as `[price, qty]` strings.
    pub asks: Vec<(String, String)>,
}

/// The textbook L2 book: a `BTreeMap` per side, fed by serde_json, with the same sequence
/// check as tickwire's (`U` must be the previous `u + 1`). The baseline the L2 book is
/// measured against.
#[derive(Debug, Clone, Default)]
pub struct SerdeL2Book {
    /// Bids by price.
    pub bids: BTreeMap<Price, Qty>,
    /// Asks by price.
    pub asks: BTreeMap<Price, Qty>,
    /// Last applied `u` (the snapshot's `lastUpdateId` before the first update).
    pub last_update_id: u64,
    /// Whether an update has applied since the snapshot.
    pub synced: bool,
    /// Updates that did not continue the book.
    pub gaps: u64,
}

impl SerdeL2Book {
    /// A book loaded from a snapshot's JSON.
    #[must_use]
    pub fn from_snapshot(json: &[u8]) -> Self {
        let snapshot: SerdeDepthSnapshot = serde_json::from_slice(json).unwrap();
        let mut book = Self {
            last_update_id: snapshot.last_update_id,
            ..Self::default()
        };
        apply_serde_levels(&mut book.bids, &snapshot.bids);
        apply_serde_levels(&mut book.asks, &snapshot.asks);
        book
    }

    /// Deserializes one combined-stream depthUpdate and applies it if it continues the book
    /// (the first one after the snapshot must straddle it, later ones follow on). Returns
    /// whether it applied.
    pub fn apply_json(&mut self, json: &[u8]) -> bool {
        let Ok(message) = serde_json::from_slice::<SerdeCombined>(json) else {
            return false;
        };
        let update = message.data;
        let expected = self.last_update_id + 1;
        let continues = if self.synced {
            update.first_update_id == expected
        } else {
            update.first_update_id <= expected && expected <= update.final_update_id
        };
        if !continues {
            self.gaps += 1;
            return false;
        }
        self.synced = true;
        apply_serde_levels(&mut self.bids, &update.bids);
        apply_serde_levels(&mut self.asks, &update.asks);
        self.last_update_id = update.final_update_id;
        true
    }

    /// Best bid (price, qty).
    #[must_use]
    pub fn best_bid(&self) -> Option<(Price, Qty)> {
        self.bids
            .iter()
            .next_back()
            .map(|(&price, &qty)| (price, qty))
    }

    /// Best ask (price, qty).
    #[must_use]
    pub fn best_ask(&self) -> Option<(Price, Qty)> {
        self.asks.iter().next().map(|(&price, &qty)| (price, qty))
    }
}

fn apply_serde_levels(side: &mut BTreeMap<Price, Qty>, levels: &[(String, String)]) {
    for (price, qty) in levels {
        let (Ok(price), Ok(qty)) = (
            Price::from_decimal(price.as_bytes()),
            Qty::from_decimal(qty.as_bytes()),
        ) else {
            continue;
        };
        if qty == Qty::ZERO {
            side.remove(&price);
        } else {
            side.insert(price, qty);
        }
    }
}

/// Criterion's median estimate (ns per iteration) of `group/function` from this run.
#[must_use]
pub fn median_ns(group: &str, function: &str) -> Option<f64> {
    let root = std::env::var("CARGO_TARGET_DIR").map_or_else(
        |_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    let path = root
        .join("criterion")
        .join(group.replace('/', "_"))
        .join(function)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value["median"]["point_estimate"].as_f64()
}

/// Prints "ours vs peer" for a group, per element, with the goal.
pub fn print_ratio(group: &str, ours: &str, peer: &str, elements: u64, goal: &str) {
    match (median_ns(group, ours), median_ns(group, peer)) {
        (Some(mine), Some(theirs)) => {
            let per = |total: f64| total / elements as f64;
            println!(
                "ratio {group}: {ours} {:.1} ns/op, {peer} {:.1} ns/op -> {:.2}x ({goal})",
                per(mine),
                per(theirs),
                theirs / mine
            );
        }
        _ => println!("ratio {group}: no estimates for {ours}/{peer} (filtered out?)"),
    }
}
