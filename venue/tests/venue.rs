//! End-to-end tests of the venue binary over real sockets on 127.0.0.1: order entry over
//! UFO and SoupBinTCP, matching, the ITCH feed and its retransmission server, fault
//! injection, cancel-on-disconnect, background flows, latency capture, admin commands and
//! Binance mode. Each test starts its own venue on ephemeral ports and kills it at the end.
#![allow(clippy::unwrap_used, reason = "test: a panic is the failure report")]
#![allow(
    clippy::indexing_slicing,
    reason = "test: a panic is the failure report"
)]

mod support;

use std::{
    io::{Read as _, Write as _},
    net::{TcpStream, UdpSocket},
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use support::{
    FeedState, ItchBook, SoupClient, UfoClient, Venue, assert_books_match, bytes, cancel, collect,
    enter, feed_socket, replace,
};
use tickwire_common::token;
use tickwire_protocol::{itch, moldudp64, ouch::OutboundMessage};

const USERS: [&str; 4] = ["--user", "TW0001:secret", "--user", "TW0002:other"];
const SYMBOLS: [&str; 3] = ["ALC", "BOB", "CHAR"];

fn venue_with(feed: &str, extra: &[&str]) -> Venue {
    let mut args = vec![
        "--feed",
        feed,
        "--ufo",
        "0",
        "--soupbintcp",
        "0",
        "--retransmit",
        "0",
    ];
    args.extend(USERS);
    args.extend(extra);
    Venue::start(&args)
}

fn token_text(message: &OutboundMessage) -> String {
    let token = match message {
        OutboundMessage::Accepted(m) => m.token,
        OutboundMessage::Replaced(m) => m.replacement_token,
        OutboundMessage::Canceled(m) => m.token,
        OutboundMessage::Executed(m) => m.token,
        OutboundMessage::Rejected(m) => m.token,
        OutboundMessage::Modified(m) => m.token,
        other => panic!("no token in {other:?}"),
    };
    String::from_utf8_lossy(token.text()).into_owned()
}

#[test]
fn ufo_order_lifecycle_rejects_and_feed() {
    let (feed, feed_addr) = feed_socket();
    let mut venue = venue_with(&feed_addr, &["--tick", "BOB:0.05"]);
    let mut client = UfoClient::new(venue.addr("ufo"));
    assert_eq!(client.login("TW0001", "wrong", 0), Err(b'A'));
    assert_eq!(client.login("NOBODY", "secret", 0), Err(b'A'));
    let status = client.login("TW0001", "secret", 0).unwrap();
    assert_eq!(
        (
            status.next_sequence_number,
            status.next_client_sequence_number
        ),
        (1, 1)
    );

    client.send(&[
        bytes(enter("BUY1", b'B', 100, "BOB", 100_000, 99_999)),
        bytes(enter("BAD1", b'B', 100, "NOPE", 100_000, 99_999)),
        bytes(enter("BAD2", b'B', 100, "BOB", 100_100, 99_999)), // off the 0.05 tick
        bytes(enter("BAD3", b'B', 0, "BOB", 100_000, 99_999)),
        bytes(enter("BAD4", b'B', 100, "BOB", 0, 99_999)),
        bytes(enter("BUY1", b'B', 100, "BOB", 100_000, 99_999)), // duplicate token
        bytes(enter("BUY2", b'S', 50, "ALC", 123_400, 99_999)),
    ]);
    let responses = client.receive_n(7, Duration::from_secs(5));
    let OutboundMessage::Accepted(accepted) = responses[0] else {
        panic!("{responses:?}")
    };
    assert_eq!((accepted.shares, accepted.price.raw()), (100, 100_000));
    let reasons: Vec<(String, u8)> = responses[1..6]
        .iter()
        .map(|message| match message {
            OutboundMessage::Rejected(rejected) => (token_text(message), rejected.reason.to_byte()),
            other => panic!("expected a reject, got {other:?}"),
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            ("BAD1".into(), b'S'),
            ("BAD2".into(), b'X'),
            ("BAD3".into(), b'Z'),
            ("BAD4".into(), b'X'),
            ("BUY1".into(), b'O'),
        ]
    );
    assert!(matches!(responses[6], OutboundMessage::Accepted(_)));

    // Replace at a new price (new reference), an unknown replace, cancels.
    client.send(&[
        bytes(replace("BUY1", "BUY1R", 80, 99_500)),
        bytes(replace("GHOST", "GHOSTR", 80, 99_500)),
        bytes(cancel("BUY1R", 30)),
        bytes(cancel("GHOST", 0)),
        bytes(cancel("BUY1R", 0)),
    ]);
    let responses = client.receive_n(4, Duration::from_secs(5));
    let OutboundMessage::Replaced(replaced) = responses[0] else {
        panic!("{responses:?}")
    };
    assert_eq!(token_text(&responses[0]), "BUY1R");
    assert_eq!(
        String::from_utf8_lossy(replaced.previous_token.text()),
        "BUY1"
    );
    assert_ne!(
        replaced.order_reference_number,
        accepted.order_reference_number
    );
    assert!(matches!(responses[1], OutboundMessage::Rejected(r) if r.reason.to_byte() == b'O'));
    assert!(
        matches!(responses[2], OutboundMessage::Canceled(c) if c.decrement_shares == 50 && c.reason.to_byte() == b'U')
    );
    assert!(matches!(responses[3], OutboundMessage::Canceled(c) if c.decrement_shares == 30));

    // The feed shows exactly those book changes.
    let mut state = FeedState::default();
    for datagram in collect(&feed, Duration::from_millis(300)) {
        state.absorb(&datagram);
    }
    let messages = state.itch();
    let types: String = messages
        .iter()
        .map(|m| char::from(m.message_type()))
        .collect();
    assert_eq!(types, "SRRRSSAAUXD");
    let events: Vec<u8> = messages
        .iter()
        .filter_map(|m| match m {
            itch::Message::SystemEvent(event) => Some(event.event_code),
            _ => None,
        })
        .collect();
    assert_eq!(events, b"OSQ");
    let itch::Message::AddOrder(add) = messages[6] else {
        panic!()
    };
    assert_eq!(add.order_reference_number, accepted.order_reference_number);
    assert_eq!(
        (
            add.stock_locate,
            add.shares,
            add.price,
            add.buy_sell_indicator
        ),
        (2, 100, 100_000, b'B')
    );
    let itch::Message::OrderReplace(replaced_itch) = messages[8] else {
        panic!()
    };
    assert_eq!(
        replaced_itch.original_order_reference_number,
        accepted.order_reference_number
    );
    assert_eq!(
        replaced_itch.new_order_reference_number,
        replaced.order_reference_number
    );
    let itch::Message::StockDirectory(directory) = messages[1] else {
        panic!()
    };
    assert_eq!(
        (directory.stock_locate, directory.stock.as_str()),
        (1, "ALC")
    );

    // The venue's record of what it received, and its counters.
    let orders = venue.admin(&json!({"cmd": "orders", "user": "TW0001"}));
    assert_eq!(orders["count"], 12);
    let first = &orders["orders"][0];
    assert_eq!(first["type"], "O");
    assert_eq!(first["token"], "BUY1");
    assert_eq!(first["side"], "B");
    assert_eq!(first["shares"], 100);
    assert_eq!(first["stock"], "BOB");
    assert_eq!(first["price"], 100_000);
    assert_eq!(first["firm"], "TKWR");
    assert_eq!(first["client_sequence"], 1);
    assert_eq!(first["protocol"], "ufo");
    assert!(first["arrival_ns"].as_u64().unwrap() > 0);
    assert_eq!(orders["orders"][7]["type"], "U");
    assert_eq!(orders["orders"][11]["type"], "X");
    let status = venue.admin(&json!({"cmd": "status"}));
    let counters = &status["participants"][0]["counters"];
    assert_eq!(counters["duplicate_token"], 1);
    assert_eq!(counters["unknown_token"], 1);
    assert_eq!(counters["unknown_cancel"], 1);
    assert_eq!(counters["rejected"], 6);
    assert_eq!(status["participants"][0]["logged_in"], true);
    assert_eq!(status["participants"][0]["protocol"], "ufo");
    assert_eq!(status["session"], "TICKWIRE01");
    let open = venue.admin(&json!({"cmd": "open_orders", "user": "TW0001"}));
    assert_eq!(open["orders"].as_array().unwrap().len(), 1);
    assert_eq!(open["orders"][0]["token"], "BUY2");
    assert_books_match(
        &mut venue,
        &{
            let mut book = ItchBook::default();
            messages.iter().for_each(|m| book.apply(m));
            book
        },
        &SYMBOLS,
    );
}

#[test]
fn matching_across_soupbintcp_and_ufo_with_fills_and_positions() {
    let (feed, feed_addr) = feed_socket();
    let mut venue = venue_with(&feed_addr, &[]);
    let mut seller = SoupClient::connect(venue.addr("soupbintcp"));
    assert_eq!(seller.login("TW0002", "other", 1), Ok(1));
    let mut buyer = UfoClient::new(venue.addr("ufo"));
    buyer.login("TW0001", "secret", 0).unwrap();

    // Two resting offers; time priority at the same price.
    seller.send(&bytes(enter("S1", b'S', 100, "BOB", 100_000, 99_999)));
    seller.send(&bytes(enter("S2", b'S', 100, "BOB", 100_000, 99_999)));
    seller.send(&bytes(enter("S3", b'S', 100, "BOB", 100_100, 99_999)));
    let accepted = seller.receive_n(3, Duration::from_secs(5));
    let refs: Vec<u64> = accepted
        .iter()
        .map(|m| match m {
            OutboundMessage::Accepted(a) => a.order_reference_number,
            other => panic!("{other:?}"),
        })
        .collect();

    // An IOC buy for 250 up to 10.00: takes S1 and S2, the rest is canceled.
    buyer.send(&[bytes(enter("B1", b'B', 250, "BOB", 100_000, 0))]);
    let responses = buyer.receive_n(4, Duration::from_secs(5));
    assert!(matches!(responses[0], OutboundMessage::Accepted(_)));
    let OutboundMessage::Executed(first) = responses[1] else {
        panic!("{responses:?}")
    };
    let OutboundMessage::Executed(second) = responses[2] else {
        panic!("{responses:?}")
    };
    assert_eq!(
        (
            first.executed_shares,
            first.execution_price.raw(),
            first.liquidity_flag.to_byte()
        ),
        (100, 100_000, b'R')
    );
    assert_eq!(second.match_number, first.match_number + 1);
    assert!(
        matches!(responses[3], OutboundMessage::Canceled(c) if c.decrement_shares == 50 && c.reason.to_byte() == b'I')
    );
    let fills = seller.receive_n(2, Duration::from_secs(5));
    let tokens: Vec<String> = fills.iter().map(token_text).collect();
    assert_eq!(tokens, ["S1", "S2"]);
    assert!(
        matches!(fills[0], OutboundMessage::Executed(e) if e.liquidity_flag.to_byte() == b'A' && e.match_number == first.match_number)
    );

    // A resting buy through the remaining offer: executes at the resting price 10.01.
    buyer.send(&[bytes(enter("B2", b'B', 150, "BOB", 100_500, 99_999))]);
    let responses = buyer.receive_n(2, Duration::from_secs(5));
    assert!(
        matches!(responses[1], OutboundMessage::Executed(e) if e.execution_price.raw() == 100_100 && e.executed_shares == 100)
    );
    seller.receive_n(1, Duration::from_secs(5));

    // The feed: E against each resting displayed order, then the remainder's A.
    let mut state = FeedState::default();
    for datagram in collect(&feed, Duration::from_millis(300)) {
        state.absorb(&datagram);
    }
    let messages = state.itch();
    let executed: Vec<(u64, u32)> = messages
        .iter()
        .filter_map(|m| match m {
            itch::Message::OrderExecuted(e) => Some((e.order_reference_number, e.executed_shares)),
            _ => None,
        })
        .collect();
    assert_eq!(
        executed,
        vec![(refs[0], 100), (refs[1], 100), (refs[2], 100)]
    );
    let itch::Message::AddOrder(last) = messages.last().unwrap() else {
        panic!()
    };
    assert_eq!((last.shares, last.price), (50, 100_500));
    let mut book = ItchBook::default();
    messages.iter().for_each(|m| book.apply(m));
    assert_books_match(&mut venue, &book, &SYMBOLS);

    let fills = venue.admin(&json!({"cmd": "fills", "user": "TW0002"}));
    assert_eq!(fills["fills"].as_array().unwrap().len(), 3);
    assert_eq!(fills["fills"][2]["price"], 100_100);
    let position = venue.admin(&json!({"cmd": "position", "user": "TW0001"}));
    assert_eq!(position["positions"]["BOB"]["position"], 300);
    let position = venue.admin(&json!({"cmd": "position", "user": "TW0002"}));
    assert_eq!(position["positions"]["BOB"]["position"], -300);
    assert_eq!(position["positions"]["BOB"]["realized_pnl"], "0.0000");
    // The SoupBinTCP session's messages were recorded without a client sequence.
    let orders = venue.admin(&json!({"cmd": "orders", "user": "TW0002"}));
    assert_eq!(orders["count"], 3);
    assert_eq!(orders["orders"][0]["protocol"], "soupbintcp");
    assert_eq!(orders["orders"][0]["client_sequence"], Value::Null);

    // A second SoupBinTCP login for a user already connected is refused.
    let mut again = SoupClient::connect(venue.addr("soupbintcp"));
    assert_eq!(again.login("TW0002", "other", 0), Err(b'S'));
}

#[test]
fn replace_priority_rules() {
    let (feed, feed_addr) = feed_socket();
    let mut venue = venue_with(&feed_addr, &[]);
    let mut maker = UfoClient::new(venue.addr("ufo"));
    maker.login("TW0001", "secret", 0).unwrap();
    let mut taker = UfoClient::new(venue.addr("ufo"));
    taker.login("TW0002", "other", 0).unwrap();
    maker.send(&[
        bytes(enter("A", b'B', 100, "CHAR", 50_000, 99_999)),
        bytes(enter("B", b'B', 100, "CHAR", 50_000, 99_999)),
    ]);
    maker.receive_n(2, Duration::from_secs(5));
    // A shrinks at the same price: keeps priority (same reference, ITCH X).
    maker.send(&[bytes(replace("A", "A2", 60, 50_000))]);
    let replaced = maker.receive_n(1, Duration::from_secs(5));
    taker.send(&[bytes(enter("T1", b'S', 10, "CHAR", 50_000, 0))]);
    let fills = maker.receive_n(1, Duration::from_secs(5));
    assert_eq!(token_text(&fills[0]), "A2", "A2 kept A's place");
    // A2 grows: loses priority behind B.
    maker.send(&[bytes(replace("A2", "A3", 200, 50_000))]);
    maker.receive_n(1, Duration::from_secs(5));
    taker.send(&[bytes(enter("T2", b'S', 110, "CHAR", 50_000, 0))]);
    let fills = maker.receive_n(2, Duration::from_secs(5));
    let tokens: Vec<String> = fills.iter().map(token_text).collect();
    assert_eq!(tokens, ["B", "A3"]);
    taker.receive(Duration::from_millis(200));
    let mut state = FeedState::default();
    for datagram in collect(&feed, Duration::from_millis(300)) {
        state.absorb(&datagram);
    }
    let types: String = state
        .itch()
        .iter()
        .map(|m| char::from(m.message_type()))
        .collect();
    assert_eq!(types, "SRRRSSAAXEUEE");
    let OutboundMessage::Replaced(kept) = replaced[0] else {
        panic!()
    };
    let itch::Message::OrderCancel(x) = state.itch()[8] else {
        panic!()
    };
    assert_eq!(x.order_reference_number, kept.order_reference_number);
    let mut book = ItchBook::default();
    state.itch().iter().for_each(|m| book.apply(m));
    assert_books_match(&mut venue, &book, &SYMBOLS);
}

#[test]
fn ufo_client_data_exactly_once_and_retransmission() {
    let (_feed, feed_addr) = feed_socket();
    let venue = venue_with(&feed_addr, &[]);
    let mut client = UfoClient::new(venue.addr("ufo"));
    client.login("TW0001", "secret", 0).unwrap();
    let order = |name: &str| bytes(enter(name, b'B', 1, "ALC", 10_000, 99_999));
    // Message 2 before message 1: a gap; dropped, and an H states 1.
    client.send_numbered(2, &[order("G2")]);
    let got = client.receive(Duration::from_millis(300));
    assert!(got.is_empty());
    assert_eq!(
        client.last_heartbeat.unwrap().next_client_sequence_number,
        1
    );
    // 1 and 2, then 1 and 2 again (a retransmission): processed once.
    client.send_numbered(1, &[order("G1"), order("G2")]);
    client.send_numbered(1, &[order("G1"), order("G2")]);
    let got = client.receive_n(2, Duration::from_secs(5));
    assert_eq!(got.iter().map(token_text).collect::<Vec<_>>(), ["G1", "G2"]);
    assert!(
        client.receive(Duration::from_millis(200)).is_empty(),
        "duplicates were ignored"
    );
    // Q resends with the original numbers.
    client.request_retransmission(1, 2);
    let again = client.receive(Duration::from_millis(300));
    assert_eq!(
        again
            .iter()
            .map(|(sequence, _)| *sequence)
            .collect::<Vec<_>>(),
        [1, 2]
    );
    // A re-login from a new address resumes: next client sequence 3, replay from 2.
    let mut moved = UfoClient::new(venue.addr("ufo"));
    let status = moved.login("TW0001", "secret", 2).unwrap();
    assert_eq!(status.next_client_sequence_number, 3);
    assert_eq!(status.next_sequence_number, 2);
    let replayed = moved.receive(Duration::from_millis(300));
    assert_eq!(replayed.len(), 1);
    assert_eq!(token_text(&replayed[0].1), "G2");
}

#[test]
fn cancel_on_disconnect_and_heartbeats() {
    let (feed, feed_addr) = feed_socket();
    let mut venue = venue_with(
        &feed_addr,
        &["--heartbeat-ms", "100", "--client-timeout-ms", "1500"],
    );
    let mut client = UfoClient::new(venue.addr("ufo"));
    client.login("TW0001", "secret", 0).unwrap();
    client.send(&[bytes(enter("KEEP", b'S', 100, "BOB", 110_000, 99_999))]);
    client.receive_n(1, Duration::from_secs(5));
    // Heartbeats flow while the client keeps the session alive.
    for _ in 0..4 {
        client.heartbeat();
        client.receive(Duration::from_millis(100));
    }
    assert!(
        client.heartbeats >= 2,
        "server heartbeats: {}",
        client.heartbeats
    );
    let status = venue.admin(&json!({"cmd": "status"}));
    assert_eq!(status["participants"][0]["logged_in"], true);
    // Silence: the session is lost and the order deleted from the book.
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        std::thread::sleep(Duration::from_millis(100));
        let status = venue.admin(&json!({"cmd": "status"}));
        if status["participants"][0]["logged_in"] == false {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the silent session was never lost"
        );
    };
    assert_eq!(status["counters"]["engine"]["disconnect_cancels"], 1);
    let book = venue.admin(&json!({"cmd": "book", "symbol": "BOB"}));
    assert_eq!(book["asks"], json!([]));
    let mut state = FeedState::default();
    for datagram in collect(&feed, Duration::from_millis(200)) {
        state.absorb(&datagram);
    }
    let types: String = state
        .itch()
        .iter()
        .map(|m| char::from(m.message_type()))
        .collect();
    assert!(types.ends_with("AD"), "{types}");
    // Coming back from message 2 on: the Canceled is waiting.
    let status = client.login("TW0001", "secret", 2).unwrap();
    assert_eq!(status.next_sequence_number, 2);
    let got = client.receive_n(1, Duration::from_secs(5));
    assert!(matches!(got[0], OutboundMessage::Canceled(c) if c.decrement_shares == 100));
    assert_eq!(token_text(&got[0]), "KEEP");

    // SoupBinTCP: closing the connection loses the session at once.
    let mut soup = SoupClient::connect(venue.addr("soupbintcp"));
    soup.login("TW0002", "other", 0).unwrap();
    soup.send(&bytes(enter("TCP1", b'B', 100, "BOB", 90_000, 99_999)));
    soup.receive_n(1, Duration::from_secs(5));
    drop(soup);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let book = venue.admin(&json!({"cmd": "book", "symbol": "BOB"}));
        if book["bids"] == json!([]) {
            break;
        }
        assert!(Instant::now() < deadline, "TCP disconnect did not cancel");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut soup = SoupClient::connect(venue.addr("soupbintcp"));
    assert_eq!(soup.login("TW0002", "other", 1), Ok(1));
    let replayed = soup.receive_n(2, Duration::from_secs(5));
    assert!(matches!(replayed[0], OutboundMessage::Accepted(_)));
    assert!(matches!(replayed[1], OutboundMessage::Canceled(c) if c.reason.to_byte() == b'Z'));
}

