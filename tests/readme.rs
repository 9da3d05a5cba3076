//! The examples in `rules/README.md` are tested: every Lua block runs against the
//! page's scenario, its `-- expect NAME = VALUE in YEAR` lines are checked, and the
//! test-file example parses.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use std::path::PathBuf;

use gil_tests::{evaluate, workspace_root};

/// Fenced blocks of the page: (language, text).
fn blocks(markdown: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in markdown.lines() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(lang)) => current = Some((lang.trim().to_string(), String::new())),
            (Some(_), Some(_)) => out.push(current.take().unwrap()),
            (Some((_, text)), None) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

fn rule_id(lua: &str) -> String {
    let line = lua
        .lines()
        .find(|l| l.trim_start().starts_with("id = "))
        .expect("an id line");
    line.split('"').nth(1).unwrap().to_string()
}

#[test]
fn rules_readme_examples_run_and_give_what_they_say() {
    let page = std::fs::read_to_string(workspace_root().join("rules/README.md")).unwrap();
    let blocks = blocks(&page);
    let dir = gil_tests::Scratch::new("gil-readme");
    let scenario = dir.join("scenario.yaml");
    let (_, scenario_text) = blocks.iter().find(|(lang, _)| lang == "yaml").unwrap();
    std::fs::write(&scenario, scenario_text).unwrap();

    // A block starting `-- file: PATH` is a module the other blocks require: it is
    // written there, not run.
    for (_, text) in blocks.iter().filter(|(l, _)| l == "lua") {
        if let Some(path) = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("-- file: "))
        {
            let path = dir.join(path.trim());
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }
    let lua_blocks: Vec<&String> = blocks
        .iter()
        .filter(|(l, t)| l == "lua" && !t.starts_with("-- file: "))
        .map(|(_, t)| t)
        .collect();
    assert!(lua_blocks.len() >= 5, "the page lost its examples");
    let mut files = std::collections::BTreeMap::new();
    for (i, lua) in lua_blocks.iter().enumerate() {
        let path = dir.join(format!("example_{i}.lua"));
        std::fs::write(&path, lua).unwrap();
        files.insert(rule_id(lua), path);
    }
    let mut checked = 0;
    for lua in &lua_blocks {
        let mut rules: Vec<PathBuf> = vec![files[&rule_id(lua)].clone()];
        for line in lua.lines() {
            if let Some(with) = line.strip_prefix("-- with: ") {
                rules.push(files[with.trim()].clone());
            }
        }
        let e =
            evaluate(&scenario, &rules).unwrap_or_else(|err| panic!("{}:\n{err}", rule_id(lua)));
        for line in lua.lines().filter_map(|l| l.strip_prefix("-- expect ")) {
            // `NAME = VALUE in YEAR   (comment)`
            let (name, rest) = line.split_once(" = ").unwrap();
            let mut words = rest.split_whitespace();
            let value: f64 = words.next().unwrap().parse().unwrap();
            assert_eq!(words.next(), Some("in"));
            let year: i32 = words.next().unwrap().parse().unwrap();
            let step = e.outcome.steps.iter().find(|s| s.year == year).unwrap();
            let got = step.metrics.get(name.trim()).copied().unwrap_or(0.0);
            assert!(
                (got - value).abs() <= 1e-9 * value.abs().max(1.0),
                "{}: {name} in {year} is {got}, the page says {value}",
                rule_id(lua)
            );
            checked += 1;
        }
    }
    assert!(checked >= 8, "too few checked expectations: {checked}");

    // The test-file example has the format `gil test` reads.
    let (_, test_text) = blocks.iter().filter(|(l, _)| l == "yaml").nth(1).unwrap();
    let test_dir = dir.join("rules/voucher");
    std::fs::create_dir_all(&test_dir).unwrap();
    std::fs::write(test_dir.join("compute_voucher.test.yaml"), test_text).unwrap();
    let suite = gil_testing::load_suite(&test_dir.join("compute_voucher.test.yaml"))
        .unwrap_or_else(|e| panic!("{}", gil_tests::render_load_error(&e)));
    assert_eq!(suite.cases.len(), 1);
}
