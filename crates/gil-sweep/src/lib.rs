//! Sweeps: one scenario evaluated many times with parameters drawn from a design, the
//! runs split into shards that any machine (a laptop's cores, a Slurm job array, a
//! Kubernetes Indexed Job) evaluates on its own, and the merged table analysed.
//!
//! The parts, in the order a sweep goes through them:
//! - `file.rs` reads `sweep.yaml` with positioned diagnostics;
//! - `design.rs` gives any run's parameter values from (seed, design, run index);
//! - `manifest.rs` records what a sweep folder was planned from, and the shard rule;
//! - this module evaluates shards through the engine's load-once [`Model`], writing
//!   each shard's part file atomically, and merges the parts;
//! - `results.rs` is the table (Arrow ↔ Parquet, CSV);
//! - `analyze.rs` the statistics; `k8s.rs` the Kubernetes Job.

pub mod analyze;
pub mod design;
pub mod discover;
pub mod file;
pub mod k8s;
pub mod manifest;
pub mod render;
pub mod results;
mod write;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use gil_engine::{EngineError, Model, Options, Params};
use gil_model::{Dated, LoadError, Scenario};
use gil_rules::SandboxConfig;

pub use design::Plan;
pub use file::{load_sweep, load_sweep_text, Design, SweepFile};
pub use manifest::{Hashes, Manifest};
pub use results::{Layout, RunRow, TableError};

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The sweep file, the scenario or the rules have problems (rendered by the
    /// caller, with their sources).
    #[error("the sweep's inputs have problems")]
    Load(LoadError),
    /// The scenario as written fails to run, so no output can be checked.
    #[error("the scenario's baseline run fails, so the sweep cannot start: {0}")]
    Baseline(String),
    /// An input changed since `gil sweep plan`.
    #[error("{0}")]
    Stale(String),
    #[error(transparent)]
    Table(#[from] TableError),
    /// Shards are missing at merge.
    #[error("{0}")]
    Incomplete(String),
    /// A folder or an argument that does not fit the plan.
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Io(String),
    /// SIGINT or SIGTERM: the shard in progress was not written.
    #[error("interrupted: the shard in progress was not written")]
    Interrupted,
}

impl From<LoadError> for SweepError {
    fn from(e: LoadError) -> Self {
        SweepError::Load(e)
    }
}

/// A sweep ready to evaluate: the file, its design, its table's layout, and the
/// scenario loaded with its rules compiled once.
pub struct Sweep {
    pub file: SweepFile,
    pub plan: Plan,
    pub layout: Layout,
    pub model: Model,
    pub hashes: Hashes,
    pub limits: manifest::Limits,
    /// The scenario's folder as the rules' paths begin with it, taken off error
    /// texts so a row reads the same from any working directory.
    scenario_prefix: String,
}

impl Sweep {
    /// Reads the sweep file, loads its scenario with `load_scenario`, compiles the
    /// rules and runs the baseline once, to check the outputs against the metrics the
    /// scenario makes.
    pub fn open(
        path: &Path,
        config: SandboxConfig,
        options: Options,
        load_scenario: impl FnOnce(&Path) -> Result<Scenario, LoadError>,
    ) -> Result<Sweep, SweepError> {
        let file = load_sweep(path)?;
        let scenario = load_scenario(&file.scenario)?;
        let limits = manifest::Limits::of(&config);
        let model = Model::new(scenario, &[], config)?.with_options(options);
        Sweep::with_model(file, model, limits)
    }

    /// A sweep over a model already loaded (the server's): checks the file against
    /// it, runs the baseline once and lays out the table.
    pub fn with_model(
        file: SweepFile,
        model: Model,
        limits: manifest::Limits,
    ) -> Result<Sweep, SweepError> {
        // The parameters first: a baseline run that fails should not hide them.
        file.check_parameters(model.scenario())?;
        // A run keeps metrics, targets and finding counts: its outcome is built no
        // further (no flow lines, ledger totals or roles).
        let model = model.with_detail(gil_engine::Detail::Metrics);
        let scenario_prefix = match model.scenario().root_dir.to_string_lossy().as_ref() {
            "" => String::new(),
            dir => format!("{}/", dir.trim_end_matches('/')),
        };
        let evaluator = model.evaluator()?;
        let baseline = evaluator
            .evaluate(&Params::new())
            .map_err(|e| SweepError::Baseline(e.to_string()))?;
        let metrics: BTreeSet<String> = baseline
            .outcome
            .steps
            .iter()
            .flat_map(|s| s.metrics.keys().cloned())
            .collect();
        drop(evaluator);
        file.check(model.scenario(), &metrics)?;
        let plan = Plan::new(&file);
        let layout = Layout::new(&file, model.scenario());
        let hashes = Hashes::of(&file, &model, &limits);
        Ok(Sweep {
            file,
            plan,
            layout,
            model,
            hashes,
            limits,
            scenario_prefix,
        })
    }

    /// The parameter values of a run as the engine takes them: a constant replaces
    /// the parameter's whole dated value; a scale multiplies each dated value.
    pub fn params(&self, values: &[f64]) -> Params {
        self.file
            .parameters
            .iter()
            .zip(values)
            .map(|(p, &v)| {
                let dated = if p.scale {
                    match self.model.scenario().parameters.get(&p.name) {
                        Some(param) => match &param.value.value {
                            Dated::Fixed(x) => Dated::Fixed(x * v),
                            Dated::Series(points) => Dated::Series(
                                points.iter().map(|(y, s, x)| (*y, *s, x * v)).collect(),
                            ),
                        },
                        None => Dated::Fixed(v),
                    }
                } else {
                    Dated::Fixed(v)
                };
                (p.name.clone(), dated)
            })
            .collect()
    }

    /// The manifest of this sweep split into `shards` shards, planned into `dir`.
    pub fn manifest(&self, dir: &Path, shards: usize) -> Manifest {
        Manifest {
            format: manifest::FORMAT,
            gil_version: env!("CARGO_PKG_VERSION").to_string(),
            id: self.file.id.clone(),
            sweep_file: manifest::relative_path(dir, &self.sweep_path()),
            sweep_sha256: self.hashes.sweep.clone(),
            scenario_sha256: self.hashes.scenario.clone(),
            rules_sha256: self.hashes.rules.clone(),
            plan_sha256: self.hashes.plan.clone(),
            design: self.file.design,
            seed: self.file.seed,
            samples: self.file.samples,
            levels: self.file.levels,
            parameters: self
                .file
                .parameters
                .iter()
                .map(manifest::ManifestParameter::of)
                .collect(),
            runs: self.plan.runs(),
            shards,
            shard_rule: "contiguous".to_string(),
            limits: self.limits,
            layout: self.layout.clone(),
        }
    }

    fn sweep_path(&self) -> PathBuf {
        self.file
            .sources
            .path(0)
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    /// Evaluates `runs` on `threads` threads; `on_run` is told after each run.
    /// A run whose rules fail is a row with its error; an interrupted run stops the
    /// whole batch.
    pub fn evaluate(
        &self,
        runs: std::ops::Range<usize>,
        threads: usize,
        on_run: &(dyn Fn() + Sync),
    ) -> Result<Vec<RunRow>, SweepError> {
        let start = runs.start;
        let interrupted = AtomicBool::new(false);
        let rows = self.model.evaluate_many(
            runs.len(),
            threads,
            |i| {
                if interrupted.load(Ordering::Relaxed) {
                    return Params::new();
                }
                self.params(&self.plan.values(start + i))
            },
            |i, result| {
                // Stopped from outside, between rules or inside one: not a result.
                let stopped = match &result {
                    Err(EngineError::Interrupted) => true,
                    Err(EngineError::Rule(e)) => e.kind == gil_rules::RuleErrorKind::Interrupted,
                    _ => false,
                };
                if stopped {
                    interrupted.store(true, Ordering::Relaxed);
                }
                let mut row = self
                    .layout
                    .row(start + i, self.plan.values(start + i), &result);
                if let (Some(error), false) = (&mut row.error, self.scenario_prefix.is_empty()) {
                    *error = error.replace(&self.scenario_prefix, "");
                }
                on_run();
                row
            },
        )?;
        if interrupted.load(Ordering::Relaxed) {
            return Err(SweepError::Interrupted);
        }
        Ok(rows)
    }
}

/// Writes `DIR/manifest.json` for `sweep` in `shards` shards. A folder planned from
/// other inputs, or split another way, is refused while it holds results, unless
/// `force`.
pub fn plan(dir: &Path, sweep: &Sweep, shards: usize, force: bool) -> Result<Manifest, SweepError> {
    if shards == 0 {
        return Err(SweepError::Usage("--shards must be 1 or more".into()));
    }
    if dir.exists() && !dir.is_dir() {
        return Err(SweepError::Usage(format!(
            "`{}` is a file; a sweep needs a folder",
            dir.display()
        )));
    }
    // `logs/` is where the Slurm line sends each task's output.
    std::fs::create_dir_all(dir.join("logs"))
        .map_err(|e| SweepError::Io(format!("cannot create `{}`: {e}", dir.display())))?;
    let manifest = sweep.manifest(dir, shards);
    if let Ok(old) = read_manifest(dir) {
        let differs = old.plan_sha256 != manifest.plan_sha256 || old.shards != manifest.shards;
        if differs && has_results(dir) {
            if !force {
                return Err(SweepError::Usage(format!(
                    "`{}` holds results of another plan ({}); use a new folder, or --force to replan it (its results are then moved to `replaced-<plan>/`)",
                    dir.display(),
                    if old.plan_sha256 != manifest.plan_sha256 {
                        "other inputs".to_string()
                    } else {
                        format!("{} shards, not {}", old.shards, manifest.shards)
                    }
                )));
            }
            set_aside(dir, &old)?;
        }
    }
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| SweepError::Io(format!("cannot write the manifest: {e}")))?;
    write::atomic(&Manifest::path(dir), |w| {
        w.write_all(text.as_bytes())?;
        w.write_all(b"\n")
    })?;
    Ok(manifest)
}

/// Moves another plan's results into `DIR/replaced-<its plan hash>/`, out of the way
/// of the new plan's merges but not deleted.
fn set_aside(dir: &Path, old: &Manifest) -> Result<(), SweepError> {
    let short: String = old.plan_sha256.chars().take(12).collect();
    let target = dir.join(format!("replaced-{short}"));
    let io = |e: std::io::Error| {
        SweepError::Io(format!(
            "cannot move the old results to `{}`: {e}",
            target.display()
        ))
    };
    std::fs::create_dir_all(&target).map_err(io)?;
    for name in ["results", RESULTS_FILE, RESULTS_CSV] {
        let from = dir.join(name);
        if from.exists() {
            std::fs::rename(&from, target.join(name)).map_err(io)?;
        }
    }
    Ok(())
}

fn has_results(dir: &Path) -> bool {
    std::fs::read_dir(results_dir(dir))
        .map(|mut entries| entries.next().is_some())
        .unwrap_or(false)
        || dir.join(RESULTS_FILE).exists()
}

/// Where the shards' parts go.
pub fn results_dir(dir: &Path) -> PathBuf {
    dir.join("results")
}

pub const RESULTS_FILE: &str = "results.parquet";
pub const RESULTS_CSV: &str = "results.csv";

pub fn read_manifest(dir: &Path) -> Result<Manifest, SweepError> {
    let path = Manifest::path(dir);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        SweepError::Usage(format!(
            "cannot read `{}` ({e}); plan the sweep first: gil sweep plan SWEEP --out {}",
            path.display(),
            dir.display()
        ))
    })?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
        SweepError::Usage(format!("`{}` is not a sweep manifest: {e}", path.display()))
    })?;
    if manifest.format != manifest::FORMAT {
        return Err(SweepError::Usage(format!(
            "`{}` has manifest format {}; this gil reads format {}",
            path.display(),
            manifest.format,
            manifest::FORMAT
        )));
    }
    Ok(manifest)
}

