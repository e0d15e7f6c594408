//! `tickwire-venue`: the exchange simulator binary. See `venue/README.md` for every flag,
//! the admin protocol and the contracts.
//!
//! Start-up order: parse and validate flags, load the replay/Binance files, bind every
//! socket, start the socket threads, publish the session start on the feed, print the bound
//! ports and `venue: ready` on stdout, then run the engine on the main thread until
//! SIGINT/SIGTERM, `--duration`, or the admin `shutdown`. Shutdown: end of session on the
//! feed and to participants, threads joined, latency printed and `--report` written.
#![deny(unsafe_code)]

use std::{
    io::Write as _,
    net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket},
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    thread::JoinHandle,
    time::Duration,
};

use anyhow::{Context as _, bail};
use clap::{Parser, ValueEnum};
use serde_json::json;
use tickwire_common::Price;
use tickwire_protocol::{itch, moldudp64::Session, ouch};
use tickwire_venue::{
    binance::{self, BinanceCounters, BinanceFile},
    engine::{Engine, EngineParts, Symbol},
    feed::{FaultConfig, Feed, FeedConfig},
    flow::{Flow, Replay, Synthetic, SyntheticConfig, Ticks},
    net::{self, Event},
    rng::fraction_to_ppb,
    session::{Participants, SessionConfig},
};

/// Background flow kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FlowKind {
    /// No background orders.
    None,
    /// Replay an ITCH 5.0 file's order messages.
    Replay,
    /// Random-walk passive and aggressive orders.
    Synthetic,
    /// Benchmark ticks: every step moves a market maker's quotes (see `flow::Ticks`).
    Ticks,
}

