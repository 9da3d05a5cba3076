//! A reform's diff as text or markdown: the metrics (per year and over the horizon),
//! per-actor flows, analyses, loops, targets and roles that change,
//! then the findings it adds and removes.

use gil_engine::diff::{DiffReport, ValueChange};

use super::{heading, level_text, Table};
use crate::human;

pub fn diff_text(d: &DiffReport, markdown: bool) -> String {
    let mut out = String::new();
    if d.is_empty() {
        out.push_str("no changes: the reform gives the same outcome\n");
        return out;
    }
    changes_section(
        &mut out,
        &d.metrics,
        "Metrics that change",
        "metric",
        markdown,
    );
    changes_section(
        &mut out,
        &d.horizon,
        "Metrics over the horizon",
        "metric (sum of every year)",
        markdown,
    );
    changes_section(
        &mut out,
        &d.flows,
        "Flows per actor that change",
        "actor · direction · kind (via)",
        markdown,
    );
    changes_section(
        &mut out,
        &d.analyses,
        "Compute and power analyses",
        "what",
        markdown,
    );
    loops_section(&mut out, d, markdown);
    targets_section(&mut out, d, markdown);
    roles_section(&mut out, d, markdown);
    findings_section(&mut out, d, markdown);
    out
}

/// Values that change, one row per year and name (`what` heads the name column); no
/// section when nothing changes.
fn changes_section(
    out: &mut String,
    list: &[ValueChange],
    title: &str,
    what: &str,
    markdown: bool,
) {
    if list.is_empty() {
        return;
    }
    heading(out, markdown, 2, title);
    let mut t =
        Table::new(&["year", what, "baseline", "reform", "change", "%"]).right_align(&[2, 3, 4, 5]);
    for c in list {
        let (base, reform) = distinct_pair(c.base, c.reform);
        t.row(vec![
            if c.year == 0 {
                "all".to_string()
            } else {
                c.year.to_string()
            },
            c.name.clone(),
            base,
            reform,
            signed(c.delta),
            percent_change(c.base, c.reform),
        ]);
    }
    out.push_str(&t.render(markdown));
}

/// Targets whose value, verdict or first year met the reform moves.
fn targets_section(out: &mut String, d: &DiffReport, markdown: bool) {
    if d.targets.is_empty() {
        return;
    }
    heading(out, markdown, 2, "Targets");
    let mut t = Table::new(&["project", "metric", "by", "baseline", "reform", "first met"])
        .right_align(&[3, 4]);
    let verdict =
        |value: f64, met: bool| format!("{} {}", human(value), if met { "met" } else { "not met" });
    let year = |y: Option<i32>| y.map_or("never".to_string(), |y| y.to_string());
    for c in &d.targets {
        t.row(vec![
            c.project.clone(),
            c.metric.clone(),
            c.by.to_string(),
            verdict(c.base_value, c.base_met),
            verdict(c.reform_value, c.reform_met),
            format!("{} → {}", year(c.base_first_met), year(c.reform_first_met)),
        ]);
    }
    out.push_str(&t.render(markdown));
}

/// Participants whose roles the reform changes.
fn roles_section(out: &mut String, d: &DiffReport, markdown: bool) {
    if d.roles.is_empty() {
        return;
    }
    heading(out, markdown, 2, "Roles");
    let mut t = Table::new(&["project", "actor", "baseline", "reform"]);
    for c in &d.roles {
        t.row(vec![
            c.project.clone(),
            c.actor.clone(),
            super::roles::role_names(&c.base),
            super::roles::role_names(&c.reform),
        ]);
    }
    out.push_str(&t.render(markdown));
}

/// Circular-financing loops the reform opens (`+`) and closes (`-`).
fn loops_section(out: &mut String, d: &DiffReport, markdown: bool) {
    if d.loops_added.is_empty() && d.loops_removed.is_empty() {
        return;
    }
    heading(out, markdown, 2, "Circular financing");
    let mut t = Table::new(&["", "loop"]);
    for (sign, list) in [("+", &d.loops_added), ("-", &d.loops_removed)] {
        for path in list {
            let mut shown = path.join(" → ");
            if let Some(first) = path.first() {
                shown.push_str(&format!(" → {first}"));
            }
            t.row(vec![sign.into(), shown]);
        }
    }
    out.push_str(&t.render(markdown));
}

/// Findings the reform adds (`+`) and removes (`-`).
fn findings_section(out: &mut String, d: &DiffReport, markdown: bool) {
    if d.findings_added.is_empty() && d.findings_removed.is_empty() {
        return;
    }
    heading(out, markdown, 2, "Findings");
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
