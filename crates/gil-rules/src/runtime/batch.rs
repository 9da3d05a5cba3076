//! The Luau side of `ctx`: per-entity hooks driven by a Luau loop, and the common
//! effect calls recorded inside Luau, so Rust and Lua cross once per rule part rather
//! than once per entity and per effect field.
//!
//! `ctx.flow`, `ctx.metric`, `ctx.set`, `ctx.adjust`, `ctx.param`, `ctx.actor` and
//! `ctx.asset` are Luau functions. A call whose arguments are plainly valid — known
//! ids, finite numbers, only fields of the right type — is answered in Luau: a
//! parameter from this step's table, a view already looked up by id, or an effect
//! appended to the buffer (numbers and interned codes, the calling line from
//! `debug.info`). Any other call goes to the Rust implementation, which words every
//! error exactly as before; it first drains the buffer, so effects keep their call
//! order. Effects are fixed-size records in one Luau `buffer` (strings interned to
//! codes in Luau); Rust reads them in one pass, without entering Lua, when the part of
//! the rule ends ([`Batch::drain`]) or when [`CHUNK`] are buffered.
//!
//! Per-entity hooks run in `drive`, a Luau loop over the selection's views. It writes
//! the position it is at into the buffer's header, which is how `math.random` reseeds
//! per entity and the interrupt restarts the per-call deadline (`sandbox.rs`), both
//! reading it without entering Lua, and how an error names the entity it happened on.

use std::cell::RefCell;
use std::sync::Arc;

use mlua::{Function, Lua, Table};

use crate::effect::{AdjustOp, AdjustTarget, Effect, EffectKind, EntityKind, NewFlow, Provenance};
use crate::world::{AttrVal, WorldState};

use super::shared::Shared;

/// The chunk name of the Luau code below. Frames of this chunk are skipped when a host
/// function looks for the rule line that called it.
pub(crate) const CHUNK_NAME: &str = "gil:ctx";

/// Effects buffered in Luau before they are drained into Rust.
const CHUNK: usize = 1024;

/// The buffer's layout: a header (effects buffered, the loop's position), then one
/// fixed-size record per effect. Strings are interned in Luau (`SYM`, `NAMES`) and
/// recorded as codes; entity ids as their codes in `E`.
const HEADER: usize = 16;
/// Where the header holds the running rule (its index + 1), which selects its
/// declared parameters in `DECLS`.
const AT_RULE: usize = 8;
const RECORD: usize = 52;
/// Record fields (byte offsets): effect kind (u8), calling line (u32), value (f64),
/// then u32 codes: from or metric name, to, flow kind, via, project, id, note; the
/// code of the calling file's source name (a module's, when module code calls); last
/// the loop's position when the effect was made (the entity it is for).
const AT_LINE: usize = 4;
const AT_VALUE: usize = 8;
const AT_CODES: usize = 16;
const AT_SOURCE: usize = 44;
const AT_POSITION: usize = 48;

/// Effect codes in a record's first byte.
const FLOW: u8 = 1;
const METRIC: u8 = 2;
/// A set: codes are the entity, the attribute's name, the value's type (`VALUE_*`),
/// and a text value's name or a boolean (0, 1); a number is the record's value.
const SET: u8 = 3;
const VALUE_NUMBER: u32 = 1;
const VALUE_TEXT: u32 = 2;
const VALUE_BOOL: u32 = 3;
/// An adjustment of one flow by id: codes are the flow's place in the step's world + 1
/// and the operation (1 scale, 2 add, 3 set); the operand is the value.
const ADJUST: u8 = 4;

/// Interned strings kept before the interner starts afresh (long-lived states make many
/// runs, and rules may format a new note each time).
const MAX_SYMBOLS: usize = 1 << 16;

const SOURCE: &str = r#"
-- Builtins (`type`, `buffer.*`, `math.huge`) are used as globals, not locals: in the
-- sandbox's safe environment the compiler turns those calls into fast calls.
local H, S, BUF, dinfo, CHUNK = ...
local KIND = { funding = 1, compute = 2, power = 3 }
local FLOW_TEXT = { id = true, from = true, to = true, kind = true, via = true, project = true, note = true }
local SYM, NAMES = S.SYM, S.NAMES

