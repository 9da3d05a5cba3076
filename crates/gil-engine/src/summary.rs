//! The outcome document at national scale: every actor's ledger, flow lines and
//! built-in metrics make hundreds of MiB no one reads. Above [`FULL_DOCUMENT_MAX`]
//! actors and assets, the JSON/YAML document keeps the entities something in it names
//! — a project (its What, How and participants), a target's metric, a finding, a loop,
//! a cluster or region of the analyses — and says what it left out; the tables
//! (`--format parquet`) and `--full` keep everything.

use std::collections::BTreeSet;

use gil_model::metric::MetricKey;

use crate::outcome::{Omitted, Outcome, Step};

/// Actors and assets with flows up to which the document lists every one of them.
pub const FULL_DOCUMENT_MAX: usize = 2_000;

impl Outcome {
    /// The document for people and machines that read it whole: the outcome itself
    /// when it has at most [`FULL_DOCUMENT_MAX`] entities with flows, else a copy
    /// keeping only the named ones (see the module docs).
    pub fn summarized(&self) -> Option<Outcome> {
        if self.ledger_total.len() <= FULL_DOCUMENT_MAX {
            return None;
        }
        let named = self.named_entities();
        let keep_metric = |step: &Step, name: &str| match step.metric_key(name) {
            MetricKey::Flow { entity, .. } => named.contains(entity),
            _ => true,
        };
        let unnamed = self
            .ledger_total
            .keys()
            .filter(|id| !named.contains(id.as_str()))
            .count();
        if unnamed == 0 {
            return None; // every entity is named: the document is whole
        }
        let mut omitted = Omitted {
            entities: unnamed,
            ..Omitted::default()
        };
        let steps = self
            .steps
            .iter()
            .map(|step| {
                let flows: Vec<_> = step
                    .flows
                    .iter()
                    .filter(|l| {
                        named.contains(l.from.as_str())
                            || l.to.as_deref().is_some_and(|to| named.contains(to))
                    })
                    .cloned()
                    .collect();
                let metrics: std::collections::BTreeMap<_, _> = step
                    .metrics
                    .iter()
                    .filter(|(name, _)| keep_metric(step, name))
                    .map(|(k, v)| (k.clone(), *v))
                    .collect();
                let ledger: std::collections::BTreeMap<_, _> = step
                    .ledger
                    .iter()
                    .filter(|(id, _)| named.contains(id.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                omitted.flow_lines += step.flows.len() - flows.len();
                omitted.metrics += step.metrics.len() - metrics.len();
                omitted.ledger_entries += step.ledger.len() - ledger.len();
                Step {
                    year: step.year,
                    flows,
                    metrics,
                    ledger,
                    rule_metrics: step.rule_metrics.clone(),
                }
            })
            .collect();
        let ledger_total = self
            .ledger_total
            .iter()
            .filter(|(id, _)| named.contains(id.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Some(Outcome {
            scenario: self.scenario.clone(),
            steps,
            ledger_total,
            findings: self.findings.clone(),
            analyses: self.analyses.clone(),
            roles: self.roles.clone(),
            omitted: Some(omitted),
        })
    }

    /// Every actor and asset the document names outside the ledger.
    pub(crate) fn named_entities(&self) -> BTreeSet<&str> {
        let mut named: BTreeSet<&str> = BTreeSet::new();
        for project in &self.roles {
            named.extend(project.participants.iter().map(|p| p.actor.as_str()));
        }
        for target in &self.analyses.targets {
            if let MetricKey::Flow { entity, .. } = self.metric_key(&target.metric) {
                named.insert(entity);
            }
        }
        named.extend(self.findings.iter().filter_map(|f| f.subject.as_deref()));
        for l in &self.analyses.circular {
            named.extend(l.path.iter().map(String::as_str));
        }
        named.extend(self.analyses.compute.iter().map(|c| c.cluster.as_str()));
        named
    }
}
