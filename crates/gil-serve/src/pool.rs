//! The evaluation pool: a fixed number of worker threads, each with its own compiled
//! Lua state per scenario (Lua states are not `Send`), fed through a bounded queue. A
//! full queue is refused at once (503) instead of piling up requests; each run has
//! the sandbox's rule budget as its deadline.

use std::collections::BTreeMap;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;

use gil_engine::{EngineError, Evaluate, Params, SharedEvaluator};
use gil_model::diag::DiagnosticRecord;
use tokio::sync::oneshot;

use crate::catalog::Entry;

/// What a run gives back: the document the CLI prints for the same request, or why
/// there is none.
pub type RunResult = Result<Arc<Vec<u8>>, RunFailure>;

/// The tables `gil run --format parquet` writes, by file stem.
pub const TABLES: [&str; 10] = [
    "metrics", "ledger", "flows", "findings", "targets", "power", "compute", "loops", "roles",
    "checks",
];

/// Which document a run renders — each the CLI's for the same inputs.
#[derive(Debug, Clone)]
pub enum Render {
    /// `gil run --format json`.
    Outcome,
    /// `gil diff --format json`: the reform's parameters on top of the run's.
    Diff { reform: Params },
    /// `gil explain --format json`.
    Explain { target: String, year: Option<i32> },
    /// `gil roles --format json`.
    Roles,
    /// `gil graph --format dot|mermaid`.
    Graph { mermaid: bool },
    /// `gil report --html`.
    Report,
    /// One table of `gil run --format parquet`, as a Parquet file.
    Table { name: String },
}

#[derive(Debug, Clone)]
pub enum RunFailure {
    /// The parameters do not fit the scenario (unknown name, not finite), or the
    /// request names something the scenario does not have (an explain target, a year).
    BadParameter(String),
    /// A rule failed: the diagnostic the CLI prints, as a record.
    Rule(Box<DiagnosticRecord>, String),
    Internal(String),
}

struct Job {
    entry: Arc<Entry>,
    params: Params,
    render: Render,
    reply: oneshot::Sender<RunResult>,
}

pub struct Pool {
    queue: SyncSender<Job>,
    pub workers: usize,
}

#[derive(Debug)]
pub struct Busy;

impl Pool {
    /// Starts `workers` threads; at most `queue` runs wait for one.
    pub fn start(workers: usize, queue: usize) -> Pool {
        let workers = workers.max(1);
        let (tx, rx) = sync_channel::<Job>(queue);
        let rx = Arc::new(std::sync::Mutex::new(rx));
        for n in 0..workers {
            let rx = rx.clone();
            let _ = std::thread::Builder::new()
                .name(format!("gil-eval-{n}"))
                .spawn(move || worker(&rx));
        }
        Pool { queue: tx, workers }
    }

    /// Queues a run; `Busy` when the queue is full.
    pub fn submit(
        &self,
        entry: Arc<Entry>,
        params: Params,
        render: Render,
    ) -> Result<oneshot::Receiver<RunResult>, Busy> {
        let (reply, rx) = oneshot::channel();
        match self.queue.try_send(Job {
            entry,
            params,
            render,
            reply,
        }) {
            Ok(()) => Ok(rx),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(Busy),
        }
    }
}

/// One worker: the evaluators of the scenarios it has run, kept for the next runs
/// while their scenario is not reloaded.
fn worker(rx: &std::sync::Mutex<std::sync::mpsc::Receiver<Job>>) {
    let mut evaluators: BTreeMap<String, (u64, SharedEvaluator)> = BTreeMap::new();
    loop {
        let job = {
            let Ok(rx) = rx.lock() else { return };
            match rx.recv() {
                Ok(job) => job,
                Err(_) => return, // the server is gone
            }
        };
        let id = job.entry.info.id.clone();
        let current = evaluators
            .get(&id)
            .is_some_and(|(generation, _)| *generation == job.entry.generation);
        if !current {
            match job.entry.model.shared_evaluator() {
                Ok(e) => {
                    evaluators.insert(id.clone(), (job.entry.generation, e));
                }
                Err(e) => {
                    let _ = job.reply.send(Err(RunFailure::Internal(e.render(false))));
                    continue;
                }
            }
        }
        let Some((_, evaluator)) = evaluators.get(&id) else {
            continue;
        };
        let result = render(evaluator, &job.params, &job.render);
        let _ = job.reply.send(result);
    }
}

