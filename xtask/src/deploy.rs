//! `cargo xtask deploy --host USER@HOST`: ship a release to a bare-metal host over ssh,
//! switch to it atomically, restart, health-check, and roll back when it is not healthy.
//!
//! Layout on the host (`--prefix`, default `/opt/tickwire`):
//!
//! ```text
//! PREFIX/releases/<UTC timestamp>-<version>-<git sha>/   one directory per release
//!         bin/      tickwire-dataplane, tickwire-controlplane, tickwire-restart
//!         config/   dataplane.toml, controlplane.toml (0640 root:<service group>)
//!         systemd/  the unit files (deploy/systemd/)
//!         RELEASE   what was built from what, when, by whom
//! PREFIX/current -> releases/<id>                        switched with rename(2)
//! ```
//!
//! Steps: check the host, build, stage, upload, switch `current`, restart (the release's
//! `bin/tickwire-restart`, which uses systemd, or `--restart-cmd`), health-check
//! `GET /api/health` through the ssh connection (`ssh -W`, so the API may stay on loopback),
//! prune old releases. When the restart or the health check fails, `current` goes back to
//! the previous release, which is restarted and checked again, and the deploy fails.
//!
//! Only plain `ssh`/`scp` child processes, in batch mode (no prompts): keys come from the
//! agent, `--identity` or the ssh configuration. One deploy per host at a time.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    io::{Read as _, Write as _},
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::mpsc,
    time::{Duration, Instant, SystemTime},
};

use anyhow::{Context as _, bail};

use crate::util;

/// Binaries a release ships (workspace packages of the same name).
const BINARIES: [&str; 2] = ["tickwire-dataplane", "tickwire-controlplane"];
/// The unit files every release carries (deploy/systemd/).
const UNITS: [&str; 2] = [
    "tickwire-dataplane.service",
    "tickwire-controlplane.service",
];
/// Configuration files `--config DIR` must hold.
const CONFIGS: [&str; 2] = ["dataplane.toml", "controlplane.toml"];
/// One health probe may take this long (ssh connection + HTTP exchange).
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// Between health probes.
const PROBE_INTERVAL: Duration = Duration::from_millis(500);
/// Consecutive good answers that make a release healthy: a service that answers once and
/// then dies is not.
const HEALTHY_PROBES: u32 = 3;
/// Steps of a deploy, for the `[n/STEPS]` progress lines.
const STEPS: u32 = 8;

#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// Where to deploy: USER@HOST (USER must be able to write PREFIX and restart the
    /// services: root, in practice).
    #[arg(long)]
    host: String,
    /// Directory with dataplane.toml and controlplane.toml [default: deploy/config].
    #[arg(long)]
    config: Option<PathBuf>,
    /// SSH port.
    #[arg(long, default_value_t = 22)]
    port: u16,
    /// SSH private key (else the agent and the ssh configuration decide).
    #[arg(long)]
    identity: Option<PathBuf>,
    /// Extra ssh/scp option, passed as `-o KEY=VALUE` (repeatable), e.g.
    /// UserKnownHostsFile=FILE or ProxyJump=bastion.
    #[arg(long = "ssh-option", value_name = "KEY=VALUE")]
    ssh_options: Vec<String>,
    /// Installation root on the host.
    #[arg(long, default_value = "/opt/tickwire")]
    prefix: String,
    /// The services' user on the host (its group may read the configuration).
    #[arg(long, default_value = "tickwire")]
    service_user: String,
    /// Shell command run on the host, instead of the release's bin/tickwire-restart
    /// (systemd), to start the release `current` points at; it gets TICKWIRE_PREFIX and
    /// TICKWIRE_RELEASE in its environment. For hosts without systemd.
    #[arg(long)]
    restart_cmd: Option<String>,
    /// The REST API's address on the host [default: server.listen of controlplane.toml].
    #[arg(long)]
    api_addr: Option<String>,
    /// Ship the binaries in this directory (e.g. a CI artifact) instead of building them.
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Seconds to wait for the health check to pass.
    #[arg(long, default_value_t = 30)]
    health_timeout: u64,
    /// Releases kept on the host, the current one included (the previous one is always
    /// kept as well: it is the rollback target).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(2..))]
    keep: u32,
}

