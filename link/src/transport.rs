//! The iceoryx2 transport of the link: shared-memory publish/subscribe services between one
//! data plane and one control plane, and the retained-ring replay that makes the audit stream
//! lossless across control-plane restarts.
//!
//! | service | payload | direction | settings |
//! |---|---|---|---|
//! | `<prefix>/audit` | [`AuditRecord`] | data → control | no history, subscriber buffer [`LinkConfig::audit_buffer`], safe overflow |
//! | `<prefix>/replay` | [`ReplayNotice`] | data → control | answers each replay request before the records |
//! | `<prefix>/stats` | [`Stats`] | data → control | history 1 (a restarted control plane gets the last one) |
//! | `<prefix>/limits` | [`LimitsSnapshot`] | control → data | history 1 (a late-joining data plane gets the newest) |
//! | `<prefix>/commands` | [`Command`] | control → data | no overflow: a full buffer refuses the newest, `send` says so |
//!
//! Delivery over iceoryx2 is not durable: a slow or absent subscriber loses samples. The audit
//! stream is made lossless end to end by three rules:
//! 1. sequence numbers are contiguous (`seq == previous + 1`), enforced by
//!    [`DataPlaneLink::publish_audit`];
//! 2. the data plane keeps the last N records in a preallocated [`DataPlaneLink`] ring;
//! 3. the control plane ([`ControlPlaneLink`]) passes on only the record it expects next,
//!    drops duplicates, and asks for a replay ([`CommandKind::ReplayAudit`]) from the last
//!    record it has on start-up and whenever it sees a gap (a record ahead of the expected
//!    one, or statistics announcing a higher sequence while nothing arrives). The data plane
//!    answers with a [`ReplayNotice`] and re-sends the retained records in order; records the
//!    ring no longer holds are reported as a gap ([`LinkEvent::AuditGap`]) and never silently
//!    skipped.
//!
//! Both processes must run as the same user (iceoryx2 0.10 creates its files 0600/0750; a
//! root publisher and an unprivileged subscriber silently do not see each other).
//!
//! Allocation: [`DataPlaneLink`] allocates its ports and the ring at construction. Per record,
//! iceoryx2 0.10's `loan_uninit` makes one 48-byte heap allocation (an `Rc` for the sample;
//! measured by the iceoryx2 probe); `send`, `receive` and dropping samples allocate nothing,
//! and nothing else here allocates per record. That is why only the data plane's link thread,
//! never its hot loop, may call into this module.
//!
//! # Driving [`DataPlaneLink`] from the data plane's link thread
//!
//! ```no_run
//! use tickwire_link::abi::{AuditRecord, Command, LimitsSnapshot};
//! use tickwire_link::transport::{DataPlaneLink, LinkConfig, LinkError};
//! # fn next_audit_record() -> Option<AuditRecord> { None }
//! # fn swap_limits(_: &LimitsSnapshot) {}
//! # fn enqueue_command(_: &Command) {}
//! # fn stop_requested() -> bool { true }
//! # fn main() -> Result<(), LinkError> {
//! // Created on the link thread itself: the ports are not `Send`.
//! let mut link = DataPlaneLink::open(&LinkConfig::default(), 1 << 20)?;
//! while !stop_requested() {
//!     // 1. Drain the engine's own audit ring (bounded per iteration).
//!     for _ in 0..4096 {
//!         let Some(record) = next_audit_record() else { break };
//!         match link.publish_audit(&record) {
//!             Ok(_) => {}
//!             // Retained in the ring: the control plane gets it through a replay.
//!             Err(LinkError::Ipc { .. }) => {}
//!             // A sequence that is not previous + 1 is an engine bug.
//!             Err(error) => return Err(error),
//!         }
//!     }
//!     // 2. Continue a replay the control plane asked for.
//!     link.pump_replay()?;
//!     // 3. The newest limits, if any; hand them to the engine (its lock-free swap).
//!     if let Some(limits) = link.poll_limits()? {
//!         swap_limits(&limits);
//!     }
//!     // 4. Commands (replay requests are handled inside); queue them for the engine, which
//!     //    acknowledges each with an audit record carrying `actor` and `id` (in `aux`).
//!     link.poll_commands(|command| enqueue_command(command))?;
//!     // 5. Once a second: link.publish_stats(&stats)?;
//!     // 6. Sleep or spin briefly when idle.
//! }
//! # Ok(()) }
//! ```

use core::fmt::Debug;
use core::time::Duration;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

use iceoryx2::port::publisher::Publisher;
use iceoryx2::port::subscriber::Subscriber;
use iceoryx2::port::update_connections::UpdateConnections;
use iceoryx2::prelude::*;
use iceoryx2::service::port_factory::publish_subscribe::PortFactory;

use crate::abi::{AuditKind, AuditRecord, Command, CommandKind, LimitsSnapshot, Stats};

