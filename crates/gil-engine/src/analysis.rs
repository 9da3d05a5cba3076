//! Built-in analyses: compute overcommitment, power shortfalls, circular financing and
//! project targets.

use std::collections::{BTreeMap, BTreeSet};

use gil_model::{FlowKind, Scenario, FINANCING_VIAS};
use gil_rules::{FlowState, Level, Names, Sym, WorldState};
use petgraph::graph::{DiGraph, NodeIndex};
use rustc_hash::FxHashMap;

use crate::outcome::{ComputeLine, Finding, Loop, PowerLine, Step, TargetLine};
use crate::trace::ImpliedPower;

/// Hours in a (non-leap) year: compute supply is GPUs × hours × utilisation.
pub const HOURS_PER_YEAR: f64 = 8760.0;
/// Longest loop enumerated; longer financing chains are rare and unreadable.
pub const MAX_LOOP_LEN: usize = 6;
/// Relative tolerance for "over capacity" comparisons.
const TOLERANCE: f64 = 1e-12;

fn finding(level: Level, code: &str, message: String, step: Option<i32>, subject: &str) -> Finding {
    Finding {
        level,
        code: code.into(),
        message,
        step,
        subject: Some(subject.into()),
        rule: None,
        at: None,
    }
}

/// Compute supply and demand per GPU cluster; `flows` are the step's flows.
pub(crate) fn compute(
    world: &WorldState,
    flows: &[FlowState],
    findings: &mut Vec<Finding>,
) -> Vec<ComputeLine> {
    let utilisation = world
        .params
        .get("analysis.compute.utilization")
        .copied()
        .unwrap_or(1.0);
    let mut demand: BTreeMap<&str, f64> = BTreeMap::new();
    for f in flows.iter().filter(|f| f.kind == FlowKind::Compute) {
        *demand.entry(world.name(f.from)).or_insert(0.0) += f.amount;
    }
    let mut lines = Vec::new();
    for asset in world.assets.iter().filter(|a| a.kind == "gpu_cluster") {
        let gpus = asset.capacity.get("gpus").copied().unwrap_or(0.0);
        let supply = gpus * HOURS_PER_YEAR * utilisation;
        let drawn = demand.get(asset.id.as_str()).copied().unwrap_or(0.0);
        let overcommitted = drawn > supply * (1.0 + TOLERANCE);
        if overcommitted {
            findings.push(finding(
                Level::Warn,
                "compute.overcommitted",
                format!(
                    "GPU cluster `{}` is overcommitted in {}: {} GPU-hours drawn against a supply of {} ({} GPUs × {} h × {} utilisation)",
                    asset.id,
                    world.year,
                    number(drawn),
                    number(supply),
                    number(gpus),
                    HOURS_PER_YEAR,
                    utilisation
                ),
                Some(world.year),
                &asset.id,
            ));
        }
        if gpus > 0.0 || drawn > 0.0 {
            lines.push(ComputeLine {
                cluster: asset.id.clone(),
                year: world.year,
                supply,
                demand: drawn,
                overcommitted,
            });
        }
    }
    lines
}

