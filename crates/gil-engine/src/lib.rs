//! gil's evaluation: each step, materialise dated values → run the rules in order,
//! applying each rule's effects when it finishes → settle the ledger, metrics and
//! analyses. Produces the [`Outcome`] document and a [`Trace`] for `explain`.
//!
//! Invariants: rules never touch the world directly (effects are applied here); every
//! flow keeps its origin (scenario entry or rule call site); money is conserved with
//! boundary actors every step, or the run fails loudly.

mod analysis;
mod apply;
pub mod diff;
pub mod explain;
mod materialize;
pub mod outcome;
pub mod parallel;
pub mod roles;
pub mod trace;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gil_model::metric::{Direction, MetricKey, PowerMeasure};

use gil_model::code::Code;
use gil_model::diag::Diagnostic;
use gil_model::{FlowKind, LoadError, Scenario};
use gil_rules::{
    FlowState, KnownNames, RuleError, RuleRuntime, RuleSource, SandboxConfig, WorldState,
};

pub use analysis::{number, scale_si, HOURS_PER_YEAR, MAX_LOOP_LEN};
pub use materialize::{materialize, params_at};
pub use outcome::*;
pub use trace::Trace;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// A broken internal invariant: a bug in gil, not in the input.
    #[error(
        "internal invariant broken in {year}: {message} (this is a bug in gil; please report it)"
    )]
    Invariant { year: i32, message: String },
    /// A parameter override names a parameter the scenario does not have.
    #[error("the scenario has no parameter `{name}`{}", hint.as_ref().map(|h| format!(" (did you mean `{h}`?)")).unwrap_or_default())]
    UnknownParam { name: String, hint: Option<String> },
    /// A parameter override is NaN or infinite.
    #[error("the parameter `{name}` must be a finite number")]
    NonFiniteParam { name: String },
    /// The run was stopped from outside (SIGINT, SIGTERM) between two rules.
    #[error("the run was interrupted")]
    Interrupted,
}

/// How to evaluate.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--param name=value` and reform parameters: replace a parameter's values.
    pub params: BTreeMap<String, gil_model::Dated>,
    /// List every flow in the outcome instead of one line per paying actor, kind and `via`.
    pub all_flows: bool,
    /// Set from outside (SIGINT, SIGTERM) to stop between rules and years.
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Worker threads for per-entity hooks (0 or 1: all on the calling thread). The
    /// outcome is the same for every number.
    pub threads: usize,
}

/// The outcome and the trace behind it.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub outcome: Outcome,
    pub trace: Trace,
    /// Wall-clock time in rules (calls and applying effects) and in everything else
    /// (materialising, settling, analyses). Never part of the outcome.
    pub rules_time: Duration,
    pub analyses_time: Duration,
    /// Hook calls made on worker threads (the main runtime counts its own).
    pub worker_calls: u64,
}

/// Names rules may refer to, from the scenario.
pub fn known_names(s: &Scenario) -> KnownNames {
    KnownNames {
        params: s.parameters.keys().cloned().collect(),
        actor_kinds: gil_model::ACTOR_KINDS
            .iter()
            .map(|k| k.to_string())
            .chain(s.kinds.actor.iter().cloned())
            .collect(),
        asset_kinds: gil_model::ASSET_KINDS
            .iter()
            .map(|k| k.to_string())
            .chain(s.kinds.asset.iter().cloned())
            .collect(),
        actors: s.actors.iter().map(|a| a.id.value.clone()).collect(),
        assets: s.assets.iter().map(|a| a.id.value.clone()).collect(),
        projects: s.projects.iter().map(|p| p.id.value.clone()).collect(),
    }
}

