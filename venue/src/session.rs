//! Order-entry sessions: the server side of UFO (UDP) and SoupBinTCP (TCP).
//!
//! Each configured user has one sequenced outbound OUCH stream for the whole venue session,
//! numbered from 1 and stored ([`Store`]), whichever transport it logs in over; a re-login
//! replays it from the requested number. Behaviour (protocol/README.md for UFO, the
//! SoupBinTCP 3.0 spec):
//! - Login: username and password must match a `--user`; the requested session must be
//!   blank or the venue's; else Login Rejected (`A` not authorized, `S` session not
//!   available; `S` also while the user is logged in over another live TCP connection, and
//!   after end of session). UFO logins may come again at any time (a client resyncing or
//!   moving address); the newest login owns the session.
//! - Requested sequence number: SoupBinTCP 0 and UFO 0 mean "from the next new message";
//!   otherwise replay starts there (clamped to what is stored and to the next number).
//! - UFO client data is processed exactly once, in client sequence order: duplicates are
//!   ignored, a gap drops the rest of the packet and triggers an immediate `H` stating the
//!   number expected. `Q` resends stored messages with their numbers.
//! - Heartbeats: `H` after `heartbeat_ns` without outbound traffic to that user, and (UFO)
//!   within [`ACK_DELAY_NS`] of client data not yet acknowledged, since `H` is the client's
//!   acknowledgement and a busy stream of `S` packets would otherwise never carry one. A user
//!   silent for `timeout_ns` is lost, as is one whose TCP connection closes or who logs out:
//!   the engine then cancels its orders (cancel-on-disconnect).
//! - Silence (admin `heartbeats` off): nothing at all is sent to participants; messages
//!   queue in the stores and go out when traffic resumes.
//! - End of session: pending messages, then `Z`, to every logged-in user; TCP connections
//!   close; later logins are rejected with `S`.
//!
//! Every loop is bounded by the number of users, connections or stored messages involved.

use std::{
    collections::{HashMap, HashSet},
    io::Write as _,
    net::{Shutdown, SocketAddr, TcpStream, UdpSocket},
    ops::Range,
};

use tickwire_protocol::{
    ouch::OutboundMessage,
    soupbintcp::{self, Password, Session, Username},
    ufo::{self, DataKind, DataPacketWriter},
};

use crate::{book::OrderRef, store::Store};

/// UFO client data is acknowledged (by an `H`) at most this long after it arrived, even while
/// `S` packets keep the session from being idle.
pub const ACK_DELAY_NS: u64 = 10_000_000;

/// Largest UFO datagram the venue sends.
const UFO_MAX_DATAGRAM: usize = 1400;

/// Which transport a user is logged in over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// UFO over UDP.
    Ufo,
    /// SoupBinTCP.
    SoupBinTcp,
}

impl Protocol {
    /// Name used in admin answers.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ufo => "ufo",
            Self::SoupBinTcp => "soupbintcp",
        }
    }
}

/// Where a user's outbound messages go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// Not logged in.
    None,
    /// UFO peer address.
    Ufo(SocketAddr),
    /// SoupBinTCP connection id.
    Tcp(u64),
}

/// A participant order that is still open, with what its reports echo.
#[derive(Debug, Clone, Copy)]
pub struct LiveOrder {
    /// Venue reference.
    pub order_ref: OrderRef,
    /// Symbol index.
    pub symbol: u16,
    /// The OUCH side byte as entered (`B`, `S`, `T`, `E`).
    pub side: u8,
    /// Price, `Price(4)` raw.
    pub price: u32,
    /// Time in force.
    pub time_in_force: u32,
    /// Firm.
    pub firm: [u8; 4],
    /// Display.
    pub display: u8,
    /// Capacity.
    pub capacity: u8,
    /// Intermarket sweep eligibility.
    pub intermarket_sweep: u8,
    /// Minimum quantity.
    pub minimum_quantity: u32,
    /// Cross type.
    pub cross_type: u8,
}

