//! `/metrics` in the Prometheus text exposition format (0.0.4): the data plane's counters
//! and latency histogram from its latest statistics, and the control plane's own counters.
//! Names carry their unit; counters end in `_total`.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use tickwire_common::{Notional, Qty};
use tickwire_link::abi::{
    LATENCY_BUCKETS, RiskReason, StatCounter, Stats, latency_bucket_upper_ns, text_of,
};

use crate::api::{AppState, CONNECTED_WITHIN};

/// Data-plane counters: index, metric name (without prefix), help.
const COUNTERS: &[(StatCounter, &str, &str)] = &[
    (
        StatCounter::FeedPackets,
        "feed_packets_total",
        "Feed packets received.",
    ),
    (
        StatCounter::FeedMessages,
        "feed_messages_total",
        "Feed messages applied.",
    ),
    (
        StatCounter::FeedMalformed,
        "feed_malformed_packets_total",
        "Feed packets dropped as malformed.",
    ),
    (
        StatCounter::FeedGaps,
        "feed_gaps_total",
        "Feed sequence gaps detected.",
    ),
    (
        StatCounter::FeedGapsRecovered,
        "feed_gaps_recovered_total",
        "Feed gaps recovered.",
    ),
    (
        StatCounter::FeedGapsAbandoned,
        "feed_gaps_abandoned_total",
        "Feed gaps given up on.",
    ),
    (StatCounter::OrdersSent, "orders_sent_total", "Orders sent."),
    (
        StatCounter::OrdersAccepted,
        "orders_accepted_total",
        "Orders accepted by the venue.",
    ),
    (
        StatCounter::OrdersRejected,
        "orders_rejected_total",
        "Orders rejected by the venue.",
    ),
    (StatCounter::Fills, "fills_total", "Executions."),
    (
        StatCounter::CancelsSent,
        "cancels_sent_total",
        "Cancels sent.",
    ),
    (
        StatCounter::RiskRejects,
        "risk_rejects_all_total",
        "Orders refused by the risk gate, all reasons.",
    ),
    (
        StatCounter::AuditRecords,
        "audit_records_total",
        "Audit records written.",
    ),
    (
        StatCounter::AuditRingFull,
        "audit_ring_full_total",
        "Orders refused because the audit ring was full.",
    ),
    (
        StatCounter::IoRxDatagrams,
        "io_rx_datagrams_total",
        "Datagrams received.",
    ),
    (
        StatCounter::IoTxDatagrams,
        "io_tx_datagrams_total",
        "Datagrams sent.",
    ),
    (
        StatCounter::IoRxDropped,
        "io_rx_dropped_datagrams_total",
        "Datagrams dropped by the I/O backend.",
    ),
    (
        StatCounter::XdpSteered,
        "xdp_steered_frames_total",
        "Frames steered by XDP.",
    ),
    (
        StatCounter::XdpPassed,
        "xdp_passed_frames_total",
        "Frames passed by XDP.",
    ),
    (
        StatCounter::XdpMalformed,
        "xdp_malformed_frames_total",
        "Malformed frames seen by XDP.",
    ),
    (
        StatCounter::BookErrors,
        "book_errors_total",
        "Order book errors.",
    ),
    (
        StatCounter::VenueMessages,
        "venue_messages_total",
        "Venue messages received.",
    ),
    (
        StatCounter::VenueMalformed,
        "venue_malformed_messages_total",
        "Venue messages dropped as malformed.",
    ),
    (
        StatCounter::LoopIterations,
        "loop_iterations_total",
        "Engine loop iterations.",
    ),
];

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &str, value: impl std::fmt::Display) {
    if labels.is_empty() {
        let _ = writeln!(out, "{name} {value}");
    } else {
        let _ = writeln!(out, "{name}{{{labels}}} {value}");
    }
}

fn seconds_of_ns(ns: u64) -> String {
    // Exact decimal: ns with nine places.
    format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
}