#[test]
fn silent_venue_and_end_of_session() {
    let (feed, feed_addr) = feed_socket();
    let mut venue = venue_with(
        &feed_addr,
        &["--heartbeat-ms", "50", "--client-timeout-ms", "60000"],
    );
    let mut client = UfoClient::new(venue.addr("ufo"));
    client.login("TW0001", "secret", 0).unwrap();
    assert_eq!(
        venue.admin(&json!({"cmd": "heartbeats", "enabled": false}))["ok"],
        true
    );
    client.receive(Duration::from_millis(100));
    let before = client.heartbeats;
    client.send(&[bytes(enter("Q1", b'B', 10, "ALC", 10_000, 99_999))]);
    assert!(
        client.receive(Duration::from_millis(400)).is_empty(),
        "silent venue sent data"
    );
    assert_eq!(client.heartbeats, before, "silent venue sent heartbeats");
    venue.admin(&json!({"cmd": "heartbeats", "enabled": true}));
    let got = client.receive_n(1, Duration::from_secs(5));
    assert!(
        matches!(got[0], OutboundMessage::Accepted(_)),
        "queued message sent on resume"
    );
    client.receive(Duration::from_millis(200));
    assert!(client.heartbeats > before);

    let answer = venue.admin(&json!({"cmd": "end_session"}));
    assert_eq!(answer["ok"], true);
    client.receive(Duration::from_millis(300));
    assert!(client.ended, "UFO End of Session");
    let mut state = FeedState::default();
    for datagram in collect(&feed, Duration::from_millis(300)) {
        state.absorb(&datagram);
    }
    assert!(state.end_of_session, "MoldUDP64 end of session");
    assert_eq!(client.login("TW0001", "secret", 0), Err(b'S'));
    assert_eq!(
        venue.admin(&json!({"cmd": "status"}))["session_ended"],
        true
    );
    assert_eq!(venue.admin(&json!({"cmd": "shutdown"}))["ok"], true);
    venue.wait_exit(Duration::from_secs(10));
}

