//! Bearer tokens and roles.
//!
//! A token is `tw_` + 64 hex digits (32 random bytes from the OS). Only its SHA-256 is kept,
//! in the configuration file, with a name and a role. Presented tokens are hashed and
//! compared with every stored hash in constant time. Tokens are never logged: only the
//! actor's name and role are.
//!
//! | role | may |
//! |---|---|
//! | `viewer` | every GET |
//! | `trader` | viewer + kill (POST /api/kill) + strategy enable, disable, parameters |
//! | `risk-admin` | trader + limits PUT + unkill (DELETE /api/kill) |

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use crate::config::{Config, ConfigError};

/// A role, ordered by what it may do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Reads everything.
    Viewer,
    /// Viewer + kill + strategies.
    Trader,
    /// Everything.
    RiskAdmin,
}

impl Role {
    /// The configuration and CLI spelling.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Trader => "trader",
            Self::RiskAdmin => "risk-admin",
        }
    }

    /// Parses the configuration and CLI spelling.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Viewer, Self::Trader, Self::RiskAdmin]
            .into_iter()
            .find(|role| role.name() == text)
    }
}

/// A `[[auth.tokens]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    /// Who holds it (the actor in audit rows; 1 to 16 characters).
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// Hex SHA-256 of the token.
    pub sha256: String,
}

impl TokenEntry {
    /// Checks the entry; the error is the name of the bad field.
    ///
    /// # Errors
    /// `"name"` or `"sha256"`.
    pub fn validate(&self) -> Result<(), &'static str> {
        let name_ok = (1..=16).contains(&self.name.len())
            && self
                .name
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"-_.@".contains(&byte));
        if !name_ok {
            return Err("name");
        }
        if self.sha256.len() != 64 || hex::decode(&self.sha256).is_err() {
            return Err("sha256");
        }
        Ok(())
    }
}

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Token name.
    pub name: String,
    /// Token role.
    pub role: Role,
}

/// Why a request was not authenticated or not authorized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("missing bearer token")]
    Missing,
    /// The token matches no entry.
    #[error("unknown token")]
    Unknown,
    /// The actor's role is below the one required.
    #[error("role {have} may not do this ({need} required)")]
    Forbidden {
        /// The actor's role.
        have: &'static str,
        /// The role required.
        need: &'static str,
    },
}

impl Actor {
    /// Succeeds when the actor's role is at least `role`.
    ///
    /// # Errors
    /// [`AuthError::Forbidden`].
    pub fn require(&self, role: Role) -> Result<(), AuthError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(AuthError::Forbidden {
                have: self.role.name(),
                need: role.name(),
            })
        }
    }
}

/// The hashed tokens of a configuration.
#[derive(Clone)]
pub struct Authenticator {
    entries: Vec<(String, Role, [u8; 32])>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("tokens", &self.entries.len())
            .finish()
    }
}

/// SHA-256 of a token.
#[must_use]
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Authenticator {
    /// From validated entries (entries whose hash does not decode are skipped).
    #[must_use]
    pub fn new(entries: &[TokenEntry]) -> Self {
        Self {
            entries: entries
                .iter()
                .filter_map(|entry| {
                    let mut hash = [0u8; 32];
                    hex::decode_to_slice(&entry.sha256, &mut hash).ok()?;
                    Some((entry.name.clone(), entry.role, hash))
                })
                .collect(),
        }
    }

    /// Authenticates an `Authorization` header value.
    ///
    /// # Errors
    /// [`AuthError::Missing`] or [`AuthError::Unknown`].
    pub fn authenticate(&self, header: Option<&str>) -> Result<Actor, AuthError> {
        let token = header
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or(AuthError::Missing)?;
        let presented = hash_token(token);
        // Compare with every entry, whatever matched, so timing tells nothing.
        let mut found: Option<&(String, Role, [u8; 32])> = None;
        for entry in &self.entries {
            if bool::from(entry.2.ct_eq(&presented)) {
                found = Some(entry);
            }
        }
        found
            .map(|(name, role, _)| Actor {
                name: name.clone(),
                role: *role,
            })
            .ok_or(AuthError::Unknown)
    }
}

