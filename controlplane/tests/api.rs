//! The REST API through `oneshot` on `app(state)` over a real SQLite file: the auth matrix,
//! 422s naming the field, limits / kill / strategy flows down to the (recording) link,
//! pagination, `/metrics` parsed as exposition format, the OpenAPI document, and that tokens
//! never reach the logs.

mod support;

use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};
use support::{TestApp, concrete, sample_body};
use tickwire_controlplane::api::{ApiDoc, ROUTES};
use tickwire_controlplane::auth::Role;
use tickwire_link::abi::{
    AuditKind, AuditRecord, CommandKind, LATENCY_BUCKETS, MAX_STRATEGIES, PositionRecord,
    RISK_REASONS, STAT_COUNTERS, StatCounter, Stats, TopRecord, fixed_text, latency_bucket,
};
use tickwire_link::transport::LinkEvent;
use utoipa::OpenApi;

fn stats(audit_seq: u64) -> Stats {
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
    let mut stats = Stats {
        ts_ns: 1,
        audit_seq,
        limits_version: 1,
        counters: [0; STAT_COUNTERS],
        risk_rejects: [0; RISK_REASONS],
        latency_buckets: [0; LATENCY_BUCKETS],
        tops: [empty_top; 32],
        positions: [empty_position; 32],
        strategy_enabled: [0; MAX_STRATEGIES],
    };
    stats.counters[StatCounter::OrdersSent as usize] = 90;
    stats.counters[StatCounter::Fills as usize] = 30;
    stats.risk_rejects[3] = 4;
    for _ in 0..90 {
        stats.latency_buckets[latency_bucket(900)] += 1;
    }
    for _ in 0..10 {
        stats.latency_buckets[latency_bucket(50_000)] += 1;
    }
    stats.tops[0] = TopRecord {
        symbol: *b"AAPL    ",
        bid_price: 10_000_000_000,
        bid_qty: 100,
        ask_price: 10_001_000_000,
        ask_qty: 200,
        stale: 0,
        pad: 0,
    };
    stats.positions[0] = PositionRecord {
        symbol: *b"AAPL    ",
        qty: 5_000_000_000,
        avg_price: 10_000_000_000,
        realized_pnl: 1_250_000_000,
        unrealized_pnl: -250_000_000,
        open_orders: 2,
        pad: 0,
    };
    stats.strategy_enabled[0] = 1;
    stats
}

fn record(seq: u64, kind: AuditKind, symbol: &str) -> AuditRecord {
    let mut record = AuditRecord::new(kind);
    record.seq = seq;
    record.ts_ns = 1_000 + seq * 10;
    let mut padded = [b' '; 8];
    padded[..symbol.len()].copy_from_slice(symbol.as_bytes());
    record.symbol = padded;
    record.token = fixed_text(&format!("T{:013}", seq.div_ceil(3)));
    record.side = b'B';
    record.price = 10_000_000_000;
    record.qty = 100;
    record.actor = fixed_text("engine");
    record
}

fn records(count: u64) -> Vec<AuditRecord> {
    (1..=count)
        .map(|seq| {
            let kind = match seq % 3 {
                1 => AuditKind::OrderIntent,
                2 => AuditKind::VenueAccepted,
                _ => AuditKind::VenueExecuted,
            };
            record(
                seq,
                kind,
                if seq.is_multiple_of(2) {
                    "AAPL"
                } else {
                    "MSFT"
                },
            )
        })
        .collect()
}

