//! `tickwire-dataplane run --config FILE`: the data-plane daemon.
//!
//! Two threads: the **engine** (pinned to `engine.core`, busy-polling, see
//! [`crate::engine`]) and the **link** thread, which drains the engine's audit and stats
//! rings — into an append-only JSON-lines audit log when `--audit-log` is given, and to
//! the control plane — and feeds limits and commands back into the engine. The link thread
//! sleeps between rounds (1 ms); it never touches the engine's core.
//!
//! Start-up hardening: the process makes itself non-dumpable (a same-user process cannot
//! ptrace it or read its memory) and locks its memory when `engine.lock_memory` is set.
//! SIGUSR1 trips the kill switch (actor `signal:SIGUSR1`): an emergency stop that works
//! without the control plane. On SIGINT/SIGTERM the engine trips its kill switch, cancels working orders, waits for
//! the venue's confirmations (bounded), logs out, and the link thread drains what is left.

use std::{
    collections::VecDeque,
    fmt::Write as _,
    fs::{File, OpenOptions},
    io::{BufWriter, Write as _},
    path::{Path, PathBuf},
    sync::atomic::AtomicBool,
    thread,
    time::Duration,
};

use anyhow::Context as _;
use tickwire_common::{Price, Qty};
use tickwire_link::abi::{
    AuditKind, AuditRecord, Command, CommandKind, LATENCY_BUCKETS, RiskReason, StatCounter, Stats,
    fixed_text, latency_bucket_upper_ns, text_of,
};
use tickwire_link::transport::{DataPlaneLink, LinkError};

use crate::{
    config::DataPlaneConfig,
    engine::{self, ControlMessage, Engine, EngineHandles, EngineReport, PositionReport},
    io::{Io, PacketIo},
    runtime,
};

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Configuration file.
    pub config: PathBuf,
    /// Append every audit record as a JSON line here.
    pub audit_log: Option<PathBuf>,
    /// Write every symbol's book (full depth) here at exit.
    pub dump_books: Option<PathBuf>,
}

/// What a run did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunSummary {
    /// Backend used.
    pub backend: &'static str,
    /// Engine loop iterations.
    pub iterations: u64,
    /// Feed messages applied.
    pub ticks: u64,
    /// Orders (new and replace) sent.
    pub orders_sent: u64,
    /// Orders the venue accepted.
    pub orders_accepted: u64,
    /// Executions.
    pub fills: u64,
    /// Cancels sent.
    pub cancels_sent: u64,
    /// Risk rejects.
    pub risk_rejects: u64,
    /// Audit records written.
    pub audit_records: u64,
    /// Orders still live at exit.
    pub live_orders: usize,
    /// Feed gaps detected / recovered.
    pub feed_gaps: u64,
    /// Feed gaps recovered.
    pub feed_gaps_recovered: u64,
    /// Feed packets dropped as malformed.
    pub feed_malformed: u64,
    /// Per symbol: `[symbol, position, realized, unrealized, mark]` (decimal strings).
    pub positions: Vec<[String; 5]>,
}

fn harden(lock_memory: bool) {
    // SAFETY: prctl with PR_SET_DUMPABLE takes integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        tracing::warn!(error = %std::io::Error::last_os_error(), "could not make the process non-dumpable");
    }
    if lock_memory {
        // SAFETY: mlockall takes flags only.
        if unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) } != 0 {
            tracing::warn!(
                error = %std::io::Error::last_os_error(),
                "mlockall failed (needs CAP_IPC_LOCK): memory may be paged"
            );
        }
    }
}

/// Runs the daemon until `stop` is set.
///
/// # Errors
/// If the configuration is invalid, the backend cannot be opened, or the engine fails.
pub fn run(options: &RunOptions, stop: &'static AtomicBool) -> anyhow::Result<RunSummary> {
    let config = DataPlaneConfig::load(&options.config)?;
    harden(config.engine.lock_memory);
    let io = Io::open(&engine::io_config(&config)).context("opening packet I/O")?;
    match io {
        Io::AfXdp(io) => run_engine(*io, &config, options, stop, "afxdp"),
        Io::Socket(io) => run_engine(*io, &config, options, stop, "socket"),
    }
}