/// Errors of the link transport.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// A configuration value is not usable (names the field).
    #[error("link configuration: {field}: {reason}")]
    Config {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// An iceoryx2 call failed.
    #[error("iceoryx2: {operation} failed: {detail}")]
    Ipc {
        /// What was attempted.
        operation: &'static str,
        /// iceoryx2's error.
        detail: String,
    },
    /// [`DataPlaneLink::publish_audit`] got a sequence number that is not the previous + 1.
    #[error("audit sequence not contiguous: expected {expected}, got {got}")]
    AuditSequence {
        /// previous + 1.
        expected: u64,
        /// The record's `seq`.
        got: u64,
    },
    /// The link thread of [`ControlPlaneLink`] could not be started.
    #[error("link thread: {0}")]
    Thread(#[source] std::io::Error),
    /// A lock was poisoned by a panicking thread.
    #[error("link lock poisoned")]
    Poisoned,
}

impl<T> From<PoisonError<T>> for LinkError {
    fn from(_: PoisonError<T>) -> Self {
        Self::Poisoned
    }
}

fn ipc<E: Debug>(operation: &'static str) -> impl FnOnce(E) -> LinkError {
    move |error| LinkError::Ipc {
        operation,
        detail: format!("{error:?}"),
    }
}

/// The answer to a replay request, published on `<prefix>/replay` before the records.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayNotice {
    /// The request's `after_seq`.
    pub after_seq: u64,
    /// The first record that will be re-sent; 0 when none will be.
    pub first_seq: u64,
    /// The highest sequence the data plane has published so far (0: none).
    pub last_seq: u64,
}

const _: () = assert!(size_of::<ReplayNotice>() == 24);

/// Marks a `#[repr(C)]` ABI record as transferable through iceoryx2 under a stable name.
macro_rules! wire_type {
    ($ty:ty, $name:literal) => {
        // SAFETY: the type is `#[repr(C)]`, `Copy`, made only of fixed-size integers and byte
        // arrays with explicit padding (size-asserted), holds no pointers, and both processes
        // use this one definition; the name changes whenever the layout does.
        // (`TypeName` follows from `ZeroCopySend::type_name` through iceoryx2's blanket impl.)
        unsafe impl ZeroCopySend for $ty {
            unsafe fn type_name() -> &'static str {
                $name
            }
        }
    };
}

wire_type!(AuditRecord, "tickwire.AuditRecord.v1");
wire_type!(LimitsSnapshot, "tickwire.LimitsSnapshot.v1");
wire_type!(Command, "tickwire.Command.v1");
wire_type!(Stats, "tickwire.Stats.v1");
wire_type!(ReplayNotice, "tickwire.ReplayNotice.v1");

/// Where the link's services live. Both sides must use equal values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkConfig {
    /// Service names are `<service_prefix>/audit` and so on (default `tickwire`).
    pub service_prefix: String,
    /// iceoryx2 root directory for its node and service files (default: iceoryx2's,
    /// `/tmp/iceoryx2/`). Tests give each run its own.
    pub root_path: Option<String>,
    /// Prefix of iceoryx2's files and `/dev/shm` objects (default: iceoryx2's, `iox2_`).
    pub file_prefix: Option<String>,
    /// Audit records a subscriber buffers before the oldest is overwritten (a gap, replayed).
    pub audit_buffer: usize,
    /// Most retained records re-sent per [`DataPlaneLink::pump_replay`] call.
    pub replay_batch: usize,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            service_prefix: "tickwire".to_owned(),
            root_path: None,
            file_prefix: None,
            audit_buffer: 16_384,
            replay_batch: 1_024,
        }
    }
}

impl LinkConfig {
    /// The default configuration under another service prefix.
    #[must_use]
    pub fn with_prefix(service_prefix: &str) -> Self {
        Self {
            service_prefix: service_prefix.to_owned(),
            ..Self::default()
        }
    }

    /// Checks the values.
    ///
    /// # Errors
    /// [`LinkError::Config`] naming the first bad field.
    pub fn validate(&self) -> Result<(), LinkError> {
        let bad = |field, reason: &str| {
            Err(LinkError::Config {
                field,
                reason: reason.to_owned(),
            })
        };
        if self.service_prefix.is_empty() || self.service_prefix.len() > 200 {
            return bad("service_prefix", "must be 1 to 200 characters");
        }
        if ServiceName::new(&format!("{}/audit", self.service_prefix)).is_err() {
            return bad("service_prefix", "not a valid iceoryx2 service name");
        }
        if let Some(root) = &self.root_path
            && (!root.starts_with('/') || Path::new(root.as_bytes()).is_err())
        {
            return bad("root_path", "must be an absolute path");
        }
        if let Some(prefix) = &self.file_prefix
            && (prefix.is_empty()
                || !prefix
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
                || FileName::new(prefix.as_bytes()).is_err())
        {
            return bad("file_prefix", "must be letters, digits, '_' or '-'");
        }
        if !(16..=1 << 20).contains(&self.audit_buffer) {
            return bad("audit_buffer", "must be between 16 and 1048576");
        }
        if !(1..=1 << 20).contains(&self.replay_batch) {
            return bad("replay_batch", "must be between 1 and 1048576");
        }
        Ok(())
    }

    fn iceoryx_config(&self) -> Result<Config, LinkError> {
        self.validate()?;
        // iceoryx2's defaults, not a system-wide iceoryx2 config file: both sides of the link
        // must agree, and only this struct says how.
        let mut config = Config::default();
        if let Some(root) = &self.root_path {
            let mut root = root.clone();
            if !root.ends_with('/') {
                root.push('/');
            }
            let path = Path::new(root.as_bytes()).map_err(ipc("root path"))?;
            config.global.set_root_path(&path);
        }
        if let Some(prefix) = &self.file_prefix {
            config.global.prefix = FileName::new(prefix.as_bytes()).map_err(ipc("file prefix"))?;
        }
        Ok(config)
    }

