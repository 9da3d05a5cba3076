-- Green power purchase agreements: a share of each data centre's or GPU cluster's power
-- is bought under a PPA from the supplier tagged `ppa_supplier`, paid by the site's
-- owner. Reports the green MW and what the PPAs cost.
local tags = require("../lib/tags")

---@type gil.Rule
return {
  id = "power.green_ppa",
  title = "Green PPA for AI data centres",
  kind = "power",
  params = { "power.ppa_share", "power.ppa_price" },
  on_step = function(world, ctx)
    local supplier = tags.first(world.actors, "ppa_supplier")
    local sites = {}
    if not supplier then
      ctx.finding { level = "warn", code = "power.no_ppa_supplier",
                    message = "no actor is tagged `ppa_supplier`, so no PPA is signed" }
      return
    end
    for _, a in ipairs(world.assets) do
      if (a.kind == "datacenter" or a.kind == "gpu_cluster") and a.owner then sites[a.id] = a end
    end
    local share = ctx.param("power.ppa_share")
    local price = ctx.param("power.ppa_price") -- per MWh
    for _, f in ipairs(ctx.flows { kind = "power" }) do
      local site = sites[f.to]
      if site and f.amount > 0 then
        local green_mw = f.amount * share
        ctx.flow { from = site.owner, to = supplier.id, kind = "funding", via = "ppa",
                   amount = green_mw * 8760 * price, note = "green PPA for " .. site.id }
        ctx.metric("power.green_mw", green_mw)
      end
    end
  end,
}
