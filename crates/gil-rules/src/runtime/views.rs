//! Entity views: the read-only Lua tables rules receive, built on first use in a step
//! and cached in Lua tables (see [`Views`]), and the memory accounting that keeps the
//! rules' limit above them.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::Arc;

use mlua::{Lua, Table, Value};

use crate::world::{
    ActorState, AssetState, AttrVal, FlowState, ProjectState, StepEnd, Touched, WorldState,
};

use super::shared::{Keys, Shared};

/// Lua views of the world's entities, built on first use and kept while the entity
/// they show is unchanged: across the rules of a step (effects drop the views of what
/// they touch) and across steps (a new step keeps the view of every entity whose state
/// equals the one the view was built from).
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
    /// The table `on_step` receives: the year, and its lists (`world.actors`, …) of the
    /// views above, looked up on read.
    world: Option<Table>,
    /// The views of the flows rules made in the last step, by index, kept aside when a
    /// step begins: the same rules tend to make the same flows again, and such a view
    /// is taken back and its amount patched ([`flow_view_at`]) rather than built anew.
    spare_flows: Option<Table>,
    /// The world table's lists built so far in the step, by key, where the world table
    /// looks first: a list already built is read inside Luau, without a call into the
    /// host ([`world_view`]).
    listed: Option<Table>,
    /// How many flows the listed `flows` holds: rules only ever add flows, so a longer
    /// world means a stale list.
    flows_listed: Option<usize>,
    /// The entity states the cached views were built from, as the last step ended.
    basis: Basis,
}

/// Entity states as a step ended, for the kinds that had cached views (flows come from
/// the world's history, which holds them anyway).
#[derive(Default)]
struct Basis {
    actors: Option<Vec<Arc<ActorState>>>,
    assets: Option<Vec<Arc<AssetState>>>,
    projects: Option<Arc<Vec<ProjectState>>>,
}

impl Views {
    /// Brings the cached views of the entities in `touched` up to date with `world`:
    /// an actor's or an asset's values (what a rule's `ctx.set` changes) and a flow's
    /// amount (what `ctx.adjust` changes) in place, any other view dropped with the list
    /// holding it. Every other view stays valid. Returns whether an actor's or an
    /// asset's view was dropped.
    pub(super) fn forget(&mut self, touched: &Touched, world: &WorldState) -> mlua::Result<bool> {
        let [actors_stale, assets_stale, flows_stale] =
            self.patch_touched(touched, &world.actors, &world.assets, &world.flows)?;
        if actors_stale {
            self.unlist("actors")?;
        }
        if assets_stale {
            self.unlist("assets")?;
        }
        // Rules only add flows: a longer world than the list means new ones.
        let flows_added = self
            .flows_listed
            .is_some_and(|listed| listed != world.flows.len());
        if flows_stale || flows_added {
            self.flows_listed = None;
            self.unlist("flows")?;
        }
        Ok(actors_stale || assets_stale)
    }

    /// Brings the cached views of the entities in `touched` to the states given, in
    /// place where it can (an actor's or an asset's values, a flow's amount), and drops
    /// the others. Returns, per kind (actors, assets, flows), whether a view was dropped.
    fn patch_touched(
        &self,
        touched: &Touched,
        actors: &[Arc<ActorState>],
        assets: &[Arc<AssetState>],
        flows: &[FlowState],
    ) -> mlua::Result<[bool; 3]> {
        // A list holds the views themselves: one patched in place leaves it true, one
        // dropped (or never built) makes it stale.
        let patch = |cache: &Option<Table>,
                     indices: &[usize],
                     update: &dyn Fn(&Table, usize) -> mlua::Result<bool>|
         -> mlua::Result<bool> {
            let mut stale = false;
            if let Some(cache) = cache {
                for &i in indices {
                    let patched = match cache.raw_get::<Value>(i + 1)? {
                        Value::Table(view) => update(&view, i)?,
                        _ => false,
                    };
                    if !patched {
                        cache.raw_set(i + 1, Value::Nil)?;
                        stale = true;
                    }
                }
            }
            Ok(stale)
        };
        Ok([
            patch(
                &self.actors,
                &touched.actors,
                &|view, i| match actors.get(i) {
                    Some(now) => set_attrs(view, now),
                    None => Ok(false),
                },
            )?,
            patch(
                &self.assets,
                &touched.assets,
                &|view, i| match assets.get(i) {
                    Some(now) => set_asset_values(view, now),
                    None => Ok(false),
                },
            )?,
            patch(&self.flows, &touched.flows, &|view, i| match flows.get(i) {
                Some(now) => set_amount(view, now).map(|()| true),
                None => Ok(false),
            })?,
        ])
    }

