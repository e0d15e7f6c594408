//! Binance feeds: JSON messages over UDP into one [`L2Book`] per symbol.
//!
//! A datagram is either
//! - a whole message (its first byte is `{`): a combined-stream event or a REST snapshot, as
//!   Binance sends it, for messages that fit one datagram; or
//! - a fragment in [relay framing](tickwire_protocol::binance::relay) (`TWBR` header), which
//!   carries messages of any length (a depthUpdate reaches 34 KB, a snapshot 64 KB; a UMEM
//!   frame holds 2 or 4 KiB).
//!
//! Anything else is a framing error. Each message is decoded by [`BinanceDecoder`] and
//! dispatched by event: `depthUpdate` to the book of its `s` symbol, a snapshot to the book of
//! its combined-stream name's symbol (`btcusdt@…`) or, unwrapped as REST returns it, to the
//! feed's only book (a feed with several symbols needs the wrapper), `bookTicker` compared
//! with the book when it carries the book's update id, `trade` counted. Snapshot + diff
//! synchronisation is the book's ([`crate::book::l2`]): updates before a snapshot are
//! buffered, a gap empties the book until the next snapshot, and the book says so.
//!
//! # Contract
//! - [`BinanceFeed::new`] allocates everything (decoder, reassembly and copy buffers, one
//!   book per symbol); [`BinanceFeed::on_datagram`] allocates nothing.
//! - No panic on any bytes: every rejected datagram is counted, by kind, in
//!   [`BinanceFeedCounters`].

use tickwire_protocol::binance::{
    BinanceDecoder, Event, Name,
    relay::{Reassembler, RelayCounters},
};

use crate::book::{
    Side,
    l2::{L2Book, L2Config, SyncState, UpdateOutcome},
};

/// Sizes of a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BinanceFeedConfig {
    /// Levels per side the decoder accepts in one message (5000: Binance's deepest snapshot).
    pub max_levels_per_side: usize,
    /// Each symbol's book.
    pub book: L2Config,
}

impl Default for BinanceFeedConfig {
    fn default() -> Self {
        Self {
            max_levels_per_side: tickwire_protocol::binance::DEFAULT_MAX_LEVELS_PER_SIDE,
            book: L2Config::default(),
        }
    }
}

/// Event counts since construction. Plain integers, read by the owner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BinanceFeedCounters {
    /// Datagrams received.
    pub datagrams: u64,
    /// Messages decoded (whole datagrams and reassembled relay messages).
    pub messages: u64,
    /// Messages that did not decode (malformed JSON, missing fields, …).
    pub decode_errors: u64,
    /// Datagrams that are neither a message nor a usable relay fragment.
    pub framing_errors: u64,
    /// Relay messages lost (skipped sequence numbers, incomplete fragments).
    pub messages_lost: u64,
    /// `depthUpdate`s for a subscribed symbol.
    pub depth_updates: u64,
    /// Snapshots for a subscribed symbol.
    pub snapshots: u64,
    /// `bookTicker`s for a subscribed symbol.
    pub book_tickers: u64,
    /// `bookTicker`s whose update id was the book's when they arrived: compared with the
    /// book's top. (Rare: a bookTicker usually arrives before the `@100ms` depth update that
    /// reaches its id; the offline acceptance test matches them after the fact.)
    pub tickers_checked: u64,
    /// Compared `bookTicker`s that disagreed with the book's top (the book is wrong).
    pub ticker_mismatches: u64,
    /// `trade`s for a subscribed symbol.
    pub trades: u64,
    /// Events this feed does not interpret (other `e` types).
    pub other: u64,
    /// Messages for a symbol not subscribed (or a bare snapshot on a multi-symbol feed).
    pub unknown_symbol: u64,
}

/// What a datagram did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedEvent {
    /// Nothing a book's reader needs to see (incomplete, rejected, ticker, trade, other).
    None,
    /// A book received an update or snapshot (it may have changed, or changed state).
    Book {
        /// The book's index (order of [`BinanceFeed::subscribe`]).
        book: usize,
        /// The outcome, for a depth update (`None` for a snapshot).
        outcome: Option<UpdateOutcome>,
    },
}

/// One Binance feed and its books (see the module docs).
#[derive(Debug)]
pub struct BinanceFeed {
    decoder: BinanceDecoder,
    reassembler: Reassembler,
    /// Copy of a whole-message datagram (the decoder parses in place).
    raw: Vec<u8>,
    names: Vec<Name>,
    books: Vec<L2Book>,
    counters: BinanceFeedCounters,
    config: BinanceFeedConfig,
}

