//! The evaluation pool: a fixed number of worker threads, each with its own compiled
//! Lua state per scenario (Lua states are not `Send`), fed through a bounded queue. A
//! full queue is refused at once (503) instead of piling up requests; each run has
//! the sandbox's rule budget as its deadline.

use std::collections::BTreeMap;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;

use gil_engine::{EngineError, Evaluator, Params};
use gil_model::diag::DiagnosticRecord;
use tokio::sync::oneshot;

use crate::catalog::{Catalog, Entry};

/// What a run gives back: the outcome as the CLI's JSON, or why there is none.
pub type RunResult = Result<Arc<String>, RunFailure>;

#[derive(Debug, Clone)]
pub enum RunFailure {
    /// The parameters do not fit the scenario (unknown name, not finite).
    BadParameter(String),
    /// A rule failed: the diagnostic the CLI prints, as a record.
    Rule(Box<DiagnosticRecord>, String),
    Internal(String),
}

struct Job {
    entry: Arc<Entry>,
    params: Params,
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
    pub fn start(catalog: &Catalog, workers: usize, queue: usize) -> Pool {
        let workers = workers.max(1);
        let (tx, rx) = sync_channel::<Job>(queue);
        let rx = Arc::new(std::sync::Mutex::new(rx));
        let ids: Vec<String> = catalog.ids().map(str::to_string).collect();
        let entries: Vec<Arc<Entry>> = ids
            .iter()
            .filter_map(|id| catalog.get(id).cloned())
            .collect();
        for n in 0..workers {
            let rx = rx.clone();
            let entries = entries.clone();
            let _ = std::thread::Builder::new()
                .name(format!("gil-eval-{n}"))
                .spawn(move || worker(&entries, &rx));
        }
        Pool { queue: tx, workers }
    }

    /// Queues a run; `Busy` when the queue is full.
    pub fn submit(
        &self,
        entry: Arc<Entry>,
        params: Params,
    ) -> Result<oneshot::Receiver<RunResult>, Busy> {
        let (reply, rx) = oneshot::channel();
        match self.queue.try_send(Job {
            entry,
            params,
            reply,
        }) {
            Ok(()) => Ok(rx),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(Busy),
        }
    }
}

/// One worker: the evaluators of the scenarios it has run, kept for the next runs.
fn worker(entries: &[Arc<Entry>], rx: &std::sync::Mutex<std::sync::mpsc::Receiver<Job>>) {
    let mut evaluators: BTreeMap<String, Evaluator<'_>> = BTreeMap::new();
    loop {
        let job = {
            let Ok(rx) = rx.lock() else { return };
            match rx.recv() {
                Ok(job) => job,
                Err(_) => return, // the server is gone
            }
        };
        let id = job.entry.info.id.clone();
        let Some(entry) = entries.iter().find(|e| e.info.id == id) else {
            let _ = job.reply.send(Err(RunFailure::Internal(format!(
                "no worker state for `{id}`"
            ))));
            continue;
        };
        if !evaluators.contains_key(&id) {
            match entry.model.evaluator() {
                Ok(e) => {
                    evaluators.insert(id.clone(), e);
                }
                Err(e) => {
                    let _ = job.reply.send(Err(RunFailure::Internal(e.render(false))));
                    continue;
                }
            }
        }
        let Some(evaluator) = evaluators.get(&id) else {
            continue;
        };
        let result = run(evaluator, &job.params);
        let _ = job.reply.send(result);
    }
}

fn run(evaluator: &Evaluator<'_>, params: &Params) -> RunResult {
    match evaluator.evaluate(params) {
        Ok(e) => {
            let summarized = e.outcome.summarized();
            let outcome = summarized.as_ref().unwrap_or(&e.outcome);
            // Byte for byte what `gil run --format json` prints.
            let mut text = serde_json::to_string_pretty(outcome)
                .map_err(|e| RunFailure::Internal(e.to_string()))?;
            text.push('\n');
            Ok(Arc::new(text))
        }
        Err(EngineError::Rule(err)) => {
            let files = evaluator.rules().files();
            let diagnostic = files.diagnose(&err);
            let record = diagnostic.to_record(files.sources());
            // A rule past its call deadline or the run's budget is a rule fault too.
            Err(RunFailure::Rule(Box::new(record), err.to_string()))
        }
        Err(e @ (EngineError::UnknownParam { .. } | EngineError::NonFiniteParam { .. })) => {
            Err(RunFailure::BadParameter(e.to_string()))
        }
        Err(e) => Err(RunFailure::Internal(e.to_string())),
    }
}
