//! The outcome as text or markdown: the scenario, its rules, findings, targets, roles,
//! loops, power, compute, metrics and money, in that order (and every flow on request).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use gil_engine::Outcome;
use gil_rules::Level;

use super::{count, heading, level_text, status_text, table_or_none, Table};
use crate::human;

/// What the text forms of the outcome show beyond the fixed sections.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    /// ANSI colour (terminal tables only).
    pub color: bool,
    /// List every flow of every year (`gil run --flows`).
    pub flows: bool,
}

/// The outcome as aligned text for the terminal, or as markdown.
pub fn outcome_text(o: &Outcome, markdown: bool, opts: &TextOptions) -> String {
    let color = opts.color && !markdown;
    let mut out = String::new();
    title(&mut out, o, markdown);
    rules_section(&mut out, o, markdown);
    findings_section(&mut out, o, markdown, color);
    targets_section(&mut out, o, markdown);
    roles_section(&mut out, o, markdown, color);
    circular_section(&mut out, o, markdown);
    let years: Vec<i32> = o.steps.iter().map(|s| s.year).collect();
    power_section(&mut out, o, markdown, &years);
    compute_section(&mut out, o, markdown, &years);
    metrics_section(&mut out, o, markdown);
    money_section(&mut out, o, markdown);
    if opts.flows {
        flows_section(&mut out, o, markdown);
    }
    out
}

/// The scenario's title, id, horizon and currency.
fn title(out: &mut String, o: &Outcome, markdown: bool) {
    let title = o.scenario.title.as_deref().unwrap_or(&o.scenario.id);
    if markdown {
        let _ = writeln!(out, "# {title}\n");
        let _ = writeln!(
            out,
            "Scenario `{}`, {}–{}, amounts in {}.",
            o.scenario.id, o.scenario.horizon[0], o.scenario.horizon[1], o.scenario.currency
        );
    } else {
        let _ = writeln!(out, "{title}");
        let _ = writeln!(
            out,
            "scenario {} · {}–{} · amounts in {}",
            o.scenario.id, o.scenario.horizon[0], o.scenario.horizon[1], o.scenario.currency
        );
    }
}

/// The rules in evaluation order.
fn rules_section(out: &mut String, o: &Outcome, markdown: bool) {
    heading(
        out,
        markdown,
        2,
        &format!(
            "Rules ({}, in evaluation order)",
            count(o.scenario.rules.len(), "rule", "rules")
        ),
    );
    if o.scenario.rules.is_empty() {
        let _ = writeln!(out, "  no rules: the scenario's flows as written");
    } else {
        let mut t = Table::new(&["rule", "kind", "file", "title"]);
        for r in &o.scenario.rules {
            t.row(vec![
                r.id.clone(),
                r.kind.clone(),
                r.file.clone(),
                r.title.clone().unwrap_or_default(),
            ]);
        }
        out.push_str(&t.render(markdown));
    }
}

/// Every finding, with the rule and call site that reported it.
fn findings_section(out: &mut String, o: &Outcome, markdown: bool, color: bool) {
    let warnings = o.findings_at(Level::Warn);
    let errors = o.findings_at(Level::Error);
    heading(
        out,
        markdown,
        2,
        &format!(
            "Findings ({}, {}, {} in all)",
            count(errors, "error", "errors"),
            count(warnings, "warning", "warnings"),
            o.findings.len()
        ),
    );
    let mut t = Table::new(&["level", "year", "code", "message"]);
    for f in &o.findings {
        let mut message = f.message.clone();
        if let (Some(rule), Some(at)) = (&f.rule, &f.at) {
            let _ = write!(message, " [{rule} {at}]");
        }
        t.row(vec![
            level_text(f.level, color),
            f.step.map(|y| y.to_string()).unwrap_or_else(|| "–".into()),
            f.code.clone(),
            message,
        ]);
    }
    table_or_none(out, &t, markdown, "none");
}

/// Each project target: met or missed by its year.
fn targets_section(out: &mut String, o: &Outcome, markdown: bool) {
    if o.analyses.targets.is_empty() {
        return;
    }
    heading(out, markdown, 2, "Targets");
    let mut t =
        Table::new(&["project", "metric", "target", "by", "value", "status"]).right_align(&[3, 4]);
    for line in &o.analyses.targets {
        let target = super::target_range(line.at_least, line.at_most);
        let status = match (line.met, line.first_met) {
            (true, _) => "met".to_string(),
            (false, Some(y)) if y > line.by => format!("missed (met {y})"),
            (false, _) => "missed".to_string(),
        };
        t.row(vec![
            line.project.clone(),
            line.metric.clone(),
            target,
            line.by.to_string(),
            human(line.value_by),
            status,
        ]);
    }
    out.push_str(&t.render(markdown));
}

