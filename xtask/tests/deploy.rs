//! `cargo xtask deploy` against a stand-in bare-metal host: a real OpenSSH server in a
//! network namespace the test creates, reached over a veth pair from a second namespace that
//! plays the operator's workstation. Real ssh, scp, release build, control plane and HTTP.
//!
//! Scenario: install (v1), upgrade (v2: `current` moves, v1 stays), an upgrade whose control
//! plane cannot start (v3: its SQLite database lies in a directory that does not exist, which
//! `config check` cannot see) that must roll back to v2 and fail, and an upgrade with
//! `--keep 2` that prunes v1.
//!
//! The host has no systemd, so the deploy runs with `--restart-cmd`: a small script that
//! (re)starts the control plane of `current` as `nobody` (the control plane refuses root).
//!
//! Needs root, iproute2, openssh-server (`/usr/sbin/sshd`), openssh-client and setpriv;
//! otherwise it prints `SKIPPED` with the reason, and `TICKWIRE_REQUIRE_DEPLOY=1` turns the
//! skip into a failure. Namespaces, processes and files are removed by drop guards, also
//! when an assertion fails.

use std::{
    fs,
    os::unix::fs::{MetadataExt as _, PermissionsExt as _},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

const SSHD: &str = "/usr/sbin/sshd";
const SSH_PORT: u16 = 2222;
const API_PORT: u16 = 18080;
const OPS_ADDRESS: &str = "10.79.0.1";
const HOST_ADDRESS: &str = "10.79.0.2";

fn effective_uid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

fn missing_prerequisite() -> Option<String> {
    if effective_uid() != Some(0) {
        return Some("needs root (network namespaces, sshd)".to_owned());
    }
    if !Path::new(SSHD).exists() {
        return Some(format!("{SSHD} not found (apt-get install openssh-server)"));
    }
    for tool in [
        "ip",
        "ssh",
        "scp",
        "ssh-keygen",
        "setpriv",
        "setsid",
        "bash",
    ] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|output| output.status.success());
        if !found {
            return Some(format!("{tool} not found"));
        }
    }
    None
}

/// Skips (returns false) or, with `TICKWIRE_REQUIRE_DEPLOY=1`, fails.
fn prerequisites(test: &str) -> bool {
    let Some(reason) = missing_prerequisite() else {
        return true;
    };
    assert!(
        std::env::var("TICKWIRE_REQUIRE_DEPLOY").as_deref() != Ok("1"),
        "TICKWIRE_REQUIRE_DEPLOY=1 but {test} cannot run: {reason}"
    );
    println!("SKIPPED {test}: {reason}");
    false
}

fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("running {command:?}: {error}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn ip(args: &[&str]) {
    run(Command::new("ip").args(args));
}

