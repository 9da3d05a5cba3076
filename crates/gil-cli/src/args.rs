//! The command line's grammar: every command, argument and format as clap reads them,
//! with the help text each one shows. `main.rs` dispatches the parsed [`Cli`].

use std::path::PathBuf;

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
pub(crate) struct Cli {
    /// When to colour output (`NO_COLOR` also turns it off)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub(crate) color: ColorChoice,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CheckFormat {
    /// rustc-style messages with source excerpts
    Human,
    /// one JSON document on stdout
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DocFormat {
    /// aligned text for the terminal
    Table,
    /// markdown, for wikis and pull requests
    Md,
    Json,
    Yaml,
}

/// `gil run`'s formats: the documents, or the outcome as a folder of tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RunFormat {
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
pub(crate) enum ExplainFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LuaApiFormat {
    /// LuaLS (lua-language-server) `---@meta` annotations
    Luals,
    /// luau-lsp type definitions (`.d.luau`)
    Luau,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub(crate) enum FailOn {
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
pub(crate) struct EvalArgs {
    /// Extra rule file or folder (repeatable), on top of `scenario.rules`
    #[arg(long = "rules", value_name = "PATH")]
    pub(crate) rules: Vec<PathBuf>,
    /// Override a parameter in every year: `--param voucher.coverage=0.5`; a list parameter takes `a,b` (repeatable)
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub(crate) params: Vec<String>,
    #[command(flatten)]
    pub(crate) limits: RuleLimits,
    /// Worker threads for per-entity hooks (0: every core); the outcome is the same for any N
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) threads: usize,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
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
pub(crate) enum SweepFormat {
    /// aligned text for the terminal
    Table,
    /// markdown, for wikis and pull requests
    Md,
    Json,
}

/// The sandbox limits of a run's rules: of every evaluating command and of every run
/// of a sweep (`gil serve` has its own, tighter defaults).
#[derive(Debug, Clone, Args)]
pub(crate) struct RuleLimits {
    /// Longest one rule call may run, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = RuleLimits::DEFAULT.call_deadline)]
    pub(crate) call_deadline: f64,
    /// Longest all rule calls of one run may take together, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = RuleLimits::DEFAULT.rule_budget)]
    pub(crate) rule_budget: f64,
    /// Memory rules may allocate in the Lua state, in MiB, on top of the entity views gil builds
    #[arg(long, value_name = "MIB", default_value_t = RuleLimits::DEFAULT.lua_memory)]
    pub(crate) lua_memory: usize,
}

impl RuleLimits {
    /// What the command line gives when no limit is named.
    pub(crate) const DEFAULT: RuleLimits = RuleLimits {
        call_deadline: 5.0,
        rule_budget: 600.0,
        lua_memory: 1024,
    };
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct SweepArgs {
    #[command(subcommand)]
    pub(crate) command: Option<SweepCommand>,
    /// The sweep file (sweep.yaml): plan, run every shard on this machine, merge, analyze
    #[arg(required = true)]
    pub(crate) sweep: Option<PathBuf>,
    /// The sweep folder (default: ./<sweep id>.sweep)
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// How the analysis is printed
    #[arg(long, value_enum, default_value_t = SweepFormat::Table)]
    pub(crate) format: SweepFormat,
    /// Runs evaluated at once, one per thread (0: every core)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) threads: usize,
    /// Replan a folder that holds results of another plan (they are moved aside)
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) limits: RuleLimits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SweepEmit {
    /// a Kubernetes Indexed Job, DIR/k8s-job.yaml
    K8s,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SweepCommand {
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
        limits: RuleLimits,
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
pub(crate) enum GenCommand {
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
        /// Write the actors, assets and flows as tables under `data/` (as a national
        /// registry arrives) instead of in the scenario file; no baselines then, as they
        /// read the scenario file
        #[arg(long, value_name = "FORMAT")]
        tables: Option<TableFormat>,
        /// A new or empty folder for the scenario, rules and baselines
        dir: PathBuf,
    },
}

/// `gil gen synthetic --tables`: the format of the entity tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    Csv,
    Parquet,
}

impl TableFormat {
    pub fn extension(self) -> &'static str {
        match self {
            TableFormat::Csv => "csv",
            TableFormat::Parquet => "parquet",
        }
    }
}

/// `--kind`: a flow kind by its name.
fn parse_flow_kind(name: &str) -> Result<gil_model::FlowKind, String> {
    gil_model::FlowKind::parse(name)
        .ok_or_else(|| format!("expected one of {}", gil_model::FlowKind::NAMES.join(", ")))
}
