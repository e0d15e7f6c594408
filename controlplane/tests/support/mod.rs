//! Shared helpers of the control plane's tests: an in-process app over real SQLite (or
//! PostgreSQL) driven with `oneshot`, a recording downlink, throwaway PostgreSQL clusters,
//! child processes killed on drop, a minimal HTTP client.
#![allow(dead_code, reason = "each test file uses a different subset")]

pub mod pg;
pub mod process;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use tickwire_controlplane::api::{AppState, Downlink, app};
use tickwire_controlplane::auth::{Authenticator, Role, TokenEntry, generate_token, hash_token};
use tickwire_controlplane::config::{Config, EXAMPLE};
use tickwire_controlplane::pipeline::{
    BatchConfig, LiveState, WriterMessage, link_sink, run_writer,
};
use tickwire_controlplane::storage::Storage;
use tickwire_link::abi::{Command, LimitsSnapshot};
use tickwire_link::transport::{LinkError, LinkEvent};
use tokio::sync::mpsc;
use tower::ServiceExt;

/// Records what the API sends to the data plane.
#[derive(Debug, Default)]
pub struct RecordingDownlink {
    pub limits: Mutex<Vec<LimitsSnapshot>>,
    pub commands: Mutex<Vec<Command>>,
}

impl Downlink for RecordingDownlink {
    fn publish_limits(&self, limits: &LimitsSnapshot) -> Result<usize, LinkError> {
        self.limits.lock().expect("lock").push(*limits);
        Ok(1)
    }
    fn send_command(&self, command: &Command) -> Result<usize, LinkError> {
        self.commands.lock().expect("lock").push(*command);
        Ok(1)
    }
}

/// Tokens of each role.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub viewer: String,
    pub trader: String,
    pub risk_admin: String,
}

impl Tokens {
    pub fn new() -> Self {
        Self {
            viewer: generate_token().expect("token"),
            trader: generate_token().expect("token"),
            risk_admin: generate_token().expect("token"),
        }
    }

    pub fn entries(&self) -> Vec<TokenEntry> {
        [
            ("vera", Role::Viewer, &self.viewer),
            ("tom", Role::Trader, &self.trader),
            ("rita", Role::RiskAdmin, &self.risk_admin),
        ]
        .into_iter()
        .map(|(name, role, token)| TokenEntry {
            name: name.to_owned(),
            role,
            sha256: hex::encode(hash_token(token)),
        })
        .collect()
    }

    pub fn of(&self, role: Role) -> &str {
        match role {
            Role::Viewer => &self.viewer,
            Role::Trader => &self.trader,
            Role::RiskAdmin => &self.risk_admin,
        }
    }
}

/// The link's event sink, as the link thread holds it.
pub type Sink = Box<dyn FnMut(LinkEvent) + Send>;

/// An app over a real storage with a recording downlink and a live writer.
pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub downlink: Arc<RecordingDownlink>,
    pub tokens: Tokens,
    pub storage: Storage,
    /// Feeds link events as the link thread would (blocking: call from a blocking task).
    pub sink: Arc<Mutex<Sink>>,
    pub writer: mpsc::Sender<WriterMessage>,
    _dir: Option<tempfile::TempDir>,
}

impl TestApp {
    /// Over a fresh SQLite file.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("audit.db").display());
        let mut app = Self::with_url(&url).await;
        app._dir = Some(dir);
        app
    }

    /// Over any storage URL.
    pub async fn with_url(url: &str) -> Self {
        let storage = Storage::connect(url, 4).await.expect("storage");
        let config = Config::parse(EXAMPLE, "example").expect("example");
        let live = Arc::new(LiveState::default());
        let downlink = Arc::new(RecordingDownlink::default());
        let tokens = Tokens::new();
        let state = AppState::new(
            storage.clone(),
            Authenticator::new(&tokens.entries()),
            Arc::clone(&downlink) as Arc<dyn Downlink>,
            Arc::clone(&live),
            &config.limits,
            config.strategies.clone(),
        )
        .await
        .expect("state");
        let (writer, messages) = mpsc::channel(64);
        tokio::spawn(run_writer(
            storage.clone(),
            messages,
            Arc::clone(&live),
            BatchConfig {
                rows: 1000,
                delay: std::time::Duration::from_millis(5),
            },
        ));
        let sink: Sink = Box::new(link_sink(writer.clone(), live));
        Self {
            router: app(state.clone()),
            state,
            downlink,
            tokens,
            storage,
            sink: Arc::new(Mutex::new(sink)),
            writer,
            _dir: None,
        }
    }

    /// Passes an event through the sink (as the link thread does) and waits until the
    /// writer has stored everything.
    pub async fn feed(&self, event: LinkEvent) {
        let sink = Arc::clone(&self.sink);
        tokio::task::spawn_blocking(move || (sink.lock().expect("sink"))(event))
            .await
            .expect("sink task");
        let (done, wait) = tokio::sync::oneshot::channel();
        self.writer
            .send(WriterMessage::Flush(done))
            .await
            .expect("writer");
        wait.await.expect("flush");
    }

    /// One request; returns the status and the body (JSON when it parses, else a string).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (StatusCode, serde_json::Value) {
        let (status, text) = self.call_text(method, path, token, body).await;
        let value = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (status, value)
    }

    pub async fn call_text(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (StatusCode, String) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .expect("request");
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("response");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 16 << 20)
            .await
            .expect("body");
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// A valid body for each mutating route (by method and path template).
pub fn sample_body(method: &Method, path: &str) -> Option<serde_json::Value> {
    let symbol = serde_json::json!({
        "symbol": "AAPL", "max_order_qty": "100", "max_order_notional": "10000",
        "max_long": "1000", "max_short": "1000", "max_open_notional": "50000",
        "max_open_orders": 5, "collar_bps": 0
    });
    let global = serde_json::json!({
        "max_order_qty": "500", "max_order_notional": "100000", "max_gross_notional": "1000000",
        "daily_loss_limit": "10000", "max_data_age_ms": 500, "collar_bps": 300,
        "orders_per_second": 50, "order_burst": 10
    });
    match (method.as_str(), path) {
        ("PUT", "/api/limits") => Some(serde_json::json!({
            "global": global, "symbols": [symbol], "strategy_kill": []
        })),
        ("PUT", "/api/limits/global") => Some(global),
        ("PUT", "/api/limits/symbols/{symbol}") => Some(symbol),
        ("POST" | "DELETE", "/api/kill") => Some(serde_json::json!({ "reason": "test" })),
        ("PUT", "/api/strategies/{index}/params") => {
            Some(serde_json::json!({ "params": [{ "index": 0, "value": 5 }] }))
        }
        _ => None,
    }
}

/// A concrete path for a template.
pub fn concrete(path: &str) -> String {
    path.replace("{symbol}", "AAPL").replace("{index}", "1")
}
