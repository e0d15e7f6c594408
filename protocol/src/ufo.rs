//! UFO ("UDP for Orders") session framing, tickwire's own layout.
//!
//! Nasdaq publishes a UFO specification, but its packet layouts could not be found in any
//! source available to this project; the framing here is tickwire's own design, shaped like
//! MoldUDP64 (session, 64-bit sequence number, count, length-prefixed message blocks) and
//! documented byte for byte in `protocol/README.md`. It does not interoperate with Nasdaq's
//! UFO.
//!
//! One UDP datagram carries one packet. Every packet starts with the same 19-byte header:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | packet type (ASCII) |
//! | 1 | 10 | session (ASCII 0x20..=0x7E, space padded) |
//! | 11 | 8 | sequence number (u64, big-endian); meaning per type |
//!
//! Client to server: `L` Login Request, `U` Client Data, `Q` Retransmission Request, `R`
//! Client Heartbeat, `O` Logout Request. Server to client: `A` Login Accepted, `J` Login
//! Rejected, `S` Sequenced Data, `H` Server Heartbeat, `Z` End of Session. Both data
//! packets carry a 2-byte count and then `count` blocks of a 2-byte length and that many
//! bytes of one higher-level (OUCH) message. Client Data messages carry the client's own
//! sequence numbers, so the server processes each exactly once however often the client
//! retransmits; the server acknowledges with the next client sequence number it expects
//! (Login Accepted, Server Heartbeat).
//!
//! Contract: decoding is strict (known type, exact lengths, printable alpha fields,
//! non-zero sequence numbers and counts where the layout requires them, blocks that exactly
//! fill the datagram), borrows message blocks from the datagram, never allocates and never
//! panics; errors name the packet type and the offset. Encoding writes into the caller's
//! buffer (an AF_XDP TX frame, say) without allocating; [`DataPacketWriter`] lets messages
//! be encoded in place. Every packet that decodes re-encodes to the same bytes.

use core::fmt;

pub use crate::soupbintcp::{Password, Session, Username};

/// Bytes before the type-specific body.
pub const HEADER_LEN: usize = 19;
/// Bytes before the first message block of a data packet (header and count).
pub const DATA_HEADER_LEN: usize = HEADER_LEN + 2;
/// Bytes of a message block's length prefix.
pub const BLOCK_HEADER_LEN: usize = 2;
/// Longest message one block can carry.
pub const MAX_MESSAGE_LEN: usize = u16::MAX as usize;

const SESSION_OFFSET: usize = 1;
const SEQUENCE_OFFSET: usize = 11;

/// Which way a packet travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client (the trading engine) to server (the venue).
    ClientToServer,
    /// Server to client.
    ServerToClient,
}

/// UFO packet type (the first byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// `L` (client): log in.
    LoginRequest,
    /// `U` (client): client-sequenced messages.
    ClientData,
    /// `Q` (client): resend sequenced messages.
    RetransmissionRequest,
    /// `R` (client): keep-alive and receive position.
    ClientHeartbeat,
    /// `O` (client): end the session for this client.
    LogoutRequest,
    /// `A` (server): login accepted.
    LoginAccepted,
    /// `J` (server): login rejected.
    LoginRejected,
    /// `S` (server): server-sequenced messages.
    SequencedData,
    /// `H` (server): keep-alive, stream position and acknowledgement.
    ServerHeartbeat,
    /// `Z` (server): the session has ended.
    EndOfSession,
}

impl PacketType {
    /// The packet type for a wire byte, if it is one.
    #[inline]
    #[must_use]
    pub const fn from_byte(byte: u8) -> Option<Self> {
        Some(match byte {
            b'L' => Self::LoginRequest,
            b'U' => Self::ClientData,
            b'Q' => Self::RetransmissionRequest,
            b'R' => Self::ClientHeartbeat,
            b'O' => Self::LogoutRequest,
            b'A' => Self::LoginAccepted,
            b'J' => Self::LoginRejected,
            b'S' => Self::SequencedData,
            b'H' => Self::ServerHeartbeat,
            b'Z' => Self::EndOfSession,
            _ => return None,
        })
    }

