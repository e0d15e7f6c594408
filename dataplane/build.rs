//! Embeds the digests of the eBPF sources and of the committed object, so a test can tell
//! when the object is stale (see `ebpf/stamp.rs`).

#[path = "../ebpf/stamp.rs"]
mod stamp;

use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR")?;
    let root = Path::new(&manifest_dir)
        .parent()
        .ok_or("dataplane has no parent directory")?;
    for file in stamp::source_files(root)? {
        println!("cargo::rerun-if-changed={}", root.join(file).display());
    }
    println!(
        "cargo::rerun-if-changed={}",
        root.join("ebpf/src").display()
    );
    println!(
        "cargo::rerun-if-changed={}",
        root.join(stamp::OBJECT_PATH).display()
    );
    println!(
        "cargo::rerun-if-changed={}",
        root.join(stamp::STAMP_PATH).display()
    );

    let source_digest = stamp::source_digest(root)?;
    let object = std::fs::read(root.join(stamp::OBJECT_PATH))?;
    let object_digest = stamp::sha256_hex(&object);
    let committed = std::fs::read_to_string(root.join(stamp::STAMP_PATH))?;
    if stamp::stamp_field(&committed, "source-sha256") != Some(source_digest.as_str()) {
        println!(
            "cargo::warning=the committed eBPF object is stale: its sources changed; run `cargo xtask ebpf`"
        );
    }
    println!("cargo::rustc-env=TICKWIRE_EBPF_SOURCE_DIGEST={source_digest}");
    println!("cargo::rustc-env=TICKWIRE_EBPF_OBJECT_DIGEST={object_digest}");
    Ok(())
}
