-- Synthetic workload: a voucher on actors selected by kind.
return {
  id = "synth.voucher",
  kind = "voucher",
  params = { "synth.coverage", "synth.gpu_hour_price" },
  select = { actors = { kind = { "startup", "sme" } } },
  on_actor = function(actor, ctx)
    local grant = actor.attrs.demand * ctx.param("synth.gpu_hour_price") * ctx.param("synth.coverage")
    ctx.flow { from = "agency", to = actor.id, kind = "funding", via = "voucher", amount = grant }
    ctx.metric("synth.voucher", grant)
  end,
}
