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
    for example in ["korea-2030", "stargate-2025", "minimal"] {
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
