//! `gil report --html`: one self-contained HTML page (inline CSS and SVG, no scripts,
//! no network) that tells a scenario's story at a glance: who pays whom (a Sankey per
//! year and kind), where power runs short, which money goes round in circles, and who
//! holds What, How and Why.
//!
//! `mod.rs` puts the page together; `sections.rs` writes one section each and
//! `assumptions.rs` the parameters and sources; `labels.rs` names actors and assets;
//! `svg.rs` draws the Sankeys and charts.

use gil_engine::diff::DiffReport;
use gil_engine::Evaluation;
use gil_model::Scenario;

mod assumptions;
mod chain;
mod labels;
mod sections;
mod svg;
mod sweep;

pub use sweep::sweep_report;

use sections::Page;

/// A reform shown beside the baseline.
pub struct ReformView<'a> {
    pub title: String,
    pub evaluation: &'a Evaluation,
    pub diff: &'a DiffReport,
    /// The parameter values the reform sets.
    pub params: std::collections::BTreeMap<String, gil_model::Dated>,
    /// The text and list parameter values the reform sets.
    pub text_params: std::collections::BTreeMap<String, gil_model::TextValue>,
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
.card b .reform { color: var(--loop); font-size: 22px; }
.level-error, .status-fail { color: var(--error); font-weight: 600; }
.level-warn, .status-warn { color: var(--warn); font-weight: 600; }
.level-info { color: var(--muted); }
.status-pass { color: var(--ok); font-weight: 600; }
.wide { overflow-x: auto; }
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

/// The start of every page gil writes: the document head with its inline style, up
/// to the opening `<body>`.
fn document_head(page: &mut String, title: &str) {
    use std::fmt::Write as _;
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"ko\"><head><meta charset=\"utf-8\"/><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/><title>{}</title><style>{STYLE}</style></head><body>",
        esc(title)
    );
}

/// What the page shows beyond its defaults.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// Draw flows to and from `boundary` actors (capital markets, the rest of the
    /// world) on the Sankeys. Off by default: their amounts dwarf policy money.
    pub boundary: bool,
    /// Draw each Sankey as chains (ministry → agency → startups → clouds), a column
    /// per step, instead of payers against payees.
    pub chains: bool,
    /// Parameter values set for the run (`--param`), shown beside the scenario's.
    pub params: std::collections::BTreeMap<String, gil_model::Dated>,
    /// Text and list parameter values set for the run.
    pub text_params: std::collections::BTreeMap<String, gil_model::TextValue>,
}

/// The whole page.
pub fn report(
    s: &Scenario,
    e: &Evaluation,
    reform: Option<&ReformView<'_>>,
    options: &ReportOptions,
) -> String {
    let cx = Page {
        scenario: s,
        evaluation: e,
        reform,
        options,
        labels: labels::Labels::new(s),
    };
    let mut page = String::new();
    for section in sections::ALL {
        section(&mut page, &cx);
    }
    page.push_str("</main></body></html>\n");
    page
}
