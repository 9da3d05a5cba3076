//! The outcome document: one serde type, sorted, the same bytes for the same inputs.

use std::collections::BTreeMap;

use gil_rules::{Level, Role};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Outcome {
    pub scenario: ScenarioSummary,
    pub steps: Vec<Step>,
    /// Each actor's and asset's ledger summed over the whole horizon.
    pub ledger_total: BTreeMap<String, LedgerEntry>,
    pub findings: Vec<Finding>,
    pub analyses: Analyses,
    /// Per project: who holds What, How and Why (from the scenario and `ctx.role`),
    /// their flows in the project, and the role checks.
    pub roles: Vec<ProjectRoles>,
    /// Set when the document leaves out the entities nothing in it names (above
    /// 2,000 actors and assets with flows; `gil run --full` keeps them, and
    /// `--format parquet` writes every row).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub omitted: Option<Omitted>,
}

/// What a summarized document left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Omitted {
    /// Actors and assets with flows that no project, target, finding, loop or cluster
    /// names: their ledger, flow lines and built-in metrics are not listed.
    pub entities: usize,
    /// Ledger entries (actor × year) left out.
    pub ledger_entries: usize,
    /// Flow lines (year × payer × kind × `via`) left out.
    pub flow_lines: usize,
    /// Built-in per-entity metrics (year × metric) left out.
    pub metrics: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ScenarioSummary {
    pub id: String,
    pub title: Option<String>,
    pub currency: String,
    pub horizon: [i32; 2],
    pub rules: Vec<RuleSummary>,
    /// Every `source:` the scenario cites.
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RuleSummary {
    pub id: String,
    pub title: Option<String>,
    pub kind: String,
    pub file: String,
    /// The parameters the rule declares it reads.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Step {
    pub year: i32,
    /// Flows after rules. By default one line per paying actor, kind and `via` (so the
    /// outcome grows with actors, not with the flows rules create); every flow with
    /// `--flows`.
    pub flows: Vec<FlowLine>,
    pub metrics: BTreeMap<String, f64>,
    pub ledger: BTreeMap<String, LedgerEntry>,
    /// Which of `metrics` rules made (`ctx.metric`); the others are built in.
    #[serde(skip)]
    pub rule_metrics: std::collections::BTreeSet<String>,
}

impl Step {
    /// What the metric `name` of this step is: built in (by its form) or made by rules.
    pub fn metric_key<'a>(&self, name: &'a str) -> gil_model::metric::MetricKey<'a> {
        classify(name, self.rule_metrics.contains(name))
    }
}

impl Outcome {
    /// What the metric `name` is in this outcome: made by rules in any year, or built in.
    pub fn metric_key<'a>(&self, name: &'a str) -> gil_model::metric::MetricKey<'a> {
        classify(
            name,
            self.steps.iter().any(|s| s.rule_metrics.contains(name)),
        )
    }
}

