//! The outcome's tables, one function each, and the small JSON summary beside them.

use gil_engine::{Evaluation, Outcome, Status};
use gil_rules::Role;

use crate::columns::Column;
use crate::{batch, Table, TableError};

/// Every table of an evaluation, in the order `docs/tables.md` lists them.
pub fn outcome_tables(e: &Evaluation) -> Result<Vec<Table>, TableError> {
    let o = &e.outcome;
    Ok(vec![
        metrics(o)?,
        ledger(o)?,
        flows(e)?,
        findings(o)?,
        targets(o)?,
        power(o)?,
        compute(o)?,
        loops(o)?,
        roles(o)?,
        checks(o)?,
    ])
}

/// `outcome.json` beside the tables: the scenario summary and the analyses (targets,
/// power, compute, loops), small at any scale.
pub fn summary(o: &Outcome) -> serde_json::Value {
    serde_json::json!({
        "scenario": o.scenario,
        "analyses": o.analyses,
        "tables": TABLES,
    })
}

/// The table names, in output order (for `outcome.json` and the docs).
pub const TABLES: [&str; 10] = [
    "metrics", "ledger", "flows", "findings", "targets", "power", "compute", "loops", "roles",
    "checks",
];

/// No `via`: a null, not the `-` the text outputs show.
fn via(v: &str) -> Option<&str> {
    (v != "-").then_some(v)
}

fn metrics(o: &Outcome) -> Result<Table, TableError> {
    let (mut year, mut metric, mut value) = (Column::int(), Column::text(), Column::float());
    for step in &o.steps {
        for (name, v) in &step.metrics {
            year.push_int(Some(step.year));
            metric.push_text(Some(name));
            value.push_float(Some(*v));
        }
    }
    batch(
        "metrics",
        vec![("year", year), ("metric", metric), ("value", value)],
    )
}

fn ledger(o: &Outcome) -> Result<Table, TableError> {
    let (mut year, mut actor, mut kind) = (Column::int(), Column::text(), Column::text());
    let (mut via_, mut side, mut amount) =
        (Column::text().nullable(), Column::text(), Column::float());
    for step in &o.steps {
        for (id, entry) in &step.ledger {
            for (side_name, entries) in [("in", &entry.inflow), ("out", &entry.outflow)] {
                for (k, v, a) in entries.iter() {
                    year.push_int(Some(step.year));
                    actor.push_text(Some(id));
                    kind.push_text(Some(k));
                    via_.push_text(via(v));
                    side.push_text(Some(side_name));
                    amount.push_float(Some(a));
                }
            }
        }
    }
    batch(
        "ledger",
        vec![
            ("year", year),
            ("actor", actor),
            ("kind", kind),
            ("via", via_),
            ("side", side),
            ("amount", amount),
        ],
    )
}

/// Every flow of every year after rules, from the trace (the outcome's flow lines may
/// be aggregated): where it came from is `origin` (`scenario` or `rule`) and, for a
/// rule's flow, the rule and its call site.
fn flows(e: &Evaluation) -> Result<Table, TableError> {
    let (mut year, mut id, mut from, mut to) = (
        Column::int(),
        Column::text(),
        Column::text(),
        Column::text(),
    );
    let (mut kind, mut via_, mut amount, mut unit) = (
        Column::text(),
        Column::text().nullable(),
        Column::float(),
        Column::text(),
    );
    let (mut project, mut origin, mut rule, mut file, mut line) = (
        Column::text().nullable(),
        Column::text(),
        Column::text().nullable(),
        Column::text().nullable(),
        Column::int().nullable(),
    );
    let currency = &e.outcome.scenario.currency;
    let names = &e.trace.names;
    for step in &e.trace.steps {
        for f in step.flows.iter() {
            year.push_int(Some(step.year));
            id.push_text(Some(names.name(f.id)));
            from.push_text(Some(names.name(f.from)));
            to.push_text(Some(names.name(f.to)));
            kind.push_text(Some(f.kind.as_str()));
            via_.push_text(names.opt(f.via));
            amount.push_float(Some(f.amount));
            unit.push_text(Some(&f.kind.base_unit(currency)));
            project.push_text(names.opt(f.project));
            match f.origin.site(names) {
                None => {
                    origin.push_text(Some("scenario"));
                    rule.push_text(None);
                    file.push_text(None);
                    line.push_int(None);
                }
                Some(p) => {
                    origin.push_text(Some("rule"));
                    rule.push_text(Some(&p.rule));
                    file.push_text(Some(&p.file));
                    line.push_int(i32::try_from(p.line).ok());
                }
            }
        }
    }
    batch(
        "flows",
        vec![
            ("year", year),
            ("id", id),
            ("from", from),
            ("to", to),
            ("kind", kind),
            ("via", via_),
            ("amount", amount),
            ("unit", unit),
            ("project", project),
            ("origin", origin),
            ("rule", rule),
            ("file", file),
            ("line", line),
        ],
    )
}

