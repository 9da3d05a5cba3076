//! `gil run`, `explain`, `diff` and `graph`: load, evaluate, render.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use gil_engine::{EngineError, Evaluation, Options};
use gil_model::{Dated, Scenario, TextValue};
use gil_rules::{RuleRuntime, SandboxConfig};

use crate::check::report_load_error;
use crate::output::{emit, emit_with, print_stderr, render_rule_failure};
use crate::{CheckFormat, DocFormat, EvalArgs, FailOn, GraphFormat, RuleLimits};

/// Why a command stopped early; each maps to exit code 2 after printing.
pub enum Stop {
    /// Already printed.
    Reported,
    /// SIGINT or SIGTERM: nothing was written.
    Interrupted,
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Stop {
    fn from(e: anyhow::Error) -> Self {
        Stop::Other(e)
    }
}

fn finish(result: Result<ExitCode, Stop>) -> anyhow::Result<ExitCode> {
    match result {
        Ok(code) => Ok(code),
        Err(Stop::Reported) => Ok(ExitCode::from(2)),
        Err(Stop::Interrupted) => Ok(interrupted()),
        Err(Stop::Other(e)) if crate::signals::interrupted() => {
            let _ = e;
            Ok(interrupted())
        }
        Err(Stop::Other(e)) => Err(e),
    }
}

/// Says so and gives the exit code of a run stopped by SIGINT (130) or SIGTERM (143).
pub fn interrupted() -> ExitCode {
    print_stderr("interrupted: nothing was written\n");
    ExitCode::from(crate::signals::exit_code())
}

/// `--threads`: 0 means every core the machine has.
pub fn threads(eval: &EvalArgs) -> usize {
    match eval.threads {
        0 => std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1),
        n => n,
    }
}

pub fn sandbox_config(limits: &RuleLimits) -> Result<SandboxConfig, Stop> {
    let secs = |v: f64, flag: &str| {
        if v.is_finite() && v > 0.0 {
            Ok(Duration::from_secs_f64(v))
        } else {
            print_stderr(&format!(
                "error: {flag} must be a positive number of seconds\n"
            ));
            Err(Stop::Reported)
        }
    };
    Ok(SandboxConfig {
        cancel: crate::signals::flag(),
        call_deadline: secs(limits.call_deadline, "--call-deadline")?,
        total_budget: secs(limits.rule_budget, "--rule-budget")?,
        memory_limit: limits.lua_memory.saturating_mul(1024 * 1024),
        print: Some(crate::output::print_sink()),
        ..SandboxConfig::default()
    })
}

/// `--param` values, read against the scenario: numbers, and the values of its text
/// and list parameters.
#[derive(Debug, Clone, Default)]
pub struct ParamValues {
    pub numbers: BTreeMap<String, Dated>,
    pub texts: BTreeMap<String, TextValue>,
}

impl ParamValues {
    /// A reform's parameters.
    fn of_reform(reform: &gil_model::Reform) -> Self {
        ParamValues {
            numbers: reform.parameters.clone(),
            texts: reform.text_parameters.clone(),
        }
    }

    /// `later`'s values in place of these.
    fn extend(&mut self, later: ParamValues) {
        self.numbers.extend(later.numbers);
        self.texts.extend(later.texts);
    }
}

/// `--param name=value` pairs; numbers may group digits (`1_000`). A text parameter
/// takes the value as it is, a list parameter splits it on `,`.
pub fn parse_params(s: &Scenario, raw: &[String]) -> Result<ParamValues, Stop> {
    let mut out = ParamValues::default();
    for item in raw {
        let Some((name, value)) = item.split_once('=') else {
            print_stderr(&format!("error: --param `{item}`: expected NAME=VALUE\n"));
            return Err(Stop::Reported);
        };
        let name = name.trim();
        if let Some(p) = s.text_parameters.get(name) {
            let value = TextValue::parse_like(&p.value.value, value.trim());
            out.texts.insert(name.to_string(), value);
            continue;
        }
        let cleaned: String = value.trim().chars().filter(|&c| c != '_').collect();
        match cleaned.parse::<f64>() {
            Ok(v) if v.is_finite() => {
                out.numbers.insert(name.to_string(), Dated::Fixed(v));
            }
            _ => {
                print_stderr(&format!(
                    "error: --param `{item}`: `{value}` is not a finite number\n"
                ));
                return Err(Stop::Reported);
            }
        }
    }
    Ok(out)
}

