//! Running the per-entity hooks of a rule on worker threads, each with its own Lua
//! state built from the same rule sources. Which hooks run, on which entities and in
//! which order is the runtime's ([`RuleRuntime::run_with`]); this module only decides
//! where a per-entity selection runs. A large selection is cut into contiguous slices,
//! one per worker; the effects come back joined in slice order, which is the order one
//! runtime would have produced them in — so the outcome is the same bytes for any
//! number of threads (random numbers are seeded per entity, not per thread).

use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

use gil_rules::{
    Effect, Hook, RuleError, RuleErrorKind, RuleRuntime, StepEnd, Touched, WorldState,
};

/// Below this many entities a rule's hook runs on the main runtime: splitting costs more.
pub const PARALLEL_MIN: usize = 256;

type Reply = (usize, Result<(Vec<Effect>, u64), RuleError>);

struct Job {
    rule: usize,
    hook: Hook,
    world: Arc<WorldState>,
    since: Since,
    entities: Vec<usize>,
    slot: usize,
    reply: mpsc::Sender<Reply>,
}

/// What changed in the world since a worker's last job, so that it keeps the views
/// still true.
#[derive(Clone, Default)]
enum Since {
    /// It has not worked in this step nor in the one before: it builds views afresh.
    #[default]
    Unknown,
    /// It worked earlier in this step; these entities changed since.
    ThisStep(Touched),
    /// It worked in the last step, which ended with these states; these entities
    /// changed after its last job there.
    LastStep(Arc<StepEnd>, Touched),
}

pub struct Workers {
    jobs: Vec<mpsc::Sender<Job>>,
    handles: Vec<JoinHandle<()>>,
    /// Per worker: what changed since its last job.
    since: Vec<Since>,
    /// Hook calls the workers made.
    pub calls: u64,
}

