//! Designs: the parameter values of every run. A run's values depend only on the seed,
//! the design and the run's index, so a shard computes its runs without the others and
//! the merged table is the same however the runs are split.
//!
//! Each design first places a run in the unit hypercube (one coordinate per
//! parameter), then each parameter's quantile function maps its coordinate to a value.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::file::{Design, Distribution, SweepFile};

/// The random stream of one run (or of one Morris trajectory, or of one Latin
/// hypercube column): the seed picks the generator, the index picks the stream.
fn stream(seed: u64, index: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    rng
}

/// A uniform number in [0, 1) with 53 random bits.
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform index below `n` (Lemire's multiply-shift; the bias is below 2⁻³²).
fn below(rng: &mut ChaCha8Rng, n: usize) -> usize {
    (((rng.next_u64() >> 32) * n as u64) >> 32) as usize
}

/// Fisher–Yates.
fn shuffle<T>(rng: &mut ChaCha8Rng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = below(rng, i + 1);
        items.swap(i, j);
    }
}

/// Latin hypercube columns use streams far from the runs' own.
const LHS_STREAMS: u64 = 1 << 62;

/// A sweep's design, ready to give any run's values.
#[derive(Debug, Clone)]
pub struct Plan {
    pub design: Design,
    pub seed: u64,
    /// Base size (see `SweepFile::samples`).
    pub samples: usize,
    pub levels: usize,
    pub distributions: Vec<Distribution>,
    /// Latin hypercube: each parameter's stratum for each run.
    strata: Vec<Vec<u32>>,
}

impl Plan {
    pub fn new(sweep: &SweepFile) -> Plan {
        let distributions: Vec<Distribution> = sweep
            .parameters
            .iter()
            .map(|p| p.distribution.clone())
            .collect();
        let strata = if sweep.design == Design::Lhs {
            (0..distributions.len())
                .map(|j| {
                    let mut s: Vec<u32> = (0..sweep.samples as u32).collect();
                    shuffle(&mut stream(sweep.seed, LHS_STREAMS + j as u64), &mut s);
                    s
                })
                .collect()
        } else {
            Vec::new()
        };
        Plan {
            design: sweep.design,
            seed: sweep.seed,
            samples: sweep.samples,
            levels: sweep.levels,
            distributions,
            strata,
        }
    }

    pub fn parameters(&self) -> usize {
        self.distributions.len()
    }

    /// How many runs the design makes.
    pub fn runs(&self) -> usize {
        let k = self.parameters();
        match self.design {
            Design::Grid => self
                .distributions
                .iter()
                .map(|d| self.grid_points(d).len())
                .product(),
            Design::MonteCarlo | Design::Lhs => self.samples,
            Design::Sobol => self.samples * (2 * k + 2),
            Design::Morris => self.samples * (k + 1),
        }
    }

    /// The points a grid takes from one parameter.
    fn grid_points(&self, d: &Distribution) -> Vec<f64> {
        match d {
            Distribution::Values(v) => v.clone(),
            Distribution::Uniform { low, high } => {
                let n = self.levels.max(2);
                (0..n)
                    .map(|i| low + (high - low) * i as f64 / (n - 1) as f64)
                    .collect()
            }
            // Refused when the sweep file is read.
            Distribution::Normal { mean, .. } => vec![*mean],
        }
    }

    /// Run `run`'s parameter values, in the sweep file's order.
    pub fn values(&self, run: usize) -> Vec<f64> {
        match self.design {
            Design::Grid => {
                // Mixed radix, the last parameter fastest.
                let points: Vec<Vec<f64>> = self
                    .distributions
                    .iter()
                    .map(|d| self.grid_points(d))
                    .collect();
                let mut rest = run;
                let mut out = vec![0.0; points.len()];
                for (j, p) in points.iter().enumerate().rev() {
                    out[j] = p[rest % p.len()];
                    rest /= p.len();
                }
                out
            }
            _ => self
                .unit_point(run)
                .iter()
                .zip(&self.distributions)
                .map(|(u, d)| quantile(d, *u))
                .collect(),
        }
    }

