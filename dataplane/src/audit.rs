//! The engine's audit ring: every order intent with its risk decision and limits version,
//! and every venue event, is written here **before** the order frame leaves.
//!
//! A bounded single-producer/single-consumer ring (`rtrb`, preallocated, wait-free): the
//! engine is the producer; the link thread drains it outside the loop and publishes to the
//! control plane. Sequence numbers are assigned only to records that made it into the ring,
//! so they are strictly increasing without holes.
//!
//! The ring keeps [`RESERVED_SLOTS`] slots back from order intents, so that when it is full
//! for orders the engine can still record why it tripped its kill switch and the venue
//! events that follow (cancel acknowledgements), instead of losing them.

use tickwire_link::abi::AuditRecord;

/// Slots only non-order records may use.
pub const RESERVED_SLOTS: usize = 64;

/// The ring had no room for the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("audit ring full")]
pub struct AuditFull;

/// Producer side, owned by the engine.
#[derive(Debug)]
pub struct AuditWriter {
    producer: rtrb::Producer<AuditRecord>,
    next_seq: u64,
    actor: [u8; 24],
    written: u64,
    refused: u64,
}

/// Consumer side, owned by the link thread.
pub type AuditReader = rtrb::Consumer<AuditRecord>;

/// A ring of `capacity` records (at least `RESERVED_SLOTS + 1`); sequence numbers continue
/// after `last_seq` (0 for a fresh session).
#[must_use]
pub fn audit_ring(capacity: usize, last_seq: u64) -> (AuditWriter, AuditReader) {
    let (producer, consumer) = rtrb::RingBuffer::new(capacity.max(RESERVED_SLOTS + 1));
    let mut actor = [0u8; 24];
    actor[..6].copy_from_slice(b"engine");
    (
        AuditWriter {
            producer,
            next_seq: last_seq + 1,
            actor,
            written: 0,
            refused: 0,
        },
        consumer,
    )
}

impl AuditWriter {
    fn push(
        &mut self,
        mut record: AuditRecord,
        ts_ns: u64,
        headroom: usize,
    ) -> Result<u64, AuditFull> {
        if self.producer.slots() <= headroom {
            self.refused += 1;
            return Err(AuditFull);
        }
        let seq = self.next_seq;
        record.seq = seq;
        record.ts_ns = ts_ns;
        if record.actor[0] == 0 {
            record.actor = self.actor;
        }
        self.producer.push(record).map_err(|_| {
            self.refused += 1;
            AuditFull
        })?;
        self.next_seq += 1;
        self.written += 1;
        Ok(seq)
    }

    /// Writes an order intent (new, replace, cancel) or a risk reject; refused while fewer
    /// than [`RESERVED_SLOTS`] slots are free. Returns the assigned sequence number.
    ///
    /// # Errors
    /// [`AuditFull`]: the caller must not send the order, and trips its kill switch.
    #[inline]
    pub fn write_order(&mut self, record: AuditRecord, ts_ns: u64) -> Result<u64, AuditFull> {
        self.push(record, ts_ns, RESERVED_SLOTS)
    }

    /// Writes any other record (venue events, kill switch, limits); may use the reserve.
    ///
    /// # Errors
    /// [`AuditFull`] when the ring is completely full (counted).
    #[inline]
    pub fn write_event(&mut self, record: AuditRecord, ts_ns: u64) -> Result<u64, AuditFull> {
        self.push(record, ts_ns, 0)
    }

    /// Highest sequence number written (0 if none).
    #[must_use]
    pub fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// Records written.
    #[must_use]
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Records refused for lack of room.
    #[must_use]
    pub fn refused(&self) -> u64 {
        self.refused
    }
}

#[cfg(test)]
mod tests {
    use tickwire_link::abi::AuditKind;

    use super::*;

    #[test]
    fn sequences_are_contiguous_and_orders_keep_a_reserve() {
        let (mut writer, mut reader) = audit_ring(RESERVED_SLOTS + 3, 41);
        let order = AuditRecord::new(AuditKind::OrderIntent);
        assert_eq!(writer.write_order(order, 5), Ok(42));
        assert_eq!(writer.write_order(order, 6), Ok(43));
        assert_eq!(writer.write_order(order, 7), Ok(44));
        assert_eq!(writer.write_order(order, 8), Err(AuditFull), "reserve kept");
        let kill = AuditRecord::new(AuditKind::KillSwitchOn);
        assert_eq!(
            writer.write_event(kill, 9),
            Ok(45),
            "events may use the reserve"
        );
        assert_eq!(writer.refused(), 1);
        let first = reader.pop().unwrap();
        assert_eq!((first.seq, first.ts_ns), (42, 5));
        assert_eq!(&first.actor[..6], b"engine");
        let rest: Vec<u64> = std::iter::from_fn(|| reader.pop().ok())
            .map(|r| r.seq)
            .collect();
        assert_eq!(rest, vec![43, 44, 45]);
        assert_eq!(writer.last_seq(), 45);
    }
}