/// One line per project (What owner, How actors, checks) and every check that did
/// not pass; `gil roles` has the full What / How / Why tables.
fn roles_section(out: &mut String, o: &Outcome, markdown: bool, color: bool) {
    use gil_engine::outcome::Status;
    if o.roles.is_empty() {
        return;
    }
    let failed = o
        .roles
        .iter()
        .flat_map(|p| &p.checks)
        .filter(|c| c.status == Status::Fail)
        .count();
    heading(
        out,
        markdown,
        2,
        &format!(
            "Roles ({}, {} failed; `gil roles` for What / How / Why)",
            count(o.roles.len(), "project", "projects"),
            count(failed, "check", "checks")
        ),
    );
    let mut t = Table::new(&["project", "What", "How", "checks"]);
    let mut open = Table::new(&["project", "check", "status", "why"]);
    for p in &o.roles {
        let holding = |role: gil_rules::Role| {
            p.participants
                .iter()
                .filter(|x| x.roles.contains(&role))
                .map(|x| x.actor.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let tally = |status: Status| p.checks.iter().filter(|c| c.status == status).count();
        t.row(vec![
            p.project.clone(),
            holding(gil_rules::Role::What),
            holding(gil_rules::Role::How),
            format!(
                "{} pass, {} warn, {} fail",
                tally(Status::Pass),
                tally(Status::Warn),
                tally(Status::Fail)
            ),
        ]);
        for c in p.checks.iter().filter(|c| c.status != Status::Pass) {
            open.row(vec![
                p.project.clone(),
                c.id.clone(),
                status_text(c.status, markdown, color),
                c.message.clone(),
            ]);
        }
    }
    out.push_str(&t.render(markdown));
    if !open.rows.is_empty() {
        if !markdown {
            out.push('\n');
        }
        out.push_str(&open.render(markdown));
    }
}

/// The loops of the money graph with their bottleneck and the vendor's shares.
fn circular_section(out: &mut String, o: &Outcome, markdown: bool) {
    let loops = &o.analyses.circular;
    if loops.is_empty() {
        return;
    }
    heading(
        out,
        markdown,
        2,
        &format!(
            "Circular financing ({})",
            count(loops.len(), "loop", "loops")
        ),
    );
    let mut t = Table::new(&[
        "loop",
        "bottleneck",
        "vendor",
        "round-trip share",
        "from investees",
        "status",
    ])
    .right_align(&[1, 3, 4]);
    let share = |v: Option<f64>| {
        v.map(|x| format!("{:.1}%", x * 100.0))
            .unwrap_or_else(|| "–".into())
    };
    for l in loops {
        let mut path = l.path.clone();
        if let Some(first) = l.path.first() {
            path.push(first.clone());
        }
        t.row(vec![
            path.join(" → "),
            human(l.bottleneck),
            l.vendor.clone().unwrap_or_else(|| "–".into()),
            share(l.round_trip_share),
            share(l.investee_income_share),
            if l.warning { "warn" } else { "ok" }.to_string(),
        ]);
    }
    out.push_str(&t.render(markdown));
}

/// Demand against capacity per grid region and year; `!` marks a shortfall.
fn power_section(out: &mut String, o: &Outcome, markdown: bool, years: &[i32]) {
    if o.analyses.power.is_empty() {
        return;
    }
    heading(out, markdown, 2, "Power by region (MW: demand / capacity)");
    let regions: BTreeSet<&str> = o.analyses.power.iter().map(|p| p.region.as_str()).collect();
    let t = year_pivot("region", &regions, years, |region, y| {
        o.analyses
            .power
            .iter()
            .find(|p| p.region == region && p.year == y)
            .map(|p| {
                let mark = if p.shortfall_mw > 0.0 { " !" } else { "" };
                format!("{} / {}{mark}", human(p.demand_mw), human(p.capacity_mw))
            })
    });
    out.push_str(&t.render(markdown));
}

/// GPU-hours drawn against supply per cluster and year; `!` marks an overcommitment.
fn compute_section(out: &mut String, o: &Outcome, markdown: bool, years: &[i32]) {
    if o.analyses.compute.is_empty() {
        return;
    }
    heading(
        out,
        markdown,
        2,
        "Compute by cluster (GPU-hours: drawn / supply)",
    );
    let clusters: BTreeSet<&str> = o
        .analyses
        .compute
        .iter()
        .map(|c| c.cluster.as_str())
        .collect();
    let t = year_pivot("cluster", &clusters, years, |cluster, y| {
        o.analyses
            .compute
            .iter()
            .find(|c| c.cluster == cluster && c.year == y)
            .map(|c| {
                format!(
                    "{} / {}{}",
                    human(c.demand),
                    human(c.supply),
                    if c.overcommitted { " !" } else { "" }
                )
            })
    });
    out.push_str(&t.render(markdown));
}

/// A table with one row per key and one column per year.
fn year_pivot(
    first: &str,
    keys: &BTreeSet<&str>,
    years: &[i32],
    cell: impl Fn(&str, i32) -> Option<String>,
) -> Table {
    let mut header = vec![first.to_string()];
    header.extend(years.iter().map(|y| y.to_string()));
    let mut t = Table {
        right: vec![true; header.len()],
        header,
        rows: Vec::new(),
    };
    t.right[0] = false;
    for key in keys {
        let mut row = vec![key.to_string()];
        row.extend(years.iter().map(|y| cell(key, *y).unwrap_or_default()));
        t.row(row);
    }
    t
}

/// Rule metrics and the power analysis's, one row each with a column per year;
/// per-entity flow totals are in the ledger instead.
fn metrics_section(out: &mut String, o: &Outcome, markdown: bool) {
    let names: BTreeSet<&str> = o
        .steps
        .iter()
        .flat_map(|s| s.metrics.keys().map(move |n| (s, n.as_str())))
        .filter(|(s, n)| !matches!(s.metric_key(n), gil_model::metric::MetricKey::Flow { .. }))
        .map(|(_, n)| n)
        .collect();
    if names.is_empty() {
        return;
    }
    heading(out, markdown, 2, "Metrics");
    let years: Vec<i32> = o.steps.iter().map(|s| s.year).collect();
    let t = year_pivot("metric", &names, &years, |name, year| {
        let step = o.steps.iter().find(|s| s.year == year)?;
        Some(
            step.metrics
                .get(name)
                .map(|v| human(*v))
                .unwrap_or_else(|| "–".into()),
        )
    });
    out.push_str(&t.render(markdown));
}

/// Funding in, out and net per actor over the horizon; actors money never touched are
/// left out.
fn money_section(out: &mut String, o: &Outcome, markdown: bool) {
    heading(
        out,
        markdown,
        2,
        "Money by actor (funding over the horizon)",
    );
    let totals: BTreeMap<&str, (f64, f64)> = o
        .ledger_total
        .iter()
        .map(|(id, entry)| {
            (
                id.as_str(),
                (entry.total_in("funding"), entry.total_out("funding")),
            )
        })
        .collect();
    let mut t = Table::new(&["actor", "in", "out", "net"]).right_align(&[1, 2, 3]);
    for (id, (i, o)) in totals.iter().filter(|(_, (i, o))| *i != 0.0 || *o != 0.0) {
        t.row(vec![id.to_string(), human(*i), human(*o), human(i - o)]);
    }
    table_or_none(out, &t, markdown, "no money moves");
}

/// Every flow of every year, as `--flows` asks.
fn flows_section(out: &mut String, o: &Outcome, markdown: bool) {
    let total: usize = o.steps.iter().map(|s| s.flows.len()).sum();
    heading(
        out,
        markdown,
        2,
        &format!("Flows ({} over the horizon)", count(total, "flow", "flows")),
    );
    let mut t = Table::new(&[
        "year", "id", "from", "to", "kind", "via", "amount", "unit", "rules",
    ])
    .right_align(&[6]);
    for step in &o.steps {
        for f in &step.flows {
            t.row(vec![
                step.year.to_string(),
                f.id.clone().unwrap_or_default(),
                f.from.clone(),
                f.to.clone()
                    .unwrap_or_else(|| format!("{} receivers", f.recipients)),
                f.kind.as_str().to_string(),
                f.via.clone().unwrap_or_default(),
                human(f.amount),
                f.unit.clone(),
                f.rules.join(", "),
            ]);
        }
    }
    table_or_none(out, &t, markdown, "no flows");
}
