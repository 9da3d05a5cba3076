-- Synthetic workload: energy efficiency lowers every power flow (ctx.adjust).
return {
  id = "synth.efficiency",
  kind = "power",
  params = { "synth.efficiency" },
  select = { flows = { kind = "power" } },
  on_flow = function(flow, ctx)
    local scale = 1 - ctx.param("synth.efficiency")
    ctx.adjust { flow = flow.id, scale = scale }
    ctx.metric("synth.power_saved", flow.amount * (1 - scale))
  end,
}
