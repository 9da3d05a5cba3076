//! Tidy checks, rust-analyzer style: the generated reference pages are up to date, the
//! libraries leave printing and `anyhow` to the CLI, and every diagnostic code and
//! command is documented.
//!
//! A generated page that is out of date fails with the difference; run
//! `GIL_UPDATE_DOCS=1 cargo test -p gil-tests --test tidy` to rewrite it, then review it.

#![allow(clippy::unwrap_used, clippy::panic)] // tests may fail loudly

use std::path::{Path, PathBuf};

use gil_tests::workspace_root;

/// Compares `path` with `generated`; rewrites it when `GIL_UPDATE_DOCS` is set.
pub fn ensure_up_to_date(path: &Path, generated: &str) {
    let current = std::fs::read_to_string(path).unwrap_or_default();
    if current == generated {
        return;
    }
    if std::env::var_os("GIL_UPDATE_DOCS").is_some() {
        std::fs::write(path, generated).unwrap();
        return;
    }
    let diff = similar_lines(&current, generated);
    panic!(
        "{} is out of date; run `GIL_UPDATE_DOCS=1 cargo test -p gil-tests --test tidy` and review it:\n{diff}",
        path.display()
    );
}

/// The lines only one of the two texts has, marked `-` (on disk) and `+` (generated).
fn similar_lines(old: &str, new: &str) -> String {
    let old_lines: Vec<&str> = old.lines().collect();
    let new_lines: Vec<&str> = new.lines().collect();
    let mut out = String::new();
    for l in old_lines.iter().filter(|l| !new_lines.contains(l)) {
        out.push_str(&format!("-{l}\n"));
    }
    for l in new_lines.iter().filter(|l| !old_lines.contains(l)) {
        out.push_str(&format!("+{l}\n"));
    }
    out
}

/// docs/diagnostics.md, from the codes themselves.
fn diagnostics_page() -> String {
    let mut page = String::from(
        "# Diagnostic codes\n\n\
         <!-- Generated from gil_model::code::Code by\n\
         tests/tidy.rs; do not edit by hand. -->\n\n\
         Every error gil reports about its input carries one of these codes: in the\n\
         terminal as `error[code]`, in `gil check --format json` as `\"code\"`. Codes are\n\
         stable; a check or an editor may match on them. Every such error exits with 2.\n\n\
         ## Scenario, reform and test files\n\n\
         | code | meaning |\n|---|---|\n",
    );
    let codes = gil_model::code::Code::ALL;
    for code in codes.iter().filter(|c| !c.is_rule()) {
        page.push_str(&format!("| `{}` | {} |\n", code.as_str(), code.meaning()));
    }
    page.push_str("\n## Rules\n\n| code | meaning |\n|---|---|\n");
    for code in codes.iter().filter(|c| c.is_rule()) {
        page.push_str(&format!("| `{}` | {} |\n", code.as_str(), code.meaning()));
    }
    // Every kind of rule error has its code in the list.
    for kind in gil_rules::RuleErrorKind::ALL {
        assert!(
            codes.contains(&kind.code()),
            "{kind:?} has no documented code"
        );
    }
    page
}

#[test]
fn the_diagnostic_code_page_is_generated_from_the_codes() {
    ensure_up_to_date(
        &workspace_root().join("docs/diagnostics.md"),
        &diagnostics_page(),
    );
}

/// docs/outcome.schema.json: the JSON Schema of `gil run --format json`, from the types.
fn outcome_schema() -> String {
    // What gil writes (serialization): a field skipped when empty is not required.
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let schema = generator.into_root_schema_for::<gil_engine::Outcome>();
    serde_json::to_string_pretty(&schema).unwrap() + "\n"
}

#[test]
fn the_outcome_schema_is_generated_from_the_types() {
    ensure_up_to_date(
        &workspace_root().join("docs/outcome.schema.json"),
        &outcome_schema(),
    );
}

