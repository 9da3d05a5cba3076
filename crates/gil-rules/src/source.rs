//! Finding rule files: files and folders named in `scenario.rules` or `--rules`.

use std::path::{Path, PathBuf};

use gil_model::diag::Diagnostic;
use gil_model::{FileId, LoadError, SourceMap};

use crate::error::{RuleError, RuleErrorKind};

/// One rule file's text and the name users know it by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSource {
    /// The path as the user wrote it (a folder entry gets the file appended), used as
    /// the chunk name so Lua errors read `rules/x.lua:12: …`.
    pub display: String,
    pub path: PathBuf,
    pub text: String,
    /// A module other files `require`, not a rule: it is run by `require`, not loaded
    /// as a rule.
    pub module: bool,
    /// The modules this file requires: each path as written in its `require` call, and
    /// the `display` of the module it resolves to (`modules.rs`).
    pub requires: std::collections::BTreeMap<String, String>,
}

/// The rule files of a run as one source map, so rule errors render and serialize as
/// the scenario's diagnostics do. Files are shown by their path from the working
/// directory (clickable in a terminal) and found by the name rules go by in documents.
#[derive(Debug, Clone, Default)]
pub struct RuleFiles {
    sources: SourceMap,
    by_name: std::collections::BTreeMap<String, FileId>,
}

impl RuleFiles {
    pub fn new(rules: &[RuleSource]) -> Self {
        let mut files = RuleFiles::default();
        for rule in rules {
            let shown = gil_model::load::normalize(&rule.path)
                .to_string_lossy()
                .replace('\\', "/");
            let id = files
                .sources
                .add(shown, rule.path.clone(), rule.text.clone());
            files.by_name.insert(rule.display.clone(), id);
        }
        files
    }

    pub fn sources(&self) -> &SourceMap {
        &self.sources
    }

    /// A rule error as a diagnostic at its rule file's line.
    pub fn diagnose(&self, err: &RuleError) -> Diagnostic {
        err.to_diagnostic(&self.sources, self.by_name.get(&err.file).copied())
    }

    /// Rule errors found while loading, as one load failure.
    pub fn load_error(&self, errors: &[RuleError]) -> LoadError {
        LoadError {
            sources: self.sources.clone(),
            diagnostics: errors.iter().map(|e| self.diagnose(e)).collect(),
        }
    }
}

/// Reads the rule files an entry names: a `.lua` file, or every `.lua` file below a
/// folder (sorted by path, so the order is the same everywhere).
///
/// `written` is the entry as the user wrote it; `resolved` is where it is on disk.
pub fn read_entry(written: &str, resolved: &Path) -> Result<Vec<RuleSource>, RuleError> {
    let io = |e: std::io::Error, path: &Path| {
        let what = if e.kind() == std::io::ErrorKind::NotFound {
            "no such file or folder".to_string()
        } else {
            e.to_string()
        };
        RuleError::new(
            RuleErrorKind::Io,
            written,
            None,
            format!("cannot read rules at `{}`: {what}", path.display()),
        )
    };
    let meta = std::fs::metadata(resolved).map_err(|e| io(e, resolved))?;
    if meta.is_file() {
        let text = read_text(written, resolved)?;
        return Ok(vec![RuleSource {
            display: written.to_string(),
            path: resolved.to_path_buf(),
            text,
            ..RuleSource::default()
        }]);
    }
    let mut files = Vec::new();
    find_files(resolved, ".lua", &[], &mut files).map_err(|e| io(e, resolved))?;
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(resolved).unwrap_or(&path);
            let display = Path::new(written)
                .join(relative)
                .to_string_lossy()
                .replace('\\', "/");
            let text = read_text(&display, &path)?;
            Ok(RuleSource {
                display,
                path,
                text,
                ..RuleSource::default()
            })
        })
        .collect()
}

pub(crate) fn read_text(display: &str, path: &Path) -> Result<String, RuleError> {
    let bytes = std::fs::read(path).map_err(|e| {
        RuleError::new(
            RuleErrorKind::Io,
            display,
            None,
            format!("cannot read the rule file: {e}"),
        )
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        RuleError::new(
            RuleErrorKind::Io,
            display,
            Some(line as u32),
            "the rule file is not valid UTF-8",
        )
    })
}

/// Files below `dir` whose names end with `suffix`, recursively, skipping hidden entries
/// and folders named in `skip_dirs`; unsorted.
pub fn find_files(
    dir: &Path,
    suffix: &str,
    skip_dirs: &[&str],
    out: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            if !skip_dirs.contains(&name.as_str()) {
                find_files(&path, suffix, skip_dirs, out)?;
            }
        } else if name.ends_with(suffix) {
            out.push(path);
        }
    }
    Ok(())
}
