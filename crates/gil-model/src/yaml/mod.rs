//! A span-keeping YAML tree and a serde deserializer over it.
//!
//! `serde_yaml` (the `yaml_serde` continuation) checks syntax first and guards against
//! alias bombs; this module then builds a tree from saphyr-parser's events, where every
//! node keeps its byte span, and deserializes typed structs from that tree. Errors
//! carry the span and key path of the node that caused them, so the loader can report
//! `flows[3].amount` at `file:line:column` and keep going with the next entity.
//!
//! One concern per file: `syntax.rs` (the libyaml pass), `tree.rs` (events into spanned
//! nodes), `node.rs` (the tree), `scalar.rs` (what plain scalars mean), `de.rs` (the
//! serde `Deserializer`), `error.rs` and `path.rs` (what a problem says and where).

mod de;
mod error;
mod node;
mod path;
mod scalar;
mod syntax;
mod tree;

pub use de::from_node;
pub use error::YamlError;
pub use node::{Node, NodeKind};
pub use path::Path;
pub use scalar::{is_null, resolve_plain, Plain};

use crate::span::FileId;
use syntax::check_syntax;
use tree::TreeBuilder;

/// Deepest nesting accepted; deeper documents are refused rather than recursed into.
pub const MAX_DEPTH: usize = 64;

/// Parses `text` into a spanned tree. Returns `Ok(None)` for a document with no content.
pub fn parse(text: &str, file: FileId) -> Result<Option<Node>, YamlError> {
    // Large files: the syntax pass and the tree (which has its own node budget) are
    // independent reads of the text, so they run side by side; the syntax verdict still
    // comes first.
    if text.len() >= PARALLEL_PARSE_BYTES {
        let (syntax, tree) = std::thread::scope(|scope| {
            let syntax = scope.spawn(|| check_syntax(text, file));
            let tree = TreeBuilder::new(text, file).build();
            (syntax.join(), tree)
        });
        return match syntax {
            Ok(Ok(())) => tree,
            Ok(Err(e)) => Err(e),
            Err(_) => check_syntax(text, file).and(tree),
        };
    }
    check_syntax(text, file)?;
    TreeBuilder::new(text, file).build()
}

/// Files at least this large are parsed on two threads.
const PARALLEL_PARSE_BYTES: usize = 256 * 1024;
