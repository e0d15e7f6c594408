//! The data plane's configuration: one TOML file (see `dataplane/config/` for complete
//! examples and `README.md` for every key).
//!
//! Parsing rejects unknown keys and names the offending key; [`DataPlaneConfig::validate`]
//! checks meaning (ranges, references between sections) and names the field as a path such
//! as `symbols[1].tick`. Prices and quantities are decimal strings, parsed exactly into the
//! fixed-point types. The venue password is a [`Secret`]: it never appears in `Debug`
//! output or logs.

use std::{collections::BTreeMap, fmt, net::SocketAddrV4, path::Path};

use serde::Deserialize;
use tickwire_common::{Price, Qty};
use tickwire_link::abi::{
    GlobalLimits, LimitsSnapshot, MAX_STRATEGIES, MAX_SYMBOLS, SymbolLimits, fixed_text,
};

use crate::{io::BackendChoice, xdp::AttachMode};

/// A configuration problem, naming the field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {error}")]
    Read {
        /// File.
        path: String,
        /// Cause.
        error: std::io::Error,
    },
    /// The TOML does not parse or has unknown/missing keys (the message names the key).
    #[error("{path}: {message}")]
    Parse {
        /// File.
        path: String,
        /// Parser message, with line and key.
        message: String,
    },
    /// A value is out of range or inconsistent.
    #[error("{field}: {message}")]
    Invalid {
        /// Field path, e.g. `symbols[1].tick`.
        field: String,
        /// What is wrong.
        message: String,
    },
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// A string that must never be printed.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The value, for the one place that sends it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataPlaneConfig {
    /// The engine loop.
    #[serde(default)]
    pub engine: EngineConfig,
    /// Packet I/O.
    pub io: IoSection,
    /// Market-data feeds.
    pub feeds: Vec<FeedConfig>,
    /// The venue order-entry session.
    pub venue: VenueConfig,
    /// Traded symbols.
    pub symbols: Vec<SymbolConfig>,
    /// Strategies.
    #[serde(default)]
    pub strategies: Vec<StrategyConfig>,
    /// Initial risk limits (version 0; the control plane publishes later versions).
    pub limits: LimitsConfig,
    /// The link to the control plane.
    #[serde(default)]
    pub link: LinkConfig,
}

/// `[engine]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Core to pin the engine thread to.
    pub core: Option<usize>,
    /// Live orders at once.
    pub max_orders: usize,
    /// Live orders per symbol.
    pub max_orders_per_symbol: usize,
    /// Audit ring capacity (records).
    pub audit_ring: usize,
    /// Statistics period, ms.
    pub stats_interval_ms: u64,
    /// Intents a strategy may emit per event.
    pub max_intents_per_event: usize,
    /// A book without updates for this long is stale (ms; 0: never).
    pub max_quiet_ms: u64,
    /// Lock all memory (`mlockall`), which needs CAP_IPC_LOCK.
    pub lock_memory: bool,
    /// Orders still working at shutdown are canceled; wait this long for the venue's acks.
    pub shutdown_timeout_ms: u64,
    /// The local, append-only audit log (JSON lines). A restarted data plane continues the
    /// audit sequence after its last record; required when the link is enabled.
    /// `run --audit-log` overrides it.
    pub audit_log: Option<std::path::PathBuf>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            core: None,
            max_orders: 4096,
            max_orders_per_symbol: 256,
            audit_ring: 1 << 16,
            stats_interval_ms: 1000,
            max_intents_per_event: 64,
            max_quiet_ms: 0,
            lock_memory: true,
            shutdown_timeout_ms: 2000,
            audit_log: None,
        }
    }
}

/// `[io]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IoSection {
    /// Interface.
    pub iface: String,
    /// `auto`, `afxdp` or `socket`.
    #[serde(default)]
    pub backend: BackendChoice,
    /// `auto`, `driver` or `skb`.
    #[serde(default)]
    pub xdp_mode: AttachMode,
    /// NIC rx queue.
    #[serde(default)]
    pub queue: u32,
    /// UMEM frames.
    #[serde(default = "default_frame_count")]
    pub frame_count: u32,
    /// UMEM frame size (2048 or 4096).
    #[serde(default = "default_frame_size")]
    pub frame_size: u32,
    /// AF_XDP ring size (power of two).
    #[serde(default = "default_ring_size")]
    pub ring_size: u32,
    /// Datagrams per batch.
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// `SO_BUSY_POLL` µs for the socket backend.
    pub busy_poll_us: Option<u32>,
}

