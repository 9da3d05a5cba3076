//! Orphaned snapshots fail: every `.snap` file must belong to a fixture or example that
//! still exists (what `cargo insta test --unreferenced reject` does, without the tool).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use std::path::Path;

use gil_tests::workspace_root;

fn snap_names(dir: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".snap"))
        .collect();
    names.sort();
    names
}

#[test]
fn no_snapshot_is_orphaned_and_none_is_pending() {
    let mut orphans = Vec::new();
    for name in snap_names("snapshots/check") {
        let fixture = name
            .trim_start_matches("diagnostic@")
            .trim_end_matches(".snap");
        if !Path::new("fixtures/check").join(fixture).exists() {
            orphans.push(format!("snapshots/check/{name}"));
        }
    }
    for name in snap_names("snapshots/rules") {
        let stem = name.trim_end_matches(".snap");
        let hostile = Path::new("fixtures/rules/hostile");
        if !hostile.join(format!("{stem}.lua")).exists() && !hostile.join(stem).is_dir() {
            orphans.push(format!("snapshots/rules/{name}"));
        }
    }
    for name in snap_names("snapshots/roles")
        .into_iter()
        .chain(snap_names("snapshots/outcome"))
    {
        let stem = name.trim_end_matches(".snap");
        if !workspace_root()
            .join("examples")
            .join(stem)
            .join("scenario.yaml")
            .exists()
        {
            orphans.push(format!("snapshots/outcome|roles/{name}"));
        }
    }
    // Every folder below snapshots/, however deep: a new one is never missed.
    let mut dirs = vec![std::path::PathBuf::from("snapshots")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                dirs.push(path);
            } else if name.ends_with(".snap.new") || name.ends_with(".pending-snap") {
                orphans.push(format!(
                    "{} (pending: review with `cargo insta review`)",
                    path.display()
                ));
            }
        }
    }
    assert!(
        orphans.is_empty(),
        "orphaned or pending snapshots:\n{}",
        orphans.join("\n")
    );
}
