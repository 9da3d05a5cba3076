//! `gil explain`: a value per step and the chain of effects and sources behind it, as
//! a typed [`Explanation`]; gil-report words it for an analyst.

use std::collections::BTreeMap;

use gil_model::metric::{Direction, MetricKey, PowerMeasure};
use gil_model::{FlowKind, Scenario};
use gil_rules::{AdjustOp, AttrVal, EntityKind, FlowOrigin, FlowState, Names};

use crate::trace::StepTrace;
use crate::Evaluation;

/// What `explain` was asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Metric(String),
    Flow(String),
    Entity(String),
    Attr(String, String),
    Param(String),
    Rule(String),
    Project(String),
}

/// What explain was asked about names nothing in the outcome.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("`{target}` is not a metric, flow id, actor, asset, parameter, rule or project in this outcome{}", hint.as_ref().map(|h| format!(" (did you mean `{h}`?)")).unwrap_or_default())]
pub struct UnknownSubject {
    pub target: String,
    /// The nearest name there is.
    pub hint: Option<String>,
}

/// Works out what TARGET names: a flow id, an actor or asset id, `actor.attr`, or a metric.
pub fn resolve(s: &Scenario, eval: &Evaluation, target: &str) -> Result<Subject, UnknownSubject> {
    let flow_ids = || {
        eval.trace
            .steps
            .iter()
            .flat_map(|st| st.flows.iter().map(|f| eval.trace.names.name(f.id)))
    };
    if flow_ids().any(|id| id == target) || s.flow_ids.iter().any(|id| id == target) {
        return Ok(Subject::Flow(target.to_string()));
    }
    if s.entity(target).is_some() {
        return Ok(Subject::Entity(target.to_string()));
    }
    if let Some((entity, attr)) = target.split_once('.') {
        if s.entity(entity).is_some() {
            return Ok(Subject::Attr(entity.to_string(), attr.to_string()));
        }
    }
    let metric_known = eval
        .outcome
        .steps
        .iter()
        .any(|st| st.metrics.contains_key(target))
        || eval
            .trace
            .steps
            .iter()
            .any(|st| st.metrics.contains_key(target));
    if metric_known {
        return Ok(Subject::Metric(target.to_string()));
    }
    if s.parameters.contains_key(target) || s.text_parameters.contains_key(target) {
        return Ok(Subject::Param(target.to_string()));
    }
    let rules = || eval.outcome.scenario.rules.iter().map(|r| r.id.as_str());
    if rules().any(|id| id == target) {
        return Ok(Subject::Rule(target.to_string()));
    }
    if s.projects.iter().any(|p| p.id.value == target) {
        return Ok(Subject::Project(target.to_string()));
    }
    let mut candidates: Vec<String> = eval
        .outcome
        .steps
        .iter()
        .flat_map(|st| st.metrics.keys().cloned())
        .collect();
    candidates.extend(s.actors.iter().map(|a| a.id.value.clone()));
    candidates.extend(s.assets.iter().map(|a| a.id.value.clone()));
    candidates.extend(flow_ids().map(String::from));
    candidates.extend(s.parameters.keys().cloned());
    candidates.extend(s.text_parameters.keys().cloned());
    candidates.extend(rules().map(String::from));
    candidates.extend(s.projects.iter().map(|p| p.id.value.clone()));
    candidates.sort();
    candidates.dedup();
    Err(UnknownSubject {
        target: target.to_string(),
        hint: gil_model::diag::did_you_mean(target, candidates.iter().map(String::as_str))
            .map(str::to_string),
    })
}

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

