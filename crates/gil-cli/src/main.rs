//! `gil` — the command line. Thin: parse arguments, call the libraries, print, exit.
//!
//! Exit codes: 0 ok; 1 checks or tests failed; 2 bad input or a rule fault.

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
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `gil --version`: the version and the commit it was built from.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("GIL_COMMIT"),
    ")"
);

/// Policy-as-code for national AI-compute strategy.
#[derive(Debug, Parser)]
#[command(name = "gil", version = VERSION, about, long_about = None)]
struct Cli {
    /// When to colour output (`NO_COLOR` also turns it off)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// rustc-style messages with source excerpts
    Human,
    /// one JSON document on stdout
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DocFormat {
    /// aligned text for the terminal
    Table,
    /// markdown, for wikis and pull requests
    Md,
    Json,
    Yaml,
}

/// `gil run`'s formats: the documents, or the outcome as a folder of tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunFormat {
    /// aligned text for the terminal
    Table,
    /// markdown, for wikis and pull requests
    Md,
    Json,
    Yaml,
    /// a folder of Parquet tables and outcome.json (needs --out DIR)
    Parquet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LuaApiFormat {
    /// LuaLS (lua-language-server) `---@meta` annotations
    Luals,
    /// luau-lsp type definitions (`.d.luau`)
    Luau,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum FailOn {
    Info,
    Warn,
    Error,
}

impl FailOn {
    /// The finding level the flag names.
    pub fn level(self) -> gil_rules::Level {
        match self {
            FailOn::Info => gil_rules::Level::Info,
            FailOn::Warn => gil_rules::Level::Warn,
            FailOn::Error => gil_rules::Level::Error,
        }
    }

    /// How the flag is written, for messages.
    pub fn flag(self) -> &'static str {
        self.level().as_str()
    }
}

/// What every evaluating command needs: the scenario, extra rules, overrides, limits.
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// Extra rule file or folder (repeatable), on top of `scenario.rules`
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Override a parameter in every year: `--param voucher.coverage=0.5`; a list parameter takes `a,b` (repeatable)
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Longest one rule call may run, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub call_deadline: f64,
    /// Longest all rule calls of a run may take together, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 600.0)]
    pub rule_budget: f64,
    /// Memory rules may allocate in the Lua state, in MiB, on top of the entity views gil builds
    #[arg(long, value_name = "MIB", default_value_t = 1024)]
    pub lua_memory: usize,
    /// Worker threads for per-entity hooks (0: every core); the outcome is the same for any N
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Evaluate a scenario and print the outcome (default: ./scenario.yaml, else the bundled korea-2030)
    Run {
        /// The scenario file
        scenario: Option<PathBuf>,
        #[command(flatten)]
        eval: EvalArgs,
        /// Output format (table on a terminal; md for wikis; json and yaml for machines;
        /// parquet for analysts' tools)
        #[arg(long, value_enum, default_value_t = RunFormat::Table)]
        format: RunFormat,
        /// Write to FILE (atomically: whole or not at all) instead of stdout; with
        /// `--format parquet`, the folder of tables
        #[arg(long, value_name = "FILE|DIR")]
        out: Option<PathBuf>,
        /// List every flow instead of one line per paying actor, kind and `via`
        #[arg(long)]
        flows: bool,
        /// In json/yaml, list every actor's ledger, flow lines and metrics even above
        /// 2,000 actors and assets (by default only those the document names)
        #[arg(long)]
        full: bool,
        /// Print phase times to stderr as `timing.<phase>_seconds=<s>`
        #[arg(long)]
        timings: bool,
        /// Exit 1 when a finding or a role check at this level or above is reported (for CI)
        #[arg(long, value_enum, value_name = "LEVEL")]
        fail_on: Option<FailOn>,
    },
    /// Load and validate a scenario and its rules; report every problem with file:line:column
    Check {
        /// The scenario file (default: ./scenario.yaml, else the bundled korea-2030 example)
        scenario: Option<PathBuf>,
        /// Extra rule file or folder (repeatable)
        #[arg(long = "rules", value_name = "PATH")]
        rules: Vec<PathBuf>,
        /// Output format: messages with source excerpts, or one JSON document on stdout
        #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
        format: CheckFormat,
    },
    /// Explain a metric, a flow id, an actor or asset id, `actor.attr`, a parameter, a
    /// rule or a project, step by step
    Explain {
        /// The scenario file
        scenario: PathBuf,
        /// What to explain: a metric, flow id, actor or asset id, `actor.attr`, a parameter,
        /// a rule id (what it made, adjusted, measured and set each year) or a project id
        /// (roles, checks, targets and flows)
        target: String,
        /// Only this year
        #[arg(long, value_name = "YEAR")]
        year: Option<i32>,
        /// Text for people, or the explanation as one JSON document
        #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
        format: ExplainFormat,
        #[command(flatten)]
        eval: EvalArgs,
    },
    /// Compare the scenario with a reform: a reform file, and/or `--param` and `--rules`
    /// (which belong to the reform; the baseline is the scenario as written)
    Diff {
        /// The scenario file (the baseline)
        scenario: PathBuf,
        /// The reform file: `parameters:` overrides and/or `rules:` to add
        #[arg(long = "with", value_name = "REFORM")]
        reform: Option<PathBuf>,
        #[command(flatten)]
        eval: EvalArgs,
        /// Output format (table on a terminal; md for wikis; json and yaml for machines)
        #[arg(long, value_enum, default_value_t = DocFormat::Table)]
        format: DocFormat,
        /// Write to FILE (atomically: whole or not at all) instead of stdout
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Exit 1 when the reform adds a finding at this level or above (for CI)
        #[arg(long, value_enum, value_name = "LEVEL")]
        fail_on: Option<FailOn>,
    },
    /// What / How / Why per project with its checks; exit 1 when a check fails
    Roles {
        /// The scenario file (default: ./scenario.yaml, else the bundled korea-2030 example)
        scenario: Option<PathBuf>,
        /// Only this project
        #[arg(long, value_name = "ID")]
        project: Option<String>,
        /// Output format (table on a terminal; md for wikis; json and yaml for machines)
        #[arg(long, value_enum, default_value_t = DocFormat::Table)]
        format: DocFormat,
        /// Write to FILE (atomically: whole or not at all) instead of stdout
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        eval: EvalArgs,
    },
    /// Write a self-contained HTML report: Sankeys, power, loops, roles, findings, sources
    Report {
        /// The scenario file (default: ./scenario.yaml, else the bundled korea-2030
        /// example), or a merged sweep folder (its manifest.json) for the sweep's report
        scenario: Option<PathBuf>,
        /// HTML output (the report's format)
        #[arg(long)]
        html: bool,
        /// Show this reform beside the baseline
        #[arg(long = "with", value_name = "REFORM")]
        reform: Option<PathBuf>,
        /// Draw money to and from boundary actors (capital markets, the rest of the
        /// world) on the Sankeys; left off by default, since it dwarfs policy money
        #[arg(long)]
        boundary: bool,
        /// Draw money along its chains (ministry → agency → startups), a column per
        /// step, instead of payers against payees
        #[arg(long)]
        chains: bool,
        /// Write to FILE (atomically: whole or not at all) instead of stdout
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        eval: EvalArgs,
    },
    /// Draw the flow graph as Graphviz DOT or a Mermaid flowchart
    Graph {
        /// The scenario file
        scenario: PathBuf,
        /// Graphviz DOT or a Mermaid flowchart
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
        /// Only flows of this kind (repeatable): funding, compute, power
        #[arg(long = "kind", value_name = "KIND", value_parser = parse_flow_kind)]
        kinds: Vec<gil_model::FlowKind>,
        /// One year (default: the whole horizon, money summed, power at its peak)
        #[arg(long, value_name = "YEAR")]
        step: Option<i32>,
        /// Write to FILE (atomically: whole or not at all) instead of stdout
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        eval: EvalArgs,
    },
    /// Run rule tests: every `*.test.yaml` below PATHS (default: rules/); exit 1 on a failure or when no test ran, 2 when a case cannot run
    Test {
        /// Test files or folders searched for `*.test.yaml` (default: rules/)
        paths: Vec<PathBuf>,
        /// Only cases whose name contains this text
        #[arg(long, value_name = "TEXT")]
        filter: Option<String>,
        /// Also write the results as JUnit XML to FILE (atomically), for CI systems
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Print line coverage of every rule and module file the cases ran
        #[arg(long)]
        coverage: bool,
        /// Also write line coverage as LCOV to FILE (atomically), for editors and CI
        #[arg(long, value_name = "FILE")]
        lcov: Option<PathBuf>,
    },
    /// Compare each scenario's outcome with `<name>.snapshot.yaml` beside it; exit 1 on a change
    Snapshot {
        /// The scenario files; each snapshot is `<name>.snapshot.yaml` beside its scenario
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        /// Accept the new outcome (write the snapshot)
        #[arg(long)]
        update: bool,
        /// Also print the unified diff of the snapshot and the new outcome (by default a
        /// change is shown as the metrics and findings that changed, by name)
        #[arg(long)]
        diff: bool,
        /// Numbers within a relative tolerance count as unchanged: `REL` for every number,
        /// `METRIC=REL` for one metric in every year (repeatable; default: exact)
        #[arg(long, value_name = "[METRIC=]REL")]
        tolerance: Vec<String>,
    },
    /// Scaffold a policy repository: a scenario, a rule with its test, editor settings, CI
    Init {
        /// A new or empty folder
        dir: PathBuf,
    },
    /// Generate workloads (`gil gen synthetic --actors N --flows M --years Y DIR`)
    Gen {
        #[command(subcommand)]
        what: GenCommand,
    },
    /// Time each phase of a run (load, rules, analyses, render), rule calls/s, peak memory
    Bench {
        /// The scenario file (for example one written by `gil gen synthetic`)
        scenario: PathBuf,
        /// Worker threads for per-entity hooks (0: every core, as for run)
        #[arg(long, value_name = "N", default_value_t = 0)]
        threads: usize,
        /// Also run the baselines beside the scenario (`baseline/`: plain Lua 5.4, Python,
        /// numpy, as `gil gen synthetic` writes them) and print gil's time against theirs
        #[arg(long)]
        baselines: bool,
    },
    /// Sweep a scenario over a design of parameter values: `gil sweep SWEEP` plans, runs,
    /// merges and analyzes here; the subcommands do one step each, for clusters
    Sweep(SweepArgs),
    /// Serve the scenarios over HTTP: the JSON API for dashboards and the web workbench
    /// (a slider per parameter) for people, on loopback unless told otherwise
    Serve {
        /// The folder of scenarios: its scenario.yaml and each subfolder's (default: the
        /// bundled examples)
        #[arg(long, value_name = "DIR")]
        scenarios: Option<PathBuf>,
        /// Where to listen (port 0: any free port; the address is printed)
        #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// Require `Authorization: Bearer TOKEN` on every /v1 call
        #[arg(long, value_name = "TOKEN", env = "GIL_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Worker threads evaluating runs (0: every core)
        #[arg(long, value_name = "N", default_value_t = 0)]
        workers: usize,
        /// Runs that may wait for a worker; beyond, requests get 503
        #[arg(long, value_name = "N", default_value_t = 64)]
        queue: usize,
        /// Longest a request waits for its outcome, in seconds (503 beyond)
        #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
        deadline: f64,
        /// Largest request body, in KiB (413 beyond)
        #[arg(long, value_name = "KIB", default_value_t = 64)]
        body_limit: usize,
        /// Accept POST /v1/upload/run: scenarios and rules sent in the request, run in
        /// the same sandbox with the limits below
        #[arg(long)]
        allow_upload: bool,
        /// Reload a scenario when its files change (keeping the old one while the new
        /// one does not load), and serve scenarios added to the folder
        #[arg(long)]
        watch: bool,
        /// Longest one rule call may run, in seconds
        #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
        call_deadline: f64,
        /// Longest all rule calls of one request's run may take together, in seconds
        /// (a run past it is a 422 rule fault)
        #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
        rule_budget: f64,
        /// Memory rules may allocate in each Lua state, in MiB, on top of the entity views
        #[arg(long, value_name = "MIB", default_value_t = 256)]
        lua_memory: usize,
    },
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Print the Lua API of rules as a LuaLS `---@meta` file (or luau-lsp definitions)
    LuaApi {
        /// LuaLS annotations or luau-lsp definitions
        #[arg(long, value_enum, default_value_t = LuaApiFormat::Luals)]
        format: LuaApiFormat,
        /// Write to FILE (atomically: whole or not at all) instead of stdout
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// Formats of `gil sweep analyze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SweepFormat {
    /// aligned text for the terminal
    Table,
    /// markdown, for wikis and pull requests
    Md,
    Json,
}

/// The sandbox limits of every run of a sweep.
#[derive(Debug, Clone, Args)]
pub struct SweepLimits {
    /// Longest one rule call may run, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub call_deadline: f64,
    /// Longest all rule calls of one run may take together, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 600.0)]
    pub rule_budget: f64,
    /// Memory rules may allocate in the Lua state, in MiB, on top of the entity views gil builds
    #[arg(long, value_name = "MIB", default_value_t = 1024)]
    pub lua_memory: usize,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct SweepArgs {
    #[command(subcommand)]
    command: Option<SweepCommand>,
    /// The sweep file (sweep.yaml): plan, run every shard on this machine, merge, analyze
    #[arg(required = true)]
    sweep: Option<PathBuf>,
    /// The sweep folder (default: ./<sweep id>.sweep)
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// How the analysis is printed
    #[arg(long, value_enum, default_value_t = SweepFormat::Table)]
    format: SweepFormat,
    /// Runs evaluated at once, one per thread (0: every core)
    #[arg(long, value_name = "N", default_value_t = 0)]
    threads: usize,
    /// Replan a folder that holds results of another plan (they are moved aside)
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    limits: SweepLimits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SweepEmit {
    /// a Kubernetes Indexed Job, DIR/k8s-job.yaml
    K8s,
}

#[derive(Debug, Subcommand)]
enum SweepCommand {
    /// Write DIR/manifest.json (the inputs' hashes, the design, the shard rule) and print
    /// the Slurm line that runs it
    Plan {
        /// The sweep file
        sweep: PathBuf,
        /// The sweep folder to plan into
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Split the runs into N shards, contiguous blocks in run order
        #[arg(long, value_name = "N", default_value_t = 1)]
        shards: usize,
        /// Also write a job manifest for a cluster scheduler
        #[arg(long, value_enum)]
        emit: Option<SweepEmit>,
        /// The container image the Kubernetes Job runs (it must have `gil` on PATH)
        #[arg(long, value_name = "IMAGE", default_value = "gil:latest")]
        image: String,
        /// The PersistentVolumeClaim that holds the sweep folder, for the Kubernetes Job
        #[arg(long, value_name = "NAME", default_value = "gil-sweeps")]
        claim: String,
        /// Replan a folder that holds results of another plan (they are moved to
        /// DIR/replaced-<plan>/)
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        limits: SweepLimits,
    },
    /// Evaluate one shard (`--shard I/N`, or `auto` in a Slurm or Kubernetes array
    /// task), or every shard on this machine's cores; complete shards are skipped
    Run {
        /// The planned sweep folder
        dir: PathBuf,
        /// I/N (0-based), or auto: SLURM_ARRAY_TASK_ID, then JOB_COMPLETION_INDEX
        #[arg(long, value_name = "I/N|auto")]
        shard: Option<String>,
        /// Redo shards already complete
        #[arg(long)]
        force: bool,
        /// Runs evaluated at once, one per thread (0: every core)
        #[arg(long, value_name = "N", default_value_t = 0)]
        threads: usize,
    },
    /// Join the shards' parts into DIR/results.parquet, refusing gaps and strays
    Merge {
        /// The sweep folder
        dir: PathBuf,
        /// Also write DIR/results.csv
        #[arg(long)]
        csv: bool,
        /// Merge the shards that are there, leaving the missing ones out
        #[arg(long)]
        allow_incomplete: bool,
    },
    /// Find, with PRIM, the boxes of parameter ranges in which a target is missed,
    /// with each box's coverage and density (as EMA Workbench's scenario discovery)
    Discover {
        /// The sweep folder (merged)
        dir: PathBuf,
        /// The target, as PROJECT:METRIC (its results column is target:PROJECT:METRIC)
        #[arg(long, value_name = "PROJECT:METRIC")]
        target: String,
        /// The density (share of runs in a box that miss the target) a box should reach
        #[arg(long, value_name = "SHARE", default_value_t = 0.8)]
        threshold: f64,
        /// The share of a box's runs one peeling step removes
        #[arg(long, value_name = "SHARE", default_value_t = 0.05)]
        peel: f64,
        /// Peeling stops below this share of all runs
        #[arg(long, value_name = "SHARE", default_value_t = 0.05)]
        mass_min: f64,
        /// Boxes to look for, each among the runs the boxes before it leave
        #[arg(long, value_name = "N", default_value_t = 3)]
        boxes: usize,
        /// Output format (table on a terminal; md for wikis; json for machines)
        #[arg(long, value_enum, default_value_t = SweepFormat::Table)]
        format: SweepFormat,
        /// Write to FILE (atomically: whole or not at all) instead of stdout
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Print each output's distribution, its Sobol or Morris indices, and how often
    /// each target is met
    Analyze {
        /// The sweep folder (merged)
        dir: PathBuf,
        /// Only this output: a column (`metric@2030`, `metric:max`) or a metric's columns
        #[arg(long, value_name = "NAME")]
        output: Option<String>,
        /// Output format (table on a terminal; md for wikis; json for machines)
        #[arg(long, value_enum, default_value_t = SweepFormat::Table)]
        format: SweepFormat,
        /// Write to FILE (atomically: whole or not at all) instead of stdout
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum GenCommand {
    /// A national-scale synthetic scenario, its rules, and plain Lua and Python baselines
    Synthetic {
        /// Actors (firms, agencies, …) to generate
        #[arg(long, default_value_t = 100_000)]
        actors: usize,
        /// Scenario flows to generate
        #[arg(long, default_value_t = 300_000)]
        flows: usize,
        /// Years of the horizon
        #[arg(long, default_value_t = 10)]
        years: u32,
        /// Seed of the generator: the same seed gives the same files
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// Write the voucher, growth and efficiency rules in columnar form (on_actors, on_flows)
        #[arg(long)]
        columnar: bool,
        /// A new or empty folder for the scenario, rules and baselines
        dir: PathBuf,
    },
}

/// `--kind`: a flow kind by its name.
fn parse_flow_kind(name: &str) -> Result<gil_model::FlowKind, String> {
    gil_model::FlowKind::parse(name)
        .ok_or_else(|| format!("expected one of {}", gil_model::FlowKind::NAMES.join(", ")))
}

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
                    call_deadline,
                    rule_budget,
                    lua_memory,
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
