//! The offline tools, run as the binary users run: output formats on the real samples and
//! one-line errors for bad input.
#![allow(clippy::unwrap_used, reason = "test: a panic is the failure report")]

use std::{
    collections::BTreeMap,
    io::Read as _,
    net::SocketAddrV4,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use tickwire_dataplane::{
    net::{UDP_FRAME_OVERHEAD, UdpHeaderTemplate},
    tools::pcap::PcapWriter,
};
use tickwire_protocol::{
    itch::BinaryFileReader,
    moldudp64::{PacketBuilder, Session},
};

const BINARY: &str = env!("CARGO_BIN_EXE_tickwire-dataplane");

fn itch_sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/itch/ex20101224.TEST_ITCH_50.gz")
}

fn run(args: &[&str]) -> Output {
    Command::new(BINARY).args(args).output().unwrap()
}

fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn one_line_error(output: &Output) -> String {
    assert!(!output.status.success(), "expected a failure");
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    lines[0].to_owned()
}

#[test]
fn decode_itch50_matches_the_data_readme() {
    let sample = itch_sample();
    let messages = json_lines(&run(&[
        "decode",
        "--format",
        "itch50",
        sample.to_str().unwrap(),
    ]));
    assert_eq!(messages.len(), 12_012);
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for message in &messages {
        *counts
            .entry(message["type"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    // The per-type counts stated in ../shared/data/README.md.
    let expected: BTreeMap<String, u64> = [
        ("P", 5000),
        ("A", 4997),
        ("D", 1745),
        ("E", 198),
        ("X", 45),
        ("U", 12),
        ("S", 6),
        ("R", 3),
        ("H", 3),
        ("F", 3),
    ]
    .into_iter()
    .map(|(kind, count)| (kind.to_owned(), count))
    .collect();
    assert_eq!(counts, expected);
    let add = messages
        .iter()
        .find(|message| message["type"] == "A")
        .unwrap();
    for key in [
        "stock_locate",
        "tracking_number",
        "timestamp",
        "order_reference_number",
        "buy_sell_indicator",
        "shares",
        "stock",
        "price",
    ] {
        assert!(add.get(key).is_some(), "{key} in {add}");
    }
    assert!(add["timestamp"].is_u64() && add["price"].is_u64());
    assert!(matches!(
        add["buy_sell_indicator"].as_str(),
        Some("B" | "S")
    ));
    assert!(
        !add["stock"].as_str().unwrap().ends_with(' '),
        "trailing spaces trimmed"
    );
}

/// Wraps the sample's messages in MoldUDP64 packets inside Ethernet/IPv4/UDP frames.
fn write_moldudp64_pcap(path: &Path) -> usize {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(itch_sample()).unwrap())
        .read_to_end(&mut raw)
        .unwrap();
    let messages: Vec<Vec<u8>> = BinaryFileReader::new(&raw)
        .map(|frame| frame.unwrap().1.to_vec())
        .collect();
    let template = UdpHeaderTemplate::new(
        [2, 0, 0, 0, 0, 2],
        [1, 0, 0x5e, 1, 1, 1],
        "10.77.0.2:40000".parse::<SocketAddrV4>().unwrap(),
        "239.1.1.1:26400".parse::<SocketAddrV4>().unwrap(),
    );
    let mut pcap = PcapWriter::new(std::fs::File::create(path).unwrap()).unwrap();
    let session = Session::new("SAMPLE0001").unwrap();
    let mut sequence = 1;
    for chunk in messages.chunks(7) {
        let mut frame = vec![0u8; 1500];
        let mut builder =
            PacketBuilder::new(&mut frame[UDP_FRAME_OVERHEAD..], session, sequence).unwrap();
        for message in chunk {
            builder.push(message).unwrap();
        }
        let payload = builder.finish();
        let len = template.finish(&mut frame, payload).unwrap();
        pcap.write(1_700_000_000_000_000_000 + sequence, &frame[..len])
            .unwrap();
        sequence += chunk.len() as u64;
    }
    // An ARP frame in the capture is skipped, not an error.
    let mut arp = vec![0u8; 42];
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    pcap.write(1_800_000_000_000_000_000, &arp).unwrap();
    pcap.finish().unwrap();
    messages.len()
}

#[test]
fn decode_moldudp64_pcap_adds_session_and_sequence() {
    let directory = tempdir();
    let capture = directory.join("feed.pcap");
    let count = write_moldudp64_pcap(&capture);
    let from_pcap = json_lines(&run(&[
        "decode",
        "--format",
        "moldudp64",
        capture.to_str().unwrap(),
    ]));
    let from_file = json_lines(&run(&[
        "decode",
        "--format",
        "itch50",
        itch_sample().to_str().unwrap(),
    ]));
    assert_eq!(from_pcap.len(), count);
    for (index, (packet_message, file_message)) in from_pcap.iter().zip(&from_file).enumerate() {
        assert_eq!(packet_message["moldudp64_session"], "SAMPLE0001");
        assert_eq!(packet_message["moldudp64_sequence"], index as u64 + 1);
        let mut stripped = packet_message.clone();
        let object = stripped.as_object_mut().unwrap();
        object.remove("moldudp64_session");
        object.remove("moldudp64_sequence");
        assert_eq!(&stripped, file_message, "message {index}");
    }
    let filtered = run(&[
        "decode",
        "--format",
        "moldudp64",
        "--port",
        "9",
        capture.to_str().unwrap(),
    ]);
    assert!(
        json_lines(&filtered).is_empty(),
        "--port selects nothing else"
    );
}

#[test]
fn book_itch50_prints_changes_of_the_top() {
    let lines = json_lines(&run(&[
        "book",
        "--format",
        "itch50",
        itch_sample().to_str().unwrap(),
        "--stock",
        "BOB",
    ]));
    let tops: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|line| line.get("event").is_none())
        .collect();
    assert!(tops.len() > 100, "{} top changes", tops.len());
    for pair in tops.windows(2) {
        assert_ne!(
            (
                &pair[0]["best_bid"],
                &pair[0]["best_bid_shares"],
                &pair[0]["best_ask"],
                &pair[0]["best_ask_shares"]
            ),
            (
                &pair[1]["best_bid"],
                &pair[1]["best_bid_shares"],
                &pair[1]["best_ask"],
                &pair[1]["best_ask_shares"]
            ),
            "only changes are printed"
        );
        assert!(pair[0]["timestamp"].as_u64() <= pair[1]["timestamp"].as_u64());
    }
    // (The simulated sample's book is crossed at times; tests/itch_book.rs checks every
    // top against an independent model, so no uncrossed-book check here.)
    for top in &tops {
        assert_eq!(top["stock"], "BOB");
        assert!(top["best_bid"].is_null() || top["best_bid_shares"].as_u64() > Some(0));
    }
    // The sample references orders it never adds; those are reported, not fatal.
    assert!(lines.iter().any(|line| line["event"] == "book_error"));
}

fn tempdir() -> PathBuf {
    let directory = std::env::temp_dir().join(format!(
        "tickwire-tools-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

#[test]
fn bad_input_gets_one_line_errors() {
    let sample = itch_sample();
    let sample = sample.to_str().unwrap();
    let error = one_line_error(&run(&["decode", "--format", "itch42", sample]));
    assert!(error.contains("unknown format \"itch42\""), "{error}");
    let error = one_line_error(&run(&["book", "--format", "lobster", sample]));
    assert!(error.contains("unknown format"), "{error}");
    let error = one_line_error(&run(&["decode", "--format", "itch50", "/nonexistent/file"]));
    assert!(
        error.contains("/nonexistent/file") && error.contains("No such file"),
        "{error}"
    );

    let directory = tempdir();
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(sample).unwrap())
        .read_to_end(&mut raw)
        .unwrap();
    let truncated = directory.join("truncated.itch");
    std::fs::write(&truncated, &raw[..1000]).unwrap();
    let error = one_line_error(&run(&[
        "decode",
        "--format",
        "itch50",
        truncated.to_str().unwrap(),
    ]));
    assert!(
        error.contains("truncated.itch") && error.contains("offset 980"),
        "{error}"
    );
    assert!(error.contains("'D'"), "names the message type: {error}");

    let unknown_type = directory.join("unknown.itch");
    std::fs::write(&unknown_type, [0, 0, b'Z', 1, 2, 3]).unwrap();
    let error = one_line_error(&run(&[
        "decode",
        "--format",
        "itch50",
        unknown_type.to_str().unwrap(),
    ]));
    assert!(
        error.contains("offset 0") && error.contains("unknown"),
        "{error}"
    );

    let pcapng = directory.join("capture.pcapng");
    std::fs::write(
        &pcapng,
        [
            0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ],
    )
    .unwrap();
    let error = one_line_error(&run(&[
        "decode",
        "--format",
        "moldudp64",
        pcapng.to_str().unwrap(),
    ]));
    assert!(error.contains("pcapng"), "{error}");

    let capture = directory.join("cut.pcap");
    write_moldudp64_pcap(&capture);
    let bytes = std::fs::read(&capture).unwrap();
    std::fs::write(&capture, &bytes[..bytes.len() / 2]).unwrap();
    let error = one_line_error(&run(&[
        "decode",
        "--format",
        "moldudp64",
        capture.to_str().unwrap(),
    ]));
    assert!(error.contains("truncated"), "{error}");

    let error = one_line_error(&run(&["book", "--format", "itch50", sample]));
    assert!(error.contains("--stock"), "{error}");
    std::fs::remove_dir_all(directory).unwrap();
}
