//! Selectors: `{ kind = { "startup", "sme" }, tags = "eligible" }`, matched in Rust so
//! Lua is only called for the entities a rule cares about.

use crate::names::Names;
use crate::world::{ActorState, AssetState, FlowState};

/// What a selector filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Actors,
    Assets,
    Flows,
}

impl Target {
    /// The keys a selector on this target accepts.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Target::Actors => &["id", "kind", "region", "tags"],
            Target::Assets => &["id", "kind", "owner", "region", "tags"],
            Target::Flows => &["id", "from", "to", "kind", "via", "project", "tags"],
        }
    }
}

/// Every key must match; a key matches when the entity's value is one of those listed
/// (for `tags`: when the entity has at least one of them).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Selector {
    pub clauses: Vec<(&'static str, Vec<String>)>,
}

impl Selector {
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    fn accepts(&self, field: &str, value: Option<&str>) -> bool {
        self.clauses
            .iter()
            .filter(|(f, _)| *f == field)
            .all(|(_, allowed)| value.is_some_and(|v| allowed.iter().any(|a| a == v)))
    }

    /// Every `tags` clause names at least one tag the entity has (`has_tag`).
    fn accepts_tags(&self, has_tag: impl Fn(&str) -> bool) -> bool {
        self.clauses
            .iter()
            .filter(|(f, _)| *f == "tags")
            .all(|(_, allowed)| allowed.iter().any(|a| has_tag(a)))
    }

    pub fn matches_actor(&self, a: &ActorState) -> bool {
        self.accepts("id", Some(&a.id))
            && self.accepts("kind", Some(&a.kind))
            && self.accepts("region", a.region.as_deref())
            && self.accepts_tags(|tag| a.tags.iter().any(|t| t == tag))
    }

    pub fn matches_asset(&self, a: &AssetState) -> bool {
        self.accepts("id", Some(&a.id))
            && self.accepts("kind", Some(&a.kind))
            && self.accepts("owner", a.owner.as_deref())
            && self.accepts("region", a.region.as_deref())
            && self.accepts_tags(|tag| a.tags.iter().any(|t| t == tag))
    }

    /// Whether flow `f`, whose symbols are of `names`, matches.
    pub fn matches_flow(&self, f: &FlowState, names: &Names) -> bool {
        self.accepts("id", Some(names.name(f.id)))
            && self.accepts("from", Some(names.name(f.from)))
            && self.accepts("to", Some(names.name(f.to)))
            && self.accepts("kind", Some(f.kind.as_str()))
            && self.accepts("via", names.opt(f.via))
            && self.accepts("project", names.opt(f.project))
            && self.accepts_tags(|tag| names.tag_names(&f.tags).any(|t| t == tag))
    }
}

/// A rule's `select`: one optional selector per entity type.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleSelect {
    pub actors: Option<Selector>,
    pub assets: Option<Selector>,
    pub flows: Option<Selector>,
}
