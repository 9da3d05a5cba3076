//! korea-2030 evaluated again and again through the load-once API ([`gil_engine::Model`]),
//! side by side with what a caller without it pays (read the scenario, compile the rules,
//! evaluate): `cargo bench -p gil-engine --bench reevaluate`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark may fail loudly

use std::collections::BTreeMap;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gil_engine::{Model, Params};
use gil_rules::SandboxConfig;

/// The `gil` binary's allocator, so the figures are the ones users get.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn korea() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/korea-2030/scenario.yaml"
    ))
}

/// Run `i`'s parameters: the voucher budget share moved a little each run, so no two
/// runs are the same evaluation.
fn params(i: usize) -> Params {
    let mut p = BTreeMap::new();
    p.insert(
        "fx.USD".to_string(),
        gil_model::Dated::Fixed(1300.0 + (i % 200) as f64),
    );
    p
}

fn reevaluate(c: &mut Criterion) {
    let scenario = gil_model::load(korea()).unwrap();
    let model = Model::new(scenario, &[], SandboxConfig::default()).unwrap();
    let evaluator = model.evaluator().unwrap();

    let mut group = c.benchmark_group("korea-2030");
    group.throughput(Throughput::Elements(1));
    group.bench_function("load, compile and evaluate (no reuse)", |b| {
        b.iter(|| {
            let scenario = gil_model::load(korea()).unwrap();
            let rules = gil_engine::load_rules(&scenario, &[], SandboxConfig::default()).unwrap();
            gil_engine::evaluate(&scenario, &rules, &gil_engine::Options::default()).unwrap()
        })
    });
    let mut i = 0;
    group.bench_function("re-evaluate on one evaluator", |b| {
        b.iter(|| {
            i += 1;
            evaluator.evaluate(&params(i)).unwrap()
        })
    });
    // What a sweep's run builds: metrics, findings and analyses only.
    let lean = model.clone().with_detail(gil_engine::Detail::Metrics);
    let lean_evaluator = lean.evaluator().unwrap();
    group.bench_function("re-evaluate on one evaluator, as a sweep run", |b| {
        b.iter(|| {
            i += 1;
            lean_evaluator.evaluate(&params(i)).unwrap()
        })
    });
    const RUNS: usize = 256;
    group.sample_size(10);
    group.throughput(Throughput::Elements(RUNS as u64));
    for (what, model) in [("", &model), (", as sweep runs", &lean)] {
        for threads in [1, 2] {
            group.bench_function(
                format!("evaluate_many, {RUNS} runs, {threads} thread(s){what}"),
                |b| {
                    b.iter(|| {
                        model
                            .evaluate_many(RUNS, threads, params, |_, r| {
                                r.unwrap().outcome.findings.len()
                            })
                            .unwrap()
                    })
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, reevaluate);
criterion_main!(benches);
