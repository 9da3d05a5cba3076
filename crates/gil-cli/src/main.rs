//! `gil` — the command line. Thin: parse arguments, call the libraries, print, exit.
//!
//! Exit codes: 0 ok; 1 checks or tests failed; 2 bad input or a rule fault.

mod args;
mod bench;
mod bundled;
mod check;
#[cfg(test)]
mod cli_docs;
mod commands;
mod inputs;
mod output;
mod progress;
mod serve;
mod signals;
mod snapshot_diff;
mod sweep;
mod workflow;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use args::*;

/// mimalloc: runs allocate many small, short-lived objects (Luau's among them), where it
/// is faster than the system allocator (see the workspace Cargo.toml).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    signals::install();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            if output::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let _ = writeln!(std::io::stderr(), "error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let color_err = output::use_color(cli.color, output::Stream::Stderr);
    let color_out = output::use_color(cli.color, output::Stream::Stdout);
    match cli.command {
        Command::Check {
            scenario,
            rules,
            format,
        } => check::check(&output::scenario_path(scenario)?, &rules, format, color_err),
        Command::Run {
            scenario,
            eval,
            format,
            out,
            flows,
            full,
            timings,
            fail_on,
        } => commands::run(
            &output::scenario_path(scenario)?,
            &eval,
            commands::RunOptions {
                format,
                out,
                flows,
                full,
                timings,
                fail_on,
                color: color_out && format == RunFormat::Table,
            },
            color_err,
        ),
        Command::Explain {
            scenario,
            target,
            year,
            format,
            eval,
        } => commands::explain(&scenario, &target, year, format, &eval, color_err),
        Command::Diff {
            scenario,
            reform,
            eval,
            format,
            out,
            fail_on,
        } => commands::diff(
            &scenario,
            reform.as_deref(),
            &eval,
            commands::DiffOptions {
                format,
                out,
                fail_on,
            },
            color_err,
        ),
        Command::Roles {
            scenario,
            project,
            format,
            out,
            eval,
        } => commands::roles(
            &output::scenario_path(scenario)?,
            project.as_deref(),
            format,
            out.as_deref(),
            &eval,
            color_out && format == DocFormat::Table,
            color_err,
        ),
        Command::Report {
            scenario,
            html,
            reform,
            boundary,
            chains,
            out,
            eval,
        } => {
            if !html {
                output::print_stderr("error: gil report writes HTML: add --html (for text, use gil run --format md)\n");
                return Ok(ExitCode::from(2));
            }
            if let Some(dir) = scenario
                .as_deref()
                .filter(|p| p.is_dir() && p.join(gil_sweep::manifest::FILE_NAME).exists())
            {
                if reform.is_some() {
                    output::print_stderr("error: --with compares a reform with a scenario; a sweep's report has no reform\n");
                    return Ok(ExitCode::from(2));
                }
                if boundary || chains {
                    output::print_stderr("error: --boundary and --chains draw a scenario's Sankeys; a sweep's report has none\n");
                    return Ok(ExitCode::from(2));
                }
                return sweep::report(dir, out.as_deref(), color_err);
            }
            commands::report(
                &output::scenario_path(scenario)?,
                reform.as_deref(),
                gil_report::html::ReportOptions {
                    boundary,
                    chains,
                    ..Default::default()
                },
                out.as_deref(),
                &eval,
                color_err,
            )
        }
        Command::Graph {
            scenario,
            format,
            kinds,
            step,
            out,
            eval,
        } => commands::graph(
            &scenario,
            format,
            kinds,
            step,
            out.as_deref(),
            &eval,
            color_err,
        ),
        Command::Test {
            paths,
            filter,
            junit,
            coverage,
            lcov,
        } => workflow::test(
            &paths,
            filter.as_deref(),
            junit.as_deref(),
            coverage,
            lcov.as_deref(),
            color_out,
        ),
        Command::Snapshot {
            scenarios,
            update,
            diff,
            tolerance,
        } => workflow::snapshot(&scenarios, update, diff, &tolerance, color_out),
        Command::Init { dir } => workflow::init(&dir),
        Command::Gen {
            what:
                GenCommand::Synthetic {
                    actors,
                    flows,
                    years,
                    seed,
                    columnar,
                    tables,
                    dir,
                },
        } => bench::gen_synthetic(
            &dir,
            gil_synthetic::Spec {
                actors,
                flows,
                years,
                seed,
            },
            columnar,
            tables,
        ),
        Command::Bench {
            scenario,
            threads,
            baselines,
        } => {
            let threads = if threads == 0 {
                std::thread::available_parallelism()
                    .map(usize::from)
                    .unwrap_or(1)
            } else {
                threads
            };
            bench::bench(&scenario, threads, baselines, color_err)
        }
        Command::Sweep(args) => match args.command {
            Some(SweepCommand::Plan {
                sweep,
                out,
                shards,
                emit,
                image,
                claim,
                force,
                limits,
            }) => sweep::plan(
                sweep::PlanArgs {
                    sweep,
                    out,
                    shards,
                    emit_k8s: emit == Some(SweepEmit::K8s),
                    image,
                    claim,
                    force,
                },
                &limits,
                color_err,
            ),
            Some(SweepCommand::Run {
                dir,
                shard,
                force,
                threads,
            }) => sweep::run(&dir, shard.as_deref(), force, threads, color_err),
            Some(SweepCommand::Merge {
                dir,
                csv,
                allow_incomplete,
            }) => sweep::merge(&dir, csv, allow_incomplete, color_err),
            Some(SweepCommand::Analyze {
                dir,
                output,
                format,
                out,
            }) => sweep::analyze(&dir, output.as_deref(), format, out.as_deref(), color_err),
            Some(SweepCommand::Discover {
                dir,
                target,
                threshold,
                peel,
                mass_min,
                boxes,
                format,
                out,
            }) => sweep::discover(
                &dir,
                &target,
                gil_sweep::discover::PrimOptions {
                    alpha: peel,
                    mass_min,
                    threshold,
                    max_boxes: boxes,
                },
                format,
                out.as_deref(),
                color_err,
            ),
            None => match args.sweep {
                Some(file) => sweep::one_shot(
                    &file,
                    args.out,
                    args.format,
                    args.threads,
                    args.force,
                    &args.limits,
                    color_err,
                ),
                None => {
                    output::print_stderr(
                            "error: give a sweep file, or a subcommand (plan, run, merge, analyze, discover)\n",
                        );
                    Ok(ExitCode::from(2))
                }
            },
        },
        Command::Serve {
            scenarios,
            addr,
            token,
            workers,
            queue,
            deadline,
            body_limit,
            allow_upload,
            watch,
            call_deadline,
            rule_budget,
            lua_memory,
        } => serve::serve(
            serve::ServeArgs {
                scenarios,
                addr,
                token,
                workers,
                queue,
                deadline,
                body_limit_kib: body_limit,
                allow_upload,
                watch,
                eval: EvalArgs {
                    rules: Vec::new(),
                    params: Vec::new(),
                    limits: RuleLimits {
                        call_deadline,
                        rule_budget,
                        lua_memory,
                    },
                    threads: 1,
                },
            },
            color_err,
        ),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "gil", &mut script);
            output::emit(&String::from_utf8_lossy(&script), None)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::LuaApi { format, out } => {
            let text = match format {
                LuaApiFormat::Luals => gil_rules::api::luals_meta(),
                LuaApiFormat::Luau => gil_rules::api::luau_definitions(),
            };
            output::emit(&text, out.as_deref())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
