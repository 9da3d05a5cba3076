//! Loading rules: a fresh sandboxed state with `ctx`, then each rule file compiled as
//! Luau source in an environment of its own (`require.rs`), run once, and its table
//! read through `meta.rs`; finally the rules are ordered (`order.rs`). Modules are not
//! loaded here: each runs when a file first requires it.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;

use mlua::Value;

use crate::error::{RuleError, RuleErrorKind};
use crate::meta::{self, Hooks, KnownNames, RuleInfo};
use crate::sandbox::{self, Clock, Random, SandboxConfig};
use crate::source::RuleSource;
use crate::world::WorldState;

use super::errors::{innermost_message, sandbox_error, split_location};
use super::order::{self, OrderError};
use super::shared::{Caller, Keys, Shared};
use super::spec::FieldChecks;
use super::views::{HostMemory, Views};
use super::{ctx, RuleRuntime};

impl RuleRuntime {
    /// Loads every rule into a fresh sandboxed state, checks metadata and orders rules.
    /// Every rule file is loaded even when an earlier one fails, so all their problems
    /// come back at once; the order is checked only when every rule loaded (an `after`
    /// naming a broken rule would be a follow-on).
    pub fn load(
        sources: &[RuleSource],
        known: KnownNames,
        config: SandboxConfig,
    ) -> Result<Self, Vec<RuleError>> {
        Self::load_inner(sources, known, config).map_err(|e| match e {
            LoadFailure::Setup(e) => vec![e],
            LoadFailure::Rules(errors) => errors,
        })
    }

