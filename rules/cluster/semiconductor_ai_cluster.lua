-- Semiconductor-AI cluster (Pangyo, Pyeongtaek, Yongin): government provides the
-- infrastructure, the large firms the platforms, SMEs the solutions and universities
-- the talent. The rule turns that division of labour into flows and roles:
--   * each platform (tag `cluster_platform`) buys `cluster.sme_share` of its AI
--     capex (attr `ai_capex`) as solutions from the SMEs (tag `cluster_solutions`);
--   * the government (tag `cluster_infra`) funds talent at the universities (tag
--     `cluster_talent`) with `cluster.talent_budget`;
--   * everyone gets their How role in the project named by the government's attr
--     `project`, with what they bring.
local tags = require("../lib/tags")

---@type gil.Rule
return {
  id = "cluster.semiconductor_ai",
  title = "Semiconductor-AI cluster: infrastructure, platforms, solutions, talent",
  kind = "custom",
  params = { "cluster.sme_share", "cluster.talent_budget" },
  on_step = function(world, ctx)
    local infra = tags.first(world.actors, "cluster_infra")
    local groups = {
      cluster_platform = tags.all(world.actors, "cluster_platform"),
      cluster_solutions = tags.all(world.actors, "cluster_solutions"),
      cluster_talent = tags.all(world.actors, "cluster_talent"),
    }
    if not infra then
      ctx.finding { level = "warn", code = "cluster.no_infra",
                    message = "no actor is tagged `cluster_infra`: the cluster has no public side" }
      return
    end
    local project = infra.attrs.project
    local smes = groups.cluster_solutions
    local share = ctx.param("cluster.sme_share")
    for _, platform in ipairs(groups.cluster_platform) do
      local capex = platform.attrs.ai_capex or 0
      if capex > 0 and #smes > 0 then
        for _, sme in ipairs(smes) do
          ctx.flow { from = platform.id, to = sme.id, kind = "funding", via = "purchase",
                     amount = capex * share / #smes, project = project,
                     note = "cluster platform buys SME solutions" }
        end
        ctx.metric("cluster.sme_contracts", capex * share)
      end
    end
    local talent = groups.cluster_talent
    local budget = ctx.param("cluster.talent_budget")
    for _, uni in ipairs(talent) do
      ctx.flow { from = infra.id, to = uni.id, kind = "funding", via = "grant", amount = budget / #talent,
                 project = project, note = "cluster talent programme" }
    end
    if project and ctx.step == world.year then
      local notes = {
        cluster_platform = "builds the AI platform",
        cluster_solutions = "provides specialised AI solutions",
        cluster_talent = "trains the talent",
      }
      for tag, members in pairs(groups) do
        for _, a in ipairs(members) do
          ctx.role { project = project, actor = a.id, role = "how", note = notes[tag] }
        end
      end
    end
  end,
}
