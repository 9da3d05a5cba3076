//! Scenario discovery with PRIM (Friedman and Fisher's Patient Rule Induction Method,
//! as EMA Workbench uses it): the boxes of parameter ranges in which the runs of
//! interest — a target missed — are concentrated.
//!
//! A box starts as every parameter's whole range. Each peel removes about `alpha` of
//! the runs still inside, from the low or the high end of one parameter, whichever
//! leaves the highest share of runs of interest; peeling stops when fewer than
//! `mass_min` of all runs remain. Of the boxes on that trajectory whose density
//! reaches `threshold` (all of them, when none does), the one kept balances coverage
//! and density best (their harmonic mean); EMA Workbench leaves that choice to its
//! user, on the same trade-off curve. Its runs are then set aside and the next box is
//! sought among the rest, as EMA Workbench does.
//!
//! For each box: **coverage** — the share of all runs of interest inside it;
//! **density** — the share of runs inside it that are of interest; **mass** — the
//! share of all runs inside it. Pasting (growing a box back) is not done.

use serde::Serialize;

#[derive(Debug, Clone, Copy)]
pub struct PrimOptions {
    /// The share of a box's runs one peel removes.
    pub alpha: f64,
    /// Peeling stops below this share of all runs.
    pub mass_min: f64,
    /// The density a kept box should reach.
    pub threshold: f64,
    /// Boxes to look for.
    pub max_boxes: usize,
}

impl Default for PrimOptions {
    fn default() -> Self {
        PrimOptions {
            alpha: 0.05,
            mass_min: 0.05,
            threshold: 0.8,
            max_boxes: 3,
        }
    }
}

/// A parameter's range in a box, listed when it is narrower than the runs' range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Limit {
    pub parameter: String,
    pub low: f64,
    pub high: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrimBox {
    /// Only the parameters the box restricts.
    pub limits: Vec<Limit>,
    pub coverage: f64,
    pub density: f64,
    pub mass: f64,
    /// Runs inside the box, and of those, the runs of interest.
    pub runs: usize,
    pub of_interest: usize,
    /// Peels from the whole range to this box.
    pub peels: usize,
}

/// Where each peel of a box search went (for a trade-off plot of coverage against
/// density).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrajectoryPoint {
    pub coverage: f64,
    pub density: f64,
    pub mass: f64,
    pub restricted: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Discovery {
    /// What the runs of interest are (`target:<project>:<metric>` missed).
    pub of_interest: String,
    /// Runs with a value for the target (failed runs are left out).
    pub runs: usize,
    pub runs_of_interest: usize,
    pub alpha: f64,
    pub mass_min: f64,
    pub threshold: f64,
    pub boxes: Vec<PrimBox>,
    /// The first box's peeling trajectory.
    pub trajectory: Vec<TrajectoryPoint>,
}

/// Box limits per parameter.
type Bounds = Vec<(f64, f64)>;

fn inside(row: &[f64], bounds: &Bounds) -> bool {
    row.iter()
        .zip(bounds)
        .all(|(v, (lo, hi))| *v >= *lo && *v <= *hi)
}

