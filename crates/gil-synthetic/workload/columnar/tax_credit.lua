-- Synthetic workload, columnar form: the tax credit, buyers joined by id.
return {
  id = "synth.tax_credit",
  kind = "tax_break",
  params = { "synth.credit_large", "synth.credit_sme" },
  select = { flows = { via = "purchase" } },
  on_flows = function(cols, ctx)
    local buyer = cols.actor("from")
    local rate = col.where(buyer.kind:eq("large_firm"), ctx.param("synth.credit_large"),
      col.where(buyer.kind:is_in({ "sme", "startup" }), ctx.param("synth.credit_sme"), 0))
    local credited = rate:gt(0)
    local credit = (cols.amount * rate):filter(credited)
    ctx.flow { from = "gov", to = buyer.id:filter(credited), kind = "funding", via = "tax_credit", amount = credit }
    ctx.metric("synth.tax_credit", credit)
  end,
}
