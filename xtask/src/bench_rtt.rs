//! `cargo xtask bench rtt`: UDP round trips against the reflector over the veth topology,
//! AF_XDP against kernel sockets, in one run with the same pinning.
//!
//! Timed region: the ping client (kernel UDP socket, busy-polled, pinned to core 1) takes a
//! timestamp, sends a 64-byte datagram to the reflector in the other namespace (pinned to
//! core 0), spins until the echo arrives, and takes the second timestamp. Both directions
//! cross the veth pair; only the responder changes between configurations.

use std::{path::Path, process::Command, time::Duration};

use anyhow::Context as _;

use crate::util::{self, Guarded};

const PREFIX: &str = "twbench";
const GATEWAY_NS: &str = "twbench-gw";
const VENUE_NS: &str = "twbench-venue";
const IFACE: &str = "twbench-gw0";
const TARGET: &str = "10.77.0.1:9000";

/// One responder configuration.
struct Config {
    name: &'static str,
    args: &'static [&'static str],
}

const CONFIGS: [Config; 4] = [
    Config {
        name: "afxdp driver",
        args: &["--backend", "afxdp", "--mode", "driver"],
    },
    Config {
        name: "afxdp skb",
        args: &["--backend", "afxdp", "--mode", "skb"],
    },
    Config {
        name: "socket busy-poll",
        args: &["--backend", "socket", "--busy-poll-us", "50"],
    },
    Config {
        name: "socket",
        args: &["--backend", "socket"],
    },
];

#[derive(Debug, Default, Clone, serde::Serialize)]
struct Row {
    config: &'static str,
    samples: u64,
    p50_ns: Vec<u64>,
    p99_ns: Vec<u64>,
    p999_ns: Vec<u64>,
    lost: u64,
}

fn median(values: &[u64]) -> u64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or(0)
}

/// Removes the namespaces on every exit path.
struct Topology<'a> {
    binary: &'a Path,
}

impl Drop for Topology<'_> {
    fn drop(&mut self) {
        let _ = Command::new(self.binary)
            .args(["netns", "down", "--prefix", PREFIX])
            .status();
    }
}

pub fn run(root: &Path, count: u64, rounds: u32, json: Option<&Path>) -> anyhow::Result<()> {
    let binary = util::build_release(root, &["tickwire-dataplane"])?.join("tickwire-dataplane");
    util::run(Command::new(&binary).args(["netns", "up", "--prefix", PREFIX]))?;
    let _topology = Topology { binary: &binary };
    let mut rows: Vec<Row> = CONFIGS
        .iter()
        .map(|config| Row {
            config: config.name,
            ..Row::default()
        })
        .collect();
    // Interleave configurations round by round so slow phases of a shared machine hit all.
    for round in 1..=rounds {
        for (config, row) in CONFIGS.iter().zip(&mut rows) {
            println!("== round {round}/{rounds}: {}", config.name);
            let reflector = Guarded::spawn_until(
                "reflector",
                Command::new("ip")
                    .args(["netns", "exec", GATEWAY_NS])
                    .arg(&binary)
                    .args(["reflect", "--iface", IFACE, "--port", "9000", "--core", "0"])
                    .args(config.args),
                "reflect: ready",
                Duration::from_secs(15),
            )?;
            let output = Command::new("ip")
                .args(["netns", "exec", VENUE_NS])
                .arg(&binary)
                .args(["ping", "--target", TARGET, "--core", "1", "--json"])
                .args(["--count", &count.to_string(), "--warmup", "1000"])
                .output()
                .context("running the ping client")?;
            reflector.stop()?;
            anyhow::ensure!(
                output.status.success(),
                "ping failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let report: serde_json::Value = serde_json::from_slice(&output.stdout)?;
            let field = |name: &str| report["rtt"][name].as_u64().unwrap_or(0);
            row.samples += field("samples");
            row.p50_ns.push(field("p50_ns"));
            row.p99_ns.push(field("p99_ns"));
            row.p999_ns.push(field("p999_ns"));
            row.lost += report["lost"].as_u64().unwrap_or(0);
        }
    }
    print_table(&rows, count, rounds);
    if let Some(path) = json {
        std::fs::write(path, serde_json::to_string_pretty(&rows)?)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn print_table(rows: &[Row], count: u64, rounds: u32) {
    let us = |ns: u64| ns as f64 / 1000.0;
    println!();
    println!(
        "UDP round trip, 64-byte payload, {count} samples x {rounds} rounds per responder; \
         medians over rounds of each round's percentile"
    );
    println!(
        "| responder | samples | p50 µs | p99 µs | p99.9 µs | lost | p50 vs socket busy-poll |"
    );
    println!("|---|---|---|---|---|---|---|");
    let socket_p50 = rows
        .iter()
        .find(|row| row.config == "socket busy-poll")
        .map_or(0, |row| median(&row.p50_ns));
    for row in rows {
        let p50 = median(&row.p50_ns);
        let ratio = if socket_p50 == 0 {
            f64::NAN
        } else {
            p50 as f64 / socket_p50 as f64
        };
        println!(
            "| {} | {} | {:.2} | {:.2} | {:.2} | {} | {ratio:.2}x |",
            row.config,
            row.samples,
            us(p50),
            us(median(&row.p99_ns)),
            us(median(&row.p999_ns)),
            row.lost
        );
    }
    if let Some(afxdp) = rows.iter().find(|row| row.config == "afxdp driver") {
        let ratio = median(&afxdp.p50_ns) as f64 / socket_p50.max(1) as f64;
        let verdict = if ratio <= 0.6 { "met" } else { "NOT met" };
        println!();
        println!("goal: AF_XDP p50 <= 0.6x socket busy-poll p50 -> {ratio:.2}x ({verdict})");
    }
}