-- Interns string `s` (callers look it up in SYM first) and returns its code.
local function intern(s)
  local code = #NAMES + 1
  NAMES[code] = s
  SYM[s] = code
  return code
end

-- The interned source name of each calling function (a rule's or a module's file),
-- asked of `debug.info` once per function: asking for the name on every effect made
-- a string each time. Weak keys, so closures made per call do not pile up; cleared
-- by Rust with the interner.
local SOURCE_OF = S.SRC
local function source_of(f)
  local src = dinfo(f, "s")
  local code = SYM[src] or intern(src)
  SOURCE_OF[f] = code
  return code
end

-- Appends a record: its offset, after draining first when the buffer is full.
local function record(kind)
  local n = buffer.readu32(BUF, 0)
  if n >= CHUNK then
    H.drain()
    n = 0
  end
  buffer.writeu32(BUF, 0, n + 1)
  local at = 16 + n * 52
  buffer.writeu8(BUF, at, kind)
  local f, line = dinfo(3, "fl")
  buffer.writeu32(BUF, at + 4, line)
  buffer.writeu32(BUF, at + 44, SOURCE_OF[f] or source_of(f))
  buffer.writeu32(BUF, at + 48, buffer.readu32(BUF, 4))
  return at
end

local function flow(spec)
  if type(spec) == "table" and getmetatable(spec) == nil then
    local plain = true
    for k, v in next, spec do
      if FLOW_TEXT[k] then
        if type(v) ~= "string" then plain = false break end
      elseif k ~= "amount" or type(v) ~= "number" then
        plain = false break
      end
    end
    if plain then
      local E = S.E
      local from, to, kind, amount, project = E[spec.from], E[spec.to], KIND[spec.kind], spec.amount, spec.project
      if from and to and kind and amount and amount >= 0 and amount < math.huge
        and (project == nil or S.P[project]) then
        local via, id, note = spec.via, spec.id, spec.note
        local at = record(1)
        buffer.writef64(BUF, at + 8, amount)
        buffer.writeu32(BUF, at + 16, from)
        buffer.writeu32(BUF, at + 20, to)
        buffer.writeu32(BUF, at + 24, kind)
        buffer.writeu32(BUF, at + 28, via and (SYM[via] or intern(via)) or 0)
        buffer.writeu32(BUF, at + 32, project and (SYM[project] or intern(project)) or 0)
        buffer.writeu32(BUF, at + 36, id and (SYM[id] or intern(id)) or 0)
        buffer.writeu32(BUF, at + 40, note and (SYM[note] or intern(note)) or 0)
        return
      end
    end
  end
  return H.flow(spec)
end

-- `ctx.set{actor = id | asset = id, attr = name, value = v}` with a known entity of
-- that kind (codes up to `S.NA` are actors), a number, text or boolean value and no
-- other field.
local SET_FIELD = { actor = true, asset = true, attr = true, value = true }
local function set(spec)
  if type(spec) == "table" and getmetatable(spec) == nil then
    local plain = true
    for k in next, spec do
      if not SET_FIELD[k] then plain = false break end
    end
    local actor, asset, attr, value = spec.actor, spec.asset, spec.attr, spec.value
    if plain and type(attr) == "string" and (actor == nil) ~= (asset == nil) then
      local code = S.E[actor or asset]
      local kind_ok = code and (if actor then code <= S.NA else code > S.NA)
      local t = type(value)
      if kind_ok and (t == "string" or t == "boolean"
          or (t == "number" and value > -math.huge and value < math.huge)) then
        local at = record(3)
        buffer.writeu32(BUF, at + 16, code)
        buffer.writeu32(BUF, at + 20, SYM[attr] or intern(attr))
        if t == "number" then
          buffer.writeu32(BUF, at + 24, 1)
          buffer.writef64(BUF, at + 8, value)
        elseif t == "string" then
          buffer.writeu32(BUF, at + 24, 2)
          buffer.writeu32(BUF, at + 28, SYM[value] or intern(value))
        else
          buffer.writeu32(BUF, at + 24, 3)
          buffer.writeu32(BUF, at + 28, if value then 1 else 0)
        end
        return
      end
    end
  end
  return H.set(spec)
end

