//! Entity views: the read-only Lua tables rules receive, built on first use in a step
//! and cached in Lua tables (see [`Views`]), and the memory accounting that keeps the
//! rules' limit above them.

use std::cell::Cell;
use std::collections::BTreeMap;

use mlua::{Lua, Table, Value};

use crate::world::{ActorState, AssetState, AttrVal, FlowState, ProjectState, Touched};

use super::shared::{Keys, Shared};

/// Lua views of this step's entities, built on first use and dropped when the world
/// changes.
///
/// The cache is a Lua table per entity type (index → view), not Rust handles: every
/// handle Rust holds is a slot on mlua's reference thread, which Luau's collector walks
/// whole on every cycle, so holding one per entity made each call cost O(entities).
#[derive(Default)]
pub(super) struct Views {
    actors: Option<Table>,
    assets: Option<Table>,
    flows: Option<Table>,
    projects: Option<Table>,
    world: Option<Table>,
}

impl Views {
    /// Drops the cached views of the entities in `touched` and the whole-world view,
    /// which holds them all; every other view stays valid.
    pub(super) fn forget(&mut self, touched: &Touched) -> mlua::Result<()> {
        self.world = None;
        let forget = |cache: &Option<Table>, indices: &[usize]| -> mlua::Result<()> {
            if let Some(cache) = cache {
                for &i in indices {
                    cache.raw_set(i + 1, Value::Nil)?;
                }
            }
            Ok(())
        };
        forget(&self.actors, &touched.actors)
            .and_then(|()| forget(&self.assets, &touched.assets))
            .and_then(|()| forget(&self.flows, &touched.flows))
    }
}

/// Builds (or fetches) the view of entity `i`.
pub(super) type ViewAt = fn(&Lua, &Shared, usize) -> mlua::Result<Table>;

/// The memory limit rules run under, and the allowance for the views the host builds.
pub(super) struct HostMemory {
    /// The Lua state's memory limit, restored after host-built views (see `unguarded`).
    limit: usize,
    /// Set while host code builds views, so a nested build leaves the limit lifted.
    unguarded: Cell<bool>,
    /// Bytes the host's own views added to the Lua heap this step: the limit applies to
    /// what rules allocate on top of them and of the collector's slack for them (a
    /// national scenario's views alone can pass the default limit).
    host_bytes: Cell<usize>,
}

impl HostMemory {
    pub(super) fn new(limit: usize) -> Self {
        HostMemory {
            limit,
            unguarded: Cell::new(false),
            host_bytes: Cell::new(0),
        }
    }

    /// A new world: the old views are garbage. Collects them, so the rules' limit again
    /// sits just above what the host holds.
    pub(super) fn reset(&self, lua: &Lua) -> mlua::Result<()> {
        lua.gc_collect()?;
        self.host_bytes.set(0);
        if self.limit > 0 {
            lua.set_memory_limit(self.limit)?;
        }
        Ok(())
    }

    /// Runs host code that builds tables without mlua's per-operation protection.
    ///
    /// With a memory limit in force, mlua wraps every table write in a protected call,
    /// which made building entity views cost microseconds each. Views are the engine's
    /// own data, bounded by the scenario's size, so the limit — which is there for rule
    /// code — is lifted while they are built and restored right after.
    pub(super) fn unguarded<R>(
        &self,
        lua: &Lua,
        build: impl FnOnce() -> mlua::Result<R>,
    ) -> mlua::Result<R> {
        if self.limit == 0 || self.unguarded.get() {
            return build();
        }
        lua.set_memory_limit(0)?;
        self.unguarded.set(true);
        let before = lua.used_memory();
        let result = build();
        self.unguarded.set(false);
        let added = lua.used_memory().saturating_sub(before);
        self.host_bytes
            .set(self.host_bytes.get().saturating_add(added));
        // Twice the views: the collector lets garbage grow in proportion to the live heap
        // (Luau's default goal is 200%), and the views are live heap.
        let allowance = self.host_bytes.get().saturating_mul(2);
        let restored = lua.set_memory_limit(self.limit.saturating_add(allowance));
        match (result, restored) {
            (Ok(r), Ok(_)) => Ok(r),
            (Err(e), _) => Err(e),
            (Ok(_), Err(e)) => Err(e),
        }
    }
}

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

macro_rules! cached_view {
    ($name:ident, $field:ident, $build:expr) => {
        pub(super) fn $name(lua: &Lua, shared: &Shared, i: usize) -> mlua::Result<Table> {
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
                    let cache = shared
                        .memory
                        .unguarded(lua, || lua.create_table_with_capacity(n, 0))?;
                    shared.views.borrow_mut().$field = Some(cache.clone());
                    cache
                }
            };
            let world = shared.world.borrow();
            let Some(item) = world.$field.get(i) else {
                return Err(mlua::Error::runtime("gil: entity index out of range"));
            };
            #[allow(clippy::redundant_closure_call)]
            let t = shared
                .memory
                .unguarded(lua, || ($build)(lua, &shared.keys, item, &world.currency))?;
            shared.memory.unguarded(lua, || cache.raw_set(i + 1, &t))?;
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

pub(super) fn world_view(lua: &Lua, shared: &Shared) -> mlua::Result<Table> {
    if let Some(t) = &shared.views.borrow().world {
        return Ok(t.clone());
    }
    shared
        .memory
        .unguarded(lua, || build_world_view(lua, shared))
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
