//! What `explain` needs: where every flow, metric and attribute value came from.

use std::collections::BTreeMap;

use gil_rules::{AdjustOp, AttrVal, EntityKind, FlowState, Names, Provenance, Sym};

#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub steps: Vec<StepTrace>,
    /// The run's names, which the flows' symbols index.
    pub names: Names,
    /// GPU clusters whose power demand the power analysis estimated, in year order.
    pub implied_power: Vec<ImpliedPower>,
}

/// A GPU cluster no power flow reaches, counted in its region's demand as
/// GPUs × `gpu.kw_per_gpu` × `power.pue` / 1000.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ImpliedPower {
    pub year: i32,
    pub cluster: String,
    pub region: String,
    pub gpus: f64,
    pub kw_per_gpu: f64,
    pub pue: f64,
    pub mw: f64,
}

#[derive(Debug, Clone, Default)]
pub struct StepTrace {
    pub year: i32,
    /// Every flow of the step after rules (shared with the rules' history).
    pub flows: std::sync::Arc<Vec<FlowState>>,
    /// Changes to flows, by flow id, in the order applied (with `Options::explain`).
    pub adjustments: BTreeMap<Sym, Vec<AdjustRecord>>,
    /// Rule contributions to metrics, by metric name (with `Options::explain`).
    pub metrics: BTreeMap<String, Vec<Contribution>>,
    /// Every `ctx.set`, in the order applied (with `Options::explain`).
    pub sets: Vec<SetRecord>,
}

#[derive(Debug, Clone)]
pub struct AdjustRecord {
    pub provenance: Provenance,
    pub op: AdjustOp,
    pub before: f64,
    pub after: f64,
}

#[derive(Debug, Clone)]
pub struct Contribution {
    pub provenance: Provenance,
    /// The sum of `calls` consecutive calls from this call site.
    pub value: f64,
    pub calls: usize,
    /// With `Options::explain`, the entity the per-entity hook ran for (calls
    /// for different entities are then kept apart).
    pub entity: Option<EntityUsed>,
}

/// An entity a rule metric was computed for, with the values the rule could read of
/// it in that step.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EntityUsed {
    pub id: String,
    /// An actor's `count` (when not 1) and attributes; an asset's capacities
    /// (`capacity.<name>`) and attributes; a flow's amount.
    pub values: Vec<(String, AttrVal)>,
}

impl EntityUsed {
    /// `entity` of `world`, with its values as they stand.
    pub(crate) fn of(world: &gil_rules::WorldState, entity: gil_rules::HookEntity) -> Option<Self> {
        use gil_rules::HookEntity;
        Some(match entity {
            HookEntity::Actor(i) => {
                let a = world.actors.get(i)?;
                let count = (a.count != 1.0).then(|| ("count".to_string(), AttrVal::Num(a.count)));
                EntityUsed {
                    id: a.id.clone(),
                    values: count
                        .into_iter()
                        .chain(a.attrs.iter().map(|(k, v)| (k.clone(), v.clone())))
                        .collect(),
                }
            }
            HookEntity::Asset(i) => {
                let a = world.assets.get(i)?;
                EntityUsed {
                    id: a.id.clone(),
                    values: a
                        .capacity
                        .iter()
                        .map(|(k, v)| {
                            (
                                format!("{}{k}", crate::materialize::CAPACITY_PREFIX),
                                AttrVal::Num(*v),
                            )
                        })
                        .chain(a.attrs.iter().map(|(k, v)| (k.clone(), v.clone())))
                        .collect(),
                }
            }
            HookEntity::Flow(i) => {
                let f = world.flows.get(i)?;
                EntityUsed {
                    id: world.name(f.id).to_string(),
                    values: vec![("amount".to_string(), AttrVal::Num(f.amount))],
                }
            }
        })
    }
}

#[derive(Debug, Clone)]
pub struct SetRecord {
    pub entity: EntityKind,
    pub id: String,
    pub attr: String,
    pub before: Option<AttrVal>,
    pub after: AttrVal,
    pub provenance: Provenance,
}
