//! One Lua state with every rule loaded: the [`RuleRuntime`], and how a world is handed
//! to it, shared with workers and taken back.
//!
//! A runtime is not `Send`: each worker thread builds its own from the same
//! [`RuleSource`]s, which is cheap next to evaluation and keeps Lua states apart.
//!
//! One concern per module:
//! - `load` — the sandboxed state, each rule file compiled and its table read (`meta.rs`);
//! - `order` — the evaluation order, plain Rust (Kahn over `after`, ties by id);
//! - `dispatch` — which hooks run, on which entities, in which order, for the serial
//!   and the parallel run alike;
//! - `views`, `column_views` — the cached Lua tables of entities, and the column
//!   tables of columnar hooks;
//! - `ctx` — `ctx` registered from `api.rs`; its reads (`ctx/reads.rs`) and effects
//!   (`ctx/effects.rs`);
//! - `batch` — ctx's Luau side: the per-entity loop, and `flow`, `metric`, `param`,
//!   `actor` and `asset` answered inside Luau, effects buffered for one read by Rust;
//! - `spec` — reading the tables rules pass to `ctx`;
//! - `require` — `require` in the sandbox, answering from the modules read with the
//!   rules (`modules.rs`);
//! - `errors` — Lua errors into located [`RuleError`]s, and back;
//! - `shared` — the state the runtime shares with its `ctx` closures.

use std::cell::{Cell, RefCell, RefMut};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use mlua::{Lua, Table, Value};

use crate::error::RuleError;
use crate::meta::{Hooks, KnownNames, RuleInfo};
use crate::sandbox::{Clock, Random, SandboxConfig};
use crate::source::RuleSource;
use crate::world::{StepEnd, Touched, WorldState};

mod batch;
mod column_views;
mod ctx;
mod dispatch;
mod errors;
mod load;
mod order;
mod require;
mod shared;
mod spec;
mod views;

pub use dispatch::Hook;

/// The chunk name of the host's own Luau code, whose frames are never a rule's line.
pub(crate) const HOST_CHUNK: &str = batch::CHUNK_NAME;
pub(crate) use batch::LoopPosition;

use errors::sandbox_error;
use shared::Shared;
use views::Views;

/// A rule's declared parameters: the set the host checks, and the same names as the
/// read-only Lua table ctx's Luau side checks (`batch.rs`).
type DeclaredParams = (Arc<std::collections::BTreeSet<String>>, Table);

pub struct RuleRuntime {
    lua: Lua,
    shared: Rc<Shared>,
    ctx: Table,
    infos: Vec<RuleInfo>,
    hooks: Vec<Hooks>,
    /// Per rule (as `infos`), the parameters it declares.
    declared: Vec<DeclaredParams>,
    /// Per rule (as `infos`), who is calling as `ctx` records it, made once (the step
    /// is set as each part of the rule begins).
    callers: Vec<shared::Caller>,
    order: Vec<usize>,
    clock: Rc<Clock>,
    random: Rc<Random>,
    config: SandboxConfig,
    /// Rule sources by file name, to explain errors with the offending line.
    texts: RefCell<BTreeMap<String, String>>,
    /// Whether a rule or module may read metrics (`ctx.metric_at`), so the engine must
    /// settle each step before the next one runs and hand the metrics to the rules.
    reads_metrics: bool,
    /// Hook calls made so far (for `gil bench`).
    calls: Cell<u64>,
    /// What this runtime was built from, so workers can build their own.
    sources: Vec<RuleSource>,
}

impl std::fmt::Debug for RuleRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleRuntime")
            .field("rules", &self.infos)
            .field("order", &self.order)
            .finish()
    }
}

impl RuleRuntime {
    /// Rules in the order they load (by file).
    pub fn rules(&self) -> &[RuleInfo] {
        &self.infos
    }

    /// Indexes into [`Self::rules`] in evaluation order: topological by `after`, ties by id.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Replaces the world (at the start of a step), keeping the cached view of every
    /// entity that is the same as when the last step ended ([`Self::take_world`]).
    pub fn set_world(&self, world: WorldState) -> Result<(), RuleError> {
        let kept = self
            .shared
            .memory
            .unguarded(&self.lua, || {
                self.shared.views.borrow_mut().carry_over(&self.lua, &world)
            })
            .map_err(|e| errors::sandbox_error("<views>", e))?;
        self.begin_step(Arc::new(world), kept)
    }

    /// Shares a world with other runtimes (workers running parts of a rule), with
    /// fresh views. Fails only when the sandbox cannot be set up for the step (the
    /// memory limit, `ctx.step`).
    pub fn set_shared_world(&self, world: Arc<WorldState>) -> Result<(), RuleError> {
        *self.shared.views.borrow_mut() = Views::default();
        self.begin_step(world, false)
    }

    fn begin_step(&self, world: Arc<WorldState>, views_kept: bool) -> Result<(), RuleError> {
        *self.shared.world.borrow_mut() = world;
        self.shared
            .memory
            .reset(&self.lua, views_kept)
            .map_err(|e| errors::sandbox_error("<sandbox>", e))?;
        if let Some(batch) = self.shared.batch.get() {
            self.shared
                .memory
                .unguarded(&self.lua, || {
                    batch.set_world(&self.lua, &self.shared.world.borrow())
                })
                .map_err(|e| errors::sandbox_error("<sandbox>", e))?;
        }
        let year = self.shared.world.borrow().year;
        self.ctx.set_readonly(false);
        let set = self.ctx.raw_set("step", year);
        self.ctx.set_readonly(true);
        set.map_err(|e| errors::sandbox_error("<sandbox>", e))
    }

