//! The `*.test.yaml` format and its loader: read through gil's spanned deserializer,
//! so a bad key, level or role is an error at its file:line:column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gil_model::code::Code;
use gil_model::diag::Diagnostic;
use gil_model::yaml::{self, Node, NodeKind, Path as KeyPath};
use gil_model::{Dated, FlowKind, LoadError, SourceMap, Span, Spanned};
use gil_rules::{Level, Role};
use serde::Deserialize;

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
    /// Numbers, dated series, texts or lists, by parameter name.
    #[serde(default)]
    pub params: BTreeMap<String, gil_model::ParamValue>,
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
    pub kind: Option<FlowKind>,
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
    pub level: Option<Level>,
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
    pub role: Role,
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