    /// The wire byte.
    #[inline]
    #[must_use]
    pub const fn to_byte(self) -> u8 {
        match self {
            Self::LoginRequest => b'L',
            Self::ClientData => b'U',
            Self::RetransmissionRequest => b'Q',
            Self::ClientHeartbeat => b'R',
            Self::LogoutRequest => b'O',
            Self::LoginAccepted => b'A',
            Self::LoginRejected => b'J',
            Self::SequencedData => b'S',
            Self::ServerHeartbeat => b'H',
            Self::EndOfSession => b'Z',
        }
    }

    /// Who sends this packet type.
    #[inline]
    #[must_use]
    pub const fn direction(self) -> Direction {
        match self {
            Self::LoginRequest
            | Self::ClientData
            | Self::RetransmissionRequest
            | Self::ClientHeartbeat
            | Self::LogoutRequest => Direction::ClientToServer,
            Self::LoginAccepted
            | Self::LoginRejected
            | Self::SequencedData
            | Self::ServerHeartbeat
            | Self::EndOfSession => Direction::ServerToClient,
        }
    }

    /// Total length of a fixed-size packet type; `None` for the two data packets.
    #[inline]
    #[must_use]
    pub const fn fixed_len(self) -> Option<usize> {
        match self {
            Self::ClientData | Self::SequencedData => None,
            Self::LoginRequest => Some(HEADER_LEN + 16),
            Self::RetransmissionRequest => Some(HEADER_LEN + 2),
            Self::LoginAccepted | Self::ServerHeartbeat => Some(HEADER_LEN + 8),
            Self::LoginRejected => Some(HEADER_LEN + 1),
            Self::ClientHeartbeat | Self::LogoutRequest | Self::EndOfSession => Some(HEADER_LEN),
        }
    }
}

impl fmt::Display for PacketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::LoginRequest => "Login Request",
            Self::ClientData => "Client Data",
            Self::RetransmissionRequest => "Retransmission Request",
            Self::ClientHeartbeat => "Client Heartbeat",
            Self::LogoutRequest => "Logout Request",
            Self::LoginAccepted => "Login Accepted",
            Self::LoginRejected => "Login Rejected",
            Self::SequencedData => "Sequenced Data",
            Self::ServerHeartbeat => "Server Heartbeat",
            Self::EndOfSession => "End of Session",
        };
        write!(f, "{name} ('{}')", char::from(self.to_byte()))
    }
}

/// Why a UFO packet could not be decoded or encoded. Offsets count from the start of the
/// datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UfoError {
    /// The datagram is shorter than the 19-byte header.
    #[error("UFO datagram of {len} bytes is shorter than the {HEADER_LEN}-byte header")]
    Truncated {
        /// Datagram length.
        len: usize,
    },
    /// The byte at offset 0 names no UFO packet.
    #[error("unknown UFO packet type {:?} at offset 0", char::from(*.packet_type))]
    UnknownType {
        /// The type byte.
        packet_type: u8,
    },
    /// A packet of the other direction where only one direction is accepted.
    #[error("UFO {packet_type} packet at offset 0 travels the wrong way for this decoder")]
    WrongDirection {
        /// Packet type.
        packet_type: PacketType,
    },
    /// A fixed-size packet of the wrong length.
    #[error("UFO {packet_type} packet is {actual} bytes, expected {expected}")]
    WrongLength {
        /// Packet type.
        packet_type: PacketType,
        /// Length of this type.
        expected: usize,
        /// Datagram length.
        actual: usize,
    },
    /// An alpha field holds a byte outside 0x20..=0x7E.
    #[error("UFO {packet_type} packet: byte {byte:#04x} at offset {offset} is not printable ASCII")]
    InvalidAlpha {
        /// Packet type.
        packet_type: PacketType,
        /// Offset of the byte.
        offset: usize,
        /// The byte.
        byte: u8,
    },
    /// A sequence number that must be at least 1 is 0.
    #[error("UFO {packet_type} packet: sequence number at offset {offset} is 0")]
    ZeroSequenceNumber {
        /// Packet type.
        packet_type: PacketType,
        /// Offset of the field.
        offset: usize,
    },
    /// A sequence number that must be 0 (Login Rejected) is not.
    #[error("UFO {packet_type} packet: sequence number at offset {offset} must be 0")]
    NonZeroSequenceNumber {
        /// Packet type.
        packet_type: PacketType,
        /// Offset of the field.
        offset: usize,
    },
    /// The last sequence number of the packet (first + count - 1) exceeds `u64`.
    #[error("UFO {packet_type} packet: sequence range at offset {SEQUENCE_OFFSET} overflows u64")]
    SequenceOverflow {
        /// Packet type.
        packet_type: PacketType,
    },
    /// A count that must be at least 1 is 0.
    #[error("UFO {packet_type} packet: count at offset {HEADER_LEN} is 0")]
    ZeroCount {
        /// Packet type.
        packet_type: PacketType,
    },
    /// A message block of length 0.
    #[error("UFO {packet_type} packet: message block at offset {offset} is empty")]
    EmptyMessage {
        /// Packet type.
        packet_type: PacketType,
        /// Offset of the block's length field.
        offset: usize,
    },
    /// A message block runs past the end of the datagram.
    #[error(
        "UFO {packet_type} packet: message block at offset {offset} needs {needed} bytes, \
         {available} remain"
    )]
    BlockOverrun {
        /// Packet type.
        packet_type: PacketType,
        /// Offset of the block's length field.
        offset: usize,
        /// Bytes the block needs, length field included.
        needed: usize,
        /// Bytes left in the datagram.
        available: usize,
    },
    /// Bytes after the last of `count` message blocks.
    #[error(
        "UFO {packet_type} packet: {extra} bytes after the last message block, at offset {offset}"
    )]
    TrailingBytes {
        /// Packet type.
        packet_type: PacketType,
        /// Offset of the first extra byte.
        offset: usize,
        /// Number of extra bytes.
        extra: usize,
    },
    /// A Login Rejected reason other than `A` or `S`.
    #[error("UFO Login Rejected packet: unknown reason {:?} at offset {HEADER_LEN}", char::from(*.byte))]
    InvalidRejectReason {
        /// The byte.
        byte: u8,
    },
    /// The output buffer cannot hold the packet.
    #[error("output buffer holds {available} bytes, UFO {packet_type} packet needs {needed}")]
    BufferTooSmall {
        /// Packet type.
        packet_type: PacketType,
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// A message longer than [`MAX_MESSAGE_LEN`].
    #[error("message of {len} bytes exceeds the UFO block limit of {MAX_MESSAGE_LEN}")]
    MessageTooLong {
        /// Message length.
        len: usize,
    },
    /// A data packet would exceed `u16::MAX` messages.
    #[error("UFO data packet cannot hold more than {} messages", u16::MAX)]
    TooManyMessages,
}

