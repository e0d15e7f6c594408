//! A scripted data plane for tests: it produces a stream of audit records and statistics
//! through a real [`DataPlaneLink`], applies limits and commands by acknowledging them with
//! audit records (as the engine does), and logs every record it accepted so a test can
//! compare what a control plane stored with what was published.
//!
//! Also the record codec used by the logs ([`encode_record`], [`decode_record`]): field by
//! field, little endian, 128 bytes.

use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::abi::{
    AuditKind, AuditRecord, Command, CommandKind, KillReason, LATENCY_BUCKETS, LimitsSnapshot,
    MAX_STRATEGIES, PositionRecord, RiskReason, StatCounter, Stats, TopRecord, fixed_text,
    latency_bucket, text_of,
};
use crate::transport::{DataPlaneLink, LinkConfig, LinkError};

/// Bytes of an encoded record.
pub const RECORD_BYTES: usize = 128;

/// Encodes a record field by field (little endian), exactly 128 bytes.
#[must_use]
pub fn encode_record(record: &AuditRecord) -> [u8; RECORD_BYTES] {
    let mut out = [0u8; RECORD_BYTES];
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        out[at..at + bytes.len()].copy_from_slice(bytes);
        at += bytes.len();
    };
    put(&record.seq.to_le_bytes());
    put(&record.ts_ns.to_le_bytes());
    put(&record.kind.to_le_bytes());
    put(&record.reason.to_le_bytes());
    put(&[record.side, record.strategy]);
    put(&record.pad0);
    put(&record.symbol);
    put(&record.token);
    put(&record.pad1);
    put(&record.limits_version.to_le_bytes());
    put(&record.price.to_le_bytes());
    put(&record.qty.to_le_bytes());
    put(&record.order_id.to_le_bytes());
    put(&record.trigger_seq.to_le_bytes());
    put(&record.aux.to_le_bytes());
    put(&record.aux2.to_le_bytes());
    put(&record.actor);
    out
}

/// Decodes what [`encode_record`] wrote.
#[must_use]
pub fn decode_record(bytes: &[u8; RECORD_BYTES]) -> AuditRecord {
    let mut at = 0;
    let mut take = |len: usize| {
        let field = &bytes[at..at + len];
        at += len;
        field
    };
    let u64_of = |field: &[u8]| {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(field);
        raw
    };
    let u16_of = |field: &[u8]| [field[0], field[1]];
    let mut record = AuditRecord::new(AuditKind::OrderIntent);
    record.seq = u64::from_le_bytes(u64_of(take(8)));
    record.ts_ns = u64::from_le_bytes(u64_of(take(8)));
    record.kind = u16::from_le_bytes(u16_of(take(2)));
    record.reason = u16::from_le_bytes(u16_of(take(2)));
    let side_strategy = take(2);
    record.side = side_strategy[0];
    record.strategy = side_strategy[1];
    record.pad0.copy_from_slice(take(2));
    record.symbol.copy_from_slice(take(8));
    record.token.copy_from_slice(take(14));
    record.pad1.copy_from_slice(take(2));
    record.limits_version = u64::from_le_bytes(u64_of(take(8)));
    record.price = i64::from_le_bytes(u64_of(take(8)));
    record.qty = i64::from_le_bytes(u64_of(take(8)));
    record.order_id = u64::from_le_bytes(u64_of(take(8)));
    record.trigger_seq = u64::from_le_bytes(u64_of(take(8)));
    record.aux = i64::from_le_bytes(u64_of(take(8)));
    record.aux2 = i64::from_le_bytes(u64_of(take(8)));
    record.actor.copy_from_slice(take(24));
    record
}

/// Reads every record of a log written with [`encode_record`] (a torn last record is
/// ignored).
///
/// # Errors
/// The I/O error of reading the file.
pub fn read_log(path: &std::path::Path) -> std::io::Result<Vec<AuditRecord>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(error) => return Err(error),
    };
    Ok(bytes
        .chunks_exact(RECORD_BYTES)
        .map(|chunk| {
            let mut raw = [0u8; RECORD_BYTES];
            raw.copy_from_slice(chunk);
            decode_record(&raw)
        })
        .collect())
}

/// Settings of the scripted data plane (`tickwire-link-fake --help` lists the flags).
#[derive(Debug, Clone)]
pub struct FakeOptions {
    /// Link services.
    pub link: LinkConfig,
    /// Records retained for replays.
    pub ring: usize,
    /// Scripted records to produce (acknowledgements come on top).
    pub count: u64,
    /// Scripted records per second (0: as fast as the link thread goes).
    pub rate: u64,
    /// Sequence of the first record.
    pub start_seq: u64,
    /// Statistics period.
    pub stats_period: Duration,
    /// Keep serving this long after the script ended (`None`: forever).
    pub linger: Option<Duration>,
    /// Where to log every accepted record.
    pub log: Option<std::path::PathBuf>,
}