/// One inbound OUCH message as received, for the admin `orders` command.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    /// Transport.
    pub protocol: Protocol,
    /// UFO client sequence number (none on SoupBinTCP).
    pub client_sequence: Option<u64>,
    /// Monotonic arrival time.
    pub arrival_ns: u64,
    /// The message bytes.
    pub bytes: Vec<u8>,
}

/// One execution of a participant order.
#[derive(Debug, Clone, Copy)]
pub struct Fill {
    /// Order token at the time.
    pub token: [u8; 14],
    /// Symbol index.
    pub symbol: u16,
    /// OUCH side byte.
    pub side: u8,
    /// Shares.
    pub shares: u32,
    /// Price, `Price(4)` raw.
    pub price: u32,
    /// Match number.
    pub match_number: u64,
    /// Liquidity flag (`A` added, `R` removed).
    pub liquidity: u8,
}

/// Per-user counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserCounters {
    /// Enter Order messages.
    pub enter: u64,
    /// Replace Order messages.
    pub replace: u64,
    /// Cancel Order messages.
    pub cancel: u64,
    /// Modify Order messages.
    pub modify: u64,
    /// Messages that did not decode.
    pub invalid: u64,
    /// Orders rejected (any reason).
    pub rejected: u64,
    /// Enter/Replace with a token used before (rejected `O`).
    pub duplicate_token: u64,
    /// Replace of a token that is not open (rejected `O`).
    pub unknown_token: u64,
    /// Cancel/Modify of a token that is not open (ignored).
    pub unknown_cancel: u64,
    /// UFO client messages ignored as duplicates.
    pub duplicate_client_messages: u64,
    /// UFO client gaps seen.
    pub client_gaps: u64,
    /// Times the session was lost (timeout, disconnect, logout).
    pub lost: u64,
    /// Logins accepted.
    pub logins: u64,
}

/// A configured user and its session state.
#[derive(Debug)]
pub struct User {
    /// Name as configured.
    pub name: String,
    username: Username,
    password: Password,
    /// Sequenced outbound OUCH messages.
    pub out: Store,
    /// Next outbound number to transmit.
    pub sent_next: u64,
    /// Current transport binding.
    pub binding: Binding,
    /// Transport of the last login.
    pub protocol: Option<Protocol>,
    /// Last inbound traffic (monotonic ns).
    pub last_heard_ns: u64,
    /// Last outbound traffic (monotonic ns).
    pub last_sent_ns: u64,
    /// UFO: next client sequence number expected.
    pub next_client_sequence: u64,
    /// UFO: the next client sequence number last stated to the client (in `A` or `H`).
    pub acked_client_sequence: u64,
    /// UFO: when client data first went unacknowledged.
    pub unacked_since_ns: u64,
    /// Open orders by current token.
    pub live: HashMap<[u8; 14], LiveOrder>,
    /// Every token used by an accepted or rejected Enter/Replace (day-unique).
    pub tokens_used: HashSet<[u8; 14]>,
    /// Inbound messages, in arrival order (bounded by `audit_limit`).
    pub audit: Vec<AuditRecord>,
    /// Inbound messages not kept because of the bound.
    pub audit_dropped: u64,
    /// Executions.
    pub fills: Vec<Fill>,
    /// Counters.
    pub counters: UserCounters,
}

impl User {
    /// True while logged in.
    #[must_use]
    pub const fn logged_in(&self) -> bool {
        !matches!(self.binding, Binding::None)
    }
}

/// Something the engine must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// An OUCH message to process: `bytes[range]` of the datagram or packet given.
    Message {
        /// User index.
        user: usize,
        /// UFO client sequence number.
        client_sequence: Option<u64>,
        /// Where the message is.
        range: Range<usize>,
    },
    /// The user's session is lost: cancel its orders.
    Lost {
        /// User index.
        user: usize,
        /// Why (for the log).
        reason: &'static str,
    },
}

/// Session counters not tied to a user.
#[derive(Debug, Clone, Copy, Default)]
pub struct SessionCounters {
    /// UFO datagrams that did not decode.
    pub ufo_invalid: u64,
    /// UFO datagrams from an address with no logged-in user.
    pub ufo_unknown_peer: u64,
    /// Packets naming another session.
    pub wrong_session: u64,
    /// Logins rejected.
    pub logins_rejected: u64,
    /// SoupBinTCP protocol errors (connection closed).
    pub tcp_protocol_errors: u64,
    /// Outbound send or write failures.
    pub send_errors: u64,
}