/// Renders the data plane's part from its latest statistics.
pub fn render_stats(out: &mut String, stats: &Stats) {
    for (counter, name, help) in COUNTERS {
        let name = format!("tickwire_dataplane_{name}");
        family(out, &name, "counter", help);
        sample(out, &name, "", stats.counters[*counter as usize]);
    }
    let name = "tickwire_dataplane_risk_rejects_total";
    family(
        out,
        name,
        "counter",
        "Orders refused by the risk gate, by reason.",
    );
    for reason in RiskReason::ALL.iter().skip(1) {
        let labels = format!("reason=\"{}\"", reason.name());
        sample(out, name, &labels, stats.risk_rejects[*reason as usize]);
    }
    let name = "tickwire_dataplane_kill_switch";
    family(out, name, "gauge", "Kill switch state (1: on).");
    sample(
        out,
        name,
        "",
        stats.counters[StatCounter::KillSwitch as usize],
    );
    let name = "tickwire_dataplane_audit_sequence";
    family(
        out,
        name,
        "gauge",
        "Highest audit sequence written by the data plane.",
    );
    sample(out, name, "", stats.audit_seq);
    let name = "tickwire_dataplane_limits_version";
    family(
        out,
        name,
        "gauge",
        "Limits version in force in the data plane.",
    );
    sample(out, name, "", stats.limits_version);

    let name = "tickwire_dataplane_tick_to_order_latency_seconds";
    family(
        out,
        name,
        "histogram",
        "Tick-to-order latency. The sum is estimated from bucket midpoints (the data plane counts buckets only).",
    );
    let mut cumulative = 0u64;
    let mut sum_ns = 0u128;
    for bucket in 0..LATENCY_BUCKETS {
        let count = stats.latency_buckets[bucket];
        cumulative += count;
        let lower = if bucket == 0 {
            0
        } else {
            latency_bucket_upper_ns(bucket - 1)
        };
        let upper = latency_bucket_upper_ns(bucket);
        let midpoint = if bucket == LATENCY_BUCKETS - 1 {
            lower
        } else {
            lower + (upper - lower) / 2
        };
        sum_ns += u128::from(count) * u128::from(midpoint);
        let le = if bucket == LATENCY_BUCKETS - 1 {
            "+Inf".to_owned()
        } else {
            seconds_of_ns(upper)
        };
        sample(
            out,
            &format!("{name}_bucket"),
            &format!("le=\"{le}\""),
            cumulative,
        );
    }
    sample(
        out,
        &format!("{name}_sum"),
        "",
        seconds_of_ns(u64::try_from(sum_ns).unwrap_or(u64::MAX)),
    );
    sample(out, &format!("{name}_count"), "", cumulative);

    let positions: Vec<_> = stats
        .positions
        .iter()
        .filter(|position| position.symbol != [0; 8])
        .collect();
    let name = "tickwire_dataplane_position_quantity";
    family(
        out,
        name,
        "gauge",
        "Signed position, in units of the instrument.",
    );
    for position in &positions {
        let labels = format!("symbol=\"{}\"", text_of(&position.symbol));
        sample(out, name, &labels, Qty::from_raw(position.qty));
    }
    for (name, help, pick) in [
        (
            "tickwire_dataplane_realized_pnl_currency",
            "Realized PnL, in the quote currency.",
            (|position: &tickwire_link::abi::PositionRecord| position.realized_pnl)
                as fn(&_) -> i64,
        ),
        (
            "tickwire_dataplane_unrealized_pnl_currency",
            "Unrealized PnL at the mark, in the quote currency.",
            |position: &tickwire_link::abi::PositionRecord| position.unrealized_pnl,
        ),
    ] {
        family(out, name, "gauge", help);
        for position in &positions {
            let labels = format!("symbol=\"{}\"", text_of(&position.symbol));
            sample(out, name, &labels, Notional::from_raw(pick(position)));
        }
    }
}

