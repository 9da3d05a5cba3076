-- The synthetic rules as a plain Lua 5.4 loop over plain tables.
-- Run from this folder: lua5.4 baseline.lua. It reads data.lua (written beside it by
-- `gil gen synthetic`: the actors, flows, years and parameters of the scenario) and
-- prints the yearly metric totals, which gil's outcome must match.
-- Plain Lua 5.4 outside gil's sandbox: it may read its data and the clock.
-- luacheck: read globals dofile io os
local data = dofile("data.lua")
local actors, flows, years, p = data.actors, data.flows, data.years, data.parameters
local by_id = {}
for _, a in ipairs(actors) do by_id[a.id] = a end
local started = os.clock()
for year = 2026, 2026 + years - 1 do
  local m = { voucher = 0, tax_credit = 0, demand = 0, procurement = 0, power_saved = 0 }
  -- The flows the rules create and the amounts they adjust are built as gil builds
  -- them, so the loop does the same work; nothing reads them afterwards.
  local created = {} -- luacheck: ignore 241
  -- synth.efficiency runs first (rules run in id order): power flows shrink
  local adjusted = {} -- luacheck: ignore 241
  for i, f in ipairs(flows) do
    if f.kind == "power" then
      local scale = 1 - p["synth.efficiency"]
      adjusted[i] = f.amount * scale
      m.power_saved = m.power_saved + f.amount * (1 - scale)
    end
  end
  -- synth.procurement
  for _, a in ipairs(actors) do
    if a.kind == "public_user" then
      created[#created + 1] = { from = a.id, to = a.platform, amount = a.budget }
      m.procurement = m.procurement + a.budget
    end
  end
  -- synth.tax_credit: purchases, buyer looked up by id
  for _, f in ipairs(flows) do
    if f.via == "purchase" then
      local buyer = by_id[f.from]
      local rate = 0
      if buyer.kind == "large_firm" then rate = p["synth.credit_large"]
      elseif buyer.kind == "sme" or buyer.kind == "startup" then rate = p["synth.credit_sme"] end
      if rate > 0 then
        created[#created + 1] = { from = "gov", to = buyer.id, amount = f.amount * rate }
        m.tax_credit = m.tax_credit + f.amount * rate
      end
    end
  end
  -- synth.voucher
  for _, a in ipairs(actors) do
    if a.kind == "startup" or a.kind == "sme" then
      local grant = a.demand * p["synth.gpu_hour_price"] * p["synth.coverage"]
      created[#created + 1] = { from = "agency", to = a.id, amount = grant }
      m.voucher = m.voucher + grant
    end
  end
  -- synth.growth (after voucher): demand persists to later years
  for _, a in ipairs(actors) do
    if a.kind == "startup" then
      a.demand = a.demand * (1 + p["synth.growth"])
      m.demand = m.demand + a.demand
    end
  end
  print(string.format("%d synth.voucher %.17g", year, m.voucher))
  print(string.format("%d synth.tax_credit %.17g", year, m.tax_credit))
  print(string.format("%d synth.demand %.17g", year, m.demand))
  print(string.format("%d synth.procurement %.17g", year, m.procurement))
  print(string.format("%d synth.power_saved %.17g", year, m.power_saved))
end
io.stderr:write(string.format("timing.rules_seconds=%.6f\n", os.clock() - started))
