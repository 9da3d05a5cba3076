//! `gil report --html`: one self-contained HTML page (inline CSS and SVG, no scripts,
//! no network) that tells a scenario's story at a glance: who pays whom (a Sankey per
//! year and kind), where power runs short, which money goes round in circles, and who
//! holds What, How and Why.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use gil_engine::diff::DiffReport;
use gil_engine::outcome::Status;
use gil_engine::{Evaluation, Outcome};
use gil_model::{FlowKind, Scenario};
use gil_rules::{FlowOrigin, Level, Role};

use crate::human;
use crate::palette::{self, kind_color};

/// A reform shown beside the baseline.
pub struct ReformView<'a> {
    pub title: String,
    pub evaluation: &'a Evaluation,
    pub diff: &'a DiffReport,
}

pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { --ink:#1d2433; --muted:#5b6475; --line:#d9dde5; --bg:#f7f8fa; --warn:#b7791f; --error:#c53030; --ok:#2f855a;
        --funding:#1f77b4; --compute:#2ca02c; --power:#ff7f0e; --loop:#d62728; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font-family: "Noto Sans KR", "Noto Sans CJK KR", "Apple SD Gothic Neo", "Malgun Gothic", "NanumGothic", "Noto Sans", "Segoe UI", sans-serif;
       font-size: 14px; line-height: 1.45; }
