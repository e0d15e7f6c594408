//! UFO (tickwire layout): byte vectors from `protocol/README.md`, strict-validation error
//! paths, and property round trips for every packet type.

use proptest::prelude::*;
use tickwire_protocol::ouch::{CancelOrder, InboundMessage, Token};
use tickwire_protocol::ufo::{
    DATA_HEADER_LEN, DataKind, DataPacketWriter, HEADER_LEN, LoginRejectReason, LoginRejected,
    LoginRequest, Packet, PacketType, Password, Position, RetransmissionRequest, ServerStatus,
    Session, UfoError, Username,
};

fn session() -> Session {
    Session::from_text(b"TW0001").expect("valid session")
}

fn encode(packet: &Packet<'_>) -> Vec<u8> {
    let mut out = vec![0u8; packet.encoded_len()];
    let len = packet.encode(&mut out).expect("encodable packet");
    assert_eq!(len, out.len());
    out
}

/// Builds a data packet from messages with the writer.
fn build(kind: DataKind, session: &Session, sequence: u64, messages: &[Vec<u8>]) -> Vec<u8> {
    let size = DATA_HEADER_LEN + messages.iter().map(|m| 2 + m.len()).sum::<usize>();
    let mut buf = vec![0u8; size];
    let mut writer = DataPacketWriter::new(&mut buf, kind, session, sequence).expect("header");
    for message in messages {
        writer.push(message).expect("message fits");
    }
    let len = writer.finish().expect("at least one message");
    assert_eq!(len, size);
    buf
}

// ----------------------------------------------------------------------------------------------
// Byte vectors from the README tables.

#[test]
fn client_data_matches_layout() {
    let cancel = CancelOrder {
        token: Token::from_text(b"ORD1").unwrap(),
        shares: 0,
    };
    let mut frame = [0u8; 64];
    let mut writer = DataPacketWriter::new(&mut frame, DataKind::Client, &session(), 5).unwrap();
    cancel
        .encode(writer.reserve(CancelOrder::LEN).unwrap())
        .unwrap();
    let len = writer.finish().unwrap();
    let expected = [
        b"U".as_slice(),            // 0: type
        b"    TW0001",              // 1: session
        &[0, 0, 0, 0, 0, 0, 0, 5],  // 11: client sequence number of the first message
        &[0, 1],                    // 19: count
        &[0, 19],                   // 21: block length
        b"XORD1          \0\0\0\0", // 23: the OUCH Cancel Order
    ]
    .concat();
    assert_eq!(&frame[..len], expected.as_slice());

    let packet = Packet::decode_from_client(&expected).unwrap();
    let Packet::ClientData(data) = packet else {
        panic!("expected Client Data, got {packet:?}");
    };
    assert_eq!(data.session, session());
    assert_eq!((data.sequence_number, data.count()), (5, 1));
    assert_eq!(data.last_sequence_number(), 5);
    let messages: Vec<&[u8]> = data.messages().collect();
    assert_eq!(messages.len(), 1);
    assert_eq!(
        InboundMessage::decode(messages[0]),
        Ok(InboundMessage::CancelOrder(cancel))
    );
    assert_eq!(encode(&packet), expected);
}

#[test]
fn fixed_packets_match_layout() {
    let cases: Vec<(Vec<u8>, Packet<'static>)> = vec![
        (
            [
                b"L".as_slice(),
                b"          ",
                &[0; 8],
                b"TWUSR1",
                b"secret    ",
            ]
            .concat(),
            Packet::LoginRequest(LoginRequest {
                requested_session: Session::BLANK,
                requested_sequence_number: 0,
                username: Username::from_text(b"TWUSR1").unwrap(),
                password: Password::from_text(b"secret").unwrap(),
            }),
        ),
        (
            [
                b"A".as_slice(),
                b"    TW0001",
                &[0, 0, 0, 0, 0, 0, 0, 1],
                &[0, 0, 0, 0, 0, 0, 0, 9],
            ]
            .concat(),
            Packet::LoginAccepted(ServerStatus {
                session: session(),
                next_sequence_number: 1,
                next_client_sequence_number: 9,
            }),
        ),
        (
            [b"J".as_slice(), b"    TW0001", &[0; 8], b"S"].concat(),
            Packet::LoginRejected(LoginRejected {
                session: session(),
                reason: LoginRejectReason::SessionNotAvailable,
            }),
        ),
        (
            [
                b"Q".as_slice(),
                b"    TW0001",
                &[0, 0, 0, 0, 0, 0, 1, 0],
                &[0, 3],
            ]
            .concat(),
            Packet::RetransmissionRequest(RetransmissionRequest {
                session: session(),
                sequence_number: 256,
                count: 3,
            }),
        ),
        (
            [
                b"H".as_slice(),
                b"    TW0001",
                &[0, 0, 0, 0, 0, 0, 0, 7],
                &[0, 0, 0, 0, 0, 0, 0, 2],
            ]
            .concat(),
            Packet::ServerHeartbeat(ServerStatus {
                session: session(),
                next_sequence_number: 7,
                next_client_sequence_number: 2,
            }),
        ),
        (
            [b"R".as_slice(), b"    TW0001", &[0, 0, 0, 0, 0, 0, 0, 7]].concat(),
            Packet::ClientHeartbeat(Position {
                session: session(),
                next_sequence_number: 7,
            }),
        ),
        (
            [b"O".as_slice(), b"    TW0001", &[0, 0, 0, 0, 0, 0, 0, 7]].concat(),
            Packet::LogoutRequest(Position {
                session: session(),
                next_sequence_number: 7,
            }),
        ),
        (
            [b"Z".as_slice(), b"    TW0001", &[0, 0, 0, 0, 0, 0, 0, 8]].concat(),
            Packet::EndOfSession(Position {
                session: session(),
                next_sequence_number: 8,
            }),
        ),
    ];
    for (bytes, packet) in cases {
        assert_eq!(Some(bytes.len()), packet.packet_type().fixed_len());
        assert_eq!(Packet::decode(&bytes), Ok(packet));
        assert_eq!(encode(&packet), bytes);
    }
}

