//! `tickwire-dataplane book --format itch50 FILE --stock NAME` and
//! `tickwire-dataplane book --format binance FILE`.
//!
//! - `itch50`: replays an ITCH 5.0 BinaryFILE into the L3 book of one stock and prints the
//!   top of book after each message that changed it:
//!   `{"timestamp":ns,"type":"A","stock":"AAPL","best_bid":1234500,"best_bid_shares":100,
//!   "best_ask":null,"best_ask_shares":0}` — prices in the spec's 1/10000 units, `null` for
//!   an empty side. Book errors are lines with an `"event"` key.
//! - `binance`: replays a recording of one symbol's Binance streams (gzip or plain; one
//!   record per line: receive time in ns, a space, the JSON as received — combined-stream
//!   `depthUpdate`s, `bookTicker`s, `trade`s and a REST depth snapshot line) into an
//!   [`L2Book`] following Binance's synchronisation procedure: updates before the snapshot
//!   line are buffered, then dropped or replayed. After each **applied** depth update it
//!   prints `{"update_id":u,"best_bid":"61837.63000000","best_bid_qty":"3.78826000",
//!   "best_ask":"61837.64000000","best_ask_qty":"1.54698000"}` (decimals with 8 places, as
//!   Binance prints them; an empty side is `null` with quantity `"0.00000000"`). Other
//!   lines carry an `"event"` key and the input `"line"`:
//!   `{"event":"synced","line":n,"last_update_id":id,"replayed":r,"dropped":d}` when a
//!   snapshot is loaded (printed before the lines of the buffered updates it replays),
//!   `{"event":"gap","line":n,"expected":U,"got":U}` followed by
//!   `{"event":"resync","line":n,"reason":"gap"}`, `{"event":"resync","line":n,
//!   "reason":"book_full"}`, `{"event":"buffer_overflow","line":n}`,
//!   `{"event":"snapshot_refused","line":n,"last_update_id":id,"reason":"book_full"}` and
//!   `{"event":"snapshot_ignored","line":n,"last_update_id":id}`. `bookTicker`, `trade` and
//!   other events print nothing. The file must hold one symbol (`--stock`, if given, names
//!   it); a depth update for another is an error. With `--depth N` a last line gives the final
//!   book, N levels a side at most, best first:
//!   `{"event":"book","state":"synced","last_update_id":u,"bids":[["61837.63000000","3.78826000"],...],"asks":[...]}`
//!   (`last_update_id` is `null` while awaiting a snapshot) — the form the data plane's
//!   `run --dump-books` uses for a Binance symbol's levels.

use std::{fmt::Write as _, io::Write, path::Path};

use tickwire_protocol::{
    binance::{BinanceDecoder, DEFAULT_MAX_LEVELS_PER_SIDE, Event, Name},
    itch,
};

use super::{ToolError, for_each_binary_file_message, for_each_line, push_json_string};
use crate::book::{
    Side, TopOfBook,
    l2::{L2Book, L2Config, SnapshotOutcome, UpdateOutcome},
    l3::{L3Books, L3Config},
};
use crate::feed::binance::{push_levels_json, state_name};

/// Supported formats.
pub const FORMATS: &str = "itch50, binance";

/// Room for the receive timestamp and the space before a Binance record's JSON.
const RECORD_PREFIX_MAX: usize = 32;

/// Runs the book tool; returns the number of lines written.
///
/// # Errors
/// [`ToolError`] naming the file, offset and message type of the first problem.
pub fn run(
    format: &str,
    path: &Path,
    stock: Option<&str>,
    depth: Option<usize>,
    out: &mut impl Write,
) -> Result<u64, ToolError> {
    match format {
        "itch50" => {
            let stock = stock
                .ok_or_else(|| ToolError::Usage("--stock NAME is required for itch50".into()))?;
            if depth.is_some() {
                return Err(ToolError::Usage("--depth is for --format binance".into()));
            }
            itch50(path, stock, out)
        }
        "binance" => binance(path, stock, depth, out),
        other => Err(ToolError::UnknownFormat {
            tool: "book",
            format: other.to_owned(),
            supported: FORMATS,
        }),
    }
}

