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
    fmt::Write as _,
    fs::{File, OpenOptions},
    io::{BufWriter, Write as _},
    path::PathBuf,
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
    let (mut engine, handles) = Engine::new(config, io).context("building the engine")?;
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
    let mut link = LinkThread::new(handles, options.audit_log.as_ref())?;
    let operator_kill = runtime::kill_on_sigusr1().context("installing the SIGUSR1 handler")?;
    while !engine_thread.is_finished() {
        if operator_kill.swap(false, std::sync::atomic::Ordering::Relaxed) {
            let mut command = Command::new(CommandKind::Kill);
            command.actor = fixed_text("signal:SIGUSR1");
            if link
                .handles
                .control
                .push(ControlMessage::Command(command))
                .is_err()
            {
                tracing::error!("control ring full: SIGUSR1 kill not delivered, retrying");
                operator_kill.store(true, std::sync::atomic::Ordering::Relaxed);
            } else {
                tracing::warn!("kill switch requested by SIGUSR1");
            }
        }
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

/// The link thread's work: drain the engine's rings.
struct LinkThread {
    handles: EngineHandles,
    audit_log: Option<BufWriter<File>>,
    line: String,
}

impl LinkThread {
    fn new(handles: EngineHandles, audit_log: Option<&PathBuf>) -> anyhow::Result<Self> {
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
            line: String::with_capacity(512),
        })
    }

    fn round(&mut self) -> anyhow::Result<()> {
        let mut wrote = false;
        while let Ok(record) = self.handles.audit.pop() {
            if let Some(log) = &mut self.audit_log {
                self.line.clear();
                audit_json(&record, &mut self.line);
                self.line.push('\n');
                log.write_all(self.line.as_bytes())
                    .context("writing the audit log")?;
                wrote = true;
            }
        }
        if wrote && let Some(log) = &mut self.audit_log {
            log.flush().context("flushing the audit log")?;
        }
        while let Ok(stats) = self.handles.stats.pop() {
            log_stats(&stats);
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
