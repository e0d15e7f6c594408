//! The REST API: routes, authentication and authorization, errors, OpenAPI document.
//!
//! `/`, `/api/health`, `/api/openapi.json` and `/metrics` are public (they carry no secrets
//! and no trading data beyond counters); every other route needs a bearer token, and the
//! role table in [`crate::auth`] decides what it may do. Every mutation is stored in the
//! append-only `mutations` table with its actor before it is sent to the data plane.
#![allow(
    unused_qualifications,
    reason = "utoipa's path macro expands `params(...)` types with qualified paths"
)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tickwire_common::{Notional, Price, Qty};
use tickwire_link::abi::{
    AuditKind, Command, CommandKind, LATENCY_BUCKETS, LimitsSnapshot, MAX_PARAMS, MAX_STRATEGIES,
    StatCounter, fixed_text, latency_bucket_upper_ns, text_of,
};
use tickwire_link::transport::{ControlLinkStatus, ControlPlaneLink, LinkError};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

use crate::auth::{Actor, AuthError, Authenticator, Role};
use crate::config::StrategyConfig;
use crate::limits::{FieldError, GlobalLimitsSpec, LimitsSpec, SymbolLimitsSpec, check_symbol};
use crate::pipeline::LiveState;
use crate::storage::{
    AuditFilter, AuditRow, LimitsRow, MutationRow, OrderRow, Storage, StorageError,
};

/// Statistics older than this mean the data plane is not connected.
pub const CONNECTED_WITHIN: Duration = Duration::from_secs(3);

/// What the API needs from the link: the control → data direction.
pub trait Downlink: Send + Sync + 'static {
    /// Publishes a limits snapshot; returns the data planes reached.
    ///
    /// # Errors
    /// [`LinkError`].
    fn publish_limits(&self, limits: &LimitsSnapshot) -> Result<usize, LinkError>;
    /// Sends a command; returns the data planes reached.
    ///
    /// # Errors
    /// [`LinkError`].
    fn send_command(&self, command: &Command) -> Result<usize, LinkError>;
    /// The receiving side's counters, if there is one.
    fn link_status(&self) -> Option<ControlLinkStatus> {
        None
    }
}

impl Downlink for ControlPlaneLink {
    fn publish_limits(&self, limits: &LimitsSnapshot) -> Result<usize, LinkError> {
        ControlPlaneLink::publish_limits(self, limits)
    }
    fn send_command(&self, command: &Command) -> Result<usize, LinkError> {
        ControlPlaneLink::send_command(self, command)
    }
    fn link_status(&self) -> Option<ControlLinkStatus> {
        Some(self.status())
    }
}

/// The limits in force (the newest version published).
#[derive(Debug, Clone)]
pub struct CurrentLimits {
    /// Version.
    pub version: u64,
    /// Limits.
    pub spec: LimitsSpec,
    /// Kill switch flag carried by the snapshot.
    pub kill: bool,
    /// Who published it.
    pub actor: String,
    /// When.
    pub ts_ns: i64,
}

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<StateInner>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("storage", &self.inner.storage.backend())
            .finish_non_exhaustive()
    }
}

struct StateInner {
    storage: Storage,
    auth: Authenticator,
    downlink: Arc<dyn Downlink>,
    live: Arc<LiveState>,
    limits: tokio::sync::Mutex<CurrentLimits>,
    strategies: Vec<StrategyConfig>,
    http_requests: Mutex<BTreeMap<u16, u64>>,
    mutations: Mutex<BTreeMap<&'static str, u64>>,
    started: Instant,
}

pub(crate) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_nanos()).unwrap_or(i64::MAX)
        })
}

impl AppState {
    /// Loads the newest limits from the storage (storing `initial` as version 1 when there
    /// are none) and publishes them, so a data plane connecting later gets them too.
    ///
    /// # Errors
    /// [`AppError`] when the storage fails or the stored limits do not parse.
    pub async fn new(
        storage: Storage,
        auth: Authenticator,
        downlink: Arc<dyn Downlink>,
        live: Arc<LiveState>,
        initial: &LimitsSpec,
        strategies: Vec<StrategyConfig>,
    ) -> Result<Self, AppError> {
        let current = match storage.latest_limits().await? {
            Some(row) => CurrentLimits {
                version: u64::try_from(row.version).unwrap_or(0),
                spec: serde_json::from_str(&row.spec)
                    .map_err(|error| AppError::Internal(format!("stored limits: {error}")))?,
                kill: row.kill != 0,
                actor: row.actor,
                ts_ns: row.ts_ns,
            },
            None => {
                let canonical = initial
                    .to_snapshot(1, "config", false)
                    .map(|snapshot| LimitsSpec::from_snapshot(&snapshot))?;
                let current = CurrentLimits {
                    version: 1,
                    spec: canonical,
                    kill: false,
                    actor: "config".to_owned(),
                    ts_ns: now_ns(),
                };
                storage.insert_limits(&limits_row(&current)?).await?;
                current
            }
        };
        let snapshot = current
            .spec
            .to_snapshot(current.version, &current.actor, current.kill)
            .map_err(|error| AppError::Internal(format!("stored limits: {error}")))?;
        let delivered = downlink.publish_limits(&snapshot)?;
        tracing::info!(version = current.version, delivered, "limits published");
        Ok(Self {
            inner: Arc::new(StateInner {
                storage,
                auth,
                downlink,
                live,
                limits: tokio::sync::Mutex::new(current),
                strategies,
                http_requests: Mutex::new(BTreeMap::new()),
                mutations: Mutex::new(BTreeMap::new()),
                started: Instant::now(),
            }),
        })
    }

