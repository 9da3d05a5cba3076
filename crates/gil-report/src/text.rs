//! The outcome, a diff and role tables as aligned text or markdown.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use gil_engine::diff::DiffReport;
use gil_engine::Outcome;
use gil_rules::Level;

use crate::human;

/// A table rendered as aligned columns or as a markdown table.
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Columns aligned right (numbers).
    pub right: Vec<bool>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
            right: vec![false; header.len()],
        }
    }

    pub fn right_align(mut self, columns: &[usize]) -> Self {
        for &c in columns {
            if let Some(r) = self.right.get_mut(c) {
                *r = true;
            }
        }
        self
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self, markdown: bool) -> String {
        let mut out = String::new();
        if markdown {
            let esc = |s: &str| s.replace('|', "\\|");
            let _ = writeln!(
                out,
                "| {} |",
                self.header
                    .iter()
                    .map(|h| esc(h))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
            let seps: Vec<&str> = self
                .right
                .iter()
                .map(|r| if *r { "---:" } else { "---" })
                .collect();
            let _ = writeln!(
                out,
                "|{}|",
                seps.iter()
                    .map(|s| format!(" {s} "))
                    .collect::<Vec<_>>()
                    .join("|")
            );
            for row in &self.rows {
                let _ = writeln!(
                    out,
                    "| {} |",
                    row.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")
                );
            }
            return out;
        }
        let width = display_width;
        let mut widths: Vec<usize> = self.header.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (i, c) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(width(c));
                }
            }
        }
        let line = |cells: &[String], out: &mut String| {
            let mut parts = Vec::new();
            for (i, c) in cells.iter().enumerate() {
                let pad = widths.get(i).copied().unwrap_or(0).saturating_sub(width(c));
                if self.right.get(i).copied().unwrap_or(false) {
                    parts.push(format!("{}{c}", " ".repeat(pad)));
                } else {
                    parts.push(format!("{c}{}", " ".repeat(pad)));
                }
            }
            let _ = writeln!(out, "  {}", parts.join("  ").trim_end());
        };
        line(&self.header, &mut out);
        let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
        line(&rule, &mut out);
        for row in &self.rows {
            line(row, &mut out);
        }
        out
    }
}

/// Terminal columns a cell takes: wide characters count two, and colour escape
/// sequences (`ESC [ … m`) none, so coloured tables align like plain ones.
pub fn display_width(s: &str) -> usize {
    let mut width = 0;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip the CSI sequence up to and including its final byte.
            for next in chars.by_ref() {
                if ('@'..='~').contains(&next) && next != '[' {
                    break;
                }
            }
            continue;
        }
        width += char_width(c);
    }
    width
}

/// Terminal cells: East Asian wide characters (Hangul, CJK) take two columns.
fn char_width(c: char) -> usize {
    let u = c as u32;
    let wide = (0x1100..=0x115F).contains(&u)
        || (0x2E80..=0xA4CF).contains(&u)
        || (0xAC00..=0xD7A3).contains(&u)
        || (0xF900..=0xFAFF).contains(&u)
        || (0xFE30..=0xFE4F).contains(&u)
        || (0xFF00..=0xFF60).contains(&u)
        || (0xFFE0..=0xFFE6).contains(&u);
    if wide {
        2
    } else {
        1
    }
}

fn heading(out: &mut String, markdown: bool, level: usize, text: &str) {
    if markdown {
        let _ = writeln!(out, "\n{} {text}\n", "#".repeat(level));
    } else {
        let _ = writeln!(out, "\n{text}");
    }
}

fn level_text(level: Level, color: bool) -> String {
    let (name, code) = match level {
        Level::Error => ("error", "31"),
        Level::Warn => ("warn", "33"),
        Level::Info => ("info", "36"),
    };
    if color {
        format!("\u{1b}[{code}m{name}\u{1b}[0m")
    } else {
        name.to_string()
    }
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

/// What the text forms of the outcome show beyond the fixed sections.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    /// ANSI colour (terminal tables only).
    pub color: bool,
    /// List every flow of every year (`gil run --flows`).
    pub flows: bool,
}

/// `n thing` or `n things`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A table, or `none` when it has no rows (an empty table is only a header).
fn table_or_none(out: &mut String, t: &Table, markdown: bool, none: &str) {
    if t.rows.is_empty() {
        let _ = writeln!(out, "{}{none}", if markdown { "" } else { "  " });
    } else {
        out.push_str(&t.render(markdown));
    }
}

