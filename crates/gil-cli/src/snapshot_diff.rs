//! What changed between a recorded outcome snapshot and the new outcome, by name: each
//! metric whose value moved (per year, with the % change), each finding that appeared
//! or went away, and how many other lines differ. One parameter change otherwise shows
//! as dozens of raw YAML hunks; `gil snapshot --diff` still prints those.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value;

/// How far a number may move and still count as unchanged, relative to the larger of
/// the two (`|a − b| ≤ rel × max(|a|, |b|)`): one bound for every number of the
/// document, and bounds for named metrics (in every year) that replace it there.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tolerance {
    pub all: f64,
    pub metrics: BTreeMap<String, f64>,
}

impl Tolerance {
    /// From `--tolerance` values: `REL` (every number) or `METRIC=REL`.
    pub fn parse(specs: &[String]) -> Result<Self, String> {
        let mut tolerance = Tolerance::default();
        for spec in specs {
            let (name, rel) = match spec.split_once('=') {
                Some((name, rel)) => (Some(name.trim()), rel),
                None => (None, spec.as_str()),
            };
            let rel: f64 = rel
                .trim()
                .parse()
                .ok()
                .filter(|r: &f64| r.is_finite() && *r >= 0.0)
                .ok_or_else(|| {
                    format!("--tolerance `{spec}`: expected REL or METRIC=REL, REL a number ≥ 0 (e.g. 1e-6)")
                })?;
            match name {
                Some("") => return Err(format!("--tolerance `{spec}`: the metric name is empty")),
                Some(name) => {
                    tolerance.metrics.insert(name.to_string(), rel);
                }
                None => tolerance.all = rel,
            }
        }
        Ok(tolerance)
    }

    fn close(&self, a: f64, b: f64, metric: Option<&str>) -> bool {
        let rel = metric
            .and_then(|m| self.metrics.get(m))
            .copied()
            .unwrap_or(self.all);
        a == b || (a - b).abs() <= rel * a.abs().max(b.abs())
    }
}

/// Whether two outcome documents are the same but for numbers within `tolerance`
/// (false when either is not YAML).
pub fn same_within(old: &str, new: &str, tolerance: &Tolerance) -> bool {
    match (
        serde_yaml::from_str::<Value>(old),
        serde_yaml::from_str::<Value>(new),
    ) {
        (Ok(old), Ok(new)) => alike(&old, &new, tolerance, &[]),
        _ => false,
    }
}

/// Structural equality, numbers within the tolerance; `path` is the keys above (a
/// metric is the value at `steps / [i] / metrics / NAME`).
fn alike(a: &Value, b: &Value, tolerance: &Tolerance, path: &[&str]) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => {
                let metric = match path {
                    [.., "metrics", name] => Some(*name),
                    _ => None,
                };
                tolerance.close(x, y, metric)
            }
            _ => x == y,
        },
        (Value::Mapping(x), Value::Mapping(y)) => {
            x.len() == y.len()
                && x.iter().all(|(k, v)| {
                    y.get(k).is_some_and(|w| {
                        let mut below = path.to_vec();
                        below.push(k.as_str().unwrap_or(""));
                        alike(v, w, tolerance, &below)
                    })
                })
        }
        (Value::Sequence(x), Value::Sequence(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| alike(v, w, tolerance, path))
        }
        _ => a == b,
    }
}

/// The changes by name, or `None` when either document is not an outcome (an old or
/// hand-edited snapshot): the caller then shows the raw diff. Metric changes within
/// `tolerance` are left out.
pub fn named_changes(old: &str, new: &str, tolerance: &Tolerance) -> Option<String> {
    let old: Value = serde_yaml::from_str(old).ok()?;
    let new: Value = serde_yaml::from_str(new).ok()?;
    let (old_metrics, new_metrics) = (metrics(&old)?, metrics(&new)?);
    let mut out = String::new();
    let keys: BTreeSet<&(String, i64)> = old_metrics.keys().chain(new_metrics.keys()).collect();
    // Per metric, its changed years; consecutive years with the same change share a line.
    let mut runs: Vec<Run<'_>> = Vec::new();
    for key @ (name, year) in keys {
        let (before, after) = (old_metrics.get(key).copied(), new_metrics.get(key).copied());
        let close = match (before, after) {
            (Some(b), Some(a)) => tolerance.close(b, a, Some(name)),
            (b, a) => b == a,
        };
        if close {
            continue;
        }
        match runs.last_mut() {
            Some((n, _, last, b, a))
                if n == name && *last + 1 == *year && *b == before && *a == after =>
            {
                *last = *year;
            }
            _ => runs.push((name, *year, *year, before, after)),
        }
    }
    let changed = runs.len();
    for (name, first, last, before, after) in runs {
        let shown = |v: Option<f64>| v.map_or("—".to_string(), gil_report::human);
        let change = match (before, after) {
            (Some(b), Some(a)) if b != 0.0 => format!(" ({:+.1}%)", 100.0 * (a - b) / b.abs()),
            _ => String::new(),
        };
        let years = if first == last {
            first.to_string()
        } else {
            format!("{first}–{last}")
        };
        out.push_str(&format!(
            "  metric {name} in {years}: {} → {}{change}\n",
            shown(before),
            shown(after)
        ));
    }
    let (old_findings, new_findings) = (findings(&old), findings(&new));
    for gone in old_findings.difference(&new_findings) {
        out.push_str(&format!("  finding gone: {gone}\n"));
    }
    for added in new_findings.difference(&old_findings) {
        out.push_str(&format!("  finding new: {added}\n"));
    }
    if changed == 0 && old_findings == new_findings {
        out.push_str("  no metric or finding changed\n");
    }
    Some(out)
}

