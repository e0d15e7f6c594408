//! Shared helpers for the protocol integration tests.
//!
//! [`CountingAllocator`] counts allocations made by the current thread, so a test can
//! assert that a decode loop allocates nothing after warm-up:
//!
//! ```ignore
//! mod support;
//! #[global_allocator]
//! static ALLOCATOR: support::CountingAllocator = support::CountingAllocator;
//! let before = support::allocations();
//! /* decode ... */
//! assert_eq!(support::allocations() - before, 0);
//! ```
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
    path::PathBuf,
};

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// Wraps the system allocator and counts `alloc`/`realloc` calls per thread.
pub struct CountingAllocator;

// SAFETY: delegates every call to `System` unchanged; only a thread-local counter is added.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations made by this thread so far.
pub fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// `../shared/data/<relative>` next to the repository checkout.
pub fn sample_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(relative)
}

/// The gunzipped contents of a sample file.
///
/// # Panics
/// If the file is missing or not gzip: the sample data is part of the test environment.
pub fn read_sample(relative: &str) -> Vec<u8> {
    use std::io::Read as _;
    let path = sample_path(relative);
    let file = std::fs::File::open(&path)
        .unwrap_or_else(|error| panic!("opening {}: {error}", path.display()));
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut bytes)
        .unwrap_or_else(|error| panic!("gunzipping {}: {error}", path.display()));
    bytes
}