/// Errors of creating a token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The OS random source failed.
    #[error("random source: {0}")]
    Random(String),
    /// The configuration could not be read, changed or validated.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// A new random token.
///
/// # Errors
/// [`TokenError::Random`].
pub fn generate_token() -> Result<String, TokenError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| TokenError::Random(error.to_string()))?;
    Ok(format!("tw_{}", hex::encode(bytes)))
}

/// Creates a token for `name` with `role`, appends its entry to the configuration file
/// (keeping the file's text and comments) and returns the token, which is not stored anywhere.
///
/// # Errors
/// [`TokenError`]; the file is left unchanged when the result would not validate.
pub fn create_token(config_path: &Path, name: &str, role: Role) -> Result<String, TokenError> {
    let io = |source| ConfigError::Io {
        path: config_path.display().to_string(),
        source,
    };
    let text = std::fs::read_to_string(config_path).map_err(io)?;
    let token = generate_token()?;
    let entry = TokenEntry {
        name: name.to_owned(),
        role,
        sha256: hex::encode(hash_token(&token)),
    };
    if entry.validate().is_err() {
        return Err(ConfigError::invalid(
            "name",
            "1 to 16 characters of letters, digits, '-', '_', '.', '@'",
        )
        .into());
    }
    let mut updated = text;
    if !updated.ends_with('\n') {
        updated.push('\n');
    }
    updated.push_str(&format!(
        "\n[[auth.tokens]]\nname = \"{}\"\nrole = \"{}\"\nsha256 = \"{}\"\n",
        entry.name,
        role.name(),
        entry.sha256
    ));
    let path_text = config_path.display().to_string();
    let config = Config::parse(&updated, &path_text)?;
    config.validate()?;
    let temporary = config_path.with_extension("toml.tmp");
    std::fs::write(&temporary, &updated).map_err(io)?;
    std::fs::rename(&temporary, config_path).map_err(io)?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_authenticate_by_hash() {
        let token = generate_token().unwrap();
        assert_eq!(token.len(), 67);
        let auth = Authenticator::new(&[TokenEntry {
            name: "alice".to_owned(),
            role: Role::Trader,
            sha256: hex::encode(hash_token(&token)),
        }]);
        let actor = auth.authenticate(Some(&format!("Bearer {token}"))).unwrap();
        assert_eq!(actor.name, "alice");
        assert!(actor.require(Role::Viewer).is_ok());
        assert!(actor.require(Role::RiskAdmin).is_err());
        assert_eq!(auth.authenticate(None), Err(AuthError::Missing));
        assert_eq!(
            auth.authenticate(Some("Basic abc")),
            Err(AuthError::Missing)
        );
        assert_eq!(
            auth.authenticate(Some("Bearer tw_00")),
            Err(AuthError::Unknown)
        );
    }

    #[test]
    fn create_token_appends_an_entry_and_keeps_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.toml");
        std::fs::write(&path, crate::config::EXAMPLE).unwrap();
        let token = create_token(&path, "ops", Role::RiskAdmin).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("# API tokens"));
        assert!(!text.contains(&token), "the token itself is not stored");
        let config = Config::parse(&text, "cp").unwrap();
        config.validate().unwrap();
        let auth = Authenticator::new(&config.auth.tokens);
        let actor = auth.authenticate(Some(&format!("Bearer {token}"))).unwrap();
        assert_eq!(actor.role, Role::RiskAdmin);
        assert!(
            create_token(&path, "ops", Role::Viewer).is_err(),
            "duplicate name"
        );
        assert!(create_token(&path, "bad name", Role::Viewer).is_err());
    }
}
