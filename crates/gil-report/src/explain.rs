//! `gil explain` worded for an analyst: the typed explanation gil-engine builds, as the
//! lines a terminal shows.

use std::fmt::Write;

use gil_engine::explain::{
    Adjusted, Contribution, Explanation, FlowExplained, Headline, Origin, ParamRead, ParamShown,
    TargetYear, YearValue,
};
use gil_engine::number;

use crate::text::{count, roles_text, target_range};
use gil_model::metric::Direction;
use gil_rules::{AdjustOp, AttrVal, EntityKind};

/// The explanation as text.
pub fn explain_text(e: &Explanation) -> String {
    let mut out = String::new();
    headline(&mut out, &e.headline);
    for y in &e.years {
        match &y.value {
            YearValue::Metric(v) => {
                let _ = writeln!(out, "  {}: {}", y.year, number(*v));
            }
            YearValue::Flow(true) => {
                let _ = writeln!(out, "  {}:", y.year);
            }
            YearValue::Flow(false) => {
                let _ = writeln!(out, "  {}: no such flow in this step", y.year);
            }
            YearValue::Ledger(None) => {
                let _ = writeln!(out, "  {}: no flows", y.year);
            }
            YearValue::Ledger(Some(totals)) => {
                let _ = write!(out, "  {}:", y.year);
                for (kind, i, o) in totals {
                    let _ = write!(
                        out,
                        " {} in {} / out {};",
                        kind.as_str(),
                        number(*i),
                        number(*o)
                    );
                }
                let _ = writeln!(out);
            }
            YearValue::Attr(v) => {
                let _ = writeln!(out, "  {}: {}", y.year, attr_text(v.as_ref()));
            }
            YearValue::Param(v) => {
                let shown = v.as_ref().map_or("no value".to_string(), param_text);
                let _ = writeln!(out, "  {}: {shown}", y.year);
            }
            YearValue::Rule { made, adjusted } => {
                let _ = writeln!(
                    out,
                    "  {}: made {}, adjusted {}",
                    y.year,
                    count(*made, "flow", "flows"),
                    count(*adjusted, "flow", "flows")
                );
            }
            YearValue::Project { targets } => {
                let _ = writeln!(out, "  {}:{}", y.year, year_targets(targets));
                if !y.flows.is_empty() {
                    let _ = writeln!(out, "    the project's flows:");
                }
            }
        }
        for f in &y.flows {
            flow(&mut out, f);
        }
        for p in &y.implied {
            let _ = writeln!(
                out,
                "      {}: no power flow, so estimated as {} GPUs × {} kW × PUE {} = {} MW",
                p.cluster,
                number(p.gpus),
                number(p.kw_per_gpu),
                number(p.pue),
                number(p.mw)
            );
        }
        for c in &y.contributions {
            contribution(&mut out, c);
        }
        for set in &y.sets {
            let on = match set.on {
                EntityKind::Actor => "actor",
                EntityKind::Asset => "asset",
            };
            let target = set
                .target
                .as_ref()
                .map(|t| format!("`{t}` "))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "      {target}set to {} by rule `{}` at {}:{} (on the {on}; holds from {} on)",
                attr_text(Some(&set.value)),
                set.rule,
                set.file,
                set.line,
                y.year
            );
        }
    }
    out
}

