//! The pictures: a two-column Sankey, line charts and the power-balance chart, as
//! inline SVG.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::esc;
use super::labels::Labels;
use crate::human;
use crate::palette;

/// One band of a Sankey: (from, to) with its amount and hover text.
pub(super) struct Link {
    pub from: String,
    pub to: String,
    pub amount: f64,
    pub title: String,
    pub on_loop: bool,
}

/// The node standing for the `n` smallest payers or payees (`side`) of a Sankey.
pub(super) fn other_node(side: &str, n: usize) -> String {
    format!("{n} {OTHER} {side}")
}

const OTHER: &str = "other";

/// Whether a node name is one [`other_node`] made.
fn is_other_node(name: &str) -> bool {
    let mut words = name.splitn(3, ' ');
    let count = words.next().is_some_and(|w| w.parse::<usize>().is_ok());
    count && words.next() == Some(OTHER) && words.next().is_some()
}

/// Nodes by amount, largest first, ties by id; an "other" node last, where readers
/// look for the remainder.
pub(super) fn by_amount<'a>(m: &BTreeMap<&'a str, f64>) -> Vec<(&'a str, f64)> {
    let mut v: Vec<(&str, f64)> = m.iter().map(|(k, v)| (*k, *v)).collect();
    v.sort_by(|a, b| {
        is_other_node(a.0)
            .cmp(&is_other_node(b.0))
            .then(b.1.total_cmp(&a.1))
            .then(a.0.cmp(b.0))
    });
    v
}

/// A two-column Sankey: payers on the left, payees on the right, so loops stay drawable.
pub(super) fn sankey(links: &[Link], unit: &str, color: &str, labels: &Labels) -> String {
    let total: f64 = links.iter().map(|l| l.amount).sum();
    if total <= 0.0 {
        return String::new();
    }
    let mut out_of: BTreeMap<&str, f64> = BTreeMap::new();
    let mut into: BTreeMap<&str, f64> = BTreeMap::new();
    for l in links {
        *out_of.entry(&l.from).or_insert(0.0) += l.amount;
        *into.entry(&l.to).or_insert(0.0) += l.amount;
    }
    let left = by_amount(&out_of);
    let right = by_amount(&into);
    let rows = left.len().max(right.len()) as f64;
    let gap = 8.0;
    let bar_height = (rows * 30.0).clamp(160.0, 720.0);
    let height = bar_height + (gap + 13.0) * rows + 40.0;
    let (width, x0, x1, node_w) = (920.0, 290.0, 620.0, 12.0);
    // Proportional, but never thinner than a label: small payers stay readable.
    let scale = |v: f64| (v / total * bar_height).max(13.0);
    let place = |nodes: &[(&str, f64)]| {
        let mut y = 20.0;
        let mut pos = BTreeMap::new();
        for (id, v) in nodes {
            pos.insert(id.to_string(), (y, scale(*v)));
            y += scale(*v) + gap;
        }
        pos
    };
    let lpos = place(&left);
    let rpos = place(&right);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0}" viewBox="0 0 {width} {height:.0}" role="img">"#
    );
    // Bands: stack each node's links in the order of the node at the other end.
    let rank_r: BTreeMap<&str, usize> = right
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (*k, i))
        .collect();
    let rank_l: BTreeMap<&str, usize> =
        left.iter().enumerate().map(|(i, (k, _))| (*k, i)).collect();
    let mut sorted: Vec<&Link> = links.iter().filter(|l| l.amount > 0.0).collect();
    sorted.sort_by_key(|l| (rank_l[l.from.as_str()], rank_r[l.to.as_str()]));
    let mut left_used: BTreeMap<&str, f64> = BTreeMap::new();
    let mut right_used: BTreeMap<&str, f64> = BTreeMap::new();
    let mut by_right: Vec<&Link> = sorted.clone();
    by_right.sort_by_key(|l| (rank_r[l.to.as_str()], rank_l[l.from.as_str()]));
    let mut right_offset: BTreeMap<(&str, &str), f64> = BTreeMap::new();
    for l in &by_right {
        let (ry, rh) = rpos[&l.to];
        let used = right_used.entry(&l.to).or_insert(0.0);
        let node_total = into[l.to.as_str()];
        right_offset.insert((&l.from, &l.to), ry + *used);
        *used += rh * l.amount / node_total;
    }
    for l in &sorted {
        let (ly, lh) = lpos[&l.from];
        let (_, rh) = rpos[&l.to];
        let used = left_used.entry(&l.from).or_insert(0.0);
        let thick_l = lh * l.amount / out_of[l.from.as_str()];
        let thick_r = rh * l.amount / into[l.to.as_str()];
        let ya = ly + *used;
        *used += thick_l;
        let yb = right_offset[&(l.from.as_str(), l.to.as_str())];
        let (ax, bx) = (x0 + node_w, x1);
        let mx = (ax + bx) / 2.0;
        let fill = if l.on_loop { palette::LOOP } else { color };
        let _ = write!(
            svg,
            r#"<path d="M{ax:.1},{ya:.1} C{mx:.1},{ya:.1} {mx:.1},{yb:.1} {bx:.1},{yb:.1} L{bx:.1},{:.1} C{mx:.1},{:.1} {mx:.1},{:.1} {ax:.1},{:.1} Z" fill="{fill}" fill-opacity="{}"><title>{}</title></path>"#,
            yb + thick_r,
            yb + thick_r,
            ya + thick_l,
            ya + thick_l,
            if l.on_loop { "0.6" } else { "0.38" },
            esc(&l.title)
        );
    }
    for (id, (y, h)) in &lpos {
        let _ = write!(
            svg,
            r##"<rect x="{x0}" y="{y:.1}" width="{node_w}" height="{h:.1}" fill="#14213d"><title>{}</title></rect><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="12">{} <tspan fill="#5b6475">{}</tspan></text>"##,
            esc(&labels.full(id)),
            x0 - 6.0,
            y + h / 2.0 + 4.0,
            esc(&labels.short(id)),
            esc(&human(out_of[id.as_str()]))
        );
    }
    for (id, (y, h)) in &rpos {
        let _ = write!(
            svg,
            r##"<rect x="{x1}" y="{y:.1}" width="{node_w}" height="{h:.1}" fill="#14213d"><title>{}</title></rect><text x="{:.1}" y="{:.1}" font-size="12">{} <tspan fill="#5b6475">{}</tspan></text>"##,
            esc(&labels.full(id)),
            x1 + node_w + 6.0,
            y + h / 2.0 + 4.0,
            esc(&labels.short(id)),
            esc(&human(into[id.as_str()]))
        );
    }
    let _ = write!(
        svg,
        r##"<text x="{x0}" y="12" font-size="11" fill="#5b6475">payers ({})</text><text x="{x1}" y="12" font-size="11" fill="#5b6475">payees</text></svg>"##,
        esc(unit)
    );
    svg
}

