//! The link across real processes: the scripted data plane (`tickwire-link-fake`) in a child
//! process, the control-plane side in this process or in `tickwire-link-sink` children.

mod support;

use std::sync::mpsc;
use std::time::Duration;

use support::{AsUser, ChildGuard, Scratch, WAIT, fake_bin, is_root, sink_bin, wait_until};
use tickwire_link::abi::{
    AuditKind, AuditRecord, Command, CommandKind, GlobalLimits, LimitsSnapshot, MAX_STRATEGIES,
    MAX_SYMBOLS, SymbolLimits, fixed_text, text_of,
};
use tickwire_link::fake::read_log;
use tickwire_link::transport::{ControlPlaneLink, LinkEvent};

fn limits(version: u64, max_order_qty: i64) -> LimitsSnapshot {
    LimitsSnapshot {
        version,
        actor: fixed_text("risk-alice"),
        global: GlobalLimits {
            max_order_qty,
            max_order_notional: 0,
            max_gross_notional: 0,
            daily_loss_limit: 0,
            max_data_age_ns: 0,
            collar_bps: 500,
            orders_per_second: 0,
            order_burst: 0,
            kill: 0,
        },
        symbols: [SymbolLimits::UNUSED; MAX_SYMBOLS],
        strategy_kill: [0; MAX_STRATEGIES],
    }
}

/// Collects what an in-process [`ControlPlaneLink`] passes on.
struct Collector {
    events: mpsc::Receiver<LinkEvent>,
    records: Vec<AuditRecord>,
    gaps: Vec<(u64, u64)>,
    stats: usize,
}

impl Collector {
    fn spawn(scratch: &Scratch, last_stored: u64) -> (ControlPlaneLink, Self) {
        let (tx, events) = mpsc::channel();
        let link = ControlPlaneLink::spawn(&scratch.link, last_stored, move |event| {
            let _ignored = tx.send(event);
        })
        .expect("control-plane link");
        (
            link,
            Self {
                events,
                records: Vec::new(),
                gaps: Vec::new(),
                stats: 0,
            },
        )
    }

    fn drain(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            match event {
                LinkEvent::Audit(records) => self.records.extend(records),
                LinkEvent::AuditGap {
                    first_missing,
                    last_missing,
                } => self.gaps.push((first_missing, last_missing)),
                LinkEvent::Stats(_) => self.stats += 1,
                LinkEvent::SequenceBehind { .. } => panic!("unexpected SequenceBehind"),
            }
        }
    }

    fn wait_for_seq(&mut self, seq: u64) {
        wait_until(&format!("audit seq {seq}"), WAIT, || {
            self.drain();
            self.records.last().is_some_and(|record| record.seq >= seq)
        });
    }
}

fn assert_contiguous(records: &[AuditRecord], first: u64) {
    for (offset, record) in records.iter().enumerate() {
        assert_eq!(record.seq, first + offset as u64, "records out of order");
    }
}

fn fake_args(scratch: &Scratch, extra: &[&str]) -> Vec<String> {
    let mut args = scratch.link_args();
    args.extend(extra.iter().map(|arg| (*arg).to_owned()));
    args
}

#[test]
fn stream_arrives_in_order_and_a_late_data_plane_gets_the_newest_limits() {
    let scratch = Scratch::new("order");
    let (link, mut collector) = Collector::spawn(&scratch, 0);
    // Published before any data plane exists: history must carry the newest one over.
    link.publish_limits(&limits(4, 1)).expect("limits 4");
    link.publish_limits(&limits(5, 77)).expect("limits 5");
    let log = scratch.path("fake.log");
    let mut fake = ChildGuard::spawn(
        "fake",
        &fake_bin(),
        &fake_args(
            &scratch,
            &["--count", "20000", "--log", log.to_str().expect("utf-8")],
        ),
        AsUser::Me,
    );
    let applied = fake.wait_line("limits ", WAIT);
    assert!(applied.contains("version=5"), "{applied}");
    assert!(applied.contains("max_order_qty=77"), "{applied}");
    fake.wait_line("done", WAIT);
    // 20000 scripted records + the LimitsApplied acknowledgement.
    collector.wait_for_seq(20_001);
    let published = read_log(&log).expect("fake log");
    assert_eq!(published.len(), 20_001);
    assert_eq!(
        collector.records, published,
        "received exactly what was published"
    );
    assert_contiguous(&collector.records, 1);
    assert!(collector.gaps.is_empty());
    let ack = published
        .iter()
        .find(|record| record.audit_kind() == Some(AuditKind::LimitsApplied))
        .expect("limits acknowledged");
    assert_eq!(ack.limits_version, 5);
    assert_eq!(text_of(&ack.actor), "risk-alice");
    wait_until("statistics", WAIT, || {
        collector.drain();
        collector.stats > 0
    });
    link.shutdown();
}

#[test]
fn commands_reach_the_data_plane_and_are_acknowledged_with_the_actor() {
    let scratch = Scratch::new("commands");
    let (link, mut collector) = Collector::spawn(&scratch, 0);
    let mut fake = ChildGuard::spawn(
        "fake",
        &fake_bin(),
        &fake_args(&scratch, &["--count", "10"]),
        AsUser::Me,
    );
    fake.wait_line("done", WAIT);
    collector.wait_for_seq(10);
    let mut kill = Command::new(CommandKind::Kill);
    kill.id = 42;
    kill.actor = fixed_text("trader-bob");
    kill.reason_text = fixed_text("fat finger");
    wait_until("kill delivered", WAIT, || {
        link.send_command(&kill).expect("send") > 0
    });
    let line = fake.wait_line("command kind=kill_switch_on", WAIT);
    assert!(
        line.contains("id=42") && line.contains("actor=trader-bob"),
        "{line}"
    );
    assert!(line.contains("reason=fat_finger"), "{line}");
    collector.wait_for_seq(11);
    let ack = collector.records[10];
    assert_eq!(ack.audit_kind(), Some(AuditKind::KillSwitchOn));
    assert_eq!(ack.aux, 42);
    assert_eq!(text_of(&ack.actor), "trader-bob");
    link.shutdown();
}

