//! Reading a scenario: files, includes, typed sections, and every problem in one pass.

mod paths;
mod tables;

use crate::code::Code;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::diag::{did_you_mean, Diagnostic};
use crate::span::{FileId, SourceMap, Span, Spanned};
use crate::table_typed::FromRow;
use crate::types::{
    Actor, Asset, Dated, EntityPath, ExtraKinds, Flow, Header, Located, Parameter, ParameterEntry,
    Place, Project, TextValue,
};
use crate::yaml::{self, Node, NodeKind, Path as KeyPath, YamlError};
use crate::Scenario;

pub use paths::{from_base, normalize, relative_to};

/// Top-level keys of a scenario file.
pub const TOP_LEVEL_KEYS: &[&str] = &[
    "scenario",
    "include",
    "kinds",
    "parameters",
    "actors",
    "assets",
    "flows",
    "projects",
];

/// Why loading failed: every problem found, with the files needed to render them.
#[derive(Debug, thiserror::Error)]
#[error("{} error(s) in the scenario", diagnostics.len())]
pub struct LoadError {
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadError {
    /// Every diagnostic rendered as a user reads it, in order.
    pub fn render(&self, color: bool) -> String {
        self.diagnostics
            .iter()
            .map(|d| d.render(&self.sources, color))
            .collect()
    }
}

/// Largest scenario file read (a guard against feeding gil a disk image by mistake).
pub const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

#[derive(Default)]
struct Sections {
    header: Option<(Header, Span)>,
    kinds: ExtraKinds,
    parameters: BTreeMap<String, Parameter>,
    text_parameters: BTreeMap<String, Parameter<TextValue>>,
    actors: Vec<Located<Actor>>,
    assets: Vec<Located<Asset>>,
    flows: Vec<Located<Flow>>,
    projects: Vec<Located<Project>>,
    /// Ids of entities that failed to parse: references to them are not reported again.
    unparsed_ids: BTreeSet<String>,
    /// A table that could not be read at all: its ids are unknown, so no reference is
    /// reported as unknown (each would be a follow-on).
    table_lost: bool,
    /// Whether the root file's top-level mapping was read (so a missing header is real).
    root_read: bool,
    /// Whether the root file has a `scenario:` key, even one that failed to parse (its
    /// own errors are reported; "no header" would be a follow-on).
    header_written: bool,
}

/// The list sections whose items are read while the file is parsed.
const STREAMED_SECTIONS: &[&str] = &["actors", "assets", "flows", "projects"];

/// How many entities of each list section were read, and whether a table was lost: what
/// a file that turns out not to be YAML must give back.
struct SectionLengths {
    actors: usize,
    assets: usize,
    flows: usize,
    projects: usize,
    table_lost: bool,
}

impl Sections {
    fn lengths(&self) -> SectionLengths {
        SectionLengths {
            actors: self.actors.len(),
            assets: self.assets.len(),
            flows: self.flows.len(),
            projects: self.projects.len(),
            table_lost: self.table_lost,
        }
    }

    /// Gives back room more than twice what a list holds.
    fn shrink(&mut self) {
        fn shrink<T>(list: &mut Vec<T>) {
            if list.capacity() > 2 * list.len() {
                list.shrink_to_fit();
            }
        }
        shrink(&mut self.actors);
        shrink(&mut self.assets);
        shrink(&mut self.flows);
        shrink(&mut self.projects);
    }

