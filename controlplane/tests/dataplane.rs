//! The control plane against the REAL data plane, trading for real: the venue simulator in one
//! network namespace, `tickwire-dataplane run` on AF_XDP in the other (as `nobody` with only
//! the capabilities it needs: both ends of the iceoryx2 link must be the same user), and
//! `tickwire-controlplane run` as `nobody` too.
//!
//! One scenario per storage backend, checking what the issue asks:
//! - a limit changed through REST is the one the next order is checked against (a lowered
//!   `max_order_qty` rejects the next quotes, naming that limits version; raising it again
//!   lets orders through under the new version);
//! - a `kill -9` and restart of the control plane in the middle of trading loses nothing;
//! - kill through REST stops orders at the venue (working orders cancelled, no new ones);
//! - a restarted data plane continues the audit sequence and gets the newest limits;
//! - at the end the stored audit rows equal the data plane's audit log line for line, and
//!   the order intents among them equal what the venue received (count and content).
//!
//! Needs root (namespaces, XDP); skipped otherwise, unless `TICKWIRE_REQUIRE_XDP=1`.

mod support;

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use support::Tokens;
use support::pg::Postgres;
use support::process::{
    ChildGuard, Scratch, WAIT, controlplane_bin, free_port, http, wait_until, write_config,
};
use tickwire_common::{Price, Qty};
use tickwire_controlplane::storage::{AuditFilter, AuditRow, Storage};
use tickwire_dataplane::netns::{self, Topology};
use tickwire_link::abi::{AuditKind, RiskReason};

const DATAPLANE_CONFIG: &str = include_str!("../../dataplane/config/itch-ufo.toml");
const USER: &str = "TW0001";
/// What the data plane needs and nothing more: XDP attach and maps (`net_admin`, `bpf`,
/// `perfmon` for the verifier's packet-pointer checks), AF_XDP sockets (`net_raw`), UMEM
/// locking (`ipc_lock`).
const CAPS: &str = "+net_admin,+net_raw,+bpf,+perfmon,+ipc_lock";

/// A workspace binary next to this test's directory, built (or found fresh) by cargo.
fn workspace_binary(package: &str, binary: &str) -> PathBuf {
    let directory = std::env::current_exe()
        .expect("test path")
        .parent()
        .and_then(Path::parent)
        .expect("target directory")
        .to_path_buf();
    // Always through cargo (a no-op when fresh): a binary of another package is not rebuilt
    // by `cargo test -p tickwire-controlplane`, and a stale one would test old code.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(["build", "-p", package, "--bin", binary]);
    if directory.ends_with("release") {
        command.arg("--release");
    }
    assert!(
        command.status().expect("cargo").success(),
        "building {binary}"
    );
    directory.join(binary)
}

/// The venue's admin socket (JSON lines), reached from inside the venue namespace.
struct Admin {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Admin {
    fn connect(topology: &Topology, port: u16) -> Self {
        let stream = {
            let _inside = Topology::enter(&topology.venue_ns).expect("enter venue namespace");
            TcpStream::connect((topology.venue_ip, port)).expect("venue admin")
        };
        stream.set_read_timeout(Some(WAIT)).expect("timeout");
        Self {
            reader: BufReader::new(stream.try_clone().expect("clone")),
            writer: stream,
        }
    }

    fn request(&mut self, request: &Value) -> Value {
        writeln!(self.writer, "{request}").expect("admin write");
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("admin read");
        let answer: Value = serde_json::from_str(&line).expect("admin json");
        assert_ne!(answer["ok"], Value::Bool(false), "{request} -> {answer}");
        answer
    }

