//! The client side of a UFO order-entry session (framing and behaviour:
//! `protocol/README.md`).
//!
//! - **Login**: `L` is repeated every retransmit timeout until `A` (or `J`) arrives; while
//!   the session is lost, login is retried the same way.
//! - **Client messages exactly once**: every OUCH message gets the next client sequence
//!   number and is kept in a bounded store until the server acknowledges it (`A`/`H` carry
//!   the next client sequence the server expects). Unacknowledged messages are resent,
//!   unchanged and with their numbers, when a heartbeat shows the server is behind or after
//!   the retransmit timeout.
//! - **Server messages in order**: sequenced data is delivered in order; duplicates are
//!   dropped; a gap drops the packet and asks for the missing range with `Q`.
//! - **Liveness**: a heartbeat `R` after `heartbeat_interval` without sending; the session is
//!   **lost** after `heartbeat_timeout` without hearing from the server.
//!
//! Sending never allocates; the store is allocated in [`UfoClient::new`]. The engine asks
//! [`UfoClient::wants_control`] after each batch and lets [`UfoClient::write_control`] fill a
//! transmit buffer, one packet per call.

use tickwire_protocol::{
    soupbintcp::{Password, Session, Username},
    ufo::{self, DataKind, DataPacketWriter, Packet, UfoError},
};

/// Largest OUCH message (Replaced, 80 bytes).
const MAX_STORED_MESSAGE: usize = 80;
/// Resent messages per control packet (a UDP datagram stays small).
const RESEND_PER_PACKET: usize = 12;

/// Session parameters.
#[derive(Debug, Clone, Copy)]
pub struct UfoConfig {
    /// Requested session (all spaces: the current one).
    pub session: Session,
    /// Username.
    pub username: Username,
    /// Password.
    pub password: Password,
    /// Heartbeat after this much sending silence.
    pub heartbeat_interval_ns: u64,
    /// Session lost after this much receiving silence.
    pub heartbeat_timeout_ns: u64,
    /// Login retry and resend interval.
    pub retransmit_timeout_ns: u64,
    /// Unacknowledged client messages that can be held.
    pub max_unacked: usize,
}

/// Where the session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Sending `L`, waiting for `A`.
    LoggingIn,
    /// Logged in and hearing from the server.
    Active,
    /// The server went silent: orders are in an unknown state.
    Lost,
    /// The server refused the login.
    Rejected,
    /// The server ended the session.
    Ended,
}

/// What a received datagram changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionEvent {
    /// The login was just accepted (or the session came back after being lost).
    pub up: bool,
    /// The server refused the login.
    pub rejected: bool,
    /// The server ended the session.
    pub ended: bool,
}

/// Session counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UfoCounters {
    /// Client messages sent (first time).
    pub sent: u64,
    /// Client messages resent.
    pub resent: u64,
    /// Server messages delivered.
    pub delivered: u64,
    /// Server messages dropped as duplicates.
    pub duplicates: u64,
    /// Server gaps requested.
    pub gap_requests: u64,
    /// Datagrams that did not decode or were for another session.
    pub malformed: u64,
    /// Heartbeats sent.
    pub heartbeats: u64,
    /// Times the session was lost.
    pub lost: u64,
}

#[derive(Debug, Clone, Copy)]
struct Stored {
    sequence: u64,
    len: u8,
    bytes: [u8; MAX_STORED_MESSAGE],
}

/// Why a client message could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Not logged in.
    #[error("session not active")]
    NotActive,
    /// Too many unacknowledged messages.
    #[error("unacknowledged message store full")]
    StoreFull,
    /// The message or buffer size is wrong.
    #[error(transparent)]
    Framing(#[from] UfoError),
}

