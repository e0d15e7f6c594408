//! Kernel-socket backend: non-blocking UDP sockets, `recvmmsg`/`sendmmsg` over buffers
//! allocated once, optional `SO_BUSY_POLL`. The fallback where XDP is unavailable, and the
//! baseline the AF_XDP backend is measured against.

use std::{
    net::{Ipv4Addr, SocketAddrV4, UdpSocket},
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
};

use super::{
    BackendKind, DestId, IoConfig, IoCounters, IoError, Listen, PacketIo, RxAction, RxDatagram,
    iface::{self, InterfaceInfo, set_socket_option},
};

/// `SO_BUSY_POLL` and `SO_PREFER_BUSY_POLL` from `asm-generic/socket.h` (libc's linux-gnu
/// bindings lack them).
const SO_BUSY_POLL: i32 = 46;
const SO_PREFER_BUSY_POLL: i32 = 69;
/// Receive buffer asked for, to absorb bursts while the loop is busy.
const RECEIVE_BUFFER_BYTES: i32 = 4 << 20;
/// `sendmmsg` retries after `EINTR` before the rest of a batch counts as failed.
const SEND_RETRIES: usize = 4;

/// `batch` message slots of `slot_size` bytes with their `mmsghdr`s, built once.
struct MessageBatch {
    buffers: Box<[u8]>,
    slot_size: usize,
    iovecs: Box<[libc::iovec]>,
    addresses: Box<[libc::sockaddr_in]>,
    headers: Box<[libc::mmsghdr]>,
    len: usize,
}

// SAFETY: the raw pointers in `iovecs` and `headers` point into heap allocations owned by
// this same value (boxes do not move their contents), so they move with it between threads.
unsafe impl Send for MessageBatch {}

impl MessageBatch {
    fn new(batch: usize, slot_size: usize) -> Self {
        let mut buffers = vec![0u8; batch * slot_size].into_boxed_slice();
        // SAFETY: all-zero is a valid `sockaddr_in`, `iovec` and `mmsghdr` (null pointers,
        // zero lengths); every pointer is set below before use.
        let zeroed_address: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        let mut addresses = vec![zeroed_address; batch].into_boxed_slice();
        let mut iovecs: Box<[libc::iovec]> = (0..batch)
            .map(|slot| libc::iovec {
                // In bounds: slot < batch and the buffer holds batch * slot_size bytes.
                iov_base: buffers[slot * slot_size..].as_mut_ptr().cast(),
                iov_len: slot_size,
            })
            .collect();
        let headers = (0..batch)
            .map(|slot| {
                // SAFETY: as above, all-zero is a valid `mmsghdr`.
                let mut header: libc::mmsghdr = unsafe { std::mem::zeroed() };
                header.msg_hdr.msg_iov = &raw mut iovecs[slot];
                header.msg_hdr.msg_iovlen = 1;
                header.msg_hdr.msg_name = (&raw mut addresses[slot]).cast();
                header.msg_hdr.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
                header
            })
            .collect();
        Self {
            buffers,
            slot_size,
            iovecs,
            addresses,
            headers,
            len: 0,
        }
    }

    fn capacity(&self) -> usize {
        self.headers.len()
    }

    fn slot(&self, index: usize, len: usize) -> &[u8] {
        let start = index * self.slot_size;
        &self.buffers[start..start + len.min(self.slot_size)]
    }

    fn slot_mut(&mut self, index: usize) -> &mut [u8] {
        let start = index * self.slot_size;
        &mut self.buffers[start..start + self.slot_size]
    }

    /// Appends a message to `to`; `write` fills the payload. `false` if it does not fit.
    fn push(&mut self, to: libc::sockaddr_in, write: impl FnOnce(&mut [u8]) -> usize) -> bool {
        debug_assert!(self.len < self.capacity());
        let index = self.len;
        let len = write(self.slot_mut(index));
        if len == 0 || len > self.slot_size {
            return false;
        }
        self.iovecs[index].iov_len = len;
        self.addresses[index] = to;
        self.len += 1;
        true
    }
}

