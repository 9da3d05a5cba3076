//! Turning the scenario's dated values into one step's world.

use std::collections::BTreeMap;
use std::sync::Arc;

use gil_model::{AttrValue, Dated, Scenario, TextValue};
use gil_rules::{ActorState, AssetState, AttrVal, EntityKind, Names, ProjectState, WorldState};

use crate::interned::Interned;

/// `ctx.set` attributes with this prefix on an asset set its capacity.
pub const CAPACITY_PREFIX: &str = "capacity.";

/// Attribute values set by `ctx.set`, in force from their step on: by the entity's
/// place in the world (the same every year of a run) and the attribute's name. The
/// order does not matter: each entry sets a different attribute.
pub type Persistent = rustc_hash::FxHashMap<(EntityKind, usize, std::sync::Arc<str>), AttrVal>;

pub(crate) fn attr_at(value: &AttrValue, year: i32) -> Option<AttrVal> {
    match value {
        AttrValue::Number(d) => d.at(year).map(AttrVal::Num),
        AttrValue::Text(t) => Some(AttrVal::Text(t.clone())),
        AttrValue::Bool(b) => Some(AttrVal::Bool(*b)),
    }
}

/// Parameter values in force in `year`, with `--param` overrides.
pub fn params_at(
    s: &Scenario,
    year: i32,
    overrides: &BTreeMap<String, Dated>,
) -> BTreeMap<String, f64> {
    let mut params = s
        .parameters
        .iter()
        .filter_map(|(name, p)| p.value.value.at(year).map(|v| (name.clone(), v)))
        .collect();
    apply_overrides(s, &mut params, year, overrides);
    params
}

/// `--param` and reform values in place of the scenario's, for its parameters (a
/// value not given for `year` leaves the parameter out that year, as the scenario's
/// own would).
fn apply_overrides(
    s: &Scenario,
    params: &mut BTreeMap<String, f64>,
    year: i32,
    overrides: &BTreeMap<String, Dated>,
) {
    for (name, value) in overrides {
        if !s.parameters.contains_key(name) {
            continue;
        }
        match value.at(year) {
            Some(v) => params.insert(name.clone(), v),
            None => params.remove(name),
        };
    }
}

/// The world of `year`: the scenario's dated values in force (resolved once per model
/// when `interned` holds the years, see [`Interned::with_years`]), `overrides`' parameter
/// values, `persistent`'s attributes, and the scenario's flows of that year (copies of
/// `interned`'s templates, their names symbols of the run's `names`).
///
/// Without resolved years, each year is resolved from `last_base`, the year before's
/// (kept there for the next): unchanged entities and the id indexes are shared, and
/// only one year's base is held.
///
/// `room` is how many flows the world makes room for: the year before's count, rules'
/// flows included.
///
/// `last_actors` are the actors as the year before ended. An actor whose scenario
/// values did not change since (the same shared base state) is that actor again: it
/// already carries every lasting `ctx.set` (`persistent` holds no other value for it),
/// so it is neither copied nor set again, and views of it carry over as they are.
#[allow(clippy::too_many_arguments)]
pub fn materialize(
    s: &Scenario,
    interned: &Interned,
    names: &Names,
    year: i32,
    overrides: &BTreeMap<String, Dated>,
    text_overrides: &BTreeMap<String, TextValue>,
    persistent: &Persistent,
    last_base: &mut Option<WorldState>,
    last_actors: Option<Vec<Arc<ActorState>>>,
    room: usize,
) -> WorldState {
    let (mut world, previous_base) = match interned.year(year) {
        Some(base) => (
            base.clone(),
            interned.year(year - 1).map(|b| b.actors.clone()),
        ),
        None => {
            let base = year_base(s, year, last_base.as_ref(), names);
            let previous = last_base.replace(base.clone()).map(|b| b.actors);
            (base, previous)
        }
    };
    let carried = carry_actors(&mut world, previous_base.as_deref(), last_actors);
    drop(previous_base);
    world.names = names.clone();
    override_params(s, &mut world, year, overrides);
    if !text_overrides.is_empty() {
        let texts = Arc::make_mut(&mut world.text_params);
        for (name, value) in text_overrides {
            if texts.contains_key(name) {
                texts.insert(name.clone(), value.clone());
            }
        }
    }
    overlay_persistent(&mut world, persistent, &carried);
    // Room for the flows the rules add too, as many as they added last year: growing
    // by doubling copied every flow and touched fresh pages each year.
    let mut flows = Vec::with_capacity(s.flows.len().max(room));
    flows.extend(
        s.flows
            .iter()
            .enumerate()
            .filter(|(_, f)| f.amount.value.at(year).is_some())
            .filter_map(|(i, _)| interned.flow(i, s.flow_amount(i, year))),
    );
    world.flows = flows;
    world.reindex_flows();
    world
}