#[tokio::test]
async fn auth_matrix_every_route_with_no_token_and_each_role() {
    let app = TestApp::sqlite().await;
    let mut checked = 0;
    for route in ROUTES {
        let path = concrete(route.path);
        let body = sample_body(&route.method, route.path);
        // No token.
        let (status, _) = app
            .call(route.method.clone(), &path, None, body.clone())
            .await;
        match route.role {
            None => assert!(
                status.is_success(),
                "{} {path} public: {status}",
                route.method
            ),
            Some(_) => assert_eq!(status, StatusCode::UNAUTHORIZED, "{} {path}", route.method),
        }
        // A token nobody issued.
        let (status, _) = app
            .call(route.method.clone(), &path, Some("tw_forged"), body.clone())
            .await;
        if route.role.is_some() {
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{} {path} forged",
                route.method
            );
        }
        for role in [Role::Viewer, Role::Trader, Role::RiskAdmin] {
            let token = app.tokens.of(role).to_owned();
            let (status, response) = app
                .call(route.method.clone(), &path, Some(&token), body.clone())
                .await;
            let allowed = route.role.is_none_or(|needed| role >= needed);
            if allowed {
                assert!(
                    status.is_success(),
                    "{} {path} as {role:?}: {status} {response}",
                    route.method
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{} {path} as {role:?}",
                    route.method
                );
                assert_eq!(response["error"], "forbidden");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, ROUTES.len() * 3);
    // The role matrix as documented.
    let need = |method: Method, path: &str| {
        ROUTES
            .iter()
            .find(|route| route.method == method && route.path == path)
            .and_then(|route| route.role)
    };
    assert_eq!(need(Method::POST, "/api/kill"), Some(Role::Trader));
    assert_eq!(need(Method::DELETE, "/api/kill"), Some(Role::RiskAdmin));
    assert_eq!(need(Method::PUT, "/api/limits"), Some(Role::RiskAdmin));
    assert_eq!(
        need(Method::POST, "/api/strategies/{index}/enable"),
        Some(Role::Trader)
    );
    assert!(
        ROUTES
            .iter()
            .filter(|route| route.method == Method::GET)
            .all(|route| { route.role.is_none_or(|role| role == Role::Viewer) })
    );
}

#[tokio::test]
async fn invalid_input_is_a_422_naming_the_field() {
    let app = TestApp::sqlite().await;
    let admin = app.tokens.risk_admin.clone();
    let mut body = sample_body(&Method::PUT, "/api/limits").expect("body");
    body["global"]["max_order_qty"] = serde_json::json!("-5");
    let (status, response) = app
        .call(Method::PUT, "/api/limits", Some(&admin), Some(body))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response["field"], "global.max_order_qty", "{response}");

    let mut body = sample_body(&Method::PUT, "/api/limits").expect("body");
    body["symbols"][0]["symbol"] = serde_json::json!("not a symbol");
    let (status, response) = app
        .call(Method::PUT, "/api/limits", Some(&admin), Some(body))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response["field"], "symbols[0].symbol", "{response}");

    // A wrong JSON type is named by its path too.
    let mut body = sample_body(&Method::PUT, "/api/limits/global").expect("body");
    body["collar_bps"] = serde_json::json!("wide");
    let (status, response) = app
        .call(Method::PUT, "/api/limits/global", Some(&admin), Some(body))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response["field"], "collar_bps", "{response}");

    let mut body = sample_body(&Method::PUT, "/api/limits/global").expect("body");
    body["collar_bps"] = serde_json::json!(0);
    let (_, response) = app
        .call(Method::PUT, "/api/limits/global", Some(&admin), Some(body))
        .await;
    assert_eq!(response["field"], "global.collar_bps", "{response}");

    let (status, response) = app
        .call(
            Method::POST,
            "/api/kill",
            Some(&admin),
            Some(serde_json::json!({ "reason": "" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response["field"], "reason");

    let (_, response) = app
        .call(
            Method::POST,
            "/api/kill",
            Some(&admin),
            Some(serde_json::json!({})),
        )
        .await;
    assert_eq!(response["error"], "invalid", "{response}");

    let (status, response) = app
        .call(
            Method::POST,
            "/api/strategies/99/enable",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response["field"], "index");

    let params = serde_json::json!({ "params": [{ "index": 9, "value": 1 }] });
    let (_, response) = app
        .call(
            Method::PUT,
            "/api/strategies/1/params",
            Some(&admin),
            Some(params),
        )
        .await;
    assert_eq!(response["field"], "params[0].index");

    let symbol = sample_body(&Method::PUT, "/api/limits/symbols/{symbol}").expect("body");
    let (_, response) = app
        .call(
            Method::PUT,
            "/api/limits/symbols/MSFT",
            Some(&admin),
            Some(symbol),
        )
        .await;
    assert_eq!(response["field"], "symbol", "path and body disagree");

    let (status, response) = app
        .call(Method::GET, "/api/audit?limit=5000", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response["field"], "limit");
    let (_, response) = app
        .call(Method::GET, "/api/audit?kind=nonsense", Some(&admin), None)
        .await;
    assert_eq!(response["field"], "kind");
    assert!(
        app.downlink.limits.lock().expect("lock").len() == 1,
        "nothing invalid was published (only the start-up snapshot)"
    );
}

#[tokio::test]
async fn a_limit_change_is_published_versioned_audited_and_served() {
    let app = TestApp::sqlite().await;
    let admin = app.tokens.risk_admin.clone();
    let start = *app
        .downlink
        .limits
        .lock()
        .expect("lock")
        .last()
        .expect("start-up snapshot");
    assert_eq!(start.version, 1);
    let body = sample_body(&Method::PUT, "/api/limits").expect("body");
    let (status, response) = app
        .call(Method::PUT, "/api/limits", Some(&admin), Some(body))
        .await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["version"], 2);
    let published = *app
        .downlink
        .limits
        .lock()
        .expect("lock")
        .last()
        .expect("published");
    assert_eq!(published.version, 2);
    assert_eq!(published.global.max_order_qty, 500 * 100_000_000);
    assert_eq!(published.global.collar_bps, 300);
    assert_eq!(tickwire_link::abi::text_of(&published.actor), "rita");
    assert_eq!(&published.symbols[0].symbol, b"AAPL    ");

    let body = serde_json::json!({
        "symbol": "MSFT", "max_order_qty": "7", "max_order_notional": "0", "max_long": "1",
        "max_short": "1", "max_open_notional": "1", "max_open_orders": 1, "collar_bps": 0
    });
    let (status, _) = app
        .call(
            Method::PUT,
            "/api/limits/symbols/MSFT",
            Some(&admin),
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, symbol) = app
        .call(
            Method::GET,
            "/api/limits/symbols/MSFT",
            Some(&app.tokens.viewer),
            None,
        )
        .await;
    assert_eq!(symbol["max_order_qty"], "7.00000000");
    let (status, _) = app
        .call(
            Method::GET,
            "/api/limits/symbols/NONE",
            Some(&app.tokens.viewer),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The data plane acknowledges a higher version than ours (it was restarted with a newer
    // snapshot): the next change goes above it.
    let mut ack = record(1, AuditKind::LimitsApplied, "");
    ack.limits_version = 10;
    app.feed(LinkEvent::Audit(vec![ack])).await;
    let body = sample_body(&Method::PUT, "/api/limits/global").expect("body");
    let (_, response) = app
        .call(Method::PUT, "/api/limits/global", Some(&admin), Some(body))
        .await;
    assert_eq!(response["version"], 11);
    let (_, current) = app
        .call(Method::GET, "/api/limits", Some(&app.tokens.viewer), None)
        .await;
    assert_eq!(current["version"], 11);
    assert_eq!(current["actor"], "rita");
    assert_eq!(current["limits"]["symbols"][1]["symbol"], "MSFT");

    let (_, mutations) = app
        .call(
            Method::GET,
            "/api/mutations",
            Some(&app.tokens.viewer),
            None,
        )
        .await;
    let actions: Vec<_> = mutations["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|row| {
            (
                row["action"].as_str().unwrap_or("").to_owned(),
                row["actor"].clone(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            ("limits_put".to_owned(), serde_json::json!("rita")),
            ("limits_symbol_put".to_owned(), serde_json::json!("rita")),
            ("limits_global_put".to_owned(), serde_json::json!("rita")),
        ]
    );

    // A restart keeps the newest version.
    let restarted = tickwire_controlplane::api::AppState::new(
        app.storage.clone(),
        tickwire_controlplane::auth::Authenticator::new(&app.tokens.entries()),
        Arc::new(support::RecordingDownlink::default()),
        Arc::new(tickwire_controlplane::pipeline::LiveState::default()),
        &tickwire_controlplane::limits::LimitsSpec::default(),
        Vec::new(),
    )
    .await
    .expect("restart");
    drop(restarted);
    let row = app
        .storage
        .latest_limits()
        .await
        .expect("latest")
        .expect("row");
    assert_eq!(row.version, 11);
}

#[tokio::test]
async fn kill_and_unkill_reach_the_link_with_actor_and_reason() {
    let app = TestApp::sqlite().await;
    let (status, response) = app
        .call(
            Method::POST,
            "/api/kill",
            Some(&app.tokens.trader),
            Some(serde_json::json!({ "reason": "runaway strategy" })),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{response}");
    let command = *app
        .downlink
        .commands
        .lock()
        .expect("lock")
        .last()
        .expect("command");
    assert_eq!(CommandKind::from_raw(command.kind), Some(CommandKind::Kill));
    assert_eq!(tickwire_link::abi::text_of(&command.actor), "tom");
    assert_eq!(
        tickwire_link::abi::text_of(&command.reason_text),
        "runaway strategy"
    );
    assert_eq!(
        i64::try_from(command.id).expect("id"),
        response["command_id"].as_i64().expect("id")
    );
    let snapshot = *app
        .downlink
        .limits
        .lock()
        .expect("lock")
        .last()
        .expect("limits");
    assert_eq!(
        snapshot.global.kill, 1,
        "the kill flag travels in the limits too"
    );

    // The data plane acknowledges: the status shows it.
    let mut ack = record(1, AuditKind::KillSwitchOn, "");
    ack.aux = i64::try_from(command.id).expect("id");
    app.feed(LinkEvent::Audit(vec![ack])).await;
    let (_, status) = app
        .call(Method::GET, "/api/status", Some(&app.tokens.viewer), None)
        .await;
    assert_eq!(status["kill_switch"], true);
    assert_eq!(status["audit_seq_stored"], 1);

    let (status, _) = app
        .call(
            Method::DELETE,
            "/api/kill",
            Some(&app.tokens.trader),
            Some(serde_json::json!({ "reason": "resume" })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "traders cannot unkill");
    let (status, _) = app
        .call(
            Method::DELETE,
            "/api/kill",
            Some(&app.tokens.risk_admin),
            Some(serde_json::json!({ "reason": "resume" })),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let command = *app
        .downlink
        .commands
        .lock()
        .expect("lock")
        .last()
        .expect("command");
    assert_eq!(
        CommandKind::from_raw(command.kind),
        Some(CommandKind::Unkill)
    );
    assert_eq!(
        app.downlink
            .limits
            .lock()
            .expect("lock")
            .last()
            .expect("limits")
            .global
            .kill,
        0
    );

    let (status, _) = app
        .call(
            Method::PUT,
            "/api/strategies/2/params",
            Some(&app.tokens.trader),
            Some(serde_json::json!({ "params": [{ "index": 1, "value": -7 }, { "index": 3, "value": 9 }] })),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let command = *app
        .downlink
        .commands
        .lock()
        .expect("lock")
        .last()
        .expect("command");
    assert_eq!(
        CommandKind::from_raw(command.kind),
        Some(CommandKind::SetParams)
    );
    assert_eq!((command.strategy, command.param_mask), (2, 0b1010));
    assert_eq!((command.params[1], command.params[3]), (-7, 9));
}

#[tokio::test]
async fn audit_orders_and_fills_paginate_and_filter() {
    let app = TestApp::sqlite().await;
    app.feed(LinkEvent::Audit(records(250))).await;
    // Duplicates (a replay) are ignored.
    app.feed(LinkEvent::Audit(records(10))).await;
    assert_eq!(app.storage.audit_count().await.expect("count"), 250);
    let viewer = app.tokens.viewer.clone();

    let mut seen = Vec::new();
    let mut path = "/api/audit?limit=100".to_owned();
    for _ in 0..10 {
        let (status, page) = app.call(Method::GET, &path, Some(&viewer), None).await;
        assert_eq!(status, StatusCode::OK);
        seen.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|row| row["seq"].as_i64().expect("seq")),
        );
        match page["next_after_seq"].as_i64() {
            Some(next) => path = format!("/api/audit?limit=100&after_seq={next}"),
            None => break,
        }
    }
    assert_eq!(seen, (1..=250).collect::<Vec<i64>>());

    let (_, page) = app
        .call(
            Method::GET,
            "/api/audit?order=desc&limit=3",
            Some(&viewer),
            None,
        )
        .await;
    let seqs: Vec<_> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|row| row["seq"].clone())
        .collect();
    assert_eq!(seqs, vec![250, 249, 248]);
    assert_eq!(page["next_before_seq"], 248);

    let (_, page) = app
        .call(
            Method::GET,
            "/api/audit?symbol=AAPL&from_seq=10&to_seq=20&limit=100",
            Some(&viewer),
            None,
        )
        .await;
    let seqs: Vec<_> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|row| row["seq"].as_i64().expect("seq"))
        .collect();
    assert_eq!(seqs, vec![10, 12, 14, 16, 18, 20]);

    let (_, page) = app
        .call(
            Method::GET,
            "/api/audit?from_ts_ns=1100&to_ts_ns=1150&limit=100",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(
        page["items"].as_array().expect("items").len(),
        6,
        "seq 10..=15"
    );

    let (_, page) = app
        .call(
            Method::GET,
            "/api/audit?kind=venue_executed&limit=1000",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(page["items"].as_array().expect("items").len(), 83);

    let (_, fills) = app
        .call(Method::GET, "/api/fills?limit=1000", Some(&viewer), None)
        .await;
    assert_eq!(fills["items"].as_array().expect("items").len(), 83);

    let (_, orders) = app
        .call(Method::GET, "/api/orders?limit=2", Some(&viewer), None)
        .await;
    let items = orders["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["seq"], 1);
    assert_eq!(items[0]["status"], "venue_executed");
    assert_eq!(items[0]["filled_qty"], 100);
    assert_eq!(orders["next_after_seq"], 4);
    let (_, last) = app
        .call(
            Method::GET,
            "/api/orders?after_seq=248&limit=10",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(last["items"][0]["seq"], 250);
    assert_eq!(
        last["items"][0]["status"],
        serde_json::Value::Null,
        "no venue event yet"
    );
    assert_eq!(last["next_after_seq"], serde_json::Value::Null);
}

#[tokio::test]
async fn live_views_come_from_the_latest_statistics() {
    let app = TestApp::sqlite().await;
    let viewer = app.tokens.viewer.clone();
    let (_, latency) = app
        .call(Method::GET, "/api/latency", Some(&viewer), None)
        .await;
    assert_eq!(latency["count"], 0);
    app.feed(LinkEvent::Stats(Box::new(stats(0)))).await;
    let (_, latency) = app
        .call(Method::GET, "/api/latency", Some(&viewer), None)
        .await;
    assert_eq!(latency["count"], 100);
    assert_eq!(
        latency["p50_ns"], 1024,
        "900 ns falls in the 896..1024 bucket"
    );
    assert_eq!(
        latency["p99_ns"], 57_344,
        "50 us falls in the 49152..57344 bucket"
    );
    let (_, positions) = app
        .call(Method::GET, "/api/positions", Some(&viewer), None)
        .await;
    assert_eq!(positions["positions"][0]["qty"], "50.00000000");
    let (_, pnl) = app.call(Method::GET, "/api/pnl", Some(&viewer), None).await;
    assert_eq!(pnl["total"], "10.00000000");
    let (_, tops) = app
        .call(Method::GET, "/api/tops", Some(&viewer), None)
        .await;
    assert_eq!(tops[0]["symbol"], "AAPL");
    assert_eq!(tops[0]["ask_price"], "100.01000000");
    let (_, strategies) = app
        .call(Method::GET, "/api/strategies", Some(&viewer), None)
        .await;
    assert_eq!(strategies[0]["enabled"], true);
    assert_eq!(strategies[1]["enabled"], false);
    let (_, status) = app
        .call(Method::GET, "/api/status", Some(&viewer), None)
        .await;
    assert_eq!(status["data_plane_connected"], true);
    assert_eq!(status["storage"], "sqlite");
}

#[tokio::test]
async fn metrics_are_valid_exposition_format() {
    let app = TestApp::sqlite().await;
    app.feed(LinkEvent::Stats(Box::new(stats(7)))).await;
    app.feed(LinkEvent::Audit(records(7))).await;
    let (status, text) = app.call_text(Method::GET, "/metrics", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let lines = text.lines().map(|line| Ok(line.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("exposition format parses");

    let value = |name: &str| {
        scrape
            .samples
            .iter()
            .find(|sample| sample.metric == name)
            .map(|sample| sample.value.clone())
    };
    assert!(matches!(
        value("tickwire_dataplane_orders_sent_total"),
        Some(prometheus_parse::Value::Counter(count)) if (count - 90.0).abs() < f64::EPSILON
    ));
    assert!(matches!(
        value("tickwire_controlplane_audit_rows_stored_total"),
        Some(prometheus_parse::Value::Counter(count)) if (count - 7.0).abs() < f64::EPSILON
    ));
    let histogram = value("tickwire_dataplane_tick_to_order_latency_seconds").expect("histogram");
    let prometheus_parse::Value::Histogram(buckets) = histogram else {
        panic!("not a histogram: {histogram:?}");
    };
    assert_eq!(buckets.len(), LATENCY_BUCKETS);
    assert!(
        buckets
            .windows(2)
            .all(|pair| pair[0].less_than < pair[1].less_than),
        "le ascending"
    );
    assert!(
        buckets
            .windows(2)
            .all(|pair| pair[0].count <= pair[1].count),
        "cumulative"
    );
    assert!(buckets.last().is_some_and(
        |bucket| bucket.less_than.is_infinite() && (bucket.count - 100.0).abs() < f64::EPSILON
    ));

    // Names: counters end in _total, everything carries the tickwire_ prefix and a unit or
    // a _total/_info style suffix where it has one.
    let mut families = 0;
    for line in text.lines().filter(|line| line.starts_with("# TYPE ")) {
        let mut parts = line.split_whitespace().skip(2);
        let (name, kind) = (parts.next().expect("name"), parts.next().expect("kind"));
        assert!(name.starts_with("tickwire_"), "{name}");
        if kind == "counter" {
            assert!(name.ends_with("_total"), "counter {name} ends in _total");
        } else {
            assert!(
                !name.ends_with("_total"),
                "{kind} {name} must not end in _total"
            );
        }
        if kind == "histogram" {
            assert!(name.ends_with("_seconds"), "{name} has its unit");
        }
        families += 1;
    }
    assert!(families > 30, "{families} families");
    assert!(text.contains("tickwire_dataplane_risk_rejects_total{reason=\"max_order_qty\"} 4"));
}

#[tokio::test]
async fn the_openapi_document_validates_and_lists_every_route() {
    let app = TestApp::sqlite().await;
    let (status, text) = app
        .call_text(Method::GET, "/api/openapi.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let spec = oas3::from_json(&text).expect("a valid OpenAPI 3.1 document");
    assert!(spec.openapi.starts_with("3."), "{}", spec.openapi);
    let paths = spec.paths.as_ref().expect("paths");
    for route in ROUTES
        .iter()
        .filter(|route| route.path != "/" && route.path != "/api/openapi.json")
    {
        let item = paths
            .get(route.path)
            .unwrap_or_else(|| panic!("{} missing from the document", route.path));
        let operation = match route.method.as_str() {
            "GET" => item.get.as_ref(),
            "PUT" => item.put.as_ref(),
            "POST" => item.post.as_ref(),
            "DELETE" => item.delete.as_ref(),
            other => panic!("unexpected method {other}"),
        };
        let operation =
            operation.unwrap_or_else(|| panic!("{} {} missing", route.method, route.path));
        let secured = !operation.security.is_empty();
        assert_eq!(
            secured,
            route.role.is_some(),
            "{} {} security",
            route.method,
            route.path
        );
        if route.role.is_some() {
            assert!(
                operation
                    .responses
                    .as_ref()
                    .is_some_and(|responses| responses.contains_key("401"))
            );
        }
    }
    // And every documented operation is a route of the table (hence of the auth matrix).
    for (path, item) in paths {
        for (method, operation) in [
            (Method::GET, &item.get),
            (Method::PUT, &item.put),
            (Method::POST, &item.post),
            (Method::DELETE, &item.delete),
        ] {
            if operation.is_some() {
                assert!(
                    ROUTES
                        .iter()
                        .any(|route| route.method == method && route.path == path),
                    "{method} {path} is documented but not in ROUTES"
                );
            }
        }
    }
    // Every schema reference resolves.
    let value: serde_json::Value = serde_json::from_str(&text).expect("json");
    let schemas = &value["components"]["schemas"];
    let mut stack = vec![&value];
    while let Some(node) = stack.pop() {
        match node {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::String(reference)) = map.get("$ref") {
                    let name = reference.trim_start_matches("#/components/schemas/");
                    assert!(schemas.get(name).is_some(), "dangling $ref {reference}");
                }
                stack.extend(map.values());
            }
            serde_json::Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    assert!(value["components"]["securitySchemes"]["bearer"].is_object());
    // Valid against the JSON Schema of OpenAPI 3.1 documents.
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("data/openapi-3.1.schema.json")).expect("schema");
    let validator = jsonschema::validator_for(&schema).expect("the OpenAPI 3.1 schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|error| error.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "the document violates the OpenAPI 3.1 schema: {errors:#?}"
    );
    let mut broken = value.clone();
    broken["paths"]["/api/health"]["get"]["responses"] = serde_json::json!("none");
    assert!(!validator.is_valid(&broken), "the validator does check");
    // The same document as the code generates.
    assert_eq!(value, serde_json::to_value(ApiDoc::openapi()).expect("doc"));
}

/// Captures tracing output.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Self;
    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

#[tokio::test]
async fn tokens_never_appear_in_logs() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = TestApp::sqlite().await;
    let forged = "tw_forged_secret_value_0123456789";
    for token in [
        app.tokens.viewer.clone(),
        app.tokens.trader.clone(),
        app.tokens.risk_admin.clone(),
        forged.to_owned(),
    ] {
        for route in ROUTES {
            let body = sample_body(&route.method, route.path);
            let path = format!("{}?token={token}", concrete(route.path));
            let _ = app
                .call(
                    route.method.clone(),
                    &concrete(route.path),
                    Some(&token),
                    body.clone(),
                )
                .await;
            // Even a token put in the query string by mistake is not logged.
            let _ = app.call(route.method.clone(), &path, None, body).await;
        }
    }
    let logs = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
    assert!(
        logs.contains("mutation"),
        "the capture works: {}",
        &logs[..logs.len().min(500)]
    );
    assert!(
        logs.contains("actor=tom") || logs.contains("actor=\"tom\""),
        "actors are logged"
    );
    for secret in [
        &app.tokens.viewer,
        &app.tokens.trader,
        &app.tokens.risk_admin,
    ] {
        assert!(
            !logs.contains(secret.as_str()),
            "a token leaked into the logs"
        );
        assert!(
            !logs.contains(&secret[3..20]),
            "part of a token leaked into the logs"
        );
    }
    assert!(!logs.contains(forged));
}

#[tokio::test]
async fn the_web_page_is_served() {
    let app = TestApp::sqlite().await;
    let (status, html) = app.call_text(Method::GET, "/", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("tickwire control station"));
    assert!(html.contains("id=\"kill\""));
    assert!(html.contains("/api/kill"));
}