/// A parameter's value in `year` as the scenario writes it, and its unit, sources
/// and note; `None` when the scenario has no such parameter.
fn param_at(s: &Scenario, name: &str, year: i32) -> Option<ParamRead> {
    let (value, unit, sources, note) = match (s.parameters.get(name), s.text_parameters.get(name)) {
        (Some(p), _) => (
            p.value.value.at(year).map(ParamShown::Number),
            &p.unit,
            &p.source,
            &p.note,
        ),
        (None, Some(p)) => (
            Some(ParamShown::Text(p.value.value.clone())),
            &p.unit,
            &p.source,
            &p.note,
        ),
        (None, None) => return None,
    };
    Some(ParamRead {
        name: name.to_string(),
        value,
        unit: unit.clone(),
        sources: sources.0.clone(),
        note: note.clone(),
    })
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
    fn of(r: &crate::trace::SetRecord, target: Option<String>) -> Self {
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

fn origin(s: &Scenario, names: &Names, f: &FlowState) -> Origin {
    match &f.origin {
        FlowOrigin::Scenario(i) => {
            let Some(flow) = s.flows.get(*i) else {
                return Origin::Scenario {
                    at: None,
                    converted: None,
                    sources: Vec::new(),
                    note: None,
                };
            };
            let base = f.kind.base_unit(s.currency());
            Origin::Scenario {
                at: Some(s.doc_location(flow.span)),
                converted: flow
                    .unit
                    .as_ref()
                    .filter(|u| u.value != base)
                    .map(|u| (u.value.clone(), base.clone())),
                sources: flow
                    .source
                    .as_ref()
                    .map(|src| src.0.clone())
                    .unwrap_or_default(),
                note: flow.note.clone(),
            }
        }
        FlowOrigin::Rule(p) => Origin::Rule {
            rule: p.rule.to_string(),
            file: p.file.to_string(),
            line: p.line,
            note: names.opt(f.note).map(str::to_string),
        },
    }
}

fn flow_explained(
    s: &Scenario,
    eval: &Evaluation,
    step: &StepTrace,
    f: &FlowState,
) -> FlowExplained {
    let inputs = match &f.origin {
        FlowOrigin::Rule(p) => rule_inputs(s, eval, &p.rule, step.year),
        FlowOrigin::Scenario(_) => Vec::new(),
    };
    let names = &eval.trace.names;
    FlowExplained {
        id: names.name(f.id).to_string(),
        from: names.name(f.from).to_string(),
        to: names.name(f.to).to_string(),
        via: names.opt(f.via).map(str::to_string),
        amount: f.amount,
        unit: f.kind.base_unit(s.currency()),
        origin: origin(s, names, f),
        inputs,
        adjustments: step
            .adjustments
            .get(&f.id)
            .into_iter()
            .flatten()
            .map(|a| Adjusted {
                op: a.op,
                rule: a.provenance.rule.to_string(),
                file: a.provenance.file.to_string(),
                line: a.provenance.line,
                before: a.before,
                after: a.after,
            })
            .collect(),
    }
}

/// The parameters a rule declares, with this year's value and their `source:`.
fn rule_inputs(s: &Scenario, eval: &Evaluation, rule: &str, year: i32) -> Vec<ParamRead> {
    let Some(summary) = eval.outcome.scenario.rules.iter().find(|r| r.id == rule) else {
        return Vec::new();
    };
    summary
        .params
        .iter()
        .filter_map(|name| param_at(s, name, year))
        .collect()
}

fn year(year: i32, value: YearValue) -> YearExplained {
    YearExplained {
        year,
        value,
        flows: Vec::new(),
        contributions: Vec::new(),
        sets: Vec::new(),
        implied: Vec::new(),
    }
}

/// Everything behind `subject`, year by year.
pub fn explain(s: &Scenario, eval: &Evaluation, subject: &Subject) -> Explanation {
    let steps = || eval.outcome.steps.iter().zip(&eval.trace.steps);
    let names = &eval.trace.names;
    match subject {
        Subject::Param(name) => {
            let first = param_at(s, name, s.header.horizon.start.value.0);
            Explanation {
                headline: Headline::Param {
                    name: name.clone(),
                    unit: first.as_ref().and_then(|p| p.unit.clone()),
                    sources: first
                        .as_ref()
                        .map(|p| p.sources.clone())
                        .unwrap_or_default(),
                    note: first.as_ref().and_then(|p| p.note.clone()),
                    read_by: eval
                        .outcome
                        .scenario
                        .rules
                        .iter()
                        .filter(|r| r.params.contains(name))
                        .map(|r| format!("{} ({})", r.id, r.file))
                        .collect(),
                },
                years: eval
                    .outcome
                    .steps
                    .iter()
                    .map(|st| {
                        let value = param_at(s, name, st.year).and_then(|p| p.value);
                        year(st.year, YearValue::Param(value))
                    })
                    .collect(),
            }
        }
        Subject::Metric(name) => {
            let key = eval.outcome.metric_key(name);
            let grid = match key {
                MetricKey::Power { region, .. } => grid_assets(s, region),
                _ => Vec::new(),
            };
            let headline = match key {
                MetricKey::Flow {
                    kind,
                    direction,
                    entity,
                } => Headline::FlowMetric {
                    name: name.clone(),
                    kind,
                    direction,
                    entity: entity.to_string(),
                },
                MetricKey::Power { .. } => Headline::PowerMetric {
                    name: name.clone(),
                    grid: grid.clone(),
                },
                MetricKey::Rule(_) => Headline::RuleMetric { name: name.clone() },
            };
            let years = steps()
                .map(|(st, step)| {
                    let mut y = year(
                        st.year,
                        YearValue::Metric(st.metrics.get(name).copied().unwrap_or(0.0)),
                    );
                    if let MetricKey::Flow {
                        kind,
                        direction,
                        entity,
                    } = key
                    {
                        y.flows = step
                            .flows
                            .iter()
                            .filter(|f| f.kind == kind && f.amount != 0.0)
                            .filter(|f| match direction {
                                Direction::In => names.name(f.to) == entity,
                                Direction::Out => names.name(f.from) == entity,
                            })
                            .map(|f| flow_explained(s, eval, step, f))
                            .collect();
                    }
                    if let MetricKey::Power { measure, region } = key {
                        power_sources(s, eval, step, (measure, region), &grid, &mut y);
                    }
                    y.contributions = contributions(s, eval, step, name, st.year, true);
                    y
                })
                .collect();
            Explanation { headline, years }
        }
        Subject::Flow(id) => Explanation {
            headline: Headline::Flow { id: id.clone() },
            years: eval
                .trace
                .steps
                .iter()
                .map(
                    |step| match step.flows.iter().find(|f| names.name(f.id) == id) {
                        Some(f) => {
                            let mut y = year(step.year, YearValue::Flow(true));
                            y.flows.push(flow_explained(s, eval, step, f));
                            y
                        }
                        None => year(step.year, YearValue::Flow(false)),
                    },
                )
                .collect(),
        },
        Subject::Entity(id) => Explanation {
            headline: Headline::Entity {
                id: id.clone(),
                actor: s.actor(id).is_some(),
            },
            years: steps()
                .map(|(st, step)| {
                    let totals = st.ledger.get(id).map(|entry| {
                        [FlowKind::Funding, FlowKind::Compute, FlowKind::Power]
                            .into_iter()
                            .map(|k| (k, entry.total_in(k.as_str()), entry.total_out(k.as_str())))
                            .filter(|(_, i, o)| *i != 0.0 || *o != 0.0)
                            .collect()
                    });
                    let mut y = year(st.year, YearValue::Ledger(totals));
                    y.flows = step
                        .flows
                        .iter()
                        .filter(|f| {
                            (names.name(f.from) == id || names.name(f.to) == id) && f.amount != 0.0
                        })
                        .map(|f| flow_explained(s, eval, step, f))
                        .collect();
                    y
                })
                .collect(),
        },
        Subject::Attr(id, attr) => attr_explanation(s, eval, id, attr),
        Subject::Rule(id) => rule_explanation(s, eval, id),
        Subject::Project(id) => project_explanation(s, eval, id),
    }
}

/// A project: its roles and targets as the outcome has them, and per year the flows
/// tagged with it and the value of each target metric.
fn project_explanation(s: &Scenario, eval: &Evaluation, id: &str) -> Explanation {
    let outcome = &eval.outcome;
    let targets: Vec<_> = outcome
        .analyses
        .targets
        .iter()
        .filter(|t| t.project == id)
        .cloned()
        .collect();
    let roles = outcome
        .roles
        .iter()
        .find(|r| r.project == id)
        .cloned()
        .unwrap_or_else(|| crate::outcome::ProjectRoles {
            project: id.to_string(),
            title: None,
            goal: None,
            why: None,
            participants: Vec::new(),
            checks: Vec::new(),
        });
    let names = &eval.trace.names;
    let years = outcome
        .steps
        .iter()
        .zip(&eval.trace.steps)
        .map(|(st, step)| {
            let value = YearValue::Project {
                targets: targets
                    .iter()
                    .map(|t| {
                        let value = st.metrics.get(&t.metric).copied();
                        let v = value.unwrap_or(0.0);
                        TargetYear {
                            metric: t.metric.clone(),
                            value,
                            holds: t.at_least.is_none_or(|lo| v >= lo)
                                && t.at_most.is_none_or(|hi| v <= hi),
                            due: t.by == st.year,
                        }
                    })
                    .collect(),
            };
            let mut y = year(st.year, value);
            y.flows = step
                .flows
                .iter()
                .filter(|f| f.amount != 0.0 && names.opt(f.project) == Some(id))
                .map(|f| flow_explained(s, eval, step, f))
                .collect();
            y
        })
        .collect();
    Explanation {
        headline: Headline::Project {
            roles: Box::new(roles),
            targets,
            currency: s.currency().to_string(),
        },
        years,
    }
}

/// What a rule did each year: the flows it made or adjusted, its metric calls by
/// metric and call site, and its `ctx.set`s.
fn rule_explanation(s: &Scenario, eval: &Evaluation, id: &str) -> Explanation {
    let summary = eval.outcome.scenario.rules.iter().find(|r| r.id == id);
    let headline = Headline::Rule {
        id: id.to_string(),
        title: summary.and_then(|r| r.title.clone()),
        kind: summary.map(|r| r.kind.clone()).unwrap_or_default(),
        file: summary.map(|r| r.file.clone()).unwrap_or_default(),
        params: summary.map(|r| r.params.clone()).unwrap_or_default(),
    };
    let years = eval
        .trace
        .steps
        .iter()
        .map(|step| {
            let made_here =
                |f: &FlowState| matches!(&f.origin, FlowOrigin::Rule(p) if &*p.rule == id);
            let adjusted_here = |f: &FlowState| {
                step.adjustments
                    .get(&f.id)
                    .is_some_and(|list| list.iter().any(|a| &*a.provenance.rule == id))
            };
            let made = step.flows.iter().filter(|f| made_here(f)).count();
            let adjusted = step.flows.iter().filter(|f| adjusted_here(f)).count();
            let mut y = year(step.year, YearValue::Rule { made, adjusted });
            y.flows = step
                .flows
                .iter()
                .filter(|f| made_here(f) || adjusted_here(f))
                .map(|f| FlowExplained {
                    // The headline names what the rule reads, once.
                    inputs: Vec::new(),
                    ..flow_explained(s, eval, step, f)
                })
                .collect();
            for name in step.metrics.keys() {
                y.contributions.extend(
                    contributions(s, eval, step, name, step.year, false)
                        .into_iter()
                        .filter(|c| c.rule == id)
                        .map(|c| Contribution {
                            metric: Some(name.clone()),
                            inputs: Vec::new(),
                            ..c
                        }),
                );
            }
            y.sets = step
                .sets
                .iter()
                .filter(|r| &*r.provenance.rule == id)
                .map(|r| SetExplained::of(r, Some(format!("{}.{}", r.id, r.attr))))
                .collect();
            y
        })
        .collect();
    Explanation { headline, years }
}

/// The `grid_region` assets of `region`, by id.
fn grid_assets(s: &Scenario, region: &str) -> Vec<String> {
    s.assets
        .iter()
        .filter(|a| a.kind.value == "grid_region")
        .filter(|a| a.region.as_ref().is_some_and(|r| r.value == region))
        .map(|a| a.id.value.clone())
        .collect()
}

/// What a power metric of `region` is made of in a step: the power flows into its
/// assets and actors and the GPU clusters the analysis estimated (demand, as the power
/// analysis counts it: not into the grid itself), and the rules' `ctx.set` of its
/// `grid` assets' capacity (capacity).
fn power_sources(
    s: &Scenario,
    eval: &Evaluation,
    step: &StepTrace,
    (measure, region): (PowerMeasure, &str),
    grid: &[String],
    y: &mut YearExplained,
) {
    let names = &eval.trace.names;
    let in_region = |id: &str| match (s.asset(id), s.actor(id)) {
        (Some(a), _) => {
            a.kind.value != "grid_region" && a.region.as_ref().is_some_and(|r| r.value == region)
        }
        (None, Some(a)) => a.region.as_ref().is_some_and(|r| r.value == region),
        (None, None) => false,
    };
    if measure != PowerMeasure::Capacity {
        y.flows = step
            .flows
            .iter()
            .filter(|f| f.kind == FlowKind::Power && f.amount != 0.0 && in_region(names.name(f.to)))
            .map(|f| flow_explained(s, eval, step, f))
            .collect();
        y.implied = eval
            .trace
            .implied_power
            .iter()
            .filter(|p| p.year == step.year && p.region == region)
            .cloned()
            .collect();
    }
    if measure != PowerMeasure::Demand {
        let capacity = format!("{}mw", crate::materialize::CAPACITY_PREFIX);
        y.sets = step
            .sets
            .iter()
            .filter(|r| grid.contains(&r.id) && r.attr == capacity)
            .map(|r| SetExplained::of(r, None))
            .collect();
    }
}

/// A rule metric's contributions in a year, one per call site.
fn contributions(
    s: &Scenario,
    eval: &Evaluation,
    step: &StepTrace,
    name: &str,
    year: i32,
    with_entities: bool,
) -> Vec<Contribution> {
    let Some(calls) = step.metrics.get(name) else {
        return Vec::new();
    };
    // Per call site: the sum, the calls, and (with entities traced) each entity's
    // share, found by id.
    #[derive(Default)]
    struct Site {
        sum: f64,
        calls: usize,
        entities: Vec<EntityContribution>,
        index: std::collections::HashMap<String, usize>,
    }
    let mut by_site: BTreeMap<(String, String, u32), Site> = BTreeMap::new();
    for c in calls {
        let site = by_site
            .entry((
                c.provenance.rule.to_string(),
                c.provenance.file.to_string(),
                c.provenance.line,
            ))
            .or_default();
        site.sum += c.value;
        site.calls += c.calls;
        let Some(used) = c.entity.as_ref().filter(|_| with_entities) else {
            continue;
        };
        match site.index.get(&used.id) {
            Some(&k) => {
                if let Some(x) = site.entities.get_mut(k) {
                    x.sum += c.value;
                    x.calls += c.calls;
                }
            }
            None => {
                site.index.insert(used.id.clone(), site.entities.len());
                site.entities.push(EntityContribution {
                    id: used.id.clone(),
                    sum: c.value,
                    calls: c.calls,
                    values: used.values.clone(),
                });
            }
        }
    }
    by_site
        .into_iter()
        .map(|((rule, file, line), site)| {
            let mut entities = site.entities;
            // The largest shares first (ties by id); a national selection is cut.
            entities.sort_by(|a, b| b.sum.abs().total_cmp(&a.sum.abs()).then(a.id.cmp(&b.id)));
            let entities_more = entities.len().saturating_sub(MAX_ENTITIES_SHOWN);
            entities.truncate(MAX_ENTITIES_SHOWN);
            Contribution {
                metric: None,
                inputs: rule_inputs(s, eval, &rule, year),
                rule,
                file,
                line,
                sum: site.sum,
                calls: site.calls,
                entities,
                entities_more,
            }
        })
        .collect()
}

/// How many entities a contribution lists (the largest shares).
const MAX_ENTITIES_SHOWN: usize = 25;

fn attr_explanation(s: &Scenario, eval: &Evaluation, id: &str, attr: &str) -> Explanation {
    let written = s
        .actor(id)
        .and_then(|a| a.attrs.get(attr).map(|v| (v.clone(), a.source.clone())))
        .or_else(|| {
            s.asset(id).and_then(|a| {
                let attribute = a.attrs.get(attr).cloned();
                // `capacity.<name>` is the asset's capacity, the attribute `ctx.set`
                // changes for good.
                let capacity = || {
                    let name = attr.strip_prefix(crate::materialize::CAPACITY_PREFIX)?;
                    let c = a.capacity.get(name)?;
                    Some(gil_model::Spanned::new(
                        c.span,
                        gil_model::AttrValue::Number(c.value.clone()),
                    ))
                };
                attribute.or_else(capacity).map(|v| (v, a.source.clone()))
            })
        });
    let headline = Headline::Attr {
        id: id.to_string(),
        attr: attr.to_string(),
        written: written.as_ref().map(|(value, source)| {
            (
                s.doc_location(value.span),
                source
                    .as_ref()
                    .filter(|x| !x.is_empty())
                    .map(|x| x.0.clone())
                    .unwrap_or_default(),
            )
        }),
    };
    let mut current: Option<AttrVal> = None;
    let years = eval
        .trace
        .steps
        .iter()
        .map(|step| {
            let base = written
                .as_ref()
                .and_then(|(v, _)| crate::materialize::attr_at(&v.value, step.year));
            let start = current.clone().or(base);
            let mut y = year(step.year, YearValue::Attr(start));
            for r in step.sets.iter().filter(|r| r.id == id && r.attr == attr) {
                y.sets.push(SetExplained::of(r, None));
                current = Some(r.after.clone());
            }
            y
        })
        .collect();
    Explanation { headline, years }
}
