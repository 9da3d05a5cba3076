//! Reading the tables rules pass to `ctx`: checking their field names against `api.rs`,
//! and reading each field with the type the effect needs.
//!
//! A [`Spec`]'s fields come either from a Lua table or from one row of a table whose
//! values include columns, so a columnar call makes its effects without a Lua table
//! per row.

use std::collections::BTreeMap;

use mlua::{Function, Lua, Table, Value};

use crate::api;
use crate::columns::Cell;
use crate::effect::{EffectKind, Provenance};
use crate::meta;
use crate::names::Sym;
use crate::select::{Selector, Target};
use crate::world::EntityAt;

use super::errors::effect_error;
use super::shared::Shared;

/// Luau source of `FieldChecks::first_unknown`; raw `next`, so a metatable cannot run code.
/// Also says whether any value is a userdata (a column), so scalar effect calls need
/// no second pass.
const FIRST_UNKNOWN: &str = "local next, type = next, type
return function(t, allowed)
  local columns = false
  for k, v in next, t do
    if allowed[k] == nil then return k, columns end
    if type(v) == 'userdata' then columns = true end
  end
  return nil, columns
end";

/// What checks an effect table's field names inside Luau.
pub(super) struct FieldChecks {
    /// `first_unknown(t, allowed)`: the first key of effect table `t` not in `allowed`,
    /// found inside Luau (iterating from Rust made a handle per key and per value).
    first_unknown: Function,
    /// Each effect class's field names as a Lua set, for `first_unknown`.
    allowed: rustc_hash::FxHashMap<&'static str, Table>,
}

impl FieldChecks {
    pub(super) fn new(lua: &Lua) -> mlua::Result<Self> {
        let make = lua
            .load(FIRST_UNKNOWN)
            .set_name("=gil.fields")
            .set_mode(mlua::chunk::ChunkMode::Text)
            .into_function()?;
        let first_unknown: Function = make.call(())?;
        let mut allowed = rustc_hash::FxHashMap::default();
        for class in api::CLASSES {
            let set = lua.create_table()?;
            for field in class.fields {
                set.raw_set(field.name, true)?;
            }
            set.set_readonly(true);
            allowed.insert(class.name, set);
        }
        Ok(FieldChecks {
            first_unknown,
            allowed,
        })
    }
}

/// Where an effect's fields come from: a Lua table, or one row of an effect table whose
/// values include columns (read straight from the columns, no Lua table per row).
enum Fields<'c> {
    Table(Table),
    Row(&'c BTreeMap<String, Cell>, usize),
}

/// One field as the host reads it; text borrowed from a column where it can be.
enum Field<'a> {
    Nil,
    Number(f64),
    Text(std::borrow::Cow<'a, str>),
    Lua(Value),
}

/// The error for a field name `function`'s table does not have.
fn unknown_field(
    lua: &Lua,
    shared: &Shared,
    function: &'static str,
    fields: &[api::Field],
    name: &str,
) -> mlua::Error {
    let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
    let hint = gil_model::diag::did_you_mean(name, names.iter().copied())
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default();
    effect_error(
        lua,
        shared,
        function,
        format!("unknown field `{name}`{hint}"),
    )
}

/// Rejects a field `class` does not have; says whether any value is a column.
pub(super) fn check_fields(
    lua: &Lua,
    shared: &Shared,
    function: &'static str,
    class: &str,
    table: &Table,
) -> mlua::Result<bool> {
    let Some(allowed) = shared.fields.allowed.get(class) else {
        return Ok(false);
    };
    let (unknown, columns) = shared
        .fields
        .first_unknown
        .call::<(Value, bool)>((table, allowed))?;
    match unknown {
        Value::Nil => Ok(columns),
        Value::String(s) => {
            let fields: &[api::Field] = api::class(class).map(|c| c.fields).unwrap_or(&[]);
            let name = s.to_string_lossy();
            Err(unknown_field(lua, shared, function, fields, &name))
        }
        other => Err(effect_error(
            lua,
            shared,
            function,
            format!("unexpected {} key; fields are named", other.type_name()),
        )),
    }
}

