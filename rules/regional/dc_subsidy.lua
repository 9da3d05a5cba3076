-- Regional data-centre subsidy: the actor tagged `dc_subsidy_payer` pays the owner of
-- each data centre or GPU cluster in an eligible region a subsidy per MW the site
-- draws. The eligible regions are a list parameter, so a reform (or
-- `--param regional.dc_subsidy.regions=honam,yeongnam`) changes where it applies without
-- touching the rule.
local tags = require("../lib/tags")

---@type gil.Rule
return {
  id = "regional.dc_subsidy",
  title = "Regional data-centre subsidy per MW",
  kind = "power",
  params = { "regional.dc_subsidy.regions", "regional.dc_subsidy.per_mw" },
  select = { assets = { kind = { "datacenter", "gpu_cluster" } } },
  on_asset = function(site, ctx)
    if not site.owner or not site.region then return end
    local eligible = false
    for _, region in ipairs(ctx.param("regional.dc_subsidy.regions")) do
      if region == site.region then eligible = true end
    end
    if not eligible then return end
    local payer = tags.first(ctx.actors { tags = "dc_subsidy_payer" }, "dc_subsidy_payer")
    if not payer then return end
    local mw = ctx.sum { kind = "power", to = site.id }
    local subsidy = mw * ctx.param("regional.dc_subsidy.per_mw")
    if subsidy > 0 then
      ctx.flow { from = payer.id, to = site.owner, kind = "funding", via = "subsidy", amount = subsidy,
                 note = "regional data-centre subsidy for " .. site.id }
      ctx.metric("regional.dc_subsidy.paid", subsidy)
    end
  end,
}