#[derive(Debug)]
struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    user: Option<usize>,
    opened_ns: u64,
}

/// Session settings.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Session name (the feed's).
    pub session: String,
    /// Server heartbeat interval.
    pub heartbeat_ns: u64,
    /// Client silence after which the session is lost.
    pub timeout_ns: u64,
    /// Stored outbound bytes per user.
    pub out_limit_bytes: usize,
    /// Inbound messages kept per user for the admin `orders` command.
    pub audit_limit: usize,
}

/// All users and connections; see the module docs.
#[derive(Debug)]
pub struct Participants {
    /// Users, in `--user` order.
    pub users: Vec<User>,
    conns: HashMap<u64, Conn>,
    ufo_peers: HashMap<SocketAddr, usize>,
    ufo: Option<UdpSocket>,
    session: Session,
    config: SessionConfig,
    /// Nothing is sent while set.
    pub silenced: bool,
    ended: bool,
    dirty: Vec<usize>,
    buf: Vec<u8>,
    /// Counters.
    pub counters: SessionCounters,
}

impl Participants {
    /// Users from `(name, password)` pairs; `ufo` is the socket UFO replies leave from.
    ///
    /// # Errors
    /// A name longer than 6 or a password longer than 10 bytes, or a session name longer
    /// than 10.
    pub fn new(
        users: &[(String, String)],
        ufo: Option<UdpSocket>,
        config: SessionConfig,
    ) -> Result<Self, soupbintcp::SoupBinTcpError> {
        let session = Session::from_text(config.session.as_bytes())?;
        let users = users
            .iter()
            .map(|(name, password)| {
                Ok(User {
                    name: name.clone(),
                    username: Username::from_text(name.as_bytes())?,
                    password: Password::from_text(password.as_bytes())?,
                    out: Store::new(64 << 10, config.out_limit_bytes),
                    sent_next: 1,
                    binding: Binding::None,
                    protocol: None,
                    last_heard_ns: 0,
                    last_sent_ns: 0,
                    next_client_sequence: 1,
                    acked_client_sequence: 1,
                    unacked_since_ns: 0,
                    live: HashMap::new(),
                    tokens_used: HashSet::new(),
                    audit: Vec::new(),
                    audit_dropped: 0,
                    fills: Vec::new(),
                    counters: UserCounters::default(),
                })
            })
            .collect::<Result<Vec<_>, soupbintcp::SoupBinTcpError>>()?;
        Ok(Self {
            users,
            conns: HashMap::new(),
            ufo_peers: HashMap::new(),
            ufo,
            session,
            config,
            silenced: false,
            ended: false,
            dirty: Vec::new(),
            buf: vec![0; 1 << 16],
            counters: SessionCounters::default(),
        })
    }

    /// The user index for `name`.
    #[must_use]
    pub fn user_index(&self, name: &str) -> Option<usize> {
        self.users.iter().position(|user| user.name == name)
    }

    /// Keeps an inbound message for the admin `orders` command.
    pub fn audit(&mut self, user: usize, record: AuditRecord) {
        let limit = self.config.audit_limit;
        if let Some(user) = self.users.get_mut(user) {
            if user.audit.len() < limit {
                user.audit.push(record);
            } else {
                user.audit_dropped += 1;
            }
        }
    }

    /// Appends an OUCH message to `user`'s stream; it goes out at the next flush.
    pub fn queue(&mut self, user: usize, message: &OutboundMessage) {
        let mut bytes = [0u8; tickwire_protocol::ouch::MAX_MESSAGE_LEN];
        let Ok(len) = message.encode(&mut bytes) else {
            return;
        };
        if let Some(state) = self.users.get_mut(user) {
            state.out.push(bytes.get(..len).unwrap_or_default());
            if !self.dirty.contains(&user) {
                self.dirty.push(user);
            }
        }
    }

