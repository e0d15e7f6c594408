//! Nasdaq SoupBinTCP 3.0 session framing.
//!
//! A logical packet is a 2-byte big-endian length (counting the type byte and the payload,
//! not itself), a 1-byte ASCII packet type and the payload. TCP may split or merge packets
//! arbitrarily, so [`Packet::decode`] works on a stream buffer: it returns `Ok(None)` until a
//! whole packet is present and then the packet and the bytes it consumed.
//!
//! | type | direction | payload |
//! |---|---|---|
//! | `+` Debug | both | free-form text |
//! | `A` Login Accepted | server | session (10 alpha), sequence number (20 numeric) |
//! | `J` Login Rejected | server | reject reason code (1): `A` not authorized, `S` session not available |
//! | `S` Sequenced Data | server | one higher-level message |
//! | `H` Server Heartbeat | server | none |
//! | `Z` End of Session | server | none |
//! | `L` Login Request | client | username (6 alpha), password (10 alpha), requested session (10 alpha), requested sequence number (20 numeric) |
//! | `U` Unsequenced Data | client | one higher-level message |
//! | `R` Client Heartbeat | client | none |
//! | `O` Logout Request | client | none |
//!
//! Alpha fields are space padded; numeric fields are ASCII decimal, right-justified and
//! padded on the left with spaces. A requested session of all spaces asks for the current
//! session; a requested sequence number of 0 asks for the most recent message onwards.
//!
//! Contract: decoding borrows data payloads from the input, never allocates and never
//! panics; a malformed packet (zero length, unknown type, wrong length for a fixed-size type,
//! bad sequence number) is a [`SoupBinTcpError`] naming the packet type and the offset from
//! the start of the buffer. Encoding writes into the caller's buffer and never allocates;
//! sequence numbers are printed without allocation. Alpha fields are carried as raw bytes.

use core::fmt;

/// Length prefix plus packet type.
pub const HEADER_LEN: usize = 3;
/// Largest payload: the length field (`u16`) also counts the type byte.
pub const MAX_PAYLOAD_LEN: usize = u16::MAX as usize - 1;
/// Width of a numeric sequence number field.
pub const SEQUENCE_NUMBER_LEN: usize = 20;

/// SoupBinTCP packet type (the byte after the length).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// `+`: Debug (either direction).
    Debug,
    /// `A`: Login Accepted.
    LoginAccepted,
    /// `J`: Login Rejected.
    LoginRejected,
    /// `S`: Sequenced Data.
    SequencedData,
    /// `H`: Server Heartbeat.
    ServerHeartbeat,
    /// `Z`: End of Session.
    EndOfSession,
    /// `L`: Login Request.
    LoginRequest,
    /// `U`: Unsequenced Data.
    UnsequencedData,
    /// `R`: Client Heartbeat.
    ClientHeartbeat,
    /// `O`: Logout Request.
    LogoutRequest,
}

impl PacketType {
    /// The packet type for a wire byte, if it is one.
    #[inline]
    #[must_use]
    pub const fn from_byte(byte: u8) -> Option<Self> {
        Some(match byte {
            b'+' => Self::Debug,
            b'A' => Self::LoginAccepted,
            b'J' => Self::LoginRejected,
            b'S' => Self::SequencedData,
            b'H' => Self::ServerHeartbeat,
            b'Z' => Self::EndOfSession,
            b'L' => Self::LoginRequest,
            b'U' => Self::UnsequencedData,
            b'R' => Self::ClientHeartbeat,
            b'O' => Self::LogoutRequest,
            _ => return None,
        })
    }

    /// The wire byte.
    #[inline]
    #[must_use]
    pub const fn to_byte(self) -> u8 {
        match self {
            Self::Debug => b'+',
            Self::LoginAccepted => b'A',
            Self::LoginRejected => b'J',
            Self::SequencedData => b'S',
            Self::ServerHeartbeat => b'H',
            Self::EndOfSession => b'Z',
            Self::LoginRequest => b'L',
            Self::UnsequencedData => b'U',
            Self::ClientHeartbeat => b'R',
            Self::LogoutRequest => b'O',
        }
    }