    fn service_name(&self, leaf: &str) -> Result<ServiceName, LinkError> {
        ServiceName::new(&format!("{}/{leaf}", self.service_prefix)).map_err(ipc("service name"))
    }
}

fn node<S: Service>(config: &LinkConfig, name: &str) -> Result<Node<S>, LinkError> {
    let iceoryx = config.iceoryx_config()?;
    NodeBuilder::new()
        .name(&NodeName::new(name).map_err(ipc("node name"))?)
        .config(&iceoryx)
        // The processes handle SIGTERM/SIGINT themselves and drop their ports on the way out.
        .signal_handling_mode(SignalHandlingMode::Disabled)
        .create::<S>()
        .map_err(ipc("node creation"))
}

/// The services of one link, opened with the same settings on both sides.
struct Services<S: Service> {
    audit: PortFactory<S, AuditRecord, ()>,
    replay: PortFactory<S, ReplayNotice, ()>,
    stats: PortFactory<S, Stats, ()>,
    limits: PortFactory<S, LimitsSnapshot, ()>,
    commands: PortFactory<S, Command, ()>,
}

impl<S: Service> Services<S> {
    fn open(node: &Node<S>, config: &LinkConfig) -> Result<Self, LinkError> {
        // A restarted control plane's dead ports may linger until cleaned: room for both.
        const MAX_PORTS: usize = 4;
        let audit = node
            .service_builder(&config.service_name("audit")?)
            .publish_subscribe::<AuditRecord>()
            .history_size(0)
            .subscriber_max_buffer_size(config.audit_buffer)
            .enable_safe_overflow(true)
            .max_publishers(MAX_PORTS)
            .max_subscribers(MAX_PORTS)
            .open_or_create()
            .map_err(ipc("audit service"))?;
        let replay = node
            .service_builder(&config.service_name("replay")?)
            .publish_subscribe::<ReplayNotice>()
            .history_size(0)
            .subscriber_max_buffer_size(64)
            .enable_safe_overflow(true)
            .max_publishers(MAX_PORTS)
            .max_subscribers(MAX_PORTS)
            .open_or_create()
            .map_err(ipc("replay service"))?;
        let stats = node
            .service_builder(&config.service_name("stats")?)
            .publish_subscribe::<Stats>()
            .history_size(1)
            .subscriber_max_buffer_size(4)
            .enable_safe_overflow(true)
            .max_publishers(MAX_PORTS)
            .max_subscribers(MAX_PORTS)
            .open_or_create()
            .map_err(ipc("stats service"))?;
        let limits = node
            .service_builder(&config.service_name("limits")?)
            .publish_subscribe::<LimitsSnapshot>()
            .history_size(1)
            .subscriber_max_buffer_size(8)
            .enable_safe_overflow(true)
            .max_publishers(MAX_PORTS)
            .max_subscribers(MAX_PORTS)
            .open_or_create()
            .map_err(ipc("limits service"))?;
        let commands = node
            .service_builder(&config.service_name("commands")?)
            .publish_subscribe::<Command>()
            .history_size(0)
            .subscriber_max_buffer_size(256)
            .enable_safe_overflow(false)
            .max_publishers(MAX_PORTS)
            .max_subscribers(MAX_PORTS)
            .open_or_create()
            .map_err(ipc("commands service"))?;
        Ok(Self {
            audit,
            replay,
            stats,
            limits,
            commands,
        })
    }
}

fn send_copy<S: Service, T: Debug + ZeroCopySend + Copy>(
    publisher: &Publisher<S, T, ()>,
    value: &T,
) -> Result<usize, LinkError> {
    let sample = publisher.loan_uninit().map_err(ipc("loan"))?;
    let sample = sample.write_payload(*value);
    sample.send().map_err(ipc("send"))
}

/// The last N audit records, preallocated; sequence numbers in it are contiguous.
#[derive(Debug)]
struct RetainedRing {
    slots: Box<[AuditRecord]>,
    /// Index of the oldest record.
    first: usize,
    len: usize,
}

impl RetainedRing {
    fn new(capacity: usize) -> Self {
        Self {
            slots: vec![AuditRecord::new(AuditKind::OrderIntent); capacity].into_boxed_slice(),
            first: 0,
            len: 0,
        }
    }

    fn push(&mut self, record: AuditRecord) {
        let capacity = self.slots.len();
        if capacity == 0 {
            return;
        }
        if self.len < capacity {
            self.slots[(self.first + self.len) % capacity] = record;
            self.len += 1;
        } else {
            self.slots[self.first] = record;
            self.first = (self.first + 1) % capacity;
        }
    }

    fn oldest_seq(&self) -> Option<u64> {
        (self.len > 0).then(|| self.slots[self.first].seq)
    }

    /// The retained record `seq`, if any (sequence numbers are contiguous).
    fn get(&self, seq: u64) -> Option<&AuditRecord> {
        let oldest = self.oldest_seq()?;
        let offset = usize::try_from(seq.checked_sub(oldest)?).ok()?;
        (offset < self.len).then(|| &self.slots[(self.first + offset) % self.slots.len()])
    }
}