/// `new` as a shared state: `old`'s, when it is the same.
fn shared<T: PartialEq>(new: T, old: Option<&Arc<T>>) -> Arc<T> {
    match old {
        Some(old) if **old == new => Arc::clone(old),
        _ => Arc::new(new),
    }
}

/// The scenario's own values in `year`, with no flows and no rule's effects: what every
/// run's world of that year starts from. An entity whose state equals its state in
/// `previous` (the year before) shares it, so a run's views of it carry over without a
/// comparison. `names` holds the model's names, where every entity id is: the world's
/// index of entities by symbol holds for every run of the model.
pub(crate) fn year_base(
    s: &Scenario,
    year: i32,
    previous: Option<&WorldState>,
    names: &Names,
) -> WorldState {
    let mut world = WorldState::default();
    world.names = names.clone();
    world.year = year;
    world.currency = s.currency().to_string();
    world.params = Arc::new(params_at(s, year, &BTreeMap::new()));
    // Text parameters hold for the whole horizon: every year shares one map.
    world.text_params = match previous {
        Some(p) => Arc::clone(&p.text_params),
        None => Arc::new(
            s.text_parameters
                .iter()
                .map(|(name, p)| (name.clone(), p.value.value.clone()))
                .collect(),
        ),
    };
    world.actors = s
        .actors
        .iter()
        .enumerate()
        .map(|(i, a)| {
            // An actor with no dated value is the same every year: the previous year's
            // state is this one, not even built again.
            if let Some(same) = previous
                .and_then(|p| p.actors.get(i))
                .filter(|_| !any_dated(&a.attrs))
            {
                return Arc::clone(same);
            }
            let attrs = attrs_at(&a.attrs, year);
            let state = ActorState {
                id: a.id.value.clone(),
                name: a.name.clone().unwrap_or_else(|| a.id.value.clone()),
                kind: a.kind.value.clone(),
                count: a.count(),
                region: a.region.as_ref().map(|r| r.value.clone()),
                tags: a.tags.clone(),
                attrs,
            };
            shared(state, previous.and_then(|p| p.actors.get(i)))
        })
        .collect();
    world.assets = s
        .assets
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let fixed = a.online.is_none()
                && !any_dated(&a.attrs)
                && a.capacity
                    .values()
                    .all(|c| matches!(c.value, Dated::Fixed(_)));
            if let Some(same) = previous.and_then(|p| p.assets.get(i)).filter(|_| fixed) {
                return Arc::clone(same);
            }
            let mut attrs = attrs_at(&a.attrs, year);
            let mut capacity: BTreeMap<String, f64> = a
                .capacity
                .keys()
                .map(|k| (k.clone(), a.capacity_at(k, year)))
                .collect();
            // A numeric attribute `capacity.<name>` is that capacity.
            attrs.retain(
                |name, value| match (name.strip_prefix(CAPACITY_PREFIX), value) {
                    (Some(cap), AttrVal::Num(v)) => {
                        capacity.insert(cap.to_string(), *v);
                        false
                    }
                    _ => true,
                },
            );
            let state = AssetState {
                id: a.id.value.clone(),
                name: a.name.clone().unwrap_or_else(|| a.id.value.clone()),
                kind: a.kind.value.clone(),
                owner: a.owner.as_ref().map(|o| o.value.clone()),
                region: a.region.as_ref().map(|r| r.value.clone()),
                capacity,
                online: a.online.as_ref().map(|o| o.value.0),
                tags: a.tags.clone(),
                attrs,
            };
            shared(state, previous.and_then(|p| p.assets.get(i)))
        })
        .collect();
    match previous {
        // Projects have no dated values, and the entities are the same every year.
        Some(previous) => {
            world.projects = Arc::clone(&previous.projects);
            world.share_entity_index(previous);
        }
        None => {
            world.projects = Arc::new(projects(s));
            world.reindex();
        }
    }
    world
}

