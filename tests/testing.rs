//! `gil test` cases: one fixture file per behaviour, the snapshot is what a rule
//! author reads for each case (PASS, or FAIL / ERROR with the reasons).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly

use std::path::Path;

use gil_testing::{self as testing, CaseFailure};
use gil_tests::test_sandbox;

/// Every case of a test file as `gil test` reports it, without colour.
fn report(file: &Path) -> String {
    let suite = testing::load_suite(file).unwrap();
    let mut out = String::new();
    for case in &suite.cases {
        let result = testing::run_case(file, &case.value, test_sandbox(), None);
        match result {
            Ok(()) => out.push_str(&format!("PASS {}\n", case.value.name)),
            Err(CaseFailure::Mismatch(lines)) => {
                out.push_str(&format!("FAIL {}\n", case.value.name));
                for line in lines {
                    out.push_str(&format!("    {line}\n"));
                }
            }
            Err(CaseFailure::Error(text)) => {
                out.push_str(&format!("ERROR {}\n", case.value.name));
                for line in text.lines() {
                    out.push_str(&format!("    {line}\n"));
                }
            }
        }
    }
    out
}

#[test]
fn every_test_file_fixture_reports_as_a_rule_author_reads_it() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots/testing");
    settings.set_prepend_module_to_snapshot(false);
    let _guard = settings.bind_to_scope();
    insta::glob!("fixtures/testing/*.test.yaml", |path| {
        let relative = gil_tests::relative_to_crate(path);
        insta::assert_snapshot!("report", report(relative));
    });
}

#[test]
fn a_bad_test_file_is_a_positioned_error() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots/test-files-bad");
    settings.set_prepend_module_to_snapshot(false);
    let _guard = settings.bind_to_scope();
    insta::glob!("fixtures/test-files-bad/*.test.yaml", |path| {
        let relative = gil_tests::relative_to_crate(path);
        let err = testing::load_suite(relative).expect_err("a bad test file must not load");
        insta::assert_snapshot!("diagnostic", gil_tests::render_load_error(&err));
    });
}