    /// Sends what is pending to every user that has something.
    pub fn flush(&mut self, now_ns: u64, events: &mut Vec<SessionEvent>) {
        if self.silenced {
            return;
        }
        let dirty = std::mem::take(&mut self.dirty);
        for &user in &dirty {
            self.transmit(user, now_ns, events);
        }
        self.dirty = dirty;
        self.dirty.clear();
    }

    /// Sends `user`'s messages from `sent_next` on.
    fn transmit(&mut self, user: usize, now_ns: u64, events: &mut Vec<SessionEvent>) {
        if self.silenced {
            return;
        }
        let Some(state) = self.users.get(user) else {
            return;
        };
        let (from, to) = (state.sent_next, state.out.next());
        if from >= to {
            return;
        }
        match state.binding {
            Binding::None => {}
            Binding::Ufo(peer) => {
                self.send_ufo_range(user, peer, from, to);
                if let Some(state) = self.users.get_mut(user) {
                    state.sent_next = to;
                    state.last_sent_ns = now_ns;
                }
            }
            Binding::Tcp(conn) => {
                let mut ok = true;
                let mut next = from;
                // One S packet per message, written in batches of up to 64 KiB.
                while next < to && ok {
                    let mut len = 0;
                    while next < to {
                        let Some(message) = self.users.get(user).and_then(|s| s.out.get(next))
                        else {
                            next += 1;
                            continue;
                        };
                        let Some(slot) = self.buf.get_mut(len..) else {
                            break;
                        };
                        let Ok(header) = soupbintcp::encode_header(
                            slot,
                            soupbintcp::PacketType::SequencedData,
                            message.len(),
                        ) else {
                            break;
                        };
                        if let Some(body) = slot.get_mut(header..header + message.len()) {
                            body.copy_from_slice(message);
                        }
                        len += header + message.len();
                        next += 1;
                    }
                    if len == 0 {
                        break;
                    }
                    ok = self.write_tcp(conn, len);
                }
                if ok {
                    if let Some(state) = self.users.get_mut(user) {
                        state.sent_next = to;
                        state.last_sent_ns = now_ns;
                    }
                } else {
                    self.close_conn(conn, "write failed", events);
                }
            }
        }
    }

    /// Sends stored messages `[from, to)` of `user` to a UFO peer in `S` packets.
    fn send_ufo_range(&mut self, user: usize, peer: SocketAddr, from: u64, to: u64) {
        let Some(socket) = &self.ufo else {
            return;
        };
        let Some(state) = self.users.get(user) else {
            return;
        };
        let mut next = from.max(state.out.first());
        // Each datagram carries at least one message.
        while next < to {
            let first = next;
            let Some(buf) = self.buf.get_mut(..UFO_MAX_DATAGRAM) else {
                return;
            };
            let Ok(mut writer) =
                DataPacketWriter::new(buf, DataKind::Sequenced, &self.session, first)
            else {
                return;
            };
            while next < to {
                let Some(message) = state.out.get(next) else {
                    break;
                };
                if writer.count() > 0
                    && writer.encoded_len() + ufo::BLOCK_HEADER_LEN + message.len()
                        > UFO_MAX_DATAGRAM
                {
                    break;
                }
                if writer.push(message).is_err() {
                    break;
                }
                next += 1;
            }
            if next == first {
                return;
            }
            let Ok(len) = writer.finish() else {
                return;
            };
            if let Some(datagram) = self.buf.get(..len)
                && socket.send_to(datagram, peer).is_err()
            {
                self.counters.send_errors += 1;
            }
        }
    }

    /// Writes `buf[..len]` to a TCP connection; false on failure.
    fn write_tcp(&mut self, conn: u64, len: usize) -> bool {
        let Some(connection) = self.conns.get_mut(&conn) else {
            return false;
        };
        let Some(bytes) = self.buf.get(..len) else {
            return false;
        };
        if connection.stream.write_all(bytes).is_err() {
            self.counters.send_errors += 1;
            return false;
        }
        true
    }

