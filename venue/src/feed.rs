//! The ITCH 5.0 / MoldUDP64 feed: sequencing, packets, heartbeats, end of session, fault
//! injection, malformed datagrams and the retransmission answers.
//!
//! Contract:
//! - Every published message gets the next sequence number (from 1) and goes into the
//!   [`Store`] at once; [`Feed::flush`] cuts what is pending into packets of at most
//!   `max_packet_bytes` bytes (and `max_messages` messages, if set) and sends them. So a
//!   packet carries whatever became ready while the venue handled one event.
//! - A heartbeat (count 0, next sequence) goes out after `heartbeat_ns` without any feed
//!   packet; end of session (count 0xFFFF) once, after which nothing more is published.
//! - Faults apply to data packets only (never to heartbeats, end of session or
//!   retransmissions): a dropped packet is stored but not sent; a delayed one is sent
//!   `delay_ns` later, in order; a reordered one is held and sent right after the next packet
//!   (or after [`REORDER_MAX_HOLD_NS`]); a duplicated one is sent twice in a row.
//! - The send time of every message is recorded in [`Latency`] just before its packet's
//!   first `send` (the timestamp is read, then `send_to` runs).
//! - The packet buffer is allocated once; sending a packet allocates nothing, except for
//!   copies of held or delayed packets under fault injection.

use std::{
    collections::VecDeque,
    io,
    net::{SocketAddr, UdpSocket},
};

use serde_json::{Value, json};
use tickwire_protocol::{
    itch,
    moldudp64::{self, PacketBuilder, Request, Session},
};

use crate::{clock::mono_ns, latency::Latency, rng::Rng, store::Store};

/// A reordered packet waits at most this long for a packet to overtake it.
pub const REORDER_MAX_HOLD_NS: u64 = 20_000_000;

/// Largest UDP payload the packet buffer holds.
const BUFFER_LEN: usize = 65_507;

/// Smallest packet buffer: a header and one block of the longest ITCH message, so every
/// message fits a packet of its own.
const MIN_PACKET_LEN: usize =
    moldudp64::HEADER_LEN + moldudp64::BLOCK_LENGTH_LEN + itch::MAX_MESSAGE_LEN;

/// Most log lines per kind of refused retransmission request.
const MAX_REFUSAL_LOGS: u64 = 20;

/// Feed settings.
#[derive(Debug, Clone)]
pub struct FeedConfig {
    /// Where packets go (multicast group or unicast); `None`: published and stored only.
    pub dest: Option<SocketAddr>,
    /// MoldUDP64 session.
    pub session: Session,
    /// Heartbeat after this much silence.
    pub heartbeat_ns: u64,
    /// Largest packet, header included (raised to 72 bytes if smaller, so that any ITCH
    /// message fits).
    pub max_packet_bytes: usize,
    /// Most messages per packet (0: as many as fit).
    pub max_messages: u16,
    /// Retransmission store limit.
    pub store_limit_bytes: usize,
}

/// Fault settings (fractions as parts per billion).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultConfig {
    /// Packets dropped.
    pub drop_ppb: u32,
    /// Packets sent twice.
    pub duplicate_ppb: u32,
    /// Packets held and sent after the next one.
    pub reorder_ppb: u32,
    /// Delay before every data packet is sent.
    pub delay_ns: u64,
}

/// Feed counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct FeedCounters {
    /// Datagrams sent (data, duplicates, heartbeats, end of session).
    pub packets: u64,
    /// Heartbeats sent.
    pub heartbeats: u64,
    /// Data packets dropped on purpose.
    pub dropped: u64,
    /// Data packets sent twice on purpose.
    pub duplicated: u64,
    /// Data packets reordered on purpose.
    pub reordered: u64,
    /// Data packets delayed on purpose.
    pub delayed: u64,
    /// Malformed datagrams sent on purpose.
    pub malformed: u64,
    /// `send_to` failures.
    pub send_errors: u64,
    /// Retransmission requests answered.
    pub retransmit_requests: u64,
    /// Messages resent.
    pub retransmit_messages: u64,
    /// Requests refused (wrong session, beyond the store, malformed).
    pub retransmit_refused: u64,
}

impl FeedCounters {
    /// As JSON.
    #[must_use]
    pub fn to_json(&self) -> Value {
        json!({
            "packets": self.packets,
            "heartbeats": self.heartbeats,
            "dropped": self.dropped,
            "duplicated": self.duplicated,
            "reordered": self.reordered,
            "delayed": self.delayed,
            "malformed": self.malformed,
            "send_errors": self.send_errors,
            "retransmit_requests": self.retransmit_requests,
            "retransmit_messages": self.retransmit_messages,
            "retransmit_refused": self.retransmit_refused,
        })
    }
}

