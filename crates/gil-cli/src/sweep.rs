//! `gil sweep`: plan, run (a shard, or all of them here), merge, analyze, and the
//! one-shot `gil sweep SWEEP`. The work is gil-sweep's; this module parses the shard
//! argument, draws the progress bar, prints what was done and picks exit codes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use gil_engine::Options;
use gil_sweep::{Manifest, Sweep, SweepError};

use crate::check::report_load_error;
use crate::commands::{interrupted, sandbox_config};
use crate::output::print_stderr;
use crate::{CheckFormat, RuleLimits, SweepFormat};

fn options() -> Options {
    Options {
        cancel: crate::signals::flag(),
        ..Options::default()
    }
}

/// Prints a sweep error and gives its exit code: 1 for shards not yet run, 130/143
/// when interrupted, 2 for everything else.
fn fail(err: SweepError, color: bool) -> ExitCode {
    match err {
        SweepError::Load(e) => {
            let _ = report_load_error(&e, CheckFormat::Human, color);
            ExitCode::from(2)
        }
        SweepError::Interrupted => {
            print_stderr("interrupted: the shard in progress was not written; rerun to go on\n");
            ExitCode::from(crate::signals::exit_code())
        }
        SweepError::Incomplete(message) => {
            print_stderr(&format!("error: {message}\n"));
            ExitCode::from(1)
        }
        other => {
            print_stderr(&format!("error: {other}\n"));
            ExitCode::from(2)
        }
    }
}

fn load(path: &Path) -> Result<gil_model::Scenario, gil_model::LoadError> {
    crate::inputs::load(path)
}

fn threads(n: usize) -> usize {
    match n {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    }
}

pub struct PlanArgs {
    pub sweep: PathBuf,
    pub out: PathBuf,
    pub shards: usize,
    pub emit_k8s: bool,
    pub image: String,
    pub claim: String,
    pub force: bool,
}

pub fn plan(args: PlanArgs, limits: &RuleLimits, color: bool) -> anyhow::Result<ExitCode> {
    let config = match sandbox_config(limits) {
        Ok(c) => c,
        Err(_) => return Ok(ExitCode::from(2)),
    };
    let sweep = match Sweep::open(&args.sweep, config, options(), load) {
        Ok(s) => s,
        Err(e) => return Ok(fail(e, color)),
    };
    let manifest = match gil_sweep::plan(&args.out, &sweep, args.shards, args.force) {
        Ok(m) => m,
        Err(e) => return Ok(fail(e, color)),
    };
    let dir = args.out.display();
    let mut text = format!(
        "planned sweep `{}`: {} design, {} parameter{}, {} runs in {} shard{} → {dir}/manifest.json\n",
        manifest.id,
        manifest.design.as_str(),
        manifest.parameters.len(),
        if manifest.parameters.len() == 1 { "" } else { "s" },
        manifest.runs,
        manifest.shards,
        if manifest.shards == 1 { "" } else { "s" },
    );
    text.push_str(&format!("run every shard here:  gil sweep run {dir}\n"));
    if manifest.shards > gil_sweep::SLURM_DEFAULT_MAX_ARRAY {
        text.push_str(&format!(
            "note: {} shards is more than Slurm's default MaxArraySize ({}); ask your cluster's limit, or plan fewer shards\n",
            manifest.shards,
            gil_sweep::SLURM_DEFAULT_MAX_ARRAY
        ));
    }
    text.push_str(&format!(
        "or as a Slurm array:   {}\n",
        gil_sweep::slurm_line(&args.out, &manifest)
    ));
    if args.emit_k8s {
        let folder = args
            .out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| manifest.id.clone());
        let job = gil_sweep::k8s::indexed_job(&gil_sweep::k8s::JobSpec {
            sweep_id: &manifest.id,
            shards: manifest.shards,
            image: &args.image,
            claim: &args.claim,
            folder: &folder,
        });
        let path = args.out.join("k8s-job.yaml");
        crate::output::emit(&job, Some(&path))?;
        text.push_str(&format!(
            "or on Kubernetes:      kubectl apply -f {} (the claim `{}` holds the folder as /sweeps/{folder})\n",
            path.display(),
            args.claim
        ));
    }
    text.push_str(&format!(
        "then:                  gil sweep merge {dir} && gil sweep analyze {dir}\n"
    ));
    crate::output::emit(&text, None)?;
    Ok(ExitCode::SUCCESS)
}

