//! The spanned tree: every node keeps the byte span it was read from.

use super::scalar::{resolve_plain, Plain};
use crate::span::Span;

/// What a node holds; mapping entries keep their file order.
#[derive(Debug, Clone)]
pub enum NodeKind {
    Null,
    /// Scalar text; `plain` scalars are resolved to numbers and booleans.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// One value of the document and the bytes it was read from (for a copy made by an
/// alias, the alias's bytes).
#[derive(Debug, Clone)]
pub struct Node {
    pub kind: NodeKind,
    pub span: Span,
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// What the node is, for "expected X, found Y" messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            NodeKind::Null => "nothing",
            NodeKind::Scalar { text, plain } => match (plain, resolve_plain(text)) {
                (true, Plain::Int(_)) | (true, Plain::Float(_)) => "a number",
                (true, Plain::Bool(_)) => "a boolean",
                _ => "a string",
            },
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }
}

impl Node {
    /// The node as a plain YAML value (positions dropped), e.g. to re-read an inline
    /// scenario with the ordinary loader.
    pub fn to_value(&self) -> serde_yaml::Value {
        use serde_yaml::Value;
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Scalar { text, plain: false } => Value::String(text.clone()),
            NodeKind::Scalar { text, plain: true } => match resolve_plain(text) {
                Plain::Int(i) => Value::Number(i.into()),
                Plain::Float(f) => Value::Number(f.into()),
                Plain::Bool(b) => Value::Bool(b),
                Plain::Str => Value::String(text.clone()),
            },
            NodeKind::Seq(items) => Value::Sequence(items.iter().map(Node::to_value).collect()),
            NodeKind::Map(entries) => Value::Mapping(
                entries
                    .iter()
                    .map(|(k, v)| (k.to_value(), v.to_value()))
                    .collect(),
            ),
        }
    }
}
