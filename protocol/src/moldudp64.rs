//! MoldUDP64: downstream packets (header and message blocks) and retransmission requests.
//!
//! Downstream packet: Session (10 bytes, alphanumeric, space padded), Sequence Number (u64,
//! the sequence of the first message, or the next expected one in a heartbeat), Message Count
//! (u16), then that many message blocks, each a 2-byte length and the message. A count of 0
//! is a heartbeat, 0xFFFF marks the end of the session; neither carries blocks. A request
//! packet (client to re-request server) is the same 20-byte header naming the first missing
//! sequence number and how many messages to resend. All integers are big-endian.
//!
//! Contract:
//! - [`decode`] validates the whole block structure before returning: every block fits, the
//!   number of blocks is the header's count, no byte follows the last block. A truncated or
//!   padded packet is rejected as a whole, so a caller never applies half a packet, and
//!   iterating [`Packet::messages`] afterwards cannot fail.
//! - [`PacketBuilder`] writes into a caller's buffer and reports when it is full, so the
//!   caller can send what it has and start the next packet.
//! - No allocation, never panics on wire bytes; errors name what is wrong and the byte
//!   offset in the packet.

use core::{fmt, iter::FusedIterator};

/// Bytes in the session field.
pub const SESSION_LEN: usize = 10;
/// Bytes in a downstream packet header: session, sequence number, message count.
pub const HEADER_LEN: usize = 20;
/// Bytes in a request packet.
pub const REQUEST_LEN: usize = 20;
/// Bytes in a message block's length prefix.
pub const BLOCK_LENGTH_LEN: usize = 2;
/// Message count of a heartbeat.
pub const HEARTBEAT_COUNT: u16 = 0;
/// Message count that marks the end of the session.
pub const END_OF_SESSION_COUNT: u16 = 0xFFFF;
/// Most messages a data packet can carry (0xFFFF is the end-of-session marker).
pub const MAX_MESSAGE_COUNT: u16 = END_OF_SESSION_COUNT - 1;

/// Why a MoldUDP64 packet could not be decoded or built. Offsets are from the packet start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoldError {
    /// Fewer bytes than the 20-byte header.
    #[error("MoldUDP64 packet of {len} bytes is shorter than the 20-byte header")]
    TruncatedHeader {
        /// Bytes in the packet.
        len: usize,
    },
    /// The packet ends inside (or before) a block's 2-byte length.
    #[error(
        "MoldUDP64 packet truncated at offset {offset}: no length for block {block} of {count}"
    )]
    TruncatedBlockLength {
        /// Zero-based index of the block.
        block: u16,
        /// The header's message count.
        count: u16,
        /// Offset where the block's length should start.
        offset: usize,
    },
    /// The packet ends inside a block's message.
    #[error(
        "MoldUDP64 packet truncated at offset {offset}: block {block} of {count} needs {length} bytes, {available} left"
    )]
    TruncatedBlock {
        /// Zero-based index of the block.
        block: u16,
        /// The header's message count.
        count: u16,
        /// Offset of the block's length prefix.
        offset: usize,
        /// The block's length field.
        length: u16,
        /// Bytes left after the length prefix.
        available: usize,
    },
    /// Bytes follow the last block the header announces (or an end-of-session header).
    #[error(
        "MoldUDP64 packet has {len} byte(s) after its {count} message block(s), at offset {offset}"
    )]
    TrailingBytes {
        /// The header's message count.
        count: u16,
        /// Offset of the first extra byte.
        offset: usize,
        /// Number of extra bytes.
        len: usize,
    },
    /// Sequence number plus message count exceeds `u64::MAX`.
    #[error("MoldUDP64 sequence number {sequence_number} plus {count} message(s) overflows")]
    SequenceOverflow {
        /// The sequence number of the first message.
        sequence_number: u64,
        /// The message count.
        count: u16,
    },
    /// A request packet must be exactly 20 bytes.
    #[error("MoldUDP64 request packet is {len} bytes, expected 20")]
    RequestLength {
        /// Bytes given.
        len: usize,
    },
    /// The output buffer cannot hold what is being written.
    #[error("MoldUDP64 buffer too small: {needed} bytes needed, {available} available")]
    BufferTooSmall {
        /// Bytes the write needs.
        needed: usize,
        /// Bytes left in the buffer.
        available: usize,
    },
    /// A message longer than a block's 2-byte length can state.
    #[error("message of {len} bytes does not fit a MoldUDP64 block (at most 65535)")]
    MessageTooLong {
        /// The message's length.
        len: usize,
    },
    /// The packet already holds [`MAX_MESSAGE_COUNT`] messages.
    #[error("MoldUDP64 packet already holds the maximum of 65534 messages")]
    TooManyMessages,
    /// Session text longer than 10 bytes.
    #[error("MoldUDP64 session of {len} bytes is longer than 10")]
    SessionTooLong {
        /// Bytes in the text.
        len: usize,
    },
    /// Session text with a byte that is not ASCII alphanumeric.
    #[error("MoldUDP64 session has a byte that is not ASCII alphanumeric at index {index}")]
    SessionNotAlphanumeric {
        /// Index of the first offending byte.
        index: usize,
    },
}

