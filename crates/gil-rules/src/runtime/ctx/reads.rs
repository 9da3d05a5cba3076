//! The `ctx` functions that read: `param`, `actor`, `asset`, `actors`, `assets`,
//! `flows`, `sum`, `total`, `metric_at`.
//! They answer from this step's world (and, for `total`, the earlier steps' flows) and
//! never record an effect.

use mlua::{Lua, Table, Value};

use crate::runtime::errors::effect_error;
use crate::runtime::shared::Shared;
use crate::runtime::spec::selector_arg;
use crate::runtime::views::{actor_view_at, asset_view_at, flow_view_at};
use crate::select::Target;

/// A text parameter as rules see it: a string, or a read-only list of strings.
pub(crate) fn text_param(lua: &Lua, value: &gil_model::TextValue) -> mlua::Result<Value> {
    match value {
        gil_model::TextValue::Text(t) => lua.create_string(t).map(Value::String),
        gil_model::TextValue::List(items) => {
            let list = lua.create_sequence_from(items.iter().map(String::as_str))?;
            list.set_readonly(true);
            Ok(Value::Table(list))
        }
    }
}

/// `ctx.param(name)`: the parameter's value in force this step (a number, or for a
/// text parameter a string or a read-only list of strings).
pub(super) fn param(lua: &Lua, s: &Shared, name: Value) -> mlua::Result<Value> {
    let Value::String(name) = name else {
        return Err(effect_error(
            lua,
            s,
            "param",
            format!("expected a parameter name, got {}", name.type_name()),
        ));
    };
    let name = name.to_string_lossy();
    let world = s.world.borrow();
    let number = world.params.get(&name).map(|v| Value::Number(*v));
    let found = match number {
        Some(v) => Some(v),
        None => match world.text_params.get(&name) {
            Some(t) => Some(text_param(lua, t)?),
            None => None,
        },
    };
    if let Some(v) = found {
        let caller = s.caller.borrow();
        if caller.rule.is_empty() || caller.params.contains(&name) {
            return Ok(v);
        }
        let message =
            format!("the rule reads parameter `{name}` but does not declare it in `params`");
        drop((world, caller));
        return Err(effect_error(lua, s, "param", message));
    }
    let message = if s.known.params.contains(&name) {
        format!("parameter `{name}` has no value in {}", world.year)
    } else {
        let hint = gil_model::diag::did_you_mean(&name, s.known.params.iter().map(String::as_str))
            .map(|h| format!(" (did you mean `{h}`?)"))
            .unwrap_or_default();
        format!("unknown parameter `{name}`{hint}")
    };
    drop(world);
    Err(effect_error(lua, s, "param", message))
}

/// `ctx.actor(id)`: the actor's view, or nil.
pub(super) fn actor(lua: &Lua, s: &Shared, id: &str) -> mlua::Result<Value> {
    let index = s.world.borrow().actor_index(id);
    match index {
        Some(i) => actor_view_at(lua, s, i).map(Value::Table),
        None => Ok(Value::Nil),
    }
}

/// `ctx.asset(id)`: the asset's view, or nil.
pub(super) fn asset(lua: &Lua, s: &Shared, id: &str) -> mlua::Result<Value> {
    let index = s.world.borrow().asset_index(id);
    match index {
        Some(i) => asset_view_at(lua, s, i).map(Value::Table),
        None => Ok(Value::Nil),
    }
}

/// `ctx.actors(select)`: the views of this step's matching actors, in world order.
pub(super) fn actors(lua: &Lua, s: &Shared, select: Value) -> mlua::Result<Table> {
    let selector = selector_arg(lua, s, "actors", Target::Actors, select)?;
    let matching: Vec<usize> = {
        let w = s.world.borrow();
        w.actors
            .iter()
            .enumerate()
            .filter(|(_, a)| selector.matches_actor(a))
            .map(|(i, _)| i)
            .collect()
    };
    views_list(lua, s, matching, actor_view_at)
}

/// `ctx.assets(select)`: the views of this step's matching assets, in world order.
pub(super) fn assets(lua: &Lua, s: &Shared, select: Value) -> mlua::Result<Table> {
    let selector = selector_arg(lua, s, "assets", Target::Assets, select)?;
    let matching: Vec<usize> = {
        let w = s.world.borrow();
        w.assets
            .iter()
            .enumerate()
            .filter(|(_, a)| selector.matches_asset(a))
            .map(|(i, _)| i)
            .collect()
    };
    views_list(lua, s, matching, asset_view_at)
}