/// The ssh destination and options shared by every ssh and scp call.
struct Remote {
    destination: String,
    user: String,
    host: String,
    port: u16,
    options: Vec<String>,
}

impl Remote {
    fn new(args: &DeployArgs) -> anyhow::Result<Self> {
        let (user, host) = args
            .host
            .split_once('@')
            .with_context(|| format!("--host {:?}: expected USER@HOST", args.host))?;
        let valid = |part: &str| {
            !part.is_empty()
                && !part.starts_with('-')
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-:[]".contains(c))
        };
        if !valid(user) || !valid(host) {
            bail!("--host {:?}: expected USER@HOST", args.host);
        }
        let mut options = vec![
            "-o".to_owned(),
            "BatchMode=yes".to_owned(),
            "-o".to_owned(),
            "ConnectTimeout=10".to_owned(),
            "-o".to_owned(),
            "ServerAliveInterval=5".to_owned(),
        ];
        if let Some(identity) = &args.identity {
            if !identity.is_file() {
                bail!("--identity {}: no such file", identity.display());
            }
            options.extend([
                "-o".to_owned(),
                format!("IdentityFile={}", identity.display()),
                "-o".to_owned(),
                "IdentitiesOnly=yes".to_owned(),
            ]);
        }
        for option in &args.ssh_options {
            if !option.contains('=') || option.starts_with('-') {
                bail!("--ssh-option {option:?}: expected KEY=VALUE");
            }
            options.extend(["-o".to_owned(), option.clone()]);
        }
        Ok(Self {
            destination: args.host.clone(),
            user: user.to_owned(),
            host: host.to_owned(),
            port: args.port,
            options,
        })
    }

    fn ssh(&self) -> Command {
        let mut command = Command::new("ssh");
        command
            .args(&self.options)
            .args(["-p", &self.port.to_string()]);
        command
    }

    /// Runs `script` with `sh -c` on the host, with `args` as `$1`, `$2`, ...; returns its
    /// standard output. Its standard error goes to ours.
    fn sh(&self, script: &str, args: &[&str]) -> anyhow::Result<String> {
        let output = self.sh_output(script, args)?;
        if !output.status.success() {
            bail!(
                "on {}: {}",
                self.destination,
                last_line(&output.stderr).unwrap_or_else(|| format!("exit {}", output.status))
            );
        }
        String::from_utf8(output.stdout).context("the host's answer is not UTF-8")
    }

    fn sh_output(&self, script: &str, args: &[&str]) -> anyhow::Result<Output> {
        let mut remote = format!("sh -c {} sh", shell_quote(script));
        for arg in args {
            remote.push(' ');
            remote.push_str(&shell_quote(arg));
        }
        let output = self
            .ssh()
            .arg("-n")
            .arg(&self.destination)
            .arg(remote)
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .context("running ssh (is openssh-client installed?)")?;
        // The host's messages are shown, prefixed; they never carry configuration contents.
        for line in String::from_utf8_lossy(&output.stderr).lines() {
            eprintln!("      {}: {line}", self.host);
        }
        Ok(output)
    }

    /// Copies the local directory `from` to `to` on the host (which must not exist yet).
    fn upload_dir(&self, from: &Path, to: &str) -> anyhow::Result<()> {
        let target = if self.host.contains(':') {
            format!("{}@[{}]:{to}", self.user, self.host)
        } else {
            format!("{}:{to}", self.destination)
        };
        util::run(
            Command::new("scp")
                .args(&self.options)
                .args(["-q", "-r", "-p", "-P", &self.port.to_string()])
                .arg(from)
                .arg(target)
                .stdin(Stdio::null()),
        )
        .context("uploading the release with scp")
    }
}

