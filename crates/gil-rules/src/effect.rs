//! Effects: what a rule asks the engine to do. Collected here, applied by the engine.

use gil_model::FlowKind;

use crate::select::Selector;
use crate::world::AttrVal;

/// Who made an effect, and where: every number in an outcome can be traced to this.
///
/// Shared: every effect and every rule-made flow of every year carries one, so it is
/// one pointer, and the effects one call site makes in a step share one [`Site`].
// Equality compares the sites; `Arc` checks for the same pointer first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Provenance(std::sync::Arc<Site>);

/// The rule, file, line and step behind a [`Provenance`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Site {
    pub rule: std::sync::Arc<str>,
    pub file: std::sync::Arc<str>,
    pub line: u32,
    pub step: i32,
}

impl Provenance {
    /// The address of the shared site: the same for every clone of this provenance.
    pub fn address(&self) -> usize {
        std::sync::Arc::as_ptr(&self.0) as usize
    }

    pub fn new(rule: std::sync::Arc<str>, file: std::sync::Arc<str>, line: u32, step: i32) -> Self {
        Provenance(std::sync::Arc::new(Site {
            rule,
            file,
            line,
            step,
        }))
    }
}

impl std::ops::Deref for Provenance {
    type Target = Site;

    fn deref(&self) -> &Site {
        &self.0
    }
}

impl serde::Serialize for Provenance {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl std::fmt::Display for Provenance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}:{}, {})",
            self.rule, self.file, self.line, self.step
        )
    }
}

/// A flow a rule makes. Its ends are symbols of the run's names (every actor and asset
/// id is one), found where the rule ran: on a worker thread for a per-entity hook, so
/// the serial step that applies effects looks nothing up for them.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFlow {
    pub id: Option<String>,
    pub from: crate::Sym,
    pub to: crate::Sym,
    pub kind: FlowKind,
    /// `via`, `project` and `note` are shared texts: a rule making a flow per entity
    /// repeats the same few, and the host reads them only to intern them.
    pub via: Option<std::sync::Arc<str>>,
    pub amount: f64,
    pub project: Option<std::sync::Arc<str>>,
    pub tags: Vec<String>,
    pub note: Option<std::sync::Arc<str>>,
}

/// A value given once for every row of a column effect, or once per row.
#[derive(Debug, Clone, PartialEq)]
pub enum PerRow<T> {
    Same(T),
    Each(Vec<T>),
}

impl<T> PerRow<T> {
    /// Row `i`'s value (`Each` holds one per row of its effect).
    pub fn at(&self, i: usize) -> &T {
        match self {
            PerRow::Same(v) => v,
            PerRow::Each(values) => &values[i],
        }
    }
}

/// The flows one columnar `ctx.flow` call makes, one per row, in row order: what
/// differs per row is kept per row, the rest once. Applied as one effect, each row
/// exactly as the [`NewFlow`] the per-entity form would make (automatic ids only: a
/// call giving `id` makes single flows).
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRows {
    pub from: PerRow<crate::Sym>,
    pub to: PerRow<crate::Sym>,
    pub kind: FlowKind,
    pub via: Option<String>,
    pub amount: PerRow<f64>,
    pub project: Option<String>,
    pub tags: Vec<String>,
    pub note: Option<String>,
    pub rows: usize,
}

/// Which flows an adjustment touches.
#[derive(Debug, Clone, PartialEq)]
pub enum AdjustTarget {
    /// One flow by id, found at the call: `index` is its place in the step's world as
    /// the rule saw it (applying looks it up no more).
    Flow {
        index: usize,
    },
    Select(Selector),
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AdjustOp {
    Scale(f64),
    Add(f64),
    Set(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntityKind {
    Actor,
    Asset,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    #[serde(alias = "warning")]
    Warn,
    Error,
}

impl Level {
    /// The name rules and files use: `info`, `warn`, `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "info" => Some(Level::Info),
            "warn" | "warning" => Some(Level::Warn),
            "error" => Some(Level::Error),
            _ => None,
        }
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    What,
    How,
    Why,
}

impl Role {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "what" => Some(Role::What),
            "how" => Some(Role::How),
            "why" => Some(Role::Why),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum EffectKind {
    Flow(NewFlow),
    Adjust {
        target: AdjustTarget,
        op: AdjustOp,
    },
    /// An attribute of the actor or asset at `index` in the step's world, found at the
    /// call (an entity's place never changes within a run).
    Set {
        entity: EntityKind,
        index: usize,
        /// Shared: the same few names come back on every call.
        attr: std::sync::Arc<str>,
        value: AttrVal,
    },
    Metric {
        /// Shared: a rule names the same metrics on every call.
        name: std::sync::Arc<str>,
        value: f64,
    },
    /// A columnar call's flows ([`FlowRows`]).
    FlowRows(FlowRows),
    /// A columnar `ctx.adjust`: the flow at each of `flows` (places in the step's world,
    /// found at the call), each with its row's operation, in row order.
    AdjustRows {
        flows: Vec<usize>,
        ops: Vec<AdjustOp>,
    },
    /// A columnar `ctx.set`: attribute `attr` of each entity at `indexes`, in row order.
    SetRows {
        entity: EntityKind,
        indexes: Vec<usize>,
        attr: String,
        value: PerRow<AttrVal>,
    },
    /// A columnar `ctx.metric`: each row's value added in row order.
    MetricRows {
        name: String,
        values: Vec<f64>,
    },
    Finding {
        level: Level,
        message: String,
        code: Option<String>,
        subject: Option<String>,
    },
    Role {
        project: String,
        actor: String,
        role: Role,
        note: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Effect {
    pub kind: EffectKind,
    pub provenance: Provenance,
    /// The entity a per-entity hook was running for when it made the effect (`None`
    /// in `on_step`, `on_project` and columnar hooks), for `explain`.
    pub entity: Option<HookEntity>,
}

/// An entity of the step's world a per-entity hook ran for, by its index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookEntity {
    Actor(usize),
    Asset(usize),
    Flow(usize),
}