    /// Payload length of a fixed-size packet type; `None` for Debug and the data packets.
    #[inline]
    #[must_use]
    pub const fn fixed_payload_len(self) -> Option<usize> {
        match self {
            Self::Debug | Self::SequencedData | Self::UnsequencedData => None,
            Self::LoginAccepted => Some(LoginAccepted::PAYLOAD_LEN),
            Self::LoginRejected => Some(1),
            Self::LoginRequest => Some(LoginRequest::PAYLOAD_LEN),
            Self::ServerHeartbeat
            | Self::EndOfSession
            | Self::ClientHeartbeat
            | Self::LogoutRequest => Some(0),
        }
    }

    /// True for the packets a server sends (Debug goes both ways and counts as both).
    #[inline]
    #[must_use]
    pub const fn is_from_server(self) -> bool {
        matches!(
            self,
            Self::Debug
                | Self::LoginAccepted
                | Self::LoginRejected
                | Self::SequencedData
                | Self::ServerHeartbeat
                | Self::EndOfSession
        )
    }

    /// True for the packets a client sends (Debug goes both ways and counts as both).
    #[inline]
    #[must_use]
    pub const fn is_from_client(self) -> bool {
        matches!(
            self,
            Self::Debug
                | Self::LoginRequest
                | Self::UnsequencedData
                | Self::ClientHeartbeat
                | Self::LogoutRequest
        )
    }
}

impl fmt::Display for PacketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::Debug => "Debug",
            Self::LoginAccepted => "Login Accepted",
            Self::LoginRejected => "Login Rejected",
            Self::SequencedData => "Sequenced Data",
            Self::ServerHeartbeat => "Server Heartbeat",
            Self::EndOfSession => "End of Session",
            Self::LoginRequest => "Login Request",
            Self::UnsequencedData => "Unsequenced Data",
            Self::ClientHeartbeat => "Client Heartbeat",
            Self::LogoutRequest => "Logout Request",
        };
        write!(f, "{name} ('{}')", char::from(self.to_byte()))
    }
}

/// Which alpha field a constructor rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlphaField {
    /// [`Session`].
    Session,
    /// [`Username`].
    Username,
    /// [`Password`].
    Password,
}

impl fmt::Display for AlphaField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Session => "session",
            Self::Username => "username",
            Self::Password => "password",
        })
    }
}

/// Why a SoupBinTCP packet could not be decoded or encoded. Offsets count from the start of
/// the buffer given to the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SoupBinTcpError {
    /// The length field at offset 0 is 0: not even a type byte follows.
    #[error("SoupBinTCP packet length at offset 0 is 0 (the type byte alone needs 1)")]
    ZeroLength,
    /// The type byte at offset 2 names no SoupBinTCP packet.
    #[error("unknown SoupBinTCP packet type {:?} at offset 2", char::from(*.packet_type))]
    UnknownType {
        /// The type byte.
        packet_type: u8,
    },
    /// The length field at offset 0 disagrees with the fixed size of the packet type.
    #[error(
        "SoupBinTCP {packet_type} packet declares {actual} payload bytes at offset 0, \
         expected {expected}"
    )]
    WrongLength {
        /// Packet type.
        packet_type: PacketType,
        /// Payload length of this type.
        expected: usize,
        /// Payload length declared.
        actual: usize,
    },
    /// A numeric field holds a byte that is neither a leading space nor a digit.
    #[error(
        "SoupBinTCP {packet_type} packet: byte {byte:#04x} at offset {offset} is not \
         allowed in a numeric field"
    )]
    InvalidNumeric {
        /// Packet type.
        packet_type: PacketType,
        /// Offset of the byte.
        offset: usize,
        /// The byte.
        byte: u8,
    },
    /// A numeric field has no digits (all spaces).
    #[error("SoupBinTCP {packet_type} packet: numeric field at offset {offset} has no digits")]
    EmptyNumeric {
        /// Packet type.
        packet_type: PacketType,
        /// Offset of the field.
        offset: usize,
    },
    /// A numeric field's value exceeds `u64`.
    #[error("SoupBinTCP {packet_type} packet: number at offset {offset} exceeds u64")]
    NumericOverflow {
        /// Packet type.
        packet_type: PacketType,
        /// Offset of the field.
        offset: usize,
    },
    /// The output buffer cannot hold the packet.
    #[error(
        "output buffer holds {available} bytes, SoupBinTCP {packet_type} packet needs {needed}"
    )]
    BufferTooSmall {
        /// Packet type.
        packet_type: PacketType,
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// A payload longer than [`MAX_PAYLOAD_LEN`].
    #[error("SoupBinTCP {packet_type} payload of {len} bytes exceeds {MAX_PAYLOAD_LEN}")]
    PayloadTooLong {
        /// Packet type.
        packet_type: PacketType,
        /// Payload length.
        len: usize,
    },
    /// An alpha field constructor was given text longer than the field.
    #[error("{field} is {len} bytes, at most {max} fit")]
    TextTooLong {
        /// The field.
        field: AlphaField,
        /// Length given.
        len: usize,
        /// Field width.
        max: usize,
    },
}