/// A UFO client session.
#[derive(Debug)]
pub struct UfoClient {
    config: UfoConfig,
    state: SessionState,
    session: Session,
    next_client_sequence: u64,
    /// Next client sequence the server expects: everything below is acknowledged.
    acknowledged: u64,
    store: Box<[Stored]>,
    next_server_sequence: u64,
    gap_until: Option<u64>,
    resend_from: Option<u64>,
    /// Last packet of any kind (heartbeat timer).
    last_sent_ns: u64,
    /// Last client data sent or resent (retransmit timer).
    last_data_ns: u64,
    last_heard_ns: u64,
    /// `None`: never, so the next one is due at once.
    last_login_ns: Option<u64>,
    last_resend_ns: Option<u64>,
    last_gap_request_ns: Option<u64>,
    logout_requested: bool,
    counters: UfoCounters,
}

/// Largest server-announced client sequence a restarted client adopts at login.
const MAX_ADOPTED_CLIENT_SEQUENCE: u64 = 1 << 48;

impl UfoClient {
    /// A session that starts logging in at the first [`write_control`](Self::write_control).
    #[must_use]
    pub fn new(config: UfoConfig) -> Self {
        let slots = config.max_unacked.max(16).next_power_of_two();
        Self {
            config,
            state: SessionState::LoggingIn,
            session: config.session,
            next_client_sequence: 1,
            acknowledged: 1,
            store: vec![
                Stored {
                    sequence: 0,
                    len: 0,
                    bytes: [0; MAX_STORED_MESSAGE],
                };
                slots
            ]
            .into_boxed_slice(),
            next_server_sequence: 1,
            gap_until: None,
            resend_from: None,
            last_sent_ns: 0,
            last_data_ns: 0,
            last_heard_ns: 0,
            last_login_ns: None,
            last_resend_ns: None,
            last_gap_request_ns: None,
            logout_requested: false,
            counters: UfoCounters::default(),
        }
    }

    /// Current state.
    #[must_use]
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// True when a message can be queued now.
    #[must_use]
    pub fn can_send(&self) -> bool {
        matches!(self.state, SessionState::Active | SessionState::Lost)
            && self.next_client_sequence - self.acknowledged < self.store.len() as u64
    }

    /// Counters.
    #[must_use]
    pub fn counters(&self) -> UfoCounters {
        self.counters
    }

    /// Continues a server sequence a previous run of the gateway received up to
    /// `next_server_sequence - 1` (from its audit log): the login asks for what follows, so a
    /// restart does not take the day's earlier messages for new ones. Before the first login.
    pub fn resume_from(&mut self, next_server_sequence: u64) {
        if self.state == SessionState::LoggingIn {
            self.next_server_sequence = next_server_sequence.max(1);
        }
    }

    /// Client messages sent and not yet acknowledged.
    #[must_use]
    pub fn unacknowledged(&self) -> u64 {
        self.next_client_sequence - self.acknowledged
    }

    fn acknowledge(&mut self, next_expected: u64) {
        if next_expected > self.acknowledged && next_expected <= self.next_client_sequence {
            self.acknowledged = next_expected;
        }
        if next_expected < self.next_client_sequence {
            // The server is missing messages we sent: resend from what it expects, now.
            if self.resend_from.is_none() {
                self.last_resend_ns = None;
            }
            self.resend_from = Some(self.acknowledged);
        } else {
            self.resend_from = None;
        }
    }

