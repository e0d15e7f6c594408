//! A minimal participant for measuring the venue's wire-to-wire capture: it logs in over
//! UFO, reads the ITCH/MoldUDP64 feed, and answers every data packet with one OUCH Enter
//! Order whose token carries the packet's last sequence number (`tickwire_common::token`).
//! The order is an IOC buy of 1 share at $0.01, so it never trades or rests.
//!
//! ```text
//! cargo run --release -p tickwire-venue --example echo_client -- \
//!     FEED_LISTEN_ADDR UFO_SERVER_ADDR USER PASSWORD SECONDS
//! ```
//!
//! Blocking reads on kernel UDP sockets; OUCH responses are drained and ignored.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "example tool: a panic is the error report"
)]

use std::{
    net::{SocketAddr, UdpSocket},
    time::{Duration, Instant},
};

use tickwire_common::token;
use tickwire_protocol::{
    moldudp64,
    ouch::{
        Capacity, CrossType, CustomerType, Display, EnterOrder, Firm, IntermarketSweep, Price4,
        Side, Stock, TimeInForce, Token,
    },
    ufo,
};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, feed, server, user, password, seconds] = args.as_slice() else {
        eprintln!("usage: echo_client FEED_LISTEN_ADDR UFO_SERVER_ADDR USER PASSWORD SECONDS");
        std::process::exit(2);
    };
    let server: SocketAddr = server.parse().expect("UFO server address");
    let duration = Duration::from_secs_f64(seconds.parse().expect("seconds"));
    let feed = UdpSocket::bind(feed).expect("bind the feed address");
    feed.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let order_entry = UdpSocket::bind("0.0.0.0:0").unwrap();
    order_entry
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();

    // Login.
    let login = ufo::Packet::LoginRequest(ufo::LoginRequest {
        requested_session: ufo::Session::BLANK,
        requested_sequence_number: 0,
        username: ufo::Username::from_text(user.as_bytes()).unwrap(),
        password: ufo::Password::from_text(password.as_bytes()).unwrap(),
    });
    let mut buf = [0u8; 2048];
    let len = login.encode(&mut buf).unwrap();
    let mut next_client = loop {
        order_entry.send_to(&buf[..len], server).unwrap();
        let mut answer = [0u8; 2048];
        if let Ok((got, _)) = order_entry.recv_from(&mut answer) {
            match ufo::Packet::decode_from_server(&answer[..got]) {
                Ok(ufo::Packet::LoginAccepted(status)) => break status.next_client_sequence_number,
                Ok(ufo::Packet::LoginRejected(rejected)) => panic!("login rejected: {rejected:?}"),
                _ => {}
            }
        }
    };
    order_entry.set_nonblocking(true).unwrap();

    let mut order = EnterOrder {
        token: Token::BLANK,
        side: Side::BUY,
        shares: 1,
        stock: Stock::from_symbol(b"BOB").unwrap(),
        price: Price4::from_raw(100),
        time_in_force: TimeInForce::IOC,
        firm: Firm::DEFAULT,
        display: Display::ANONYMOUS,
        capacity: Capacity::AGENCY,
        intermarket_sweep: IntermarketSweep::NOT_ELIGIBLE,
        minimum_quantity: 0,
        cross_type: CrossType::NO_CROSS,
        customer_type: CustomerType::PORT_DEFAULT,
    };
    let mut packet = [0u8; 1500];
    let mut sink = [0u8; 4096];
    let mut answered: u64 = 0;
    let mut last_heartbeat = Instant::now();
    let end = Instant::now() + duration;
    while Instant::now() < end {
        if let Ok((len, _)) = feed.recv_from(&mut packet)
            && let Ok(data) = moldudp64::decode(&packet[..len])
            && !data.is_empty()
        {
            answered += 1;
            order.token = Token::from_bytes(token::encode(data.next_sequence() - 1, answered));
            let mut writer = ufo::DataPacketWriter::new(
                &mut buf,
                ufo::DataKind::Client,
                &ufo::Session::BLANK,
                next_client,
            )
            .unwrap();
            order.encode_array(writer.reserve(EnterOrder::LEN).unwrap().try_into().unwrap());
            let len = writer.finish().unwrap();
            order_entry.send_to(&buf[..len], server).unwrap();
            next_client += 1;
        }
        // Drain the venue's answers; keep the session alive.
        while order_entry.recv_from(&mut sink).is_ok() {}
        if last_heartbeat.elapsed() > Duration::from_millis(500) {
            let heartbeat = ufo::Packet::ClientHeartbeat(ufo::Position {
                session: ufo::Session::BLANK,
                next_sequence_number: 1,
            });
            let len = heartbeat.encode(&mut buf).unwrap();
            order_entry.send_to(&buf[..len], server).unwrap();
            last_heartbeat = Instant::now();
        }
    }
    println!("echo_client: answered {answered} feed packets");
}
