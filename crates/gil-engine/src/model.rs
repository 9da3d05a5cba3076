//! Load once, evaluate many times: a scenario read and its rules checked once, then
//! evaluated again and again with other parameter values — what sweeps and the server
//! are built on.
//!
//! A [`Model`] is plain data (`Send + Sync`): the scenario and the rule sources. Lua
//! states are not `Send`, so each thread compiles the rules once into its own
//! [`Evaluator`] and reuses it for every run it makes; [`Model::evaluate_many`] does
//! that on worker threads and hands results back in run order.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use gil_model::{Dated, LoadError, Scenario};
use gil_rules::{KnownNames, RuleRuntime, RuleSource, SandboxConfig};

use crate::{
    evaluate_interned, known_names, rule_sources, EngineError, Evaluation, Interned, Options,
};

/// Parameter values for one run: each replaces the scenario's values of that name.
pub type Params = BTreeMap<String, Dated>;

/// A scenario and its rules, loaded and checked once.
#[derive(Debug, Clone)]
pub struct Model {
    scenario: Arc<Scenario>,
    /// The scenario's names, interned once for every run.
    interned: Arc<Interned>,
    sources: Vec<RuleSource>,
    known: KnownNames,
    config: SandboxConfig,
    /// How every run is made (`all_flows`, `cancel`); its `params` are the base every
    /// run's parameters go on top of.
    options: Options,
}

/// A model's rules compiled into a Lua state on this thread, evaluated many times.
pub struct Evaluator<'m> {
    model: &'m Model,
    rules: RuleRuntime,
}

impl Model {
    /// Reads the rule files the scenario names (and `extra_rules`) and compiles them
    /// once, so every problem in them is reported here, as diagnostics.
    pub fn new(
        scenario: Scenario,
        extra_rules: &[PathBuf],
        config: SandboxConfig,
    ) -> Result<Self, LoadError> {
        let sources = rule_sources(&scenario, extra_rules)?;
        let known = known_names(&scenario);
        RuleRuntime::load(&sources, known.clone(), config.clone())
            .map_err(|errors| gil_rules::RuleFiles::new(&sources).load_error(&errors))?;
        Ok(Model {
            interned: Arc::new(Interned::with_years(&scenario)),
            scenario: Arc::new(scenario),
            sources,
            known,
            config,
            options: Options::default(),
        })
    }

    /// Every run made with `options` (its `params` under each run's own; its
    /// `threads` splits one run's per-entity hooks, on top of the runs' threads).
    pub fn with_options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// Every run builds this much of the outcome.
    pub fn with_detail(mut self, detail: crate::Detail) -> Self {
        self.options.detail = detail;
        self
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The rule files every run compiles, in load order.
    pub fn rule_sources(&self) -> &[RuleSource] {
        &self.sources
    }

    /// The rules compiled into a new Lua state, for this thread's runs.
    pub fn evaluator(&self) -> Result<Evaluator<'_>, LoadError> {
        let rules = RuleRuntime::load(&self.sources, self.known.clone(), self.config.clone())
            .map_err(|errors| gil_rules::RuleFiles::new(&self.sources).load_error(&errors))?;
        Ok(Evaluator { model: self, rules })
    }

    /// Evaluates runs `0..runs` on `threads` threads (0: as many as the machine has),
    /// each thread with its own compiled rules. `params_of(i)` gives run `i`'s
    /// parameters; `keep(i, result)` runs on the worker and makes what is kept of it,
    /// so a sweep need not hold whole outcomes. Results come back in run order, the
    /// same for any number of threads. A run that fails is a failed result, and the
    /// others go on.
    pub fn evaluate_many<T: Send>(
        &self,
        runs: usize,
        threads: usize,
        params_of: impl Fn(usize) -> Params + Sync,
        keep: impl Fn(usize, Result<Evaluation, EngineError>) -> T + Sync,
    ) -> Result<Vec<T>, LoadError> {
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
        .min(runs.max(1));
        let next = AtomicUsize::new(0);
        let worker = || -> Result<Vec<(usize, T)>, LoadError> {
            let evaluator = self.evaluator()?;
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= runs {
                    return Ok(done);
                }
                let result = evaluator.evaluate(&params_of(i));
                done.push((i, keep(i, result)));
            }
        };
        let parts: Vec<Result<Vec<(usize, T)>, LoadError>> = if threads <= 1 {
            vec![worker()]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads).map(|_| scope.spawn(worker)).collect();
                // A panic on a worker (in `params_of`, `keep` or a bug) is the caller's,
                // as it would be on one thread: results are never silently short.
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            })
        };
        let mut slots: Vec<Option<T>> = (0..runs).map(|_| None).collect();
        for part in parts {
            for (i, value) in part? {
                slots[i] = Some(value);
            }
        }
        // Every index is taken by exactly one worker, and a worker stops early only
        // with an error (returned above); a gap would be a bug, said loudly.
        slots
            .into_iter()
            .enumerate()
            .map(|(i, slot)| {
                slot.ok_or_else(|| LoadError {
                    sources: gil_model::span::SourceMap::new(),
                    diagnostics: vec![gil_model::diag::Diagnostic::error(
                        gil_model::code::Code::RuleSandbox,
                        format!("run {i} was never evaluated (a bug in gil; please report it)"),
                    )],
                })
            })
            .collect()
    }
}