    /// Sends one UFO packet (not data).
    fn send_ufo_packet(&mut self, peer: SocketAddr, packet: &ufo::Packet<'_>) {
        let Some(socket) = &self.ufo else {
            return;
        };
        let mut bytes = [0u8; ufo::HEADER_LEN + 16];
        if let Ok(len) = packet.encode(&mut bytes)
            && socket
                .send_to(bytes.get(..len).unwrap_or_default(), peer)
                .is_err()
        {
            self.counters.send_errors += 1;
        }
    }

    /// Sends one SoupBinTCP packet (not data); false on failure.
    fn send_tcp_packet(&mut self, conn: u64, packet: &soupbintcp::Packet<'_>) -> bool {
        let Ok(len) = packet.encode(&mut self.buf) else {
            return false;
        };
        self.write_tcp(conn, len)
    }

    /// A UFO heartbeat for `user` at `peer`; it acknowledges the client's messages.
    fn ufo_heartbeat(&mut self, user: usize, peer: SocketAddr) {
        let Some(state) = self.users.get_mut(user) else {
            return;
        };
        state.acked_client_sequence = state.next_client_sequence;
        let status = ufo::ServerStatus {
            session: self.session,
            next_sequence_number: state.out.next(),
            next_client_sequence_number: state.next_client_sequence,
        };
        self.send_ufo_packet(peer, &ufo::Packet::ServerHeartbeat(status));
    }

    /// Finds the user for a login; `Err` is the reject reason byte.
    fn authenticate(
        &self,
        username: &Username,
        password: &Password,
        requested_session: &Session,
    ) -> Result<usize, u8> {
        if self.ended {
            return Err(b'S');
        }
        if !requested_session.is_blank() && requested_session.text() != self.session.text() {
            return Err(b'S');
        }
        let user = self
            .users
            .iter()
            .position(|user| {
                user.username.text() == username.text() && user.password.text() == password.text()
            })
            .ok_or(b'A')?;
        if let Some(Binding::Tcp(conn)) = self.users.get(user).map(|user| user.binding)
            && self.conns.contains_key(&conn)
        {
            return Err(b'S');
        }
        Ok(user)
    }

    /// Binds `user` after a successful login and picks where replay starts.
    fn bind(&mut self, user: usize, binding: Binding, requested: u64, now_ns: u64) -> u64 {
        self.unbind(user);
        let Some(state) = self.users.get_mut(user) else {
            return 1;
        };
        state.binding = binding;
        state.protocol = Some(match binding {
            Binding::Tcp(_) => Protocol::SoupBinTcp,
            _ => Protocol::Ufo,
        });
        state.last_heard_ns = now_ns;
        state.last_sent_ns = now_ns;
        state.counters.logins += 1;
        state.sent_next = if requested == 0 {
            state.out.next()
        } else {
            requested.clamp(state.out.first(), state.out.next())
        };
        if let Binding::Ufo(peer) = binding {
            self.ufo_peers.insert(peer, user);
        }
        if !self.dirty.contains(&user) {
            self.dirty.push(user);
        }
        state.sent_next
    }

    /// Forgets `user`'s transport binding (the TCP connection, if any, stays open).
    fn unbind(&mut self, user: usize) {
        if let Some(state) = self.users.get_mut(user) {
            if let Binding::Ufo(peer) = state.binding {
                self.ufo_peers.remove(&peer);
            }
            if let Binding::Tcp(conn) = state.binding
                && let Some(connection) = self.conns.get_mut(&conn)
            {
                connection.user = None;
            }
            state.binding = Binding::None;
        }
    }

