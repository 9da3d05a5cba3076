//! The Luau sandbox: which libraries exist, limits on time and memory, seeded random.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mlua::{Lua, LuaOptions, StdLib, Value, VmState};

use crate::error::{RuleError, RuleErrorKind};

/// Where Lua's `print` goes: a line (`file:line: text`) to whoever runs the rules. The
/// library never writes to the terminal itself; without a sink, prints are dropped.
#[derive(Clone)]
pub struct PrintSink(pub Arc<dyn Fn(&str) + Send + Sync>);

impl std::fmt::Debug for PrintSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrintSink")
    }
}

/// Limits on rules. Defaults are generous: they stop runaway rules, not slow ones.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Longest a single hook call may run.
    pub call_deadline: Duration,
    /// Longest all rule calls of one run may take together.
    pub total_budget: Duration,
    /// Memory limit of each Lua state, in bytes.
    pub memory_limit: usize,
    /// Seed of `math.random` (reseeded per call from this, the rule, step and entity).
    pub seed: u64,
    /// Set from outside (SIGINT, SIGTERM) to stop the run at the next check.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Where `print` goes (it can never change an outcome).
    pub print: Option<PrintSink>,
    /// Compile rules and modules with Luau's line coverage (`gil test --coverage`),
    /// read back with `RuleRuntime::coverage`.
    pub coverage: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            call_deadline: Duration::from_secs(5),
            total_budget: Duration::from_secs(600),
            memory_limit: 1024 * 1024 * 1024,
            seed: 0x6769_6c5f_7275_6c65, // "gil_rule"
            cancel: None,
            print: None,
            coverage: false,
        }
    }
}

/// Why the interrupt stopped a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tripped {
    None,
    Deadline,
    Budget,
    /// The run was asked to stop (SIGINT, SIGTERM).
    Cancelled,
}

/// Time accounting shared with the interrupt callback.
pub(crate) struct Clock {
    pub deadline: Cell<Option<Instant>>,
    pub tripped: Cell<Tripped>,
    pub budget_left: Cell<Duration>,
    pub call_started: Cell<Option<Instant>>,
    /// Which limit the armed deadline stands for.
    reason: Cell<Tripped>,
    cancel: Option<Arc<AtomicBool>>,
    pub where_: std::cell::RefCell<Option<(String, u32)>>,
    /// Set while a per-entity hook runs in a Luau loop: the loop's position and the
    /// position the deadline was armed for. Each entity gets its own
    /// per-call deadline, as when every call came from Rust.
    loop_position: std::cell::RefCell<Option<(crate::runtime::LoopPosition, Cell<usize>)>>,
    per_call: Cell<Duration>,
}

impl Clock {
    pub fn new(budget: Duration, cancel: Option<Arc<AtomicBool>>) -> Self {
        Clock {
            deadline: Cell::new(None),
            tripped: Cell::new(Tripped::None),
            budget_left: Cell::new(budget),
            call_started: Cell::new(None),
            reason: Cell::new(Tripped::Deadline),
            cancel,
            where_: std::cell::RefCell::new(None),
            loop_position: std::cell::RefCell::new(None),
            per_call: Cell::new(Duration::ZERO),
        }
    }

    /// Follows a Luau loop's position (`None`: stop), re-arming the per-call deadline
    /// whenever it moves on to the next entity.
    pub fn follow_loop(&self, position: Option<crate::runtime::LoopPosition>) {
        *self.loop_position.borrow_mut() = position.map(|p| (p, Cell::new(0)));
    }

    /// Re-arms the deadline if the Luau loop moved on since it was armed.
    fn loop_moved_on(&self) {
        let followed = self.loop_position.borrow();
        let Some((position, armed_for)) = followed.as_ref() else {
            return;
        };
        let at = position.get();
        if at != armed_for.get() {
            armed_for.set(at);
            self.stop();
            self.start(self.per_call.get());
        }
    }

    /// Arms the deadline for one call: the sooner of the per-call limit and the budget.
    pub fn start(&self, per_call: Duration) {
        self.per_call.set(per_call);
        let now = Instant::now();
        let left = self.budget_left.get();
        let (limit, reason) = if left < per_call {
            (left, Tripped::Budget)
        } else {
            (per_call, Tripped::Deadline)
        };
        self.deadline.set(Some(now + limit));
        self.tripped.set(Tripped::None);
        self.call_started.set(Some(now));
        self.reason.set(reason);
    }

    pub fn stop(&self) {
        if let Some(started) = self.call_started.take() {
            let spent = started.elapsed();
            self.budget_left
                .set(self.budget_left.get().saturating_sub(spent));
        }
        self.deadline.set(None);
    }

    /// Called from the interrupt, every `SAFEPOINTS_PER_CHECK`th safepoint (see
    /// `gil_safepoints`), which keeps the check cheap inside tight loops: true when the
    /// call must stop.
    fn expired(&self) -> bool {
        self.loop_moved_on();
        if self
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            self.tripped.set(Tripped::Cancelled);
            return true;
        }
        match self.deadline.get() {
            Some(deadline) if Instant::now() >= deadline => {
                self.tripped.set(self.reason.get());
                true
            }
            _ => false,
        }
    }
}

