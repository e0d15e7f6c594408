//! Child processes (killed on drop, stdout as lines, bounded waits), users, ports, and a
//! minimal HTTP/1.1 client for tests against the real binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tickwire_controlplane::config::EXAMPLE;

use super::Tokens;

/// Longest wait of any step.
pub const WAIT: Duration = Duration::from_secs(60);

/// Whether this process is root.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .and_then(|uids| uids.split_whitespace().nth(1).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("free port")
}

/// A world-writable (sticky) temporary directory, so `nobody` children can use it; removes
/// iceoryx2 `/dev/shm` objects with its prefix on drop.
pub struct Scratch {
    pub dir: tempfile::TempDir,
    pub tag: String,
}

impl Scratch {
    pub fn new(name: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("tickwire-cp-{name}-"))
            .tempdir()
            .expect("temp dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777))
            .expect("chmod");
        let root = dir.path().join("iox2");
        std::fs::create_dir(&root).expect("iceoryx2 root");
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
        let tag = format!("cp{}x{}", std::process::id(), free_port());
        Self { dir, tag }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The program to run as `nobody`: when root, a copy inside this world-readable
    /// directory (the build directory may be under a home `nobody` cannot enter).
    pub fn install(&self, program: &Path) -> PathBuf {
        if !is_root() {
            return program.to_path_buf();
        }
        let bin = self.dir.path().join("bin");
        std::fs::create_dir_all(&bin).expect("bin dir");
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod bin");
        let copy = bin.join(program.file_name().expect("file name"));
        if !copy.exists() {
            std::fs::copy(program, &copy).expect("copy binary");
            std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755))
                .expect("chmod binary");
        }
        copy
    }

    pub fn iceoryx_root(&self) -> String {
        format!("{}/", self.path("iox2").display())
    }

    pub fn file_prefix(&self) -> String {
        format!("{}_", self.tag)
    }

    /// Flags of the fake data plane for this scratch's link.
    pub fn fake_link_args(&self) -> Vec<String> {
        vec![
            "--prefix".to_owned(),
            self.tag.clone(),
            "--root".to_owned(),
            self.iceoryx_root(),
            "--file-prefix".to_owned(),
            self.file_prefix(),
        ]
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let prefix = self.file_prefix();
        if let Ok(entries) = std::fs::read_dir("/dev/shm") {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ignored = std::fs::remove_file(entry.path());
                }
            }
        }
    }
}

/// A child process, SIGKILLed and reaped on drop, with its stdout lines on a channel.
pub struct ChildGuard {
    pub name: String,
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl ChildGuard {
    /// Starts `program`; as `nobody` through setpriv when this process is root (the control
    /// plane refuses root, and both ends of the link must be the same user).
    pub fn spawn(name: &str, program: &Path, args: &[String]) -> Self {
        let mut command = if is_root() {
            let mut command = Command::new("setpriv");
            command
                .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                .arg(program);
            command
        } else {
            Command::new(program)
        };
        command.args(args);
        Self::from_command(name, command)
    }

    /// Starts a prepared command (stdin closed, stdout captured, stderr inherited).
    pub fn from_command(name: &str, mut command: Command) -> Self {
        command
            .env("TICKWIRE_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("spawning {name}: {error}"));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        let label = name.to_owned();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                eprintln!("[{label}] {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            name: name.to_owned(),
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (bounded) for a line starting with `prefix` that was not returned before.
    pub fn wait_line(&mut self, prefix: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.starts_with(prefix) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "{}: no line starting with {prefix:?} within {timeout:?}; seen {:?}",
                    self.name, self.seen
                ),
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (a name for kill(1): `INT`, `TERM`, `USR1`...).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.pid().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{signal} {}", self.name);
    }

    /// A bounded wait for the exit status.
    pub fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "{} did not exit", self.name);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL now.
    pub fn kill9(&mut self) {
        let _ignored = self.child.kill();
        let _ignored = self.child.wait();
    }

    /// SIGTERM, then a bounded wait for the exit status.
    pub fn terminate(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "{} ignored SIGTERM", self.name);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Polls `check` every 50 ms until it holds or `timeout` passes.
pub fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One HTTP/1.1 request with `Connection: close`; returns the status and the body.
pub fn http(
    address: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&serde_json::Value>,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.map(ToString::to_string).unwrap_or_default();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    if !body.is_empty() {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str("\r\n");
    request.push_str(&body);
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    // Chunked bodies: drop the chunk-size lines.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, after)) = rest.split_once("\r\n") {
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if size == 0 || after.len() < size {
                break;
            }
            out.push_str(&after[..size]);
            rest = after[size..].trim_start_matches("\r\n");
        }
        out
    } else {
        body.to_owned()
    };
    Ok((status, body))
}

pub fn controlplane_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tickwire-controlplane"))
}

pub fn fake_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tickwire-fake-dataplane"))
}

/// The documented example configuration wired to this test's port, storage, link files and
/// tokens, with `edits` (`from`, `to`) applied after; written to the scratch directory.
pub fn write_config(
    scratch: &Scratch,
    storage_url: &str,
    tokens: &Tokens,
    port: u16,
    edits: &[(&str, &str)],
) -> PathBuf {
    let mut text = EXAMPLE
        .replace(
            "listen = \"127.0.0.1:8080\"",
            &format!("listen = \"127.0.0.1:{port}\""),
        )
        .replace("shutdown_grace_s = 5", "shutdown_grace_s = 2")
        .replace(
            "url = \"sqlite:/var/lib/tickwire/audit.db\"",
            &format!("url = \"{storage_url}\""),
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
    for (from, to) in edits {
        text = text.replace(from, to);
    }
    for entry in tokens.entries() {
        text.push_str(&format!(
            "\n[[auth.tokens]]\nname = \"{}\"\nrole = \"{}\"\nsha256 = \"{}\"\n",
            entry.name,
            entry.role.name(),
            entry.sha256
        ));
    }
    let path = scratch.path("controlplane.toml");
    std::fs::write(&path, text).expect("config");
    path
}
