//! The world as rules see it in one step: plain data the engine fills and updates.
//!
//! Rules never hold references into the scenario; they read this state (through
//! read-only Lua views) and answer with effects, which the engine applies here between
//! rules.

use std::collections::BTreeMap;
use std::sync::Arc;

// Id indexes hash our own ids, so a fast non-DoS-resistant hash is the right one.
use rustc_hash::FxHashMap as HashMap;

use gil_model::FlowKind;

use crate::effect::EntityKind;
use crate::names::{Names, Sym, Tags};

/// An attribute value as rules see it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum AttrVal {
    Num(f64),
    Text(String),
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActorState {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub count: f64,
    pub region: Option<String>,
    pub tags: Vec<String>,
    pub attrs: BTreeMap<String, AttrVal>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AssetState {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub owner: Option<String>,
    pub region: Option<String>,
    pub capacity: BTreeMap<String, f64>,
    pub online: Option<i32>,
    pub tags: Vec<String>,
    pub attrs: BTreeMap<String, AttrVal>,
}

/// An actor or asset: which of the two, and its place in the world's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityAt {
    pub kind: EntityKind,
    pub index: usize,
}

/// Where a flow of this step comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum FlowOrigin {
    /// Written in the scenario: index into `Scenario::flows`.
    Scenario(usize),
    /// Created by a rule's `ctx.flow`.
    Rule(crate::Provenance),
}

/// Where a flow of this step comes from, in four bytes: a scenario flow's index, or
/// the number of a rule's call site among the run's names ([`Names::site`]). Resolved
/// by [`Origin::of`]; every year of every flow keeps one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Origin(u32);

/// Set in an [`Origin`] made by a rule.
const RULE_MADE: u32 = 1 << 31;

impl Origin {
    /// Scenario flow `index` (below 2^31: a scenario with more flows could not load).
    pub fn scenario(index: usize) -> Origin {
        Origin(u32::try_from(index).unwrap_or(u32::MAX) & !RULE_MADE)
    }

    /// Made by a rule at call site `site` ([`Names::site_number`]).
    pub fn rule(site: u32) -> Origin {
        Origin(site | RULE_MADE)
    }

    /// The scenario flow's index, for a scenario flow.
    pub fn scenario_index(self) -> Option<usize> {
        (self.0 & RULE_MADE == 0).then_some(self.0 as usize)
    }

    /// The rule's call site, for a rule-made flow of the run `names` belong to.
    pub fn site(self, names: &Names) -> Option<&crate::Provenance> {
        match self.0 & RULE_MADE {
            0 => None,
            _ => names.site(self.0 & !RULE_MADE),
        }
    }

    /// Where the flow comes from, spelled out.
    pub fn of(self, names: &Names) -> Option<FlowOrigin> {
        match self.scenario_index() {
            Some(i) => Some(FlowOrigin::Scenario(i)),
            None => self.site(names).cloned().map(FlowOrigin::Rule),
        }
    }
}

/// One flow of one step. Its names are symbols of the run's [`Names`]
/// (`WorldState::names`, `Trace::names`): a step's flows hold no strings of their own,
/// so every year of every flow can be kept for the history and `explain`.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowState {
    pub id: Sym,
    pub from: Sym,
    pub to: Sym,
    pub kind: FlowKind,
    pub via: Option<Sym>,
    /// In the kind's base unit (the scenario currency, gpu_hour, MW).
    pub amount: f64,
    pub project: Option<Sym>,
    pub tags: Tags,
    pub note: Option<Sym>,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProjectState {
    pub id: String,
    pub title: Option<String>,
    pub what_owner: String,
    pub what_goal: Option<String>,
    pub how: Vec<(String, Option<String>)>,
    pub why: Option<String>,
    pub participants: Vec<String>,
}

/// Entities whose state one rule's effects changed (indices into the world), so the
/// runtime can drop just their cached views. New flows are not listed: they had none.
#[derive(Debug, Clone, Default)]
pub struct Touched {
    pub actors: Vec<usize>,
    pub assets: Vec<usize>,
    pub flows: Vec<usize>,
}

/// The entity states a step ended with, shared, not copied: a worker runtime's views
/// show them when its last part of the step came after every change, so the next
/// step's world is compared with them to keep the views still true
/// ([`crate::RuleRuntime::carry_over_shared_world`]). Flows need none: the next
/// world's history holds the last step's.
#[derive(Debug, Clone, Default)]
pub struct StepEnd {
    pub(crate) actors: Vec<Arc<ActorState>>,
    pub(crate) assets: Vec<Arc<AssetState>>,
    pub(crate) projects: Arc<Vec<ProjectState>>,
}

impl StepEnd {
    /// The states `world` holds as its step ends.
    pub fn of(world: &WorldState) -> Self {
        StepEnd {
            actors: world.actors.clone(),
            assets: world.assets.clone(),
            projects: Arc::clone(&world.projects),
        }
    }
}

