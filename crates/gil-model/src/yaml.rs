//! A span-keeping YAML tree and a serde deserializer over it.
//!
//! `serde_yaml` (the `yaml_serde` continuation) checks syntax first and guards against
//! alias bombs; this module then builds a tree from saphyr-parser's events, where every
//! node keeps its byte span, and deserializes typed structs from that tree. Errors
//! carry the span and key path of the node that caused them, so the loader can report
//! `flows[3].amount` at `file:line:column` and keep going with the next entity.

use crate::code::Code;
use std::collections::BTreeMap;
use std::fmt;

use saphyr_parser::{Event, Parser, ScalarStyle};
use serde::de::{
    self, DeserializeSeed, Deserializer, Error as _, IntoDeserializer, MapAccess, SeqAccess,
    Visitor,
};

use crate::span::{
    FileId, Span, SPANNED_END, SPANNED_FIELDS, SPANNED_FILE, SPANNED_NAME, SPANNED_START,
    SPANNED_VALUE,
};

/// Deepest nesting accepted; deeper documents are refused rather than recursed into.
pub const MAX_DEPTH: usize = 64;

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
    fn at(mut self, span: Span, path: &Path<'_>) -> Self {
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

/// The key path of a node, e.g. `flows[3].to`, built lazily as the deserializer descends.
#[derive(Clone, Copy)]
pub enum Path<'a> {
    Root(&'a str),
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root(name) => f.write_str(name),
            Path::Key(parent, key) => {
                let parent_text = parent.to_string();
                if parent_text.is_empty() {
                    f.write_str(key)
                } else {
                    write!(f, "{parent_text}.{key}")
                }
            }
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

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

/// libyaml (through serde_yaml) is the authority on syntax and refuses documents whose
/// aliases expand past its repetition limit.
fn check_syntax(text: &str, file: FileId) -> Result<(), YamlError> {
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

struct TreeBuilder<'a> {
    text: &'a str,
    file: FileId,
    line_starts: Vec<usize>,
    anchors: BTreeMap<usize, Node>,
    node_budget: usize,
}

enum Frame {
    Seq {
        items: Vec<Node>,
        start: usize,
        anchor: usize,
    },
    Map {
        entries: Vec<(Node, Node)>,
        pending_key: Option<Node>,
        start: usize,
        anchor: usize,
    },
}

impl<'a> TreeBuilder<'a> {
    fn new(text: &'a str, file: FileId) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        TreeBuilder {
            text,
            file,
            line_starts,
            anchors: BTreeMap::new(),
            // Generous for hand-written files, small enough that aliases cannot blow up.
            node_budget: text.len().saturating_mul(4).saturating_add(10_000),
        }
    }

    /// saphyr reports positions as (1-based line, 0-based column in characters).
    fn byte_offset(&self, marker: &saphyr_parser::Marker) -> usize {
        let line = marker.line().saturating_sub(1);
        let Some(&line_start) = self.line_starts.get(line) else {
            return self.text.len();
        };
        let rest = self.text.get(line_start..).unwrap_or("");
        rest.char_indices()
            .nth(marker.col())
            .map(|(i, _)| line_start + i)
            .unwrap_or(self.text.len())
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

    fn build(mut self) -> Result<Option<Node>, YamlError> {
        let mut stack: Vec<Frame> = Vec::new();
        let mut root: Option<Node> = None;
        let mut documents = 0usize;
        let parser = Parser::new_from_str(self.text);
        for event in parser {
            let (event, span) = event.map_err(|e| {
                let at = self.byte_offset(e.marker());
                self.error(e.info().to_string(), at, Code::YamlSyntax)
            })?;
            let start = self.byte_offset(&span.start);
            let end = self.byte_offset(&span.end);
            let node = match event {
                Event::DocumentStart(_) => {
                    documents += 1;
                    if documents > 1 {
                        return Err(self.error(
                            "a scenario file holds one YAML document; found a second `---`".into(),
                            start,
                            Code::YamlSyntax,
                        ));
                    }
                    continue;
                }
                Event::Scalar(text, style, anchor, _tag) => {
                    self.spend(1, start)?;
                    let plain = matches!(style, ScalarStyle::Plain);
                    let kind = if plain && is_null(&text) {
                        NodeKind::Null
                    } else {
                        NodeKind::Scalar {
                            text: text.into_owned(),
                            plain,
                        }
                    };
                    let node = Node {
                        kind,
                        span: Span::new(self.file, start, end.max(start)),
                    };
                    if anchor > 0 {
                        self.anchors.insert(anchor, node.clone());
                    }
                    node
                }
                Event::Alias(anchor) => {
                    let Some(target) = self.anchors.get(&anchor) else {
                        return Err(self.error("unknown alias".into(), start, Code::YamlSyntax));
                    };
                    let size = count_nodes(target);
                    let mut node = target.clone();
                    self.spend(size, start)?;
                    node.span = Span::new(self.file, start, end.max(start));
                    node
                }
                Event::SequenceStart(anchor, _) => {
                    if stack.len() >= MAX_DEPTH {
                        return Err(self.error(
                            format!("the document nests deeper than {MAX_DEPTH} levels"),
                            start,
                            Code::YamlTooDeep,
                        ));
                    }
                    stack.push(Frame::Seq {
                        items: Vec::new(),
                        start,
                        anchor,
                    });
                    continue;
                }
                Event::MappingStart(anchor, _) => {
                    if stack.len() >= MAX_DEPTH {
                        return Err(self.error(
                            format!("the document nests deeper than {MAX_DEPTH} levels"),
                            start,
                            Code::YamlTooDeep,
                        ));
                    }
                    stack.push(Frame::Map {
                        entries: Vec::new(),
                        pending_key: None,
                        start,
                        anchor,
                    });
                    continue;
                }
                Event::SequenceEnd => match stack.pop() {
                    Some(Frame::Seq {
                        items,
                        start: s,
                        anchor,
                    }) => {
                        let end = items
                            .last()
                            .map(|n| n.span.end as usize)
                            .unwrap_or(end)
                            .max(end);
                        self.spend(1, s)?;
                        let node = Node {
                            kind: NodeKind::Seq(items),
                            span: Span::new(self.file, s, end),
                        };
                        if anchor > 0 {
                            self.anchors.insert(anchor, node.clone());
                        }
                        node
                    }
                    _ => {
                        return Err(self.error(
                            "unbalanced sequence".into(),
                            start,
                            Code::YamlSyntax,
                        ))
                    }
                },
                Event::MappingEnd => match stack.pop() {
                    Some(Frame::Map {
                        entries,
                        start: s,
                        anchor,
                        ..
                    }) => {
                        let end = entries
                            .last()
                            .map(|(_, v)| v.span.end as usize)
                            .unwrap_or(end)
                            .max(end);
                        self.spend(1, s)?;
                        let node = Node {
                            kind: NodeKind::Map(entries),
                            span: Span::new(self.file, s, end),
                        };
                        if anchor > 0 {
                            self.anchors.insert(anchor, node.clone());
                        }
                        node
                    }
                    _ => {
                        return Err(self.error(
                            "unbalanced mapping".into(),
                            start,
                            Code::YamlSyntax,
                        ))
                    }
                },
                Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {
                    continue
                }
            };
            match stack.last_mut() {
                None => root = Some(node),
                Some(Frame::Seq { items, .. }) => items.push(node),
                Some(Frame::Map {
                    entries,
                    pending_key,
                    ..
                }) => match pending_key.take() {
                    None => *pending_key = Some(node),
                    Some(key) => {
                        if let Some(text) = key.as_str() {
                            if let Some((first, _)) =
                                entries.iter().find(|(k, _)| k.as_str() == Some(text))
                            {
                                let (line, _) =
                                    line_of(&self.line_starts, first.span.start as usize);
                                return Err(YamlError {
                                    message: format!("duplicate key `{text}`"),
                                    span: Some(key.span),
                                    path: None,
                                    help: Some(format!("`{text}` is already set on line {line}")),
                                    code: Code::DuplicateKey,
                                });
                            }
                        }
                        entries.push((key, node));
                    }
                },
            }
        }
        Ok(root.filter(|n| !matches!(n.kind, NodeKind::Null)))
    }
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

fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// What a plain scalar means under YAML 1.2's core schema, plus `1_000` digit grouping.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Plain {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str,
}

pub fn resolve_plain(text: &str) -> Plain {
    match text {
        "true" | "True" | "TRUE" => return Plain::Bool(true),
        "false" | "False" | "FALSE" => return Plain::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Plain::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Plain::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Plain::Float(f64::NAN),
        _ => {}
    }
    let first = text.trim_start_matches(['-', '+']).chars().next();
    if !matches!(first, Some(c) if c.is_ascii_digit() || c == '.') {
        return Plain::Str;
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16)
            .map(Plain::Int)
            .unwrap_or(Plain::Str);
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8)
            .map(Plain::Int)
            .unwrap_or(Plain::Str);
    }
    // Digit grouping (`100_000_000`) is allowed between digits only.
    let grouped = text.contains('_');
    if grouped {
        let bytes = text.as_bytes();
        let well_placed = bytes.iter().enumerate().all(|(i, &b)| {
            b != b'_'
                || (i > 0
                    && bytes.get(i - 1).is_some_and(u8::is_ascii_digit)
                    && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        });
        if !well_placed {
            return Plain::Str;
        }
    }
    let digits: String = text.chars().filter(|&c| c != '_').collect();
    let numeric = digits
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
    if !numeric {
        return Plain::Str;
    }
    if let Ok(i) = digits.parse::<i64>() {
        return Plain::Int(i);
    }
    match digits.parse::<f64>() {
        Ok(f) => Plain::Float(f),
        Err(_) => Plain::Str,
    }
}

/// Deserializes `T` from a node; errors carry the span and path of the failing node.
pub fn from_node<'de, T: de::Deserialize<'de>>(
    node: &Node,
    path: &Path<'_>,
) -> Result<T, YamlError> {
    T::deserialize(NodeDe { node, path: *path })
}

#[derive(Clone, Copy)]
struct NodeDe<'n, 'p> {
    node: &'n Node,
    path: Path<'p>,
}

impl NodeDe<'_, '_> {
    fn wrap<T>(&self, r: Result<T, YamlError>) -> Result<T, YamlError> {
        r.map_err(|e| e.at(self.node.span, &self.path))
    }
}

macro_rules! forward_to_any {
    ($($name:ident)*) => {$(
        fn $name<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
            self.deserialize_any(visitor)
        }
    )*};
}