/// Round axis ticks covering `lo..=hi` and 0: steps of 1, 2, 2.5 or 5 × 10^k, about
/// four of them. The first and last ticks are the ends of the axis.
pub(super) fn round_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let finite = |v: f64| if v.is_finite() { v } else { 0.0 };
    let (lo, mut hi) = (finite(lo).min(0.0), finite(hi).max(0.0));
    if hi - lo <= 0.0 {
        hi = 1.0; // nothing to show: a unit axis
    }
    let span = hi - lo;
    let rough = span / 4.0;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= rough)
        .unwrap_or(10.0 * magnitude);
    let below = (-lo / step - 1e-9).ceil().max(0.0) as i64;
    let above = (hi / step - 1e-9)
        .ceil()
        .max(if lo < 0.0 { 0.0 } else { 1.0 }) as i64;
    (-below..=above).map(|k| step * k as f64).collect()
}

/// A tick label: the number for people, without trailing zeros (2.5T, not 2.50T),
/// with as many decimals as the step between ticks needs (0.0025, not 0).
fn tick_label(v: f64, step: f64) -> String {
    if v.abs() < 1000.0 && step > 0.0 && step < 1.0 {
        let decimals = ((-step.log10()).ceil() as usize + 1).min(12);
        let text = format!("{v:.decimals$}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        return if text == "-0" {
            "0".into()
        } else {
            text.to_string()
        };
    }
    let text = human(v);
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number = if number.contains('.') {
        number.trim_end_matches('0').trim_end_matches('.')
    } else {
        number
    };
    format!("{number}{suffix}")
}

/// An open `<svg>` with a title, the unit above the axis and a grid line per tick.
#[allow(clippy::too_many_arguments)]
fn chart_frame(
    w: f64,
    h: f64,
    left: f64,
    right: f64,
    title: &str,
    unit: &str,
    ticks: &[f64],
    y: &dyn Fn(f64) -> f64,
) -> String {
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img">"#
    );
    let _ = write!(
        svg,
        r#"<text x="{left}" y="16" font-size="13" font-weight="600">{title}</text>"#
    );
    if !unit.is_empty() {
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="16" font-size="10" text-anchor="end" fill="#5b6475">{}</text>"##,
            w - right,
            esc(unit)
        );
    }
    let step = match ticks {
        [a, b, ..] => b - a,
        _ => 1.0,
    };
    for v in ticks {
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#e3e6ec"/><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end" fill="#5b6475">{}</text>"##,
            w - right,
            y(*v),
            y(*v),
            left - 4.0,
            y(*v) + 3.0,
            esc(&tick_label(*v, step))
        );
    }
    svg
}

