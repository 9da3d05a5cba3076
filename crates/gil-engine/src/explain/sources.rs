//! Where an explained number comes from: a flow's origin and adjustments, the
//! parameters a rule reads, a rule metric's calls per site and entity, and what makes
//! a region's power demand and capacity.

use std::collections::BTreeMap;

use gil_model::metric::PowerMeasure;
use gil_model::{FlowKind, Scenario};
use gil_rules::{FlowOrigin, FlowState, Names};

use super::types::*;
use crate::trace::StepTrace;
use crate::Evaluation;

/// A parameter's value in `year` as the scenario writes it, and its unit, sources
/// and note; `None` when the scenario has no such parameter.
pub(super) fn param_at(s: &Scenario, name: &str, year: i32) -> Option<ParamRead> {
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

fn origin(s: &Scenario, names: &Names, f: &FlowState) -> Origin {
    match f.origin.of(names) {
        None => Origin::Scenario {
            at: None,
            converted: None,
            sources: Vec::new(),
            note: None,
        },
        Some(FlowOrigin::Scenario(i)) => {
            let Some(flow) = s.flows.get(i) else {
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
        Some(FlowOrigin::Rule(p)) => Origin::Rule {
            rule: p.rule.to_string(),
            file: p.file.to_string(),
            line: p.line,
            note: names.opt(f.note).map(str::to_string),
        },
    }
}

pub(super) fn flow_explained(
    s: &Scenario,
    eval: &Evaluation,
    step: &StepTrace,
    f: &FlowState,
) -> FlowExplained {
    let names = &eval.trace.names;
    let inputs = match f.origin.site(names) {
        Some(p) => rule_inputs(s, eval, &p.rule, step.year),
        None => Vec::new(),
    };
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

/// The `grid_region` assets of `region`, by id.
pub(super) fn grid_assets(s: &Scenario, region: &str) -> Vec<String> {
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
pub(super) fn power_sources(
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

/// A rule metric's contributions in a year, one per call site; `detailed` adds each
/// site's parameters and entities (a metric's explanation; a rule's names its
/// parameters once, in its headline).
pub(super) fn contributions(
    s: &Scenario,
    eval: &Evaluation,
    step: &StepTrace,
    name: &str,
    year: i32,
    detailed: bool,
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
        let Some(used) = c.entity.as_ref().filter(|_| detailed) else {
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
                inputs: if detailed {
                    rule_inputs(s, eval, &rule, year)
                } else {
                    Vec::new()
                },
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
