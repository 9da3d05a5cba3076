//! `gil test`: rule test cases in `*.test.yaml` files, run against a scenario, with
//! expected metrics, flows, findings and roles within a tolerance.
//!
//! ```yaml
//! cases:
//!   - name: startups get 80% of their compute cost
//!     scenario: ../../examples/minimal/scenario.yaml   # or the scenario inline
//!     rules: [compute_voucher.lua]   # default: the .lua file beside the test
//!     params: { voucher.coverage: 0.8 }
//!     years: [2026]                  # default: every year
//!     expect:
//!       metrics: { voucher.granted: 1.6e9 }              # or { 2026: …, 2027: … }
//!       flows: [ { from: nipa, to: startups, via: voucher, amount: 1.6e9 } ]
//!       findings: [ { code: voucher.cap_reached, level: warn } ]
//!       roles: [ { project: compute-voucher, actor: startups, role: how } ]
//!     tolerance: { abs: 1.0, rel: 1e-9 }
//! ```

use gil_model::code::Code;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use gil_model::diag::Diagnostic;
use gil_model::yaml::{self, Node, NodeKind, Path as KeyPath};
use gil_model::{Dated, LoadError, SourceMap, Span, Spanned};
use gil_rules::{Level, Role, SandboxConfig};
use serde::Deserialize;

use crate::{Evaluation, Options};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    #[serde(default)]
    pub rule: Option<String>,
    #[serde(default)]
    pub doc: Option<String>,
    pub cases: Vec<Spanned<Case>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    /// Read from the tree by the loader (a path, or the scenario inline).
    #[serde(rename = "scenario", default)]
    _scenario: Option<serde::de::IgnoredAny>,
    /// Filled in by the loader: a path, or an inline scenario re-read as text.
    #[serde(skip)]
    pub scenario: ScenarioRef,
    #[serde(default)]
    pub rules: Option<Vec<String>>,
    #[serde(default)]
    pub params: BTreeMap<String, Dated>,
    #[serde(default)]
    pub years: Option<Vec<i32>>,
    #[serde(default)]
    pub expect: Expect,
    #[serde(default)]
    pub tolerance: Tolerance,
}

