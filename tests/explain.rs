//! `gil explain` as an analyst reads it, on `fixtures/explain/`: a project (roles,
//! targets, its flows by year), a power demand the analysis estimated from a GPU
//! cluster, a rule metric made per entity (each entity's share and its values), a rule,
//! and a list parameter, before and after a `--param`-style override. Each snapshot is
//! the text `gil explain` prints.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use std::collections::BTreeMap;
use std::path::Path;

use gil_model::TextValue;

const SCENARIO: &str = "fixtures/explain/scenario.yaml";

/// The text `gil explain SCENARIO target` prints, with `texts` as text-parameter
/// overrides.
fn explain(target: &str, texts: &[(&str, TextValue)]) -> String {
    let s = gil_model::load(Path::new(SCENARIO)).unwrap();
    let rules = gil_engine::load_rules(&s, &[], gil_tests::test_sandbox()).unwrap();
    let options = gil_engine::Options {
        text_params: texts
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect::<BTreeMap<_, _>>(),
        trace_entities: true,
        ..Default::default()
    };
    let e = gil_engine::evaluate(&s, &rules, &options).unwrap();
    let subject = gil_engine::explain::resolve(&s, &e, target).unwrap();
    gil_report::explain::explain_text(&gil_engine::explain::explain(&s, &e, &subject))
}

#[test]
fn a_project_shows_its_roles_targets_and_flows_by_year() {
    insta::assert_snapshot!("project", explain("regional-dc", &[]));
}

#[test]
fn an_estimated_power_demand_shows_the_cluster_and_the_formula() {
    let text = explain("power.demand.honam", &[]);
    // 40 MW flowing in, plus 10,000 GPUs × 1.5 kW × PUE 1.2 = 18 MW estimated.
    assert!(text.contains("  2026: 58\n"), "{text}");
    insta::assert_snapshot!("power_demand", text);
}

#[test]
fn a_rule_metric_made_per_entity_shows_each_entity_and_its_values() {
    insta::assert_snapshot!("rule_metric", explain("regional.dc_subsidy.paid", &[]));
}

#[test]
fn a_rule_shows_what_it_made_and_measured() {
    insta::assert_snapshot!("rule", explain("regional.dc_subsidy", &[]));
}

#[test]
fn a_list_parameter_and_its_override_reach_the_rule() {
    insta::assert_snapshot!(
        "list_parameter",
        explain("regional.dc_subsidy.regions", &[])
    );
    // Only the capital region: its 60 MW are paid, Honam's 40 MW are not.
    let capital = TextValue::List(vec!["capital".into()]);
    let text = explain(
        "regional.dc_subsidy.paid",
        &[("regional.dc_subsidy.regions", capital)],
    );
    assert!(text.contains("for dc-capital: 120.0M"), "{text}");
    assert!(!text.contains("dc-honam"), "{text}");
}