#[test]
fn every_example_outcome_validates_against_the_schema() {
    // The oracle is Python's `jsonschema`, not the crate that wrote the schema.
    let probe = std::process::Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        gil_tests::missing_tool(
            "validating outcomes needs python3 with jsonschema (pip install jsonschema)",
        );
        return;
    }
    let dir = gil_tests::Scratch::new("gil-schema");
    let schema = dir.join("outcome.schema.json");
    std::fs::write(&schema, outcome_schema()).unwrap();
    let validate = |outcome: &Path| {
        std::process::Command::new("python3")
            .args([
                "-c",
                "import json, sys, jsonschema\n\
                 schema = json.load(open(sys.argv[1]))\n\
                 jsonschema.Draft202012Validator.check_schema(schema)\n\
                 jsonschema.validate(json.load(open(sys.argv[2])), schema, cls=jsonschema.Draft202012Validator)",
            ])
            .arg(&schema)
            .arg(outcome)
            .output()
            .unwrap()
    };
    for example in gil_tests::EXAMPLES {
        let path = workspace_root()
            .join("examples")
            .join(example)
            .join("scenario.yaml");
        let e = gil_tests::evaluate(&path, &[]).unwrap();
        let outcome = dir.join(format!("{example}.json"));
        let mut json = serde_json::to_value(&e.outcome).unwrap();
        std::fs::write(&outcome, json.to_string()).unwrap();
        let out = validate(&outcome);
        assert!(
            out.status.success(),
            "{example}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The schema can fail: a year that is not a number does not validate.
        json["steps"][0]["year"] = serde_json::json!("2026");
        std::fs::write(&outcome, json.to_string()).unwrap();
        assert!(
            !validate(&outcome).status.success(),
            "{example}: the schema accepts anything"
        );
    }
}

/// Rust files below `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn only_the_cli_prints_or_uses_anyhow() {
    let mut offenders = Vec::new();
    for library in ["gil-model", "gil-rules", "gil-engine", "gil-report"] {
        let crate_dir = workspace_root().join("crates").join(library);
        let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
        if manifest
            .lines()
            .any(|l| l.trim_start().starts_with("anyhow"))
        {
            offenders.push(format!("{library}/Cargo.toml depends on anyhow"));
        }
        let mut files = Vec::new();
        rust_files(&crate_dir.join("src"), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for needle in [
                    "println!",
                    "eprintln!",
                    "print!(",
                    "eprint!(",
                    "io::stdout",
                    "io::stderr",
                    "anyhow",
                ] {
                    if code.contains(needle) {
                        offenders.push(format!("{}:{}: {needle}", file.display(), n + 1));
                    }
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "libraries return values; only gil-cli prints:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn every_diagnostic_code_written_in_the_sources_is_a_code() {
    // Codes are the `Code` enum: a kebab-case literal where a diagnostic is built is a
    // code that escaped the list (and the documentation).
    let mut files = Vec::new();
    rust_files(&workspace_root().join("crates"), &mut files);
    let mut offenders = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for needle in ["Diagnostic::error(\"", "code: \""] {
            if let Some(at) = text.find(needle) {
                let line = text[..at].lines().count();
                offenders.push(format!("{}:{line}", file.display()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "string codes:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn every_command_is_in_the_readme_and_the_cli_reference() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let cli = std::fs::read_to_string(workspace_root().join("docs/cli.md")).unwrap();
    let grammar =
        std::fs::read_to_string(workspace_root().join("crates/gil-cli/src/args.rs")).unwrap();
    // The subcommands as clap names them: kebab-case variants of `enum Command`.
    let body = grammar.split("enum Command {").nth(1).unwrap();
    let body = body.split("\n}\n").next().unwrap();
    let mut missing = Vec::new();
    for line in body.lines() {
        let trimmed = line.trim();
        let is_variant = line.starts_with("    ")
            && !line.starts_with("     ")
            && trimmed
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_uppercase());
        if !is_variant {
            continue;
        }
        let name: String = trimmed
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let mut command = String::new();
        for (i, c) in name.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                command.push('-');
            }
            command.push(c.to_ascii_lowercase());
        }
        if !readme.contains(&format!("`gil {command}")) {
            missing.push(format!("README.md: `gil {command}`"));
        }
        if !cli.contains(&format!("## `gil {command}")) {
            missing.push(format!("docs/cli.md: `gil {command}`"));
        }
    }
    assert!(!missing.is_empty() || !body.is_empty());
    assert!(
        missing.is_empty(),
        "undocumented commands:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_example_folder_is_in_the_examples_list() {
    let mut found: Vec<String> = std::fs::read_dir(workspace_root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().join("scenario.yaml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    assert_eq!(
        found,
        gil_tests::EXAMPLES,
        "tests/lib.rs EXAMPLES lists the folders of examples/ with a scenario.yaml"
    );
}
