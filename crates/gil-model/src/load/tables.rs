//! `{ table: file.csv }` and `{ table: file.parquet }` items: the file read, its rows
//! read into the section's entities (see `crate::table`), and its text added to the
//! sources messages quote.

use std::path::Path;

use super::{normalize, read_entity_into, read_limited, Loader, Sections, MAX_FILE_BYTES};
use crate::code::Code;
use crate::diag::Diagnostic;
use crate::table::{read_rows, Records, Row};
use crate::table_parquet::ParquetRows;
use crate::table_typed::FromRow;
use crate::types::{EntityPath, Located, Place};
use crate::yaml::{Node, NodeKind, Path as KeyPath};

impl Loader {
    /// `{ table: file.csv }`: every row of the table as an entity of `section`.
    pub(super) fn read_table<T: for<'de> serde::Deserialize<'de> + FromRow>(
        &mut self,
        spec: &Node,
        section: &'static str,
        dir: &Path,
        list: &impl Fn(&mut Sections) -> &mut Vec<Located<T>>,
    ) {
        let NodeKind::Map(entries) = &spec.kind else {
            return;
        };
        // Until its rows are read, the table's entities are unknown (see `table_lost`);
        // flows are never referred to, so a lost flow table hides no ids.
        let lost_before = self.sections.table_lost;
        self.sections.table_lost = lost_before || section != "flows";
        if let Some((key, _)) = entries.iter().find(|(k, _)| k.as_str() != Some("table")) {
            self.diagnostics.push(
                Diagnostic::error(
                    Code::TableFormat,
                    format!(
                        "a table entry has only `table:`, not `{}`",
                        key.as_str().unwrap_or("?")
                    ),
                )
                .at(key.span)
                .help("columns of the table give every other key"),
            );
            return;
        }
        let Some(name_node) = spec.get("table") else {
            return;
        };
        let Some(name) = name_node.as_str() else {
            self.diagnostics.push(
                Diagnostic::error(
                    Code::WrongType,
                    format!("`table:` takes a file name, found {}", name_node.describe()),
                )
                .at(name_node.span),
            );
            return;
        };
        let lower = name.to_ascii_lowercase();
        let parquet = lower.ends_with(".parquet");
        if !parquet && !lower.ends_with(".csv") {
            self.diagnostics.push(
                Diagnostic::error(
                    Code::TableFormat,
                    format!("`{name}`: gil reads tables from `.csv` and `.parquet` files"),
                )
                .at(name_node.span)
                .help("export the table as CSV with a header row, or as Parquet"),
            );
            return;
        }
        let naming_file = self.sources.name(name_node.span.file).to_string();
        let display = normalize(
            &Path::new(&naming_file)
                .parent()
                .unwrap_or(Path::new(""))
                .join(name),
        )
        .display()
        .to_string();
        let path = dir.join(name);
        // The id the table's text will have among the sources, which its spans carry.
        let file = self.sources.next_id();
        let too_large = std::fs::metadata(&path).is_ok_and(|m| m.len() > MAX_FILE_BYTES);
        let read = if too_large {
            Err(std::io::Error::other(format!(
                "larger than {} MiB",
                MAX_FILE_BYTES / (1024 * 1024)
            )))
        } else if parquet {
            ParquetRows::open(&path, file)
                .map(|rows| Ok(TableSource::Parquet(rows)))
                .map_err(|why| {
                    if path.exists() {
                        std::io::Error::other(why)
                    } else {
                        std::io::Error::from(std::io::ErrorKind::NotFound)
                    }
                })
        } else {
            read_limited(&path).map(|bytes| String::from_utf8(bytes).map(TableSource::Csv))
        };
        let source = match read {
            Ok(Ok(source)) => source,
            Ok(Err(_)) => {
                self.diagnostics.push(
                    Diagnostic::error(Code::NotUtf8, format!("`{display}` is not valid UTF-8"))
                        .at(name_node.span)
                        .help("save the table as UTF-8 CSV"),
                );
                return;
            }
            Err(err) => {
                let missing = err.kind() == std::io::ErrorKind::NotFound;
                let d = if missing {
                    Diagnostic::error(
                        Code::FileMissing,
                        format!("cannot read `{display}`: no such file"),
                    )
                    .help("table paths are relative to the file that names them")
                } else if parquet {
                    Diagnostic::error(Code::TableFormat, format!("`{display}`: {err}"))
                } else {
                    Diagnostic::error(Code::FileMissing, format!("cannot read `{display}`: {err}"))
                };
                self.diagnostics.push(d.at(name_node.span));
                return;
            }
        };
        // One allocation for a national registry's entities, not a doubling (and a copy
        // of every entity so far) each time the list fills: a CSV row takes at least a
        // line.
        let rows = match &source {
            TableSource::Csv(text) => text.bytes().filter(|&b| b == b'\n').count(),
            TableSource::Parquet(rows) => rows.len(),
        };
        list(&mut self.sections).reserve(rows);
        let sections = &mut self.sections;
        // Problems of rows read as nodes follow the table's own problems, in row order.
        let mut row_diagnostics = Vec::new();
        let on_row = |number, row| {
            // Rows are numbered as the spreadsheet the table comes from numbers them
            // (the header is row 1).
            let shown = EntityPath {
                section,
                place: Place::Row(number),
            };
            match row {
                Row::Entity(item, span) => list(sections).push(Located {
                    item,
                    span,
                    path: shown,
                }),
                Row::Node(node) => read_entity_into(
                    sections,
                    &mut row_diagnostics,
                    &node,
                    &KeyPath::Root(&shown.to_string()),
                    shown,
                    list,
                ),
            }
        };
        // The table's text joins the sources once read (a Parquet table's is written
        // as its rows are read), under the id its spans already carry.
        let (read, text) = match source {
            TableSource::Csv(text) => {
                let read = read_rows::<T>(&mut Records::new(&text, file), file, section, on_row);
                (read, text)
            }
            TableSource::Parquet(mut rows) => {
                let read = read_rows::<T>(&mut rows, file, section, on_row);
                (read, rows.into_text())
            }
        };
        // Nothing is added to the sources between `next_id` and here (every early return
        // comes before this, having added nothing), so the id is the predicted one.
        let added = self.sources.add(display, path, text);
        debug_assert_eq!(
            added, file,
            "a table's spans name the id its text is added under"
        );
        // Flows are never referred to: only a lost actor or asset table hides ids.
        self.sections.table_lost = lost_before || (read.header_failed && section != "flows");
        self.sections.unparsed_ids.extend(read.lost_ids);
        self.diagnostics.extend(read.diagnostics);
        self.diagnostics.extend(row_diagnostics);
    }
}

/// A table file as read: a CSV text, or a Parquet table whose rows are yet to be read.
enum TableSource {
    Csv(String),
    Parquet(ParquetRows),
}