header { background: #14213d; color: #fff; padding: 22px 32px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 0; color: #cdd5e3; }
main { padding: 8px 32px 40px; max-width: 1280px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
h2 { font-size: 18px; margin: 0 0 10px; }
h3 { font-size: 15px; margin: 14px 0 6px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; margin: 12px 0 0; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 150px; }
.card b { display: block; font-size: 22px; }
.card span { color: var(--muted); font-size: 12px; }
.level-error, .status-fail { color: var(--error); font-weight: 600; }
.level-warn, .status-warn { color: var(--warn); font-weight: 600; }
.level-info { color: var(--muted); }
.status-pass { color: var(--ok); font-weight: 600; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
.chart { border: 1px solid var(--line); border-radius: 6px; padding: 6px; background: #fff; }
details { margin: 6px 0; }
summary { cursor: pointer; font-weight: 600; }
.role { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 12px; font-weight: 600; }
.role-what { background: #e3ecfa; color: #1a4d8f; } .role-how { background: #e5f4ea; color: #22663f; }
.role-why { background: #fdf0dc; color: #8a5a12; } .role-participant { background: #eef0f4; color: #4a5263; }
.why { margin: 4px 0 8px; color: var(--muted); }
svg text { font-family: inherit; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; color: var(--muted); }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; vertical-align: middle; }
"#;

/// One band of a Sankey: (from, to) with its amount and hover text.
struct Link {
    from: String,
    to: String,
    amount: f64,
    title: String,
    on_loop: bool,
}

/// Nodes by amount, largest first, ties by id.
fn by_amount<'a>(m: &BTreeMap<&'a str, f64>) -> Vec<(&'a str, f64)> {
    let mut v: Vec<(&str, f64)> = m.iter().map(|(k, v)| (*k, *v)).collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    v
}

/// A two-column Sankey: payers on the left, payees on the right, so loops stay drawable.
fn sankey(links: &[Link], unit: &str, color: &str) -> String {
    let total: f64 = links.iter().map(|l| l.amount).sum();
    if total <= 0.0 {
        return String::new();
    }
    let mut out_of: BTreeMap<&str, f64> = BTreeMap::new();
    let mut into: BTreeMap<&str, f64> = BTreeMap::new();
    for l in links {
        *out_of.entry(&l.from).or_insert(0.0) += l.amount;
        *into.entry(&l.to).or_insert(0.0) += l.amount;
    }
    let left = by_amount(&out_of);
    let right = by_amount(&into);
    let rows = left.len().max(right.len()) as f64;
    let gap = 8.0;
    let bar_height = (rows * 30.0).clamp(160.0, 720.0);
    let height = bar_height + (gap + 13.0) * rows + 40.0;
    let (width, x0, x1, node_w) = (900.0, 230.0, 670.0, 12.0);
    // Proportional, but never thinner than a label: small payers stay readable.
    let scale = |v: f64| (v / total * bar_height).max(13.0);
    let place = |nodes: &[(&str, f64)]| {
        let mut y = 20.0;
        let mut pos = BTreeMap::new();
        for (id, v) in nodes {
            pos.insert(id.to_string(), (y, scale(*v)));
            y += scale(*v) + gap;
        }
        pos
    };
    let lpos = place(&left);
    let rpos = place(&right);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0}" viewBox="0 0 {width} {height:.0}" role="img">"#
    );
    // Bands: stack each node's links in the order of the node at the other end.
    let rank_r: BTreeMap<&str, usize> = right
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (*k, i))
        .collect();
    let rank_l: BTreeMap<&str, usize> =
        left.iter().enumerate().map(|(i, (k, _))| (*k, i)).collect();
    let mut sorted: Vec<&Link> = links.iter().filter(|l| l.amount > 0.0).collect();
    sorted.sort_by_key(|l| (rank_l[l.from.as_str()], rank_r[l.to.as_str()]));
    let mut left_used: BTreeMap<&str, f64> = BTreeMap::new();
    let mut right_used: BTreeMap<&str, f64> = BTreeMap::new();
    let mut by_right: Vec<&Link> = sorted.clone();
    by_right.sort_by_key(|l| (rank_r[l.to.as_str()], rank_l[l.from.as_str()]));
    let mut right_offset: BTreeMap<(&str, &str), f64> = BTreeMap::new();
    for l in &by_right {
        let (ry, rh) = rpos[&l.to];
        let used = right_used.entry(&l.to).or_insert(0.0);
        let node_total = into[l.to.as_str()];
        right_offset.insert((&l.from, &l.to), ry + *used);
        *used += rh * l.amount / node_total;
    }
    for l in &sorted {
        let (ly, lh) = lpos[&l.from];
        let (_, rh) = rpos[&l.to];
        let used = left_used.entry(&l.from).or_insert(0.0);
        let thick_l = lh * l.amount / out_of[l.from.as_str()];
        let thick_r = rh * l.amount / into[l.to.as_str()];
        let ya = ly + *used;
        *used += thick_l;
        let yb = right_offset[&(l.from.as_str(), l.to.as_str())];
        let (ax, bx) = (x0 + node_w, x1);
        let mx = (ax + bx) / 2.0;
        let fill = if l.on_loop { palette::LOOP } else { color };
        let _ = write!(
            svg,
            r#"<path d="M{ax:.1},{ya:.1} C{mx:.1},{ya:.1} {mx:.1},{yb:.1} {bx:.1},{yb:.1} L{bx:.1},{:.1} C{mx:.1},{:.1} {mx:.1},{:.1} {ax:.1},{:.1} Z" fill="{fill}" fill-opacity="{}"><title>{}</title></path>"#,
            yb + thick_r,
            yb + thick_r,
            ya + thick_l,
            ya + thick_l,
            if l.on_loop { "0.6" } else { "0.38" },
            esc(&l.title)
        );
    }
    for (id, (y, h)) in &lpos {
        let _ = write!(
            svg,
            r##"<rect x="{x0}" y="{y:.1}" width="{node_w}" height="{h:.1}" fill="#14213d"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="12">{} <tspan fill="#5b6475">{}</tspan></text>"##,
            x0 - 6.0,
            y + h / 2.0 + 4.0,
            esc(id),
            esc(&human(out_of[id.as_str()]))
        );
    }
    for (id, (y, h)) in &rpos {
        let _ = write!(
            svg,
            r##"<rect x="{x1}" y="{y:.1}" width="{node_w}" height="{h:.1}" fill="#14213d"/><text x="{:.1}" y="{:.1}" font-size="12">{} <tspan fill="#5b6475">{}</tspan></text>"##,
            x1 + node_w + 6.0,
            y + h / 2.0 + 4.0,
            esc(id),
            esc(&human(into[id.as_str()]))
        );
    }
    let _ = write!(
        svg,
        r##"<text x="{x0}" y="12" font-size="11" fill="#5b6475">payers ({})</text><text x="{x1}" y="12" font-size="11" fill="#5b6475">payees</text></svg>"##,
        esc(unit)
    );
    svg
}

/// An open `<svg>` with a title and four horizontal grid lines labelled 0..max.
fn chart_frame(
    w: f64,
    h: f64,
    left: f64,
    right: f64,
    title: &str,
    max: f64,
    y: &dyn Fn(f64) -> f64,
) -> String {
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img">"#
    );
    let _ = write!(
        svg,
        r#"<text x="{left}" y="16" font-size="13" font-weight="600">{title}</text>"#
    );
    for k in 0..=3 {
        let v = max * f64::from(k) / 3.0;
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#e3e6ec"/><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end" fill="#5b6475">{}</text>"##,
            w - right,
            y(v),
            y(v),
            left - 4.0,
            y(v) + 3.0,
            esc(&human(v))
        );
    }
    svg
}

