//! `gil report --html DIR` for a sweep folder: one self-contained page (inline CSS and
//! SVG, no scripts, no network) with the parameters and their distributions, a fan
//! chart per metric kept per year (the 5–95% and 25–75% bands and the median), the
//! Sobol or Morris indices as bars, the share of runs meeting each target, and PRIM's
//! boxes for every target some runs miss.

use std::fmt::Write as _;

use gil_sweep::analyze::{Analysis, OutputAnalysis, Summary};
use gil_sweep::discover::Discovery;
use gil_sweep::Manifest;

use super::esc;
use crate::human;

const BAND_OUTER: &str = "#c6dbef";
const BAND_INNER: &str = "#6baed6";
const MEDIAN: &str = "#08519c";
const FIRST: &str = "#1f77b4";
const TOTAL: &str = "#ff7f0e";

/// The page.
pub fn sweep_report(manifest: &Manifest, analysis: &Analysis, discoveries: &[Discovery]) -> String {
    let mut page = String::new();
    let title = format!("Sweep {}", manifest.id);
    super::document_head(&mut page, &title);
    let _ = write!(
        page,
        "<header><h1>{}</h1><p>{} design · {} runs{} · seed {} · planned from the sweep file <code>{}</code></p></header><main>",
        esc(&title),
        esc(manifest.design.as_str()),
        analysis.runs,
        if analysis.failed > 0 {
            format!(" ({} failed in their rules)", analysis.failed)
        } else {
            String::new()
        },
        manifest.seed,
        esc(&manifest.sweep_file)
    );
    parameters(&mut page, manifest);
    fans(&mut page, analysis);
    indices(&mut page, analysis);
    targets(&mut page, analysis);
    boxes(&mut page, discoveries);
    page.push_str("</main></body></html>\n");
    page
}

fn parameters(page: &mut String, manifest: &Manifest) {
    page.push_str("<section><h2>Parameters</h2><table><tr><th>parameter</th><th>distribution</th><th>applied as</th></tr>");
    for p in &manifest.parameters {
        let d = &p.distribution;
        let text = if let Some(u) = d.get("uniform") {
            format!("uniform on [{}, {}]", u["low"], u["high"])
        } else if let Some(n) = d.get("normal") {
            let clip = match n.get("clip").and_then(|c| c.as_array()) {
                Some(c) if c.len() == 2 => format!(", clipped to [{}, {}]", c[0], c[1]),
                _ => String::new(),
            };
            format!("normal, mean {}, sd {}{clip}", n["mean"], n["sd"])
        } else if let Some(v) = d.get("values") {
            format!("the values {v}")
        } else {
            d.to_string()
        };
        let _ = write!(
            page,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            esc(&p.name),
            esc(&text),
            if p.scale {
                "a factor on every dated value"
            } else {
                "the value in every year"
            }
        );
    }
    page.push_str("</table></section>");
}

/// The per-year outputs, grouped by metric, in the order the sweep keeps them.
fn yearly(analysis: &Analysis) -> Vec<(String, Vec<(i32, &Summary)>)> {
    let mut groups: Vec<(String, Vec<(i32, &Summary)>)> = Vec::new();
    for o in &analysis.outputs {
        let Some((metric, year)) = o.output.rsplit_once('@') else {
            continue;
        };
        let Ok(year) = year.parse::<i32>() else {
            continue;
        };
        match groups.iter_mut().find(|(m, _)| m == metric) {
            Some((_, points)) => points.push((year, &o.summary)),
            None => groups.push((metric.to_string(), vec![(year, &o.summary)])),
        }
    }
    groups
}

fn fans(page: &mut String, analysis: &Analysis) {
    let groups = yearly(analysis);
    let reduced: Vec<&OutputAnalysis> = analysis
        .outputs
        .iter()
        .filter(|o| !o.output.contains('@'))
        .collect();
    if groups.is_empty() && reduced.is_empty() {
        return;
    }
    page.push_str("<section><h2>Outputs over the runs</h2>");
    if !groups.is_empty() {
        page.push_str("<p class=\"why\">Each band holds the middle 90% (light) and 50% (dark) of the runs in that year; the line is the median.</p><div class=\"charts\">");
        for (metric, points) in &groups {
            let _ = write!(
                page,
                "<div class=\"chart\">{}</div>",
                fan_chart(metric, points)
            );
        }
        page.push_str("</div>");
    }
    if !reduced.is_empty() {
        page.push_str("<table><tr><th>output</th><th class=\"num\">runs</th><th class=\"num\">mean</th><th class=\"num\">sd</th><th class=\"num\">p05</th><th class=\"num\">median</th><th class=\"num\">p95</th></tr>");
        for o in reduced {
            let s = &o.summary;
            let _ = write!(
                page,
                "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(&o.output),
                s.n,
                esc(&human(s.mean)),
                esc(&human(s.sd)),
                esc(&human(s.p05)),
                esc(&human(s.p50)),
                esc(&human(s.p95))
            );
        }
        page.push_str("</table>");
    }
    page.push_str("</section>");
}