    /// Handles one UFO datagram.
    pub fn ufo_datagram(
        &mut self,
        from: SocketAddr,
        bytes: &[u8],
        now_ns: u64,
        events: &mut Vec<SessionEvent>,
    ) {
        let packet = match ufo::Packet::decode_from_client(bytes) {
            Ok(packet) => packet,
            Err(error) => {
                self.counters.ufo_invalid += 1;
                tracing::debug!(%from, "invalid UFO datagram: {error}");
                return;
            }
        };
        if let ufo::Packet::LoginRequest(request) = packet {
            self.ufo_login(from, &request, now_ns, events);
            return;
        }
        let Some(&user) = self.ufo_peers.get(&from) else {
            self.counters.ufo_unknown_peer += 1;
            return;
        };
        let session = packet.session();
        if !session.is_blank() && session.text() != self.session.text() {
            self.counters.wrong_session += 1;
            return;
        }
        if let Some(state) = self.users.get_mut(user) {
            state.last_heard_ns = now_ns;
        }
        match packet {
            ufo::Packet::ClientData(data) => {
                let Some(state) = self.users.get_mut(user) else {
                    return;
                };
                let mut offset = ufo::DATA_HEADER_LEN;
                let mut gap = false;
                for (index, message) in data.messages().enumerate() {
                    let start = offset + ufo::BLOCK_HEADER_LEN;
                    offset = start + message.len();
                    let client_sequence = data.sequence_number + index as u64;
                    if client_sequence < state.next_client_sequence {
                        state.counters.duplicate_client_messages += 1;
                        continue;
                    }
                    if client_sequence > state.next_client_sequence {
                        state.counters.client_gaps += 1;
                        gap = true;
                        break;
                    }
                    if state.acked_client_sequence == state.next_client_sequence {
                        state.unacked_since_ns = now_ns;
                    }
                    state.next_client_sequence += 1;
                    events.push(SessionEvent::Message {
                        user,
                        client_sequence: Some(client_sequence),
                        range: start..offset,
                    });
                }
                if gap && !self.silenced {
                    self.ufo_heartbeat(user, from);
                    if let Some(state) = self.users.get_mut(user) {
                        state.last_sent_ns = now_ns;
                    }
                }
            }
            ufo::Packet::RetransmissionRequest(request) if !self.silenced => {
                let to = request
                    .sequence_number
                    .saturating_add(u64::from(request.count));
                let next = self.users.get(user).map_or(0, |state| state.out.next());
                self.send_ufo_range(user, from, request.sequence_number, to.min(next));
            }
            ufo::Packet::LogoutRequest(_) => {
                self.unbind(user);
                if let Some(state) = self.users.get_mut(user) {
                    state.counters.lost += 1;
                }
                events.push(SessionEvent::Lost {
                    user,
                    reason: "UFO logout",
                });
            }
            _ => {}
        }
    }

    fn ufo_login(
        &mut self,
        from: SocketAddr,
        request: &ufo::LoginRequest,
        now_ns: u64,
        events: &mut Vec<SessionEvent>,
    ) {
        if self.silenced {
            return;
        }
        match self.authenticate(
            &request.username,
            &request.password,
            &request.requested_session,
        ) {
            Err(reason) => {
                self.counters.logins_rejected += 1;
                let reason = ufo::LoginRejectReason::from_byte(reason)
                    .unwrap_or(ufo::LoginRejectReason::NotAuthorized);
                let rejected = ufo::Packet::LoginRejected(ufo::LoginRejected {
                    session: request.requested_session,
                    reason,
                });
                self.send_ufo_packet(from, &rejected);
            }
            Ok(user) => {
                // A user bound to another UFO address moves here.
                let next = self.bind(
                    user,
                    Binding::Ufo(from),
                    request.requested_sequence_number,
                    now_ns,
                );
                let next_client = self.users.get_mut(user).map_or(1, |state| {
                    state.acked_client_sequence = state.next_client_sequence;
                    state.next_client_sequence
                });
                let accepted = ufo::Packet::LoginAccepted(ufo::ServerStatus {
                    session: self.session,
                    next_sequence_number: next,
                    next_client_sequence_number: next_client,
                });
                self.send_ufo_packet(from, &accepted);
                tracing::info!(user = %self.users.get(user).map_or("", |u| u.name.as_str()), %from, next, "UFO login");
                self.transmit(user, now_ns, events);
            }
        }
    }

