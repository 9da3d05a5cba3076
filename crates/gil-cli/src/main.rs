//! `gil` — the command line. Thin: parse arguments, call the libraries, print, exit.
//!
//! Exit codes: 0 ok; 1 checks or tests failed; 2 bad input or a rule fault.

mod check;
mod output;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Policy-as-code for national AI-compute strategy.
#[derive(Debug, Parser)]
#[command(name = "gil", version, about, long_about = None)]
struct Cli {
    /// When to colour human output (`NO_COLOR` also turns it off)
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

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the Lua API of rules as a LuaLS `---@meta` file (or luau-lsp definitions)
    LuaApi {
        #[arg(long, value_enum, default_value_t = LuaApiFormat::Luals)]
        format: LuaApiFormat,
    },
    /// Load and validate a scenario; report every problem with file:line:column
    Check {
        /// The scenario file (default: the bundled korea-2030 example)
        scenario: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
        format: CheckFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LuaApiFormat {
    /// LuaLS (lua-language-server) `---@meta` annotations
    Luals,
    /// luau-lsp type definitions (`.d.luau`)
    Luau,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
    let color = output::use_color(cli.color);
    match cli.command {
        Command::Check { scenario, format } => {
            check::check(&output::scenario_path(scenario), format, color)
        }
        Command::LuaApi { format } => {
            let text = match format {
                LuaApiFormat::Luals => gil_rules::api::luals_meta(),
                LuaApiFormat::Luau => gil_rules::api::luau_definitions(),
            };
            output::print_stdout(&text)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
