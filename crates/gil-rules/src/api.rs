//! The Lua API of rules, described once. The runtime registers exactly the `ctx`
//! functions listed here and checks effect tables against these field lists; the
//! LuaLS `---@meta` file and the luau-lsp definitions are generated from the same
//! lists, so the editor help cannot drift from what runs.

use std::fmt::Write;

/// A type in the API, rendered for LuaLS or Luau.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    Str,
    Num,
    Bool,
    Any,
    /// One of these string literals.
    Literal(&'static [&'static str]),
    /// A class below, by its short name (`Actor` → `gil.Actor` / `GilActor`).
    Class(&'static str),
    /// A string or a list of strings.
    Names,
    List(&'static Ty),
    /// A map from string keys.
    Map(&'static Ty),
    Union(&'static [Ty]),
    /// A function: parameters, then the return type (None: returns nothing).
    Fn(&'static [(&'static str, Ty)], Option<&'static Ty>),
    /// The type, or nil.
    Optional(&'static Ty),
}

/// The globals gil adds to a rule's sandbox beyond Luau's standard library, each with
/// the class that describes it.
pub const GLOBALS: &[(&str, &str)] = &[("col", "Col")];

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub optional: bool,
    pub doc: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub struct Class {
    pub name: &'static str,
    pub doc: &'static str,
    pub fields: &'static [Field],
}

/// The `ctx` functions, one variant each.
///
/// The runtime registers each described function through a `match` on this enum with
/// no fallback arm, so a function described in [`CTX_FUNCTIONS`] without an
/// implementation does not compile (it used to fail only when a runtime was built).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtxFn {
    Param,
    Actor,
    Asset,
    Actors,
    Assets,
    Flows,
    Sum,
    MetricAt,
    Total,
    Flow,
    Adjust,
    Set,
    Metric,
    Finding,
    Role,
}

impl CtxFn {
    /// The name rules call it by: `ctx.<name>`.
    pub const fn name(self) -> &'static str {
        match self {
            CtxFn::Param => "param",
            CtxFn::Actor => "actor",
            CtxFn::Asset => "asset",
            CtxFn::Actors => "actors",
            CtxFn::Assets => "assets",
            CtxFn::Flows => "flows",
            CtxFn::Sum => "sum",
            CtxFn::Total => "total",
            CtxFn::MetricAt => "metric_at",
            CtxFn::Flow => "flow",
            CtxFn::Adjust => "adjust",
            CtxFn::Set => "set",
            CtxFn::Metric => "metric",
            CtxFn::Finding => "finding",
            CtxFn::Role => "role",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct CtxFunction {
    pub function: CtxFn,
    pub params: &'static [(&'static str, Ty)],
    pub returns: Option<Ty>,
    pub doc: &'static str,
}

impl CtxFunction {
    /// The name rules call it by: `ctx.<name>`.
    pub const fn name(&self) -> &'static str {
        self.function.name()
    }
}

const fn req(name: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field {
        name,
        ty,
        optional: false,
        doc,
    }
}

const fn opt(name: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field {
        name,
        ty,
        optional: true,
        doc,
    }
}

const ATTR: Ty = Ty::Union(&[Ty::Num, Ty::Str, Ty::Bool]);
pub const RULE_KINDS: &[&str] = &[
    "tax_break",
    "deregulation",
    "voucher",
    "procurement",
    "power",
    "custom",
];
pub const FLOW_KINDS: &[&str] = &["funding", "compute", "power"];
pub const LEVELS: &[&str] = &["info", "warn", "error"];
pub const ROLES: &[&str] = &["what", "how", "why"];

/// The hooks a rule may define, with the entity each receives.
pub const HOOKS: &[(&str, &str)] = &[
    ("on_step", "World"),
    ("on_actor", "Actor"),
    ("on_asset", "Asset"),
    ("on_flow", "Flow"),
    ("on_project", "Project"),
    ("on_actors", "ActorColumns"),
    ("on_flows", "FlowColumns"),
];

pub const CLASSES: &[Class] = &[
    Class {
        name: "Rule",
        doc: "A policy rule: the table a rule file returns.",
        fields: &[
            req("id", Ty::Str, "Unique rule id, e.g. `voucher.compute`."),
            opt("title", Ty::Str, "One line for people."),
            opt("kind", Ty::Literal(RULE_KINDS), "What sort of policy this is (default `custom`)."),
            opt("after", Ty::List(&Ty::Str), "Ids of rules that must run before this one each step."),
            opt("select", Ty::Class("Select"), "Which entities the per-entity hooks receive; filtered in Rust."),
            opt("params", Ty::List(&Ty::Str), "Parameters the rule reads; each must exist in the scenario."),
            opt("doc", Ty::Str, "Longer description."),
            opt("on_step", Ty::Fn(&[("world", Ty::Class("World")), ("ctx", Ty::Class("Ctx"))], None), "Called once per step."),
            opt("on_actor", Ty::Fn(&[("actor", Ty::Class("Actor")), ("ctx", Ty::Class("Ctx"))], None), "Called for each selected actor."),
            opt("on_asset", Ty::Fn(&[("asset", Ty::Class("Asset")), ("ctx", Ty::Class("Ctx"))], None), "Called for each selected asset."),
            opt("on_flow", Ty::Fn(&[("flow", Ty::Class("Flow")), ("ctx", Ty::Class("Ctx"))], None), "Called for each selected flow."),
            opt("on_project", Ty::Fn(&[("project", Ty::Class("Project")), ("ctx", Ty::Class("Ctx"))], None), "Called for each project."),
            opt("on_actors", Ty::Fn(&[("cols", Ty::Class("ActorColumns")), ("ctx", Ty::Class("Ctx"))], None), "Columnar form of on_actor: called once with the selected actors as columns."),
            opt("on_flows", Ty::Fn(&[("cols", Ty::Class("FlowColumns")), ("ctx", Ty::Class("Ctx"))], None), "Columnar form of on_flow: called once with the selected flows as columns."),
        ],
    },
    Class {
        name: "Select",
        doc: "Filters for the per-entity hooks.",
        fields: &[
            opt("actors", Ty::Class("ActorSelector"), "Actors passed to `on_actor` (default: all)."),
            opt("assets", Ty::Class("AssetSelector"), "Assets passed to `on_asset` (default: all)."),
            opt("flows", Ty::Class("FlowSelector"), "Flows passed to `on_flow` (default: all)."),
        ],
    },
    Class {
        name: "ActorSelector",
        doc: "Every key must match; a value may be one name or a list of names.",
        fields: &[
            opt("id", Ty::Names, "Actor ids."),
            opt("kind", Ty::Names, "Actor kinds."),
            opt("region", Ty::Names, "Regions."),
            opt("tags", Ty::Names, "At least one of these tags."),
        ],
    },
    Class {
        name: "AssetSelector",
        doc: "Every key must match; a value may be one name or a list of names.",
        fields: &[
            opt("id", Ty::Names, "Asset ids."),
            opt("kind", Ty::Names, "Asset kinds."),
            opt("owner", Ty::Names, "Owner actor ids."),
            opt("region", Ty::Names, "Regions."),
            opt("tags", Ty::Names, "At least one of these tags."),
        ],
    },
    Class {
        name: "FlowSelector",
        doc: "Every key must match; a value may be one name or a list of names.",
        fields: &[
            opt("id", Ty::Names, "Flow ids."),
            opt("from", Ty::Names, "Payer / supplier ids."),
            opt("to", Ty::Names, "Payee / user ids."),
            opt("kind", Ty::Names, "`funding`, `compute` or `power`."),
            opt("via", Ty::Names, "What the flow is: grant, voucher, purchase, …"),
            opt("project", Ty::Names, "Project ids."),
            opt("tags", Ty::Names, "At least one of these tags."),
        ],
    },
    Class {
        name: "Actor",
        doc: "An actor as it stands this step (read-only).",
        fields: &[
            req("id", Ty::Str, ""),
            req("name", Ty::Str, ""),
            req("kind", Ty::Str, ""),
            req("count", Ty::Num, "How many similar entities the actor stands for."),
            opt("region", Ty::Str, ""),
            req("tags", Ty::List(&Ty::Str), ""),
            req("attrs", Ty::Map(&ATTR), "Attribute values in force this step (after `ctx.set`)."),
        ],
    },
    Class {
        name: "Asset",
        doc: "An asset as it stands this step (read-only).",
        fields: &[
            req("id", Ty::Str, ""),
            req("name", Ty::Str, ""),
            req("kind", Ty::Str, ""),
            opt("owner", Ty::Str, ""),
            opt("region", Ty::Str, ""),
            req("capacity", Ty::Map(&Ty::Num), "Capacities in force this step (zero before `online`)."),
            opt("online", Ty::Num, "First year in service."),
            req("tags", Ty::List(&Ty::Str), ""),
            req("attrs", Ty::Map(&ATTR), ""),
        ],
    },
    Class {
        name: "Flow",
        doc: "A flow of this step (read-only); amounts are in the scenario currency, gpu_hour or MW.",
        fields: &[
            req("id", Ty::Str, ""),
            req("from", Ty::Str, ""),
            req("to", Ty::Str, ""),
            req("kind", Ty::Literal(FLOW_KINDS), ""),
            opt("via", Ty::Str, ""),
            req("amount", Ty::Num, ""),
            req("unit", Ty::Str, "The base unit of the amount."),
            opt("project", Ty::Str, ""),
            req("tags", Ty::List(&Ty::Str), ""),
        ],
    },
    Class {
        name: "Project",
        doc: "A project and its What / How / Why (read-only).",
        fields: &[
            req("id", Ty::Str, ""),
            opt("title", Ty::Str, ""),
            req("what", Ty::Class("What"), ""),
            req("how", Ty::List(&Ty::Class("How")), ""),
            opt("why", Ty::Str, ""),
            req("participants", Ty::List(&Ty::Str), ""),
        ],
    },
    Class {
        name: "What",
        doc: "The project's owner and goal.",
        fields: &[req("owner", Ty::Str, ""), opt("goal", Ty::Str, "")],
    },
    Class {
        name: "How",
        doc: "An executor and its means.",
        fields: &[req("actor", Ty::Str, ""), opt("means", Ty::Str, "")],
    },
    Class {
        name: "World",
        doc: "The whole step, for `on_step` (read-only).",
        fields: &[
            req("year", Ty::Num, ""),
            req("actors", Ty::List(&Ty::Class("Actor")), ""),
            req("assets", Ty::List(&Ty::Class("Asset")), ""),
            req("flows", Ty::List(&Ty::Class("Flow")), ""),
            req("projects", Ty::List(&Ty::Class("Project")), ""),
        ],
    },
    Class {
        name: "ActorColumns",
        doc: "The selected actors as columns (one row per actor, in world order). Arithmetic on number columns (+ - * / ^), col.min/max/where, and ctx effects with column values run in Rust.",
        fields: &[
            req("n", Ty::Num, "Number of rows."),
            req("id", Ty::Class("StrCol"), ""),
            req("kind", Ty::Class("StrCol"), ""),
            req("region", Ty::Class("StrCol"), "Empty string where unset."),
            req("count", Ty::Class("NumCol"), ""),
            req("attr", Ty::Fn(&[("name", Ty::Str)], Some(&Ty::Class("NumCol"))), "A numeric attribute as a column (NaN where missing)."),
            req("text", Ty::Fn(&[("name", Ty::Str)], Some(&Ty::Class("StrCol"))), "A text attribute as a column (empty where missing or not text)."),
        ],
    },
    Class {
        name: "FlowColumns",
        doc: "The selected flows as columns (one row per flow, in world order).",
        fields: &[
            req("n", Ty::Num, "Number of rows."),
            req("id", Ty::Class("StrCol"), ""),
            req("from", Ty::Class("StrCol"), ""),
            req("to", Ty::Class("StrCol"), ""),
            req("kind", Ty::Class("StrCol"), ""),
            req("via", Ty::Class("StrCol"), "Empty string where unset."),
            req("project", Ty::Class("StrCol"), "Empty string where unset."),
            req("amount", Ty::Class("NumCol"), ""),
            req("actor", Ty::Fn(&[("field", Ty::Str)], Some(&Ty::Class("ActorColumns"))), "The actors named in column `field` (\"from\" or \"to\"), row by row, as actor columns: a join. Every row must name an actor."),
        ],
    },
    Class {
        name: "NumCol",
        doc: "A number column: supports + - * / ^ and unary minus with numbers or columns of the same length.",
        fields: &[
            req("sum", Ty::Fn(&[("self", Ty::Class("NumCol"))], Some(&Ty::Num)), "Sum of the rows, in order."),
            req("gt", Ty::Fn(&[("self", Ty::Class("NumCol")), ("other", Ty::Any)], Some(&Ty::Class("BoolCol"))), "Row-wise >."),
            req("ge", Ty::Fn(&[("self", Ty::Class("NumCol")), ("other", Ty::Any)], Some(&Ty::Class("BoolCol"))), "Row-wise >=."),
            req("lt", Ty::Fn(&[("self", Ty::Class("NumCol")), ("other", Ty::Any)], Some(&Ty::Class("BoolCol"))), "Row-wise <."),
            req("le", Ty::Fn(&[("self", Ty::Class("NumCol")), ("other", Ty::Any)], Some(&Ty::Class("BoolCol"))), "Row-wise <=."),
            req("get", Ty::Fn(&[("self", Ty::Class("NumCol")), ("row", Ty::Num)], Some(&Ty::Num)), "One row (1-based)."),
            req("filter", Ty::Fn(&[("self", Ty::Class("NumCol")), ("keep", Ty::Class("BoolCol"))], Some(&Ty::Class("NumCol"))), "The rows where `keep` holds, in order."),
        ],
    },
    Class {
        name: "StrCol",
        doc: "A column of names.",
        fields: &[
            req("eq", Ty::Fn(&[("self", Ty::Class("StrCol")), ("name", Ty::Str)], Some(&Ty::Class("BoolCol"))), "Row-wise equality."),
            req("get", Ty::Fn(&[("self", Ty::Class("StrCol")), ("row", Ty::Num)], Some(&Ty::Str)), "One row (1-based)."),
            req("is_in", Ty::Fn(&[("self", Ty::Class("StrCol")), ("names", Ty::List(&Ty::Str))], Some(&Ty::Class("BoolCol"))), "Row-wise: the name is one of `names`."),
            req("filter", Ty::Fn(&[("self", Ty::Class("StrCol")), ("keep", Ty::Class("BoolCol"))], Some(&Ty::Class("StrCol"))), "The rows where `keep` holds, in order."),
        ],
    },
    Class {
        name: "Col",
        doc: "The `col` library of columnar hooks: row-wise arithmetic over whole columns, in Rust.",
        fields: &[
            req("min", Ty::Fn(&[("a", Ty::Union(&[Ty::Class("NumCol"), Ty::Num])), ("b", Ty::Union(&[Ty::Class("NumCol"), Ty::Num]))], Some(&Ty::Class("NumCol"))), "Row-wise minimum of two columns (or a column and a number)."),
            req("max", Ty::Fn(&[("a", Ty::Union(&[Ty::Class("NumCol"), Ty::Num])), ("b", Ty::Union(&[Ty::Class("NumCol"), Ty::Num]))], Some(&Ty::Class("NumCol"))), "Row-wise maximum of two columns (or a column and a number)."),
            req("where", Ty::Fn(&[("cond", Ty::Class("BoolCol")), ("a", Ty::Union(&[Ty::Class("NumCol"), Ty::Num])), ("b", Ty::Union(&[Ty::Class("NumCol"), Ty::Num]))], Some(&Ty::Class("NumCol"))), "Row by row: `a` where `cond` holds, else `b`."),
        ],
    },
    Class {
        name: "BoolCol",
        doc: "A column of conditions, for col.where.",
        fields: &[req("count", Ty::Fn(&[("self", Ty::Class("BoolCol"))], Some(&Ty::Num)), "Rows that hold.")],
    },
    Class {
        name: "FlowSpec",
        doc: "A new flow for `ctx.flow`.",
        fields: &[
            opt("id", Ty::Str, "Default: derived from from, to, kind and via."),
            req("from", Ty::Str, "Actor or asset id."),
            req("to", Ty::Str, "Actor or asset id."),
            req("kind", Ty::Literal(FLOW_KINDS), ""),
            opt("via", Ty::Str, ""),
            req("amount", Ty::Num, "Finite and not negative, in the kind's base unit."),
            opt("project", Ty::Str, "Project id."),
            opt("tags", Ty::List(&Ty::Str), ""),
            opt("note", Ty::Str, "Why the flow exists, for `explain`."),
        ],
    },
    Class {
        name: "AdjustSpec",
        doc: "A change to this step's flows for `ctx.adjust`: `flow` or `select`, and one of `scale`, `add`, `set`.",
        fields: &[
            opt("flow", Ty::Str, "One flow id."),
            opt("select", Ty::Class("FlowSelector"), "All flows matching."),
            opt("scale", Ty::Num, "Multiply the amount."),
            opt("add", Ty::Num, "Add to the amount."),
            opt("set", Ty::Num, "Replace the amount."),
        ],
    },
    Class {
        name: "SetSpec",
        doc: "A lasting change to an attribute for `ctx.set`: `actor` or `asset`.",
        fields: &[
            opt("actor", Ty::Str, "Actor id."),
            opt("asset", Ty::Str, "Asset id."),
            req("attr", Ty::Str, "Attribute name."),
            req("value", ATTR, "New value, in force from this step on."),
        ],
    },
    Class {
        name: "FindingSpec",
        doc: "A finding for the outcome, for `ctx.finding`.",
        fields: &[
            req("level", Ty::Literal(LEVELS), ""),
            req("message", Ty::Str, ""),
            opt("code", Ty::Str, "Stable identifier, e.g. `voucher.cap_reached`."),
            opt("subject", Ty::Str, "The actor, asset, flow or project it is about."),
        ],
    },
    Class {
        name: "RoleSpec",
        doc: "A What / How / Why role in a project, for `ctx.role`.",
        fields: &[
            req("project", Ty::Str, ""),
            req("actor", Ty::Str, ""),
            req("role", Ty::Literal(ROLES), ""),
            opt("note", Ty::Str, "The contribution: goal, means or reason."),
        ],
    },
];

/// `ctx` fields that are values, not functions.
pub const CTX_FIELDS: &[Field] = &[req("step", Ty::Num, "The year being evaluated.")];

pub const CTX_FUNCTIONS: &[CtxFunction] = &[
    CtxFunction {
        function: CtxFn::Param,
        params: &[("name", Ty::Str)],
        // `any`, not a union: a numeric parameter stays usable in arithmetic for the
        // type checkers.
        returns: Some(Ty::Any),
        doc: "A parameter's value in force this step: a number, or for a text parameter a string or a read-only list of strings.",
    },
    CtxFunction {
        function: CtxFn::Actor,
        params: &[("id", Ty::Str)],
        returns: Some(Ty::Optional(&Ty::Class("Actor"))),
        doc: "An actor by id (nil if none).",
    },
    CtxFunction {
        function: CtxFn::Asset,
        params: &[("id", Ty::Str)],
        returns: Some(Ty::Optional(&Ty::Class("Asset"))),
        doc: "An asset by id (nil if none).",
    },
    CtxFunction {
        function: CtxFn::Actors,
        params: &[("select", Ty::Class("ActorSelector"))],
        returns: Some(Ty::List(&Ty::Class("Actor"))),
        doc: "This step's actors matching the selector, in scenario order (filtered in Rust).",
    },
    CtxFunction {
        function: CtxFn::Assets,
        params: &[("select", Ty::Class("AssetSelector"))],
        returns: Some(Ty::List(&Ty::Class("Asset"))),
        doc: "This step's assets matching the selector, in scenario order (filtered in Rust).",
    },
    CtxFunction {
        function: CtxFn::Flows,
        params: &[("select", Ty::Class("FlowSelector"))],
        returns: Some(Ty::List(&Ty::Class("Flow"))),
        doc: "This step's flows matching the selector.",
    },
    CtxFunction {
        function: CtxFn::Sum,
        params: &[("select", Ty::Class("FlowSelector"))],
        returns: Some(Ty::Num),
        doc: "The sum of this step's matching flow amounts.",
    },
    CtxFunction {
        function: CtxFn::Total,
        params: &[("select", Ty::Class("FlowSelector"))],
        returns: Some(Ty::Num),
        doc: "The sum of matching flow amounts over all earlier steps.",
    },
    CtxFunction {
        function: CtxFn::MetricAt,
        params: &[("name", Ty::Str), ("year", Ty::Optional(&Ty::Num))],
        returns: Some(Ty::Optional(&Ty::Num)),
        doc: "A metric's value in an earlier year (built-in or rule-made), or this year's rule metric as the rules before this one made it (year omitted or ctx.step); nil if it was not produced.",
    },
    CtxFunction {
        function: CtxFn::Flow,
        params: &[("spec", Ty::Class("FlowSpec"))],
        returns: None,
        doc: "Create a flow in this step.",
    },
    CtxFunction {
        function: CtxFn::Adjust,
        params: &[("spec", Ty::Class("AdjustSpec"))],
        returns: None,
        doc: "Change flows of this step.",
    },
    CtxFunction {
        function: CtxFn::Set,
        params: &[("spec", Ty::Class("SetSpec"))],
        returns: None,
        doc: "Change an attribute from this step on.",
    },
    CtxFunction {
        function: CtxFn::Metric,
        params: &[("name", Ty::Str), ("value", Ty::Num)],
        returns: None,
        doc: "Add to this step's metric `name`.",
    },
    CtxFunction {
        function: CtxFn::Finding,
        params: &[("spec", Ty::Class("FindingSpec"))],
        returns: None,
        doc: "Report a finding.",
    },
    CtxFunction {
        function: CtxFn::Role,
        params: &[("spec", Ty::Class("RoleSpec"))],
        returns: None,
        doc: "Give an actor a role in a project.",
    },
];

pub fn class(name: &str) -> Option<&'static Class> {
    CLASSES.iter().find(|c| c.name == name)
}