/// Why a symbol cannot be subscribed.
#[derive(Debug, thiserror::Error)]
pub enum BinanceFeedError {
    /// Not a Binance symbol name.
    #[error("{0:?}: not a Binance symbol")]
    BadSymbol(String),
    /// Subscribed twice.
    #[error("{0}: subscribed twice")]
    Duplicate(String),
}

impl BinanceFeed {
    /// Allocates the decoder and the buffers; books are added by [`Self::subscribe`].
    #[must_use]
    pub fn new(config: BinanceFeedConfig) -> Self {
        let decoder = BinanceDecoder::new(config.max_levels_per_side);
        let max_message_len = decoder.max_message_len();
        Self {
            reassembler: Reassembler::new(max_message_len),
            raw: Vec::with_capacity(max_message_len),
            decoder,
            names: Vec::new(),
            books: Vec::new(),
            counters: BinanceFeedCounters::default(),
            config,
        }
    }

    /// Adds a book for `symbol` (case-insensitive; Binance's upper case is used) and returns
    /// its index. Start-up only: allocates the book.
    ///
    /// # Errors
    /// [`BinanceFeedError`] for a name Binance cannot send, or a duplicate.
    pub fn subscribe(&mut self, symbol: &str) -> Result<usize, BinanceFeedError> {
        let upper = symbol.to_ascii_uppercase();
        let name = Name::new(&upper)
            .filter(|name| !name.is_empty())
            .ok_or_else(|| BinanceFeedError::BadSymbol(symbol.to_owned()))?;
        if self.names.contains(&name) {
            return Err(BinanceFeedError::Duplicate(upper));
        }
        self.names.push(name);
        self.books.push(L2Book::new(self.config.book));
        Ok(self.books.len() - 1)
    }

    /// A book.
    ///
    /// # Panics
    /// If `book` was not returned by [`Self::subscribe`].
    #[must_use]
    pub fn book(&self, book: usize) -> &L2Book {
        &self.books[book]
    }

    /// The symbol of a book, as Binance spells it.
    ///
    /// # Panics
    /// If `book` was not returned by [`Self::subscribe`].
    #[must_use]
    pub fn name(&self, book: usize) -> Name {
        self.names[book]
    }

    /// Counts, the relay's included.
    #[must_use]
    pub fn counters(&self) -> BinanceFeedCounters {
        let mut counters = self.counters;
        counters.messages_lost = self.reassembler.counters().messages_lost;
        counters
    }

    /// The relay reassembler's own counts.
    #[must_use]
    pub fn relay_counters(&self) -> RelayCounters {
        self.reassembler.counters()
    }

    /// Takes one datagram received at `receive_ns`. Never allocates, never panics.
    #[inline]
    pub fn on_datagram(&mut self, payload: &[u8], receive_ns: u64) -> FeedEvent {
        let Self {
            decoder,
            reassembler,
            raw,
            names,
            books,
            counters,
            ..
        } = self;
        counters.datagrams += 1;
        let json: &mut [u8] = if payload.first() == Some(&b'{') {
            if payload.len() > raw.capacity() {
                counters.decode_errors += 1;
                return FeedEvent::None;
            }
            raw.clear();
            // Within the capacity reserved in `new`: no reallocation.
            raw.extend_from_slice(payload);
            raw.as_mut_slice()
        } else {
            match reassembler.push(payload) {
                Ok(Some(message)) => message,
                Ok(None) => return FeedEvent::None,
                Err(_) => {
                    counters.framing_errors += 1;
                    return FeedEvent::None;
                }
            }
        };
        let Ok(message) = decoder.decode_message(json) else {
            counters.decode_errors += 1;
            return FeedEvent::None;
        };
        counters.messages += 1;
        let find = |symbol: &Name| names.iter().position(|name| name == symbol);
        match message.event {
            Event::DepthUpdate(update) => {
                let Some(book) = find(&update.symbol) else {
                    counters.unknown_symbol += 1;
                    return FeedEvent::None;
                };
                counters.depth_updates += 1;
                let outcome = books[book].apply_update(&update, receive_ns);
                FeedEvent::Book {
                    book,
                    outcome: Some(outcome),
                }
            }
            Event::DepthSnapshot(snapshot) => {
                let book = match message.stream {
                    Some(stream) => stream_symbol(&stream).and_then(|symbol| find(&symbol)),
                    None if books.len() == 1 => Some(0),
                    None => None,
                };
                let Some(book) = book else {
                    counters.unknown_symbol += 1;
                    return FeedEvent::None;
                };
                counters.snapshots += 1;
                let _ = books[book].apply_snapshot(&snapshot, receive_ns);
                FeedEvent::Book {
                    book,
                    outcome: None,
                }
            }
            Event::BookTicker(ticker) => {
                let Some(book) = find(&ticker.symbol) else {
                    counters.unknown_symbol += 1;
                    return FeedEvent::None;
                };
                counters.book_tickers += 1;
                let book = &books[book];
                if book.state() == SyncState::Synced
                    && book.last_update_id() == Some(ticker.update_id)
                {
                    counters.tickers_checked += 1;
                    let top = book.top();
                    if (top.bid_price, top.bid_qty, top.ask_price, top.ask_qty)
                        != (
                            ticker.bid_price,
                            ticker.bid_qty,
                            ticker.ask_price,
                            ticker.ask_qty,
                        )
                    {
                        counters.ticker_mismatches += 1;
                    }
                }
                FeedEvent::None
            }
            Event::Trade(trade) => {
                if find(&trade.symbol).is_some() {
                    counters.trades += 1;
                } else {
                    counters.unknown_symbol += 1;
                }
                FeedEvent::None
            }
            Event::Other { .. } => {
                counters.other += 1;
                FeedEvent::None
            }
        }
    }
}

