//! The tree builder: saphyr-parser's events folded into spanned nodes. Anchors and
//! aliases are resolved under a node budget, nesting is bounded by `MAX_DEPTH`, a file
//! holds one document and a mapping no key twice.

use std::borrow::Cow;
use std::collections::BTreeMap;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, ScanError};

use super::error::YamlError;
use super::node::{Node, NodeKind};
use super::scalar::is_null;
use super::MAX_DEPTH;
use crate::code::Code;
use crate::span::{FileId, Span};

/// Where the items of a streamed list go, as each is complete: the list's key at the
/// top of the document, the item's index in the list, and the item.
pub type ItemSink<'s> = &'s mut dyn FnMut(&str, usize, Node);

/// Builds the spanned tree of one document from saphyr-parser's events.
pub(super) struct TreeBuilder<'a, 's> {
    text: &'a str,
    file: FileId,
    line_starts: Vec<usize>,
    anchors: BTreeMap<usize, Node>,
    node_budget: usize,
    /// Collections opened and not yet closed, innermost last.
    stack: Vec<Frame>,
    /// The document's top node, once it is complete.
    root: Option<Node>,
    /// Documents started so far: a second one is refused.
    documents: usize,
    /// The top-level keys whose lists are streamed, and where their items go.
    streamed: Option<(&'s [&'s str], ItemSink<'s>)>,
}

/// A collection being read: what it holds so far, where it starts and its anchor
/// (0 for none).
enum Frame {
    Seq {
        items: Vec<Node>,
        start: usize,
        anchor: usize,
        /// For a streamed list: its key, how many items went to the sink and where the
        /// last one ended (the list's node keeps no items).
        streamed: Option<Streamed>,
    },
    Map {
        entries: Vec<(Node, Node)>,
        pending_key: Option<Node>,
        start: usize,
        anchor: usize,
    },
}

/// A streamed list being read.
struct Streamed {
    key: String,
    items: usize,
    last_end: Option<usize>,
}