/// Login Rejected reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoginRejectReason {
    /// `A`: username or password not accepted.
    NotAuthorized,
    /// `S`: the requested session is not available.
    SessionNotAvailable,
}

impl LoginRejectReason {
    /// The reason for a wire byte, if it is one.
    #[inline]
    #[must_use]
    pub const fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            b'A' => Some(Self::NotAuthorized),
            b'S' => Some(Self::SessionNotAvailable),
            _ => None,
        }
    }

    /// The wire byte.
    #[inline]
    #[must_use]
    pub const fn to_byte(self) -> u8 {
        match self {
            Self::NotAuthorized => b'A',
            Self::SessionNotAvailable => b'S',
        }
    }
}

/// `L`: log in (35 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LoginRequest {
    /// Session to join; all spaces for the current session.
    pub requested_session: Session,
    /// Next server sequence number wanted; 0 for "no replay, start with the next message".
    pub requested_sequence_number: u64,
    /// Username (offset 19).
    pub username: Username,
    /// Password (offset 25).
    pub password: Password,
}

/// `Q`: resend server messages `sequence_number ..= sequence_number + count - 1` (21 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RetransmissionRequest {
    /// Session.
    pub session: Session,
    /// First sequence number wanted (at least 1).
    pub sequence_number: u64,
    /// Number of messages wanted (at least 1).
    pub count: u16,
}

/// Header-only packets: `R` Client Heartbeat, `O` Logout Request, `Z` End of Session
/// (19 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Position {
    /// Session.
    pub session: Session,
    /// Client packets: the next server sequence number the client expects. End of Session:
    /// one past the last sequence number the server sent. At least 1.
    pub next_sequence_number: u64,
}

/// `A` Login Accepted and `H` Server Heartbeat (27 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServerStatus {
    /// Session.
    pub session: Session,
    /// Sequence number of the next Sequenced Data message the server will send (at least 1).
    pub next_sequence_number: u64,
    /// Next client sequence number the server expects (offset 19, at least 1): every Client
    /// Data message below it has been processed.
    pub next_client_sequence_number: u64,
}