fn projects(s: &Scenario) -> Vec<ProjectState> {
    s.projects
        .iter()
        .map(|p| ProjectState {
            id: p.id.value.clone(),
            title: p.title.clone(),
            what_owner: p.what.owner.value.clone(),
            what_goal: p.what.goal.clone(),
            how: p
                .how
                .iter()
                .map(|h| (h.actor.value.clone(), h.means.clone()))
                .collect(),
            why: p.why.as_ref().map(|w| w.value.clone()),
            participants: p.participants.iter().map(|x| x.value.clone()).collect(),
        })
        .collect()
}

/// The overrides on the year's shared parameters, copied only when one applies.
fn override_params(
    s: &Scenario,
    world: &mut WorldState,
    year: i32,
    overrides: &BTreeMap<String, Dated>,
) {
    if overrides.keys().any(|name| s.parameters.contains_key(name)) {
        apply_overrides(s, Arc::make_mut(&mut world.params), year, overrides);
    }
}

/// Takes each actor whose base state is the year before's (the same shared state) as
/// the year before ended (see [`materialize`]); says which it took.
fn carry_actors(
    world: &mut WorldState,
    previous_base: Option<&[Arc<ActorState>]>,
    last_actors: Option<Vec<Arc<ActorState>>>,
) -> Vec<bool> {
    let (Some(before), Some(ended)) = (previous_base, last_actors) else {
        return Vec::new();
    };
    world
        .actors
        .iter_mut()
        .enumerate()
        .map(|(i, actor)| match (before.get(i), ended.get(i)) {
            (Some(b), Some(e)) if Arc::ptr_eq(actor, b) => {
                *actor = Arc::clone(e);
                true
            }
            _ => false,
        })
        .collect()
}

/// The attributes `ctx.set` has set in earlier steps, on copies of the entities they
/// change (not on the actors `carried` from the year before, which have them); a
/// numeric `capacity.<name>` on an asset sets that capacity.
fn overlay_persistent(world: &mut WorldState, persistent: &Persistent, carried: &[bool]) {
    for ((kind, index, attr), value) in persistent {
        match kind {
            EntityKind::Actor => {
                if carried.get(*index).copied().unwrap_or(false) {
                    continue;
                }
                if let Some(actor) = world.actor_mut(*index) {
                    put(&mut actor.attrs, attr, value);
                }
            }
            EntityKind::Asset => {
                let Some(asset) = world.asset_mut(*index) else {
                    continue;
                };
                match (attr.strip_prefix(CAPACITY_PREFIX), value) {
                    (Some(cap), AttrVal::Num(v)) => {
                        asset.attrs.remove(&**attr);
                        asset.capacity.insert(cap.to_string(), *v);
                    }
                    _ => {
                        put(&mut asset.attrs, attr, value);
                    }
                }
            }
        }
    }
}

/// Sets `attr` to `value`, making a key only for an attribute the entity lacks (most
/// sets change one it has); returns the value it replaces.
pub(crate) fn put(
    attrs: &mut BTreeMap<String, AttrVal>,
    attr: &str,
    value: &AttrVal,
) -> Option<AttrVal> {
    match attrs.get_mut(attr) {
        Some(old) => Some(std::mem::replace(old, value.clone())),
        None => attrs.insert(attr.to_string(), value.clone()),
    }
}

/// Whether any attribute changes with the year.
fn any_dated(written: &gil_model::Attrs) -> bool {
    written
        .values()
        .any(|v| matches!(v.value, AttrValue::Number(Dated::Series(_))))
}

