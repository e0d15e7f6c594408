//! Audit storage: SQLite (WAL, embedded default) or PostgreSQL, with migrations.
//!
//! Append-only: the code here only inserts into `audit`, `mutations` and `limits_versions`,
//! and triggers in the migrations refuse any UPDATE or DELETE on them. Audit rows are keyed
//! by `seq`; inserting a sequence that is already stored does nothing (replays after a
//! restart are harmless). Queries are runtime-checked (no database needed to build).

use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{FromRow, QueryBuilder};
use tickwire_link::abi::{AuditKind, AuditRecord, text_of};
use utoipa::ToSchema;

/// Errors of the storage.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The URL is neither `sqlite:` nor `postgres://`.
    #[error("unsupported storage url (expected sqlite: or postgres://)")]
    UnsupportedUrl,
    /// A database call failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A connection pool to one of the supported databases.
#[derive(Debug, Clone)]
pub enum Storage {
    /// Embedded SQLite in WAL mode.
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

/// Runs the same code against whichever pool is in use.
macro_rules! with_pool {
    ($storage:expr, $pool:ident => $body:expr) => {
        match $storage {
            Storage::Sqlite($pool) => $body,
            Storage::Postgres($pool) => $body,
        }
    };
}

/// Rows per INSERT statement (17 parameters each: 17000 stays below SQLite's 32766 and
/// PostgreSQL's 65535 parameter limits).
const ROWS_PER_STATEMENT: usize = 1_000;

const AUDIT_COLUMNS: &str = "seq, ts_ns, kind, kind_code, reason, side, strategy, symbol, token, \
     limits_version, price, qty, order_id, trigger_seq, aux, aux2, actor";

/// A stored audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow, ToSchema)]
pub struct AuditRow {
    /// Sequence number (strictly increasing, from the data plane).
    pub seq: i64,
    /// Wall-clock time, ns since the Unix epoch.
    pub ts_ns: i64,
    /// Kind name (`order_intent`, `venue_executed`, `kill_switch_on`...).
    pub kind: String,
    /// Kind code ([`AuditKind`] value).
    pub kind_code: i32,
    /// Risk, kill or venue reason code, per kind.
    pub reason: i32,
    /// `B`, `S` or empty.
    pub side: String,
    /// Strategy index, -1 for none.
    pub strategy: i32,
    /// Symbol.
    pub symbol: String,
    /// Order token.
    pub token: String,
    /// Limits version the decision was made against.
    pub limits_version: i64,
    /// Price, raw 10^-8.
    pub price: i64,
    /// Quantity, raw 10^-8.
    pub qty: i64,
    /// Venue or internal order id (a u64 stored as its two's-complement i64).
    pub order_id: i64,
    /// Feed sequence that triggered it.
    pub trigger_seq: i64,
    /// Kind-specific value (match number, command id, previous limits version...).
    pub aux: i64,
    /// Second kind-specific value.
    pub aux2: i64,
    /// Who caused it.
    pub actor: String,
}

fn wrap(value: u64) -> i64 {
    i64::from_ne_bytes(value.to_ne_bytes())
}

fn unwrap_u64(value: i64) -> u64 {
    u64::from_ne_bytes(value.to_ne_bytes())
}

impl AuditRow {
    /// The row of a record.
    #[must_use]
    pub fn from_record(record: &AuditRecord) -> Self {
        let kind = record.audit_kind().map_or_else(
            || format!("unknown_{}", record.kind),
            |kind| kind.name().to_owned(),
        );
        Self {
            seq: wrap(record.seq),
            ts_ns: wrap(record.ts_ns),
            kind,
            kind_code: i32::from(record.kind),
            reason: i32::from(record.reason),
            side: match record.side {
                b'B' => "B".to_owned(),
                b'S' => "S".to_owned(),
                _ => String::new(),
            },
            strategy: if record.strategy == u8::MAX {
                -1
            } else {
                i32::from(record.strategy)
            },
            symbol: text_of(&record.symbol).to_owned(),
            token: text_of(&record.token).to_owned(),
            limits_version: wrap(record.limits_version),
            price: record.price,
            qty: record.qty,
            order_id: wrap(record.order_id),
            trigger_seq: wrap(record.trigger_seq),
            aux: record.aux,
            aux2: record.aux2,
            actor: text_of(&record.actor).to_owned(),
        }
    }

