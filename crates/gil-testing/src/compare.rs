//! What a case expects against what the evaluation gave: every difference as a typed
//! [`Mismatch`], which `Display` words for the rule author.

use std::collections::BTreeSet;
use std::fmt;

use gil_engine::outcome::Finding;
use gil_engine::{number, Evaluation};
use gil_model::{Dated, FlowKind};
use gil_rules::{Level, Role};

use crate::file::{Case, FindingExpect};

/// One difference between a case and the outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum Mismatch {
    /// The case names a year the scenario does not evaluate.
    YearOutsideHorizon { year: i32 },
    /// No step has the metric at all (a typo, or a rule that never ran).
    MetricNotProduced { name: String, hint: Option<String> },
    /// The metric differs in a year (`actual` is `None` when that year has none).
    Metric {
        name: String,
        year: i32,
        expected: f64,
        actual: Option<f64>,
    },
    /// The flows matching an expectation add up to another amount (or there are none).
    Flow {
        from: String,
        to: String,
        via: Option<String>,
        year: i32,
        expected: f64,
        actual: Option<f64>,
    },
    /// The finding is reported, but at another level.
    FindingLevel {
        code: String,
        reported: Level,
        expected: Level,
    },
    /// The finding is reported, but about other subjects.
    FindingSubject {
        code: String,
        reported: Vec<String>,
        expected: String,
    },
    /// The finding is reported, but in other years (`None`: about the whole horizon).
    FindingYears {
        code: String,
        expected: Option<i32>,
        reported: Vec<Option<i32>>,
    },
    /// The finding is not reported; `reported` are the distinct codes that were.
    FindingMissing { code: String, reported: Vec<String> },
    /// A finding the case says must not appear.
    FindingUnexpected { code: String, message: String },
    /// The actor does not hold the role in the project.
    Role {
        project: String,
        actor: String,
        role: Role,
    },
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::What => "what",
        Role::How => "how",
        Role::Why => "why",
    }
}

/// `expected 7, got 6 (-1, -14.286%)` or `expected 7, got nothing`.
fn describe(expected: f64, actual: Option<f64>) -> String {
    match actual {
        None => format!("expected {}, got nothing", number(expected)),
        Some(a) => {
            let diff = a - expected;
            let pct = if expected != 0.0 {
                format!(", {:+.3}%", diff / expected * 100.0)
            } else {
                String::new()
            };
            format!(
                "expected {}, got {} ({}{}{pct})",
                number(expected),
                number(a),
                if diff >= 0.0 { "+" } else { "" },
                number(diff)
            )
        }
    }
}

/// Items in backticks, comma-separated (`none` when there are none).
fn ticked(items: &[String]) -> String {
    if items.is_empty() {
        return "none".to_string();
    }
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::YearOutsideHorizon { year } => {
                write!(f, "year {year} is outside the scenario's horizon")
            }
            Mismatch::MetricNotProduced { name, hint } => {
                write!(f, "metric `{name}` is not produced in any year")?;
                if let Some(h) = hint {
                    write!(f, " (did you mean `{h}`?)")?;
                }
                Ok(())
            }
            Mismatch::Metric {
                name,
                year,
                expected,
                actual,
            } => write!(
                f,
                "metric `{name}` in {year}: {}",
                describe(*expected, *actual)
            ),
            Mismatch::Flow {
                from,
                to,
                via,
                year,
                expected,
                actual,
            } => {
                let via = via
                    .as_deref()
                    .map(|v| format!(" via {v}"))
                    .unwrap_or_default();
                write!(
                    f,
                    "flow {from} → {to}{via} in {year}: {}",
                    describe(*expected, *actual)
                )
            }
            Mismatch::FindingLevel {
                code,
                reported,
                expected,
            } => write!(
                f,
                "finding `{code}` is reported at level `{}`, not `{}`",
                reported.as_str(),
                expected.as_str()
            ),
            Mismatch::FindingSubject {
                code,
                reported,
                expected,
            } => write!(
                f,
                "finding `{code}` is reported for {}, not for `{expected}`",
                ticked(reported)
            ),
            Mismatch::FindingYears {
                code,
                expected,
                reported,
            } => {
                let wanted = expected
                    .map_or_else(|| "in the case's years".to_string(), |y| format!("in {y}"));
                let when: Vec<String> = reported
                    .iter()
                    .map(|y| y.map_or_else(|| "the whole horizon".to_string(), |y| y.to_string()))
                    .collect();
                write!(
                    f,
                    "finding `{code}` is expected {wanted} but reported only in {}",
                    when.join(", ")
                )
            }
            Mismatch::FindingMissing { code, reported } => write!(
                f,
                "finding `{code}` is not reported (reported: {})",
                ticked(reported)
            ),
            Mismatch::FindingUnexpected { code, message } => {
                write!(f, "finding `{code}` reported but not expected: {message}")
            }
            Mismatch::Role {
                project,
                actor,
                role,
            } => write!(
                f,
                "role: `{actor}` should hold {} in `{project}`, but does not",
                role_name(*role)
            ),
        }
    }
}

fn expected_by_year(value: &Dated, years: &[i32]) -> Vec<(i32, f64)> {
    match value {
        Dated::Fixed(v) => years.iter().map(|y| (*y, *v)).collect(),
        Dated::Series(points) => points.iter().map(|(y, _, v)| (*y, *v)).collect(),
    }
}

/// Distinct, sorted.
fn distinct<T: Ord + Clone>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    items
        .into_iter()
        .collect::<BTreeSet<T>>()
        .into_iter()
        .collect()
}

