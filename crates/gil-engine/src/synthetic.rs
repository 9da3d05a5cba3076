//! `gil gen synthetic`: a national-scale scenario and its rules, generated
//! deterministically (seeded) for benchmarks, with the same logic written as plain
//! Lua 5.4 and Python baselines that must give the same totals.
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

pub const RULE_VOUCHER: &str = r#"-- Synthetic workload: a voucher on actors selected by kind.
return {
  id = "synth.voucher",
  kind = "voucher",
  params = { "synth.coverage", "synth.gpu_hour_price" },
  select = { actors = { kind = { "startup", "sme" } } },
  on_actor = function(actor, ctx)
    local grant = actor.attrs.demand * ctx.param("synth.gpu_hour_price") * ctx.param("synth.coverage")
    ctx.flow { from = "agency", to = actor.id, kind = "funding", via = "voucher", amount = grant }
    ctx.metric("synth.voucher", grant)
  end,
}
"#;

pub const RULE_TAX: &str = r#"-- Synthetic workload: a tax credit on purchase flows that looks up the buyer.
return {
  id = "synth.tax_credit",
  kind = "tax_break",
  params = { "synth.credit_large", "synth.credit_sme" },
  select = { flows = { via = "purchase" } },
  on_flow = function(flow, ctx)
    local buyer = ctx.actor(flow.from)
    local rate = 0
    if buyer.kind == "large_firm" then
      rate = ctx.param("synth.credit_large")
    elseif buyer.kind == "sme" or buyer.kind == "startup" then
      rate = ctx.param("synth.credit_sme")
    end
    if rate > 0 then
      ctx.flow { from = "gov", to = buyer.id, kind = "funding", via = "tax_credit", amount = flow.amount * rate }
      ctx.metric("synth.tax_credit", flow.amount * rate)
    end
  end,
}
"#;

pub const RULE_GROWTH: &str = r#"-- Synthetic workload: demand grows through ctx.set (it persists to later years).
return {
  id = "synth.growth",
  kind = "custom",
  after = { "synth.voucher" },
  params = { "synth.growth" },
  select = { actors = { kind = "startup" } },
  on_actor = function(actor, ctx)
    local next_demand = actor.attrs.demand * (1 + ctx.param("synth.growth"))
    ctx.set { actor = actor.id, attr = "demand", value = next_demand }
    ctx.metric("synth.demand", next_demand)
  end,
}
"#;

pub const RULE_PROCUREMENT: &str = r#"-- Synthetic workload: procurement to an actor named in an attribute.
return {
  id = "synth.procurement",
  kind = "procurement",
  select = { actors = { kind = "public_user" } },
  on_actor = function(actor, ctx)
    ctx.flow { from = actor.id, to = actor.attrs.platform, kind = "funding", via = "procurement",
               amount = actor.attrs.budget }
    ctx.metric("synth.procurement", actor.attrs.budget)
  end,
}
"#;

pub const RULE_POWER: &str = r#"-- Synthetic workload: energy efficiency lowers every power flow (ctx.adjust).
return {
  id = "synth.efficiency",
  kind = "power",
  params = { "synth.efficiency" },
  select = { flows = { kind = "power" } },
  on_flow = function(flow, ctx)
    local scale = 1 - ctx.param("synth.efficiency")
    ctx.adjust { flow = flow.id, scale = scale }
    ctx.metric("synth.power_saved", flow.amount * (1 - scale))
  end,
}
"#;

