//! The flow graph as Graphviz DOT (through petgraph) or a Mermaid flowchart: edge width
//! grows with the amount, colour tells the kind, and edges on a circular-financing loop
//! are drawn red and bold.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use gil_engine::Evaluation;
use gil_model::{FlowKind, Scenario};
use petgraph::dot::{Config, Dot};
use petgraph::graph::DiGraph;

use crate::human;

#[derive(Debug, Clone)]
pub struct GraphNode {
    pub id: String,
    pub label: String,
    pub asset: bool,
}

#[derive(Debug, Clone)]
pub struct GraphEdge {
    pub kind: FlowKind,
    pub amount: f64,
    pub unit: String,
    pub on_loop: bool,
    /// 1.0 for the largest edge of its kind.
    pub weight: f64,
}

/// Which flows to draw.
#[derive(Debug, Clone, Default)]
pub struct GraphOptions {
    /// Only these kinds (empty: all).
    pub kinds: Vec<FlowKind>,
    /// One step, or (None) the whole horizon: money and compute summed, power at its peak.
    pub step: Option<i32>,
}

/// The graph was asked for a year the scenario does not evaluate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearOutsideHorizon {
    pub year: i32,
    pub horizon: [i32; 2],
}

impl std::fmt::Display for YearOutsideHorizon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is outside the horizon {}–{}",
            self.year, self.horizon[0], self.horizon[1]
        )
    }
}

impl std::error::Error for YearOutsideHorizon {}

/// Builds the graph of the evaluation's flows (nodes sorted by id, edges by endpoints),
/// from every flow of the trace: the outcome's lines are aggregated per payer.
pub fn build(
    s: &Scenario,
    e: &Evaluation,
    options: &GraphOptions,
) -> Result<DiGraph<GraphNode, GraphEdge>, YearOutsideHorizon> {
    let o = &e.outcome;
    let steps: Vec<_> = match options.step {
        Some(year) => {
            let step =
                e.trace
                    .steps
                    .iter()
                    .find(|st| st.year == year)
                    .ok_or(YearOutsideHorizon {
                        year,
                        horizon: o.scenario.horizon,
                    })?;
            vec![step]
        }
        None => e.trace.steps.iter().collect(),
    };
    let mut edges: BTreeMap<(String, String, FlowKind), (f64, String)> = BTreeMap::new();
    let names = &e.trace.names;
    for step in steps {
        // Summed within a step; over steps money and compute add up, power peaks.
        let mut in_step: BTreeMap<(&str, &str, FlowKind), f64> = BTreeMap::new();
        for f in step.flows.iter().filter(|f| f.amount != 0.0) {
            if !options.kinds.is_empty() && !options.kinds.contains(&f.kind) {
                continue;
            }
            *in_step
                .entry((names.name(f.from), names.name(f.to), f.kind))
                .or_insert(0.0) += f.amount;
        }
        for ((from, to, kind), amount) in in_step {
            let unit = kind.base_unit(s.currency());
            let e = edges
                .entry((from.to_string(), to.to_string(), kind))
                .or_insert((0.0, unit));
            if kind == FlowKind::Power {
                e.0 = e.0.max(amount);
            } else {
                e.0 += amount;
            }
        }
    }
    let loop_edges: BTreeSet<(String, String)> = o
        .analyses
        .circular
        .iter()
        .flat_map(|l| {
            (0..l.path.len()).map(|k| (l.path[k].clone(), l.path[(k + 1) % l.path.len()].clone()))
        })
        .collect();
    let mut max_by_kind: BTreeMap<FlowKind, f64> = BTreeMap::new();
    for ((_, _, kind), (amount, _)) in &edges {
        let m = max_by_kind.entry(*kind).or_insert(0.0);
        *m = m.max(*amount);
    }
    let ids: BTreeSet<&str> = edges
        .keys()
        .flat_map(|(a, b, _)| [a.as_str(), b.as_str()])
        .collect();
    let mut graph = DiGraph::new();
    let mut index = BTreeMap::new();
    for id in ids {
        let (label, asset) = match (s.actor(id), s.asset(id)) {
            (Some(a), _) => (a.name.clone().unwrap_or_else(|| id.to_string()), false),
            (_, Some(a)) => (a.name.clone().unwrap_or_else(|| id.to_string()), true),
            _ => (id.to_string(), false),
        };
        index.insert(
            id.to_string(),
            graph.add_node(GraphNode {
                id: id.to_string(),
                label,
                asset,
            }),
        );
    }
    for ((from, to, kind), (amount, unit)) in &edges {
        let max = max_by_kind.get(kind).copied().unwrap_or(0.0);
        let weight = if max > 0.0 { amount / max } else { 0.0 };
        let on_loop =
            *kind == FlowKind::Funding && loop_edges.contains(&(from.clone(), to.clone()));
        if let (Some(&a), Some(&b)) = (index.get(from), index.get(to)) {
            graph.add_edge(
                a,
                b,
                GraphEdge {
                    kind: *kind,
                    amount: *amount,
                    unit: unit.clone(),
                    on_loop,
                    weight,
                },
            );
        }
    }
    Ok(graph)
}