/// One line of a chart: label, (year, value) points (`None` where the year has no
/// value: a gap, never a zero), colour, dashed.
pub(super) type Series<'a> = (String, Vec<(i32, Option<f64>)>, &'a str, bool);

/// A line chart.
pub(super) fn line_chart(title: &str, series: &[Series<'_>], unit: &str) -> String {
    let (w, h, left, right, top, bottom) = (420.0, 200.0, 58.0, 12.0, 26.0, 40.0);
    let years: BTreeSet<i32> = series
        .iter()
        .flat_map(|s| s.1.iter().map(|p| p.0))
        .collect();
    let (Some(&first), Some(&last)) = (years.iter().next(), years.iter().last()) else {
        return String::new();
    };
    let values = || series.iter().flat_map(|s| s.1.iter().filter_map(|p| p.1));
    let ticks = round_ticks(values().fold(0.0, f64::min), values().fold(0.0, f64::max));
    let (min, max) = (
        ticks.first().copied().unwrap_or(0.0),
        ticks.last().copied().unwrap_or(1.0),
    );
    let x = |y: i32| {
        left + (w - left - right)
            * if last == first {
                0.5
            } else {
                f64::from(y - first) / f64::from(last - first)
            }
    };
    let y = |v: f64| top + (h - top - bottom) * (1.0 - (v - min) / (max - min));
    let mut svg = chart_frame(w, h, left, right, &esc(title), unit, &ticks, &y);
    for yr in &years {
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#5b6475">{yr}</text>"##,
            x(*yr),
            h - bottom + 14.0
        );
    }
    for (i, (label, points, color, dashed)) in series.iter().enumerate() {
        let dash = if *dashed {
            r#" stroke-dasharray="5 4""#
        } else {
            ""
        };
        // One polyline per run of years with a value.
        for run in points.split(|(_, v)| v.is_none()) {
            let path: Vec<String> = run
                .iter()
                .filter_map(|(yr, v)| v.map(|v| format!("{:.1},{:.1}", x(*yr), y(v))))
                .collect();
            if path.len() > 1 {
                let _ = write!(
                    svg,
                    r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"{dash}><title>{}</title></polyline>"#,
                    path.join(" "),
                    esc(label)
                );
            }
        }
        for (yr, v) in points.iter().filter_map(|(yr, v)| v.map(|v| (yr, v))) {
            let _ = write!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{color}"><title>{} {yr}: {} {}</title></circle>"#,
                x(*yr),
                y(v),
                esc(label),
                esc(&human(v)),
                esc(unit)
            );
        }
        let lx = left + 130.0 * i as f64;
        let _ = write!(
            svg,
            r#"<rect x="{lx:.1}" y="{:.1}" width="10" height="3" fill="{color}"/><text x="{:.1}" y="{:.1}" font-size="10">{}</text>"#,
            h - 12.0,
            lx + 14.0,
            h - 8.0,
            esc(label)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// (year, demand, capacity, shortfall) in MW.
pub(super) type PowerRow = (i32, f64, f64, f64);

/// Demand against capacity per year for one region; shortfalls in red. With a reform,
/// each year has its bar beside the baseline's, outlined, with its capacity dashed.
pub(super) fn power_chart(region: &str, rows: &[PowerRow], reform: Option<&[PowerRow]>) -> String {
    let (w, h, left, top, bottom) = (420.0, 200.0, 58.0, 26.0, 40.0);
    let highest = rows
        .iter()
        .chain(reform.unwrap_or(&[]))
        .map(|r| r.1.max(r.2))
        .fold(0.0f64, f64::max);
    let ticks = round_ticks(0.0, highest);
    let max = ticks.last().copied().unwrap_or(1.0);
    let n = rows.len().max(1) as f64;
    let slot = (w - left - 12.0) / n;
    let y = |v: f64| top + (h - top - bottom) * (1.0 - v / max);
    let mut svg = chart_frame(w, h, left, 12.0, &esc(region), "MW", &ticks, &y);
    let reform_by_year: BTreeMap<i32, &PowerRow> =
        reform.unwrap_or(&[]).iter().map(|r| (r.0, r)).collect();
    let bar = |svg: &mut String, x: f64, bw: f64, row: &PowerRow, who: &str, outlined: bool| {
        let (year, demand, capacity, shortfall) = *row;
        let fill = if shortfall > 0.0 {
            "#d62728"
        } else {
            "#ff7f0e"
        };
        let style = if outlined {
            format!(r#"fill="{fill}" fill-opacity="0.25" stroke="{fill}" stroke-width="1.5""#)
        } else {
            format!(r#"fill="{fill}" fill-opacity="0.8""#)
        };
        let _ = write!(
            svg,
            r##"<rect x="{x:.1}" y="{:.1}" width="{bw:.1}" height="{:.1}" {style}><title>{who}{year}: demand {} MW, capacity {} MW{}</title></rect>"##,
            y(demand),
            (h - bottom - y(demand)).max(0.0),
            esc(&human(demand)),
            esc(&human(capacity)),
            if shortfall > 0.0 {
                format!(", {} MW short", esc(&human(shortfall)))
            } else {
                String::new()
            }
        );
        let dash = if outlined {
            r#" stroke-dasharray="4 3""#
        } else {
            ""
        };
        let _ = write!(
            svg,
            r##"<line x1="{:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#14213d" stroke-width="2.5"{dash}/>"##,
            x - 2.0,
            x + bw + 2.0,
            y(capacity),
            y(capacity)
        );
    };
    for (i, row) in rows.iter().enumerate() {
        let x = left + slot * i as f64 + slot * 0.15;
        let year = row.0;
        match reform_by_year.get(&year) {
            Some(changed) => {
                let bw = slot * 0.35;
                bar(&mut svg, x, bw, row, "baseline ", false);
                bar(&mut svg, x + bw, bw, changed, "reform ", true);
            }
            None => bar(&mut svg, x, slot * 0.7, row, "", false),
        }
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#5b6475">{year}</text>"##,
            x + slot * 0.35,
            h - bottom + 14.0
        );
    }
    let _ = write!(
        svg,
        r##"<rect x="{left}" y="{:.1}" width="10" height="8" fill="#ff7f0e"/><text x="{:.1}" y="{:.1}" font-size="10">demand</text><rect x="{:.1}" y="{:.1}" width="12" height="3" fill="#14213d"/><text x="{:.1}" y="{:.1}" font-size="10">capacity</text><rect x="{:.1}" y="{:.1}" width="10" height="8" fill="#d62728"/><text x="{:.1}" y="{:.1}" font-size="10">short</text>"##,
        h - 16.0,
        left + 14.0,
        h - 8.0,
        left + 70.0,
        h - 13.0,
        left + 86.0,
        h - 8.0,
        left + 146.0,
        h - 16.0,
        left + 160.0,
        h - 8.0
    );
    if reform.is_some() {
        let _ = write!(
            svg,
            r##"<rect x="{:.1}" y="{:.1}" width="10" height="8" fill="#ff7f0e" fill-opacity="0.25" stroke="#ff7f0e"/><text x="{:.1}" y="{:.1}" font-size="10">reform (outlined)</text>"##,
            left + 196.0,
            h - 16.0,
            left + 210.0,
            h - 8.0
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::{line_chart, round_ticks, tick_label};

    #[test]
    fn years_without_a_value_are_a_gap_not_a_zero() {
        let points = vec![
            (2026, Some(4.0)),
            (2027, None),
            (2028, Some(6.0)),
            (2029, Some(8.0)),
        ];
        let svg = line_chart("m", &[("baseline".into(), points, "#000", false)], "");
        assert_eq!(svg.matches("<circle").count(), 3, "no point for 2027");
        assert_eq!(
            svg.matches("<polyline").count(),
            1,
            "2026 stands alone; 2028–2029 are one line"
        );
        assert!(!svg.contains("2027: 0"), "2027 is not drawn as 0");
    }

    #[test]
    fn axis_ticks_are_round_numbers_that_cover_the_maximum() {
        assert_eq!(round_ticks(0.0, 27.0e9), vec![0.0, 1.0e10, 2.0e10, 3.0e10]);
        assert_eq!(round_ticks(0.0, 1.0), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(round_ticks(0.0, 0.0), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(
            round_ticks(0.0, 730.0),
            vec![0.0, 200.0, 400.0, 600.0, 800.0]
        );
        // Negative values get ticks below 0, so nothing is drawn under the frame.
        assert_eq!(
            round_ticks(-30.0, 70.0),
            vec![-50.0, -25.0, 0.0, 25.0, 50.0, 75.0]
        );
        assert_eq!(round_ticks(-3.0, 0.0), vec![-3.0, -2.0, -1.0, 0.0]);
        assert_eq!(tick_label(2.5e12, 5.0e11), "2.5T");
        assert_eq!(tick_label(2.0e10, 1.0e10), "20B");
        assert_eq!(tick_label(0.25, 0.25), "0.25");
        // Small steps keep their decimals: neither all `0` nor repeated labels.
        assert_eq!(tick_label(0.0025, 0.0025), "0.0025");
        assert_eq!(tick_label(0.075, 0.025), "0.075");
        assert_eq!(tick_label(0.02, 0.005), "0.02");
    }
}