/// Opens the sweep a folder was planned from and checks that its inputs are the ones
/// planned.
pub fn open_planned(
    dir: &Path,
    config: SandboxConfig,
    options: Options,
    load_scenario: impl FnOnce(&Path) -> Result<Scenario, LoadError>,
) -> Result<(Manifest, Sweep), SweepError> {
    let manifest = read_manifest(dir)?;
    // The plan's limits, whatever the command line says: every shard runs the same.
    let config = manifest.limits.apply(config);
    let sweep = Sweep::open(&manifest.sweep_path(dir), config, options, load_scenario)?;
    let changed: Vec<&str> = [
        (
            "the sweep file",
            manifest.sweep_sha256 == sweep.hashes.sweep,
        ),
        (
            "the scenario",
            manifest.scenario_sha256 == sweep.hashes.scenario,
        ),
        ("the rules", manifest.rules_sha256 == sweep.hashes.rules),
        ("gil", manifest.plan_sha256 == sweep.hashes.plan),
    ]
    .into_iter()
    .filter(|(_, same)| !same)
    .map(|(what, _)| what)
    .collect();
    if let Some(first) = changed.first() {
        return Err(SweepError::Stale(format!(
            "{first} changed since the sweep in `{}` was planned; plan it again (gil sweep plan … --out {} --force) so every shard runs the same inputs",
            dir.display(),
            dir.display()
        )));
    }
    Ok((manifest, sweep))
}

