//! One Lua state with every rule loaded, the `ctx` API, and hook calls.
//!
//! A runtime is not `Send`: each worker thread builds its own from the same
//! [`RuleSource`]s, which is cheap next to evaluation and keeps Lua states apart.

use std::cell::{Ref, RefCell, RefMut};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use mlua::{Function, Lua, Table, Value};

use crate::effect::Effect;
use crate::error::{RuleError, RuleErrorKind};
use crate::meta::{self, Hooks, KnownNames, RuleInfo};
use crate::sandbox::{self, Clock, Random, SandboxConfig};
use crate::source::RuleSource;
use crate::world::WorldState;

mod column_views;
mod ctx;
mod errors;
mod order;
mod shared;
mod spec;
mod views;

use column_views::columns_table;
use errors::{innermost_message, sandbox_error, split_location};
use shared::{Caller, Keys, Shared};
use spec::FieldChecks;
use views::{
    actor_view_at, asset_view_at, flow_view_at, project_view_at, world_view, HostMemory, ViewAt,
    Views,
};

/// The per-entity hooks, which can run in parallel over slices of their selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    Actor,
    Asset,
    Flow,
}

pub struct RuleRuntime {
    lua: Lua,
    shared: Rc<Shared>,
    ctx: Table,
    infos: Vec<RuleInfo>,
    hooks: Vec<Hooks>,
    order: Vec<usize>,
    clock: Rc<Clock>,
    random: Rc<Random>,
    config: SandboxConfig,
    /// Rule sources by file name, to explain errors with the offending line.
    texts: RefCell<BTreeMap<String, String>>,
    /// Hook calls made so far (for `gil bench`).
    calls: std::cell::Cell<u64>,
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
    /// Loads every rule into a fresh sandboxed state, checks metadata and orders rules.
    pub fn load(
        sources: &[RuleSource],
        known: KnownNames,
        config: SandboxConfig,
    ) -> Result<Self, RuleError> {
        let clock = Rc::new(Clock::new(config.total_budget, config.cancel.clone()));
        let random = Rc::new(Random::new());
        let lua = sandbox::new_state(&config, clock.clone(), random.clone())?;
        let sandbox_error = |e: mlua::Error| {
            RuleError::new(RuleErrorKind::Sandbox, "<sandbox>", None, e.to_string())
        };
        let fields = FieldChecks::new(&lua).map_err(sandbox_error)?;
        let shared = Rc::new(Shared {
            world: RefCell::new(std::sync::Arc::new(WorldState::default())),
            views: RefCell::new(Views::default()),
            effects: RefCell::new(Vec::new()),
            caller: RefCell::new(Caller::default()),
            known,
            keys: Keys::new(&lua).map_err(|e| {
                RuleError::new(RuleErrorKind::Sandbox, "<sandbox>", None, e.to_string())
            })?,
            memory: HostMemory::new(config.memory_limit),
            fields,
        });
        let ctx = ctx::build(&lua, &shared).map_err(|e| {
            RuleError::new(
                RuleErrorKind::Sandbox,
                "<sandbox>",
                None,
                format!("cannot build ctx: {e}"),
            )
        })?;
        let mut runtime = RuleRuntime {
            lua,
            shared,
            ctx,
            infos: Vec::new(),
            hooks: Vec::new(),
            order: Vec::new(),
            clock,
            random,
            config,
            texts: RefCell::new(BTreeMap::new()),
            calls: std::cell::Cell::new(0),
            sources: sources.to_vec(),
        };
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for source in sources {
            let (info, hooks) = runtime.load_one(source)?;
            if let Some(first) = seen.get(&info.id) {
                return Err(RuleError::new(
                    RuleErrorKind::DuplicateId,
                    &info.file,
                    meta::line_of_key(&source.text, "id"),
                    format!("the rule id `{}` is also used by {first}", info.id),
                )
                .rule(info.id.clone()));
            }
            seen.insert(info.id.clone(), info.file.clone());
            runtime.infos.push(info);
            runtime.hooks.push(hooks);
        }
        runtime.order = order(&runtime.infos, sources)?;
        Ok(runtime)
    }

