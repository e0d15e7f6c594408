//! SoupBinTCP 3.0: byte vectors from the spec, stream decoding across every split point,
//! error paths and property round trips for every packet type.

use proptest::prelude::*;
use tickwire_protocol::ouch::{CancelOrder, InboundMessage, Token};
use tickwire_protocol::soupbintcp::{
    HEADER_LEN, LoginAccepted, LoginRejectReason, LoginRequest, MAX_PAYLOAD_LEN, Packet,
    PacketType, Password, Session, SoupBinTcpError, Username, encode_header,
};

fn encode(packet: &Packet<'_>) -> Vec<u8> {
    let mut out = vec![0u8; packet.encoded_len()];
    let len = packet.encode(&mut out).expect("encodable packet");
    assert_eq!(len, out.len());
    out
}

/// Decodes a whole stream fed in two chunks split at `split`, re-encoding each packet.
fn decode_split(stream: &[u8], split: usize) -> Vec<Vec<u8>> {
    let mut buffer = Vec::new();
    let mut packets = Vec::new();
    for chunk in [&stream[..split], &stream[split..]] {
        buffer.extend_from_slice(chunk);
        while let Some((packet, consumed)) = Packet::decode(&buffer).expect("valid stream") {
            packets.push(encode(&packet));
            buffer.drain(..consumed);
        }
    }
    assert!(buffer.is_empty(), "{} bytes left over", buffer.len());
    packets
}

// ----------------------------------------------------------------------------------------------
// Byte vectors from the spec.

#[test]
fn login_request_matches_spec_layout() {
    let bytes = [
        b"\x00\x2f".as_slice(),  // length 47 = type + 46
        b"L",                    // type
        b"TWUSR1",               // username (6)
        b"secret    ",           // password (10)
        b"          ",           // requested session (10), blank: current session
        b"                1024", // requested sequence number (20)
    ]
    .concat();
    assert_eq!(bytes.len(), 2 + 1 + 46);
    let expected = Packet::LoginRequest(LoginRequest {
        username: Username::from_text(b"TWUSR1").unwrap(),
        password: Password::from_text(b"secret").unwrap(),
        requested_session: Session::BLANK,
        requested_sequence_number: 1024,
    });
    assert_eq!(Packet::decode(&bytes), Ok(Some((expected, 49))));
    assert_eq!(encode(&expected), bytes);
}

#[test]
fn server_packets_match_spec_layout() {
    let accepted = [
        b"\x00\x1f".as_slice(),  // length 31
        b"A",                    //
        b"   SESSION",           // session, left padded with spaces
        b"                   1", // sequence number
    ]
    .concat();
    assert_eq!(accepted.len(), 2 + 1 + 30);
    let packet = Packet::LoginAccepted(LoginAccepted {
        session: Session::from_text(b"SESSION").unwrap(),
        sequence_number: 1,
    });
    assert_eq!(Packet::decode(&accepted), Ok(Some((packet, 33))));
    assert_eq!(encode(&packet), accepted);

    for (bytes, packet) in [
        (
            b"\x00\x02JA".as_slice(),
            Packet::LoginRejected(LoginRejectReason::NotAuthorized),
        ),
        (
            b"\x00\x02JS",
            Packet::LoginRejected(LoginRejectReason::SessionNotAvailable),
        ),
        (b"\x00\x01H", Packet::ServerHeartbeat),
        (b"\x00\x01Z", Packet::EndOfSession),
        (b"\x00\x01R", Packet::ClientHeartbeat),
        (b"\x00\x01O", Packet::LogoutRequest),
        (b"\x00\x06+hello", Packet::Debug(b"hello")),
        (b"\x00\x04Sabc", Packet::SequencedData(b"abc")),
        (b"\x00\x01U", Packet::UnsequencedData(b"")),
    ] {
        assert_eq!(Packet::decode(bytes), Ok(Some((packet, bytes.len()))));
        assert_eq!(encode(&packet), bytes);
    }
}

#[test]
fn ouch_in_unsequenced_data_in_place() {
    let cancel = CancelOrder {
        token: Token::from_text(b"ORD1").unwrap(),
        shares: 0,
    };
    let mut frame = [0u8; 64];
    let header = encode_header(&mut frame, PacketType::UnsequencedData, CancelOrder::LEN).unwrap();
    assert_eq!(header, HEADER_LEN);
    let len = header + cancel.encode(&mut frame[header..]).unwrap();
    assert_eq!(&frame[..3], b"\x00\x14U");
    let (packet, consumed) = Packet::decode(&frame[..len]).unwrap().unwrap();
    assert_eq!(consumed, 22);
    let Packet::UnsequencedData(payload) = packet else {
        panic!("expected Unsequenced Data, got {packet:?}");
    };
    assert_eq!(
        InboundMessage::decode(payload),
        Ok(InboundMessage::CancelOrder(cancel))
    );
}

// ----------------------------------------------------------------------------------------------
// Partial reads and errors.

