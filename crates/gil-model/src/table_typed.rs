//! The fast path of entity tables: an actor, asset or flow built straight from a
//! row's cells, with no node tree and no serde pass. It takes only rows whose cells
//! have the plain forms (a number where a number goes, a year in range, no key given
//! twice, every required key present) and gives exactly the entity the serde path
//! would; any other row it declines, and the serde path reads it and words its
//! problem. A national registry is almost all plain rows.
//!
//! The one rule that keeps the two paths equal: decline when unsure. A test offers
//! both paths the same tricky cells and checks the fast one never accepts a row the
//! other refuses, nor builds a different entity.

use crate::span::{Span, Spanned};
use crate::table::{Column, Record};
use crate::types::{Actor, Asset, AttrValue, Attrs, Dated, Flow, Num, Project, Sources, Year};
use crate::yaml::{is_null, resolve_plain, Plain};

/// Where one column's cells go, decided once from the header.
#[derive(Debug, Clone)]
pub(crate) enum Slot {
    /// A column the header reported (a flow table's unknown column): its cells are skipped.
    Skip,
    Text(TextKey),
    Tags,
    Count,
    Online,
    /// `amount`, or `amount@<year>` with the header cell's span.
    Amount(Option<(i32, Span)>),
    Capacity(String, Option<(i32, Span)>),
    Attr(String, Option<(i32, Span)>),
}

/// The keys whose cells are texts, taken whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextKey {
    Id,
    Name,
    Kind,
    Region,
    Owner,
    From,
    To,
    Via,
    Unit,
    Project,
    Source,
    Note,
}

/// `Note` is the last key: one slot per key.
const TEXT_KEY_COUNT: usize = TextKey::Note as usize + 1;

impl TextKey {
    fn parse(key: &str) -> Option<TextKey> {
        Some(match key {
            "id" => TextKey::Id,
            "name" => TextKey::Name,
            "kind" => TextKey::Kind,
            "region" => TextKey::Region,
            "owner" => TextKey::Owner,
            "from" => TextKey::From,
            "to" => TextKey::To,
            "via" => TextKey::Via,
            "unit" => TextKey::Unit,
            "project" => TextKey::Project,
            "source" => TextKey::Source,
            "note" => TextKey::Note,
            _ => return None,
        })
    }
}

impl Slot {
    /// Each column's slot; `None` when a column has a form only the serde path reads
    /// (a text or count given by year, `attrs` or `capacity` as one cell, a year out of
    /// the range a year is read in), and then every row of the table takes that path.
    pub(crate) fn for_columns(columns: &[Column]) -> Option<Vec<Slot>> {
        columns.iter().map(Slot::for_column).collect()
    }

    fn for_column(column: &Column) -> Option<Slot> {
        let year = match &column.year {
            None => None,
            Some(text) => match resolve_plain(text) {
                Plain::Int(y) if (1000..=9999).contains(&y) => Some((y as i32, column.span)),
                _ => return None,
            },
        };
        let undated = |slot: Slot| year.is_none().then_some(slot);
        match column.path.as_slice() {
            [] => Some(Slot::Skip),
            [key] => match key.as_str() {
                "tags" => undated(Slot::Tags),
                "count" => undated(Slot::Count),
                "online" => undated(Slot::Online),
                "amount" => Some(Slot::Amount(year)),
                other => undated(Slot::Text(TextKey::parse(other)?)),
            },
            [map, name] if map == "capacity" => Some(Slot::Capacity(name.clone(), year)),
            [map, name] if map == "attrs" => Some(Slot::Attr(name.clone(), year)),
            _ => None,
        }
    }
}

/// An entity a table row can be read into without the serde path.
pub(crate) trait FromRow: Sized {
    /// The entity, or `None` to let the serde path read the row.
    fn from_row(record: &Record, slots: &[Slot]) -> Option<Self>;
}

/// A dated value as its cells give it: one number, or numbers by year with the span of
/// the first dated column (the span the serde path gives the mapping it builds).
#[derive(Default)]
enum DatedCells {
    #[default]
    Absent,
    Fixed(f64, Span),
    Series(Vec<(i32, Span, f64)>, Span),
}

impl DatedCells {
    /// Adds one cell's number; `None` when the key already has a value of the other form.
    fn add(&mut self, value: f64, cell: Span, year: Option<(i32, Span)>) -> Option<()> {
        match (std::mem::take(self), year) {
            (DatedCells::Absent, None) => *self = DatedCells::Fixed(value, cell),
            (DatedCells::Absent, Some((y, header))) => {
                *self = DatedCells::Series(vec![(y, header, value)], header)
            }
            (DatedCells::Series(mut points, span), Some((y, header))) => {
                points.push((y, header, value));
                *self = DatedCells::Series(points, span);
            }
            _ => return None,
        }
        Some(())
    }

