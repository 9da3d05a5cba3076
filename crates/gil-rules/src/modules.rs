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

use crate::calls::literal_calls;
use crate::error::{RuleError, RuleErrorKind};
use crate::source::{read_text, RuleSource};

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
        let calls = literal_calls(&files[current].text, &["require"]);
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
            let Some(path) = call.argument.clone() else {
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
