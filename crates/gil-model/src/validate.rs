//! Semantic checks over the merged scenario. Every check reports; none stops the others.

use crate::code::Code;
use std::collections::BTreeSet;
use std::fmt;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::diag::{did_you_mean, Diagnostic};
use crate::span::{SourceMap, Span, Spanned};
use crate::types::{AttrValue, Attrs, Dated, EntityPath, FlowKind, ACTOR_KINDS, ASSET_KINDS};
use crate::{Scenario, COMPUTE_UNITS, POWER_UNITS};

/// `unparsed`: ids of entities whose own problem is reported already; `None` when a
/// whole table could not be read, so any reference may be to one of its entities.
pub(crate) fn validate(
    s: &Scenario,
    sources: &SourceMap,
    unparsed: Option<&BTreeSet<String>>,
) -> Vec<Diagnostic> {
    let mut v = Validator {
        s,
        out: Vec::new(),
        sources,
        unparsed,
        horizon_ok: true,
    };
    // Against a reversed horizon every dated year would be "outside": say it once.
    v.horizon_ok = v.horizon();
    let part = |check: &(dyn Fn(&mut Validator) + Sync)| {
        let mut part = Validator {
            out: Vec::new(),
            ..v
        };
        check(&mut part);
        part.out
    };
    // A national registry's flows are most of the work: they are checked on a second
    // thread while this one checks the rest, and the parts are put together in the
    // order one pass would give.
    let (flow_parts, parts) = std::thread::scope(|scope| {
        let flows = scope.spawn(|| {
            [
                part(&|v| v.flow_ids()),
                part(&|v| v.flow_kinds()),
                part(&|v| v.flows()),
            ]
        });
        let rest = [
            part(&|v| {
                v.entity_ids();
                v.project_ids();
            }),
            part(&|v| {
                v.actor_kinds();
                v.asset_kinds();
            }),
            part(&|v| {
                v.parameters();
                v.actors();
                v.assets();
            }),
            part(&|v| v.projects()),
        ];
        let flows = flows
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (flows, rest)
    });
    let [flow_ids, flow_kinds, flows] = flow_parts;
    let [ids, kinds, entities, projects] = parts;
    let mut out = v.out;
    for part in [ids, flow_ids, kinds, flow_kinds, entities, flows, projects] {
        out.extend(part);
    }
    out
}

struct Validator<'a> {
    s: &'a Scenario,
    out: Vec<Diagnostic>,
    sources: &'a SourceMap,
    /// Ids of entities that did not parse; their problem is already reported (`None`:
    /// a table could not be read, so unknown references are not reported).
    unparsed: Option<&'a BTreeSet<String>>,
    /// False when the horizon is reversed: years are then not checked against it.
    horizon_ok: bool,
}

