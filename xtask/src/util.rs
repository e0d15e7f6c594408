//! Small process helpers shared by the tasks.

use std::{
    io::{BufRead as _, BufReader},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use anyhow::{Context as _, bail};

/// Runs `command`, inheriting stdio, and fails if it fails.
pub fn run(command: &mut Command) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}

/// The `cargo` that runs this xtask, for commands on the main (stable) workspace.
///
/// `RUSTUP_TOOLCHAIN`, which the outer rustup proxy exported, is kept on purpose: cargo
/// starts `rustc` through the rustup proxy from each dependency's own directory, and a
/// dependency that ships a `rust-toolchain.toml` (atoi 2.0 pins 1.57.0) would otherwise
/// switch the proxy to a toolchain this machine does not have.
pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Builds the given binaries of the workspace in release mode and returns their directory.
pub fn build_release(root: &Path, packages: &[&str]) -> anyhow::Result<PathBuf> {
    let mut command = cargo();
    command.current_dir(root).args(["build", "--release"]);
    for package in packages {
        command.args(["-p", package]);
    }
    run(&mut command)?;
    Ok(target_dir(root).join("release"))
}

/// The workspace's target directory: `CARGO_TARGET_DIR` when set (relative to the workspace
/// root), else `target/`.
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |dir| root.join(dir))
}

/// A child process killed (SIGINT, then SIGKILL) when dropped.
pub struct Guarded {
    pub child: Child,
    pub name: String,
}

impl Guarded {
    /// Spawns `command` with stdout piped and waits until it prints `ready_line`; the rest of
    /// its output is echoed with a `name: ` prefix.
    pub fn spawn_until(
        name: &str,
        command: &mut Command,
        ready_line: &str,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        let stdout = child.stdout.take().context("piped stdout")?;
        let (ready_tx, ready_rx) = mpsc::channel();
        let (prefix, wanted) = (name.to_owned(), ready_line.to_owned());
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains(&wanted) {
                    let _ = ready_tx.send(());
                }
                println!("{prefix}: {line}");
            }
        });
        let guarded = Self {
            child,
            name: name.to_owned(),
        };
        ready_rx
            .recv_timeout(timeout)
            .with_context(|| format!("{name} did not print {ready_line:?} within {timeout:?}"))?;
        Ok(guarded)
    }

    /// Stops the process with SIGINT and waits (SIGKILL after 5 s).
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.interrupt_and_wait()
    }

    fn interrupt_and_wait(&mut self) -> anyhow::Result<()> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        for _ in 0..50 {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.child.kill()?;
        self.child.wait()?;
        bail!("{} ignored SIGINT and was killed", self.name)
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.interrupt_and_wait();
        }
    }
}

/// Connects to `addr` from inside network namespace `ns` (a thread enters it; the socket
/// stays in it).
pub fn connect_in_namespace(ns: &str, addr: &str) -> anyhow::Result<TcpStream> {
    let path = format!("/var/run/netns/{ns}");
    let addr = addr.to_owned();
    std::thread::spawn(move || -> anyhow::Result<TcpStream> {
        let file = std::fs::File::open(&path).with_context(|| format!("opening {path}"))?;
        // SAFETY: `file` is an open namespace file descriptor for the whole call; setns
        // changes only this short-lived thread's network namespace.
        let rc = unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&file), libc::CLONE_NEWNET) };
        if rc != 0 {
            bail!("setns {path}: {}", std::io::Error::last_os_error());
        }
        TcpStream::connect(&addr).with_context(|| format!("connecting to {addr}"))
    })
    .join()
    .map_err(|_| anyhow::anyhow!("namespace thread panicked"))?
}