    fn truncate(&mut self, to: SectionLengths) {
        self.actors.truncate(to.actors);
        self.assets.truncate(to.assets);
        self.flows.truncate(to.flows);
        self.projects.truncate(to.projects);
        self.table_lost = to.table_lost;
    }
}

struct Loader {
    sources: SourceMap,
    diagnostics: Vec<Diagnostic>,
    sections: Sections,
    /// Canonical paths of files already read (a file included twice is read once).
    seen: BTreeMap<PathBuf, FileId>,
    /// The include chain being read, for cycle detection.
    stack: Vec<PathBuf>,
}

/// Loads the scenario at `path` (with its includes) and validates it.
pub fn load(path: &Path) -> Result<Scenario, LoadError> {
    let mut loader = Loader {
        sources: SourceMap::new(),
        diagnostics: Vec::new(),
        sections: Sections::default(),
        seen: BTreeMap::new(),
        stack: Vec::new(),
    };
    let display = path.display().to_string();
    let root = loader.read_file(path, display, None, true);
    loader.finish(root)
}

/// Loads a scenario from text (tests, inline `gil test` cases): `name` is what messages
/// call it; it stands as a file in `dir`, so includes and `scenario.rules` resolve from
/// `dir` whatever the name says.
pub fn load_str(name: &str, text: &str, dir: &Path) -> Result<Scenario, LoadError> {
    // The name may be a description ("x.test.yaml (inline scenario of `a/b`)"): the
    // path stays one file name in `dir`.
    let path = dir.join("<inline>.yaml");
    let mut loader = Loader {
        sources: SourceMap::new(),
        diagnostics: Vec::new(),
        sections: Sections::default(),
        seen: BTreeMap::new(),
        stack: vec![path.clone()],
    };
    let file = loader.sources.add(name.to_string(), path, text.to_string());
    loader.read_text(file, dir, true);
    loader.finish(Some(file))
}

impl Loader {
    fn finish(mut self, root: Option<FileId>) -> Result<Scenario, LoadError> {
        let mut sections = std::mem::take(&mut self.sections);
        sections.shrink();
        let header = match sections.header {
            Some((header, _)) => Some(header),
            None => {
                if let (Some(file), true, false) =
                    (root, sections.root_read, sections.header_written)
                {
                    self.diagnostics.push(
                        Diagnostic::error(Code::MissingHeader, "the scenario has no `scenario:` header")
                            .at(Span::new(file, 0, 0))
                            .help("start the file with `scenario: { id: …, horizon: { start: 2026, end: 2030 }, currency: KRW }`"),
                    );
                }
                None
            }
        };
        let Some(header) = header else {
            crate::diag::sort(&mut self.diagnostics);
            return Err(LoadError {
                sources: self.sources,
                diagnostics: self.diagnostics,
            });
        };
        let root_dir = root
            .and_then(|f| self.sources.path(f))
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let mut scenario = Scenario::assemble(
            header,
            root_dir,
            sections.kinds,
            sections.parameters,
            sections.actors,
            sections.assets,
            sections.flows,
            sections.projects,
            SourceMap::new(),
        );
        scenario.text_parameters = sections.text_parameters;
        self.diagnostics.extend(crate::validate::validate(
            &scenario,
            &self.sources,
            (!sections.table_lost).then_some(&sections.unparsed_ids),
        ));
        if self.diagnostics.is_empty() {
            scenario.sources = self.sources;
            Ok(scenario)
        } else {
            crate::diag::sort(&mut self.diagnostics);
            Err(LoadError {
                sources: self.sources,
                diagnostics: self.diagnostics,
            })
        }
    }

