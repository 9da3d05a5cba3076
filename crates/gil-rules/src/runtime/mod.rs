//! One Lua state with every rule loaded, the `ctx` API, and hook calls.
//!
//! A runtime is not `Send`: each worker thread builds its own from the same
//! [`RuleSource`]s, which is cheap next to evaluation and keeps Lua states apart.

use std::cell::{Ref, RefCell, RefMut};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use mlua::{Function, Lua, Table, Value};

use crate::api;
use crate::effect::{
    AdjustOp, AdjustTarget, Effect, EffectKind, EntityKind, Level, NewFlow, Provenance, Role,
};
use crate::error::{RuleError, RuleErrorKind};
use crate::meta::{self, Hooks, KnownNames, RuleInfo};
use crate::sandbox::{self, Clock, Random, SandboxConfig, Tripped};
use crate::select::Target;
use crate::source::RuleSource;
use crate::world::{ActorState, AssetState, AttrVal, FlowState, ProjectState, WorldState};

mod order;

/// Builds (or fetches) the view of entity `i`.
type ViewAt = fn(&Lua, &Shared, usize) -> mlua::Result<Table>;

/// The per-entity hooks, which can run in parallel over slices of their selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    Actor,
    Asset,
    Flow,
}

/// The running rule, for provenance and error messages.
#[derive(Debug, Clone, Default)]
struct Caller {
    rule: std::sync::Arc<str>,
    file: std::sync::Arc<str>,
    step: i32,
}

