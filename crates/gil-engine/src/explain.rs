//! `gil explain`: a value per step and the chain of effects and sources behind it,
//! worded for an analyst.

use std::fmt::Write;

use gil_model::Scenario;
use gil_rules::{AdjustOp, AttrVal, EntityKind, FlowOrigin, FlowState};

use crate::analysis::number;
use crate::trace::StepTrace;
use crate::Evaluation;

/// What `explain` was asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Metric(String),
    Flow(String),
    Entity(String),
    Attr(String, String),
}

/// What explain was asked about names nothing in the outcome.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("`{target}` is not a metric, flow id, actor or asset in this outcome{}", hint.as_ref().map(|h| format!(" (did you mean `{h}`?)")).unwrap_or_default())]
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
            .flat_map(|st| st.flows.iter().map(|f| f.id.as_str()))
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
    let mut candidates: Vec<String> = eval
        .outcome
        .steps
        .iter()
        .flat_map(|st| st.metrics.keys().cloned())
        .collect();
    candidates.extend(s.actors.iter().map(|a| a.id.value.clone()));
    candidates.extend(s.assets.iter().map(|a| a.id.value.clone()));
    candidates.extend(flow_ids().map(String::from));
    candidates.sort();
    candidates.dedup();
    Err(UnknownSubject {
        target: target.to_string(),
        hint: gil_model::diag::did_you_mean(target, candidates.iter().map(String::as_str))
            .map(str::to_string),
    })
}

fn origin_text(s: &Scenario, f: &FlowState) -> String {
    match &f.origin {
        FlowOrigin::Scenario(i) => {
            let Some(flow) = s.flows.get(*i) else {
                return "written in the scenario".into();
            };
            let mut text = format!("written in the scenario at {}", s.doc_location(flow.span));
            if let Some(unit) = flow
                .unit
                .as_ref()
                .filter(|u| u.value != f.kind.base_unit(s.currency()))
            {
                let _ = write!(
                    text,
                    ", in {} converted to {}",
                    unit.value,
                    f.kind.base_unit(s.currency())
                );
            }
            if let Some(src) = flow.source.as_ref().filter(|s| !s.is_empty()) {
                let _ = write!(text, "; source: {}", src.0.join("; "));
            }
            if let Some(note) = &flow.note {
                let _ = write!(text, "; note: {note}");
            }
            text
        }
        FlowOrigin::Rule(p) => {
            let mut text = format!("created by rule `{}` at {}:{}", p.rule, p.file, p.line);
            if let Some(note) = &f.note {
                let _ = write!(text, " (\"{note}\")");
            }
            text
        }
    }
}

fn adjustments_text(step: &StepTrace, flow: &str, out: &mut String) {
    for a in step.adjustments.get(flow).into_iter().flatten() {
        let op = match a.op {
            AdjustOp::Scale(x) => format!("scaled by {x}"),
            AdjustOp::Add(x) => format!("increased by {}", number(x)),
            AdjustOp::Set(x) => format!("set to {}", number(x)),
        };
        let _ = writeln!(
            out,
            "        then {op} by rule `{}` at {}:{} ({} → {})",
            a.provenance.rule,
            a.provenance.file,
            a.provenance.line,
            number(a.before),
            number(a.after)
        );
    }
}

