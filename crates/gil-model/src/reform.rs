//! Reform files for `gil diff --with`: parameter overrides and extra rules.

use crate::code::Code;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diag::{did_you_mean, Diagnostic};
use crate::load::{yaml_diagnostic, LoadError};
use crate::span::{SourceMap, Span, Spanned};
use crate::types::{Dated, TextValue};
use crate::yaml::{self, NodeKind, Path as KeyPath};
use crate::Scenario;

/// What a reform changes.
#[derive(Debug, Clone, Default)]
pub struct Reform {
    pub title: Option<String>,
    /// Replacement values, by parameter name.
    pub parameters: BTreeMap<String, Dated>,
    /// Replacement values of text and list parameters, by name.
    pub text_parameters: BTreeMap<String, TextValue>,
    /// Extra rule files or folders, resolved against the reform file's folder.
    pub rules: Vec<PathBuf>,
}

pub const REFORM_KEYS: &[&str] = &["title", "parameters", "rules"];

/// Reads a reform file and checks its parameter names against the scenario.
pub fn load_reform(path: &Path, scenario: &Scenario) -> Result<Reform, LoadError> {
    let mut sources = SourceMap::new();
    let display = path.display().to_string();
    let text = match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => {
                let diagnostics = vec![Diagnostic::error(
                    Code::NotUtf8,
                    format!("`{display}` is not valid UTF-8"),
                )
                .file(display)];
                return Err(LoadError {
                    sources,
                    diagnostics,
                });
            }
        },
        Err(e) => {
            let diagnostics =
                vec![
                    Diagnostic::error(Code::FileMissing, format!("cannot read `{display}`: {e}"))
                        .file(display),
                ];
            return Err(LoadError {
                sources,
                diagnostics,
            });
        }
    };
    let file = sources.add(display.clone(), path.to_path_buf(), text.clone());
    let mut diagnostics = Vec::new();
    let mut reform = Reform::default();
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    match yaml::parse(&text, file) {
        Err(e) => diagnostics.push(yaml_diagnostic(e)),
        Ok(None) => diagnostics.push(
            Diagnostic::error(Code::EmptyFile, format!("`{display}` is empty"))
                .at(Span::new(file, 0, 0)),
        ),
        Ok(Some(node)) => match &node.kind {
            NodeKind::Map(entries) => {
                for (key, value) in entries {
                    let name = key.as_str().unwrap_or("");
                    let path = KeyPath::Root(name);
                    match name {
                        "title" => match yaml::from_node::<String>(value, &path) {
                            Ok(t) => reform.title = Some(t),
                            Err(e) => diagnostics.push(yaml_diagnostic(e)),
                        },
                        "rules" => match yaml::from_node::<Vec<String>>(value, &path) {
                            Ok(list) => {
                                reform.rules = list.into_iter().map(|r| dir.join(r)).collect()
                            }
                            Err(e) => diagnostics.push(yaml_diagnostic(e)),
                        },
                        "parameters" => {
                            let NodeKind::Map(params) = &value.kind else {
                                diagnostics.push(
                                    Diagnostic::error(
                                        Code::WrongType,
                                        "expected a mapping of parameter names to values",
                                    )
                                    .at(value.span),
                                );
                                continue;
                            };
                            for (k, v) in params {
                                let pname = k.as_str().unwrap_or("").to_string();
                                let ppath = KeyPath::Key(&path, &pname);
                                let text = scenario.text_parameters.contains_key(&pname);
                                if !text && !scenario.parameters.contains_key(&pname) {
                                    let mut d = Diagnostic::error(
                                        Code::UnknownId,
                                        format!("the scenario has no parameter `{pname}`"),
                                    )
                                    .at(k.span)
                                    .path(format!("parameters.{pname}"));
                                    if let Some(h) = did_you_mean(
                                        &pname,
                                        scenario
                                            .parameters
                                            .keys()
                                            .chain(scenario.text_parameters.keys())
                                            .map(String::as_str),
                                    ) {
                                        d = d.help(format!("did you mean `{h}`?"));
                                    }
                                    diagnostics.push(d);
                                    continue;
                                }
                                if text {
                                    let like = &scenario.text_parameters[&pname].value.value;
                                    match yaml::from_node::<TextValue>(v, &ppath) {
                                        Ok(t) => match t.conform_to(like) {
                                            Some(t) => {
                                                reform.text_parameters.insert(pname, t);
                                            }
                                            None => diagnostics.push(
                                                Diagnostic::error(
                                                    Code::WrongType,
                                                    format!("expected a text: the scenario's `{pname}` is a text, not a list"),
                                                )
                                                .at(v.span)
                                                .path(format!("parameters.{pname}")),
                                            ),
                                        },
                                        Err(e) => diagnostics.push(yaml_diagnostic(e)),
                                    }
                                    continue;
                                }
                                match yaml::from_node::<Spanned<Dated>>(v, &ppath) {
                                    Ok(d) => {
                                        reform.parameters.insert(pname, d.value);
                                    }
                                    Err(e) => diagnostics.push(yaml_diagnostic(e)),
                                }
                            }
                        }
                        other => {
                            let mut d = Diagnostic::error(
                                Code::UnknownField,
                                format!("unknown reform field `{other}`"),
                            )
                            .at(key.span);
                            d = d.help(match did_you_mean(other, REFORM_KEYS.iter().copied()) {
                                Some(h) => format!("did you mean `{h}`?"),
                                None => {
                                    "a reform has `title`, `parameters` and `rules`".to_string()
                                }
                            });
                            diagnostics.push(d);
                        }
                    }
                }
            }
            _ => diagnostics.push(
                Diagnostic::error(
                    Code::WrongType,
                    "a reform file is a mapping with `parameters:` and/or `rules:`",
                )
                .at(node.span),
            ),
        },
    }
    if diagnostics.is_empty() {
        Ok(reform)
    } else {
        Err(LoadError {
            sources,
            diagnostics,
        })
    }
}
