-- Synthetic workload: procurement to an actor named in an attribute.
return {
  id = "synth.procurement",
  kind = "procurement",
  select = { actors = { kind = "public_user" } },
  on_actor = function(actor, ctx)
    ctx.flow { from = actor.id, to = actor.attrs.platform, kind = "funding", via = "procurement",
               amount = actor.attrs.budget }
    ctx.metric("synth.procurement", actor.attrs.budget)
  end,
}
