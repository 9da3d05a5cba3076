//! Running one case: load its scenario and rules, evaluate, compare.

use std::path::{Path, PathBuf};

use gil_engine::Options;
use gil_model::LoadError;
use gil_rules::SandboxConfig;

use crate::compare::{compare, Mismatch};
use crate::file::{Case, ScenarioRef};

/// Why a case did not pass.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseFailure {
    /// The case could not run: a bad scenario, rule or option (rendered text).
    Error(String),
    /// The outcome differs from what was expected: every difference.
    Mismatch(Vec<Mismatch>),
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

/// Runs one case; a case that cannot run carries its errors rendered as a user reads
/// them (no colour). With `coverage`, the rules are compiled with line coverage and the
/// lines they ran are added to it (also when the case fails).
pub fn run_case(
    suite_file: &Path,
    case: &Case,
    mut config: SandboxConfig,
    coverage: Option<&mut crate::Coverage>,
) -> Result<(), CaseFailure> {
    config.coverage = coverage.is_some();
    let render_load = |e: &LoadError| e.render(false);
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
    let rules = gil_engine::load_rules(&scenario, &case_rules(suite_file, case), config)
        .map_err(|e| CaseFailure::Error(render_load(&e)))?;
    let mut options = Options {
        all_flows: true,
        cancel: None,
        threads: 1,
        ..Options::default()
    };
    for (name, value) in &case.params {
        match value {
            gil_model::ParamValue::Number(v) => {
                options.params.insert(name.clone(), v.clone());
            }
            gil_model::ParamValue::Text(t) => {
                // A text for a list parameter is a list of one; a list for a text
                // parameter does not fit. An unknown name is the engine's to report.
                let value = match scenario.text_parameters.get(name) {
                    Some(p) => t.clone().conform_to(&p.value.value).ok_or_else(|| {
                        CaseFailure::Error(format!(
                            "params: `{name}` is a text parameter, not a list"
                        ))
                    })?,
                    None => t.clone(),
                };
                options.text_params.insert(name.clone(), value);
            }
        }
    }
    let evaluated = gil_engine::evaluate(&scenario, &rules, &options);
    if let Some(coverage) = coverage {
        coverage.merge(rules.coverage());
    }
    let evaluation = evaluated.map_err(|e| match e {
        gil_engine::EngineError::Rule(r) => {
            let files = rules.files();
            CaseFailure::Error(files.diagnose(&r).render(files.sources(), false))
        }
        other => CaseFailure::Error(other.to_string()),
    })?;
    let mismatches = compare(case, &evaluation);
    if mismatches.is_empty() {
        Ok(())
    } else {
        Err(CaseFailure::Mismatch(mismatches))
    }
}
