-- luacheck configuration for gil rules (Lua 5.1 syntax, run by Luau in a sandbox).
std = "lua51"
-- The sandbox removes these; using them is an error at run time, so flag them early.
not_globals = { "io", "os", "load", "loadstring", "dofile", "loadfile",
                "getfenv", "setfenv", "debug", "collectgarbage", "module", "package" }
-- Rules return a table; they define no globals of their own.
allow_defined_top = false
-- gil adds the `col` library (columnar hooks) to the sandbox.
read_globals = { "col" }
max_line_length = 120
exclude_files = { "target/**" }
