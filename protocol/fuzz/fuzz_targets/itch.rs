//! Fuzzes the ITCH 5.0 decoder and the BinaryFILE reader: arbitrary bytes never panic, the
//! reader ends with contiguous frames and at most one (final) error, every framed message
//! decodes, and whatever decodes re-encodes to the same bytes and decodes back equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tickwire_protocol::itch::{self, BinaryFileReader, MAX_MESSAGE_LEN};

/// If `bytes` is one message, checks the encode/decode round trip and the JSON writer.
fn check_message(bytes: &[u8]) -> bool {
    let Ok(message) = itch::decode(bytes) else {
        return false;
    };
    let mut out = [0u8; MAX_MESSAGE_LEN];
    let written = message.encode(&mut out).expect("a decoded message encodes");
    assert_eq!(&out[..written], bytes, "encode(decode(m)) == m");
    assert_eq!(itch::decode(&out[..written]), Ok(message));
    assert_eq!(written, message.encoded_len());
    let mut json = String::new();
    message.write_json(&mut json);
    assert!(json.starts_with("{\"type\":\"") && json.ends_with('}'));
    assert!(
        json.bytes().all(|byte| (b' '..=b'~').contains(&byte)),
        "{json}"
    );
    true
}

fuzz_target!(|data: &[u8]| {
    check_message(data);

    let mut next_offset = 0;
    let mut failed = false;
    for item in BinaryFileReader::new(data) {
        assert!(!failed, "nothing after an error");
        match item {
            Ok((offset, message)) => {
                assert_eq!(offset, next_offset);
                assert!(check_message(message), "framed messages decode");
                next_offset = offset + 2 + message.len();
            }
            Err(error) => {
                assert_eq!(error.offset(), next_offset);
                failed = true;
            }
        }
    }
    if !failed {
        assert_eq!(next_offset, data.len());
    }
});