/// A directory removed when dropped (world-traversable: `nobody` runs from it).
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("tickwire-deploy-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("scratch directory");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
        Self(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Network namespaces deleted when dropped, after every process still in them is killed
/// (sshd's sessions, the control planes the restart script started).
struct Namespaces(Vec<String>);

impl Namespaces {
    fn pids(name: &str) -> Vec<String> {
        Command::new("ip")
            .args(["netns", "pids", name])
            .output()
            .map(|output| {
                String::from_utf8_lossy(&output.stdout)
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for name in &self.0 {
            for signal in ["-TERM", "-KILL"] {
                let pids = Self::pids(name);
                if pids.is_empty() {
                    break;
                }
                let _ = Command::new("kill").arg(signal).args(&pids).status();
                let deadline = Instant::now() + Duration::from_secs(5);
                while !Self::pids(name).is_empty() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

/// The sshd process, killed and reaped when dropped.
struct Sshd(Child);

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// iceoryx2 objects the control planes left in /dev/shm, removed when dropped.
struct ShmFiles(String);

impl Drop for ShmFiles {
    fn drop(&mut self) {
        if let Ok(entries) = fs::read_dir("/dev/shm") {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(&self.0) {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
    }
}

fn write(path: &Path, text: &str, mode: u32) {
    fs::write(path, text).unwrap_or_else(|error| panic!("writing {}: {error}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

fn keygen(path: &Path) {
    run(Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "tickwire-deploy-test",
            "-f",
        ])
        .arg(path));
}

const RESTART_SCRIPT: &str = r#"#!/bin/sh
# The deploy test's stand-in for systemd: (re)start the control plane of $TICKWIRE_PREFIX/current
# as nobody, detached, with its pid in STATE/controlplane.pid.
set -eu
state=STATE
pidfile=$state/controlplane.pid
if [ -f "$pidfile" ]; then
  pid=$(cat "$pidfile")
  if kill "$pid" 2>/dev/null; then
    i=0
    while [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null && [ "$i" -lt 100 ]; do
      sleep 0.1; i=$((i + 1))
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
fi
echo "=== $TICKWIRE_RELEASE" >>"$state/controlplane.log"
setsid setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
  "$TICKWIRE_PREFIX/current/bin/tickwire-controlplane" run \
  --config "$TICKWIRE_PREFIX/current/config/controlplane.toml" \
  >>"$state/controlplane.log" 2>&1 </dev/null &
echo $! >"$pidfile"
echo "control plane of $TICKWIRE_RELEASE started (pid $!)"
"#;

fn controlplane_config(state: &Path, file_prefix: &str, storage: &str, strategy: &str) -> String {
    format!(
        r#"[server]
listen = "127.0.0.1:{API_PORT}"
shutdown_grace_s = 1

[storage]
url = "{storage}"

[link]
service_prefix = "{file_prefix}"
root_path = "{root}/iceoryx2/"
file_prefix = "{file_prefix}_"

[[strategies]]
index = 0
name = "{strategy}"
"#,
        root = state.display()
    )
}

struct Host {
    scratch: PathBuf,
    prefix: PathBuf,
    state: PathBuf,
    ops_ns: String,
    host_ns: String,
}

impl Host {
    fn deploy(&self, config: &str, extra: &[&str]) -> (bool, String) {
        let started = Instant::now();
        let output = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.ops_ns,
                env!("CARGO_BIN_EXE_xtask"),
                "deploy",
            ])
            .args(["--host", &format!("root@{HOST_ADDRESS}")])
            .args(["--port", &SSH_PORT.to_string()])
            .arg("--identity")
            .arg(self.scratch.join("client_key"))
            .arg("--ssh-option")
            .arg(format!(
                "UserKnownHostsFile={}",
                self.scratch.join("known_hosts").display()
            ))
            .args(["--ssh-option", "StrictHostKeyChecking=yes"])
            .arg("--config")
            .arg(self.scratch.join("configs").join(config))
            .arg("--prefix")
            .arg(&self.prefix)
            .args(["--service-user", "nobody"])
            .arg("--restart-cmd")
            .arg(format!("sh {}", self.scratch.join("restart.sh").display()))
            .args(["--health-timeout", "15"])
            .args(extra)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("CARGO_MANIFEST_DIR", env!("CARGO_MANIFEST_DIR"))
            .env_remove("RUST_BACKTRACE")
            .stdin(Stdio::null())
            .output()
            .expect("running cargo xtask deploy");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        println!(
            "---- deploy {config} ({:.1} s, {}):\n{text}",
            started.elapsed().as_secs_f64(),
            output.status
        );
        (output.status.success(), text)
    }

    fn current(&self) -> String {
        fs::read_link(self.prefix.join("current"))
            .expect("current is a symlink")
            .to_string_lossy()
            .into_owned()
    }

    fn releases(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.prefix.join("releases"))
            .expect("releases")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    /// The release the running control plane's binary belongs to.
    fn running_release(&self) -> String {
        let pid = fs::read_to_string(self.state.join("controlplane.pid")).expect("pid file");
        let exe = fs::read_link(format!("/proc/{}/exe", pid.trim()))
            .unwrap_or_else(|error| panic!("control plane {} not running: {error}", pid.trim()));
        exe.parent()
            .and_then(Path::parent)
            .and_then(Path::file_name)
            .map(|name| name.to_string_lossy().into_owned())
            .expect("releases/<id>/bin/tickwire-controlplane")
    }

    /// `GET /api/health` from inside the host, independently of the deploy's own probe.
    fn health(&self) -> String {
        let output = Command::new("ip")
            .args(["netns", "exec", &self.host_ns, "bash", "-c"])
            .arg(format!(
                "exec 3<>/dev/tcp/127.0.0.1/{API_PORT} && \
                 printf 'GET /api/health HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' >&3 && \
                 timeout 5 cat <&3"
            ))
            .output()
            .expect("bash");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn assert_healthy(&self) {
        let answer = self.health();
        assert!(
            answer.starts_with("HTTP/1.1 200") && answer.contains(r#""status":"ok""#),
            "GET /api/health on the host: {answer:?}"
        );
    }

    fn log(&self) -> String {
        fs::read_to_string(self.state.join("controlplane.log")).unwrap_or_default()
    }
}

/// The directory the install's release build went to (cargo's target dir, as the deploy
/// saw it).
fn release_dir(output: &str) -> String {
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(
        |_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        |dir| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir),
    );
    assert!(
        output.contains("[2/8] building release binaries"),
        "the install builds"
    );
    target.join("release").display().to_string()
}

/// Waits for the wall clock to enter a new second: release names carry a timestamp with
/// one-second resolution.
fn next_second() {
    std::thread::sleep(Duration::from_millis(1100));
}

#[test]
fn deploy_install_upgrade_rollback_prune() {
    if !prerequisites("deploy_install_upgrade_rollback_prune") {
        return;
    }
    let pid = std::process::id();
    let scratch_guard = Scratch::new();
    let scratch = scratch_guard.0.clone();
    let shm_prefix = format!("twdeploy{pid}");
    let _shm = ShmFiles(shm_prefix.clone());

    // The two hosts and the wire between them.
    let ops_ns = format!("twdep{pid}-ops");
    let host_ns = format!("twdep{pid}-host");
    let namespaces = Namespaces(vec![host_ns.clone(), ops_ns.clone()]);
    let (veth_ops, veth_host) = (format!("twd{pid}o"), format!("twd{pid}h"));
    for name in &namespaces.0 {
        ip(&["netns", "add", name]);
        ip(&["-n", name, "link", "set", "lo", "up"]);
    }
    ip(&[
        "-n", &ops_ns, "link", "add", &veth_ops, "type", "veth", "peer", "name", &veth_host,
        "netns", &host_ns,
    ]);
    ip(&[
        "-n",
        &ops_ns,
        "addr",
        "add",
        &format!("{OPS_ADDRESS}/24"),
        "dev",
        &veth_ops,
    ]);
    ip(&[
        "-n",
        &host_ns,
        "addr",
        "add",
        &format!("{HOST_ADDRESS}/24"),
        "dev",
        &veth_host,
    ]);
    ip(&["-n", &ops_ns, "link", "set", &veth_ops, "up"]);
    ip(&["-n", &host_ns, "link", "set", &veth_host, "up"]);

    // Keys: the host's (pinned in known_hosts, StrictHostKeyChecking=yes) and the client's.
    keygen(&scratch.join("host_key"));
    keygen(&scratch.join("client_key"));
    let host_public = fs::read_to_string(scratch.join("host_key.pub")).expect("host key");
    let host_public: Vec<&str> = host_public.split_whitespace().take(2).collect();
    write(
        &scratch.join("known_hosts"),
        &format!("[{HOST_ADDRESS}]:{SSH_PORT} {}\n", host_public.join(" ")),
        0o644,
    );
    fs::copy(
        scratch.join("client_key.pub"),
        scratch.join("authorized_keys"),
    )
    .expect("copy");
    let sshd_config = scratch.join("sshd_config");
    write(
        &sshd_config,
        &format!(
            "Port {SSH_PORT}\nListenAddress {HOST_ADDRESS}\nHostKey {scratch}/host_key\n\
             PidFile {scratch}/sshd.pid\nAuthorizedKeysFile {scratch}/authorized_keys\n\
             PermitRootLogin prohibit-password\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n\
             AllowTcpForwarding yes\nX11Forwarding no\nPrintMotd no\n\
             Subsystem sftp internal-sftp\nLogLevel VERBOSE\n",
            scratch = scratch.display()
        ),
        0o600,
    );
    // Privilege separation directory (Debian's packaging creates it at service start).
    fs::create_dir_all("/run/sshd").expect("/run/sshd");
    run(Command::new(SSHD).arg("-t").arg("-f").arg(&sshd_config));
    let sshd_log = scratch.join("sshd.log");
    let sshd = Sshd(
        Command::new("ip")
            .args(["netns", "exec", &host_ns, SSHD, "-D", "-e", "-f"])
            .arg(&sshd_config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&sshd_log).expect("sshd log"))
            .spawn()
            .expect("starting sshd"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !fs::read_to_string(&sshd_log)
        .unwrap_or_default()
        .contains("Server listening")
    {
        assert!(
            Instant::now() < deadline,
            "sshd did not start: {}",
            fs::read_to_string(&sshd_log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // The host's side: an install root, a state directory the service user owns, the
    // restart script.
    let prefix = scratch.join("host/opt/tickwire");
    let state = scratch.join("host/state");
    fs::create_dir_all(&prefix).expect("prefix");
    fs::create_dir_all(&state).expect("state");
    fs::set_permissions(scratch.join("host"), fs::Permissions::from_mode(0o755)).expect("chmod");
    run(Command::new("chown").args(["nobody:nogroup"]).arg(&state));
    fs::set_permissions(&state, fs::Permissions::from_mode(0o700)).expect("chmod");
    write(
        &scratch.join("restart.sh"),
        &RESTART_SCRIPT.replace("STATE", &state.display().to_string()),
        0o755,
    );

    // Three configurations: two good ones, and one whose database directory is missing.
    let dataplane = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/config/dataplane.toml"),
    )
    .expect("deploy/config/dataplane.toml");
    let sqlite = format!("sqlite:{}/audit.db", state.display());
    for (name, storage, strategy) in [
        ("v1", sqlite.as_str(), "first"),
        ("v2", sqlite.as_str(), "second"),
        (
            "v3-broken",
            "sqlite:/nonexistent/tickwire-deploy-test/audit.db",
            "third",
        ),
    ] {
        let directory = scratch.join("configs").join(name);
        fs::create_dir_all(&directory).expect("config directory");
        write(&directory.join("dataplane.toml"), &dataplane, 0o600);
        write(
            &directory.join("controlplane.toml"),
            &controlplane_config(&state, &shm_prefix, storage, strategy),
            0o600,
        );
    }

    let host = Host {
        scratch,
        prefix: prefix.clone(),
        state,
        ops_ns: ops_ns.clone(),
        host_ns: host_ns.clone(),
    };

    // 1. Install.
    let (ok, output) = host.deploy("v1", &[]);
    assert!(ok, "the install failed; control plane log:\n{}", host.log());
    for step in 1..=8 {
        assert!(
            output.contains(&format!("[{step}/8]")),
            "step {step} missing"
        );
    }
    assert!(output.contains("first install"));
    let releases = host.releases();
    assert_eq!(releases.len(), 1, "{releases:?}");
    let v1 = releases[0].clone();
    assert_eq!(host.current(), format!("releases/{v1}"));
    assert_eq!(host.running_release(), v1);
    host.assert_healthy();
    // The configuration is readable by the service group only.
    let config = fs::metadata(prefix.join("current/config/controlplane.toml")).expect("config");
    assert_eq!(config.mode() & 0o777, 0o640);
    assert_eq!(config.uid(), 0);
    assert_eq!(config.gid(), 65534, "group nogroup (the service user's)");
    assert!(
        prefix
            .join("current/systemd/tickwire-dataplane.service")
            .is_file()
    );
    assert!(prefix.join("current/bin/tickwire-dataplane").is_file());

    // The later deploys ship the binaries the install built (one release build per test).
    let release_dir = release_dir(&output);
    let bin_dir: &[&str] = &["--bin-dir", &release_dir];

    // 2. Upgrade: current moves to v2, v1 stays for a rollback.
    next_second();
    let (ok, output) = host.deploy("v2", bin_dir);
    assert!(ok, "the upgrade failed; control plane log:\n{}", host.log());
    let releases = host.releases();
    assert_eq!(releases.len(), 2, "{releases:?}");
    let v2 = releases[1].clone();
    assert_ne!(v1, v2);
    assert!(output.contains(&format!(
        "switching current -> releases/{v2} (was releases/{v1})"
    )));
    assert_eq!(host.current(), format!("releases/{v2}"));
    assert_eq!(host.running_release(), v2);
    host.assert_healthy();

    // 3. A release whose control plane cannot start: rolled back to v2, and a failure.
    next_second();
    let (ok, output) = host.deploy("v3-broken", bin_dir);
    assert!(!ok, "a deploy that failed its health check must fail");
    let releases = host.releases();
    assert_eq!(releases.len(), 3, "{releases:?}");
    let v3 = releases[2].clone();
    assert!(output.contains("[rollback 1/3]"), "no rollback");
    assert!(
        output.contains(&format!("deploy of {v3} failed"))
            && output.contains(&format!("rolled back to {v2}, which is healthy")),
        "the failure must name both releases"
    );
    assert!(
        !output.contains("[8/8]"),
        "nothing is pruned after a failure"
    );
    assert_eq!(host.current(), format!("releases/{v2}"));
    assert_eq!(host.running_release(), v2);
    host.assert_healthy();
    assert!(prefix.join("releases").join(&v3).join("FAILED").is_file());
    assert!(
        host.log().contains("unable to open database file") || host.log().contains("audit.db"),
        "the v3 control plane should have failed on its database:\n{}",
        host.log()
    );

    // 4. Another upgrade with --keep 2: v1 goes; the new current, the previous (v2) and
    //    the newest others up to two stay.
    next_second();
    let (ok, output) = host.deploy("v2", &[bin_dir, &["--keep", "2"]].concat());
    assert!(
        ok,
        "the last upgrade failed; control plane log:\n{}",
        host.log()
    );
    let releases = host.releases();
    assert!(!releases.contains(&v1), "v1 not pruned: {releases:?}");
    assert!(output.contains(&format!("removed {v1}")));
    assert!(
        releases.contains(&v2),
        "the previous release must stay: {releases:?}"
    );
    let v4 = releases.last().expect("a release").clone();
    assert_eq!(host.current(), format!("releases/{v4}"));
    assert_eq!(host.running_release(), v4);
    host.assert_healthy();

    // Bad input is refused before anything happens on the host.
    let (ok, output) = host.deploy("missing", bin_dir);
    assert!(!ok);
    assert!(output.contains("no dataplane.toml"), "{output}");

    drop(sshd);
    drop(namespaces);
    let leftover = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip");
    let leftover = String::from_utf8_lossy(&leftover.stdout);
    assert!(
        !leftover.contains(&ops_ns) && !leftover.contains(&host_ns),
        "{leftover}"
    );
}