/// Whether a shard's part is written, for this plan, with all its rows.
pub fn shard_complete(dir: &Path, manifest: &Manifest, shard: usize) -> bool {
    let path = results_dir(dir).join(manifest::part_name(shard, manifest.shards));
    match results::read_parquet(&manifest.layout, &path, &manifest.plan_sha256) {
        Ok(rows) => rows.len() == manifest.shard_runs(shard).len(),
        Err(_) => false,
    }
}

/// What `run_shards` did.
#[derive(Debug, Default)]
pub struct RunReport {
    pub written: Vec<usize>,
    pub skipped: Vec<usize>,
    pub runs: usize,
    pub failed_runs: usize,
}

/// Evaluates the given shards in order, each written as its part once all its runs
/// are done. A shard already complete is skipped unless `force`.
pub fn run_shards(
    dir: &Path,
    manifest: &Manifest,
    sweep: &Sweep,
    shards: &[usize],
    force: bool,
    threads: usize,
    on_run: &(dyn Fn() + Sync),
) -> Result<RunReport, SweepError> {
    let parts = results_dir(dir);
    std::fs::create_dir_all(&parts)
        .map_err(|e| SweepError::Io(format!("cannot create `{}`: {e}", parts.display())))?;
    let mut report = RunReport::default();
    for &shard in shards {
        if shard >= manifest.shards {
            return Err(SweepError::Usage(format!(
                "shard {shard} is outside the plan's {} shards (0 to {})",
                manifest.shards,
                manifest.shards - 1
            )));
        }
        if !force && shard_complete(dir, manifest, shard) {
            report.skipped.push(shard);
            continue;
        }
        let rows = sweep.evaluate(manifest.shard_runs(shard), threads, on_run)?;
        report.runs += rows.len();
        report.failed_runs += rows.iter().filter(|r| r.error.is_some()).count();
        let path = parts.join(manifest::part_name(shard, manifest.shards));
        write::atomic(&path, |w| {
            results::write_parquet(&manifest.layout, &rows, &manifest.plan_sha256, w)
                .map_err(std::io::Error::other)
        })?;
        report.written.push(shard);
    }
    Ok(report)
}

