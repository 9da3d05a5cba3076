//! Differential testing, as Cedar does: a small, obviously correct reference evaluator
//! (plain maps, no caching, no views, no threads) against gil's core, on random
//! scenarios — actors with dated attributes, flows with dated amounts in two
//! currencies, boundary actors, assets — and the five synthetic rule templates in both
//! their per-entity and their columnar form. Every year's ledger (entity × side × kind
//! × `via`) and every rule metric must agree.
//!
//! The reference implements `docs/semantics.md` directly: materialise the year (values
//! in force, `ctx.set` values for good, amounts in the base unit), run the rules in
//! order with each seeing the effects of the ones before, sum the ledger.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

const YEARS: [i32; 3] = [2026, 2027, 2028];
const FX_USD: f64 = 1400.0;
const KINDS: [&str; 4] = ["startup", "sme", "large_firm", "public_user"];
const VIAS: [&str; 3] = ["purchase", "grant", "investment"];

/// A value in force by year: `(year, value)` points, the first in 2026.
#[derive(Debug, Clone)]
struct Series(Vec<(i32, f64)>);

impl Series {
    fn at(&self, year: i32) -> f64 {
        self.0
            .iter()
            .take_while(|(y, _)| *y <= year)
            .last()
            .map(|(_, v)| *v)
            .expect("every series starts in the first year")
    }

    fn yaml(&self) -> String {
        if let [(_, v)] = self.0.as_slice() {
            return format!("{v}");
        }
        let points: Vec<String> = self.0.iter().map(|(y, v)| format!("{y}: {v}")).collect();
        format!("{{ {} }}", points.join(", "))
    }
}

#[derive(Debug, Clone)]
struct Actor {
    kind: &'static str,
    demand: Series,
    budget: f64,
    /// For a public user: the actor it buys from (an index into the actors).
    platform: usize,
}

#[derive(Debug, Clone)]
struct Flow {
    from: String,
    to: String,
    kind: &'static str,
    via: Option<&'static str>,
    amount: Series,
    usd: bool,
}

#[derive(Debug, Clone)]
struct World {
    actors: Vec<Actor>,
    flows: Vec<Flow>,
    clusters: usize,
}

fn actor_id(i: usize) -> String {
    format!("a{i}")
}

fn series() -> impl Strategy<Value = Series> {
    prop_oneof![
        (1u32..20_000).prop_map(|v| Series(vec![(2026, f64::from(v))])),
        (1u32..20_000, 1u32..20_000, 2027i32..=2028)
            .prop_map(|(a, b, y)| Series(vec![(2026, f64::from(a)), (y, f64::from(b))])),
    ]
}

fn world() -> impl Strategy<Value = World> {
    let actor = (
        0usize..4,
        series(),
        1u32..5_000_000,
        any::<prop::sample::Index>(),
    );
    (prop::collection::vec(actor, 1..16), 1usize..3).prop_flat_map(|(actors, clusters)| {
        let n = actors.len();
        let actors: Vec<Actor> = actors
            .into_iter()
            .map(|(k, demand, budget, platform)| Actor {
                kind: KINDS[k],
                demand,
                budget: f64::from(budget),
                platform: platform.index(n),
            })
            .collect();
        // Payers and payees: the actors, the government, the boundary, the clusters.
        let mut parties: Vec<String> = (0..n).map(actor_id).collect();
        parties.extend(["gov", "world"].map(String::from));
        let parties_len = parties.len();
        let funding = (
            0..parties_len,
            0..parties_len,
            0usize..3,
            series(),
            any::<bool>(),
        )
            .prop_filter("no flow to itself", |(a, b, ..)| a != b);
        let power = (0..clusters, series());
        (
            Just(actors),
            Just(parties),
            prop::collection::vec(funding, 0..24),
            prop::collection::vec(power, 0..4),
            Just(clusters),
        )
            .prop_map(|(actors, parties, funding, power, clusters)| {
                let mut flows: Vec<Flow> = funding
                    .into_iter()
                    .map(|(a, b, via, amount, usd)| Flow {
                        from: parties[a].clone(),
                        to: parties[b].clone(),
                        kind: "funding",
                        via: Some(VIAS[via]),
                        amount,
                        usd,
                    })
                    .collect();
                flows.extend(power.into_iter().map(|(c, amount)| Flow {
                    from: "kepco".into(),
                    to: format!("c{c}"),
                    kind: "power",
                    via: None,
                    amount,
                    usd: false,
                }));
                World {
                    actors,
                    flows,
                    clusters,
                }
            })
    })
}