/// A metric's change over consecutive years: name, first and last year, before, after.
type Run<'a> = (&'a str, i64, i64, Option<f64>, Option<f64>);

/// Every step's metrics: (name, year) → value.
fn metrics(doc: &Value) -> Option<BTreeMap<(String, i64), f64>> {
    let mut out = BTreeMap::new();
    for step in doc.get("steps")?.as_sequence()? {
        let year = step.get("year")?.as_i64()?;
        let Some(metrics) = step.get("metrics").and_then(Value::as_mapping) else {
            continue;
        };
        for (name, value) in metrics {
            if let (Some(name), Some(value)) = (name.as_str(), value.as_f64()) {
                out.insert((name.to_string(), year), value);
            }
        }
    }
    Some(out)
}

/// Every finding as one line: level, code, subject and year, message.
fn findings(doc: &Value) -> BTreeSet<String> {
    let text = |f: &Value, key: &str| f.get(key).and_then(Value::as_str).unwrap_or("").to_string();
    doc.get("findings")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .map(|f| {
            let mut place: Vec<String> = Vec::new();
            let subject = text(f, "subject");
            if !subject.is_empty() {
                place.push(subject);
            }
            if let Some(step) = f.get("step").and_then(Value::as_i64) {
                place.push(step.to_string());
            }
            let place = if place.is_empty() {
                String::new()
            } else {
                format!(" ({})", place.join(", "))
            };
            format!(
                "{} {}{place}: {}",
                text(f, "level"),
                text(f, "code"),
                text(f, "message")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{named_changes, same_within, Tolerance};

    #[test]
    fn metrics_and_findings_are_named_with_their_change() {
        let exact = Tolerance::default();
        let old = "steps:\n- year: 2026\n  metrics:\n    a: 100.0\n    b: 5.0\nfindings:\n- level: warn\n  code: x.low\n  subject: s\n  step: 2026\n  message: low\n";
        let new =
            "steps:\n- year: 2026\n  metrics:\n    a: 90.0\n    b: 5.0\n    c: 1.0\nfindings: []\n";
        assert_eq!(
            named_changes(old, new, &exact).unwrap(),
            "  metric a in 2026: 100 → 90 (-10.0%)\n  metric c in 2026: — → 1\n  finding gone: warn x.low (s, 2026): low\n"
        );
        assert_eq!(named_changes("not: [an outcome", new, &exact), None);
        let years = |a: f64| {
            format!("steps:\n- year: 2026\n  metrics:\n    a: {a}\n- year: 2027\n  metrics:\n    a: {a}\n")
        };
        assert_eq!(
            named_changes(&years(1.0), &years(2.0), &exact).unwrap(),
            "  metric a in 2026–2027: 1 → 2 (+100.0%)\n"
        );
    }

    #[test]
    fn numbers_within_the_tolerance_are_the_same() {
        let doc = |a: f64, l: f64| {
            format!("steps:\n- year: 2026\n  metrics:\n    a: {a}\n  ledger: {{ x: {l} }}\n")
        };
        let none = Tolerance::default();
        let loose = Tolerance::parse(&["1e-6".to_string()]).unwrap();
        let only_a = Tolerance::parse(&["a=0.1".to_string()]).unwrap();
        assert!(!same_within(&doc(1.0, 5.0), &doc(1.0000001, 5.0), &none));
        assert!(same_within(
            &doc(1.0, 5.0),
            &doc(1.0000001, 5.0000001),
            &loose
        ));
        assert!(same_within(&doc(1.0, 5.0), &doc(1.05, 5.0), &only_a));
        assert!(!same_within(&doc(1.0, 5.0), &doc(1.05, 5.1), &only_a));
        assert_eq!(
            named_changes(&doc(1.0, 5.0), &doc(1.05, 5.1), &only_a).unwrap(),
            "  no metric or finding changed\n"
        );
        assert!(Tolerance::parse(&["x=-1".to_string()]).is_err());
        assert!(Tolerance::parse(&["=1".to_string()]).is_err());
        assert!(Tolerance::parse(&["abc".to_string()]).is_err());
    }
}
