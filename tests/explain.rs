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
        explain: true,
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

/// 1,500 actors, each contributing its own `grant` attribute: more effects than the
/// Luau buffer holds (1,024), a host call between them (a flow with tags), on one
/// thread and on two. Every actor's share must be its own value, and the values the
/// rule saw must be taken before its `ctx.set` changed them.
#[test]
fn per_entity_shares_survive_buffer_drains_host_calls_and_threads() {
    let dir = gil_tests::Scratch::new("gil-explain-many");
    let n = 1500;
    let mut yaml = String::from(
        "scenario: { id: many, horizon: { start: 2026, end: 2026 }, currency: KRW, rules: [grant.lua] }\nactors:\n  - { id: gov, kind: government }\n",
    );
    for i in 0..n {
        yaml.push_str(&format!(
            "  - {{ id: f{i}, kind: startup, tags: [eligible], attrs: {{ grant: {} }} }}\n",
            i + 1
        ));
    }
    std::fs::write(dir.join("scenario.yaml"), yaml).unwrap();
    std::fs::write(
        dir.join("grant.lua"),
        r#"return {
  id = "grant",
  select = { actors = { tags = "eligible" } },
  on_actor = function(a, ctx)
    if a.attrs.grant % 100 == 0 then
      -- tags make the spec not plain: this call goes to the host and drains the buffer
      ctx.flow { from = "gov", to = a.id, kind = "funding", via = "grant", amount = 1, tags = { "host" } }
    end
    ctx.set { actor = a.id, attr = "grant", value = -1 }
    ctx.metric("grant.total", a.attrs.grant)
    ctx.metric("grant.calls", 1)
  end,
}
"#,
    )
    .unwrap();
    let path = dir.join("scenario.yaml");
    let s = gil_model::load(&path).unwrap();
    let rules = gil_engine::load_rules(&s, &[], gil_tests::test_sandbox()).unwrap();
    for threads in [1, 2] {
        let options = gil_engine::Options {
            threads,
            explain: true,
            ..Default::default()
        };
        let e = gil_engine::evaluate(&s, &rules, &options).unwrap();
        let calls = &e.trace.steps[0].metrics["grant.total"];
        assert_eq!(calls.len(), n, "threads {threads}: one record per entity");
        for (i, c) in calls.iter().enumerate() {
            let used = c
                .entity
                .as_ref()
                .expect("a per-entity call names its entity");
            assert_eq!(used.id, format!("f{i}"), "threads {threads}");
            let expected = (i + 1) as f64;
            assert_eq!(c.value, expected, "threads {threads}: f{i}'s share");
            assert_eq!(
                used.values,
                vec![("grant".to_string(), gil_rules::AttrVal::Num(expected))],
                "threads {threads}: the value the rule read, before its ctx.set"
            );
        }
    }
    // Without `explain`, the trace keeps the flows and no contributions, adjustments
    // or sets.
    let e = gil_engine::evaluate(&s, &rules, &Default::default()).unwrap();
    let step = &e.trace.steps[0];
    assert!(step.metrics.is_empty() && step.adjustments.is_empty() && step.sets.is_empty());
    assert!(!step.flows.is_empty());
}
