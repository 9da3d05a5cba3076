//! `gil test`, `gil snapshot` and `gil init`: what a policy team's repository and CI use.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use gil_testing::{self as testing, CaseFailure};

use crate::check::report_load_error;
use crate::commands::{load_rules, load_scenario, Stop};
use crate::output::{emit, print_stderr, print_stdout, render_rule_failure, write_atomic};
use crate::CheckFormat;

fn paint(text: &str, code: &str, color: bool) -> String {
    if color {
        format!("\u{1b}[{code}m{text}\u{1b}[0m")
    } else {
        text.to_string()
    }
}

/// Runs every case of every `*.test.yaml` below `paths` (default: `rules/`).
///
/// Exit codes: 0 when every case ran and passed; 1 when a case failed or no case ran
/// (nothing found, or `--filter` matched nothing); 2 when a test file or a case's
/// scenario or rules could not be read or a rule faulted (bad input, as everywhere).
pub fn test(
    paths: &[PathBuf],
    filter: Option<&str>,
    junit: Option<&Path>,
    coverage: bool,
    lcov: Option<&Path>,
    color: bool,
) -> anyhow::Result<ExitCode> {
    let mut lines_run = (coverage || lcov.is_some()).then(testing::Coverage::default);
    let paths: Vec<PathBuf> = if paths.is_empty() {
        if !Path::new("rules").is_dir() {
            print_stderr(
                "error: there is no `rules/` folder here: name the files or folders to test\n",
            );
            return Ok(ExitCode::from(2));
        }
        vec![PathBuf::from("rules")]
    } else {
        paths.to_vec()
    };
    let files = match testing::discover(&paths) {
        Ok(f) => f,
        Err(e) => {
            print_stderr(&format!("error: cannot read the test paths: {e}\n"));
            return Ok(ExitCode::from(2));
        }
    };
    let (mut passed, mut failed, mut errors, mut unreadable) = (0usize, 0usize, 0usize, 0usize);
    let mut cases_seen = 0usize;
    let mut report = String::new();
    let mut results: Vec<testing::CaseReport> = Vec::new();
    for file in &files {
        let suite = match testing::load_suite(file) {
            Ok(s) => s,
            Err(err) => {
                report_load_error(&err, CheckFormat::Human, color)?;
                unreadable += 1;
                continue;
            }
        };
        for case in &suite.cases {
            cases_seen += 1;
            if filter.is_some_and(|f| !case.value.name.contains(f)) {
                continue;
            }
            let title = format!("{} › {}", file.display(), case.value.name);
            let result = testing::run_case(
                file,
                &case.value,
                crate::output::rule_sandbox(),
                lines_run.as_mut(),
            );
            let line = suite
                .sources
                .line_col(case.span.file, case.span.start as usize)
                .0;
            let verdict = match &result {
                Ok(()) => testing::Verdict::Passed,
                Err(CaseFailure::Mismatch(m)) => {
                    testing::Verdict::Failed(m.iter().map(ToString::to_string).collect())
                }
                Err(CaseFailure::Error(text)) => testing::Verdict::Error(text.clone()),
            };
            results.push(testing::CaseReport {
                file: file.display().to_string(),
                name: case.value.name.clone(),
                line,
                verdict,
            });
            let (mark, lines) = match result {
                Ok(()) => {
                    passed += 1;
                    report.push_str(&format!("{} {title}\n", paint("PASS", "32", color)));
                    continue;
                }
                Err(CaseFailure::Mismatch(mismatches)) => {
                    failed += 1;
                    let lines: Vec<String> = mismatches.iter().map(ToString::to_string).collect();
                    (paint("FAIL", "31", color), lines)
                }
                Err(CaseFailure::Error(text)) => {
                    errors += 1;
                    (
                        paint("ERROR", "31", color),
                        text.lines().map(str::to_string).collect(),
                    )
                }
            };
            let at = suite.sources.locate(case.span);
            report.push_str(&format!("{mark} {title}  ({at})\n"));
            for line in lines {
                report.push_str(&format!("    {line}\n"));
            }
        }
    }
    use gil_report::text::count;
    let mut summary = format!("\n{passed} passed, {failed} failed");
    if errors > 0 {
        summary.push_str(&format!(
            ", {} could not run",
            count(errors, "case", "cases")
        ));
    }
    if unreadable > 0 {
        summary.push_str(&format!(
            ", {} could not be read",
            count(unreadable, "test file", "test files")
        ));
    }
    report.push_str(&summary);
    report.push('\n');
    if let (true, Some(lines)) = (coverage, &lines_run) {
        report.push('\n');
        report.push_str(&lines.summary());
    }
    print_stdout(&report)?;
    if let Some(path) = junit {
        write_atomic(path, testing::junit_xml(&results).as_bytes())?;
    }
    if let (Some(path), Some(lines)) = (lcov, &lines_run) {
        write_atomic(path, lines.lcov().as_bytes())?;
    }
    if unreadable > 0 || errors > 0 {
        return Ok(ExitCode::from(2));
    }
    let ran = passed + failed;
    if ran == 0 {
        let shown: Vec<String> = paths.iter().map(|p| format!("`{}`", p.display())).collect();
        let why = match filter {
            _ if files.is_empty() => format!("no *.test.yaml file below {}", shown.join(", ")),
            Some(f) => format!(
                "--filter `{f}` matches none of the {} in {}",
                count(cases_seen, "case", "cases"),
                count(files.len(), "test file", "test files")
            ),
            None => format!(
                "the {} hold no cases",
                count(files.len(), "test file", "test files")
            ),
        };
        print_stderr(&format!("error: no test ran: {why}\n"));
        return Ok(ExitCode::from(1));
    }
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Where a scenario's snapshot lives: `<stem>.snapshot.yaml` beside it.
pub fn snapshot_path(scenario: &Path) -> PathBuf {
    let stem = scenario
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into());
    scenario.with_file_name(format!("{stem}.snapshot.yaml"))
}