/// Reads the rule files named in the scenario header (relative to the scenario file)
/// and any extra entries (`--rules`, relative to the working directory).
///
/// Every rule is known by its path relative to the scenario's folder (chunk names,
/// provenance, the outcome), so documents are the same bytes from any working
/// directory; [`gil_model::load::from_base`] turns it back into a path to open.
pub fn rule_sources(s: &Scenario, extra: &[PathBuf]) -> Result<Vec<RuleSource>, LoadError> {
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    for (i, entry) in s.header.rules.iter().enumerate() {
        let resolved = s.root_dir.join(&entry.value);
        match read_rules(s, &resolved) {
            Ok(mut found) => sources.append(&mut found),
            Err(e) => problems.push(
                Diagnostic::error(Code::RuleIo, e.message)
                    .at(entry.span)
                    .path(format!("scenario.rules[{i}]")),
            ),
        }
    }
    for path in extra {
        match read_rules(s, path) {
            Ok(mut found) => sources.append(&mut found),
            Err(e) => problems
                .push(Diagnostic::error(Code::RuleIo, e.message).file(path.display().to_string())),
        }
    }
    if !problems.is_empty() {
        return Err(LoadError {
            sources: s.sources.clone(),
            diagnostics: problems,
        });
    }
    // A file named twice (a folder and a file in it) is loaded once.
    let mut seen = BTreeSet::new();
    sources
        .retain(|s| seen.insert(std::fs::canonicalize(&s.path).unwrap_or_else(|_| s.path.clone())));
    Ok(sources)
}

/// The rule files at `resolved`, each named relative to the scenario's folder.
fn read_rules(s: &Scenario, resolved: &Path) -> Result<Vec<RuleSource>, RuleError> {
    let written = gil_model::load::relative_to(&s.root_dir, resolved);
    gil_rules::read_entry(&written, resolved)
}

/// Loads the scenario's rules into a fresh runtime. Every problem in every rule file
/// comes back at once, as diagnostics positioned in the rule files.
pub fn load_rules(
    s: &Scenario,
    extra: &[PathBuf],
    config: SandboxConfig,
) -> Result<RuleRuntime, LoadError> {
    let sources = rule_sources(s, extra)?;
    RuleRuntime::load(&sources, known_names(s), config)
        .map_err(|errors| gil_rules::RuleFiles::new(&sources).load_error(&errors))
}

/// Checks parameter overrides against the scenario.
pub fn check_params(
    s: &Scenario,
    params: &BTreeMap<String, gil_model::Dated>,
) -> Result<(), EngineError> {
    for (name, value) in params {
        if !s.parameters.contains_key(name) {
            let hint = gil_model::diag::did_you_mean(name, s.parameters.keys().map(String::as_str))
                .map(str::to_string);
            return Err(EngineError::UnknownParam {
                name: name.clone(),
                hint,
            });
        }
        if value.values().iter().any(|v| !v.is_finite()) {
            return Err(EngineError::NonFiniteParam { name: name.clone() });
        }
    }
    Ok(())
}

