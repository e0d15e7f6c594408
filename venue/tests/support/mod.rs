//! Test harness: the venue as a child process, an admin client, a feed consumer that keeps
//! its own ITCH book, and UFO and SoupBinTCP order-entry clients built on the protocol crate.
//! Every wait is bounded; the child is killed when the guard drops.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]

use std::{
    collections::{BTreeMap, HashMap},
    io::{BufRead as _, BufReader, Read as _, Write as _},
    net::{SocketAddr, TcpStream, UdpSocket},
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use tickwire_protocol::{
    itch, moldudp64,
    ouch::{
        self, CancelOrder, Capacity, CrossType, CustomerType, Display, EnterOrder, Firm,
        IntermarketSweep, OutboundMessage, Price4, ReplaceOrder, Side, Stock, TimeInForce, Token,
    },
    soupbintcp, ufo,
};

pub const SESSION: &str = "TICKWIRE01";

/// The venue process.
pub struct Venue {
    child: Child,
    pub ports: Value,
    lines: mpsc::Receiver<String>,
    admin: Option<(BufReader<TcpStream>, TcpStream)>,
}

impl Venue {
    /// Starts the venue with `args` (plus `--admin 0`), waits for `venue: ready`.
    pub fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tickwire-venue"))
            .args(args)
            .args(["--admin", "0", "--bind", "127.0.0.1"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("venue starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut venue = Self {
            child,
            ports: Value::Null,
            lines,
            admin: None,
        };
        loop {
            let line = venue
                .lines
                .recv_timeout(Duration::from_secs(30))
                .expect("venue prints its ports and ready line in time");
            if let Some(ports) = line.strip_prefix("venue: ports ") {
                venue.ports = serde_json::from_str(ports).expect("ports JSON");
            }
            if line == "venue: ready" {
                break;
            }
        }
        venue
    }

    pub fn port(&self, name: &str) -> u16 {
        u16::try_from(self.ports[name].as_u64().expect(name)).expect("port")
    }

    pub fn addr(&self, name: &str) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port(name)))
    }

    /// One admin request, one answer.
    pub fn admin(&mut self, request: &Value) -> Value {
        if self.admin.is_none() {
            let stream = TcpStream::connect(self.addr("admin")).expect("admin connects");
            stream
                .set_read_timeout(Some(Duration::from_secs(20)))
                .expect("timeout");
            self.admin = Some((BufReader::new(stream.try_clone().expect("clone")), stream));
        }
        let (reader, writer) = self.admin.as_mut().expect("admin");
        writer
            .write_all(format!("{request}\n").as_bytes())
            .expect("admin write");
        let mut line = String::new();
        reader.read_line(&mut line).expect("admin answer");
        serde_json::from_str(&line).expect("admin answer is JSON")
    }

    /// Waits (bounded) for the process to exit after a shutdown; returns its stdout lines.
    pub fn wait_exit(&mut self, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.child.try_wait().expect("try_wait").is_some() {
                break;
            }
            assert!(Instant::now() < deadline, "venue did not exit in time");
            thread::sleep(Duration::from_millis(20));
        }
        let mut lines = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(500)) {
            lines.push(line);
        }
        lines
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }
}

impl Drop for Venue {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A UDP socket for the feed.
pub fn feed_socket() -> (UdpSocket, String) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind feed receiver");
    socket
        .set_read_timeout(Some(Duration::from_millis(50)))
        .expect("timeout");
    let addr = socket.local_addr().expect("addr").to_string();
    (socket, addr)
}

/// Every datagram arriving within `duration`.
pub fn collect(socket: &UdpSocket, duration: Duration) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + duration;
    let mut datagrams = Vec::new();
    let mut buf = vec![0u8; 65_536];
    while Instant::now() < deadline {
        if let Ok((len, _)) = socket.recv_from(&mut buf) {
            datagrams.push(buf[..len].to_vec());
        }
    }
    datagrams
}

/// What a feed consumer has seen, by sequence number.
#[derive(Default)]
pub struct FeedState {
    pub messages: BTreeMap<u64, Vec<u8>>,
    pub data_packets: Vec<(u64, u16)>,
    pub heartbeats: u64,
    pub end_of_session: bool,
    pub invalid: u64,
    pub wrong_session: u64,
    pub duplicate_messages: u64,
    /// The venue's next sequence, when known: everything below it is expected.
    pub expected_next: u64,
}