fn run_engine<I: PacketIo + Send + 'static>(
    io: I,
    config: &DataPlaneConfig,
    options: &RunOptions,
    stop: &'static AtomicBool,
    backend: &'static str,
) -> anyhow::Result<RunSummary> {
    let audit_log = options
        .audit_log
        .as_deref()
        .or(config.engine.audit_log.as_deref());
    if config.link.enabled && audit_log.is_none() {
        anyhow::bail!(
            "the control-plane link needs an audit log (engine.audit_log or --audit-log): \
             a restarted data plane continues the audit sequence from it"
        );
    }
    let last_seq = audit_log.map_or(Ok(0), resume_audit_log)?;
    if last_seq > 0 {
        tracing::info!(
            last_seq,
            "audit sequence resumes after the audit log's last record"
        );
    }
    // The link is opened here, on the thread that drives it (its ports are not Send), and
    // before the engine starts: a bad link configuration stops the start.
    let link = if config.link.enabled {
        let transport = config.link.transport();
        Some(
            DataPlaneLink::open(&transport, config.link.retained_records).with_context(|| {
                format!(
                    "opening the control-plane link (service prefix {:?})",
                    transport.service_prefix
                )
            })?,
        )
    } else {
        None
    };
    let (mut engine, handles) =
        Engine::resume(config, io, last_seq).context("building the engine")?;
    let unix_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        });
    engine.start_tokens_at(engine::session_token_base(unix_ms));
    let last_venue = audit_log.map_or(Ok(0), last_venue_sequence)?;
    if last_venue > 0 {
        tracing::info!(
            last_venue,
            "venue session resumes after the audit log's last venue message"
        );
        engine.resume_venue_from(last_venue + 1);
    }
    let core = config.engine.core;
    let shutdown_timeout_ms = config.engine.shutdown_timeout_ms;
    let engine_thread = thread::Builder::new()
        .name("tw-engine".into())
        .spawn(
            move || -> anyhow::Result<(EngineReport, String, Vec<PositionReport>)> {
                if let Some(core) = core {
                    runtime::pin_to_core(core).map_err(anyhow::Error::msg)?;
                }
                println!("dataplane: ready");
                let report = engine.run(stop, shutdown_timeout_ms)?;
                Ok((report, engine.books_json(), engine.positions()))
            },
        )
        .context("spawning the engine thread")?;
    let mut link = LinkThread::new(handles, audit_log, link)?;
    let operator_kill = runtime::kill_on_sigusr1().context("installing the SIGUSR1 handler")?;
    let mut watchdog = crate::sdnotify::Watchdog::from_env(config.engine.stats_interval_ms);
    while !engine_thread.is_finished() {
        if operator_kill.swap(false, std::sync::atomic::Ordering::Relaxed) {
            let mut command = Command::new(CommandKind::Kill);
            command.actor = fixed_text("signal:SIGUSR1");
            // Ahead of anything queued: an emergency stop does not wait behind other work.
            link.backlog.push_front(ControlMessage::Command(command));
            tracing::warn!("kill switch requested by SIGUSR1");
        }
        watchdog.tick(!link.handles.stats.is_empty()); // a snapshot waiting: the engine turns
        link.round()?;
        thread::sleep(Duration::from_millis(1));
    }
    let (report, books, positions) = engine_thread
        .join()
        .map_err(|_| anyhow::anyhow!("the engine thread panicked"))??;
    if let Some(path) = &options.dump_books {
        std::fs::write(path, books).with_context(|| format!("writing {}", path.display()))?;
    }
    // Whatever the engine wrote last.
    link.round()?;
    link.finish()?;
    let counter = |counter: StatCounter| report.counters[counter as usize];
    Ok(RunSummary {
        backend,
        iterations: report.iterations,
        ticks: counter(StatCounter::FeedMessages),
        orders_sent: counter(StatCounter::OrdersSent),
        orders_accepted: counter(StatCounter::OrdersAccepted),
        fills: counter(StatCounter::Fills),
        cancels_sent: counter(StatCounter::CancelsSent),
        risk_rejects: counter(StatCounter::RiskRejects),
        audit_records: report.audit_seq,
        live_orders: report.live_orders,
        feed_gaps: counter(StatCounter::FeedGaps),
        feed_gaps_recovered: counter(StatCounter::FeedGapsRecovered),
        feed_malformed: counter(StatCounter::FeedMalformed),
        positions: positions
            .iter()
            .map(|position| {
                [
                    text_of(&position.symbol).to_owned(),
                    Qty::from_raw(position.qty).to_string(),
                    decimal(position.realized),
                    decimal(position.unrealized),
                    if position.mark == i64::MIN {
                        "none".to_owned()
                    } else {
                        decimal(position.mark)
                    },
                ]
            })
            .collect(),
    })
}