/// A packet copy waiting under fault injection.
#[derive(Debug)]
struct Waiting {
    due_ns: u64,
    bytes: Vec<u8>,
    first: u64,
    count: u64,
}

/// The sending side: socket, faults and the packets they hold back.
#[derive(Debug)]
struct Sender {
    socket: UdpSocket,
    dest: Option<SocketAddr>,
    faults: FaultConfig,
    rng: Rng,
    held: Option<Waiting>,
    delayed: VecDeque<Waiting>,
    last_send_ns: u64,
    counters: FeedCounters,
}

impl Sender {
    /// Sends now and records the messages' send time.
    fn send_now(&mut self, packet: &[u8], first: u64, count: u64, latency: &mut Latency) {
        let Some(dest) = self.dest else {
            return;
        };
        let send_ns = mono_ns();
        if self.socket.send_to(packet, dest).is_err() {
            self.counters.send_errors += 1;
        }
        self.counters.packets += 1;
        self.last_send_ns = send_ns;
        for sequence in first..first + count {
            latency.record_send(sequence, send_ns);
        }
    }

    /// A data packet after the drop and delay stages: reorder, send, duplicate.
    fn deliver(&mut self, packet: &[u8], first: u64, count: u64, latency: &mut Latency) {
        if self.held.is_none() && count > 0 && self.rng.chance_ppb(self.faults.reorder_ppb) {
            self.counters.reordered += 1;
            self.held = Some(Waiting {
                due_ns: mono_ns() + REORDER_MAX_HOLD_NS,
                bytes: packet.to_vec(),
                first,
                count,
            });
            return;
        }
        self.send_now(packet, first, count, latency);
        if self.rng.chance_ppb(self.faults.duplicate_ppb) {
            self.counters.duplicated += 1;
            self.send_now(packet, first, count, latency);
        }
        self.release_held(latency);
    }

    fn release_held(&mut self, latency: &mut Latency) {
        if let Some(held) = self.held.take() {
            self.send_now(&held.bytes, held.first, held.count, latency);
        }
    }

    /// A new data packet: drop, delay, or deliver.
    fn dispatch(&mut self, packet: &[u8], first: u64, count: u64, latency: &mut Latency) {
        if self.rng.chance_ppb(self.faults.drop_ppb) {
            self.counters.dropped += 1;
            return;
        }
        if self.faults.delay_ns > 0 || !self.delayed.is_empty() {
            self.counters.delayed += u64::from(self.faults.delay_ns > 0);
            self.delayed.push_back(Waiting {
                due_ns: mono_ns() + self.faults.delay_ns,
                bytes: packet.to_vec(),
                first,
                count,
            });
            return;
        }
        self.deliver(packet, first, count, latency);
    }

    /// Sends delayed packets that are due and a held packet that waited too long.
    fn on_timer(&mut self, now_ns: u64, latency: &mut Latency) {
        // Bounded by the queue length.
        while self
            .delayed
            .front()
            .is_some_and(|waiting| waiting.due_ns <= now_ns)
        {
            if let Some(waiting) = self.delayed.pop_front() {
                self.deliver(&waiting.bytes, waiting.first, waiting.count, latency);
            }
        }
        if self.held.as_ref().is_some_and(|held| held.due_ns <= now_ns) {
            self.release_held(latency);
        }
    }

    /// Sends everything held back, in order.
    fn drain(&mut self, latency: &mut Latency) {
        while let Some(waiting) = self.delayed.pop_front() {
            self.send_now(&waiting.bytes, waiting.first, waiting.count, latency);
        }
        self.release_held(latency);
    }

