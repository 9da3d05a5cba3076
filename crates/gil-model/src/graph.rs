//! The scenario as a petgraph graph: actors and assets are nodes, flows are edges.

use std::collections::BTreeMap;

use petgraph::graph::{DiGraph, NodeIndex};

use crate::types::FlowKind;
use crate::{EntityRef, Scenario};

/// An edge: one flow of the scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlowEdge {
    /// Index into [`Scenario::flows`].
    pub flow: usize,
    pub kind: FlowKind,
}

/// Nodes are added actors first, then assets, in file order; edges in flow order, so
/// the graph (and everything derived from it) is the same on every run.
#[derive(Debug, Clone)]
pub struct ScenarioGraph {
    pub graph: DiGraph<EntityRef, FlowEdge>,
    pub nodes: BTreeMap<String, NodeIndex>,
}

impl ScenarioGraph {
    pub fn build(s: &Scenario) -> Self {
        let mut graph = DiGraph::with_capacity(s.actors.len() + s.assets.len(), s.flows.len());
        let mut nodes = BTreeMap::new();
        for (i, a) in s.actors.iter().enumerate() {
            nodes.insert(a.id.value.clone(), graph.add_node(EntityRef::Actor(i)));
        }
        for (i, a) in s.assets.iter().enumerate() {
            nodes.insert(a.id.value.clone(), graph.add_node(EntityRef::Asset(i)));
        }
        for (i, f) in s.flows.iter().enumerate() {
            let (Some(&from), Some(&to), Some(kind)) = (
                nodes.get(&f.from.value),
                nodes.get(&f.to.value),
                FlowKind::parse(&f.kind.value),
            ) else {
                continue; // validation has reported it
            };
            graph.add_edge(from, to, FlowEdge { flow: i, kind });
        }
        ScenarioGraph { graph, nodes }
    }

    pub fn name(&self, s: &Scenario, node: NodeIndex) -> String {
        match self.graph.node_weight(node) {
            Some(EntityRef::Actor(i)) => s
                .actors
                .get(*i)
                .map(|a| a.id.value.clone())
                .unwrap_or_default(),
            Some(EntityRef::Asset(i)) => s
                .assets
                .get(*i)
                .map(|a| a.id.value.clone())
                .unwrap_or_default(),
            None => String::new(),
        }
    }
}
