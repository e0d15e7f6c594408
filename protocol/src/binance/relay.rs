//! Relay framing: Binance messages carried over UDP, fragmented to fit datagrams.
//!
//! Binance streams over WebSocket (TCP), where a message can be any length; a depthUpdate of
//! the btcusdt sample reaches 34 KB and a REST snapshot 64 KB. A datagram through the
//! gateway's AF_XDP path must fit one UMEM frame (2 or 4 KiB) and one Ethernet frame (IP
//! fragments are not steered to AF_XDP). A relay that republishes a Binance stream over UDP
//! (the venue simulator's `--binance-relay` mode) therefore splits each message into
//! fragments, each in one datagram:
//!
//! | bytes | field | |
//! |---|---|---|
//! | 0..4 | magic | `TWBR` |
//! | 4..12 | message sequence | u64 big-endian; 1, 2, 3, … one per message |
//! | 12..14 | fragment index | u16 big-endian, from 0 |
//! | 14..16 | fragment count | u16 big-endian, at least 1 |
//! | 16.. | payload | the message's bytes `[index × fragment size ..]` |
//!
//! A message is the concatenation of its fragments' payloads in index order. Every relayed
//! message (stream events and REST snapshots alike) is numbered, so a receiver can tell a lost
//! message from a Binance sequence gap. Fragments arrive in order on the wire the relay uses
//! (one sender, one path); [`Reassembler`] does not reorder, it drops a message whose
//! fragments do not arrive in sequence and counts it.
//!
//! # Contract
//! [`Reassembler::new`] allocates its buffer once; [`Reassembler::push`] never allocates and
//! never panics on any input: a datagram that is not a well-formed fragment is an error.

/// The first four bytes of every fragment.
pub const MAGIC: [u8; 4] = *b"TWBR";
/// Header length.
pub const HEADER_LEN: usize = 16;

/// A fragment's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentHeader {
    /// Message sequence number.
    pub sequence: u64,
    /// Index of this fragment in the message.
    pub index: u16,
    /// Fragments in the message.
    pub count: u16,
}

impl FragmentHeader {
    /// The header's wire form.
    #[must_use]
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        let (magic, rest) = out.split_at_mut(4);
        magic.copy_from_slice(&MAGIC);
        let (sequence, rest) = rest.split_at_mut(8);
        sequence.copy_from_slice(&self.sequence.to_be_bytes());
        let (index, count) = rest.split_at_mut(2);
        index.copy_from_slice(&self.index.to_be_bytes());
        count.copy_from_slice(&self.count.to_be_bytes());
        out
    }
}

/// Why a datagram is not a usable fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    /// Shorter than the header, or without the magic.
    #[error("not a relay fragment ({len} bytes, no `TWBR` header)")]
    NotAFragment {
        /// Datagram length.
        len: usize,
    },
    /// Count 0, or an index at or beyond the count.
    #[error("fragment {index} of {count}: bad index or count")]
    BadIndex {
        /// The header's index.
        index: u16,
        /// The header's count.
        count: u16,
    },
    /// The reassembled message would exceed the buffer.
    #[error("message {sequence}: longer than {max} bytes")]
    TooLong {
        /// Message sequence.
        sequence: u64,
        /// Buffer capacity.
        max: usize,
    },
    /// A fragment that does not continue the message being assembled (a fragment was lost or
    /// reordered). The partial message is dropped.
    #[error("message {sequence} fragment {index}: expected fragment {expected}")]
    OutOfSequence {
        /// The fragment's message sequence.
        sequence: u64,
        /// The fragment's index.
        index: u16,
        /// The index the assembler needed (0 when no message was open).
        expected: u16,
    },
}

/// Splits a datagram into header and payload.
///
/// # Errors
/// [`RelayError::NotAFragment`] or [`RelayError::BadIndex`].
pub fn decode_fragment(datagram: &[u8]) -> Result<(FragmentHeader, &[u8]), RelayError> {
    let not_a_fragment = RelayError::NotAFragment {
        len: datagram.len(),
    };
    let (head, payload) = datagram
        .split_first_chunk::<HEADER_LEN>()
        .ok_or(not_a_fragment)?;
    let (magic, rest) = head.split_first_chunk::<4>().ok_or(not_a_fragment)?;
    if *magic != MAGIC {
        return Err(not_a_fragment);
    }
    let (sequence, rest) = rest.split_first_chunk::<8>().ok_or(not_a_fragment)?;
    let (index, count) = rest.split_first_chunk::<2>().ok_or(not_a_fragment)?;
    let count = <[u8; 2]>::try_from(count).map_err(|_| not_a_fragment)?;
    let header = FragmentHeader {
        sequence: u64::from_be_bytes(*sequence),
        index: u16::from_be_bytes(*index),
        count: u16::from_be_bytes(count),
    };
    if header.count == 0 || header.index >= header.count {
        return Err(RelayError::BadIndex {
            index: header.index,
            count: header.count,
        });
    }
    Ok((header, payload))
}

