//! `YamlError`: a YAML problem with the span, key path and code the diagnostic shows.

use std::fmt;

use serde::de;

use super::path::Path;
use crate::code::Code;
use crate::span::Span;

/// A YAML problem with its position.
#[derive(Debug, Clone)]
pub struct YamlError {
    pub message: String,
    pub span: Option<Span>,
    pub path: Option<String>,
    pub help: Option<String>,
    pub code: Code,
}

impl YamlError {
    pub(super) fn at(mut self, span: Span, path: &Path<'_>) -> Self {
        if self.span.is_none() {
            self.span = Some(span);
            self.path = Some(path.to_string());
        }
        self
    }
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for YamlError {}

impl de::Error for YamlError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        YamlError {
            message: msg.to_string(),
            span: None,
            path: None,
            help: None,
            code: Code::InvalidValue,
        }
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        let help = crate::diag::did_you_mean(field, expected.iter().copied())
            .map(|s| format!("did you mean `{s}`?"))
            .or_else(|| {
                (!expected.is_empty()).then(|| {
                    let list: Vec<String> = expected.iter().map(|e| format!("`{e}`")).collect();
                    format!("expected one of {}", list.join(", "))
                })
            });
        YamlError {
            message: format!("unknown field `{field}`"),
            span: None,
            path: None,
            help,
            code: Code::UnknownField,
        }
    }

    fn missing_field(field: &'static str) -> Self {
        YamlError {
            message: format!("missing field `{field}`"),
            span: None,
            path: None,
            help: None,
            code: Code::MissingField,
        }
    }

    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        YamlError {
            message: format!("expected {exp}, found {unexp}"),
            span: None,
            path: None,
            help: None,
            code: Code::WrongType,
        }
    }
}
