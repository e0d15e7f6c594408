//! Golden tests over the real sample file `itch/ex20101224.TEST_ITCH_50.gz` (BinaryFILE with
//! every length field zero): framing, decoding, byte-exact re-encoding and JSON output.

mod support;

use std::collections::BTreeMap;

use tickwire_common::{Price, Qty};
use tickwire_protocol::itch::{self, BinaryFileReader, Message, Stock};

const SAMPLE: &str = "itch/ex20101224.TEST_ITCH_50.gz";
const SAMPLE_LEN: usize = 465_048;
const SAMPLE_MESSAGES: usize = 12_012;

/// Every `(offset, message)` of the sample; panics on a framing error.
fn frames(file: &[u8]) -> Vec<(usize, &[u8])> {
    BinaryFileReader::new(file)
        .collect::<Result<Vec<_>, _>>()
        .expect("the sample frames cleanly")
}

#[test]
fn sample_has_the_documented_messages() {
    let file = support::read_sample(SAMPLE);
    assert_eq!(file.len(), SAMPLE_LEN);
    let frames = frames(&file);
    assert_eq!(frames.len(), SAMPLE_MESSAGES);

    let mut counts = BTreeMap::new();
    let mut expected_offset = 0;
    for &(offset, message) in &frames {
        assert_eq!(offset, expected_offset, "frames are contiguous");
        // The sample's quirk: every length field is zero.
        assert_eq!(file.get(offset..offset + 2), Some(&[0u8, 0][..]));
        expected_offset = offset + 2 + message.len();
        *counts.entry(char::from(message[0])).or_insert(0) += 1;
    }
    assert_eq!(expected_offset, SAMPLE_LEN, "the last frame ends the file");
    let expected: BTreeMap<char, usize> = [
        ('P', 5000),
        ('A', 4997),
        ('D', 1745),
        ('E', 198),
        ('X', 45),
        ('U', 12),
        ('S', 6),
        ('R', 3),
        ('H', 3),
        ('F', 3),
    ]
    .into_iter()
    .collect();
    assert_eq!(counts, expected);
}

#[test]
fn every_sample_message_decodes_and_reencodes_byte_for_byte() {
    let file = support::read_sample(SAMPLE);
    let mut out = [0u8; itch::MAX_MESSAGE_LEN];
    let mut decoded = 0;
    for (offset, bytes) in frames(&file) {
        let message = itch::decode(bytes)
            .unwrap_or_else(|error| panic!("message at offset {offset}: {error}"));
        assert_eq!(message.message_type(), bytes[0]);
        assert_eq!(message.encoded_len(), bytes.len());
        let written = message.encode(&mut out).expect("encodes");
        assert_eq!(
            &out[..written],
            bytes,
            "re-encoding the message at offset {offset}"
        );
        decoded += 1;
    }
    assert_eq!(decoded, SAMPLE_MESSAGES);
}

/// The message in the frame at `offset`.
fn message_at(file: &[u8], offset: usize) -> Message {
    let (_, bytes) = frames(file)
        .into_iter()
        .find(|&(at, _)| at == offset)
        .expect("a frame starts at this offset");
    itch::decode(bytes).expect("decodes")
}

/// The JSON of the message in the frame at `offset`.
fn json_at(file: &[u8], offset: usize) -> String {
    let mut out = String::new();
    message_at(file, offset).write_json(&mut out);
    out
}

// Expected strings below were derived by hand from the raw bytes, for example the first 'A'
// (frame at 232): 41 | 0002 | 0000 | 1c522027c055 | 0000000000000000 | 42 | 000003e8 |
// "BOB     " | 0000cfaf -> locate 2, tracking 0, timestamp 0x1c522027c055 = 31139052372053,
// order 0, 'B', 1000 shares, "BOB", price 0xcfaf = 53167 ($5.3167).