fn scenario_yaml(w: &World, rules: &str) -> String {
    let mut t = format!(
        "scenario: {{ id: reference, horizon: {{ start: 2026, end: 2028 }}, currency: KRW, rules: [{rules}] }}\n"
    );
    t.push_str("parameters:\n  fx.USD: 1400\n");
    for (name, value) in gil_synthetic::PARAMETERS {
        t.push_str(&format!("  {name}: {value}\n"));
    }
    t.push_str("actors:\n  - { id: gov, kind: government }\n  - { id: agency, kind: agency }\n  - { id: kepco, kind: utility }\n  - { id: world, kind: boundary }\n");
    for (i, a) in w.actors.iter().enumerate() {
        let attrs = match a.kind {
            "startup" | "sme" => format!("demand: {}", a.demand.yaml()),
            "public_user" => format!("budget: {}, platform: {}", a.budget, actor_id(a.platform)),
            _ => String::new(),
        };
        t.push_str(&format!(
            "  - {{ id: {}, kind: {}, attrs: {{ {attrs} }} }}\n",
            actor_id(i),
            a.kind
        ));
    }
    t.push_str("assets:\n");
    for c in 0..w.clusters {
        t.push_str(&format!(
            "  - {{ id: c{c}, kind: gpu_cluster, owner: agency, region: south, capacity: {{ gpus: 100 }} }}\n"
        ));
    }
    t.push_str("flows:\n");
    for (i, f) in w.flows.iter().enumerate() {
        let via = f.via.map(|v| format!(", via: {v}")).unwrap_or_default();
        let unit = if f.usd {
            ", unit: USD"
        } else if f.kind == "power" {
            ", unit: MW"
        } else {
            ""
        };
        t.push_str(&format!(
            "  - {{ id: f{i}, from: {}, to: {}, kind: {}{via}, amount: {}{unit} }}\n",
            f.from,
            f.to,
            f.kind,
            f.amount.yaml()
        ));
    }
    t
}

