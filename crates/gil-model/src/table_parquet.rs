//! Parquet tables in: a `{ table: firms.parquet }` is read with the `parquet` crate,
//! and its rows are handed to [`crate::table::read_rows`] one at a time as records, the
//! same records a CSV table gives. Each row is also written, as CSV, into the text that
//! messages show (one row per line under a header of the column names), so every check
//! and message is the CSV one, and a position in a Parquet table is its row (the header
//! is line 1) and the cell's place in the row as the message shows it.

use std::fmt::Write;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::span::{FileId, Span};
use crate::table::{Record, RecordSource};

/// A Parquet table being read: every row group decoded up front (so a table that
/// cannot be read fails before any of its rows is used), then its rows one at a time.
pub(crate) struct ParquetRows {
    names: Vec<String>,
    batches: Vec<Batch>,
    /// The next row: (batch, row in it); the header comes first.
    next: Option<(usize, usize)>,
    text: String,
    file: FileId,
}

/// A record batch and, per column, a dictionary column's values (`None` otherwise).
struct Batch {
    batch: RecordBatch,
    dictionaries: Vec<Option<Dictionary>>,
}

/// A dictionary column's values as text, and each row's index into them.
struct Dictionary {
    values: Vec<String>,
    keys: Vec<usize>,
}

impl ParquetRows {
    /// The table at `path`, read for the source file `file`; or why it cannot be read
    /// (a sentence for the message).
    pub(crate) fn open(path: &Path, file: FileId) -> Result<ParquetRows, String> {
        let opened = std::fs::File::open(path).map_err(|e| e.to_string())?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(opened)
            .map_err(|e| format!("not a Parquet file gil can read: {e}"))?;
        let schema = builder.schema().clone();
        for field in schema.fields() {
            if !readable(field.data_type()) {
                return Err(format!(
                    "the column `{}` holds {}; gil reads text, numbers and booleans",
                    field.name(),
                    field.data_type()
                ));
            }
        }
        let reader = builder.build().map_err(|e| e.to_string())?;
        let batches = reader
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("cannot read a row group: {e}"))?;
        let names = schema.fields().iter().map(|f| f.name().clone()).collect();
        Ok(ParquetRows::new(names, batches, file))
    }

    fn new(names: Vec<String>, batches: Vec<RecordBatch>, file: FileId) -> ParquetRows {
        let batches = batches
            .into_iter()
            .map(|batch| Batch {
                dictionaries: batch
                    .columns()
                    .iter()
                    .map(|array| dictionary(array.as_ref()))
                    .collect(),
                batch,
            })
            .collect();
        ParquetRows {
            names,
            batches,
            next: None,
            text: String::new(),
            file,
        }
    }

    /// Rows in the table (the header not counted).
    pub(crate) fn len(&self) -> usize {
        self.batches.iter().map(|b| b.batch.num_rows()).sum()
    }

    /// The CSV text of the rows read so far (all of them once reading ends).
    pub(crate) fn into_text(self) -> String {
        self.text
    }
}

