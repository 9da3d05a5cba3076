//! Entity tables in: a CSV or Parquet file named by `actors: { table: firms.csv }` (or
//! `assets`, `flows`), read record by record. A row with plain cells becomes its entity
//! straight away (`table_typed.rs`); any other row becomes the same spanned node a
//! YAML list item is, so one set of checks — types, unknown columns, ids, references —
//! covers both, and every problem points at the file's own row and column (the header
//! is line 1).
//!
//! Columns are the entity's keys; `tags` holds `a;b`; `capacity.<name>` (assets) and
//! `attrs.<name>` fill those maps, and any other column of an actor or asset is an
//! attribute; `<column>@<year>` columns make a dated value (`amount@2026`,
//! `amount@2028`). An empty cell is no value. A CSV text's cells are split by
//! `csv-core`, which reports how many input bytes each field took, so spans are exact;
//! a Parquet table's come from its arrays (`table_parquet.rs`).

use crate::code::Code;
use crate::diag::Diagnostic;
use crate::span::{FileId, Span};
use crate::table_typed::{FromRow, Slot};
use crate::yaml::{Node, NodeKind};

/// Keys whose cells are text even when they look like numbers (`id` 007, `region` 1).
const TEXT_KEYS: &[&str] = &[
    "id", "name", "kind", "region", "owner", "from", "to", "via", "unit", "project", "source",
    "note",
];

/// The keys a section's tables may name directly; other columns of actors and assets
/// are attributes, other columns of flows unknown fields.
fn section_keys(section: &str) -> &'static [&'static str] {
    match section {
        "actors" => &[
            "id", "name", "kind", "count", "region", "tags", "attrs", "source", "note",
        ],
        "assets" => &[
            "id", "name", "kind", "owner", "region", "capacity", "online", "tags", "attrs",
            "source", "note",
        ],
        _ => &[
            "id", "from", "to", "kind", "via", "amount", "unit", "project", "tags", "source",
            "note",
        ],
    }
}

/// "flow" for "flows", for messages.
fn singular(section: &str) -> &str {
    section.strip_suffix('s').unwrap_or(section)
}

/// One cell as written (quotes removed) and the bytes it spans.
#[derive(Debug, Clone)]
struct Cell {
    text: String,
    span: Span,
}

/// Where a column's cells go in an entity: a key path (`["amount"]`,
/// `["capacity", "gpus"]`) and, for a dated column, its year.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub(crate) path: Vec<String>,
    pub(crate) year: Option<String>,
    /// The header cell, which unknown-column errors point at.
    pub(crate) span: Span,
}

/// What reading a table found besides its rows: every problem, the ids of the rows
/// that could not be used (their problem is reported; references to them are not), and
/// whether the header failed, so no row was read at all.
#[derive(Default)]
pub(crate) struct Rows {
    pub(crate) diagnostics: Vec<Diagnostic>,
    pub(crate) lost_ids: Vec<String>,
    pub(crate) header_failed: bool,
}

/// One data row: the entity itself with the row's span, or the row as a node.
pub(crate) enum Row<T> {
    Entity(T, Span),
    Node(Node),
}