fn headline(out: &mut String, h: &Headline) {
    let _ = match h {
        Headline::FlowMetric {
            name,
            kind,
            direction,
            entity,
        } => writeln!(
            out,
            "`{name}` is built in: the {} flows {} `{entity}` in each step, after rules.",
            kind.as_str(),
            match direction {
                Direction::In => "into",
                Direction::Out => "out of",
            }
        ),
        Headline::PowerMetric { name, grid } => {
            let _ = writeln!(
                out,
                "`{name}` is built in by the power analysis (demand: power flows into the region's assets and actors, and GPU clusters with no power flow estimated as GPUs × gpu.kw_per_gpu × power.pue; capacity: its grid_region assets)."
            );
            if grid.is_empty() {
                writeln!(out, "  the region has no grid_region asset")
            } else {
                writeln!(out, "  grid: {}", grid.join(", "))
            }
        }
        Headline::RuleMetric { name } => writeln!(
            out,
            "`{name}` is a rule metric: the sum of every `ctx.metric(\"{name}\", …)` call in a step."
        ),
        Headline::Flow { id } => writeln!(out, "Flow `{id}`:"),
        Headline::Entity { id, actor } => writeln!(
            out,
            "{} `{id}`: what flows in and out each step, and why.",
            if *actor { "Actor" } else { "Asset" }
        ),
        Headline::Param {
            name,
            unit,
            sources,
            note,
            read_by,
        } => {
            let _ = write!(out, "Parameter `{name}`");
            if let Some(unit) = unit {
                let _ = write!(out, " ({unit})");
            }
            let _ = writeln!(out, ", as the scenario writes it:");
            if !sources.is_empty() {
                let _ = writeln!(out, "  source: {}", sources.join("; "));
            }
            if let Some(note) = note {
                let _ = writeln!(out, "  note: {note}");
            }
            if read_by.is_empty() {
                writeln!(out, "  read by no rule")
            } else {
                writeln!(out, "  read by: {}", read_by.join(", "))
            }
        }
        Headline::Rule {
            id,
            title,
            kind,
            file,
            params,
        } => {
            let _ = write!(out, "Rule `{id}`");
            if let Some(title) = title {
                let _ = write!(out, " ({title})");
            }
            let _ = writeln!(out, ", a {kind} rule in {file}: what it did each step.");
            if params.is_empty() {
                writeln!(out, "  reads no parameter")
            } else {
                writeln!(out, "  reads: {}", params.join(", "))
            }
        }
        Headline::Project {
            roles,
            targets,
            currency,
        } => {
            let _ = write!(
                out,
                "Project `{}`: its What / How / Why, targets and flows each step.",
                roles.project
            );
            // The roles table as `gil roles` shows it (it starts with a blank line).
            out.push_str(&roles_text(std::slice::from_ref(roles), currency, false, false));
            if targets.is_empty() {
                let _ = writeln!(out, "\n  targets: none");
            } else {
                let _ = writeln!(out, "\n  targets");
            }
            for t in targets {
                let status = match (t.met, t.first_met) {
                    (true, Some(y)) => format!("met (first in {y})"),
                    (true, None) => "met".to_string(),
                    (false, Some(y)) => format!("missed (met only in {y})"),
                    (false, None) => "missed".to_string(),
                };
                let _ = writeln!(
                    out,
                    "    {} {} by {}: {} in {}, {status}",
                    t.metric,
                    target_range(t.at_least, t.at_most),
                    t.by,
                    number(t.value_by),
                    t.by
                );
            }
            writeln!(out, "\n  by year")
        }
        Headline::Attr { id, attr, written } => {
            let _ = writeln!(out, "Attribute `{attr}` of `{id}`:");
            match written {
                Some((at, sources)) => {
                    let _ = write!(out, "  written in the scenario at {at}");
                    if !sources.is_empty() {
                        let _ = write!(out, "; source: {}", sources.join("; "));
                    }
                    writeln!(out)
                }
                None => Ok(()),
            }
        }
    };
}

fn flow(out: &mut String, f: &FlowExplained) {
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
        f.unit
    );
    let _ = writeln!(out, "        {}", origin_text(&f.origin));
    for p in &f.inputs {
        param(out, p);
    }
    for a in &f.adjustments {
        adjustment(out, a);
    }
}

