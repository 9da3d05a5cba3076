//! The engine on hand-computed fixtures (`fixtures/engine/`), the bundled examples'
//! outcomes as snapshots, and properties on random scenarios.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use std::path::{Path, PathBuf};

use gil_engine::{Evaluation, Loop};
use gil_tests::{evaluate, workspace_root};
use proptest::prelude::*;

fn run(fixture: &str) -> Evaluation {
    evaluate(Path::new(&format!("fixtures/engine/{fixture}.yaml")), &[]).unwrap()
}

fn codes(e: &Evaluation) -> Vec<(Option<i32>, String)> {
    e.outcome
        .findings
        .iter()
        .filter(|f| f.level >= gil_rules::Level::Warn)
        .map(|f| (f.step, f.code.clone()))
        .collect()
}

#[test]
fn two_node_loop() {
    let e = run("loop_two_nodes");
    assert_eq!(
        e.outcome.analyses.circular,
        vec![Loop {
            path: vec!["c".into(), "v".into()],
            edges: vec![60.0, 100.0],
            bottleneck: 60.0,
            vendor: Some("v".into()),
            round_trip_share: Some(0.6),
            investee_income_share: Some(0.6),
            warning: true,
        }]
    );
    assert_eq!(codes(&e), [(None, "circular.round_trip".to_string())]);
}

#[test]
fn three_node_loop_with_bottleneck() {
    let e = run("loop_three_nodes");
    let l = &e.outcome.analyses.circular;
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].path, ["a", "b", "c"]);
    assert_eq!(l[0].edges, [50.0, 30.0, 80.0]);
    assert_eq!(l[0].bottleneck, 30.0);
    assert_eq!(l[0].vendor.as_deref(), Some("a"));
    assert_eq!(l[0].round_trip_share, Some(0.0));
    assert!(!l[0].warning);
    assert!(codes(&e).is_empty());
}

#[test]
fn region_exactly_at_capacity_is_not_short() {
    let e = run("power_at_capacity");
    let p = &e.outcome.analyses.power;
    assert_eq!(
        (p[0].year, p[0].demand_mw, p[0].shortfall_mw),
        (2026, 10.0, 0.0)
    );
    assert_eq!(p[1].year, 2027);
    assert!((p[1].shortfall_mw - 0.5).abs() < 1e-12);
    assert_eq!(codes(&e), [(Some(2027), "power.shortfall".to_string())]);
    assert_eq!(
        e.outcome.steps[1].metrics["power.shortfall.r"],
        p[1].shortfall_mw
    );
}

#[test]
fn cluster_overcommitted_by_one_gpu_hour() {
    let e = run("compute_overcommitted");
    let c = &e.outcome.analyses.compute;
    assert_eq!(
        (c[0].supply, c[0].demand, c[0].overcommitted),
        (8760.0, 8760.0, false)
    );
    assert_eq!(
        (c[1].supply, c[1].demand, c[1].overcommitted),
        (8760.0, 8761.0, true)
    );
    assert_eq!(
        codes(&e),
        [(Some(2027), "compute.overcommitted".to_string())]
    );
}

#[test]
fn target_met_one_year_late() {
    let e = run("target_late");
    let t = &e.outcome.analyses.targets[0];
    assert_eq!((t.met, t.first_met, t.value_by), (false, Some(2027), 5.0));
    let missed = e
        .outcome
        .findings
        .iter()
        .find(|f| f.code == "target.missed")
        .unwrap();
    assert!(
        missed.message.contains("first met in 2027, 1 year late"),
        "{}",
        missed.message
    );
}

