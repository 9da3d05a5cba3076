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
}

/// What explain was asked about names nothing in the outcome.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("`{target}` is not a metric, flow id, actor, asset or parameter in this outcome{}", hint.as_ref().map(|h| format!(" (did you mean `{h}`?)")).unwrap_or_default())]
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
    if s.parameters.contains_key(target) {
        return Ok(Subject::Param(target.to_string()));
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

/// A parameter a rule declares, with its value in the year and where it comes from.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ParamRead {
    pub name: String,
    pub value: Option<f64>,
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
    pub rule: String,
    pub file: String,
    pub line: u32,
    pub sum: f64,
    pub calls: usize,
    pub inputs: Vec<ParamRead>,
}

/// A rule's `ctx.set` of the attribute.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SetExplained {
    pub value: AttrVal,
    pub rule: String,
    pub file: String,
    pub line: u32,
    pub on: EntityKind,
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
    Param(Option<f64>),
}

/// One year of an explanation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct YearExplained {
    pub year: i32,
    pub value: YearValue,
    pub flows: Vec<FlowExplained>,
    pub contributions: Vec<Contribution>,
    pub sets: Vec<SetExplained>,
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
        .filter_map(|name| {
            let p = s.parameters.get(name)?;
            Some(ParamRead {
                name: name.clone(),
                value: p.value.value.at(year),
                unit: p.unit.clone(),
                sources: p.source.0.clone(),
                note: p.note.clone(),
            })
        })
        .collect()
}

fn year(year: i32, value: YearValue) -> YearExplained {
    YearExplained {
        year,
        value,
        flows: Vec::new(),
        contributions: Vec::new(),
        sets: Vec::new(),
    }
}

/// Everything behind `subject`, year by year.
pub fn explain(s: &Scenario, eval: &Evaluation, subject: &Subject) -> Explanation {
    let steps = || eval.outcome.steps.iter().zip(&eval.trace.steps);
    let names = &eval.trace.names;
    match subject {
        Subject::Param(name) => {
            let param = s.parameters.get(name);
            Explanation {
                headline: Headline::Param {
                    name: name.clone(),
                    unit: param.and_then(|p| p.unit.clone()),
                    sources: param.map(|p| p.source.0.clone()).unwrap_or_default(),
                    note: param.and_then(|p| p.note.clone()),
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
                        year(
                            st.year,
                            YearValue::Param(param.and_then(|p| p.value.value.at(st.year))),
                        )
                    })
                    .collect(),
            }
        }
        Subject::Metric(name) => {
            let key = eval.outcome.metric_key(name);
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
                MetricKey::Power { region, .. } => Headline::PowerMetric {
                    name: name.clone(),
                    grid: grid_assets(s, region),
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
                        power_sources(s, eval, step, measure, region, &mut y);
                    }
                    y.contributions = contributions(s, eval, step, name, st.year);
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
    }
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
/// assets and actors (demand, as the power analysis counts it: not into the grid
/// itself), and the rules' `ctx.set` of its grid capacity (capacity).
fn power_sources(
    s: &Scenario,
    eval: &Evaluation,
    step: &StepTrace,
    measure: PowerMeasure,
    region: &str,
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
    }
    if measure != PowerMeasure::Demand {
        let grid = grid_assets(s, region);
        let capacity = format!("{}mw", crate::materialize::CAPACITY_PREFIX);
        y.sets = step
            .sets
            .iter()
            .filter(|r| grid.contains(&r.id) && r.attr == capacity)
            .map(|r| SetExplained {
                value: r.after.clone(),
                rule: r.provenance.rule.to_string(),
                file: r.provenance.file.to_string(),
                line: r.provenance.line,
                on: r.entity,
            })
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
) -> Vec<Contribution> {
    let Some(calls) = step.metrics.get(name) else {
        return Vec::new();
    };
    let mut by_site: BTreeMap<(String, String, u32), (f64, usize)> = BTreeMap::new();
    for c in calls {
        let e = by_site
            .entry((
                c.provenance.rule.to_string(),
                c.provenance.file.to_string(),
                c.provenance.line,
            ))
            .or_insert((0.0, 0));
        e.0 += c.value;
        e.1 += c.calls;
    }
    by_site
        .into_iter()
        .map(|((rule, file, line), (sum, calls))| Contribution {
            inputs: rule_inputs(s, eval, &rule, year),
            rule,
            file,
            line,
            sum,
            calls,
        })
        .collect()
}

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
                y.sets.push(SetExplained {
                    value: r.after.clone(),
                    rule: r.provenance.rule.to_string(),
                    file: r.provenance.file.to_string(),
                    line: r.provenance.line,
                    on: r.entity,
                });
                current = Some(r.after.clone());
            }
            y
        })
        .collect();
    Explanation { headline, years }
}
