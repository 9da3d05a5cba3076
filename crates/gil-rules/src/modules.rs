//! Finding rule modules before anything runs: every `require("…")` in the rule files
//! (and in the modules they reach) is read from the source text, resolved the way Luau
//! resolves require-by-string paths, and the module files are read into the run's
//! sources. The runtime then never touches the disk: `require` looks the path up in
//! the table made here (`RuleSource::requires`).
//!
//! Paths: `./x` and `../x` are relative to the requiring file, `@alias/x` goes through
//! the `aliases` of the nearest `.luaurc` (searched from the requiring file's folder up
//! to the project folder), `@self/x` is the requiring file's folder. A path names a
//! file without its extension: `x.luau`, `x.lua`, `x/init.luau` or `x/init.lua`.
//! Every problem is an error at the `require` call: an absolute path, a path leaving
//! the project folder, no such module, an unknown alias, a path that is not a string
//! literal, and modules that require each other in a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::error::{RuleError, RuleErrorKind};
use crate::source::{read_text, RuleSource};

/// One `require` found in a file's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequireCall {
    /// The path as written, or `None` when the argument is not a string literal.
    pub(crate) path: Option<String>,
    pub(crate) line: u32,
}

/// Where the rule files of a run may reach: the project folder, and how a path on disk
/// is shown (relative to the scenario's folder, as rule files are).
pub struct Project<'a> {
    pub root: &'a Path,
    pub display: &'a dyn Fn(&Path) -> String,
}