/// A MoldUDP64 session name: 10 bytes, alphanumeric, padded on the right with spaces.
///
/// Decoding keeps the wire bytes unchanged (`.0`); [`Session::new`] checks the spec's
/// alphabet for sessions this side creates.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Session(pub [u8; SESSION_LEN]);

impl Session {
    /// All spaces.
    pub const BLANK: Self = Self([b' '; SESSION_LEN]);

    /// `text` padded on the right with spaces.
    ///
    /// # Errors
    /// [`MoldError::SessionTooLong`] above 10 bytes, [`MoldError::SessionNotAlphanumeric`]
    /// for a byte outside `A-Z`, `a-z`, `0-9`.
    pub fn new(text: &str) -> Result<Self, MoldError> {
        if text.len() > SESSION_LEN {
            return Err(MoldError::SessionTooLong { len: text.len() });
        }
        if let Some(index) = text.bytes().position(|byte| !byte.is_ascii_alphanumeric()) {
            return Err(MoldError::SessionNotAlphanumeric { index });
        }
        let mut bytes = [b' '; SESSION_LEN];
        for (slot, byte) in bytes.iter_mut().zip(text.bytes()) {
            *slot = byte;
        }
        Ok(Self(bytes))
    }

    /// The session without its trailing space padding.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        let mut bytes = self.0.as_slice();
        while let [rest @ .., b' '] = bytes {
            bytes = rest;
        }
        bytes
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Session(\"{}\")", self.0.escape_ascii())
    }
}

impl fmt::Display for Session {
    /// The trimmed session, with bytes outside printable ASCII escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_bytes().escape_ascii())
    }
}

/// The 20-byte header shared by downstream and request packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    session: Session,
    sequence_number: u64,
    count: u16,
}

impl Header {
    #[inline]
    fn read(bytes: &[u8; HEADER_LEN]) -> Self {
        let [
            s0,
            s1,
            s2,
            s3,
            s4,
            s5,
            s6,
            s7,
            s8,
            s9,
            q0,
            q1,
            q2,
            q3,
            q4,
            q5,
            q6,
            q7,
            c0,
            c1,
        ] = *bytes;
        Self {
            session: Session([s0, s1, s2, s3, s4, s5, s6, s7, s8, s9]),
            sequence_number: u64::from_be_bytes([q0, q1, q2, q3, q4, q5, q6, q7]),
            count: u16::from_be_bytes([c0, c1]),
        }
    }

