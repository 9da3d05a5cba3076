-- Synthetic workload, columnar form: the voucher over all selected actors at once.
return {
  id = "synth.voucher",
  kind = "voucher",
  params = { "synth.coverage", "synth.gpu_hour_price" },
  select = { actors = { kind = { "startup", "sme" } } },
  on_actors = function(cols, ctx)
    local grant = cols.attr("demand") * ctx.param("synth.gpu_hour_price") * ctx.param("synth.coverage")
    ctx.flow { from = "agency", to = cols.id, kind = "funding", via = "voucher", amount = grant }
    ctx.metric("synth.voucher", grant)
  end,
}