pub fn outcome_text(o: &Outcome, markdown: bool, opts: &TextOptions) -> String {
    let color = opts.color && !markdown;
    let mut out = String::new();
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

    heading(
        &mut out,
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

    let warnings = o.findings.iter().filter(|f| f.level == Level::Warn).count();
    let errors = o
        .findings
        .iter()
        .filter(|f| f.level == Level::Error)
        .count();
    heading(
        &mut out,
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
    table_or_none(&mut out, &t, markdown, "none");

    if !o.analyses.targets.is_empty() {
        heading(&mut out, markdown, 2, "Targets");
        let mut t = Table::new(&["project", "metric", "target", "by", "value", "status"])
            .right_align(&[3, 4]);
        for line in &o.analyses.targets {
            let target = match (line.at_least, line.at_most) {
                (Some(x), _) => format!("≥ {}", human(x)),
                (_, Some(x)) => format!("≤ {}", human(x)),
                _ => String::new(),
            };
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

    roles_summary(&mut out, o, markdown, color);
    circular_table(&mut out, o, markdown);

    let years: Vec<i32> = o.steps.iter().map(|s| s.year).collect();
    if !o.analyses.power.is_empty() {
        heading(
            &mut out,
            markdown,
            2,
            "Power by region (MW: demand / capacity)",
        );
        let regions: BTreeSet<&str> = o.analyses.power.iter().map(|p| p.region.as_str()).collect();
        let t = year_pivot("region", &regions, &years, |region, y| {
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

    if !o.analyses.compute.is_empty() {
        heading(
            &mut out,
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
        let t = year_pivot("cluster", &clusters, &years, |cluster, y| {
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

    // Rule metrics and the power analysis's; per-entity flow totals are in the ledger.
    let names: BTreeSet<&str> = o
        .steps
        .iter()
        .flat_map(|s| s.metrics.keys().map(move |n| (s, n.as_str())))
        .filter(|(s, n)| !matches!(s.metric_key(n), gil_model::metric::MetricKey::Flow { .. }))
        .map(|(_, n)| n)
        .collect();
    if !names.is_empty() {
        heading(&mut out, markdown, 2, "Metrics");
        let mut header = vec!["metric".to_string()];
        header.extend(o.steps.iter().map(|s| s.year.to_string()));
        let mut t = Table {
            right: vec![true; header.len()],
            header,
            rows: Vec::new(),
        };
        t.right[0] = false;
        for name in names {
            let mut row = vec![name.to_string()];
            row.extend(o.steps.iter().map(|s| {
                s.metrics
                    .get(name)
                    .map(|v| human(*v))
                    .unwrap_or_else(|| "–".into())
            }));
            t.row(row);
        }
        out.push_str(&t.render(markdown));
    }

    heading(
        &mut out,
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
    table_or_none(&mut out, &t, markdown, "no money moves");
    if opts.flows {
        every_flow(&mut out, o, markdown);
    }
    out
}

/// One line per project (What owner, How actors, checks) and every check that did
/// not pass; `gil roles` has the full What / How / Why tables.
fn roles_summary(out: &mut String, o: &Outcome, markdown: bool, color: bool) {
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
fn circular_table(out: &mut String, o: &Outcome, markdown: bool) {
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

/// Every flow of every year, as `--flows` asks.
fn every_flow(out: &mut String, o: &Outcome, markdown: bool) {
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

pub fn diff_text(d: &DiffReport, markdown: bool) -> String {
    let mut out = String::new();
    if d.is_empty() {
        out.push_str("no changes: the reform gives the same outcome\n");
        return out;
    }
    for (list, title, what) in [
        (&d.metrics, "Metrics that change", "metric"),
        (
            &d.flows,
            "Flows per actor that change",
            "actor · direction · kind (via)",
        ),
    ] {
        if list.is_empty() {
            continue;
        }
        heading(&mut out, markdown, 2, title);
        let mut t = Table::new(&["year", what, "baseline", "reform", "change", "%"])
            .right_align(&[2, 3, 4, 5]);
        for c in list {
            let (base, reform) = distinct_pair(c.base, c.reform);
            t.row(vec![
                c.year.to_string(),
                c.name.clone(),
                base,
                reform,
                signed(c.delta),
                percent_change(c.base, c.reform),
            ]);
        }
        out.push_str(&t.render(markdown));
    }
    if !d.findings_added.is_empty() || !d.findings_removed.is_empty() {
        heading(&mut out, markdown, 2, "Findings");
        let mut t = Table::new(&["", "level", "year", "code", "message"]);
        for (sign, list) in [("+", &d.findings_added), ("-", &d.findings_removed)] {
            for f in list {
                t.row(vec![
                    sign.into(),
                    level_text(f.level, false),
                    f.step.map(|y| y.to_string()).unwrap_or_else(|| "–".into()),
                    f.code.clone(),
                    f.message.clone(),
                ]);
            }
        }
        out.push_str(&t.render(markdown));
    }
    out
}

/// Two numbers for people, with as many digits as it takes to tell them apart
/// (`10.2T` and `10.2T` become `10.235T` and `10.213T`).
fn distinct_pair(a: f64, b: f64) -> (String, String) {
    let (plain_a, plain_b) = (human(a), human(b));
    if a == b || plain_a != plain_b {
        return (plain_a, plain_b);
    }
    let larger = if a.abs() >= b.abs() { a } else { b };
    let (scaled, suffix) = gil_engine::scale_si(larger);
    let unit = if scaled == 0.0 { 1.0 } else { larger / scaled };
    for decimals in 3..=12 {
        let (x, y) = (
            format!("{:.decimals$}{suffix}", a / unit),
            format!("{:.decimals$}{suffix}", b / unit),
        );
        if x != y {
            return (x, y);
        }
    }
    (format!("{a}"), format!("{b}"))
}

/// The change from `base` to `reform` in percent of `base` (`–` from zero).
fn percent_change(base: f64, reform: f64) -> String {
    if base == 0.0 {
        return "–".into();
    }
    let pct = (reform - base) / base.abs() * 100.0;
    let text = if pct.abs() >= 10.0 {
        format!("{pct:+.1}%")
    } else {
        format!("{pct:+.2}%")
    };
    if text == "-0.00%" || text == "+0.00%" {
        format!("{pct:+.2e}%")
    } else {
        text
    }
}

fn signed(v: f64) -> String {
    if v > 0.0 {
        format!("+{}", human(v))
    } else {
        human(v)
    }
}

fn status_text(status: gil_engine::outcome::Status, markdown: bool, color: bool) -> String {
    use gil_engine::outcome::Status;
    match (status, markdown, color) {
        (Status::Pass, true, _) => "✅ pass".into(),
        (Status::Warn, true, _) => "⚠️ warn".into(),
        (Status::Fail, true, _) => "❌ fail".into(),
        (Status::Pass, false, true) => "\u{1b}[32mpass\u{1b}[0m".into(),
        (Status::Warn, false, true) => "\u{1b}[33mwarn\u{1b}[0m".into(),
        (Status::Fail, false, true) => "\u{1b}[31mfail\u{1b}[0m".into(),
        (Status::Pass, false, false) => "pass".into(),
        (Status::Warn, false, false) => "warn".into(),
        (Status::Fail, false, false) => "fail".into(),
    }
}

fn role_names(roles: &[gil_rules::Role]) -> String {
    if roles.is_empty() {
        return "participant".into();
    }
    roles
        .iter()
        .map(|r| match r {
            gil_rules::Role::What => "What",
            gil_rules::Role::How => "How",
            gil_rules::Role::Why => "Why",
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// What / How / Why per project, with its checks: for the terminal or a wiki page.
pub fn roles_text(
    projects: &[gil_engine::outcome::ProjectRoles],
    currency: &str,
    markdown: bool,
    color: bool,
) -> String {
    let mut out = String::new();
    for p in projects {
        let title = p
            .title
            .as_deref()
            .map(|t| format!(" — {t}"))
            .unwrap_or_default();
        if markdown {
            let _ = writeln!(out, "## `{}`{title}\n", p.project);
            if let Some(goal) = &p.goal {
                let _ = writeln!(out, "**What:** {goal}  ");
            }
            let how: Vec<&str> = p
                .participants
                .iter()
                .filter(|x| x.roles.contains(&gil_rules::Role::How))
                .map(|x| x.actor.as_str())
                .collect();
            let _ = writeln!(
                out,
                "**How:** {}  ",
                if how.is_empty() {
                    "nobody yet".to_string()
                } else {
                    how.join(", ")
                }
            );
            let _ = writeln!(
                out,
                "**Why:** {}\n",
                p.why.as_deref().unwrap_or("(not stated)")
            );
        } else {
            let _ = writeln!(out, "\n{}{title}", p.project);
            if let Some(goal) = &p.goal {
                let _ = writeln!(out, "  What: {goal}");
            }
            let _ = writeln!(
                out,
                "  Why:  {}",
                p.why.as_deref().unwrap_or("(not stated)")
            );
        }
        let money = format!("money in / out ({currency})");
        let mut t = Table::new(&[
            "role",
            "actor",
            "kind",
            "contribution",
            &money,
            "GPU-hours in / out",
            "peak MW",
        ])
        .right_align(&[4, 5, 6]);
        for x in &p.participants {
            let pair = |a: f64, b: f64| {
                if a == 0.0 && b == 0.0 {
                    "–".to_string()
                } else {
                    format!("{} / {}", human(a), human(b))
                }
            };
            t.row(vec![
                role_names(&x.roles),
                x.actor.clone(),
                x.kind.clone(),
                x.contributions.join("; "),
                pair(x.flows.money_in, x.flows.money_out),
                pair(x.flows.gpu_hours_in, x.flows.gpu_hours_out),
                if x.flows.peak_mw == 0.0 {
                    "–".into()
                } else {
                    human(x.flows.peak_mw)
                },
            ]);
        }
        out.push_str(&t.render(markdown));
        if markdown {
            out.push('\n');
        } else {
            out.push_str("\n  checks\n");
        }
        let mut c = Table::new(&["check", "status", "why"]);
        for check in &p.checks {
            let mut message = check.message.clone();
            if let Some(from) = &check.from {
                let _ = write!(message, " [{from}]");
            }
            c.row(vec![
                check.id.clone(),
                status_text(check.status, markdown, color),
                message,
            ]);
        }
        out.push_str(&c.render(markdown));
        if markdown {
            out.push('\n');
        }
    }
    out
}