    /// A worker's first part of a new step: keeps its cached views of the entities
    /// whose state is still the one the last step ended with (`end`), as
    /// [`Self::set_world`] does, except those changed after its last part of that step
    /// (`touched`); without this, every worker built all its views again every year.
    pub fn carry_over_shared_world(
        &self,
        world: Arc<WorldState>,
        end: &StepEnd,
        touched: &Touched,
    ) -> Result<(), RuleError> {
        let kept = self
            .shared
            .memory
            .unguarded(&self.lua, || {
                let mut views = self.shared.views.borrow_mut();
                views.resume_from(end, touched, &world)?;
                views.carry_over(&self.lua, &world)
            })
            .map_err(|e| errors::sandbox_error("<views>", e))?;
        self.begin_step(world, kept)
    }

    /// The world as a shared handle, for worker runtimes.
    pub fn shared_world(&self) -> Arc<WorldState> {
        self.shared.world.borrow().clone()
    }

    /// Takes up the same step's world again (a worker's next part of a step), keeping
    /// its cached views except those of the entities changed since (`touched`).
    pub fn resume_shared_world(
        &self,
        world: Arc<WorldState>,
        touched: &Touched,
    ) -> Result<(), RuleError> {
        *self.shared.world.borrow_mut() = world;
        self.forget_views(touched)
    }

    /// Lets go of the world but keeps the cached views, for [`Self::resume_shared_world`].
    pub fn pause_world(&self) {
        *self.shared.world.borrow_mut() = Arc::new(WorldState::default());
    }

    /// Mutable access for applying a rule's effects that keeps the cached views: the
    /// caller must then pass every entity it changed to [`Self::forget_views`]. Cheap
    /// when no worker still holds the world (they pause it after each part).
    pub fn world_mut_keeping_views(&self) -> RefMut<'_, WorldState> {
        RefMut::map(self.shared.world.borrow_mut(), Arc::make_mut)
    }

    /// Brings the cached views of the entities a rule's effects changed up to date, in
    /// place where it can, and drops the rest with the world's lists that held them;
    /// every other view stays valid for the next rule of the step.
    pub fn forget_views(&self, touched: &Touched) -> Result<(), RuleError> {
        let dropped = {
            let world = self.shared.world.borrow();
            self.shared
                .views
                .borrow_mut()
                .forget(touched, &world)
                .map_err(|e| sandbox_error("<views>", e))?
        };
        // ctx's Luau side keeps the views it found by id: still true unless one of them
        // was dropped rather than patched in place.
        if let Some(batch) = self.shared.batch.get() {
            if dropped {
                batch
                    .forget_views(&self.lua)
                    .map_err(|e| sandbox_error("<views>", e))?;
            }
        }
        Ok(())
    }

    /// Takes the world out (at the end of a step). The cached views stay, with the
    /// states they show, for [`Self::set_world`] to keep those still true next step.
    pub fn take_world(&self) -> WorldState {
        let world = std::mem::take(&mut *self.shared.world.borrow_mut());
        let world = Arc::try_unwrap(world).unwrap_or_else(|shared| (*shared).clone());
        self.shared.views.borrow_mut().end_step(&world);
        world
    }

    /// Names of the functions in `ctx`, as registered (for the API drift test).
    pub fn ctx_function_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .ctx
            .clone()
            .pairs::<String, Value>()
            .filter_map(|p| p.ok())
            .filter(|(_, v)| matches!(v, Value::Function(_)))
            .map(|(k, _)| k)
            .collect();
        names.sort();
        names
    }

    /// What a worker thread needs to build a runtime like this one.
    /// The rule files as a source map, to turn a rule error into a diagnostic.
    pub fn files(&self) -> crate::RuleFiles {
        crate::RuleFiles::new(&self.sources)
    }

    pub fn blueprint(&self) -> (Vec<RuleSource>, KnownNames, SandboxConfig) {
        (
            self.sources.clone(),
            self.shared.known.clone(),
            self.config.clone(),
        )
    }

    /// Starts a new run on this runtime: the whole-run budget (`total_budget`) is
    /// restored, so a runtime evaluated again and again gets the full budget each time.
    pub fn begin_run(&self) {
        self.clock.budget_left.set(self.config.total_budget);
    }

    /// Whether a rule or module names `metric_at` (the text is searched, so any way of
    /// calling it counts): the engine then settles every step before the next one and
    /// gives the rules the metrics.
    pub fn reads_metrics(&self) -> bool {
        self.reads_metrics
    }

    /// Lines run so far per rule and module file (by its path on disk, as
    /// [`RuleSource::path`]): line → hits, for every line Luau compiled code for. Empty
    /// unless the sandbox was configured with `coverage`.
    pub fn coverage(&self) -> BTreeMap<std::path::PathBuf, BTreeMap<u32, u64>> {
        let mut out: BTreeMap<std::path::PathBuf, BTreeMap<u32, u64>> = BTreeMap::new();
        let Some(chunks) = &self.shared.coverage else {
            return out;
        };
        for (file, chunk) in chunks.borrow().iter() {
            let Some(source) = self.sources.iter().find(|s| s.display == *file) else {
                continue;
            };
            let lines = out
                .entry(gil_model::load::normalize(&source.path))
                .or_default();
            // One report per function (the chunk and every function inside it), each
            // indexed by line; -1 where a line has no code.
            chunk.coverage(|info| {
                for (line, &hits) in info.hits.iter().enumerate() {
                    if hits >= 0 {
                        *lines.entry(line as u32).or_insert(0) += hits as u64;
                    }
                }
            });
        }
        out
    }

    /// Hook calls made so far.
    pub fn calls(&self) -> u64 {
        self.calls.get()
    }

    /// Memory in use by the Lua state, in bytes.
    pub fn used_memory(&self) -> usize {
        self.lua.used_memory()
    }
}
