//! Hook dispatch: which of a rule's hooks run, on which entities, in which order.
//!
//! The order is written once, in [`STAGES`]. The serial run ([`RuleRuntime::run`]) and
//! the engine's parallel run both go through [`RuleRuntime::run_with`]; they differ
//! only in where a per-entity hook's selection runs — here, or split over worker
//! runtimes whose effects come back in selection order.

use std::rc::Rc;

use mlua::{Function, Table};

use crate::effect::Effect;
use crate::error::RuleError;
use crate::meta::{Hooks, RuleInfo};
use crate::sandbox::{self, EntitySeeds};

use super::column_views::{columns_table, ColumnsOf};
use super::errors::sandbox_error;
use super::views::{
    actor_view_at, asset_view_at, flow_view_at, project_view_at, world_view, ViewAt,
};
use super::RuleRuntime;

/// The per-entity hooks, which can run in parallel over slices of their selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    Actor,
    Asset,
    Flow,
}

/// One part of running a rule in a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// `on_step`, once, with the whole world.
    Step,
    /// `on_actor`, `on_asset` or `on_flow`, once per selected entity: the only part
    /// that may run on other runtimes.
    Entities(Hook),
    /// `on_actors` or `on_flows`, once, with the selection as columns.
    Columns(ColumnsOf),
    /// `on_project`, once per project.
    Projects,
}

/// A rule's hooks in the order they run each step; each columnar hook right after its
/// per-entity form.
const STAGES: [Stage; 7] = [
    Stage::Step,
    Stage::Entities(Hook::Actor),
    Stage::Columns(ColumnsOf::Actors),
    Stage::Entities(Hook::Asset),
    Stage::Entities(Hook::Flow),
    Stage::Columns(ColumnsOf::Flows),
    Stage::Projects,
];

impl Stage {
    /// The rule's function for this stage, if it defines one.
    fn function(self, hooks: &Hooks) -> Option<&Function> {
        match self {
            Stage::Step => hooks.on_step.as_ref(),
            Stage::Entities(Hook::Actor) => hooks.on_actor.as_ref(),
            Stage::Entities(Hook::Asset) => hooks.on_asset.as_ref(),
            Stage::Entities(Hook::Flow) => hooks.on_flow.as_ref(),
            Stage::Columns(ColumnsOf::Actors) => hooks.on_actors.as_ref(),
            Stage::Columns(ColumnsOf::Flows) => hooks.on_flows.as_ref(),
            Stage::Projects => hooks.on_project.as_ref(),
        }
    }

    /// This stage's part of each call's random seed. Fixed numbers rather than positions
    /// in [`STAGES`]: changing one changes every rule's `math.random` stream.
    fn salt(self) -> u64 {
        match self {
            Stage::Step => 0,
            Stage::Entities(Hook::Actor) => 1,
            Stage::Entities(Hook::Asset) => 2,
            Stage::Entities(Hook::Flow) => 3,
            Stage::Projects => 4,
            Stage::Columns(ColumnsOf::Actors) => 5,
            Stage::Columns(ColumnsOf::Flows) => 6,
        }
    }
}

impl ColumnsOf {
    /// The per-entity hook whose selection the columns hold.
    fn hook(self) -> Hook {
        match self {
            ColumnsOf::Actors => Hook::Actor,
            ColumnsOf::Flows => Hook::Flow,
        }
    }
}

impl RuleRuntime {
    /// Runs every hook of rule `index` on the current world and returns its effects,
    /// in call order.
    pub fn run(&self, index: usize) -> Result<Vec<Effect>, RuleError> {
        self.run_with(index, |hook, selected| {
            self.run_entity_hook(index, hook, selected)
        })
    }

    /// Runs rule `index` as [`Self::run`] does — the same hooks, selections and order —
    /// but hands each per-entity hook's selection to `run_entities`, which may run it
    /// elsewhere. It must answer with the effects [`Self::run_entity_hook`] would have
    /// made here, in the same order; the engine's workers do (random numbers are seeded
    /// per entity, not per runtime).
    pub fn run_with(
        &self,
        index: usize,
        mut run_entities: impl FnMut(Hook, &[usize]) -> Result<Vec<Effect>, RuleError>,
    ) -> Result<Vec<Effect>, RuleError> {
        let mut effects = Vec::new();
        for stage in STAGES {
            let part = match stage {
                Stage::Step => self.run_step_hook(index)?,
                Stage::Entities(hook) => {
                    if !self.has_hook(index, hook) {
                        continue;
                    }
                    run_entities(hook, &self.selection(index, hook))?
                }
                Stage::Columns(of) => self.run_columns_hook(index, of)?,
                Stage::Projects => self.run_project_hook(index)?,
            };
            effects.extend(part);
        }
        Ok(effects)
    }