impl<'a, 's> TreeBuilder<'a, 's> {
    pub(super) fn new(text: &'a str, file: FileId) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        TreeBuilder {
            text,
            file,
            line_starts,
            anchors: BTreeMap::new(),
            // Generous for hand-written files, small enough that aliases cannot blow up.
            node_budget: text.len().saturating_mul(4).saturating_add(10_000),
            stack: Vec::new(),
            root: None,
            documents: 0,
            streamed: None,
        }
    }

    /// Hands every item of a list under one of `keys` at the top of the document to
    /// `sink` as soon as it is read, instead of keeping it in the tree: a national file's
    /// actors and flows are never all held as nodes at once. The list's node stays, with
    /// no items.
    pub(super) fn streaming(mut self, keys: &'s [&'s str], sink: ItemSink<'s>) -> Self {
        self.streamed = Some((keys, sink));
        self
    }

    /// Reads every event in order; each node an event completes goes into the
    /// collection around it. `None` for a document with no content.
    pub(super) fn build(mut self) -> Result<Option<Node>, YamlError> {
        for event in Parser::new_from_str(self.text) {
            let (event, span) = event.map_err(|e| self.scan_error(&e))?;
            let start = self.byte_offset(&span.start);
            let end = self.byte_offset(&span.end);
            if let Some(node) = self.read_event(event, start, end)? {
                self.attach(node)?;
            }
        }
        Ok(self.root.filter(|n| !matches!(n.kind, NodeKind::Null)))
    }

    /// One event spanning `start..end`: the node it completes (a scalar, an alias, a
    /// closed collection), if any.
    fn read_event(
        &mut self,
        event: Event<'a>,
        start: usize,
        end: usize,
    ) -> Result<Option<Node>, YamlError> {
        match event {
            Event::DocumentStart(_) => self.start_document(start).map(|()| None),
            Event::Scalar(text, style, anchor, _tag) => {
                self.scalar(text, style, anchor, start, end).map(Some)
            }
            Event::Alias(anchor) => self.alias(anchor, start, end).map(Some),
            Event::SequenceStart(anchor, _) => {
                let frame = Frame::Seq {
                    items: Vec::new(),
                    start,
                    anchor,
                    streamed: self.streamed_key(),
                };
                self.open_collection(frame, start).map(|()| None)
            }
            Event::MappingStart(anchor, _) => {
                let frame = Frame::Map {
                    entries: Vec::new(),
                    pending_key: None,
                    start,
                    anchor,
                };
                self.open_collection(frame, start).map(|()| None)
            }
            Event::SequenceEnd => self.close_sequence(start, end).map(Some),
            Event::MappingEnd => self.close_mapping(start, end).map(Some),
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => Ok(None),
        }
    }

    fn start_document(&mut self, start: usize) -> Result<(), YamlError> {
        self.documents += 1;
        if self.documents > 1 {
            return Err(self.error(
                "a scenario file holds one YAML document; found a second `---`".into(),
                start,
                Code::YamlSyntax,
            ));
        }
        Ok(())
    }

    /// A scalar; plain `~`, `null` and the empty scalar are null.
    fn scalar(
        &mut self,
        text: Cow<'a, str>,
        style: ScalarStyle,
        anchor: usize,
        start: usize,
        end: usize,
    ) -> Result<Node, YamlError> {
        let plain = matches!(style, ScalarStyle::Plain);
        let kind = if plain && is_null(&text) {
            NodeKind::Null
        } else {
            NodeKind::Scalar {
                text: text.into_owned(),
                plain,
            }
        };
        self.complete(kind, start, end.max(start), anchor)
    }

    /// A copy of the anchored node, placed at the alias. Every node of the copy is paid
    /// from the budget, so aliases of aliases cannot multiply the tree unchecked.
    fn alias(&mut self, anchor: usize, start: usize, end: usize) -> Result<Node, YamlError> {
        let Some(target) = self.anchors.get(&anchor) else {
            return Err(self.error("unknown alias".into(), start, Code::YamlSyntax));
        };
        let size = count_nodes(target);
        let mut node = target.clone();
        self.spend(size, start)?;
        node.span = Span::new(self.file, start, end.max(start));
        Ok(node)
    }

    /// A list opening now is streamed when it is the value of a streamed key of the
    /// document's top mapping.
    fn streamed_key(&self) -> Option<Streamed> {
        let (keys, _) = self.streamed.as_ref()?;
        let [Frame::Map {
            pending_key: Some(key),
            ..
        }] = self.stack.as_slice()
        else {
            return None;
        };
        let key = key.as_str()?;
        keys.contains(&key).then(|| Streamed {
            key: key.to_string(),
            items: 0,
            last_end: None,
        })
    }

    fn open_collection(&mut self, frame: Frame, start: usize) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.error(
                format!("the document nests deeper than {MAX_DEPTH} levels"),
                start,
                Code::YamlTooDeep,
            ));
        }
        self.stack.push(frame);
        Ok(())
    }

    /// The innermost collection ends with a sequence end event at `start..end`; the
    /// sequence's span runs to its last item when that ends later than the event.
    fn close_sequence(&mut self, start: usize, end: usize) -> Result<Node, YamlError> {
        let Some(Frame::Seq {
            items,
            start: opened,
            anchor,
            streamed,
        }) = self.stack.pop()
        else {
            return Err(self.error("unbalanced sequence".into(), start, Code::YamlSyntax));
        };
        let last_end = match &streamed {
            Some(streamed) => streamed.last_end,
            None => items.last().map(|n| n.span.end as usize),
        };
        let end = last_end.unwrap_or(end).max(end);
        self.complete(NodeKind::Seq(items), opened, end, anchor)
    }

    /// As [`Self::close_sequence`], for a mapping: its span runs to its last value.
    fn close_mapping(&mut self, start: usize, end: usize) -> Result<Node, YamlError> {
        let Some(Frame::Map {
            entries,
            start: opened,
            anchor,
            ..
        }) = self.stack.pop()
        else {
            return Err(self.error("unbalanced mapping".into(), start, Code::YamlSyntax));
        };
        let end = entries
            .last()
            .map(|(_, v)| v.span.end as usize)
            .unwrap_or(end)
            .max(end);
        self.complete(NodeKind::Map(entries), opened, end, anchor)
    }

    /// A node read in full: paid from the budget and, when anchored, kept for aliases.
    fn complete(
        &mut self,
        kind: NodeKind,
        start: usize,
        end: usize,
        anchor: usize,
    ) -> Result<Node, YamlError> {
        self.spend(1, start)?;
        let node = Node {
            kind,
            span: Span::new(self.file, start, end),
        };
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }

    /// A completed node goes into the collection around it: a sequence's next item, a
    /// mapping's next key or the value for its pending key; outside any, it is the root.
    fn attach(&mut self, node: Node) -> Result<(), YamlError> {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq {
                streamed: Some(streamed),
                ..
            }) => {
                if let Some((_, sink)) = self.streamed.as_mut() {
                    streamed.last_end = Some(node.span.end as usize);
                    sink(&streamed.key, streamed.items, node);
                    streamed.items += 1;
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                pending_key,
                ..
            }) => match pending_key.take() {
                None => *pending_key = Some(node),
                Some(key) => {
                    if let Some(error) = duplicate_key(&self.line_starts, entries, &key) {
                        return Err(error);
                    }
                    entries.push((key, node));
                }
            },
        }
        Ok(())
    }

    /// saphyr reports positions as (1-based line, 0-based column in characters).
    fn byte_offset(&self, marker: &Marker) -> usize {
        let line = marker.line().saturating_sub(1);
        let Some(&line_start) = self.line_starts.get(line) else {
            return self.text.len();
        };
        let rest = self.text.get(line_start..).unwrap_or("");
        // Most lines are ASCII up to the column, where characters are bytes: a slice
        // check, not a walk through the characters (it was 6% of loading a big file).
        let col = marker.col();
        if rest.as_bytes().get(..col).is_some_and(<[u8]>::is_ascii) {
            return line_start + col;
        }
        rest.char_indices()
            .nth(col)
            .map(|(i, _)| line_start + i)
            .unwrap_or(self.text.len())
    }

    fn scan_error(&self, error: &ScanError) -> YamlError {
        let at = self.byte_offset(error.marker());
        self.error(error.info().to_string(), at, Code::YamlSyntax)
    }

    fn error(&self, message: String, start: usize, code: Code) -> YamlError {
        YamlError {
            message,
            span: Some(Span::new(self.file, start, start)),
            path: None,
            help: None,
            code,
        }
    }

    fn spend(&mut self, count: usize, at: usize) -> Result<(), YamlError> {
        if count > self.node_budget {
            return Err(self.error(
                "the document's aliases expand to too many nodes (possible alias bomb)".into(),
                at,
                Code::YamlTooLarge,
            ));
        }
        self.node_budget -= count;
        Ok(())
    }
}

/// The error for `key` when the mapping already has it, naming the first one's line.
fn duplicate_key(line_starts: &[usize], entries: &[(Node, Node)], key: &Node) -> Option<YamlError> {
    let text = key.as_str()?;
    let (first, _) = entries.iter().find(|(k, _)| k.as_str() == Some(text))?;
    let (line, _) = line_of(line_starts, first.span.start as usize);
    Some(YamlError {
        message: format!("duplicate key `{text}`"),
        span: Some(key.span),
        path: None,
        help: Some(format!("`{text}` is already set on line {line}")),
        code: Code::DuplicateKey,
    })
}

fn line_of(line_starts: &[usize], byte: usize) -> (usize, usize) {
    let line = line_starts.partition_point(|&s| s <= byte);
    (
        line,
        byte - line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(0)
            + 1,
    )
}

fn count_nodes(node: &Node) -> usize {
    match &node.kind {
        NodeKind::Null | NodeKind::Scalar { .. } => 1,
        NodeKind::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        NodeKind::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| count_nodes(k) + count_nodes(v))
                .sum::<usize>()
        }
    }
}
