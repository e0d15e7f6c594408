//! `cargo xtask bench wire`: wire-to-wire latency of four configurations, measured by the
//! same venue simulator over the same veth pair, in one run, with the same pinning.
//!
//! Topology: namespaces `twwire-gw` (10.77.0.1, the configuration under test, hot thread on
//! core 0) and `twwire-venue` (10.77.0.2, `tickwire-venue` pinned to core 1 with all its
//! threads). The venue runs `--flow ticks`: every tick is one MoldUDP64 packet (an ITCH
//! delete and add) sent unicast to 10.77.0.1:26400 that moves the market maker's quotes, so
//! it triggers a Replace Order on each side.
//!
//! Timed region of one sample (the venue's latency capture): the venue reads the monotonic
//! clock and calls `send_to` for the tick packet → venue kernel UDP/IP → veth → the
//! configuration under test receives, decodes, updates its book, runs the market maker,
//! checks risk, encodes OUCH in a UFO packet and sends it → veth → the venue kernel → the
//! venue's UFO reader thread returns from `recv_from` and reads the clock. The floor has no
//! pipeline: the reflector turns the tick packet around and the venue's feed-echo reader
//! thread takes the arrival time the same way.
//!
//! | config | under test |
//! |---|---|
//! | `floor` | `tickwire-dataplane reflect --backend afxdp` (UMEM frame turned around in place) |
//! | `afxdp` | `tickwire-dataplane run`, backend `afxdp` (market maker on ALC, BOB, CHAR) |
//! | `socket` | the same with backend `socket` (`recvmmsg`/`sendmmsg`, busy polling) |
//! | `tokio` | `tokio-pipeline` (benches/): tokio UDP socket + mpsc between stage tasks |
//!
//! Configurations are interleaved round by round (each round measures every configuration
//! in turn, `samples / rounds` samples each, after a warm-up); the rounds' histograms are
//! merged. Then, per configuration, `max_rate_pps`: a step search over tick rates (a short
//! run per step) for the highest rate at which the expected replies arrived (one echo per
//! tick for the floor, at least 99 %; two Replace Orders per tick for a pipeline, at least
//! 95 %, since a market maker that sees a tick while its previous replace is still
//! unacknowledged folds it into the next quote) and the venue did not fall behind its own
//! schedule; a failing step is retried once.

use std::{
    collections::BTreeMap,
    io::{BufRead as _, BufReader, Write as _},
    net::TcpStream,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use crate::util::{self, Guarded};

const PREFIX: &str = "twwire";
const GATEWAY_NS: &str = "twwire-gw";
const VENUE_NS: &str = "twwire-venue";
const IFACE: &str = "twwire-gw0";
const FEED: &str = "10.77.0.1:26400";
const ADMIN: &str = "10.77.0.2:27100";
const GATEWAY_CORE: &str = "0";
const VENUE_CORE: &str = "1";

/// The four configurations, in measuring order.
pub const CONFIGS: [&str; 4] = ["floor", "afxdp", "socket", "tokio"];

/// Tick rates tried by the rate search (ticks per second = feed packets per second).
const LADDER: [u64; 8] = [
    2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 400_000,
];

/// Options of `cargo xtask bench wire`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Write the results here.
    pub json: Option<PathBuf>,
    /// Samples per configuration (over all rounds).
    pub samples: u64,
    /// Smoke run: few samples, short rate steps.
    pub quick: bool,
    /// Tick rate of the latency runs.
    pub rate: u64,
    /// Rounds (configurations interleaved round by round).
    pub rounds: u32,
}