#[test]
fn faults_retransmission_malformed_and_book_consistency() {
    let (feed, feed_addr) = feed_socket();
    let mut venue = venue_with(
        &feed_addr,
        &[
            "--flow",
            "synthetic",
            "--rate",
            "3000",
            "--seed",
            "7",
            "--max-messages-per-packet",
            "4",
        ],
    );
    // A participant quote that the aggressive flow will hit.
    let mut client = UfoClient::new(venue.addr("ufo"));
    client.login("TW0001", "secret", 0).unwrap();
    client.send(&[
        bytes(enter("MMB", b'B', 500, "BOB", 999_900, 99_999)),
        bytes(enter("MMS", b'S', 500, "BOB", 1_000_100, 99_999)),
    ]);
    let mut state = FeedState::default();
    let fault = venue.admin(
        &json!({"cmd": "fault", "drop": 0.1, "duplicate": 0.1, "reorder": 0.1, "delay_us": 0}),
    );
    assert_eq!(fault["faults"]["drop"], 0.1);
    for datagram in collect(&feed, Duration::from_millis(1500)) {
        state.absorb(&datagram);
    }
    assert_eq!(
        venue.admin(&json!({"cmd": "malformed", "count": 40}))["sent"],
        40
    );
    venue.admin(
        &json!({"cmd": "fault", "drop": 0.0, "duplicate": 0.0, "reorder": 0.0, "delay_us": 2000}),
    );
    for datagram in collect(&feed, Duration::from_millis(300)) {
        state.absorb(&datagram);
    }
    venue.admin(&json!({"cmd": "flow", "rate": 0}));
    venue.admin(
        &json!({"cmd": "fault", "drop": 0.0, "duplicate": 0.0, "reorder": 0.0, "delay_us": 0}),
    );
    for datagram in collect(&feed, Duration::from_millis(300)) {
        state.absorb(&datagram);
    }
    let status = venue.admin(&json!({"cmd": "status"}));
    let counters = &status["counters"]["feed"];
    assert!(counters["dropped"].as_u64().unwrap() > 5, "{counters}");
    assert!(counters["duplicated"].as_u64().unwrap() > 5, "{counters}");
    assert!(counters["reordered"].as_u64().unwrap() > 5, "{counters}");
    assert!(counters["delayed"].as_u64().unwrap() > 0, "{counters}");
    assert!(
        state.duplicate_messages > 0,
        "duplicates seen by the consumer"
    );
    assert!(
        state
            .data_packets
            .windows(2)
            .any(|pair| pair[1].0 < pair[0].0),
        "a packet arrived out of order"
    );
    assert!(
        state.invalid >= 20,
        "malformed datagrams seen: {}",
        state.invalid
    );
    assert!(
        state.wrong_session >= 10,
        "wrong-session packets: {}",
        state.wrong_session
    );
    assert!(!state.missing().is_empty(), "dropped packets left gaps");
    assert!(state.next_sequence() <= status["next_sequence"].as_u64().unwrap());

    let next = venue.admin(&json!({"cmd": "status"}))["next_sequence"]
        .as_u64()
        .unwrap();
    state.recover(venue.addr("retransmit"), next);
    let status = venue.admin(&json!({"cmd": "status"}));
    assert!(status["retransmit_requests"].as_u64().unwrap() > 0);
    let mut book = ItchBook::default();
    state.itch().iter().for_each(|m| book.apply(m));
    assert_books_match(&mut venue, &book, &SYMBOLS);
    let fills = venue.admin(&json!({"cmd": "fills", "user": "TW0001"}));
    assert!(
        !fills["fills"].as_array().unwrap().is_empty(),
        "the aggressive flow filled the quotes"
    );

    // A request from before the session's start, or of another session, is refused.
    let requester = UdpSocket::bind("127.0.0.1:0").unwrap();
    let request = moldudp64::Request {
        session: moldudp64::Session::new("OTHERSESS").unwrap(),
        sequence_number: 1,
        message_count: 5,
    };
    let mut raw = [0u8; 20];
    request.encode(&mut raw).unwrap();
    requester.send_to(&raw, venue.addr("retransmit")).unwrap();
    requester
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 2048];
    assert!(
        requester.recv_from(&mut buf).is_err(),
        "wrong session answered"
    );
}

