//! Provenance of the committed eBPF object, shared by `dataplane/build.rs` and xtask
//! (included with `#[path]`, so both hash exactly the same files the same way).
//!
//! The stamp records the SHA-256 of the sources the object was built from, the SHA-256 of
//! the object itself and the toolchain that built it. The build embeds the digests it sees,
//! a test compares them with the stamp, and `cargo xtask ebpf --check` rebuilds and compares.

use std::{
    fmt::Write as _,
    fs, io,
    path::{Path, PathBuf},
};

use sha2::{Digest, Sha256};

/// The committed object, relative to the workspace root.
pub const OBJECT_PATH: &str = "ebpf/obj/tickwire-xdp.o";
/// The committed stamp, relative to the workspace root.
pub const STAMP_PATH: &str = "ebpf/obj/tickwire-xdp.stamp";

/// Files whose content determines the object, relative to the workspace root, sorted.
pub fn source_files(root: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = [
        "ebpf/Cargo.toml",
        "ebpf/Cargo.lock",
        "ebpf/rust-toolchain.toml",
        "ebpf/.cargo/config.toml",
        // The program compiles in only this file of tickwire-common (see ebpf/src/main.rs).
        "common/src/xdp.rs",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    collect_rust_files(root, Path::new("ebpf/src"), &mut files)?;
    files.sort();
    Ok(files)
}

fn collect_rust_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(root.join(dir))? {
        let entry = entry?;
        let relative = dir.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            collect_rust_files(root, &relative, out)?;
        } else if relative.extension().is_some_and(|ext| ext == "rs") {
            out.push(relative);
        }
    }
    Ok(())
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    to_hex(&Sha256::digest(bytes))
}

fn to_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// SHA-256 over every source file as `path NUL length NUL content`, in sorted order.
pub fn source_digest(root: &Path) -> io::Result<String> {
    let mut hasher = Sha256::new();
    for file in source_files(root)? {
        let content = fs::read(root.join(&file))?;
        // Paths use '/' on every platform so the digest does not depend on the host.
        let name = file.to_string_lossy().replace('\\', "/");
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(content.len().to_string().as_bytes());
        hasher.update([0]);
        hasher.update(&content);
    }
    Ok(to_hex(&hasher.finalize()))
}

/// The value of `key = "value"` in a stamp.
pub fn stamp_field<'a>(stamp: &'a str, key: &str) -> Option<&'a str> {
    stamp.lines().find_map(|line| {
        let (name, value) = line.split_once('=')?;
        (name.trim() == key).then(|| value.trim().trim_matches('"'))
    })
}
