//! `require` inside the sandbox: every rule and module file gets its own `require`,
//! which answers from the modules found when the rules were read (`modules.rs`), never
//! from the disk. A module runs once per Lua state, in an environment of its own like
//! a rule's, and what it returns is frozen read-only, tables within included, so no
//! rule can change what another rule sees through a shared module.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use mlua::{Lua, Table, Value};

use crate::error::{RuleError, RuleErrorKind};
use crate::source::RuleSource;

use super::errors::{located_error, split_location};
use super::shared::Shared;

/// The run's modules, and which module each file's `require` paths name.
#[derive(Default)]
pub(super) struct Modules {
    /// Module sources by display name.
    sources: BTreeMap<Arc<str>, RuleSource>,
    /// Every file's requires: path as written → module display name.
    requires: BTreeMap<String, BTreeMap<String, String>>,
    loaded: RefCell<BTreeMap<Arc<str>, Loaded>>,
}

enum Loaded {
    /// Its code is running: a `require` of it now is a cycle.
    Running,
    Done(Value),
}

impl Modules {
    pub(super) fn new(sources: &[RuleSource]) -> Self {
        Modules {
            sources: sources
                .iter()
                .filter(|s| s.module)
                .map(|s| (Arc::from(s.display.as_str()), s.clone()))
                .collect(),
            requires: sources
                .iter()
                .filter(|s| !s.requires.is_empty())
                .map(|s| (s.display.clone(), s.requires.clone()))
                .collect(),
            loaded: RefCell::default(),
        }
    }

    /// The module a Lua source name (`short_src`, or the file part of an error
    /// message) stands for. Luau shortens long names to `...tail`, so a shortened name
    /// is matched by its tail.
    pub(super) fn file_named(&self, shown: &str) -> Option<Arc<str>> {
        if let Some((name, _)) = self.sources.get_key_value(shown) {
            return Some(name.clone());
        }
        let tail = shown.strip_prefix("...")?;
        self.sources
            .keys()
            .find(|name| name.ends_with(tail))
            .cloned()
    }
}

/// A file's environment: its own globals over the shared (read-only) ones, with a
/// `require` that resolves paths from this file.
pub(super) fn environment(lua: &Lua, shared: &Rc<Shared>, file: &str) -> mlua::Result<Table> {
    let env = lua.create_table()?;
    let mt = lua.create_table()?;
    mt.raw_set("__index", lua.globals())?;
    env.set_metatable(Some(mt))?;
    let from: Arc<str> = file.into();
    let owner = shared.clone();
    let require = lua.create_function(move |lua, path: Value| require(lua, &owner, &from, path))?;
    env.raw_set("require", require)?;
    // A safe environment lets Luau resolve the built-ins a file names (`ipairs`,
    // `math.floor`, …) once at load, take its fast paths for them and for ipairs /
    // pairs loops. Built-ins cannot change (the globals are read-only), and a global
    // the file itself assigns is never resolved early (the compiler sees the write).
    env.set_safeenv(true);
    Ok(env)
}

fn require(lua: &Lua, shared: &Rc<Shared>, from: &str, path: Value) -> mlua::Result<Value> {
    let modules = &shared.modules;
    let module_error = |message: String| located_error(lua, shared, RuleErrorKind::Module, message);
    let Value::String(path) = path else {
        return Err(module_error(format!(
            "require takes the module's path as a string, not {}",
            path.type_name()
        )));
    };
    let path = path.to_string_lossy();
    let Some(display) = modules
        .requires
        .get(from)
        .and_then(|r| r.get(path.as_str()))
    else {
        return Err(module_error(format!(
            "`require(\"{path}\")` is not one of the requires gil found in `{from}` when it loaded the rules; write the path as a string literal in the call"
        )));
    };
    let Some((name, source)) = modules.sources.get_key_value(display.as_str()) else {
        return Err(module_error(format!("the module `{display}` was not read")));
    };
    match modules.loaded.borrow().get(name) {
        Some(Loaded::Done(value)) => return Ok(value.clone()),
        Some(Loaded::Running) => {
            return Err(module_error(format!(
                "`{display}` is required while its own code runs (modules require each other in a cycle)"
            )))
        }
        None => {}
    }
    modules
        .loaded
        .borrow_mut()
        .insert(name.clone(), Loaded::Running);
    let result = run_module(lua, shared, name, source);
    let mut loaded = modules.loaded.borrow_mut();
    match result {
        Ok(value) => {
            loaded.insert(name.clone(), Loaded::Done(value.clone()));
            Ok(value)
        }
        Err(e) => {
            loaded.remove(name);
            Err(e)
        }
    }
}

/// Runs a module's code once and freezes what it returns.
fn run_module(
    lua: &Lua,
    shared: &Rc<Shared>,
    name: &str,
    source: &RuleSource,
) -> mlua::Result<Value> {
    let env = environment(lua, shared, name)?;
    let chunk = with_coverage(shared, lua.load(source.text.as_str()))
        .set_name(format!("@{name}"))
        // As for rules: always source, never bytecode (see `load.rs`).
        .set_mode(mlua::chunk::ChunkMode::Text)
        .set_environment(env.clone())
        .into_function()
        .map_err(|e| {
            let (_, line, message) = split_location(&super::errors::innermost_message(&e));
            mlua::Error::external(RuleError::new(RuleErrorKind::Syntax, name, line, message))
        })?;
    keep_for_coverage(shared, name, &chunk);
    let value: Value = chunk.call(())?;
    let Value::Table(table) = &value else {
        let last_line = source.text.lines().count().max(1) as u32;
        return Err(mlua::Error::external(
            RuleError::new(
                RuleErrorKind::Module,
                name,
                Some(last_line),
                format!(
                    "a module must return a table, but `{name}` returns {}",
                    match value.type_name() {
                        "integer" => "a number",
                        other => other,
                    }
                ),
            )
            .help("end the module with `return { name = function(…) … end }`"),
        ));
    };
    freeze(table)?;
    env.set_readonly(true);
    Ok(value)
}

/// A rule or module chunk compiled with line coverage when the run records it.
pub(super) fn with_coverage<'a>(
    shared: &Shared,
    chunk: mlua::chunk::Chunk<'a>,
) -> mlua::chunk::Chunk<'a> {
    match shared.coverage {
        Some(_) => chunk.set_compiler(mlua::chunk::Compiler::new().set_coverage_level(1)),
        None => chunk,
    }
}

/// Keeps a compiled chunk for `RuleRuntime::coverage` when the run records coverage.
pub(super) fn keep_for_coverage(shared: &Shared, file: &str, chunk: &mlua::Function) {
    if let Some(chunks) = &shared.coverage {
        chunks.borrow_mut().push((file.to_string(), chunk.clone()));
    }
}

/// Makes `table` and every table reachable from its keys and values read-only.
fn freeze(table: &Table) -> mlua::Result<()> {
    if table.is_readonly() {
        return Ok(());
    }
    table.set_readonly(true);
    for pair in table.pairs::<Value, Value>() {
        let (key, value) = pair?;
        for part in [key, value] {
            if let Value::Table(inner) = part {
                freeze(&inner)?;
            }
        }
    }
    Ok(())
}
