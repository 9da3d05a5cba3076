//! Each step's sums by symbol — every entity's ledger entry and the outcome's flow lines —
//! kept as settling makes them and turned into the outcome's texts once, at the end of
//! the run, for the entities the outcome lists ([`Keep`]).
//!
//! At national scale the document lists only the entities something in it names (see
//! `summary.rs`), which are known only once the run is over. Settling every step into
//! maps keyed by text, built-in metric names included, and then dropping all but a few
//! hundred cost more than a third of a columnar run's analyses phase and most of the
//! outcome's memory; a book costs a symbol and the sums.
//!
//! [`render_books`] is that last part of a run: which entities the outcome lists
//! ([`crate::Listing`]), the targets' built-in metrics first, and every step's book.

use std::collections::BTreeMap;
use std::sync::Arc;

use gil_model::metric::{Direction, MetricKey};
use gil_model::{FlowKind, Scenario};
use gil_rules::{FlowState, Names, Sym};
use rustc_hash::FxHashSet;

use crate::ledger::{self, StepLedger, ViaTexts};
use crate::outcome::{FlowLine, LedgerEntry, Omitted, Outcome, Step};
use crate::{Detail, Listing, Options};

/// One step's sums by symbol, waiting to become the step's texts.
#[derive(Debug, Default)]
pub(crate) struct Book {
    /// Every actor and asset with a non-zero flow this step, its ins and outs.
    pub(crate) ledger: StepLedger,
    pub(crate) lines: BookLines,
}

/// The step's flow lines, as settling found them.
#[derive(Debug, Default)]
pub(crate) enum BookLines {
    /// None (a sweep's run).
    #[default]
    None,
    /// One line per paying actor, kind and `via`, sorted as the outcome lists them.
    PerPayer(Vec<PayerLine>),
    /// Every flow (`--flows`): the step's own flows, shared with the trace.
    All(Arc<Vec<FlowState>>),
}

/// The flows of one paying actor, kind and `via` in one step, added up.
#[derive(Debug)]
pub(crate) struct PayerLine {
    pub(crate) from: Sym,
    pub(crate) kind: FlowKind,
    pub(crate) via: Option<Sym>,
    pub(crate) amount: f64,
    pub(crate) count: usize,
    pub(crate) recipients: usize,
    /// The receiver, when every flow of the line goes to one.
    pub(crate) only_to: Option<Sym>,
    /// The first flow's id, named when the line is one flow.
    pub(crate) first_id: Sym,
    /// The rules that made or changed the line's flows, sorted.
    pub(crate) rules: Vec<Arc<str>>,
}

/// Which entities the outcome lists: their ledger, flow lines and built-in metrics.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Keep<'a> {
    All,
    Only(&'a FxHashSet<Sym>),
}

impl Keep<'_> {
    fn keeps(self, sym: Sym) -> bool {
        match self {
            Keep::All => true,
            Keep::Only(set) => set.contains(&sym),
        }
    }
}

impl Book {
    /// The built-in flow metrics (`flow.<kind>.<in|out>.<id>`) of the kept entities into
    /// `metrics`; returns how many of the others' it left out when `count` is set.
    pub(crate) fn builtin_metrics(
        &self,
        names: &Names,
        keep: Keep<'_>,
        metrics: &mut BTreeMap<String, f64>,
        count: bool,
    ) -> usize {
        let mut left_out = 0;
        for (sym, rows) in self.ledger.groups() {
            let kept = keep.keeps(sym);
            if !kept && !count {
                continue;
            }
            for kind in [FlowKind::Funding, FlowKind::Compute, FlowKind::Power] {
                let (inflow, outflow) = ledger::totals(rows, kind);
                for (direction, value) in [(Direction::In, inflow), (Direction::Out, outflow)] {
                    if value == 0.0 {
                        continue;
                    }
                    if !kept {
                        left_out += 1;
                        continue;
                    }
                    let key = MetricKey::Flow {
                        kind,
                        direction,
                        entity: names.name(sym),
                    };
                    metrics.insert(key.name(), value);
                }
            }
        }
        left_out
    }

    /// The step's ledger, built-in metrics and flow lines of the kept entities, written
    /// into `step`; each kept entry is also added to `ledger_total`. What it leaves out
    /// is counted in `omitted`.
    pub(crate) fn render(
        self,
        step: &mut Step,
        names: &Names,
        currency: &str,
        keep: Keep<'_>,
        ledger_total: &mut BTreeMap<String, LedgerEntry>,
        omitted: &mut Omitted,
    ) {
        omitted.metrics += self.builtin_metrics(names, keep, &mut step.metrics, true);
        let mut vias = ViaTexts::default();
        for (sym, rows) in self.ledger.groups() {
            if !keep.keeps(sym) {
                omitted.ledger_entries += 1;
                continue;
            }
            let entry = StepLedger::entry(rows, names, &mut vias);
            let id = names.name(sym);
            match ledger_total.get_mut(id) {
                Some(sum) => sum.add(&entry),
                None => ledger_total.entry(id.to_string()).or_default().add(&entry),
            }
            step.ledger.insert(id.to_string(), entry);
        }
        step.flows = match self.lines {
            BookLines::None => Vec::new(),
            BookLines::PerPayer(lines) => {
                let total = lines.len();
                let kept: Vec<FlowLine> = lines
                    .into_iter()
                    .filter(|l| keep.keeps(l.from) || l.only_to.is_some_and(|to| keep.keeps(to)))
                    .map(|l| payer_line(l, names, currency))
                    .collect();
                omitted.flow_lines += total - kept.len();
                kept
            }
            BookLines::All(flows) => {
                let kept: Vec<&FlowState> = flows
                    .iter()
                    .filter(|f| keep.keeps(f.from) || keep.keeps(f.to))
                    .collect();
                omitted.flow_lines += flows.len() - kept.len();
                every_flow(&kept, names, currency)
            }
        };
    }
}

