//! Source files and byte spans.
//!
//! Every node the loader reads keeps a [`Span`] (file + byte range), so a semantic
//! error found long after parsing ("unknown actor at `flows[3].to`") still points
//! at the exact place in the user's file.

use std::fmt;
use std::path::{Path, PathBuf};

use codespan_reporting::files::{Files, SimpleFiles};
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

/// Index of a file in a [`SourceMap`].
pub type FileId = usize;

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Self {
        let clamp = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        Span {
            file,
            start: clamp(start),
            end: clamp(end.max(start)),
        }
    }

    pub fn range(&self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// A value together with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub span: Span,
    pub value: T,
}

impl<T> Spanned<T> {
    pub fn new(span: Span, value: T) -> Self {
        Spanned { span, value }
    }
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: fmt::Display> fmt::Display for Spanned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

// The spanned YAML deserializer recognises this struct name and hands out the node's
// span through these fields (the technique `toml` uses for its `Spanned`).
pub(crate) const SPANNED_NAME: &str = "$__gil_private_Spanned";
pub(crate) const SPANNED_FILE: &str = "$__gil_private_file";
pub(crate) const SPANNED_START: &str = "$__gil_private_start";
pub(crate) const SPANNED_END: &str = "$__gil_private_end";
pub(crate) const SPANNED_VALUE: &str = "$__gil_private_value";
pub(crate) const SPANNED_FIELDS: &[&str] =
    &[SPANNED_FILE, SPANNED_START, SPANNED_END, SPANNED_VALUE];

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SpannedVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for SpannedVisitor<T> {
            type Value = Spanned<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut file = None;
                let mut start = None;
                let mut end = None;
                while let Some(key) = map.next_key::<&str>()? {
                    match key {
                        SPANNED_FILE => file = Some(map.next_value::<usize>()?),
                        SPANNED_START => start = Some(map.next_value::<usize>()?),
                        SPANNED_END => end = Some(map.next_value::<usize>()?),
                        SPANNED_VALUE => {
                            let value = map.next_value::<T>()?;
                            let span = Span::new(
                                file.unwrap_or_default(),
                                start.unwrap_or_default(),
                                end.unwrap_or_default(),
                            );
                            return Ok(Spanned { span, value });
                        }
                        other => return Err(de::Error::unknown_field(other, SPANNED_FIELDS)),
                    }
                }
                Err(de::Error::missing_field(SPANNED_VALUE))
            }
        }
        deserializer.deserialize_struct(
            SPANNED_NAME,
            SPANNED_FIELDS,
            SpannedVisitor(std::marker::PhantomData),
        )
    }
}

/// The files a scenario (or a set of rules) was read from, addressed by [`FileId`].
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    files: SimpleFiles<String, SharedText>,
    paths: Vec<PathBuf>,
}

/// A file's text, shared: the loader reads a national file while adding the tables it
/// names to the same map, and would otherwise copy the whole text to do so.
#[derive(Debug, Clone, Default)]
pub struct SharedText(std::sync::Arc<String>);

impl AsRef<str> for SharedText {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for SharedText {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl SourceMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// The id the next [`SourceMap::add`] returns.
    pub fn next_id(&self) -> FileId {
        self.paths.len()
    }

    /// Adds a file; `display` is the name users see in messages.
    pub fn add(&mut self, display: String, path: PathBuf, text: String) -> FileId {
        self.paths.push(path);
        self.files
            .add(display, SharedText(std::sync::Arc::new(text)))
    }

    pub fn files(&self) -> &SimpleFiles<String, SharedText> {
        &self.files
    }

    pub fn len(&self) -> usize {
        self.paths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// The file whose shown name is `name`.
    pub fn find(&self, name: &str) -> Option<FileId> {
        (0..self.len()).find(|&id| self.name(id) == name)
    }

    /// The byte span of line `line` (1-based) of a file, without its indentation and
    /// line break: where a message about "line 12" points.
    pub fn line_span(&self, file: FileId, line: usize) -> Option<Span> {
        let text = self.text(file);
        let start: usize = text
            .split_inclusive('\n')
            .take(line.checked_sub(1)?)
            .map(str::len)
            .sum();
        let rest = text.get(start..)?;
        let body = rest.lines().next()?;
        let indent = body.len() - body.trim_start().len();
        Some(Span::new(
            file,
            start + indent,
            start + body.trim_end().len().max(indent),
        ))
    }

    /// The path the file was read from.
    pub fn path(&self, file: FileId) -> Option<&Path> {
        self.paths.get(file).map(PathBuf::as_path)
    }

    /// The name shown to users (the path as the user wrote it, or as resolved).
    pub fn name(&self, file: FileId) -> String {
        self.files
            .get(file)
            .map(|f| f.name().clone())
            .unwrap_or_else(|_| "<unknown>".to_string())
    }

    pub fn text(&self, file: FileId) -> &str {
        self.files
            .get(file)
            .map(|f| f.source().as_ref())
            .unwrap_or("")
    }

    /// The file's text, shared rather than copied.
    pub fn shared_text(&self, file: FileId) -> Option<SharedText> {
        self.files.get(file).ok().map(|f| f.source().clone())
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, file: FileId, byte: usize) -> (usize, usize) {
        let line = self.files.line_index(file, byte).unwrap_or(0);
        let col = self.files.column_number(file, line, byte).unwrap_or(1);
        (line + 1, col)
    }

    /// `file:line:column` of a span's start.
    pub fn locate(&self, span: Span) -> String {
        let (line, col) = self.line_col(span.file, span.start as usize);
        format!("{}:{}:{}", self.name(span.file), line, col)
    }
}
