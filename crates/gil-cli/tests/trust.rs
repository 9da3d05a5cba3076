//! What a new user and a CI maintainer rely on: documents that do not depend on the
//! working directory, a default scenario that comes from where `gil` runs, coloured
//! tables that align like plain ones.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn gil_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gil"))
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .output()
        .expect("gil runs")
}

fn ok(out: Output) -> Vec<u8> {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn temp_dir(name: &str) -> gil_tests::Scratch {
    gil_tests::Scratch::new(&format!("gil-trust-{name}"))
}

/// Removes `ESC [ … m` colour sequences.
fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for next in chars.by_ref() {
                if next == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `gil explain` on the bundled korea-2030 example with `args` after the target: its
/// standard output, which must be a success.
fn explain_korea(target: &str, args: &[&str]) -> String {
    let mut all = vec!["explain", "examples/korea-2030/scenario.yaml", target];
    all.extend_from_slice(args);
    String::from_utf8(ok(gil_in(&root(), &all))).unwrap()
}

#[test]
fn outcomes_and_reports_are_the_same_bytes_from_any_working_directory() {
    let root = root();
    let korea = root.join("examples/korea-2030");
    let extra = root.join("rules/voucher/virtuous_cycle.lua");
    for format in ["json", "yaml", "md"] {
        let from_root = ok(gil_in(
            &root,
            &[
                "run",
                "examples/korea-2030/scenario.yaml",
                "--format",
                format,
            ],
        ));
        let from_examples = ok(gil_in(
            &root.join("examples"),
            &["run", "korea-2030/scenario.yaml", "--format", format],
        ));
        let from_folder = ok(gil_in(
            &korea,
            &["run", "scenario.yaml", "--format", format],
        ));
        let absolute = ok(gil_in(
            &std::env::temp_dir(),
            &[
                "run",
                korea.join("scenario.yaml").to_str().unwrap(),
                "--format",
                format,
            ],
        ));
        assert!(from_root == from_examples, "{format}: root vs examples/");
        assert!(
            from_root == from_folder,
            "{format}: root vs the scenario's folder"
        );
        assert!(from_root == absolute, "{format}: root vs an absolute path");
        let text = String::from_utf8(from_root).unwrap();
        assert!(
            !text.contains(root.to_str().unwrap()),
            "{format}: a machine path in the outcome"
        );
        assert!(
            text.contains("../../rules/voucher/compute_voucher.lua"),
            "{format}: rule files are named relative to the scenario's folder"
        );
    }
    // An extra rule given relative to the working directory is named the same way.
    let with_rules = |dir: &Path, rule: &str, scenario: &str| {
        ok(gil_in(
            dir,
            &["run", scenario, "--rules", rule, "--format", "json"],
        ))
    };
    assert!(
        with_rules(
            &root,
            "rules/voucher/virtuous_cycle.lua",
            "examples/korea-2030/scenario.yaml"
        ) == with_rules(&korea, extra.to_str().unwrap(), "scenario.yaml")
    );
    let report = |dir: &Path, scenario: &str, out: &Path| {
        ok(gil_in(
            dir,
            &["report", scenario, "--html", "--out", out.to_str().unwrap()],
        ));
        std::fs::read(out).unwrap()
    };
    let tmp = temp_dir("report");
    let a = report(
        &root,
        "examples/korea-2030/scenario.yaml",
        &tmp.join("a.html"),
    );
    let b = report(&korea, "scenario.yaml", &tmp.join("b.html"));
    assert!(a == b, "the HTML report depends on the working directory");
    assert!(!String::from_utf8(a)
        .unwrap()
        .contains(root.to_str().unwrap()));
    let explain = |dir: &Path, scenario: &str| {
        ok(gil_in(
            dir,
            &[
                "explain",
                scenario,
                "compute.in.startups",
                "--color",
                "never",
            ],
        ))
    };
    assert!(
        explain(&root, "examples/korea-2030/scenario.yaml") == explain(&korea, "scenario.yaml"),
        "explain depends on the working directory"
    );
    std::fs::remove_dir_all(tmp).unwrap();
}

#[test]
fn a_snapshot_made_inside_a_project_passes_from_its_parent() {
    let parent = temp_dir("snapshot");
    ok(gil_in(&parent, &["init", "p"]));
    let project = parent.join("p");
    ok(gil_in(&project, &["snapshot", "scenario.yaml", "--update"]));
    let out = gil_in(&parent, &["snapshot", "p/scenario.yaml"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(parent).unwrap();
}

#[test]
fn the_default_scenario_is_the_local_one_else_the_bundled_example() {
    let empty = temp_dir("default-empty");
    let bundled = ok(gil_in(&empty, &["run", "--format", "json"]));
    let checkout = ok(gil_in(
        &root(),
        &[
            "run",
            "examples/korea-2030/scenario.yaml",
            "--format",
            "json",
        ],
    ));
    assert!(
        bundled == checkout,
        "the bundled example differs from examples/korea-2030"
    );
    let summary = String::from_utf8(ok(gil_in(&empty, &["check"]))).unwrap();
    assert!(
        summary.starts_with("ok: bundled:examples/korea-2030/scenario.yaml"),
        "{summary}"
    );

    let project = temp_dir("default-local");
    ok(gil_in(&project, &["init", "."]));
    let local: serde_json::Value =
        serde_json::from_slice(&ok(gil_in(&project, &["run", "--format", "json"]))).unwrap();
    let id = local["scenario"]["id"].as_str().unwrap();
    assert_ne!(id, "korea-2030", "./scenario.yaml is ignored");
    std::fs::remove_dir_all(empty).unwrap();
    std::fs::remove_dir_all(project).unwrap();
}

#[test]
fn coloured_tables_align_like_plain_ones() {
    let root = root();
    for args in [
        vec!["run", "examples/stargate-2025/scenario.yaml"],
        vec!["run", "examples/korea-2030/scenario.yaml"],
        vec!["roles", "examples/korea-2030/scenario.yaml"],
        vec!["roles", "examples/stargate-2025/scenario.yaml"],
    ] {
        let run = |color: &str| {
            let mut all = args.clone();
            all.extend(["--color", color]);
            let out = gil_in(&root, &all);
            String::from_utf8(out.stdout).unwrap()
        };
        let coloured = run("always");
        assert!(coloured.contains('\u{1b}'), "{args:?}: no colour at all");
        assert_eq!(strip_ansi(&coloured), run("never"), "{args:?}");
    }
}

#[test]
fn failed_role_checks_count_for_fail_on_and_the_reason_is_printed() {
    let root = root();
    let fixture = "tests/fixtures/roles/how_present.yaml";
    assert_eq!(gil_in(&root, &["roles", fixture]).status.code(), Some(1));
    let run = gil_in(&root, &["run", fixture, "--fail-on", "error"]);
    assert_eq!(
        run.status.code(),
        Some(1),
        "a failed role check is an error"
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("exit 1 (--fail-on error): 1 role check (bad: how.present)"),
        "{stderr}"
    );
    let passing = gil_in(
        &root,
        &[
            "run",
            "examples/korea-2030/scenario.yaml",
            "--fail-on",
            "error",
        ],
    );
    assert_eq!(passing.status.code(), Some(0));
    assert!(passing.stderr.is_empty());
}

#[test]
fn run_shows_roles_loops_and_with_flows_every_flow() {
    let root = root();
    let text = |args: &[&str]| String::from_utf8(ok(gil_in(&root, args))).unwrap();
    let stargate = text(&[
        "run",
        "examples/stargate-2025/scenario.yaml",
        "--color",
        "never",
    ]);
    assert!(
        stargate.contains("\nCircular financing (5 loops)\n"),
        "{stargate}"
    );
    assert!(stargate.contains("nvidia → openai → nvidia"));
    assert!(stargate.contains("\nRoles (1 project, 0 checks failed;"));
    let failing = text(&[
        "run",
        "tests/fixtures/roles/how_present.yaml",
        "--color",
        "never",
    ]);
    assert!(
        failing.contains("  bad      how.present  fail    nobody holds the How"),
        "{failing}"
    );
    let minimal = "examples/minimal/scenario.yaml";
    let plain = text(&["run", minimal, "--color", "never"]);
    let flows = text(&["run", minimal, "--flows", "--color", "never"]);
    assert!(!plain.contains("\nFlows ("));
    assert!(
        flows.contains("\nFlows (12 flows over the horizon)\n"),
        "{flows}"
    );
    let md = text(&["run", minimal, "--flows", "--format", "md"]);
    assert!(
        md.contains("\n## Flows (12 flows over the horizon)\n"),
        "{md}"
    );
}

#[test]
fn small_manners_plurals_empty_tables_project_ids_and_diff_digits() {
    let root = root();
    let check = String::from_utf8(ok(gil_in(
        &root,
        &["check", "examples/minimal/scenario.yaml"],
    )))
    .unwrap();
    assert!(check.contains(" 1 project, "), "{check}");
    let roles = String::from_utf8(ok(gil_in(
        &root,
        &[
            "roles",
            "examples/minimal/scenario.yaml",
            "--color",
            "never",
        ],
    )))
    .unwrap();
    assert!(
        !roles.contains("target(s)") && !roles.contains("all 1 "),
        "{roles}"
    );
    let minimal = String::from_utf8(ok(gil_in(
        &root,
        &["run", "examples/minimal/scenario.yaml", "--color", "never"],
    )))
    .unwrap();
    assert!(
        !minimal.contains("1 rules") && !minimal.contains("1 projects"),
        "{minimal}"
    );
    // A section with nothing in it says so instead of printing a bare header.
    let empty = temp_dir("empty-findings");
    let scenario = empty.join("scenario.yaml");
    std::fs::write(
        &scenario,
        "scenario: { id: quiet, horizon: { start: 2026, end: 2026 }, currency: KRW }\nactors:\n  - { id: gov, kind: government }\n",
    )
    .unwrap();
    let quiet = String::from_utf8(ok(gil_in(
        &empty,
        &["run", "scenario.yaml", "--color", "never"],
    )))
    .unwrap();
    assert!(
        quiet.contains("Findings (0 errors, 0 warnings, 0 in all)\n  none\n"),
        "{quiet}"
    );
    assert!(!quiet.contains("level  year"), "{quiet}");

    let wrong = gil_in(
        &root,
        &[
            "roles",
            "examples/korea-2030/scenario.yaml",
            "--project",
            "nope",
        ],
    );
    assert_eq!(wrong.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(stderr.contains("projects: "), "{stderr}");
    assert!(stderr.contains("compute-voucher"), "{stderr}");

    // A small change to a large number shows digits that differ, and a % column.
    let reform = empty.join("reform.yaml");
    std::fs::write(
        &reform,
        "parameters: { tax.facility_credit.large: 0.199 }\n",
    )
    .unwrap();
    let diff = String::from_utf8(ok(gil_in(
        &root,
        &[
            "diff",
            "examples/korea-2030/scenario.yaml",
            "--with",
            reform.to_str().unwrap(),
        ],
    )))
    .unwrap();
    assert!(
        diff.contains("2026  funding.in.naver-cloud    3.729T  3.727T  -1.67B  -0.04%"),
        "{diff}"
    );
    std::fs::remove_dir_all(empty).unwrap();
}

#[test]
fn gil_test_fails_loudly_when_nothing_or_something_else_went_wrong() {
    let root = root();
    let fixtures = "tests/fixtures/testing";
    let run = |dir: &Path, args: &[&str]| {
        let out = gil_in(dir, args);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, _) = run(&root, &["test", &format!("{fixtures}/passing.test.yaml")]);
    assert_eq!(code, Some(0), "{stdout}");
    let (code, stdout, _) = run(
        &root,
        &["test", &format!("{fixtures}/mismatches.test.yaml")],
    );
    assert_eq!(code, Some(1));
    assert!(
        stdout.contains("did you mean `power.demand.south`?"),
        "{stdout}"
    );
    // A rule fault is bad input, exit 2, as everywhere else.
    let (code, stdout, _) = run(
        &root,
        &["test", &format!("{fixtures}/rule_fault.test.yaml")],
    );
    assert_eq!(code, Some(2), "{stdout}");
    assert!(stdout.contains("1 case could not run"), "{stdout}");
    // A filter that matches nothing runs no test: a failure, with the reason.
    let (code, stdout, stderr) = run(&root, &["test", fixtures, "--filter", "no such case"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stderr.contains(
            "no test ran: --filter `no such case` matches none of the 9 cases in 4 test files"
        ),
        "{stderr}"
    );
    // An unreadable file is bad input and says so; it is not "0 passed, 0 failed".
    let empty = temp_dir("test-paths");
    std::fs::write(
        empty.join("broken.test.yaml"),
        "cases: [ { name: x, years: nope } ]\n",
    )
    .unwrap();
    let (code, stdout, _) = run(&empty, &["test", "broken.test.yaml"]);
    assert_eq!(code, Some(2));
    assert!(stdout.contains("1 test file could not be read"), "{stdout}");
    // The default path is rules/, as the help says; without one, the user is told.
    std::fs::remove_file(empty.join("broken.test.yaml")).unwrap();
    let (code, _, stderr) = run(&empty, &["test"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("there is no `rules/` folder here"),
        "{stderr}"
    );
    std::fs::create_dir_all(empty.join("rules")).unwrap();
    let (code, _, stderr) = run(&empty, &["test"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("no test ran: no *.test.yaml file below `rules`"),
        "{stderr}"
    );
    std::fs::remove_dir_all(empty).unwrap();
}

/// The `gil …` steps of the scaffold's CI file, run from the project's root.
fn run_ci_steps(project: &Path) {
    let ci = std::fs::read_to_string(project.join(".github/workflows/gil.yml")).unwrap();
    assert!(
        !ci.contains('<'),
        "a `<placeholder>` is a shell redirect:\n{ci}"
    );
    let steps: Vec<&str> = ci
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- run: gil "))
        .collect();
    assert!(steps.len() >= 4, "{ci}");
    for step in steps {
        let args: Vec<&str> = step.split_whitespace().collect();
        let out = gil_in(project, &args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "`gil {step}` failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_scaffold_passes_its_own_ci_fresh_and_with_a_second_rule() {
    let parent = temp_dir("scaffold");
    ok(gil_in(&parent, &["init", "policy"]));
    let project = parent.join("policy");
    assert!(
        project.join("scenario.snapshot.yaml").exists(),
        "the first snapshot"
    );
    run_ci_steps(&project);

    // A second rule with its own test and inline scenario leaves the first alone.
    std::fs::write(
        project.join("rules/levy.lua"),
        r#"---@type gil.Rule
return {
  id = "levy.power",
  kind = "power",
  on_actor = function(actor, ctx)
    ctx.metric("levy.firms", actor.count)
  end,
  select = { actors = { kind = { "startup" } } },
}
"#,
    )
    .unwrap();
    std::fs::write(
        project.join("rules/levy.test.yaml"),
        r#"cases:
  - name: the levy counts the firms
    scenario:
      scenario: { id: levy, horizon: { start: 2026, end: 2026 }, currency: KRW, rules: [] }
      actors:
        - { id: firms, kind: startup, count: 7 }
    expect:
      metrics: { levy.firms: 7 }
"#,
    )
    .unwrap();
    run_ci_steps(&project);
    std::fs::remove_dir_all(parent).unwrap();
}

#[test]
fn rule_metrics_named_like_built_ins_are_shown_and_explained_as_rule_metrics() {
    let root = root();
    let korea = "examples/korea-2030/scenario.yaml";
    let tmp = temp_dir("vocabulary");
    let html = tmp.join("k.html");
    ok(gil_in(
        &root,
        &["report", korea, "--html", "--out", html.to_str().unwrap()],
    ));
    let page = std::fs::read_to_string(&html).unwrap();
    for metric in ["power.green_mw", "power.saved_mw"] {
        assert!(
            page.contains(metric),
            "the report drops the rule metric {metric}"
        );
    }
    let explain = String::from_utf8(ok(gil_in(
        &root,
        &["explain", korea, "power.green_mw", "--color", "never"],
    )))
    .unwrap();
    assert!(
        explain.starts_with("`power.green_mw` is a rule metric"),
        "{explain}"
    );
    assert!(
        explain.contains("rules/power/green_ppa.lua:31"),
        "{explain}"
    );
    let builtin = String::from_utf8(ok(gil_in(
        &root,
        &["explain", korea, "power.demand.capital", "--color", "never"],
    )))
    .unwrap();
    assert!(
        builtin.contains("is built in by the power analysis"),
        "{builtin}"
    );
    // --kind takes a flow kind and names the valid ones otherwise.
    let wrong = gil_in(&root, &["graph", korea, "--kind", "money"]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("expected one of funding, compute, power")
    );
    std::fs::remove_dir_all(tmp).unwrap();
}

#[test]
fn lua_print_reaches_stderr_through_the_cli_and_never_the_outcome() {
    let dir = temp_dir("print");
    std::fs::write(
        dir.join("scenario.yaml"),
        "scenario: { id: p, horizon: { start: 2026, end: 2026 }, currency: KRW, rules: [say.lua] }\nactors:\n  - { id: gov, kind: government }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("say.lua"),
        "return { id = \"say\", on_step = function(_, ctx) print(\"hello\", ctx.step) end }\n",
    )
    .unwrap();
    let out = gil_in(&dir, &["run", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("print say.lua:1: hello\t2026"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("hello"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn check_reports_every_rule_problem_in_one_pass_in_one_shape() {
    let root = root();
    let fixture = "tests/fixtures/check-rules/scenario.yaml";
    let human = gil_in(&root, &["check", fixture]);
    assert_eq!(human.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&human.stderr);
    assert!(stderr.contains("error[rule-syntax]"), "{stderr}");
    assert!(stderr.contains("error[rule-metadata]"), "{stderr}");
    assert!(
        stderr.contains("tests/fixtures/check-rules/rules/b_metadata.lua:4:3"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("2 errors found; nothing was run\n"),
        "{stderr}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&gil_in(&root, &["check", fixture, "--format", "json"]).stdout)
            .unwrap();
    assert_eq!(json["errors"], 2);
    // Rule problems have the scenario diagnostics' shape: the same keys, a position.
    let yaml: serde_json::Value = serde_json::from_slice(
        &gil_in(
            &root,
            &[
                "check",
                "tests/fixtures/check/unknown_id.yaml",
                "--format",
                "json",
            ],
        )
        .stdout,
    )
    .unwrap();
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.retain(|k| k != "notes");
        k
    };
    for d in json["diagnostics"].as_array().unwrap() {
        assert_eq!(keys(d), keys(&yaml["diagnostics"][0]));
        assert!(d["line"].is_u64() && d["column"].is_u64(), "{d}");
    }
}

#[test]
fn a_rule_fault_names_the_year_and_the_entity_and_the_cli_says_how_to_raise_a_limit() {
    let root = root();
    let out = gil_in(
        &root,
        &[
            "run",
            "tests/fixtures/rules/scenario.yaml",
            "--rules",
            "tests/fixtures/rules/hostile/entity_mutation.lua",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("= in 2026, for actor `startups`"),
        "{stderr}"
    );
    let slow = gil_in(
        &root,
        &[
            "run",
            "tests/fixtures/rules/scenario.yaml",
            "--rules",
            "tests/fixtures/rules/hostile/infinite_loop.lua",
            "--call-deadline",
            "0.2",
        ],
    );
    assert_eq!(slow.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&slow.stderr);
    assert!(stderr.contains("error[rule-deadline]"), "{stderr}");
    assert!(stderr.contains("--call-deadline SECONDS"), "{stderr}");
}

#[test]
fn explain_shows_a_written_capacity_as_the_attribute_rules_set() {
    let out = String::from_utf8(ok(gil_in(
        &root(),
        &[
            "explain",
            "examples/minimal/scenario.yaml",
            "cluster.capacity.gpus",
        ],
    )))
    .unwrap();
    assert!(
        out.contains("written in the scenario at scenario.yaml:21:87"),
        "{out}"
    );
    assert!(out.contains("  2026: 1000\n"), "{out}");
    assert!(!out.contains("not set"), "{out}");
}

#[test]
fn shell_manners_version_completions_folders_and_stdin() {
    let root = root();
    let version = String::from_utf8(ok(gil_in(&root, &["--version"]))).unwrap();
    assert!(
        version.starts_with("gil 0.") && version.contains("(commit "),
        "{version}"
    );
    let bash = String::from_utf8(ok(gil_in(&root, &["completions", "bash"]))).unwrap();
    assert!(
        bash.contains("_gil()") && bash.contains("lua-api"),
        "not a bash completion"
    );
    let folder = ok(gil_in(
        &root,
        &["run", "examples/minimal", "--format", "json"],
    ));
    let file = ok(gil_in(
        &root,
        &["run", "examples/minimal/scenario.yaml", "--format", "json"],
    ));
    assert!(folder == file, "a folder argument means its scenario.yaml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gil"))
        .args(["run", "-", "--format", "json"])
        .current_dir(root.join("examples/minimal"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    let text = std::fs::read(root.join("examples/minimal/scenario.yaml")).unwrap();
    child.stdin.take().unwrap().write_all(&text).unwrap();
    let piped = child.wait_with_output().unwrap();
    assert_eq!(piped.status.code(), Some(0));
    assert!(
        piped.stdout == file,
        "`-` reads the scenario from standard input"
    );
    let check = String::from_utf8(ok(gil_in(&root, &["check", "examples/minimal"]))).unwrap();
    assert!(
        check.starts_with("ok: examples/minimal/scenario.yaml "),
        "{check}"
    );
}

#[test]
fn gil_test_writes_junit_xml_for_ci_systems() {
    let root = root();
    let tmp = temp_dir("junit");
    let xml = tmp.join("junit.xml");
    let out = gil_in(
        &root,
        &[
            "test",
            "tests/fixtures/testing",
            "--junit",
            xml.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "a case that cannot run is exit 2"
    );
    let text = std::fs::read_to_string(&xml).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
    let suites = doc.root_element();
    assert_eq!(suites.tag_name().name(), "testsuites");
    assert_eq!(suites.attribute("tests"), Some("9"));
    assert_eq!(suites.attribute("failures"), Some("6"));
    assert_eq!(suites.attribute("errors"), Some("1"));
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 9);
    let typo = cases
        .iter()
        .find(|c| c.attribute("name") == Some("a metric name with a typo is not a zero"))
        .unwrap();
    let failure = typo.children().find(|n| n.has_tag_name("failure")).unwrap();
    assert!(failure
        .attribute("message")
        .unwrap()
        .contains("did you mean"));
    assert_eq!(typo.attribute("line"), Some("3"));
    let fault = cases
        .iter()
        .find(|c| c.children().any(|n| n.has_tag_name("error")))
        .unwrap();
    assert_eq!(
        fault.attribute("name"),
        Some("a rule fault is an error, not a failure")
    );
    // No timings: the same results give the same bytes.
    gil_in(
        &root,
        &[
            "test",
            "tests/fixtures/testing",
            "--junit",
            xml.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::read_to_string(&xml).unwrap(), text);
    std::fs::remove_dir_all(tmp).unwrap();
}

#[test]
fn explain_takes_a_year_and_speaks_json() {
    let root = root();
    let korea = "examples/korea-2030/scenario.yaml";
    let one = String::from_utf8(ok(gil_in(
        &root,
        &["explain", korea, "power.green_mw", "--year", "2027"],
    )))
    .unwrap();
    assert!(
        one.contains("  2027: ") && !one.contains("  2026: "),
        "{one}"
    );
    let json: serde_json::Value = serde_json::from_slice(&ok(gil_in(
        &root,
        &["explain", korea, "power.green_mw", "--format", "json"],
    )))
    .unwrap();
    assert_eq!(json["headline"]["subject"], "rule_metric");
    let years = json["years"].as_array().unwrap();
    assert_eq!(years.len(), 5);
    let site = &years[0]["contributions"][0];
    assert_eq!(site["file"], "../../rules/power/green_ppa.lua");
    assert_eq!(site["line"], 31);
    let outside = gil_in(
        &root,
        &["explain", korea, "power.green_mw", "--year", "2040"],
    );
    assert_eq!(outside.status.code(), Some(2));
}

#[test]
fn explain_a_power_metric_lists_its_flows_grid_and_the_rules_changing_them() {
    let text = explain_korea(
        "power.shortfall.capital",
        &["--year", "2029", "--color", "never"],
    );
    assert!(text.contains("  grid: grid-capital\n"), "{text}");
    // The demand's flows, with where each comes from and the rule that scaled it.
    assert!(
        text.contains("power-yongin kepco → yongin-fabs: 5500 MW"),
        "{text}"
    );
    assert!(text.contains("by rule `power.efficient_ai`"), "{text}");
    let capacity = explain_korea("power.capacity.honam", &["--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&capacity).unwrap();
    assert_eq!(json["headline"]["grid"], serde_json::json!(["grid-honam"]));
    let sets: Vec<&serde_json::Value> = json["years"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|y| y["sets"].as_array().unwrap())
        .collect();
    assert_eq!(sets.len(), 1, "{json}");
    assert_eq!(sets[0]["rule"], "deregulation.grid_fast_track", "{json}");
}

#[test]
fn explain_a_parameter_says_its_values_sources_and_the_rules_reading_it() {
    let text = explain_korea("voucher.coverage", &["--color", "never"]);
    assert!(text.starts_with("Parameter `voucher.coverage`"), "{text}");
    assert!(
        text.contains("read by: voucher.compute (../../rules/voucher/compute_voucher.lua)"),
        "{text}"
    );
    assert!(
        text.contains("  2026: 0.8\n") && text.contains("  2028: 0.7\n"),
        "{text}"
    );
    assert!(text.contains("source: https://"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&explain_korea(
        "voucher.coverage",
        &["--year", "2028", "--format", "json"],
    ))
    .unwrap();
    assert_eq!(json["headline"]["subject"], "param", "{json}");
    assert_eq!(json["years"][0]["value"]["param"], 0.7, "{json}");
}

#[test]
fn explain_a_rule_says_what_it_made_adjusted_and_measured_each_year() {
    let text = explain_korea("voucher.compute", &["--year", "2026", "--color", "never"]);
    assert!(
        text.starts_with("Rule `voucher.compute` (National AI compute voucher), a voucher rule in ../../rules/voucher/compute_voucher.lua"),
        "{text}"
    );
    assert!(text.contains("  reads: voucher.coverage,"), "{text}");
    assert!(
        text.contains("  2026: made 6 flows, adjusted 0 flows\n"),
        "{text}"
    );
    assert!(
        text.contains("nipa → startups (voucher): 139.3B KRW"),
        "{text}"
    );
    assert!(
        text.contains("metric `voucher.granted`: ") && text.contains("compute_voucher.lua:53"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&explain_korea("voucher.compute", &["--format", "json"])).unwrap();
    assert_eq!(json["headline"]["subject"], "rule", "{json}");
    assert_eq!(json["years"][0]["value"]["rule"]["made"], 6, "{json}");
}

#[test]
fn diff_shows_the_analyses_horizon_totals_and_loops_a_reform_changes() {
    let root = root();
    let korea = "examples/korea-2030/scenario.yaml";
    // Slower GPUs change no flow: only the compute analysis (and its findings) move.
    let json: serde_json::Value = serde_json::from_slice(&ok(gil_in(
        &root,
        &[
            "diff",
            korea,
            "--param",
            "analysis.compute.utilization=0.5",
            "--format",
            "json",
        ],
    )))
    .unwrap();
    let analyses = json["analyses"].as_array().unwrap();
    let supply = analyses
        .iter()
        .find(|c| c["year"] == 2026 && c["name"] == "compute gov-gpus supply (GPU-hours)")
        .unwrap_or_else(|| panic!("{json}"));
    let (base, reform) = (
        supply["base"].as_f64().unwrap(),
        supply["reform"].as_f64().unwrap(),
    );
    assert!((reform / base - 0.5 / 0.8).abs() < 1e-9, "{supply}");
    assert!(json["metrics"].as_array().unwrap().is_empty(), "{json}");
    let text = String::from_utf8(ok(gil_in(
        &root,
        &["diff", korea, "--param", "analysis.compute.utilization=0.5"],
    )))
    .unwrap();
    assert!(text.contains("Compute and power analyses"), "{text}");
    // A reform that moves money: every changed metric's horizon total is the sum of
    // its yearly changes.
    let json: serde_json::Value = serde_json::from_slice(&ok(gil_in(
        &root,
        &[
            "diff",
            korea,
            "--param",
            "voucher.coverage=0.5",
            "--format",
            "json",
        ],
    )))
    .unwrap();
    let horizon = json["horizon"].as_array().unwrap();
    assert!(!horizon.is_empty(), "{json}");
    for total in horizon {
        let yearly: f64 = json["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["name"] == total["name"])
            .map(|c| c["delta"].as_f64().unwrap())
            .sum();
        let delta = total["delta"].as_f64().unwrap();
        assert!(
            (yearly - delta).abs() <= 1e-9 * delta.abs().max(1.0),
            "{total}"
        );
    }
    assert_eq!(json["loops_added"], serde_json::json!([]), "{json}");
    // No vendor investment: the loop through the vendor's own money closes.
    let json: serde_json::Value = serde_json::from_slice(&ok(gil_in(
        &root,
        &[
            "diff",
            "examples/stargate-2025/scenario.yaml",
            "--param",
            "finance.tranche_per_gw=0",
            "--format",
            "json",
        ],
    )))
    .unwrap();
    let removed = json["loops_removed"].as_array().unwrap();
    assert!(
        removed.contains(&serde_json::json!(["nvidia", "openai"])),
        "{json}"
    );
    // Doubling academia's weight breaks the backtest's published split.
    let text = String::from_utf8(ok(gil_in(
        &root,
        &[
            "diff",
            "examples/korea-2026-allocation/scenario.yaml",
            "--param",
            "allocation.weight.academia=2",
        ],
    )))
    .unwrap();
    assert!(
        text.contains("allocation.awarded.academia     2026  2648 met  3256 not met  2026 → never"),
        "{text}"
    );
    // A rule the reform adds gives the utility a Why role in the project.
    let tmp = temp_dir("diff-roles");
    let rule = tmp.join("why.lua");
    std::fs::write(
        &rule,
        "return { id = 'reform.why', on_step = function(w, ctx)\n  ctx.role { project = 'compute-access', actor = 'utility', role = 'why', note = 'powers it' }\nend }\n",
    )
    .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&ok(gil_in(
        &root,
        &[
            "diff",
            "examples/minimal/scenario.yaml",
            "--rules",
            rule.to_str().unwrap(),
            "--format",
            "json",
        ],
    )))
    .unwrap();
    assert_eq!(
        json["roles"],
        serde_json::json!([{ "project": "compute-access", "actor": "utility", "base": [], "reform": ["why"] }]),
        "{json}"
    );
    std::fs::remove_dir_all(tmp).unwrap();
}

#[test]
fn diff_takes_params_without_a_reform_file_writes_out_and_gates_ci() {
    let root = root();
    let korea = "examples/korea-2030/scenario.yaml";
    let tmp = temp_dir("diff");
    let reform = tmp.join("reform.yaml");
    std::fs::write(&reform, "parameters: { tax.facility_credit.large: 0.15 }\n").unwrap();
    let by_param = ok(gil_in(
        &root,
        &["diff", korea, "--param", "tax.facility_credit.large=0.199"],
    ));
    let text = String::from_utf8(by_param).unwrap();
    assert!(
        text.contains("3.729T  3.727T"),
        "--param alone is the reform:\n{text}"
    );
    // The command line wins over the reform file.
    let both = ok(gil_in(
        &root,
        &[
            "diff",
            korea,
            "--with",
            reform.to_str().unwrap(),
            "--param",
            "tax.facility_credit.large=0.199",
        ],
    ));
    assert_eq!(String::from_utf8(both).unwrap(), text);
    let out = tmp.join("diff.md");
    ok(gil_in(
        &root,
        &[
            "diff",
            korea,
            "--param",
            "tax.facility_credit.large=0.199",
            "--format",
            "md",
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    assert!(std::fs::read_to_string(&out).unwrap().contains("| year |"));
    let gated = gil_in(
        &root,
        &[
            "diff",
            korea,
            "--param",
            "analysis.compute.utilization=0.6",
            "--fail-on",
            "warn",
        ],
    );
    assert_eq!(gated.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&gated.stderr)
        .contains("exit 1 (--fail-on warn): the reform adds 5 findings"));
    let nothing = gil_in(&root, &["diff", korea]);
    assert_eq!(nothing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("nothing to compare"));
    std::fs::remove_dir_all(tmp).unwrap();
}

#[test]
fn text_and_list_parameters_take_param_reforms_and_refuse_sweeps() {
    let root = root();
    let fixture = "tests/fixtures/explain/scenario.yaml";
    let metric = |args: &[&str]| -> f64 {
        let mut all = vec!["run", fixture, "--format", "json"];
        all.extend_from_slice(args);
        let json: serde_json::Value = serde_json::from_slice(&ok(gil_in(&root, &all))).unwrap();
        json["steps"][0]["metrics"]["regional.dc_subsidy.paid"]
            .as_f64()
            .unwrap_or(0.0)
    };
    // Honam's 40 MW × 2 m KRW as written; Honam's and the capital's 100 MW with the list
    // from the command line, split on commas.
    assert_eq!(metric(&[]), 8.0e7);
    let both = ["--param", "regional.dc_subsidy.regions=honam, capital"];
    assert_eq!(metric(&both), 2.0e8);
    let diff = String::from_utf8(ok(gil_in(
        &root,
        &[
            "diff",
            fixture,
            "--param",
            "regional.dc_subsidy.regions=capital",
        ],
    )))
    .unwrap();
    assert!(diff.contains("regional.dc_subsidy.paid"), "{diff}");
    // A reform's or a test case's list for a text parameter does not fit: exit 2 with
    // the reason.
    let tmp = temp_dir("text-params");
    let reform = tmp.join("reform.yaml");
    std::fs::write(&reform, "parameters: { regional.call: [a, b] }\n").unwrap();
    let refused = gil_in(
        &root,
        &["diff", fixture, "--with", reform.to_str().unwrap()],
    );
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("expected a text: the scenario's `regional.call` is a text, not a list"),
        "{stderr}"
    );
    std::fs::write(
        &reform,
        "parameters: { regional.dc_subsidy.regions: capital }\n",
    )
    .unwrap();
    let one = String::from_utf8(ok(gil_in(
        &root,
        &["diff", fixture, "--with", reform.to_str().unwrap()],
    )))
    .unwrap();
    assert_eq!(one, diff, "one region in a reform is a list of one");
    let case = tmp.join("list.test.yaml");
    std::fs::write(
        &case,
        format!(
            "cases:\n  - name: a list for a text\n    scenario: {}\n    params: {{ regional.call: [a, b] }}\n    expect: {{ metrics: {{ regional.dc_subsidy.paid: 0 }} }}\n",
            root.join(fixture).display()
        ),
    )
    .unwrap();
    let tested = gil_in(&root, &["test", case.to_str().unwrap()]);
    assert_eq!(tested.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&tested.stdout);
    assert!(
        stdout.contains("params: `regional.call` is a text parameter, not a list"),
        "{stdout}"
    );
    let number = gil_in(&root, &["run", fixture, "--param", "regional.call=2"]);
    assert_eq!(
        number.status.code(),
        Some(0),
        "a text parameter takes `2` as text"
    );
    let sweep = tmp.join("sweep.yaml");
    std::fs::write(
        &sweep,
        format!(
            "sweep: {{ id: s, scenario: {}, design: monte_carlo, samples: 4, seed: 1 }}\n\
             parameters: {{ regional.call: {{ uniform: [0, 1] }} }}\n\
             outputs: [regional.dc_subsidy.paid]\n",
            root.join(fixture).display()
        ),
    )
    .unwrap();
    let swept = gil_in(&root, &["sweep", sweep.to_str().unwrap()]);
    assert_eq!(swept.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&swept.stderr);
    assert!(
        stderr.contains("`regional.call` is a text parameter: a sweep varies numbers only"),
        "{stderr}"
    );
    std::fs::remove_dir_all(tmp).unwrap();
}
