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

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gil-trust-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
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