/// `--shard I/N`, `--shard auto`, or every shard.
fn shards_to_run(shard: Option<&str>, manifest: &Manifest) -> Result<Vec<usize>, SweepError> {
    let Some(shard) = shard else {
        return Ok((0..manifest.shards).collect());
    };
    if shard == "auto" {
        return Ok(vec![gil_sweep::shard_from_environment()?]);
    }
    let usage = || {
        SweepError::Usage(format!(
            "--shard `{shard}`: expected I/N (0-based, N = the plan's {} shards) or auto",
            manifest.shards
        ))
    };
    let (i, n) = shard.split_once('/').ok_or_else(usage)?;
    let (i, n): (usize, usize) = (
        i.trim().parse().map_err(|_| usage())?,
        n.trim().parse().map_err(|_| usage())?,
    );
    if n != manifest.shards {
        return Err(SweepError::Usage(format!(
            "--shard {i}/{n}: the plan has {} shards; plan again with --shards {n} to split it so",
            manifest.shards
        )));
    }
    Ok(vec![i])
}

pub fn run(
    dir: &Path,
    shard: Option<&str>,
    force: bool,
    thread_count: usize,
    color: bool,
) -> anyhow::Result<ExitCode> {
    // The limits come from the plan (open_planned applies them over these).
    let config = match sandbox_config(&RuleLimits::DEFAULT) {
        Ok(c) => c,
        Err(_) => return Ok(ExitCode::from(2)),
    };
    let (manifest, sweep) = match gil_sweep::open_planned(dir, config, options(), load) {
        Ok(x) => x,
        Err(e) => return Ok(fail(e, color)),
    };
    let shards = match shards_to_run(shard, &manifest) {
        Ok(s) => s,
        Err(e) => return Ok(fail(e, color)),
    };
    // The bar counts the runs to do: complete shards are skipped.
    let total: usize = shards
        .iter()
        .filter(|&&s| force || !gil_sweep::shard_complete(dir, &manifest, s))
        .map(|&s| manifest.shard_runs(s).len())
        .sum();
    let (tick, bar) = match crate::progress::runs_bar(total as u64) {
        Some((tick, bar)) => (tick, Some(bar)),
        None => (Arc::new(|| {}) as Arc<dyn Fn() + Send + Sync>, None),
    };
    let report = gil_sweep::run_shards(
        dir,
        &manifest,
        &sweep,
        &shards,
        force,
        threads(thread_count),
        &*tick,
    );
    drop(bar);
    let report = match report {
        Ok(r) => r,
        Err(e) => return Ok(fail(e, color)),
    };
    if crate::signals::interrupted() {
        return Ok(interrupted());
    }
    let mut text = String::new();
    let name = |s: usize| gil_sweep::manifest::part_name(s, manifest.shards);
    for s in &report.written {
        text.push_str(&format!(
            "shard {s}/{}: {} runs → results/{}\n",
            manifest.shards,
            manifest.shard_runs(*s).len(),
            name(*s)
        ));
    }
    if !report.skipped.is_empty() {
        text.push_str(&format!(
            "{} shard{} already complete, skipped: {} (--force redoes them)\n",
            report.skipped.len(),
            if report.skipped.len() == 1 { "" } else { "s" },
            gil_sweep::manifest::array_list(&report.skipped)
        ));
    }
    if report.failed_runs > 0 {
        text.push_str(&format!(
            "{} of {} runs failed in their rules; their rows carry the error (column `error`)\n",
            report.failed_runs, report.runs
        ));
    }
    print_stderr(&text);
    Ok(ExitCode::SUCCESS)
}