    /// Handles one datagram from the server, calling `on_message` with every OUCH message
    /// that is next in the server's sequence.
    ///
    /// # Errors
    /// The datagram is not a valid server packet (counted).
    pub fn on_datagram(
        &mut self,
        datagram: &[u8],
        now_ns: u64,
        mut on_message: impl FnMut(u64, &[u8]),
    ) -> Result<SessionEvent, UfoError> {
        let packet = match Packet::decode_from_server(datagram) {
            Ok(packet) => packet,
            Err(error) => {
                self.counters.malformed += 1;
                return Err(error);
            }
        };
        self.last_heard_ns = now_ns;
        let mut event = SessionEvent::default();
        match packet {
            Packet::LoginAccepted(status) => {
                event.up = self.state != SessionState::Active;
                self.state = SessionState::Active;
                self.session = status.session;
                self.next_server_sequence = status.next_sequence_number;
                self.gap_until = None;
                // Bounded: a corrupt or hostile value near u64::MAX must not overflow the
                // numbering later (anything this large is beyond any trading day).
                if status.next_client_sequence_number > self.next_client_sequence
                    && status.next_client_sequence_number < MAX_ADOPTED_CLIENT_SEQUENCE
                {
                    // The server holds more of this user's messages than this client sent: a
                    // restarted gateway rejoining the day's session. Numbering goes on from
                    // where the server is, or the new messages would be taken as duplicates.
                    self.next_client_sequence = status.next_client_sequence_number;
                    self.acknowledged = status.next_client_sequence_number;
                }
                self.acknowledge(status.next_client_sequence_number);
            }
            Packet::LoginRejected(_) => {
                self.state = SessionState::Rejected;
                event.rejected = true;
            }
            Packet::ServerHeartbeat(status) => {
                if self.state == SessionState::Lost {
                    self.state = SessionState::Active;
                    event.up = true;
                }
                self.acknowledge(status.next_client_sequence_number);
                if status.next_sequence_number > self.next_server_sequence {
                    self.open_gap(status.next_sequence_number);
                }
            }
            Packet::SequencedData(data) => {
                if self.state == SessionState::Lost {
                    self.state = SessionState::Active;
                    event.up = true;
                }
                if data.sequence_number > self.next_server_sequence {
                    // A gap: ask for it; the packet itself is resent with the answer.
                    self.open_gap(data.sequence_number);
                    return Ok(event);
                }
                for (offset, message) in data.messages().enumerate() {
                    let sequence = data.sequence_number + offset as u64;
                    if sequence < self.next_server_sequence {
                        self.counters.duplicates += 1;
                        continue;
                    }
                    on_message(sequence, message);
                    self.next_server_sequence = sequence + 1;
                    self.counters.delivered += 1;
                }
                if self
                    .gap_until
                    .is_some_and(|until| self.next_server_sequence >= until)
                {
                    self.gap_until = None;
                }
            }
            Packet::EndOfSession(_) => {
                self.state = SessionState::Ended;
                event.ended = true;
            }
            _ => self.counters.malformed += 1,
        }
        Ok(event)
    }

    fn open_gap(&mut self, until: u64) {
        match self.gap_until {
            Some(current) => self.gap_until = Some(current.max(until)),
            None => {
                self.gap_until = Some(until);
                self.last_gap_request_ns = None;
            }
        }
    }

    /// Checks the heartbeat timeout; returns `true` when the session was just lost.
    pub fn check_liveness(&mut self, now_ns: u64) -> bool {
        if self.state == SessionState::Active
            && now_ns.saturating_sub(self.last_heard_ns) > self.config.heartbeat_timeout_ns
        {
            self.state = SessionState::Lost;
            self.counters.lost += 1;
            self.last_login_ns = None;
            return true;
        }
        false
    }

    /// Writes one client data packet carrying `message` (an encoded OUCH message) into
    /// `out`, keeps the message until the server acknowledges it, and returns the packet
    /// length.
    ///
    /// # Errors
    /// [`SendError`] when not logged in, the store is full, or `out` is too small.
    #[inline]
    pub fn write_message(
        &mut self,
        out: &mut [u8],
        message: &[u8],
        now_ns: u64,
    ) -> Result<usize, SendError> {
        if self.state != SessionState::Active {
            return Err(SendError::NotActive);
        }
        let capacity = self.store.len() as u64;
        if self.next_client_sequence - self.acknowledged >= capacity {
            return Err(SendError::StoreFull);
        }
        let len = u8::try_from(message.len())
            .ok()
            .filter(|len| usize::from(*len) <= MAX_STORED_MESSAGE)
            .ok_or(SendError::Framing(UfoError::MessageTooLong {
                len: message.len(),
            }))?;
        let sequence = self.next_client_sequence;
        let mut writer = DataPacketWriter::new(out, DataKind::Client, &self.session, sequence)?;
        writer.reserve(message.len())?.copy_from_slice(message);
        let written = writer.finish()?;
        // The mask keeps the index inside the power-of-two store.
        let slot = &mut self.store[(sequence & (capacity - 1)) as usize];
        slot.sequence = sequence;
        slot.len = len;
        slot.bytes[..message.len()].copy_from_slice(message);
        self.next_client_sequence += 1;
        self.last_sent_ns = now_ns;
        self.last_data_ns = now_ns;
        self.counters.sent += 1;
        Ok(written)
    }

