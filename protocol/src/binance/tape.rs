//! The reference path: walks the tape simd-json built for a message, without building a
//! value tree. Keys are matched by bytes; values are read in place from the tape.
//!
//! Tape layout (simd-json 0.19): an object is `Object { len, count }` followed by `len`
//! key/value pairs, each key a `String` node; arrays are `Array { len, count }` followed by
//! their elements; `count` is the number of nodes that follow inside the container, so the
//! next sibling of a container at `i` is at `i + 1 + count`. Every tape index is read with
//! `get`, so even an inconsistent tape is an error, never a panic.

use simd_json::{Node, StaticNode};

use super::{
    BinanceError, Column, Decoded, FieldPath, FieldSource, FieldValue, JsonType, KEY_COUNT, Key,
    Level, MessageKind, build, parse_level,
};

/// Decodes the message whose tape is `nodes` (the root value at index 0).
pub(super) fn decode(
    nodes: &[Node<'_>],
    bids: &mut [Level],
    asks: &mut [Level],
) -> Result<Decoded, BinanceError> {
    let root = TapeFields::walk(nodes, 0).map_err(|found| BinanceError::WrongType {
        message: MessageKind::Envelope,
        field: FieldPath::ROOT,
        expected: JsonType::Object,
        found,
    })?;
    let data = match root.get(Key::Data) {
        FieldValue::Object => TapeFields::walk(nodes, root.position(Key::Data)).ok(),
        _ => None,
    };
    build(&root, data.as_ref(), bids, asks)
}

/// The error for a tape that does not match simd-json's documented layout; unreachable
/// unless simd-json changes its format.
#[cold]
fn inconsistent_tape(position: usize) -> BinanceError {
    BinanceError::MalformedJson {
        offset: 0,
        character: None,
        reason: if position == 0 {
            "empty tape"
        } else {
            "inconsistent simd-json tape"
        },
    }
}

/// The keys of one object on the tape: for each [`Key`], the tape index of its first value
/// (0 when absent: index 0 is the root, never a value).
struct TapeFields<'t, 'j> {
    nodes: &'t [Node<'j>],
    positions: [usize; KEY_COUNT],
    duplicate: Option<Key>,
}

impl<'t, 'j> TapeFields<'t, 'j> {
    /// Records the keys of the object at `object`; `Err` with the value's type if it is not
    /// an object.
    fn walk(nodes: &'t [Node<'j>], object: usize) -> Result<Self, JsonType> {
        let len = match nodes.get(object) {
            Some(Node::Object { len, .. }) => *len,
            Some(other) => return Err(node_type(other)),
            // Unreachable for a tape simd-json accepted; reported like a non-object.
            None => return Err(JsonType::Null),
        };
        let mut fields = Self {
            nodes,
            positions: [0; KEY_COUNT],
            duplicate: None,
        };
        let mut at = object + 1;
        // Bounded by the object's key count, which simd-json took from the input.
        for _ in 0..len {
            let Some(Node::String(key)) = nodes.get(at) else {
                break;
            };
            let value = at + 1;
            if let Some(key) = Key::from_bytes(key.as_bytes())
                && let Some(slot) = fields.positions.get_mut(key.index())
            {
                if *slot == 0 {
                    *slot = value;
                } else if fields.duplicate.is_none() {
                    fields.duplicate = Some(key);
                }
            }
            at = value + span(nodes.get(value));
        }
        Ok(fields)
    }

    fn position(&self, key: Key) -> usize {
        self.positions.get(key.index()).copied().unwrap_or(0)
    }
}

/// Nodes a value occupies on the tape.
#[inline]
fn span(node: Option<&Node<'_>>) -> usize {
    match node {
        Some(Node::Object { count, .. } | Node::Array { count, .. }) => 1 + count,
        _ => 1,
    }
}

fn node_type(node: &Node<'_>) -> JsonType {
    field_value(node).json_type().unwrap_or(JsonType::Null)
}

#[inline]
fn field_value<'j>(node: &Node<'j>) -> FieldValue<'j> {
    match *node {
        Node::String(text) => FieldValue::String(text.as_bytes()),
        Node::Object { .. } => FieldValue::Object,
        Node::Array { .. } => FieldValue::Array,
        Node::Static(StaticNode::U64(value)) => FieldValue::Unsigned(value),
        // simd-json produces I64 only for a leading `-` (including `-0`).
        Node::Static(StaticNode::I64(_)) => FieldValue::Negative,
        Node::Static(StaticNode::Bool(value)) => FieldValue::Bool(value),
        Node::Static(StaticNode::Null) => FieldValue::Null,
        // F64, and the 128-bit integers if a crate in the build enables value-trait's
        // `128bit` feature: not an integer we accept.
        Node::Static(_) => FieldValue::Float,
    }
}

impl<'j> FieldSource<'j> for TapeFields<'_, 'j> {
    fn get(&self, key: Key) -> FieldValue<'j> {
        match self.position(key) {
            0 => FieldValue::Absent,
            at => self
                .nodes
                .get(at)
                .map_or(FieldValue::Absent, |node| field_value(node)),
        }
    }

    fn duplicate(&self) -> Option<Key> {
        self.duplicate
    }

    fn levels(
        &self,
        message: MessageKind,
        key: Key,
        out: &mut [Level],
    ) -> Result<usize, BinanceError> {
        let at = self.position(key);
        let Some(&Node::Array { len, .. }) = self.nodes.get(at) else {
            return Err(inconsistent_tape(at));
        };
        if len > out.len() {
            return Err(BinanceError::TooManyLevels {
                message,
                field: key.name(),
                count: len,
                capacity: out.len(),
            });
        }
        let mut element = at + 1;
        for (index, slot) in out.iter_mut().take(len).enumerate() {
            let path = FieldPath::level(key.name(), index);
            match self.nodes.get(element) {
                // `count == 2`: both elements are scalars at `element + 1` and `+ 2`.
                Some(Node::Array { len: 2, count: 2 }) => {}
                Some(Node::Array { len, .. }) => {
                    return Err(BinanceError::BadLevel {
                        message,
                        field: path,
                        len: *len,
                    });
                }
                Some(other) => {
                    return Err(BinanceError::WrongType {
                        message,
                        field: path,
                        expected: JsonType::Array,
                        found: node_type(other),
                    });
                }
                None => return Err(inconsistent_tape(element)),
            }
            let price = level_text(self.nodes, element + 1, message, path.column(Column::Price))?;
            let qty = level_text(self.nodes, element + 2, message, path.column(Column::Qty))?;
            *slot = parse_level(price, qty)
                .map_err(|(column, fault)| fault.into_error(message, path.column(column)))?;
            element += 3;
        }
        Ok(len)
    }
}

#[inline]
fn level_text<'j>(
    nodes: &[Node<'j>],
    at: usize,
    message: MessageKind,
    field: FieldPath,
) -> Result<&'j [u8], BinanceError> {
    match nodes.get(at) {
        Some(Node::String(text)) => Ok(text.as_bytes()),
        Some(other) => Err(BinanceError::WrongType {
            message,
            field,
            expected: JsonType::String,
            found: node_type(other),
        }),
        None => Err(inconsistent_tape(at)),
    }
}
