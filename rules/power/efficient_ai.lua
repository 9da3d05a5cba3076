-- Energy-efficient AI: better chips, cooling and models lower the power each GPU needs,
-- by `power.efficiency_gain` a year from `power.efficiency_from` on. Power flows into
-- GPU clusters and data centres shrink accordingly — turning the power constraint into
-- a strength, as the essay puts it.
---@type gil.Rule
return {
  id = "power.efficient_ai",
  title = "Energy-efficient AI lowers MW per GPU",
  kind = "power",
  params = { "power.efficiency_gain", "power.efficiency_from" },
  select = { flows = { kind = "power" } },
  on_flow = function(flow, ctx)
    local years = ctx.step - ctx.param("power.efficiency_from") + 1
    if years <= 0 then return end
    local site = ctx.asset(flow.to)
    if not site or (site.kind ~= "gpu_cluster" and site.kind ~= "datacenter") then return end
    local scale = (1 - ctx.param("power.efficiency_gain")) ^ years
    ctx.adjust { flow = flow.id, scale = scale }
    ctx.metric("power.saved_mw", flow.amount * (1 - scale))
  end,
}
