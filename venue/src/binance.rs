//! Binance mode: replays a Binance sample file as UDP datagrams and serves its REST depth
//! snapshot over minimal HTTP/1.1.
//!
//! The file has one record per line: a receive timestamp in nanoseconds, a space, and the
//! JSON exactly as received. Two framings:
//! - **Raw** (default): stream messages (combined-stream objects `{"stream":...,"data":{...}}`
//!   carrying depthUpdate, bookTicker or trade) are sent as one datagram each: the JSON text
//!   after the timestamp, byte for byte. The line holding the REST snapshot
//!   (`{"lastUpdateId":...}`) is not sent. Datagrams over [`MAX_DATAGRAM`] bytes are skipped
//!   and counted. A receiver with a 2 KiB AF_XDP frame sees only the messages that fit one
//!   Ethernet frame (about 85% of the btcusdt sample's depth updates).
//! - **Relay** (`--binance-relay BYTES`): every message, *including the snapshot at its place
//!   in the file*, is numbered and split into fragments of at most BYTES payload bytes,
//!   [`tickwire_protocol::binance::relay`] framing. Sending the snapshot in-band, where the
//!   recording received it, gives the receiver exactly the recording's order of snapshot and
//!   diffs: the depth updates before it are buffered and the ones it contains dropped, as
//!   Binance's procedure prescribes, so a receiver's book equals the book
//!   `tickwire-dataplane book --format binance` computes from the file. (A live relay would
//!   publish snapshots periodically; this replay has the recording's one.)
//!
//! Either way the snapshot is also the body of `GET /api/v3/depth?symbol=SYMBOL` (the symbol
//! is taken from the stream messages, compared case-insensitively). When the replay ends the
//! venue prints `venue: binance replay done {"messages":m,"datagrams":d,"oversized":o}`.
//!
//! Pacing: `--binance-rate N` sends N messages per second; without it the recorded
//! timestamps are followed (the gaps between receive times), each gap capped at one second.
//! The replay runs once; the HTTP server runs until the venue stops.
//!
//! Contract: the whole file is read and split at start (no I/O in the send loop); every wait
//! and every socket read is bounded, so both threads stop within 100 ms of the stop flag.

use std::{
    io::{self, BufRead as _, Read as _, Write as _},
    net::{SocketAddr, TcpListener, TcpStream, UdpSocket},
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use tickwire_protocol::binance::relay;

use crate::net::POLL;

/// Largest datagram sent.
pub const MAX_DATAGRAM: usize = 65_000;

/// Longest HTTP request head read.
const MAX_REQUEST_HEAD: usize = 8 << 10;

/// Longest gap between two replayed messages when following the recorded times.
const MAX_GAP: Duration = Duration::from_secs(1);

/// Why the file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BinanceError {
    /// Reading the file.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: io::Error,
    },
    /// A line is not `timestamp json`.
    #[error("{path}:{line}: expected \"<timestamp_ns> <json>\"")]
    Line {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
    },
}

/// The file, split.
#[derive(Debug, Clone, Default)]
pub struct BinanceFile {
    /// `(receive ns, JSON)` of each stream message, in file order.
    pub messages: Vec<(u64, String)>,
    /// The REST snapshot JSON, if the file has one.
    pub snapshot: Option<String>,
    /// How many stream messages precede the snapshot line in the file.
    pub snapshot_index: usize,
    /// Upper-case symbol from the stream messages (e.g. `BTCUSDT`).
    pub symbol: Option<String>,
}