    /// Run `run`'s place in the unit hypercube.
    pub fn unit_point(&self, run: usize) -> Vec<f64> {
        let k = self.parameters();
        match self.design {
            Design::Grid => Vec::new(),
            Design::MonteCarlo => {
                let mut rng = stream(self.seed, run as u64);
                (0..k).map(|_| unit(&mut rng)).collect()
            }
            Design::Lhs => {
                let mut rng = stream(self.seed, run as u64);
                (0..k)
                    .map(|j| (self.strata[j][run] as f64 + unit(&mut rng)) / self.samples as f64)
                    .collect()
            }
            Design::Sobol => {
                // Saltelli's layout: per base sample A, AB_1…AB_k, BA_1…BA_k, B.
                let per_base = 2 * k + 2;
                let (base, slot) = (run / per_base, run % per_base);
                let seed = (self.seed ^ (self.seed >> 32)) as u32;
                let a = |j: usize| sobol(base, j, seed);
                let b = |j: usize| sobol(base, k + j, seed);
                (0..k)
                    .map(|j| match slot {
                        0 => a(j),
                        s if s <= k => {
                            if j == s - 1 {
                                b(j)
                            } else {
                                a(j)
                            }
                        }
                        s if s <= 2 * k => {
                            if j == s - 1 - k {
                                a(j)
                            } else {
                                b(j)
                            }
                        }
                        _ => b(j),
                    })
                    .collect()
            }
            Design::Morris => {
                let (trajectory, step) = (run / (k + 1), run % (k + 1));
                morris_point(self.seed, self.levels, k, trajectory, step)
            }
        }
    }

    /// The Morris step in the unit hypercube: p / (2 (p − 1)).
    pub fn morris_delta(&self) -> f64 {
        self.levels as f64 / (2.0 * (self.levels as f64 - 1.0))
    }
}

/// One coordinate of the scrambled Sobol sequence, moved off the edges of [0, 1) so a
/// normal quantile stays finite.
fn sobol(index: usize, dimension: usize, seed: u32) -> f64 {
    let u = sobol_burley::sample(index as u32, dimension as u32, seed) as f64;
    u.clamp(1.0 / (1u64 << 26) as f64, 1.0 - 1.0 / (1u64 << 26) as f64)
}

/// Step `step` of a Morris trajectory (Morris 1991): a random start on the grid of
/// `levels` points, then one parameter at a time, in a random order, moved by Δ up or
/// down (a random direction, with the start chosen so the step stays in [0, 1]).
fn morris_point(seed: u64, levels: usize, k: usize, trajectory: usize, step: usize) -> Vec<f64> {
    let mut rng = stream(seed, trajectory as u64);
    let jump = levels / 2; // Δ in grid steps
    let last = levels - 1;
    let mut grid: Vec<usize> = Vec::with_capacity(k);
    let mut up: Vec<bool> = Vec::with_capacity(k);
    for _ in 0..k {
        let rising = rng.next_u64() & 1 == 1;
        // Starts from which the move stays on the grid: 0..=last-jump going up,
        // jump..=last going down.
        let start = below(&mut rng, last - jump + 1);
        grid.push(if rising { start } else { start + jump });
        up.push(rising);
    }
    let mut order: Vec<usize> = (0..k).collect();
    shuffle(&mut rng, &mut order);
    for &j in order.iter().take(step) {
        grid[j] = if up[j] {
            grid[j] + jump
        } else {
            grid[j] - jump
        };
    }
    grid.iter().map(|g| *g as f64 / last as f64).collect()
}