/// Lua strings for every field name the host reads or writes, made once: creating a
/// key string per access (hashing and interning it) was a large share of a call's cost.
struct Keys(rustc_hash::FxHashMap<&'static str, mlua::LuaString>);

impl Keys {
    fn new(lua: &Lua) -> mlua::Result<Self> {
        let mut names: Vec<&'static str> = api::CLASSES
            .iter()
            .flat_map(|c| c.fields.iter().map(|f| f.name))
            .collect();
        names.extend(api::CTX_FIELDS.iter().map(|f| f.name));
        let mut map = rustc_hash::FxHashMap::default();
        for name in names {
            if !map.contains_key(name) {
                map.insert(name, lua.create_string(name)?);
            }
        }
        Ok(Keys(map))
    }

    /// The key string for `name`; every name the host uses is made in `new`.
    fn k(&self, name: &str) -> mlua::Result<&mlua::LuaString> {
        self.0
            .get(name)
            .ok_or_else(|| mlua::Error::runtime(format!("gil: no key string for `{name}`")))
    }
}

/// Lua views of this step's entities, built on first use and dropped when the world
/// changes.
///
/// The cache is a Lua table per entity type (index → view), not Rust handles: every
/// handle Rust holds is a slot on mlua's reference thread, which Luau's collector walks
/// whole on every cycle, so holding one per entity made each call cost O(entities).
#[derive(Default)]
struct Views {
    actors: Option<Table>,
    assets: Option<Table>,
    flows: Option<Table>,
    projects: Option<Table>,
    world: Option<Table>,
}

struct Shared {
    /// Shared with worker runtimes while a rule runs in parallel; unique otherwise.
    world: RefCell<std::sync::Arc<WorldState>>,
    views: RefCell<Views>,
    effects: RefCell<Vec<Effect>>,
    caller: RefCell<Caller>,
    known: KnownNames,
    keys: Keys,
    /// The Lua state's memory limit, restored after host-built views (see `unguarded`).
    memory_limit: usize,
    unguarded: std::cell::Cell<bool>,
    /// Bytes the host's own views added to the Lua heap this step: the limit applies to
    /// what rules allocate on top of them and of the collector's slack for them (a
    /// national scenario's views alone can pass the default limit).
    host_bytes: std::cell::Cell<usize>,
    /// `first_unknown(t, allowed)`: the first key of effect table `t` not in `allowed`,
    /// found inside Luau (iterating from Rust made a handle per key and per value).
    first_unknown: Function,
    /// Each effect class's field names as a Lua set, for `first_unknown`.
    allowed_fields: rustc_hash::FxHashMap<&'static str, Table>,
}

/// Luau source of `Shared::first_unknown`; raw `next`, so a metatable cannot run code.
/// Also says whether any value is a userdata (a column), so scalar effect calls need
/// no second pass.
const FIRST_UNKNOWN: &str = "local next, type = next, type
return function(t, allowed)
  local columns = false
  for k, v in next, t do
    if allowed[k] == nil then return k, columns end
    if type(v) == 'userdata' then columns = true end
  end
  return nil, columns
end";

fn field_checks(lua: &Lua) -> mlua::Result<(Function, rustc_hash::FxHashMap<&'static str, Table>)> {
    let make = lua
        .load(FIRST_UNKNOWN)
        .set_name("=gil.fields")
        .set_mode(mlua::chunk::ChunkMode::Text)
        .into_function()?;
    let first_unknown: Function = make.call(())?;
    let mut allowed = rustc_hash::FxHashMap::default();
    for class in api::CLASSES {
        let set = lua.create_table()?;
        for field in class.fields {
            set.raw_set(field.name, true)?;
        }
        set.set_readonly(true);
        allowed.insert(class.name, set);
    }
    Ok((first_unknown, allowed))
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
        let (first_unknown, allowed_fields) = field_checks(&lua).map_err(sandbox_error)?;
        let shared = Rc::new(Shared {
            world: RefCell::new(std::sync::Arc::new(WorldState::default())),
            views: RefCell::new(Views::default()),
            effects: RefCell::new(Vec::new()),
            caller: RefCell::new(Caller::default()),
            known,
            keys: Keys::new(&lua).map_err(|e| {
                RuleError::new(RuleErrorKind::Sandbox, "<sandbox>", None, e.to_string())
            })?,
            memory_limit: config.memory_limit,
            unguarded: std::cell::Cell::new(false),
            host_bytes: std::cell::Cell::new(0),
            first_unknown,
            allowed_fields,
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
                let (line, message) = split_location(file, &innermost_message(&e));
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
        // The old views are garbage now: collect them, so the rules' memory limit again
        // sits just above what the host holds.
        let _ = self.lua.gc_collect();
        self.shared.host_bytes.set(0);
        if self.shared.memory_limit > 0 {
            let _ = self.lua.set_memory_limit(self.shared.memory_limit);
        }
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
        let mut views = self.shared.views.borrow_mut();
        views.world = None;
        let forget = |cache: &Option<Table>, indices: &[usize]| -> mlua::Result<()> {
            if let Some(cache) = cache {
                for &i in indices {
                    cache.raw_set(i + 1, Value::Nil)?;
                }
            }
            Ok(())
        };
        forget(&views.actors, &touched.actors)
            .and_then(|()| forget(&views.assets, &touched.assets))
            .and_then(|()| forget(&views.flows, &touched.flows))
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
        let cols = unguarded(&self.lua, &self.shared, || {
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
            unguarded(&self.lua, &self.shared, || {
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

    /// Turns an mlua error into a rule error with the rule's file and line.
    fn convert_error(
        &self,
        e: mlua::Error,
        file: &str,
        rule: Option<&str>,
        defined: Option<usize>,
    ) -> RuleError {
        let with_rule = |err: RuleError| match rule {
            Some(id) if !id.is_empty() => err.rule(id),
            _ => err,
        };
        if let Some(inner) = find_rule_error(&e) {
            return with_rule(inner);
        }
        match self.clock.tripped.replace(Tripped::None) {
            Tripped::None => {}
            tripped => {
                let (at_file, line) = self
                    .clock
                    .where_
                    .borrow_mut()
                    .take()
                    .map(|(f, l)| (f, Some(l)))
                    .unwrap_or_else(|| (file.to_string(), defined.map(|l| l as u32)));
                let (kind, message, help) = match tripped {
                    Tripped::Budget => (
                        RuleErrorKind::Budget,
                        format!(
                            "the run's rule time budget of {:?} is spent",
                            self.config.total_budget
                        ),
                        "raise it with --rule-budget SECONDS, or make the rule do less per call",
                    ),
                    Tripped::Cancelled => (
                        RuleErrorKind::Interrupted,
                        "the run was interrupted".to_string(),
                        "nothing was written",
                    ),
                    _ => (
                        RuleErrorKind::Deadline,
                        format!(
                            "the call ran past its deadline of {:?} (an endless loop?)",
                            self.config.call_deadline
                        ),
                        "raise it with --call-deadline SECONDS if the rule is merely slow",
                    ),
                };
                return with_rule(RuleError::new(kind, at_file, line, message).help(help));
            }
        }
        if is_memory_error(&e) {
            let line = defined.map(|l| l as u32);
            return with_rule(
                RuleError::new(
                    RuleErrorKind::Memory,
                    file,
                    line,
                    format!("the rule exceeded the Lua memory limit of {} MiB", self.config.memory_limit / (1024 * 1024)),
                )
                .help("the line is where the hook that ran out is defined; raise the limit with --lua-memory MIB"),
            );
        }
        let message = innermost_message(&e);
        let (line, message) = split_location(file, &message);
        let line = line.or(defined.map(|l| l as u32));
        let source_line = line.and_then(|l| {
            self.texts.borrow().get(file).and_then(|t| {
                t.lines()
                    .nth(l.saturating_sub(1) as usize)
                    .map(str::to_string)
            })
        });
        let mut err = RuleError::new(RuleErrorKind::Runtime, file, line, message.clone());
        if let Some(help) = sandbox_help(&message, source_line.as_deref().unwrap_or("")) {
            err = err.help(help);
        }
        with_rule(err)
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

/// A hint for errors that come from the sandbox rather than from the rule's logic.
fn sandbox_help(message: &str, line: &str) -> Option<String> {
    if message.contains("nil") {
        let used = sandbox::REMOVED_GLOBALS.iter().find(|g| {
            line.match_indices(*g).any(|(i, _)| {
                let before = line[..i].chars().last();
                let after = line[i + g.len()..].chars().next();
                before.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '.'))
                    && matches!(
                        after,
                        Some('(') | Some('.') | Some(':') | Some(' ') | Some('"')
                    )
            })
        });
        if let Some(g) = used {
            return Some(format!(
                "`{g}` is not available to rules: they run sandboxed, without require, load, os, io or debug"
            ));
        }
    }
    if message.contains("readonly table") {
        return Some(
            "entities, ctx, libraries and the rule's globals are read-only; change the world through effects \
             (ctx.flow, ctx.adjust, ctx.set) and keep working values in locals"
                .into(),
        );
    }
    None
}

fn sandbox_error(file: &str, e: mlua::Error) -> RuleError {
    RuleError::new(RuleErrorKind::Sandbox, file, None, e.to_string())
}

fn find_rule_error(e: &mlua::Error) -> Option<RuleError> {
    match e {
        mlua::Error::CallbackError { cause, .. } => find_rule_error(cause),
        mlua::Error::WithContext { cause, .. } => find_rule_error(cause),
        mlua::Error::ExternalError(inner) => inner.downcast_ref::<RuleError>().cloned(),
        _ => None,
    }
}

fn is_memory_error(e: &mlua::Error) -> bool {
    match e {
        mlua::Error::MemoryError(_) => true,
        mlua::Error::CallbackError { cause, .. } | mlua::Error::WithContext { cause, .. } => {
            is_memory_error(cause)
        }
        _ => false,
    }
}

fn innermost_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::CallbackError { cause, .. } | mlua::Error::WithContext { cause, .. } => {
            innermost_message(cause)
        }
        mlua::Error::RuntimeError(m) | mlua::Error::MemoryError(m) => first_line(m),
        mlua::Error::SyntaxError { message, .. } => first_line(message),
        other => first_line(&other.to_string()),
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

/// Splits `file:12: message` into (12, message) when it names `file`.
fn split_location(file: &str, message: &str) -> (Option<u32>, String) {
    // Luau shortens long chunk names; match on the file name as a suffix.
    if let Some(pos) = message.find(".lua:") {
        let after = &message[pos + 5..];
        let digits: String = after.chars().take_while(|c| c.is_ascii_digit()).collect();
        if let Ok(line) = digits.parse::<u32>() {
            let rest = after[digits.len()..].trim_start_matches(':').trim();
            let _ = file;
            return (Some(line), rest.to_string());
        }
    }
    (None, message.to_string())
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

// ── Views ─────────────────────────────────────────────────────────────────────────

fn string_list(lua: &Lua, items: &[String]) -> mlua::Result<Table> {
    if items.is_empty() {
        // Most entities have no tags: they share one frozen empty list.
        return empty_list(lua);
    }
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, s) in items.iter().enumerate() {
        t.raw_set(i + 1, s.as_str())?;
    }
    t.set_readonly(true);
    Ok(t)
}

/// One frozen empty table per Lua state, kept in its app data.
fn empty_list(lua: &Lua) -> mlua::Result<Table> {
    struct EmptyList(Table);
    if let Some(e) = lua.app_data_ref::<EmptyList>() {
        return Ok(e.0.clone());
    }
    let t = lua.create_table()?;
    t.set_readonly(true);
    lua.set_app_data(EmptyList(t.clone()));
    Ok(t)
}

fn attr_value(lua: &Lua, v: &AttrVal) -> mlua::Result<Value> {
    Ok(match v {
        AttrVal::Num(n) => Value::Number(*n),
        AttrVal::Text(s) => Value::String(lua.create_string(s)?),
        AttrVal::Bool(b) => Value::Boolean(*b),
    })
}

fn attrs_table(lua: &Lua, attrs: &BTreeMap<String, AttrVal>) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, attrs.len())?;
    for (k, v) in attrs {
        t.raw_set(k.as_str(), attr_value(lua, v)?)?;
    }
    t.set_readonly(true);
    Ok(t)
}

fn actor_view(lua: &Lua, k: &Keys, a: &ActorState) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, 7)?;
    t.raw_set(k.k("id")?, a.id.as_str())?;
    t.raw_set(k.k("name")?, a.name.as_str())?;
    t.raw_set(k.k("kind")?, a.kind.as_str())?;
    t.raw_set(k.k("count")?, a.count)?;
    t.raw_set(k.k("region")?, a.region.as_deref())?;
    t.raw_set(k.k("tags")?, string_list(lua, &a.tags)?)?;
    t.raw_set(k.k("attrs")?, attrs_table(lua, &a.attrs)?)?;
    t.set_readonly(true);
    Ok(t)
}

fn asset_view(lua: &Lua, k: &Keys, a: &AssetState) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, 9)?;
    t.raw_set(k.k("id")?, a.id.as_str())?;
    t.raw_set(k.k("name")?, a.name.as_str())?;
    t.raw_set(k.k("kind")?, a.kind.as_str())?;
    t.raw_set(k.k("owner")?, a.owner.as_deref())?;
    t.raw_set(k.k("region")?, a.region.as_deref())?;
    let cap = lua.create_table_with_capacity(0, a.capacity.len())?;
    for (k, v) in &a.capacity {
        cap.raw_set(k.as_str(), *v)?;
    }
    cap.set_readonly(true);
    t.raw_set(k.k("capacity")?, cap)?;
    t.raw_set(k.k("online")?, a.online)?;
    t.raw_set(k.k("tags")?, string_list(lua, &a.tags)?)?;
    t.raw_set(k.k("attrs")?, attrs_table(lua, &a.attrs)?)?;
    t.set_readonly(true);
    Ok(t)
}

fn flow_view(lua: &Lua, k: &Keys, f: &FlowState, currency: &str) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, 9)?;
    t.raw_set(k.k("id")?, f.id.as_str())?;
    t.raw_set(k.k("from")?, f.from.as_str())?;
    t.raw_set(k.k("to")?, f.to.as_str())?;
    t.raw_set(k.k("kind")?, f.kind.as_str())?;
    t.raw_set(k.k("via")?, f.via.as_deref())?;
    t.raw_set(k.k("amount")?, f.amount)?;
    t.raw_set(k.k("unit")?, f.kind.base_unit(currency))?;
    t.raw_set(k.k("project")?, f.project.as_deref())?;
    t.raw_set(k.k("tags")?, string_list(lua, &f.tags)?)?;
    t.set_readonly(true);
    Ok(t)
}

