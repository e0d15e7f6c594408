//! Nasdaq BinaryFILE framing: each ITCH message preceded by its length, 2 bytes big-endian.
//!
//! [`BinaryFileReader`] walks an in-memory file and yields each message's bytes (ready for
//! [`super::decode`]) with the byte offset of its frame. Some files (for example the RITCH
//! sample data) carry 0 in every length field; for those the length is derived from the type
//! byte, since every ITCH 5.0 type has a fixed length. A non-zero length field must equal the
//! type's length, and a type byte outside ITCH 5.0 is an error even when the length field
//! would allow skipping the message: the type set is closed, so such a frame means the file
//! is corrupt or not ITCH 5.0, and carrying on would hide it.
//!
//! Contract: no allocation, never panics, and never loops: every item advances by at least
//! 2 + 12 bytes (the shortest message), and the first error ends the iteration ([`BinaryFileError`] names the offset
//! and, where there is one, the message type).

use core::iter::FusedIterator;

use super::{MIN_MESSAGE_LEN, TypeByte, message_len};

/// Bytes in a BinaryFILE length prefix.
pub const LENGTH_PREFIX_LEN: usize = 2;

/// Why a BinaryFILE could not be split into messages. `offset` is always the byte offset of
/// the frame's length prefix within the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BinaryFileError {
    /// The file ends inside a length prefix.
    #[error(
        "BinaryFILE truncated at offset {offset}: {available} byte(s) left of a 2-byte length prefix"
    )]
    TruncatedLength {
        /// Offset of the partial length prefix.
        offset: usize,
        /// Bytes left in the file (1).
        available: usize,
    },
    /// The file ends right after a length prefix: no message type byte.
    #[error(
        "BinaryFILE truncated at offset {offset}: length prefix {length_field} is followed by no message"
    )]
    MissingMessage {
        /// Offset of the length prefix.
        offset: usize,
        /// The length prefix's value.
        length_field: u16,
    },
    /// The type byte is not an ITCH 5.0 message type, so the message's length is unknown.
    #[error("BinaryFILE frame at offset {offset}: unknown ITCH 5.0 message type {}", TypeByte(*message_type))]
    UnknownType {
        /// Offset of the frame.
        offset: usize,
        /// The type byte (at `offset + 2`).
        message_type: u8,
    },
    /// A non-zero length field that is not the type's fixed length.
    #[error(
        "BinaryFILE frame at offset {offset}: length field {length_field} for ITCH message type {} whose length is {expected}",
        TypeByte(*message_type)
    )]
    LengthMismatch {
        /// Offset of the frame.
        offset: usize,
        /// The type byte.
        message_type: u8,
        /// The length prefix's value.
        length_field: u16,
        /// The type's fixed length.
        expected: usize,
    },
    /// The file ends inside the message.
    #[error(
        "BinaryFILE truncated at offset {offset}: ITCH message type {} needs {expected} bytes, {available} left",
        TypeByte(*message_type)
    )]
    TruncatedMessage {
        /// Offset of the frame.
        offset: usize,
        /// The type byte.
        message_type: u8,
        /// The type's fixed length.
        expected: usize,
        /// Bytes left after the length prefix.
        available: usize,
    },
}

impl BinaryFileError {
    /// Byte offset of the frame where the error was found.
    #[must_use]
    pub const fn offset(&self) -> usize {
        match *self {
            Self::TruncatedLength { offset, .. }
            | Self::MissingMessage { offset, .. }
            | Self::UnknownType { offset, .. }
            | Self::LengthMismatch { offset, .. }
            | Self::TruncatedMessage { offset, .. } => offset,
        }
    }
}

/// Iterator over the messages of an in-memory BinaryFILE.
///
/// Yields `(offset, message)`: `offset` is where the frame's length prefix starts, `message`
/// the message bytes (type byte first, exactly the type's length). After the first error
/// (or the end of the file) it yields nothing more.
#[derive(Clone)]
pub struct BinaryFileReader<'a> {
    /// The bytes not yet read.
    rest: &'a [u8],
    /// Offset of `rest` within the file.
    offset: usize,
    /// Set by an error: nothing more is yielded.
    failed: bool,
}

impl<'a> BinaryFileReader<'a> {
    /// A reader over a whole file (already decompressed).
    #[must_use]
    pub const fn new(file: &'a [u8]) -> Self {
        Self {
            rest: file,
            offset: 0,
            failed: false,
        }
    }

    /// Offset of the next frame (the file's length once everything was read).
    #[must_use]
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// The frame at the front of `self.rest`; `None` at a clean end of file.
    #[inline]
    fn next_frame(&mut self) -> Option<Result<(usize, &'a [u8]), BinaryFileError>> {
        let offset = self.offset;
        if self.rest.is_empty() {
            return None;
        }
        let Some((prefix, body)) = self.rest.split_first_chunk::<LENGTH_PREFIX_LEN>() else {
            return Some(Err(BinaryFileError::TruncatedLength {
                offset,
                available: self.rest.len(),
            }));
        };
        let length_field = u16::from_be_bytes(*prefix);
        let Some(&message_type) = body.first() else {
            return Some(Err(BinaryFileError::MissingMessage {
                offset,
                length_field,
            }));
        };
        let Some(expected) = message_len(message_type) else {
            return Some(Err(BinaryFileError::UnknownType {
                offset,
                message_type,
            }));
        };
        if length_field != 0 && usize::from(length_field) != expected {
            return Some(Err(BinaryFileError::LengthMismatch {
                offset,
                message_type,
                length_field,
                expected,
            }));
        }
        let Some((message, rest)) = body.split_at_checked(expected) else {
            return Some(Err(BinaryFileError::TruncatedMessage {
                offset,
                message_type,
                expected,
                available: body.len(),
            }));
        };
        self.rest = rest;
        self.offset = offset + LENGTH_PREFIX_LEN + expected;
        Some(Ok((offset, message)))
    }
}

