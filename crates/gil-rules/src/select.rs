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

    /// Every clause holds, each read through `clause` (field name, allowed values);
    /// one pass over the clauses, so an entity's fields no clause names are never read.
    fn all(&self, clause: impl Fn(&str, &[String]) -> bool) -> bool {
        self.clauses
            .iter()
            .all(|(field, allowed)| clause(field, allowed))
    }

    pub fn matches_actor(&self, a: &ActorState) -> bool {
        self.all(|field, allowed| match field {
            "id" => is_one_of(Some(&a.id), allowed),
            "kind" => is_one_of(Some(&a.kind), allowed),
            "region" => is_one_of(a.region.as_deref(), allowed),
            "tags" => allowed.iter().any(|tag| a.tags.iter().any(|t| t == tag)),
            _ => true, // a field actors do not have (the parser rejects it)
        })
    }

    pub fn matches_asset(&self, a: &AssetState) -> bool {
        self.all(|field, allowed| match field {
            "id" => is_one_of(Some(&a.id), allowed),
            "kind" => is_one_of(Some(&a.kind), allowed),
            "owner" => is_one_of(a.owner.as_deref(), allowed),
            "region" => is_one_of(a.region.as_deref(), allowed),
            "tags" => allowed.iter().any(|tag| a.tags.iter().any(|t| t == tag)),
            _ => true,
        })
    }

    /// Whether flow `f`, whose symbols are of `names`, matches.
    pub fn matches_flow(&self, f: &FlowState, names: &Names) -> bool {
        self.all(|field, allowed| match field {
            "id" => is_one_of(Some(names.name(f.id)), allowed),
            "from" => is_one_of(Some(names.name(f.from)), allowed),
            "to" => is_one_of(Some(names.name(f.to)), allowed),
            "kind" => is_one_of(Some(f.kind.as_str()), allowed),
            "via" => is_one_of(names.opt(f.via), allowed),
            "project" => is_one_of(names.opt(f.project), allowed),
            "tags" => allowed
                .iter()
                .any(|tag| names.tag_names(f.tags).any(|t| t == tag)),
            _ => true,
        })
    }
}

/// A clause on a field: the entity has the field, with one of the allowed values.
fn is_one_of(value: Option<&str>, allowed: &[String]) -> bool {
    value.is_some_and(|v| allowed.iter().any(|a| a == v))
}

/// A rule's `select`: one optional selector per entity type.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleSelect {
    pub actors: Option<Selector>,
    pub assets: Option<Selector>,
    pub flows: Option<Selector>,
}