/// Splits `message` into fragments of at most `max_payload` bytes each, numbered `sequence`,
/// and calls `send` with each whole datagram (header + payload) in order. `scratch` holds the
/// datagram being built (sender side; it grows once to `HEADER_LEN + max_payload`).
///
/// # Errors
/// `Err(())` without sending anything when the message needs more than `u16::MAX` fragments
/// or `max_payload` is 0.
#[allow(
    clippy::result_unit_err,
    reason = "one failure, described in the docs; the sender counts it"
)]
pub fn fragment(
    sequence: u64,
    message: &[u8],
    max_payload: usize,
    scratch: &mut Vec<u8>,
    mut send: impl FnMut(&[u8]),
) -> Result<(), ()> {
    if max_payload == 0 {
        return Err(());
    }
    let count = u16::try_from(message.len().div_ceil(max_payload).max(1)).map_err(|_| ())?;
    let mut chunks = message.chunks(max_payload);
    for index in 0..count {
        scratch.clear();
        scratch.extend_from_slice(
            &FragmentHeader {
                sequence,
                index,
                count,
            }
            .encode(),
        );
        scratch.extend_from_slice(chunks.next().unwrap_or_default());
        send(scratch);
    }
    Ok(())
}

/// Reassembly counts. Plain integers, read by the owner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayCounters {
    /// Fragments accepted into a message.
    pub fragments: u64,
    /// Messages completed.
    pub messages: u64,
    /// Message sequence numbers never completed: skipped by the sequence, or dropped partly
    /// assembled.
    pub messages_lost: u64,
    /// Datagrams rejected ([`RelayError`]).
    pub errors: u64,
}

/// Reassembles fragmented messages into one preallocated buffer (see the module docs).
#[derive(Debug)]
pub struct Reassembler {
    buffer: Vec<u8>,
    max_message_len: usize,
    /// Sequence of the message being assembled, or of the last completed one.
    sequence: u64,
    /// Next fragment index needed; 0 when no message is open.
    next_index: u16,
    count: u16,
    /// Sequence of the last message completed or given up (0: none yet).
    last_sequence: u64,
    counters: RelayCounters,
}

impl Reassembler {
    /// A reassembler for messages of at most `max_message_len` bytes (allocated here).
    #[must_use]
    pub fn new(max_message_len: usize) -> Self {
        Self {
            buffer: Vec::with_capacity(max_message_len),
            max_message_len,
            sequence: 0,
            next_index: 0,
            count: 0,
            last_sequence: 0,
            counters: RelayCounters::default(),
        }
    }

    /// Counts so far.
    #[must_use]
    pub fn counters(&self) -> RelayCounters {
        self.counters
    }

    /// Takes one datagram. Returns the whole message when this fragment completes one (the
    /// slice is mutable so that an in-place JSON parser can use it; it is valid until the
    /// next call), `Ok(None)` while a message is incomplete.
    ///
    /// # Errors
    /// A [`RelayError`] (counted) when the datagram is not a fragment, or does not continue the
    /// open message, or overflows the buffer; an open message is then dropped (counted lost),
    /// except that a fragment 0 of a new message starts it afresh.
    pub fn push(&mut self, datagram: &[u8]) -> Result<Option<&mut [u8]>, RelayError> {
        let (header, payload) = decode_fragment(datagram).inspect_err(|_| {
            self.counters.errors += 1;
        })?;
        if header.index == 0 {
            if self.next_index != 0 {
                // The open message will never complete.
                self.abandon();
            }
            self.note_sequence(header.sequence);
            self.buffer.clear();
            self.sequence = header.sequence;
            self.count = header.count;
        } else if self.next_index != header.index
            || self.sequence != header.sequence
            || self.count != header.count
        {
            let expected = self.next_index;
            if self.next_index != 0 {
                self.abandon();
            }
            self.counters.errors += 1;
            return Err(RelayError::OutOfSequence {
                sequence: header.sequence,
                index: header.index,
                expected,
            });
        }
        if self.buffer.len() + payload.len() > self.max_message_len {
            self.abandon();
            self.counters.errors += 1;
            return Err(RelayError::TooLong {
                sequence: header.sequence,
                max: self.max_message_len,
            });
        }
        // Within the capacity reserved in `new`: no reallocation.
        self.buffer.extend_from_slice(payload);
        self.counters.fragments += 1;
        if header.index + 1 < header.count {
            self.next_index = header.index + 1;
            return Ok(None);
        }
        self.next_index = 0;
        self.last_sequence = header.sequence;
        self.counters.messages += 1;
        Ok(Some(self.buffer.as_mut_slice()))
    }

