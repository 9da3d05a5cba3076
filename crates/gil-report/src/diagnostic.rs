//! Rule errors rendered like compiler errors, with the rule's source line.

use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, termcolor, Config, Styles, StylesWriter};
use gil_rules::RuleError;

/// A rule error like a compiler error: code, message, and the rule's line when the
/// file can be read.
///
/// Rule files are named relative to the scenario's folder `base` (as documents show
/// them); the message names them from the working directory, so it stays clickable.
pub fn render_rule_error(err: &RuleError, base: &std::path::Path, color: bool) -> String {
    let mut files = SimpleFiles::new();
    let mut diagnostic = Diagnostic::error()
        .with_code(err.kind.code())
        .with_message(&err.message);
    let mut notes = Vec::new();
    if let Some(rule) = &err.rule {
        notes.push(format!("rule: {rule}"));
    }
    let on_disk = gil_model::load::from_base(base, &err.file);
    let text = std::fs::read_to_string(&on_disk).ok();
    let shown = if text.is_some() {
        on_disk.to_string_lossy().replace('\\', "/")
    } else {
        err.file.clone()
    };
    match (text, err.line) {
        (Some(text), Some(line)) if line > 0 => {
            let start: usize = text
                .split_inclusive('\n')
                .take(line as usize - 1)
                .map(str::len)
                .sum();
            let len = text[start.min(text.len())..]
                .lines()
                .next()
                .map(str::len)
                .unwrap_or(0);
            let indent = text[start.min(text.len())..].len()
                - text[start.min(text.len())..].trim_start().len();
            let file = files.add(shown, text);
            diagnostic = diagnostic.with_labels(vec![Label::primary(
                file,
                start + indent.min(len)..start + len,
            )]);
        }
        _ => notes.insert(0, format!("in {}", err.location())),
    }
    if let Some(help) = &err.help {
        notes.push(format!("help: {help}"));
    }
    diagnostic = diagnostic.with_notes(notes);
    let config = Config::default();
    if color {
        let styles = Styles::default();
        let mut buffer = termcolor::Buffer::ansi();
        let mut writer = StylesWriter::new(&mut buffer, &styles);
        if term::emit_to_write_style(&mut writer, &config, &files, &diagnostic).is_ok() {
            return String::from_utf8_lossy(buffer.as_slice()).into_owned();
        }
    }
    term::emit_into_string(&config, &files, &diagnostic)
        .unwrap_or_else(|_| format!("error: {err}\n"))
}