/// An entity's written attributes in force in `year`.
fn attrs_at(written: &gil_model::Attrs, year: i32) -> BTreeMap<String, AttrVal> {
    written
        .iter()
        .filter_map(|(k, v)| attr_at(&v.value, year).map(|v| (k.clone(), v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Scenario {
        gil_model::load_str("t.yaml", text, std::path::Path::new("."))
            .unwrap_or_else(|e| panic!("{}", e.render(false)))
    }

    /// An entity with no dated value is one state for the whole horizon; one with a
    /// dated attribute, a dated capacity or an `online` year is resolved every year.
    #[test]
    fn only_entities_with_dated_values_are_built_again_each_year() {
        let text = r#"
scenario: { id: t, horizon: { start: 2026, end: 2028 }, currency: KRW, rules: [] }
actors:
  - { id: fixed, kind: government, attrs: { budget: 1 } }
  - { id: dated, kind: startup, attrs: { demand: { 2026: 1, 2027: 2 } } }
assets:
  - { id: dc, kind: gpu_cluster, owner: fixed, capacity: { gpus: 10 } }
  - { id: later, kind: gpu_cluster, owner: fixed, capacity: { gpus: 10 }, online: 2027 }
  - { id: growing, kind: gpu_cluster, owner: fixed, capacity: { gpus: { 2026: 1, 2028: 5 } } }
"#;
        let s = load(text);
        let names = Names::default();
        let first = year_base(&s, 2026, None, &names);
        let second = year_base(&s, 2027, Some(&first), &names);
        let shared = |a: bool| if a { "shared" } else { "built" };
        let actors: Vec<_> = (0..2)
            .map(|i| shared(Arc::ptr_eq(&first.actors[i], &second.actors[i])))
            .collect();
        let assets: Vec<_> = (0..3)
            .map(|i| shared(Arc::ptr_eq(&first.assets[i], &second.assets[i])))
            .collect();
        assert_eq!(actors, ["shared", "built"]);
        assert_eq!(
            assets,
            ["shared", "built", "shared"],
            "growing holds 1 until 2028"
        );
        assert_eq!(second.actors[1].attrs["demand"], AttrVal::Num(2.0));
        assert_eq!(second.assets[1].capacity["gpus"], 10.0);
        let third = year_base(&s, 2028, Some(&second), &names);
        assert_eq!(third.assets[2].capacity["gpus"], 5.0);
    }

    /// A year starts from the actor as the year before ended when the actor's scenario
    /// values did not change (it already carries the lasting sets); an actor with a
    /// dated value is built again and the lasting sets are laid on it.
    #[test]
    fn unchanged_actors_carry_on_as_the_year_before_ended() {
        let text = r#"
scenario: { id: t, horizon: { start: 2026, end: 2027 }, currency: KRW, rules: [] }
actors:
  - { id: fixed, kind: government, attrs: { budget: 1 } }
  - { id: dated, kind: startup, attrs: { demand: { 2026: 1, 2027: 2 } } }
"#;
        let s = load(text);
        let interned = Interned::new(&s);
        let names = interned.run_names();
        let (none, no_text) = (BTreeMap::new(), BTreeMap::new());
        let mut last_base = None;
        let mut persistent = Persistent::default();
        let mut world = materialize(
            &s,
            &interned,
            &names,
            2026,
            &none,
            &no_text,
            &persistent,
            &mut last_base,
            None,
            0,
        );
        // What a rule's lasting set does to both actors in 2026.
        for (i, value) in [(0, 7.0), (1, 8.0)] {
            let attrs = &mut world.actor_mut(i).unwrap().attrs;
            attrs.insert("set".into(), AttrVal::Num(value));
            persistent.insert((EntityKind::Actor, i, "set".into()), AttrVal::Num(value));
        }
        let ended = world.actors.clone();
        let next = materialize(
            &s,
            &interned,
            &names,
            2027,
            &none,
            &no_text,
            &persistent,
            &mut last_base,
            Some(ended.clone()),
            0,
        );
        assert!(Arc::ptr_eq(&next.actors[0], &ended[0]), "fixed carries on");
        assert!(
            !Arc::ptr_eq(&next.actors[1], &ended[1]),
            "dated is built again"
        );
        assert_eq!(next.actors[0].attrs["set"], AttrVal::Num(7.0));
        assert_eq!(next.actors[1].attrs["set"], AttrVal::Num(8.0));
        assert_eq!(next.actors[1].attrs["demand"], AttrVal::Num(2.0));
    }
}
