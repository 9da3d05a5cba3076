//! Column effects as one record. A columnar `ctx.flow`, `ctx.adjust` or `ctx.set` whose
//! fields have the shapes columnar rules write — ids taken from the world or named by
//! texts, numbers, texts given once — becomes one effect holding its rows, read column
//! by column: no `Spec`, no strings and no record per row.
//!
//! Anything else, and any row the world would refuse, returns `None`, and the call
//! goes row by row through `Spec` (`effects::with_columns`). So what a rule may write,
//! and every error it gets (the first failing row's, in the same words), stay those of
//! the per-row form; this module only decides when the fast form is safe.

use std::collections::BTreeMap;

use gil_model::FlowKind;

use crate::columns::Cell;
use crate::effect::{AdjustOp, EffectKind, EntityKind, FlowRows, PerRow};
use crate::names::Sym;
use crate::world::{AttrVal, EntityAt, WorldState};

type Cells = BTreeMap<String, Cell>;

/// `function`'s effect for all `rows` at once, or `None` to go row by row.
pub(super) fn effect(
    function: &str,
    world: &WorldState,
    cells: &Cells,
    rows: usize,
) -> Option<EffectKind> {
    match function {
        "flow" => flow_rows(world, cells, rows),
        "adjust" => adjust_rows(world, cells, rows),
        "set" => set_rows(world, cells, rows),
        _ => None,
    }
}

/// `ctx.flow` with automatic ids and no tags (a call giving either goes row by row).
fn flow_rows(world: &WorldState, cells: &Cells, rows: usize) -> Option<EffectKind> {
    only(
        cells,
        &["from", "to", "kind", "amount", "via", "project", "note"],
    )?;
    let from = entities(world, cells.get("from")?, rows)?;
    let to = entities(world, cells.get("to")?, rows)?;
    let kind = FlowKind::parse(text(cells, "kind")??)?;
    let amount = numbers(cells.get("amount")?, rows)?;
    if !all(&amount, |a| *a >= 0.0) {
        return None;
    }
    let project = text(cells, "project")?;
    if project.is_some_and(|p| world.project_index(p).is_none()) {
        return None;
    }
    Some(EffectKind::FlowRows(FlowRows {
        from: syms_of(from),
        to: syms_of(to),
        kind,
        via: text(cells, "via")?.map(str::to_string),
        amount,
        project: project.map(str::to_string),
        tags: Vec::new(),
        note: text(cells, "note")?.map(str::to_string),
        rows,
    }))
}

/// `ctx.adjust` of flows named by id (a `select` goes the per-row way).
fn adjust_rows(world: &WorldState, cells: &Cells, rows: usize) -> Option<EffectKind> {
    only(cells, &["flow", "scale", "add", "set"])?;
    let flows: Vec<usize> = match cells.get("flow")? {
        Cell::Text(id) => vec![world.flow_index(id)?; rows],
        Cell::Texts(c) => match c.syms() {
            Some(syms) => syms
                .iter()
                .map(|&sym| world.flow_index_of(sym))
                .collect::<Option<_>>()?,
            None => c
                .iter()
                .map(|id| world.flow_index(id))
                .collect::<Option<_>>()?,
        },
        _ => return None,
    };
    let given: Vec<(&str, &Cell)> = ["scale", "add", "set"]
        .into_iter()
        .filter_map(|name| cells.get(name).map(|cell| (name, cell)))
        .collect();
    let [(name, cell)] = given.as_slice() else {
        return None;
    };
    let values = numbers(cell, rows)?;
    let op: fn(f64) -> AdjustOp = match *name {
        "scale" => AdjustOp::Scale,
        "add" => AdjustOp::Add,
        _ => AdjustOp::Set,
    };
    if *name != "add" && !all(&values, |v| *v >= 0.0) {
        return None;
    }
    let ops = (0..rows).map(|i| op(*values.at(i))).collect();
    Some(EffectKind::AdjustRows { flows, ops })
}

/// `ctx.set` of a number or text attribute.
fn set_rows(world: &WorldState, cells: &Cells, rows: usize) -> Option<EffectKind> {
    only(cells, &["actor", "asset", "attr", "value"])?;
    let (entity, named) = match (cells.get("actor"), cells.get("asset")) {
        (Some(cell), None) => (EntityKind::Actor, cell),
        (None, Some(cell)) => (EntityKind::Asset, cell),
        _ => return None,
    };
    let indexes = match entities(world, named, rows)? {
        PerRow::Same((_, at)) => vec![(at.kind == entity).then_some(at.index)?; rows],
        PerRow::Each(found) => found
            .iter()
            .map(|(_, at)| (at.kind == entity).then_some(at.index))
            .collect::<Option<_>>()?,
    };
    let attr = text(cells, "attr")??.to_string();
    let value = match cells.get("value")? {
        Cell::Text(t) => PerRow::Same(AttrVal::Text(t.clone())),
        Cell::Texts(c) => PerRow::Each(c.iter().map(|t| AttrVal::Text(t.to_string())).collect()),
        cell => match numbers(cell, rows)? {
            PerRow::Same(n) => PerRow::Same(AttrVal::Num(n)),
            PerRow::Each(ns) => PerRow::Each(ns.into_iter().map(AttrVal::Num).collect()),
        },
    };
    Some(EffectKind::SetRows {
        entity,
        indexes,
        attr,
        value,
    })
}

/// `Some` when every field given is one of `fields`.
fn only(cells: &Cells, fields: &[&str]) -> Option<()> {
    cells
        .keys()
        .all(|k| fields.contains(&k.as_str()))
        .then_some(())
}

/// A field given once as a text: `Some(None)` when absent, `None` when it is anything
/// but a text.
fn text<'c>(cells: &'c Cells, key: &str) -> Option<Option<&'c str>> {
    match cells.get(key) {
        None => Some(None),
        Some(Cell::Text(t)) => Some(Some(t)),
        Some(_) => None,
    }
}

/// Numbers given once or per row, every one finite.
fn numbers(cell: &Cell, rows: usize) -> Option<PerRow<f64>> {
    let values = match cell {
        Cell::Number(n) => PerRow::Same(*n),
        Cell::Numbers(c) if c.0.len() == rows => PerRow::Each(c.0.to_vec()),
        _ => return None,
    };
    all(&values, |n| n.is_finite()).then_some(values)
}

fn all<T>(values: &PerRow<T>, test: impl Fn(&T) -> bool) -> bool {
    match values {
        PerRow::Same(v) => test(v),
        PerRow::Each(vs) => vs.iter().all(test),
    }
}

/// The actors or assets a field names, each with its id's symbol: by the symbols an
/// id column carries, else by text.
fn entities(world: &WorldState, cell: &Cell, rows: usize) -> Option<PerRow<(Sym, EntityAt)>> {
    match cell {
        Cell::Text(id) => world.entity_named(id).map(PerRow::Same),
        Cell::Texts(c) if c.len() == rows => match c.syms() {
            Some(syms) => syms
                .iter()
                .map(|&sym| world.entity_of(sym).map(|at| (sym, at)))
                .collect::<Option<_>>()
                .map(PerRow::Each),
            None => c
                .iter()
                .map(|id| world.entity_named(id))
                .collect::<Option<_>>()
                .map(PerRow::Each),
        },
        _ => None,
    }
}

fn syms_of(found: PerRow<(Sym, EntityAt)>) -> PerRow<Sym> {
    match found {
        PerRow::Same((sym, _)) => PerRow::Same(sym),
        PerRow::Each(found) => PerRow::Each(found.into_iter().map(|(sym, _)| sym).collect()),
    }
}
