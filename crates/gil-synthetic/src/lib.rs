//! `gil gen synthetic`: a national-scale scenario and its rules, generated
//! deterministically (seeded) for benchmarks, with the same logic written as plain
//! Lua 5.4, Python and numpy baselines that must give the same totals.
//!
//! The rules and baselines are real files under `workload/` (linted, runnable on their
//! own); this crate writes the scenario and the baselines' data around them, with the
//! parameters from one table, [`PARAMETERS`].
//!
//! The workload: startups, SMEs, large firms, public users and vendors; purchases,
//! grants and power flows; and five rules, one per hook style — a voucher on actors
//! selected by kind, a tax credit on purchase flows that looks up the buyer, demand
//! growth through `ctx.set`, procurement to an actor named in an attribute, and a
//! power-efficiency `ctx.adjust` on power flows — each adding to a `ctx.metric`.

use std::fmt::Write;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub actors: usize,
    pub flows: usize,
    pub years: u32,
    pub seed: u64,
}

/// Generated files: (relative path, contents).
pub type Files = Vec<(String, String)>;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// A round number in [lo, hi) with a few significant digits (stable in YAML text).
    fn amount(&mut self, lo: u64, hi: u64) -> u64 {
        let v = lo + self.next() % (hi - lo).max(1);
        let scale = 10u64.pow((v as f64).log10().floor().max(2.0) as u32 - 2);
        (v / scale) * scale
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Startup,
    Sme,
    Large,
    Public,
    Vendor,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Startup => "startup",
            Kind::Sme => "sme",
            Kind::Large => "large_firm",
            Kind::Public => "public_user",
            Kind::Vendor => "foreign_vendor",
        }
    }
}

const REGIONS: [&str; 5] = ["capital", "honam", "yeongnam", "chungcheong", "gangwon"];

/// The workload's parameters: written into the scenario and into the Lua baseline's
/// data; the Python baselines read them from the scenario.
pub const PARAMETERS: &[(&str, f64)] = &[
    ("synth.coverage", 0.7),
    ("synth.gpu_hour_price", 3000.0),
    ("synth.credit_large", 0.2),
    ("synth.credit_sme", 0.3),
    ("synth.growth", 0.05),
    ("synth.efficiency", 0.03),
];

/// The rules, per-entity (`on_actor`, `on_flow`): (file name, text).
pub const RULES: &[(&str, &str)] = &[
    (
        "efficiency.lua",
        include_str!("../workload/rules/efficiency.lua"),
    ),
    ("growth.lua", include_str!("../workload/rules/growth.lua")),
    (
        "procurement.lua",
        include_str!("../workload/rules/procurement.lua"),
    ),
    (
        "tax_credit.lua",
        include_str!("../workload/rules/tax_credit.lua"),
    ),
    ("voucher.lua", include_str!("../workload/rules/voucher.lua")),
];

/// The same rules in columnar form (`on_actors`, `on_flows`): the same effects in the
/// same order, one Lua call per rule and year.
pub const COLUMNAR_RULES: &[(&str, &str)] = &[
    (
        "efficiency.lua",
        include_str!("../workload/columnar/efficiency.lua"),
    ),
    (
        "growth.lua",
        include_str!("../workload/columnar/growth.lua"),
    ),
    (
        "procurement.lua",
        include_str!("../workload/columnar/procurement.lua"),
    ),
    (
        "tax_credit.lua",
        include_str!("../workload/columnar/tax_credit.lua"),
    ),
    (
        "voucher.lua",
        include_str!("../workload/columnar/voucher.lua"),
    ),
];

/// The baselines: the same logic as a plain Lua 5.4 loop, a Python script and numpy.
pub const BASELINES: &[(&str, &str)] = &[
    (
        "baseline.lua",
        include_str!("../workload/baseline/baseline.lua"),
    ),
    (
        "baseline.py",
        include_str!("../workload/baseline/baseline.py"),
    ),
    (
        "baseline_numpy.py",
        include_str!("../workload/baseline/baseline_numpy.py"),
    ),
];

/// The scenario, its five rules (per-entity, or with `columnar` the `on_actors` /
/// `on_flows` form) and the baselines with their data.
pub fn generate(spec: Spec, columnar: bool) -> Files {
    generate_as(spec, columnar, None).0
}

/// The same workload with its actors, assets and flows in tables named
/// `data/<section>.<table_ext>` by the scenario: the scenario and rules, and the tables
/// for the caller to write in that format. No baselines: they read the entities from
/// the scenario file.
pub fn generate_with_tables(
    spec: Spec,
    columnar: bool,
    table_ext: &str,
) -> (Files, Vec<EntityTable>) {
    generate_as(spec, columnar, Some(table_ext))
}