    /// Asks the server to log out (sent by the next control packet).
    pub fn request_logout(&mut self) {
        self.logout_requested = true;
    }

    /// True when [`write_control`](Self::write_control) has a packet to send now.
    #[must_use]
    pub fn wants_control(&self, now_ns: u64) -> bool {
        let due = |last: u64, interval: u64| now_ns.saturating_sub(last) >= interval;
        let due_once =
            |last: Option<u64>, interval: u64| last.is_none_or(|last| due(last, interval));
        match self.state {
            SessionState::Rejected | SessionState::Ended => false,
            SessionState::LoggingIn | SessionState::Lost
                if self
                    .last_login_ns
                    .is_none_or(|last| due(last, self.config.retransmit_timeout_ns)) =>
            {
                true
            }
            SessionState::LoggingIn => false,
            _ => {
                self.logout_requested
                    || (self.resend_from.is_some()
                        && due_once(self.last_resend_ns, self.config.retransmit_timeout_ns / 4))
                    || (self.unacknowledged() > 0
                        && due(self.last_data_ns, self.config.retransmit_timeout_ns))
                    || (self.gap_until.is_some()
                        && due_once(self.last_gap_request_ns, self.config.retransmit_timeout_ns))
                    || due(self.last_sent_ns, self.config.heartbeat_interval_ns)
            }
        }
    }

    /// Writes the most urgent control packet into `out`: login, logout, resend of
    /// unacknowledged messages, gap request or heartbeat. Returns its length (0: nothing).
    ///
    /// # Errors
    /// If `out` is too small.
    pub fn write_control(&mut self, out: &mut [u8], now_ns: u64) -> Result<usize, UfoError> {
        let next_server = self.next_server_sequence.max(1);
        match self.state {
            SessionState::LoggingIn | SessionState::Lost => {
                self.last_login_ns = Some(now_ns);
                self.last_sent_ns = now_ns;
                return Packet::LoginRequest(ufo::LoginRequest {
                    requested_session: self.config.session,
                    requested_sequence_number: next_server,
                    username: self.config.username,
                    password: self.config.password,
                })
                .encode(out);
            }
            SessionState::Rejected | SessionState::Ended => return Ok(0),
            SessionState::Active => {}
        }
        self.last_sent_ns = now_ns;
        if self.logout_requested {
            self.logout_requested = false;
            return Packet::LogoutRequest(ufo::Position {
                session: self.session,
                next_sequence_number: next_server,
            })
            .encode(out);
        }
        let timed_out = self.unacknowledged() > 0
            && now_ns.saturating_sub(self.last_data_ns) >= self.config.retransmit_timeout_ns;
        let resend_due = self.last_resend_ns.is_none_or(|last| {
            now_ns.saturating_sub(last) >= self.config.retransmit_timeout_ns / 4
        });
        if let Some(from) = self
            .resend_from
            .filter(|_| resend_due)
            .or(timed_out.then_some(self.acknowledged))
        {
            return self.write_resend(out, from, now_ns);
        }
        if let Some(until) = self.gap_until
            && self
                .last_gap_request_ns
                .is_none_or(|last| now_ns.saturating_sub(last) >= self.config.retransmit_timeout_ns)
        {
            self.last_gap_request_ns = Some(now_ns);
            self.counters.gap_requests += 1;
            let count = until
                .saturating_sub(self.next_server_sequence)
                .clamp(1, u64::from(u16::MAX));
            return Packet::RetransmissionRequest(ufo::RetransmissionRequest {
                session: self.session,
                sequence_number: next_server,
                count: u16::try_from(count).unwrap_or(u16::MAX),
            })
            .encode(out);
        }
        self.counters.heartbeats += 1;
        Packet::ClientHeartbeat(ufo::Position {
            session: self.session,
            next_sequence_number: next_server,
        })
        .encode(out)
    }

