//! End to end, for real: the venue simulator in one network namespace, the data plane
//! daemon in the other, joined by a veth pair; ITCH over MoldUDP64 multicast in, OUCH over
//! UFO out, on AF_XDP (and the same scenarios on kernel sockets). Every check compares the
//! data plane's own records (audit log, book dump, run summary) with the venue's records
//! (its admin socket). The Binance scenarios compare the data plane's L2 book with the one
//! `tickwire-dataplane book --format binance` computes offline from the file the venue
//! replays. Tests run one at a time: each runs a busy-polling engine.
#![allow(clippy::unwrap_used, reason = "test: a panic is the failure report")]
#![allow(clippy::expect_used, reason = "test: a panic is the failure report")]

use std::{
    collections::BTreeMap,
    io::{BufRead as _, BufReader, Write as _},
    net::TcpStream,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        Mutex,
        atomic::{AtomicU32, Ordering},
        mpsc,
    },
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;
use tickwire_dataplane::netns::{self, Topology};

const DATAPLANE: &str = env!("CARGO_BIN_EXE_tickwire-dataplane");
const CONFIG: &str = include_str!("../config/itch-ufo.toml");
const WAIT: Duration = Duration::from_secs(20);
const USER: &str = "TW0001";

/// One scenario at a time: each runs a busy-polling engine next to the venue.
static SERIAL: Mutex<()> = Mutex::new(());
static NEXT: AtomicU32 = AtomicU32::new(0);

fn venue_binary() -> PathBuf {
    let directory = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let binary = directory.join("tickwire-venue");
    if !binary.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut command = Command::new(cargo);
        command.args(["build", "-p", "tickwire-venue"]);
        if directory.ends_with("release") {
            command.arg("--release");
        }
        assert!(
            command.status().unwrap().success(),
            "building tickwire-venue"
        );
    }
    binary
}

/// A child killed when dropped; stdout lines are forwarded to a channel.
struct Process {
    child: Child,
    lines: mpsc::Receiver<String>,
    name: &'static str,
}

impl Process {
    fn spawn(name: &'static str, mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|error| panic!("starting {name}: {error}"));
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines, name }
    }

    fn wait_for(&self, prefix: &str) -> String {
        self.wait_for_within(prefix, WAIT)
    }

    fn wait_for_within(&self, prefix: &str, wait: Duration) -> String {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => {}
                Err(_) => panic!("{} did not print {prefix:?}", self.name),
            }
        }
    }

    fn signal(&self, signal: i32) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// SIGINT, wait for exit, return the line starting with `prefix`.
    fn stop(mut self, prefix: &str) -> String {
        self.signal(libc::SIGINT);
        let line = self.wait_for(prefix);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{} exited with {status}", self.name);
        line
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The venue's admin socket (connected from inside the venue namespace).
struct Admin {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Admin {
    fn connect(topology: &Topology, port: u16) -> Self {
        let stream = {
            let _inside = Topology::enter(&topology.venue_ns).unwrap();
            TcpStream::connect((topology.venue_ip, port)).unwrap()
        };
        stream.set_read_timeout(Some(WAIT)).unwrap();
        Self {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        }
    }

    #[allow(
        clippy::needless_pass_by_value,
        reason = "json! values are built at the call"
    )]
    fn request(&mut self, request: Value) -> Value {
        writeln!(self.writer, "{request}").unwrap();
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let answer: Value = serde_json::from_str(&line).unwrap();
        assert_ne!(answer["ok"], Value::Bool(false), "{request} -> {answer}");
        answer
    }

    fn open_orders(&mut self) -> usize {
        let answer = self.request(serde_json::json!({"cmd": "open_orders", "user": USER}));
        answer["orders"].as_array().unwrap().len()
    }

    fn orders(&mut self) -> Vec<Value> {
        let answer = self.request(serde_json::json!({"cmd": "orders", "user": USER}));
        answer["orders"].as_array().unwrap().clone()
    }
}

struct Stack {
    topology: Topology,
    directory: PathBuf,
    /// Names this run's iceoryx2 files.
    tag: String,
    venue: Option<Process>,
    admin: Admin,
}