fn flow_line(s: &Scenario, eval: &Evaluation, step: &StepTrace, f: &FlowState, out: &mut String) {
    let via = f
        .via
        .as_deref()
        .map(|v| format!(" ({v})"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "      {} {} → {}{via}: {} {}",
        f.id,
        f.from,
        f.to,
        number(f.amount),
        f.kind.base_unit(s.currency())
    );
    let _ = writeln!(out, "        {}", origin_text(s, f));
    if let FlowOrigin::Rule(p) = &f.origin {
        rule_inputs(s, eval, &p.rule, step.year, out);
    }
    adjustments_text(step, &f.id, out);
}

/// The parameters a rule declares, with this year's value and their `source:`.
fn rule_inputs(s: &Scenario, eval: &Evaluation, rule: &str, year: i32, out: &mut String) {
    let Some(summary) = eval.outcome.scenario.rules.iter().find(|r| r.id == rule) else {
        return;
    };
    for name in &summary.params {
        let Some(p) = s.parameters.get(name) else {
            continue;
        };
        let value = p
            .value
            .value
            .at(year)
            .map(number)
            .unwrap_or_else(|| "no value".into());
        let mut line = format!("          reads {name} = {value}");
        if let Some(unit) = &p.unit {
            let _ = write!(line, " {unit}");
        }
        if !p.source.is_empty() {
            let _ = write!(line, "; source: {}", p.source.0.join("; "));
        } else if let Some(note) = &p.note {
            let _ = write!(line, "; note: {note}");
        } else {
            line.push_str("; no source given");
        }
        let _ = writeln!(out, "{line}");
    }
}

/// The explanation as text.
pub fn explain(s: &Scenario, eval: &Evaluation, subject: &Subject) -> String {
    let mut out = String::new();
    match subject {
        Subject::Metric(name) => {
            use gil_model::metric::{Direction, MetricKey};
            let key = eval.outcome.metric_key(name);
            let builtin = match key {
                MetricKey::Flow {
                    kind,
                    direction,
                    entity,
                } => Some((kind.as_str(), direction, entity)),
                _ => None,
            };
            match key {
                MetricKey::Flow {
                    kind,
                    direction,
                    entity,
                } => {
                    let _ = writeln!(
                        out,
                        "`{name}` is built in: the {} flows {} `{entity}` in each step, after rules.",
                        kind.as_str(),
                        if direction == Direction::In { "into" } else { "out of" }
                    );
                }
                MetricKey::Power { .. } => {
                    let _ = writeln!(out, "`{name}` is built in by the power analysis (demand: power flows into the region's assets and actors; capacity: its grid_region assets).");
                }
                MetricKey::Rule(_) => {
                    let _ = writeln!(out, "`{name}` is a rule metric: the sum of every `ctx.metric(\"{name}\", …)` call in a step.");
                }
            }
            for (st, step) in eval.outcome.steps.iter().zip(&eval.trace.steps) {
                let value = st.metrics.get(name).copied().unwrap_or(0.0);
                let _ = writeln!(out, "  {}: {}", st.year, number(value));
                if let Some((kind, dir, id)) = builtin {
                    for f in step
                        .flows
                        .iter()
                        .filter(|f| f.kind.as_str() == kind && f.amount != 0.0)
                    {
                        let touches = if dir == Direction::In {
                            f.to == id
                        } else {
                            f.from == id
                        };
                        if touches {
                            flow_line(s, eval, step, f, &mut out);
                        }
                    }
                }
                if let Some(contributions) = step.metrics.get(name) {
                    // One line per call site, with the sum and count of its calls.
                    let mut by_site: std::collections::BTreeMap<
                        (String, String, u32),
                        (f64, usize),
                    > = Default::default();
                    for c in contributions {
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
                    for ((rule, file, line), (sum, count)) in by_site {
                        let _ = writeln!(
                            out,
                            "      {} from rule `{rule}` at {file}:{line} ({count} call{})",
                            number(sum),
                            if count == 1 { "" } else { "s" }
                        );
                        rule_inputs(s, eval, &rule, st.year, &mut out);
                    }
                }
            }
        }
        Subject::Flow(id) => {
            let _ = writeln!(out, "Flow `{id}`:");
            for step in &eval.trace.steps {
                match step.flows.iter().find(|f| &f.id == id) {
                    Some(f) => {
                        let _ = writeln!(out, "  {}:", step.year);
                        flow_line(s, eval, step, f, &mut out);
                    }
                    None => {
                        let _ = writeln!(out, "  {}: no such flow in this step", step.year);
                    }
                }
            }
        }
        Subject::Entity(id) => {
            let what = if s.actor(id).is_some() {
                "Actor"
            } else {
                "Asset"
            };
            let _ = writeln!(
                out,
                "{what} `{id}`: what flows in and out each step, and why."
            );
            for (st, step) in eval.outcome.steps.iter().zip(&eval.trace.steps) {
                let _ = write!(out, "  {}:", st.year);
                match st.ledger.get(id) {
                    Some(entry) => {
                        for kind in gil_model::FlowKind::NAMES {
                            let (i, o) = (entry.total_in(kind), entry.total_out(kind));
                            if i != 0.0 || o != 0.0 {
                                let _ =
                                    write!(out, " {kind} in {} / out {};", number(i), number(o));
                            }
                        }
                        let _ = writeln!(out);
                    }
                    None => {
                        let _ = writeln!(out, " no flows");
                    }
                }
                for f in step
                    .flows
                    .iter()
                    .filter(|f| (f.from == *id || f.to == *id) && f.amount != 0.0)
                {
                    flow_line(s, eval, step, f, &mut out);
                }
            }
        }
        Subject::Attr(id, attr) => {
            let _ = writeln!(out, "Attribute `{attr}` of `{id}`:");
            let written = s
                .actor(id)
                .and_then(|a| a.attrs.get(attr).map(|v| (v.clone(), a.source.clone())))
                .or_else(|| {
                    s.asset(id)
                        .and_then(|a| a.attrs.get(attr).map(|v| (v.clone(), a.source.clone())))
                });
            if let Some((value, source)) = &written {
                let _ = write!(
                    out,
                    "  written in the scenario at {}",
                    s.doc_location(value.span)
                );
                if let Some(src) = source.as_ref().filter(|x| !x.is_empty()) {
                    let _ = write!(out, "; source: {}", src.0.join("; "));
                }
                let _ = writeln!(out);
            }
            let mut current: Option<AttrVal> = None;
            for step in &eval.trace.steps {
                let base = written
                    .as_ref()
                    .and_then(|(v, _)| crate::materialize::attr_at(&v.value, step.year));
                let sets: Vec<_> = step
                    .sets
                    .iter()
                    .filter(|r| r.id == *id && r.attr == *attr)
                    .collect();
                let start = current.clone().or(base);
                let _ = writeln!(out, "  {}: {}", step.year, attr_text(start.as_ref()));
                for r in &sets {
                    let kind = if r.entity == EntityKind::Actor {
                        "actor"
                    } else {
                        "asset"
                    };
                    let _ = writeln!(
                        out,
                        "      set to {} by rule `{}` at {}:{} (on the {kind}; holds from {} on)",
                        attr_text(Some(&r.after)),
                        r.provenance.rule,
                        r.provenance.file,
                        r.provenance.line,
                        step.year
                    );
                    current = Some(r.after.clone());
                }
            }
        }
    }
    out
}

fn attr_text(v: Option<&AttrVal>) -> String {
    match v {
        None => "not set".into(),
        Some(AttrVal::Num(n)) => number(*n),
        Some(AttrVal::Text(t)) => format!("\"{t}\""),
        Some(AttrVal::Bool(b)) => b.to_string(),
    }
}