/// `J` Login Rejected (20 bytes; the sequence number field is 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LoginRejected {
    /// The session requested.
    pub session: Session,
    /// Reason (offset 19).
    pub reason: LoginRejectReason,
}

/// The body of a data packet (`U` Client Data, `S` Sequenced Data): validated message
/// blocks borrowed from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DataPacket<'a> {
    /// Session.
    pub session: Session,
    /// Sequence number of the first message (at least 1); message `i` has
    /// `sequence_number + i`.
    pub sequence_number: u64,
    count: u16,
    blocks: &'a [u8],
}

impl<'a> DataPacket<'a> {
    /// Number of messages (at least 1).
    #[inline]
    #[must_use]
    pub const fn count(&self) -> u16 {
        self.count
    }

    /// Sequence number of the last message.
    #[inline]
    #[must_use]
    pub const fn last_sequence_number(&self) -> u64 {
        // Validated at construction: no overflow.
        self.sequence_number.saturating_add(self.count as u64 - 1)
    }

    /// The message blocks as on the wire (length prefixes included).
    #[inline]
    #[must_use]
    pub const fn blocks(&self) -> &'a [u8] {
        self.blocks
    }

    /// The messages, in sequence order.
    #[inline]
    #[must_use]
    pub const fn messages(&self) -> Messages<'a> {
        Messages {
            rest: self.blocks,
            remaining: self.count,
        }
    }

    /// Validates `count` blocks that exactly fill `blocks`; `offset` is where `blocks` starts
    /// in the datagram (for error offsets).
    fn new(
        packet_type: PacketType,
        session: Session,
        sequence_number: u64,
        count: u16,
        blocks: &'a [u8],
        offset: usize,
    ) -> Result<Self, UfoError> {
        if sequence_number == 0 {
            return Err(UfoError::ZeroSequenceNumber {
                packet_type,
                offset: SEQUENCE_OFFSET,
            });
        }
        if count == 0 {
            return Err(UfoError::ZeroCount { packet_type });
        }
        if sequence_number.checked_add(u64::from(count) - 1).is_none() {
            return Err(UfoError::SequenceOverflow { packet_type });
        }
        let mut rest = blocks;
        let mut at = offset;
        for _ in 0..count {
            let available = rest.len();
            let Some((length, body)) = rest.split_first_chunk::<BLOCK_HEADER_LEN>() else {
                return Err(UfoError::BlockOverrun {
                    packet_type,
                    offset: at,
                    needed: BLOCK_HEADER_LEN,
                    available,
                });
            };
            let length = usize::from(u16::from_be_bytes(*length));
            if length == 0 {
                return Err(UfoError::EmptyMessage {
                    packet_type,
                    offset: at,
                });
            }
            let Some(tail) = body.get(length..) else {
                return Err(UfoError::BlockOverrun {
                    packet_type,
                    offset: at,
                    needed: BLOCK_HEADER_LEN + length,
                    available,
                });
            };
            rest = tail;
            at += BLOCK_HEADER_LEN + length;
        }
        if !rest.is_empty() {
            return Err(UfoError::TrailingBytes {
                packet_type,
                offset: at,
                extra: rest.len(),
            });
        }
        Ok(Self {
            session,
            sequence_number,
            count,
            blocks,
        })
    }
}

/// Iterator over the messages of a [`DataPacket`].
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    rest: &'a [u8],
    remaining: u16,
}

impl<'a> Iterator for Messages<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.remaining == 0 {
            return None;
        }
        // Blocks were validated when the packet was built; `get` keeps this panic-free.
        let (length, body) = self.rest.split_first_chunk::<BLOCK_HEADER_LEN>()?;
        let (message, rest) = body.split_at_checked(usize::from(u16::from_be_bytes(*length)))?;
        self.rest = rest;
        self.remaining -= 1;
        Some(message)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let remaining = usize::from(self.remaining);
        (remaining, Some(remaining))
    }
}

impl ExactSizeIterator for Messages<'_> {}