fn project_view(lua: &Lua, k: &Keys, p: &ProjectState) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, 6)?;
    t.raw_set(k.k("id")?, p.id.as_str())?;
    t.raw_set(k.k("title")?, p.title.as_deref())?;
    let what = lua.create_table()?;
    what.raw_set(k.k("owner")?, p.what_owner.as_str())?;
    what.raw_set(k.k("goal")?, p.what_goal.as_deref())?;
    what.set_readonly(true);
    t.raw_set(k.k("what")?, what)?;
    let how = lua.create_table_with_capacity(p.how.len(), 0)?;
    for (i, (actor, means)) in p.how.iter().enumerate() {
        let h = lua.create_table()?;
        h.raw_set(k.k("actor")?, actor.as_str())?;
        h.raw_set(k.k("means")?, means.as_deref())?;
        h.set_readonly(true);
        how.raw_set(i + 1, h)?;
    }
    how.set_readonly(true);
    t.raw_set(k.k("how")?, how)?;
    t.raw_set(k.k("why")?, p.why.as_deref())?;
    t.raw_set(k.k("participants")?, string_list(lua, &p.participants)?)?;
    t.set_readonly(true);
    Ok(t)
}

/// Runs host code that builds tables without mlua's per-operation protection.
///
/// With a memory limit in force, mlua wraps every table write in a protected call, which
/// made building entity views cost microseconds each. Views are the engine's own data,
/// bounded by the scenario's size, so the limit — which is there for rule code — is
/// lifted while they are built and restored right after.
fn unguarded<R>(
    lua: &Lua,
    shared: &Shared,
    build: impl FnOnce() -> mlua::Result<R>,
) -> mlua::Result<R> {
    if shared.memory_limit == 0 || shared.unguarded.get() {
        return build();
    }
    let _ = lua.set_memory_limit(0);
    shared.unguarded.set(true);
    let before = lua.used_memory();
    let result = build();
    shared.unguarded.set(false);
    let added = lua.used_memory().saturating_sub(before);
    shared
        .host_bytes
        .set(shared.host_bytes.get().saturating_add(added));
    // Twice the views: the collector lets garbage grow in proportion to the live heap
    // (Luau's default goal is 200%), and the views are live heap.
    let allowance = shared.host_bytes.get().saturating_mul(2);
    let restored = lua.set_memory_limit(shared.memory_limit.saturating_add(allowance));
    match (result, restored) {
        (Ok(r), Ok(_)) => Ok(r),
        (Err(e), _) => Err(e),
        (Ok(_), Err(e)) => Err(e),
    }
}

