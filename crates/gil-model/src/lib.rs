//! gil's scenario model: YAML loading with positions, validation, diagnostics and the
//! flow graph.
//!
//! Invariants: the model knows nothing of Lua or of evaluation; every value read from a
//! file keeps its [`Span`]; every problem is a [`Diagnostic`] naming `file:line:column`.

pub mod code;
pub mod diag;
pub mod graph;
pub mod load;
pub mod metric;
pub mod reform;
pub mod span;
mod table;
mod table_parquet;
mod table_typed;
pub mod types;
mod validate;
pub mod yaml;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use diag::{Diagnostic, Severity};
pub use graph::ScenarioGraph;
pub use load::{load, load_str, LoadError};
pub use reform::{load_reform, Reform};
pub use span::{FileId, SourceMap, Span, Spanned};
pub use types::*;

/// A loaded, validated scenario: the root file merged with its includes.
#[derive(Debug)]
pub struct Scenario {
    pub header: Header,
    /// Folder of the root file; rule paths in the header resolve from here.
    pub root_dir: PathBuf,
    pub kinds: ExtraKinds,
    pub parameters: BTreeMap<String, Parameter>,
    /// Parameters whose value is a text or a list of texts (never swept or scaled).
    pub text_parameters: BTreeMap<String, Parameter<TextValue>>,
    pub actors: Vec<Located<Actor>>,
    pub assets: Vec<Located<Asset>>,
    pub flows: Vec<Located<Flow>>,
    /// One id per flow, parallel to `flows`: the written `id`, or one derived from
    /// `from`, `to`, `kind` and `via`, unique in file order.
    pub flow_ids: Vec<String>,
    pub projects: Vec<Located<Project>>,
    pub sources: SourceMap,
    // Hashed, not ordered: lookups run once per reference at load and per flow in the
    // engine, and a B-tree compares whole ids at every level (20% of a national load).
    actor_index: rustc_hash::FxHashMap<String, usize>,
    asset_index: rustc_hash::FxHashMap<String, usize>,
}

/// Where an id points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityRef {
    Actor(usize),
    Asset(usize),
}

impl Scenario {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn assemble(
        header: Header,
        root_dir: PathBuf,
        kinds: ExtraKinds,
        parameters: BTreeMap<String, Parameter>,
        actors: Vec<Located<Actor>>,
        assets: Vec<Located<Asset>>,
        flows: Vec<Located<Flow>>,
        projects: Vec<Located<Project>>,
        sources: SourceMap,
    ) -> Self {
        let mut actor_index = rustc_hash::FxHashMap::default();
        for (i, a) in actors.iter().enumerate() {
            actor_index.entry(a.id.value.clone()).or_insert(i);
        }
        let mut asset_index = rustc_hash::FxHashMap::default();
        for (i, a) in assets.iter().enumerate() {
            asset_index.entry(a.id.value.clone()).or_insert(i);
        }
        let flow_ids = derive_flow_ids(&flows);
        Scenario {
            header,
            root_dir,
            kinds,
            parameters,
            text_parameters: BTreeMap::new(),
            actors,
            assets,
            flows,
            flow_ids,
            projects,
            sources,
            actor_index,
            asset_index,
        }
    }

    pub fn id(&self) -> &str {
        &self.header.id.value
    }

    /// `file:line:column` of a span as documents show it: the file relative to the
    /// scenario's folder, the same from any working directory.
    pub fn doc_location(&self, span: Span) -> String {
        let (line, col) = self.sources.line_col(span.file, span.start as usize);
        let file = match self.sources.path(span.file) {
            Some(path) => load::relative_to(&self.root_dir, path),
            None => self.sources.name(span.file),
        };
        format!("{file}:{line}:{col}")
    }

    pub fn currency(&self) -> &str {
        &self.header.currency.value
    }

    /// The years evaluated, one step each.
    pub fn years(&self) -> std::ops::RangeInclusive<i32> {
        self.header.years()
    }

    pub fn actor(&self, id: &str) -> Option<&Located<Actor>> {
        self.actor_index.get(id).and_then(|&i| self.actors.get(i))
    }

    pub fn asset(&self, id: &str) -> Option<&Located<Asset>> {
        self.asset_index.get(id).and_then(|&i| self.assets.get(i))
    }

    pub fn actor_index(&self, id: &str) -> Option<usize> {
        self.actor_index.get(id).copied()
    }

    pub fn asset_index(&self, id: &str) -> Option<usize> {
        self.asset_index.get(id).copied()
    }

    pub fn entity(&self, id: &str) -> Option<EntityRef> {
        self.actor_index
            .get(id)
            .map(|&i| EntityRef::Actor(i))
            .or_else(|| self.asset_index.get(id).map(|&i| EntityRef::Asset(i)))
    }

    /// A parameter's value in `year`.
    pub fn param(&self, name: &str, year: i32) -> Option<f64> {
        self.parameters
            .get(name)
            .and_then(|p| p.value.value.at(year))
    }