/// Field names of a class, for checking effect tables.
pub fn field_names(class_name: &str) -> Vec<&'static str> {
    class(class_name)
        .map(|c| c.fields.iter().map(|f| f.name).collect())
        .unwrap_or_default()
}

fn luals_ty(ty: &Ty) -> String {
    match ty {
        Ty::Str => "string".into(),
        Ty::Num => "number".into(),
        Ty::Bool => "boolean".into(),
        Ty::Any => "any".into(),
        Ty::Literal(items) => items
            .iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join("|"),
        Ty::Class(name) => format!("gil.{name}"),
        Ty::Names => "string|string[]".into(),
        Ty::List(inner) => match inner {
            Ty::Union(_) | Ty::Literal(_) | Ty::Fn(..) => format!("({})[]", luals_ty(inner)),
            _ => format!("{}[]", luals_ty(inner)),
        },
        Ty::Map(inner) => format!("table<string, {}>", luals_ty(inner)),
        Ty::Union(items) => items.iter().map(luals_ty).collect::<Vec<_>>().join("|"),
        Ty::Optional(inner) => format!("{}?", luals_ty(inner)),
        Ty::Fn(params, ret) => {
            let ps: Vec<String> = params
                .iter()
                .map(|(n, t)| format!("{n}: {}", luals_ty(t)))
                .collect();
            match ret {
                Some(r) => format!("fun({}): {}", ps.join(", "), luals_ty(r)),
                None => format!("fun({})", ps.join(", ")),
            }
        }
    }
}

