//! The scenario's names interned once per model, and its flows as templates whose
//! names are symbols: a step's flows are copies of these with the year's amount, and
//! no step allocates a string for them. A model evaluated many times also keeps each
//! year's world as the scenario writes it, which every run's year starts from.

use std::sync::{Arc, OnceLock};

use gil_model::{FlowKind, Scenario};
use gil_rules::{FlowState, NameBase, Names, Origin, Sym, Tags, WorldState};
use rustc_hash::FxHashMap;

use crate::materialize::year_base;

/// What every run of one scenario starts from.
#[derive(Debug)]
pub struct Interned {
    base: Arc<NameBase>,
    /// One per scenario flow, parallel to `Scenario::flows` (`None`: a kind no run
    /// can have, which validation has already reported).
    flows: Vec<Option<FlowTemplate>>,
    /// Each year's world before any rule ran (no flows), by year from the horizon's
    /// start, for a model evaluated many times; empty for a single run, which resolves
    /// each year as it comes.
    years: Vec<WorldState>,
    start: i32,
    /// The actors' and assets' symbols.
    entities: Vec<Sym>,
    /// Each actor's and asset's place among their ids in text order, by symbol: what
    /// the outcome's flow lines are sorted by. Made on first use (a sweep's runs list
    /// no flow lines), once per model.
    entity_order: OnceLock<FxHashMap<Sym, u32>>,
}

/// A scenario flow with its names as symbols of the base.
#[derive(Debug)]
struct FlowTemplate {
    id: Sym,
    from: Sym,
    to: Sym,
    kind: FlowKind,
    via: Option<Sym>,
    project: Option<Sym>,
    tags: Tags,
    note: Option<Sym>,
}

impl Interned {
    /// Interns every id a run's flows can name: actors, assets, projects and the
    /// scenario's flows with their `via`s, tags and notes.
    pub fn new(s: &Scenario) -> Self {
        let mut base = NameBase::default();
        let entities = s
            .actors
            .iter()
            .map(|a| &a.id.value)
            .chain(s.assets.iter().map(|a| &a.id.value))
            .map(|id| base.intern(id))
            .collect();
        for p in &s.projects {
            base.intern(&p.id.value);
        }
        let flows = s
            .flows
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let kind = FlowKind::parse(&f.kind.value)?;
                let tags = base.tags(&f.tags);
                Some(FlowTemplate {
                    id: base.intern(s.flow_ids.get(i).map_or("", String::as_str)),
                    from: base.intern(&f.from.value),
                    to: base.intern(&f.to.value),
                    kind,
                    via: f.via.as_ref().map(|v| base.intern(&v.value)),
                    project: f.project.as_ref().map(|p| base.intern(&p.value)),
                    tags,
                    note: f.note.as_deref().map(|n| base.intern(n)),
                })
            })
            .collect();
        Interned {
            base: Arc::new(base),
            flows,
            years: Vec::new(),
            start: *s.years().start(),
            entities,
            entity_order: OnceLock::new(),
        }
    }

    /// An actor's or asset's place among their ids in text order (`None` for any other
    /// symbol): comparing two places is comparing the two ids.
    pub(crate) fn entity_place(&self, sym: Sym) -> Option<u32> {
        let order = self.entity_order.get_or_init(|| {
            let names = self.run_names();
            let mut by_text = self.entities.clone();
            by_text.sort_unstable_by(|a, b| names.name(*a).cmp(names.name(*b)));
            by_text
                .iter()
                .enumerate()
                .map(|(place, sym)| (*sym, place as u32))
                .collect()
        });
        order.get(&sym).copied()
    }

    /// As [`Self::new`], with every year's scenario values resolved once
    /// ([`crate::materialize::year_base`]), for a model evaluated many times.
    pub fn with_years(s: &Scenario) -> Self {
        let mut interned = Self::new(s);
        // Every entity id is in the base already: nothing is added to these names.
        let names = interned.run_names();
        for year in s.years() {
            let base = year_base(s, year, interned.years.last(), &names);
            interned.years.push(base);
        }
        interned
    }

    /// `year`'s world before any rule ran, when resolved by [`Self::with_years`].
    pub(crate) fn year(&self, year: i32) -> Option<&WorldState> {
        let i = usize::try_from(year.checked_sub(self.start)?).ok()?;
        self.years.get(i)
    }

    /// A new run's names: the base, and room for what its rules add.
    pub fn run_names(&self) -> Names {
        Names::new(self.base.clone())
    }

    /// Scenario flow `index` in a year, with that year's `amount`.
    pub(crate) fn flow(&self, index: usize, amount: f64) -> Option<FlowState> {
        let t = self.flows.get(index)?.as_ref()?;
        Some(FlowState {
            id: t.id,
            from: t.from,
            to: t.to,
            kind: t.kind,
            via: t.via,
            amount,
            project: t.project,
            tags: t.tags,
            note: t.note,
            origin: Origin::scenario(index),
        })
    }
}