#[derive(Debug, Clone, Default)]
pub enum ScenarioRef {
    #[default]
    Missing,
    Path(PathBuf),
    Inline(String),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default)]
    pub metrics: BTreeMap<String, Dated>,
    #[serde(default)]
    pub flows: Vec<FlowExpect>,
    #[serde(default)]
    pub findings: Vec<FindingExpect>,
    /// Finding codes that must not appear.
    #[serde(default)]
    pub no_findings: Vec<String>,
    #[serde(default)]
    pub roles: Vec<RoleExpect>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowExpect {
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub via: Option<String>,
    #[serde(default)]
    pub project: Option<String>,
    pub amount: Dated,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingExpect {
    pub code: String,
    #[serde(default)]
    pub level: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub year: Option<i32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleExpect {
    pub project: String,
    pub actor: String,
    pub role: String,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tolerance {
    #[serde(default)]
    pub abs: f64,
    #[serde(default = "default_rel")]
    pub rel: f64,
}

fn default_rel() -> f64 {
    1e-9
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            abs: 0.0,
            rel: default_rel(),
        }
    }
}

impl Tolerance {
    pub fn accepts(&self, expected: f64, actual: f64) -> bool {
        let diff = (expected - actual).abs();
        diff <= self.abs || diff <= self.rel * expected.abs().max(actual.abs())
    }
}

/// A loaded test file: its cases and where they are.
#[derive(Debug)]
pub struct Suite {
    pub file: PathBuf,
    pub sources: SourceMap,
    pub cases: Vec<Spanned<Case>>,
}

/// Finds `*.test.yaml` files below each path (or the files themselves), sorted.
pub fn discover(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            gil_rules::find_files(p, ".test.yaml", &["target"], &mut out)?;
        } else {
            std::fs::metadata(p)?;
            out.push(p.clone());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn load_error(sources: SourceMap, d: Diagnostic) -> LoadError {
    LoadError {
        sources,
        diagnostics: vec![d],
    }
}

/// Reads a test file; problems come back as positioned diagnostics.
pub fn load_suite(path: &Path) -> Result<Suite, LoadError> {
    let mut sources = SourceMap::new();
    let display = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            return Err(load_error(
                sources,
                Diagnostic::error(Code::FileMissing, format!("cannot read `{display}`: {e}"))
                    .file(display),
            ))
        }
    };
    let file = sources.add(display.clone(), path.to_path_buf(), text.clone());
    let node = match yaml::parse(&text, file) {
        Ok(Some(node)) => node,
        Ok(None) => {
            return Err(load_error(
                sources,
                Diagnostic::error(Code::EmptyFile, format!("`{display}` is empty"))
                    .at(Span::new(file, 0, 0)),
            ))
        }
        Err(e) => return Err(load_error(sources, gil_model::load::yaml_diagnostic(e))),
    };
    let parsed: TestFile = match yaml::from_node(&node, &KeyPath::Root("")) {
        Ok(t) => t,
        Err(e) => return Err(load_error(sources, gil_model::load::yaml_diagnostic(e))),
    };
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let case_nodes: Vec<&Node> = match node.get("cases").map(|n| &n.kind) {
        Some(NodeKind::Seq(items)) => items.iter().collect(),
        _ => Vec::new(),
    };
    let mut cases = parsed.cases;
    for (case, node) in cases.iter_mut().zip(case_nodes) {
        case.value.scenario = match node.get("scenario") {
            None => {
                return Err(load_error(
                    sources,
                    Diagnostic::error(
                        Code::MissingField,
                        "missing field `scenario` (a path or the scenario inline)",
                    )
                    .at(case.span)
                    .path("cases[].scenario"),
                ))
            }
            Some(n) => match &n.kind {
                NodeKind::Scalar { text, .. } => ScenarioRef::Path(dir.join(text)),
                NodeKind::Map(_) => match serde_yaml::to_string(&n.to_value()) {
                    Ok(text) => ScenarioRef::Inline(text),
                    Err(e) => {
                        return Err(load_error(
                            sources,
                            Diagnostic::error(Code::WrongType, e.to_string()).at(n.span),
                        ))
                    }
                },
                _ => {
                    return Err(load_error(
                        sources,
                        Diagnostic::error(Code::WrongType, "`scenario` is a path or a mapping")
                            .at(n.span),
                    ))
                }
            },
        };
    }
    Ok(Suite {
        file: path.to_path_buf(),
        sources,
        cases,
    })
}

/// Why a case did not pass.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseFailure {
    /// The case could not run: a bad scenario, rule or option (rendered text).
    Error(String),
    /// The outcome differs from what was expected: one line per difference.
    Mismatch(Vec<String>),
}

/// The rules a case loads: its `rules:` relative to the test file, or the `.lua` file
/// with the test file's name.
pub fn case_rules(suite_file: &Path, case: &Case) -> Vec<PathBuf> {
    let dir = suite_file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    match &case.rules {
        Some(list) => list.iter().map(|r| dir.join(r)).collect(),
        None => {
            let name = suite_file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let sibling = dir.join(name.trim_end_matches(".test.yaml").to_string() + ".lua");
            if sibling.exists() {
                vec![sibling]
            } else {
                Vec::new()
            }
        }
    }
}

/// Runs one case. `render` turns load and rule errors into text.
pub fn run_case(
    suite_file: &Path,
    case: &Case,
    config: SandboxConfig,
    render_load: &dyn Fn(&LoadError) -> String,
    render_rule: &dyn Fn(&gil_rules::RuleError, &Path) -> String,
) -> Result<(), CaseFailure> {
    let scenario = match &case.scenario {
        ScenarioRef::Path(p) => gil_model::load(p),
        ScenarioRef::Inline(text) => {
            let dir = suite_file
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let name = format!(
                "{} (inline scenario of `{}`)",
                suite_file.display(),
                case.name
            );
            gil_model::load_str(&name, text, &dir)
        }
        ScenarioRef::Missing => {
            return Err(CaseFailure::Error("the case names no scenario".into()))
        }
    }
    .map_err(|e| CaseFailure::Error(render_load(&e)))?;
    let rules = crate::load_rules(&scenario, &case_rules(suite_file, case), config)
        .map_err(|e| CaseFailure::Error(render_rule(&e, &scenario.root_dir)))?;
    let options = Options {
        params: case.params.clone(),
        all_flows: true,
        cancel: None,
        threads: 1,
    };
    let evaluation = crate::evaluate(&scenario, &rules, &options).map_err(|e| match e {
        crate::EngineError::Rule(r) => CaseFailure::Error(render_rule(&r, &scenario.root_dir)),
        other => CaseFailure::Error(other.to_string()),
    })?;
    let mismatches = compare(case, &evaluation);
    if mismatches.is_empty() {
        Ok(())
    } else {
        Err(CaseFailure::Mismatch(mismatches))
    }
}

