//! The sections of the report, in page order; each writes its HTML into the page.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use gil_engine::outcome::Status;
use gil_engine::{Evaluation, Outcome};
use gil_model::{FlowKind, Scenario};
use gil_rules::{FlowOrigin, Level, Role};

use super::svg::{by_amount, line_chart, other_node, power_chart, sankey, Link};
use super::{esc, ReformView};
use crate::human;
use crate::palette::kind_color;

/// What every section reads.
pub(super) struct Page<'a> {
    pub scenario: &'a Scenario,
    pub evaluation: &'a Evaluation,
    pub reform: Option<&'a ReformView<'a>>,
    pub options: &'a super::ReportOptions,
    pub labels: super::labels::Labels,
}

type Section = fn(&mut String, &Page<'_>);

/// Every section, in the order the page shows them.
pub(super) const ALL: [Section; 12] = [
    header,
    summary,
    reform,
    findings,
    flows,
    power,
    metrics,
    compute,
    circular,
    roles,
    super::assumptions::parameters,
    super::assumptions::sources,
];

/// The document head (inline style) and the page header.
fn header(page: &mut String, cx: &Page<'_>) {
    let o = &cx.evaluation.outcome;
    let title = o
        .scenario
        .title
        .clone()
        .unwrap_or_else(|| o.scenario.id.clone());
    super::document_head(page, &title);
    let _ = write!(
        page,
        "<header><h1>{}</h1><p>scenario <code>{}</code> · {}–{} · amounts in {} · {}</p></header><main>",
        esc(&title),
        esc(&o.scenario.id),
        o.scenario.horizon[0],
        o.scenario.horizon[1],
        esc(&o.scenario.currency),
        crate::text::count(o.scenario.rules.len(), "rule", "rules")
    );
}

/// The summary cards of one outcome: (value, label).
fn cards(o: &Outcome) -> Vec<(String, String)> {
    let warnings = o.findings_at(Level::Warn);
    let errors = o.findings_at(Level::Error);
    let met = o.analyses.targets.iter().filter(|t| t.met).count();
    let shortfalls: BTreeSet<&str> = o
        .analyses
        .power
        .iter()
        .filter(|p| p.shortfall_mw > 0.0)
        .map(|p| p.region.as_str())
        .collect();
    let failing_checks = o
        .roles
        .iter()
        .flat_map(|p| &p.checks)
        .filter(|c| c.status == Status::Fail)
        .count();
    vec![
        (
            format!("{errors} / {warnings}"),
            "errors / warnings".to_string(),
        ),
        (
            format!("{met} of {}", o.analyses.targets.len()),
            "targets met".to_string(),
        ),
        (
            shortfalls.len().to_string(),
            format!(
                "regions short of power{}",
                if shortfalls.is_empty() {
                    String::new()
                } else {
                    format!(
                        ": {}",
                        shortfalls.iter().copied().collect::<Vec<_>>().join(", ")
                    )
                }
            ),
        ),
        (
            o.analyses.circular.len().to_string(),
            "circular-financing loops".to_string(),
        ),
        (
            format!("{} / {failing_checks}", o.roles.len()),
            "projects / failing role checks".to_string(),
        ),
    ]
}

/// Summary cards: findings, targets, power, loops, role checks; with a reform, its
/// value beside the baseline's wherever the two differ.
fn summary(page: &mut String, cx: &Page<'_>) {
    let s = cx.scenario;
    let base = cards(&cx.evaluation.outcome);
    let reform = cx.reform.map(|r| cards(&r.evaluation.outcome));
    let _ = write!(page, r#"<section><h2>Summary</h2><div class="cards">"#);
    for (i, (value, label)) in base.iter().enumerate() {
        match reform.as_ref().and_then(|r| r.get(i)) {
            Some((changed, changed_label)) if changed != value || changed_label != label => {
                let reform_label = if changed_label == label {
                    String::new()
                } else {
                    format!(": {}", esc(changed_label))
                };
                let _ = write!(
                    page,
                    r#"<div class="card"><b>{} → <span class="reform">{}</span></b><span>{}<br/>baseline → reform{reform_label}</span></div>"#,
                    esc(value),
                    esc(changed),
                    esc(label)
                );
            }
            _ => {
                let _ = write!(
                    page,
                    r#"<div class="card"><b>{}</b><span>{}</span></div>"#,
                    esc(value),
                    esc(label)
                );
            }
        }
    }
    page.push_str("</div>");
    if let Some(description) = &s.header.description {
        let _ = write!(page, "<p>{}</p>", esc(description));
    }
    page.push_str("</section>");
}

/// A reform beside the baseline: what it changes.
fn reform(page: &mut String, cx: &Page<'_>) {
    let reform = cx.reform;
    if let Some(r) = reform {
        let _ = write!(page, "<section><h2>Reform: {}</h2>", esc(&r.title));
        if r.diff.is_empty() {
            page.push_str("<p>The reform changes nothing.</p>");
        } else {
            page.push_str(r#"<table><tr><th>year</th><th>metric</th><th class="num">baseline</th><th class="num">reform</th><th class="num">change</th></tr>"#);
            for c in &r.diff.metrics {
                let _ = write!(
                    page,
                    r#"<tr><td>{}</td><td><code>{}</code></td><td class="num">{}</td><td class="num">{}</td><td class="num">{}{}</td></tr>"#,
                    c.year,
                    esc(&c.name),
                    esc(&human(c.base)),
                    esc(&human(c.reform)),
                    if c.delta > 0.0 { "+" } else { "" },
                    esc(&human(c.delta))
                );
            }
            page.push_str("</table>");
            if !r.diff.findings_added.is_empty() {
                page.push_str("<h3>Findings the reform adds</h3>");
                page.push_str(&findings_table(&r.diff.findings_added));
            }
            if !r.diff.findings_removed.is_empty() {
                page.push_str("<h3>Findings the reform removes</h3>");
                page.push_str(&findings_table(&r.diff.findings_removed));
            }
        }
        page.push_str("</section>");
    }
}

/// Every finding.
fn findings(page: &mut String, cx: &Page<'_>) {
    let o = &cx.evaluation.outcome;
    page.push_str("<section><h2>Findings</h2>");
    page.push_str(&findings_table(&o.findings));
    page.push_str("</section>");
}

/// Who pays whom: a Sankey per year and kind.
fn flows(page: &mut String, cx: &Page<'_>) {
    let s = cx.scenario;
    let o = &cx.evaluation.outcome;
    let loops: BTreeSet<(String, String)> = o
        .analyses
        .circular
        .iter()
        .flat_map(|l| {
            (0..l.path.len())
                .map(move |k| (l.path[k].clone(), l.path[(k + 1) % l.path.len()].clone()))
        })
        .collect();
    page.push_str(r#"<section><h2>Who pays whom</h2><p class="legend"><span><i class="swatch" style="background:#1f77b4"></i>funding</span><span><i class="swatch" style="background:#2ca02c"></i>compute</span><span><i class="swatch" style="background:#ff7f0e"></i>power</span><span><i class="swatch" style="background:#d62728"></i>money on a circular-financing loop</span> Hover a band for its amount and sources.</p>"#);
    let boundary: Vec<&str> = s
        .actors
        .iter()
        .filter(|a| cx.labels.is_boundary(&a.id.value))
        .map(|a| a.id.value.as_str())
        .collect();
    if !cx.options.boundary && !boundary.is_empty() {
        let _ = write!(
            page,
            r#"<p class="why">Not drawn: money to and from the boundary of the model ({}), which would squash policy money to invisibility. <code>gil report --boundary</code> draws it.</p>"#,
            esc(&boundary
                .iter()
                .map(|id| cx.labels.name(id))
                .collect::<Vec<_>>()
                .join("; "))
        );
    }
    for (i, step) in o.steps.iter().enumerate() {
        let _ = write!(
            page,
            "<details{}><summary>{}</summary>",
            if i == 0 { " open=\"open\"" } else { "" },
            step.year
        );
        for kind in [FlowKind::Funding, FlowKind::Compute, FlowKind::Power] {
            let unit = kind.base_unit(s.currency());
            let (links, off_sankey) = links_for(cx, step.year, kind, &loops);
            let svg = if cx.options.chains {
                super::chain::chain_sankey(&links, &unit, kind_color(kind), &cx.labels)
            } else {
                sankey(&links, &unit, kind_color(kind), &cx.labels)
            };
            if !svg.is_empty() {
                // A chain of many steps is wider than the page: it scrolls on its own.
                let _ = write!(
                    page,
                    r#"<h3>{} ({})</h3><div class="wide">{svg}</div>"#,
                    kind.as_str(),
                    esc(&unit)
                );
            }
            if off_sankey > 0.0 {
                let _ = write!(
                    page,
                    r#"<p class="why">{} {} of {} to or from the boundary, not drawn.</p>"#,
                    esc(&human(off_sankey)),
                    esc(&unit),
                    kind.as_str()
                );
            }
        }
        page.push_str("</details>");
    }
    page.push_str("</section>");
}

/// Power balance per region over the years.
fn power(page: &mut String, cx: &Page<'_>) {
    let o = &cx.evaluation.outcome;
    let regions: BTreeSet<&str> = o.analyses.power.iter().map(|p| p.region.as_str()).collect();
    if !regions.is_empty() {
        page.push_str(r#"<section><h2>Power balance by region</h2><div class="charts">"#);
        let rows_of = |o: &Outcome, region: &str| -> Vec<(i32, f64, f64, f64)> {
            o.analyses
                .power
                .iter()
                .filter(|p| p.region == region)
                .map(|p| (p.year, p.demand_mw, p.capacity_mw, p.shortfall_mw))
                .collect()
        };
        for region in regions {
            let rows = rows_of(o, region);
            let reform_rows = cx.reform.map(|r| rows_of(&r.evaluation.outcome, region));
            let _ = write!(
                page,
                r#"<div class="chart">{}</div>"#,
                power_chart(region, &rows, reform_rows.as_deref())
            );
        }
        page.push_str("</div></section>");
    }
}

/// Rule metrics over the years, the reform dashed beside the baseline.
fn metrics(page: &mut String, cx: &Page<'_>) {
    let o = &cx.evaluation.outcome;
    let reform = cx.reform;
    let names: BTreeSet<&str> = o
        .steps
        .iter()
        .flat_map(|st| st.rule_metrics.iter().map(String::as_str))
        .collect();
    if !names.is_empty() {
        page.push_str(r#"<section><h2>Key metrics</h2><div class="charts">"#);
        for name in names {
            let mut series = vec![(
                "baseline".to_string(),
                metric_series(o, name),
                "#14213d",
                false,
            )];
            if let Some(r) = reform {
                series.push((
                    "reform".to_string(),
                    metric_series(&r.evaluation.outcome, name),
                    "#d62728",
                    true,
                ));
            }
            let _ = write!(
                page,
                r#"<div class="chart">{}</div>"#,
                line_chart(name, &series, "")
            );
        }
        page.push_str("</div></section>");
    }
}

/// Compute per GPU cluster and year.
fn compute(page: &mut String, cx: &Page<'_>) {
    let o = &cx.evaluation.outcome;
    if !o.analyses.compute.is_empty() {
        page.push_str(r#"<section><h2>GPU clusters</h2><table><tr><th>cluster</th><th>year</th><th class="num">supply (GPU-h)</th><th class="num">drawn (GPU-h)</th><th>status</th></tr>"#);
        for c in &o.analyses.compute {
            let status = if c.overcommitted {
                r#"<span class="level-warn">overcommitted</span>"#
            } else {
                "ok"
            };
            let _ = write!(
                page,
                r#"<tr><td>{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td><td>{status}</td></tr>"#,
                actor_cell(&cx.labels, &c.cluster),
                c.year,
                esc(&human(c.supply)),
                esc(&human(c.demand))
            );
        }
        page.push_str("</table></section>");
    }
}

/// Circular financing: the loops and the vendor shares.
fn circular(page: &mut String, cx: &Page<'_>) {
    let o = &cx.evaluation.outcome;
    page.push_str("<section><h2>Money that goes round</h2>");
    if o.analyses.circular.is_empty() {
        page.push_str("<p>No financing loop (investment, loan, purchase, procurement or cloud money that returns to its source).</p>");
    } else {
        page.push_str(r#"<table><tr><th>loop</th><th class="num">bottleneck</th><th>vendor</th><th class="num">round-trip share</th><th class="num">income from investees</th><th>warning</th></tr>"#);
        for l in &o.analyses.circular {
            // By name, back to where the money started; the ids are in the hover.
            let path: Vec<String> = l
                .path
                .iter()
                .chain(l.path.first())
                .map(|id| {
                    format!(
                        r#"<span title="{}">{}</span>"#,
                        esc(id),
                        esc(cx.labels.name(id))
                    )
                })
                .collect();
            let pct = |v: Option<f64>| {
                v.map(|x| format!("{:.1}%", x * 100.0))
                    .unwrap_or_else(|| "–".into())
            };
            let _ = write!(
                page,
                r#"<tr><td>{}</td><td class="num">{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td><td>{}</td></tr>"#,
                path.join(" → "),
                esc(&human(l.bottleneck)),
                l.vendor
                    .as_deref()
                    .map_or_else(|| "–".to_string(), |v| actor_cell(&cx.labels, v)),
                pct(l.round_trip_share),
                pct(l.investee_income_share),
                if l.warning {
                    r#"<span class="level-warn">above threshold</span>"#
                } else {
                    ""
                }
            );
        }
        page.push_str("</table>");
    }
    page.push_str("</section>");
}

/// What / How / Why per project, with its checks.
fn roles(page: &mut String, cx: &Page<'_>) {
    let s = cx.scenario;
    let o = &cx.evaluation.outcome;
    page.push_str("<section><h2>What / How / Why</h2><p>Government presents the What, industry finds the How, everyone shares the Why.</p>");
    for p in &o.roles {
        let _ = write!(
            page,
            "<h3><code>{}</code> {}</h3>",
            esc(&p.project),
            esc(p.title.as_deref().unwrap_or(""))
        );
        if let Some(goal) = &p.goal {
            let _ = write!(page, r#"<p class="why"><b>What:</b> {}</p>"#, esc(goal));
        }
        let _ = write!(
            page,
            r#"<p class="why"><b>Why:</b> {}</p>"#,
            esc(p.why.as_deref().unwrap_or("(not stated)"))
        );
        let _ = write!(
            page,
            r#"<table><tr><th>role</th><th>actor</th><th>kind</th><th>contribution</th><th class="num">money in / out ({})</th><th class="num">GPU-hours in / out</th><th class="num">peak MW</th></tr>"#,
            esc(s.currency())
        );
        for x in &p.participants {
            let roles: String = if x.roles.is_empty() {
                r#"<span class="role role-participant">participant</span>"#.to_string()
            } else {
                x.roles
                    .iter()
                    .map(|r| {
                        let (class, name) = match r {
                            Role::What => ("role-what", "What"),
                            Role::How => ("role-how", "How"),
                            Role::Why => ("role-why", "Why"),
                        };
                        format!(r#"<span class="role {class}">{name}</span>"#)
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let pair = |a: f64, b: f64| {
                if a == 0.0 && b == 0.0 {
                    "–".to_string()
                } else {
                    format!("{} / {}", human(a), human(b))
                }
            };
            let _ = write!(
                page,
                r#"<tr><td>{roles}</td><td>{}</td><td>{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
                actor_cell(&cx.labels, &x.actor),
                esc(&x.kind),
                esc(&x.contributions.join("; ")),
                esc(&pair(x.flows.money_in, x.flows.money_out)),
                esc(&pair(x.flows.gpu_hours_in, x.flows.gpu_hours_out)),
                if x.flows.peak_mw == 0.0 {
                    "–".to_string()
                } else {
                    esc(&human(x.flows.peak_mw))
                }
            );
        }
        page.push_str("</table><table><tr><th>check</th><th>status</th><th>why</th></tr>");
        for c in &p.checks {
            let (class, name) = match c.status {
                Status::Pass => ("status-pass", "pass"),
                Status::Warn => ("status-warn", "warn"),
                Status::Fail => ("status-fail", "fail"),
            };
            let _ = write!(
                page,
                r#"<tr><td><code>{}</code></td><td class="{class}">{name}</td><td>{}</td></tr>"#,
                esc(&c.id),
                esc(&c.message)
            );
        }
        page.push_str("</table>");
    }
    page.push_str("</section>");
}

/// An actor in a table: its name, with the id a rule or a diff uses beside it.
fn actor_cell(labels: &super::labels::Labels, id: &str) -> String {
    let name = labels.name(id);
    if name == id {
        format!("<code>{}</code>", esc(id))
    } else {
        format!("{} <code>{}</code>", esc(name), esc(id))
    }
}

fn level_class(level: Level) -> (&'static str, &'static str) {
    match level {
        Level::Error => ("level-error", "error"),
        Level::Warn => ("level-warn", "warn"),
        Level::Info => ("level-info", "info"),
    }
}

fn findings_table(findings: &[gil_engine::Finding]) -> String {
    let mut out =
        String::from("<table><tr><th>level</th><th>year</th><th>code</th><th>message</th></tr>");
    for f in findings {
        let (class, name) = level_class(f.level);
        let mut message = esc(&f.message);
        if let (Some(rule), Some(at)) = (&f.rule, &f.at) {
            let _ = write!(
                message,
                r#" <span class="level-info">[{} {}]</span>"#,
                esc(rule),
                esc(at)
            );
        }
        let _ = write!(
            out,
            r#"<tr><td class="{class}">{name}</td><td>{}</td><td><code>{}</code></td><td>{message}</td></tr>"#,
            f.step.map(|y| y.to_string()).unwrap_or_else(|| "–".into()),
            esc(&f.code)
        );
    }
    out.push_str("</table>");
    out
}

/// (amount, vias, sources) of one Sankey band while it is assembled.
type LinkSum = (f64, BTreeSet<String>, BTreeSet<String>);

/// The links of one year and kind, with hover text naming sources and rules; and the
/// amount left off because it goes to or from a boundary actor.
fn links_for(
    cx: &Page<'_>,
    year: i32,
    kind: FlowKind,
    loops: &BTreeSet<(String, String)>,
) -> (Vec<Link>, f64) {
    let (s, e) = (cx.scenario, cx.evaluation);
    let Some(step) = e.trace.steps.iter().find(|st| st.year == year) else {
        return (Vec::new(), 0.0);
    };
    let mut off_sankey = 0.0;
    // (from, to) → (amount, vias, sources)
    let mut grouped: BTreeMap<(String, String), LinkSum> = BTreeMap::new();
    let names = &e.trace.names;
    for f in step
        .flows
        .iter()
        .filter(|f| f.kind == kind && f.amount > 0.0)
    {
        let (from, to) = (names.name(f.from), names.name(f.to));
        if !cx.options.boundary && (cx.labels.is_boundary(from) || cx.labels.is_boundary(to)) {
            off_sankey += f.amount;
            continue;
        }
        let g = grouped
            .entry((from.to_string(), to.to_string()))
            .or_default();
        g.0 += f.amount;
        g.1.insert(names.opt(f.via).unwrap_or("-").to_string());
        match f.origin.of(names) {
            Some(FlowOrigin::Scenario(i)) => {
                if let Some(src) = s.flows.get(i).and_then(|x| x.source.as_ref()) {
                    g.2.extend(src.0.iter().cloned());
                }
            }
            Some(FlowOrigin::Rule(p)) => {
                g.2.insert(format!("rule {} ({}:{})", p.rule, p.file, p.line));
            }
            None => {}
        }
    }
    let unit = kind.base_unit(s.currency());
    let grouped = group_small_nodes(grouped, cx.options.chains);
    let links = grouped
        .into_iter()
        .map(|((from, to), (amount, vias, sources))| {
            let mut title = format!(
                "{} → {}: {} {unit} ({})",
                cx.labels.full(&from),
                cx.labels.full(&to),
                human(amount),
                vias.into_iter().collect::<Vec<_>>().join(", ")
            );
            if !sources.is_empty() {
                // A grouped band gathers the sources of thousands of flows: name a few.
                let shown: Vec<String> = sources.iter().take(MAX_SOURCES_SHOWN).cloned().collect();
                let more = sources.len().saturating_sub(MAX_SOURCES_SHOWN);
                let _ = write!(title, "\nsource: {}", shown.join("; "));
                if more > 0 {
                    let _ = write!(title, "; and {more} more");
                }
            }
            let on_loop = kind == FlowKind::Funding && loops.contains(&(from.clone(), to.clone()));
            Link {
                from,
                to,
                amount,
                title,
                on_loop,
            }
        })
        .collect();
    (links, off_sankey)
}

/// Payers (and payees) a Sankey draws one by one; above that, the largest
/// `MAX_SANKEY_NODES - 1` are drawn and the rest share one "other" node, so a national
/// scenario's report stays a few MB and readable.
pub(super) const MAX_SANKEY_NODES: usize = 24;

/// Sources named in one band's hover text.
const MAX_SOURCES_SHOWN: usize = 5;

/// Bands with the small payers and payees folded into "other" nodes (see
/// [`MAX_SANKEY_NODES`]); unchanged when both sides are small.
fn group_small_nodes(
    grouped: BTreeMap<(String, String), LinkSum>,
    chains: bool,
) -> BTreeMap<(String, String), LinkSum> {
    let totals = |side: fn(&(String, String)) -> &String| {
        let mut t: BTreeMap<&str, f64> = BTreeMap::new();
        for (key, (amount, _, _)) in &grouped {
            *t.entry(side(key).as_str()).or_default() += amount;
        }
        t
    };
    // The ids a side keeps, largest first (ties by id), or None when it keeps all.
    let kept = |totals: BTreeMap<&str, f64>| -> Option<(BTreeSet<String>, usize)> {
        if totals.len() <= MAX_SANKEY_NODES {
            return None;
        }
        // The order the Sankey draws nodes in, so the kept ones are those drawn first.
        let ranked = by_amount(&totals);
        let others = ranked.len() - (MAX_SANKEY_NODES - 1);
        let keep = ranked
            .into_iter()
            .take(MAX_SANKEY_NODES - 1)
            .map(|(id, _)| id.to_string())
            .collect();
        Some((keep, others))
    };
    let (payers, payees, names) = if chains {
        // A chain draws each node once, paying and paid: fold nodes by the larger of
        // what goes through them, into one "other" node, so no node is split in two.
        let (out, into) = (totals(|k| &k.0), totals(|k| &k.1));
        let mut through = out.clone();
        for (id, amount) in into {
            let t = through.entry(id).or_default();
            *t = t.max(amount);
        }
        let nodes = kept(through);
        (nodes.clone(), nodes, ["actors", "actors"])
    } else {
        (
            kept(totals(|k| &k.0)),
            kept(totals(|k| &k.1)),
            ["payers", "payees"],
        )
    };
    if payers.is_none() && payees.is_none() {
        return grouped;
    }
    let rename = |id: String, side: &Option<(BTreeSet<String>, usize)>, name: &str| match side {
        Some((keep, others)) if !keep.contains(&id) => other_node(name, *others),
        _ => id,
    };
    let mut folded: BTreeMap<(String, String), LinkSum> = BTreeMap::new();
    for ((from, to), (amount, vias, sources)) in grouped {
        let key = (
            rename(from, &payers, names[0]),
            rename(to, &payees, names[1]),
        );
        let band = folded.entry(key).or_default();
        band.0 += amount;
        band.1.extend(vias);
        band.2.extend(sources);
    }
    folded
}

/// The metric by year; `None` in years no rule produced it (drawn as a gap).
fn metric_series(o: &Outcome, name: &str) -> Vec<(i32, Option<f64>)> {
    o.steps
        .iter()
        .map(|s| (s.year, s.metrics.get(name).copied()))
        .collect()
}
