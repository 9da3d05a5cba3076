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
    y.push_str("actors:\n  - { id: gov, kind: government }\n  - { id: agency, kind: agency }\n  - { id: kepco, kind: utility }\n  - { id: world, kind: boundary }\n");
    let mut actor_lines = Vec::with_capacity(n);
    for (i, k) in kinds.iter().enumerate() {
        let line = match k {
            Kind::Startup | Kind::Sme => format!(
                "  - {{ id: a{i}, kind: {}, attrs: {{ demand: {} }} }}\n",
                k.name(),
                rng.amount(100, 20_000)
            ),
            Kind::Public => {
                let platform = if larges.is_empty() {
                    "agency".to_string()
                } else {
                    format!("a{}", larges[rng.below(larges.len())])
                };
                format!("  - {{ id: a{i}, kind: public_user, attrs: {{ budget: {}, platform: {platform} }} }}\n", rng.amount(1_000_000, 100_000_000))
            }
            _ => format!("  - {{ id: a{i}, kind: {} }}\n", k.name()),
        };
        actor_lines.push(line);
    }
    for l in &actor_lines {
        y.push_str(l);
    }
    y.push_str("assets:\n");
    for r in REGIONS {
        let _ = writeln!(
            y,
            "  - {{ id: grid-{r}, kind: grid_region, region: {r}, capacity: {{ mw: {} }} }}",
            10 * spec.flows / 5 + 100
        );
    }
    for c in 0..clusters {
        let _ = writeln!(y, "  - {{ id: c{c}, kind: gpu_cluster, owner: agency, region: {}, capacity: {{ gpus: 1000 }} }}", REGIONS[c % REGIONS.len()]);
    }
    y.push_str("flows:\n");
    // (id, from, to, kind, via, amount) for the baselines too.
    let mut flows: Vec<(String, String, String, &str, &str, u64)> = Vec::with_capacity(spec.flows);
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
        let via = if flow.4 == "-" {
            String::new()
        } else {
            format!(", via: {}", flow.4)
        };
        let _ = writeln!(
            y,
            "  - {{ id: {}, from: {}, to: {}, kind: {}{via}, amount: {} }}",
            flow.0, flow.1, flow.2, flow.3, flow.5
        );
        flows.push(flow);
    }

    let mut files: Files = vec![("scenario.yaml".into(), y)];
    let rules = if columnar { COLUMNAR_RULES } else { RULES };
    files.extend(
        rules
            .iter()
            .map(|(name, text)| (format!("rules/{name}"), text.to_string())),
    );
    files.extend(
        BASELINES
            .iter()
            .map(|(name, text)| (format!("baseline/{name}"), text.to_string())),
    );
    files.push((
        "baseline/data.lua".into(),
        lua_data(&kinds, &actor_lines, &flows, spec),
    ));
    files
}

/// The scenario's actors, flows, years and parameters as a Lua module for baseline.lua.
fn lua_data(
    kinds: &[Kind],
    actor_lines: &[String],
    flows: &[(String, String, String, &str, &str, u64)],
    spec: Spec,
) -> String {
    let mut out = String::new();
    out.push_str("-- The synthetic scenario as plain Lua tables, read by baseline.lua (gil gen synthetic).\n");
    out.push_str("local actors = {\n");
    for (i, (k, line)) in kinds.iter().zip(actor_lines).enumerate() {
        let attr = |name: &str| {
            line.split(&format!("{name}: "))
                .nth(1)
                .map(|r| r.split([',', ' ', '}']).next().unwrap_or("").to_string())
        };
        let _ = match k {
            Kind::Startup | Kind::Sme => writeln!(
                out,
                "  {{ id = \"a{i}\", kind = \"{}\", demand = {} }},",
                k.name(),
                attr("demand").unwrap_or_default()
            ),
            Kind::Public => writeln!(
                out,
                "  {{ id = \"a{i}\", kind = \"public_user\", budget = {}, platform = \"{}\" }},",
                attr("budget").unwrap_or_default(),
                attr("platform").unwrap_or_default()
            ),
            _ => writeln!(out, "  {{ id = \"a{i}\", kind = \"{}\" }},", k.name()),
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
