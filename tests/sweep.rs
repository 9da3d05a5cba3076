//! Sweeps through the library: every bad sweep file under `fixtures/sweep/bad/` renders
//! its diagnostics (snapshots, as `gil check` fixtures do); the runs of a design are the
//! same however they are sharded; a run that fails is a row with its error; the
//! examples' sweep files plan clean.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use std::path::Path;

use gil_sweep::Sweep;
use gil_tests::{render_load_error, test_sandbox, workspace_root};

fn open(path: &Path) -> Result<Sweep, gil_sweep::SweepError> {
    Sweep::open(path, test_sandbox(), gil_engine::Options::default(), |p| {
        gil_model::load(p)
    })
}

#[test]
fn every_bad_sweep_file_renders_its_diagnostics() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots/sweep");
    settings.set_prepend_module_to_snapshot(false);
    let _guard = settings.bind_to_scope();
    insta::glob!("fixtures/sweep/bad/*.yaml", |path| {
        let relative = gil_tests::relative_to_crate(path);
        let err = match open(relative) {
            Err(gil_sweep::SweepError::Load(e)) => e,
            Err(other) => panic!("{}: {other}", relative.display()),
            Ok(_) => panic!("{} must fail to load", relative.display()),
        };
        for d in &err.diagnostics {
            assert!(d.span.is_some(), "{} has no position", d.code);
        }
        insta::assert_snapshot!("diagnostics", render_load_error(&err));
    });
}

#[test]
fn a_design_gives_the_same_rows_however_it_is_sharded() {
    let path = workspace_root().join("tests/fixtures/sweep/ishigami/small.yaml");
    let sweep = open(&path).unwrap();
    let runs = sweep.plan.runs();
    assert_eq!(runs, 60);
    let whole = sweep.evaluate(0..runs, 2, &|| {}).unwrap();
    let mut pieces = Vec::new();
    for shards in [3, 7] {
        pieces.clear();
        for s in 0..shards {
            let range = gil_sweep::manifest::shard_range(runs, shards, s);
            pieces.extend(sweep.evaluate(range, 1, &|| {}).unwrap());
        }
        assert_eq!(pieces, whole, "{shards} shards");
    }
    // The normal parameter is clipped, the scale multiplies the scenario's value (0).
    assert!(whole
        .iter()
        .all(|r| (-3.0..=3.0).contains(&r.parameters[1])));
    let scaled = sweep.params(&whole[0].parameters);
    assert_eq!(scaled["x3"], gil_model::Dated::Fixed(0.0));
}

#[test]
fn a_run_whose_rules_fail_is_a_row_with_its_error() {
    let path = workspace_root().join("tests/fixtures/sweep/grid_failing.yaml");
    let sweep = open(&path).unwrap();
    let rows = sweep.evaluate(0..sweep.plan.runs(), 2, &|| {}).unwrap();
    assert_eq!(rows.len(), 6);
    let failed: Vec<i64> = rows
        .iter()
        .filter(|r| r.error.is_some())
        .map(|r| r.run)
        .collect();
    // fail.from = 2026 and 2027 fail inside the horizon, for both grant scales.
    assert_eq!(failed, vec![0, 1, 2, 3]);
    let error = rows[0].error.as_deref().unwrap();
    assert!(error.contains("fails_from.lua:"), "{error}");
    assert!(error.contains("asked to fail in 2026"), "{error}");
    assert_eq!(rows[0].outputs, vec![None]);
    // The runs that went on: 2 years of a 1e9 grant, scaled by 1 and 2.
    assert_eq!(rows[4].outputs, vec![Some(2.0e9)]);
    assert_eq!(rows[5].outputs, vec![Some(4.0e9)]);
    assert_eq!(rows[5].warnings, Some(0));
}

#[test]
fn the_bundled_sweeps_open_clean() {
    let path = workspace_root().join("examples/korea-2030/sweep.yaml");
    match open(&path) {
        Ok(sweep) => assert_eq!(sweep.plan.runs(), 256 * 12),
        Err(gil_sweep::SweepError::Load(e)) => panic!("{}", render_load_error(&e)),
        Err(other) => panic!("{other}"),
    }
}