    /// The storage.
    #[must_use]
    pub fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    /// The live state.
    #[must_use]
    pub fn live(&self) -> &Arc<LiveState> {
        &self.inner.live
    }

    pub(crate) fn downlink(&self) -> &Arc<dyn Downlink> {
        &self.inner.downlink
    }

    pub(crate) fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
    }

    pub(crate) fn http_requests(&self) -> BTreeMap<u16, u64> {
        self.inner
            .http_requests
            .lock()
            .map(|counts| counts.clone())
            .unwrap_or_default()
    }

    pub(crate) fn mutation_counts(&self) -> BTreeMap<&'static str, u64> {
        self.inner
            .mutations
            .lock()
            .map(|counts| counts.clone())
            .unwrap_or_default()
    }

    pub(crate) async fn limits_version(&self) -> u64 {
        self.inner.limits.lock().await.version
    }

    async fn record_mutation(
        &self,
        actor: &Actor,
        action: &'static str,
        details: &serde_json::Value,
    ) -> Result<i64, AppError> {
        let id = self
            .inner
            .storage
            .insert_mutation(
                now_ns(),
                &actor.name,
                actor.role.name(),
                action,
                &details.to_string(),
            )
            .await?;
        if let Ok(mut counts) = self.inner.mutations.lock() {
            *counts.entry(action).or_default() += 1;
        }
        tracing::info!(actor = %actor.name, role = actor.role.name(), action, id, "mutation");
        Ok(id)
    }

    /// Publishes a new limits version built by `change` from the current one.
    async fn change_limits(
        &self,
        actor: &Actor,
        action: &'static str,
        change: impl FnOnce(&mut CurrentLimits) -> Result<(), FieldError>,
    ) -> Result<LimitsChange, AppError> {
        let mut current = self.inner.limits.lock().await;
        let mut next = current.clone();
        change(&mut next)?;
        let (applied, acknowledged) = {
            let live = self.inner.live.snapshot();
            (
                live.stats.as_ref().map_or(0, |stats| stats.limits_version),
                live.limits_acknowledged,
            )
        };
        next.version = current.version.max(applied).max(acknowledged) + 1;
        next.actor.clone_from(&actor.name);
        next.ts_ns = now_ns();
        let snapshot = next
            .spec
            .to_snapshot(next.version, &actor.name, next.kill)?;
        // Keep the canonical form (normalized decimals) of what is published.
        next.spec = LimitsSpec::from_snapshot(&snapshot);
        let details = serde_json::json!({
            "version": next.version,
            "kill": next.kill,
            "limits": next.spec,
        });
        self.record_mutation(actor, action, &details).await?;
        self.inner
            .storage
            .insert_limits(&limits_row(&next)?)
            .await?;
        let delivered = self.inner.downlink.publish_limits(&snapshot)?;
        *current = next;
        Ok(LimitsChange {
            version: current.version,
            delivered,
            limits: current.spec.clone(),
        })
    }

    async fn command(
        &self,
        actor: &Actor,
        action: &'static str,
        details: serde_json::Value,
        build: impl FnOnce(&mut Command),
        kind: CommandKind,
    ) -> Result<CommandResponse, AppError> {
        let id = self.record_mutation(actor, action, &details).await?;
        let mut command = Command::new(kind);
        command.id = u64::try_from(id).unwrap_or(0);
        command.actor = fixed_text(&actor.name);
        build(&mut command);
        let delivered = self.inner.downlink.send_command(&command)?;
        Ok(CommandResponse {
            command_id: id,
            delivered,
            limits_version: None,
        })
    }
}

fn limits_row(current: &CurrentLimits) -> Result<LimitsRow, AppError> {
    Ok(LimitsRow {
        version: i64::try_from(current.version).unwrap_or(i64::MAX),
        ts_ns: current.ts_ns,
        actor: current.actor.clone(),
        kill: i32::from(current.kill),
        spec: serde_json::to_string(&current.spec)
            .map_err(|error| AppError::Internal(error.to_string()))?,
    })
}

/// Errors of the API, each with its status; 5xx bodies are generic and the detail is logged.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 401 or 403.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// 422 naming the field.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// 404.
    #[error("not found: {0}")]
    NotFound(String),
    /// 500 (detail logged, not returned).
    #[error("internal: {0}")]
    Internal(String),
}

impl From<StorageError> for AppError {
    fn from(error: StorageError) -> Self {
        Self::Internal(error.to_string())
    }
}

impl From<LinkError> for AppError {
    fn from(error: LinkError) -> Self {
        Self::Internal(error.to_string())
    }
}

/// The JSON body of every error.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// `unauthorized`, `forbidden`, `invalid`, `not_found`, `internal`.
    pub error: String,
    /// The offending field for `invalid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Human-readable detail (never for `internal`).
    pub message: String,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, error, field, message) = match self {
            Self::Auth(AuthError::Missing | AuthError::Unknown) => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                None,
                "a valid bearer token is required".to_owned(),
            ),
            Self::Auth(forbidden @ AuthError::Forbidden { .. }) => (
                StatusCode::FORBIDDEN,
                "forbidden",
                None,
                forbidden.to_string(),
            ),
            Self::Invalid(FieldError { field, reason }) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                Some(field.clone()),
                format!("{field}: {reason}"),
            ),
            Self::NotFound(what) => (StatusCode::NOT_FOUND, "not_found", None, what),
            Self::Internal(detail) => {
                tracing::error!(%detail, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    None,
                    "internal error".to_owned(),
                )
            }
        };
        let mut response = (
            status,
            Json(ErrorBody {
                error: error.to_owned(),
                field,
                message,
            }),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok());
        let actor = state.inner.auth.authenticate(header)?;
        parts.extensions.insert(actor.clone());
        Ok(actor)
    }
}

