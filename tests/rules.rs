//! The hostile-rule corpus: every fixture under `fixtures/rules/hostile/` must be
//! stopped within seconds with a rule-named `file:line` error, never a panic; the
//! snapshot is the rendered error a user sees.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gil_tests::evaluate;

const SCENARIO: &str = "fixtures/rules/scenario.yaml";

fn hostile_fixtures() -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = std::fs::read_dir("fixtures/rules/hostile")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    all.sort();
    all
}

#[test]
fn every_hostile_rule_is_contained_with_a_located_error() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots/rules");
    settings.set_prepend_module_to_snapshot(false);
    let _guard = settings.bind_to_scope();
    let fixtures = hostile_fixtures();
    assert!(fixtures.len() >= 25, "the corpus shrank");
    for fixture in fixtures {
        let name = fixture.file_stem().unwrap().to_string_lossy().into_owned();
        let started = Instant::now();
        let result = std::panic::catch_unwind(|| {
            evaluate(Path::new(SCENARIO), std::slice::from_ref(&fixture))
        });
        let took = started.elapsed();
        let rendered = match result {
            Ok(Err(rendered)) => rendered,
            Ok(Ok(_)) => panic!("{name}: the hostile rule ran to the end"),
            Err(_) => panic!("{name}: panicked"),
        };
        assert!(took < Duration::from_secs(10), "{name} took {took:?}");
        assert!(
            rendered.contains("fixtures/rules/hostile/"),
            "{name}: no file named:\n{rendered}"
        );
        insta::assert_snapshot!(name, rendered);
    }
}

#[test]
fn rule_errors_name_the_line() {
    let err = evaluate(
        Path::new(SCENARIO),
        &[PathBuf::from("fixtures/rules/hostile/nan_amount.lua")],
    )
    .unwrap_err();
    assert!(
        err.contains("fixtures/rules/hostile/nan_amount.lua:4:"),
        "{err}"
    );
    assert!(err.contains("rule: hostile.nan_amount"), "{err}");
    // A built-in metric's name is refused when the step ends, at its first call.
    let err = evaluate(
        Path::new(SCENARIO),
        &[PathBuf::from(
            "fixtures/rules/hostile/builtin_metric_name.lua",
        )],
    )
    .unwrap_err();
    assert!(
        err.contains("fixtures/rules/hostile/builtin_metric_name.lua:5:")
            && err.contains("`funding.in.gov` is a built-in metric"),
        "{err}"
    );
}

#[test]
fn library_tampering_does_not_leak_into_another_rule() {
    // The tampering rule fails; and when it only tries (under pcall), the next rule
    // still sees the real library.
    let dir = gil_tests::Scratch::new("gil-tamper");
    std::fs::write(
        dir.join("a.lua"),
        "return { id = 'a', on_step = function(w, ctx)\n  pcall(function() string.format = nil end)\n  pcall(function() math.max = function() return 0 end end)\nend }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("b.lua"),
        "return { id = 'b', after = { 'a' }, on_step = function(w, ctx)\n  ctx.metric('max', math.max(1, 2))\n  ctx.metric('format', #string.format('%d', 42))\nend }\n",
    )
    .unwrap();
    let eval = evaluate(Path::new(SCENARIO), &[dir.to_path_buf()]).unwrap();
    let metrics = &eval.outcome.steps[0].metrics;
    assert_eq!(metrics["max"], 2.0);
    assert_eq!(metrics["format"], 2.0);
}