/// tickwire's venue simulator: matching engine, OUCH 4.2 over SoupBinTCP and UFO, ITCH 5.0
/// over MoldUDP64 with retransmission, fault injection, wire-to-wire latency capture.
#[derive(Debug, Parser)]
#[command(name = "tickwire-venue", version)]
struct Args {
    /// ITCH/MoldUDP64 destination, multicast group or unicast (ADDR:PORT). Without it the
    /// feed is sequenced and stored but not sent.
    #[arg(long)]
    feed: Option<SocketAddr>,
    /// Local address the feed is sent from.
    #[arg(long, default_value = "0.0.0.0:0")]
    feed_bind: SocketAddr,
    /// Multicast TTL.
    #[arg(long, default_value_t = 1)]
    multicast_ttl: u32,
    /// Do not loop multicast back to this host.
    #[arg(long)]
    no_multicast_loop: bool,
    /// Read datagrams that come back to the feed socket (a reflector echoing the feed) and
    /// record feed send → echo arrival in the latency histogram: the floor under the
    /// wire-to-wire measurement.
    #[arg(long)]
    feed_echo: bool,
    /// MoldUDP64 session name (also the order-entry session), up to 10 alphanumerics.
    #[arg(long, default_value = "TICKWIRE01")]
    session: String,
    /// Feed heartbeat after this much feed silence (ms).
    #[arg(long, default_value_t = 1000)]
    feed_heartbeat_ms: u64,
    /// Largest feed packet, MoldUDP64 header included (bytes).
    #[arg(long, default_value_t = 1400)]
    max_packet_bytes: usize,
    /// Most messages per feed packet (0: as many as fit).
    #[arg(long, default_value_t = 0)]
    max_messages_per_packet: u16,
    /// MoldUDP64 retransmission server UDP port.
    #[arg(long)]
    retransmit: Option<u16>,
    /// Memory for the retransmission store (MiB); older messages are dropped beyond it.
    #[arg(long, default_value_t = 1024)]
    store_limit_mb: usize,
    /// UFO order entry UDP port.
    #[arg(long)]
    ufo: Option<u16>,
    /// SoupBinTCP order entry TCP port.
    #[arg(long)]
    soupbintcp: Option<u16>,
    /// Address the listening sockets bind to.
    #[arg(long, default_value = "0.0.0.0")]
    bind: IpAddr,
    /// Order entry user NAME:PASSWORD (name up to 6, password up to 10 characters).
    #[arg(long = "user", value_name = "NAME:PASSWORD")]
    users: Vec<String>,
    /// Server heartbeat interval to participants (ms).
    #[arg(long, default_value_t = 1000)]
    heartbeat_ms: u64,
    /// A participant silent this long is lost and its orders canceled (ms).
    #[arg(long, default_value_t = 15_000)]
    client_timeout_ms: u64,
    /// Outbound OUCH messages kept per user for replay (MiB).
    #[arg(long, default_value_t = 64)]
    participant_store_mb: usize,
    /// Inbound messages kept per user for the admin `orders` command.
    #[arg(long, default_value_t = 5_000_000)]
    audit_limit: usize,
    /// Symbols, comma separated; stock locate = 1-based position.
    #[arg(long, default_value = "ALC,BOB,CHAR", value_delimiter = ',')]
    symbols: Vec<String>,
    /// Tick size: `0.01` for every symbol, or `SYMBOL:0.05` for one (repeatable).
    #[arg(long = "tick", value_name = "[SYMBOL:]TICK")]
    ticks: Vec<String>,
    /// Background flow.
    #[arg(long, value_enum, default_value_t = FlowKind::None)]
    flow: FlowKind,
    /// ITCH 5.0 BinaryFILE to replay (`.gz` is decompressed).
    #[arg(long)]
    replay_file: Option<PathBuf>,
    /// Replay pace (file messages per second).
    #[arg(long, default_value_t = 1000)]
    replay_rate: u64,
    /// Synthetic flow pace (actions per second).
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Seed of the synthetic flow and of the fault injector.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Synthetic starting mid price (decimal).
    #[arg(long, default_value = "100.00")]
    start_price: String,
    /// Initial fraction of feed packets dropped.
    #[arg(long, default_value_t = 0.0)]
    fault_drop: f64,
    /// Initial fraction of feed packets duplicated.
    #[arg(long, default_value_t = 0.0)]
    fault_duplicate: f64,
    /// Initial fraction of feed packets reordered.
    #[arg(long, default_value_t = 0.0)]
    fault_reorder: f64,
    /// Initial delay of every feed packet (µs).
    #[arg(long, default_value_t = 0)]
    fault_delay_us: u64,
    /// Admin TCP port (JSON lines).
    #[arg(long)]
    admin: Option<u16>,
    /// Stop after this many seconds.
    #[arg(long)]
    duration: Option<f64>,
    /// Write the latency report here on exit (JSON).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Binance sample file to replay.
    #[arg(long)]
    binance: Option<PathBuf>,
    /// Where the Binance datagrams go (ADDR:PORT).
    #[arg(long)]
    binance_dest: Option<SocketAddr>,
    /// Binance pace (messages per second); default: the recorded timing.
    #[arg(long)]
    binance_rate: Option<u64>,
    /// HTTP port serving the Binance REST depth snapshot.
    #[arg(long)]
    binance_snapshot: Option<u16>,
    /// Relay framing: number and fragment every Binance message (snapshot included, in-band)
    /// into datagrams of at most this many payload bytes (e.g. 1400 for a 1500-byte MTU).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=8192))]
    binance_relay: Option<u16>,
}

/// A parsed decimal price as `Price(4)` raw units.
fn price4(text: &str) -> anyhow::Result<u32> {
    let price = Price::from_decimal(text.as_bytes())
        .map_err(|error| anyhow::anyhow!("{error}"))
        .with_context(|| format!("price {text:?}"))?;
    let raw = ouch::Price4::from_price(price)
        .map_err(|error| anyhow::anyhow!("{error}"))
        .with_context(|| format!("price {text:?}"))?
        .raw();
    if raw == 0 {
        bail!("price {text:?} must be positive");
    }
    Ok(raw)
}