pub fn load_scenario(path: &Path, color: bool) -> Result<Scenario, Stop> {
    crate::inputs::load(path).map_err(|err| {
        let _ = report_load_error(&err, CheckFormat::Human, color);
        Stop::Reported
    })
}

pub fn load_rules(
    s: &Scenario,
    extra: &[PathBuf],
    config: SandboxConfig,
    color: bool,
) -> Result<RuleRuntime, Stop> {
    gil_engine::load_rules(s, extra, config).map_err(|err| {
        let _ = report_load_error(&err, CheckFormat::Human, color);
        Stop::Reported
    })
}

fn evaluate(
    s: &Scenario,
    rules: &RuleRuntime,
    options: &Options,
    color: bool,
) -> Result<Evaluation, Stop> {
    // A long run shows a progress bar on a terminal; it is cleared before anything is
    // printed.
    let (options, _bar) = match crate::progress::bar() {
        Some((progress, bar)) => {
            let mut with_bar = options.clone();
            with_bar.progress = Some(progress);
            (std::borrow::Cow::Owned(with_bar), Some(bar))
        }
        None => (std::borrow::Cow::Borrowed(options), None),
    };
    let evaluated = gil_engine::evaluate(s, rules, &options);
    drop(_bar); // the bar is gone before an error (or the outcome) is printed
    evaluated.map_err(|err| {
        match err {
            EngineError::Interrupted => return Stop::Interrupted,
            EngineError::Rule(e) if e.kind == gil_rules::RuleErrorKind::Interrupted => {
                return Stop::Interrupted
            }
            EngineError::Rule(e) => print_stderr(&render_rule_failure(rules, &e, color)),
            EngineError::UnknownParam { .. }
            | EngineError::NonFiniteParam { .. }
            | EngineError::TextParam { .. }
            | EngineError::NumberParam { .. } => print_stderr(&format!("error: --param: {err}\n")),
            other => print_stderr(&format!("error: {other}\n")),
        }
        Stop::Reported
    })
}

/// Loads the rules (the scenario's, `--rules`, and `extra_rules`) and evaluates with the
/// `--param` overrides plus `params`.
fn evaluate_with(
    scenario: &Scenario,
    eval: &EvalArgs,
    extra_rules: &[PathBuf],
    params: Option<&ParamValues>,
    color: bool,
) -> Result<Evaluation, Stop> {
    evaluate_traced(scenario, eval, extra_rules, params, false, color)
}

/// [`evaluate_with`], keeping in the trace what `explain` shows when `explain`.
fn evaluate_traced(
    scenario: &Scenario,
    eval: &EvalArgs,
    extra_rules: &[PathBuf],
    params: Option<&ParamValues>,
    explain: bool,
    color: bool,
) -> Result<Evaluation, Stop> {
    let mut rules = eval.rules.clone();
    rules.extend(extra_rules.iter().cloned());
    let runtime = load_rules(scenario, &rules, sandbox_config(&eval.limits)?, color)?;
    let mut all_params = parse_params(scenario, &eval.params)?;
    if let Some(extra) = params {
        all_params.extend(extra.clone());
    }
    let options = Options {
        params: all_params.numbers,
        text_params: all_params.texts,
        all_flows: false,
        cancel: crate::signals::flag(),
        threads: threads(eval),
        progress: None,
        explain,
        ..Options::default()
    };
    evaluate(scenario, &runtime, &options, color)
}