macro_rules! cached_view {
    ($name:ident, $field:ident, $build:expr) => {
        fn $name(lua: &Lua, shared: &Shared, i: usize) -> mlua::Result<Table> {
            let cache = match &shared.views.borrow().$field {
                Some(cache) => Some(cache.clone()),
                None => None,
            };
            let cache = match cache {
                Some(cache) => {
                    if let Value::Table(t) = cache.raw_get::<Value>(i + 1)? {
                        return Ok(t);
                    }
                    cache
                }
                None => {
                    let n = shared.world.borrow().$field.len();
                    let cache = unguarded(lua, shared, || lua.create_table_with_capacity(n, 0))?;
                    shared.views.borrow_mut().$field = Some(cache.clone());
                    cache
                }
            };
            let world = shared.world.borrow();
            let Some(item) = world.$field.get(i) else {
                return Err(mlua::Error::runtime("gil: entity index out of range"));
            };
            #[allow(clippy::redundant_closure_call)]
            let t = unguarded(lua, shared, || {
                ($build)(lua, &shared.keys, item, &world.currency)
            })?;
            unguarded(lua, shared, || cache.raw_set(i + 1, &t))?;
            Ok(t)
        }
    };
}

cached_view!(actor_view_at, actors, |lua, k, a, _c: &String| actor_view(
    lua, k, a
));
cached_view!(asset_view_at, assets, |lua, k, a, _c: &String| asset_view(
    lua, k, a
));
cached_view!(flow_view_at, flows, |lua, k, f, c: &String| flow_view(
    lua, k, f, c
));
cached_view!(project_view_at, projects, |lua, k, p, _c: &String| {
    project_view(lua, k, p)
});

