//! Printing: colour choice, stdout that tolerates a closed pipe, atomic files, default
//! paths, and rendering of load and rule errors.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

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
    emit_with(out, &mut |w| w.write_all(text.as_bytes()))
}

/// Like [`emit`], for output written piece by piece (large documents are streamed).
pub fn emit_with(
    out: Option<&Path>,
    write: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    match out {
        None => {
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            write(&mut stdout)?;
            Ok(stdout.flush()?)
        }
        Some(path) => write_atomic_with(path, write),
    }
}

/// Nothing is left behind on failure: either the whole new file is in place or the old
/// one (if any) is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_atomic_with(path, &mut |w| w.write_all(bytes))
}

/// A temporary path beside `path` (in its folder, so renaming it into place is atomic),
/// named for this process: `.name.gil-tmp-<pid>`.
fn temporary_beside(path: &Path) -> PathBuf {
    let folder = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    folder.join(format!(".{name}.gil-tmp-{}", std::process::id()))
}

/// A file writer that fails once SIGINT or SIGTERM arrived, so an interrupted run
/// stops writing within one buffer and removes its temporary file.
struct StopOnSignal(std::fs::File);

impl Write for StopOnSignal {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if crate::signals::interrupted() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "interrupted",
            ));
        }
        self.0.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

fn write_atomic_with(
    path: &Path,
    write: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let tmp = temporary_beside(path);
    let stopped = || std::io::Error::new(std::io::ErrorKind::Interrupted, "interrupted");
    let result = (|| -> anyhow::Result<()> {
        write_file_in(&tmp, &mut |w| Ok(write(w)?))?;
        if crate::signals::interrupted() {
            return Err(stopped().into());
        }
        Ok(std::fs::rename(&tmp, path)?)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write `{}`", path.display()));
    }
    Ok(())
}

/// Writes a folder of files: `write` fills a temporary folder beside `dir`, which then
/// becomes `dir` in one rename when `dir` does not exist yet. When it exists, each new
/// file replaces its namesake by a rename (so no reader sees a half-written file, and
/// other files there are left alone), once every namesake is known to be a plain file.
/// A failure before that point — writing, an interruption, a namesake that is a folder —
/// removes the temporary folder and leaves `dir` as it was.
pub fn write_dir_atomic(
    dir: &Path,
    write: &mut dyn FnMut(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    use anyhow::Context;
    if dir.exists() && !dir.is_dir() {
        anyhow::bail!("`{}` is a file; --out names a folder here", dir.display());
    }
    let tmp = temporary_beside(dir);
    let result = (|| -> anyhow::Result<()> {
        // A folder left by a killed run with this process id is not ours to publish.
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir(&tmp)?;
        write(&tmp)?;
        if crate::signals::interrupted() {
            anyhow::bail!("interrupted");
        }
        if !dir.exists() {
            return Ok(std::fs::rename(&tmp, dir)?);
        }
        let mut names: Vec<_> = std::fs::read_dir(&tmp)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()?;
        names.sort();
        if let Some(folder) = names.iter().find(|n| dir.join(n).is_dir()) {
            anyhow::bail!(
                "`{}` is a folder; it would be replaced by a table",
                dir.join(folder).display()
            );
        }
        for file in names {
            std::fs::rename(tmp.join(&file), dir.join(&file))?;
        }
        Ok(std::fs::remove_dir(&tmp)?)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e).with_context(|| format!("cannot write `{}`", dir.display()));
    }
    Ok(())
}

/// A file written through a buffer that stops on SIGINT/SIGTERM, flushed and synced: the
/// temporary of [`write_atomic_with`], or a file in a folder being written by
/// [`write_dir_atomic`].
pub fn write_file_in(
    path: &Path,
    write: &mut dyn FnMut(&mut (dyn Write + Send)) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut file =
        std::io::BufWriter::with_capacity(1 << 16, StopOnSignal(std::fs::File::create(path)?));
    write(&mut file)?;
    let file = file.into_inner().map_err(|e| e.into_error())?;
    file.0.sync_all()?;
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

/// The scenario a command names, or the default one (`./scenario.yaml`, else the
/// bundled example).
pub fn scenario_path(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match given {
        Some(path) => Ok(path),
        None => crate::bundled::default_scenario()
            .map_err(|e| anyhow::anyhow!("cannot unpack the bundled example: {e}")),
    }
}

/// Lua's `print` from rules: one line each on stderr, never on stdout (an outcome).
pub fn print_sink() -> gil_rules::PrintSink {
    gil_rules::PrintSink(std::sync::Arc::new(|line: &str| {
        print_stderr(&format!("{line}\n"))
    }))
}

/// The default sandbox, with `print` going to stderr.
pub fn rule_sandbox() -> gil_rules::SandboxConfig {
    gil_rules::SandboxConfig {
        print: Some(print_sink()),
        ..gil_rules::SandboxConfig::default()
    }
}

/// A diagnostic with the hints only the command line can word: how to raise a sandbox
/// limit a rule ran into.
pub fn with_cli_hints(d: &gil_model::diag::Diagnostic) -> gil_model::diag::Diagnostic {
    use gil_model::code::Code;
    let hint = match d.code {
        Code::RuleDeadline => "raise it with --call-deadline SECONDS if the rule is merely slow",
        Code::RuleBudget => "raise it with --rule-budget SECONDS",
        Code::RuleMemory => "raise the limit with --lua-memory MIB",
        _ => return d.clone(),
    };
    let mut d = d.clone();
    d.help = Some(match d.help.take() {
        Some(help) => format!("{help}; {hint}"),
        None => hint.to_string(),
    });
    d
}

/// A rule that failed while the scenario ran, as the user reads it: a diagnostic at the
/// rule's line, with the year and entity, rendered like every other.
pub fn render_rule_failure(
    runtime: &gil_rules::RuleRuntime,
    err: &gil_rules::RuleError,
    color: bool,
) -> String {
    let files = runtime.files();
    with_cli_hints(&files.diagnose(err)).render(files.sources(), color)
}