#[test]
fn later_rules_see_earlier_effects_through_their_views() {
    let e = gil_tests::evaluate(Path::new("fixtures/engine/views/scenario.yaml"), &[]).unwrap();
    let m = &e.outcome.steps[0].metrics;
    assert_eq!(m["demand.a"], 30.0, "a's demand was set by the first rule");
    assert_eq!(m["lookup.a"], 30.0, "ctx.actor finds the changed view too");
    assert_eq!(m["demand.b"], 20.0, "b was not touched");
    assert_eq!(m["flow.p"], 2.0, "p was halved by the first rule");
    assert_eq!(m["flow.g"], 100.0, "g was not touched");
    // The world's lists the first rule read before its effects show them after.
    assert_eq!(
        m["listed.flows"], 3.0,
        "the first rule's new flow is listed"
    );
    assert_eq!(m["listed.funding"], 107.0);
    assert_eq!(m["listed.p"], 2.0, "the listed p is halved");
    assert_eq!(m["listed.a"], 30.0, "the listed a is changed");
    assert_eq!(m["listed.dc"], 12.0, "the listed dc is changed");
    assert_eq!(m["lookup.dc"], 12.0, "ctx.asset finds the changed dc");
    // The next year starts from the lasting set (30) and sets it again.
    let m = &e.outcome.steps[1].metrics;
    assert_eq!(m["demand.a"], 90.0, "a's demand was set again from 30");
    assert_eq!(m["lookup.a"], 90.0);
    assert_eq!(
        m["listed.flows"], 3.0,
        "last year's rule-made flow is not carried"
    );
    assert_eq!(m["listed.a"], 90.0);
    assert_eq!(
        m["listed.funding"], 108.0,
        "the first rule's flow made again, with 8"
    );
    assert_eq!(m["listed.dc"], 14.0, "dc's capacity set again from 12");
    assert_eq!(m["lookup.dc"], 14.0);
    assert_eq!(m["demand.b"], 20.0);
    assert_eq!(m["flow.p"], 2.0, "the scenario's amount, halved again");
    assert_eq!(m["flow.g"], 100.0);
}

/// A scenario of `actors` startups (each line from `actor_line(i)`) with `rules` (file
/// name, Lua text) in a scratch folder, removed when the test ends; returns the folder
/// and the loaded scenario.
fn startups_scenario(
    name: &str,
    actors: usize,
    actor_line: impl Fn(usize) -> String,
    rules: &[(&str, String)],
) -> (gil_tests::Scratch, gil_model::Scenario) {
    let mut text = format!(
        "scenario: {{ id: {name}, horizon: {{ start: 2026, end: 2027 }}, currency: KRW, rules: [rules] }}\nactors:\n"
    );
    for i in 0..actors {
        text.push_str(&format!("  - {}\n", actor_line(i)));
    }
    let dir = gil_tests::Scratch::new(&format!("gil-{name}"));
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    std::fs::write(dir.join("scenario.yaml"), &text).unwrap();
    for (file, lua) in rules {
        std::fs::write(dir.join("rules").join(file), lua).unwrap();
    }
    let s = gil_model::load(&dir.join("scenario.yaml")).unwrap();
    (dir, s)
}

#[test]
fn worker_threads_see_earlier_effects_too() {
    // Enough actors that per-entity hooks go to the workers, whose views must follow
    // the first rule's ctx.set like the main runtime's do.
    let second = std::fs::read_to_string("fixtures/engine/views/rules/second.lua").unwrap();
    let first = "return { id = \"views.first\", on_actor = function(a, ctx)\n  ctx.set { actor = a.id, attr = \"demand\", value = a.attrs.demand + 1 }\nend }\n";
    let (_dir, s) = startups_scenario(
        "worker-views",
        600,
        |i| format!("{{ id: a{i}, kind: startup, attrs: {{ demand: {i} }} }}"),
        &[("first.lua", first.to_string()), ("second.lua", second)],
    );
    let rules = gil_engine::load_rules(&s, &[], gil_tests::test_sandbox()).unwrap();
    for threads in [1, 2] {
        let options = gil_engine::Options {
            threads,
            ..Default::default()
        };
        let e = gil_engine::evaluate(&s, &rules, &options).unwrap();
        for (k, step) in e.outcome.steps.iter().enumerate() {
            // Each year adds one to every demand, and the second rule sees it that year.
            let expected = (k + 1) as f64;
            assert_eq!(step.metrics["demand.a0"], expected, "threads {threads}");
            assert_eq!(
                step.metrics["demand.a599"],
                599.0 + expected,
                "threads {threads}"
            );
        }
    }
}