// ----------------------------------------------------------------------------------------------
// Strict validation.

fn data(body: &[u8]) -> Vec<u8> {
    [
        b"S".as_slice(),
        b"    TW0001",
        &[0, 0, 0, 0, 0, 0, 0, 1],
        body,
    ]
    .concat()
}

#[test]
fn header_errors() {
    assert_eq!(
        Packet::decode(b"H    TW0001"),
        Err(UfoError::Truncated { len: 11 })
    );
    let mut bytes = data(&[0, 1, 0, 1, b'x']);
    bytes[0] = b'x';
    assert_eq!(
        Packet::decode(&bytes),
        Err(UfoError::UnknownType { packet_type: b'x' })
    );
    let mut bytes = data(&[0, 1, 0, 1, b'x']);
    bytes[3] = 0x7F;
    assert_eq!(
        Packet::decode(&bytes),
        Err(UfoError::InvalidAlpha {
            packet_type: PacketType::SequencedData,
            offset: 3,
            byte: 0x7F
        })
    );
    let heartbeat = [b"H".as_slice(), b"    TW0001", &[0, 0, 0, 0, 0, 0, 0, 7]].concat();
    assert_eq!(
        Packet::decode(&heartbeat),
        Err(UfoError::WrongLength {
            packet_type: PacketType::ServerHeartbeat,
            expected: 27,
            actual: 19
        })
    );
    let login = [
        b"L".as_slice(),
        b"          ",
        &[0; 8],
        b"TWUSR\x01secret    ",
    ]
    .concat();
    assert_eq!(
        Packet::decode(&login),
        Err(UfoError::InvalidAlpha {
            packet_type: PacketType::LoginRequest,
            offset: 24,
            byte: 1
        })
    );
}

#[test]
fn direction_is_enforced() {
    let bytes = data(&[0, 1, 0, 1, b'x']);
    assert!(Packet::decode_from_server(&bytes).is_ok());
    assert_eq!(
        Packet::decode_from_client(&bytes),
        Err(UfoError::WrongDirection {
            packet_type: PacketType::SequencedData
        })
    );
    let heartbeat = [b"R".as_slice(), b"    TW0001", &[0, 0, 0, 0, 0, 0, 0, 7]].concat();
    assert!(Packet::decode_from_client(&heartbeat).is_ok());
    assert_eq!(
        Packet::decode_from_server(&heartbeat),
        Err(UfoError::WrongDirection {
            packet_type: PacketType::ClientHeartbeat
        })
    );
}