/// One run of `model` with `rules` compiled from it, `params` on top of its own; with
/// `explain`, the trace keeps what `explain` shows (`Options::explain`).
/// What a run asks for beyond the model's options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ask {
    /// Nothing more.
    Plain,
    /// What `explain` shows (`Options::explain`).
    Traced,
    /// The document `gil run` writes as JSON (`Listing::Named`).
    Document,
}

fn evaluate_with(
    model: &Model,
    rules: &RuleRuntime,
    params: &Params,
    ask: Ask,
) -> Result<Evaluation, EngineError> {
    rules.begin_run();
    let (s, interned) = (&model.scenario, &model.interned);
    if params.is_empty() && ask == Ask::Plain {
        return evaluate_interned(s, interned, rules, &model.options);
    }
    let mut options = model.options.clone();
    options.explain |= ask == Ask::Traced;
    if ask == Ask::Document {
        options.listing = crate::Listing::Named;
    }
    options
        .params
        .extend(params.iter().map(|(k, v)| (k.clone(), v.clone())));
    evaluate_interned(s, interned, rules, &options)
}

/// What evaluates a model again and again: an [`Evaluator`] borrowing it, or a
/// [`SharedEvaluator`] holding a share of it.
pub trait Evaluate {
    /// One run with `params` on top of the model's.
    fn evaluate(&self, params: &Params) -> Result<Evaluation, EngineError>;
    /// [`Evaluate::evaluate`] keeping in the trace what `explain` shows
    /// (`Options::explain`).
    fn evaluate_traced(&self, params: &Params) -> Result<Evaluation, EngineError>;
    /// [`Evaluate::evaluate`] building the document `gil run` writes as JSON: at
    /// national scale only the entities it names ([`crate::Listing::Named`]), the same
    /// as [`crate::Outcome::summarized`] of the whole outcome.
    fn evaluate_document(&self, params: &Params) -> Result<Evaluation, EngineError>;
    fn scenario(&self) -> &Scenario;
    fn rules(&self) -> &RuleRuntime;
}

/// A model's rules compiled on this thread, owning a share of the model: for threads
/// that keep evaluators while models come and go (a server reloading scenarios).
pub struct SharedEvaluator {
    model: Arc<Model>,
    rules: RuleRuntime,
}

impl Model {
    /// The rules compiled into a new Lua state, holding a share of the model.
    pub fn shared_evaluator(self: &Arc<Self>) -> Result<SharedEvaluator, LoadError> {
        let rules = RuleRuntime::load(&self.sources, self.known.clone(), self.config.clone())
            .map_err(|errors| gil_rules::RuleFiles::new(&self.sources).load_error(&errors))?;
        Ok(SharedEvaluator {
            model: self.clone(),
            rules,
        })
    }
}

impl SharedEvaluator {
    /// The model this evaluator runs.
    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }
}

impl Evaluate for SharedEvaluator {
    fn evaluate(&self, params: &Params) -> Result<Evaluation, EngineError> {
        evaluate_with(&self.model, &self.rules, params, Ask::Plain)
    }
    fn evaluate_traced(&self, params: &Params) -> Result<Evaluation, EngineError> {
        evaluate_with(&self.model, &self.rules, params, Ask::Traced)
    }
    fn evaluate_document(&self, params: &Params) -> Result<Evaluation, EngineError> {
        evaluate_with(&self.model, &self.rules, params, Ask::Document)
    }
    fn scenario(&self) -> &Scenario {
        &self.model.scenario
    }
    fn rules(&self) -> &RuleRuntime {
        &self.rules
    }
}

impl Evaluate for Evaluator<'_> {
    fn evaluate(&self, params: &Params) -> Result<Evaluation, EngineError> {
        Evaluator::evaluate(self, params)
    }
    fn evaluate_traced(&self, params: &Params) -> Result<Evaluation, EngineError> {
        evaluate_with(self.model, &self.rules, params, Ask::Traced)
    }
    fn evaluate_document(&self, params: &Params) -> Result<Evaluation, EngineError> {
        evaluate_with(self.model, &self.rules, params, Ask::Document)
    }
    fn scenario(&self) -> &Scenario {
        Evaluator::scenario(self)
    }
    fn rules(&self) -> &RuleRuntime {
        Evaluator::rules(self)
    }
}

impl Evaluator<'_> {
    /// One run with `params` on top of the model's: the same outcome as a fresh load
    /// and [`crate::evaluate`] with those parameters — provided the rules keep no state
    /// of their own between calls (a file-level `local` table they write to), which
    /// the rule API forbids and the sandbox cannot see.
    pub fn evaluate(&self, params: &Params) -> Result<Evaluation, EngineError> {
        evaluate_with(self.model, &self.rules, params, Ask::Plain)
    }

    /// The scenario the runs evaluate.
    pub fn scenario(&self) -> &Scenario {
        &self.model.scenario
    }

    /// The compiled rules (their order, metadata and call counts).
    pub fn rules(&self) -> &RuleRuntime {
        &self.rules
    }
}
