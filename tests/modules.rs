//! Rule modules: `require` by relative path and `.luaurc` alias, effects from module
//! code at the module's lines, and every way a `require` can be wrong as an error at
//! the call (`fixtures/modules/bad/`, one file a case; the snapshot is what a user sees).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use std::path::{Path, PathBuf};

use gil_tests::{evaluate, evaluate_with};

const SCENARIO: &str = "fixtures/modules/scenario.yaml";

#[test]
fn rules_share_code_through_modules_and_module_effects_name_the_module_line() {
    let explain = gil_engine::Options {
        explain: true,
        ..Default::default()
    };
    let evaluation = evaluate_with(Path::new(SCENARIO), &[], &explain).unwrap();
    let trace = &evaluation.trace;
    let step = &trace.steps[0];
    let grants: Vec<(String, f64, String)> = step
        .flows
        .iter()
        .filter_map(|f| {
            let p = f.origin.site(&trace.names)?;
            Some((
                trace.names.name(f.to).to_string(),
                f.amount,
                format!("{}:{}", p.file, p.line),
            ))
        })
        .collect();
    assert_eq!(
        grants,
        vec![
            (
                "startups".to_string(),
                500.0,
                "shared/pay.luau:8".to_string()
            ),
            ("smes".to_string(), 100.0, "shared/pay.luau:8".to_string()),
        ]
    );
    let paid = &step.metrics["grant.paid"];
    assert!(
        !paid.is_empty()
            && paid
                .iter()
                .all(|c| &*c.provenance.file == "shared/pay.luau" && c.provenance.line == 9),
        "{paid:?}"
    );
    // The modules under rules/ are required, so they are not loaded as rules.
    let rules: Vec<String> = evaluation
        .outcome
        .scenario
        .rules
        .iter()
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(rules, vec!["grant.demand"]);
}

#[test]
fn every_bad_require_is_an_error_at_the_call() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots/modules");
    settings.set_prepend_module_to_snapshot(false);
    let _guard = settings.bind_to_scope();
    let mut cases: Vec<PathBuf> = std::fs::read_dir("fixtures/modules/bad")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "lua"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 11, "the cases shrank");
    for case in cases {
        let name = case.file_stem().unwrap().to_string_lossy().into_owned();
        let rendered = match evaluate(Path::new(SCENARIO), std::slice::from_ref(&case)) {
            Err(rendered) => rendered,
            Ok(_) => panic!("{name}: the bad require loaded and ran"),
        };
        assert!(
            rendered.contains("fixtures/modules/bad/"),
            "{name}: no file named:\n{rendered}"
        );
        insta::assert_snapshot!(name, rendered);
    }
}
