-- Allocation of a call for government GPUs: the GPUs on offer are shared among the
-- sectors that asked for them, in proportion to each sector's request times its
-- weight, never more than a sector asked for (what a capped sector does not need goes
-- to the others), and in whole servers.
--
-- Scenario conventions:
--   pool:      a `gpu_cluster` asset tagged `gpu_call`; its capacity `gpus` is what the
--              call awards, and its attr `project` (optional) names the project that
--              findings are about
--   requests:  every compute flow from the pool is a request, in GPU-hours for the year
--              (a request of N GPUs for the year is N gpu_year); its receiver's attr
--              `sector` is `academia`, `industry` or `research`
--   weights:   `allocation.weight.<sector>` (1 = proportional to the request)
--
-- The request flows stay as they are: they are the demand the compute analysis sets
-- against the pool's supply. The award is reported as metrics (in GPUs unless said):
--   allocation.requested[.<sector>], allocation.awarded[.<sector>],
--   allocation.success_rate.<sector> (awarded ÷ requested, %),
--   allocation.share.<sector> (share of the GPUs awarded, %), allocation.success_rate.spread
--   (highest minus lowest success rate, percentage points), allocation.oversubscription
--   (requested ÷ awarded, ×), allocation.projects (the awarded GPUs over the average request
--   per project: an estimate of the projects selected).

-- The sectors of the call (산·학·연), each weighed by `allocation.weight.<sector>`. A
-- constant table: no state is kept between calls.
local SECTORS = { "academia", "industry", "research" }
local HOURS_PER_YEAR = 8760

---@type gil.Rule
return {
  id = "allocation.gpu_call",
  title = "Government GPU call: awards by request and sector weight, in whole servers",
  kind = "custom",
  params = { "allocation.weight.academia", "allocation.weight.industry", "allocation.weight.research",
             "allocation.gpus_per_server", "call.projects_requested" },
  select = { assets = { kind = "gpu_cluster", tags = "gpu_call" } },
  on_asset = function(pool, ctx)
    local supply = pool.capacity.gpus or 0
    local project = pool.attrs.project
    local per_server = ctx.param("allocation.gpus_per_server")

    -- Requests per sector, in GPUs.
    local requested, total_requested = {}, 0
    for _, s in ipairs(SECTORS) do requested[s] = 0 end
    for _, f in ipairs(ctx.flows { from = pool.id, kind = "compute" }) do
      local who = ctx.actor(f.to)
      local sector = who and who.attrs.sector
      if requested[sector] == nil then
        ctx.finding { level = "error", code = "allocation.unknown_sector", subject = f.to,
                      message = "request `" .. f.id .. "` goes to `" .. f.to .. "`, whose attr `sector` ("
                        .. tostring(sector) .. ") is not academia, industry or research" }
      else
        requested[sector] = requested[sector] + f.amount / HOURS_PER_YEAR
        total_requested = total_requested + f.amount / HOURS_PER_YEAR
      end
    end
    if total_requested <= 0 then return end

    -- Water-filling: share what is left among the sectors not yet served in full, in
    -- proportion to weight × request; a sector whose share would exceed its request gets
    -- its request, and the rest is shared again.
    local award, open, left = {}, {}, supply
    for _, s in ipairs(SECTORS) do
      award[s] = 0
      if requested[s] > 0 then open[#open + 1] = s end
    end
    while #open > 0 and left > 0 do
      local weighted = 0
      for _, s in ipairs(open) do
        weighted = weighted + ctx.param("allocation.weight." .. s) * requested[s]
      end
      if weighted <= 0 then break end
      local rate = left / weighted  -- the share of its request a sector of weight 1 gets
      local still_open, capped = {}, false
      for _, s in ipairs(open) do
        if ctx.param("allocation.weight." .. s) * rate >= 1 then
          award[s] = requested[s]
          left = left - requested[s]
          capped = true
        else
          still_open[#still_open + 1] = s
        end
      end
      if not capped then
        for _, s in ipairs(open) do
          award[s] = ctx.param("allocation.weight." .. s) * rate * requested[s]
        end
        left = 0
      end
      open = still_open
    end

    -- Whole servers, by largest remainder: every sector gets the servers its share
    -- fills, and the servers left over go to the largest remainders (ties: sector order),
    -- never above a sector's request.
    local servers, fraction, total_servers, given = {}, {}, 0, 0
    for _, s in ipairs(SECTORS) do
      local exact = award[s] / per_server
      servers[s] = math.floor(exact + 1e-9)
      fraction[s] = exact - servers[s]
      total_servers = total_servers + exact
      given = given + servers[s]
    end
    local spare = math.floor(total_servers + 1e-9) - given
    while spare > 0 do
      local best
      for _, s in ipairs(SECTORS) do
        local room = (servers[s] + 1) * per_server <= requested[s] + 1e-9
        if room and fraction[s] > 0 and (best == nil or fraction[s] > fraction[best]) then best = s end
      end
      if best == nil then break end
      servers[best] = servers[best] + 1
      fraction[best] = 0
      spare = spare - 1
    end

    local total_awarded, lowest, highest = 0, math.huge, -math.huge
    for _, s in ipairs(SECTORS) do total_awarded = total_awarded + servers[s] * per_server end
    for _, s in ipairs(SECTORS) do
      local gpus = servers[s] * per_server
      ctx.metric("allocation.requested." .. s, requested[s])
      ctx.metric("allocation.awarded." .. s, gpus)
      if requested[s] > 0 then
        local rate = 100 * gpus / requested[s]
        ctx.metric("allocation.success_rate." .. s, rate)
        lowest, highest = math.min(lowest, rate), math.max(highest, rate)
      end
      if total_awarded > 0 then ctx.metric("allocation.share." .. s, 100 * gpus / total_awarded) end
    end
    ctx.metric("allocation.requested", total_requested)
    ctx.metric("allocation.awarded", total_awarded)
    ctx.metric("allocation.success_rate.spread", highest - lowest)
    if total_awarded > 0 then
      ctx.metric("allocation.oversubscription", total_requested / total_awarded)
      local per_project = total_requested / ctx.param("call.projects_requested")
      ctx.metric("allocation.projects", total_awarded / per_project)
    end

    local summary = string.format(
      "%s: %d GPUs requested for %d on offer (%.2f× oversubscribed); awarded academia %d, industry %d, research %d",
      pool.id, math.floor(total_requested + 0.5), math.floor(supply + 0.5), total_requested / math.max(supply, 1),
      servers.academia * per_server, servers.industry * per_server, servers.research * per_server)
    ctx.finding { level = "info", code = "allocation.awarded", subject = project or pool.id, message = summary }
    if total_awarded + per_server <= supply then
      local idle = math.floor(supply - total_awarded + 0.5)
      ctx.finding { level = "warn", code = "allocation.unawarded", subject = project or pool.id,
                    message = string.format("%s: %d of %d GPUs are not awarded (too few requests)",
                                            pool.id, idle, math.floor(supply + 0.5)) }
    end
  end,
}