/// A metric rules made is theirs whatever its name; any other has the built-in form.
fn classify(name: &str, made_by_rules: bool) -> gil_model::metric::MetricKey<'_> {
    use gil_model::metric::MetricKey;
    match MetricKey::builtin_form(name) {
        Some(key) if !made_by_rules => key,
        _ => MetricKey::Rule(name),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct FlowLine {
    /// The flow's id when lines are not aggregated, or when one flow makes the line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The paying (sending) actor or asset.
    pub from: String,
    /// The receiver, when every flow on the line goes to the same one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    pub kind: gil_model::FlowKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    pub amount: f64,
    pub unit: String,
    /// How many flows the line adds up.
    pub count: usize,
    /// How many different receivers the line's flows go to (shown when more than one).
    #[serde(skip_serializing_if = "is_one")]
    pub recipients: usize,
    /// Rules that created or changed flows on this line.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

/// In and out of one actor or asset, by flow kind and then by `via`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct LedgerEntry {
    #[serde(rename = "in")]
    pub inflow: LedgerSide,
    #[serde(rename = "out")]
    pub outflow: LedgerSide,
}

/// One side of a ledger entry: amounts by (kind, via), sorted by kind then via, and
/// serialized as `{kind: {via: amount}}`. A sorted list rather than nested maps: a
/// B-tree node costs ~400 bytes even for one entry, and a national run keeps one
/// entry per actor per year.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LedgerSide(Vec<(&'static str, std::sync::Arc<str>, f64)>);

impl LedgerSide {
    /// Adds `amount` under (kind, via), keeping the order.
    pub fn add(&mut self, kind: &'static str, via: &str, amount: f64) {
        self.add_with(kind, via, amount, || via.into());
    }

    /// [`LedgerSide::add`] with `via` already shared: a new entry takes a share of it
    /// instead of a copy (a national ledger has an entry per actor, year and `via`).
    pub fn add_shared(&mut self, kind: &'static str, via: &std::sync::Arc<str>, amount: f64) {
        self.add_with(kind, via, amount, || via.clone());
    }

    fn add_with(
        &mut self,
        kind: &'static str,
        via: &str,
        amount: f64,
        shared: impl FnOnce() -> std::sync::Arc<str>,
    ) {
        match self.0.binary_search_by(|e| (e.0, &*e.1).cmp(&(kind, via))) {
            Ok(i) => self.0[i].2 += amount,
            Err(i) => {
                // Most sides hold one entry: room for one, not the four a first push
                // reserves.
                if self.0.is_empty() {
                    self.0.reserve_exact(1);
                }
                self.0.insert(i, (kind, shared(), amount))
            }
        }
    }

    /// (kind, via, amount) in order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str, f64)> + '_ {
        self.0.iter().map(|(k, v, a)| (*k, &**v, *a))
    }

    /// The amount under (kind, via), if any flow went there.
    pub fn get(&self, kind: &str, via: &str) -> Option<f64> {
        self.iter()
            .find(|(k, v, _)| *k == kind && *v == via)
            .map(|(_, _, a)| a)
    }

    pub fn total(&self, kind: &str) -> f64 {
        self.iter()
            .filter(|(k, _, _)| *k == kind)
            .map(|(_, _, a)| a)
            .sum()
    }
}

impl schemars::JsonSchema for LedgerSide {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "LedgerSide".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Amounts by flow kind, then by `via` (`-` for none).",
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": { "type": "number" }
            }
        })
    }
}

impl Serialize for LedgerSide {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        /// The `via → amount` map of one kind: a run of the sorted list.
        struct Vias<'a>(&'a [(&'static str, std::sync::Arc<str>, f64)]);
        impl Serialize for Vias<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut map = s.serialize_map(Some(self.0.len()))?;
                for (_, via, amount) in self.0 {
                    map.serialize_entry(&**via, amount)?;
                }
                map.end()
            }
        }
        let runs: Vec<&[(&'static str, std::sync::Arc<str>, f64)]> =
            self.0.chunk_by(|a, b| a.0 == b.0).collect();
        let mut map = serializer.serialize_map(Some(runs.len()))?;
        for run in runs {
            map.serialize_entry(run[0].0, &Vias(run))?;
        }
        map.end()
    }
}

impl LedgerEntry {
    /// Adds another entry into this one (for totals over years).
    pub fn add(&mut self, other: &LedgerEntry) {
        for (side, theirs) in [
            (&mut self.inflow, &other.inflow),
            (&mut self.outflow, &other.outflow),
        ] {
            for (kind, via, amount) in &theirs.0 {
                side.add_shared(kind, via, *amount);
            }
        }
    }

    pub fn total_in(&self, kind: &str) -> f64 {
        self.inflow.total(kind)
    }