/// The rows of a table, each handed to `on_row` with its number (the header is row 1,
/// as in a spreadsheet; a quoted cell may span lines) as soon as it is read. Each row
/// is first offered to [`FromRow`], which builds the entity from the cells when they
/// have the plain forms (a number where a number goes, no key given twice); any other
/// row becomes a node that the loader deserializes, so every problem is worded and
/// located by the one serde path.
pub(crate) fn read_rows<T: FromRow>(
    records: &mut impl RecordSource,
    file: FileId,
    section: &str,
    mut on_row: impl FnMut(usize, Row<T>),
) -> Rows {
    let mut read = Rows::default();
    let mut record = Record::default();
    if !records.next_record(&mut record) {
        read.diagnostics.push(
            Diagnostic::error(Code::EmptyFile, "the table is empty: no header row")
                .at(Span::new(file, 0, 0))
                .help("the first row names the columns: `id,kind,region,…`"),
        );
        read.header_failed = true;
        return read;
    }
    let (columns, header_ok) = read_header(&record.to_cells(), section, &mut read.diagnostics);
    if !header_ok {
        read.header_failed = true;
        return read;
    }
    let slots = Slot::for_columns(&columns);
    let id_column = columns.iter().position(|c| c.path == ["id"]);
    let mut number = 1;
    while records.next_record(&mut record) {
        number += 1;
        let row_id = || {
            id_column
                .and_then(|i| record.get(i))
                .map(|(text, _)| text.to_string())
        };
        if record.len() != columns.len() {
            read.lost_ids.extend(row_id());
            read.diagnostics.push(
                Diagnostic::error(
                    Code::TableSyntax,
                    format!(
                        "row {number} has {} cells; the header names {} columns",
                        record.len(),
                        columns.len()
                    ),
                )
                .at(record.span()),
            );
            continue;
        }
        if let Some(entity) = slots
            .as_deref()
            .and_then(|slots| T::from_row(&record, slots))
        {
            on_row(number, Row::Entity(entity, record.span()));
            continue;
        }
        match row_node(&record, &columns) {
            Ok(node) => on_row(number, Row::Node(node)),
            Err(d) => {
                read.lost_ids.extend(row_id());
                read.diagnostics.push(*d);
            }
        }
    }
    read
}

/// One record as read: its cells' texts end to end (quotes removed), each cell's end
/// in that text and its span in the file. Reused from row to row, so reading a national
/// table makes no string per cell.
#[derive(Default)]
pub(crate) struct Record {
    text: String,
    cells: Vec<(usize, Span)>,
}

impl Record {
    pub(crate) fn len(&self) -> usize {
        self.cells.len()
    }

    /// Cell `i`'s text and span.
    pub(crate) fn get(&self, i: usize) -> Option<(&str, Span)> {
        let &(end, span) = self.cells.get(i)?;
        let start = if i == 0 { 0 } else { self.cells[i - 1].0 };
        Some((self.text.get(start..end)?, span))
    }

    /// From the first cell's start to the last cell's end.
    fn span(&self) -> Span {
        match (self.cells.first(), self.cells.last()) {
            (Some((_, a)), Some((_, b))) => Span::new(a.file, a.start as usize, b.end as usize),
            _ => Span::new(FileId::default(), 0, 0),
        }
    }

    /// Appends a cell: its value and its span in the file.
    pub(crate) fn push(&mut self, value: &str, span: Span) {
        self.text.push_str(value);
        self.cells.push((self.text.len(), span));
    }

    /// Each cell's value and span (start, end), for tests.
    #[cfg(test)]
    pub(crate) fn to_cells_for_test(&self) -> Vec<(String, usize, usize)> {
        self.to_cells()
            .into_iter()
            .map(|c| (c.text, c.span.start as usize, c.span.end as usize))
            .collect()
    }

    fn to_cells(&self) -> Vec<Cell> {
        (0..self.len())
            .filter_map(|i| self.get(i))
            .map(|(text, span)| Cell {
                text: text.to_string(),
                span,
            })
            .collect()
    }

    pub(crate) fn clear(&mut self) {
        self.text.clear();
        self.cells.clear();
    }
}

/// Where a table's records come from: a CSV text split by csv-core ([`Records`]), or
/// a Parquet table's rows ([`crate::table_parquet::ParquetRows`]).
pub(crate) trait RecordSource {
    /// Reads the next record into `record` (the header first); false at the end.
    fn next_record(&mut self, record: &mut Record) -> bool;
}

/// The records of a CSV text one at a time, skipping blank lines; a UTF-8 byte-order
/// mark is skipped. The text is already known to be UTF-8.
pub(crate) struct Records<'t> {
    bytes: &'t [u8],
    /// Bytes before `bytes` in the file (a byte-order mark).
    offset: usize,
    file: FileId,
    reader: csv_core::Reader,
    out: Vec<u8>,
    /// The field being read, quotes removed.
    field: Vec<u8>,
    /// Bytes of `bytes` consumed.
    at: usize,
    done: bool,
}

/// `text` without the byte-order mark a spreadsheet may write first, and how many bytes
/// that mark took (0 without one): it is not part of the first column's name.
pub(crate) fn without_byte_order_mark(text: &str) -> (&str, usize) {
    match text.strip_prefix('\u{feff}') {
        Some(rest) => (rest, text.len() - rest.len()),
        None => (text, 0),
    }
}