    /// Reads one file; `included_at` is the include entry that named it.
    fn read_file(
        &mut self,
        path: &Path,
        display: String,
        included_at: Option<Span>,
        is_root: bool,
    ) -> Option<FileId> {
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if let Some(pos) = self.stack.iter().position(|p| *p == canonical) {
            let chain: Vec<String> = self.stack[pos..]
                .iter()
                .chain(std::iter::once(&canonical))
                .map(|p| {
                    p.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                })
                .collect();
            let mut d = Diagnostic::error(
                Code::IncludeCycle,
                format!("`{display}` includes itself: {}", chain.join(" → ")),
            );
            if let Some(span) = included_at {
                d = d.at(span);
            }
            self.diagnostics.push(d);
            return None;
        }
        if let Some(&file) = self.seen.get(&canonical) {
            return Some(file); // already read through another include
        }
        let bytes = match read_limited(path) {
            Ok(bytes) => bytes,
            Err(err) => {
                let what = if err.kind() == std::io::ErrorKind::NotFound {
                    format!("cannot read `{display}`: no such file")
                } else {
                    format!("cannot read `{display}`: {err}")
                };
                let code = if included_at.is_some() {
                    Code::IncludeMissing
                } else {
                    Code::FileMissing
                };
                let mut d = Diagnostic::error(code, what).file(display.clone());
                if let Some(span) = included_at {
                    d = d
                        .at(span)
                        .help("include paths are relative to the file that includes them");
                }
                self.diagnostics.push(d);
                return None;
            }
        };
        let (text, bad_utf8) = match String::from_utf8(bytes) {
            Ok(text) => (text, None),
            Err(err) => {
                let at = err.utf8_error().valid_up_to();
                (
                    String::from_utf8_lossy(err.as_bytes()).into_owned(),
                    Some(at),
                )
            }
        };
        let file = self.sources.add(display.clone(), path.to_path_buf(), text);
        self.seen.insert(canonical.clone(), file);
        if let Some(at) = bad_utf8 {
            self.diagnostics.push(
                Diagnostic::error(Code::NotUtf8, format!("`{display}` is not valid UTF-8"))
                    .at(Span::new(file, at, at + 1))
                    .help("save the file as UTF-8"),
            );
            return Some(file);
        }
        self.stack.push(canonical);
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        self.read_text(file, &dir, is_root);
        self.stack.pop();
        Some(file)
    }

    fn read_text(&mut self, file: FileId, dir: &Path, is_root: bool) {
        let Some(text) = self.sources.shared_text(file) else {
            return;
        };
        // The items of the entity lists are read as the parser completes each one, so a
        // national file's actors and flows are never all held as YAML nodes at once.
        let before = self.sections.lengths();
        let diagnostics_before = self.diagnostics.len();
        let parsed = {
            let mut read_item = |section: &str, index: usize, item: Node| {
                // A streamed list's length is not known when it opens: room is made
                // from an estimate at its first item.
                let room = if index == 0 {
                    estimate_items(&text, &item)
                } else {
                    0
                };
                self.read_item(section, index, &item, dir, room)
            };
            yaml::parse_streaming(&text, file, STREAMED_SECTIONS, &mut read_item)
        };
        if parsed.is_err() {
            // A file that is not YAML says only that: what its first items held is set
            // aside, as if they had never been read.
            self.sections.truncate(before);
            self.diagnostics.truncate(diagnostics_before);
        }
        let node = match parsed {
            Ok(Some(node)) => node,
            Ok(None) => {
                let name = self.sources.name(file);
                self.diagnostics.push(
                    Diagnostic::error(Code::EmptyFile, format!("`{name}` is empty"))
                        .at(Span::new(file, 0, 0))
                        .help(
                            "a scenario file is a mapping with `scenario:`, `actors:`, `flows:` …",
                        ),
                );
                return;
            }
            Err(err) => {
                self.push_yaml(err);
                return;
            }
        };
        let NodeKind::Map(entries) = &node.kind else {
            self.diagnostics.push(
                Diagnostic::error(
                    Code::WrongType,
                    format!(
                        "expected a mapping at the top of the file, found {}",
                        node.describe()
                    ),
                )
                .at(node.span),
            );
            return;
        };
        if is_root {
            self.sections.root_read = true;
        }
        let mut includes = Vec::new();
        for (key, value) in entries {
            let name = key.as_str().unwrap_or("");
            let path = KeyPath::Root(name);
            match name {
                "scenario" if is_root => {
                    self.sections.header_written = true;
                    match yaml::from_node::<Header>(value, &path) {
                        Ok(header) => self.sections.header = Some((header, key.span)),
                        Err(e) => self.push_yaml(e),
                    }
                }
                "scenario" => self.diagnostics.push(
                    Diagnostic::error(
                        Code::MisplacedHeader,
                        "only the root scenario file may have a `scenario:` header",
                    )
                    .at(key.span)
                    .path("scenario"),
                ),
                "kinds" if is_root => match yaml::from_node::<ExtraKinds>(value, &path) {
                    Ok(kinds) => self.sections.kinds = kinds,
                    Err(e) => self.push_yaml(e),
                },
                "kinds" => self.diagnostics.push(
                    Diagnostic::error(
                        Code::MisplacedKinds,
                        "only the root scenario file may declare `kinds:`",
                    )
                    .at(key.span),
                ),
                "include" => match yaml::from_node::<Vec<Spanned<String>>>(value, &path) {
                    Ok(list) => includes = list,
                    Err(e) => self.push_yaml(e),
                },
                "parameters" => self.read_parameters(value),
                section if STREAMED_SECTIONS.contains(&section) => {
                    self.read_list(value, section, dir)
                }
                other => {
                    let mut d =
                        Diagnostic::error(Code::UnknownField, format!("unknown section `{other}`"))
                            .at(key.span)
                            .path(other);
                    if let Some(s) = did_you_mean(other, TOP_LEVEL_KEYS.iter().copied()) {
                        d = d.help(format!("did you mean `{s}`?"));
                    } else {
                        d = d.help(format!("expected one of {}", TOP_LEVEL_KEYS.join(", ")));
                    }
                    self.diagnostics.push(d);
                }
            }
        }
        let parent_display = Path::new(&self.sources.name(file))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        for include in includes {
            let target = dir.join(&include.value);
            let display = normalize(&parent_display.join(&include.value))
                .display()
                .to_string();
            self.read_file(&target, display, Some(include.span), false);
        }
    }