fn findings(o: &Outcome) -> Result<Table, TableError> {
    let (mut year, mut level, mut code) =
        (Column::int().nullable(), Column::text(), Column::text());
    let (mut subject, mut message, mut rule, mut at) = (
        Column::text().nullable(),
        Column::text(),
        Column::text().nullable(),
        Column::text().nullable(),
    );
    for f in &o.findings {
        year.push_int(f.step);
        level.push_text(Some(f.level.as_str()));
        code.push_text(Some(&f.code));
        subject.push_text(f.subject.as_deref());
        message.push_text(Some(&f.message));
        rule.push_text(f.rule.as_deref());
        at.push_text(f.at.as_deref());
    }
    batch(
        "findings",
        vec![
            ("year", year),
            ("level", level),
            ("code", code),
            ("subject", subject),
            ("message", message),
            ("rule", rule),
            ("at", at),
        ],
    )
}

fn targets(o: &Outcome) -> Result<Table, TableError> {
    let (mut project, mut metric) = (Column::text(), Column::text());
    let (mut at_least, mut at_most, mut by) = (
        Column::float().nullable(),
        Column::float().nullable(),
        Column::int(),
    );
    let (mut value_by, mut met, mut first_met) =
        (Column::float(), Column::bool(), Column::int().nullable());
    for t in &o.analyses.targets {
        project.push_text(Some(&t.project));
        metric.push_text(Some(&t.metric));
        at_least.push_float(t.at_least);
        at_most.push_float(t.at_most);
        by.push_int(Some(t.by));
        value_by.push_float(Some(t.value_by));
        met.push_bool(Some(t.met));
        first_met.push_int(t.first_met);
    }
    batch(
        "targets",
        vec![
            ("project", project),
            ("metric", metric),
            ("at_least", at_least),
            ("at_most", at_most),
            ("by", by),
            ("value_by", value_by),
            ("met", met),
            ("first_met", first_met),
        ],
    )
}

fn power(o: &Outcome) -> Result<Table, TableError> {
    let (mut year, mut region) = (Column::int(), Column::text());
    let (mut demand, mut capacity, mut shortfall) =
        (Column::float(), Column::float(), Column::float());
    for p in &o.analyses.power {
        year.push_int(Some(p.year));
        region.push_text(Some(&p.region));
        demand.push_float(Some(p.demand_mw));
        capacity.push_float(Some(p.capacity_mw));
        shortfall.push_float(Some(p.shortfall_mw));
    }
    batch(
        "power",
        vec![
            ("year", year),
            ("region", region),
            ("demand_mw", demand),
            ("capacity_mw", capacity),
            ("shortfall_mw", shortfall),
        ],
    )
}

fn compute(o: &Outcome) -> Result<Table, TableError> {
    let (mut year, mut cluster) = (Column::int(), Column::text());
    let (mut supply, mut demand, mut over) = (Column::float(), Column::float(), Column::bool());
    for c in &o.analyses.compute {
        year.push_int(Some(c.year));
        cluster.push_text(Some(&c.cluster));
        supply.push_float(Some(c.supply));
        demand.push_float(Some(c.demand));
        over.push_bool(Some(c.overcommitted));
    }
    batch(
        "compute",
        vec![
            ("year", year),
            ("cluster", cluster),
            ("supply_gpu_hours", supply),
            ("demand_gpu_hours", demand),
            ("overcommitted", over),
        ],
    )
}

