//! The syntax pass: libyaml, through serde_yaml, reads the whole text before the tree
//! is trusted.

use serde::de;

use super::error::YamlError;
use crate::code::Code;
use crate::span::{FileId, Span};

/// libyaml (through serde_yaml) is the authority on syntax and refuses documents whose
/// aliases expand past its repetition limit.
pub(super) fn check_syntax(text: &str, file: FileId) -> Result<(), YamlError> {
    if let Err(err) = serde_yaml::from_str::<de::IgnoredAny>(text) {
        let span = err.location().map(|loc| {
            let start = loc.index().min(text.len());
            Span::new(file, start, start)
        });
        let message = strip_location(&err.to_string());
        let (code, message) = if message.contains("repetition limit") {
            (
                Code::YamlTooLarge,
                "the document's aliases expand to too many nodes (possible alias bomb)".to_string(),
            )
        } else if message.contains("recursion limit") {
            (
                Code::YamlTooDeep,
                format!("the document nests too deeply ({message})"),
            )
        } else {
            (Code::YamlSyntax, message)
        };
        return Err(YamlError {
            message,
            span: Some(span.unwrap_or(Span::new(file, 0, 0))),
            path: None,
            help: None,
            code,
        });
    }
    Ok(())
}

fn strip_location(message: &str) -> String {
    // serde_yaml appends " at line L column C"; the diagnostic shows the position itself.
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}