/// A JSON body whose errors are 422s naming the field.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| FieldError::new("body", rejection.body_text()))?;
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(&mut deserializer)
            .map(ApiJson)
            .map_err(|error| {
                let path = error.path().to_string();
                let field = if path == "." { "body".to_owned() } else { path };
                AppError::Invalid(FieldError::new(field, error.into_inner().to_string()))
            })
    }
}

/// Query parameters whose errors are 422s.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|rejection| AppError::Invalid(FieldError::new("query", rejection.body_text())))
    }
}

async fn log_requests(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    // The path only: query strings and headers (tokens) are never logged.
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    if let Ok(mut counts) = state.inner.http_requests.lock() {
        *counts.entry(status).or_default() += 1;
    }
    tracing::debug!(%method, %path, status, elapsed_us = started.elapsed().as_micros(), "request");
    response
}

/// Who may call a route (`None`: public).
#[derive(Debug, Clone)]
pub struct RouteSpec {
    /// HTTP method.
    pub method: Method,
    /// Path template as in the OpenAPI document.
    pub path: &'static str,
    /// Lowest role allowed, `None` for public routes.
    pub role: Option<Role>,
}

const fn route(method: Method, path: &'static str, role: Option<Role>) -> RouteSpec {
    RouteSpec { method, path, role }
}

/// Every route of [`app`] and who may call it.
pub const ROUTES: &[RouteSpec] = &[
    route(Method::GET, "/", None),
    route(Method::GET, "/metrics", None),
    route(Method::GET, "/api/health", None),
    route(Method::GET, "/api/openapi.json", None),
    route(Method::GET, "/api/status", Some(Role::Viewer)),
    route(Method::GET, "/api/limits", Some(Role::Viewer)),
    route(Method::PUT, "/api/limits", Some(Role::RiskAdmin)),
    route(Method::PUT, "/api/limits/global", Some(Role::RiskAdmin)),
    route(
        Method::GET,
        "/api/limits/symbols/{symbol}",
        Some(Role::Viewer),
    ),
    route(
        Method::PUT,
        "/api/limits/symbols/{symbol}",
        Some(Role::RiskAdmin),
    ),
    route(Method::POST, "/api/kill", Some(Role::Trader)),
    route(Method::DELETE, "/api/kill", Some(Role::RiskAdmin)),
    route(Method::GET, "/api/strategies", Some(Role::Viewer)),
    route(
        Method::POST,
        "/api/strategies/{index}/enable",
        Some(Role::Trader),
    ),
    route(
        Method::POST,
        "/api/strategies/{index}/disable",
        Some(Role::Trader),
    ),
    route(
        Method::PUT,
        "/api/strategies/{index}/params",
        Some(Role::Trader),
    ),
    route(Method::GET, "/api/orders", Some(Role::Viewer)),
    route(Method::GET, "/api/fills", Some(Role::Viewer)),
    route(Method::GET, "/api/positions", Some(Role::Viewer)),
    route(Method::GET, "/api/pnl", Some(Role::Viewer)),
    route(Method::GET, "/api/tops", Some(Role::Viewer)),
    route(Method::GET, "/api/audit", Some(Role::Viewer)),
    route(Method::GET, "/api/latency", Some(Role::Viewer)),
    route(Method::GET, "/api/mutations", Some(Role::Viewer)),
];

/// The router. Tests drive it with `tower::ServiceExt::oneshot`.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/metrics", get(crate::metrics::metrics))
        .route("/api/health", get(health))
        .route("/api/openapi.json", get(openapi))
        .route("/api/status", get(status))
        .route("/api/limits", get(get_limits).put(put_limits))
        .route("/api/limits/global", put(put_global_limits))
        .route(
            "/api/limits/symbols/{symbol}",
            get(get_symbol_limits).put(put_symbol_limits),
        )
        .route("/api/kill", post(kill).delete(unkill))
        .route("/api/strategies", get(strategies))
        .route("/api/strategies/{index}/enable", post(enable_strategy))
        .route("/api/strategies/{index}/disable", post(disable_strategy))
        .route("/api/strategies/{index}/params", put(strategy_params))
        .route("/api/orders", get(orders))
        .route("/api/fills", get(fills))
        .route("/api/positions", get(positions))
        .route("/api/pnl", get(pnl))
        .route("/api/tops", get(tops))
        .route("/api/audit", get(audit))
        .route("/api/latency", get(latency))
        .route("/api/mutations", get(mutations))
        .layer(middleware::from_fn_with_state(state.clone(), log_requests))
        .with_state(state)
}

/// The web control station.
async fn index() -> Html<&'static str> {
    Html(include_str!("../static/index.html"))
}