fn itch50(path: &Path, stock: &str, out: &mut impl Write) -> Result<u64, ToolError> {
    if stock.is_empty() || stock.len() > 8 || !stock.is_ascii() {
        return Err(ToolError::Usage(format!(
            "--stock {stock:?}: 1 to 8 ASCII characters"
        )));
    }
    let mut symbol = [b' '; 8];
    symbol[..stock.len()].copy_from_slice(stock.as_bytes());
    // Files may start mid-day: orphan references are reported, not fatal to the book.
    let mut books = L3Books::new(L3Config {
        max_books: 1,
        strict_references: false,
        ..L3Config::default()
    });
    let book = books
        .subscribe(symbol)
        .map_err(|error| ToolError::Usage(error.to_string()))?;
    let mut bound = false;
    let mut last_top = None;
    let mut line = String::with_capacity(256);
    let mut lines = 0u64;
    for_each_binary_file_message(path, |offset, bytes| {
        let message = itch::decode(bytes)
            .map_err(|error| ToolError::data(path, offset, error.to_string()))?;
        if let itch::Message::StockDirectory(directory) = &message {
            bound |= directory.stock.0 == symbol;
        }
        line.clear();
        match books.apply_itch(&message) {
            Ok(Some(change)) if change.top_changed => {
                let top = (
                    books.best_raw(book, Side::Bid),
                    books.best_raw(book, Side::Ask),
                );
                if last_top == Some(top) {
                    return Ok(());
                }
                last_top = Some(top);
                write_top(&mut line, &message, stock, top);
            }
            Ok(_) => return Ok(()),
            Err(error) => {
                line.push_str("{\"event\":\"book_error\",\"offset\":");
                line.push_str(&offset.to_string());
                line.push_str(",\"type\":");
                push_json_string(&mut line, &[message.message_type()]);
                line.push_str(",\"error\":");
                push_json_string(&mut line, error.to_string().as_bytes());
                line.push('}');
            }
        }
        line.push('\n');
        lines += 1;
        out.write_all(line.as_bytes()).map_err(ToolError::Output)
    })?;
    if !bound {
        return Err(ToolError::Usage(format!(
            "{}: stock {stock:?} is not in the file's stock directory",
            path.display()
        )));
    }
    Ok(lines)
}

type Top = (Option<(u32, u64)>, Option<(u32, u64)>);

fn write_top(line: &mut String, message: &itch::Message, stock: &str, (bid, ask): Top) {
    use std::fmt::Write as _;
    let _ = write!(line, "{{\"timestamp\":{},\"type\":", message.timestamp());
    push_json_string(line, &[message.message_type()]);
    line.push_str(",\"stock\":");
    push_json_string(line, stock.as_bytes());
    for (name, level) in [("bid", bid), ("ask", ask)] {
        match level {
            Some((price, shares)) => {
                let _ = write!(
                    line,
                    ",\"best_{name}\":{price},\"best_{name}_shares\":{shares}"
                );
            }
            None => {
                let _ = write!(line, ",\"best_{name}\":null,\"best_{name}_shares\":0");
            }
        }
    }
    line.push('}');
}