    fn into_spanned(self) -> Option<Spanned<Dated>> {
        match self {
            DatedCells::Absent => None,
            DatedCells::Fixed(v, span) => Some(Spanned::new(span, Dated::Fixed(v))),
            DatedCells::Series(mut points, span) => {
                points.sort_by_key(|(y, _, _)| *y);
                Some(Spanned::new(span, Dated::Series(points)))
            }
        }
    }
}

/// A finite number as the serde path reads a plain cell into one.
fn number(text: &str) -> Option<f64> {
    match resolve_plain(text) {
        Plain::Int(i) => Some(i as f64),
        Plain::Float(f) if f.is_finite() => Some(f),
        _ => None,
    }
}

/// What a row's cells say, gathered before the entity is built.
#[derive(Default)]
struct Cells<'r> {
    texts: [Option<(&'r str, Span)>; TEXT_KEY_COUNT],
    tags: Vec<String>,
    count: Option<(f64, Span)>,
    online: Option<(i32, Span)>,
    amount: DatedCells,
    capacity: Vec<(&'r str, DatedCells)>,
    attrs: Vec<(&'r str, AttrCells)>,
}

/// An attribute as its cells give it.
enum AttrCells {
    Value(AttrValue, Span),
    Number(DatedCells),
}

impl<'r> Cells<'r> {
    /// Every non-empty cell in its slot; `None` at the first cell the serde path must read.
    fn gather(record: &'r Record, slots: &'r [Slot]) -> Option<Self> {
        let mut cells = Cells::default();
        for (i, slot) in slots.iter().enumerate() {
            let (text, span) = record.get(i)?;
            // An empty cell, or a YAML null (`null`, `~`), is no value.
            if is_null(text) {
                continue;
            }
            match slot {
                Slot::Skip => {}
                Slot::Text(key) => {
                    let place = &mut cells.texts[*key as usize];
                    if place.is_some() {
                        return None;
                    }
                    *place = Some((text, span));
                }
                Slot::Tags => {
                    cells.tags = text
                        .split(';')
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(str::to_string)
                        .collect();
                }
                Slot::Count => cells.count = Some((number(text)?, span)),
                Slot::Online => match resolve_plain(text) {
                    Plain::Int(y) if (1000..=9999).contains(&y) => {
                        cells.online = Some((y as i32, span))
                    }
                    _ => return None,
                },
                Slot::Amount(year) => cells.amount.add(number(text)?, span, *year)?,
                Slot::Capacity(name, year) => {
                    let value = number(text)?;
                    match cells.capacity.iter_mut().find(|(n, _)| n == name) {
                        Some((_, dated)) => dated.add(value, span, *year)?,
                        None => {
                            let mut dated = DatedCells::Absent;
                            dated.add(value, span, *year)?;
                            cells.capacity.push((name, dated));
                        }
                    }
                }
                Slot::Attr(name, year) => {
                    let existing = cells.attrs.iter_mut().find(|(n, _)| n == name);
                    match (existing, year) {
                        (None, None) => {
                            let value = match resolve_plain(text) {
                                Plain::Bool(b) => AttrValue::Bool(b),
                                Plain::Int(i) => AttrValue::Number(Dated::Fixed(i as f64)),
                                Plain::Float(f) if f.is_finite() => {
                                    AttrValue::Number(Dated::Fixed(f))
                                }
                                Plain::Float(_) => return None,
                                Plain::Str => AttrValue::Text(text.to_string()),
                            };
                            cells.attrs.push((name, AttrCells::Value(value, span)));
                        }
                        (None, Some(_)) => {
                            let mut dated = DatedCells::Absent;
                            dated.add(number(text)?, span, *year)?;
                            cells.attrs.push((name, AttrCells::Number(dated)));
                        }
                        (Some((_, AttrCells::Number(dated))), Some(_)) => {
                            dated.add(number(text)?, span, *year)?
                        }
                        (Some(_), _) => return None,
                    }
                }
            }
        }
        Some(cells)
    }

    fn text(&self, key: TextKey) -> Option<Spanned<String>> {
        self.texts[key as usize].map(|(text, span)| Spanned::new(span, text.to_string()))
    }

    fn plain_text(&self, key: TextKey) -> Option<String> {
        self.texts[key as usize].map(|(text, _)| text.to_string())
    }

    fn source(&self) -> Option<Sources> {
        self.plain_text(TextKey::Source)
            .map(|text| Sources(vec![text]))
    }

    /// Whether the row gives only keys the entity has (the header maps columns by
    /// section, so it always does; declining otherwise keeps it safe if that changes).
    fn fits(&self, keys: &Keys) -> bool {
        let texts_fit = (0..TEXT_KEY_COUNT)
            .all(|k| self.texts[k].is_none() || keys.texts.iter().any(|&t| t as usize == k));
        texts_fit
            && (keys.count || self.count.is_none())
            && (keys.online || self.online.is_none())
            && (keys.amount || matches!(self.amount, DatedCells::Absent))
            && (keys.capacity || self.capacity.is_empty())
            && (keys.attrs || self.attrs.is_empty())
    }

    fn attrs(&mut self) -> Attrs {
        std::mem::take(&mut self.attrs)
            .into_iter()
            .filter_map(|(name, attr)| {
                let value = match attr {
                    AttrCells::Value(value, span) => Spanned::new(span, value),
                    AttrCells::Number(dated) => {
                        let dated = dated.into_spanned()?;
                        Spanned::new(dated.span, AttrValue::Number(dated.value))
                    }
                };
                Some((name.to_string(), value))
            })
            .collect()
    }
}

/// The keys an entity has: its texts, and which of the other kinds of key.
struct Keys {
    texts: &'static [TextKey],
    count: bool,
    online: bool,
    amount: bool,
    capacity: bool,
    attrs: bool,
}

impl FromRow for Actor {
    fn from_row(record: &Record, slots: &[Slot]) -> Option<Self> {
        use TextKey::*;
        const KEYS: Keys = Keys {
            texts: &[Id, Name, Kind, Region, Source, Note],
            count: true,
            online: false,
            amount: false,
            capacity: false,
            attrs: true,
        };
        let mut cells = Cells::gather(record, slots)?;
        if !cells.fits(&KEYS) {
            return None;
        }
        Some(Actor {
            id: cells.text(TextKey::Id)?,
            name: cells.plain_text(TextKey::Name),
            kind: cells.text(TextKey::Kind)?,
            count: cells.count.map(|(v, span)| Spanned::new(span, Num(v))),
            region: cells.text(TextKey::Region),
            tags: std::mem::take(&mut cells.tags),
            attrs: cells.attrs(),
            source: cells.source(),
            note: cells.plain_text(TextKey::Note),
        })
    }
}

impl FromRow for Asset {
    fn from_row(record: &Record, slots: &[Slot]) -> Option<Self> {
        use TextKey::*;
        const KEYS: Keys = Keys {
            texts: &[Id, Name, Kind, Owner, Region, Source, Note],
            count: false,
            online: true,
            amount: false,
            capacity: true,
            attrs: true,
        };
        let mut cells = Cells::gather(record, slots)?;
        if !cells.fits(&KEYS) {
            return None;
        }
        let capacity = std::mem::take(&mut cells.capacity)
            .into_iter()
            .filter_map(|(name, dated)| Some((name.to_string(), dated.into_spanned()?)))
            .collect();
        Some(Asset {
            id: cells.text(TextKey::Id)?,
            name: cells.plain_text(TextKey::Name),
            kind: cells.text(TextKey::Kind)?,
            owner: cells.text(TextKey::Owner),
            region: cells.text(TextKey::Region),
            capacity,
            online: cells.online.map(|(y, span)| Spanned::new(span, Year(y))),
            tags: std::mem::take(&mut cells.tags),
            attrs: cells.attrs(),
            source: cells.source(),
            note: cells.plain_text(TextKey::Note),
        })
    }
}

impl FromRow for Flow {
    fn from_row(record: &Record, slots: &[Slot]) -> Option<Self> {
        use TextKey::*;
        const KEYS: Keys = Keys {
            texts: &[Id, From, To, Kind, Via, Unit, Project, Source, Note],
            count: false,
            online: false,
            amount: true,
            capacity: false,
            attrs: false,
        };
        let mut cells = Cells::gather(record, slots)?;
        if !cells.fits(&KEYS) {
            return None;
        }
        Some(Flow {
            id: cells.text(TextKey::Id),
            from: cells.text(TextKey::From)?,
            to: cells.text(TextKey::To)?,
            kind: cells.text(TextKey::Kind)?,
            via: cells.text(TextKey::Via),
            amount: std::mem::take(&mut cells.amount).into_spanned()?,
            unit: cells.text(TextKey::Unit),
            project: cells.text(TextKey::Project),
            tags: std::mem::take(&mut cells.tags),
            source: cells.source(),
            note: cells.plain_text(TextKey::Note),
        })
    }
}

/// Projects are not read from tables; a row never reaches here.
impl FromRow for Project {
    fn from_row(_: &Record, _: &[Slot]) -> Option<Self> {
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::fmt::Debug;

    use crate::table::read_both_ways;

    /// Cells the serde path reads in different ways, split at `|`: nulls, numbers in
    /// every form the YAML core schema knows, infinities, booleans, years in and out of
    /// range, texts that look like numbers, lists, quoted cells.
    const TRICKY: &str = concat!(
        r#"|~|null|NULL|5|-2|0|+3|1_000|1__0|_1|0x1F|0o17|1e3|1.5|.5|-.inf|.inf|.nan|"#,
        r#"1e400|9223372036854775808|true|False|text| 5|5 |2026|2026.0|999|10000|"#,
        r#"a;b; ;c|;|007|"a, b"|"say ""hi"""|-|x@y"#,
    );

    /// A small set for pairs of columns, where what matters is which cells have values.
    const PAIRED: &[&str] = &["", "5", "-1", "true", "x", "2027"];

    /// Offers both paths a table with `header`, one row of `defaults`, then rows with
    /// one column (each value of `TRICKY`) or two columns (each pair of `PAIRED`) changed.
    /// The fast path must never take a row the serde path refuses, nor build another
    /// entity; and it must take the row of defaults (a plain row).
    fn both_paths_agree<T>(section: &str, header: &str, defaults: &str)
    where
        T: super::FromRow + for<'de> serde::Deserialize<'de> + Debug,
    {
        let header: Vec<&str> = header.split(',').collect();
        let defaults: Vec<&str> = defaults.split(',').collect();
        assert_eq!(header.len(), defaults.len());
        let mut rows = vec![defaults.join(",")];
        for i in 0..header.len() {
            for value in TRICKY.split('|') {
                let mut row = defaults.to_vec();
                row[i] = value;
                rows.push(row.join(","));
            }
            for j in i + 1..header.len() {
                for a in PAIRED {
                    for b in PAIRED {
                        let mut row = defaults.to_vec();
                        row[i] = a;
                        row[j] = b;
                        rows.push(row.join(","));
                    }
                }
            }
        }
        let text = format!("{}\n{}\n", header.join(","), rows.join("\n"));
        let read = read_both_ways::<T>(&text, section);
        assert_eq!(read.len(), rows.len());
        let mut taken = 0;
        for (k, (fast, slow)) in read.iter().enumerate() {
            let Some(fast) = fast else { continue };
            taken += 1;
            match slow {
                Ok(slow) => assert_eq!(
                    format!("{fast:?}"),
                    format!("{slow:?}"),
                    "{section} row `{}` reads differently",
                    rows[k]
                ),
                Err(why) => panic!(
                    "{section} row `{}`: the fast path took a row the serde path refuses ({why})",
                    rows[k]
                ),
            }
        }
        assert!(
            read[0].0.is_some(),
            "the plain row of defaults was declined"
        );
        // Most rows are plain; the fast path must stay the common one.
        assert!(
            taken * 2 > read.len(),
            "{taken} of {} rows taken",
            read.len()
        );
    }

    #[test]
    fn actors_read_the_same_both_ways() {
        both_paths_agree::<crate::types::Actor>(
            "actors",
            "id,name,kind,count,region,tags,source,note,demand,attrs.demand,budget@2026,\
             budget@2028,attrs.flag,capacity.mw",
            "a1,,startup,,,,,,,,,,,",
        );
    }

    #[test]
    fn assets_read_the_same_both_ways() {
        both_paths_agree::<crate::types::Asset>(
            "assets",
            "id,kind,owner,region,capacity.gpus,capacity.mw@2026,capacity.mw@2028,capacity.mw,\
             online,tags,gpus,attrs.pue@2027,name,note,source",
            "c1,datacenter,,,8,,,,,,,,,,",
        );
    }

    #[test]
    fn flows_read_the_same_both_ways() {
        both_paths_agree::<crate::types::Flow>(
            "flows",
            "id,from,to,kind,via,amount,amount@2028,amount@2026,unit,project,tags,source,note,\
             colour",
            "f1,gov,a1,funding,grant,100,,,,,,,,",
        );
    }
}