impl BinanceFile {
    /// Reads a (gzip-compressed if `.gz`) sample file.
    ///
    /// # Errors
    /// [`BinanceError`] on I/O errors or a line without a timestamp.
    pub fn load(path: &Path) -> Result<Self, BinanceError> {
        let name = path.display().to_string();
        let io = |source| BinanceError::Io {
            path: name.clone(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let reader: Box<dyn io::Read> = if path.extension().is_some_and(|ext| ext == "gz") {
            Box::new(flate2::read::GzDecoder::new(file))
        } else {
            Box::new(file)
        };
        let mut parsed = Self::default();
        for (index, line) in io::BufReader::new(reader).lines().enumerate() {
            let line = line.map_err(io)?;
            if line.trim().is_empty() {
                continue;
            }
            let (stamp, json) = line.split_once(' ').ok_or(BinanceError::Line {
                path: name.clone(),
                line: index + 1,
            })?;
            let stamp: u64 = stamp.parse().map_err(|_| BinanceError::Line {
                path: name.clone(),
                line: index + 1,
            })?;
            if json.starts_with("{\"lastUpdateId\"") {
                parsed.snapshot = Some(json.to_owned());
                parsed.snapshot_index = parsed.messages.len();
                continue;
            }
            if parsed.symbol.is_none()
                && let Some(stream) = json
                    .strip_prefix("{\"stream\":\"")
                    .and_then(|rest| rest.split('@').next())
            {
                parsed.symbol = Some(stream.to_ascii_uppercase());
            }
            parsed.messages.push((stamp, json.to_owned()));
        }
        Ok(parsed)
    }
}

/// Binance mode counters.
#[derive(Debug, Default)]
pub struct BinanceCounters {
    /// Messages sent (in relay mode: every fragment of them sent).
    pub sent: AtomicU64,
    /// Datagrams sent (equal to `sent` in raw mode).
    pub datagrams: AtomicU64,
    /// Messages skipped for size.
    pub oversized: AtomicU64,
    /// Snapshot requests answered.
    pub snapshots: AtomicU64,
}

/// Starts the replay thread (if `dest` is set) and the snapshot server (if `listener` is).
/// `relay`: relay framing with fragments of at most this many payload bytes (raw if `None`).
///
/// # Errors
/// If a socket cannot be configured or a thread cannot start.
#[allow(
    clippy::too_many_arguments,
    reason = "one call site, the venue's start-up"
)]
pub fn spawn(
    file: Arc<BinanceFile>,
    dest: Option<(UdpSocket, SocketAddr)>,
    rate: Option<u64>,
    relay: Option<usize>,
    listener: Option<TcpListener>,
    stop: Arc<AtomicBool>,
    counters: Arc<BinanceCounters>,
) -> io::Result<Vec<JoinHandle<()>>> {
    let mut handles = Vec::new();
    if let Some((socket, dest)) = dest {
        let file = Arc::clone(&file);
        let stop = Arc::clone(&stop);
        let counters = Arc::clone(&counters);
        handles.push(
            thread::Builder::new()
                .name("binance-replay".into())
                .spawn(move || replay(&file, &socket, dest, rate, relay, &stop, &counters))?,
        );
    }
    if let Some(listener) = listener {
        listener.set_nonblocking(true)?;
        handles.push(
            thread::Builder::new()
                .name("binance-http".into())
                .spawn(move || serve(&listener, &file, &stop, &counters))?,
        );
    }
    Ok(handles)
}

/// Sleeps until `until`, in slices of at most [`POLL`]; false if stopped first.
fn sleep_until(until: Instant, stop: &AtomicBool) -> bool {
    // At most (until - now) / POLL + 1 iterations.
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let now = Instant::now();
        if now >= until {
            return true;
        }
        thread::sleep((until - now).min(POLL));
    }
}

