//! Reading a rule's table: id, kind, ordering, `select`, `params` and hooks.

use std::collections::BTreeSet;

use mlua::{Function, Table, Value};

use crate::api;
use crate::error::{RuleError, RuleErrorKind};
use crate::select::{RuleSelect, Selector, Target};
use crate::source::RuleSource;

/// Names a rule may refer to, checked when rules load.
#[derive(Debug, Clone, Default)]
pub struct KnownNames {
    pub params: BTreeSet<String>,
    pub actor_kinds: BTreeSet<String>,
    pub asset_kinds: BTreeSet<String>,
    pub actors: BTreeSet<String>,
    pub assets: BTreeSet<String>,
    pub projects: BTreeSet<String>,
}

/// What the engine and tools need to know about a rule (plain data).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleInfo {
    pub id: String,
    pub title: Option<String>,
    pub kind: String,
    pub doc: Option<String>,
    /// The file as the user named it.
    pub file: String,
    pub after: Vec<String>,
    pub select: RuleSelect,
    pub params: Vec<String>,
    /// Hook names the rule defines, with the line each is defined on.
    pub hooks: Vec<(&'static str, u32)>,
}

#[derive(Default)]
pub(crate) struct Hooks {
    pub on_step: Option<Function>,
    pub on_actor: Option<Function>,
    pub on_asset: Option<Function>,
    pub on_flow: Option<Function>,
    pub on_project: Option<Function>,
    pub on_actors: Option<Function>,
    pub on_flows: Option<Function>,
}

/// The first line where `key =` appears: rule tables carry no positions, so metadata
/// errors point at the line that most likely holds the field.
pub(crate) fn line_of_key(text: &str, key: &str) -> Option<u32> {
    // An empty key matches everywhere and would never advance (found by fuzzing).
    if key.is_empty() {
        return None;
    }
    text.lines()
        .position(|line| {
            let mut rest = line;
            while let Some(i) = rest.find(key) {
                let before_ok = rest[..i]
                    .chars()
                    .last()
                    .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '.'));
                let after = rest[i + key.len()..].trim_start();
                if before_ok && after.starts_with('=') && !after.starts_with("==") {
                    return true;
                }
                rest = &rest[i + key.len()..];
            }
            false
        })
        .map(|i| i as u32 + 1)
}