fn last_line(bytes: &[u8]) -> Option<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .map(str::to_owned)
}

/// `'...'` for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// What the host looks like before the deploy.
#[derive(Debug)]
struct HostFacts {
    hostname: String,
    login: String,
    systemd: bool,
    service_user: bool,
    /// `releases/<id>` or `None` on a first install.
    current: Option<String>,
}

const PROBE_SCRIPT: &str = r#"set -eu
prefix=$1; user=$2
echo "hostname=$(uname -n)"
echo "login=$(id -un)"
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then echo systemd=yes; else echo systemd=no; fi
if id -u "$user" >/dev/null 2>&1; then echo service_user=yes; else echo service_user=no; fi
if [ -L "$prefix/current" ]; then echo "current=$(readlink "$prefix/current")"; else echo current=; fi
mkdir -p "$prefix/releases"
chmod 0755 "$prefix" "$prefix/releases"
"#;

fn probe_host(remote: &Remote, args: &DeployArgs) -> anyhow::Result<HostFacts> {
    let answer = remote
        .sh(PROBE_SCRIPT, &[&args.prefix, &args.service_user])
        .with_context(|| format!("checking {} (ssh port {})", remote.destination, remote.port))?;
    let facts: BTreeMap<&str, &str> = answer
        .lines()
        .filter_map(|line| line.split_once('='))
        .collect();
    let fact = |key: &str| {
        facts
            .get(key)
            .map(|value| (*value).to_owned())
            .with_context(|| format!("the host did not report {key}"))
    };
    Ok(HostFacts {
        hostname: fact("hostname")?,
        login: fact("login")?,
        systemd: fact("systemd")? == "yes",
        service_user: fact("service_user")? == "yes",
        current: Some(fact("current")?).filter(|current| !current.is_empty()),
    })
}

/// `<UTC timestamp>-<version>-<git sha>[-dirty]`: sorts by time, names its source.
fn release_id(root: &Path, now: SystemTime) -> anyhow::Result<String> {
    let git = |args: &[&str]| -> anyhow::Result<String> {
        let output = Command::new("git")
            .current_dir(root)
            .args(args)
            .output()
            .context("running git")?;
        if !output.status.success() {
            bail!(
                "git {args:?}: {}",
                last_line(&output.stderr).unwrap_or_default()
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    let sha = git(&["rev-parse", "--short=12", "HEAD"])?;
    let dirty = !git(&["status", "--porcelain", "--untracked-files=no"])?.is_empty();
    let seconds = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .context("the clock is before 1970")?
        .as_secs();
    Ok(format!(
        "{}-{}-{sha}{}",
        utc_timestamp(seconds),
        env!("CARGO_PKG_VERSION"),
        if dirty { "-dirty" } else { "" }
    ))
}

/// `YYYYMMDDTHHMMSSZ` (civil-from-days, H. Hinnant's algorithm: no date crate for this).
fn utc_timestamp(unix_seconds: u64) -> String {
    let days = i64::try_from(unix_seconds / 86_400).unwrap_or(i64::MAX);
    let seconds_of_day = unix_seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        seconds_of_day / 3600,
        seconds_of_day / 60 % 60,
        seconds_of_day % 60
    )
}

fn copy_file(from: &Path, to: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {}", to.display()))
}

fn create_dir(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {}", path.display()))
}

/// Lays the release out locally, as it will be on the host. Configuration files are 0600
/// here and in transit (they hold the venue password); the host gives its service group
/// read access after the upload.
fn stage(
    root: &Path,
    binaries: &Path,
    config: &Path,
    stage_dir: &Path,
    id: &str,
) -> anyhow::Result<()> {
    if stage_dir.exists() {
        std::fs::remove_dir_all(stage_dir)
            .with_context(|| format!("removing {}", stage_dir.display()))?;
    }
    create_dir(stage_dir, 0o755)?;
    create_dir(&stage_dir.join("bin"), 0o755)?;
    create_dir(&stage_dir.join("config"), 0o700)?;
    create_dir(&stage_dir.join("systemd"), 0o755)?;
    for binary in BINARIES {
        copy_file(
            &binaries.join(binary),
            &stage_dir.join("bin").join(binary),
            0o755,
        )?;
    }
    copy_file(
        &root.join("deploy/bin/tickwire-restart"),
        &stage_dir.join("bin/tickwire-restart"),
        0o755,
    )?;
    for unit in UNITS {
        copy_file(
            &root.join("deploy/systemd").join(unit),
            &stage_dir.join("systemd").join(unit),
            0o644,
        )?;
    }
    for entry in
        std::fs::read_dir(config).with_context(|| format!("reading {}", config.display()))?
    {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            copy_file(
                &entry.path(),
                &stage_dir.join("config").join(entry.file_name()),
                0o600,
            )?;
        }
    }
    let mut release = String::new();
    writeln!(release, "release={id}")?;
    writeln!(release, "version={}", env!("CARGO_PKG_VERSION"))?;
    let built_by = std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned());
    let built_on = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    writeln!(release, "built_by={built_by}@{}", built_on.trim())?;
    std::fs::write(stage_dir.join("RELEASE"), release)?;
    Ok(())
}