/// Runs PRIM over `rows` (one value per parameter) where `interest[i]` marks the runs
/// of interest.
pub fn prim(
    rows: &[Vec<f64>],
    interest: &[bool],
    parameters: &[String],
    options: PrimOptions,
) -> (Vec<PrimBox>, Vec<TrajectoryPoint>) {
    let n = rows.len();
    let total_interest = interest.iter().filter(|b| **b).count();
    let k = parameters.len();
    if n == 0 || total_interest == 0 || k == 0 {
        return (Vec::new(), Vec::new());
    }
    let full: Bounds = (0..k)
        .map(|j| {
            rows.iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), r| {
                    (lo.min(r[j]), hi.max(r[j]))
                })
        })
        .collect();
    let mut remaining: Vec<usize> = (0..n).collect();
    let mut boxes = Vec::new();
    let mut first_trajectory = Vec::new();
    while boxes.len() < options.max_boxes {
        let left_interest = remaining.iter().filter(|&&i| interest[i]).count();
        if left_interest == 0 {
            break;
        }
        let (chosen, trajectory) = peel(
            rows,
            interest,
            &remaining,
            &full,
            n,
            total_interest,
            options,
        );
        if first_trajectory.is_empty() {
            first_trajectory = trajectory;
        }
        let Some((bounds, peels)) = chosen else {
            break;
        };
        let members: Vec<usize> = remaining
            .iter()
            .copied()
            .filter(|&i| inside(&rows[i], &bounds))
            .collect();
        let of_interest = members.iter().filter(|&&i| interest[i]).count();
        let density = of_interest as f64 / members.len().max(1) as f64;
        // A later box that is no denser than the runs around it says nothing.
        if !boxes.is_empty() && density < options.threshold {
            break;
        }
        boxes.push(PrimBox {
            limits: (0..k)
                .filter(|&j| bounds[j] != full[j])
                .map(|j| Limit {
                    parameter: parameters[j].clone(),
                    low: bounds[j].0,
                    high: bounds[j].1,
                })
                .collect(),
            coverage: of_interest as f64 / total_interest as f64,
            density,
            mass: members.len() as f64 / n as f64,
            runs: members.len(),
            of_interest,
            peels,
        });
        let mut taken = vec![false; n];
        members.iter().for_each(|&i| taken[i] = true);
        remaining.retain(|&i| !taken[i]);
    }
    (boxes, first_trajectory)
}

/// One box search among `remaining`: the chosen box (bounds, peels) and the trajectory.
// `j` is a parameter (a column of every row), not an index into one slice.
#[allow(clippy::needless_range_loop)]
fn peel(
    rows: &[Vec<f64>],
    interest: &[bool],
    remaining: &[usize],
    full: &Bounds,
    n: usize,
    total_interest: usize,
    options: PrimOptions,
) -> (Option<(Bounds, usize)>, Vec<TrajectoryPoint>) {
    let k = full.len();
    let mut bounds = full.clone();
    let mut members: Vec<usize> = remaining.to_vec();
    let point = |members: &[usize], bounds: &Bounds| {
        let hits = members.iter().filter(|&&i| interest[i]).count();
        TrajectoryPoint {
            coverage: hits as f64 / total_interest as f64,
            density: hits as f64 / members.len().max(1) as f64,
            mass: members.len() as f64 / n as f64,
            restricted: (0..k).filter(|&j| bounds[j] != full[j]).count(),
        }
    };
    let mut trajectory = vec![point(&members, &bounds)];
    let mut boxes = vec![bounds.clone()];
    loop {
        let m = members.len();
        let remove = ((options.alpha * m as f64).ceil() as usize).max(1);
        // (density after, members after, dimension, side, new limit)
        let mut best: Option<(f64, usize, usize, bool, f64)> = None;
        for j in 0..k {
            let mut values: Vec<f64> = members.iter().map(|&i| rows[i][j]).collect();
            values.sort_by(f64::total_cmp);
            if remove >= values.len() {
                continue;
            }
            for high in [false, true] {
                let limit = if high {
                    values[values.len() - 1 - remove]
                } else {
                    values[remove]
                };
                let kept: Vec<usize> = members
                    .iter()
                    .copied()
                    .filter(|&i| {
                        let v = rows[i][j];
                        if high {
                            v <= limit
                        } else {
                            v >= limit
                        }
                    })
                    .collect();
                if kept.len() == m || kept.is_empty() {
                    continue;
                }
                let density =
                    kept.iter().filter(|&&i| interest[i]).count() as f64 / kept.len() as f64;
                let better = match best {
                    None => true,
                    Some((d, size, ..)) => density > d || (density == d && kept.len() > size),
                };
                if better {
                    best = Some((density, kept.len(), j, high, limit));
                }
            }
        }
        let Some((_, size, j, high, limit)) = best else {
            break;
        };
        if (size as f64) < options.mass_min * n as f64 {
            break;
        }
        if high {
            bounds[j].1 = limit;
        } else {
            bounds[j].0 = limit;
        }
        members.retain(|&i| inside(&rows[i], &bounds));
        trajectory.push(point(&members, &bounds));
        boxes.push(bounds.clone());
    }
    // Among the boxes dense enough (all of them, when none is), the one that balances
    // coverage and density best: their harmonic mean, as recall and precision are
    // balanced; the earlier (larger) box on a tie.
    let balance = |p: &TrajectoryPoint| {
        if p.coverage + p.density == 0.0 {
            0.0
        } else {
            2.0 * p.coverage * p.density / (p.coverage + p.density)
        }
    };
    let pick = |dense_only: bool| {
        trajectory
            .iter()
            .enumerate()
            .filter(|(_, p)| !dense_only || p.density >= options.threshold)
            .max_by(|a, b| balance(a.1).total_cmp(&balance(b.1)).then(b.0.cmp(&a.0)))
            .map(|(i, _)| i)
    };
    let chosen = pick(true).or_else(|| pick(false));
    (chosen.map(|i| (boxes[i].clone(), i)), trajectory)
}

