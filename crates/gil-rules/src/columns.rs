//! Columnar hooks (`on_actors`, `on_flows`): the selected entities arrive as columns,
//! and arithmetic, `col.min` / `col.max` / `col.where` and effect creation run in Rust
//! over whole columns — one crossing into Lua per rule instead of one per entity. The
//! effects are the same, in the same order, as the per-entity form.

use std::rc::Rc;

use mlua::{FromLua, Lua, MetaMethod, UserData, UserDataMethods, Value};

use crate::names::{Names, Sym};

/// Numbers, one per selected entity.
#[derive(Debug, Clone)]
pub struct NumCol(pub Rc<Vec<f64>>);

/// Names (ids, kinds, …), one per selected entity.
#[derive(Debug, Clone)]
pub struct StrCol(Rc<StrRows>);

#[derive(Debug)]
enum StrRows {
    /// Texts made by a rule or read from attributes.
    Texts(Vec<String>),
    /// Names the world holds as symbols (ids, `from`, `to`): each row's symbol, its text
    /// read from the run's names only when asked. An effect naming entities by such a
    /// column, a comparison with a name and `filter` need no text at all.
    Names { syms: Vec<Sym>, names: Names },
}

impl StrCol {
    /// A column of texts made by a rule or read from attributes.
    pub fn texts(texts: Vec<String>) -> Self {
        StrCol(Rc::new(StrRows::Texts(texts)))
    }

    /// A column of names by their symbols in `names`.
    pub fn names(syms: Vec<Sym>, names: Names) -> Self {
        StrCol(Rc::new(StrRows::Names { syms, names }))
    }