fn tempdir() -> PathBuf {
    let directory = std::env::temp_dir().join(format!(
        "tickwire-e2e-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

impl Stack {
    /// The topology and a venue with synthetic flow (`flow` extra arguments).
    fn start(flow: &[&str]) -> Self {
        let prefix = format!(
            "e{}{}",
            std::process::id() % 10_000,
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let topology = Topology::create(&prefix).unwrap();
        let mut command =
            Topology::command_in(&topology.venue_ns, venue_binary().to_str().unwrap());
        command.args([
            "--feed",
            "239.77.0.1:26400",
            "--feed-bind",
            "10.77.0.2:0",
            "--retransmit",
            "26401",
            "--ufo",
            "27000",
            "--admin",
            "27100",
            "--user",
            "TW0001:demo-pass",
            "--symbols",
            "ALC,BOB,CHAR",
            "--heartbeat-ms",
            "200",
            "--client-timeout-ms",
            "5000",
            "--feed-heartbeat-ms",
            "100",
        ]);
        command.args(flow);
        let venue = Process::spawn("venue", command);
        venue.wait_for("venue: ready");
        let admin = Admin::connect(&topology, 27100);
        Self {
            tag: format!("tw{prefix}"),
            topology,
            directory: tempdir(),
            venue: Some(venue),
            admin,
        }
    }

    /// Starts the data plane with the example configuration, edited by `edit`.
    fn dataplane(&self, backend: &str, edit: impl FnOnce(String) -> String) -> Process {
        let config = edit(
            CONFIG
                .replace(
                    "iface = \"tw-gw0\"",
                    &format!("iface = \"{}\"", self.topology.gateway_iface),
                )
                .replace("backend = \"auto\"", &format!("backend = \"{backend}\""))
                .replace("core = 0 ", "# core = 0 ")
                .replace("lock_memory = true", "lock_memory = false")
                .replace("heartbeat_timeout_ms = 3000", "heartbeat_timeout_ms = 1000")
                // The link's iceoryx2 files in this run's directory (no control plane here:
                // the data plane keeps its records for one that never comes).
                .replace(
                    "# root_path = \"/run/tickwire/iceoryx2/\"",
                    &format!("root_path = \"{}/iox2/\"", self.directory.display()),
                )
                .replace(
                    "# file_prefix = \"iox2_\"",
                    &format!("file_prefix = \"{}_\"", self.tag),
                ),
        );
        let path = self.directory.join("dataplane.toml");
        std::fs::write(&path, config).unwrap();
        let mut command = Topology::command_in(&self.topology.gateway_ns, DATAPLANE);
        command.arg("run").arg("--config").arg(&path);
        command
            .arg("--audit-log")
            .arg(self.directory.join("audit.jsonl"));
        command
            .arg("--dump-books")
            .arg(self.directory.join("books.json"));
        let dataplane = Process::spawn("dataplane", command);
        dataplane.wait_for("dataplane: ready");
        dataplane
    }

    fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(self.directory.join("audit.jsonl"))
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    fn dumped_books(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.directory.join("books.json")).unwrap())
            .unwrap()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        drop(self.venue.take());
        let _ = std::fs::remove_dir_all(&self.directory);
        if let Ok(entries) = std::fs::read_dir("/dev/shm") {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(&self.tag) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }
}

fn summary_of(line: &str) -> Value {
    serde_json::from_str(line.trim_start_matches("dataplane: ")).unwrap()
}

fn until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(50));
    }
}

/// Raw fixed-point (10^-8) value of a decimal string.
fn raw(text: &str) -> i128 {
    i128::from(
        tickwire_common::Price::from_decimal(text.as_bytes())
            .unwrap()
            .raw(),
    )
}

