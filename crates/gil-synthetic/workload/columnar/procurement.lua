-- Synthetic workload, columnar form: procurement to the actor named in `platform`.
return {
  id = "synth.procurement",
  kind = "procurement",
  select = { actors = { kind = "public_user" } },
  on_actors = function(cols, ctx)
    local budget = cols.attr("budget")
    ctx.flow { from = cols.id, to = cols.text("platform"), kind = "funding", via = "procurement",
               amount = budget }
    ctx.metric("synth.procurement", budget)
  end,
}