#[test]
fn workers_keep_only_the_views_still_true_across_years() {
    // Workers keep their views from one year to the next. The reading rule runs first
    // each year, on the workers; after it, the changing rule sets half the demands,
    // doubles every scenario flow and (through the reading rule's echoes) the step
    // ends with flows that exist only that year; the flows' own amounts move in 2028.
    // Each year the reading rule must see that year's world, not its views' last one.
    let n = 600;
    let mut text = String::from(
        "scenario: { id: carry, horizon: { start: 2026, end: 2029 }, currency: KRW, rules: [rules] }\nactors:\n",
    );
    for i in 0..n {
        text.push_str(&format!(
            "  - {{ id: a{i}, kind: startup, attrs: {{ demand: {i} }} }}\n"
        ));
    }
    text.push_str("flows:\n");
    for i in 0..n {
        let to = (i + 1) % n;
        text.push_str(&format!(
            "  - {{ id: f{i}, from: a{i}, to: a{to}, kind: funding, amount: {{ 2026: 10, 2028: 20 }} }}\n"
        ));
    }
    let read = r#"return { id = "read",
  on_actor = function(a, ctx) ctx.metric("seen.demand", a.attrs.demand) end,
  on_flow = function(f, ctx)
    if f.via == nil then
      ctx.metric("seen.amount", f.amount)
      ctx.flow { from = f.from, to = f.to, kind = "funding", via = "echo", amount = f.amount + ctx.step }
    else
      ctx.metric("seen.echo", f.amount)
    end
  end }
"#;
    let change = r#"return { id = "change", after = { "read" },
  on_actor = function(a, ctx)
    if tonumber(string.sub(a.id, 2)) % 2 == 0 then
      ctx.set { actor = a.id, attr = "demand", value = a.attrs.demand + 1 }
    end
  end,
  on_flow = function(f, ctx)
    if f.via == nil then ctx.adjust { flow = f.id, scale = 2 } end
  end }
"#;
    let dir = gil_tests::Scratch::new("gil-carry-views");
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    std::fs::write(dir.join("scenario.yaml"), &text).unwrap();
    std::fs::write(dir.join("rules/a_read.lua"), read).unwrap();
    std::fs::write(dir.join("rules/b_change.lua"), change).unwrap();
    let s = gil_model::load(&dir.join("scenario.yaml")).unwrap();
    let rules = gil_engine::load_rules(&s, &[], gil_tests::test_sandbox()).unwrap();
    let mut documents = Vec::new();
    for threads in [1, 2, 3] {
        let options = gil_engine::Options {
            threads,
            ..Default::default()
        };
        let e = gil_engine::evaluate(&s, &rules, &options).unwrap();
        for (k, step) in e.outcome.steps.iter().enumerate() {
            let base = (0..n).sum::<usize>() as f64;
            // Every even actor's demand grew by one each year before this one.
            let demand = base + (k * n / 2) as f64;
            assert_eq!(
                step.metrics["seen.demand"], demand,
                "threads {threads}, year {k}"
            );
            let amount = if step.year < 2028 { 10.0 } else { 20.0 };
            assert_eq!(
                step.metrics["seen.amount"],
                amount * n as f64,
                "threads {threads}, year {k}"
            );
            // The echoes are made after the reading rule's flows are listed: none seen.
            assert!(!step.metrics.contains_key("seen.echo"), "threads {threads}");
        }
        documents.push(gil_report::to_json(&e.outcome).unwrap());
    }
    assert_eq!(documents[0], documents[1]);
    assert_eq!(documents[0], documents[2]);
}

