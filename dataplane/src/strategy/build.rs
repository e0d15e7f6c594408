//! Builds the built-in strategies from their configuration sections.
//!
//! Parameters are set by name over the strategy's defaults. Prices and quantities
//! ([`ParamUnit::Price`], [`ParamUnit::Qty`]) are decimal strings (`"100"`, `"0.05"`) or
//! integers meaning whole units; every other unit is an integer. Start-up only.

use std::collections::BTreeMap;

use tickwire_common::{Price, Qty};

use super::{
    ParamSpec, ParamUnit, Strategy, SymbolId, breakout, ma_crossover, market_maker, mean_reversion,
    param_index,
};

/// Samples a rolling window can hold at most (the windows are allocated at this size).
pub const MAX_WINDOW: usize = 4096;

/// The built-in kinds.
pub const KINDS: [&str; 4] = ["market_maker", "mean_reversion", "ma_crossover", "breakout"];

fn specs_of(kind: &str) -> Option<&'static [ParamSpec]> {
    Some(match kind {
        "market_maker" => &market_maker::PARAM_SPECS,
        "mean_reversion" => &mean_reversion::PARAM_SPECS,
        "ma_crossover" => &ma_crossover::PARAM_SPECS,
        "breakout" => &breakout::PARAM_SPECS,
        _ => return None,
    })
}

fn parse_value(spec: &ParamSpec, value: &toml::Value) -> Result<i64, String> {
    let fixed = |text: &str| match spec.unit {
        ParamUnit::Price => Price::from_decimal(text.as_bytes()).map(Price::raw),
        _ => Qty::from_decimal(text.as_bytes()).map(Qty::raw),
    };
    match (spec.unit, value) {
        (ParamUnit::Price | ParamUnit::Qty, toml::Value::String(text)) => {
            fixed(text).map_err(|error| format!("{text:?}: {error}"))
        }
        (ParamUnit::Price | ParamUnit::Qty, toml::Value::Integer(units)) => {
            Qty::new_checked(*units)
                .map(Qty::raw)
                .map_err(|error| error.to_string())
        }
        (_, toml::Value::Integer(value)) => Ok(*value),
        (unit, other) => Err(format!(
            "expected {} for a {unit:?} parameter, got {other}",
            match unit {
                ParamUnit::Price | ParamUnit::Qty => "a decimal string",
                _ => "an integer",
            }
        )),
    }
}

/// The parameter array for `kind` from `defaults` and the named `values`.
///
/// # Errors
/// A message naming the parameter (the caller adds the field path).
fn params<const N: usize>(
    specs: &[ParamSpec],
    defaults: [i64; N],
    values: &BTreeMap<String, toml::Value>,
) -> Result<[i64; N], String> {
    let mut params = defaults;
    for (name, value) in values {
        let index = param_index(specs, name).ok_or_else(|| {
            let known: Vec<&str> = specs.iter().map(|spec| spec.name).collect();
            format!("{name}: unknown parameter (known: {})", known.join(", "))
        })?;
        let parsed =
            parse_value(&specs[index], value).map_err(|error| format!("{name}: {error}"))?;
        params[index] = parsed;
    }
    Ok(params)
}

/// Builds a strategy of `kind` trading `symbols` (the built-ins trade one symbol each).
///
/// # Errors
/// A message naming what is wrong: unknown kind, symbol count, or a parameter.
pub fn build(
    kind: &str,
    symbols: &[SymbolId],
    values: &BTreeMap<String, toml::Value>,
) -> Result<Box<dyn Strategy>, String> {
    let specs = specs_of(kind).ok_or_else(|| {
        format!(
            "kind: unknown strategy {kind:?} (built-ins: {})",
            KINDS.join(", ")
        )
    })?;
    let [symbol] = symbols else {
        return Err(format!("symbols: {kind} trades exactly one symbol"));
    };
    let symbol: SymbolId = *symbol;
    let error = |error: super::ParamError| format!("params: {error}");
    Ok(match kind {
        "market_maker" => Box::new(
            market_maker::MarketMaker::new(
                symbol,
                params(specs, market_maker::DEFAULT_PARAMS, values)?,
            )
            .map_err(error)?,
        ),
        "mean_reversion" => Box::new(
            mean_reversion::MeanReversion::new(
                symbol,
                MAX_WINDOW,
                params(specs, mean_reversion::DEFAULT_PARAMS, values)?,
            )
            .map_err(error)?,
        ),
        "ma_crossover" => Box::new(
            ma_crossover::MaCrossover::new(
                symbol,
                MAX_WINDOW,
                params(specs, ma_crossover::DEFAULT_PARAMS, values)?,
            )
            .map_err(error)?,
        ),
        _ => Box::new(
            breakout::Breakout::new(
                symbol,
                MAX_WINDOW,
                params(specs, breakout::DEFAULT_PARAMS, values)?,
            )
            .map_err(error)?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> BTreeMap<String, toml::Value> {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn builds_every_kind_with_defaults() {
        for kind in KINDS {
            let strategy = build(kind, &[0], &BTreeMap::new()).unwrap();
            assert_eq!(strategy.name(), kind);
            assert_eq!(strategy.symbols(), &[0]);
        }
    }

    #[test]
    fn named_parameters_are_parsed_by_unit() {
        let strategy = build(
            "market_maker",
            &[3],
            &values("quote_qty = \"0.5\"\nmin_spread_ticks = 4\nmax_position = 10"),
        )
        .unwrap();
        let specs = strategy.param_specs();
        assert_eq!(
            strategy.param(param_index(specs, "quote_qty").unwrap()),
            50_000_000
        );
        assert_eq!(
            strategy.param(param_index(specs, "min_spread_ticks").unwrap()),
            4
        );
        assert_eq!(
            strategy.param(param_index(specs, "max_position").unwrap()),
            1_000_000_000
        );
    }

    #[test]
    fn errors_name_the_parameter() {
        let error = build("market_maker", &[0], &values("quote_size = \"1\""))
            .err()
            .unwrap();
        assert!(
            error.starts_with("quote_size: unknown parameter"),
            "{error}"
        );
        let error = build("market_maker", &[0], &values("min_spread_ticks = \"2\""))
            .err()
            .unwrap();
        assert!(
            error.starts_with("min_spread_ticks: expected an integer"),
            "{error}"
        );
        let error = build("market_maker", &[0], &values("min_spread_ticks = 0"))
            .err()
            .unwrap();
        assert!(error.contains("min_spread_ticks"), "{error}");
        let error = build("market_maker", &[0], &values("quote_qty = \"x\""))
            .err()
            .unwrap();
        assert!(error.starts_with("quote_qty: \"x\""), "{error}");
        assert!(
            build("nope", &[0], &BTreeMap::new())
                .err()
                .unwrap()
                .starts_with("kind:")
        );
        assert!(
            build("breakout", &[0, 1], &BTreeMap::new())
                .err()
                .unwrap()
                .starts_with("symbols:")
        );
    }
}
