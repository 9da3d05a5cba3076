//! Metric names: one vocabulary for the names the engine produces and every reader
//! (outcome text, HTML, explain, targets). Names are written and read only here.
//!
//! Built-in metrics are `<kind>.in.<entity>` and `<kind>.out.<entity>` (flows into and
//! out of an actor or asset, per kind) and `power.demand|capacity|shortfall.<region>`.
//! Everything else is a rule metric. A rule may not use a built-in name for an entity
//! or region the scenario has, but `power.green_mw` is a rule metric even though it
//! starts with `power.`: the form decides, never a prefix.

use std::fmt;

use crate::FlowKind;

/// Into or out of an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

/// What the power analysis measures per grid region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PowerMeasure {
    Demand,
    Capacity,
    Shortfall,
}

impl PowerMeasure {
    pub const ALL: [PowerMeasure; 3] = [
        PowerMeasure::Demand,
        PowerMeasure::Capacity,
        PowerMeasure::Shortfall,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PowerMeasure::Demand => "demand",
            PowerMeasure::Capacity => "capacity",
            PowerMeasure::Shortfall => "shortfall",
        }
    }
}

/// A metric name, typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MetricKey<'a> {
    /// `<kind>.in|out.<entity>`, from the ledger.
    Flow {
        kind: FlowKind,
        direction: Direction,
        entity: &'a str,
    },
    /// `power.demand|capacity|shortfall.<region>`, from the power analysis.
    Power {
        measure: PowerMeasure,
        region: &'a str,
    },
    /// Made by rules with `ctx.metric`.
    Rule(&'a str),
}

impl<'a> MetricKey<'a> {
    /// The built-in metric `name` has the form of, if any. Whether it is one in a given
    /// outcome also depends on the entity or region existing (see the module docs).
    pub fn builtin_form(name: &'a str) -> Option<MetricKey<'a>> {
        let mut parts = name.splitn(3, '.');
        let (Some(first), Some(second), Some(rest)) = (parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        if rest.is_empty() {
            return None;
        }
        let kind = FlowKind::parse(first)?;
        let direction = match second {
            "in" => Some(Direction::In),
            "out" => Some(Direction::Out),
            _ => None,
        };
        if let Some(direction) = direction {
            return Some(MetricKey::Flow {
                kind,
                direction,
                entity: rest,
            });
        }
        if kind != FlowKind::Power {
            return None;
        }
        let measure = PowerMeasure::ALL
            .into_iter()
            .find(|m| m.as_str() == second)?;
        Some(MetricKey::Power {
            measure,
            region: rest,
        })
    }

    pub fn is_builtin(&self) -> bool {
        !matches!(self, MetricKey::Rule(_))
    }

    /// The metric's name, as [`fmt::Display`] writes it, joined without the formatting
    /// machinery: every step names each entity's built-in metrics.
    pub fn name(&self) -> String {
        let parts: [&str; 3] = match self {
            MetricKey::Flow {
                kind,
                direction,
                entity,
            } => [kind.as_str(), direction.as_str(), entity],
            MetricKey::Power { measure, region } => ["power", measure.as_str(), region],
            MetricKey::Rule(name) => return (*name).to_string(),
        };
        let mut name = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
        for (i, part) in parts.into_iter().enumerate() {
            if i > 0 {
                name.push('.');
            }
            name.push_str(part);
        }
        name
    }
}

impl fmt::Display for MetricKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetricKey::Flow {
                kind,
                direction,
                entity,
            } => write!(f, "{}.{}.{entity}", kind.as_str(), direction.as_str()),
            MetricKey::Power { measure, region } => {
                write!(f, "power.{}.{region}", measure.as_str())
            }
            MetricKey::Rule(name) => f.write_str(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_the_form_decides() {
        for name in [
            "funding.in.startups",
            "compute.out.naicc",
            "power.in.kepco",
            "power.demand.capital",
            "power.shortfall.honam-west",
        ] {
            let key = MetricKey::builtin_form(name).unwrap();
            assert_eq!(key.to_string(), name);
            assert_eq!(key.name(), name);
            assert!(key.is_builtin());
        }
        for name in [
            "power.green_mw",
            "power.saved_mw",
            "funding.total",
            "voucher.granted",
            "power.demand.",
            "x",
        ] {
            assert_eq!(MetricKey::builtin_form(name), None, "{name}");
        }
        assert_eq!(
            MetricKey::Rule("power.green_mw").to_string(),
            "power.green_mw"
        );
    }
}