    #[inline]
    fn to_bytes(self) -> [u8; HEADER_LEN] {
        let [s0, s1, s2, s3, s4, s5, s6, s7, s8, s9] = self.session.0;
        let [q0, q1, q2, q3, q4, q5, q6, q7] = self.sequence_number.to_be_bytes();
        let [c0, c1] = self.count.to_be_bytes();
        [
            s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, q0, q1, q2, q3, q4, q5, q6, q7, c0, c1,
        ]
    }

    /// Writes the header at the start of `out`.
    fn write(self, out: &mut [u8]) -> Result<usize, MoldError> {
        let available = out.len();
        let Some(header) = out.first_chunk_mut::<HEADER_LEN>() else {
            return Err(MoldError::BufferTooSmall {
                needed: HEADER_LEN,
                available,
            });
        };
        *header = self.to_bytes();
        Ok(HEADER_LEN)
    }
}

/// A decoded, fully validated downstream packet borrowing the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    header: Header,
    /// Exactly the message blocks: `message_count()` of them, nothing after.
    blocks: &'a [u8],
}

impl<'a> Packet<'a> {
    /// The session the packet belongs to.
    #[inline]
    #[must_use]
    pub const fn session(&self) -> Session {
        self.header.session
    }

    /// Sequence number of the first message (in a heartbeat or end-of-session packet: the
    /// next sequence number the server will send).
    #[inline]
    #[must_use]
    pub const fn sequence_number(&self) -> u64 {
        self.header.sequence_number
    }

    /// The header's Message Count field as sent (0xFFFF for end of session).
    #[inline]
    #[must_use]
    pub const fn message_count(&self) -> u16 {
        self.header.count
    }

    /// Number of messages carried: the count, or 0 for end of session.
    #[inline]
    #[must_use]
    pub const fn len(&self) -> usize {
        if self.is_end_of_session() {
            0
        } else {
            self.header.count as usize
        }
    }

    /// True when the packet carries no message (heartbeat or end of session).
    #[inline]
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A heartbeat: Message Count 0.
    #[inline]
    #[must_use]
    pub const fn is_heartbeat(&self) -> bool {
        self.header.count == HEARTBEAT_COUNT
    }

    /// End of session: Message Count 0xFFFF.
    #[inline]
    #[must_use]
    pub const fn is_end_of_session(&self) -> bool {
        self.header.count == END_OF_SESSION_COUNT
    }

    /// The sequence number expected after this packet: sequence number plus the messages
    /// carried. Cannot overflow ([`decode`] rejects such packets).
    #[inline]
    #[must_use]
    pub const fn next_sequence(&self) -> u64 {
        self.header.sequence_number + self.len() as u64
    }

    /// The message bodies, in order (the packet was validated, so this cannot fail).
    #[inline]
    #[must_use]
    pub const fn messages(&self) -> Messages<'a> {
        Messages {
            blocks: self.blocks,
            remaining: self.len(),
        }
    }
}

/// Decodes one downstream packet, validating every block before returning.
///
/// # Errors
/// [`MoldError::TruncatedHeader`], [`MoldError::TruncatedBlockLength`],
/// [`MoldError::TruncatedBlock`], [`MoldError::TrailingBytes`] (including any byte after an
/// end-of-session header), [`MoldError::SequenceOverflow`].
pub fn decode(bytes: &[u8]) -> Result<Packet<'_>, MoldError> {
    let Some((header, blocks)) = bytes.split_first_chunk::<HEADER_LEN>() else {
        return Err(MoldError::TruncatedHeader { len: bytes.len() });
    };
    let header = Header::read(header);
    let count = header.count;
    let carried = if count == END_OF_SESSION_COUNT {
        0
    } else {
        count
    };
    if header
        .sequence_number
        .checked_add(u64::from(carried))
        .is_none()
    {
        return Err(MoldError::SequenceOverflow {
            sequence_number: header.sequence_number,
            count,
        });
    }
    // At most 0xFFFE iterations, each consuming at least the 2-byte length.
    let mut rest = blocks;
    for block in 0..carried {
        let offset = bytes.len() - rest.len();
        let Some((length, after)) = rest.split_first_chunk::<BLOCK_LENGTH_LEN>() else {
            return Err(MoldError::TruncatedBlockLength {
                block,
                count,
                offset,
            });
        };
        let length = u16::from_be_bytes(*length);
        let Some((_, after)) = after.split_at_checked(usize::from(length)) else {
            return Err(MoldError::TruncatedBlock {
                block,
                count,
                offset,
                length,
                available: after.len(),
            });
        };
        rest = after;
    }
    if !rest.is_empty() {
        return Err(MoldError::TrailingBytes {
            count,
            offset: bytes.len() - rest.len(),
            len: rest.len(),
        });
    }
    Ok(Packet { header, blocks })
}