impl FeedState {
    pub fn absorb(&mut self, datagram: &[u8]) {
        let Ok(packet) = moldudp64::decode(datagram) else {
            self.invalid += 1;
            return;
        };
        if packet.session() != moldudp64::Session::new(SESSION).expect("session") {
            self.wrong_session += 1;
            return;
        }
        if packet.is_end_of_session() {
            self.end_of_session = true;
            return;
        }
        if packet.is_heartbeat() {
            self.heartbeats += 1;
            return;
        }
        self.data_packets
            .push((packet.sequence_number(), packet.message_count()));
        for (index, message) in packet.messages().enumerate() {
            let sequence = packet.sequence_number() + index as u64;
            if let Some(previous) = self.messages.insert(sequence, message.to_vec()) {
                assert_eq!(previous, message, "a sequence number carried two messages");
                self.duplicate_messages += 1;
            }
        }
    }

    pub fn next_sequence(&self) -> u64 {
        self.messages.keys().next_back().map_or(1, |last| last + 1)
    }

    pub fn missing(&self) -> Vec<u64> {
        (1..self.next_sequence().max(self.expected_next))
            .filter(|sequence| !self.messages.contains_key(sequence))
            .collect()
    }

    /// Fetches missing messages, up to `next_sequence` (the venue's, from `status`), from
    /// the retransmission server (bounded rounds).
    pub fn recover(&mut self, retransmit: SocketAddr, next_sequence: u64) {
        self.expected_next = next_sequence;
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind requester");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        for _ in 0..20 {
            let missing = self.missing();
            if missing.is_empty() {
                return;
            }
            for &first in missing.iter().take(200) {
                let request = moldudp64::Request {
                    session: moldudp64::Session::new(SESSION).expect("session"),
                    sequence_number: first,
                    message_count: 1,
                };
                let mut bytes = [0u8; 20];
                request.encode(&mut bytes).expect("encode request");
                socket.send_to(&bytes, retransmit).expect("send request");
            }
            for datagram in collect(&socket, Duration::from_millis(300)) {
                self.absorb(&datagram);
            }
        }
        assert!(self.missing().is_empty(), "gaps left: {:?}", self.missing());
    }

    /// The decoded messages in sequence order.
    pub fn itch(&self) -> Vec<itch::Message> {
        self.messages
            .values()
            .map(|bytes| itch::decode(bytes).expect("valid ITCH"))
            .collect()
    }
}

/// An ITCH consumer's book: orders by reference, aggregated on demand.
#[derive(Default)]
pub struct ItchBook {
    orders: HashMap<u64, (u16, u8, u32, u32)>,
}

impl ItchBook {
    pub fn apply(&mut self, message: &itch::Message) {
        match *message {
            itch::Message::AddOrder(add) => {
                let previous = self.orders.insert(
                    add.order_reference_number,
                    (
                        add.stock_locate,
                        add.buy_sell_indicator,
                        add.price,
                        add.shares,
                    ),
                );
                assert!(previous.is_none(), "reference reused");
            }
            itch::Message::OrderExecuted(executed) => {
                self.reduce(executed.order_reference_number, executed.executed_shares);
            }
            itch::Message::OrderExecutedWithPrice(executed) => {
                self.reduce(executed.order_reference_number, executed.executed_shares);
            }
            itch::Message::OrderCancel(cancel) => {
                self.reduce(cancel.order_reference_number, cancel.canceled_shares);
            }
            itch::Message::OrderDelete(delete) => {
                assert!(
                    self.orders.remove(&delete.order_reference_number).is_some(),
                    "delete of an unknown reference"
                );
            }
            itch::Message::OrderReplace(replace) => {
                let (locate, side, _, _) = self
                    .orders
                    .remove(&replace.original_order_reference_number)
                    .expect("replace of a known reference");
                self.orders.insert(
                    replace.new_order_reference_number,
                    (locate, side, replace.price, replace.shares),
                );
            }
            _ => {}
        }
    }