/// The columnar forms (`on_actors`, `on_flows`) of all five rules: the same effects in
/// the same order, one Lua call per rule and year.
pub const COLUMNAR_RULES: &[(&str, &str)] = &[
    (
        "rules/tax_credit.lua",
        r#"-- Synthetic workload, columnar form: the tax credit, buyers joined by id.
return {
  id = "synth.tax_credit",
  kind = "tax_break",
  params = { "synth.credit_large", "synth.credit_sme" },
  select = { flows = { via = "purchase" } },
  on_flows = function(cols, ctx)
    local buyer = cols.actor("from")
    local rate = col.where(buyer.kind:eq("large_firm"), ctx.param("synth.credit_large"),
      col.where(buyer.kind:is_in({ "sme", "startup" }), ctx.param("synth.credit_sme"), 0))
    local credited = rate:gt(0)
    local credit = (cols.amount * rate):filter(credited)
    ctx.flow { from = "gov", to = buyer.id:filter(credited), kind = "funding", via = "tax_credit", amount = credit }
    ctx.metric("synth.tax_credit", credit)
  end,
}
"#,
    ),
    (
        "rules/procurement.lua",
        r#"-- Synthetic workload, columnar form: procurement to the actor named in `platform`.
return {
  id = "synth.procurement",
  kind = "procurement",
  select = { actors = { kind = "public_user" } },
  on_actors = function(cols, ctx)
    local budget = cols.attr("budget")
    ctx.flow { from = cols.id, to = cols.text("platform"), kind = "funding", via = "procurement",
               amount = budget }
    ctx.metric("synth.procurement", budget)
  end,
}
"#,
    ),
    (
        "rules/voucher.lua",
        r#"-- Synthetic workload, columnar form: the voucher over all selected actors at once.
return {
  id = "synth.voucher",
  kind = "voucher",
  params = { "synth.coverage", "synth.gpu_hour_price" },
  select = { actors = { kind = { "startup", "sme" } } },
  on_actors = function(cols, ctx)
    local grant = cols.attr("demand") * ctx.param("synth.gpu_hour_price") * ctx.param("synth.coverage")
    ctx.flow { from = "agency", to = cols.id, kind = "funding", via = "voucher", amount = grant }
    ctx.metric("synth.voucher", grant)
  end,
}
"#,
    ),
    (
        "rules/growth.lua",
        r#"-- Synthetic workload, columnar form: demand growth through ctx.set.
return {
  id = "synth.growth",
  kind = "custom",
  after = { "synth.voucher" },
  params = { "synth.growth" },
  select = { actors = { kind = "startup" } },
  on_actors = function(cols, ctx)
    local next_demand = cols.attr("demand") * (1 + ctx.param("synth.growth"))
    ctx.set { actor = cols.id, attr = "demand", value = next_demand }
    ctx.metric("synth.demand", next_demand)
  end,
}
"#,
    ),
    (
        "rules/efficiency.lua",
        r#"-- Synthetic workload, columnar form: energy efficiency on every power flow.
return {
  id = "synth.efficiency",
  kind = "power",
  params = { "synth.efficiency" },
  select = { flows = { kind = "power" } },
  on_flows = function(cols, ctx)
    local scale = 1 - ctx.param("synth.efficiency")
    ctx.adjust { flow = cols.id, scale = scale }
    ctx.metric("synth.power_saved", cols.amount * (1 - scale))
  end,
}
"#,
    ),
];

/// The scenario, its rules, and the two baselines.
pub fn generate(spec: Spec) -> Files {
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
    y.push_str("parameters:\n  synth.coverage: 0.7\n  synth.gpu_hour_price: 3000\n  synth.credit_large: 0.2\n  synth.credit_sme: 0.3\n  synth.growth: 0.05\n  synth.efficiency: 0.03\n");
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

    let lua = lua_baseline(&kinds, &actor_lines, &flows, spec);
    let py = PYTHON_BASELINE.to_string();
    vec![
        ("scenario.yaml".into(), y),
        ("rules/voucher.lua".into(), RULE_VOUCHER.into()),
        ("rules/tax_credit.lua".into(), RULE_TAX.into()),
        ("rules/growth.lua".into(), RULE_GROWTH.into()),
        ("rules/procurement.lua".into(), RULE_PROCUREMENT.into()),
        ("rules/efficiency.lua".into(), RULE_POWER.into()),
        ("baseline/baseline.lua".into(), lua),
        ("baseline/baseline.py".into(), py),
        (
            "baseline/baseline_numpy.py".into(),
            NUMPY_BASELINE.to_string(),
        ),
    ]
}