/// What the data-plane side has done so far (cumulative).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DataPlaneLinkCounters {
    /// Audit records accepted by [`DataPlaneLink::publish_audit`].
    pub audit_records: u64,
    /// Audit records held back (not published live) because a replay was in progress.
    pub audit_deferred: u64,
    /// Replay requests received.
    pub replay_requests: u64,
    /// Records re-sent by replays.
    pub replayed_records: u64,
    /// Replay requests that asked for records the ring no longer held.
    pub replay_gaps: u64,
    /// Limits snapshots returned by [`DataPlaneLink::poll_limits`].
    pub limits_received: u64,
    /// Commands passed to the caller of [`DataPlaneLink::poll_commands`].
    pub commands_received: u64,
}

/// What a replay request turned into (returned through [`DataPlaneLink::last_replay`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayStart {
    /// The control plane has everything up to and including this sequence.
    pub after_seq: u64,
    /// The first record re-sent (0: none).
    pub first_seq: u64,
    /// Records `after_seq + 1 ..= first_seq - 1` were no longer retained (`None`: no gap).
    pub gap: Option<(u64, u64)>,
}

/// The data plane's end of the link, driven by one link thread (never the hot loop).
///
/// Not `Send` (iceoryx2 `ipc` ports): create it on the thread that uses it.
pub struct DataPlaneLink {
    audit: Publisher<ipc::Service, AuditRecord, ()>,
    replay: Publisher<ipc::Service, ReplayNotice, ()>,
    stats: Publisher<ipc::Service, Stats, ()>,
    limits: Subscriber<ipc::Service, LimitsSnapshot, ()>,
    commands: Subscriber<ipc::Service, Command, ()>,
    _services: Services<ipc::Service>,
    _node: Node<ipc::Service>,
    ring: RetainedRing,
    last_seq: u64,
    replay_next: Option<u64>,
    replay_batch: usize,
    limits_version: u64,
    last_replay: Option<ReplayStart>,
    counters: DataPlaneLinkCounters,
}

