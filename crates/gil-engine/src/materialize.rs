//! Turning the scenario's dated values into one step's world.

use std::collections::BTreeMap;

use gil_model::{AttrValue, Dated, Scenario};
use gil_rules::{ActorState, AssetState, AttrVal, EntityKind, Names, ProjectState, WorldState};

use crate::interned::Interned;

/// `ctx.set` attributes with this prefix on an asset set its capacity.
pub const CAPACITY_PREFIX: &str = "capacity.";

/// Attribute values set by `ctx.set`, in force from their step on.
pub type Persistent = BTreeMap<(EntityKind, String, String), AttrVal>;

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
    s.parameters
        .iter()
        .filter_map(|(name, p)| {
            let value = match overrides.get(name) {
                Some(o) => o.at(year),
                None => p.value.value.at(year),
            };
            value.map(|v| (name.clone(), v))
        })
        .collect()
}

/// The world of `year`: the scenario's dated values in force, `persistent`'s
/// attributes, and the scenario's flows of that year (copies of `interned`'s
/// templates, their names symbols of the run's `names`).
pub fn materialize(
    s: &Scenario,
    interned: &Interned,
    names: &Names,
    year: i32,
    overrides: &BTreeMap<String, Dated>,
    persistent: &Persistent,
) -> WorldState {
    let mut world = WorldState::default();
    world.names = names.clone();
    world.year = year;
    world.currency = s.currency().to_string();
    world.params = params_at(s, year, overrides);
    world.actors = s
        .actors
        .iter()
        .map(|a| {
            let attrs = attrs_at(&a.attrs, year, persistent, EntityKind::Actor, &a.id.value);
            ActorState {
                id: a.id.value.clone(),
                name: a.name.clone().unwrap_or_else(|| a.id.value.clone()),
                kind: a.kind.value.clone(),
                count: a.count(),
                region: a.region.as_ref().map(|r| r.value.clone()),
                tags: a.tags.clone(),
                attrs,
            }
        })
        .collect();
    world.assets = s
        .assets
        .iter()
        .map(|a| {
            let mut attrs = attrs_at(&a.attrs, year, persistent, EntityKind::Asset, &a.id.value);
            let mut capacity: BTreeMap<String, f64> = a
                .capacity
                .keys()
                .map(|k| (k.clone(), a.capacity_at(k, year)))
                .collect();
            // `ctx.set { asset = …, attr = "capacity.mw" }` changes a capacity for good.
            attrs.retain(
                |name, value| match (name.strip_prefix(CAPACITY_PREFIX), value) {
                    (Some(cap), AttrVal::Num(v)) => {
                        capacity.insert(cap.to_string(), *v);
                        false
                    }
                    _ => true,
                },
            );
            AssetState {
                id: a.id.value.clone(),
                name: a.name.clone().unwrap_or_else(|| a.id.value.clone()),
                kind: a.kind.value.clone(),
                owner: a.owner.as_ref().map(|o| o.value.clone()),
                region: a.region.as_ref().map(|r| r.value.clone()),
                capacity,
                online: a.online.as_ref().map(|o| o.value.0),
                tags: a.tags.clone(),
                attrs,
            }
        })
        .collect();
    world.flows = s
        .flows
        .iter()
        .enumerate()
        .filter(|(_, f)| f.amount.value.at(year).is_some())
        .filter_map(|(i, _)| interned.flow(i, s.flow_amount(i, year)))
        .collect();
    world.projects = s
        .projects
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
        .collect();
    world.reindex();
    world
}

/// An entity's attributes in `year`: the dated values in force, then what `ctx.set`
/// has set since.
fn attrs_at(
    written: &BTreeMap<String, gil_model::Spanned<AttrValue>>,
    year: i32,
    persistent: &Persistent,
    kind: EntityKind,
    id: &str,
) -> BTreeMap<String, AttrVal> {
    let mut attrs: BTreeMap<String, AttrVal> = written
        .iter()
        .filter_map(|(k, v)| attr_at(&v.value, year).map(|v| (k.clone(), v)))
        .collect();
    apply_persistent(&mut attrs, persistent, kind, id);
    attrs
}

fn apply_persistent(
    attrs: &mut BTreeMap<String, AttrVal>,
    persistent: &Persistent,
    kind: EntityKind,
    id: &str,
) {
    let from = (kind, id.to_string(), String::new());
    for ((k, i, attr), value) in persistent.range(from..) {
        if *k != kind || i != id {
            break;
        }
        attrs.insert(attr.clone(), value.clone());
    }
}