/// PRIM over a sweep's rows: the runs of interest are those in which the target
/// column `target` (`target:<project>:<metric>`) is missed.
pub fn discover(
    layout: &crate::results::Layout,
    rows: &[crate::results::RunRow],
    target: &str,
    options: PrimOptions,
) -> Result<Discovery, String> {
    let column = layout
        .targets
        .iter()
        .position(|t| t.name == target || format!("{}:{}", t.project, t.metric) == target)
        .ok_or_else(|| {
            let names: Vec<String> = layout
                .targets
                .iter()
                .map(|t| format!("{}:{}", t.project, t.metric))
                .collect();
            if names.is_empty() {
                "the sweep keeps no targets; add `targets` to its outputs and plan again"
                    .to_string()
            } else {
                format!(
                    "the sweep keeps no target `{target}`; it keeps {}",
                    names.join(", ")
                )
            }
        })?;
    let name = layout.targets[column].name.clone();
    let (x, interest): (Vec<Vec<f64>>, Vec<bool>) = rows
        .iter()
        .filter_map(|r| r.targets[column].map(|met| (r.parameters.clone(), !met)))
        .unzip();
    let (boxes, trajectory) = prim(&x, &interest, &layout.parameters, options);
    Ok(Discovery {
        of_interest: format!("{name} missed"),
        runs: x.len(),
        runs_of_interest: interest.iter().filter(|b| **b).count(),
        alpha: options.alpha,
        mass_min: options.mass_min,
        threshold: options.threshold,
        boxes,
        trajectory,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use rand_core::{RngCore, SeedableRng};

    #[test]
    fn prim_finds_the_corner_where_a_target_is_missed() {
        // Misses where x1 > 0.7 and x2 < 0.4; x3 does not matter.
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut u = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let rows: Vec<Vec<f64>> = (0..4000).map(|_| vec![u(), u(), u()]).collect();
        let interest: Vec<bool> = rows.iter().map(|r| r[0] > 0.7 && r[1] < 0.4).collect();
        let names: Vec<String> = ["x1", "x2", "x3"].map(String::from).to_vec();
        let (boxes, trajectory) = prim(&rows, &interest, &names, PrimOptions::default());
        assert!(trajectory.len() > 5);
        let b = &boxes[0];
        assert!(b.density >= 0.8, "{b:?}");
        assert!(b.coverage > 0.8, "{b:?}");
        let params: Vec<&str> = b.limits.iter().map(|l| l.parameter.as_str()).collect();
        assert_eq!(params, ["x1", "x2"], "{b:?}");
        assert!((b.limits[0].low - 0.7).abs() < 0.05, "{b:?}");
        assert!((b.limits[1].high - 0.4).abs() < 0.05, "{b:?}");
    }

    #[test]
    fn nothing_of_interest_means_no_box() {
        let rows = vec![vec![0.0], vec![1.0]];
        let (boxes, _) = prim(
            &rows,
            &[false, false],
            &["x".into()],
            PrimOptions::default(),
        );
        assert!(boxes.is_empty());
    }
}