/// The OpenAPI document.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "tickwire control plane", description = "Risk limits, kill switch, strategies, audit trail and live state of a tickwire gateway."),
    paths(
        health, status, get_limits, put_limits, put_global_limits, get_symbol_limits,
        put_symbol_limits, kill, unkill, strategies, enable_strategy, disable_strategy,
        strategy_params, orders, fills, positions, pnl, tops, audit, latency, mutations,
        crate::metrics::metrics
    ),
    components(schemas(
        ErrorBody, HealthResponse, StatusResponse, LimitsResponse, LimitsChange, LimitsSpec,
        GlobalLimitsSpec, SymbolLimitsSpec, KillRequest, CommandResponse, StrategyView,
        ParamsRequest, ParamValue, OrderPage, OrderRow, AuditPage, AuditRow, PositionView,
        PositionsResponse, PnlResponse, TopView, LatencyResponse, LatencyBucket, MutationPage,
        MutationRow, Role
    )),
    modifiers(&BearerAuth),
    tags((name = "tickwire", description = "Control plane API"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// Liveness.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HealthResponse {
    /// Always `ok`.
    pub status: String,
}

/// Liveness (public).
#[utoipa::path(get, path = "/api/health", responses((status = 200, body = HealthResponse)))]
async fn health() -> Json<HealthResponse> {
    Json(HealthResponse {
        status: "ok".to_owned(),
    })
}

/// The state of the control plane and of the data plane as last reported.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatusResponse {
    /// Statistics arrived within the last 3 s.
    pub data_plane_connected: bool,
    /// Age of the latest statistics.
    pub stats_age_ms: Option<u64>,
    /// Kill switch as the data plane last reported it (statistics or audit trail).
    pub kill_switch: Option<bool>,
    /// Newest limits version published by the control plane.
    pub limits_version_published: u64,
    /// Limits version in force in the data plane.
    pub limits_version_applied: Option<u64>,
    /// Highest audit sequence the data plane reported.
    pub audit_seq_data_plane: Option<u64>,
    /// Highest audit sequence stored.
    pub audit_seq_stored: u64,
    /// Next sequence the link expects.
    pub audit_seq_next: Option<u64>,
    /// Gaps reported (records lost before they could be stored).
    pub audit_gaps: u64,
    /// Records in those gaps.
    pub audit_missing_records: u64,
    /// `sqlite` or `postgres`.
    pub storage: String,
    /// Seconds since start.
    pub uptime_s: u64,
}