impl RecordSource for ParquetRows {
    fn next_record(&mut self, record: &mut Record) -> bool {
        record.clear();
        let Some((mut b, mut row)) = self.next else {
            // The header: the column names. No columns is an empty table, as a CSV
            // file with nothing in it is.
            if self.names.is_empty() {
                return false;
            }
            for (i, name) in self.names.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let start = self.text.len();
                push_quoted(&mut self.text, name);
                // A byte-order mark before the first name (pandas keeps the one a CSV
                // file had) is not part of it, as it is not in a CSV table.
                let (name, start) = match i {
                    0 => {
                        let (rest, mark) = crate::table::without_byte_order_mark(name);
                        (rest, start + mark)
                    }
                    _ => (name.as_str(), start),
                };
                record.push(name, Span::new(self.file, start, self.text.len()));
            }
            self.text.push('\n');
            self.next = Some((0, 0));
            return true;
        };
        loop {
            while self
                .batches
                .get(b)
                .is_some_and(|batch| row >= batch.batch.num_rows())
            {
                b += 1;
                row = 0;
            }
            let Some(batch) = self.batches.get(b) else {
                self.next = Some((b, row));
                return false;
            };
            let line_start = self.text.len();
            for (i, array) in batch.batch.columns().iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let start = self.text.len();
                let dictionary = batch.dictionaries.get(i).and_then(Option::as_ref);
                let value = push_cell(&mut self.text, array.as_ref(), row, dictionary);
                let span = Span::new(self.file, start, self.text.len());
                // A number or boolean is the same text in the file and in the cell.
                record.push(value.unwrap_or(&self.text[start..]), span);
            }
            self.text.push('\n');
            row += 1;
            // A row whose line is blank (one column, empty) is skipped, as a blank
            // line of a CSV table is.
            if self.text.len() == line_start + 1 {
                record.clear();
                continue;
            }
            self.next = Some((b, row));
            return true;
        }
    }
}

/// A dictionary column's values rendered once, with each row's index into them.
fn dictionary(array: &dyn Array) -> Option<Dictionary> {
    let DataType::Dictionary(_, _) = array.data_type() else {
        return None;
    };
    let dictionary = array.as_any_dictionary();
    let values = dictionary.values();
    let rendered = (0..values.len())
        .map(|i| {
            let mut cell = String::new();
            match push_cell(&mut cell, values.as_ref(), i, None) {
                Some(value) => value.to_string(),
                None => cell,
            }
        })
        .collect();
    Some(Dictionary {
        values: rendered,
        keys: dictionary.normalized_keys(),
    })
}

fn readable(t: &DataType) -> bool {
    match t {
        DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Float32
        | DataType::Float64
        | DataType::Null => true,
        DataType::Dictionary(_, values) => readable(values),
        _ => false,
    }
}

/// Appends `cell` as CSV writes it: quoted when it holds a comma, a quote or a line end.
fn push_quoted(text: &mut String, cell: &str) {
    if cell
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        text.push('"');
        text.push_str(&cell.replace('"', "\"\""));
        text.push('"');
    } else {
        text.push_str(cell);
    }
}

/// Writes the cell at `row` of `array` into `text` as CSV shows it ("" for a null): a
/// text quoted as CSV needs, and then returned too, as the cell's value; a number or
/// boolean as Rust writes it (`None`: the cell's value is what was written).
fn push_cell<'a>(
    text: &mut String,
    array: &'a dyn Array,
    row: usize,
    dictionary: Option<&'a Dictionary>,
) -> Option<&'a str> {
    if array.is_null(row) {
        return None;
    }
    let value = match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().value(row),
        DataType::LargeUtf8 => array.as_string::<i64>().value(row),
        DataType::Utf8View => array.as_string_view().value(row),
        DataType::Dictionary(_, _) => dictionary
            .and_then(|d| d.keys.get(row).and_then(|&k| d.values.get(k)))
            .map_or("", String::as_str),
        other => {
            let _ = match other {
                DataType::Boolean => write!(text, "{}", array.as_boolean().value(row)),
                DataType::Int8 => push_integer(text, array.as_primitive::<Int8Type>().value(row)),
                DataType::Int16 => push_integer(text, array.as_primitive::<Int16Type>().value(row)),
                DataType::Int32 => push_integer(text, array.as_primitive::<Int32Type>().value(row)),
                DataType::Int64 => push_integer(text, array.as_primitive::<Int64Type>().value(row)),
                DataType::UInt8 => push_integer(text, array.as_primitive::<UInt8Type>().value(row)),
                DataType::UInt16 => {
                    push_integer(text, array.as_primitive::<UInt16Type>().value(row))
                }
                DataType::UInt32 => {
                    push_integer(text, array.as_primitive::<UInt32Type>().value(row))
                }
                DataType::UInt64 => {
                    push_integer(text, array.as_primitive::<UInt64Type>().value(row))
                }
                DataType::Float32 => {
                    write!(text, "{}", array.as_primitive::<Float32Type>().value(row))
                }
                DataType::Float64 => {
                    write!(text, "{}", array.as_primitive::<Float64Type>().value(row))
                }
                // `readable` admits nothing else; a null column is all empty cells.
                _ => Ok(()),
            };
            return None;
        }
    };
    push_quoted(text, value);
    Some(value)
}

