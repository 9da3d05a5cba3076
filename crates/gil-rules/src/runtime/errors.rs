//! Error translation, both ways: an mlua error out of a rule becomes a [`RuleError`]
//! with the rule's file and line (and a hint where the sandbox is the cause), and a
//! `ctx` function's complaint becomes a Lua error that carries its [`RuleError`],
//! located at the rule line that called it, through the Lua stack.

use mlua::Lua;

use crate::error::{RuleError, RuleErrorKind};
use crate::sandbox::{self, Tripped};

use super::shared::Shared;
use super::RuleRuntime;

impl RuleRuntime {
    /// Turns an mlua error into a rule error with the rule's file and line.
    pub(super) fn convert_error(
        &self,
        e: mlua::Error,
        file: &str,
        rule: Option<&str>,
        defined: Option<usize>,
    ) -> RuleError {
        let with_rule = |err: RuleError| match rule {
            Some(id) if !id.is_empty() => err.rule(id),
            _ => err,
        };
        if let Some(inner) = find_rule_error(&e) {
            return with_rule(inner);
        }
        match self.clock.tripped.replace(Tripped::None) {
            Tripped::None => {}
            tripped => {
                let (at_file, line) = self
                    .clock
                    .where_
                    .borrow_mut()
                    .take()
                    .map(|(f, l)| (f, Some(l)))
                    .unwrap_or_else(|| (file.to_string(), defined.map(|l| l as u32)));
                // How to raise a limit is the caller's to say (`RuleErrorKind::limit`).
                let (kind, message, help) = match tripped {
                    Tripped::Budget => (
                        RuleErrorKind::Budget,
                        format!(
                            "the run's rule time budget of {:?} is spent",
                            self.config.total_budget
                        ),
                        Some("make the rule do less per call"),
                    ),
                    Tripped::Cancelled => (
                        RuleErrorKind::Interrupted,
                        "the run was interrupted".to_string(),
                        Some("nothing was written"),
                    ),
                    _ => (
                        RuleErrorKind::Deadline,
                        format!(
                            "the call ran past its deadline of {:?} (an endless loop?)",
                            self.config.call_deadline
                        ),
                        None,
                    ),
                };
                let err = RuleError::new(kind, at_file, line, message);
                return with_rule(match help {
                    Some(help) => err.help(help),
                    None => err,
                });
            }
        }
        if is_memory_error(&e) {
            let line = defined.map(|l| l as u32);
            return with_rule(
                RuleError::new(
                    RuleErrorKind::Memory,
                    file,
                    line,
                    format!(
                        "the rule exceeded the Lua memory limit of {} MiB",
                        self.config.memory_limit / (1024 * 1024)
                    ),
                )
                .help("the line is where the hook that ran out is defined"),
            );
        }
        let message = innermost_message(&e);
        let (shown, line, message) = split_location(&message);
        // An error raised in a module's code is at the module's line.
        let module = shown.and_then(|shown| self.shared.modules.file_named(shown));
        let (file, line) = match &module {
            Some(module) => (&**module, line),
            None => (file, line.or(defined.map(|l| l as u32))),
        };
        let source_line = line.and_then(|l| {
            self.texts.borrow().get(file).and_then(|t| {
                t.lines()
                    .nth(l.saturating_sub(1) as usize)
                    .map(str::to_string)
            })
        });
        let mut err = RuleError::new(RuleErrorKind::Runtime, file, line, message.clone());
        if let Some(help) = sandbox_help(&message, source_line.as_deref().unwrap_or("")) {
            err = err.help(help);
        }
        with_rule(err)
    }
}

/// A hint for errors that come from the sandbox rather than from the rule's logic.
fn sandbox_help(message: &str, line: &str) -> Option<String> {
    if message.contains("nil") {
        let used = sandbox::REMOVED_GLOBALS.iter().find(|g| {
            line.match_indices(*g).any(|(i, _)| {
                let before = line[..i].chars().last();
                let after = line[i + g.len()..].chars().next();
                before.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '.'))
                    && matches!(
                        after,
                        Some('(') | Some('.') | Some(':') | Some(' ') | Some('"')
                    )
            })
        });
        if let Some(g) = used {
            return Some(format!(
                "`{g}` is not available to rules: they run sandboxed, without load, os, io or debug"
            ));
        }
    }
    if message.contains("readonly table") {
        return Some(
            "entities, ctx, libraries, modules and the rule's globals are read-only; change the world through effects \
             (ctx.flow, ctx.adjust, ctx.set) and keep working values in locals"
                .into(),
        );
    }
    None
}