/// Compares (or with `update`, writes) each scenario's outcome snapshot.
/// A changed snapshot is shown by name (metrics and findings that changed); with
/// `raw_diff`, the unified diff of the documents follows.
pub fn snapshot(
    scenarios: &[PathBuf],
    update: bool,
    raw_diff: bool,
    tolerance: &[String],
    color: bool,
) -> anyhow::Result<ExitCode> {
    let tolerance = match crate::snapshot_diff::Tolerance::parse(tolerance) {
        Ok(t) => t,
        Err(message) => {
            print_stderr(&format!("error: {message}\n"));
            return Ok(ExitCode::from(2));
        }
    };
    let mut mismatched = 0;
    for given in scenarios {
        let path = &crate::inputs::scenario_file(given);
        let result = (|| -> Result<String, Stop> {
            let scenario = load_scenario(path, color)?;
            let rules = load_rules(&scenario, &[], crate::output::rule_sandbox(), color)?;
            let evaluation =
                gil_engine::evaluate(&scenario, &rules, &gil_engine::Options::default()).map_err(
                    |e| {
                        match e {
                            gil_engine::EngineError::Rule(r) => {
                                print_stderr(&render_rule_failure(&rules, &r, color))
                            }
                            other => print_stderr(&format!("error: {other}\n")),
                        }
                        Stop::Reported
                    },
                )?;
            gil_report::to_yaml(&evaluation.outcome).map_err(|e| Stop::Other(anyhow::anyhow!(e)))
        })();
        let text = match result {
            Ok(t) => t,
            Err(Stop::Reported) => return Ok(ExitCode::from(2)),
            Err(Stop::Interrupted) => return Ok(crate::commands::interrupted()),
            Err(Stop::Other(e)) => return Err(e),
        };
        let snap = snapshot_path(path);
        let old = std::fs::read_to_string(&snap).ok();
        match (old, update) {
            (Some(old), _) if old == text => {
                print_stdout(&format!("unchanged {}\n", snap.display()))?
            }
            (Some(old), false) if crate::snapshot_diff::same_within(&old, &text, &tolerance) => {
                print_stdout(&format!(
                    "unchanged {} (within the tolerance)\n",
                    snap.display()
                ))?
            }
            (_, true) => {
                write_atomic(&snap, text.as_bytes())?;
                print_stdout(&format!("updated {}\n", snap.display()))?;
            }
            (None, false) => {
                mismatched += 1;
                print_stdout(&format!(
                    "missing {}: run `gil snapshot {} --update` to record it\n",
                    snap.display(),
                    path.display()
                ))?;
            }
            (Some(old), false) => {
                mismatched += 1;
                let diff = similar::TextDiff::from_lines(&old, &text);
                let mut shown = String::new();
                for hunk in diff
                    .unified_diff()
                    .context_radius(3)
                    .header(&snap.display().to_string(), "new outcome")
                    .iter_hunks()
                {
                    shown.push_str(&hunk.to_string());
                }
                let colored: String = shown
                    .lines()
                    .map(|l| {
                        let code = if l.starts_with('+') {
                            "32"
                        } else if l.starts_with('-') {
                            "31"
                        } else if l.starts_with("@@") {
                            "36"
                        } else {
                            ""
                        };
                        if code.is_empty() {
                            format!("{l}\n")
                        } else {
                            format!("{}\n", paint(l, code, color))
                        }
                    })
                    .collect();
                let lines_changed = diff
                    .iter_all_changes()
                    .filter(|c| c.tag() != similar::ChangeTag::Equal)
                    .count();
                let named = crate::snapshot_diff::named_changes(&old, &text, &tolerance);
                let body = match (&named, raw_diff) {
                    (Some(named), false) => format!(
                        "{named}  ({lines_changed} lines of {} differ; `--diff` shows them)\n",
                        snap.display()
                    ),
                    (Some(named), true) => {
                        format!("{named}--- {}\n+++ new outcome\n{colored}", snap.display())
                    }
                    (None, _) => format!("--- {}\n+++ new outcome\n{colored}", snap.display()),
                };
                print_stdout(&format!(
                    "changed {}:\n{body}accept with `gil snapshot {} --update`\n",
                    path.display(),
                    path.display()
                ))?;
            }
        }
    }
    Ok(if mismatched > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

const INIT_SCENARIO: &str = r#"# A starting point: a ministry funds an agency that runs a GPU cluster for startups,
# and a voucher rule pays part of the startups' compute bill. Replace the figures with
# your own and give each a `source:`.
scenario:
  id: my-strategy
  title: My AI-compute strategy
  horizon: { start: 2026, end: 2028 }
  currency: KRW
  # Each rule file this scenario runs (a folder entry would load every .lua below it,
  # including rules other scenarios are tested with).
  rules: [rules/voucher.lua]

parameters:
  voucher.coverage: { value: 0.7, source: "your policy document" }
  market.gpu_hour_price: { value: 3000, unit: KRW per GPU-hour, source: "your market survey" }

actors:
  - { id: ministry, kind: government }
  - { id: agency, kind: agency, tags: [voucher_issuer] }
  - { id: startups, kind: startup, count: 100, attrs: { gpu_hours_demand: 2000 } }

assets:
  - { id: cluster, kind: gpu_cluster, owner: agency, capacity: { gpus: 100 } }

flows:
  - { id: budget, from: ministry, to: agency, kind: funding, via: grant, amount: 1.0e9, project: compute-access }
  - { id: compute, from: cluster, to: startups, kind: compute, amount: 2.0e5, project: compute-access }

projects:
  - id: compute-access
    what: { owner: ministry, goal: "Startups get affordable GPU time" }
    how:
      - { actor: agency, means: "runs the cluster and the vouchers" }
      - { actor: startups, means: "build AI products" }
    why: "Startups build AI without buying GPUs"
    public_how: "the agency only operates the programme"
    targets: [ { metric: voucher.granted, at_least: 1.0e8 } ]
"#;

const INIT_RULE: &str = r#"---@type gil.Rule
return {
  id = "voucher.compute",
  title = "Compute voucher: the issuer pays part of each eligible firm's compute bill",
  kind = "voucher",
  params = { "voucher.coverage", "market.gpu_hour_price" },
  select = { actors = { kind = { "startup", "sme" } } },
  on_actor = function(actor, ctx)
    local demand = actor.attrs.gpu_hours_demand or 0
    local grant = demand * actor.count * ctx.param("market.gpu_hour_price") * ctx.param("voucher.coverage")
    ctx.flow { from = "agency", to = actor.id, kind = "funding", via = "voucher",
               amount = grant, project = "compute-access", note = "compute voucher" }
    ctx.metric("voucher.granted", grant)
  end,
}
"#;

const INIT_TEST: &str = r#"# Tests for voucher.lua, run by `gil test`.
cases:
  - name: the voucher pays 70% of 100 startups × 2,000 GPU-hours × 3,000 KRW
    scenario: ../scenario.yaml
    years: [2026]
    expect:
      metrics: { voucher.granted: 4.2e8 }
      flows: [ { from: agency, to: startups, via: voucher, amount: 4.2e8 } ]
  - name: a lower coverage pays less
    scenario: ../scenario.yaml
    params: { voucher.coverage: 0.5 }
    years: [2026]
    expect:
      metrics: { voucher.granted: 3.0e8 }
"#;

const INIT_CI: &str = r#"# Run gil on every change: the scenario must load, rule tests must pass, role checks
# must hold, and any change to the outcome must be a reviewed snapshot update.
# Set the repository variable GIL_REPOSITORY to the git URL gil is installed from.
name: gil
on: [push, pull_request]
jobs:
  gil:
    runs-on: ubuntu-latest
    env:
      GIL_REPOSITORY: ${{ vars.GIL_REPOSITORY }}
    steps:
      - uses: actions/checkout@v4
      - run: test -n "$GIL_REPOSITORY" || { echo "set the repository variable GIL_REPOSITORY to gil's git URL"; exit 1; }
      - run: cargo install --locked --git "$GIL_REPOSITORY" gil-cli
      - run: gil check scenario.yaml
      - run: gil test rules
      - run: gil roles scenario.yaml
      - run: gil snapshot scenario.yaml
"#;

const INIT_README: &str = r#"# My AI-compute strategy

- `gil run scenario.yaml` — evaluate and read the outcome.
- `gil test rules` — run the rule tests in `rules/*.test.yaml`.
- `gil roles scenario.yaml --format md` — the What / How / Why of each project.
- `gil snapshot scenario.yaml --update` — record the outcome again after a reviewed
  change; CI fails on any unreviewed one (`gil snapshot scenario.yaml`).
  `gil init` wrote the first `scenario.snapshot.yaml`: commit it.
- A new rule: add `rules/<name>.lua` beside a `rules/<name>.test.yaml` (its cases may
  carry their own inline scenario), and list it under `scenario.rules` when this
  scenario should run it.
- `gil lua-api > .gil/gil.d.lua` — refresh the editor definitions after upgrading gil.
"#;

/// Scaffolds a policy repository in `dir` (which must be empty or absent).
pub fn init(dir: &Path) -> anyhow::Result<ExitCode> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        print_stderr(&format!(
            "error: `{}` is not empty; gil init only writes into a new or empty folder\n",
            dir.display()
        ));
        return Ok(ExitCode::from(2));
    }
    let luarc = r#"{
  "$schema": "https://raw.githubusercontent.com/LuaLS/vscode-lua/master/setting/schema.json",
  "runtime.version": "Lua 5.1",
  "workspace.library": [".gil"],
  "diagnostics.globals": []
}
"#;
    let files: [(&str, String); 7] = [
        ("scenario.yaml", INIT_SCENARIO.to_string()),
        ("rules/voucher.lua", INIT_RULE.to_string()),
        ("rules/voucher.test.yaml", INIT_TEST.to_string()),
        (".luarc.json", luarc.to_string()),
        (".gil/gil.d.lua", gil_rules::api::luals_meta()),
        (".github/workflows/gil.yml", INIT_CI.to_string()),
        ("README.md", INIT_README.to_string()),
    ];
    for (name, text) in &files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        write_atomic(&path, text.as_bytes())?;
    }
    // The first snapshot, so the scaffold's own CI passes on its first push.
    let code = snapshot(&[dir.join("scenario.yaml")], true, false, &[], false)?;
    if code != ExitCode::SUCCESS {
        return Ok(code);
    }
    emit(
        &format!(
            "created {} with a scenario and its snapshot, a voucher rule and its tests, editor settings and a CI example\nnext: gil run {}/scenario.yaml && gil test {}/rules\n",
            dir.display(),
            dir.display(),
            dir.display()
        ),
        None,
    )?;
    Ok(ExitCode::SUCCESS)
}