impl Debug for DataPlaneLink {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DataPlaneLink")
            .field("retained", &self.ring.len)
            .field("last_seq", &self.last_seq)
            .field("replay_next", &self.replay_next)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl DataPlaneLink {
    /// Opens (or creates) the link's services and allocates a ring of `retained` records.
    ///
    /// # Errors
    /// [`LinkError::Config`] for a bad configuration, [`LinkError::Ipc`] when iceoryx2 cannot
    /// create the node or open a service (for instance, one created with other settings).
    pub fn open(config: &LinkConfig, retained: usize) -> Result<Self, LinkError> {
        let node = node::<ipc::Service>(config, "tickwire-dataplane")?;
        let services = Services::open(&node, config)?;
        let audit = services
            .audit
            .publisher_builder()
            .create()
            .map_err(ipc("audit publisher"))?;
        let replay = services
            .replay
            .publisher_builder()
            .create()
            .map_err(ipc("replay publisher"))?;
        let stats = services
            .stats
            .publisher_builder()
            .create()
            .map_err(ipc("stats publisher"))?;
        let limits = services
            .limits
            .subscriber_builder()
            .create()
            .map_err(ipc("limits subscriber"))?;
        let commands = services
            .commands
            .subscriber_builder()
            .create()
            .map_err(ipc("commands subscriber"))?;
        Ok(Self {
            audit,
            replay,
            stats,
            limits,
            commands,
            _services: services,
            _node: node,
            ring: RetainedRing::new(retained),
            last_seq: 0,
            replay_next: None,
            replay_batch: config.replay_batch,
            limits_version: 0,
            last_replay: None,
            counters: DataPlaneLinkCounters::default(),
        })
    }

    /// Appends `record` to the retained ring and publishes it (unless a replay is in progress:
    /// then [`Self::pump_replay`] sends it in order). Returns the number of subscribers it
    /// reached now (0 with no control plane: the ring keeps it for a replay).
    ///
    /// # Errors
    /// [`LinkError::AuditSequence`] when `record.seq` is not the previous + 1 (the first
    /// record may start anywhere above 0); the record is then neither retained nor sent.
    /// [`LinkError::Ipc`] when iceoryx2 could not send it: it is retained all the same and
    /// reaches the control plane through a replay.
    pub fn publish_audit(&mut self, record: &AuditRecord) -> Result<usize, LinkError> {
        let expected = self.last_seq + 1;
        if record.seq == 0 || (self.last_seq != 0 && record.seq != expected) {
            return Err(LinkError::AuditSequence {
                expected,
                got: record.seq,
            });
        }
        self.ring.push(*record);
        self.last_seq = record.seq;
        self.counters.audit_records += 1;
        if self.replay_next.is_some() {
            self.counters.audit_deferred += 1;
            return Ok(0);
        }
        send_copy(&self.audit, record)
    }

    /// Publishes a statistics snapshot (subscribers joining later get the last one).
    ///
    /// # Errors
    /// [`LinkError::Ipc`] when iceoryx2 could not send it.
    pub fn publish_stats(&mut self, stats: &Stats) -> Result<usize, LinkError> {
        send_copy(&self.stats, stats)
    }

    /// Receives pending commands: replay requests are handled here (see [`Self::pump_replay`]);
    /// every other command is passed to `on_command`. Handles at most 256 per call.
    ///
    /// # Errors
    /// [`LinkError::Ipc`] when receiving or answering a replay request failed.
    pub fn poll_commands<F: FnMut(&Command)>(
        &mut self,
        mut on_command: F,
    ) -> Result<usize, LinkError> {
        let mut handled = 0;
        while handled < 256 {
            let Some(sample) = self.commands.receive().map_err(ipc("receive command"))? else {
                break;
            };
            let command = *sample;
            drop(sample);
            handled += 1;
            if CommandKind::from_raw(command.kind) == Some(CommandKind::ReplayAudit) {
                self.start_replay(command.after_seq)?;
            } else {
                self.counters.commands_received += 1;
                on_command(&command);
            }
        }
        Ok(handled)
    }

    fn start_replay(&mut self, after_seq: u64) -> Result<(), LinkError> {
        self.counters.replay_requests += 1;
        let wanted = after_seq.saturating_add(1);
        let (first_seq, gap) = match self.ring.oldest_seq() {
            _ if wanted > self.last_seq => (0, None),
            Some(oldest) if oldest > wanted => (oldest, Some((wanted, oldest - 1))),
            Some(_) => (wanted, None),
            None => (0, Some((wanted, self.last_seq))),
        };
        if gap.is_some() {
            self.counters.replay_gaps += 1;
        }
        self.replay_next = (first_seq != 0).then_some(first_seq);
        self.last_replay = Some(ReplayStart {
            after_seq,
            first_seq,
            gap,
        });
        let notice = ReplayNotice {
            after_seq,
            first_seq,
            last_seq: self.last_seq,
        };
        send_copy(&self.replay, &notice)?;
        self.pump_replay().map(|_| ())
    }

    /// Re-sends up to [`LinkConfig::replay_batch`] retained records of a replay in progress;
    /// call it on every iteration of the link thread. Returns the number sent.
    ///
    /// # Errors
    /// [`LinkError::Ipc`] when iceoryx2 could not send (the replay resumes on the next call).
    pub fn pump_replay(&mut self) -> Result<usize, LinkError> {
        let Some(mut next) = self.replay_next else {
            return Ok(0);
        };
        // Live records may have pushed the replay position out of the ring: say so.
        if let Some(oldest) = self.ring.oldest_seq()
            && oldest > next
        {
            self.counters.replay_gaps += 1;
            self.last_replay = Some(ReplayStart {
                after_seq: next - 1,
                first_seq: oldest,
                gap: Some((next, oldest - 1)),
            });
            let notice = ReplayNotice {
                after_seq: next - 1,
                first_seq: oldest,
                last_seq: self.last_seq,
            };
            send_copy(&self.replay, &notice)?;
            next = oldest;
        }
        let mut sent = 0;
        while sent < self.replay_batch && next <= self.last_seq {
            let Some(record) = self.ring.get(next) else {
                break;
            };
            if let Err(error) = send_copy(&self.audit, record) {
                self.replay_next = Some(next);
                return Err(error);
            }
            next += 1;
            sent += 1;
        }
        self.counters.replayed_records += sent as u64;
        self.replay_next = (next <= self.last_seq).then_some(next);
        Ok(sent)
    }

    /// The newest limits snapshot received since the last call, if it is newer than the last
    /// one returned; older or equal versions are dropped.
    ///
    /// # Errors
    /// [`LinkError::Ipc`] when receiving failed.
    pub fn poll_limits(&mut self) -> Result<Option<LimitsSnapshot>, LinkError> {
        let mut newest: Option<LimitsSnapshot> = None;
        for _ in 0..64 {
            let Some(sample) = self.limits.receive().map_err(ipc("receive limits"))? else {
                break;
            };
            let version = sample.version;
            if version > self.limits_version
                && newest.as_ref().is_none_or(|best| version > best.version)
            {
                newest = Some(*sample);
            }
        }
        if let Some(limits) = &newest {
            self.limits_version = limits.version;
            self.counters.limits_received += 1;
        }
        Ok(newest)
    }

    /// True while a replay is being re-sent (live records are then held back and follow it).
    #[must_use]
    pub fn replay_in_progress(&self) -> bool {
        self.replay_next.is_some()
    }

    /// The last replay request and whether it found a gap in the ring.
    #[must_use]
    pub fn last_replay(&self) -> Option<ReplayStart> {
        self.last_replay
    }

    /// The highest sequence accepted so far (0: none).
    #[must_use]
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Cumulative counters.
    #[must_use]
    pub fn counters(&self) -> DataPlaneLinkCounters {
        self.counters
    }
}

/// What [`ControlPlaneLink`] passes to its sink, from its own thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    /// Audit records in order: the first is the one after the last passed on (or after the
    /// `last_stored_seq` given to [`ControlPlaneLink::spawn`]), each the previous + 1, unless
    /// an [`LinkEvent::AuditGap`] came in between.
    Audit(Vec<AuditRecord>),
    /// A statistics snapshot.
    Stats(Box<Stats>),
    /// Records `first_missing ..= last_missing` are lost: the data plane no longer retains
    /// them. The stream continues after `last_missing`.
    AuditGap {
        /// First lost sequence.
        first_missing: u64,
        /// Last lost sequence.
        last_missing: u64,
    },
    /// The data plane's highest sequence is below what the control plane already has: it was
    /// restarted without resuming its sequence. Its records up to `control_plane_last` are
    /// taken as duplicates.
    SequenceBehind {
        /// The highest sequence the control plane has.
        control_plane_last: u64,
        /// The data plane's highest sequence.
        data_plane_last: u64,
    },
}