/// Reads the modules `sources` require (transitively), marks required files as
/// modules and fills every source's `requires`. Rule files a rule requires become
/// modules: they are not run as rules. Returns every problem at once (`files` then
/// holds every file read, for the errors' source lines).
pub fn gather(files: &mut Vec<RuleSource>, project: &Project<'_>) -> Result<(), Vec<RuleError>> {
    let root = absolute(project.root);
    let mut by_path: BTreeMap<PathBuf, usize> = files
        .iter()
        .enumerate()
        .map(|(i, s)| (absolute(&s.path), i))
        .collect();
    let mut errors = Vec::new();
    let mut required: BTreeSet<usize> = BTreeSet::new();
    // Edges for the cycle check: (requiring file, line, required file).
    let mut edges: Vec<(usize, u32, usize)> = Vec::new();
    let mut next = 0;
    while next < files.len() {
        let current = next;
        next += 1;
        let calls = require_calls(&files[current].text);
        let from = absolute(&files[current].path);
        let mut requires = BTreeMap::new();
        for call in calls {
            let at = |message: String| {
                RuleError::new(
                    RuleErrorKind::Module,
                    files[current].display.clone(),
                    Some(call.line),
                    message,
                )
            };
            let Some(path) = call.path.clone() else {
                errors.push(
                    at("`require` takes the module's path as a string literal".into()).help(
                        "gil finds modules when it loads the rules, so write `require(\"./tags\")`",
                    ),
                );
                continue;
            };
            let target = match resolve(&path, &from, &root, project) {
                Ok(target) => target,
                Err(problem) => {
                    let mut e = at(problem.message);
                    if let Some(help) = problem.help {
                        e = e.help(help);
                    }
                    errors.push(e);
                    continue;
                }
            };
            let index = match by_path.get(&target) {
                Some(&i) => i,
                None => {
                    let display = (project.display)(&target);
                    let text = match read_text(&display, &target) {
                        Ok(text) => text,
                        Err(e) => {
                            errors.push(e);
                            continue;
                        }
                    };
                    // Shown as the requiring file is: relative to the working folder when
                    // it is relative.
                    let path = if files[current].path.is_relative() {
                        PathBuf::from(gil_model::load::relative_to(Path::new("."), &target))
                    } else {
                        target.clone()
                    };
                    files.push(RuleSource {
                        display,
                        path,
                        text,
                        module: true,
                        requires: BTreeMap::new(),
                    });
                    by_path.insert(target, files.len() - 1);
                    files.len() - 1
                }
            };
            required.insert(index);
            edges.push((current, call.line, index));
            requires.insert(path, files[index].display.clone());
        }
        files[current].requires = requires;
    }
    for &i in &required {
        files[i].module = true;
    }
    if let Some(cycle) = find_cycle(files, &edges) {
        errors.push(cycle);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Why a path does not resolve, and what to do.
struct Unresolved {
    message: String,
    help: Option<String>,
}

fn unresolved(message: String, help: Option<&str>) -> Unresolved {
    Unresolved {
        message,
        help: help.map(str::to_string),
    }
}

/// The module file `path` names, required from the file at `from`.
fn resolve(
    path: &str,
    from: &Path,
    root: &Path,
    project: &Project<'_>,
) -> Result<PathBuf, Unresolved> {
    let folder = from.parent().unwrap_or(root);
    let shown = |p: &Path| (project.display)(p);
    let (base, rest) = if path.starts_with('/')
        || path.starts_with('\\')
        || path.as_bytes().get(1) == Some(&b':')
    {
        return Err(unresolved(
            format!("`{path}` is an absolute path; a module is required by a relative path"),
            Some("write `./name` or `../folder/name` from the requiring file, or `@alias/name`"),
        ));
    } else if path.starts_with("./") || path.starts_with("../") {
        (folder.to_path_buf(), path)
    } else if let Some(aliased) = path.strip_prefix('@') {
        let (alias, rest) = aliased.split_once('/').unwrap_or((aliased, ""));
        let base = if alias.eq_ignore_ascii_case("self") {
            folder.to_path_buf()
        } else {
            alias_folder(alias, folder, root, &shown)?
        };
        (base, rest)
    } else {
        return Err(unresolved(
            format!("`{path}` does not start with `./`, `../` or `@`"),
            Some("Luau requires by relative path: `require(\"./tags\")`, `require(\"../lib/tags\")` or `require(\"@lib/tags\")`"),
        ));
    };
    if [".lua", ".luau"].iter().any(|ext| rest.ends_with(ext)) {
        return Err(unresolved(
            format!("`{path}` names the file with its extension"),
            Some("leave the extension out, as Luau does: `require(\"./tags\")` finds tags.luau or tags.lua"),
        ));
    }
    let target = gil_model::load::normalize(&base.join(rest));
    if !target.starts_with(root) {
        return Err(unresolved(
            format!("`{path}` leads out of the project folder"),
            Some("the project folder is the one holding the scenario and its rule entries; modules live inside it"),
        ));
    }
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let candidates = [
        target.with_file_name(format!("{name}.luau")),
        target.with_file_name(format!("{name}.lua")),
        target.join("init.luau"),
        target.join("init.lua"),
    ];
    let found = candidates.iter().find(|c| c.is_file()).cloned();
    // A link inside the project may point outside it.
    if let Some(file) = &found {
        let real = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        if !real(file).starts_with(real(root)) {
            return Err(unresolved(
                format!("`{path}` is a link that leads out of the project folder"),
                Some("the project folder is the one holding the scenario and its rule entries; modules live inside it"),
            ));
        }
    }
    found.ok_or_else(|| {
        unresolved(
            format!(
                "no module `{path}`: none of {} exists",
                candidates
                    .iter()
                    .map(|c| format!("`{}`", shown(c)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None,
        )
    })
}

/// The folder an `@alias` stands for: the nearest `.luaurc` defining it, from `folder`
/// up to the project folder. Alias names are case-insensitive, as in Luau.
fn alias_folder(
    alias: &str,
    folder: &Path,
    root: &Path,
    shown: &dyn Fn(&Path) -> String,
) -> Result<PathBuf, Unresolved> {
    let mut dir = Some(folder);
    while let Some(d) = dir {
        let config = d.join(".luaurc");
        if config.is_file() {
            let text = std::fs::read_to_string(&config)
                .map_err(|e| unresolved(format!("cannot read `{}`: {e}", shown(&config)), None))?;
            let parsed: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                unresolved(
                    format!(
                        "`{}` is not valid JSON at line {}, column {}: {e}",
                        shown(&config),
                        e.line(),
                        e.column()
                    ),
                    None,
                )
            })?;
            let found = parsed
                .get("aliases")
                .and_then(|a| a.as_object())
                .and_then(|aliases| {
                    aliases
                        .iter()
                        .find(|(name, _)| name.eq_ignore_ascii_case(alias))
                        .map(|(_, v)| v)
                });
            if let Some(value) = found {
                let Some(target) = value.as_str() else {
                    return Err(unresolved(
                        format!(
                            "the alias `{alias}` in `{}` is not a path string",
                            shown(&config)
                        ),
                        None,
                    ));
                };
                return Ok(gil_model::load::normalize(&d.join(target)));
            }
        }
        if d == root {
            break;
        }
        dir = d.parent().filter(|p| p.starts_with(root));
    }
    Err(unresolved(
        format!("no `.luaurc` between the requiring file and the project folder defines the alias `@{alias}`"),
        Some("add `{ \"aliases\": { \"lib\": \"rules/lib\" } }` to a `.luaurc` in the project folder"),
    ))
}

/// A cycle among the requires, as an error at the call that closes it.
fn find_cycle(files: &[RuleSource], edges: &[(usize, u32, usize)]) -> Option<RuleError> {
    let mut out: BTreeMap<usize, Vec<(u32, usize)>> = BTreeMap::new();
    for &(from, line, to) in edges {
        out.entry(from).or_default().push((line, to));
    }
    // 0: not seen, 1: on the current path, 2: done.
    let mut state = vec![0u8; files.len()];
    let mut path: Vec<usize> = Vec::new();
    fn visit(
        node: usize,
        out: &BTreeMap<usize, Vec<(u32, usize)>>,
        state: &mut [u8],
        path: &mut Vec<usize>,
        files: &[RuleSource],
    ) -> Option<RuleError> {
        state[node] = 1;
        path.push(node);
        for &(line, to) in out.get(&node).into_iter().flatten() {
            if state[to] == 1 {
                let start = path.iter().position(|&n| n == to).unwrap_or(0);
                let names: Vec<&str> = path[start..]
                    .iter()
                    .chain(std::iter::once(&to))
                    .map(|&n| files[n].display.as_str())
                    .collect();
                return Some(
                    RuleError::new(
                        RuleErrorKind::Module,
                        files[node].display.clone(),
                        Some(line),
                        format!(
                            "modules require each other in a cycle: {}",
                            names.join(" → ")
                        ),
                    )
                    .help("move what both need into a third module that requires neither"),
                );
            }
            if state[to] == 0 {
                if let Some(e) = visit(to, out, state, path, files) {
                    return Some(e);
                }
            }
        }
        path.pop();
        state[node] = 2;
        None
    }
    (0..files.len()).find_map(|start| {
        if state[start] == 0 {
            visit(start, &out, &mut state, &mut path, files)
        } else {
            None
        }
    })
}

fn absolute(path: &Path) -> PathBuf {
    gil_model::load::normalize(&std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()))
}

/// The `require` calls in Luau source text, outside comments and strings.
pub(crate) fn require_calls(text: &str) -> Vec<RequireCall> {
    let bytes = text.as_bytes();
    let mut calls = Vec::new();
    let mut line = 1u32;
    let mut i = 0;
    // The last significant byte before an identifier: `x.require` is not a call of it.
    let mut previous = b' ';
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i += 2;
                match long_bracket(bytes, i) {
                    Some(level) => i = skip_long(bytes, i, level, &mut line),
                    None => {
                        while i < bytes.len() && bytes[i] != b'\n' {
                            i += 1;
                        }
                    }
                }
            }
            b'"' | b'\'' | b'`' => {
                i = skip_quoted(bytes, i, &mut line).0;
                previous = b'"';
            }
            b'[' if long_bracket(bytes, i).is_some() => {
                let level = long_bracket(bytes, i).unwrap_or(0);
                i = skip_long(bytes, i, level, &mut line);
                previous = b'"';
            }
            _ if b.is_ascii_alphabetic() || b == b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                if &bytes[start..i] == b"require" && previous != b'.' && previous != b':' {
                    let call_line = line;
                    let mut j = skip_space(bytes, i, &mut line);
                    let parenthesised = bytes.get(j) == Some(&b'(');
                    if parenthesised {
                        j = skip_space(bytes, j + 1, &mut line);
                    }
                    match bytes.get(j) {
                        Some(b'"') | Some(b'\'') => {
                            let (end, literal) = skip_quoted(bytes, j, &mut line);
                            calls.push(RequireCall {
                                path: literal,
                                line: call_line,
                            });
                            i = end;
                        }
                        _ if parenthesised => calls.push(RequireCall {
                            path: None,
                            line: call_line,
                        }),
                        _ => {}
                    }
                }
                previous = b'a';
            }
            _ => {
                if !b.is_ascii_whitespace() {
                    previous = b;
                }
                i += 1;
            }
        }
    }
    calls
}

