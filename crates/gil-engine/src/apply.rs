//! Applying one rule's effects to the step's world, all together, after it finishes.
//!
//! Two passes: every effect is first checked against the others and the world (two
//! sets of one attribute, a set flow also adjusted, a flow id taken twice) and each
//! adjustment's flows are resolved; only then are the effects applied, in the order the
//! rule made them.

use std::collections::BTreeMap;
use std::sync::Arc;

use gil_model::FlowKind;
use rustc_hash::FxHashMap;

use gil_rules::{
    AdjustOp, AdjustTarget, AttrVal, Effect, EffectKind, EntityKind, FlowRows, FlowState, Level,
    NewFlow, Origin, Provenance, Role, RuleError, RuleErrorKind, Sym, Touched, WorldState,
};

use crate::materialize::{Persistent, CAPACITY_PREFIX};
use crate::outcome::{Finding, RuleRole};
use crate::trace::{AdjustRecord, Contribution, EntityUsed, SetRecord, StepTrace};

/// What a step gathers from its rules besides flow changes.
#[derive(Debug, Default)]
pub(crate) struct StepAcc {
    /// Keep in the trace what `explain` shows (`Options::explain`).
    pub explain: bool,
    /// Each rule metric's first call site this step, for an error that names it.
    pub metric_sites: std::collections::HashMap<String, Provenance>,
    /// Automatic flow ids: kept by the step loop across steps (see [`AutoIds`]).
    pub auto_ids: AutoIds,
    /// The names the step's rule-made flows named last (see [`RecentNames`]).
    pub recent: RecentNames,
    pub metrics: BTreeMap<String, f64>,
    pub findings: Vec<Finding>,
    pub roles: Vec<RuleRole>,
}

pub(crate) fn apply(
    world: &mut WorldState,
    effects: Vec<Effect>,
    acc: &mut StepAcc,
    persistent: &mut Persistent,
    trace: &mut StepTrace,
) -> Result<Touched, RuleError> {
    // Check for conflicts before changing anything.
    let resolved = check_and_resolve(world, &effects)?;
    // The entity values a metric was computed from are those the rule saw: taken
    // before any of its effects change the world.
    let mut used: Vec<Option<EntityUsed>> = effects
        .iter()
        .map(|e| match (&e.kind, e.entity) {
            (EffectKind::Metric { .. }, Some(entity)) if acc.explain => {
                EntityUsed::of(world, entity)
            }
            _ => None,
        })
        .collect();
    let mut touched = Touched::default();
    for (k, (effect, targets)) in effects.into_iter().zip(resolved).enumerate() {
        let Effect {
            kind, provenance, ..
        } = effect;
        match kind {
            EffectKind::Flow(flow) => {
                create_flow(world, flow, provenance, &mut acc.auto_ids, &mut acc.recent)
            }
            EffectKind::FlowRows(rows) => {
                create_flows(world, rows, provenance, &mut acc.auto_ids, &mut acc.recent)
            }
            EffectKind::Adjust { op, .. } => {
                let mut trace = acc.explain.then_some(&mut *trace);
                for i in targets {
                    let trace = trace.as_deref_mut();
                    adjust_flow(world, i, op, &provenance, &mut touched, trace)?
                }
            }
            EffectKind::AdjustRows { flows, ops } => {
                let mut trace = acc.explain.then_some(&mut *trace);
                for (i, op) in flows.into_iter().zip(ops) {
                    let trace = trace.as_deref_mut();
                    adjust_flow(world, i, op, &provenance, &mut touched, trace)?
                }
            }
            EffectKind::Set {
                entity,
                index,
                attr,
                value,
            } => {
                let set = AttrSet {
                    entity,
                    index,
                    attr,
                    value,
                };
                let trace = acc.explain.then_some(&mut *trace);
                apply_set(world, set, &provenance, &mut touched, persistent, trace)?
            }
            EffectKind::SetRows {
                entity,
                indexes,
                attr,
                value,
            } => {
                let mut trace = acc.explain.then_some(&mut *trace);
                let attr: Arc<str> = attr.into();
                for (row, index) in indexes.into_iter().enumerate() {
                    let set = AttrSet {
                        entity,
                        index,
                        attr: Arc::clone(&attr),
                        value: value.at(row).clone(),
                    };
                    let trace = trace.as_deref_mut();
                    apply_set(world, set, &provenance, &mut touched, persistent, trace)?
                }
            }
            EffectKind::Metric { name, value } => {
                let entity = used.get_mut(k).and_then(Option::take);
                add_metric(acc, trace, &name, &[value], &provenance, entity)
            }
            EffectKind::MetricRows { name, values } => {
                add_metric(acc, trace, &name, &values, &provenance, None)
            }
            EffectKind::Finding {
                level,
                message,
                code,
                subject,
            } => acc
                .findings
                .push(finding(level, message, code, subject, &provenance)),
            EffectKind::Role {
                project,
                actor,
                role,
                note,
            } => acc
                .roles
                .push(rule_role(project, actor, role, note, &provenance)),
        }
    }
    Ok(touched)
}