#[test]
fn data_block_errors() {
    let packet_type = PacketType::SequencedData;
    assert_eq!(
        Packet::decode(&data(&[])),
        Err(UfoError::BlockOverrun {
            packet_type,
            offset: 19,
            needed: 2,
            available: 0
        })
    );
    assert_eq!(
        Packet::decode(&data(&[0, 0])),
        Err(UfoError::ZeroCount { packet_type })
    );
    assert_eq!(
        Packet::decode(&data(&[0, 1, 0, 0])),
        Err(UfoError::EmptyMessage {
            packet_type,
            offset: 21
        })
    );
    assert_eq!(
        Packet::decode(&data(&[0, 2, 0, 1, b'a', 0, 3, b'b'])),
        Err(UfoError::BlockOverrun {
            packet_type,
            offset: 24,
            needed: 5,
            available: 3
        })
    );
    assert_eq!(
        Packet::decode(&data(&[0, 2, 0, 1, b'a', 0])),
        Err(UfoError::BlockOverrun {
            packet_type,
            offset: 24,
            needed: 2,
            available: 1
        })
    );
    assert_eq!(
        Packet::decode(&data(&[0, 1, 0, 1, b'a', 9, 9])),
        Err(UfoError::TrailingBytes {
            packet_type,
            offset: 24,
            extra: 2
        })
    );
    let mut zero = data(&[0, 1, 0, 1, b'a']);
    zero[18] = 0;
    assert_eq!(
        Packet::decode(&zero),
        Err(UfoError::ZeroSequenceNumber {
            packet_type,
            offset: 11
        })
    );
    let overflow = [
        b"U".as_slice(),
        b"    TW0001",
        &u64::MAX.to_be_bytes(),
        &[0, 2, 0, 1, b'a', 0, 1, b'b'],
    ]
    .concat();
    assert_eq!(
        Packet::decode(&overflow),
        Err(UfoError::SequenceOverflow {
            packet_type: PacketType::ClientData
        })
    );
    let text = UfoError::EmptyMessage {
        packet_type,
        offset: 21,
    }
    .to_string();
    assert!(
        text.contains("Sequenced Data ('S')") && text.contains("offset 21"),
        "{text}"
    );
}

#[test]
fn control_packet_errors() {
    let rejected = [b"J".as_slice(), b"    TW0001", &[0; 8], b"Q"].concat();
    assert_eq!(
        Packet::decode(&rejected),
        Err(UfoError::InvalidRejectReason { byte: b'Q' })
    );
    let rejected = [
        b"J".as_slice(),
        b"    TW0001",
        &[0, 0, 0, 0, 0, 0, 0, 1],
        b"A",
    ]
    .concat();
    assert_eq!(
        Packet::decode(&rejected),
        Err(UfoError::NonZeroSequenceNumber {
            packet_type: PacketType::LoginRejected,
            offset: 11
        })
    );
    let accepted = [
        b"A".as_slice(),
        b"    TW0001",
        &[0, 0, 0, 0, 0, 0, 0, 1],
        &[0; 8],
    ]
    .concat();
    assert_eq!(
        Packet::decode(&accepted),
        Err(UfoError::ZeroSequenceNumber {
            packet_type: PacketType::LoginAccepted,
            offset: 19
        })
    );
    let request = [
        b"Q".as_slice(),
        b"    TW0001",
        &[0, 0, 0, 0, 0, 0, 0, 1],
        &[0, 0],
    ]
    .concat();
    assert_eq!(
        Packet::decode(&request),
        Err(UfoError::ZeroCount {
            packet_type: PacketType::RetransmissionRequest
        })
    );
    let end = [b"Z".as_slice(), b"    TW0001", &[0; 8]].concat();
    assert_eq!(
        Packet::decode(&end),
        Err(UfoError::ZeroSequenceNumber {
            packet_type: PacketType::EndOfSession,
            offset: 11
        })
    );
}

#[test]
fn writer_errors() {
    let mut tiny = [0u8; 20];
    assert_eq!(
        DataPacketWriter::new(&mut tiny, DataKind::Sequenced, &session(), 1).map(|_| ()),
        Err(UfoError::BufferTooSmall {
            packet_type: PacketType::SequencedData,
            needed: 21,
            available: 20
        })
    );
    let mut buf = [0u8; 30];
    assert_eq!(
        DataPacketWriter::new(&mut buf, DataKind::Client, &session(), 0).map(|_| ()),
        Err(UfoError::ZeroSequenceNumber {
            packet_type: PacketType::ClientData,
            offset: 11
        })
    );
    let writer = DataPacketWriter::new(&mut buf, DataKind::Client, &session(), 1).unwrap();
    assert_eq!(
        writer.finish(),
        Err(UfoError::ZeroCount {
            packet_type: PacketType::ClientData
        })
    );
    let mut writer = DataPacketWriter::new(&mut buf, DataKind::Client, &session(), 1).unwrap();
    assert!(writer.push(b"1234567").is_ok());
    assert_eq!(
        writer.push(b"x"),
        Err(UfoError::BufferTooSmall {
            packet_type: PacketType::ClientData,
            needed: 33,
            available: 30
        })
    );
    assert!(matches!(
        writer.push(b""),
        Err(UfoError::EmptyMessage { .. })
    ));
    assert_eq!(writer.count(), 1);
    assert_eq!(writer.finish(), Ok(30));
    let mut buf = [0u8; 40];
    let mut writer =
        DataPacketWriter::new(&mut buf, DataKind::Sequenced, &session(), u64::MAX).unwrap();
    assert!(writer.push(b"a").is_ok());
    assert_eq!(
        writer.push(b"b"),
        Err(UfoError::SequenceOverflow {
            packet_type: PacketType::SequencedData
        })
    );
    assert_eq!(HEADER_LEN, 19);
}

