//! What changed between a recorded outcome snapshot and the new outcome, by name: each
//! metric whose value moved (per year, with the % change), each finding that appeared
//! or went away, and how many other lines differ. One parameter change otherwise shows
//! as dozens of raw YAML hunks; `gil snapshot --diff` still prints those.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value;

/// The changes by name, or `None` when either document is not an outcome (an old or
/// hand-edited snapshot): the caller then shows the raw diff.
pub fn named_changes(old: &str, new: &str) -> Option<String> {
    let old: Value = serde_yaml::from_str(old).ok()?;
    let new: Value = serde_yaml::from_str(new).ok()?;
    let (old_metrics, new_metrics) = (metrics(&old)?, metrics(&new)?);
    let mut out = String::new();
    let keys: BTreeSet<&(String, i64)> = old_metrics.keys().chain(new_metrics.keys()).collect();
    // Per metric, its changed years; consecutive years with the same change share a line.
    let mut runs: Vec<Run<'_>> = Vec::new();
    for key @ (name, year) in keys {
        let (before, after) = (old_metrics.get(key).copied(), new_metrics.get(key).copied());
        if before == after {
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
    use super::named_changes;

    #[test]
    fn metrics_and_findings_are_named_with_their_change() {
        let old = "steps:\n- year: 2026\n  metrics:\n    a: 100.0\n    b: 5.0\nfindings:\n- level: warn\n  code: x.low\n  subject: s\n  step: 2026\n  message: low\n";
        let new =
            "steps:\n- year: 2026\n  metrics:\n    a: 90.0\n    b: 5.0\n    c: 1.0\nfindings: []\n";
        assert_eq!(
            named_changes(old, new).unwrap(),
            "  metric a in 2026: 100 → 90 (-10.0%)\n  metric c in 2026: — → 1\n  finding gone: warn x.low (s, 2026): low\n"
        );
        assert_eq!(named_changes("not: [an outcome", new), None);
    }
}