fn market_maker_scenario(backend: &str) {
    let mut stack = Stack::start(&["--flow", "synthetic", "--rate", "3000", "--seed", "11"]);
    let dataplane = stack.dataplane(backend, |config| config);
    until("quotes at the venue", || stack.admin.open_orders() > 0);
    until("fills", || {
        let fills = stack
            .admin
            .request(serde_json::json!({"cmd": "fills", "user": USER}));
        fills["fills"].as_array().unwrap().len() >= 5
    });
    let summary = summary_of(&dataplane.stop("dataplane: {"));
    assert_eq!(summary["backend"], backend);
    assert_eq!(
        summary["live_orders"], 0,
        "clean shutdown cancels working orders"
    );
    assert_eq!(
        stack.admin.open_orders(),
        0,
        "nothing left working at the venue"
    );

    // The audit trail equals what the venue received: count and content.
    let audit = stack.audit();
    let venue_orders = stack.admin.orders();
    let entered: Vec<&Value> = venue_orders
        .iter()
        .filter(|order| order["type"] == "O")
        .collect();
    let intents: Vec<&Value> = audit
        .iter()
        .filter(|record| record["kind"] == "order_intent")
        .collect();
    assert_eq!(
        intents.len(),
        entered.len(),
        "one audited intent per order the venue received"
    );
    for (intent, order) in intents.iter().zip(&entered) {
        assert_eq!(intent["token"], order["token"]);
        assert_eq!(intent["side"], order["side"]);
        assert_eq!(
            raw(intent["qty"].as_str().unwrap()),
            i128::from(order["shares"].as_u64().unwrap()) * 100_000_000
        );
        assert_eq!(
            raw(intent["price"].as_str().unwrap()),
            i128::from(order["price"].as_u64().unwrap()) * 10_000
        );
    }
    let replaces = venue_orders
        .iter()
        .filter(|order| order["type"] == "U")
        .count();
    assert_eq!(
        audit
            .iter()
            .filter(|record| record["kind"] == "replace_intent")
            .count(),
        replaces
    );
    let cancels = venue_orders
        .iter()
        .filter(|order| order["type"] == "X")
        .count();
    assert_eq!(
        audit
            .iter()
            .filter(|record| record["kind"] == "cancel_intent")
            .count(),
        cancels
    );

    // Fills: the same executions on both sides; positions and PnL agree.
    let fills = stack
        .admin
        .request(serde_json::json!({"cmd": "fills", "user": USER}))["fills"]
        .as_array()
        .unwrap()
        .clone();
    let executed: Vec<&Value> = audit
        .iter()
        .filter(|record| record["kind"] == "venue_executed")
        .collect();
    assert_eq!(
        executed.len(),
        fills.len(),
        "every venue fill reached the data plane"
    );
    let mut venue_position: BTreeMap<String, i128> = BTreeMap::new();
    let mut venue_cash: BTreeMap<String, i128> = BTreeMap::new();
    for fill in &fills {
        let symbol = fill["stock"].as_str().unwrap().to_owned();
        let shares = i128::from(fill["shares"].as_u64().unwrap());
        let price = i128::from(fill["price"].as_u64().unwrap());
        let signed = if fill["side"] == "B" { shares } else { -shares };
        *venue_position.entry(symbol.clone()).or_default() += signed;
        // Cash in 10^-4 dollars × shares.
        *venue_cash.entry(symbol).or_default() -= signed * price;
        assert!(
            executed
                .iter()
                .any(|record| record["token"] == fill["token"]
                    && record["aux"].as_u64() == fill["match_number"].as_u64()),
            "fill {fill} audited"
        );
    }
    let venue_positions = stack
        .admin
        .request(serde_json::json!({"cmd": "position", "user": USER}));
    for entry in summary["positions"].as_array().unwrap() {
        let symbol = entry[0].as_str().unwrap();
        let qty = raw(entry[1].as_str().unwrap());
        let expected = venue_position.get(symbol).copied().unwrap_or(0);
        assert_eq!(
            qty,
            expected * 100_000_000,
            "{symbol} position agrees with the venue's fills"
        );
        if let Some(reported) = venue_positions["positions"][symbol]["position"].as_i64() {
            assert_eq!(
                i128::from(reported),
                expected,
                "{symbol}: the venue's own position"
            );
        }
        if expected != 0 || venue_cash.contains_key(symbol) {
            // realized + unrealized = cash + position × mark, whatever the cost method.
            let mark = raw(entry[4].as_str().unwrap());
            let equity = raw(entry[2].as_str().unwrap()) + raw(entry[3].as_str().unwrap());
            let cash = venue_cash.get(symbol).copied().unwrap_or(0) * 10_000;
            let value = expected * mark;
            let difference = (equity - (cash + value)).abs();
            assert!(
                difference <= 2,
                "{symbol}: PnL {equity} vs {} from the venue's fills",
                cash + value
            );
        }
    }
}

fn books_equal(stack: &mut Stack) {
    let dumped = stack.dumped_books();
    for symbol in ["ALC", "BOB", "CHAR"] {
        let venue_book = stack
            .admin
            .request(serde_json::json!({"cmd": "book", "symbol": symbol}));
        assert_eq!(dumped[symbol]["bids"], venue_book["bids"], "{symbol} bids");
        assert_eq!(dumped[symbol]["asks"], venue_book["asks"], "{symbol} asks");
        assert!(
            venue_book["bids"].as_array().unwrap().len() > 3,
            "{symbol}: a real book"
        );
    }
}