fn origin_text(o: &Origin) -> String {
    match o {
        Origin::Scenario {
            at,
            converted,
            sources,
            note,
        } => {
            let Some(at) = at else {
                return "written in the scenario".into();
            };
            let mut text = format!("written in the scenario at {at}");
            if let Some((from, to)) = converted {
                let _ = write!(text, ", in {from} converted to {to}");
            }
            if !sources.is_empty() {
                let _ = write!(text, "; source: {}", sources.join("; "));
            }
            if let Some(note) = note {
                let _ = write!(text, "; note: {note}");
            }
            text
        }
        Origin::Rule {
            rule,
            file,
            line,
            note,
        } => {
            let mut text = format!("created by rule `{rule}` at {file}:{line}");
            if let Some(note) = note {
                let _ = write!(text, " (\"{note}\")");
            }
            text
        }
    }
}

fn adjustment(out: &mut String, a: &Adjusted) {
    let op = match a.op {
        AdjustOp::Scale(x) => format!("scaled by {x}"),
        AdjustOp::Add(x) => format!("increased by {}", number(x)),
        AdjustOp::Set(x) => format!("set to {}", number(x)),
    };
    let _ = writeln!(
        out,
        "        then {op} by rule `{}` at {}:{} ({} → {})",
        a.rule,
        a.file,
        a.line,
        number(a.before),
        number(a.after)
    );
}

fn contribution(out: &mut String, c: &Contribution) {
    let metric = c
        .metric
        .as_ref()
        .map(|m| format!("metric `{m}`: "))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "      {metric}{} from rule `{}` at {}:{} ({} call{})",
        number(c.sum),
        c.rule,
        c.file,
        c.line,
        c.calls,
        if c.calls == 1 { "" } else { "s" }
    );
    for p in &c.inputs {
        param(out, p);
    }
    for e in &c.entities {
        let values: Vec<String> = e
            .values
            .iter()
            .map(|(name, v)| format!("{name} {}", attr_text(Some(v))))
            .collect();
        let _ = write!(out, "          for {}: {}", e.id, number(e.sum));
        if e.calls != 1 {
            let _ = write!(out, " ({} calls)", e.calls);
        }
        if !values.is_empty() {
            let _ = write!(out, "; with {}", values.join(", "));
        }
        let _ = writeln!(out);
    }
    if c.entities_more > 0 {
        let _ = writeln!(
            out,
            "          and {} with smaller shares",
            count(c.entities_more, "entity", "entities")
        );
    }
}

fn param(out: &mut String, p: &ParamRead) {
    let value = p
        .value
        .as_ref()
        .map(param_text)
        .unwrap_or_else(|| "no value".into());
    let mut line = format!("          reads {} = {value}", p.name);
    if let Some(unit) = &p.unit {
        let _ = write!(line, " {unit}");
    }
    if !p.sources.is_empty() {
        let _ = write!(line, "; source: {}", p.sources.join("; "));
    } else if let Some(note) = &p.note {
        let _ = write!(line, "; note: {note}");
    } else {
        line.push_str("; no source given");
    }
    let _ = writeln!(out, "{line}");
}

/// A project's year: each target metric's value, `(holds)` or `(not yet)`, and `due`
/// in the target's `by` year.
fn year_targets(targets: &[TargetYear]) -> String {
    let mut text = String::new();
    for t in targets {
        let value = t.value.map_or("not produced".to_string(), number);
        let verdict = match (t.holds, t.due) {
            (true, true) => "holds, due this year",
            (true, false) => "holds",
            (false, true) => "does not hold, due this year",
            (false, false) => "does not hold",
        };
        let _ = write!(text, " {} = {value} ({verdict});", t.metric);
    }
    if text.is_empty() {
        " no targets".into()
    } else {
        text.pop();
        text
    }
}

fn param_text(v: &ParamShown) -> String {
    match v {
        ParamShown::Number(n) => number(*n),
        ParamShown::Text(t) => t.to_string(),
    }
}

fn attr_text(v: Option<&AttrVal>) -> String {
    match v {
        None => "not set".into(),
        Some(AttrVal::Num(n)) => number(*n),
        Some(AttrVal::Text(t)) => format!("\"{t}\""),
        Some(AttrVal::Bool(b)) => b.to_string(),
    }
}
