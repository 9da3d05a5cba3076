//! Helpers shared by the integration tests: where the workspace is, and how a
//! diagnostic is shown to a user.

use std::path::{Path, PathBuf};

/// The workspace root (the folder holding `examples/` and `rules/`).
///
/// Relative (tests run in this crate's folder), so paths that end up in snapshots are
/// the same in every checkout.
pub fn workspace_root() -> PathBuf {
    PathBuf::from("..")
}

/// Every bundled example, by folder under `examples/` (a tidy test keeps this list and
/// the folder the same), so each one is snapshotted, validated and reported.
pub const EXAMPLES: [&str; 4] = [
    "korea-2026-allocation",
    "korea-2030",
    "minimal",
    "stargate-2025",
];

/// Every diagnostic of a failed load, rendered without colour as a user sees it.
pub fn render_load_error(err: &gil_model::LoadError) -> String {
    err.render(false)
}

/// Limits short enough that hostile fixtures stop quickly in tests.
pub fn test_sandbox() -> gil_rules::SandboxConfig {
    gil_rules::SandboxConfig {
        call_deadline: std::time::Duration::from_millis(300),
        memory_limit: 64 * 1024 * 1024,
        ..gil_rules::SandboxConfig::default()
    }
}

/// Loads a scenario, its rules plus `extra`, and evaluates it; any failure is rendered
/// as the user would see it.
pub fn evaluate(scenario: &Path, extra: &[PathBuf]) -> Result<gil_engine::Evaluation, String> {
    evaluate_with(scenario, extra, &gil_engine::Options::default())
}

/// [`evaluate`] with `options` (`Options::explain` for a test that reads the trace's
/// effects and metric contributions).
pub fn evaluate_with(
    scenario: &Path,
    extra: &[PathBuf],
    options: &gil_engine::Options,
) -> Result<gil_engine::Evaluation, String> {
    let s = gil_model::load(scenario).map_err(|e| render_load_error(&e))?;
    let rules =
        gil_engine::load_rules(&s, extra, test_sandbox()).map_err(|e| render_load_error(&e))?;
    gil_engine::evaluate(&s, &rules, options).map_err(|e| match e {
        gil_engine::EngineError::Rule(r) => {
            let files = rules.files();
            files.diagnose(&r).render(files.sources(), false)
        }
        other => other.to_string(),
    })
}

/// A tool a test needs is missing. Outside CI the test says so and skips the part that
/// needs it; under `CI=true` (as `.ci/run` sets) the test fails, since CI installs every
/// tool and a skip there would hide a check that never ran.
#[allow(clippy::panic)]
pub fn missing_tool(what: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    if ci {
        panic!("{what}, and CI=true: CI must install it, so this is a failure, not a skip");
    }
    eprintln!("skipped: {what}");
}

/// A fixture path as the tests crate's folder sees it (insta's `glob!` gives absolute
/// paths): rendered paths in snapshots are then the same in every checkout.
pub fn relative_to_crate(path: &Path) -> &Path {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path)
}

/// A scratch folder under the system's temporary folder, empty when made and removed
/// when dropped — also when the test fails — so test runs leave nothing behind.
/// `name` and the process id keep concurrent tests and runs apart.
pub struct Scratch(std::path::PathBuf);

impl Scratch {
    #[allow(clippy::panic)] // a test that cannot make its folder fails loudly
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot make {}: {e}", dir.display()));
        Scratch(dir)
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
