//! Interned names: the ids, `via`s, tags and notes a run's flows carry are small
//! integers ([`Sym`]) from materialisation on, and strings only at the edges (views
//! for rules, diagnostics, documents).
//!
//! A model's names are interned once into a [`NameBase`] (the scenario's entity,
//! project and flow ids, `via`s, tags and notes). Each run reads them through
//! [`Names`], which appends what the rules make during the run (new flow ids, a new
//! `via`): the base is shared by every run, and a run's additions go with it. `Names`
//! is a cheap shared handle; any thread may resolve a symbol while the main thread
//! appends (settling runs beside the next step's rules). Tag sets and the call sites
//! of rule-made flows are numbered here too, so a flow of the history holds numbers
//! only ([`Tags`], `world::Origin`).

use std::sync::{Arc, Mutex};

use crate::effect::Provenance;
use rustc_hash::FxHashMap;

/// An interned name: an index into a run's [`Names`]. Symbols from different runs of
/// one model agree on the base's names and on nothing else.
///
/// It holds the position plus one, so an `Option<Sym>` (a flow's `via`, project, note)
/// takes four bytes, not eight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(std::num::NonZeroU32);

impl Sym {
    /// The symbol at position `i`. 2^32 names would take over 100 GiB of text, far past
    /// any memory limit a run has, so the clamp is never reached.
    fn at(i: usize) -> Sym {
        let one_based = u32::try_from(i + 1).unwrap_or(u32::MAX);
        Sym(std::num::NonZeroU32::new(one_based).unwrap_or(std::num::NonZeroU32::MAX))
    }

    /// The symbol's number (its position plus one): symbols order as their numbers.
    pub fn number(self) -> u32 {
        self.0.get()
    }

    /// The position in the names.
    fn index(self) -> usize {
        self.0.get() as usize - 1
    }
}

/// A flow's tags as the number of their set among the run's names (four bytes: every
/// year of every flow keeps one), no tags being no set. Read with [`Names::tag_names`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Tags(Option<std::num::NonZeroU32>);

impl Tags {
    /// The set at `position` among the base's sets and then the run's.
    fn at(position: usize) -> Tags {
        let one_based = u32::try_from(position + 1).unwrap_or(u32::MAX);
        Tags(std::num::NonZeroU32::new(one_based))
    }

    /// The set's position, when there are tags.
    fn position(self) -> Option<usize> {
        self.0.map(|n| n.get() as usize - 1)
    }
}

/// Tag sets, each kept once, numbered in the order they came.
#[derive(Debug, Default)]
struct TagSets {
    sets: Vec<Arc<[Sym]>>,
    index: FxHashMap<Arc<[Sym]>, Tags>,
}

/// Names interned once for a model, frozen: what every run starts from.
#[derive(Debug, Default)]
pub struct NameBase {
    names: Vec<Arc<str>>,
    index: FxHashMap<Arc<str>, Sym>,
    tag_sets: TagSets,
}

impl NameBase {
    /// Interns `name` while the base is being built.
    pub fn intern(&mut self, name: &str) -> Sym {
        if let Some(&sym) = self.index.get(name) {
            return sym;
        }
        let sym = Sym::at(self.names.len());
        let shared: Arc<str> = Arc::from(name);
        self.names.push(shared.clone());
        self.index.insert(shared, sym);
        sym
    }

