//! What the numbers rest on: the parameters with their values, units, notes and
//! sources; and every source with the figures it supports, linked both ways.

use std::collections::BTreeMap;
use std::fmt::Write;

use gil_model::{Dated, Scenario, Sources};

use super::esc;
use super::sections::Page;

/// A value as the scenario writes it: one number, or `year: value` pairs.
fn dated_text(d: &Dated) -> String {
    match d {
        Dated::Fixed(v) => exact(*v),
        Dated::Series(points) => points
            .iter()
            .map(|(year, _, v)| format!("{year}: {}", exact(*v)))
            .collect::<Vec<_>>()
            .join(" · "),
    }
}

/// A number exactly (Rust's shortest round-trip form): as it is below a million,
/// `1.5e11` above, so no parameter is rounded away (`0.035`, `182700`).
fn exact(v: f64) -> String {
    if v.abs() < 1e6 {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

/// Each cited source, numbered in sorted order, with what cites it: (anchor, label).
fn cited(s: &Scenario) -> BTreeMap<String, Vec<(Option<String>, String)>> {
    let mut out: BTreeMap<String, Vec<(Option<String>, String)>> = BTreeMap::new();
    let mut add = |sources: Option<&Sources>, anchor: Option<String>, label: String| {
        for src in sources.into_iter().flat_map(|x| &x.0) {
            out.entry(src.clone())
                .or_default()
                .push((anchor.clone(), label.clone()));
        }
    };
    add(s.header.source.as_ref(), None, "the scenario".into());
    for (i, row) in rows(s, None).iter().enumerate() {
        add(
            Some(row.source),
            Some(param_anchor(i)),
            format!("parameter {}", row.name),
        );
    }
    for a in &s.actors {
        add(a.source.as_ref(), None, format!("actor {}", a.id.value));
    }
    for a in &s.assets {
        add(a.source.as_ref(), None, format!("asset {}", a.id.value));
    }
    for (f, id) in s.flows.iter().zip(&s.flow_ids) {
        add(f.source.as_ref(), None, format!("flow {id}"));
    }
    for p in &s.projects {
        add(p.source.as_ref(), None, format!("project {}", p.id.value));
    }
    out
}

/// A parameter row's anchor, by its place in the (sorted) table: names may hold any
/// character, and two names must never share an anchor.
fn param_anchor(row: usize) -> String {
    format!("param-{}", row + 1)
}

/// One row of the parameters table: a number or a text parameter.
struct Row<'a> {
    name: &'a str,
    value: String,
    /// The run's `--param` value.
    run: Option<String>,
    /// The reform's value.
    reform: Option<String>,
    unit: Option<&'a str>,
    note: Option<&'a str>,
    source: &'a Sources,
}

/// Every parameter, numbers and texts, by name, with the run's and the reform's values.
fn rows<'a>(s: &'a Scenario, cx: Option<&Page<'_>>) -> Vec<Row<'a>> {
    let run = cx.map(|cx| cx.options);
    let reform = cx.and_then(|cx| cx.reform);
    let mut rows: Vec<Row<'a>> = s
        .parameters
        .iter()
        .map(|(name, p)| Row {
            name,
            value: dated_text(&p.value.value),
            run: run.and_then(|o| o.params.get(name)).map(dated_text),
            reform: reform.and_then(|r| r.params.get(name)).map(dated_text),
            unit: p.unit.as_deref(),
            note: p.note.as_deref(),
            source: &p.source,
        })
        .chain(s.text_parameters.iter().map(|(name, p)| {
            Row {
                name,
                value: p.value.value.to_string(),
                run: run
                    .and_then(|o| o.text_params.get(name))
                    .map(ToString::to_string),
                reform: reform
                    .and_then(|r| r.text_params.get(name))
                    .map(ToString::to_string),
                unit: p.unit.as_deref(),
                note: p.note.as_deref(),
                source: &p.source,
            }
        }))
        .collect();
    rows.sort_by(|a, b| a.name.cmp(b.name));
    rows
}

fn source_link(src: &str) -> String {
    if src.starts_with("http://") || src.starts_with("https://") {
        format!(
            r#"<a href="{}" rel="noreferrer">{}</a>"#,
            esc(src),
            esc(src)
        )
    } else {
        esc(src)
    }
}

/// The parameters and assumptions table; values a `--param` or the reform set are
/// shown beside the scenario's.
pub(super) fn parameters(page: &mut String, cx: &Page<'_>) {
    let s = cx.scenario;
    let rows = rows(s, Some(cx));
    if rows.is_empty() {
        return;
    }
    let cited = cited(s);
    let numbers: BTreeMap<&str, usize> = cited
        .keys()
        .enumerate()
        .map(|(i, src)| (src.as_str(), i + 1))
        .collect();
    let reform = cx
        .reform
        .filter(|r| !r.params.is_empty() || !r.text_params.is_empty());
    page.push_str(r#"<section><h2>Parameters and assumptions</h2><p class="why">Every number the rules read, as the scenario writes it. A parameter without a source is an assumption; its note says why.</p><table><tr><th>parameter</th><th>value</th>"#);
    if reform.is_some() {
        page.push_str("<th>reform</th>");
    }
    page.push_str("<th>unit</th><th>note</th><th>sources</th></tr>");
    for (i, row) in rows.iter().enumerate() {
        let value = match &row.run {
            Some(run) => format!("<s>{}</s> {} (--param)", esc(&row.value), esc(run)),
            None => esc(&row.value),
        };
        let _ = write!(
            page,
            r#"<tr id="{}"><td><code>{}</code></td><td class="num">{value}</td>"#,
            param_anchor(i),
            esc(row.name)
        );
        if reform.is_some() {
            let _ = write!(
                page,
                r#"<td class="num">{}</td>"#,
                row.reform.as_deref().map_or_else(|| "–".into(), esc)
            );
        }
        let refs: Vec<String> = row
            .source
            .0
            .iter()
            .filter_map(|src| numbers.get(src.as_str()))
            .map(|n| format!(r##"<a href="#source-{n}">[{n}]</a>"##))
            .collect();
        let _ = write!(
            page,
            "<td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(row.unit.unwrap_or("")),
            esc(row.note.unwrap_or("")),
            if refs.is_empty() {
                r#"<span class="level-info">assumption</span>"#.to_string()
            } else {
                refs.join(" ")
            }
        );
    }
    page.push_str("</table></section>");
}

/// Every source, numbered, with the parameters, actors, assets, flows and projects it
/// supports; and the rules the run used.
pub(super) fn sources(page: &mut String, cx: &Page<'_>) {
    let o = &cx.evaluation.outcome;
    page.push_str("<section><h2>Sources</h2><ol>");
    for (i, (src, uses)) in cited(cx.scenario).iter().enumerate() {
        let supports: Vec<String> = uses
            .iter()
            .map(|(anchor, label)| match anchor {
                Some(anchor) => format!(r##"<a href="#{anchor}">{}</a>"##, esc(label)),
                None => esc(label),
            })
            .collect();
        let _ = write!(
            page,
            r#"<li id="source-{}">{}<br/><span class="level-info">supports: {}</span></li>"#,
            i + 1,
            source_link(src),
            supports.join(", ")
        );
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
    page.push_str("</p></section>");
}
