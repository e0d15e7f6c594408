//! Socket threads: each reads one socket and hands what it reads to the engine thread as an
//! [`Event`] over one bounded channel. The engine thread owns all state and does all
//! sending; these threads only receive.
//!
//! Contract: every blocking read has a 100 ms timeout, after which the thread checks the
//! stop flag, so all threads end within about 100 ms of a stop. Arrival times are taken
//! right after the read returns (for the latency capture). TCP connections (order entry and
//! admin) are bounded in number ([`MAX_CONNECTIONS`]); SoupBinTCP packets are split out of
//! the stream here, so the engine always gets whole packets.

use std::{
    io::{self, BufRead as _, BufReader, Read as _, Write as _},
    net::{SocketAddr, TcpListener, TcpStream, UdpSocket},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        mpsc::{self, SyncSender},
    },
    thread::{self, JoinHandle},
    time::Duration,
};

use tickwire_protocol::soupbintcp;

use crate::clock::mono_ns;

/// Read timeout of every socket thread.
pub const POLL: Duration = Duration::from_millis(100);

/// Most TCP connections per listener.
pub const MAX_CONNECTIONS: usize = 64;

/// Longest admin request line.
const MAX_ADMIN_LINE: u64 = 1 << 16;

/// How long an admin connection waits for the engine's answer.
const ADMIN_REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// What a socket thread hands to the engine.
#[derive(Debug)]
pub enum Event {
    /// A UFO datagram.
    Ufo {
        /// Sender.
        from: SocketAddr,
        /// The datagram.
        bytes: Vec<u8>,
        /// Monotonic arrival time.
        arrival_ns: u64,
    },
    /// A new SoupBinTCP connection; the engine writes to `stream`.
    TcpConnected {
        /// Connection id.
        conn: u64,
        /// A handle for writing.
        stream: TcpStream,
        /// Peer.
        peer: SocketAddr,
    },
    /// One whole SoupBinTCP packet (or the undecodable rest of a stream).
    TcpPacket {
        /// Connection id.
        conn: u64,
        /// The packet, length prefix included.
        bytes: Vec<u8>,
        /// Monotonic arrival time.
        arrival_ns: u64,
    },
    /// The connection ended (EOF or error).
    TcpClosed {
        /// Connection id.
        conn: u64,
    },
    /// A MoldUDP64 retransmission request.
    Retransmit {
        /// Requester.
        from: SocketAddr,
        /// The request.
        bytes: Vec<u8>,
    },
    /// A feed packet that came back to the feed socket (`--feed-echo`).
    FeedEcho {
        /// The datagram.
        bytes: Vec<u8>,
        /// Monotonic arrival time.
        arrival_ns: u64,
    },
    /// One admin request line; the answer goes to `reply`.
    Admin {
        /// The request.
        line: String,
        /// Where the one-line answer goes.
        reply: SyncSender<String>,
    },
}

/// A UDP reader: each datagram becomes `make(from, bytes, arrival_ns)`.
///
/// # Errors
/// If the socket cannot take a read timeout or the thread cannot start.
pub fn spawn_udp_reader(
    name: &str,
    socket: UdpSocket,
    stop: Arc<AtomicBool>,
    events: SyncSender<Event>,
    make: fn(SocketAddr, Vec<u8>, u64) -> Event,
) -> io::Result<JoinHandle<()>> {
    socket.set_read_timeout(Some(POLL))?;
    thread::Builder::new().name(name.to_owned()).spawn(move || {
        let mut buf = vec![0u8; 65_536];
        while !stop.load(Ordering::Relaxed) {
            match socket.recv_from(&mut buf) {
                Ok((len, from)) => {
                    let arrival_ns = mono_ns();
                    let bytes = buf.get(..len).unwrap_or_default().to_vec();
                    if events.send(make(from, bytes, arrival_ns)).is_err() {
                        return;
                    }
                }
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(error) => {
                    // ICMP port unreachable from an earlier send shows up here on Linux.
                    tracing::debug!("UDP receive: {error}");
                }
            }
        }
    })
}

/// Accepts on `listener` until stopped, handing each connection to `serve` on its own
/// thread (at most [`MAX_CONNECTIONS`] at once; more are closed at once).
fn spawn_acceptor(
    name: &str,
    listener: TcpListener,
    stop: Arc<AtomicBool>,
    serve: impl Fn(TcpStream, SocketAddr) + Send + Sync + 'static,
) -> io::Result<JoinHandle<()>> {
    listener.set_nonblocking(true)?;
    let serve = Arc::new(serve);
    let active = Arc::new(AtomicUsize::new(0));
    let thread_name = name.to_owned();
    thread::Builder::new().name(name.to_owned()).spawn(move || {
        let mut handles: Vec<JoinHandle<()>> = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((stream, peer)) => {
                    handles.retain(|handle| !handle.is_finished());
                    if active.load(Ordering::Relaxed) >= MAX_CONNECTIONS {
                        tracing::warn!(%peer, "{thread_name}: too many connections, closing");
                        continue;
                    }
                    let configured = stream.set_nonblocking(false).is_ok()
                        && stream.set_nodelay(true).is_ok()
                        && stream.set_read_timeout(Some(POLL)).is_ok()
                        && stream
                            .set_write_timeout(Some(Duration::from_millis(500)))
                            .is_ok();
                    if !configured {
                        continue;
                    }
                    let serve = Arc::clone(&serve);
                    let active = Arc::clone(&active);
                    active.fetch_add(1, Ordering::Relaxed);
                    let spawned = thread::Builder::new()
                        .name(format!("{thread_name}-conn"))
                        .spawn(move || {
                            serve(stream, peer);
                            active.fetch_sub(1, Ordering::Relaxed);
                        });
                    match spawned {
                        Ok(handle) => handles.push(handle),
                        Err(error) => {
                            tracing::warn!("{thread_name}: cannot start a thread: {error}");
                        }
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    thread::sleep(Duration::from_millis(5));
                }
                Err(error) => {
                    tracing::warn!("{thread_name}: accept: {error}");
                    thread::sleep(Duration::from_millis(50));
                }
            }
        }
        for handle in handles {
            let _ = handle.join();
        }
    })
}