/// What the rule's effects have claimed so far, each with the call site that claimed it
/// first: attributes set, flows adjusted (and whether by a set), flow ids created.
#[derive(Default)]
struct Claims<'e> {
    sets: FxHashMap<(EntityKind, usize, &'e str), &'e Provenance>,
    adjusted: FxHashMap<usize, (&'e Provenance, bool)>,
    new_ids: FxHashMap<&'e str, &'e Provenance>,
}

/// Checks the effects against each other and the world, and resolves the flows each
/// adjustment targets (no flows for other effects), one list per effect.
fn check_and_resolve(world: &WorldState, effects: &[Effect]) -> Result<Vec<Vec<usize>>, RuleError> {
    let flows_at_start = world.flows.len();
    let mut claims = Claims::default();
    let mut resolved: Vec<Vec<usize>> = Vec::with_capacity(effects.len());
    for effect in effects {
        let p = &effect.provenance;
        let targets = match &effect.kind {
            EffectKind::Set {
                entity,
                index,
                attr,
                ..
            } => {
                claims.claim_set(world, *entity, *index, attr, p)?;
                Vec::new()
            }
            EffectKind::SetRows {
                entity,
                indexes,
                attr,
                ..
            } => {
                for &index in indexes {
                    claims.claim_set(world, *entity, index, attr, p)?;
                }
                Vec::new()
            }
            EffectKind::Adjust { target, op } => {
                let targets = adjust_targets(world, target, flows_at_start);
                let is_set = matches!(op, AdjustOp::Set(_));
                claims.claim_adjusted(world, &targets, is_set, p)?;
                targets
            }
            // Each row as its own adjustment (its flow was found in this world).
            EffectKind::AdjustRows { flows, ops } => {
                for (&i, op) in flows.iter().zip(ops) {
                    let is_set = matches!(op, AdjustOp::Set(_));
                    claims.claim_adjusted(world, &[i], is_set, p)?;
                }
                Vec::new()
            }
            EffectKind::Flow(flow) => {
                if let Some(id) = &flow.id {
                    claims.claim_new_flow(world, id, p)?;
                }
                Vec::new()
            }
            // Metrics add up, findings and roles accumulate: none can conflict.
            // Flows made in rows take automatic ids, which are free by construction.
            EffectKind::Metric { .. }
            | EffectKind::MetricRows { .. }
            | EffectKind::FlowRows(_)
            | EffectKind::Finding { .. }
            | EffectKind::Role { .. } => Vec::new(),
        };
        resolved.push(targets);
    }
    Ok(resolved)
}

impl<'e> Claims<'e> {
    /// One attribute of one entity is set once per rule.
    fn claim_set(
        &mut self,
        world: &WorldState,
        entity: EntityKind,
        index: usize,
        attr: &'e str,
        p: &'e Provenance,
    ) -> Result<(), RuleError> {
        match self.sets.insert((entity, index, attr), p) {
            Some(first) => {
                let id = entity_id(world, entity, index);
                Err(conflict(first, p, format!("`{id}.{attr}` is set")))
            }
            None => Ok(()),
        }
    }

    /// A flow may take several adjustments, but a set (`AdjustOp::Set`) only alone.
    fn claim_adjusted(
        &mut self,
        world: &WorldState,
        targets: &[usize],
        is_set: bool,
        p: &'e Provenance,
    ) -> Result<(), RuleError> {
        for &i in targets {
            if let Some((first, first_set)) = self.adjusted.get(&i) {
                if is_set || *first_set {
                    let id = world.name(world.flows[i].id);
                    return Err(conflict(
                        first,
                        p,
                        format!("flow `{id}` is set and adjusted"),
                    ));
                }
            } else {
                self.adjusted.insert(i, (p, is_set));
            }
        }
        Ok(())
    }

    /// A new flow's id is neither in the step already nor created twice.
    fn claim_new_flow(
        &mut self,
        world: &WorldState,
        id: &'e str,
        p: &'e Provenance,
    ) -> Result<(), RuleError> {
        if world.flow_index(id).is_some() {
            return Err(effect_error(
                p,
                format!("ctx.flow: a flow with id `{id}` already exists in this step"),
            ));
        }
        match self.new_ids.insert(id, p) {
            Some(first) => Err(conflict(first, p, format!("flow `{id}` is created"))),
            None => Ok(()),
        }
    }
}

/// The flows an adjustment applies to, among those the world held before this rule's
/// effects.
fn adjust_targets(world: &WorldState, target: &AdjustTarget, flows_at_start: usize) -> Vec<usize> {
    match target {
        // Found when the rule called, in the world it saw: this one.
        AdjustTarget::Flow { index, .. } => (*index < flows_at_start)
            .then_some(*index)
            .into_iter()
            .collect(),
        AdjustTarget::Select(sel) => world.flows[..flows_at_start]
            .iter()
            .enumerate()
            .filter(|(_, f)| sel.matches_flow(f, &world.names))
            .map(|(i, _)| i)
            .collect(),
    }
}

/// A rule's new flow; without an id it gets one from the rule, ends and kind, made
/// unique in the step.
fn create_flow(
    world: &mut WorldState,
    flow: NewFlow,
    provenance: Provenance,
    auto_ids: &mut AutoIds,
    recent: &mut RecentNames,
) {
    let names = &world.names;
    let (from, to) = (flow.from, flow.to);
    let id = match &flow.id {
        Some(id) => names.intern(id),
        None => auto_ids.next(world, &provenance.rule, from, to, flow.kind),
    };
    let state = FlowState {
        id,
        from,
        to,
        kind: flow.kind,
        via: flow.via.as_ref().map(|v| recent.via(names, v)),
        amount: flow.amount,
        project: flow.project.as_deref().map(|p| names.intern(p)),
        tags: names.tags(&flow.tags),
        note: flow.note.as_deref().map(|n| names.intern(n)),
        origin: recent.origin(names, &provenance),
    };
    world.push_flow(state);
}

/// A columnar call's flows, row by row exactly as [`create_flow`] makes each, with the
/// names every row shares interned once.
fn create_flows(
    world: &mut WorldState,
    rows: FlowRows,
    provenance: Provenance,
    auto_ids: &mut AutoIds,
    recent: &mut RecentNames,
) {
    let names = &world.names;
    let via = rows.via.as_deref().map(|v| names.intern(v));
    let project = rows.project.as_deref().map(|p| names.intern(p));
    let tags = names.tags(&rows.tags);
    let note = rows.note.as_deref().map(|n| names.intern(n));
    let origin = recent.origin(names, &provenance);
    world.flows.reserve(rows.rows);
    for row in 0..rows.rows {
        let (from, to) = (*rows.from.at(row), *rows.to.at(row));
        let id = auto_ids.next(world, &provenance.rule, from, to, rows.kind);
        world.push_flow(FlowState {
            id,
            from,
            to,
            kind: rows.kind,
            via,
            amount: *rows.amount.at(row),
            project,
            tags,
            note,
            origin,
        });
    }
}

/// Scales, adds to or sets the amount of the flow at `i`, which must stay finite and not
/// negative; the change is recorded for `explain`.
fn adjust_flow(
    world: &mut WorldState,
    i: usize,
    op: AdjustOp,
    p: &Provenance,
    touched: &mut Touched,
    trace: Option<&mut StepTrace>,
) -> Result<(), RuleError> {
    let flow = &mut world.flows[i];
    let before = flow.amount;
    let after = match op {
        AdjustOp::Scale(s) => before * s,
        AdjustOp::Add(a) => before + a,
        AdjustOp::Set(v) => v,
    };
    if !after.is_finite() || after < 0.0 {
        return Err(effect_error(
            p,
            format!(
                "ctx.adjust: flow `{}` would become {after} (from {before})",
                world.names.name(world.flows[i].id)
            ),
        ));
    }
    flow.amount = after;
    touched.flows.push(i);
    if let Some(trace) = trace {
        trace
            .adjustments
            .entry(flow.id)
            .or_default()
            .push(AdjustRecord {
                provenance: p.clone(),
                op,
                before,
                after,
            });
    }
    Ok(())
}

/// The id of the actor or asset at `index`.
fn entity_id(world: &WorldState, entity: EntityKind, index: usize) -> &str {
    match entity {
        EntityKind::Actor => world.actors.get(index).map(|a| a.id.as_str()),
        EntityKind::Asset => world.assets.get(index).map(|a| a.id.as_str()),
    }
    .unwrap_or_default()
}

/// A `ctx.set` effect's fields.
struct AttrSet {
    entity: EntityKind,
    index: usize,
    /// Shared by the rows of one columnar set.
    attr: Arc<str>,
    value: AttrVal,
}

/// Sets an attribute, or an asset's capacity (`capacity.<name>`), for this step and the
/// steps after it (`persistent`); the change is recorded for `explain`.
fn apply_set(
    world: &mut WorldState,
    set: AttrSet,
    p: &Provenance,
    touched: &mut Touched,
    persistent: &mut Persistent,
    trace: Option<&mut StepTrace>,
) -> Result<(), RuleError> {
    let AttrSet {
        entity,
        index,
        attr,
        value,
    } = set;
    let capacity = attr
        .strip_prefix(CAPACITY_PREFIX)
        .filter(|_| entity == EntityKind::Asset);
    let before = match capacity {
        Some(cap) => set_capacity(world, index, &attr, cap, &value, p, touched)?,
        None => set_attr(world, entity, index, &attr, &value, touched),
    };
    if let Some(trace) = trace {
        trace.sets.push(SetRecord {
            entity,
            id: entity_id(world, entity, index).to_string(),
            attr: attr.to_string(),
            before,
            after: value.clone(),
            provenance: p.clone(),
        });
    }
    persistent.insert((entity, index, attr), value);
    Ok(())
}

/// An asset's capacity `cap` (written as the attribute `attr`): a number, not negative.
/// Returns the value it replaces.
fn set_capacity(
    world: &mut WorldState,
    index: usize,
    attr: &str,
    cap: &str,
    value: &AttrVal,
    p: &Provenance,
    touched: &mut Touched,
) -> Result<Option<AttrVal>, RuleError> {
    let AttrVal::Num(v) = value else {
        return Err(effect_error(
            p,
            format!("ctx.set: `{attr}` is a capacity and takes a number"),
        ));
    };
    if *v < 0.0 {
        return Err(effect_error(
            p,
            format!("ctx.set: capacity `{cap}` cannot be negative ({v})"),
        ));
    }
    touched.assets.push(index);
    let asset = world.asset_mut(index);
    Ok(asset
        .and_then(|a| a.capacity.insert(cap.to_string(), *v))
        .map(AttrVal::Num))
}

/// An actor's or asset's attribute; returns the value it replaces.
fn set_attr(
    world: &mut WorldState,
    entity: EntityKind,
    index: usize,
    attr: &str,
    value: &AttrVal,
    touched: &mut Touched,
) -> Option<AttrVal> {
    let attrs = match entity {
        EntityKind::Actor => {
            touched.actors.push(index);
            world.actor_mut(index).map(|a| &mut a.attrs)
        }
        EntityKind::Asset => {
            touched.assets.push(index);
            world.asset_mut(index).map(|a| &mut a.attrs)
        }
    };
    crate::materialize::put(attrs?, attr, value)
}

/// Adds `values` to the step's metric, one after the other (the order a per-entity
/// rule's calls would add them in); with `Options::explain`, also to the call site's
/// contribution (the entity's, when `entity` is given).
fn add_metric(
    acc: &mut StepAcc,
    trace: &mut StepTrace,
    name: &str,
    values: &[f64],
    p: &Provenance,
    entity: Option<EntityUsed>,
) {
    if values.is_empty() {
        return;
    }
    // Look up before inserting: a name String per call was a large share of applying
    // columnar and per-entity metrics.
    let sum = match acc.metrics.get_mut(name) {
        Some(sum) => sum,
        None => {
            acc.metric_sites.insert(name.to_string(), p.clone());
            acc.metrics.entry(name.to_string()).or_insert(-0.0)
        }
    };
    for value in values {
        *sum += value;
    }
    if !acc.explain {
        return;
    }
    let contributions = match trace.metrics.get_mut(name) {
        Some(list) => list,
        None => trace.metrics.entry(name.to_string()).or_default(),
    };
    // Consecutive calls from one call site share one record (explain lists
    // contributions per call site anyway).
    let same_entity = |last: &Contribution| match (&last.entity, &entity) {
        (None, None) => true,
        (Some(a), Some(b)) => a.id == b.id,
        _ => false,
    };
    let Some((&value, rest)) = values.split_first() else {
        return;
    };
    match contributions.last_mut() {
        Some(last) if last.provenance == *p && same_entity(last) => {
            last.value += value;
            last.calls += 1;
        }
        _ => contributions.push(Contribution {
            provenance: p.clone(),
            value,
            calls: 1,
            entity,
        }),
    }
    // The rest come from the same call site for the same entity: the same record.
    if let Some(last) = contributions.last_mut() {
        for value in rest {
            last.value += value;
            last.calls += 1;
        }
    }
}

/// A rule's finding; its code defaults to the rule's id.
fn finding(
    level: Level,
    message: String,
    code: Option<String>,
    subject: Option<String>,
    p: &Provenance,
) -> Finding {
    Finding {
        level,
        code: code.unwrap_or_else(|| p.rule.to_string()),
        message,
        step: Some(p.step),
        subject,
        rule: Some(p.rule.to_string()),
        at: Some(site(p)),
    }
}

/// A role a rule gives an actor in a project.
fn rule_role(
    project: String,
    actor: String,
    role: Role,
    note: Option<String>,
    p: &Provenance,
) -> RuleRole {
    RuleRole {
        project,
        actor,
        role,
        note,
        rule: p.rule.to_string(),
        at: site(p),
        step: p.step,
    }
}

fn site(p: &Provenance) -> String {
    format!("{}:{}", p.file, p.line)
}

/// An effect the world cannot take, located at the rule's call.
fn effect_error(p: &Provenance, message: String) -> RuleError {
    RuleError::new(
        RuleErrorKind::Effect,
        p.file.to_string(),
        Some(p.line),
        message,
    )
    .rule(p.rule.to_string())
}

fn conflict(first: &Provenance, second: &Provenance, what: String) -> RuleError {
    RuleError::new(
        RuleErrorKind::Conflict,
        second.file.to_string(),
        Some(second.line),
        format!("{what} twice in one step: here and at {}", site(first)),
    )
    .rule(second.rule.to_string())
    .help("a rule's effects are applied together, so the order between them is undefined; combine them into one")
}

/// Automatic flow ids, `rule:from->to:kind`: `base` when no flow of the step has it,
/// else `base#n` with the smallest free n from 2.
///
/// A per-entity rule makes the same ids every year, so each base is formatted and
/// interned once per run and found again by (rule, from, to, kind) symbols. Per base,
/// `next_suffix` remembers where this step's search stopped: flows are never removed
/// in a step, so every suffix below it is still taken, and the thousandth flow between
/// the same two actors costs one lookup, not a thousand. Suffixed ids are formatted and
/// interned once per run too (`suffixed`).
#[derive(Debug, Default)]
pub(crate) struct AutoIds {
    /// Per rule, each (from, to, kind)'s base id.
    bases: FxHashMap<Arc<str>, BasesOfRule>,
    next_suffix: FxHashMap<Sym, u32>,
    /// `base#n` by (base, n).
    suffixed: FxHashMap<(Sym, u32), Sym>,
}

/// The call site and the `via` the step's last rule-made flow named, with their
/// numbers among the run's names: a rule's flows come in runs from one site with the
/// same `via`, and the names (a lock for what only rules name) are asked once per run.
#[derive(Debug, Default)]
pub(crate) struct RecentNames {
    site: Option<(usize, Origin)>,
    via: Option<(Arc<str>, Sym)>,
}

impl RecentNames {
    /// The symbol of a rule-made flow's `via`.
    fn via(&mut self, names: &gil_rules::Names, via: &Arc<str>) -> Sym {
        match &self.via {
            Some((last, sym)) if Arc::ptr_eq(last, via) || **last == **via => *sym,
            _ => {
                let sym = names.intern(via);
                self.via = Some((Arc::clone(via), sym));
                sym
            }
        }
    }

    /// The origin of a flow made at `site`.
    fn origin(&mut self, names: &gil_rules::Names, site: &Provenance) -> Origin {
        match self.site {
            Some((address, origin)) if address == site.address() => origin,
            _ => {
                let origin = Origin::rule(names.site_number(site));
                self.site = Some((site.address(), origin));
                origin
            }
        }
    }
}

type BasesOfRule = FxHashMap<(Sym, Sym, FlowKind), Sym>;

impl AutoIds {
    /// A new step: every id is free again.
    pub(crate) fn new_step(&mut self) {
        self.next_suffix.clear();
    }

    fn next(
        &mut self,
        world: &WorldState,
        rule: &Arc<str>,
        from: Sym,
        to: Sym,
        kind: FlowKind,
    ) -> Sym {
        let bases = match self.bases.get_mut(&**rule) {
            Some(bases) => bases,
            None => self.bases.entry(Arc::clone(rule)).or_default(),
        };
        let base = *bases.entry((from, to, kind)).or_insert_with(|| {
            let text = format!("{rule}:{}->{}:{kind}", world.name(from), world.name(to));
            world.names.intern(&text)
        });
        let n = match self.next_suffix.get_mut(&base) {
            Some(n) => n,
            None => {
                if world.flow_index_of(base).is_none() {
                    self.next_suffix.insert(base, 2);
                    return base;
                }
                self.next_suffix.entry(base).or_insert(2)
            }
        };
        loop {
            let candidate = *self.suffixed.entry((base, *n)).or_insert_with(|| {
                // Interning a taken id adds no name: a flow's id is one already.
                world.names.intern(&format!("{}#{n}", world.name(base)))
            });
            *n += 1;
            if world.flow_index_of(candidate).is_none() {
                return candidate;
            }
        }
    }
}
