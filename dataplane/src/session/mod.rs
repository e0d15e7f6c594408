//! Order-entry sessions with the venue (client side).
//!
//! - [`ufo`]: OUCH over UFO (UDP), through the packet I/O backend — the kernel-bypass path.

pub mod ufo;
