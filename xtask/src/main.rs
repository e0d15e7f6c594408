//! `cargo xtask`: what cargo alone cannot do (see README).

mod bench_report;
mod bench_rtt;
mod bench_wire;
mod demo;
mod deploy;
mod ebpf;
mod test;
mod util;

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
    /// Create or remove the two-namespace veth topology (see README).
    Netns {
        /// `up` or `down`.
        #[arg(value_parser = ["up", "down"])]
        action: String,
    },
    /// Benchmarks (without a subcommand: `report`).
    Bench {
        #[command(subcommand)]
        bench: Option<Bench>,
    },
    /// The whole gateway on this machine: venue, data plane on AF_XDP, control plane with
    /// its API, live summary, report (as root; see README).
    Demo {
        /// Stop after this many seconds (default: at Ctrl-C).
        #[arg(long)]
        duration: Option<u64>,
        /// Write the final report as JSON.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Venue feed rate (ITCH messages per second).
        #[arg(long, default_value_t = 3000)]
        rate: u64,
    },
    /// Ship a release to a host over ssh, switch to it, health-check it, roll back on
    /// failure (docs/ops.md).
    Deploy(deploy::DeployArgs),
    /// The whole test suite (eBPF provenance, unit, integration and end-to-end tests, a
    /// bounded fuzz run of every decoder).
    Test {
        /// Seconds per fuzz target (0: skip fuzzing).
        #[arg(long, default_value_t = 20)]
        fuzz_seconds: u32,
    },
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// Round trips against the reflector: AF_XDP vs kernel sockets (needs root).
    Rtt {
        /// Measured round trips per responder and round.
        #[arg(long, default_value_t = 100_000)]
        count: u64,
        /// Rounds; responders are interleaved round by round.
        #[arg(long, default_value_t = 3)]
        rounds: u32,
        /// Also write the rows as JSON.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Wire-to-wire latency: floor, afxdp, socket and tokio through the venue (needs root).
    Wire(WireArgs),
    /// Criterion micro benches + the wire harness → target/bench-report/ (report.md, PNG).
    #[command(alias = "all")]
    Report(WireArgs),
}

#[derive(Debug, Parser)]
struct WireArgs {
    /// Write the results as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Samples per configuration.
    #[arg(long, default_value_t = 100_000)]
    samples: u64,
    /// Smoke run: 4,000 samples, short rate steps.
    #[arg(long)]
    quick: bool,
    /// Tick rate of the latency runs (ticks per second).
    #[arg(long, default_value_t = 5_000)]
    rate: u64,
    /// Rounds; configurations are interleaved round by round.
    #[arg(long, default_value_t = 2)]
    rounds: u32,
    /// Report only: take the wire results from this JSON (an earlier run) instead of
    /// running the harness.
    #[arg(long)]
    reuse_wire: Option<PathBuf>,
}

impl WireArgs {
    fn options(self) -> bench_wire::Options {
        bench_wire::Options {
            json: self.json,
            samples: if self.quick {
                self.samples.min(4_000)
            } else {
                self.samples
            },
            quick: self.quick,
            rate: self.rate,
            rounds: self.rounds,
        }
    }
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
        Task::Netns { action } => util::run(util::cargo().current_dir(&root).args([
            "run",
            "--quiet",
            "-p",
            "tickwire-dataplane",
            "--",
            "netns",
            &action,
        ])),
        Task::Bench {
            bench:
                Some(Bench::Rtt {
                    count,
                    rounds,
                    json,
                }),
        } => bench_rtt::run(&root, count, rounds, json.as_deref()),
        Task::Demo {
            duration,
            report,
            rate,
        } => demo::run(
            &root,
            &demo::Options {
                duration: duration.map(std::time::Duration::from_secs),
                report,
                rate,
            },
        ),
        Task::Deploy(args) => deploy::run(&root, &args),
        Task::Bench {
            bench: Some(Bench::Wire(args)),
        } => bench_wire::run(&root, &args.options()).map(drop),
        Task::Bench {
            bench: Some(Bench::Report(args)),
        } => {
            let reuse = args.reuse_wire.clone();
            bench_report::run(&root, &args.options(), reuse.as_deref())
        }
        Task::Bench { bench: None } => {
            let args = WireArgs::parse_from(["report"]);
            bench_report::run(&root, &args.options(), None)
        }
        Task::Test { fuzz_seconds } => test::run(&root, fuzz_seconds),
    }
}
