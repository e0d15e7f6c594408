//! `cargo xtask ebpf [--check]`: rebuild the committed eBPF object and its stamp.

#[path = "../../ebpf/stamp.rs"]
mod stamp;

use std::{
    path::Path,
    process::{Command, Stdio},
};

use anyhow::{Context as _, bail};

/// bpf-linker release the object is built with (newer ones need a system LLVM 21+).
const BPF_LINKER_VERSION: &str = "0.10.4";
const TARGET: &str = "bpfel-unknown-none";

/// What the toolchain reports, or why it cannot build.
fn toolchain() -> anyhow::Result<(String, String)> {
    let rustc = output(Command::new("rustc").args(["+nightly", "--version"]))
        .context("nightly toolchain (rustup toolchain install nightly)")?;
    let sysroot = output(Command::new("rustc").args(["+nightly", "--print", "sysroot"]))?;
    if !Path::new(sysroot.trim())
        .join("lib/rustlib/src/rust/library/core")
        .exists()
    {
        bail!("rust-src missing: rustup component add rust-src --toolchain nightly");
    }
    let linker = output(Command::new("bpf-linker").arg("--version")).with_context(|| {
        format!("bpf-linker: cargo install bpf-linker --version {BPF_LINKER_VERSION} --locked")
    })?;
    if !linker.contains(BPF_LINKER_VERSION) {
        bail!(
            "bpf-linker {BPF_LINKER_VERSION} required, found {}",
            linker.trim()
        );
    }
    Ok((rustc.trim().to_owned(), linker.trim().to_owned()))
}

fn output(command: &mut Command) -> anyhow::Result<String> {
    let out = command
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {command:?}"))?;
    if !out.status.success() {
        bail!("{command:?} failed");
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// Builds the object into `target_dir` and returns its bytes.
fn build(root: &Path, target_dir: &Path) -> anyhow::Result<Vec<u8>> {
    let status = Command::new("cargo")
        .args(["+nightly", "build", "--release", "--target", TARGET])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(root.join("ebpf"))
        // The outer `cargo xtask` exports its own toolchain and flags; the nested nightly
        // build must not inherit them.
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .status()
        .context("running cargo +nightly build for the eBPF crate")?;
    if !status.success() {
        bail!("building the eBPF crate failed");
    }
    let built = target_dir.join(TARGET).join("release/tickwire-xdp");
    std::fs::read(&built).with_context(|| format!("reading {}", built.display()))
}

/// `cargo xtask ebpf`: rebuild and rewrite object + stamp.
pub fn rebuild(root: &Path) -> anyhow::Result<()> {
    let (rustc, linker) = toolchain()?;
    let object = build(root, &root.join("ebpf/target"))?;
    let source_digest = stamp::source_digest(root)?;
    let object_digest = stamp::sha256_hex(&object);
    std::fs::write(root.join(stamp::OBJECT_PATH), &object)?;
    let text = format!(
        "# Provenance of tickwire-xdp.o: written by `cargo xtask ebpf`, checked by the\n\
         # dataplane's tests and by `cargo xtask ebpf --check` (see ebpf/stamp.rs).\n\
         source-sha256 = \"{source_digest}\"\n\
         object-sha256 = \"{object_digest}\"\n\
         rustc = \"{rustc}\"\n\
         bpf-linker = \"{linker}\"\n"
    );
    std::fs::write(root.join(stamp::STAMP_PATH), text)?;
    println!(
        "ebpf: wrote {} ({} bytes)",
        stamp::OBJECT_PATH,
        object.len()
    );
    println!("ebpf: source sha256 {source_digest}");
    println!("ebpf: object sha256 {object_digest}");
    Ok(())
}

/// `cargo xtask ebpf --check`: the stamp must match the sources; when the toolchain is
/// available, a fresh build must reproduce the committed object byte for byte (if the same
/// nightly is used) — otherwise the difference is reported.
pub fn check(root: &Path, require_toolchain: bool) -> anyhow::Result<()> {
    let committed = std::fs::read_to_string(root.join(stamp::STAMP_PATH))
        .context("reading the committed stamp")?;
    let source_digest = stamp::source_digest(root)?;
    let stamped_source = stamp::stamp_field(&committed, "source-sha256").unwrap_or_default();
    if stamped_source != source_digest {
        bail!(
            "the committed eBPF object is stale: sources hash to {source_digest}, the stamp says \
             {stamped_source}; run `cargo xtask ebpf` and commit ebpf/obj/"
        );
    }
    let object = std::fs::read(root.join(stamp::OBJECT_PATH))?;
    let object_digest = stamp::sha256_hex(&object);
    if stamp::stamp_field(&committed, "object-sha256") != Some(object_digest.as_str()) {
        bail!("ebpf/obj/tickwire-xdp.o does not match its stamp's object-sha256");
    }
    println!("ebpf: stamp matches the sources ({source_digest})");
    let (rustc, _linker) = match toolchain() {
        Ok(found) => found,
        Err(error) if !require_toolchain => {
            println!("ebpf: rebuild skipped, toolchain unavailable: {error:#}");
            return Ok(());
        }
        Err(error) => return Err(error),
    };
    let scratch = root.join("target/ebpf-check");
    let rebuilt = build(root, &scratch)?;
    let rebuilt_digest = stamp::sha256_hex(&rebuilt);
    if rebuilt_digest == object_digest {
        println!("ebpf: rebuild reproduces the committed object ({object_digest})");
        return Ok(());
    }
    if stamp::stamp_field(&committed, "rustc") == Some(rustc.as_str()) {
        bail!(
            "rebuilding with the stamped toolchain ({rustc}) gives {rebuilt_digest}, \
             the committed object is {object_digest}"
        );
    }
    println!(
        "ebpf: rebuild with {rustc} differs from the committed object (built with {}); \
         sources match, so this is a toolchain difference",
        stamp::stamp_field(&committed, "rustc").unwrap_or("?")
    );
    Ok(())
}