/// Iterator over the message bodies of a validated [`Packet`].
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    blocks: &'a [u8],
    remaining: usize,
}

impl<'a> Iterator for Messages<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.remaining == 0 {
            return None;
        }
        // `decode` checked every block, so both splits succeed; should they not, the
        // iteration just ends.
        let (length, rest) = self.blocks.split_first_chunk::<BLOCK_LENGTH_LEN>()?;
        let (message, rest) = rest.split_at_checked(usize::from(u16::from_be_bytes(*length)))?;
        self.blocks = rest;
        self.remaining -= 1;
        Some(message)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Messages<'_> {}
impl FusedIterator for Messages<'_> {}

/// A retransmission request: resend `message_count` messages of `session` starting at
/// `sequence_number`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Request {
    /// The session to resend from.
    pub session: Session,
    /// The first sequence number wanted.
    pub sequence_number: u64,
    /// How many messages are wanted.
    pub message_count: u16,
}

impl Request {
    /// Decodes a request packet (exactly 20 bytes).
    ///
    /// # Errors
    /// [`MoldError::RequestLength`] for any other length.
    #[inline]
    pub fn decode(bytes: &[u8]) -> Result<Self, MoldError> {
        let Ok(header) = <&[u8; REQUEST_LEN]>::try_from(bytes) else {
            return Err(MoldError::RequestLength { len: bytes.len() });
        };
        let header = Header::read(header);
        Ok(Self {
            session: header.session,
            sequence_number: header.sequence_number,
            message_count: header.count,
        })
    }

    /// Writes the 20-byte request at the start of `out`; returns 20.
    ///
    /// # Errors
    /// [`MoldError::BufferTooSmall`] if `out` is shorter than 20 bytes.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, MoldError> {
        Header {
            session: self.session,
            sequence_number: self.sequence_number,
            count: self.message_count,
        }
        .write(out)
    }
}

/// Writes a heartbeat (count 0) at the start of `out`; returns its length (20).
/// `next_sequence` is the sequence number of the next message the server will send.
///
/// # Errors
/// [`MoldError::BufferTooSmall`] if `out` is shorter than 20 bytes.
pub fn encode_heartbeat(
    out: &mut [u8],
    session: Session,
    next_sequence: u64,
) -> Result<usize, MoldError> {
    Header {
        session,
        sequence_number: next_sequence,
        count: HEARTBEAT_COUNT,
    }
    .write(out)
}

/// Writes an end-of-session packet (count 0xFFFF) at the start of `out`; returns its length
/// (20). `next_sequence` is one past the session's last message.
///
/// # Errors
/// [`MoldError::BufferTooSmall`] if `out` is shorter than 20 bytes.
pub fn encode_end_of_session(
    out: &mut [u8],
    session: Session,
    next_sequence: u64,
) -> Result<usize, MoldError> {
    Header {
        session,
        sequence_number: next_sequence,
        count: END_OF_SESSION_COUNT,
    }
    .write(out)
}