    pub fn len(&self) -> usize {
        match &*self.0 {
            StrRows::Texts(texts) => texts.len(),
            StrRows::Names { syms, .. } => syms.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `i`'s text (0-based).
    pub fn get(&self, i: usize) -> Option<&str> {
        match &*self.0 {
            StrRows::Texts(texts) => texts.get(i).map(String::as_str),
            StrRows::Names { syms, names } => syms.get(i).map(|&sym| names.name(sym)),
        }
    }

    /// Each row's text, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// Each row's symbol, for a column of names the world holds.
    pub fn syms(&self) -> Option<&[Sym]> {
        match &*self.0 {
            StrRows::Texts(_) => None,
            StrRows::Names { syms, .. } => Some(syms),
        }
    }

    /// Row by row: the text is one of `wanted`. A column of names compares symbols.
    fn is_any_of(&self, wanted: &[String]) -> BoolCol {
        BoolCol(Rc::new(match &*self.0 {
            StrRows::Texts(texts) => texts.iter().map(|x| wanted.contains(x)).collect(),
            StrRows::Names { syms, names } => {
                // A text that is no name is no row's.
                let wanted: Vec<Sym> = wanted.iter().filter_map(|w| names.get(w)).collect();
                syms.iter().map(|s| wanted.contains(s)).collect()
            }
        }))
    }

    fn filtered(&self, keep: &BoolCol) -> mlua::Result<StrCol> {
        Ok(StrCol(Rc::new(match &*self.0 {
            StrRows::Texts(texts) => StrRows::Texts(filter(texts, keep)?),
            StrRows::Names { syms, names } => StrRows::Names {
                syms: filter(syms, keep)?,
                names: names.clone(),
            },
        })))
    }
}

/// Conditions, one per selected entity (from `a:gt(b)`, `ids:eq("x")`, …).
#[derive(Debug, Clone)]
pub struct BoolCol(pub Rc<Vec<bool>>);

/// A column or a number, broadcast over the rows.
#[derive(Debug, Clone)]
pub enum NumArg {
    Col(NumCol),
    Num(f64),
}

impl NumArg {
    pub fn at(&self, i: usize) -> f64 {
        match self {
            NumArg::Col(c) => c.0.get(i).copied().unwrap_or(f64::NAN),
            NumArg::Num(n) => *n,
        }
    }

    pub fn rows(&self) -> Option<usize> {
        match self {
            NumArg::Col(c) => Some(c.0.len()),
            NumArg::Num(_) => None,
        }
    }
}

impl FromLua for NumArg {
    fn from_lua(value: Value, _: &Lua) -> mlua::Result<Self> {
        match value {
            Value::Number(n) => Ok(NumArg::Num(n)),
            Value::Integer(i) => Ok(NumArg::Num(i as f64)),
            Value::UserData(ud) if ud.is::<NumCol>() => {
                Ok(NumArg::Col(ud.borrow::<NumCol>()?.clone()))
            }
            other => Err(mlua::Error::runtime(format!(
                "expected a number or a number column, got {}",
                other.type_name()
            ))),
        }
    }
}

impl FromLua for NumCol {
    fn from_lua(value: Value, _: &Lua) -> mlua::Result<Self> {
        match value {
            Value::UserData(ud) if ud.is::<NumCol>() => Ok(ud.borrow::<NumCol>()?.clone()),
            other => Err(mlua::Error::runtime(format!(
                "expected a number column, got {}",
                other.type_name()
            ))),
        }
    }
}

impl FromLua for BoolCol {
    fn from_lua(value: Value, _: &Lua) -> mlua::Result<Self> {
        match value {
            Value::UserData(ud) if ud.is::<BoolCol>() => Ok(ud.borrow::<BoolCol>()?.clone()),
            other => Err(mlua::Error::runtime(format!(
                "expected a condition column, got {}",
                other.type_name()
            ))),
        }
    }
}

/// Applies `op` row by row; columns must have the same length.
pub fn zip(a: &NumArg, b: &NumArg, op: impl Fn(f64, f64) -> f64) -> mlua::Result<NumCol> {
    let n = match (a.rows(), b.rows()) {
        (Some(x), Some(y)) if x != y => {
            return Err(mlua::Error::runtime(format!(
                "columns of different lengths ({x} and {y})"
            )))
        }
        (Some(x), _) | (None, Some(x)) => x,
        (None, None) => 1,
    };
    Ok(NumCol(Rc::new(
        (0..n).map(|i| op(a.at(i), b.at(i))).collect(),
    )))
}

fn compare(a: &NumCol, b: &NumArg, op: impl Fn(f64, f64) -> bool) -> mlua::Result<BoolCol> {
    let left = NumArg::Col(a.clone());
    let values = zip(&left, b, |x, y| if op(x, y) { 1.0 } else { 0.0 })?;
    Ok(BoolCol(Rc::new(
        values.0.iter().map(|v| *v != 0.0).collect(),
    )))
}

/// The rows of `values` where `keep` holds, in order (`col:filter(cond)`).
fn filter<T: Clone>(values: &[T], keep: &BoolCol) -> mlua::Result<Vec<T>> {
    if keep.0.len() != values.len() {
        return Err(mlua::Error::runtime(format!(
            "columns of different lengths ({} and {})",
            values.len(),
            keep.0.len()
        )));
    }
    Ok(values
        .iter()
        .zip(keep.0.iter())
        .filter(|(_, k)| **k)
        .map(|(v, _)| v.clone())
        .collect())
}

impl UserData for NumCol {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("filter", |_, this, keep: BoolCol| {
            Ok(NumCol(Rc::new(filter(&this.0, &keep)?)))
        });
        methods.add_meta_function(MetaMethod::Add, |_, (a, b): (NumArg, NumArg)| {
            zip(&a, &b, |x, y| x + y)
        });
        methods.add_meta_function(MetaMethod::Sub, |_, (a, b): (NumArg, NumArg)| {
            zip(&a, &b, |x, y| x - y)
        });
        methods.add_meta_function(MetaMethod::Mul, |_, (a, b): (NumArg, NumArg)| {
            zip(&a, &b, |x, y| x * y)
        });
        methods.add_meta_function(MetaMethod::Div, |_, (a, b): (NumArg, NumArg)| {
            zip(&a, &b, |x, y| x / y)
        });
        methods.add_meta_function(MetaMethod::Pow, |_, (a, b): (NumArg, NumArg)| {
            zip(&a, &b, f64::powf)
        });
        methods.add_meta_function(MetaMethod::Unm, |_, (a, _): (NumCol, Value)| {
            Ok(NumCol(Rc::new(a.0.iter().map(|x| -x).collect())))
        });
        methods.add_meta_method(MetaMethod::Len, |_, this, ()| Ok(this.0.len()));
        methods.add_method("sum", |_, this, ()| Ok(this.0.iter().sum::<f64>()));
        methods.add_method("get", |_, this, i: usize| {
            Ok(this.0.get(i.wrapping_sub(1)).copied())
        });
        methods.add_method("gt", |_, this, b: NumArg| compare(this, &b, |x, y| x > y));
        methods.add_method("ge", |_, this, b: NumArg| compare(this, &b, |x, y| x >= y));
        methods.add_method("lt", |_, this, b: NumArg| compare(this, &b, |x, y| x < y));
        methods.add_method("le", |_, this, b: NumArg| compare(this, &b, |x, y| x <= y));
    }
}

impl UserData for StrCol {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::Len, |_, this, ()| Ok(this.len()));
        methods.add_method("get", |_, this, i: usize| {
            Ok(this.get(i.wrapping_sub(1)).map(str::to_string))
        });
        methods.add_method("eq", |_, this, s: String| Ok(this.is_any_of(&[s])));
        methods.add_method("is_in", |_, this, names: Vec<String>| {
            Ok(this.is_any_of(&names))
        });
        methods.add_method("filter", |_, this, keep: BoolCol| this.filtered(&keep));
    }
}