    fn load_inner(
        sources: &[RuleSource],
        known: KnownNames,
        config: SandboxConfig,
    ) -> Result<Self, LoadFailure> {
        let clock = Rc::new(Clock::new(config.total_budget, config.cancel.clone()));
        let random = Rc::new(Random::new());
        let lua = sandbox::new_state(&config, clock.clone(), random.clone())?;
        let fields = FieldChecks::new(&lua).map_err(|e| sandbox_error("<sandbox>", e))?;
        let shared = Rc::new(Shared {
            world: RefCell::new(Arc::new(WorldState::default())),
            views: RefCell::new(Views::default()),
            effects: RefCell::new(Vec::new()),
            caller: RefCell::new(Caller::default()),
            known,
            keys: Keys::new(&lua).map_err(|e| sandbox_error("<sandbox>", e))?,
            memory: HostMemory::new(config.memory_limit),
            fields,
            world_meta: std::cell::OnceCell::new(),
            batch: std::cell::OnceCell::new(),
            modules: super::require::Modules::new(sources),
            coverage: config.coverage.then(RefCell::default),
            selection: RefCell::new(None),
        });
        let meta = super::views::world_metatable(&lua, &shared)
            .map_err(|e| sandbox_error("<sandbox>", e))?;
        let _ = shared.world_meta.set(meta);
        let ctx = ctx::build(&lua, &shared).map_err(|e| {
            RuleError::new(
                RuleErrorKind::Sandbox,
                "<sandbox>",
                None,
                format!("cannot build ctx: {e}"),
            )
        })?;
        let mut runtime = RuleRuntime {
            lua,
            shared,
            ctx,
            infos: Vec::new(),
            hooks: Vec::new(),
            declared: Vec::new(),
            callers: Vec::new(),
            order: Vec::new(),
            clock,
            random,
            config,
            texts: RefCell::new(BTreeMap::new()),
            calls: Cell::new(0),
            reads_metrics: sources.iter().any(|s| s.text.contains("metric_at")),
            sources: sources.to_vec(),
        };
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        let mut errors = Vec::new();
        for source in sources.iter().filter(|s| s.module) {
            runtime
                .texts
                .borrow_mut()
                .insert(source.display.clone(), source.text.clone());
        }
        for source in sources.iter().filter(|s| !s.module) {
            let (info, hooks) = match runtime.load_one(source) {
                Ok(loaded) => loaded,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            if let Some(first) = seen.get(&info.id) {
                errors.push(
                    RuleError::new(
                        RuleErrorKind::DuplicateId,
                        &info.file,
                        meta::line_of_key(&source.text, "id"),
                        format!("the rule id `{}` is also used by {first}", info.id),
                    )
                    .rule(info.id.clone()),
                );
                continue;
            }
            seen.insert(info.id.clone(), info.file.clone());
            let declared = match runtime.declared_params(&info) {
                Ok(declared) => declared,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            runtime.declared.push(declared);
            runtime.infos.push(info);
            runtime.hooks.push(hooks);
        }
        if !errors.is_empty() {
            return Err(LoadFailure::Rules(errors));
        }
        runtime.callers = runtime
            .infos
            .iter()
            .zip(&runtime.declared)
            .map(|(info, (params, _))| super::shared::Caller {
                rule: info.id.as_str().into(),
                file: info.file.as_str().into(),
                step: 0,
                params: params.clone(),
            })
            .collect();
        if let Some(batch) = runtime.shared.batch.get() {
            let tables: Vec<mlua::Table> =
                runtime.declared.iter().map(|(_, t)| t.clone()).collect();
            batch
                .set_declared(&runtime.lua, &tables)
                .map_err(|e| sandbox_error("<sandbox>", e))?;
        }
        runtime.order =
            evaluation_order(&runtime.infos, sources).map_err(|e| LoadFailure::Rules(vec![e]))?;
        Ok(runtime)
    }

    /// Compiles one rule file in its own environment, runs it once and reads the table
    /// it returns.
    fn load_one(&self, source: &RuleSource) -> Result<(RuleInfo, Hooks), RuleError> {
        let file = source.display.as_str();
        self.texts
            .borrow_mut()
            .insert(file.to_string(), source.text.clone());
        let env = super::require::environment(&self.lua, &self.shared, file)
            .map_err(|e| sandbox_error(file, e))?;
        let chunk =
            super::require::with_coverage(&self.shared, self.lua.load(source.text.as_str()))
                .set_name(format!("@{file}"))
                // Always compile as source: mlua would otherwise take a file that looks like
                // Luau bytecode (first byte a bytecode version) as bytecode, and Luau's
                // bytecode loader is not safe on untrusted input (found by fuzzing).
                .set_mode(mlua::chunk::ChunkMode::Text)
                .set_environment(env.clone())
                .into_function()
                .map_err(|e| {
                    let (_, line, message) = split_location(&innermost_message(&e));
                    if message.contains("binary chunk") {
                        return RuleError::new(RuleErrorKind::Syntax, file, Some(1), BYTECODE);
                    }
                    RuleError::new(RuleErrorKind::Syntax, file, line, message)
                })?;
        super::require::keep_for_coverage(&self.shared, file, &chunk);
        *self.shared.caller.borrow_mut() = Caller {
            rule: "".into(),
            file: file.into(),
            step: 0,
            params: Default::default(),
        };
        self.clock.start(self.config.call_deadline);
        let result = chunk.call::<Value>(());
        self.clock.stop();
        let value =
            result.map_err(|e| self.convert_error(e, file, None, chunk.info().line_defined))?;
        let Value::Table(table) = value else {
            let last_line = source.text.lines().count().max(1) as u32;
            return Err(RuleError::new(
                RuleErrorKind::Metadata,
                file,
                Some(last_line),
                format!(
                    "the rule file must return a table, but it returns {}",
                    value.type_name()
                ),
            )
            .help(
                "end the file with `return { id = \"…\", on_actor = function(actor, ctx) … end }`",
            ));
        };
        let parsed = meta::parse(&table, source, &self.shared.known)?;
        undeclared_param_reads(source, &parsed.0, &self.shared.known)?;
        // Globals a rule sets while loading stay its own; after loading its environment is
        // frozen, so no call can add or change a global. (A table held in a file-level
        // local can still be written: views are snapshots, so one kept from an earlier
        // step keeps that step's values.)
        env.set_readonly(true);
        Ok(parsed)
    }
}

impl RuleRuntime {
    /// A rule's declared parameters, as a set for the host and a Lua table for ctx's
    /// Luau side (`batch.rs`).
    fn declared_params(&self, info: &RuleInfo) -> Result<super::DeclaredParams, RuleError> {
        let table = self
            .lua
            .create_table()
            .map_err(|e| sandbox_error(&info.file, e))?;
        for name in &info.params {
            table
                .raw_set(name.as_str(), true)
                .map_err(|e| sandbox_error(&info.file, e))?;
        }
        table.set_readonly(true);
        Ok((Arc::new(info.params.iter().cloned().collect()), table))
    }
}

/// A `ctx.param("…")` in the rule's own text naming a parameter the rule does not
/// declare in `params`, as a load error at that call. (A name built at run time is
/// checked when it is read.)
fn undeclared_param_reads(
    source: &RuleSource,
    info: &RuleInfo,
    known: &KnownNames,
) -> Result<(), RuleError> {
    for call in crate::calls::literal_calls(&source.text, &["ctx", "param"]) {
        let Some(name) = call.argument else { continue };
        if !known.params.contains(&name) {
            let mut e = RuleError::new(
                RuleErrorKind::UnknownParam,
                &info.file,
                Some(call.line),
                format!("ctx.param: unknown parameter `{name}`"),
            )
            .rule(info.id.clone());
            if let Some(s) =
                gil_model::diag::did_you_mean(&name, known.params.iter().map(String::as_str))
            {
                e = e.help(format!("did you mean `{s}`?"));
            }
            return Err(e);
        }
        if !info.params.contains(&name) {
            return Err(RuleError::new(
                RuleErrorKind::UnknownParam,
                &info.file,
                Some(call.line),
                format!("the rule reads parameter `{name}` but does not declare it in `params`"),
            )
            .rule(info.id.clone())
            .help(format!(
                "add \"{name}\" to the rule's `params`, so readers (and `gil explain`) see what it depends on"
            )));
        }
    }
    Ok(())
}

/// The error for a rule file that starts like Luau bytecode.
const BYTECODE: &str = "the file starts like compiled bytecode; gil loads rules only as Lua source";

/// Why loading stopped: the sandbox could not be set up, or rules are broken.
enum LoadFailure {
    Setup(RuleError),
    Rules(Vec<RuleError>),
}

impl From<RuleError> for LoadFailure {
    fn from(e: RuleError) -> Self {
        LoadFailure::Setup(e)
    }
}

/// The rules' evaluation order, or the ordering problem as a located rule error.
fn evaluation_order(infos: &[RuleInfo], sources: &[RuleSource]) -> Result<Vec<usize>, RuleError> {
    let nodes: Vec<order::Node<'_>> = infos
        .iter()
        .map(|r| (r.id.as_str(), r.after.as_slice()))
        .collect();
    let text_of = |info: &RuleInfo| {
        sources
            .iter()
            .find(|s| s.display == info.file)
            .map(|s| s.text.as_str())
            .unwrap_or("")
    };
    let problem = match order::order(&nodes) {
        Ok(order) => return Ok(order),
        Err(problem) => problem,
    };
    let error = match problem {
        OrderError::UnknownAfter { rule, missing } => {
            let Some(info) = infos.get(rule) else {
                return Err(unordered());
            };
            let mut e = RuleError::new(
                RuleErrorKind::UnknownRule,
                &info.file,
                meta::line_of_key(text_of(info), "after"),
                format!("`after` names `{missing}`, which is not a loaded rule"),
            )
            .rule(info.id.clone());
            let ids: BTreeSet<&str> = infos.iter().map(|r| r.id.as_str()).collect();
            if let Some(s) = gil_model::diag::did_you_mean(&missing, ids.iter().copied()) {
                e = e.help(format!("did you mean `{s}`?"));
            }
            e
        }
        OrderError::Cycle { path } => {
            let (Some(first), Some(names)) = (
                path.first().and_then(|&i| infos.get(i)),
                path.iter()
                    .map(|&i| infos.get(i).map(|r| r.id.as_str()))
                    .collect::<Option<Vec<&str>>>(),
            ) else {
                return Err(unordered());
            };
            RuleError::new(
                RuleErrorKind::Cycle,
                &first.file,
                meta::line_of_key(text_of(first), "after"),
                format!(
                    "the rules' `after` order has a cycle: {}",
                    names.join(" → ")
                ),
            )
            .rule(first.id.clone())
            .help(
                "each rule runs after the rules it names; remove one `after` entry to break the cycle",
            )
        }
    };
    Err(error)
}

/// An ordering problem that names a rule ordering was not given: a bug, not bad input.
fn unordered() -> RuleError {
    RuleError::new(
        RuleErrorKind::Cycle,
        "<rules>",
        None,
        "the rule order names a rule that was not loaded",
    )
}
