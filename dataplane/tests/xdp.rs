//! XDP and AF_XDP integration tests, run for real: each test creates its own pair of network
//! namespaces joined by a veth pair and deletes them at the end. Without privileges they
//! skip with a printed reason; `TICKWIRE_REQUIRE_XDP=1` turns that skip into a failure.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic is the failure report"
)]

use std::{
    io::{BufRead as _, BufReader},
    net::{Ipv4Addr, SocketAddrV4, UdpSocket},
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicU32, Ordering},
        mpsc,
    },
    thread,
    time::{Duration, Instant},
};

use tickwire_common::xdp::XdpCounter;
use tickwire_dataplane::{
    io::{
        BackendChoice, IoConfig, Listen, PacketIo, RxAction, afxdp::AfXdpIo, iface::InterfaceInfo,
    },
    net::{self, UDP_FRAME_OVERHEAD, UdpHeaderTemplate},
    netns::{self, GATEWAY_IP, Topology, VENUE_IP},
    xdp::{AttachMode, DetachedProgram, XdpCounters},
};

const XDP_PASS: u32 = 2;
const WAIT: Duration = Duration::from_secs(10);
const BINARY: &str = env!("CARGO_BIN_EXE_tickwire-dataplane");

static NEXT_TOPOLOGY: AtomicU32 = AtomicU32::new(0);

/// A fresh topology with a name unique to this process and test.
fn topology() -> Topology {
    let prefix = format!(
        "x{}{}",
        std::process::id() % 100_000,
        NEXT_TOPOLOGY.fetch_add(1, Ordering::Relaxed)
    );
    Topology::create(&prefix).expect("creating the test namespaces")
}

/// Runs `work` on a new thread inside namespace `ns`.
fn in_ns<T: Send + 'static>(
    ns: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> thread::JoinHandle<T> {
    let ns = ns.to_owned();
    thread::spawn(move || {
        let _guard = Topology::enter(&ns).expect("entering the namespace");
        work()
    })
}

fn afxdp_config(iface: &str, listen: Listen, mode: AttachMode) -> IoConfig {
    let mut config = IoConfig::new(iface, vec![listen]);
    config.backend = BackendChoice::Afxdp;
    config.xdp_mode = mode;
    config
}

/// An Ethernet/IPv4/UDP frame with valid checksums.
fn udp_frame(dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let template = UdpHeaderTemplate::new(
        [2, 0, 0, 0, 0, 2],
        [2, 0, 0, 0, 0, 1],
        SocketAddrV4::new(VENUE_IP, 40_000),
        SocketAddrV4::new(GATEWAY_IP, dst_port),
    );
    let mut frame = vec![0u8; UDP_FRAME_OVERHEAD + payload.len()];
    frame[UDP_FRAME_OVERHEAD..].copy_from_slice(payload);
    template.finish(&mut frame, payload.len()).unwrap();
    frame
}

/// Makes room for a whole test burst in a socket's receive buffer.
fn enlarge_receive_buffer(socket: &impl AsRawFd) {
    let buffer_bytes: i32 = 16 << 20;
    // SAFETY: setting the receive buffer size with a valid `i32`.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&raw const buffer_bytes).cast(),
            size_of::<i32>() as u32,
        )
    };
    assert_eq!(
        result,
        0,
        "SO_RCVBUFFORCE: {}",
        std::io::Error::last_os_error()
    );
}