/// Audit records moved from the engine's ring per batch (written, flushed, then published).
const AUDIT_BATCH: usize = 4096;
/// Batches per link round, so commands are still polled while a backlog drains.
const AUDIT_BATCHES_PER_ROUND: usize = 16;

/// The link thread's work: drain the engine's rings into the audit log and the control
/// plane, and pass the control plane's limits and commands to the engine.
///
/// Order per batch: the records are written to the audit log and flushed (to the kernel)
/// *before* they are published, so a record the control plane stored is always in the log
/// a restarted data plane resumes its sequence from.
struct LinkThread {
    handles: EngineHandles,
    audit_log: Option<BufWriter<File>>,
    link: Option<DataPlaneLink>,
    batch: Vec<AuditRecord>,
    /// Control messages the engine's ring had no room for yet (never dropped).
    backlog: VecDeque<ControlMessage>,
    line: String,
    ipc_errors: u64,
}

impl LinkThread {
    fn new(
        handles: EngineHandles,
        audit_log: Option<&Path>,
        link: Option<DataPlaneLink>,
    ) -> anyhow::Result<Self> {
        let audit_log = audit_log
            .map(|path| {
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("opening the audit log {}", path.display()))
                    .map(BufWriter::new)
            })
            .transpose()?;
        Ok(Self {
            handles,
            audit_log,
            link,
            batch: Vec::with_capacity(AUDIT_BATCH),
            backlog: VecDeque::with_capacity(256),
            line: String::with_capacity(512),
            ipc_errors: 0,
        })
    }

    /// Queues a message for the engine (kept in order behind earlier ones).
    fn queue_for_engine(&mut self, message: ControlMessage) {
        self.backlog.push_back(message);
    }

    fn ipc_error(&mut self, error: &LinkError) {
        self.ipc_errors += 1;
        // The first, then every 1000th: a dead peer must not flood the log.
        if self.ipc_errors % 1000 == 1 {
            tracing::warn!(%error, errors = self.ipc_errors, "control-plane link");
        }
    }

    fn round(&mut self) -> anyhow::Result<()> {
        for _ in 0..AUDIT_BATCHES_PER_ROUND {
            self.batch.clear();
            while self.batch.len() < AUDIT_BATCH {
                let Ok(record) = self.handles.audit.pop() else {
                    break;
                };
                self.batch.push(record);
            }
            if self.batch.is_empty() {
                break;
            }
            if let Some(log) = &mut self.audit_log {
                for record in &self.batch {
                    self.line.clear();
                    audit_json(record, &mut self.line);
                    self.line.push('\n');
                    log.write_all(self.line.as_bytes())
                        .context("writing the audit log")?;
                }
                log.flush().context("flushing the audit log")?;
            }
            if let Some(link) = &mut self.link {
                for record in &self.batch {
                    match link.publish_audit(record) {
                        Ok(_) => {}
                        // Retained: the control plane gets it through a replay.
                        Err(error @ LinkError::Ipc { .. }) => {
                            self.ipc_errors += 1;
                            if self.ipc_errors % 1000 == 1 {
                                tracing::warn!(%error, "publishing an audit record");
                            }
                        }
                        Err(error) => return Err(error).context("publishing the audit stream"),
                    }
                }
            }
        }
        while let Ok(stats) = self.handles.stats.pop() {
            log_stats(&stats);
            if let Some(link) = &mut self.link
                && let Err(error) = link.publish_stats(&stats)
            {
                self.ipc_error(&error);
            }
        }
        if let Some(mut link) = self.link.take() {
            if let Err(error) = link.pump_replay() {
                self.ipc_error(&error);
            }
            match link.poll_limits() {
                Ok(Some(limits)) => self.queue_for_engine(ControlMessage::Limits(limits)),
                Ok(None) => {}
                Err(error) => self.ipc_error(&error),
            }
            let mut commands = Vec::new();
            if let Err(error) = link.poll_commands(|command| commands.push(*command)) {
                self.ipc_error(&error);
            }
            for command in commands {
                self.queue_for_engine(ControlMessage::Command(command));
            }
            self.link = Some(link);
        }
        while let Some(message) = self.backlog.pop_front() {
            if let Err(rtrb::PushError::Full(message)) = self.handles.control.push(message) {
                self.backlog.push_front(message);
                break;
            }
        }
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<()> {
        if let Some(log) = &mut self.audit_log {
            log.flush()?;
            log.get_ref().sync_all()?;
        }
        Ok(())
    }
}