/// The data plane configuration for `afxdp` and `socket`: the example file's shape, the
/// market maker on every symbol, three ticks wide, limits that never throttle the run.
fn dataplane_config(backend: &str) -> String {
    let mut text = format!(
        r#"# Written by `cargo xtask bench wire`.
[engine]
core = {GATEWAY_CORE}
max_orders = 4096
max_orders_per_symbol = 256
audit_ring = 65536
stats_interval_ms = 1000
max_intents_per_event = 64
max_quiet_ms = 0
lock_memory = true
shutdown_timeout_ms = 500

[io]
iface = "{IFACE}"
backend = "{backend}"
xdp_mode = "auto"
queue = 0
frame_count = 4096
frame_size = 2048
ring_size = 2048
batch = 64
busy_poll_us = 50

[[feeds]]
name = "itch"
kind = "itch-moldudp64"
listen = "{FEED}"
retransmit = "10.77.0.2:26401"
request_port = 26402
start_sequence = 1
gap_request_timeout_ms = 20
gap_give_up_ms = 1000
gap_max_requests = 10
max_buffered_packets = 1024
strict_references = true

[venue]
protocol = "ufo"
server = "10.77.0.2:27000"
local_port = 27001
username = "TW0001"
password = "demo-pass"
session = ""
firm = "TKWR"
heartbeat_interval_ms = 200
heartbeat_timeout_ms = 3000
retransmit_timeout_ms = 200

[limits]
max_order_qty = "1000"
max_order_notional = "100000"
max_gross_notional = "5000000"
daily_loss_limit = "10000"
max_data_age_ms = 0
collar_bps = 200
orders_per_second = 10000000
order_burst = 1000000

[link]
enabled = false
"#
    );
    for symbol in ["ALC", "BOB", "CHAR"] {
        let lower = symbol.to_lowercase();
        text.push_str(&format!(
            r#"
[[symbols]]
name = "{symbol}"
tick = "0.01"
feed = "itch"

[[strategies]]
name = "mm-{lower}"
kind = "market_maker"
symbols = ["{symbol}"]
enabled = true
[strategies.params]
quote_qty = "100"
min_spread_ticks = 3
skew_ticks_per_lot = 0
skew_lot_qty = "100"
requote_ticks = 1
max_position = "1000"

[[limits.symbols]]
symbol = "{symbol}"
max_long = "2000"
max_short = "2000"
max_open_orders = 10
max_open_notional = "200000"
"#
        ));
    }
    text
}

/// Where cargo puts release binaries (honours `CARGO_TARGET_DIR`).
fn release_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("release")
}

/// Removes the namespaces (and with them anything left attached) on every exit path.
struct Topology<'a> {
    dataplane: &'a Path,
}

impl Drop for Topology<'_> {
    fn drop(&mut self) {
        let _ = Command::new(self.dataplane)
            .args(["netns", "down", "--prefix", PREFIX])
            .status();
    }
}

/// The venue's admin socket, connected from inside the venue namespace.
struct Admin {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Admin {
    fn connect() -> anyhow::Result<Self> {
        let stream = util::connect_in_namespace(VENUE_NS, ADMIN)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Self {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        })
    }

    fn request(&mut self, request: &Value) -> anyhow::Result<Value> {
        writeln!(self.writer, "{request}")?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let answer: Value = serde_json::from_str(&line).context("venue admin answer")?;
        if answer["ok"] == Value::Bool(false) {
            bail!("venue: {request} -> {answer}");
        }
        Ok(answer)
    }

    fn set_rate(&mut self, rate: u64) -> anyhow::Result<()> {
        self.request(&json!({"cmd": "flow", "rate": rate}))
            .map(drop)
    }

    fn latency(&mut self) -> anyhow::Result<Value> {
        self.request(&json!({"cmd": "latency"}))
    }
}

fn field(value: &Value, name: &str) -> u64 {
    value[name].as_u64().unwrap_or(0)
}

/// A merged latency histogram: value (ns, bucket's highest equivalent) → count.
#[derive(Debug, Default, Clone)]
pub struct Merged(BTreeMap<u64, u64>);

impl Merged {
    fn add(&mut self, report: &Value) {
        for pair in report["histogram"].as_array().into_iter().flatten() {
            let (Some(value), Some(count)) = (pair[0].as_u64(), pair[1].as_u64()) else {
                continue;
            };
            *self.0.entry(value).or_default() += count;
        }
    }

    fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// The smallest recorded value with at least `quantile` of the samples at or below it.
    fn quantile(&self, quantile: f64) -> u64 {
        let total = self.total();
        if total == 0 {
            return 0;
        }
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "a count of samples times a fraction in 0..=1"
        )]
        let rank = ((quantile * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (&value, &count) in &self.0 {
            seen += count;
            if seen >= rank {
                return value;
            }
        }
        self.0.keys().next_back().copied().unwrap_or(0)
    }

    /// `[percentile, ns]` points for an HDR plot: 0 to 99.9999 %, denser towards the tail.
    fn curve(&self) -> Vec<(f64, u64)> {
        let mut points = Vec::new();
        for nines in 0..=12 {
            // 1 - 10^(-nines/2): 0, 68.4, 90, 96.8, 99, ... 99.9999 %
            let quantile = 1.0 - 10f64.powf(-f64::from(nines) / 2.0);
            points.push((quantile * 100.0, self.quantile(quantile)));
        }
        points.push((100.0, self.quantile(1.0)));
        points
    }
}

