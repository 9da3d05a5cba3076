//! What a scenario argument means: a file; a folder, meaning its `scenario.yaml`; `-`,
//! the scenario on standard input (includes and rules then resolve from the working
//! directory); nothing, meaning `./scenario.yaml` or else the bundled example.

use std::io::Read;
use std::path::{Path, PathBuf};

use gil_model::{LoadError, Scenario};

/// The argument that means standard input.
pub const STDIN: &str = "-";

/// The scenario file an argument names.
pub fn scenario_file(given: &Path) -> PathBuf {
    if given.is_dir() {
        given.join("scenario.yaml")
    } else {
        given.to_path_buf()
    }
}

/// Loads the scenario an argument names.
pub fn load(given: &Path) -> Result<Scenario, LoadError> {
    if given.as_os_str() == STDIN {
        let mut text = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut text) {
            return Err(LoadError {
                sources: Default::default(),
                diagnostics: vec![gil_model::Diagnostic::error(
                    gil_model::code::Code::NotUtf8,
                    format!("cannot read the scenario from standard input: {e}"),
                )
                .file("<stdin>")],
            });
        }
        return gil_model::load_str("<stdin>", &text, Path::new("."));
    }
    gil_model::load(&scenario_file(given))
}