impl Default for FakeOptions {
    fn default() -> Self {
        Self {
            link: LinkConfig::default(),
            ring: 100_000,
            count: 1_000,
            rate: 0,
            start_seq: 1,
            stats_period: Duration::from_millis(100),
            linger: None,
            log: None,
        }
    }
}

const SYMBOLS: [&str; 2] = ["AAPL", "MSFT"];
/// 100.00 as a raw price (10^-8).
const PRICE_100: i64 = 10_000_000_000;

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
        })
}

/// The state of the scripted engine.
#[derive(Debug)]
struct Engine {
    next_seq: u64,
    scripted: u64,
    limits_version: u64,
    kill: bool,
    strategy_enabled: [u8; MAX_STRATEGIES],
    stats: Stats,
    positions: [i64; 2],
}

impl Engine {
    fn new(start_seq: u64) -> Self {
        let mut strategy_enabled = [0u8; MAX_STRATEGIES];
        strategy_enabled[..4].fill(1);
        let empty_top = TopRecord {
            symbol: [0; 8],
            bid_price: i64::MIN,
            bid_qty: 0,
            ask_price: i64::MIN,
            ask_qty: 0,
            stale: 0,
            pad: 0,
        };
        let empty_position = PositionRecord {
            symbol: [0; 8],
            qty: 0,
            avg_price: 0,
            realized_pnl: 0,
            unrealized_pnl: 0,
            open_orders: 0,
            pad: 0,
        };
        Self {
            next_seq: start_seq,
            scripted: 0,
            limits_version: 0,
            kill: false,
            strategy_enabled,
            stats: Stats {
                ts_ns: 0,
                audit_seq: 0,
                limits_version: 0,
                counters: [0; crate::abi::STAT_COUNTERS],
                risk_rejects: [0; crate::abi::RISK_REASONS],
                latency_buckets: [0; LATENCY_BUCKETS],
                tops: [empty_top; crate::abi::MAX_SYMBOLS],
                positions: [empty_position; crate::abi::MAX_SYMBOLS],
                strategy_enabled,
            },
            positions: [0; 2],
        }
    }

    fn record(&mut self, kind: AuditKind) -> AuditRecord {
        let mut record = AuditRecord::new(kind);
        record.seq = self.next_seq;
        self.next_seq += 1;
        record.ts_ns = now_ns();
        record.limits_version = self.limits_version;
        record.actor = fixed_text("engine");
        self.stats.counters[StatCounter::AuditRecords as usize] += 1;
        record
    }

    /// The next scripted record: orders cycle intent → accepted → executed; with the kill
    /// switch on, intents are refused by the risk gate instead.
    fn scripted(&mut self) -> AuditRecord {
        let step = self.scripted % 3;
        let order = self.scripted / 3 + 1;
        self.scripted += 1;
        let symbol_index = usize::try_from(order % 2).unwrap_or(0);
        let symbol = SYMBOLS[symbol_index];
        let price = PRICE_100 + i64::try_from(order % 50).unwrap_or(0) * 1_000_000;
        let qty = 100 * 100_000_000;
        let kind = match (step, self.kill) {
            (0, false) => AuditKind::OrderIntent,
            (0, true) => AuditKind::RiskReject,
            (1, false) => AuditKind::VenueAccepted,
            (2, false) => AuditKind::VenueExecuted,
            (_, true) => AuditKind::VenueSession,
            _ => AuditKind::VenueSession,
        };
        let mut record = self.record(kind);
        record.side = if order.is_multiple_of(2) { b'B' } else { b'S' };
        record.strategy = u8::try_from(order % 4).unwrap_or(0);
        record.symbol = fixed_text::<8>(symbol);
        record.symbol.iter_mut().for_each(|byte| {
            if *byte == 0 {
                *byte = b' ';
            }
        });
        let token = format!("T{order:013}");
        record.token = fixed_text(&token);
        record.price = price;
        record.qty = qty;
        record.order_id = order;
        record.trigger_seq = order * 10;
        let counters = &mut self.stats.counters;
        match kind {
            AuditKind::OrderIntent => {
                counters[StatCounter::OrdersSent as usize] += 1;
                let latency_ns = 800 + (order % 400) * 5;
                self.stats.latency_buckets[latency_bucket(latency_ns)] += 1;
            }
            AuditKind::RiskReject => {
                record.reason = RiskReason::KillSwitch as u16;
                counters[StatCounter::RiskRejects as usize] += 1;
                self.stats.risk_rejects[RiskReason::KillSwitch as usize] += 1;
            }
            AuditKind::VenueAccepted => counters[StatCounter::OrdersAccepted as usize] += 1,
            AuditKind::VenueExecuted => {
                counters[StatCounter::Fills as usize] += 1;
                record.aux = i64::try_from(order).unwrap_or(0);
                let signed = if record.side == b'B' { qty } else { -qty };
                self.positions[symbol_index] += signed;
            }
            _ => {}
        }
        record
    }

