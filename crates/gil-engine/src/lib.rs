//! gil's evaluation: each step, materialise dated values → run the rules in order,
//! applying each rule's effects when it finishes → settle the ledger, metrics and
//! analyses. Produces the [`Outcome`] document and a [`Trace`] for `explain`.
//!
//! Invariants: rules never touch the world directly (effects are applied here); every
//! flow keeps its origin (scenario entry or rule call site); money is conserved with
//! boundary actors every step, or the run fails loudly.

mod analysis;
mod apply;
mod book;
pub mod diff;
pub mod explain;
pub mod interned;
mod ledger;
mod materialize;
pub mod model;
pub mod outcome;
pub mod parallel;
pub mod roles;
mod settle;
pub mod summary;
pub mod trace;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gil_model::metric::MetricKey;

use gil_model::code::Code;
use gil_model::diag::Diagnostic;
use gil_model::{LoadError, Scenario};
use gil_rules::{
    FlowState, KnownNames, Names, RuleError, RuleRuntime, RuleSource, SandboxConfig, WorldState,
};

pub use analysis::{number, scale_si, HOURS_PER_YEAR, MAX_LOOP_LEN};
pub use interned::Interned;
pub use materialize::{materialize, params_at};
pub use model::{Evaluate, Evaluator, Model, Params, SharedEvaluator};
pub use outcome::*;
use settle::{settle, Settled};
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
    /// A number given for a text or list parameter.
    #[error("the parameter `{name}` holds a text or a list of texts, not a number")]
    TextParam { name: String },
    /// A text given for a parameter that is a number.
    #[error("the parameter `{name}` is a number, not a text")]
    NumberParam { name: String },
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
    /// `--param` and reform values of text and list parameters.
    pub text_params: BTreeMap<String, gil_model::TextValue>,
    /// List every flow in the outcome instead of one line per paying actor, kind and `via`.
    pub all_flows: bool,
    /// How much of the outcome to build: everything, or only what a sweep keeps.
    pub detail: Detail,
    /// Set from outside (SIGINT, SIGTERM) to stop between rules and years.
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Worker threads for per-entity hooks (0 or 1: all on the calling thread). The
    /// outcome is the same for every number.
    pub threads: usize,
    /// Told after every rule of every year, for a progress bar. Never changes the
    /// outcome.
    pub progress: Option<ProgressFn>,
    /// Keep in the trace what `explain` shows besides the flows: every adjustment and
    /// `ctx.set` with its call site, and each rule metric's contributions per call site
    /// and per entity, with the entity's values. Costs a record per effect; a run
    /// without it keeps each step's flows only.
    pub explain: bool,
    /// Which entities the outcome lists one by one (their ledger, flow lines and
    /// built-in metrics).
    pub listing: Listing,
}

/// Which actors and assets the outcome lists one by one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Listing {
    /// Every one with a flow.
    #[default]
    Every,
    /// Above [`summary::FULL_DOCUMENT_MAX`] actors and assets with flows, only those
    /// something in the outcome names, with `omitted` counting the rest: the document
    /// `gil run` writes as JSON or YAML, the same as [`Outcome::summarized`] makes from
    /// a whole outcome, built without rendering what it leaves out.
    Named,
}

/// How much of the outcome a run builds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Detail {
    /// The whole outcome.
    #[default]
    Full,
    /// What a sweep keeps of a run: each step's metrics, the findings and the analyses
    /// (targets among them). No flow lines, no ledger (per step or over the horizon)
    /// and no roles, which a sweep never reads; every number that is built is the same
    /// as in `Full`.
    Metrics,
}

/// Where a run is: the rule that just finished, and how many of the run's rule runs
/// (years × rules) are done.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    pub year: i32,
    pub rule: &'a str,
    pub done: usize,
    pub total: usize,
}

/// A progress callback (`Options::progress`), shareable across threads.
#[derive(Clone)]
pub struct ProgressFn(pub Arc<dyn Fn(Progress<'_>) + Send + Sync>);

impl std::fmt::Debug for ProgressFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressFn")
    }
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
        params: s
            .parameters
            .keys()
            .chain(s.text_parameters.keys())
            .cloned()
            .collect(),
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
    let entries: Vec<PathBuf> = s
        .header
        .rules
        .iter()
        .map(|entry| s.root_dir.join(&entry.value))
        .chain(extra.iter().cloned())
        .collect();
    let root = project_folder(&s.root_dir, &entries);
    let display = |path: &Path| gil_model::load::relative_to(&s.root_dir, path);
    let project = gil_rules::modules::Project {
        root: &root,
        display: &display,
    };
    gil_rules::modules::gather(&mut sources, &project)
        .map_err(|errors| gil_rules::RuleFiles::new(&sources).load_error(&errors))?;
    Ok(sources)
}