impl Validator<'_> {
    /// Whether the horizon runs forwards (reported when it does not).
    fn horizon(&mut self) -> bool {
        let h = &self.s.header.horizon;
        let ok = h.start.value <= h.end.value;
        if !ok {
            self.out.push(
                Diagnostic::error(
                    Code::ReversedHorizon,
                    format!(
                        "the horizon ends ({}) before it starts ({})",
                        h.end.value.0, h.start.value.0
                    ),
                )
                .at(h.span)
                .path("scenario.horizon")
                .help("write `horizon: { start: <first year>, end: <last year> }`"),
            );
        }
        ok
    }

    fn entity_ids(&mut self) {
        let mut seen: FxHashMap<&str, Span> = FxHashMap::default();
        seen.reserve(self.s.actors.len() + self.s.assets.len());
        let entities = self
            .s
            .actors
            .iter()
            .map(|a| (&a.id, &a.path))
            .chain(self.s.assets.iter().map(|a| (&a.id, &a.path)));
        for (id, path) in entities {
            if id.value.trim().is_empty() {
                self.out.push(
                    Diagnostic::error(Code::EmptyId, "an id cannot be empty")
                        .at(id.span)
                        .path(format!("{path}.id")),
                );
                continue;
            }
            if let Some(first) = seen.get(id.value.as_str()) {
                self.out.push(
                    Diagnostic::error(
                        Code::DuplicateId,
                        format!("the id `{}` is used twice", id.value),
                    )
                    .at(id.span)
                    .path(format!("{path}.id"))
                    .related(
                        *first,
                        format!("first used here ({})", self.sources.locate(*first)),
                    )
                    .help("actors and assets share one namespace; give each a unique id"),
                );
            } else {
                seen.insert(&id.value, id.span);
            }
        }
    }

    fn project_ids(&mut self) {
        self.unique(self.s.projects.iter().map(|p| (&p.id, p.path)), "project");
    }

    fn flow_ids(&mut self) {
        self.unique(
            self.s
                .flows
                .iter()
                .filter_map(|f| f.id.as_ref().map(|id| (id, f.path))),
            "flow",
        );
    }

    fn unique<'b>(
        &mut self,
        ids: impl Iterator<Item = (&'b Spanned<String>, EntityPath)>,
        what: &str,
    ) {
        let mut seen: FxHashMap<&str, Span> = FxHashMap::default();
        // Flows give an id or not (`filter_map`): room for all of them, not none.
        seen.reserve(ids.size_hint().1.unwrap_or(0));
        for (id, path) in ids {
            if let Some(first) = seen.get(id.value.as_str()) {
                self.out.push(
                    Diagnostic::error(
                        Code::DuplicateId,
                        format!("the {what} id `{}` is used twice", id.value),
                    )
                    .at(id.span)
                    .path(format!("{path}.id"))
                    .related(*first, "first used here"),
                );
            } else {
                seen.insert(&id.value, id.span);
            }
        }
    }

    fn actor_kinds(&mut self) {
        for a in &self.s.actors {
            if !self.s.is_actor_kind(&a.kind.value) {
                let candidates = ACTOR_KINDS
                    .iter()
                    .copied()
                    .chain(self.s.kinds.actor.iter().map(String::as_str));
                let d = unknown(
                    Code::UnknownKind,
                    "actor kind",
                    &a.kind,
                    &format!("{}.kind", a.path),
                    candidates,
                );
                self.out.push(d.help_or(
                    "add it under `kinds: { actor: [...] }` in the root file to extend the list",
                ));
            }
        }
    }

    fn asset_kinds(&mut self) {
        for a in &self.s.assets {
            if !self.s.is_asset_kind(&a.kind.value) {
                let candidates = ASSET_KINDS
                    .iter()
                    .copied()
                    .chain(self.s.kinds.asset.iter().map(String::as_str));
                let d = unknown(
                    Code::UnknownKind,
                    "asset kind",
                    &a.kind,
                    &format!("{}.kind", a.path),
                    candidates,
                );
                self.out.push(d.help_or(
                    "add it under `kinds: { asset: [...] }` in the root file to extend the list",
                ));
            }
        }
    }

    fn flow_kinds(&mut self) {
        for f in &self.s.flows {
            if FlowKind::parse(&f.kind.value).is_none() {
                let d = unknown(
                    Code::UnknownKind,
                    "flow kind",
                    &f.kind,
                    &format!("{}.kind", f.path),
                    FlowKind::NAMES.iter().copied(),
                );
                self.out
                    .push(d.help_or("a flow is `funding`, `compute` or `power`"));
            }
        }
    }

    fn parameters(&mut self) {
        for (name, p) in &self.s.parameters {
            self.dated(
                &p.value.value,
                p.value.span,
                Key(&p.value_path, &[]),
                name.starts_with("fx."),
            );
            if name.starts_with("fx.") {
                for value in p.value.value.values() {
                    if value <= 0.0 {
                        self.out.push(
                            Diagnostic::error(
                                Code::NegativeValue,
                                format!("the exchange rate `{name}` must be positive"),
                            )
                            .at(p.value.span)
                            .path(p.value_path.clone()),
                        );
                        break;
                    }
                }
            }
        }
    }

    fn actors(&mut self) {
        for a in &self.s.actors {
            if let Some(count) = &a.count {
                if count.value.0 < 0.0 {
                    self.out.push(negative(
                        count.span,
                        &format!("{}.count", a.path),
                        "an actor's count",
                    ));
                }
            }
            self.attrs(&a.attrs, &a.path);
        }
    }

    fn assets(&mut self) {
        for a in &self.s.assets {
            if let Some(owner) = &a.owner {
                self.actor_ref(owner, Key(&a.path, &["owner"]), "owner");
            }
            for (name, cap) in &a.capacity {
                self.dated(
                    &cap.value,
                    cap.span,
                    Key(&a.path, &["capacity", name]),
                    true,
                );
            }
            if let Some(online) = &a.online {
                let _ = online; // an asset may come online before or after the horizon
            }
            self.attrs(&a.attrs, &a.path);
        }
    }

    fn flows(&mut self) {
        let projects: FxHashSet<&str> = self
            .s
            .projects
            .iter()
            .map(|p| p.id.value.as_str())
            .collect();
        for f in &self.s.flows {
            self.entity_ref(&f.from, Key(&f.path, &["from"]));
            self.entity_ref(&f.to, Key(&f.path, &["to"]));
            if f.from.value == f.to.value {
                self.out.push(
                    Diagnostic::error(
                        Code::SelfFlow,
                        format!("a flow from `{}` to itself", f.from.value),
                    )
                    .at(f.to.span)
                    .path(format!("{}.to", f.path)),
                );
            }
            if let Some(project) = &f.project {
                if !projects.contains(project.value.as_str()) {
                    let d = unknown(
                        Code::UnknownId,
                        "project",
                        project,
                        &format!("{}.project", f.path),
                        self.s.projects.iter().map(|p| p.id.value.as_str()),
                    );
                    self.out.push(d);
                }
            }
            self.dated(
                &f.amount.value,
                f.amount.span,
                Key(&f.path, &["amount"]),
                true,
            );
            if let (Some(kind), Some(unit)) = (FlowKind::parse(&f.kind.value), &f.unit) {
                self.unit(kind, unit, Key(&f.path, &["unit"]));
            }
        }
    }

    fn unit(&mut self, kind: FlowKind, unit: &Spanned<String>, path: Key<'_>) {
        let u = unit.value.as_str();
        let currency = self.s.currency();
        let ok = match kind {
            FlowKind::Funding => {
                if u == currency {
                    true
                } else if is_currency_code(u) {
                    let fx = format!("fx.{u}");
                    if !self.s.parameters.contains_key(&fx) {
                        self.out.push(
                            Diagnostic::error(
                                Code::MissingFx,
                                format!("no exchange rate for `{u}`"),
                            )
                            .at(unit.span)
                            .path(path.to_string())
                            .help(format!("add the parameter `{fx}` ({currency} per {u})")),
                        );
                    }
                    true
                } else {
                    false
                }
            }
            FlowKind::Compute => COMPUTE_UNITS.iter().any(|(n, _)| *n == u),
            FlowKind::Power => POWER_UNITS.iter().any(|(n, _)| *n == u),
        };
        if !ok {
            let allowed: Vec<String> = match kind {
                FlowKind::Funding => vec![
                    currency.to_string(),
                    "a currency code with an `fx.<CODE>` parameter".into(),
                ],
                FlowKind::Compute => COMPUTE_UNITS.iter().map(|(n, _)| n.to_string()).collect(),
                FlowKind::Power => POWER_UNITS.iter().map(|(n, _)| n.to_string()).collect(),
            };
            self.out.push(
                Diagnostic::error(
                    Code::UnitMismatch,
                    format!("a {kind} flow cannot be measured in `{u}`"),
                )
                .at(unit.span)
                .path(path.to_string())
                .help(format!("use {}", allowed.join(", "))),
            );
        }
    }

    fn projects(&mut self) {
        let years = self.s.years();
        for p in &self.s.projects {
            self.actor_ref(
                &p.what.owner,
                Key(&p.path, &["what", "owner"]),
                "What owner",
            );
            for (i, how) in p.how.iter().enumerate() {
                let how_path = format!("{}.how[{i}]", p.path);
                self.actor_ref(&how.actor, Key(&how_path, &["actor"]), "How actor");
            }
            for (i, participant) in p.participants.iter().enumerate() {
                let participant_path = format!("{}.participants[{i}]", p.path);
                self.actor_ref(participant, Key(&participant_path, &[]), "participant");
            }
            for (i, target) in p.targets.iter().enumerate() {
                let path = format!("{}.targets[{i}]", p.path);
                if target.at_least.is_none() && target.at_most.is_none() {
                    self.out.push(
                        Diagnostic::error(
                            Code::MissingField,
                            "a target needs `at_least` or `at_most`",
                        )
                        .at(target.metric.span)
                        .path(path.clone()),
                    );
                }
                if let Some(by) = &target.by {
                    if self.horizon_ok && !years.contains(&by.value.0) {
                        self.out.push(outside_horizon(
                            by.span,
                            &format!("{path}.by"),
                            by.value.0,
                            &years,
                        ));
                    }
                }
            }
        }
    }

    fn attrs(&mut self, attrs: &Attrs, path: &EntityPath) {
        for (name, value) in attrs.iter() {
            if let AttrValue::Number(dated) = &value.value {
                self.dated(dated, value.span, Key(path, &["attrs", name]), false);
            }
        }
    }

    /// Years inside the horizon; optionally no negative values.
    fn dated(&mut self, value: &Dated, span: Span, path: Key<'_>, non_negative: bool) {
        let years = self.s.years();
        match value {
            Dated::Fixed(v) => {
                if non_negative && *v < 0.0 {
                    self.out
                        .push(negative(span, &path.to_string(), "this value"));
                }
            }
            Dated::Series(points) => {
                for (year, span, v) in points {
                    if self.horizon_ok && !years.contains(year) {
                        self.out.push(outside_horizon(
                            *span,
                            &format!("{path}.{year}"),
                            *year,
                            &years,
                        ));
                    }
                    if non_negative && *v < 0.0 {
                        self.out
                            .push(negative(*span, &format!("{path}.{year}"), "this value"));
                    }
                }
            }
        }
    }

    fn entity_ref(&mut self, id: &Spanned<String>, path: Key<'_>) {
        if self.s.entity(&id.value).is_none()
            && self.unparsed.is_some_and(|u| !u.contains(&id.value))
        {
            let candidates = self
                .s
                .actors
                .iter()
                .map(|a| a.id.value.as_str())
                .chain(self.s.assets.iter().map(|a| a.id.value.as_str()));
            self.out.push(unknown(
                Code::UnknownId,
                "actor or asset",
                id,
                &path.to_string(),
                candidates,
            ));
        }
    }

    fn actor_ref(&mut self, id: &Spanned<String>, path: Key<'_>, role: &str) {
        if self.s.actor(&id.value).is_none()
            && self.unparsed.is_some_and(|u| !u.contains(&id.value))
        {
            let candidates = self.s.actors.iter().map(|a| a.id.value.as_str());
            let mut d = unknown(Code::UnknownId, "actor", id, &path.to_string(), candidates);
            d.message = format!("the {role} `{}` is not an actor", id.value);
            self.out.push(d);
        }
    }
}