/// Why an expected finding was not matched: the nearest finding with its code (at
/// another level, for another subject, in other years), or what was reported instead.
fn finding_mismatch(f: &FindingExpect, e: &Evaluation, years: &[i32]) -> Option<Mismatch> {
    let in_years = |step: Option<i32>| match (step, f.year) {
        (_, Some(w)) => step == Some(w),
        (None, None) => true,
        (Some(s), None) => years.contains(&s),
    };
    let subject_ok = |x: &Finding| {
        f.subject
            .as_ref()
            .is_none_or(|s| x.subject.as_ref() == Some(s))
    };
    let level_ok = |x: &Finding| f.level.is_none_or(|l| l == x.level);
    let same_code: Vec<&Finding> = e
        .outcome
        .findings
        .iter()
        .filter(|x| x.code == f.code)
        .collect();
    if same_code
        .iter()
        .any(|x| subject_ok(x) && level_ok(x) && in_years(x.step))
    {
        return None;
    }
    let code = f.code.clone();
    if let (Some(x), Some(expected)) = (
        same_code.iter().find(|x| subject_ok(x) && in_years(x.step)),
        f.level,
    ) {
        return Some(Mismatch::FindingLevel {
            code,
            reported: x.level,
            expected,
        });
    }
    if same_code.iter().any(|x| level_ok(x) && in_years(x.step)) {
        return Some(Mismatch::FindingSubject {
            code,
            reported: distinct(
                same_code
                    .iter()
                    .filter(|x| in_years(x.step))
                    .filter_map(|x| x.subject.clone()),
            ),
            expected: f.subject.clone().unwrap_or_default(),
        });
    }
    if !same_code.is_empty() {
        return Some(Mismatch::FindingYears {
            code,
            expected: f.year,
            reported: distinct(same_code.iter().map(|x| x.step)),
        });
    }
    Some(Mismatch::FindingMissing {
        code,
        reported: distinct(
            e.outcome
                .findings
                .iter()
                .filter(|x| x.step.is_none_or(|s| years.contains(&s)))
                .map(|x| x.code.clone()),
        ),
    })
}

/// Every difference between what the case expects and the outcome.
pub fn compare(case: &Case, e: &Evaluation) -> Vec<Mismatch> {
    let all_years: Vec<i32> = e.outcome.steps.iter().map(|s| s.year).collect();
    let years = case.years.clone().unwrap_or_else(|| all_years.clone());
    let mut out = Vec::new();
    for &year in &years {
        if !all_years.contains(&year) {
            out.push(Mismatch::YearOutsideHorizon { year });
        }
    }
    let step = |year: i32| e.outcome.steps.iter().find(|s| s.year == year);
    let trace = |year: i32| e.trace.steps.iter().find(|s| s.year == year);
    let produced: BTreeSet<&str> = e
        .outcome
        .steps
        .iter()
        .flat_map(|s| s.metrics.keys().map(String::as_str))
        .collect();
    let within = |expected: f64, actual: Option<f64>| match actual {
        Some(a) => case.tolerance.accepts(expected, a),
        None => expected == 0.0,
    };
    for (name, value) in &case.expect.metrics {
        // A metric no step has is a typo or a rule that never ran, not a zero.
        if !produced.contains(name.as_str()) {
            out.push(Mismatch::MetricNotProduced {
                name: name.clone(),
                hint: gil_model::diag::did_you_mean(name, produced.iter().copied())
                    .map(str::to_string),
            });
            continue;
        }
        for (year, expected) in expected_by_year(value, &years) {
            // Produced in other years: a year without it is a year with none of it.
            let actual = step(year).and_then(|s| s.metrics.get(name).copied());
            if !within(expected, actual) {
                out.push(Mismatch::Metric {
                    name: name.clone(),
                    year,
                    expected,
                    actual,
                });
            }
        }
    }
    for f in &case.expect.flows {
        for (year, expected) in expected_by_year(&f.amount, &years) {
            let matching: Vec<f64> = trace(year)
                .map(|t| {
                    t.flows
                        .iter()
                        .filter(|x| {
                            let names = &e.trace.names;
                            names.name(x.from) == f.from
                                && names.name(x.to) == f.to
                                && f.kind.is_none_or(|k: FlowKind| x.kind == k)
                                && f.via.as_deref().is_none_or(|v| names.opt(x.via) == Some(v))
                                && f.project
                                    .as_deref()
                                    .is_none_or(|p| names.opt(x.project) == Some(p))
                        })
                        .map(|x| x.amount)
                        .collect()
                })
                .unwrap_or_default();
            let actual = (!matching.is_empty()).then(|| matching.iter().sum());
            if !within(expected, actual) {
                out.push(Mismatch::Flow {
                    from: f.from.clone(),
                    to: f.to.clone(),
                    via: f.via.clone(),
                    year,
                    expected,
                    actual,
                });
            }
        }
    }
    for f in &case.expect.findings {
        out.extend(finding_mismatch(f, e, &years));
    }
    for code in &case.expect.no_findings {
        if let Some(x) = e
            .outcome
            .findings
            .iter()
            .find(|x| &x.code == code && x.step.is_none_or(|s| years.contains(&s)))
        {
            out.push(Mismatch::FindingUnexpected {
                code: code.clone(),
                message: x.message.clone(),
            });
        }
    }
    for r in &case.expect.roles {
        let holds = e
            .outcome
            .roles
            .iter()
            .filter(|p| p.project == r.project)
            .flat_map(|p| &p.participants)
            .any(|p| p.actor == r.actor && p.roles.contains(&r.role));
        if !holds {
            out.push(Mismatch::Role {
                project: r.project.clone(),
                actor: r.actor.clone(),
                role: r.role,
            });
        }
    }
    out
}