pub fn merge(
    dir: &Path,
    csv: bool,
    allow_incomplete: bool,
    color: bool,
) -> anyhow::Result<ExitCode> {
    let result = (|| {
        let manifest = gil_sweep::read_manifest(dir)?;
        let merged = gil_sweep::merge(dir, &manifest, allow_incomplete)?;
        gil_sweep::write_merged(dir, &manifest, &merged.rows, csv)?;
        Ok::<_, SweepError>((manifest, merged))
    })();
    let (manifest, merged) = match result {
        Ok(x) => x,
        Err(e) => return Ok(fail(e, color)),
    };
    let mut text = format!(
        "merged {} of {} runs → {}\n",
        merged.rows.len(),
        manifest.runs,
        dir.join(gil_sweep::RESULTS_FILE).display()
    );
    if !merged.missing.is_empty() {
        text.push_str(&format!(
            "left out (--allow-incomplete): shards {}\n",
            gil_sweep::manifest::array_list(&merged.missing)
        ));
    }
    print_stderr(&text);
    Ok(ExitCode::SUCCESS)
}

pub fn analyze(
    dir: &Path,
    only: Option<&str>,
    format: SweepFormat,
    out: Option<&Path>,
    color: bool,
) -> anyhow::Result<ExitCode> {
    let result = (|| {
        let manifest = gil_sweep::read_manifest(dir)?;
        let rows = gil_sweep::read_merged(dir, &manifest)?;
        if let Some(name) = only {
            let known = manifest.layout.outputs.iter().any(|o| {
                o.name() == name
                    || matches!(o, gil_sweep::results::OutputColumn::Year { metric, .. }
                        | gil_sweep::results::OutputColumn::Reduced { metric, .. } if metric == name)
            });
            if !known {
                let names: Vec<String> = manifest.layout.outputs.iter().map(|o| o.name()).collect();
                let hint = gil_model::diag::did_you_mean(name, names.iter().map(String::as_str))
                    .map(|h| format!("; did you mean `{h}`?"))
                    .unwrap_or_default();
                return Err(SweepError::Usage(format!(
                    "--output `{name}`: the sweep keeps no such output{hint}"
                )));
            }
        }
        Ok((manifest, rows))
    })();
    let (manifest, rows) = match result {
        Ok(x) => x,
        Err(e) => return Ok(fail(e, color)),
    };
    let analysis = gil_sweep::analyze_planned(&manifest, &rows, only);
    let text = match format {
        SweepFormat::Table => gil_sweep::render::text(&analysis, false),
        SweepFormat::Md => gil_sweep::render::text(&analysis, true),
        SweepFormat::Json => gil_sweep::render::json(&analysis),
    };
    crate::output::emit(&text, out)?;
    Ok(ExitCode::SUCCESS)
}

pub fn discover(
    dir: &Path,
    target: &str,
    options: gil_sweep::discover::PrimOptions,
    format: SweepFormat,
    out: Option<&Path>,
    color: bool,
) -> anyhow::Result<ExitCode> {
    for (flag, v) in [
        ("--threshold", options.threshold),
        ("--peel", options.alpha),
        ("--mass-min", options.mass_min),
    ] {
        if !(v > 0.0 && v <= 1.0) {
            print_stderr(&format!("error: {flag} is a share: above 0, at most 1\n"));
            return Ok(ExitCode::from(2));
        }
    }
    let result = (|| {
        let manifest = gil_sweep::read_manifest(dir)?;
        let rows = gil_sweep::read_merged(dir, &manifest)?;
        gil_sweep::discover::discover(&manifest.layout, &rows, target, options)
            .map_err(SweepError::Usage)
    })();
    let discovery = match result {
        Ok(d) => d,
        Err(e) => return Ok(fail(e, color)),
    };
    let text = match format {
        SweepFormat::Table => gil_sweep::render::discovery_text(&discovery, false),
        SweepFormat::Md => gil_sweep::render::discovery_text(&discovery, true),
        SweepFormat::Json => gil_sweep::render::discovery_json(&discovery),
    };
    crate::output::emit(&text, out)?;
    Ok(ExitCode::SUCCESS)
}

