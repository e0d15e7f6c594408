//! AF_XDP backend (xsk-rs). The data plane's UMEM and ring handling — and so most of its
//! `unsafe` — lives in this module.
//!
//! Frame ownership. The UMEM is split once: frames below `rx_pool_end` form the receive pool,
//! the rest the transmit pool. A receive frame is in the fill or rx ring (kernel), in the
//! `refill` stack, or — when echoed — in `tx_ready` and then the tx/completion rings, after
//! which it returns to `refill`. A transmit frame is in `tx_free`, `tx_ready`, or the
//! tx/completion rings. [`AfXdpIo::frame_accounting`] proves nothing leaks: the places
//! always add up to the frame count. Every vector is allocated at its final capacity in
//! [`AfXdpIo::open`]; the bounds above mean none ever grows.

use std::{
    net::{Ipv4Addr, SocketAddrV4, UdpSocket},
    num::NonZeroU32,
    os::fd::AsRawFd,
};

use xsk_rs::{
    CompQueue, FillQueue, FrameDesc, RxQueue, TxQueue, Umem,
    config::{BindFlags, FrameSize, Interface, LibxdpFlags, QueueSize, SocketConfig, UmemConfig},
    socket::Socket,
};

use super::{
    BackendKind, DestId, IoConfig, IoCounters, IoError, PacketIo, RxAction, RxDatagram,
    iface::{self, InterfaceInfo},
};
use crate::{
    net::{UDP_FRAME_OVERHEAD, UdpHeaderTemplate, parse_udp_frame, reply_in_place},
    xdp::SteeringProgram,
};

/// Where every UMEM frame is; the fields always add up to `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameAccounting {
    /// Frames in the UMEM.
    pub total: usize,
    /// Receive frames handed to the kernel (fill ring) and not yet received back.
    pub in_fill_or_rx: usize,
    /// Receive frames waiting to go back to the fill ring.
    pub awaiting_refill: usize,
    /// Transmit frames free for `send`.
    pub tx_free: usize,
    /// Frames built and queued, not yet on the tx ring.
    pub tx_ready: usize,
    /// Frames on the tx ring or completed and not yet reaped.
    pub in_tx_or_completion: usize,
}

impl FrameAccounting {
    /// True when every frame is accounted for exactly once.
    #[must_use]
    pub fn balanced(&self) -> bool {
        self.in_fill_or_rx
            + self.awaiting_refill
            + self.tx_free
            + self.tx_ready
            + self.in_tx_or_completion
            == self.total
    }
}

/// The AF_XDP backend: the steering program, one socket on one rx queue, its UMEM.
pub struct AfXdpIo {
    // Rings first: they must be dropped before the UMEM they map.
    rx: RxQueue,
    tx: TxQueue,
    fill: FillQueue,
    completion: CompQueue,
    umem: Umem,
    program: SteeringProgram,
    info: InterfaceInfo,
    zero_copy: bool,
    rx_pool_end: usize,
    total_frames: usize,
    batch: usize,
    rx_batch: Vec<FrameDesc>,
    completion_batch: Vec<FrameDesc>,
    refill: Vec<FrameDesc>,
    tx_free: Vec<FrameDesc>,
    tx_ready: Vec<FrameDesc>,
    in_fill_or_rx: usize,
    in_tx_or_completion: usize,
    destinations: Vec<UdpHeaderTemplate>,
    /// Port reservations and multicast memberships: held, never read.
    #[expect(
        dead_code,
        reason = "held for their effect: port reservation and IGMP membership"
    )]
    kernel_sockets: Vec<UdpSocket>,
    counters: IoCounters,
}

impl std::fmt::Debug for AfXdpIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AfXdpIo")
            .field("iface", &self.info.name)
            .field("program", &self.program)
            .field("zero_copy", &self.zero_copy)
            .field("accounting", &self.frame_accounting())
            .finish_non_exhaustive()
    }
}

fn afxdp_error(what: &'static str) -> impl FnOnce(String) -> IoError {
    move |reason| IoError::AfXdp { what, reason }
}

fn queue_size(size: u32) -> Result<QueueSize, IoError> {
    QueueSize::new(size).map_err(|error| IoError::Config(format!("ring size {size}: {error}")))
}

