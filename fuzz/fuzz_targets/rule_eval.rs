//! Rule loading and evaluation on arbitrary Lua source against a small scenario.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    if let Ok(lua) = std::str::from_utf8(data) {
        common::run_rule(lua);
    }
});