-- `ctx.adjust{flow = id, scale | add | set = n}` of a flow the step began with (`S.F`,
-- id to place + 1), one finite operand, not negative for `scale` and `set`.
local ADJUST_OP = { scale = 1, add = 2, set = 3 }
local function adjust(spec)
  if type(spec) == "table" and getmetatable(spec) == nil then
    local id, op, operand, plain = spec.flow, nil, nil, true
    for k, v in next, spec do
      local code = ADJUST_OP[k]
      if code and op == nil and type(v) == "number" then
        op, operand = code, v
      elseif k ~= "flow" then
        plain = false break
      end
    end
    local place = plain and type(id) == "string" and S.F[id]
    if place and op and operand > -math.huge and operand < math.huge
      and (op == 2 or operand >= 0) then
      local at = record(4)
      buffer.writef64(BUF, at + 8, operand)
      buffer.writeu32(BUF, at + 16, place)
      buffer.writeu32(BUF, at + 20, op)
      return
    end
  end
  return H.adjust(spec)
end

local function metric(name, value)
  if type(name) == "string" and type(value) == "number" and value > -math.huge and value < math.huge then
    local at = record(2)
    buffer.writef64(BUF, at + 8, value)
    buffer.writeu32(BUF, at + 16, SYM[name] or intern(name))
    return
  end
  return H.metric(name, value)
end

-- `DECLS[k]` is the declared `params` of rule k, the running one named in the header;
-- any other name goes to Rust, which says what is wrong.
local function param(name)
  local v = S.PV[name]
  local declared = S.DECLS[buffer.readu32(BUF, 8)]
  if v ~= nil and declared and declared[name] then return v end
  return H.param(name)
end

-- Views found by id this step (`AV` actors, `SV` assets), replaced by Rust whenever
-- it drops cached views, so a view here is always the current one.
local function lookup(cache, host)
  return function(id)
    local v = S[cache][id]
    if v then return v end
    v = host(id)
    if v and type(id) == "string" then S[cache][id] = v end
    return v
  end
end
local actor, asset = lookup("AV", H.actor), lookup("SV", H.asset)

local function drive(f, views, ctx)
  for k = 1, #views do
    buffer.writeu32(BUF, 4, k)
    f(views[k], ctx)
  end
  buffer.writeu32(BUF, 4, 0)
end

return flow, metric, set, adjust, param, actor, asset, drive
"#;

/// The Luau functions and what they share with Rust.
pub(super) struct Batch {
    /// `S`: `E` (actor and asset ids to codes), `P` (project ids), `PV` (this step's
    /// parameter values), `AV` and `SV` (views by id), `SYM`, `NAMES` and `SRC` (below).
    state: Table,
    /// The interner: `SYM` (string to code) and `NAMES` (code to string).
    symbols: Table,
    symbol_names: Table,
    /// `SRC`: each calling function's source name as a symbol code.
    source_of: Table,
    /// The header and the effect records (layout above).
    buffer: mlua::Buffer,
    pub(super) drive: Function,
    /// The entity ids `E` was built from, actors then assets: codes are positions here.
    entity_ids: RefCell<Vec<Arc<str>>>,
    /// How many of `entity_ids` are actors (`S.NA`).
    actor_count: std::cell::Cell<usize>,
    /// The flow ids `F` was built from, in the world's order, and the run they are of.
    flow_ids: RefCell<Vec<crate::Sym>>,
    flow_ids_of: RefCell<Option<crate::Names>>,
    /// The same ids as symbols of the run's names (`entity_syms_of`), so a buffered
    /// flow's ends reach the engine as symbols.
    entity_syms: RefCell<Vec<crate::Sym>>,
    entity_syms_of: RefCell<Option<crate::Names>>,
    /// `NAMES` as read so far: symbol `k` is `names[k - 1]`.
    names: RefCell<Vec<Arc<str>>>,
}

/// The functions `ctx` gets from the batch, in place of the host's own.
pub(super) struct Wrapped {
    pub(super) flow: Function,
    pub(super) metric: Function,
    pub(super) set: Function,
    pub(super) adjust: Function,
    pub(super) param: Function,
    pub(super) actor: Function,
    pub(super) asset: Function,
}

