-- Synthetic workload: a tax credit on purchase flows that looks up the buyer.
return {
  id = "synth.tax_credit",
  kind = "tax_break",
  params = { "synth.credit_large", "synth.credit_sme" },
  select = { flows = { via = "purchase" } },
  on_flow = function(flow, ctx)
    local buyer = ctx.actor(flow.from)
    local rate = 0
    if buyer.kind == "large_firm" then
      rate = ctx.param("synth.credit_large")
    elseif buyer.kind == "sme" or buyer.kind == "startup" then
      rate = ctx.param("synth.credit_sme")
    end
    if rate > 0 then
      ctx.flow { from = "gov", to = buyer.id, kind = "funding", via = "tax_credit", amount = flow.amount * rate }
      ctx.metric("synth.tax_credit", flow.amount * rate)
    end
  end,
}