#[test]
fn a_gap_is_reported_when_the_ring_no_longer_holds_the_records() {
    let scratch = Scratch::new("gap");
    let mut fake = ChildGuard::spawn(
        "fake",
        &fake_bin(),
        &fake_args(&scratch, &["--count", "5000", "--ring", "100"]),
        AsUser::Me,
    );
    fake.wait_line("done", WAIT);
    // The control plane starts late: the data plane keeps only 4901..=5000.
    let (link, mut collector) = Collector::spawn(&scratch, 0);
    collector.wait_for_seq(5_000);
    let replay = fake.wait_line("replay ", WAIT);
    assert!(replay.contains("after=0 first=4901 gap=1-4900"), "{replay}");
    assert_eq!(collector.gaps, vec![(1, 4_900)]);
    assert_eq!(collector.records.len(), 100);
    assert_contiguous(&collector.records, 4_901);
    let status = link.status();
    assert_eq!(status.gaps, 1);
    assert_eq!(status.missing_records, 4_900);
    assert_eq!(status.next_seq, 5_001);
    link.shutdown();
}

/// The sink is killed with SIGKILL in the middle of a stream and restarted; it resumes after
/// the last record it wrote and, in the end, holds exactly what the data plane published.
fn replay_after_a_control_plane_restart(user: AsUser) {
    let scratch = Scratch::new("restart");
    let log = scratch.path("fake.log");
    let out = scratch.path("sink.out");
    let (fake_program, sink_program) = match user {
        AsUser::Nobody => (scratch.install(&fake_bin()), scratch.install(&sink_bin())),
        AsUser::Me => (fake_bin(), sink_bin()),
    };
    let mut fake = ChildGuard::spawn(
        "fake",
        &fake_program,
        &fake_args(
            &scratch,
            &[
                "--count",
                "60000",
                "--rate",
                "30000",
                "--ring",
                "100000",
                "--log",
                log.to_str().expect("utf-8"),
            ],
        ),
        user,
    );
    let ready = fake.wait_line("ready", WAIT);
    if user == AsUser::Nobody {
        assert_eq!(ready, "ready uid=65534", "the data plane runs as nobody");
    }
    let sink_args = {
        let mut args = scratch.link_args();
        args.extend(["--out".to_owned(), out.to_str().expect("utf-8").to_owned()]);
        args
    };
    let stored = || read_log(&out).expect("sink output");
    let mut sink = ChildGuard::spawn("sink-1", &sink_program, &sink_args, user);
    sink.wait_line("ready", WAIT);
    wait_until("the first sink to store 10000 records", WAIT, || {
        stored().len() >= 10_000
    });
    sink.kill9();
    let after_crash = stored();
    assert!(after_crash.len() < 60_000, "the crash came mid-stream");
    assert_contiguous(&after_crash, 1);
    std::thread::sleep(Duration::from_millis(300));
    let mut sink = ChildGuard::spawn("sink-2", &sink_program, &sink_args, user);
    let ready = sink.wait_line("ready", WAIT);
    assert_eq!(
        ready,
        format!("ready last_seq={}", after_crash.last().map_or(0, |r| r.seq))
    );
    fake.wait_line("done", WAIT);
    wait_until("the second sink to store everything", WAIT, || {
        stored().len() >= 60_000
    });
    let status = sink.finish(WAIT);
    assert!(status.success(), "sink exit: {status}");
    let published = read_log(&log).expect("fake log");
    assert_eq!(published.len(), 60_000);
    let stored = stored();
    assert_eq!(stored.len(), published.len(), "count");
    assert!(stored == published, "content differs");
    assert!(
        !sink.lines().iter().any(|line| line.starts_with("gap")),
        "no gap with a large enough ring"
    );
}

#[test]
fn replay_after_a_control_plane_kill_9_loses_nothing() {
    replay_after_a_control_plane_restart(AsUser::Me);
}

#[test]
fn both_sides_as_the_unprivileged_user_nobody() {
    if !is_root() {
        eprintln!("SKIPPED: not root, cannot switch both processes to nobody with setpriv");
        return;
    }
    replay_after_a_control_plane_restart(AsUser::Nobody);
}

#[test]
fn a_restarted_data_plane_is_picked_up_without_restarting_the_control_plane() {
    let scratch = Scratch::new("dp-restart");
    let (link, mut collector) = Collector::spawn(&scratch, 0);
    link.publish_limits(&limits(3, 5)).expect("limits");
    let mut fake = ChildGuard::spawn(
        "fake-1",
        &fake_bin(),
        &fake_args(&scratch, &["--count", "1000"]),
        AsUser::Me,
    );
    fake.wait_line("done", WAIT);
    // 1000 scripted + the LimitsApplied acknowledgement.
    collector.wait_for_seq(1_001);
    fake.kill9();
    // The new process resumes the sequence (the engine must) and gets the limits again.
    let mut fake = ChildGuard::spawn(
        "fake-2",
        &fake_bin(),
        &fake_args(&scratch, &["--count", "500", "--start-seq", "1002"]),
        AsUser::Me,
    );
    let applied = fake.wait_line("limits ", WAIT);
    assert!(applied.contains("version=3"), "{applied}");
    fake.wait_line("done", WAIT);
    collector.wait_for_seq(1_502);
    assert_contiguous(&collector.records, 1);
    assert!(collector.gaps.is_empty());
    link.shutdown();
}