fn generate_as(spec: Spec, columnar: bool, table_ext: Option<&str>) -> (Files, Vec<EntityTable>) {
    let mut rng = Rng(spec.seed);
    let n = spec.actors.max(10);
    let kinds: Vec<Kind> = (0..n)
        .map(|_| match rng.below(100) {
            0..=59 => Kind::Startup,
            60..=84 => Kind::Sme,
            85..=94 => Kind::Large,
            95..=98 => Kind::Public,
            _ => Kind::Vendor,
        })
        .collect();
    let of_kind = |k: Kind| -> Vec<usize> {
        kinds
            .iter()
            .enumerate()
            .filter(|(_, x)| **x == k)
            .map(|(i, _)| i)
            .collect()
    };
    let larges = of_kind(Kind::Large);
    let vendors = of_kind(Kind::Vendor);
    let firms: Vec<usize> = (0..n)
        .filter(|&i| matches!(kinds[i], Kind::Startup | Kind::Sme | Kind::Large))
        .collect();
    let clusters = (n / 1000).max(1);
    let start = 2026;
    let end = start + spec.years.max(1) as i32 - 1;

    let mut y = String::with_capacity(n * 96 + spec.flows * 96);
    let _ = writeln!(
        y,
        "# Synthetic national-scale scenario (gil gen synthetic, seed {}).",
        spec.seed
    );
    let _ = writeln!(
        y,
        "scenario: {{ id: synthetic, title: \"Synthetic workload: {n} actors, {} flows, {} years\", horizon: {{ start: {start}, end: {end} }}, currency: KRW, rules: [rules] }}",
        spec.flows,
        spec.years
    );
    y.push_str("parameters:\n");
    for (name, value) in PARAMETERS {
        let _ = writeln!(y, "  {name}: {value}");
    }
    let actors: Vec<ActorRow> = kinds
        .iter()
        .map(|&kind| match kind {
            Kind::Startup | Kind::Sme => ActorRow {
                demand: Some(rng.amount(100, 20_000)),
                ..ActorRow::plain(kind)
            },
            Kind::Public => {
                let platform = if larges.is_empty() {
                    "agency".to_string()
                } else {
                    format!("a{}", larges[rng.below(larges.len())])
                };
                ActorRow {
                    budget: Some(rng.amount(1_000_000, 100_000_000)),
                    platform: Some(platform),
                    ..ActorRow::plain(kind)
                }
            }
            _ => ActorRow::plain(kind),
        })
        .collect();
    if table_ext.is_none() {
        y.push_str("actors:\n");
        for (id, kind) in FIXED_ACTORS {
            let _ = writeln!(y, "  - {{ id: {id}, kind: {kind} }}");
        }
        for (i, a) in actors.iter().enumerate() {
            let kind = a.kind.name();
            let _ = match (&a.demand, &a.budget, &a.platform) {
                (Some(demand), _, _) => writeln!(
                    y,
                    "  - {{ id: a{i}, kind: {kind}, attrs: {{ demand: {demand} }} }}"
                ),
                (None, Some(budget), Some(platform)) => writeln!(
                    y,
                    "  - {{ id: a{i}, kind: {kind}, attrs: {{ budget: {budget}, platform: {platform} }} }}"
                ),
                _ => writeln!(y, "  - {{ id: a{i}, kind: {kind} }}"),
            };
        }
    }
    let assets: Vec<AssetRow> = REGIONS
        .iter()
        .map(|r| AssetRow {
            id: format!("grid-{r}"),
            kind: "grid_region",
            region: r,
            owner: None,
            capacity: ("mw", (10 * spec.flows / 5 + 100) as u64),
        })
        .chain((0..clusters).map(|c| AssetRow {
            id: format!("c{c}"),
            kind: "gpu_cluster",
            region: REGIONS[c % REGIONS.len()],
            owner: Some("agency"),
            capacity: ("gpus", 1000),
        }))
        .collect();
    // (id, from, to, kind, via, amount) for the baselines too.
    let mut flows: Vec<FlowRow> = Vec::with_capacity(spec.flows);
    for f in 0..spec.flows {
        let flow = match rng.below(10) {
            0..=4 if !firms.is_empty() => {
                let buyer = firms[rng.below(firms.len())];
                let seller = if vendors.is_empty() {
                    "world".to_string()
                } else {
                    format!("a{}", vendors[rng.below(vendors.len())])
                };
                (
                    format!("f{f}"),
                    format!("a{buyer}"),
                    seller,
                    "funding",
                    "purchase",
                    rng.amount(1_000_000, 1_000_000_000),
                )
            }
            5..=7 if !firms.is_empty() => {
                let to = firms[rng.below(firms.len())];
                (
                    format!("f{f}"),
                    "gov".to_string(),
                    format!("a{to}"),
                    "funding",
                    "grant",
                    rng.amount(1_000_000, 100_000_000),
                )
            }
            _ => (
                format!("f{f}"),
                "kepco".to_string(),
                format!("c{}", rng.below(clusters)),
                "power",
                "-",
                rng.amount(1, 50),
            ),
        };
        flows.push(flow);
    }
    let mut tables = Vec::new();
    match table_ext {
        None => {
            y.push_str("assets:\n");
            for a in &assets {
                let owner = a.owner.map(|o| format!(" owner: {o},")).unwrap_or_default();
                let (name, value) = a.capacity;
                let _ = writeln!(
                    y,
                    "  - {{ id: {}, kind: {},{owner} region: {}, capacity: {{ {name}: {value} }} }}",
                    a.id, a.kind, a.region
                );
            }
            y.push_str("flows:\n");
            for (id, from, to, kind, via, amount) in &flows {
                let via = if *via == "-" {
                    String::new()
                } else {
                    format!(", via: {via}")
                };
                let _ = writeln!(
                    y,
                    "  - {{ id: {id}, from: {from}, to: {to}, kind: {kind}{via}, amount: {amount} }}"
                );
            }
        }
        Some(ext) => {
            for section in ["actors", "assets", "flows"] {
                let _ = writeln!(y, "{section}: {{ table: data/{section}.{ext} }}");
            }
            tables = entity_tables(&actors, &assets, &flows);
        }
    }

    let mut files: Files = vec![("scenario.yaml".into(), y)];
    let rules = if columnar { COLUMNAR_RULES } else { RULES };
    files.extend(
        rules
            .iter()
            .map(|(name, text)| (format!("rules/{name}"), text.to_string())),
    );
    // The baselines read the entities from the scenario file.
    if table_ext.is_none() {
        files.extend(
            BASELINES
                .iter()
                .map(|(name, text)| (format!("baseline/{name}"), text.to_string())),
        );
        files.push(("baseline/data.lua".into(), lua_data(&actors, &flows, spec)));
    }
    (files, tables)
}