    fn read_parameters(&mut self, node: &Node) {
        let NodeKind::Map(entries) = &node.kind else {
            if !matches!(node.kind, NodeKind::Null) {
                self.diagnostics.push(
                    Diagnostic::error(
                        Code::WrongType,
                        format!(
                            "expected a mapping of parameter names to values, found {}",
                            node.describe()
                        ),
                    )
                    .at(node.span)
                    .path("parameters"),
                );
            }
            return;
        };
        for (key, value) in entries {
            let name = key.as_str().unwrap_or("").to_string();
            let base = KeyPath::Root("parameters");
            let path = KeyPath::Key(&base, &name);
            // `{ value: …, source: … }` is the long form; any other mapping is a dated series.
            let long_form = value.get("value").is_some();
            let written = if long_form {
                value.get("value")
            } else {
                Some(value)
            };
            // A list, or a scalar that is text and does not look like a number, is a text
            // parameter. `"1.3"`, `1,000` or `5%` go the numeric way and fail there, as
            // does text for a parameter the engine reads as a number (`power.pue`).
            let text = !crate::engine_reads_number(&name)
                && written.is_some_and(|v| match &v.kind {
                    NodeKind::Seq(_) => true,
                    NodeKind::Scalar { text, .. } => {
                        v.describe() == "a string" && !looks_numeric(text)
                    }
                    _ => false,
                });
            let value_path = if long_form {
                format!("parameters.{name}.value")
            } else {
                format!("parameters.{name}")
            };
            let name = Spanned::new(key.span, name.clone());
            if text {
                match read_parameter::<TextValue>(value, &path, long_form, &name, value_path) {
                    Ok(p) => self.add_parameter(p, |sections| &mut sections.text_parameters),
                    Err(e) => self.push_yaml(e),
                }
            } else {
                match read_parameter::<Dated>(value, &path, long_form, &name, value_path) {
                    Ok(p) => self.add_parameter(p, |sections| &mut sections.parameters),
                    Err(e) => self.push_yaml(e),
                }
            }
        }
    }