/// Everything a rule can read in one step.
///
/// Entity states are shared (`Arc`): a year's world is a cheap copy of the states the
/// model resolved for that year, an entity is copied only when an effect changes it
/// ([`Self::actor_mut`], [`Self::asset_mut`]), and an entity whose state is the very
/// one of the last step keeps its Lua view without a comparison.
#[derive(Debug, Clone, Default)]
pub struct WorldState {
    pub year: i32,
    pub currency: String,
    /// Parameter values in force this year.
    pub params: Arc<BTreeMap<String, f64>>,
    /// Text and list parameters (one value for the whole run).
    pub text_params: Arc<BTreeMap<String, gil_model::TextValue>>,
    pub actors: Vec<Arc<ActorState>>,
    pub assets: Vec<Arc<AssetState>>,
    pub flows: Vec<FlowState>,
    pub projects: Arc<Vec<ProjectState>>,
    /// Flows of earlier steps, oldest first (for `ctx.total`).
    /// Shared with the engine's trace, so earlier years are kept once.
    pub history: Vec<std::sync::Arc<Vec<FlowState>>>,
    /// The run's names, which the flows' symbols index.
    pub names: Names,
    /// Metrics rules may read with `ctx.metric_at` (filled only when a rule reads
    /// metrics, see `RuleRuntime::reads_metrics`): every earlier year's settled
    /// metrics, built-in and rule-made, oldest first...
    pub earlier_metrics: Vec<(i32, Arc<BTreeMap<String, f64>>)>,
    /// ...and this year's rule metrics as the rules that finished so far made them.
    pub metrics_so_far: BTreeMap<String, f64>,
    // The entity indexes do not change within a run: shared by every year's world.
    actor_ids: Arc<HashMap<String, usize>>,
    asset_ids: Arc<HashMap<String, usize>>,
    /// Every actor and asset by the symbol of its id, so a name a rule passes as a
    /// symbol (an id column) is found without hashing its text.
    entity_syms: Arc<HashMap<Sym, EntityAt>>,
    /// The symbols of the actors' and the assets' ids, in their order.
    actor_syms: Arc<Vec<Sym>>,
    asset_syms: Arc<Vec<Sym>>,
    flow_ids: HashMap<Sym, usize>,
    project_ids: Arc<HashMap<String, usize>>,
}

