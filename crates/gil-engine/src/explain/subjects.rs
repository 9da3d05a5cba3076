//! The explanations of a project, a rule and an attribute, year by year.

use gil_model::Scenario;
use gil_rules::{AttrVal, FlowState};

use super::sources::{contributions, flow_explained};
use super::types::*;
use crate::Evaluation;

/// A project: its roles and targets as the outcome has them, and per year the flows
/// tagged with it and the value of each target metric.
pub(super) fn project_explanation(s: &Scenario, eval: &Evaluation, id: &str) -> Explanation {
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
                        TargetYear {
                            metric: t.metric.clone(),
                            value,
                            holds: t.holds(value.unwrap_or(0.0)),
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
pub(super) fn rule_explanation(s: &Scenario, eval: &Evaluation, id: &str) -> Explanation {
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
            let names = &eval.trace.names;
            let made_here = |f: &FlowState| f.origin.site(names).is_some_and(|p| &*p.rule == id);
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

pub(super) fn attr_explanation(
    s: &Scenario,
    eval: &Evaluation,
    id: &str,
    attr: &str,
) -> Explanation {
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
