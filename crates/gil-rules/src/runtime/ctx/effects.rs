//! The `ctx` functions that record effects: `flow`, `adjust`, `set`, `metric`,
//! `finding`, `role`. Each checks its arguments against this step's world, fails at
//! the calling line, and records the effect with its provenance; the engine applies
//! the rule's effects when the rule ends.

use mlua::{Lua, Value};

use crate::columns::NumCol;
use crate::effect::{AdjustOp, AdjustTarget, EffectKind, EntityKind, Level, NewFlow, Role};
use crate::names::Sym;
use crate::world::AttrVal;

use crate::runtime::errors::effect_error;
use crate::runtime::shared::Shared;
use crate::runtime::spec::{check_fields, check_number, column_rows, Spec};

/// Runs an effect function once when the table holds no column. With columns, the call
/// becomes one effect holding every row when `rows.rs` can read it so, else the function
/// runs once per row, reading the row from the columns in place; the rows share one
/// provenance either way.
pub(super) fn with_columns(
    lua: &Lua,
    s: &Shared,
    function: &'static str,
    class: &str,
    spec: Value,
    effect: for<'c> fn(&Shared, Spec<'_, 'c>) -> mlua::Result<()>,
) -> mlua::Result<()> {
    let Value::Table(table) = spec else {
        return effect(s, Spec::new(lua, s, function, class, spec)?); // "expected a table"
    };
    let has_columns = check_fields(lua, s, function, class, &table)?;
    if has_columns {
        if let Some((cells, rows)) = column_rows(lua, s, function, &table)? {
            if rows == 0 {
                return Ok(());
            }
            let at = s.provenance(lua);
            let whole = super::rows::effect(function, &s.world.borrow(), &cells, rows);
            if let Some(kind) = whole {
                s.record(kind, at);
                return Ok(());
            }
            for i in 0..rows {
                effect(s, Spec::row(lua, s, function, &cells, i, &at))?;
            }
            return Ok(());
        }
    }
    effect(s, Spec::table(lua, s, function, table))
}

/// `ctx.flow(spec)`: a new flow in this step between known actors or assets.
pub(super) fn flow(s: &Shared, spec: Spec<'_, '_>) -> mlua::Result<()> {
    let from = flow_end(s, &spec, "from")?;
    let to = flow_end(s, &spec, "to")?;
    let kind_name = spec.required_string("kind")?;
    let Some(kind) = gil_model::FlowKind::parse(&kind_name) else {
        return Err(spec.fail(format!(
            "field `kind` must be funding, compute or power, got `{kind_name}`"
        )));
    };
    let amount = spec
        .number("amount")?
        .ok_or_else(|| spec.fail("field `amount` is required".into()))?;
    if amount < 0.0 {
        return Err(spec.fail(format!("field `amount` must not be negative, got {amount}")));
    }
    let project = spec.string("project")?;
    if let Some(p) = &project {
        if s.world.borrow().project_index(p).is_none() {
            return Err(spec.fail(format!("field `project`: unknown project `{p}`")));
        }
    }
    let flow = NewFlow {
        id: spec.string("id")?,
        from,
        to,
        kind,
        via: spec.string("via")?.map(Into::into),
        amount,
        project: project.map(Into::into),
        tags: spec.names("tags")?,
        note: spec.string("note")?.map(Into::into),
    };
    spec.push(EffectKind::Flow(flow));
    Ok(())
}

/// A flow's end (`from`, `to`): the symbol of a known actor's or asset's id.
fn flow_end(s: &Shared, spec: &Spec<'_, '_>, key: &str) -> mlua::Result<Sym> {
    match spec.entity(key)? {
        Some(Ok((sym, _))) => Ok(sym),
        None => Err(spec.fail(format!("field `{key}` is required"))),
        Some(Err(id)) => {
            let w = s.world.borrow();
            let candidates = w
                .actors
                .iter()
                .map(|a| a.id.as_str())
                .chain(w.assets.iter().map(|a| a.id.as_str()));
            let hint = gil_model::diag::did_you_mean(&id, candidates)
                .map(|h| format!(" (did you mean `{h}`?)"))
                .unwrap_or_default();
            Err(spec.fail(format!(
                "field `{key}`: unknown actor or asset `{id}`{hint}"
            )))
        }
    }
}

/// `ctx.adjust(spec)`: scale, add to or set one flow or every matching flow.
pub(super) fn adjust(s: &Shared, spec: Spec<'_, '_>) -> mlua::Result<()> {
    let flow = spec.string("flow")?;
    let select = spec.get("select")?;
    let target = match (flow, select) {
        (Some(id), Value::Nil) => {
            let Some(index) = s.world.borrow().flow_index(&id) else {
                return Err(spec.fail(format!("field `flow`: unknown flow `{id}` in this step")));
            };
            AdjustTarget::Flow { index }
        }
        (None, sel @ Value::Table(_)) => AdjustTarget::Select(spec.selector(sel)?),
        (None, Value::Nil) => {
            return Err(spec.fail("give `flow` (an id) or `select` (a selector)".into()))
        }
        (Some(_), _) => return Err(spec.fail("give `flow` or `select`, not both".into())),
        (None, other) => {
            return Err(spec.fail(format!(
                "field `select` must be a table, got {}",
                other.type_name()
            )))
        }
    };
    let ops = [
        ("scale", spec.number("scale")?),
        ("add", spec.number("add")?),
        ("set", spec.number("set")?),
    ];
    let given: Vec<_> = ops.iter().filter(|(_, v)| v.is_some()).collect();
    let op = match given.as_slice() {
        [(name, Some(v))] => match *name {
            "scale" if *v < 0.0 => {
                return Err(spec.fail(format!("field `scale` must not be negative, got {v}")))
            }
            "set" if *v < 0.0 => {
                return Err(spec.fail(format!("field `set` must not be negative, got {v}")))
            }
            "scale" => AdjustOp::Scale(*v),
            "add" => AdjustOp::Add(*v),
            _ => AdjustOp::Set(*v),
        },
        [] => return Err(spec.fail("give one of `scale`, `add` or `set`".into())),
        _ => return Err(spec.fail("give only one of `scale`, `add` or `set`".into())),
    };
    spec.push(EffectKind::Adjust { target, op });
    Ok(())
}