/// The actors every workload has, before the generated ones: (id, kind).
const FIXED_ACTORS: [(&str, &str); 4] = [
    ("gov", "government"),
    ("agency", "agency"),
    ("kepco", "utility"),
    ("world", "boundary"),
];

/// A generated actor (its id is `a<index>`) and its attributes.
struct ActorRow {
    kind: Kind,
    demand: Option<u64>,
    budget: Option<u64>,
    platform: Option<String>,
}

impl ActorRow {
    fn plain(kind: Kind) -> ActorRow {
        ActorRow {
            kind,
            demand: None,
            budget: None,
            platform: None,
        }
    }
}

/// A grid region or GPU cluster, with its one capacity.
struct AssetRow {
    id: String,
    kind: &'static str,
    region: &'static str,
    owner: Option<&'static str>,
    capacity: (&'static str, u64),
}

/// (id, from, to, kind, via or `-`, amount).
type FlowRow = (String, String, String, &'static str, &'static str, u64);

/// One entity table: its name (`actors`, `assets`, `flows`) and its columns, each all
/// integers or all texts, `None` where a row has no value.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityTable {
    pub name: &'static str,
    pub columns: Vec<(&'static str, Cells)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cells {
    Int(Vec<Option<i64>>),
    Text(Vec<Option<String>>),
}

impl EntityTable {
    /// The table as CSV: a header of the column names, then one line per row (an
    /// absent value is an empty cell; no generated text needs quoting).
    pub fn to_csv(&self) -> String {
        let rows = self.columns.first().map_or(0, |(_, cells)| match cells {
            Cells::Int(values) => values.len(),
            Cells::Text(values) => values.len(),
        });
        let names: Vec<&str> = self.columns.iter().map(|(name, _)| *name).collect();
        let mut out = names.join(",");
        out.push('\n');
        for row in 0..rows {
            for (i, (_, cells)) in self.columns.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = match cells {
                    Cells::Int(values) => match values[row] {
                        Some(v) => write!(out, "{v}"),
                        None => Ok(()),
                    },
                    Cells::Text(values) => {
                        out.push_str(values[row].as_deref().unwrap_or(""));
                        Ok(())
                    }
                };
            }
            out.push('\n');
        }
        out
    }
}