/// `"bids":[["61837.63000000","3.78826000"],...],"asks":[...]`: up to `max_levels` levels
/// per side, best first, decimals with 8 places (tooling: allocates).
pub fn push_levels_json(out: &mut String, book: &L2Book, max_levels: usize) {
    use std::fmt::Write as _;
    for (position, (name, side)) in [("bids", Side::Bid), ("asks", Side::Ask)]
        .into_iter()
        .enumerate()
    {
        if position > 0 {
            out.push(',');
        }
        let _ = write!(out, "\"{name}\":[");
        for (index, level) in book.levels(side).take(max_levels).enumerate() {
            if index > 0 {
                out.push(',');
            }
            let _ = write!(out, "[\"{}\",\"{}\"]", level.price, level.qty);
        }
        out.push(']');
    }
}

/// A book's synchronisation state as a word: `awaiting_snapshot`, `awaiting_first_update`,
/// `synced`.
#[must_use]
pub fn state_name(state: SyncState) -> &'static str {
    match state {
        SyncState::AwaitingSnapshot => "awaiting_snapshot",
        SyncState::AwaitingFirstUpdate => "awaiting_first_update",
        SyncState::Synced => "synced",
    }
}

/// `"KEY":{"feed":…,"state":…,"last_update_id":u|null,"counters":{…},"bids":[…],"asks":[…]}`
/// with every level (shutdown tooling: allocates).
#[must_use]
pub fn book_json(key: &str, feed: &str, book: &L2Book) -> String {
    use std::fmt::Write as _;
    let counters = book.counters();
    let mut out = String::with_capacity(256 + 64 * (book.len(Side::Bid) + book.len(Side::Ask)));
    let _ = write!(
        out,
        "{}:{{\"feed\":{},\"state\":\"{}\",\"last_update_id\":{},",
        serde_json::Value::from(key),
        serde_json::Value::from(feed),
        state_name(book.state()),
        book.last_update_id()
            .map_or_else(|| "null".to_owned(), |id| id.to_string()),
    );
    let _ = write!(
        out,
        "\"counters\":{{\"applied\":{},\"dropped_before_snapshot\":{},\"gaps\":{},\"resyncs\":{},\"buffer_overflows\":{},\"book_full\":{},\"snapshots\":{},\"snapshots_ignored\":{}}},",
        counters.applied,
        counters.dropped_before_snapshot,
        counters.gaps,
        counters.resyncs,
        counters.buffer_overflows,
        counters.book_full,
        counters.snapshots,
        counters.snapshots_ignored,
    );
    push_levels_json(&mut out, book, usize::MAX);
    out.push('}');
    out
}

/// `"NAME":{"datagrams":…,"messages":…,…}`: a feed's counters (tooling: allocates).
#[must_use]
pub fn counters_json(name: &str, feed: &BinanceFeed) -> String {
    let counters = feed.counters();
    let relay = feed.relay_counters();
    format!(
        "{}:{{\"datagrams\":{},\"messages\":{},\"decode_errors\":{},\"framing_errors\":{},\"messages_lost\":{},\"relay_messages\":{},\"relay_fragments\":{},\"depth_updates\":{},\"snapshots\":{},\"book_tickers\":{},\"tickers_checked\":{},\"ticker_mismatches\":{},\"trades\":{},\"other\":{},\"unknown_symbol\":{}}}",
        serde_json::Value::from(name),
        counters.datagrams,
        counters.messages,
        counters.decode_errors,
        counters.framing_errors,
        counters.messages_lost,
        relay.messages,
        relay.fragments,
        counters.depth_updates,
        counters.snapshots,
        counters.book_tickers,
        counters.tickers_checked,
        counters.ticker_mismatches,
        counters.trades,
        counters.other,
        counters.unknown_symbol,
    )
}