#[test]
fn partial_packets_need_more_bytes() {
    let whole = b"\x00\x04Sabc";
    for len in 0..whole.len() {
        assert_eq!(Packet::decode(&whole[..len]), Ok(None), "prefix of {len}");
    }
    // Trailing bytes of the next packet are left alone.
    assert_eq!(
        Packet::decode(b"\x00\x04Sabc\x00"),
        Ok(Some((Packet::SequencedData(b"abc"), 6)))
    );
}

#[test]
fn malformed_packets_are_reported_early() {
    assert_eq!(
        Packet::decode(b"\x00\x00"),
        Err(SoupBinTcpError::ZeroLength)
    );
    // Unknown type: reported as soon as the type byte arrives.
    assert_eq!(
        Packet::decode(b"\x01\x00x"),
        Err(SoupBinTcpError::UnknownType { packet_type: b'x' })
    );
    // A heartbeat claiming a 65,534-byte payload: reported without waiting for it.
    assert_eq!(
        Packet::decode(b"\xff\xffH"),
        Err(SoupBinTcpError::WrongLength {
            packet_type: PacketType::ServerHeartbeat,
            expected: 0,
            actual: 65_534
        })
    );
    assert_eq!(
        Packet::decode(b"\x00\x1eA"),
        Err(SoupBinTcpError::WrongLength {
            packet_type: PacketType::LoginAccepted,
            expected: 30,
            actual: 29
        })
    );
    assert_eq!(
        Packet::decode(b"\x00\x01J"),
        Err(SoupBinTcpError::WrongLength {
            packet_type: PacketType::LoginRejected,
            expected: 1,
            actual: 0
        })
    );
}

#[test]
fn bad_sequence_numbers_name_the_offset() {
    let accepted = |sequence: &[u8; 20]| [b"\x00\x1fA   SESSION".as_slice(), sequence].concat();
    assert_eq!(
        Packet::decode(&accepted(b"              12x456")),
        Err(SoupBinTcpError::InvalidNumeric {
            packet_type: PacketType::LoginAccepted,
            offset: 3 + 10 + 16,
            byte: b'x'
        })
    );
    // Left-justified numbers are not the spec's format.
    assert_eq!(
        Packet::decode(&accepted(b"7                   ")),
        Err(SoupBinTcpError::InvalidNumeric {
            packet_type: PacketType::LoginAccepted,
            offset: 3 + 10 + 1,
            byte: b' '
        })
    );
    assert_eq!(
        Packet::decode(&accepted(b"                    ")),
        Err(SoupBinTcpError::EmptyNumeric {
            packet_type: PacketType::LoginAccepted,
            offset: 13
        })
    );
    assert_eq!(
        Packet::decode(&accepted(b"99999999999999999999")),
        Err(SoupBinTcpError::NumericOverflow {
            packet_type: PacketType::LoginAccepted,
            offset: 13
        })
    );
    // Zero padding is tolerated.
    assert_eq!(
        Packet::decode(&accepted(b"00000000000000000042")).map(|p| p.map(|(p, _)| p)),
        Ok(Some(Packet::LoginAccepted(LoginAccepted {
            session: Session::from_text(b"SESSION").unwrap(),
            sequence_number: 42,
        })))
    );
    let request = [
        b"\x00\x2fLTWUSR1secret              ".as_slice(),
        b"                 -12",
    ]
    .concat();
    assert_eq!(
        Packet::decode(&request),
        Err(SoupBinTcpError::InvalidNumeric {
            packet_type: PacketType::LoginRequest,
            offset: 3 + 26 + 17,
            byte: b'-'
        })
    );
    let text = SoupBinTcpError::InvalidNumeric {
        packet_type: PacketType::LoginRequest,
        offset: 46,
        byte: b'-',
    }
    .to_string();
    assert!(
        text.contains("Login Request ('L')") && text.contains("offset 46"),
        "{text}"
    );
}

#[test]
fn encode_errors() {
    let mut small = [0u8; 5];
    assert_eq!(
        Packet::SequencedData(b"abc").encode(&mut small),
        Err(SoupBinTcpError::BufferTooSmall {
            packet_type: PacketType::SequencedData,
            needed: 6,
            available: 5
        })
    );
    let big = vec![0u8; MAX_PAYLOAD_LEN + 1];
    let mut out = vec![0u8; big.len() + 3];
    assert_eq!(
        Packet::Debug(&big).encode(&mut out),
        Err(SoupBinTcpError::PayloadTooLong {
            packet_type: PacketType::Debug,
            len: MAX_PAYLOAD_LEN + 1
        })
    );
    assert_eq!(
        Packet::Debug(&big[1..]).encode(&mut out),
        Ok(MAX_PAYLOAD_LEN + 3)
    );
    assert_eq!(
        encode_header(&mut out, PacketType::ServerHeartbeat, 1),
        Err(SoupBinTcpError::WrongLength {
            packet_type: PacketType::ServerHeartbeat,
            expected: 0,
            actual: 1
        })
    );
    assert!(Session::from_text(b"ELEVEN_CHAR").is_err());
    assert!(Username::from_text(b"SEVENXX").is_err());
}