fn sockaddr(addr: SocketAddrV4) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: addr.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*addr.ip()).to_be(),
        },
        sin_zero: [0; 8],
    }
}

fn socket_addr(raw: &libc::sockaddr_in) -> SocketAddrV4 {
    SocketAddrV4::new(
        Ipv4Addr::from(u32::from_be(raw.sin_addr.s_addr)),
        u16::from_be(raw.sin_port),
    )
}

/// A non-blocking UDP socket bound to `addr:port` (a group for multicast) with
/// `SO_REUSEADDR`, so several listeners can share a multicast group.
///
/// # Errors
/// [`IoError::Os`] if the socket cannot be created or bound.
pub fn bind_udp(addr: Ipv4Addr, port: u16) -> Result<UdpSocket, IoError> {
    // SAFETY: plain socket(2) call; the result is checked before use.
    let fd = unsafe {
        libc::socket(
            libc::AF_INET,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(IoError::os("socket"));
    }
    // SAFETY: `fd` is a fresh socket this function owns.
    let socket = UdpSocket::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let one: i32 = 1;
    set_socket_option(
        &socket,
        libc::SOL_SOCKET,
        libc::SO_REUSEADDR,
        &one,
        "setsockopt(SO_REUSEADDR)",
    )?;
    let local = sockaddr(SocketAddrV4::new(addr, port));
    // SAFETY: `local` is a valid `sockaddr_in` of the length passed.
    let result = unsafe {
        libc::bind(
            socket.as_raw_fd(),
            (&raw const local).cast(),
            size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    if result != 0 {
        return Err(IoError::Os {
            call: "bind",
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(socket)
}

struct BoundSocket {
    socket: UdpSocket,
    /// Address datagrams on this socket were sent to (interface address for `0.0.0.0`).
    local: SocketAddrV4,
}

/// The kernel-socket backend.
pub struct SocketIo {
    info: InterfaceInfo,
    /// Receive sockets first (`receive_count`), then send-only sockets.
    sockets: Vec<BoundSocket>,
    receive_count: usize,
    next_receive: usize,
    rx: MessageBatch,
    tx: MessageBatch,
    tx_socket: usize,
    destinations: Vec<(usize, libc::sockaddr_in)>,
    counters: IoCounters,
}

impl std::fmt::Debug for SocketIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIo")
            .field("iface", &self.info.name)
            .field("sockets", &self.sockets.len())
            .finish_non_exhaustive()
    }
}

impl SocketIo {
    /// Binds one socket per `config.listen` entry (joining multicast groups), with
    /// busy-polling when configured.
    ///
    /// # Errors
    /// [`IoError`] if the interface is unusable or a socket cannot be bound.
    pub fn open(config: &IoConfig) -> Result<Self, IoError> {
        if config.batch == 0 {
            return Err(IoError::Config("batch must be non-zero".into()));
        }
        let info = InterfaceInfo::lookup(&config.iface)?;
        let mut sockets = Vec::with_capacity(config.listen.len() + 8);
        for &Listen { addr, port } in &config.listen {
            let socket = bind_udp(addr, port)?;
            if addr.is_multicast() {
                iface::join_multicast(&socket, &info, addr)?;
            }
            tune_receive(&socket, config.busy_poll_us);
            let local_ip = if addr.is_unspecified() { info.ip } else { addr };
            sockets.push(BoundSocket {
                socket,
                local: SocketAddrV4::new(local_ip, port),
            });
        }
        let slot_size = config.frame_size as usize;
        tracing::info!(
            iface = %info.name,
            sockets = sockets.len(),
            busy_poll_us = ?config.busy_poll_us,
            "kernel-socket I/O ready"
        );
        Ok(Self {
            info,
            receive_count: sockets.len(),
            sockets,
            next_receive: 0,
            rx: MessageBatch::new(config.batch, slot_size),
            tx: MessageBatch::new(config.batch, slot_size),
            tx_socket: 0,
            destinations: Vec::with_capacity(16),
            counters: IoCounters::default(),
        })
    }

    /// Queues a copy of `payload` to `to` on socket `socket`.
    fn queue_echo(&mut self, socket: usize, to: SocketAddrV4, len: usize, slot: usize) -> bool {
        if self.tx.len > 0 && (self.tx_socket != socket || self.tx.len == self.tx.capacity()) {
            // Keep the echo: flushing failures are counted inside.
            let _ = self.flush();
        }
        self.tx_socket = socket;
        let (rx, tx) = (&self.rx, &mut self.tx);
        let payload = rx.slot(slot, len);
        tx.push(sockaddr(to), |buffer| {
            buffer[..payload.len()].copy_from_slice(payload);
            payload.len()
        })
    }
}

/// Larger receive buffer and, when asked, busy polling. Failures only cost performance.
fn tune_receive(socket: &UdpSocket, busy_poll_us: Option<u32>) {
    let size = RECEIVE_BUFFER_BYTES;
    if set_socket_option(socket, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &size, "").is_err() {
        let _ = set_socket_option(socket, libc::SOL_SOCKET, libc::SO_RCVBUF, &size, "");
    }
    if let Some(micros) = busy_poll_us {
        let micros = i32::try_from(micros).unwrap_or(i32::MAX);
        let one: i32 = 1;
        let result = set_socket_option(
            socket,
            libc::SOL_SOCKET,
            SO_BUSY_POLL,
            &micros,
            "setsockopt(SO_BUSY_POLL)",
        )
        .and_then(|()| {
            set_socket_option(
                socket,
                libc::SOL_SOCKET,
                SO_PREFER_BUSY_POLL,
                &one,
                "setsockopt(SO_PREFER_BUSY_POLL)",
            )
        });
        if let Err(error) = result {
            tracing::warn!(%error, "socket busy polling unavailable");
        }
    }
}

fn would_block(error: &std::io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EAGAIN | libc::EINTR | libc::ENOBUFS)
    )
}

impl PacketIo for SocketIo {
    fn kind(&self) -> BackendKind {
        BackendKind::Socket
    }

    fn local_ip(&self) -> Ipv4Addr {
        self.info.ip
    }

    fn add_destination(&mut self, src_port: u16, dst: SocketAddrV4) -> Result<DestId, IoError> {
        let id = u16::try_from(self.destinations.len())
            .map_err(|_| IoError::Config("too many destinations".into()))?;
        let existing = self
            .sockets
            .iter()
            .position(|bound| bound.local.port() == src_port && !bound.local.ip().is_multicast());
        let socket = match existing {
            Some(index) if src_port != 0 => index,
            _ => {
                let socket = bind_udp(self.info.ip, src_port)?;
                let local = match socket.local_addr() {
                    Ok(std::net::SocketAddr::V4(local)) => local,
                    _ => SocketAddrV4::new(self.info.ip, src_port),
                };
                self.sockets.push(BoundSocket { socket, local });
                self.sockets.len() - 1
            }
        };
        self.destinations.push((socket, sockaddr(dst)));
        Ok(DestId(id))
    }

    fn poll<F>(&mut self, mut on_rx: F) -> Result<usize, IoError>
    where
        F: FnMut(&RxDatagram<'_>) -> RxAction,
    {
        let mut handed_over = 0;
        for _ in 0..self.receive_count {
            let index = self.next_receive;
            self.next_receive = (self.next_receive + 1) % self.receive_count;
            let capacity = self.rx.capacity();
            for slot in 0..capacity {
                self.rx.iovecs[slot].iov_len = self.rx.slot_size;
                self.rx.headers[slot].msg_hdr.msg_namelen =
                    size_of::<libc::sockaddr_in>() as libc::socklen_t;
                self.rx.headers[slot].msg_hdr.msg_flags = 0;
            }
            // SAFETY: the headers point at this batch's buffers, addresses and iovecs, which
            // outlive the call; `capacity` is the number of headers.
            let received = unsafe {
                libc::recvmmsg(
                    self.sockets[index].socket.as_raw_fd(),
                    self.rx.headers.as_mut_ptr(),
                    // The batch size comes from configuration and is small.
                    capacity as libc::c_uint,
                    libc::MSG_DONTWAIT,
                    std::ptr::null_mut(),
                )
            };
            if received < 0 {
                let error = std::io::Error::last_os_error();
                if would_block(&error) {
                    continue;
                }
                return Err(IoError::Os {
                    call: "recvmmsg",
                    source: error,
                });
            }
            let local = self.sockets[index].local;
            // `received` is non-negative and at most `capacity`.
            for slot in 0..received as usize {
                let header = &self.rx.headers[slot];
                if header.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                    self.counters.rx_dropped += 1;
                    continue;
                }
                let len = header.msg_len as usize;
                let src = socket_addr(&self.rx.addresses[slot]);
                let action = on_rx(&RxDatagram {
                    src,
                    dst: local,
                    payload: self.rx.slot(slot, len),
                });
                handed_over += 1;
                if action == RxAction::Echo {
                    if self.queue_echo(index, src, len, slot) {
                        self.counters.tx_datagrams += 1;
                    } else {
                        self.counters.tx_errors += 1;
                    }
                }
            }
        }
        self.counters.rx_datagrams += handed_over as u64;
        Ok(handed_over)
    }

    fn send<F>(&mut self, dest: DestId, write: F) -> Result<bool, IoError>
    where
        F: FnOnce(&mut [u8]) -> usize,
    {
        let (socket, to) = *self
            .destinations
            .get(usize::from(dest.0))
            .ok_or_else(|| IoError::Config("unknown destination".into()))?;
        if self.tx.len > 0 && (self.tx_socket != socket || self.tx.len == self.tx.capacity()) {
            self.flush()?;
        }
        self.tx_socket = socket;
        let mut abandoned = false;
        let queued = self.tx.push(to, |buffer| {
            let len = write(buffer);
            abandoned = len == 0;
            len
        });
        if queued {
            self.counters.tx_datagrams += 1;
        } else if !abandoned {
            self.counters.tx_errors += 1;
        }
        Ok(queued)
    }

    fn flush(&mut self) -> Result<(), IoError> {
        let mut sent = 0;
        let mut retries = 0;
        while sent < self.tx.len {
            self.counters.tx_kicks += 1;
            // SAFETY: headers `sent..len` point at this batch's filled buffers and addresses.
            let result = unsafe {
                libc::sendmmsg(
                    self.sockets[self.tx_socket].socket.as_raw_fd(),
                    self.tx.headers[sent..].as_mut_ptr(),
                    // At most the batch size.
                    (self.tx.len - sent) as libc::c_uint,
                    libc::MSG_DONTWAIT,
                )
            };
            if result < 0 {
                let error = std::io::Error::last_os_error();
                if error.raw_os_error() == Some(libc::EINTR) && retries < SEND_RETRIES {
                    retries += 1;
                    continue;
                }
                if matches!(
                    error.raw_os_error(),
                    Some(libc::EBADF | libc::EFAULT | libc::EINVAL | libc::ENOTSOCK)
                ) {
                    self.tx.len = 0;
                    return Err(IoError::Os {
                        call: "sendmmsg",
                        source: error,
                    });
                }
                // Full buffers or an unreachable peer: the rest of the batch is dropped,
                // counted.
                self.counters.tx_errors += (self.tx.len - sent) as u64;
                break;
            }
            // Non-negative: the number of messages sent.
            sent += result as usize;
        }
        self.tx.len = 0;
        Ok(())
    }

    fn counters(&self) -> IoCounters {
        self.counters
    }
}
