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

/// [`parse`], with each item of a list under one of `keys` at the top of the document
/// given to `sink` (key, index in the list, item) as soon as it is read; in the tree
/// returned, such a list has no items. On an error, the items already given stand for
/// nothing: the caller sets aside what it made of them.
pub fn parse_streaming(
    text: &str,
    file: FileId,
    keys: &[&str],
    sink: &mut dyn FnMut(&str, usize, Node),
) -> Result<Option<Node>, YamlError> {
    TreeBuilder::new(text, file).streaming(keys, sink).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(node: &Node) -> usize {
        match &node.kind {
            NodeKind::Seq(items) => items.len(),
            _ => panic!("expected a list, found {}", node.describe()),
        }
    }

    #[test]
    fn a_streamed_list_gives_its_items_to_the_sink_in_order_and_keeps_none() {
        let text = "a: [1, 2]\nactors:\n  - { id: x }\n  - { id: y }\nb: { actors: [3] }\n";
        let mut seen = Vec::new();
        let root = parse_streaming(text, 0, &["actors"], &mut |key, index, item| {
            let id = item
                .get("id")
                .and_then(Node::as_str)
                .unwrap_or("?")
                .to_string();
            seen.push((key.to_string(), index, id, item.span.end as usize));
        })
        .unwrap()
        .unwrap();
        let last_item_end = text.find("y }").unwrap() + 3;
        assert_eq!(
            seen,
            [
                (
                    "actors".to_string(),
                    0,
                    "x".to_string(),
                    text.find("x }").unwrap() + 3
                ),
                ("actors".to_string(), 1, "y".to_string(), last_item_end),
            ]
        );
        let actors = root.get("actors").unwrap();
        assert_eq!(items(actors), 0);
        let whole = parse(text, 0).unwrap().unwrap();
        assert_eq!(
            actors.span,
            whole.get("actors").unwrap().span,
            "the list spans as much"
        );
        // Only lists at the top of the document are streamed.
        assert_eq!(items(root.get("a").unwrap()), 2);
        assert_eq!(items(root.get("b").unwrap().get("actors").unwrap()), 1);
    }
}