fn luau_ty(ty: &Ty) -> String {
    match ty {
        Ty::Str => "string".into(),
        Ty::Num => "number".into(),
        Ty::Bool => "boolean".into(),
        Ty::Any => "any".into(),
        Ty::Literal(items) => items
            .iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(" | "),
        Ty::Class(name) => format!("Gil{name}"),
        Ty::Names => "string | {string}".into(),
        Ty::List(inner) => format!("{{{}}}", luau_ty(inner)),
        Ty::Map(inner) => format!("{{[string]: {}}}", luau_ty(inner)),
        Ty::Union(items) => items.iter().map(luau_ty).collect::<Vec<_>>().join(" | "),
        Ty::Optional(inner) => format!("({})?", luau_ty(inner)),
        Ty::Fn(params, ret) => {
            let ps: Vec<String> = params
                .iter()
                .map(|(n, t)| format!("{n}: {}", luau_ty(t)))
                .collect();
            match ret {
                Some(r) => format!("({}) -> {}", ps.join(", "), luau_ty(r)),
                None => format!("({}) -> ()", ps.join(", ")),
            }
        }
    }
}

/// A LuaLS (lua-language-server) `---@meta` file describing rules, `ctx` and entities.
pub fn luals_meta() -> String {
    let mut out = String::new();
    let _ = writeln!(out, "---@meta gil");
    let _ = writeln!(
        out,
        "-- gil rule API for lua-language-server. Generated by `gil lua-api`; do not edit.\n"
    );
    for class in CLASSES {
        let _ = writeln!(out, "---{}", class.doc);
        let _ = writeln!(out, "---@class gil.{}", class.name);
        for f in class.fields {
            let q = if f.optional { "?" } else { "" };
            let doc = if f.doc.is_empty() {
                String::new()
            } else {
                format!(" {}", f.doc)
            };
            let _ = writeln!(out, "---@field {}{q} {}{doc}", f.name, luals_ty(&f.ty));
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "---What a rule reads and the effects it writes. Effects are applied when the rule finishes.");
    let _ = writeln!(out, "---@class gil.Ctx");
    for f in CTX_FIELDS {
        let _ = writeln!(out, "---@field {} {} {}", f.name, luals_ty(&f.ty), f.doc);
    }
    let _ = writeln!(out, "local Ctx = {{}}\n");
    for func in CTX_FUNCTIONS {
        let _ = writeln!(out, "---{}", func.doc);
        for (name, ty) in func.params {
            let _ = writeln!(out, "---@param {name} {}", luals_ty(ty));
        }
        if let Some(r) = &func.returns {
            let _ = writeln!(out, "---@return {}", luals_ty(r));
        }
        let names: Vec<&str> = func.params.iter().map(|(n, _)| *n).collect();
        let _ = writeln!(
            out,
            "function Ctx.{}({}) end\n",
            func.name(),
            names.join(", ")
        );
    }
    for (name, class) in GLOBALS {
        let _ = writeln!(out, "---@type gil.{class}\n{name} = {{}}\n");
    }
    out
}

/// A luau-lsp definitions file (`.d.luau`) with the same content as [`luals_meta`].
pub fn luau_definitions() -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "-- gil rule API for luau-lsp. Generated by `gil lua-api --format luau`; do not edit.\n"
    );
    for class in CLASSES {
        let _ = writeln!(out, "-- {}", class.doc);
        let _ = writeln!(out, "export type Gil{} = {{", class.name);
        for f in class.fields {
            let ty = luau_ty(&f.ty);
            let ty = if f.optional { format!("({ty})?") } else { ty };
            let _ = writeln!(out, "    {}: {ty},", f.name);
        }
        let _ = writeln!(out, "}}\n");
    }
    let _ = writeln!(out, "-- What a rule reads and the effects it writes.");
    let _ = writeln!(out, "export type GilCtx = {{");
    for f in CTX_FIELDS {
        let _ = writeln!(out, "    {}: {},", f.name, luau_ty(&f.ty));
    }
    for func in CTX_FUNCTIONS {
        let ps: Vec<String> = func
            .params
            .iter()
            .map(|(n, t)| format!("{n}: {}", luau_ty(t)))
            .collect();
        let ret = func
            .returns
            .as_ref()
            .map(luau_ty)
            .unwrap_or_else(|| "()".into());
        let _ = writeln!(out, "    {}: ({}) -> {ret},", func.name(), ps.join(", "));
    }
    let _ = writeln!(out, "}}");
    for (name, class) in GLOBALS {
        let _ = writeln!(out, "\ndeclare {name}: Gil{class}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{luals_meta, luau_definitions, CTX_FUNCTIONS, GLOBALS};

    #[test]
    fn every_global_and_ctx_function_of_the_sandbox_is_declared() {
        let lua = crate::sandbox::new_state(
            &crate::SandboxConfig::default(),
            std::rc::Rc::new(crate::sandbox::Clock::new(
                std::time::Duration::from_secs(1),
                None,
            )),
            std::rc::Rc::new(crate::sandbox::Random::new()),
        )
        .unwrap();
        let plain =
            mlua::Lua::new_with(mlua::StdLib::ALL_SAFE, mlua::LuaOptions::default()).unwrap();
        // The sandbox installs gil's globals from GLOBALS; each is there and declared.
        let meta = luals_meta();
        let luau = luau_definitions();
        for (name, class) in GLOBALS {
            let value: mlua::Value = lua.globals().get(*name).unwrap();
            assert!(value.is_table(), "the sandbox has no `{name}`");
            let standard: mlua::Value = plain.globals().raw_get(*name).unwrap();
            assert!(
                standard.is_nil(),
                "`{name}` is a standard global, not gil's"
            );
            assert!(
                super::class(class).is_some(),
                "no class `{class}` describes `{name}`"
            );
            assert!(
                meta.contains(&format!("\n{name} = {{}}")),
                "{name} missing from LuaLS"
            );
            assert!(
                luau.contains(&format!("declare {name}: ")),
                "{name} missing from Luau"
            );
        }
        for f in CTX_FUNCTIONS {
            assert!(meta.contains(&format!("function Ctx.{}(", f.name())));
            assert!(luau.contains(&format!("    {}: (", f.name())));
        }
        assert!(
            meta.contains("---@return gil.Actor?"),
            "ctx.actor may return nil"
        );
        assert!(
            luau.contains("actor: (id: string) -> (GilActor)?"),
            "{luau}"
        );
    }

    #[test]
    fn no_ctx_function_is_described_twice() {
        // A second description would register the function twice, the later winning.
        for (i, f) in CTX_FUNCTIONS.iter().enumerate() {
            assert!(
                CTX_FUNCTIONS[..i].iter().all(|g| g.function != f.function),
                "ctx.{} is described twice",
                f.name()
            );
        }
    }
}
