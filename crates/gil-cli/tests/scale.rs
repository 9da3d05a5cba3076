//! What `gil run` does for national-scale work, end to end: `--format parquet --out DIR`
//! (pyarrow reads every table and finds what the JSON outcome of the same run says,
//! `oracles/tables.py`; the same bytes from any working directory; bad output paths lose
//! nothing), the summarized JSON document and `--full`, and the progress bar.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn gil_in(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gil"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("gil runs")
}

fn scratch(name: &str) -> gil_tests::Scratch {
    gil_tests::Scratch::new(&format!("gil-tables-{name}"))
}

/// Whether python3 with pyarrow is here; under CI=true its absence fails the test.
fn pyarrow() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import pyarrow"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        gil_tests::missing_tool("python3 with pyarrow (pip install pyarrow)");
    }
    ok
}

/// `gil gen synthetic` into `tmp/name`.
fn generate(tmp: &Path, name: &str, actors: u32, flows: u32, years: u32) {
    let (a, f, y) = (actors.to_string(), flows.to_string(), years.to_string());
    let out = gil_in(
        tmp,
        &[
            "gen",
            "synthetic",
            name,
            "--actors",
            &a,
            "--flows",
            &f,
            "--years",
            &y,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn pyarrow_reads_in_every_table_what_the_json_outcome_says() {
    if !pyarrow() {
        return;
    }
    let tmp = scratch("oracle");
    for example in [
        "korea-2026-allocation",
        "korea-2030",
        "stargate-2025",
        "minimal",
    ] {
        let scenario = root().join(format!("examples/{example}/scenario.yaml"));
        let dir = tmp.join(example);
        let out = gil_in(
            &root(),
            &[
                "run",
                scenario.to_str().unwrap(),
                "--format",
                "parquet",
                "--out",
                dir.to_str().unwrap(),
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stdout.is_empty(),
            "the tables go to the folder, not stdout"
        );
        let json = gil_in(
            &root(),
            &[
                "run",
                scenario.to_str().unwrap(),
                "--format",
                "json",
                "--flows",
            ],
        );
        let outcome = tmp.join(format!("{example}.json"));
        std::fs::write(&outcome, &json.stdout).unwrap();
        let oracle = Command::new("python3")
            .arg(root().join("crates/gil-cli/tests/oracles/tables.py"))
            .arg(&dir)
            .arg(&outcome)
            .output()
            .unwrap();
        assert!(
            oracle.status.success(),
            "{example}: {}{}",
            String::from_utf8_lossy(&oracle.stdout),
            String::from_utf8_lossy(&oracle.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn the_same_inputs_give_the_same_bytes_from_any_working_directory() {
    let tmp = scratch("bytes");
    let write = |cwd: &Path, scenario: &str, out: &Path| {
        let o = gil_in(
            cwd,
            &[
                "run",
                scenario,
                "--format",
                "parquet",
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        files(out)
    };
    let from_root = write(&root(), "examples/stargate-2025", &tmp.join("a"));
    let from_example = write(&root().join("examples/stargate-2025"), ".", &tmp.join("b"));
    assert_eq!(from_root, from_example);
    let names: Vec<&str> = from_root.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "checks.parquet",
            "compute.parquet",
            "findings.parquet",
            "flows.parquet",
            "ledger.parquet",
            "loops.parquet",
            "metrics.parquet",
            "outcome.json",
            "power.parquet",
            "roles.parquet",
            "targets.parquet"
        ]
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn bad_output_paths_are_refused_and_lose_nothing() {
    let tmp = scratch("refused");
    // No --out: nothing to write the folder to.
    let o = gil_in(&tmp, &["run", "--format", "parquet"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--out DIR"));
    assert!(
        std::fs::read_dir(&tmp).unwrap().next().is_none(),
        "nothing written"
    );

    // --out names a file: refused, the file untouched.
    let file = tmp.join("notes.txt");
    std::fs::write(&file, "keep me").unwrap();
    let o = gil_in(&tmp, &["run", "--format", "parquet", "--out", "notes.txt"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is a file"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");

    // An existing folder: the tables are replaced, other files stay, no temporary left.
    let dir = tmp.join("tables");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("metrics.parquet"), "stale").unwrap();
    std::fs::write(dir.join("README"), "mine").unwrap();
    let o = gil_in(&tmp, &["run", "--format", "parquet", "--out", "tables"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_ne!(
        std::fs::read(dir.join("metrics.parquet")).unwrap(),
        b"stale"
    );
    assert_eq!(std::fs::read_to_string(dir.join("README")).unwrap(), "mine");
    let left: Vec<String> = std::fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("gil-tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn a_national_run_shows_progress_on_a_terminal_only_and_a_summarized_document() {
    let tmp = scratch("progress");
    generate(&tmp, "w", 3000, 9000, 6);
    // A pipe: no bar, and the outcome is all that is written.
    let piped = gil_in(
        &tmp,
        &["run", "w", "--format", "json", "--out", "piped.json"],
    );
    assert!(piped.status.success());
    assert!(!String::from_utf8_lossy(&piped.stderr).contains("rule runs"));
    // A terminal (util-linux `script` gives the run a pseudo-terminal).
    let command = format!(
        "{} run w --format json --out tty.json",
        env!("CARGO_BIN_EXE_gil")
    );
    let Ok(tty) = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("GIL_PROGRESS_AFTER_MS", "0")
        .current_dir(&tmp)
        .output()
    else {
        gil_tests::missing_tool("util-linux `script`");
        return;
    };
    assert!(
        tty.status.success(),
        "{}",
        String::from_utf8_lossy(&tty.stdout)
    );
    assert!(
        String::from_utf8_lossy(&tty.stdout).contains("rule runs"),
        "no progress bar on a terminal"
    );
    // The bar never reaches the document.
    assert_eq!(
        std::fs::read(tmp.join("piped.json")).unwrap(),
        std::fs::read(tmp.join("tty.json")).unwrap()
    );
    // Above 2,000 actors the document keeps what it names and says so; --full keeps all.
    let piped: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.join("piped.json")).unwrap()).unwrap();
    assert!(piped["omitted"]["entities"].as_u64().unwrap() > 2_000);
    assert!(
        String::from_utf8_lossy(&gil_in(&tmp, &["run", "w", "--format", "json"]).stderr)
            .contains("--full keeps them")
    );
    let full = gil_in(&tmp, &["run", "w", "--format", "json", "--full"]);
    let full: serde_json::Value = serde_json::from_slice(&full.stdout).unwrap();
    assert!(full.get("omitted").is_none());
    assert!(
        full["ledger_total"].as_object().unwrap().len()
            > piped["ledger_total"].as_object().unwrap().len() + 2_000
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn bench_runs_the_baselines_beside_gil_and_prints_the_ratios() {
    let tmp = scratch("baselines");
    generate(&tmp, "w", 200, 600, 2);
    let out = gil_in(&tmp, &["bench", "w", "--threads", "1", "--baselines"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for (script, phase) in [
        ("lua5.4 baseline.lua", "rules"),
        ("python3 baseline.py", "total"),
        ("python3 baseline_numpy.py", "rules"),
    ] {
        let Some(line) = text.lines().find(|l| l.contains(script)) else {
            panic!("no line for {script}:\n{text}");
        };
        if line.contains("cannot run") || line.contains("failed") {
            gil_tests::missing_tool(&format!("{script} (lua5.4, python3 with PyYAML and numpy)"));
            continue;
        }
        assert!(
            line.contains(&format!("gil {phase}")) && line.ends_with('×'),
            "{line}"
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