    /// Interned tags while the base is being built.
    pub fn tags<S: AsRef<str>>(&mut self, tags: &[S]) -> Tags {
        if tags.is_empty() {
            return Tags::default();
        }
        let set: Vec<Sym> = tags.iter().map(|t| self.intern(t.as_ref())).collect();
        if let Some(&found) = self.tag_sets.index.get(set.as_slice()) {
            return found;
        }
        let set: Arc<[Sym]> = set.into();
        let number = Tags::at(self.tag_sets.sets.len());
        self.tag_sets.sets.push(set.clone());
        self.tag_sets.index.insert(set, number);
        number
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// A run's names: the model's base and what the run added. Clones share one table.
#[derive(Debug, Clone)]
pub struct Names(Arc<RunNames>);

#[derive(Debug)]
struct RunNames {
    base: Arc<NameBase>,
    /// Names the run added; symbol `base.len() + i` is `added[i]`. Appended under
    /// `added_index`'s lock, read without one.
    added: boxcar::Vec<Arc<str>>,
    added_index: Mutex<FxHashMap<Arc<str>, Sym>>,
    /// Tag sets the run added; set `base.tag_sets.len() + i` is `added_tags[i]`.
    /// Appended under `added_tag_index`'s lock, read without one.
    added_tags: boxcar::Vec<Arc<[Sym]>>,
    added_tag_index: Mutex<FxHashMap<Arc<[Sym]>, Tags>>,
    /// The call sites of the run's rule-made flows, so a flow records its origin as a
    /// number (`world::Origin`); appended under `site_index`'s lock, read without one.
    sites: boxcar::Vec<Provenance>,
    /// Each site's number, by the address of its shared `Site` (kept alive in `sites`).
    site_index: Mutex<FxHashMap<usize, u32>>,
}

impl Default for Names {
    fn default() -> Self {
        Names::new(Arc::default())
    }
}

impl Names {
    /// A run's names, starting from the model's `base`.
    pub fn new(base: Arc<NameBase>) -> Self {
        Names(Arc::new(RunNames {
            base,
            added: boxcar::Vec::new(),
            added_index: Mutex::new(FxHashMap::default()),
            added_tags: boxcar::Vec::new(),
            added_tag_index: Mutex::new(FxHashMap::default()),
            sites: boxcar::Vec::new(),
            site_index: Mutex::new(FxHashMap::default()),
        }))
    }

    /// The number of call site `p` in this run, given on its first use.
    pub fn site_number(&self, p: &Provenance) -> u32 {
        let mut index = self
            .0
            .site_index
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *index.entry(p.address()).or_insert_with(|| {
            let at = self.0.sites.push(p.clone());
            u32::try_from(at).unwrap_or(u32::MAX)
        })
    }

    /// Call site `number` of this run ([`Names::site_number`]).
    pub fn site(&self, number: u32) -> Option<&Provenance> {
        self.0.sites.get(number as usize)
    }

    /// The text of `sym`. A symbol of another run's additions is a bug in gil; it reads
    /// as "" rather than panicking in the middle of a document.
    pub fn name(&self, sym: Sym) -> &str {
        let i = sym.index();
        let base = &self.0.base.names;
        match base.get(i) {
            Some(name) => name,
            None => self.0.added.get(i - base.len()).map_or("", |name| name),
        }
    }

    /// The text of `sym`, shared: for a document that keeps it without a copy per use.
    /// A symbol of another run's additions reads as `""` (see [`Names::name`]).
    pub fn shared(&self, sym: Sym) -> Arc<str> {
        let i = sym.index();
        let base = &self.0.base.names;
        match base.get(i) {
            Some(name) => name.clone(),
            None => self
                .0
                .added
                .get(i - base.len())
                .cloned()
                .unwrap_or_default(),
        }
    }

    /// Whether `other` is a handle on the same run's names.
    pub fn same_run(&self, other: &Names) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The symbol of `name`, if this run knows it (nothing is interned).
    pub fn get(&self, name: &str) -> Option<Sym> {
        if let Some(&sym) = self.0.base.index.get(name) {
            return Some(sym);
        }
        self.lock_added().get(name).copied()
    }

    /// The symbol of `name`, added to the run's names when it is new.
    pub fn intern(&self, name: &str) -> Sym {
        if let Some(&sym) = self.0.base.index.get(name) {
            return sym;
        }
        let mut index = self.lock_added();
        if let Some(&sym) = index.get(name) {
            return sym;
        }
        let shared: Arc<str> = Arc::from(name);
        let at = self.0.added.push(shared.clone());
        let sym = Sym::at(self.0.base.names.len() + at);
        index.insert(shared, sym);
        sym
    }

    /// Interned tags.
    pub fn tags<S: AsRef<str>>(&self, tags: &[S]) -> Tags {
        if tags.is_empty() {
            return Tags::default();
        }
        let set: Vec<Sym> = tags.iter().map(|t| self.intern(t.as_ref())).collect();
        let base = &self.0.base.tag_sets;
        if let Some(&found) = base.index.get(set.as_slice()) {
            return found;
        }
        let mut index = self
            .0
            .added_tag_index
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(&found) = index.get(set.as_slice()) {
            return found;
        }
        let set: Arc<[Sym]> = set.into();
        let at = self.0.added_tags.push(set.clone());
        let number = Tags::at(base.sets.len() + at);
        index.insert(set, number);
        number
    }

    /// The tags' symbols. Another run's tag set reads as none (see [`Names::name`]).
    pub fn tag_set(&self, tags: Tags) -> &[Sym] {
        let Some(i) = tags.position() else {
            return &[];
        };
        let base = &self.0.base.tag_sets.sets;
        match base.get(i) {
            Some(set) => set,
            None => self.0.added_tags.get(i - base.len()).map_or(&[], |set| set),
        }
    }

    /// The tags' texts.
    pub fn tag_names(&self, tags: Tags) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.tag_set(tags).iter().map(|&t| self.name(t))
    }

    /// An optional name's text.
    pub fn opt(&self, sym: Option<Sym>) -> Option<&str> {
        sym.map(|s| self.name(s))
    }

    /// No tags.
    pub fn no_tags(&self) -> Tags {
        Tags::default()
    }

    fn lock_added(&self) -> std::sync::MutexGuard<'_, FxHashMap<Arc<str>, Sym>> {
        // The map is only ever inserted into whole; a panic elsewhere cannot leave it
        // half-written, so a poisoned lock still holds a consistent map.
        self.0
            .added_index
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_adds_to_the_base_and_resolves_both() {
        let mut base = NameBase::default();
        let a = base.intern("ministry");
        assert_eq!(base.intern("ministry"), a);
        let names = Names::new(Arc::new(base));
        let b = names.intern("rule:ministry->lab:funding");
        assert_ne!(a, b);
        assert_eq!(names.intern("ministry"), a);
        assert_eq!(names.intern("rule:ministry->lab:funding"), b);
        assert_eq!(names.name(a), "ministry");
        assert_eq!(names.name(b), "rule:ministry->lab:funding");
        assert_eq!(names.get("unknown"), None);
        assert_eq!(names.get("rule:ministry->lab:funding"), Some(b));
    }

    #[test]
    fn runs_of_one_base_do_not_share_additions() {
        let base = Arc::new(NameBase::default());
        let first = Names::new(base.clone());
        let second = Names::new(base);
        first.intern("made-in-the-first-run");
        assert_eq!(second.get("made-in-the-first-run"), None);
    }

    #[test]
    fn names_resolve_on_another_thread_while_the_run_appends() {
        let names = Names::default();
        let early = names.intern("early");
        std::thread::scope(|scope| {
            let reader = names.clone();
            scope.spawn(move || assert_eq!(reader.name(early), "early"));
            for i in 0..1000 {
                names.intern(&format!("flow-{i}"));
            }
        });
        assert_eq!(names.name(names.intern("flow-999")), "flow-999");
    }
}