impl<'t> Records<'t> {
    pub(crate) fn new(text: &'t str, file: FileId) -> Self {
        let (_, offset) = without_byte_order_mark(text);
        Records {
            bytes: &text.as_bytes()[offset..],
            offset,
            file,
            reader: csv_core::Reader::new(),
            out: vec![0u8; 1024],
            field: Vec::new(),
            at: 0,
            done: false,
        }
    }

    /// Ends the field read so far: its span without the delimiter or line end that
    /// closed it (nor a field's surrounding quotes' trailing newline).
    fn end_field(&mut self, record: &mut Record, from: usize) {
        let bytes = self.bytes;
        let mut end = self.at;
        while end > from && matches!(bytes[end - 1], b',' | b'\n' | b'\r') {
            end -= 1;
        }
        // Line ends before the field (a blank line skipped by the reader) are not its own.
        let mut begin = from;
        while begin < end && matches!(bytes[begin], b'\n' | b'\r') {
            begin += 1;
        }
        let span = Span::new(self.file, self.offset + begin, self.offset + end.max(begin));
        // Fields are split at ASCII bytes of UTF-8 text, so each is UTF-8 itself.
        record.push(std::str::from_utf8(&self.field).unwrap_or_default(), span);
        self.field.clear();
    }
}

impl RecordSource for Records<'_> {
    /// Reads the next record that is not a blank line into `record`; false at the end.
    fn next_record(&mut self, record: &mut Record) -> bool {
        use csv_core::ReadFieldResult;
        record.clear();
        let mut field_start = self.at;
        while !self.done {
            let (result, nin, nout) = self
                .reader
                .read_field(&self.bytes[self.at..], &mut self.out);
            self.field.extend_from_slice(&self.out[..nout]);
            self.at += nin;
            match result {
                ReadFieldResult::OutputFull => self.out.resize(self.out.len() * 2, 0),
                ReadFieldResult::InputEmpty => {
                    if self.at >= self.bytes.len() {
                        // Tells the reader the input ended (a last line without newline).
                        let (result, _, nout) = self.reader.read_field(&[], &mut self.out);
                        self.field.extend_from_slice(&self.out[..nout]);
                        self.done = true;
                        if let ReadFieldResult::Field { .. } = result {
                            self.end_field(record, field_start);
                            return true;
                        }
                        return false;
                    }
                }
                ReadFieldResult::Field { record_end } => {
                    self.end_field(record, field_start);
                    field_start = self.at;
                    if record_end {
                        let blank = record.len() == 1 && record.text.is_empty();
                        if !blank {
                            return true;
                        }
                        record.clear();
                    }
                }
                ReadFieldResult::End => self.done = true,
            }
        }
        false
    }
}