impl AfXdpIo {
    /// Attaches the steering program to `config.iface`, creates the UMEM and socket, steers
    /// `config.listen` to it and primes the fill ring.
    ///
    /// # Errors
    /// [`IoError`] naming the step that failed (no privileges, no XDP support, bad sizes).
    pub fn open(config: &IoConfig) -> Result<Self, IoError> {
        let frame_count = config.frame_count as usize;
        if !config.ring_size.is_power_of_two() || config.batch == 0 {
            return Err(IoError::Config(
                "ring_size must be a power of two and batch non-zero".into(),
            ));
        }
        // The fill ring must be able to hold the whole receive pool.
        let rx_frames = (frame_count / 2).min(config.ring_size as usize);
        let tx_frames = frame_count.saturating_sub(rx_frames);
        if rx_frames < config.batch || tx_frames < config.batch {
            return Err(IoError::Config(format!(
                "frame_count {frame_count} too small for batch {}",
                config.batch
            )));
        }
        let info = InterfaceInfo::lookup(&config.iface)?;
        let mut program = SteeringProgram::attach(&config.iface, config.xdp_mode)?;

        let umem_config = UmemConfig::builder()
            .frame_size(FrameSize::new(config.frame_size).map_err(|error| {
                IoError::Config(format!("frame_size {}: {error}", config.frame_size))
            })?)
            .fill_queue_size(queue_size(config.ring_size)?)
            .comp_queue_size(queue_size(config.ring_size)?)
            .build()
            .map_err(|error| afxdp_error("UMEM config")(error.to_string()))?;
        let frame_size = config.frame_size as usize;
        let count = NonZeroU32::new(config.frame_count)
            .ok_or_else(|| IoError::Config("frame_count must be non-zero".into()))?;
        let (umem, mut frames) = Umem::new(umem_config, count, false)
            .map_err(|error| afxdp_error("UMEM")(format!("{error:?}")))?;

        let interface: Interface = config
            .iface
            .parse()
            .map_err(|_| IoError::Config("interface name contains NUL".into()))?;
        // Let the kernel pick zero-copy where the driver supports it; fall back to copy mode.
        let mut bound = None;
        let mut last_error = String::new();
        for bind_flags in [
            BindFlags::XDP_USE_NEED_WAKEUP,
            BindFlags::XDP_COPY | BindFlags::XDP_USE_NEED_WAKEUP,
        ] {
            let socket_config = SocketConfig::builder()
                .rx_queue_size(queue_size(config.ring_size)?)
                .tx_queue_size(queue_size(config.ring_size)?)
                .libxdp_flags(LibxdpFlags::XSK_LIBXDP_FLAGS_INHIBIT_PROG_LOAD)
                .bind_flags(bind_flags)
                .build();
            // SAFETY: the UMEM is not shared with another socket on this (iface, queue), and
            // libxdp is told not to load a program of its own (ours is attached).
            match unsafe { Socket::new(socket_config, &umem, &interface, config.queue) } {
                Ok(queues) => {
                    bound = Some(queues);
                    break;
                }
                Err(error) => last_error = format!("{error:?}"),
            }
        }
        let (tx, rx, fill_and_completion) = bound.ok_or_else(|| IoError::AfXdp {
            what: "socket bind",
            reason: last_error,
        })?;
        let (mut fill, completion) = fill_and_completion.ok_or_else(|| IoError::AfXdp {
            what: "socket bind",
            reason: "no fill/completion rings returned".into(),
        })?;
        let zero_copy = is_zero_copy(&rx);
        program.register_socket(config.queue, rx.fd())?;

        let mut kernel_sockets = Vec::with_capacity(config.listen.len());
        for (index, listen) in config.listen.iter().enumerate() {
            let id = u32::try_from(index).unwrap_or(u32::MAX);
            program.steer(listen.addr, listen.port, id)?;
            kernel_sockets.push(reserve_port(&info, listen.addr, listen.port)?);
        }

        let tx_free = frames.split_off(rx_frames);
        let mut refill = Vec::with_capacity(rx_frames);
        refill.extend_from_slice(&frames);
        let io = Self {
            rx,
            tx,
            fill: {
                // SAFETY: the receive frames belong to this UMEM and are not in any ring.
                let produced = unsafe { fill.produce(&refill) };
                debug_assert_eq!(produced, refill.len());
                refill.clear();
                fill
            },
            completion,
            umem,
            program,
            info,
            zero_copy,
            rx_pool_end: rx_frames * frame_size,
            total_frames: frame_count,
            batch: config.batch,
            rx_batch: vec![FrameDesc::default(); config.batch],
            completion_batch: vec![FrameDesc::default(); config.batch],
            refill,
            tx_free,
            tx_ready: Vec::with_capacity(frame_count),
            in_fill_or_rx: rx_frames,
            in_tx_or_completion: 0,
            destinations: Vec::with_capacity(16),
            kernel_sockets,
            counters: IoCounters::default(),
        };
        tracing::info!(
            iface = %io.info.name,
            queue = config.queue,
            xdp_mode = %io.program.mode(),
            zero_copy,
            frames = frame_count,
            "AF_XDP socket ready"
        );
        Ok(io)
    }