/// A [`PayerLine`] as the outcome shows it.
fn payer_line(line: PayerLine, names: &Names, currency: &str) -> FlowLine {
    FlowLine {
        id: (line.count == 1).then(|| names.name(line.first_id).to_string()),
        unit: line.kind.base_unit(currency),
        from: names.name(line.from).to_string(),
        to: line.only_to.map(|r| names.name(r).to_string()),
        kind: line.kind,
        via: names.opt(line.via).map(str::to_string),
        amount: line.amount,
        count: line.count,
        recipients: line.recipients,
        rules: line.rules.iter().map(|r| r.to_string()).collect(),
    }
}

/// Every flow as its own line (`--flows`), sorted by from, to, kind, `via` and id.
fn every_flow(flows: &[&FlowState], names: &Names, currency: &str) -> Vec<FlowLine> {
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
            rules: match f.origin.site(names) {
                Some(p) => vec![p.rule.to_string()],
                None => Vec::new(),
            },
        })
        .collect();
    lines.sort_by(|a, b| {
        (&a.from, &a.to, &a.kind, &a.via, &a.id).cmp(&(&b.from, &b.to, &b.kind, &b.via, &b.id))
    });
    lines
}

/// The built-in flow metrics the projects' targets read, into each step's metrics, so the
/// analyses can judge the targets before the outcome is rendered.
pub(crate) fn render_target_metrics(
    s: &Scenario,
    steps: &mut [Step],
    books: &[Book],
    names: &Names,
) {
    let targeted = target_entities(s, names);
    for (step, book) in steps.iter_mut().zip(books) {
        book.builtin_metrics(names, Keep::Only(&targeted), &mut step.metrics, false);
    }
}

/// The actors and assets whose built-in flow metrics a project's target reads.
fn target_entities(s: &Scenario, names: &Names) -> FxHashSet<Sym> {
    s.projects
        .iter()
        .flat_map(|p| &p.targets)
        .filter_map(|t| match MetricKey::builtin_form(&t.metric.value) {
            Some(MetricKey::Flow { entity, .. }) => names.get(entity),
            _ => None,
        })
        .collect()
}

/// Each step's book into the outcome's texts, for the entities `options.listing` lists,
/// with every kept entity's ledger over the horizon (with `Detail::Full`).
pub(crate) fn render_books(
    outcome: &mut Outcome,
    books: Vec<Book>,
    names: &Names,
    options: &Options,
) {
    let full = options.detail == Detail::Full;
    if !full {
        // A sweep's run: the metrics alone.
        for (step, book) in outcome.steps.iter_mut().zip(&books) {
            book.builtin_metrics(names, Keep::All, &mut step.metrics, false);
        }
        return;
    }
    let named = match options.listing {
        Listing::Named => named_entities(outcome, &books, names),
        Listing::Every => None,
    };
    let keep = match &named {
        Some((set, _)) => Keep::Only(set),
        None => Keep::All,
    };
    let mut omitted = Omitted::default();
    let mut ledger_total = BTreeMap::new();
    let currency = outcome.scenario.currency.clone();
    for (step, book) in outcome.steps.iter_mut().zip(books) {
        book.render(
            step,
            names,
            &currency,
            keep,
            &mut ledger_total,
            &mut omitted,
        );
    }
    outcome.ledger_total = ledger_total;
    if let Some((_, unnamed)) = named {
        omitted.entities = unnamed;
        outcome.omitted = Some(omitted);
    }
}

/// The entities a summarized document lists (see `summary.rs`), as symbols, and how
/// many entities with flows it leaves out; `None` when it lists every one.
fn named_entities(
    outcome: &Outcome,
    books: &[Book],
    names: &Names,
) -> Option<(FxHashSet<Sym>, usize)> {
    let with_flows: FxHashSet<Sym> = books.iter().flat_map(|b| b.ledger.entities()).collect();
    if with_flows.len() <= crate::summary::FULL_DOCUMENT_MAX {
        return None;
    }
    let named: FxHashSet<Sym> = outcome
        .named_entities()
        .into_iter()
        .filter_map(|id| names.get(id))
        .collect();
    let unnamed = with_flows.iter().filter(|e| !named.contains(e)).count();
    (unnamed > 0).then_some((named, unnamed))
}