/// A Lua list of the views at `indexes`.
fn views_list(
    lua: &Lua,
    s: &Shared,
    indexes: Vec<usize>,
    view_at: fn(&Lua, &Shared, usize) -> mlua::Result<Table>,
) -> mlua::Result<Table> {
    let list = lua.create_table_with_capacity(indexes.len(), 0)?;
    for (n, i) in indexes.into_iter().enumerate() {
        list.raw_set(n + 1, view_at(lua, s, i)?)?;
    }
    Ok(list)
}

/// `ctx.flows(select)`: the views of this step's matching flows, in world order.
pub(super) fn flows(lua: &Lua, s: &Shared, select: Value) -> mlua::Result<Table> {
    let selector = selector_arg(lua, s, "flows", Target::Flows, select)?;
    let matching: Vec<usize> = {
        let w = s.world.borrow();
        w.flows
            .iter()
            .enumerate()
            .filter(|(_, f)| selector.matches_flow(f, &w.names))
            .map(|(i, _)| i)
            .collect()
    };
    views_list(lua, s, matching, flow_view_at)
}

/// `ctx.sum(select)`: the sum of this step's matching flow amounts, in world order.
pub(super) fn sum(lua: &Lua, s: &Shared, select: Value) -> mlua::Result<f64> {
    let selector = selector_arg(lua, s, "sum", Target::Flows, select)?;
    let w = s.world.borrow();
    Ok(w.flows
        .iter()
        .filter(|f| selector.matches_flow(f, &w.names))
        .map(|f| f.amount)
        .sum::<f64>())
}

/// `ctx.total(select)`: the sum of matching flow amounts over every earlier step, in
/// year order.
pub(super) fn total(lua: &Lua, s: &Shared, select: Value) -> mlua::Result<f64> {
    let selector = selector_arg(lua, s, "total", Target::Flows, select)?;
    let w = s.world.borrow();
    Ok(w.history
        .iter()
        .flat_map(|year| year.iter())
        .filter(|f| selector.matches_flow(f, &w.names))
        .map(|f| f.amount)
        .sum::<f64>())
}

/// `ctx.metric_at(name, year)`: metric `name` in an earlier `year` (settled: built-in
/// and rule-made), or this year's rule metric as the rules that ran before this one
/// made it (`year` omitted or this year). Nil when the metric was not produced.
pub(super) fn metric_at(lua: &Lua, s: &Shared, name: Value, year: Value) -> mlua::Result<Value> {
    let fail = |message: String| Err(effect_error(lua, s, "metric_at", message));
    let Value::String(name) = name else {
        return fail(format!("expected a metric name, got {}", name.type_name()));
    };
    let name = name.to_string_lossy();
    let w = s.world.borrow();
    let year = match year {
        Value::Nil => w.year,
        Value::Integer(y) => y as i32,
        Value::Number(y) if y.fract() == 0.0 && y.abs() < 1e6 => y as i32,
        other => {
            drop(w);
            return fail(format!("expected a year, got {}", other.type_name()));
        }
    };
    let value = if year == w.year {
        let built_in = match gil_model::metric::MetricKey::builtin_form(&name) {
            Some(gil_model::metric::MetricKey::Flow { entity, .. }) => {
                s.known.actors.contains(entity) || s.known.assets.contains(entity)
            }
            Some(gil_model::metric::MetricKey::Power { .. }) => true,
            _ => false,
        };
        if built_in {
            let message = format!(
                "`{name}` is a built-in metric, computed after every rule of {year} has run; read an earlier year (ctx.step - 1)"
            );
            drop(w);
            return fail(message);
        }
        w.metrics_so_far.get(&name).copied()
    } else if year > w.year {
        let message = format!(
            "{year} comes after this step ({}): its metrics are not made yet",
            w.year
        );
        drop(w);
        return fail(message);
    } else {
        w.earlier_metrics
            .iter()
            .find(|(y, _)| *y == year)
            .and_then(|(_, metrics)| metrics.get(&name).copied())
    };
    Ok(value.map_or(Value::Nil, Value::Number))
}