macro_rules! alpha_newtype {
    ($(#[$meta:meta])* $name:ident, $len:literal) => {
        $(#[$meta])*
        #[repr(transparent)]
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name([u8; $len]);

        impl $name {
            /// Field width in bytes.
            pub const LEN: usize = $len;
            /// All spaces.
            pub const BLANK: Self = Self([b' '; $len]);

            /// Wraps raw wire bytes.
            #[inline]
            #[must_use]
            pub const fn from_bytes(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }

            /// The raw wire bytes, padding included.
            #[inline]
            #[must_use]
            pub const fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// The text without leading or trailing spaces.
            #[inline]
            #[must_use]
            pub fn text(&self) -> &[u8] {
                self.0.trim_ascii()
            }

            /// True if the field is all spaces.
            #[inline]
            #[must_use]
            pub fn is_blank(&self) -> bool {
                self.0 == [b' '; $len]
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "(\"{}\")"), self.0.escape_ascii())
            }
        }
    };
}

alpha_newtype!(
    /// Session name, 10 bytes (SoupBinTCP, UFO and MoldUDP64 share this width).
    Session,
    10
);
alpha_newtype!(
    /// Login username, 6 bytes.
    Username,
    6
);
alpha_newtype!(
    /// Login password, 10 bytes.
    Password,
    10
);

/// `text` right-justified in `N` bytes, space padded on the left.
fn pad_left<const N: usize>(text: &[u8], field: AlphaField) -> Result<[u8; N], SoupBinTcpError> {
    let mut bytes = [b' '; N];
    let start = N
        .checked_sub(text.len())
        .ok_or(SoupBinTcpError::TextTooLong {
            field,
            len: text.len(),
            max: N,
        })?;
    for (slot, &byte) in bytes.iter_mut().skip(start).zip(text) {
        *slot = byte;
    }
    Ok(bytes)
}

/// `text` left-justified in `N` bytes, space padded on the right.
fn pad_right<const N: usize>(text: &[u8], field: AlphaField) -> Result<[u8; N], SoupBinTcpError> {
    if text.len() > N {
        return Err(SoupBinTcpError::TextTooLong {
            field,
            len: text.len(),
            max: N,
        });
    }
    let mut bytes = [b' '; N];
    for (slot, &byte) in bytes.iter_mut().zip(text) {
        *slot = byte;
    }
    Ok(bytes)
}

impl Session {
    /// A session name right-justified and padded on the left with spaces, as the spec
    /// describes the Login Accepted session field.
    ///
    /// # Errors
    /// [`SoupBinTcpError::TextTooLong`] beyond 10 bytes.
    pub fn from_text(text: &[u8]) -> Result<Self, SoupBinTcpError> {
        pad_left::<10>(text, AlphaField::Session).map(Self)
    }
}