fn expected_by_year(value: &Dated, years: &[i32]) -> Vec<(i32, f64)> {
    match value {
        Dated::Fixed(v) => years.iter().map(|y| (*y, *v)).collect(),
        Dated::Series(points) => points.iter().map(|(y, _, v)| (*y, *v)).collect(),
    }
}

fn describe(expected: f64, actual: Option<f64>) -> String {
    match actual {
        None => format!("expected {}, got nothing", crate::number(expected)),
        Some(a) => {
            let diff = a - expected;
            let pct = if expected != 0.0 {
                format!(", {:+.3}%", diff / expected * 100.0)
            } else {
                String::new()
            };
            format!(
                "expected {}, got {} ({}{}{pct})",
                crate::number(expected),
                crate::number(a),
                if diff >= 0.0 { "+" } else { "" },
                crate::number(diff)
            )
        }
    }
}

/// Why an expected finding was not matched: the nearest finding with its code (at
/// another level, for another subject, in other years), or what was reported instead.
fn finding_mismatch(
    f: &FindingExpect,
    same_code: &[&crate::outcome::Finding],
    subject_ok: &dyn Fn(&crate::outcome::Finding) -> bool,
    level_ok: &dyn Fn(&crate::outcome::Finding) -> bool,
    when_ok: &dyn Fn(&crate::outcome::Finding) -> bool,
    e: &Evaluation,
    years: &[i32],
) -> String {
    let code = &f.code;
    let distinct = |items: Vec<String>| -> String {
        let set: BTreeSet<String> = items.into_iter().collect();
        set.into_iter().collect::<Vec<_>>().join(", ")
    };
    if let Some(x) = same_code.iter().find(|x| subject_ok(x) && when_ok(x)) {
        return format!(
            "finding `{code}` is reported at level `{}`, not `{}`",
            x.level.as_str(),
            f.level.as_deref().unwrap_or("")
        );
    }
    if same_code.iter().any(|x| level_ok(x) && when_ok(x)) {
        let subjects = distinct(
            same_code
                .iter()
                .filter(|x| when_ok(x))
                .filter_map(|x| x.subject.clone())
                .map(|s| format!("`{s}`"))
                .collect(),
        );
        return format!(
            "finding `{code}` is reported for {subjects}, not for `{}`",
            f.subject.as_deref().unwrap_or("")
        );
    }
    if !same_code.is_empty() {
        let when = distinct(
            same_code
                .iter()
                .map(|x| {
                    x.step
                        .map_or_else(|| "the whole horizon".to_string(), |y| y.to_string())
                })
                .collect(),
        );
        let wanted = f
            .year
            .map_or_else(|| "in the case's years".to_string(), |y| format!("in {y}"));
        return format!("finding `{code}` is expected {wanted} but reported only in {when}");
    }
    let others = distinct(
        e.outcome
            .findings
            .iter()
            .filter(|x| x.step.is_none_or(|s| years.contains(&s)))
            .map(|x| format!("`{}`", x.code))
            .collect(),
    );
    format!(
        "finding `{code}` is not reported (reported: {})",
        if others.is_empty() {
            "none".to_string()
        } else {
            others
        }
    )
}

