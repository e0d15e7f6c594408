//! OUCH 4.2: any input that decodes (as either direction) re-encodes to exactly the input,
//! and decodes again to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tickwire_protocol::ouch::{InboundMessage, MAX_MESSAGE_LEN, OutboundMessage};

fuzz_target!(|data: &[u8]| {
    let mut buf = [0u8; MAX_MESSAGE_LEN];
    if let Ok(message) = InboundMessage::decode(data) {
        let len = message.encode(&mut buf).expect("every message fits MAX_MESSAGE_LEN");
        assert_eq!(len, message.encoded_len());
        assert_eq!(&buf[..len], data);
        assert_eq!(InboundMessage::decode(&buf[..len]), Ok(message));
    }
    if let Ok(message) = OutboundMessage::decode(data) {
        let len = message.encode(&mut buf).expect("every message fits MAX_MESSAGE_LEN");
        assert_eq!(len, message.encoded_len());
        assert_eq!(&buf[..len], data);
        assert_eq!(OutboundMessage::decode(&buf[..len]), Ok(message));
    }
});