fn skip_space(bytes: &[u8], mut i: usize, line: &mut u32) -> usize {
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        if bytes[i] == b'\n' {
            *line += 1;
        }
        i += 1;
    }
    i
}

/// Skips a quoted string starting at `start`; returns the index after it and its text
/// when it holds no escapes (a path with escapes is not taken as a literal).
fn skip_quoted(bytes: &[u8], start: usize, line: &mut u32) -> (usize, Option<String>) {
    let quote = bytes[start];
    let mut i = start + 1;
    let mut escaped = false;
    while i < bytes.len() && bytes[i] != quote {
        match bytes[i] {
            b'\\' => {
                escaped = true;
                i += 1;
                if bytes.get(i) == Some(&b'\n') {
                    *line += 1;
                }
            }
            b'\n' => {
                *line += 1;
                if quote != b'`' {
                    break;
                }
            }
            _ => {}
        }
        i += 1;
    }
    let literal = (!escaped && i < bytes.len())
        .then(|| String::from_utf8_lossy(&bytes[start + 1..i]).into_owned());
    (i + 1, literal)
}

/// The level of a long bracket (`[[`, `[=[`, …) opening at `i`.
fn long_bracket(bytes: &[u8], i: usize) -> Option<usize> {
    if bytes.get(i) != Some(&b'[') {
        return None;
    }
    let mut j = i + 1;
    while bytes.get(j) == Some(&b'=') {
        j += 1;
    }
    (bytes.get(j) == Some(&b'[')).then_some(j - i - 1)
}

