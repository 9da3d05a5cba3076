//! `ctx`, the table every hook receives: the functions `api.rs` describes, registered
//! from that description. The functions that read are in `reads.rs`, those that record
//! effects in `effects.rs`.

use std::rc::Rc;

use mlua::{Function, Lua, Table, Value};

use crate::api::{self, CtxFn};
use crate::runtime::shared::Shared;

mod effects;
mod reads;

/// A frozen `ctx` with every function of [`api::CTX_FUNCTIONS`] and `step` (0 until a
/// world is set).
pub(super) fn build(lua: &Lua, shared: &Rc<Shared>) -> mlua::Result<Table> {
    let ctx = lua.create_table()?;
    ctx.raw_set("step", 0)?;
    for function in api::CTX_FUNCTIONS {
        let f = implementation(lua, shared.clone(), function.function)?;
        ctx.raw_set(function.name(), f)?;
    }
    ctx.set_readonly(true);
    Ok(ctx)
}

/// `ctx.<function>` as a Lua function. The `match` has no fallback arm on purpose: a
/// function `api.rs` describes but this file does not implement is a compile error.
fn implementation(lua: &Lua, s: Rc<Shared>, function: CtxFn) -> mlua::Result<Function> {
    match function {
        CtxFn::Param => lua.create_function(move |lua, name: Value| reads::param(lua, &s, name)),
        CtxFn::Actor => lua.create_function(move |lua, id: String| reads::actor(lua, &s, &id)),
        CtxFn::Asset => lua.create_function(move |lua, id: String| reads::asset(lua, &s, &id)),
        CtxFn::Flows => lua.create_function(move |lua, sel: Value| reads::flows(lua, &s, sel)),
        CtxFn::Sum => lua.create_function(move |lua, sel: Value| reads::sum(lua, &s, sel)),
        CtxFn::Total => lua.create_function(move |lua, sel: Value| reads::total(lua, &s, sel)),
        CtxFn::Flow => lua.create_function(move |lua, spec: Value| {
            effects::with_columns(lua, &s, "flow", "FlowSpec", spec, effects::flow)
        }),
        CtxFn::Adjust => lua.create_function(move |lua, spec: Value| {
            effects::with_columns(lua, &s, "adjust", "AdjustSpec", spec, effects::adjust)
        }),
        CtxFn::Set => lua.create_function(move |lua, spec: Value| {
            effects::with_columns(lua, &s, "set", "SetSpec", spec, effects::set)
        }),
        CtxFn::Metric => {
            lua.create_function(move |lua, args: (Value, Value)| effects::metric(lua, &s, args))
        }
        CtxFn::Finding => {
            lua.create_function(move |lua, spec: Value| effects::finding(lua, &s, spec))
        }
        CtxFn::Role => lua.create_function(move |lua, spec: Value| effects::role(lua, &s, spec)),
    }
}