impl UserData for BoolCol {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::Len, |_, this, ()| Ok(this.0.len()));
        methods.add_method("count", |_, this, ()| {
            Ok(this.0.iter().filter(|b| **b).count())
        });
        methods.add_method("get", |_, this, i: usize| {
            Ok(this.0.get(i.wrapping_sub(1)).copied())
        });
    }
}

/// The `col` library: `col.min(a, b)`, `col.max(a, b)`, `col.where(cond, a, b)`.
pub fn library(lua: &Lua) -> mlua::Result<mlua::Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "min",
        lua.create_function(|_, (a, b): (NumArg, NumArg)| zip(&a, &b, f64::min))?,
    )?;
    t.raw_set(
        "max",
        lua.create_function(|_, (a, b): (NumArg, NumArg)| zip(&a, &b, f64::max))?,
    )?;
    t.raw_set(
        "where",
        lua.create_function(|_, (cond, a, b): (BoolCol, NumArg, NumArg)| {
            let n = cond.0.len();
            for len in [a.rows(), b.rows()].into_iter().flatten() {
                if len != n {
                    return Err(mlua::Error::runtime(format!(
                        "columns of different lengths ({n} and {len})"
                    )));
                }
            }
            Ok(NumCol(Rc::new(
                (0..n)
                    .map(|i| if cond.0[i] { a.at(i) } else { b.at(i) })
                    .collect(),
            )))
        })?,
    )?;
    Ok(t)
}

/// A field of an effect table: one value, or one per row.
pub enum Cell {
    Text(String),
    Texts(StrCol),
    Number(f64),
    Numbers(NumCol),
    Other(Value),
}

impl Cell {
    pub fn of(value: Value) -> Cell {
        match value {
            Value::String(s) => Cell::Text(s.to_string_lossy()),
            Value::Number(n) => Cell::Number(n),
            Value::Integer(i) => Cell::Number(i as f64),
            Value::UserData(ud) if ud.is::<StrCol>() => match ud.borrow::<StrCol>() {
                Ok(c) => Cell::Texts(c.clone()),
                Err(_) => Cell::Other(Value::UserData(ud)),
            },
            Value::UserData(ud) if ud.is::<NumCol>() => match ud.borrow::<NumCol>() {
                Ok(c) => Cell::Numbers(c.clone()),
                Err(_) => Cell::Other(Value::UserData(ud)),
            },
            other => Cell::Other(other),
        }
    }

    pub fn rows(&self) -> Option<usize> {
        match self {
            Cell::Texts(c) => Some(c.len()),
            Cell::Numbers(c) => Some(c.0.len()),
            _ => None,
        }
    }

    pub fn is_column(value: &Value) -> bool {
        matches!(value, Value::UserData(ud) if ud.is::<StrCol>() || ud.is::<NumCol>())
    }
}