/// Builds one downstream packet in a caller's buffer, message by message; allocates nothing.
///
/// ```
/// use tickwire_protocol::moldudp64::{self, PacketBuilder, Session};
///
/// let session = Session::new("SESSION1")?;
/// let mut buf = [0u8; 1400];
/// let mut builder = PacketBuilder::new(&mut buf, session, 1001)?;
/// builder.push(b"first")?;
/// builder.push_with(6, |body| body.copy_from_slice(b"second"))?;
/// let len = builder.finish();
///
/// let packet = moldudp64::decode(&buf[..len])?;
/// assert_eq!(packet.next_sequence(), 1003);
/// assert!(packet.messages().eq([&b"first"[..], b"second"]));
/// # Ok::<(), moldudp64::MoldError>(())
/// ```
pub struct PacketBuilder<'a> {
    buf: &'a mut [u8],
    header: Header,
    /// Bytes written so far, header included.
    len: usize,
}

impl fmt::Debug for PacketBuilder<'_> {
    /// The header and fill level, not the buffer's bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PacketBuilder")
            .field("session", &self.header.session)
            .field("sequence_number", &self.header.sequence_number)
            .field("message_count", &self.header.count)
            .field("len", &self.len)
            .field("capacity", &self.buf.len())
            .finish()
    }
}

impl<'a> PacketBuilder<'a> {
    /// Starts a packet whose first message has sequence number `first_sequence`.
    ///
    /// # Errors
    /// [`MoldError::BufferTooSmall`] if `buf` cannot hold the 20-byte header.
    pub fn new(
        buf: &'a mut [u8],
        session: Session,
        first_sequence: u64,
    ) -> Result<Self, MoldError> {
        let header = Header {
            session,
            sequence_number: first_sequence,
            count: 0,
        };
        let len = header.write(buf)?;
        Ok(Self { buf, header, len })
    }

    /// Appends one message block.
    ///
    /// # Errors
    /// As [`PacketBuilder::push_with`]; nothing is written on error.
    #[inline]
    pub fn push(&mut self, message: &[u8]) -> Result<(), MoldError> {
        self.push_with(message.len(), |body| body.copy_from_slice(message))
    }

    /// Appends one message block of `len` bytes, letting `write` fill the body in place
    /// (for example `|body| itch_message.encode(body)`); returns what `write` returns.
    ///
    /// `write` gets exactly `len` bytes, holding whatever the buffer held before; it must
    /// fill all of them. The block counts as pushed once `write` is called.
    ///
    /// # Errors
    /// Nothing is written, and `write` is not called, on [`MoldError::BufferTooSmall`] (the
    /// packet is full: finish it and start the next), [`MoldError::MessageTooLong`] (over
    /// 65535 bytes), [`MoldError::TooManyMessages`] or [`MoldError::SequenceOverflow`].
    pub fn push_with<T>(
        &mut self,
        len: usize,
        write: impl FnOnce(&mut [u8]) -> T,
    ) -> Result<T, MoldError> {
        let Ok(length) = u16::try_from(len) else {
            return Err(MoldError::MessageTooLong { len });
        };
        if self.header.count == MAX_MESSAGE_COUNT {
            return Err(MoldError::TooManyMessages);
        }
        let count = self.header.count + 1;
        if self
            .header
            .sequence_number
            .checked_add(u64::from(count))
            .is_none()
        {
            return Err(MoldError::SequenceOverflow {
                sequence_number: self.header.sequence_number,
                count,
            });
        }
        let free = self.buf.get_mut(self.len..).unwrap_or_default();
        let available = free.len();
        let Some((prefix, rest)) = free.split_first_chunk_mut::<BLOCK_LENGTH_LEN>() else {
            return Err(MoldError::BufferTooSmall {
                needed: BLOCK_LENGTH_LEN + len,
                available,
            });
        };
        let Some(body) = rest.get_mut(..len) else {
            return Err(MoldError::BufferTooSmall {
                needed: BLOCK_LENGTH_LEN + len,
                available,
            });
        };
        *prefix = length.to_be_bytes();
        let output = write(body);
        self.len += BLOCK_LENGTH_LEN + len;
        self.header.count = count;
        Ok(output)
    }

