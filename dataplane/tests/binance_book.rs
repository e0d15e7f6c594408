//! Acceptance check of the Binance L2 book on the real samples: every `bookTicker` whose update
//! id equals an applied depth update's final id must show the book's best bid, best ask and
//! their quantities at that update, with no gap or resync anywhere. Run twice: through the
//! library (decoder + `L2Book`) and through `tickwire-dataplane book --format binance`,
//! whose output is compared with the sample's bookTickers parsed independently (serde_json).
#![allow(clippy::unwrap_used, reason = "test: a panic is the failure report")]

use std::{
    collections::HashMap,
    io::{BufRead as _, BufReader, Read as _},
    path::{Path, PathBuf},
    process::{Command, Output},
};

use tickwire_common::Price;
use tickwire_dataplane::book::{
    TopOfBook,
    l2::{L2Book, L2Config, SnapshotOutcome, SyncState, UpdateOutcome},
};
use tickwire_protocol::binance::{BinanceDecoder, Event};

const BINARY: &str = env!("CARGO_BIN_EXE_tickwire-dataplane");

/// What the samples hold, measured once (`../shared/data/README.md` gives the line counts).
struct Expected {
    file: &'static str,
    /// Depth updates applied (those after the snapshot, plus the buffered ones it did not
    /// contain).
    applied: u64,
    /// Buffered depth updates the snapshot already contained.
    dropped: u64,
    /// bookTickers whose `u` is an applied depth update's final id. All must match; this
    /// many is what the samples give (564 and 577): a lower bound guards against the check
    /// silently comparing nothing.
    matches_at_least: usize,
}

const BTCUSDT: Expected = Expected {
    file: "btcusdt_20240808.gz",
    applied: 3449,
    dropped: 2,
    matches_at_least: 560,
};

const ETHUSDT: Expected = Expected {
    file: "ethusdt_20240808.gz",
    applied: 3432,
    dropped: 2,
    matches_at_least: 570,
};

fn sample(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/binance")
        .join(file)
}

/// The sample's records: (receive time ns, JSON).
fn records(file: &str) -> Vec<(u64, Vec<u8>)> {
    let reader = BufReader::new(flate2::read::GzDecoder::new(
        std::fs::File::open(sample(file)).unwrap(),
    ));
    reader
        .lines()
        .map(|line| {
            let line = line.unwrap();
            let (time, json) = line.split_once(' ').unwrap();
            (time.parse().unwrap(), json.as_bytes().to_vec())
        })
        .collect()
}

/// A bookTicker as (update id, [best bid, bid qty, best ask, ask qty]) decimal strings.
type Ticker = (u64, [String; 4]);

/// The sample's bookTickers, parsed with serde_json (not with the decoder under test).
fn tickers(file: &str) -> Vec<Ticker> {
    records(file)
        .into_iter()
        .filter_map(|(_, json)| {
            let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
            let stream = value["stream"].as_str()?;
            if !stream.ends_with("@bookTicker") {
                return None;
            }
            let data = &value["data"];
            let text = |key: &str| data[key].as_str().unwrap().to_owned();
            Some((
                data["u"].as_u64().unwrap(),
                [text("b"), text("B"), text("a"), text("A")],
            ))
        })
        .collect()
}

/// Compares every ticker whose id is in `tops`; returns the number compared. Panics on the
/// first mismatch.
fn check_tickers(tickers: &[Ticker], tops: &HashMap<u64, [String; 4]>) -> usize {
    let mut matches = 0;
    for (update_id, ticker) in tickers {
        if let Some(top) = tops.get(update_id) {
            assert_eq!(top, ticker, "bookTicker u={update_id}");
            matches += 1;
        }
    }
    matches
}

fn strings(top: &TopOfBook) -> [String; 4] {
    [
        top.bid_price.to_string(),
        top.bid_qty.to_string(),
        top.ask_price.to_string(),
        top.ask_qty.to_string(),
    ]
}