    /// The attached steering program (counters, mode).
    #[must_use]
    pub fn program(&self) -> &SteeringProgram {
        &self.program
    }

    /// Whether the socket runs in zero-copy mode.
    #[must_use]
    pub fn zero_copy(&self) -> bool {
        self.zero_copy
    }

    /// Where every frame is right now.
    #[must_use]
    pub fn frame_accounting(&self) -> FrameAccounting {
        FrameAccounting {
            total: self.total_frames,
            in_fill_or_rx: self.in_fill_or_rx,
            awaiting_refill: self.refill.len(),
            tx_free: self.tx_free.len(),
            tx_ready: self.tx_ready.len(),
            in_tx_or_completion: self.in_tx_or_completion,
        }
    }

    /// The kernel's statistics for the socket (drops, full rings, invalid descriptors).
    ///
    /// # Errors
    /// [`IoError::Os`] if `getsockopt(XDP_STATISTICS)` fails.
    pub fn kernel_statistics(&self) -> Result<xsk_rs::socket::XdpStatistics, IoError> {
        self.rx.fd().xdp_statistics().map_err(|source| IoError::Os {
            call: "getsockopt(XDP_STATISTICS)",
            source,
        })
    }

    /// Moves completed transmissions back to their pools.
    fn reap_completions(&mut self) {
        // Bounded: each round reaps a full batch, and at most `total_frames` are in flight.
        for _ in 0..=self.total_frames / self.batch {
            // SAFETY: the completion ring only returns frames of this UMEM.
            let reaped = unsafe { self.completion.consume(&mut self.completion_batch) };
            for desc in &self.completion_batch[..reaped] {
                if desc.addr() < self.rx_pool_end {
                    debug_assert!(self.refill.len() < self.refill.capacity());
                    self.refill.push(*desc);
                } else {
                    debug_assert!(self.tx_free.len() < self.tx_free.capacity());
                    self.tx_free.push(*desc);
                }
            }
            self.in_tx_or_completion -= reaped;
            if reaped < self.completion_batch.len() {
                break;
            }
        }
    }

    /// Gives waiting receive frames back to the kernel.
    fn refill_fill_ring(&mut self) -> Result<(), IoError> {
        if !self.refill.is_empty() {
            let wanted = self.refill.len();
            // `nb_free` is capped by the ring size, a u32.
            let free = self.fill.nb_free(u32::try_from(wanted).unwrap_or(u32::MAX)) as usize;
            let count = free.min(wanted);
            let start = wanted - count;
            // SAFETY: frames in `refill` belong to this UMEM and are in no ring.
            let produced = unsafe { self.fill.produce(&self.refill[start..]) };
            self.refill.truncate(wanted - produced);
            self.in_fill_or_rx += produced;
        }
        if self.fill.needs_wakeup() {
            self.counters.rx_wakeups += 1;
            self.fill
                .wakeup(self.rx.fd_mut(), 0)
                .map_err(|source| IoError::Os {
                    call: "poll (fill ring wake-up)",
                    source,
                })?;
        }
        Ok(())
    }
}

impl PacketIo for AfXdpIo {
    fn kind(&self) -> BackendKind {
        BackendKind::AfXdp
    }

    fn local_ip(&self) -> Ipv4Addr {
        self.info.ip
    }

    fn add_destination(&mut self, src_port: u16, dst: SocketAddrV4) -> Result<DestId, IoError> {
        let id = u16::try_from(self.destinations.len())
            .map_err(|_| IoError::Config("too many destinations".into()))?;
        let dst_mac = iface::resolve_next_hop(&self.info, *dst.ip())?;
        let src = SocketAddrV4::new(self.info.ip, src_port);
        self.destinations
            .push(UdpHeaderTemplate::new(self.info.mac, dst_mac, src, dst));
        Ok(DestId(id))
    }