#[test]
fn replay_of_the_itch_sample() {
    let (feed, feed_addr) = feed_socket();
    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/itch/ex20101224.TEST_ITCH_50.gz"
    );
    let mut venue = venue_with(
        &feed_addr,
        &[
            "--flow",
            "replay",
            "--replay-file",
            sample,
            "--replay-rate",
            "20000",
        ],
    );
    let mut state = FeedState::default();
    for datagram in collect(&feed, Duration::from_millis(1500)) {
        state.absorb(&datagram);
    }
    venue.admin(&json!({"cmd": "flow", "rate": 0}));
    for datagram in collect(&feed, Duration::from_millis(300)) {
        state.absorb(&datagram);
    }
    let next = venue.admin(&json!({"cmd": "status"}))["next_sequence"]
        .as_u64()
        .unwrap();
    state.recover(venue.addr("retransmit"), next);
    let status = venue.admin(&json!({"cmd": "status"}));
    let flow = &status["flow"];
    assert_eq!(flow["kind"], "replay");
    assert!(flow["applied"].as_u64().unwrap() > 5_000, "{flow}");
    assert!(
        flow["skipped"].as_u64().unwrap() > 0,
        "orphan references skipped: {flow}"
    );
    let mut book = ItchBook::default();
    let messages = state.itch();
    messages.iter().for_each(|m| book.apply(m));
    assert!(
        messages
            .iter()
            .any(|m| matches!(m, itch::Message::OrderReplace(_)))
    );
    assert!(
        messages
            .iter()
            .any(|m| matches!(m, itch::Message::OrderExecuted(_)))
    );
    assert_books_match(&mut venue, &book, &SYMBOLS);
    // The venue's book is never crossed.
    for symbol in SYMBOLS {
        let levels = venue.admin(&json!({"cmd": "book", "symbol": symbol}));
        if let (Some(bid), Some(ask)) =
            (levels["bids"][0][0].as_u64(), levels["asks"][0][0].as_u64())
        {
            assert!(bid < ask, "{symbol} crossed");
        }
    }
}

