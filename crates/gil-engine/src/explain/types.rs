//! The explanation's types: what `gil explain` says, as data (JSON) and for the words
//! gil-report puts on it.

use gil_model::metric::Direction;
use gil_model::FlowKind;
use gil_rules::{AdjustOp, AttrVal, EntityKind};

/// What a subject is, said once above the years.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "subject", rename_all = "snake_case")]
pub enum Headline {
    /// `<kind>.in|out.<entity>`: the ledger's flows into or out of an entity.
    FlowMetric {
        name: String,
        kind: FlowKind,
        direction: Direction,
        entity: String,
    },
    /// `power.demand|capacity|shortfall.<region>`; each year lists the power flows
    /// into the region (demand) and the rules' changes to its grid capacity.
    PowerMetric {
        name: String,
        /// The region's `grid_region` assets, whose `capacity.mw` is its capacity.
        grid: Vec<String>,
    },
    /// Made by rules with `ctx.metric`.
    RuleMetric {
        name: String,
    },
    Flow {
        id: String,
    },
    Entity {
        id: String,
        actor: bool,
    },
    Attr {
        id: String,
        attr: String,
        /// Where the scenario writes the attribute, and the entity's sources.
        written: Option<(String, Vec<String>)>,
    },
    /// A scenario parameter: its unit, sources and note, and the rules that declare
    /// they read it (a rule reads only the parameters it declares).
    Param {
        name: String,
        unit: Option<String>,
        sources: Vec<String>,
        note: Option<String>,
        read_by: Vec<String>,
    },
    /// A rule: what it is and what it reads; each year lists the flows it made or
    /// adjusted, its metric calls and its `ctx.set`s.
    Rule {
        id: String,
        title: Option<String>,
        kind: String,
        file: String,
        params: Vec<String>,
    },
    /// A project: its What / How / Why with where each role comes from and its
    /// checks, and its targets; each year lists the project's flows and the value of
    /// every target metric.
    Project {
        roles: Box<crate::outcome::ProjectRoles>,
        targets: Vec<crate::outcome::TargetLine>,
        /// The scenario currency, which the participants' money is in.
        currency: String,
    },
}

/// Where a flow's amount comes from.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "origin", rename_all = "snake_case")]
pub enum Origin {
    /// Written in the scenario: where (file:line:column relative to the scenario's
    /// folder), the unit it was converted from, its sources and note.
    Scenario {
        at: Option<String>,
        converted: Option<(String, String)>,
        sources: Vec<String>,
        note: Option<String>,
    },
    /// Created by a rule's `ctx.flow`.
    Rule {
        rule: String,
        file: String,
        line: u32,
        note: Option<String>,
    },
}

/// A parameter's value: a number, or a text or list of texts.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum ParamShown {
    Number(f64),
    Text(gil_model::TextValue),
}

/// A parameter a rule declares, with its value in the year and where it comes from.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ParamRead {
    pub name: String,
    pub value: Option<ParamShown>,
    pub unit: Option<String>,
    pub sources: Vec<String>,
    pub note: Option<String>,
}

/// A rule's `ctx.adjust` on a flow.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Adjusted {
    pub op: AdjustOp,
    pub rule: String,
    pub file: String,
    pub line: u32,
    pub before: f64,
    pub after: f64,
}

/// One flow of a year, with where it comes from and what changed it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FlowExplained {
    pub id: String,
    pub from: String,
    pub to: String,
    pub via: Option<String>,
    pub amount: f64,
    pub unit: String,
    pub origin: Origin,
    /// The parameters the creating rule declares (rule-made flows only).
    pub inputs: Vec<ParamRead>,
    pub adjustments: Vec<Adjusted>,
}

/// A rule metric's calls from one site in a year.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Contribution {
    /// The metric (when a rule, not a metric, is explained).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    pub rule: String,
    pub file: String,
    pub line: u32,
    pub sum: f64,
    pub calls: usize,
    pub inputs: Vec<ParamRead>,
    /// The entities a per-entity hook made the calls for (the largest shares first),
    /// each with its share and the values the rule could read of it (an actor's count and attributes, an asset's
    /// capacities and attributes, a flow's amount). Empty for `on_step` rules.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<EntityContribution>,
    /// Entities with a share beyond those listed (the smallest).
    #[serde(skip_serializing_if = "is_zero")]
    pub entities_more: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One entity's share of a call site's contribution.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EntityContribution {
    pub id: String,
    pub sum: f64,
    pub calls: usize,
    pub values: Vec<(String, AttrVal)>,
}

/// A rule's `ctx.set` of the attribute.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SetExplained {
    /// `entity.attribute` (when a rule, not an attribute, is explained).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub value: AttrVal,
    pub rule: String,
    pub file: String,
    pub line: u32,
    pub on: EntityKind,
}

impl SetExplained {
    /// A rule's `ctx.set` from the trace; `target` names what was set when the
    /// subject does not (a rule's explanation).
    pub(super) fn of(r: &crate::trace::SetRecord, target: Option<String>) -> Self {
        SetExplained {
            target,
            value: r.after.clone(),
            rule: r.provenance.rule.to_string(),
            file: r.provenance.file.to_string(),
            line: r.provenance.line,
            on: r.entity,
        }
    }
}

/// What the subject is worth in a year.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum YearValue {
    Metric(f64),
    /// The flow's lines (the flow exists this year) or none.
    Flow(bool),
    /// An entity's totals in and out by kind; `None`: no flows at all.
    Ledger(Option<Vec<(FlowKind, f64, f64)>>),
    /// An attribute's value at the start of the year.
    Attr(Option<AttrVal>),
    /// A parameter's value as written in the scenario (`None`: no value that year).
    Param(Option<ParamShown>),
    /// How many flows a rule made and how many it adjusted in the year.
    Rule {
        made: usize,
        adjusted: usize,
    },
    /// A project's year: each target metric's value and whether its condition holds.
    Project {
        targets: Vec<TargetYear>,
    },
}

/// A project target's metric in one year.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TargetYear {
    pub metric: String,
    /// `None`: the metric was not produced that year.
    pub value: Option<f64>,
    /// Whether the target's condition holds this year (`by` is the year it must).
    pub holds: bool,
    /// This is the target's `by` year.
    pub due: bool,
}

/// One year of an explanation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct YearExplained {
    pub year: i32,
    pub value: YearValue,
    pub flows: Vec<FlowExplained>,
    pub contributions: Vec<Contribution>,
    pub sets: Vec<SetExplained>,
    /// GPU clusters with no power flow, whose demand the power analysis estimated
    /// (power demand and shortfall metrics only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub implied: Vec<crate::trace::ImpliedPower>,
}

/// Everything `gil explain` says about a subject.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Explanation {
    pub headline: Headline,
    pub years: Vec<YearExplained>,
}

pub(super) fn year(year: i32, value: YearValue) -> YearExplained {
    YearExplained {
        year,
        value,
        flows: Vec::new(),
        contributions: Vec::new(),
        sets: Vec::new(),
        implied: Vec::new(),
    }
}