/// A key path (`flows[3].from`): where an entity is, then the keys inside it, written
/// out only when a diagnostic needs it (checking a national registry's entities would
/// otherwise format one per field checked).
#[derive(Clone, Copy)]
struct Key<'a>(&'a dyn fmt::Display, &'a [&'a str]);

impl fmt::Display for Key<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        self.1.iter().try_for_each(|key| write!(f, ".{key}"))
    }
}

fn unknown<'a>(
    code: Code,
    what: &str,
    name: &Spanned<String>,
    path: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Diagnostic {
    let d = Diagnostic::error(code, format!("unknown {what} `{}`", name.value))
        .at(name.span)
        .path(path);
    match did_you_mean(&name.value, candidates) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => d,
    }
}

fn negative(span: Span, path: &str, what: &str) -> Diagnostic {
    Diagnostic::error(Code::NegativeValue, format!("{what} cannot be negative"))
        .at(span)
        .path(path)
        .help("amounts and capacities are zero or more; reverse `from` and `to` for a flow the other way")
}

fn outside_horizon(
    span: Span,
    path: &str,
    year: i32,
    years: &std::ops::RangeInclusive<i32>,
) -> Diagnostic {
    Diagnostic::error(
        Code::YearOutsideHorizon,
        format!(
            "the year {year} is outside the horizon {}–{}",
            years.start(),
            years.end()
        ),
    )
    .at(span)
    .path(path)
    .help("dated values must fall within `scenario.horizon`; widen the horizon or drop the year")
}

fn is_currency_code(u: &str) -> bool {
    u.len() == 3 && u.chars().all(|c| c.is_ascii_uppercase())
}

trait HelpOr {
    fn help_or(self, help: &str) -> Self;
}

impl HelpOr for Diagnostic {
    fn help_or(self, help: &str) -> Self {
        if self.help.is_some() {
            self
        } else {
            self.help(help)
        }
    }
}
