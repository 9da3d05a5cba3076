//! One Lua state with every rule loaded, the `ctx` API, and hook calls.
//!
//! A runtime is not `Send`: each worker thread builds its own from the same
//! [`RuleSource`]s, which is cheap next to evaluation and keeps Lua states apart.

use std::cell::{Ref, RefCell, RefMut};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use mlua::{Function, Lua, Table, Value};

use crate::api;
use crate::effect::{AdjustOp, AdjustTarget, Effect, EffectKind, EntityKind, Level, NewFlow, Role};
use crate::error::{RuleError, RuleErrorKind};
use crate::meta::{self, Hooks, KnownNames, RuleInfo};
use crate::sandbox::{self, Clock, Random, SandboxConfig};
use crate::source::RuleSource;
use crate::world::{AttrVal, WorldState};

mod column_views;
mod errors;
mod order;
mod shared;
mod spec;
mod views;

use column_views::columns_table;
use errors::{effect_error, innermost_message, sandbox_error, split_location};
use shared::{Caller, Keys, Shared};
use spec::{check_fields, check_number, column_rows, selector_arg, FieldChecks, Spec};
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
        let ctx = build_ctx(&lua, &shared).map_err(|e| {
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

// ── ctx ───────────────────────────────────────────────────────────────────────────

fn build_ctx(lua: &Lua, shared: &Rc<Shared>) -> mlua::Result<Table> {
    let ctx = lua.create_table()?;
    ctx.raw_set("step", 0)?;
    for function in api::CTX_FUNCTIONS {
        let s = shared.clone();
        let f = match function.name {
            "param" => lua.create_function(move |lua, name: Value| {
                let Value::String(name) = name else {
                    return Err(effect_error(
                        lua,
                        &s,
                        "param",
                        format!("expected a parameter name, got {}", name.type_name()),
                    ));
                };
                let name = name.to_string_lossy();
                let world = s.world.borrow();
                if let Some(v) = world.params.get(&name) {
                    return Ok(*v);
                }
                let message = if s.known.params.contains(&name) {
                    format!("parameter `{name}` has no value in {}", world.year)
                } else {
                    let hint = gil_model::diag::did_you_mean(
                        &name,
                        s.known.params.iter().map(String::as_str),
                    )
                    .map(|h| format!(" (did you mean `{h}`?)"))
                    .unwrap_or_default();
                    format!("unknown parameter `{name}`{hint}")
                };
                drop(world);
                Err(effect_error(lua, &s, "param", message))
            })?,
            "actor" => lua.create_function(move |lua, id: String| {
                let index = s.world.borrow().actor_index(&id);
                match index {
                    Some(i) => actor_view_at(lua, &s, i).map(Value::Table),
                    None => Ok(Value::Nil),
                }
            })?,
            "asset" => lua.create_function(move |lua, id: String| {
                let index = s.world.borrow().asset_index(&id);
                match index {
                    Some(i) => asset_view_at(lua, &s, i).map(Value::Table),
                    None => Ok(Value::Nil),
                }
            })?,
            "flows" => lua.create_function(move |lua, sel: Value| {
                let selector = selector_arg(lua, &s, "flows", sel)?;
                let matching: Vec<usize> = {
                    let w = s.world.borrow();
                    w.flows
                        .iter()
                        .enumerate()
                        .filter(|(_, f)| selector.matches_flow(f))
                        .map(|(i, _)| i)
                        .collect()
                };
                let list = lua.create_table_with_capacity(matching.len(), 0)?;
                for (n, i) in matching.into_iter().enumerate() {
                    list.raw_set(n + 1, flow_view_at(lua, &s, i)?)?;
                }
                Ok(list)
            })?,
            "sum" => lua.create_function(move |lua, sel: Value| {
                let selector = selector_arg(lua, &s, "sum", sel)?;
                let w = s.world.borrow();
                Ok(w.flows
                    .iter()
                    .filter(|f| selector.matches_flow(f))
                    .map(|f| f.amount)
                    .sum::<f64>())
            })?,
            "total" => lua.create_function(move |lua, sel: Value| {
                let selector = selector_arg(lua, &s, "total", sel)?;
                let w = s.world.borrow();
                Ok(w.history
                    .iter()
                    .flat_map(|year| year.iter())
                    .filter(|f| selector.matches_flow(f))
                    .map(|f| f.amount)
                    .sum::<f64>())
            })?,
            "flow" => lua.create_function(move |lua, spec: Value| {
                with_columns(lua, &s, "flow", "FlowSpec", spec, ctx_flow)
            })?,
            "adjust" => lua.create_function(move |lua, spec: Value| {
                with_columns(lua, &s, "adjust", "AdjustSpec", spec, ctx_adjust)
            })?,
            "set" => lua.create_function(move |lua, spec: Value| {
                with_columns(lua, &s, "set", "SetSpec", spec, ctx_set)
            })?,
            "metric" => lua.create_function(move |lua, (name, value): (Value, Value)| {
                // A number column adds each row in order, exactly as per-entity calls would.
                let column = match &value {
                    Value::UserData(ud) => ud
                        .borrow::<crate::columns::NumCol>()
                        .ok()
                        .map(|c| c.0.clone()),
                    _ => None,
                };
                match (column, &name) {
                    (Some(values), Value::String(text)) => {
                        let text = text.to_string_lossy();
                        let at = s.provenance(lua);
                        for v in values.iter() {
                            let value = check_number(&Value::Number(*v)).map_err(|m| {
                                effect_error(lua, &s, "metric", format!("the value {m}"))
                            })?;
                            let name = text.clone();
                            s.record(EffectKind::Metric { name, value }, at.clone());
                        }
                        Ok(())
                    }
                    _ => ctx_metric(lua, &s, (name, value)),
                }
            })?,
            "finding" => lua.create_function(move |lua, spec: Value| {
                let spec = Spec::new(lua, &s, "finding", "FindingSpec", spec)?;
                let level_name = spec.required_string("level")?;
                let Some(level) = Level::parse(&level_name) else {
                    return Err(spec.fail(format!(
                        "field `level` must be info, warn or error, got `{level_name}`"
                    )));
                };
                let finding = EffectKind::Finding {
                    level,
                    message: spec.required_string("message")?,
                    code: spec.string("code")?,
                    subject: spec.string("subject")?,
                };
                s.push(lua, finding);
                Ok(())
            })?,
            "role" => lua.create_function(move |lua, spec: Value| {
                let spec = Spec::new(lua, &s, "role", "RoleSpec", spec)?;
                let project = spec.required_string("project")?;
                let actor = spec.required_string("actor")?;
                let role_name = spec.required_string("role")?;
                let Some(role) = Role::parse(&role_name) else {
                    return Err(spec.fail(format!(
                        "field `role` must be what, how or why, got `{role_name}`"
                    )));
                };
                {
                    let w = s.world.borrow();
                    if w.project_index(&project).is_none() {
                        return Err(
                            spec.fail(format!("field `project`: unknown project `{project}`"))
                        );
                    }
                    if w.actor_index(&actor).is_none() {
                        return Err(spec.fail(format!("field `actor`: unknown actor `{actor}`")));
                    }
                }
                s.push(
                    lua,
                    EffectKind::Role {
                        project,
                        actor,
                        role,
                        note: spec.string("note")?,
                    },
                );
                Ok(())
            })?,
            other => {
                return Err(mlua::Error::runtime(format!(
                    "gil: ctx.{other} is described but not implemented"
                )));
            }
        };
        ctx.raw_set(function.name, f)?;
    }
    ctx.set_readonly(true);
    Ok(ctx)
}

/// Runs an effect function once per row when the table holds columns, else once.
/// Rows are read from the columns in place and share one provenance: building a Lua
/// table per row and finding the call site per row cost more than the effect itself.
fn with_columns(
    lua: &Lua,
    s: &Rc<Shared>,
    function: &'static str,
    class: &str,
    spec: Value,
    effect: for<'c> fn(&Rc<Shared>, Spec<'_, 'c>) -> mlua::Result<()>,
) -> mlua::Result<()> {
    let Value::Table(table) = spec else {
        return effect(s, Spec::new(lua, s, function, class, spec)?); // "expected a table"
    };
    let has_columns = check_fields(lua, s, function, class, &table)?;
    if has_columns {
        if let Some((cells, rows)) = column_rows(lua, s, function, &table)? {
            let at = s.provenance(lua);
            for i in 0..rows {
                effect(s, Spec::row(lua, s, function, &cells, i, &at))?;
            }
            return Ok(());
        }
    }
    effect(s, Spec::table(lua, s, function, table))
}

fn ctx_flow(s: &Rc<Shared>, spec: Spec<'_, '_>) -> mlua::Result<()> {
    let from = spec.required_string("from")?;
    let to = spec.required_string("to")?;
    let kind_name = spec.required_string("kind")?;
    let Some(kind) = gil_model::FlowKind::parse(&kind_name) else {
        return Err(spec.fail(format!(
            "field `kind` must be funding, compute or power, got `{kind_name}`"
        )));
    };
    let amount = spec
        .number("amount")?
        .ok_or_else(|| spec.fail("field `amount` is required".into()))?;
    if amount < 0.0 {
        return Err(spec.fail(format!("field `amount` must not be negative, got {amount}")));
    }
    {
        let w = s.world.borrow();
        for (key, id) in [("from", &from), ("to", &to)] {
            if !w.is_entity(id) {
                let candidates = w
                    .actors
                    .iter()
                    .map(|a| a.id.as_str())
                    .chain(w.assets.iter().map(|a| a.id.as_str()));
                let hint = gil_model::diag::did_you_mean(id, candidates)
                    .map(|h| format!(" (did you mean `{h}`?)"))
                    .unwrap_or_default();
                return Err(spec.fail(format!(
                    "field `{key}`: unknown actor or asset `{id}`{hint}"
                )));
            }
        }
    }
    let project = spec.string("project")?;
    if let Some(p) = &project {
        if s.world.borrow().project_index(p).is_none() {
            return Err(spec.fail(format!("field `project`: unknown project `{p}`")));
        }
    }
    let flow = NewFlow {
        id: spec.string("id")?,
        from,
        to,
        kind,
        via: spec.string("via")?,
        amount,
        project,
        tags: spec.names("tags")?,
        note: spec.string("note")?,
    };
    spec.push(EffectKind::Flow(flow));
    Ok(())
}

fn ctx_adjust(s: &Rc<Shared>, spec: Spec<'_, '_>) -> mlua::Result<()> {
    let flow = spec.string("flow")?;
    let select = spec.get("select")?;
    let target = match (flow, select) {
        (Some(id), Value::Nil) => {
            if s.world.borrow().flow_index(&id).is_none() {
                return Err(spec.fail(format!("field `flow`: unknown flow `{id}` in this step")));
            }
            AdjustTarget::Flow(id)
        }
        (None, sel @ Value::Table(_)) => AdjustTarget::Select(spec.selector(sel)?),
        (None, Value::Nil) => {
            return Err(spec.fail("give `flow` (an id) or `select` (a selector)".into()))
        }
        (Some(_), _) => return Err(spec.fail("give `flow` or `select`, not both".into())),
        (None, other) => {
            return Err(spec.fail(format!(
                "field `select` must be a table, got {}",
                other.type_name()
            )))
        }
    };
    let ops = [
        ("scale", spec.number("scale")?),
        ("add", spec.number("add")?),
        ("set", spec.number("set")?),
    ];
    let given: Vec<_> = ops.iter().filter(|(_, v)| v.is_some()).collect();
    let op = match given.as_slice() {
        [(name, Some(v))] => match *name {
            "scale" if *v < 0.0 => {
                return Err(spec.fail(format!("field `scale` must not be negative, got {v}")))
            }
            "set" if *v < 0.0 => {
                return Err(spec.fail(format!("field `set` must not be negative, got {v}")))
            }
            "scale" => AdjustOp::Scale(*v),
            "add" => AdjustOp::Add(*v),
            _ => AdjustOp::Set(*v),
        },
        [] => return Err(spec.fail("give one of `scale`, `add` or `set`".into())),
        _ => return Err(spec.fail("give only one of `scale`, `add` or `set`".into())),
    };
    spec.push(EffectKind::Adjust { target, op });
    Ok(())
}

fn ctx_set(s: &Rc<Shared>, spec: Spec<'_, '_>) -> mlua::Result<()> {
    let (entity, id) = match (spec.string("actor")?, spec.string("asset")?) {
        (Some(a), None) => (EntityKind::Actor, a),
        (None, Some(a)) => (EntityKind::Asset, a),
        (None, None) => return Err(spec.fail("give `actor` or `asset`".into())),
        (Some(_), Some(_)) => return Err(spec.fail("give `actor` or `asset`, not both".into())),
    };
    let exists = {
        let w = s.world.borrow();
        match entity {
            EntityKind::Actor => w.actor_index(&id).is_some(),
            EntityKind::Asset => w.asset_index(&id).is_some(),
        }
    };
    if !exists {
        let what = if entity == EntityKind::Actor {
            "actor"
        } else {
            "asset"
        };
        return Err(spec.fail(format!("field `{what}`: unknown {what} `{id}`")));
    }
    let attr = spec.required_string("attr")?;
    let value = match spec.get("value")? {
        Value::Nil => return Err(spec.fail("field `value` is required".into())),
        Value::Boolean(b) => AttrVal::Bool(b),
        Value::String(t) => AttrVal::Text(t.to_string_lossy()),
        v => AttrVal::Num(check_number(&v).map_err(|m| spec.fail(format!("field `value` {m}")))?),
    };
    spec.push(EffectKind::Set {
        entity,
        id,
        attr,
        value,
    });
    Ok(())
}

fn ctx_metric(lua: &Lua, s: &Rc<Shared>, (name, value): (Value, Value)) -> mlua::Result<()> {
    let Value::String(name) = name else {
        return Err(effect_error(
            lua,
            s,
            "metric",
            format!("the name must be a string, got {}", name.type_name()),
        ));
    };
    let value = check_number(&value)
        .map_err(|m| effect_error(lua, s, "metric", format!("the value {m}")))?;
    s.push(
        lua,
        EffectKind::Metric {
            name: name.to_string_lossy(),
            value,
        },
    );
    Ok(())
}