    fn reduce(&mut self, reference: u64, shares: u32) {
        let order = self.orders.get_mut(&reference).expect("known reference");
        assert!(order.3 >= shares, "reduced below zero");
        order.3 -= shares;
        if order.3 == 0 {
            self.orders.remove(&reference);
        }
    }

    /// `{"bids":[[price,shares]...],"asks":[...]}` best first, as the admin `book` answers.
    pub fn levels(&self, locate: u16) -> Value {
        let mut bids: BTreeMap<u32, u64> = BTreeMap::new();
        let mut asks: BTreeMap<u32, u64> = BTreeMap::new();
        for &(order_locate, side, price, shares) in self.orders.values() {
            if order_locate != locate {
                continue;
            }
            let side = if side == b'B' { &mut bids } else { &mut asks };
            *side.entry(price).or_default() += u64::from(shares);
        }
        json!({
            "bids": bids.iter().rev().map(|(p, s)| json!([p, s])).collect::<Vec<_>>(),
            "asks": asks.iter().map(|(p, s)| json!([p, s])).collect::<Vec<_>>(),
        })
    }
}

/// Compares the consumer's book with the admin `book` answer for every symbol.
pub fn assert_books_match(venue: &mut Venue, book: &ItchBook, symbols: &[&str]) {
    for (index, symbol) in symbols.iter().enumerate() {
        let answer = venue.admin(&json!({"cmd": "book", "symbol": symbol}));
        let ours = book.levels(u16::try_from(index + 1).expect("locate"));
        assert_eq!(answer["bids"], ours["bids"], "{symbol} bids");
        assert_eq!(answer["asks"], ours["asks"], "{symbol} asks");
    }
}

pub fn token(text: &str) -> Token {
    Token::from_text(text.as_bytes()).expect("token")
}

/// An Enter Order.
pub fn enter(
    token_text: &str,
    side: u8,
    shares: u32,
    stock: &str,
    price: u32,
    tif: u32,
) -> EnterOrder {
    EnterOrder {
        token: token(token_text),
        side: Side::from_byte(side),
        shares,
        stock: Stock::from_symbol(stock.as_bytes()).expect("stock"),
        price: Price4::from_raw(price),
        time_in_force: TimeInForce::from_wire(tif),
        firm: Firm::from_text(b"TKWR").expect("firm"),
        display: Display::ANONYMOUS,
        capacity: Capacity::AGENCY,
        intermarket_sweep: IntermarketSweep::NOT_ELIGIBLE,
        minimum_quantity: 0,
        cross_type: CrossType::NO_CROSS,
        customer_type: CustomerType::PORT_DEFAULT,
    }
}

pub fn replace(existing: &str, replacement: &str, shares: u32, price: u32) -> ReplaceOrder {
    ReplaceOrder {
        existing_token: token(existing),
        replacement_token: token(replacement),
        shares,
        price: Price4::from_raw(price),
        time_in_force: TimeInForce::from_wire(99_999),
        display: Display::ANONYMOUS,
        intermarket_sweep: IntermarketSweep::NOT_ELIGIBLE,
        minimum_quantity: 0,
    }
}

pub fn cancel(token_text: &str, shares: u32) -> CancelOrder {
    CancelOrder {
        token: token(token_text),
        shares,
    }
}

pub fn bytes(message: impl Into<ouch::InboundMessage>) -> Vec<u8> {
    let message = message.into();
    let mut out = vec![0u8; message.encoded_len()];
    message.encode(&mut out).expect("encode");
    out
}

/// A UFO client.
pub struct UfoClient {
    pub socket: UdpSocket,
    server: SocketAddr,
    pub next_client: u64,
    pub next_server: u64,
    pub heartbeats: u64,
    pub last_heartbeat: Option<ufo::ServerStatus>,
    pub ended: bool,
}

