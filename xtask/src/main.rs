//! `cargo xtask`: what cargo alone cannot do (see README).

mod ebpf;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Rebuild the eBPF object and its stamp (nightly + rust-src + bpf-linker 0.10.4).
    Ebpf {
        /// Verify instead: stamp against sources, and a rebuild against the object.
        #[arg(long)]
        check: bool,
        /// With --check: fail when the toolchain is missing instead of skipping the rebuild.
        #[arg(long)]
        require_toolchain: bool,
    },
}

fn workspace_root() -> anyhow::Result<PathBuf> {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").context("run through `cargo xtask`")?;
    Path::new(&manifest)
        .parent()
        .map(Path::to_path_buf)
        .context("xtask has no parent directory")
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let root = workspace_root()?;
    match cli.command {
        Task::Ebpf {
            check,
            require_toolchain,
        } => {
            if check {
                ebpf::check(&root, require_toolchain)
            } else {
                ebpf::rebuild(&root)
            }
        }
    }
}