/// `ctx.set(spec)`: an attribute of an actor or asset, from this step on.
pub(super) fn set(s: &Shared, spec: Spec<'_, '_>) -> mlua::Result<()> {
    let (entity, named) = match (spec.entity("actor")?, spec.entity("asset")?) {
        (Some(a), None) => (EntityKind::Actor, a),
        (None, Some(a)) => (EntityKind::Asset, a),
        (None, None) => return Err(spec.fail("give `actor` or `asset`".into())),
        (Some(_), Some(_)) => return Err(spec.fail("give `actor` or `asset`, not both".into())),
    };
    let index = match named {
        Ok((_, at)) if at.kind == entity => at.index,
        // An id of the other kind (an asset given as `actor`) names no such entity.
        Ok((sym, _)) => return Err(unknown_entity(&spec, entity, s.world.borrow().name(sym))),
        Err(id) => return Err(unknown_entity(&spec, entity, &id)),
    };
    let attr = spec.required_string("attr")?;
    let value = match spec.get("value")? {
        Value::Nil => return Err(spec.fail("field `value` is required".into())),
        Value::Boolean(b) => AttrVal::Bool(b),
        Value::String(t) => AttrVal::Text(t.to_string_lossy()),
        v => AttrVal::Num(check_number(&v).map_err(|m| spec.fail(format!("field `value` {m}")))?),
    };
    spec.push(EffectKind::Set {
        entity,
        index,
        attr: attr.into(),
        value,
    });
    Ok(())
}

fn unknown_entity(spec: &Spec<'_, '_>, entity: EntityKind, id: &str) -> mlua::Error {
    let what = match entity {
        EntityKind::Actor => "actor",
        EntityKind::Asset => "asset",
    };
    spec.fail(format!("field `{what}`: unknown {what} `{id}`"))
}

/// `ctx.metric(name, value)`: adds to this step's metric. A number column adds each
/// row in order, exactly as per-entity calls would.
pub(super) fn metric(lua: &Lua, s: &Shared, (name, value): (Value, Value)) -> mlua::Result<()> {
    let column = match &value {
        Value::UserData(ud) => ud.borrow::<NumCol>().ok().map(|c| c.0.clone()),
        _ => None,
    };
    match (column, &name) {
        (Some(values), Value::String(text)) => {
            for v in values.iter() {
                check_number(&Value::Number(*v))
                    .map_err(|m| effect_error(lua, s, "metric", format!("the value {m}")))?;
            }
            if !values.is_empty() {
                let name = text.to_string_lossy();
                let values = values.to_vec();
                s.push(lua, EffectKind::MetricRows { name, values });
            }
            Ok(())
        }
        _ => scalar_metric(lua, s, (name, value)),
    }
}

/// `ctx.metric` with one value.
fn scalar_metric(lua: &Lua, s: &Shared, (name, value): (Value, Value)) -> mlua::Result<()> {
    let Value::String(name) = name else {
        return Err(effect_error(
            lua,
            s,
            "metric",
            format!("the name must be a string, got {}", name.type_name()),
        ));
    };
    let value = check_number(&value)
        .map_err(|m| effect_error(lua, s, "metric", format!("the value {m}")))?;
    s.push(
        lua,
        EffectKind::Metric {
            name: name.to_string_lossy().into(),
            value,
        },
    );
    Ok(())
}

/// `ctx.finding(spec)`: a finding at a level, with an optional code and subject.
pub(super) fn finding(lua: &Lua, s: &Shared, spec: Value) -> mlua::Result<()> {
    let spec = Spec::new(lua, s, "finding", "FindingSpec", spec)?;
    let level_name = spec.required_string("level")?;
    let Some(level) = Level::parse(&level_name) else {
        return Err(spec.fail(format!(
            "field `level` must be info, warn or error, got `{level_name}`"
        )));
    };
    let finding = EffectKind::Finding {
        level,
        message: spec.required_string("message")?,
        code: spec.string("code")?,
        subject: spec.string("subject")?,
    };
    s.push(lua, finding);
    Ok(())
}

/// `ctx.role(spec)`: an actor's What, How or Why role in a project.
pub(super) fn role(lua: &Lua, s: &Shared, spec: Value) -> mlua::Result<()> {
    let spec = Spec::new(lua, s, "role", "RoleSpec", spec)?;
    let project = spec.required_string("project")?;
    let actor = spec.required_string("actor")?;
    let role_name = spec.required_string("role")?;
    let Some(role) = Role::parse(&role_name) else {
        return Err(spec.fail(format!(
            "field `role` must be what, how or why, got `{role_name}`"
        )));
    };
    {
        let w = s.world.borrow();
        if w.project_index(&project).is_none() {
            return Err(spec.fail(format!("field `project`: unknown project `{project}`")));
        }
        if w.actor_index(&actor).is_none() {
            return Err(spec.fail(format!("field `actor`: unknown actor `{actor}`")));
        }
    }
    s.push(
        lua,
        EffectKind::Role {
            project,
            actor,
            role,
            note: spec.string("note")?,
        },
    );
    Ok(())
}