/// Evaluates every step of the scenario with the loaded rules.
pub fn evaluate(
    s: &Scenario,
    rules: &RuleRuntime,
    options: &Options,
) -> Result<Evaluation, EngineError> {
    check_params(s, &options.params)?;
    let started = Instant::now();
    let mut rules_time = Duration::ZERO;
    let mut workers = if options.threads > 1 {
        Some(parallel::Workers::start(options.threads, rules)?)
    } else {
        None
    };
    let mut persistent = materialize::Persistent::new();
    let mut history: Vec<std::sync::Arc<Vec<FlowState>>> = Vec::new();
    let mut steps = Vec::new();
    let mut findings = Vec::new();
    let mut analyses = Analyses::default();
    let mut rule_roles = Vec::new();
    let mut trace = Trace::default();
    let regions: BTreeSet<String> = s
        .assets
        .iter()
        .filter_map(|a| a.region.as_ref().map(|r| r.value.clone()))
        .collect();
    // With threads, a step is settled on a helper thread while the next step's rules
    // run: settling only reads the step's final world. Results are joined in year
    // order, so the outcome is the same for any number of threads.
    let pipelined = options.threads > 1;

    std::thread::scope(|scope| -> Result<(), EngineError> {
        let mut pending: Option<std::thread::ScopedJoinHandle<'_, Result<Settled, EngineError>>> =
            None;
        let mut collect = |settled: Settled| {
            findings.extend(settled.findings);
            analyses.compute.extend(settled.compute);
            analyses.power.extend(settled.power);
            steps.push(settled.step);
        };
        let join = |handle: std::thread::ScopedJoinHandle<'_, Result<Settled, EngineError>>| {
            handle.join().unwrap_or_else(|_| {
                Err(EngineError::Invariant {
                    year: 0,
                    message: "a settling thread panicked".into(),
                })
            })
        };
        for year in s.years() {
            let mut world = materialize(s, year, &options.params, &persistent);
            world.history = std::mem::take(&mut history);
            rules.set_world(world)?;
            let mut acc = apply::StepAcc::default();
            let mut step_trace = trace::StepTrace {
                year,
                ..Default::default()
            };
            let rules_started = Instant::now();
            let ran = run_rules(
                rules,
                options,
                workers.as_mut(),
                &mut acc,
                &mut persistent,
                &mut step_trace,
            );
            rules_time += rules_started.elapsed();
            if let Err(e) = ran {
                // An earlier step's failure (an invariant) came first.
                if let Some(handle) = pending.take() {
                    join(handle)?;
                }
                return Err(e);
            }
            let mut world = rules.take_world();
            history = std::mem::take(&mut world.history);
            check_metric_names(s, &regions, &acc, &step_trace)?;
            rule_roles.extend(acc.roles);
            // Kept for the rest of the run (trace, ctx.total, circular analysis): drop the
            // spare capacity the rules' pushes left (up to half the vector).
            world.flows.shrink_to_fit();
            let flows = std::sync::Arc::new(std::mem::take(&mut world.flows));
            let job = {
                let flows = flows.clone();
                let (metrics, step_findings) = (acc.metrics, acc.findings);
                let all_flows = options.all_flows;
                move || settle(s, world, &flows, metrics, step_findings, all_flows)
            };
            if pipelined {
                if let Some(handle) = pending.take() {
                    collect(join(handle)?);
                }
                pending = Some(scope.spawn(job));
            } else {
                collect(job()?);
            }
            step_trace.flows = flows.clone();
            trace.steps.push(step_trace);
            history.push(flows);
        }
        if let Some(handle) = pending.take() {
            collect(join(handle)?);
        }
        Ok(())
    })?;

    let warn_share = s
        .param("analysis.circular.warn_share", *s.years().end())
        .unwrap_or(0.2);
    let warn_share = options
        .params
        .get("analysis.circular.warn_share")
        .and_then(|d| d.at(*s.years().end()))
        .unwrap_or(warn_share);
    analyses.circular = analysis::circular(&history, warn_share, &mut findings);
    let known_metric = |name: &str| {
        steps.iter().any(|st| st.metrics.contains_key(name))
            || is_builtin_metric_name(s, &regions, name)
    };
    analyses.targets = analysis::targets(s, &steps, known_metric, &mut findings);
    sort_findings(&mut findings);
    let roles = roles::build(s, &trace, &rule_roles, &analyses.targets, &findings);
    let mut ledger_total: BTreeMap<String, LedgerEntry> = BTreeMap::new();
    for step in &steps {
        for (id, entry) in &step.ledger {
            ledger_total.entry(id.clone()).or_default().add(entry);
        }
    }

    let outcome = Outcome {
        scenario: ScenarioSummary {
            id: s.id().to_string(),
            title: s.header.title.clone(),
            currency: s.currency().to_string(),
            horizon: [*s.years().start(), *s.years().end()],
            rules: rules
                .order()
                .iter()
                .filter_map(|&i| rules.rules().get(i))
                .map(|r| RuleSummary {
                    id: r.id.clone(),
                    title: r.title.clone(),
                    kind: r.kind.clone(),
                    file: r.file.clone(),
                    params: r.params.clone(),
                })
                .collect(),
            sources: s.all_sources(),
        },
        steps,
        ledger_total,
        findings,
        analyses,
        roles,
    };
    let analyses_time = started.elapsed().saturating_sub(rules_time);
    let worker_calls = workers.as_ref().map(|w| w.calls).unwrap_or(0);
    drop(workers);
    Ok(Evaluation {
        worker_calls,
        outcome,
        trace,
        rules_time,
        analyses_time,
    })
}

