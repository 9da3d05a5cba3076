//! The outcome, a diff and role tables as aligned text or markdown.
//!
//! One concern per file: `table.rs` (the `Table` and terminal widths), `outcome.rs`
//! (`gil run`), `roles.rs` (`gil roles`) and `diff.rs` (`gil diff`); the small pieces
//! they share (headings, counts, levels and statuses) are here.

mod diff;
mod outcome;
mod roles;
mod table;

pub use diff::diff_text;
pub use outcome::{outcome_text, TextOptions};
pub use roles::roles_text;
pub use table::{display_width, Table};

use std::fmt::Write;

use gil_engine::outcome::Status;
use gil_rules::Level;

/// `n thing` or `n things`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A target's condition: `≥ x`, `≤ x` or `lo – hi`.
pub fn target_range(at_least: Option<f64>, at_most: Option<f64>) -> String {
    match (at_least, at_most) {
        (Some(lo), Some(hi)) => format!("{} – {}", crate::human(lo), crate::human(hi)),
        (Some(x), None) => format!("≥ {}", crate::human(x)),
        (None, Some(x)) => format!("≤ {}", crate::human(x)),
        _ => String::new(),
    }
}

fn heading(out: &mut String, markdown: bool, level: usize, text: &str) {
    if markdown {
        let _ = writeln!(out, "\n{} {text}\n", "#".repeat(level));
    } else {
        let _ = writeln!(out, "\n{text}");
    }
}

/// A table, or `none` when it has no rows (an empty table is only a header).
fn table_or_none(out: &mut String, t: &Table, markdown: bool, none: &str) {
    if t.rows.is_empty() {
        let _ = writeln!(out, "{}{none}", if markdown { "" } else { "  " });
    } else {
        out.push_str(&t.render(markdown));
    }
}

fn level_text(level: Level, color: bool) -> String {
    let (name, code) = match level {
        Level::Error => ("error", "31"),
        Level::Warn => ("warn", "33"),
        Level::Info => ("info", "36"),
    };
    if color {
        format!("\u{1b}[{code}m{name}\u{1b}[0m")
    } else {
        name.to_string()
    }
}

fn status_text(status: Status, markdown: bool, color: bool) -> String {
    match (status, markdown, color) {
        (Status::Pass, true, _) => "✅ pass".into(),
        (Status::Warn, true, _) => "⚠️ warn".into(),
        (Status::Fail, true, _) => "❌ fail".into(),
        (Status::Pass, false, true) => "\u{1b}[32mpass\u{1b}[0m".into(),
        (Status::Warn, false, true) => "\u{1b}[33mwarn\u{1b}[0m".into(),
        (Status::Fail, false, true) => "\u{1b}[31mfail\u{1b}[0m".into(),
        (Status::Pass, false, false) => "pass".into(),
        (Status::Warn, false, false) => "warn".into(),
        (Status::Fail, false, false) => "fail".into(),
    }
}