    /// Drops the list the world table shows under `key`, so its next read builds it
    /// again from the views.
    fn unlist(&self, key: &str) -> mlua::Result<()> {
        match &self.listed {
            Some(listed) => listed.raw_set(key, Value::Nil),
            None => Ok(()),
        }
    }

    /// The step is over and its world leaves the runtime: remembers the states the
    /// cached views show, so the next step can keep the views of unchanged entities.
    pub(super) fn end_step(&mut self, world: &WorldState) {
        self.basis = Basis {
            actors: self.actors.as_ref().map(|_| world.actors.clone()),
            assets: self.assets.as_ref().map(|_| world.assets.clone()),
            projects: self.projects.as_ref().map(|_| world.projects.clone()),
        };
    }

    /// A worker's first part of a new step: its views show `end`, the states the last
    /// step ended with, except those of the entities changed after its last part
    /// (`touched`), which are brought to `end` here (the last step's flows are the new
    /// `world`'s last history); [`Self::carry_over`] then compares `end` with `world`
    /// as it does for a runtime that saw the whole step.
    pub(super) fn resume_from(
        &mut self,
        end: &StepEnd,
        touched: &Touched,
        world: &WorldState,
    ) -> mlua::Result<()> {
        let end_flows = world
            .history
            .last()
            .map_or(&[][..], |flows| flows.as_slice());
        self.patch_touched(touched, &end.actors, &end.assets, end_flows)?;
        self.basis = Basis {
            actors: self.actors.as_ref().map(|_| end.actors.clone()),
            assets: self.assets.as_ref().map(|_| end.assets.clone()),
            projects: self.projects.as_ref().map(|_| end.projects.clone()),
        };
        Ok(())
    }

    /// A new step's world: keeps the view of every entity whose state is the same as
    /// when the last step ended, drops the others and every list. Returns whether any
    /// cached view was kept.
    pub(super) fn carry_over(&mut self, lua: &Lua, world: &WorldState) -> mlua::Result<bool> {
        let basis = std::mem::take(&mut self.basis);
        self.world = None;
        self.listed = None;
        self.flows_listed = None;
        let previous_flows = world.history.last().map(|flows| flows.as_slice());
        self.spare_flows = None;
        if let (Some(cache), Some(before)) = (&self.flows, previous_flows) {
            if before.len() > world.flows.len() {
                let spare = lua.create_table_with_capacity(before.len(), 0)?;
                for i in world.flows.len()..before.len() {
                    if let Value::Table(view) = cache.raw_get::<Value>(i + 1)? {
                        spare.raw_set(i + 1, view)?;
                    }
                }
                self.spare_flows = Some(spare);
            }
        }
        // The same shared state needs no comparison (an entity no effect changed and
        // whose dated values did not move since last step).
        fn same<T: PartialEq>(a: &Arc<T>, b: &Arc<T>) -> bool {
            Arc::ptr_eq(a, b) || a == b
        }
        let kept = [
            keep_unchanged(
                &mut self.actors,
                basis.actors.as_deref(),
                &world.actors,
                same,
                |view: &Table, old: &Arc<ActorState>, now: &Arc<ActorState>| {
                    patch_actor(view, old, now)
                },
            )?,
            keep_unchanged(
                &mut self.assets,
                basis.assets.as_deref(),
                &world.assets,
                same,
                |view: &Table, old: &Arc<AssetState>, now: &Arc<AssetState>| {
                    patch_asset(view, old, now)
                },
            )?,
            keep_unchanged(
                &mut self.projects,
                basis.projects.as_deref().map(Vec::as_slice),
                &world.projects,
                PartialEq::eq,
                no_patch,
            )?,
            keep_unchanged(
                &mut self.flows,
                previous_flows,
                &world.flows,
                PartialEq::eq,
                patch_flow,
            )?,
        ];
        Ok(kept.contains(&true))
    }
}

