//! The scenario contract (docs/scenario.md) as serde types.
//!
//! Fields that a later check may need to point at are [`Spanned`], so semantic
//! diagnostics name the exact `file:line:column`.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use crate::span::{Span, Spanned};

/// Built-in actor kinds; a scenario may add its own under `kinds: { actor: [...] }`.
pub const ACTOR_KINDS: &[&str] = &[
    "government",
    "agency",
    "public_user",
    "large_firm",
    "sme",
    "startup",
    "university",
    "utility",
    "foreign_vendor",
    "ai_lab",
    "investor",
    "boundary",
];

/// Actor kinds that count as public for the What/How checks.
pub const PUBLIC_ACTOR_KINDS: &[&str] = &["government", "agency", "public_user"];

pub const ASSET_KINDS: &[&str] = &[
    "gpu_cluster",
    "datacenter",
    "power_plant",
    "grid_region",
    "fund",
];

/// `via` values the money graph treats as financing (circular-financing analysis).
pub const FINANCING_VIAS: &[&str] = &["investment", "loan", "purchase", "procurement", "cloud"];

/// What a flow carries; the kind fixes the unit family.
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
pub enum FlowKind {
    // Declared in the order of their names, so the derived `Ord` sorts kinds as their
    // names sort: outputs ordered by kind keep the order they had as strings.
    Compute,
    Funding,
    Power,
}

impl FlowKind {
    pub const NAMES: &'static [&'static str] = &["funding", "compute", "power"];

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "funding" => Some(FlowKind::Funding),
            "compute" => Some(FlowKind::Compute),
            "power" => Some(FlowKind::Power),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FlowKind::Funding => "funding",
            FlowKind::Compute => "compute",
            FlowKind::Power => "power",
        }
    }

    /// The unit amounts of this kind are reported in (money: the scenario currency).
    pub fn base_unit(self, currency: &str) -> String {
        match self {
            FlowKind::Funding => currency.to_string(),
            FlowKind::Compute => "gpu_hour".to_string(),
            FlowKind::Power => "MW".to_string(),
        }
    }
}

impl fmt::Display for FlowKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A number that must be finite; also accepts `100_000_000` written as text.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Num(pub f64);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct NumVisitor;
        impl Visitor<'_> for NumVisitor {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num, E> {
                if v.is_finite() {
                    Ok(Num(v))
                } else {
                    Err(E::custom("the number is not finite"))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Num, E> {
                Err(E::custom(format!(
                    "expected a number, found the string `{v}`"
                )))
            }
        }
        d.deserialize_any(NumVisitor)
    }
}

/// A year written as a whole number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Year(pub i32);

impl<'de> Deserialize<'de> for Year {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct YearVisitor;
        impl Visitor<'_> for YearVisitor {
            type Value = Year;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a year such as 2026")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Year, E> {
                match i32::try_from(v) {
                    Ok(y) if (1000..=9999).contains(&y) => Ok(Year(y)),
                    _ => Err(E::custom(format!(
                        "expected a year such as 2026, found `{v}`"
                    ))),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Year, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(-1))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Year, E> {
                match v.trim().parse::<i64>() {
                    Ok(y) => self.visit_i64(y),
                    Err(_) => Err(E::custom(format!(
                        "expected a year such as 2026, found `{v}`"
                    ))),
                }
            }
        }
        d.deserialize_any(YearVisitor)
    }
}

/// A number that may change over the years: a value holds from its year on.
#[derive(Debug, Clone, PartialEq)]
pub enum Dated {
    Fixed(f64),
    /// (year, year's span, value), sorted by year.
    Series(Vec<(i32, Span, f64)>),
}

impl Dated {
    /// The value in force in `year`; `None` before the first dated value.
    pub fn at(&self, year: i32) -> Option<f64> {
        match self {
            Dated::Fixed(v) => Some(*v),
            Dated::Series(points) => points
                .iter()
                .take_while(|(y, _, _)| *y <= year)
                .last()
                .map(|(_, _, v)| *v),
        }
    }

    /// The value in force in `year`, zero before the first dated value.
    pub fn at_or_zero(&self, year: i32) -> f64 {
        self.at(year).unwrap_or(0.0)
    }

    pub fn values(&self) -> Vec<f64> {
        match self {
            Dated::Fixed(v) => vec![*v],
            Dated::Series(points) => points.iter().map(|(_, _, v)| *v).collect(),
        }
    }
}