/// The sequence number of the last complete record in an audit log (0 when the file is
/// missing or empty). A torn last line (a crash in the middle of a write) is cut off: the
/// link publishes a record only after it is in the log, so that record was never published.
///
/// # Errors
/// If the file cannot be read or its last complete line is not an audit record.
pub fn resume_audit_log(path: &Path) -> anyhow::Result<u64> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(error) => {
            return Err(error).with_context(|| format!("opening the audit log {}", path.display()));
        }
    };
    let length = file.metadata()?.len();
    // The longest record is well under 1 KiB.
    let start = length.saturating_sub(8192);
    file.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::with_capacity(8192);
    file.read_to_end(&mut tail)?;
    let complete = tail
        .iter()
        .rposition(|byte| *byte == b'\n')
        .map_or(0, |end| end + 1);
    if complete < tail.len() {
        if start > 0 && complete == 0 {
            anyhow::bail!("audit log {}: last line longer than 8 KiB", path.display());
        }
        let keep = start + complete as u64;
        tracing::warn!(
            log = %path.display(),
            cut_bytes = length - keep,
            "audit log ends in a torn line (crash mid-write): cutting it off"
        );
        file.set_len(keep)?;
    }
    let lines = &tail[..complete];
    let Some(last) = lines
        .strip_suffix(b"\n")
        .map(|lines| lines.rsplit(|byte| *byte == b'\n').next().unwrap_or(lines))
        .filter(|line| !line.is_empty())
    else {
        return Ok(0);
    };
    let digits = last
        .strip_prefix(b"{\"seq\":")
        .map(|rest| {
            let end = rest
                .iter()
                .position(|byte| !byte.is_ascii_digit())
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|digits| !digits.is_empty())
        .with_context(|| {
            format!(
                "audit log {}: the last line is not an audit record",
                path.display()
            )
        })?;
    std::str::from_utf8(digits)
        .ok()
        .and_then(|digits| digits.parse().ok())
        .with_context(|| format!("audit log {}: bad sequence number", path.display()))
}