/// Keeps the cached view of entity `i` when `now[i]` equals `before[i]`, the state it
/// was built from, or when `patch` brings the view up to date in place; without
/// `before`, drops the whole cache. Returns whether any is kept.
fn keep_unchanged<T>(
    cache: &mut Option<Table>,
    before: Option<&[T]>,
    now: &[T],
    same: impl Fn(&T, &T) -> bool,
    patch: impl Fn(&Table, &T, &T) -> mlua::Result<bool>,
) -> mlua::Result<bool> {
    let (Some(table), Some(before)) = (cache.as_ref(), before) else {
        *cache = None;
        return Ok(false);
    };
    let mut kept = false;
    for (i, old) in before.iter().enumerate() {
        let Some(now) = now.get(i) else {
            table.raw_set(i + 1, Value::Nil)?;
            continue;
        };
        if same(now, old) {
            kept = true;
            continue;
        }
        let patched = match table.raw_get::<Value>(i + 1)? {
            Value::Table(view) => patch(&view, old, now)?,
            _ => false,
        };
        if patched {
            kept = true;
        } else {
            table.raw_set(i + 1, Value::Nil)?;
        }
    }
    if !kept {
        *cache = None;
    }
    Ok(kept)
}

/// Views of this kind are built again whenever their entity changed.
fn no_patch<T>(_: &Table, _: &T, _: &T) -> mlua::Result<bool> {
    Ok(false)
}

/// Brings an actor's view from `old` to `now` in place when only its count or the values
/// of attributes it already had changed (a rule's lasting `ctx.set`, year after year):
/// no new table. `false` when it must be built again.
fn patch_actor(view: &Table, old: &ActorState, now: &ActorState) -> mlua::Result<bool> {
    let same_shape = old.id == now.id
        && old.name == now.name
        && old.kind == now.kind
        && old.region == now.region
        && old.tags == now.tags
        && old.attrs.len() == now.attrs.len()
        && old.attrs.keys().eq(now.attrs.keys());
    if !same_shape {
        return Ok(false);
    }
    set_attrs(view, now)
}

/// Writes an actor's count and every attribute's value into its view (a rule's sets
/// only add or change attributes, so nothing the view shows is left stale).
fn set_attrs(view: &Table, now: &ActorState) -> mlua::Result<bool> {
    let Value::Table(attrs) = view.raw_get::<Value>("attrs")? else {
        return Ok(false);
    };
    writable(view, |t| t.raw_set("count", now.count))?;
    put_attrs(&attrs, &now.attrs)?;
    Ok(true)
}

/// Brings an asset's view from `old` to `now` in place when only the values of
/// capacities and attributes it already had changed (a rule's lasting `ctx.set`, year
/// after year). `false` when it must be built again.
fn patch_asset(view: &Table, old: &AssetState, now: &AssetState) -> mlua::Result<bool> {
    let same_shape = old.id == now.id
        && old.name == now.name
        && old.kind == now.kind
        && old.owner == now.owner
        && old.region == now.region
        && old.online == now.online
        && old.tags == now.tags
        && old.capacity.keys().eq(now.capacity.keys())
        && old.attrs.keys().eq(now.attrs.keys());
    if !same_shape {
        return Ok(false);
    }
    set_asset_values(view, now)
}

/// Writes an asset's every capacity and attribute value into its view (a rule's sets
/// only add or change them, so nothing the view shows is left stale).
fn set_asset_values(view: &Table, now: &AssetState) -> mlua::Result<bool> {
    let (Value::Table(capacity), Value::Table(attrs)) = (
        view.raw_get::<Value>("capacity")?,
        view.raw_get::<Value>("attrs")?,
    ) else {
        return Ok(false);
    };
    writable(&capacity, |t| {
        for (key, value) in &now.capacity {
            t.raw_set(key.as_str(), *value)?;
        }
        Ok(())
    })?;
    put_attrs(&attrs, &now.attrs)?;
    Ok(true)
}

