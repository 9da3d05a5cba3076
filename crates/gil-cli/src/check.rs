//! `gil check`: load and validate, print every diagnostic.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use gil_model::{LoadError, Scenario};
use serde::Serialize;

use gil_rules::SandboxConfig;

use crate::output::{print_stderr, print_stdout};
use crate::CheckFormat;

#[derive(Serialize)]
struct Summary<'a> {
    scenario: &'a str,
    file: String,
    horizon: [i32; 2],
    actors: usize,
    assets: usize,
    flows: usize,
    projects: usize,
    parameters: usize,
    rules: Vec<String>,
}

#[derive(Serialize)]
struct CheckReport<'a> {
    ok: bool,
    errors: usize,
    diagnostics: Vec<gil_model::diag::DiagnosticRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<Summary<'a>>,
}

pub fn check(
    path: &Path,
    extra_rules: &[PathBuf],
    format: CheckFormat,
    color: bool,
) -> anyhow::Result<ExitCode> {
    match crate::inputs::load(path) {
        Ok(scenario) => {
            // Rules are loaded too: syntax, metadata and ordering are part of the input.
            let rules =
                match gil_engine::load_rules(&scenario, extra_rules, SandboxConfig::default()) {
                    Ok(rules) => rules,
                    Err(err) => {
                        // Rule problems are diagnostics like the scenario's: one renderer,
                        // one JSON shape.
                        report_load_error(&err, format, color)?;
                        return Ok(ExitCode::from(2));
                    }
                };
            let shown = if path.as_os_str() == crate::inputs::STDIN {
                PathBuf::from("<stdin>")
            } else {
                crate::inputs::scenario_file(path)
            };
            let mut summary = summary(&scenario, &shown);
            summary.rules = rules
                .order()
                .iter()
                .filter_map(|&i| rules.rules().get(i))
                .map(|r| r.id.clone())
                .collect();
            match format {
                CheckFormat::Human => {
                    use gil_report::text::count;
                    print_stdout(&format!(
                        "ok: {} ({}, {}–{}): {}, {}, {}, {}, {}, {}\n",
                        summary.file,
                        summary.scenario,
                        summary.horizon[0],
                        summary.horizon[1],
                        count(summary.actors, "actor", "actors"),
                        count(summary.assets, "asset", "assets"),
                        count(summary.flows, "flow", "flows"),
                        count(summary.projects, "project", "projects"),
                        count(summary.parameters, "parameter", "parameters"),
                        count(summary.rules.len(), "rule", "rules")
                    ))?
                }
                CheckFormat::Json => {
                    let report = CheckReport {
                        ok: true,
                        errors: 0,
                        diagnostics: Vec::new(),
                        summary: Some(summary),
                    };
                    print_stdout(&(serde_json::to_string_pretty(&report)? + "\n"))?;
                }
            }
            // The process ends right after, as for `gil run`: freeing a national
            // registry's entities one by one was a tenth of the whole check.
            std::mem::forget(rules);
            std::mem::forget(scenario);
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            report_load_error(&err, format, color)?;
            Ok(ExitCode::from(2))
        }
    }
}

/// Prints a load failure: rendered diagnostics on stderr, or JSON on stdout.
pub fn report_load_error(err: &LoadError, format: CheckFormat, color: bool) -> anyhow::Result<()> {
    match format {
        CheckFormat::Human => {
            let mut text = String::new();
            for d in &err.diagnostics {
                text.push_str(&crate::output::with_cli_hints(d).render(&err.sources, color));
            }
            let n = err.diagnostics.len();
            text.push_str(&format!(
                "{n} error{} found; nothing was run\n",
                if n == 1 { "" } else { "s" }
            ));
            print_stderr(&text);
        }
        CheckFormat::Json => {
            let report = CheckReport {
                ok: false,
                errors: err.diagnostics.len(),
                diagnostics: err
                    .diagnostics
                    .iter()
                    .map(|d| crate::output::with_cli_hints(d).to_record(&err.sources))
                    .collect(),
                summary: None,
            };
            print_stdout(&(serde_json::to_string_pretty(&report)? + "\n"))?;
        }
    }
    Ok(())
}

fn summary<'a>(s: &'a Scenario, path: &Path) -> Summary<'a> {
    Summary {
        scenario: s.id(),
        file: crate::bundled::shown(path),
        horizon: [*s.years().start(), *s.years().end()],
        actors: s.actors.len(),
        assets: s.assets.len(),
        flows: s.flows.len(),
        projects: s.projects.len(),
        parameters: s.parameters.len() + s.text_parameters.len(),
        rules: Vec::new(),
    }
}