/// One row per edge of each circular-financing loop: `loop` numbers the loops in
/// outcome order, `position` the edge within it (from `path[position]` to the next).
fn loops(o: &Outcome) -> Result<Table, TableError> {
    let (mut index, mut position, mut from, mut to, mut amount) = (
        Column::int(),
        Column::int(),
        Column::text(),
        Column::text(),
        Column::float(),
    );
    let (mut bottleneck, mut vendor, mut round_trip, mut investee, mut warning) = (
        Column::float(),
        Column::text().nullable(),
        Column::float().nullable(),
        Column::float().nullable(),
        Column::bool(),
    );
    for (i, l) in o.analyses.circular.iter().enumerate() {
        for (j, edge) in l.edges.iter().enumerate() {
            let next = &l.path[(j + 1) % l.path.len()];
            index.push_int(i32::try_from(i).ok());
            position.push_int(i32::try_from(j).ok());
            from.push_text(Some(&l.path[j]));
            to.push_text(Some(next));
            amount.push_float(Some(*edge));
            bottleneck.push_float(Some(l.bottleneck));
            vendor.push_text(l.vendor.as_deref());
            round_trip.push_float(l.round_trip_share);
            investee.push_float(l.investee_income_share);
            warning.push_bool(Some(l.warning));
        }
    }
    batch(
        "loops",
        vec![
            ("loop", index),
            ("position", position),
            ("from", from),
            ("to", to),
            ("amount", amount),
            ("bottleneck", bottleneck),
            ("vendor", vendor),
            ("round_trip_share", round_trip),
            ("investee_income_share", investee),
            ("warning", warning),
        ],
    )
}

/// One row per participant of a project: which roles it holds (`what`, `how`, `why`),
/// where they come from (`scenario`, `rule <id> at file:line`, joined by `; `) and its
/// project flows over the horizon.
fn roles(o: &Outcome) -> Result<Table, TableError> {
    let (mut project, mut actor, mut kind) = (Column::text(), Column::text(), Column::text());
    let (mut what, mut how, mut why, mut from) = (
        Column::bool(),
        Column::bool(),
        Column::bool(),
        Column::text(),
    );
    let (mut money_in, mut money_out, mut gpu_in, mut gpu_out, mut peak) = (
        Column::float(),
        Column::float(),
        Column::float(),
        Column::float(),
        Column::float(),
    );
    for p in &o.roles {
        for part in &p.participants {
            project.push_text(Some(&p.project));
            actor.push_text(Some(&part.actor));
            kind.push_text(Some(&part.kind));
            what.push_bool(Some(part.roles.contains(&Role::What)));
            how.push_bool(Some(part.roles.contains(&Role::How)));
            why.push_bool(Some(part.roles.contains(&Role::Why)));
            from.push_text(Some(&part.from.join("; ")));
            money_in.push_float(Some(part.flows.money_in));
            money_out.push_float(Some(part.flows.money_out));
            gpu_in.push_float(Some(part.flows.gpu_hours_in));
            gpu_out.push_float(Some(part.flows.gpu_hours_out));
            peak.push_float(Some(part.flows.peak_mw));
        }
    }
    batch(
        "roles",
        vec![
            ("project", project),
            ("actor", actor),
            ("kind", kind),
            ("what", what),
            ("how", how),
            ("why", why),
            ("from", from),
            ("money_in", money_in),
            ("money_out", money_out),
            ("gpu_hours_in", gpu_in),
            ("gpu_hours_out", gpu_out),
            ("peak_mw", peak),
        ],
    )
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Pass => "pass",
        Status::Warn => "warn",
        Status::Fail => "fail",
    }
}

/// The role checks of every project.
fn checks(o: &Outcome) -> Result<Table, TableError> {
    let (mut project, mut id, mut name, mut status, mut message, mut from) = (
        Column::text(),
        Column::text(),
        Column::text(),
        Column::text(),
        Column::text(),
        Column::text().nullable(),
    );
    for p in &o.roles {
        for c in &p.checks {
            project.push_text(Some(&p.project));
            id.push_text(Some(&c.id));
            name.push_text(Some(&c.name));
            status.push_text(Some(status_name(c.status)));
            message.push_text(Some(&c.message));
            from.push_text(c.from.as_deref());
        }
    }
    batch(
        "checks",
        vec![
            ("project", project),
            ("check", id),
            ("name", name),
            ("status", status),
            ("message", message),
            ("from", from),
        ],
    )
}
