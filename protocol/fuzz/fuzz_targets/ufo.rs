//! UFO: any datagram that decodes re-encodes to exactly the same bytes; the direction-checked
//! decoders agree with the plain one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tickwire_protocol::ufo::{Direction, Packet};

fuzz_target!(|data: &[u8]| {
    let decoded = Packet::decode(data);
    let from_client = Packet::decode_from_client(data);
    let from_server = Packet::decode_from_server(data);
    if let Ok(packet) = decoded {
        let mut out = vec![0u8; packet.encoded_len()];
        let len = packet.encode(&mut out).expect("decoded packets encode");
        assert_eq!(len, data.len());
        assert_eq!(out.as_slice(), data);
        if let Packet::ClientData(body) | Packet::SequencedData(body) = packet {
            assert_eq!(body.messages().count(), usize::from(body.count()));
            assert!(body.messages().all(|message| !message.is_empty()));
        }
        match packet.packet_type().direction() {
            Direction::ClientToServer => {
                assert_eq!(from_client, Ok(packet));
                assert!(from_server.is_err());
            }
            Direction::ServerToClient => {
                assert_eq!(from_server, Ok(packet));
                assert!(from_client.is_err());
            }
        }
    } else {
        assert!(from_client.is_err() && from_server.is_err());
    }
});
