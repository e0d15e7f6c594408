//! `cargo xtask test`: the project's whole test suite, the command README and CI run.
//!
//! 1. eBPF object provenance (stamp against sources; a rebuild when the toolchain exists);
//! 2. `cargo test --workspace` (unit, property, golden, integration and end-to-end tests;
//!    the XDP ones need root and skip with a printed reason otherwise);
//! 3. the provisioning tests (`ansible/test.sh`: ansible-lint production profile, syntax
//!    check, check-mode run against localhost), when ansible is installed;
//!    `TICKWIRE_REQUIRE_ANSIBLE=1` makes its absence a failure;
//! 4. a bounded run of every fuzz target (`cargo +nightly fuzz`), when nightly and
//!    cargo-fuzz are installed; `TICKWIRE_REQUIRE_FUZZ=1` makes their absence a failure.

use std::{path::Path, process::Command};

use anyhow::bail;

use crate::{ebpf, util};

/// The fuzz targets (protocol/fuzz/Cargo.toml).
const FUZZ_TARGETS: [&str; 6] = ["itch", "moldudp64", "binance", "ouch", "soupbintcp", "ufo"];

pub fn run(root: &Path, fuzz_seconds: u32) -> anyhow::Result<()> {
    println!("== eBPF object provenance");
    ebpf::check(root, false)?;
    println!("== cargo test --workspace");
    util::run(
        util::cargo()
            .current_dir(root)
            .args(["test", "--workspace"]),
    )?;
    ansible(root)?;
    fuzz(root, fuzz_seconds)
}

fn ansible(root: &Path) -> anyhow::Result<()> {
    let installed = ["ansible-playbook", "ansible-lint"].iter().all(|tool| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|output| output.status.success())
    });
    if !installed {
        if std::env::var("TICKWIRE_REQUIRE_ANSIBLE").as_deref() == Ok("1") {
            bail!("TICKWIRE_REQUIRE_ANSIBLE=1 but ansible-playbook or ansible-lint is missing");
        }
        println!("== ansible: SKIPPED (install: pip install -r ansible/requirements.txt)");
        return Ok(());
    }
    println!("== ansible: lint, syntax check, check-mode run (ansible/test.sh)");
    util::run(Command::new("bash").arg(root.join("ansible/test.sh")))
}

fn fuzz_available() -> bool {
    Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .env_remove("RUSTUP_TOOLCHAIN")
        .output()
        .is_ok_and(|output| output.status.success())
}

fn fuzz(root: &Path, seconds: u32) -> anyhow::Result<()> {
    if seconds == 0 {
        return Ok(());
    }
    if !fuzz_available() {
        if std::env::var("TICKWIRE_REQUIRE_FUZZ").as_deref() == Ok("1") {
            bail!("TICKWIRE_REQUIRE_FUZZ=1 but `cargo +nightly fuzz` is not installed");
        }
        println!(
            "== fuzz: SKIPPED (install: cargo install cargo-fuzz; needs the nightly toolchain)"
        );
        return Ok(());
    }
    for target in FUZZ_TARGETS {
        println!("== fuzz {target} ({seconds} s)");
        // A scratch corpus: the committed seeds stay as they are.
        let scratch = root.join("target/fuzz-corpus").join(target);
        std::fs::create_dir_all(&scratch)?;
        util::run(
            Command::new("cargo")
                .current_dir(root.join("protocol"))
                .env_remove("RUSTUP_TOOLCHAIN")
                .env("CARGO_TARGET_DIR", root.join("target/fuzz"))
                .args(["+nightly", "fuzz", "run", target])
                .arg(&scratch)
                .arg(format!("fuzz/corpus/{target}"))
                .args([
                    "--",
                    &format!("-max_total_time={seconds}"),
                    "-rss_limit_mb=2048",
                ]),
        )?;
    }
    Ok(())
}
