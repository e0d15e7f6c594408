//! Gap recovery over real UDP: the ITCH sample is cut into MoldUDP64 packets and sent to a
//! receiver with packets dropped and reordered on purpose; a retransmission server thread
//! answers the receiver's MoldUDP64 requests from its store. The receiver's final L3 books
//! must equal those of a loss-free replay of the same sample.
#![allow(clippy::unwrap_used, reason = "test: a panic is the failure report")]

use std::{
    io::Read as _,
    net::UdpSocket,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use tickwire_dataplane::{
    book::{
        Side,
        l3::{L3Books, L3Config},
    },
    feed::mold::{MoldConfig, MoldRecovery},
};
use tickwire_protocol::{
    itch::{self, BinaryFileReader},
    moldudp64::{self, PacketBuilder, Request, Session},
};

const MESSAGES_PER_PACKET: usize = 5;

fn sample_messages() -> Vec<Vec<u8>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/itch/ex20101224.TEST_ITCH_50.gz"
    );
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut raw)
        .unwrap();
    BinaryFileReader::new(&raw)
        .map(|frame| frame.unwrap().1.to_vec())
        .collect()
}

fn session() -> Session {
    Session::new("GAPTEST001").unwrap()
}

/// Packs `messages[first - 1..]` (1-based sequences) into a packet of up to `count`.
fn packet(messages: &[Vec<u8>], first: u64, count: usize) -> Vec<u8> {
    let mut buffer = vec![0u8; 1400];
    let mut builder = PacketBuilder::new(&mut buffer, session(), first).unwrap();
    let start = usize::try_from(first - 1).unwrap();
    for message in messages.iter().skip(start).take(count) {
        builder.push(message).unwrap();
    }
    let len = builder.finish();
    buffer.truncate(len);
    buffer
}

fn books() -> L3Books {
    let mut books = L3Books::new(L3Config {
        max_orders: 1 << 16,
        max_books: 4,
        levels: 1 << 14,
        overflow_levels: 256,
        strict_references: false,
    });
    for stock in ["ALC     ", "BOB     ", "CHAR    "] {
        books
            .subscribe(stock.as_bytes().try_into().unwrap())
            .unwrap();
    }
    books
}

fn depth_of(books: &L3Books) -> Vec<Vec<(u32, u64)>> {
    let mut all = Vec::new();
    for book in 0..3 {
        for side in [Side::Bid, Side::Ask] {
            let mut levels = vec![(0u32, 0u64); 4096];
            let written = books.depth(book, side, &mut levels);
            levels.truncate(written);
            all.push(levels);
        }
    }
    all
}

/// A tiny deterministic generator, so a failure replays exactly.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

