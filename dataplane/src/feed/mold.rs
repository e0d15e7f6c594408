//! MoldUDP64 sequencing and gap recovery for one feed session.
//!
//! Packets are applied strictly in sequence order. A packet ahead of the next expected
//! sequence opens a **gap**: the packet is buffered (a bounded number of preallocated
//! slots), a MoldUDP64 request for the missing range goes to the retransmission server,
//! and retransmitted packets — ordinary downstream packets with earlier sequence numbers —
//! fill the hole; the buffer then drains in order. Requests are repeated after
//! [`MoldConfig::request_timeout_ns`]; after [`MoldConfig::give_up_ns`] or
//! [`MoldConfig::max_requests`] the gap is **abandoned**: the buffered packets are applied
//! from where they start, and [`Progress::abandoned`] tells the caller to mark its books
//! stale (an order-by-order book cannot repair itself).
//!
//! Duplicates (packets or messages already applied) are dropped and counted; a packet that
//! overlaps applied messages is applied from the first new message on. Nothing allocates
//! after [`MoldRecovery::new`]; every loop is bounded by a packet's message count or the
//! buffer size.

use tickwire_protocol::moldudp64::{self, MoldError, Request, Session};

/// Recovery limits.
#[derive(Debug, Clone, Copy)]
pub struct MoldConfig {
    /// First sequence number to expect (1: the whole session is needed).
    pub start_sequence: u64,
    /// Out-of-order packets held while a gap is open.
    pub max_buffered_packets: usize,
    /// Largest packet that can be buffered (bytes).
    pub max_packet_len: usize,
    /// Re-request a still-open gap after this long.
    pub request_timeout_ns: u64,
    /// Requests per gap before giving up.
    pub max_requests: u32,
    /// Give a gap up after this long.
    pub give_up_ns: u64,
    /// Largest message count per request.
    pub max_request_count: u16,
}

impl Default for MoldConfig {
    fn default() -> Self {
        Self {
            start_sequence: 1,
            max_buffered_packets: 1024,
            max_packet_len: 2048,
            request_timeout_ns: 20_000_000,
            max_requests: 10,
            give_up_ns: 500_000_000,
            max_request_count: 4096,
        }
    }
}

/// Counters of one feed session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MoldCounters {
    /// Packets that decoded.
    pub packets: u64,
    /// Messages applied.
    pub messages: u64,
    /// Packets that did not decode.
    pub malformed: u64,
    /// Packets of another session.
    pub foreign_session: u64,
    /// Packets or messages already applied.
    pub duplicates: u64,
    /// Gaps opened.
    pub gaps: u64,
    /// Gaps closed by retransmission.
    pub gaps_recovered: u64,
    /// Gaps given up on.
    pub gaps_abandoned: u64,
    /// Messages skipped by abandoned gaps.
    pub messages_lost: u64,
    /// Retransmission requests sent.
    pub requests: u64,
    /// Packets dropped because the buffer was full or they were too large.
    pub buffer_drops: u64,
}

/// What a call changed, beyond the messages it applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// A gap is open (messages missing, recovery under way).
    pub gap_open: bool,
    /// A gap was just recovered.
    pub recovered: bool,
    /// A gap was just given up: the books of this feed are incomplete.
    pub abandoned: bool,
    /// The server ended the session.
    pub end_of_session: bool,
}

#[derive(Debug, Clone, Copy)]
struct Gap {
    opened_ns: u64,
    last_request_ns: u64,
    requests: u32,
    /// A sequence number known to exist after the hole (a buffered packet's first, or the
    /// next sequence a heartbeat announced).
    target: u64,
    /// `expected` at the last request: progress past it refreshes the request budget.
    progress: u64,
    /// End (exclusive) of what has been requested: answers for it may still be in flight.
    requested_until: u64,
}

#[derive(Debug, Clone, Copy)]
struct Buffered {
    first: u64,
    next: u64,
    slot: usize,
    len: usize,
}

/// Sequencing state of one MoldUDP64 session.
#[derive(Debug)]
pub struct MoldRecovery {
    config: MoldConfig,
    session: Option<Session>,
    expected: u64,
    gap: Option<Gap>,
    ended: bool,
    storage: Box<[u8]>,
    free_slots: Vec<usize>,
    /// Sorted by `first`.
    buffered: Vec<Buffered>,
    counters: MoldCounters,
}