/// `gil report --html DIR` for a merged sweep folder.
pub fn report(dir: &Path, out: Option<&Path>, color: bool) -> anyhow::Result<ExitCode> {
    let result = (|| {
        let manifest = gil_sweep::read_manifest(dir)?;
        let rows = gil_sweep::read_merged(dir, &manifest)?;
        Ok::<_, SweepError>((manifest, rows))
    })();
    let (manifest, rows) = match result {
        Ok(x) => x,
        Err(e) => return Ok(fail(e, color)),
    };
    let analysis = gil_sweep::analyze_planned(&manifest, &rows, None);
    let discoveries: Vec<gil_sweep::discover::Discovery> = manifest
        .layout
        .targets
        .iter()
        .filter_map(|t| {
            gil_sweep::discover::discover(
                &manifest.layout,
                &rows,
                &t.name,
                gil_sweep::discover::PrimOptions::default(),
            )
            .ok()
        })
        .collect();
    let html = gil_report::html::sweep_report(&manifest, &analysis, &discoveries);
    crate::output::emit(&html, out)?;
    Ok(ExitCode::SUCCESS)
}

/// `gil sweep SWEEP`: plan into `out`, run every shard here, merge, analyze.
pub fn one_shot(
    sweep_path: &Path,
    out: Option<PathBuf>,
    format: SweepFormat,
    thread_count: usize,
    force: bool,
    limits: &RuleLimits,
    color: bool,
) -> anyhow::Result<ExitCode> {
    let config = match sandbox_config(limits) {
        Ok(c) => c,
        Err(_) => return Ok(ExitCode::from(2)),
    };
    let sweep = match Sweep::open(sweep_path, config, options(), load) {
        Ok(s) => s,
        Err(e) => return Ok(fail(e, color)),
    };
    let dir = out.unwrap_or_else(|| PathBuf::from(format!("{}.sweep", sweep.file.id)));
    // Shards of about a thousand runs: an interrupted sweep resumes where it stopped.
    let shards = sweep.plan.runs().div_ceil(1024).max(1);
    let manifest = match gil_sweep::plan(&dir, &sweep, shards, force) {
        Ok(m) => m,
        Err(e) => return Ok(fail(e, color)),
    };
    let all: Vec<usize> = (0..manifest.shards).collect();
    let (tick, bar) = match crate::progress::runs_bar(manifest.runs as u64) {
        Some((tick, bar)) => (tick, Some(bar)),
        None => (Arc::new(|| {}) as Arc<dyn Fn() + Send + Sync>, None),
    };
    let report = gil_sweep::run_shards(
        &dir,
        &manifest,
        &sweep,
        &all,
        false,
        threads(thread_count),
        &*tick,
    );
    drop(bar);
    if let Err(e) = report {
        return Ok(fail(e, color));
    }
    if crate::signals::interrupted() {
        return Ok(interrupted());
    }
    let merged = match gil_sweep::merge(&dir, &manifest, false)
        .and_then(|m| gil_sweep::write_merged(&dir, &manifest, &m.rows, false).map(|_| m))
    {
        Ok(m) => m,
        Err(e) => return Ok(fail(e, color)),
    };
    print_stderr(&format!(
        "{} runs → {}\n",
        merged.rows.len(),
        dir.join(gil_sweep::RESULTS_FILE).display()
    ));
    analyze(&dir, None, format, None, color)
}