fn json<T: serde::Serialize>(value: &T) -> RunResult {
    gil_report::to_json(value)
        .map(|text| Arc::new(text.into_bytes()))
        .map_err(|e| RunFailure::Internal(e.to_string()))
}

/// Evaluates once with `params` and renders the document `render` names.
pub fn render(evaluator: &impl Evaluate, params: &Params, render: &Render) -> RunResult {
    // `explain` shows rule metrics per entity, as the CLI's does.
    let e = match render {
        Render::Explain { .. } => evaluator.evaluate_traced(params),
        // Built as `gil run --format json` builds it: at national scale, only what the
        // document names is rendered.
        Render::Outcome => evaluator.evaluate_document(params),
        _ => evaluator.evaluate(params),
    }
    .map_err(|e| failure(evaluator, e))?;
    let scenario = evaluator.scenario();
    match render {
        Render::Outcome => {
            // Byte for byte what `gil run --format json` prints.
            json(&e.outcome)
        }
        Render::Diff { reform } => {
            let mut with = params.clone();
            with.extend(reform.iter().map(|(k, v)| (k.clone(), v.clone())));
            let changed = evaluator
                .evaluate(&with)
                .map_err(|e| failure(evaluator, e))?;
            json(&gil_engine::diff::diff(&e.outcome, &changed.outcome))
        }
        Render::Explain { target, year } => {
            let subject = gil_engine::explain::resolve(scenario, &e, target)
                .map_err(|e| RunFailure::BadParameter(e.to_string()))?;
            let mut explanation = gil_engine::explain::explain(scenario, &e, &subject);
            if let Some(year) = year {
                if !scenario.years().contains(year) {
                    let (start, end) = (*scenario.years().start(), *scenario.years().end());
                    return Err(RunFailure::BadParameter(format!(
                        "the year {year} is outside the horizon {start}–{end}"
                    )));
                }
                explanation.years.retain(|y| y.year == *year);
            }
            json(&explanation)
        }
        Render::Roles => json(&e.outcome.roles),
        Render::Graph { mermaid } => {
            let graph = gil_report::graph::build(
                scenario,
                &e,
                &gil_report::graph::GraphOptions {
                    kinds: Vec::new(),
                    step: None,
                },
            )
            .map_err(|e| RunFailure::BadParameter(e.to_string()))?;
            Ok(Arc::new(
                if *mermaid {
                    gil_report::graph::mermaid(&graph)
                } else {
                    gil_report::graph::dot(&graph, scenario.id())
                }
                .into_bytes(),
            ))
        }
        Render::Report => {
            // The parameters table shows the request's values beside the scenario's.
            let options = gil_report::html::ReportOptions {
                params: params.clone(),
                ..Default::default()
            };
            Ok(Arc::new(
                gil_report::html::report(scenario, &e, None, &options).into_bytes(),
            ))
        }
        Render::Table { name } => {
            let tables =
                gil_tables::outcome_tables(&e).map_err(|e| RunFailure::Internal(e.to_string()))?;
            let table = tables
                .iter()
                .find(|t| t.name == name)
                .ok_or_else(|| RunFailure::BadParameter(format!("no table `{name}`")))?;
            let mut bytes = Vec::new();
            table
                .write_parquet(&mut bytes)
                .map_err(|e| RunFailure::Internal(e.to_string()))?;
            Ok(Arc::new(bytes))
        }
    }
}

fn failure(evaluator: &impl Evaluate, e: EngineError) -> RunFailure {
    match e {
        EngineError::Rule(err) => {
            let files = evaluator.rules().files();
            let diagnostic = files.diagnose(&err);
            let record = diagnostic.to_record(files.sources());
            // A rule past its call deadline or the run's budget is a rule fault too.
            RunFailure::Rule(Box::new(record), err.to_string())
        }
        e @ (EngineError::UnknownParam { .. }
        | EngineError::NonFiniteParam { .. }
        | EngineError::TextParam { .. }
        | EngineError::NumberParam { .. }) => RunFailure::BadParameter(e.to_string()),
        e => RunFailure::Internal(e.to_string()),
    }
}
