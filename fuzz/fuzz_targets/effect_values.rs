//! Effect tables with arbitrary values: the fuzzer picks the ctx function, the fields and
//! their values (numbers including NaN and infinities, strings, booleans, tables, ids
//! that do and do not exist); the boundary checks must turn every bad value into a rule
//! error and never let one panic the engine or break conservation.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

const FUNCTIONS: &[&str] = &["flow", "adjust", "set", "metric", "finding", "role", "flows", "sum", "total", "param"];
const FIELDS: &[&str] = &[
    "from", "to", "kind", "via", "amount", "project", "tags", "note", "id", "flow", "select", "scale", "add", "set", "actor",
    "asset", "attr", "value", "level", "message", "code", "subject", "role", "bogus",
];
const STRINGS: &[&str] = &[
    "gov", "firm", "world", "dc", "grid", "nobody", "funding", "compute", "power", "grant", "f1", "f2", "p1", "what", "how",
    "why", "info", "warn", "error", "capacity.mw", "demand", "", "p",
];

fn value(byte: u8, next: u8) -> String {
    match byte % 9 {
        0 => format!("{}", f64::from(next) * 1.5 - 50.0),
        1 => "0/0".into(),
        2 => "math.huge".into(),
        3 => "-math.huge".into(),
        4 => format!("\"{}\"", STRINGS[next as usize % STRINGS.len()]),
        5 => (next % 2 == 0).to_string(),
        6 => format!("{{ \"{}\", \"{}\" }}", STRINGS[next as usize % STRINGS.len()], STRINGS[(next / 3) as usize % STRINGS.len()]),
        7 => format!("{{ kind = \"{}\" }}", STRINGS[next as usize % STRINGS.len()]),
        _ => "nil".into(),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut calls = String::new();
    for chunk in data.chunks(8).take(12) {
        let [f, n, ..] = chunk else { continue };
        let function = FUNCTIONS[*f as usize % FUNCTIONS.len()];
        let mut fields = String::new();
        for pair in chunk[2..].chunks(2).take(3) {
            let field = FIELDS[pair[0] as usize % FIELDS.len()];
            let v = value(pair[0] / 24, *pair.get(1).unwrap_or(n));
            fields.push_str(&format!("{field} = {v}, "));
        }
        let call = match function {
            "metric" => format!("ctx.metric({}, {})", value(*n, *f), value(*n / 9, *n)),
            "param" => format!("ctx.param({})", value(4, *n)),
            other => format!("ctx.{other} {{ {fields} }}"),
        };
        calls.push_str(&format!("  pcall(function() {call} end)\n  {call}\n"));
    }
    let lua = format!("return {{ id = \"fuzz\", on_step = function(world, ctx)\n{calls}end }}\n");
    common::run_rule(&lua);
});
