-- Anchor tenant: public demand for AI in administration, defence and healthcare
-- becomes contracts — a platform share to a large firm, the rest to startups' or SMEs'
-- specialised solutions — and certain demand lowers the suppliers' investment risk.
--
-- Scenario conventions, on each public_user actor:
--   attrs.ai_demand  yearly AI budget (scenario currency)
--   attrs.platform   actor id of the platform builder
--   attrs.solutions  actor id of the solution providers
--   attrs.project    project id the contracts belong to (optional)
---@type gil.Rule
return {
  id = "procurement.anchor_tenant",
  title = "Anchor tenant: public AI demand as contracts to platforms and startups",
  kind = "procurement",
  params = { "procurement.platform_share", "procurement.risk_reduction" },
  select = { actors = { kind = "public_user" } },
  on_actor = function(buyer, ctx)
    local demand = buyer.attrs.ai_demand
    if type(demand) ~= "number" or demand <= 0 then return end
    local platform, solutions = buyer.attrs.platform, buyer.attrs.solutions
    for _, name in ipairs({ platform, solutions }) do
      if type(name) ~= "string" or not ctx.actor(name) then
        ctx.finding { level = "error", code = "procurement.unknown_supplier", subject = buyer.id,
                      message = buyer.id .. " names supplier `" .. tostring(name) .. "`, which is not an actor" }
        return
      end
    end
    local share = ctx.param("procurement.platform_share")
    ctx.flow { from = buyer.id, to = platform, kind = "funding", via = "procurement", amount = demand * share,
               project = buyer.attrs.project, note = "anchor-tenant platform contract" }
    ctx.flow { from = buyer.id, to = solutions, kind = "funding", via = "procurement",
               amount = demand * (1 - share), project = buyer.attrs.project,
               note = "anchor-tenant solution contracts" }
    ctx.metric("procurement.anchor_demand", demand)
  end,
  on_step = function(world, ctx)
    -- Suppliers with certain public demand carry less risk, a little more each year.
    local reduction = ctx.param("procurement.risk_reduction")
    local suppliers = {}
    for _, a in ipairs(world.actors) do
      if a.kind == "public_user" and type(a.attrs.ai_demand) == "number" and a.attrs.ai_demand > 0 then
        for _, name in ipairs({ a.attrs.platform, a.attrs.solutions }) do
          if type(name) == "string" then suppliers[name] = true end
        end
      end
    end
    for _, a in ipairs(world.actors) do
      if suppliers[a.id] then
        local risk = a.attrs.investment_risk or 1
        ctx.set { actor = a.id, attr = "investment_risk", value = math.max(0, risk - reduction) }
      end
    end
  end,
}
