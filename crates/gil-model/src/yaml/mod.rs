//! A span-keeping YAML tree and a serde deserializer over it.
//!
//! The text is read once: saphyr-parser's events are folded into a tree where every
//! node keeps its byte span, under a node budget against alias bombs and a bound on
//! nesting, and typed structs are deserialized from that tree. Errors carry the span
//! and key path of the node that caused them, so the loader can report
//! `flows[3].amount` at `file:line:column` and keep going with the next entity.
//!
//! One concern per file: `tree.rs` (events into spanned nodes), `node.rs` (the tree),
//! `scalar.rs` (what plain scalars mean), `de.rs` (the serde `Deserializer`),
//! `error.rs` and `path.rs` (what a problem says and where).

mod de;
mod error;
mod node;
mod path;
mod scalar;
mod tree;

pub use de::from_node;
pub use error::YamlError;
pub use node::{Node, NodeKind};
pub use path::Path;
pub use scalar::{is_null, resolve_plain, Plain};

use crate::span::FileId;
use tree::TreeBuilder;

/// Deepest nesting accepted; deeper documents are refused rather than recursed into.
pub const MAX_DEPTH: usize = 64;

/// Parses `text` into a spanned tree. Returns `Ok(None)` for a document with no content.
pub fn parse(text: &str, file: FileId) -> Result<Option<Node>, YamlError> {
    TreeBuilder::new(text, file).build()
}