impl Batch {
    /// Builds the tables and compiles the Luau functions over `host` (`flow`, `metric`,
    /// `param`, `drain`: the Rust implementations).
    pub(super) fn new(lua: &Lua, host: Table) -> mlua::Result<(Self, Wrapped)> {
        let state = lua.create_table()?;
        for name in ["E", "F", "P", "PV", "AV", "SV", "DECLS"] {
            state.raw_set(name, lua.create_table()?)?;
        }
        let (symbols, symbol_names) = (lua.create_table()?, lua.create_table()?);
        let source_of = lua.create_table()?;
        let weak_keys = lua.create_table()?;
        weak_keys.raw_set("__mode", "k")?;
        source_of.set_metatable(Some(weak_keys))?;
        state.raw_set("SRC", &source_of)?;
        state.raw_set("SYM", &symbols)?;
        state.raw_set("NAMES", &symbol_names)?;
        let buffer = lua.create_buffer_with_capacity(HEADER + CHUNK * RECORD)?;
        let debug_info: Function = lua.named_registry_value(crate::sandbox::DEBUG_INFO_KEY)?;
        let (flow, metric, set, adjust, param, actor, asset, drive): (
            Function,
            Function,
            Function,
            Function,
            Function,
            Function,
            Function,
            Function,
        ) = lua
            .load(SOURCE)
            .set_name(format!("={CHUNK_NAME}"))
            .set_mode(mlua::chunk::ChunkMode::Text)
            .call((host, state.clone(), buffer.clone(), debug_info, CHUNK))?;
        let batch = Batch {
            state,
            symbols,
            symbol_names,
            source_of,
            buffer,
            drive,
            entity_ids: Default::default(),
            actor_count: Default::default(),
            flow_ids: Default::default(),
            flow_ids_of: Default::default(),
            entity_syms: Default::default(),
            entity_syms_of: Default::default(),
            names: Default::default(),
        };
        Ok((
            batch,
            Wrapped {
                flow,
                metric,
                set,
                adjust,
                param,
                actor,
                asset,
            },
        ))
    }

    /// The buffer, for following the loop's position (`sandbox.rs`).
    pub(super) fn position_source(&self) -> LoopPosition {
        LoopPosition(self.buffer.clone())
    }

    /// A new step's world: its parameters, and its entity and project ids when they
    /// differ from the last world's (a run's worlds share them, and so do the runs of
    /// one scenario).
    pub(super) fn set_world(&self, lua: &Lua, world: &WorldState) -> mlua::Result<()> {
        self.discard();
        self.forget_views(lua)?;
        let params = lua.create_table_with_capacity(0, world.params.len())?;
        for (name, value) in world.params.iter() {
            params.raw_set(name.as_str(), *value)?;
        }
        for (name, value) in world.text_params.iter() {
            params.raw_set(name.as_str(), super::ctx::text_param(lua, value)?)?;
        }
        self.state.raw_set("PV", params)?;
        let world_ids = || {
            world
                .actors
                .iter()
                .map(|a| a.id.as_str())
                .chain(world.assets.iter().map(|a| a.id.as_str()))
        };
        // Codes only stand for ids, so the split between actors and assets is not part
        // of what must match.
        let same = self.actor_count.get() == world.actors.len()
            && self
                .entity_ids
                .borrow()
                .iter()
                .map(|id| &**id)
                .eq(world_ids());
        if !same {
            let n = world.actors.len() + world.assets.len();
            let codes = lua.create_table_with_capacity(0, n)?;
            let mut ids = Vec::with_capacity(n);
            for id in world_ids() {
                ids.push(Arc::<str>::from(id));
                codes.raw_set(id, ids.len())?;
            }
            self.state.raw_set("E", codes)?;
            self.state.raw_set("NA", world.actors.len())?;
            self.actor_count.set(world.actors.len());
            *self.entity_ids.borrow_mut() = ids;
        }
        // Symbols belong to a run: found again for a new run's names (a base lookup
        // each, since every entity id is in the model's names).
        let same_run = self
            .entity_syms_of
            .borrow()
            .as_ref()
            .is_some_and(|names| names.same_run(&world.names));
        if !same || !same_run {
            *self.entity_syms.borrow_mut() = world_ids().map(|id| world.names.intern(id)).collect();
            *self.entity_syms_of.borrow_mut() = Some(world.names.clone());
        }
        // The flows the step begins with, by id: the same from year to year when the
        // scenario's flows are (places only move when a flow has no amount in a year).
        let same_flows = self
            .flow_ids_of
            .borrow()
            .as_ref()
            .is_some_and(|names| names.same_run(&world.names))
            && self
                .flow_ids
                .borrow()
                .iter()
                .copied()
                .eq(world.flows.iter().map(|f| f.id));
        if !same_flows {
            let codes = lua.create_table_with_capacity(0, world.flows.len())?;
            for (i, f) in world.flows.iter().enumerate() {
                codes.raw_set(world.names.name(f.id), i + 1)?;
            }
            self.state.raw_set("F", codes)?;
            *self.flow_ids.borrow_mut() = world.flows.iter().map(|f| f.id).collect();
            *self.flow_ids_of.borrow_mut() = Some(world.names.clone());
        }
        let projects = lua.create_table_with_capacity(0, world.projects.len())?;
        for p in world.projects.iter() {
            projects.raw_set(p.id.as_str(), true)?;
        }
        self.state.raw_set("P", projects)
    }