    /// The factor that turns one `unit` of a flow of `kind` into the kind's base unit
    /// (the scenario currency, gpu_hour, MW) in `year`. `None` for an unknown unit or a
    /// currency with no `fx.<UNIT>` parameter in force.
    pub fn unit_factor(&self, kind: FlowKind, unit: Option<&str>, year: i32) -> Option<f64> {
        let Some(unit) = unit else { return Some(1.0) };
        match kind {
            FlowKind::Funding if unit == self.currency() => Some(1.0),
            FlowKind::Funding => self.param(&format!("fx.{unit}"), year),
            FlowKind::Compute => compute_unit_factor(unit),
            FlowKind::Power => power_unit_factor(unit),
        }
    }

    /// Flow `index`'s amount in `year`, in its kind's base unit.
    pub fn flow_amount(&self, index: usize, year: i32) -> f64 {
        let Some(flow) = self.flows.get(index) else {
            return 0.0;
        };
        let Some(kind) = FlowKind::parse(&flow.kind.value) else {
            return 0.0;
        };
        let raw = flow.amount.value.at_or_zero(year);
        if raw == 0.0 {
            return 0.0;
        }
        raw * self
            .unit_factor(kind, flow.unit.as_ref().map(|u| u.value.as_str()), year)
            .unwrap_or(0.0)
    }

    pub fn flow_kind(&self, index: usize) -> Option<FlowKind> {
        self.flows
            .get(index)
            .and_then(|f| FlowKind::parse(&f.kind.value))
    }

    /// Every `source:` the scenario cites, sorted and without repeats.
    pub fn all_sources(&self) -> Vec<String> {
        let mut out = std::collections::BTreeSet::new();
        let mut add = |s: &Option<Sources>| {
            if let Some(s) = s {
                out.extend(s.0.iter().cloned());
            }
        };
        add(&self.header.source);
        for p in self.parameters.values() {
            add(&Some(p.source.clone()));
        }
        for p in self.text_parameters.values() {
            add(&Some(p.source.clone()));
        }
        self.actors.iter().for_each(|a| add(&a.source));
        self.assets.iter().for_each(|a| add(&a.source));
        self.flows.iter().for_each(|f| add(&f.source));
        self.projects.iter().for_each(|p| add(&p.source));
        out.into_iter().collect()
    }

    pub fn is_actor_kind(&self, kind: &str) -> bool {
        ACTOR_KINDS.contains(&kind) || self.kinds.actor.iter().any(|k| k == kind)
    }

    pub fn is_asset_kind(&self, kind: &str) -> bool {
        ASSET_KINDS.contains(&kind) || self.kinds.asset.iter().any(|k| k == kind)
    }
}

/// Whether the engine itself reads parameter `name` as a number (exchange rates, the
/// GPU power estimate, the analyses' settings), so it can never be a text.
pub fn engine_reads_number(name: &str) -> bool {
    name.starts_with("fx.")
        || name.starts_with("analysis.")
        || name == "gpu.kw_per_gpu"
        || name == "power.pue"
}

/// Units accepted for compute flows, with their factor to gpu_hour.
pub const COMPUTE_UNITS: &[(&str, f64)] =
    &[("gpu_hour", 1.0), ("gpu_hours", 1.0), ("gpu_year", 8760.0)];
/// Units accepted for power flows, with their factor to MW (energy as average power).
pub const POWER_UNITS: &[(&str, f64)] = &[
    ("MW", 1.0),
    ("GW", 1000.0),
    ("kW", 0.001),
    ("MWh", 1.0 / 8760.0),
    ("GWh", 1000.0 / 8760.0),
];

fn compute_unit_factor(unit: &str) -> Option<f64> {
    COMPUTE_UNITS
        .iter()
        .find(|(u, _)| *u == unit)
        .map(|(_, f)| *f)
}

fn power_unit_factor(unit: &str) -> Option<f64> {
    POWER_UNITS
        .iter()
        .find(|(u, _)| *u == unit)
        .map(|(_, f)| *f)
}

fn derive_flow_ids(flows: &[Located<Flow>]) -> Vec<String> {
    let explicit: std::collections::BTreeSet<&str> = flows
        .iter()
        .filter_map(|f| f.id.as_ref().map(|i| i.value.as_str()))
        .collect();
    let mut used: BTreeMap<String, usize> = BTreeMap::new();
    flows
        .iter()
        .map(|f| {
            if let Some(id) = &f.id {
                return id.value.clone();
            }
            let mut base = format!("{}->{}:{}", f.from.value, f.to.value, f.kind.value);
            if let Some(via) = &f.via {
                base.push(':');
                base.push_str(&via.value);
            }
            let n = used.entry(base.clone()).or_insert(0);
            *n += 1;
            let mut candidate = if *n == 1 {
                base.clone()
            } else {
                format!("{base}#{n}")
            };
            while explicit.contains(candidate.as_str()) {
                *n += 1;
                candidate = format!("{base}#{n}");
            }
            candidate
        })
        .collect()
}