    fn list(&mut self, command: &str) -> Vec<Value> {
        self.request(&json!({"cmd": command, "user": USER}))["orders"]
            .as_array()
            .expect("orders")
            .clone()
    }
}

fn venue(topology: &Topology) -> ChildGuard {
    let mut command = Topology::command_in(
        &topology.venue_ns,
        workspace_binary("tickwire-venue", "tickwire-venue")
            .to_str()
            .expect("utf-8 path"),
    );
    command.args([
        "--feed",
        "239.77.0.1:26400",
        "--feed-bind",
        &format!("{}:0", topology.venue_ip),
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
        "--flow",
        "synthetic",
        "--rate",
        "3000",
        "--seed",
        "5",
    ]);
    let mut venue = ChildGuard::from_command("venue", command);
    venue.wait_line("venue: ready", WAIT);
    venue
}

/// The example data-plane configuration, wired to this run's namespaces and link files.
fn dataplane_config(scratch: &Scratch, topology: &Topology) -> PathBuf {
    let text = DATAPLANE_CONFIG
        .replace(
            "iface = \"tw-gw0\"",
            &format!("iface = \"{}\"", topology.gateway_iface),
        )
        .replace("backend = \"auto\"", "backend = \"afxdp\"")
        .replace("core = 0 ", "# core = 0 ")
        .replace("lock_memory = true", "lock_memory = false")
        .replace(
            "audit_log = \"/var/lib/tickwire/audit.jsonl\"",
            &format!("audit_log = \"{}\"", audit_log_path(scratch).display()),
        )
        .replace(
            "service_prefix = \"tickwire\"",
            &format!("service_prefix = \"{}\"", scratch.tag),
        )
        .replace(
            "# root_path = \"/run/tickwire/iceoryx2/\"",
            &format!("root_path = \"{}\"", scratch.iceoryx_root()),
        )
        .replace(
            "# file_prefix = \"iox2_\"",
            &format!("file_prefix = \"{}\"", scratch.file_prefix()),
        );
    let path = scratch.path("dataplane.toml");
    std::fs::write(&path, text).expect("data plane config");
    path
}

fn audit_log_path(scratch: &Scratch) -> PathBuf {
    scratch.path("audit.jsonl")
}

/// `tickwire-dataplane run` in the gateway namespace as `nobody` with [`CAPS`].
fn dataplane(name: &str, scratch: &Scratch, topology: &Topology, config: &Path) -> ChildGuard {
    let binary = scratch.install(&workspace_binary(
        "tickwire-dataplane",
        "tickwire-dataplane",
    ));
    let mut command = Topology::command_in(&topology.gateway_ns, "setpriv");
    command
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            &format!("--inh-caps={CAPS}"),
            &format!("--ambient-caps={CAPS}"),
            "--",
        ])
        .arg(binary)
        .args(["run", "--config"])
        .arg(config);
    let mut dataplane = ChildGuard::from_command(name, command);
    dataplane.wait_line("dataplane: ready", WAIT);
    dataplane
}

fn controlplane(name: &str, scratch: &Scratch, config: &Path) -> ChildGuard {
    let mut process = ChildGuard::spawn(
        name,
        &scratch.install(&controlplane_bin()),
        &[
            "run".to_owned(),
            "--config".to_owned(),
            config.display().to_string(),
        ],
    );
    process.wait_line("listening on", WAIT);
    process
}

/// The data plane's audit log, complete lines only (it may be mid-write).
fn audit_log(scratch: &Scratch) -> Vec<Value> {
    let text = std::fs::read_to_string(audit_log_path(scratch)).unwrap_or_default();
    text.split_inclusive('\n')
        .filter(|line| line.ends_with('\n'))
        .map(|line| serde_json::from_str(line).expect("audit line"))
        .collect()
}

fn stored_seq(address: &str, token: &str) -> u64 {
    http(address, "GET", "/api/status", Some(token), None)
        .ok()
        .filter(|(code, _)| *code == 200)
        .and_then(|(_, body)| serde_json::from_str::<Value>(&body).ok())
        .and_then(|status| status["audit_seq_stored"].as_u64())
        .unwrap_or(0)
}