/// Reads a reform file and evaluates the scenario with it (its parameters and rules).
fn evaluate_reform(
    scenario: &Scenario,
    reform_path: &Path,
    eval: &EvalArgs,
    color: bool,
) -> Result<(gil_model::Reform, Evaluation), Stop> {
    let reform = gil_model::load_reform(reform_path, scenario).map_err(|err| {
        let _ = report_load_error(&err, CheckFormat::Human, color);
        Stop::Reported
    })?;
    let evaluation = evaluate_with(
        scenario,
        eval,
        &reform.rules,
        Some(&ParamValues::of_reform(&reform)),
        color,
    )?;
    Ok((reform, evaluation))
}

pub struct RunOptions {
    pub format: crate::RunFormat,
    pub out: Option<PathBuf>,
    pub flows: bool,
    pub full: bool,
    pub timings: bool,
    pub fail_on: Option<FailOn>,
    pub color: bool,
}

fn report_format(f: DocFormat) -> gil_report::Format {
    match f {
        DocFormat::Table => gil_report::Format::Table,
        DocFormat::Md => gil_report::Format::Markdown,
        DocFormat::Json => gil_report::Format::Json,
        DocFormat::Yaml => gil_report::Format::Yaml,
    }
}

pub fn run(
    path: &Path,
    eval: &EvalArgs,
    opts: RunOptions,
    color_err: bool,
) -> anyhow::Result<ExitCode> {
    finish((|| {
        if opts.format == crate::RunFormat::Parquet && opts.out.is_none() {
            print_stderr(
                "error: --format parquet writes a folder of tables; name it with --out DIR\n",
            );
            return Err(Stop::Reported);
        }
        let started = Instant::now();
        let scenario = load_scenario(path, color_err)?;
        let rules = load_rules(
            &scenario,
            &eval.rules,
            sandbox_config(&eval.limits)?,
            color_err,
        )?;
        let load_time = started.elapsed();
        let params = parse_params(&scenario, &eval.params)?;
        let document = match opts.format {
            crate::RunFormat::Table => Some(DocFormat::Table),
            crate::RunFormat::Md => Some(DocFormat::Md),
            crate::RunFormat::Json => Some(DocFormat::Json),
            crate::RunFormat::Yaml => Some(DocFormat::Yaml),
            crate::RunFormat::Parquet => None,
        };
        // At national scale the machine documents keep only what they name (the
        // tables and `--full` keep everything).
        let listing = match document {
            Some(DocFormat::Json | DocFormat::Yaml) if !opts.full => gil_engine::Listing::Named,
            _ => gil_engine::Listing::Every,
        };
        let options = Options {
            params: params.numbers,
            text_params: params.texts,
            all_flows: opts.flows,
            cancel: crate::signals::flag(),
            threads: threads(eval),
            progress: None,
            listing,
            ..Options::default()
        };
        let evaluation = evaluate(&scenario, &rules, &options, color_err)?;
        let render_started = Instant::now();
        if let Some(omitted) = &evaluation.outcome.omitted {
            print_stderr(&format!(
                "note: {} actors and assets that nothing in the outcome names are left out of the document (their ledger, flow lines and metrics); --full keeps them, --format parquet --out DIR writes every row\n",
                omitted.entities
            ));
        }
        let outcome = &evaluation.outcome;
        match document {
            Some(format) => emit_with(opts.out.as_deref(), &mut |w| {
                let text = gil_report::text::TextOptions {
                    color: opts.color,
                    flows: opts.flows,
                };
                gil_report::write_outcome(outcome, report_format(format), &text, w)
            })?,
            None => {
                let dir = opts.out.as_deref().ok_or_else(|| {
                    Stop::Other(anyhow::anyhow!(
                        "unreachable: --format parquet without --out is refused before evaluating"
                    ))
                })?;
                write_tables(dir, &evaluation)?;
            }
        }
        if opts.timings {
            print_stderr(&format!(
                "timing.load_seconds={:.6}\ntiming.rules_seconds={:.6}\ntiming.analyses_seconds={:.6}\ntiming.render_seconds={:.6}\n",
                load_time.as_secs_f64(),
                evaluation.rules_time.as_secs_f64(),
                evaluation.analyses_time.as_secs_f64(),
                render_started.elapsed().as_secs_f64()
            ));
        }
        let failing = opts
            .fail_on
            .and_then(|level| fail_on_reason(&evaluation.outcome, level));
        if let Some(reason) = &failing {
            print_stderr(&format!("{reason}\n"));
        }
        // The process ends right after: freeing millions of flows one by one took
        // seconds at national scale, and the OS reclaims the memory at once.
        std::mem::forget(evaluation);
        std::mem::forget(scenario);
        Ok(if failing.is_some() {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    })())
}

/// The outcome as a folder of Parquet tables and `outcome.json`, written atomically.
fn write_tables(dir: &Path, evaluation: &gil_engine::Evaluation) -> Result<(), Stop> {
    let tables = gil_tables::outcome_tables(evaluation).map_err(|e| Stop::Other(e.into()))?;
    let summary = gil_tables::summary(&evaluation.outcome);
    crate::output::write_dir_atomic(dir, &mut |tmp| {
        for table in &tables {
            crate::output::write_file_in(&tmp.join(table.file_name()), &mut |w| {
                Ok(table.write_parquet(w)?)
            })?;
        }
        crate::output::write_file_in(&tmp.join("outcome.json"), &mut |w| {
            serde_json::to_writer_pretty(&mut *w, &summary)?;
            Ok(w.write_all(b"\n")?)
        })
    })
    .map_err(Stop::Other)
}

/// Why `--fail-on LEVEL` makes the exit code 1, if it does: findings at that level or
/// above, and role checks (a failed check counts as an error, a warned one as a
/// warning), as `gil roles` counts them.
fn fail_on_reason(outcome: &gil_engine::Outcome, level: FailOn) -> Option<String> {
    use gil_report::text::count;
    let (level, flag) = (level.level(), level.flag());
    let findings = outcome.count_findings(level);
    let checks = outcome.role_checks_at(level);
    if findings == 0 && checks.is_empty() {
        return None;
    }
    let mut reasons = Vec::new();
    if findings > 0 {
        reasons.push(format!(
            "{} at `{flag}` or above",
            count(findings, "finding", "findings")
        ));
    }
    if !checks.is_empty() {
        let named: Vec<String> = checks
            .iter()
            .map(|(project, check)| format!("{project}: {}", check.id))
            .collect();
        reasons.push(format!(
            "{} ({})",
            count(checks.len(), "role check", "role checks"),
            named.join(", ")
        ));
    }
    Some(format!("exit 1 (--fail-on {flag}): {}", reasons.join("; ")))
}

pub fn explain(
    path: &Path,
    target: &str,
    year: Option<i32>,
    format: crate::ExplainFormat,
    eval: &EvalArgs,
    color: bool,
) -> anyhow::Result<ExitCode> {
    finish((|| {
        let scenario = load_scenario(path, color)?;
        let evaluation = evaluate_traced(&scenario, eval, &[], None, true, color)?;
        let subject = match gil_engine::explain::resolve(&scenario, &evaluation, target) {
            Ok(s) => s,
            Err(message) => {
                print_stderr(&format!("error: {message}\n"));
                return Err(Stop::Reported);
            }
        };
        let mut explanation = gil_engine::explain::explain(&scenario, &evaluation, &subject);
        if let Some(year) = year {
            if !scenario.years().contains(&year) {
                let (start, end) = (*scenario.years().start(), *scenario.years().end());
                print_stderr(&format!(
                    "error: --year {year} is outside the horizon {start}–{end}\n"
                ));
                return Err(Stop::Reported);
            }
            explanation.years.retain(|y| y.year == year);
        }
        let text = match format {
            crate::ExplainFormat::Text => gil_report::explain::explain_text(&explanation),
            crate::ExplainFormat::Json => {
                gil_report::to_json(&explanation).map_err(|e| Stop::Other(anyhow::anyhow!(e)))?
            }
        };
        emit(&text, None)?;
        Ok(ExitCode::SUCCESS)
    })())
}

/// How `gil diff` reports.
pub struct DiffOptions {
    pub format: DocFormat,
    pub out: Option<PathBuf>,
    pub fail_on: Option<FailOn>,
}

/// The scenario as written against the reform: the reform file's parameters and rules
/// with `--param` and `--rules` on top (the command line wins over the file).
pub fn diff(
    path: &Path,
    reform_path: Option<&Path>,
    eval: &EvalArgs,
    opts: DiffOptions,
    color: bool,
) -> anyhow::Result<ExitCode> {
    finish((|| {
        if reform_path.is_none() && eval.params.is_empty() && eval.rules.is_empty() {
            print_stderr("error: nothing to compare: give --with REFORM, --param NAME=VALUE or --rules PATH\n");
            return Err(Stop::Reported);
        }
        let scenario = load_scenario(path, color)?;
        let as_written = EvalArgs {
            rules: Vec::new(),
            params: Vec::new(),
            ..eval.clone()
        };
        let base = evaluate_with(&scenario, &as_written, &[], None, color)?;
        let mut rules = Vec::new();
        let mut params = ParamValues::default();
        if let Some(reform_path) = reform_path {
            let reform = gil_model::load_reform(reform_path, &scenario).map_err(|err| {
                let _ = report_load_error(&err, CheckFormat::Human, color);
                Stop::Reported
            })?;
            params = ParamValues::of_reform(&reform);
            rules = reform.rules;
        }
        params.extend(parse_params(&scenario, &eval.params)?);
        rules.extend(eval.rules.iter().cloned());
        let changed = evaluate_with(&scenario, &as_written, &rules, Some(&params), color)?;
        let report = gil_engine::diff::diff(&base.outcome, &changed.outcome);
        let text = match opts.format {
            DocFormat::Json => {
                gil_report::to_json(&report).map_err(|e| Stop::Other(anyhow::anyhow!(e)))?
            }
            DocFormat::Yaml => {
                gil_report::to_yaml(&report).map_err(|e| Stop::Other(anyhow::anyhow!(e)))?
            }
            DocFormat::Table => gil_report::text::diff_text(&report, false),
            DocFormat::Md => gil_report::text::diff_text(&report, true),
        };
        emit(&text, opts.out.as_deref())?;
        let Some(level) = opts.fail_on else {
            return Ok(ExitCode::SUCCESS);
        };
        let (level, flag) = (level.level(), level.flag());
        let added = report
            .findings_added
            .iter()
            .filter(|f| f.level >= level)
            .count();
        if added == 0 {
            return Ok(ExitCode::SUCCESS);
        }
        print_stderr(&format!(
            "exit 1 (--fail-on {flag}): the reform adds {}\n",
            gil_report::text::count(added, "finding", "findings")
        ));
        Ok(ExitCode::from(1))
    })())
}

pub fn graph(
    path: &Path,
    format: GraphFormat,
    kinds: Vec<gil_model::FlowKind>,
    step: Option<i32>,
    out: Option<&Path>,
    eval: &EvalArgs,
    color: bool,
) -> anyhow::Result<ExitCode> {
    finish((|| {
        let scenario = load_scenario(path, color)?;
        let evaluation = evaluate_with(&scenario, eval, &[], None, color)?;
        let graph = gil_report::graph::build(
            &scenario,
            &evaluation,
            &gil_report::graph::GraphOptions { kinds, step },
        )
        .map_err(|e| {
            print_stderr(&format!("error: --step {e}\n"));
            Stop::Reported
        })?;
        let text = match format {
            GraphFormat::Dot => gil_report::graph::dot(&graph, scenario.id()),
            GraphFormat::Mermaid => gil_report::graph::mermaid(&graph),
        };
        emit(&text, out)?;
        Ok(ExitCode::SUCCESS)
    })())
}

pub fn roles(
    path: &Path,
    project: Option<&str>,
    format: DocFormat,
    out: Option<&Path>,
    eval: &EvalArgs,
    color_out: bool,
    color_err: bool,
) -> anyhow::Result<ExitCode> {
    finish((|| {
        let scenario = load_scenario(path, color_err)?;
        if let Some(id) = project {
            if !scenario.projects.iter().any(|p| p.id.value == id) {
                let hint = gil_model::diag::did_you_mean(
                    id,
                    scenario.projects.iter().map(|p| p.id.value.as_str()),
                )
                .map(|h| format!(" (did you mean `{h}`?)"))
                .unwrap_or_default();
                let mut ids: Vec<&str> = scenario
                    .projects
                    .iter()
                    .map(|p| p.id.value.as_str())
                    .collect();
                ids.sort_unstable();
                let known = if ids.is_empty() {
                    "the scenario has no projects".to_string()
                } else {
                    format!("projects: {}", ids.join(", "))
                };
                print_stderr(&format!(
                    "error: --project: the scenario has no project `{id}`{hint}\n  {known}\n"
                ));
                return Err(Stop::Reported);
            }
        }
        let evaluation = evaluate_with(&scenario, eval, &[], None, color_err)?;
        let selected: Vec<_> = evaluation
            .outcome
            .roles
            .iter()
            .filter(|p| project.is_none_or(|id| p.project == id))
            .cloned()
            .collect();
        let text = match format {
            DocFormat::Json => {
                gil_report::to_json(&selected).map_err(|e| Stop::Other(anyhow::anyhow!(e)))?
            }
            DocFormat::Yaml => {
                gil_report::to_yaml(&selected).map_err(|e| Stop::Other(anyhow::anyhow!(e)))?
            }
            DocFormat::Table => {
                gil_report::text::roles_text(&selected, scenario.currency(), false, color_out)
            }
            DocFormat::Md => {
                gil_report::text::roles_text(&selected, scenario.currency(), true, false)
            }
        };
        emit(&text, out)?;
        let failed = selected.iter().any(|p| {
            p.checks
                .iter()
                .any(|c| c.status == gil_engine::outcome::Status::Fail)
        });
        Ok(if failed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    })())
}

pub fn report(
    path: &Path,
    reform_path: Option<&Path>,
    mut options: gil_report::html::ReportOptions,
    out: Option<&Path>,
    eval: &EvalArgs,
    color: bool,
) -> anyhow::Result<ExitCode> {
    finish((|| {
        let scenario = load_scenario(path, color)?;
        let base = evaluate_with(&scenario, eval, &[], None, color)?;
        let run = parse_params(&scenario, &eval.params)?;
        options.params = run.numbers;
        options.text_params = run.texts;
        let html = match reform_path {
            None => gil_report::html::report(&scenario, &base, None, &options),
            Some(reform_path) => {
                let (reform, changed) = evaluate_reform(&scenario, reform_path, eval, color)?;
                let diff = gil_engine::diff::diff(&base.outcome, &changed.outcome);
                let view = gil_report::html::ReformView {
                    title: reform
                        .title
                        .clone()
                        .unwrap_or_else(|| reform_path.display().to_string()),
                    evaluation: &changed,
                    diff: &diff,
                    params: reform.parameters.clone(),
                    text_params: reform.text_parameters.clone(),
                };
                gil_report::html::report(&scenario, &base, Some(&view), &options)
            }
        };
        emit(&html, out)?;
        Ok(ExitCode::SUCCESS)
    })())
}