/// Each header cell as a column, or a diagnostic at the cell; false when the header
/// cannot be used (a column unnamed, named twice or badly dated). A flow table's
/// unknown column is reported and its cells skipped: the rows are still read.
fn read_header(
    header: &[Cell],
    section: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> (Vec<Column>, bool) {
    let before = diagnostics.len();
    let mut skipped = 0;
    let keys = section_keys(section);
    let has_attrs = keys.contains(&"attrs");
    let mut seen: Vec<&str> = Vec::new();
    let mut columns = Vec::with_capacity(header.len());
    for (i, cell) in header.iter().enumerate() {
        let name = cell.text.trim();
        if name.is_empty() {
            diagnostics.push(
                Diagnostic::error(Code::TableHeader, format!("column {} has no name", i + 1))
                    .at(cell.span),
            );
            continue;
        }
        if seen.contains(&name) {
            diagnostics.push(
                Diagnostic::error(
                    Code::TableHeader,
                    format!("the column `{name}` is named twice"),
                )
                .at(cell.span),
            );
            continue;
        }
        seen.push(name);
        let (base, year) = match name.split_once('@') {
            Some((base, year)) => {
                let Ok(year) = year.parse::<i32>() else {
                    diagnostics.push(
                        Diagnostic::error(
                            Code::TableHeader,
                            format!(
                                "`{name}`: the part after `@` must be a year, like `{base}@2026`"
                            ),
                        )
                        .at(cell.span),
                    );
                    continue;
                };
                (base, Some(year.to_string()))
            }
            None => (name, None),
        };
        let top = base.split('.').next().unwrap_or(base);
        if !has_attrs && !keys.contains(&top) {
            // A flow has no attributes: one error for the column, not one per row.
            let mut d = Diagnostic::error(
                Code::TableHeader,
                format!("a {} table has no column `{base}`", singular(section)),
            )
            .at(cell.span);
            d = match crate::diag::did_you_mean(base, keys.iter().copied()) {
                Some(near) => d.help(format!("did you mean `{near}`?")),
                None => d.help(format!("the columns are {}", keys.join(", "))),
            };
            diagnostics.push(d);
            skipped += 1;
            columns.push(Column {
                path: Vec::new(),
                year: None,
                span: cell.span,
            });
            continue;
        }
        let path: Vec<String> = if let Some(attr) = base.strip_prefix("attrs.") {
            vec!["attrs".into(), attr.into()]
        } else if let Some(cap) = base
            .strip_prefix("capacity.")
            .filter(|_| section == "assets")
        {
            vec!["capacity".into(), cap.into()]
        } else if keys.contains(&base) || !has_attrs {
            vec![base.into()]
        } else {
            vec!["attrs".into(), base.into()]
        };
        columns.push(Column {
            path,
            year,
            span: cell.span,
        });
    }
    let header_ok = diagnostics.len() == before + skipped;
    (columns, header_ok)
}

/// A map node under construction: keys in column order, each with the header cell.
#[derive(Default)]
struct MapBuilder(Vec<(String, Span, Entry)>);

enum Entry {
    Value(Node),
    Map(MapBuilder),
}

impl MapBuilder {
    /// The map under `key`, made when missing; `None` when `key` holds a value.
    fn child(&mut self, key: &str, span: Span) -> Option<&mut MapBuilder> {
        if let Some(i) = self.0.iter().position(|(k, _, _)| k == key) {
            return match &mut self.0[i].2 {
                Entry::Map(m) => Some(m),
                Entry::Value(_) => None,
            };
        }
        self.0
            .push((key.to_string(), span, Entry::Map(MapBuilder::default())));
        match self.0.last_mut() {
            Some((_, _, Entry::Map(m))) => Some(m),
            _ => None,
        }
    }

    fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _, _)| k == key)
    }

    fn into_node(self, span: Span) -> Node {
        let entries = self
            .0
            .into_iter()
            .map(|(key, key_span, entry)| {
                let key = Node {
                    kind: NodeKind::Scalar {
                        text: key,
                        plain: true,
                    },
                    span: key_span,
                };
                let value = match entry {
                    Entry::Value(node) => node,
                    Entry::Map(map) => map.into_node(key_span),
                };
                (key, value)
            })
            .collect();
        Node {
            kind: NodeKind::Map(entries),
            span,
        }
    }
}

/// One data row as an entity node; an error when a column and its dated form both
/// have a value.
fn row_node(record: &Record, columns: &[Column]) -> Result<Node, Box<Diagnostic>> {
    let span = record.span();
    let mut root = MapBuilder(Vec::with_capacity(columns.len()));
    for (cell, column) in record.to_cells().into_iter().zip(columns) {
        let cell_span = cell.span;
        // An empty cell, or a YAML null (`null`, `~`), is no value.
        if crate::yaml::is_null(&cell.text) {
            continue;
        }
        let Some((last, parents)) = column.path.split_last() else {
            continue;
        };
        let conflict = || {
            let name = column.path.join(".");
            Box::new(
                Diagnostic::error(
                    Code::TableSyntax,
                    format!(
                        "`{name}` has a value in two columns (`{name}` and a dated `{name}@YEAR`, \
                     or a column and its `{name}.…` parts); keep one"
                    ),
                )
                .at(cell_span),
            )
        };
        let mut map = &mut root;
        for key in parents {
            map = map.child(key, column.span).ok_or_else(conflict)?;
        }
        let value = cell_node(cell, last, parents.first().map(String::as_str));
        match &column.year {
            Some(year) => {
                let dated = map.child(last, column.span).ok_or_else(conflict)?;
                dated
                    .0
                    .push((year.clone(), column.span, Entry::Value(value)));
            }
            None if map.has(last) => return Err(conflict()),
            None => map.0.push((last.clone(), column.span, Entry::Value(value))),
        }
    }
    Ok(root.into_node(span))
}