// ----------------------------------------------------------------------------------------------
// Properties.

fn alpha<const N: usize>() -> impl Strategy<Value = [u8; N]> {
    prop::array::uniform(0x20u8..=0x7E)
}

fn any_session() -> impl Strategy<Value = Session> {
    alpha::<10>().prop_map(Session::from_bytes)
}

fn messages() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 1..90), 1..12)
}

fn fixed_packet() -> impl Strategy<Value = Packet<'static>> {
    prop_oneof![
        (any_session(), any::<u64>(), alpha::<6>(), alpha::<10>()).prop_map(|(s, n, u, p)| {
            Packet::LoginRequest(LoginRequest {
                requested_session: s,
                requested_sequence_number: n,
                username: Username::from_bytes(u),
                password: Password::from_bytes(p),
            })
        }),
        (any_session(), 1u64.., 1u16..).prop_filter_map("range fits u64", |(s, n, c)| {
            n.checked_add(u64::from(c) - 1)?;
            Some(Packet::RetransmissionRequest(RetransmissionRequest {
                session: s,
                sequence_number: n,
                count: c,
            }))
        }),
        (any_session(), 1u64..).prop_map(|(session, n)| Packet::ClientHeartbeat(Position {
            session,
            next_sequence_number: n
        })),
        (any_session(), 1u64..).prop_map(|(session, n)| Packet::LogoutRequest(Position {
            session,
            next_sequence_number: n
        })),
        (any_session(), 1u64..).prop_map(|(session, n)| Packet::EndOfSession(Position {
            session,
            next_sequence_number: n
        })),
        (any_session(), 1u64.., 1u64..).prop_map(|(session, n, c)| {
            Packet::LoginAccepted(ServerStatus {
                session,
                next_sequence_number: n,
                next_client_sequence_number: c,
            })
        }),
        (any_session(), 1u64.., 1u64..).prop_map(|(session, n, c)| {
            Packet::ServerHeartbeat(ServerStatus {
                session,
                next_sequence_number: n,
                next_client_sequence_number: c,
            })
        }),
        (
            any_session(),
            prop_oneof![
                Just(LoginRejectReason::NotAuthorized),
                Just(LoginRejectReason::SessionNotAvailable)
            ]
        )
            .prop_map(|(session, reason)| Packet::LoginRejected(LoginRejected { session, reason })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn data_packets_round_trip(
        session in any_session(),
        sequence in 1u64..u64::MAX / 2,
        client in any::<bool>(),
        messages in messages(),
    ) {
        let kind = if client { DataKind::Client } else { DataKind::Sequenced };
        let bytes = build(kind, &session, sequence, &messages);
        let packet = Packet::decode(&bytes).unwrap();
        let (Packet::ClientData(data) | Packet::SequencedData(data)) = packet else {
            panic!("expected a data packet, got {packet:?}");
        };
        prop_assert_eq!(packet.packet_type() == PacketType::ClientData, client);
        prop_assert_eq!(data.session, session);
        prop_assert_eq!(data.sequence_number, sequence);
        prop_assert_eq!(usize::from(data.count()), messages.len());
        prop_assert_eq!(data.messages().len(), messages.len());
        let decoded: Vec<&[u8]> = data.messages().collect();
        let expected: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        prop_assert_eq!(decoded, expected);
        prop_assert_eq!(encode(&packet), bytes);
    }

    #[test]
    fn fixed_packets_round_trip(packet in fixed_packet()) {
        let bytes = encode(&packet);
        prop_assert_eq!(Some(bytes.len()), packet.packet_type().fixed_len());
        prop_assert_eq!(Packet::decode(&bytes), Ok(packet));
    }

    /// Whatever decodes re-encodes to exactly the same bytes; nothing panics.
    #[test]
    fn arbitrary_datagrams(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(packet) = Packet::decode(&bytes) {
            prop_assert_eq!(encode(&packet), bytes);
        }
    }

    /// Truncating a valid data packet anywhere is an error, never a shorter packet.
    #[test]
    fn truncated_data_packets_fail(messages in messages(), cut in any::<prop::sample::Index>()) {
        let bytes = build(DataKind::Sequenced, &session(), 1, &messages);
        let cut = cut.index(bytes.len());
        prop_assert!(Packet::decode(&bytes[..cut]).is_err());
    }
}
