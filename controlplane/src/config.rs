//! The configuration file: one TOML document, environment overrides, validation that names
//! the field.

use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tickwire_link::transport::LinkConfig;

use crate::auth::TokenEntry;
use crate::limits::LimitsSpec;

/// The documented example (`tickwire-controlplane config example`).
pub const EXAMPLE: &str = include_str!("../config.example.toml");

/// Errors of loading or checking a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// toml's message (it names the key and the line).
        message: String,
    },
    /// A value is not acceptable.
    #[error("invalid configuration: {field}: {reason}")]
    Invalid {
        /// Dotted path of the field (`storage.batch_rows`, `limits.symbols[0].symbol`).
        field: String,
        /// Why.
        reason: String,
    },
}

impl ConfigError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// `[server]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Listen address.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Seconds for requests in flight at shutdown.
    #[serde(default = "default_grace")]
    pub shutdown_grace_s: u64,
}

fn default_listen() -> String {
    "127.0.0.1:8080".to_owned()
}

const fn default_grace() -> u64 {
    5
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            shutdown_grace_s: default_grace(),
        }
    }
}

/// `[storage]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// `sqlite:PATH` or `postgres://...`.
    pub url: String,
    /// Rows per insert transaction at most.
    #[serde(default = "default_batch_rows")]
    pub batch_rows: usize,
    /// Longest wait for a batch to fill, milliseconds.
    #[serde(default = "default_batch_ms")]
    pub batch_ms: u64,
    /// Pool size.
    #[serde(default = "default_connections")]
    pub max_connections: u32,
}

const fn default_batch_rows() -> usize {
    1000
}
const fn default_batch_ms() -> u64 {
    10
}
const fn default_connections() -> u32 {
    4
}

/// `[link]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LinkSection {
    /// Service name prefix.
    #[serde(default = "default_prefix")]
    pub service_prefix: String,
    /// iceoryx2 root directory.
    #[serde(default)]
    pub root_path: Option<String>,
    /// iceoryx2 file prefix.
    #[serde(default)]
    pub file_prefix: Option<String>,
    /// Audit subscriber buffer.
    #[serde(default = "default_audit_buffer")]
    pub audit_buffer: usize,
}

fn default_prefix() -> String {
    "tickwire".to_owned()
}
const fn default_audit_buffer() -> usize {
    16_384
}

impl Default for LinkSection {
    fn default() -> Self {
        Self {
            service_prefix: default_prefix(),
            root_path: None,
            file_prefix: None,
            audit_buffer: default_audit_buffer(),
        }
    }
}

impl LinkSection {
    /// The transport's configuration.
    #[must_use]
    pub fn link_config(&self) -> LinkConfig {
        LinkConfig {
            service_prefix: self.service_prefix.clone(),
            root_path: self.root_path.clone(),
            file_prefix: self.file_prefix.clone(),
            audit_buffer: self.audit_buffer,
            ..LinkConfig::default()
        }
    }
}

/// `[[strategies]]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StrategyConfig {
    /// Engine index (0..16).
    pub index: u16,
    /// Display name.
    pub name: String,
}

/// `[auth]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Hashed tokens.
    #[serde(default)]
    pub tokens: Vec<TokenEntry>,
}

/// The whole file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[server]`.
    #[serde(default)]
    pub server: ServerConfig,
    /// `[storage]`.
    pub storage: StorageConfig,
    /// `[link]`.
    #[serde(default)]
    pub link: LinkSection,
    /// Initial limits.
    #[serde(default)]
    pub limits: LimitsSpec,
    /// Strategy names.
    #[serde(default)]
    pub strategies: Vec<StrategyConfig>,
    /// Tokens.
    #[serde(default)]
    pub auth: AuthConfig,
}