impl Workers {
    /// Starts `n` workers, each loading the rules into its own sandbox.
    pub fn start(n: usize, like: &RuleRuntime) -> Result<Self, RuleError> {
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), RuleError>>();
        let mut jobs = Vec::with_capacity(n);
        let mut handles = Vec::with_capacity(n);
        for _ in 0..n {
            let (sources, known, config) = like.blueprint();
            let (tx, rx) = mpsc::channel::<Job>();
            let ready = ready_tx.clone();
            handles.push(std::thread::spawn(move || {
                let runtime = match RuleRuntime::load(&sources, known, config) {
                    Ok(r) => {
                        let _ = ready.send(Ok(()));
                        r
                    }
                    Err(errors) => {
                        // The main runtime loaded the same files, so this is rare: a
                        // worker's own sandbox failing. Its first error stands for all.
                        let first = errors.into_iter().next().unwrap_or_else(|| {
                            RuleError::new(
                                gil_rules::RuleErrorKind::Sandbox,
                                "<worker>",
                                None,
                                "a worker thread could not load the rules",
                            )
                        });
                        let _ = ready.send(Err(first));
                        return;
                    }
                };
                for job in rx {
                    let resumed = match &job.since {
                        Since::Unknown => runtime.set_shared_world(job.world),
                        Since::ThisStep(touched) => runtime.resume_shared_world(job.world, touched),
                        Since::LastStep(end, touched) => {
                            runtime.carry_over_shared_world(job.world, end, touched)
                        }
                    };
                    let before = runtime.calls();
                    let result = resumed
                        .and_then(|()| runtime.run_entity_hook(job.rule, job.hook, &job.entities));
                    // Let go of the world so the main runtime can apply effects in place.
                    runtime.pause_world();
                    let _ = job
                        .reply
                        .send((job.slot, result.map(|e| (e, runtime.calls() - before))));
                }
            }));
            jobs.push(tx);
        }
        drop(ready_tx);
        for _ in 0..n {
            match ready_rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err(worker_lost()),
            }
        }
        Ok(Workers {
            jobs,
            handles,
            since: vec![Since::Unknown; n],
            calls: 0,
        })
    }

    /// A step ended with `world`: a worker that worked in it keeps, in the next step,
    /// the views of what the next world did not change; any other starts afresh.
    pub fn end_step(&mut self, world: &WorldState) {
        if !self.since.iter().any(|s| matches!(s, Since::ThisStep(_))) {
            // No worker worked this step: nothing to carry over, no states to keep.
            self.since.fill(Since::Unknown);
            return;
        }
        let end = Arc::new(StepEnd::of(world));
        for since in &mut self.since {
            *since = match std::mem::take(since) {
                Since::ThisStep(touched) => Since::LastStep(Arc::clone(&end), touched),
                Since::Unknown | Since::LastStep(..) => Since::Unknown,
            };
        }
    }

    /// Effects changed these entities: workers drop their views before their next job.
    pub fn note_touched(&mut self, changed: &Touched) {
        // A worker's first job of a step compares the world with the step before's end,
        // which finds this step's changes too.
        for since in &mut self.since {
            if let Since::ThisStep(pending) = since {
                pending.actors.extend_from_slice(&changed.actors);
                pending.assets.extend_from_slice(&changed.assets);
                pending.flows.extend_from_slice(&changed.flows);
            }
        }
    }

    /// Runs every hook of rule `index` on `rules`, as [`RuleRuntime::run`] would, with
    /// each per-entity selection of [`PARALLEL_MIN`] entities or more spread over the
    /// workers. Columnar hooks are one call over whole columns: they stay on `rules`.
    pub fn run_rule(
        &mut self,
        rules: &RuleRuntime,
        index: usize,
    ) -> Result<Vec<Effect>, RuleError> {
        rules.run_with(index, |hook, selected| {
            if selected.len() >= PARALLEL_MIN {
                self.run(index, hook, &rules.shared_world(), selected)
            } else {
                rules.run_entity_hook(index, hook, selected)
            }
        })
    }

    /// Runs `hook` of rule `rule` over `selection`, cut into one slice per worker.
    fn run(
        &mut self,
        rule: usize,
        hook: Hook,
        world: &Arc<WorldState>,
        selection: &[usize],
    ) -> Result<Vec<Effect>, RuleError> {
        let n = self.jobs.len().max(1);
        let size = selection.len().div_ceil(n);
        let (tx, rx) = mpsc::channel::<Reply>();
        let mut sent = 0;
        for (slot, chunk) in selection.chunks(size.max(1)).enumerate() {
            let since = std::mem::replace(
                self.since.get_mut(slot).ok_or_else(worker_lost)?,
                Since::ThisStep(Touched::default()),
            );
            let job = Job {
                rule,
                hook,
                world: world.clone(),
                since,
                entities: chunk.to_vec(),
                slot,
                reply: tx.clone(),
            };
            self.jobs
                .get(slot)
                .ok_or_else(worker_lost)?
                .send(job)
                .map_err(|_| worker_lost())?;
            sent += 1;
        }
        drop(tx);
        let mut parts: Vec<Option<Result<Vec<Effect>, RuleError>>> =
            (0..sent).map(|_| None).collect();
        for _ in 0..sent {
            let (slot, result) = rx.recv().map_err(|_| worker_lost())?;
            if let Some(part) = parts.get_mut(slot) {
                *part = Some(result.map(|(effects, calls)| {
                    self.calls += calls;
                    effects
                }));
            }
        }
        // The first failing slice in order is the error one runtime would have hit first.
        let mut effects = Vec::new();
        for part in parts {
            effects.extend(part.ok_or_else(worker_lost)??);
        }
        Ok(effects)
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.jobs.clear(); // closing the channels ends the workers' loops
        for handle in self.handles.drain(..) {
            let _ = handle.join();
        }
    }
}

fn worker_lost() -> RuleError {
    RuleError::new(
        RuleErrorKind::Sandbox,
        "<workers>",
        None,
        "a rule worker thread stopped unexpectedly",
    )
}
