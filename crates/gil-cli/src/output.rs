//! Printing: colour choice, stdout that tolerates a closed pipe, default paths.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::ColorChoice;

/// Colour for human output on stderr: `--color`, then `NO_COLOR`, then whether it is a tty.
pub fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
        }
    }
}

pub fn print_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

pub fn print_stderr(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// A closed stdout (`gil … | head`) is not an error.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The bundled example, found from the working directory or from the source tree.
pub const DEFAULT_SCENARIO: &str = "examples/korea-2030/scenario.yaml";

pub fn scenario_path(given: Option<PathBuf>) -> PathBuf {
    if let Some(path) = given {
        return path;
    }
    let local = Path::new(DEFAULT_SCENARIO);
    if local.exists() {
        return local.to_path_buf();
    }
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(DEFAULT_SCENARIO);
    if bundled.exists() {
        return gil_model::load::normalize(&bundled);
    }
    local.to_path_buf()
}