/// Power demand per region: power flows into entities in the region, plus GPU clusters
/// without a power flow estimated as GPUs × kW × PUE when those parameters exist.
/// The estimated clusters go to `implied`, for `explain`.
pub(crate) fn power(
    world: &WorldState,
    flows: &[FlowState],
    findings: &mut Vec<Finding>,
    implied: &mut Vec<ImpliedPower>,
) -> Vec<PowerLine> {
    let mut capacity: BTreeMap<&str, f64> = BTreeMap::new();
    for a in world.assets.iter().filter(|a| a.kind == "grid_region") {
        if let Some(region) = &a.region {
            *capacity.entry(region.as_str()).or_insert(0.0) +=
                a.capacity.get("mw").copied().unwrap_or(0.0);
        }
    }
    let region_of = |id: &str| -> Option<&str> {
        if let Some(i) = world.asset_index(id) {
            let asset = &world.assets[i];
            if asset.kind == "grid_region" {
                return None; // supply into the grid itself is not demand
            }
            return asset.region.as_deref();
        }
        world
            .actor_index(id)
            .and_then(|i| world.actors[i].region.as_deref())
    };
    let mut demand: BTreeMap<&str, f64> = BTreeMap::new();
    let mut powered: BTreeSet<&str> = BTreeSet::new();
    for f in flows.iter().filter(|f| f.kind == FlowKind::Power) {
        let to = world.name(f.to);
        powered.insert(to);
        if let Some(region) = region_of(to) {
            *demand.entry(region).or_insert(0.0) += f.amount;
        }
    }
    if let (Some(kw), Some(pue)) = (
        world.params.get("gpu.kw_per_gpu"),
        world.params.get("power.pue"),
    ) {
        for a in world
            .assets
            .iter()
            .filter(|a| a.kind == "gpu_cluster" && !powered.contains(a.id.as_str()))
        {
            let gpus = a.capacity.get("gpus").copied().unwrap_or(0.0);
            if let (Some(region), true) = (a.region.as_deref(), gpus > 0.0) {
                let mw = gpus * kw * pue / 1000.0;
                *demand.entry(region).or_insert(0.0) += mw;
                implied.push(ImpliedPower {
                    year: world.year,
                    cluster: a.id.clone(),
                    region: region.to_string(),
                    gpus,
                    kw_per_gpu: *kw,
                    pue: *pue,
                    mw,
                });
            }
        }
    }
    let mut lines = Vec::new();
    for (region, cap) in &capacity {
        let d = demand.get(region).copied().unwrap_or(0.0);
        let shortfall = if d > cap * (1.0 + TOLERANCE) {
            d - cap
        } else {
            0.0
        };
        if shortfall > 0.0 {
            findings.push(finding(
                Level::Warn,
                "power.shortfall",
                format!("region `{region}` is short of power in {}: {} MW demand against {} MW capacity ({} MW short)", world.year, number(d), number(*cap), number(shortfall)),
                Some(world.year),
                region,
            ));
        }
        lines.push(PowerLine {
            region: region.to_string(),
            year: world.year,
            demand_mw: d,
            capacity_mw: *cap,
            shortfall_mw: shortfall,
        });
    }
    for (region, d) in &demand {
        if !capacity.contains_key(region) && *d > 0.0 {
            findings.push(finding(
                Level::Info,
                "power.no_grid",
                format!("region `{region}` draws {} MW in {} but has no `grid_region` asset, so its capacity is not checked", number(*d), world.year),
                Some(world.year),
                region,
            ));
        }
    }
    lines
}

/// Money over the whole horizon, per (from, to) and `via`, for financing vias only.
type MoneyEdges<'a> = BTreeMap<(&'a str, &'a str), BTreeMap<&'a str, f64>>;

fn is_investment(via: &str) -> bool {
    matches!(via, "investment" | "loan")
}

fn is_buyback(via: &str) -> bool {
    matches!(via, "purchase" | "cloud" | "procurement")
}