    /// Messages pushed so far.
    #[inline]
    #[must_use]
    pub const fn message_count(&self) -> u16 {
        self.header.count
    }

    /// True when no message was pushed yet.
    #[inline]
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.header.count == 0
    }

    /// Bytes written so far, header included.
    #[inline]
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len
    }

    /// The longest message that still fits (0 when not even a block length fits).
    #[inline]
    #[must_use]
    pub const fn remaining(&self) -> usize {
        self.buf
            .len()
            .saturating_sub(self.len)
            .saturating_sub(BLOCK_LENGTH_LEN)
    }

    /// Sequence number the next pushed message gets.
    #[inline]
    #[must_use]
    pub const fn next_sequence(&self) -> u64 {
        // `push_with` keeps `sequence_number + count` within u64.
        self.header.sequence_number + self.header.count as u64
    }

    /// Writes the message count into the header; returns the packet's length. The packet is
    /// `buf[..length]`. With no message pushed it is a heartbeat.
    #[must_use]
    pub fn finish(self) -> usize {
        // `new` wrote the header, so the buffer holds at least HEADER_LEN bytes.
        if let Some(header) = self.buf.first_chunk_mut::<HEADER_LEN>() {
            *header = self.header.to_bytes();
        }
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session::new("TEST01").expect("valid session")
    }

    /// Header bytes for `session()`.
    fn header(sequence_number: u64, count: u16) -> Vec<u8> {
        let mut bytes = b"TEST01    ".to_vec();
        bytes.extend(sequence_number.to_be_bytes());
        bytes.extend(count.to_be_bytes());
        bytes
    }

    fn block(message: &[u8]) -> Vec<u8> {
        let mut bytes = u16::try_from(message.len())
            .expect("short")
            .to_be_bytes()
            .to_vec();
        bytes.extend(message);
        bytes
    }

    #[test]
    fn decodes_a_data_packet() {
        let mut bytes = header(41, 3);
        bytes.extend(block(b"abc"));
        bytes.extend(block(b""));
        bytes.extend(block(b"hello"));
        let packet = decode(&bytes).expect("valid");
        assert_eq!(packet.session(), session());
        assert_eq!(packet.session().as_bytes(), b"TEST01");
        assert_eq!(packet.sequence_number(), 41);
        assert_eq!(packet.message_count(), 3);
        assert_eq!(packet.len(), 3);
        assert!(!packet.is_empty() && !packet.is_heartbeat() && !packet.is_end_of_session());
        assert_eq!(packet.next_sequence(), 44);
        let messages: Vec<&[u8]> = packet.messages().collect();
        assert_eq!(messages, [&b"abc"[..], b"", b"hello"]);
        assert_eq!(packet.messages().len(), 3);
    }

    #[test]
    fn heartbeat_and_end_of_session() {
        let bytes = header(100, 0);
        let packet = decode(&bytes).expect("valid");
        assert!(packet.is_heartbeat() && packet.is_empty());
        assert!(!packet.is_end_of_session());
        assert_eq!(packet.next_sequence(), 100);
        assert_eq!(packet.messages().next(), None);

        let bytes = header(100, 0xFFFF);
        let packet = decode(&bytes).expect("valid");
        assert!(packet.is_end_of_session() && packet.is_empty());
        assert!(!packet.is_heartbeat());
        assert_eq!(packet.len(), 0);
        assert_eq!(packet.next_sequence(), 100);
        assert_eq!(packet.messages().len(), 0);

        let mut out = [0u8; 24];
        assert_eq!(encode_heartbeat(&mut out, session(), 100), Ok(20));
        assert_eq!(out[..20], header(100, 0));
        assert_eq!(encode_end_of_session(&mut out, session(), 100), Ok(20));
        assert_eq!(out[..20], header(100, 0xFFFF));
        assert_eq!(
            encode_heartbeat(&mut out[..19], session(), 1),
            Err(MoldError::BufferTooSmall {
                needed: 20,
                available: 19
            })
        );
    }

    #[test]
    fn truncated_header() {
        let bytes = header(1, 0);
        for len in 0..HEADER_LEN {
            assert_eq!(
                decode(&bytes[..len]),
                Err(MoldError::TruncatedHeader { len })
            );
        }
    }

    #[test]
    fn missing_and_partial_block_length() {
        let mut bytes = header(1, 2);
        bytes.extend(block(b"abc"));
        assert_eq!(
            decode(&bytes),
            Err(MoldError::TruncatedBlockLength {
                block: 1,
                count: 2,
                offset: 25
            })
        );
        bytes.push(0);
        let error = decode(&bytes).expect_err("truncated");
        assert_eq!(
            error,
            MoldError::TruncatedBlockLength {
                block: 1,
                count: 2,
                offset: 25
            }
        );
        assert_eq!(
            error.to_string(),
            "MoldUDP64 packet truncated at offset 25: no length for block 1 of 2"
        );
    }

    #[test]
    fn truncated_block() {
        let mut bytes = header(1, 1);
        bytes.extend(&block(b"hello")[..5]);
        assert_eq!(
            decode(&bytes),
            Err(MoldError::TruncatedBlock {
                block: 0,
                count: 1,
                offset: 20,
                length: 5,
                available: 3
            })
        );
    }

    #[test]
    fn trailing_bytes() {
        let mut bytes = header(1, 1);
        bytes.extend(block(b"x"));
        bytes.extend([0, 0]);
        assert_eq!(
            decode(&bytes),
            Err(MoldError::TrailingBytes {
                count: 1,
                offset: 23,
                len: 2
            })
        );
        let mut bytes = header(1, 0xFFFF);
        bytes.extend(block(b"x"));
        assert_eq!(
            decode(&bytes),
            Err(MoldError::TrailingBytes {
                count: 0xFFFF,
                offset: 20,
                len: 3
            })
        );
    }

    #[test]
    fn sequence_overflow() {
        let mut bytes = header(u64::MAX, 1);
        bytes.extend(block(b"x"));
        assert_eq!(
            decode(&bytes),
            Err(MoldError::SequenceOverflow {
                sequence_number: u64::MAX,
                count: 1
            })
        );
        // A heartbeat or end of session at u64::MAX carries nothing, so it is fine.
        assert!(decode(&header(u64::MAX, 0)).is_ok());
        assert!(decode(&header(u64::MAX, 0xFFFF)).is_ok());
    }

    #[test]
    fn request_round_trip() {
        let request = Request {
            session: session(),
            sequence_number: 0x0102_0304_0506_0708,
            message_count: 300,
        };
        let mut out = [0u8; 20];
        assert_eq!(request.encode(&mut out), Ok(20));
        assert_eq!(out[..], header(0x0102_0304_0506_0708, 300));
        assert_eq!(Request::decode(&out), Ok(request));
        assert_eq!(
            Request::decode(&out[..19]),
            Err(MoldError::RequestLength { len: 19 })
        );
        assert_eq!(
            Request::decode(&[0; 21]),
            Err(MoldError::RequestLength { len: 21 })
        );
        assert_eq!(
            request.encode(&mut out[..10]),
            Err(MoldError::BufferTooSmall {
                needed: 20,
                available: 10
            })
        );
    }

    #[test]
    fn builder_writes_what_decode_reads() {
        let mut buf = [0xeeu8; 64];
        let mut builder = PacketBuilder::new(&mut buf, session(), 7).expect("fits");
        assert!(builder.is_empty());
        assert_eq!(builder.remaining(), 42);
        builder.push(b"abc").expect("fits");
        let written = builder
            .push_with(4, |body| {
                body.copy_from_slice(b"wxyz");
                body.len()
            })
            .expect("fits");
        assert_eq!(written, 4);
        assert_eq!((builder.message_count(), builder.len()), (2, 31));
        assert_eq!(builder.next_sequence(), 9);
        assert_eq!(
            format!("{builder:?}"),
            "PacketBuilder { session: Session(\"TEST01    \"), sequence_number: 7, \
             message_count: 2, len: 31, capacity: 64 }"
        );
        let len = builder.finish();
        let mut expected = header(7, 2);
        expected.extend(block(b"abc"));
        expected.extend(block(b"wxyz"));
        assert_eq!(buf[..len], expected[..]);
        assert_eq!(decode(&buf[..len]).expect("valid").next_sequence(), 9);
    }

    #[test]
    fn builder_reports_a_full_buffer_without_writing() {
        let mut buf = [0xeeu8; 30];
        let mut builder = PacketBuilder::new(&mut buf, session(), 1).expect("fits");
        builder.push(b"123456").expect("fits");
        assert_eq!(builder.remaining(), 0);
        let mut called = false;
        assert_eq!(
            builder.push_with(1, |_| called = true),
            Err(MoldError::BufferTooSmall {
                needed: 3,
                available: 2
            })
        );
        assert!(!called);
        assert_eq!(builder.push(b""), Ok(()));
        assert_eq!(
            builder.push(b""),
            Err(MoldError::BufferTooSmall {
                needed: 2,
                available: 0
            })
        );
        let len = builder.finish();
        let packet = decode(&buf[..len]).expect("valid");
        assert_eq!(packet.messages().collect::<Vec<_>>(), [&b"123456"[..], b""]);

        let mut tiny = [0u8; 19];
        assert_eq!(
            PacketBuilder::new(&mut tiny, session(), 1).map(|builder| builder.len()),
            Err(MoldError::BufferTooSmall {
                needed: 20,
                available: 19
            })
        );
    }

    #[test]
    fn builder_limits() {
        let mut buf = vec![0u8; HEADER_LEN + 2 * usize::from(MAX_MESSAGE_COUNT) + 70_000];
        let mut builder = PacketBuilder::new(&mut buf, session(), 1).expect("fits");
        assert_eq!(
            builder.push_with(65_536, |_| ()),
            Err(MoldError::MessageTooLong { len: 65_536 })
        );
        for _ in 0..MAX_MESSAGE_COUNT {
            builder.push(b"").expect("fits");
        }
        assert_eq!(builder.push(b""), Err(MoldError::TooManyMessages));
        let len = builder.finish();
        let packet = decode(&buf[..len]).expect("valid");
        assert_eq!(packet.len(), usize::from(MAX_MESSAGE_COUNT));
        assert!(packet.messages().all(<[u8]>::is_empty));

        let mut buf = [0u8; 64];
        let mut builder = PacketBuilder::new(&mut buf, session(), u64::MAX - 1).expect("fits");
        assert_eq!(builder.push(b"a"), Ok(()));
        assert_eq!(
            builder.push(b"b"),
            Err(MoldError::SequenceOverflow {
                sequence_number: u64::MAX - 1,
                count: 2
            })
        );
        assert_eq!(builder.next_sequence(), u64::MAX);
    }

    #[test]
    fn session_text() {
        assert_eq!(Session::new("ABC123").map(|s| s.0), Ok(*b"ABC123    "));
        assert_eq!(Session::new("").map(|s| s.0), Ok(Session::BLANK.0));
        assert_eq!(
            Session::new("ABCDEFGHIJK"),
            Err(MoldError::SessionTooLong { len: 11 })
        );
        assert_eq!(
            Session::new("AB C"),
            Err(MoldError::SessionNotAlphanumeric { index: 2 })
        );
        let odd = Session(*b"A\x01        ");
        assert_eq!(format!("{odd}"), "A\\x01");
        assert_eq!(format!("{odd:?}"), "Session(\"A\\x01        \")");
    }
}