use crate::palette::{kind_color, LOOP as LOOP_COLOR};

fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Graphviz DOT, rendered by petgraph's `Dot` with gil's attributes.
pub fn dot(graph: &DiGraph<GraphNode, GraphEdge>, title: &str) -> String {
    let edge_attrs = |_: &DiGraph<GraphNode, GraphEdge>,
                      e: petgraph::graph::EdgeReference<'_, GraphEdge>| {
        let w = e.weight();
        let color = if w.on_loop {
            LOOP_COLOR
        } else {
            kind_color(w.kind)
        };
        let pen = 1.0 + 7.0 * w.weight;
        let style = if w.on_loop { ", style=bold" } else { "" };
        format!(
            "label=\"{} {}\", color=\"{color}\", fontcolor=\"{color}\", penwidth={pen:.2}{style}",
            human(w.amount),
            quote(&w.unit)
        )
    };
    let node_attrs = |_: &DiGraph<GraphNode, GraphEdge>,
                      (_, n): (petgraph::graph::NodeIndex, &GraphNode)| {
        let shape = if n.asset { "cylinder" } else { "box" };
        let label = if n.label == n.id {
            quote(&n.id)
        } else {
            format!("{}\\n{}", quote(&n.id), quote(&n.label))
        };
        format!("label=\"{label}\", shape={shape}")
    };
    let body = format!(
        "{:?}",
        Dot::with_attr_getters(
            graph,
            &[Config::EdgeNoLabel, Config::NodeNoLabel],
            &edge_attrs,
            &node_attrs
        )
    );
    // Give the graph a name, a left-to-right layout and a font with Hangul glyphs.
    let header = format!(
        "digraph \"{}\" {{\n    rankdir=LR;\n    fontname=\"Noto Sans CJK KR, Noto Sans, sans-serif\";\n    node [fontname=\"Noto Sans CJK KR, Noto Sans, sans-serif\"];\n    edge [fontname=\"Noto Sans CJK KR, Noto Sans, sans-serif\"];\n",
        quote(title)
    );
    body.replacen("digraph {\n", &header, 1)
}

fn mermaid_id(id: &str) -> String {
    let mut out: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if out.chars().next().is_none_or(|c| c.is_ascii_digit()) {
        out.insert(0, 'n');
    }
    out
}

/// A Mermaid flowchart (left to right); loop edges are thick and red.
pub fn mermaid(graph: &DiGraph<GraphNode, GraphEdge>) -> String {
    let mut out = String::from("flowchart LR\n");
    let mut used: BTreeMap<String, usize> = BTreeMap::new();
    let mut ids = BTreeMap::new();
    for n in graph.node_indices() {
        let node = &graph[n];
        let mut id = mermaid_id(&node.id);
        let count = used.entry(id.clone()).or_insert(0);
        *count += 1;
        if *count > 1 {
            id = format!("{id}_{count}");
        }
        let label = if node.label == node.id {
            node.id.clone()
        } else {
            format!("{}<br/>{}", node.id, node.label)
        };
        let label = label.replace('"', "#quot;");
        let _ = if node.asset {
            writeln!(out, "    {id}[(\"{label}\")]")
        } else {
            writeln!(out, "    {id}[\"{label}\"]")
        };
        ids.insert(n, id);
    }
    let mut styles = Vec::new();
    for (k, e) in graph.edge_indices().enumerate() {
        let Some((a, b)) = graph.edge_endpoints(e) else {
            continue;
        };
        let w = &graph[e];
        let arrow = if w.on_loop { "==>" } else { "-->" };
        let _ = writeln!(
            out,
            "    {} {arrow}|\"{} {}\"| {}",
            ids[&a],
            human(w.amount),
            w.unit,
            ids[&b]
        );
        let color = if w.on_loop {
            LOOP_COLOR
        } else {
            kind_color(w.kind)
        };
        let width = 1.0 + 5.0 * w.weight;
        styles.push(format!(
            "    linkStyle {k} stroke:{color},stroke-width:{width:.1}px"
        ));
    }
    for s in styles {
        let _ = writeln!(out, "{s}");
    }
    out
}
