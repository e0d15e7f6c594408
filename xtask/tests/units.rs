//! The systemd units in `deploy/systemd/` (shipped by `cargo xtask deploy`, installed by the
//! ansible role `tickwire`): `systemd-analyze verify` must accept them without a single
//! warning, and `systemd-analyze security --offline` must rate their exposure no worse
//! than today's. Skips with a printed reason where systemd-analyze is missing.
//!
//! `verify` checks that `ExecStart=` binaries exist, so the units are checked as the deploy
//! installs them with another prefix (`bin/tickwire-restart` does the same substitution),
//! with `/bin/true` standing in for the binaries.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

const UNITS: [(&str, &str); 2] = [
    // (unit, highest accepted exposure: lower is better, 10 is an unprotected root service)
    ("tickwire-dataplane.service", "3.5"),
    ("tickwire-controlplane.service", "2.0"),
];

fn systemd_analyze() -> bool {
    Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// `test`: a directory per test (they run in parallel in one process).
fn stage_units(test: &str) -> Scratch {
    let scratch =
        Scratch(std::env::temp_dir().join(format!("tickwire-units-{}-{test}", std::process::id())));
    let bin = scratch.0.join("opt/tickwire/current/bin");
    fs::create_dir_all(&bin).expect("scratch");
    for binary in ["tickwire-dataplane", "tickwire-controlplane"] {
        fs::copy("/bin/true", bin.join(binary)).expect("stand-in binary");
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/systemd");
    let prefix = format!("{}/", scratch.0.join("opt/tickwire").display());
    for (unit, _) in UNITS {
        let text = fs::read_to_string(repo.join(unit)).expect("unit file");
        assert!(
            text.contains("/opt/tickwire/current/"),
            "{unit}: paths under /opt/tickwire/current"
        );
        fs::write(
            scratch.0.join(unit),
            text.replace("/opt/tickwire/", &prefix),
        )
        .expect("write");
    }
    scratch
}

#[test]
fn units_pass_systemd_analyze_verify() {
    if !systemd_analyze() {
        println!("SKIPPED units_pass_systemd_analyze_verify: systemd-analyze not found");
        return;
    }
    let scratch = stage_units("verify");
    let output = Command::new("systemd-analyze")
        .current_dir(&scratch.0)
        .args(["verify", "--man=no"])
        .args(UNITS.map(|(unit, _)| format!("./{unit}")))
        .output()
        .expect("systemd-analyze verify");
    let messages = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && messages.trim().is_empty(),
        "systemd-analyze verify: {messages}"
    );
}

#[test]
fn units_keep_their_exposure_level() {
    if !systemd_analyze() {
        println!("SKIPPED units_keep_their_exposure_level: systemd-analyze not found");
        return;
    }
    let scratch = stage_units("security");
    for (unit, threshold) in UNITS {
        // --threshold takes the score x10 as an integer.
        let threshold_x10 = (threshold.parse::<f64>().expect("threshold") * 10.0).round();
        let output = Command::new("systemd-analyze")
            .current_dir(&scratch.0)
            .args(["security", "--offline=true", "--no-pager"])
            .arg(format!("--threshold={threshold_x10}"))
            .arg(format!("./{unit}"))
            .output()
            .expect("systemd-analyze security");
        let report = String::from_utf8_lossy(&output.stdout);
        let overall = report
            .lines()
            .find(|line| line.contains("Overall exposure level"))
            .unwrap_or("no overall exposure level");
        println!("{unit}: {overall}");
        assert!(
            output.status.success(),
            "{unit}: exposure above {threshold}: {overall}\n{report}{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn the_data_plane_gets_exactly_its_capabilities() {
    let text = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/systemd/tickwire-dataplane.service"),
    )
    .expect("unit");
    let value = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{key}=")))
            .map(|value| {
                let mut caps: Vec<&str> = value.split_whitespace().collect();
                caps.sort_unstable();
                caps
            })
            .unwrap_or_else(|| panic!("no {key}="))
    };
    // CAP_PERFMON: the verifier needs it for the XDP program (see the unit's comment and
    // dataplane/tests/capabilities.rs).
    let expected = [
        "CAP_BPF",
        "CAP_IPC_LOCK",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_PERFMON",
        "CAP_SYS_NICE",
    ];
    assert_eq!(value("AmbientCapabilities"), expected);
    assert_eq!(value("CapabilityBoundingSet"), expected);
    assert!(text.lines().any(|line| line == "User=tickwire"));
    assert!(text.lines().any(|line| line == "Type=notify"));
    assert!(text.lines().any(|line| line.starts_with("WatchdogSec=")));
    let control = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../deploy/systemd/tickwire-controlplane.service"),
    )
    .expect("unit");
    assert!(
        control.lines().any(|line| line == "User=tickwire"),
        "same user as the data plane"
    );
    assert!(control.lines().any(|line| line == "CapabilityBoundingSet="));
}