pub(crate) fn parse(
    table: &Table,
    source: &RuleSource,
    known: &KnownNames,
) -> Result<(RuleInfo, Hooks), RuleError> {
    let file = source.display.as_str();
    let at = |key: &str| line_of_key(&source.text, key);
    let err = |key: &str, message: String| {
        RuleError::new(RuleErrorKind::Metadata, file, at(key), message)
    };

    let fields = api::field_names("Rule");
    for pair in table.clone().pairs::<Value, Value>() {
        let (key, value) = pair.map_err(|e| err("", e.to_string()))?;
        let Value::String(key) = key else {
            // A positional entry: point at the function if it is one (`{ function() … end }`).
            let line = match &value {
                Value::Function(f) => f.info().line_defined.map(|l| l as u32),
                _ => None,
            };
            return Err(RuleError::new(
                RuleErrorKind::Metadata,
                file,
                line.or(Some(1)),
                "the rule table has an entry without a name; write `name = value` fields only",
            )
            .help("a hook needs its name: `on_actor = function(actor, ctx) … end`"));
        };
        let key = key.to_string_lossy();
        if !fields.contains(&key.as_str()) {
            let mut e = err(&key, format!("unknown rule field `{key}`"));
            if let Some(s) = gil_model::diag::did_you_mean(&key, fields.iter().copied()) {
                e = e.help(format!("did you mean `{s}`?"));
            }
            return Err(e);
        }
    }

    let id = match table
        .raw_get::<Value>("id")
        .map_err(|e| err("id", e.to_string()))?
    {
        Value::String(s) if !s.to_string_lossy().trim().is_empty() => s.to_string_lossy(),
        Value::Nil => {
            return Err(RuleError::new(
                RuleErrorKind::Metadata,
                file,
                Some(1),
                "the rule has no `id`",
            )
            .help("add `id = \"area.name\"` to the table the file returns"))
        }
        other => {
            return Err(err(
                "id",
                format!(
                    "`id` must be a non-empty string, found {}",
                    other.type_name()
                ),
            ))
        }
    };
    let with_id = |e: RuleError| e.rule(id.clone());
    let title = opt_string(table, "title").map_err(|m| with_id(err("title", m)))?;
    let doc = opt_string(table, "doc").map_err(|m| with_id(err("doc", m)))?;
    let kind = opt_string(table, "kind")
        .map_err(|m| with_id(err("kind", m)))?
        .unwrap_or_else(|| "custom".into());
    if !api::RULE_KINDS.contains(&kind.as_str()) {
        let mut e = with_id(err("kind", format!("unknown rule kind `{kind}`")));
        e = e.help(
            match gil_model::diag::did_you_mean(&kind, api::RULE_KINDS.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("use one of {}", api::RULE_KINDS.join(", ")),
            },
        );
        return Err(e);
    }
    let after = names(table, "after").map_err(|m| with_id(err("after", m)))?;
    let params = names(table, "params").map_err(|m| with_id(err("params", m)))?;
    for p in &params {
        if !known.params.contains(p) {
            let mut e = RuleError::new(
                RuleErrorKind::UnknownParam,
                file,
                at("params"),
                format!("the rule declares parameter `{p}`, which the scenario does not define"),
            )
            .rule(id.clone());
            if let Some(s) =
                gil_model::diag::did_you_mean(p, known.params.iter().map(String::as_str))
            {
                e = e.help(format!("did you mean `{s}`?"));
            } else {
                e = e.help(format!("add `{p}` under `parameters:` in the scenario"));
            }
            return Err(e);
        }
    }

    let mut hooks = Hooks::default();
    let mut hook_lines = Vec::new();
    for (name, _) in api::HOOKS {
        match table
            .raw_get::<Value>(*name)
            .map_err(|e| err(name, e.to_string()))?
        {
            Value::Nil => {}
            Value::Function(f) => {
                let line = f.info().line_defined.unwrap_or(0) as u32;
                hook_lines.push((*name, line));
                match *name {
                    "on_step" => hooks.on_step = Some(f),
                    "on_actor" => hooks.on_actor = Some(f),
                    "on_asset" => hooks.on_asset = Some(f),
                    "on_flow" => hooks.on_flow = Some(f),
                    "on_actors" => hooks.on_actors = Some(f),
                    "on_flows" => hooks.on_flows = Some(f),
                    "on_project" => hooks.on_project = Some(f),
                    // api::HOOKS names a hook this match does not know: a bug in gil.
                    unknown => {
                        return Err(RuleError::new(
                            RuleErrorKind::Sandbox,
                            file,
                            None,
                            format!("the hook `{unknown}` is described but not dispatched"),
                        ))
                    }
                }
            }
            other => {
                return Err(with_id(err(
                    name,
                    format!("`{name}` must be a function, found {}", other.type_name()),
                )))
            }
        }
    }
    if hook_lines.is_empty() {
        return Err(with_id(RuleError::new(
            RuleErrorKind::Metadata,
            file,
            Some(1),
            "the rule defines no hook, so it would never run",
        ))
        .help(format!(
            "define one of {}",
            api::HOOKS
                .iter()
                .map(|(name, _)| *name)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }

    let select = match table
        .raw_get::<Value>("select")
        .map_err(|e| err("select", e.to_string()))?
    {
        Value::Nil => RuleSelect::default(),
        Value::Table(t) => parse_select(&t, known).map_err(|m| with_id(err("select", m)))?,
        other => {
            return Err(with_id(err(
                "select",
                format!("`select` must be a table, found {}", other.type_name()),
            )))
        }
    };
    for (target, hook, present) in [
        (
            "actors",
            "on_actor",
            hooks.on_actor.is_some() || hooks.on_actors.is_some(),
        ),
        ("assets", "on_asset", hooks.on_asset.is_some()),
        (
            "flows",
            "on_flow",
            hooks.on_flow.is_some() || hooks.on_flows.is_some(),
        ),
    ] {
        let selected = match target {
            "actors" => select.actors.is_some(),
            "assets" => select.assets.is_some(),
            _ => select.flows.is_some(),
        };
        if selected && !present {
            return Err(with_id(err(
                target,
                format!("`select.{target}` is given but the rule has no `{hook}` hook"),
            )));
        }
    }

    Ok((
        RuleInfo {
            id,
            title,
            kind,
            doc,
            file: file.to_string(),
            after,
            select,
            params,
            hooks: hook_lines,
        },
        hooks,
    ))
}

fn opt_string(table: &Table, key: &str) -> Result<Option<String>, String> {
    match table.raw_get::<Value>(key).map_err(|e| e.to_string())? {
        Value::Nil => Ok(None),
        Value::String(s) => Ok(Some(s.to_string_lossy())),
        other => Err(format!(
            "`{key}` must be a string, found {}",
            other.type_name()
        )),
    }
}

/// A name or a list of names.
pub(crate) fn names_of(value: Value, key: &str) -> Result<Vec<String>, String> {
    match value {
        Value::Nil => Ok(Vec::new()),
        Value::String(s) => Ok(vec![s.to_string_lossy()]),
        Value::Table(t) => {
            let mut out = Vec::new();
            for v in t.sequence_values::<Value>() {
                match v.map_err(|e| e.to_string())? {
                    Value::String(s) => out.push(s.to_string_lossy()),
                    other => {
                        return Err(format!(
                            "`{key}` must list strings, found {}",
                            other.type_name()
                        ))
                    }
                }
            }
            if out.len() != t.raw_len() || t.clone().pairs::<Value, Value>().count() != out.len() {
                return Err(format!("`{key}` must be a list of strings"));
            }
            Ok(out)
        }
        other => Err(format!(
            "`{key}` must be a string or a list of strings, found {}",
            other.type_name()
        )),
    }
}

fn names(table: &Table, key: &str) -> Result<Vec<String>, String> {
    names_of(table.raw_get::<Value>(key).map_err(|e| e.to_string())?, key)
}

fn parse_select(t: &Table, known: &KnownNames) -> Result<RuleSelect, String> {
    let mut select = RuleSelect::default();
    for pair in t.clone().pairs::<Value, Value>() {
        let (key, value) = pair.map_err(|e| e.to_string())?;
        let key = match key {
            Value::String(s) => s.to_string_lossy(),
            _ => return Err("`select` keys are `actors`, `assets` and `flows`".into()),
        };
        let target = match key.as_str() {
            "actors" => Target::Actors,
            "assets" => Target::Assets,
            "flows" => Target::Flows,
            other => {
                let hint = gil_model::diag::did_you_mean(other, ["actors", "assets", "flows"])
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                return Err(format!("unknown `select` key `{other}`{hint}"));
            }
        };
        let Value::Table(sel) = value else {
            return Err(format!(
                "`select.{key}` must be a table such as {{ kind = \"startup\" }}"
            ));
        };
        let selector =
            parse_selector(&sel, target, known).map_err(|m| format!("`select.{key}`: {m}"))?;
        match target {
            Target::Actors => select.actors = Some(selector),
            Target::Assets => select.assets = Some(selector),
            Target::Flows => select.flows = Some(selector),
        }
    }
    Ok(select)
}

/// Parses a selector table, checking keys and (where the vocabulary is closed) values.
pub(crate) fn parse_selector(
    t: &Table,
    target: Target,
    known: &KnownNames,
) -> Result<Selector, String> {
    let fields = target.fields();
    let mut clauses: Vec<(&'static str, Vec<String>)> = Vec::new();
    for pair in t.clone().pairs::<Value, Value>() {
        let (key, value) = pair.map_err(|e| e.to_string())?;
        let Value::String(key) = key else {
            return Err("selector keys must be names".into());
        };
        let key = key.to_string_lossy();
        let Some(&field) = fields.iter().find(|f| **f == key) else {
            let hint = gil_model::diag::did_you_mean(&key, fields.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(format!(
                "unknown selector key `{key}`{hint}; expected {}",
                fields.join(", ")
            ));
        };
        let values = names_of(value, field)?;
        let vocabulary: Option<(&str, Box<dyn Iterator<Item = &str>>)> = match (target, field) {
            (Target::Actors, "kind") => Some((
                "actor kind",
                Box::new(known.actor_kinds.iter().map(String::as_str)),
            )),
            (Target::Assets, "kind") => Some((
                "asset kind",
                Box::new(known.asset_kinds.iter().map(String::as_str)),
            )),
            (Target::Flows, "kind") => {
                Some(("flow kind", Box::new(api::FLOW_KINDS.iter().copied())))
            }
            (Target::Actors, "id") | (Target::Assets, "owner") => {
                Some(("actor", Box::new(known.actors.iter().map(String::as_str))))
            }
            (Target::Assets, "id") => {
                Some(("asset", Box::new(known.assets.iter().map(String::as_str))))
            }
            (Target::Flows, "from") | (Target::Flows, "to") => Some((
                "actor or asset",
                Box::new(
                    known
                        .actors
                        .iter()
                        .chain(known.assets.iter())
                        .map(String::as_str),
                ),
            )),
            (Target::Flows, "project") => Some((
                "project",
                Box::new(known.projects.iter().map(String::as_str)),
            )),
            _ => None,
        };
        if let Some((what, vocabulary)) = vocabulary {
            let vocabulary: Vec<&str> = vocabulary.collect();
            for v in &values {
                if !vocabulary.contains(&v.as_str()) {
                    let hint = gil_model::diag::did_you_mean(v, vocabulary.iter().copied())
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_default();
                    return Err(format!("unknown {what} `{v}`{hint}"));
                }
            }
        }
        clauses.push((field, values));
    }
    clauses.sort_by(|a, b| a.0.cmp(b.0));
    Ok(Selector { clauses })
}

#[cfg(test)]
mod tests {
    use super::line_of_key;

    #[test]
    fn line_of_key_finds_assignments_and_never_loops() {
        let text = "return {\n  id = \"x\",\n  after = { \"y\" },\n  idx == 1,\n}\n";
        assert_eq!(line_of_key(text, "id"), Some(2));
        assert_eq!(line_of_key(text, "after"), Some(3));
        assert_eq!(line_of_key(text, "idx"), None, "`==` is not an assignment");
        assert_eq!(line_of_key(text, ""), None);
    }
}
