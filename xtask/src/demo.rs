//! `cargo xtask demo`: the whole gateway on this machine, in one command (as root).
//!
//! 1. Installs the Debian packages the build and the topology need, when missing.
//! 2. Builds release binaries of the data plane, the venue simulator and the control plane.
//! 3. Creates the namespace topology `twdemo-gw` (10.77.0.1) / `twdemo-venue` (10.77.0.2).
//! 4. Starts the venue (synthetic ITCH flow on ALC, BOB, CHAR; OUCH over UFO) in
//!    `twdemo-venue`, pinned to core 1; the control plane as `nobody` with SQLite in a
//!    temporary directory; the data plane in `twdemo-gw` as `nobody` with only the
//!    capabilities AF_XDP needs, on AF_XDP with its engine pinned to core 0. Both planes run
//!    as the same user: iceoryx2 services are shared only between processes of one user.
//! 5. Prints `api: <url>` and `tokens: <file>` (viewer, trader and admin tokens), then one
//!    line per second from the control plane's `/metrics` and the venue's latency capture.
//! 6. On Ctrl-C or after `--duration`: stops the data plane (it cancels its orders), waits
//!    until the control plane has stored every audit record, stops the venue and the control
//!    plane, removes the namespaces (and the XDP program with them) and the directory, prints
//!    the report and writes it with `--report`.
//!
//! Children run in their own process groups, so a Ctrl-C reaches only this process and the
//! shutdown happens in the order above.

use std::{
    collections::BTreeMap,
    io::{BufRead as _, BufReader, Read as _, Write as _},
    net::{TcpListener, TcpStream},
    os::unix::{fs::PermissionsExt as _, process::CommandExt as _},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use crate::util;

const PREFIX: &str = "twdemo";
const GATEWAY_NS: &str = "twdemo-gw";
const VENUE_NS: &str = "twdemo-venue";
const IFACE: &str = "twdemo-gw0";
const ADMIN: &str = "10.77.0.2:27100";
const SERVICE_PREFIX: &str = "twdemo";
/// `nobody`: present on every Debian system, owns nothing.
const USER_ID: &str = "65534";
/// What AF_XDP and the XDP program need (CAP_PERFMON: the verifier's pointer arithmetic for
/// a process that is not root), plus mlockall.
const DATA_PLANE_CAPS: &str = "+net_admin,+net_raw,+bpf,+perfmon,+ipc_lock";
/// Packages the build (eBPF object embedding, xsk-rs' C shim) and the topology need.
const PACKAGES: [&str; 11] = [
    "clang",
    "libclang-dev",
    "libelf-dev",
    "zlib1g-dev",
    "pkg-config",
    "m4",
    "make",
    "iproute2",
    "procps",
    "util-linux",
    "ca-certificates",
];

/// Options of `cargo xtask demo`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Stop after this long (`None`: at Ctrl-C).
    pub duration: Option<Duration>,
    /// Write the final report here.
    pub report: Option<PathBuf>,
    /// Venue flow rate (feed messages per second).
    pub rate: u64,
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

pub fn run(root: &Path, options: &Options) -> anyhow::Result<()> {
    if !is_root() {
        bail!("the demo needs root (Debian packages, network namespaces, XDP)");
    }
    install_packages()?;
    println!("== demo: building release binaries");
    let bin = util::build_release(
        root,
        &[
            "tickwire-dataplane",
            "tickwire-venue",
            "tickwire-controlplane",
        ],
    )?;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    let work = Work::create()?;
    let installed = work.install(&bin)?;
    let topology = Topology::up(&installed)?;
    let outcome = Demo::start(&work, &installed, options).and_then(|mut demo| {
        let outcome = demo.trade(options);
        let report = demo.shut_down();
        outcome.and(report)
    });
    drop(topology);
    let work_dir = work.dir.clone();
    drop(work);
    let report = outcome?;
    println!(
        "== demo: report\n{}",
        serde_json::to_string_pretty(&report)?
    );
    if let Some(path) = &options.report {
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        println!("report: {}", path.display());
    }
    println!(
        "demo: namespaces removed, {} deleted, nothing left running",
        work_dir.display()
    );
    if report["audit_records"] != report["audit_records_data_plane"] {
        bail!("the control plane stored a different number of audit records than were written");
    }
    Ok(())
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn install_packages() -> anyhow::Result<()> {
    let missing: Vec<&str> = PACKAGES
        .iter()
        .copied()
        .filter(|package| {
            !Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", package])
                .output()
                .is_ok_and(|output| output.stdout.ends_with(b"install ok installed"))
        })
        .collect();
    if missing.is_empty() {
        println!("== demo: Debian packages present");
        return Ok(());
    }
    println!("== demo: installing {}", missing.join(" "));
    util::run(Command::new("apt-get").arg("update"))?;
    util::run(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "--no-install-recommends"])
            .args(&missing),
    )
}

