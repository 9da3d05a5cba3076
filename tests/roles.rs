//! Role checks: one fixture per check under `fixtures/roles/`, each with a project that
//! passes (`ok`) and one that does not (`bad`); and the markdown of the bundled
//! examples as snapshots.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use std::path::{Path, PathBuf};

use gil_engine::outcome::Status;
use gil_tests::{evaluate, workspace_root};

fn status(fixture: &str, rules: &[&str], project: &str, check: &str) -> Status {
    let extra: Vec<PathBuf> = rules
        .iter()
        .map(|r| PathBuf::from(format!("fixtures/roles/{r}")))
        .collect();
    let e = evaluate(Path::new(&format!("fixtures/roles/{fixture}.yaml")), &extra).unwrap();
    let p = e
        .outcome
        .roles
        .iter()
        .find(|p| p.project == project)
        .unwrap();
    p.checks
        .iter()
        .find(|c| c.id == check)
        .unwrap_or_else(|| panic!("{fixture}: no check {check}"))
        .status
}

#[test]
fn each_check_passes_and_fails() {
    let cases: &[(&str, &[&str], &str, &str, Status)] = &[
        (
            "what_single_owner",
            &["single_owner.lua"],
            "what.single_owner",
            "ok",
            Status::Pass,
        ),
        (
            "what_single_owner",
            &["single_owner.lua"],
            "what.single_owner",
            "bad",
            Status::Fail,
        ),
        (
            "what_public_owner",
            &[],
            "what.public_owner",
            "ok",
            Status::Pass,
        ),
        (
            "what_public_owner",
            &[],
            "what.public_owner",
            "bad",
            Status::Fail,
        ),
        (
            "what_public_owner",
            &[],
            "what.public_owner",
            "excused",
            Status::Pass,
        ),
        ("how_present", &[], "how.present", "ok", Status::Pass),
        ("how_present", &[], "how.present", "bad", Status::Fail),
        ("how_private", &[], "how.private", "ok", Status::Pass),
        ("how_private", &[], "how.private", "bad", Status::Warn),
        ("how_private", &[], "how.private", "excused", Status::Pass),
        ("why_shared", &[], "why.shared", "ok", Status::Pass),
        ("why_shared", &[], "why.shared", "bad", Status::Fail),
        (
            "how_no_paper_roles",
            &[],
            "how.no_paper_roles",
            "ok",
            Status::Pass,
        ),
        (
            "how_no_paper_roles",
            &[],
            "how.no_paper_roles",
            "bad",
            Status::Fail,
        ),
        (
            "roles_what_not_how",
            &[],
            "roles.what_not_how",
            "ok",
            Status::Pass,
        ),
        (
            "roles_what_not_how",
            &[],
            "roles.what_not_how",
            "bad",
            Status::Fail,
        ),
        ("targets_met", &[], "targets.met", "ok", Status::Pass),
        ("targets_met", &[], "targets.met", "bad", Status::Fail),
        (
            "rule_check",
            &["rule_check.lua"],
            "budget.too_small",
            "ok",
            Status::Pass,
        ),
        (
            "rule_check",
            &["rule_check.lua"],
            "budget.too_small",
            "bad",
            Status::Fail,
        ),
    ];
    for (fixture, rules, check, project, expected) in cases {
        assert_eq!(
            status(fixture, rules, project, check),
            *expected,
            "{fixture}: {project} {check}"
        );
    }
    // Every built-in check has a fixture.
    for id in gil_engine::roles::CheckId::ALL {
        let id = id.as_str();
        assert!(cases.iter().any(|c| c.2 == id), "no fixture for {id}");
    }
}

#[test]
fn rule_roles_are_merged_with_provenance() {
    let e = evaluate(
        Path::new("fixtures/roles/what_single_owner.yaml"),
        &[PathBuf::from("fixtures/roles/single_owner.lua")],
    )
    .unwrap();
    let bad = e.outcome.roles.iter().find(|p| p.project == "bad").unwrap();
    let agency = bad
        .participants
        .iter()
        .find(|p| p.actor == "agency")
        .unwrap();
    assert_eq!(agency.roles, [gil_rules::Role::What]);
    assert_eq!(
        agency.from,
        ["rule roles.second_owner at single_owner.lua:5"]
    );
    assert_eq!(agency.contributions, ["also claims the goal"]);
}

#[test]
fn every_example_roles_markdown_matches_its_snapshot() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots/roles");
    settings.set_prepend_module_to_snapshot(false);
    let _guard = settings.bind_to_scope();
    for example in gil_tests::EXAMPLES {
        let e = evaluate(
            &workspace_root()
                .join("examples")
                .join(example)
                .join("scenario.yaml"),
            &[],
        )
        .unwrap();
        let md = gil_report::text::roles_text(
            &e.outcome.roles,
            &e.outcome.scenario.currency,
            true,
            false,
        );
        insta::assert_snapshot!(example, md);
    }
}