    fn load_one(&self, source: &RuleSource) -> Result<(RuleInfo, Hooks), RuleError> {
        let file = source.display.as_str();
        self.texts
            .borrow_mut()
            .insert(file.to_string(), source.text.clone());
        let lua_err = |e: mlua::Error| e.to_string();
        let env = self
            .lua
            .create_table()
            .map_err(|e| sandbox_error(file, e))?;
        let mt = self
            .lua
            .create_table()
            .map_err(|e| sandbox_error(file, e))?;
        mt.raw_set("__index", self.lua.globals())
            .map_err(|e| sandbox_error(file, e))?;
        env.set_metatable(Some(mt))
            .map_err(|e| sandbox_error(file, e))?;
        let chunk = self
            .lua
            .load(source.text.as_str())
            .set_name(format!("@{file}"))
            // Always compile as source: mlua would otherwise take a file that looks like
            // Luau bytecode (first byte a bytecode version) as bytecode, and Luau's
            // bytecode loader is not safe on untrusted input (found by fuzzing).
            .set_mode(mlua::chunk::ChunkMode::Text)
            .set_environment(env.clone())
            .into_function()
            .map_err(|e| {
                let (line, message) = split_location(&innermost_message(&e));
                if message.contains("binary chunk") {
                    return RuleError::new(
                        RuleErrorKind::Syntax,
                        file,
                        Some(1),
                        "the file starts like compiled bytecode; gil loads rules only as Lua source",
                    );
                }
                RuleError::new(RuleErrorKind::Syntax, file, line, message)
            })?;
        *self.shared.caller.borrow_mut() = Caller {
            rule: "".into(),
            file: file.into(),
            step: 0,
        };
        self.clock.start(self.config.call_deadline);
        let result = chunk.call::<Value>(());
        self.clock.stop();
        let value =
            result.map_err(|e| self.convert_error(e, file, None, chunk.info().line_defined))?;
        let _ = lua_err;
        let Value::Table(table) = value else {
            let last_line = source.text.lines().count().max(1) as u32;
            return Err(RuleError::new(
                RuleErrorKind::Metadata,
                file,
                Some(last_line),
                format!(
                    "the rule file must return a table, but it returns {}",
                    value.type_name()
                ),
            )
            .help(
                "end the file with `return { id = \"…\", on_actor = function(actor, ctx) … end }`",
            ));
        };
        let parsed = meta::parse(&table, source, &self.shared.known)?;
        // Globals a rule sets while loading stay its own; after loading its environment is
        // frozen, so no rule can keep hidden state from one call to the next.
        env.set_readonly(true);
        Ok(parsed)
    }

    /// Rules in the order they load (by file).
    pub fn rules(&self) -> &[RuleInfo] {
        &self.infos
    }

    /// Indexes into [`Self::rules`] in evaluation order: topological by `after`, ties by id.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Replaces the world (at the start of a step).
    pub fn set_world(&self, world: WorldState) {
        self.set_shared_world(std::sync::Arc::new(world));
    }

    /// Shares a world with other runtimes (workers running parts of a rule).
    pub fn set_shared_world(&self, world: std::sync::Arc<WorldState>) {
        *self.shared.world.borrow_mut() = world;
        *self.shared.views.borrow_mut() = Views::default();
        self.shared.memory.reset(&self.lua);
        let year = self.shared.world.borrow().year;
        self.ctx.set_readonly(false);
        let _ = self.ctx.raw_set("step", year);
        self.ctx.set_readonly(true);
    }

