//! What crosses between the engine thread and the link thread (same process): bounded,
//! preallocated single-producer/single-consumer rings, so neither side ever blocks or
//! allocates.
//!
//! | ring | direction | content |
//! |---|---|---|
//! | audit | engine → link | every audit record, in sequence order |
//! | stats | engine → link | one [`Stats`] record per interval |
//! | control | link → engine | limits snapshots and commands from the control plane |

use tickwire_link::abi::{AuditRecord, Command, LimitsSnapshot, Stats};

/// A message for the engine from the control plane.
#[derive(Debug, Clone, Copy)]
#[expect(
    clippy::large_enum_variant,
    reason = "copied into a preallocated ring; a Box would make the engine free memory in its loop"
)]
pub enum ControlMessage {
    /// A new limits snapshot (applied when its version is newer).
    Limits(LimitsSnapshot),
    /// A command (kill, unkill, strategy enable/disable/parameters).
    Command(Command),
}

/// The link thread's ends of the engine's rings.
#[derive(Debug)]
pub struct EngineHandles {
    /// Audit records to publish, in sequence order.
    pub audit: rtrb::Consumer<AuditRecord>,
    /// Statistics to publish.
    pub stats: rtrb::Consumer<Stats>,
    /// Limits and commands for the engine.
    pub control: rtrb::Producer<ControlMessage>,
}