/// Counters and state of the control-plane side (cumulative).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ControlLinkStatus {
    /// The next sequence the link will pass on.
    pub next_seq: u64,
    /// Records passed on.
    pub audit_records: u64,
    /// Duplicate records dropped.
    pub duplicates: u64,
    /// Records that arrived ahead of a gap and were dropped (re-sent by a replay).
    pub ahead_dropped: u64,
    /// Replay requests sent.
    pub replay_requests: u64,
    /// Gaps reported.
    pub gaps: u64,
    /// Records lost in reported gaps.
    pub missing_records: u64,
    /// Statistics snapshots received.
    pub stats: u64,
}

#[derive(Debug, Default)]
struct StatusCells {
    next_seq: AtomicU64,
    audit_records: AtomicU64,
    duplicates: AtomicU64,
    ahead_dropped: AtomicU64,
    replay_requests: AtomicU64,
    gaps: AtomicU64,
    missing_records: AtomicU64,
    stats: AtomicU64,
}

impl StatusCells {
    fn snapshot(&self) -> ControlLinkStatus {
        let load = |cell: &AtomicU64| cell.load(Ordering::Relaxed);
        ControlLinkStatus {
            next_seq: load(&self.next_seq),
            audit_records: load(&self.audit_records),
            duplicates: load(&self.duplicates),
            ahead_dropped: load(&self.ahead_dropped),
            replay_requests: load(&self.replay_requests),
            gaps: load(&self.gaps),
            missing_records: load(&self.missing_records),
            stats: load(&self.stats),
        }
    }
}

type ThreadSafe = ipc_threadsafe::Service;

struct ControlShared {
    limits: Mutex<Publisher<ThreadSafe, LimitsSnapshot, ()>>,
    commands: Mutex<Publisher<ThreadSafe, Command, ()>>,
    stop: AtomicBool,
    status: StatusCells,
    _services: Mutex<Services<ThreadSafe>>,
    _node: Mutex<Node<ThreadSafe>>,
}

impl ControlShared {
    fn send_command(&self, command: &Command) -> Result<usize, LinkError> {
        send_copy(&*self.commands.lock()?, command)
    }
}

