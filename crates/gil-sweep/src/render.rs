//! An analysis as people read it (aligned text, markdown) or as machines do (JSON).
//! Numbers have four significant digits in text; JSON keeps every digit.

use crate::analyze::{Analysis, OutputAnalysis};
use crate::discover::Discovery;

/// Four significant digits, `-` for a missing value.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "-".to_string();
    }
    if v == 0.0 {
        return "0".to_string();
    }
    let magnitude = v.abs().log10().floor() as i32;
    if !(-4..=9).contains(&magnitude) {
        return format!("{v:.3e}");
    }
    let decimals = (3 - magnitude).max(0) as usize;
    format!("{v:.decimals$}")
}

fn share(v: f64) -> String {
    if v.is_finite() {
        format!("{:.1}%", v * 100.0)
    } else {
        "-".to_string()
    }
}

/// Rows of cells as an aligned text table (`md`: a markdown table).
fn table(header: &[&str], rows: &[Vec<String>], md: bool) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| -> String {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = widths[i] - c.chars().count();
                if i == 0 {
                    format!("{c}{}", " ".repeat(pad))
                } else {
                    format!("{}{c}", " ".repeat(pad))
                }
            })
            .collect();
        if md {
            format!("| {} |\n", padded.join(" | "))
        } else {
            format!("{}\n", padded.join("  ").trim_end())
        }
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    if md {
        let rule: Vec<String> = widths
            .iter()
            .enumerate()
            .map(|(i, w)| {
                if i == 0 {
                    "-".repeat(*w)
                } else {
                    format!("{}:", "-".repeat(w.saturating_sub(1)))
                }
            })
            .collect();
        out.push_str(&format!("| {} |\n", rule.join(" | ")));
    }
    for r in rows {
        out.push_str(&line(r.clone()));
    }
    out
}

fn output_section(o: &OutputAnalysis, md: bool) -> String {
    let mut out = String::new();
    let s = &o.summary;
    out.push_str(&if md {
        format!("### `{}`\n\n", o.output)
    } else {
        format!("{}\n", o.output)
    });
    out.push_str(&table(
        &["runs", "mean", "sd", "min", "p05", "p50", "p95", "max"],
        &[vec![
            s.n.to_string(),
            num(s.mean),
            num(s.sd),
            num(s.min),
            num(s.p05),
            num(s.p50),
            num(s.p95),
            num(s.max),
        ]],
        md,
    ));
    if let Some(indices) = &o.sobol {
        out.push('\n');
        let rows: Vec<Vec<String>> = indices
            .iter()
            .map(|i| {
                vec![
                    i.parameter.clone(),
                    num(i.s1),
                    format!("±{}", num(i.s1_conf)),
                    num(i.st),
                    format!("±{}", num(i.st_conf)),
                ]
            })
            .collect();
        out.push_str(&table(&["parameter", "S1", "95%", "ST", "95%"], &rows, md));
    }
    if let Some(indices) = &o.morris {
        out.push('\n');
        let rows: Vec<Vec<String>> = indices
            .iter()
            .map(|i| {
                vec![
                    i.parameter.clone(),
                    num(i.mu),
                    num(i.mu_star),
                    format!("±{}", num(i.mu_star_conf)),
                    num(i.sigma),
                ]
            })
            .collect();
        out.push_str(&table(
            &["parameter", "mu", "mu*", "95%", "sigma"],
            &rows,
            md,
        ));
    }
    if o.dropped_groups > 0 {
        out.push_str(&format!(
            "\n{} {} left out: a run in each failed or lacked the output\n",
            o.dropped_groups,
            if o.sobol.is_some() {
                "base samples"
            } else {
                "trajectories"
            }
        ));
    }
    out
}

/// Aligned text (`md = false`) or markdown.
pub fn text(a: &Analysis, md: bool) -> String {
    let mut out = String::new();
    let head = format!(
        "sweep {}: {} design, {} runs{}",
        a.sweep,
        a.design.as_str(),
        a.runs,
        if a.failed > 0 {
            format!(", {} failed", a.failed)
        } else {
            String::new()
        }
    );
    out.push_str(&if md {
        format!("## {head}\n\n")
    } else {
        format!("{head}\n\n")
    });
    for (i, o) in a.outputs.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&output_section(o, md));
    }
    if !a.targets.is_empty() {
        out.push_str(&if md {
            "\n### Targets\n\n".to_string()
        } else {
            "\ntargets\n".to_string()
        });
        let rows: Vec<Vec<String>> = a
            .targets
            .iter()
            .map(|t| {
                vec![
                    t.target.clone(),
                    share(t.share),
                    format!("{}/{}", t.met, t.runs),
                ]
            })
            .collect();
        if a.failed > 0 {
            out.push_str(&format!(
                "(the {} failed runs count as not meeting a target)\n",
                a.failed
            ));
        }
        out.push_str(&table(&["target", "met", "runs"], &rows, md));
    }
    out
}

/// The analysis as JSON; a missing number (a constant output's index) is `null`.
pub fn json(a: &Analysis) -> String {
    let mut text = serde_json::to_string_pretty(a).unwrap_or_default();
    text.push('\n');
    text
}

/// PRIM's boxes as aligned text or markdown.
pub fn discovery_text(d: &Discovery, md: bool) -> String {
    let mut out = String::new();
    let head = format!(
        "scenario discovery: {} in {} of {} runs",
        d.of_interest, d.runs_of_interest, d.runs
    );
    out.push_str(&if md {
        format!("## {head}\n\n")
    } else {
        format!("{head}\n")
    });
    if d.boxes.is_empty() {
        out.push_str(if d.runs_of_interest == 0 {
            "\nno run misses it: there is nothing to find\n"
        } else {
            "\nno box: the runs of interest are not concentrated in any range\n"
        });
        return out;
    }
    for (i, b) in d.boxes.iter().enumerate() {
        out.push_str(&if md {
            format!("\n### Box {}\n\n", i + 1)
        } else {
            format!("\nbox {}\n", i + 1)
        });
        out.push_str(&table(
            &["coverage", "density", "mass", "runs", "of interest"],
            &[vec![
                share(b.coverage),
                share(b.density),
                share(b.mass),
                b.runs.to_string(),
                b.of_interest.to_string(),
            ]],
            md,
        ));
        out.push('\n');
        if b.limits.is_empty() {
            out.push_str("(every parameter's whole range)\n");
        } else {
            let rows: Vec<Vec<String>> = b
                .limits
                .iter()
                .map(|l| vec![l.parameter.clone(), num(l.low), num(l.high)])
                .collect();
            out.push_str(&table(&["parameter", "from", "to"], &rows, md));
        }
    }
    if d.boxes[0].density < d.threshold {
        out.push_str(&format!(
            "\nno box reaches the density threshold of {}; the densest is shown\n",
            share(d.threshold)
        ));
    }
    out
}

/// PRIM's boxes and the first box's trajectory as JSON.
pub fn discovery_json(d: &Discovery) -> String {
    let mut text = serde_json::to_string_pretty(d).unwrap_or_default();
    text.push('\n');
    text
}
