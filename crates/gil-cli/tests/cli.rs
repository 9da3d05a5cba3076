//! The `gil` binary end to end: exit codes, output formats, colour, pipes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn gil(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gil"))
        .args(args)
        .current_dir(root())
        .env_remove("NO_COLOR")
        .output()
        .expect("gil runs")
}

#[test]
fn check_passes_on_every_example() {
    for example in [
        "korea-2026-allocation",
        "korea-2030",
        "stargate-2025",
        "minimal",
    ] {
        let path = format!("examples/{example}/scenario.yaml");
        let out = gil(&["check", &path]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{example}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok: "));
    }
}

#[test]
fn check_without_argument_uses_the_bundled_example() {
    let out = gil(&["check"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("korea-2030"));
}

#[test]
fn bad_input_exits_2_with_file_line_column() {
    let out = gil(&["check", "tests/fixtures/check/unknown_id.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tests/fixtures/check/unknown_id.yaml:6:22"),
        "{stderr}"
    );
    assert!(stderr.contains("flows[0].to"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "no colour when stderr is not a terminal"
    );
}

#[test]
fn missing_scenario_file_exits_2() {
    let out = gil(&["check", "no/such/scenario.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such file"));
}

#[test]
fn json_format_is_machine_readable() {
    let out = gil(&[
        "check",
        "--format",
        "json",
        "tests/fixtures/check/many_errors.yaml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["errors"], 5);
    assert_eq!(doc["diagnostics"][0]["line"], 5);
    assert_eq!(doc["diagnostics"][0]["path"], "actors[2].id");
}

#[test]
fn color_always_colours_and_no_color_wins_over_auto() {
    let out = gil(&[
        "check",
        "--color",
        "always",
        "tests/fixtures/check/unknown_id.yaml",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains('\u{1b}'));
    let out = Command::new(env!("CARGO_BIN_EXE_gil"))
        .args(["check", "tests/fixtures/check/unknown_id.yaml"])
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains('\u{1b}'));
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gil"))
        .args(["check", "--format", "json"])
        .current_dir(root())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away before gil writes
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gil-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn every_hostile_rule_exits_2_and_writes_nothing() {
    let dir = temp_dir("hostile");
    let out = dir.join("outcome.json");
    let mut fixtures: Vec<_> = std::fs::read_dir(root().join("tests/fixtures/rules/hostile"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    fixtures.sort();
    for fixture in fixtures {
        let result = gil(&[
            "run",
            "tests/fixtures/rules/scenario.yaml",
            "--rules",
            fixture.to_str().unwrap(),
            "--call-deadline",
            "0.3",
            "--lua-memory",
            "64",
            "--format",
            "json",
            "--out",
            out.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(
            result.status.code(),
            Some(2),
            "{}: {stderr}",
            fixture.display()
        );
        assert!(
            stderr.contains("tests/fixtures/rules/hostile/"),
            "{}: {stderr}",
            fixture.display()
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert!(
            left.is_empty(),
            "{}: files left behind: {left:?}",
            fixture.display()
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn run_without_argument_prints_the_korea_outcome() {
    let out = gil(&["run"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("korea-2030"));
    assert!(text.contains("Targets"));
}

#[test]
fn two_runs_give_identical_bytes_in_every_format() {
    for format in ["json", "yaml", "md", "table"] {
        let a = gil(&[
            "run",
            "examples/stargate-2025/scenario.yaml",
            "--format",
            format,
        ]);
        let b = gil(&[
            "run",
            "examples/stargate-2025/scenario.yaml",
            "--format",
            format,
        ]);
        assert_eq!(a.status.code(), Some(0));
        assert_eq!(a.stdout, b.stdout, "{format} differs between runs");
    }
}

#[test]
fn out_writes_the_file_atomically_and_timings_go_to_stderr() {
    let dir = temp_dir("out");
    let out = dir.join("outcome.yaml");
    let result = gil(&[
        "run",
        "examples/minimal/scenario.yaml",
        "--format",
        "yaml",
        "--out",
        out.to_str().unwrap(),
        "--timings",
    ]);
    assert_eq!(result.status.code(), Some(0));
    assert!(result.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&result.stderr);
    for phase in ["load", "rules", "analyses", "render"] {
        assert!(
            stderr.contains(&format!("timing.{phase}_seconds=")),
            "{stderr}"
        );
    }
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(written.starts_with("scenario:"));
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "only the outcome file"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn unknown_param_override_exits_2() {
    let out = gil(&[
        "run",
        "examples/minimal/scenario.yaml",
        "--param",
        "analysis.compute.utilisation=0.5",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("did you mean `analysis.compute.utilization`?"));
}

#[test]
fn fail_on_gates_ci_on_findings() {
    let clean = gil(&[
        "run",
        "examples/minimal/scenario.yaml",
        "--fail-on",
        "error",
    ]);
    assert_eq!(clean.status.code(), Some(0));
    // minimal's agency executes its own project: a warned role check counts as a warning.
    let warned_role = gil(&["run", "examples/minimal/scenario.yaml", "--fail-on", "warn"]);
    assert_eq!(warned_role.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&warned_role.stderr)
        .contains("1 role check (compute-access: how.private)"));
    let warned = gil(&[
        "run",
        "examples/stargate-2025/scenario.yaml",
        "--fail-on",
        "warn",
    ]);
    assert_eq!(warned.status.code(), Some(1));
}

#[test]
fn explain_diff_and_graph_work_on_every_example() {
    let dir = temp_dir("reform");
    let reform = dir.join("reform.yaml");
    std::fs::write(
        &reform,
        "title: slower build-out\nparameters:\n  analysis.compute.utilization: 0.5\n",
    )
    .unwrap();
    for (example, target) in [
        ("korea-2030", "compute.in.startups"),
        ("stargate-2025", "nvidia"),
        ("minimal", "usd-grant"),
    ] {
        let path = format!("examples/{example}/scenario.yaml");
        let explained = gil(&["explain", &path, target]);
        assert_eq!(
            explained.status.code(),
            Some(0),
            "{example}: {}",
            String::from_utf8_lossy(&explained.stderr)
        );
        assert!(
            String::from_utf8_lossy(&explained.stdout).contains("written in the scenario at"),
            "{example}"
        );
        let diffed = gil(&[
            "diff",
            &path,
            "--with",
            reform.to_str().unwrap(),
            "--format",
            "json",
        ]);
        assert_eq!(
            diffed.status.code(),
            Some(0),
            "{example}: {}",
            String::from_utf8_lossy(&diffed.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&diffed.stdout).unwrap();
        assert!(report["findings_added"].is_array());
        for format in ["dot", "mermaid"] {
            let graph = gil(&["graph", &path, "--format", format]);
            assert_eq!(graph.status.code(), Some(0), "{example} {format}");
            let text = String::from_utf8_lossy(&graph.stdout);
            assert!(
                text.starts_with(if format == "dot" {
                    "digraph"
                } else {
                    "flowchart LR"
                }),
                "{text}"
            );
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn every_bundled_rule_test_passes() {
    let out = gil(&["test", "rules"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("FAIL"), "{stdout}");
    // Every suite ran: at least one passing case per test file (an empty run fails).
    let suites = std::fs::read_dir(root().join("rules"))
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).into_iter().flatten())
        .filter(|f| {
            f.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".test.yaml")
        })
        .count();
    let passed: usize = stdout
        .lines()
        .find_map(|l| l.strip_suffix(" passed, 0 failed"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(suites >= 11, "the library's test files were not found");
    assert!(
        passed >= suites,
        "{passed} cases passed for {suites} test files\n{stdout}"
    );
}

/// The backtest example agrees with the published first round of the government GPU
/// call: its rule tests pin the split within ±15%, and `gil run` meets every target.
#[test]
fn the_backtest_example_reproduces_the_published_allocation() {
    let out = gil(&["test", "examples/korea-2026-allocation"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("7 passed, 0 failed"), "{stdout}");
    let out = gil(&[
        "run",
        "examples/korea-2026-allocation/scenario.yaml",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let targets = outcome["analyses"]["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 6);
    assert!(targets.iter().all(|t| t["met"] == true), "{targets:?}");
    let metrics = &outcome["steps"][0]["metrics"];
    for (sector, published) in [
        ("academia", 2624.0),
        ("industry", 1288.0),
        ("research", 312.0),
    ] {
        let model = metrics[format!("allocation.awarded.{sector}")]
            .as_f64()
            .unwrap();
        assert!(
            (model / published - 1.0).abs() <= 0.15,
            "{sector}: {model} against {published} published"
        );
    }
}

#[test]
fn a_failing_rule_test_exits_1_with_a_readable_difference() {
    // A copy of the library's layout: the rule requires `../lib/tags`, and the
    // `.luaurc` marks the copy's root as the project folder.
    let dir = temp_dir("failing-test");
    for file in ["tax/facility_credit.lua", "lib/tags.lua", ".luaurc"] {
        std::fs::create_dir_all(dir.join(file).parent().unwrap()).unwrap();
        std::fs::copy(root().join("rules").join(file), dir.join(file)).unwrap();
    }
    let test = std::fs::read_to_string(root().join("rules/tax/facility_credit.test.yaml")).unwrap();
    std::fs::write(
        dir.join("tax/facility_credit.test.yaml"),
        test.replace("amount: 2.0e8 }", "amount: 2.1e8 }"),
    )
    .unwrap();
    let out = gil(&["test", dir.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("flow moef → bigco via tax_credit in 2026: expected 210.0M, got 200.0M"),
        "{stdout}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn init_scaffolds_a_repository_that_runs_tests_and_snapshots() {
    let dir = temp_dir("init").join("policy");
    let d = dir.to_str().unwrap();
    assert_eq!(gil(&["init", d]).status.code(), Some(0));
    for file in [
        "scenario.yaml",
        "rules/voucher.lua",
        "rules/voucher.test.yaml",
        ".luarc.json",
        ".gil/gil.d.lua",
        ".github/workflows/gil.yml",
    ] {
        assert!(dir.join(file).exists(), "{file} missing");
    }
    assert_eq!(
        gil(&["init", d]).status.code(),
        Some(2),
        "refuses a non-empty folder"
    );
    let scenario = dir.join("scenario.yaml");
    let s = scenario.to_str().unwrap();
    assert_eq!(
        gil(&["test", dir.join("rules").to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(gil(&["check", s]).status.code(), Some(0));
    assert_eq!(gil(&["roles", s]).status.code(), Some(0));
    assert_eq!(
        gil(&["snapshot", s]).status.code(),
        Some(0),
        "init writes the first snapshot"
    );
    std::fs::remove_file(dir.join("scenario.snapshot.yaml")).unwrap();
    assert_eq!(gil(&["snapshot", s]).status.code(), Some(1), "no snapshot");
    assert_eq!(gil(&["snapshot", s, "--update"]).status.code(), Some(0));
    assert_eq!(gil(&["snapshot", s]).status.code(), Some(0));
    let text = std::fs::read_to_string(&scenario)
        .unwrap()
        .replace("value: 0.7", "value: 0.6");
    std::fs::write(&scenario, text).unwrap();
    let changed = gil(&["snapshot", s]);
    assert_eq!(changed.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&changed.stdout);
    // By name: the metric and its change, not YAML hunks.
    assert!(
        stdout.contains("metric voucher.granted in 2026–2028: 420M → 360M (-14.3%)"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("-    voucher.granted: 420000000.0"),
        "{stdout}"
    );
    // Within a tolerance on every number the snapshot stands; one on the metric alone
    // only leaves that metric out of the list, since the ledger still changed.
    let loose = gil(&["snapshot", s, "--tolerance", "0.5"]);
    assert_eq!(
        loose.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&loose.stdout)
    );
    assert!(String::from_utf8_lossy(&loose.stdout).contains("(within the tolerance)"));
    let one = gil(&["snapshot", s, "--tolerance", "voucher.granted=0.5"]);
    assert_eq!(one.status.code(), Some(1));
    let one = String::from_utf8_lossy(&one.stdout);
    assert!(!one.contains("metric voucher.granted"), "{one}");
    assert!(one.contains("metric funding.in.startups"), "{one}");
    assert_eq!(
        gil(&["snapshot", s, "--tolerance", "lots"]).status.code(),
        Some(2)
    );
    let raw = gil(&["snapshot", s, "--diff"]);
    assert_eq!(raw.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&raw.stdout).contains("-    voucher.granted: 420000000.0"));
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn report_writes_html_with_a_reform_beside_the_baseline() {
    let dir = temp_dir("report");
    let reform = dir.join("reform.yaml");
    std::fs::write(
        &reform,
        "title: slower GPUs\nparameters:\n  analysis.compute.utilization: 0.5\n",
    )
    .unwrap();
    let out = dir.join("report.html");
    let result = gil(&[
        "report",
        "examples/minimal/scenario.yaml",
        "--html",
        "--with",
        reform.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        result.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("Reform: slower GPUs"));
    assert_eq!(
        gil(&["report", "examples/minimal/scenario.yaml"])
            .status
            .code(),
        Some(2),
        "--html is required"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

fn interrupt_run(signal: &str) -> (Option<i32>, String, Vec<std::path::PathBuf>) {
    let dir = temp_dir(&format!("signal-{signal}"));
    let out = dir.join("outcome.json");
    let child = Command::new(env!("CARGO_BIN_EXE_gil"))
        .args([
            "run",
            "tests/fixtures/rules/scenario.yaml",
            "--rules",
            "tests/fixtures/rules/slow.lua",
            "--call-deadline",
            "120",
        ])
        .args(["--format", "json", "--out", out.to_str().unwrap()])
        .current_dir(root())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let killed = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    std::fs::remove_dir_all(&dir).unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        left,
    )
}

#[test]
fn sigint_and_sigterm_stop_a_run_and_leave_no_file() {
    let (code, stderr, left) = interrupt_run("INT");
    assert_eq!(code, Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted: nothing was written"),
        "{stderr}"
    );
    assert!(left.is_empty(), "{left:?}");
    let (code, stderr, left) = interrupt_run("TERM");
    assert_eq!(code, Some(143), "{stderr}");
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn every_loader_error_fixture_exits_2_with_a_position_and_writes_nothing() {
    let dir = temp_dir("loader-corpus");
    let out = dir.join("outcome.json");
    let mut fixtures: Vec<_> = std::fs::read_dir(root().join("tests/fixtures/check"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    fixtures.sort();
    for fixture in fixtures {
        let relative = fixture
            .strip_prefix(root())
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let result = gil(&[
            "run",
            &relative,
            "--format",
            "json",
            "--out",
            out.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{relative}: {stderr}");
        assert!(!stderr.contains("panicked"), "{relative}: {stderr}");
        // `file:line:column` of the first problem.
        let located = stderr.lines().any(|l| {
            l.contains("┌─ tests/fixtures/check/")
                && l.rsplit(':')
                    .take(2)
                    .all(|n| n.trim().parse::<u32>().is_ok())
        });
        assert!(located, "{relative}: no file:line:column in\n{stderr}");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "{relative}: a file was left behind"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn outcome_bytes_are_identical_over_twenty_runs() {
    let first = gil(&["run", "--format", "json"]);
    assert_eq!(first.status.code(), Some(0));
    for _ in 0..19 {
        assert_eq!(gil(&["run", "--format", "json"]).stdout, first.stdout);
    }
}

/// `gil gen synthetic ARGS DIR`, which must succeed; what it printed.
fn gen_synthetic(dir: &std::path::Path, args: &[&str]) -> String {
    let mut all = vec!["gen", "synthetic"];
    all.extend(args);
    all.push(dir.to_str().unwrap());
    let made = gil(&all);
    assert_eq!(
        made.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    String::from_utf8_lossy(&made.stdout).into_owned()
}

#[test]
fn outcome_bytes_are_identical_for_any_number_of_threads() {
    let base = temp_dir("threads");
    let generate = |name: &str, extra: &[&str]| {
        let dir = base.join(name);
        let mut args = vec!["--actors", "3000", "--flows", "6000", "--years", "2"];
        args.extend(extra);
        gen_synthetic(&dir, &args);
        dir.join("scenario.yaml").to_string_lossy().into_owned()
    };
    // The columnar form too: its hooks must run on the main runtime with any --threads.
    let synthetic = generate("synthetic", &[]);
    let columnar = generate("columnar", &["--columnar"]);
    let mut two_threads = Vec::new();
    for scenario in [
        synthetic.as_str(),
        columnar.as_str(),
        "examples/korea-2030/scenario.yaml",
        "examples/stargate-2025/scenario.yaml",
    ] {
        let one = gil(&["run", scenario, "--format", "json", "--threads", "1"]);
        assert_eq!(
            one.status.code(),
            Some(0),
            "{scenario}: {}",
            String::from_utf8_lossy(&one.stderr)
        );
        for threads in ["2", "4"] {
            let many = gil(&["run", scenario, "--format", "json", "--threads", threads]);
            assert!(
                one.stdout == many.stdout,
                "{scenario}: --threads {threads} changes the outcome"
            );
            if threads == "2" {
                two_threads.push(many.stdout);
            }
        }
    }
    // Same metrics either way (rule files differ, so compare the steps only).
    let steps = |out: &[u8]| {
        let v: serde_json::Value = serde_json::from_slice(out).unwrap();
        v["steps"].clone()
    };
    assert_eq!(
        steps(&two_threads[0]),
        steps(&two_threads[1]),
        "the columnar form differs from the per-entity form with --threads 2"
    );
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn the_same_registry_as_yaml_csv_or_parquet_tables_gives_the_same_outcome() {
    let base = temp_dir("tables");
    let generate = |name: &str, extra: &[&str]| {
        let dir = base.join(name);
        let mut args = vec!["--actors", "2000", "--flows", "5000", "--years", "3"];
        args.extend(extra);
        let said = gen_synthetic(&dir, &args);
        (dir, said)
    };
    let (yaml, _) = generate("yaml", &[]);
    let (csv, said) = generate("csv", &["--tables", "csv"]);
    assert!(said.contains("entities in data/*.csv"), "{said}");
    let (parquet, _) = generate("parquet", &["--tables", "parquet"]);
    assert!(parquet.join("data/flows.parquet").is_file());
    assert!(
        !parquet.join("baseline").exists(),
        "the baselines read the entities from the scenario file"
    );
    let run = |dir: &std::path::Path| {
        let scenario = dir.join("scenario.yaml");
        let out = gil(&["run", scenario.to_str().unwrap(), "--format", "json"]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{}: {stderr}", dir.display());
        out.stdout
    };
    let from_yaml = run(&yaml);
    assert!(
        from_yaml == run(&csv),
        "the CSV tables give another outcome"
    );
    assert!(
        from_yaml == run(&parquet),
        "the Parquet tables give another outcome"
    );
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn test_coverage_counts_the_lines_the_cases_ran_in_rules_and_modules() {
    let dir = temp_dir("coverage");
    let lcov_path = dir.join("lcov.info");
    let out = gil(&[
        "test",
        "rules/tax",
        "--coverage",
        "--lcov",
        lcov_path.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("coverage (lines run / lines with code):"),
        "{stdout}"
    );
    assert!(stdout.contains("rules/tax/ai_rnd_credit.lua"), "{stdout}");
    let lcov = std::fs::read_to_string(&lcov_path).unwrap();
    // Per file: its DA lines (line → hits).
    let mut files: std::collections::BTreeMap<String, Vec<(usize, u64)>> = Default::default();
    let mut current = String::new();
    for line in lcov.lines() {
        if let Some(file) = line.strip_prefix("SF:") {
            current = file.to_string();
        } else if let Some(da) = line.strip_prefix("DA:") {
            let (l, h) = da.split_once(',').unwrap();
            files
                .entry(current.clone())
                .or_default()
                .push((l.parse().unwrap(), h.parse().unwrap()));
        }
    }
    // The module the rules require is covered too.
    assert!(files.contains_key("rules/lib/tags.lua"), "{lcov}");
    let rule = &files["rules/tax/ai_rnd_credit.lua"];
    let text = std::fs::read_to_string(root().join("rules/tax/ai_rnd_credit.lua")).unwrap();
    let line_of = |needle: &str| 1 + text.lines().position(|l| l.contains(needle)).unwrap();
    let hits = |line: usize| rule.iter().find(|(l, _)| *l == line).map(|(_, h)| *h);
    // No case leaves the credit without a tax authority; every case pays a credit.
    assert_eq!(hits(line_of("ctx.finding")), Some(0), "{lcov}");
    assert!(hits(line_of("ctx.flow")).is_some_and(|h| h > 0), "{lcov}");
    // Comments have no code, so no DA line.
    assert_eq!(hits(1), None, "{lcov}");
    std::fs::remove_dir_all(dir).unwrap();
}