    /// Whether this row stores exactly `record` (fixed fields compared after trimming).
    #[must_use]
    pub fn matches(&self, record: &AuditRecord) -> bool {
        *self == Self::from_record(record)
    }
}

/// A stored mutation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow, ToSchema)]
pub struct MutationRow {
    /// Row id.
    pub id: i64,
    /// When, ns since the Unix epoch.
    pub ts_ns: i64,
    /// Token name.
    pub actor: String,
    /// Token role.
    pub role: String,
    /// `limits_put`, `kill`, `unkill`, `strategy_enable`...
    pub action: String,
    /// JSON details.
    pub details: String,
}

/// A stored limits version.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct LimitsRow {
    /// Version.
    pub version: i64,
    /// When.
    pub ts_ns: i64,
    /// Who.
    pub actor: String,
    /// Kill switch flag in the snapshot.
    pub kill: i32,
    /// The [`crate::limits::LimitsSpec`] as JSON.
    pub spec: String,
}

/// An order derived from the audit trail: its intent and the venue's latest word on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow, ToSchema)]
pub struct OrderRow {
    /// Sequence of the intent.
    pub seq: i64,
    /// Intent time.
    pub ts_ns: i64,
    /// Symbol.
    pub symbol: String,
    /// Order token.
    pub token: String,
    /// `B` or `S`.
    pub side: String,
    /// Limit price, raw 10^-8.
    pub price: i64,
    /// Quantity, raw 10^-8.
    pub qty: i64,
    /// Strategy index.
    pub strategy: i32,
    /// Limits version it was checked against.
    pub limits_version: i64,
    /// Latest venue event kind, or none yet.
    pub status: Option<String>,
    /// Executed quantity so far, raw 10^-8.
    pub filled_qty: i64,
}

/// Filters of an audit query; every one optional.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// seq > this.
    pub after_seq: Option<i64>,
    /// seq < this.
    pub before_seq: Option<i64>,
    /// seq >= this.
    pub from_seq: Option<i64>,
    /// seq <= this.
    pub to_seq: Option<i64>,
    /// ts_ns >= this.
    pub from_ts_ns: Option<i64>,
    /// ts_ns <= this.
    pub to_ts_ns: Option<i64>,
    /// Exact symbol.
    pub symbol: Option<String>,
    /// Exact kind codes (any of them).
    pub kind_codes: Vec<i32>,
    /// Newest first.
    pub descending: bool,
    /// Rows at most.
    pub limit: i64,
}

