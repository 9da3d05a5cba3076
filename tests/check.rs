//! `gil check` fixtures: one file per diagnostic under `fixtures/check/`, each with a
//! snapshot of the rendered message a user would see (as ruff does). The examples must
//! load clean.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use std::path::Path;

use gil_tests::{render_load_error, workspace_root};

#[test]
fn every_check_fixture_renders_its_diagnostic() {
    // Paths relative to this crate keep the rendered `file:line:column` stable.
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots/check");
    settings.set_prepend_module_to_snapshot(false);
    let _guard = settings.bind_to_scope();
    insta::glob!("fixtures/check/*.yaml", |path| {
        let relative = gil_tests::relative_to_crate(path);
        let err = gil_model::load(relative).expect_err("a check fixture must fail to load");
        assert!(!err.diagnostics.is_empty());
        for d in &err.diagnostics {
            assert!(
                d.span.is_some() || d.file_name.is_some(),
                "{} has no position",
                d.code
            );
        }
        insta::assert_snapshot!("diagnostic", render_load_error(&err));
    });
}

#[test]
fn every_bundled_example_checks_clean() {
    let examples = workspace_root().join("examples");
    let mut names: Vec<_> = std::fs::read_dir(&examples)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("scenario.yaml").exists())
        .collect();
    names.sort();
    assert!(names.len() >= 3, "expected the three bundled examples");
    for dir in names {
        let path = dir.join("scenario.yaml");
        if let Err(err) = gil_model::load(&path) {
            panic!(
                "{} does not load:\n{}",
                path.display(),
                render_load_error(&err)
            );
        }
    }
}

#[test]
fn all_problems_are_reported_in_one_pass() {
    let err = gil_model::load(Path::new("fixtures/check/many_errors.yaml")).unwrap_err();
    let codes: Vec<_> = err.diagnostics.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "duplicate-id",
            "unknown-kind",
            "unknown-id",
            "negative-value",
            "year-outside-horizon"
        ]
    );
}

#[test]
fn json_records_carry_line_column_and_key_path() {
    let err = gil_model::load(Path::new("fixtures/check/unknown_id.yaml")).unwrap_err();
    let records: Vec<_> = err
        .diagnostics
        .iter()
        .map(|d| d.to_record(&err.sources))
        .collect();
    insta::assert_json_snapshot!(records);
}

#[test]
fn dated_values_hold_from_their_year_on() {
    let s = gil_model::load(&workspace_root().join("examples/minimal/scenario.yaml")).unwrap();
    let budget = s.flow_ids.iter().position(|id| id == "budget").unwrap();
    assert_eq!(s.flow_amount(budget, 2026), 1.0e10);
    assert_eq!(s.flow_amount(budget, 2027), 1.0e10);
    assert_eq!(s.flow_amount(budget, 2028), 1.2e10);
    // `1_000_000 USD` at fx.USD = 1400 is reported in KRW.
    let usd = s.flow_ids.iter().position(|id| id == "usd-grant").unwrap();
    assert_eq!(s.flow_amount(usd, 2026), 1.4e9);
    // 2.3 MW stays MW; the graph holds every flow as an edge.
    let graph = gil_model::ScenarioGraph::build(&s);
    assert_eq!(graph.graph.edge_count(), s.flows.len());
    assert_eq!(graph.graph.node_count(), s.actors.len() + s.assets.len());
}

#[test]
fn includes_merge_and_keep_their_own_file_positions() {
    let s = gil_model::load(&workspace_root().join("examples/korea-2030/scenario.yaml")).unwrap();
    let kepco = s.actor("kepco").unwrap();
    assert!(s.sources.locate(kepco.id.span).contains("actors.yaml:"));
    assert!(s.asset("grid-capital").is_some(), "power.yaml is included");
}

#[test]
fn a_large_file_is_parsed_on_two_threads_with_the_same_verdicts() {
    // Past the size where syntax check and tree run side by side: an alias bomb and a
    // syntax error are still reported as in a small file, and a valid file loads.
    let padding = format!("# {}\n", "x".repeat(1000)).repeat(300);
    let mut bomb = padding.clone();
    bomb.push_str(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (name, prev) in ["b", "c", "d", "e", "f", "g", "h", "i"]
        .iter()
        .zip(["a", "b", "c", "d", "e", "f", "g", "h"])
    {
        bomb.push_str(&format!(
            "{name}: &{name} [{}]\n",
            vec![format!("*{prev}"); 9].join(",")
        ));
    }
    let err = gil_model::load_str("bomb.yaml", &bomb, Path::new(".")).unwrap_err();
    assert!(
        render_load_error(&err).contains("yaml-too-large"),
        "{}",
        render_load_error(&err)
    );

    let broken = format!("{padding}scenario: {{ id: x\n");
    let err = gil_model::load_str("broken.yaml", &broken, Path::new(".")).unwrap_err();
    assert!(
        render_load_error(&err).contains("yaml-syntax"),
        "{}",
        render_load_error(&err)
    );

    let mut valid = padding;
    valid.push_str(
        "scenario: { id: big, horizon: { start: 2026, end: 2026 }, currency: KRW }\nactors:\n",
    );
    for i in 0..2000 {
        valid.push_str(&format!("  - {{ id: a{i}, kind: startup }}\n"));
    }
    let s = gil_model::load_str("valid.yaml", &valid, Path::new(".")).unwrap();
    assert_eq!(s.actors.len(), 2000);
}

#[test]
fn parquet_tables_report_their_problems_at_row_and_column() {
    use arrow_array::{ArrayRef, RecordBatch, StringArray, TimestampSecondArray};
    use std::sync::Arc;
    let dir = gil_tests::Scratch::new("gil-parquet-check");
    let write = |name: &str, columns: Vec<(&str, ArrayRef)>| {
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let file = std::fs::File::create(dir.join(name)).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    };
    let text = |v: Vec<&str>| Arc::new(StringArray::from(v)) as ArrayRef;
    write(
        "actors.parquet",
        vec![
            ("id", text(vec!["gov", "firm"])),
            ("kind", text(vec!["government", "startup"])),
            ("count", text(vec!["1", "many"])),
        ],
    );
    write(
        "when.parquet",
        vec![
            ("id", text(vec!["x"])),
            ("kind", text(vec!["startup"])),
            (
                "founded",
                Arc::new(TimestampSecondArray::from(vec![0])) as ArrayRef,
            ),
        ],
    );
    std::fs::write(
        dir.join("scenario.yaml"),
        "scenario: { id: p, horizon: { start: 2026, end: 2026 }, currency: KRW }\nactors:\n  - { table: actors.parquet }\n  - { table: when.parquet }\nflows:\n  - { from: gov, to: x, kind: funding, amount: 1 }\n",
    )
    .unwrap();
    let err = gil_model::load(&dir.join("scenario.yaml")).unwrap_err();
    let text = render_load_error(&err);
    let codes: Vec<&str> = err.diagnostics.iter().map(|d| d.code.as_str()).collect();
    // The bad cell at its row (the header is line 1) and column; the unreadable table
    // once, and no follow-on "unknown actor `x`" for the entity it held.
    assert_eq!(codes, ["table-format", "invalid-value"], "{text}");
    assert!(text.contains("actors.parquet:3:"), "{text}");
    assert!(
        text.contains("expected a number, found the string `many`"),
        "{text}"
    );
    assert!(
        text.contains("the column `founded` holds Timestamp"),
        "{text}"
    );
}
