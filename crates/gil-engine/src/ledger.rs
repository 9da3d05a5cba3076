//! One step's ledger as rows of symbols and sums: every actor's and asset's ins and
//! outs by flow kind and `via`, added up once per flow side in a hash map of plain
//! keys, then sorted into one vector grouped by entity.
//!
//! A [`LedgerEntry`] (texts, one small vector per side) is built only for the entities
//! the outcome lists ([`StepLedger::entry`]); the conservation check and the built-in
//! flow metrics read the rows. Before, every entity with a flow got its entry every
//! step, looked up in a hash map and kept sorted by comparing texts for each flow side.

use std::sync::Arc;

use gil_model::FlowKind;
use gil_rules::{FlowState, Names, Sym};
use rustc_hash::FxHashMap;

use crate::outcome::LedgerEntry;

/// Which side of an entity's ledger a row is on; `In` first, as an entry lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Side {
    In,
    Out,
}

/// The amount of one entity, side, kind and `via` in one step.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LedgerRow {
    pub(crate) side: Side,
    pub(crate) kind: FlowKind,
    pub(crate) via: Option<Sym>,
    pub(crate) amount: f64,
}

/// One step's ledger: rows grouped by entity, each group in the order its
/// [`LedgerEntry`] lists it (side, kind, `via` as text), so sums over a group add up
/// in the entry's order and give the same numbers to the last bit.
#[derive(Debug, Default)]
pub(crate) struct StepLedger {
    /// Each entity with its first row in `rows`; the groups are in no particular order.
    entities: Vec<(Sym, u32)>,
    rows: Vec<LedgerRow>,
}

/// Key of a row while the step's flows are added up.
type RowKey = (Sym, Side, FlowKind, Option<Sym>);

impl StepLedger {
    /// Adds up every non-zero flow into its payer's out and its receiver's in.
    pub(crate) fn build(flows: &[FlowState], names: &Names) -> StepLedger {
        // Each key's amounts are added in flow order, as entries added them.
        let mut sums: FxHashMap<RowKey, f64> = FxHashMap::default();
        sums.reserve(flows.len());
        for f in flows.iter().filter(|f| f.amount != 0.0) {
            *sums
                .entry((f.from, Side::Out, f.kind, f.via))
                .or_insert(0.0) += f.amount;
            *sums.entry((f.to, Side::In, f.kind, f.via)).or_insert(0.0) += f.amount;
        }
        // `via` sorts by its text, an absent one as "-": ranked once per step, so rows
        // sort by one integer (entity, side, kind, `via`'s rank, high bits first).
        let mut vias: Vec<Option<Sym>> = sums.keys().map(|k| k.3).collect();
        vias.sort_unstable();
        vias.dedup();
        vias.sort_by(|a, b| via_text(names, *a).cmp(via_text(names, *b)));
        let rank: FxHashMap<Option<Sym>, u64> = vias
            .iter()
            .enumerate()
            .map(|(i, v)| (*v, i as u64))
            .collect();
        let mut keyed: Vec<(u64, RowKey, f64)> = sums
            .into_iter()
            .map(|(key @ (entity, side, kind, via), amount)| {
                let order = (u64::from(entity.number()) << 32)
                    | ((side as u64) << 31)
                    | ((kind as u64) << 29)
                    | rank.get(&via).copied().unwrap_or(0);
                (order, key, amount)
            })
            .collect();
        keyed.sort_unstable_by_key(|(order, _, _)| *order);
        let mut ledger = StepLedger {
            entities: Vec::new(),
            rows: Vec::with_capacity(keyed.len()),
        };
        for (_, (entity, side, kind, via), amount) in keyed {
            if ledger
                .entities
                .last()
                .is_none_or(|(last, _)| *last != entity)
            {
                ledger.entities.push((entity, ledger.rows.len() as u32));
            }
            ledger.rows.push(LedgerRow {
                side,
                kind,
                via,
                amount,
            });
        }
        ledger
    }

    /// Every entity with a non-zero flow this step and its rows.
    pub(crate) fn groups(&self) -> impl Iterator<Item = (Sym, &[LedgerRow])> + '_ {
        let ends = self
            .entities
            .iter()
            .skip(1)
            .map(|(_, start)| *start as usize)
            .chain(std::iter::once(self.rows.len()));
        self.entities
            .iter()
            .zip(ends)
            .map(|((sym, start), end)| (*sym, &self.rows[*start as usize..end]))
    }

    /// The entities with a non-zero flow this step.
    pub(crate) fn entities(&self) -> impl Iterator<Item = Sym> + '_ {
        self.entities.iter().map(|(sym, _)| *sym)
    }

    /// One entity's rows as the outcome's entry.
    pub(crate) fn entry(rows: &[LedgerRow], names: &Names, vias: &mut ViaTexts) -> LedgerEntry {
        let mut entry = LedgerEntry::default();
        for row in rows {
            let side = match row.side {
                Side::In => &mut entry.inflow,
                Side::Out => &mut entry.outflow,
            };
            side.add_shared(row.kind.as_str(), vias.text(names, row.via), row.amount);
        }
        entry
    }
}

/// Sums of one entity's rows by kind and side, added in the entry's order (as
/// `LedgerEntry::total_in` and `total_out` would).
pub(crate) fn totals(rows: &[LedgerRow], kind: FlowKind) -> (f64, f64) {
    rows.iter()
        .filter(|r| r.kind == kind)
        .fold((0.0, 0.0), |(inflow, outflow), r| match r.side {
            Side::In => (inflow + r.amount, outflow),
            Side::Out => (inflow, outflow + r.amount),
        })
}

/// What an entry shows for flows without a `via`.
const NO_VIA: &str = "-";

fn via_text(names: &Names, via: Option<Sym>) -> &str {
    names.opt(via).unwrap_or(NO_VIA)
}

/// The texts of `via`s as entries share them: one allocation per `via`, not per entry.
#[derive(Default)]
pub(crate) struct ViaTexts(FxHashMap<Option<Sym>, Arc<str>>);

impl ViaTexts {
    fn text(&mut self, names: &Names, via: Option<Sym>) -> &Arc<str> {
        self.0
            .entry(via)
            .or_insert_with(|| via.map_or_else(|| NO_VIA.into(), |v| names.shared(v)))
    }
}