/// The SoupBinTCP listener: each connection's packets go to the engine.
///
/// # Errors
/// If the listener cannot be made non-blocking or the thread cannot start.
pub fn spawn_soupbintcp(
    listener: TcpListener,
    stop: Arc<AtomicBool>,
    events: SyncSender<Event>,
) -> io::Result<JoinHandle<()>> {
    let next_conn = Arc::new(AtomicU64::new(1));
    let reader_stop = Arc::clone(&stop);
    spawn_acceptor("soupbintcp", listener, stop, move |stream, peer| {
        let conn = next_conn.fetch_add(1, Ordering::Relaxed);
        let Ok(writer) = stream.try_clone() else {
            return;
        };
        if events
            .send(Event::TcpConnected {
                conn,
                stream: writer,
                peer,
            })
            .is_err()
        {
            return;
        }
        // On a stop the engine ends the session itself (End of Session, then close).
        if read_soupbintcp(stream, conn, &reader_stop, &events) {
            let _ = events.send(Event::TcpClosed { conn });
        }
    })
}

/// Splits one connection's byte stream into SoupBinTCP packets. Returns true if the
/// connection ended (EOF, error, undecodable bytes), false if the venue is stopping.
fn read_soupbintcp(
    mut stream: TcpStream,
    conn: u64,
    stop: &AtomicBool,
    events: &SyncSender<Event>,
) -> bool {
    let mut pending: Vec<u8> = Vec::with_capacity(1 << 17);
    let mut chunk = vec![0u8; 1 << 16];
    while !stop.load(Ordering::Relaxed) {
        let len = match stream.read(&mut chunk) {
            Ok(0) => return true,
            Ok(len) => len,
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(_) => return true,
        };
        let arrival_ns = mono_ns();
        pending.extend_from_slice(chunk.get(..len).unwrap_or_default());
        let mut start = 0;
        // Each iteration consumes one whole packet (at least 3 bytes) or leaves.
        loop {
            let rest = pending.get(start..).unwrap_or_default();
            match soupbintcp::Packet::decode(rest) {
                Ok(Some((_, used))) => {
                    let bytes = rest.get(..used).unwrap_or_default().to_vec();
                    start += used;
                    if events
                        .send(Event::TcpPacket {
                            conn,
                            bytes,
                            arrival_ns,
                        })
                        .is_err()
                    {
                        return false;
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    // The engine decodes it again, counts the error and closes.
                    let _ = events.send(Event::TcpPacket {
                        conn,
                        bytes: rest.to_vec(),
                        arrival_ns,
                    });
                    return true;
                }
            }
        }
        pending.drain(..start);
    }
    false
}

/// The admin listener: one JSON request per line, one answer per line.
///
/// # Errors
/// If the listener cannot be made non-blocking or the thread cannot start.
pub fn spawn_admin(
    listener: TcpListener,
    stop: Arc<AtomicBool>,
    events: SyncSender<Event>,
) -> io::Result<JoinHandle<()>> {
    let reader_stop = Arc::clone(&stop);
    spawn_acceptor("admin", listener, stop, move |stream, _peer| {
        let Ok(mut writer) = stream.try_clone() else {
            return;
        };
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        while !reader_stop.load(Ordering::Relaxed) {
            match (&mut reader).take(MAX_ADMIN_LINE).read_line(&mut line) {
                Ok(0) => return,
                Ok(_) if !line.ends_with('\n') && line.len() as u64 >= MAX_ADMIN_LINE => {
                    let _ =
                        writer.write_all(b"{\"ok\":false,\"error\":\"request line too long\"}\n");
                    return;
                }
                Ok(_) if !line.ends_with('\n') => continue, // partial line before a timeout
                Ok(_) => {}
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    continue;
                }
                Err(_) => return,
            }
            let request = std::mem::take(&mut line);
            if request.trim().is_empty() {
                continue;
            }
            let (reply, answer) = mpsc::sync_channel(1);
            if events
                .send(Event::Admin {
                    line: request,
                    reply,
                })
                .is_err()
            {
                return;
            }
            let Ok(mut response) = answer.recv_timeout(ADMIN_REPLY_TIMEOUT) else {
                return;
            };
            response.push('\n');
            if writer.write_all(response.as_bytes()).is_err() {
                return;
            }
        }
    })
}