/// One UFO packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Packet<'a> {
    /// `L`.
    LoginRequest(LoginRequest),
    /// `U`: messages numbered with the client's own sequence numbers.
    ClientData(DataPacket<'a>),
    /// `Q`.
    RetransmissionRequest(RetransmissionRequest),
    /// `R`.
    ClientHeartbeat(Position),
    /// `O`.
    LogoutRequest(Position),
    /// `A`.
    LoginAccepted(ServerStatus),
    /// `J`.
    LoginRejected(LoginRejected),
    /// `S`: messages numbered with the server's sequence numbers.
    SequencedData(DataPacket<'a>),
    /// `H`.
    ServerHeartbeat(ServerStatus),
    /// `Z`.
    EndOfSession(Position),
}

/// Checks that an alpha field is printable ASCII.
fn check_alpha(field: &[u8], packet_type: PacketType, offset: usize) -> Result<(), UfoError> {
    match field
        .iter()
        .position(|&byte| !(b' '..=b'~').contains(&byte))
    {
        None => Ok(()),
        Some(index) => Err(UfoError::InvalidAlpha {
            packet_type,
            offset: offset + index,
            byte: field.get(index).copied().unwrap_or(0),
        }),
    }
}

/// The first `N` body bytes of a fixed-size packet (its length was checked already; a short
/// body is still reported, not papered over).
fn body_array<const N: usize>(
    body: &[u8],
    packet_type: PacketType,
    datagram_len: usize,
) -> Result<&[u8; N], UfoError> {
    body.first_chunk::<N>().ok_or(UfoError::WrongLength {
        packet_type,
        expected: HEADER_LEN + N,
        actual: datagram_len,
    })
}

fn non_zero(value: u64, packet_type: PacketType, offset: usize) -> Result<u64, UfoError> {
    if value == 0 {
        Err(UfoError::ZeroSequenceNumber {
            packet_type,
            offset,
        })
    } else {
        Ok(value)
    }
}

impl<'a> Packet<'a> {
    /// Decodes one datagram of either direction.
    ///
    /// # Errors
    /// A [`UfoError`] for anything the layout does not allow.
    pub fn decode(datagram: &'a [u8]) -> Result<Self, UfoError> {
        let Some(header) = datagram.first_chunk::<HEADER_LEN>() else {
            return Err(UfoError::Truncated {
                len: datagram.len(),
            });
        };
        let packet_type = PacketType::from_byte(header[0]).ok_or(UfoError::UnknownType {
            packet_type: header[0],
        })?;
        let mut session = [0u8; 10];
        session.copy_from_slice(&header[SESSION_OFFSET..SESSION_OFFSET + 10]);
        check_alpha(&session, packet_type, SESSION_OFFSET)?;
        let session = Session::from_bytes(session);
        let mut sequence = [0u8; 8];
        sequence.copy_from_slice(&header[SEQUENCE_OFFSET..SEQUENCE_OFFSET + 8]);
        let sequence_number = u64::from_be_bytes(sequence);
        let body = datagram.get(HEADER_LEN..).unwrap_or_default();

        if let Some(expected) = packet_type.fixed_len()
            && datagram.len() != expected
        {
            return Err(UfoError::WrongLength {
                packet_type,
                expected,
                actual: datagram.len(),
            });
        }

        Ok(match packet_type {
            PacketType::ClientData | PacketType::SequencedData => {
                let Some((count, blocks)) = body.split_first_chunk::<2>() else {
                    return Err(UfoError::BlockOverrun {
                        packet_type,
                        offset: HEADER_LEN,
                        needed: 2,
                        available: body.len(),
                    });
                };
                let data = DataPacket::new(
                    packet_type,
                    session,
                    sequence_number,
                    u16::from_be_bytes(*count),
                    blocks,
                    DATA_HEADER_LEN,
                )?;
                if packet_type == PacketType::ClientData {
                    Self::ClientData(data)
                } else {
                    Self::SequencedData(data)
                }
            }
            PacketType::LoginRequest => {
                let fields = body_array::<16>(body, packet_type, datagram.len())?;
                check_alpha(fields, packet_type, HEADER_LEN)?;
                let mut username = [0u8; 6];
                let mut password = [0u8; 10];
                username.copy_from_slice(&fields[0..6]);
                password.copy_from_slice(&fields[6..16]);
                Self::LoginRequest(LoginRequest {
                    requested_session: session,
                    requested_sequence_number: sequence_number,
                    username: Username::from_bytes(username),
                    password: Password::from_bytes(password),
                })
            }
            PacketType::RetransmissionRequest => {
                let count =
                    u16::from_be_bytes(*body_array::<2>(body, packet_type, datagram.len())?);
                non_zero(sequence_number, packet_type, SEQUENCE_OFFSET)?;
                if count == 0 {
                    return Err(UfoError::ZeroCount { packet_type });
                }
                if sequence_number.checked_add(u64::from(count) - 1).is_none() {
                    return Err(UfoError::SequenceOverflow { packet_type });
                }
                Self::RetransmissionRequest(RetransmissionRequest {
                    session,
                    sequence_number,
                    count,
                })
            }
            PacketType::ClientHeartbeat | PacketType::LogoutRequest | PacketType::EndOfSession => {
                let position = Position {
                    session,
                    next_sequence_number: non_zero(sequence_number, packet_type, SEQUENCE_OFFSET)?,
                };
                match packet_type {
                    PacketType::ClientHeartbeat => Self::ClientHeartbeat(position),
                    PacketType::LogoutRequest => Self::LogoutRequest(position),
                    _ => Self::EndOfSession(position),
                }
            }
            PacketType::LoginAccepted | PacketType::ServerHeartbeat => {
                let acknowledged =
                    u64::from_be_bytes(*body_array::<8>(body, packet_type, datagram.len())?);
                let status = ServerStatus {
                    session,
                    next_sequence_number: non_zero(sequence_number, packet_type, SEQUENCE_OFFSET)?,
                    next_client_sequence_number: non_zero(acknowledged, packet_type, HEADER_LEN)?,
                };
                if packet_type == PacketType::LoginAccepted {
                    Self::LoginAccepted(status)
                } else {
                    Self::ServerHeartbeat(status)
                }
            }
            PacketType::LoginRejected => {
                if sequence_number != 0 {
                    return Err(UfoError::NonZeroSequenceNumber {
                        packet_type,
                        offset: SEQUENCE_OFFSET,
                    });
                }
                let [byte] = *body_array::<1>(body, packet_type, datagram.len())?;
                Self::LoginRejected(LoginRejected {
                    session,
                    reason: LoginRejectReason::from_byte(byte)
                        .ok_or(UfoError::InvalidRejectReason { byte })?,
                })
            }
        })
    }

    /// Decodes a datagram a server receives: client packet types only.
    ///
    /// # Errors
    /// [`UfoError::WrongDirection`] for a server packet type, else as [`Packet::decode`].
    pub fn decode_from_client(datagram: &'a [u8]) -> Result<Self, UfoError> {
        Self::decode_direction(datagram, Direction::ClientToServer)
    }

    /// Decodes a datagram a client receives: server packet types only.
    ///
    /// # Errors
    /// [`UfoError::WrongDirection`] for a client packet type, else as [`Packet::decode`].
    pub fn decode_from_server(datagram: &'a [u8]) -> Result<Self, UfoError> {
        Self::decode_direction(datagram, Direction::ServerToClient)
    }

    fn decode_direction(datagram: &'a [u8], direction: Direction) -> Result<Self, UfoError> {
        if let Some(packet_type) = datagram.first().copied().and_then(PacketType::from_byte)
            && packet_type.direction() != direction
        {
            return Err(UfoError::WrongDirection { packet_type });
        }
        Self::decode(datagram)
    }

    /// The packet type.
    #[inline]
    #[must_use]
    pub const fn packet_type(&self) -> PacketType {
        match self {
            Self::LoginRequest(_) => PacketType::LoginRequest,
            Self::ClientData(_) => PacketType::ClientData,
            Self::RetransmissionRequest(_) => PacketType::RetransmissionRequest,
            Self::ClientHeartbeat(_) => PacketType::ClientHeartbeat,
            Self::LogoutRequest(_) => PacketType::LogoutRequest,
            Self::LoginAccepted(_) => PacketType::LoginAccepted,
            Self::LoginRejected(_) => PacketType::LoginRejected,
            Self::SequencedData(_) => PacketType::SequencedData,
            Self::ServerHeartbeat(_) => PacketType::ServerHeartbeat,
            Self::EndOfSession(_) => PacketType::EndOfSession,
        }
    }

    /// The session field.
    #[inline]
    #[must_use]
    pub const fn session(&self) -> &Session {
        match self {
            Self::LoginRequest(packet) => &packet.requested_session,
            Self::ClientData(packet) | Self::SequencedData(packet) => &packet.session,
            Self::RetransmissionRequest(packet) => &packet.session,
            Self::ClientHeartbeat(packet)
            | Self::LogoutRequest(packet)
            | Self::EndOfSession(packet) => &packet.session,
            Self::LoginAccepted(packet) | Self::ServerHeartbeat(packet) => &packet.session,
            Self::LoginRejected(packet) => &packet.session,
        }
    }

    /// Encoded length in bytes.
    #[inline]
    #[must_use]
    pub const fn encoded_len(&self) -> usize {
        match self {
            Self::ClientData(data) | Self::SequencedData(data) => {
                DATA_HEADER_LEN + data.blocks.len()
            }
            other => match other.packet_type().fixed_len() {
                Some(len) => len,
                None => HEADER_LEN,
            },
        }
    }

    /// Writes the packet to the start of `out` and returns its length. The packet's own
    /// values are written as given (a hand-built packet that breaks a decoding rule encodes
    /// anyway and then fails to decode).
    ///
    /// # Errors
    /// [`UfoError::BufferTooSmall`] if `out` cannot hold the packet.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, UfoError> {
        let packet_type = self.packet_type();
        let len = self.encoded_len();
        let available = out.len();
        let too_small = UfoError::BufferTooSmall {
            packet_type,
            needed: len,
            available,
        };
        let out = out.get_mut(..len).ok_or(too_small)?;
        let (header, body) = out.split_first_chunk_mut::<HEADER_LEN>().ok_or(too_small)?;
        let sequence_number = match self {
            Self::LoginRequest(packet) => packet.requested_sequence_number,
            Self::ClientData(packet) | Self::SequencedData(packet) => packet.sequence_number,
            Self::RetransmissionRequest(packet) => packet.sequence_number,
            Self::ClientHeartbeat(packet)
            | Self::LogoutRequest(packet)
            | Self::EndOfSession(packet) => packet.next_sequence_number,
            Self::LoginAccepted(packet) | Self::ServerHeartbeat(packet) => {
                packet.next_sequence_number
            }
            Self::LoginRejected(_) => 0,
        };
        write_header(header, packet_type, self.session(), sequence_number);
        match self {
            Self::ClientData(data) | Self::SequencedData(data) => {
                let (count, blocks) = body.split_first_chunk_mut::<2>().ok_or(too_small)?;
                *count = data.count.to_be_bytes();
                blocks.copy_from_slice(data.blocks);
            }
            Self::LoginRequest(packet) => {
                let fields = body.first_chunk_mut::<16>().ok_or(too_small)?;
                fields[0..6].copy_from_slice(packet.username.as_bytes());
                fields[6..16].copy_from_slice(packet.password.as_bytes());
            }
            Self::RetransmissionRequest(packet) => {
                *body.first_chunk_mut::<2>().ok_or(too_small)? = packet.count.to_be_bytes();
            }
            Self::LoginAccepted(packet) | Self::ServerHeartbeat(packet) => {
                *body.first_chunk_mut::<8>().ok_or(too_small)? =
                    packet.next_client_sequence_number.to_be_bytes();
            }
            Self::LoginRejected(packet) => {
                *body.first_mut().ok_or(too_small)? = packet.reason.to_byte();
            }
            Self::ClientHeartbeat(_) | Self::LogoutRequest(_) | Self::EndOfSession(_) => {}
        }
        Ok(len)
    }
}

