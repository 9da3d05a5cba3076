//! Settling one step once its rules have run: the ledger, the conservation check,
//! built-in metrics, the compute and power analyses and the outcome's flow lines.
//! Reads only the step's final world, so with threads it runs beside the next step's
//! rules.

use std::collections::{BTreeMap, BTreeSet};

use gil_model::metric::{Direction, MetricKey, PowerMeasure};
use gil_model::{FlowKind, Scenario};
use gil_rules::{FlowState, Names, Sym, WorldState};

use crate::analysis;
use crate::outcome::{ComputeLine, Finding, FlowLine, LedgerEntry, PowerLine, Step};
use crate::trace::ImpliedPower;
use crate::EngineError;

/// What one step adds to the outcome once its rules have run.
pub(crate) struct Settled {
    pub(crate) step: Step,
    pub(crate) findings: Vec<Finding>,
    pub(crate) compute: Vec<ComputeLine>,
    pub(crate) power: Vec<PowerLine>,
    pub(crate) implied_power: Vec<ImpliedPower>,
}

/// Which flow lines a settled step lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lines {
    /// Every flow (`--flows`).
    All,
    /// One line per paying actor, kind and `via`.
    PerPayer,
    /// None (a sweep's run).
    None,
}

/// Ledger, conservation check, built-in metrics, compute and power analyses and the
/// outcome's flow lines of one step. Reads only that step's final world.
pub(crate) fn settle(
    s: &Scenario,
    world: WorldState,
    flows: &[FlowState],
    rule_metrics: BTreeMap<String, f64>,
    rule_findings: Vec<Finding>,
    lines: Lines,
) -> Result<Settled, EngineError> {
    // `world.flows` is empty here: the step's flows come as `flows`, shared with the trace.
    let names = &world.names;
    let ledger = ledger(flows, names);
    check_conservation(s, world.year, flows, &ledger)?;
    let mut metrics = builtin_metrics(&ledger);
    let mut findings = rule_findings;
    let compute = analysis::compute(&world, flows, &mut findings);
    let mut implied_power = Vec::new();
    let power = analysis::power(&world, flows, &mut findings, &mut implied_power);
    for line in &power {
        for (measure, value) in [
            (PowerMeasure::Demand, line.demand_mw),
            (PowerMeasure::Capacity, line.capacity_mw),
            (PowerMeasure::Shortfall, line.shortfall_mw),
        ] {
            let key = MetricKey::Power {
                measure,
                region: &line.region,
            };
            metrics.insert(key.to_string(), value);
        }
    }
    let rule_made = rule_metrics.keys().cloned().collect();
    metrics.extend(rule_metrics);
    Ok(Settled {
        step: Step {
            year: world.year,
            flows: match lines {
                Lines::None => Vec::new(),
                _ => flow_lines(flows, names, s.currency(), lines == Lines::All),
            },
            metrics,
            ledger,
            rule_metrics: rule_made,
        },
        findings,
        compute,
        power,
        implied_power,
    })
}

fn ledger(flows: &[FlowState], names: &Names) -> BTreeMap<String, LedgerEntry> {
    // Sum under symbols in a hash map, name and sort once at the end.
    let mut sums: rustc_hash::FxHashMap<Sym, LedgerEntry> = Default::default();
    // Entries take a share of the names' own texts, not a copy per entry.
    let no_via: std::sync::Arc<str> = "-".into();
    let mut vias: rustc_hash::FxHashMap<Sym, std::sync::Arc<str>> = Default::default();
    for f in flows.iter().filter(|f| f.amount != 0.0) {
        let via = match f.via {
            Some(v) => vias.entry(v).or_insert_with(|| names.shared(v)),
            None => &no_via,
        };
        let kind = f.kind.as_str();
        sums.entry(f.from)
            .or_default()
            .outflow
            .add_shared(kind, via, f.amount);
        sums.entry(f.to)
            .or_default()
            .inflow
            .add_shared(kind, via, f.amount);
    }
    sums.into_iter()
        .map(|(id, entry)| (names.name(id).to_string(), entry))
        .collect()
}

fn builtin_metrics(ledger: &BTreeMap<String, LedgerEntry>) -> BTreeMap<String, f64> {
    let mut metrics = BTreeMap::new();
    for (id, entry) in ledger {
        for kind in [FlowKind::Funding, FlowKind::Compute, FlowKind::Power] {
            for (direction, value) in [
                (Direction::In, entry.total_in(kind.as_str())),
                (Direction::Out, entry.total_out(kind.as_str())),
            ] {
                if value != 0.0 {
                    let key = MetricKey::Flow {
                        kind,
                        direction,
                        entity: id,
                    };
                    metrics.insert(key.to_string(), value);
                }
            }
        }
    }
    metrics
}