/// The upper-case symbol of a combined-stream name (`btcusdt@depth@100ms` → `BTCUSDT`).
fn stream_symbol(stream: &Name) -> Option<Name> {
    let text = stream.as_str();
    let symbol = text.split('@').next()?;
    let mut upper = [0u8; tickwire_protocol::binance::NAME_CAPACITY];
    let upper = upper.get_mut(..symbol.len())?;
    upper.copy_from_slice(symbol.as_bytes());
    upper.make_ascii_uppercase();
    Name::new(core::str::from_utf8(upper).ok()?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test")]

    use tickwire_protocol::binance::relay;

    use super::*;

    fn small() -> BinanceFeedConfig {
        BinanceFeedConfig {
            max_levels_per_side: 64,
            book: L2Config {
                levels_per_side: 64,
                buffered_updates: 8,
                buffered_levels: 64,
            },
        }
    }

    const SNAPSHOT: &str = r#"{"lastUpdateId":10,"bids":[["100.00000000","1.00000000"]],"asks":[["101.00000000","2.00000000"]]}"#;
    const UPDATE: &str = r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":9,"u":12,"b":[["100.50000000","3.00000000"]],"a":[]}}"#;
    const TICKER: &str = r#"{"stream":"btcusdt@bookTicker","data":{"u":12,"s":"BTCUSDT","b":"100.50000000","B":"3.00000000","a":"101.00000000","A":"2.00000000"}}"#;

    #[test]
    fn whole_and_fragmented_messages_sync_the_book() {
        let mut feed = BinanceFeed::new(small());
        assert_eq!(feed.subscribe("btcusdt").unwrap(), 0);
        let mut scratch = Vec::new();
        let mut datagrams = Vec::new();
        relay::fragment(1, SNAPSHOT.as_bytes(), 16, &mut scratch, |d| {
            datagrams.push(d.to_vec());
        })
        .unwrap();
        for datagram in &datagrams[..datagrams.len() - 1] {
            assert_eq!(feed.on_datagram(datagram, 1), FeedEvent::None);
        }
        assert_eq!(
            feed.on_datagram(datagrams.last().unwrap(), 1),
            FeedEvent::Book {
                book: 0,
                outcome: None
            }
        );
        assert!(matches!(
            feed.on_datagram(UPDATE.as_bytes(), 2),
            FeedEvent::Book {
                book: 0,
                outcome: Some(UpdateOutcome::Applied { top_changed: true })
            }
        ));
        assert_eq!(feed.on_datagram(TICKER.as_bytes(), 3), FeedEvent::None);
        let counters = feed.counters();
        assert_eq!(counters.messages, 3);
        assert_eq!(counters.tickers_checked, 1);
        assert_eq!(counters.ticker_mismatches, 0);
        assert_eq!(feed.book(0).state(), SyncState::Synced);
    }

    #[test]
    fn bad_datagrams_are_counted_by_kind() {
        let mut feed = BinanceFeed::new(small());
        feed.subscribe("BTCUSDT").unwrap();
        for bad in [
            &b"{\"stream\":"[..],
            b"{}",
            b"{\"e\":\"depthUpdate\"}",
            b"\xff\xfe",
            b"",
            b"TWBR\0\0\0\0\0\0\0\x01\0\x05\0\x02",
        ] {
            assert_eq!(feed.on_datagram(bad, 0), FeedEvent::None);
        }
        let other = UPDATE.replace("BTCUSDT", "ETHUSDT");
        assert_eq!(feed.on_datagram(other.as_bytes(), 0), FeedEvent::None);
        let counters = feed.counters();
        assert_eq!(counters.decode_errors, 3);
        assert_eq!(counters.framing_errors, 3);
        assert_eq!(counters.unknown_symbol, 1);
        assert_eq!(counters.datagrams, 7);
        assert!(feed.book(0).needs_snapshot());
    }

    #[test]
    fn a_wrapped_snapshot_finds_its_symbol() {
        let mut feed = BinanceFeed::new(small());
        feed.subscribe("ETHUSDT").unwrap();
        feed.subscribe("BTCUSDT").unwrap();
        let bare = feed.on_datagram(SNAPSHOT.as_bytes(), 0);
        assert_eq!(bare, FeedEvent::None, "ambiguous on a two-symbol feed");
        let wrapped = format!(r#"{{"stream":"btcusdt@depth","data":{SNAPSHOT}}}"#);
        assert_eq!(
            feed.on_datagram(wrapped.as_bytes(), 0),
            FeedEvent::Book {
                book: 1,
                outcome: None
            }
        );
        assert_eq!(feed.book(1).last_update_id(), Some(10));
        assert!(feed.book(0).needs_snapshot());
    }
}