/// The control plane's end of the link: a thread receives audit records and statistics and
/// passes them to a sink; any thread may publish limits and send commands.
pub struct ControlPlaneLink {
    shared: Arc<ControlShared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Debug for ControlPlaneLink {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ControlPlaneLink")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

/// How long without progress before a replay request is repeated or statistics showing a
/// higher sequence count as a gap.
const STALL: Duration = Duration::from_millis(250);
/// Audit records taken from the subscriber per loop iteration (bounds the batch size).
const AUDIT_PER_ITERATION: usize = 4_096;
/// Sleep of the link thread when nothing arrived.
const IDLE_SLEEP: Duration = Duration::from_micros(500);
/// How often the limits publisher looks for new subscribers (late joiners get its history).
const CONNECTION_UPDATE: Duration = Duration::from_millis(20);

impl ControlPlaneLink {
    /// Opens the link and starts its thread. `last_stored_seq` is the highest audit sequence
    /// already stored (0: none); the thread asks the data plane for everything after it, and
    /// again after every gap. `sink` gets every event, in order, on the link thread; it may
    /// block (the subscriber buffer then fills and the overflow is replayed later).
    ///
    /// # Errors
    /// [`LinkError::Config`], [`LinkError::Ipc`] when the node, services or ports cannot be
    /// created, [`LinkError::Thread`] when the thread cannot be spawned.
    pub fn spawn<F>(config: &LinkConfig, last_stored_seq: u64, sink: F) -> Result<Self, LinkError>
    where
        F: FnMut(LinkEvent) + Send + 'static,
    {
        let node = node::<ThreadSafe>(config, "tickwire-controlplane")?;
        let services = Services::open(&node, config)?;
        let audit = services
            .audit
            .subscriber_builder()
            .create()
            .map_err(ipc("audit subscriber"))?;
        let replay = services
            .replay
            .subscriber_builder()
            .create()
            .map_err(ipc("replay subscriber"))?;
        let stats = services
            .stats
            .subscriber_builder()
            .create()
            .map_err(ipc("stats subscriber"))?;
        let limits = services
            .limits
            .publisher_builder()
            .create()
            .map_err(ipc("limits publisher"))?;
        let commands = services
            .commands
            .publisher_builder()
            .backpressure_strategy(BackpressureStrategy::DiscardData)
            .create()
            .map_err(ipc("commands publisher"))?;
        let shared = Arc::new(ControlShared {
            limits: Mutex::new(limits),
            commands: Mutex::new(commands),
            stop: AtomicBool::new(false),
            status: StatusCells::default(),
            _services: Mutex::new(services),
            _node: Mutex::new(node),
        });
        shared
            .status
            .next_seq
            .store(last_stored_seq + 1, Ordering::Relaxed);
        let receiver = Receiver {
            shared: Arc::clone(&shared),
            audit,
            replay,
            stats,
            state: RxState::new(last_stored_seq),
        };
        let thread = std::thread::Builder::new()
            .name("tickwire-link".to_owned())
            .spawn(move || receiver.run(sink))
            .map_err(LinkError::Thread)?;
        Ok(Self {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Publishes a limits snapshot; a data plane that connects later still gets the newest.
    /// Returns the number of data planes it reached now.
    ///
    /// # Errors
    /// [`LinkError::Ipc`] when iceoryx2 could not send it.
    pub fn publish_limits(&self, limits: &LimitsSnapshot) -> Result<usize, LinkError> {
        send_copy(&*self.shared.limits.lock()?, limits)
    }

    /// Sends a command; returns the number of data planes it reached (0: none connected, or
    /// its command buffer is full: the command is dropped).
    ///
    /// # Errors
    /// [`LinkError::Ipc`] when iceoryx2 could not send it.
    pub fn send_command(&self, command: &Command) -> Result<usize, LinkError> {
        self.shared.send_command(command)
    }

    /// Counters and the next expected sequence.
    #[must_use]
    pub fn status(&self) -> ControlLinkStatus {
        self.shared.status.snapshot()
    }

    /// Stops the thread after it has passed on everything already received, and waits for it
    /// (the sink is dropped then). Publishing and sending still work afterwards.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        let thread = match self.thread.lock() {
            Ok(mut thread) => thread.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(thread) = thread
            && thread.join().is_err()
        {
            tracing::error!("the link thread panicked");
        }
    }

    /// [`Self::stop`], consuming the link.
    pub fn shutdown(self) {
        self.stop();
    }
}

impl Drop for ControlPlaneLink {
    fn drop(&mut self) {
        self.stop();
    }
}

#[derive(Debug)]
struct PendingRequest {
    at: Instant,
    delivered: usize,
}

#[derive(Debug)]
struct RxState {
    next_seq: u64,
    /// The start-up request has not reached a data plane yet.
    initial: bool,
    /// Highest sequence seen ahead of `next_seq` (a gap until `next_seq` passes it).
    ahead_seq: u64,
    last_request: Option<PendingRequest>,
    last_progress: Instant,
    /// Highest `audit_seq` announced by statistics, and when.
    stats_seq: u64,
}

impl RxState {
    fn new(last_stored_seq: u64) -> Self {
        Self {
            next_seq: last_stored_seq + 1,
            initial: true,
            ahead_seq: 0,
            last_request: None,
            last_progress: Instant::now(),
            stats_seq: 0,
        }
    }

    /// Whether to send a replay request now.
    fn should_request(&self, now: Instant) -> bool {
        let stalled = now.duration_since(self.last_progress) >= STALL;
        let behind =
            self.ahead_seq >= self.next_seq || (self.stats_seq >= self.next_seq && stalled);
        if !self.initial && !behind {
            return false;
        }
        match &self.last_request {
            None => true,
            Some(request) => {
                now.duration_since(request.at) >= STALL && (request.delivered == 0 || stalled)
            }
        }
    }
}

struct Receiver {
    shared: Arc<ControlShared>,
    audit: Subscriber<ThreadSafe, AuditRecord, ()>,
    replay: Subscriber<ThreadSafe, ReplayNotice, ()>,
    stats: Subscriber<ThreadSafe, Stats, ()>,
    state: RxState,
}

impl Receiver {
    fn run<F: FnMut(LinkEvent)>(mut self, mut sink: F) {
        let mut last_connection_update = Instant::now();
        loop {
            let stopping = self.shared.stop.load(Ordering::Acquire);
            let received = match self.poll_once(&mut sink) {
                Ok(received) => received,
                Err(error) => {
                    tracing::warn!(%error, "link receive failed");
                    0
                }
            };
            if stopping {
                // One last pass has drained what was already there.
                break;
            }
            let now = Instant::now();
            if self.state.should_request(now) {
                self.request_replay(now);
            }
            if now.duration_since(last_connection_update) >= CONNECTION_UPDATE {
                last_connection_update = now;
                match self.shared.limits.lock() {
                    Ok(limits) => {
                        if let Err(error) = limits.update_connections() {
                            tracing::debug!(?error, "limits publisher connection update failed");
                        }
                    }
                    Err(_) => break,
                }
            }
            if received == 0 {
                std::thread::sleep(IDLE_SLEEP);
            }
        }
    }

    fn request_replay(&mut self, now: Instant) {
        let mut command = Command::new(CommandKind::ReplayAudit);
        command.after_seq = self.state.next_seq - 1;
        let delivered = match self.shared.send_command(&command) {
            Ok(delivered) => delivered,
            Err(error) => {
                tracing::warn!(%error, "replay request failed");
                0
            }
        };
        self.shared
            .status
            .replay_requests
            .fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            after_seq = command.after_seq,
            delivered,
            "audit replay requested"
        );
        if delivered > 0 {
            self.state.initial = false;
            // Give the replay the whole stall period to show progress.
            self.state.last_progress = now;
        }
        self.state.last_request = Some(PendingRequest { at: now, delivered });
    }

    fn poll_once<F: FnMut(LinkEvent)>(&mut self, sink: &mut F) -> Result<usize, LinkError> {
        let shared = Arc::clone(&self.shared);
        let status = &shared.status;
        let mut received = 0;
        // Notices first: a gap they announce must be known before the records after it.
        while let Some(sample) = self.replay.receive().map_err(ipc("receive notice"))? {
            received += 1;
            let notice = *sample;
            drop(sample);
            self.on_notice(&notice, sink);
        }
        let mut batch = Vec::new();
        while batch.len() < AUDIT_PER_ITERATION {
            let Some(sample) = self.audit.receive().map_err(ipc("receive audit"))? else {
                break;
            };
            received += 1;
            let seq = sample.seq;
            if seq == self.state.next_seq {
                batch.push(*sample);
                self.state.next_seq += 1;
            } else if seq < self.state.next_seq {
                status.duplicates.fetch_add(1, Ordering::Relaxed);
            } else {
                self.state.ahead_seq = self.state.ahead_seq.max(seq);
                status.ahead_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        if !batch.is_empty() {
            self.state.last_progress = Instant::now();
            status
                .audit_records
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            status
                .next_seq
                .store(self.state.next_seq, Ordering::Relaxed);
            sink(LinkEvent::Audit(batch));
        }
        while let Some(sample) = self.stats.receive().map_err(ipc("receive stats"))? {
            received += 1;
            self.state.stats_seq = sample.audit_seq;
            status.stats.fetch_add(1, Ordering::Relaxed);
            sink(LinkEvent::Stats(Box::new(*sample)));
        }
        Ok(received)
    }

    fn on_notice<F: FnMut(LinkEvent)>(&mut self, notice: &ReplayNotice, sink: &mut F) {
        let next = self.state.next_seq;
        let status = &self.shared.status;
        if notice.last_seq == 0 {
            // A data plane that has published nothing yet: nothing to replay.
            return;
        }
        // Compare with what the request said we had: the notice may be read after replayed
        // records already moved `next` on (the two services are not ordered).
        if notice.last_seq < notice.after_seq {
            tracing::error!(
                control_plane_last = notice.after_seq,
                data_plane_last = notice.last_seq,
                "data plane sequence is behind the control plane's: restarted without resuming?"
            );
            sink(LinkEvent::SequenceBehind {
                control_plane_last: notice.after_seq,
                data_plane_last: notice.last_seq,
            });
            return;
        }
        let resume = if notice.first_seq == 0 {
            notice.last_seq + 1
        } else {
            notice.first_seq
        };
        if resume > next {
            let (first_missing, last_missing) = (next, resume - 1);
            tracing::error!(
                first_missing,
                last_missing,
                "audit records lost: the data plane no longer retains them"
            );
            status.gaps.fetch_add(1, Ordering::Relaxed);
            status
                .missing_records
                .fetch_add(last_missing - first_missing + 1, Ordering::Relaxed);
            self.state.next_seq = resume;
            status.next_seq.store(resume, Ordering::Relaxed);
            self.state.last_progress = Instant::now();
            sink(LinkEvent::AuditGap {
                first_missing,
                last_missing,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u64) -> AuditRecord {
        AuditRecord {
            seq,
            ..AuditRecord::new(AuditKind::OrderIntent)
        }
    }

    #[test]
    fn ring_keeps_the_last_records_in_order() {
        let mut ring = RetainedRing::new(3);
        assert_eq!(ring.oldest_seq(), None);
        for seq in 10..=14 {
            ring.push(record(seq));
        }
        assert_eq!(ring.oldest_seq(), Some(12));
        assert_eq!(ring.get(11), None);
        assert_eq!(ring.get(12).map(|r| r.seq), Some(12));
        assert_eq!(ring.get(14).map(|r| r.seq), Some(14));
        assert_eq!(ring.get(15), None);
    }

    #[test]
    fn config_validation_names_the_field() {
        let mut config = LinkConfig::default();
        assert!(config.validate().is_ok());
        config.root_path = Some("relative".to_owned());
        assert!(matches!(
            config.validate(),
            Err(LinkError::Config {
                field: "root_path",
                ..
            })
        ));
        let config = LinkConfig {
            audit_buffer: 1,
            ..LinkConfig::default()
        };
        assert!(matches!(
            config.validate(),
            Err(LinkError::Config {
                field: "audit_buffer",
                ..
            })
        ));
    }

    #[test]
    fn requests_wait_for_a_stall_while_a_replay_progresses() {
        let mut state = RxState::new(10);
        let now = Instant::now();
        assert!(state.should_request(now), "start-up request");
        state.initial = false;
        state.last_request = Some(PendingRequest {
            at: now,
            delivered: 1,
        });
        state.last_progress = now;
        state.ahead_seq = 15;
        assert!(!state.should_request(now + Duration::from_millis(10)));
        assert!(state.should_request(now + STALL * 2));
        // Once the replay has passed what was seen ahead, there is nothing to ask for.
        state.next_seq = 16;
        assert!(!state.should_request(now + STALL * 2));
    }
}