/// Reads an effect table, rejecting unknown fields and values of the wrong type.
pub(super) struct Spec<'a, 'c> {
    lua: &'a Lua,
    shared: &'a Shared,
    function: &'static str,
    fields: Fields<'c>,
    /// The call site, when one call makes many effects (columns): found once.
    at: Option<&'c Provenance>,
}

impl<'a, 'c> Spec<'a, 'c> {
    pub(super) fn new(
        lua: &'a Lua,
        shared: &'a Shared,
        function: &'static str,
        class: &str,
        value: Value,
    ) -> mlua::Result<Self> {
        let Value::Table(table) = value else {
            return Err(effect_error(
                lua,
                shared,
                function,
                format!("expected a table, got {}", value.type_name()),
            ));
        };
        check_fields(lua, shared, function, class, &table)?;
        Ok(Spec::table(lua, shared, function, table))
    }

    /// An effect table whose field names were checked already.
    pub(super) fn table(
        lua: &'a Lua,
        shared: &'a Shared,
        function: &'static str,
        table: Table,
    ) -> Self {
        Spec {
            lua,
            shared,
            function,
            fields: Fields::Table(table),
            at: None,
        }
    }

    /// Row `row` of a column effect table whose field names were checked already.
    pub(super) fn row(
        lua: &'a Lua,
        shared: &'a Shared,
        function: &'static str,
        cells: &'c BTreeMap<String, Cell>,
        row: usize,
        at: &'c Provenance,
    ) -> Self {
        Spec {
            lua,
            shared,
            function,
            fields: Fields::Row(cells, row),
            at: Some(at),
        }
    }

    pub(super) fn fail(&self, message: String) -> mlua::Error {
        effect_error(self.lua, self.shared, self.function, message)
    }

    fn field(&self, key: &str) -> mlua::Result<Field<'c>> {
        Ok(match &self.fields {
            Fields::Table(table) => match table.raw_get::<Value>(self.shared.keys.k(key)?)? {
                Value::Nil => Field::Nil,
                Value::Number(n) => Field::Number(n),
                Value::Integer(i) => Field::Number(i as f64),
                Value::String(s) => Field::Text(s.to_string_lossy().into()),
                other => Field::Lua(other),
            },
            Fields::Row(cells, i) => match cells.get(key) {
                None => Field::Nil,
                Some(Cell::Text(s)) => Field::Text(s.as_str().into()),
                Some(Cell::Texts(c)) => match c.get(*i) {
                    Some(s) => Field::Text(s.into()),
                    None => Field::Nil,
                },
                Some(Cell::Number(n)) => Field::Number(*n),
                Some(Cell::Numbers(c)) => match c.0.get(*i) {
                    Some(n) => Field::Number(*n),
                    None => Field::Nil,
                },
                Some(Cell::Other(v)) => Field::Lua(v.clone()),
            },
        })
    }

    /// A field as a Lua value (for the few fields that take tables or any type).
    pub(super) fn get(&self, key: &str) -> mlua::Result<Value> {
        Ok(match self.field(key)? {
            Field::Nil => Value::Nil,
            Field::Number(n) => Value::Number(n),
            Field::Text(s) => Value::String(self.lua.create_string(s.as_bytes())?),
            Field::Lua(v) => v,
        })
    }

    pub(super) fn string(&self, key: &str) -> mlua::Result<Option<String>> {
        match self.field(key)? {
            Field::Nil => Ok(None),
            Field::Text(s) => Ok(Some(s.into_owned())),
            Field::Number(_) => {
                Err(self.fail(format!("field `{key}` must be a string, got number")))
            }
            Field::Lua(other) => Err(self.fail(format!(
                "field `{key}` must be a string, got {}",
                other.type_name()
            ))),
        }
    }

    /// An actor or asset named by field `key`: its id's symbol and place in the world,
    /// or the text that names none (`Err`); `None` when the field is absent. A column
    /// of ids from the world carries the symbols, so its rows need no lookup by text.
    pub(super) fn entity(
        &self,
        key: &str,
    ) -> mlua::Result<Option<Result<(Sym, EntityAt), String>>> {
        if let Fields::Row(cells, i) = &self.fields {
            if let Some(syms) = match cells.get(key) {
                Some(Cell::Texts(c)) => c.syms(),
                _ => None,
            } {
                let Some(&sym) = syms.get(*i) else {
                    return Ok(None);
                };
                let w = self.shared.world.borrow();
                return Ok(Some(match w.entity_of(sym) {
                    Some(at) => Ok((sym, at)),
                    None => Err(w.name(sym).to_string()),
                }));
            }
        }
        let Some(text) = self.string(key)? else {
            return Ok(None);
        };
        let found = self.shared.world.borrow().entity_named(&text);
        Ok(Some(found.ok_or(text)))
    }

    pub(super) fn required_string(&self, key: &str) -> mlua::Result<String> {
        self.string(key)?
            .ok_or_else(|| self.fail(format!("field `{key}` is required")))
    }

    pub(super) fn number(&self, key: &str) -> mlua::Result<Option<f64>> {
        let v = match self.field(key)? {
            Field::Nil => return Ok(None),
            Field::Number(n) => Value::Number(n),
            Field::Text(_) => {
                return Err(self.fail(format!("field `{key}` must be a number, got string")))
            }
            Field::Lua(v) => v,
        };
        check_number(&v)
            .map(Some)
            .map_err(|m| self.fail(format!("field `{key}` {m}")))
    }

    pub(super) fn names(&self, key: &'static str) -> mlua::Result<Vec<String>> {
        meta::names_of(self.get(key)?, key).map_err(|m| self.fail(m))
    }

    /// Records the effect with this call's provenance.
    pub(super) fn push(&self, kind: EffectKind) {
        match self.at {
            Some(at) => self.shared.record(kind, at.clone()),
            None => self.shared.push(self.lua, kind),
        }
    }

    /// A selector given as a field's value (`adjust`'s `select`).
    pub(super) fn selector(&self, value: Value) -> mlua::Result<Selector> {
        selector_arg(self.lua, self.shared, self.function, Target::Flows, value)
    }
}

