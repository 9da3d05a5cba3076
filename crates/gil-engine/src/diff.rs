//! Comparing two outcomes (`gil diff`): what a reform changes — metrics per year and
//! over the horizon, ledger totals per actor, the compute and power analyses, loops,
//! targets, roles and findings.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use gil_rules::Role;

use crate::outcome::{Finding, Outcome, TargetLine};

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DiffReport {
    pub metrics: Vec<ValueChange>,
    /// Each changed metric summed over the horizon (`year` is 0).
    pub horizon: Vec<ValueChange>,
    /// Per actor, kind and direction: the ledger totals that changed.
    pub flows: Vec<ValueChange>,
    /// The compute and power analyses: each cluster's supply and demand (GPU-hours),
    /// each region's power demand, capacity and shortfall (MW), where they changed.
    pub analyses: Vec<ValueChange>,
    /// Circular-financing loops the reform opens (by their actors' path) or closes.
    pub loops_added: Vec<Vec<String>>,
    pub loops_removed: Vec<Vec<String>>,
    /// Project targets whose value in their `by` year, verdict or first year met changed.
    pub targets: Vec<TargetChange>,
    /// Participants whose What / How / Why roles changed (an actor missing on one side
    /// has an empty list there).
    pub roles: Vec<RoleChange>,
    pub findings_added: Vec<Finding>,
    pub findings_removed: Vec<Finding>,
}