/// Every difference between what the case expects and the outcome.
pub fn compare(case: &Case, e: &Evaluation) -> Vec<String> {
    let all_years: Vec<i32> = e.outcome.steps.iter().map(|s| s.year).collect();
    let years = case.years.clone().unwrap_or_else(|| all_years.clone());
    let mut out = Vec::new();
    for y in &years {
        if !all_years.contains(y) {
            out.push(format!("year {y} is outside the scenario's horizon"));
        }
    }
    let step = |year: i32| e.outcome.steps.iter().find(|s| s.year == year);
    let trace = |year: i32| e.trace.steps.iter().find(|s| s.year == year);
    let produced: BTreeSet<&str> = e
        .outcome
        .steps
        .iter()
        .flat_map(|s| s.metrics.keys().map(String::as_str))
        .collect();
    for (name, value) in &case.expect.metrics {
        // A metric no step has is a typo or a rule that never ran, not a zero.
        if !produced.contains(name.as_str()) {
            let hint = gil_model::diag::did_you_mean(name, produced.iter().copied())
                .map(|h| format!(" (did you mean `{h}`?)"))
                .unwrap_or_default();
            out.push(format!("metric `{name}` is not produced in any year{hint}"));
            continue;
        }
        for (year, expected) in expected_by_year(value, &years) {
            // Produced in other years: a year without it is a year with none of it.
            let actual = step(year).and_then(|s| s.metrics.get(name).copied());
            let ok = match actual {
                Some(a) => case.tolerance.accepts(expected, a),
                None => expected == 0.0,
            };
            if !ok {
                out.push(format!(
                    "metric `{name}` in {year}: {}",
                    describe(expected, actual)
                ));
            }
        }
    }
    for f in &case.expect.flows {
        for (year, expected) in expected_by_year(&f.amount, &years) {
            let matching: Vec<f64> = trace(year)
                .map(|t| {
                    t.flows
                        .iter()
                        .filter(|x| {
                            x.from == f.from
                                && x.to == f.to
                                && f.kind.as_deref().is_none_or(|k| x.kind.as_str() == k)
                                && f.via.as_ref().is_none_or(|v| x.via.as_ref() == Some(v))
                                && f.project
                                    .as_ref()
                                    .is_none_or(|p| x.project.as_ref() == Some(p))
                        })
                        .map(|x| x.amount)
                        .collect()
                })
                .unwrap_or_default();
            let actual = if matching.is_empty() {
                None
            } else {
                Some(matching.iter().sum())
            };
            let ok = match actual {
                Some(a) => case.tolerance.accepts(expected, a),
                None => expected == 0.0,
            };
            if !ok {
                let via = f
                    .via
                    .as_deref()
                    .map(|v| format!(" via {v}"))
                    .unwrap_or_default();
                out.push(format!(
                    "flow {} → {}{via} in {year}: {}",
                    f.from,
                    f.to,
                    describe(expected, actual)
                ));
            }
        }
    }
    let in_years = |step: Option<i32>, want: Option<i32>| match (step, want) {
        (_, Some(w)) => step == Some(w),
        (None, None) => true,
        (Some(s), None) => years.contains(&s),
    };
    for f in &case.expect.findings {
        let level = f.level.as_deref().and_then(Level::parse);
        let same_code: Vec<&crate::outcome::Finding> = e
            .outcome
            .findings
            .iter()
            .filter(|x| x.code == f.code)
            .collect();
        let subject_ok = |x: &crate::outcome::Finding| {
            f.subject
                .as_ref()
                .is_none_or(|s| x.subject.as_ref() == Some(s))
        };
        let level_ok = |x: &crate::outcome::Finding| level.is_none_or(|l| l == x.level);
        let when_ok = |x: &crate::outcome::Finding| in_years(x.step, f.year);
        if same_code
            .iter()
            .any(|x| subject_ok(x) && level_ok(x) && when_ok(x))
        {
            continue;
        }
        out.push(finding_mismatch(
            f,
            &same_code,
            &subject_ok,
            &level_ok,
            &when_ok,
            e,
            &years,
        ));
    }
    for code in &case.expect.no_findings {
        if let Some(x) = e
            .outcome
            .findings
            .iter()
            .find(|x| &x.code == code && in_years(x.step, None))
        {
            out.push(format!(
                "finding `{code}` reported but not expected: {}",
                x.message
            ));
        }
    }
    for r in &case.expect.roles {
        let role = Role::parse(&r.role);
        let holds = e
            .outcome
            .roles
            .iter()
            .filter(|p| p.project == r.project)
            .flat_map(|p| &p.participants)
            .any(|p| p.actor == r.actor && role.is_some_and(|role| p.roles.contains(&role)));
        if !holds {
            out.push(format!(
                "role: `{}` should hold {} in `{}`, but does not",
                r.actor, r.role, r.project
            ));
        }
    }
    out
}
