//! A small scenario the rule targets evaluate against, and limits that keep each run short.

pub const SCENARIO: &str = r#"
scenario: { id: fuzz, horizon: { start: 2026, end: 2027 }, currency: KRW, rules: [] }
parameters: { p: 0.5, fx.USD: 1400 }
actors:
  - { id: gov, kind: government, tags: [tax_authority] }
  - { id: firm, kind: startup, count: 3, attrs: { demand: 10, name: "x", flag: true } }
  - { id: world, kind: boundary }
assets:
  - { id: grid, kind: grid_region, region: r, capacity: { mw: 5 } }
  - { id: dc, kind: gpu_cluster, owner: firm, region: r, capacity: { gpus: 2 } }
flows:
  - { id: f1, from: gov, to: firm, kind: funding, via: grant, amount: 100, project: p1 }
  - { id: f2, from: world, to: dc, kind: power, amount: 1, unit: MW }
  - { id: f3, from: dc, to: firm, kind: compute, amount: 10 }
projects:
  - { id: p1, what: { owner: gov }, how: [ { actor: firm } ], why: "w", targets: [ { metric: funding.in.firm, at_least: 1 } ] }
"#;

pub fn config() -> gil_rules::SandboxConfig {
    gil_rules::SandboxConfig {
        call_deadline: std::time::Duration::from_millis(50),
        total_budget: std::time::Duration::from_millis(200),
        memory_limit: 32 * 1024 * 1024,
        ..gil_rules::SandboxConfig::default()
    }
}

/// Loads `lua` as the only rule and evaluates; errors are fine, panics are not.
pub fn run_rule(lua: &str) {
    let dir = std::env::temp_dir();
    let Ok(scenario) = gil_model::load_str("fuzz.yaml", SCENARIO, &dir) else { panic!("fixture scenario must load") };
    let source = gil_rules::RuleSource { display: "fuzz.lua".into(), path: "fuzz.lua".into(), text: lua.to_string(), ..Default::default() };
    let rules = match gil_rules::RuleRuntime::load(&[source], gil_engine::known_names(&scenario), config()) {
        Ok(r) => r,
        Err(errors) => {
            for e in &errors {
                let _ = e.to_string();
            }
            return;
        }
    };
    match gil_engine::evaluate(&scenario, &rules, &gil_engine::Options::default()) {
        Ok(e) => {
            let _ = gil_engine::diff::diff(&e.outcome, &e.outcome);
        }
        Err(gil_engine::EngineError::Invariant { year, message }) => {
            panic!("engine invariant broken in {year}: {message}")
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}
