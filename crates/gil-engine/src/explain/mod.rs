//! `gil explain`: a value per step and the chain of effects and sources behind it, as
//! a typed [`Explanation`]; gil-report words it for an analyst.
//!
//! `types.rs` holds the explanation's types, `sources.rs` where a number comes from
//! (a flow's origin, a rule's inputs and metric calls, a region's power), and
//! `subjects.rs` the explanations of a rule, a project and an attribute; the metric,
//! flow, entity and parameter ones are short enough to stay here.

mod sources;
mod subjects;
mod types;

pub use types::*;

use gil_model::metric::{Direction, MetricKey};
use gil_model::{FlowKind, Scenario};

use crate::Evaluation;
use sources::{contributions, flow_explained, grid_assets, param_at, power_sources};
use subjects::{attr_explanation, project_explanation, rule_explanation};
use types::year;

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