fn world_view(lua: &Lua, shared: &Shared) -> mlua::Result<Table> {
    if let Some(t) = &shared.views.borrow().world {
        return Ok(t.clone());
    }
    unguarded(lua, shared, || build_world_view(lua, shared))
}

fn build_world_view(lua: &Lua, shared: &Shared) -> mlua::Result<Table> {
    let (year, na, ns, nf, np) = {
        let w = shared.world.borrow();
        (
            w.year,
            w.actors.len(),
            w.assets.len(),
            w.flows.len(),
            w.projects.len(),
        )
    };
    let t = lua.create_table()?;
    t.raw_set(shared.keys.k("year")?, year)?;
    let list =
        |n: usize, f: fn(&Lua, &Shared, usize) -> mlua::Result<Table>| -> mlua::Result<Table> {
            let l = lua.create_table_with_capacity(n, 0)?;
            for i in 0..n {
                l.raw_set(i + 1, f(lua, shared, i)?)?;
            }
            l.set_readonly(true);
            Ok(l)
        };
    t.raw_set(shared.keys.k("actors")?, list(na, actor_view_at)?)?;
    t.raw_set(shared.keys.k("assets")?, list(ns, asset_view_at)?)?;
    t.raw_set(shared.keys.k("flows")?, list(nf, flow_view_at)?)?;
    t.raw_set(shared.keys.k("projects")?, list(np, project_view_at)?)?;
    t.set_readonly(true);
    shared.views.borrow_mut().world = Some(t.clone());
    Ok(t)
}

// ── ctx ───────────────────────────────────────────────────────────────────────────

/// The file and line of the Lua code calling a `ctx` function.
fn call_site(lua: &Lua, shared: &Shared) -> (std::sync::Arc<str>, u32) {
    lua.inspect_stack(1, |d| {
        let line = d.current_line().unwrap_or(0) as u32;
        (line, ())
    })
    .map(|(line, _)| (shared.caller.borrow().file.clone(), line))
    .unwrap_or_else(|| (shared.caller.borrow().file.clone(), 0))
}

fn provenance(lua: &Lua, shared: &Shared) -> Provenance {
    let (file, line) = call_site(lua, shared);
    let caller = shared.caller.borrow();
    Provenance {
        rule: caller.rule.clone(),
        file,
        line,
        step: caller.step,
    }
}

/// An error in a `ctx` call, located at the calling line.
fn effect_error(lua: &Lua, shared: &Shared, function: &str, message: String) -> mlua::Error {
    located_error(
        lua,
        shared,
        RuleErrorKind::Effect,
        format!("ctx.{function}: {message}"),
    )
}

/// An error in a host function, located at the rule line that called it.
fn located_error(lua: &Lua, shared: &Shared, kind: RuleErrorKind, message: String) -> mlua::Error {
    let (file, line) = call_site(lua, shared);
    let rule = shared.caller.borrow().rule.clone();
    let mut e = RuleError::new(kind, file.to_string(), Some(line), message);
    if !rule.is_empty() {
        e = e.rule(rule.to_string());
    }
    mlua::Error::external(e)
}

/// Where an effect's fields come from: a Lua table, or one row of an effect table whose
/// values include columns (read straight from the columns, no Lua table per row).
enum Fields<'c> {
    Table(Table),
    Row(&'c BTreeMap<String, crate::columns::Cell>, usize),
}

/// One field as the host reads it; text borrowed from a column where it can be.
enum Field<'a> {
    Nil,
    Number(f64),
    Text(std::borrow::Cow<'a, str>),
    Lua(Value),
}

/// The error for a field name `function`'s table does not have.
fn unknown_field(
    lua: &Lua,
    shared: &Shared,
    function: &'static str,
    fields: &[api::Field],
    name: &str,
) -> mlua::Error {
    let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
    let hint = gil_model::diag::did_you_mean(name, names.iter().copied())
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default();
    effect_error(
        lua,
        shared,
        function,
        format!("unknown field `{name}`{hint}"),
    )
}