    pub fn world(&self) -> Ref<'_, WorldState> {
        Ref::map(self.shared.world.borrow(), |w| &**w)
    }

    /// The world as a shared handle, for worker runtimes.
    pub fn shared_world(&self) -> std::sync::Arc<WorldState> {
        self.shared.world.borrow().clone()
    }

    /// Drops this runtime's hold on the world (a worker, after its part of a rule).
    pub fn release_world(&self) {
        *self.shared.views.borrow_mut() = Views::default();
        *self.shared.world.borrow_mut() = std::sync::Arc::new(WorldState::default());
    }

    /// Takes up the same step's world again (a worker's next part of a step), keeping
    /// its cached views except those of the entities changed since (`touched`).
    pub fn resume_shared_world(
        &self,
        world: std::sync::Arc<WorldState>,
        touched: &crate::world::Touched,
    ) -> Result<(), RuleError> {
        *self.shared.world.borrow_mut() = world;
        self.forget_views(touched)
    }

    /// Lets go of the world but keeps the cached views, for [`Self::resume_shared_world`].
    pub fn pause_world(&self) {
        *self.shared.world.borrow_mut() = std::sync::Arc::new(WorldState::default());
    }

    /// Mutable access for applying effects; every cached view is dropped. Cheap when no
    /// worker still holds the world (they release it after each part).
    pub fn world_mut(&self) -> RefMut<'_, WorldState> {
        *self.shared.views.borrow_mut() = Views::default();
        RefMut::map(self.shared.world.borrow_mut(), std::sync::Arc::make_mut)
    }

    /// Mutable access for applying effects that keeps the cached views: the caller must
    /// then pass every entity it changed to [`Self::forget_views`].
    pub fn world_mut_keeping_views(&self) -> RefMut<'_, WorldState> {
        RefMut::map(self.shared.world.borrow_mut(), std::sync::Arc::make_mut)
    }

    /// Drops the cached views of the entities a rule's effects changed (and the whole-
    /// world view); every other view stays valid for the next rule of the step.
    pub fn forget_views(&self, touched: &crate::world::Touched) -> Result<(), RuleError> {
        self.shared
            .views
            .borrow_mut()
            .forget(touched)
            .map_err(|e| sandbox_error("<views>", e))
    }

    /// Takes the world out (at the end of a step).
    pub fn take_world(&self) -> WorldState {
        *self.shared.views.borrow_mut() = Views::default();
        let world = std::mem::take(&mut *self.shared.world.borrow_mut());
        std::sync::Arc::try_unwrap(world).unwrap_or_else(|shared| (*shared).clone())
    }

    /// Runs every hook of rule `index` on the current world and returns its effects,
    /// in call order.
    pub fn run(&self, index: usize) -> Result<Vec<Effect>, RuleError> {
        let mut effects = self.run_step_hook(index)?;
        for hook in [Hook::Actor, Hook::Asset, Hook::Flow] {
            if self.has_hook(index, hook) {
                let selected = self.selection(index, hook);
                effects.extend(self.run_entity_hook(index, hook, &selected)?);
            }
            effects.extend(self.run_columns_hook(index, hook)?);
        }
        effects.extend(self.run_project_hook(index)?);
        Ok(effects)
    }

    /// Runs rule `index`'s columnar hook for `hook`'s entities (`on_actors` for actors,
    /// `on_flows` for flows), if it has one: one call with the selection as columns.
    pub fn run_columns_hook(&self, index: usize, hook: Hook) -> Result<Vec<Effect>, RuleError> {
        let Some((info, hooks, step, rule_seed)) = self.begin(index) else {
            return Ok(Vec::new());
        };
        let f = match hook {
            Hook::Actor => &hooks.on_actors,
            Hook::Flow => &hooks.on_flows,
            Hook::Asset => &None,
        };
        let Some(f) = f else { return Ok(Vec::new()) };
        let selection = Rc::new(self.selection(index, hook));
        let cols = self
            .shared
            .memory
            .unguarded(&self.lua, || {
                columns_table(&self.lua, &self.shared, hook, selection)
            })
            .map_err(|e| self.convert_error(e, &info.file, Some(&info.id), None))?;
        let salt = if hook == Hook::Actor { 5 } else { 6 };
        self.call(info, f, cols, [rule_seed, step as u64, salt, 0])?;
        Ok(self.finish())
    }

    /// Whether rule `index` defines the per-entity `hook`.
    pub fn has_hook(&self, index: usize, hook: Hook) -> bool {
        self.hooks.get(index).is_some_and(|h| match hook {
            Hook::Actor => h.on_actor.is_some(),
            Hook::Asset => h.on_asset.is_some(),
            Hook::Flow => h.on_flow.is_some(),
        })
    }

    /// The entities (indices into the world) that rule `index`'s `hook` receives,
    /// filtered by its `select` in Rust.
    pub fn selection(&self, index: usize, hook: Hook) -> Vec<usize> {
        let Some(info) = self.infos.get(index) else {
            return Vec::new();
        };
        let world = self.shared.world.borrow();
        match hook {
            Hook::Actor => {
                let sel = info.select.actors.as_ref();
                world
                    .actors
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| sel.is_none_or(|s| s.matches_actor(a)))
                    .map(|(i, _)| i)
                    .collect()
            }
            Hook::Asset => {
                let sel = info.select.assets.as_ref();
                world
                    .assets
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| sel.is_none_or(|s| s.matches_asset(a)))
                    .map(|(i, _)| i)
                    .collect()
            }
            Hook::Flow => {
                let sel = info.select.flows.as_ref();
                world
                    .flows
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| sel.is_none_or(|s| s.matches_flow(f)))
                    .map(|(i, _)| i)
                    .collect()
            }
        }
    }

    /// Sets up a part of rule `index`: the caller for provenance, an empty effect list.
    fn begin(&self, index: usize) -> Option<(&RuleInfo, &Hooks, i32, u64)> {
        let info = self.infos.get(index)?;
        let hooks = self.hooks.get(index)?;
        let step = self.shared.world.borrow().year;
        *self.shared.caller.borrow_mut() = Caller {
            rule: info.id.as_str().into(),
            file: info.file.as_str().into(),
            step,
        };
        self.shared.effects.borrow_mut().clear();
        Some((info, hooks, step, sandbox::hash_str(&info.id)))
    }

    fn finish(&self) -> Vec<Effect> {
        std::mem::take(&mut *self.shared.effects.borrow_mut())
    }

    /// Runs rule `index`'s `on_step`, if it has one.
    pub fn run_step_hook(&self, index: usize) -> Result<Vec<Effect>, RuleError> {
        let Some((info, hooks, step, rule_seed)) = self.begin(index) else {
            return Ok(Vec::new());
        };
        if let Some(f) = &hooks.on_step {
            let view = world_view(&self.lua, &self.shared)
                .map_err(|e| self.convert_error(e, &info.file, Some(&info.id), None))?;
            self.call(info, f, view, [rule_seed, step as u64, 0, 0])?;
        }
        Ok(self.finish())
    }

    /// Runs rule `index`'s per-entity `hook` for the given entities, in order. Workers run
    /// disjoint slices of one selection; their effects, joined in slice order, are the
    /// same as one runtime running the whole selection.
    pub fn run_entity_hook(
        &self,
        index: usize,
        hook: Hook,
        entities: &[usize],
    ) -> Result<Vec<Effect>, RuleError> {
        let Some((info, hooks, step, rule_seed)) = self.begin(index) else {
            return Ok(Vec::new());
        };
        let (f, view_at, salt): (_, ViewAt, u64) = match hook {
            Hook::Actor => (&hooks.on_actor, actor_view_at, 1),
            Hook::Asset => (&hooks.on_asset, asset_view_at, 2),
            Hook::Flow => (&hooks.on_flow, flow_view_at, 3),
        };
        if let Some(f) = f {
            // Build the selection's views in one go: lifting and restoring the memory
            // limit per view cost more than some views.
            self.shared
                .memory
                .unguarded(&self.lua, || {
                    entities
                        .iter()
                        .try_for_each(|&i| view_at(&self.lua, &self.shared, i).map(drop))
                })
                .map_err(|e| self.convert_error(e, &info.file, Some(&info.id), None))?;
            for &i in entities {
                let view = view_at(&self.lua, &self.shared, i)
                    .map_err(|e| self.convert_error(e, &info.file, Some(&info.id), None))?;
                self.call(info, f, view, [rule_seed, step as u64, salt, i as u64])?;
            }
        }
        Ok(self.finish())
    }

    /// Runs rule `index`'s `on_project` for every project, if it has one.
    pub fn run_project_hook(&self, index: usize) -> Result<Vec<Effect>, RuleError> {
        let Some((info, hooks, step, rule_seed)) = self.begin(index) else {
            return Ok(Vec::new());
        };
        if let Some(f) = &hooks.on_project {
            let count = self.shared.world.borrow().projects.len();
            for i in 0..count {
                let view = project_view_at(&self.lua, &self.shared, i)
                    .map_err(|e| self.convert_error(e, &info.file, Some(&info.id), None))?;
                self.call(info, f, view, [rule_seed, step as u64, 4, i as u64])?;
            }
        }
        Ok(self.finish())
    }

    fn call(
        &self,
        info: &RuleInfo,
        f: &Function,
        arg: Table,
        seed: [u64; 4],
    ) -> Result<(), RuleError> {
        self.calls.set(self.calls.get() + 1);
        self.random.reseed(sandbox::mix(&[
            self.config.seed,
            seed[0],
            seed[1],
            seed[2],
            seed[3],
        ]));
        self.clock.start(self.config.call_deadline);
        let result = f.call::<()>((arg, self.ctx.clone()));
        self.clock.stop();
        result.map_err(|e| self.convert_error(e, &info.file, Some(&info.id), f.info().line_defined))
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
    pub fn blueprint(&self) -> (Vec<RuleSource>, KnownNames, SandboxConfig) {
        (
            self.sources.clone(),
            self.shared.known.clone(),
            self.config.clone(),
        )
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

/// The rules' evaluation order, or the ordering problem as a located rule error.
fn order(infos: &[RuleInfo], sources: &[RuleSource]) -> Result<Vec<usize>, RuleError> {
    let nodes: Vec<order::Node<'_>> = infos
        .iter()
        .map(|r| (r.id.as_str(), r.after.as_slice()))
        .collect();
    let text_of = |info: &RuleInfo| {
        sources
            .iter()
            .find(|s| s.display == info.file)
            .map(|s| s.text.as_str())
            .unwrap_or("")
    };
    let problem = match order::order(&nodes) {
        Ok(order) => return Ok(order),
        Err(problem) => problem,
    };
    let error = match problem {
        order::OrderError::UnknownAfter { rule, missing } => {
            let Some(info) = infos.get(rule) else {
                return Err(unordered());
            };
            let mut e = RuleError::new(
                RuleErrorKind::UnknownRule,
                &info.file,
                meta::line_of_key(text_of(info), "after"),
                format!("`after` names `{missing}`, which is not a loaded rule"),
            )
            .rule(info.id.clone());
            let ids: BTreeSet<&str> = infos.iter().map(|r| r.id.as_str()).collect();
            if let Some(s) = gil_model::diag::did_you_mean(&missing, ids.iter().copied()) {
                e = e.help(format!("did you mean `{s}`?"));
            }
            e
        }
        order::OrderError::Cycle { path } => {
            let (Some(first), Some(names)) = (
                path.first().and_then(|&i| infos.get(i)),
                path.iter()
                    .map(|&i| infos.get(i).map(|r| r.id.as_str()))
                    .collect::<Option<Vec<&str>>>(),
            ) else {
                return Err(unordered());
            };
            RuleError::new(
                RuleErrorKind::Cycle,
                &first.file,
                meta::line_of_key(text_of(first), "after"),
                format!(
                    "the rules' `after` order has a cycle: {}",
                    names.join(" → ")
                ),
            )
            .rule(first.id.clone())
            .help(
                "each rule runs after the rules it names; remove one `after` entry to break the cycle",
            )
        }
    };
    Err(error)
}

/// An ordering problem that names a rule ordering was not given: a bug, not bad input.
fn unordered() -> RuleError {
    RuleError::new(
        RuleErrorKind::Cycle,
        "<rules>",
        None,
        "the rule order names a rule that was not loaded",
    )
}
