//! In-memory packet I/O: the engine's in-process harness for tests and the tick-to-order
//! benchmark. Received datagrams are injected by the caller; transmitted datagrams are built
//! exactly as the AF_XDP backend builds them — Ethernet/IPv4/UDP headers from a
//! per-destination template and both checksums in software, in preallocated frames — and
//! kept for the caller to inspect. Only the kernel is missing.
//!
//! Frames are allocated in [`MemoryIo::new`]; `poll`, `send` and `flush` allocate nothing.

use std::net::{Ipv4Addr, SocketAddrV4};

use super::{BackendKind, DestId, IoCounters, IoError, PacketIo, RxAction, RxDatagram};
use crate::net::{UDP_FRAME_OVERHEAD, UdpHeaderTemplate, parse_udp_frame};

const LOCAL_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

/// An in-memory backend with `frames` transmit frames of `frame_size` bytes.
#[derive(Debug)]
pub struct MemoryIo {
    local_ip: Ipv4Addr,
    destinations: Vec<UdpHeaderTemplate>,
    /// Received datagrams waiting for `poll`: (src, dst, length), payloads in `inbox_data`.
    inbox: Vec<(SocketAddrV4, SocketAddrV4, usize)>,
    inbox_data: Vec<Vec<u8>>,
    frames: Vec<Vec<u8>>,
    frame_lens: Vec<usize>,
    sent: usize,
    counters: IoCounters,
}

impl MemoryIo {
    /// A backend for `local_ip` holding up to `frames` transmitted frames.
    #[must_use]
    pub fn new(local_ip: Ipv4Addr, frames: usize, frame_size: usize) -> Self {
        Self {
            local_ip,
            destinations: Vec::with_capacity(16),
            inbox: Vec::with_capacity(frames),
            inbox_data: vec![vec![0; frame_size]; frames],
            frames: vec![vec![0; frame_size]; frames],
            frame_lens: vec![0; frames],
            sent: 0,
            counters: IoCounters::default(),
        }
    }

    /// Queues a datagram for the next `poll` (copied into a preallocated slot). Returns
    /// `false` when the inbox is full or the payload larger than a frame.
    pub fn inject(&mut self, src: SocketAddrV4, dst: SocketAddrV4, payload: &[u8]) -> bool {
        let slot = self.inbox.len();
        let Some(buffer) = self.inbox_data.get_mut(slot) else {
            return false;
        };
        let Some(target) = buffer.get_mut(..payload.len()) else {
            return false;
        };
        target.copy_from_slice(payload);
        self.inbox.push((src, dst, payload.len()));
        true
    }

    /// The frames transmitted since the last [`clear_sent`](Self::clear_sent).
    pub fn sent_frames(&self) -> impl Iterator<Item = &[u8]> {
        self.frames[..self.sent]
            .iter()
            .zip(&self.frame_lens)
            .map(|(frame, len)| &frame[..*len])
    }

    /// (destination, UDP payload) of every transmitted frame.
    pub fn sent_datagrams(&self) -> impl Iterator<Item = (SocketAddrV4, &[u8])> {
        self.sent_frames().filter_map(|frame| {
            parse_udp_frame(frame)
                .ok()
                .map(|udp| (udp.dst, udp.payload))
        })
    }

    /// Forgets the transmitted frames (their buffers are reused).
    pub fn clear_sent(&mut self) {
        self.sent = 0;
    }
}

impl PacketIo for MemoryIo {
    fn kind(&self) -> BackendKind {
        BackendKind::Socket
    }

    fn local_ip(&self) -> Ipv4Addr {
        self.local_ip
    }

    fn add_destination(&mut self, src_port: u16, dst: SocketAddrV4) -> Result<DestId, IoError> {
        let id = u16::try_from(self.destinations.len())
            .map_err(|_| IoError::Config("too many destinations".into()))?;
        self.destinations.push(UdpHeaderTemplate::new(
            LOCAL_MAC,
            PEER_MAC,
            SocketAddrV4::new(self.local_ip, src_port),
            dst,
        ));
        Ok(DestId(id))
    }

    fn poll<F>(&mut self, mut on_rx: F) -> Result<usize, IoError>
    where
        F: FnMut(&RxDatagram<'_>) -> RxAction,
    {
        let count = self.inbox.len();
        for (slot, &(src, dst, len)) in self.inbox.iter().enumerate() {
            on_rx(&RxDatagram {
                src,
                dst,
                payload: &self.inbox_data[slot][..len],
            });
        }
        self.inbox.clear();
        self.counters.rx_datagrams += count as u64;
        Ok(count)
    }

    #[inline]
    fn send<F>(&mut self, dest: DestId, write: F) -> Result<bool, IoError>
    where
        F: FnOnce(&mut [u8]) -> usize,
    {
        let template = *self
            .destinations
            .get(usize::from(dest.0))
            .ok_or_else(|| IoError::Config("unknown destination".into()))?;
        let Some(frame) = self.frames.get_mut(self.sent) else {
            self.counters.tx_no_buffer += 1;
            return Ok(false);
        };
        let payload_len = frame.get_mut(UDP_FRAME_OVERHEAD..).map_or(0, write);
        if payload_len == 0 {
            return Ok(false);
        }
        let Ok(len) = template.finish(frame, payload_len) else {
            self.counters.tx_errors += 1;
            return Ok(false);
        };
        self.frame_lens[self.sent] = len;
        self.sent += 1;
        self.counters.tx_datagrams += 1;
        Ok(true)
    }

    fn flush(&mut self) -> Result<(), IoError> {
        self.counters.tx_kicks += 1;
        Ok(())
    }

    fn counters(&self) -> IoCounters {
        self.counters
    }
}