/// Skips a long bracket of `level` opening at `i`; returns the index after it.
fn skip_long(bytes: &[u8], i: usize, level: usize, line: &mut u32) -> usize {
    let mut j = i + level + 2;
    while j < bytes.len() {
        if bytes[j] == b'\n' {
            *line += 1;
        }
        if bytes[j] == b']'
            && bytes
                .get(j + 1..j + 1 + level)
                .is_some_and(|s| s.iter().all(|&c| c == b'='))
            && bytes.get(j + 1 + level) == Some(&b']')
        {
            return j + level + 2;
        }
        j += 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::{require_calls, RequireCall};

    fn calls(text: &str) -> Vec<(Option<String>, u32)> {
        require_calls(text)
            .into_iter()
            .map(|RequireCall { path, line }| (path, line))
            .collect()
    }

    #[test]
    fn requires_are_found_outside_comments_and_strings() {
        let text = r#"-- require("./not_this")
--[[ require("./nor_this")
]]
local s = "require('./nor_in_a_string')"
local tags = require("./tags")
local rates = require '../lib/rates'
local x = M.require("./method")
local dynamic = require(name)
local later = require(
  "@lib/later")
"#;
        assert_eq!(
            calls(text),
            vec![
                (Some("./tags".to_string()), 5),
                (Some("../lib/rates".to_string()), 6),
                (None, 8),
                (Some("@lib/later".to_string()), 9),
            ]
        );
    }
}