fn write_header(
    header: &mut [u8; HEADER_LEN],
    packet_type: PacketType,
    session: &Session,
    sequence_number: u64,
) {
    header[0] = packet_type.to_byte();
    header[SESSION_OFFSET..SESSION_OFFSET + 10].copy_from_slice(session.as_bytes());
    header[SEQUENCE_OFFSET..SEQUENCE_OFFSET + 8].copy_from_slice(&sequence_number.to_be_bytes());
}

/// Which data packet a [`DataPacketWriter`] builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataKind {
    /// `U`: client to server, client sequence numbers.
    Client,
    /// `S`: server to client, server sequence numbers.
    Sequenced,
}

impl DataKind {
    const fn packet_type(self) -> PacketType {
        match self {
            Self::Client => PacketType::ClientData,
            Self::Sequenced => PacketType::SequencedData,
        }
    }
}

/// Builds a data packet in place in the caller's buffer (an AF_XDP TX frame, say): header
/// first, then each message written directly into its block. No allocation, no copy of an
/// intermediate message buffer.
///
/// ```
/// use tickwire_protocol::ufo::{DataKind, DataPacketWriter, Session};
/// let mut frame = [0u8; 128];
/// let session = Session::from_text(b"S1").unwrap();
/// let mut writer = DataPacketWriter::new(&mut frame, DataKind::Client, &session, 7).unwrap();
/// writer.reserve(3).unwrap().copy_from_slice(b"abc");
/// let len = writer.finish().unwrap();
/// assert_eq!(len, 21 + 2 + 3);
/// ```
#[derive(Debug)]
pub struct DataPacketWriter<'a> {
    buf: &'a mut [u8],
    kind: DataKind,
    sequence_number: u64,
    len: usize,
    count: u16,
}