/// A raw AF_PACKET socket bound to `iface` in the calling thread's namespace.
fn packet_socket(iface: &str) -> OwnedFd {
    let protocol = (libc::ETH_P_ALL as u16).to_be();
    // SAFETY: plain socket(2); checked below.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(protocol)) };
    assert!(
        fd >= 0,
        "AF_PACKET socket: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: `fd` is a fresh descriptor owned from here on.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    let index = InterfaceInfo::lookup(iface).unwrap().index;
    // SAFETY: all-zero is a valid `sockaddr_ll`.
    let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    address.sll_family = libc::AF_PACKET as u16;
    address.sll_protocol = protocol;
    address.sll_ifindex = index as i32;
    // SAFETY: `address` is a valid `sockaddr_ll` of the given length.
    let bound = unsafe {
        libc::bind(
            socket.as_raw_fd(),
            (&raw const address).cast(),
            size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    assert_eq!(
        bound,
        0,
        "bind AF_PACKET: {}",
        std::io::Error::last_os_error()
    );
    enlarge_receive_buffer(&socket);
    let timeout = libc::timeval {
        tv_sec: 0,
        tv_usec: 200_000,
    };
    // SAFETY: setting a receive timeout with a valid `timeval`.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&raw const timeout).cast(),
            size_of::<libc::timeval>() as u32,
        )
    };
    socket
}

fn packet_send(socket: &OwnedFd, frame: &[u8]) {
    // SAFETY: `frame` is valid for reads of its length.
    let sent = unsafe { libc::send(socket.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
    assert_eq!(
        sent,
        frame.len() as isize,
        "{}",
        std::io::Error::last_os_error()
    );
}

fn packet_recv(socket: &OwnedFd, buffer: &mut [u8]) -> Option<usize> {
    // SAFETY: `buffer` is valid for writes of its length.
    let len = unsafe {
        libc::recv(
            socket.as_raw_fd(),
            buffer.as_mut_ptr().cast(),
            buffer.len(),
            0,
        )
    };
    usize::try_from(len).ok()
}

/// A UDP counter of the calling thread's namespace (`InCsumErrors`, `RcvbufErrors`, ...).
fn udp_counter(counter: &str) -> u64 {
    let snmp = std::fs::read_to_string("/proc/thread-self/net/snmp").unwrap();
    let mut udp = snmp.lines().filter(|line| line.starts_with("Udp:"));
    let (names, values) = (udp.next().unwrap(), udp.next().unwrap());
    let position = names
        .split_whitespace()
        .position(|name| name == counter)
        .unwrap();
    values
        .split_whitespace()
        .nth(position)
        .unwrap()
        .parse()
        .unwrap()
}

fn assert_counters_balance(counters: &XdpCounters) {
    assert_eq!(
        counters.get(XdpCounter::Seen),
        counters.get(XdpCounter::Steered) + counters.get(XdpCounter::Passed),
        "every frame is either steered or passed: {counters}"
    );
}

#[test]
fn verifier_accepts_the_program_and_it_classifies_frames() {
    if !netns::xdp_tests_enabled("verifier_accepts_the_program_and_it_classifies_frames") {
        return;
    }
    let mut program = DetachedProgram::load().expect("the verifier accepts the program");
    program.steer(GATEWAY_IP, 9000).unwrap();
    program.steer(Ipv4Addr::UNSPECIFIED, 9100).unwrap();
    let steered_plain = udp_frame(9000, b"steer me");
    let steered_wildcard = udp_frame(9100, b"any address");
    let other_port = udp_frame(9001, b"not ours");
    let mut vlan = steered_plain[..12].to_vec();
    vlan.extend_from_slice(&[0x81, 0x00, 0x00, 0x07]);
    vlan.extend_from_slice(&steered_plain[12..]);
    let mut options = steered_plain.clone();
    options[14] = 0x46;
    let mut fragment = steered_plain.clone();
    fragment[14 + 6] = 0x20;
    let mut arp = steered_plain.clone();
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    let mut bad_ihl = steered_plain.clone();
    bad_ihl[14] = 0x43;
    let mut not_v4 = steered_plain.clone();
    not_v4[14] = 0x65;
    let truncated_udp = steered_plain[..14 + 20 + 4].to_vec();
    let truncated_ip = steered_plain[..14 + 10].to_vec();

    // No AF_XDP socket is registered, so steered frames fall back to the kernel: the verdict
    // is XDP_PASS for every frame, and the counters say why.
    let frames: [(&str, &[u8]); 11] = [
        ("steered", &steered_plain),
        ("steered via wildcard", &steered_wildcard),
        ("vlan-tagged steered", &vlan),
        ("other port", &other_port),
        ("ipv4 options", &options),
        ("fragment", &fragment),
        ("arp", &arp),
        ("bad ihl", &bad_ihl),
        ("ip version 6 in an ipv4 frame", &not_v4),
        ("truncated udp header", &truncated_udp),
        ("truncated ipv4 header", &truncated_ip),
    ];
    for (name, frame) in frames {
        assert_eq!(program.run(frame).unwrap(), XDP_PASS, "{name}");
    }
    let counters = program.counters().unwrap();
    assert_eq!(counters.get(XdpCounter::Seen), 11, "{counters}");
    assert_eq!(counters.get(XdpCounter::Steered), 0, "{counters}");
    assert_eq!(counters.get(XdpCounter::Passed), 11, "{counters}");
    assert_eq!(counters.get(XdpCounter::RedirectFailed), 3, "{counters}");
    assert_eq!(counters.get(XdpCounter::Malformed), 4, "{counters}");
}

#[test]
fn steered_udp_arrives_intact_and_other_traffic_still_works() {
    if !netns::xdp_tests_enabled("steered_udp_arrives_intact_and_other_traffic_still_works") {
        return;
    }
    const DATAGRAMS: usize = 200;
    let topology = topology();
    let (ready_tx, ready_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let iface = topology.gateway_iface.clone();
    let gateway = in_ns(&topology.gateway_ns, move || {
        let listen = Listen {
            addr: GATEWAY_IP,
            port: 9000,
        };
        let mut io = AfXdpIo::open(&afxdp_config(&iface, listen, AttachMode::Auto)).unwrap();
        let kernel = UdpSocket::bind((GATEWAY_IP, 9001)).unwrap();
        kernel.set_read_timeout(Some(WAIT)).unwrap();
        ready_tx.send(()).unwrap();
        let mut received = Vec::new();
        let deadline = Instant::now() + WAIT;
        while received.len() < DATAGRAMS && Instant::now() < deadline {
            io.poll(|datagram| {
                received.push((datagram.src, datagram.dst, datagram.payload.to_vec()));
                RxAction::Consume
            })
            .unwrap();
        }
        let mut buffer = [0u8; 64];
        let kernel_len = kernel
            .recv(&mut buffer)
            .expect("the kernel socket still receives");
        // Keep the program attached until the peer's ping is done.
        done_rx.recv_timeout(WAIT).unwrap();
        let counters = io.program().counters().unwrap();
        (
            received,
            buffer[..kernel_len].to_vec(),
            counters,
            io.frame_accounting(),
        )
    });
    ready_rx.recv_timeout(WAIT).unwrap();
    let venue = in_ns(&topology.venue_ns, move || {
        let socket = UdpSocket::bind((VENUE_IP, 0)).unwrap();
        for index in 0..DATAGRAMS {
            let payload = format!("datagram {index:04} {}", "x".repeat(index % 64));
            socket
                .send_to(payload.as_bytes(), (GATEWAY_IP, 9000))
                .unwrap();
        }
        socket
            .send_to(b"to the kernel", (GATEWAY_IP, 9001))
            .unwrap();
        let ping = Command::new("ping")
            .args(["-c", "3", "-i", "0.2", "-W", "2", &GATEWAY_IP.to_string()])
            .output()
            .expect("running ping");
        done_tx.send(()).unwrap();
        (ping.status.success(), socket.local_addr().unwrap())
    });
    let (ping_ok, venue_addr) = venue.join().unwrap();
    let (received, kernel_payload, counters, accounting) = gateway.join().unwrap();

    assert!(ping_ok, "ping through the attached interface");
    assert_eq!(kernel_payload, b"to the kernel");
    assert_eq!(received.len(), DATAGRAMS);
    for (index, (src, dst, payload)) in received.iter().enumerate() {
        let expected = format!("datagram {index:04} {}", "x".repeat(index % 64));
        assert_eq!(
            payload,
            expected.as_bytes(),
            "datagram {index} intact and in order"
        );
        assert_eq!(std::net::SocketAddr::V4(*src), venue_addr);
        assert_eq!(*dst, SocketAddrV4::new(GATEWAY_IP, 9000));
    }
    assert_eq!(
        counters.get(XdpCounter::Steered),
        DATAGRAMS as u64,
        "{counters}"
    );
    assert_eq!(counters.get(XdpCounter::Malformed), 0, "{counters}");
    // The kernel datagram, 3 pings and ARP at least.
    assert!(counters.get(XdpCounter::Passed) >= 5, "{counters}");
    assert_counters_balance(&counters);
    assert!(accounting.balanced(), "{accounting:?}");
}

#[test]
fn afxdp_transmit_reaches_a_kernel_socket_with_valid_checksums() {
    if !netns::xdp_tests_enabled("afxdp_transmit_reaches_a_kernel_socket_with_valid_checksums") {
        return;
    }
    const DATAGRAMS: usize = 300;
    let topology = topology();
    let (ready_tx, ready_rx) = mpsc::channel();
    let venue_iface = topology.venue_iface.clone();
    let venue = in_ns(&topology.venue_ns, move || {
        let checksum_errors = udp_counter("InCsumErrors");
        let buffer_errors = udp_counter("RcvbufErrors");
        let socket = UdpSocket::bind((VENUE_IP, 7000)).unwrap();
        enlarge_receive_buffer(&socket);
        socket.set_read_timeout(Some(WAIT)).unwrap();
        let capture = packet_socket(&venue_iface);
        ready_tx.send(()).unwrap();
        let mut payloads = Vec::new();
        let mut buffer = [0u8; 2048];
        while payloads.len() < DATAGRAMS {
            let Ok((len, from)) = socket.recv_from(&mut buffer) else {
                break;
            };
            payloads.push((from, buffer[..len].to_vec()));
        }
        let mut frames_checked = 0;
        while let Some(len) = packet_recv(&capture, &mut buffer) {
            let frame = &buffer[..len];
            if let Ok(udp) = net::parse_udp_frame(frame)
                && udp.dst.port() == 7000
            {
                assert!(
                    net::checksums_valid(frame),
                    "frame {frames_checked} checksums"
                );
                assert_ne!(udp.udp_checksum, 0, "a UDP checksum is present");
                frames_checked += 1;
            }
        }
        (
            payloads,
            frames_checked,
            udp_counter("InCsumErrors") - checksum_errors,
            udp_counter("RcvbufErrors") - buffer_errors,
        )
    });
    ready_rx.recv_timeout(WAIT).unwrap();
    let iface = topology.gateway_iface.clone();
    let gateway = in_ns(&topology.gateway_ns, move || {
        let listen = Listen {
            addr: Ipv4Addr::UNSPECIFIED,
            port: 9000,
        };
        let mut io = AfXdpIo::open(&afxdp_config(&iface, listen, AttachMode::Auto)).unwrap();
        let dest = io
            .add_destination(9000, SocketAddrV4::new(VENUE_IP, 7000))
            .expect("ARP resolves the venue");
        for index in 0..DATAGRAMS {
            let payload = format!("order {index:05} {}", "y".repeat(index % 200));
            let queued = io
                .send(dest, |buffer| {
                    buffer[..payload.len()].copy_from_slice(payload.as_bytes());
                    payload.len()
                })
                .unwrap();
            assert!(queued, "a transmit frame is free");
        }
        // Flush until every transmit frame is back (completion ring drained).
        let deadline = Instant::now() + WAIT;
        loop {
            io.flush().unwrap();
            let accounting = io.frame_accounting();
            assert!(accounting.balanced(), "{accounting:?}");
            if accounting.in_tx_or_completion == 0 && accounting.tx_ready == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "transmissions never completed");
        }
        (io.counters(), io.frame_accounting())
    });
    let (io_counters, accounting) = gateway.join().unwrap();
    let (payloads, frames_checked, checksum_errors, buffer_errors) = venue.join().unwrap();

    assert_eq!(io_counters.tx_datagrams, DATAGRAMS as u64);
    assert_eq!(io_counters.tx_no_buffer, 0);
    assert_eq!(
        accounting.tx_free + accounting.in_fill_or_rx + accounting.awaiting_refill,
        accounting.total
    );
    assert_eq!(buffer_errors, 0, "the test's receiver kept up");
    assert_eq!(
        payloads.len(),
        DATAGRAMS,
        "every datagram reached the kernel socket"
    );
    for (index, (from, payload)) in payloads.iter().enumerate() {
        let expected = format!("order {index:05} {}", "y".repeat(index % 200));
        assert_eq!(payload, expected.as_bytes());
        assert_eq!(*from, std::net::SocketAddr::from((GATEWAY_IP, 9000)));
    }
    assert_eq!(
        frames_checked, DATAGRAMS,
        "every frame was captured and checked"
    );
    assert_eq!(
        checksum_errors, 0,
        "the kernel counted no UDP checksum errors"
    );
}

#[test]
fn malformed_frames_are_passed_and_counted_without_harm() {
    if !netns::xdp_tests_enabled("malformed_frames_are_passed_and_counted_without_harm") {
        return;
    }
    let topology = topology();
    let (ready_tx, ready_rx) = mpsc::channel();
    let (sent_tx, sent_rx) = mpsc::channel::<()>();
    let iface = topology.gateway_iface.clone();
    let gateway = in_ns(&topology.gateway_ns, move || {
        let listen = Listen {
            addr: GATEWAY_IP,
            port: 9000,
        };
        let mut io = AfXdpIo::open(&afxdp_config(&iface, listen, AttachMode::Skb)).unwrap();
        ready_tx
            .send(InterfaceInfo::lookup(&iface).unwrap().mac)
            .unwrap();
        sent_rx.recv_timeout(WAIT).unwrap();
        let mut received = Vec::new();
        let deadline = Instant::now() + WAIT;
        while received.is_empty() && Instant::now() < deadline {
            io.poll(|datagram| {
                received.push(datagram.payload.to_vec());
                RxAction::Consume
            })
            .unwrap();
        }
        (received, io.program().counters().unwrap(), io.counters())
    });
    let gateway_mac = ready_rx.recv_timeout(WAIT).unwrap();
    let venue_iface = topology.venue_iface.clone();
    let venue = in_ns(&topology.venue_ns, move || {
        let socket = packet_socket(&venue_iface);
        let venue_mac = InterfaceInfo::lookup(&venue_iface).unwrap().mac;
        let address = |mut frame: Vec<u8>| {
            frame[0..6].copy_from_slice(&gateway_mac);
            frame[6..12].copy_from_slice(&venue_mac);
            frame
        };
        let valid = address(udp_frame(9000, b"still alive"));
        let mut malformed = Vec::new();
        malformed.push(valid[..14].to_vec()); // Ethernet header only
        let mut bad_ihl = valid.clone();
        bad_ihl[14] = 0x43;
        malformed.push(bad_ihl);
        let mut version_6 = valid.clone();
        version_6[14] = 0x65;
        malformed.push(version_6);
        malformed.push(valid[..14 + 20 + 3].to_vec()); // truncated UDP header
        let mut passed = Vec::new();
        let mut options = valid.clone();
        options[14] = 0x46;
        passed.push(options);
        let mut fragment = valid.clone();
        fragment[14 + 6] = 0x20;
        passed.push(fragment);
        let mut other_ethertype = valid.clone();
        other_ethertype[12..14].copy_from_slice(&[0x88, 0xb5]);
        passed.push(other_ethertype);
        for frame in malformed.iter().chain(&passed) {
            for _ in 0..5 {
                packet_send(&socket, frame);
            }
        }
        packet_send(&socket, &valid);
        sent_tx.send(()).unwrap();
        (malformed.len() * 5, passed.len() * 5)
    });
    let (malformed_sent, odd_sent) = venue.join().unwrap();
    let (received, counters, io_counters) = gateway.join().unwrap();

    assert_eq!(
        received,
        vec![b"still alive".to_vec()],
        "the socket still works"
    );
    assert_eq!(io_counters.rx_dropped, 0);
    assert_eq!(counters.get(XdpCounter::Steered), 1, "{counters}");
    assert_eq!(
        counters.get(XdpCounter::Malformed),
        malformed_sent as u64,
        "{counters}"
    );
    assert!(
        counters.get(XdpCounter::Passed) >= (malformed_sent + odd_sent) as u64,
        "{counters}"
    );
    assert_counters_balance(&counters);
}

/// A reflector process in the gateway namespace, killed on drop.
struct Reflector {
    child: Child,
}

impl Reflector {
    fn start(topology: &Topology, extra: &[&str]) -> Self {
        let mut child = Topology::command_in(&topology.gateway_ns, BINARY)
            .args([
                "reflect",
                "--iface",
                &topology.gateway_iface,
                "--port",
                "9000",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the reflector");
        let stdout = child.stdout.take().unwrap();
        let (ready_tx, ready_rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line == "reflect: ready" {
                    let _ = ready_tx.send(());
                }
                println!("reflector: {line}");
            }
        });
        ready_rx
            .recv_timeout(WAIT)
            .expect("the reflector reports ready");
        Self { child }
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Reflector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ping_json(topology: &Topology, count: u32) -> serde_json::Value {
    let output = Topology::command_in(&topology.venue_ns, BINARY)
        .args([
            "ping",
            "--target",
            "10.77.0.1:9000",
            "--warmup",
            "50",
            "--json",
        ])
        .args(["--count", &count.to_string(), "--payload", "100"])
        .output()
        .expect("running the ping client");
    assert!(
        output.status.success(),
        "ping failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("ping prints JSON")
}

fn reflector_round_trips(extra: &[&str]) {
    let topology = topology();
    let reflector = Reflector::start(&topology, extra);
    let report = ping_json(&topology, 500);
    assert_eq!(report["lost"], 0, "{report}");
    assert_eq!(report["corrupted"], 0, "{report}");
    assert_eq!(report["rtt"]["samples"], 500, "{report}");
    reflector.kill();
}

#[test]
fn reflector_echoes_on_afxdp_driver_mode() {
    if netns::xdp_tests_enabled("reflector_echoes_on_afxdp_driver_mode") {
        reflector_round_trips(&["--backend", "afxdp", "--mode", "driver"]);
    }
}

#[test]
fn reflector_echoes_on_afxdp_skb_mode() {
    if netns::xdp_tests_enabled("reflector_echoes_on_afxdp_skb_mode") {
        reflector_round_trips(&["--backend", "afxdp", "--mode", "skb"]);
    }
}

#[test]
fn reflector_echoes_on_kernel_sockets() {
    if netns::xdp_tests_enabled("reflector_echoes_on_kernel_sockets") {
        reflector_round_trips(&["--backend", "socket", "--busy-poll-us", "50"]);
    }
}

#[test]
fn nothing_stays_attached_after_the_process_dies() {
    if !netns::xdp_tests_enabled("nothing_stays_attached_after_the_process_dies") {
        return;
    }
    let topology = topology();
    let (gateway_ns, venue_ns) = (topology.gateway_ns.clone(), topology.venue_ns.clone());
    let iface = topology.gateway_iface.clone();
    let reflector = Reflector::start(&topology, &["--backend", "afxdp"]);
    assert!(netns::xdp_attached(&gateway_ns, &iface).unwrap());
    assert_eq!(ping_json(&topology, 50)["lost"], 0);
    // SIGKILL: no destructor runs, the BPF link must still go away with the process.
    reflector.kill();
    let deadline = Instant::now() + WAIT;
    while netns::xdp_attached(&gateway_ns, &iface).unwrap() {
        assert!(
            Instant::now() < deadline,
            "XDP program still attached after SIGKILL"
        );
        thread::sleep(Duration::from_millis(20));
    }
    // A clean SIGINT exit reports and detaches too.
    let mut child = Topology::command_in(&gateway_ns, BINARY)
        .args([
            "reflect",
            "--iface",
            &iface,
            "--port",
            "9000",
            "--backend",
            "afxdp",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "reflect: ready");
    // SAFETY: sending SIGINT to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert!(status.success(), "clean exit on SIGINT");
    let summary = lines.next().unwrap().unwrap();
    assert!(summary.starts_with("reflect: backend=afxdp"), "{summary}");
    assert!(!netns::xdp_attached(&gateway_ns, &iface).unwrap());
    drop(topology);
    assert!(!netns::namespace_exists(&gateway_ns));
    assert!(!netns::namespace_exists(&venue_ns));
}