const fn default_frame_count() -> u32 {
    4096
}
const fn default_frame_size() -> u32 {
    2048
}
const fn default_ring_size() -> u32 {
    2048
}
const fn default_batch() -> usize {
    64
}

/// Feed protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeedKind {
    /// NASDAQ TotalView-ITCH 5.0 over MoldUDP64.
    ItchMoldudp64,
    /// Binance spot JSON: one message per datagram, or fragmented in relay framing (see
    /// `feed::binance`); one L2 book per symbol, synchronised by an in-band snapshot. Only
    /// `name` and `listen` apply; symbols are matched to the stream's `s` case-insensitively.
    Binance,
}

/// `[[feeds]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// Name, referenced by `symbols[].feed`.
    pub name: String,
    /// Protocol.
    pub kind: FeedKind,
    /// Address and port the feed arrives on (a multicast group is joined; `0.0.0.0`: any).
    pub listen: SocketAddrV4,
    /// MoldUDP64 retransmission server.
    pub retransmit: Option<SocketAddrV4>,
    /// Local port retransmission requests are sent from (answers arrive there).
    pub request_port: Option<u16>,
    /// First sequence expected (1: recover the whole session).
    #[serde(default = "default_start_sequence")]
    pub start_sequence: u64,
    /// Re-request an open gap after this long (ms).
    #[serde(default = "default_gap_request_timeout_ms")]
    pub gap_request_timeout_ms: u64,
    /// Give a gap up after this long (ms).
    #[serde(default = "default_gap_give_up_ms")]
    pub gap_give_up_ms: u64,
    /// Requests per gap before giving up.
    #[serde(default = "default_gap_max_requests")]
    pub gap_max_requests: u32,
    /// Out-of-order packets held while a gap is open.
    #[serde(default = "default_max_buffered_packets")]
    pub max_buffered_packets: usize,
    /// A reference to an order the book never saw marks the book inconsistent (stale for
    /// trading). Keep `true` for live feeds recovered from the session start; `false` for
    /// replays of files that start mid-day or reference orders they never add.
    #[serde(default = "default_true")]
    pub strict_references: bool,
}

const fn default_start_sequence() -> u64 {
    1
}
const fn default_gap_request_timeout_ms() -> u64 {
    20
}
const fn default_gap_give_up_ms() -> u64 {
    1000
}
const fn default_gap_max_requests() -> u32 {
    10
}
const fn default_max_buffered_packets() -> usize {
    1024
}

/// Order-entry transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VenueProtocol {
    /// OUCH over UFO (UDP; through the packet I/O backend, AF_XDP when available).
    Ufo,
    /// OUCH over SoupBinTCP (a kernel TCP socket).
    Soupbintcp,
}

/// `[venue]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueConfig {
    /// Transport.
    pub protocol: VenueProtocol,
    /// Order-entry server.
    pub server: SocketAddrV4,
    /// Local UDP port (UFO).
    #[serde(default = "default_local_port")]
    pub local_port: u16,
    /// Login name (at most 6 characters).
    pub username: String,
    /// Login password (at most 10 characters); never logged.
    pub password: Secret,
    /// Session to join (blank: the current one).
    #[serde(default)]
    pub session: String,
    /// OUCH firm identifier (at most 4 characters).
    #[serde(default = "default_firm")]
    pub firm: String,
    /// Send a heartbeat after this much silence (ms).
    #[serde(default = "default_heartbeat_interval_ms")]
    pub heartbeat_interval_ms: u64,
    /// The session is lost after this much silence from the venue (ms): cancel-on-disconnect.
    #[serde(default = "default_heartbeat_timeout_ms")]
    pub heartbeat_timeout_ms: u64,
    /// Resend unacknowledged client messages after this long (ms).
    #[serde(default = "default_retransmit_timeout_ms")]
    pub retransmit_timeout_ms: u64,
}

