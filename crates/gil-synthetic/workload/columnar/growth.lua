-- Synthetic workload, columnar form: demand growth through ctx.set.
return {
  id = "synth.growth",
  kind = "custom",
  after = { "synth.voucher" },
  params = { "synth.growth" },
  select = { actors = { kind = "startup" } },
  on_actors = function(cols, ctx)
    local next_demand = cols.attr("demand") * (1 + ctx.param("synth.growth"))
    ctx.set { actor = cols.id, attr = "demand", value = next_demand }
    ctx.metric("synth.demand", next_demand)
  end,
}
