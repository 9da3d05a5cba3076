//! SIGINT and SIGTERM stop a run cleanly: the first signal sets a flag that the rule
//! sandbox, the step loop and the output writer check, so the run ends with exit code
//! 130 (143 for SIGTERM) and nothing half-written; a second SIGINT ends it at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
static TERM: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Installs the handlers (once, at start-up).
pub fn install() {
    let flag = FLAG
        .get_or_init(|| Arc::new(AtomicBool::new(false)))
        .clone();
    let term = TERM
        .get_or_init(|| Arc::new(AtomicBool::new(false)))
        .clone();
    use signal_hook::consts::{SIGINT, SIGTERM};
    // A second Ctrl-C while the first is being honoured terminates immediately.
    let _ = signal_hook::flag::register_conditional_shutdown(SIGINT, 130, flag.clone());
    let _ = signal_hook::flag::register(SIGINT, flag.clone());
    let _ = signal_hook::flag::register(SIGTERM, flag);
    let _ = signal_hook::flag::register(SIGTERM, term);
}

/// The flag for the engine and the sandbox.
pub fn flag() -> Option<Arc<AtomicBool>> {
    FLAG.get().cloned()
}

pub fn interrupted() -> bool {
    FLAG.get().is_some_and(|f| f.load(Ordering::Relaxed))
}

/// The exit code for an interrupted run: 143 after SIGTERM, 130 after SIGINT.
pub fn exit_code() -> u8 {
    if TERM.get().is_some_and(|t| t.load(Ordering::Relaxed)) {
        143
    } else {
        130
    }
}
