//! Audit inserts into SQLite (WAL, synchronous=NORMAL, the configuration the control plane
//! runs with): records per second for one batch of 1000 records per transaction.
//!
//! Timed region: `Storage::insert_audit(batch)`: converting the 1000 records to rows, one
//! transaction with one 1000-row `INSERT ... ON CONFLICT (seq) DO NOTHING` statement, and the
//! commit. Every batch carries new sequence numbers (built outside the timed region), so
//! every row is really inserted into a growing, indexed table.
//!
//! Baseline in the same run: the same rows with one INSERT statement per row in one
//! transaction (what batching into multi-row statements saves).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tickwire_controlplane::storage::{AuditRow, Storage};
use tickwire_link::abi::{AuditKind, AuditRecord, fixed_text};

const BATCH: u64 = 1_000;

fn batch(first_seq: u64) -> Vec<AuditRecord> {
    (first_seq..first_seq + BATCH)
        .map(|seq| {
            let mut record = AuditRecord::new(if seq.is_multiple_of(3) {
                AuditKind::VenueExecuted
            } else {
                AuditKind::OrderIntent
            });
            record.seq = seq;
            record.ts_ns = 1_700_000_000_000_000_000 + seq * 1_000;
            record.symbol = *if seq.is_multiple_of(2) {
                b"AAPL    "
            } else {
                b"MSFT    "
            };
            record.token = fixed_text(&format!("T{:013}", seq / 3));
            record.side = b'B';
            record.strategy = 1;
            record.limits_version = 3;
            record.price = 10_000_000_000 + i64::try_from(seq % 100).unwrap_or(0);
            record.qty = 10_000_000_000;
            record.order_id = seq / 3;
            record.trigger_seq = seq * 10;
            record.actor = fixed_text("engine");
            record
        })
        .collect()
}

fn sqlite_inserts(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("bench.db").display());
    let storage = runtime
        .block_on(Storage::connect(&url, 2))
        .expect("storage");
    let mut next_seq = 1u64;

    let mut group = c.benchmark_group("sqlite_audit_insert");
    group.throughput(Throughput::Elements(BATCH));
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("batch_1000_multi_row", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let records = batch(next_seq);
                next_seq += BATCH;
                let started = Instant::now();
                let inserted = runtime
                    .block_on(storage.insert_audit(black_box(&records)))
                    .expect("insert");
                total += started.elapsed();
                assert_eq!(inserted, BATCH);
            }
            total
        });
    });
    let Storage::Sqlite(pool) = &storage else {
        unreachable!("sqlite url");
    };
    group.bench_function("baseline_row_per_statement", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let rows: Vec<AuditRow> = batch(next_seq).iter().map(AuditRow::from_record).collect();
                next_seq += BATCH;
                let started = Instant::now();
                runtime
                    .block_on(async {
                        let mut tx = pool.begin().await?;
                        for row in &rows {
                            sqlx::query(
                                "INSERT INTO audit (seq, ts_ns, kind, kind_code, reason, side, strategy, symbol, \
                                 token, limits_version, price, qty, order_id, trigger_seq, aux, aux2, actor) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
                                 ON CONFLICT (seq) DO NOTHING",
                            )
                            .bind(row.seq)
                            .bind(row.ts_ns)
                            .bind(&row.kind)
                            .bind(row.kind_code)
                            .bind(row.reason)
                            .bind(&row.side)
                            .bind(row.strategy)
                            .bind(&row.symbol)
                            .bind(&row.token)
                            .bind(row.limits_version)
                            .bind(row.price)
                            .bind(row.qty)
                            .bind(row.order_id)
                            .bind(row.trigger_seq)
                            .bind(row.aux)
                            .bind(row.aux2)
                            .bind(&row.actor)
                            .execute(&mut *tx)
                            .await?;
                        }
                        tx.commit().await
                    })
                    .expect("insert");
                total += started.elapsed();
            }
            total
        });
    });
    group.finish();
    runtime.block_on(storage.close());
}

criterion_group!(benches, sqlite_inserts);
criterion_main!(benches);