impl DiffReport {
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
            && self.flows.is_empty()
            && self.analyses.is_empty()
            && self.loops_added.is_empty()
            && self.loops_removed.is_empty()
            && self.targets.is_empty()
            && self.roles.is_empty()
            && self.findings_added.is_empty()
            && self.findings_removed.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValueChange {
    pub year: i32,
    pub name: String,
    pub base: f64,
    pub reform: f64,
    pub delta: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetChange {
    pub project: String,
    pub metric: String,
    pub by: i32,
    pub base_value: f64,
    pub reform_value: f64,
    pub base_met: bool,
    pub reform_met: bool,
    pub base_first_met: Option<i32>,
    pub reform_first_met: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleChange {
    pub project: String,
    pub actor: String,
    pub base: Vec<Role>,
    pub reform: Vec<Role>,
}

/// Values differing by more than this (relative) count as changed.
const EPSILON: f64 = 1e-12;

fn changed(a: f64, b: f64) -> bool {
    (a - b).abs() > EPSILON * a.abs().max(b.abs()).max(1.0)
}

fn compare(
    year: i32,
    base: &BTreeMap<String, f64>,
    reform: &BTreeMap<String, f64>,
    out: &mut Vec<ValueChange>,
) {
    let names: BTreeSet<&String> = base.keys().chain(reform.keys()).collect();
    for name in names {
        let (b, r) = (
            base.get(name).copied().unwrap_or(0.0),
            reform.get(name).copied().unwrap_or(0.0),
        );
        if changed(b, r) {
            out.push(ValueChange {
                year,
                name: name.clone(),
                base: b,
                reform: r,
                delta: r - b,
            });
        }
    }
}

/// The analyses' numbers of one year, by what they measure.
fn analysis_values(o: &Outcome, year: i32) -> BTreeMap<String, f64> {
    let mut values = BTreeMap::new();
    for c in o.analyses.compute.iter().filter(|c| c.year == year) {
        values.insert(
            format!("compute {} supply (GPU-hours)", c.cluster),
            c.supply,
        );
        values.insert(
            format!("compute {} demand (GPU-hours)", c.cluster),
            c.demand,
        );
    }
    for p in o.analyses.power.iter().filter(|p| p.year == year) {
        values.insert(format!("power {} demand (MW)", p.region), p.demand_mw);
        values.insert(format!("power {} capacity (MW)", p.region), p.capacity_mw);
        values.insert(format!("power {} shortfall (MW)", p.region), p.shortfall_mw);
    }
    values
}

fn ledger_totals(o: &Outcome, year: i32) -> BTreeMap<String, f64> {
    let mut totals = BTreeMap::new();
    if let Some(step) = o.steps.iter().find(|s| s.year == year) {
        for (id, entry) in &step.ledger {
            for (dir, side) in [("in", &entry.inflow), ("out", &entry.outflow)] {
                for (kind, via, v) in side.iter() {
                    *totals
                        .entry(format!("{id} {dir} {kind} ({via})"))
                        .or_insert(0.0) += v;
                }
            }
        }
    }
    totals
}

pub fn diff(base: &Outcome, reform: &Outcome) -> DiffReport {
    let mut report = DiffReport::default();
    let years: BTreeSet<i32> = base
        .steps
        .iter()
        .chain(&reform.steps)
        .map(|s| s.year)
        .collect();
    let empty = BTreeMap::new();
    for year in years {
        let bm = base
            .steps
            .iter()
            .find(|s| s.year == year)
            .map(|s| &s.metrics)
            .unwrap_or(&empty);
        let rm = reform
            .steps
            .iter()
            .find(|s| s.year == year)
            .map(|s| &s.metrics)
            .unwrap_or(&empty);
        compare(year, bm, rm, &mut report.metrics);
        compare(
            year,
            &ledger_totals(base, year),
            &ledger_totals(reform, year),
            &mut report.flows,
        );
        compare(
            year,
            &analysis_values(base, year),
            &analysis_values(reform, year),
            &mut report.analyses,
        );
    }
    // Horizon totals of the metrics that changed in some year.
    let changed_names: BTreeSet<&str> = report.metrics.iter().map(|c| c.name.as_str()).collect();
    let total = |o: &Outcome, name: &str| -> f64 {
        o.steps.iter().filter_map(|s| s.metrics.get(name)).sum()
    };
    for name in changed_names {
        let (b, r) = (total(base, name), total(reform, name));
        if changed(b, r) {
            report.horizon.push(ValueChange {
                year: 0,
                name: name.to_string(),
                base: b,
                reform: r,
                delta: r - b,
            });
        }
    }
    report.targets = target_changes(&base.analyses.targets, &reform.analyses.targets);
    report.roles = role_changes(base, reform);
    let paths = |o: &Outcome| -> BTreeSet<Vec<String>> {
        o.analyses.circular.iter().map(|l| l.path.clone()).collect()
    };
    let (base_loops, reform_loops) = (paths(base), paths(reform));
    report.loops_added = reform_loops.difference(&base_loops).cloned().collect();
    report.loops_removed = base_loops.difference(&reform_loops).cloned().collect();
    report.findings_added = reform
        .findings
        .iter()
        .filter(|f| !base.findings.contains(f))
        .cloned()
        .collect();
    report.findings_removed = base
        .findings
        .iter()
        .filter(|f| !reform.findings.contains(f))
        .cloned()
        .collect();
    report
}

/// Targets (matched by project, metric and year) whose outcome moved.
fn target_changes(base: &[TargetLine], reform: &[TargetLine]) -> Vec<TargetChange> {
    base.iter()
        .filter_map(|b| {
            let r = reform
                .iter()
                .find(|r| r.project == b.project && r.metric == b.metric && r.by == b.by)?;
            let moved =
                changed(b.value_by, r.value_by) || b.met != r.met || b.first_met != r.first_met;
            moved.then(|| TargetChange {
                project: b.project.clone(),
                metric: b.metric.clone(),
                by: b.by,
                base_value: b.value_by,
                reform_value: r.value_by,
                base_met: b.met,
                reform_met: r.met,
                base_first_met: b.first_met,
                reform_first_met: r.first_met,
            })
        })
        .collect()
}

/// Each (project, actor) whose roles differ between the two role breakdowns.
fn role_changes(base: &Outcome, reform: &Outcome) -> Vec<RoleChange> {
    let roles = |o: &Outcome| -> BTreeMap<(String, String), Vec<Role>> {
        o.roles
            .iter()
            .flat_map(|p| {
                p.participants
                    .iter()
                    .map(|a| ((p.project.clone(), a.actor.clone()), a.roles.clone()))
            })
            .collect()
    };
    let (b, r) = (roles(base), roles(reform));
    let keys: BTreeSet<&(String, String)> = b.keys().chain(r.keys()).collect();
    keys.into_iter()
        .filter_map(|key| {
            let (before, after) = (
                b.get(key).cloned().unwrap_or_default(),
                r.get(key).cloned().unwrap_or_default(),
            );
            (before != after).then(|| RoleChange {
                project: key.0.clone(),
                actor: key.1.clone(),
                base: before,
                reform: after,
            })
        })
        .collect()
}