/// One configuration's results.
#[derive(Debug, Default, Clone)]
struct Results {
    merged: Merged,
    rounds: Vec<Value>,
    max_rate_pps: u64,
    steps: Vec<Value>,
}

/// A running configuration: the venue and the process under test.
struct Session {
    admin: Admin,
    responder: Option<Guarded>,
    venue: Option<Guarded>,
}

impl Session {
    fn stop(mut self) -> anyhow::Result<()> {
        if let Some(responder) = self.responder.take() {
            responder.stop()?;
        }
        if let Some(venue) = self.venue.take() {
            venue.stop()?;
        }
        Ok(())
    }
}

struct Harness {
    bin: PathBuf,
    work: PathBuf,
    quick: bool,
    rate: u64,
    started: u32,
}

impl Harness {
    fn start(&mut self, config: &str) -> anyhow::Result<Session> {
        self.started += 1;
        let mut venue = Command::new("ip");
        venue
            .args(["netns", "exec", VENUE_NS, "taskset", "-c", VENUE_CORE])
            .arg(self.bin.join("tickwire-venue"))
            .args(["--feed", FEED, "--feed-bind", "10.77.0.2:0"])
            .args([
                "--retransmit",
                "26401",
                "--ufo",
                "27000",
                "--admin",
                "27100",
            ])
            .args(["--user", "TW0001:demo-pass", "--symbols", "ALC,BOB,CHAR"])
            .args(["--flow", "ticks", "--rate", "0", "--start-price", "100.00"])
            .args(["--heartbeat-ms", "200", "--feed-heartbeat-ms", "100"]);
        if config == "floor" {
            venue.arg("--feed-echo");
        }
        let venue = Guarded::spawn_until("venue", &mut venue, "venue: ready", secs(15))?;
        let mut responder = Command::new("ip");
        responder.args(["netns", "exec", GATEWAY_NS]);
        let ready = match config {
            "floor" => {
                responder
                    .arg(self.bin.join("tickwire-dataplane"))
                    .args(["reflect", "--iface", IFACE, "--port", "26400"])
                    .args(["--backend", "afxdp", "--core", GATEWAY_CORE]);
                "reflect: ready"
            }
            "afxdp" | "socket" => {
                let path = self.work.join(format!("dataplane-{config}.toml"));
                std::fs::write(&path, dataplane_config(config))?;
                let audit = self.work.join(format!("audit-{}.jsonl", self.started));
                responder
                    .arg(self.bin.join("tickwire-dataplane"))
                    .arg("run")
                    .arg("--config")
                    .arg(&path)
                    .arg("--audit-log")
                    .arg(&audit);
                "dataplane: ready"
            }
            "tokio" => {
                responder
                    .args(["taskset", "-c", GATEWAY_CORE])
                    .arg(self.bin.join("tokio-pipeline"))
                    .args(["--feed", FEED, "--venue", "10.77.0.2:27000"])
                    .args(["--local", "10.77.0.1:27001"]);
                "tokio-pipeline: ready"
            }
            other => bail!("unknown configuration {other}"),
        };
        let responder = Guarded::spawn_until(config, &mut responder, ready, secs(30))?;
        let admin = Admin::connect()?;
        Ok(Session {
            admin,
            responder: Some(responder),
            venue: Some(venue),
        })
    }

    /// Warm-up, then ticks at `self.rate` until `samples` are recorded; the venue's report.
    fn latency(&self, session: &mut Session, samples: u64) -> anyhow::Result<Value> {
        let admin = &mut session.admin;
        admin.set_rate(self.rate)?;
        std::thread::sleep(if self.quick { secs(1) } else { secs(3) });
        admin.request(&json!({"cmd": "latency_reset"}))?;
        let started = Instant::now();
        // Two samples per tick for a pipeline, one for the floor; allow for a slow machine.
        let limit = Duration::from_secs_f64(3.0 * samples as f64 / self.rate as f64 + 30.0);
        loop {
            std::thread::sleep(Duration::from_millis(250));
            let report = admin.latency()?;
            if field(&report, "samples") >= samples {
                break;
            }
            if started.elapsed() > limit {
                bail!(
                    "only {} of {samples} samples in {limit:?}",
                    field(&report, "samples")
                );
            }
        }
        admin.set_rate(0)?;
        std::thread::sleep(Duration::from_millis(300));
        admin.latency()
    }

