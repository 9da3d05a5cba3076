-- Synthetic workload: demand grows through ctx.set (it persists to later years).
return {
  id = "synth.growth",
  kind = "custom",
  after = { "synth.voucher" },
  params = { "synth.growth" },
  select = { actors = { kind = "startup" } },
  on_actor = function(actor, ctx)
    local next_demand = actor.attrs.demand * (1 + ctx.param("synth.growth"))
    ctx.set { actor = actor.id, attr = "demand", value = next_demand }
    ctx.metric("synth.demand", next_demand)
  end,
}
