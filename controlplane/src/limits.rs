//! Risk limits as the API and the configuration write them (decimal strings, exact), their
//! validation (every error names its field) and their conversion into the
//! [`LimitsSnapshot`] the data plane checks orders against.

use serde::{Deserialize, Serialize};
use tickwire_common::{Notional, Qty};
use tickwire_link::abi::{
    GlobalLimits, LimitsSnapshot, MAX_STRATEGIES, MAX_SYMBOLS, SymbolLimits, fixed_text, text_of,
};
use utoipa::ToSchema;

/// A value that is not acceptable, with the dotted path of its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    /// `global.max_order_qty`, `symbols[2].symbol`, `reason`...
    pub field: String,
    /// Why.
    pub reason: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Limits that apply across symbols. Amounts are decimal strings such as `"1000"` or
/// `"0.5"` (8 decimal places at most).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GlobalLimitsSpec {
    /// Largest quantity of one order.
    #[schema(example = "1000")]
    pub max_order_qty: String,
    /// Largest notional of one order.
    #[schema(example = "250000")]
    pub max_order_notional: String,
    /// Largest gross notional of all positions.
    #[schema(example = "5000000")]
    pub max_gross_notional: String,
    /// Loss (realized + unrealized) that trips the kill switch, positive.
    #[schema(example = "50000")]
    pub daily_loss_limit: String,
    /// Book older than this is stale (0: no check).
    pub max_data_age_ms: u64,
    /// Price collar around the reference price, basis points (1..=10000).
    pub collar_bps: u32,
    /// Sustained orders per second (0: no orders).
    pub orders_per_second: u32,
    /// Order burst size.
    pub order_burst: u32,
}

impl Default for GlobalLimitsSpec {
    fn default() -> Self {
        Self {
            max_order_qty: "0".to_owned(),
            max_order_notional: "0".to_owned(),
            max_gross_notional: "0".to_owned(),
            daily_loss_limit: "0".to_owned(),
            max_data_age_ms: 1_000,
            collar_bps: 500,
            orders_per_second: 0,
            order_burst: 0,
        }
    }
}

/// Limits of one symbol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SymbolLimitsSpec {
    /// 1 to 8 characters: A-Z, 0-9, '.', '-'.
    #[schema(example = "AAPL")]
    pub symbol: String,
    /// Largest quantity of one order ("0": the global limit only).
    pub max_order_qty: String,
    /// Largest notional of one order ("0": the global limit only).
    pub max_order_notional: String,
    /// Largest long position.
    pub max_long: String,
    /// Largest short position (positive).
    pub max_short: String,
    /// Largest notional of open orders.
    pub max_open_notional: String,
    /// Most open orders.
    pub max_open_orders: u32,
    /// Collar override, basis points (0: the global one).
    pub collar_bps: u32,
}

/// A complete set of limits (the kill switch is separate: `/api/kill`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsSpec {
    /// Cross-symbol limits.
    #[serde(default)]
    pub global: GlobalLimitsSpec,
    /// Per-symbol limits (32 at most).
    #[serde(default)]
    pub symbols: Vec<SymbolLimitsSpec>,
    /// Strategy indexes whose own kill switch is on.
    #[serde(default)]
    pub strategy_kill: Vec<u16>,
}

fn qty(field: &str, text: &str) -> Result<i64, FieldError> {
    let value = Qty::from_decimal(text.trim().as_bytes())
        .map_err(|error| FieldError::new(field, format!("not a decimal amount: {error}")))?;
    if value.raw() < 0 {
        return Err(FieldError::new(field, "must not be negative"));
    }
    Ok(value.raw())
}

fn notional(field: &str, text: &str) -> Result<i64, FieldError> {
    let value = Notional::from_decimal(text.trim().as_bytes())
        .map_err(|error| FieldError::new(field, format!("not a decimal amount: {error}")))?;
    if value.raw() < 0 {
        return Err(FieldError::new(field, "must not be negative"));
    }
    Ok(value.raw())
}

/// Checks a symbol's spelling.
///
/// # Errors
/// A [`FieldError`] for `field`.
pub fn check_symbol(field: &str, symbol: &str) -> Result<[u8; 8], FieldError> {
    let ok = (1..=8).contains(&symbol.len())
        && symbol.bytes().all(|byte| {
            byte.is_ascii_uppercase() || byte.is_ascii_digit() || byte == b'.' || byte == b'-'
        });
    if !ok {
        return Err(FieldError::new(
            field,
            "1 to 8 characters of A-Z, 0-9, '.' or '-'",
        ));
    }
    let mut padded = [b' '; 8];
    padded[..symbol.len()].copy_from_slice(symbol.as_bytes());
    Ok(padded)
}