/// The venue sequence number of the last venue message in the audit log (0: none), read
/// backwards from the end so a day-long log costs only the distance to that record. A
/// restarted data plane logs in asking for the messages after it.
///
/// # Errors
/// The log cannot be read.
pub fn last_venue_sequence(path: &Path) -> anyhow::Result<u64> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    const CHUNK: u64 = 64 * 1024;
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(error) => {
            return Err(error).with_context(|| format!("opening the audit log {}", path.display()));
        }
    };
    let mut end = file.metadata()?.len();
    // The start of the line that crosses the boundary to the chunk read before.
    let mut carry: Vec<u8> = Vec::new();
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let mut chunk = vec![0u8; usize::try_from(end - start)?];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&carry);
        let whole_from = if start == 0 {
            0
        } else {
            chunk
                .iter()
                .position(|byte| *byte == b'\n')
                .map_or(chunk.len(), |newline| newline + 1)
        };
        for line in chunk[whole_from..].split(|byte| *byte == b'\n').rev() {
            if let Some(sequence) = venue_sequence(line) {
                return Ok(sequence);
            }
        }
        chunk.truncate(whole_from);
        carry = chunk;
        end = start;
    }
    Ok(0)
}

/// The venue sequence number of an audit line that records a venue message.
fn venue_sequence(line: &[u8]) -> Option<u64> {
    const VENUE: &[u8] = b"\"kind\":\"venue_";
    if !line.windows(VENUE.len()).any(|window| window == VENUE) {
        return None;
    }
    serde_json::from_slice::<serde_json::Value>(line)
        .ok()?
        .get("trigger_seq")?
        .as_u64()
        .filter(|sequence| *sequence > 0)
}

fn decimal(raw: i64) -> String {
    Price::from_raw(raw).to_string()
}

/// One audit record as a JSON object (the audit log's line format).
pub fn audit_json(record: &AuditRecord, out: &mut String) {
    let kind = record.audit_kind().map_or("unknown", AuditKind::name);
    let reason = match record.audit_kind() {
        Some(AuditKind::RiskReject | AuditKind::OrderIntent | AuditKind::ReplaceIntent) => {
            RiskReason::from_raw(record.reason)
                .map_or("unknown", RiskReason::name)
                .to_owned()
        }
        _ => record.reason.to_string(),
    };
    let side = match record.side {
        b'B' => "B",
        b'S' => "S",
        _ => "",
    };
    let _ = write!(
        out,
        "{{\"seq\":{},\"ts_ns\":{},\"kind\":\"{kind}\",\"reason\":\"{reason}\",\"strategy\":{},\
         \"symbol\":\"{}\",\"side\":\"{side}\",\"price\":\"{}\",\"qty\":\"{}\",\"token\":\"{}\",\
         \"order_id\":{},\"trigger_seq\":{},\"limits_version\":{},\"aux\":{},\"aux2\":{},\"actor\":\"{}\"}}",
        record.seq,
        record.ts_ns,
        record.strategy,
        text_of(&record.symbol),
        decimal(record.price),
        Qty::from_raw(record.qty),
        text_of(&record.token),
        record.order_id,
        record.trigger_seq,
        record.limits_version,
        record.aux,
        record.aux2,
        text_of(&record.actor).escape_default(),
    );
}

/// Percentile (upper bucket bound) of a cumulative latency histogram.
#[must_use]
pub fn histogram_percentile(buckets: &[u64; LATENCY_BUCKETS], quantile: f64) -> Option<u64> {
    let total: u64 = buckets.iter().sum();
    if total == 0 {
        return None;
    }
    // The rank is below 2^53 for any realistic count.
    let rank = ((total as f64) * quantile).ceil() as u64;
    let mut seen = 0;
    for (bucket, count) in buckets.iter().enumerate() {
        seen += count;
        if seen >= rank.max(1) {
            // The last bucket is open-ended: report its lower bound.
            return Some(if bucket + 1 == LATENCY_BUCKETS {
                latency_bucket_upper_ns(bucket - 1)
            } else {
                latency_bucket_upper_ns(bucket)
            });
        }
    }
    None
}