    fn refresh_stats(&mut self) -> &Stats {
        let stats = &mut self.stats;
        stats.ts_ns = now_ns();
        stats.audit_seq = self.next_seq - 1;
        stats.limits_version = self.limits_version;
        stats.counters[StatCounter::KillSwitch as usize] = u64::from(self.kill);
        stats.strategy_enabled = self.strategy_enabled;
        for (index, symbol) in SYMBOLS.iter().enumerate() {
            let mut field: [u8; 8] = [b' '; 8];
            field[..symbol.len()].copy_from_slice(symbol.as_bytes());
            stats.tops[index] = TopRecord {
                symbol: field,
                bid_price: PRICE_100,
                bid_qty: 500 * 100_000_000,
                ask_price: PRICE_100 + 1_000_000,
                ask_qty: 300 * 100_000_000,
                stale: 0,
                pad: 0,
            };
            stats.positions[index] = PositionRecord {
                symbol: field,
                qty: self.positions[index],
                avg_price: PRICE_100,
                realized_pnl: 12 * 100_000_000,
                unrealized_pnl: -3 * 100_000_000,
                open_orders: 1,
                pad: 0,
            };
        }
        &self.stats
    }
}

/// Runs the scripted data plane until the script and the linger period are over. Prints one
/// line per event on stdout (`ready`, `limits ...`, `command ...`, `replay ...`, `done ...`)
/// for the test that drives it.
///
/// # Errors
/// Opening the link or the log, or an iceoryx2 failure.
pub fn run(options: &FakeOptions) -> Result<(), FakeError> {
    let mut link = DataPlaneLink::open(&options.link, options.ring)?;
    let mut log = match &options.log {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(FakeError::Log)?,
        )),
        None => None,
    };
    let mut engine = Engine::new(options.start_seq);
    let started = Instant::now();
    let mut last_stats = Instant::now();
    let mut done_at: Option<Instant> = None;
    let mut last_replay = None;
    let mut commands: Vec<Command> = Vec::with_capacity(256);
    say(&format!("ready uid={}", effective_uid()));
    loop {
        let mut out = Vec::with_capacity(64);
        let due = if options.rate == 0 {
            options.count
        } else {
            let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            options
                .count
                .min(elapsed_ms.saturating_mul(options.rate) / 1_000)
        };
        while engine.scripted < due && out.len() < 1_000 {
            out.push(engine.scripted());
        }
        if let Some(limits) = link.poll_limits()? {
            out.push(engine.apply_limits(&limits));
        }
        commands.clear();
        link.poll_commands(|command| commands.push(*command))?;
        for command in &commands {
            if let Some(record) = engine.apply_command(command) {
                out.push(record);
            }
        }
        for record in &out {
            if let Err(error) = link.publish_audit(record) {
                match error {
                    LinkError::AuditSequence { .. } => return Err(error.into()),
                    // Retained: the control plane gets it through a replay.
                    _ => eprintln!("fake: publish failed: {error}"),
                }
            }
            if let Some(log) = &mut log {
                log.write_all(&encode_record(record))
                    .map_err(FakeError::Log)?;
            }
        }
        if let Some(log) = &mut log {
            log.flush().map_err(FakeError::Log)?;
        }
        link.pump_replay()?;
        if link.last_replay() != last_replay {
            last_replay = link.last_replay();
            if let Some(replay) = last_replay {
                let gap = replay
                    .gap
                    .map_or_else(|| "none".to_owned(), |(from, to)| format!("{from}-{to}"));
                say(&format!(
                    "replay after={} first={} gap={gap}",
                    replay.after_seq, replay.first_seq
                ));
            }
        }
        if last_stats.elapsed() >= options.stats_period {
            last_stats = Instant::now();
            let stats = *engine.refresh_stats();
            if let Err(error) = link.publish_stats(&stats) {
                eprintln!("fake: stats failed: {error}");
            }
        }
        if done_at.is_none() && engine.scripted >= options.count {
            done_at = Some(Instant::now());
            say(&format!(
                "done count={} last_seq={}",
                options.count,
                link.last_seq()
            ));
        }
        if let (Some(done), Some(linger)) = (done_at, options.linger)
            && done.elapsed() >= linger
            && !link.replay_in_progress()
        {
            return Ok(());
        }
        if out.is_empty() && !link.replay_in_progress() {
            std::thread::sleep(Duration::from_micros(300));
        }
    }
}