fn replay(
    file: &BinanceFile,
    socket: &UdpSocket,
    dest: SocketAddr,
    rate: Option<u64>,
    relay: Option<usize>,
    stop: &AtomicBool,
    counters: &BinanceCounters,
) {
    let start = Instant::now();
    let mut due = start;
    let mut previous: Option<u64> = None;
    let mut scratch = Vec::with_capacity(relay.unwrap_or(0) + relay::HEADER_LEN);
    let mut sequence = 0u64;
    let snapshot = match (relay, &file.snapshot) {
        (Some(_), Some(snapshot)) => Some(snapshot.as_str()),
        _ => None,
    };
    for (index, (stamp, json)) in file.messages.iter().enumerate() {
        match rate {
            Some(rate) if rate > 0 => {
                let nanos = (index as u128) * 1_000_000_000 / u128::from(rate);
                due = start + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
            }
            _ => {
                let gap = previous.map_or(0, |previous| stamp.saturating_sub(previous));
                due += Duration::from_nanos(gap).min(MAX_GAP);
                previous = Some(*stamp);
            }
        }
        if !sleep_until(due, stop) {
            return;
        }
        let Some(max_payload) = relay else {
            if json.len() > MAX_DATAGRAM {
                counters.oversized.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if socket.send_to(json.as_bytes(), dest).is_ok() {
                counters.sent.fetch_add(1, Ordering::Relaxed);
                counters.datagrams.fetch_add(1, Ordering::Relaxed);
            }
            continue;
        };
        if index == file.snapshot_index
            && let Some(snapshot) = snapshot
        {
            sequence += 1;
            send_fragments(
                socket,
                dest,
                sequence,
                snapshot,
                max_payload,
                &mut scratch,
                counters,
            );
        }
        sequence += 1;
        send_fragments(
            socket,
            dest,
            sequence,
            json,
            max_payload,
            &mut scratch,
            counters,
        );
    }
    if file.snapshot_index >= file.messages.len()
        && let (Some(max_payload), Some(snapshot)) = (relay, snapshot)
    {
        sequence += 1;
        send_fragments(
            socket,
            dest,
            sequence,
            snapshot,
            max_payload,
            &mut scratch,
            counters,
        );
    }
    let (messages, datagrams, oversized) = (
        counters.sent.load(Ordering::Relaxed),
        counters.datagrams.load(Ordering::Relaxed),
        counters.oversized.load(Ordering::Relaxed),
    );
    tracing::info!(messages, datagrams, oversized, "Binance replay finished");
    println!(
        r#"venue: binance replay done {{"messages":{messages},"datagrams":{datagrams},"oversized":{oversized}}}"#
    );
}

/// Sends one message in relay framing; counts it sent if every fragment went out.
fn send_fragments(
    socket: &UdpSocket,
    dest: SocketAddr,
    sequence: u64,
    json: &str,
    max_payload: usize,
    scratch: &mut Vec<u8>,
    counters: &BinanceCounters,
) {
    let mut complete = true;
    let fragmented = relay::fragment(
        sequence,
        json.as_bytes(),
        max_payload,
        scratch,
        |datagram| {
            if socket.send_to(datagram, dest).is_ok() {
                counters.datagrams.fetch_add(1, Ordering::Relaxed);
            } else {
                complete = false;
            }
        },
    );
    if fragmented.is_err() {
        counters.oversized.fetch_add(1, Ordering::Relaxed);
    } else if complete {
        counters.sent.fetch_add(1, Ordering::Relaxed);
    }
}

fn serve(
    listener: &TcpListener,
    file: &BinanceFile,
    stop: &AtomicBool,
    counters: &BinanceCounters,
) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                if answer(stream, file).is_ok() {
                    counters.snapshots.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(error) => {
                tracing::warn!("Binance snapshot server: accept: {error}");
                thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// The response to one request head.
#[must_use]
pub fn respond(head: &str, file: &BinanceFile) -> (u16, &'static str, String) {
    let mut words = head.lines().next().unwrap_or_default().split_whitespace();
    let (method, target) = (
        words.next().unwrap_or_default(),
        words.next().unwrap_or_default(),
    );
    if method != "GET" {
        return (
            405,
            "Method Not Allowed",
            r#"{"code":-1,"msg":"GET only"}"#.into(),
        );
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != "/api/v3/depth" {
        return (404, "Not Found", r#"{"code":-1,"msg":"not found"}"#.into());
    }
    let symbol = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "symbol")
        .map(|(_, value)| value.to_ascii_uppercase());
    let Some(snapshot) = &file.snapshot else {
        return (
            503,
            "Service Unavailable",
            r#"{"code":-1,"msg":"no snapshot in the file"}"#.into(),
        );
    };
    match (symbol, &file.symbol) {
        (Some(asked), Some(ours)) if asked == *ours => (200, "OK", snapshot.clone()),
        (Some(_), None) => (200, "OK", snapshot.clone()),
        _ => (
            400,
            "Bad Request",
            r#"{"code":-1121,"msg":"Invalid symbol."}"#.into(),
        ),
    }
}

fn answer(mut stream: TcpStream, file: &BinanceFile) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    // Bounded by MAX_REQUEST_HEAD.
    while !head.windows(4).any(|window| window == b"\r\n\r\n") && head.len() < MAX_REQUEST_HEAD {
        let len = stream.read(&mut chunk)?;
        if len == 0 {
            break;
        }
        head.extend_from_slice(chunk.get(..len).unwrap_or_default());
    }
    let (status, reason, body) = respond(&String::from_utf8_lossy(&head), file);
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes())?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> BinanceFile {
        BinanceFile {
            messages: vec![],
            snapshot: Some(r#"{"lastUpdateId":1,"bids":[],"asks":[]}"#.into()),
            snapshot_index: 0,
            symbol: Some("BTCUSDT".into()),
        }
    }

    #[test]
    fn depth_requests() {
        let file = file();
        let (status, _, body) = respond(
            "GET /api/v3/depth?symbol=BTCUSDT&limit=1000 HTTP/1.1\r\n\r\n",
            &file,
        );
        assert_eq!(status, 200);
        assert!(body.starts_with("{\"lastUpdateId\":1"));
        assert_eq!(
            respond("GET /api/v3/depth?symbol=btcusdt HTTP/1.1\r\n", &file).0,
            200
        );
        assert_eq!(
            respond("GET /api/v3/depth?symbol=ETHUSDT HTTP/1.1\r\n", &file).0,
            400
        );
        assert_eq!(respond("GET /api/v3/depth HTTP/1.1\r\n", &file).0, 400);
        assert_eq!(respond("GET /other HTTP/1.1\r\n", &file).0, 404);
        assert_eq!(respond("POST /api/v3/depth HTTP/1.1\r\n", &file).0, 405);
    }

    #[test]
    fn the_sample_splits_into_messages_and_one_snapshot() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/data/binance/btcusdt_20240808.gz");
        let file = BinanceFile::load(&path).expect("sample loads");
        assert_eq!(file.messages.len(), 41_248);
        assert_eq!(file.symbol.as_deref(), Some("BTCUSDT"));
        assert!(
            file.snapshot
                .as_deref()
                .is_some_and(|s| s.contains("\"lastUpdateId\":50093239218"))
        );
        assert!(
            file.messages
                .iter()
                .all(|(_, json)| json.starts_with("{\"stream\":\"btcusdt@"))
        );
    }
}