impl Username {
    /// A username left-justified and padded on the right with spaces.
    ///
    /// # Errors
    /// [`SoupBinTcpError::TextTooLong`] beyond 6 bytes.
    pub fn from_text(text: &[u8]) -> Result<Self, SoupBinTcpError> {
        pad_right::<6>(text, AlphaField::Username).map(Self)
    }
}

impl Password {
    /// A password left-justified and padded on the right with spaces.
    ///
    /// # Errors
    /// [`SoupBinTcpError::TextTooLong`] beyond 10 bytes.
    pub fn from_text(text: &[u8]) -> Result<Self, SoupBinTcpError> {
        pad_right::<10>(text, AlphaField::Password).map(Self)
    }
}

/// Writes `value` right-justified in 20 ASCII bytes, padded on the left with spaces
/// (`u64::MAX` has exactly 20 digits). No allocation.
#[inline]
pub fn write_sequence_number(out: &mut [u8; SEQUENCE_NUMBER_LEN], value: u64) {
    *out = [b' '; SEQUENCE_NUMBER_LEN];
    let mut rest = value;
    for slot in out.iter_mut().rev() {
        // `rest % 10` is below 10, so the narrowing is exact.
        *slot = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
}

/// Why a numeric field did not parse; `index` is within the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumericError {
    Invalid { index: usize, byte: u8 },
    Empty,
    Overflow,
}

/// Parses a numeric field: optional leading spaces, then one or more ASCII digits to the end
/// of the field (leading zeros accepted).
fn parse_numeric(field: &[u8]) -> Result<u64, NumericError> {
    let digits_start = field
        .iter()
        .position(|&byte| byte != b' ')
        .ok_or(NumericError::Empty)?;
    let digits = field.get(digits_start..).unwrap_or_default();
    let mut value: u64 = 0;
    for (index, &byte) in digits.iter().enumerate() {
        if !byte.is_ascii_digit() {
            return Err(NumericError::Invalid {
                index: digits_start + index,
                byte,
            });
        }
        value = value
            .checked_mul(10)
            .and_then(|value| value.checked_add(u64::from(byte - b'0')))
            .ok_or(NumericError::Overflow)?;
    }
    Ok(value)
}

/// Parses the sequence number field at `offset` of the buffer (for error offsets).
fn parse_sequence_number(
    field: &[u8; SEQUENCE_NUMBER_LEN],
    packet_type: PacketType,
    offset: usize,
) -> Result<u64, SoupBinTcpError> {
    parse_numeric(field).map_err(|error| match error {
        NumericError::Invalid { index, byte } => SoupBinTcpError::InvalidNumeric {
            packet_type,
            offset: offset + index,
            byte,
        },
        NumericError::Empty => SoupBinTcpError::EmptyNumeric {
            packet_type,
            offset,
        },
        NumericError::Overflow => SoupBinTcpError::NumericOverflow {
            packet_type,
            offset,
        },
    })
}

/// The payload of a fixed-size packet as an array (its length was checked already; a
/// mismatch is still reported, not papered over).
fn fixed_payload<const N: usize>(
    payload: &[u8],
    packet_type: PacketType,
) -> Result<&[u8; N], SoupBinTcpError> {
    payload
        .try_into()
        .map_err(|_| SoupBinTcpError::WrongLength {
            packet_type,
            expected: N,
            actual: payload.len(),
        })
}

/// Login Accepted payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LoginAccepted {
    /// The session now logged into.
    pub session: Session,
    /// Sequence number of the next Sequenced Data packet the server will send.
    pub sequence_number: u64,
}

impl LoginAccepted {
    /// Payload length.
    pub const PAYLOAD_LEN: usize = 30;

    fn decode(payload: &[u8; 30], offset: usize) -> Result<Self, SoupBinTcpError> {
        let mut session = [0u8; 10];
        let mut sequence = [0u8; 20];
        session.copy_from_slice(&payload[0..10]);
        sequence.copy_from_slice(&payload[10..30]);
        Ok(Self {
            session: Session(session),
            sequence_number: parse_sequence_number(
                &sequence,
                PacketType::LoginAccepted,
                offset + 10,
            )?,
        })
    }