/// The project folder of a run, which `require` may not leave: the deepest folder
/// holding the scenario's folder and every rule entry, or the nearest folder above it
/// with a `.luaurc` (Luau's project marker), so the tests of a rule library in
/// `rules/tax/` may require `rules/lib/` when `rules/.luaurc` exists.
fn project_folder(scenario_dir: &Path, entries: &[PathBuf]) -> PathBuf {
    let absolute = |p: &Path| {
        gil_model::load::normalize(&std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
    };
    let mut root = absolute(scenario_dir);
    for entry in entries {
        let entry = absolute(entry);
        let folder = if entry.is_dir() {
            entry
        } else {
            entry.parent().map(Path::to_path_buf).unwrap_or(entry)
        };
        while !folder.starts_with(&root) {
            match root.parent() {
                Some(parent) => root = parent.to_path_buf(),
                None => break,
            }
        }
    }
    match root.ancestors().find(|d| d.join(".luaurc").is_file()) {
        Some(marked) => marked.to_path_buf(),
        None => root,
    }
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

/// Checks parameter overrides against the scenario: numbers for its numeric
/// parameters (finite), texts for its text and list parameters.
pub fn check_params(
    s: &Scenario,
    params: &BTreeMap<String, gil_model::Dated>,
    texts: &BTreeMap<String, gil_model::TextValue>,
) -> Result<(), EngineError> {
    let unknown = |name: &String, known: &mut dyn Iterator<Item = &String>| {
        let hint = gil_model::diag::did_you_mean(name, known.map(String::as_str));
        EngineError::UnknownParam {
            name: name.clone(),
            hint: hint.map(str::to_string),
        }
    };
    for (name, value) in params {
        if s.text_parameters.contains_key(name) {
            return Err(EngineError::TextParam { name: name.clone() });
        }
        if !s.parameters.contains_key(name) {
            let mut known = s.parameters.keys().chain(s.text_parameters.keys());
            return Err(unknown(name, &mut known));
        }
        if value.values().iter().any(|v| !v.is_finite()) {
            return Err(EngineError::NonFiniteParam { name: name.clone() });
        }
    }
    for name in texts.keys() {
        if s.parameters.contains_key(name) {
            return Err(EngineError::NumberParam { name: name.clone() });
        }
        if !s.text_parameters.contains_key(name) {
            return Err(unknown(name, &mut s.text_parameters.keys()));
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
    evaluate_interned(s, &Interned::new(s), rules, options)
}

/// [`evaluate`] with the scenario's names already interned (`interned` must be of
/// `s`): what a [`Model`] does for every run.
pub fn evaluate_interned(
    s: &Scenario,
    interned: &Interned,
    rules: &RuleRuntime,
    options: &Options,
) -> Result<Evaluation, EngineError> {
    check_params(s, &options.params, &options.text_params)?;
    let names = interned.run_names();
    let started = Instant::now();
    let mut workers = if options.threads > 1 {
        Some(parallel::Workers::start(options.threads, rules)?)
    } else {
        None
    };
    let regions = asset_regions(s);
    let mut step_loop = StepLoop {
        s,
        interned,
        names: &names,
        rules,
        options,
        regions: &regions,
        workers: workers.as_mut(),
        persistent: materialize::Persistent::default(),
        history: Vec::new(),
        metric_history: Vec::new(),
        rules_time: Duration::ZERO,
        rules_done: 0,
        auto_ids: apply::AutoIds::default(),
        last_base: None,
        last_actors: None,
        collected: Collected::default(),
    };
    step_loop.run()?;
    // What only the next step would have used goes before the analyses.
    step_loop.last_actors = None;
    step_loop.last_base = None;
    let StepLoop {
        history,
        rules_time,
        collected,
        ..
    } = step_loop;
    let Collected {
        mut steps,
        books,
        mut findings,
        mut analyses,
        rule_roles,
        mut trace,
    } = collected;
    trace.names = names.clone();
    // The targets read their metrics from the steps: built-in ones rendered first.
    book::render_target_metrics(s, &mut steps, &books, &names);

    run_analyses(
        s,
        options,
        &names,
        &regions,
        &history,
        &steps,
        &mut analyses,
        &mut findings,
    );
    sort_findings(&mut findings);
    let full = options.detail == Detail::Full;
    let roles = if full {
        roles::build(s, &trace, &rule_roles, &analyses.targets, &findings)
    } else {
        Vec::new()
    };
    let mut outcome = Outcome {
        scenario: scenario_summary(s, rules),
        ledger_total: BTreeMap::new(),
        steps,
        findings,
        analyses,
        roles,
        omitted: None,
    };
    book::render_books(&mut outcome, books, &names, options);
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

/// The regions of the scenario's assets: a power metric of one of them is a built-in
/// metric name.
fn asset_regions(s: &Scenario) -> BTreeSet<String> {
    s.assets
        .iter()
        .filter_map(|a| a.region.as_ref().map(|r| r.value.clone()))
        .collect()
}

/// What the settled steps add to the outcome, in year order.
#[derive(Default)]
struct Collected {
    steps: Vec<Step>,
    /// Each step's sums by symbol, rendered into `steps` once the run is over.
    books: Vec<book::Book>,
    findings: Vec<Finding>,
    analyses: Analyses,
    rule_roles: Vec<RuleRole>,
    trace: Trace,
}

impl Collected {
    fn collect(&mut self, settled: Settled) {
        self.findings.extend(settled.findings);
        self.analyses.compute.extend(settled.compute);
        self.analyses.power.extend(settled.power);
        self.trace.implied_power.extend(settled.implied_power);
        self.steps.push(settled.step);
        self.books.push(settled.book);
    }
}

/// The loop over the years and what it carries from one step to the next.
struct StepLoop<'a> {
    s: &'a Scenario,
    interned: &'a Interned,
    /// The run's names: the scenario's, and those its rules add.
    names: &'a Names,
    rules: &'a RuleRuntime,
    options: &'a Options,
    regions: &'a BTreeSet<String>,
    workers: Option<&'a mut parallel::Workers>,
    /// Attributes rules set, kept for the later steps.
    persistent: materialize::Persistent,
    /// Every finished step's flows, in year order; the rules read them as the history.
    history: Vec<Arc<Vec<FlowState>>>,
    /// Every settled step's metrics, in year order, when a rule reads metrics.
    metric_history: Vec<(i32, Arc<BTreeMap<String, f64>>)>,
    /// Wall-clock time in rules: their calls and applying their effects.
    rules_time: Duration,
    /// Rule runs (year × rule) done so far, for the progress callback.
    rules_done: usize,
    /// Automatic flow ids made so far, found again in later steps.
    auto_ids: apply::AutoIds,
    /// The last year's scenario values, which the next year's start from (see
    /// [`materialize`]).
    last_base: Option<WorldState>,
    /// The actors as the last step ended, which the next step carries on where their
    /// scenario values did not change (see [`materialize`]).
    last_actors: Option<Vec<Arc<gil_rules::ActorState>>>,
    collected: Collected,
}

impl<'a> StepLoop<'a> {
    /// Every step in year order. With threads, a step is settled on a helper thread
    /// while the next step's rules run: settling only reads the step's final world.
    /// Results are joined in year order, so the outcome is the same for any number of
    /// threads.
    fn run(&mut self) -> Result<(), EngineError> {
        // A rule reading last year's metrics needs them settled before its step runs.
        let pipelined = self.options.threads > 1 && !self.rules.reads_metrics();
        std::thread::scope(|scope| -> Result<(), EngineError> {
            let mut settler = Settler {
                scope: pipelined.then_some(scope),
                pending: None,
            };
            for year in self.s.years() {
                self.run_step(year, &mut settler)?;
            }
            settler.finish(&mut self.collected)
        })
    }

    /// One step: the year's world to the rules, every rule run on it, then its final
    /// world settled through `settler` and its flows kept for the trace and the steps
    /// after it.
    fn run_step<'scope>(
        &mut self,
        year: i32,
        settler: &mut Settler<'scope, '_>,
    ) -> Result<(), EngineError>
    where
        'a: 'scope,
    {
        self.hand_world_to_rules(year)?;
        let mut acc = apply::StepAcc {
            explain: self.options.explain,
            auto_ids: std::mem::take(&mut self.auto_ids),
            ..Default::default()
        };
        acc.auto_ids.new_step();
        let mut step_trace = trace::StepTrace {
            year,
            ..Default::default()
        };
        let rules_started = Instant::now();
        let total = self.s.years().count() * self.rules.order().len();
        let ran = run_rules(
            self.rules,
            self.options,
            &mut self.rules_done,
            total,
            self.workers.as_deref_mut(),
            &mut acc,
            &mut self.persistent,
            &mut step_trace,
        );
        self.rules_time += rules_started.elapsed();
        if let Err(e) = ran {
            // An earlier step's failure (an invariant) came first.
            settler.abandon()?;
            return Err(e);
        }
        self.auto_ids = std::mem::take(&mut acc.auto_ids);
        let (world, flows) = self.take_world_back();
        if let Some(workers) = self.workers.as_deref_mut() {
            workers.end_step(&world);
        }
        check_metric_names(self.s, self.regions, &acc)?;
        let apply::StepAcc {
            metrics,
            findings,
            roles,
            ..
        } = acc;
        self.collected.rule_roles.extend(roles);
        let job = {
            let s = self.s;
            let flows = flows.clone();
            let lines = match self.options.detail {
                Detail::Full if self.options.all_flows => settle::Lines::All,
                Detail::Full => settle::Lines::PerPayer,
                Detail::Metrics => settle::Lines::None,
            };
            let interned = self.interned;
            move || settle(s, interned, world, &flows, metrics, findings, lines)
        };
        settler.settle(job, &mut self.collected)?;
        if self.rules.reads_metrics() {
            let settled = self.collected.steps.last();
            if let (Some(step), Some(book)) = (settled, self.collected.books.last()) {
                // Every built-in metric too: a rule may read any of them.
                let mut metrics = step.metrics.clone();
                book.builtin_metrics(self.names, book::Keep::All, &mut metrics, false);
                self.metric_history.push((step.year, Arc::new(metrics)));
            }
        }
        step_trace.flows = flows.clone();
        self.collected.trace.steps.push(step_trace);
        self.history.push(flows);
        Ok(())
    }

    /// The year's world, with every earlier step's flows as its history, to the rules.
    fn hand_world_to_rules(&mut self, year: i32) -> Result<(), EngineError> {
        let mut world = materialize(
            self.s,
            self.interned,
            self.names,
            year,
            &self.options.params,
            &self.options.text_params,
            &self.persistent,
            &mut self.last_base,
            // Given, not lent: an actor the step then sets is changed in place, not copied.
            self.last_actors.take(),
            self.history.last().map_or(0, |flows| flows.len()),
        );
        world.history = std::mem::take(&mut self.history);
        if self.rules.reads_metrics() {
            world.earlier_metrics = self.metric_history.clone();
        }
        self.rules.set_world(world)?;
        Ok(())
    }

    /// The world back from the rules once they have run: the history returns to the
    /// loop, and the step's flows leave the world to be shared (settling, the trace,
    /// the later steps' history).
    fn take_world_back(&mut self) -> (WorldState, Arc<Vec<FlowState>>) {
        let mut world = self.rules.take_world();
        self.history = std::mem::take(&mut world.history);
        self.last_actors = Some(world.actors.clone());
        // Kept for the rest of the run (trace, ctx.total, circular analysis): drop the
        // spare capacity the rules' pushes left (up to half the vector).
        world.flows.shrink_to_fit();
        let flows = Arc::new(std::mem::take(&mut world.flows));
        (world, flows)
    }
}

/// A step's settling, on its way to the outcome.
type SettleHandle<'scope> = std::thread::ScopedJoinHandle<'scope, Result<Settled, EngineError>>;

/// Settles steps in year order: each one at once, or (with a `scope`) on a helper
/// thread while the next step's rules run, joined before the next one is spawned.
struct Settler<'scope, 'env> {
    scope: Option<&'scope std::thread::Scope<'scope, 'env>>,
    pending: Option<SettleHandle<'scope>>,
}

impl<'scope> Settler<'scope, '_> {
    /// Settles a step after the one before it, collecting each result as it is joined.
    fn settle(
        &mut self,
        job: impl FnOnce() -> Result<Settled, EngineError> + Send + 'scope,
        collected: &mut Collected,
    ) -> Result<(), EngineError> {
        match self.scope {
            Some(scope) => {
                if let Some(handle) = self.pending.take() {
                    collected.collect(join_settled(handle)?);
                }
                self.pending = Some(scope.spawn(job));
            }
            None => collected.collect(job()?),
        }
        Ok(())
    }

    /// Collects the last step, once every step has run.
    fn finish(&mut self, collected: &mut Collected) -> Result<(), EngineError> {
        if let Some(handle) = self.pending.take() {
            collected.collect(join_settled(handle)?);
        }
        Ok(())
    }

    /// A later step failed: waits for the step being settled, whose own failure is
    /// reported instead.
    fn abandon(&mut self) -> Result<(), EngineError> {
        if let Some(handle) = self.pending.take() {
            join_settled(handle)?;
        }
        Ok(())
    }
}

fn join_settled(handle: SettleHandle<'_>) -> Result<Settled, EngineError> {
    handle.join().unwrap_or_else(|_| {
        Err(EngineError::Invariant {
            year: 0,
            message: "a settling thread panicked".into(),
        })
    })
}

/// The analyses of the whole run, once every step is settled: circular financing over
/// every step's flows, then the projects' targets.
#[allow(clippy::too_many_arguments)]
fn run_analyses(
    s: &Scenario,
    options: &Options,
    names: &Names,
    regions: &BTreeSet<String>,
    history: &[Arc<Vec<FlowState>>],
    steps: &[Step],
    analyses: &mut Analyses,
    findings: &mut Vec<Finding>,
) {
    let warn_share = s
        .param("analysis.circular.warn_share", *s.years().end())
        .unwrap_or(0.2);
    let warn_share = options
        .params
        .get("analysis.circular.warn_share")
        .and_then(|d| d.at(*s.years().end()))
        .unwrap_or(warn_share);
    analyses.circular = analysis::circular(history, names, warn_share, findings);
    let known_metric = |name: &str| {
        steps.iter().any(|st| st.metrics.contains_key(name))
            || is_builtin_metric_name(s, regions, name)
    };
    analyses.targets = analysis::targets(s, steps, known_metric, findings);
}

/// The scenario as the outcome names it, with its rules in evaluation order.
fn scenario_summary(s: &Scenario, rules: &RuleRuntime) -> ScenarioSummary {
    ScenarioSummary {
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
    }
}

/// Runs every rule of the step in order, applying each rule's effects when it ends;
/// `done` of `total` rule runs of the whole run are done, for `options.progress`.
#[allow(clippy::too_many_arguments)]
fn run_rules(
    rules: &RuleRuntime,
    options: &Options,
    done: &mut usize,
    total: usize,
    mut workers: Option<&mut parallel::Workers>,
    acc: &mut apply::StepAcc,
    persistent: &mut materialize::Persistent,
    step_trace: &mut trace::StepTrace,
) -> Result<(), EngineError> {
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
        if !effects.is_empty() {
            // Views of entities the effects did not touch stay valid for the next rule.
            let touched = {
                let mut world = rules.world_mut_keeping_views();
                let touched = apply::apply(&mut world, effects, acc, persistent, step_trace)?;
                if rules.reads_metrics() {
                    world.metrics_so_far.clone_from(&acc.metrics);
                }
                touched
            };
            rules.forget_views(&touched)?;
            if let Some(workers) = workers.as_deref_mut() {
                workers.note_touched(&touched);
            }
        }
        if let Some(progress) = &options.progress {
            *done += 1;
            (progress.0)(Progress {
                year: step_trace.year,
                rule: rules.rules().get(index).map_or("", |r| r.id.as_str()),
                done: *done,
                total,
            });
        }
    }
    Ok(())
}

/// A rule metric may not take a built-in metric's name (`funding.in.<id>`, …).
fn check_metric_names(
    s: &Scenario,
    regions: &BTreeSet<String>,
    acc: &apply::StepAcc,
) -> Result<(), EngineError> {
    let Some(name) = acc
        .metrics
        .keys()
        .find(|name| is_builtin_metric_name(s, regions, name))
    else {
        return Ok(());
    };
    let (file, line, rule) = acc
        .metric_sites
        .get(name)
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