impl WorldState {
    /// Rebuilds the id indexes; call after replacing the entity vectors.
    pub fn reindex(&mut self) {
        fn index<'a>(ids: impl Iterator<Item = &'a String>) -> Arc<HashMap<String, usize>> {
            Arc::new(ids.enumerate().map(|(i, id)| (id.clone(), i)).collect())
        }
        self.actor_ids = index(self.actors.iter().map(|a| &a.id));
        self.asset_ids = index(self.assets.iter().map(|a| &a.id));
        let actors = self
            .actors
            .iter()
            .enumerate()
            .map(|(i, a)| (&a.id, EntityKind::Actor, i));
        let assets = self
            .assets
            .iter()
            .enumerate()
            .map(|(i, a)| (&a.id, EntityKind::Asset, i));
        // An id both an actor and an asset take is refused at load; should one reach
        // here, the actor is the one found, as the views find it.
        let mut entity_syms = HashMap::default();
        let (mut actor_syms, mut asset_syms) = (Vec::new(), Vec::new());
        for (id, kind, index) in assets.chain(actors) {
            let sym = self.names.intern(id);
            entity_syms.insert(sym, EntityAt { kind, index });
            match kind {
                EntityKind::Actor => actor_syms.push(sym),
                EntityKind::Asset => asset_syms.push(sym),
            }
        }
        self.entity_syms = Arc::new(entity_syms);
        self.actor_syms = Arc::new(actor_syms);
        self.asset_syms = Arc::new(asset_syms);
        self.project_ids = index(self.projects.iter().map(|p| &p.id));
        self.reindex_flows();
    }

    /// Takes the entity indexes of `other`, a world of the same scenario (the same
    /// actors, assets and projects in the same order), instead of building them again.
    pub fn share_entity_index(&mut self, other: &WorldState) {
        self.actor_ids = Arc::clone(&other.actor_ids);
        self.asset_ids = Arc::clone(&other.asset_ids);
        self.entity_syms = Arc::clone(&other.entity_syms);
        self.actor_syms = Arc::clone(&other.actor_syms);
        self.asset_syms = Arc::clone(&other.asset_syms);
        self.project_ids = Arc::clone(&other.project_ids);
    }

    pub fn reindex_flows(&mut self) {
        // Room for as many as the list has room for: the flows rules will add.
        let mut ids = HashMap::with_capacity_and_hasher(self.flows.capacity(), Default::default());
        ids.extend(self.flows.iter().enumerate().map(|(i, f)| (f.id, i)));
        self.flow_ids = ids;
    }

    /// Actor `i` to change, copied first if another world shares its state.
    pub fn actor_mut(&mut self, i: usize) -> Option<&mut ActorState> {
        self.actors.get_mut(i).map(Arc::make_mut)
    }

    /// Asset `i` to change, copied first if another world shares its state.
    pub fn asset_mut(&mut self, i: usize) -> Option<&mut AssetState> {
        self.assets.get_mut(i).map(Arc::make_mut)
    }

    pub fn actor_index(&self, id: &str) -> Option<usize> {
        self.actor_ids.get(id).copied()
    }

    pub fn asset_index(&self, id: &str) -> Option<usize> {
        self.asset_ids.get(id).copied()
    }

    pub fn flow_index(&self, id: &str) -> Option<usize> {
        self.names.get(id).and_then(|sym| self.flow_index_of(sym))
    }

    pub fn flow_index_of(&self, id: Sym) -> Option<usize> {
        self.flow_ids.get(&id).copied()
    }

    /// A name's text (see [`Names::name`]).
    pub fn name(&self, sym: Sym) -> &str {
        self.names.name(sym)
    }

    pub fn project_index(&self, id: &str) -> Option<usize> {
        self.project_ids.get(id).copied()
    }

    /// The symbol of actor `i`'s id.
    pub fn actor_sym(&self, i: usize) -> Option<Sym> {
        self.actor_syms.get(i).copied()
    }

    /// The symbol of asset `i`'s id.
    pub fn asset_sym(&self, i: usize) -> Option<Sym> {
        self.asset_syms.get(i).copied()
    }

    /// The actor or asset whose id is `sym`.
    pub fn entity_of(&self, sym: Sym) -> Option<EntityAt> {
        self.entity_syms.get(&sym).copied()
    }

    /// The actor or asset whose id is `id`, and its id's symbol: one lookup of the text.
    pub fn entity_named(&self, id: &str) -> Option<(Sym, EntityAt)> {
        let sym = self.names.get(id)?;
        self.entity_of(sym).map(|at| (sym, at))
    }

    /// Adds a flow made by a rule, keeping the id index current.
    pub fn push_flow(&mut self, flow: FlowState) {
        self.flow_ids.insert(flow.id, self.flows.len());
        self.flows.push(flow);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_sets_are_kept_once_in_the_base_or_the_run() {
        let mut base = crate::NameBase::default();
        let written = base.tags(&["green", "ai"]);
        assert_eq!(base.tags(&["green", "ai"]), written);
        assert_eq!(base.tags::<&str>(&[]), Tags::default());
        let names = Names::new(Arc::new(base));
        assert_eq!(names.tags(&["green", "ai"]), written, "the base's set");
        let made = names.tags(&["ai"]);
        assert_ne!(made, written);
        assert_eq!(names.tags(&["ai"]), made, "the run's set, once");
        assert_eq!(
            names.tag_names(written).collect::<Vec<_>>(),
            ["green", "ai"]
        );
        assert_eq!(names.tag_names(made).collect::<Vec<_>>(), ["ai"]);
        assert_eq!(names.tag_names(Tags::default()).count(), 0);
        // Another run of the same base knows the base's sets, not this run's.
        let other = Names::new(Arc::new(crate::NameBase::default()));
        assert_eq!(other.tag_names(made).count(), 0);
    }

    #[test]
    fn an_origin_is_a_scenario_flow_or_a_call_site_of_the_run() {
        let names = Names::default();
        let site = crate::Provenance::new("r".into(), "r.lua".into(), 3, 2026);
        let number = names.site_number(&site);
        assert_eq!(
            names.site_number(&site.clone()),
            number,
            "one number per site"
        );
        let made = Origin::rule(number);
        assert_eq!(made.scenario_index(), None);
        assert_eq!(made.of(&names), Some(FlowOrigin::Rule(site)));
        let written = Origin::scenario(7);
        assert_eq!(written.scenario_index(), Some(7));
        assert_eq!(written.site(&names), None);
        assert_eq!(written.of(&names), Some(FlowOrigin::Scenario(7)));
        // Another run's names do not know this run's sites.
        assert_eq!(made.of(&Names::default()), None);
    }

    /// Every year of every flow is kept, so a flow's state stays small: symbols with a
    /// niche (an absent `via` costs nothing), its tags and origin numbers (a tag set and
    /// a rule's call site are kept once, among the run's names).
    #[test]
    fn a_flow_state_stays_small() {
        assert_eq!(std::mem::size_of::<Option<Sym>>(), 4);
        assert_eq!(std::mem::size_of::<Tags>(), 4);
        assert_eq!(std::mem::size_of::<Origin>(), 4);
        assert!(
            std::mem::size_of::<FlowState>() <= 48,
            "{} bytes",
            std::mem::size_of::<FlowState>()
        );
    }
}