/// The same logic as the rules, as a plain Lua 5.4 loop over plain tables.
fn lua_baseline(
    kinds: &[Kind],
    actor_lines: &[String],
    flows: &[(String, String, String, &str, &str, u64)],
    spec: Spec,
) -> String {
    let mut out = String::new();
    out.push_str("-- The synthetic rules as a plain Lua loop over plain tables (run: lua5.4 baseline.lua).\n");
    out.push_str("-- Prints the yearly metric totals; gil's outcome must match them.\n");
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
    let _ = write!(
        out,
        r#"}}
local years = {years}
local p = {{ coverage = 0.7, price = 3000, credit_large = 0.2, credit_sme = 0.3, growth = 0.05, efficiency = 0.03 }}
local by_id = {{}}
for _, a in ipairs(actors) do by_id[a.id] = a end
local started = os.clock()
for year = 2026, 2026 + years - 1 do
  local m = {{ voucher = 0, tax_credit = 0, demand = 0, procurement = 0, power_saved = 0 }}
  local created = {{}}
  -- synth.efficiency runs first (rules run in id order): power flows shrink
  local adjusted = {{}}
  for i, f in ipairs(flows) do
    if f.kind == "power" then
      local scale = 1 - p.efficiency
      adjusted[i] = f.amount * scale
      m.power_saved = m.power_saved + f.amount * (1 - scale)
    end
  end
  -- synth.procurement
  for _, a in ipairs(actors) do
    if a.kind == "public_user" then
      created[#created + 1] = {{ from = a.id, to = a.platform, amount = a.budget }}
      m.procurement = m.procurement + a.budget
    end
  end
  -- synth.tax_credit: purchases, buyer looked up by id
  for _, f in ipairs(flows) do
    if f.via == "purchase" then
      local buyer = by_id[f.from]
      local rate = 0
      if buyer.kind == "large_firm" then rate = p.credit_large
      elseif buyer.kind == "sme" or buyer.kind == "startup" then rate = p.credit_sme end
      if rate > 0 then
        created[#created + 1] = {{ from = "gov", to = buyer.id, amount = f.amount * rate }}
        m.tax_credit = m.tax_credit + f.amount * rate
      end
    end
  end
  -- synth.voucher
  for _, a in ipairs(actors) do
    if a.kind == "startup" or a.kind == "sme" then
      local grant = a.demand * p.price * p.coverage
      created[#created + 1] = {{ from = "agency", to = a.id, amount = grant }}
      m.voucher = m.voucher + grant
    end
  end
  -- synth.growth (after voucher): demand persists to later years
  for _, a in ipairs(actors) do
    if a.kind == "startup" then
      a.demand = a.demand * (1 + p.growth)
      m.demand = m.demand + a.demand
    end
  end
  print(string.format("%d synth.voucher %.17g", year, m.voucher))
  print(string.format("%d synth.tax_credit %.17g", year, m.tax_credit))
  print(string.format("%d synth.demand %.17g", year, m.demand))
  print(string.format("%d synth.procurement %.17g", year, m.procurement))
  print(string.format("%d synth.power_saved %.17g", year, m.power_saved))
end
io.stderr:write(string.format("timing.rules_seconds=%.6f\n", os.clock() - started))
"#,
        years = spec.years.max(1)
    );
    out
}

const PYTHON_BASELINE: &str = r#"#!/usr/bin/env python3
"""The synthetic rules as a straightforward Python script over the YAML.

Run: python3 baseline.py ../scenario.yaml   (needs PyYAML). Prints the yearly metric
totals, which gil's outcome must match, and the time taken to stderr.
"""
import sys
import time

import yaml

started = time.perf_counter()
with open(sys.argv[1] if len(sys.argv) > 1 else "scenario.yaml", encoding="utf-8") as f:
    doc = yaml.safe_load(f)
loaded = time.perf_counter()
p = doc["parameters"]
actors = doc["actors"]
flows = doc["flows"]
by_id = {a["id"]: a for a in actors}
demand = {a["id"]: a.get("attrs", {}).get("demand") for a in actors}
start, end = doc["scenario"]["horizon"]["start"], doc["scenario"]["horizon"]["end"]
for year in range(start, end + 1):
    m = {"voucher": 0.0, "tax_credit": 0.0, "demand": 0.0, "procurement": 0.0, "power_saved": 0.0}
    created = []
    for f in flows:
        if f["kind"] == "power":
            scale = 1 - p["synth.efficiency"]
            m["power_saved"] += f["amount"] * (1 - scale)
    for a in actors:
        if a["kind"] == "public_user":
            created.append((a["id"], a["attrs"]["platform"], a["attrs"]["budget"]))
            m["procurement"] += a["attrs"]["budget"]
    for f in flows:
        if f.get("via") == "purchase":
            buyer = by_id[f["from"]]
            rate = 0
            if buyer["kind"] == "large_firm":
                rate = p["synth.credit_large"]
            elif buyer["kind"] in ("sme", "startup"):
                rate = p["synth.credit_sme"]
            if rate > 0:
                created.append(("gov", buyer["id"], f["amount"] * rate))
                m["tax_credit"] += f["amount"] * rate
    for a in actors:
        if a["kind"] in ("startup", "sme"):
            grant = demand[a["id"]] * p["synth.gpu_hour_price"] * p["synth.coverage"]
            created.append(("agency", a["id"], grant))
            m["voucher"] += grant
    for a in actors:
        if a["kind"] == "startup":
            demand[a["id"]] = demand[a["id"]] * (1 + p["synth.growth"])
            m["demand"] += demand[a["id"]]
    for name in ("voucher", "tax_credit", "demand", "procurement", "power_saved"):
        print(f"{year} synth.{name} {m[name]!r}")
done = time.perf_counter()
print(f"timing.load_seconds={loaded - started:.6f}", file=sys.stderr)
print(f"timing.rules_seconds={done - loaded:.6f}", file=sys.stderr)
print(f"timing.total_seconds={done - started:.6f}", file=sys.stderr)
"#;

const NUMPY_BASELINE: &str = r#"#!/usr/bin/env python3
"""The synthetic rules as vectorised numpy over whole columns (what analysts' tools do).

Run: python3 baseline_numpy.py ../scenario.yaml   (needs PyYAML and numpy). Prints the
yearly metric totals and, to stderr, the compute time without the YAML load.
"""
import sys
import time

import numpy as np
import yaml

with open(sys.argv[1] if len(sys.argv) > 1 else "scenario.yaml", encoding="utf-8") as f:
    doc = yaml.safe_load(f)
p = doc["parameters"]
actors = doc["actors"]
flows = doc["flows"]
started = time.perf_counter()
kind = np.array([a["kind"] for a in actors])
index = {a["id"]: i for i, a in enumerate(actors)}
demand = np.array([float(a.get("attrs", {}).get("demand") or 0.0) for a in actors])
budget = np.array([float(a.get("attrs", {}).get("budget") or 0.0) for a in actors])
voucher = (kind == "startup") | (kind == "sme")
startup = kind == "startup"
public = kind == "public_user"
amount = np.array([float(f["amount"]) for f in flows])
power = np.array([f["kind"] == "power" for f in flows])
purchase = np.array([f.get("via") == "purchase" for f in flows])
buyer_kind = np.array([kind[index[f["from"]]] if f["from"] in index else "" for f in flows])
rate = np.where(buyer_kind == "large_firm", p["synth.credit_large"],
                np.where((buyer_kind == "sme") | (buyer_kind == "startup"), p["synth.credit_sme"], 0.0))
prepared = time.perf_counter()
start, end = doc["scenario"]["horizon"]["start"], doc["scenario"]["horizon"]["end"]
out = []
for year in range(start, end + 1):
    scale = 1 - p["synth.efficiency"]
    power_saved = (amount[power] * (1 - scale)).sum()
    procurement = budget[public].sum()
    credits = amount[purchase] * rate[purchase]
    tax_credit = credits[credits > 0].sum()
    grant = demand[voucher] * p["synth.gpu_hour_price"] * p["synth.coverage"]
    demand[startup] = demand[startup] * (1 + p["synth.growth"])
    out.append((year, *(float(x) for x in (grant.sum(), tax_credit, demand[startup].sum(), procurement, power_saved))))
done = time.perf_counter()
for year, v, t, d, pr, ps in out:
    print(f"{year} synth.voucher {v!r}")
    print(f"{year} synth.tax_credit {t!r}")
    print(f"{year} synth.demand {d!r}")
    print(f"{year} synth.procurement {pr!r}")
    print(f"{year} synth.power_saved {ps!r}")
print(f"timing.prepare_seconds={prepared - started:.6f}", file=sys.stderr)
print(f"timing.rules_seconds={done - prepared:.6f}", file=sys.stderr)
"#;
