//! The load-once, evaluate-many API ([`gil_engine::Model`]): a reused evaluator gives
//! the outcome a fresh load gives, runs come back in order for any number of threads,
//! and a failing run does not stop the others.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use std::collections::BTreeMap;
use std::path::Path;

use gil_engine::{Model, Params};
use gil_model::Dated;
use gil_tests::{test_sandbox, workspace_root};

fn outcome_json(e: &gil_engine::Evaluation) -> String {
    serde_json::to_string(&e.outcome).unwrap()
}

fn param(name: &str, value: f64) -> Params {
    BTreeMap::from([(name.to_string(), Dated::Fixed(value))])
}

/// What a caller without the API gets: read, compile, evaluate once.
fn fresh(path: &Path, params: &Params) -> String {
    let s = gil_model::load(path).unwrap();
    let rules = gil_engine::load_rules(&s, &[], test_sandbox()).unwrap();
    let options = gil_engine::Options {
        params: params.clone(),
        ..Default::default()
    };
    outcome_json(&gil_engine::evaluate(&s, &rules, &options).unwrap())
}

fn model(path: &Path) -> Model {
    Model::new(gil_model::load(path).unwrap(), &[], test_sandbox()).unwrap()
}

#[test]
fn a_reused_evaluator_gives_what_a_fresh_load_gives() {
    for example in gil_tests::EXAMPLES {
        let path = workspace_root().join(format!("examples/{example}/scenario.yaml"));
        let model = model(&path);
        let evaluator = model.evaluator().unwrap();
        let base = Params::new();
        // Every parameter of the scenario a tenth higher than in its first year.
        let start = *model.scenario().years().start();
        let moved: Params = model
            .scenario()
            .parameters
            .iter()
            .filter_map(|(name, p)| {
                Some((name.clone(), Dated::Fixed(p.value.value.at(start)? * 1.1)))
            })
            .collect();
        // Alternating, so each run follows one with other values and other views.
        for params in [&base, &moved, &base, &moved] {
            let again = outcome_json(&evaluator.evaluate(params).unwrap());
            assert_eq!(again, fresh(&path, params), "{example} with {params:?}");
        }
    }
}

#[test]
fn runs_come_back_in_order_for_any_number_of_threads() {
    let path = workspace_root().join("tests/fixtures/model/scenario.yaml");
    let model = model(&path);
    let params_of = |i: usize| param("grant.scale", 1.0 + i as f64 / 10.0);
    let received = |i: usize, r: Result<gil_engine::Evaluation, gil_engine::EngineError>| {
        (
            i,
            r.map(|e| e.outcome.ledger_total["agency"].inflow.total("funding"))
                .unwrap(),
        )
    };
    let one = model.evaluate_many(24, 1, params_of, received).unwrap();
    let two = model.evaluate_many(24, 2, params_of, received).unwrap();
    assert_eq!(one, two);
    for (i, (run, funding)) in one.iter().enumerate() {
        assert_eq!(*run, i);
        // Two years of the 1e9 grant, scaled by the run's `grant.scale`.
        let expected = 2.0e9 * (1.0 + i as f64 / 10.0);
        assert!(
            (funding - expected).abs() < 1e-3,
            "run {i}: {funding} vs {expected}"
        );
    }
}

#[test]
fn a_failing_run_is_a_failed_result_and_the_others_go_on() {
    let path = workspace_root().join("tests/fixtures/model/scenario.yaml");
    let model = model(&path);
    // Run 1 fails in its second year; runs 0 and 2 never reach `fail.from`.
    let params_of = |i: usize| param("fail.from", if i == 1 { 2027.0 } else { 3000.0 });
    let results = model
        .evaluate_many(3, 2, params_of, |_, r| {
            r.map(|_| ()).map_err(|e| e.to_string())
        })
        .unwrap();
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    let error = results[1].as_ref().unwrap_err();
    assert!(error.contains("asked to fail in 2027"), "{error}");
    assert!(error.contains("fails_from.lua:9"), "{error}");
}

#[test]
fn a_model_reports_every_rule_problem_when_it_is_made() {
    let mut scenario =
        gil_model::load(&workspace_root().join("tests/fixtures/model/scenario.yaml")).unwrap();
    scenario.header.rules[0].value = "missing.lua".into();
    let err = Model::new(scenario, &[], test_sandbox()).unwrap_err();
    let text = gil_tests::render_load_error(&err);
    assert!(text.contains("missing.lua"), "{text}");
}

#[test]
fn a_sweep_run_builds_the_same_numbers_and_nothing_more() {
    for example in gil_tests::EXAMPLES {
        let path = workspace_root().join(format!("examples/{example}/scenario.yaml"));
        let full = model(&path)
            .evaluator()
            .unwrap()
            .evaluate(&Params::new())
            .unwrap();
        let lean_model = model(&path).with_detail(gil_engine::Detail::Metrics);
        let lean = lean_model
            .evaluator()
            .unwrap()
            .evaluate(&Params::new())
            .unwrap();
        let (f, l) = (&full.outcome, &lean.outcome);
        assert_eq!(f.findings, l.findings, "{example}");
        assert_eq!(f.analyses, l.analyses, "{example}");
        assert_eq!(f.steps.len(), l.steps.len(), "{example}");
        for (a, b) in f.steps.iter().zip(&l.steps) {
            assert_eq!(a.metrics, b.metrics, "{example} {}", a.year);
            assert!(
                !a.flows.is_empty() && b.flows.is_empty(),
                "{example}: no flow lines"
            );
        }
        assert!(
            !f.roles.is_empty() && l.roles.is_empty(),
            "{example}: no roles"
        );
        assert!(
            l.ledger_total.is_empty(),
            "{example}: no ledger over the horizon"
        );
    }
}