/// Round tick values covering [lo, hi]: steps of 1, 2 or 5 × 10ⁿ.
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).abs().max(f64::MIN_POSITIVE);
    let raw = span / 4.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| span / s <= 5.0)
        .unwrap_or(10.0 * magnitude);
    let first = (lo / step).floor() * step;
    (0..=12)
        .map(|i| first + step * f64::from(i))
        .take_while(|t| *t <= hi + step * 0.999)
        .collect()
}

fn fan_chart(metric: &str, points: &[(i32, &Summary)]) -> String {
    let (w, h, left, right, top, bottom) = (420.0, 214.0, 64.0, 12.0, 32.0, 30.0);
    let finite = |v: f64| if v.is_finite() { Some(v) } else { None };
    let values: Vec<f64> = points
        .iter()
        .flat_map(|(_, s)| [s.p05, s.p95])
        .filter_map(finite)
        .collect();
    let (Some(lo), Some(hi)) = (
        values.iter().copied().reduce(f64::min),
        values.iter().copied().reduce(f64::max),
    ) else {
        return String::new();
    };
    let marks = ticks(lo.min(0.0_f64.max(lo)), hi);
    let (y_lo, y_hi) = (
        marks.first().copied().unwrap_or(lo),
        marks.last().copied().unwrap_or(hi).max(hi),
    );
    let y_span = if y_hi > y_lo { y_hi - y_lo } else { 1.0 };
    let (first, last) = (points[0].0, points[points.len() - 1].0);
    let x = |year: i32| {
        left + (w - left - right)
            * if last == first {
                0.5
            } else {
                f64::from(year - first) / f64::from(last - first)
            }
    };
    let y = |v: f64| top + (h - top - bottom) * (1.0 - (v - y_lo) / y_span);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img"><text x="{left}" y="16" font-size="13" font-weight="600">{}</text>"#,
        esc(metric)
    );
    for t in &marks {
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#e3e6ec"/><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end" fill="#5b6475">{}</text>"##,
            w - right,
            y(*t),
            y(*t),
            left - 4.0,
            y(*t) + 3.0,
            esc(&human(*t))
        );
    }
    let band = |upper: &dyn Fn(&Summary) -> f64, lower: &dyn Fn(&Summary) -> f64| {
        let mut pts: Vec<String> = points
            .iter()
            .filter(|(_, s)| upper(s).is_finite())
            .map(|(yr, s)| format!("{:.1},{:.1}", x(*yr), y(upper(s))))
            .collect();
        pts.extend(
            points
                .iter()
                .rev()
                .filter(|(_, s)| lower(s).is_finite())
                .map(|(yr, s)| format!("{:.1},{:.1}", x(*yr), y(lower(s)))),
        );
        pts.join(" ")
    };
    let _ = write!(
        svg,
        r#"<polygon points="{}" fill="{BAND_OUTER}"><title>5–95% of runs</title></polygon><polygon points="{}" fill="{BAND_INNER}"><title>25–75% of runs</title></polygon>"#,
        band(&|s| s.p95, &|s| s.p05),
        band(&|s| s.p75, &|s| s.p25)
    );
    let median: Vec<String> = points
        .iter()
        .filter(|(_, s)| s.p50.is_finite())
        .map(|(yr, s)| format!("{:.1},{:.1}", x(*yr), y(s.p50)))
        .collect();
    let _ = write!(
        svg,
        r#"<polyline points="{}" fill="none" stroke="{MEDIAN}" stroke-width="2"/>"#,
        median.join(" ")
    );
    for (yr, s) in points {
        let _ = write!(
            svg,
            r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{MEDIAN}"><title>{yr}: median {}, 5–95% {} to {} ({} runs)</title></circle><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#5b6475">{yr}</text>"##,
            x(*yr),
            y(if s.p50.is_finite() { s.p50 } else { y_lo }),
            esc(&human(s.p50)),
            esc(&human(s.p05)),
            esc(&human(s.p95)),
            s.n,
            x(*yr),
            h - bottom + 14.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One labelled group of bars: (value, ± half-width, colour) each.
type BarRow<'a> = (String, Vec<(f64, f64, &'a str)>);