/// One line of a chart: label, (year, value) points, colour, dashed.
type Series<'a> = (String, Vec<(i32, f64)>, &'a str, bool);

/// A line chart.
fn line_chart(title: &str, series: &[Series<'_>], unit: &str) -> String {
    let (w, h, left, right, top, bottom) = (420.0, 200.0, 58.0, 12.0, 26.0, 40.0);
    let years: BTreeSet<i32> = series
        .iter()
        .flat_map(|s| s.1.iter().map(|p| p.0))
        .collect();
    let (Some(&first), Some(&last)) = (years.iter().next(), years.iter().last()) else {
        return String::new();
    };
    let max = series
        .iter()
        .flat_map(|s| s.1.iter().map(|p| p.1))
        .fold(0.0f64, f64::max);
    let max = if max <= 0.0 { 1.0 } else { max * 1.1 };
    let x = |y: i32| {
        left + (w - left - right)
            * if last == first {
                0.5
            } else {
                f64::from(y - first) / f64::from(last - first)
            }
    };
    let y = |v: f64| top + (h - top - bottom) * (1.0 - v / max);
    let mut svg = chart_frame(w, h, left, 12.0, &esc(title), max, &y);
    for yr in &years {
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#5b6475">{yr}</text>"##,
            x(*yr),
            h - bottom + 14.0
        );
    }
    for (i, (label, points, color, dashed)) in series.iter().enumerate() {
        let path: Vec<String> = points
            .iter()
            .map(|(yr, v)| format!("{:.1},{:.1}", x(*yr), y(*v)))
            .collect();
        let dash = if *dashed {
            r#" stroke-dasharray="5 4""#
        } else {
            ""
        };
        let _ = write!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"{dash}><title>{}</title></polyline>"#,
            path.join(" "),
            esc(label)
        );
        for (yr, v) in points {
            let _ = write!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{color}"><title>{} {yr}: {} {}</title></circle>"#,
                x(*yr),
                y(*v),
                esc(label),
                esc(&human(*v)),
                esc(unit)
            );
        }
        let lx = left + 130.0 * i as f64;
        let _ = write!(
            svg,
            r#"<rect x="{lx:.1}" y="{:.1}" width="10" height="3" fill="{color}"/><text x="{:.1}" y="{:.1}" font-size="10">{}</text>"#,
            h - 12.0,
            lx + 14.0,
            h - 8.0,
            esc(label)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Demand against capacity per year for one region; shortfalls in red.
fn power_chart(region: &str, rows: &[(i32, f64, f64, f64)]) -> String {
    let (w, h, left, top, bottom) = (420.0, 200.0, 58.0, 26.0, 40.0);
    let max = rows
        .iter()
        .map(|r| r.1.max(r.2))
        .fold(0.0f64, f64::max)
        .max(1.0)
        * 1.1;
    let n = rows.len().max(1) as f64;
    let slot = (w - left - 12.0) / n;
    let y = |v: f64| top + (h - top - bottom) * (1.0 - v / max);
    let mut svg = chart_frame(w, h, left, 12.0, &format!("{} (MW)", esc(region)), max, &y);
    for (i, (year, demand, capacity, shortfall)) in rows.iter().enumerate() {
        let x = left + slot * i as f64 + slot * 0.15;
        let bw = slot * 0.7;
        let fill = if *shortfall > 0.0 {
            "#d62728"
        } else {
            "#ff7f0e"
        };
        let _ = write!(
            svg,
            r##"<rect x="{x:.1}" y="{:.1}" width="{bw:.1}" height="{:.1}" fill="{fill}" fill-opacity="0.8"><title>{year}: demand {} MW, capacity {} MW{}</title></rect>"##,
            y(*demand),
            (h - bottom - y(*demand)).max(0.0),
            esc(&human(*demand)),
            esc(&human(*capacity)),
            if *shortfall > 0.0 {
                format!(", {} MW short", esc(&human(*shortfall)))
            } else {
                String::new()
            }
        );
        let _ = write!(
            svg,
            r##"<line x1="{:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#14213d" stroke-width="2.5"/>"##,
            x - 3.0,
            x + bw + 3.0,
            y(*capacity),
            y(*capacity)
        );
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#5b6475">{year}</text>"##,
            x + bw / 2.0,
            h - bottom + 14.0
        );
    }
    let _ = write!(
        svg,
        r##"<rect x="{left}" y="{:.1}" width="10" height="8" fill="#ff7f0e"/><text x="{:.1}" y="{:.1}" font-size="10">demand</text><rect x="{:.1}" y="{:.1}" width="12" height="3" fill="#14213d"/><text x="{:.1}" y="{:.1}" font-size="10">capacity</text><rect x="{:.1}" y="{:.1}" width="10" height="8" fill="#d62728"/><text x="{:.1}" y="{:.1}" font-size="10">short</text></svg>"##,
        h - 16.0,
        left + 14.0,
        h - 8.0,
        left + 70.0,
        h - 13.0,
        left + 86.0,
        h - 8.0,
        left + 146.0,
        h - 16.0,
        left + 160.0,
        h - 8.0
    );
    svg
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

/// The links of one year and kind, with hover text naming sources and rules.
fn links_for(
    s: &Scenario,
    e: &Evaluation,
    year: i32,
    kind: FlowKind,
    loops: &BTreeSet<(String, String)>,
) -> Vec<Link> {
    let Some(step) = e.trace.steps.iter().find(|st| st.year == year) else {
        return Vec::new();
    };
    // (from, to) → (amount, vias, sources)
    let mut grouped: BTreeMap<(String, String), LinkSum> = BTreeMap::new();
    for f in step
        .flows
        .iter()
        .filter(|f| f.kind == kind && f.amount > 0.0)
    {
        let g = grouped.entry((f.from.clone(), f.to.clone())).or_default();
        g.0 += f.amount;
        g.1.insert(f.via.clone().unwrap_or_else(|| "-".into()));
        match &f.origin {
            FlowOrigin::Scenario(i) => {
                if let Some(src) = s.flows.get(*i).and_then(|x| x.source.as_ref()) {
                    g.2.extend(src.0.iter().cloned());
                }
            }
            FlowOrigin::Rule(p) => {
                g.2.insert(format!("rule {} ({}:{})", p.rule, p.file, p.line));
            }
        }
    }
    let unit = kind.base_unit(s.currency());
    grouped
        .into_iter()
        .map(|((from, to), (amount, vias, sources))| {
            let mut title = format!(
                "{from} → {to}: {} {unit} ({})",
                human(amount),
                vias.into_iter().collect::<Vec<_>>().join(", ")
            );
            if !sources.is_empty() {
                let _ = write!(
                    title,
                    "\nsource: {}",
                    sources.into_iter().collect::<Vec<_>>().join("; ")
                );
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
        .collect()
}

fn metric_series(o: &Outcome, name: &str) -> Vec<(i32, f64)> {
    o.steps
        .iter()
        .map(|s| (s.year, s.metrics.get(name).copied().unwrap_or(0.0)))
        .collect()
}

/// The whole page.
pub fn report(s: &Scenario, e: &Evaluation, reform: Option<&ReformView<'_>>) -> String {
    let o = &e.outcome;
    let title = o
        .scenario
        .title
        .clone()
        .unwrap_or_else(|| o.scenario.id.clone());
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"ko\"><head><meta charset=\"utf-8\"/><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/><title>{}</title><style>{STYLE}</style></head><body>",
        esc(&title)
    );
    let _ = write!(
        page,
        "<header><h1>{}</h1><p>scenario <code>{}</code> · {}–{} · amounts in {} · {} rules</p></header><main>",
        esc(&title),
        esc(&o.scenario.id),
        o.scenario.horizon[0],
        o.scenario.horizon[1],
        esc(&o.scenario.currency),
        o.scenario.rules.len()
    );

    // Summary cards.
    let warnings = o.findings.iter().filter(|f| f.level == Level::Warn).count();
    let errors = o
        .findings
        .iter()
        .filter(|f| f.level == Level::Error)
        .count();
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
    let _ = write!(page, r#"<section><h2>Summary</h2><div class="cards">"#);
    for (value, label) in [
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
    ] {
        let _ = write!(
            page,
            r#"<div class="card"><b>{}</b><span>{}</span></div>"#,
            esc(&value),
            esc(&label)
        );
    }
    page.push_str("</div>");
    if let Some(description) = &s.header.description {
        let _ = write!(page, "<p>{}</p>", esc(description));
    }
    page.push_str("</section>");

    // Reform beside the baseline.
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

    page.push_str("<section><h2>Findings</h2>");
    page.push_str(&findings_table(&o.findings));
    page.push_str("</section>");

    // Flows: a Sankey per year and kind.
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
    for (i, step) in o.steps.iter().enumerate() {
        let _ = write!(
            page,
            "<details{}><summary>{}</summary>",
            if i == 0 { " open=\"open\"" } else { "" },
            step.year
        );
        for kind in [FlowKind::Funding, FlowKind::Compute, FlowKind::Power] {
            let links = links_for(s, e, step.year, kind, &loops);
            let svg = sankey(&links, &kind.base_unit(s.currency()), kind_color(kind));
            if !svg.is_empty() {
                let _ = write!(
                    page,
                    "<h3>{} ({})</h3>{svg}",
                    kind.as_str(),
                    esc(&kind.base_unit(s.currency()))
                );
            }
        }
        page.push_str("</details>");
    }
    page.push_str("</section>");

    // Power balance per region.
    let regions: BTreeSet<&str> = o.analyses.power.iter().map(|p| p.region.as_str()).collect();
    if !regions.is_empty() {
        page.push_str(r#"<section><h2>Power balance by region</h2><div class="charts">"#);
        for region in regions {
            let rows: Vec<(i32, f64, f64, f64)> = o
                .analyses
                .power
                .iter()
                .filter(|p| p.region == region)
                .map(|p| (p.year, p.demand_mw, p.capacity_mw, p.shortfall_mw))
                .collect();
            let _ = write!(
                page,
                r#"<div class="chart">{}</div>"#,
                power_chart(region, &rows)
            );
        }
        page.push_str("</div></section>");
    }

    // Key metrics over time (rule metrics), with the reform dashed beside the baseline.
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

    // Compute per cluster.
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
                esc(&c.cluster),
                c.year,
                esc(&human(c.supply)),
                esc(&human(c.demand))
            );
        }
        page.push_str("</table></section>");
    }

    // Circular financing.
    page.push_str("<section><h2>Money that goes round</h2>");
    if o.analyses.circular.is_empty() {
        page.push_str("<p>No financing loop (investment, loan, purchase, procurement or cloud money that returns to its source).</p>");
    } else {
        page.push_str(r#"<table><tr><th>loop</th><th class="num">bottleneck</th><th>vendor</th><th class="num">round-trip share</th><th class="num">income from investees</th><th>warning</th></tr>"#);
        for l in &o.analyses.circular {
            let mut path = l.path.clone();
            path.push(l.path[0].clone());
            let pct = |v: Option<f64>| {
                v.map(|x| format!("{:.1}%", x * 100.0))
                    .unwrap_or_else(|| "–".into())
            };
            let _ = write!(
                page,
                r#"<tr><td>{}</td><td class="num">{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td><td>{}</td></tr>"#,
                esc(&path.join(" → ")),
                esc(&human(l.bottleneck)),
                esc(l.vendor.as_deref().unwrap_or("–")),
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

    // What / How / Why.
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
                esc(&x.actor),
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

    // Sources.
    page.push_str("<section><h2>Sources</h2><ol>");
    for src in &o.scenario.sources {
        if src.starts_with("http://") || src.starts_with("https://") {
            let _ = write!(
                page,
                r#"<li><a href="{}" rel="noreferrer">{}</a></li>"#,
                esc(src),
                esc(src)
            );
        } else {
            let _ = write!(page, "<li>{}</li>", esc(src));
        }
    }
    page.push_str("</ol><p>Rules: ");
    let rules: Vec<String> = o
        .scenario
        .rules
        .iter()
        .map(|r| format!("<code>{}</code> ({})", esc(&r.id), esc(&r.file)))
        .collect();
    page.push_str(&if rules.is_empty() {
        "none".to_string()
    } else {
        rules.join(", ")
    });
    page.push_str("</p></section></main></body></html>\n");
    page
}