impl Storage {
    /// Connects (creating a SQLite file if missing) and runs the migrations.
    ///
    /// # Errors
    /// [`StorageError`].
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StorageError> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // WAL + NORMAL: a committed transaction survives a crash of this process
                // (it is in the OS's cache); only a power loss can take the last ones.
                .synchronous(SqliteSynchronous::Normal)
                // A 64 MiB page cache keeps the five B-trees of `audit` hot while it grows.
                .pragma("cache_size", "-65536")
                .pragma("temp_store", "memory")
                .busy_timeout(Duration::from_secs(5));
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections)
                .connect_with(options)
                .await?;
            sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
            Ok(Self::Sqlite(pool))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await?;
            sqlx::migrate!("./migrations/postgres").run(&pool).await?;
            Ok(Self::Postgres(pool))
        } else {
            Err(StorageError::UnsupportedUrl)
        }
    }

    /// `sqlite` or `postgres`.
    #[must_use]
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// Inserts records in one transaction; sequences already stored are skipped. Returns the
    /// number of rows inserted.
    ///
    /// # Errors
    /// [`StorageError::Database`]; nothing of the batch is stored then.
    pub async fn insert_audit(&self, records: &[AuditRecord]) -> Result<u64, StorageError> {
        if records.is_empty() {
            return Ok(0);
        }
        let rows: Vec<AuditRow> = records.iter().map(AuditRow::from_record).collect();
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut inserted = 0;
            for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(format!("INSERT INTO audit ({AUDIT_COLUMNS}) "));
                builder.push_values(chunk, |mut tuple, row| {
                    tuple
                        .push_bind(row.seq)
                        .push_bind(row.ts_ns)
                        .push_bind(row.kind.as_str())
                        .push_bind(row.kind_code)
                        .push_bind(row.reason)
                        .push_bind(row.side.as_str())
                        .push_bind(row.strategy)
                        .push_bind(row.symbol.as_str())
                        .push_bind(row.token.as_str())
                        .push_bind(row.limits_version)
                        .push_bind(row.price)
                        .push_bind(row.qty)
                        .push_bind(row.order_id)
                        .push_bind(row.trigger_seq)
                        .push_bind(row.aux)
                        .push_bind(row.aux2)
                        .push_bind(row.actor.as_str());
                });
                builder.push(" ON CONFLICT (seq) DO NOTHING");
                inserted += builder.build().execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
            Ok(inserted)
        })
    }

    /// The highest stored sequence (0: none).
    ///
    /// # Errors
    /// [`StorageError::Database`].
    pub async fn last_seq(&self) -> Result<u64, StorageError> {
        let sql = "SELECT COALESCE(MAX(seq), 0) FROM audit";
        let max: i64 = with_pool!(self, pool => sqlx::query_scalar(sql).fetch_one(pool).await?);
        Ok(unwrap_u64(max))
    }

    /// Number of stored audit rows.
    ///
    /// # Errors
    /// [`StorageError::Database`].
    pub async fn audit_count(&self) -> Result<i64, StorageError> {
        let sql = "SELECT COUNT(*) FROM audit";
        Ok(with_pool!(self, pool => sqlx::query_scalar(sql).fetch_one(pool).await?))
    }

    /// Audit rows matching `filter`, ordered by sequence.
    ///
    /// # Errors
    /// [`StorageError::Database`].
    pub async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>, StorageError> {
        with_pool!(self, pool => {
            let mut builder = QueryBuilder::new(format!("SELECT {AUDIT_COLUMNS} FROM audit WHERE 1 = 1"));
            if let Some(value) = filter.after_seq {
                builder.push(" AND seq > ").push_bind(value);
            }
            if let Some(value) = filter.before_seq {
                builder.push(" AND seq < ").push_bind(value);
            }
            if let Some(value) = filter.from_seq {
                builder.push(" AND seq >= ").push_bind(value);
            }
            if let Some(value) = filter.to_seq {
                builder.push(" AND seq <= ").push_bind(value);
            }
            if let Some(value) = filter.from_ts_ns {
                builder.push(" AND ts_ns >= ").push_bind(value);
            }
            if let Some(value) = filter.to_ts_ns {
                builder.push(" AND ts_ns <= ").push_bind(value);
            }
            if let Some(value) = &filter.symbol {
                builder.push(" AND symbol = ").push_bind(value.clone());
            }
            // Kind codes are integers of the ABI, written as literals so that the planners
            // can use the partial indexes (`audit_intents`, `audit_fills`).
            match filter.kind_codes.as_slice() {
                [] => {}
                [code] => {
                    builder.push(format!(" AND kind_code = {code}"));
                }
                codes => {
                    let list: Vec<String> = codes.iter().map(ToString::to_string).collect();
                    builder.push(format!(" AND kind_code IN ({})", list.join(", ")));
                }
            }
            builder.push(if filter.descending { " ORDER BY seq DESC" } else { " ORDER BY seq" });
            builder.push(" LIMIT ").push_bind(filter.limit);
            Ok(builder.build_query_as::<AuditRow>().fetch_all(pool).await?)
        })
    }

    /// Orders (intents with their latest venue status), after `after_seq`, oldest first.
    ///
    /// # Errors
    /// [`StorageError::Database`].
    pub async fn orders(
        &self,
        after_seq: i64,
        symbol: Option<&str>,
        limit: i64,
    ) -> Result<Vec<OrderRow>, StorageError> {
        // Kind codes are literals (constants of the ABI, not input) so that the planners can
        // use the partial indexes `audit_intents` and `audit_venue_token`.
        const _: () = assert!(AuditKind::OrderIntent as u16 == 1);
        const _: () = assert!(AuditKind::VenueAccepted as u16 == 10);
        const _: () = assert!(AuditKind::VenueExecuted as u16 == 12);
        const _: () = assert!(AuditKind::VenueBrokenTrade as u16 == 16);
        with_pool!(self, pool => {
            let mut builder = QueryBuilder::new(
                "SELECT o.seq, o.ts_ns, o.symbol, o.token, o.side, o.price, o.qty, o.strategy, \
                 o.limits_version, \
                 (SELECT v.kind FROM audit v WHERE v.token = o.token \
                  AND v.kind_code >= 10 AND v.kind_code <= 16 ORDER BY v.seq DESC LIMIT 1) AS status, \
                 (SELECT CAST(COALESCE(SUM(CASE WHEN f.kind_code = 12 THEN f.qty ELSE 0 END), 0) AS BIGINT) \
                  FROM audit f WHERE f.token = o.token AND f.kind_code >= 10 AND f.kind_code <= 16) AS filled_qty \
                 FROM audit o WHERE o.kind_code = 1 AND o.seq > ",
            );
            builder.push_bind(after_seq);
            if let Some(symbol) = symbol {
                builder.push(" AND o.symbol = ").push_bind(symbol.to_owned());
            }
            builder.push(" ORDER BY o.seq LIMIT ").push_bind(limit);
            Ok(builder.build_query_as::<OrderRow>().fetch_all(pool).await?)
        })
    }

    /// Appends a mutation row; returns its id.
    ///
    /// # Errors
    /// [`StorageError::Database`].
    pub async fn insert_mutation(
        &self,
        ts_ns: i64,
        actor: &str,
        role: &str,
        action: &str,
        details: &str,
    ) -> Result<i64, StorageError> {
        let sql = "INSERT INTO mutations (ts_ns, actor, role, action, details) \
                   VALUES ($1, $2, $3, $4, $5) RETURNING id";
        Ok(with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(ts_ns)
            .bind(actor)
            .bind(role)
            .bind(action)
            .bind(details)
            .fetch_one(pool)
            .await?))
    }

    /// Mutations with id > `after_id`, oldest first.
    ///
    /// # Errors
    /// [`StorageError::Database`].
    pub async fn mutations(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<MutationRow>, StorageError> {
        let sql = "SELECT id, ts_ns, actor, role, action, details FROM mutations \
                   WHERE id > $1 ORDER BY id LIMIT $2";
        Ok(
            with_pool!(self, pool => sqlx::query_as(sql).bind(after_id).bind(limit).fetch_all(pool).await?),
        )
    }

    /// Appends a limits version.
    ///
    /// # Errors
    /// [`StorageError::Database`] (also for a version that exists).
    pub async fn insert_limits(&self, row: &LimitsRow) -> Result<(), StorageError> {
        let sql = "INSERT INTO limits_versions (version, ts_ns, actor, kill, spec) VALUES ($1, $2, $3, $4, $5)";
        with_pool!(self, pool => {
            sqlx::query(sql)
                .bind(row.version)
                .bind(row.ts_ns)
                .bind(row.actor.clone())
                .bind(row.kill)
                .bind(row.spec.clone())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The newest limits version, if any.
    ///
    /// # Errors
    /// [`StorageError::Database`].
    pub async fn latest_limits(&self) -> Result<Option<LimitsRow>, StorageError> {
        let sql = "SELECT version, ts_ns, actor, kill, spec FROM limits_versions ORDER BY version DESC LIMIT 1";
        Ok(with_pool!(self, pool => sqlx::query_as(sql).fetch_optional(pool).await?))
    }

    /// Closes the pool (waits for connections in use).
    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await);
    }
}
