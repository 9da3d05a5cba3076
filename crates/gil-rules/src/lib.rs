//! Sandboxed Luau policy rules for gil.
//!
//! Rules are loaded once into a sandboxed Luau state ([`RuleRuntime`]), ordered by
//! `after` (ties by id), and called per step through their hooks. They read the
//! [`WorldState`] through read-only views and answer with [`Effect`]s, each carrying
//! its [`Provenance`]; this crate never applies an effect.
//!
//! The `ctx` API and the editor definitions come from one description in [`api`].

pub mod api;
mod calls;
pub mod columns;
mod effect;
mod error;
mod meta;
pub mod modules;
pub mod names;
mod runtime;
mod sandbox;
pub mod select;
mod source;
pub mod world;

pub use effect::{
    AdjustOp, AdjustTarget, Effect, EffectKind, EntityKind, FlowRows, HookEntity, Level, NewFlow,
    PerRow, Provenance, Role, Site,
};
pub use error::{During, Limit, RuleError, RuleErrorKind};
pub use meta::{KnownNames, RuleInfo};
pub use names::{NameBase, Names, Sym, Tags};
pub use runtime::{Hook, RuleRuntime};
pub use sandbox::{PrintSink, SandboxConfig, REMOVED_GLOBALS};
pub use source::{find_files, read_entry, RuleFiles, RuleSource};
pub use world::{
    ActorState, AssetState, AttrVal, EntityAt, FlowOrigin, FlowState, Origin, ProjectState,
    StepEnd, Touched, WorldState,
};