/// Strategies off (no order of ours moves the book while it is compared), 1% loss and 1%
/// reordering on the feed: every gap is recovered and the books equal the venue's.
fn loss_scenario(backend: &str) {
    let mut stack = Stack::start(&["--flow", "synthetic", "--rate", "4000", "--seed", "5"]);
    let dataplane = stack.dataplane(backend, |config| {
        config.replace(
            "enabled = true\n[strategies",
            "enabled = false\n[strategies",
        )
    });
    stack
        .admin
        .request(serde_json::json!({"cmd": "fault", "drop": 0.01, "reorder": 0.01}));
    thread::sleep(Duration::from_secs(5));
    stack
        .admin
        .request(serde_json::json!({"cmd": "fault", "drop": 0.0, "reorder": 0.0}));
    stack
        .admin
        .request(serde_json::json!({"cmd": "flow", "rate": 0}));
    // Let heartbeats announce the last sequence and the last gap recover.
    thread::sleep(Duration::from_secs(2));
    let summary = summary_of(&dataplane.stop("dataplane: {"));
    let gaps = summary["feed_gaps"].as_u64().unwrap();
    assert!(gaps > 0, "the faults caused gaps: {summary}");
    assert_eq!(
        summary["feed_gaps_recovered"].as_u64().unwrap(),
        gaps,
        "{summary}"
    );
    books_equal(&mut stack);
}

#[test]
fn market_maker_trades_and_agrees_with_the_venue_on_afxdp() {
    if netns::xdp_tests_enabled("market_maker_trades_and_agrees_with_the_venue_on_afxdp") {
        let _serial = SERIAL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        market_maker_scenario("afxdp");
    }
}

#[test]
fn market_maker_trades_and_agrees_with_the_venue_on_sockets() {
    if netns::xdp_tests_enabled("market_maker_trades_and_agrees_with_the_venue_on_sockets") {
        let _serial = SERIAL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        market_maker_scenario("socket");
    }
}

#[test]
fn feed_loss_and_reordering_recover_to_the_venues_books_on_afxdp() {
    if netns::xdp_tests_enabled("feed_loss_and_reordering_recover_to_the_venues_books_on_afxdp") {
        let _serial = SERIAL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        loss_scenario("afxdp");
    }
}

#[test]
fn feed_loss_and_reordering_recover_to_the_venues_books_on_sockets() {
    if netns::xdp_tests_enabled("feed_loss_and_reordering_recover_to_the_venues_books_on_sockets") {
        let _serial = SERIAL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        loss_scenario("socket");
    }
}

#[test]
fn kill_switch_stops_new_orders_and_cancels_working_ones() {
    if !netns::xdp_tests_enabled("kill_switch_stops_new_orders_and_cancels_working_ones") {
        return;
    }
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut stack = Stack::start(&["--flow", "synthetic", "--rate", "3000", "--seed", "3"]);
    let dataplane = stack.dataplane("afxdp", |config| config);
    until("quotes at the venue", || stack.admin.open_orders() > 0);
    dataplane.signal(libc::SIGUSR1);
    until("cancels at the venue", || stack.admin.open_orders() == 0);
    let received = stack.admin.orders().len();
    thread::sleep(Duration::from_secs(2));
    let after: Vec<Value> = stack.admin.orders().into_iter().skip(received).collect();
    assert!(
        after.iter().all(|order| order["type"] == "X"),
        "no new order or replace after the kill switch: {after:?}"
    );
    assert_eq!(stack.admin.open_orders(), 0);
    drop(dataplane);
    let audit = stack.audit();
    let kill = audit
        .iter()
        .find(|record| record["kind"] == "kill_switch_on")
        .expect("audited");
    assert_eq!(kill["actor"], "signal:SIGUSR1");
    assert!(
        audit
            .iter()
            .any(|record| record["kind"] == "risk_reject" && record["reason"] == "kill_switch")
    );
}

