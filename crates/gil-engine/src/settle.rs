//! Settling one step once its rules have run: the ledger, the conservation check,
//! the compute and power analyses and the outcome's flow lines, the last two by symbol
//! in a [`Book`] until the run renders them.
//! Reads only the step's final world, so with threads it runs beside the next step's
//! rules.

use std::collections::BTreeMap;
use std::sync::Arc;

use gil_model::metric::{MetricKey, PowerMeasure};
use gil_model::{FlowKind, Scenario};
use gil_rules::{FlowState, Names, Sym, WorldState};

use crate::analysis;
use crate::book::{Book, BookLines, PayerLine};
use crate::interned::Interned;
use crate::ledger::{self, StepLedger};
use crate::outcome::{ComputeLine, Finding, PowerLine, Step};
use crate::trace::ImpliedPower;
use crate::EngineError;

/// What one step adds to the outcome once its rules have run. The step carries its
/// rule and power metrics; its ledger, flow lines and built-in flow metrics are in
/// `book`, by symbol, until the run renders them (`book.rs`).
pub(crate) struct Settled {
    pub(crate) step: Step,
    pub(crate) book: Book,
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

/// Ledger, conservation check, compute and power analyses and the outcome's flow lines
/// of one step. Reads only that step's final world.
pub(crate) fn settle(
    s: &Scenario,
    interned: &Interned,
    world: WorldState,
    flows: &Arc<Vec<FlowState>>,
    rule_metrics: BTreeMap<String, f64>,
    rule_findings: Vec<Finding>,
    lines: Lines,
) -> Result<Settled, EngineError> {
    // `world.flows` is empty here: the step's flows come as `flows`, shared with the trace.
    let names = &world.names;
    let ledger = StepLedger::build(flows, names);
    check_conservation(s, world.year, flows, &ledger, names)?;
    let mut metrics = BTreeMap::new();
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
            metrics.insert(key.name(), value);
        }
    }
    let rule_made = rule_metrics.keys().cloned().collect();
    metrics.extend(rule_metrics);
    let lines = match lines {
        Lines::None => BookLines::None,
        Lines::All => BookLines::All(Arc::clone(flows)),
        Lines::PerPayer => BookLines::PerPayer(payer_lines(flows, names, interned)),
    };
    Ok(Settled {
        step: Step {
            year: world.year,
            flows: Vec::new(),
            metrics,
            ledger: BTreeMap::new(),
            rule_metrics: rule_made,
        },
        book: Book { ledger, lines },
        findings,
        compute,
        power,
        implied_power,
    })
}

/// Σ(in − out) over non-boundary entities equals boundary out − boundary in.
fn check_conservation(
    s: &Scenario,
    year: i32,
    flows: &[FlowState],
    ledger: &StepLedger,
    names: &Names,
) -> Result<(), EngineError> {
    let boundary_actors: rustc_hash::FxHashSet<Sym> = s
        .actors
        .iter()
        .filter(|a| a.kind.value == "boundary")
        .filter_map(|a| names.get(&a.id.value))
        .collect();
    let mut inside = 0.0;
    let mut boundary = 0.0;
    let mut volume = 0.0;
    for (id, rows) in ledger.groups() {
        let (inflow, outflow) = ledger::totals(rows, FlowKind::Funding);
        let net = inflow - outflow;
        volume += inflow + outflow;
        if boundary_actors.contains(&id) {
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

/// What one aggregated line adds up while it is built. Most lines have one receiver
/// and at most a rule or two: those take no set of their own.
struct LineSum<'a> {
    amount: f64,
    count: usize,
    /// The first flow's receiver; with a second receiver, every receiver in `others`.
    first_to: Sym,
    others: Option<rustc_hash::FxHashSet<Sym>>,
    /// The rules that made or changed the line's flows, each once, in no order.
    rules: Vec<&'a Arc<str>>,
    first_id: Sym,
}

/// One line per paying actor, kind and `via`, in the outcome's order: the outcome stays
/// proportional to actors, not to the flows rules create; every flow stays in the trace
/// for `explain` and `--flows`.
fn payer_lines(flows: &[FlowState], names: &Names, interned: &Interned) -> Vec<PayerLine> {
    // Grouped in a hash map and sorted once: a B-tree keyed by ids sharing prefixes
    // spent its time comparing strings.
    let mut grouped: rustc_hash::FxHashMap<FlowKey, LineSum<'_>> = Default::default();
    for f in flows.iter().filter(|f| f.amount != 0.0) {
        let line = grouped
            .entry((f.from, f.kind, f.via))
            .or_insert_with(|| LineSum {
                amount: 0.0,
                count: 0,
                first_to: f.to,
                others: None,
                rules: Vec::new(),
                first_id: f.id,
            });
        line.amount += f.amount;
        line.count += 1;
        if f.to != line.first_to || line.others.is_some() {
            let first = line.first_to;
            line.others
                .get_or_insert_with(|| std::iter::once(first).collect())
                .insert(f.to);
        }
        if let Some(p) = f.origin.site(names) {
            if !line.rules.contains(&&p.rule) {
                line.rules.push(&p.rule);
            }
        }
    }
    // In the order of (payer id, kind, `via`) as texts: a payer by its place among the
    // ids, found once per model, so the texts are compared only for `via` between the
    // lines of one payer and kind.
    let mut grouped: Vec<(Option<u32>, FlowKey, LineSum<'_>)> = grouped
        .into_iter()
        .map(|(key, line)| (interned.entity_place(key.0), key, line))
        .collect();
    grouped.sort_unstable_by(|(place_a, a, _), (place_b, b, _)| {
        let payer = match (place_a, place_b) {
            (Some(x), Some(y)) => x.cmp(y),
            _ => names.name(a.0).cmp(names.name(b.0)),
        };
        payer
            .then(a.1.cmp(&b.1))
            .then_with(|| names.opt(a.2).cmp(&names.opt(b.2)))
    });
    grouped
        .into_iter()
        .map(|(_, (from, kind, via), line)| PayerLine {
            from,
            kind,
            via,
            amount: line.amount,
            count: line.count,
            recipients: line.others.as_ref().map_or(1, |others| others.len()),
            only_to: match line.others {
                None => Some(line.first_to),
                Some(_) => None,
            },
            first_id: line.first_id,
            rules: {
                let mut rules: Vec<Arc<str>> = line.rules.into_iter().cloned().collect();
                rules.sort_unstable();
                rules
            },
        })
        .collect()
}
