//! Diagnostics: positioned, coded messages rendered like rustc/ruff or as JSON.

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label, Severity as CsSeverity};
use codespan_reporting::term::{self, termcolor, Config, Styles, StylesWriter};
use serde::Serialize;

pub use crate::code::Code;
use crate::span::{SourceMap, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in the user's input.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable, kebab-case identifier (`unknown-id`, `yaml-syntax`, …).
    pub code: Code,
    pub message: String,
    pub span: Option<Span>,
    /// Key path inside the file, such as `flows[3].to`.
    pub path: Option<String>,
    /// Further places worth showing (the first definition of a duplicate, say).
    pub related: Vec<(Span, String)>,
    pub help: Option<String>,
    /// The file, for problems that have no position inside it (a missing file).
    pub file_name: Option<String>,
    /// Context worth a line of its own: the rule, the year and entity being evaluated.
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span: None,
            path: None,
            related: Vec::new(),
            help: None,
            file_name: None,
            notes: Vec::new(),
        }
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn related(mut self, span: Span, note: impl Into<String>) -> Self {
        self.related.push((span, note.into()));
        self
    }

    pub fn file(mut self, name: impl Into<String>) -> Self {
        self.file_name = Some(name.into());
        self
    }

    fn to_codespan(&self) -> CsDiagnostic<usize> {
        let severity = match self.severity {
            Severity::Error => CsSeverity::Error,
            Severity::Warning => CsSeverity::Warning,
        };
        let mut labels = Vec::new();
        if let Some(span) = self.span {
            let text = self
                .path
                .as_ref()
                .map(|p| format!("at `{p}`"))
                .unwrap_or_default();
            labels.push(Label::primary(span.file, span.range()).with_message(text));
        }
        for (span, note) in &self.related {
            labels.push(Label::secondary(span.file, span.range()).with_message(note.clone()));
        }
        let mut notes = Vec::new();
        if self.span.is_none() {
            if let Some(file) = &self.file_name {
                notes.push(format!("in {file}"));
            }
        }
        notes.extend(self.notes.iter().cloned());
        if let Some(help) = &self.help {
            notes.push(format!("help: {help}"));
        }
        CsDiagnostic::new(severity)
            .with_code(self.code)
            .with_message(&self.message)
            .with_labels(labels)
            .with_notes(notes)
    }

    /// The diagnostic as rustc-style text with a source excerpt; ANSI colour on request.
    pub fn render(&self, sources: &SourceMap, color: bool) -> String {
        let config = Config::default();
        let diagnostic = self.to_codespan();
        if color {
            let styles = Styles::default();
            let mut buffer = termcolor::Buffer::ansi();
            let mut writer = StylesWriter::new(&mut buffer, &styles);
            if term::emit_to_write_style(&mut writer, &config, sources.files(), &diagnostic).is_ok()
            {
                return String::from_utf8_lossy(buffer.as_slice()).into_owned();
            }
        }
        term::emit_into_string(&config, sources.files(), &diagnostic)
            .unwrap_or_else(|_| format!("error[{}]: {}\n", self.code, self.message))
    }

    /// The diagnostic as a JSON-ready record.
    pub fn to_record(&self, sources: &SourceMap) -> DiagnosticRecord {
        let (file, line, column, end_line, end_column) = match self.span {
            Some(span) => {
                let (line, column) = sources.line_col(span.file, span.start as usize);
                let (end_line, end_column) = sources.line_col(span.file, span.end as usize);
                (
                    Some(sources.name(span.file)),
                    Some(line),
                    Some(column),
                    Some(end_line),
                    Some(end_column),
                )
            }
            None => (self.file_name.clone(), None, None, None, None),
        };
        DiagnosticRecord {
            severity: self.severity,
            code: self.code,
            message: self.message.clone(),
            file,
            line,
            column,
            end_line,
            end_column,
            path: self.path.clone(),
            help: self.help.clone(),
            notes: self.notes.clone(),
            related: self
                .related
                .iter()
                .map(|(span, note)| RelatedRecord {
                    location: sources.locate(*span),
                    note: note.clone(),
                })
                .collect(),
        }
    }
}

/// The machine-readable form of a [`Diagnostic`] (`--format json`).
#[derive(Debug, Clone, Serialize)]
pub struct DiagnosticRecord {
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub end_line: Option<usize>,
    pub end_column: Option<usize>,
    pub path: Option<String>,
    pub help: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub related: Vec<RelatedRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RelatedRecord {
    pub location: String,
    pub note: String,
}

/// The closest candidate to `input`, if one is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(f64, &'a str)> = None;
    for candidate in candidates {
        let score = strsim::jaro_winkler(input, candidate);
        if score >= 0.8 && best.is_none_or(|(s, c)| score > s || (score == s && candidate < c)) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// Diagnostics in a stable order: by file, position, then code.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        let key = |d: &Diagnostic| {
            (
                d.span.map(|s| (s.file, s.start)),
                d.code.as_str(),
                d.message.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
}
