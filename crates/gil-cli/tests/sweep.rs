//! `gil sweep` end to end: the Ishigami function's Sobol indices, gil's against the
//! analytic values and against SALib's own `analyze` on the same table
//! (`oracles/sweep.py`); Morris the same way; shards run one by one merge to the bytes
//! one shard gives; merge names missing shards; reruns skip complete shards; a changed
//! input is refused; the Kubernetes Job's shape; and a real Slurm job array.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> String {
    root()
        .join("tests/fixtures/sweep")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn gil_in(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gil"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("gil runs")
}

fn ok(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn scratch(name: &str) -> gil_tests::Scratch {
    gil_tests::Scratch::new(&format!("gil-sweep-{name}"))
}

/// Whether python3 with pyarrow and SALib is here; under CI=true its absence fails.
fn salib() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import pyarrow, SALib"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        gil_tests::missing_tool("python3 with pyarrow and SALib (pip install pyarrow SALib)");
    }
    ok
}

fn oracle(dir: &Path, analysis: &str) {
    let file = dir.join("analysis.json");
    std::fs::write(&file, analysis).unwrap();
    let out = Command::new("python3")
        .arg(root().join("crates/gil-cli/tests/oracles/sweep.py"))
        .arg(dir)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the SALib oracle disagrees:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn index<'a>(analysis: &'a serde_json::Value, kind: &str) -> &'a Vec<serde_json::Value> {
    analysis["outputs"][0][kind].as_array().unwrap()
}

#[test]
fn ishigami_sobol_indices_match_the_analytic_values_and_salib() {
    let tmp = scratch("sobol");
    let out = ok(gil_in(
        &tmp,
        &[
            "sweep",
            &fixture("ishigami/sobol.yaml"),
            "--out",
            "ish",
            "--format",
            "json",
        ],
    ));
    let analysis: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(analysis["runs"], 2048 * 8);
    let s = index(&analysis, "sobol");
    // Analytic indices for x ~ U(−π, π)³, a = 7, b = 0.1.
    let s1 = [0.3139, 0.4424, 0.0];
    let st = [0.5576, 0.4424, 0.2437];
    for j in 0..3 {
        let (got1, gott) = (s[j]["s1"].as_f64().unwrap(), s[j]["st"].as_f64().unwrap());
        assert!(
            (got1 - s1[j]).abs() < 0.03,
            "S1[{j}] = {got1}, expected {}",
            s1[j]
        );
        assert!(
            (gott - st[j]).abs() < 0.03,
            "ST[{j}] = {gott}, expected {}",
            st[j]
        );
        // The true value lies in the 95% interval, give or take.
        let conf = s[j]["s1_conf"].as_f64().unwrap();
        assert!(conf > 0.0 && conf < 0.1, "S1 interval ±{conf}");
    }
    if salib() {
        oracle(&tmp.join("ish"), &out);
    }
}

#[test]
fn ishigami_morris_effects_match_salib() {
    let tmp = scratch("morris");
    let out = ok(gil_in(
        &tmp,
        &[
            "sweep",
            &fixture("ishigami/morris.yaml"),
            "--out",
            "ish",
            "--format",
            "json",
        ],
    ));
    let analysis: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(analysis["runs"], 200 * 4);
    let m = index(&analysis, "morris");
    // x2 enters as 7 sin² x2: on a 4-level grid over [−π, π] every step changes y by
    // exactly 7 · 0.75, so μ* = 5.25 / Δ with Δ = 2/3.
    assert!((m[1]["mu_star"].as_f64().unwrap() - 7.875).abs() < 1e-9);
    // x1 matters most on average; x3 only through its interaction with x1.
    let mu_star = |j: usize| m[j]["mu_star"].as_f64().unwrap();
    assert!(mu_star(0) > mu_star(2));
    if salib() {
        oracle(&tmp.join("ish"), &out);
    }
}

