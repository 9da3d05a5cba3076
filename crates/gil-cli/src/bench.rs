//! `gil gen synthetic` and `gil bench`: national-scale workloads and their phase times.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use gil_rules::SandboxConfig;

use crate::args::TableFormat;
use crate::commands::{load_rules, load_scenario, Stop};
use crate::output::{print_stderr, print_stdout, write_atomic};

pub fn gen_synthetic(
    dir: &Path,
    spec: gil_synthetic::Spec,
    columnar: bool,
    tables: Option<TableFormat>,
) -> anyhow::Result<ExitCode> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        print_stderr(&format!("error: `{}` is not empty\n", dir.display()));
        return Ok(ExitCode::from(2));
    }
    let (files, entity_tables) = match tables {
        None => (gil_synthetic::generate(spec, columnar), Vec::new()),
        Some(format) => gil_synthetic::generate_with_tables(spec, columnar, format.extension()),
    };
    if let Some(format) = tables {
        for table in &entity_tables {
            let bytes = match format {
                TableFormat::Parquet => {
                    let mut bytes = Vec::new();
                    gil_tables::entity_table(table)?.write_parquet(&mut bytes)?;
                    bytes
                }
                TableFormat::Csv => table.to_csv().into_bytes(),
            };
            let name = format!("data/{}.{}", table.name, format.extension());
            write_file(dir, &name, &bytes)?;
        }
    }
    for (name, text) in files {
        write_file(dir, &name, text.as_bytes())?;
    }
    let (what, baselines) = match tables {
        None => (String::new(), ", and baselines in baseline/"),
        Some(format) => (format!(" (entities in data/*.{})", format.extension()), ""),
    };
    print_stdout(&format!(
        "wrote {}: {} actors, {} flows, {} years{what}, 5 rules{baselines}\n",
        dir.display(),
        spec.actors,
        spec.flows,
        spec.years
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// Writes `bytes` to `name` under `dir`, making its folder.
fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    write_atomic(&path, bytes)?;
    Ok(())
}

/// A writer that only counts what it is given.
struct ByteCount(u64);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The process's peak resident memory in bytes (Linux: VmHWM), if known.
pub fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

pub fn bench(
    path: &Path,
    threads: usize,
    baselines: bool,
    color: bool,
) -> anyhow::Result<ExitCode> {
    let result = (|| -> Result<ExitCode, Stop> {
        let started = Instant::now();
        let scenario = load_scenario(path, color)?;
        let rules = load_rules(&scenario, &[], SandboxConfig::default(), color)?;
        let load = started.elapsed();
        let bar = crate::progress::bar();
        let options = gil_engine::Options {
            threads,
            progress: bar.as_ref().map(|(progress, _)| progress.clone()),
            listing: gil_engine::Listing::Named,
            ..Default::default()
        };
        let evaluated = gil_engine::evaluate(&scenario, &rules, &options);
        drop(bar);
        let evaluation = evaluated.map_err(|e| {
            print_stderr(&format!("error: {e}\n"));
            Stop::Reported
        })?;
        let render_started = Instant::now();
        // Built and rendered as `gil run --format json` does (summarized at national
        // scale): streamed, here into a byte counter.
        let mut json = ByteCount(0);
        gil_report::write_outcome(
            &evaluation.outcome,
            gil_report::Format::Json,
            &gil_report::text::TextOptions::default(),
            &mut json,
        )
        .map_err(|e| Stop::Other(e.into()))?;
        let render = render_started.elapsed();
        let total = started.elapsed();
        let calls = rules.calls() + evaluation.worker_calls;
        let flows: usize = evaluation
            .trace
            .steps
            .iter()
            .map(|s| s.flows.len())
            .max()
            .unwrap_or(0);
        let peak = peak_memory();
        let mut text = format!(
            "scenario {}: {} actors, {} assets, {} flows written ({} in the busiest year after rules), {} years, {} rules, {} thread(s)\n",
            scenario.id(),
            scenario.actors.len(),
            scenario.assets.len(),
            scenario.flows.len(),
            flows,
            scenario.years().count(),
            rules.rules().len(),
            threads.max(1)
        );
        let secs = |d: std::time::Duration| d.as_secs_f64();
        // Entities read from tables: a registry's load rate, in rows a second.
        let from_table =
            |path: &gil_model::EntityPath| matches!(path.place, gil_model::Place::Row(_));
        let table_rows = (scenario.actors.iter().map(|a| &a.path))
            .chain(scenario.assets.iter().map(|a| &a.path))
            .chain(scenario.flows.iter().map(|f| &f.path))
            .filter(|path| from_table(path))
            .count();
        if table_rows > 0 {
            text.push_str(&format!(
                "load      {:>9.3} s   {table_rows} table rows, {:.0} rows/s\n",
                secs(load),
                table_rows as f64 / secs(load).max(1e-9)
            ));
        } else {
            text.push_str(&format!("load      {:>9.3} s\n", secs(load)));
        }
        text.push_str(&format!(
            "rules     {:>9.3} s   {} rule calls, {:.0} calls/s\n",
            secs(evaluation.rules_time),
            calls,
            calls as f64 / secs(evaluation.rules_time).max(1e-9)
        ));
        text.push_str(&format!(
            "analyses  {:>9.3} s\n",
            secs(evaluation.analyses_time)
        ));
        text.push_str(&format!(
            "render    {:>9.3} s   json outcome {:.1} MiB\n",
            secs(render),
            json.0 as f64 / 1048576.0
        ));
        text.push_str(&format!("total     {:>9.3} s\n", secs(total)));
        if let Some(peak) = peak {
            text.push_str(&format!(
                "peak memory {:.1} MiB ({:.0} bytes per written flow)\n",
                peak as f64 / 1048576.0,
                peak as f64 / scenario.flows.len().max(1) as f64
            ));
        }
        text.push_str(&format!(
            "timing.load_seconds={:.6}\ntiming.rules_seconds={:.6}\ntiming.analyses_seconds={:.6}\ntiming.render_seconds={:.6}\n",
            secs(load),
            secs(evaluation.rules_time),
            secs(evaluation.analyses_time),
            secs(render)
        ));
        print_stdout(&text).map_err(|e| Stop::Other(e.into()))?;
        if baselines {
            let folder = scenario.root_dir.join("baseline");
            let gil = Phases {
                rules: secs(evaluation.rules_time),
                total: secs(total),
            };
            let file = std::fs::canonicalize(crate::inputs::scenario_file(path))
                .map_err(|e| Stop::Other(e.into()))?;
            print_stdout(&run_baselines(&folder, &file, &gil))
                .map_err(|e| Stop::Other(e.into()))?;
        }
        Ok(ExitCode::SUCCESS)
    })();
    match result {
        Ok(code) => Ok(code),
        Err(Stop::Reported) => Ok(ExitCode::from(2)),
        Err(Stop::Interrupted) => Ok(crate::commands::interrupted()),
        Err(Stop::Other(e)) => Err(e),
    }
}

/// gil's phase times the baselines are compared with, in seconds.
struct Phases {
    rules: f64,
    total: f64,
}

/// A baseline: the interpreter, the script in `baseline/`, which gil phase its own
/// timing compares with (`timing.<phase>_seconds` on its stderr), and whether it reads
/// the scenario file (the Python ones) or its own `data.lua` (Lua).
const BASELINES: [(&str, &str, &str, bool); 3] = [
    ("lua5.4", "baseline.lua", "rules", false),
    ("python3", "baseline.py", "total", true),
    ("python3", "baseline_numpy.py", "rules", true),
];

/// Runs each baseline in `folder` now, on this machine, and words gil's time against
/// it: "gil ÷ baseline" below 1 means gil is faster.
fn run_baselines(folder: &Path, scenario: &Path, gil: &Phases) -> String {
    let mut text =
        String::from("baselines, run now beside gil (gil ÷ baseline; below 1: gil is faster)\n");
    for (program, script, phase, reads_scenario) in BASELINES {
        if !folder.join(script).exists() {
            continue;
        }
        let mut command = std::process::Command::new(program);
        command.arg(script);
        if reads_scenario {
            command.arg(scenario);
        }
        let run = command
            .current_dir(folder)
            .stdout(std::process::Stdio::null())
            .output();
        let line = match run {
            Err(e) => format!("  {program} {script}: cannot run ({e})\n"),
            Ok(out) if !out.status.success() => {
                format!("  {program} {script}: failed ({})\n", out.status)
            }
            Ok(out) => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let key = format!("timing.{phase}_seconds=");
                let theirs = stderr
                    .lines()
                    .find_map(|l| l.strip_prefix(&key))
                    .and_then(|v| v.trim().parse::<f64>().ok());
                let ours = if phase == "rules" {
                    gil.rules
                } else {
                    gil.total
                };
                match theirs {
                    Some(t) => format!(
                        "  {:<28} {phase:<5} {t:>9.3} s   gil {phase} {ours:.3} s = {:.2}×\n",
                        format!("{program} {script}"),
                        ours / t.max(1e-9)
                    ),
                    None => format!("  {program} {script}: printed no {key}\n"),
                }
            }
        };
        text.push_str(&line);
    }
    text
}