#[test]
fn synthetic_flow_is_deterministic_with_a_seed() {
    let run = |seed: &str| {
        let (feed, feed_addr) = feed_socket();
        let mut venue = venue_with(
            &feed_addr,
            &["--flow", "synthetic", "--rate", "5000", "--seed", seed],
        );
        let mut state = FeedState::default();
        let deadline = Instant::now() + Duration::from_secs(10);
        while state.next_sequence() < 2_000 && Instant::now() < deadline {
            for datagram in collect(&feed, Duration::from_millis(100)) {
                state.absorb(&datagram);
            }
        }
        venue.admin(&json!({"cmd": "flow", "rate": 0}));
        let next = venue.admin(&json!({"cmd": "status"}))["next_sequence"]
            .as_u64()
            .unwrap();
        state.recover(venue.addr("retransmit"), next);
        // Messages without their timestamps (bytes 5..11).
        state
            .messages
            .values()
            .take(2_000)
            .map(|message| {
                let mut message = message.clone();
                message[5..11].fill(0);
                message
            })
            .collect::<Vec<_>>()
    };
    let first = run("11");
    let second = run("11");
    let other = run("12");
    assert_eq!(first.len(), 2_000);
    assert_eq!(first, second);
    assert_ne!(first, other);
}

#[test]
fn latency_capture_correlates_trigger_sequences() {
    let (feed, feed_addr) = feed_socket();
    let report =
        std::env::temp_dir().join(format!("tickwire-venue-report-{}.json", std::process::id()));
    let report_path = report.to_str().unwrap().to_owned();
    let mut venue = venue_with(
        &feed_addr,
        &[
            "--flow",
            "synthetic",
            "--rate",
            "500",
            "--report",
            &report_path,
        ],
    );
    let mut client = UfoClient::new(venue.addr("ufo"));
    client.login("TW0001", "secret", 0).unwrap();
    let mut answered = 0u64;
    let deadline = Instant::now() + Duration::from_millis(1500);
    let mut buf = [0u8; 2048];
    while Instant::now() < deadline {
        let Ok((len, _)) = feed.recv_from(&mut buf) else {
            continue;
        };
        let Ok(packet) = moldudp64::decode(&buf[..len]) else {
            continue;
        };
        if packet.is_empty() {
            continue;
        }
        answered += 1;
        let trigger = packet.next_sequence() - 1;
        let order_token = token::encode(trigger, answered);
        let text = std::str::from_utf8(&order_token).unwrap().to_owned();
        client.send(&[bytes(enter(&text, b'B', 1, "ALC", 10_000, 0))]);
    }
    assert!(answered > 100, "answered {answered} packets");
    let live = venue.admin(&json!({"cmd": "latency"}));
    assert!(live["samples"].as_u64().unwrap() > 0, "{live}");
    venue.terminate();
    let lines = venue.wait_exit(Duration::from_secs(10));
    assert!(
        lines.iter().any(|line| line.contains("p99.9=")),
        "{lines:?}"
    );
    let text = std::fs::read_to_string(&report).unwrap();
    let _ = std::fs::remove_file(&report);
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["orders_received"].as_u64().unwrap(), answered);
    assert_eq!(
        report["samples"].as_u64().unwrap(),
        answered,
        "every trigger matched: {report}"
    );
    for key in [
        "p50_ns",
        "p90_ns",
        "p99_ns",
        "p999_ns",
        "max_ns",
        "min_ns",
        "mean_ns",
        "feed_packets",
        "retransmit_requests",
    ] {
        assert!(report[key].is_u64(), "{key} in {report}");
    }
    let p50 = report["p50_ns"].as_u64().unwrap();
    assert!(p50 > 0 && p50 <= report["max_ns"].as_u64().unwrap());
    assert!(report["min_ns"].as_u64().unwrap() <= p50);
}