/// Every attribute's value into a view's read-only `attrs` table.
fn put_attrs(attrs: &Table, values: &BTreeMap<String, AttrVal>) -> mlua::Result<()> {
    writable(attrs, |t| {
        for (key, value) in values {
            put_attr(t, key, value)?;
        }
        Ok(())
    })
}

/// Brings a flow's view from `old` to `now` in place when only its amount changed (an
/// adjustment, a dated amount).
fn patch_flow(view: &Table, old: &FlowState, now: &FlowState) -> mlua::Result<bool> {
    let same_shape = old.id == now.id
        && old.from == now.from
        && old.to == now.to
        && old.kind == now.kind
        && old.via == now.via
        && old.project == now.project
        && old.tags == now.tags;
    if same_shape {
        set_amount(view, now)?;
    }
    Ok(same_shape)
}

/// A flow's amount into its view.
fn set_amount(view: &Table, now: &FlowState) -> mlua::Result<()> {
    writable(view, |t| t.raw_set("amount", now.amount))
}

/// One attribute's value into a view's `attrs` table.
fn put_attr(t: &Table, key: &str, value: &AttrVal) -> mlua::Result<()> {
    match value {
        AttrVal::Num(n) => t.raw_set(key, *n),
        AttrVal::Text(s) => t.raw_set(key, s.as_str()),
        AttrVal::Bool(b) => t.raw_set(key, *b),
    }
}

/// Runs `change` on a read-only view with writing allowed for its duration.
fn writable(t: &Table, change: impl FnOnce(&Table) -> mlua::Result<()>) -> mlua::Result<()> {
    t.set_readonly(false);
    let changed = change(t);
    t.set_readonly(true);
    changed
}

/// Builds (or fetches) the view of entity `i`.
pub(super) type ViewAt = fn(&Lua, &Shared, usize) -> mlua::Result<Table>;

/// The memory limit rules run under, and the allowance for the views the host builds.
///
/// Rules may allocate `limit` bytes beyond what the heap held when the step began (the
/// views kept from earlier steps, the rules' code, garbage not yet collected) and the
/// views the host builds during the step. Both of those count twice: the collector
/// lets garbage grow in proportion to the live heap (Luau's default goal is 200%).
/// So the allowance never grows with the years or the runs a state has made.
pub(super) struct HostMemory {
    /// The Lua state's memory limit for rule code (0: none).
    limit: usize,
    /// Set while host code builds views, so a nested build leaves the limit lifted.
    unguarded: Cell<bool>,
    /// Bytes the host's own views added to the heap since the step began.
    host_bytes: Cell<usize>,
    /// The heap in use when the step began.
    step_base: Cell<usize>,
    /// The heap in use right after the last full collection.
    live_after_collect: Cell<usize>,
}

/// Garbage allowed to build up between full collections when no limit is set.
const UNLIMITED_SLACK: usize = 64 << 20;

impl HostMemory {
    pub(super) fn new(limit: usize) -> Self {
        HostMemory {
            limit,
            unguarded: Cell::new(false),
            host_bytes: Cell::new(0),
            step_base: Cell::new(0),
            live_after_collect: Cell::new(0),
        }
    }

    /// A new world. Collects the garbage when every view was dropped (`views_kept`
    /// false) or when the heap grew by an eighth of the limit since the last
    /// collection; otherwise Luau's incremental collector takes it (on small scenarios a
    /// full collection every step cost more than the step's rules). Then the rules'
    /// limit is set above the heap as it is now.
    pub(super) fn reset(&self, lua: &Lua, views_kept: bool) -> mlua::Result<()> {
        let slack = match self.limit {
            0 => UNLIMITED_SLACK,
            limit => limit / 8,
        };
        let grown = lua.used_memory() > self.live_after_collect.get().saturating_add(slack);
        if !views_kept || grown {
            lua.gc_collect()?;
            self.live_after_collect.set(lua.used_memory());
        }
        self.step_base.set(lua.used_memory());
        self.host_bytes.set(0);
        self.apply_limit(lua)
    }