/// Rejects a field `class` does not have; says whether any value is a column.
fn check_fields(
    lua: &Lua,
    shared: &Shared,
    function: &'static str,
    class: &str,
    table: &Table,
) -> mlua::Result<bool> {
    let Some(allowed) = shared.allowed_fields.get(class) else {
        return Ok(false);
    };
    let (unknown, columns) = shared
        .first_unknown
        .call::<(Value, bool)>((table, allowed))?;
    match unknown {
        Value::Nil => Ok(columns),
        Value::String(s) => {
            let fields: &[api::Field] = api::class(class).map(|c| c.fields).unwrap_or(&[]);
            let name = s.to_string_lossy();
            Err(unknown_field(lua, shared, function, fields, &name))
        }
        other => Err(effect_error(
            lua,
            shared,
            function,
            format!("unexpected {} key; fields are named", other.type_name()),
        )),
    }
}

/// Reads an effect table, rejecting unknown fields and values of the wrong type.
struct Spec<'a, 'c> {
    lua: &'a Lua,
    shared: &'a Shared,
    function: &'static str,
    fields: Fields<'c>,
    /// The call site, when one call makes many effects (columns): found once.
    at: Option<&'c Provenance>,
}

impl<'a, 'c> Spec<'a, 'c> {
    fn new(
        lua: &'a Lua,
        shared: &'a Shared,
        function: &'static str,
        class: &str,
        value: Value,
    ) -> mlua::Result<Self> {
        let Value::Table(table) = value else {
            return Err(effect_error(
                lua,
                shared,
                function,
                format!("expected a table, got {}", value.type_name()),
            ));
        };
        check_fields(lua, shared, function, class, &table)?;
        Ok(Spec::table(lua, shared, function, table))
    }

    /// An effect table whose field names were checked already.
    fn table(lua: &'a Lua, shared: &'a Shared, function: &'static str, table: Table) -> Self {
        Spec {
            lua,
            shared,
            function,
            fields: Fields::Table(table),
            at: None,
        }
    }

    /// Row `row` of a column effect table whose field names were checked already.
    fn row(
        lua: &'a Lua,
        shared: &'a Shared,
        function: &'static str,
        cells: &'c BTreeMap<String, crate::columns::Cell>,
        row: usize,
        at: &'c Provenance,
    ) -> Self {
        Spec {
            lua,
            shared,
            function,
            fields: Fields::Row(cells, row),
            at: Some(at),
        }
    }

    fn fail(&self, message: String) -> mlua::Error {
        effect_error(self.lua, self.shared, self.function, message)
    }

    fn field(&self, key: &str) -> mlua::Result<Field<'c>> {
        use crate::columns::Cell;
        Ok(match &self.fields {
            Fields::Table(table) => match table.raw_get::<Value>(self.shared.keys.k(key)?)? {
                Value::Nil => Field::Nil,
                Value::Number(n) => Field::Number(n),
                Value::Integer(i) => Field::Number(i as f64),
                Value::String(s) => Field::Text(s.to_string_lossy().into()),
                other => Field::Lua(other),
            },
            Fields::Row(cells, i) => match cells.get(key) {
                None => Field::Nil,
                Some(Cell::Text(s)) => Field::Text(s.as_str().into()),
                Some(Cell::Texts(c)) => match c.0.get(*i) {
                    Some(s) => Field::Text(s.as_str().into()),
                    None => Field::Nil,
                },
                Some(Cell::Number(n)) => Field::Number(*n),
                Some(Cell::Numbers(c)) => match c.0.get(*i) {
                    Some(n) => Field::Number(*n),
                    None => Field::Nil,
                },
                Some(Cell::Other(v)) => Field::Lua(v.clone()),
            },
        })
    }

    /// A field as a Lua value (for the few fields that take tables or any type).
    fn get(&self, key: &str) -> mlua::Result<Value> {
        Ok(match self.field(key)? {
            Field::Nil => Value::Nil,
            Field::Number(n) => Value::Number(n),
            Field::Text(s) => Value::String(self.lua.create_string(s.as_bytes())?),
            Field::Lua(v) => v,
        })
    }

    fn string(&self, key: &str) -> mlua::Result<Option<String>> {
        match self.field(key)? {
            Field::Nil => Ok(None),
            Field::Text(s) => Ok(Some(s.into_owned())),
            Field::Number(_) => {
                Err(self.fail(format!("field `{key}` must be a string, got number")))
            }
            Field::Lua(other) => Err(self.fail(format!(
                "field `{key}` must be a string, got {}",
                other.type_name()
            ))),
        }
    }

    fn required_string(&self, key: &str) -> mlua::Result<String> {
        self.string(key)?
            .ok_or_else(|| self.fail(format!("field `{key}` is required")))
    }

    fn number(&self, key: &str) -> mlua::Result<Option<f64>> {
        let v = match self.field(key)? {
            Field::Nil => return Ok(None),
            Field::Number(n) => Value::Number(n),
            Field::Text(_) => {
                return Err(self.fail(format!("field `{key}` must be a number, got string")))
            }
            Field::Lua(v) => v,
        };
        check_number(&v)
            .map(Some)
            .map_err(|m| self.fail(format!("field `{key}` {m}")))
    }

    fn names(&self, key: &'static str) -> mlua::Result<Vec<String>> {
        meta::names_of(self.get(key)?, key).map_err(|m| self.fail(m))
    }

    /// Records the effect with this call's provenance.
    fn push(&self, kind: EffectKind) {
        match self.at {
            Some(at) => record(self.shared, kind, at.clone()),
            None => push(self.lua, self.shared, kind),
        }
    }
}

