//! Property tests for MoldUDP64: builder → decode round trips, truncation and padding of
//! valid packets, arbitrary input, request packets, and ITCH messages carried in packets.

use proptest::prelude::*;
use tickwire_protocol::{
    itch,
    moldudp64::{self, HEADER_LEN, MoldError, PacketBuilder, Request, Session},
};

fn session() -> impl Strategy<Value = Session> {
    any::<[u8; 10]>().prop_map(Session)
}

fn messages() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..80), 0..24)
}

/// Builds a packet holding all of `messages` (the buffer is large enough).
fn build(session: Session, sequence: u64, messages: &[Vec<u8>]) -> Vec<u8> {
    let mut buf = vec![0u8; HEADER_LEN + messages.iter().map(|m| m.len() + 2).sum::<usize>()];
    let mut builder = PacketBuilder::new(&mut buf, session, sequence).expect("header fits");
    for message in messages {
        builder.push(message).expect("fits");
    }
    let len = builder.finish();
    assert_eq!(len, buf.len(), "the buffer is filled exactly");
    buf
}

proptest! {
    #[test]
    fn built_packets_decode_to_their_messages(
        session in session(),
        sequence in 0..u64::MAX - 100,
        messages in messages(),
    ) {
        let bytes = build(session, sequence, &messages);
        let packet = moldudp64::decode(&bytes)?;
        prop_assert_eq!(packet.session(), session);
        prop_assert_eq!(packet.sequence_number(), sequence);
        prop_assert_eq!(packet.len(), messages.len());
        prop_assert_eq!(packet.is_heartbeat(), messages.is_empty());
        prop_assert!(!packet.is_end_of_session());
        prop_assert_eq!(packet.next_sequence(), sequence + messages.len() as u64);
        prop_assert_eq!(packet.messages().len(), messages.len());
        let decoded: Vec<&[u8]> = packet.messages().collect();
        let expected: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        prop_assert_eq!(decoded, expected);
    }

    /// A packet cut anywhere, or with anything appended, is rejected as a whole.
    #[test]
    fn truncated_or_padded_packets_are_rejected(
        session in session(),
        sequence in 0..u64::MAX - 100,
        messages in messages(),
        extra in prop::collection::vec(any::<u8>(), 1..8),
    ) {
        let bytes = build(session, sequence, &messages);
        for cut in 0..bytes.len() {
            let error = moldudp64::decode(&bytes[..cut]).expect_err("truncated");
            let is_truncation = matches!(
                error,
                MoldError::TruncatedHeader { .. }
                    | MoldError::TruncatedBlockLength { .. }
                    | MoldError::TruncatedBlock { .. }
            );
            prop_assert!(is_truncation, "cut at {}: {:?}", cut, error);
        }
        let mut padded = bytes.clone();
        padded.extend_from_slice(&extra);
        prop_assert_eq!(
            moldudp64::decode(&padded),
            Err(MoldError::TrailingBytes {
                count: messages.len() as u16,
                offset: bytes.len(),
                len: extra.len(),
            })
        );
    }

    /// Arbitrary input never panics; whatever decodes is rebuilt byte for byte.
    #[test]
    fn arbitrary_input_decodes_or_errors(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(packet) = moldudp64::decode(&bytes) {
            prop_assert!(packet.next_sequence() >= packet.sequence_number());
            if packet.is_end_of_session() {
                prop_assert_eq!(bytes.len(), HEADER_LEN);
            } else {
                let messages: Vec<Vec<u8>> = packet.messages().map(<[u8]>::to_vec).collect();
                prop_assert_eq!(messages.len(), packet.len());
                prop_assert_eq!(build(packet.session(), packet.sequence_number(), &messages), bytes);
            }
        }
    }

    /// A small buffer fills up; what was pushed before the refusal is a valid packet.
    #[test]
    fn builder_stops_cleanly_when_full(
        session in session(),
        messages in messages(),
        capacity in HEADER_LEN..300,
    ) {
        let mut buf = vec![0u8; capacity];
        let mut builder = PacketBuilder::new(&mut buf, session, 1)?;
        let mut pushed = 0;
        for message in &messages {
            match builder.push(message) {
                Ok(()) => pushed += 1,
                Err(MoldError::BufferTooSmall { needed, available }) => {
                    prop_assert_eq!(needed, message.len() + 2);
                    prop_assert!(available < needed);
                    break;
                }
                Err(other) => prop_assert!(false, "unexpected {:?}", other),
            }
        }
        let len = builder.finish();
        let packet = moldudp64::decode(&buf[..len])?;
        prop_assert_eq!(packet.len(), pushed);
        let decoded: Vec<&[u8]> = packet.messages().collect();
        let expected: Vec<&[u8]> = messages[..pushed].iter().map(Vec::as_slice).collect();
        prop_assert_eq!(decoded, expected);
    }

    #[test]
    fn requests_round_trip(session in session(), sequence_number in any::<u64>(), message_count in any::<u16>()) {
        let request = Request { session, sequence_number, message_count };
        let mut out = [0u8; 20];
        prop_assert_eq!(request.encode(&mut out)?, 20);
        prop_assert_eq!(Request::decode(&out)?, request);
    }

    #[test]
    fn heartbeat_and_end_of_session_packets(session in session(), next in any::<u64>()) {
        let mut out = [0u8; 20];
        prop_assert_eq!(moldudp64::encode_heartbeat(&mut out, session, next)?, 20);
        let heartbeat = moldudp64::decode(&out)?;
        prop_assert!(heartbeat.is_heartbeat());
        prop_assert_eq!(heartbeat.next_sequence(), next);
        prop_assert_eq!(moldudp64::encode_end_of_session(&mut out, session, next)?, 20);
        let end = moldudp64::decode(&out)?;
        prop_assert!(end.is_end_of_session());
        prop_assert_eq!(end.next_sequence(), next);
        prop_assert_eq!(end.messages().count(), 0);
    }

    /// ITCH messages encoded straight into packet blocks come back out intact.
    #[test]
    fn carries_itch_messages(
        bodies in prop::collection::vec(
            (prop::sample::select(itch::MESSAGE_TYPES), any::<[u8; itch::MAX_MESSAGE_LEN]>()),
            0..30,
        ),
    ) {
        let messages: Vec<itch::Message> = bodies
            .iter()
            .map(|(message_type, body)| {
                let mut bytes = *body;
                bytes[0] = *message_type;
                let len = itch::message_len(*message_type).expect("known type");
                itch::decode(&bytes[..len]).expect("any bytes of the right length decode")
            })
            .collect();
        let mut buf = [0u8; 1500];
        let mut builder = PacketBuilder::new(&mut buf, Session::new("ITCH")?, 10)?;
        let mut sent = Vec::new();
        for message in &messages {
            match builder.push_with(message.encoded_len(), |body| message.encode(body)) {
                Ok(encoded) => {
                    prop_assert_eq!(encoded?, message.encoded_len());
                    sent.push(*message);
                }
                Err(MoldError::BufferTooSmall { .. }) => break,
                Err(other) => prop_assert!(false, "unexpected {:?}", other),
            }
        }
        let len = builder.finish();
        let packet = moldudp64::decode(&buf[..len])?;
        let received = packet
            .messages()
            .map(itch::decode)
            .collect::<Result<Vec<_>, _>>()?;
        prop_assert_eq!(received, sent);
    }
}