    /// Runs rule `index`'s per-entity `hook` for the given entities, in order. Workers run
    /// disjoint slices of one selection; their effects, joined in slice order, are the
    /// same as one runtime running the whole selection.
    pub fn run_entity_hook(
        &self,
        index: usize,
        hook: Hook,
        entities: &[usize],
    ) -> Result<Vec<Effect>, RuleError> {
        let Some((info, hooks, step, rule_seed)) = self.begin(index) else {
            return Ok(Vec::new());
        };
        let stage = Stage::Entities(hook);
        let view_at: ViewAt = match hook {
            Hook::Actor => actor_view_at,
            Hook::Asset => asset_view_at,
            Hook::Flow => flow_view_at,
        };
        let Some(f) = stage.function(hooks) else {
            return self.finish();
        };
        let Some(batch) = self.shared.batch.get() else {
            return Err(sandbox_error(
                "<sandbox>",
                mlua::Error::runtime("ctx is not built"),
            ));
        };
        // Build the selection's views in one go, as one Lua list: lifting and restoring
        // the memory limit per view cost more than some views.
        let views = self
            .shared
            .memory
            .unguarded(&self.lua, || {
                let list = self.lua.create_table_with_capacity(entities.len(), 0)?;
                for (k, &i) in entities.iter().enumerate() {
                    list.raw_set(k + 1, view_at(&self.lua, &self.shared, i)?)?;
                }
                Ok(list)
            })
            .map_err(|e| self.convert_error(e, &info.file, Some(&info.id), None))?;
        // One call into Luau runs the hook for every entity (`batch.rs`); the seed and
        // the per-call deadline follow the loop's position, entity by entity.
        self.calls.set(self.calls.get() + entities.len() as u64);
        self.random.seed_per_entity(Some(EntitySeeds::new(
            batch.position_source(),
            [self.config.seed, rule_seed, step as u64, stage.salt()],
            entities.iter().map(|&i| i as u64).collect(),
        )));
        self.clock.follow_loop(Some(batch.position_source()));
        *self.shared.selection.borrow_mut() = Some((hook, entities.to_vec()));
        self.clock.start(self.config.call_deadline);
        let result = batch.drive.call::<()>((f, views, self.ctx.clone()));
        self.clock.stop();
        self.clock.follow_loop(None);
        self.random.seed_per_entity(None);
        if let Err(e) = result {
            self.shared.selection.borrow_mut().take();
            let at = batch.at().checked_sub(1).and_then(|k| entities.get(k));
            let year = self.shared.world.borrow().year;
            let err = self
                .convert_error(e, &info.file, Some(&info.id), f.info().line_defined)
                .during(year, None);
            batch.discard();
            return Err(err.during(step, at.and_then(|&i| self.entity_label(hook, i))));
        }
        // The effects still buffered name their entity as they are drained.
        let effects = self.finish();
        self.shared.selection.borrow_mut().take();
        effects
    }

    /// `actor \`startups\``: the entity a per-entity hook was processing, for errors.
    fn entity_label(&self, hook: Hook, i: usize) -> Option<String> {
        let world = self.shared.world.borrow();
        let (what, id) = match hook {
            Hook::Actor => ("actor", world.actors.get(i).map(|a| a.id.clone())),
            Hook::Asset => ("asset", world.assets.get(i).map(|a| a.id.clone())),
            Hook::Flow => (
                "flow",
                world.flows.get(i).map(|f| world.name(f.id).to_string()),
            ),
        };
        id.map(|id| format!("{what} `{id}`"))
    }

    /// Runs rule `index`'s `on_step`, if it has one.
    fn run_step_hook(&self, index: usize) -> Result<Vec<Effect>, RuleError> {
        let Some((info, hooks, step, rule_seed)) = self.begin(index) else {
            return Ok(Vec::new());
        };
        let stage = Stage::Step;
        if let Some(f) = stage.function(hooks) {
            let view = world_view(&self.lua, &self.shared)
                .map_err(|e| self.convert_error(e, &info.file, Some(&info.id), None))?;
            self.call(info, f, view, [rule_seed, step as u64, stage.salt(), 0])?;
        }
        self.finish()
    }

    /// Runs rule `index`'s columnar hook for `of` (`on_actors`, `on_flows`), if it has
    /// one: one call with the selection of the matching per-entity hook as columns.
    fn run_columns_hook(&self, index: usize, of: ColumnsOf) -> Result<Vec<Effect>, RuleError> {
        let Some((info, hooks, step, rule_seed)) = self.begin(index) else {
            return Ok(Vec::new());
        };
        let stage = Stage::Columns(of);
        let Some(f) = stage.function(hooks) else {
            return self.finish();
        };
        let selection = Rc::new(self.selection(index, of.hook()));
        let cols = self
            .shared
            .memory
            .unguarded(&self.lua, || {
                columns_table(&self.lua, &self.shared, of, selection)
            })
            .map_err(|e| self.convert_error(e, &info.file, Some(&info.id), None))?;
        self.call(info, f, cols, [rule_seed, step as u64, stage.salt(), 0])?;
        self.finish()
    }

