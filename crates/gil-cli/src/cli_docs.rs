//! docs/cli.md, generated from the clap definitions so the reference cannot drift from
//! the binary. The test rewrites the page with `GIL_UPDATE_DOCS=1`.

use clap::{Arg, Command};

/// One argument as a table row: how it is written, what it does, its default.
fn row(arg: &Arg) -> Option<String> {
    if arg.is_hide_set() || matches!(arg.get_id().as_str(), "help" | "version") {
        return None;
    }
    let values = arg
        .get_value_names()
        .map(|names| {
            names
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| arg.get_id().as_str().to_uppercase());
    let written = match (arg.get_long(), arg.is_positional()) {
        (_, true) => {
            if arg.is_required_set() {
                values
            } else {
                format!("[{values}]")
            }
        }
        (Some(long), false) => {
            let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
            if takes_value {
                format!("--{long} {values}")
            } else {
                format!("--{long}")
            }
        }
        (None, false) => return None,
    };
    // Inside a table cell a bare `|` would end the cell (`--out FILE|DIR`).
    let written = written.replace('|', "\\|");
    let help = arg
        .get_help()
        .map(|h| h.to_string())
        .unwrap_or_default()
        .replace('|', "\\|");
    let possible: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| format!("`{}`", v.get_name()))
        .collect();
    let mut meaning = help;
    let is_flag = matches!(
        arg.get_action(),
        clap::ArgAction::SetTrue | clap::ArgAction::SetFalse
    );
    if !possible.is_empty() && !is_flag {
        meaning.push_str(&format!(" ({})", possible.join(", ")));
    }
    let default: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    let default = if default.is_empty() {
        String::new()
    } else {
        format!("`{}`", default.join(" "))
    };
    Some(format!("| `{written}` | {meaning} | {default} |\n"))
}

fn section(out: &mut String, path: &str, cmd: &Command) {
    if cmd.is_hide_set() {
        return;
    }
    let subcommands: Vec<&Command> = cmd
        .get_subcommands()
        .filter(|c| c.get_name() != "help")
        .collect();
    if !subcommands.is_empty() {
        for sub in subcommands {
            section(out, &format!("{path} {}", sub.get_name()), sub);
        }
        return;
    }
    out.push_str(&format!("## `{path}`\n\n"));
    if let Some(about) = cmd.get_long_about().or(cmd.get_about()) {
        out.push_str(&format!("{about}\n\n"));
    }
    let rows: Vec<String> = cmd
        .get_arguments()
        .filter(|a| !a.is_global_set())
        .filter_map(row)
        .collect();
    if !rows.is_empty() {
        out.push_str("| argument | meaning | default |\n|---|---|---|\n");
        for r in rows {
            out.push_str(&r);
        }
        out.push('\n');
    }
}

/// The whole page.
pub fn markdown(cli: &Command) -> String {
    let mut out = String::from(
        "# Command line\n\n\
         <!-- Generated from the clap definitions by crates/gil-cli/src/cli_docs.rs; do\n\
         not edit by hand (GIL_UPDATE_DOCS=1 cargo test -p gil-cli rewrites it). -->\n\n",
    );
    if let Some(about) = cli.get_about() {
        out.push_str(&format!("{about}\n\n"));
    }
    out.push_str(
        "Exit codes: 0 ok · 1 checks or tests failed · 2 bad input or a rule fault · \
         130/143 interrupted (SIGINT/SIGTERM).\n\n## Options of every command\n\n\
         | argument | meaning | default |\n|---|---|---|\n",
    );
    for arg in cli.get_arguments().filter(|a| a.is_global_set()) {
        if let Some(r) = row(arg) {
            out.push_str(&r);
        }
    }
    out.push('\n');
    section(&mut out, "gil", cli);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cli_reference_is_generated_from_the_clap_definitions() {
        use clap::CommandFactory;
        let mut cli = crate::Cli::command();
        cli.build();
        let undocumented: Vec<String> = cli
            .get_subcommands()
            .flat_map(|c| c.get_subcommands().chain(std::iter::once(c)))
            .flat_map(|c| {
                c.get_arguments()
                    .filter(|a| a.get_help().is_none() && !a.is_hide_set())
                    .map(move |a| format!("gil {} {}", c.get_name(), a.get_id()))
            })
            .filter(|a| !a.ends_with(" help") && !a.ends_with(" version"))
            .collect();
        assert!(
            undocumented.is_empty(),
            "arguments without help: {undocumented:?}"
        );
        let generated = super::markdown(&cli);
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/cli.md");
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == generated {
            return;
        }
        if std::env::var_os("GIL_UPDATE_DOCS").is_some() {
            std::fs::write(&path, &generated).unwrap();
            return;
        }
        panic!(
            "docs/cli.md is out of date; run `GIL_UPDATE_DOCS=1 cargo test -p gil-cli` and review it"
        );
    }
}