    /// Sets the limit for rule code: `limit` above the step's heap and the host's views.
    fn apply_limit(&self, lua: &Lua) -> mlua::Result<()> {
        if self.limit == 0 {
            return Ok(());
        }
        let host = self
            .step_base
            .get()
            .saturating_add(self.host_bytes.get())
            .saturating_mul(2);
        lua.set_memory_limit(self.limit.saturating_add(host))?;
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
        let restored = self.apply_limit(lua);
        match (result, restored) {
            (Ok(r), Ok(())) => Ok(r),
            (Err(e), _) => Err(e),
            (Ok(_), Err(e)) => Err(e),
        }
    }
}

fn string_list<'a>(
    lua: &Lua,
    items: impl ExactSizeIterator<Item = &'a str>,
) -> mlua::Result<Table> {
    if items.len() == 0 {
        // Most entities have no tags: they share one frozen empty list.
        return empty_list(lua);
    }
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, s) in items.enumerate() {
        t.raw_set(i + 1, s)?;
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
    t.raw_set(
        k.k("tags")?,
        string_list(lua, a.tags.iter().map(String::as_str))?,
    )?;
    t.raw_set(k.k("attrs")?, attrs_table(lua, &a.attrs)?)?;
    t.set_readonly(true);
    Ok(t)
}

fn asset_view(lua: &Lua, k: &Keys, a: &AssetState) -> mlua::Result<Table> {
    // Sized for the fields it holds, as a flow's view is.
    let fields = 7 + usize::from(a.owner.is_some()) + usize::from(a.region.is_some());
    let t = lua.create_table_with_capacity(0, fields)?;
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
    t.raw_set(
        k.k("tags")?,
        string_list(lua, a.tags.iter().map(String::as_str))?,
    )?;
    t.raw_set(k.k("attrs")?, attrs_table(lua, &a.attrs)?)?;
    t.set_readonly(true);
    Ok(t)
}

fn flow_view(lua: &Lua, k: &Keys, f: &FlowState, world: &WorldState) -> mlua::Result<Table> {
    let names = &world.names;
    // Sized for the fields it holds (a nil is not stored): Luau rounds a table's room up
    // to a power of two, so room for nine made every flow's view 16 slots, twice what
    // a flow without a project needs.
    let fields = 7 + usize::from(f.via.is_some()) + usize::from(f.project.is_some());
    let t = lua.create_table_with_capacity(0, fields)?;
    t.raw_set(k.k("id")?, names.name(f.id))?;
    t.raw_set(k.k("from")?, names.name(f.from))?;
    t.raw_set(k.k("to")?, names.name(f.to))?;
    t.raw_set(k.k("kind")?, f.kind.as_str())?;
    t.raw_set(k.k("via")?, names.opt(f.via))?;
    t.raw_set(k.k("amount")?, f.amount)?;
    t.raw_set(k.k("unit")?, f.kind.base_unit(&world.currency))?;
    t.raw_set(k.k("project")?, names.opt(f.project))?;
    t.raw_set(k.k("tags")?, string_list(lua, names.tag_names(f.tags))?)?;
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
    let participants = p.participants.iter().map(String::as_str);
    t.raw_set(k.k("participants")?, string_list(lua, participants)?)?;
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
                .unguarded(lua, || ($build)(lua, shared, i, item, &*world))?;
            shared.memory.unguarded(lua, || cache.raw_set(i + 1, &t))?;
            Ok(t)
        }
    };
}

cached_view!(
    actor_view_at,
    actors,
    |lua, s: &Shared, _, a, _w: &WorldState| actor_view(lua, &s.keys, a)
);
cached_view!(
    asset_view_at,
    assets,
    |lua, s: &Shared, _, a, _w: &WorldState| asset_view(lua, &s.keys, a)
);
cached_view!(flow_view_at, flows, reused_flow_view);
cached_view!(
    project_view_at,
    projects,
    |lua, s: &Shared, _, p, _w: &WorldState| project_view(lua, &s.keys, p)
);