fn library_matches(expected: &Expected) {
    let mut decoder = BinanceDecoder::default();
    let mut book = L2Book::new(L2Config::default());
    let mut tops: HashMap<u64, [String; 4]> = HashMap::new();
    let mut ticker_ids = Vec::new();
    for (receive_ns, mut json) in records(expected.file) {
        match decoder.decode_message(&mut json).unwrap().event {
            Event::DepthUpdate(update) => match book.apply_update(&update, receive_ns) {
                UpdateOutcome::Applied { .. } => {
                    tops.insert(update.final_update_id, strings(&book.top()));
                }
                UpdateOutcome::Buffered => assert_eq!(book.state(), SyncState::AwaitingSnapshot),
                other => panic!("update {}: {other:?}", update.final_update_id),
            },
            Event::DepthSnapshot(snapshot) => {
                let outcome = book.apply_snapshot_with(&snapshot, receive_ns, |book, update| {
                    tops.insert(update.final_update_id, strings(&book.top()));
                });
                assert!(
                    matches!(
                        outcome,
                        SnapshotOutcome::Synced { .. }
                            | SnapshotOutcome::AwaitingFirstUpdate { .. }
                    ),
                    "{outcome:?}"
                );
            }
            Event::BookTicker(ticker) => {
                ticker_ids.push(ticker.update_id);
                // The book must never be crossed or one-sided once synced.
                if book.state() == SyncState::Synced {
                    let top = book.top();
                    assert!(
                        top.is_two_sided() && top.bid_price < top.ask_price,
                        "{top:?}"
                    );
                }
            }
            Event::Trade(_) | Event::Other { .. } => {}
        }
    }
    let counters = book.counters();
    assert_eq!(book.state(), SyncState::Synced);
    assert_eq!(
        (
            counters.gaps,
            counters.resyncs,
            counters.book_full,
            counters.buffer_overflows
        ),
        (0, 0, 0, 0),
        "{counters:?}"
    );
    assert_eq!(counters.applied, expected.applied, "{counters:?}");
    assert_eq!(counters.dropped_before_snapshot, expected.dropped);
    assert_eq!(counters.snapshots, 1);
    assert_eq!(tops.len() as u64, expected.applied);
    let tickers = tickers(expected.file);
    assert_eq!(
        tickers.iter().map(|ticker| ticker.0).collect::<Vec<_>>(),
        ticker_ids,
        "the decoder and serde_json see the same bookTickers"
    );
    let matches = check_tickers(&tickers, &tops);
    println!(
        "{}: library: {matches} bookTickers matched of {}, {} depth updates applied, 0 gaps",
        expected.file,
        tickers.len(),
        counters.applied
    );
    assert!(matches >= expected.matches_at_least, "{matches} matches");
}

fn run(args: &[&str]) -> Output {
    Command::new(BINARY).args(args).output().unwrap()
}

fn cli_matches(expected: &Expected) {
    let path = sample(expected.file);
    let output = run(&["book", "--format", "binance", path.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut tops: HashMap<u64, [String; 4]> = HashMap::new();
    let mut events = Vec::new();
    for line in String::from_utf8(output.stdout).unwrap().lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(event) = value["event"].as_str() {
            events.push((event.to_owned(), value.clone()));
            continue;
        }
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "best_ask",
                "best_ask_qty",
                "best_bid",
                "best_bid_qty",
                "update_id"
            ],
            "{line}"
        );
        let text = |key: &str| {
            let text = value[key].as_str().unwrap();
            // Exactly 8 decimals, as Binance prints them, and parseable back.
            assert_eq!(text.split_once('.').unwrap().1.len(), 8, "{line}");
            Price::from_decimal(text.as_bytes()).unwrap();
            text.to_owned()
        };
        let previous = tops.insert(
            value["update_id"].as_u64().unwrap(),
            [
                text("best_bid"),
                text("best_bid_qty"),
                text("best_ask"),
                text("best_ask_qty"),
            ],
        );
        assert!(previous.is_none(), "one line per applied update: {line}");
    }
    // The only event is the snapshot: no gap, no resync.
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].0, "synced");
    assert_eq!(events[0].1["dropped"], expected.dropped);
    assert_eq!(tops.len() as u64, expected.applied);
    let tickers = tickers(expected.file);
    let matches = check_tickers(&tickers, &tops);
    println!(
        "{}: CLI: {matches} bookTickers matched of {}",
        expected.file,
        tickers.len()
    );
    assert!(matches >= expected.matches_at_least, "{matches} matches");
}

#[test]
fn btcusdt_book_matches_every_book_ticker_library() {
    library_matches(&BTCUSDT);
}

#[test]
fn ethusdt_book_matches_every_book_ticker_library() {
    library_matches(&ETHUSDT);
}

#[test]
fn btcusdt_book_matches_every_book_ticker_cli() {
    cli_matches(&BTCUSDT);
}

#[test]
fn ethusdt_book_matches_every_book_ticker_cli() {
    cli_matches(&ETHUSDT);
}

