-- Synthetic workload, columnar form: energy efficiency on every power flow.
return {
  id = "synth.efficiency",
  kind = "power",
  params = { "synth.efficiency" },
  select = { flows = { kind = "power" } },
  on_flows = function(cols, ctx)
    local scale = 1 - ctx.param("synth.efficiency")
    ctx.adjust { flow = cols.id, scale = scale }
    ctx.metric("synth.power_saved", cols.amount * (1 - scale))
  end,
}