pub(super) fn check_number(v: &Value) -> Result<f64, String> {
    let n = match v {
        Value::Number(n) => *n,
        Value::Integer(i) => *i as f64,
        other => return Err(format!("must be a number, got {}", other.type_name())),
    };
    if n.is_nan() {
        return Err("must be a number, got NaN".into());
    }
    if n.is_infinite() {
        return Err(format!(
            "must be finite, got {}",
            if n > 0.0 { "inf" } else { "-inf" }
        ));
    }
    Ok(n)
}

/// The fields of an effect table whose values include columns, and the number of rows
/// (all columns must agree); `None` when no value is a column.
pub(super) fn column_rows(
    lua: &Lua,
    shared: &Shared,
    function: &'static str,
    table: &Table,
) -> mlua::Result<Option<(BTreeMap<String, Cell>, usize)>> {
    let mut any = false;
    let mut cells = BTreeMap::new();
    for pair in table.clone().pairs::<Value, Value>() {
        let (key, value) = pair?;
        let Value::String(key) = key else {
            return Ok(None);
        };
        any |= Cell::is_column(&value);
        cells.insert(key.to_string_lossy(), Cell::of(value));
    }
    if !any {
        return Ok(None);
    }
    let mut rows: Option<usize> = None;
    for (name, cell) in &cells {
        if let Some(n) = cell.rows() {
            match rows {
                Some(m) if m != n => {
                    return Err(effect_error(
                        lua,
                        shared,
                        function,
                        format!("column `{name}` has {n} rows, another has {m}"),
                    ))
                }
                _ => rows = Some(n),
            }
        }
    }
    Ok(Some((cells, rows.unwrap_or(0))))
}

/// A selector argument (`ctx.flows`, `ctx.sum`, `ctx.total`): nil selects every flow.
pub(super) fn selector_arg(
    lua: &Lua,
    shared: &Shared,
    function: &'static str,
    target: Target,
    value: Value,
) -> mlua::Result<Selector> {
    match value {
        Value::Nil => Ok(Selector::default()),
        Value::Table(t) => meta::parse_selector(&t, target, &shared.known)
            .map_err(|m| effect_error(lua, shared, function, m)),
        other => Err(effect_error(
            lua,
            shared,
            function,
            format!("expected a selector table, got {}", other.type_name()),
        )),
    }
}