    /// One rate step: `(passed, record)`.
    fn step(
        &self,
        session: &mut Session,
        config: &str,
        rate: u64,
    ) -> anyhow::Result<(bool, Value)> {
        let admin = &mut session.admin;
        admin.set_rate(0)?;
        std::thread::sleep(Duration::from_millis(300));
        admin.request(&json!({"cmd": "latency_reset"}))?;
        let before = admin.latency()?;
        admin.set_rate(rate)?;
        std::thread::sleep(if self.quick { secs(1) } else { secs(2) });
        admin.set_rate(0)?;
        std::thread::sleep(Duration::from_millis(500));
        let after = admin.latency()?;
        let ticks = field(&after, "ticks_sent") - field(&before, "ticks_sent");
        let behind = field(&after, "flow_behind_skipped") - field(&before, "flow_behind_skipped");
        let per_tick = if config == "floor" { 1 } else { 2 };
        let replies = field(&after, "matched_orders");
        let expected = ticks * per_tick;
        // 1 % slack for the floor; 5 % for a pipeline, whose market maker folds a tick into
        // the next quote when the previous replace is not acknowledged yet.
        let slack = if config == "floor" { 1 } else { 5 };
        let passed = ticks > 0 && behind == 0 && replies * 100 >= expected * (100 - slack);
        let record = json!({
            "rate_pps": rate, "ticks": ticks, "expected_replies": expected,
            "replies": replies, "venue_behind_skipped": behind, "passed": passed,
            "p50_ns": field(&after, "p50_ns"), "p99_ns": field(&after, "p99_ns"),
        });
        println!("bench wire: {config} rate step {record}");
        Ok((passed, record))
    }

    fn rate_search(
        &self,
        session: &mut Session,
        config: &str,
        results: &mut Results,
    ) -> anyhow::Result<()> {
        let ladder: &[u64] = if self.quick { &LADDER[..5] } else { &LADDER };
        for &rate in ladder {
            let (mut passed, record) = self.step(session, config, rate)?;
            results.steps.push(record);
            if !passed {
                std::thread::sleep(secs(1));
                let (again, record) = self.step(session, config, rate)?;
                results.steps.push(record);
                passed = again;
            }
            if !passed {
                break;
            }
            results.max_rate_pps = rate;
        }
        Ok(())
    }
}

fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