impl UfoClient {
    pub fn new(server: SocketAddr) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind UFO client");
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .expect("timeout");
        Self {
            socket,
            server,
            next_client: 1,
            next_server: 1,
            heartbeats: 0,
            last_heartbeat: None,
            ended: false,
        }
    }

    /// Logs in; `Ok(status)` or `Err(reason byte)`.
    pub fn login(
        &mut self,
        user: &str,
        password: &str,
        requested: u64,
    ) -> Result<ufo::ServerStatus, u8> {
        let request = ufo::Packet::LoginRequest(ufo::LoginRequest {
            requested_session: ufo::Session::BLANK,
            requested_sequence_number: requested,
            username: ufo::Username::from_text(user.as_bytes()).expect("user"),
            password: ufo::Password::from_text(password.as_bytes()).expect("password"),
        });
        let mut buf = [0u8; 64];
        let len = request.encode(&mut buf).expect("encode login");
        let mut datagram = [0u8; 2048];
        for _ in 0..50 {
            self.socket
                .send_to(&buf[..len], self.server)
                .expect("send login");
            let deadline = Instant::now() + Duration::from_millis(200);
            while Instant::now() < deadline {
                let Ok((got, _)) = self.socket.recv_from(&mut datagram) else {
                    continue;
                };
                match ufo::Packet::decode_from_server(&datagram[..got]).expect("valid UFO") {
                    ufo::Packet::LoginAccepted(status) => {
                        self.next_server = status.next_sequence_number;
                        self.next_client = status.next_client_sequence_number;
                        return Ok(status);
                    }
                    ufo::Packet::LoginRejected(rejected) => return Err(rejected.reason.to_byte()),
                    _ => {}
                }
            }
        }
        panic!("no login answer");
    }

    /// Sends messages in one Client Data packet numbered from `first`.
    pub fn send_numbered(&mut self, first: u64, messages: &[Vec<u8>]) {
        let mut buf = [0u8; 2048];
        let mut writer = ufo::DataPacketWriter::new(
            &mut buf,
            ufo::DataKind::Client,
            &ufo::Session::BLANK,
            first,
        )
        .expect("writer");
        for message in messages {
            writer.push(message).expect("push");
        }
        let len = writer.finish().expect("finish");
        self.socket
            .send_to(&buf[..len], self.server)
            .expect("send data");
    }

    /// Sends messages with the next client sequence numbers.
    pub fn send(&mut self, messages: &[Vec<u8>]) {
        self.send_numbered(self.next_client, messages);
        self.next_client += messages.len() as u64;
    }

    pub fn heartbeat(&mut self) {
        let packet = ufo::Packet::ClientHeartbeat(ufo::Position {
            session: ufo::Session::BLANK,
            next_sequence_number: self.next_server,
        });
        let mut buf = [0u8; 32];
        let len = packet.encode(&mut buf).expect("encode");
        self.socket.send_to(&buf[..len], self.server).expect("send");
    }

    pub fn request_retransmission(&mut self, first: u64, count: u16) {
        let packet = ufo::Packet::RetransmissionRequest(ufo::RetransmissionRequest {
            session: ufo::Session::BLANK,
            sequence_number: first,
            count,
        });
        let mut buf = [0u8; 32];
        let len = packet.encode(&mut buf).expect("encode");
        self.socket.send_to(&buf[..len], self.server).expect("send");
    }

    /// Sequenced messages received within `duration` (in order, gaps are a failure unless
    /// `allow_replay`, which accepts anything at or below the next expected number).
    pub fn receive(&mut self, duration: Duration) -> Vec<(u64, OutboundMessage)> {
        let deadline = Instant::now() + duration;
        let mut out = Vec::new();
        let mut datagram = [0u8; 4096];
        while Instant::now() < deadline {
            let Ok((len, _)) = self.socket.recv_from(&mut datagram) else {
                continue;
            };
            match ufo::Packet::decode_from_server(&datagram[..len]).expect("valid UFO") {
                ufo::Packet::SequencedData(data) => {
                    for (index, message) in data.messages().enumerate() {
                        let sequence = data.sequence_number + index as u64;
                        let decoded = OutboundMessage::decode(message).expect("valid OUCH");
                        if sequence == self.next_server {
                            self.next_server += 1;
                        }
                        out.push((sequence, decoded));
                    }
                }
                ufo::Packet::ServerHeartbeat(status) => {
                    self.heartbeats += 1;
                    self.last_heartbeat = Some(status);
                }
                ufo::Packet::EndOfSession(_) => self.ended = true,
                _ => {}
            }
        }
        out
    }

    /// Receives until `count` sequenced messages arrived (bounded by `timeout`).
    pub fn receive_n(&mut self, count: usize, timeout: Duration) -> Vec<OutboundMessage> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        while out.len() < count && Instant::now() < deadline {
            out.extend(
                self.receive(Duration::from_millis(50))
                    .into_iter()
                    .map(|(_, m)| m),
            );
        }
        assert_eq!(out.len(), count, "messages received: {out:?}");
        out
    }
}