#[test]
fn binance_datagrams_and_snapshot() {
    let (socket, dest) = feed_socket();
    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/binance/btcusdt_20240808.gz"
    );
    let venue = Venue::start(&[
        "--binance",
        sample,
        "--binance-dest",
        &dest,
        "--binance-rate",
        "20000",
        "--binance-snapshot",
        "0",
    ]);
    let datagrams = collect(&socket, Duration::from_millis(1000));
    assert!(datagrams.len() > 1_000, "{}", datagrams.len());
    let first: Value = serde_json::from_slice(&datagrams[0]).unwrap();
    assert_eq!(first["stream"], "btcusdt@depth@100ms");
    assert_eq!(first["data"]["U"], 50_093_239_189_u64);
    assert!(
        datagrams
            .iter()
            .all(|d| d.starts_with(b"{\"stream\":\"btcusdt@"))
    );
    assert!(
        !datagrams
            .iter()
            .any(|d| d.starts_with(b"{\"lastUpdateId\""))
    );

    let get = |target: &str| {
        let mut stream = TcpStream::connect(venue.addr("binance_snapshot")).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        write!(stream, "GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    };
    let response = get("/api/v3/depth?symbol=BTCUSDT&limit=1000");
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    let body = response.split("\r\n\r\n").nth(1).unwrap();
    let snapshot: Value = serde_json::from_str(body).unwrap();
    assert_eq!(snapshot["lastUpdateId"], 50_093_239_218_u64);
    assert!(get("/api/v3/depth?symbol=ETHUSDT").starts_with("HTTP/1.1 400"));
    assert!(get("/nope").starts_with("HTTP/1.1 404"));
}

/// Relay framing: every message of the sample, the snapshot included at its place in the
/// file, arrives numbered and fragmented into datagrams that fit an Ethernet frame.
#[test]
fn binance_relay_fragments_every_message_and_the_snapshot_in_band() {
    use tickwire_protocol::binance::relay::{HEADER_LEN, Reassembler};
    let (socket, dest) = feed_socket();
    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/binance/btcusdt_20240808.gz"
    );
    // A slow pace: no burst large enough to overflow the loopback socket's buffer.
    let venue = Venue::start(&[
        "--binance",
        sample,
        "--binance-dest",
        &dest,
        "--binance-rate",
        "400",
        "--binance-relay",
        "1400",
    ]);
    let datagrams = collect(&socket, Duration::from_millis(700));
    drop(venue);
    assert!(datagrams.len() > 100, "{}", datagrams.len());
    assert!(datagrams.iter().all(|d| d.len() <= HEADER_LEN + 1400));
    let mut reassembler = Reassembler::new(1 << 20);
    let mut messages: Vec<Vec<u8>> = Vec::new();
    for datagram in &datagrams {
        if let Some(message) = reassembler.push(datagram).unwrap() {
            messages.push(message.to_vec());
        }
    }
    assert_eq!(reassembler.counters().messages_lost, 0);
    assert!(
        datagrams.len() > messages.len(),
        "large messages are fragmented"
    );
    let first: Value = serde_json::from_slice(&messages[0]).unwrap();
    assert_eq!(first["data"]["U"], 50_093_239_189_u64);
    let snapshot = messages
        .iter()
        .position(|m| m.starts_with(b"{\"lastUpdateId\""))
        .expect("the snapshot is relayed in band");
    let body: Value = serde_json::from_slice(&messages[snapshot]).unwrap();
    assert_eq!(body["lastUpdateId"], 50_093_239_218_u64);
    assert_eq!(
        messages
            .iter()
            .filter(|m| m.starts_with(b"{\"lastUpdateId\""))
            .count(),
        1
    );
    assert_eq!(snapshot, SNAPSHOT_INDEX);
}