/// A distribution's value at `u` in [0, 1].
pub fn quantile(d: &Distribution, u: f64) -> f64 {
    match d {
        Distribution::Uniform { low, high } => low + (high - low) * u,
        Distribution::Normal { mean, sd, clip } => {
            let z = match Normal::new(0.0, 1.0) {
                Ok(n) => n.inverse_cdf(u.clamp(1e-12, 1.0 - 1e-12)),
                Err(_) => 0.0,
            };
            let v = mean + sd * z;
            match clip {
                Some([lo, hi]) => v.clamp(*lo, *hi),
                None => v,
            }
        }
        Distribution::Values(v) => {
            let i = ((u * v.len() as f64) as usize).min(v.len().saturating_sub(1));
            v.get(i).copied().unwrap_or(f64::NAN)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(design: Design, k: usize, samples: usize) -> Plan {
        Plan {
            design,
            seed: 7,
            samples,
            levels: 4,
            distributions: vec![
                Distribution::Uniform {
                    low: 0.0,
                    high: 1.0
                };
                k
            ],
            strata: if design == Design::Lhs {
                (0..k)
                    .map(|j| {
                        let mut s: Vec<u32> = (0..samples as u32).collect();
                        shuffle(&mut stream(7, LHS_STREAMS + j as u64), &mut s);
                        s
                    })
                    .collect()
            } else {
                Vec::new()
            },
        }
    }

    #[test]
    fn saltelli_rows_share_columns_with_a_and_b() {
        let p = plan(Design::Sobol, 3, 8);
        assert_eq!(p.runs(), 8 * 8);
        for base in 0..8 {
            let row = |s: usize| p.unit_point(base * 8 + s);
            let (a, b) = (row(0), row(7));
            for j in 0..3 {
                let ab = row(1 + j);
                let ba = row(4 + j);
                for i in 0..3 {
                    assert_eq!(ab[i], if i == j { b[i] } else { a[i] });
                    assert_eq!(ba[i], if i == j { a[i] } else { b[i] });
                }
            }
        }
    }

    #[test]
    fn morris_trajectories_move_one_parameter_by_delta() {
        let p = plan(Design::Morris, 4, 20);
        let delta = p.morris_delta();
        for t in 0..20 {
            let mut moved = Vec::new();
            for s in 1..5 {
                let (before, after) = (p.unit_point(t * 5 + s - 1), p.unit_point(t * 5 + s));
                let changed: Vec<usize> = (0..4).filter(|&i| before[i] != after[i]).collect();
                assert_eq!(changed.len(), 1);
                let i = changed[0];
                assert!(((after[i] - before[i]).abs() - delta).abs() < 1e-12);
                assert!((0.0..=1.0).contains(&after[i]));
                moved.push(i);
            }
            moved.sort();
            assert_eq!(moved, vec![0, 1, 2, 3]);
        }
    }

    #[test]
    fn latin_hypercube_uses_each_stratum_once() {
        let p = plan(Design::Lhs, 2, 50);
        for j in 0..2 {
            let mut strata: Vec<usize> = (0..50)
                .map(|r| (p.unit_point(r)[j] * 50.0) as usize)
                .collect();
            strata.sort();
            assert_eq!(strata, (0..50).collect::<Vec<_>>());
        }
    }

    #[test]
    fn grid_runs_every_combination_last_fastest() {
        let mut p = plan(Design::Grid, 2, 0);
        p.distributions = vec![
            Distribution::Values(vec![1.0, 2.0]),
            Distribution::Values(vec![10.0, 20.0, 30.0]),
        ];
        assert_eq!(p.runs(), 6);
        let rows: Vec<Vec<f64>> = (0..6).map(|r| p.values(r)).collect();
        assert_eq!(rows[0], vec![1.0, 10.0]);
        assert_eq!(rows[1], vec![1.0, 20.0]);
        assert_eq!(rows[5], vec![2.0, 30.0]);
    }

    #[test]
    fn normal_quantiles_and_clip() {
        let d = Distribution::Normal {
            mean: 1.3,
            sd: 0.1,
            clip: Some([1.05, 2.0]),
        };
        assert!((quantile(&d, 0.5) - 1.3).abs() < 1e-12);
        assert!((quantile(&d, 0.975) - (1.3 + 0.1 * 1.959_963_984_540_054)).abs() < 1e-9);
        assert_eq!(quantile(&d, 1e-9), 1.05);
    }

    #[test]
    fn a_run_depends_on_its_index_only() {
        let p = plan(Design::MonteCarlo, 3, 100);
        let forward: Vec<Vec<f64>> = (0..100).map(|r| p.unit_point(r)).collect();
        let backward: Vec<Vec<f64>> = (0..100).rev().map(|r| p.unit_point(r)).collect();
        assert_eq!(forward, backward.into_iter().rev().collect::<Vec<_>>());
    }
}