impl MoldRecovery {
    /// Allocates the packet buffer.
    #[must_use]
    pub fn new(config: MoldConfig) -> Self {
        let slots = config.max_buffered_packets.max(1);
        Self {
            config,
            session: None,
            expected: config.start_sequence.max(1),
            gap: None,
            ended: false,
            storage: vec![0; slots * config.max_packet_len].into_boxed_slice(),
            free_slots: (0..slots).rev().collect(),
            buffered: Vec::with_capacity(slots),
            counters: MoldCounters::default(),
        }
    }

    /// Next sequence number to apply.
    #[must_use]
    pub fn expected(&self) -> u64 {
        self.expected
    }

    /// The session, once the first packet arrived.
    #[must_use]
    pub fn session(&self) -> Option<Session> {
        self.session
    }

    /// Counters so far.
    #[must_use]
    pub fn counters(&self) -> MoldCounters {
        self.counters
    }

    /// True while messages are missing.
    #[must_use]
    pub fn gap_open(&self) -> bool {
        self.gap.is_some()
    }

    /// Handles one received packet (live or retransmitted): applies every message that is
    /// next in sequence by calling `apply(sequence, message)`, buffers packets ahead of a
    /// gap, and calls `request` when a retransmission request must be sent.
    ///
    /// # Errors
    /// The packet did not decode (counted; nothing applied).
    #[inline]
    pub fn on_packet(
        &mut self,
        bytes: &[u8],
        now_ns: u64,
        apply: &mut impl FnMut(u64, &[u8]),
        request: &mut impl FnMut(Request),
    ) -> Result<Progress, MoldError> {
        let packet = match moldudp64::decode(bytes) {
            Ok(packet) => packet,
            Err(error) => {
                self.counters.malformed += 1;
                return Err(error);
            }
        };
        self.counters.packets += 1;
        let session = *self.session.get_or_insert(packet.session());
        if packet.session() != session {
            self.counters.foreign_session += 1;
            return Ok(self.progress());
        }
        let mut progress = Progress::default();
        if packet.is_end_of_session() {
            self.ended = true;
            progress.end_of_session = true;
        }
        let first = packet.sequence_number();
        let next = packet.next_sequence();
        if packet.is_empty() {
            // Heartbeat or end of session: its sequence number is the next one the server
            // will send; anything before it that we lack is a gap (or extends the open one,
            // whose hole may end earlier: a lost tail must not be forgotten).
            if first > self.expected {
                match &mut self.gap {
                    None => self.open_gap(first, now_ns, request),
                    Some(gap) => gap.target = gap.target.max(first),
                }
            }
        } else if next <= self.expected {
            self.counters.duplicates += 1;
        } else if first <= self.expected {
            self.apply_from(&packet, apply);
            self.drain(apply);
        } else {
            self.buffer(bytes, first, next);
            if self.gap.is_none() {
                self.open_gap(first, now_ns, request);
            }
        }
        if let Some(gap) = self.gap {
            if self.buffered.is_empty() && self.expected >= gap.target {
                self.gap = None;
                self.counters.gaps_recovered += 1;
                progress.recovered = true;
            } else if self.expected > gap.progress {
                // Part of the hole arrived (answers come in chunks, or another loss happened
                // meanwhile): the same gap continues with a fresh budget. Only a range nobody
                // asked for yet is requested at once; answers already in flight are awaited
                // (re-asking for them would multiply the retransmissions).
                let hole_end = self.hole_end();
                let uncovered = hole_end > gap.requested_until;
                if let Some(gap) = &mut self.gap {
                    gap.requests = 0;
                    gap.opened_ns = now_ns;
                    gap.progress = self.expected;
                    gap.target = gap.target.max(hole_end);
                }
                if uncovered {
                    self.send_request(now_ns, request);
                }
            }
        }
        progress.gap_open = self.gap.is_some();
        progress.end_of_session |= self.ended;
        Ok(progress)
    }