impl Engine {
    fn apply_limits(&mut self, limits: &LimitsSnapshot) -> AuditRecord {
        let previous = self.limits_version;
        self.limits_version = limits.version;
        if limits.global.kill == 1 {
            self.kill = true;
        }
        let mut record = self.record(AuditKind::LimitsApplied);
        record.aux = i64::try_from(previous).unwrap_or(i64::MAX);
        record.actor = [0; 24];
        record.actor[..16].copy_from_slice(&limits.actor);
        say(&format!(
            "limits version={} actor={} kill={} max_order_qty={}",
            limits.version,
            text_of(&limits.actor),
            limits.global.kill,
            limits.global.max_order_qty
        ));
        record
    }

    fn apply_command(&mut self, command: &Command) -> Option<AuditRecord> {
        let kind = CommandKind::from_raw(command.kind)?;
        let strategy = usize::from(command.strategy);
        let audit_kind = match kind {
            CommandKind::Kill => {
                self.kill = true;
                AuditKind::KillSwitchOn
            }
            CommandKind::Unkill => {
                self.kill = false;
                AuditKind::KillSwitchOff
            }
            CommandKind::EnableStrategy | CommandKind::DisableStrategy
                if strategy >= MAX_STRATEGIES =>
            {
                return None;
            }
            CommandKind::EnableStrategy => {
                self.strategy_enabled[strategy] = 1;
                AuditKind::StrategyEnabled
            }
            CommandKind::DisableStrategy => {
                self.strategy_enabled[strategy] = 0;
                AuditKind::StrategyDisabled
            }
            CommandKind::SetParams => AuditKind::StrategyParams,
            CommandKind::ReplayAudit => return None,
        };
        let mut record = self.record(audit_kind);
        record.aux = i64::try_from(command.id).unwrap_or(i64::MAX);
        record.aux2 = i64::from(command.param_mask);
        record.strategy = u8::try_from(command.strategy).unwrap_or(u8::MAX);
        if kind == CommandKind::Kill {
            record.reason = KillReason::Operator as u16;
        }
        record.actor = [0; 24];
        record.actor[..16].copy_from_slice(&command.actor);
        say(&format!(
            "command kind={} id={} actor={} strategy={} reason={}",
            audit_kind.name(),
            command.id,
            text_of(&command.actor),
            command.strategy,
            text_of(&command.reason_text).replace(' ', "_")
        ));
        Some(record)
    }
}

/// The effective user id, from `/proc/self/status` (`?` when unreadable).
fn effective_uid() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .and_then(|uids| uids.split_whitespace().nth(1).map(str::to_owned))
        })
        .unwrap_or_else(|| "?".to_owned())
}

fn say(line: &str) {
    let mut stdout = std::io::stdout().lock();
    // A closed stdout (the test stopped reading) must not stop the data plane.
    let _ignored = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
}

fn parse(options: &mut FakeOptions, mut args: impl Iterator<Item = String>) -> Result<(), String> {
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|error| format!("{flag}: {error}"))
        };
        let size = || {
            value
                .parse::<usize>()
                .map_err(|error| format!("{flag}: {error}"))
        };
        match flag.as_str() {
            "--prefix" => options.link.service_prefix.clone_from(&value),
            "--root" => options.link.root_path = Some(value.clone()),
            "--file-prefix" => options.link.file_prefix = Some(value.clone()),
            "--buffer" => options.link.audit_buffer = size()?,
            "--ring" => options.ring = size()?,
            "--count" => options.count = number()?,
            "--rate" => options.rate = number()?,
            "--start-seq" => options.start_seq = number()?,
            "--stats-ms" => options.stats_period = Duration::from_millis(number()?),
            "--linger-ms" => options.linger = Some(Duration::from_millis(number()?)),
            "--log" => options.log = Some(value.clone().into()),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(())
}

/// The command-line entry point of the scripted data plane binaries: parses the flags
/// (`--prefix P --root DIR --file-prefix F --buffer N --ring N --count N --rate N
/// --start-seq N --stats-ms N --linger-ms N --log FILE`) and runs.
pub fn main_with_args(args: impl Iterator<Item = String>) -> std::process::ExitCode {
    let mut options = FakeOptions::default();
    if let Err(error) = parse(&mut options, args) {
        eprintln!("fake data plane: {error}");
        return std::process::ExitCode::from(2);
    }
    match run(&options) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fake data plane: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Errors of the scripted data plane.
#[derive(Debug, thiserror::Error)]
pub enum FakeError {
    /// The link failed.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// Writing the record log failed.
    #[error("record log: {0}")]
    Log(#[source] std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codec_round_trips() {
        let mut engine = Engine::new(7);
        for _ in 0..6 {
            let record = engine.scripted();
            assert_eq!(decode_record(&encode_record(&record)), record);
        }
    }
}