    /// Forgets the views found by id: Rust dropped cached views (a new world, or a
    /// rule's effects changed entities).
    pub(super) fn forget_views(&self, lua: &Lua) -> mlua::Result<()> {
        self.state.raw_set("AV", lua.create_table()?)?;
        self.state.raw_set("SV", lua.create_table()?)
    }

    /// Every rule's declared parameters (`DECLS`, by rule index + 1), once loaded.
    pub(super) fn set_declared(&self, lua: &Lua, declared: &[Table]) -> mlua::Result<()> {
        self.state
            .raw_set("DECLS", lua.create_sequence_from(declared.iter().cloned())?)
    }

    /// Names the running rule (by its index) for `ctx.param`'s declared check.
    pub(super) fn set_rule(&self, index: usize) {
        self.buffer
            .write_bytes(AT_RULE, &(index as u32 + 1).to_le_bytes());
    }

    /// Forgets buffered effects (a new rule part, or a part that failed).
    pub(super) fn discard(&self) {
        self.buffer.write_bytes(0, &[0; HEADER]);
    }

    /// The position `drive` is at (1-based; 0 outside a loop).
    pub(super) fn at(&self) -> usize {
        self.position_source().get()
    }

    /// Moves the buffered effects into the running rule's effect list, in call order.
    pub(super) fn drain(&self, shared: &Shared) -> mlua::Result<()> {
        let n = u32::from_le_bytes(self.buffer.read_bytes::<4>(0)) as usize;
        if n == 0 {
            return Ok(());
        }
        self.read_new_names()?;
        let caller = shared.caller.borrow().clone();
        let syms = self.entity_syms.borrow();
        let names = self.names.borrow();
        let entity = |code: u32| -> mlua::Result<crate::Sym> {
            (code as usize)
                .checked_sub(1)
                .and_then(|i| syms.get(i))
                .copied()
                .ok_or_else(|| mlua::Error::runtime("gil: unknown entity code in the buffer"))
        };
        let shared_name = |code: u32| -> Option<Arc<str>> {
            (code as usize)
                .checked_sub(1)
                .and_then(|i| names.get(i))
                .cloned()
        };
        let name = |code: u32| shared_name(code).map(|s| s.to_string());
        // The calling file of the last record: nearly always the rule's own.
        let mut last_source: Option<(u32, Arc<str>)> = None;
        let mut file_of = |code: u32| -> Arc<str> {
            if let Some((last, file)) = &last_source {
                if *last == code {
                    return file.clone();
                }
            }
            let shown = (code as usize)
                .checked_sub(1)
                .and_then(|i| names.get(i))
                .map(|s| s.trim_start_matches(['@', '=']))
                .unwrap_or("");
            let file = if shown == &*caller.file {
                caller.file.clone()
            } else {
                shared
                    .modules
                    .file_named(shown)
                    .unwrap_or_else(|| caller.file.clone())
            };
            last_source = Some((code, file.clone()));
            file
        };
        // The effects of one call site share one provenance: (source code, line).
        let mut sites: rustc_hash::FxHashMap<(u32, u32), Provenance> = Default::default();
        let mut effects = shared.effects.borrow_mut();
        effects.reserve(n);
        for i in 0..n.min(CHUNK) {
            let r: [u8; RECORD] = self.buffer.read_bytes(HEADER + i * RECORD);
            let u32_at = |at: usize| u32::from_le_bytes([r[at], r[at + 1], r[at + 2], r[at + 3]]);
            let code = |k: usize| u32_at(AT_CODES + 4 * k);
            let mut value = [0u8; 8];
            value.copy_from_slice(&r[AT_VALUE..AT_VALUE + 8]);
            let value = f64::from_le_bytes(value);
            let kind = match r[0] {
                FLOW => EffectKind::Flow(NewFlow {
                    id: name(code(5)),
                    from: entity(code(0))?,
                    to: entity(code(1))?,
                    kind: match code(2) {
                        1 => gil_model::FlowKind::Funding,
                        2 => gil_model::FlowKind::Compute,
                        _ => gil_model::FlowKind::Power,
                    },
                    via: shared_name(code(3)),
                    amount: value,
                    project: shared_name(code(4)),
                    tags: Vec::new(),
                    note: shared_name(code(6)),
                }),
                METRIC => EffectKind::Metric {
                    name: shared_name(code(0)).unwrap_or_else(|| "".into()),
                    value,
                },
                ADJUST => EffectKind::Adjust {
                    target: AdjustTarget::Flow {
                        index: (code(0) as usize).saturating_sub(1),
                    },
                    op: match code(1) {
                        1 => AdjustOp::Scale(value),
                        2 => AdjustOp::Add(value),
                        _ => AdjustOp::Set(value),
                    },
                },
                SET => {
                    let place = (code(0) as usize).checked_sub(1).unwrap_or(usize::MAX);
                    let actors = self.actor_count.get();
                    let (entity, index) = match place.checked_sub(actors) {
                        None => (EntityKind::Actor, place),
                        Some(asset) => (EntityKind::Asset, asset),
                    };
                    EffectKind::Set {
                        entity,
                        index,
                        attr: shared_name(code(1)).unwrap_or_else(|| "".into()),
                        value: match code(2) {
                            VALUE_NUMBER => AttrVal::Num(value),
                            VALUE_TEXT => AttrVal::Text(name(code(3)).unwrap_or_default()),
                            VALUE_BOOL => AttrVal::Bool(code(3) == 1),
                            _ => {
                                return Err(mlua::Error::runtime(
                                    "gil: unknown value in the buffer",
                                ))
                            }
                        },
                    }
                }
                _ => return Err(mlua::Error::runtime("gil: unknown effect in the buffer")),
            };
            let site = (u32_at(AT_SOURCE), u32_at(AT_LINE));
            let provenance = match sites.get(&site) {
                Some(p) => p.clone(),
                None => {
                    let p =
                        Provenance::new(caller.rule.clone(), file_of(site.0), site.1, caller.step);
                    sites.insert(site, p.clone());
                    p
                }
            };
            effects.push(Effect {
                kind,
                provenance,
                entity: shared.entity_at(u32_at(AT_POSITION) as usize),
            });
        }
        self.buffer.write_bytes(0, &[0; 4]);
        drop(names);
        self.forget_names_past_limit()
    }

    /// Reads the strings interned since the last drain.
    fn read_new_names(&self) -> mlua::Result<()> {
        let mut names = self.names.borrow_mut();
        for k in names.len() + 1..=self.symbol_names.raw_len() {
            let text: mlua::LuaString = self.symbol_names.raw_get(k)?;
            names.push(Arc::from(text.to_string_lossy().as_str()));
        }
        Ok(())
    }

    /// Starts the interner afresh once it holds [`MAX_SYMBOLS`] strings (the buffer is
    /// empty, so no record refers to them).
    fn forget_names_past_limit(&self) -> mlua::Result<()> {
        if self.names.borrow().len() < MAX_SYMBOLS {
            return Ok(());
        }
        self.names.borrow_mut().clear();
        self.symbols.clear()?;
        self.source_of.clear()?;
        self.symbol_names.clear()
    }
}

/// Where the per-entity loop is: the buffer's header, read without entering Lua.
#[derive(Clone)]
pub(crate) struct LoopPosition(mlua::Buffer);

impl LoopPosition {
    /// The loop's position (1-based; 0 outside the loop).
    pub(crate) fn get(&self) -> usize {
        u32::from_le_bytes(self.0.read_bytes::<4>(4)) as usize
    }
}