/// Horizontal bars, one group per parameter: (label, value, ± half-width, colour).
fn bars(title: &str, rows: &[BarRow<'_>], max: f64) -> String {
    let per = rows.first().map_or(1, |r| r.1.len()).max(1) as f64;
    // Room for the longest label at 11px (about 6.2px a character).
    let widest = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0) as f64;
    let left = (widest * 6.2 + 12.0).clamp(100.0, 380.0);
    let (w, right, row_h) = (left + 320.0, 60.0, 12.0 * per + 10.0);
    let h = 34.0 + row_h * rows.len() as f64;
    let max = if max > 0.0 { max } else { 1.0 };
    let x = |v: f64| left + (w - left - right) * (v.clamp(0.0, max) / max);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img"><text x="4" y="16" font-size="13" font-weight="600">{}</text>"#,
        esc(title)
    );
    for (i, (label, values)) in rows.iter().enumerate() {
        let top = 26.0 + row_h * i as f64;
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"#,
            left - 6.0,
            top + row_h / 2.0,
            esc(label)
        );
        for (k, (v, conf, color)) in values.iter().enumerate() {
            let yb = top + 12.0 * k as f64;
            let v = if v.is_finite() { *v } else { 0.0 };
            let _ = write!(
                svg,
                r#"<rect x="{left}" y="{yb:.1}" width="{:.1}" height="10" fill="{color}"><title>{}: {:.3} ± {:.3}</title></rect>"#,
                x(v) - left,
                esc(label),
                v,
                conf
            );
            if conf.is_finite() && *conf > 0.0 {
                let _ = write!(
                    svg,
                    r##"<line x1="{:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#1d2433"/>"##,
                    x(v - conf),
                    x(v + conf),
                    yb + 5.0,
                    yb + 5.0
                );
            }
            let end = if conf.is_finite() {
                x(v + conf.max(0.0))
            } else {
                x(v)
            };
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" font-size="10" fill="#5b6475">{}</text>"##,
                end + 4.0,
                yb + 9.0,
                esc(&gil_sweep::render::num(v))
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

fn indices(page: &mut String, analysis: &Analysis) {
    // For metrics kept per year, the indices of the last year; reduced outputs all.
    let last_years: Vec<&OutputAnalysis> = {
        let mut chosen: Vec<&OutputAnalysis> = Vec::new();
        for o in &analysis.outputs {
            let metric = o
                .output
                .rsplit_once('@')
                .map_or(o.output.as_str(), |(m, _)| m);
            match chosen
                .iter_mut()
                .find(|c| c.output.rsplit_once('@').is_some_and(|(m, _)| m == metric))
            {
                Some(slot) => *slot = o,
                None => chosen.push(o),
            }
        }
        chosen
    };
    let sobol: Vec<&OutputAnalysis> = last_years
        .iter()
        .copied()
        .filter(|o| o.sobol.is_some())
        .collect();
    let morris: Vec<&OutputAnalysis> = last_years
        .iter()
        .copied()
        .filter(|o| o.morris.is_some())
        .collect();
    if sobol.is_empty() && morris.is_empty() {
        return;
    }
    page.push_str("<section><h2>Which parameters matter</h2>");
    if !sobol.is_empty() {
        let _ = write!(
            page,
            "<p class=\"why\"><span class=\"swatch\" style=\"background:{FIRST}\"></span>first-order index S1 (the share of the output's variance a parameter explains alone) and <span class=\"swatch\" style=\"background:{TOTAL}\"></span>total index ST (with its interactions), with 95% bootstrap intervals.</p><div class=\"charts\">"
        );
        for o in sobol {
            let rows: Vec<BarRow<'_>> = o
                .sobol
                .iter()
                .flatten()
                .map(|i| {
                    (
                        i.parameter.clone(),
                        vec![(i.s1, i.s1_conf, FIRST), (i.st, i.st_conf, TOTAL)],
                    )
                })
                .collect();
            let _ = write!(
                page,
                "<div class=\"chart\">{}</div>",
                bars(&o.output, &rows, 1.0)
            );
        }
        page.push_str("</div>");
    }
    if !morris.is_empty() {
        let _ = write!(
            page,
            "<p class=\"why\"><span class=\"swatch\" style=\"background:{FIRST}\"></span>μ*, the mean size of a parameter's elementary effect, with its 95% bootstrap interval, and <span class=\"swatch\" style=\"background:{TOTAL}\"></span>σ, their spread (non-linearity and interactions).</p><div class=\"charts\">"
        );
        for o in morris {
            let list = o.morris.as_deref().unwrap_or_default();
            let max = list
                .iter()
                .flat_map(|i| [i.mu_star + i.mu_star_conf, i.sigma])
                .filter(|v| v.is_finite())
                .fold(0.0, f64::max);
            let rows: Vec<BarRow<'_>> = list
                .iter()
                .map(|i| {
                    (
                        i.parameter.clone(),
                        vec![(i.mu_star, i.mu_star_conf, FIRST), (i.sigma, 0.0, TOTAL)],
                    )
                })
                .collect();
            let _ = write!(
                page,
                "<div class=\"chart\">{}</div>",
                bars(&o.output, &rows, max)
            );
        }
        page.push_str("</div>");
    }
    page.push_str("</section>");
}

fn targets(page: &mut String, analysis: &Analysis) {
    if analysis.targets.is_empty() {
        return;
    }
    page.push_str("<section><h2>How likely each target is met</h2>");
    let rows: Vec<BarRow<'_>> = analysis
        .targets
        .iter()
        .map(|t| {
            let label = t
                .target
                .strip_prefix("target:")
                .unwrap_or(&t.target)
                .to_string();
            (label, vec![(t.share, 0.0, "#2f855a")])
        })
        .collect();
    let _ = write!(
        page,
        "<div class=\"chart\">{}</div><table><tr><th>target</th><th class=\"num\">met</th><th class=\"num\">runs</th></tr>",
        bars("share of runs meeting the target", &rows, 1.0)
    );
    for t in &analysis.targets {
        let _ = write!(
            page,
            "<tr><td><code>{}</code></td><td class=\"num\">{:.1}%</td><td class=\"num\">{} of {}</td></tr>",
            esc(&t.target),
            t.share * 100.0,
            t.met,
            t.runs
        );
    }
    page.push_str("</table></section>");
}

fn boxes(page: &mut String, discoveries: &[Discovery]) {
    let missed: Vec<&Discovery> = discoveries
        .iter()
        .filter(|d| d.runs_of_interest > 0)
        .collect();
    if missed.is_empty() {
        return;
    }
    page.push_str("<section><h2>Where targets are missed (PRIM)</h2><p class=\"why\">Boxes of parameter ranges in which the runs that miss a target concentrate. Coverage: the share of all missing runs inside the box; density: the share of the box's runs that miss.</p>");
    for d in missed {
        let _ = write!(
            page,
            "<h3>{} — {} of {} runs</h3>",
            esc(&d.of_interest),
            d.runs_of_interest,
            d.runs
        );
        if d.boxes.is_empty() {
            page.push_str("<p>No box: the missing runs are not concentrated in any range.</p>");
            continue;
        }
        page.push_str("<table><tr><th>box</th><th class=\"num\">coverage</th><th class=\"num\">density</th><th class=\"num\">mass</th><th>ranges</th></tr>");
        for (i, b) in d.boxes.iter().enumerate() {
            let ranges: Vec<String> = b
                .limits
                .iter()
                .map(|l| {
                    format!(
                        "<code>{}</code> {} to {}",
                        esc(&l.parameter),
                        esc(&gil_sweep::render::num(l.low)),
                        esc(&gil_sweep::render::num(l.high))
                    )
                })
                .collect();
            let _ = write!(
                page,
                "<tr><td>{}</td><td class=\"num\">{:.1}%</td><td class=\"num\">{:.1}%</td><td class=\"num\">{:.1}%</td><td>{}</td></tr>",
                i + 1,
                b.coverage * 100.0,
                b.density * 100.0,
                b.mass * 100.0,
                if ranges.is_empty() {
                    "every parameter's whole range".to_string()
                } else {
                    ranges.join("<br/>")
                }
            );
        }
        page.push_str("</table>");
    }
    page.push_str("</section>");
}

#[cfg(test)]
mod tests {
    use super::ticks;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 10.0), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let t = ticks(1043.0, 1066.0);
        assert!(t[0] <= 1043.0 && *t.last().unwrap() >= 1066.0, "{t:?}");
        assert!(
            t.windows(2).all(|w| ((w[1] - w[0]) - 5.0).abs() < 1e-9),
            "{t:?}"
        );
    }
}