#[test]
fn rules_read_earlier_years_metrics_and_this_years_from_earlier_rules() {
    // 600 actors, so the per-entity rule runs on the workers with threads; the reading
    // rule must see the same numbers with any thread count (settling is then not
    // pipelined: last year's built-in metrics are ready when the step starts).
    let sums = "return { id = \"sums\", on_actor = function(a, ctx)\n  ctx.metric(\"demand.total\", a.attrs.demand)\n  if a.id ~= \"a0\" then ctx.flow { from = a.id, to = \"a0\", kind = \"funding\", amount = 2 } end\nend }\n";
    let reads = r#"return { id = "reads", after = { "sums" }, on_step = function(w, ctx)
  ctx.metric("seen.now", ctx.metric_at("demand.total"))
  ctx.metric("seen.last", ctx.metric_at("demand.total", ctx.step - 1) or -1)
  ctx.metric("seen.in_a0_last", ctx.metric_at("funding.in.a0", ctx.step - 1) or -1)
  ctx.metric("seen.own", ctx.metric_at("seen.now") or -1)
end }
"#;
    let (_dir, s) = startups_scenario(
        "metric-reads",
        600,
        |i| format!("{{ id: a{i}, kind: startup, attrs: {{ demand: {i} }} }}"),
        &[
            ("a_sums.lua", sums.to_string()),
            ("b_reads.lua", reads.to_string()),
        ],
    );
    let rules = gil_engine::load_rules(&s, &[], gil_tests::test_sandbox()).unwrap();
    assert!(rules.reads_metrics());
    for threads in [1, 2] {
        let options = gil_engine::Options {
            threads,
            ..Default::default()
        };
        let e = gil_engine::evaluate(&s, &rules, &options).unwrap();
        let seen = |k: usize, name: &str| e.outcome.steps[k].metrics[name];
        let total = (0..600).sum::<i32>() as f64;
        // This year's metric of the rule that ran before; not the reading rule's own.
        assert_eq!(seen(0, "seen.now"), total, "threads {threads}");
        assert_eq!(seen(1, "seen.now"), total, "threads {threads}");
        assert_eq!(seen(0, "seen.own"), -1.0, "threads {threads}");
        // Last year's, rule-made and built-in; nothing before the first year.
        assert_eq!(seen(0, "seen.last"), -1.0, "threads {threads}");
        assert_eq!(seen(1, "seen.last"), total, "threads {threads}");
        assert_eq!(seen(0, "seen.in_a0_last"), -1.0, "threads {threads}");
        assert_eq!(seen(1, "seen.in_a0_last"), 2.0 * 599.0, "threads {threads}");
    }
}

#[test]
fn the_rules_memory_limit_does_not_count_the_engines_own_views() {
    // 30,000 actor views are several MiB: more than the 4 MiB the rules may use, which
    // must still hold for the rules' own allocations only.
    let sum = "return { id = \"m.sum\", on_actor = function(a, ctx)\n  local row = { value = a.attrs.demand, who = a.id .. \"!\" }  -- allocates\n  ctx.metric(\"demand\", row.value)\nend }\n";
    let (_dir, s) = startups_scenario(
        "memory-views",
        30_000,
        |i| {
            format!(
                "{{ id: a{i}, kind: startup, tags: [t], attrs: {{ demand: {i}, note: n{i} }} }}"
            )
        },
        &[("sum.lua", sum.to_string())],
    );
    let config = gil_rules::SandboxConfig {
        memory_limit: 4 * 1024 * 1024,
        ..gil_tests::test_sandbox()
    };
    let rules = gil_engine::load_rules(&s, &[], config).unwrap();
    let e = gil_engine::evaluate(&s, &rules, &gil_engine::Options::default()).unwrap();
    assert_eq!(
        e.outcome.steps[1].metrics["demand"],
        (0..30_000).sum::<u64>() as f64
    );
}

#[test]
fn every_example_outcome_matches_its_snapshot() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots/outcome");
    settings.set_prepend_module_to_snapshot(false);
    let _guard = settings.bind_to_scope();
    for example in gil_tests::EXAMPLES {
        let path = workspace_root()
            .join("examples")
            .join(example)
            .join("scenario.yaml");
        let e = evaluate(&path, &[]).unwrap();
        insta::assert_yaml_snapshot!(example, e.outcome);
    }
}

