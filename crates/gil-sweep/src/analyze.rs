//! What a sweep's results say: for every output, its distribution over the runs; for
//! a Sobol design, first-order and total indices; for a Morris design, elementary
//! effects; and the share of runs that meet each target.
//!
//! The estimators are SALib's, so its `sobol.analyze` and `morris.analyze` on the
//! table's columns give the same indices: the output is standardised, first order is
//! Saltelli et al. (2010), total order Jansen (1999), both over the variance of the A
//! and B rows; Morris effects are the output's change over Δ = p / (2 (p − 1)), signed
//! by the direction of the step. Confidence intervals are 95% bootstrap intervals,
//! given as the half-width (`±`), from resamples of the base samples or trajectories.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use serde::Serialize;

use crate::file::Design;
use crate::results::{Layout, RunRow};

/// Bootstrap resamples per interval.
pub const RESAMPLES: usize = 1000;
/// Φ⁻¹(0.975): a 95% interval's half-width in standard deviations.
const Z95: f64 = 1.959_963_984_540_054;

#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub sweep: String,
    pub design: Design,
    pub runs: usize,
    /// Runs whose rules failed (their rows carry `error`).
    pub failed: usize,
    pub outputs: Vec<OutputAnalysis>,
    pub targets: Vec<TargetShare>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutputAnalysis {
    pub output: String,
    pub summary: Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sobol: Option<Vec<SobolIndex>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub morris: Option<Vec<MorrisIndex>>,
    /// Base samples (Sobol) or trajectories (Morris) left out because a run in them
    /// failed or lacked the output.
    #[serde(skip_serializing_if = "is_zero")]
    pub dropped_groups: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Runs with a value.
    pub n: usize,
    pub mean: f64,
    pub sd: f64,
    pub min: f64,
    pub p05: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p95: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SobolIndex {
    pub parameter: String,
    pub s1: f64,
    pub s1_conf: f64,
    pub st: f64,
    pub st_conf: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct MorrisIndex {
    pub parameter: String,
    pub mu: f64,
    pub mu_star: f64,
    pub sigma: f64,
    pub mu_star_conf: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetShare {
    pub target: String,
    /// Runs in the table, failed ones included.
    pub runs: usize,
    pub met: usize,
    /// Runs whose rules failed, counted as not meeting the target.
    pub failed: usize,
    pub share: f64,
}

/// The sample quantile at `q` with linear interpolation (numpy's default).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Variance with `ddof` degrees of freedom removed.
fn variance(v: &[f64], ddof: f64) -> f64 {
    let m = mean(v);
    v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() as f64 - ddof)
}

pub fn summary(values: &[f64]) -> Summary {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    Summary {
        n,
        mean: if n == 0 { f64::NAN } else { mean(&sorted) },
        sd: if n < 2 {
            f64::NAN
        } else {
            variance(&sorted, 1.0).sqrt()
        },
        min: sorted.first().copied().unwrap_or(f64::NAN),
        p05: quantile(&sorted, 0.05),
        p25: quantile(&sorted, 0.25),
        p50: quantile(&sorted, 0.5),
        p75: quantile(&sorted, 0.75),
        p95: quantile(&sorted, 0.95),
        max: sorted.last().copied().unwrap_or(f64::NAN),
    }
}

/// A bootstrap resample of `n` indices.
fn resample(rng: &mut ChaCha8Rng, n: usize) -> Vec<usize> {
    (0..n)
        .map(|_| (((rng.next_u64() >> 32) * n as u64) >> 32) as usize)
        .collect()
}

/// The standard deviation (ddof 1) of an estimator over bootstrap resamples, × Z.
fn bootstrap(rng: &mut ChaCha8Rng, n: usize, estimate: impl Fn(&[usize]) -> f64) -> f64 {
    let estimates: Vec<f64> = (0..RESAMPLES)
        .map(|_| estimate(&resample(rng, n)))
        .collect();
    Z95 * variance(&estimates, 1.0).sqrt()
}

/// Sobol indices from one output's values in Saltelli's layout (`2k + 2` rows per
/// base sample; a base sample with any missing value is left out).
pub fn sobol(values: &[Option<f64>], parameters: &[String], seed: u64) -> (Vec<SobolIndex>, usize) {
    let k = parameters.len();
    let step = 2 * k + 2;
    let groups: Vec<&[Option<f64>]> = values.chunks_exact(step).collect();
    let kept: Vec<Vec<f64>> = groups
        .iter()
        .filter_map(|g| g.iter().copied().collect::<Option<Vec<f64>>>())
        .collect();
    let dropped = groups.len() - kept.len();
    if kept.is_empty() {
        return (Vec::new(), dropped);
    }
    // Standardised over every kept row, as SALib does.
    let all: Vec<f64> = kept.iter().flatten().copied().collect();
    let (m, sd) = (mean(&all), variance(&all, 0.0).sqrt());
    let z = |v: f64| if sd > 0.0 { (v - m) / sd } else { 0.0 };
    let a: Vec<f64> = kept.iter().map(|g| z(g[0])).collect();
    let b: Vec<f64> = kept.iter().map(|g| z(g[step - 1])).collect();
    let n = kept.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let indices = (0..k)
        .map(|j| {
            let ab: Vec<f64> = kept.iter().map(|g| z(g[1 + j])).collect();
            let first = |idx: &[usize]| {
                let y: Vec<f64> = idx.iter().flat_map(|&i| [a[i], b[i]]).collect();
                let var = variance(&y, 0.0);
                if var <= f64::EPSILON {
                    return 0.0;
                }
                idx.iter().map(|&i| b[i] * (ab[i] - a[i])).sum::<f64>() / idx.len() as f64 / var
            };
            let total = |idx: &[usize]| {
                let y: Vec<f64> = idx.iter().flat_map(|&i| [a[i], b[i]]).collect();
                let var = variance(&y, 0.0);
                if var <= f64::EPSILON {
                    return 0.0;
                }
                0.5 * idx.iter().map(|&i| (a[i] - ab[i]).powi(2)).sum::<f64>()
                    / idx.len() as f64
                    / var
            };
            let all: Vec<usize> = (0..n).collect();
            SobolIndex {
                parameter: parameters[j].clone(),
                s1: first(&all),
                s1_conf: bootstrap(&mut rng, n, first),
                st: total(&all),
                st_conf: bootstrap(&mut rng, n, total),
            }
        })
        .collect();
    (indices, dropped)
}

/// Morris elementary effects from one output's values by run index, `k + 1` runs per
/// trajectory, with each run's parameter values (to see which parameter moved, and
/// which way); a run not in the table is `None` in both.
pub fn morris(
    values: &[Option<f64>],
    inputs: &[Option<&Vec<f64>>],
    parameters: &[String],
    delta: f64,
    seed: u64,
) -> (Vec<MorrisIndex>, usize) {
    let k = parameters.len();
    let mut effects: Vec<Vec<f64>> = vec![Vec::new(); k];
    let mut dropped = 0;
    for (group, xs) in values.chunks_exact(k + 1).zip(inputs.chunks_exact(k + 1)) {
        let (Some(y), Some(xs)) = (
            group.iter().copied().collect::<Option<Vec<f64>>>(),
            xs.iter().copied().collect::<Option<Vec<&Vec<f64>>>>(),
        ) else {
            dropped += 1;
            continue;
        };
        for s in 1..=k {
            let (before, after) = (xs[s - 1], xs[s]);
            if let Some(j) = (0..k).find(|&j| before[j] != after[j]) {
                let sign = if after[j] > before[j] { 1.0 } else { -1.0 };
                effects[j].push(sign * (y[s] - y[s - 1]) / delta);
            }
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let indices = (0..k)
        .map(|j| {
            let ee = &effects[j];
            let n = ee.len();
            let mu_star =
                |idx: &[usize]| idx.iter().map(|&i| ee[i].abs()).sum::<f64>() / idx.len() as f64;
            MorrisIndex {
                parameter: parameters[j].clone(),
                mu: if n == 0 { f64::NAN } else { mean(ee) },
                mu_star: if n == 0 {
                    f64::NAN
                } else {
                    mu_star(&(0..n).collect::<Vec<_>>())
                },
                sigma: if n < 2 {
                    f64::NAN
                } else {
                    variance(ee, 1.0).sqrt()
                },
                mu_star_conf: if n == 0 {
                    f64::NAN
                } else {
                    bootstrap(&mut rng, n, mu_star)
                },
            }
        })
        .collect();
    (indices, dropped)
}

/// Analyses the rows of a sweep of `runs` runs (in run order; a merge with
/// `--allow-incomplete` leaves some out, and their Sobol base samples or Morris
/// trajectories are then dropped, never misaligned).
#[allow(clippy::too_many_arguments)]
pub fn analyze(
    id: &str,
    design: Design,
    layout: &Layout,
    rows: &[RunRow],
    runs: usize,
    morris_delta: f64,
    seed: u64,
    only: Option<&str>,
) -> Analysis {
    let failed = rows.iter().filter(|r| r.error.is_some()).count();
    let mut slot: Vec<Option<usize>> = vec![None; runs];
    for (i, r) in rows.iter().enumerate() {
        if let Some(s) = usize::try_from(r.run)
            .ok()
            .and_then(|run| slot.get_mut(run))
        {
            *s = Some(i);
        }
    }
    let outputs = layout
        .outputs
        .iter()
        .enumerate()
        .filter(|(_, o)| {
            only.is_none_or(|name| {
                o.name() == name
                    || match o {
                        crate::results::OutputColumn::Year { metric, .. }
                        | crate::results::OutputColumn::Reduced { metric, .. } => metric == name,
                    }
            })
        })
        .map(|(j, o)| {
            let present: Vec<f64> = rows.iter().filter_map(|r| r.outputs[j]).collect();
            // By run index, so a run missing from the table leaves a gap in its place.
            let column: Vec<Option<f64>> = slot
                .iter()
                .map(|s| s.and_then(|i| rows[i].outputs[j]))
                .collect();
            let mut analysis = OutputAnalysis {
                output: o.name(),
                summary: summary(&present),
                sobol: None,
                morris: None,
                dropped_groups: 0,
            };
            match design {
                Design::Sobol => {
                    let (indices, dropped) = sobol(&column, &layout.parameters, seed);
                    analysis.sobol = Some(indices);
                    analysis.dropped_groups = dropped;
                }
                Design::Morris => {
                    let inputs: Vec<Option<&Vec<f64>>> = slot
                        .iter()
                        .map(|s| s.map(|i| &rows[i].parameters))
                        .collect();
                    let (indices, dropped) =
                        morris(&column, &inputs, &layout.parameters, morris_delta, seed);
                    analysis.morris = Some(indices);
                    analysis.dropped_groups = dropped;
                }
                _ => {}
            }
            analysis
        })
        .collect();
    let targets = layout
        .targets
        .iter()
        .enumerate()
        .map(|(j, t)| {
            // A run whose rules failed meets no target: it counts, as not met.
            let met = rows.iter().filter(|r| r.targets[j] == Some(true)).count();
            TargetShare {
                target: t.name.clone(),
                runs: rows.len(),
                met,
                failed,
                share: if rows.is_empty() {
                    f64::NAN
                } else {
                    met as f64 / rows.len() as f64
                },
            }
        })
        .collect();
    Analysis {
        sweep: id.to_string(),
        design,
        runs: rows.len(),
        failed,
        outputs,
        targets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_as_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.5), 2.5);
        assert!((quantile(&v, 0.05) - 1.15).abs() < 1e-12);
        assert_eq!(quantile(&v, 1.0), 4.0);
    }

    #[test]
    fn an_additive_function_has_sobol_indices_of_its_weights() {
        // y = 2·x1 + x2 over a Saltelli layout made by hand from independent draws:
        // S1 = ST = (4/5, 1/5).
        let k = 2;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut u = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let mut values = Vec::new();
        for _ in 0..4000 {
            let a = [u(), u()];
            let b = [u(), u()];
            let f = |x: [f64; 2]| Some(2.0 * x[0] + x[1]);
            values.push(f(a));
            values.push(f([b[0], a[1]]));
            values.push(f([a[0], b[1]]));
            values.push(f([a[0], b[1]]));
            values.push(f([b[0], a[1]]));
            values.push(f(b));
        }
        let names = vec!["x1".to_string(), "x2".to_string()];
        let (s, dropped) = sobol(&values, &names, 3);
        assert_eq!(dropped, 0);
        assert_eq!(s.len(), k);
        assert!((s[0].s1 - 0.8).abs() < 0.05, "{s:?}");
        assert!((s[1].s1 - 0.2).abs() < 0.05, "{s:?}");
        assert!((s[0].st - 0.8).abs() < 0.05, "{s:?}");
        assert!((s[1].st - 0.2).abs() < 0.05, "{s:?}");
        assert!(s[0].s1_conf > 0.0 && s[0].s1_conf < 0.05);
    }
}
