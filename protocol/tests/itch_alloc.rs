//! Framing, decoding and re-encoding all 12,012 sample messages allocates nothing.

mod support;

use std::hint::black_box;

use tickwire_protocol::itch::{self, BinaryFileReader};

#[global_allocator]
static ALLOCATOR: support::CountingAllocator = support::CountingAllocator;

#[test]
fn decoding_the_sample_allocates_nothing() {
    let file = support::read_sample("itch/ex20101224.TEST_ITCH_50.gz");
    let mut out = [0u8; itch::MAX_MESSAGE_LEN];
    let mut messages = 0usize;
    let mut errors = 0usize;
    let mut checksum = 0u64;

    let before = support::allocations();
    for item in BinaryFileReader::new(black_box(&file)) {
        let Ok((_, bytes)) = item else {
            errors += 1;
            continue;
        };
        match itch::decode(black_box(bytes)) {
            Ok(message) => {
                checksum = checksum.wrapping_add(message.timestamp());
                let written = message.encode(&mut out).unwrap_or(0);
                checksum = checksum.wrapping_add(black_box(&out[..written]).len() as u64);
                messages += 1;
            }
            Err(_) => errors += 1,
        }
    }
    let allocated = support::allocations() - before;

    assert_eq!(allocated, 0, "allocations while decoding the sample");
    assert_eq!((messages, errors), (12_012, 0));
    assert_ne!(black_box(checksum), 0);
}