/// A small, fast, seedable generator (SplitMix64) behind `math.random`.
pub(crate) struct Random {
    state: Cell<u64>,
    /// Set while a per-entity hook runs in a Luau loop: the generator is reseeded for
    /// the entity the loop is at when a rule first asks for a number there.
    per_entity: std::cell::RefCell<Option<EntitySeeds>>,
}

/// Seeds for the calls of a hook driven over a selection inside Luau.
pub(crate) struct EntitySeeds {
    /// The loop's position in the selection.
    position: crate::runtime::LoopPosition,
    /// The seed parts before the entity's: run seed, rule, step, stage.
    prefix: [u64; 4],
    /// The entity at each position.
    entities: Vec<u64>,
    /// The position the generator was last seeded for.
    seeded: Cell<usize>,
}

impl EntitySeeds {
    pub fn new(
        position: crate::runtime::LoopPosition,
        prefix: [u64; 4],
        entities: Vec<u64>,
    ) -> Self {
        EntitySeeds {
            position,
            prefix,
            entities,
            seeded: Cell::new(0),
        }
    }
}

impl Random {
    pub fn new() -> Self {
        Random {
            state: Cell::new(0),
            per_entity: std::cell::RefCell::new(None),
        }
    }

    /// Seeds per entity from now on (`None`: stop); see [`EntitySeeds`].
    pub fn seed_per_entity(&self, seeds: Option<EntitySeeds>) {
        *self.per_entity.borrow_mut() = seeds;
    }

    /// Reseeds for the entity the Luau loop is at, if it moved since the last number.
    fn follow_loop(&self) {
        let per_entity = self.per_entity.borrow();
        let Some(seeds) = per_entity.as_ref() else {
            return;
        };
        let at = seeds.position.get();
        if at == seeds.seeded.get() {
            return;
        }
        seeds.seeded.set(at);
        if let Some(entity) = at.checked_sub(1).and_then(|i| seeds.entities.get(i)) {
            let [a, b, c, d] = seeds.prefix;
            self.reseed(mix(&[a, b, c, d, *entity]));
        }
    }

    pub fn reseed(&self, seed: u64) {
        self.state.set(seed);
    }

