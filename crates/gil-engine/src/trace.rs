//! What `explain` needs: where every flow, metric and attribute value came from.

use std::collections::BTreeMap;

use gil_rules::{AdjustOp, AttrVal, EntityKind, FlowState, Names, Provenance, Sym};

#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub steps: Vec<StepTrace>,
    /// The run's names, which the flows' symbols index.
    pub names: Names,
}

#[derive(Debug, Clone, Default)]
pub struct StepTrace {
    pub year: i32,
    /// Every flow of the step after rules (shared with the rules' history).
    pub flows: std::sync::Arc<Vec<FlowState>>,
    /// Changes to flows, by flow id, in the order applied.
    pub adjustments: BTreeMap<Sym, Vec<AdjustRecord>>,
    /// Rule contributions to metrics, by metric name.
    pub metrics: BTreeMap<String, Vec<Contribution>>,
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
