-- Finding entities by tag: the loops every library rule used to write for itself.
-- A module, not a rule: rules load it with `require("../lib/tags")`.
local tags = {}

--- Whether `entity` (an actor or asset view) carries `tag`.
function tags.has(entity, tag)
  for _, t in ipairs(entity.tags) do
    if t == tag then return true end
  end
  return false
end

--- The first of `entities` carrying `tag`, or nil.
function tags.first(entities, tag)
  for _, e in ipairs(entities) do
    if tags.has(e, tag) then return e end
  end
  return nil
end

--- Every one of `entities` carrying `tag`, in their order.
function tags.all(entities, tag)
  local found = {}
  for _, e in ipairs(entities) do
    if tags.has(e, tag) then found[#found + 1] = e end
  end
  return found
end

return tags
