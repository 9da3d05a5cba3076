//! The interrupt behind the sandbox's limits, called only every
//! [`SAFEPOINTS_PER_CHECK`]th time Luau offers it.
//!
//! Luau calls a state's interrupt at every safepoint: each function call and loop
//! back-edge. mlua's handler (`Lua::set_interrupt`) runs the closure it is given inside
//! its error handling, so that the closure may fail and stop the running code; paid at
//! every safepoint, that took 8–9% of a small scenario's run, though the sandbox only
//! needs to look at the clock now and then. [`check_every_nth_safepoint`] puts a
//! counter in front of mlua's handler: most safepoints cost an increment, and every
//! nth goes on to the handler, whose closure may stop the rule as before.
//!
//! This is the one crate of gil with `unsafe` code: reading and replacing a function
//! pointer in Luau's callbacks, and calling mlua's handler from ours with the arguments
//! Luau gave us.

use std::cell::Cell;
use std::ffi::c_int;
use std::sync::OnceLock;

use mlua::{ffi, Lua};

/// Safepoints between two calls of the closure given to `Lua::set_interrupt`.
pub const SAFEPOINTS_PER_CHECK: u32 = 64;

type Interrupt = unsafe extern "C-unwind" fn(*mut ffi::lua_State, c_int);

/// mlua's handler for the first closure this process put in front of. mlua makes one
/// handler per closure type, and gil's sandbox has one closure type, so every state
/// holds the same handler; a state holding another is left alone.
static CHECKED: OnceLock<Interrupt> = OnceLock::new();

thread_local! {
    /// Safepoints passed on this thread. A Lua state runs on one thread at a time, so
    /// a thread's count stands for the state running on it.
    static PASSED: Cell<u32> = const { Cell::new(0) };
}

/// Counts a safepoint and hands every [`SAFEPOINTS_PER_CHECK`]th to mlua's handler.
/// Luau's calls for its collector (`gc >= 0`) go straight through, as mlua ignores
/// them.
#[allow(unsafe_code)]
unsafe extern "C-unwind" fn counted(state: *mut ffi::lua_State, gc: c_int) {
    if gc < 0 {
        let passed = PASSED.with(|n| {
            let passed = n.get().wrapping_add(1);
            n.set(passed);
            passed
        });
        if passed % SAFEPOINTS_PER_CHECK != 0 {
            return;
        }
    }
    if let Some(checked) = CHECKED.get() {
        // SAFETY: Luau called us at a safepoint of `state`, where it would have called
        // mlua's handler itself; the handler gets exactly Luau's arguments. An error it
        // raises unwinds through this frame, which holds nothing to drop ("C-unwind").
        unsafe { checked(state, gc) }
    }
}

/// Puts the safepoint counter in front of the interrupt `Lua::set_interrupt` installed
/// on `lua`. Call it right after `set_interrupt`, before any code runs. Returns whether
/// the counter is in place; it is not when `lua` has no interrupt or another handler
/// than the one recorded first.
#[allow(unsafe_code)]
pub fn check_every_nth_safepoint(lua: &Lua) -> bool {
    lua.exec_raw_lua(|raw| {
        // SAFETY: `raw.state()` is a live state of `lua`, which is locked for this
        // closure and running no code, so nothing reads its callbacks while we swap the
        // handler; the callbacks live as long as the state.
        let callbacks = unsafe { &mut *ffi::lua_callbacks(raw.state()) };
        let Some(installed) = callbacks.interrupt else {
            return false;
        };
        let checked = *CHECKED.get_or_init(|| installed);
        if !std::ptr::fn_addr_eq(checked, installed) {
            return false;
        }
        callbacks.interrupt = Some(counted);
        true
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    /// The closure runs once per [`SAFEPOINTS_PER_CHECK`] safepoints, and an error it
    /// returns still stops the code running.
    #[test]
    fn the_closure_runs_every_nth_safepoint_and_can_stop_the_code() {
        let lua = Lua::new();
        let calls = Rc::new(Cell::new(0u32));
        let seen = calls.clone();
        lua.set_interrupt(move |_| {
            seen.set(seen.get() + 1);
            if seen.get() > 1_000 {
                return Err(mlua::Error::runtime("stopped"));
            }
            Ok(mlua::VmState::Continue)
        });
        assert!(check_every_nth_safepoint(&lua));
        lua.load("for i = 1, 6400 do end").exec().unwrap();
        let after_loop = calls.get();
        assert!(
            (99..=101).contains(&after_loop),
            "6,400 back-edges gave {after_loop} checks"
        );
        let err = lua.load("while true do end").exec().unwrap_err();
        assert!(err.to_string().contains("stopped"), "{err}");
    }

    /// A state without an interrupt keeps none.
    #[test]
    fn a_state_without_an_interrupt_is_left_alone() {
        let lua = Lua::new();
        assert!(!check_every_nth_safepoint(&lua));
    }
}
