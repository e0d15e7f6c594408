//! The storage on real SQLite and real PostgreSQL (a throwaway cluster, or
//! `TICKWIRE_PG_URL`): batched inserts keyed by sequence, duplicates ignored, queries,
//! append-only enforcement, mutations and limits versions, and the API on PostgreSQL.

mod support;

use axum::http::{Method, StatusCode};
use support::TestApp;
use support::pg::Postgres;
use tickwire_controlplane::storage::{AuditFilter, AuditRow, LimitsRow, Storage};
use tickwire_link::abi::{AuditKind, AuditRecord, fixed_text};
use tickwire_link::transport::LinkEvent;

fn record(seq: u64) -> AuditRecord {
    let kind = match seq % 3 {
        1 => AuditKind::OrderIntent,
        2 => AuditKind::VenueAccepted,
        _ => AuditKind::VenueExecuted,
    };
    let mut record = AuditRecord::new(kind);
    record.seq = seq;
    record.ts_ns = 1_700_000_000_000_000_000 + seq;
    record.symbol = *if seq.is_multiple_of(2) {
        b"AAPL    "
    } else {
        b"MSFT    "
    };
    record.token = fixed_text(&format!("T{:013}", seq.div_ceil(3)));
    record.side = b'S';
    record.strategy = 3;
    record.limits_version = 9;
    record.price = -12_345;
    record.qty = 100;
    record.order_id = u64::MAX - seq; // above i64::MAX: stored as its two's complement
    record.trigger_seq = seq * 7;
    record.aux = -1;
    record.aux2 = i64::MIN;
    record.actor = fixed_text("engine");
    record
}

async fn exercise(storage: &Storage) {
    assert_eq!(storage.last_seq().await.expect("last"), 0);
    let records: Vec<AuditRecord> = (1..=2_600).map(record).collect();
    // More than one statement per transaction (1000 rows each).
    assert_eq!(
        storage
            .insert_audit(&records[..1_200])
            .await
            .expect("insert"),
        1_200
    );
    // A replay overlapping what is stored inserts only the new rows.
    assert_eq!(
        storage
            .insert_audit(&records[1_000..])
            .await
            .expect("insert"),
        1_400
    );
    assert_eq!(storage.insert_audit(&records).await.expect("insert"), 0);
    assert_eq!(storage.audit_count().await.expect("count"), 2_600);
    assert_eq!(storage.last_seq().await.expect("last"), 2_600);

    let all = storage
        .audit(&AuditFilter {
            limit: 5_000,
            ..AuditFilter::default()
        })
        .await
        .expect("query");
    assert_eq!(all.len(), 2_600);
    for (row, record) in all.iter().zip(&records) {
        assert!(row.matches(record), "row {} differs", row.seq);
    }
    assert_eq!(all[0], AuditRow::from_record(&records[0]));
    assert_eq!(all[0].order_id as u64, u64::MAX - 1);

    let page = storage
        .audit(&AuditFilter {
            symbol: Some("AAPL".to_owned()),
            after_seq: Some(100),
            kind_codes: vec![AuditKind::VenueExecuted as i32],
            limit: 3,
            ..AuditFilter::default()
        })
        .await
        .expect("query");
    let seqs: Vec<i64> = page.iter().map(|row| row.seq).collect();
    assert_eq!(seqs, vec![102, 108, 114]);
    let newest = storage
        .audit(&AuditFilter {
            descending: true,
            before_seq: Some(2_600),
            from_ts_ns: Some(1_700_000_000_000_002_590),
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .expect("query");
    let seqs: Vec<i64> = newest.iter().map(|row| row.seq).collect();
    assert_eq!(seqs, (2_590..2_600).rev().collect::<Vec<_>>());

    let orders = storage.orders(0, Some("MSFT"), 2).await.expect("orders");
    assert_eq!(orders[0].seq, 1);
    assert_eq!(orders[0].status.as_deref(), Some("venue_executed"));
    assert_eq!(orders[0].filled_qty, 100);

    // Append-only, enforced by the database itself.
    let update = "UPDATE audit SET qty = 0 WHERE seq = 1";
    let delete = "DELETE FROM audit WHERE seq = 1";
    for sql in [update, delete] {
        let result = match storage {
            Storage::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
            Storage::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
        };
        let error = result.expect_err("append-only tables refuse UPDATE and DELETE");
        assert!(error.to_string().contains("append-only"), "{error}");
    }

    let id = storage
        .insert_mutation(5, "rita", "risk-admin", "kill", "{\"reason\":\"x\"}")
        .await
        .expect("mutation");
    let second = storage
        .insert_mutation(6, "tom", "trader", "strategy_enable", "{}")
        .await
        .expect("mutation");
    assert!(second > id);
    let mutations = storage.mutations(0, 10).await.expect("mutations");
    assert_eq!(mutations.len(), 2);
    assert_eq!(mutations[0].actor, "rita");
    assert_eq!(storage.mutations(id, 10).await.expect("page")[0].id, second);
    for sql in ["DELETE FROM mutations", "UPDATE mutations SET actor = 'x'"] {
        let result = match storage {
            Storage::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
            Storage::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
        };
        let error = result.expect_err("mutations are append-only");
        assert!(error.to_string().contains("append-only"), "{error}");
    }

    assert!(storage.latest_limits().await.expect("limits").is_none());
    for version in [1, 2] {
        storage
            .insert_limits(&LimitsRow {
                version,
                ts_ns: version * 10,
                actor: "rita".to_owned(),
                kill: 0,
                spec: "{}".to_owned(),
            })
            .await
            .expect("limits");
    }
    assert_eq!(
        storage
            .latest_limits()
            .await
            .expect("limits")
            .expect("row")
            .version,
        2
    );
    let duplicate = LimitsRow {
        version: 2,
        ts_ns: 0,
        actor: String::new(),
        kill: 0,
        spec: String::new(),
    };
    assert!(
        storage.insert_limits(&duplicate).await.is_err(),
        "versions are unique"
    );
}

#[tokio::test]
async fn sqlite_storage() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("audit.db").display());
    let storage = Storage::connect(&url, 4).await.expect("connect");
    exercise(&storage).await;
    let Storage::Sqlite(pool) = &storage else {
        panic!("sqlite");
    };
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .expect("pragma");
    assert_eq!(mode, "wal");
    // The partial indexes serve the queries of fills, orders and order status.
    for (sql, index) in [
        (
            "SELECT seq FROM audit WHERE 1 = 1 AND kind_code = 12 ORDER BY seq LIMIT 10",
            "audit_fills",
        ),
        (
            "SELECT seq FROM audit o WHERE o.kind_code = 1 AND o.seq > 5 ORDER BY o.seq LIMIT 10",
            "audit_intents",
        ),
        (
            "SELECT kind FROM audit v WHERE v.token = 'T1' AND v.kind_code >= 10 AND v.kind_code <= 16 ORDER BY v.seq DESC LIMIT 1",
            "audit_venue_token",
        ),
        (
            "SELECT seq FROM audit WHERE symbol = 'AAPL' AND seq > 3 ORDER BY seq LIMIT 5",
            "audit_symbol_seq",
        ),
    ] {
        let plan: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                .fetch_all(pool)
                .await
                .expect("plan");
        assert!(
            plan.iter().any(|row| row.3.contains(index)),
            "{sql} does not use {index}: {plan:?}"
        );
    }
    storage.close().await;
    // Reopening runs no migration twice and keeps the data.
    let storage = Storage::connect(&url, 1).await.expect("reconnect");
    assert_eq!(storage.last_seq().await.expect("last"), 2_600);
    storage.close().await;
}