    fn next_deadline(&self) -> Option<u64> {
        let delayed = self.delayed.front().map(|waiting| waiting.due_ns);
        let held = self.held.as_ref().map(|held| held.due_ns);
        match (delayed, held) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The feed; see the module docs.
#[derive(Debug)]
pub struct Feed {
    config: FeedConfig,
    store: Store,
    /// Next sequence to put into a packet.
    sent_upto: u64,
    buf: Vec<u8>,
    sender: Sender,
    ended: bool,
    refusal_logs: u64,
}

impl Feed {
    /// A feed sending from `socket`.
    #[must_use]
    pub fn new(config: FeedConfig, socket: UdpSocket, fault_seed: u64) -> Self {
        let store = Store::new(1 << 20, config.store_limit_bytes);
        Self {
            sender: Sender {
                socket,
                dest: config.dest,
                faults: FaultConfig::default(),
                rng: Rng::new(fault_seed),
                held: None,
                delayed: VecDeque::new(),
                last_send_ns: mono_ns(),
                counters: FeedCounters::default(),
            },
            config,
            store,
            sent_upto: 1,
            buf: vec![0; BUFFER_LEN],
            ended: false,
            refusal_logs: 0,
        }
    }

    /// The session.
    #[must_use]
    pub const fn session(&self) -> Session {
        self.config.session
    }

    /// Sequence number the next message gets.
    #[must_use]
    pub const fn next_sequence(&self) -> u64 {
        self.store.next()
    }

    /// True after end of session.
    #[must_use]
    pub const fn ended(&self) -> bool {
        self.ended
    }

    /// Counters.
    #[must_use]
    pub const fn counters(&self) -> &FeedCounters {
        &self.sender.counters
    }

    /// Current faults.
    #[must_use]
    pub const fn faults(&self) -> FaultConfig {
        self.sender.faults
    }

    /// Sets the faults.
    pub const fn set_faults(&mut self, faults: FaultConfig) {
        self.sender.faults = faults;
    }

    /// Store statistics: `(first retained, bytes, evicted chunks)`.
    #[must_use]
    pub fn store_stats(&self) -> (u64, usize, u64) {
        (
            self.store.first(),
            self.store.retained_bytes(),
            self.store.evicted_chunks(),
        )
    }

    /// Sequences `message` and stores it; it goes out at the next [`Feed::flush`]. Ignored
    /// after end of session or if it does not encode (a timestamp beyond 48 bits).
    pub fn publish(&mut self, message: &itch::Message) {
        if self.ended {
            return;
        }
        let mut bytes = [0u8; itch::MAX_MESSAGE_LEN];
        if let Ok(len) = message.encode(&mut bytes) {
            self.store.push(bytes.get(..len).unwrap_or_default());
        }
    }

    /// Packs what is pending into packets and sends them.
    pub fn flush(&mut self, latency: &mut Latency) {
        let max_len = self
            .config
            .max_packet_bytes
            .clamp(MIN_PACKET_LEN, BUFFER_LEN);
        let max_messages = match self.config.max_messages {
            0 => moldudp64::MAX_MESSAGE_COUNT,
            limit => limit.min(moldudp64::MAX_MESSAGE_COUNT),
        };
        // Each packet takes at least one message, so this ends.
        while self.sent_upto < self.store.next() {
            let first = self.sent_upto;
            let Some(buf) = self.buf.get_mut(..max_len) else {
                return;
            };
            let Ok(mut builder) = PacketBuilder::new(buf, self.config.session, first) else {
                return;
            };
            let mut next = first;
            while next < self.store.next() && builder.message_count() < max_messages {
                let Some(message) = self.store.get(next) else {
                    break;
                };
                if builder.is_empty() || message.len() <= builder.remaining() {
                    if builder.push(message).is_err() {
                        break;
                    }
                    next += 1;
                } else {
                    break;
                }
            }
            if next == first {
                // Not even one message fits or it was dropped from the store: skip it.
                self.sent_upto += 1;
                continue;
            }
            let len = builder.finish();
            self.sent_upto = next;
            if let Some(packet) = self.buf.get(..len) {
                self.sender.dispatch(packet, first, next - first, latency);
            }
        }
    }

    /// Heartbeats and held-back packets; call whenever the clock moves.
    pub fn on_timer(&mut self, now_ns: u64, latency: &mut Latency) {
        self.sender.on_timer(now_ns, latency);
        if !self.ended
            && now_ns.saturating_sub(self.sender.last_send_ns) >= self.config.heartbeat_ns
        {
            let mut packet = [0u8; moldudp64::HEADER_LEN];
            if moldudp64::encode_heartbeat(&mut packet, self.config.session, self.store.next())
                .is_ok()
            {
                self.sender.counters.heartbeats += 1;
                self.sender.send_now(&packet, 0, 0, latency);
                // Without a destination nothing was sent; do not spin on the deadline.
                self.sender.last_send_ns = now_ns;
            }
        }
    }

    /// When [`Feed::on_timer`] next has work.
    #[must_use]
    pub fn next_deadline(&self) -> u64 {
        let heartbeat = self.sender.last_send_ns + self.config.heartbeat_ns;
        self.sender
            .next_deadline()
            .map_or(heartbeat, |due| due.min(heartbeat))
    }

    /// Flushes, sends everything held back, then the end-of-session packet; nothing is
    /// published afterwards. Idempotent.
    pub fn end_session(&mut self, latency: &mut Latency) {
        if self.ended {
            return;
        }
        self.flush(latency);
        self.sender.drain(latency);
        let mut packet = [0u8; moldudp64::HEADER_LEN];
        if moldudp64::encode_end_of_session(&mut packet, self.config.session, self.store.next())
            .is_ok()
        {
            self.sender.send_now(&packet, 0, 0, latency);
        }
        self.ended = true;
    }

    /// Answers one retransmission request datagram from `from` on `socket`. Returns the
    /// number of messages resent.
    ///
    /// # Errors
    /// Why the request was refused (also counted, and logged a bounded number of times).
    pub fn answer(
        &mut self,
        request: &[u8],
        from: SocketAddr,
        socket: &UdpSocket,
    ) -> Result<u64, String> {
        let result = self.try_answer(request, from, socket);
        match &result {
            Ok(messages) => {
                self.sender.counters.retransmit_requests += 1;
                self.sender.counters.retransmit_messages += messages;
            }
            Err(reason) => {
                self.sender.counters.retransmit_refused += 1;
                self.refusal_logs += 1;
                if self.refusal_logs <= MAX_REFUSAL_LOGS {
                    tracing::warn!(%from, "retransmission request refused: {reason}");
                }
            }
        }
        result
    }

    fn try_answer(
        &mut self,
        request: &[u8],
        from: SocketAddr,
        socket: &UdpSocket,
    ) -> Result<u64, String> {
        let request = Request::decode(request).map_err(|error| error.to_string())?;
        if request.session != self.config.session {
            return Err(format!("session {} is not ours", request.session));
        }
        if request.message_count == 0 || request.message_count == moldudp64::END_OF_SESSION_COUNT {
            return Err(format!("message count {}", request.message_count));
        }
        let first = request.sequence_number;
        if first == 0 || first >= self.sent_upto {
            return Err(format!(
                "sequence {first} not published yet (next {})",
                self.sent_upto
            ));
        }
        if first < self.store.first() {
            return Err(format!(
                "sequence {first} is beyond the store's memory limit (oldest kept {})",
                self.store.first()
            ));
        }
        let end = first
            .saturating_add(u64::from(request.message_count))
            .min(self.sent_upto);
        let max_len = self
            .config
            .max_packet_bytes
            .clamp(MIN_PACKET_LEN, BUFFER_LEN);
        let mut next = first;
        // Each packet carries at least one message.
        while next < end {
            let packet_first = next;
            let Some(buf) = self.buf.get_mut(..max_len) else {
                break;
            };
            let mut builder = PacketBuilder::new(buf, self.config.session, packet_first)
                .map_err(|error| error.to_string())?;
            while next < end {
                let Some(message) = self.store.get(next) else {
                    break;
                };
                if !builder.is_empty() && message.len() > builder.remaining() {
                    break;
                }
                builder.push(message).map_err(|error| error.to_string())?;
                next += 1;
            }
            if next == packet_first {
                break;
            }
            let len = builder.finish();
            if let Some(packet) = self.buf.get(..len) {
                socket
                    .send_to(packet, from)
                    .map_err(|error| format!("send: {error}"))?;
            }
        }
        Ok(next - first)
    }

    /// Sends `count` malformed datagrams to the feed destination, cycling through: random
    /// bytes, a truncated MoldUDP64 header, a block length running past the datagram, and a
    /// well-formed packet of a wrong session (carrying an ITCH Add Order that must not be
    /// applied).
    ///
    /// # Errors
    /// A `send_to` failure.
    pub fn send_malformed(&mut self, count: u64, rng: &mut Rng) -> io::Result<()> {
        let Some(dest) = self.config.dest else {
            return Ok(());
        };
        let mut header = [0u8; moldudp64::HEADER_LEN];
        header[..10].copy_from_slice(&self.config.session.0);
        header[10..18].copy_from_slice(&self.store.next().to_be_bytes());
        header[18..20].copy_from_slice(&1u16.to_be_bytes());
        let mut datagram = Vec::with_capacity(128);
        for index in 0..count {
            datagram.clear();
            match index % 4 {
                0 => {
                    let len = 1 + rng.below(64);
                    datagram.extend((0..len).map(|_| rng.next_u64().to_le_bytes()[0]));
                }
                1 => {
                    let len = 1 + rng.below(moldudp64::HEADER_LEN as u64 - 1);
                    datagram.extend_from_slice(header.get(..len as usize).unwrap_or_default());
                }
                2 => {
                    datagram.extend_from_slice(&header);
                    datagram.extend_from_slice(&200u16.to_be_bytes());
                    datagram.extend_from_slice(&[b'A'; 10]);
                }
                _ => {
                    let wrong = Session::new("WRONGSESS1").unwrap_or(Session::BLANK);
                    datagram.resize(128, 0);
                    let add = itch::AddOrder {
                        stock_locate: 1,
                        tracking_number: 0,
                        timestamp: 0,
                        order_reference_number: u64::MAX - index,
                        buy_sell_indicator: b'B',
                        shares: 999_999,
                        stock: itch::Stock::BLANK,
                        price: 1,
                    };
                    let mut message = [0u8; itch::AddOrder::LEN];
                    let written = add.encode(&mut message).is_ok();
                    let mut builder = PacketBuilder::new(&mut datagram, wrong, self.store.next())
                        .map_err(io::Error::other)?;
                    if written {
                        builder.push(&message).map_err(io::Error::other)?;
                    }
                    let len = builder.finish();
                    datagram.truncate(len);
                }
            }
            self.sender.socket.send_to(&datagram, dest)?;
            self.sender.counters.malformed += 1;
        }
        Ok(())
    }

    /// The stored message `sequence` (for tests and tools).
    #[must_use]
    pub fn stored(&self, sequence: u64) -> Option<&[u8]> {
        self.store.get(sequence)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn feed(max_packet_bytes: usize, max_messages: u16) -> (Feed, UdpSocket) {
        let receiver = UdpSocket::bind("127.0.0.1:0").expect("bind");
        receiver
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let config = FeedConfig {
            dest: Some(receiver.local_addr().expect("addr")),
            session: Session::new("UNIT01").expect("session"),
            heartbeat_ns: 1_000_000_000,
            max_packet_bytes,
            max_messages,
            store_limit_bytes: 1 << 24,
        };
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        (Feed::new(config, socket, 1), receiver)
    }

    fn delete(reference: u64) -> itch::Message {
        itch::Message::OrderDelete(itch::OrderDelete {
            stock_locate: 1,
            tracking_number: 0,
            timestamp: 0,
            order_reference_number: reference,
        })
    }

    /// `(first sequence, count, bytes)` of each datagram until the socket is quiet.
    fn packets(receiver: &UdpSocket) -> Vec<(u64, u16, usize)> {
        let mut buf = [0u8; 2048];
        let mut out = Vec::new();
        while let Ok((len, _)) = receiver.recv_from(&mut buf) {
            let packet = moldudp64::decode(&buf[..len]).expect("valid packet");
            out.push((packet.sequence_number(), packet.message_count(), len));
        }
        out
    }

    #[test]
    fn packets_respect_the_message_and_byte_limits_and_lose_nothing() {
        for (max_bytes, max_messages) in [(1400, 3), (10, 0), (200, 0)] {
            let (mut feed, receiver) = feed(max_bytes, max_messages);
            let mut latency = Latency::new();
            for reference in 1..=100 {
                feed.publish(&delete(reference));
            }
            feed.flush(&mut latency);
            let packets = packets(&receiver);
            let mut next = 1;
            for &(first, count, len) in &packets {
                assert_eq!(first, next, "contiguous");
                assert!(count >= 1);
                if max_messages > 0 {
                    assert!(count <= max_messages);
                }
                assert!(len <= max_bytes.max(MIN_PACKET_LEN));
                next += u64::from(count);
            }
            assert_eq!(
                next, 101,
                "every message sent once ({max_bytes}, {max_messages})"
            );
            assert_eq!(feed.next_sequence(), 101);
            assert!(latency.send_time(100).is_some());
        }
    }

    #[test]
    fn end_of_session_is_sent_once_and_stops_publishing() {
        let (mut feed, receiver) = feed(1400, 0);
        let mut latency = Latency::new();
        feed.publish(&delete(1));
        feed.end_session(&mut latency);
        feed.end_session(&mut latency);
        feed.publish(&delete(2));
        feed.flush(&mut latency);
        let mut buf = [0u8; 2048];
        let mut kinds = Vec::new();
        while let Ok((len, _)) = receiver.recv_from(&mut buf) {
            let packet = moldudp64::decode(&buf[..len]).expect("valid");
            kinds.push((packet.sequence_number(), packet.is_end_of_session()));
        }
        assert_eq!(kinds, vec![(1, false), (2, true)]);
        assert_eq!(feed.next_sequence(), 2);
    }
}
