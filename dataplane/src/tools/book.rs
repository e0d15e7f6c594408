//! `tickwire-dataplane book --format itch50 FILE --stock NAME`.
//!
//! - `itch50`: replays an ITCH 5.0 BinaryFILE into the L3 book of one stock and prints the
//!   top of book after each message that changed it:
//!   `{"timestamp":ns,"type":"A","stock":"AAPL","best_bid":1234500,"best_bid_shares":100,
//!   "best_ask":null,"best_ask_shares":0}` — prices in the spec's 1/10000 units, `null` for
//!   an empty side. Book errors are lines with an `"event"` key.

use std::{io::Write, path::Path};

use tickwire_protocol::itch;

use super::{ToolError, for_each_binary_file_message, push_json_string};
use crate::book::{
    Side,
    l3::{L3Books, L3Config},
};

/// Supported formats.
pub const FORMATS: &str = "itch50";

/// Runs the book tool; returns the number of lines written.
///
/// # Errors
/// [`ToolError`] naming the file, offset and message type of the first problem.
pub fn run(
    format: &str,
    path: &Path,
    stock: Option<&str>,
    out: &mut impl Write,
) -> Result<u64, ToolError> {
    match format {
        "itch50" => {
            let stock = stock
                .ok_or_else(|| ToolError::Usage("--stock NAME is required for itch50".into()))?;
            itch50(path, stock, out)
        }
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