    /// A new TCP connection.
    pub fn tcp_connected(&mut self, conn: u64, stream: TcpStream, peer: SocketAddr, now_ns: u64) {
        if self.ended {
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        self.conns.insert(
            conn,
            Conn {
                stream,
                peer,
                user: None,
                opened_ns: now_ns,
            },
        );
    }

    /// One whole SoupBinTCP packet from connection `conn`.
    pub fn tcp_packet(
        &mut self,
        conn: u64,
        bytes: &[u8],
        now_ns: u64,
        events: &mut Vec<SessionEvent>,
    ) {
        let Some(user) = self.conns.get(&conn).map(|connection| connection.user) else {
            return;
        };
        let Ok(Some((packet, _))) = soupbintcp::Packet::decode(bytes) else {
            self.counters.tcp_protocol_errors += 1;
            self.close_conn(conn, "undecodable packet", events);
            return;
        };
        if let Some(user) = user
            && let Some(state) = self.users.get_mut(user)
        {
            state.last_heard_ns = now_ns;
        }
        match (packet, user) {
            (soupbintcp::Packet::LoginRequest(request), None) => {
                self.tcp_login(conn, &request, now_ns, events);
            }
            (soupbintcp::Packet::UnsequencedData(payload), Some(user)) => {
                events.push(SessionEvent::Message {
                    user,
                    client_sequence: None,
                    range: soupbintcp::HEADER_LEN..soupbintcp::HEADER_LEN + payload.len(),
                });
            }
            (soupbintcp::Packet::ClientHeartbeat | soupbintcp::Packet::Debug(_), _) => {}
            (soupbintcp::Packet::LogoutRequest, _) => {
                self.close_conn(conn, "logout", events);
            }
            _ => {
                self.counters.tcp_protocol_errors += 1;
                self.close_conn(conn, "unexpected packet", events);
            }
        }
    }

    fn tcp_login(
        &mut self,
        conn: u64,
        request: &soupbintcp::LoginRequest,
        now_ns: u64,
        events: &mut Vec<SessionEvent>,
    ) {
        if self.silenced {
            return;
        }
        match self.authenticate(
            &request.username,
            &request.password,
            &request.requested_session,
        ) {
            Err(reason) => {
                self.counters.logins_rejected += 1;
                let rejected = soupbintcp::Packet::LoginRejected(
                    soupbintcp::LoginRejectReason::from_byte(reason),
                );
                self.send_tcp_packet(conn, &rejected);
                self.close_conn(conn, "login rejected", events);
            }
            Ok(user) => {
                let next = self.bind(
                    user,
                    Binding::Tcp(conn),
                    request.requested_sequence_number,
                    now_ns,
                );
                if let Some(connection) = self.conns.get_mut(&conn) {
                    connection.user = Some(user);
                }
                let accepted = soupbintcp::Packet::LoginAccepted(soupbintcp::LoginAccepted {
                    session: self.session,
                    sequence_number: next,
                });
                if !self.send_tcp_packet(conn, &accepted) {
                    self.close_conn(conn, "write failed", events);
                    return;
                }
                tracing::info!(user = %self.users.get(user).map_or("", |u| u.name.as_str()), next, "SoupBinTCP login");
                self.transmit(user, now_ns, events);
            }
        }
    }

    /// The reader saw the connection end.
    pub fn tcp_closed(&mut self, conn: u64, events: &mut Vec<SessionEvent>) {
        self.close_conn(conn, "connection closed", events);
    }

    /// Closes a connection; its user (if any) is lost.
    fn close_conn(&mut self, conn: u64, reason: &'static str, events: &mut Vec<SessionEvent>) {
        let Some(connection) = self.conns.remove(&conn) else {
            return;
        };
        let _ = connection.stream.shutdown(Shutdown::Both);
        if let Some(user) = connection.user
            && let Some(state) = self.users.get_mut(user)
            && state.binding == Binding::Tcp(conn)
        {
            state.binding = Binding::None;
            state.counters.lost += 1;
            tracing::info!(user = %state.name, peer = %connection.peer, reason, "SoupBinTCP session ended");
            events.push(SessionEvent::Lost { user, reason });
        }
    }

    /// Heartbeats and timeouts.
    pub fn on_timer(&mut self, now_ns: u64, events: &mut Vec<SessionEvent>) {
        for user in 0..self.users.len() {
            let Some(state) = self.users.get(user) else {
                continue;
            };
            let binding = state.binding;
            if binding == Binding::None {
                continue;
            }
            if now_ns.saturating_sub(state.last_heard_ns) >= self.config.timeout_ns {
                match binding {
                    Binding::Tcp(conn) => self.close_conn(conn, "client timeout", events),
                    _ => {
                        self.unbind(user);
                        if let Some(state) = self.users.get_mut(user) {
                            state.counters.lost += 1;
                        }
                        events.push(SessionEvent::Lost {
                            user,
                            reason: "client timeout",
                        });
                    }
                }
                continue;
            }
            let ack_due = matches!(binding, Binding::Ufo(_))
                && state.acked_client_sequence < state.next_client_sequence
                && now_ns.saturating_sub(state.unacked_since_ns) >= ACK_DELAY_NS;
            if self.silenced
                || (!ack_due
                    && now_ns.saturating_sub(state.last_sent_ns) < self.config.heartbeat_ns)
            {
                continue;
            }
            match binding {
                Binding::Ufo(peer) => self.ufo_heartbeat(user, peer),
                Binding::Tcp(conn) => {
                    if !self.send_tcp_packet(conn, &soupbintcp::Packet::ServerHeartbeat) {
                        self.close_conn(conn, "write failed", events);
                        continue;
                    }
                }
                Binding::None => {}
            }
            if let Some(state) = self.users.get_mut(user) {
                state.last_sent_ns = now_ns;
            }
        }
        let stale: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, connection)| {
                connection.user.is_none()
                    && now_ns.saturating_sub(connection.opened_ns) >= self.config.timeout_ns
            })
            .map(|(&conn, _)| conn)
            .collect();
        for conn in stale {
            self.close_conn(conn, "no login", events);
        }
    }

    /// When [`Participants::on_timer`] next has work (at the latest).
    #[must_use]
    pub fn next_deadline(&self, now_ns: u64) -> u64 {
        let mut deadline = now_ns + self.config.heartbeat_ns.min(self.config.timeout_ns);
        for user in &self.users {
            if user.logged_in() {
                deadline = deadline
                    .min(user.last_sent_ns + self.config.heartbeat_ns)
                    .min(user.last_heard_ns + self.config.timeout_ns);
                if matches!(user.binding, Binding::Ufo(_))
                    && user.acked_client_sequence < user.next_client_sequence
                    && !self.silenced
                {
                    deadline = deadline.min(user.unacked_since_ns + ACK_DELAY_NS);
                }
            }
        }
        deadline.max(now_ns)
    }

    /// Resumes or stops all outbound session traffic.
    pub fn set_silenced(&mut self, silenced: bool, now_ns: u64, events: &mut Vec<SessionEvent>) {
        self.silenced = silenced;
        if !silenced {
            for user in 0..self.users.len() {
                self.transmit(user, now_ns, events);
            }
        }
    }

    /// Ends the session for everyone: pending messages, then `Z`; TCP connections close.
    /// Later logins are rejected. Idempotent.
    pub fn end_session(&mut self, now_ns: u64) {
        if self.ended {
            return;
        }
        let mut events = Vec::new();
        self.silenced = false;
        for user in 0..self.users.len() {
            self.transmit(user, now_ns, &mut events);
            let Some(state) = self.users.get(user) else {
                continue;
            };
            let next = state.out.next();
            match state.binding {
                Binding::Ufo(peer) => {
                    let end = ufo::Packet::EndOfSession(ufo::Position {
                        session: self.session,
                        next_sequence_number: next,
                    });
                    self.send_ufo_packet(peer, &end);
                }
                Binding::Tcp(conn) => {
                    self.send_tcp_packet(conn, &soupbintcp::Packet::EndOfSession);
                }
                Binding::None => {}
            }
            self.unbind(user);
        }
        for (_, connection) in self.conns.drain() {
            let _ = connection.stream.shutdown(Shutdown::Both);
        }
        self.ufo_peers.clear();
        self.ended = true;
    }

    /// Peer address of a user's binding, for the admin status.
    #[must_use]
    pub fn peer(&self, user: usize) -> Option<SocketAddr> {
        match self.users.get(user)?.binding {
            Binding::Ufo(peer) => Some(peer),
            Binding::Tcp(conn) => self.conns.get(&conn).map(|connection| connection.peer),
            Binding::None => None,
        }
    }
}