/// Stream messages before the snapshot line in the btcusdt sample.
const SNAPSHOT_INDEX: usize = 7;

#[test]
fn admin_errors_and_sigterm_shutdown() {
    let (feed, feed_addr) = feed_socket();
    let mut venue = venue_with(&feed_addr, &["--feed-heartbeat-ms", "100"]);
    let mut state = FeedState::default();
    for datagram in collect(&feed, Duration::from_millis(500)) {
        state.absorb(&datagram);
    }
    assert!(
        state.heartbeats >= 2,
        "feed heartbeats: {}",
        state.heartbeats
    );
    assert_eq!(state.next_sequence(), 7);
    assert_eq!(venue.admin(&json!({"cmd": "nope"}))["ok"], false);
    assert_eq!(
        venue.admin(&json!({"cmd": "orders", "user": "NOBODY"}))["ok"],
        false
    );
    assert_eq!(
        venue.admin(&json!({"cmd": "book", "symbol": "ZZZ"}))["ok"],
        false
    );
    assert_eq!(venue.admin(&json!({"cmd": "orders"}))["ok"], false);
    let status = venue.admin(&json!({"cmd": "status"}));
    assert_eq!(status["next_sequence"], 7, "O, 3 x R, S, Q");
    assert_eq!(status["participants"].as_array().unwrap().len(), 2);
    let mut soup = SoupClient::connect(venue.addr("soupbintcp"));
    soup.login("TW0001", "secret", 0).unwrap();
    venue.terminate();
    let (_, _) = soup.receive(Duration::from_millis(1000));
    assert!(soup.ended, "SoupBinTCP End of Session on SIGTERM");
    let lines = venue.wait_exit(Duration::from_secs(10));
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("venue: wire-to-wire latency")),
        "{lines:?}"
    );
    for datagram in collect(&feed, Duration::from_millis(200)) {
        state.absorb(&datagram);
    }
    assert!(state.end_of_session);
}

