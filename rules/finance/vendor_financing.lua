-- Vendor financing — the circular money the essay warns of. A chip vendor invests in
-- its customer in tranches per gigawatt deployed (capped), and the customer spends it
-- buying the vendor's GPUs for that gigawatt. The circular-financing analysis then
-- measures how much of the vendor's income is its own money coming back.
--
-- Scenario conventions, on the vendor (tag `vendor_financier`):
--   attrs.customer   actor id of the financed customer
--   attrs.site       asset id whose incoming power (MW) measures what is deployed
--   attrs.project    project id of the flows (optional)
local tags = require("../lib/tags")

---@type gil.Rule
return {
  id = "finance.vendor_financing",
  title = "Vendor financing: investment per GW deployed, GPUs bought back",
  kind = "custom",
  params = { "finance.tranche_per_gw", "finance.investment_cap", "gpu.per_gw", "gpu.unit_price" },
  on_step = function(world, ctx)
    for _, vendor in ipairs(world.actors) do
      local financier = tags.has(vendor, "vendor_financier")
      local customer, site = vendor.attrs.customer, vendor.attrs.site
      if financier and ctx.actor(customer or "") and ctx.asset(site or "") then
        local deployed_mw = ctx.sum { kind = "power", to = site }
        local before_mw = vendor.attrs.deployed_mw or 0
        local new_gw = math.max(0, deployed_mw - before_mw) / 1000
        local invested = ctx.total { from = vendor.id, to = customer, via = "investment" }
        local room = math.max(0, ctx.param("finance.investment_cap") - invested)
        local tranche = math.min(new_gw * ctx.param("finance.tranche_per_gw"), room)
        if tranche > 0 then
          ctx.flow { from = vendor.id, to = customer, kind = "funding", via = "investment", amount = tranche,
                     project = vendor.attrs.project, note = "tranche per GW deployed" }
          ctx.metric("finance.vendor_investment", tranche)
        end
        local purchase = new_gw * ctx.param("gpu.per_gw") * ctx.param("gpu.unit_price")
        if purchase > 0 then
          ctx.flow { from = customer, to = vendor.id, kind = "funding", via = "purchase", amount = purchase,
                     project = vendor.attrs.project, note = "GPUs for the newly deployed GW" }
          ctx.metric("finance.buyback", purchase)
        end
        ctx.set { actor = vendor.id, attr = "deployed_mw", value = math.max(deployed_mw, before_mw) }
      elseif financier then
        ctx.finding { level = "error", code = "finance.unconfigured", subject = vendor.id,
                      message = vendor.id .. " needs attrs `customer` (an actor) and `site` (an asset)" }
      end
    end
  end,
}