/// Status of the control plane and the data plane.
#[utoipa::path(get, path = "/api/status", security(("bearer" = [])),
    responses((status = 200, body = StatusResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn status(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<Json<StatusResponse>, AppError> {
    actor.require(Role::Viewer)?;
    let live = state.inner.live.snapshot();
    let stats = live.stats.as_deref();
    let kill_switch = match (stats, live.kill_from_audit) {
        (_, Some(kill)) => Some(kill),
        (Some(stats), None) => Some(stats.counters[StatCounter::KillSwitch as usize] != 0),
        (None, None) => None,
    };
    Ok(Json(StatusResponse {
        data_plane_connected: state.inner.live.connected(CONNECTED_WITHIN),
        stats_age_ms: live
            .stats_at
            .map(|at| u64::try_from(at.elapsed().as_millis()).unwrap_or(u64::MAX)),
        kill_switch,
        limits_version_published: state.limits_version().await,
        limits_version_applied: stats.map(|stats| stats.limits_version),
        audit_seq_data_plane: stats.map(|stats| stats.audit_seq),
        audit_seq_stored: state
            .inner
            .live
            .stored_seq
            .load(std::sync::atomic::Ordering::Relaxed),
        audit_seq_next: state.inner.downlink.link_status().map(|link| link.next_seq),
        audit_gaps: state
            .inner
            .live
            .gaps
            .load(std::sync::atomic::Ordering::Relaxed),
        audit_missing_records: state
            .inner
            .live
            .missing_records
            .load(std::sync::atomic::Ordering::Relaxed),
        storage: state.inner.storage.backend().to_owned(),
        uptime_s: state.uptime().as_secs(),
    }))
}

/// The limits in force.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LimitsResponse {
    /// Version.
    pub version: u64,
    /// Kill switch flag carried by the snapshot.
    pub kill: bool,
    /// Who published it.
    pub actor: String,
    /// When, ns since the Unix epoch.
    pub ts_ns: i64,
    /// The limits.
    pub limits: LimitsSpec,
}

/// A limits change.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LimitsChange {
    /// The new version.
    pub version: u64,
    /// Data planes reached now (a data plane connecting later gets it too).
    pub delivered: usize,
    /// The limits now in force.
    pub limits: LimitsSpec,
}

/// Current limits.
#[utoipa::path(get, path = "/api/limits", security(("bearer" = [])),
    responses((status = 200, body = LimitsResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn get_limits(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<Json<LimitsResponse>, AppError> {
    actor.require(Role::Viewer)?;
    let current = state.inner.limits.lock().await.clone();
    Ok(Json(LimitsResponse {
        version: current.version,
        kill: current.kill,
        actor: current.actor,
        ts_ns: current.ts_ns,
        limits: current.spec,
    }))
}

/// Replaces all limits (risk-admin).
#[utoipa::path(put, path = "/api/limits", security(("bearer" = [])), request_body = LimitsSpec,
    responses((status = 200, body = LimitsChange), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_limits(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(spec): ApiJson<LimitsSpec>,
) -> Result<Json<LimitsChange>, AppError> {
    actor.require(Role::RiskAdmin)?;
    spec.to_snapshot_parts()?;
    let change = state
        .change_limits(&actor, "limits_put", |current| {
            current.spec = spec;
            Ok(())
        })
        .await?;
    Ok(Json(change))
}

/// Replaces the global limits (risk-admin).
#[utoipa::path(put, path = "/api/limits/global", security(("bearer" = [])), request_body = GlobalLimitsSpec,
    responses((status = 200, body = LimitsChange), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_global_limits(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(global): ApiJson<GlobalLimitsSpec>,
) -> Result<Json<LimitsChange>, AppError> {
    actor.require(Role::RiskAdmin)?;
    let change = state
        .change_limits(&actor, "limits_global_put", |current| {
            current.spec.global = global;
            current.spec.to_snapshot_parts().map(|_| ())
        })
        .await?;
    Ok(Json(change))
}

/// Limits of one symbol.
#[utoipa::path(get, path = "/api/limits/symbols/{symbol}", security(("bearer" = [])),
    params(("symbol" = String, Path, description = "Symbol")),
    responses((status = 200, body = SymbolLimitsSpec), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_symbol_limits(
    State(state): State<AppState>,
    actor: Actor,
    Path(symbol): Path<String>,
) -> Result<Json<SymbolLimitsSpec>, AppError> {
    actor.require(Role::Viewer)?;
    let current = state.inner.limits.lock().await;
    current
        .spec
        .symbols
        .iter()
        .find(|limits| limits.symbol == symbol)
        .cloned()
        .map(Json)
        .ok_or_else(|| AppError::NotFound(format!("no limits for symbol {symbol}")))
}

/// Sets the limits of one symbol, adding it if new (risk-admin).
#[utoipa::path(put, path = "/api/limits/symbols/{symbol}", security(("bearer" = [])),
    params(("symbol" = String, Path, description = "Symbol")), request_body = SymbolLimitsSpec,
    responses((status = 200, body = LimitsChange), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_symbol_limits(
    State(state): State<AppState>,
    actor: Actor,
    Path(symbol): Path<String>,
    ApiJson(limits): ApiJson<SymbolLimitsSpec>,
) -> Result<Json<LimitsChange>, AppError> {
    actor.require(Role::RiskAdmin)?;
    check_symbol("symbol", &symbol)?;
    if limits.symbol != symbol {
        return Err(FieldError::new("symbol", "must equal the symbol in the path").into());
    }
    limits.to_abi("")?;
    let change = state
        .change_limits(&actor, "limits_symbol_put", |current| {
            match current
                .spec
                .symbols
                .iter_mut()
                .find(|other| other.symbol == symbol)
            {
                Some(slot) => *slot = limits,
                None => current.spec.symbols.push(limits),
            }
            current.spec.to_snapshot_parts().map(|_| ())
        })
        .await?;
    Ok(Json(change))
}

/// Why the kill switch is set or reset.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KillRequest {
    /// 1 to 56 bytes.
    #[schema(example = "runaway strategy")]
    pub reason: String,
}

fn check_reason(reason: &str) -> Result<(), FieldError> {
    if reason.trim().is_empty() || reason.len() > 56 {
        return Err(FieldError::new("reason", "1 to 56 bytes"));
    }
    Ok(())
}

/// The result of a command.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CommandResponse {
    /// Id of the mutation row; the data plane echoes it in its acknowledgement's `aux`.
    pub command_id: i64,
    /// Data planes the command reached now (0: none connected).
    pub delivered: usize,
    /// For kill / unkill: the limits version that now carries the kill flag.
    pub limits_version: Option<u64>,
}

async fn kill_switch(
    state: &AppState,
    actor: &Actor,
    on: bool,
    reason: &str,
) -> Result<CommandResponse, AppError> {
    check_reason(reason)?;
    let (action, kind) = if on {
        ("kill", CommandKind::Kill)
    } else {
        ("unkill", CommandKind::Unkill)
    };
    let mut response = state
        .command(
            actor,
            action,
            serde_json::json!({ "reason": reason }),
            |command| command.reason_text = fixed_text(reason),
            kind,
        )
        .await?;
    // The flag also travels in the limits snapshot, so a data plane that (re)connects
    // later starts in the right state.
    let change = state
        .change_limits(
            actor,
            if on { "kill_limits" } else { "unkill_limits" },
            |current| {
                current.kill = on;
                Ok(())
            },
        )
        .await?;
    response.limits_version = Some(change.version);
    Ok(response)
}

/// Trips the kill switch (trader or risk-admin).
#[utoipa::path(post, path = "/api/kill", security(("bearer" = [])), request_body = KillRequest,
    responses((status = 202, body = CommandResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn kill(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(request): ApiJson<KillRequest>,
) -> Result<(StatusCode, Json<CommandResponse>), AppError> {
    actor.require(Role::Trader)?;
    let response = kill_switch(&state, &actor, true, &request.reason).await?;
    Ok((StatusCode::ACCEPTED, Json(response)))
}

/// Resets the kill switch (risk-admin).
#[utoipa::path(delete, path = "/api/kill", security(("bearer" = [])), request_body = KillRequest,
    responses((status = 202, body = CommandResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn unkill(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(request): ApiJson<KillRequest>,
) -> Result<(StatusCode, Json<CommandResponse>), AppError> {
    actor.require(Role::RiskAdmin)?;
    let response = kill_switch(&state, &actor, false, &request.reason).await?;
    Ok((StatusCode::ACCEPTED, Json(response)))
}

/// A strategy.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StrategyView {
    /// Engine index.
    pub index: u16,
    /// Configured name.
    pub name: String,
    /// Enabled, as the data plane last reported.
    pub enabled: Option<bool>,
    /// Its own kill switch in the limits in force.
    pub killed: bool,
}

/// Configured strategies and their state.
#[utoipa::path(get, path = "/api/strategies", security(("bearer" = [])),
    responses((status = 200, body = [StrategyView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn strategies(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<Json<Vec<StrategyView>>, AppError> {
    actor.require(Role::Viewer)?;
    let live = state.inner.live.snapshot();
    let killed = state.inner.limits.lock().await.spec.strategy_kill.clone();
    Ok(Json(
        state
            .inner
            .strategies
            .iter()
            .map(|strategy| StrategyView {
                index: strategy.index,
                name: strategy.name.clone(),
                enabled: live.stats.as_ref().and_then(|stats| {
                    stats
                        .strategy_enabled
                        .get(usize::from(strategy.index))
                        .map(|flag| *flag != 0)
                }),
                killed: killed.contains(&strategy.index),
            })
            .collect(),
    ))
}

fn strategy_index(index: &str) -> Result<u16, FieldError> {
    index
        .parse::<u16>()
        .ok()
        .filter(|index| usize::from(*index) < MAX_STRATEGIES)
        .ok_or_else(|| FieldError::new("index", "a strategy index 0..15"))
}

async fn strategy_switch(
    state: &AppState,
    actor: &Actor,
    index: &str,
    enable: bool,
) -> Result<CommandResponse, AppError> {
    let index = strategy_index(index)?;
    let (action, kind) = if enable {
        ("strategy_enable", CommandKind::EnableStrategy)
    } else {
        ("strategy_disable", CommandKind::DisableStrategy)
    };
    state
        .command(
            actor,
            action,
            serde_json::json!({ "strategy": index }),
            |command| command.strategy = index,
            kind,
        )
        .await
}

/// Enables a strategy (trader or risk-admin).
#[utoipa::path(post, path = "/api/strategies/{index}/enable", security(("bearer" = [])),
    params(("index" = u16, Path, description = "Strategy index")),
    responses((status = 202, body = CommandResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn enable_strategy(
    State(state): State<AppState>,
    actor: Actor,
    Path(index): Path<String>,
) -> Result<(StatusCode, Json<CommandResponse>), AppError> {
    actor.require(Role::Trader)?;
    let response = strategy_switch(&state, &actor, &index, true).await?;
    Ok((StatusCode::ACCEPTED, Json(response)))
}

/// Disables a strategy; its working orders are canceled (trader or risk-admin).
#[utoipa::path(post, path = "/api/strategies/{index}/disable", security(("bearer" = [])),
    params(("index" = u16, Path, description = "Strategy index")),
    responses((status = 202, body = CommandResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn disable_strategy(
    State(state): State<AppState>,
    actor: Actor,
    Path(index): Path<String>,
) -> Result<(StatusCode, Json<CommandResponse>), AppError> {
    actor.require(Role::Trader)?;
    let response = strategy_switch(&state, &actor, &index, false).await?;
    Ok((StatusCode::ACCEPTED, Json(response)))
}

/// One strategy parameter.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParamValue {
    /// Parameter slot, 0..7.
    pub index: u8,
    /// Raw value (fixed-point or integer, per strategy).
    pub value: i64,
}

/// Strategy parameters to set.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParamsRequest {
    /// 1 to 8 parameters, each slot at most once.
    pub params: Vec<ParamValue>,
}

/// Sets strategy parameters (trader or risk-admin).
#[utoipa::path(put, path = "/api/strategies/{index}/params", security(("bearer" = [])),
    params(("index" = u16, Path, description = "Strategy index")), request_body = ParamsRequest,
    responses((status = 202, body = CommandResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn strategy_params(
    State(state): State<AppState>,
    actor: Actor,
    Path(index): Path<String>,
    ApiJson(request): ApiJson<ParamsRequest>,
) -> Result<(StatusCode, Json<CommandResponse>), AppError> {
    actor.require(Role::Trader)?;
    let strategy = strategy_index(&index)?;
    if request.params.is_empty() || request.params.len() > MAX_PARAMS {
        return Err(FieldError::new("params", "1 to 8 parameters").into());
    }
    let mut mask = 0u32;
    let mut values = [0i64; MAX_PARAMS];
    for (position, param) in request.params.iter().enumerate() {
        let slot = usize::from(param.index);
        if slot >= MAX_PARAMS {
            return Err(FieldError::new(format!("params[{position}].index"), "0..7").into());
        }
        if mask & (1 << slot) != 0 {
            return Err(FieldError::new(format!("params[{position}].index"), "set twice").into());
        }
        mask |= 1 << slot;
        values[slot] = param.value;
    }
    let details = serde_json::json!({ "strategy": strategy, "params": request.params });
    let response = state
        .command(
            &actor,
            "strategy_params",
            details,
            |command| {
                command.strategy = strategy;
                command.param_mask = mask;
                command.params = values;
            },
            CommandKind::SetParams,
        )
        .await?;
    Ok((StatusCode::ACCEPTED, Json(response)))
}

/// Page parameters of orders and fills.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// Return rows after this sequence (the previous page's `next_after_seq`).
    pub after_seq: Option<i64>,
    /// Rows per page, 1..=1000 (default 100).
    pub limit: Option<i64>,
    /// Only this symbol.
    pub symbol: Option<String>,
}

fn page_limit(limit: Option<i64>) -> Result<i64, FieldError> {
    let limit = limit.unwrap_or(100);
    if (1..=1000).contains(&limit) {
        Ok(limit)
    } else {
        Err(FieldError::new("limit", "between 1 and 1000"))
    }
}

/// A page of orders.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderPage {
    /// Orders, oldest first.
    pub items: Vec<OrderRow>,
    /// Pass as `after_seq` for the next page; absent on the last page.
    pub next_after_seq: Option<i64>,
}

/// Orders derived from the audit trail (intents with their latest venue status).
#[utoipa::path(get, path = "/api/orders", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = OrderPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn orders(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<OrderPage>, AppError> {
    actor.require(Role::Viewer)?;
    let limit = page_limit(params.limit)?;
    let items = state
        .inner
        .storage
        .orders(
            params.after_seq.unwrap_or(0),
            params.symbol.as_deref(),
            limit,
        )
        .await?;
    let next_after_seq = (items.len() == usize::try_from(limit).unwrap_or(0))
        .then(|| items.last().map(|row| row.seq))
        .flatten();
    Ok(Json(OrderPage {
        items,
        next_after_seq,
    }))
}

/// A page of audit rows.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    /// Rows in the requested order.
    pub items: Vec<AuditRow>,
    /// Ascending: pass as `after_seq` for the next page.
    pub next_after_seq: Option<i64>,
    /// Descending: pass as `before_seq` for the next page.
    pub next_before_seq: Option<i64>,
}

/// Fills (venue executions) from the audit trail.
#[utoipa::path(get, path = "/api/fills", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = AuditPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn fills(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<AuditPage>, AppError> {
    actor.require(Role::Viewer)?;
    let filter = AuditFilter {
        after_seq: params.after_seq,
        symbol: params.symbol,
        kind_codes: vec![AuditKind::VenueExecuted as i32],
        limit: page_limit(params.limit)?,
        ..AuditFilter::default()
    };
    audit_page(&state, &filter).await.map(Json)
}

async fn audit_page(state: &AppState, filter: &AuditFilter) -> Result<AuditPage, AppError> {
    let items = state.inner.storage.audit(filter).await?;
    let full = items.len() == usize::try_from(filter.limit).unwrap_or(0);
    let last = items.last().map(|row| row.seq).filter(|_| full);
    Ok(AuditPage {
        next_after_seq: last.filter(|_| !filter.descending),
        next_before_seq: last.filter(|_| filter.descending),
        items,
    })
}

/// Audit query parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// seq > after_seq (ascending pages).
    pub after_seq: Option<i64>,
    /// seq < before_seq (descending pages).
    pub before_seq: Option<i64>,
    /// seq >= from_seq.
    pub from_seq: Option<i64>,
    /// seq <= to_seq.
    pub to_seq: Option<i64>,
    /// ts_ns >= from_ts_ns.
    pub from_ts_ns: Option<i64>,
    /// ts_ns <= to_ts_ns.
    pub to_ts_ns: Option<i64>,
    /// Exact symbol.
    pub symbol: Option<String>,
    /// Kind name (`order_intent`, `venue_executed`, ...).
    pub kind: Option<String>,
    /// `asc` (default) or `desc`.
    pub order: Option<String>,
    /// 1..=1000 (default 100).
    pub limit: Option<i64>,
}

/// Audit records by sequence, time, symbol and kind, paginated.
#[utoipa::path(get, path = "/api/audit", security(("bearer" = [])), params(AuditParams),
    responses((status = 200, body = AuditPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn audit(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> Result<Json<AuditPage>, AppError> {
    actor.require(Role::Viewer)?;
    let descending = match params.order.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(FieldError::new("order", "asc or desc").into()),
    };
    let kind_codes = match params.kind.as_deref() {
        None => Vec::new(),
        Some(name) => vec![
            AuditKind::ALL
                .into_iter()
                .find(|kind| kind.name() == name)
                .map(|kind| kind as i32)
                .ok_or_else(|| {
                    FieldError::new("kind", "an audit kind name such as order_intent")
                })?,
        ],
    };
    let filter = AuditFilter {
        after_seq: params.after_seq,
        before_seq: params.before_seq,
        from_seq: params.from_seq,
        to_seq: params.to_seq,
        from_ts_ns: params.from_ts_ns,
        to_ts_ns: params.to_ts_ns,
        symbol: params.symbol,
        kind_codes,
        descending,
        limit: page_limit(params.limit)?,
    };
    audit_page(&state, &filter).await.map(Json)
}

/// A position.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PositionView {
    /// Symbol.
    pub symbol: String,
    /// Signed quantity (decimal).
    pub qty: String,
    /// Average entry price (decimal).
    pub avg_price: String,
    /// Realized PnL (decimal).
    pub realized_pnl: String,
    /// Unrealized PnL at the mark (decimal).
    pub unrealized_pnl: String,
    /// Open orders.
    pub open_orders: u32,
}

/// Positions as the data plane last reported.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PositionsResponse {
    /// Time of the statistics they come from (ns since the epoch; absent before any).
    pub ts_ns: Option<u64>,
    /// Positions.
    pub positions: Vec<PositionView>,
}

/// Positions.
#[utoipa::path(get, path = "/api/positions", security(("bearer" = [])),
    responses((status = 200, body = PositionsResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn positions(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<Json<PositionsResponse>, AppError> {
    actor.require(Role::Viewer)?;
    let live = state.inner.live.snapshot();
    let positions = live.stats.as_ref().map_or_else(Vec::new, |stats| {
        stats
            .positions
            .iter()
            .filter(|position| position.symbol != [0; 8])
            .map(|position| PositionView {
                symbol: text_of(&position.symbol).to_owned(),
                qty: Qty::from_raw(position.qty).to_string(),
                avg_price: Price::from_raw(position.avg_price).to_string(),
                realized_pnl: Notional::from_raw(position.realized_pnl).to_string(),
                unrealized_pnl: Notional::from_raw(position.unrealized_pnl).to_string(),
                open_orders: position.open_orders,
            })
            .collect()
    });
    Ok(Json(PositionsResponse {
        ts_ns: live.stats.as_ref().map(|stats| stats.ts_ns),
        positions,
    }))
}

/// Profit and loss.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PnlResponse {
    /// Realized, all symbols (decimal).
    pub realized: String,
    /// Unrealized, all symbols (decimal).
    pub unrealized: String,
    /// Realized + unrealized (decimal).
    pub total: String,
}

/// PnL summed over symbols.
#[utoipa::path(get, path = "/api/pnl", security(("bearer" = [])),
    responses((status = 200, body = PnlResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn pnl(State(state): State<AppState>, actor: Actor) -> Result<Json<PnlResponse>, AppError> {
    actor.require(Role::Viewer)?;
    let live = state.inner.live.snapshot();
    let (realized, unrealized) = live.stats.as_ref().map_or((0i64, 0i64), |stats| {
        stats
            .positions
            .iter()
            .filter(|position| position.symbol != [0; 8])
            .fold((0i64, 0i64), |(realized, unrealized), position| {
                (
                    realized.saturating_add(position.realized_pnl),
                    unrealized.saturating_add(position.unrealized_pnl),
                )
            })
    });
    Ok(Json(PnlResponse {
        realized: Notional::from_raw(realized).to_string(),
        unrealized: Notional::from_raw(unrealized).to_string(),
        total: Notional::from_raw(realized.saturating_add(unrealized)).to_string(),
    }))
}

/// A top of book.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TopView {
    /// Symbol.
    pub symbol: String,
    /// Best bid (decimal), absent when the side is empty.
    pub bid_price: Option<String>,
    /// Bid quantity (decimal).
    pub bid_qty: String,
    /// Best ask (decimal), absent when the side is empty.
    pub ask_price: Option<String>,
    /// Ask quantity (decimal).
    pub ask_qty: String,
    /// 0 fresh, otherwise a staleness code.
    pub stale: u32,
}

/// Tops of book as the data plane last reported.
#[utoipa::path(get, path = "/api/tops", security(("bearer" = [])),
    responses((status = 200, body = [TopView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn tops(State(state): State<AppState>, actor: Actor) -> Result<Json<Vec<TopView>>, AppError> {
    actor.require(Role::Viewer)?;
    let live = state.inner.live.snapshot();
    let price = |raw: i64| (raw != i64::MIN).then(|| Price::from_raw(raw).to_string());
    Ok(Json(live.stats.as_ref().map_or_else(Vec::new, |stats| {
        stats
            .tops
            .iter()
            .filter(|top| top.symbol != [0; 8])
            .map(|top| TopView {
                symbol: text_of(&top.symbol).to_owned(),
                bid_price: price(top.bid_price),
                bid_qty: Qty::from_raw(top.bid_qty).to_string(),
                ask_price: price(top.ask_price),
                ask_qty: Qty::from_raw(top.ask_qty).to_string(),
                stale: top.stale,
            })
            .collect()
    })))
}

/// One histogram bucket.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LatencyBucket {
    /// Upper bound (exclusive), ns; absent for the open-ended last bucket.
    pub upper_ns: Option<u64>,
    /// Observations in this bucket (not cumulative).
    pub count: u64,
}

/// The tick-to-order latency histogram.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LatencyResponse {
    /// Observations.
    pub count: u64,
    /// Upper bound of the bucket holding the median, ns.
    pub p50_ns: Option<u64>,
    /// Upper bound of the bucket holding the 99th percentile, ns.
    pub p99_ns: Option<u64>,
    /// Buckets, lowest first.
    pub buckets: Vec<LatencyBucket>,
}

/// The upper bound (ns) of the bucket holding the `permille`/1000 quantile of `buckets`.
#[must_use]
pub fn quantile_upper_ns(buckets: &[u64; LATENCY_BUCKETS], permille: u64) -> Option<u64> {
    let total: u128 = buckets.iter().map(|count| u128::from(*count)).sum();
    if total == 0 {
        return None;
    }
    let mut seen = 0u128;
    for (bucket, count) in buckets.iter().enumerate() {
        seen += u128::from(*count);
        if seen * 1000 >= u128::from(permille) * total {
            // The open-ended bucket has no upper bound: report its lower one.
            let bound = if bucket == LATENCY_BUCKETS - 1 {
                latency_bucket_upper_ns(bucket - 1)
            } else {
                latency_bucket_upper_ns(bucket)
            };
            return Some(bound);
        }
    }
    None
}

/// Latency histogram with p50 and p99.
#[utoipa::path(get, path = "/api/latency", security(("bearer" = [])),
    responses((status = 200, body = LatencyResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn latency(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<Json<LatencyResponse>, AppError> {
    actor.require(Role::Viewer)?;
    let live = state.inner.live.snapshot();
    let buckets = live
        .stats
        .as_ref()
        .map_or([0; LATENCY_BUCKETS], |stats| stats.latency_buckets);
    Ok(Json(LatencyResponse {
        count: buckets.iter().sum(),
        p50_ns: quantile_upper_ns(&buckets, 500),
        p99_ns: quantile_upper_ns(&buckets, 990),
        buckets: buckets
            .iter()
            .enumerate()
            .map(|(bucket, count)| LatencyBucket {
                upper_ns: (bucket < LATENCY_BUCKETS - 1).then(|| latency_bucket_upper_ns(bucket)),
                count: *count,
            })
            .collect(),
    }))
}

/// Mutation page parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MutationParams {
    /// Rows with id > after_id.
    pub after_id: Option<i64>,
    /// 1..=1000 (default 100).
    pub limit: Option<i64>,
}

/// A page of mutations.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MutationPage {
    /// Oldest first.
    pub items: Vec<MutationRow>,
    /// Pass as `after_id` for the next page.
    pub next_after_id: Option<i64>,
}

/// Every mutation made through the API, with its actor.
#[utoipa::path(get, path = "/api/mutations", security(("bearer" = [])), params(MutationParams),
    responses((status = 200, body = MutationPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn mutations(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(params): ApiQuery<MutationParams>,
) -> Result<Json<MutationPage>, AppError> {
    actor.require(Role::Viewer)?;
    let limit = page_limit(params.limit)?;
    let items = state
        .inner
        .storage
        .mutations(params.after_id.unwrap_or(0), limit)
        .await?;
    let next_after_id = (items.len() == usize::try_from(limit).unwrap_or(0))
        .then(|| items.last().map(|row| row.id))
        .flatten();
    Ok(Json(MutationPage {
        items,
        next_after_id,
    }))
}