const fn default_local_port() -> u16 {
    27_001
}
fn default_firm() -> String {
    "TKWR".into()
}
const fn default_heartbeat_interval_ms() -> u64 {
    1000
}
const fn default_heartbeat_timeout_ms() -> u64 {
    15_000
}
const fn default_retransmit_timeout_ms() -> u64 {
    200
}

/// `[[symbols]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymbolConfig {
    /// Symbol (at most 8 characters), as on the feed.
    pub name: String,
    /// Price increment (decimal).
    #[serde(default = "default_tick")]
    pub tick: String,
    /// The feed carrying it.
    pub feed: String,
    /// Symbol at the venue, if different.
    pub venue_symbol: Option<String>,
}

fn default_tick() -> String {
    "0.01".into()
}

/// `[[strategies]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyConfig {
    /// Instance name (API and audit).
    pub name: String,
    /// Built-in kind: `market_maker`, `mean_reversion`, `ma_crossover`, `breakout`.
    pub kind: String,
    /// Symbols traded.
    pub symbols: Vec<String>,
    /// Start enabled.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Parameters by name: integers, or decimal strings for prices and quantities.
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
}

const fn default_true() -> bool {
    true
}

/// `[limits]`: the initial limits snapshot.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest order quantity (decimal).
    pub max_order_qty: String,
    /// Largest order notional (decimal).
    pub max_order_notional: String,
    /// Largest gross notional (decimal).
    pub max_gross_notional: String,
    /// Daily loss that trips the kill switch (decimal, positive).
    pub daily_loss_limit: String,
    /// Book older than this is stale for trading (ms; 0: no age check).
    #[serde(default)]
    pub max_data_age_ms: u64,
    /// Collar in basis points.
    pub collar_bps: u32,
    /// Sustained order rate.
    pub orders_per_second: u32,
    /// Order burst.
    pub order_burst: u32,
    /// Per-symbol limits.
    #[serde(default)]
    pub symbols: Vec<SymbolLimitsConfig>,
}

/// `[[limits.symbols]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymbolLimitsConfig {
    /// Symbol.
    pub symbol: String,
    /// Largest long position (decimal).
    pub max_long: String,
    /// Largest short position (decimal, positive).
    pub max_short: String,
    /// Most open orders.
    pub max_open_orders: u32,
    /// Largest open notional (decimal).
    pub max_open_notional: String,
    /// Override of the order quantity limit (decimal).
    pub max_order_qty: Option<String>,
    /// Override of the order notional limit (decimal).
    pub max_order_notional: Option<String>,
    /// Override of the collar (bps).
    pub collar_bps: Option<u32>,
}

/// `[link]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkConfig {
    /// Connect to the control plane.
    pub enabled: bool,
    /// Service name prefix (both sides must agree).
    pub service_prefix: String,
    /// Audit records kept for replay to a (re)connecting control plane.
    pub retained_records: usize,
    /// iceoryx2's directory for node and service files (default: iceoryx2's own,
    /// `/tmp/iceoryx2/`); the control plane must use the same.
    pub root_path: Option<String>,
    /// Prefix of iceoryx2's files and `/dev/shm` objects (default: iceoryx2's, `iox2_`).
    pub file_prefix: Option<String>,
    /// Audit records the control plane's subscriber buffers (must match its `audit_buffer`).
    pub audit_buffer: usize,
    /// Most retained records re-sent per link round during a replay.
    pub replay_batch: usize,
}

impl Default for LinkConfig {
    fn default() -> Self {
        let transport = tickwire_link::transport::LinkConfig::default();
        Self {
            enabled: true,
            service_prefix: transport.service_prefix,
            retained_records: 100_000,
            root_path: None,
            file_prefix: None,
            audit_buffer: transport.audit_buffer,
            replay_batch: transport.replay_batch,
        }
    }
}

impl LinkConfig {
    /// The transport's configuration.
    #[must_use]
    pub fn transport(&self) -> tickwire_link::transport::LinkConfig {
        tickwire_link::transport::LinkConfig {
            service_prefix: self.service_prefix.clone(),
            root_path: self.root_path.clone(),
            file_prefix: self.file_prefix.clone(),
            audit_buffer: self.audit_buffer,
            replay_batch: self.replay_batch,
        }
    }
}