fn check_number(v: &Value) -> Result<f64, String> {
    let n = match v {
        Value::Number(n) => *n,
        Value::Integer(i) => *i as f64,
        other => return Err(format!("must be a number, got {}", other.type_name())),
    };
    if n.is_nan() {
        return Err("must be a number, got NaN".into());
    }
    if n.is_infinite() {
        return Err(format!(
            "must be finite, got {}",
            if n > 0.0 { "inf" } else { "-inf" }
        ));
    }
    Ok(n)
}

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
                        let at = provenance(lua, &s);
                        for v in values.iter() {
                            let value = check_number(&Value::Number(*v)).map_err(|m| {
                                effect_error(lua, &s, "metric", format!("the value {m}"))
                            })?;
                            let name = text.clone();
                            record(&s, EffectKind::Metric { name, value }, at.clone());
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
                push(lua, &s, finding);
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
                push(
                    lua,
                    &s,
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

/// The selected entities of one columnar call as columns.
fn columns_table(
    lua: &Lua,
    shared: &Rc<Shared>,
    hook: Hook,
    rows: Rc<Vec<usize>>,
) -> mlua::Result<Table> {
    use crate::columns::{NumCol, StrCol};
    let t = lua.create_table()?;
    t.raw_set("n", rows.len())?;
    // Columns are made when a rule first reads them: copying every id, kind and via
    // column of a large selection up front cost more than most rules' arithmetic.
    let made: RefCell<rustc_hash::FxHashMap<String, Value>> = RefCell::default();
    let (s, r) = (shared.clone(), rows.clone());
    let column = lua.create_function(move |lua, (_, key): (Value, Value)| {
        let Value::String(key) = key else {
            return Ok(Value::Nil);
        };
        let key = key.to_string_lossy();
        if let Some(v) = made.borrow().get(&key) {
            return Ok(v.clone());
        }
        let w = s.world.borrow();
        let texts =
            |f: &dyn Fn(usize) -> String| StrCol(Rc::new(r.iter().map(|&i| f(i)).collect()));
        let numbers = |f: &dyn Fn(usize) -> f64| NumCol(Rc::new(r.iter().map(|&i| f(i)).collect()));
        let (a, f) = (&w.actors, &w.flows);
        let value = match (hook, key.as_str()) {
            (Hook::Actor, "id") => Some(Column::Text(texts(&|i| a[i].id.clone()))),
            (Hook::Actor, "kind") => Some(Column::Text(texts(&|i| a[i].kind.clone()))),
            (Hook::Actor, "region") => Some(Column::Text(texts(&|i| {
                a[i].region.clone().unwrap_or_default()
            }))),
            (Hook::Actor, "count") => Some(Column::Number(numbers(&|i| a[i].count))),
            (Hook::Flow, "id") => Some(Column::Text(texts(&|i| f[i].id.clone()))),
            (Hook::Flow, "from") => Some(Column::Text(texts(&|i| f[i].from.clone()))),
            (Hook::Flow, "to") => Some(Column::Text(texts(&|i| f[i].to.clone()))),
            (Hook::Flow, "kind") => Some(Column::Text(texts(&|i| f[i].kind.as_str().to_string()))),
            (Hook::Flow, "via") => Some(Column::Text(texts(&|i| {
                f[i].via.clone().unwrap_or_default()
            }))),
            (Hook::Flow, "project") => Some(Column::Text(texts(&|i| {
                f[i].project.clone().unwrap_or_default()
            }))),
            (Hook::Flow, "amount") => Some(Column::Number(numbers(&|i| f[i].amount))),
            _ => None,
        };
        drop(w);
        let value = match value {
            Some(Column::Text(c)) => Value::UserData(lua.create_userdata(c)?),
            Some(Column::Number(c)) => Value::UserData(lua.create_userdata(c)?),
            None => Value::Nil,
        };
        made.borrow_mut().insert(key, value.clone());
        Ok(value)
    })?;
    let meta = lua.create_table()?;
    meta.raw_set("__index", column)?;
    meta.set_readonly(true);
    t.set_metatable(Some(meta))?;
    match hook {
        Hook::Actor => {
            let (s, r) = (shared.clone(), rows.clone());
            let attr = lua.create_function(move |_, name: String| {
                let number = |v: Option<&AttrVal>| match v {
                    Some(AttrVal::Num(n)) => *n,
                    _ => f64::NAN,
                };
                Ok(NumCol(Rc::new(attr_column(
                    &s.world.borrow(),
                    &r,
                    &name,
                    number,
                ))))
            })?;
            t.raw_set("attr", attr)?;
            let (s, r) = (shared.clone(), rows.clone());
            let text = lua.create_function(move |_, name: String| {
                let text = |v: Option<&AttrVal>| match v {
                    Some(AttrVal::Text(s)) => s.clone(),
                    _ => String::new(),
                };
                Ok(StrCol(Rc::new(attr_column(
                    &s.world.borrow(),
                    &r,
                    &name,
                    text,
                ))))
            })?;
            t.raw_set("text", text)?;
        }
        Hook::Flow => {
            let (s, r) = (shared.clone(), rows.clone());
            let actor = lua.create_function(move |lua, field: String| {
                let fail = |m: String| located_error(lua, &s, RuleErrorKind::Runtime, m);
                let actors: Vec<usize> = {
                    let w = s.world.borrow();
                    r.iter()
                        .map(|&i| {
                            let flow = w.flows.get(i);
                            let id = match field.as_str() {
                                "from" => flow.map(|f| f.from.as_str()),
                                "to" => flow.map(|f| f.to.as_str()),
                                _ => {
                                    return Err(fail(format!(
                                        "cols.actor: expected \"from\" or \"to\", got `{field}`"
                                    )))
                                }
                            }
                            .unwrap_or_default();
                            w.actor_index(id).ok_or_else(|| {
                                fail(format!(
                                    "cols.actor: `{id}` (in `{field}`) is not an actor; filter the rows first"
                                ))
                            })
                        })
                        .collect::<mlua::Result<_>>()?
                };
                unguarded(lua, &s, || columns_table(lua, &s, Hook::Actor, Rc::new(actors)))
            })?;
            t.raw_set("actor", actor)?;
        }
        Hook::Asset => {}
    }
    t.set_readonly(true);
    Ok(t)
}

/// Attribute `name` of the actors at `rows`, row by row, through `pick`.
fn attr_column<T>(
    world: &WorldState,
    rows: &[usize],
    name: &str,
    pick: impl Fn(Option<&AttrVal>) -> T,
) -> Vec<T> {
    rows.iter()
        .map(|&i| pick(world.actors.get(i).and_then(|a| a.attrs.get(name))))
        .collect()
}

/// A column made on first read.
enum Column {
    Text(crate::columns::StrCol),
    Number(crate::columns::NumCol),
}

/// The fields of an effect table whose values include columns, and the number of rows
/// (all columns must agree); `None` when no value is a column.
fn column_rows(
    lua: &Lua,
    shared: &Shared,
    function: &'static str,
    table: &Table,
) -> mlua::Result<Option<(BTreeMap<String, crate::columns::Cell>, usize)>> {
    use crate::columns::Cell;
    let mut any = false;
    let mut cells = BTreeMap::new();
    for pair in table.clone().pairs::<Value, Value>() {
        let (key, value) = pair?;
        let Value::String(key) = key else {
            return Ok(None);
        };
        any |= Cell::is_column(&value);
        cells.insert(key.to_string_lossy(), Cell::of(value));
    }
    if !any {
        return Ok(None);
    }
    let mut rows: Option<usize> = None;
    for (name, cell) in &cells {
        if let Some(n) = cell.rows() {
            match rows {
                Some(m) if m != n => {
                    return Err(effect_error(
                        lua,
                        shared,
                        function,
                        format!("column `{name}` has {n} rows, another has {m}"),
                    ))
                }
                _ => rows = Some(n),
            }
        }
    }
    Ok(Some((cells, rows.unwrap_or(0))))
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
            let at = provenance(lua, s);
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
        (None, sel @ Value::Table(_)) => {
            AdjustTarget::Select(selector_arg(spec.lua, s, "adjust", sel)?)
        }
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
    push(
        lua,
        s,
        EffectKind::Metric {
            name: name.to_string_lossy(),
            value,
        },
    );
    Ok(())
}

fn selector_arg(
    lua: &Lua,
    shared: &Shared,
    function: &'static str,
    value: Value,
) -> mlua::Result<crate::select::Selector> {
    match value {
        Value::Nil => Ok(crate::select::Selector::default()),
        Value::Table(t) => meta::parse_selector(&t, Target::Flows, &shared.known)
            .map_err(|m| effect_error(lua, shared, function, m)),
        other => Err(effect_error(
            lua,
            shared,
            function,
            format!("expected a selector table, got {}", other.type_name()),
        )),
    }
}

/// Records an effect made at the calling rule line.
fn push(lua: &Lua, shared: &Shared, kind: EffectKind) {
    record(shared, kind, provenance(lua, shared));
}

/// Records an effect whose provenance is known (one call making many effects).
fn record(shared: &Shared, kind: EffectKind, provenance: Provenance) {
    shared
        .effects
        .borrow_mut()
        .push(Effect { kind, provenance });
}