impl<'a> Iterator for BinaryFileReader<'a> {
    type Item = Result<(usize, &'a [u8]), BinaryFileError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let item = self.next_frame();
        if matches!(item, Some(Err(_))) {
            self.failed = true;
            self.rest = &[];
        }
        item
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.failed {
            return (0, Some(0));
        }
        // The shortest frame is 2 + MIN_MESSAGE_LEN bytes; a non-empty remainder yields at least one item
        // (a message or an error).
        let most = self
            .rest
            .len()
            .div_ceil(LENGTH_PREFIX_LEN + MIN_MESSAGE_LEN);
        (usize::from(!self.rest.is_empty()), Some(most))
    }
}

impl FusedIterator for BinaryFileReader<'_> {}

impl core::fmt::Debug for BinaryFileReader<'_> {
    /// Position and state only: the file itself may be megabytes.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BinaryFileReader")
            .field("offset", &self.offset)
            .field("remaining", &self.rest.len())
            .field("failed", &self.failed)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A zero-filled message of `message_type` behind a length field of `length_field`.
    fn frame(length_field: u16, message_type: u8, len: usize) -> Vec<u8> {
        let mut bytes = length_field.to_be_bytes().to_vec();
        bytes.push(message_type);
        bytes.resize(2 + len, 0);
        bytes
    }

    fn read(file: &[u8]) -> Vec<Result<(usize, &[u8]), BinaryFileError>> {
        BinaryFileReader::new(file).collect()
    }

    #[test]
    fn empty_file_has_no_messages() {
        assert!(read(&[]).is_empty());
    }

    #[test]
    fn debug_shows_position_not_bytes() {
        let file = frame(0, b'D', 19);
        let mut reader = BinaryFileReader::new(&file);
        reader.next();
        assert_eq!(
            format!("{reader:?}"),
            "BinaryFileReader { offset: 21, remaining: 0, failed: false }"
        );
    }

    #[test]
    fn explicit_and_zero_lengths_both_frame() {
        let mut file = frame(19, b'D', 19);
        file.extend(frame(0, b'S', 12));
        file.extend(frame(36, b'A', 36));
        let items = read(&file);
        assert_eq!(items.len(), 3);
        let offsets: Vec<usize> = items.iter().map(|item| item.expect("ok").0).collect();
        assert_eq!(offsets, [0, 21, 35]);
        assert_eq!(items[2].expect("ok").1, &file[37..73]);
        let mut reader = BinaryFileReader::new(&file);
        assert_eq!(reader.size_hint(), (1, Some(6)));
        reader.by_ref().for_each(drop);
        assert_eq!(reader.offset(), file.len());
    }

    #[test]
    fn unknown_type_stops_the_reader() {
        let mut file = frame(0, b'D', 19);
        file.extend(frame(0, b'Z', 19));
        file.extend(frame(0, b'D', 19));
        let mut reader = BinaryFileReader::new(&file);
        assert!(matches!(reader.next(), Some(Ok((0, _)))));
        let error = reader.next().expect("an item").expect_err("an error");
        assert_eq!(
            error,
            BinaryFileError::UnknownType {
                offset: 21,
                message_type: b'Z'
            }
        );
        assert_eq!(error.offset(), 21);
        assert_eq!(
            error.to_string(),
            "BinaryFILE frame at offset 21: unknown ITCH 5.0 message type 'Z'"
        );
        assert_eq!(reader.next(), None);
        assert_eq!(reader.next(), None);
        assert_eq!(reader.size_hint(), (0, Some(0)));
    }

    #[test]
    fn length_field_must_match_the_type() {
        let file = frame(20, b'D', 30);
        assert_eq!(
            read(&file),
            [Err(BinaryFileError::LengthMismatch {
                offset: 0,
                message_type: b'D',
                length_field: 20,
                expected: 19
            })]
        );
    }

    #[test]
    fn truncated_length_prefix() {
        let mut file = frame(0, b'D', 19);
        file.push(0);
        let items = read(&file);
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[1],
            Err(BinaryFileError::TruncatedLength {
                offset: 21,
                available: 1
            })
        );
    }

    #[test]
    fn length_prefix_without_a_message() {
        assert_eq!(
            read(&[0, 0]),
            [Err(BinaryFileError::MissingMessage {
                offset: 0,
                length_field: 0
            })]
        );
        assert_eq!(
            read(&[0, 36]),
            [Err(BinaryFileError::MissingMessage {
                offset: 0,
                length_field: 36
            })]
        );
    }

    #[test]
    fn truncated_final_message() {
        let mut file = frame(0, b'S', 12);
        file.extend(&frame(0, b'A', 36)[..30]);
        let items = read(&file);
        assert_eq!(items.len(), 2);
        let error = items[1].expect_err("truncated");
        assert_eq!(
            error,
            BinaryFileError::TruncatedMessage {
                offset: 14,
                message_type: b'A',
                expected: 36,
                available: 28
            }
        );
        assert_eq!(
            error.to_string(),
            "BinaryFILE truncated at offset 14: ITCH message type 'A' needs 36 bytes, 28 left"
        );
        // Same with an explicit length field.
        let file = &frame(36, b'A', 36)[..37];
        assert_eq!(
            read(file),
            [Err(BinaryFileError::TruncatedMessage {
                offset: 0,
                message_type: b'A',
                expected: 36,
                available: 35
            })]
        );
    }
}