impl GlobalLimitsSpec {
    fn to_abi(&self, prefix: &str) -> Result<GlobalLimits, FieldError> {
        let field = |name: &str| format!("{prefix}{name}");
        if !(1..=10_000).contains(&self.collar_bps) {
            return Err(FieldError::new(field("collar_bps"), "between 1 and 10000"));
        }
        if self.orders_per_second > 0 && self.order_burst == 0 {
            return Err(FieldError::new(
                field("order_burst"),
                "at least 1 when orders_per_second is above 0",
            ));
        }
        if self.max_data_age_ms > 86_400_000 {
            return Err(FieldError::new(field("max_data_age_ms"), "at most one day"));
        }
        Ok(GlobalLimits {
            max_order_qty: qty(&field("max_order_qty"), &self.max_order_qty)?,
            max_order_notional: notional(&field("max_order_notional"), &self.max_order_notional)?,
            max_gross_notional: notional(&field("max_gross_notional"), &self.max_gross_notional)?,
            daily_loss_limit: notional(&field("daily_loss_limit"), &self.daily_loss_limit)?,
            max_data_age_ns: self.max_data_age_ms * 1_000_000,
            collar_bps: self.collar_bps,
            orders_per_second: self.orders_per_second,
            order_burst: self.order_burst,
            kill: 0,
        })
    }

    fn from_abi(global: &GlobalLimits) -> Self {
        Self {
            max_order_qty: Qty::from_raw(global.max_order_qty).to_string(),
            max_order_notional: Notional::from_raw(global.max_order_notional).to_string(),
            max_gross_notional: Notional::from_raw(global.max_gross_notional).to_string(),
            daily_loss_limit: Notional::from_raw(global.daily_loss_limit).to_string(),
            max_data_age_ms: global.max_data_age_ns / 1_000_000,
            collar_bps: global.collar_bps,
            orders_per_second: global.orders_per_second,
            order_burst: global.order_burst,
        }
    }
}

impl SymbolLimitsSpec {
    /// Converts, naming fields under `prefix` (such as `symbols[3].`).
    ///
    /// # Errors
    /// A [`FieldError`] for the first bad field.
    pub fn to_abi(&self, prefix: &str) -> Result<SymbolLimits, FieldError> {
        let field = |name: &str| format!("{prefix}{name}");
        if self.collar_bps > 10_000 {
            return Err(FieldError::new(field("collar_bps"), "at most 10000"));
        }
        Ok(SymbolLimits {
            symbol: check_symbol(&field("symbol"), &self.symbol)?,
            max_order_qty: qty(&field("max_order_qty"), &self.max_order_qty)?,
            max_order_notional: notional(&field("max_order_notional"), &self.max_order_notional)?,
            max_long: qty(&field("max_long"), &self.max_long)?,
            max_short: qty(&field("max_short"), &self.max_short)?,
            max_open_notional: notional(&field("max_open_notional"), &self.max_open_notional)?,
            max_open_orders: self.max_open_orders,
            collar_bps: self.collar_bps,
        })
    }

    fn from_abi(limits: &SymbolLimits) -> Self {
        Self {
            symbol: text_of(&limits.symbol).to_owned(),
            max_order_qty: Qty::from_raw(limits.max_order_qty).to_string(),
            max_order_notional: Notional::from_raw(limits.max_order_notional).to_string(),
            max_long: Qty::from_raw(limits.max_long).to_string(),
            max_short: Qty::from_raw(limits.max_short).to_string(),
            max_open_notional: Notional::from_raw(limits.max_open_notional).to_string(),
            max_open_orders: limits.max_open_orders,
            collar_bps: limits.collar_bps,
        }
    }
}

/// The parts of a snapshot a spec determines.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotParts {
    /// Global limits (kill 0).
    pub global: GlobalLimits,
    /// Symbol slots.
    pub symbols: [SymbolLimits; MAX_SYMBOLS],
    /// Strategy kill flags.
    pub strategy_kill: [u8; MAX_STRATEGIES],
}