#[test]
fn venue_heartbeat_loss_cancels_working_orders() {
    if !netns::xdp_tests_enabled("venue_heartbeat_loss_cancels_working_orders") {
        return;
    }
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // A quiet flow, so quotes rest rather than fill while the venue is silent.
    let mut stack = Stack::start(&["--flow", "synthetic", "--rate", "300", "--seed", "9"]);
    let dataplane = stack.dataplane("afxdp", |config| config);
    until("quotes at the venue", || stack.admin.open_orders() > 0);
    stack
        .admin
        .request(serde_json::json!({"cmd": "heartbeats", "enabled": false}));
    let lost = |record: &Value| record["kind"] == "venue_session" && record["reason"] == "76";
    until("the data plane to detect the silent venue", || {
        stack.audit().iter().any(lost)
    });
    until("cancel-on-disconnect at the venue", || {
        stack.admin.open_orders() == 0
    });
    let audit = stack.audit();
    let lost_at = audit.iter().position(lost).unwrap();
    let kill = audit
        .iter()
        .find(|record| record["kind"] == "kill_switch_on")
        .unwrap();
    assert_eq!(kill["reason"], "4", "tripped by the venue disconnect");
    let cancels_after_loss = audit[lost_at..]
        .iter()
        .filter(|record| record["kind"] == "cancel_intent")
        .count();
    let fills_after_loss = stack
        .admin
        .request(serde_json::json!({"cmd": "fills", "user": USER}));
    assert!(
        cancels_after_loss > 0 || !fills_after_loss["fills"].as_array().unwrap().is_empty(),
        "working orders were canceled (or had filled) after the loss"
    );
    // Whichever arrives first cancels them: our cancels, or the venue's own
    // cancel-on-disconnect when our re-login replaces the silent session.
    stack
        .admin
        .request(serde_json::json!({"cmd": "heartbeats", "enabled": true}));
    let summary = summary_of(&dataplane.stop("dataplane: {"));
    assert_eq!(summary["live_orders"], 0, "{summary}");
}

#[test]
fn malformed_feed_frames_are_counted_and_books_stay_intact() {
    if !netns::xdp_tests_enabled("malformed_feed_frames_are_counted_and_books_stay_intact") {
        return;
    }
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut stack = Stack::start(&["--flow", "synthetic", "--rate", "3000", "--seed", "13"]);
    let dataplane = stack.dataplane("afxdp", |config| {
        config.replace(
            "enabled = true\n[strategies",
            "enabled = false\n[strategies",
        )
    });
    for _ in 0..5 {
        stack
            .admin
            .request(serde_json::json!({"cmd": "malformed", "count": 400}));
        thread::sleep(Duration::from_millis(300));
    }
    stack
        .admin
        .request(serde_json::json!({"cmd": "flow", "rate": 0}));
    thread::sleep(Duration::from_secs(2));
    let summary = summary_of(&dataplane.stop("dataplane: {"));
    assert!(
        summary["feed_malformed"].as_u64().unwrap() >= 1000,
        "counted drops: {summary}"
    );
    books_equal(&mut stack);
}

const BINANCE_SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/binance/btcusdt_20240808.gz"
);
const BINANCE_PORT: u16 = 26_500;

/// A Binance feed and the BTCUSDT symbol added to the example configuration, strategies off.
fn with_binance_feed(config: &str) -> String {
    let mut config = config.replace(
        "enabled = true\n[strategies",
        "enabled = false\n[strategies",
    );
    config.push_str(&format!(
        "\n[[feeds]]\nname = \"binance\"\nkind = \"binance\"\nlisten = \"0.0.0.0:{BINANCE_PORT}\"\n\
         \n[[symbols]]\nname = \"BTCUSDT\"\nfeed = \"binance\"\n"
    ));
    config
}

/// Datagrams that must be counted as drops: malformed or unrecognised JSON (`decode`), and
/// bytes that are neither JSON nor a relay fragment (`framing`).
fn bad_binance_datagrams(round: usize) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let decode = vec![
        br#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":"#
            .to_vec(),
        b"{not json at all".to_vec(),
        br#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","s":"BTCUSDT"}}"#.to_vec(),
        br#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":[["-1.0","x"]],"a":[]}}"#.to_vec(),
        format!("{{\"round\":{round}}}").into_bytes(),
    ];
    let framing = vec![
        vec![0xff; 40],
        b"TWBR".to_vec(),
        // A relay header with fragment index beyond its count.
        b"TWBR\0\0\0\0\0\0\0\x01\0\x09\0\x02junk".to_vec(),
    ];
    (decode, framing)
}