impl<'de> Deserialize<'de> for Dated {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct DatedVisitor;
        impl<'de> Visitor<'de> for DatedVisitor {
            type Value = Dated;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a mapping of years to numbers ({ 2026: 1.0, 2028: 2.0 })")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dated, E> {
                Ok(Dated::Fixed(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dated, E> {
                Ok(Dated::Fixed(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dated, E> {
                Num::deserialize(de::value::F64Deserializer::<E>::new(v)).map(|n| Dated::Fixed(n.0))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Dated, A::Error> {
                let mut points: Vec<(i32, Span, f64)> = Vec::new();
                while let Some(year) = map.next_key::<Spanned<Year>>()? {
                    let value = map.next_value::<Num>()?;
                    points.push((year.value.0, year.span, value.0));
                }
                points.sort_by_key(|(y, _, _)| *y);
                Ok(Dated::Series(points))
            }
        }
        d.deserialize_any(DatedVisitor)
    }
}

/// A parameter that is not a number: a text (a label, a region) or a list of texts
/// (the regions a subsidy is open to). One value for the whole horizon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextValue {
    Text(String),
    List(Vec<String>),
}

impl TextValue {
    /// A `--param` value: a list parameter splits it on `,` (blanks around an item
    /// dropped), a text parameter keeps it whole; `like` says which.
    pub fn parse_like(like: &TextValue, raw: &str) -> TextValue {
        match like {
            TextValue::Text(_) => TextValue::Text(raw.to_string()),
            TextValue::List(_) => TextValue::List(
                raw.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_string)
                    .collect(),
            ),
        }
    }

    /// This value in the form of `like`: a text given for a list parameter is a list
    /// of one; a list given for a text parameter does not fit (`None`).
    pub fn conform_to(self, like: &TextValue) -> Option<TextValue> {
        match (self, like) {
            (TextValue::Text(t), TextValue::List(_)) => Some(TextValue::List(vec![t])),
            (TextValue::List(_), TextValue::Text(_)) => None,
            (value, _) => Some(value),
        }
    }
}

impl fmt::Display for TextValue {
    /// `"text"`, or `[a, b]` for a list.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextValue::Text(t) => write!(f, "\"{t}\""),
            TextValue::List(items) => write!(f, "[{}]", items.join(", ")),
        }
    }
}

impl serde::Serialize for TextValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            TextValue::Text(t) => s.serialize_str(t),
            TextValue::List(items) => items.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for TextValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = TextValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a text or a list of texts")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TextValue, E> {
                Ok(TextValue::Text(v.to_string()))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<TextValue, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<ListItem>()? {
                    items.push(item.0);
                }
                Ok(TextValue::List(items))
            }
        }
        d.deserialize_any(TextVisitor)
    }
}

/// A parameter value where either kind may be written (a `gil test` case's
/// `params`): a number or dated series, or a text or list of texts.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Number(Dated),
    Text(TextValue),
}