/// Σ(in − out) over non-boundary entities equals boundary out − boundary in.
fn check_conservation(
    s: &Scenario,
    year: i32,
    flows: &[FlowState],
    ledger: &BTreeMap<String, LedgerEntry>,
) -> Result<(), EngineError> {
    let is_boundary = |id: &str| s.actor(id).is_some_and(|a| a.kind.value == "boundary");
    let mut inside = 0.0;
    let mut boundary = 0.0;
    let mut volume = 0.0;
    for (id, entry) in ledger {
        let net = entry.total_in("funding") - entry.total_out("funding");
        volume += entry.total_in("funding") + entry.total_out("funding");
        if is_boundary(id) {
            boundary -= net;
        } else {
            inside += net;
        }
    }
    let flows_total: f64 = flows
        .iter()
        .filter(|f| f.kind == FlowKind::Funding)
        .map(|f| f.amount)
        .sum();
    if (inside - boundary).abs() > 1e-9 * volume.max(1.0)
        || (volume - 2.0 * flows_total).abs() > 1e-9 * volume.max(1.0)
    {
        return Err(EngineError::Invariant {
            year,
            message: format!("money is not conserved: inside {inside}, boundary {boundary}, ledger volume {volume}, flows {flows_total}"),
        });
    }
    Ok(())
}

/// (from, kind, via): one aggregated line of the outcome.
type FlowKey = (Sym, FlowKind, Option<Sym>);

/// What one aggregated line adds up while it is built.
struct LineSum<'a> {
    amount: f64,
    count: usize,
    receivers: rustc_hash::FxHashSet<Sym>,
    rules: BTreeSet<&'a str>,
    first_id: Sym,
}

/// The step's flows for the outcome: every flow (`--flows`), or by default one line per
/// paying actor, kind and `via` — the outcome stays proportional to actors, not to the
/// flows rules create; every flow stays in the trace for `explain` and `--flows`.
fn flow_lines(flows: &[FlowState], names: &Names, currency: &str, all: bool) -> Vec<FlowLine> {
    let rule_of = |f: &FlowState| match &f.origin {
        gil_rules::FlowOrigin::Rule(p) => Some(p.rule.to_string()),
        gil_rules::FlowOrigin::Scenario(_) => None,
    };
    if all {
        let mut lines: Vec<FlowLine> = flows
            .iter()
            .map(|f| FlowLine {
                id: Some(names.name(f.id).to_string()),
                from: names.name(f.from).to_string(),
                to: Some(names.name(f.to).to_string()),
                kind: f.kind,
                via: names.opt(f.via).map(str::to_string),
                amount: f.amount,
                unit: f.kind.base_unit(currency),
                count: 1,
                recipients: 1,
                rules: rule_of(f).into_iter().collect(),
            })
            .collect();
        lines.sort_by(|a, b| {
            (&a.from, &a.to, &a.kind, &a.via, &a.id).cmp(&(&b.from, &b.to, &b.kind, &b.via, &b.id))
        });
        return lines;
    }
    // Grouped in a hash map and sorted once: a B-tree keyed by ids sharing prefixes
    // spent its time comparing strings.
    let mut grouped: rustc_hash::FxHashMap<FlowKey, LineSum<'_>> = Default::default();
    for f in flows.iter().filter(|f| f.amount != 0.0) {
        let line = grouped
            .entry((f.from, f.kind, f.via))
            .or_insert_with(|| LineSum {
                amount: 0.0,
                count: 0,
                receivers: Default::default(),
                rules: BTreeSet::new(),
                first_id: f.id,
            });
        line.amount += f.amount;
        line.count += 1;
        line.receivers.insert(f.to);
        if let gil_rules::FlowOrigin::Rule(p) = &f.origin {
            line.rules.insert(&p.rule);
        }
    }
    let key_text = |(from, kind, via): &FlowKey| (names.name(*from), *kind, names.opt(*via));
    let mut grouped: Vec<(FlowKey, LineSum<'_>)> = grouped.into_iter().collect();
    grouped.sort_unstable_by(|a, b| key_text(&a.0).cmp(&key_text(&b.0)));
    grouped
        .into_iter()
        .map(|((from, kind, via), line)| FlowLine {
            id: (line.count == 1).then(|| names.name(line.first_id).to_string()),
            unit: kind.base_unit(currency),
            from: names.name(from).to_string(),
            to: (line.receivers.len() == 1)
                .then(|| {
                    line.receivers
                        .iter()
                        .next()
                        .map(|&r| names.name(r).to_string())
                })
                .flatten(),
            kind,
            via: names.opt(via).map(str::to_string),
            amount: line.amount,
            count: line.count,
            recipients: line.receivers.len(),
            rules: line.rules.into_iter().map(str::to_string).collect(),
        })
        .collect()
}