pub(super) fn sandbox_error(file: &str, e: mlua::Error) -> RuleError {
    RuleError::new(RuleErrorKind::Sandbox, file, None, e.to_string())
}

fn find_rule_error(e: &mlua::Error) -> Option<RuleError> {
    match e {
        mlua::Error::CallbackError { cause, .. } => find_rule_error(cause),
        mlua::Error::WithContext { cause, .. } => find_rule_error(cause),
        mlua::Error::ExternalError(inner) => inner.downcast_ref::<RuleError>().cloned(),
        _ => None,
    }
}

fn is_memory_error(e: &mlua::Error) -> bool {
    match e {
        mlua::Error::MemoryError(_) => true,
        mlua::Error::CallbackError { cause, .. } | mlua::Error::WithContext { cause, .. } => {
            is_memory_error(cause)
        }
        _ => false,
    }
}

pub(super) fn innermost_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::CallbackError { cause, .. } | mlua::Error::WithContext { cause, .. } => {
            innermost_message(cause)
        }
        mlua::Error::RuntimeError(m) | mlua::Error::MemoryError(m) => first_line(m),
        mlua::Error::SyntaxError { message, .. } => first_line(message),
        other => first_line(&other.to_string()),
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

/// Splits `rules/x.lua:12: message` into (`rules/x.lua`, 12, message).
///
/// Luau shortens long chunk names (`...tail/x.lua`), so the file is what the message
/// says, to be matched by its tail: the first `.lua:` or `.luau:` and the digits after
/// it are the location.
pub(super) fn split_location(message: &str) -> (Option<&str>, Option<u32>, String) {
    let found = [".lua:", ".luau:"]
        .iter()
        .filter_map(|ext| {
            message
                .find(ext)
                .map(|pos| (pos + ext.len(), pos + ext.len() - 1))
        })
        .min();
    if let Some((after_colon, file_end)) = found {
        let after = &message[after_colon..];
        let digits: String = after.chars().take_while(|c| c.is_ascii_digit()).collect();
        if let Ok(line) = digits.parse::<u32>() {
            let rest = after[digits.len()..].trim_start_matches(':').trim();
            return (Some(&message[..file_end]), Some(line), rest.to_string());
        }
    }
    (None, None, message.to_string())
}

/// An error in a `ctx` call, located at the calling line.
pub(super) fn effect_error(
    lua: &Lua,
    shared: &Shared,
    function: &str,
    message: String,
) -> mlua::Error {
    located_error(
        lua,
        shared,
        RuleErrorKind::Effect,
        format!("ctx.{function}: {message}"),
    )
}

/// An error in a host function, located at the rule line that called it.
pub(super) fn located_error(
    lua: &Lua,
    shared: &Shared,
    kind: RuleErrorKind,
    message: String,
) -> mlua::Error {
    let (file, line) = shared.call_site(lua);
    let rule = shared.caller.borrow().rule.clone();
    let mut e = RuleError::new(kind, file.to_string(), Some(line), message);
    if !rule.is_empty() {
        e = e.rule(rule.to_string());
    }
    mlua::Error::external(e)
}

#[cfg(test)]
mod tests {
    use super::{sandbox_help, split_location};

    #[test]
    fn the_line_is_read_after_the_lua_file_name() {
        assert_eq!(
            split_location("rules/x.lua:12: attempt to index nil"),
            (
                Some("rules/x.lua"),
                Some(12),
                "attempt to index nil".to_string()
            )
        );
        assert_eq!(
            split_location("...long/name/x.lua:3: boom"),
            (Some("...long/name/x.lua"), Some(3), "boom".to_string())
        );
        assert_eq!(
            split_location("rules/lib/tags.luau:7: boom"),
            (Some("rules/lib/tags.luau"), Some(7), "boom".to_string())
        );
        assert_eq!(
            split_location("no place"),
            (None, None, "no place".to_string())
        );
    }

    #[test]
    fn a_removed_global_is_named_only_where_it_is_called() {
        let help = sandbox_help("attempt to call a nil value", "  os.exit(1)");
        assert!(help.is_some_and(|h| h.starts_with("`os` is not available")));
        assert_eq!(
            sandbox_help("attempt to call a nil value", "  chaos.exit(1)"),
            None
        );
    }
}
