//! The state a runtime shares with the `ctx` functions it registers: this step's world,
//! the cached views, the effects of the running rule and who is running.
//!
//! `ctx` functions are `'static` closures, so they hold this through an `Rc` rather
//! than borrowing the runtime.

use std::cell::RefCell;
use std::sync::Arc;

use mlua::Lua;

use crate::api;
use crate::effect::{Effect, EffectKind, HookEntity, Provenance};
use crate::meta::KnownNames;
use crate::world::WorldState;

use super::spec::FieldChecks;
use super::views::{HostMemory, Views};

/// The running rule, for provenance and error messages.
#[derive(Debug, Clone, Default)]
pub(super) struct Caller {
    pub(super) rule: Arc<str>,
    pub(super) file: Arc<str>,
    pub(super) step: i32,
    /// The parameters the rule declares in `params`, the only ones it may read.
    pub(super) params: Arc<std::collections::BTreeSet<String>>,
}

/// Lua strings for every field name the host reads or writes, made once: creating a
/// key string per access (hashing and interning it) was a large share of a call's cost.
pub(super) struct Keys(rustc_hash::FxHashMap<&'static str, mlua::LuaString>);

impl Keys {
    pub(super) fn new(lua: &Lua) -> mlua::Result<Self> {
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
    pub(super) fn k(&self, name: &str) -> mlua::Result<&mlua::LuaString> {
        self.0
            .get(name)
            .ok_or_else(|| mlua::Error::runtime(format!("gil: no key string for `{name}`")))
    }
}

pub(super) struct Shared {
    /// Shared with worker runtimes while a rule runs in parallel; unique otherwise.
    pub(super) world: RefCell<Arc<WorldState>>,
    pub(super) views: RefCell<Views>,
    /// What the running rule has asked for so far, in call order.
    pub(super) effects: RefCell<Vec<Effect>>,
    pub(super) caller: RefCell<Caller>,
    pub(super) known: KnownNames,
    pub(super) keys: Keys,
    pub(super) memory: HostMemory,
    pub(super) fields: FieldChecks,
    /// The metatable of `on_step`'s world table (see `views::world_view`), set once the
    /// runtime is built, since its `__index` holds this `Shared`.
    pub(super) world_meta: std::cell::OnceCell<mlua::Table>,
    /// With coverage on, every rule and module file's compiled chunk, by display name,
    /// in load order (`RuleRuntime::coverage`).
    pub(super) coverage: Option<RefCell<Vec<(String, mlua::Function)>>>,
    /// The run's modules, for `require` (`require.rs`).
    pub(super) modules: super::require::Modules,
    /// ctx's Luau side and its effect buffers, set once `ctx` is built.
    pub(super) batch: std::cell::OnceCell<super::batch::Batch>,
    /// While a per-entity hook runs: its kind and the world indexes of its selection,
    /// in loop order, so an effect can say which entity it was made for.
    pub(super) selection: RefCell<Option<(super::dispatch::Hook, Vec<usize>)>>,
}

impl Shared {
    /// The file and line of the Lua code calling a `ctx` function.
    pub(super) fn call_site(&self, lua: &Lua) -> (Arc<str>, u32) {
        // Level 1 may be one of ctx's Luau functions (`batch.rs`): the rule is above it.
        let (shown, line) = crate::sandbox::rule_frame(lua, 1).unwrap_or_default();
        let caller = self.caller.borrow();
        // Module code calling ctx records the module's file, not the rule's.
        let file = if *shown == *caller.file {
            caller.file.clone()
        } else {
            self.modules
                .file_named(&shown)
                .unwrap_or_else(|| caller.file.clone())
        };
        (file, line.unwrap_or(0))
    }

    /// The running rule, its file and step, and the line calling a `ctx` function.
    pub(super) fn provenance(&self, lua: &Lua) -> Provenance {
        let (file, line) = self.call_site(lua);
        let caller = self.caller.borrow();
        Provenance::new(caller.rule.clone(), file, line, caller.step)
    }

    /// Moves the effects buffered in Luau into [`Self::effects`], so an effect the host
    /// records next comes after them.
    pub(super) fn drain_batch(&self) -> mlua::Result<()> {
        match self.batch.get() {
            Some(batch) => batch.drain(self),
            None => Ok(()),
        }
    }

    /// Records an effect made at the calling rule line.
    pub(super) fn push(&self, lua: &Lua, kind: EffectKind) {
        self.record(kind, self.provenance(lua));
    }

    /// Records an effect whose provenance is known (one call making many effects).
    pub(super) fn record(&self, kind: EffectKind, provenance: Provenance) {
        let position = self.batch.get().map_or(0, |b| b.at());
        let entity = self.entity_at(position);
        self.effects.borrow_mut().push(Effect {
            kind,
            provenance,
            entity,
        });
    }

    /// The entity at the per-entity loop's `position` (1-based; 0 outside a loop).
    pub(super) fn entity_at(&self, position: usize) -> Option<HookEntity> {
        let selection = self.selection.borrow();
        let (hook, indexes) = selection.as_ref()?;
        let i = *indexes.get(position.checked_sub(1)?)?;
        Some(match hook {
            super::dispatch::Hook::Actor => HookEntity::Actor(i),
            super::dispatch::Hook::Asset => HookEntity::Asset(i),
            super::dispatch::Hook::Flow => HookEntity::Flow(i),
        })
    }
}