/// (entity, side, kind, via) → amount, and rule metric → value, for one year.
type Ledger = BTreeMap<(String, &'static str, String, String), f64>;
type Metrics = BTreeMap<String, f64>;

/// A flow of the year as the reference sees it.
struct YearFlow {
    from: String,
    to: String,
    kind: &'static str,
    via: Option<&'static str>,
    amount: f64,
}

/// The reference: every year from the scenario, the five rules written out in Rust in
/// their evaluation order (efficiency, procurement, tax credit, voucher, growth).
fn reference(w: &World) -> Vec<(Ledger, Metrics)> {
    let p: BTreeMap<&str, f64> = gil_synthetic::PARAMETERS.iter().copied().collect();
    // Demand set by `synth.growth`, in force from the next year on, for good.
    let mut demand_set: BTreeMap<usize, f64> = BTreeMap::new();
    let mut years = Vec::new();
    for year in YEARS {
        let mut metrics = Metrics::new();
        let mut add = |name: &str, v: f64| *metrics.entry(name.to_string()).or_default() += v;
        let demand: Vec<f64> = (0..w.actors.len())
            .map(|i| {
                demand_set
                    .get(&i)
                    .copied()
                    .unwrap_or_else(|| w.actors[i].demand.at(year))
            })
            .collect();
        let mut flows: Vec<YearFlow> = w
            .flows
            .iter()
            .map(|f| YearFlow {
                from: f.from.clone(),
                to: f.to.clone(),
                kind: f.kind,
                via: f.via,
                amount: f.amount.at(year) * if f.usd { FX_USD } else { 1.0 },
            })
            .collect();
        // synth.efficiency: every power flow scaled down.
        let scale = 1.0 - p["synth.efficiency"];
        for f in flows.iter_mut().filter(|f| f.kind == "power") {
            add("synth.power_saved", f.amount * (1.0 - scale));
            f.amount *= scale;
        }
        // synth.procurement: each public user pays its platform its budget.
        for a in w.actors.iter().filter(|a| a.kind == "public_user") {
            let buyer = actor_id(w.actors.iter().position(|b| std::ptr::eq(a, b)).unwrap());
            flows.push(YearFlow {
                from: buyer,
                to: actor_id(a.platform),
                kind: "funding",
                via: Some("procurement"),
                amount: a.budget,
            });
            add("synth.procurement", a.budget);
        }
        // synth.tax_credit: purchases by firms credited by the government.
        let purchases: Vec<(String, f64)> = flows
            .iter()
            .filter(|f| f.via == Some("purchase"))
            .map(|f| (f.from.clone(), f.amount))
            .collect();
        for (buyer, amount) in purchases {
            let kind = match buyer.strip_prefix('a') {
                Some(i) => w.actors[i.parse::<usize>().unwrap()].kind,
                None => "government", // gov and world: no credit
            };
            let rate = match kind {
                "large_firm" => p["synth.credit_large"],
                "sme" | "startup" => p["synth.credit_sme"],
                _ => 0.0,
            };
            if rate > 0.0 {
                flows.push(YearFlow {
                    from: "gov".into(),
                    to: buyer,
                    kind: "funding",
                    via: Some("tax_credit"),
                    amount: amount * rate,
                });
                add("synth.tax_credit", amount * rate);
            }
        }
        // synth.voucher: startups and SMEs get part of their compute bill.
        for (i, a) in w.actors.iter().enumerate() {
            if matches!(a.kind, "startup" | "sme") {
                let grant = demand[i] * p["synth.gpu_hour_price"] * p["synth.coverage"];
                flows.push(YearFlow {
                    from: "agency".into(),
                    to: actor_id(i),
                    kind: "funding",
                    via: Some("voucher"),
                    amount: grant,
                });
                add("synth.voucher", grant);
            }
        }
        // synth.growth: startups' demand grows, from next year on.
        for (i, a) in w.actors.iter().enumerate() {
            if a.kind == "startup" {
                let next = demand[i] * (1.0 + p["synth.growth"]);
                demand_set.insert(i, next);
                add("synth.demand", next);
            }
        }
        let mut ledger = Ledger::new();
        for f in &flows {
            let via = f.via.unwrap_or("-").to_string();
            *ledger
                .entry((f.from.clone(), "out", f.kind.into(), via.clone()))
                .or_default() += f.amount;
            *ledger
                .entry((f.to.clone(), "in", f.kind.into(), via))
                .or_default() += f.amount;
        }
        years.push((ledger, metrics));
    }
    years
}

/// gil's outcome in the reference's shape.
fn from_gil(outcome: &gil_engine::Outcome) -> Vec<(Ledger, Metrics)> {
    outcome
        .steps
        .iter()
        .map(|step| {
            let mut ledger = Ledger::new();
            for (id, entry) in &step.ledger {
                for (side, entries) in [("in", &entry.inflow), ("out", &entry.outflow)] {
                    for (kind, via, amount) in entries.iter() {
                        ledger.insert((id.clone(), side, kind.into(), via.into()), amount);
                    }
                }
            }
            let metrics = step
                .rule_metrics
                .iter()
                .map(|name| (name.clone(), step.metrics[name]))
                .collect();
            (ledger, metrics)
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn same<K: Ord + std::fmt::Debug>(
    what: &str,
    year: i32,
    got: &BTreeMap<K, f64>,
    want: &BTreeMap<K, f64>,
) -> Result<(), TestCaseError> {
    fn keys<K>(m: &BTreeMap<K, f64>) -> Vec<&K> {
        m.keys().collect()
    }
    prop_assert_eq!(keys(got), keys(want), "{} keys in {}", what, year);
    for (k, v) in got {
        prop_assert!(
            close(*v, want[k]),
            "{} {:?} in {}: gil {}, reference {}",
            what,
            k,
            year,
            v,
            want[k]
        );
    }
    Ok(())
}

/// The synthetic rules, per-entity and columnar: the folders `gil gen synthetic` copies
/// them from.
fn rule_folders() -> (PathBuf, PathBuf) {
    let workload = gil_tests::workspace_root().join("crates/gil-synthetic/workload");
    (workload.join("rules"), workload.join("columnar"))
}

fn evaluate(text: &str, dir: &Path) -> gil_engine::Outcome {
    let s = gil_model::load_str("reference.yaml", text, dir)
        .unwrap_or_else(|e| panic!("{}\n{text}", gil_tests::render_load_error(&e)));
    let rules = gil_engine::load_rules(&s, &[], gil_tests::test_sandbox()).unwrap();
    gil_engine::evaluate(&s, &rules, &gil_engine::Options::default())
        .unwrap()
        .outcome
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_core_agrees_with_the_reference_evaluator(w in world()) {
        let want = reference(&w);
        let (per_entity, columnar) = rule_folders();
        for dir in [per_entity, columnar] {
            let outcome = evaluate(&scenario_yaml(&w, "."), &dir);
            let order: Vec<&str> = outcome.scenario.rules.iter().map(|r| r.id.as_str()).collect();
            prop_assert_eq!(
                order,
                ["synth.efficiency", "synth.procurement", "synth.tax_credit", "synth.voucher", "synth.growth"]
            );
            let got = from_gil(&outcome);
            prop_assert_eq!(got.len(), want.len());
            for (year, ((gl, gm), (wl, wm))) in YEARS.iter().zip(got.iter().zip(&want)) {
                same("ledger", *year, gl, wl)?;
                same("metric", *year, gm, wm)?;
            }
        }
    }
}