impl<'de> Deserialize<'de> for ParamValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = ParamValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, a mapping of years to numbers, a text or a list of texts")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ParamValue, E> {
                Ok(ParamValue::Number(Dated::Fixed(v as f64)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ParamValue, E> {
                Ok(ParamValue::Number(Dated::Fixed(v as f64)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ParamValue, E> {
                Num::deserialize(de::value::F64Deserializer::<E>::new(v))
                    .map(|n| ParamValue::Number(Dated::Fixed(n.0)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ParamValue, A::Error> {
                Dated::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(ParamValue::Number)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ParamValue, E> {
                Ok(ParamValue::Text(TextValue::Text(v.to_string())))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<ParamValue, A::Error> {
                TextValue::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(ParamValue::Text)
            }
        }
        d.deserialize_any(ValueVisitor)
    }
}

/// One item of a list parameter: a text (a number is refused, so `[0.1, 0.2]` is not
/// read as texts a rule would compare as strings).
struct ListItem(String);

impl<'de> Deserialize<'de> for ListItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ItemVisitor;
        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = ListItem;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a text (a list parameter holds ids, regions or labels; a number goes in a parameter of its own)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ListItem, E> {
                Ok(ListItem(v.to_string()))
            }
        }
        d.deserialize_any(ItemVisitor)
    }
}

/// `source:` — a URL or citation, or a list of them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sources(pub Vec<String>);

impl<'de> Deserialize<'de> for Sources {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SourcesVisitor;
        impl<'de> Visitor<'de> for SourcesVisitor {
            type Value = Sources;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a URL or citation, or a list of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Sources, E> {
                Ok(Sources(vec![v.to_string()]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Sources, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(Sources(out))
            }
        }
        d.deserialize_any(SourcesVisitor)
    }
}

impl Sources {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// An attribute: a number (dated or not), a string or a boolean.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    Number(Dated),
    Text(String),
    Bool(bool),
}

impl<'de> Deserialize<'de> for AttrValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct AttrVisitor;
        impl<'de> Visitor<'de> for AttrVisitor {
            type Value = AttrValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, a dated series, a string or a boolean")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<AttrValue, E> {
                Ok(AttrValue::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<AttrValue, E> {
                Ok(AttrValue::Number(Dated::Fixed(v as f64)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<AttrValue, E> {
                Ok(AttrValue::Number(Dated::Fixed(v as f64)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<AttrValue, E> {
                DatedVisitorShim.visit_f64(v).map(AttrValue::Number)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<AttrValue, E> {
                Ok(AttrValue::Text(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<AttrValue, A::Error> {
                Dated::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(AttrValue::Number)
            }
        }
        struct DatedVisitorShim;
        impl DatedVisitorShim {
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dated, E> {
                if v.is_finite() {
                    Ok(Dated::Fixed(v))
                } else {
                    Err(E::custom("the number is not finite"))
                }
            }
        }
        d.deserialize_any(AttrVisitor)
    }
}

/// An actor's or asset's attributes, sorted by name. A sorted vector rather than a
/// B-tree: a B-tree's first node has room for eleven entries, and a national registry's
/// actors have one or two, so the tree cost ~800 bytes per actor with attributes.
#[derive(Clone, Default, PartialEq)]
pub struct Attrs(Vec<(String, Spanned<AttrValue>)>);

impl Attrs {
    pub fn get(&self, name: &str) -> Option<&Spanned<AttrValue>> {
        self.0
            .binary_search_by(|(key, _)| key.as_str().cmp(name))
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// Name and value, in the order of the names.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Spanned<AttrValue>)> {
        self.0.iter().map(|(key, value)| (key, value))
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(key, _)| key)
    }

    pub fn values(&self) -> impl Iterator<Item = &Spanned<AttrValue>> {
        self.0.iter().map(|(_, value)| value)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Sorted by name; of two values for one name the later one is kept, as a map keeps it.
impl FromIterator<(String, Spanned<AttrValue>)> for Attrs {
    fn from_iter<I: IntoIterator<Item = (String, Spanned<AttrValue>)>>(items: I) -> Self {
        let mut entries: Vec<_> = items.into_iter().collect();
        // Stable: among equal names the last written stays last, and is the one kept.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut kept: Vec<(String, Spanned<AttrValue>)> = Vec::with_capacity(entries.len());
        for entry in entries {
            match kept.last_mut() {
                Some(last) if last.0 == entry.0 => *last = entry,
                _ => kept.push(entry),
            }
        }
        Attrs(kept)
    }
}

/// Written as the map it stands for.
impl fmt::Debug for Attrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'de> Deserialize<'de> for Attrs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Read as the map it is written as, so its errors are worded as a map's.
        BTreeMap::<String, Spanned<AttrValue>>::deserialize(d).map(|map| map.into_iter().collect())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Horizon {
    pub start: Spanned<Year>,
    pub end: Spanned<Year>,
}

/// The `scenario:` header of the root file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub id: Spanned<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub horizon: Spanned<Horizon>,
    pub currency: Spanned<String>,
    #[serde(default)]
    pub rules: Vec<Spanned<String>>,
    #[serde(default)]
    pub source: Option<Sources>,
}

impl Header {
    pub fn years(&self) -> std::ops::RangeInclusive<i32> {
        self.horizon.start.value.0..=self.horizon.end.value.0
    }
}

/// `kinds:` — names a scenario adds to the built-in actor and asset kinds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraKinds {
    #[serde(default)]
    pub actor: Vec<String>,
    #[serde(default)]
    pub asset: Vec<String>,
}

/// A parameter written as `{ value: …, source: …, unit: …, note: … }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterEntry<V = Dated> {
    pub value: Spanned<V>,
    #[serde(default)]
    pub source: Option<Sources>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// A parameter: a number (dated or not) by default, or a [`TextValue`].
#[derive(Debug, Clone)]
pub struct Parameter<V = Dated> {
    pub name: Spanned<String>,
    pub value: Spanned<V>,
    /// Where the value is written, as diagnostics spell it: `parameters.<name>`, or
    /// `parameters.<name>.value` in the long form.
    pub value_path: String,
    pub source: Sources,
    pub unit: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    pub id: Spanned<String>,
    #[serde(default)]
    pub name: Option<String>,
    pub kind: Spanned<String>,
    /// How many similar entities the actor stands for (1 unless it is an aggregate).
    #[serde(default)]
    pub count: Option<Spanned<Num>>,
    #[serde(default)]
    pub region: Option<Spanned<String>>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub attrs: Attrs,
    #[serde(default)]
    pub source: Option<Sources>,
    #[serde(default)]
    pub note: Option<String>,
}

impl Actor {
    pub fn count(&self) -> f64 {
        self.count.as_ref().map(|c| c.value.0).unwrap_or(1.0)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    pub id: Spanned<String>,
    #[serde(default)]
    pub name: Option<String>,
    pub kind: Spanned<String>,
    #[serde(default)]
    pub owner: Option<Spanned<String>>,
    #[serde(default)]
    pub region: Option<Spanned<String>>,
    /// Named capacities: `gpus`, `mw`, `mwh`, …, each possibly dated.
    #[serde(default)]
    pub capacity: BTreeMap<String, Spanned<Dated>>,
    #[serde(default)]
    pub online: Option<Spanned<Year>>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub attrs: Attrs,
    #[serde(default)]
    pub source: Option<Sources>,
    #[serde(default)]
    pub note: Option<String>,
}

impl Asset {
    /// Capacity `name` in `year`, zero before the asset is online or when absent.
    pub fn capacity_at(&self, name: &str, year: i32) -> f64 {
        if self.online.as_ref().is_some_and(|o| year < o.value.0) {
            return 0.0;
        }
        self.capacity
            .get(name)
            .map(|c| c.value.at_or_zero(year))
            .unwrap_or(0.0)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    #[serde(default)]
    pub id: Option<Spanned<String>>,
    pub from: Spanned<String>,
    pub to: Spanned<String>,
    pub kind: Spanned<String>,
    #[serde(default)]
    pub via: Option<Spanned<String>>,
    pub amount: Spanned<Dated>,
    #[serde(default)]
    pub unit: Option<Spanned<String>>,
    #[serde(default)]
    pub project: Option<Spanned<String>>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub source: Option<Sources>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct What {
    pub owner: Spanned<String>,
    #[serde(default)]
    pub goal: Option<String>,
    /// Why a private What owner is acceptable here (otherwise a check fails).
    #[serde(default)]
    pub private_ok: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct How {
    pub actor: Spanned<String>,
    #[serde(default)]
    pub means: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub metric: Spanned<String>,
    #[serde(default)]
    pub at_least: Option<Spanned<Num>>,
    #[serde(default)]
    pub at_most: Option<Spanned<Num>>,
    /// The year by which the target must hold (default: the horizon's end).
    #[serde(default)]
    pub by: Option<Spanned<Year>>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Project {
    pub id: Spanned<String>,
    #[serde(default)]
    pub title: Option<String>,
    pub what: What,
    #[serde(default)]
    pub how: Vec<How>,
    #[serde(default)]
    pub why: Option<Spanned<String>>,
    #[serde(default)]
    pub participants: Vec<Spanned<String>>,
    #[serde(default)]
    pub targets: Vec<Target>,
    /// Why a public How actor is acceptable here (otherwise a warning).
    #[serde(default)]
    pub public_how: Option<String>,
    #[serde(default)]
    pub source: Option<Sources>,
}

/// An entity and where it stands: its span and its place in its file's section.
#[derive(Debug, Clone)]
pub struct Located<T> {
    pub item: T,
    pub span: Span,
    /// Where it is written, as messages name it: `flows[3]`, or `flows row 4`.
    pub path: EntityPath,
}

/// Where an entity is written: item `index` of a section's list (`flows[3]`), or row
/// `number` of a table (`flows row 4`, the header being row 1). Written out only when a
/// message needs it, so a national registry's entities carry no string for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityPath {
    pub section: &'static str,
    pub place: Place,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Index(usize),
    Row(usize),
}

impl fmt::Display for EntityPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.place {
            Place::Index(index) => write!(f, "{}[{index}]", self.section),
            Place::Row(number) => write!(f, "{} row {number}", self.section),
        }
    }
}

impl<T> std::ops::Deref for Located<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.item
    }
}
