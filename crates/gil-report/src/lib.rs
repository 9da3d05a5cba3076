//! Renderers: the outcome as a terminal table, markdown, JSON or YAML; diffs; and the
//! flow graph as Graphviz DOT or Mermaid. Renderers only format: every number comes
//! from the outcome.

pub mod explain;
pub mod graph;
pub mod html;
pub mod palette;
pub mod text;

use gil_engine::Outcome;
use serde::Serialize;

/// Output formats for documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Markdown,
    Json,
    Yaml,
}

#[derive(Debug)]
pub struct RenderError(pub String);

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RenderError {}

/// Any serde document as pretty JSON (with a final newline) or YAML.
pub fn to_json<T: Serialize>(value: &T) -> Result<String, RenderError> {
    serde_json::to_string_pretty(value)
        .map(|s| s + "\n")
        .map_err(|e| RenderError(e.to_string()))
}

pub fn to_yaml<T: Serialize>(value: &T) -> Result<String, RenderError> {
    serde_yaml::to_string(value).map_err(|e| RenderError(e.to_string()))
}

/// The outcome in `format`; `opts` says what the table and markdown forms show.
pub fn render_outcome(
    outcome: &Outcome,
    format: Format,
    opts: &text::TextOptions,
) -> Result<String, RenderError> {
    let mut bytes = Vec::new();
    write_outcome(outcome, format, opts, &mut bytes).map_err(|e| RenderError(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| RenderError(e.to_string()))
}

/// Streams the outcome in `format` into `out`: a national-scale JSON or YAML document
/// is never held in memory whole. I/O errors keep their kind (a closed pipe stays one).
pub fn write_outcome(
    outcome: &Outcome,
    format: Format,
    opts: &text::TextOptions,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, outcome)?;
            out.write_all(b"\n")
        }
        Format::Yaml => serde_yaml::to_writer(out, outcome).map_err(std::io::Error::other),
        Format::Table => out.write_all(text::outcome_text(outcome, false, opts).as_bytes()),
        Format::Markdown => out.write_all(text::outcome_text(outcome, true, opts).as_bytes()),
    }
}

/// A number for people: three significant figures with k / M / B / T.
pub fn human(v: f64) -> String {
    let (scaled, suffix) = gil_engine::scale_si(v);
    let digits = if scaled.abs() >= 100.0 {
        0
    } else if scaled.abs() >= 10.0 {
        1
    } else {
        2
    };
    let mut s = format!("{scaled:.digits$}");
    if s.contains('.') && suffix.is_empty() {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    if s == "-0" {
        s = "0".into();
    }
    format!("{s}{suffix}")
}