pub(crate) fn circular(
    history: &[std::sync::Arc<Vec<FlowState>>],
    run_names: &Names,
    warn_share: f64,
    findings: &mut Vec<Finding>,
) -> Vec<Loop> {
    // One pass over every funding flow of every year, by symbol: hashing a u32 per flow,
    // not its text (the pass sees flows × years; the texts are needed only for the few
    // financing edges, below). Each sum adds its flows in the same order as before.
    let financing: Vec<Sym> = FINANCING_VIAS
        .iter()
        .filter_map(|v| run_names.get(v))
        .collect();
    let mut income: FxHashMap<Sym, f64> = FxHashMap::default();
    let mut by_sym: FxHashMap<(Sym, Sym), Vec<(Sym, f64)>> = FxHashMap::default();
    for f in history
        .iter()
        .flat_map(|year| year.iter())
        .filter(|f| f.kind == FlowKind::Funding)
    {
        *income.entry(f.to).or_insert(0.0) += f.amount;
        let Some(via) = f.via.filter(|v| financing.contains(v)) else {
            continue;
        };
        if f.amount > 0.0 {
            let vias = by_sym.entry((f.from, f.to)).or_default();
            match vias.iter_mut().find(|(v, _)| *v == via) {
                Some((_, sum)) => *sum += f.amount,
                None => vias.push((via, f.amount)),
            }
        }
    }
    let mut edges: MoneyEdges = BTreeMap::new();
    for ((from, to), vias) in &by_sym {
        let edge = edges
            .entry((run_names.name(*from), run_names.name(*to)))
            .or_default();
        for (via, sum) in vias {
            edge.insert(run_names.name(*via), *sum);
        }
    }
    let income_of = |id: &str| {
        run_names
            .get(id)
            .and_then(|sym| income.get(&sym))
            .copied()
            .unwrap_or(0.0)
    };
    // Nodes in id order so indices, components and cycles come out the same every run.
    let names: BTreeSet<&str> = edges.keys().flat_map(|(a, b)| [*a, *b]).collect();
    let names: Vec<&str> = names.into_iter().collect();
    let index: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut graph: DiGraph<&str, f64> = DiGraph::new();
    let nodes: Vec<NodeIndex> = names.iter().map(|n| graph.add_node(*n)).collect();
    for ((a, b), vias) in &edges {
        graph.add_edge(nodes[index[a]], nodes[index[b]], vias.values().sum());
    }
    let amount = |a: &str, b: &str| {
        edges
            .get(&(a, b))
            .map(|v| v.values().sum::<f64>())
            .unwrap_or(0.0)
    };
    let via_amount = |a: &str, b: &str, pick: fn(&str) -> bool| {
        edges
            .get(&(a, b))
            .map(|v| {
                v.iter()
                    .filter(|(k, _)| pick(k))
                    .map(|(_, x)| x)
                    .sum::<f64>()
            })
            .unwrap_or(0.0)
    };

    let mut cycles: Vec<Vec<usize>> = Vec::new();
    for component in petgraph::algo::tarjan_scc(&graph) {
        if component.len() < 2 {
            continue;
        }
        let members: BTreeSet<usize> = component.iter().map(|n| n.index()).collect();
        for &start in &members {
            let mut path = vec![start];
            enumerate_cycles(&graph, &nodes, &members, start, &mut path, &mut cycles);
        }
    }
    cycles.sort();

    let mut loops = Vec::new();
    let mut warned: BTreeSet<String> = BTreeSet::new();
    for cycle in cycles {
        let path: Vec<String> = cycle.iter().map(|&i| names[i].to_string()).collect();
        let edge_amounts: Vec<f64> = (0..path.len())
            .map(|k| amount(&path[k], &path[(k + 1) % path.len()]))
            .collect();
        let bottleneck = edge_amounts.iter().copied().fold(f64::INFINITY, f64::min);
        // The vendor invests in the next actor of the loop and is paid by the previous one.
        let vendor = (0..path.len())
            .filter(|&k| {
                let next = &path[(k + 1) % path.len()];
                let prev = &path[(k + path.len() - 1) % path.len()];
                via_amount(&path[k], next, is_investment) > 0.0
                    && via_amount(prev, &path[k], is_buyback) > 0.0
            })
            .map(|k| path[k].clone())
            .min();
        let (round_trip, investee_share) = match &vendor {
            Some(v) => {
                let vendor_income = income_of(v);
                let investees: Vec<&str> = edges
                    .iter()
                    .filter(|((a, _), vias)| {
                        a == v && vias.iter().any(|(k, x)| is_investment(k) && *x > 0.0)
                    })
                    .map(|((_, b), _)| *b)
                    .collect();
                let round_trip: f64 = investees
                    .iter()
                    .map(|i| via_amount(v, i, is_investment).min(via_amount(i, v, is_buyback)))
                    .sum();
                let bought: f64 = investees.iter().map(|i| via_amount(i, v, is_buyback)).sum();
                if vendor_income > 0.0 {
                    (
                        Some(round_trip / vendor_income),
                        Some(bought / vendor_income),
                    )
                } else {
                    (None, None)
                }
            }
            None => (None, None),
        };
        let warning = round_trip.is_some_and(|r| r > warn_share);
        if let (true, Some(v), Some(r)) = (warning, &vendor, round_trip) {
            if warned.insert(v.clone()) {
                findings.push(finding(
                    Level::Warn,
                    "circular.round_trip",
                    format!(
                        "circular financing: {:.1}% of `{v}`'s income returns from money it invested or lent to its own customers (above the {:.0}% threshold)",
                        r * 100.0,
                        warn_share * 100.0
                    ),
                    None,
                    v,
                ));
            }
        }
        findings.push(finding(
            Level::Info,
            "circular.loop",
            format!(
                "money goes round {} → {}; at most {} can travel the whole loop",
                path.join(" → "),
                path[0],
                number(bottleneck)
            ),
            None,
            &path[0],
        ));
        loops.push(Loop {
            path,
            edges: edge_amounts,
            bottleneck,
            vendor,
            round_trip_share: round_trip,
            investee_income_share: investee_share,
            warning,
        });
    }
    loops
}

/// Elementary cycles through `start` whose other nodes all come after it in id order
/// (so each cycle is found once, from its smallest node), up to [`MAX_LOOP_LEN`].
fn enumerate_cycles(
    graph: &DiGraph<&str, f64>,
    nodes: &[NodeIndex],
    members: &BTreeSet<usize>,
    start: usize,
    path: &mut Vec<usize>,
    out: &mut Vec<Vec<usize>>,
) {
    let Some(&last) = path.last() else { return };
    let mut next: Vec<usize> = graph.neighbors(nodes[last]).map(|n| n.index()).collect();
    next.sort_unstable();
    next.dedup();
    for n in next {
        if n == start {
            out.push(path.clone());
        } else if n > start
            && members.contains(&n)
            && !path.contains(&n)
            && path.len() < MAX_LOOP_LEN
        {
            path.push(n);
            enumerate_cycles(graph, nodes, members, start, path, out);
            path.pop();
        }
    }
}