/// The shard of a task array: `SLURM_ARRAY_TASK_ID`, else `JOB_COMPLETION_INDEX`.
pub fn shard_from_environment() -> Result<usize, SweepError> {
    for var in ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"] {
        if let Ok(v) = std::env::var(var) {
            return v
                .trim()
                .parse()
                .map_err(|_| SweepError::Usage(format!("{var} is `{v}`, not a shard number")));
        }
    }
    Err(SweepError::Usage(
        "--shard auto reads SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX, and neither is set".into(),
    ))
}

/// What `merge` found.
#[derive(Debug)]
pub struct MergeReport {
    pub rows: Vec<RunRow>,
    pub missing: Vec<usize>,
}

/// Reads every shard's part, in shard order, refusing parts of another split or plan,
/// and runs out of place. Missing shards are an error naming them as an `--array=`
/// list, unless `allow_incomplete`.
pub fn merge(
    dir: &Path,
    manifest: &Manifest,
    allow_incomplete: bool,
) -> Result<MergeReport, SweepError> {
    let parts = results_dir(dir);
    let mut names: Vec<String> = match std::fs::read_dir(&parts) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".parquet") && !n.starts_with('.'))
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    let mut found = vec![false; manifest.shards];
    for name in &names {
        match manifest::parse_part_name(name) {
            Some((i, n)) if n == manifest.shards && i < n => found[i] = true,
            Some((_, n)) => {
                return Err(SweepError::Usage(format!(
                    "`{}` belongs to a split into {n} shards, but the plan has {}; its runs would be counted twice. Remove it (or plan with --shards {n})",
                    parts.join(name).display(),
                    manifest.shards
                )))
            }
            None => {
                return Err(SweepError::Usage(format!(
                    "`{}` is not a part file of this sweep (part-IIIII-of-NNNNN.parquet); move it out of the results folder",
                    parts.join(name).display()
                )))
            }
        }
    }
    let missing: Vec<usize> = (0..manifest.shards).filter(|&i| !found[i]).collect();
    if !missing.is_empty() && !allow_incomplete {
        let list = manifest::array_list(&missing);
        return Err(SweepError::Incomplete(format!(
            "{} of {} shards have no results yet: {list}\n  run them with: sbatch --array={list} … (the plan's line), or gil sweep run {} --shard I/{}\n  or merge what is there with --allow-incomplete",
            missing.len(),
            manifest.shards,
            dir.display(),
            manifest.shards
        )));
    }
    let mut rows = Vec::with_capacity(manifest.runs);
    for shard in (0..manifest.shards).filter(|i| found[*i]) {
        let path = parts.join(manifest::part_name(shard, manifest.shards));
        let part = results::read_parquet(&manifest.layout, &path, &manifest.plan_sha256)
            .map_err(|e| SweepError::Usage(format!("`{}`: {e}", path.display())))?;
        let expected: Vec<i64> = manifest.shard_runs(shard).map(|r| r as i64).collect();
        let got: Vec<i64> = part.iter().map(|r| r.run).collect();
        if got != expected {
            return Err(SweepError::Usage(format!(
                "`{}` does not hold runs {}..{} in order; rerun the shard with --force",
                path.display(),
                expected.first().copied().unwrap_or(0),
                expected.last().map_or(0, |l| l + 1)
            )));
        }
        rows.extend(part);
    }
    Ok(MergeReport { rows, missing })
}