/// Appends an integer as Rust writes it, without the formatting machinery (a national
/// table has millions of them).
fn push_integer(text: &mut String, value: impl itoa::Integer) -> std::fmt::Result {
    text.push_str(itoa::Buffer::new().format(value));
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::sync::Arc;

    use arrow_array::types::Int32Type;
    use arrow_array::{ArrayRef, DictionaryArray, Float64Array, Int64Array, StringArray};

    use super::*;

    #[test]
    fn cells_are_written_as_csv_quotes_them_and_nulls_are_empty() {
        let note: ArrayRef = Arc::new(StringArray::from(vec![
            Some("plain"),
            Some("a, b"),
            Some("say \"hi\""),
            None,
        ]));
        let kind: ArrayRef = Arc::new(
            vec![Some("x,y"), Some("z"), None, Some("z")]
                .into_iter()
                .collect::<DictionaryArray<Int32Type>>(),
        );
        let count: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None, Some(-3), Some(4)]));
        let amount: ArrayRef = Arc::new(Float64Array::from(vec![0.5, 1e11, 2.0, -0.25]));
        let batch = RecordBatch::try_from_iter([
            ("note", note),
            ("kind", kind),
            ("count", count),
            ("amount", amount),
        ])
        .unwrap();
        let names = ["note", "kind", "count", "amount"]
            .map(String::from)
            .to_vec();
        // Two batches: rows continue from one to the next.
        let mut rows = ParquetRows::new(names, vec![batch.clone(), batch], 7);
        let mut direct = Vec::new();
        let mut record = Record::default();
        while rows.next_record(&mut record) {
            direct.push(record.to_cells_for_test());
        }
        let text = rows.into_text();
        let row =
            "plain,\"x,y\",1,0.5\n\"a, b\",z,,100000000000\n\"say \"\"hi\"\"\",,-3,2\n,z,4,-0.25\n";
        assert_eq!(text, format!("note,kind,count,amount\n{row}{row}"));
        // The records are those a CSV table with this text gives: the same values
        // (quotes removed) and the same spans.
        let mut split = Vec::new();
        let mut csv = crate::table::Records::new(&text, 7);
        while csv.next_record(&mut record) {
            split.push(record.to_cells_for_test());
        }
        assert_eq!(direct, split);
        assert_eq!(direct[3][0].0, "say \"hi\"");
    }

    #[test]
    fn a_byte_order_mark_before_the_first_name_is_not_part_of_it() {
        let id: ArrayRef = Arc::new(StringArray::from(vec!["a1"]));
        let batch = RecordBatch::try_from_iter([("\u{feff}id", id)]).unwrap();
        let mut rows = ParquetRows::new(vec!["\u{feff}id".to_string()], vec![batch], 0);
        let mut record = Record::default();
        assert!(rows.next_record(&mut record));
        let header = record.to_cells_for_test();
        assert!(rows.next_record(&mut record));
        let text = rows.into_text();
        let mut csv = crate::table::Records::new(&text, 0);
        let mut split = Record::default();
        csv.next_record(&mut split);
        assert_eq!(header, split.to_cells_for_test());
        assert_eq!(header[0].0, "id");
    }

    #[test]
    fn a_table_without_columns_has_no_header() {
        let mut rows = ParquetRows::new(Vec::new(), Vec::new(), 0);
        assert!(!rows.next_record(&mut Record::default()));
    }
}
