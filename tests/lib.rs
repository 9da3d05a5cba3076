//! Helpers shared by the integration tests: where the workspace is, and how a
//! diagnostic is shown to a user.

use std::path::{Path, PathBuf};

/// The workspace root (the folder holding `examples/` and `rules/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every diagnostic of a failed load, rendered without colour as a user sees it.
pub fn render_load_error(err: &gil_model::LoadError) -> String {
    err.diagnostics
        .iter()
        .map(|d| d.render(&err.sources, false))
        .collect()
}
