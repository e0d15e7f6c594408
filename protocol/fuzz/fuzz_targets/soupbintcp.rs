//! SoupBinTCP: decode the input as a stream; every packet re-encodes to a packet that decodes
//! the same (and to the same bytes unless a sequence number was zero padded); decoding the
//! stream in two reads, split where the first byte says, gives the same packets.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tickwire_protocol::soupbintcp::{Packet, PacketType};

/// Decodes packets from the start of `stream` until more bytes are needed or an error;
/// returns the re-encoded packets and the bytes consumed.
fn drain(stream: &[u8], out: &mut Vec<Vec<u8>>) -> Result<usize, ()> {
    let mut offset = 0;
    loop {
        match Packet::decode(&stream[offset..]) {
            Ok(Some((packet, consumed))) => {
                assert!(consumed >= 3 && consumed <= stream.len() - offset);
                let original = &stream[offset..offset + consumed];
                let mut encoded = vec![0u8; packet.encoded_len()];
                let len = packet.encode(&mut encoded).expect("decoded packets encode");
                assert_eq!(len, consumed);
                assert_eq!(Packet::decode(&encoded), Ok(Some((packet, len))));
                let numeric = matches!(
                    packet.packet_type(),
                    PacketType::LoginAccepted | PacketType::LoginRequest
                );
                if !numeric {
                    assert_eq!(encoded.as_slice(), original);
                }
                out.push(encoded);
                offset += consumed;
            }
            Ok(None) => return Ok(offset),
            Err(_) => return Err(()),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut whole = Vec::new();
    let whole_result = drain(data, &mut whole);

    // Feed the same bytes in two reads.
    let split = data.first().map_or(0, |&b| usize::from(b) % (data.len() + 1));
    let mut buffer = data[..split].to_vec();
    let mut parts = Vec::new();
    let mut result = drain(&buffer, &mut parts);
    if let Ok(consumed) = result {
        buffer.drain(..consumed);
        buffer.extend_from_slice(&data[split..]);
        result = drain(&buffer, &mut parts).map(|more| consumed + more);
    }
    match (whole_result, result) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b);
            assert_eq!(whole, parts);
        }
        (Err(()), Err(())) => {}
        // Both feeds see the same bytes in the end, so they must agree on errors too.
        (whole_result, split_result) => {
            panic!("whole stream {whole_result:?} but split feed {split_result:?}")
        }
    }
});