    /// Keeps a parameter unless one of either kind has its name already.
    fn add_parameter<V>(
        &mut self,
        parameter: Parameter<V>,
        map: impl FnOnce(&mut Sections) -> &mut BTreeMap<String, Parameter<V>>,
    ) {
        let name = parameter.name.value.clone();
        let first = self
            .sections
            .parameters
            .get(&name)
            .map(|p| p.name.span)
            .or_else(|| {
                self.sections
                    .text_parameters
                    .get(&name)
                    .map(|p| p.name.span)
            });
        match first {
            Some(first) => self.diagnostics.push(
                Diagnostic::error(
                    Code::DuplicateId,
                    format!("parameter `{name}` is defined twice"),
                )
                .at(parameter.name.span)
                .path(format!("parameters.{name}"))
                .related(first, "first defined here"),
            ),
            None => {
                map(&mut self.sections).insert(name, parameter);
            }
        }
    }

    /// Reads each element of a list section on its own, so one bad entity does not hide
    /// the problems of the next. `actors`, `assets` and `flows` may also be (or list)
    /// `{ table: file.csv }`, relative to `dir`, the folder of the file naming it. A list
    /// written out in the file arrives empty: the parser streamed its items to
    /// [`Self::read_item`] already.
    fn read_list(&mut self, node: &Node, section: &str, dir: &Path) {
        let takes_tables = section != "projects";
        let items = match &node.kind {
            NodeKind::Seq(items) => items.as_slice(),
            NodeKind::Null => return,
            NodeKind::Map(_) if takes_tables && node.get("table").is_some() => {
                std::slice::from_ref(node)
            }
            _ => {
                let also = if takes_tables {
                    " or `{ table: file.csv }`"
                } else {
                    ""
                };
                self.diagnostics.push(
                    Diagnostic::error(
                        Code::WrongType,
                        format!(
                            "expected a list of {section}{also}, found {}",
                            node.describe()
                        ),
                    )
                    .at(node.span)
                    .path(section),
                );
                return;
            }
        };
        for (index, item) in items.iter().enumerate() {
            self.read_item(section, index, item, dir, 0);
        }
    }

    /// Item `index` of the list section `section` (one of [`STREAMED_SECTIONS`]), read
    /// into that section's entities, with first `room` more entities made room for
    /// (growing a national list by doubling copies it again and again;
    /// [`Sections::shrink`] gives back what an estimate made too much).
    fn read_item(&mut self, section: &str, index: usize, item: &Node, dir: &Path, room: usize) {
        let at = Item { index, room };
        match section {
            "actors" => self.read_list_item(item, "actors", at, dir, &|s| &mut s.actors),
            "assets" => self.read_list_item(item, "assets", at, dir, &|s| &mut s.assets),
            "flows" => self.read_list_item(item, "flows", at, dir, &|s| &mut s.flows),
            "projects" => self.read_list_item(item, "projects", at, dir, &|s| &mut s.projects),
            _ => {} // no other section holds a list of entities
        }
    }

    /// One item of a list section: an entity, or (but in `projects`) `{ table: … }`.
    fn read_list_item<T: for<'de> serde::Deserialize<'de> + FromRow>(
        &mut self,
        item: &Node,
        section: &'static str,
        Item { index, room }: Item,
        dir: &Path,
        list: &impl Fn(&mut Sections) -> &mut Vec<Located<T>>,
    ) {
        list(&mut self.sections).reserve(room);
        if section != "projects" && item.get("table").is_some() {
            self.read_table(item, section, dir, list);
            return;
        }
        let base = KeyPath::Root(section);
        let path = KeyPath::Index(&base, index);
        let shown = EntityPath {
            section,
            place: Place::Index(index),
        };
        self.read_entity(item, &path, shown, list);
    }

    /// One entity from its node (a YAML list item or a table row).
    fn read_entity<T: for<'de> serde::Deserialize<'de>>(
        &mut self,
        item: &Node,
        path: &KeyPath<'_>,
        shown_path: EntityPath,
        list: &impl Fn(&mut Sections) -> &mut Vec<Located<T>>,
    ) {
        let Loader {
            sections,
            diagnostics,
            ..
        } = self;
        read_entity_into(sections, diagnostics, item, path, shown_path, list);
    }