/// The API address the health check connects to, on the host.
fn api_address(args: &DeployArgs, config: &Path) -> anyhow::Result<String> {
    if let Some(address) = &args.api_addr {
        return Ok(address.clone());
    }
    let path = config.join("controlplane.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let listen = table
        .get("server")
        .and_then(|server| server.get("listen"))
        .and_then(toml::Value::as_str)
        .unwrap_or("127.0.0.1:8080");
    let address: std::net::SocketAddr = listen
        .parse()
        .with_context(|| format!("{}: server.listen {listen:?}", path.display()))?;
    // A wildcard listener answers on loopback.
    Ok(match address {
        std::net::SocketAddr::V4(v4) if v4.ip().is_unspecified() => {
            format!("127.0.0.1:{}", v4.port())
        }
        std::net::SocketAddr::V6(v6) if v6.ip().is_unspecified() => {
            format!("[::1]:{}", v6.port())
        }
        address => address.to_string(),
    })
}

/// One `GET /api/health` over an `ssh -W` stdio tunnel to `api` on the host.
///
/// # Errors
/// A one-line reason: no connection, a status other than 200, or a body that is not
/// `{"status":"ok"}`.
fn probe_health(remote: &Remote, api: &str) -> Result<(), String> {
    let mut child = remote
        .ssh()
        .args(["-W", api])
        .arg(&remote.destination)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("running ssh: {error}"))?;
    let request = format!(
        "GET /api/health HTTP/1.1\r\nHost: {api}\r\nUser-Agent: tickwire-deploy\r\n\
         Accept: application/json\r\nConnection: close\r\n\r\n"
    );
    // stdin stays open until the answer is read: an early EOF could end the exchange.
    let mut stdin = child.stdin.take();
    if let Some(stdin) = &mut stdin {
        let _ = stdin.write_all(request.as_bytes());
        let _ = stdin.flush();
    }
    let mut stdout = child.stdout.take().ok_or("no ssh stdout")?;
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut response = Vec::new();
        let result = stdout.read_to_end(&mut response).map(|_| response);
        let _ = sender.send(result);
    });
    let response = receiver.recv_timeout(PROBE_TIMEOUT);
    drop(stdin);
    let _ = child.kill();
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    let _ = child.wait();
    let response = match response {
        Ok(Ok(response)) => response,
        Ok(Err(error)) => return Err(format!("reading the answer: {error}")),
        Err(_) => return Err(format!("no answer within {PROBE_TIMEOUT:?}")),
    };
    if response.is_empty() {
        // ssh's own words, e.g. "channel 0: open failed: connect failed: Connection refused".
        let reason: Vec<&str> = stderr
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect();
        return Err(if reason.is_empty() {
            "connection closed without an answer".to_owned()
        } else {
            reason.join("; ")
        });
    }
    check_health_response(&response)
}