    fn encode(&self, out: &mut [u8; 30]) {
        out[0..10].copy_from_slice(&self.session.0);
        let mut sequence = [b' '; 20];
        write_sequence_number(&mut sequence, self.sequence_number);
        out[10..30].copy_from_slice(&sequence);
    }
}

/// Login Request payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LoginRequest {
    /// Username.
    pub username: Username,
    /// Password.
    pub password: Password,
    /// Session to log into; all spaces for the currently active session.
    pub requested_session: Session,
    /// Next sequence number the client wants; 0 for the most recently generated message.
    pub requested_sequence_number: u64,
}

impl LoginRequest {
    /// Payload length.
    pub const PAYLOAD_LEN: usize = 46;

    fn decode(payload: &[u8; 46], offset: usize) -> Result<Self, SoupBinTcpError> {
        let mut username = [0u8; 6];
        let mut password = [0u8; 10];
        let mut session = [0u8; 10];
        let mut sequence = [0u8; 20];
        username.copy_from_slice(&payload[0..6]);
        password.copy_from_slice(&payload[6..16]);
        session.copy_from_slice(&payload[16..26]);
        sequence.copy_from_slice(&payload[26..46]);
        Ok(Self {
            username: Username(username),
            password: Password(password),
            requested_session: Session(session),
            requested_sequence_number: parse_sequence_number(
                &sequence,
                PacketType::LoginRequest,
                offset + 26,
            )?,
        })
    }

    fn encode(&self, out: &mut [u8; 46]) {
        out[0..6].copy_from_slice(&self.username.0);
        out[6..16].copy_from_slice(&self.password.0);
        out[16..26].copy_from_slice(&self.requested_session.0);
        let mut sequence = [b' '; 20];
        write_sequence_number(&mut sequence, self.requested_sequence_number);
        out[26..46].copy_from_slice(&sequence);
    }
}

/// Login Rejected reason code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoginRejectReason {
    /// `A`: not authorized (bad username or password).
    NotAuthorized,
    /// `S`: the requested session is not available.
    SessionNotAvailable,
    /// A code the spec does not list, kept as received.
    Other(u8),
}

impl LoginRejectReason {
    /// The reason for a wire byte.
    #[inline]
    #[must_use]
    pub const fn from_byte(byte: u8) -> Self {
        match byte {
            b'A' => Self::NotAuthorized,
            b'S' => Self::SessionNotAvailable,
            other => Self::Other(other),
        }
    }

    /// The wire byte.
    #[inline]
    #[must_use]
    pub const fn to_byte(self) -> u8 {
        match self {
            Self::NotAuthorized => b'A',
            Self::SessionNotAvailable => b'S',
            Self::Other(byte) => byte,
        }
    }
}

