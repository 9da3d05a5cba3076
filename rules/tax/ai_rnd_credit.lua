-- AI as a national strategic technology: R&D spending earns a tax credit (30–50% after
-- the 2025 reform). Each actor's attr `rnd_spend` is per firm; aggregates multiply by
-- their count.
--
-- Scenario conventions: the actor tagged `tax_authority` pays the credits.
local tags = require("../lib/tags")

---@type gil.Rule
return {
  id = "tax.ai_rnd_credit",
  title = "AI R&D tax credit",
  kind = "tax_break",
  params = { "tax.ai_rnd_credit.large", "tax.ai_rnd_credit.sme" },
  on_step = function(world, ctx)
    local authority = tags.first(world.actors, "tax_authority")
    if not authority then
      ctx.finding { level = "warn", code = "tax.no_authority",
                    message = "no actor is tagged `tax_authority`, so no R&D credit is paid" }
      return
    end
    local rates = {
      large_firm = ctx.param("tax.ai_rnd_credit.large"),
      ai_lab = ctx.param("tax.ai_rnd_credit.large"),
      sme = ctx.param("tax.ai_rnd_credit.sme"),
      startup = ctx.param("tax.ai_rnd_credit.sme"),
    }
    for _, a in ipairs(world.actors) do
      local spend = a.attrs.rnd_spend
      local rate = rates[a.kind]
      if rate and type(spend) == "number" and spend > 0 then
        local credit = spend * a.count * rate
        ctx.flow { from = authority.id, to = a.id, kind = "funding", via = "tax_credit", amount = credit,
                   note = "AI R&D credit" }
        ctx.metric("tax.ai_rnd_credit", credit)
      end
    end
  end,
}
