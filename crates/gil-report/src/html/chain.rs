//! The chain Sankey (`gil report --chains`): money drawn along its path, one column
//! per step (ministry → agency → startups → clouds), instead of payers against payees.
//!
//! Which links run back is found depth-first from the largest payers (a link into a
//! node still on the path closes a loop); over the other links, a node's column is the
//! longest path to it from a node they do not reach. Money that flows back to an
//! earlier column (a loop) is drawn as a band curving under the picture, so loops stay
//! visible without breaking the columns. When nodes are folded into one "other" node
//! (a national scenario), money among the folded nodes is not drawn.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::esc;
use super::labels::Labels;
use super::svg::{by_amount, Link};
use crate::human;
use crate::palette;

/// Room for the labels left of the first column and right of the last.
const MARGIN: f64 = 320.0;
/// From one column to the next: room for a label and its amount between them.
const COLUMN_STEP: f64 = 290.0;
const NODE_W: f64 = 12.0;
const GAP: f64 = 8.0;
/// Where the bands of money flowing back run, under the nodes.
const BACK_LANE: f64 = 36.0;

/// The columns of the nodes, and which links run back to an earlier or the same column.
fn columns(links: &[&Link], order: &[&str]) -> (BTreeMap<String, usize>, BTreeSet<usize>) {
    let mut next: BTreeMap<&str, Vec<(usize, &str)>> = BTreeMap::new();
    for (i, l) in links.iter().enumerate() {
        next.entry(l.from.as_str())
            .or_default()
            .push((i, l.to.as_str()));
    }
    // Depth-first from the largest payers: a link into a node still on the path
    // closes a loop.
    let mut back = BTreeSet::new();
    let mut state: BTreeMap<&str, u8> = BTreeMap::new(); // 1 on the path, 2 done
    for &root in order {
        if state.contains_key(root) {
            continue;
        }
        let mut stack: Vec<(&str, usize)> = vec![(root, 0)];
        state.insert(root, 1);
        while let Some((node, k)) = stack.pop() {
            let out = next.get(node).map_or(&[][..], Vec::as_slice);
            if let Some(&(i, to)) = out.get(k) {
                stack.push((node, k + 1));
                match state.get(to) {
                    Some(1) => {
                        back.insert(i);
                    }
                    Some(_) => {}
                    None => {
                        state.insert(to, 1);
                        stack.push((to, 0));
                    }
                }
            } else {
                state.insert(node, 2);
            }
        }
    }
    // Longest path over the forward links (they form a DAG), in topological order.
    let mut indegree: BTreeMap<&str, usize> = order.iter().map(|n| (*n, 0)).collect();
    for (i, l) in links.iter().enumerate() {
        if !back.contains(&i) {
            *indegree.entry(l.to.as_str()).or_default() += 1;
        }
    }
    let mut column: BTreeMap<String, usize> = BTreeMap::new();
    let mut ready: Vec<&str> = order
        .iter()
        .copied()
        .filter(|n| indegree.get(n) == Some(&0))
        .collect();
    ready.reverse();
    while let Some(node) = ready.pop() {
        let here = *column.entry(node.to_string()).or_insert(0);
        for &(i, to) in next.get(node).map_or(&[][..], Vec::as_slice) {
            if back.contains(&i) {
                continue;
            }
            let c = column.entry(to.to_string()).or_insert(0);
            *c = (*c).max(here + 1);
            if let Some(d) = indegree.get_mut(to) {
                *d -= 1;
                if *d == 0 {
                    ready.push(to);
                }
            }
        }
    }
    (column, back)
}