/// One SoupBinTCP logical packet; data and debug payloads borrow from the decoded buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Packet<'a> {
    /// `+`: free-form text.
    Debug(&'a [u8]),
    /// `A`.
    LoginAccepted(LoginAccepted),
    /// `J`.
    LoginRejected(LoginRejectReason),
    /// `S`: one higher-level message (an OUCH outbound message, for instance).
    SequencedData(&'a [u8]),
    /// `H`.
    ServerHeartbeat,
    /// `Z`.
    EndOfSession,
    /// `L`.
    LoginRequest(LoginRequest),
    /// `U`: one higher-level message (an OUCH inbound message, for instance).
    UnsequencedData(&'a [u8]),
    /// `R`.
    ClientHeartbeat,
    /// `O`.
    LogoutRequest,
}

impl<'a> Packet<'a> {
    /// Decodes the packet at the start of a stream buffer.
    ///
    /// Returns `Ok(None)` while the buffer holds less than one whole packet, and
    /// `Ok(Some((packet, consumed)))` once it does; the caller drops `consumed` bytes and
    /// calls again. An unknown type or a wrong length for a fixed-size type is reported as
    /// soon as the first three bytes are present, without waiting for the declared payload.
    ///
    /// # Errors
    /// [`SoupBinTcpError::ZeroLength`], [`SoupBinTcpError::UnknownType`],
    /// [`SoupBinTcpError::WrongLength`], or a numeric field error for a malformed sequence
    /// number. A stream is not resynchronisable after an error: close the connection.
    #[inline]
    pub fn decode(buf: &'a [u8]) -> Result<Option<(Self, usize)>, SoupBinTcpError> {
        let Some((length, rest)) = buf.split_first_chunk::<2>() else {
            return Ok(None);
        };
        let length = usize::from(u16::from_be_bytes(*length));
        if length == 0 {
            return Err(SoupBinTcpError::ZeroLength);
        }
        let Some((&type_byte, rest)) = rest.split_first() else {
            return Ok(None);
        };
        let packet_type = PacketType::from_byte(type_byte).ok_or(SoupBinTcpError::UnknownType {
            packet_type: type_byte,
        })?;
        let payload_len = length - 1;
        if let Some(expected) = packet_type.fixed_payload_len()
            && payload_len != expected
        {
            return Err(SoupBinTcpError::WrongLength {
                packet_type,
                expected,
                actual: payload_len,
            });
        }
        let Some(payload) = rest.get(..payload_len) else {
            return Ok(None);
        };
        let packet = match packet_type {
            PacketType::Debug => Self::Debug(payload),
            PacketType::SequencedData => Self::SequencedData(payload),
            PacketType::UnsequencedData => Self::UnsequencedData(payload),
            PacketType::ServerHeartbeat => Self::ServerHeartbeat,
            PacketType::EndOfSession => Self::EndOfSession,
            PacketType::ClientHeartbeat => Self::ClientHeartbeat,
            PacketType::LogoutRequest => Self::LogoutRequest,
            PacketType::LoginRejected => {
                let [code] = *fixed_payload::<1>(payload, packet_type)?;
                Self::LoginRejected(LoginRejectReason::from_byte(code))
            }
            PacketType::LoginAccepted => Self::LoginAccepted(LoginAccepted::decode(
                fixed_payload(payload, packet_type)?,
                HEADER_LEN,
            )?),
            PacketType::LoginRequest => Self::LoginRequest(LoginRequest::decode(
                fixed_payload(payload, packet_type)?,
                HEADER_LEN,
            )?),
        };
        Ok(Some((packet, 2 + length)))
    }

    /// The packet type.
    #[inline]
    #[must_use]
    pub const fn packet_type(&self) -> PacketType {
        match self {
            Self::Debug(_) => PacketType::Debug,
            Self::LoginAccepted(_) => PacketType::LoginAccepted,
            Self::LoginRejected(_) => PacketType::LoginRejected,
            Self::SequencedData(_) => PacketType::SequencedData,
            Self::ServerHeartbeat => PacketType::ServerHeartbeat,
            Self::EndOfSession => PacketType::EndOfSession,
            Self::LoginRequest(_) => PacketType::LoginRequest,
            Self::UnsequencedData(_) => PacketType::UnsequencedData,
            Self::ClientHeartbeat => PacketType::ClientHeartbeat,
            Self::LogoutRequest => PacketType::LogoutRequest,
        }
    }

    /// Payload length in bytes.
    #[inline]
    #[must_use]
    pub const fn payload_len(&self) -> usize {
        match self {
            Self::Debug(bytes) | Self::SequencedData(bytes) | Self::UnsequencedData(bytes) => {
                bytes.len()
            }
            Self::LoginAccepted(_) => LoginAccepted::PAYLOAD_LEN,
            Self::LoginRequest(_) => LoginRequest::PAYLOAD_LEN,
            Self::LoginRejected(_) => 1,
            Self::ServerHeartbeat
            | Self::EndOfSession
            | Self::ClientHeartbeat
            | Self::LogoutRequest => 0,
        }
    }

    /// Encoded length in bytes, length prefix included.
    #[inline]
    #[must_use]
    pub const fn encoded_len(&self) -> usize {
        HEADER_LEN + self.payload_len()
    }

    /// Writes the packet to the start of `out` and returns its length.
    ///
    /// # Errors
    /// [`SoupBinTcpError::PayloadTooLong`] for a payload over [`MAX_PAYLOAD_LEN`],
    /// [`SoupBinTcpError::BufferTooSmall`] if `out` cannot hold the packet.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, SoupBinTcpError> {
        let packet_type = self.packet_type();
        let payload_len = self.payload_len();
        let header_len = encode_header(out, packet_type, payload_len)?;
        let total = header_len + payload_len;
        let available = out.len();
        let payload = out
            .get_mut(header_len..total)
            .ok_or(SoupBinTcpError::BufferTooSmall {
                packet_type,
                needed: total,
                available,
            })?;
        match self {
            Self::Debug(bytes) | Self::SequencedData(bytes) | Self::UnsequencedData(bytes) => {
                payload.copy_from_slice(bytes);
            }
            Self::LoginAccepted(accepted) => {
                if let Ok(fixed) = <&mut [u8; 30]>::try_from(payload) {
                    accepted.encode(fixed);
                }
            }
            Self::LoginRequest(request) => {
                if let Ok(fixed) = <&mut [u8; 46]>::try_from(payload) {
                    request.encode(fixed);
                }
            }
            Self::LoginRejected(reason) => {
                if let Some(slot) = payload.first_mut() {
                    *slot = reason.to_byte();
                }
            }
            Self::ServerHeartbeat
            | Self::EndOfSession
            | Self::ClientHeartbeat
            | Self::LogoutRequest => {}
        }
        Ok(total)
    }
}

/// Writes the 3-byte header of a packet whose `payload_len` bytes the caller writes next
/// (the zero-copy path: header, then an OUCH message encoded in place after it). Returns
/// [`HEADER_LEN`].
///
/// # Errors
/// [`SoupBinTcpError::PayloadTooLong`] for a payload over [`MAX_PAYLOAD_LEN`],
/// [`SoupBinTcpError::WrongLength`] if `packet_type` has a different fixed size,
/// [`SoupBinTcpError::BufferTooSmall`] if `out` is shorter than the header and payload.
#[inline]
pub fn encode_header(
    out: &mut [u8],
    packet_type: PacketType,
    payload_len: usize,
) -> Result<usize, SoupBinTcpError> {
    if let Some(expected) = packet_type.fixed_payload_len()
        && payload_len != expected
    {
        return Err(SoupBinTcpError::WrongLength {
            packet_type,
            expected,
            actual: payload_len,
        });
    }
    let length = u16::try_from(payload_len + 1).map_err(|_| SoupBinTcpError::PayloadTooLong {
        packet_type,
        len: payload_len,
    })?;
    let available = out.len();
    let needed = HEADER_LEN + payload_len;
    let Some(header) = out
        .get_mut(..needed)
        .and_then(<[u8]>::first_chunk_mut::<HEADER_LEN>)
    else {
        return Err(SoupBinTcpError::BufferTooSmall {
            packet_type,
            needed,
            available,
        });
    };
    let [high, low] = length.to_be_bytes();
    *header = [high, low, packet_type.to_byte()];
    Ok(HEADER_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_print_right_justified() {
        let mut field = [0u8; 20];
        write_sequence_number(&mut field, 0);
        assert_eq!(&field, b"                   0");
        write_sequence_number(&mut field, 1234);
        assert_eq!(&field, b"                1234");
        write_sequence_number(&mut field, u64::MAX);
        assert_eq!(&field, b"18446744073709551615");
    }

    #[test]
    fn numeric_fields_parse_strictly() {
        assert_eq!(parse_numeric(b"                1234"), Ok(1234));
        assert_eq!(parse_numeric(b"00000000000000001234"), Ok(1234));
        assert_eq!(
            parse_numeric(b"                    "),
            Err(NumericError::Empty)
        );
        assert_eq!(
            parse_numeric(b"1234                "),
            Err(NumericError::Invalid {
                index: 4,
                byte: b' '
            })
        );
        assert_eq!(
            parse_numeric(b"18446744073709551616"),
            Err(NumericError::Overflow)
        );
    }
}