/// The actors, assets and flows as entity tables (attributes as columns of their own).
fn entity_tables(actors: &[ActorRow], assets: &[AssetRow], flows: &[FlowRow]) -> Vec<EntityTable> {
    let text = |values: Vec<Option<String>>| Cells::Text(values);
    let ids = FIXED_ACTORS
        .iter()
        .map(|(id, _)| Some(id.to_string()))
        .chain((0..actors.len()).map(|i| Some(format!("a{i}"))))
        .collect();
    let kinds = FIXED_ACTORS
        .iter()
        .map(|(_, kind)| Some(kind.to_string()))
        .chain(actors.iter().map(|a| Some(a.kind.name().to_string())))
        .collect();
    let none_for_fixed = FIXED_ACTORS.len();
    let attr = |get: &dyn Fn(&ActorRow) -> Option<i64>| -> Vec<Option<i64>> {
        std::iter::repeat_n(None, none_for_fixed)
            .chain(actors.iter().map(get))
            .collect()
    };
    let actor_table = EntityTable {
        name: "actors",
        columns: vec![
            ("id", text(ids)),
            ("kind", text(kinds)),
            ("demand", Cells::Int(attr(&|a| a.demand.map(|v| v as i64)))),
            ("budget", Cells::Int(attr(&|a| a.budget.map(|v| v as i64)))),
            (
                "platform",
                text(
                    std::iter::repeat_n(None, none_for_fixed)
                        .chain(actors.iter().map(|a| a.platform.clone()))
                        .collect(),
                ),
            ),
        ],
    };
    let asset_text =
        |get: &dyn Fn(&AssetRow) -> Option<String>| text(assets.iter().map(get).collect());
    let capacity = |name: &str| {
        Cells::Int(
            assets
                .iter()
                .map(|a| (a.capacity.0 == name).then_some(a.capacity.1 as i64))
                .collect(),
        )
    };
    let asset_table = EntityTable {
        name: "assets",
        columns: vec![
            ("id", asset_text(&|a| Some(a.id.clone()))),
            ("kind", asset_text(&|a| Some(a.kind.to_string()))),
            ("owner", asset_text(&|a| a.owner.map(str::to_string))),
            ("region", asset_text(&|a| Some(a.region.to_string()))),
            ("capacity.mw", capacity("mw")),
            ("capacity.gpus", capacity("gpus")),
        ],
    };
    let flow_text =
        |get: &dyn Fn(&FlowRow) -> Option<String>| text(flows.iter().map(get).collect());
    let flow_table = EntityTable {
        name: "flows",
        columns: vec![
            ("id", flow_text(&|f| Some(f.0.clone()))),
            ("from", flow_text(&|f| Some(f.1.clone()))),
            ("to", flow_text(&|f| Some(f.2.clone()))),
            ("kind", flow_text(&|f| Some(f.3.to_string()))),
            ("via", flow_text(&|f| (f.4 != "-").then(|| f.4.to_string()))),
            (
                "amount",
                Cells::Int(flows.iter().map(|f| Some(f.5 as i64)).collect()),
            ),
        ],
    };
    vec![actor_table, asset_table, flow_table]
}

/// The scenario's actors, flows, years and parameters as a Lua module for baseline.lua.
fn lua_data(actors: &[ActorRow], flows: &[FlowRow], spec: Spec) -> String {
    let mut out = String::new();
    out.push_str("-- The synthetic scenario as plain Lua tables, read by baseline.lua (gil gen synthetic).\n");
    out.push_str("local actors = {\n");
    for (i, a) in actors.iter().enumerate() {
        let kind = a.kind.name();
        let _ = match (&a.demand, &a.budget, &a.platform) {
            (Some(demand), _, _) => writeln!(
                out,
                "  {{ id = \"a{i}\", kind = \"{kind}\", demand = {demand} }},"
            ),
            (None, Some(budget), Some(platform)) => writeln!(
                out,
                "  {{ id = \"a{i}\", kind = \"{kind}\", budget = {budget}, platform = \"{platform}\" }},"
            ),
            _ => writeln!(out, "  {{ id = \"a{i}\", kind = \"{kind}\" }},"),
        };
    }
    out.push_str("}\nlocal flows = {\n");
    for (id, from, to, kind, via, amount) in flows {
        let _ = writeln!(out, "  {{ id = \"{id}\", from = \"{from}\", to = \"{to}\", kind = \"{kind}\", via = \"{via}\", amount = {amount} }},");
    }
    out.push_str("}\nlocal parameters = {\n");
    for (name, value) in PARAMETERS {
        let _ = writeln!(out, "  [\"{name}\"] = {value},");
    }
    let _ = writeln!(
        out,
        "}}\nreturn {{ actors = actors, flows = flows, years = {}, parameters = parameters }}",
        spec.years.max(1)
    );
    out
}
