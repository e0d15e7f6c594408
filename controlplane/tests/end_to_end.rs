//! The real `tickwire-controlplane` binary against the scripted data plane
//! (`tickwire-fake-dataplane`), both as separate processes under one unprivileged user
//! (`nobody` when the tests run as root): a limit changed through REST is the one the next
//! orders carry, kill through REST stops order intents, and after a `kill -9` and restart of
//! the control plane in the middle of the stream the database holds exactly what the data
//! plane published (count and content), on SQLite and on PostgreSQL.

mod support;

use std::path::Path;
use std::time::Duration;

use support::Tokens;
use support::pg::Postgres;
use support::process::{
    ChildGuard, Scratch, WAIT, controlplane_bin, fake_bin, free_port, http, wait_until,
    write_config,
};
use tickwire_controlplane::config::EXAMPLE;
use tickwire_controlplane::storage::{AuditFilter, AuditRow, Storage};
use tickwire_link::abi::{AuditKind, text_of};
use tickwire_link::fake::read_log;

struct ControlPlane {
    process: ChildGuard,
    address: String,
}

fn start_controlplane(scratch: &Scratch, name: &str, config: &Path, port: u16) -> ControlPlane {
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
    ControlPlane {
        process,
        address: format!("127.0.0.1:{port}"),
    }
}

fn status(address: &str, token: &str) -> Option<serde_json::Value> {
    let (code, body) = http(address, "GET", "/api/status", Some(token), None).ok()?;
    (code == 200)
        .then(|| serde_json::from_str(&body).ok())
        .flatten()
}

fn stored_seq(address: &str, token: &str) -> u64 {
    status(address, token)
        .and_then(|status| status["audit_seq_stored"].as_u64())
        .unwrap_or(0)
}