/// Status 200 and a JSON body with `"status": "ok"`.
fn check_health_response(response: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or("an incomplete HTTP answer")?;
    let status_line = head.lines().next().unwrap_or_default();
    let code = status_line.split_whitespace().nth(1).unwrap_or_default();
    if !status_line.starts_with("HTTP/1.") || code != "200" {
        return Err(format!("answered {status_line:?}"));
    }
    let body: serde_json::Value = serde_json::from_str(body.trim())
        .map_err(|error| format!("the body is not JSON ({error})"))?;
    if body.get("status").and_then(serde_json::Value::as_str) != Some("ok") {
        return Err(format!("answered {body}"));
    }
    Ok(())
}

/// Probes until [`HEALTHY_PROBES`] consecutive good answers or `timeout`.
fn wait_healthy(remote: &Remote, api: &str, timeout: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut good = 0;
    let mut last_reason = String::new();
    loop {
        match probe_health(remote, api) {
            Ok(()) => {
                good += 1;
                if good == HEALTHY_PROBES {
                    println!(
                        "      healthy: HTTP 200 {{\"status\":\"ok\"}} {HEALTHY_PROBES} times in a row \
                         ({:.1} s)",
                        start.elapsed().as_secs_f64()
                    );
                    return Ok(());
                }
            }
            Err(reason) => {
                good = 0;
                if reason != last_reason {
                    println!("      not healthy yet: {reason}");
                    last_reason = reason;
                }
            }
        }
        if start.elapsed() >= timeout {
            bail!("GET http://{api}/api/health did not pass within {timeout:?}: {last_reason}");
        }
        std::thread::sleep(PROBE_INTERVAL);
    }
}

const INSTALL_SCRIPT: &str = r#"set -eu
prefix=$1; id=$2; user=$3
cd "$prefix/releases"
incoming=".incoming-$id"
if [ -e "$id" ]; then echo "release $id is already on the host" >&2; rm -rf -- "$incoming"; exit 1; fi
group=$(id -gn "$user")
if [ "$(id -u)" = 0 ]; then chown -R 0:0 "$incoming"; fi
chgrp -R "$group" "$incoming/config"
chmod 0750 "$incoming/config"
chmod 0640 "$incoming/config/"*
mv -T "$incoming" "$id"
"#;

const SWITCH_SCRIPT: &str = r#"set -eu
prefix=$1; target=$2
cd "$prefix"
if [ ! -d "$target" ]; then echo "no release $target" >&2; exit 1; fi
ln -sfn "$target" .current.tmp
mv -T .current.tmp current
"#;

const RESTART_SCRIPT: &str = r#"set -eu
TICKWIRE_PREFIX=$1; TICKWIRE_RELEASE=$2
export TICKWIRE_PREFIX TICKWIRE_RELEASE
cd "$TICKWIRE_PREFIX"
exec sh -c "$3"
"#;

const MARK_FAILED_SCRIPT: &str = r#"set -eu
printf '%s\n' "$3" >"$1/releases/$2/FAILED"
"#;

/// Newest first by name (names start with a UTC timestamp); the current and the previous
/// release are always kept; interrupted uploads are removed.
const PRUNE_SCRIPT: &str = r#"set -eu
prefix=$1; keep=$2; previous=$3
cd "$prefix/releases"
current=$(basename "$(readlink ../current)")
for incoming in .incoming-*; do
  [ -e "$incoming" ] || continue
  rm -rf -- "$incoming"
  echo "removed interrupted upload $incoming"
done
n=0
for release in $(ls -1 | sort -r); do
  n=$((n + 1))
  if [ "$release" = "$current" ] || [ "$release" = "$previous" ] || [ "$n" -le "$keep" ]; then
    echo "kept $release"
  else
    rm -rf -- "$release"
    echo "removed $release"
  fi
done
"#;

fn step(number: u32, what: &str) {
    println!("[{number}/{STEPS}] {what}");
}