#[test]
fn retransmission_beyond_the_store_limit_is_refused() {
    let (_feed, feed_addr) = feed_socket();
    let mut venue = venue_with(
        &feed_addr,
        &[
            "--flow",
            "synthetic",
            "--rate",
            "50000",
            "--store-limit-mb",
            "1",
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = venue.admin(&json!({"cmd": "status"}));
        if status["counters"]["store"]["evicted_chunks"]
            .as_u64()
            .unwrap()
            > 0
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the store never reached its limit: {status}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    venue.admin(&json!({"cmd": "flow", "rate": 0}));
    let requester = UdpSocket::bind("127.0.0.1:0").unwrap();
    requester
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut raw = [0u8; 20];
    let request = |sequence_number| moldudp64::Request {
        session: moldudp64::Session::new(support::SESSION).unwrap(),
        sequence_number,
        message_count: 1,
    };
    request(1).encode(&mut raw).unwrap();
    requester.send_to(&raw, venue.addr("retransmit")).unwrap();
    let mut buf = [0u8; 2048];
    assert!(
        requester.recv_from(&mut buf).is_err(),
        "a dropped message was answered"
    );
    let status = venue.admin(&json!({"cmd": "status"}));
    assert!(
        status["counters"]["feed"]["retransmit_refused"]
            .as_u64()
            .unwrap()
            >= 1
    );
    // What the store still holds is served.
    let kept = status["counters"]["store"]["first_sequence"]
        .as_u64()
        .unwrap();
    request(kept).encode(&mut raw).unwrap();
    requester.send_to(&raw, venue.addr("retransmit")).unwrap();
    let (len, _) = requester
        .recv_from(&mut buf)
        .expect("answer from the store");
    let packet = moldudp64::decode(&buf[..len]).unwrap();
    assert_eq!(
        (packet.sequence_number(), packet.message_count()),
        (kept, 1)
    );
}

#[test]
fn ufo_client_data_is_acknowledged_while_data_flows() {
    let (_feed, feed_addr) = feed_socket();
    // Heartbeats far apart: only the acknowledgement rule can produce an H quickly.
    let venue = venue_with(&feed_addr, &["--heartbeat-ms", "60000"]);
    let mut client = UfoClient::new(venue.addr("ufo"));
    client.login("TW0001", "secret", 0).unwrap();
    client.send(&[
        bytes(enter("K1", b'B', 1, "ALC", 10_000, 99_999)),
        bytes(enter("K2", b'B', 1, "ALC", 10_000, 99_999)),
    ]);
    let got = client.receive(Duration::from_millis(300));
    assert_eq!(got.len(), 2);
    let ack = client.last_heartbeat.expect("an acknowledgement arrived");
    assert_eq!(ack.next_client_sequence_number, 3);
    assert_eq!(ack.next_sequence_number, 3);
    // Nothing new to acknowledge: no further heartbeats.
    let before = client.heartbeats;
    client.receive(Duration::from_millis(300));
    assert_eq!(client.heartbeats, before);
}

/// `--flow ticks --feed-echo`: the test reflects every feed packet back to its source; the
/// venue paces ticks one per packet, and every reflected data packet becomes a latency sample.
#[test]
fn ticks_flow_paces_single_tick_packets_and_feed_echo_is_measured() {
    let (feed, feed_addr) = feed_socket();
    let mut venue = venue_with(
        &feed_addr,
        &[
            "--flow",
            "ticks",
            "--rate",
            "2000",
            "--symbols",
            "ALC,BOB",
            "--feed-echo",
        ],
    );
    let mut echoed = 0u64;
    let mut ticks_seen = 0u64;
    let mut buf = [0u8; 2048];
    let deadline = Instant::now() + Duration::from_millis(1000);
    while Instant::now() < deadline {
        let Ok((len, from)) = feed.recv_from(&mut buf) else {
            continue;
        };
        feed.send_to(&buf[..len], from).unwrap();
        let packet = moldudp64::decode(&buf[..len]).unwrap();
        if packet.is_empty() {
            continue;
        }
        echoed += 1;
        let messages: Vec<itch::Message> = packet
            .messages()
            .map(|message| itch::decode(message).unwrap())
            .collect();
        // A tick is a delete of the large order and an add on the other side, in one packet.
        if let [itch::Message::OrderDelete(_), itch::Message::AddOrder(add)] = messages.as_slice() {
            assert_eq!(add.shares, 900_000);
            ticks_seen += 1;
        }
    }
    let live = venue.admin(&json!({"cmd": "latency"}));
    venue.terminate();
    venue.wait_exit(Duration::from_secs(10));
    // 2,000 ticks/s for ~1 s, less start-up (and a loaded machine); one packet per tick.
    assert!(ticks_seen > 500, "ticks {ticks_seen}: {live}");
    let sent = live["ticks_sent"].as_u64().unwrap();
    assert!(sent >= ticks_seen && sent <= ticks_seen + 200, "{live}");
    let echoes = live["echoes"].as_u64().unwrap();
    assert!(
        echoes + 50 >= echoed && echoes <= echoed,
        "{echoes} of {echoed}: {live}"
    );
    assert_eq!(live["orders_received"].as_u64().unwrap(), 0);
    assert!(live["samples"].as_u64().unwrap() + 50 >= echoed, "{live}");
    assert!(live["p50_ns"].as_u64().unwrap() > 0);
    assert_eq!(live["flow_behind_skipped"].as_u64().unwrap(), 0, "{live}");
}