impl Config {
    /// Parses TOML text (no environment overrides, no validation).
    ///
    /// # Errors
    /// [`ConfigError::Parse`] with toml's message.
    pub fn parse(text: &str, path: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|error| ConfigError::Parse {
            path: path.to_owned(),
            message: error.to_string(),
        })
    }

    /// Reads a file, applies the process environment's overrides and validates.
    ///
    /// # Errors
    /// Any [`ConfigError`].
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let mut config = Self::parse(&text, &path.display().to_string())?;
        config.apply_env(|name| std::env::var(name).ok())?;
        config.validate()?;
        Ok(config)
    }

    /// Applies `TICKWIRE_<SECTION>_<FIELD>` overrides read through `var`.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the variable when a number does not parse.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, ConfigError> {
            value
                .parse()
                .map_err(|_| ConfigError::invalid(name, "not a valid number"))
        }
        if let Some(value) = var("TICKWIRE_SERVER_LISTEN") {
            self.server.listen = value;
        }
        if let Some(value) = var("TICKWIRE_STORAGE_URL") {
            self.storage.url = value;
        }
        if let Some(value) = var("TICKWIRE_STORAGE_BATCH_ROWS") {
            self.storage.batch_rows = number("TICKWIRE_STORAGE_BATCH_ROWS", &value)?;
        }
        if let Some(value) = var("TICKWIRE_STORAGE_BATCH_MS") {
            self.storage.batch_ms = number("TICKWIRE_STORAGE_BATCH_MS", &value)?;
        }
        if let Some(value) = var("TICKWIRE_STORAGE_MAX_CONNECTIONS") {
            self.storage.max_connections = number("TICKWIRE_STORAGE_MAX_CONNECTIONS", &value)?;
        }
        if let Some(value) = var("TICKWIRE_LINK_SERVICE_PREFIX") {
            self.link.service_prefix = value;
        }
        if let Some(value) = var("TICKWIRE_LINK_ROOT_PATH") {
            self.link.root_path = Some(value);
        }
        if let Some(value) = var("TICKWIRE_LINK_FILE_PREFIX") {
            self.link.file_prefix = Some(value);
        }
        if let Some(value) = var("TICKWIRE_LINK_AUDIT_BUFFER") {
            self.link.audit_buffer = number("TICKWIRE_LINK_AUDIT_BUFFER", &value)?;
        }
        Ok(())
    }

    /// Checks every value.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the first bad field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.server.listen.parse::<SocketAddr>().is_err() {
            return Err(ConfigError::invalid(
                "server.listen",
                "not an address such as 127.0.0.1:8080",
            ));
        }
        if self.server.shutdown_grace_s > 600 {
            return Err(ConfigError::invalid(
                "server.shutdown_grace_s",
                "at most 600",
            ));
        }
        let url = &self.storage.url;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::invalid(
                "storage.url",
                "must start with sqlite: or postgres://",
            ));
        }
        if !(1..=10_000).contains(&self.storage.batch_rows) {
            return Err(ConfigError::invalid(
                "storage.batch_rows",
                "between 1 and 10000",
            ));
        }
        if !(1..=10_000).contains(&self.storage.batch_ms) {
            return Err(ConfigError::invalid(
                "storage.batch_ms",
                "between 1 and 10000",
            ));
        }
        if !(1..=64).contains(&self.storage.max_connections) {
            return Err(ConfigError::invalid(
                "storage.max_connections",
                "between 1 and 64",
            ));
        }
        self.link
            .link_config()
            .validate()
            .map_err(|error| match error {
                tickwire_link::transport::LinkError::Config { field, reason } => {
                    ConfigError::invalid(format!("link.{field}"), reason)
                }
                other => ConfigError::invalid("link", other.to_string()),
            })?;
        self.limits.to_snapshot_parts().map_err(|error| {
            ConfigError::invalid(format!("limits.{}", error.field), error.reason)
        })?;
        let mut seen = [false; tickwire_link::abi::MAX_STRATEGIES];
        for (position, strategy) in self.strategies.iter().enumerate() {
            let slot = seen.get_mut(usize::from(strategy.index)).ok_or_else(|| {
                ConfigError::invalid(format!("strategies[{position}].index"), "must be 0..15")
            })?;
            if std::mem::replace(slot, true) {
                return Err(ConfigError::invalid(
                    format!("strategies[{position}].index"),
                    "duplicate index",
                ));
            }
            if strategy.name.is_empty() || strategy.name.len() > 64 {
                return Err(ConfigError::invalid(
                    format!("strategies[{position}].name"),
                    "1 to 64 characters",
                ));
            }
        }
        for (position, token) in self.auth.tokens.iter().enumerate() {
            token.validate().map_err(|reason| {
                ConfigError::invalid(format!("auth.tokens[{position}].{reason}"), "invalid")
            })?;
            if self.auth.tokens[..position]
                .iter()
                .any(|other| other.name == token.name)
            {
                return Err(ConfigError::invalid(
                    format!("auth.tokens[{position}].name"),
                    "duplicate name",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_is_valid() {
        let config = Config::parse(EXAMPLE, "example").unwrap();
        config.validate().unwrap();
        assert_eq!(config.server.listen, "127.0.0.1:8080");
        assert_eq!(config.limits.symbols.len(), 1);
    }

    #[test]
    fn environment_overrides_and_errors_name_the_field() {
        let mut config = Config::parse(EXAMPLE, "example").unwrap();
        config
            .apply_env(|name| match name {
                "TICKWIRE_STORAGE_URL" => Some("postgres://db/tickwire".to_owned()),
                "TICKWIRE_STORAGE_BATCH_ROWS" => Some("0".to_owned()),
                _ => None,
            })
            .unwrap();
        assert_eq!(config.storage.url, "postgres://db/tickwire");
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("storage.batch_rows"), "{error}");

        let mut config = Config::parse(EXAMPLE, "example").unwrap();
        let error = config
            .apply_env(|name| (name == "TICKWIRE_LINK_AUDIT_BUFFER").then(|| "many".to_owned()))
            .unwrap_err()
            .to_string();
        assert!(error.contains("TICKWIRE_LINK_AUDIT_BUFFER"), "{error}");

        let text = EXAMPLE.replace("symbol = \"AAPL\"", "symbol = \"aapl lower\"");
        let error = Config::parse(&text, "x")
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(error.contains("limits.symbols[0].symbol"), "{error}");

        let text = EXAMPLE.replace("listen = \"127.0.0.1:8080\"", "listen = \"nowhere\"");
        let error = Config::parse(&text, "x")
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(error.contains("server.listen"), "{error}");
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let text = format!("{EXAMPLE}\n[extra]\nkey = 1\n");
        let error = Config::parse(&text, "x").unwrap_err().to_string();
        assert!(error.contains("extra"), "{error}");
    }
}
