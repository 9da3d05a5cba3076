-- The essay's virtuous cycle: firms that grow on vouchered compute earn revenue and pay
-- taxes; a share of those taxes is reinvested in national compute the next year.
--
-- Scenario conventions:
--   the actor tagged `tax_authority` receives the taxes and reinvests;
--   the actor tagged `infra_budget` receives the reinvestment (its attr `project` tags it)
local tags = require("../lib/tags")

---@type gil.Rule
return {
  id = "voucher.virtuous_cycle",
  title = "Voucher-fed revenue → taxes → reinvested infrastructure (one-year lag)",
  kind = "voucher",
  after = { "voucher.compute" },
  params = { "voucher.revenue_multiplier", "tax.corporate_rate", "voucher.reinvest_share" },
  on_step = function(world, ctx)
    local authority = tags.first(world.actors, "tax_authority")
    local infra = tags.first(world.actors, "infra_budget")
    if not authority or not infra then
      ctx.finding { level = "warn", code = "voucher.cycle_unconfigured",
                    message = "tag one actor `tax_authority` and one `infra_budget` to close the cycle" }
      return
    end
    -- Last year's taxes, earmarked then, are reinvested now.
    local earmarked = authority.attrs.voucher_reinvest or 0
    if earmarked > 0 then
      ctx.flow { from = authority.id, to = infra.id, kind = "funding", via = "reinvestment",
                 amount = earmarked, project = infra.attrs.project,
                 note = "taxes from voucher-fed revenue, reinvested in national compute" }
      ctx.metric("voucher.reinvested", earmarked)
    end
    -- This year's vouchers become revenue, and the revenue pays tax.
    local multiplier = ctx.param("voucher.revenue_multiplier")
    local rate = ctx.param("tax.corporate_rate")
    local taxes = 0
    for _, f in ipairs(ctx.flows { kind = "funding", via = "voucher" }) do
      local tax = f.amount * multiplier * rate
      if tax > 0 then
        ctx.flow { from = f.to, to = authority.id, kind = "funding", via = "tax", amount = tax,
                   note = "tax on revenue grown with vouchered compute" }
        taxes = taxes + tax
      end
    end
    ctx.metric("voucher.tax_return", taxes)
    ctx.set { actor = authority.id, attr = "voucher_reinvest", value = taxes * ctx.param("voucher.reinvest_share") }
  end,
}