    pub fn next_u64(&self) -> u64 {
        let mut z = self.state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.state.set(z);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Mixes values into one seed (FNV-1a over their bytes, then SplitMix).
pub(crate) fn mix(parts: &[u64]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

pub(crate) fn hash_str(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The registry key of `debug.info`, which host Luau code uses to find calling lines.
pub(crate) const DEBUG_INFO_KEY: &str = "gil.debug_info";

/// Globals removed before sandboxing: loading code, reaching outside, clocks, GC control.
pub const REMOVED_GLOBALS: &[&str] = &[
    "require",
    "load",
    "loadstring",
    "dofile",
    "loadfile",
    "getfenv",
    "setfenv",
    "collectgarbage",
    "gcinfo",
    "newproxy",
    "os",
    "io",
    "debug",
    "package",
    "module",
];

/// Creates a sandboxed Luau state: safe libraries only, a host-seeded `math.random`,
/// a memory limit (checked to be in force), and the interrupt that enforces deadlines.
pub(crate) fn new_state(
    config: &SandboxConfig,
    clock: Rc<Clock>,
    random: Rc<Random>,
) -> Result<Lua, RuleError> {
    let sandbox_err = |what: &str, e: mlua::Error| {
        RuleError::new(
            RuleErrorKind::Sandbox,
            "<sandbox>",
            None,
            format!("{what}: {e}"),
        )
    };
    let libs = StdLib::TABLE
        | StdLib::STRING
        | StdLib::UTF8
        | StdLib::BIT
        | StdLib::MATH
        | StdLib::COROUTINE
        // Luau's `buffer`: the host's effect records (`runtime/batch.rs`), and rules may
        // use it too.
        | StdLib::BUFFER
        // Only for the host's own Luau code (`debug.info`, kept below); removed from
        // the globals rules see.
        | StdLib::DEBUG;
    let lua = Lua::new_with(libs, LuaOptions::default())
        .map_err(|e| sandbox_err("cannot create the Lua state", e))?;
    let globals = lua.globals();
    let keep_debug_info = || -> mlua::Result<()> {
        let debug: mlua::Table = globals.get("debug")?;
        let info: mlua::Function = debug.get("info")?;
        lua.set_named_registry_value(DEBUG_INFO_KEY, info)
    };
    keep_debug_info().map_err(|e| sandbox_err("cannot keep debug.info", e))?;
    for name in REMOVED_GLOBALS {
        globals
            .raw_set(*name, Value::Nil)
            .map_err(|e| sandbox_err("cannot remove a global", e))?;
    }
    // math.random and math.randomseed are replaced by a host-seeded generator.
    let setup = || -> mlua::Result<()> {
        let math: mlua::Table = globals.get("math")?;
        let rng = random.clone();
        let random_fn = lua.create_function(move |_, (m, n): (Option<f64>, Option<f64>)| {
            rng.follow_loop();
            let r = rng.next_f64();
            Ok(match (m, n) {
                (None, _) => r,
                (Some(hi), None) => (r * hi.floor()).floor() + 1.0,
                (Some(lo), Some(hi)) => lo.floor() + (r * (hi.floor() - lo.floor() + 1.0)).floor(),
            })
        })?;
        math.raw_set("random", random_fn)?;
        math.raw_set("randomseed", Value::Nil)?;
        // Luau's string.rep takes its count as a C int: a count past it silently gives
        // "" (string.rep("x", 1e10)), and a large one allocates before the memory limit
        // can stop it. Check the size first and say where the rule asked for it.
        let string: mlua::Table = globals.get("string")?;
        let rep: mlua::Function = string.get("rep")?;
        let config_limit = config.memory_limit;
        // (Luau's string.rep has no separator argument.)
        let checked_rep =
            lua.create_function(move |lua, (text, count): (mlua::LuaString, f64)| {
                let n = if count.is_nan() {
                    0.0
                } else {
                    count.floor().max(0.0)
                };
                let bytes = text.as_bytes().len() as f64 * n;
                let (kind, what) = if config_limit > 0 && bytes > config_limit as f64 {
                    (RuleErrorKind::Memory, "more than the rules may allocate")
                } else if bytes > f64::from(i32::MAX) {
                    (RuleErrorKind::Runtime, "more than string.rep can build")
                } else {
                    return rep.call::<mlua::Value>((text, count));
                };
                let (file, line) = calling_line(lua);
                Err(mlua::Error::external(RuleError::new(
                    kind,
                    file,
                    line,
                    format!("string.rep would build a string of {bytes:.0} bytes, {what}"),
                )))
            })?;
        string.raw_set("rep", checked_rep)?;
        // `print` goes to the caller's sink, so it can never change an outcome.
        let sink = config.print.clone();
        let print = lua.create_function(move |lua, args: mlua::Variadic<Value>| {
            let Some(sink) = &sink else {
                return Ok(());
            };
            let parts: Vec<String> = args
                .iter()
                .map(|v| v.to_string().unwrap_or_else(|_| "?".into()))
                .collect();
            let (file, line) = calling_line(lua);
            (sink.0)(&format!(
                "print {file}:{}: {}",
                line.unwrap_or(0),
                parts.join("\t")
            ));
            Ok(())
        })?;
        globals.raw_set("print", print)?;
        // gil's own globals come from api::GLOBALS, so each one is declared for editors.
        for (name, _) in crate::api::GLOBALS {
            let value = match *name {
                "col" => crate::columns::library(&lua)?,
                other => {
                    return Err(mlua::Error::runtime(format!(
                        "api::GLOBALS names `{other}`, which the sandbox does not build"
                    )))
                }
            };
            globals.raw_set(*name, value)?;
        }
        Ok(())
    };
    setup().map_err(|e| sandbox_err("cannot set up the libraries", e))?;
    lua.sandbox(true)
        .map_err(|e| sandbox_err("cannot enable the sandbox", e))?;
    lua.set_memory_limit(config.memory_limit)
        .map_err(|e| sandbox_err("cannot set the memory limit", e))?;
    // set_memory_limit reports the previous limit; read it back to be sure it took.
    let in_force = lua
        .set_memory_limit(config.memory_limit)
        .map_err(|e| sandbox_err("cannot set the memory limit", e))?;
    if in_force != config.memory_limit {
        return Err(RuleError::new(
            RuleErrorKind::Sandbox,
            "<sandbox>",
            None,
            format!("the memory limit did not take effect ({in_force} bytes in force)"),
        ));
    }
    lua.set_interrupt(move |lua| {
        if clock.expired() {
            let at = rule_frame(lua, 0).map(|(src, line)| (src, line.unwrap_or(0)));
            *clock.where_.borrow_mut() = at;
            return Err(mlua::Error::runtime("gil: time limit reached"));
        }
        Ok(VmState::Continue)
    });
    if !gil_safepoints::check_every_nth_safepoint(&lua) {
        return Err(sandbox_err(
            "cannot set the interrupt",
            mlua::Error::runtime("the safepoint counter did not take its place"),
        ));
    }
    Ok(lua)
}

/// The rule file and line that called the host function running now.
fn calling_line(lua: &Lua) -> (String, Option<u32>) {
    rule_frame(lua, 1).unwrap_or_default()
}

/// The file and line of the first stack frame from `level` up that is not the host's
/// own Luau code (`ctx`'s Luau functions and the per-entity loop).
pub(crate) fn rule_frame(lua: &Lua, level: usize) -> Option<(String, Option<u32>)> {
    // Host frames are at most two deep (a `ctx` function called from the loop). A C
    // frame is the host's too: a limit tripped in the loop itself, between calls.
    (level..level + 4).find_map(|l| {
        lua.inspect_stack(l, |d| {
            let src = d
                .source()
                .short_src
                .map(|s| s.into_owned())
                .unwrap_or_default();
            (src, d.current_line().map(|l| l as u32))
        })
        .filter(|(src, _)| src != crate::runtime::HOST_CHUNK && src != "[C]")
    })
}