/// Space-padded fixed symbol.
///
/// # Errors
/// If longer than 8 bytes, empty, or not printable ASCII.
pub fn symbol_bytes(name: &str) -> Result<[u8; 8], String> {
    if name.is_empty() || name.len() > 8 || !name.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err(format!("{name:?}: 1 to 8 printable ASCII characters"));
    }
    let mut symbol = [b' '; 8];
    symbol[..name.len()].copy_from_slice(name.as_bytes());
    Ok(symbol)
}

fn decimal<T>(
    field: &str,
    text: &str,
    parse: fn(&[u8]) -> Result<T, tickwire_common::FixedError>,
) -> Result<T, ConfigError> {
    parse(text.as_bytes()).map_err(|error| invalid(field, format!("{text:?}: {error}")))
}

fn positive_price(field: &str, text: &str) -> Result<Price, ConfigError> {
    let price = decimal(field, text, Price::from_decimal)?;
    if !price.is_positive() {
        return Err(invalid(field, "must be positive"));
    }
    Ok(price)
}

fn non_negative_qty(field: &str, text: &str) -> Result<Qty, ConfigError> {
    let qty = decimal(field, text, Qty::from_decimal)?;
    if qty.raw() < 0 {
        return Err(invalid(field, "must not be negative"));
    }
    Ok(qty)
}

