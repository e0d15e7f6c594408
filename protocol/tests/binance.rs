//! Golden, comparison and error-path tests for the Binance JSON decoder.

mod support;

use tickwire_common::{FixedError, Price, Qty};
use tickwire_protocol::binance::{
    BinanceDecoder, BinanceError, BookTicker, Column, DepthSnapshot, DepthUpdate, Event, FieldPath,
    JsonType, Level, Message, MessageKind, NAME_CAPACITY, Name, Trade,
};

/// `(receive timestamp ns, JSON)` for every line of a sample file.
fn sample_lines(relative: &str) -> Vec<(u64, Vec<u8>)> {
    let bytes = support::read_sample(relative);
    bytes
        .split(|&byte| byte == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            let space = line
                .iter()
                .position(|&byte| byte == b' ')
                .expect("timestamp separator");
            let timestamp = std::str::from_utf8(&line[..space])
                .expect("ASCII timestamp")
                .parse()
                .expect("integer timestamp");
            (timestamp, line[space + 1..].to_vec())
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

fn price(text: &str) -> Price {
    Price::from_decimal(text.as_bytes()).expect("test price")
}

fn qty(text: &str) -> Qty {
    Qty::from_decimal(text.as_bytes()).expect("test qty")
}

fn level(price_text: &str, qty_text: &str) -> Level {
    Level {
        price: price(price_text),
        qty: qty(qty_text),
    }
}

fn name(text: &str) -> Name {
    Name::new(text).expect("short name")
}

/// Decodes `json` (copied) with the default decoder, through the public entry point.
fn decode_text(json: &str) -> Result<(Option<Name>, String), BinanceError> {
    let mut decoder = BinanceDecoder::new(16);
    let mut bytes = json.as_bytes().to_vec();
    decoder
        .decode_message(&mut bytes)
        .map(|message| (message.stream, format!("{:?}", message.event)))
}

fn decode_error(json: &str) -> BinanceError {
    let mut decoder = BinanceDecoder::new(4);
    let mut fast = json.as_bytes().to_vec();
    let error = decoder
        .decode_message(&mut fast)
        .expect_err("this message must be rejected");
    let mut reference = json.as_bytes().to_vec();
    assert_eq!(
        decoder.decode_with_tape(&mut reference),
        Err(error),
        "both paths report the same error"
    );
    error
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    depth_updates: usize,
    book_tickers: usize,
    trades: usize,
    snapshots: usize,
}

/// Decodes every line of a sample, checks it against the raw text and the reference path,
/// and returns the event counts.
fn golden(relative: &str, symbol: &str, stream_prefix: &str) -> (Counts, Counts) {
    let lines = sample_lines(relative);
    let mut decoder = BinanceDecoder::default();
    let mut reference = BinanceDecoder::default();
    let mut decoded = Counts::default();
    let mut expected = Counts::default();
    let mut previous_final_update_id = None;
    for (number, (_, json)) in lines.iter().enumerate() {
        // Independent classification by substring on the raw line.
        if contains(json, r#""e":"depthUpdate""#) {
            expected.depth_updates += 1;
        } else if contains(json, r#"@bookTicker","data":{"u":"#) {
            expected.book_tickers += 1;
        } else if contains(json, r#""e":"trade""#) {
            expected.trades += 1;
        } else if json.starts_with(br#"{"lastUpdateId":"#) {
            expected.snapshots += 1;
        }

        let mut bytes = json.clone();
        let message = decoder
            .decode_message(&mut bytes)
            .unwrap_or_else(|error| panic!("line {}: {error}", number + 1));
        let mut reference_bytes = json.clone();
        assert_eq!(
            reference.decode_with_tape(&mut reference_bytes),
            Ok(message),
            "line {}: fast path and tape path differ",
            number + 1
        );
        match message.stream {
            Some(stream) => {
                assert!(stream.as_str().starts_with(stream_prefix), "{stream}");
                let quoted = format!(r#"{{"stream":"{stream}","data":"#);
                assert!(json.starts_with(quoted.as_bytes()), "line {}", number + 1);
            }
            None => assert!(json.starts_with(br#"{"lastUpdateId""#)),
        }
        match message.event {
            Event::DepthUpdate(update) => {
                decoded.depth_updates += 1;
                assert_eq!(update.symbol.as_str(), symbol);
                assert!(update.first_update_id <= update.final_update_id);
                assert_eq!(update.prev_final_update_id, None);
                assert!(!update.bids.is_empty() || !update.asks.is_empty());
                // Diffs in the file are consecutive: U is the previous u + 1.
                if let Some(previous) = previous_final_update_id {
                    assert_eq!(update.first_update_id, previous + 1, "line {}", number + 1);
                }
                previous_final_update_id = Some(update.final_update_id);
            }
            Event::BookTicker(ticker) => {
                decoded.book_tickers += 1;
                assert_eq!(ticker.symbol.as_str(), symbol);
                assert!(ticker.bid_price < ticker.ask_price, "line {}", number + 1);
            }
            Event::Trade(trade) => {
                decoded.trades += 1;
                assert_eq!(trade.symbol.as_str(), symbol);
                assert!(trade.qty.is_positive());
            }
            Event::DepthSnapshot(snapshot) => {
                decoded.snapshots += 1;
                assert_eq!(snapshot.bids.len(), 1000);
                assert_eq!(snapshot.asks.len(), 1000);
                assert!(
                    snapshot
                        .bids
                        .windows(2)
                        .all(|pair| pair[0].price > pair[1].price)
                );
                assert!(
                    snapshot
                        .asks
                        .windows(2)
                        .all(|pair| pair[0].price < pair[1].price)
                );
            }
            Event::Other { event_type } => panic!("line {}: unexpected {event_type}", number + 1),
        }
    }
    (decoded, expected)
}

#[test]
fn golden_btcusdt_every_line_decodes() {
    let (decoded, expected) = golden("binance/btcusdt_20240808.gz", "BTCUSDT", "btcusdt@");
    assert_eq!(decoded, expected);
    // And the counts the data README states (41,249 lines in all).
    assert_eq!(
        decoded,
        Counts {
            depth_updates: 3451,
            book_tickers: 28040,
            trades: 9757,
            snapshots: 1,
        }
    );
}

#[test]
fn golden_ethusdt_every_line_decodes() {
    let (decoded, expected) = golden("binance/ethusdt_20240808.gz", "ETHUSDT", "ethusdt@");
    assert_eq!(decoded, expected);
    assert_eq!(
        decoded,
        Counts {
            depth_updates: 3434,
            book_tickers: 24077,
            trades: 6106,
            snapshots: 1,
        }
    );
}

#[test]
fn spot_check_btcusdt_values_by_hand() {
    let lines = sample_lines("binance/btcusdt_20240808.gz");
    let mut decoder = BinanceDecoder::default();

    // Line 1: the first depthUpdate.
    assert_eq!(lines[0].0, 1_723_161_253_937_085_768);
    let mut json = lines[0].1.clone();
    let message = decoder.decode_message(&mut json).expect("line 1");
    assert_eq!(message.stream, Some(name("btcusdt@depth@100ms")));
    assert_eq!(
        message.event,
        Event::DepthUpdate(DepthUpdate {
            event_time: 1_723_161_255_208,
            symbol: name("BTCUSDT"),
            first_update_id: 50_093_239_189,
            final_update_id: 50_093_239_202,
            prev_final_update_id: None,
            bids: &[
                level("61737.63", "0"),
                level("61730.17", "0"),
                level("56854.58", "0"),
            ],
            asks: &[
                level("61837.64", "1.54698"),
                level("61839.85", "0"),
                level("61839.86", "0"),
                level("61845.11", "0.32329"),
                level("61848.49", "0"),
                level("61855.45", "0.32323"),
                level("61862.51", "0.05041"),
                level("61862.52", "0"),
                level("61937.64", "0.02"),
            ],
        })
    );

    // Line 3: a bookTicker.
    let mut json = lines[2].1.clone();
    let message = decoder.decode_message(&mut json).expect("line 3");
    assert_eq!(message.stream, Some(name("btcusdt@bookTicker")));
    assert_eq!(
        message.event,
        Event::BookTicker(BookTicker {
            update_id: 50_093_239_212,
            symbol: name("BTCUSDT"),
            bid_price: Price::from_raw(6_183_763_000_000),
            bid_qty: Qty::from_raw(378_826_000),
            ask_price: Price::from_raw(6_183_764_000_000),
            ask_qty: Qty::from_raw(154_698_000),
        })
    );

    // Line 4: a trade.
    let mut json = lines[3].1.clone();
    let event = decoder.decode(&mut json).expect("line 4");
    assert_eq!(
        event,
        Event::Trade(Trade {
            event_time: 1_723_161_255_343,
            symbol: name("BTCUSDT"),
            trade_id: 3_735_683_259,
            price: price("61837.63"),
            qty: qty("0.02"),
            trade_time: 1_723_161_255_342,
            buyer_is_maker: true,
        })
    );

    // Line 8: the REST snapshot (no wrapper), 1000 levels a side.
    assert_eq!(lines[7].0, 1_723_161_254_206_652_067);
    let mut json = lines[7].1.clone();
    let message = decoder.decode_message(&mut json).expect("line 8");
    assert_eq!(message.stream, None);
    let Event::DepthSnapshot(DepthSnapshot {
        last_update_id,
        bids,
        asks,
    }) = message.event
    else {
        panic!("line 8 is the snapshot: {:?}", message.event);
    };
    assert_eq!(last_update_id, 50_093_239_218);
    assert_eq!(bids[0], level("61837.63", "3.78826"));
    assert_eq!(bids[1], level("61837.62", "0.617"));
    assert_eq!(bids[999], level("61631.55", "0.00014"));
    assert_eq!(asks[0], level("61837.64", "1.54698"));
    assert_eq!(asks[999], level("62053.18", "0.0001"));

    // Last line: a bookTicker.
    let mut json = lines.last().expect("lines").1.clone();
    let Ok(Event::BookTicker(ticker)) = decoder.decode(&mut json) else {
        panic!("last line is a bookTicker");
    };
    assert_eq!(ticker.update_id, 50_093_421_612);
    assert_eq!(ticker.bid_price.to_string(), "61685.99000000");
    assert_eq!(ticker.ask_qty.to_string(), "2.44807000");
}

#[test]
fn spot_check_ethusdt_seller_aggressor_trade() {
    let lines = sample_lines("binance/ethusdt_20240808.gz");
    let json = &lines
        .iter()
        .find(|(timestamp, _)| *timestamp == 1_723_161_255_061_342_167)
        .expect("the trade line")
        .1;
    let mut bytes = json.clone();
    let mut decoder = BinanceDecoder::default();
    let Ok(Event::Trade(trade)) = decoder.decode(&mut bytes) else {
        panic!("a trade");
    };
    assert_eq!(trade.trade_id, 1_520_538_971);
    assert_eq!(trade.price, price("2682.82"));
    assert_eq!(trade.qty, qty("0.005"));
    assert!(!trade.buyer_is_maker);
}

/// Every level of every depthUpdate and snapshot, read by serde_json as strings, prints back
/// identically from our fixed-point values; ids and times agree too.
#[test]
fn levels_match_serde_json_text() {
    fn strings(value: &serde_json::Value) -> Vec<(String, String)> {
        value
            .as_array()
            .expect("level array")
            .iter()
            .map(|pair| {
                let pair = pair.as_array().expect("pair");
                assert_eq!(pair.len(), 2);
                (
                    pair[0].as_str().expect("price").to_owned(),
                    pair[1].as_str().expect("qty").to_owned(),
                )
            })
            .collect()
    }
    fn printed(levels: &[Level]) -> Vec<(String, String)> {
        levels
            .iter()
            .map(|level| (level.price.to_string(), level.qty.to_string()))
            .collect()
    }

    let mut decoder = BinanceDecoder::default();
    let mut compared_levels = 0;
    for relative in ["binance/btcusdt_20240808.gz", "binance/ethusdt_20240808.gz"] {
        for (_, json) in sample_lines(relative) {
            let value: serde_json::Value = serde_json::from_slice(&json).expect("serde_json");
            let mut bytes = json.clone();
            match decoder.decode(&mut bytes).expect("decodes") {
                Event::DepthUpdate(update) => {
                    let data = &value["data"];
                    assert_eq!(data["E"].as_u64(), Some(update.event_time));
                    assert_eq!(data["U"].as_u64(), Some(update.first_update_id));
                    assert_eq!(data["u"].as_u64(), Some(update.final_update_id));
                    assert_eq!(data["s"].as_str(), Some(update.symbol.as_str()));
                    assert_eq!(strings(&data["b"]), printed(update.bids));
                    assert_eq!(strings(&data["a"]), printed(update.asks));
                    compared_levels += update.bids.len() + update.asks.len();
                }
                Event::DepthSnapshot(snapshot) => {
                    assert_eq!(
                        value["lastUpdateId"].as_u64(),
                        Some(snapshot.last_update_id)
                    );
                    assert_eq!(strings(&value["bids"]), printed(snapshot.bids));
                    assert_eq!(strings(&value["asks"]), printed(snapshot.asks));
                    compared_levels += snapshot.bids.len() + snapshot.asks.len();
                }
                Event::BookTicker(ticker) => {
                    let data = &value["data"];
                    assert_eq!(data["u"].as_u64(), Some(ticker.update_id));
                    assert_eq!(data["b"].as_str(), Some(&*ticker.bid_price.to_string()));
                    assert_eq!(data["B"].as_str(), Some(&*ticker.bid_qty.to_string()));
                    assert_eq!(data["a"].as_str(), Some(&*ticker.ask_price.to_string()));
                    assert_eq!(data["A"].as_str(), Some(&*ticker.ask_qty.to_string()));
                }
                Event::Trade(trade) => {
                    let data = &value["data"];
                    assert_eq!(data["t"].as_u64(), Some(trade.trade_id));
                    assert_eq!(data["T"].as_u64(), Some(trade.trade_time));
                    assert_eq!(data["p"].as_str(), Some(&*trade.price.to_string()));
                    assert_eq!(data["q"].as_str(), Some(&*trade.qty.to_string()));
                    assert_eq!(data["m"].as_bool(), Some(trade.buyer_is_maker));
                }
                Event::Other { event_type } => panic!("unexpected {event_type}"),
            }
        }
    }
    assert!(compared_levels > 200_000, "{compared_levels}");
}

#[test]
fn largest_sample_message_fits_the_default_limit() {
    let mut longest = 0;
    for relative in ["binance/btcusdt_20240808.gz", "binance/ethusdt_20240808.gz"] {
        for (_, json) in sample_lines(relative) {
            longest = longest.max(json.len());
        }
    }
    assert_eq!(longest, 64_046, "the btcusdt snapshot");
    assert!(BinanceDecoder::default().max_message_len() >= 10 * longest);
}

// ---- other shapes Binance sends ----

#[test]
fn raw_events_without_wrapper() {
    let (stream, event) = decode_text(
        r#"{"e":"trade","E":1,"s":"BTCUSDT","t":2,"p":"3.5","q":"0.1","T":4,"m":false}"#,
    )
    .expect("raw trade");
    assert_eq!(stream, None);
    assert!(event.starts_with("Trade("), "{event}");
}

#[test]
fn futures_depth_update_with_pu_and_bookticker_with_e() {
    let mut decoder = BinanceDecoder::new(4);
    let mut json = br#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"T":2,"s":"BTCUSDT","U":10,"u":12,"pu":9,"b":[["1.5","2"]],"a":[]}}"#.to_vec();
    let Ok(Event::DepthUpdate(update)) = decoder.decode(&mut json) else {
        panic!("futures depthUpdate");
    };
    assert_eq!(update.prev_final_update_id, Some(9));
    assert_eq!(update.bids, &[level("1.5", "2")]);
    assert!(update.asks.is_empty());

    let mut json = br#"{"e":"bookTicker","u":400900217,"E":1568014460893,"T":1568014460891,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#.to_vec();
    let Ok(Event::BookTicker(ticker)) = decoder.decode(&mut json) else {
        panic!("futures bookTicker");
    };
    assert_eq!(ticker.update_id, 400_900_217);
    assert_eq!(ticker.ask_qty, qty("40.66"));
}

#[test]
fn escapes_whitespace_and_key_order_decode_like_the_compact_form() {
    let compact = r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":2,"p":"3.5","q":"0.1","T":4,"m":true}}"#;
    let variants = [
        // Pretty-printed.
        "{\n  \"stream\": \"btcusdt@trade\",\n  \"data\": {\n    \"e\": \"trade\", \"E\": 1,\r\n\t\"s\": \"BTCUSDT\", \"t\": 2, \"p\": \"3.5\", \"q\": \"0.1\", \"T\": 4, \"m\": true\n  }\n}\n",
        // Escaped characters (tape path).
        r#"{"stream":"btcusdt@trade","data":{"e":"tr\u0061de","E":1,"s":"BTC\u0055SDT","t":2,"p":"3.5","q":"0.1","T":4,"m":true}}"#,
        // Keys reordered, `data` before `stream`, unknown keys of every type.
        r#"{"data":{"m":true,"T":4,"q":"0.1","p":"3.5","t":2,"s":"BTCUSDT","E":1,"e":"trade","M":true,"x":[{"y":null},-1.5e3,"\u00e9"]},"stream":"btcusdt@trade","id":7}"#,
    ];
    let expected = decode_text(compact).expect("compact");
    for variant in variants {
        assert_eq!(decode_text(variant).as_ref(), Ok(&expected), "{variant}");
    }
}

#[test]
fn nine_decimal_places_are_accepted_only_when_exact() {
    let (_, event) =
        decode_text(r#"{"u":1,"s":"X","b":"1.000000000","B":"2.5000000000","a":"3","A":"4"}"#)
            .expect("trailing zeros are exact");
    assert!(event.contains("bid_price: Price(1.00000000)"), "{event}");
}

#[test]
fn unknown_event_type_is_other_and_not_checked_further() {
    let (stream, event) =
        decode_text(r#"{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1.5,"s":123}}"#)
            .expect("unknown event types are not errors");
    assert_eq!(stream, Some(name("btcusdt@aggTrade")));
    assert_eq!(event, r#"Other { event_type: "aggTrade" }"#);
}

#[test]
fn level_slices_cover_exactly_this_message() {
    let mut decoder = BinanceDecoder::new(8);
    let mut big = br#"{"lastUpdateId":1,"bids":[["3","1"],["2","1"],["1","1"]],"asks":[["4","1"],["5","1"]]}"#.to_vec();
    let Ok(Event::DepthSnapshot(snapshot)) = decoder.decode(&mut big) else {
        panic!("snapshot");
    };
    assert_eq!((snapshot.bids.len(), snapshot.asks.len()), (3, 2));
    let mut small =
        br#"{"e":"depthUpdate","E":1,"s":"X","U":2,"u":2,"b":[],"a":[["4","0"]]}"#.to_vec();
    let Ok(Event::DepthUpdate(update)) = decoder.decode(&mut small) else {
        panic!("update");
    };
    assert!(update.bids.is_empty());
    assert_eq!(update.asks, &[level("4", "0")]);
}

// ---- error paths ----

#[test]
fn malformed_json_reports_position_and_reason() {
    assert_eq!(
        decode_error(""),
        BinanceError::MalformedJson {
            offset: 0,
            character: None,
            reason: "unexpected end of input",
        }
    );
    assert!(matches!(
        decode_error("   \n"),
        BinanceError::MalformedJson { .. }
    ));
    let error = decode_error(r#"{"u":1,"s":"X","b":"1","B":"1","a":"1","A":"1""#);
    assert!(
        matches!(error, BinanceError::MalformedJson { .. }),
        "{error}"
    );
    let error = decode_error(r#"{"u":1 "s":"X"}"#);
    let BinanceError::MalformedJson { offset, .. } = error else {
        panic!("{error}");
    };
    assert!(offset <= 8, "{error}");
    assert!(matches!(
        decode_error(r#"{"u":1}x"#),
        BinanceError::MalformedJson { .. }
    ));
    assert!(matches!(
        decode_error("{\"s\":\"\u{1}\"}"),
        BinanceError::MalformedJson { .. }
    ));
    assert!(matches!(
        decode_error(r#"{"u":01}"#),
        BinanceError::MalformedJson { .. }
    ));
    // simd-json gives no position for errors inside strings.
    assert_eq!(
        decode_error(r#"{"u":1, "s":"\x"}"#).to_string(),
        "malformed JSON at byte 0: invalid escape sequence"
    );
}

#[test]
fn every_truncation_of_a_real_message_is_an_error() {
    let lines = sample_lines("binance/btcusdt_20240808.gz");
    let mut decoder = BinanceDecoder::default();
    for (_, json) in lines.iter().take(8) {
        // Every prefix of the small messages; of the 64 KB snapshot, every 61st and the
        // last 200 (each is a full parse: all of them would take minutes in a debug build).
        let step = if json.len() > 4096 { 61 } else { 1 };
        let tail = json.len().saturating_sub(200);
        for len in (0..json.len()).filter(|len| len % step == 0 || *len >= tail) {
            let mut prefix = json[..len].to_vec();
            let result = decoder.decode_message(&mut prefix);
            assert!(
                matches!(result, Err(BinanceError::MalformedJson { .. })),
                "prefix of {len} bytes: {result:?}"
            );
        }
    }
}

#[test]
fn missing_fields_are_named() {
    // The depthUpdate of line 1 without `u`.
    assert_eq!(
        decode_error(
            r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255208,"s":"BTCUSDT","U":50093239189,"b":[],"a":[]}}"#
        ),
        BinanceError::MissingField {
            message: MessageKind::DepthUpdate,
            field: "u",
        }
    );
    assert_eq!(
        decode_error(r#"{"e":"trade","E":1,"s":"X","t":2,"p":"3","q":"1","T":4}"#),
        BinanceError::MissingField {
            message: MessageKind::Trade,
            field: "m",
        }
    );
    assert_eq!(
        decode_error(r#"{"lastUpdateId":1,"bids":[]}"#),
        BinanceError::MissingField {
            message: MessageKind::DepthSnapshot,
            field: "asks",
        }
    );
    assert_eq!(
        decode_error(r#"{"u":1,"s":"X","b":"1","B":"1","a":"1"}"#),
        BinanceError::MissingField {
            message: MessageKind::BookTicker,
            field: "A",
        }
    );
    assert_eq!(decode_error("{}"), BinanceError::UnrecognisedMessage);
    assert_eq!(
        decode_error(r#"{"result":null,"id":1}"#),
        BinanceError::UnrecognisedMessage
    );
}

#[test]
fn bad_decimals_name_the_level_and_column() {
    assert_eq!(
        decode_error(
            r#"{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[["1","2"],["abc","1"]],"a":[]}"#
        ),
        BinanceError::BadDecimal {
            message: MessageKind::DepthUpdate,
            field: FieldPath {
                key: "b",
                level: Some(1),
                column: Some(Column::Price),
            },
            source: FixedError::InvalidByte { position: 0 },
        }
    );
    let error = decode_error(
        r#"{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[],"a":[["1","0.123456789"]]}"#,
    );
    assert_eq!(
        error,
        BinanceError::BadDecimal {
            message: MessageKind::DepthUpdate,
            field: FieldPath {
                key: "a",
                level: Some(0),
                column: Some(Column::Qty),
            },
            source: FixedError::TooPrecise,
        }
    );
    assert_eq!(
        error.to_string(),
        "depthUpdate: `a[0] qty` is not a valid decimal: more than 8 decimal places"
    );
    assert_eq!(
        decode_error(r#"{"e":"trade","E":1,"s":"X","t":2,"p":"","q":"1","T":4,"m":true}"#),
        BinanceError::BadDecimal {
            message: MessageKind::Trade,
            field: FieldPath {
                key: "p",
                level: None,
                column: None,
            },
            source: FixedError::Empty,
        }
    );
    assert_eq!(
        decode_error(r#"{"u":1,"s":"X","b":"-1","B":"1","a":"1","A":"1"}"#),
        BinanceError::Negative {
            message: MessageKind::BookTicker,
            field: FieldPath {
                key: "b",
                level: None,
                column: None,
            },
        }
    );
    assert!(matches!(
        decode_error(r#"{"u":1,"s":"X","b":"99999999999999999999","B":"1","a":"1","A":"1"}"#),
        BinanceError::BadDecimal {
            source: FixedError::Overflow,
            ..
        }
    ));
}

#[test]
fn numbers_must_be_unsigned_integers() {
    assert_eq!(
        decode_error(r#"{"u":1.5,"s":"X","b":"1","B":"1","a":"1","A":"1"}"#),
        BinanceError::NotAnInteger {
            message: MessageKind::BookTicker,
            field: "u",
        }
    );
    assert_eq!(
        decode_error(r#"{"u":1e3,"s":"X","b":"1","B":"1","a":"1","A":"1"}"#),
        BinanceError::NotAnInteger {
            message: MessageKind::BookTicker,
            field: "u",
        }
    );
    assert_eq!(
        decode_error(r#"{"e":"depthUpdate","E":1,"s":"X","U":-1,"u":2,"b":[],"a":[]}"#),
        BinanceError::Negative {
            message: MessageKind::DepthUpdate,
            field: FieldPath {
                key: "U",
                level: None,
                column: None,
            },
        }
    );
    assert!(matches!(
        decode_error(r#"{"u":18446744073709551616,"s":"X","b":"1","B":"1","a":"1","A":"1"}"#),
        BinanceError::MalformedJson { .. } | BinanceError::NotAnInteger { .. }
    ));
    // u64::MAX itself is fine.
    assert!(
        decode_text(r#"{"u":18446744073709551615,"s":"X","b":"1","B":"1","a":"1","A":"1"}"#)
            .is_ok()
    );
}

#[test]
fn wrong_types_are_named() {
    let wrong = |message, key, expected, found| BinanceError::WrongType {
        message,
        field: FieldPath {
            key,
            level: None,
            column: None,
        },
        expected,
        found,
    };
    assert_eq!(
        decode_error(r#"{"u":"1","s":"X","b":"1","B":"1","a":"1","A":"1"}"#),
        wrong(
            MessageKind::BookTicker,
            "u",
            JsonType::Integer,
            JsonType::String
        )
    );
    assert_eq!(
        decode_error(r#"{"e":"trade","E":1,"s":"X","t":2,"p":"3","q":"1","T":4,"m":"true"}"#),
        wrong(MessageKind::Trade, "m", JsonType::Bool, JsonType::String)
    );
    assert_eq!(
        decode_error(r#"{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":{},"a":[]}"#),
        wrong(
            MessageKind::DepthUpdate,
            "b",
            JsonType::Array,
            JsonType::Object
        )
    );
    assert_eq!(
        decode_error(r#"{"u":1,"s":null,"b":"1","B":"1","a":"1","A":"1"}"#),
        wrong(
            MessageKind::BookTicker,
            "s",
            JsonType::String,
            JsonType::Null
        )
    );
    assert_eq!(
        decode_error(r#"{"e":7}"#),
        wrong(
            MessageKind::Unknown,
            "e",
            JsonType::String,
            JsonType::Integer
        )
    );
    assert_eq!(
        decode_error(r#"[1,2]"#),
        wrong(
            MessageKind::Envelope,
            "(root)",
            JsonType::Object,
            JsonType::Array
        )
    );
    assert_eq!(
        decode_error(r#""text""#),
        wrong(
            MessageKind::Envelope,
            "(root)",
            JsonType::Object,
            JsonType::String
        )
    );
    assert_eq!(
        decode_error(r#"{"stream":"x","data":[]}"#),
        wrong(
            MessageKind::Envelope,
            "data",
            JsonType::Object,
            JsonType::Array
        )
    );
    assert_eq!(
        decode_error(r#"{"stream":1,"data":{}}"#),
        wrong(
            MessageKind::Envelope,
            "stream",
            JsonType::String,
            JsonType::Integer
        )
    );
}

#[test]
fn malformed_levels_are_named() {
    let at = |key, level, column| FieldPath {
        key,
        level: Some(level),
        column,
    };
    assert_eq!(
        decode_error(r#"{"lastUpdateId":1,"bids":[["1","1"],["1"]],"asks":[]}"#),
        BinanceError::BadLevel {
            message: MessageKind::DepthSnapshot,
            field: at("bids", 1, None),
            len: 1,
        }
    );
    assert_eq!(
        decode_error(r#"{"lastUpdateId":1,"bids":[],"asks":[["1","1","1"]]}"#),
        BinanceError::BadLevel {
            message: MessageKind::DepthSnapshot,
            field: at("asks", 0, None),
            len: 3,
        }
    );
    assert_eq!(
        decode_error(r#"{"lastUpdateId":1,"bids":[],"asks":[[1,"1"]]}"#),
        BinanceError::WrongType {
            message: MessageKind::DepthSnapshot,
            field: at("asks", 0, Some(Column::Price)),
            expected: JsonType::String,
            found: JsonType::Integer,
        }
    );
    assert_eq!(
        decode_error(r#"{"lastUpdateId":1,"bids":[],"asks":[["1",["1"]]]}"#),
        BinanceError::BadLevel {
            message: MessageKind::DepthSnapshot,
            field: at("asks", 0, None),
            len: 2,
        }
    );
    assert_eq!(
        decode_error(r#"{"lastUpdateId":1,"bids":["1"],"asks":[]}"#),
        BinanceError::WrongType {
            message: MessageKind::DepthSnapshot,
            field: at("bids", 0, None),
            expected: JsonType::Array,
            found: JsonType::String,
        }
    );
}

#[test]
fn too_many_levels_is_an_error_not_growth() {
    // `decode_error` uses a capacity of 4 levels per side.
    let error = decode_error(
        r#"{"lastUpdateId":1,"bids":[["5","1"],["4","1"],["3","1"],["2","1"],["1","1"]],"asks":[]}"#,
    );
    assert_eq!(
        error,
        BinanceError::TooManyLevels {
            message: MessageKind::DepthSnapshot,
            field: "bids",
            count: 5,
            capacity: 4,
        }
    );
    let mut decoder = BinanceDecoder::new(4);
    let mut exactly_four =
        br#"{"lastUpdateId":1,"bids":[["4","1"],["3","1"],["2","1"],["1","1"]],"asks":[]}"#
            .to_vec();
    assert!(decoder.decode(&mut exactly_four).is_ok());
    assert_eq!(decoder.max_levels_per_side(), 4);
}

#[test]
fn oversized_messages_are_rejected_before_parsing() {
    let mut decoder = BinanceDecoder::new(1);
    let limit = decoder.max_message_len();
    let mut json = vec![b' '; limit + 1];
    assert_eq!(
        decoder.decode(&mut json),
        Err(BinanceError::MessageTooLarge {
            len: limit + 1,
            max: limit,
        })
    );
}

#[test]
fn duplicate_and_overlong_fields() {
    assert_eq!(
        decode_error(r#"{"u":1,"u":2,"s":"X","b":"1","B":"1","a":"1","A":"1"}"#),
        BinanceError::DuplicateField {
            message: MessageKind::BookTicker,
            field: "u",
        }
    );
    assert_eq!(
        decode_error(r#"{"stream":"a","stream":"b","data":{}}"#),
        BinanceError::DuplicateField {
            message: MessageKind::Envelope,
            field: "stream",
        }
    );
    // A depthUpdate that also carries snapshot-style `bids` for the same side is fine for
    // the tape path (only `b` is read) and the fast path defers to it.
    assert!(
        decode_text(r#"{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[["1","1"]],"bids":[["2","2"]],"a":[]}"#)
            .is_ok()
    );
    let long = "X".repeat(NAME_CAPACITY + 1);
    assert_eq!(
        decode_error(&format!(
            r#"{{"u":1,"s":"{long}","b":"1","B":"1","a":"1","A":"1"}}"#
        )),
        BinanceError::NameTooLong {
            message: MessageKind::BookTicker,
            field: "s",
            len: NAME_CAPACITY + 1,
        }
    );
    let fits = "X".repeat(NAME_CAPACITY);
    assert!(
        decode_text(&format!(
            r#"{{"u":1,"s":"{fits}","b":"1","B":"1","a":"1","A":"1"}}"#
        ))
        .is_ok()
    );
}

#[test]
fn errors_display_message_kind_and_field() {
    let error = decode_error(r#"{"e":"depthUpdate","E":1,"s":"X","U":1,"b":[],"a":[]}"#);
    assert_eq!(error.to_string(), "depthUpdate: missing field `u`");
    let error = decode_error(r#"{"lastUpdateId":1,"bids":[["1","x"]],"asks":[]}"#);
    assert_eq!(
        error.to_string(),
        "depth snapshot: `bids[0] qty` is not a valid decimal: invalid byte at offset 0"
    );
    let message: Message<'_> = Message {
        stream: None,
        event: Event::Other {
            event_type: name("x"),
        },
    };
    assert_eq!(
        message.event,
        Event::Other {
            event_type: name("x")
        }
    );
}

#[test]
fn decoder_is_reusable_after_errors() {
    let mut decoder = BinanceDecoder::new(4);
    let valid = br#"{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[["2","1"]],"a":[["3","1"]]}"#;
    let broken: [&[u8]; 4] = [
        br#"{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[["2","1"],["1","x"]],"a":[]}"#,
        br#"{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[["2","1"]],"a":[["3","1"]]"#,
        br#"{"lastUpdateId":1,"bids":[["5","1"],["4","1"],["3","1"],["2","1"],["1","1"]],"asks":[]}"#,
        b"\xff",
    ];
    for input in broken {
        let mut bytes = input.to_vec();
        assert!(decoder.decode(&mut bytes).is_err());
        let mut bytes = valid.to_vec();
        let Ok(Event::DepthUpdate(update)) = decoder.decode(&mut bytes) else {
            panic!("valid after an error");
        };
        assert_eq!(update.bids, &[level("2", "1")]);
        assert_eq!(update.asks, &[level("3", "1")]);
    }
}

#[test]
fn name_is_a_short_inline_string() {
    let symbol = name("BTCUSDT");
    assert_eq!(symbol.as_str(), "BTCUSDT");
    assert_eq!(symbol.as_bytes(), b"BTCUSDT");
    assert_eq!(symbol.len(), 7);
    assert!(!symbol.is_empty());
    assert_eq!(symbol.to_string(), "BTCUSDT");
    assert_eq!(format!("{symbol:?}"), r#""BTCUSDT""#);
    assert!(name("").is_empty());
    assert_eq!(Name::new(&"x".repeat(NAME_CAPACITY + 1)), None);
    assert_eq!(
        Name::new("ünïcödé").map(|name| name.to_string()),
        Some("ünïcödé".to_owned())
    );
}