fn binance(
    path: &Path,
    stock: Option<&str>,
    depth: Option<usize>,
    out: &mut impl Write,
) -> Result<u64, ToolError> {
    // The symbol the file's depth updates must be for: `--stock`, else the first one seen.
    let mut symbol =
        match stock {
            Some(stock) => Some(Name::new(&stock.to_ascii_uppercase()).ok_or_else(|| {
                ToolError::Usage(format!("--stock {stock:?}: not a Binance symbol"))
            })?),
            None => None,
        };
    let mut decoder = BinanceDecoder::new(DEFAULT_MAX_LEVELS_PER_SIDE);
    let mut book = L2Book::new(L2Config::default());
    let max_line_len = decoder.max_message_len() + RECORD_PREFIX_MAX;
    let mut text = String::with_capacity(1 << 12);
    let mut lines = 0u64;
    for_each_line(path, max_line_len, |number, record| {
        let (receive_ns, json) = split_record(record)
            .ok_or_else(|| ToolError::line(path, number, "expected `<receive time ns> <JSON>`"))?;
        let message = decoder
            .decode_message(json)
            .map_err(|error| ToolError::line(path, number, error.to_string()))?;
        text.clear();
        match message.event {
            Event::DepthUpdate(update) => {
                match symbol {
                    None => symbol = Some(update.symbol),
                    Some(expected) if expected != update.symbol => {
                        return Err(ToolError::line(
                            path,
                            number,
                            format!(
                                "depthUpdate for {}, but this file's book is {expected} \
                                 (one symbol per file)",
                                update.symbol
                            ),
                        ));
                    }
                    Some(_) => {}
                }
                match book.apply_update(&update, receive_ns) {
                    UpdateOutcome::Applied { .. } => {
                        write_l2_top(&mut text, update.final_update_id, &book.top());
                    }
                    UpdateOutcome::Buffered | UpdateOutcome::Dropped => {}
                    UpdateOutcome::Gap { expected, got } => {
                        write_gap(&mut text, number, expected, got);
                    }
                    UpdateOutcome::BookFull => {
                        let _ = writeln!(
                            text,
                            r#"{{"event":"resync","line":{number},"reason":"book_full"}}"#
                        );
                    }
                    UpdateOutcome::BufferOverflow => {
                        let _ = writeln!(text, r#"{{"event":"buffer_overflow","line":{number}}}"#);
                    }
                }
            }
            Event::DepthSnapshot(snapshot) => {
                // Replayed updates print after the `synced` line, which needs the outcome.
                let mut replayed = String::new();
                let outcome = book.apply_snapshot_with(&snapshot, receive_ns, |book, update| {
                    write_l2_top(&mut replayed, update.final_update_id, &book.top());
                });
                let last_update_id = snapshot.last_update_id;
                let (loaded, replayed_count, dropped) = match outcome {
                    SnapshotOutcome::Synced { replayed, dropped } => (true, replayed, dropped),
                    SnapshotOutcome::AwaitingFirstUpdate { dropped } => (true, 0, dropped),
                    _ => (!replayed.is_empty(), replayed.lines().count(), 0),
                };
                if loaded {
                    let _ = writeln!(
                        text,
                        r#"{{"event":"synced","line":{number},"last_update_id":{last_update_id},"replayed":{replayed_count},"dropped":{dropped}}}"#
                    );
                }
                text.push_str(&replayed);
                match outcome {
                    SnapshotOutcome::Gap { expected, got } => {
                        write_gap(&mut text, number, expected, got);
                    }
                    SnapshotOutcome::BookFull => {
                        let _ = writeln!(
                            text,
                            r#"{{"event":"snapshot_refused","line":{number},"last_update_id":{last_update_id},"reason":"book_full"}}"#
                        );
                    }
                    SnapshotOutcome::Ignored => {
                        let _ = writeln!(
                            text,
                            r#"{{"event":"snapshot_ignored","line":{number},"last_update_id":{last_update_id}}}"#
                        );
                    }
                    SnapshotOutcome::Synced { .. }
                    | SnapshotOutcome::AwaitingFirstUpdate { .. } => {}
                }
            }
            Event::BookTicker(_) | Event::Trade(_) | Event::Other { .. } => {}
        }
        lines += text.lines().count() as u64;
        out.write_all(text.as_bytes()).map_err(ToolError::Output)
    })?;
    if let Some(depth) = depth {
        text.clear();
        let _ = write!(
            text,
            r#"{{"event":"book","state":"{}","last_update_id":{},"#,
            state_name(book.state()),
            book.last_update_id()
                .map_or_else(|| "null".to_owned(), |id| id.to_string())
        );
        push_levels_json(&mut text, &book, depth);
        text.push_str("}\n");
        lines += 1;
        out.write_all(text.as_bytes()).map_err(ToolError::Output)?;
    }
    Ok(lines)
}

/// Splits `<receive time ns> <JSON>`.
fn split_record(record: &mut [u8]) -> Option<(u64, &mut [u8])> {
    let space = record.iter().position(|&byte| byte == b' ')?;
    let (time, rest) = record.split_at_mut(space);
    let time = core::str::from_utf8(time).ok()?;
    if time.is_empty() || !time.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let json = rest.get_mut(1..)?;
    Some((time.parse().ok()?, json))
}

fn write_l2_top(text: &mut String, update_id: u64, top: &TopOfBook) {
    let _ = write!(text, r#"{{"update_id":{update_id}"#);
    for (name, price, qty) in [
        ("bid", top.bid_price, top.bid_qty),
        ("ask", top.ask_price, top.ask_qty),
    ] {
        if price.is_some() {
            let _ = write!(
                text,
                r#","best_{name}":"{price}","best_{name}_qty":"{qty}""#
            );
        } else {
            let _ = write!(text, r#","best_{name}":null,"best_{name}_qty":"{qty}""#);
        }
    }
    text.push_str("}\n");
}

fn write_gap(text: &mut String, line: u64, expected: u64, got: u64) {
    let _ = writeln!(
        text,
        r#"{{"event":"gap","line":{line},"expected":{expected},"got":{got}}}"#
    );
    let _ = writeln!(text, r#"{{"event":"resync","line":{line},"reason":"gap"}}"#);
}