fn put_max_order_qty(address: &str, token: &str, qty: &str) -> u64 {
    let global = json!({
        "max_order_qty": qty, "max_order_notional": "250000", "max_gross_notional": "5000000",
        "daily_loss_limit": "50000", "max_data_age_ms": 1000, "collar_bps": 500,
        "orders_per_second": 1000, "order_burst": 100
    });
    let (code, body) = http(
        address,
        "PUT",
        "/api/limits/global",
        Some(token),
        Some(&global),
    )
    .expect("PUT");
    assert_eq!(code, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("json");
    answer["version"].as_u64().expect("version")
}

fn is_order(record: &Value) -> bool {
    record["kind"] == "order_intent" || record["kind"] == "replace_intent"
}

/// Index of the first record at or after `from` that satisfies `check`, waiting for it.
fn wait_for_record(
    scratch: &Scratch,
    what: &str,
    from: usize,
    check: impl Fn(&Value) -> bool,
) -> usize {
    let mut found = None;
    wait_until(what, WAIT, || {
        found = audit_log(scratch)
            .iter()
            .skip(from)
            .position(&check)
            .map(|offset| from + offset);
        found.is_some()
    });
    found.expect("found")
}

/// A stored row and an audit-log line describe the same record.
fn same_record(row: &AuditRow, line: &Value) -> bool {
    let reason = match AuditKind::from_raw(u16::try_from(row.kind_code).unwrap_or(u16::MAX)) {
        Some(AuditKind::RiskReject | AuditKind::OrderIntent | AuditKind::ReplaceIntent) => {
            u16::try_from(row.reason)
                .ok()
                .and_then(RiskReason::from_raw)
                .map_or("unknown", RiskReason::name)
                .to_owned()
        }
        _ => row.reason.to_string(),
    };
    let order_id = u64::from_ne_bytes(row.order_id.to_ne_bytes());
    line["seq"].as_i64() == Some(row.seq)
        && line["ts_ns"].as_i64() == Some(row.ts_ns)
        && line["kind"] == row.kind.as_str()
        && line["reason"] == reason.as_str()
        // The storage keeps "no strategy" (255 on the wire) as -1.
        && line["strategy"].as_i64() == Some(if row.strategy == -1 { 255 } else { i64::from(row.strategy) })
        && line["symbol"] == row.symbol.as_str()
        && line["side"] == row.side.as_str()
        && line["price"] == Price::from_raw(row.price).to_string().as_str()
        && line["qty"] == Qty::from_raw(row.qty).to_string().as_str()
        && line["token"] == row.token.as_str()
        && line["order_id"].as_u64() == Some(order_id)
        && line["trigger_seq"].as_i64() == Some(row.trigger_seq)
        && line["limits_version"].as_i64() == Some(row.limits_version)
        && line["aux"].as_i64() == Some(row.aux)
        && line["aux2"].as_i64() == Some(row.aux2)
        && line["actor"] == row.actor.as_str()
}

#[allow(
    clippy::too_many_lines,
    reason = "one trading session, checked step by step"
)]
async fn trade_against_the_venue(storage_url: &str, scratch: &Scratch) {
    // Every binary built before anything starts: a venue must not wait minutes for a build.
    workspace_binary("tickwire-venue", "tickwire-venue");
    workspace_binary("tickwire-dataplane", "tickwire-dataplane");
    let prefix = format!("c{}{}", std::process::id() % 10_000, free_port() % 1000);
    let topology = Topology::create(&prefix).expect("namespaces");
    let _venue = venue(&topology);
    let mut admin = Admin::connect(&topology, 27100);

    let tokens = Tokens::new();
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    // The example's per-symbol limits name AAPL; the data plane's example quotes BOB, and a
    // symbol without limits is rejected.
    let cp_config = write_config(
        scratch,
        storage_url,
        &tokens,
        port,
        &[("symbol = \"AAPL\"", "symbol = \"BOB\"")],
    );
    let mut cp = controlplane("cp-1", scratch, &cp_config);
    let dp_config = dataplane_config(scratch, &topology);
    let mut dp = dataplane("dp-1", scratch, &topology, &dp_config);
    wait_until("quotes at the venue", WAIT, || {
        !admin.list("open_orders").is_empty()
    });
    wait_until("records stored", WAIT, || {
        stored_seq(&address, &tokens.viewer) > 0
    });

    // A lowered max_order_qty (below the market maker's 100-share quotes) rejects the next
    // quote, naming the new limits version; nothing passes under it.
    let low = put_max_order_qty(&address, &tokens.risk_admin, "50");
    let applied = wait_for_record(scratch, "limits applied", 0, |record| {
        record["kind"] == "limits_applied" && record["limits_version"] == low
    });
    assert_eq!(audit_log(scratch)[applied]["actor"], "rita");
    let rejected = wait_for_record(scratch, "a quote rejected by max_order_qty", applied, |r| {
        r["kind"] == "risk_reject" && r["reason"] == "max_order_qty"
    });
    assert_eq!(audit_log(scratch)[rejected]["limits_version"], low);
    let high = put_max_order_qty(&address, &tokens.risk_admin, "1000");
    let raised = wait_for_record(scratch, "limits raised", applied, |record| {
        record["kind"] == "limits_applied" && record["limits_version"] == high
    });
    let log = audit_log(scratch);
    assert!(
        log[applied..raised]
            .iter()
            .filter(|record| is_order(record) || record["kind"] == "risk_reject")
            .all(|record| record["limits_version"] == low && !is_order(record)),
        "under version {low} every quote is checked against it and rejected"
    );
    wait_for_record(
        scratch,
        "an order under the raised limit",
        raised,
        |record| is_order(record) && record["limits_version"] == high,
    );

    // kill -9 of the control plane while the data plane trades on; a restart catches up.
    cp.kill9();
    let at_crash = audit_log(scratch).len();
    wait_until("trading while the control plane is down", WAIT, || {
        audit_log(scratch).len() > at_crash + 50
    });
    let mut cp = controlplane("cp-2", scratch, &cp_config);

    // Kill through REST: working orders cancelled at the venue, no new order or replace.
    let (code, body) = http(
        &address,
        "POST",
        "/api/kill",
        Some(&tokens.trader),
        Some(&json!({ "reason": "end of test" })),
    )
    .expect("POST /api/kill");
    assert_eq!(code, 202, "{body}");
    let killed = wait_for_record(scratch, "kill switch on", 0, |record| {
        record["kind"] == "kill_switch_on" && record["actor"] == "tom"
    });
    wait_until("nothing working at the venue", WAIT, || {
        admin.list("open_orders").is_empty()
    });
    let seen = admin.list("orders").len();
    std::thread::sleep(Duration::from_secs(1));
    let after: Vec<Value> = admin.list("orders").into_iter().skip(seen).collect();
    assert!(
        after.iter().all(|order| order["type"] == "X"),
        "no new order or replace after the kill: {after:?}"
    );
    // While killed the risk gate still passes risk-reducing orders (they are audited like any
    // other); none reaches the venue once the kill-switch sweep has cancelled everything,
    // which is what the venue's record above shows.
    assert!(
        audit_log(scratch)[killed..]
            .iter()
            .any(|record| record["kind"] == "cancel_intent"),
        "the kill switch cancels working orders"
    );

    // A clean stop; then a restarted data plane continues the sequence under the newest
    // limits, the unkill (the control plane's limits service keeps its last sample for late
    // joiners).
    dp.signal("INT");
    assert!(dp.wait_exit(WAIT).success(), "clean data plane exit");
    let first_run = audit_log(scratch);
    let (code, body) = http(
        &address,
        "DELETE",
        "/api/kill",
        Some(&tokens.risk_admin),
        Some(&json!({ "reason": "restart" })),
    )
    .expect("DELETE /api/kill");
    assert_eq!(code, 202, "{body}");
    // Kill and unkill are limits versions too (the flag travels with the limits).
    let unkilled = serde_json::from_str::<Value>(&body).expect("unkill answer")["limits_version"]
        .as_u64()
        .expect("unkill limits version");
    assert!(unkilled > high, "{body}");
    let mut dp = dataplane("dp-2", scratch, &topology, &dp_config);
    let resumed = wait_for_record(
        scratch,
        "an order of the second run",
        first_run.len(),
        is_order,
    );
    let log = audit_log(scratch);
    assert_eq!(
        log[first_run.len()]["seq"].as_u64(),
        first_run
            .last()
            .and_then(|record| record["seq"].as_u64())
            .map(|seq| seq + 1),
        "the second run continues the sequence"
    );
    assert_eq!(log[resumed]["limits_version"], unkilled);
    wait_until("the second run's quotes at the venue", WAIT, || {
        !admin.list("open_orders").is_empty()
    });

    dp.signal("INT");
    assert!(dp.wait_exit(WAIT).success(), "clean data plane exit");

    // Everything the data plane logged is stored, line for line.
    let log = audit_log(scratch);
    let last = log
        .last()
        .and_then(|record| record["seq"].as_u64())
        .expect("seq");
    wait_until("everything stored", WAIT, || {
        stored_seq(&address, &tokens.viewer) >= last
    });
    let exit = cp.terminate(WAIT);
    assert!(exit.success(), "graceful control plane shutdown: {exit}");
    let storage = Storage::connect(storage_url, 2).await.expect("storage");
    let rows = storage
        .audit(&AuditFilter {
            limit: 1_000_000,
            ..AuditFilter::default()
        })
        .await
        .expect("rows");
    storage.close().await;
    assert_eq!(rows.len(), log.len(), "one stored row per logged record");
    for (row, line) in rows.iter().zip(&log) {
        assert!(same_record(row, line), "row {row:?} differs from {line}");
    }

    // The stored order intents are what the venue received, in order.
    let entered: Vec<Value> = admin
        .list("orders")
        .into_iter()
        .filter(|order| order["type"] == "O")
        .collect();
    let intents: Vec<&AuditRow> = rows
        .iter()
        .filter(|row| row.kind == "order_intent")
        .collect();
    assert_eq!(intents.len(), entered.len(), "one intent per venue order");
    for (row, order) in intents.iter().zip(&entered) {
        assert_eq!(order["token"], row.token.as_str());
        assert_eq!(order["side"], row.side.as_str());
        let shares = i64::try_from(order["shares"].as_u64().expect("shares")).expect("i64");
        let price = i64::try_from(order["price"].as_u64().expect("price")).expect("i64");
        assert_eq!(row.qty, shares * 100_000_000);
        assert_eq!(row.price, price * 10_000);
    }
    let replaces = admin
        .list("orders")
        .iter()
        .filter(|order| order["type"] == "U")
        .count();
    assert_eq!(
        rows.iter()
            .filter(|row| row.kind == "replace_intent")
            .count(),
        replaces
    );
    drop(admin);
}

/// One busy-polling data plane at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_real_data_plane_limits_kill_and_audit() {
    if !netns::xdp_tests_enabled("sqlite_real_data_plane_limits_kill_and_audit") {
        return;
    }
    let _serial = SERIAL.lock().await;
    let scratch = Scratch::new("dp-sqlite");
    let url = format!("sqlite:{}", scratch.path("audit.db").display());
    trade_against_the_venue(&url, &scratch).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_real_data_plane_limits_kill_and_audit() {
    if !netns::xdp_tests_enabled("postgres_real_data_plane_limits_kill_and_audit") {
        return;
    }
    let _serial = SERIAL.lock().await;
    let Some(postgres) = Postgres::start("postgres_real_data_plane_limits_kill_and_audit").await
    else {
        return;
    };
    let scratch = Scratch::new("dp-pg");
    trade_against_the_venue(&postgres.url, &scratch).await;
}