    /// Timer work: re-requests an open gap after the timeout and abandons it after the
    /// give-up limits. Call regularly (every loop iteration is fine: it is a comparison).
    #[inline]
    pub fn on_tick(
        &mut self,
        now_ns: u64,
        apply: &mut impl FnMut(u64, &[u8]),
        request: &mut impl FnMut(Request),
    ) -> Progress {
        let Some(gap) = self.gap else {
            return self.progress();
        };
        if now_ns.saturating_sub(gap.opened_ns) >= self.config.give_up_ns
            || (gap.requests >= self.config.max_requests
                && now_ns.saturating_sub(gap.last_request_ns) >= self.config.request_timeout_ns)
        {
            return self.abandon(now_ns, apply, request);
        }
        if now_ns.saturating_sub(gap.last_request_ns) >= self.config.request_timeout_ns {
            self.send_request(now_ns, request);
        }
        self.progress()
    }

    fn progress(&self) -> Progress {
        Progress {
            gap_open: self.gap.is_some(),
            end_of_session: self.ended,
            ..Progress::default()
        }
    }

    /// End (exclusive) of the hole: the earliest buffered packet, else the gap's target.
    fn hole_end(&self) -> u64 {
        match (self.buffered.first(), self.gap) {
            (Some(head), _) => head.first,
            (None, Some(gap)) => gap.target,
            (None, None) => self.expected,
        }
    }

    fn open_gap(&mut self, target: u64, now_ns: u64, request: &mut impl FnMut(Request)) {
        self.counters.gaps += 1;
        self.gap = Some(Gap {
            opened_ns: now_ns,
            last_request_ns: now_ns,
            requests: 0,
            target,
            progress: self.expected,
            requested_until: self.expected,
        });
        self.send_request(now_ns, request);
    }

    fn send_request(&mut self, now_ns: u64, request: &mut impl FnMut(Request)) {
        let Some(session) = self.session else {
            return;
        };
        let missing = self.hole_end().saturating_sub(self.expected);
        let count = u16::try_from(missing.min(u64::from(self.config.max_request_count)))
            .unwrap_or(self.config.max_request_count)
            .max(1);
        request(Request {
            session,
            sequence_number: self.expected,
            message_count: count,
        });
        self.counters.requests += 1;
        if let Some(gap) = &mut self.gap {
            gap.requests += 1;
            gap.last_request_ns = now_ns;
            gap.progress = self.expected;
            gap.requested_until = self.expected + u64::from(count);
        }
    }

    /// Applies the messages of `packet` from `expected` on.
    fn apply_from(&mut self, packet: &moldudp64::Packet<'_>, apply: &mut impl FnMut(u64, &[u8])) {
        let first = packet.sequence_number();
        let skip = usize::try_from(self.expected - first).unwrap_or(usize::MAX);
        if skip > 0 {
            self.counters.duplicates += 1;
        }
        for (offset, message) in packet.messages().enumerate().skip(skip) {
            apply(first + offset as u64, message);
            self.counters.messages += 1;
        }
        self.expected = packet.next_sequence();
    }

    /// Applies buffered packets that are now next in sequence.
    fn drain(&mut self, apply: &mut impl FnMut(u64, &[u8])) {
        // Bounded by the number of buffered packets.
        while let Some(&head) = self.buffered.first() {
            if head.first > self.expected {
                break;
            }
            self.buffered.remove(0);
            self.free_slots.push(head.slot);
            if head.next <= self.expected {
                self.counters.duplicates += 1;
                continue;
            }
            let start = head.slot * self.config.max_packet_len;
            let bytes = &self.storage[start..start + head.len];
            // Validated when buffered.
            if let Ok(packet) = moldudp64::decode(bytes) {
                let first = packet.sequence_number();
                let skip = usize::try_from(self.expected - first).unwrap_or(usize::MAX);
                for (offset, message) in packet.messages().enumerate().skip(skip) {
                    apply(first + offset as u64, message);
                    self.counters.messages += 1;
                }
                self.expected = packet.next_sequence();
            }
        }
    }

    fn buffer(&mut self, bytes: &[u8], first: u64, next: u64) {
        if self
            .buffered
            .iter()
            .any(|buffered| buffered.first == first && buffered.next == next)
        {
            self.counters.duplicates += 1;
            return;
        }
        if bytes.len() > self.config.max_packet_len {
            self.counters.buffer_drops += 1;
            return;
        }
        let Some(slot) = self.free_slots.pop() else {
            self.counters.buffer_drops += 1;
            return;
        };
        let start = slot * self.config.max_packet_len;
        self.storage[start..start + bytes.len()].copy_from_slice(bytes);
        let position = self
            .buffered
            .partition_point(|buffered| buffered.first < first);
        self.buffered.insert(
            position,
            Buffered {
                first,
                next,
                slot,
                len: bytes.len(),
            },
        );
    }