/// A cell's value: `tags` split on `;`, text keys as strings, anything else resolved
/// like an unquoted YAML scalar (numbers, booleans, text).
fn cell_node(cell: Cell, key: &str, parent: Option<&str>) -> Node {
    let top_level = parent.is_none();
    if top_level && key == "tags" {
        let items = cell
            .text
            .split(';')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| Node {
                kind: NodeKind::Scalar {
                    text: t.to_string(),
                    plain: false,
                },
                span: cell.span,
            })
            .collect();
        return Node {
            kind: NodeKind::Seq(items),
            span: cell.span,
        };
    }
    Node {
        kind: NodeKind::Scalar {
            text: cell.text,
            plain: !(top_level && TEXT_KEYS.contains(&key)),
        },
        span: cell.span,
    }
}

/// Every data row of `text` read both ways: by [`FromRow`] (`None`: declined) and by
/// the node and serde path (`Err`: the problem it reports). For the tests that hold
/// the two paths equal.
#[cfg(test)]
pub(crate) fn read_both_ways<T: FromRow + for<'de> serde::Deserialize<'de>>(
    text: &str,
    section: &str,
) -> Vec<(Option<T>, Result<T, String>)> {
    let mut records = Records::new(text, FileId::default());
    let mut record = Record::default();
    let mut out = Vec::new();
    if !records.next_record(&mut record) {
        return out;
    }
    let mut diagnostics = Vec::new();
    let (columns, _) = read_header(&record.to_cells(), section, &mut diagnostics);
    let slots = Slot::for_columns(&columns);
    while records.next_record(&mut record) {
        let fast = slots
            .as_deref()
            .and_then(|slots| T::from_row(&record, slots));
        let slow = row_node(&record, &columns)
            .map_err(|d| d.message.clone())
            .and_then(|node| {
                crate::yaml::from_node::<T>(&node, &crate::yaml::Path::Root(section))
                    .map_err(|e| e.message)
            });
        out.push((fast, slow));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn cells(text: &str) -> Vec<Vec<(String, usize, usize)>> {
        let mut records = Records::new(text, FileId::default());
        let mut record = Record::default();
        let mut out = Vec::new();
        while records.next_record(&mut record) {
            out.push(record.to_cells_for_test());
        }
        out
    }

    #[test]
    fn quoted_cells_crlf_a_bom_and_blank_lines_keep_exact_spans() {
        let text = "\u{feff}id,note\r\na,\"x, \"\"y\"\"\"\r\n\r\nb,z";
        let got = cells(text);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0][0], ("id".into(), 3, 5));
        assert_eq!(got[1][1].0, "x, \"y\"");
        // The span covers the quoted cell as written.
        let (_, start, end) = got[1][1];
        assert_eq!(&text[start..end], "\"x, \"\"y\"\"\"");
        assert_eq!(got[2][0], ("b".into(), text.len() - 3, text.len() - 2));
        assert_eq!(got[2][1], ("z".into(), text.len() - 1, text.len()));
    }

    #[test]
    fn dated_columns_make_a_series_and_other_columns_attributes() {
        let text =
            "id,kind,gpus,capacity.mw@2026,capacity.mw@02028,tags,note\nx,datacenter,8,5,7,a;b,~\n";
        let mut records = Records::new(text, FileId::default());
        let mut record = Record::default();
        records.next_record(&mut record);
        let mut diagnostics = Vec::new();
        let (columns, ok) = read_header(&record.to_cells(), "assets", &mut diagnostics);
        assert!(ok && diagnostics.is_empty(), "{diagnostics:?}");
        records.next_record(&mut record);
        let row = row_node(&record, &columns).unwrap().to_value();
        let expected: serde_yaml::Value = serde_yaml::from_str(
            "{id: x, kind: datacenter, attrs: {gpus: 8}, capacity: {mw: {2026: 5, 2028: 7}}, tags: [a, b]}",
        )
        .unwrap();
        assert_eq!(row, expected);
    }
}