impl LimitsSpec {
    /// Validates and converts.
    ///
    /// # Errors
    /// A [`FieldError`] for the first bad field (`global.collar_bps`, `symbols[1].symbol`...).
    pub fn to_snapshot_parts(&self) -> Result<SnapshotParts, FieldError> {
        let global = self.global.to_abi("global.")?;
        if self.symbols.len() > MAX_SYMBOLS {
            return Err(FieldError::new(
                "symbols",
                format!("at most {MAX_SYMBOLS} symbols"),
            ));
        }
        let mut symbols = [SymbolLimits::UNUSED; MAX_SYMBOLS];
        for (index, spec) in self.symbols.iter().enumerate() {
            let limits = spec.to_abi(&format!("symbols[{index}]."))?;
            if symbols[..index]
                .iter()
                .any(|other| other.symbol == limits.symbol)
            {
                return Err(FieldError::new(
                    format!("symbols[{index}].symbol"),
                    "duplicate symbol",
                ));
            }
            symbols[index] = limits;
        }
        let mut strategy_kill = [0u8; MAX_STRATEGIES];
        for (index, strategy) in self.strategy_kill.iter().enumerate() {
            let slot = strategy_kill
                .get_mut(usize::from(*strategy))
                .ok_or_else(|| {
                    FieldError::new(format!("strategy_kill[{index}]"), "strategy index 0..15")
                })?;
            *slot = 1;
        }
        Ok(SnapshotParts {
            global,
            symbols,
            strategy_kill,
        })
    }

    /// A snapshot of this spec.
    ///
    /// # Errors
    /// As [`Self::to_snapshot_parts`].
    pub fn to_snapshot(
        &self,
        version: u64,
        actor: &str,
        kill: bool,
    ) -> Result<LimitsSnapshot, FieldError> {
        let parts = self.to_snapshot_parts()?;
        let mut global = parts.global;
        global.kill = u32::from(kill);
        Ok(LimitsSnapshot {
            version,
            actor: fixed_text(actor),
            global,
            symbols: parts.symbols,
            strategy_kill: parts.strategy_kill,
        })
    }

    /// The spec of a snapshot (normalized decimals).
    #[must_use]
    pub fn from_snapshot(snapshot: &LimitsSnapshot) -> Self {
        Self {
            global: GlobalLimitsSpec::from_abi(&snapshot.global),
            symbols: snapshot
                .symbols
                .iter()
                .filter(|limits| limits.symbol != [0; 8])
                .map(SymbolLimitsSpec::from_abi)
                .collect(),
            strategy_kill: snapshot
                .strategy_kill
                .iter()
                .enumerate()
                .filter(|(_, killed)| **killed != 0)
                .filter_map(|(index, _)| u16::try_from(index).ok())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> LimitsSpec {
        LimitsSpec {
            global: GlobalLimitsSpec {
                max_order_qty: "1000".to_owned(),
                max_order_notional: "250000.5".to_owned(),
                ..GlobalLimitsSpec::default()
            },
            symbols: vec![SymbolLimitsSpec {
                symbol: "AAPL".to_owned(),
                max_order_qty: "500".to_owned(),
                max_order_notional: "0".to_owned(),
                max_long: "2000".to_owned(),
                max_short: "2000".to_owned(),
                max_open_notional: "1".to_owned(),
                max_open_orders: 3,
                collar_bps: 0,
            }],
            strategy_kill: vec![2],
        }
    }

    #[test]
    fn round_trips_through_a_snapshot() {
        let snapshot = spec().to_snapshot(7, "alice", true).unwrap();
        assert_eq!(snapshot.version, 7);
        assert_eq!(snapshot.global.kill, 1);
        assert_eq!(snapshot.global.max_order_qty, 1000 * 100_000_000);
        assert_eq!(snapshot.strategy_kill[2], 1);
        let back = LimitsSpec::from_snapshot(&snapshot);
        assert_eq!(back.global.max_order_notional, "250000.50000000");
        assert_eq!(back.symbols[0].symbol, "AAPL");
        assert_eq!(back.to_snapshot(7, "alice", true).unwrap(), snapshot);
    }

    #[test]
    fn errors_name_the_field() {
        let mut bad = spec();
        bad.global.max_order_qty = "-1".to_owned();
        assert_eq!(
            bad.to_snapshot_parts().unwrap_err().field,
            "global.max_order_qty"
        );
        let mut bad = spec();
        bad.symbols[0].max_long = "abc".to_owned();
        assert_eq!(
            bad.to_snapshot_parts().unwrap_err().field,
            "symbols[0].max_long"
        );
        let mut bad = spec();
        bad.symbols.push(bad.symbols[0].clone());
        assert_eq!(
            bad.to_snapshot_parts().unwrap_err().field,
            "symbols[1].symbol"
        );
        let mut bad = spec();
        bad.global.collar_bps = 0;
        assert_eq!(
            bad.to_snapshot_parts().unwrap_err().field,
            "global.collar_bps"
        );
    }
}