    fn abandon(
        &mut self,
        now_ns: u64,
        apply: &mut impl FnMut(u64, &[u8]),
        request: &mut impl FnMut(Request),
    ) -> Progress {
        let resume = self.hole_end();
        if resume > self.expected {
            self.counters.messages_lost += resume - self.expected;
            self.expected = resume;
        }
        self.gap = None;
        self.counters.gaps_abandoned += 1;
        self.drain(apply);
        // Buffered packets beyond a further hole: that is a new gap.
        if let Some(head) = self.buffered.first() {
            let target = head.first;
            self.open_gap(target, now_ns, request);
        }
        Progress {
            abandoned: true,
            gap_open: self.gap.is_some(),
            end_of_session: self.ended,
            recovered: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use tickwire_protocol::moldudp64::{PacketBuilder, encode_heartbeat};

    use super::*;

    fn session() -> Session {
        Session::new("TICKWIRE01").unwrap()
    }

    /// A packet carrying messages `first..first + count`, each message its own sequence
    /// number (8 bytes), so the test can check what was applied where.
    fn packet(first: u64, count: u64) -> Vec<u8> {
        let mut buffer = vec![0u8; 2048];
        let mut builder = PacketBuilder::new(&mut buffer, session(), first).unwrap();
        for sequence in first..first + count {
            builder.push(&sequence.to_be_bytes()).unwrap();
        }
        let len = builder.finish();
        buffer.truncate(len);
        buffer
    }

    /// The retransmission server: answers a request with packets of at most 3 messages,
    /// so its packet boundaries differ from the live feed's.
    fn retransmit(request: &Request, last: u64) -> Vec<Vec<u8>> {
        let end = (request.sequence_number + u64::from(request.message_count)).min(last + 1);
        (request.sequence_number..end)
            .step_by(3)
            .map(|first| packet(first, 3.min(end - first)))
            .collect()
    }

    #[derive(Default)]
    struct Applied {
        sequences: Vec<u64>,
        requests: Vec<Request>,
    }

    fn config() -> MoldConfig {
        MoldConfig {
            max_buffered_packets: 8,
            request_timeout_ns: 100,
            max_requests: 3,
            give_up_ns: 1_000,
            ..MoldConfig::default()
        }
    }

    impl Applied {
        fn deliver(&mut self, recovery: &mut MoldRecovery, bytes: &[u8], now: u64) -> Progress {
            let sequences = &mut self.sequences;
            let requests = &mut self.requests;
            recovery
                .on_packet(
                    bytes,
                    now,
                    &mut |sequence, message| {
                        assert_eq!(message, sequence.to_be_bytes(), "message {sequence}");
                        sequences.push(sequence);
                    },
                    &mut |request| requests.push(request),
                )
                .unwrap()
        }

        fn tick(&mut self, recovery: &mut MoldRecovery, now: u64) -> Progress {
            let sequences = &mut self.sequences;
            let requests = &mut self.requests;
            recovery.on_tick(
                now,
                &mut |sequence, _| sequences.push(sequence),
                &mut |request| requests.push(request),
            )
        }
    }

    #[test]
    fn in_order_packets_apply_in_order() {
        let mut recovery = MoldRecovery::new(config());
        let mut applied = Applied::default();
        for first in [1, 3, 9] {
            let count = if first == 3 { 6 } else { 2 };
            let progress = applied.deliver(&mut recovery, &packet(first, count), 0);
            assert!(!progress.gap_open);
        }
        assert_eq!(applied.sequences, (1..=10).collect::<Vec<_>>());
        assert!(applied.requests.is_empty());
        assert_eq!(recovery.expected(), 11);
        assert_eq!(recovery.counters().messages, 10);
    }

    #[test]
    fn a_gap_is_requested_buffered_and_filled() {
        let mut recovery = MoldRecovery::new(config());
        let mut applied = Applied::default();
        applied.deliver(&mut recovery, &packet(1, 2), 0);
        // 3..=5 lost; 6..=7 and 8 arrive (8 before 6).
        assert!(applied.deliver(&mut recovery, &packet(8, 1), 1).gap_open);
        assert!(applied.deliver(&mut recovery, &packet(6, 2), 2).gap_open);
        assert_eq!(applied.sequences, vec![1, 2]);
        assert_eq!(
            applied.requests,
            vec![Request {
                session: session(),
                sequence_number: 3,
                message_count: 5
            }],
            "one request, for 3..8: when 8 arrived, 6 and 7 were missing too"
        );
        let answer = retransmit(&applied.requests[0], 8);
        let mut recovered = false;
        for bytes in &answer {
            recovered |= applied.deliver(&mut recovery, bytes, 3).recovered;
        }
        assert!(recovered && !recovery.gap_open());
        assert_eq!(
            recovery.counters().duplicates,
            1,
            "the answer's 6..=7 were buffered"
        );
        assert_eq!(applied.sequences, (1..=8).collect::<Vec<_>>());
        assert_eq!(recovery.counters().gaps_recovered, 1);
    }

    #[test]
    fn duplicates_and_overlaps_apply_once() {
        let mut recovery = MoldRecovery::new(config());
        let mut applied = Applied::default();
        applied.deliver(&mut recovery, &packet(1, 4), 0);
        applied.deliver(&mut recovery, &packet(1, 4), 0);
        applied.deliver(&mut recovery, &packet(3, 4), 0); // 3, 4 old; 5, 6 new
        assert_eq!(applied.sequences, (1..=6).collect::<Vec<_>>());
        assert_eq!(recovery.counters().duplicates, 2);
    }

    #[test]
    fn a_heartbeat_reveals_a_gap() {
        let mut recovery = MoldRecovery::new(config());
        let mut applied = Applied::default();
        applied.deliver(&mut recovery, &packet(1, 1), 0);
        let mut heartbeat = [0u8; 20];
        let len = encode_heartbeat(&mut heartbeat, session(), 4).unwrap();
        assert!(
            applied
                .deliver(&mut recovery, &heartbeat[..len], 1)
                .gap_open
        );
        assert_eq!(applied.requests[0].sequence_number, 2);
        assert_eq!(applied.requests[0].message_count, 2);
        applied.deliver(&mut recovery, &packet(2, 2), 2);
        assert!(!recovery.gap_open());
        assert_eq!(applied.sequences, vec![1, 2, 3]);
    }

    #[test]
    fn unanswered_gaps_are_re_requested_then_abandoned() {
        let mut recovery = MoldRecovery::new(config());
        let mut applied = Applied::default();
        applied.deliver(&mut recovery, &packet(1, 1), 0);
        applied.deliver(&mut recovery, &packet(5, 2), 0);
        assert_eq!(applied.requests.len(), 1);
        assert!(
            !applied.tick(&mut recovery, 50).abandoned,
            "before the timeout"
        );
        assert_eq!(applied.requests.len(), 1);
        applied.tick(&mut recovery, 100);
        applied.tick(&mut recovery, 200);
        assert_eq!(applied.requests.len(), 3, "re-requested after each timeout");
        let progress = applied.tick(&mut recovery, 300);
        assert!(progress.abandoned && !progress.gap_open);
        assert_eq!(
            applied.sequences,
            vec![1, 5, 6],
            "resumes at the buffered packet"
        );
        let counters = recovery.counters();
        assert_eq!((counters.gaps_abandoned, counters.messages_lost), (1, 3));
        // The stream continues normally afterwards.
        applied.deliver(&mut recovery, &packet(7, 1), 400);
        assert_eq!(applied.sequences, vec![1, 5, 6, 7]);
    }

    #[test]
    fn a_lost_tail_announced_while_a_gap_is_open_is_recovered() {
        let mut recovery = MoldRecovery::new(config());
        let mut applied = Applied::default();
        applied.deliver(&mut recovery, &packet(1, 1), 0);
        applied.deliver(&mut recovery, &packet(4, 1), 1); // 2..=3 missing: a gap
        // 5..=6 are lost too; the heartbeat says 7 is next, while the gap is open.
        let mut heartbeat = [0u8; 20];
        let len = encode_heartbeat(&mut heartbeat, session(), 7).unwrap();
        applied.deliver(&mut recovery, &heartbeat[..len], 2);
        // The first hole is answered; the tail must still be asked for and recovered.
        applied.deliver(&mut recovery, &packet(2, 2), 3);
        assert!(recovery.gap_open(), "5..=6 still missing");
        let last = *applied.requests.last().unwrap();
        assert_eq!((last.sequence_number, last.message_count), (5, 2));
        applied.deliver(&mut recovery, &packet(5, 2), 4);
        assert!(!recovery.gap_open());
        assert_eq!(applied.sequences, (1..=6).collect::<Vec<_>>());
        assert_eq!(recovery.counters().gaps, 1, "one gap, recovered once");
        assert_eq!(recovery.counters().gaps_recovered, 1);
    }

    #[test]
    fn buffer_overflow_is_counted_not_fatal() {
        let mut recovery = MoldRecovery::new(MoldConfig {
            max_buffered_packets: 2,
            ..config()
        });
        let mut applied = Applied::default();
        for first in [3, 4, 5] {
            applied.deliver(&mut recovery, &packet(first, 1), 0);
        }
        assert_eq!(recovery.counters().buffer_drops, 1);
        applied.deliver(&mut recovery, &packet(1, 2), 1);
        // 1..=4 now; 5 was dropped: a new gap for it.
        assert_eq!(applied.sequences, vec![1, 2, 3, 4]);
        assert!(applied.deliver(&mut recovery, &packet(6, 1), 2).gap_open);
        assert_eq!(applied.requests.last().unwrap().sequence_number, 5);
    }

    #[test]
    fn malformed_and_foreign_packets_are_counted() {
        let mut recovery = MoldRecovery::new(config());
        let mut applied = Applied::default();
        applied.deliver(&mut recovery, &packet(1, 1), 0);
        let truncated = &packet(2, 2)[..25];
        assert!(
            recovery
                .on_packet(truncated, 0, &mut |_, _| {}, &mut |_| {})
                .is_err()
        );
        let mut foreign = packet(2, 1);
        foreign[..10].copy_from_slice(b"OTHERSESS1");
        applied.deliver(&mut recovery, &foreign, 0);
        let counters = recovery.counters();
        assert_eq!((counters.malformed, counters.foreign_session), (1, 1));
        assert_eq!(applied.sequences, vec![1]);
    }

    proptest! {
        /// Random loss and reordering, a retransmission server that re-chunks: every
        /// message is applied exactly once, in order.
        #[test]
        fn loss_and_reordering_recover_exactly(
            sizes in proptest::collection::vec(1u64..6, 20..120),
            losses in proptest::collection::vec(any::<bool>(), 120),
            swaps in proptest::collection::vec(0usize..4, 120),
        ) {
            let mut packets = Vec::new();
            let mut first = 1;
            for size in &sizes {
                packets.push(packet(first, *size));
                first += size;
            }
            let last = first - 1;
            // Local reordering within a window of 4.
            let mut order: Vec<usize> = (0..packets.len()).collect();
            for (index, swap) in swaps.iter().enumerate().take(order.len()) {
                let other = (index + swap).min(order.len() - 1);
                order.swap(index, other);
            }
            let mut recovery = MoldRecovery::new(MoldConfig {
                max_buffered_packets: 256,
                ..config()
            });
            let mut applied = Applied::default();
            let mut now = 0;
            for (position, index) in order.iter().enumerate() {
                now += 1;
                if losses[position % losses.len()] && position % 3 == 0 {
                    continue; // lost on the wire
                }
                applied.deliver(&mut recovery, &packets[*index], now);
                // Serve requests as they come (bounded: each answer shrinks the hole).
                while let Some(request) = applied.requests.pop() {
                    for bytes in retransmit(&request, last) {
                        applied.deliver(&mut recovery, &bytes, now);
                    }
                }
            }
            // Losses at the very end show up through the server's heartbeat.
            let mut heartbeat = [0u8; 20];
            let len = encode_heartbeat(&mut heartbeat, session(), last + 1).unwrap();
            applied.deliver(&mut recovery, &heartbeat[..len], now + 1);
            while let Some(request) = applied.requests.pop() {
                for bytes in retransmit(&request, last) {
                    applied.deliver(&mut recovery, &bytes, now + 1);
                }
            }
            prop_assert_eq!(&applied.sequences, &(1..=last).collect::<Vec<_>>());
            prop_assert!(!recovery.gap_open());
            let counters = recovery.counters();
            prop_assert_eq!(counters.gaps, counters.gaps_recovered);
        }
    }
}