    #[inline]
    fn poll<F>(&mut self, mut on_rx: F) -> Result<usize, IoError>
    where
        F: FnMut(&RxDatagram<'_>) -> RxAction,
    {
        // SAFETY: the rx ring only returns frames of this UMEM.
        let received = unsafe { self.rx.consume(&mut self.rx_batch) };
        self.in_fill_or_rx -= received;
        let mut handed_over = 0;
        for desc in &mut self.rx_batch[..received] {
            // SAFETY: the kernel handed this frame over through the rx ring; until it is
            // put on a ring again nobody else touches it.
            let frame = unsafe { self.umem.data(desc) };
            let action = match parse_udp_frame(frame.contents()) {
                Ok(udp) => {
                    handed_over += 1;
                    on_rx(&RxDatagram {
                        src: udp.src,
                        dst: udp.dst,
                        payload: udp.payload,
                    })
                }
                Err(_) => {
                    self.counters.rx_dropped += 1;
                    RxAction::Consume
                }
            };
            let echoed = action == RxAction::Echo && {
                // SAFETY: as above; the shared view `frame` is no longer used.
                let mut frame = unsafe { self.umem.data_mut(desc) };
                reply_in_place(frame.contents_mut()).is_ok()
            };
            if echoed {
                debug_assert!(self.tx_ready.len() < self.tx_ready.capacity());
                self.tx_ready.push(*desc);
                self.counters.tx_datagrams += 1;
            } else {
                debug_assert!(self.refill.len() < self.refill.capacity());
                self.refill.push(*desc);
            }
        }
        self.counters.rx_datagrams += handed_over as u64;
        if received > 0 {
            self.refill_fill_ring()?;
        }
        Ok(handed_over)
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
        if self.tx_free.is_empty() {
            self.reap_completions();
        }
        let Some(mut desc) = self.tx_free.pop() else {
            self.counters.tx_no_buffer += 1;
            return Ok(false);
        };
        // SAFETY: `desc` came from `tx_free`: a transmit frame of this UMEM in no ring.
        let mut frame = unsafe { self.umem.data_mut(&mut desc) };
        let mut cursor = frame.cursor();
        let capacity = cursor.buf_len();
        cursor.set_pos(capacity);
        let buffer = frame.contents_mut();
        let payload_len = buffer.get_mut(UDP_FRAME_OVERHEAD..).map_or(0, write);
        if payload_len == 0 {
            self.tx_free.push(desc);
            return Ok(false);
        }
        let Ok(frame_len) = template.finish(buffer, payload_len) else {
            self.counters.tx_errors += 1;
            self.tx_free.push(desc);
            return Ok(false);
        };
        frame.cursor().set_pos(frame_len);
        debug_assert!(self.tx_ready.len() < self.tx_ready.capacity());
        self.tx_ready.push(desc);
        self.counters.tx_datagrams += 1;
        if self.tx_ready.len() >= self.batch {
            self.flush()?;
        }
        Ok(true)
    }

    #[inline]
    fn flush(&mut self) -> Result<(), IoError> {
        self.reap_completions();
        if !self.tx_ready.is_empty() {
            let wanted = self.tx_ready.len();
            let free = self.tx.nb_free(u32::try_from(wanted).unwrap_or(u32::MAX)) as usize;
            let count = free.min(wanted);
            // SAFETY: frames in `tx_ready` belong to this UMEM, are in no ring, and their
            // lengths were set when they were built.
            let produced = unsafe { self.tx.produce(&self.tx_ready[..count]) };
            // Keep the order of what could not be queued yet.
            self.tx_ready.drain(..produced);
            self.in_tx_or_completion += produced;
        }
        // Copy mode transmits inside `sendto`, a bounded number of frames per call: kick
        // while anything is still on the tx ring.
        if self.in_tx_or_completion > 0 && self.tx.needs_wakeup() {
            self.counters.tx_kicks += 1;
            self.tx.wakeup().map_err(|source| IoError::Os {
                call: "sendto (tx kick)",
                source,
            })?;
            self.reap_completions();
        }
        self.refill_fill_ring()
    }

    fn counters(&self) -> IoCounters {
        self.counters
    }
}

/// True when the kernel runs the socket in zero-copy mode (`XDP_OPTIONS`).
fn is_zero_copy(rx: &RxQueue) -> bool {
    let mut options = libc::xdp_options { flags: 0 };
    let mut len = size_of::<libc::xdp_options>() as libc::socklen_t;
    // SAFETY: `options`/`len` are valid for writes of the sizes given.
    let result = unsafe {
        libc::getsockopt(
            rx.fd().as_raw_fd(),
            libc::SOL_XDP,
            libc::XDP_OPTIONS,
            (&raw mut options).cast(),
            &raw mut len,
        )
    };
    result == 0 && options.flags & libc::XDP_OPTIONS_ZEROCOPY != 0
}

/// Binds a kernel UDP socket to the steered address so no other program takes the port,
/// and joins multicast groups (IGMP) so the switch and the NIC deliver them.
fn reserve_port(info: &InterfaceInfo, addr: Ipv4Addr, port: u16) -> Result<UdpSocket, IoError> {
    let socket = super::socket::bind_udp(addr, port)?;
    if addr.is_multicast() {
        iface::join_multicast(&socket, info, addr)?;
    }
    Ok(socket)
}
