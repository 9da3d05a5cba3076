-- Non-capital data-centre incentive: part of the facility levy on a data centre's grid
-- connection is waived outside the capital region (50% off for 22.9 kV connections
-- until May 2026; a reform can extend it). Modelled as a payment back from the utility
-- to the data centre's owner, per MW connected.
local tags = require("../lib/tags")

---@type gil.Rule
return {
  id = "deregulation.noncapital_levy_discount",
  title = "Facility-levy discount for data centres outside the capital region",
  kind = "deregulation",
  params = { "deregulation.levy_per_mw", "deregulation.levy_discount" },
  on_step = function(world, ctx)
    local discount = ctx.param("deregulation.levy_discount")
    if discount <= 0 then return end
    local capital = {}
    local assets = {}
    for _, a in ipairs(world.assets) do
      assets[a.id] = a
      if a.region and tags.has(a, "capital_region") then capital[a.region] = true end
    end
    local levy = ctx.param("deregulation.levy_per_mw")
    for _, f in ipairs(ctx.flows { kind = "power" }) do
      local site = assets[f.to]
      if site and (site.kind == "datacenter" or site.kind == "gpu_cluster") and site.owner
          and site.region and not capital[site.region] then
        local waived = f.amount * levy * discount
        if waived > 0 then
          ctx.flow { from = f.from, to = site.owner, kind = "funding", via = "levy_discount", amount = waived,
                     note = "facility levy waived for " .. site.id }
          ctx.metric("deregulation.levy_waived", waived)
        end
      end
    end
  end,
}