    /// Runs rule `index`'s `on_project` for every project, if it has one.
    fn run_project_hook(&self, index: usize) -> Result<Vec<Effect>, RuleError> {
        let Some((info, hooks, step, rule_seed)) = self.begin(index) else {
            return Ok(Vec::new());
        };
        let stage = Stage::Projects;
        if let Some(f) = stage.function(hooks) {
            let count = self.shared.world.borrow().projects.len();
            for i in 0..count {
                let view = project_view_at(&self.lua, &self.shared, i)
                    .map_err(|e| self.convert_error(e, &info.file, Some(&info.id), None))?;
                self.call(
                    info,
                    f,
                    view,
                    [rule_seed, step as u64, stage.salt(), i as u64],
                )
                .map_err(|e| {
                    let project = self
                        .shared
                        .world
                        .borrow()
                        .projects
                        .get(i)
                        .map(|p| p.id.clone());
                    e.during(step, project.map(|id| format!("project `{id}`")))
                })?;
            }
        }
        self.finish()
    }

    /// Whether rule `index` defines the per-entity `hook`.
    fn has_hook(&self, index: usize, hook: Hook) -> bool {
        self.hooks
            .get(index)
            .is_some_and(|h| Stage::Entities(hook).function(h).is_some())
    }

    /// The entities (indices into the world) that rule `index`'s `hook` receives,
    /// filtered by its `select` in Rust.
    fn selection(&self, index: usize, hook: Hook) -> Vec<usize> {
        let Some(info) = self.infos.get(index) else {
            return Vec::new();
        };
        let world = self.shared.world.borrow();
        match hook {
            Hook::Actor => {
                let sel = info.select.actors.as_ref();
                world
                    .actors
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| sel.is_none_or(|s| s.matches_actor(a)))
                    .map(|(i, _)| i)
                    .collect()
            }
            Hook::Asset => {
                let sel = info.select.assets.as_ref();
                world
                    .assets
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| sel.is_none_or(|s| s.matches_asset(a)))
                    .map(|(i, _)| i)
                    .collect()
            }
            Hook::Flow => {
                let sel = info.select.flows.as_ref();
                world
                    .flows
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| sel.is_none_or(|s| s.matches_flow(f, &world.names)))
                    .map(|(i, _)| i)
                    .collect()
            }
        }
    }

    /// Sets up a part of rule `index`: the caller for provenance, an empty effect list.
    fn begin(&self, index: usize) -> Option<(&RuleInfo, &Hooks, i32, u64)> {
        let info = self.infos.get(index)?;
        let hooks = self.hooks.get(index)?;
        let step = self.shared.world.borrow().year;
        let mut caller = self.callers.get(index)?.clone();
        caller.step = step;
        *self.shared.caller.borrow_mut() = caller;
        self.shared.effects.borrow_mut().clear();
        if let Some(batch) = self.shared.batch.get() {
            batch.discard();
            batch.set_rule(index);
        }
        Some((info, hooks, step, sandbox::hash_str(&info.id)))
    }

    /// The effects the part of the rule begun last has recorded, those still buffered
    /// in Luau included.
    fn finish(&self) -> Result<Vec<Effect>, RuleError> {
        self.shared
            .drain_batch()
            .map_err(|e| sandbox_error("<sandbox>", e))?;
        Ok(std::mem::take(&mut *self.shared.effects.borrow_mut()))
    }

    /// One hook call under the call deadline, with `math.random` seeded from the run's
    /// seed and `seed` (rule, step, stage, entity), so no call's numbers depend on
    /// which runtime or thread made it.
    fn call(
        &self,
        info: &RuleInfo,
        f: &Function,
        arg: Table,
        seed: [u64; 4],
    ) -> Result<(), RuleError> {
        self.calls.set(self.calls.get() + 1);
        self.random.reseed(sandbox::mix(&[
            self.config.seed,
            seed[0],
            seed[1],
            seed[2],
            seed[3],
        ]));
        self.clock.start(self.config.call_deadline);
        let result = f.call::<()>((arg, self.ctx.clone()));
        self.clock.stop();
        result.map_err(|e| {
            let year = self.shared.world.borrow().year;
            self.convert_error(e, &info.file, Some(&info.id), f.info().line_defined)
                .during(year, None)
        })
    }
}
