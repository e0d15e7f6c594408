//! `tickwire-controlplane`: the part of tickwire a risk manager and an operator touch.
//!
//! An unprivileged tokio service: the REST API and web control station ([`api`]), risk limits
//! ([`limits`]), bearer-token auth ([`auth`]), audit storage in SQLite or PostgreSQL
//! ([`storage`]) fed through a batching writer ([`pipeline`]) from the data-plane link
//! ([`tickwire_link::transport::ControlPlaneLink`]), and Prometheus metrics ([`metrics`]).
//! It never slows the data plane (the link is shared memory the data plane only publishes
//! into) and never loses an audit record (sequence numbers, replay from the data plane's
//! retained ring, inserts keyed by sequence).
#![deny(unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod config;
pub mod limits;
pub mod metrics;
pub mod pipeline;
pub mod storage;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tickwire_link::transport::{ControlPlaneLink, LinkError};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::api::{AppError, AppState, Downlink, app};
use crate::auth::Authenticator;
use crate::config::Config;
use crate::pipeline::{BatchConfig, LiveState, link_sink, run_writer};
use crate::storage::{Storage, StorageError};

/// Errors of running the service.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The storage could not be opened or migrated.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// The link could not be opened.
    #[error("data-plane link: {0}")]
    Link(#[from] LinkError),
    /// Loading the state failed.
    #[error("state: {0}")]
    State(#[from] AppError),
    /// The listener failed.
    #[error("listener: {0}")]
    Listen(#[source] std::io::Error),
}

/// Binds `config.server.listen` and runs until `shutdown` completes; see [`serve`].
///
/// # Errors
/// [`RunError`].
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let listener = TcpListener::bind(&config.server.listen)
        .await
        .map_err(RunError::Listen)?;
    serve(config, listener, shutdown).await
}

/// Opens the storage, the link and the writer, serves the API on `listener` until `shutdown`
/// completes, then drains: requests in flight finish (up to `server.shutdown_grace_s`), the
/// link passes on what it has received, the writer stores it, the pool closes.
///
/// # Errors
/// [`RunError`].
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let storage = Storage::connect(&config.storage.url, config.storage.max_connections).await?;
    let last_seq = storage.last_seq().await?;
    let live = Arc::new(LiveState::default());
    live.stored_seq
        .store(last_seq, std::sync::atomic::Ordering::Relaxed);
    let (writer_tx, writer_rx) = mpsc::channel(64);
    let writer = tokio::spawn(run_writer(
        storage.clone(),
        writer_rx,
        Arc::clone(&live),
        BatchConfig {
            rows: config.storage.batch_rows,
            delay: Duration::from_millis(config.storage.batch_ms),
        },
    ));
    let link = Arc::new(ControlPlaneLink::spawn(
        &config.link.link_config(),
        last_seq,
        link_sink(writer_tx, Arc::clone(&live)),
    )?);
    tracing::info!(
        storage = storage.backend(),
        last_seq,
        prefix = %config.link.service_prefix,
        "link open; replay requested after the last stored sequence"
    );
    let state = AppState::new(
        storage.clone(),
        Authenticator::new(&config.auth.tokens),
        Arc::clone(&link) as Arc<dyn Downlink>,
        Arc::clone(&live),
        &config.limits,
        config.strategies.clone(),
    )
    .await?;
    let address = listener.local_addr().map_err(RunError::Listen)?;
    tracing::info!(%address, "listening");
    println!("listening on {address}");
    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, app(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ignored = stopped_tx.send(());
        })
        .into_future();
    let grace = Duration::from_secs(config.server.shutdown_grace_s);
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => result.map_err(RunError::Listen)?,
        () = async {
            let _ignored = stopped_rx.await;
            tokio::time::sleep(grace).await;
        } => tracing::warn!("requests still in flight after the grace period; closing"),
    }
    tracing::info!("draining the link and flushing the storage");
    let stopper = Arc::clone(&link);
    let _ignored = tokio::task::spawn_blocking(move || stopper.stop()).await;
    drop(link);
    if writer.await.is_err() {
        tracing::error!("the audit writer panicked");
    }
    storage.close().await;
    tracing::info!(
        stored_seq = live.stored_seq.load(std::sync::atomic::Ordering::Relaxed),
        "stopped"
    );
    Ok(())
}
