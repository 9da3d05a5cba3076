-- National strategic technology facility credit (K-Chips Act): a share of what firms
-- spend buying GPUs and data-centre equipment comes back from the tax authority.
-- Large and mid-size firms get the `large` rate, SMEs and startups the `sme` rate;
-- public bodies get nothing.
--
-- Scenario conventions:
--   the actor tagged `tax_authority` pays the credits;
--   purchases count when the seller is tagged `gpu_vendor` (or is a foreign_vendor)
local tags = require("../lib/tags")

---@type gil.Rule
return {
  id = "tax.facility_credit",
  title = "Strategic-technology facility tax credit on GPU and data-centre purchases",
  kind = "tax_break",
  params = { "tax.facility_credit.large", "tax.facility_credit.sme" },
  on_step = function(world, ctx)
    local authority = tags.first(world.actors, "tax_authority")
    local vendors = {}
    local kinds = {}
    for _, a in ipairs(world.actors) do
      kinds[a.id] = a.kind
      if a.kind == "foreign_vendor" or tags.has(a, "gpu_vendor") then vendors[a.id] = true end
    end
    if not authority then
      ctx.finding { level = "warn", code = "tax.no_authority",
                    message = "no actor is tagged `tax_authority`, so no facility credit is paid" }
      return
    end
    local rates = {
      large_firm = ctx.param("tax.facility_credit.large"),
      sme = ctx.param("tax.facility_credit.sme"),
      startup = ctx.param("tax.facility_credit.sme"),
    }
    for _, f in ipairs(ctx.flows { kind = "funding", via = "purchase" }) do
      local rate = rates[kinds[f.from] or ""]
      if vendors[f.to] and rate and f.amount > 0 then
        local credit = f.amount * rate
        ctx.flow { from = authority.id, to = f.from, kind = "funding", via = "tax_credit", amount = credit,
                   project = f.project, note = "facility credit on " .. f.id }
        ctx.metric("tax.facility_credit", credit)
      end
    end
  end,
}