fn symbols(args: &Args) -> anyhow::Result<Vec<Symbol>> {
    let mut default_tick = 100;
    let mut per_symbol = Vec::new();
    for tick in &args.ticks {
        match tick.split_once(':') {
            Some((symbol, value)) => per_symbol.push((symbol.to_owned(), price4(value)?)),
            None => default_tick = price4(tick)?,
        }
    }
    if args.symbols.is_empty() {
        bail!("--symbols is empty");
    }
    let mut symbols = Vec::new();
    for name in &args.symbols {
        if symbols.iter().any(|symbol: &Symbol| symbol.name == *name) {
            bail!("symbol {name} is listed twice");
        }
        let tick = per_symbol
            .iter()
            .rev()
            .find(|(symbol, _)| symbol == name)
            .map_or(default_tick, |(_, tick)| *tick);
        symbols.push(Symbol {
            name: name.clone(),
            tick,
            itch_stock: itch::Stock::new(name).with_context(|| format!("symbol {name:?}"))?,
            ouch_stock: ouch::Stock::from_symbol(name.as_bytes())
                .map_err(|error| anyhow::anyhow!("{error}"))
                .with_context(|| format!("symbol {name:?}"))?,
        });
    }
    for (symbol, _) in &per_symbol {
        if !args.symbols.contains(symbol) {
            bail!("--tick names {symbol}, which is not in --symbols");
        }
    }
    if symbols.len() > usize::from(u16::MAX - 1) {
        bail!("too many symbols");
    }
    Ok(symbols)
}

fn users(args: &Args) -> anyhow::Result<Vec<(String, String)>> {
    args.users
        .iter()
        .map(|user| {
            let (name, password) = user
                .split_once(':')
                .with_context(|| format!("--user {user:?}: expected NAME:PASSWORD"))?;
            if name.is_empty() || name.len() > 6 || password.len() > 10 {
                bail!("--user {name:?}: name 1-6 and password at most 10 characters");
            }
            Ok((name.to_owned(), password.to_owned()))
        })
        .collect()
}

fn ms(value: u64) -> u64 {
    value.saturating_mul(1_000_000)
}

/// Everything started, for shutdown.
struct Running {
    engine: Engine,
    events: mpsc::Receiver<Event>,
    threads: Vec<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    /// Keeps the event channel open in Binance mode, whose threads send the engine nothing:
    /// without it a Binance-only venue would end at once (the engine also ends on a closed
    /// channel) instead of replaying and serving until stopped.
    keep_open: Option<mpsc::SyncSender<Event>>,
}