impl<'a> DataPacketWriter<'a> {
    /// Starts a packet whose first message has `sequence_number` (at least 1).
    ///
    /// # Errors
    /// [`UfoError::ZeroSequenceNumber`], [`UfoError::BufferTooSmall`] if `buf` cannot hold
    /// the 21-byte data header.
    #[inline]
    pub fn new(
        buf: &'a mut [u8],
        kind: DataKind,
        session: &Session,
        sequence_number: u64,
    ) -> Result<Self, UfoError> {
        let packet_type = kind.packet_type();
        non_zero(sequence_number, packet_type, SEQUENCE_OFFSET)?;
        let available = buf.len();
        let header = buf
            .get_mut(..DATA_HEADER_LEN)
            .and_then(<[u8]>::first_chunk_mut::<HEADER_LEN>)
            .ok_or(UfoError::BufferTooSmall {
                packet_type,
                needed: DATA_HEADER_LEN,
                available,
            })?;
        write_header(header, packet_type, session, sequence_number);
        Ok(Self {
            buf,
            kind,
            sequence_number,
            len: DATA_HEADER_LEN,
            count: 0,
        })
    }

    /// Appends a block of `len` bytes and returns it for the caller to fill (every byte:
    /// the block is not cleared).
    ///
    /// # Errors
    /// [`UfoError::MessageTooLong`] for an empty or over-long message,
    /// [`UfoError::TooManyMessages`], [`UfoError::SequenceOverflow`],
    /// [`UfoError::BufferTooSmall`] if the buffer cannot hold the block.
    #[inline]
    pub fn reserve(&mut self, len: usize) -> Result<&mut [u8], UfoError> {
        let packet_type = self.kind.packet_type();
        let length = u16::try_from(len).map_err(|_| UfoError::MessageTooLong { len })?;
        if length == 0 {
            return Err(UfoError::EmptyMessage {
                packet_type,
                offset: self.len,
            });
        }
        let count = self.count.checked_add(1).ok_or(UfoError::TooManyMessages)?;
        if self
            .sequence_number
            .checked_add(u64::from(self.count))
            .is_none()
        {
            return Err(UfoError::SequenceOverflow { packet_type });
        }
        let start = self.len;
        let end = start + BLOCK_HEADER_LEN + len;
        let available = self.buf.len();
        let block = self
            .buf
            .get_mut(start..end)
            .ok_or(UfoError::BufferTooSmall {
                packet_type,
                needed: end,
                available,
            })?;
        let (prefix, message) =
            block
                .split_first_chunk_mut::<BLOCK_HEADER_LEN>()
                .ok_or(UfoError::BufferTooSmall {
                    packet_type,
                    needed: end,
                    available,
                })?;
        *prefix = length.to_be_bytes();
        self.len = end;
        self.count = count;
        Ok(message)
    }

    /// Appends a copy of `message`.
    ///
    /// # Errors
    /// As [`DataPacketWriter::reserve`].
    #[inline]
    pub fn push(&mut self, message: &[u8]) -> Result<(), UfoError> {
        self.reserve(message.len())?.copy_from_slice(message);
        Ok(())
    }

    /// Messages appended so far.
    #[inline]
    #[must_use]
    pub const fn count(&self) -> u16 {
        self.count
    }

    /// Bytes written so far, header included.
    #[inline]
    #[must_use]
    pub const fn encoded_len(&self) -> usize {
        self.len
    }

    /// Writes the count and returns the packet length.
    ///
    /// # Errors
    /// [`UfoError::ZeroCount`] if no message was appended.
    #[inline]
    pub fn finish(self) -> Result<usize, UfoError> {
        if self.count == 0 {
            return Err(UfoError::ZeroCount {
                packet_type: self.kind.packet_type(),
            });
        }
        if let Some(count) = self
            .buf
            .get_mut(HEADER_LEN..DATA_HEADER_LEN)
            .and_then(<[u8]>::first_chunk_mut::<2>)
        {
            *count = self.count.to_be_bytes();
        }
        Ok(self.len)
    }
}
