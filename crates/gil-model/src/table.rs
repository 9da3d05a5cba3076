//! Entity tables in: a CSV file named by `actors: { table: firms.csv }` (or `assets`,
//! `flows`) read into the same spanned nodes a YAML list gives. One set of checks —
//! types, unknown columns, ids, references — then covers both, and every problem points
//! at the file's own row and column (the header is line 1).
//!
//! Columns are the entity's keys; `tags` holds `a;b`; `capacity.<name>` (assets) and
//! `attrs.<name>` fill those maps, and any other column of an actor or asset is an
//! attribute; `<column>@<year>` columns make a dated value (`amount@2026`,
//! `amount@2028`). An empty cell is no value. Cells are split by `csv-core`, which
//! reports how many input bytes each field took, so spans are exact.

use crate::code::Code;
use crate::diag::Diagnostic;
use crate::span::{FileId, Span};
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
struct Column {
    path: Vec<String>,
    year: Option<String>,
    /// The header cell, which unknown-column errors point at.
    span: Span,
}

/// A table read: its rows as entity nodes with their row numbers (the header is row
/// 1, as in a spreadsheet; a quoted cell may span lines), every problem found, the ids
/// of the rows that could not be used (their problem is reported; references to them
/// are not), and whether the header failed, so no row was read at all.
#[derive(Default)]
pub(crate) struct Rows {
    pub(crate) nodes: Vec<(usize, Node)>,
    pub(crate) diagnostics: Vec<Diagnostic>,
    pub(crate) lost_ids: Vec<String>,
    pub(crate) header_failed: bool,
}

/// The rows of a CSV table.
pub(crate) fn csv_rows(text: &str, file: FileId, section: &str) -> Rows {
    let mut read = Rows::default();
    // Rows are consumed: each cell's text moves into its node, not copied.
    let mut rows = split_records(text, file).into_iter();
    let Some(header) = rows.next() else {
        read.diagnostics.push(
            Diagnostic::error(Code::EmptyFile, "the table is empty: no header row")
                .at(Span::new(file, 0, 0))
                .help("the first row names the columns: `id,kind,region,…`"),
        );
        read.header_failed = true;
        return read;
    };
    let (columns, header_ok) = read_header(&header, section, &mut read.diagnostics);
    if !header_ok {
        read.header_failed = true;
        return read;
    }
    let id_column = columns.iter().position(|c| c.path == ["id"]);
    read.nodes.reserve(rows.len());
    for (k, row) in rows.enumerate() {
        let number = k + 2;
        // Kept apart: the row's texts move into its node, and a failed row's id is
        // still needed (references to it are not reported again).
        let row_id = id_column.and_then(|i| row.get(i)).map(|c| c.text.clone());
        if row.len() != columns.len() {
            read.lost_ids.extend(row_id);
            read.diagnostics.push(
                Diagnostic::error(
                    Code::TableSyntax,
                    format!(
                        "row {number} has {} cells; the header names {} columns",
                        row.len(),
                        columns.len()
                    ),
                )
                .at(row_span(&row)),
            );
            continue;
        }
        match row_node(row, &columns) {
            Ok(node) => read.nodes.push((number, node)),
            Err(d) => {
                read.lost_ids.extend(row_id);
                read.diagnostics.push(*d);
            }
        }
    }
    read
}

/// Every record's cells, skipping blank lines; a UTF-8 byte-order mark is skipped. The
/// text is already known to be UTF-8, and fields split at ASCII bytes stay UTF-8.
fn split_records(text: &str, file: FileId) -> Vec<Vec<Cell>> {
    use csv_core::{ReadFieldResult, Reader};
    let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let bytes = &text.as_bytes()[start..];
    let mut reader = Reader::new();
    let mut records = Vec::new();
    let mut record: Vec<Cell> = Vec::new();
    let mut field = Vec::new();
    let mut out = vec![0u8; 1024];
    let mut at = 0; // bytes of `bytes` consumed
    let mut field_start = 0;
    loop {
        let (result, nin, nout) = reader.read_field(&bytes[at..], &mut out);
        field.extend_from_slice(&out[..nout]);
        at += nin;
        match result {
            ReadFieldResult::OutputFull => out.resize(out.len() * 2, 0),
            ReadFieldResult::InputEmpty => {
                if at >= bytes.len() {
                    // Tells the reader the input ended (a last line without newline).
                    let (result, _, nout) = reader.read_field(&[], &mut out);
                    field.extend_from_slice(&out[..nout]);
                    if let ReadFieldResult::Field { .. } = result {
                        continue_field(
                            &mut record,
                            &mut field,
                            file,
                            start,
                            field_start,
                            at,
                            bytes,
                        );
                        records.push(std::mem::take(&mut record));
                    }
                    break;
                }
            }
            ReadFieldResult::Field { record_end } => {
                continue_field(&mut record, &mut field, file, start, field_start, at, bytes);
                field_start = at;
                if record_end {
                    let blank = record.len() == 1 && record[0].text.is_empty();
                    if !blank {
                        // The next record most likely has as many cells as this one.
                        let cells = Vec::with_capacity(record.len());
                        records.push(std::mem::replace(&mut record, cells));
                    }
                    record.clear();
                }
            }
            ReadFieldResult::End => break,
        }
    }
    records
}

/// Ends the field read so far: its text, and its span without the delimiter or line
/// end that closed it (nor a field's surrounding quotes' trailing newline).
fn continue_field(
    record: &mut Vec<Cell>,
    field: &mut Vec<u8>,
    file: FileId,
    offset: usize,
    from: usize,
    to: usize,
    bytes: &[u8],
) {
    let mut end = to;
    while end > from && matches!(bytes[end - 1], b',' | b'\n' | b'\r') {
        end -= 1;
    }
    // Line ends before the field (a blank line skipped by the reader) are not its own.
    let mut begin = from;
    while begin < end && matches!(bytes[begin], b'\n' | b'\r') {
        begin += 1;
    }
    let text = String::from_utf8_lossy(field).into_owned();
    field.clear();
    record.push(Cell {
        text,
        span: Span::new(file, offset + begin, offset + end.max(begin)),
    });
}

fn row_span(row: &[Cell]) -> Span {
    match (row.first(), row.last()) {
        (Some(a), Some(b)) => Span::new(a.span.file, a.span.start as usize, b.span.end as usize),
        _ => Span::new(FileId::default(), 0, 0),
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
fn row_node(row: Vec<Cell>, columns: &[Column]) -> Result<Node, Box<Diagnostic>> {
    let span = row_span(&row);
    let mut root = MapBuilder(Vec::with_capacity(columns.len()));
    for (cell, column) in row.into_iter().zip(columns) {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn cells(text: &str) -> Vec<Vec<(String, usize, usize)>> {
        split_records(text, FileId::default())
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .map(|c| (c.text, c.span.start as usize, c.span.end as usize))
                    .collect()
            })
            .collect()
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
        let rows = csv_rows(
            "id,kind,gpus,capacity.mw@2026,capacity.mw@02028,tags,note\nx,datacenter,8,5,7,a;b,~\n",
            FileId::default(),
            "assets",
        );
        assert!(rows.diagnostics.is_empty(), "{:?}", rows.diagnostics);
        let row = rows.nodes[0].1.to_value();
        let expected: serde_yaml::Value = serde_yaml::from_str(
            "{id: x, kind: datacenter, attrs: {gpus: 8}, capacity: {mw: {2026: 5, 2028: 7}}, tags: [a, b]}",
        )
        .unwrap();
        assert_eq!(row, expected);
    }
}