/// The chain Sankey of one year and kind; empty when nothing flows.
pub(super) fn chain_sankey(links: &[Link], unit: &str, color: &str, labels: &Labels) -> String {
    let links: Vec<&Link> = links
        .iter()
        .filter(|l| l.amount > 0.0 && l.from != l.to)
        .collect();
    if links.is_empty() {
        return String::new();
    }
    let mut out_of: BTreeMap<&str, f64> = BTreeMap::new();
    let mut into: BTreeMap<&str, f64> = BTreeMap::new();
    for l in &links {
        *out_of.entry(&l.from).or_default() += l.amount;
        *into.entry(&l.to).or_default() += l.amount;
    }
    let mut through: BTreeMap<&str, f64> = BTreeMap::new();
    for (node, v) in out_of.iter().chain(&into) {
        let t = through.entry(node).or_default();
        *t = t.max(*v);
    }
    let ranked = by_amount(&through);
    let order: Vec<&str> = ranked.iter().map(|(n, _)| *n).collect();
    let (column, back) = columns(&links, &order);
    let last = column.values().copied().max().unwrap_or(0);
    // Nodes per column, largest first.
    let mut stacks: Vec<Vec<(&str, f64)>> = vec![Vec::new(); last + 1];
    for (node, v) in &ranked {
        stacks[column[*node]].push((node, *v));
    }
    let tallest = stacks.iter().map(Vec::len).max().unwrap_or(1) as f64;
    let bar_height = (tallest * 30.0).clamp(160.0, 720.0);
    let heaviest = stacks
        .iter()
        .map(|s| s.iter().map(|(_, v)| v).sum::<f64>())
        .fold(0.0f64, f64::max);
    let scale = |v: f64| (v / heaviest * bar_height).max(13.0);
    let x_of = |c: usize| MARGIN + COLUMN_STEP * c as f64;
    let width = 2.0 * MARGIN + COLUMN_STEP * last as f64 + NODE_W;
    let mut pos: BTreeMap<&str, (f64, f64, f64)> = BTreeMap::new(); // x, y, height
    let mut bottom: f64 = 0.0;
    for (c, stack) in stacks.iter().enumerate() {
        let mut y = 20.0;
        for (node, v) in stack {
            pos.insert(node, (x_of(c), y, scale(*v)));
            y += scale(*v) + GAP;
        }
        bottom = bottom.max(y);
    }
    let has_back = !back.is_empty();
    let height = bottom + if has_back { BACK_LANE + 20.0 } else { 20.0 };
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" role="img">"#
    );
    // Each node's bands stacked in the order of the nodes at their other ends.
    let rank = |n: &str| (column[n], pos[n].1 as i64);
    let mut by_source: Vec<usize> = (0..links.len()).collect();
    by_source.sort_by_key(|&i| (rank(&links[i].from), rank(&links[i].to)));
    let mut by_target = by_source.clone();
    by_target.sort_by_key(|&i| (rank(&links[i].to), rank(&links[i].from)));
    let mut start: BTreeMap<usize, (f64, f64)> = BTreeMap::new(); // y at the source, thickness
    let mut used: BTreeMap<&str, f64> = BTreeMap::new();
    for &i in &by_source {
        let l = links[i];
        let (_, y, h) = pos[l.from.as_str()];
        let t = h * l.amount / through[l.from.as_str()];
        let u = used.entry(&l.from).or_default();
        start.insert(i, (y + *u, t));
        *u += t;
    }
    let mut end: BTreeMap<usize, (f64, f64)> = BTreeMap::new();
    let mut used: BTreeMap<&str, f64> = BTreeMap::new();
    for &i in &by_target {
        let l = links[i];
        let (_, y, h) = pos[l.to.as_str()];
        let t = h * l.amount / through[l.to.as_str()];
        let u = used.entry(&l.to).or_default();
        end.insert(i, (y + *u, t));
        *u += t;
    }
    for (i, l) in links.iter().enumerate() {
        let (ya, ta) = start[&i];
        let (yb, tb) = end[&i];
        let ax = pos[l.from.as_str()].0 + NODE_W;
        let bx = pos[l.to.as_str()].0;
        let fill = if l.on_loop { palette::LOOP } else { color };
        let opacity = if l.on_loop { "0.6" } else { "0.38" };
        if back.contains(&i) {
            // Under the picture and back: a stroke as thick as the thinner end.
            let lane = bottom + BACK_LANE / 2.0;
            let _ = write!(
                svg,
                r#"<path d="M{ax:.1},{:.1} C{:.1},{lane:.1} {:.1},{lane:.1} {bx:.1},{:.1}" fill="none" stroke="{fill}" stroke-opacity="{opacity}" stroke-width="{:.1}"><title>{} (back to an earlier step)</title></path>"#,
                ya + ta / 2.0,
                ax + 120.0,
                bx - 120.0,
                yb + tb / 2.0,
                ta.min(tb).max(1.0),
                esc(&l.title)
            );
        } else {
            let mx = (ax + bx) / 2.0;
            let _ = write!(
                svg,
                r#"<path d="M{ax:.1},{ya:.1} C{mx:.1},{ya:.1} {mx:.1},{yb:.1} {bx:.1},{yb:.1} L{bx:.1},{:.1} C{mx:.1},{:.1} {mx:.1},{:.1} {ax:.1},{:.1} Z" fill="{fill}" fill-opacity="{opacity}"><title>{}</title></path>"#,
                yb + tb,
                yb + tb,
                ya + ta,
                ya + ta,
                esc(&l.title)
            );
        }
    }
    for (node, (x, y, h)) in &pos {
        let amount = through[node];
        let (tx, anchor) = if column[*node] == 0 {
            (x - 6.0, "end")
        } else {
            (x + NODE_W + 6.0, "start")
        };
        let _ = write!(
            svg,
            r##"<rect x="{x:.1}" y="{y:.1}" width="{NODE_W}" height="{h:.1}" fill="#14213d"><title>{}</title></rect><text x="{tx:.1}" y="{:.1}" text-anchor="{anchor}" font-size="12" stroke="#fff" stroke-width="3" paint-order="stroke">{} <tspan fill="#5b6475">{}</tspan></text>"##,
            esc(&labels.full(node)),
            y + h / 2.0 + 4.0,
            esc(&labels.short(node)),
            esc(&human(amount))
        );
    }
    let _ = write!(
        svg,
        r##"<text x="{MARGIN}" y="12" font-size="11" fill="#5b6475">along the chain ({}), left to right</text></svg>"##,
        esc(unit)
    );
    svg
}