fn switch(remote: &Remote, prefix: &str, target: &str) -> anyhow::Result<()> {
    remote
        .sh(SWITCH_SCRIPT, &[prefix, target])
        .map(|_| ())
        .with_context(|| format!("switching current to {target}"))
}

fn restart(remote: &Remote, args: &DeployArgs, release: &str) -> anyhow::Result<()> {
    let default = format!("{}/current/bin/tickwire-restart", args.prefix);
    let command = args.restart_cmd.as_deref().unwrap_or(&default);
    let output = remote.sh(RESTART_SCRIPT, &[&args.prefix, release, command])?;
    for line in output.lines() {
        println!("      {}: {line}", remote.host);
    }
    Ok(())
}

pub fn run(root: &Path, args: &DeployArgs) -> anyhow::Result<()> {
    let remote = Remote::new(args)?;
    if !args.prefix.starts_with('/')
        || args.prefix == "/"
        || args.prefix.contains(char::is_whitespace)
    {
        bail!(
            "--prefix {:?}: expected an absolute directory other than /",
            args.prefix
        );
    }
    if args.service_user.is_empty()
        || !args
            .service_user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        bail!("--service-user {:?}: not a user name", args.service_user);
    }
    let config = args
        .config
        .clone()
        .unwrap_or_else(|| root.join("deploy/config"));
    for file in CONFIGS {
        if !config.join(file).is_file() {
            bail!(
                "--config {}: no {file} (the directory needs {}; see deploy/config/)",
                config.display(),
                CONFIGS.join(" and ")
            );
        }
    }
    let api = api_address(args, &config)?;

    step(
        1,
        &format!("checking {} (port {})", remote.destination, remote.port),
    );
    let facts = probe_host(&remote, args)?;
    println!(
        "      host {}, login {}, systemd {}, current release: {}",
        facts.hostname,
        facts.login,
        if facts.systemd { "running" } else { "absent" },
        facts.current.as_deref().unwrap_or("none (first install)")
    );
    if !facts.service_user {
        bail!(
            "the service user {:?} does not exist on {} (the ansible role `tickwire` creates it; \
             or `useradd --system {0}`)",
            args.service_user,
            facts.hostname
        );
    }
    if !facts.systemd && args.restart_cmd.is_none() {
        bail!(
            "{} runs no systemd, so bin/tickwire-restart cannot start the services: \
             pass --restart-cmd",
            facts.hostname
        );
    }

    let binaries = if let Some(directory) = &args.bin_dir {
        step(
            2,
            &format!("using prebuilt binaries from {}", directory.display()),
        );
        for binary in BINARIES {
            if !directory.join(binary).is_file() {
                bail!("--bin-dir {}: no {binary}", directory.display());
            }
        }
        directory.clone()
    } else {
        step(
            2,
            &format!("building release binaries ({})", BINARIES.join(", ")),
        );
        util::build_release(root, &BINARIES)?
    };

    let id = release_id(root, SystemTime::now())?;
    let stage_dir = util::target_dir(root).join("deploy").join(&id);
    step(3, &format!("staging release {id}"));
    stage(root, &binaries, &config, &stage_dir, &id)?;
    let mut check = Command::new(stage_dir.join("bin/tickwire-controlplane"));
    check.env_clear();
    let check = check
        .args(["config", "check", "--config"])
        .arg(stage_dir.join("config/controlplane.toml"))
        // The host's environment is not ours: no local TICKWIRE_* overrides.
        .envs(std::env::vars().filter(|(key, _)| !key.starts_with("TICKWIRE_")))
        .output()
        .context("running tickwire-controlplane config check")?;
    if !check.status.success() {
        bail!(
            "controlplane.toml is invalid: {}",
            last_line(&check.stderr).unwrap_or_default()
        );
    }
    println!("      controlplane.toml: valid");

    let incoming = format!("{}/releases/.incoming-{id}", args.prefix);
    step(
        4,
        &format!("uploading to {}:{}/releases/{id}", remote.host, args.prefix),
    );
    remote.upload_dir(&stage_dir, &incoming)?;
    remote
        .sh(INSTALL_SCRIPT, &[&args.prefix, &id, &args.service_user])
        .context("installing the release")?;
    std::fs::remove_dir_all(&stage_dir).ok();

    let target = format!("releases/{id}");
    step(
        5,
        &format!(
            "switching current -> {target} (was {})",
            facts.current.as_deref().unwrap_or("none")
        ),
    );
    switch(&remote, &args.prefix, &target)?;

    step(
        6,
        &format!(
            "restarting services ({})",
            args.restart_cmd
                .as_deref()
                .unwrap_or("bin/tickwire-restart: systemd")
        ),
    );
    let restarted = restart(&remote, args, &id).context("restarting the services");
    let healthy = restarted.and_then(|()| {
        step(
            7,
            &format!(
                "health check GET http://{api}/api/health on {} (up to {} s)",
                remote.host, args.health_timeout
            ),
        );
        wait_healthy(&remote, &api, Duration::from_secs(args.health_timeout))
    });
    if let Err(error) = healthy {
        println!("      FAILED: {error:#}");
        let _ = remote.sh(
            MARK_FAILED_SCRIPT,
            &[&args.prefix, &id, &format!("{error:#}")],
        );
        return rollback(&remote, args, &api, &id, facts.current.as_deref(), &error);
    }

    step(8, &format!("pruning old releases (keeping {})", args.keep));
    let previous = facts
        .current
        .as_deref()
        .and_then(|current| current.rsplit('/').next())
        .unwrap_or("");
    let pruned = remote.sh(
        PRUNE_SCRIPT,
        &[&args.prefix, &args.keep.to_string(), previous],
    )?;
    for line in pruned.lines() {
        println!("      {line}");
    }
    println!(
        "deployed {id} to {} ({})",
        remote.destination, facts.hostname
    );
    Ok(())
}