#[test]
fn dropped_and_reordered_packets_recover_to_identical_books() {
    let messages = Arc::new(sample_messages());
    let total = messages.len() as u64;

    // Loss-free reference.
    let mut reference = books();
    for message in messages.iter() {
        let _ = reference.apply_itch(&itch::decode(message).unwrap());
    }

    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    receiver
        .set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    let feed_address = receiver.local_addr().unwrap();
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let server_address = server.local_addr().unwrap();

    // Retransmission server: answers each request with the requested messages, re-chunked.
    let done = Arc::new(AtomicBool::new(false));
    let served = {
        let (messages, done) = (Arc::clone(&messages), Arc::clone(&done));
        thread::spawn(move || {
            let mut served = 0u64;
            let mut buffer = [0u8; 64];
            while !done.load(Ordering::Relaxed) {
                let Ok((len, from)) = server.recv_from(&mut buffer) else {
                    continue;
                };
                let request = Request::decode(&buffer[..len]).unwrap();
                assert_eq!(request.session, session());
                let end =
                    (request.sequence_number + u64::from(request.message_count)).min(total + 1);
                let mut first = request.sequence_number;
                while first < end {
                    let count = usize::try_from(end - first).unwrap().min(3);
                    server
                        .send_to(&packet(&messages, first, count), from)
                        .unwrap();
                    first += count as u64;
                    served += 1;
                }
            }
            served
        })
    };

    // Live feed: 3% of packets dropped, neighbours swapped 5% of the time.
    let sender = {
        let messages = Arc::clone(&messages);
        thread::spawn(move || {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            let mut random = Lcg(0x5eed);
            let mut packets = Vec::new();
            let mut first = 1u64;
            while first <= total {
                packets.push(packet(&messages, first, MESSAGES_PER_PACKET));
                first += MESSAGES_PER_PACKET as u64;
            }
            let mut index = 0;
            let mut dropped = 0;
            while index < packets.len() {
                if index + 1 < packets.len() && random.next() % 100 < 5 {
                    packets.swap(index, index + 1);
                }
                if random.next() % 100 < 3 {
                    dropped += 1;
                } else {
                    socket.send_to(&packets[index], feed_address).unwrap();
                }
                index += 1;
                if index % 64 == 0 {
                    // Pace the sender so the loopback buffer does not add losses of its own.
                    thread::sleep(Duration::from_micros(500));
                }
            }
            // The last packets may be lost too: a heartbeat announces the next sequence.
            let mut heartbeat = [0u8; 20];
            let len = moldudp64::encode_heartbeat(&mut heartbeat, session(), total + 1).unwrap();
            for _ in 0..3 {
                socket.send_to(&heartbeat[..len], feed_address).unwrap();
                thread::sleep(Duration::from_millis(50));
            }
            dropped
        })
    };

    let mut recovery = MoldRecovery::new(MoldConfig {
        max_buffered_packets: 4096,
        request_timeout_ns: 20_000_000,
        max_requests: 50,
        give_up_ns: 5_000_000_000,
        ..MoldConfig::default()
    });
    let mut received = books();
    let mut buffer = [0u8; 2048];
    let started = Instant::now();
    let mut send_requests = |request: Request| {
        let mut bytes = [0u8; 20];
        request.encode(&mut bytes).unwrap();
        receiver.send_to(&bytes, server_address).unwrap();
    };
    while recovery.expected() <= total || recovery.gap_open() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "recovery did not finish"
        );
        let now = u64::try_from(started.elapsed().as_nanos()).unwrap();
        let mut apply = |_sequence: u64, message: &[u8]| {
            let _ = received.apply_itch(&itch::decode(message).unwrap());
        };
        if let Ok(len) = receiver.recv(&mut buffer) {
            recovery
                .on_packet(&buffer[..len], now, &mut apply, &mut send_requests)
                .unwrap();
        }
        let progress = recovery.on_tick(now, &mut apply, &mut send_requests);
        assert!(
            !progress.abandoned,
            "a gap was given up: {:?}",
            recovery.counters()
        );
    }
    done.store(true, Ordering::Relaxed);
    let dropped = sender.join().unwrap();
    let served = served.join().unwrap();

    let counters = recovery.counters();
    assert!(
        dropped > 10,
        "the test dropped packets on purpose ({dropped})"
    );
    assert!(
        counters.gaps >= 1 && counters.gaps == counters.gaps_recovered,
        "{counters:?}"
    );
    assert!(served > 0 && counters.requests > 0);
    assert_eq!(
        counters.messages, total,
        "every message applied exactly once"
    );
    assert_eq!(counters.gaps_abandoned, 0);
    eprintln!("recovery counters: {counters:?}, dropped {dropped}, served {served}");
    // Answers already in flight are awaited, not re-requested: requests and duplicates stay
    // a small multiple of what was lost (re-asking on every partial answer made them explode).
    assert!(
        counters.requests <= 4 * dropped + 10,
        "{} requests for {dropped} dropped packets",
        counters.requests
    );
    assert!(counters.duplicates <= counters.packets / 4, "{counters:?}");
    assert_eq!(depth_of(&received), depth_of(&reference), "identical books");
    assert_eq!(received.order_count(), reference.order_count());
}
