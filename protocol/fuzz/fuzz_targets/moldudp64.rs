//! Fuzzes MoldUDP64: arbitrary bytes never panic; a packet that decodes iterates exactly its
//! message count and is rebuilt byte for byte by `PacketBuilder`; a 20-byte request decodes
//! and re-encodes to itself. Message bodies are also fed to the ITCH decoder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tickwire_protocol::{
    itch,
    moldudp64::{self, PacketBuilder, Request},
};

fuzz_target!(|data: &[u8]| {
    if let Ok(packet) = moldudp64::decode(data) {
        let messages: Vec<&[u8]> = packet.messages().collect();
        assert_eq!(messages.len(), packet.len());
        assert_eq!(
            packet.next_sequence(),
            packet.sequence_number() + messages.len() as u64
        );
        if packet.is_end_of_session() {
            assert_eq!(data.len(), moldudp64::HEADER_LEN);
        } else {
            let mut buf = vec![0u8; data.len()];
            let mut builder =
                PacketBuilder::new(&mut buf, packet.session(), packet.sequence_number())
                    .expect("the header fits");
            for message in &messages {
                builder.push(message).expect("the same packet fits");
            }
            let len = builder.finish();
            assert_eq!(&buf[..len], data, "rebuilt packet differs");
        }
        for message in messages {
            if let Ok(decoded) = itch::decode(message) {
                let mut out = [0u8; itch::MAX_MESSAGE_LEN];
                let written = decoded.encode(&mut out).expect("encodes");
                assert_eq!(&out[..written], message);
            }
        }
    }

    match Request::decode(data) {
        Ok(request) => {
            let mut out = [0u8; moldudp64::REQUEST_LEN];
            assert_eq!(request.encode(&mut out), Ok(moldudp64::REQUEST_LEN));
            assert_eq!(&out[..], data);
        }
        Err(_) => assert_ne!(data.len(), moldudp64::REQUEST_LEN),
    }
});