fn rollback(
    remote: &Remote,
    args: &DeployArgs,
    api: &str,
    failed: &str,
    previous: Option<&str>,
    error: &anyhow::Error,
) -> anyhow::Result<()> {
    let Some(previous) = previous else {
        bail!(
            "deploy of {failed} failed and there is no previous release to roll back to: {error:#}"
        );
    };
    let previous_id = previous.rsplit('/').next().unwrap_or(previous);
    println!("[rollback 1/3] switching current -> {previous}");
    switch(remote, &args.prefix, previous)?;
    println!("[rollback 2/3] restarting services");
    let recovered = restart(remote, args, previous_id)
        .context("restarting the services")
        .and_then(|()| {
            println!("[rollback 3/3] health check of {previous_id}");
            wait_healthy(remote, api, Duration::from_secs(args.health_timeout))
        });
    match recovered {
        Ok(()) => bail!(
            "deploy of {failed} failed ({error:#}); rolled back to {previous_id}, which is healthy"
        ),
        Err(rollback_error) => bail!(
            "deploy of {failed} failed ({error:#}) and the rollback to {previous_id} is not \
             healthy either ({rollback_error:#}): the host needs attention"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_and_sortable() {
        assert_eq!(utc_timestamp(0), "19700101T000000Z");
        assert_eq!(utc_timestamp(951_782_400), "20000229T000000Z");
        assert_eq!(utc_timestamp(1_798_761_599), "20261231T235959Z");
        assert!(utc_timestamp(1_000_000_000) < utc_timestamp(1_000_000_001));
    }

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn health_answers_are_checked() {
        let ok = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 15\r\n\r\n{\"status\":\"ok\"}";
        assert_eq!(check_health_response(ok), Ok(()));
        let down = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n";
        assert!(check_health_response(down).is_err());
        let other = b"HTTP/1.1 200 OK\r\n\r\n{\"status\":\"degraded\"}";
        assert!(check_health_response(other).is_err());
        assert!(check_health_response(b"SSH-2.0-OpenSSH").is_err());
    }
}
