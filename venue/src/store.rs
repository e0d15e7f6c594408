//! A sequenced message store: message `n` of a stream (numbered from 1) by number.
//!
//! Used for everything the venue publishes on the feed (the retransmission server answers
//! from it) and for each participant's sequenced OUCH stream (replayed on re-login and on
//! UFO retransmission requests).
//!
//! Contract: messages are appended to fixed-capacity chunks, so appending never moves
//! stored bytes and allocates only when a chunk fills. Memory is bounded by `limit_bytes`:
//! when the chunks exceed it, the oldest chunks are dropped (the newest chunk always stays),
//! and [`Store::get`] returns `None` for the dropped numbers; callers log and refuse such
//! requests.

use std::collections::VecDeque;

/// One chunk of consecutive messages.
#[derive(Debug)]
struct Chunk {
    /// Number of the chunk's first message.
    first: u64,
    /// The messages back to back; capacity fixed at creation.
    data: Vec<u8>,
    /// `ends[i]`: end offset of the chunk's message `i` in `data`.
    ends: Vec<u32>,
}

/// The store; see the module docs.
#[derive(Debug)]
pub struct Store {
    chunks: VecDeque<Chunk>,
    chunk_bytes: usize,
    limit_bytes: usize,
    next: u64,
    evicted_chunks: u64,
}

impl Store {
    /// An empty store whose first message will be number 1. `chunk_bytes` is the chunk
    /// capacity (at least 64 KiB is sensible); `limit_bytes` the memory bound.
    #[must_use]
    pub fn new(chunk_bytes: usize, limit_bytes: usize) -> Self {
        Self {
            chunks: VecDeque::new(),
            chunk_bytes: chunk_bytes.max(256),
            limit_bytes,
            next: 1,
            evicted_chunks: 0,
        }
    }

    /// Appends one message and returns its number.
    pub fn push(&mut self, message: &[u8]) -> u64 {
        let number = self.next;
        let needs_chunk = self.chunks.back().is_none_or(|chunk| {
            chunk.data.len() + message.len() > chunk.data.capacity()
                || u32::try_from(chunk.data.len() + message.len()).is_err()
        });
        if needs_chunk {
            let capacity = self.chunk_bytes.max(message.len());
            self.chunks.push_back(Chunk {
                first: number,
                data: Vec::with_capacity(capacity),
                ends: Vec::with_capacity(capacity / 16),
            });
            self.evict();
        }
        if let Some(chunk) = self.chunks.back_mut() {
            chunk.data.extend_from_slice(message);
            // The chunk check above keeps the length within u32.
            chunk
                .ends
                .push(u32::try_from(chunk.data.len()).unwrap_or(u32::MAX));
        }
        self.next += 1;
        number
    }

    /// Drops the oldest chunks while over the limit, keeping the newest.
    fn evict(&mut self) {
        // At most `chunks.len() - 1` iterations.
        while self.chunks.len() > 1 && self.retained_bytes() > self.limit_bytes {
            self.chunks.pop_front();
            self.evicted_chunks += 1;
        }
    }

    /// Message `number`, if it was stored and not dropped.
    #[must_use]
    pub fn get(&self, number: u64) -> Option<&[u8]> {
        if number < self.first() || number >= self.next {
            return None;
        }
        let index = self.chunks.partition_point(|chunk| chunk.first <= number);
        let chunk = self.chunks.get(index.checked_sub(1)?)?;
        let at = usize::try_from(number - chunk.first).ok()?;
        let start = match at.checked_sub(1) {
            Some(previous) => *chunk.ends.get(previous)? as usize,
            None => 0,
        };
        let end = *chunk.ends.get(at)? as usize;
        chunk.data.get(start..end)
    }

    /// Number of the oldest message still stored (`next()` when empty).
    #[must_use]
    pub fn first(&self) -> u64 {
        self.chunks.front().map_or(self.next, |chunk| chunk.first)
    }

    /// Number the next message will get.
    #[must_use]
    pub const fn next(&self) -> u64 {
        self.next
    }

    /// Bytes held (chunk capacities and index).
    #[must_use]
    pub fn retained_bytes(&self) -> usize {
        self.chunks
            .iter()
            .map(|chunk| chunk.data.capacity() + chunk.ends.capacity() * 4)
            .sum()
    }

    /// Chunks dropped to stay within the limit.
    #[must_use]
    pub const fn evicted_chunks(&self) -> u64 {
        self.evicted_chunks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_from_one_and_lookup() {
        let mut store = Store::new(256, 1 << 20);
        assert_eq!(store.first(), 1);
        assert_eq!(store.get(1), None);
        for index in 0..1000u32 {
            let message = index.to_be_bytes();
            assert_eq!(
                store.push(&message[..1 + (index as usize % 4)]),
                u64::from(index) + 1
            );
        }
        assert_eq!(store.next(), 1001);
        for index in 0..1000u32 {
            let message = index.to_be_bytes();
            assert_eq!(
                store.get(u64::from(index) + 1),
                Some(&message[..1 + (index as usize % 4)])
            );
        }
        assert_eq!(store.get(0), None);
        assert_eq!(store.get(1001), None);
    }

    #[test]
    fn oldest_chunks_are_dropped_beyond_the_limit() {
        let mut store = Store::new(1024, 4096);
        for index in 0..10_000u64 {
            store.push(&index.to_be_bytes());
        }
        assert!(store.retained_bytes() <= 4096 + 1024 + 1024);
        assert!(store.first() > 1);
        assert!(store.evicted_chunks() > 0);
        assert_eq!(store.get(1), None);
        assert_eq!(store.get(10_000), Some(&9_999u64.to_be_bytes()[..]));
        let first = store.first();
        assert_eq!(store.get(first), Some(&(first - 1).to_be_bytes()[..]));
    }

    #[test]
    fn a_message_larger_than_a_chunk_gets_its_own() {
        let mut store = Store::new(256, 1 << 20);
        store.push(b"small");
        let big = vec![7u8; 1000];
        store.push(&big);
        store.push(b"after");
        assert_eq!(store.get(2), Some(&big[..]));
        assert_eq!(store.get(3), Some(&b"after"[..]));
    }
}