/// A random scenario: a boundary actor, a few others, and funding flows between them.
fn scenario_text(actors: usize, flows: &[(usize, usize, u32, u8)]) -> String {
    let mut text = String::from("scenario: { id: random, horizon: { start: 2026, end: 2027 }, currency: KRW }\nactors:\n  - { id: world, kind: boundary }\n");
    for i in 0..actors {
        text.push_str(&format!("  - {{ id: a{i}, kind: startup }}\n"));
    }
    text.push_str("flows:\n");
    let vias = ["grant", "investment", "purchase", "loan"];
    for (from, to, amount, via) in flows {
        let name = |i: usize| {
            if i == actors {
                "world".to_string()
            } else {
                format!("a{i}")
            }
        };
        if from == to {
            continue;
        }
        text.push_str(&format!(
            "  - {{ from: {}, to: {}, kind: funding, via: {}, amount: {{ 2026: {amount}, 2027: {} }} }}\n",
            name(*from),
            name(*to),
            vias[*via as usize % 4],
            amount / 2
        ));
    }
    text
}

fn load_text(text: &str) -> gil_model::Scenario {
    gil_model::load_str("random.yaml", text, Path::new("."))
        .unwrap_or_else(|e| panic!("{}", gil_tests::render_load_error(&e)))
}