/// A SoupBinTCP client.
pub struct SoupClient {
    pub stream: TcpStream,
    buffer: Vec<u8>,
    pub heartbeats: u64,
    pub ended: bool,
    pub next_sequence: u64,
}

impl SoupClient {
    pub fn connect(server: SocketAddr) -> Self {
        let stream = TcpStream::connect(server).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_millis(20)))
            .expect("timeout");
        Self {
            stream,
            buffer: Vec::new(),
            heartbeats: 0,
            ended: false,
            next_sequence: 0,
        }
    }

    fn send_packet(&mut self, packet: &soupbintcp::Packet<'_>) {
        let mut buf = vec![0u8; 3 + packet.payload_len()];
        let len = packet.encode(&mut buf).expect("encode");
        self.stream.write_all(&buf[..len]).expect("write");
    }

    /// Logs in; `Ok(next sequence)` or `Err(reason byte)`.
    pub fn login(&mut self, user: &str, password: &str, requested: u64) -> Result<u64, u8> {
        self.send_packet(&soupbintcp::Packet::LoginRequest(
            soupbintcp::LoginRequest {
                username: soupbintcp::Username::from_text(user.as_bytes()).expect("user"),
                password: soupbintcp::Password::from_text(password.as_bytes()).expect("password"),
                requested_session: soupbintcp::Session::BLANK,
                requested_sequence_number: requested,
            },
        ));
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            self.fill();
            if let Ok(Some((packet, used))) = soupbintcp::Packet::decode(&self.buffer) {
                let result = match packet {
                    soupbintcp::Packet::LoginAccepted(accepted) => Ok(accepted.sequence_number),
                    soupbintcp::Packet::LoginRejected(reason) => Err(reason.to_byte()),
                    other => panic!("unexpected {other:?}"),
                };
                self.buffer.drain(..used);
                if let Ok(next) = result {
                    self.next_sequence = next;
                }
                return result;
            }
        }
        panic!("no login answer");
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 8192];
        match self.stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(len) => {
                self.buffer.extend_from_slice(&chunk[..len]);
                true
            }
            Err(_) => true,
        }
    }

    pub fn send(&mut self, message: &[u8]) {
        self.send_packet(&soupbintcp::Packet::UnsequencedData(message));
    }

    pub fn heartbeat(&mut self) {
        self.send_packet(&soupbintcp::Packet::ClientHeartbeat);
    }

    /// Sequenced messages received within `duration`; returns `(messages, connection open)`.
    pub fn receive(&mut self, duration: Duration) -> (Vec<OutboundMessage>, bool) {
        let deadline = Instant::now() + duration;
        let mut out = Vec::new();
        let mut open = true;
        while Instant::now() < deadline && open {
            open = self.fill();
            while let Ok(Some((packet, used))) = soupbintcp::Packet::decode(&self.buffer) {
                match packet {
                    soupbintcp::Packet::SequencedData(message) => {
                        out.push(OutboundMessage::decode(message).expect("valid OUCH"));
                        self.next_sequence += 1;
                    }
                    soupbintcp::Packet::ServerHeartbeat => self.heartbeats += 1,
                    soupbintcp::Packet::EndOfSession => self.ended = true,
                    other => panic!("unexpected {other:?}"),
                }
                self.buffer.drain(..used);
            }
        }
        (out, open)
    }

    pub fn receive_n(&mut self, count: usize, timeout: Duration) -> Vec<OutboundMessage> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        while out.len() < count && Instant::now() < deadline {
            out.extend(self.receive(Duration::from_millis(50)).0);
        }
        assert_eq!(out.len(), count, "messages received: {out:?}");
        out
    }
}
