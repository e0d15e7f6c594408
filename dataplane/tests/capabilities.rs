//! The capabilities of `deploy/systemd/tickwire-dataplane.service` are enough: the reflector
//! (which loads and attaches the same XDP program and opens an AF_XDP socket, as the daemon
//! does) runs as `nobody` with exactly the unit's `AmbientCapabilities=` as ambient,
//! inheritable and bounding set, and echoes real traffic over a veth pair.
//!
//! Root is needed to create the namespaces and drop to `nobody`; without it the test skips
//! with a printed reason (`TICKWIRE_REQUIRE_XDP=1` turns that into a failure).

use std::{
    io::{BufRead as _, BufReader},
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    process::{Child, Stdio},
    sync::mpsc,
    thread,
    time::Duration,
};

use tickwire_dataplane::netns::{self, Topology};

const BINARY: &str = env!("CARGO_BIN_EXE_tickwire-dataplane");
const PORT: &str = "9000";
const COUNT: &str = "200";

/// `AmbientCapabilities=` of the unit, as setpriv capability names (`net_admin`, ...).
fn unit_capabilities() -> Vec<String> {
    let unit =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/systemd/tickwire-dataplane.service");
    let text = std::fs::read_to_string(&unit).expect("the data plane's unit file");
    let line = text
        .lines()
        .find_map(|line| line.strip_prefix("AmbientCapabilities="))
        .expect("AmbientCapabilities= in the unit");
    line.split_whitespace()
        .map(|cap| {
            cap.strip_prefix("CAP_")
                .expect("CAP_ names")
                .to_ascii_lowercase()
        })
        .collect()
}

/// A scratch copy of the binary that `nobody` can execute (the target directory may not
/// be reachable for it).
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Reflector(Child);

impl Drop for Reflector {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_units_capabilities_run_afxdp_as_an_unprivileged_user() {
    let test = "the_units_capabilities_run_afxdp_as_an_unprivileged_user";
    if !netns::xdp_tests_enabled(test) {
        return;
    }
    let capabilities = unit_capabilities();
    assert!(
        !capabilities.iter().any(|cap| cap == "sys_admin"),
        "the data plane must not need CAP_SYS_ADMIN"
    );
    let list = capabilities
        .iter()
        .map(|cap| format!("+{cap}"))
        .collect::<Vec<_>>()
        .join(",");

    let scratch =
        Scratch(std::env::temp_dir().join(format!("tickwire-capabilities-{}", std::process::id())));
    std::fs::create_dir_all(&scratch.0).expect("scratch");
    std::fs::set_permissions(&scratch.0, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let binary = scratch.0.join("tickwire-dataplane");
    std::fs::copy(BINARY, &binary).expect("copying the binary");

    let topology = Topology::create(&format!("c{}", std::process::id() % 100_000))
        .expect("creating the namespaces");
    let mut command = Topology::command_in(&topology.gateway_ns, "setpriv");
    command
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(format!("--inh-caps=-all,{list}"))
        .arg(format!("--ambient-caps={list}"))
        .arg(format!("--bounding-set=-all,{list}"))
        .arg(&binary)
        .args([
            "reflect",
            "--iface",
            &topology.gateway_iface,
            "--port",
            PORT,
        ])
        .args(["--backend", "afxdp", "--mode", "skb", "--count", COUNT])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut reflector = Reflector(command.spawn().expect("starting the reflector"));
    let stdout = reflector.0.stdout.take().expect("stdout");
    let (lines_tx, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    loop {
        match lines.recv_timeout(Duration::from_secs(10)) {
            Ok(line) if line.contains("reflect: ready") => break,
            Ok(_) => {}
            Err(_) => {
                let _ = reflector.0.kill();
                let output = stderr_of(&mut reflector.0);
                panic!("the reflector did not start with capabilities {list}: {output}");
            }
        }
    }
    let ping = Topology::command_in(&topology.venue_ns, BINARY)
        .args([
            "ping",
            "--target",
            &format!("{}:{PORT}", topology.gateway_ip),
        ])
        .args(["--count", COUNT, "--warmup", "0"])
        .output()
        .expect("ping");
    let report = String::from_utf8_lossy(&ping.stdout);
    assert!(
        ping.status.success() && report.contains("lost=0"),
        "ping: {report}{}",
        String::from_utf8_lossy(&ping.stderr)
    );
    let status = reflector.0.wait().expect("reflector");
    assert!(status.success(), "the reflector failed: {status}");
    let summary: Vec<String> = lines.try_iter().collect();
    assert!(
        summary
            .iter()
            .any(|line| line.contains(&format!("echoed={COUNT}"))),
        "{summary:?}"
    );
}

/// The standard error of a child that ended (or was killed), after reaping it.
fn stderr_of(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(stderr) = child.stderr.take() {
        use std::io::Read as _;
        let _ = BufReader::new(stderr).read_to_string(&mut text);
    }
    let _ = child.wait();
    text
}
