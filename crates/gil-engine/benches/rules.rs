//! The rules phase on the synthetic workload (`gil gen synthetic`), measured by
//! criterion: `cargo bench -p gil-engine`. Whole-run figures come from `gil bench`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark may fail loudly

use criterion::{criterion_group, criterion_main, Criterion};
use gil_synthetic::{generate, Spec};

/// The `gil` binary's allocator, so the figures are the ones users get.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn rules_phase(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("gil-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let spec = Spec {
        actors: 2_000,
        flows: 6_000,
        years: 2,
        seed: 2026,
    };
    for (name, text) in generate(spec, false) {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let scenario = gil_model::load(&dir.join("scenario.yaml")).unwrap();
    let rules =
        gil_engine::load_rules(&scenario, &[], gil_rules::SandboxConfig::default()).unwrap();
    let options = gil_engine::Options::default();
    let mut group = c.benchmark_group("synthetic 2k actors, 6k flows, 2 years");
    group.sample_size(10);
    group.bench_function("evaluate (rules + settle + analyses)", |b| {
        b.iter(|| gil_engine::evaluate(&scenario, &rules, &options).unwrap())
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, rules_phase);
criterion_main!(benches);