/// Prometheus metrics (public).
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text exposition format 0.0.4", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::with_capacity(16 * 1024);
    let live = state.live();
    let inner = live.snapshot();

    let name = "tickwire_controlplane_uptime_seconds";
    family(
        &mut out,
        name,
        "gauge",
        "Seconds since the control plane started.",
    );
    sample(&mut out, name, "", state.uptime().as_secs());
    let name = "tickwire_controlplane_dataplane_connected";
    family(
        &mut out,
        name,
        "gauge",
        "1 when data-plane statistics arrived within 3 seconds.",
    );
    sample(
        &mut out,
        name,
        "",
        u8::from(live.connected(CONNECTED_WITHIN)),
    );
    let name = "tickwire_controlplane_stats_age_seconds";
    family(
        &mut out,
        name,
        "gauge",
        "Age of the latest data-plane statistics (-1: none yet).",
    );
    let age = inner.stats_at.map_or_else(
        || "-1".to_owned(),
        |at| seconds_of_ns(u64::try_from(at.elapsed().as_nanos()).unwrap_or(u64::MAX)),
    );
    sample(&mut out, name, "", age);
    let name = "tickwire_controlplane_limits_version";
    family(&mut out, name, "gauge", "Newest limits version published.");
    sample(&mut out, name, "", state.limits_version().await);

    let load = |cell: &std::sync::atomic::AtomicU64| cell.load(Ordering::Relaxed);
    for (name, kind, help, value) in [
        (
            "tickwire_controlplane_audit_stored_sequence",
            "gauge",
            "Highest audit sequence stored.",
            load(&live.stored_seq),
        ),
        (
            "tickwire_controlplane_audit_rows_stored_total",
            "counter",
            "Audit rows inserted (duplicates excluded).",
            load(&live.stored_rows),
        ),
        (
            "tickwire_controlplane_storage_batches_total",
            "counter",
            "Audit insert transactions committed.",
            load(&live.batches),
        ),
        (
            "tickwire_controlplane_storage_errors_total",
            "counter",
            "Audit insert attempts that failed (retried).",
            load(&live.storage_errors),
        ),
        (
            "tickwire_controlplane_audit_gaps_total",
            "counter",
            "Audit gaps: records the data plane no longer retained.",
            load(&live.gaps),
        ),
        (
            "tickwire_controlplane_audit_missing_records_total",
            "counter",
            "Audit records lost in gaps.",
            load(&live.missing_records),
        ),
    ] {
        family(&mut out, name, kind, help);
        sample(&mut out, name, "", value);
    }
    let name = "tickwire_controlplane_storage_batch_seconds_total";
    family(
        &mut out,
        name,
        "counter",
        "Time spent in audit insert transactions.",
    );
    sample(&mut out, name, "", seconds_of_ns(load(&live.batch_ns)));
    if let Some(link) = state.downlink().link_status() {
        for (name, help, value) in [
            (
                "tickwire_controlplane_link_audit_records_total",
                "Audit records received in order from the link.",
                link.audit_records,
            ),
            (
                "tickwire_controlplane_link_duplicates_total",
                "Duplicate audit records dropped.",
                link.duplicates,
            ),
            (
                "tickwire_controlplane_link_ahead_dropped_total",
                "Audit records dropped because they arrived after a gap (replayed).",
                link.ahead_dropped,
            ),
            (
                "tickwire_controlplane_link_replay_requests_total",
                "Audit replay requests sent.",
                link.replay_requests,
            ),
            (
                "tickwire_controlplane_link_stats_total",
                "Statistics snapshots received.",
                link.stats,
            ),
        ] {
            family(&mut out, name, "counter", help);
            sample(&mut out, name, "", value);
        }
    }
    let name = "tickwire_controlplane_http_requests_total";
    family(&mut out, name, "counter", "HTTP requests by status code.");
    for (code, count) in state.http_requests() {
        sample(&mut out, name, &format!("code=\"{code}\""), count);
    }
    let name = "tickwire_controlplane_mutations_total";
    family(
        &mut out,
        name,
        "counter",
        "Mutations made through the API, by action.",
    );
    for (action, count) in state.mutation_counts() {
        sample(&mut out, name, &format!("action=\"{action}\""), count);
    }
    if let Some(stats) = &inner.stats {
        render_stats(&mut out, stats);
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}
