//! `tickwire-dataplane`: the data-plane daemon and its tools.

use std::{io::Write as _, net::SocketAddrV4, path::PathBuf, process::ExitCode, time::Duration};

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use tickwire_dataplane::{
    io::BackendChoice,
    netns::{self, Topology},
    ping, reflect, runtime,
    tools::{self, ToolError},
    xdp::{self, AttachMode},
};

#[derive(Debug, Parser)]
#[command(name = "tickwire-dataplane", version, about = "tickwire data plane")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ReflectBackend {
    Afxdp,
    Socket,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Echo every UDP datagram for PORT back to its sender (the latency floor).
    Reflect {
        /// Interface to receive on.
        #[arg(long)]
        iface: String,
        /// UDP port to reflect.
        #[arg(long)]
        port: u16,
        /// Packet I/O backend.
        #[arg(long, value_enum)]
        backend: ReflectBackend,
        /// XDP attach mode (AF_XDP backend).
        #[arg(long, value_enum, default_value_t = AttachMode::Auto)]
        mode: AttachMode,
        /// Pin the polling thread to this core.
        #[arg(long)]
        core: Option<usize>,
        /// SO_BUSY_POLL microseconds (socket backend).
        #[arg(long)]
        busy_poll_us: Option<u32>,
        /// Exit after echoing this many datagrams.
        #[arg(long)]
        count: Option<u64>,
    },
    /// Measure UDP round trips against a reflector (kernel socket, busy-polled).
    Ping {
        /// Reflector address, e.g. 10.77.0.1:9000.
        #[arg(long)]
        target: SocketAddrV4,
        /// Measured round trips.
        #[arg(long, default_value_t = 100_000)]
        count: u64,
        /// Unmeasured round trips first.
        #[arg(long, default_value_t = 1_000)]
        warmup: u64,
        /// Payload bytes.
        #[arg(long, default_value_t = 64)]
        payload: usize,
        /// Pin to this core.
        #[arg(long)]
        core: Option<usize>,
        /// Per-probe timeout in milliseconds.
        #[arg(long, default_value_t = 200)]
        timeout_ms: u64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Create or remove the two-namespace test topology.
    Netns {
        #[command(subcommand)]
        action: NetnsAction,
    },
    /// Decode a capture or file to one JSON object per message (stdout).
    Decode {
        /// `itch50` (ITCH 5.0 BinaryFILE, plain or gzip) or `moldudp64` (pcap).
        #[arg(long)]
        format: String,
        /// Only UDP datagrams to this port (moldudp64).
        #[arg(long)]
        port: Option<u16>,
        /// Input file.
        file: PathBuf,
    },
    /// Replay a file into a book and print the top of book after each change (stdout).
    Book {
        /// `itch50` (needs --stock).
        #[arg(long)]
        format: String,
        /// Stock symbol (itch50).
        #[arg(long)]
        stock: Option<String>,
        /// binance: after the replay, print the final book (this many levels per side) as a
        /// last line `{"event":"book",...}`.
        #[arg(long)]
        depth: Option<usize>,
        /// Input file.
        file: PathBuf,
    },
    /// Run the data plane: trade against the venue described in the configuration.
    Run {
        /// Configuration file (TOML).
        #[arg(long)]
        config: PathBuf,
        /// Append every audit record to this file as a JSON line.
        #[arg(long)]
        audit_log: Option<PathBuf>,
        /// Write every symbol's book (full depth, JSON) to this file at exit.
        #[arg(long)]
        dump_books: Option<PathBuf>,
    },
    /// Print the version and the provenance of the embedded eBPF object.
    Version,
}