/// The temporary directory (owned by `nobody`, deleted on drop).
struct Work {
    dir: PathBuf,
}

struct Binaries {
    dataplane: PathBuf,
    venue: PathBuf,
    controlplane: PathBuf,
}

impl Work {
    fn create() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("tickwire-demo-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("bin"))?;
        std::fs::create_dir_all(dir.join("iceoryx2"))?;
        let work = Self { dir };
        std::fs::set_permissions(&work.dir, std::fs::Permissions::from_mode(0o755))?;
        util::run(Command::new("chown").args([
            "-R",
            &format!("{USER_ID}:{USER_ID}"),
            &work.dir.display().to_string(),
        ]))?;
        Ok(work)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Copies the binaries where `nobody` can run them (the build tree may be private).
    fn install(&self, bin: &Path) -> anyhow::Result<Binaries> {
        let copy = |name: &str| -> anyhow::Result<PathBuf> {
            let to = self.dir.join("bin").join(name);
            std::fs::copy(bin.join(name), &to)
                .with_context(|| format!("copying {}", bin.join(name).display()))?;
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755))?;
            Ok(to)
        };
        Ok(Binaries {
            dataplane: copy("tickwire-dataplane")?,
            venue: copy("tickwire-venue")?,
            controlplane: copy("tickwire-controlplane")?,
        })
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        // iceoryx2's shared-memory objects of this run.
        if let Ok(entries) = std::fs::read_dir("/dev/shm") {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with("twdemo_") {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }
}

/// The namespaces, removed (with the veth pair and the XDP program) on drop.
struct Topology {
    dataplane: PathBuf,
}

impl Topology {
    fn up(bin: &Binaries) -> anyhow::Result<Self> {
        // A leftover of an interrupted run would make `up` fail.
        let _ = Command::new(&bin.dataplane)
            .args(["netns", "down", "--prefix", PREFIX])
            .stdout(Stdio::null())
            .status();
        util::run(Command::new(&bin.dataplane).args(["netns", "up", "--prefix", PREFIX]))?;
        Ok(Self {
            dataplane: bin.dataplane.clone(),
        })
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        let _ = Command::new(&self.dataplane)
            .args(["netns", "down", "--prefix", PREFIX])
            .status();
    }
}

/// A child in its own process group; its output is echoed with a prefix and kept.
struct Process {
    name: &'static str,
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Process {
    fn spawn(
        name: &'static str,
        command: &mut Command,
        ready: &str,
        echo: bool,
    ) -> anyhow::Result<Self> {
        let mut child = command
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().context("stdout")?;
        let stderr = child.stderr.take().context("stderr")?;
        for (stream, is_stdout) in [
            (Box::new(stdout) as Box<dyn std::io::Read + Send>, true),
            (Box::new(stderr), false),
        ] {
            let (lines, ready_tx, wanted) =
                (Arc::clone(&lines), ready_tx.clone(), ready.to_owned());
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if is_stdout && line.contains(&wanted) {
                        let _ = ready_tx.send(());
                    }
                    if echo || !is_stdout {
                        // Warnings and errors always show; routine output only with echo.
                        if echo || line.contains("WARN") || line.contains("ERROR") {
                            println!("{name}: {line}");
                        }
                    }
                    if let Ok(mut lines) = lines.lock() {
                        lines.push(line);
                    }
                }
            });
        }
        let mut process = Self { name, child, lines };
        if ready_rx.recv_timeout(Duration::from_secs(60)).is_err() {
            process.stop();
            let tail = process.tail(20);
            bail!("{name} did not become ready:\n{tail}");
        }
        Ok(process)
    }

    fn tail(&self, count: usize) -> String {
        self.lines.lock().map_or_else(
            |_| String::new(),
            |lines| lines[lines.len().saturating_sub(count)..].join("\n"),
        )
    }

    fn line_starting(&self, prefix: &str) -> Option<String> {
        let lines = self.lines.lock().ok()?;
        lines
            .iter()
            .rev()
            .find_map(|line| line.strip_prefix(prefix).map(str::to_owned))
    }

    /// SIGINT, then SIGKILL after 10 s; true when it exited by itself.
    fn stop(&mut self) -> bool {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return true;
        }
        let Ok(pid) = libc::pid_t::try_from(self.child.id()) else {
            return false;
        };
        // SAFETY: kill with a valid signal on our own child's pid.
        unsafe { libc::kill(pid, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                // The readers finish the pipes' last lines.
                std::thread::sleep(Duration::from_millis(100));
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        println!("demo: {} ignored SIGINT; killed", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
        false
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The venue's admin socket (JSON lines), reached from inside the venue namespace.
struct Admin {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Admin {
    fn connect() -> anyhow::Result<Self> {
        let stream = util::connect_in_namespace(VENUE_NS, ADMIN)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(Self {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        })
    }

    fn latency(&mut self) -> anyhow::Result<Value> {
        writeln!(self.writer, "{}", json!({"cmd": "latency"}))?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        serde_json::from_str(&line).context("venue admin answer")
    }
}

/// One HTTP/1.1 GET with a bearer token; the body of a 200.
fn get(address: &str, path: &str, token: &str) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Connection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").context("HTTP response")?;
    if !head.starts_with("HTTP/1.1 200") {
        bail!("GET {path}: {}", head.lines().next().unwrap_or(""));
    }
    // Chunked bodies are not expected from these small JSON and text answers.
    Ok(body.to_owned())
}

/// `/metrics` samples: name with labels → value.
fn metrics(address: &str, token: &str) -> anyhow::Result<BTreeMap<String, f64>> {
    let body = get(address, "/metrics", token)?;
    Ok(body
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .collect())
}

fn sum_of(samples: &BTreeMap<String, f64>, name: &str) -> f64 {
    samples
        .iter()
        .filter(|(key, _)| *key == name || key.starts_with(&format!("{name}{{")))
        .map(|(_, value)| value)
        .sum()
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

struct Demo {
    venue: Process,
    controlplane: Process,
    dataplane: Process,
    admin: Admin,
    address: String,
    viewer: String,
    audit_log: PathBuf,
    started: Instant,
}

impl Demo {
    fn start(work: &Work, bin: &Binaries, options: &Options) -> anyhow::Result<Self> {
        let rate = options.rate.to_string();
        let mut venue = Command::new("ip");
        venue
            .args(["netns", "exec", VENUE_NS, "taskset", "-c", "1"])
            .arg(&bin.venue)
            .args(["--feed", "239.77.0.1:26400", "--feed-bind", "10.77.0.2:0"])
            .args([
                "--retransmit",
                "26401",
                "--ufo",
                "27000",
                "--admin",
                "27100",
            ])
            .args(["--user", "TW0001:demo-pass", "--symbols", "ALC,BOB,CHAR"])
            .args(["--heartbeat-ms", "200", "--feed-heartbeat-ms", "100"])
            .args(["--flow", "synthetic", "--rate", &rate, "--seed", "1"]);
        let venue = Process::spawn("venue", &mut venue, "venue: ready", false)?;
        println!("== demo: venue up in {VENUE_NS} (synthetic flow, {rate} msgs/s)");

        let port = free_port()?;
        let address = format!("127.0.0.1:{port}");
        let config = work.path("controlplane.toml");
        let example = Command::new(&bin.controlplane)
            .args(["config", "example"])
            .output()
            .context("tickwire-controlplane config example")?;
        let text = String::from_utf8(example.stdout)?
            .replace(
                "listen = \"127.0.0.1:8080\"",
                &format!("listen = \"{address}\""),
            )
            .replace(
                "url = \"sqlite:/var/lib/tickwire/audit.db\"",
                &format!("url = \"sqlite:{}\"", work.path("audit.db").display()),
            )
            .replace(
                "service_prefix = \"tickwire\"",
                &format!("service_prefix = \"{SERVICE_PREFIX}\""),
            )
            .replace(
                "# root_path = \"/run/tickwire/iceoryx2/\"",
                &format!("root_path = \"{}/\"", work.path("iceoryx2").display()),
            )
            .replace("# file_prefix = \"iox2_\"", "file_prefix = \"twdemo_\"")
            // The example's per-symbol limits name AAPL; the demo's market maker quotes BOB.
            .replace("symbol = \"AAPL\"", "symbol = \"BOB\"");
        std::fs::write(&config, text)?;
        let mut tokens = serde_json::Map::new();
        for (key, role) in [
            ("viewer", "viewer"),
            ("trader", "trader"),
            ("admin", "risk-admin"),
        ] {
            let output = Command::new(&bin.controlplane)
                .args(["token", "create", "--role", role, "--name"])
                .arg(format!("demo-{key}"))
                .arg("--config")
                .arg(&config)
                .output()
                .context("tickwire-controlplane token create")?;
            if !output.status.success() {
                bail!(
                    "token create: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                );
            }
            let token = String::from_utf8(output.stdout)?.trim().to_owned();
            tokens.insert(key.to_owned(), Value::String(token));
        }
        let viewer = tokens["viewer"].as_str().unwrap_or_default().to_owned();
        let tokens_path = work.path("tokens.json");
        std::fs::write(
            &tokens_path,
            serde_json::to_string_pretty(&Value::Object(tokens))?,
        )?;
        // Readable by root only: the tokens are secrets.
        std::fs::set_permissions(&tokens_path, std::fs::Permissions::from_mode(0o600))?;
        util::run(Command::new("chown").args([
            &format!("{USER_ID}:{USER_ID}"),
            &config.display().to_string(),
        ]))?;

        let mut controlplane = Command::new("setpriv");
        controlplane
            .args(unprivileged(""))
            .arg(&bin.controlplane)
            .args(["run", "--config"])
            .arg(&config);
        let controlplane = Process::spawn("controlplane", &mut controlplane, "listening", false)?;

        let audit_log = work.path("audit.jsonl");
        let dataplane_config = work.path("dataplane.toml");
        std::fs::write(
            &dataplane_config,
            dataplane_config_text(&work.path("iceoryx2"), &audit_log),
        )?;
        let mut dataplane = Command::new("ip");
        dataplane
            .args(["netns", "exec", GATEWAY_NS, "setpriv"])
            .args(unprivileged(DATA_PLANE_CAPS))
            .arg(&bin.dataplane)
            .args(["run", "--config"])
            .arg(&dataplane_config);
        let dataplane = Process::spawn("dataplane", &mut dataplane, "dataplane: ready", false)?;
        let admin = Admin::connect()?;
        println!("== demo: running (Ctrl-C to stop)");
        println!("api: http://{address}");
        println!("tokens: {}", tokens_path.display());
        Ok(Self {
            venue,
            controlplane,
            dataplane,
            admin,
            address,
            viewer,
            audit_log,
            started: Instant::now(),
        })
    }

    /// One summary line per second until Ctrl-C or the duration.
    fn trade(&mut self, options: &Options) -> anyhow::Result<()> {
        let mut last_ticks = 0.0;
        let mut next = Instant::now() + Duration::from_secs(1);
        loop {
            while Instant::now() < next {
                if STOP.load(Ordering::Relaxed) {
                    println!();
                    return Ok(());
                }
                if let Ok(Some(status)) = self.dataplane.child.try_wait() {
                    bail!(
                        "the data plane exited ({status}):\n{}",
                        self.dataplane.tail(20)
                    );
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            next += Duration::from_secs(1);
            let samples = metrics(&self.address, &self.viewer).unwrap_or_default();
            let ticks = sum_of(&samples, "tickwire_dataplane_feed_messages_total");
            let latency = self.admin.latency().unwrap_or(Value::Null);
            let positions: Vec<String> = samples
                .iter()
                .filter(|(key, value)| {
                    key.starts_with("tickwire_dataplane_position_quantity{") && **value != 0.0
                })
                .map(|(key, value)| {
                    let symbol = key.split('"').nth(1).unwrap_or("?");
                    format!("{symbol} {value:+}")
                })
                .collect();
            let pnl = sum_of(&samples, "tickwire_dataplane_realized_pnl_currency")
                + sum_of(&samples, "tickwire_dataplane_unrealized_pnl_currency");
            println!(
                "t={:>3}s ticks/s={:>6} orders={} accepted={} fills={} position=[{}] pnl={pnl:.2} \
                 wire-to-wire p50={}us p99={}us stored={}",
                self.started.elapsed().as_secs(),
                ticks - last_ticks,
                sum_of(&samples, "tickwire_dataplane_orders_sent_total"),
                sum_of(&samples, "tickwire_dataplane_orders_accepted_total"),
                sum_of(&samples, "tickwire_dataplane_fills_total"),
                positions.join(", "),
                micros(&latency["p50_ns"]),
                micros(&latency["p99_ns"]),
                sum_of(&samples, "tickwire_controlplane_audit_stored_sequence"),
            );
            last_ticks = ticks;
            if options
                .duration
                .is_some_and(|duration| self.started.elapsed() >= duration)
            {
                return Ok(());
            }
        }
    }

    /// Stops everything in order and builds the report.
    fn shut_down(mut self) -> anyhow::Result<Value> {
        println!("== demo: stopping the data plane (it cancels its working orders)");
        let clean = self.dataplane.stop();
        let summary: Value = self
            .dataplane
            .line_starting("dataplane: {")
            .and_then(|json| serde_json::from_str(&format!("{{{json}")).ok())
            .unwrap_or(Value::Null);
        let latency = self.admin.latency().unwrap_or(Value::Null);
        let kinds = audit_kinds(&self.audit_log);
        let written: u64 = kinds.values().sum();
        let kind = |name: &str| kinds.get(name).copied().unwrap_or(0);
        // The control plane stores the last records (its link drains within a second).
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut stored = 0.0;
        while Instant::now() < deadline {
            let samples = metrics(&self.address, &self.viewer).unwrap_or_default();
            stored = sum_of(&samples, "tickwire_controlplane_audit_rows_stored_total");
            if stored >= written as f64 {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        println!("== demo: stopping the venue and the control plane");
        self.venue.stop();
        self.controlplane.stop();
        if !clean {
            bail!("the data plane did not shut down cleanly");
        }
        let field = |name: &str| summary[name].as_u64().unwrap_or(0);
        Ok(json!({
            "api_url": format!("http://{}", self.address),
            "backend": summary["backend"],
            "duration_s": self.started.elapsed().as_secs(),
            "ticks_received": field("ticks"),
            // New orders and replaces sent, and the venue's acknowledgements of them
            // (Accepted, Replaced) as audited.
            "orders_sent": field("orders_sent"),
            "orders_acked": kind("venue_accepted") + kind("venue_replaced"),
            "orders_rejected_by_venue": kind("venue_rejected"),
            "fills": field("fills"),
            "cancels_sent": field("cancels_sent"),
            "risk_rejects": field("risk_rejects"),
            "live_orders_at_exit": summary["live_orders"],
            "positions": summary["positions"],
            "audit_records": stored as u64,
            "audit_records_data_plane": written,
            "wire_to_wire_ns": {
                "samples": latency["samples"],
                "p50": latency["p50_ns"],
                "p99": latency["p99_ns"],
                "p999": latency["p999_ns"],
                "max": latency["max_ns"],
            },
            "venue_orders_received": latency["orders_received"],
        }))
    }
}

fn micros(value: &Value) -> String {
    value
        .as_u64()
        .map_or_else(|| "-".into(), |ns| format!("{:.1}", ns as f64 / 1000.0))
}

/// Audit records of the data plane's log by kind.
fn audit_kinds(path: &Path) -> BTreeMap<String, u64> {
    let mut kinds = BTreeMap::new();
    let text = std::fs::read_to_string(path).unwrap_or_default();
    for line in text.lines() {
        let kind = serde_json::from_str::<Value>(line)
            .ok()
            .and_then(|record| record["kind"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "unparsable".to_owned());
        *kinds.entry(kind).or_insert(0) += 1;
    }
    kinds
}

/// `setpriv` arguments that run the rest as `nobody` with `caps` (none when empty).
fn unprivileged(caps: &str) -> Vec<String> {
    let mut args = vec![
        format!("--reuid={USER_ID}"),
        format!("--regid={USER_ID}"),
        "--clear-groups".to_owned(),
    ];
    if !caps.is_empty() {
        args.push(format!("--inh-caps={caps}"));
        args.push(format!("--ambient-caps={caps}"));
    }
    args
}

/// The example data-plane configuration, wired to the demo's namespace, directory and link.
fn dataplane_config_text(iceoryx: &Path, audit_log: &Path) -> String {
    include_str!("../../dataplane/config/itch-ufo.toml")
        .replace("iface = \"tw-gw0\"", &format!("iface = \"{IFACE}\""))
        .replace("backend = \"auto\"", "backend = \"afxdp\"")
        .replace(
            "audit_log = \"/var/lib/tickwire/audit.jsonl\"",
            &format!("audit_log = \"{}\"", audit_log.display()),
        )
        .replace(
            "service_prefix = \"tickwire\"",
            &format!("service_prefix = \"{SERVICE_PREFIX}\""),
        )
        .replace(
            "# root_path = \"/run/tickwire/iceoryx2/\"",
            &format!("root_path = \"{}/\"", iceoryx.display()),
        )
        .replace("# file_prefix = \"iox2_\"", "file_prefix = \"twdemo_\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_config_differs_from_the_example_where_it_must() {
        let text = dataplane_config_text(
            Path::new("/tmp/x/iceoryx2"),
            Path::new("/tmp/x/audit.jsonl"),
        );
        for wanted in [
            "iface = \"twdemo-gw0\"",
            "backend = \"afxdp\"",
            "audit_log = \"/tmp/x/audit.jsonl\"",
            "service_prefix = \"twdemo\"",
            "root_path = \"/tmp/x/iceoryx2/\"",
            "file_prefix = \"twdemo_\"",
            "core = 0",
        ] {
            assert!(text.contains(wanted), "{wanted}");
        }
    }

    #[test]
    fn metric_sums_cover_labelled_samples() {
        let samples: BTreeMap<String, f64> = [
            ("a_total".to_owned(), 1.0),
            ("b{symbol=\"X\"}".to_owned(), 2.0),
            ("b{symbol=\"Y\"}".to_owned(), 3.0),
            ("bc".to_owned(), 100.0),
        ]
        .into_iter()
        .collect();
        assert!((sum_of(&samples, "a_total") - 1.0).abs() < 1e-9);
        assert!((sum_of(&samples, "b") - 5.0).abs() < 1e-9);
    }
}