/// The venue replays the btcusdt sample in relay framing (snapshot in band), with malformed
/// datagrams mixed in; the data plane's final book equals the offline tool's, every message
/// arrived, and the bad datagrams are counted drops.
fn binance_scenario(backend: &str) {
    let stack = Stack::start(&["--flow", "none"]);
    let dataplane = stack.dataplane(backend, |config| with_binance_feed(&config));

    // The replay runs in a second venue process, started once the data plane listens.
    let mut command =
        Topology::command_in(&stack.topology.venue_ns, venue_binary().to_str().unwrap());
    command.args([
        "--binance",
        BINANCE_SAMPLE,
        "--binance-dest",
        &format!("{}:{BINANCE_PORT}", stack.topology.gateway_ip),
        "--binance-rate",
        "4000",
        "--binance-relay",
        "1400",
    ]);
    let replay = Process::spawn("binance replay", command);

    // Bad datagrams, mixed into the replay from the venue's namespace.
    let socket = {
        let _inside = Topology::enter(&stack.topology.venue_ns).unwrap();
        std::net::UdpSocket::bind((stack.topology.venue_ip, 0)).unwrap()
    };
    let (mut decode_bad, mut framing_bad) = (0u64, 0u64);
    for round in 0..20 {
        let (decode, framing) = bad_binance_datagrams(round);
        for datagram in &decode {
            socket
                .send_to(datagram, (stack.topology.gateway_ip, BINANCE_PORT))
                .unwrap();
        }
        for datagram in &framing {
            socket
                .send_to(datagram, (stack.topology.gateway_ip, BINANCE_PORT))
                .unwrap();
        }
        decode_bad += decode.len() as u64;
        framing_bad += framing.len() as u64;
        thread::sleep(Duration::from_millis(200));
    }
    let done = replay.wait_for_within("venue: binance replay done ", Duration::from_secs(60));
    let sent: Value =
        serde_json::from_str(done.trim_start_matches("venue: binance replay done ")).unwrap();
    drop(replay);
    thread::sleep(Duration::from_secs(1));
    let summary = summary_of(&dataplane.stop("dataplane: {"));

    // The same file, offline.
    let output = Command::new(DATAPLANE)
        .args([
            "book",
            "--format",
            "binance",
            "--depth",
            "100000",
            BINANCE_SAMPLE,
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let offline_applied = text
        .lines()
        .filter(|line| line.starts_with("{\"update_id\""))
        .count() as u64;
    let offline: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(offline["event"], "book");

    let books = stack.dumped_books();
    let book = &books["BTCUSDT"];
    let feed = &books["binance_feeds"]["binance"];
    let lines = BINANCE_SAMPLE_LINES;
    assert_eq!(sent["messages"], lines, "the venue sent every line: {sent}");
    assert_eq!(feed["messages"], lines, "every message decoded: {feed}");
    assert_eq!(feed["messages_lost"], 0, "{feed}");
    assert_eq!(feed["decode_errors"].as_u64(), Some(decode_bad), "{feed}");
    assert_eq!(feed["framing_errors"].as_u64(), Some(framing_bad), "{feed}");
    assert_eq!(feed["snapshots"], 1, "{feed}");
    assert_eq!(feed["ticker_mismatches"], 0, "{feed}");
    assert!(
        summary["feed_malformed"].as_u64().unwrap() >= decode_bad + framing_bad,
        "{summary}"
    );
    assert_eq!(book["state"], "synced", "{}", book["counters"]);
    assert_eq!(book["counters"]["gaps"], 0);
    assert_eq!(book["counters"]["applied"].as_u64(), Some(offline_applied));
    assert_eq!(book["last_update_id"], offline["last_update_id"]);
    assert!(book["bids"].as_array().unwrap().len() > 1000, "a deep book");
    assert_eq!(book["bids"], offline["bids"], "bids equal the offline book");
    assert_eq!(book["asks"], offline["asks"], "asks equal the offline book");
}

/// Lines of the btcusdt sample: 41,248 stream messages and the snapshot.
const BINANCE_SAMPLE_LINES: u64 = 41_249;

#[test]
fn binance_replay_builds_the_offline_book_on_afxdp() {
    if netns::xdp_tests_enabled("binance_replay_builds_the_offline_book_on_afxdp") {
        let _serial = SERIAL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        binance_scenario("afxdp");
    }
}

#[test]
fn binance_replay_builds_the_offline_book_on_sockets() {
    if netns::xdp_tests_enabled("binance_replay_builds_the_offline_book_on_sockets") {
        let _serial = SERIAL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        binance_scenario("socket");
    }
}
