-- National AI compute voucher: the issuer pays part of each eligible firm's compute
-- bill; academia uses national GPUs for free; youth-founded firms get an extra discount
-- on what they would otherwise pay. Firms then pay the cloud that serves the GPUs.
--
-- Scenario conventions:
--   issuer:    the actor tagged `voucher_issuer`; its attr `project` names the project
--   cloud:     the actor tagged `voucher_cloud` (optional) is paid the full compute bill
--   eligible:  actors tagged `voucher_eligible` with attr `gpu_hours_demand` (per firm)
--              and optionally `youth_founded_share` (0..1); universities pay nothing
local tags = require("../lib/tags")

---@type gil.Rule
return {
  id = "voucher.compute",
  title = "National AI compute voucher",
  kind = "voucher",
  params = { "voucher.coverage", "voucher.cap_per_firm", "voucher.youth_discount", "market.gpu_hour_price" },
  on_step = function(world, ctx)
    local issuer = tags.first(world.actors, "voucher_issuer")
    local cloud = tags.first(world.actors, "voucher_cloud")
    if not issuer then
      ctx.finding { level = "warn", code = "voucher.no_issuer",
                    message = "no actor is tagged `voucher_issuer`, so no voucher is paid" }
      return
    end
    local price = ctx.param("market.gpu_hour_price")
    local coverage = ctx.param("voucher.coverage")
    local cap = ctx.param("voucher.cap_per_firm")
    local youth = ctx.param("voucher.youth_discount")
    local project = issuer.attrs.project
    for _, a in ipairs(world.actors) do
      local eligible = tags.has(a, "voucher_eligible")
      local demand = a.attrs.gpu_hours_demand
      if eligible and type(demand) == "number" and demand > 0 then
        local cost = demand * a.count * price
        local grant
        if a.kind == "university" then
          grant = cost -- free for academia and research
        else
          local share = coverage + (1 - coverage) * youth * (a.attrs.youth_founded_share or 0)
          grant = math.min(cost * share, cap * a.count)
          if cost * share > cap * a.count then
            ctx.finding { level = "info", code = "voucher.cap_reached", subject = a.id,
                          message = a.id .. " reaches the voucher cap per firm" }
          end
        end
        ctx.flow { from = issuer.id, to = a.id, kind = "funding", via = "voucher", amount = grant,
                   project = project, note = "compute voucher" }
        if cloud then
          ctx.flow { from = a.id, to = cloud.id, kind = "funding", via = "cloud", amount = cost,
                     project = project, note = "GPU time bought with the voucher and the co-payment" }
        end
        ctx.metric("voucher.granted", grant)
        ctx.metric("voucher.copay", cost - grant)
        ctx.metric("voucher.firms", a.count)
      end
    end
  end,
}
