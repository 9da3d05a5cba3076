//! Applying one rule's effects to the step's world, all together, after it finishes.

use std::collections::BTreeMap;

use gil_rules::{
    AdjustOp, AdjustTarget, AttrVal, Effect, EffectKind, EntityKind, FlowOrigin, FlowState,
    Provenance, RuleError, RuleErrorKind, Touched, WorldState,
};

use crate::materialize::Persistent;
use crate::outcome::{Finding, RuleRole};
use crate::trace::{AdjustRecord, Contribution, SetRecord, StepTrace};

/// What a step gathers from its rules besides flow changes.
#[derive(Debug, Default)]
pub(crate) struct StepAcc {
    pub metrics: BTreeMap<String, f64>,
    pub findings: Vec<Finding>,
    pub roles: Vec<RuleRole>,
}

fn site(p: &Provenance) -> String {
    format!("{}:{}", p.file, p.line)
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

pub(crate) fn apply(
    world: &mut WorldState,
    effects: Vec<Effect>,
    acc: &mut StepAcc,
    persistent: &mut Persistent,
    trace: &mut StepTrace,
) -> Result<Touched, RuleError> {
    let flows_at_start = world.flows.len();
    let mut touched = Touched::default();

    // Check for conflicts before changing anything.
    let mut sets: BTreeMap<(EntityKind, &str, &str), &Provenance> = BTreeMap::new();
    let mut adjusted: BTreeMap<usize, (&Provenance, bool)> = BTreeMap::new();
    let mut new_ids: BTreeMap<&str, &Provenance> = BTreeMap::new();
    let mut resolved: Vec<Vec<usize>> = Vec::with_capacity(effects.len());
    for effect in &effects {
        let mut targets = Vec::new();
        match &effect.kind {
            EffectKind::Set {
                entity, id, attr, ..
            } => {
                if let Some(first) =
                    sets.insert((*entity, id.as_str(), attr.as_str()), &effect.provenance)
                {
                    return Err(conflict(
                        first,
                        &effect.provenance,
                        format!("`{id}.{attr}` is set"),
                    ));
                }
            }
            EffectKind::Adjust { target, op } => {
                targets = match target {
                    AdjustTarget::Flow(id) => world
                        .flow_index(id)
                        .into_iter()
                        .filter(|&i| i < flows_at_start)
                        .collect(),
                    AdjustTarget::Select(sel) => world.flows[..flows_at_start]
                        .iter()
                        .enumerate()
                        .filter(|(_, f)| sel.matches_flow(f))
                        .map(|(i, _)| i)
                        .collect(),
                };
                let is_set = matches!(op, AdjustOp::Set(_));
                for &i in &targets {
                    if let Some((first, first_set)) = adjusted.get(&i) {
                        if is_set || *first_set {
                            let id = world.flows[i].id.clone();
                            return Err(conflict(
                                first,
                                &effect.provenance,
                                format!("flow `{id}` is set and adjusted"),
                            ));
                        }
                    } else {
                        adjusted.insert(i, (&effect.provenance, is_set));
                    }
                }
            }
            EffectKind::Flow(f) => {
                if let Some(id) = &f.id {
                    if world.flow_index(id).is_some() {
                        return Err(RuleError::new(
                            RuleErrorKind::Effect,
                            effect.provenance.file.to_string(),
                            Some(effect.provenance.line),
                            format!("ctx.flow: a flow with id `{id}` already exists in this step"),
                        )
                        .rule(effect.provenance.rule.to_string()));
                    }
                    if let Some(first) = new_ids.insert(id.as_str(), &effect.provenance) {
                        return Err(conflict(
                            first,
                            &effect.provenance,
                            format!("flow `{id}` is created"),
                        ));
                    }
                }
            }
            _ => {}
        }
        resolved.push(targets);
    }

    for (effect, targets) in effects.into_iter().zip(resolved) {
        let Effect { kind, provenance } = effect;
        let p = &provenance;
        // New flows take the effect's strings instead of copying them.
        let kind = match kind {
            EffectKind::Flow(f) => {
                let id = match f.id {
                    Some(id) => id,
                    None => unique_flow_id(
                        world,
                        &format!("{}:{}->{}:{}", p.rule, f.from, f.to, f.kind),
                    ),
                };
                world.push_flow(FlowState {
                    id,
                    from: f.from,
                    to: f.to,
                    kind: f.kind,
                    via: f.via,
                    amount: f.amount,
                    project: f.project,
                    tags: f.tags,
                    note: f.note,
                    origin: FlowOrigin::Rule(provenance),
                });
                continue;
            }
            other => other,
        };
        match &kind {
            EffectKind::Adjust { op, .. } => {
                for i in targets {
                    let flow = &mut world.flows[i];
                    let before = flow.amount;
                    let after = match op {
                        AdjustOp::Scale(s) => before * s,
                        AdjustOp::Add(a) => before + a,
                        AdjustOp::Set(v) => *v,
                    };
                    if !after.is_finite() || after < 0.0 {
                        return Err(RuleError::new(
                            RuleErrorKind::Effect,
                            p.file.to_string(),
                            Some(p.line),
                            format!(
                                "ctx.adjust: flow `{}` would become {after} (from {before})",
                                flow.id
                            ),
                        )
                        .rule(p.rule.to_string()));
                    }
                    flow.amount = after;
                    touched.flows.push(i);
                    trace
                        .adjustments
                        .entry(flow.id.clone())
                        .or_default()
                        .push(AdjustRecord {
                            provenance: p.clone(),
                            op: *op,
                            before,
                            after,
                        });
                }
            }
            EffectKind::Flow(_) => {} // applied above
            EffectKind::Set {
                entity,
                id,
                attr,
                value,
            } => {
                let capacity = attr
                    .strip_prefix(crate::materialize::CAPACITY_PREFIX)
                    .filter(|_| *entity == EntityKind::Asset);
                let before = match capacity {
                    Some(cap) => {
                        let effect_error = |message: String| {
                            RuleError::new(
                                RuleErrorKind::Effect,
                                p.file.to_string(),
                                Some(p.line),
                                message,
                            )
                            .rule(p.rule.to_string())
                        };
                        let AttrVal::Num(v) = value else {
                            return Err(effect_error(format!(
                                "ctx.set: `{attr}` is a capacity and takes a number"
                            )));
                        };
                        if *v < 0.0 {
                            return Err(effect_error(format!(
                                "ctx.set: capacity `{cap}` cannot be negative ({v})"
                            )));
                        }
                        let index = world.asset_index(id);
                        touched.assets.extend(index);
                        let asset = index.and_then(|i| world.assets.get_mut(i));
                        asset
                            .and_then(|a| a.capacity.insert(cap.to_string(), *v))
                            .map(AttrVal::Num)
                    }
                    None => {
                        let attrs = match entity {
                            EntityKind::Actor => {
                                let index = world.actor_index(id);
                                touched.actors.extend(index);
                                index
                                    .and_then(|i| world.actors.get_mut(i))
                                    .map(|a| &mut a.attrs)
                            }
                            EntityKind::Asset => {
                                let index = world.asset_index(id);
                                touched.assets.extend(index);
                                index
                                    .and_then(|i| world.assets.get_mut(i))
                                    .map(|a| &mut a.attrs)
                            }
                        };
                        attrs.and_then(|a| a.insert(attr.clone(), value.clone()))
                    }
                };
                persistent.insert((*entity, id.clone(), attr.clone()), value.clone());
                trace.sets.push(SetRecord {
                    entity: *entity,
                    id: id.clone(),
                    attr: attr.clone(),
                    before,
                    after: value.clone(),
                    provenance: p.clone(),
                });
            }
            EffectKind::Metric { name, value } => {
                // Look up before inserting: a name String per call was a large share of
                // applying columnar and per-entity metrics.
                match acc.metrics.get_mut(name) {
                    Some(sum) => *sum += value,
                    None => {
                        acc.metrics.insert(name.clone(), *value);
                    }
                }
                let contributions = match trace.metrics.get_mut(name) {
                    Some(list) => list,
                    None => trace.metrics.entry(name.clone()).or_default(),
                };
                // Consecutive calls from one call site share one record (explain lists
                // contributions per call site anyway).
                match contributions.last_mut() {
                    Some(last) if last.provenance == *p => {
                        last.value += value;
                        last.calls += 1;
                    }
                    _ => contributions.push(Contribution {
                        provenance: p.clone(),
                        value: *value,
                        calls: 1,
                    }),
                }
            }
            EffectKind::Finding {
                level,
                message,
                code,
                subject,
            } => acc.findings.push(Finding {
                level: *level,
                code: code.clone().unwrap_or_else(|| p.rule.to_string()),
                message: message.clone(),
                step: Some(p.step),
                subject: subject.clone(),
                rule: Some(p.rule.to_string()),
                at: Some(site(p)),
            }),
            EffectKind::Role {
                project,
                actor,
                role,
                note,
            } => acc.roles.push(RuleRole {
                project: project.clone(),
                actor: actor.clone(),
                role: *role,
                note: note.clone(),
                rule: p.rule.to_string(),
                at: site(p),
                step: p.step,
            }),
        }
    }
    Ok(touched)
}

fn unique_flow_id(world: &WorldState, base: &str) -> String {
    if world.flow_index(base).is_none() {
        return base.to_string();
    }
    (2..)
        .map(|n| format!("{base}#{n}"))
        .find(|c| world.flow_index(c).is_none())
        .unwrap_or_else(|| base.to_string())
}
