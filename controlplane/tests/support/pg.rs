//! A throwaway PostgreSQL for a test.
//!
//! With `TICKWIRE_PG_URL` set, a fresh database is created on that server for each test and
//! dropped afterwards. Otherwise a whole cluster is created in a temporary directory with the
//! installed PostgreSQL binaries (initdb refuses root: as root the cluster runs as `nobody`),
//! started on a free port and stopped and removed on drop. Without binaries the test is
//! skipped with a printed reason, unless `TICKWIRE_REQUIRE_PG=1`, which makes it fail.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use super::process::{free_port, is_root};

/// A running database, removed on drop.
pub struct Postgres {
    /// `postgres://...` of the test's database.
    pub url: String,
    cluster: Option<Cluster>,
    external: Option<(String, String)>,
}

struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    _dir: tempfile::TempDir,
}

fn required() -> bool {
    std::env::var("TICKWIRE_REQUIRE_PG").is_ok_and(|value| value == "1")
}

fn find_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
        .collect();
    versions.sort();
    versions.pop()
}

/// Runs a PostgreSQL binary, as `nobody` when root.
fn run_pg(bin: &Path, program: &str, args: &[&str]) -> std::process::Output {
    let mut command = if is_root() {
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(bin.join(program));
        command
    } else {
        Command::new(bin.join(program))
    };
    command
        .args(args)
        .env("LC_ALL", "C")
        .output()
        .unwrap_or_else(|error| panic!("running {program}: {error}"))
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl Postgres {
    /// A database for one test, or `None` (skip, reason printed) when PostgreSQL is not
    /// available and not required.
    pub async fn start(test: &str) -> Option<Self> {
        if let Ok(admin_url) = std::env::var("TICKWIRE_PG_URL") {
            let name = format!(
                "tickwire_test_{}_{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            );
            let admin = sqlx::PgPool::connect(&admin_url)
                .await
                .expect("TICKWIRE_PG_URL connects");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&admin)
                .await
                .expect("create test database");
            admin.close().await;
            let base = admin_url
                .rsplit_once('/')
                .map_or(admin_url.as_str(), |(base, _)| base);
            return Some(Self {
                url: format!("{base}/{name}"),
                cluster: None,
                external: Some((admin_url.clone(), name)),
            });
        }
        let Some(bin) = find_bin() else {
            assert!(
                !required(),
                "TICKWIRE_REQUIRE_PG=1 but no PostgreSQL binaries under /usr/lib/postgresql"
            );
            eprintln!(
                "SKIPPED {test}: no PostgreSQL binaries (install postgresql) and no TICKWIRE_PG_URL"
            );
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("tickwire-pg-")
            .tempdir()
            .expect("temp dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
        let data = dir.path().join("data");
        let data_text = data.to_str().expect("utf-8 path").to_owned();
        let initdb = run_pg(
            &bin,
            "initdb",
            &[
                "-D",
                &data_text,
                "-U",
                "tickwire",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        assert!(
            initdb.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        let port = free_port();
        let socket_dir = dir.path().to_str().expect("utf-8").to_owned();
        let options = format!(
            "-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        );
        let log = dir.path().join("pg.log");
        let start = run_pg(
            &bin,
            "pg_ctl",
            &[
                "-D",
                &data_text,
                "-o",
                &options,
                "-l",
                log.to_str().expect("utf-8"),
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        let cluster = Cluster {
            bin,
            data,
            _dir: dir,
        };
        assert!(
            start.status.success(),
            "pg_ctl start failed: {}{}",
            String::from_utf8_lossy(&start.stdout),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        Some(Self {
            url: format!("postgres://tickwire@127.0.0.1:{port}/postgres"),
            cluster: Some(cluster),
            external: None,
        })
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(cluster) = &self.cluster {
            let data = cluster.data.to_str().unwrap_or_default().to_owned();
            let stop = run_pg(
                &cluster.bin,
                "pg_ctl",
                &["-D", &data, "-m", "immediate", "-w", "-t", "30", "stop"],
            );
            if !stop.status.success() {
                eprintln!("pg_ctl stop: {}", String::from_utf8_lossy(&stop.stderr));
            }
        }
        if let Some((admin_url, name)) = self.external.take() {
            // Drop runs outside any runtime we may block: use a thread with its own.
            let _ignored = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async {
                    if let Ok(admin) = sqlx::PgPool::connect(&admin_url).await {
                        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let _ignored = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&admin).await;
                        admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}