    /// Counts the sequence numbers skipped before `sequence` (a relay restart, or a sequence
    /// going backwards, counts nothing).
    fn note_sequence(&mut self, sequence: u64) {
        if self.last_sequence != 0 && sequence > self.last_sequence {
            self.counters.messages_lost += sequence - self.last_sequence - 1;
        }
    }

    /// Drops the open message.
    fn abandon(&mut self) {
        if self.next_index != 0 || self.count != 0 {
            self.counters.messages_lost += 1;
            self.last_sequence = self.sequence;
        }
        self.next_index = 0;
        self.count = 0;
        self.buffer.clear();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test")]
    #![allow(clippy::indexing_slicing, reason = "test")]

    use proptest::prelude::*;

    use super::*;

    fn fragments(sequence: u64, message: &[u8], max_payload: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        fragment(sequence, message, max_payload, &mut scratch, |datagram| {
            out.push(datagram.to_vec());
        })
        .unwrap();
        out
    }

    #[test]
    fn a_message_round_trips_through_fragments() {
        let message: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let datagrams = fragments(7, &message, 1400);
        assert_eq!(datagrams.len(), 4);
        assert!(datagrams.iter().all(|d| d.len() <= HEADER_LEN + 1400));
        let mut reassembler = Reassembler::new(8192);
        for datagram in &datagrams[..3] {
            assert_eq!(reassembler.push(datagram), Ok(None));
        }
        assert_eq!(
            reassembler.push(&datagrams[3]).unwrap().unwrap(),
            &message[..]
        );
        assert_eq!(reassembler.counters().messages, 1);
        assert_eq!(reassembler.counters().messages_lost, 0);
    }

    #[test]
    fn an_empty_message_is_one_fragment() {
        let datagrams = fragments(1, b"", 100);
        assert_eq!(datagrams.len(), 1);
        let mut reassembler = Reassembler::new(16);
        assert_eq!(reassembler.push(&datagrams[0]).unwrap().unwrap(), b"");
    }

    #[test]
    fn losses_and_junk_are_counted_and_the_next_message_still_assembles() {
        let mut reassembler = Reassembler::new(64);
        let first = fragments(1, b"0123456789", 4);
        let second = fragments(2, b"abcdefgh", 4);
        let third = fragments(5, b"xyz", 4);
        assert_eq!(reassembler.push(&first[0]), Ok(None));
        // Fragment 1 lost: fragment 2 does not continue the message.
        assert_eq!(
            reassembler.push(&first[2]),
            Err(RelayError::OutOfSequence {
                sequence: 1,
                index: 2,
                expected: 1
            })
        );
        assert!(matches!(
            reassembler.push(b"{\"not\":\"relay\"}"),
            Err(RelayError::NotAFragment { .. })
        ));
        let mut bad = first[0].clone();
        bad[15] = 0;
        assert!(matches!(
            reassembler.push(&bad),
            Err(RelayError::BadIndex { .. })
        ));
        assert_eq!(reassembler.push(&second[0]), Ok(None));
        assert_eq!(reassembler.push(&second[1]).unwrap().unwrap(), b"abcdefgh");
        // Messages 3 and 4 never arrive.
        assert_eq!(reassembler.push(&third[0]).unwrap().unwrap(), b"xyz");
        let counters = reassembler.counters();
        assert_eq!(counters.messages, 2);
        assert_eq!(counters.messages_lost, 3, "{counters:?}");
        assert_eq!(counters.errors, 3);
    }

    #[test]
    fn a_message_longer_than_the_buffer_is_refused() {
        let mut reassembler = Reassembler::new(8);
        let datagrams = fragments(1, b"0123456789", 4);
        assert_eq!(reassembler.push(&datagrams[0]), Ok(None));
        assert_eq!(reassembler.push(&datagrams[1]), Ok(None));
        assert_eq!(
            reassembler.push(&datagrams[2]),
            Err(RelayError::TooLong {
                sequence: 1,
                max: 8
            })
        );
        assert_eq!(reassembler.counters().messages_lost, 1);
    }

    proptest! {
        #[test]
        fn any_bytes_never_panic(datagrams in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..64), 0..32)
        ) {
            let mut reassembler = Reassembler::new(256);
            for datagram in &datagrams {
                let _ = reassembler.push(datagram);
            }
        }

        #[test]
        fn fragments_reassemble_to_the_message(
            messages in proptest::collection::vec(
                proptest::collection::vec(any::<u8>(), 0..300), 1..8),
            max_payload in 1usize..64,
        ) {
            let mut reassembler = Reassembler::new(300);
            for (number, message) in messages.iter().enumerate() {
                let datagrams = fragments(number as u64 + 1, message, max_payload);
                let (last, init) = datagrams.split_last().unwrap();
                for datagram in init {
                    prop_assert_eq!(reassembler.push(datagram), Ok(None));
                }
                prop_assert_eq!(reassembler.push(last).unwrap().unwrap(), &message[..]);
            }
            prop_assert_eq!(reassembler.counters().messages_lost, 0);
        }
    }
}