fn start(args: &Args) -> anyhow::Result<Running> {
    let symbols = symbols(args)?;
    let users = users(args)?;
    let session = Session::new(&args.session)
        .map_err(|error| anyhow::anyhow!("{error}"))
        .context("--session")?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing signal handlers")?;
    }
    let names: Vec<String> = symbols.iter().map(|symbol| symbol.name.clone()).collect();
    let flow = match args.flow {
        FlowKind::None => Flow::None,
        FlowKind::Replay => {
            let path = args
                .replay_file
                .as_ref()
                .context("--flow replay needs --replay-file")?;
            let replay = Replay::load(path, &names).context("loading the replay file")?;
            tracing::info!(messages = replay.len(), "replay file loaded");
            Flow::Replay(replay)
        }
        FlowKind::Synthetic => Flow::Synthetic(Synthetic::new(SyntheticConfig {
            symbols: (0..symbols.len())
                .filter_map(|index| u16::try_from(index).ok())
                .collect(),
            ticks: symbols.iter().map(|symbol| symbol.tick).collect(),
            start_price: price4(&args.start_price).context("--start-price")?,
            seed: args.seed,
        })),
        FlowKind::Ticks => Flow::Ticks(Ticks::new(
            (0..symbols.len())
                .filter_map(|index| u16::try_from(index).ok())
                .collect(),
            symbols.iter().map(|symbol| symbol.tick).collect(),
            price4(&args.start_price).context("--start-price")?,
        )),
    };
    let flow_rate = match args.flow {
        FlowKind::None => 0,
        FlowKind::Replay => args.replay_rate,
        FlowKind::Synthetic | FlowKind::Ticks => args.rate,
    };
    let binance_file = args
        .binance
        .as_ref()
        .map(|path| BinanceFile::load(path).context("loading the Binance file"))
        .transpose()?
        .map(Arc::new);
    if args.binance.is_none()
        && (args.binance_dest.is_some()
            || args.binance_snapshot.is_some()
            || args.binance_relay.is_some())
    {
        bail!("--binance-dest, --binance-snapshot and --binance-relay need --binance FILE");
    }

    // Sockets.
    let feed_socket = UdpSocket::bind(args.feed_bind).context("binding the feed socket")?;
    if let Some(dest) = args.feed
        && dest.ip().is_multicast()
    {
        feed_socket
            .set_multicast_ttl_v4(args.multicast_ttl)
            .context("multicast TTL")?;
        feed_socket
            .set_multicast_loop_v4(!args.no_multicast_loop)
            .context("multicast loop")?;
    }
    let retransmit = args
        .retransmit
        .map(|port| UdpSocket::bind((args.bind, port)).context("binding the retransmission port"))
        .transpose()?;
    let ufo = args
        .ufo
        .map(|port| UdpSocket::bind((args.bind, port)).context("binding the UFO port"))
        .transpose()?;
    let soupbintcp = args
        .soupbintcp
        .map(|port| TcpListener::bind((args.bind, port)).context("binding the SoupBinTCP port"))
        .transpose()?;
    let admin = args
        .admin
        .map(|port| TcpListener::bind((args.bind, port)).context("binding the admin port"))
        .transpose()?;
    let binance_http = args
        .binance_snapshot
        .map(|port| {
            TcpListener::bind((args.bind, port)).context("binding the Binance snapshot port")
        })
        .transpose()?;
    let binance_socket = args
        .binance_dest
        .map(|dest| {
            UdpSocket::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0))
                .map(|socket| (socket, dest))
                .context("binding the Binance socket")
        })
        .transpose()?;

    let mut ports = serde_json::Map::new();
    let mut note = |name: &str, port: Option<std::io::Result<SocketAddr>>| -> anyhow::Result<()> {
        if let Some(addr) = port {
            ports.insert(
                name.to_owned(),
                json!(addr.context("local address")?.port()),
            );
        }
        Ok(())
    };
    note("ufo", ufo.as_ref().map(UdpSocket::local_addr))?;
    note(
        "soupbintcp",
        soupbintcp.as_ref().map(TcpListener::local_addr),
    )?;
    note("retransmit", retransmit.as_ref().map(UdpSocket::local_addr))?;
    note("admin", admin.as_ref().map(TcpListener::local_addr))?;
    note(
        "binance_snapshot",
        binance_http.as_ref().map(TcpListener::local_addr),
    )?;
    note("feed_source", Some(feed_socket.local_addr()))?;

    let (tx, events) = mpsc::sync_channel::<Event>(65_536);
    let mut threads = Vec::new();
    let ufo_reply = ufo
        .as_ref()
        .map(UdpSocket::try_clone)
        .transpose()
        .context("UFO socket")?;
    if let Some(socket) = ufo {
        threads.push(net::spawn_udp_reader(
            "ufo",
            socket,
            Arc::clone(&stop),
            tx.clone(),
            |from, bytes, arrival_ns| Event::Ufo {
                from,
                bytes,
                arrival_ns,
            },
        )?);
    }
    let retransmit_reply = retransmit
        .as_ref()
        .map(UdpSocket::try_clone)
        .transpose()
        .context("retransmission socket")?;
    if let Some(socket) = retransmit {
        threads.push(net::spawn_udp_reader(
            "retransmit",
            socket,
            Arc::clone(&stop),
            tx.clone(),
            |from, bytes, _| Event::Retransmit { from, bytes },
        )?);
    }
    if let Some(listener) = soupbintcp {
        threads.push(net::spawn_soupbintcp(
            listener,
            Arc::clone(&stop),
            tx.clone(),
        )?);
    }
    if let Some(listener) = admin {
        threads.push(net::spawn_admin(listener, Arc::clone(&stop), tx.clone())?);
    }
    if args.feed_echo {
        let socket = feed_socket.try_clone().context("feed socket")?;
        threads.push(net::spawn_udp_reader(
            "feed-echo",
            socket,
            Arc::clone(&stop),
            tx.clone(),
            |_, bytes, arrival_ns| Event::FeedEcho { bytes, arrival_ns },
        )?);
    }
    let keep_open = binance_file.is_some().then(|| tx.clone());
    drop(tx);
    if let Some(file) = binance_file {
        let counters = Arc::new(BinanceCounters::default());
        threads.extend(binance::spawn(
            file,
            binance_socket,
            args.binance_rate,
            args.binance_relay.map(usize::from),
            binance_http,
            Arc::clone(&stop),
            counters,
        )?);
    }

    let participants = Participants::new(
        &users,
        ufo_reply,
        SessionConfig {
            session: args.session.clone(),
            heartbeat_ns: ms(args.heartbeat_ms.max(1)),
            timeout_ns: ms(args.client_timeout_ms.max(1)),
            out_limit_bytes: args.participant_store_mb.saturating_mul(1 << 20),
            audit_limit: args.audit_limit,
        },
    )
    .map_err(|error| anyhow::anyhow!("{error}"))
    .context("--user or --session")?;
    let feed = Feed::new(
        FeedConfig {
            dest: args.feed,
            session,
            heartbeat_ns: ms(args.feed_heartbeat_ms.max(1)),
            max_packet_bytes: args.max_packet_bytes,
            max_messages: args.max_messages_per_packet,
            store_limit_bytes: args.store_limit_mb.saturating_mul(1 << 20),
        },
        feed_socket,
        args.seed,
    );
    let duration = args
        .duration
        .map(|seconds| Duration::try_from_secs_f64(seconds).context("--duration"))
        .transpose()?;
    let mut engine = Engine::new(EngineParts {
        symbols,
        feed,
        retransmit: retransmit_reply,
        participants,
        flow,
        flow_rate,
        stop: Arc::clone(&stop),
        duration,
        seed: args.seed,
    });
    engine.set_faults(FaultConfig {
        drop_ppb: fraction_to_ppb(args.fault_drop),
        duplicate_ppb: fraction_to_ppb(args.fault_duplicate),
        reorder_ppb: fraction_to_ppb(args.fault_reorder),
        delay_ns: args.fault_delay_us.saturating_mul(1000),
    });
    engine.start_session();

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "venue: ports {}", serde_json::Value::Object(ports))?;
    writeln!(stdout, "venue: ready")?;
    stdout.flush()?;
    Ok(Running {
        engine,
        events,
        threads,
        stop,
        keep_open,
    })
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let Running {
        mut engine,
        events,
        threads,
        stop,
        keep_open,
    } = start(&args)?;
    let report = engine.run(&events);
    drop(keep_open);
    stop.store(true, Ordering::Relaxed);
    drop(events);
    for thread in threads {
        let _ = thread.join();
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "venue: {}", report.summary.to_text())?;
    writeln!(
        stdout,
        "venue: orders_received={} matched={} unmatched={} feed_packets={} feed_messages={} retransmit_requests={}",
        report.orders_received,
        report.matched,
        report.unmatched,
        report.feed_packets,
        report.feed_messages,
        report.retransmit_requests
    )?;
    stdout.flush()?;
    if let Some(path) = &args.report {
        let text = serde_json::to_string_pretty(&report.to_json())?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