#[test]
fn shards_run_one_by_one_merge_to_the_bytes_one_shard_gives() {
    let tmp = scratch("shards");
    let small = fixture("ishigami/small.yaml");
    ok(gil_in(&tmp, &["sweep", "plan", &small, "--out", "one"]));
    ok(gil_in(&tmp, &["sweep", "run", "one"]));
    ok(gil_in(&tmp, &["sweep", "merge", "one"]));

    let plan = ok(gil_in(
        &tmp,
        &["sweep", "plan", &small, "--out", "four", "--shards", "4"],
    ));
    assert!(
        plan.contains("sbatch --array=0-3 "),
        "the plan prints its Slurm line:\n{plan}"
    );
    for shard in [2, 0, 3] {
        let arg = format!("{shard}/4");
        ok(gil_in(&tmp, &["sweep", "run", "four", "--shard", &arg]));
    }
    // Shard 1 is missing: merge refuses and names it as an --array list.
    let out = gil_in(&tmp, &["sweep", "merge", "four"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("1 of 4 shards have no results yet: 1"),
        "{err}"
    );
    assert!(err.contains("--array=1 "), "{err}");
    assert!(!tmp.join("four/results.parquet").exists());
    // --allow-incomplete merges what is there.
    ok(gil_in(
        &tmp,
        &["sweep", "merge", "four", "--allow-incomplete"],
    ));
    std::fs::remove_file(tmp.join("four/results.parquet")).unwrap();

    // `auto` reads the task index from the scheduler's variable.
    let out = Command::new(env!("CARGO_BIN_EXE_gil"))
        .args(["sweep", "run", "four", "--shard", "auto"])
        .env("SLURM_ARRAY_TASK_ID", "1")
        .current_dir(&tmp)
        .output()
        .unwrap();
    ok(out);
    // A rerun skips what is complete; --force redoes it.
    let again = gil_in(&tmp, &["sweep", "run", "four"]);
    let err = String::from_utf8_lossy(&again.stderr).into_owned();
    ok(again);
    assert!(
        err.contains("4 shards already complete, skipped: 0-3"),
        "{err}"
    );
    let forced = gil_in(&tmp, &["sweep", "run", "four", "--shard", "2/4", "--force"]);
    let err = String::from_utf8_lossy(&forced.stderr).into_owned();
    ok(forced);
    assert!(err.contains("shard 2/4: 15 runs"), "{err}");

    ok(gil_in(&tmp, &["sweep", "merge", "four", "--csv"]));
    let one = std::fs::read(tmp.join("one/results.parquet")).unwrap();
    let four = std::fs::read(tmp.join("four/results.parquet")).unwrap();
    assert!(one == four, "the merged table depends on the shard count");
    let csv = std::fs::read_to_string(tmp.join("four/results.csv")).unwrap();
    assert!(csv.starts_with(
        "run,x1,x2,x3,ishigami@2026,ishigami:max,findings.warn,findings.error,error\n0,"
    ));
    assert_eq!(csv.lines().count(), 61);

    // A shard of another split is refused at merge.
    std::fs::copy(
        tmp.join("one/results/part-00000-of-00001.parquet"),
        tmp.join("four/results/part-00000-of-00001.parquet"),
    )
    .unwrap();
    let out = gil_in(&tmp, &["sweep", "merge", "four"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("belongs to a split into 1 shards"));
}

#[test]
fn a_changed_input_is_refused_until_the_sweep_is_planned_again() {
    let tmp = scratch("stale");
    let copy = tmp.join("ishigami");
    std::fs::create_dir_all(&copy).unwrap();
    for f in ["scenario.yaml", "ishigami.lua", "small.yaml"] {
        std::fs::copy(
            root().join("tests/fixtures/sweep/ishigami").join(f),
            copy.join(f),
        )
        .unwrap();
    }
    ok(gil_in(
        &tmp,
        &["sweep", "plan", "ishigami/small.yaml", "--out", "s"],
    ));
    let rule = copy.join("ishigami.lua");
    let text = std::fs::read_to_string(&rule).unwrap();
    std::fs::write(&rule, text.replace("7 * math.sin", "8 * math.sin")).unwrap();
    let out = gil_in(&tmp, &["sweep", "run", "s"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the rules changed since the sweep"), "{err}");
    assert!(!tmp.join("s/results/part-00000-of-00001.parquet").exists());
}

#[test]
fn bad_sweep_files_exit_2_with_positions() {
    let tmp = scratch("bad");
    let out = gil_in(
        &tmp,
        &[
            "sweep",
            "plan",
            &fixture("bad/bad_distribution.yaml"),
            "--out",
            "x",
            "--color",
            "never",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad_distribution.yaml:8:18"), "{err}");
    assert!(err.contains("error[sweep-range]"), "{err}");
    assert!(
        !tmp.join("x").exists(),
        "nothing is planned from a bad file"
    );
    let out = gil_in(&tmp, &["sweep", "analyze", "nowhere"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("plan the sweep first"));
}

#[test]
fn the_kubernetes_job_is_an_indexed_job_over_the_shards() {
    let tmp = scratch("k8s");
    let out = ok(gil_in(
        &tmp,
        &[
            "sweep",
            "plan",
            &fixture("ishigami/small.yaml"),
            "--out",
            "k",
            "--shards",
            "6",
            "--emit",
            "k8s",
            "--image",
            "registry.example/gil:0.1",
        ],
    ));
    assert!(out.contains("kubectl apply -f"), "{out}");
    let text = std::fs::read_to_string(tmp.join("k/k8s-job.yaml")).unwrap();
    let job: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(job["apiVersion"], "batch/v1");
    assert_eq!(job["kind"], "Job");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    assert_eq!(spec["completions"], 6);
    assert!(spec["backoffLimitPerIndex"].as_u64().unwrap() >= 1);
    let pod = &spec["template"]["spec"];
    // backoffLimitPerIndex needs pods that are not restarted in place.
    assert_eq!(pod["restartPolicy"], "Never");
    let container = &pod["containers"][0];
    assert_eq!(container["image"], "registry.example/gil:0.1");
    let command: Vec<&str> = container["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        command,
        ["gil", "sweep", "run", "/sweeps/k", "--shard", "auto"]
    );
    assert_eq!(container["volumeMounts"][0]["mountPath"], "/sweeps");
    assert_eq!(
        pod["volumes"][0]["persistentVolumeClaim"]["claimName"],
        "gil-sweeps"
    );
    let name = job["metadata"]["name"].as_str().unwrap();
    assert!(
        name.len() <= 63
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    );
}

/// Whether a Slurm controller answers here; under CI=true (where `.ci/run` starts one)
/// its absence fails the test.
fn slurm() -> bool {
    let ok = Command::new("sinfo")
        .args(["-h", "-o", "%T"])
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("idle"));
    if !ok {
        gil_tests::missing_tool("a running Slurm (sinfo shows an idle node)");
    }
    ok
}

#[test]
fn a_slurm_job_array_gives_the_table_a_local_run_gives() {
    if !slurm() {
        return;
    }
    let tmp = scratch("slurm");
    let small = fixture("ishigami/small.yaml");
    ok(gil_in(&tmp, &["sweep", "plan", &small, "--out", "local"]));
    ok(gil_in(&tmp, &["sweep", "run", "local"]));
    ok(gil_in(&tmp, &["sweep", "merge", "local"]));

    let dir = tmp.join("array");
    let dir_text = dir.to_string_lossy().into_owned();
    let plan = ok(gil_in(
        &tmp,
        &["sweep", "plan", &small, "--out", &dir_text, "--shards", "3"],
    ));
    // The plan's own line, submitted as printed, with gil on the job's PATH.
    let line = plan
        .lines()
        .find_map(|l| l.split_once("or as a Slurm array:").map(|(_, s)| s.trim()))
        .unwrap()
        .to_string();
    assert!(line.starts_with("sbatch --array=0-2 "), "{line}");
    let bin = Path::new(env!("CARGO_BIN_EXE_gil")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let submit = Command::new("sh")
        .arg("-c")
        .arg(format!("{line} --parsable"))
        .env("PATH", &path)
        .current_dir(&tmp)
        .output()
        .unwrap();
    let job = ok(submit).trim().to_string();
    assert!(!job.is_empty());
    // Poll the queue (faster than `sbatch --wait`) until the array has left it.
    let started = Instant::now();
    loop {
        let q = Command::new("squeue")
            .args(["-h", "-j", &job, "-o", "%T"])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&q.stdout).trim().is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the job array did not finish in 5 minutes"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let merged = gil_in(&tmp, &["sweep", "merge", &dir_text]);
    if !merged.status.success() {
        let logs: String = (0..3)
            .map(|i| std::fs::read_to_string(dir.join(format!("logs/{i}.log"))).unwrap_or_default())
            .collect();
        panic!(
            "merge after the job array failed:\n{}\ntask logs:\n{logs}",
            String::from_utf8_lossy(&merged.stderr)
        );
    }
    let local = std::fs::read(tmp.join("local/results.parquet")).unwrap();
    let array = std::fs::read(dir.join("results.parquet")).unwrap();
    assert!(
        local == array,
        "the job array's table differs from the local run's"
    );
}

#[test]
fn discover_finds_the_corner_where_the_target_is_missed_and_the_report_shows_it() {
    let tmp = scratch("discover");
    ok(gil_in(
        &tmp,
        &["sweep", &fixture("discovery/sweep.yaml"), "--out", "d"],
    ));
    let out = ok(gil_in(
        &tmp,
        &[
            "sweep",
            "discover",
            "d",
            "--target",
            "programme:risk",
            "--format",
            "json",
        ],
    ));
    let d: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(d["runs"], 2000);
    let b = &d["boxes"][0];
    assert!(b["density"].as_f64().unwrap() >= 0.8, "{b}");
    assert!(b["coverage"].as_f64().unwrap() >= 0.9, "{b}");
    // The box restricts x1 from below near 0.7 and x2 from above near 0.4, not x3.
    let limits = b["limits"].as_array().unwrap();
    let names: Vec<&str> = limits
        .iter()
        .map(|l| l["parameter"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["x1", "x2"], "{b}");
    assert!(
        (limits[0]["low"].as_f64().unwrap() - 0.7).abs() < 0.03,
        "{b}"
    );
    assert!(
        (limits[1]["high"].as_f64().unwrap() - 0.4).abs() < 0.03,
        "{b}"
    );

    let text = ok(gil_in(
        &tmp,
        &["sweep", "discover", "d", "--target", "programme:risk"],
    ));
    assert!(text.contains("box 1"), "{text}");
    let out = gil_in(
        &tmp,
        &["sweep", "discover", "d", "--target", "programme:riks"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("it keeps programme:risk"));

    // The sweep's HTML report: self-contained, every chart well-formed SVG, the box.
    ok(gil_in(&tmp, &["report", "--html", "d", "--out", "d.html"]));
    let html = std::fs::read_to_string(tmp.join("d.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        html.contains("Where targets are missed (PRIM)"),
        "no PRIM section"
    );
    assert!(html.contains("Outputs over the runs"));
    assert!(html.contains("How likely each target is met"));
    let without_namespaces = html.replace("http://www.w3.org/2000/svg", "");
    assert!(
        !without_namespaces.contains("http"),
        "the page loads nothing"
    );
    assert!(!html.contains("<script"));
    let mut rest = html.as_str();
    let mut charts = 0;
    while let Some(start) = rest.find("<svg") {
        let end = rest[start..].find("</svg>").unwrap() + start + 6;
        roxmltree::Document::parse(&rest[start..end]).expect("a chart is well-formed SVG");
        charts += 1;
        rest = &rest[end..];
    }
    assert!(charts >= 2, "{charts} charts");
}

#[test]
fn a_merge_with_a_shard_missing_drops_whole_base_samples_never_misaligns_them() {
    let tmp = scratch("incomplete");
    let sweep = fixture("ishigami/sobol_small.yaml");
    ok(gil_in(
        &tmp,
        &["sweep", "plan", &sweep, "--out", "s", "--shards", "3"],
    ));
    ok(gil_in(&tmp, &["sweep", "run", "s", "--shard", "0/3"]));
    ok(gil_in(&tmp, &["sweep", "run", "s", "--shard", "2/3"]));
    ok(gil_in(&tmp, &["sweep", "merge", "s", "--allow-incomplete"]));
    let out = ok(gil_in(&tmp, &["sweep", "analyze", "s", "--format", "json"]));
    let a: serde_json::Value = serde_json::from_str(&out).unwrap();
    // Shard 1 holds runs 170..341; base samples are 8 runs each: 21..=42 are touched.
    let (runs, step) = (512, 8);
    let (start, end) = (runs / 3, 2 * runs / 3);
    let touched = (end - 1) / step - start / step + 1;
    assert_eq!(a["outputs"][0]["dropped_groups"], touched);
    assert_eq!(a["runs"], runs - (end - start));
    // What is left is whole base samples: indices stay in range.
    for index in a["outputs"][0]["sobol"].as_array().unwrap() {
        let st = index["st"].as_f64().unwrap();
        assert!((-0.5..1.5).contains(&st), "{index}");
    }
}

#[test]
fn failed_runs_read_the_same_from_any_folder() {
    let tmp = scratch("anywhere");
    let grid = fixture("grid_failing.yaml");
    ok(gil_in(&tmp, &["sweep", &grid, "--out", "a"]));
    let nested = tmp.join("deeper/still");
    std::fs::create_dir_all(&nested).unwrap();
    ok(gil_in(&nested, &["sweep", &grid, "--out", "../../b"]));
    let (a, b) = (
        std::fs::read(tmp.join("a/results.parquet")).unwrap(),
        std::fs::read(tmp.join("b/results.parquet")).unwrap(),
    );
    assert!(a == b, "the table depends on the working directory");
    ok(gil_in(&tmp, &["sweep", "merge", "a", "--csv"]));
    let csv = std::fs::read_to_string(tmp.join("a/results.csv")).unwrap();
    assert!(
        csv.contains(",,,fails_from.lua:9: asked to fail in 2026 (rule `test.fails_from`)"),
        "{csv}"
    );
}

#[test]
fn replanning_with_other_inputs_needs_force_and_keeps_the_old_results_aside() {
    let tmp = scratch("replan");
    let copy = tmp.join("ishigami");
    std::fs::create_dir_all(&copy).unwrap();
    for f in ["scenario.yaml", "ishigami.lua", "small.yaml"] {
        std::fs::copy(
            root().join("tests/fixtures/sweep/ishigami").join(f),
            copy.join(f),
        )
        .unwrap();
    }
    ok(gil_in(
        &tmp,
        &["sweep", "ishigami/small.yaml", "--out", "s"],
    ));
    let file = copy.join("small.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("seed: 3", "seed: 4")).unwrap();
    let out = gil_in(&tmp, &["sweep", "ishigami/small.yaml", "--out", "s"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds results of another plan"));
    ok(gil_in(
        &tmp,
        &["sweep", "ishigami/small.yaml", "--out", "s", "--force"],
    ));
    let aside: Vec<_> = std::fs::read_dir(tmp.join("s"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("replaced-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(tmp
        .join("s")
        .join(&aside[0])
        .join("results.parquet")
        .exists());
    assert!(tmp.join("s/results.parquet").exists());
}
