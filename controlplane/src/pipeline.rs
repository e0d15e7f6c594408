//! From the link to the storage: the link thread hands audit batches to the writer task,
//! which inserts them in batched transactions, and keeps the latest statistics for the API.
//!
//! Nothing is dropped here: the channel to the writer is bounded, so a slow database blocks
//! the link thread, whose subscriber buffer then overflows; the link sees the gap and the data
//! plane replays from its retained ring. A failed insert is retried until it succeeds or the
//! process stops (the records are then replayed on the next start).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tickwire_link::abi::{AuditKind, AuditRecord, Stats};
use tickwire_link::transport::LinkEvent;
use tokio::sync::{mpsc, oneshot};

use crate::storage::Storage;

/// Latest state seen from the data plane, shared by the link thread and the API.
#[derive(Debug, Default)]
pub struct LiveState {
    inner: RwLock<LiveInner>,
    /// Highest sequence committed to the storage.
    pub stored_seq: AtomicU64,
    /// Rows inserted (duplicates excluded).
    pub stored_rows: AtomicU64,
    /// Insert transactions committed.
    pub batches: AtomicU64,
    /// Insert attempts that failed (retried).
    pub storage_errors: AtomicU64,
    /// Sum of insert transaction durations, ns.
    pub batch_ns: AtomicU64,
    /// Gaps reported by the link (records lost because the data plane no longer had them).
    pub gaps: AtomicU64,
    /// Records in those gaps.
    pub missing_records: AtomicU64,
}

/// The part of [`LiveState`] behind its lock.
#[derive(Debug, Default, Clone)]
pub struct LiveInner {
    /// Latest statistics.
    pub stats: Option<Box<Stats>>,
    /// When they arrived.
    pub stats_at: Option<Instant>,
    /// Kill switch according to the newest kill-switch audit record.
    pub kill_from_audit: Option<bool>,
    /// Newest limits version acknowledged in the audit trail.
    pub limits_acknowledged: u64,
}

impl LiveState {
    /// A copy of the locked part (a poisoned lock yields the default).
    #[must_use]
    pub fn snapshot(&self) -> LiveInner {
        self.inner
            .read()
            .map(|inner| inner.clone())
            .unwrap_or_default()
    }

    /// Whether statistics arrived within `within`.
    #[must_use]
    pub fn connected(&self, within: Duration) -> bool {
        self.inner
            .read()
            .ok()
            .and_then(|inner| inner.stats_at)
            .is_some_and(|at| at.elapsed() <= within)
    }

    fn on_stats(&self, stats: Box<Stats>) {
        if let Ok(mut inner) = self.inner.write() {
            inner.stats = Some(stats);
            inner.stats_at = Some(Instant::now());
        }
    }

    fn on_audit(&self, records: &[AuditRecord]) {
        let mut kill = None;
        let mut limits = None;
        for record in records {
            match record.audit_kind() {
                Some(AuditKind::KillSwitchOn) => kill = Some(true),
                Some(AuditKind::KillSwitchOff) => kill = Some(false),
                Some(AuditKind::LimitsApplied) => limits = Some(record.limits_version),
                _ => {}
            }
        }
        if (kill.is_some() || limits.is_some())
            && let Ok(mut inner) = self.inner.write()
        {
            if kill.is_some() {
                inner.kill_from_audit = kill;
            }
            if let Some(version) = limits {
                inner.limits_acknowledged = inner.limits_acknowledged.max(version);
            }
        }
    }
}

/// Messages to the writer task.
#[derive(Debug)]
pub enum WriterMessage {
    /// Records to store, in sequence order.
    Records(Vec<AuditRecord>),
    /// Store everything received so far, then answer.
    Flush(oneshot::Sender<()>),
}

/// Batching settings.
#[derive(Debug, Clone, Copy)]
pub struct BatchConfig {
    /// Rows per transaction at most.
    pub rows: usize,
    /// Longest wait for a batch to fill.
    pub delay: Duration,
}

/// The link's event sink: runs on the link thread, blocks when the writer is behind.
pub fn link_sink(
    writer: mpsc::Sender<WriterMessage>,
    live: Arc<LiveState>,
) -> impl FnMut(LinkEvent) + Send + 'static {
    move |event| match event {
        LinkEvent::Audit(records) => {
            live.on_audit(&records);
            if writer
                .blocking_send(WriterMessage::Records(records))
                .is_err()
            {
                tracing::warn!("audit writer gone; records are replayed on the next start");
            }
        }
        LinkEvent::Stats(stats) => live.on_stats(stats),
        LinkEvent::AuditGap {
            first_missing,
            last_missing,
        } => {
            live.gaps.fetch_add(1, Ordering::Relaxed);
            live.missing_records
                .fetch_add(last_missing - first_missing + 1, Ordering::Relaxed);
            tracing::error!(
                first_missing,
                last_missing,
                "AUDIT GAP: the data plane no longer retained these records"
            );
        }
        LinkEvent::SequenceBehind {
            control_plane_last,
            data_plane_last,
        } => tracing::error!(
            control_plane_last,
            data_plane_last,
            "data plane sequence restarted below the stored one"
        ),
    }
}

/// The writer task: batches records (up to `batch.rows` or `batch.delay`) into transactions
/// until the channel closes, then stores what is left and returns.
pub async fn run_writer(
    storage: Storage,
    mut messages: mpsc::Receiver<WriterMessage>,
    live: Arc<LiveState>,
    batch: BatchConfig,
) {
    let mut pending: Vec<AuditRecord> = Vec::with_capacity(batch.rows);
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    let mut open = true;
    while open {
        match messages.recv().await {
            Some(WriterMessage::Records(records)) => pending.extend(records),
            Some(WriterMessage::Flush(done)) => waiting.push(done),
            None => open = false,
        }
        let deadline = tokio::time::Instant::now() + batch.delay;
        while open && waiting.is_empty() && pending.len() < batch.rows {
            tokio::select! {
                message = messages.recv() => match message {
                    Some(WriterMessage::Records(records)) => pending.extend(records),
                    Some(WriterMessage::Flush(done)) => waiting.push(done),
                    None => open = false,
                },
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        for chunk in pending.chunks(batch.rows) {
            store(&storage, chunk, &live).await;
        }
        pending.clear();
        for done in waiting.drain(..) {
            let _ignored = done.send(());
        }
    }
}

async fn store(storage: &Storage, records: &[AuditRecord], live: &LiveState) {
    let mut delay = Duration::from_millis(50);
    loop {
        let started = Instant::now();
        match storage.insert_audit(records).await {
            Ok(inserted) => {
                let elapsed = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
                live.batch_ns.fetch_add(elapsed, Ordering::Relaxed);
                live.batches.fetch_add(1, Ordering::Relaxed);
                live.stored_rows.fetch_add(inserted, Ordering::Relaxed);
                if let Some(last) = records.last() {
                    live.stored_seq.fetch_max(last.seq, Ordering::Relaxed);
                }
                return;
            }
            Err(error) => {
                live.storage_errors.fetch_add(1, Ordering::Relaxed);
                tracing::error!(%error, rows = records.len(), "audit insert failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        }
    }
}
