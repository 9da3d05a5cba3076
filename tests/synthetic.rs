//! The synthetic workload gives the same metric totals as its plain Lua 5.4 and Python
//! baselines (to 1e-9 relative), so benchmark comparisons compare the same logic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use std::process::Command;

use gil_tests::{evaluate, missing_tool};

fn parse(stdout: &[u8]) -> Vec<(i32, String, f64)> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| {
            let mut w = l.split_whitespace();
            (
                w.next().unwrap().parse().unwrap(),
                w.next().unwrap().to_string(),
                w.next().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

fn compare(name: &str, e: &gil_engine::Evaluation, lines: &[(i32, String, f64)]) {
    assert_eq!(
        lines.len(),
        5 * e.outcome.steps.len(),
        "{name}: one line per metric and year"
    );
    for (year, metric, want) in lines {
        let step = e.outcome.steps.iter().find(|s| s.year == *year).unwrap();
        let got = step.metrics.get(metric).copied().unwrap_or(0.0);
        assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "{name}: {metric} in {year}: gil {got}, baseline {want}"
        );
    }
}

#[test]
fn the_synthetic_workload_matches_its_baselines() {
    let dir = gil_tests::Scratch::new("gil-synthetic");
    let spec = gil_synthetic::Spec {
        actors: 300,
        flows: 900,
        years: 3,
        seed: 7,
    };
    for (name, text) in gil_synthetic::generate(spec, false) {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let e = evaluate(&dir.join("scenario.yaml"), &[]).unwrap();
    assert!(e.outcome.steps[0].metrics["synth.voucher"] > 0.0);

    match Command::new("lua5.4")
        .arg("baseline.lua")
        .current_dir(dir.join("baseline"))
        .output()
    {
        Ok(out) if out.status.success() => compare("lua5.4", &e, &parse(&out.stdout)),
        Ok(out) => panic!(
            "the Lua baseline failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => missing_tool("the Lua baseline needs Debian's lua5.4, which is not installed"),
    }
    let python = Command::new("python3")
        .args(["baseline.py", "../scenario.yaml"])
        .current_dir(dir.join("baseline"))
        .output();
    match python {
        Ok(out) if out.status.success() => compare("python", &e, &parse(&out.stdout)),
        Ok(out) if String::from_utf8_lossy(&out.stderr).contains("No module named 'yaml'") => {
            missing_tool("the Python baseline needs PyYAML, which is not installed")
        }
        Ok(out) => panic!(
            "the Python baseline failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => missing_tool("the Python baseline needs python3, which is not installed"),
    }
    // numpy sums pairwise, so the last bits may differ; 1e-9 relative still holds.
    let numpy = Command::new("python3")
        .args(["baseline_numpy.py", "../scenario.yaml"])
        .current_dir(dir.join("baseline"))
        .output();
    match numpy {
        Ok(out) if out.status.success() => compare("numpy", &e, &parse(&out.stdout)),
        Ok(out) if String::from_utf8_lossy(&out.stderr).contains("No module named") => {
            missing_tool("the numpy baseline needs numpy and PyYAML, which are not installed")
        }
        Ok(out) => panic!(
            "the numpy baseline failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => missing_tool("the numpy baseline needs python3, which is not installed"),
    }
}

#[test]
fn columnar_hooks_give_the_same_outcome_as_per_entity_hooks() {
    let write = |dir: &std::path::Path, files: &[(String, String)]| {
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    };
    let spec = gil_synthetic::Spec {
        actors: 400,
        flows: 1200,
        years: 3,
        seed: 11,
    };
    let base = gil_tests::Scratch::new("gil-columnar");
    write(
        &base.join("per-entity"),
        &gil_synthetic::generate(spec, false),
    );
    write(&base.join("columnar"), &gil_synthetic::generate(spec, true));
    let a = evaluate(&base.join("per-entity/scenario.yaml"), &[]).unwrap();
    let b = evaluate(&base.join("columnar/scenario.yaml"), &[]).unwrap();
    let json = |e: &gil_engine::Evaluation| {
        let mut o = e.outcome.clone();
        for r in &mut o.scenario.rules {
            r.file.clear(); // the two trees differ only in their folder names
        }
        gil_report::to_json(&o).unwrap()
    };
    assert!(
        json(&a) == json(&b),
        "the columnar and per-entity forms disagree"
    );
    // Every flow, with its id, in the same order: the effects came in the same order.
    let flows = |e: &gil_engine::Evaluation| -> Vec<(String, String, String, String)> {
        e.trace
            .steps
            .iter()
            .flat_map(|s| s.flows.iter())
            .map(|f| {
                let name = |sym| e.trace.names.name(sym).to_string();
                (
                    name(f.id),
                    name(f.from),
                    name(f.to),
                    format!("{:?}", f.amount),
                )
            })
            .collect()
    };
    assert!(
        flows(&a) == flows(&b),
        "the columnar and per-entity forms made different flows"
    );
    assert_eq!(
        gil_synthetic::COLUMNAR_RULES.len(),
        5,
        "every rule has a columnar form"
    );
    for metric in [
        "synth.voucher",
        "synth.tax_credit",
        "synth.procurement",
        "synth.power_saved",
    ] {
        assert!(a.outcome.steps[0].metrics[metric] > 0.0, "{metric}");
    }
}