    fn push_yaml(&mut self, err: YamlError) {
        self.diagnostics.push(yaml_diagnostic(err));
    }
}

/// Where an item stands in its list, and the room to make for the list's entities
/// first (0 but at the first item).
#[derive(Clone, Copy)]
struct Item {
    index: usize,
    room: usize,
}

/// How many items a streamed list whose first item is `first` may hold: at most one
/// per line left in the file (a block list's items take a line each, at least) and one
/// per `first`'s length in the bytes left. An over-estimate costs address space, not
/// memory, until [`Sections::shrink`] gives it back; a flow-style list on one line gets
/// no room and grows as any list does.
fn estimate_items(text: &str, first: &Node) -> usize {
    let start = (first.span.start as usize).min(text.len());
    let rest = &text.as_bytes()[start..];
    let item_bytes = (first.span.end as usize).saturating_sub(start).max(1);
    let lines = rest.iter().filter(|&&b| b == b'\n').count();
    lines.min(rest.len() / item_bytes) + 1
}

/// One entity from its node into its section, or its problem into `diagnostics` (and
/// its id among those not to report again).
fn read_entity_into<T: for<'de> serde::Deserialize<'de>>(
    sections: &mut Sections,
    diagnostics: &mut Vec<Diagnostic>,
    item: &Node,
    path: &KeyPath<'_>,
    shown_path: EntityPath,
    list: &impl Fn(&mut Sections) -> &mut Vec<Located<T>>,
) {
    match yaml::from_node::<T>(item, path) {
        Ok(value) => list(sections).push(Located {
            item: value,
            span: item.span,
            path: shown_path,
        }),
        Err(e) => {
            if let Some(id) = item.get("id").and_then(Node::as_str) {
                sections.unparsed_ids.insert(id.to_string());
            }
            diagnostics.push(yaml_diagnostic(e));
        }
    }
}

/// A YAML layer error as a diagnostic.
pub fn yaml_diagnostic(err: YamlError) -> Diagnostic {
    let mut d = Diagnostic::error(err.code, err.message);
    if let Some(span) = err.span {
        d = d.at(span);
    }
    if let Some(path) = err.path.filter(|p| !p.is_empty()) {
        d = d.path(path);
    }
    if let Some(help) = err.help {
        d = d.help(help);
    }
    d
}

fn read_limited(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    if file.metadata()?.is_dir() {
        return Err(std::io::Error::other("it is a directory, not a file"));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {} MiB",
            MAX_FILE_BYTES / (1024 * 1024)
        )));
    }
    Ok(bytes)
}

/// Whether `text` is a number with a typo or in quotes (`1.3`, `1,000`, `5%`,
/// `1__000`): digits with only signs, points, separators, `%` or an exponent.
fn looks_numeric(text: &str) -> bool {
    let text = text.trim();
    text.chars().any(|c| c.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || "+-.,_%eE ".contains(c))
}

/// One parameter, short form (the value alone) or long (`{ value: …, source: … }`).
fn read_parameter<V: for<'de> serde::Deserialize<'de>>(
    node: &Node,
    path: &KeyPath<'_>,
    long_form: bool,
    name: &Spanned<String>,
    value_path: String,
) -> Result<Parameter<V>, YamlError> {
    let entry = if long_form {
        yaml::from_node::<ParameterEntry<V>>(node, path)?
    } else {
        ParameterEntry {
            value: yaml::from_node::<Spanned<V>>(node, path)?,
            source: None,
            unit: None,
            note: None,
        }
    };
    Ok(Parameter {
        name: name.clone(),
        value: entry.value,
        value_path,
        source: entry.source.unwrap_or_default(),
        unit: entry.unit,
        note: entry.note,
    })
}