async fn trade_through_a_control_plane_crash(storage_url: &str, scratch: &Scratch) {
    let tokens = Tokens::new();
    let port = free_port();
    let config = write_config(scratch, storage_url, &tokens, port, &[]);
    let log = scratch.path("fake.log");
    let mut fake_args = scratch.fake_link_args();
    fake_args.extend(
        [
            "--count",
            "40000",
            "--rate",
            "8000",
            "--ring",
            "200000",
            "--stats-ms",
            "100",
            "--log",
        ]
        .iter()
        .map(|arg| (*arg).to_owned()),
    );
    fake_args.push(log.display().to_string());
    let mut fake = ChildGuard::spawn("fake", &scratch.install(&fake_bin()), &fake_args);
    fake.wait_line("ready", WAIT);

    let mut controlplane = start_controlplane(scratch, "cp-1", &config, port);
    let address = controlplane.address.clone();
    // The start-up limits (version 1, from the configuration) reach the data plane.
    let first = fake.wait_line("limits version=", WAIT);
    assert!(first.starts_with("limits version=1 "), "{first}");
    wait_until("4000 records stored", WAIT, || {
        stored_seq(&address, &tokens.viewer) >= 4_000
    });

    // A limit changed through REST.
    let mut global = serde_json::json!({
        "max_order_qty": "77", "max_order_notional": "250000", "max_gross_notional": "5000000",
        "daily_loss_limit": "50000", "max_data_age_ms": 1000, "collar_bps": 500,
        "orders_per_second": 100, "order_burst": 20
    });
    let (code, body) = http(
        &address,
        "PUT",
        "/api/limits/global",
        Some(&tokens.trader),
        Some(&global),
    )
    .expect("request");
    assert_eq!(code, 403, "traders may not change limits: {body}");
    let (code, body) = http(
        &address,
        "PUT",
        "/api/limits/global",
        Some(&tokens.risk_admin),
        Some(&global),
    )
    .expect("request");
    assert_eq!(code, 200, "{body}");
    let change: serde_json::Value = serde_json::from_str(&body).expect("json");
    let version = change["version"].as_u64().expect("version");
    let applied = fake.wait_line(&format!("limits version={version} "), WAIT);
    assert!(
        applied.contains("actor=rita") && applied.contains("max_order_qty=7700000000"),
        "{applied}"
    );
    global["max_order_qty"] = serde_json::json!("-1");
    let (code, body) = http(
        &address,
        "PUT",
        "/api/limits/global",
        Some(&tokens.risk_admin),
        Some(&global),
    )
    .expect("request");
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("global.max_order_qty"), "{body}");

    // kill -9 in the middle of the stream, then a restart.
    wait_until("12000 records stored", WAIT, || {
        stored_seq(&address, &tokens.viewer) >= 12_000
    });
    controlplane.process.kill9();
    let at_crash = read_log(&log).expect("log").len();
    assert!(
        at_crash < 40_000,
        "the crash came mid-stream ({at_crash} published)"
    );
    std::thread::sleep(Duration::from_millis(500));
    let mut controlplane = start_controlplane(scratch, "cp-2", &config, port);

    // Kill through REST (a trader may) stops order intents.
    let (code, body) = http(
        &address,
        "POST",
        "/api/kill",
        Some(&tokens.trader),
        Some(&serde_json::json!({ "reason": "end of test" })),
    )
    .expect("request");
    assert_eq!(code, 202, "{body}");
    let line = fake.wait_line("command kind=kill_switch_on", WAIT);
    assert!(
        line.contains("actor=tom") && line.contains("reason=end_of_test"),
        "{line}"
    );
    wait_until("the kill switch in the status", WAIT, || {
        status(&address, &tokens.viewer).is_some_and(|status| status["kill_switch"] == true)
    });

    fake.wait_line("done", WAIT);
    // Every record the data plane published is stored.
    let published = read_log(&log).expect("log");
    let last = published.last().expect("records").seq;
    wait_until("everything stored", WAIT, || {
        stored_seq(&address, &tokens.viewer) >= last
    });
    let exit = controlplane.process.terminate(WAIT);
    assert!(exit.success(), "graceful shutdown: {exit}");

    let storage = Storage::connect(storage_url, 2).await.expect("storage");
    let rows = storage
        .audit(&AuditFilter {
            limit: 1_000_000,
            ..AuditFilter::default()
        })
        .await
        .expect("rows");
    assert_eq!(
        rows.len(),
        published.len(),
        "row count equals what was published"
    );
    for (row, record) in rows.iter().zip(&published) {
        assert_eq!(
            *row,
            AuditRow::from_record(record),
            "row {} content",
            record.seq
        );
    }

    // The orders after the limit change carry its version; none after the kill.
    let limits_ack = published
        .iter()
        .position(|record| {
            record.audit_kind() == Some(AuditKind::LimitsApplied)
                && record.limits_version == version
        })
        .expect("limits acknowledged");
    assert_eq!(text_of(&published[limits_ack].actor), "rita");
    let next_order = published[limits_ack..]
        .iter()
        .find(|record| record.audit_kind() == Some(AuditKind::OrderIntent))
        .expect("an order after the change");
    assert_eq!(next_order.limits_version, version);
    let kill = published
        .iter()
        .position(|record| record.audit_kind() == Some(AuditKind::KillSwitchOn))
        .expect("kill acknowledged");
    assert_eq!(text_of(&published[kill].actor), "tom");
    assert!(
        !published[kill..]
            .iter()
            .any(|record| record.audit_kind() == Some(AuditKind::OrderIntent)),
        "no order intent after the kill"
    );
    assert!(
        published[kill..]
            .iter()
            .any(|record| record.audit_kind() == Some(AuditKind::RiskReject))
    );

    let mutations = storage.mutations(0, 100).await.expect("mutations");
    let actions: Vec<(&str, &str)> = mutations
        .iter()
        .map(|row| (row.action.as_str(), row.actor.as_str()))
        .collect();
    assert!(
        actions.contains(&("limits_global_put", "rita")),
        "{actions:?}"
    );
    assert!(actions.contains(&("kill", "tom")), "{actions:?}");
    storage.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_nothing_lost_across_a_kill_9_of_the_control_plane() {
    let scratch = Scratch::new("e2e-sqlite");
    let url = format!("sqlite:{}", scratch.path("audit.db").display());
    trade_through_a_control_plane_crash(&url, &scratch).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_nothing_lost_across_a_kill_9_of_the_control_plane() {
    let Some(postgres) = Postgres::start("postgres_nothing_lost_across_a_kill_9").await else {
        return;
    };
    let scratch = Scratch::new("e2e-pg");
    trade_through_a_control_plane_crash(&postgres.url, &scratch).await;
}

#[test]
fn refuses_to_run_as_root() {
    if !support::process::is_root() {
        eprintln!("SKIPPED: not root, nothing to refuse");
        return;
    }
    let scratch = Scratch::new("root");
    let config = scratch.path("cp.toml");
    std::fs::write(&config, EXAMPLE).expect("config");
    let output = std::process::Command::new(controlplane_bin())
        .args(["run", "--config"])
        .arg(&config)
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("refusing to run as root"), "{stderr}");
}

#[test]
fn cli_prints_the_example_and_creates_tokens_shown_once() {
    let output = std::process::Command::new(controlplane_bin())
        .args(["config", "example"])
        .output()
        .expect("config example");
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout), EXAMPLE);

    let scratch = Scratch::new("cli");
    let config = scratch.path("cp.toml");
    std::fs::write(&config, EXAMPLE).expect("config");
    let output = std::process::Command::new(controlplane_bin())
        .args([
            "token", "create", "--role", "trader", "--name", "dana", "--config",
        ])
        .arg(&config)
        .output()
        .expect("token create");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(token.starts_with("tw_") && token.len() == 67, "{token}");
    let text = std::fs::read_to_string(&config).expect("config");
    assert!(!text.contains(&token), "only the hash is stored");
    assert!(text.contains("name = \"dana\"") && text.contains("role = \"trader\""));
    let check = std::process::Command::new(controlplane_bin())
        .args(["config", "check", "--config"])
        .arg(&config)
        .env("TICKWIRE_STORAGE_BATCH_ROWS", "0")
        .output()
        .expect("config check");
    assert!(!check.status.success());
    assert!(String::from_utf8_lossy(&check.stderr).contains("storage.batch_rows"));
    let bad_role = std::process::Command::new(controlplane_bin())
        .args(["token", "create", "--role", "admin", "--config"])
        .arg(&config)
        .output()
        .expect("token create");
    assert!(!bad_role.status.success());
}