#[tokio::test]
async fn postgres_storage() {
    let Some(postgres) = Postgres::start("postgres_storage").await else {
        return;
    };
    let storage = Storage::connect(&postgres.url, 4).await.expect("connect");
    assert_eq!(storage.backend(), "postgres");
    exercise(&storage).await;
    storage.close().await;
    let storage = Storage::connect(&postgres.url, 1).await.expect("reconnect");
    assert_eq!(storage.last_seq().await.expect("last"), 2_600);
    storage.close().await;
}

#[tokio::test]
async fn the_api_on_postgres() {
    let Some(postgres) = Postgres::start("the_api_on_postgres").await else {
        return;
    };
    let app = TestApp::with_url(&postgres.url).await;
    app.feed(LinkEvent::Audit((1..=30).map(record).collect()))
        .await;
    let viewer = app.tokens.viewer.clone();
    let (status, page) = app
        .call(
            Method::GET,
            "/api/audit?symbol=AAPL&limit=5&order=desc",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"][0]["seq"], 30);
    assert_eq!(page["next_before_seq"], 22);
    let (status, orders) = app
        .call(Method::GET, "/api/orders", Some(&viewer), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{orders}");
    assert_eq!(orders["items"].as_array().expect("items").len(), 10);
    let (status, change) = app
        .call(
            Method::POST,
            "/api/kill",
            Some(&app.tokens.trader),
            Some(serde_json::json!({ "reason": "pg" })),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{change}");
    let (_, status) = app
        .call(Method::GET, "/api/status", Some(&viewer), None)
        .await;
    assert_eq!(status["storage"], "postgres");
    assert_eq!(status["audit_seq_stored"], 30);
    app.storage.close().await;
}
