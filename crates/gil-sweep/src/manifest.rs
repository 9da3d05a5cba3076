//! `DIR/manifest.json`: what a sweep folder was planned from, so every shard, on any
//! machine, evaluates the same runs, and a changed input is noticed instead of mixed in.

use std::path::{Component, Path, PathBuf};

use gil_engine::Model;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::file::{Design, SweepFile, SweptParameter};

pub const FORMAT: u32 = 1;
pub const FILE_NAME: &str = "manifest.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub gil_version: String,
    pub id: String,
    /// The sweep file, relative to the sweep folder (forward slashes).
    pub sweep_file: String,
    pub sweep_sha256: String,
    /// Every file the scenario was loaded from (includes and tables), in load order.
    pub scenario_sha256: String,
    pub rules_sha256: String,
    /// Names every input and the gil version: parts carry it, so a part from another
    /// plan is never merged.
    pub plan_sha256: String,
    pub design: Design,
    pub seed: u64,
    pub samples: usize,
    pub levels: usize,
    pub parameters: Vec<ManifestParameter>,
    pub runs: usize,
    pub shards: usize,
    /// How runs are split: shard `i` of `n` takes runs `i·R/n .. (i+1)·R/n` (rounded
    /// down), contiguous blocks in run order.
    pub shard_rule: String,
    /// The sandbox limits every run of the sweep has (part of the plan: a run that
    /// hits a limit is a row with an error, so every shard must have the same).
    pub limits: Limits,
    /// The results table's columns.
    pub layout: crate::results::Layout,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestParameter {
    pub name: String,
    pub distribution: serde_json::Value,
    pub scale: bool,
}

impl ManifestParameter {
    pub fn of(p: &SweptParameter) -> ManifestParameter {
        ManifestParameter {
            name: p.name.clone(),
            distribution: serde_json::to_value(&p.distribution).unwrap_or_default(),
            scale: p.scale,
        }
    }
}

/// The rules' sandbox limits, as planned.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    pub call_deadline_seconds: f64,
    pub rule_budget_seconds: f64,
    pub lua_memory_bytes: usize,
}

impl Limits {
    pub fn of(config: &gil_rules::SandboxConfig) -> Limits {
        Limits {
            call_deadline_seconds: config.call_deadline.as_secs_f64(),
            rule_budget_seconds: config.total_budget.as_secs_f64(),
            lua_memory_bytes: config.memory_limit,
        }
    }

    /// The limits on top of a sandbox configuration (its cancel flag and print sink).
    pub fn apply(&self, mut config: gil_rules::SandboxConfig) -> gil_rules::SandboxConfig {
        config.call_deadline = std::time::Duration::from_secs_f64(self.call_deadline_seconds);
        config.total_budget = std::time::Duration::from_secs_f64(self.rule_budget_seconds);
        config.memory_limit = self.lua_memory_bytes;
        config
    }
}

/// The content hashes of a sweep's inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashes {
    pub sweep: String,
    pub scenario: String,
    pub rules: String,
    pub plan: String,
}

fn hex(digest: impl AsRef<[u8]>) -> String {
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Each text hashed with its length first, so two lists of texts never collide by
/// moving a boundary.
fn hash_texts<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    let mut h = Sha256::new();
    for t in texts {
        h.update((t.len() as u64).to_le_bytes());
        h.update(t.as_bytes());
    }
    hex(h.finalize())
}

impl Hashes {
    pub fn of(sweep: &SweepFile, model: &Model, limits: &Limits) -> Hashes {
        let sources = &model.scenario().sources;
        let scenario = hash_texts((0..sources.len()).map(|f| sources.text(f)));
        let rules = hash_texts(model.rule_sources().iter().map(|r| r.text.as_str()));
        let sweep_hash = hash_texts([sweep.text.as_str()]);
        let limits = serde_json::to_string(limits).unwrap_or_default();
        let plan = hash_texts([
            env!("CARGO_PKG_VERSION"),
            sweep_hash.as_str(),
            scenario.as_str(),
            rules.as_str(),
            limits.as_str(),
        ]);
        Hashes {
            sweep: sweep_hash,
            scenario,
            rules,
            plan,
        }
    }
}

/// `to` relative to the folder `from`, both made absolute first; forward slashes.
pub fn relative_path(from: &Path, to: &Path) -> String {
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (from, to) = (abs(from), abs(to));
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return to.to_string_lossy().replace('\\', "/");
    }
    let mut parts: Vec<String> = std::iter::repeat_n("..".to_string(), a.len() - common).collect();
    parts.extend(
        b[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

impl Manifest {
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(FILE_NAME)
    }

    /// The sweep file, resolved against the sweep folder.
    pub fn sweep_path(&self, dir: &Path) -> PathBuf {
        dir.join(&self.sweep_file)
    }

    /// The runs shard `shard` of `shards` takes.
    pub fn shard_runs(&self, shard: usize) -> std::ops::Range<usize> {
        shard_range(self.runs, self.shards, shard)
    }
}

/// Contiguous blocks: shard `i` of `n` takes runs `i·R/n .. (i+1)·R/n`.
pub fn shard_range(runs: usize, shards: usize, shard: usize) -> std::ops::Range<usize> {
    let at = |i: usize| (i as u128 * runs as u128 / shards.max(1) as u128) as usize;
    at(shard)..at(shard + 1)
}

/// `part-IIIII-of-NNNNN.parquet`.
pub fn part_name(shard: usize, shards: usize) -> String {
    format!("part-{shard:05}-of-{shards:05}.parquet")
}

/// The shard and shard count a part file's name gives.
pub fn parse_part_name(name: &str) -> Option<(usize, usize)> {
    let rest = name.strip_prefix("part-")?.strip_suffix(".parquet")?;
    let (i, n) = rest.split_once("-of-")?;
    Some((i.parse().ok()?, n.parse().ok()?))
}

/// Shard numbers as a Slurm `--array=` list: `1,3-5,9`.
pub fn array_list(shards: &[usize]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < shards.len() {
        let start = shards[i];
        let mut end = start;
        while i + 1 < shards.len() && shards[i + 1] == end + 1 {
            i += 1;
            end = shards[i];
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    out.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_run_once_in_order() {
        for runs in [0, 1, 7, 100, 1001] {
            for shards in 1..12 {
                let mut next = 0;
                for s in 0..shards {
                    let r = shard_range(runs, shards, s);
                    assert_eq!(r.start, next);
                    next = r.end;
                }
                assert_eq!(next, runs);
            }
        }
    }

    #[test]
    fn array_lists_join_runs_of_shards() {
        assert_eq!(array_list(&[1, 3, 4, 5, 9]), "1,3-5,9");
        assert_eq!(array_list(&[0]), "0");
        assert_eq!(array_list(&[]), "");
    }

    #[test]
    fn part_names_round_trip() {
        assert_eq!(part_name(3, 12), "part-00003-of-00012.parquet");
        assert_eq!(parse_part_name(&part_name(3, 12)), Some((3, 12)));
        assert_eq!(parse_part_name("part-x-of-2.parquet"), None);
    }
}