/// Flow `i`'s view: the one the last step's flow `i` had, patched, when this step's
/// flow `i` differs from it only in amount (a rule making the same flow again), else a
/// new one.
fn reused_flow_view(
    lua: &Lua,
    shared: &Shared,
    i: usize,
    now: &FlowState,
    world: &WorldState,
) -> mlua::Result<Table> {
    let spare = shared.views.borrow().spare_flows.clone();
    if let Some(spare) = spare {
        if let Value::Table(view) = spare.raw_get::<Value>(i + 1)? {
            spare.raw_set(i + 1, Value::Nil)?;
            // The view shows the last step's final state of flow `i`: views are kept
            // up to date in place to the end of a step.
            let before = world.history.last().and_then(|flows| flows.get(i));
            if let Some(before) = before {
                if patch_flow(&view, before, now)? {
                    return Ok(view);
                }
            }
        }
    }
    flow_view(lua, &shared.keys, now, world)
}

/// The table `on_step` receives: `year`, and `actors`, `assets`, `flows` and
/// `projects` looked up on read (through [`world_index`]), so a rule pays only for the
/// lists it reads. Built once a step.
pub(super) fn world_view(lua: &Lua, shared: &Shared) -> mlua::Result<Table> {
    if let Some(t) = &shared.views.borrow().world {
        return Ok(t.clone());
    }
    let Some(meta) = shared.world_meta.get() else {
        return Err(mlua::Error::runtime(
            "gil: the world's metatable is not set up",
        ));
    };
    let year = shared.world.borrow().year;
    let (t, listed) = shared.memory.unguarded(lua, || {
        // world → (its own metatable) → listed → (the shared metatable) → world_index:
        // a list read before is found in `listed`; a first read builds it in the host.
        let listed = lua.create_table_with_capacity(0, 4)?;
        listed.set_metatable(Some(meta.clone()))?;
        let own = lua.create_table_with_capacity(0, 2)?;
        own.raw_set("__index", &listed)?;
        own.raw_set("__metatable", false)?;
        own.set_readonly(true);
        let t = lua.create_table_with_capacity(0, 1)?;
        t.raw_set(shared.keys.k("year")?, year)?;
        t.set_metatable(Some(own))?;
        t.set_readonly(true);
        Ok((t, listed))
    })?;
    let mut views = shared.views.borrow_mut();
    views.world = Some(t.clone());
    views.listed = Some(listed);
    Ok(t)
}

/// The metatable of the lists a world table shows: a list not built yet comes from
/// [`world_index`].
pub(super) fn world_metatable(lua: &Lua, shared: &std::rc::Rc<Shared>) -> mlua::Result<Table> {
    let s = shared.clone();
    let index =
        lua.create_function(move |lua, (_listed, key): (Value, Value)| world_index(lua, &s, key))?;
    let meta = lua.create_table()?;
    meta.raw_set("__index", index)?;
    meta.raw_set("__metatable", false)?;
    meta.set_readonly(true);
    Ok(meta)
}

/// `world.actors`, `world.assets`, `world.flows`, `world.projects` (nil for any other
/// key), read for the first time since the list was built or dropped: a new list of
/// the cached views, kept in the world table's `listed` for later reads.
fn world_index(lua: &Lua, shared: &Shared, key: Value) -> mlua::Result<Value> {
    let Value::String(key) = key else {
        return Ok(Value::Nil);
    };
    let (n, view_at): (usize, ViewAt) = {
        let world = shared.world.borrow();
        match key.as_bytes().as_ref() {
            b"actors" => (world.actors.len(), actor_view_at),
            b"assets" => (world.assets.len(), asset_view_at),
            b"projects" => (world.projects.len(), project_view_at),
            b"flows" => (world.flows.len(), flow_view_at),
            _ => return Ok(Value::Nil),
        }
    };
    let list = shared.memory.unguarded(lua, || {
        let list = lua.create_table_with_capacity(n, 0)?;
        for i in 0..n {
            list.raw_set(i + 1, view_at(lua, shared, i)?)?;
        }
        list.set_readonly(true);
        Ok(list)
    })?;
    let mut views = shared.views.borrow_mut();
    if let Some(listed) = &views.listed {
        shared
            .memory
            .unguarded(lua, || listed.raw_set(key.clone(), &list))?;
    }
    if key.as_bytes().as_ref() == b"flows" {
        views.flows_listed = Some(n);
    }
    Ok(Value::Table(list))
}