    /// Resends stored messages from `from`, as many as fit one packet.
    fn write_resend(&mut self, out: &mut [u8], from: u64, now_ns: u64) -> Result<usize, UfoError> {
        let from = from.max(self.acknowledged);
        let capacity = self.store.len() as u64;
        let mut writer = DataPacketWriter::new(out, DataKind::Client, &self.session, from)?;
        let mut sequence = from;
        while sequence < self.next_client_sequence && sequence < from + RESEND_PER_PACKET as u64 {
            let stored = &self.store[(sequence & (capacity - 1)) as usize];
            debug_assert_eq!(stored.sequence, sequence);
            let message = &stored.bytes[..usize::from(stored.len)];
            writer.reserve(message.len())?.copy_from_slice(message);
            sequence += 1;
            self.counters.resent += 1;
        }
        self.last_resend_ns = Some(now_ns);
        self.last_data_ns = now_ns;
        self.resend_from = (sequence < self.next_client_sequence).then_some(sequence);
        writer.finish()
    }
}

#[cfg(test)]
mod tests {
    use tickwire_protocol::ufo::{LoginRejectReason, LoginRejected, Position, ServerStatus};

    use super::*;

    const MS: u64 = 1_000_000;

    fn session() -> Session {
        Session::from_text(b"VENUE1").unwrap()
    }

    fn new_client(max_unacked: usize) -> UfoClient {
        UfoClient::new(UfoConfig {
            session: Session::from_text(b"").unwrap(),
            username: Username::from_text(b"TW0001").unwrap(),
            password: Password::from_text(b"secret").unwrap(),
            heartbeat_interval_ns: 100 * MS,
            heartbeat_timeout_ns: 1000 * MS,
            retransmit_timeout_ns: 50 * MS,
            max_unacked,
        })
    }

    fn encode(packet: &Packet<'_>) -> Vec<u8> {
        let mut out = vec![0u8; 256];
        let len = packet.encode(&mut out).unwrap();
        out.truncate(len);
        out
    }

    fn accepted(next_server: u64, next_client: u64) -> Vec<u8> {
        encode(&Packet::LoginAccepted(ServerStatus {
            session: session(),
            next_sequence_number: next_server,
            next_client_sequence_number: next_client,
        }))
    }

    fn heartbeat(next_server: u64, next_client: u64) -> Vec<u8> {
        encode(&Packet::ServerHeartbeat(ServerStatus {
            session: session(),
            next_sequence_number: next_server,
            next_client_sequence_number: next_client,
        }))
    }

    fn sequenced(first: u64, messages: &[&[u8]]) -> Vec<u8> {
        let mut out = vec![0u8; 512];
        let mut writer =
            DataPacketWriter::new(&mut out, DataKind::Sequenced, &session(), first).unwrap();
        for message in messages {
            writer
                .reserve(message.len())
                .unwrap()
                .copy_from_slice(message);
        }
        let len = writer.finish().unwrap();
        out.truncate(len);
        out
    }

    fn control(client: &mut UfoClient, now: u64) -> Option<Vec<u8>> {
        if !client.wants_control(now) {
            return None;
        }
        let mut out = vec![0u8; 1500];
        let len = client.write_control(&mut out, now).unwrap();
        out.truncate(len);
        Some(out)
    }

    fn logged_in() -> UfoClient {
        let mut client = new_client(64);
        let login = control(&mut client, 0).unwrap();
        assert!(matches!(
            Packet::decode_from_client(&login).unwrap(),
            Packet::LoginRequest(_)
        ));
        assert!(
            control(&mut client, MS).is_none(),
            "no second login before the timeout"
        );
        let event = client
            .on_datagram(&accepted(1, 1), 2 * MS, |_, _| {})
            .unwrap();
        assert!(event.up);
        assert_eq!(client.state(), SessionState::Active);
        client
    }