fn command_text(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// The machine the numbers come from.
pub fn machine() -> Value {
    let lscpu = command_text("lscpu", &[]);
    let model = lscpu
        .lines()
        .find_map(|line| line.strip_prefix("Model name:"))
        .map_or_else(String::new, |model| model.trim().to_owned());
    json!({
        "cpu": model,
        "cores": command_text("nproc", &[]),
        "kernel": command_text("uname", &["-r"]),
        "load_average": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
        "note": "shared 2-core VM; other engineers' builds run concurrently, so absolute \
                 numbers are noisy and the ratios between configurations (measured \
                 interleaved in one run) are what to read",
    })
}

/// Runs the harness; returns the JSON it writes.
pub fn run(root: &Path, options: &Options) -> anyhow::Result<Value> {
    if !Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.starts_with(b"0"))
    {
        bail!("bench wire needs root (network namespaces, XDP)");
    }
    util::run(util::cargo().current_dir(root).args([
        "build",
        "--release",
        "-p",
        "tickwire-dataplane",
        "--bin",
        "tickwire-dataplane",
        "-p",
        "tickwire-venue",
        "--bin",
        "tickwire-venue",
        "-p",
        "tickwire-benches",
        "--bin",
        "tokio-pipeline",
    ]))?;
    let bin = release_dir(root);
    let dataplane = bin.join("tickwire-dataplane");
    let dataplane = dataplane.as_path();
    // A leftover from an interrupted run would make `up` fail.
    let _ = Command::new(dataplane)
        .args(["netns", "down", "--prefix", PREFIX])
        .status();
    util::run(Command::new(dataplane).args(["netns", "up", "--prefix", PREFIX]))?;
    let _topology = Topology { dataplane };
    let work = std::env::temp_dir().join(format!("tickwire-bench-wire-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let machine_before = machine();
    let mut harness = Harness {
        bin,
        work: work.clone(),
        quick: options.quick,
        rate: options.rate,
        started: 0,
    };
    let rounds = options.rounds.max(1);
    let per_round = options.samples.div_ceil(u64::from(rounds));
    let mut results: BTreeMap<&str, Results> = BTreeMap::new();
    for round in 1..=rounds {
        for config in CONFIGS {
            println!("== bench wire: round {round}/{rounds}: {config} ({per_round} samples)");
            let mut session = harness.start(config)?;
            let report = harness.latency(&mut session, per_round);
            let entry = results.entry(config).or_default();
            let last_round = round == rounds;
            let outcome = report.and_then(|report| {
                entry.merged.add(&report);
                let mut summary = report;
                if let Some(object) = summary.as_object_mut() {
                    object.remove("histogram");
                }
                println!("bench wire: {config} round {round}: {summary}");
                entry.rounds.push(summary);
                if last_round {
                    harness.rate_search(&mut session, config, entry)?;
                }
                Ok(())
            });
            session.stop()?;
            outcome?;
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    let mut configs = serde_json::Map::new();
    for config in CONFIGS {
        let result = results.remove(config).unwrap_or_default();
        let merged = &result.merged;
        configs.insert(
            config.to_owned(),
            json!({
                "p50_ns": merged.quantile(0.50),
                "p90_ns": merged.quantile(0.90),
                "p99_ns": merged.quantile(0.99),
                "p999_ns": merged.quantile(0.999),
                "max_ns": merged.quantile(1.0),
                "min_ns": merged.0.keys().next().copied().unwrap_or(0),
                "samples": merged.total(),
                "max_rate_pps": result.max_rate_pps,
                "curve": merged.curve(),
                "rounds": result.rounds,
                "rate_steps": result.steps,
            }),
        );
    }
    let mut machine = machine_before;
    machine["load_average_after"] = json!(
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let output = json!({
        "configs": configs,
        "machine": machine,
        "method": {
            "latency_rate_pps": options.rate,
            "rounds": rounds,
            "samples_per_config": options.samples,
            "pinning": "configuration under test: hot thread on core 0 (data plane engine \
                        thread via [engine] core, reflector --core 0, tokio-pipeline's \
                        whole process via taskset); venue: every thread on core 1",
            "timed_region": "venue monotonic clock before send_to of a tick packet -> veth \
                             -> configuration under test -> veth -> venue reader thread's \
                             recv_from return (order token or echo names the tick)",
            "rate_search": "ladder of tick rates, 2 s each (1 s --quick); pass = the venue \
                            kept its schedule and >= 99% of the echoes (floor) or >= 95% of \
                            the two Replace Orders per tick (pipelines; a tick seen while a \
                            replace is unacknowledged is folded into the next quote) came \
                            back; one retry",
        },
    });
    print_table(&output);
    if let Some(path) = &options.json {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, serde_json::to_string_pretty(&output)? + "\n")?;
        println!("wrote {}", path.display());
    }
    Ok(output)
}

fn print_table(output: &Value) {
    let us = |ns: u64| ns as f64 / 1000.0;
    println!();
    println!("| config | samples | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs | max rate pps |");
    println!("|---|---|---|---|---|---|---|---|");
    for config in CONFIGS {
        let row = &output["configs"][config];
        println!(
            "| {config} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
            field(row, "samples"),
            us(field(row, "p50_ns")),
            us(field(row, "p90_ns")),
            us(field(row, "p99_ns")),
            us(field(row, "p999_ns")),
            us(field(row, "max_ns")),
            field(row, "max_rate_pps"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_quantiles_and_curve() {
        let mut merged = Merged::default();
        merged.add(&json!({"histogram": [[10, 50], [20, 40]]}));
        merged.add(&json!({"histogram": [[20, 5], [1000, 5]]}));
        assert_eq!(merged.total(), 100);
        assert_eq!(merged.quantile(0.5), 10);
        assert_eq!(merged.quantile(0.51), 20);
        assert_eq!(merged.quantile(0.95), 20);
        assert_eq!(merged.quantile(0.96), 1000);
        assert_eq!(merged.quantile(1.0), 1000);
        let curve = merged.curve();
        assert_eq!(curve.first(), Some(&(0.0, 10)));
        assert_eq!(curve.last(), Some(&(100.0, 1000)));
        assert!(curve.windows(2).all(|pair| pair[0].1 <= pair[1].1));
    }

    #[test]
    fn dataplane_config_quotes_every_symbol_three_ticks_wide() {
        let text = dataplane_config("socket");
        assert!(text.contains("backend = \"socket\""));
        assert_eq!(text.matches("kind = \"market_maker\"").count(), 3);
        assert_eq!(text.matches("min_spread_ticks = 3").count(), 3);
        assert!(text.contains("listen = \"10.77.0.1:26400\""));
    }
}