fn tempdir() -> PathBuf {
    let directory = std::env::temp_dir().join(format!(
        "tickwire-binance-book-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

fn one_line_error(output: &Output) -> String {
    assert!(!output.status.success(), "expected a failure");
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    lines[0].to_owned()
}

fn book_error(path: &Path) -> String {
    one_line_error(&run(&[
        "book",
        "--format",
        "binance",
        path.to_str().unwrap(),
    ]))
}

#[test]
fn bad_input_gets_one_line_errors() {
    let sample = sample(BTCUSDT.file);
    let error = one_line_error(&run(&[
        "book",
        "--format",
        "binance2",
        sample.to_str().unwrap(),
    ]));
    assert!(
        error.contains("unknown format \"binance2\"") && error.contains("binance"),
        "{error}"
    );
    let error = book_error(Path::new("/nonexistent/btcusdt.gz"));
    assert!(
        error.contains("/nonexistent/btcusdt.gz") && error.contains("No such file"),
        "{error}"
    );

    let directory = tempdir();
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&sample).unwrap())
        .read_to_end(&mut raw)
        .unwrap();
    let lines: Vec<&[u8]> = raw.split(|&byte| byte == b'\n').collect();

    // Malformed JSON on line 3 (the first two lines are fine).
    let malformed = directory.join("malformed.txt");
    let mut bytes = [lines[0], lines[1]].join(&b'\n');
    bytes.extend_from_slice(
        b"\n1723161254087891268 {\"stream\":\"btcusdt@depth\",\"data\":{\"e\":\n",
    );
    std::fs::write(&malformed, &bytes).unwrap();
    let error = book_error(&malformed);
    assert!(
        error.contains("malformed.txt: line 3: malformed JSON"),
        "{error}"
    );

    // A well-formed record with a bad field names the message type and field.
    let bad_field = directory.join("bad_field.txt");
    std::fs::write(
        &bad_field,
        b"1 {\"stream\":\"btcusdt@depth\",\"data\":{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"BTCUSDT\",\"U\":1,\"u\":2,\"b\":[[\"1.0\",\"x\"]],\"a\":[]}}\n",
    )
    .unwrap();
    let error = book_error(&bad_field);
    assert!(
        error.contains("line 1: depthUpdate") && error.contains("b[0] qty"),
        "{error}"
    );

    // No timestamp.
    let no_time = directory.join("no_time.txt");
    std::fs::write(&no_time, b"{\"lastUpdateId\":1,\"bids\":[],\"asks\":[]}\n").unwrap();
    let error = book_error(&no_time);
    assert!(error.contains("no_time.txt: line 1: expected"), "{error}");

    // A truncated gzip stream.
    let compressed = std::fs::read(&sample).unwrap();
    let truncated = directory.join("truncated.gz");
    std::fs::write(&truncated, &compressed[..compressed.len() / 2]).unwrap();
    let error = book_error(&truncated);
    assert!(
        error.contains("truncated.gz: line ") && error.contains("reading"),
        "{error}"
    );

    // A second symbol in the same file.
    let mixed = directory.join("mixed.txt");
    let eth = lines
        .iter()
        .map(|line| String::from_utf8_lossy(line).replace("BTCUSDT", "ETHUSDT"))
        .find(|line| line.contains("depthUpdate"))
        .unwrap();
    let mut bytes = lines[0].to_vec();
    bytes.push(b'\n');
    bytes.extend_from_slice(eth.as_bytes());
    bytes.push(b'\n');
    std::fs::write(&mixed, &bytes).unwrap();
    let error = book_error(&mixed);
    assert!(
        error.contains("line 2") && error.contains("ETHUSDT") && error.contains("BTCUSDT"),
        "{error}"
    );

    // A line longer than any message the decoder accepts, without a newline: refused, not
    // buffered without bound.
    let long = directory.join("long.txt");
    std::fs::write(&long, vec![b'1'; 4 << 20]).unwrap();
    let error = book_error(&long);
    assert!(
        error.contains("long.txt: line 1: line longer than"),
        "{error}"
    );
    std::fs::remove_dir_all(directory).unwrap();
}

#[test]
fn a_gap_in_the_file_is_reported_and_recovered_from() {
    // Drop one depth update after the snapshot: the tool must report a gap and a resync,
    // and print nothing for later updates until a new snapshot. Appending the sample's
    // snapshot again does not help (it is older than the buffered stream): a second gap.
    let sample = sample(BTCUSDT.file);
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&sample).unwrap())
        .read_to_end(&mut raw)
        .unwrap();
    let text = String::from_utf8(raw).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let depth: Vec<usize> = (0..lines.len())
        .filter(|&index| lines[index].contains("depthUpdate"))
        .collect();
    let snapshot = lines
        .iter()
        .position(|line| line.contains("lastUpdateId"))
        .unwrap();
    let position = depth
        .iter()
        .position(|&index| index > snapshot + 20)
        .unwrap();
    let (removed, next) = (depth[position], depth[position + 1]);
    // Up to the third update after the removed one.
    let mut edited: Vec<&str> = lines[..=depth[position + 3]].to_vec();
    edited.remove(removed);
    edited.push(lines[snapshot]);
    let directory = tempdir();
    let path = directory.join("gap.txt");
    std::fs::write(&path, edited.join("\n")).unwrap();
    let output = run(&["book", "--format", "binance", path.to_str().unwrap()]);
    assert!(output.status.success());
    let out: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let events: Vec<&str> = out
        .iter()
        .filter_map(|line| line["event"].as_str())
        .collect();
    assert_eq!(
        events,
        ["synced", "gap", "resync", "gap", "resync"],
        "{out:?}"
    );
    let gap = out.iter().find(|line| line["event"] == "gap").unwrap();
    // The next depth update reveals it: one line up after the removal, so its 1-based line
    // number is its 0-based index in the sample.
    assert_eq!(gap["line"], next, "{gap}");
    assert!(gap["got"].as_u64() > gap["expected"].as_u64());
    // After the first gap no update line is printed.
    let after = out.iter().position(|line| line["event"] == "gap").unwrap();
    assert!(
        out[after..]
            .iter()
            .all(|line| line.get("update_id").is_none())
    );
    std::fs::remove_dir_all(directory).unwrap();
}
