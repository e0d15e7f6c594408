//! `cargo xtask test`: the project's whole test suite, the command README and CI run.

use std::path::Path;

use crate::{ebpf, util};

pub fn run(root: &Path) -> anyhow::Result<()> {
    println!("== eBPF object provenance");
    ebpf::check(root, false)?;
    println!("== cargo test --workspace");
    util::run(
        util::cargo()
            .current_dir(root)
            .args(["test", "--workspace"]),
    )?;
    Ok(())
}