impl DataPlaneConfig {
    /// Reads and validates a file.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file and the key or field.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.display().to_string(),
            error,
        })?;
        let config = Self::parse(&text).map_err(|error| match error {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.display().to_string(),
                message,
            },
            other => other,
        })?;
        Ok(config)
    }

    /// Parses and validates TOML text.
    ///
    /// # Errors
    /// [`ConfigError`] naming the key or field.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text).map_err(|error| ConfigError::Parse {
            path: "<config>".into(),
            message: error.to_string().replace('\n', " "),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks ranges and cross-references.
    ///
    /// # Errors
    /// The first [`ConfigError::Invalid`] found.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let engine = &self.engine;
        if engine.max_orders == 0 || engine.max_orders > 1 << 16 {
            return Err(invalid("engine.max_orders", "between 1 and 65536"));
        }
        if engine.max_orders_per_symbol == 0 {
            return Err(invalid("engine.max_orders_per_symbol", "must be positive"));
        }
        if engine.audit_ring < 1024 {
            return Err(invalid("engine.audit_ring", "at least 1024 records"));
        }
        if engine.stats_interval_ms == 0 {
            return Err(invalid("engine.stats_interval_ms", "must be positive"));
        }
        if engine.max_intents_per_event == 0 {
            return Err(invalid("engine.max_intents_per_event", "must be positive"));
        }
        let io = &self.io;
        if io.iface.is_empty() {
            return Err(invalid("io.iface", "must not be empty"));
        }
        if !matches!(io.frame_size, 2048 | 4096) {
            return Err(invalid("io.frame_size", "2048 or 4096"));
        }
        if !io.ring_size.is_power_of_two() {
            return Err(invalid("io.ring_size", "a power of two"));
        }
        if io.batch == 0 || io.batch > 1024 {
            return Err(invalid("io.batch", "between 1 and 1024"));
        }
        if self.feeds.is_empty() {
            return Err(invalid("feeds", "at least one feed"));
        }
        for (index, feed) in self.feeds.iter().enumerate() {
            let field = |name: &str| format!("feeds[{index}].{name}");
            if feed.name.is_empty() {
                return Err(invalid(field("name"), "must not be empty"));
            }
            if self.feeds[..index]
                .iter()
                .any(|other| other.name == feed.name)
            {
                return Err(invalid(
                    field("name"),
                    format!("duplicate feed {:?}", feed.name),
                ));
            }
            if feed.kind == FeedKind::ItchMoldudp64 && feed.retransmit.is_none() {
                return Err(invalid(
                    field("retransmit"),
                    "required for itch-moldudp64 feeds",
                ));
            }
            if feed.max_buffered_packets == 0 {
                return Err(invalid(field("max_buffered_packets"), "must be positive"));
            }
        }
        let venue = &self.venue;
        if venue.username.is_empty() || venue.username.len() > 6 {
            return Err(invalid("venue.username", "1 to 6 characters"));
        }
        if venue.password.expose().len() > 10 {
            return Err(invalid("venue.password", "at most 10 characters"));
        }
        if venue.session.len() > 10 {
            return Err(invalid("venue.session", "at most 10 characters"));
        }
        if venue.firm.len() > 4 {
            return Err(invalid("venue.firm", "at most 4 characters"));
        }
        if venue.heartbeat_interval_ms == 0
            || venue.heartbeat_timeout_ms <= venue.heartbeat_interval_ms
        {
            return Err(invalid(
                "venue.heartbeat_timeout_ms",
                "must be larger than venue.heartbeat_interval_ms (> 0)",
            ));
        }
        if self.symbols.is_empty() || self.symbols.len() > MAX_SYMBOLS {
            return Err(invalid(
                "symbols",
                format!("between 1 and {MAX_SYMBOLS} symbols"),
            ));
        }
        for (index, symbol) in self.symbols.iter().enumerate() {
            let field = |name: &str| format!("symbols[{index}].{name}");
            symbol_bytes(&symbol.name).map_err(|message| invalid(field("name"), message))?;
            if self.symbols[..index]
                .iter()
                .any(|other| other.name == symbol.name)
            {
                return Err(invalid(field("name"), "duplicate symbol"));
            }
            positive_price(&field("tick"), &symbol.tick)?;
            if !self.feeds.iter().any(|feed| feed.name == symbol.feed) {
                return Err(invalid(
                    field("feed"),
                    format!("no feed named {:?}", symbol.feed),
                ));
            }
            if let Some(venue_symbol) = &symbol.venue_symbol {
                symbol_bytes(venue_symbol)
                    .map_err(|message| invalid(field("venue_symbol"), message))?;
            }
        }
        if self.strategies.len() > MAX_STRATEGIES {
            return Err(invalid("strategies", format!("at most {MAX_STRATEGIES}")));
        }
        for (index, strategy) in self.strategies.iter().enumerate() {
            let field = |name: &str| format!("strategies[{index}].{name}");
            if strategy.symbols.is_empty() {
                return Err(invalid(field("symbols"), "at least one symbol"));
            }
            let mut ids = Vec::with_capacity(strategy.symbols.len());
            for (position, name) in strategy.symbols.iter().enumerate() {
                let Some(id) = self.symbols.iter().position(|symbol| &symbol.name == name) else {
                    return Err(invalid(
                        format!("strategies[{index}].symbols[{position}]"),
                        format!("unknown symbol {name:?}"),
                    ));
                };
                ids.push(crate::strategy::SymbolId::try_from(id).unwrap_or(u16::MAX));
            }
            if let Err(message) =
                crate::strategy::build::build(&strategy.kind, &ids, &strategy.params)
            {
                // The builder's message starts with the key it concerns.
                let (key, rest) = message
                    .split_once(": ")
                    .unwrap_or(("params", message.as_str()));
                let field = match key {
                    "kind" | "symbols" | "params" => format!("strategies[{index}].{key}"),
                    parameter => format!("strategies[{index}].params.{parameter}"),
                };
                return Err(invalid(field, rest));
            }
        }
        if self.link.enabled {
            if self.link.retained_records < 1024 {
                return Err(invalid("link.retained_records", "at least 1024 records"));
            }
            if let Err(error) = self.link.transport().validate() {
                return Err(match error {
                    tickwire_link::transport::LinkError::Config { field, reason } => {
                        invalid(format!("link.{field}"), reason)
                    }
                    other => invalid("link", other.to_string()),
                });
            }
        }
        self.limits_snapshot().map(drop)
    }

    /// The initial limits as a snapshot (version 0).
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming a limits field.
    pub fn limits_snapshot(&self) -> Result<LimitsSnapshot, ConfigError> {
        let limits = &self.limits;
        let global = GlobalLimits {
            max_order_qty: non_negative_qty("limits.max_order_qty", &limits.max_order_qty)?.raw(),
            max_order_notional: positive_price(
                "limits.max_order_notional",
                &limits.max_order_notional,
            )?
            .raw(),
            max_gross_notional: positive_price(
                "limits.max_gross_notional",
                &limits.max_gross_notional,
            )?
            .raw(),
            daily_loss_limit: positive_price("limits.daily_loss_limit", &limits.daily_loss_limit)?
                .raw(),
            max_data_age_ns: limits.max_data_age_ms.saturating_mul(1_000_000),
            collar_bps: limits.collar_bps,
            orders_per_second: limits.orders_per_second,
            order_burst: limits.order_burst,
            kill: 0,
        };
        if global.collar_bps == 0 {
            return Err(invalid("limits.collar_bps", "must be positive"));
        }
        if global.orders_per_second == 0 || global.order_burst == 0 {
            return Err(invalid(
                "limits.orders_per_second",
                "rate and burst must be positive",
            ));
        }
        let mut symbols = [SymbolLimits::UNUSED; MAX_SYMBOLS];
        if limits.symbols.len() > MAX_SYMBOLS {
            return Err(invalid("limits.symbols", format!("at most {MAX_SYMBOLS}")));
        }
        for (index, (entry, slot)) in limits.symbols.iter().zip(&mut symbols).enumerate() {
            let field = |name: &str| format!("limits.symbols[{index}].{name}");
            let symbol =
                symbol_bytes(&entry.symbol).map_err(|message| invalid(field("symbol"), message))?;
            if !self
                .symbols
                .iter()
                .any(|configured| configured.name == entry.symbol)
            {
                return Err(invalid(
                    field("symbol"),
                    format!("not in [[symbols]]: {:?}", entry.symbol),
                ));
            }
            *slot = SymbolLimits {
                symbol,
                max_order_qty: match &entry.max_order_qty {
                    Some(text) => non_negative_qty(&field("max_order_qty"), text)?.raw(),
                    None => 0,
                },
                max_order_notional: match &entry.max_order_notional {
                    Some(text) => positive_price(&field("max_order_notional"), text)?.raw(),
                    None => 0,
                },
                max_long: non_negative_qty(&field("max_long"), &entry.max_long)?.raw(),
                max_short: non_negative_qty(&field("max_short"), &entry.max_short)?.raw(),
                max_open_notional: positive_price(
                    &field("max_open_notional"),
                    &entry.max_open_notional,
                )?
                .raw(),
                max_open_orders: entry.max_open_orders,
                collar_bps: entry.collar_bps.unwrap_or(0),
            };
        }
        Ok(LimitsSnapshot {
            version: 0,
            actor: fixed_text("config"),
            global,
            symbols,
            strategy_kill: [0; MAX_STRATEGIES],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const EXAMPLE: &str = include_str!("../config/itch-ufo.toml");

    #[test]
    fn the_example_parses_and_validates() {
        let config = DataPlaneConfig::parse(EXAMPLE).unwrap();
        assert_eq!(config.symbols.len(), 3);
        let snapshot = config.limits_snapshot().unwrap();
        assert_eq!(snapshot.version, 0);
        assert!(snapshot.symbol(&symbol_bytes("BOB").unwrap()).is_some());
        assert!(!format!("{config:?}").contains(config.venue.password.expose()));
    }

    fn error_of(edit: impl FnOnce(&str) -> String) -> String {
        match DataPlaneConfig::parse(&edit(EXAMPLE)) {
            Ok(_) => panic!("expected an error"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn errors_name_the_field() {
        let error = error_of(|text| text.replace("tick = \"0.01\"", "tick = \"-1\""));
        assert!(error.starts_with("symbols[0].tick: "), "{error}");
        let error = error_of(|text| text.replace("feed = \"itch\"", "feed = \"nope\""));
        assert!(error.starts_with("symbols[0].feed: "), "{error}");
        let error = error_of(|text| text.replace("collar_bps = 200", "collar_bps = 0"));
        assert!(error.starts_with("limits.collar_bps: "), "{error}");
        let error = error_of(|text| text.replace("max_long = \"2000\"", "max_long = \"1e3\""));
        assert!(error.starts_with("limits.symbols[0].max_long: "), "{error}");
        let error = error_of(|text| text.replace("frame_size = 2048", "frame_size = 1000"));
        assert!(error.starts_with("io.frame_size: "), "{error}");
        let error = error_of(|text| format!("{text}\n[surprise]\nkey = 1\n"));
        assert!(
            error.contains("surprise"),
            "unknown keys are named: {error}"
        );
        let error =
            error_of(|text| text.replace("username = \"TW0001\"", "username = \"TOOLONGNAME\""));
        assert!(error.starts_with("venue.username: "), "{error}");
    }
}