/// Runs every rule of the step in order, applying each rule's effects when it ends.
fn run_rules(
    rules: &RuleRuntime,
    options: &Options,
    mut workers: Option<&mut parallel::Workers>,
    acc: &mut apply::StepAcc,
    persistent: &mut materialize::Persistent,
    step_trace: &mut trace::StepTrace,
) -> Result<(), EngineError> {
    if let Some(workers) = workers.as_deref_mut() {
        workers.new_step();
    }
    for &index in rules.order() {
        if options
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
        {
            return Err(EngineError::Interrupted);
        }
        let effects = match workers.as_deref_mut() {
            None => rules.run(index)?,
            Some(workers) => workers.run_rule(rules, index)?,
        };
        if effects.is_empty() {
            continue;
        }
        // Views of entities the effects did not touch stay valid for the next rule.
        let touched = {
            let mut world = rules.world_mut_keeping_views();
            apply::apply(&mut world, effects, acc, persistent, step_trace)?
        };
        rules.forget_views(&touched)?;
        if let Some(workers) = workers.as_deref_mut() {
            workers.note_touched(&touched);
        }
    }
    Ok(())
}

/// A rule metric may not take a built-in metric's name (`funding.in.<id>`, …).
fn check_metric_names(
    s: &Scenario,
    regions: &BTreeSet<String>,
    acc: &apply::StepAcc,
    step_trace: &trace::StepTrace,
) -> Result<(), EngineError> {
    let Some(name) = acc
        .metrics
        .keys()
        .find(|name| is_builtin_metric_name(s, regions, name))
    else {
        return Ok(());
    };
    let first = step_trace
        .metrics
        .get(name)
        .and_then(|c| c.first())
        .map(|c| c.provenance.clone());
    let (file, line, rule) = first
        .map(|p| (p.file.to_string(), Some(p.line), p.rule.to_string()))
        .unwrap_or_default();
    Err(RuleError::new(
        gil_rules::RuleErrorKind::Effect,
        file,
        line,
        format!("ctx.metric: `{name}` is a built-in metric; choose another name"),
    )
    .rule(rule)
    .into())
}

/// What one step adds to the outcome once its rules have run.
struct Settled {
    step: Step,
    findings: Vec<Finding>,
    compute: Vec<ComputeLine>,
    power: Vec<PowerLine>,
}

/// Ledger, conservation check, built-in metrics, compute and power analyses and the
/// outcome's flow lines of one step. Reads only that step's final world.
fn settle(
    s: &Scenario,
    world: WorldState,
    flows: &[FlowState],
    rule_metrics: BTreeMap<String, f64>,
    rule_findings: Vec<Finding>,
    all_flows: bool,
) -> Result<Settled, EngineError> {
    // `world.flows` is empty here: the step's flows come as `flows`, shared with the trace.
    let ledger = ledger(flows);
    check_conservation(s, world.year, flows, &ledger)?;
    let mut metrics = builtin_metrics(&ledger);
    let mut findings = rule_findings;
    let compute = analysis::compute(&world, flows, &mut findings);
    let power = analysis::power(&world, flows, &mut findings);
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
            flows: flow_lines(flows, s.currency(), all_flows),
            metrics,
            ledger,
            rule_metrics: rule_made,
        },
        findings,
        compute,
        power,
    })
}