#[test]
fn byte_at_a_time_feed() {
    let stream = [
        b"\x00\x01H".as_slice(),
        b"\x00\x04Sabc",
        b"\x00\x02JS",
        b"\x00\x01Z",
    ]
    .concat();
    let mut buffer = Vec::new();
    let mut types = Vec::new();
    for &byte in &stream {
        buffer.push(byte);
        if let Some((packet, consumed)) = Packet::decode(&buffer).unwrap() {
            types.push(packet.packet_type());
            buffer.drain(..consumed);
        }
    }
    assert!(buffer.is_empty());
    assert_eq!(
        types,
        [
            PacketType::ServerHeartbeat,
            PacketType::SequencedData,
            PacketType::LoginRejected,
            PacketType::EndOfSession
        ]
    );
}

// ----------------------------------------------------------------------------------------------
// Properties.

/// An owned description of a packet, so proptest can generate and shrink it.
#[derive(Debug, Clone)]
enum Spec {
    Debug(Vec<u8>),
    LoginAccepted([u8; 10], u64),
    LoginRejected(u8),
    SequencedData(Vec<u8>),
    ServerHeartbeat,
    EndOfSession,
    LoginRequest([u8; 6], [u8; 10], [u8; 10], u64),
    UnsequencedData(Vec<u8>),
    ClientHeartbeat,
    LogoutRequest,
}

impl Spec {
    fn packet(&self) -> Packet<'_> {
        match self {
            Self::Debug(text) => Packet::Debug(text),
            Self::LoginAccepted(session, sequence_number) => Packet::LoginAccepted(LoginAccepted {
                session: Session::from_bytes(*session),
                sequence_number: *sequence_number,
            }),
            Self::LoginRejected(code) => Packet::LoginRejected(LoginRejectReason::from_byte(*code)),
            Self::SequencedData(message) => Packet::SequencedData(message),
            Self::ServerHeartbeat => Packet::ServerHeartbeat,
            Self::EndOfSession => Packet::EndOfSession,
            Self::LoginRequest(username, password, session, sequence) => {
                Packet::LoginRequest(LoginRequest {
                    username: Username::from_bytes(*username),
                    password: Password::from_bytes(*password),
                    requested_session: Session::from_bytes(*session),
                    requested_sequence_number: *sequence,
                })
            }
            Self::UnsequencedData(message) => Packet::UnsequencedData(message),
            Self::ClientHeartbeat => Packet::ClientHeartbeat,
            Self::LogoutRequest => Packet::LogoutRequest,
        }
    }
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..120)
}

fn spec() -> impl Strategy<Value = Spec> {
    prop_oneof![
        payload().prop_map(Spec::Debug),
        (any::<[u8; 10]>(), any::<u64>()).prop_map(|(s, n)| Spec::LoginAccepted(s, n)),
        prop_oneof![Just(b'A'), Just(b'S'), any::<u8>()].prop_map(Spec::LoginRejected),
        payload().prop_map(Spec::SequencedData),
        Just(Spec::ServerHeartbeat),
        Just(Spec::EndOfSession),
        (
            any::<[u8; 6]>(),
            any::<[u8; 10]>(),
            any::<[u8; 10]>(),
            any::<u64>()
        )
            .prop_map(|(u, p, s, n)| Spec::LoginRequest(u, p, s, n)),
        payload().prop_map(Spec::UnsequencedData),
        Just(Spec::ClientHeartbeat),
        Just(Spec::LogoutRequest),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn every_packet_round_trips(spec in spec()) {
        let packet = spec.packet();
        let bytes = encode(&packet);
        prop_assert_eq!(bytes.len(), packet.encoded_len());
        prop_assert_eq!(
            u16::from_be_bytes([bytes[0], bytes[1]]) as usize,
            packet.payload_len() + 1
        );
        prop_assert_eq!(Packet::decode(&bytes), Ok(Some((packet, bytes.len()))));
    }

    /// Several packets back to back, fed in two reads split at every byte boundary.
    #[test]
    fn streams_decode_at_every_split(specs in prop::collection::vec(spec(), 1..6)) {
        let encoded: Vec<Vec<u8>> = specs.iter().map(|spec| encode(&spec.packet())).collect();
        let stream = encoded.concat();
        for split in 0..=stream.len() {
            prop_assert_eq!(&decode_split(&stream, split), &encoded, "split at {}", split);
        }
    }

    /// Arbitrary bytes never panic the decoder, and whatever decodes re-encodes to a packet
    /// that decodes the same.
    #[test]
    fn arbitrary_bytes_are_handled(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
        if let Ok(Some((packet, consumed))) = Packet::decode(&bytes) {
            prop_assert!(consumed <= bytes.len());
            let again = encode(&packet);
            prop_assert_eq!(Packet::decode(&again), Ok(Some((packet, again.len()))));
        }
    }
}