#[test]
fn json_of_the_first_message_of_each_type() {
    let file = support::read_sample(SAMPLE);
    let cases: [(usize, &str); 10] = [
        (
            0,
            r#"{"type":"S","stock_locate":0,"tracking_number":0,"timestamp":11202475298710,"event_code":"O"}"#,
        ),
        (
            14,
            r#"{"type":"R","stock_locate":1,"tracking_number":0,"timestamp":11435930564116,"stock":"ALC","market_category":"N","financial_status_indicator":"N","round_lot_size":100,"round_lots_only":"N","issue_classification":"A","issue_sub_type":"Z","authenticity":"P","short_sale_threshold_indicator":"N","ipo_flag":"N","luld_reference_price_tier":"2","etp_flag":"N","etp_leverage_factor":0,"inverse_indicator":"N"}"#,
        ),
        (
            137,
            r#"{"type":"H","stock_locate":1,"tracking_number":0,"timestamp":11436094498153,"stock":"ALC","trading_state":"T","reserved":"","reason":""}"#,
        ),
        (
            232,
            r#"{"type":"A","stock_locate":2,"tracking_number":0,"timestamp":31139052372053,"order_reference_number":0,"buy_sell_indicator":"B","shares":1000,"stock":"BOB","price":53167}"#,
        ),
        (
            308,
            r#"{"type":"F","stock_locate":2,"tracking_number":0,"timestamp":32813425752711,"order_reference_number":84836,"buy_sell_indicator":"B","shares":100,"stock":"BOB","price":52917,"attribution":"VIRT"}"#,
        ),
        (
            426,
            r#"{"type":"E","stock_locate":2,"tracking_number":2,"timestamp":32857937604189,"order_reference_number":87020,"executed_shares":1220,"match_number":18049}"#,
        ),
        (
            980,
            r#"{"type":"D","stock_locate":2,"tracking_number":0,"timestamp":34209047203227,"order_reference_number":84836}"#,
        ),
        (
            1077,
            r#"{"type":"P","stock_locate":2,"tracking_number":2,"timestamp":34210128591201,"order_reference_number":0,"buy_sell_indicator":"B","shares":200,"stock":"BOB","price":53333,"match_number":19447}"#,
        ),
        (
            13421,
            r#"{"type":"U","stock_locate":2,"tracking_number":0,"timestamp":34586008974764,"original_order_reference_number":3735040,"new_order_reference_number":3831915,"shares":100,"price":55917}"#,
        ),
        (
            14711,
            r#"{"type":"X","stock_locate":2,"tracking_number":0,"timestamp":34640263698381,"order_reference_number":4200868,"canceled_shares":100}"#,
        ),
    ];
    for (offset, expected) in cases {
        assert_eq!(json_at(&file, offset), expected, "frame at offset {offset}");
    }
}

#[test]
fn first_add_order_fields_and_helpers() {
    let file = support::read_sample(SAMPLE);
    let Message::AddOrder(add) = message_at(&file, 232) else {
        panic!("frame 232 is an 'A'");
    };
    assert_eq!(add.stock_locate, 2);
    assert_eq!(add.tracking_number, 0);
    assert_eq!(add.timestamp, 0x1c52_2027_c055);
    assert_eq!(add.order_reference_number, 0);
    assert_eq!(add.buy_sell_indicator, b'B');
    assert_eq!(add.shares, 1000);
    assert_eq!(add.stock, Stock::new("BOB").expect("valid symbol"));
    assert_eq!(add.stock.as_str(), "BOB");
    assert_eq!(add.stock.0, *b"BOB     ");
    assert_eq!(add.price, 53_167);
    assert_eq!(add.price(), Price::from_scaled(53_167, 4).expect("exact"));
    assert_eq!(add.price().to_string(), "5.31670000");
    assert_eq!(add.qty(), Qty::from_shares(1000));
}

#[test]
fn every_sample_message_writes_parseable_json_with_its_type() {
    // No serde in the crate; check the shape cheaply: one object, the type key first.
    let file = support::read_sample(SAMPLE);
    let mut out = String::new();
    for (_, bytes) in frames(&file) {
        out.clear();
        itch::decode(bytes).expect("decodes").write_json(&mut out);
        let prefix = format!("{{\"type\":\"{}\",\"stock_locate\":", char::from(bytes[0]));
        assert!(out.starts_with(&prefix), "{out}");
        assert!(out.ends_with('}') && !out.ends_with('\n'), "{out}");
        assert_eq!(out.matches('{').count(), 1, "{out}");
    }
}