/// Whether `name` is a built-in metric of this scenario: the built-in form, for an
/// entity or region it has.
fn is_builtin_metric_name(s: &Scenario, regions: &BTreeSet<String>, name: &str) -> bool {
    match MetricKey::builtin_form(name) {
        Some(MetricKey::Flow { entity, .. }) => s.entity(entity).is_some(),
        Some(MetricKey::Power { region, .. }) => regions.contains(region),
        _ => false,
    }
}

/// Findings in a stable order: by step (unstepped last), then level (most severe
/// first), code, subject and message.
fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        let key = |f: &Finding| {
            (
                f.step.unwrap_or(i32::MAX),
                std::cmp::Reverse(f.level),
                f.code.clone(),
                f.subject.clone(),
                f.message.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
}

fn ledger(flows: &[FlowState]) -> BTreeMap<String, LedgerEntry> {
    // Sum under borrowed ids in a hash map, sort once at the end: ids share prefixes,
    // so a B-tree of strings spent most of settling in comparisons.
    let mut sums: rustc_hash::FxHashMap<&str, LedgerEntry> = Default::default();
    for f in flows.iter().filter(|f| f.amount != 0.0) {
        let via = f.via.as_deref().unwrap_or("-");
        let kind = f.kind.as_str();
        sums.entry(&f.from)
            .or_default()
            .outflow
            .add(kind, via, f.amount);
        sums.entry(&f.to)
            .or_default()
            .inflow
            .add(kind, via, f.amount);
    }
    sums.into_iter()
        .map(|(id, entry)| (id.to_string(), entry))
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
type FlowKey<'a> = (&'a str, FlowKind, Option<&'a str>);

/// What one aggregated line adds up while it is built.
struct LineSum<'a> {
    amount: f64,
    count: usize,
    receivers: rustc_hash::FxHashSet<&'a str>,
    rules: BTreeSet<&'a str>,
    first_id: &'a str,
}

/// The step's flows for the outcome: every flow (`--flows`), or by default one line per
/// paying actor, kind and `via` — the outcome stays proportional to actors, not to the
/// flows rules create; every flow stays in the trace for `explain` and `--flows`.
fn flow_lines(flows: &[FlowState], currency: &str, all: bool) -> Vec<FlowLine> {
    let rule_of = |f: &FlowState| match &f.origin {
        gil_rules::FlowOrigin::Rule(p) => Some(p.rule.to_string()),
        gil_rules::FlowOrigin::Scenario(_) => None,
    };
    if all {
        let mut lines: Vec<FlowLine> = flows
            .iter()
            .map(|f| FlowLine {
                id: Some(f.id.clone()),
                from: f.from.clone(),
                to: Some(f.to.clone()),
                kind: f.kind,
                via: f.via.clone(),
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
    let mut grouped: rustc_hash::FxHashMap<FlowKey<'_>, LineSum<'_>> = Default::default();
    for f in flows.iter().filter(|f| f.amount != 0.0) {
        let line = grouped
            .entry((&f.from, f.kind, f.via.as_deref()))
            .or_insert_with(|| LineSum {
                amount: 0.0,
                count: 0,
                receivers: Default::default(),
                rules: BTreeSet::new(),
                first_id: &f.id,
            });
        line.amount += f.amount;
        line.count += 1;
        line.receivers.insert(&f.to);
        if let gil_rules::FlowOrigin::Rule(p) = &f.origin {
            line.rules.insert(&p.rule);
        }
    }
    let mut grouped: Vec<(FlowKey<'_>, LineSum<'_>)> = grouped.into_iter().collect();
    grouped.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    grouped
        .into_iter()
        .map(|((from, kind, via), line)| FlowLine {
            id: (line.count == 1).then(|| line.first_id.to_string()),
            unit: kind.base_unit(currency),
            from: from.to_string(),
            to: (line.receivers.len() == 1)
                .then(|| line.receivers.iter().next().map(|r| r.to_string()))
                .flatten(),
            kind,
            via: via.map(str::to_string),
            amount: line.amount,
            count: line.count,
            recipients: line.receivers.len(),
            rules: line.rules.into_iter().map(str::to_string).collect(),
        })
        .collect()
}
