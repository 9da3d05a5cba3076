//! `ctx`, the table every hook receives: the functions `api.rs` describes, registered
//! from that description. The functions that read are in `reads.rs`, those that record
//! effects in `effects.rs`.

use std::rc::Rc;

use mlua::{Function, Lua, Table, Value};

use crate::api::{self, CtxFn};
use crate::runtime::batch::Batch;
use crate::runtime::shared::Shared;

mod effects;
mod reads;
mod rows;

pub(crate) use reads::text_param;

/// A frozen `ctx` with every function of [`api::CTX_FUNCTIONS`] and `step` (0 until a
/// world is set). `flow`, `metric`, `param`, `actor` and `asset` are the Luau functions
/// of `batch.rs`, which call the implementations here for anything but plainly valid
/// arguments (or, for lookups, an id not looked up since views were last dropped).
pub(super) fn build(lua: &Lua, shared: &Rc<Shared>) -> mlua::Result<Table> {
    let ctx = lua.create_table()?;
    ctx.raw_set("step", 0)?;
    let host = lua.create_table()?;
    for function in api::CTX_FUNCTIONS {
        let f = implementation(lua, shared.clone(), function.function)?;
        if matches!(
            function.function,
            CtxFn::Flow
                | CtxFn::Metric
                | CtxFn::Set
                | CtxFn::Adjust
                | CtxFn::Param
                | CtxFn::Actor
                | CtxFn::Asset
        ) {
            host.raw_set(function.name(), f)?;
        } else {
            ctx.raw_set(function.name(), f)?;
        }
    }
    let s = shared.clone();
    host.raw_set("drain", lua.create_function(move |_, ()| s.drain_batch())?)?;
    let (batch, wrapped) = Batch::new(lua, host)?;
    ctx.raw_set(CtxFn::Flow.name(), wrapped.flow)?;
    ctx.raw_set(CtxFn::Metric.name(), wrapped.metric)?;
    ctx.raw_set(CtxFn::Set.name(), wrapped.set)?;
    ctx.raw_set(CtxFn::Adjust.name(), wrapped.adjust)?;
    ctx.raw_set(CtxFn::Param.name(), wrapped.param)?;
    ctx.raw_set(CtxFn::Actor.name(), wrapped.actor)?;
    ctx.raw_set(CtxFn::Asset.name(), wrapped.asset)?;
    if shared.batch.set(batch).is_err() {
        return Err(mlua::Error::runtime("gil: ctx was built twice"));
    }
    ctx.set_readonly(true);
    Ok(ctx)
}

/// Runs a host effect function after draining the effects buffered in Luau, so the
/// effects keep their call order.
fn drained<R>(s: &Shared, effect: impl FnOnce() -> mlua::Result<R>) -> mlua::Result<R> {
    s.drain_batch()?;
    effect()
}

/// `ctx.<function>` as a Lua function. The `match` has no fallback arm on purpose: a
/// function `api.rs` describes but this file does not implement is a compile error.
fn implementation(lua: &Lua, s: Rc<Shared>, function: CtxFn) -> mlua::Result<Function> {
    match function {
        CtxFn::Param => lua.create_function(move |lua, name: Value| reads::param(lua, &s, name)),
        CtxFn::Actor => lua.create_function(move |lua, id: String| reads::actor(lua, &s, &id)),
        CtxFn::Asset => lua.create_function(move |lua, id: String| reads::asset(lua, &s, &id)),
        CtxFn::Actors => lua.create_function(move |lua, sel: Value| reads::actors(lua, &s, sel)),
        CtxFn::Assets => lua.create_function(move |lua, sel: Value| reads::assets(lua, &s, sel)),
        CtxFn::Flows => lua.create_function(move |lua, sel: Value| reads::flows(lua, &s, sel)),
        CtxFn::Sum => lua.create_function(move |lua, sel: Value| reads::sum(lua, &s, sel)),
        CtxFn::Total => lua.create_function(move |lua, sel: Value| reads::total(lua, &s, sel)),
        CtxFn::MetricAt => lua.create_function(move |lua, (name, year): (Value, Value)| {
            reads::metric_at(lua, &s, name, year)
        }),
        CtxFn::Flow => lua.create_function(move |lua, spec: Value| {
            drained(&s, || {
                effects::with_columns(lua, &s, "flow", "FlowSpec", spec, effects::flow)
            })
        }),
        CtxFn::Adjust => lua.create_function(move |lua, spec: Value| {
            drained(&s, || {
                effects::with_columns(lua, &s, "adjust", "AdjustSpec", spec, effects::adjust)
            })
        }),
        CtxFn::Set => lua.create_function(move |lua, spec: Value| {
            drained(&s, || {
                effects::with_columns(lua, &s, "set", "SetSpec", spec, effects::set)
            })
        }),
        CtxFn::Metric => lua.create_function(move |lua, args: (Value, Value)| {
            drained(&s, || effects::metric(lua, &s, args))
        }),
        CtxFn::Finding => lua.create_function(move |lua, spec: Value| {
            drained(&s, || effects::finding(lua, &s, spec))
        }),
        CtxFn::Role => lua
            .create_function(move |lua, spec: Value| drained(&s, || effects::role(lua, &s, spec))),
    }
}
