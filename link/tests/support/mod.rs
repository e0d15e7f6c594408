//! Process helpers for the link's tests: children killed on drop, their stdout as lines,
//! bounded waits, temporary iceoryx2 roots, and running as `nobody` when root.
#![allow(dead_code, reason = "each test file uses a different subset")]

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tickwire_link::transport::LinkConfig;

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

/// A temporary directory for one test: iceoryx2 root, logs; removed on drop.
pub struct Scratch {
    pub dir: tempfile::TempDir,
    pub link: LinkConfig,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl Scratch {
    /// A fresh directory, world-writable (sticky) so `nobody` children can use it too.
    pub fn new(name: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("tickwire-link-{name}-"))
            .tempdir()
            .expect("temp dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777))
            .expect("chmod temp dir");
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{}x{n}", std::process::id());
        let root = dir.path().join("iox2");
        std::fs::create_dir(&root).expect("iceoryx2 root");
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o1777))
            .expect("chmod iceoryx2 root");
        let link = LinkConfig {
            service_prefix: format!("tw{tag}"),
            root_path: Some(format!("{}/", root.display())),
            file_prefix: Some(format!("tw{tag}_")),
            ..LinkConfig::default()
        };
        Self { dir, link }
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

    /// The link flags of the helper binaries.
    pub fn link_args(&self) -> Vec<String> {
        vec![
            "--prefix".to_owned(),
            self.link.service_prefix.clone(),
            "--root".to_owned(),
            self.link.root_path.clone().unwrap_or_default(),
            "--file-prefix".to_owned(),
            self.link.file_prefix.clone().unwrap_or_default(),
        ]
    }
}

impl Drop for Scratch {
    /// Children are gone by now (declared after): remove iceoryx2 objects a SIGKILLed
    /// process could not remove itself.
    fn drop(&mut self) {
        let Some(prefix) = &self.link.file_prefix else {
            return;
        };
        if let Ok(entries) = std::fs::read_dir("/dev/shm") {
            for entry in entries.flatten() {
                if entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with(prefix.as_str())
                {
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
    stdin: Option<ChildStdin>,
}

/// How to start a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsUser {
    /// As this process.
    Me,
    /// As `nobody` through setpriv (only when root).
    Nobody,
}

impl ChildGuard {
    pub fn spawn(name: &str, program: &Path, args: &[String], user: AsUser) -> Self {
        let mut command = match user {
            AsUser::Me => Command::new(program),
            AsUser::Nobody => {
                let mut command = Command::new("setpriv");
                command
                    .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                    .arg(program);
                command
            }
        };
        command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("spawning {name}: {error}"));
        let stdout = child.stdout.take().expect("stdout");
        let stdin = child.stdin.take();
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
            stdin,
        }
    }

    /// Waits (bounded) for a line starting with `prefix`; returns it.
    pub fn wait_line(&mut self, prefix: &str, timeout: Duration) -> String {
        if let Some(line) = self.seen.iter().find(|line| line.starts_with(prefix)) {
            return line.clone();
        }
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

    /// Every line seen so far (after draining what is pending).
    pub fn lines(&mut self) -> &[String] {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        &self.seen
    }

    /// SIGKILL now.
    pub fn kill9(&mut self) {
        let _ignored = self.child.kill();
        let _ignored = self.child.wait();
    }

    /// Closes stdin (the sink's stop request) and waits (bounded) for a clean exit.
    pub fn finish(&mut self, timeout: Duration) -> std::process::ExitStatus {
        drop(self.stdin.take());
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit within {timeout:?}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Polls `check` every 20 ms until it holds or `timeout` passes.
pub fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn fake_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tickwire-link-fake"))
}

pub fn sink_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tickwire-link-sink"))
}
