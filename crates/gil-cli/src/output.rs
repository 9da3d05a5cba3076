//! Printing: colour choice, stdout that tolerates a closed pipe, atomic files, default
//! paths, and rendering of load and rule errors.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

pub use gil_report::diagnostic::render_rule_error;

use crate::ColorChoice;

#[derive(Debug, Clone, Copy)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Colour: `--color`, then `NO_COLOR`, then whether the stream is a terminal.
pub fn use_color(choice: ColorChoice, stream: Stream) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            let tty = match stream {
                Stream::Stdout => std::io::stdout().is_terminal(),
                Stream::Stderr => std::io::stderr().is_terminal(),
            };
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && tty
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

/// Writes to FILE atomically (a temporary file beside it, then a rename), or to stdout.
pub fn emit(text: &str, out: Option<&Path>) -> anyhow::Result<()> {
    match out {
        None => Ok(print_stdout(text)?),
        Some(path) => write_atomic(path, text.as_bytes()),
    }
}

/// Nothing is left behind on failure: either the whole new file is in place or the old
/// one (if any) is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.gil-tmp-{}", std::process::id()));
    let stopped = || std::io::Error::new(std::io::ErrorKind::Interrupted, "interrupted");
    let result = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        for chunk in bytes.chunks(1 << 20) {
            if crate::signals::interrupted() {
                return Err(stopped());
            }
            file.write_all(chunk)?;
        }
        file.sync_all()?;
        if crate::signals::interrupted() {
            return Err(stopped());
        }
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write `{}`", path.display()));
    }
    Ok(())
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