impl<'de> Deserializer<'de> for NodeDe<'_, '_> {
    type Error = YamlError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        let result = match &self.node.kind {
            NodeKind::Null => visitor.visit_unit(),
            NodeKind::Scalar { text, plain: true } => match resolve_plain(text) {
                Plain::Int(i) => visitor.visit_i64(i),
                Plain::Float(f) if !f.is_finite() => Err(YamlError {
                    message: format!("`{text}` is not a finite number"),
                    span: None,
                    path: None,
                    help: Some("amounts must be finite; write the value in a smaller unit".into()),
                    code: Code::NonFinite,
                }),
                Plain::Float(f) => visitor.visit_f64(f),
                Plain::Bool(b) => visitor.visit_bool(b),
                Plain::Str => visitor.visit_str(text),
            },
            NodeKind::Scalar { text, plain: false } => visitor.visit_str(text),
            NodeKind::Seq(items) => visitor.visit_seq(SeqDe {
                items: items.iter(),
                index: 0,
                path: self.path,
            }),
            NodeKind::Map(entries) => visitor.visit_map(MapDe {
                entries: entries.iter(),
                value: None,
                path: self.path,
            }),
        };
        self.wrap(result)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        match &self.node.kind {
            NodeKind::Scalar { text, .. } => self.wrap(visitor.visit_str(text)),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        match &self.node.kind {
            NodeKind::Null => self.wrap(visitor.visit_none()),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, YamlError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, YamlError> {
        if name == SPANNED_NAME {
            let span = self.node.span;
            return visitor.visit_map(SpannedDe {
                de: self,
                span,
                field: 0,
            });
        }
        // A struct written as something other than a mapping gets a plain message.
        if !matches!(self.node.kind, NodeKind::Map(_)) {
            let what = self.node.describe();
            let _ = fields;
            return Err(YamlError {
                message: format!("expected a mapping, found {what}"),
                span: Some(self.node.span),
                path: Some(self.path.to_string()),
                help: None,
                code: Code::WrongType,
            });
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, YamlError> {
        match &self.node.kind {
            NodeKind::Scalar { text, .. } => {
                let r = visitor.visit_enum(text.as_str().into_deserializer());
                self.wrap(r)
            }
            _ => Err(
                YamlError::custom(format!("expected a name, found {}", self.node.describe()))
                    .at(self.node.span, &self.path),
            ),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        visitor.visit_unit()
    }

    forward_to_any! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_f32
        deserialize_f64 deserialize_char deserialize_bytes deserialize_byte_buf
        deserialize_unit deserialize_seq deserialize_map
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, YamlError> {
        self.deserialize_any(v)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, v: V) -> Result<V::Value, YamlError> {
        self.deserialize_any(v)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        v: V,
    ) -> Result<V::Value, YamlError> {
        self.deserialize_any(v)
    }
}

struct SeqDe<'n, 'p> {
    items: std::slice::Iter<'n, Node>,
    index: usize,
    path: Path<'p>,
}

impl<'de> SeqAccess<'de> for SeqDe<'_, '_> {
    type Error = YamlError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, YamlError> {
        let Some(node) = self.items.next() else {
            return Ok(None);
        };
        let path = Path::Index(&self.path, self.index);
        self.index += 1;
        seed.deserialize(NodeDe { node, path })
            .map(Some)
            .map_err(|e| e.at(node.span, &path))
    }
}

struct MapDe<'n, 'p> {
    entries: std::slice::Iter<'n, (Node, Node)>,
    value: Option<(&'n Node, &'n Node)>,
    path: Path<'p>,
}

impl<'de> MapAccess<'de> for MapDe<'_, '_> {
    type Error = YamlError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, YamlError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some((key, value));
        let key_text = key.as_str().unwrap_or("?");
        let path = Path::Key(&self.path, key_text);
        seed.deserialize(NodeDe { node: key, path })
            .map(Some)
            .map_err(|e| e.at(key.span, &path))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, YamlError> {
        let Some((key, node)) = self.value.take() else {
            return Err(YamlError::custom("value without a key"));
        };
        let key_text = key.as_str().unwrap_or("?");
        let path = Path::Key(&self.path, key_text);
        seed.deserialize(NodeDe { node, path })
            .map_err(|e| e.at(node.span, &path))
    }
}

struct SpannedDe<'n, 'p> {
    de: NodeDe<'n, 'p>,
    span: Span,
    field: usize,
}

impl<'de> MapAccess<'de> for SpannedDe<'_, '_> {
    type Error = YamlError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, YamlError> {
        let Some(name) = SPANNED_FIELDS.get(self.field) else {
            return Ok(None);
        };
        seed.deserialize(de::value::BorrowedStrDeserializer::new(name))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, YamlError> {
        let name = SPANNED_FIELDS
            .get(self.field)
            .copied()
            .unwrap_or(SPANNED_VALUE);
        self.field += 1;
        match name {
            SPANNED_FILE => seed.deserialize(self.span.file.into_deserializer()),
            SPANNED_START => seed.deserialize((self.span.start as usize).into_deserializer()),
            SPANNED_END => seed.deserialize((self.span.end as usize).into_deserializer()),
            _ => seed.deserialize(self.de),
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