    pub fn total_out(&self, kind: &str) -> f64 {
        self.outflow.total(kind)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Finding {
    pub level: Level,
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The rule that made it, when a rule did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// `file:line` of the rule's call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Analyses {
    pub compute: Vec<ComputeLine>,
    pub power: Vec<PowerLine>,
    pub circular: Vec<Loop>,
    pub targets: Vec<TargetLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ComputeLine {
    pub cluster: String,
    pub year: i32,
    /// gpus × 8760 × utilisation, GPU-hours.
    pub supply: f64,
    /// Compute flows drawn from the cluster, GPU-hours.
    pub demand: f64,
    pub overcommitted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PowerLine {
    pub region: String,
    pub year: i32,
    pub demand_mw: f64,
    pub capacity_mw: f64,
    pub shortfall_mw: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Loop {
    /// The loop's actors in order, starting from the smallest id; it closes back on the first.
    pub path: Vec<String>,
    /// Each edge's amount over the horizon, in the scenario currency.
    pub edges: Vec<f64>,
    /// The smallest edge: the most money that can go all the way round.
    pub bottleneck: f64,
    /// The vendor in the loop: it invests in (or lends to) the next actor and is paid by
    /// the previous one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Σ over the vendor's investees of min(invested in it, bought back from the vendor),
    /// over the vendor's income.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round_trip_share: Option<f64>,
    /// The share of the vendor's income that comes from its own investees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub investee_income_share: Option<f64>,
    pub warning: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TargetLine {
    pub project: String,
    pub metric: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_least: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_most: Option<f64>,
    pub by: i32,
    /// The metric's value in the `by` year.
    pub value_by: f64,
    pub met: bool,
    /// The first year the condition held, if ever.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_met: Option<i32>,
}

impl TargetLine {
    /// Whether `value` is within the target's bounds.
    pub fn holds(&self, value: f64) -> bool {
        within(self.at_least, self.at_most, value)
    }
}

/// Whether `value` is at least `at_least` and at most `at_most`, where given: the one
/// test of a project target, in the analysis and in `explain`.
pub(crate) fn within(at_least: Option<f64>, at_most: Option<f64>, value: f64) -> bool {
    at_least.is_none_or(|x| value >= x) && at_most.is_none_or(|x| value <= x)
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RuleRole {
    pub project: String,
    pub actor: String,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub rule: String,
    pub at: String,
    pub step: i32,
}

// ── What / How / Why (computed in roles.rs) ────────────────────────────────────

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ProjectRoles {
    pub project: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Everyone taking part, What owner first, then How actors, then the rest; each
    /// with the roles held and the project's flows over the horizon.
    pub participants: Vec<Participant>,
    pub checks: Vec<Check>,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Participant {
    pub actor: String,
    pub kind: String,
    pub roles: Vec<Role>,
    /// Goal (What), means (How) or reason (Why), as written or given by rules.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contributions: Vec<String>,
    /// Where each role comes from: `scenario` or `rule <id> at file:line`.
    pub from: Vec<String>,
    pub flows: ProjectFlows,
}

/// An actor's flows tagged with the project, over the whole horizon.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ProjectFlows {
    pub money_in: f64,
    pub money_out: f64,
    pub gpu_hours_in: f64,
    pub gpu_hours_out: f64,
    /// The largest power flow in any one step, MW.
    pub peak_mw: f64,
}

impl ProjectFlows {
    /// Whether any flow of the project reached or left the actor.
    pub(crate) fn any(&self) -> bool {
        self.money_in != 0.0
            || self.money_out != 0.0
            || self.gpu_hours_in != 0.0
            || self.gpu_hours_out != 0.0
            || self.peak_mw != 0.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Check {
    /// Stable id, e.g. `what.single_owner`.
    pub id: String,
    pub name: String,
    pub status: Status,
    pub message: String,
    /// For checks a rule added: `rule <id> at file:line`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

impl Outcome {
    /// Whether any role check failed.
    pub fn roles_fail(&self) -> bool {
        self.roles
            .iter()
            .any(|p| p.checks.iter().any(|c| c.status == Status::Fail))
    }

    /// Role checks whose status is at `level` or above (a failed check is an error, a
    /// warned one a warning), with their project, in outcome order.
    pub fn role_checks_at(&self, level: Level) -> Vec<(&str, &Check)> {
        use Status;
        self.roles
            .iter()
            .flat_map(|p| p.checks.iter().map(move |c| (p.project.as_str(), c)))
            .filter(|(_, c)| match c.status {
                Status::Fail => true,
                Status::Warn => level <= Level::Warn,
                Status::Pass => false,
            })
            .collect()
    }

    /// Findings at exactly `level`.
    pub fn findings_at(&self, level: Level) -> usize {
        self.findings.iter().filter(|f| f.level == level).count()
    }

    /// Findings at `level` or above.
    pub fn count_findings(&self, level: Level) -> usize {
        self.findings.iter().filter(|f| f.level >= level).count()
    }
}