/// Whether each project target is met in its `by` year, and when it was first met.
pub(crate) fn targets(
    s: &Scenario,
    steps: &[Step],
    known_metric: impl Fn(&str) -> bool,
    findings: &mut Vec<Finding>,
) -> Vec<TargetLine> {
    let mut lines = Vec::new();
    let last = *s.years().end();
    for p in &s.projects {
        for t in &p.targets {
            let metric = t.metric.value.clone();
            let by = t.by.as_ref().map(|b| b.value.0).unwrap_or(last);
            let at_least = t.at_least.as_ref().map(|v| v.value.0);
            let at_most = t.at_most.as_ref().map(|v| v.value.0);
            let holds = |v: f64| crate::outcome::within(at_least, at_most, v);
            let value = |step: &Step| step.metrics.get(&metric).copied().unwrap_or(0.0);
            if !known_metric(&metric) {
                findings.push(finding(
                    Level::Error,
                    "target.unknown_metric",
                    format!(
                        "project `{}` targets the metric `{metric}`, which no step produces",
                        p.id.value
                    ),
                    None,
                    &p.id.value,
                ));
            }
            let value_by = steps
                .iter()
                .find(|st| st.year == by)
                .map(value)
                .unwrap_or(0.0);
            let first_met = steps.iter().find(|st| holds(value(st))).map(|st| st.year);
            let met = known_metric(&metric) && holds(value_by);
            if !met && known_metric(&metric) {
                let bound = match (at_least, at_most) {
                    (Some(x), _) => format!("at least {}", number(x)),
                    (_, Some(x)) => format!("at most {}", number(x)),
                    _ => String::new(),
                };
                let when = match first_met {
                    Some(y) if y > by => {
                        let late = y - by;
                        format!(
                            "; it is first met in {y}, {late} year{} late",
                            if late == 1 { "" } else { "s" }
                        )
                    }
                    Some(y) => format!("; it was met in {y} but not in {by}"),
                    None => "; it is never met within the horizon".to_string(),
                };
                findings.push(finding(
                    Level::Warn,
                    "target.missed",
                    format!("project `{}` misses its target: `{metric}` is {} in {by}, not {bound}{when}", p.id.value, number(value_by)),
                    Some(by),
                    &p.id.value,
                ));
            }
            lines.push(TargetLine {
                project: p.id.value.clone(),
                metric,
                at_least,
                at_most,
                by,
                value_by,
                met,
                first_met,
            });
        }
    }
    lines
}

/// `v` scaled to T (10^12), B (10^9), M (10^6) or k (from 10^4), with its suffix.
pub fn scale_si(v: f64) -> (f64, &'static str) {
    let a = v.abs();
    if a >= 1e12 {
        (v / 1e12, "T")
    } else if a >= 1e9 {
        (v / 1e9, "B")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    }
}

/// A number for people: four significant figures with k / M / B / T, integers below
/// ten thousand as they are.
pub fn number(v: f64) -> String {
    let (scaled, suffix) = scale_si(v);
    if suffix.is_empty() {
        // Whole numbers as they are; otherwise 1 decimal from 100, 2 from 1, and four
        // significant figures below 1.
        let decimals = if scaled.abs() >= 100.0 {
            1
        } else if scaled.abs() >= 1.0 {
            2
        } else if scaled == 0.0 {
            0
        } else {
            (3 - scaled.abs().log10().floor() as i32).clamp(0, 12) as usize
        };
        let factor = 10f64.powi(decimals as i32);
        let rounded = (scaled * factor).round() / factor;
        return if rounded == rounded.trunc() {
            format!("{}", rounded as i64)
        } else {
            format!("{rounded}")
        };
    }
    let digits = if scaled.abs() >= 100.0 {
        1
    } else if scaled.abs() >= 10.0 {
        2
    } else {
        3
    };
    format!("{scaled:.digits$}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::number;

    #[test]
    fn numbers_read_well_in_messages() {
        let cases = [
            (0.0, "0"),
            (5.0, "5"),
            (5556.5868, "5556.6"),
            (12.3456, "12.35"),
            (0.05123456, "0.05123"),
            (0.5, "0.5"),
            (8761.0, "8761"),
            (26_000_000_000.0, "26.00B"),
            (1.9e10, "19.00B"),
            (2.1087e12, "2.109T"),
            (-60_000_000.0, "-60.00M"),
            (12_345.0, "12.35k"),
        ];
        for (v, want) in cases {
            assert_eq!(number(v), want, "{v}");
        }
    }
}
