-- Grid-connection fast track for data centres outside the capital region: from the
-- first year of the policy, each non-capital grid region can connect more load (its
-- capacity grows by `deregulation.fast_track_uplift`, once, and stays).
--
-- Scenario conventions: grid_region assets of the capital region carry the tag
-- `capital_region`; the policy starts in `deregulation.fast_track_from` (a year).
local tags = require("../lib/tags")

---@type gil.Rule
return {
  id = "deregulation.grid_fast_track",
  title = "Grid-connection fast track outside the capital region",
  kind = "deregulation",
  params = { "deregulation.fast_track_from", "deregulation.fast_track_uplift" },
  select = { assets = { kind = "grid_region" } },
  on_asset = function(grid, ctx)
    if ctx.step ~= ctx.param("deregulation.fast_track_from") then
      return
    end
    if tags.has(grid, "capital_region") then return end
    local before = grid.capacity.mw or 0
    local after = before * (1 + ctx.param("deregulation.fast_track_uplift"))
    ctx.set { asset = grid.id, attr = "capacity.mw", value = after }
    ctx.metric("deregulation.fast_track_mw", after - before)
  end,
}