#[derive(Debug, Subcommand)]
enum NetnsAction {
    /// Create the namespaces and the veth pair.
    Up {
        /// Name prefix (at most 8 characters).
        #[arg(long, default_value = netns::DEFAULT_PREFIX)]
        prefix: String,
    },
    /// Delete them.
    Down {
        /// Name prefix.
        #[arg(long, default_value = netns::DEFAULT_PREFIX)]
        prefix: String,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a tool with buffered stdout. A closed pipe (`| head`) ends the run quietly; every
/// other error is one line.
fn run_tool(
    tool: impl FnOnce(&mut std::io::BufWriter<std::io::StdoutLock<'static>>) -> Result<u64, ToolError>,
) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let result = tool(&mut out).and_then(|_| out.flush().map_err(ToolError::Output));
    match result {
        Err(ToolError::Output(error)) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(error.into()),
        Ok(()) => Ok(()),
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Reflect {
            iface,
            port,
            backend,
            mode,
            core,
            busy_poll_us,
            count,
        } => {
            let stop = runtime::stop_on_signals().context("installing signal handlers")?;
            let options = reflect::ReflectOptions {
                iface,
                port,
                backend: match backend {
                    ReflectBackend::Afxdp => BackendChoice::Afxdp,
                    ReflectBackend::Socket => BackendChoice::Socket,
                },
                mode,
                core,
                busy_poll_us,
                limit: count,
            };
            let report = reflect::run(&options, stop).context("reflector")?;
            println!(
                "reflect: backend={} echoed={} rx={} rx_dropped={} tx={} tx_errors={} tx_no_buffer={} kicks={} rx_wakeups={}",
                report.backend,
                report.echoed,
                report.io.rx_datagrams,
                report.io.rx_dropped,
                report.io.tx_datagrams,
                report.io.tx_errors,
                report.io.tx_no_buffer,
                report.io.tx_kicks,
                report.io.rx_wakeups,
            );
            if let Some(counters) = report.xdp {
                println!("xdp: {counters}");
            }
            Ok(())
        }
        Command::Ping {
            target,
            count,
            warmup,
            payload,
            core,
            timeout_ms,
            json,
        } => {
            let report = ping::run(&ping::PingOptions {
                target,
                count,
                warmup,
                payload,
                core,
                timeout: Duration::from_millis(timeout_ms),
            })
            .context("ping")?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                println!(
                    "ping {target}: {} lost={} corrupted={}",
                    report.rtt, report.lost, report.corrupted
                );
            }
            if report.rtt.samples == 0 {
                bail!("no answers from {target}");
            }
            Ok(())
        }
        Command::Netns { action } => match action {
            NetnsAction::Up { prefix } => {
                let topology = Topology::create(&prefix)?;
                println!(
                    "netns: {} ({} {}/{}) <-> {} ({} {}/{})",
                    topology.gateway_ns,
                    topology.gateway_iface,
                    topology.gateway_ip,
                    netns::PREFIX_LEN,
                    topology.venue_ns,
                    topology.venue_iface,
                    topology.venue_ip,
                    netns::PREFIX_LEN
                );
                topology.persist();
                Ok(())
            }
            NetnsAction::Down { prefix } => {
                Topology::named(&prefix)?.destroy();
                Ok(())
            }
        },
        Command::Decode { format, port, file } => {
            run_tool(|out| tools::decode::run(&format, &file, port, out))
        }
        Command::Book {
            format,
            stock,
            depth,
            file,
        } => run_tool(|out| tools::book::run(&format, &file, stock.as_deref(), depth, out)),
        Command::Run {
            config,
            audit_log,
            dump_books,
        } => {
            let stop = runtime::stop_on_signals().context("installing signal handlers")?;
            let summary = tickwire_dataplane::daemon::run(
                &tickwire_dataplane::daemon::RunOptions {
                    config,
                    audit_log,
                    dump_books,
                },
                stop,
            )?;
            println!("dataplane: {}", serde_json::to_string(&summary)?);
            Ok(())
        }
        Command::Version => {
            println!("tickwire-dataplane {}", env!("CARGO_PKG_VERSION"));
            println!("ebpf object sha256 {}", xdp::OBJECT_DIGEST);
            println!("ebpf source sha256 {}", xdp::SOURCE_DIGEST);
            Ok(())
        }
    }
}
