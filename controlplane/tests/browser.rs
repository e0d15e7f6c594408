//! The web control station in a real headless Chromium (driven through chromedriver with
//! fantoccini): enter a trader token, press kill with a reason, and see the command reach a
//! data-plane link peer and the page show the kill switch on.
//!
//! Skipped with a printed reason when chromium or chromedriver is missing, unless
//! `TICKWIRE_REQUIRE_BROWSER=1`, which makes that a failure.

mod support;

use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use support::Tokens;
use support::process::{Scratch, free_port};
use tickwire_controlplane::config::{Config, EXAMPLE};
use tickwire_link::abi::{AuditKind, AuditRecord, Command, CommandKind, StatCounter, text_of};
use tickwire_link::transport::{DataPlaneLink, LinkConfig};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver, killed on drop.
struct Driver(std::process::Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ignored = self.0.kill();
        let _ignored = self.0.wait();
    }
}

/// A data-plane peer on a thread: acknowledges kill commands with audit records and
/// statistics, and reports the commands it got.
fn peer(
    link: LinkConfig,
    stop: Arc<AtomicBool>,
    commands: mpsc::Sender<Command>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut dataplane = DataPlaneLink::open(&link, 1_000).expect("data-plane link");
        let mut seq = 0u64;
        let mut killed = false;
        let mut stats = tickwire_link::abi::Stats {
            ts_ns: 0,
            audit_seq: 0,
            limits_version: 0,
            counters: [0; tickwire_link::abi::STAT_COUNTERS],
            risk_rejects: [0; tickwire_link::abi::RISK_REASONS],
            latency_buckets: [0; tickwire_link::abi::LATENCY_BUCKETS],
            tops: [tickwire_link::abi::TopRecord {
                symbol: [0; 8],
                bid_price: i64::MIN,
                bid_qty: 0,
                ask_price: i64::MIN,
                ask_qty: 0,
                stale: 0,
                pad: 0,
            }; 32],
            positions: [tickwire_link::abi::PositionRecord {
                symbol: [0; 8],
                qty: 0,
                avg_price: 0,
                realized_pnl: 0,
                unrealized_pnl: 0,
                open_orders: 0,
                pad: 0,
            }; 32],
            strategy_enabled: [1; 16],
        };
        let mut last_stats = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            let mut received = Vec::new();
            dataplane
                .poll_commands(|command| received.push(*command))
                .expect("commands");
            for command in received {
                if CommandKind::from_raw(command.kind) == Some(CommandKind::Kill) {
                    killed = true;
                    seq += 1;
                    let mut ack = AuditRecord::new(AuditKind::KillSwitchOn);
                    ack.seq = seq;
                    ack.aux = i64::try_from(command.id).unwrap_or(0);
                    ack.actor[..16].copy_from_slice(&command.actor);
                    dataplane.publish_audit(&ack).expect("ack");
                }
                let _ignored = commands.send(command);
            }
            if let Some(limits) = dataplane.poll_limits().expect("limits") {
                stats.limits_version = limits.version;
            }
            dataplane.pump_replay().expect("replay");
            if last_stats.elapsed() >= Duration::from_millis(100) {
                last_stats = Instant::now();
                stats.audit_seq = seq;
                stats.counters[StatCounter::KillSwitch as usize] = u64::from(killed);
                dataplane.publish_stats(&stats).expect("stats");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    })
}

async fn text_of_element(client: &fantoccini::Client, id: &str) -> String {
    match client.find(Locator::Id(id)).await {
        Ok(element) => element.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_from_the_web_page_reaches_the_data_plane() {
    let required = std::env::var("TICKWIRE_REQUIRE_BROWSER").is_ok_and(|value| value == "1");
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        assert!(
            !required,
            "TICKWIRE_REQUIRE_BROWSER=1 but {CHROMIUM} or {CHROMEDRIVER} is missing"
        );
        eprintln!(
            "SKIPPED: {CHROMIUM} or {CHROMEDRIVER} missing (apt-get install chromium chromium-driver)"
        );
        return;
    }
    let scratch = Scratch::new("browser");
    let tokens = Tokens::new();
    let mut config = Config::parse(EXAMPLE, "example").expect("example");
    config.storage.url = format!("sqlite:{}", scratch.path("audit.db").display());
    config.link.service_prefix.clone_from(&scratch.tag);
    config.link.root_path = Some(scratch.iceoryx_root());
    config.link.file_prefix = Some(scratch.file_prefix());
    config.auth.tokens = tokens.entries();
    config.server.shutdown_grace_s = 1;
    let link = config.link.link_config();

    let stop = Arc::new(AtomicBool::new(false));
    let (commands_tx, commands) = mpsc::channel();
    let peer = peer(link, Arc::clone(&stop), commands_tx);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tickwire_controlplane::serve(config, listener, async move {
        let _ignored = shutdown_rx.await;
    }));

    let driver_port = free_port();
    let _driver = Driver(
        std::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={driver_port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("chromedriver"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", driver_port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let profile = scratch.path("chromium-profile");
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("webdriver session");

    async {
        client
            .goto(&format!("http://{address}/"))
            .await
            .expect("page");
        client
            .find(Locator::Id("token"))
            .await
            .expect("token field")
            .send_keys(&tokens.trader)
            .await
            .expect("type token");
        client
            .find(Locator::Id("connect"))
            .await
            .expect("connect")
            .click()
            .await
            .expect("click");
        let deadline = Instant::now() + Duration::from_secs(30);
        while text_of_element(&client, "kill-state").await != "trading" {
            assert!(
                Instant::now() < deadline,
                "the page never showed the live status"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        client
            .find(Locator::Id("reason"))
            .await
            .expect("reason field")
            .send_keys("browser kill")
            .await
            .expect("type reason");
        client
            .find(Locator::Id("kill"))
            .await
            .expect("kill")
            .click()
            .await
            .expect("click");

        let command =
            tokio::task::spawn_blocking(move || commands.recv_timeout(Duration::from_secs(30)))
                .await
                .expect("join")
                .expect("the kill command reached the data plane");
        assert_eq!(CommandKind::from_raw(command.kind), Some(CommandKind::Kill));
        assert_eq!(text_of(&command.actor), "tom");
        assert_eq!(text_of(&command.reason_text), "browser kill");
        let deadline = Instant::now() + Duration::from_secs(30);
        while text_of_element(&client, "kill-state").await != "KILLED" {
            assert!(Instant::now() < deadline, "the page never showed KILLED");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let result = text_of_element(&client, "kill-result").await;
        assert!(result.contains("delivered to 1"), "{result}");
    }
    .await;
    let _ignored = client.close().await;
    let _ignored = shutdown_tx.send(());
    server.await.expect("server task").expect("server");
    stop.store(true, Ordering::Relaxed);
    peer.join().expect("peer");
}
