//! The column table a columnar hook (`on_actors`, `on_flows`) receives: each column
//! is made from the world when the rule first reads it, and `cols.actor("from"|"to")`
//! joins flows to their actors. The column types themselves live in `columns.rs`.

use std::cell::RefCell;
use std::rc::Rc;

use mlua::{Lua, Table, Value};

use crate::columns::{NumCol, StrCol};
use crate::effect::EntityKind;
use crate::error::RuleErrorKind;
use crate::names::Sym;
use crate::world::{AttrVal, WorldState};

use super::errors::located_error;
use super::shared::Shared;

/// What a column table holds one row of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ColumnsOf {
    Actors,
    Flows,
}

/// The selected entities of one columnar call as columns.
pub(super) fn columns_table(
    lua: &Lua,
    shared: &Rc<Shared>,
    of: ColumnsOf,
    rows: Rc<Vec<usize>>,
) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("n", rows.len())?;
    // Columns are made when a rule first reads them: copying every id, kind and via
    // column of a large selection up front cost more than most rules' arithmetic.
    let made: RefCell<rustc_hash::FxHashMap<String, Value>> = RefCell::default();
    let (s, r) = (shared.clone(), rows.clone());
    let column = lua.create_function(move |lua, (_, key): (Value, Value)| {
        let Value::String(key) = key else {
            return Ok(Value::Nil);
        };
        let key = key.to_string_lossy();
        if let Some(v) = made.borrow().get(&key) {
            return Ok(v.clone());
        }
        let w = s.world.borrow();
        let texts = |f: &dyn Fn(usize) -> String| StrCol::texts(r.iter().map(|&i| f(i)).collect());
        // Names the world holds as symbols stay symbols: their texts are read only
        // when a rule asks for one, and an effect naming an entity by this column
        // needs no lookup by text.
        let names = |f: &dyn Fn(usize) -> Sym| {
            StrCol::names(r.iter().map(|&i| f(i)).collect(), w.names.clone())
        };
        let numbers = |f: &dyn Fn(usize) -> f64| NumCol(Rc::new(r.iter().map(|&i| f(i)).collect()));
        let (a, f, n) = (&w.actors, &w.flows, &w.names);
        let value = match (of, key.as_str()) {
            (ColumnsOf::Actors, "id") => match r.iter().map(|&i| w.actor_sym(i)).collect() {
                Some(syms) => Some(Column::Text(StrCol::names(syms, w.names.clone()))),
                None => Some(Column::Text(texts(&|i| a[i].id.clone()))),
            },
            (ColumnsOf::Actors, "kind") => Some(Column::Text(texts(&|i| a[i].kind.clone()))),
            (ColumnsOf::Actors, "region") => Some(Column::Text(texts(&|i| {
                a[i].region.clone().unwrap_or_default()
            }))),
            (ColumnsOf::Actors, "count") => Some(Column::Number(numbers(&|i| a[i].count))),
            (ColumnsOf::Flows, "id") => Some(Column::Text(names(&|i| f[i].id))),
            (ColumnsOf::Flows, "from") => Some(Column::Text(names(&|i| f[i].from))),
            (ColumnsOf::Flows, "to") => Some(Column::Text(names(&|i| f[i].to))),
            (ColumnsOf::Flows, "kind") => {
                Some(Column::Text(texts(&|i| f[i].kind.as_str().to_string())))
            }
            (ColumnsOf::Flows, "via") => Some(Column::Text(texts(&|i| {
                n.opt(f[i].via).unwrap_or_default().into()
            }))),
            (ColumnsOf::Flows, "project") => Some(Column::Text(texts(&|i| {
                n.opt(f[i].project).unwrap_or_default().into()
            }))),
            (ColumnsOf::Flows, "amount") => Some(Column::Number(numbers(&|i| f[i].amount))),
            _ => None,
        };
        drop(w);
        let value = match value {
            Some(Column::Text(c)) => Value::UserData(lua.create_userdata(c)?),
            Some(Column::Number(c)) => Value::UserData(lua.create_userdata(c)?),
            None => Value::Nil,
        };
        made.borrow_mut().insert(key, value.clone());
        Ok(value)
    })?;
    let meta = lua.create_table()?;
    meta.raw_set("__index", column)?;
    meta.set_readonly(true);
    t.set_metatable(Some(meta))?;
    match of {
        ColumnsOf::Actors => {
            let (s, r) = (shared.clone(), rows.clone());
            let attr = lua.create_function(move |_, name: String| {
                let number = |v: Option<&AttrVal>| match v {
                    Some(AttrVal::Num(n)) => *n,
                    _ => f64::NAN,
                };
                Ok(NumCol(Rc::new(attr_column(
                    &s.world.borrow(),
                    &r,
                    &name,
                    number,
                ))))
            })?;
            t.raw_set("attr", attr)?;
            let (s, r) = (shared.clone(), rows.clone());
            let text = lua.create_function(move |_, name: String| {
                let text = |v: Option<&AttrVal>| match v {
                    Some(AttrVal::Text(s)) => s.clone(),
                    _ => String::new(),
                };
                Ok(StrCol::texts(attr_column(
                    &s.world.borrow(),
                    &r,
                    &name,
                    text,
                )))
            })?;
            t.raw_set("text", text)?;
        }
        ColumnsOf::Flows => {
            let (s, r) = (shared.clone(), rows.clone());
            let actor = lua.create_function(move |lua, field: String| {
                let fail = |m: String| located_error(lua, &s, RuleErrorKind::Runtime, m);
                let actors: Vec<usize> = {
                    let w = s.world.borrow();
                    r.iter()
                        .map(|&i| {
                            let flow = w.flows.get(i);
                            let end = match field.as_str() {
                                "from" => flow.map(|f| f.from),
                                "to" => flow.map(|f| f.to),
                                _ => {
                                    return Err(fail(format!(
                                        "cols.actor: expected \"from\" or \"to\", got `{field}`"
                                    )))
                                }
                            };
                            let actor = end.and_then(|sym| w.entity_of(sym)).and_then(|at| {
                                (at.kind == EntityKind::Actor).then_some(at.index)
                            });
                            actor.ok_or_else(|| {
                                let id = end.map(|sym| w.name(sym)).unwrap_or_default();
                                fail(format!(
                                    "cols.actor: `{id}` (in `{field}`) is not an actor; filter the rows first"
                                ))
                            })
                        })
                        .collect::<mlua::Result<_>>()?
                };
                s.memory.unguarded(lua, || columns_table(lua, &s, ColumnsOf::Actors, Rc::new(actors)))
            })?;
            t.raw_set("actor", actor)?;
        }
    }
    t.set_readonly(true);
    Ok(t)
}

/// Attribute `name` of the actors at `rows`, row by row, through `pick`.
fn attr_column<T>(
    world: &WorldState,
    rows: &[usize],
    name: &str,
    pick: impl Fn(Option<&AttrVal>) -> T,
) -> Vec<T> {
    rows.iter()
        .map(|&i| pick(world.actors.get(i).and_then(|a| a.attrs.get(name))))
        .collect()
}

/// A column made on first read.
enum Column {
    Text(StrCol),
    Number(NumCol),
}