fn log_stats(stats: &Stats) {
    let counter = |counter: StatCounter| stats.counters[counter as usize];
    let position = stats
        .positions
        .iter()
        .filter(|position| position.symbol[0] != 0 && position.qty != 0)
        .map(|position| {
            format!(
                "{}:{}",
                text_of(&position.symbol),
                Qty::from_raw(position.qty)
            )
        })
        .collect::<Vec<_>>()
        .join(",");
    let pnl: i64 = stats
        .positions
        .iter()
        .map(|position| {
            position
                .realized_pnl
                .saturating_add(position.unrealized_pnl)
        })
        .sum();
    tracing::info!(
        ticks = counter(StatCounter::FeedMessages),
        orders = counter(StatCounter::OrdersSent),
        accepted = counter(StatCounter::OrdersAccepted),
        fills = counter(StatCounter::Fills),
        rejects = counter(StatCounter::RiskRejects),
        gaps = counter(StatCounter::FeedGaps),
        killed = counter(StatCounter::KillSwitch),
        position = %position,
        pnl = %decimal(pnl),
        tick_to_order_p50_ns = histogram_percentile(&stats.latency_buckets, 0.5),
        tick_to_order_p99_ns = histogram_percentile(&stats.latency_buckets, 0.99),
        "stats"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u64) -> String {
        let mut record = AuditRecord::new(AuditKind::OrderIntent);
        record.seq = seq;
        let mut line = String::new();
        audit_json(&record, &mut line);
        line.push('\n');
        line
    }

    fn scratch(name: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!(
            "tickwire-resume-{}-{name}.jsonl",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        path
    }

    #[test]
    fn a_missing_or_empty_log_starts_at_zero() {
        let path = scratch("missing");
        assert_eq!(resume_audit_log(&path).unwrap(), 0);
        std::fs::write(&path, "").unwrap();
        assert_eq!(resume_audit_log(&path).unwrap(), 0);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn the_sequence_resumes_after_the_last_complete_record() {
        let path = scratch("complete");
        // Long enough that the last line is beyond the first read window's start.
        let text: String = (1..=500).map(record).collect();
        std::fs::write(&path, &text).unwrap();
        assert_eq!(resume_audit_log(&path).unwrap(), 500);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_torn_last_line_is_cut_off() {
        let path = scratch("torn");
        let complete: String = (1..=3).map(record).collect();
        let torn = record(4);
        std::fs::write(&path, format!("{complete}{}", &torn[..20])).unwrap();
        assert_eq!(resume_audit_log(&path).unwrap(), 3);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), complete);
        std::fs::remove_file(&path).unwrap();
    }

    fn venue_record(seq: u64, venue_sequence: u64) -> String {
        let mut record = AuditRecord::new(AuditKind::VenueExecuted);
        record.seq = seq;
        record.trigger_seq = venue_sequence;
        let mut line = String::new();
        audit_json(&record, &mut line);
        line.push('\n');
        line
    }

    #[test]
    fn the_venue_session_resumes_after_the_last_venue_message_logged() {
        let path = scratch("venue");
        assert_eq!(last_venue_sequence(&path).unwrap(), 0, "no log");
        let mut text: String = (1..=10).map(record).collect();
        std::fs::write(&path, &text).unwrap();
        assert_eq!(last_venue_sequence(&path).unwrap(), 0, "no venue record");
        text.push_str(&venue_record(11, 7));
        text.push_str(&venue_record(12, 8));
        // Far more than one read window of other records after the last venue message.
        text.extend((13..=2000).map(record));
        std::fs::write(&path, &text).unwrap();
        assert!(text.len() > 3 * 64 * 1024);
        assert_eq!(last_venue_sequence(&path).unwrap(), 8);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_log_that_is_not_an_audit_log_is_refused() {
        let path = scratch("foreign");
        std::fs::write(&path, "hello\nworld\n").unwrap();
        let error = resume_audit_log(&path).unwrap_err().to_string();
        assert!(error.contains("not an audit record"), "{error}");
        std::fs::remove_file(&path).unwrap();
    }
}