fn evaluate_scenario(s: &gil_model::Scenario, extra: &[PathBuf]) -> Evaluation {
    let rules = gil_engine::load_rules(s, extra, gil_tests::test_sandbox()).unwrap();
    gil_engine::evaluate(s, &rules, &gil_engine::Options::default()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn money_is_conserved_and_ledgers_equal_flows(
        actors in 2usize..7,
        flows in prop::collection::vec((0usize..7, 0usize..7, 0u32..1_000_000, 0u8..4), 1..20),
    ) {
        let flows: Vec<_> = flows.into_iter().map(|(a, b, x, v)| (a % (actors + 1), b % (actors + 1), x, v)).collect();
        let s = load_text(&scenario_text(actors, &flows));
        let e = evaluate_scenario(&s, &[]);
        for (step, year) in e.outcome.steps.iter().zip([2026, 2027]) {
            let flow_total: f64 = s.flows.iter().enumerate().map(|(i, _)| s.flow_amount(i, year)).sum();
            let ledger_in: f64 = step.ledger.values().map(|l| l.total_in("funding")).sum();
            let ledger_out: f64 = step.ledger.values().map(|l| l.total_out("funding")).sum();
            prop_assert!((ledger_in - flow_total).abs() <= 1e-9 * flow_total.max(1.0));
            prop_assert!((ledger_out - flow_total).abs() <= 1e-9 * flow_total.max(1.0));
            // The outcome's lines (one per payer, kind and via) add up every flow, and
            // each line's payer pays exactly that much by that via in the ledger.
            let line_total: f64 = step.flows.iter().map(|l| l.amount).sum();
            prop_assert!((line_total - flow_total).abs() <= 1e-9 * flow_total.max(1.0));
            for line in &step.flows {
                let paid = step.ledger[&line.from].outflow.get("funding", line.via.as_deref().unwrap_or("-")).unwrap_or(0.0);
                prop_assert!((paid - line.amount).abs() <= 1e-9 * paid.max(1.0));
                prop_assert_eq!(line.to.is_some(), line.recipients == 1);
            }
            let boundary = step.ledger.get("world").map(|l| l.total_out("funding") - l.total_in("funding")).unwrap_or(0.0);
            let inside: f64 = step.ledger.iter().filter(|(id, _)| *id != "world").map(|(_, l)| l.total_in("funding") - l.total_out("funding")).sum();
            prop_assert!((inside - boundary).abs() <= 1e-6 * flow_total.max(1.0));
        }
    }

    #[test]
    fn evaluation_is_deterministic_and_a_silent_rule_changes_nothing(
        actors in 2usize..6,
        flows in prop::collection::vec((0usize..6, 0usize..6, 0u32..1_000_000, 0u8..4), 1..15),
    ) {
        let flows: Vec<_> = flows.into_iter().map(|(a, b, x, v)| (a % (actors + 1), b % (actors + 1), x, v)).collect();
        let s = load_text(&scenario_text(actors, &flows));
        let first = evaluate_scenario(&s, &[]);
        let second = evaluate_scenario(&s, &[]);
        prop_assert_eq!(gil_report::to_json(&first.outcome).unwrap(), gil_report::to_json(&second.outcome).unwrap());
        let silent = evaluate_scenario(&s, &[PathBuf::from("fixtures/rules/silent.lua")]);
        let mut without_rules = silent.outcome.clone();
        without_rules.scenario.rules.clear();
        prop_assert_eq!(&without_rules, &first.outcome);
        prop_assert!(gil_engine::diff::diff(&first.outcome, &second.outcome).is_empty());
    }
}

#[test]
fn a_scenario_read_from_csv_tables_evaluates_as_its_yaml_twin() {
    // fixtures/tables/ is examples/minimal with actors, assets and flows in CSV files.
    let outcome =
        |path: &Path| serde_json::to_string(&evaluate(path, &[]).unwrap().outcome).unwrap();
    let from_tables = outcome(Path::new("fixtures/tables/scenario.yaml"));
    let from_yaml = outcome(&workspace_root().join("examples/minimal/scenario.yaml"));
    assert_eq!(from_tables, from_yaml);
}

#[test]
fn a_national_document_keeps_what_it_names_and_counts_what_it_leaves_out() {
    // 2,100 startups funded by a ministry; a project names the ministry, a0 and a1, a
    // target names a2 through its metric. Nothing else is named.
    let n = 2_100;
    let mut text = String::from(
        "scenario: { id: wide, horizon: { start: 2026, end: 2027 }, currency: KRW }\nactors:\n  - { id: ministry, kind: government }\n",
    );
    for i in 0..n {
        text.push_str(&format!("  - {{ id: a{i}, kind: startup }}\n"));
    }
    text.push_str("flows:\n");
    for i in 0..n {
        text.push_str(&format!(
            "  - {{ from: ministry, to: a{i}, kind: funding, via: grant, amount: 1000 }}\n"
        ));
    }
    text.push_str(
        "projects:\n  - id: p\n    what: { owner: ministry, goal: g }\n    how: [{ actor: a0, means: m }]\n    participants: [a1]\n    why: w\n    targets: [{ metric: funding.in.a2, at_least: 1, by: 2027 }]\n",
    );
    let full = evaluate_scenario(&load_text(&text), &[]).outcome;
    let short = full
        .summarized()
        .expect("above the limit the document is summarized");
    let kept: Vec<&str> = short.ledger_total.keys().map(String::as_str).collect();
    assert_eq!(kept, ["a0", "a1", "a2", "ministry"]);
    let omitted = short.omitted.as_ref().unwrap();
    assert_eq!(omitted.entities, n - 3);
    assert_eq!(omitted.ledger_entries, 2 * (n - 3));
    for step in &short.steps {
        assert!(step.metrics.contains_key("funding.in.a2"));
        assert!(!step.metrics.contains_key("funding.in.a3"));
        assert_eq!(step.ledger.len(), 4);
    }
    let metrics = |o: &gil_engine::Outcome| o.steps.iter().map(|s| s.metrics.len()).sum::<usize>();
    assert_eq!(metrics(&short) + omitted.metrics, metrics(&full));
    // Everything but the ledger, the flow lines and per-entity metrics is whole.
    assert_eq!(short.findings, full.findings);
    assert_eq!(short.analyses, full.analyses);
    assert_eq!(short.roles, full.roles);
    // A small scenario's document is never summarized.
    assert!(run("target_late").outcome.summarized().is_none());
    // Built summarized (`Listing::Named`, what `gil run` asks for) it is the same
    // document, made without rendering what it leaves out.
    let s = load_text(&text);
    let named = evaluate_listing(&s, &[], false);
    assert_eq!(named, short);
}

/// [`evaluate_scenario`] listing only the named entities, optionally every flow.
fn evaluate_listing(
    s: &gil_model::Scenario,
    extra: &[PathBuf],
    all_flows: bool,
) -> gil_engine::Outcome {
    let rules = gil_engine::load_rules(s, extra, gil_tests::test_sandbox()).unwrap();
    let options = gil_engine::Options {
        listing: gil_engine::Listing::Named,
        all_flows,
        ..Default::default()
    };
    gil_engine::evaluate(s, &rules, &options).unwrap().outcome
}

/// The document a run builds summarized is byte for byte the whole outcome summarized
/// afterwards, for rule-made flows and `--flows` too, and whole when small.
#[test]
fn a_document_built_summarized_equals_the_whole_outcome_summarized() {
    let dir = gil_tests::Scratch::new("gil-listing");
    let spec = gil_synthetic::Spec {
        actors: 2_400,
        flows: 6_000,
        years: 3,
        seed: 5,
    };
    for (name, text) in gil_synthetic::generate(spec, true) {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let s = gil_model::load(&dir.join("scenario.yaml")).unwrap();
    for all_flows in [false, true] {
        let rules = gil_engine::load_rules(&s, &[], gil_tests::test_sandbox()).unwrap();
        let options = gil_engine::Options {
            all_flows,
            ..Default::default()
        };
        let whole = gil_engine::evaluate(&s, &rules, &options).unwrap().outcome;
        let summarized = whole.summarized().expect("2,400 actors are summarized");
        let named = evaluate_listing(&s, &[], all_flows);
        assert!(named.omitted.is_some());
        assert!(
            gil_report::to_json(&named).unwrap() == gil_report::to_json(&summarized).unwrap(),
            "built summarized and summarized afterwards differ (all_flows: {all_flows})"
        );
    }
    let small = load_text(&std::fs::read_to_string("fixtures/engine/target_late.yaml").unwrap());
    assert_eq!(
        evaluate_listing(&small, &[], false),
        run("target_late").outcome
    );
}

#[test]
fn progress_is_told_after_every_rule_of_every_year_in_order() {
    use std::sync::{Arc, Mutex};
    let path = workspace_root().join("examples/korea-2030/scenario.yaml");
    let s = gil_model::load(&path).unwrap();
    let rules = gil_engine::load_rules(&s, &[], gil_tests::test_sandbox()).unwrap();
    type Seen = Vec<(i32, String, usize, usize)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let log = seen.clone();
    let options = gil_engine::Options {
        progress: Some(gil_engine::ProgressFn(Arc::new(move |p| {
            log.lock()
                .unwrap()
                .push((p.year, p.rule.to_string(), p.done, p.total))
        }))),
        ..Default::default()
    };
    let with = gil_engine::evaluate(&s, &rules, &options).unwrap();
    let without = gil_engine::evaluate(&s, &rules, &gil_engine::Options::default()).unwrap();
    assert_eq!(
        with.outcome, without.outcome,
        "progress never changes the outcome"
    );
    let seen = seen.lock().unwrap();
    let per_year = rules.order().len();
    let total = s.years().count() * per_year;
    assert_eq!(seen.len(), total);
    for (k, (year, rule, done, all)) in seen.iter().enumerate() {
        assert_eq!((*done, *all), (k + 1, total));
        assert_eq!(*year, *s.years().start() + (k / per_year) as i32);
        assert_eq!(rule, &rules.rules()[rules.order()[k % per_year]].id);
    }
}

/// Writes `columns` as a Snappy-compressed Parquet file (the pyarrow default).
fn write_parquet(path: &Path, columns: Vec<(&str, arrow_array::ArrayRef)>) {
    let batch = arrow_array::RecordBatch::try_from_iter(columns).unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

fn parquet_twin_dir() -> gil_tests::Scratch {
    use arrow_array::{ArrayRef, DictionaryArray, Float64Array, Int64Array, StringArray};
    use std::sync::Arc;
    let dir = gil_tests::Scratch::new("gil-parquet");
    let text = |v: Vec<Option<&str>>| Arc::new(StringArray::from(v)) as ArrayRef;
    // `kind` dictionary-encoded, as pandas categoricals arrive; `count` as integers.
    let kinds: DictionaryArray<arrow_array::types::Int32Type> =
        vec!["government", "agency", "startup", "utility"]
            .into_iter()
            .collect();
    write_parquet(
        &dir.join("actors.parquet"),
        vec![
            (
                "id",
                text(vec![
                    Some("ministry"),
                    Some("agency"),
                    Some("startups"),
                    Some("utility"),
                ]),
            ),
            (
                "name",
                text(vec![
                    Some("Ministry of Science"),
                    Some("Compute agency"),
                    Some("AI startups"),
                    Some("Power utility"),
                ]),
            ),
            ("kind", Arc::new(kinds) as ArrayRef),
            (
                "count",
                Arc::new(Int64Array::from(vec![None, None, Some(100), None])) as ArrayRef,
            ),
            (
                "gpu_hours_demand",
                Arc::new(Float64Array::from(vec![None, None, Some(2000.0), None])) as ArrayRef,
            ),
        ],
    );
    write_parquet(
        &dir.join("flows.parquet"),
        vec![
            (
                "id",
                text(vec![Some("budget"), Some("usd-grant"), Some("compute")]),
            ),
            (
                "from",
                text(vec![Some("ministry"), Some("ministry"), Some("cluster")]),
            ),
            (
                "to",
                text(vec![Some("agency"), Some("startups"), Some("startups")]),
            ),
            (
                "kind",
                text(vec![Some("funding"), Some("funding"), Some("compute")]),
            ),
            ("via", text(vec![Some("grant"), Some("grant"), None])),
            (
                "amount",
                Arc::new(Float64Array::from(vec![None, Some(1.0e6), Some(5.0e6)])) as ArrayRef,
            ),
            (
                "amount@2026",
                Arc::new(Float64Array::from(vec![Some(1.0e10), None, None])) as ArrayRef,
            ),
            (
                "amount@2028",
                Arc::new(Float64Array::from(vec![Some(1.2e10), None, None])) as ArrayRef,
            ),
            ("unit", text(vec![None, Some("USD"), None])),
            ("project", text(vec![Some("compute-access"); 3])),
            (
                "source",
                text(vec![Some("tutorial figure"), Some("tutorial figure"), None]),
            ),
        ],
    );
    let yaml = std::fs::read_to_string("fixtures/tables/scenario.yaml")
        .unwrap()
        .replace("actors.csv", "actors.parquet")
        .replace("flows.csv", "flows.parquet")
        .replace(
            "{ table: assets.csv }",
            &format!(
                "{{ table: {} }}",
                std::fs::canonicalize("fixtures/tables/assets.csv")
                    .unwrap()
                    .display()
            ),
        );
    std::fs::write(dir.join("scenario.yaml"), yaml).unwrap();
    dir
}

#[test]
fn a_scenario_read_from_parquet_tables_evaluates_as_its_yaml_twin() {
    let dir = parquet_twin_dir();
    let outcome =
        |path: &Path| serde_json::to_string(&evaluate(path, &[]).unwrap().outcome).unwrap();
    let from_parquet = outcome(&dir.join("scenario.yaml"));
    let from_yaml = outcome(&workspace_root().join("examples/minimal/scenario.yaml"));
    assert_eq!(from_parquet, from_yaml);
}

#[test]
fn automatic_flow_ids_count_up_skip_taken_ids_and_start_afresh_each_year() {
    let e = evaluate(Path::new("fixtures/engine/auto_ids/scenario.yaml"), &[]).unwrap();
    for step in &e.trace.steps {
        let made: Vec<(String, f64)> = step
            .flows
            .iter()
            .filter(|f| f.origin.scenario_index().is_none())
            .map(|f| (e.trace.names.name(f.id).to_string(), f.amount))
            .collect();
        let base = "pay:gov->firm:funding";
        assert_eq!(
            made,
            vec![
                (base.to_string(), 10.0),
                (format!("{base}#2"), 20.0),
                (format!("{base}#4"), 30.0),
                (format!("{base}#5"), 40.0),
            ],
            "{}",
            step.year
        );
    }
}