/// Writes the merged rows as `DIR/results.parquet` (and `results.csv`).
pub fn write_merged(
    dir: &Path,
    manifest: &Manifest,
    rows: &[RunRow],
    csv: bool,
) -> Result<(), SweepError> {
    write::atomic(&dir.join(RESULTS_FILE), |w| {
        results::write_parquet(&manifest.layout, rows, &manifest.plan_sha256, w)
            .map_err(std::io::Error::other)
    })?;
    if csv {
        write::atomic(&dir.join(RESULTS_CSV), |w| {
            results::write_csv(&manifest.layout, rows, w)
        })?;
    }
    Ok(())
}

/// Reads `DIR/results.parquet`.
pub fn read_merged(dir: &Path, manifest: &Manifest) -> Result<Vec<RunRow>, SweepError> {
    let path = dir.join(RESULTS_FILE);
    if !path.exists() {
        return Err(SweepError::Usage(format!(
            "`{}` does not exist yet; merge the shards first: gil sweep merge {}",
            path.display(),
            dir.display()
        )));
    }
    results::read_parquet(&manifest.layout, &path, &manifest.plan_sha256)
        .map_err(|e| SweepError::Usage(format!("`{}`: {e}", path.display())))
}

/// The analysis of a planned sweep's rows (`only`: one output column or metric).
pub fn analyze_planned(
    manifest: &Manifest,
    rows: &[RunRow],
    only: Option<&str>,
) -> analyze::Analysis {
    analyze::analyze(
        &manifest.id,
        manifest.design,
        &manifest.layout,
        rows,
        manifest.runs,
        morris_delta(manifest),
        manifest.seed,
        only,
    )
}

/// The Morris Δ of a manifest's levels.
pub fn morris_delta(manifest: &Manifest) -> f64 {
    manifest.levels as f64 / (2.0 * (manifest.levels as f64 - 1.0))
}

/// The `sbatch` line that runs every shard of a planned folder as a job array.
pub fn slurm_line(dir: &Path, manifest: &Manifest) -> String {
    let dir = shell_word(&dir.display().to_string());
    format!(
        "sbatch --array=0-{} --job-name={} --output={dir}/logs/%a.log --wrap \"gil sweep run {dir} --shard auto\"",
        manifest.shards.saturating_sub(1),
        k8s::job_name(&manifest.id),
    )
}

/// Slurm's default `MaxArraySize`: an array line above it is refused unless the
/// cluster raised it.
pub const SLURM_DEFAULT_MAX_ARRAY: usize = 1001;

/// A path as one shell word inside the double-quoted `--wrap` (single quotes, which
/// keep `$` and spaces literal) when it needs quoting.
fn shell_word(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

use std::io::Write as _;