    fn send(client: &mut UfoClient, message: &[u8], now: u64) -> Vec<u8> {
        let mut out = vec![0u8; 256];
        let len = client.write_message(&mut out, message, now).unwrap();
        out.truncate(len);
        out
    }

    #[test]
    fn messages_are_numbered_and_delivered_in_order() {
        let mut client = logged_in();
        let packet = send(&mut client, b"O-first", 3 * MS);
        match Packet::decode_from_client(&packet).unwrap() {
            Packet::ClientData(data) => {
                assert_eq!(data.sequence_number, 1);
                assert_eq!(data.messages().collect::<Vec<_>>(), vec![&b"O-first"[..]]);
                assert_eq!(data.session, session(), "the session the server assigned");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(client.unacknowledged(), 1);
        let mut delivered = Vec::new();
        client
            .on_datagram(&sequenced(1, &[b"A1", b"A2"]), 4 * MS, |sequence, m| {
                delivered.push((sequence, m.to_vec()));
            })
            .unwrap();
        client
            .on_datagram(&sequenced(2, &[b"A2", b"A3"]), 5 * MS, |sequence, m| {
                delivered.push((sequence, m.to_vec()));
            })
            .unwrap();
        assert_eq!(
            delivered,
            vec![
                (1, b"A1".to_vec()),
                (2, b"A2".to_vec()),
                (3, b"A3".to_vec())
            ]
        );
        assert_eq!(client.counters().duplicates, 1);
    }

    #[test]
    fn a_resumed_client_asks_for_the_messages_after_the_previous_run() {
        let mut client = new_client(64);
        client.resume_from(42);
        let login = control(&mut client, 0).unwrap();
        match Packet::decode_from_client(&login).unwrap() {
            Packet::LoginRequest(request) => assert_eq!(request.requested_sequence_number, 42),
            other => panic!("{other:?}"),
        }
        // A login answer with an absurd client sequence is not adopted.
        let mut wary = new_client(64);
        wary.on_datagram(&accepted(1, u64::MAX), MS, |_, _| {})
            .unwrap();
        match Packet::decode_from_client(&send(&mut wary, b"O", 2 * MS)).unwrap() {
            Packet::ClientData(data) => assert_eq!(data.sequence_number, 1),
            other => panic!("{other:?}"),
        }
        // The server already has 140 messages of this user from the previous run.
        client
            .on_datagram(&accepted(42, 141), MS, |_, _| {})
            .unwrap();
        assert_eq!(client.unacknowledged(), 0);
        match Packet::decode_from_client(&send(&mut client, b"O-after", 2 * MS)).unwrap() {
            Packet::ClientData(data) => assert_eq!(data.sequence_number, 141),
            other => panic!("{other:?}"),
        }
        let mut delivered = Vec::new();
        client
            .on_datagram(&sequenced(41, &[b"old", b"new"]), 3 * MS, |sequence, m| {
                delivered.push((sequence, m.to_vec()));
            })
            .unwrap();
        assert_eq!(delivered, vec![(42, b"new".to_vec())]);
    }

    #[test]
    fn a_server_gap_is_requested_and_filled() {
        let mut client = logged_in();
        let mut delivered = Vec::new();
        client
            .on_datagram(&sequenced(3, &[b"late"]), 3 * MS, |_, m| {
                delivered.push(m.to_vec());
            })
            .unwrap();
        assert!(delivered.is_empty(), "out-of-order data waits for the gap");
        let request = control(&mut client, 4 * MS).unwrap();
        match Packet::decode_from_client(&request).unwrap() {
            Packet::RetransmissionRequest(request) => {
                assert_eq!((request.sequence_number, request.count), (1, 2));
            }
            other => panic!("{other:?}"),
        }
        client
            .on_datagram(&sequenced(1, &[b"one", b"two", b"late"]), 5 * MS, |_, m| {
                delivered.push(m.to_vec());
            })
            .unwrap();
        assert_eq!(delivered.len(), 3);
        assert_eq!(client.counters().gap_requests, 1);
    }

    #[test]
    fn unacknowledged_messages_are_resent_unchanged() {
        let mut client = logged_in();
        for (index, message) in [&b"m1"[..], b"m2", b"m3"].iter().enumerate() {
            send(&mut client, message, (3 + index as u64) * MS);
        }
        // The server says it expects client message 2: 2 and 3 are missing.
        client
            .on_datagram(&heartbeat(1, 2), 10 * MS, |_, _| {})
            .unwrap();
        assert_eq!(client.unacknowledged(), 2);
        let resend = control(&mut client, 11 * MS).unwrap();
        match Packet::decode_from_client(&resend).unwrap() {
            Packet::ClientData(data) => {
                assert_eq!(data.sequence_number, 2);
                assert_eq!(data.messages().collect::<Vec<_>>(), vec![&b"m2"[..], b"m3"]);
            }
            other => panic!("{other:?}"),
        }
        client
            .on_datagram(&heartbeat(1, 4), 12 * MS, |_, _| {})
            .unwrap();
        assert_eq!(client.unacknowledged(), 0);
        assert_eq!(client.counters().resent, 2);
        // Without an acknowledgement, the timeout resends too.
        send(&mut client, b"m4", 20 * MS);
        assert!(
            control(&mut client, 30 * MS).is_none(),
            "before the timeout"
        );
        let resend = control(&mut client, 80 * MS).unwrap();
        assert!(
            matches!(Packet::decode_from_client(&resend).unwrap(), Packet::ClientData(data) if data.sequence_number == 4)
        );
    }

    #[test]
    fn heartbeats_liveness_and_relogin() {
        let mut client = logged_in();
        let beat = control(&mut client, 150 * MS).unwrap();
        assert!(matches!(
            Packet::decode_from_client(&beat).unwrap(),
            Packet::ClientHeartbeat(_)
        ));
        assert!(!client.check_liveness(900 * MS));
        assert!(client.check_liveness(1100 * MS), "lost after the timeout");
        assert_eq!(client.state(), SessionState::Lost);
        let mut out = [0u8; 256];
        assert_eq!(
            client.write_message(&mut out, b"x", 1101 * MS),
            Err(SendError::NotActive)
        );
        let login = control(&mut client, 1102 * MS).unwrap();
        assert!(matches!(
            Packet::decode_from_client(&login).unwrap(),
            Packet::LoginRequest(_)
        ));
        let event = client
            .on_datagram(&heartbeat(1, 1), 1200 * MS, |_, _| {})
            .unwrap();
        assert!(event.up && client.state() == SessionState::Active);
        assert_eq!(client.counters().lost, 1);
    }

    #[test]
    fn store_full_rejections_and_end_of_session() {
        let mut client = new_client(16);
        control(&mut client, 0).unwrap();
        client.on_datagram(&accepted(1, 1), MS, |_, _| {}).unwrap();
        let mut out = [0u8; 256];
        for _ in 0..16 {
            client.write_message(&mut out, b"order", 2 * MS).unwrap();
        }
        assert_eq!(
            client.write_message(&mut out, b"order", 2 * MS),
            Err(SendError::StoreFull)
        );
        let ended = encode(&Packet::EndOfSession(Position {
            session: session(),
            next_sequence_number: 1,
        }));
        assert!(client.on_datagram(&ended, 3 * MS, |_, _| {}).unwrap().ended);
        let mut rejected = new_client(16);
        let refusal = encode(&Packet::LoginRejected(LoginRejected {
            session: session(),
            reason: LoginRejectReason::NotAuthorized,
        }));
        assert!(
            rejected
                .on_datagram(&refusal, 0, |_, _| {})
                .unwrap()
                .rejected
        );
        assert!(!rejected.wants_control(10 * MS));
        assert!(client.on_datagram(b"garbage", 4 * MS, |_, _| {}).is_err());
        assert_eq!(client.counters().malformed, 1);
    }
}
